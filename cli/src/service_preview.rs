//! The streaming-service preview in the `stem` tool's reports: the rules and the arithmetic are
//! `stem_delivery::services` (shared with the Stem Master's editor); here, a report's figures go
//! in and its Markdown section comes out.

pub use stem_delivery::services::{Playback, ServicePreview};

use crate::analysis::LoudnessFigures;

/// A programme with `figures` as every service plays it (empty for silence).
pub fn preview(figures: &LoudnessFigures) -> Vec<ServicePreview> {
    stem_delivery::services::preview(&stem_delivery::services::Programme {
        integrated_lufs: figures.integrated_lufs,
        true_peak_dbtp: figures.true_peak_dbtp,
        sample_peak_dbfs: figures.sample_peak_dbfs,
    })
}

/// The Markdown section of a report.
pub fn markdown(rows: &[ServicePreview]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n## Streaming service preview\n\n\
         What each service's loudness normalisation does on playback (rules and their sources: \
         `delivery/data/streaming-services.toml`).\n\n\
         | Service | Normalises to | Playback gain | Plays at | True peak | Note |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let note = match (r.turn_up_withheld_db, r.limiter_reduction_db, r.playback) {
            (Some(w), _, _) => format!("turn-up held {w:.1} dB short by its true-peak headroom"),
            (_, Some(l), _) => format!("its limiter takes about {l:.1} dB off the loudest peak"),
            (_, _, Playback::TurnedDown) => "turned down".to_string(),
            (_, _, Playback::TurnedUp) => "turned up".to_string(),
            (_, _, Playback::AsMastered) => "plays as mastered".to_string(),
        };
        let approx = if r.estimated { "~" } else { "" };
        s += &format!(
            "| {} | {:.0} LUFS | {:+.1} dB | {approx}{:.1} LUFS | {approx}{:.1} dBTP | {note} |\n",
            r.service, r.reference_lufs, r.playback_gain_db, r.result_lufs, r.result_true_peak_dbtp
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_marks_estimates_and_stays_empty_for_silence() {
        let rows = stem_delivery::services::preview(&stem_delivery::services::Programme {
            integrated_lufs: -16.0,
            true_peak_dbtp: -1.7,
            sample_peak_dbfs: -2.0,
        });
        assert!(markdown(&rows).contains("~-11.0 LUFS"));
        assert_eq!(markdown(&[]), "");
    }
}
