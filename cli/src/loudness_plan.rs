//! The loudness plan of a master: how the render reaches its target after the stems and the
//! master's glue, EQ and width (the pre-limiter signal) have given what they give.
//!
//! The drive into the peak stage ([`shared_dsp::chain::peak_stage`]: clipper, then the
//! true-peak limiter) is searched first with the preset's stage as set. When the limiter then
//! costs loudness (the drive needed exceeds the plain gain to the target by more than
//! [`PEAK_CONTROL_TRY_DB`], i.e. the limiter holds peaks down), and the preset does not pin the
//! clipper, the search runs again with the clipper on, and the master keeps whichever reaches
//! the target with the lower loudness damage `D` ([`shared_dsp::meter::damage`], measured against
//! the pre-limiter signal, so the clipper's distortion counts). A quiet target where the limiter
//! is idle therefore renders exactly as before, and a loud one gets the clipper only where it is
//! measured to be cleaner.
//!
//! The plan reports where the loudness came from: the pre-limiter loudness, the drive's plain
//! gain, and the loudness the peak stage cost (drive beyond the plain gain), with `D` for each
//! candidate it tried.

use serde::Serialize;
use shared_dsp::chain::learn::{solve_drive, DriveSolution};
use shared_dsp::chain::peak_stage::PeakStage;
use shared_dsp::chain::settings::MasterSettings;
use shared_dsp::meter::damage::LoudnessDamage;
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::util::db_to_gain;

use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::gain_reduction::GainReductionHistogram;
use crate::mastering::{integrated_through, run_spool, Runner};
use crate::plan::Delivery;
use crate::spool::{Spool, SpoolReader};
use crate::stem_peak_plan::StemPeakControlPlan;
use crate::stream::{Aligned, PROCESS_BLOCK};

/// The clipper is tried when the limiter alone needs this much more drive than a plain gain to
/// the target, dB: at -14 LUFS the limiter of the demo and of three songs from tracker modules
/// cost 0.00-0.03 dB, at -8 LUFS 1.4-2.1 dB.
pub const PEAK_CONTROL_TRY_DB: f64 = 0.3;

/// The clipper's drive search starts beside the limiter-alone search (on a second thread) when
/// the pre-limiter peak driven by the plain gain goes this far over the ceiling, dB: the limiter
/// alone then almost surely costs more than [`PEAK_CONTROL_TRY_DB`] (the demo's club master: 5
/// dB over, 1.2 dB of cost).
pub const SPECULATE_OVER_DB: f64 = 3.0;

/// The clipper replaces the limiter alone only when it lowers `D` by at least this, dB.
pub const CLIPPER_MIN_GAIN_DB: f64 = 0.5;

/// How the clipper came to be on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipperChoice {
    /// The preset sets `clipper_enabled`.
    Pinned,
    /// The limiter alone cost less than [`PEAK_CONTROL_TRY_DB`]: nothing to gain.
    LimiterIdle,
    /// Both were rendered; the lower `D` won.
    Measured,
}

/// How the master's DC filter came to be on or off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MasterDcFilterChoice {
    /// The preset sets the master's `dc_filter_enabled`.
    Pinned,
    /// The preset's setting stands: the filter is on already, or the master's DC from the
    /// pre-limiter signal stays at or below -60 dBFS.
    #[default]
    NotNeeded,
    /// Turned on: the drive would have lifted the pre-limiter signal's DC above -60 dBFS.
    ForDc,
}

/// The master's DC filter in the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct MasterDcFilter {
    pub enabled: bool,
    pub choice: MasterDcFilterChoice,
    /// DC offset of the pre-limiter signal (larger channel) before any master DC filter, dBFS;
    /// the master's DC from it is this plus the drive.
    pub pre_limiter_dc_dbfs: f64,
}

/// Where a master's loudness came from and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoudnessPlan {
    /// Integrated loudness of the pre-limiter signal (stems through their chains, summed,
    /// through the master's glue, EQ and width), LUFS.
    pub pre_limiter_lufs: f64,
    /// The drive that would reach the target if the peak stage were idle (a plain gain), dB.
    pub plain_gain_db: f64,
    /// The drive used, dB.
    pub drive_db: f64,
    /// Loudness the peak stage cost: drive beyond the plain gain, dB.
    pub peak_control_cost_db: f64,
    pub clipper_enabled: bool,
    pub clipper_choice: ClipperChoice,
    /// `D` of the limiter alone at its drive for the target, dB (when it was rendered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_limiter_only_db: Option<f64>,
    /// `D` with the clipper at its drive for the target, dB (when it was rendered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage_with_clipper_db: Option<f64>,
    /// The master's DC filter (set by the render after the plan, see [`crate::mastering`]).
    pub master_dc_filter: MasterDcFilter,
    /// The stems' peak control, when the render tried it ([`crate::stem_peak_plan`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stem_peak_control: Option<StemPeakControlPlan>,
}

/// The limiter's and the clipper's reduction, 10 ms window by window.
pub type StageWork = Arc<Mutex<[GainReductionHistogram; 2]>>;

/// The peak stage alone, as the master chain runs it (drive, clipper when on, limiter, output
/// gain), on the pre-limiter signal: what the drive search measures, logging the stage's work
/// into `work` when given. The final master always comes from the whole chain.
pub(crate) fn peak_stage(
    settings: &MasterSettings,
    sample_rate_hz: f64,
    drive_db: f64,
    work: Option<StageWork>,
) -> Runner {
    let mut stage = PeakStage::new(PROCESS_BLOCK, sample_rate_hz, 0, settings.clipper_enabled);
    stage.set_settings(settings.limiter, settings.clipper_margin_db);
    stage.reset();
    let drive = db_to_gain(drive_db as f32);
    let out_gain = db_to_gain(settings.output_gain_db);
    let latency = stage.latency_samples();
    Aligned::new(
        latency,
        Box::new(move |l, r| {
            for x in l.iter_mut().chain(r.iter_mut()) {
                *x *= drive;
            }
            match &work {
                None => stage.process_block(l, r),
                Some(work) => {
                    let mut logs = work.lock().unwrap_or_else(|e| e.into_inner());
                    let mut at = 0;
                    while at < l.len() {
                        let n = logs[0].samples_to_window_end().min(l.len() - at);
                        stage.process_block(&mut l[at..at + n], &mut r[at..at + n]);
                        logs[0].record(n, stage.limiter().block_max_gain_reduction_db());
                        logs[1].record(n, stage.clipper_block_max_reduction_db());
                        at += n;
                    }
                }
            }
            if out_gain != 1.0 {
                for x in l.iter_mut().chain(r.iter_mut()) {
                    *x *= out_gain;
                }
            }
        }),
    )
}

/// Adds `master` (one block, aligned with what `reference` reads next) to `damage`.
pub fn compare_block(
    reference: &mut SpoolReader,
    scratch: &mut [Vec<f32>; 2],
    damage: &mut LoudnessDamage,
    master: [&[f32]; 2],
) -> Result<()> {
    let n = master[0].len();
    let mut compared = 0;
    while compared < n {
        let got = reference.read_block(scratch, n - compared)?;
        if got == 0 {
            break;
        }
        let [l, r] = &*scratch;
        damage.process(
            &[l, r],
            &[
                &master[0][compared..compared + got],
                &master[1][compared..compared + got],
            ],
        );
        compared += got;
    }
    Ok(())
}

/// `D` of the spool `input` through `runner` against the spool `reference` (the same stems with
/// every loudness stage idle, aligned with `input`).
fn damage_through(input: &Spool, reference: &Spool, runner: Runner) -> Result<f64> {
    let mut reference = reference.reader()?;
    let mut scratch = [Vec::new(), Vec::new()];
    let mut damage = LoudnessDamage::new();
    run_spool(input, runner, |l, r| {
        compare_block(&mut reference, &mut scratch, &mut damage, [l, r])
    })?;
    Ok(damage.damage_db())
}

/// `D` of the pre-limiter spool `input` through the peak stage of `settings` at `drive_db`,
/// against `reference`.
pub fn damage_of(
    input: &Spool,
    reference: &Spool,
    settings: &MasterSettings,
    drive_db: f64,
    sample_rate_hz: f64,
) -> Result<f64> {
    damage_through(
        input,
        reference,
        peak_stage(settings, sample_rate_hz, drive_db, None),
    )
}

/// The loudest master reachable with the peak stage within `budget_db` of mean reduction (the
/// larger of the limiter's and the clipper's, 10 ms windows), LUFS: the drive is bisected (eight
/// steps, to 0.1 dB) between `drive_db`, where the stage works beyond the budget, and 24 dB
/// below it. `None` when even that lower drive works beyond the budget.
pub fn loudest_within_budget_lufs(
    pre: &Spool,
    settings: &MasterSettings,
    drive_db: f64,
    budget_db: f64,
    sample_rate_hz: f64,
) -> Result<Option<f64>> {
    let measure = |g: f64| -> Result<(f64, f64)> {
        let work: StageWork = Arc::new(Mutex::new([
            GainReductionHistogram::new(sample_rate_hz),
            GainReductionHistogram::new(sample_rate_hz),
        ]));
        let runner = peak_stage(settings, sample_rate_hz, g, Some(work.clone()));
        let lufs = integrated_through(pre, runner, sample_rate_hz)?;
        let logs = work.lock().unwrap_or_else(|e| e.into_inner());
        Ok((lufs, logs[0].stats().mean_db.max(logs[1].stats().mean_db)))
    };
    let (mut low, mut high) = (drive_db - 24.0, drive_db);
    let (mut low_lufs, low_work) = measure(low)?;
    if low_work > budget_db {
        return Ok(None);
    }
    for _ in 0..8 {
        let mid = 0.5 * (low + high);
        let (lufs, work) = measure(mid)?;
        if work <= budget_db {
            (low, low_lufs) = (mid, lufs);
        } else {
            high = mid;
        }
    }
    Ok(Some(low_lufs))
}

/// The integrated loudness of the spool `input` through `runner` and its `D` against
/// `reference`, in one pass.
fn loudness_and_damage(
    input: &Spool,
    reference: &Spool,
    runner: Runner,
    sample_rate_hz: f64,
) -> Result<(f64, f64)> {
    let mut meter = LoudnessMeter::new(2, sample_rate_hz);
    let mut reference = reference.reader()?;
    let mut scratch = [Vec::new(), Vec::new()];
    let mut damage = LoudnessDamage::new();
    run_spool(input, runner, |l, r| {
        meter.process_block(&[l, r]);
        compare_block(&mut reference, &mut scratch, &mut damage, [l, r])
    })?;
    Ok((meter.integrated_lufs(), damage.damage_db()))
}

/// The drive search for `settings` over the pre-limiter spool, and `D` against `reference` at
/// the drive found (measured in the search's own passes, so it costs no pass of its own).
fn search(
    d: &Delivery,
    settings: &MasterSettings,
    pre: &Spool,
    reference: &Spool,
    plain_gain_db: f64,
    sample_rate_hz: f64,
) -> Result<(DriveSolution, f64)> {
    let mut failed = None;
    let mut damages: Vec<(f64, f64)> = Vec::new();
    let solution = solve_drive(d.target_lufs, plain_gain_db, |g| {
        let runner = peak_stage(settings, sample_rate_hz, g, None);
        match loudness_and_damage(pre, reference, runner, sample_rate_hz) {
            Ok((lufs, damage)) => {
                damages.push((g, damage));
                lufs
            }
            Err(e) => {
                failed.get_or_insert(e);
                f64::NAN
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let damage = match damages.iter().find(|(g, _)| *g == solution.drive_db) {
        Some(&(_, damage)) => damage,
        None => damage_of(pre, reference, settings, solution.drive_db, sample_rate_hz)?,
    };
    Ok((solution, damage))
}

/// Chooses the peak stage and its drive for delivery `d` (see the module notes): the master
/// settings to render, the drive solution, the plan to report and the chosen stage's `D`. `D` is measured against
/// `reference`: `pre` itself, or the same stems without their peak control when the stem peak
/// plan tries it ([`crate::stem_peak_plan`]).
///
/// Where the clipper will almost surely be tried (the pre-limiter peak `pre_peak_dbfs` driven by
/// the plain gain goes more than [`SPECULATE_OVER_DB`] over the ceiling), its search runs on a
/// second thread beside the limiter-alone search: the same measurements, so the same result,
/// in the time of the longer search instead of both.
pub fn choose(
    d: &Delivery,
    pre: &Spool,
    reference: &Spool,
    (pre_limiter_lufs, pre_peak_dbfs): (f64, f64),
    sample_rate_hz: f64,
) -> Result<(MasterSettings, DriveSolution, LoudnessPlan, f64)> {
    let plain_gain_db = d.target_lufs - pre_limiter_lufs - d.master.output_gain_db as f64;
    let mut settings = d.master.clone();
    let mut clipped = settings.clone();
    clipped.clipper_enabled = true;
    let search_with =
        |s: &MasterSettings| search(d, s, pre, reference, plain_gain_db, sample_rate_hz);
    let speculate =
        !d.clipper_pinned && pre_peak_dbfs + plain_gain_db - d.ceiling_dbtp > SPECULATE_OVER_DB;
    let (alone, mut clipped_search) = if speculate {
        std::thread::scope(|scope| {
            let with = scope.spawn(|| search_with(&clipped));
            let alone = search_with(&settings);
            let with = with
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (alone, Some(with))
        })
    } else {
        (search_with(&settings), None)
    };
    let (mut solution, mut damage_db) = alone?;
    let mut plan = LoudnessPlan {
        pre_limiter_lufs,
        plain_gain_db,
        drive_db: solution.drive_db,
        peak_control_cost_db: solution.drive_db - plain_gain_db,
        clipper_enabled: settings.clipper_enabled,
        clipper_choice: ClipperChoice::LimiterIdle,
        damage_limiter_only_db: None,
        damage_with_clipper_db: None,
        master_dc_filter: MasterDcFilter::default(),
        stem_peak_control: None,
    };
    if d.clipper_pinned {
        plan.clipper_choice = ClipperChoice::Pinned;
    } else if plan.peak_control_cost_db > PEAK_CONTROL_TRY_DB {
        let (with, damage_clipped) = match clipped_search.take() {
            Some(done) => done?,
            None => search_with(&clipped)?,
        };
        let damage_alone = damage_db;
        plan.clipper_choice = ClipperChoice::Measured;
        plan.damage_limiter_only_db = Some(damage_alone);
        plan.damage_with_clipper_db = Some(damage_clipped);
        if damage_clipped < damage_alone - CLIPPER_MIN_GAIN_DB {
            settings = clipped;
            solution = with;
            damage_db = damage_clipped;
        }
    }
    plan.clipper_enabled = settings.clipper_enabled;
    plan.drive_db = solution.drive_db;
    plan.peak_control_cost_db = solution.drive_db - plain_gain_db;
    Ok((settings, solution, plan, damage_db))
}
