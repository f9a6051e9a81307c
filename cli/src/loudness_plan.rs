//! The loudness plan of a master in `stem render`: [`shared_dsp::chain::loudness_plan`] (drive,
//! clipper or limiter alone, by the loudness damage `D` of each) run over the spooled
//! pre-limiter signal, with what only the render decides beside it: the master's DC filter
//! ([`crate::mastering`]) and the stems' peak control ([`crate::stem_peak_plan`]).
//!
//! The plan reports where the loudness came from: the pre-limiter loudness, the drive's plain
//! gain, and the loudness the peak stage cost (drive beyond the plain gain), with `D` for each
//! candidate it tried.

use serde::Serialize;
use shared_dsp::chain::learn::{DriveSolution, TOLERANCE_LU};
use shared_dsp::chain::loudness_plan::{
    plan_peak_stage, DrivenPeakStage, PeakMeasurement, PeakPlanRequest,
};
pub use shared_dsp::chain::loudness_plan::{ClipperChoice, PeakPlan, PEAK_CONTROL_TRY_DB};
use shared_dsp::chain::settings::MasterSettings;
use shared_dsp::meter::damage::LoudnessDamage;
use shared_dsp::meter::loudness::LoudnessMeter;

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::gain_reduction::StageLog;
use crate::mastering::{integrated_through, run_spool, Runner};
use crate::plan::Delivery;
use crate::spool::{Spool, SpoolReader};
use crate::stem_peak_plan::StemPeakControlPlan;
use crate::stream::{Aligned, PROCESS_BLOCK};

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
    /// The peak stage's plan (its keys sit at the top level of the JSON).
    #[serde(flatten)]
    pub peak: PeakPlan,
    /// The master's DC filter (set by the render after the plan, see [`crate::mastering`]).
    pub master_dc_filter: MasterDcFilter,
    /// The stems' peak control, when the render tried it ([`crate::stem_peak_plan`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stem_peak_control: Option<StemPeakControlPlan>,
}

/// The limiter's and the clipper's reduction, 10 ms window by window.
pub type StageWork = Arc<Mutex<StageLog>>;

/// Where a pass logs the stage's work: its windows open at the stage's first output sample
/// (the budget search), or lie where the whole master chain has them, whose stem attribution
/// was recorded with `attributed_latency` samples of latency (the master's own pass).
#[derive(Clone, Copy, Debug)]
pub(crate) enum WorkWindows {
    FromStart,
    AsTheChain { attributed_latency: usize },
}

/// The peak stage alone, as the master chain runs it (drive, clipper when on, limiter, output
/// gain), on the pre-limiter signal: what the drive search measures. Its output is the whole
/// master chain's, bit for bit (`mastering::tests`), so the search's pass at the chosen drive
/// is the master.
pub(crate) fn peak_stage(settings: &MasterSettings, sample_rate_hz: f64, drive_db: f64) -> Runner {
    let mut stage = DrivenPeakStage::new(settings, sample_rate_hz, drive_db, PROCESS_BLOCK);
    Aligned::new(
        stage.latency_samples(),
        Box::new(move |l, r| stage.process_block(l, r)),
    )
}

/// [`peak_stage`] logging the stage's work, window by window, into the log it returns beside
/// the runner (whole once the runner has finished and been dropped: [`finished_log`]).
fn logged_peak_stage(
    settings: &MasterSettings,
    sample_rate_hz: f64,
    drive_db: f64,
    windows: WorkWindows,
) -> (Runner, StageWork) {
    let mut stage = DrivenPeakStage::new(settings, sample_rate_hz, drive_db, PROCESS_BLOCK);
    let latency = stage.latency_samples();
    // The stage's first output is the chain's sample `latency - attributed`; the log counts
    // from the chain's sample 0 (see `StageLog::new`).
    let first_logged = match windows {
        WorkWindows::FromStart => 0,
        WorkWindows::AsTheChain { attributed_latency } => {
            latency as isize - attributed_latency as isize
        }
    };
    let work: StageWork = Arc::new(Mutex::new(StageLog::new(sample_rate_hz, first_logged)));
    let log = work.clone();
    let runner: Runner = Aligned::new(
        latency,
        Box::new(move |l: &mut [f32], r: &mut [f32]| {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            log.run(l, r, |l, r| {
                stage.process_block(l, r);
                let stage = stage.stage();
                (
                    stage.limiter().block_max_gain_reduction_db(),
                    stage.clipper_block_max_reduction_db(),
                )
            });
        }),
    );
    (runner, work)
}

/// The log of a [`logged_peak_stage`] whose runner is gone.
fn finished_log(work: StageWork) -> StageLog {
    match Arc::try_unwrap(work) {
        Ok(log) => log.into_inner().unwrap_or_else(|e| e.into_inner()),
        Err(shared) => shared.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    }
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

/// The loudest master reachable with the peak stage within `budget_db` of mean reduction (the
/// larger of the limiter's and the clipper's, 10 ms windows), LUFS: the drive is bisected (eight
/// steps, to 0.1 dB) between `drive_db`, where the stage works beyond the budget, and 24 dB
/// below it. The level named is that drive's loudness less the drive solver's tolerance
/// ([`TOLERANCE_LU`]): a render asked for it lands within the tolerance of it, so at most at the
/// bisected drive's loudness, and stays within the budget. `None` when even that lower drive
/// works beyond the budget.
pub fn loudest_within_budget_lufs(
    pre: &Spool,
    settings: &MasterSettings,
    drive_db: f64,
    budget_db: f64,
    sample_rate_hz: f64,
) -> Result<Option<f64>> {
    let measure = |g: f64| -> Result<(f64, f64)> {
        let (runner, work) = logged_peak_stage(settings, sample_rate_hz, g, WorkWindows::FromStart);
        let lufs = integrated_through(pre, runner, sample_rate_hz)?;
        let log = finished_log(work);
        Ok((
            lufs,
            log.limiter.stats().mean_db.max(log.clipper.stats().mean_db),
        ))
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
    Ok(Some(low_lufs - TOLERANCE_LU))
}

/// A pass of the peak stage at one drive, kept while it may become the master: its output
/// (aligned with the sum, spooled) and the stage's work in the whole chain's windows.
pub struct PeakPass {
    pub output: Spool,
    pub work: StageLog,
}

/// The pre-limiter spool `input` through the peak stage of `settings` at `drive_db`, in one
/// pass: the output spooled in `spool_dir`, its integrated loudness, its `D` against
/// `reference` and the stage's work in the windows of a chain whose attribution was recorded
/// with `attributed_latency` samples of latency.
fn measure_pass(
    input: &Spool,
    reference: &Spool,
    (settings, drive_db): (&MasterSettings, f64),
    attributed_latency: usize,
    sample_rate_hz: f64,
    spool_dir: &Path,
) -> Result<PeakMeasurement<PeakPass>> {
    let windows = WorkWindows::AsTheChain { attributed_latency };
    let (runner, work) = logged_peak_stage(settings, sample_rate_hz, drive_db, windows);
    let mut output = Spool::create(spool_dir)?;
    let mut meter = LoudnessMeter::new(2, sample_rate_hz);
    let mut reference = reference.reader()?;
    let mut scratch = [Vec::new(), Vec::new()];
    let mut damage = LoudnessDamage::new();
    run_spool(input, runner, |l, r| {
        meter.process_block(&[l, r]);
        output.write(l, r)?;
        compare_block(&mut reference, &mut scratch, &mut damage, [l, r])
    })?;
    output.finish()?;
    Ok(PeakMeasurement {
        lufs: meter.integrated_lufs(),
        damage_db: damage.damage_db(),
        pass: PeakPass {
            output,
            work: finished_log(work),
        },
    })
}

/// A delivery's plan as chosen ([`choose`]).
pub struct Chosen {
    /// The master settings to render (the plan's clipper choice).
    pub settings: MasterSettings,
    pub solution: DriveSolution,
    pub plan: LoudnessPlan,
    /// `D` of the chosen stage, dB.
    pub damage_db: f64,
    /// The pass at the chosen drive: the master.
    pub pass: PeakPass,
}

/// Chooses the peak stage and its drive for delivery `d` over the pre-limiter spool `pre`
/// ([`plan_peak_stage`]), every pass spooled in `spool_dir` and the one at the chosen drive
/// kept as the master (its work logged in the windows of a chain whose attribution was
/// recorded with `attributed_latency` samples of latency). `D` is measured against
/// `reference`: `pre` itself, or the same stems without their peak control when the stem peak
/// plan tries it ([`crate::stem_peak_plan`]).
pub fn choose(
    d: &Delivery,
    (pre, reference): (&Spool, &Spool),
    (pre_limiter_lufs, pre_peak_dbfs): (f64, f64),
    attributed_latency: usize,
    sample_rate_hz: f64,
    spool_dir: &Path,
) -> Result<Chosen> {
    let request = PeakPlanRequest {
        settings: d.master.clone(),
        target_lufs: d.target_lufs,
        clipper_pinned: d.clipper_pinned,
        pre_limiter_lufs,
        pre_peak_dbfs,
    };
    let planned = plan_peak_stage(&request, |settings, drive_db| {
        measure_pass(
            pre,
            reference,
            (settings, drive_db),
            attributed_latency,
            sample_rate_hz,
            spool_dir,
        )
    })?;
    Ok(Chosen {
        settings: planned.settings,
        solution: planned.solution,
        plan: LoudnessPlan {
            peak: planned.plan,
            master_dc_filter: MasterDcFilter::default(),
            stem_peak_control: None,
        },
        damage_db: planned.damage_db,
        pass: planned.pass,
    })
}
