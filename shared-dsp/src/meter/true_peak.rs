//! True-peak detection after ITU-R BS.1770-5 Annex 2: oversample by a polyphase FIR
//! interpolator and take the largest magnitude of the interpolated signal.
//!
//! Annex 2 suggests 4x oversampling with a 48-tap filter at 48 kHz and notes that such a meter
//! under-reads a sine near Nyquist by up to 0.69 dB, because the oversampled points can straddle
//! the peak (`cos(pi / 8)`). Two choices remove most of that error here:
//!
//! - the oversampling factor is the smallest one that reaches an effective rate of at least
//!   176.4 kHz (4x at 44.1 and 48 kHz, 2x from 88.2 kHz up, 8x at 22.05 kHz), never below 2x;
//! - the largest oversampled point of each input sample is refined by a parabola through it and
//!   its two neighbours. For a sine whose points are `d` radians apart the refined value reads at
//!   worst `cos(d/2) * (1 + sin^2(d/2) / 2)`: -0.050 dB for 20 kHz at 44.1 kHz x4, against
//!   -0.55 dB for the bare points.
//!
//! The interpolation filter is a Kaiser-windowed sinc designed as an L-th band (Nyquist)
//! filter: every L-th tap is zero except the centre, so phase 0 reproduces the input sample
//! exactly (true peak is never below sample peak) and costs nothing. The passband runs to
//! `min(20 kHz, 0.4535 fs)`; the stopband starts at its mirror image about Nyquist. Kaiser's
//! formulas (1974) give the beta for the attenuation 32 taps per phase reach over that
//! transition (20 where it is at least 15 % of the rate, i.e. from 48 kHz up).
//!
//! Measured bound (`tests/meter_true_peak.rs`, sines from 20 Hz to 20 kHz at many phases, the
//! reading taken per period of the sine so no beat can hide a low reading): at 44.1 kHz
//! -0.055 / +0.058 dB, at 48 kHz -0.028 / +0.029 dB. Above the passband (20 to 22.05 kHz at
//! 44.1 kHz, 20 to 24 kHz at 48 kHz) the tone and its image beat; a steady tone still reads
//! its peak within 0.06 dB, but single peaks there can read up to several dB low, as with any
//! interpolator of finite length.
//!
//! Speed: the block kernel computes runs of 64 samples per phase, eight outputs per register
//! (an AVX build is picked at run time where the CPU has it, bit-identical to the SSE2 one),
//! and the meters pass the peak they already hold so the parabolic refinement runs only where
//! a sample could beat it.
//!
//! [`TruePeakDetector`] is the per-sample, allocation-free building block (the true-peak limiter
//! uses it); [`TruePeakMeter`] holds one detector per channel and keeps the running maximum.

use crate::util::gain_to_db;

/// Taps of each polyphase branch where the transition band is narrow (44.1 kHz and below:
/// 20 kHz to 24.1 kHz); sets the latency there (`taps / 2`).
pub const MAX_TAPS_PER_PHASE: usize = 32;
/// Taps of each polyphase branch where the transition band is at least 15 % of the rate
/// (48 kHz and up), enough for +-0.03 dB over 20 Hz..20 kHz.
pub const SHORT_TAPS_PER_PHASE: usize = 20;
/// Highest oversampling factor the detector supports (22.05 kHz x 8 = 176.4 kHz).
pub const MAX_OVERSAMPLING: usize = 8;
/// The effective rate the oversampling factor must reach, in Hz (house style, four times CD).
pub const MIN_EFFECTIVE_RATE_HZ: f64 = 176_400.0;

/// Oversampling factor used at `sample_rate_hz`: the smallest factor reaching
/// [`MIN_EFFECTIVE_RATE_HZ`], clamped to `2..=MAX_OVERSAMPLING`. The floor of 2 keeps
/// interpolation (and the parabolic refinement meaningful) for hi-res material whose content can
/// extend far above 20 kHz.
pub fn oversampling_factor(sample_rate_hz: f64) -> usize {
    let factor = (MIN_EFFECTIVE_RATE_HZ / sample_rate_hz.max(1.0) - 1e-9).ceil();
    (factor.max(2.0) as usize).min(MAX_OVERSAMPLING)
}

/// Zeroth-order modified Bessel function of the first kind, by its power series (converges fast
/// for the beta values of a Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half_x = 0.5 * x;
    for k in 1..64 {
        term *= half_x / k as f64;
        let t2 = term * term;
        sum += t2;
        if t2 < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Polyphase coefficients of the interpolator: `coefs[k][p]` multiplies `x[n - k]` for the output
/// point at phase `p` (time `n - taps/2 + p/L`). Phases at or above `L` and taps at or above
/// `taps` stay zero.
#[derive(Clone, Copy, Debug)]
pub struct InterpolatorCoefs {
    /// Oversampling factor `L`.
    pub factor: usize,
    /// Taps per phase `T` (even).
    pub taps: usize,
    /// `[tap][phase]`, padded to `MAX_OVERSAMPLING` phases.
    pub coefs: [[f32; MAX_OVERSAMPLING]; MAX_TAPS_PER_PHASE],
}

impl InterpolatorCoefs {
    /// Designs the Kaiser-windowed L-th band interpolator for `sample_rate_hz`.
    pub fn design(sample_rate_hz: f64) -> Self {
        let factor = oversampling_factor(sample_rate_hz);
        // Transition from the passband edge to the mirror image of it about Nyquist, as a
        // fraction of the input rate; Kaiser's formulas give the attenuation that T taps per
        // phase can reach over it, and the beta for that attenuation.
        let pass_hz = (0.4535 * sample_rate_hz).min(20_000.0);
        let transition = (1.0 - 2.0 * pass_hz / sample_rate_hz).max(0.02);
        let taps = if transition >= 0.15 {
            SHORT_TAPS_PER_PHASE
        } else {
            MAX_TAPS_PER_PHASE
        };
        let atten_db = (8.0 + 2.285 * 2.0 * std::f64::consts::PI * transition * taps as f64)
            .clamp(21.0, 120.0);
        let beta = if atten_db > 50.0 {
            0.1102 * (atten_db - 8.7)
        } else {
            0.5842 * (atten_db - 21.0).powf(0.4) + 0.078_86 * (atten_db - 21.0)
        };
        let len = factor * taps; // taps 0..len; tap `len` is a sinc zero
        let centre = len as f64 * 0.5;
        let i0_beta = bessel_i0(beta);
        let mut coefs = [[0.0f32; MAX_OVERSAMPLING]; MAX_TAPS_PER_PHASE];
        for p in 0..factor {
            // Normalise each phase to unity DC gain so a constant reads as itself.
            let mut phase_taps = [0.0f64; MAX_TAPS_PER_PHASE];
            let mut sum = 0.0;
            for (k, tap) in phase_taps[..taps].iter_mut().enumerate() {
                let m = (k * factor + p) as f64 - centre;
                let t = m / factor as f64;
                let sinc = if t == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
                };
                let r = m / centre;
                let window = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
                *tap = sinc * window;
                sum += *tap;
            }
            for (k, (tap, row)) in phase_taps[..taps].iter().zip(coefs.iter_mut()).enumerate() {
                row[p] = if p == 0 {
                    // Exactly the delayed input: the centre tap is 1, all others are sinc zeros.
                    if k == taps / 2 {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    (*tap / sum) as f32
                };
            }
        }
        Self {
            factor,
            taps,
            coefs,
        }
    }

    /// Complex response `(re, im)` of phase `phase` at `hz` relative to the input sample rate,
    /// with the nominal fractional delay `taps/2 - phase/L` removed, so an ideal
    /// interpolator reads `(1, 0)` at every frequency below Nyquist.
    pub fn response(&self, sample_rate_hz: f64, phase: usize, hz: f64) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * hz / sample_rate_hz;
        let delay = self.taps as f64 * 0.5 - phase as f64 / self.factor as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for k in 0..self.taps {
            let c = self.coefs[k][phase] as f64;
            let arg = -w * (k as f64 - delay);
            re += c * arg.cos();
            im += c * arg.sin();
        }
        (re, im)
    }
}

/// Calls `$method::<L, T>` for the detector's factor and tap count, so the inner loops are
/// compiled for constant sizes (the common 4x cases vectorise fully).
macro_rules! dispatch {
    ($self:ident, $method:ident, $arg:expr) => {
        match ($self.coefs.factor, $self.coefs.taps == SHORT_TAPS_PER_PHASE) {
            (2, true) => $self.$method::<2, SHORT_TAPS_PER_PHASE>($arg),
            (2, false) => $self.$method::<2, MAX_TAPS_PER_PHASE>($arg),
            (3, true) => $self.$method::<3, SHORT_TAPS_PER_PHASE>($arg),
            (3, false) => $self.$method::<3, MAX_TAPS_PER_PHASE>($arg),
            (4, true) => $self.$method::<4, SHORT_TAPS_PER_PHASE>($arg),
            (4, false) => $self.$method::<4, MAX_TAPS_PER_PHASE>($arg),
            (5, true) => $self.$method::<5, SHORT_TAPS_PER_PHASE>($arg),
            (5, false) => $self.$method::<5, MAX_TAPS_PER_PHASE>($arg),
            (6, true) => $self.$method::<6, SHORT_TAPS_PER_PHASE>($arg),
            (6, false) => $self.$method::<6, MAX_TAPS_PER_PHASE>($arg),
            (7, true) => $self.$method::<7, SHORT_TAPS_PER_PHASE>($arg),
            (7, false) => $self.$method::<7, MAX_TAPS_PER_PHASE>($arg),
            (_, true) => $self.$method::<8, SHORT_TAPS_PER_PHASE>($arg),
            (_, false) => $self.$method::<8, MAX_TAPS_PER_PHASE>($arg),
        }
    };
}

/// Per-sample true-peak detector for one channel. Fixed-size state, no heap of its own, so it
/// can be embedded anywhere (the limiter keeps one per channel).
#[derive(Clone, Debug)]
pub struct TruePeakDetector {
    coefs: InterpolatorCoefs,
    /// Input, oldest first: `taps - 1` samples of history, then up to `CHUNK` new samples
    /// (`fill` of them so far); the tail of `GROUP` lets the block kernel read whole groups.
    /// When full, the last `taps - 1` samples move to the front (every `CHUNK` samples).
    line: [f32; LINE_LEN],
    fill: usize,
    /// The last oversampled point of the previous input sample (left neighbour of phase 0).
    prev_point: f32,
    /// Oversampled points of the block kernel, `[phase][sample]`, kept here so no call has to
    /// initialise 2 KB of stack.
    points: [[f32; CHUNK + GROUP]; MAX_OVERSAMPLING],
}

/// Samples per pass of the block kernel.
const CHUNK: usize = 64;
/// Outputs computed together in the block kernel's registers (two SSE vectors).
const GROUP: usize = 8;
/// Length of the input line.
const LINE_LEN: usize = MAX_TAPS_PER_PHASE - 1 + CHUNK + GROUP;

impl TruePeakDetector {
    /// Creates a detector for `sample_rate_hz` (any rate; the factor is
    /// [`oversampling_factor`]).
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            coefs: InterpolatorCoefs::design(sample_rate_hz),
            line: [0.0; LINE_LEN],
            fill: 0,
            prev_point: 0.0,
            points: [[0.0; CHUNK + GROUP]; MAX_OVERSAMPLING],
        }
    }

    /// Re-designs the interpolator for a new rate and clears the state. Call outside the audio
    /// thread (it evaluates Bessel series, though it never allocates).
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.coefs = InterpolatorCoefs::design(sample_rate_hz);
        self.reset();
    }

    /// Oversampling factor in use.
    pub fn oversampling(&self) -> usize {
        self.coefs.factor
    }

    /// Delay, in input samples, between an input sample and the true-peak value that reports
    /// it: the interpolator's centre tap, half its taps per phase (16 at 44.1 kHz, 10 from
    /// 48 kHz up).
    pub fn latency_samples(&self) -> usize {
        self.coefs.taps / 2
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        self.line = [0.0; LINE_LEN];
        self.fill = 0;
        self.prev_point = 0.0;
    }

    /// Pushes one input sample and returns the true-peak magnitude (linear) of the
    /// reconstructed signal over the interval `[n - latency, n - latency + 1)` sample periods:
    /// the largest magnitude of the `L` oversampled points of that interval, refined by a
    /// parabola through the largest point and its neighbours. NaN and infinite input count as
    /// silence.
    #[inline]
    pub fn process_sample(&mut self, x: f32) -> f32 {
        dispatch!(self, step, x)
    }

    /// Pushes a block and returns the largest [`Self::process_sample`] value over it (0 for an
    /// empty block), bit-identical to calling that per sample. The match on the factor happens
    /// once per block.
    pub fn process_block_max(&mut self, input: &[f32]) -> f32 {
        dispatch!(self, block_max, (input, 0.0))
    }

    /// Like [`Self::process_block_max`] but returns `max(floor_linear, block maximum)`, still
    /// exactly. Meters pass the maximum they already hold: samples that cannot beat it skip
    /// the parabolic refinement, which is then almost never needed.
    pub fn process_block_max_above(&mut self, input: &[f32], floor_linear: f32) -> f32 {
        dispatch!(self, block_max, (input, floor_linear))
    }

    /// Pushes a block and writes each sample's [`Self::process_sample`] value to `output`
    /// (bit-identical to calling it per sample, and vectorised over time). Processes
    /// `min(input.len(), output.len())` samples.
    pub fn process_block(&mut self, input: &[f32], output: &mut [f32]) {
        dispatch!(self, block_each, (input, output))
    }

    /// Moves the last `T - 1` samples to the front once the line is full.
    #[inline(always)]
    fn make_room<const T: usize>(&mut self) {
        if self.fill == CHUNK {
            self.line.copy_within(CHUNK..CHUNK + T - 1, 0);
            self.fill = 0;
        }
    }

    fn block_max<const L: usize, const T: usize>(&mut self, (input, floor): (&[f32], f32)) -> f32 {
        let mut peak = floor.max(0.0);
        let mut rest = input;
        while !rest.is_empty() {
            self.make_room::<T>();
            let len = rest.len().min(CHUNK - self.fill);
            let (chunk, tail) = rest.split_at(len);
            peak = self.chunk_max::<L, T>(chunk, peak);
            rest = tail;
        }
        peak
    }

    /// Appends `chunk` (which fits the line) and computes its oversampled points into
    /// `self.points`: the same sums as [`Self::step`] in the same order, so results are
    /// bit-identical, but for a run of samples at once, which vectorises over time. Returns
    /// the line index of the first chunk sample's phase-0 point.
    fn interpolate_chunk<const L: usize, const T: usize>(&mut self, chunk: &[f32]) -> usize {
        let len = chunk.len();
        let base = T - 1 + self.fill;
        for (dst, &x) in self.line[base..base + len].iter_mut().zip(chunk) {
            *dst = if x.is_finite() { x } else { 0.0 };
        }
        let (coefs, line, points) = (&self.coefs.coefs, &self.line, &mut self.points);
        crate::simd::dispatch! {
            avx => interpolate_run_avx::<L, T>(coefs, line, points, base, len),
            _ => interpolate_run::<L, T>(coefs, line, points, base, len),
        }
        let centre = base - T / 2;
        self.points[0][..len].copy_from_slice(&self.line[centre..centre + len]);
        self.fill += len;
        centre
    }

    /// The refined reading of sample `n` of the last interpolated chunk.
    #[inline(always)]
    fn refine_at<const L: usize>(&self, n: usize, centre: usize) -> f32 {
        let mut pts = [0.0f32; L];
        for (p, v) in pts.iter_mut().enumerate() {
            *v = self.points[p][n];
        }
        let prev = if n == 0 {
            self.prev_point
        } else {
            self.points[L - 1][n - 1]
        };
        refine(&pts, prev, self.line[centre + n + 1])
    }

    /// Block kernel of [`Self::process_block_max`]: returns `max(floor, chunk maximum)`,
    /// refining only the samples that could exceed both.
    fn chunk_max<const L: usize, const T: usize>(&mut self, chunk: &[f32], floor: f32) -> f32 {
        let len = chunk.len();
        let centre = self.interpolate_chunk::<L, T>(chunk);
        // Largest bare point per sample, and over the run.
        let mut sample_max = [0.0f32; CHUNK];
        for ys in self.points[..L].iter() {
            for (m, y) in sample_max[..len].iter_mut().zip(&ys[..len]) {
                *m = m.max(y.abs());
            }
        }
        let raw_max = sample_max[..len].iter().fold(0.0f32, |m, &v| m.max(v));
        // Refinement lifts a point by at most 1/8 (see `refine`), so only samples within that
        // factor of the larger of the floor and the run's largest point can raise the result.
        let limit = raw_max.max(floor);
        let mut peak = limit;
        if raw_max * REFINE_MAX_GAIN > limit {
            for (n, &m) in sample_max[..len].iter().enumerate() {
                if m * REFINE_MAX_GAIN > limit {
                    peak = peak.max(self.refine_at::<L>(n, centre));
                }
            }
        }
        if len > 0 {
            self.prev_point = self.points[L - 1][len - 1];
        }
        peak
    }

    /// Block kernel of [`Self::process_block`]: every sample's reading.
    fn chunk_each<const L: usize, const T: usize>(&mut self, chunk: &[f32], out: &mut [f32]) {
        let len = chunk.len().min(out.len());
        let centre = self.interpolate_chunk::<L, T>(chunk);
        // Left neighbour of each sample's phase 0: the previous sample's last point.
        let mut prevs = [0.0f32; CHUNK];
        if len > 0 {
            prevs[0] = self.prev_point;
            prevs[1..len].copy_from_slice(&self.points[L - 1][..len - 1]);
        }
        refine_run::<L>(
            &self.points,
            &prevs[..len],
            &self.line[centre + 1..centre + 1 + len],
            &mut out[..len],
        );
        if len > 0 {
            self.prev_point = self.points[L - 1][len - 1];
        }
    }

    fn block_each<const L: usize, const T: usize>(
        &mut self,
        (input, output): (&[f32], &mut [f32]),
    ) {
        let mut done = 0;
        let n = input.len().min(output.len());
        while done < n {
            self.make_room::<T>();
            let len = (n - done).min(CHUNK - self.fill);
            self.chunk_each::<L, T>(&input[done..done + len], &mut output[done..done + len]);
            done += len;
        }
    }

    #[inline(always)]
    fn step<const L: usize, const T: usize>(&mut self, x: f32) -> f32 {
        self.make_room::<T>();
        let newest = T - 1 + self.fill;
        self.line[newest] = if x.is_finite() { x } else { 0.0 };
        self.fill += 1;

        // All L lanes (phase 0 too, overwritten below); each lane's sum is the block kernel's,
        // bit for bit.
        let mut points = [0.0f32; L];
        for (k, row) in self.coefs.coefs[..T].iter().enumerate() {
            let xk = self.line[newest - k];
            for p in 0..L {
                points[p] += row[p] * xk;
            }
        }
        // Phase 0 is the delayed input itself; the point after the last phase is the next
        // delayed input, already in the line because the window is centred.
        points[0] = self.line[newest - T / 2];
        let next_point = self.line[newest - T / 2 + 1];
        let prev_point = self.prev_point;
        self.prev_point = points[L - 1];
        refine(&points, prev_point, next_point)
    }
}

/// Computes phases `1..L` of `len` samples whose newest input sits at `line[base + n]`, into
/// `points[p][n]`. Outputs go in groups of GROUP samples with every phase's accumulators held
/// in registers across all taps (one store per output, not one per tap). A partial last group
/// reads stale samples past the run; only its unused outputs depend on them. A free function
/// over disjoint borrows, so the compiler knows the line and the outputs never alias.
#[inline(always)]
fn interpolate_run<const L: usize, const T: usize>(
    coefs: &[[f32; MAX_OVERSAMPLING]; MAX_TAPS_PER_PHASE],
    line: &[f32; LINE_LEN],
    points: &mut [[f32; CHUNK + GROUP]; MAX_OVERSAMPLING],
    base: usize,
    len: usize,
) {
    for n0 in (0..len).step_by(GROUP) {
        let mut acc = [[0.0f32; GROUP]; L];
        let first = base + n0 + 1 - T;
        // Fixed-size view (sized for the longest filter) so every index below is provably in
        // bounds: first + MAX_TAPS_PER_PHASE + GROUP - 1 <= LINE_LEN since base + n0 < T + CHUNK.
        let window: &[f32; MAX_TAPS_PER_PHASE + GROUP - 1] = line
            [first..first + MAX_TAPS_PER_PHASE + GROUP - 1]
            .try_into()
            .expect("window fits the line");
        for (k, row) in coefs[..T].iter().enumerate() {
            let start = T - 1 - k;
            for p in 1..L {
                let c = row[p];
                for j in 0..GROUP {
                    acc[p][j] += c * window[start + j];
                }
            }
        }
        for p in 1..L {
            points[p][n0..n0 + GROUP].copy_from_slice(&acc[p]);
        }
    }
}

/// [`interpolate_run`] compiled for AVX: a group of 8 outputs is one register, twice the
/// work per instruction of the SSE2 baseline. Same operations in the same order without fused
/// multiply-adds, so the results are bit-identical to the baseline and the per-sample path.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn interpolate_run_avx<const L: usize, const T: usize>(
    coefs: &[[f32; MAX_OVERSAMPLING]; MAX_TAPS_PER_PHASE],
    line: &[f32; LINE_LEN],
    points: &mut [[f32; CHUNK + GROUP]; MAX_OVERSAMPLING],
    base: usize,
    len: usize,
) {
    interpolate_run::<L, T>(coefs, line, points, base, len);
}

/// [`refine`] for a run of samples, `points[p][n]` with neighbours `prevs[n]` and `nexts[n]`,
/// into `out[n]`. The same comparisons and arithmetic as [`refine`], so bit-identical, but
/// written with selects instead of branches so it vectorises over the run (the branchy
/// per-sample version cost more than the interpolation itself).
#[inline(always)]
fn refine_run<const L: usize>(
    points: &[[f32; CHUNK + GROUP]; MAX_OVERSAMPLING],
    prevs: &[f32],
    nexts: &[f32],
    out: &mut [f32],
) {
    let len = out.len().min(prevs.len()).min(nexts.len()).min(CHUNK);
    for n in 0..len {
        let mut pts = [0.0f32; L];
        for (p, v) in pts.iter_mut().enumerate() {
            *v = points[p][n];
        }
        let next = nexts[n];
        // Argmax of |point|, first index on ties (strict `>` as in `refine`), carrying the
        // point and its two neighbours along.
        let mut best_abs = pts[0].abs();
        let mut best_val = pts[0];
        let mut left = prevs[n];
        let mut right = if L > 1 { pts[1] } else { next };
        for p in 1..L {
            let a = pts[p].abs();
            let gt = a > best_abs;
            let r = if p + 1 < L { pts[p + 1] } else { next };
            best_abs = if gt { a } else { best_abs };
            best_val = if gt { pts[p] } else { best_val };
            left = if gt { pts[p - 1] } else { left };
            right = if gt { r } else { right };
        }
        let sign = if best_val < 0.0 { -1.0 } else { 1.0 };
        let a = sign * left;
        let c = sign * right;
        let curvature = 2.0 * best_abs - a - c;
        let d = a - c;
        // Evaluated in every lane; used only where `refine` would take the parabola.
        let lifted = best_abs + d * d / (8.0 * curvature);
        let fit = a >= 0.0 && c >= 0.0 && a <= best_abs && c <= best_abs && curvature > 0.0;
        out[n] = if fit { lifted } else { best_abs };
    }
}

/// Upper bound (1/8 plus a margin for rounding) of `refine(points) / max|points|`: the parabola is only fitted when both
/// neighbours share the peak's sign and do not exceed it, which bounds the lift to 1/8.
const REFINE_MAX_GAIN: f32 = 1.13;

/// Largest magnitude of one sample's oversampled `points`, refined by a parabola through the
/// largest point and its neighbours (`prev`: last point of the previous sample, `next`: first
/// point of the next one).
#[inline(always)]
fn refine<const L: usize>(points: &[f32; L], prev: f32, next: f32) -> f32 {
    let mut best = 0usize;
    let mut best_abs = points[0].abs();
    for (p, v) in points.iter().enumerate().skip(1) {
        if v.abs() > best_abs {
            best_abs = v.abs();
            best = p;
        }
    }
    let left = if best == 0 { prev } else { points[best - 1] };
    let right = if best == L - 1 {
        next
    } else {
        points[best + 1]
    };
    // Parabola through (left, best, right) with the sign of the peak folded out.
    let sign = if points[best] < 0.0 { -1.0 } else { 1.0 };
    let a = sign * left;
    let c = sign * right;
    // Refine only a genuine local maximum whose neighbours share its sign: a larger neighbour
    // in the adjacent sample means the peak belongs to that sample (which refines it itself),
    // and a sign change between neighbouring points means content near the oversampled
    // Nyquist, where a parabola says nothing.
    if a >= 0.0 && c >= 0.0 && a <= best_abs && c <= best_abs {
        let curvature = 2.0 * best_abs - a - c;
        if curvature > 0.0 {
            let d = a - c;
            return best_abs + d * d / (8.0 * curvature);
        }
    }
    best_abs
}

/// Multichannel true-peak meter: one [`TruePeakDetector`] per channel and the running maximum
/// since the last reset, plus the maximum since the last [`Self::take_window_peak`] (the
/// programme meter takes it every 10 ms for its 3 s peak window).
#[derive(Clone, Debug)]
pub struct TruePeakMeter {
    detectors: Vec<TruePeakDetector>,
    /// Maximum per channel since the last window was taken, linear; doubles as the floor that
    /// spares the detectors most refinement work.
    window_peaks: Vec<f32>,
    /// Maximum per channel of the windows already taken, linear.
    taken_peaks: Vec<f32>,
    num_channels: usize,
}

impl TruePeakMeter {
    /// Creates a meter for up to `max_channels` channels at `sample_rate_hz`.
    pub fn new(max_channels: usize, sample_rate_hz: f64) -> Self {
        Self {
            detectors: vec![TruePeakDetector::new(sample_rate_hz); max_channels],
            window_peaks: vec![0.0; max_channels],
            taken_peaks: vec![0.0; max_channels],
            num_channels: max_channels,
        }
    }

    /// Re-designs the interpolators and resets. Never allocates.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        for d in &mut self.detectors {
            d.set_sample_rate(sample_rate_hz);
        }
        self.reset();
    }

    /// Latency of the reading in samples (see [`TruePeakDetector::latency_samples`]).
    pub fn latency_samples(&self) -> usize {
        self.detectors.first().map_or(0, |d| d.latency_samples())
    }

    /// Oversampling factor in use.
    pub fn oversampling(&self) -> usize {
        self.detectors.first().map_or(0, |d| d.oversampling())
    }

    /// Clears histories and the maxima.
    pub fn reset(&mut self) {
        for d in &mut self.detectors {
            d.reset();
        }
        self.window_peaks.fill(0.0);
        self.taken_peaks.fill(0.0);
    }

    /// Feeds planar channels (any length; the shortest slice sets it; extra channels beyond
    /// `max_channels` are ignored).
    pub fn process_block(&mut self, channels: &[&[f32]]) {
        let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        self.process_range(channels, 0..frames);
    }

    /// Feeds `channels[c][range]` for every channel; `range` must lie within every slice.
    pub fn process_range(&mut self, channels: &[&[f32]], range: std::ops::Range<usize>) {
        self.num_channels = channels.len().min(self.detectors.len());
        for ((det, peak), input) in self
            .detectors
            .iter_mut()
            .zip(self.window_peaks.iter_mut())
            .zip(channels.iter())
        {
            *peak = det.process_block_max_above(&input[range.clone()], *peak);
        }
    }

    /// Returns the true peak over all channels since the previous call (or reset), linear,
    /// and starts a new window.
    pub fn take_window_peak(&mut self) -> f32 {
        let mut max = 0.0f32;
        for (w, t) in self
            .window_peaks
            .iter_mut()
            .zip(self.taken_peaks.iter_mut())
        {
            max = max.max(*w);
            *t = t.max(*w);
            *w = 0.0;
        }
        max
    }

    /// True peak of channel `channel` in the current window, linear (0 when out of range).
    pub fn window_peak(&self, channel: usize) -> f32 {
        self.window_peaks.get(channel).copied().unwrap_or(0.0)
    }

    /// Channels seen in the last block.
    pub fn num_channels(&self) -> usize {
        self.num_channels
    }

    /// Running true peak of channel `channel` since reset, linear (0 when out of range).
    pub fn channel_peak(&self, channel: usize) -> f32 {
        match (
            self.window_peaks.get(channel),
            self.taken_peaks.get(channel),
        ) {
            (Some(w), Some(t)) => w.max(*t),
            _ => 0.0,
        }
    }

    /// Running true peak over all channels since reset, in dBTP (`-inf` for silence).
    pub fn true_peak_dbtp(&self) -> f64 {
        let max = (0..self.num_channels).fold(0.0f32, |m, c| m.max(self.channel_peak(c)));
        gain_to_db(max) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolator_phases_are_ideal_fractional_delays_in_the_passband() {
        // An ideal interpolator delays every phase by exactly `taps/2 - p/L` samples with unit
        // gain; with that delay removed, `response()` must read (1, 0) up to 20 kHz. The bound
        // (0.005 in amplitude, 0.043 dB) is the Kaiser design's passband ripple.
        for &sr in &[44_100.0, 48_000.0, 96_000.0] {
            let c = InterpolatorCoefs::design(sr);
            for p in 0..c.factor {
                let mut hz = 20.0;
                while hz <= 20_000.0 {
                    let (re, im) = c.response(sr, p, hz);
                    assert!(
                        (re - 1.0).abs() < 5e-3 && im.abs() < 5e-3,
                        "{sr} p{p} {hz}: {re} {im}"
                    );
                    hz *= 1.1;
                }
            }
        }
    }

    #[test]
    fn factor_reaches_176_4_khz() {
        assert_eq!(oversampling_factor(44_100.0), 4);
        assert_eq!(oversampling_factor(48_000.0), 4);
        assert_eq!(oversampling_factor(88_200.0), 2);
        assert_eq!(oversampling_factor(22_050.0), 8);
        assert_eq!(oversampling_factor(384_000.0), 2);
        for sr in [
            22_050.0, 32_000.0, 44_100.0, 48_000.0, 64_000.0, 96_000.0, 192_000.0,
        ] {
            assert!(oversampling_factor(sr) as f64 * sr >= MIN_EFFECTIVE_RATE_HZ);
        }
    }
}
