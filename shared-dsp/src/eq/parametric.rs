//! Multi-band minimum-phase parametric EQ with dynamic bands and M/S placement.
//!
//! Each band is a cascade of Simper TPT state-variable filters (A. Simper, "Linear
//! Trapezoidal Integrated State Variable Filter", Cytomic), realising the matched designs of
//! [`crate::filter::coefficients`] through [`SvfCoefs::from_biquad`]. The SVF keeps its
//! behaviour when its coefficients change every sample, which is what makes automation clean:
//!
//! - parameters are smoothed per sub-block of [`SUB_BLOCK`] samples (frequency and Q
//!   logarithmically, gain in dB) with a one-pole of `smoothing_ms`;
//! - while a band moves, each sub-block gets a closed-form design (Vicanek's impulse-invariant
//!   matched biquad, about a microsecond) and the SVF coefficients `g, k, m0, m1, m2` are
//!   interpolated linearly per sample across the sub-block, so there is no zipper noise;
//! - once settled, the band gets the full matched fit (one or two biquads per section, within
//!   0.1 dB of the analogue curve up to Nyquist), at most one such design per sub-block over
//!   all bands so settling never bunches up into a spike;
//! - structural changes (type, slope, placement, enable) cross-fade the band in and out.
//!
//! Sub-block boundaries are counted across calls, so any host block size gives bit-identical
//! output.

use super::band::{BandSettings, Placement};
use super::dynamic::DynamicDetector;
use crate::filter::biquad::{to_input, to_output, FLUSH_BELOW};
use crate::filter::coefficients::MAX_SECTIONS;
use crate::filter::{CascadeCoefs, Precision, SvfCoefs};
use realfft::num_complex::Complex64;

/// Most bands a [`ParametricEq`] holds.
pub const MAX_BANDS: usize = 16;
/// Samples per smoothing / design step.
pub const SUB_BLOCK: usize = 32;
/// Default parameter smoothing time constant, in ms.
pub const DEFAULT_SMOOTHING_MS: f32 = 15.0;
/// Cross-fade time for structural band changes, in ms.
const FADE_MS: f64 = 10.0;

/// SVF coefficients of one section for both lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LaneCoefs {
    g: [f64; 2],
    k: [f64; 2],
    m0: [f64; 2],
    m1: [f64; 2],
    m2: [f64; 2],
}

impl LaneCoefs {
    const IDENTITY: Self = Self {
        g: [0.1; 2],
        k: [1.0; 2],
        m0: [1.0; 2],
        m1: [0.0; 2],
        m2: [0.0; 2],
    };

    fn set_lane(&mut self, lane: usize, c: &SvfCoefs) {
        self.g[lane] = c.g;
        self.k[lane] = c.k;
        self.m0[lane] = c.m0;
        self.m1[lane] = c.m1;
        self.m2[lane] = c.m2;
    }

    fn sub(&self, o: &Self, scale: f64) -> Self {
        let f = |a: [f64; 2], b: [f64; 2]| [(a[0] - b[0]) * scale, (a[1] - b[1]) * scale];
        Self {
            g: f(self.g, o.g),
            k: f(self.k, o.k),
            m0: f(self.m0, o.m0),
            m1: f(self.m1, o.m1),
            m2: f(self.m2, o.m2),
        }
    }

    #[inline(always)]
    fn add_assign(&mut self, d: &Self) {
        for i in 0..2 {
            self.g[i] += d.g[i];
            self.k[i] += d.k[i];
            self.m0[i] += d.m0[i];
            self.m1[i] += d.m1[i];
            self.m2[i] += d.m2[i];
        }
    }
}

/// Per-sample SVF multipliers of one section for both lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LaneTaps {
    a1: [f64; 2],
    a2: [f64; 2],
    a3: [f64; 2],
    m0: [f64; 2],
    m1: [f64; 2],
    m2: [f64; 2],
}

impl LaneTaps {
    #[inline(always)]
    fn from_coefs(c: &LaneCoefs) -> Self {
        let mut t = Self {
            a1: [0.0; 2],
            a2: [0.0; 2],
            a3: [0.0; 2],
            m0: c.m0,
            m1: c.m1,
            m2: c.m2,
        };
        for i in 0..2 {
            let a1 = 1.0 / (1.0 + c.g[i] * (c.g[i] + c.k[i]));
            t.a1[i] = a1;
            t.a2[i] = c.g[i] * a1;
            t.a3[i] = c.g[i] * c.g[i] * a1;
        }
        t
    }
}

/// Integrator states of one section for both lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct LaneState {
    ic1: [f64; 2],
    ic2: [f64; 2],
}

impl LaneState {
    #[inline(always)]
    fn tick(&mut self, t: &LaneTaps, x: [f64; 2]) -> [f64; 2] {
        let mut y = [0.0; 2];
        for i in 0..2 {
            let v3 = x[i] - self.ic2[i];
            let v1 = t.a1[i] * self.ic1[i] + t.a2[i] * v3;
            let v2 = self.ic2[i] + t.a2[i] * self.ic1[i] + t.a3[i] * v3;
            self.ic1[i] = 2.0 * v1 - self.ic1[i];
            self.ic2[i] = 2.0 * v2 - self.ic2[i];
            y[i] = t.m0[i] * x[i] + t.m1[i] * v1 + t.m2[i] * v2;
        }
        y
    }

    fn settle(&mut self) {
        for i in 0..2 {
            if !(self.ic1[i].is_finite() && self.ic2[i].is_finite()) {
                *self = Self::default();
                return;
            }
            if self.ic1[i].abs() < FLUSH_BELOW {
                self.ic1[i] = 0.0;
            }
            if self.ic2[i].abs() < FLUSH_BELOW {
                self.ic2[i] = 0.0;
            }
        }
    }
}

/// One step of the flattened static chain.
#[derive(Clone, Copy, Debug)]
enum FlatOp {
    /// Section `(band, section)`.
    Section(u8, u8),
    /// L/R -> M/S, `[(l + r) / 2, (l - r) / 2]`.
    Encode,
    /// M/S -> L/R, `[m + s, m - s]`.
    Decode,
}

/// Most steps of the flattened chain.
const MAX_OPS: usize = MAX_BANDS * (MAX_SECTIONS + 2);
/// Most steps of one still group inside a sub-block: small, because its scratch is set up
/// every 32 samples (one band's steps always fit).
const GROUP_OPS: usize = 2 * (MAX_SECTIONS + 2);

/// The parts of a band's settings that change its filter structure (cross-faded).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Structure {
    enabled: bool,
    kind: super::band::BandKind,
    slope: crate::filter::Slope,
    placement: Placement,
}

impl From<&BandSettings> for Structure {
    fn from(s: &BandSettings) -> Self {
        Self {
            enabled: s.enabled,
            kind: s.kind,
            slope: s.slope,
            placement: s.placement,
        }
    }
}

/// Smoothed continuous parameters (frequency and Q in natural log, gain in dB).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Params {
    ln_freq: f64,
    ln_q: f64,
    gain_db: f64,
}

impl Params {
    fn of(s: &BandSettings) -> Self {
        let clean = |v: f32, lo: f32, hi: f32, dflt: f32| {
            if v.is_finite() {
                v.clamp(lo, hi)
            } else {
                dflt
            }
        };
        Self {
            ln_freq: (clean(s.freq_hz, 1.0, 1.0e6, 1000.0) as f64).ln(),
            ln_q: (clean(s.q, 0.025, 100.0, std::f32::consts::FRAC_1_SQRT_2) as f64).ln(),
            gain_db: clean(s.gain_db, -60.0, 60.0, 0.0) as f64,
        }
    }

    /// One smoothing step towards `t`; returns `true` when (now) equal to it.
    fn approach(&mut self, t: &Params, alpha: f64) -> bool {
        let close = (self.ln_freq - t.ln_freq).abs() < 1e-4
            && (self.ln_q - t.ln_q).abs() < 1e-4
            && (self.gain_db - t.gain_db).abs() < 1e-3;
        if close {
            *self = *t;
            return true;
        }
        self.ln_freq += alpha * (t.ln_freq - self.ln_freq);
        self.ln_q += alpha * (t.ln_q - self.ln_q);
        self.gain_db += alpha * (t.gain_db - self.gain_db);
        false
    }
}

/// Runtime of one band.
#[derive(Clone, Copy, Debug)]
struct Band {
    target: BandSettings,
    structure: Structure,
    params: Params,
    /// Coefficients at the start of the current sample, the per-sample step, and taps.
    coefs: [LaneCoefs; MAX_SECTIONS],
    step: [LaneCoefs; MAX_SECTIONS],
    taps: [LaneTaps; MAX_SECTIONS],
    state: [LaneState; MAX_SECTIONS],
    /// Sections processed (max of the interpolation's end points).
    sections: usize,
    /// Sections of the design being approached.
    next_sections: usize,
    /// Whether coefficients move during this sub-block.
    moving: bool,
    /// Whether the band holds a fast (provisional) design and still needs its matched one.
    needs_matched: bool,
    /// Cross-fade of the band's output against its input (0 = bypassed).
    mix: f64,
    mix_step: f64,
    detector: DynamicDetector,
    dynamic_db: f64,
    /// Design currently in use (for `response`).
    design: CascadeCoefs,
}

impl Band {
    fn new(sample_rate_hz: f64) -> Self {
        let s = BandSettings::default();
        Self {
            target: s,
            structure: Structure::from(&s),
            params: Params::of(&s),
            coefs: [LaneCoefs::IDENTITY; MAX_SECTIONS],
            step: [LaneCoefs::IDENTITY.sub(&LaneCoefs::IDENTITY, 0.0); MAX_SECTIONS],
            taps: [LaneTaps::from_coefs(&LaneCoefs::IDENTITY); MAX_SECTIONS],
            state: [LaneState::default(); MAX_SECTIONS],
            sections: 0,
            next_sections: 0,
            moving: false,
            needs_matched: false,
            mix: 0.0,
            mix_step: 0.0,
            detector: DynamicDetector::default(),
            dynamic_db: 0.0,
            design: CascadeCoefs::identity(sample_rate_hz),
        }
    }

    fn lanes(&self) -> [bool; 2] {
        match self.structure.placement {
            Placement::Stereo => [true, true],
            Placement::Left | Placement::Mid => [true, false],
            Placement::Right | Placement::Side => [false, true],
        }
    }

    fn is_ms(&self) -> bool {
        matches!(self.structure.placement, Placement::Mid | Placement::Side)
    }

    /// Whether the band does anything at all this sub-block.
    fn is_active(&self) -> bool {
        self.mix > 0.0 || self.mix_step != 0.0
    }

    /// Whether the band runs this sub-block exactly as a static cascade: no coefficient
    /// interpolation, no fade, no detector to feed.
    fn holds_still(&self) -> bool {
        !self.moving
            && self.mix == 1.0
            && self.mix_step == 0.0
            && !(self.target.is_dynamic() && self.structure.enabled)
    }

    /// Whether nothing about this band will change while its settings stay as they are.
    fn is_quiescent(&self) -> bool {
        if Structure::from(&self.target) != self.structure {
            return false;
        }
        if !self.structure.enabled {
            return self.mix == 0.0 && self.mix_step == 0.0;
        }
        !self.moving
            && self.mix == 1.0
            && self.mix_step == 0.0
            && !self.target.is_dynamic()
            && self.dynamic_db == 0.0
            && !self.needs_matched
            && self.params == Params::of(&self.target)
    }

    fn reset(&mut self) {
        self.state = [LaneState::default(); MAX_SECTIONS];
        self.detector.reset();
        self.dynamic_db = 0.0;
    }

    /// Designs the current parameters and sets the interpolation towards them over `len`
    /// samples (or jumps when `jump`).
    fn retarget(&mut self, sample_rate_hz: f64, precision: Precision, len: usize, jump: bool) {
        let p = &self.params;
        let shape =
            self.target
                .shape_with(p.ln_freq.exp(), p.ln_q.exp(), p.gain_db + self.dynamic_db);
        let design = CascadeCoefs::design(sample_rate_hz, shape, precision);
        let lanes = self.lanes();
        let mut end = [LaneCoefs::IDENTITY; MAX_SECTIONS];
        for (e, c) in end.iter_mut().zip(design.sections()) {
            let svf = SvfCoefs::from_biquad(c);
            for (lane, on) in lanes.iter().enumerate() {
                if *on {
                    e.set_lane(lane, &svf);
                }
            }
        }
        let n = design.sections().len();
        self.design = design;
        if jump {
            self.coefs = end;
            self.sections = n;
            self.next_sections = n;
            self.moving = false;
            for (t, c) in self.taps.iter_mut().zip(self.coefs.iter()) {
                *t = LaneTaps::from_coefs(c);
            }
            return;
        }
        let inv = 1.0 / len as f64;
        for (s, (e, c)) in self.step.iter_mut().zip(end.iter().zip(self.coefs.iter())) {
            *s = e.sub(c, inv);
        }
        self.next_sections = n;
        self.sections = self.sections.max(n);
        self.moving = true;
    }

    /// End of a sub-block: an interpolation has reached its end point, whose taps now hold.
    fn finish_sub_block(&mut self) {
        if self.moving {
            self.moving = false;
            self.sections = self.next_sections;
            for (t, c) in self.taps.iter_mut().zip(self.coefs.iter()) {
                *t = LaneTaps::from_coefs(c);
            }
        }
        if self.mix_step != 0.0 {
            if self.mix >= 1.0 {
                self.mix = 1.0;
                self.mix_step = 0.0;
            } else if self.mix <= 0.0 {
                self.mix = 0.0;
                self.mix_step = 0.0;
            }
        }
        for s in self.state.iter_mut() {
            s.settle();
        }
    }

    #[inline(always)]
    fn tick(&mut self, v: [f64; 2]) -> [f64; 2] {
        let ms = self.is_ms();
        let x = if ms {
            [0.5 * (v[0] + v[1]), 0.5 * (v[0] - v[1])]
        } else {
            v
        };
        if self.target.is_dynamic() && self.structure.enabled {
            self.detector.feed(x, self.lanes());
        }
        let mut u = x;
        let n = self.sections;
        if self.moving {
            for s in 0..n {
                self.taps[s] = LaneTaps::from_coefs(&self.coefs[s]);
                u = self.state[s].tick(&self.taps[s], u);
                let step = self.step[s];
                self.coefs[s].add_assign(&step);
            }
        } else {
            for s in 0..n {
                u = self.state[s].tick(&self.taps[s], u);
            }
        }
        if self.mix < 1.0 || self.mix_step != 0.0 {
            for i in 0..2 {
                u[i] = x[i] + self.mix * (u[i] - x[i]);
            }
            self.mix = (self.mix + self.mix_step).clamp(0.0, 1.0);
        }
        if ms {
            [u[0] + u[1], u[0] - u[1]]
        } else {
            u
        }
    }
}

/// A stereo minimum-phase parametric EQ of up to [`MAX_BANDS`] bands. Latency 0.
#[derive(Clone, Debug)]
pub struct ParametricEq {
    sample_rate_hz: f64,
    smoothing_ms: f32,
    bands: [Band; MAX_BANDS],
    /// Position inside the current sub-block (sub-blocks run across calls).
    sub_pos: usize,
}

impl ParametricEq {
    /// An EQ with all bands disabled.
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            sample_rate_hz,
            smoothing_ms: DEFAULT_SMOOTHING_MS,
            bands: [Band::new(sample_rate_hz); MAX_BANDS],
            sub_pos: 0,
        }
    }

    /// Sets the sample rate: redesigns every band at once (call from `activate`, not from the
    /// audio thread) and clears state.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        for b in self.bands.iter_mut() {
            b.structure = Structure::from(&b.target);
            b.params = Params::of(&b.target);
            b.mix = if b.structure.enabled { 1.0 } else { 0.0 };
            b.mix_step = 0.0;
            b.detector
                .tune(sample_rate_hz, b.params.ln_freq.exp(), b.params.ln_q.exp());
            b.dynamic_db = 0.0;
            b.needs_matched = false;
            b.retarget(sample_rate_hz, Precision::Matched, SUB_BLOCK, true);
        }
        self.reset();
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Parameter smoothing time constant in ms (0 = jump at the next sub-block).
    pub fn set_smoothing_ms(&mut self, ms: f32) {
        self.smoothing_ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
    }

    /// Records new settings for band `index` (ignored if out of range); applied from the next
    /// sub-block on, smoothed.
    pub fn set_band(&mut self, index: usize, settings: BandSettings) {
        if let Some(b) = self.bands.get_mut(index) {
            b.target = settings;
        }
    }

    /// Sets a band and jumps straight to it (no smoothing, no fade); designs now, so call it
    /// when preparing (e.g. after loading a preset), not per block.
    pub fn set_band_immediately(&mut self, index: usize, settings: BandSettings) {
        let sr = self.sample_rate_hz;
        if let Some(b) = self.bands.get_mut(index) {
            b.target = settings;
            b.structure = Structure::from(&settings);
            b.params = Params::of(&settings);
            b.mix = if settings.enabled { 1.0 } else { 0.0 };
            b.mix_step = 0.0;
            b.detector
                .tune(sr, b.params.ln_freq.exp(), b.params.ln_q.exp());
            b.needs_matched = false;
            b.reset();
            b.retarget(sr, Precision::Matched, SUB_BLOCK, true);
        }
    }

    /// Current settings of band `index`.
    pub fn band(&self, index: usize) -> Option<&BandSettings> {
        self.bands.get(index).map(|b| &b.target)
    }

    /// Momentary gain change of a dynamic band in dB (0 for static bands).
    pub fn dynamic_gain_db(&self, index: usize) -> f32 {
        self.bands.get(index).map_or(0.0, |b| b.dynamic_db as f32)
    }

    /// Clears all filter and detector state (never allocates).
    pub fn reset(&mut self) {
        for b in self.bands.iter_mut() {
            b.reset();
        }
        self.sub_pos = 0;
    }

    /// Latency in samples (always 0: minimum phase).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Combined response at `hz` of the coefficients in use, for the bands acting on `view`
    /// (stereo bands act on every view).
    pub fn response(&self, hz: f64, view: Placement) -> Complex64 {
        self.bands
            .iter()
            .filter(|b| b.structure.enabled && b.target.acts_on(view))
            .fold(Complex64::new(1.0, 0.0), |acc, b| {
                acc * b.design.response(hz)
            })
    }

    /// Plans the next sub-block: smoothing, dynamics, designs.
    fn plan_sub_block(&mut self) {
        let sr = self.sample_rate_hz;
        let alpha = if self.smoothing_ms > 0.0 {
            1.0 - (-(SUB_BLOCK as f64) / (self.smoothing_ms as f64 * 1e-3 * sr)).exp()
        } else {
            1.0
        };
        let fade_step = 1.0 / (FADE_MS * 1e-3 * sr).max(1.0);
        let mut matched_budget = 1;
        for b in self.bands.iter_mut() {
            let want = Structure::from(&b.target);
            if want != b.structure {
                if b.mix > 0.0 && b.structure.enabled {
                    // Fade out first; the change lands once silent.
                    b.mix_step = -fade_step;
                    continue;
                }
                b.structure = want;
                b.params = Params::of(&b.target);
                b.reset();
                b.detector
                    .tune(sr, b.params.ln_freq.exp(), b.params.ln_q.exp());
                if want.enabled {
                    b.retarget(sr, Precision::Fast, SUB_BLOCK, true);
                    b.needs_matched = true;
                    b.mix = 0.0;
                    b.mix_step = fade_step;
                } else {
                    b.mix = 0.0;
                    b.mix_step = 0.0;
                }
                continue;
            }
            if !b.structure.enabled {
                continue;
            }
            let target = Params::of(&b.target);
            let settled = b.params.approach(&target, alpha);
            let mut dyn_moved = false;
            if b.target.is_dynamic() {
                let before = b.dynamic_db;
                b.dynamic_db = b.detector.update(&b.target.dynamic, sr, SUB_BLOCK);
                dyn_moved = (b.dynamic_db - before).abs() > 1e-4;
            } else if b.dynamic_db != 0.0 {
                b.dynamic_db = 0.0;
                dyn_moved = true;
            }
            if !settled {
                b.detector
                    .tune(sr, b.params.ln_freq.exp(), b.params.ln_q.exp());
            }
            if !settled || dyn_moved {
                b.retarget(sr, Precision::Fast, SUB_BLOCK, false);
                b.needs_matched = true;
            } else if b.needs_matched && matched_budget > 0 {
                matched_budget -= 1;
                b.needs_matched = false;
                b.retarget(sr, Precision::Matched, SUB_BLOCK, false);
            }
        }
    }

    /// Processes a stereo block in place (`left` and `right` of equal length; the shorter
    /// length is used).
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        let mut n = 0;
        while n < len {
            if self.sub_pos == 0 {
                self.plan_sub_block();
            }
            if self.bands.iter().all(|b| b.is_quiescent()) {
                // Settings cannot change during this call, so nothing moves until its end:
                // run the rest as one static chain.
                let run = len - n;
                self.run_static(&mut left[n..len], &mut right[n..len]);
                let total = self.sub_pos + run;
                self.sub_pos = total % SUB_BLOCK;
                if total >= SUB_BLOCK {
                    for b in self.bands.iter_mut() {
                        b.finish_sub_block();
                    }
                }
                break;
            }
            let run = (SUB_BLOCK - self.sub_pos).min(len - n);
            self.run(&mut left[n..n + run], &mut right[n..n + run]);
            n += run;
            self.sub_pos += run;
            if self.sub_pos == SUB_BLOCK {
                self.sub_pos = 0;
                for b in self.bands.iter_mut() {
                    b.finish_sub_block();
                }
            }
        }
    }

    /// Processes a mono block (both lanes carry the signal; mid bands act, side bands see
    /// silence).
    pub fn process_block_mono(&mut self, buf: &mut [f32]) {
        let mut scratch = [0.0f32; SUB_BLOCK];
        for chunk in buf.chunks_mut(SUB_BLOCK) {
            let r = &mut scratch[..chunk.len()];
            r.copy_from_slice(chunk);
            self.process_block(chunk, r);
        }
    }

    /// The static chain as one skewed pipeline over the whole run (see [`run_pipeline`]).
    fn run_static(&mut self, left: &mut [f32], right: &mut [f32]) {
        let mut ops = [FlatOp::Encode; MAX_OPS];
        let mut count = 0;
        for (bi, b) in self.bands.iter().enumerate() {
            if b.is_active() && b.sections > 0 {
                count = push_band_ops(&mut ops, count, bi, b);
            }
        }
        if count == 0 {
            crate::util::sanitize(left);
            crate::util::sanitize(right);
            return;
        }
        run_pipeline::<MAX_OPS>(&mut self.bands, &ops[..count], &mut StereoF32(left, right));
    }

    fn run(&mut self, left: &mut [f32], right: &mut [f32]) {
        if !self.bands.iter().any(|b| b.is_active() && b.sections > 0) {
            crate::util::sanitize(left);
            crate::util::sanitize(right);
            return;
        }
        // Band after band over the (at most one sub-block long) run: each band's state stays
        // in registers for the whole run. Consecutive bands that hold still during this
        // sub-block (no interpolation, no fade, no detector) run as one skewed pipeline, so a
        // dynamic or moving band costs its own per-sample time, not that of every band.
        let mut buf = [[0.0f64; 2]; SUB_BLOCK];
        let buf = &mut buf[..left.len()];
        for ((v, l), r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
            *v = [to_input(*l), to_input(*r)];
        }
        let mut ops = [FlatOp::Encode; MAX_OPS];
        let mut count = 0;
        for i in 0..MAX_BANDS {
            let band = &self.bands[i];
            if !(band.is_active() && band.sections > 0) {
                continue;
            }
            let still = band.holds_still();
            // A group is flushed before a band that moves, or before it would outgrow the
            // small per-sub-block pipeline (splitting is exact: the buffer stays `f64`).
            if count > 0 && (!still || count + band.sections + 2 > GROUP_OPS) {
                run_pipeline::<GROUP_OPS>(&mut self.bands, &ops[..count], &mut F64Lanes(buf));
                count = 0;
            }
            if still {
                count = push_band_ops(&mut ops, count, i, &self.bands[i]);
                continue;
            }
            let band = &mut self.bands[i];
            for v in buf.iter_mut() {
                *v = band.tick(*v);
            }
        }
        if count > 0 {
            run_pipeline::<GROUP_OPS>(&mut self.bands, &ops[..count], &mut F64Lanes(buf));
        }
        for ((v, l), r) in buf.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            *l = to_output(v[0]);
            *r = to_output(v[1]);
        }
    }
}

/// Appends band `bi`'s steps (M/S encode, its sections, decode) to `ops[..count]`; returns the
/// new count.
fn push_band_ops(ops: &mut [FlatOp; MAX_OPS], mut count: usize, bi: usize, b: &Band) -> usize {
    let ms = b.is_ms();
    if ms {
        ops[count] = FlatOp::Encode;
        count += 1;
    }
    for si in 0..b.sections {
        ops[count] = FlatOp::Section(bi as u8, si as u8);
        count += 1;
    }
    if ms {
        ops[count] = FlatOp::Decode;
        count += 1;
    }
    count
}

/// Stereo samples a pipeline reads and writes in place.
trait PipelineIo {
    fn len(&self) -> usize;
    fn get(&self, n: usize) -> [f64; 2];
    fn set(&mut self, n: usize, v: [f64; 2]);
}

/// The host's `f32` channels (converted on the way in and out).
struct StereoF32<'a>(&'a mut [f32], &'a mut [f32]);

impl PipelineIo for StereoF32<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len().min(self.1.len())
    }
    #[inline(always)]
    fn get(&self, n: usize) -> [f64; 2] {
        [to_input(self.0[n]), to_input(self.1[n])]
    }
    #[inline(always)]
    fn set(&mut self, n: usize, v: [f64; 2]) {
        self.0[n] = to_output(v[0]);
        self.1[n] = to_output(v[1]);
    }
}

/// The sub-block's `f64` working buffer.
struct F64Lanes<'a>(&'a mut [[f64; 2]]);

impl PipelineIo for F64Lanes<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn get(&self, n: usize) -> [f64; 2] {
        self.0[n]
    }
    #[inline(always)]
    fn set(&mut self, n: usize, v: [f64; 2]) {
        self.0[n] = v;
    }
}

/// Runs `ops` over `io` as a skewed pipeline: step `s` works on sample `n - s`, so the
/// recursions of all sections run side by side instead of waiting on each other (one
/// section's feedback loop is ~15 cycles; the sections together keep the FPU busy). Same
/// arithmetic per sample as `Band::tick` for a band that holds still, so both paths give
/// identical output. Sample `m` is written only after sample `m` was read, so `io` may be
/// processed in place.
fn run_pipeline<const N: usize>(
    bands: &mut [Band; MAX_BANDS],
    ops: &[FlatOp],
    io: &mut impl PipelineIo,
) {
    let count = ops.len();
    assert!(count <= N, "pipeline of {count} steps exceeds {N}");
    let len = io.len();
    if count == 0 || len == 0 {
        return;
    }
    // Gather taps and states contiguously.
    let mut taps = [LaneTaps::from_coefs(&LaneCoefs::IDENTITY); N];
    let mut state = [LaneState::default(); N];
    for (k, op) in ops.iter().enumerate() {
        if let FlatOp::Section(b, s) = *op {
            taps[k] = bands[b as usize].taps[s as usize];
            state[k] = bands[b as usize].state[s as usize];
        }
    }
    let mut prev = [[0.0f64; 2]; N];
    for n in 0..len + count - 1 {
        let s_hi = (count - 1).min(n);
        let s_lo = if n >= len { n + 1 - len } else { 0 };
        for s in (s_lo..=s_hi).rev() {
            let x = if s == 0 { io.get(n) } else { prev[s - 1] };
            prev[s] = match ops[s] {
                FlatOp::Section(..) => state[s].tick(&taps[s], x),
                FlatOp::Encode => [0.5 * (x[0] + x[1]), 0.5 * (x[0] - x[1])],
                FlatOp::Decode => [x[0] + x[1], x[0] - x[1]],
            };
        }
        if n + 1 >= count {
            io.set(n + 1 - count, prev[count - 1]);
        }
    }
    for (k, op) in ops.iter().enumerate() {
        if let FlatOp::Section(b, s) = *op {
            bands[b as usize].state[s as usize] = state[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::BandKind;

    /// The original per-band, per-sample path: every active band through `Band::tick`.
    fn reference_block(eq: &mut ParametricEq, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.chunks_mut(SUB_BLOCK).zip(right.chunks_mut(SUB_BLOCK)) {
            eq.plan_sub_block();
            let mut buf: Vec<[f64; 2]> = l
                .iter()
                .zip(r.iter())
                .map(|(x, y)| [to_input(*x), to_input(*y)])
                .collect();
            for b in eq.bands.iter_mut() {
                if b.is_active() && b.sections > 0 {
                    for v in buf.iter_mut() {
                        *v = b.tick(*v);
                    }
                }
            }
            for ((v, x), y) in buf.iter().zip(l.iter_mut()).zip(r.iter_mut()) {
                *x = to_output(v[0]);
                *y = to_output(v[1]);
            }
            for b in eq.bands.iter_mut() {
                b.finish_sub_block();
            }
        }
    }

    #[test]
    fn pipelined_still_bands_match_the_per_sample_path_bit_for_bit() {
        let sr = 48_000.0;
        let mut eq = ParametricEq::new(sr);
        let mut dynamic = BandSettings::bell(2_500.0, 0.0, 1.5);
        dynamic.dynamic.enabled = true;
        dynamic.dynamic.threshold_db = -30.0;
        dynamic.dynamic.range_db = -6.0;
        let mut side = BandSettings::new(BandKind::HighShelf, 12_000.0, 1.5, 0.7);
        side.placement = Placement::Side;
        let bands = [
            BandSettings::new(BandKind::HighPass, 35.0, 0.0, 0.7),
            BandSettings::bell(250.0, -1.5, 1.0),
            dynamic,
            side,
            BandSettings::new(BandKind::LowShelf, 100.0, -1.0, 0.7),
        ];
        for (i, b) in bands.iter().enumerate() {
            eq.set_band_immediately(i, *b);
        }
        let mut reference = eq.clone();
        let n = SUB_BLOCK * 200;
        let mut left: Vec<f32> = (0..n)
            .map(|i| 0.5 * (i as f32 * 0.131).sin() + 0.3 * (i as f32 * 0.0071).sin())
            .collect();
        let mut right: Vec<f32> = (0..n).map(|i| 0.4 * (i as f32 * 0.057).cos()).collect();
        let (mut ref_l, mut ref_r) = (left.clone(), right.clone());
        eq.process_block(&mut left, &mut right);
        reference_block(&mut reference, &mut ref_l, &mut ref_r);
        assert!(eq.dynamic_gain_db(2) < -1.0, "the dynamic band must move");
        assert_eq!(left, ref_l);
        assert_eq!(right, ref_r);
    }
}
