//! The Stem Master chain: input gain, DC filter, glue compressor, EQ (minimum phase with no
//! latency, or linear phase), width, limiter drive, clipper, true-peak limiter, output gain and
//! dither, with a programme meter on the output and a loudness-matched compare path.
//!
//! The DC filter ([`crate::filter::DcFilter`], off by default) comes first so neither the glue
//! nor the limiter's drive works on an offset. The clipper ([`super::peak_stage`], off by
//! default) sits between the drive and the limiter, its level tied to the ceiling.
//!
//! Order and defaults follow the guide's master chain (`stem-mastering-guide.txt`, "Master bus
//! processing": glue with 1-2 dB of reduction, a transparent linear-phase EQ with small moves,
//! optional width, a limiter to a loudness target with a -1.0 dBTP ceiling) and its loudness
//! table ("Loudness Targets by Genre"). Loudness is measured after ITU-R BS.1770-5 / EBU R128
//! ([`crate::meter::programme::ProgrammeMeter`]); the true-peak ceiling is the limiter's
//! ([`crate::dynamics::limiter`], BS.1770 Annex 2 detection).
//!
//! The EQ runs the same bands in one of four [`MasterEqMode`]s: minimum phase
//! ([`ParametricEq`], no latency; the default, so a chain at defaults only has the limiter's
//! latency) or linear phase ([`LinearPhaseEq`]) at three FIR lengths, for when phase coherence
//! is worth a quarter second and more of latency. Both modes follow the same matched band
//! designs, so their magnitudes agree; the bands are static in both (a linear-phase FIR cannot
//! follow a dynamic band, and a mode switch must not change the curve).
//!
//! Output gain sits before the dither, not after it: dither must be the last change to the
//! samples, or the word length it was made for no longer holds.
//!
//! Latency is the sum of the glue lookahead, the EQ mode's latency (0, or the linear-phase FIR
//! delay), the clipper's oversampler while it is on, and the limiter's lookahead + detector
//! delay. A bypassed section is replaced by a delay of exactly its latency, so
//! [`MasterChain::latency_samples`] never changes with bypass (the clipper's latency moves with
//! its switch, through its bypass like an EQ mode change).
//! Switching a section is click-free: the path being switched to first runs in the background
//! until its delay lines hold real audio (a section being switched on warms up; its bypass
//! delay, being switched to, fills for one latency), then both paths are cross-faded over
//! [`SECTION_FADE_MS`] (they are time-aligned, so a linear fade is enough). Only the path being
//! heard runs otherwise.
//!
//! An EQ mode change moves the latency, so no time-aligned fade between the two modes exists.
//! It goes through the bypass instead, each step a cross-fade: the EQ switches off in the old
//! mode (its bypass delay records all the time, so this needs no cooling), the bypass delay
//! moves to the new mode's latency by cross-fading its old and new taps (both read real
//! history), and the EQ switches on again in the new mode (warm-up, then a fade). The chain's
//! latency changes where the taps start to cross-fade; a host that restarts the plugin on a
//! latency change lands on the new mode at once.
//!
//! Settings are smoothed here, as in the Channel chain, so the plugin hands over plain targets
//! and the `stem` tool renders automation exactly as the plugin plays it: the glue, width and
//! limiter settings glide by [`super::smoothing`], the minimum-phase EQ smooths its bands itself
//! (the linear-phase EQ cross-fades its redesigns), the gains ramp per sample.
//!
//! Gains inside the chain act on the samples entering the chain when they change: the limiter
//! drive's curve is delayed by the glue and EQ latency, the output gain's by the whole latency,
//! so input gain, limiter drive and output gain automation line up in time.
//!
//! Loudness-matched compare ("A/B", after the guide's "A/B Comparison Against Reference":
//! louder always sounds better, so compare at matched loudness): the unprocessed input, delayed
//! by the chain's latency, is measured with the same BS.1770 meter as the output; in compare
//! mode the chain outputs that unprocessed signal turned by the measured difference of the two
//! integrated loudnesses, so processed and unprocessed are heard at equal loudness.

use super::learn::streaming_turn_down_db;
use super::master_eq::MasterEq;
use super::peak_stage::PeakStage;
use super::ramp::{gain_ramp_samples, AlignedGain, GainRamp, RampLaw};
use super::section::SectionSwitch;
use super::settings::{MasterEqMode, MasterSettings};
use super::smoothing::{lin, Glide, StepSmoother};
use crate::delay::DelayLine;
use crate::dither::Dither;
use crate::dynamics::{Compressor, CompressorSettings, CompressorStyle};
use crate::filter::DcFilter;
use crate::meter::loudness::LoudnessMeter;
use crate::meter::programme::ProgrammeMeter;
use crate::stereo::StereoTool;
use crate::util::{db_to_gain, sanitize};

pub use super::learn::{TargetLearn, STREAMING_REFERENCE_LUFS};

/// Cross-fade length of a section switch, in ms.
pub const SECTION_FADE_MS: f64 = 10.0;
/// How long the minimum-phase EQ runs unheard after a reset before it is faded in, ms: its
/// start-up transient has to die away first. A 20 Hz Butterworth high-pass (Q 0.707, poles
/// decaying at 2 pi 20 / (2 Q) = 89 per second), the usual mastering low cut, falls by 60 dB
/// in 78 ms; one at 10 Hz, the lowest band frequency, by 39 dB in 100 ms. What is left is a
/// small low-frequency error, faded in over [`SECTION_FADE_MS`], not a click.
pub const MINIMUM_PHASE_WARM_UP_MS: f64 = 100.0;
/// Largest gain of the input gain, limiter drive and output gain either way, in dB.
const MAX_GAIN_DB: f32 = 60.0;
/// Largest gain the loudness-matched compare applies to the unprocessed signal, in dB.
pub const MAX_MATCH_GAIN_DB: f32 = 24.0;
/// Longest internal run; host blocks are split into runs of at most this many samples.
const MAX_RUN: usize = 4096;

/// Meter readings of the chain, for editors and the command-line tool.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MasterReadings {
    pub momentary_lufs: f64,
    pub short_term_lufs: f64,
    pub integrated_lufs: f64,
    pub loudness_range_lu: f64,
    pub true_peak_max_dbtp: f64,
    pub plr_db: f64,
    /// Glue gain reduction now / largest in the last block, dB (>= 0).
    pub glue_gain_reduction_db: f32,
    pub glue_block_max_gain_reduction_db: f32,
    /// Limiter gain reduction now / largest in the last block, dB (>= 0).
    pub limiter_gain_reduction_db: f32,
    pub limiter_block_max_gain_reduction_db: f32,
    /// Largest clipper peak reduction in the last block, dB (>= 0).
    pub clipper_block_max_reduction_db: f32,
    /// Integrated loudness of the latency-aligned unprocessed input, LUFS.
    pub unprocessed_integrated_lufs: f64,
    /// Gain the compare path gives the unprocessed signal to match the processed one, dB.
    pub match_gain_db: f32,
    /// How far a -14 LUFS streaming service would turn the master down, dB (>= 0).
    pub streaming_turn_down_db: f64,
}

/// The Stem Master chain (stereo).
pub struct MasterChain {
    sample_rate_hz: f64,
    max_block: usize,
    max_latency: usize,
    settings: MasterSettings,
    /// The settings the glue, width and limiter run with: `settings` glided step by step
    /// ([`super::smoothing`]).
    current: MasterSettings,
    smoother: StepSmoother,

    input_gain: GainRamp,
    dc_filter: DcFilter,
    dc_filter_switch: SectionSwitch,
    glue: Compressor,
    glue_switch: SectionSwitch,
    eq: MasterEq,
    width: StereoTool,
    width_switch: SectionSwitch,
    /// Drive into the limiter, aligned with the input by the glue and EQ latency.
    limiter_drive: AlignedGain,
    /// The clipper (optional) and the limiter.
    peak: PeakStage,
    limiter_switch: SectionSwitch,
    /// Output gain, aligned with the input by the whole latency.
    output_gain: AlignedGain,
    dither: Dither,

    meter: ProgrammeMeter,
    dry: DelayLine,
    dry_meter: LoudnessMeter,
    compare: bool,
    compare_mix: f32,
    compare_step: f32,
    match_gain: GainRamp,

    run: [Vec<f32>; 2],
    scratch: [Vec<f32>; 2],
}

impl MasterChain {
    /// Allocates the chain for blocks of up to `max_block` samples (longer blocks are split)
    /// at `sample_rate_hz` (22.05 to 384 kHz; other rates are clamped to that range), with
    /// [`MasterSettings::default`], the EQ designed and every delay sized for the worst case
    /// at this rate.
    pub fn new(max_block: usize, sample_rate_hz: f64) -> Self {
        let fs = clamp_rate(sample_rate_hz);
        let settings = MasterSettings::default();
        let max_block = max_block.clamp(1, MAX_RUN);

        let glue = Compressor::new(2, fs as f32);
        let glue_max =
            (crate::dynamics::compressor::MAX_LOOKAHEAD_MS as f64 * 1e-3 * fs).ceil() as usize + 1;

        let fade = (SECTION_FADE_MS * 1e-3 * fs).round() as usize;
        let peak = PeakStage::new(max_block, fs, fade, settings.clipper_enabled);
        let limiter_max = peak.max_latency_samples();
        let eq = MasterEq::new(
            fs,
            fade,
            (SECTION_FADE_MS * 1e-3 * fs) as usize,
            (MINIMUM_PHASE_WARM_UP_MS * 1e-3 * fs) as usize,
            settings.eq_mode,
            settings.eq_enabled,
        );
        let eq_max = eq.max_latency_samples();
        let ramp = gain_ramp_samples(fs);
        // Gains in dB are clamped to +-60 dB, the compare match to its own limit.
        let gain = || GainRamp::new(RampLaw::Amplitude, ramp, MAX_GAIN_DB);
        let mut width = StereoTool::new();
        width.set_sample_rate(fs);
        let mut dry_meter = LoudnessMeter::new(2, fs);
        dry_meter.reset();

        let mut chain = Self {
            sample_rate_hz: fs,
            max_block,
            max_latency: glue_max + eq_max + limiter_max,
            settings: settings.clone(),
            current: settings.clone(),
            smoother: StepSmoother::default(),
            input_gain: gain(),
            dc_filter: DcFilter::new(fs),
            dc_filter_switch: SectionSwitch::new(0, fade, settings.dc_filter_enabled),
            glue,
            glue_switch: SectionSwitch::new(glue_max, fade, settings.glue_enabled),
            eq,
            width,
            width_switch: SectionSwitch::new(0, fade, settings.width_enabled),
            limiter_drive: AlignedGain::new(gain(), glue_max + eq_max, max_block),
            peak,
            limiter_switch: SectionSwitch::new(limiter_max, fade, settings.limiter_enabled),
            output_gain: AlignedGain::new(gain(), glue_max + eq_max + limiter_max, max_block),
            dither: Dither::new(2),
            meter: ProgrammeMeter::new(2, fs),
            dry: DelayLine::new(2, glue_max + eq_max + limiter_max),
            dry_meter,
            compare: false,
            compare_mix: 0.0,
            compare_step: 1.0 / fade.max(1) as f32,
            match_gain: GainRamp::new(RampLaw::Amplitude, ramp, MAX_MATCH_GAIN_DB),
            run: [vec![0.0; max_block], vec![0.0; max_block]],
            scratch: [vec![0.0; max_block], vec![0.0; max_block]],
        };
        chain.glue.set_sample_rate(fs);
        chain.smoother.set_sample_rate(fs);
        chain.apply_settings(&settings, true);
        chain.finish_design_now();
        chain.reset();
        chain
    }

    /// Re-creates every unit for a new rate (allocates: call from `activate()`), keeping the
    /// settings and the compare state.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        let settings = self.settings.clone();
        let compare = self.compare;
        *self = Self::new(self.max_block, sample_rate_hz);
        self.apply_settings(&settings, true);
        self.finish_design_now();
        self.compare = compare;
        self.reset();
    }

    /// The rate in use, Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// The settings as last set.
    pub fn settings(&self) -> &MasterSettings {
        &self.settings
    }

    /// Records new settings; they apply from the next `process_block`. Never allocates. Gain
    /// changes glide over [`GAIN_RAMP_MS`](super::ramp::GAIN_RAMP_MS), the glue, width and
    /// limiter settings glide from the next smoothing step ([`super::smoothing`]; lookaheads at
    /// once), section switches cross-fade, EQ changes are
    /// smoothed (minimum phase) or redesigned in the background and cross-faded in (linear
    /// phase). EQ mode and lookahead changes change the latency (report it): an EQ mode change
    /// goes through the EQ's bypass (see the module notes), so [`Self::latency_samples`]
    /// follows it about [`SECTION_FADE_MS`] later if the EQ is off, after the EQ has faded out
    /// if it is on.
    pub fn set_settings(&mut self, settings: &MasterSettings) {
        if *settings != self.settings {
            self.apply_settings(settings, false);
        }
    }

    fn apply_settings(&mut self, s: &MasterSettings, immediate: bool) {
        let fs = self.sample_rate_hz;
        if s.eq_bands != self.settings.eq_bands || immediate {
            self.eq.set_bands(&s.eq_bands);
        }
        if immediate {
            self.current.clone_from(s);
            self.smoother.jump();
        } else {
            // The lookaheads set the latency: they apply at once (the switches below size
            // their warm-ups by them); everything else glides from the next step.
            self.current.glue.lookahead_ms = s.glue.lookahead_ms;
            self.current.limiter.lookahead_ms = s.limiter.lookahead_ms;
            self.smoother.retarget();
        }
        self.apply_current();
        self.dither.set_settings(s.dither);

        let (gi, gd, go) = (
            s.input_gain_db,
            s.limiter.effective().input_gain_db,
            s.output_gain_db,
        );
        if immediate {
            self.input_gain.jump_to_db(gi);
            self.limiter_drive.ramp.jump_to_db(gd);
            self.output_gain.ramp.jump_to_db(go);
        } else {
            self.input_gain.set_target_db(gi);
            self.limiter_drive.ramp.set_target_db(gd);
            self.output_gain.ramp.set_target_db(go);
        }

        self.settings = s.clone();
        let fade_guard = (SECTION_FADE_MS * 1e-3 * fs) as usize;
        let (lg, ll) = (self.glue.latency_samples(), self.peak.latency_samples());
        if immediate {
            self.dc_filter_switch.reset(s.dc_filter_enabled);
            self.peak.jump_clipper(s.clipper_enabled);
            self.glue_switch.reset(s.glue_enabled);
            self.eq.jump(s);
            self.width_switch.reset(s.width_enabled);
            self.limiter_switch.reset(s.limiter_enabled);
        } else {
            if self
                .dc_filter_switch
                .set_enabled(s.dc_filter_enabled, fade_guard)
            {
                self.dc_filter.reset();
            }
            self.peak.update_clipper(s.clipper_enabled);
            if self
                .glue_switch
                .set_enabled(s.glue_enabled, lg + fade_guard)
            {
                self.glue.reset();
            }
            self.eq.update(s);
            if self.width_switch.set_enabled(s.width_enabled, fade_guard) {
                self.width.reset();
            }
            if self
                .limiter_switch
                .set_enabled(s.limiter_enabled, ll + fade_guard)
            {
                self.peak.reset();
            }
        }
        self.align_latencies();
    }

    /// Hands the glided settings to the glue, width and limiter (they ignore unchanged
    /// settings; the limiter's drive is ramped by the chain).
    fn apply_current(&mut self) {
        let c = &self.current;
        self.glue.set_settings(CompressorSettings {
            style: CompressorStyle::Glue,
            ..c.glue
        });
        self.width.set_settings(c.stereo);
        self.peak.set_settings(c.limiter, c.clipper_margin_db);
    }

    /// One smoothing step of the glue, width and limiter settings toward the targets (the
    /// EQ smooths its bands itself, the gains ramp per sample). Returns whether anything is
    /// still moving.
    fn glide_current(&mut self, a: f32) -> bool {
        let (c, t) = (&mut self.current, &self.settings);
        let mut m = false;
        let glue = c.glue.glide(&t.glue, a, &mut m);
        let stereo = c.stereo.glide(&t.stereo, a, &mut m);
        let limiter = c.limiter.glide(&t.limiter, a, &mut m);
        let margin = lin(c.clipper_margin_db, t.clipper_margin_db, a, 0.001, &mut m);
        c.clone_from(t);
        (c.glue, c.stereo, c.limiter) = (glue, stereo, limiter);
        c.clipper_margin_db = margin;
        m
    }

    /// Gives every bypass and alignment delay the sections' current latencies.
    fn align_latencies(&mut self) {
        let (lg, le, ll) = self.section_latencies();
        self.glue_switch.set_latency(lg);
        self.limiter_switch.set_latency(ll);
        self.dry.set_delay_samples(lg + le + ll);
        self.limiter_drive.set_delay_samples(lg + le);
        self.output_gain.set_delay_samples(lg + le + ll);
    }

    fn section_latencies(&self) -> (usize, usize, usize) {
        (
            self.glue.latency_samples(),
            self.eq.latency_samples(),
            self.peak.latency_samples(),
        )
    }

    /// Latency in samples: glue lookahead + EQ mode latency (0, or the linear-phase FIR delay)
    /// + limiter lookahead and detector delay. The same whichever sections are bypassed.
    pub fn latency_samples(&self) -> usize {
        let (a, b, c) = self.section_latencies();
        a + b + c
    }

    /// The largest latency any settings can give at this rate (linear-phase High EQ, longest
    /// lookaheads), for sizing dry-path delays once.
    pub fn max_latency_samples(&self) -> usize {
        self.max_latency
    }

    /// The EQ mode in use: the settings' mode once a mode change has gone through.
    pub fn eq_mode(&self) -> MasterEqMode {
        self.eq.mode()
    }

    /// Latency of the EQ section in samples (0 in zero-latency mode), the same whether the EQ
    /// is on or bypassed.
    pub fn eq_latency_samples(&self) -> usize {
        self.eq.latency_samples()
    }

    /// Offline use: applies the requested EQ mode (without the bypass round a live mode
    /// change takes) and any pending FIR redesign now, so the first sample already goes
    /// through the final EQ.
    pub fn finish_design_now(&mut self) {
        if self.eq.finish_design_now(&self.settings) {
            self.align_latencies();
        }
    }

    /// Clears all audio state and every meter, without allocating; sections jump to their set
    /// state without fades.
    pub fn reset(&mut self) {
        self.current.clone_from(&self.settings);
        self.smoother.jump();
        self.apply_current();
        self.glue.reset();
        self.eq.jump(&self.settings);
        self.align_latencies();
        self.width.reset();
        self.peak.reset();
        self.peak.jump_clipper(self.settings.clipper_enabled);
        self.dc_filter.reset();
        self.dc_filter_switch.reset(self.settings.dc_filter_enabled);
        self.dither.reset();
        self.meter.reset();
        self.dry.reset();
        self.dry_meter.reset();
        self.glue_switch.reset(self.settings.glue_enabled);
        self.width_switch.reset(self.settings.width_enabled);
        self.limiter_switch.reset(self.settings.limiter_enabled);
        self.input_gain.jump();
        self.limiter_drive.reset();
        self.output_gain.reset();
        self.compare_mix = if self.compare { 1.0 } else { 0.0 };
        self.match_gain.jump_to(self.match_gain_linear());
    }

    /// Clears the meters only (loudness, true peak, the compare match), keeping the audio.
    pub fn reset_meters(&mut self) {
        self.meter.reset();
        self.dry_meter.reset();
    }

    /// Loudness-matched compare: `true` outputs the unprocessed input (latency-aligned) at
    /// the processed signal's measured loudness; the switch cross-fades over
    /// [`SECTION_FADE_MS`]. Processing and metering carry on underneath.
    pub fn set_compare(&mut self, compare: bool) {
        self.compare = compare;
    }

    /// Whether compare is on.
    pub fn compare(&self) -> bool {
        self.compare
    }

    /// The programme meter on the output (processed signal, after dither).
    pub fn meter(&self) -> &ProgrammeMeter {
        &self.meter
    }

    /// The loudness meter on the latency-aligned unprocessed input.
    pub fn unprocessed_meter(&self) -> &LoudnessMeter {
        &self.dry_meter
    }

    /// Pauses or resumes both loudness measurements (the audio keeps flowing).
    pub fn set_meters_paused(&mut self, paused: bool) {
        self.meter.set_paused(paused);
        self.dry_meter.set_paused(paused);
    }

    /// Glue gain reduction now, dB (0 while bypassed).
    pub fn glue_gain_reduction_db(&self) -> f32 {
        if self.glue_switch.is_active() {
            self.glue.gain_reduction_db()
        } else {
            0.0
        }
    }

    /// Limiter gain reduction now, dB (0 while bypassed).
    pub fn limiter_gain_reduction_db(&self) -> f32 {
        if self.limiter_switch.is_active() {
            self.peak.limiter().gain_reduction_db()
        } else {
            0.0
        }
    }

    /// Largest glue gain reduction in the last processed block, dB (0 while bypassed).
    pub fn glue_block_max_gain_reduction_db(&self) -> f32 {
        if self.glue_switch.is_active() {
            self.glue.block_max_gain_reduction_db()
        } else {
            0.0
        }
    }

    /// Largest limiter gain reduction in the last processed block, dB (0 while bypassed).
    pub fn limiter_block_max_gain_reduction_db(&self) -> f32 {
        if self.limiter_switch.is_active() {
            self.peak.limiter().block_max_gain_reduction_db()
        } else {
            0.0
        }
    }

    /// Largest peak reduction of the clipper in the last processed block, dB (0 while it or
    /// the limiter section is bypassed).
    pub fn clipper_block_max_reduction_db(&self) -> f32 {
        if self.limiter_switch.is_active() {
            self.peak.clipper_block_max_reduction_db()
        } else {
            0.0
        }
    }

    /// The glue compressor (its static curve, for editors).
    pub fn glue(&self) -> &Compressor {
        &self.glue
    }

    /// The stereo tool (its correlation reading, for editors).
    pub fn stereo(&self) -> &StereoTool {
        &self.width
    }

    /// Gain the compare path applies to the unprocessed signal: processed minus unprocessed
    /// integrated loudness, dB, clamped to +-[`MAX_MATCH_GAIN_DB`]; 0 until both are measured.
    pub fn match_gain_db(&self) -> f32 {
        let p = self.meter.loudness().running_integrated_lufs();
        let u = self.dry_meter.running_integrated_lufs();
        if p.is_finite() && u.is_finite() {
            ((p - u) as f32).clamp(-MAX_MATCH_GAIN_DB, MAX_MATCH_GAIN_DB)
        } else {
            0.0
        }
    }

    fn match_gain_linear(&self) -> f32 {
        db_to_gain(self.match_gain_db())
    }

    /// Every reading in one struct, O(1) so editors can take it every block: integrated
    /// loudness (and what derives from it) is the running figure
    /// (`LoudnessMeter::running_integrated_lufs`, within 1e-9 LU of the report's scan).
    pub fn readings(&self) -> MasterReadings {
        let l = self.meter.loudness();
        let integrated = l.running_integrated_lufs();
        MasterReadings {
            momentary_lufs: l.momentary_lufs(),
            short_term_lufs: l.short_term_lufs(),
            integrated_lufs: integrated,
            loudness_range_lu: l.loudness_range_lu(),
            true_peak_max_dbtp: self.meter.max_true_peak_dbtp(),
            plr_db: self.meter.running_plr_db(),
            glue_gain_reduction_db: self.glue_gain_reduction_db(),
            glue_block_max_gain_reduction_db: self.glue_block_max_gain_reduction_db(),
            limiter_gain_reduction_db: self.limiter_gain_reduction_db(),
            limiter_block_max_gain_reduction_db: self.limiter_block_max_gain_reduction_db(),
            clipper_block_max_reduction_db: self.clipper_block_max_reduction_db(),
            unprocessed_integrated_lufs: self.dry_meter.running_integrated_lufs(),
            match_gain_db: self.match_gain_db(),
            streaming_turn_down_db: streaming_turn_down_db(integrated),
        }
    }

    /// Processes a stereo block in place, any length (the shorter slice sets it). Never
    /// allocates. NaN/Inf input becomes silence.
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_block_tapped(left, right, |_, _| {});
    }

    /// [`Self::process_block`], handing the pre-limiter signal (after the width section, before
    /// the limiter's drive: what the loudness plan works on) to `tap` as it passes, in runs.
    pub fn process_block_tapped(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        mut tap: impl FnMut(&[f32], &[f32]),
    ) {
        let len = left.len().min(right.len());
        let mut start = 0;
        while start < len {
            // Runs end where an EQ switch step ends, so the next step (a mode change waits for
            // the EQ to be off) starts on the same sample whatever the host's blocks.
            self.eq.update(&self.settings);
            self.peak.update_clipper(self.settings.clipper_enabled);
            self.align_latencies();
            if let Some(a) = self.smoother.step_due() {
                let moving = self.glide_current(a);
                self.smoother.set_moving(moving);
                self.apply_current();
            }
            // Runs also end at smoothing steps while settings glide.
            let run = self
                .max_block
                .min(self.eq.samples_to_next_step().unwrap_or(len))
                .min(self.peak_steps().unwrap_or(len))
                .min(self.smoother.run_samples(len - start));
            let end = (start + run).min(len);
            self.process_run(&mut left[start..end], &mut right[start..end], &mut tap);
            self.smoother.advance(end - start);
            start = end;
        }
    }

    /// Samples to the clipper switch's next step while the limiter section runs (a bypassed
    /// section does not advance it, so its steps must not cut the runs short).
    fn peak_steps(&self) -> Option<usize> {
        if self.limiter_switch.is_off() {
            None
        } else {
            self.peak.samples_to_next_step()
        }
    }

    fn process_run(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        tap: &mut impl FnMut(&[f32], &[f32]),
    ) {
        let n = left.len();
        sanitize(left);
        sanitize(right);

        // The unprocessed signal, aligned with the output, for the compare path and its meter.
        let [dl, dr] = &mut self.run;
        let (dl, dr) = (&mut dl[..n], &mut dr[..n]);
        dl.copy_from_slice(left);
        dr.copy_from_slice(right);
        self.dry.process_block(0, dl);
        self.dry.process_block(1, dr);
        self.dry_meter.process_block(&[dl, dr]);

        self.input_gain.apply(left, right);
        self.limiter_drive.advance(n);
        self.output_gain.advance(n);

        let dc_filter = &mut self.dc_filter;
        self.dc_filter_switch
            .process(left, right, &mut self.scratch, |_, l, r| {
                dc_filter.process_block(l, r)
            });

        let glue = &mut self.glue;
        self.glue_switch
            .process(left, right, &mut self.scratch, |_, l, r| {
                glue.process_block(&mut [l, r]);
            });
        self.eq.process(left, right, &mut self.scratch);
        let width = &mut self.width;
        self.width_switch
            .process(left, right, &mut self.scratch, |_, l, r| {
                width.process_block(l, r)
            });
        tap(left, right);
        let (peak, drive) = (&mut self.peak, &self.limiter_drive);
        self.limiter_switch
            .process(left, right, &mut self.scratch, |start, l, r| {
                drive.apply(start, l, r);
                peak.process_block(l, r);
            });
        self.output_gain.apply(0, left, right);
        self.dither.process_block(&mut [left, right]);
        self.meter.process_block(&[left, right]);

        // Loudness-matched compare (the match gain is only evaluated while it is heard).
        let target = if self.compare { 1.0 } else { 0.0 };
        if self.compare_mix != target || self.compare {
            let g = self.match_gain_linear();
            if self.compare_mix == 0.0 {
                self.match_gain.jump_to(g);
            } else {
                self.match_gain.set_target(g);
            }
            let [dl, dr] = &mut self.run;
            let (dl, dr) = (&mut dl[..n], &mut dr[..n]);
            self.match_gain.apply(dl, dr);
            let step = self.compare_step;
            for i in 0..n {
                self.compare_mix = if target > self.compare_mix {
                    (self.compare_mix + step).min(1.0)
                } else {
                    (self.compare_mix - step).max(0.0)
                };
                let w = self.compare_mix;
                left[i] += w * (dl[i] - left[i]);
                right[i] += w * (dr[i] - right[i]);
            }
        }
    }
}

/// Rates outside 22.05-384 kHz are clamped into it (the units are designed for that range).
fn clamp_rate(sample_rate_hz: f64) -> f64 {
    if sample_rate_hz.is_finite() {
        sample_rate_hz.clamp(22_050.0, 384_000.0)
    } else {
        48_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_latency_is_the_documented_one() {
        // README, "Stem Master": zero-latency EQ, limiter 1 ms (48) + 16 + 32.
        let chain = MasterChain::new(512, 48_000.0);
        assert_eq!(chain.latency_samples(), 96);
        assert_eq!(chain.eq_latency_samples(), 0);
        // The previous default: EQ linear phase Medium (8191 + 4096) + limiter 1.5 ms (72) +
        // 16 + 32.
        let mut chain = MasterChain::new(512, 48_000.0);
        let mut s = MasterSettings {
            eq_mode: MasterEqMode::LinearMedium,
            ..MasterSettings::default()
        };
        s.limiter.lookahead_ms = 1.5;
        chain.set_settings(&s);
        chain.finish_design_now();
        chain.reset();
        assert_eq!(chain.latency_samples(), 12_407);
    }
}
