//! What each streaming service does to a master on playback: the gain its loudness
//! normalisation applies, whether its turn-up rule or its playback limiter engages, and the
//! loudness and true peak the listener then gets. The services' rules are data
//! (`delivery/data/streaming-services.toml`, one row per service with its source and the date
//! it was read), so a changed rule is a one-line edit, not a code change.
//!
//! Normalisation is a plain gain (no processing) except Spotify's "Loud" setting, whose limiter
//! holds sample peaks at -1 dBFS: there the figures are estimates (the loudness as if the limiter
//! took nothing, the true peak as the threshold plus the master's own inter-sample overshoot).

use serde::{Deserialize, Serialize};

/// The service table, compiled in.
const SERVICES_TOML: &str = include_str!("../data/streaming-services.toml");

/// What a service does to a master quieter than its reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnUp {
    /// Turn-down only.
    None,
    /// Turned up only while the true peak stays at or below `turn_up_peak_limit_dbtp`.
    PeakLimited,
    /// Turned up fully; a playback limiter holds sample peaks at `limiter_threshold_dbfs`.
    Limiter,
}

/// One row of the service table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub reference_lufs: f64,
    pub turn_up: TurnUp,
    #[serde(default)]
    pub turn_up_peak_limit_dbtp: Option<f64>,
    #[serde(default)]
    pub limiter_threshold_dbfs: Option<f64>,
    /// Whether an album is normalised as a whole (one gain for every track).
    pub album_normalisation: bool,
    pub source: String,
    /// When the source was read (YYYY-MM-DD).
    pub read_on: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    service: Vec<Service>,
}

/// The service table (parsed once; its shape is checked by a test, so it cannot fail here).
pub fn services() -> &'static [Service] {
    static TABLE: std::sync::OnceLock<Vec<Service>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str::<Table>(SERVICES_TOML)
            .map(|t| t.service)
            .unwrap_or_else(|e| panic!("delivery/data/streaming-services.toml: {e}"))
    })
}

/// What the service did to the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Playback {
    TurnedDown,
    TurnedUp,
    AsMastered,
}

/// A master as one service plays it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServicePreview {
    pub service: String,
    pub reference_lufs: f64,
    /// The gain the service applies, dB.
    pub playback_gain_db: f64,
    pub playback: Playback,
    /// Turn-up the service withheld to keep its true-peak headroom, dB (turn-up services
    /// only, when they held back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn_up_withheld_db: Option<f64>,
    /// How far the playback limiter pulls the loudest peak down, dB (when it engages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limiter_reduction_db: Option<f64>,
    /// The loudness the listener gets, LUFS.
    pub result_lufs: f64,
    /// The true peak the listener gets, dBTP.
    pub result_true_peak_dbtp: f64,
    /// Whether the figures are estimates (a playback limiter engaged).
    pub estimated: bool,
}

/// A programme's figures the services act on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Programme {
    pub integrated_lufs: f64,
    pub true_peak_dbtp: f64,
    pub sample_peak_dbfs: f64,
}

/// `master` as `service` plays it; `None` when the master has no measurable loudness.
pub fn preview_one(service: &Service, master: &Programme) -> Option<ServicePreview> {
    let (lufs, tp, sp) = (
        master.integrated_lufs,
        master.true_peak_dbtp,
        master.sample_peak_dbfs,
    );
    if !(lufs.is_finite() && tp.is_finite() && sp.is_finite()) {
        return None;
    }
    let wanted_db = service.reference_lufs - lufs;
    let mut withheld = None;
    let mut limiter = None;
    let gain_db = if wanted_db <= 0.0 {
        wanted_db
    } else {
        match service.turn_up {
            TurnUp::None => 0.0,
            TurnUp::PeakLimited => {
                let limit = service.turn_up_peak_limit_dbtp.unwrap_or(-1.0);
                let allowed = (limit - tp).max(0.0).min(wanted_db);
                if allowed < wanted_db {
                    withheld = Some(wanted_db - allowed);
                }
                allowed
            }
            TurnUp::Limiter => {
                let threshold = service.limiter_threshold_dbfs.unwrap_or(-1.0);
                let over = sp + wanted_db - threshold;
                if over > 0.0 {
                    limiter = Some(over);
                }
                wanted_db
            }
        }
    };
    let mut result_tp = tp + gain_db;
    if let (Some(_), Some(threshold)) = (limiter, service.limiter_threshold_dbfs) {
        // The limiter holds sample values; the master's own overshoot between samples stays.
        result_tp = result_tp.min(threshold + (tp - sp).max(0.0));
    }
    let playback = if gain_db < 0.0 {
        Playback::TurnedDown
    } else if gain_db > 0.0 {
        Playback::TurnedUp
    } else {
        Playback::AsMastered
    };
    Some(ServicePreview {
        service: service.name.clone(),
        reference_lufs: service.reference_lufs,
        playback_gain_db: gain_db,
        playback,
        turn_up_withheld_db: withheld,
        limiter_reduction_db: limiter,
        result_lufs: lufs + gain_db,
        result_true_peak_dbtp: result_tp,
        estimated: limiter.is_some(),
    })
}

/// `master` as every service of the table plays it (empty when it has no measurable loudness).
pub fn preview(master: &Programme) -> Vec<ServicePreview> {
    services()
        .iter()
        .filter_map(|s| preview_one(s, master))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(lufs: f64, tp: f64, sp: f64) -> Programme {
        Programme {
            integrated_lufs: lufs,
            true_peak_dbtp: tp,
            sample_peak_dbfs: sp,
        }
    }

    fn row<'a>(rows: &'a [ServicePreview], name: &str) -> &'a ServicePreview {
        rows.iter().find(|r| r.service == name).unwrap()
    }

    #[test]
    fn the_table_parses_and_every_row_names_its_source() {
        let s = services();
        assert!(s.len() >= 9);
        for service in s {
            assert!(service.source.len() > 20, "{}", service.name);
            assert_eq!(service.read_on.len(), 10, "{}", service.name);
            assert!((-24.0..=-8.0).contains(&service.reference_lufs));
            match service.turn_up {
                TurnUp::PeakLimited => assert!(service.turn_up_peak_limit_dbtp.is_some()),
                TurnUp::Limiter => assert!(service.limiter_threshold_dbfs.is_some()),
                TurnUp::None => {}
            }
        }
    }

    #[test]
    fn the_readme_carries_the_table() {
        let readme = include_str!("../../README.md");
        for service in services() {
            let row = format!("| {} | {:.0} LUFS |", service.name, service.reference_lufs);
            let line = readme
                .lines()
                .find(|l| l.starts_with(&row))
                .unwrap_or_else(|| panic!("README.md has no row '{row}'"));
            assert!(
                line.contains(&service.source) && line.contains(&service.read_on),
                "README.md's row of {} differs from the data file",
                service.name
            );
        }
    }

    #[test]
    fn spotifys_own_example_lifts_a_quiet_master_only_to_its_headroom() {
        // Spotify's page: "If a track loudness level is -20 dB LUFS, and its True Peak maximum
        // is -5 dB FS, we only lift the track up to -16 dB LUFS."
        let rows = preview(&master(-20.0, -5.0, -5.2));
        let r = row(&rows, "Spotify (normal)");
        assert_eq!(r.playback, Playback::TurnedUp);
        assert!((r.result_lufs + 16.0).abs() < 1e-9, "{r:?}");
        assert!((r.result_true_peak_dbtp + 1.0).abs() < 1e-9);
        assert!((r.turn_up_withheld_db.unwrap() - 2.0).abs() < 1e-9);
        // Turn-down-only services leave it alone.
        let yt = row(&rows, "YouTube");
        assert_eq!(
            (yt.playback, yt.playback_gain_db),
            (Playback::AsMastered, 0.0)
        );
    }

    #[test]
    fn a_club_master_is_turned_down_everywhere_by_its_excess() {
        let rows = preview(&master(-8.0, -1.0, -1.3));
        for r in &rows {
            let expected = r.reference_lufs - -8.0;
            assert_eq!(r.playback, Playback::TurnedDown, "{}", r.service);
            assert!((r.playback_gain_db - expected).abs() < 1e-9);
            assert!((r.result_lufs - r.reference_lufs).abs() < 1e-9);
            assert!((r.result_true_peak_dbtp - (-1.0 + expected)).abs() < 1e-9);
            assert!(!r.estimated);
        }
        assert!((row(&rows, "Deezer").playback_gain_db + 7.0).abs() < 1e-9);
    }

    #[test]
    fn spotify_loud_turns_up_through_its_limiter() {
        // -16 LUFS, sample peak -2 dBFS: +5 dB puts the sample peak at +3, the limiter at -1
        // takes 4 dB off it; the 0.3 dB inter-sample overshoot stays.
        let rows = preview(&master(-16.0, -1.7, -2.0));
        let r = row(&rows, "Spotify (loud)");
        assert!((r.playback_gain_db - 5.0).abs() < 1e-9);
        assert!((r.limiter_reduction_db.unwrap() - 4.0).abs() < 1e-9);
        assert!((r.result_true_peak_dbtp - (-0.7)).abs() < 1e-9, "{r:?}");
        assert!(r.estimated);
        assert!((r.result_lufs + 11.0).abs() < 1e-9);
    }

    #[test]
    fn silence_has_no_preview() {
        assert!(preview(&master(
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY
        ))
        .is_empty());
    }
}
