//! Mastering, streamed: the Stem Channel and Stem Master chains run offline over whole
//! programmes, exactly as the plugins run them, with memory bounded whatever the programme's
//! length.
//!
//! Per delivery ([`crate::plan::Delivery`]):
//! 1. every stem goes through its own `ChannelChain` (Stem Channel). Identical (stem, settings)
//!    pairs are rendered once and shared between deliveries; they run in parallel on every core,
//!    in lockstep blocks of [`STREAM_BLOCK`] frames, each chain keeping its state across blocks
//!    (and run in the very blocks a whole-programme run uses: [`crate::stream::Aligned`]);
//! 2. the processed stems are summed (in stem order, so the result never depends on thread
//!    timing); the sum is spooled to a temporary float file ([`crate::spool`]) and, as it is
//!    made, goes through the `MasterChain` (Stem Master) up to the limiter (limiter bypassed),
//!    whose output is spooled too and measured (BS.1770-5 integrated loudness);
//! 3. the limiter drive (`limiter.input_gain_db`) and whether the clipper runs are found by
//!    analysis ([`crate::loudness_plan`]): the peak stage alone (drive, clipper, limiter,
//!    output gain, as the chain runs them) is streamed from the pre-limiter spool and measured
//!    by the drive solver the plugin's Learn uses ([`shared_dsp::chain::learn::solve_drive`])
//!    until it lands within [`shared_dsp::chain::learn::TOLERANCE_LU`] of the target. Every
//!    pass is spooled, and the one at the chosen drive is the master: the peak stage run alone
//!    on the pre-limiter signal gives the same bits as the whole `MasterChain` over the sum with
//!    that drive (the limiter's ceiling set to the delivery's, every EQ mode's latency removed),
//!    which is what the Stem Master plugin plays (tested), so no pass is rendered twice. It is
//!    handed block by block to the caller ([`MasterStream`]), which writes the delivery files.
//!    Without the stem peak plan, each delivery's master is written as soon as its own plan is
//!    made.
//!
//! As the stems are summed, each delivery records which stem makes the sum's peaks and how loud
//! each stem is against the sum ([`crate::stem_attribution`]); the limiter's gain reduction per
//! window, known once the master runs, then shares out among the stems. The same pass keeps each
//! processed stem's loudness history and measures the mix, the stems summed as read, which every
//! master's report compares it with ([`crate::mix_comparison`]).
//!
//! Memory: per chain a few blocks and its loudness history (three numbers per 100 ms); per
//! delivery two spool writers and the attribution's record (4 (1 + stems) bytes per 10 ms); for
//! the mix, its stems as read for a chain's latency, its loudness history and two spectrum
//! accumulators. Disk: per delivery, two stereo float copies of the programme, plus the best
//! and the current pass of each drive search (two searches at once when the clipper is tried:
//! at most four more copies; 1.4 GB each for an hour at 48 kHz), removed when the render
//! ends, fails or is interrupted.
//!
//! The search's split of the chain before the limiter relies on a bypassed section being a pure
//! delay of its latency (which the chain guarantees); each search step then costs only the
//! limiter and a loudness measurement, not the glue, EQ and width again.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::master::MasterChain;
use shared_dsp::chain::settings::{ChannelSettings, MasterSettings};
use shared_dsp::dither::DitherSettings;
use shared_dsp::meter::loudness::LoudnessMeter;

use crate::analysis::LoudnessHistory;
use crate::audio::warn_non_finite;
use crate::error::{Error, Result};
use crate::figures::LoudnessTrack;
use crate::gain_reduction::{GainReductionStats, StageLog};
use crate::loudness_plan::{
    self, Chosen, LoudnessPlan, MasterDcFilter, MasterDcFilterChoice, PeakPass,
};
use crate::mix_comparison::{MixMeasurement, MixMeter};
use crate::par;
use crate::plan::Delivery;
use crate::progress::{Progress, Timing};
use crate::spool::{Spool, SpoolReader};
use crate::stem_attribution::{AttributionRecording, RecordedAttribution, StemFigures};
use crate::stem_dc::needs_dc_filter;
use crate::stem_peak_plan::{self, StemPeakLevel};
use crate::stream::{Aligned, StemBlocks, StemSource, PROCESS_BLOCK};
use shared_dsp::chain::learn::DriveSolution;

/// Frames the stems advance together per step, and the block size of every streamed pass.
pub const STREAM_BLOCK: usize = 1 << 16;

type Process = Box<dyn FnMut(&mut [f32], &mut [f32]) + Send>;

/// A chain run over a stream, its output lined up with its input.
pub(crate) type Runner = Aligned<Process>;

/// One stem through a Stem Channel chain, as a stream processor.
fn channel_runner(sample_rate_hz: f64, settings: &ChannelSettings) -> Runner {
    let mut chain = ChannelChain::new(PROCESS_BLOCK, sample_rate_hz);
    chain.set_settings(settings);
    chain.reset();
    let latency = chain.latency_samples();
    Aligned::new(latency, Box::new(move |l, r| chain.process_block(l, r)))
}

/// A Stem Master chain with `settings` (every design finished before the first sample, as the
/// plugin has them after activation; meters off), as a stream processor.
fn master_runner(settings: &MasterSettings, sample_rate_hz: f64) -> Runner {
    let mut chain = master_chain(settings, sample_rate_hz);
    let latency = chain.latency_samples();
    Aligned::new(latency, Box::new(move |l, r| chain.process_block(l, r)))
}

/// A Stem Master chain with `settings`, every design finished, meters off.
fn master_chain(settings: &MasterSettings, sample_rate_hz: f64) -> MasterChain {
    let mut chain = MasterChain::new(PROCESS_BLOCK, sample_rate_hz);
    chain.set_settings(settings);
    chain.finish_design_now();
    chain.reset();
    chain.set_meters_paused(true);
    chain
}

/// The master chain up to (not including) the limiter.
fn pre_limiter(settings: &MasterSettings, sample_rate_hz: f64) -> Runner {
    let mut s = settings.clone();
    s.limiter_enabled = false;
    s.output_gain_db = 0.0;
    s.dither = DitherSettings::default();
    master_runner(&s, sample_rate_hz)
}

/// The whole master chain with the limiter drive `drive_db`, logging its peak stage's work
/// into `work` (the chain's output does not depend on how its input is split, so the windows
/// cost nothing in bits): what the Stem Master plugin plays, which the master (the plan's pass
/// of the peak stage alone) is tested against.
///
/// The windows line up with the stem attribution's, recorded for a chain of
/// `attributed_latency` samples: the pre-limiter chain with the preset's peak stage. When the
/// loudness plan turned the clipper on, the chain is later by the clipper's latency, so its
/// first windows start that many samples late (the chain's own start-up, silent at first).
#[cfg(test)]
fn full_master(
    settings: &MasterSettings,
    sample_rate_hz: f64,
    drive_db: f64,
    attributed_latency: usize,
    work: Arc<Mutex<StageLog>>,
) -> Runner {
    let mut s = settings.clone();
    s.limiter_enabled = true;
    s.limiter.input_gain_db = drive_db as f32;
    s.dither = DitherSettings::default();
    let mut chain = master_chain(&s, sample_rate_hz);
    let latency = chain.latency_samples();
    *lock(&work) = StageLog::new(
        sample_rate_hz,
        latency as isize - attributed_latency as isize,
    );
    Aligned::new(
        latency,
        Box::new(move |l, r| {
            lock(&work).run(l, r, |l, r| {
                chain.process_block(l, r);
                (
                    chain.limiter_block_max_gain_reduction_db(),
                    chain.clipper_block_max_reduction_db(),
                )
            });
        }),
    )
}

/// Streams `spool` through `runner`, handing each block of output to `sink`.
pub(crate) fn run_spool(
    spool: &Spool,
    mut runner: Runner,
    mut sink: impl FnMut(&[f32], &[f32]) -> Result<()>,
) -> Result<()> {
    let mut reader = spool.reader()?;
    let mut input = [Vec::new(), Vec::new()];
    let mut output = [Vec::new(), Vec::new()];
    loop {
        let n = reader.read_block(&mut input, STREAM_BLOCK)?;
        if n == 0 {
            runner.finish();
        } else {
            runner.push(&input[0], &input[1]);
        }
        output[0].clear();
        output[1].clear();
        runner.take(&mut output, usize::MAX);
        if !output[0].is_empty() {
            sink(&output[0], &output[1])?;
        }
        if n == 0 {
            return Ok(());
        }
    }
}

/// The integrated loudness of `spool` through `runner`.
pub(crate) fn integrated_through(
    spool: &Spool,
    runner: Runner,
    sample_rate_hz: f64,
) -> Result<f64> {
    let mut meter = LoudnessMeter::new(2, sample_rate_hz);
    run_spool(spool, runner, |l, r| {
        meter.process_block(&[l, r]);
        Ok(())
    })?;
    Ok(meter.integrated_lufs())
}

/// A finished master: the plan's pass at the chosen drive (the whole master chain's output,
/// bit for bit), streamed from its spool.
pub struct MasterStream<'a> {
    reader: SpoolReader<'a>,
    /// `D` of the master, measured as its pass ran.
    damage_db: f64,
    /// Frames of the master (the longest stem's).
    pub frames: usize,
    /// The limiter drive the search settled on, dB.
    pub drive_db: f64,
    /// Limiter passes the search took.
    pub passes: usize,
    /// Where the loudness came from ([`crate::loudness_plan`]).
    pub plan: LoudnessPlan,
    /// The peak stage's work over the whole master.
    work: &'a StageLog,
    /// The stems' sum the master was made from (the test plays it through the whole chain).
    #[cfg(test)]
    sum: &'a Spool,
    attribution: &'a RecordedAttribution,
    /// Each processed stem's loudness history, in stem order (the stems of this master's sum).
    stem_loudness: &'a [Arc<LoudnessHistory>],
    /// The mix (the stems summed as read).
    mix: &'a MixMeasurement,
    /// The pre-limiter signal the master's drive was searched on, and its settings.
    searched: &'a Spool,
    settings: MasterSettings,
    sample_rate_hz: f64,
}

impl MasterStream<'_> {
    /// Replaces `out` with the next frames of the master (float, at the stems' rate); returns
    /// how many, 0 at the end.
    pub fn read_block(&mut self, out: &mut [Vec<f32>; 2]) -> Result<usize> {
        self.reader.read_block(out, STREAM_BLOCK)
    }

    /// The loudness-damage figure `D` of the whole master against the same stems with every
    /// loudness stage idle (the pre-limiter signal the plan searched, which the master's linear
    /// output gain does not change: `D` ignores gains), dB
    /// ([`shared_dsp::meter::damage::LoudnessDamage`]), measured as
    /// the plan's pass at the chosen drive ran.
    pub fn loudness_damage_db(&self) -> f64 {
        self.damage_db
    }

    /// The limiter's work over the whole master.
    pub fn limiter_gain_reduction(&self) -> GainReductionStats {
        self.work.limiter.stats()
    }

    /// The clipper's peak reduction over the whole master (`None` with the clipper off).
    pub fn clipper_peak_reduction(&self) -> Option<GainReductionStats> {
        self.plan
            .peak
            .clipper_enabled
            .then(|| self.work.clipper.stats())
    }

    /// The limiter's and (when it ran) the clipper's reduction per 10 ms window over the whole
    /// master, dB, and the window length, s: the report's plot of the peak stage's work.
    pub fn peak_stage_log(&self) -> (Vec<f32>, Option<Vec<f32>>, f64) {
        let window_s = shared_dsp::meter::attribution::window_samples(self.sample_rate_hz) as f64
            / self.sample_rate_hz;
        let clipper = self
            .plan
            .peak
            .clipper_enabled
            .then(|| self.work.clipper.window_log_db().to_vec());
        (
            self.work.limiter.window_log_db().to_vec(),
            clipper,
            window_s,
        )
    }

    /// The loudest this master could be with its peak stage within `budget_db` of mean
    /// reduction, LUFS ([`loudness_plan::loudest_within_budget_lufs`]); several passes of the
    /// peak stage, so only worth asking when the master is over its budget.
    pub fn loudest_within_budget_lufs(&self, budget_db: f64) -> Result<Option<f64>> {
        loudness_plan::loudest_within_budget_lufs(
            self.searched,
            &self.settings,
            self.drive_db,
            budget_db,
            self.sample_rate_hz,
        )
    }

    /// Each stem's loudness over time through its channel chain (as summed into this master),
    /// in stem order.
    pub fn stem_loudness(&self) -> &[Arc<LoudnessHistory>] {
        self.stem_loudness
    }

    /// The mix the master is compared with: the stems summed as read.
    pub fn mix(&self) -> &MixMeasurement {
        self.mix
    }

    /// Each stem's attribution figures, in stem order (the limiter's share over the whole
    /// master).
    pub fn stem_attribution(&self) -> Vec<StemFigures> {
        StemFigures::of(self.attribution, self.work.limiter.window_log_db())
    }
}

/// One delivery's spools: the summed stems and the chain's output up to the limiter.
struct DeliverySpools {
    sum: Spool,
    pre: Spool,
    pre_runner: Runner,
    pre_meter: LoudnessMeter,
    pre_dc: DcMeter,
    attribution: AttributionRecording,
}

impl DeliverySpools {
    fn pre_output(&mut self, out: &mut [Vec<f32>; 2]) -> Result<()> {
        out[0].clear();
        out[1].clear();
        self.pre_runner.take(out, usize::MAX);
        if !out[0].is_empty() {
            self.pre_meter.process_block(&[&out[0], &out[1]]);
            self.pre_dc.process(&out[0], &out[1]);
            self.pre.write(&out[0], &out[1])?;
        }
        Ok(())
    }
}

/// A lock that a panicked worker left poisoned still guards consistent data here (each worker
/// touches its own item), and the panic itself is reported when the scope joins.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Each channel's mean (its DC offset) and the sample peak, accumulated block by block.
#[derive(Default)]
struct DcMeter {
    sums: [f64; 2],
    frames: usize,
    peak: f32,
}

impl DcMeter {
    fn process(&mut self, left: &[f32], right: &[f32]) {
        for (sum, x) in self.sums.iter_mut().zip([left, right]) {
            *sum += x.iter().map(|&v| v as f64).sum::<f64>();
        }
        self.peak = left
            .iter()
            .chain(right)
            .fold(self.peak, |p, &v| p.max(v.abs()));
        self.frames += left.len();
    }

    /// The sample peak, dBFS.
    fn peak_dbfs(&self) -> f64 {
        20.0 * (self.peak as f64).log10()
    }

    /// The larger channel's DC offset, dBFS (-inf for none).
    fn dbfs(&self) -> f64 {
        let largest = self
            .sums
            .iter()
            .map(|s| (s / self.frames.max(1) as f64).abs())
            .fold(0.0f64, f64::max);
        20.0 * largest.log10()
    }
}

/// A delivery's finished spools and the pre-limiter loudness.
struct Spooled {
    sum: Spool,
    pre: Spool,
    pre_lufs: f64,
    /// The pre-limiter signal's DC offset (larger channel), dBFS.
    pre_dc_dbfs: f64,
    /// The pre-limiter signal's sample peak, dBFS.
    pre_peak_dbfs: f64,
    /// Each processed stem's sample peak, dBFS, in stem order.
    stem_peaks_dbfs: Vec<f64>,
    /// Each processed stem's loudness history, in stem order (shared between deliveries that
    /// render a stem alike).
    stem_loudness: Vec<Arc<LoudnessHistory>>,
    /// The pre-limiter signal again with the master's DC filter on, when the render turned it
    /// on ([`plan_master`]).
    dc_filtered: OnceLock<PreLimiter>,
    attribution: RecordedAttribution,
    sample_rate_hz: f64,
}

impl Spooled {
    /// The pre-limiter signal the loudness plan searched: the DC-filtered one when the plan
    /// turned the master's DC filter on.
    fn searched_pre(&self) -> &Spool {
        self.dc_filtered.get().map_or(&self.pre, |p| &p.spool)
    }
}

/// A pre-limiter spool and its integrated loudness.
struct PreLimiter {
    spool: Spool,
    lufs: f64,
}

/// The sum's spool through the master chain up to the limiter (`settings`), spooled anew.
fn respool_pre_limiter(
    sum: &Spool,
    settings: &MasterSettings,
    sample_rate_hz: f64,
    spool_dir: &Path,
) -> Result<PreLimiter> {
    let mut spool = Spool::create(spool_dir)?;
    let mut meter = LoudnessMeter::new(2, sample_rate_hz);
    run_spool(sum, pre_limiter(settings, sample_rate_hz), |l, r| {
        meter.process_block(&[l, r]);
        spool.write(l, r)
    })?;
    spool.finish()?;
    Ok(PreLimiter {
        spool,
        lufs: meter.integrated_lufs(),
    })
}

/// One (stem, Channel settings) pair being rendered.
struct Job {
    blocks: StemBlocks,
    runner: Runner,
    input: [Vec<f32>; 2],
    /// The output of the current step.
    out: [Vec<f32>; 2],
    /// The stem as read, lined up with `out`, for the job that gives its stem's share of the
    /// mix (one job per stem, in the pass that measures the mix).
    read: Option<ReadAlongside>,
    /// The processed stem's loudness and its history (for its loudness against the mix and
    /// the report's plot).
    loudness: LoudnessTrack,
    /// The processed stem's sample peak.
    peak: f32,
}

/// A stem's samples as read, held until the chain's output of the same samples comes out
/// (a chain's latency plus a read block at most).
#[derive(Default)]
struct ReadAlongside {
    queue: [VecDeque<f32>; 2],
    /// The samples of the current step.
    out: [Vec<f32>; 2],
}

impl ReadAlongside {
    fn push(&mut self, input: &[Vec<f32>; 2]) {
        for (q, x) in self.queue.iter_mut().zip(input) {
            q.extend(x);
        }
    }

    /// The next `n` samples (silence once the stem has ended, as its chain's output is cut).
    fn step(&mut self, n: usize) {
        for (o, q) in self.out.iter_mut().zip(&mut self.queue) {
            o.clear();
            o.extend(q.drain(..n.min(q.len())));
            o.resize(n, 0.0);
        }
    }
}

impl Job {
    /// The next `n` frames of this stem through its chain (silence once the stem has ended:
    /// shorter stems are padded, their chain's tail cut at their own length).
    fn step(&mut self, n: usize) -> Result<()> {
        self.out[0].clear();
        self.out[1].clear();
        while self.runner.available() < n && !self.runner.is_finished() {
            if self.blocks.read_block(&mut self.input, STREAM_BLOCK)? == 0 {
                self.runner.finish();
            } else {
                self.runner.push(&self.input[0], &self.input[1]);
                if let Some(read) = &mut self.read {
                    read.push(&self.input);
                }
            }
        }
        self.runner.take(&mut self.out, n);
        for o in &mut self.out {
            o.resize(n, 0.0);
        }
        if let Some(read) = &mut self.read {
            read.step(n);
        }
        self.loudness.process(&[&self.out[0], &self.out[1]]);
        self.peak = self.out[0]
            .iter()
            .chain(&self.out[1])
            .fold(self.peak, |p, &v| p.max(v.abs()));
        Ok(())
    }
}

/// Renders every delivery from `stems` (all at `sample_rate_hz`, stereo or mono, any lengths:
/// shorter ones are padded with silence to `frames`, the longest's), spooling to `spool_dir`,
/// and hands each master to `finish` (on every core, one delivery per call).
///
/// Each delivery's loudness plan ([`crate::loudness_plan`]) is chosen on its spools; with
/// `stem_peak_plan`, where the master's peak stage works, a second pass renders the stems that
/// make the peaks through their peak control ([`crate::stem_peak_plan`]) and the master keeps
/// whichever reaches the target cleaner.
#[allow(clippy::too_many_arguments)]
pub fn render_masters<R: Send>(
    stems: &[StemSource],
    frames: usize,
    sample_rate_hz: u32,
    deliveries: &[Delivery],
    spool_dir: &Path,
    progress: &Progress,
    stem_peak_plan: bool,
    finish: impl Fn(&Delivery, MasterStream) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if stems.is_empty() {
        return Err(Error::usage("no stems given"));
    }
    let sr = sample_rate_hz as f64;
    // `D` counts from the stems with every loudness stage idle: a delivery whose preset turns a
    // stem's peak control on is measured against a twin without it, spooled in the same pass.
    let mut spooled_deliveries = deliveries.to_vec();
    let mut twin_of = vec![None; deliveries.len()];
    for (di, d) in deliveries.iter().enumerate() {
        if d.stem_settings.iter().any(|s| s.peak_control_enabled) {
            let mut twin = d.clone();
            for s in &mut twin.stem_settings {
                s.peak_control_enabled = false;
            }
            twin_of[di] = Some(spooled_deliveries.len());
            spooled_deliveries.push(twin);
        }
    }
    let mut mix_meter = MixMeter::new(frames, sample_rate_hz);
    let spools = spool_deliveries(
        stems,
        frames,
        sr,
        &spooled_deliveries,
        spool_dir,
        progress,
        "stems",
        Some(&mut mix_meter),
    )?;
    let mix = mix_meter.finish();
    let reference_of: Vec<&Spooled> = twin_of
        .iter()
        .enumerate()
        .map(|(di, twin)| &spools[twin.unwrap_or(di)])
        .collect();
    let mut timing = Timing::start();
    let items: Vec<(&Delivery, &Spooled, &Spooled)> = deliveries
        .iter()
        .zip(&spools)
        .zip(&reference_of)
        .map(|((d, s), r)| (d, s, *r))
        .collect();
    let write = |d: &Delivery, planned: &Planned, sum: &Spooled| {
        master(planned, sum, frames, &mix).and_then(|m| finish(d, m))
    };
    if !stem_peak_plan {
        // Each delivery's master is written as soon as its own plan is made: a quiet
        // delivery's files are out while a loud one still searches its drive.
        let bar = progress.bar(deliveries.len() as u64, "masters");
        let masters = par::map(&items, |(d, s, r)| {
            let planned = plan_master(d, s, r, sr, spool_dir)?;
            let written = write(d, &planned, s);
            bar.inc(1);
            written
        });
        bar.finish_and_clear();
        timing.mark("loudness plans and masters");
        return masters.into_iter().collect();
    }
    let mut planned = par::map(&items, |(d, s, r)| plan_master(d, s, r, sr, spool_dir))
        .into_iter()
        .collect::<Result<Vec<Planned>>>()?;
    timing.mark("loudness plans");
    // Stem peak control: the candidates of every delivery in one more pass over the stems.
    let candidates: Vec<(usize, Delivery, Vec<StemPeakLevel>)> = planned
        .iter()
        .zip(&spools)
        .enumerate()
        .filter(|_| stem_peak_plan)
        .filter_map(|(di, (p, s))| {
            let shares = s.attribution.peak_shares_percent()?;
            stem_peak_plan::candidate(
                &p.delivery,
                &p.plan,
                s.pre_peak_dbfs,
                &s.stem_peaks_dbfs,
                &shares,
            )
            .map(|(d, levels)| (di, d, levels))
        })
        .collect();
    let candidate_spools = if candidates.is_empty() {
        Vec::new()
    } else {
        let candidate_deliveries: Vec<Delivery> =
            candidates.iter().map(|(_, d, _)| d.clone()).collect();
        spool_deliveries(
            stems,
            frames,
            sr,
            &candidate_deliveries,
            spool_dir,
            progress,
            "stem peak control",
            None,
        )?
    };
    // The sum each master streams from: its own (the twins after them are references only).
    let mut sum_of: Vec<&Spooled> = spools[..deliveries.len()].iter().collect();
    let tries: Vec<(usize, &Delivery, &Spooled)> = candidates
        .iter()
        .zip(&candidate_spools)
        .map(|((di, d, _), s)| (*di, d, s))
        .collect();
    let tried = par::map(&tries, |(di, d, s)| {
        try_stem_peak_control(d, s, reference_of[*di], sr, spool_dir)
    });
    for (((di, _, levels), (_, _, s)), tried) in candidates.iter().zip(&tries).zip(tried) {
        let candidate = tried?;
        let report = stem_peak_plan::report(levels, planned[*di].damage_db, candidate.damage_db);
        planned[*di].plan.stem_peak_control = Some(report.clone());
        if report.kept {
            let mut candidate = candidate;
            candidate.plan.master_dc_filter = planned[*di].plan.master_dc_filter;
            candidate.plan.stem_peak_control = Some(report);
            planned[*di] = candidate;
            sum_of[*di] = s;
        }
    }
    timing.mark("stem peak control");
    let items: Vec<(&Delivery, &Planned, &Spooled)> = deliveries
        .iter()
        .zip(&planned)
        .zip(&sum_of)
        .map(|((d, p), sum)| (d, p, *sum))
        .collect();
    let bar = progress.bar(deliveries.len() as u64, "masters");
    let masters = par::map(&items, |(d, planned, sum)| {
        let r = write(d, planned, sum);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    masters.into_iter().collect()
}

/// A delivery's loudness plan, chosen on its spools, before its master is streamed.
struct Planned {
    /// The delivery as rendered: the master's DC filter on when the plan turned it on, the
    /// stems' peak control on when the stem plan kept it.
    delivery: Delivery,
    /// The master settings to render (the plan's clipper choice).
    settings: MasterSettings,
    solution: DriveSolution,
    plan: LoudnessPlan,
    /// `D` of the peak stage as planned, against the stems without peak control, dB.
    damage_db: f64,
    /// The pass of the peak stage at the planned drive: the master.
    pass: PeakPass,
}

impl Planned {
    fn new(delivery: Delivery, chosen: Chosen) -> Self {
        Self {
            delivery,
            settings: chosen.settings,
            solution: chosen.solution,
            plan: chosen.plan,
            damage_db: chosen.damage_db,
            pass: chosen.pass,
        }
    }
}

/// The sum of `stems` (left and right, `n` frames each), in stem order, so it never depends on
/// thread timing.
fn sum_stems(stems: &[[&[f32]; 2]], n: usize) -> [Vec<f32>; 2] {
    let mut sum = [vec![0.0f32; n], vec![0.0f32; n]];
    for stem in stems {
        for (sum_channel, out_channel) in sum.iter_mut().zip(stem) {
            for (acc, &x) in sum_channel.iter_mut().zip(*out_channel) {
                *acc += x;
            }
        }
    }
    sum
}

/// Streams every stem through its channel chains (each unique (stem, settings) pair once), sums
/// them per delivery and spools the sum and the pre-limiter signal (see the module notes); with
/// `mix`, also sums the stems as read and measures that mix.
#[allow(clippy::too_many_arguments)]
fn spool_deliveries(
    stems: &[StemSource],
    frames: usize,
    sr: f64,
    deliveries: &[Delivery],
    spool_dir: &Path,
    progress: &Progress,
    label: &'static str,
    mix: Option<&mut MixMeter>,
) -> Result<Vec<Spooled>> {
    // Unique (stem, settings) jobs, in a fixed order.
    let mut jobs: Vec<(usize, ChannelSettings)> = Vec::new();
    let mut job_of = vec![vec![0usize; stems.len()]; deliveries.len()];
    for (di, d) in deliveries.iter().enumerate() {
        for (si, s) in d.stem_settings.iter().enumerate() {
            let idx = jobs
                .iter()
                .position(|(i, js)| *i == si && js == s)
                .unwrap_or_else(|| {
                    jobs.push((si, s.clone()));
                    jobs.len() - 1
                });
            job_of[di][si] = idx;
        }
    }
    let mut timing = Timing::start();
    let running: Vec<Mutex<Job>> = jobs
        .iter()
        .enumerate()
        .map(|(j, (si, settings))| {
            // A stem's first job also hands on the stem as read, for the mix.
            let gives_mix = mix.is_some() && jobs.iter().position(|(s, _)| s == si) == Some(j);
            Ok(Mutex::new(Job {
                blocks: stems[*si].open()?,
                runner: channel_runner(sr, settings),
                input: [Vec::new(), Vec::new()],
                out: [Vec::new(), Vec::new()],
                read: gives_mix.then(ReadAlongside::default),
                loudness: LoudnessTrack::stereo(sr),
                peak: 0.0,
            }))
        })
        .collect::<Result<_>>()?;
    let mix = mix.map(Mutex::new);
    let spools: Vec<Mutex<DeliverySpools>> = deliveries
        .iter()
        .map(|d| {
            let pre_runner = pre_limiter(&d.master, sr);
            // The master chain's latency is its pre-limiter part's (a bypassed section keeps its
            // latency), so the attribution's windows line up with the limiter's.
            let attribution =
                AttributionRecording::new(stems.len(), sr, pre_runner.latency(), frames);
            Ok(Mutex::new(DeliverySpools {
                sum: Spool::create(spool_dir)?,
                pre: Spool::create(spool_dir)?,
                pre_runner,
                pre_meter: LoudnessMeter::new(2, sr),
                pre_dc: DcMeter::default(),
                attribution,
            }))
        })
        .collect::<Result<_>>()?;

    let bar = progress.bar(frames as u64, label);
    let mut at = 0;
    while at < frames {
        let n = STREAM_BLOCK.min(frames - at);
        par::map(&running, |j| lock(j).step(n))
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        // Every delivery's sum, and the mix (the last task) when it is measured.
        let tasks: Vec<usize> = (0..deliveries.len() + usize::from(mix.is_some())).collect();
        // The jobs' outputs stay put until the next step: every delivery reads them at once.
        let jobs: Vec<MutexGuard<Job>> = running.iter().map(lock).collect();
        let outs: Vec<&[Vec<f32>; 2]> = jobs.iter().map(|j| &j.out).collect();
        // One job per stem, in stem order (a stem's first job comes before any later stem's).
        let read: Vec<[&[f32]; 2]> = jobs
            .iter()
            .filter_map(|j| j.read.as_ref())
            .map(|r| [&r.out[0][..], &r.out[1][..]])
            .collect();
        par::map(&tasks, |&di| {
            if let (Some(mix), true) = (&mix, di == deliveries.len()) {
                let sum = sum_stems(&read, n);
                lock(mix).process(&sum[0], &sum[1]);
                return Ok(());
            }
            let stems: Vec<[&[f32]; 2]> = job_of[di]
                .iter()
                .map(|&j| [&outs[j][0][..], &outs[j][1][..]])
                .collect();
            let mut sum = sum_stems(&stems, n);
            let mut d = lock(&spools[di]);
            d.attribution.record([&sum[0], &sum[1]], &stems);
            d.sum.write(&sum[0], &sum[1])?;
            d.pre_runner.push(&sum[0], &sum[1]);
            d.pre_output(&mut sum)
        })
        .into_iter()
        .collect::<Result<Vec<()>>>()?;
        drop(jobs);
        at += n;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    // Each stem's NaN/Inf count, once (from its first job).
    for (si, stem) in stems.iter().enumerate() {
        if let (Some(j), StemSource::File(p)) = (jobs.iter().position(|(s, _)| *s == si), stem) {
            warn_non_finite(p, lock(&running[j]).blocks.non_finite_samples());
        }
    }
    let mut job_lufs = Vec::new();
    let mut job_peaks = Vec::new();
    let mut job_loudness = Vec::new();
    for job in running {
        let job = job.into_inner().unwrap_or_else(|e| e.into_inner());
        let (meter, history) = job.loudness.finish();
        job_lufs.push(meter.integrated_lufs());
        job_peaks.push(20.0 * (job.peak as f64).log10());
        job_loudness.push(Arc::new(history));
    }
    let spools: Vec<Spooled> = spools
        .into_iter()
        .zip(&job_of)
        .map(|(m, job_of_stem)| {
            let mut d = m.into_inner().unwrap_or_else(|e| e.into_inner());
            d.pre_runner.finish();
            let mut rest = [Vec::new(), Vec::new()];
            d.pre_output(&mut rest)?;
            d.sum.finish()?;
            d.pre.finish()?;
            Ok(Spooled {
                pre_lufs: d.pre_meter.integrated_lufs(),
                pre_dc_dbfs: d.pre_dc.dbfs(),
                pre_peak_dbfs: d.pre_dc.peak_dbfs(),
                stem_peaks_dbfs: job_of_stem.iter().map(|&j| job_peaks[j]).collect(),
                stem_loudness: job_of_stem
                    .iter()
                    .map(|&j| job_loudness[j].clone())
                    .collect(),
                dc_filtered: OnceLock::new(),
                sample_rate_hz: sr,
                sum: d.sum,
                pre: d.pre,
                attribution: d
                    .attribution
                    .finish(job_of_stem.iter().map(|&j| job_lufs[j]).collect()),
            })
        })
        .collect::<Result<_>>()?;
    timing.mark(&format!(
        "{} channel-chain renders, sums and pre-limiter passes ({label})",
        jobs.len()
    ));
    Ok(spools)
}

/// The loudness plan of one delivery on its spools ([`loudness_plan::choose`]), with the
/// master's DC filter turned on where the drive would lift the pre-limiter signal's DC above
/// [`crate::stem_dc::DC_FILTER_ABOVE_DBFS`] and the preset leaves it unset (issue 16, "DC and
/// subsonics"): the pre-limiter signal is then spooled again through the filter and the plan
/// searched again. Stems each just under the stems' threshold can add up, and a club drive of
/// 15-20 dB lifts the sum's DC with the music: three songs rendered from tracker modules
/// reached -44 to -55 dBFS of DC in the master with only the stems' rule.
///
/// `reference` holds the same stems with every loudness stage idle (`spools` itself, or the
/// twin without the stems' peak control), which `D` is measured against.
fn plan_master(
    d: &Delivery,
    spools: &Spooled,
    reference: &Spooled,
    sample_rate_hz: f64,
    spool_dir: &Path,
) -> Result<Planned> {
    if !spools.pre_lufs.is_finite() {
        return Err(Error::usage(format!(
            "{}: the stems are silent (below the -70 LUFS gate) after processing: nothing to master",
            d.name
        )));
    }
    let attributed_latency = spools.attribution.latency_samples;
    let mut chosen = loudness_plan::choose(
        d,
        (&spools.pre, &reference.pre),
        (spools.pre_lufs, spools.pre_peak_dbfs),
        attributed_latency,
        sample_rate_hz,
        spool_dir,
    )?;
    let master_dc_dbfs =
        spools.pre_dc_dbfs + chosen.solution.drive_db + d.master.output_gain_db as f64;
    let mut delivery = d.clone();
    let dc_choice = if d.master_dc_filter_pinned {
        MasterDcFilterChoice::Pinned
    } else if d.master.dc_filter_enabled || !needs_dc_filter(master_dc_dbfs) {
        MasterDcFilterChoice::NotNeeded
    } else {
        delivery.master.dc_filter_enabled = true;
        let respooled =
            respool_pre_limiter(&spools.sum, &delivery.master, sample_rate_hz, spool_dir)?;
        let respooled = spools.dc_filtered.get_or_init(|| respooled);
        if !std::ptr::eq(spools, reference) {
            let twin =
                respool_pre_limiter(&reference.sum, &delivery.master, sample_rate_hz, spool_dir)?;
            reference.dc_filtered.get_or_init(|| twin);
        }
        // The first plan's passes go: only this one's master is kept.
        drop(chosen);
        chosen = loudness_plan::choose(
            &delivery,
            (&respooled.spool, reference.searched_pre()),
            (respooled.lufs, spools.pre_peak_dbfs),
            attributed_latency,
            sample_rate_hz,
            spool_dir,
        )?;
        MasterDcFilterChoice::ForDc
    };
    chosen.plan.master_dc_filter = MasterDcFilter {
        enabled: chosen.settings.dc_filter_enabled,
        choice: dc_choice,
        pre_limiter_dc_dbfs: spools.pre_dc_dbfs,
    };
    Ok(Planned::new(delivery, chosen))
}

/// The stem peak-control candidate `d` (spooled in `s`) planned, its `D` measured against the
/// stems without peak control (`first`'s pre-limiter signal, as its plan searched it).
fn try_stem_peak_control(
    d: &Delivery,
    s: &Spooled,
    first: &Spooled,
    sample_rate_hz: f64,
    spool_dir: &Path,
) -> Result<Planned> {
    let chosen = loudness_plan::choose(
        d,
        (&s.pre, first.searched_pre()),
        (s.pre_lufs, s.pre_peak_dbfs),
        s.attribution.latency_samples,
        sample_rate_hz,
        spool_dir,
    )?;
    Ok(Planned::new(d.clone(), chosen))
}

/// One delivery's master: the plan's pass at the planned drive (the whole chain's output),
/// with its `D` as the pass measured it (against the stems without peak control, through the
/// master chain as planned up to the limiter), made from the stems summed in `sum`.
fn master<'a>(
    planned: &'a Planned,
    sum: &'a Spooled,
    frames: usize,
    mix: &'a MixMeasurement,
) -> Result<MasterStream<'a>> {
    Ok(MasterStream {
        reader: planned.pass.output.reader()?,
        damage_db: planned.damage_db,
        work: &planned.pass.work,
        #[cfg(test)]
        sum: &sum.sum,
        plan: planned.plan.clone(),
        attribution: &sum.attribution,
        stem_loudness: &sum.stem_loudness,
        mix,
        searched: sum.searched_pre(),
        settings: planned.settings.clone(),
        sample_rate_hz: sum.sample_rate_hz,
        frames,
        drive_db: planned.solution.drive_db,
        passes: planned.solution.passes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Audio;
    use crate::demo::{stems_and_mix, DEMO_PRESET, DEMO_SAMPLE_RATE_HZ};
    use crate::preset::Preset;
    use crate::role::Role;

    /// The master a render writes is the plan's pass of the peak stage alone over the
    /// pre-limiter signal; the Stem Master plugin plays the whole chain over the stems' sum.
    /// They must be the same bits, and the stage's work the same window by window, with the
    /// limiter alone (streaming, vinyl) and with the clipper the club plan turns on.
    #[test]
    fn the_master_is_the_whole_chain_bit_for_bit() {
        let (stems, _) = stems_and_mix(12.0);
        let sources: Vec<StemSource> = stems
            .into_iter()
            .map(|(name, ch)| {
                let audio = Audio::new(name, DEMO_SAMPLE_RATE_HZ, ch.to_vec());
                StemSource::Memory(Arc::new(audio))
            })
            .collect();
        let paths: Vec<(std::path::PathBuf, Role)> = sources
            .iter()
            .map(|s| match s {
                StemSource::Memory(a) => (a.path.clone(), Role::from_path(&a.path)),
                StemSource::File(p) => (p.clone(), Role::from_path(p)),
            })
            .collect();
        let toml: toml::Value = toml::from_str(DEMO_PRESET).unwrap();
        let preset = Preset::from_value(serde_json::to_value(toml).unwrap()).unwrap();
        let names: Vec<String> = ["streaming", "club", "vinyl"].map(String::from).to_vec();
        let deliveries = crate::plan::plan(&preset, &paths, &names).unwrap();
        let frames = 12 * DEMO_SAMPLE_RATE_HZ as usize;
        let dir = tempfile::tempdir().unwrap();
        let sr = DEMO_SAMPLE_RATE_HZ as f64;
        let clipped = render_masters(
            &sources,
            frames,
            DEMO_SAMPLE_RATE_HZ,
            &deliveries,
            dir.path(),
            &Progress::new(false),
            false,
            |d, mut m| {
                let mut written = [Vec::new(), Vec::new()];
                let mut block = [Vec::new(), Vec::new()];
                while m.read_block(&mut block)? > 0 {
                    written[0].extend_from_slice(&block[0]);
                    written[1].extend_from_slice(&block[1]);
                }
                let work = Arc::new(Mutex::new(StageLog::new(sr, 0)));
                let chain = full_master(
                    &m.settings,
                    sr,
                    m.drive_db,
                    m.attribution.latency_samples,
                    work.clone(),
                );
                let mut played = [Vec::new(), Vec::new()];
                run_spool(m.sum, chain, |l, r| {
                    played[0].extend_from_slice(l);
                    played[1].extend_from_slice(r);
                    Ok(())
                })?;
                assert_eq!(written[0].len(), frames, "{}", d.name);
                for (w, p) in written.iter().zip(&played) {
                    let differ = w.iter().zip(p).filter(|(a, b)| a.to_bits() != b.to_bits());
                    assert_eq!((w.len(), differ.count()), (p.len(), 0), "{}", d.name);
                }
                let work = lock(&work);
                let same = |a: &[f32], b: &[f32]| a == b;
                let limiter = same(m.work.limiter.window_log_db(), work.limiter.window_log_db());
                let clipper = same(m.work.clipper.window_log_db(), work.clipper.window_log_db());
                assert!(limiter && clipper, "{}: the stage's work differs", d.name);
                assert!(m.work.limiter.stats().max_db > 0.0, "{}", d.name);
                Ok(m.plan.peak.clipper_enabled)
            },
        )
        .unwrap();
        // Both kinds of peak stage were compared.
        assert_eq!(clipped, [false, true, false]);
    }
}
