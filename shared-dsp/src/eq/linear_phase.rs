//! Linear-phase EQ: a symmetric FIR that follows the combined band curve, run as uniformly
//! partitioned overlap-save convolution.
//!
//! Design by frequency sampling (e.g. A. V. Oppenheim and R. W. Schafer, "Discrete-Time
//! Signal Processing", sec. 7.5 on windowed designs): the magnitude of the matched band
//! designs (the minimum-phase EQ's own magnitude) is sampled on a grid of twice the FIR
//! length, inverse transformed to a zero-phase impulse response, cut to `N = taps - 1`
//! (odd, so the delay `(N-1)/2` is a whole number of samples) and shaped by a 4-term
//! Blackman-Harris window (F. J. Harris, Proc. IEEE 66(1), 1978: -92 dB side lobes). The FIR
//! is exactly symmetric, so the phase is exactly linear.
//!
//! Stereo placement is exact: with `L`, `R`, `M`, `S` the magnitudes of the bands acting on
//! left, right, mid and side, the output is `y = A D x` with `D = diag(L, R)` and
//! `A = 1/2 [[M+S, M-S], [M-S, M+S]]`; four kernels (two when there are no mid/side bands).
//!
//! Convolution: uniformly partitioned overlap-save (e.g. F. Wefers, "Partitioned convolution
//! algorithms for real-time auralization", 2015) with four partitions of `P = taps/4`
//! samples, FFT size `2P`, every FFT planned in `set_sample_rate`. Reported latency =
//! `(N-1)/2 + P`. Spectra are stored split (eight real parts, then eight imaginary parts: one
//! 64-byte cache line per eight bins), partition after partition within each group of eight
//! bins, so one pass over the bins multiplies and accumulates every partition of both output
//! channels in registers (AVX + FMA at run time), reading each kernel value once. When no band
//! sits on left or right alone the two channels share their kernels (`linked`): half the
//! design work and half the kernel memory traffic.
//!
//! Redesign never allocates and is amortised: the work is cut into steps (one band design,
//! 1024 curve bins, one inverse FFT, 8192 window taps, one partition FFT) and one step runs
//! every 64 samples, counted across calls, so automation never bunches work into one
//! callback (the largest step is the design inverse FFT of `2 * taps` points: about 0.1 ms at
//! 16384 taps, about 1 ms at 65536). A finished kernel is cross-faded in over one hop.

use super::band::{BandSettings, Placement};
use super::parametric::MAX_BANDS;
use super::spectral_kernels::{mac, scatter, scatter_sanitised, swap_io};
use crate::filter::{BiquadCoefs, CascadeCoefs};
use realfft::num_complex::{Complex, Complex64};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::f64::consts::PI;
use std::sync::Arc;

/// FIR length / latency trade-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LinearPhaseQuality {
    /// 4096 taps at 48 kHz.
    Low,
    /// 16384 taps at 48 kHz.
    Medium,
    /// 65536 taps at 48 kHz.
    High,
}

impl LinearPhaseQuality {
    const ALL: [Self; 3] = [Self::Low, Self::Medium, Self::High];

    fn index(self) -> usize {
        match self {
            Self::Low => 0,
            Self::Medium => 1,
            Self::High => 2,
        }
    }

    /// Taps at 48 kHz.
    pub fn base_taps(self) -> usize {
        match self {
            Self::Low => 4096,
            Self::Medium => 16384,
            Self::High => 65536,
        }
    }

    /// Taps at `sample_rate_hz`: the 48 kHz count scaled with the rate, rounded to the
    /// nearest power of two (so the time span, and thus the low-frequency resolution, stays
    /// about constant).
    pub fn taps(self, sample_rate_hz: f64) -> usize {
        let t = self.base_taps() as f64 * sample_rate_hz / 48_000.0;
        let p = t.max(1024.0).log2().round() as u32;
        1usize << p
    }
}

/// Partitions per FIR.
pub(super) const PARTITIONS: usize = 4;
/// Samples between two design steps.
const DESIGN_STEP_SAMPLES: usize = 64;
/// Curve bins evaluated per design step.
const CURVE_CHUNK: usize = 1024;
/// Window taps applied per design step.
const WINDOW_CHUNK: usize = 8192;
/// Kernel paths: left->left, right->left, left->right, right->right.
const PATHS: usize = 4;
/// Bins per group in the split spectrum layout (one 256-bit vector of `f32`).
pub(super) const LANES: usize = 8;
/// Floats per group: `LANES` real parts then `LANES` imaginary parts.
pub(super) const GROUP: usize = 2 * LANES;

/// Sizes of one configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Config {
    taps: usize,
    /// FIR length `taps - 1` (odd).
    fir_len: usize,
    /// FIR delay `(fir_len - 1) / 2`.
    delay: usize,
    /// Hop = partition size.
    hop: usize,
    /// Convolution FFT size `2 * hop`.
    fft: usize,
    /// Convolution bins `hop + 1`.
    bins: usize,
    /// Groups of `LANES` bins covering `bins` (the last one zero-padded).
    pub(super) groups: usize,
    /// Design grid (inverse FFT) size `2 * taps`.
    design_len: usize,
}

impl Config {
    fn new(quality: LinearPhaseQuality, sample_rate_hz: f64) -> Self {
        let taps = quality.taps(sample_rate_hz);
        let hop = taps / PARTITIONS;
        Self {
            taps,
            fir_len: taps - 1,
            delay: (taps - 2) / 2,
            hop,
            fft: 2 * hop,
            bins: hop + 1,
            groups: (hop + 1).div_ceil(LANES),
            design_len: 2 * taps,
        }
    }

    /// Floats of one split spectrum over all partitions (one FDL or one kernel path).
    fn path_len(&self) -> usize {
        self.groups * PARTITIONS * GROUP
    }
}

/// FFT plans of one configuration.
#[derive(Clone)]
struct Plans {
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    design_inv: Arc<dyn ComplexToReal<f64>>,
}

/// Where the amortised designer is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Idle,
    /// Designing band `i`.
    Bands(usize),
    /// Evaluating curves from bin `i`.
    Curve(usize),
    /// Inverse FFT of path `p`.
    Inverse(usize),
    /// Windowing path `p` from tap `i`.
    Window(usize, usize),
    /// Partition FFT `k` of path `p`.
    Partition(usize, usize),
    /// A kernel waits to be cross-faded in.
    Ready,
}

/// Stereo linear-phase EQ over the same [`BandSettings`] as the parametric EQ.
pub struct LinearPhaseEq {
    sample_rate_hz: f64,
    quality: LinearPhaseQuality,
    pending_quality: LinearPhaseQuality,
    cfg: Config,
    plans: [Option<Plans>; 3],
    // Streaming.
    /// Input history per channel: two halves of one hop, `half` is being filled.
    history: [Vec<f32>; 2],
    half: usize,
    /// Output per channel: the inverse FFT frame; its second half is the hop being played.
    out: [Vec<f32>; 2],
    /// Input spectra per channel, split layout `[group][slot][re x8, im x8]`.
    fdl: [Vec<f32>; 2],
    slot: usize,
    pos: usize,
    fft_in: Vec<f32>,
    /// Forward FFT output, padded to whole groups.
    spec: Vec<Complex<f32>>,
    /// Accumulated output spectra per channel, padded to whole groups.
    acc: [Vec<Complex<f32>>; 2],
    /// The incoming kernel's output while cross-fading.
    time_b: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    /// Kernels per set and path, split layout `[path][group][partition][re x8, im x8]`.
    kernels: [Vec<f32>; 2],
    /// Set uses the cross paths (mid/side bands).
    cross: [bool; 2],
    /// Set has right->right equal to left->left and left->right equal to right->left
    /// (no band on one channel alone): only paths 0 and 1 are stored.
    linked: [bool; 2],
    active: usize,
    // Designer.
    pending: [BandSettings; MAX_BANDS],
    dirty: bool,
    bands: [BandSettings; MAX_BANDS],
    designs: [CascadeCoefs; MAX_BANDS],
    stage: Stage,
    step_counter: usize,
    curves: [Vec<f64>; 4],
    design_time: Vec<f64>,
    design_spec: Vec<Complex64>,
    design_scratch: Vec<Complex64>,
    fir: Vec<f32>,
}

impl LinearPhaseEq {
    /// Allocates for every quality at sample rates up to `max_sample_rate_hz` and prepares
    /// for `sample_rate_hz` with all bands disabled (a pure delay).
    pub fn new(max_sample_rate_hz: f64, sample_rate_hz: f64) -> Self {
        let max = Config::new(
            LinearPhaseQuality::High,
            max_sample_rate_hz.max(sample_rate_hz),
        );
        let zc = Complex::new(0.0f32, 0.0);
        let mut eq = Self {
            sample_rate_hz,
            quality: LinearPhaseQuality::Medium,
            pending_quality: LinearPhaseQuality::Medium,
            cfg: Config::new(LinearPhaseQuality::Medium, sample_rate_hz),
            plans: [None, None, None],
            history: [vec![0.0; max.fft], vec![0.0; max.fft]],
            half: 0,
            out: [vec![0.0; max.fft], vec![0.0; max.fft]],
            fdl: [vec![0.0; max.path_len()], vec![0.0; max.path_len()]],
            slot: 0,
            pos: 0,
            fft_in: vec![0.0; max.fft],
            spec: vec![zc; max.groups * LANES],
            acc: [vec![zc; max.groups * LANES], vec![zc; max.groups * LANES]],
            time_b: vec![0.0; max.fft],
            scratch: Vec::new(),
            kernels: [
                vec![0.0; PATHS * max.path_len()],
                vec![0.0; PATHS * max.path_len()],
            ],
            cross: [false; 2],
            linked: [true; 2],
            active: 0,
            pending: [BandSettings::default(); MAX_BANDS],
            dirty: false,
            bands: [BandSettings::default(); MAX_BANDS],
            designs: [CascadeCoefs::identity(sample_rate_hz); MAX_BANDS],
            stage: Stage::Idle,
            step_counter: 0,
            curves: [
                vec![0.0; max.design_len / 2 + 1],
                vec![0.0; max.design_len / 2 + 1],
                vec![0.0; max.design_len / 2 + 1],
                vec![0.0; max.design_len / 2 + 1],
            ],
            design_time: vec![0.0; max.design_len],
            design_spec: vec![Complex64::new(0.0, 0.0); max.design_len / 2 + 1],
            design_scratch: Vec::new(),
            fir: vec![0.0; max.taps],
        };
        eq.set_sample_rate(sample_rate_hz);
        eq
    }

    /// Plans every FFT for `sample_rate_hz` (allocates: call from `activate`), clears state
    /// and designs the current bands to completion.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        let mut p32 = RealFftPlanner::<f32>::new();
        let mut p64 = RealFftPlanner::<f64>::new();
        let mut scratch = 0;
        let mut dscratch = 0;
        for q in LinearPhaseQuality::ALL {
            let c = Config::new(q, sample_rate_hz);
            let plans = Plans {
                fwd: p32.plan_fft_forward(c.fft),
                inv: p32.plan_fft_inverse(c.fft),
                design_inv: p64.plan_fft_inverse(c.design_len),
            };
            scratch = scratch
                .max(plans.fwd.get_scratch_len())
                .max(plans.inv.get_scratch_len());
            dscratch = dscratch.max(plans.design_inv.get_scratch_len());
            self.plans[q.index()] = Some(plans);
        }
        // Buffers grow only here (outside the audio thread) if the rate exceeds the maximum.
        let max = Config::new(LinearPhaseQuality::High, sample_rate_hz);
        let zc = Complex::new(0.0f32, 0.0);
        for ch in 0..2 {
            grow(&mut self.history[ch], max.fft, 0.0);
            grow(&mut self.out[ch], max.fft, 0.0);
            grow(&mut self.fdl[ch], max.path_len(), 0.0);
            grow(&mut self.acc[ch], max.groups * LANES, zc);
        }
        grow(&mut self.fft_in, max.fft, 0.0);
        grow(&mut self.spec, max.groups * LANES, zc);
        grow(&mut self.time_b, max.fft, 0.0);
        for k in self.kernels.iter_mut() {
            grow(k, PATHS * max.path_len(), 0.0);
        }
        for c in self.curves.iter_mut() {
            grow(c, max.design_len / 2 + 1, 0.0);
        }
        grow(&mut self.design_time, max.design_len, 0.0);
        grow(
            &mut self.design_spec,
            max.design_len / 2 + 1,
            Complex64::new(0.0, 0.0),
        );
        grow(&mut self.fir, max.taps, 0.0);
        self.scratch = vec![zc; scratch];
        self.design_scratch = vec![Complex64::new(0.0, 0.0); dscratch];
        self.apply_quality(self.pending_quality);
        self.dirty = true;
        self.finish_design_now();
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Requests a quality; takes effect at the next `process_block` (latency changes: report
    /// it; the output is a pure delay until the redesign lands, about a quarter second).
    pub fn set_quality(&mut self, quality: LinearPhaseQuality) {
        self.pending_quality = quality;
    }

    /// The requested quality (in effect from the next `process_block`).
    pub fn requested_quality(&self) -> LinearPhaseQuality {
        self.pending_quality
    }

    /// Records new band settings (bands past [`MAX_BANDS`] are ignored). Cheap: the FIR is
    /// redesigned in amortised steps while audio runs, then cross-faded in.
    pub fn set_bands(&mut self, bands: &[BandSettings]) {
        self.pending = [BandSettings::default(); MAX_BANDS];
        for (p, b) in self.pending.iter_mut().zip(bands.iter()) {
            *p = *b;
        }
        self.dirty = true;
    }

    /// Runs any pending redesign to completion and installs it now (for offline use, tests
    /// and `activate`).
    pub fn finish_design_now(&mut self) {
        for _ in 0..1_000_000 {
            if self.stage == Stage::Idle && !self.dirty {
                break;
            }
            if self.stage == Stage::Ready {
                // Install without a fade.
                self.active ^= 1;
                self.stage = Stage::Idle;
                continue;
            }
            self.design_step();
        }
    }

    /// Latency in samples: FIR delay plus one hop of buffering.
    pub fn latency_samples(&self) -> usize {
        let c = Config::new(self.pending_quality, self.sample_rate_hz);
        c.delay + c.hop
    }

    /// Clears the audio state (keeps the kernel; never allocates).
    pub fn reset(&mut self) {
        for ch in 0..2 {
            self.history[ch].fill(0.0);
            self.out[ch].fill(0.0);
            self.fdl[ch].fill(0.0);
        }
        self.half = 0;
        self.slot = 0;
        self.pos = 0;
    }

    /// Response at `hz` of the installed band set for `view`, including the linear-phase
    /// delay.
    pub fn response(&self, hz: f64, view: Placement) -> Complex64 {
        let mag = self
            .bands
            .iter()
            .zip(self.designs.iter())
            .filter(|(b, _)| b.enabled && b.acts_on(view))
            .fold(1.0, |acc, (_, d)| acc * d.response(hz).norm());
        let lat = self.latency_samples() as f64;
        Complex64::from_polar(mag, -2.0 * PI * hz * lat / self.sample_rate_hz)
    }

    fn apply_quality(&mut self, quality: LinearPhaseQuality) {
        self.quality = quality;
        self.pending_quality = quality;
        self.cfg = Config::new(quality, self.sample_rate_hz);
        self.reset();
        // A pure delay until the redesign lands.
        let a = self.active;
        self.write_delta_kernel(a);
        self.stage = Stage::Idle;
        self.dirty = true;
    }

    /// Kernel set `set` := unit impulse at the FIR delay on the direct paths.
    fn write_delta_kernel(&mut self, set: usize) {
        let c = self.cfg;
        let scale = 1.0 / c.fft as f64;
        let k0 = c.delay / c.hop;
        let off = c.delay % c.hop;
        let rot = Complex64::from_polar(1.0, -2.0 * PI * off as f64 / c.fft as f64);
        let mut ph = Complex64::new(scale, 0.0);
        for b in 0..c.bins {
            self.spec[b] = Complex::new(ph.re as f32, ph.im as f32);
            ph *= rot;
        }
        // Exact real values at DC and Nyquist (the inverse real FFT requires them).
        self.spec[0].im = 0.0;
        self.spec[c.bins - 1].im = 0.0;
        let kernel = &mut self.kernels[set][..c.path_len()];
        for k in 0..PARTITIONS {
            let src = if k == k0 {
                &self.spec[..c.bins]
            } else {
                &[][..]
            };
            scatter(src, c, kernel, k);
        }
        self.cross[set] = false;
        self.linked[set] = true;
    }

    /// One bounded unit of redesign work.
    fn design_step(&mut self) {
        let c = self.cfg;
        match self.stage {
            Stage::Idle => {
                if self.dirty {
                    self.dirty = false;
                    self.bands = self.pending;
                    self.stage = Stage::Bands(0);
                }
            }
            Stage::Bands(i) => {
                self.designs[i] = self.bands[i].design(self.sample_rate_hz);
                self.stage = if i + 1 < MAX_BANDS {
                    Stage::Bands(i + 1)
                } else {
                    Stage::Curve(0)
                };
            }
            Stage::Curve(start) => {
                let nbins = c.design_len / 2 + 1;
                let end = (start + CURVE_CHUNK).min(nbins);
                self.eval_curves(start, end);
                self.stage = if end < nbins {
                    Stage::Curve(end)
                } else {
                    Stage::Inverse(0)
                };
            }
            Stage::Inverse(path) => {
                self.inverse(path);
                self.stage = Stage::Window(path, 0);
            }
            Stage::Window(path, start) => {
                let end = (start + WINDOW_CHUNK).min(c.taps);
                self.window(start, end);
                self.stage = if end < c.taps {
                    Stage::Window(path, end)
                } else {
                    Stage::Partition(path, 0)
                };
            }
            Stage::Partition(path, k) => {
                self.partition(path, k);
                self.stage = if k + 1 < PARTITIONS {
                    Stage::Partition(path, k + 1)
                } else {
                    match self.next_path(path) {
                        Some(p) => Stage::Inverse(p),
                        None => {
                            let set = self.active ^ 1;
                            self.cross[set] = self.has_cross();
                            self.linked[set] = self.is_linked();
                            Stage::Ready
                        }
                    }
                };
            }
            Stage::Ready => {}
        }
    }

    fn has_cross(&self) -> bool {
        self.bands
            .iter()
            .any(|b| b.enabled && matches!(b.placement, Placement::Mid | Placement::Side))
    }

    /// No band acts on one channel alone: the left and right curves are the same numbers,
    /// so path 3 (R->R) equals path 0 and path 2 (L->R) equals path 1.
    fn is_linked(&self) -> bool {
        !self
            .bands
            .iter()
            .any(|b| b.enabled && matches!(b.placement, Placement::Left | Placement::Right))
    }

    /// Paths in design order: 0 (L->L), 3 (R->R) unless linked, then 1 (R->L) and, unless
    /// linked, 2 (L->R) when mid/side bands make the channels cross.
    fn next_path(&self, path: usize) -> Option<usize> {
        let (cross, linked) = (self.has_cross(), self.is_linked());
        match path {
            0 if !linked => Some(3),
            0 | 3 if cross => Some(1),
            1 if !linked => Some(2),
            _ => None,
        }
    }

    /// Magnitudes of the left, right, mid and side curves on design bins `start..end`.
    fn eval_curves(&mut self, start: usize, end: usize) {
        let n = self.cfg.design_len as f64;
        for bin in start..end {
            let w = 2.0 * PI * bin as f64 / n;
            let (c1, c2) = (w.cos(), (2.0 * w).cos());
            let mut m2 = [1.0f64; 4];
            for (b, d) in self.bands.iter().zip(self.designs.iter()) {
                if !b.enabled {
                    continue;
                }
                let g2: f64 = d
                    .sections()
                    .iter()
                    .map(|s| section_mag2(s, c1, c2))
                    .product();
                match b.placement {
                    Placement::Stereo => {
                        m2[0] *= g2;
                        m2[1] *= g2;
                    }
                    Placement::Left => m2[0] *= g2,
                    Placement::Right => m2[1] *= g2,
                    Placement::Mid => m2[2] *= g2,
                    Placement::Side => m2[3] *= g2,
                }
            }
            for (curve, v) in self.curves.iter_mut().zip(m2.iter()) {
                // Rounding can leave a zero of the response (a highpass at DC) a hair below
                // zero; a NaN here would poison the whole FIR.
                let m = v.max(0.0).sqrt();
                curve[bin] = if m.is_finite() { m } else { 0.0 };
            }
        }
    }

    /// Zero-phase impulse response of `path` into `design_time`.
    fn inverse(&mut self, path: usize) {
        let c = self.cfg;
        let nbins = c.design_len / 2 + 1;
        let [l, r, m, s] = &self.curves;
        for bin in 0..nbins {
            let (mid, side) = (m[bin], s[bin]);
            let v = match path {
                0 => 0.5 * (mid + side) * l[bin],
                1 => 0.5 * (mid - side) * r[bin],
                2 => 0.5 * (mid - side) * l[bin],
                _ => 0.5 * (mid + side) * r[bin],
            };
            self.design_spec[bin] = Complex64::new(v / c.design_len as f64, 0.0);
        }
        let plans = self.plans[self.quality.index()].as_ref().expect("planned");
        let _ = plans.design_inv.process_with_scratch(
            &mut self.design_spec[..nbins],
            &mut self.design_time[..c.design_len],
            &mut self.design_scratch,
        );
    }

    /// Windowed, delayed taps `start..end` of the FIR into `fir`.
    fn window(&mut self, start: usize, end: usize) {
        let c = self.cfg;
        let n = c.fir_len as f64;
        for t in start..end {
            self.fir[t] = if t < c.fir_len {
                let lag = t as isize - c.delay as isize;
                let idx = lag.rem_euclid(c.design_len as isize) as usize;
                // 4-term Blackman-Harris over the N taps.
                let x = 2.0 * PI * t as f64 / (n - 1.0);
                let w = 0.35875 - 0.48829 * x.cos() + 0.14128 * (2.0 * x).cos()
                    - 0.01168 * (3.0 * x).cos();
                let v = (self.design_time[idx] * w) as f32;
                if v.is_finite() {
                    v
                } else {
                    0.0
                }
            } else {
                0.0
            };
        }
        // Exact symmetry: mirror the first half onto the second once it is complete.
        if end == c.taps {
            for t in 0..c.delay {
                self.fir[c.fir_len - 1 - t] = self.fir[t];
            }
        }
    }

    /// Spectrum of partition `k` of the FIR into kernel `path` of the inactive set.
    fn partition(&mut self, path: usize, k: usize) {
        let c = self.cfg;
        let scale = 1.0 / c.fft as f32;
        for (i, x) in self.fft_in[..c.fft].iter_mut().enumerate() {
            *x = if i < c.hop {
                self.fir[k * c.hop + i] * scale
            } else {
                0.0
            };
        }
        let set = self.active ^ 1;
        let plans = self.plans[self.quality.index()].as_ref().expect("planned");
        let _ = plans.fwd.process_with_scratch(
            &mut self.fft_in[..c.fft],
            &mut self.spec[..c.bins],
            &mut self.scratch,
        );
        let base = path * c.path_len();
        scatter(
            &self.spec[..c.bins],
            c,
            &mut self.kernels[set][base..base + c.path_len()],
            k,
        );
    }

    /// Processes a stereo block in place.
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.pending_quality != self.quality {
            self.apply_quality(self.pending_quality);
        }
        let len = left.len().min(right.len());
        let mut n = 0;
        while n < len {
            let hop = self.cfg.hop;
            // A design step has work only while a redesign is pending or under way (nothing
            // else sets `dirty` during a block); otherwise the 64-sample cadence is only
            // counted, so the steps land on the same samples whatever the block sizes.
            let busy = self.dirty || !matches!(self.stage, Stage::Idle | Stage::Ready);
            let mut run = (hop - self.pos).min(len - n);
            if busy {
                run = run.min(DESIGN_STEP_SAMPLES - self.step_counter);
            }
            let at = self.half * hop + self.pos;
            for (ch, buf) in [&mut *left, &mut *right].into_iter().enumerate() {
                swap_io(
                    &mut buf[n..n + run],
                    &mut self.history[ch][at..at + run],
                    &self.out[ch][hop + self.pos..hop + self.pos + run],
                );
            }
            n += run;
            self.pos += run;
            self.step_counter += run;
            if self.pos == hop {
                self.pos = 0;
                self.hop();
            }
            if self.step_counter >= DESIGN_STEP_SAMPLES {
                self.step_counter %= DESIGN_STEP_SAMPLES;
                if busy && self.stage != Stage::Ready {
                    self.design_step();
                }
            }
        }
    }

    /// One hop: transform the newest frame, convolve, produce the next hop of output.
    fn hop(&mut self) {
        let c = self.cfg;
        // Moved out for the hop (no allocation) so `convolve` can borrow `self`.
        let Some(plans) = self.plans[self.quality.index()].take() else {
            return;
        };
        let older = self.half ^ 1;
        for ch in 0..2 {
            let hist = &self.history[ch];
            self.fft_in[..c.hop].copy_from_slice(&hist[older * c.hop..(older + 1) * c.hop]);
            self.fft_in[c.hop..c.fft]
                .copy_from_slice(&hist[self.half * c.hop..(self.half + 1) * c.hop]);
            let _ = plans.fwd.process_with_scratch(
                &mut self.fft_in[..c.fft],
                &mut self.spec[..c.bins],
                &mut self.scratch,
            );
            self.spec[c.bins..c.groups * LANES].fill(Complex::new(0.0, 0.0));
            scatter_sanitised(
                &self.spec[..c.groups * LANES],
                &mut self.fdl[ch][..c.path_len()],
                self.slot,
            );
        }
        // The newest half becomes the older one; the next hop overwrites the oldest.
        self.half = older;
        let slots: [usize; PARTITIONS] =
            std::array::from_fn(|k| (self.slot + PARTITIONS - k) % PARTITIONS);
        let fading = self.stage == Stage::Ready;
        let new = self.active ^ 1;
        self.convolve(self.active, slots);
        for o in 0..2 {
            let _ = plans.inv.process_with_scratch(
                &mut self.acc[o][..c.bins],
                &mut self.out[o][..c.fft],
                &mut self.scratch,
            );
        }
        if fading {
            self.convolve(new, slots);
            let step = 1.0 / c.hop as f32;
            for o in 0..2 {
                let _ = plans.inv.process_with_scratch(
                    &mut self.acc[o][..c.bins],
                    &mut self.time_b[..c.fft],
                    &mut self.scratch,
                );
                let old = &mut self.out[o][c.hop..c.fft];
                for (i, (a, b)) in old.iter_mut().zip(&self.time_b[c.hop..c.fft]).enumerate() {
                    let w = (i + 1) as f32 * step;
                    *a += w * (b - *a);
                }
            }
            self.active = new;
            self.stage = Stage::Idle;
        }
        self.slot = (self.slot + 1) % PARTITIONS;
        self.plans[self.quality.index()] = Some(plans);
    }

    /// Both output spectra of kernel set `set` into `acc`; `slots[k]` is the FDL slot that
    /// meets partition `k`.
    fn convolve(&mut self, set: usize, slots: [usize; PARTITIONS]) {
        let c = self.cfg;
        let pl = c.path_len();
        let k = &self.kernels[set];
        let path = |p: usize| &k[p * pl..(p + 1) * pl];
        // [left->out0, right->out0, left->out1, right->out1]
        let h = if self.linked[set] {
            [path(0), path(1), path(1), path(0)]
        } else {
            [path(0), path(1), path(2), path(3)]
        };
        let x = [&self.fdl[0][..pl], &self.fdl[1][..pl]];
        let [a0, a1] = &mut self.acc;
        let acc = [&mut a0[..c.groups * LANES], &mut a1[..c.groups * LANES]];
        mac(x, h, slots, acc, self.cross[set]);
        for a in self.acc.iter_mut() {
            a[0].im = 0.0;
            a[c.bins - 1].im = 0.0;
        }
    }
}

/// Squared magnitude of one biquad at `cos w = c1`, `cos 2w = c2`.
fn section_mag2(s: &BiquadCoefs, c1: f64, c2: f64) -> f64 {
    let num = s.b0 * s.b0
        + s.b1 * s.b1
        + s.b2 * s.b2
        + 2.0 * (s.b0 * s.b1 + s.b1 * s.b2) * c1
        + 2.0 * s.b0 * s.b2 * c2;
    let den = 1.0 + s.a1 * s.a1 + s.a2 * s.a2 + 2.0 * (s.a1 + s.a1 * s.a2) * c1 + 2.0 * s.a2 * c2;
    num / den
}

fn grow<T: Clone>(v: &mut Vec<T>, len: usize, fill: T) {
    if v.len() < len {
        v.resize(len, fill);
    }
}
