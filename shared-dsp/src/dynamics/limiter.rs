//! Lookahead true-peak limiter.
//!
//! Detection is oversampled: each channel runs the BS.1770-5 Annex 2 interpolator of
//! [`crate::meter::true_peak::TruePeakDetector`] (the meter's code, not a copy), which reports
//! the largest reconstructed magnitude between two input samples. From it the gain each
//! inter-sample interval needs, `min(1, ceiling / peak)`, is turned into a gain curve in four
//! stages, after the lookahead limiters of lsp-dsp-units (`dspu::Limiter`) and
//! x42-dpl:
//! 1. a running minimum over `H` samples (hold), so the gain is already down before a peak's
//!    interval arrives and stays down until after it;
//! 2. the release envelope (instant attack; fixed or program-dependent auto release,
//!    [`super::envelope`]), which can only lower the gain further;
//! 3. two cascaded moving averages whose spans add up to the lookahead: the attack becomes a
//!    smooth S-shaped ramp across the lookahead instead of a step (no clicks);
//! 4. the audio is delayed by exactly the latency and multiplied by the gain.
//!
//! Why the ceiling holds between samples: a moving average of values that are all at most `r`
//! is at most `r`, so if the hold window covers the averaging span, the guard band and the
//! detector delay, every output sample within `GUARD_SAMPLES` of a peak interval carries a gain
//! no higher than that interval needs. The reconstructed output around the peak is then the
//! reconstructed input scaled by at most `r`, up to the sinc tails beyond the guard band.
//!
//! The interpolator itself (32 taps per phase, passband to 0.4535 fs) under-reads content
//! between about 0.45 fs and Nyquist, which a DAC (and the ideal reconstruction of the tests)
//! still reproduces: on white noise, naive square waves and near-Nyquist onsets the bare
//! reading let 0.3 to 0.8 dB overs through. So the reading is raised by the magnitude of the
//! high-band residual (input minus a 31-tap lowpass at 0.43 fs, weighted by `HF_WEIGHT`), a
//! triangle-inequality bound on what the interpolator cannot see, plus `SAFETY_MARGIN_DB`. On
//! programme material with little energy above 0.43 fs this costs next to nothing; on
//! full-band test signals it limits by up to about 1.5 dB more than strictly needed (5.5 dB on
//! a steady sine at 0.45 fs), which is the price of no overs. The test suite checks the ceiling
//! with an independent 16x FFT reconstruction on square waves, +12 dB white noise, near-Nyquist
//! sines, +20 dB transients and single-sample spikes.
//!
//! The guard band is what keeps that last clause small. The reconstructed value between two
//! samples is `sum_k g[k] x[k] sinc(t - k)`: neighbours beyond the guard band still carry up to
//! `1/(pi d)` of their value, and there the gain may already be rising (a short attack ramp
//! rises within a few samples of the guard's edge). With an 8-sample guard that let loud
//! full-band material through by up to 0.15 dB (and short ramps by up to 0.45 dB), which earlier
//! versions covered with measured headroom. Measured with no headroom at all on the worst
//! torture signal (+12 dB white noise, 12 seeds, 1-3 ms lookahead, linked and unlinked, 16x
//! reference): guard 8 samples +0.151 dB over, 16 samples +0.007 dB, 32 samples 0.024 dB under,
//! and the whole torture set including 0.1 ms ramps holds. So the guard is 32 samples (0.7 ms
//! at 48 kHz of extra hold and latency), and the remaining headroom is only the detector's own
//! derived under-read ([`SAFETY_MARGIN_DB`]).
//!
//! Below the ceiling every stage returns exactly 1.0 (the averages count the samples below
//! unity, the release envelope snaps to zero reduction), so the output is the input delayed
//! bit-exactly: no pumping, no colouring.

use super::envelope::{BranchingSmoother, DualRelease};
use super::reading::ReductionReading;
use crate::delay::DelayLine;
use crate::meter::true_peak::TruePeakDetector;
use crate::util::{db_to_gain, gain_to_db, sanitize, unit_rate_hz, PendingSettings};
use serde::{Deserialize, Serialize};

/// Shortest lookahead (attack ramp) in ms.
pub const MIN_LOOKAHEAD_MS: f32 = 0.1;
/// Longest lookahead (attack ramp) in ms.
pub const MAX_LOOKAHEAD_MS: f32 = 10.0;
/// Samples on each side of a peak interval that must carry its full reduction. The sinc
/// kernel's neighbours within this distance dominate the reconstructed value between two
/// samples; 32 is where the tails beyond it stopped producing overs (see the module notes:
/// 8 samples left +0.15 dB, 16 +0.007 dB, 32 none with 0.024 dB to spare).
pub const GUARD_SAMPLES: usize = 32;
/// Internal headroom below the ceiling in dB: the detector's worst under-read of a peak it can
/// see. Its parabolic refinement reads a sine whose oversampled points are `d` radians apart
/// at worst `cos(d/2) (1 + sin^2(d/2) / 2)` of the peak, -0.050 dB for 20 kHz at 44.1 kHz x4
/// (`meter::true_peak`; measured bound over 20 Hz-20 kHz and all phases -0.055 dB at 44.1 kHz,
/// -0.028 dB at 48 kHz), rounded up. What the interpolator cannot see at all (0.45 fs to
/// Nyquist) is covered by the high-band residual, not by this margin.
pub const SAFETY_MARGIN_DB: f32 = 0.06;
/// Auto release: the slow envelope releases this many times slower than `release_ms`.
const AUTO_SLOW_RELEASE_FACTOR: f32 = 10.0;
/// Auto release: limiting must last about this long (ms) before recovery slows down.
const AUTO_SLOW_ATTACK_MS: f32 = 300.0;
/// Rate the detector's interpolator is designed for, whatever the real rate. The design works
/// in normalised frequency and is the meter's, but the meter limits its passband to 20 kHz at
/// high rates (right for BS.1770 metering, which only cares about the audio band). A DAC still
/// reconstructs ultrasonic content, so the limiter asks for the design whose passband reaches
/// 0.4535 of the rate (the 44.1 kHz one, 4x): at 96 kHz it sees up to 43.5 kHz.
const DETECTOR_DESIGN_RATE_HZ: f64 = 44_100.0;
/// Internal sub-block length for the detector and gain passes.
const CHUNK: usize = 64;

/// Taps of the high-band residual filter; odd, with its delay `(HF_TAPS - 1) / 2` one sample
/// less than the detector's so the residual straddles the detector's interval.
const HF_TAPS: usize = 31;
/// Cut-off (-6 dB) of the lowpass whose complement is the high-band residual, as a fraction of
/// the sample rate: above about 0.45 fs the detector's interpolator rolls off.
const HF_CUTOFF: f64 = 0.43;
/// Weight of the residual's magnitude added to the detector reading. 1.0 is the bare triangle
/// inequality; the detector's own image leakage near Nyquist needs a little more (1.0 left
/// +0.09 dB overs on a naive 5 kHz square at 48 kHz, 1.25 leaves 0.12 dB to spare).
const HF_WEIGHT: f32 = 1.25;

/// Magnitude of the content the detector cannot see: a linear-phase high-pass (input minus a
/// Kaiser lowpass) of the top of the band, maximised over the two samples that bound the
/// detector's interval. Adding it to the reading bounds the ideal reconstruction from above,
/// by the triangle inequality `|x(t)| <= |x_low(t)| + |x_high(t)|`; on ordinary programme
/// material (little energy above 0.43 fs) it is negligible.
#[derive(Clone, Debug)]
struct HfResidual {
    /// Lowpass taps, oldest first (symmetric).
    taps: [f32; HF_TAPS],
    /// The last `HF_TAPS - 1` inputs followed by the current chunk, so every filter window is
    /// a plain slice (block FIR, see [`crate::oversampling::fir_block`]).
    buf: [f32; HF_TAPS - 1 + CHUNK],
    low: [f32; CHUNK],
    prev: f32,
}

impl HfResidual {
    fn new() -> Self {
        let design = crate::oversampling::design_lowpass(HF_TAPS, HF_CUTOFF, 40.0);
        let mut taps = [0.0f32; HF_TAPS];
        for (t, &d) in taps.iter_mut().zip(design.iter()) {
            *t = d as f32;
        }
        Self {
            taps,
            buf: [0.0; HF_TAPS - 1 + CHUNK],
            low: [0.0; CHUNK],
            prev: 0.0,
        }
    }

    fn reset(&mut self) {
        self.buf = [0.0; HF_TAPS - 1 + CHUNK];
        self.prev = 0.0;
    }

    /// Adds `weight` times the residual bound of each sample of `input` (finite, at most
    /// `CHUNK` long) to `peaks`.
    #[inline]
    fn add_to(&mut self, input: &[f32], peaks: &mut [f32], weight: f32) {
        let n = input.len();
        let h = HF_TAPS - 1;
        self.buf[h..h + n].copy_from_slice(input);
        crate::oversampling::fir_block(&self.buf[..h + n], &self.taps, &mut self.low[..n]);
        // Output i is centred (HF_TAPS - 1) / 2 samples before input i.
        let centre = &self.buf[h / 2..h / 2 + n];
        let mut prev = self.prev;
        for ((p, &c), &lo) in peaks.iter_mut().zip(centre).zip(&self.low[..n]) {
            let high = (c - lo).abs();
            *p += weight * high.max(prev);
            prev = high;
        }
        self.prev = prev;
        self.buf.copy_within(n..n + h, 0);
    }
}

/// Limiter controls in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LimiterSettings {
    /// Output ceiling in dBTP (-1.0 for streaming, -0.5, -3 for vinyl).
    pub ceiling_dbtp: f32,
    /// Gain applied before limiting, in dB (drives the limiter for loudness).
    pub input_gain_db: f32,
    /// Attack ramp length in ms ([`MIN_LOOKAHEAD_MS`] to [`MAX_LOOKAHEAD_MS`]).
    pub lookahead_ms: f32,
    /// Release time constant in ms (fast release in auto mode).
    pub release_ms: f32,
    /// Program-dependent release: slows after sustained limiting.
    pub auto_release: bool,
    /// Stereo link in percent: 100 = one gain for all channels, 0 = independent channels.
    pub stereo_link_percent: f32,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        Self {
            ceiling_dbtp: -1.0,
            input_gain_db: 0.0,
            lookahead_ms: 1.5,
            release_ms: 50.0,
            auto_release: true,
            stereo_link_percent: 100.0,
        }
    }
}

impl LimiterSettings {
    /// The settings actually used, every value clamped to its valid range.
    pub fn effective(&self) -> Self {
        let f = |v: f32, fallback: f32| if v.is_finite() { v } else { fallback };
        Self {
            ceiling_dbtp: f(self.ceiling_dbtp, -1.0).clamp(-60.0, 0.0),
            input_gain_db: f(self.input_gain_db, 0.0).clamp(-60.0, 60.0),
            lookahead_ms: f(self.lookahead_ms, 1.5).clamp(MIN_LOOKAHEAD_MS, MAX_LOOKAHEAD_MS),
            release_ms: f(self.release_ms, 50.0).clamp(1.0, 5000.0),
            auto_release: self.auto_release,
            stereo_link_percent: f(self.stereo_link_percent, 100.0).clamp(0.0, 100.0),
        }
    }
}

/// Sliding-window minimum by the monotonic-deque method: O(1) amortised per sample, exact.
#[derive(Clone, Debug)]
struct RunningMin {
    values: Vec<f32>,
    stamps: Vec<usize>,
    mask: usize,
    window: usize,
    at: MinCursor,
}

/// Where a [`RunningMin`]'s deque starts and ends, and the sample count.
#[derive(Clone, Copy, Debug, Default)]
struct MinCursor {
    head: usize,
    tail: usize,
    now: usize,
}

impl RunningMin {
    fn new(max_window: usize) -> Self {
        let cap = (max_window + 2).next_power_of_two();
        Self {
            values: vec![1.0; cap],
            stamps: vec![0; cap],
            mask: cap - 1,
            window: 1,
            at: MinCursor::default(),
        }
    }

    fn set_window(&mut self, window: usize) {
        self.window = window.clamp(1, self.mask - 1);
        self.reset();
    }

    fn reset(&mut self) {
        self.at = MinCursor::default();
    }

    /// Starts a run of samples: the deque indices move into a [`MinRun`] of locals, so they
    /// stay in registers and the stages of a gain path can run interleaved in one loop;
    /// [`MinRun::finish`] hands them back.
    #[inline(always)]
    fn begin(&mut self) -> MinRun<'_> {
        MinRun {
            values: &mut self.values[..],
            stamps: &mut self.stamps[..],
            mask: self.mask,
            window: self.window,
            at: self.at,
            home: &mut self.at,
        }
    }
}

/// A [`RunningMin`] during a run of samples (see [`RunningMin::begin`]).
struct MinRun<'a> {
    values: &'a mut [f32],
    stamps: &'a mut [usize],
    mask: usize,
    window: usize,
    at: MinCursor,
    home: &'a mut MinCursor,
}

impl MinRun<'_> {
    /// Pushes `x` and returns the minimum of the last `window` values.
    #[inline(always)]
    fn step(&mut self, x: f32) -> f32 {
        let mask = self.mask;
        let at = &mut self.at;
        while at.tail != at.head && self.values[(at.tail - 1) & mask] >= x {
            at.tail -= 1;
        }
        self.values[at.tail & mask] = x;
        self.stamps[at.tail & mask] = at.now;
        at.tail += 1;
        if self.stamps[at.head & mask] + self.window <= at.now {
            at.head += 1;
        }
        at.now += 1;
        self.values[at.head & mask]
    }

    /// Ends the run: the indices go back to the [`RunningMin`].
    #[inline(always)]
    fn finish(self) {
        *self.home = self.at;
    }
}

/// Moving average of gains (<= 1) that returns exactly 1.0 when every gain in the window is 1.
#[derive(Clone, Debug)]
struct MovingAverage {
    ring: Vec<f32>,
    mask: usize,
    len: usize,
    inv_len: f64,
    at: AverageCursor,
}

/// A [`MovingAverage`]'s running state: write position, sum, and how many values in the
/// window are below unity.
#[derive(Clone, Copy, Debug)]
struct AverageCursor {
    pos: usize,
    sum: f64,
    below_unity: usize,
}

impl MovingAverage {
    fn new(max_len: usize) -> Self {
        let cap = max_len.max(1).next_power_of_two();
        Self {
            ring: vec![1.0; cap],
            mask: cap - 1,
            len: 1,
            inv_len: 1.0,
            at: AverageCursor {
                pos: 0,
                sum: 1.0,
                below_unity: 0,
            },
        }
    }

    fn set_len(&mut self, len: usize) {
        self.len = len.clamp(1, self.mask + 1);
        self.inv_len = 1.0 / self.len as f64;
        self.reset();
    }

    fn reset(&mut self) {
        self.ring.fill(1.0);
        self.at = AverageCursor {
            pos: 0,
            sum: self.len as f64,
            below_unity: 0,
        };
    }

    /// Starts a run of samples: the running state moves into an [`AverageRun`] of locals, so
    /// it stays in registers and several stages can run interleaved in one loop;
    /// [`AverageRun::finish`] hands it back.
    #[inline(always)]
    fn begin(&mut self) -> AverageRun<'_> {
        AverageRun {
            ring: &mut self.ring[..],
            len: self.len,
            mask: self.mask,
            inv_len: self.inv_len,
            at: self.at,
            home: &mut self.at,
        }
    }
}

/// A [`MovingAverage`] during a run of samples (see [`MovingAverage::begin`]).
struct AverageRun<'a> {
    ring: &'a mut [f32],
    len: usize,
    mask: usize,
    inv_len: f64,
    at: AverageCursor,
    home: &'a mut AverageCursor,
}

impl AverageRun<'_> {
    /// Pushes `x` and returns the average of the last `len` values.
    #[inline(always)]
    fn step(&mut self, x: f32) -> f32 {
        let at = &mut self.at;
        let old = self.ring[at.pos.wrapping_sub(self.len) & self.mask];
        self.ring[at.pos] = x;
        at.pos = (at.pos + 1) & self.mask;
        at.sum += x as f64 - old as f64;
        at.below_unity = at.below_unity + (x < 1.0) as usize - (old < 1.0) as usize;
        if at.below_unity == 0 {
            // Drop the rounding residue so unity is exact again.
            at.sum = self.len as f64;
            1.0
        } else {
            (at.sum * self.inv_len) as f32
        }
    }

    /// Ends the run: the state goes back to the [`MovingAverage`].
    #[inline(always)]
    fn finish(self) {
        *self.home = self.at;
    }
}

/// Release envelope in the reduction domain (`1 - gain`).
#[derive(Clone, Copy, Debug)]
enum Release {
    Fixed(BranchingSmoother),
    Auto(DualRelease),
}

impl Release {
    fn reset(&mut self) {
        match self {
            Release::Fixed(b) => b.reset(),
            Release::Auto(d) => d.reset(),
        }
    }
}

/// One gain path: hold, release, attack ramp.
#[derive(Clone, Debug)]
struct GainPath {
    hold: RunningMin,
    release: Release,
    ramp1: MovingAverage,
    ramp2: MovingAverage,
}

impl GainPath {
    fn reset(&mut self) {
        self.hold.reset();
        self.release.reset();
        self.ramp1.reset();
        self.ramp2.reset();
    }

    /// Turns a chunk of peak readings into gains: the required gains first (a loop that
    /// vectorises), then the recursive stages in one loop with their state in locals
    /// ([`RunningMin::begin`], [`MovingAverage::begin`]) so it stays in registers. A separate
    /// non-inlined function, so the compiler knows the state, the readings and the gains do
    /// not alias.
    #[inline(never)]
    fn process_chunk(&mut self, peaks: &[f32], gains: &mut [f32], ceiling: f32) {
        let gains = &mut gains[..peaks.len()];
        for (g, &pk) in gains.iter_mut().zip(peaks) {
            *g = if pk > ceiling { ceiling / pk } else { 1.0 };
        }
        // Hold, release and both ramps in one loop: each stage's recursion is a dependency
        // chain of its own, and interleaved they overlap in the pipeline.
        let mut hold = self.hold.begin();
        let mut ramp1 = self.ramp1.begin();
        let mut ramp2 = self.ramp2.begin();
        match &mut self.release {
            Release::Fixed(b) => {
                let mut r = *b;
                for g in gains.iter_mut() {
                    *g = ramp2.step(ramp1.step(1.0 - r.process(1.0 - hold.step(*g))));
                }
                *b = r;
            }
            Release::Auto(d) => {
                let mut r = *d;
                for g in gains.iter_mut() {
                    *g = ramp2.step(ramp1.step(1.0 - r.process(1.0 - hold.step(*g))));
                }
                *d = r;
            }
        }
        hold.finish();
        ramp1.finish();
        ramp2.finish();
    }
}

/// Multichannel lookahead true-peak limiter.
#[derive(Clone, Debug)]
pub struct Limiter {
    settings: PendingSettings<LimiterSettings>,
    sample_rate_hz: f32,
    max_channels: usize,
    reduction: ReductionReading,
    max_ramp_samples: usize,

    detectors: Vec<TruePeakDetector>,
    residuals: Vec<HfResidual>,
    paths: Vec<GainPath>,
    delay: DelayLine,
    latency: usize,
    input_gain: f32,
    ceiling: f32,
    link: f32,
    linked: bool,

    /// Per-channel detector readings for one chunk.
    peaks: Vec<[f32; CHUNK]>,
    /// Per-path gains for one chunk.
    gains: Vec<[f32; CHUNK]>,
}

impl Limiter {
    /// Allocates a limiter for up to `max_channels` channels at rates up to
    /// `max_sample_rate_hz`. Starts at 48 kHz with default settings.
    pub fn new(max_channels: usize, max_sample_rate_hz: f32) -> Self {
        let max_channels = max_channels.max(1);
        let max_rate = max_sample_rate_hz.max(48_000.0);
        let max_ramp_samples = (MAX_LOOKAHEAD_MS * 1e-3 * max_rate).ceil() as usize + 1;
        let det = TruePeakDetector::new(DETECTOR_DESIGN_RATE_HZ);
        let max_latency = det.latency_samples() + max_ramp_samples + GUARD_SAMPLES + 1;
        let max_hold = max_ramp_samples + 2 * GUARD_SAMPLES + 2;
        let path = GainPath {
            hold: RunningMin::new(max_hold),
            release: Release::Fixed(BranchingSmoother::default()),
            ramp1: MovingAverage::new(max_ramp_samples),
            ramp2: MovingAverage::new(max_ramp_samples),
        };
        let mut l = Self {
            settings: PendingSettings::new(LimiterSettings::default()),
            sample_rate_hz: 48_000.0,
            max_channels,
            reduction: ReductionReading::default(),
            max_ramp_samples,
            detectors: vec![det; max_channels],
            residuals: vec![HfResidual::new(); max_channels],
            paths: vec![path; max_channels],
            delay: DelayLine::new(max_channels, max_latency),
            latency: 0,
            input_gain: 1.0,
            ceiling: 1.0,
            link: 1.0,
            linked: true,
            peaks: vec![[0.0; CHUNK]; max_channels],
            gains: vec![[1.0; CHUNK]; max_channels],
        };
        l.update();
        l
    }

    /// Sets the sample rate in Hz (call from `activate()`): re-derives the time constants and
    /// resets. (The detector's design is rate independent, see `DETECTOR_DESIGN_RATE_HZ`.)
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = unit_rate_hz(sample_rate_hz);
        self.update();
        self.reset();
    }

    /// Records new settings; they apply at the start of the next block. A lookahead change
    /// changes the latency and restarts the gain paths (do it on activation).
    pub fn set_settings(&mut self, settings: LimiterSettings) {
        self.settings.set(settings);
    }

    /// The settings as last set.
    pub fn settings(&self) -> &LimiterSettings {
        &self.settings
    }

    /// Lengths of the two attack ramps (moving averages) for the current settings; their
    /// spans `(len - 1)` add up to the lookahead in samples.
    fn ramp_lengths(&self, s: &LimiterSettings) -> (usize, usize) {
        let span = ((s.lookahead_ms * 1e-3 * self.sample_rate_hz).round() as usize)
            .clamp(1, self.max_ramp_samples - 1);
        let a = span / 2;
        (a + 1, span - a + 1)
    }

    /// Latency in samples for the current settings: detector delay + attack ramp + guard.
    pub fn latency_samples(&self) -> usize {
        let s = self.settings.effective();
        let (a, b) = self.ramp_lengths(&s);
        self.detectors[0].latency_samples() + (a - 1) + (b - 1) + GUARD_SAMPLES
    }

    /// Oversampling factor of the detection at the current rate.
    pub fn oversampling(&self) -> usize {
        self.detectors[0].oversampling()
    }

    /// Clears all state without allocating.
    pub fn reset(&mut self) {
        for d in &mut self.detectors {
            d.reset();
        }
        for r in &mut self.residuals {
            r.reset();
        }
        for p in &mut self.paths {
            p.reset();
        }
        self.delay.reset();
        self.reduction = ReductionReading::default();
    }

    /// Current gain reduction in dB (>= 0) of the most reduced channel, for meters.
    pub fn gain_reduction_db(&self) -> f32 {
        self.reduction.now_db
    }

    /// Largest gain reduction in dB (>= 0) in the last processed block.
    pub fn block_max_gain_reduction_db(&self) -> f32 {
        self.reduction.block_max_db
    }

    fn update(&mut self) {
        self.settings.applied();
        let s = self.settings.effective();
        let fs = self.sample_rate_hz;
        let (a, b) = self.ramp_lengths(&s);
        let span = (a - 1) + (b - 1);
        let hold = span + 2 * GUARD_SAMPLES + 2;
        let release = if s.auto_release {
            Release::Auto(DualRelease::new(
                0.0,
                s.release_ms,
                AUTO_SLOW_ATTACK_MS,
                s.release_ms * AUTO_SLOW_RELEASE_FACTOR,
                fs,
            ))
        } else {
            Release::Fixed(BranchingSmoother::new(0.0, s.release_ms, fs))
        };
        let new_latency = self.latency_samples();
        let restart = new_latency != self.latency;
        for p in &mut self.paths {
            if restart {
                p.hold.set_window(hold);
                p.ramp1.set_len(a);
                p.ramp2.set_len(b);
                p.release = release;
            } else {
                // Only the release changed: keep its state so automation is smooth.
                p.release = match (p.release, release) {
                    (Release::Fixed(mut old), Release::Fixed(_)) => {
                        old.set_times(0.0, s.release_ms, fs);
                        Release::Fixed(old)
                    }
                    (Release::Auto(mut old), Release::Auto(_)) => {
                        old.set_times(
                            0.0,
                            s.release_ms,
                            AUTO_SLOW_ATTACK_MS,
                            s.release_ms * AUTO_SLOW_RELEASE_FACTOR,
                            fs,
                        );
                        Release::Auto(old)
                    }
                    (_, new) => new,
                };
            }
        }
        self.latency = new_latency;
        self.delay.set_delay_samples(new_latency);
        self.input_gain = db_to_gain(s.input_gain_db);
        self.ceiling = db_to_gain(s.ceiling_dbtp - SAFETY_MARGIN_DB);
        self.link = s.stereo_link_percent * 0.01;
        self.linked = s.stereo_link_percent >= 100.0;
    }

    /// Limits planar `channels` in place. Channels beyond `max_channels` are untouched; all
    /// channels are processed over the shortest length.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        if self.settings.is_pending() {
            self.update();
        }
        let (num_ch, len) = crate::util::processed_extent(channels, self.max_channels);
        if len == 0 {
            return;
        }
        let input_gain = self.input_gain;
        for ch in channels[..num_ch].iter_mut() {
            sanitize(&mut ch[..len]);
            if input_gain != 1.0 {
                for s in ch[..len].iter_mut() {
                    *s *= input_gain;
                }
            }
        }
        let num_paths = if self.linked { 1 } else { num_ch };
        let mut min_gain = 1.0f32;
        let mut start = 0;
        while start < len {
            let end = (start + CHUNK).min(len);
            let m = end - start;
            for (c, ch) in channels[..num_ch].iter().enumerate() {
                let x = &ch[start..end];
                // The detector's block kernel: the same readings as per sample, bit for bit,
                // but vectorised over time (about twice as fast).
                self.detectors[c].process_block(x, &mut self.peaks[c][..m]);
                self.residuals[c].add_to(x, &mut self.peaks[c][..m], HF_WEIGHT);
            }
            // Link: each channel's peak is raised towards the loudest channel's by the link
            // amount; fully linked, one path serves all channels.
            // Channel by channel over the whole chunk, so each pass vectorises over time.
            if num_ch > 1 {
                let mut loudest = [0.0f32; CHUNK];
                for peaks in &self.peaks[..num_ch] {
                    for (l, &p) in loudest[..m].iter_mut().zip(&peaks[..m]) {
                        *l = l.max(p);
                    }
                }
                if self.linked {
                    self.peaks[0][..m].copy_from_slice(&loudest[..m]);
                } else {
                    let link = self.link;
                    for peaks in &mut self.peaks[..num_ch] {
                        for (p, &l) in peaks[..m].iter_mut().zip(&loudest[..m]) {
                            *p = p.max(link * l);
                        }
                    }
                }
            }
            let ceiling = self.ceiling;
            for p in 0..num_paths {
                self.paths[p].process_chunk(&self.peaks[p][..m], &mut self.gains[p][..m], ceiling);
                min_gain = self.gains[p][..m].iter().fold(min_gain, |a, &b| a.min(b));
            }
            for (c, ch) in channels[..num_ch].iter_mut().enumerate() {
                let gains = &self.gains[if self.linked { 0 } else { c }];
                let x = &mut ch[start..end];
                self.delay.process_block(c, x);
                for (s, &g) in x.iter_mut().zip(gains[..m].iter()) {
                    *s *= g;
                }
            }
            start = end;
        }
        let last_gain = (0..num_paths)
            .map(|p| self.gains[p][(len - 1) % CHUNK])
            .fold(1.0f32, f32::min);
        self.reduction.now_db = -gain_to_db(last_gain).min(0.0);
        self.reduction.block_max_db = -gain_to_db(min_gain).min(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_min_matches_brute_force() {
        let mut rm = RunningMin::new(16);
        rm.set_window(7);
        let mut seed = 3u32;
        let xs: Vec<f32> = (0..500)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as f32 / 65_536.0
            })
            .collect();
        for i in 0..xs.len() {
            let mut run = rm.begin();
            let got = run.step(xs[i]);
            run.finish();
            let lo = i.saturating_sub(6);
            let want = xs[lo..=i].iter().fold(f32::INFINITY, |a, &b| a.min(b));
            assert_eq!(got, want, "{i}");
        }
    }

    #[test]
    fn moving_average_returns_exact_unity() {
        let mut ma = MovingAverage::new(32);
        ma.set_len(10);
        for i in 0..100 {
            let x = if i == 20 { 0.3 } else { 1.0 };
            let mut run = ma.begin();
            let y = run.step(x);
            run.finish();
            if (20..30).contains(&i) {
                assert!((y - 0.93).abs() < 1e-6);
            } else {
                assert_eq!(y, 1.0);
            }
        }
    }
}
