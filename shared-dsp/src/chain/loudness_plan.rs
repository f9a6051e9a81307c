//! The loudness plan of a master's peak stage: how a master reaches its loudness target once the
//! stems and the master's glue, EQ and width (the *pre-limiter signal*) have given what they
//! give. The `stem` tool's render runs it over its spooled pre-limiter signal, and the Stem
//! Master's Learn runs it over the pre-limiter signal it heard ([`plan_in_memory`]); both call
//! [`plan_peak_stage`], so a setting learned in the plugin is the one the render would choose.
//!
//! The drive into the peak stage ([`super::peak_stage`]: clipper, then the true-peak limiter) is
//! searched first with the stage as set ([`super::learn::solve_drive`]). When the limiter then
//! costs loudness (the drive needed exceeds the plain gain to the target by more than
//! [`PEAK_CONTROL_TRY_DB`], i.e. the limiter holds peaks down), and the caller does not pin the
//! clipper, the search runs again with the clipper on, and the master keeps whichever reaches
//! the target with the lower loudness damage `D` ([`crate::meter::damage`], measured against
//! the pre-limiter signal, so the clipper's distortion counts) by at least
//! [`CLIPPER_MIN_GAIN_DB`]. A quiet target where the limiter is idle is therefore reached by the
//! drive alone, and a loud one gets the clipper only where it is measured to be cleaner.
//!
//! The plan says where the loudness came from: the pre-limiter loudness, the drive's plain
//! gain, and the loudness the peak stage cost (drive beyond the plain gain), with `D` for each
//! candidate it tried.

use serde::Serialize;

use super::learn::{
    solve_drive_with, DriveSolution, DriveSolver, IdleLoudness, CLIPPER_LOSS_STRETCH,
    LIMITER_LOSS_STRETCH,
};
use super::peak_stage::PeakStage;
use super::settings::MasterSettings;
use crate::meter::damage::LoudnessDamage;
use crate::meter::loudness::LoudnessMeter;
use crate::util::{db_to_gain, gain_to_db};

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

/// Block length of the offline peak-stage passes, samples.
const PLAN_BLOCK: usize = 512;

/// How the clipper came to be on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipperChoice {
    /// The caller pinned it (a preset's `clipper_enabled`).
    Pinned,
    /// The limiter alone cost less than [`PEAK_CONTROL_TRY_DB`]: nothing to gain.
    LimiterIdle,
    /// Both were rendered; the lower `D` won.
    Measured,
}

/// Where a master's loudness came from and what it cost.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PeakPlan {
    /// Integrated loudness of the pre-limiter signal, LUFS.
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
}

/// What a plan is asked.
#[derive(Clone, Debug)]
pub struct PeakPlanRequest {
    /// The master's settings (limiter, clip margin, output gain; `clipper_enabled` counts only
    /// when pinned).
    pub settings: MasterSettings,
    pub target_lufs: f64,
    /// The clipper stays as `settings` has it.
    pub clipper_pinned: bool,
    /// Integrated loudness of the pre-limiter signal, LUFS.
    pub pre_limiter_lufs: f64,
    /// Sample peak of the pre-limiter signal, dBFS (decides the speculative clipper search).
    pub pre_peak_dbfs: f64,
}

impl PeakPlanRequest {
    /// The drive that reaches the target with the peak stage idle, dB.
    pub fn plain_gain_db(&self) -> f64 {
        self.target_lufs - self.pre_limiter_lufs - self.settings.output_gain_db as f64
    }
}

/// A plan's outcome: the settings to render (with the clipper as chosen; the drive is in
/// `solution`), the drive solution, the report, the chosen stage's `D`, dB, and what the
/// measurement at the chosen drive handed back (`pass`: the render keeps that pass's output
/// as the master, so the chosen drive is never rendered twice).
#[derive(Clone, Debug)]
pub struct PlannedPeakStage<P = ()> {
    pub settings: MasterSettings,
    pub solution: DriveSolution,
    pub plan: PeakPlan,
    pub damage_db: f64,
    pub pass: P,
}

/// One measurement of the peak stage at a drive: the master's integrated loudness (LUFS), its
/// `D` against the reference (dB) and whatever else the pass made (`pass`).
#[derive(Clone, Debug)]
pub struct PeakMeasurement<P> {
    pub lufs: f64,
    pub damage_db: f64,
    pub pass: P,
}

/// The peak stage alone as the master chain runs it: the drive, the stage (clipper when on,
/// then the limiter), the output gain. What the plan's passes render.
pub struct DrivenPeakStage {
    stage: PeakStage,
    drive: f32,
    output_gain: f32,
}

impl DrivenPeakStage {
    /// The stage of `settings` at `drive_db` for blocks of up to `max_block` (allocates).
    pub fn new(
        settings: &MasterSettings,
        sample_rate_hz: f64,
        drive_db: f64,
        max_block: usize,
    ) -> Self {
        let mut stage = PeakStage::new(max_block, sample_rate_hz, 0, settings.clipper_enabled);
        stage.set_settings(settings.limiter, settings.clipper_margin_db);
        stage.reset();
        Self {
            stage,
            drive: db_to_gain(drive_db as f32),
            output_gain: db_to_gain(settings.output_gain_db),
        }
    }

    /// Latency in samples.
    pub fn latency_samples(&self) -> usize {
        self.stage.latency_samples()
    }

    /// The stage (its readings).
    pub fn stage(&self) -> &PeakStage {
        &self.stage
    }

    /// Processes a stereo block in place. Never allocates.
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        for x in left.iter_mut().chain(right.iter_mut()) {
            *x *= self.drive;
        }
        self.stage.process_block(left, right);
        if self.output_gain != 1.0 {
            for x in left.iter_mut().chain(right.iter_mut()) {
                *x *= self.output_gain;
            }
        }
    }
}

/// The drive search for `settings`, with the measurement at the drive found: taken from the
/// search's own passes (the solver's best is the measurement closest to the target, kept as the
/// passes come, so at most two passes' outputs exist at once), or measured again when the
/// solver settled on a drive it never measured (nothing above the loudness gate).
fn search<E, P>(
    request: &PeakPlanRequest,
    settings: &MasterSettings,
    measure: &(impl Fn(&MasterSettings, f64) -> Result<PeakMeasurement<P>, E> + Sync),
) -> Result<(DriveSolution, PeakMeasurement<P>), E> {
    let target = request.target_lufs;
    let mut failed = None;
    // The measurement closest to the target so far, by the solver's own rule (the earlier one
    // of two equally close), and its drive.
    let mut best: Option<(f64, PeakMeasurement<P>)> = None;
    // With the stage idle the master measures the pre-limiter loudness plus drive and output
    // gain: the first step is stretched by the loss the stage shows ([`IdleLoudness`]).
    let plain_gain_db = request.plain_gain_db();
    let idle = IdleLoudness {
        offset_lufs: target - plain_gain_db,
        loss_stretch: if settings.clipper_enabled {
            CLIPPER_LOSS_STRETCH
        } else {
            LIMITER_LOSS_STRETCH
        },
    };
    let solver = DriveSolver::knowing_idle_loudness(target, idle);
    let solution = solve_drive_with(solver, plain_gain_db, |g| match measure(settings, g) {
        Ok(m) => {
            let lufs = m.lufs;
            let closer = lufs.is_finite()
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| (lufs - target).abs() < (b.lufs - target).abs());
            if closer {
                best = Some((g, m));
            }
            lufs
        }
        Err(e) => {
            failed.get_or_insert(e);
            f64::NAN
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let measured = match best {
        Some((g, m)) if g == solution.drive_db => m,
        _ => measure(settings, solution.drive_db)?,
    };
    Ok((solution, measured))
}

/// Chooses the peak stage and its drive (see the module notes). `measure(settings, drive_db)`
/// renders the pre-limiter signal through [`DrivenPeakStage`] of `settings` at `drive_db` and
/// returns the master's integrated loudness (LUFS) and its `D` against the reference (the
/// pre-limiter signal, or the same stems with every loudness stage idle).
///
/// Where the clipper will almost surely be tried (the pre-limiter peak driven by the plain gain
/// goes more than [`SPECULATE_OVER_DB`] over the ceiling), its search runs on a second thread
/// beside the limiter-alone search: the same measurements, so the same result, in the time of
/// the longer search instead of both.
pub fn plan_peak_stage<E: Send, P: Send>(
    request: &PeakPlanRequest,
    measure: impl Fn(&MasterSettings, f64) -> Result<PeakMeasurement<P>, E> + Sync,
) -> Result<PlannedPeakStage<P>, E> {
    let plain_gain_db = request.plain_gain_db();
    let mut settings = request.settings.clone();
    // Unpinned, the first candidate is the limiter alone.
    settings.clipper_enabled &= request.clipper_pinned;
    let mut clipped = settings.clone();
    clipped.clipper_enabled = true;
    let ceiling_dbtp = settings.limiter.ceiling_dbtp as f64;
    let speculate = !request.clipper_pinned
        && request.pre_peak_dbfs + plain_gain_db - ceiling_dbtp > SPECULATE_OVER_DB;
    let (alone, mut clipped_search) = if speculate {
        std::thread::scope(|scope| {
            let with = scope.spawn(|| search(request, &clipped, &measure));
            let alone = search(request, &settings, &measure);
            let with = with
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (alone, Some(with))
        })
    } else {
        (search(request, &settings, &measure), None)
    };
    let (mut solution, mut measured) = alone?;
    let mut plan = PeakPlan {
        pre_limiter_lufs: request.pre_limiter_lufs,
        plain_gain_db,
        drive_db: solution.drive_db,
        peak_control_cost_db: solution.drive_db - plain_gain_db,
        clipper_enabled: settings.clipper_enabled,
        clipper_choice: ClipperChoice::LimiterIdle,
        damage_limiter_only_db: None,
        damage_with_clipper_db: None,
    };
    if request.clipper_pinned {
        plan.clipper_choice = ClipperChoice::Pinned;
    } else if plan.peak_control_cost_db > PEAK_CONTROL_TRY_DB {
        let (with, measured_clipped) = match clipped_search.take() {
            Some(done) => done?,
            None => search(request, &clipped, &measure)?,
        };
        let (damage_alone, damage_clipped) = (measured.damage_db, measured_clipped.damage_db);
        plan.clipper_choice = ClipperChoice::Measured;
        plan.damage_limiter_only_db = Some(damage_alone);
        plan.damage_with_clipper_db = Some(damage_clipped);
        if damage_clipped < damage_alone - CLIPPER_MIN_GAIN_DB {
            settings = clipped;
            solution = with;
            measured = measured_clipped;
        }
    }
    plan.clipper_enabled = settings.clipper_enabled;
    plan.drive_db = solution.drive_db;
    plan.peak_control_cost_db = solution.drive_db - plain_gain_db;
    Ok(PlannedPeakStage {
        settings,
        solution,
        plan,
        damage_db: measured.damage_db,
        pass: measured.pass,
    })
}

/// The integrated loudness (LUFS) of the pre-limiter signal `pre` (left, right) through the
/// peak stage of `settings` at `drive_db`, and its `D` against `pre` itself. The stage's output
/// is aligned with its input (its latency flushed with silence). Allocates the stage.
pub fn measure_in_memory(
    pre: [&[f32]; 2],
    settings: &MasterSettings,
    drive_db: f64,
    sample_rate_hz: f64,
) -> (f64, f64) {
    let len = pre[0].len().min(pre[1].len());
    let mut stage = DrivenPeakStage::new(settings, sample_rate_hz, drive_db, PLAN_BLOCK);
    let latency = stage.latency_samples();
    let mut meter = LoudnessMeter::new(2, sample_rate_hz);
    let mut damage = LoudnessDamage::new();
    let mut block = [[0.0f32; PLAN_BLOCK]; 2];
    // `fed` input samples (then silence) went in; output sample `fed - latency + i` is aligned
    // with input sample `fed - latency + i`.
    let mut fed = 0;
    while fed < len + latency {
        let n = PLAN_BLOCK.min(len + latency - fed);
        for (out, x) in block.iter_mut().zip(pre) {
            let take = len.saturating_sub(fed).min(n);
            out[..take].copy_from_slice(&x[fed..fed + take]);
            out[take..n].fill(0.0);
        }
        let [l, r] = &mut block;
        stage.process_block(&mut l[..n], &mut r[..n]);
        // The part of this block that is the output of real input samples.
        let first = latency.saturating_sub(fed).min(n);
        let from = fed + first - latency;
        let count = (n - first).min(len.saturating_sub(from));
        if count > 0 {
            let out = [&l[first..first + count], &r[first..first + count]];
            meter.process_block(&out);
            damage.process(
                &[&pre[0][from..from + count], &pre[1][from..from + count]],
                &out,
            );
        }
        fed += n;
    }
    (meter.integrated_lufs(), damage.damage_db())
}

/// The plan over a pre-limiter signal held in memory (what the Stem Master's Learn heard): its
/// loudness and peak are measured first, then [`plan_peak_stage`] with [`measure_in_memory`].
/// `None` when nothing in `pre` is loud enough to measure (the loudness gate stayed shut).
pub fn plan_in_memory(
    pre: [&[f32]; 2],
    settings: &MasterSettings,
    target_lufs: f64,
    clipper_pinned: bool,
    sample_rate_hz: f64,
) -> Option<PlannedPeakStage> {
    let mut meter = LoudnessMeter::new(2, sample_rate_hz);
    meter.process_block(&pre);
    let pre_limiter_lufs = meter.integrated_lufs();
    if !pre_limiter_lufs.is_finite() {
        return None;
    }
    let peak = pre
        .iter()
        .flat_map(|x| x.iter())
        .fold(0.0f32, |m, &x| m.max(x.abs()));
    let request = PeakPlanRequest {
        settings: settings.clone(),
        target_lufs,
        clipper_pinned,
        pre_limiter_lufs,
        pre_peak_dbfs: gain_to_db(peak) as f64,
    };
    let planned = plan_peak_stage(&request, |s, g| {
        let (lufs, damage_db) = measure_in_memory(pre, s, g, sample_rate_hz);
        Ok::<_, std::convert::Infallible>(PeakMeasurement {
            lufs,
            damage_db,
            pass: (),
        })
    });
    match planned {
        Ok(planned) => Some(planned),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::learn::TOLERANCE_LU;

    const FS: f64 = 48_000.0;

    fn hits_over_pad(seconds: f64, pad_gain: f32) -> [Vec<f32>; 2] {
        test_signals::hits_over_pad(seconds, FS, pad_gain)
    }

    #[test]
    fn measuring_in_memory_aligns_the_stage_with_its_input() {
        // Turned down 12 dB the stage is idle: the master is a gain of the input (misaligned,
        // D would be near 0 dB), and its loudness is the input's plus the drive.
        let [l, r] = hits_over_pad(3.0, 0.01);
        let settings = MasterSettings::default();
        let mut meter = LoudnessMeter::new(2, FS);
        meter.process_block(&[&l, &r]);
        let (lufs, damage) = measure_in_memory([&l, &r], &settings, -12.0, FS);
        assert!(
            (lufs - (meter.integrated_lufs() - 12.0)).abs() < 1e-3,
            "{lufs}"
        );
        assert!(damage < -100.0, "{damage}");
    }

    #[test]
    fn a_quiet_target_is_a_plain_gain() {
        let [l, r] = hits_over_pad(4.0, 0.02);
        let settings = MasterSettings::default();
        let planned = plan_in_memory([&l, &r], &settings, -30.0, false, FS).unwrap();
        let plan = planned.plan;
        assert_eq!(plan.clipper_choice, ClipperChoice::LimiterIdle);
        assert!(!plan.clipper_enabled);
        assert!(plan.peak_control_cost_db.abs() < 0.05, "{plan:?}");
        assert!((planned.solution.lufs + 30.0).abs() <= TOLERANCE_LU);
    }

    #[test]
    fn a_loud_target_over_transients_takes_the_clipper_when_it_is_cleaner() {
        // Hits far above a loud pad: at -9 LUFS the limiter alone rides its gain around every
        // hit; the clipper shaves the hits instead.
        let [l, r] = hits_over_pad(6.0, 0.1);
        let settings = MasterSettings::default();
        let planned = plan_in_memory([&l, &r], &settings, -9.0, false, FS).unwrap();
        let plan = planned.plan;
        assert_eq!(plan.clipper_choice, ClipperChoice::Measured, "{plan:?}");
        let (alone, with) = (
            plan.damage_limiter_only_db.unwrap(),
            plan.damage_with_clipper_db.unwrap(),
        );
        assert!(with < alone - CLIPPER_MIN_GAIN_DB, "{plan:?}");
        assert!(plan.clipper_enabled && planned.settings.clipper_enabled);
        assert!(plan.peak_control_cost_db > PEAK_CONTROL_TRY_DB, "{plan:?}");
        assert_eq!(planned.damage_db, with);
        // The chosen drive lands on the target, measured independently of the search.
        let (lufs, _) = measure_in_memory([&l, &r], &planned.settings, plan.drive_db, FS);
        assert!((lufs + 9.0).abs() <= TOLERANCE_LU, "{lufs}");
        // Pinned off, the clipper stays off.
        let pinned = plan_in_memory([&l, &r], &settings, -9.0, true, FS).unwrap();
        assert_eq!(pinned.plan.clipper_choice, ClipperChoice::Pinned);
        assert!(!pinned.settings.clipper_enabled);
        assert_eq!(pinned.plan.damage_limiter_only_db, None);
    }

    #[test]
    fn silence_has_no_plan() {
        let z = vec![0.0f32; 48_000];
        assert!(plan_in_memory([&z, &z], &MasterSettings::default(), -14.0, false, FS).is_none());
    }
}
