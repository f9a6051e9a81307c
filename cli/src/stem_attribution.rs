//! Which stem makes a master's limiter work: the per-stem table of every master's report
//! (`stem_attribution`), from `shared_dsp::meter::attribution` (definitions there and in
//! README.md).
//!
//! The render records the attribution while it sums the processed stems
//! ([`AttributionRecording`]: one record per 10 ms window per stem, no audio), measures each
//! processed stem's and the sum's integrated loudness on the way, and shares the limiter's gain
//! reduction once the master has run ([`StemFigures::of`]), the limiter's drive being known only
//! after its search.

use serde::Serialize;
use shared_dsp::meter::attribution::{loudness_vs_mix_lu, AttributionRecorder};
use shared_dsp::meter::loudness::LoudnessMeter;

/// One delivery's recording during the summing pass.
pub struct AttributionRecording {
    pub recorder: AttributionRecorder,
    latency_samples: usize,
    /// The sum of the processed stems (the mix the stems' loudness is compared with).
    pub mix_meter: LoudnessMeter,
}

impl AttributionRecording {
    /// For `num_stems` stems and a programme of `frames` at `sample_rate_hz`, windows lined up
    /// with the output of a master chain of `latency_samples`.
    pub fn new(
        num_stems: usize,
        sample_rate_hz: f64,
        latency_samples: usize,
        frames: usize,
    ) -> Self {
        Self {
            recorder: AttributionRecorder::new(num_stems, sample_rate_hz, latency_samples, frames),
            latency_samples,
            mix_meter: LoudnessMeter::new(2, sample_rate_hz),
        }
    }

    /// Records the next frames of the sum and of the stems it is the sum of.
    pub fn record(&mut self, sum: [&[f32]; 2], stems: &[[&[f32]; 2]]) {
        self.recorder.record(sum, stems);
        self.mix_meter.process_block(&sum);
    }

    /// Ends the recording.
    pub fn finish(self, stem_lufs: Vec<f64>) -> RecordedAttribution {
        let mut recorder = self.recorder;
        recorder.finish();
        RecordedAttribution {
            recorder,
            latency_samples: self.latency_samples,
            mix_lufs: self.mix_meter.integrated_lufs(),
            stem_lufs,
        }
    }
}

/// A finished recording with the loudness of the mix and of each processed stem.
pub struct RecordedAttribution {
    recorder: AttributionRecorder,
    /// The latency of the master chain the windows line up with, samples.
    pub latency_samples: usize,
    mix_lufs: f64,
    /// Each processed stem's integrated loudness, LUFS, in stem order.
    stem_lufs: Vec<f64>,
}

impl RecordedAttribution {
    /// Each stem's share of the programme's loudest peaks, percent, in stem order
    /// ([`StemFigures::peak_share_percent`]); `None` for a silent sum.
    pub fn peak_shares_percent(&self) -> Option<Vec<f64>> {
        self.recorder.peak_shares()
    }
}

/// One stem's figures, in stem order.
#[derive(Clone, Debug, PartialEq)]
pub struct StemFigures {
    pub limiter_gain_reduction_share_percent: Option<f64>,
    pub peak_share_percent: Option<f64>,
    pub loudness_vs_mix_lu: Option<f64>,
}

impl StemFigures {
    /// Every stem's figures, given the limiter's largest gain reduction per 10 ms window of the
    /// master chain's output (lined up with the recording's windows).
    pub fn of(rec: &RecordedAttribution, gain_reduction_db: &[f32]) -> Vec<Self> {
        let gr = rec.recorder.gain_reduction_shares(gain_reduction_db);
        let peaks = rec.recorder.peak_shares();
        rec.stem_lufs
            .iter()
            .enumerate()
            .map(|(i, &lufs)| Self {
                limiter_gain_reduction_share_percent: gr.as_ref().map(|g| g[i]),
                peak_share_percent: peaks.as_ref().map(|p| p[i]),
                loudness_vs_mix_lu: loudness_vs_mix_lu(lufs, rec.mix_lufs),
            })
            .collect()
    }
}

/// One row of a master report's `stem_attribution` table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StemAttributionRow {
    /// The stem's file name.
    pub stem: String,
    /// Its role (drums, bass, synths, vocals, fx, other).
    pub role: String,
    /// Its share of the master limiter's gain reduction, percent (null: the limiter was idle).
    pub limiter_gain_reduction_share_percent: Option<f64>,
    /// Its share of the mix's peaks within 3 dB of the loudest, percent (null: silence).
    pub peak_share_percent: Option<f64>,
    /// Its integrated loudness minus the mix's, LU (null: the stem or the mix is silent).
    pub loudness_vs_mix_lu: Option<f64>,
}

/// The table's rows: `labels` are each stem's (file name, role), in stem order.
pub fn rows(labels: &[(String, String)], figures: &[StemFigures]) -> Vec<StemAttributionRow> {
    labels
        .iter()
        .zip(figures)
        .map(|((stem, role), f)| StemAttributionRow {
            stem: stem.clone(),
            role: role.clone(),
            limiter_gain_reduction_share_percent: f.limiter_gain_reduction_share_percent,
            peak_share_percent: f.peak_share_percent,
            loudness_vs_mix_lu: f.loudness_vs_mix_lu,
        })
        .collect()
}

/// The stem with the largest share of the limiter's gain reduction, if the limiter worked.
pub fn top_limited(rows: &[StemAttributionRow]) -> Option<(&StemAttributionRow, f64)> {
    rows.iter()
        .filter_map(|r| r.limiter_gain_reduction_share_percent.map(|p| (r, p)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |p| format!("{p:.1} %"))
}

/// The report's Markdown section.
pub fn markdown(rows: &[StemAttributionRow]) -> String {
    let mut s = "\n## Stem attribution\n\nEach stem's share of the master limiter's gain \
                 reduction and of the mix's peaks (its projection on the summed stems at each \
                 10 ms window's peak; a limiter's release counts for the peak that set it), and \
                 its integrated loudness against the summed stems.\n\n\
                 | Stem | Role | Limiter gain reduction | Peaks | Loudness vs mix |\n\
                 | --- | --- | --- | --- | --- |\n"
        .to_string();
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {} |\n",
            r.stem,
            r.role,
            percent(r.limiter_gain_reduction_share_percent),
            percent(r.peak_share_percent),
            r.loudness_vs_mix_lu
                .map_or("-".to_string(), |lu| format!("{lu:+.1} LU")),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_limited_stem_and_table() {
        let row = |stem: &str, gr: Option<f64>| StemAttributionRow {
            stem: stem.to_string(),
            role: "other".to_string(),
            limiter_gain_reduction_share_percent: gr,
            peak_share_percent: None,
            loudness_vs_mix_lu: Some(-3.0),
        };
        let rows = vec![row("a.wav", Some(30.0)), row("b.wav", Some(70.0))];
        assert_eq!(
            top_limited(&rows).map(|(r, p)| (r.stem.as_str(), p)),
            Some(("b.wav", 70.0))
        );
        assert_eq!(top_limited(&[row("a.wav", None)]), None);
        let md = markdown(&rows);
        assert!(
            md.contains("| b.wav | other | 70.0 % | - | -3.0 LU |"),
            "{md}"
        );
    }
}
