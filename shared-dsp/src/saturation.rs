//! Oversampled saturation: tape-style asymmetric soft saturation and a clean soft clipper.
//!
//! Both curves run at 2x or 4x through [`crate::oversampling`] so the harmonics they create
//! above the base Nyquist are filtered instead of folding back as aliases (the standard remedy,
//! e.g. J. Pakarinen and D. T. Yeh, "A Review of Digital Techniques for Modeling Vacuum-Tube
//! Guitar Amplifiers", CMJ 33(2), 2009, §4).
//!
//! - **Tape**: `f(u) = tanh(u + b) - tanh(b)` with `u = drive * x` and bias `b`. The bias
//!   shifts the operating point like the asymmetric magnetisation of tape, adding even
//!   harmonics ("colour"); subtracting `tanh(b)` keeps silence silent. The small-signal slope
//!   `drive * sech^2(b)` is divided out, so quiet material passes at unity and only peaks are
//!   rounded (output level compensation).
//! - **Soft clip**: `f(u) = u / (1 + (u/KNEE)^4)^(1/4)`, the order-4 member of the algebraic
//!   sigmoid family `u / (1 + |u|^p)^(1/p)` (p = 2 is the common `u / sqrt(1 + u^2)`; an even
//!   p keeps the curve analytic at 0). Its series is `u - u^5/4 + ...`: no cubic term, so it
//!   stays within 0.01 dB of the line up to a quarter of the knee (clean), and it approaches
//!   full scale. Unlike a linear
//!   segment joined to a curve (a jump in some derivative at the join, so harmonics fall off
//!   only polynomially) it is analytic on the real line; its nearest complex singularities at
//!   `|u| = KNEE`, 45 degrees off the axis, make the harmonics of a driven sine fall off
//!   exponentially, which keeps the aliases of a +6 dB driven 10 kHz sine below -80 dBFS at 4x
//!   (and the ADAA path below takes over above that).
//!   Drive pushes into it and is divided out afterwards.
//!
//! **Anti-aliasing at high drive.** Oversampling alone is not enough once the drive pushes a
//! loud signal deep into either curve: the harmonics of a nearly square wave fall off slowly,
//! and at 4x a 10 kHz sine at -6 dBFS aliased up to -58 dBFS at 30 dB of drive (-49 dBFS at
//! 0 dBFS and 44.1 kHz). Above [`ADAA_ABOVE_DRIVE_DB`] the 4x setting therefore runs the curve
//! at 8x (a third half-band stage, [`Oversampler::upsample_extra`]) in its first-order
//! antiderivative anti-aliased form ([`crate::adaa`], antiderivatives in [`antiderivative`]),
//! whose one-sample averaging kernel has zeros exactly where the folding harmonics sit, behind
//! the four-tap FIR that keeps its linear response flat and its delay whole. Measured on the
//! grid of `tests/saturation_aliasing.rs` (10 kHz sine, -6 and 0 dBFS, 44.1/48/96 kHz, drive
//! 0-36 dB in 3 dB steps), worst alias: plain 4x -48.8 dBFS; ADAA at 4x -72.7 dBFS (its kernel
//! still passes the harmonics just above the 4x rate that fold to 14-18 kHz); plain 8x (the
//! 96 kHz column of plain 4x) -62.3 dBFS; ADAA at 8x -88.6 dBFS (-86.1 dBFS overall, which is
//! the plain path at 6 dB). Both paths delay the 4x stream by the same `inner_delay_4x`
//! samples (the plain one by a plain delay), which also makes the round trip whole without the
//! oversampler's padding sample, so the latency is the same on both (2 base samples more than
//! before ADAA) and the drive can move between them between blocks: the ADAA path rebuilds
//! its state from the kept 4x history when it starts, so the switch adds no transient. At or
//! below the threshold (the default drive among them) the plain path computes the same bits
//! as before, two samples later, at the same cost.
//!
//! The asymmetric curve produces DC, removed after downsampling by a one-pole DC blocker at
//! `DC_BLOCK_HZ` (-0.04 dB at 20 Hz). An odd curve (the soft clipper, or tape with no bias)
//! makes none from a symmetric waveform, so it skips the blocker by default: its 6 degrees of
//! phase shift at 20 Hz would otherwise be the largest difference between a lightly clipped
//! signal and its input. Clipping an asymmetric waveform hard does make DC, so the master's
//! clipper keeps the blocker on ([`Saturation::set_dc_blocker_always`]). The dry path of the mix is delayed by the oversampler's
//! latency so a parallel blend does not comb-filter.

pub(crate) mod antiderivative;

use crate::adaa::{self, COMPENSATED_DELAY_SAMPLES, COMPENSATION_TAPS};
use crate::delay::DelayLine;
use crate::fastmath;
use crate::oversampling::{fir_block, Oversampler};
use crate::util::{db_to_gain, sanitize};
use antiderivative::{soft_clip_table, SoftClip, Tanh};
use serde::{Deserialize, Serialize};

/// Corner of the DC blocker in Hz.
pub const DC_BLOCK_HZ: f32 = 2.0;
/// Soft clipper knee (fraction of full scale after drive): the curve is 1.5 dB under the line
/// here, within 0.14 dB at half of it and within 0.01 dB at a quarter.
pub const KNEE: f32 = 1.0;
/// The soft clipper's argument is clamped here so `u^4` cannot overflow (the curve is within
/// 1e-12 of its ceiling already).
const SOFT_CLIP_CLAMP: f32 = 1.0e4;
/// Internal base-rate sub-block.
const CHUNK: usize = 64;
/// Above this drive (dB) the 4x setting runs the 8x ADAA path (see the module docs). At it, the
/// plain 4x curve keeps a 10 kHz sine's aliases at or below -86 dBFS even at 0 dBFS input and
/// 44.1 kHz (tests/saturation_aliasing.rs); at 9 dB the soft clipper would reach -63 dBFS.
pub const ADAA_ABOVE_DRIVE_DB: f32 = 6.0;
/// 4x samples kept from the previous block: more than the ADAA path's whole memory (third
/// stage both ways, compensation FIR, ADAA), so running that path over them rebuilds its state
/// exactly when the drive moves onto it.
const HISTORY: usize = 24;
/// 8x samples of history the compensation FIR needs.
const COMP_HISTORY: usize = COMPENSATION_TAPS.len() - 1;

/// Transfer curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SaturationMode {
    /// Asymmetric tanh with bias (tape-style glue).
    #[default]
    Tape,
    /// Linear below the knee, smooth limiting above (clean soft clipper).
    SoftClip,
}

/// Saturation controls in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaturationSettings {
    pub mode: SaturationMode,
    /// Gain into the curve in dB (0 to 36); divided out again after it.
    pub drive_db: f32,
    /// Tape bias / colour, -1 to 1 (0 = symmetric, odd harmonics only).
    pub bias: f32,
    /// Wet share in percent.
    pub mix_percent: f32,
    /// Output trim in dB.
    pub output_db: f32,
    /// Oversampling factor: 1, 2 or 4 (applied by [`Saturation::new`] and
    /// [`Saturation::set_oversampling`], which reallocate nothing but reset).
    pub oversampling: usize,
}

impl Default for SaturationSettings {
    fn default() -> Self {
        Self {
            mode: SaturationMode::Tape,
            drive_db: 6.0,
            bias: 0.2,
            mix_percent: 100.0,
            output_db: 0.0,
            oversampling: 4,
        }
    }
}

/// The static curves, exposed for editor plots and tests. `x` is the input sample; the result
/// includes drive and its compensation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Curve {
    mode: SaturationMode,
    drive: f32,
    bias: f32,
    bias_offset: f32,
    compensation: f32,
}

impl Curve {
    /// Builds the curve for `settings`.
    pub fn new(settings: &SaturationSettings) -> Self {
        let drive = db_to_gain(settings.drive_db.clamp(0.0, 36.0));
        let bias = if settings.mode == SaturationMode::Tape {
            settings.bias.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        // The same tanh as `apply`, so silence maps to exactly zero.
        let t = fastmath::tanh(bias);
        let slope = drive * (1.0 - t * t);
        Self {
            mode: settings.mode,
            drive,
            bias,
            bias_offset: t,
            compensation: 1.0 / slope,
        }
    }

    /// Applies the curve to a block in place (the mode is matched once, so the loop
    /// vectorises; on AVX/AVX2 CPUs it runs on 8-lane registers with the same operations, hence
    /// the same bits as [`Self::apply`]).
    pub fn apply_block(&self, samples: &mut [f32]) {
        crate::simd::dispatch! {
            avx2 => self.apply_block_avx2(samples),
            avx => self.apply_block_avx(samples),
            _ => self.apply_block_impl(samples),
        }
    }

    // No FMA here: contraction would change the bits against the scalar `apply`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn apply_block_avx2(&self, samples: &mut [f32]) {
        self.apply_block_impl(samples);
    }

    // AVX without AVX2: the float arithmetic on 8-lane registers, the exponent bit tricks of
    // the fast tanh on 4-lane halves; the same operations, so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn apply_block_avx(&self, samples: &mut [f32]) {
        self.apply_block_impl(samples);
    }

    #[inline(always)]
    fn apply_block_impl(&self, samples: &mut [f32]) {
        match self.mode {
            SaturationMode::Tape => {
                for u in samples.iter_mut() {
                    *u = self.tape(*u);
                }
            }
            SaturationMode::SoftClip => {
                for u in samples.iter_mut() {
                    *u = self.soft_clip(*u);
                }
            }
        }
    }

    #[inline(always)]
    fn tape(&self, x: f32) -> f32 {
        (fastmath::tanh(self.drive * x + self.bias) - self.bias_offset) * self.compensation
    }

    #[inline(always)]
    // `clamp` would pass NaN through; max/min map it to a bound.
    #[allow(clippy::manual_clamp)]
    fn soft_clip(&self, x: f32) -> f32 {
        // max/min map NaN to a bound, so the result is always finite.
        let u = (self.drive * x).max(-SOFT_CLIP_CLAMP).min(SOFT_CLIP_CLAMP) * (1.0 / KNEE);
        let u2 = u * u;
        // Two square roots (exact IEEE instructions, vectorised) give the fourth root.
        let root4 = (1.0 + u2 * u2).sqrt().sqrt();
        KNEE * u / root4 * self.compensation
    }

    /// Whether the curve can turn a signal without DC into one with DC: only an asymmetric
    /// one (tape with a bias); an odd curve maps `-x` to `-f(x)`.
    pub fn makes_dc(&self) -> bool {
        self.mode == SaturationMode::Tape && self.bias != 0.0
    }

    /// First-order ADAA of the curve ([`crate::adaa`]) over `x` (curve inputs before the
    /// drive), into `out`; `prev_x` is the input before `x[0]` and becomes the last one. `x` is
    /// overwritten and `g` is scratch, both at least `x.len()` long.
    #[inline(always)]
    // `clamp` would pass NaN through; max/min map it to a bound.
    #[allow(clippy::manual_clamp)]
    fn adaa_block(&self, prev_x: &mut f32, x: &mut [f32], g: &mut [f32], out: &mut [f32]) {
        let Some(&last) = x.last() else {
            return;
        };
        let out = &mut out[..x.len()];
        match self.mode {
            SaturationMode::Tape => {
                let mut prev = self.drive * *prev_x + self.bias;
                for v in x.iter_mut() {
                    *v = self.drive * *v + self.bias;
                }
                adaa::process_block(&Tanh, &mut prev, x, g, out);
                for y in out.iter_mut() {
                    *y = (*y - self.bias_offset) * self.compensation;
                }
            }
            SaturationMode::SoftClip => {
                let to_u = |v: f32| {
                    (self.drive * v).max(-SOFT_CLIP_CLAMP).min(SOFT_CLIP_CLAMP) * (1.0 / KNEE)
                };
                let mut prev = to_u(*prev_x);
                for v in x.iter_mut() {
                    *v = to_u(*v);
                }
                let shape = SoftClip {
                    table: soft_clip_table(),
                };
                adaa::process_block(&shape, &mut prev, x, g, out);
                for y in out.iter_mut() {
                    *y = KNEE * *y * self.compensation;
                }
            }
        }
        *prev_x = last;
    }

    /// Applies the curve to one sample.
    #[inline(always)]
    pub fn apply(&self, x: f32) -> f32 {
        match self.mode {
            SaturationMode::Tape => self.tape(x),
            SaturationMode::SoftClip => self.soft_clip(x),
        }
    }
}

/// One-pole DC blocker `y[n] = x[n] - x[n-1] + r y[n-1]`, substituted into itself three times:
/// `y[n] = e[n] + r^4 y[n-4]` with `e[n] = sum_{j<4} r^j (x[n-j] - x[n-j-1])`. `e` is a plain
/// FIR and the recursion has a distance of four samples, so both loops run on 4-lane vectors
/// instead of waiting one multiply-add latency per sample. The substituted form has three extra
/// poles (at a quarter and half the sample rate, radius `r`) that `e`'s zeros cancel only up to
/// rounding, and near `r = 1` the recursion amplifies that residue about `1 / (1 - r^4)` times
/// (~1000 at 48 kHz): in `f32` that put a -95 dBFS tone at 12 kHz, so it runs in `f64`, where
/// the residue stays below -250 dBFS.
#[derive(Clone, Debug, PartialEq)]
struct DcBlocker {
    /// `x[n-4] .. x[n-1]` followed by the block's input.
    x: [f64; CHUNK + 4],
    /// `y[n-4] .. y[n-1]` followed by the block's output.
    y: [f64; CHUNK + 4],
}

impl Default for DcBlocker {
    fn default() -> Self {
        Self {
            x: [0.0; CHUNK + 4],
            y: [0.0; CHUNK + 4],
        }
    }
}

impl DcBlocker {
    /// `powers` = `[1, r, r^2, r^3, r^4]`; `samples.len() <= CHUNK`.
    #[inline(always)]
    fn process(&mut self, powers: &[f64; 5], samples: &mut [f32]) {
        let n = samples.len();
        for (x, &s) in self.x[4..4 + n].iter_mut().zip(samples.iter()) {
            *x = s as f64;
        }
        // Four samples at a time with the last four outputs in a local (one register), so the
        // recursion does not wait on a store and its reload each step.
        let step = |x: &[f64], y_before: f64| {
            let e = powers[0] * (x[4] - x[3])
                + powers[1] * (x[3] - x[2])
                + powers[2] * (x[2] - x[1])
                + powers[3] * (x[1] - x[0]);
            let v = e + powers[4] * y_before;
            // Flush the decaying tail before it turns subnormal (in f32).
            if v.abs() < 1e-30 {
                0.0
            } else {
                v
            }
        };
        let quads = n / 4;
        let mut last4 = [self.y[0], self.y[1], self.y[2], self.y[3]];
        for q in 0..quads {
            for (j, y) in last4.iter_mut().enumerate() {
                let i = 4 * q + j;
                *y = step(&self.x[i..i + 5], *y);
            }
            self.y[4 * q + 4..4 * q + 8].copy_from_slice(&last4);
        }
        for i in 4 * quads..n {
            self.y[i + 4] = step(&self.x[i..i + 5], self.y[i]);
        }
        for (s, &y) in samples.iter_mut().zip(&self.y[4..4 + n]) {
            *s = y as f32;
        }
        self.x.copy_within(n..n + 4, 0);
        self.y.copy_within(n..n + 4, 0);
    }
}

/// Multichannel oversampled saturator.
#[derive(Clone, Debug)]
pub struct Saturation {
    settings: SaturationSettings,
    dirty: bool,
    sample_rate_hz: f32,
    max_channels: usize,
    curve: Curve,
    mix: f32,
    output_gain: f32,
    oversampler: Oversampler,
    dry_delay: DelayLine,
    latency_2x: usize,
    latency_4x: usize,
    /// `[1, r, r^2, r^3, r^4]` of the DC blocker's pole `r`.
    dc_powers: [f64; 5],
    dc_state: Vec<DcBlocker>,
    /// The DC blocker runs whatever the curve ([`Self::set_dc_blocker_always`]).
    dc_blocker_always: bool,
    /// Whether the 4x path runs the 8x ADAA curve (drive above [`ADAA_ABOVE_DRIVE_DB`]).
    adaa: bool,
    /// Delay of the 4x stream between the two halves of the oversampler, in 4x samples (the
    /// ADAA path's, matched by the plain path).
    inner_delay_4x: usize,
    /// Per channel, the last [`HISTORY`] upsampled samples (4x).
    history: Vec<[f32; HISTORY]>,
    /// [`HISTORY`] samples of history followed by one upsampled block (4x).
    up: Vec<f32>,
    /// The ADAA path's output at 4x.
    inner: Vec<f32>,
    adaa_path: AdaaPath,
    wet: [f32; CHUNK],
}

/// The 8x ADAA path's buffers and per-channel state.
#[derive(Clone, Debug)]
struct AdaaPath {
    /// Per channel: whether the state below follows the signal (false after the plain path
    /// ran, so the next ADAA block first rebuilds it from the 4x history).
    warm: Vec<bool>,
    /// Per channel, the last [`COMP_HISTORY`] 8x samples before the compensation FIR.
    comp_history: Vec<[f32; COMP_HISTORY]>,
    /// Per channel, the last output of the compensation FIR: the ADAA's previous input.
    prev: Vec<f32>,
    /// [`COMP_HISTORY`] samples of history followed by one block at 8x.
    up: Vec<f32>,
    compensated: Vec<f32>,
    remainders: Vec<f32>,
    out: Vec<f32>,
}

impl AdaaPath {
    fn new(max_channels: usize, max_block_4x: usize) -> Self {
        let n = 2 * max_block_4x;
        Self {
            warm: vec![false; max_channels],
            comp_history: vec![[0.0; COMP_HISTORY]; max_channels],
            prev: vec![0.0; max_channels],
            up: vec![0.0; COMP_HISTORY + n],
            compensated: vec![0.0; n],
            remainders: vec![0.0; n],
            out: vec![0.0; n],
        }
    }

    fn reset(&mut self) {
        self.warm.fill(false);
    }

    /// 4x `input` to 4x `output` through the third half-band stage, the compensation FIR and
    /// the ADAA curve at 8x; a delay of `(third stage round trip + 2) / 2` 4x samples.
    #[inline(always)]
    fn process(
        &mut self,
        os: &mut Oversampler,
        curve: &Curve,
        c: usize,
        input: &[f32],
        output: &mut [f32],
    ) {
        let n = 2 * input.len();
        let up = &mut self.up[..COMP_HISTORY + n];
        up[..COMP_HISTORY].copy_from_slice(&self.comp_history[c]);
        os.upsample_extra(c, input, &mut up[COMP_HISTORY..]);
        self.comp_history[c].copy_from_slice(&up[n..]);
        let compensated = &mut self.compensated[..n];
        fir_block(up, &COMPENSATION_TAPS, compensated);
        let out = &mut self.out[..n];
        curve.adaa_block(&mut self.prev[c], compensated, &mut self.remainders, out);
        os.downsample_extra(c, out, output);
    }

    /// [`Self::process`] for `input`, rebuilding the state from `history` (the 4x samples just
    /// before it) first if the plain path ran last.
    #[inline(always)]
    fn process_from(
        &mut self,
        os: &mut Oversampler,
        curve: &Curve,
        c: usize,
        history: &[f32],
        input: &[f32],
        output: &mut [f32],
    ) {
        if !self.warm[c] {
            os.reset_extra(c);
            self.comp_history[c] = [0.0; COMP_HISTORY];
            self.prev[c] = 0.0;
            // The warm-up's output is discarded.
            let mut scratch = [0.0; HISTORY];
            self.process(os, curve, c, history, &mut scratch[..history.len()]);
            self.warm[c] = true;
        }
        self.process(os, curve, c, input, output);
    }
}

impl Saturation {
    /// Allocates a saturator for up to `max_channels` channels with `settings` (its
    /// oversampling factor is fixed here and by [`Self::set_oversampling`]).
    pub fn new(max_channels: usize, settings: SaturationSettings) -> Self {
        let max_channels = max_channels.max(1);
        let mut oversampler = Oversampler::new(max_channels, CHUNK, settings.oversampling);
        let inner_delay_4x = (oversampler.extra_round_trip() + COMPENSATED_DELAY_SAMPLES) / 2;
        assert!(
            inner_delay_4x <= HISTORY,
            "history shorter than the ADAA path's delay"
        );
        if oversampler.factor() == 4 {
            oversampler.set_inner_delay(inner_delay_4x);
        }
        let latency_2x = Oversampler::new(1, 1, 2).latency_samples();
        let mut os4 = Oversampler::new(1, 1, 4);
        os4.set_inner_delay(inner_delay_4x);
        let latency_4x = os4.latency_samples();
        // Built here, off the audio thread.
        soft_clip_table();
        let mut s = Self {
            settings,
            dirty: true,
            sample_rate_hz: 48_000.0,
            max_channels,
            curve: Curve::new(&settings),
            mix: 1.0,
            output_gain: 1.0,
            oversampler,
            dry_delay: DelayLine::new(max_channels, latency_2x.max(latency_4x)),
            latency_2x,
            latency_4x,
            dc_powers: [1.0, 0.0, 0.0, 0.0, 0.0],
            dc_state: vec![DcBlocker::default(); max_channels],
            dc_blocker_always: false,
            adaa: false,
            inner_delay_4x,
            history: vec![[0.0; HISTORY]; max_channels],
            up: vec![0.0; HISTORY + CHUNK * crate::oversampling::MAX_FACTOR],
            inner: vec![0.0; CHUNK * crate::oversampling::MAX_FACTOR],
            adaa_path: AdaaPath::new(max_channels, CHUNK * crate::oversampling::MAX_FACTOR),
            wet: [0.0; CHUNK],
        };
        s.update();
        s
    }

    /// Sets the sample rate in Hz (only the DC blocker depends on it) and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        // The unit computes in f32; the rate is rounded to f32 once, here.
        self.sample_rate_hz = (sample_rate_hz as f32).max(1.0);
        self.update();
        self.reset();
    }

    /// Records new settings for the next block. A changed oversampling factor is applied too
    /// (it changes the latency; do it on activation).
    pub fn set_settings(&mut self, settings: SaturationSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.dirty = true;
        }
    }

    /// Changes the oversampling factor (1, 2, 4) and resets the filters.
    pub fn set_oversampling(&mut self, factor: usize) {
        self.settings.oversampling = factor;
        self.dirty = true;
    }

    /// The static curve in use.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// Latency in samples (the oversampler's round trip) for the current settings.
    pub fn latency_samples(&self) -> usize {
        match Oversampler::valid_factor(self.settings.oversampling) {
            1 => 0,
            2 => self.latency_2x,
            _ => self.latency_4x,
        }
    }

    /// Runs the DC blocker after the curve even when the curve is odd (it is always on for an
    /// asymmetric one). An odd curve makes no DC from a symmetric waveform, but from an
    /// asymmetric one whose positive peaks are larger than its negative ones (or the other way)
    /// it clips one side more and makes DC: measured on a real song's mix driven to club
    /// loudness through the master's clipper, -55 dBFS from a -112 dBFS input. Call before
    /// processing (it resets the blocker).
    pub fn set_dc_blocker_always(&mut self, on: bool) {
        self.dc_blocker_always = on;
        self.dc_state.fill(DcBlocker::default());
    }

    /// Clears filter, delay and DC-blocker state.
    pub fn reset(&mut self) {
        self.oversampler.reset();
        self.dry_delay.reset();
        self.dc_state.fill(DcBlocker::default());
        self.history.fill([0.0; HISTORY]);
        self.adaa_path.reset();
    }

    fn update(&mut self) {
        self.dirty = false;
        let s = self.settings;
        self.curve = Curve::new(&s);
        let mix = if s.mix_percent.is_finite() {
            s.mix_percent
        } else {
            100.0
        };
        self.mix = mix.clamp(0.0, 100.0) * 0.01;
        self.output_gain = db_to_gain(if s.output_db.is_finite() {
            s.output_db.clamp(-48.0, 24.0)
        } else {
            0.0
        });
        if Oversampler::valid_factor(s.oversampling) != self.oversampler.factor() {
            self.oversampler.set_factor(s.oversampling);
            let inner = if self.oversampler.factor() == 4 {
                self.inner_delay_4x
            } else {
                0
            };
            self.oversampler.set_inner_delay(inner);
            self.dry_delay.reset();
            self.history.fill([0.0; HISTORY]);
            self.adaa_path.reset();
        }
        // The curve's own clamp (a NaN drive stays NaN there and here compares false).
        self.adaa =
            self.oversampler.factor() == 4 && s.drive_db.clamp(0.0, 36.0) > ADAA_ABOVE_DRIVE_DB;
        self.dry_delay
            .set_delay_samples(self.oversampler.latency_samples());
        let r =
            (-2.0 * std::f64::consts::PI * DC_BLOCK_HZ as f64 / self.sample_rate_hz as f64).exp();
        self.dc_powers = [0, 1, 2, 3, 4].map(|k| r.powi(k));
    }

    /// Saturates planar `channels` in place.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        if self.dirty {
            self.update();
        }
        crate::simd::dispatch! {
            avx2 => self.process_block_avx2(channels),
            avx => self.process_block_avx(channels),
            _ => self.process_block_impl(channels),
        }
    }

    /// As [`Self::process_block_avx2`] for CPUs with AVX but not AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn process_block_avx(&mut self, channels: &mut [&mut [f32]]) {
        self.process_block_impl(channels);
    }

    /// The per-sample loops (DC blocker, mix) on 8-lane registers; no FMA, so the same bits as
    /// the baseline build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_block_avx2(&mut self, channels: &mut [&mut [f32]]) {
        self.process_block_impl(channels);
    }

    #[inline(always)]
    fn process_block_impl(&mut self, channels: &mut [&mut [f32]]) {
        let num_ch = channels.len().min(self.max_channels);
        let factor = self.oversampler.factor();
        let curve = self.curve;
        let (mix, out_gain, dc_powers) = (self.mix, self.output_gain, self.dc_powers);
        let makes_dc = curve.makes_dc() || self.dc_blocker_always;
        for (c, ch) in channels[..num_ch].iter_mut().enumerate() {
            sanitize(ch);
            for x in ch.chunks_mut(CHUNK) {
                let m = x.len();
                if factor == 4 {
                    self.process_4x(c, x);
                } else {
                    let up = &mut self.up[..m * factor];
                    self.oversampler.upsample(c, x, up);
                    curve.apply_block(up);
                    self.oversampler.downsample(c, up, &mut self.wet[..m]);
                }
                let wet = &mut self.wet[..m];
                if makes_dc {
                    self.dc_state[c].process(&dc_powers, wet);
                }
                self.dry_delay.process_block(c, x);
                for (d, &w) in x.iter_mut().zip(wet.iter()) {
                    *d = (*d + mix * (w - *d)) * out_gain;
                }
            }
        }
    }
}

impl Saturation {
    /// One chunk at 4x into `self.wet`: upsample behind the kept history, then either the plain
    /// curve on the stream delayed by `inner_delay_4x`, or the 8x ADAA path (the same delay);
    /// the history is kept on both, so the drive can move between them between blocks.
    #[inline(always)]
    fn process_4x(&mut self, c: usize, x: &[f32]) {
        let n = 4 * x.len();
        let buf = &mut self.up[..HISTORY + n];
        buf[..HISTORY].copy_from_slice(&self.history[c]);
        self.oversampler.upsample(c, x, &mut buf[HISTORY..]);
        // Kept before the plain curve overwrites the stream.
        let mut next_history = [0.0; HISTORY];
        next_history.copy_from_slice(&buf[n..]);
        let wet = &mut self.wet[..x.len()];
        if self.adaa {
            let inner = &mut self.inner[..n];
            let (history, block) = buf.split_at(HISTORY);
            self.adaa_path.process_from(
                &mut self.oversampler,
                &self.curve,
                c,
                history,
                block,
                inner,
            );
            self.oversampler.downsample(c, inner, wet);
        } else {
            self.adaa_path.warm[c] = false;
            let delayed = &mut buf[HISTORY - self.inner_delay_4x..][..n];
            self.curve.apply_block(delayed);
            self.oversampler.downsample(c, delayed, wet);
        }
        self.history[c] = next_history;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_have_unit_slope_at_zero_and_are_bounded() {
        for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
            let c = Curve::new(&SaturationSettings {
                mode,
                drive_db: 12.0,
                ..SaturationSettings::default()
            });
            let slope = (c.apply(1e-4) - c.apply(-1e-4)) / 2e-4;
            assert!((slope - 1.0).abs() < 1e-3, "{mode:?}: {slope}");
            assert_eq!(c.apply(0.0), 0.0);
            assert!(c.apply(100.0).is_finite());
        }
    }

    /// Clean character: within 0.01 dB of the line up to a quarter of the knee (the series
    /// `u - u^5/4` predicts 0.0085 dB there), monotone, and never above full scale.
    #[test]
    fn soft_clip_is_linear_well_below_the_knee_and_bounded() {
        let c = Curve::new(&SaturationSettings {
            mode: SaturationMode::SoftClip,
            drive_db: 0.0,
            ..SaturationSettings::default()
        });
        let mut prev = 0.0f32;
        for i in 1..=4000 {
            let x = i as f32 * 0.001;
            let y = c.apply(x);
            assert!(y > prev && y < 1.0, "x = {x}: {y}");
            assert_eq!(c.apply(-x), -y);
            if x <= 0.25 * KNEE {
                let db = 20.0 * (y / x).log10();
                assert!(db.abs() < 0.01, "x = {x}: {db} dB");
            }
            prev = y;
        }
        // Analytic value at the knee: 2^(-1/4).
        assert!((c.apply(KNEE) - 0.5f32.powf(0.25)).abs() < 1e-6);
        assert!((c.apply(1e30) - 1.0).abs() < 1e-6);
    }
}
