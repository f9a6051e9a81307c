//! The render's stem peak plan (issue 16, "a loudness plan instead of one big limiter drive"):
//! where the master's peak stage works for its loudness, the stems that make the programme's
//! peaks shave them first, each through its Stem Channel's peak control
//! ([`shared_dsp::dynamics::Clipper`]), and the master keeps that only where it is measured to
//! be cleaner.
//!
//! The rule, per delivery, after its loudness plan ([`crate::loudness_plan`]):
//! 1. tried only when the limiter alone costs loudness (more than [`PEAK_CONTROL_TRY_DB`]: the
//!    loudness plan then measured the clipper, or the preset pinned a peak stage that still
//!    costs that much) and the driven sum goes at least [`MIN_OVER_DB`] over the ceiling;
//! 2. the stems whose share of the programme's loudest peaks (the stem attribution's
//!    `peak_share_percent`) is at least [`PEAK_SHARE_MIN_PERCENT`], and whose preset does not
//!    set `peak_control_enabled`, get their peak control at their own sample peak minus that
//!    over (clamped to the control's range): what the master's peak stage had to take off the
//!    sum's peaks, taken off the stems that make them instead;
//! 3. the delivery is rendered again with them and its loudness plan searched again (clipper
//!    and drive), and the stems keep their peak control only when `D` against the stems without
//!    it (the same reference as the first plan's) is lower by at least
//!    [`STEM_PEAK_MIN_GAIN_DB`].

use serde::Serialize;
use shared_dsp::chain::ranges::PEAK_CONTROL_LEVEL_DBFS;

use crate::loudness_plan::{ClipperChoice, LoudnessPlan, PEAK_CONTROL_TRY_DB};
use crate::plan::Delivery;

/// A stem gets peak control when its share of the loudest peaks is at least this, percent.
pub const PEAK_SHARE_MIN_PERCENT: f64 = 20.0;

/// The stems' peak control is tried only when the driven sum's sample peak goes at least this
/// far over the ceiling, dB.
pub const MIN_OVER_DB: f64 = 1.0;

/// The stems keep their peak control only when it lowers `D` by at least this, dB.
pub const STEM_PEAK_MIN_GAIN_DB: f64 = 0.5;

/// One stem's peak control in the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StemPeakLevel {
    /// The stem's index in stem order (as in `stem_attribution`).
    pub stem: usize,
    /// The processed stem's sample peak without peak control, dBFS.
    pub peak_dbfs: f64,
    /// The clip level tried, dBFS.
    pub level_dbfs: f64,
    /// The stem's share of the programme's loudest peaks, percent.
    pub peak_share_percent: f64,
}

/// What the stem peak plan tried and found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StemPeakControlPlan {
    pub stems: Vec<StemPeakLevel>,
    /// `D` of the master's peak stage without the stems' peak control, dB.
    pub damage_without_db: f64,
    /// `D` with it (the plan searched again), against the same stems without it, dB.
    pub damage_with_db: f64,
    /// Whether the master keeps it.
    pub kept: bool,
}

/// The delivery to try with the stems' peak control (see the module notes), or `None` when
/// the rule does not try it. `pre_peak_dbfs` is the pre-limiter signal's sample peak,
/// `stem_peaks_dbfs` and `peak_shares_percent` each processed stem's sample peak and share of
/// the loudest peaks, in stem order.
pub fn candidate(
    d: &Delivery,
    plan: &LoudnessPlan,
    pre_peak_dbfs: f64,
    stem_peaks_dbfs: &[f64],
    peak_shares_percent: &[f64],
) -> Option<(Delivery, Vec<StemPeakLevel>)> {
    // The limiter alone cost loudness: the plan measured the clipper, or kept what the preset
    // pinned while it still costs.
    let peak_stage_works = plan.peak.clipper_choice == ClipperChoice::Measured
        || plan.peak.peak_control_cost_db > PEAK_CONTROL_TRY_DB;
    if !peak_stage_works {
        return None;
    }
    let over_db = pre_peak_dbfs + plan.peak.drive_db - d.ceiling_dbtp;
    if !(over_db >= MIN_OVER_DB) {
        return None;
    }
    let mut tried = d.clone();
    let mut levels = Vec::new();
    for (stem, (&peak_dbfs, &share)) in stem_peaks_dbfs.iter().zip(peak_shares_percent).enumerate()
    {
        let settings = &mut tried.stem_settings[stem];
        if d.peak_control_pinned[stem]
            || settings.peak_control_enabled
            || share < PEAK_SHARE_MIN_PERCENT
            || !peak_dbfs.is_finite()
        {
            continue;
        }
        let level_dbfs = (peak_dbfs - over_db).clamp(
            PEAK_CONTROL_LEVEL_DBFS.min as f64,
            PEAK_CONTROL_LEVEL_DBFS.max as f64,
        );
        settings.peak_control_enabled = true;
        settings.peak_control_level_dbfs = level_dbfs as f32;
        levels.push(StemPeakLevel {
            stem,
            peak_dbfs,
            level_dbfs,
            peak_share_percent: share,
        });
    }
    (!levels.is_empty()).then_some((tried, levels))
}

/// The plan's report once both were measured.
pub fn report(
    levels: &[StemPeakLevel],
    damage_without_db: f64,
    damage_with_db: f64,
) -> StemPeakControlPlan {
    StemPeakControlPlan {
        stems: levels.to_vec(),
        damage_without_db,
        damage_with_db,
        kept: damage_with_db < damage_without_db - STEM_PEAK_MIN_GAIN_DB,
    }
}
