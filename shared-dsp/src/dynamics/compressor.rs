//! Feed-forward compressor: clean (VCA), opto and glue (bus) styles, peak or RMS detection,
//! soft knee, lookahead, sidechain high-pass and a latency-aligned dry/wet mix.
//!
//! Topology after Giannoulis, Massberg & Reiss, "Digital Dynamic Range Compressor Design — A
//! Tutorial and Analysis", JAES 60(6), 2012: level detection in dB, static gain computer
//! (eq. 4, [`super::gain_computer`]), then the smooth decoupled attack/release detector
//! (eq. 18) on the gain reduction in the log domain (their fig. 7 placement), make-up gain last. The styles
//! change only the ballistics and the control steps:
//! - [`CompressorStyle::Clean`]: plain branching smoother (VCA character);
//! - [`CompressorStyle::Opto`]: program-dependent release (LA-2A-like two-stage release: fast
//!   after short reduction, slow after sustained reduction; see [`super::envelope`]);
//! - [`CompressorStyle::Glue`]: SSL-G-bus-style stepped controls (ratio 2/4/10:1, attack 0.1 to
//!   30 ms, release 0.1/0.3/0.6/1.2 s or auto), values snapped to the nearest step.
//!
//! The dry path is the same lookahead-delayed signal the gain is applied to, so a parallel mix
//! never comb-filters: the output is `dry * (1 + mix (g - 1))`, which is the delayed input
//! bit-exactly whenever the gain is unity.

use super::envelope::{BranchingSmoother, DualRelease, MeanSquare};
use super::gain_computer::GainComputer;
use super::reading::ReductionReading;
use crate::delay::DelayLine;
use crate::fastmath;
use crate::filter::biquad::{to_input, to_output};
use crate::filter::{Biquad, BiquadCoefs};
use crate::util::{sanitize, unit_rate_hz, PendingSettings};
use serde::{Deserialize, Serialize};

/// Longest lookahead any compressor supports, in milliseconds (buffers are sized for it at
/// the maximum sample rate).
pub const MAX_LOOKAHEAD_MS: f32 = 20.0;
/// Glue style ratio steps.
pub const GLUE_RATIOS: [f32; 3] = [2.0, 4.0, 10.0];
/// Glue style attack steps in milliseconds.
pub const GLUE_ATTACKS_MS: [f32; 6] = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0];
/// Glue style release steps in milliseconds (plus auto).
pub const GLUE_RELEASES_MS: [f32; 4] = [100.0, 300.0, 600.0, 1200.0];

/// Auto release: fast envelope release time (transients), in ms.
const AUTO_FAST_RELEASE_MS: f32 = 100.0;
/// Auto release: charge time of the slow envelope, in ms (reduction must last about this long
/// before recovery slows down).
const AUTO_SLOW_ATTACK_MS: f32 = 400.0;
/// Auto release: release time of the slow envelope, in ms.
const AUTO_SLOW_RELEASE_MS: f32 = 1200.0;
/// Opto: charge time of the "photocell memory" (slow envelope), in ms.
const OPTO_MEMORY_MS: f32 = 1000.0;
/// Opto: the slow envelope releases this many times slower than `release_ms` (an LA-2A
/// releases 50 % in about 60 ms and fully in one to several seconds).
const OPTO_SLOW_RELEASE_FACTOR: f32 = 20.0;
/// Internal sub-block length: the detector runs in passes over this many samples so the
/// decibel conversions vectorise and the scratch stays on the stack-sized arrays.
const CHUNK: usize = 64;

/// Character of the compressor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CompressorStyle {
    /// VCA: exact attack/release time constants.
    #[default]
    Clean,
    /// Optical: program-dependent release that slows after sustained reduction.
    Opto,
    /// Bus compressor with stepped controls and an auto release.
    Glue,
}

/// Level detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Detection {
    /// Instantaneous peak (largest magnitude across channels).
    #[default]
    Peak,
    /// Mean square over `rms_window_ms`, averaged across channels.
    Rms,
}

/// All compressor controls in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompressorSettings {
    pub style: CompressorStyle,
    pub detection: Detection,
    /// Threshold in dBFS.
    pub threshold_db: f32,
    /// Ratio `n:1`, >= 1.
    pub ratio: f32,
    /// Soft-knee width in dB (0 = hard knee).
    pub knee_db: f32,
    /// Attack time constant in ms (63 % of a step in gain reduction).
    pub attack_ms: f32,
    /// Release time constant in ms.
    pub release_ms: f32,
    /// Program-dependent auto release (ignores `release_ms` except in the opto style).
    pub auto_release: bool,
    /// RMS averaging time in ms (RMS detection only).
    pub rms_window_ms: f32,
    /// Make-up gain in dB (ignored when `auto_makeup`).
    pub makeup_db: f32,
    /// Make-up equal to the static reduction at 0 dBFS.
    pub auto_makeup: bool,
    /// Wet share of the output in percent (100 = fully compressed, 30-50 = New York style).
    pub mix_percent: f32,
    /// Sidechain high-pass corner in Hz (12 dB/oct Butterworth); 0 or less disables it.
    pub sidechain_hpf_hz: f32,
    /// Lookahead in ms (0 to [`MAX_LOOKAHEAD_MS`]); adds the same latency.
    pub lookahead_ms: f32,
}

impl Default for CompressorSettings {
    fn default() -> Self {
        Self {
            style: CompressorStyle::Clean,
            detection: Detection::Peak,
            threshold_db: -18.0,
            ratio: 2.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 100.0,
            auto_release: false,
            rms_window_ms: 10.0,
            makeup_db: 0.0,
            auto_makeup: false,
            mix_percent: 100.0,
            sidechain_hpf_hz: 0.0,
            lookahead_ms: 0.0,
        }
    }
}

impl CompressorSettings {
    /// A clean, peak-detecting compressor with this threshold (dBFS), ratio (n:1), knee (dB),
    /// attack and release (ms), the rest as [`Self::default`]: the guide's starting points
    /// differ in these numbers and a switch or two.
    pub fn with_curve(
        threshold_db: f32,
        ratio: f32,
        knee_db: f32,
        attack_ms: f32,
        release_ms: f32,
    ) -> Self {
        Self {
            threshold_db,
            ratio,
            knee_db,
            attack_ms,
            release_ms,
            ..Self::default()
        }
    }

    /// Drum stem, New York parallel: fast attack, medium release, 4:1, 40 % wet.
    pub fn drums_parallel() -> Self {
        Self {
            mix_percent: 40.0,
            ..Self::with_curve(-24.0, 4.0, 3.0, 2.0, 100.0)
        }
    }

    /// Bass stem, VCA: 10-30 ms attack, 80-200 ms release, aiming at 3-6 dB reduction.
    pub fn bass_vca() -> Self {
        Self {
            sidechain_hpf_hz: 30.0,
            ..Self::with_curve(-20.0, 4.0, 6.0, 20.0, 150.0)
        }
    }

    /// Vocal stem, opto: gentle ratio, slow program-dependent release.
    pub fn vocal_opto() -> Self {
        Self {
            style: CompressorStyle::Opto,
            detection: Detection::Rms,
            ..Self::with_curve(-22.0, 3.0, 10.0, 10.0, 60.0)
        }
    }

    /// FX stem: high threshold, light ratio, sidechain high-passed at 70 Hz.
    pub fn fx_light() -> Self {
        Self {
            sidechain_hpf_hz: 70.0,
            ..Self::with_curve(-10.0, 1.5, 6.0, 5.0, 150.0)
        }
    }

    /// Master bus glue: 2:1, 10 ms attack, auto release, 1-2 dB of reduction.
    pub fn master_glue() -> Self {
        Self {
            style: CompressorStyle::Glue,
            auto_release: true,
            ..Self::with_curve(-12.0, 2.0, 0.0, 10.0, 300.0)
        }
    }

    /// The settings actually used: glue controls snapped to their steps, everything clamped to
    /// its valid range.
    pub fn effective(&self) -> Self {
        let mut s = *self;
        if s.style == CompressorStyle::Glue {
            s.ratio = nearest_step(&GLUE_RATIOS, s.ratio);
            s.attack_ms = nearest_step(&GLUE_ATTACKS_MS, s.attack_ms);
            s.release_ms = nearest_step(&GLUE_RELEASES_MS, s.release_ms);
        }
        s.ratio = finite_or(s.ratio, 1.0).max(1.0);
        s.knee_db = finite_or(s.knee_db, 0.0).clamp(0.0, 48.0);
        s.threshold_db = finite_or(s.threshold_db, 0.0).clamp(-120.0, 24.0);
        s.attack_ms = finite_or(s.attack_ms, 0.0).clamp(0.0, 1000.0);
        s.release_ms = finite_or(s.release_ms, 0.0).clamp(0.0, 10_000.0);
        s.rms_window_ms = finite_or(s.rms_window_ms, 10.0).clamp(0.1, 1000.0);
        s.makeup_db = finite_or(s.makeup_db, 0.0).clamp(-48.0, 48.0);
        s.mix_percent = finite_or(s.mix_percent, 100.0).clamp(0.0, 100.0);
        s.lookahead_ms = finite_or(s.lookahead_ms, 0.0).clamp(0.0, MAX_LOOKAHEAD_MS);
        s.sidechain_hpf_hz = finite_or(s.sidechain_hpf_hz, 0.0);
        s
    }
}

fn finite_or(v: f32, fallback: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        fallback
    }
}

/// The step of `steps` closest to `value` (on a log scale, as the controls are).
fn nearest_step(steps: &[f32], value: f32) -> f32 {
    let v = value.max(1e-6).ln();
    let mut best = steps[0];
    for &s in steps {
        if (s.ln() - v).abs() < (best.ln() - v).abs() {
            best = s;
        }
    }
    best
}

/// Release stage of the gain-reduction ballistics, chosen by the style.
#[derive(Clone, Copy, Debug)]
enum Ballistics {
    Branching(BranchingSmoother),
    Dual(DualRelease),
}

/// A linked multichannel feed-forward compressor (one gain for all channels).
#[derive(Clone, Debug)]
pub struct Compressor {
    settings: PendingSettings<CompressorSettings>,
    sample_rate_hz: f32,
    max_channels: usize,
    reduction: ReductionReading,

    gain_computer: GainComputer,
    ballistics: Ballistics,
    attack_stage: BranchingSmoother,
    mean_square: MeanSquare,
    detection: Detection,
    makeup_db: f32,
    mix: f32,
    hpf_on: bool,
    sidechain_hpf: Vec<Biquad>,
    delay: DelayLine,

    level: [f32; CHUNK],
    /// The next chunk's detector input, filled beside this chunk's ballistics.
    next_level: [f32; CHUNK],
    gain: [f32; CHUNK],
    sidechain: [f32; CHUNK],
}

impl Compressor {
    /// Allocates a compressor for up to `max_channels` channels at sample rates up to
    /// `max_sample_rate_hz` (sizes the lookahead delay). Starts at 48 kHz with default settings.
    pub fn new(max_channels: usize, max_sample_rate_hz: f32) -> Self {
        let max_channels = max_channels.max(1);
        let max_delay =
            (MAX_LOOKAHEAD_MS * 1e-3 * max_sample_rate_hz.max(48_000.0)).ceil() as usize + 1;
        let mut c = Self {
            settings: PendingSettings::new(CompressorSettings::default()),
            sample_rate_hz: 48_000.0,
            max_channels,
            reduction: ReductionReading::default(),
            gain_computer: GainComputer::new(0.0, 1.0, 0.0),
            ballistics: Ballistics::Branching(BranchingSmoother::default()),
            attack_stage: BranchingSmoother::default(),
            mean_square: MeanSquare::default(),
            detection: Detection::Peak,
            makeup_db: 0.0,
            mix: 1.0,
            hpf_on: false,
            sidechain_hpf: vec![Biquad::default(); max_channels],
            delay: DelayLine::new(max_channels, max_delay),
            level: [0.0; CHUNK],
            next_level: [0.0; CHUNK],
            gain: [1.0; CHUNK],
            sidechain: [0.0; CHUNK],
        };
        c.update();
        c
    }

    /// Sets the sample rate in Hz and re-derives every coefficient (call from `activate()`).
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = unit_rate_hz(sample_rate_hz);
        self.update();
        self.reset();
    }

    /// Records new settings; they take effect at the start of the next block.
    pub fn set_settings(&mut self, settings: CompressorSettings) {
        self.settings.set(settings);
    }

    /// The settings as last set (before glue snapping; see [`CompressorSettings::effective`]).
    pub fn settings(&self) -> &CompressorSettings {
        &self.settings
    }

    /// Latency in samples: the lookahead.
    pub fn latency_samples(&self) -> usize {
        self.latency_samples_for(&self.settings)
    }

    /// Latency in samples these settings would have at this unit's rate (for a caller whose
    /// settings reach this unit only at its next block, like the multiband's bands).
    pub fn latency_samples_for(&self, settings: &CompressorSettings) -> usize {
        self.lookahead_samples(&settings.effective())
    }

    fn lookahead_samples(&self, s: &CompressorSettings) -> usize {
        let n = (s.lookahead_ms * 1e-3 * self.sample_rate_hz).round() as usize;
        n.min(self.delay.max_delay_samples())
    }

    /// Clears all state (envelopes, filters, delay) without allocating.
    pub fn reset(&mut self) {
        match &mut self.ballistics {
            Ballistics::Branching(b) => b.reset(),
            Ballistics::Dual(d) => d.reset(),
        }
        self.attack_stage.reset();
        self.mean_square.reset();
        for f in &mut self.sidechain_hpf {
            f.reset();
        }
        self.delay.reset();
        self.reduction = ReductionReading::default();
    }

    /// Current gain reduction in dB (>= 0), for meters.
    pub fn gain_reduction_db(&self) -> f32 {
        self.reduction.now_db
    }

    /// Largest gain reduction in dB (>= 0) during the last processed block, for meters.
    pub fn block_max_gain_reduction_db(&self) -> f32 {
        self.reduction.block_max_db
    }

    /// The static curve in use (for editor curves).
    pub fn gain_computer(&self) -> GainComputer {
        self.gain_computer
    }

    fn update(&mut self) {
        self.settings.applied();
        let s = self.settings.effective();
        let fs = self.sample_rate_hz;
        self.gain_computer = GainComputer::new(s.threshold_db, s.ratio, s.knee_db);
        let dual = s.style == CompressorStyle::Opto || s.auto_release;
        let (fast_release, slow_attack, slow_release) = if s.style == CompressorStyle::Opto {
            (
                s.release_ms,
                OPTO_MEMORY_MS,
                s.release_ms * OPTO_SLOW_RELEASE_FACTOR,
            )
        } else {
            (
                AUTO_FAST_RELEASE_MS,
                AUTO_SLOW_ATTACK_MS,
                AUTO_SLOW_RELEASE_MS,
            )
        };
        // Decoupled detector (Giannoulis et al. eq. 18): the release stage has an instant
        // attack, so a sine's peaks hold it up without ripple-induced bias; the attack stage
        // follows. The release stage is shortened by the attack time because the two stages
        // in cascade take about the sum of their time constants to cover 63 % of a fall.
        let release_stage = |release_ms: f32| (release_ms - s.attack_ms).max(0.25 * release_ms);
        let fast_release = release_stage(fast_release);
        let slow_release = release_stage(slow_release);
        self.attack_stage.set_times(s.attack_ms, s.attack_ms, fs);
        // Keep the envelope state when only the times change, so automation does not click.
        self.ballistics = match (self.ballistics, dual) {
            (Ballistics::Branching(mut b), false) => {
                b.set_times(0.0, release_stage(s.release_ms), fs);
                Ballistics::Branching(b)
            }
            (Ballistics::Dual(mut d), true) => {
                d.set_times(0.0, fast_release, slow_attack, slow_release, fs);
                Ballistics::Dual(d)
            }
            (_, false) => {
                Ballistics::Branching(BranchingSmoother::new(0.0, release_stage(s.release_ms), fs))
            }
            (_, true) => Ballistics::Dual(DualRelease::new(
                0.0,
                fast_release,
                slow_attack,
                slow_release,
                fs,
            )),
        };
        self.mean_square.set_window(s.rms_window_ms, fs);
        self.detection = s.detection;
        self.makeup_db = if s.auto_makeup {
            self.gain_computer.auto_makeup_db()
        } else {
            s.makeup_db
        };
        self.mix = s.mix_percent * 0.01;
        let hpf_hz = s.sidechain_hpf_hz;
        self.hpf_on = hpf_hz > 0.0;
        if self.hpf_on {
            let coefs =
                BiquadCoefs::highpass(fs as f64, hpf_hz as f64, std::f64::consts::FRAC_1_SQRT_2);
            for f in &mut self.sidechain_hpf {
                f.set_coefs(coefs);
            }
        }
        let la = self.lookahead_samples(&s);
        self.delay.set_delay_samples(la);
    }

    /// Compresses planar `channels` in place (all channels share one gain). Channels beyond
    /// `max_channels` are left untouched; all channels are processed over the shortest length.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        if self.settings.is_pending() {
            self.update();
        }
        crate::simd::dispatch! {
            avx2 => self.process_block_avx2(channels),
            _ => self.process_block_impl(channels),
        }
    }

    /// The vector passes (sanitising, levels in dB, the curve, the gain) on 8-lane registers;
    /// no FMA, so the same bits as the baseline build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_block_avx2(&mut self, channels: &mut [&mut [f32]]) {
        self.process_block_impl(channels);
    }

    #[inline(always)]
    fn process_block_impl(&mut self, channels: &mut [&mut [f32]]) {
        let (num_ch, len) = crate::util::processed_extent(channels, self.max_channels);
        if len == 0 {
            return;
        }
        for ch in channels[..num_ch].iter_mut() {
            sanitize(&mut ch[..len]);
        }
        let inv_ch = 1.0 / num_ch as f32;
        // The stereo sidechain filter is a serial recursion like the ballistics: the next
        // chunk's detection runs in the ballistics loop of this one, so the two overlap.
        let detect_beside = self.hpf_on && num_ch == 2;
        let mut block_max = 0.0f32;
        let mut start = 0;
        self.detect(&channels[..num_ch], 0, CHUNK.min(len));
        while start < len {
            let end = (start + CHUNK).min(len);
            let m = end - start;
            let next_end = (end + CHUNK).min(len);

            // Level in dB, vectorisable.
            let level = &mut self.level[..m];
            match self.detection {
                Detection::Peak => {
                    for l in level.iter_mut() {
                        *l = fastmath::fast_gain_to_db(*l);
                    }
                }
                Detection::Rms => {
                    let mut ms = self.mean_square;
                    for l in level.iter_mut() {
                        *l = ms.process(*l * inv_ch);
                    }
                    self.mean_square = ms;
                    for l in level.iter_mut() {
                        *l = fastmath::fast_power_to_db(*l);
                    }
                }
            }
            // Static curve, vectorisable.
            let gc = self.gain_computer;
            for l in level.iter_mut() {
                *l = gc.reduction_db(*l);
            }
            // Ballistics: the serial pass. The envelopes are copied into locals so their
            // state lives in registers (through `&mut self` every step would be a store and a
            // reload on the critical path); release and attack stages run in one loop so
            // their two recurrences overlap, and so does the next chunk's sidechain filter.
            let mut beside = SidechainBeside {
                on: detect_beside && next_end > end,
                filters: if detect_beside {
                    [self.sidechain_hpf[0], self.sidechain_hpf[1]]
                } else {
                    [Biquad::default(); 2]
                },
                input: [
                    &channels[0][end..next_end],
                    &channels[num_ch - 1][end..next_end],
                ],
                level: &mut self.next_level[..next_end - end],
                peak: self.detection == Detection::Peak,
            };
            let mut attack = self.attack_stage;
            match &mut self.ballistics {
                Ballistics::Branching(b) => {
                    let mut rel = *b;
                    run_ballistics(level, |l| attack.process(rel.process(l)), &mut beside);
                    *b = rel;
                }
                Ballistics::Dual(d) => {
                    let mut rel = *d;
                    run_ballistics(level, |l| attack.process(rel.process(l)), &mut beside);
                    *d = rel;
                }
            }
            self.attack_stage = attack;
            if beside.on {
                for (f, state) in self.sidechain_hpf.iter_mut().zip(beside.filters) {
                    *f = state;
                    f.settle();
                }
            }
            let next_detected = beside.on;
            // Gain with make-up and mix, vectorisable.
            let gain = &mut self.gain[..m];
            let (makeup, mix) = (self.makeup_db, self.mix);
            for (g, &gr) in gain.iter_mut().zip(level.iter()) {
                let wet = fastmath::fast_db_to_gain(makeup - gr);
                *g = 1.0 + mix * (wet - 1.0);
            }
            // Kept out of the gain loop: a running `f32::max` there keeps it scalar.
            block_max = block_max.max(lane_max(level));
            self.reduction.now_db = level[m - 1];

            for (c, ch) in channels[..num_ch].iter_mut().enumerate() {
                let x = &mut ch[start..end];
                if self.delay.delay_samples() > 0 {
                    self.delay.process_block(c, x);
                }
                for (s, &g) in x.iter_mut().zip(gain.iter()) {
                    *s *= g;
                }
            }
            if next_detected {
                self.level = self.next_level;
            } else if next_end > end {
                self.detect(&channels[..num_ch], end, next_end);
            }
            start = end;
        }
        self.reduction.block_max_db = block_max;
    }

    /// Fills `self.level[..end - start]` with the linked detector input: the largest magnitude
    /// (peak) or the sum of squares (RMS) across channels, after the sidechain filter.
    #[inline(always)]
    fn detect(&mut self, channels: &[&mut [f32]], start: usize, end: usize) {
        let m = end - start;
        let level = &mut self.level[..m];
        level.fill(0.0);
        let peak = self.detection == Detection::Peak;
        if self.hpf_on && channels.len() == 2 {
            // Stereo: both channels' filters in one loop, so their two serial recurrences
            // overlap (one after the other, each waits on its own latency). The same
            // arithmetic per channel as `Biquad::process_block`, so the same bits.
            let mut filters = [self.sidechain_hpf[0], self.sidechain_hpf[1]];
            let (xl, xr) = (&channels[0][start..end], &channels[1][start..end]);
            for ((l, &a), &b) in level.iter_mut().zip(xl).zip(xr) {
                *l = stereo_sidechain_level(&mut filters, [a, b], peak);
            }
            for (f, state) in self.sidechain_hpf.iter_mut().zip(filters) {
                *f = state;
                f.settle();
            }
            return;
        }
        for (c, ch) in channels.iter().enumerate() {
            let x = &ch[start..end];
            if self.hpf_on {
                let sc = &mut self.sidechain[..m];
                sc.copy_from_slice(x);
                self.sidechain_hpf[c].process_block(sc);
                if peak {
                    for (l, &y) in level.iter_mut().zip(sc.iter()) {
                        *l = l.max(y.abs());
                    }
                } else {
                    for (l, &y) in level.iter_mut().zip(sc.iter()) {
                        *l += y * y;
                    }
                }
            } else if peak {
                for (l, &s) in level.iter_mut().zip(x.iter()) {
                    *l = l.max(s.abs());
                }
            } else {
                for (l, &s) in level.iter_mut().zip(x.iter()) {
                    *l += s * s;
                }
            }
        }
    }
}

/// The linked detector input of one stereo sample through the sidechain filters (`level` of
/// [`Compressor::detect`] for two channels with the filter on).
#[inline(always)]
fn stereo_sidechain_level(filters: &mut [Biquad; 2], x: [f32; 2], peak: bool) -> f32 {
    let ya = to_output(filters[0].tick(to_input(x[0])));
    let yb = to_output(filters[1].tick(to_input(x[1])));
    // The order of the per-channel version: 0 combined with channel 0, then 1.
    let l = 0.0f32;
    if peak {
        l.max(ya.abs()).max(yb.abs())
    } else {
        (l + ya * ya) + yb * yb
    }
}

/// The next chunk's stereo sidechain detection, run beside the ballistics (when `on`).
struct SidechainBeside<'a> {
    on: bool,
    /// The filters' states, as locals.
    filters: [Biquad; 2],
    input: [&'a [f32]; 2],
    level: &'a mut [f32],
    peak: bool,
}

/// The ballistics `envelope` over `level` in place, with `beside`'s detection of each of its
/// samples in the same loop.
#[inline(always)]
fn run_ballistics(
    level: &mut [f32],
    mut envelope: impl FnMut(f32) -> f32,
    beside: &mut SidechainBeside,
) {
    let mut rest = 0;
    if beside.on {
        let n = beside.level.len();
        let peak = beside.peak;
        for (((l, d), &a), &b) in level
            .iter_mut()
            .zip(beside.level.iter_mut())
            .zip(beside.input[0])
            .zip(beside.input[1])
        {
            *l = envelope(*l);
            *d = stereo_sidechain_level(&mut beside.filters, [a, b], peak);
        }
        rest = n.min(level.len());
    }
    for l in level[rest..].iter_mut() {
        *l = envelope(*l);
    }
}

/// Largest value of `x` (0 for an empty or all-negative slice), in eight independent lanes
/// so the loop vectorises; the same result as a running `f32::max` for the non-NaN values
/// the detector produces.
fn lane_max(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let mut m = tail.iter().fold(0.0f32, |a, &v| a.max(v));
    for a in acc {
        m = m.max(a);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_controls_snap_to_steps() {
        let s = CompressorSettings {
            style: CompressorStyle::Glue,
            ratio: 3.5,
            attack_ms: 0.2,
            release_ms: 800.0,
            ..CompressorSettings::default()
        }
        .effective();
        assert_eq!(s.ratio, 4.0);
        assert_eq!(s.attack_ms, 0.3);
        assert_eq!(s.release_ms, 600.0);
    }

    #[test]
    fn latency_is_the_lookahead() {
        let mut c = Compressor::new(2, 192_000.0);
        c.set_sample_rate(48_000.0);
        c.set_settings(CompressorSettings {
            lookahead_ms: 5.0,
            ..CompressorSettings::default()
        });
        assert_eq!(c.latency_samples(), 240);
    }
}
