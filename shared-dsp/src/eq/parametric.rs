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
//! Bands that hold still (no interpolation, fade or detector this sub-block) run in
//! [`super::pipeline`]: their sections as direct-form-II stages of one skewed four-lane
//! pipeline, about four times cheaper than the per-sample SVF path. A band's state moves
//! between the two forms exactly (SVF integrators <-> DF-II delay line, see
//! [`crate::filter::svf`]) when it starts or stops moving, so automation stays clean.
//!
//! Sub-block boundaries are counted across calls, so any host block size gives bit-identical
//! output.

use super::band::{BandSettings, Placement};
use super::dynamic::DynamicDetector;
use super::pipeline::{self, F64Lanes, PipelineIo, Stage, Transform};
use crate::filter::biquad::FLUSH_BELOW;
use crate::filter::coefficients::MAX_SECTIONS;
use crate::filter::{CascadeCoefs, DirectForm2, Precision, SvfCoefs, SvfSpace, SvfState, SvfTaps};
use crate::simd::{has_avx_fma, BASELINE_FMA};
use realfft::num_complex::Complex64;

/// Most bands a [`ParametricEq`] holds.
pub const MAX_BANDS: usize = 16;
/// Samples per smoothing / design step.
pub const SUB_BLOCK: usize = 32;
/// Default parameter smoothing time constant, in ms.
pub const DEFAULT_SMOOTHING_MS: f32 = 15.0;
/// Cross-fade time for structural band changes, in ms.
const FADE_MS: f64 = 10.0;
/// Frames processed band after band in one go (a multiple of [`SUB_BLOCK`]): long enough that
/// the pipeline's fill and drain vanish, short enough for an `f64` buffer on the stack.
const CHUNK_FRAMES: usize = 512;

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
    /// The taps of `lane`.
    fn lane(&self, lane: usize) -> SvfTaps {
        SvfTaps {
            a1: self.a1[lane],
            a2: self.a2[lane],
            a3: self.a3[lane],
            m0: self.m0[lane],
            m1: self.m1[lane],
            m2: self.m2[lane],
        }
    }

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

/// One section for both lanes in [`SvfSpace`] form (same integrator states as the SVF, so
/// moving coefficients behave as the SVF does, with a shorter recursion).
#[derive(Clone, Copy, Debug)]
struct LaneSpace {
    c11: [f64; 2],
    c12: [f64; 2],
    c21: [f64; 2],
    c22: [f64; 2],
    d1: [f64; 2],
    d2: [f64; 2],
    m0: [f64; 2],
    m1_half: [f64; 2],
    m2_half: [f64; 2],
}

impl LaneSpace {
    #[inline(always)]
    fn of(t: &LaneTaps) -> Self {
        let [a, b] = [0, 1].map(|lane| SvfSpace::from(&t.lane(lane)));
        Self {
            c11: [a.c11, b.c11],
            c12: [a.c12, b.c12],
            c21: [a.c21, b.c21],
            c22: [a.c22, b.c22],
            d1: [a.d1, b.d1],
            d2: [a.d2, b.d2],
            m0: [a.m0, b.m0],
            m1_half: [a.m1_half, b.m1_half],
            m2_half: [a.m2_half, b.m2_half],
        }
    }
}

/// `a b + c`, fused when `FMA` (only instantiated so where the hardware fuses).
#[inline(always)]
fn mul_add<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
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
    fn tick<const FMA: bool>(&mut self, t: &LaneSpace, x: [f64; 2]) -> [f64; 2] {
        let mut y = [0.0; 2];
        for i in 0..2 {
            let (s1, s2) = (self.ic1[i], self.ic2[i]);
            let n1 = mul_add::<FMA>(t.c11[i], s1, mul_add::<FMA>(t.c12[i], s2, t.d1[i] * x[i]));
            let n2 = mul_add::<FMA>(t.c22[i], s2, mul_add::<FMA>(t.c21[i], s1, t.d2[i] * x[i]));
            self.ic1[i] = n1;
            self.ic2[i] = n2;
            let mixed = mul_add::<FMA>(t.m1_half[i], s1 + n1, t.m2_half[i] * (s2 + n2));
            y[i] = mul_add::<FMA>(t.m0[i], x[i], mixed);
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

/// Most stages of the still chain: every section, plus an M/S decode after every band.
const MAX_STAGES: usize = MAX_BANDS * (MAX_SECTIONS + 1);

/// Which form a band's filter state is held in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StateForm {
    /// SVF integrators (`state`), for the per-sample path.
    Svf,
    /// Direct-form-II delay lines (`delay`), for the still pipeline.
    Direct,
}

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
    /// `Params::of(&target)`, kept with it (two logarithms a band).
    target_params: Params,
    structure: Structure,
    params: Params,
    /// Coefficients at the start of the current sample, the per-sample step, and taps.
    coefs: [LaneCoefs; MAX_SECTIONS],
    step: [LaneCoefs; MAX_SECTIONS],
    taps: [LaneTaps; MAX_SECTIONS],
    state: [LaneState; MAX_SECTIONS],
    /// Per section and lane `[w1, w2]`, live while `form` is `Direct`.
    delay: [[[f64; 2]; 2]; MAX_SECTIONS],
    form: StateForm,
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
            target_params: Params::of(&s),
            structure: Structure::from(&s),
            params: Params::of(&s),
            coefs: [LaneCoefs::IDENTITY; MAX_SECTIONS],
            step: [LaneCoefs::IDENTITY.sub(&LaneCoefs::IDENTITY, 0.0); MAX_SECTIONS],
            taps: [LaneTaps::from_coefs(&LaneCoefs::IDENTITY); MAX_SECTIONS],
            state: [LaneState::default(); MAX_SECTIONS],
            delay: [[[0.0; 2]; 2]; MAX_SECTIONS],
            form: StateForm::Svf,
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
            && self.params == self.target_params
    }

    fn reset(&mut self) {
        self.state = [LaneState::default(); MAX_SECTIONS];
        self.delay = [[[0.0; 2]; 2]; MAX_SECTIONS];
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
            self.settle_taps();
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
        // Only the live form of the sections that ran can have changed.
        let n = self.sections;
        match self.form {
            StateForm::Svf => self.state[..n].iter_mut().for_each(LaneState::settle),
            StateForm::Direct => {
                for d in self.delay[..n].iter_mut() {
                    if !d.iter().flatten().all(|w| w.is_finite()) {
                        *d = [[0.0; 2]; 2];
                    }
                    for w in d.iter_mut().flatten() {
                        if w.abs() < FLUSH_BELOW {
                            *w = 0.0;
                        }
                    }
                }
            }
        }
        if self.moving {
            self.moving = false;
            self.sections = self.next_sections;
            self.settle_taps();
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
    }

    /// The coefficients now hold: taps from `coefs`.
    fn settle_taps(&mut self) {
        for (t, c) in self.taps.iter_mut().zip(self.coefs.iter()) {
            *t = LaneTaps::from_coefs(c);
        }
    }

    /// Direct-form-II realisation of section `s`'s taps per lane (identity on lanes the band
    /// leaves alone).
    fn direct_form(&self, s: usize) -> [DirectForm2; 2] {
        let lanes = self.lanes();
        std::array::from_fn(|lane| {
            if lanes[lane] {
                self.taps[s].lane(lane).direct_form()
            } else {
                DirectForm2::IDENTITY
            }
        })
    }

    /// Moves the state into the DF-II delay lines (for the still pipeline).
    fn enter_direct_form(&mut self) {
        if self.form == StateForm::Direct {
            return;
        }
        let lanes = self.lanes();
        for s in 0..self.sections {
            for (lane, on) in lanes.iter().enumerate() {
                let st = &self.state[s];
                self.delay[s][lane] = if *on {
                    let svf = SvfState {
                        ic1eq: st.ic1[lane],
                        ic2eq: st.ic2[lane],
                    };
                    self.taps[s].lane(lane).state_to_direct(&svf)
                } else {
                    [0.0; 2]
                };
            }
        }
        self.form = StateForm::Direct;
    }

    /// Moves the state into the SVF integrators (for the per-sample path), with the taps the
    /// delay lines ran on.
    fn enter_svf_form(&mut self) {
        if self.form == StateForm::Svf {
            return;
        }
        let lanes = self.lanes();
        for s in 0..self.sections {
            for (lane, on) in lanes.iter().enumerate() {
                let svf = if *on {
                    self.taps[s]
                        .lane(lane)
                        .state_from_direct(self.delay[s][lane])
                } else {
                    SvfState::default()
                };
                self.state[s].ic1[lane] = svf.ic1eq;
                self.state[s].ic2[lane] = svf.ic2eq;
            }
        }
        self.form = StateForm::Svf;
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,fma")]
    unsafe fn run_sections_avx_fma(&mut self, io: &mut [[f64; 2]]) {
        self.run_sections::<true>(io);
    }

    /// The sections over `io` in place, section after section, so each section's state and
    /// coefficients stay in registers (a section's output depends only on its input, so this
    /// is the same arithmetic as sample after sample).
    #[inline(always)]
    fn run_sections<const FMA: bool>(&mut self, io: &mut [[f64; 2]]) {
        for s in 0..self.sections {
            let mut state = self.state[s];
            if self.moving {
                let mut c = self.coefs[s];
                let step = self.step[s];
                for u in io.iter_mut() {
                    let space = LaneSpace::of(&LaneTaps::from_coefs(&c));
                    *u = state.tick::<FMA>(&space, *u);
                    c.add_assign(&step);
                }
                self.coefs[s] = c;
            } else {
                let space = LaneSpace::of(&self.taps[s]);
                for u in io.iter_mut() {
                    *u = state.tick::<FMA>(&space, *u);
                }
            }
            self.state[s] = state;
        }
    }

    /// Runs the band per sample in SVF form over `seg` (at most one sub-block): the path for
    /// bands whose coefficients, fade or detector move.
    fn run_moving(&mut self, seg: &mut [[f64; 2]]) {
        self.enter_svf_form();
        let ms = self.is_ms();
        let mut input = [[0.0f64; 2]; SUB_BLOCK];
        let input = &mut input[..seg.len()];
        for (x, v) in input.iter_mut().zip(seg.iter()) {
            *x = band_input(*v, ms);
        }
        if self.target.is_dynamic() && self.structure.enabled {
            self.detector.feed_block(input, self.lanes());
        }
        let mut out = [[0.0f64; 2]; SUB_BLOCK];
        let out = &mut out[..seg.len()];
        out.copy_from_slice(input);
        if has_avx_fma() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX and FMA (checked above).
            unsafe {
                self.run_sections_avx_fma(out)
            };
        } else {
            self.run_sections::<BASELINE_FMA>(out);
        }
        if self.mix < 1.0 || self.mix_step != 0.0 {
            for (u, x) in out.iter_mut().zip(input.iter()) {
                for i in 0..2 {
                    u[i] = x[i] + self.mix * (u[i] - x[i]);
                }
                self.mix = (self.mix + self.mix_step).clamp(0.0, 1.0);
            }
        }
        for (v, u) in seg.iter_mut().zip(out.iter()) {
            *v = if ms { [u[0] + u[1], u[0] - u[1]] } else { *u };
        }
    }
}

/// A stereo minimum-phase parametric EQ of up to [`MAX_BANDS`] bands. Latency 0.
#[derive(Clone, Debug)]
pub struct ParametricEq {
    sample_rate_hz: f64,
    smoothing_ms: f32,
    /// Per-sub-block smoothing weight and fade step, from the rate and `smoothing_ms`.
    smoothing_alpha: f64,
    fade_step: f64,
    bands: [Band; MAX_BANDS],
    /// Position inside the current sub-block (sub-blocks run across calls).
    sub_pos: usize,
    /// Scratch for the still pipeline (kept here so a call sets up only the stages it uses).
    stages: [Stage; MAX_STAGES],
}

impl ParametricEq {
    /// An EQ with all bands disabled.
    pub fn new(sample_rate_hz: f64) -> Self {
        let mut eq = Self {
            sample_rate_hz,
            smoothing_ms: DEFAULT_SMOOTHING_MS,
            smoothing_alpha: 1.0,
            fade_step: 1.0,
            bands: [Band::new(sample_rate_hz); MAX_BANDS],
            sub_pos: 0,
            stages: [Stage::IDENTITY; MAX_STAGES],
        };
        eq.update_rates();
        eq
    }

    fn update_rates(&mut self) {
        let sr = self.sample_rate_hz;
        self.smoothing_alpha = if self.smoothing_ms > 0.0 {
            1.0 - (-(SUB_BLOCK as f64) / (self.smoothing_ms as f64 * 1e-3 * sr)).exp()
        } else {
            1.0
        };
        self.fade_step = 1.0 / (FADE_MS * 1e-3 * sr).max(1.0);
    }

    /// Sets the sample rate: redesigns every band at once (call from `activate`, not from the
    /// audio thread) and clears state.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.update_rates();
        for b in self.bands.iter_mut() {
            b.structure = Structure::from(&b.target);
            b.params = b.target_params;
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
        self.update_rates();
    }

    /// Records new settings for band `index` (ignored if out of range); applied from the next
    /// sub-block on, smoothed.
    pub fn set_band(&mut self, index: usize, settings: BandSettings) {
        if let Some(b) = self.bands.get_mut(index) {
            if b.target != settings {
                b.target = settings;
                b.target_params = Params::of(&settings);
            }
        }
    }

    /// Sets a band and jumps straight to it (no smoothing, no fade); designs now, so call it
    /// when preparing (e.g. after loading a preset), not per block.
    pub fn set_band_immediately(&mut self, index: usize, settings: BandSettings) {
        let sr = self.sample_rate_hz;
        if let Some(b) = self.bands.get_mut(index) {
            b.target = settings;
            b.target_params = Params::of(&settings);
            b.structure = Structure::from(&settings);
            b.params = b.target_params;
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

    /// Plans band `bi`'s next sub-block: smoothing, dynamics, designs. `matched_budget` is
    /// shared by all bands of one sub-block: at most one full matched design per sub-block, so
    /// settling never bunches up into a spike (the lowest band that needs one gets it).
    fn plan_band(&mut self, bi: usize, matched_budget: &mut bool) {
        let (sr, alpha, fade_step) = (self.sample_rate_hz, self.smoothing_alpha, self.fade_step);
        let b = &mut self.bands[bi];
        let want = Structure::from(&b.target);
        if want != b.structure {
            if b.mix > 0.0 && b.structure.enabled {
                // Fade out first; the change lands once silent.
                b.mix_step = -fade_step;
                return;
            }
            b.structure = want;
            b.params = b.target_params;
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
            return;
        }
        if !b.structure.enabled {
            return;
        }
        let target = b.target_params;
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
        } else if b.needs_matched && *matched_budget {
            *matched_budget = false;
            b.needs_matched = false;
            b.retarget(sr, Precision::Matched, SUB_BLOCK, false);
        }
    }

    /// Processes a stereo block in place (`left` and `right` of equal length; the shorter
    /// length is used).
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        for (l, r) in left[..len]
            .chunks_mut(CHUNK_FRAMES)
            .zip(right[..len].chunks_mut(CHUNK_FRAMES))
        {
            self.process_chunk(l, r);
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

    /// One chunk, band after band. A band that is quiescent (settings reached, not dynamic)
    /// stays so for the whole call, so consecutive quiescent bands run as one pipeline over
    /// the whole chunk; every other band runs sub-block by sub-block, planning each one. Band
    /// `i` at sub-block `k` depends only on its own history, its input and whether a lower band
    /// took sub-block `k`'s matched design, so this order gives the same bits as running all
    /// bands sub-block by sub-block, and the same for any split of the audio into calls.
    fn process_chunk(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len();
        let start = self.sub_pos;
        let ends_sub_block = start + len >= SUB_BLOCK;
        self.sub_pos = (start + len) % SUB_BLOCK;
        if self.bands.iter().all(|b| b.is_quiescent()) {
            // Nothing moves: the whole chain in one pipeline straight over the host's channels.
            let mut chain = StillChain::new();
            for bi in 0..MAX_BANDS {
                if self.bands[bi].is_active() && self.bands[bi].sections > 0 {
                    chain.push(&mut self.stages, bi, &mut self.bands[bi]);
                }
            }
            if chain.count == 0 {
                crate::util::sanitize(left);
                crate::util::sanitize(right);
            } else {
                chain.run_f32(&mut self.stages, &mut self.bands, left, right);
            }
            if ends_sub_block {
                self.bands.iter_mut().for_each(Band::finish_sub_block);
            }
            return;
        }
        // The same conversions as `pipeline::run_f32`, so both ways give the same bits.
        crate::util::sanitize(left);
        crate::util::sanitize(right);
        let mut buf = [[0.0f64; 2]; CHUNK_FRAMES];
        let buf = &mut buf[..len];
        for ((v, l), r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
            *v = [*l as f64, *r as f64];
        }
        // One matched design per sub-block starting in this chunk, over all bands.
        let mut matched_budget = [true; CHUNK_FRAMES / SUB_BLOCK + 1];
        let quiescent: [bool; MAX_BANDS] = std::array::from_fn(|bi| self.bands[bi].is_quiescent());
        let mut chain = StillChain::new();
        for (bi, still) in quiescent.into_iter().enumerate() {
            if still {
                if self.bands[bi].is_active() && self.bands[bi].sections > 0 {
                    chain.push(&mut self.stages, bi, &mut self.bands[bi]);
                }
                continue;
            }
            chain.run(&mut self.stages, &mut self.bands, &mut F64Lanes(buf));
            self.run_band(bi, buf, start, &mut matched_budget);
        }
        chain.run(&mut self.stages, &mut self.bands, &mut F64Lanes(buf));
        if ends_sub_block {
            for (b, _) in self.bands.iter_mut().zip(quiescent).filter(|(_, q)| *q) {
                b.finish_sub_block();
            }
        }
        for ((v, l), r) in buf.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            *l = v[0] as f32;
            *r = v[1] as f32;
        }
        crate::util::sanitize(left);
        crate::util::sanitize(right);
    }

    /// Runs band `bi` over `buf`, which starts `start` samples into a sub-block: plans each
    /// sub-block that begins here, runs it still (pipeline) or moving (per-sample SVF), and
    /// ends each sub-block that ends here.
    fn run_band(
        &mut self,
        bi: usize,
        buf: &mut [[f64; 2]],
        start: usize,
        matched_budget: &mut [bool],
    ) {
        let mut pos = 0;
        let mut sub = start;
        let mut k = 0;
        while pos < buf.len() {
            if sub == 0 {
                self.plan_band(bi, &mut matched_budget[k]);
            }
            let run = (SUB_BLOCK - sub).min(buf.len() - pos);
            let seg = &mut buf[pos..pos + run];
            let band = &mut self.bands[bi];
            if band.is_active() && band.sections > 0 {
                if band.holds_still() {
                    let mut chain = StillChain::new();
                    chain.push(&mut self.stages, bi, band);
                    chain.run(&mut self.stages, &mut self.bands, &mut F64Lanes(seg));
                } else {
                    band.run_moving(seg);
                }
            }
            pos += run;
            sub += run;
            if sub == SUB_BLOCK {
                sub = 0;
                k += 1;
                self.bands[bi].finish_sub_block();
            }
        }
    }
}

/// A band's input: the stereo pair, or its M/S encoding for mid and side bands.
#[inline(always)]
fn band_input(v: [f64; 2], ms: bool) -> [f64; 2] {
    if ms {
        [0.5 * (v[0] + v[1]), 0.5 * (v[0] - v[1])]
    } else {
        v
    }
}

/// Consecutive still bands collected as pipeline stages (in `ParametricEq::stages`).
struct StillChain {
    count: usize,
    /// Whether the last band pushed leaves its signal in M/S.
    in_ms: bool,
    /// `(band, section)` of each stage (`u8::MAX` marks the closing decode).
    owners: [(u8, u8); MAX_STAGES],
}

impl StillChain {
    fn new() -> Self {
        Self {
            count: 0,
            in_ms: false,
            owners: [(0, 0); MAX_STAGES],
        }
    }

    /// Appends band `bi`'s sections (its state moves to the delay lines).
    fn push(&mut self, stages: &mut [Stage; MAX_STAGES], bi: usize, band: &mut Band) {
        band.enter_direct_form();
        let ms = band.is_ms();
        // Entering or leaving M/S rides on the band's first stage. Two M/S bands in a row
        // still decode and encode between them, as the per-sample path does: the bits must
        // not depend on which bands happen to share a pipeline.
        if self.in_ms && ms {
            self.push_decode(stages);
        }
        let mut transform = match (self.in_ms, ms) {
            (false, true) => Transform::Encode,
            (true, false) => Transform::Decode,
            _ => Transform::None,
        };
        for si in 0..band.sections {
            stages[self.count] = Stage {
                transform,
                coefs: band.direct_form(si),
                delay: band.delay[si],
            };
            self.owners[self.count] = (bi as u8, si as u8);
            self.count += 1;
            transform = Transform::None;
        }
        self.in_ms = ms;
    }

    /// Appends a stage that only decodes M/S back to L/R.
    fn push_decode(&mut self, stages: &mut [Stage; MAX_STAGES]) {
        stages[self.count] = Stage {
            transform: Transform::Decode,
            ..Stage::IDENTITY
        };
        self.owners[self.count] = (u8::MAX, 0);
        self.count += 1;
        self.in_ms = false;
    }

    /// Runs the collected stages over `io`, hands the delay lines back to their bands and
    /// starts a new chain.
    fn run(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bands: &mut [Band; MAX_BANDS],
        io: &mut impl PipelineIo,
    ) {
        self.run_with(stages, bands, |s| pipeline::run(s, io));
    }

    /// [`Self::run`] over the host's channels.
    fn run_f32(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bands: &mut [Band; MAX_BANDS],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        self.run_with(stages, bands, |s| pipeline::run_f32(s, left, right));
    }

    fn run_with(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bands: &mut [Band; MAX_BANDS],
        run: impl FnOnce(&mut [Stage]),
    ) {
        if self.count == 0 {
            return;
        }
        if self.in_ms {
            self.push_decode(stages);
        }
        run(&mut stages[..self.count]);
        for (st, &(b, s)) in stages[..self.count].iter().zip(self.owners.iter()) {
            if b != u8::MAX {
                bands[b as usize].delay[s as usize] = st.delay;
            }
        }
        self.count = 0;
        self.in_ms = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::BandKind;
    use crate::filter::biquad::{to_input, to_output};

    /// The original per-band, per-sample path: every active band through `Band::tick`.
    fn reference_block(eq: &mut ParametricEq, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.chunks_mut(SUB_BLOCK).zip(right.chunks_mut(SUB_BLOCK)) {
            let mut matched_budget = true;
            for bi in 0..MAX_BANDS {
                eq.plan_band(bi, &mut matched_budget);
            }
            let mut buf: Vec<[f64; 2]> = l
                .iter()
                .zip(r.iter())
                .map(|(x, y)| [to_input(*x), to_input(*y)])
                .collect();
            for b in eq.bands.iter_mut() {
                if b.is_active() && b.sections > 0 {
                    for v in buf.chunks_mut(1) {
                        b.run_moving(v);
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

    /// Largest difference between two signals.
    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn baseline_moving_sections_match_the_fused_build() {
        // The unfused build runs wherever AVX/FMA is missing; it must give the fused build's
        // result up to rounding while a band moves (FMA = true is a library call on such a
        // machine, slow but exact).
        let mut eq = ParametricEq::new(48_000.0);
        eq.set_band_immediately(0, BandSettings::bell(300.0, -4.0, 0.8));
        eq.set_band(0, BandSettings::bell(3_000.0, 6.0, 2.0));
        eq.plan_band(0, &mut true);
        let band = &eq.bands[0];
        assert!(band.moving, "the band must move");
        let input: Vec<[f64; 2]> = (0..SUB_BLOCK)
            .map(|n| [(n as f64 * 0.7).sin(), (n as f64 * 0.3).cos()])
            .collect();
        let (mut fused, mut plain) = (*band, *band);
        let (mut y_fused, mut y_plain) = (input.clone(), input);
        fused.run_sections::<true>(&mut y_fused);
        plain.run_sections::<false>(&mut y_plain);
        for (a, b) in y_fused.iter().flatten().zip(y_plain.iter().flatten()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(fused.coefs, plain.coefs);
    }

    #[test]
    fn pipelined_still_bands_match_the_per_sample_svf_path() {
        // Bands of every placement, a dynamic band that moves all the time, and a bell that is
        // automated in bursts, so bands switch between the direct-form pipeline and the
        // per-sample SVF path many times. A wrong state conversion would leave a transient of
        // the size of the signal; rounding differences stay near f32 resolution.
        let sr = 48_000.0;
        let mut eq = ParametricEq::new(sr);
        let mut dynamic = BandSettings::bell(2_500.0, 0.0, 1.5);
        dynamic.dynamic.enabled = true;
        dynamic.dynamic.threshold_db = -30.0;
        dynamic.dynamic.range_db = -6.0;
        let mut side = BandSettings::new(BandKind::HighShelf, 12_000.0, 1.5, 0.7);
        side.placement = Placement::Side;
        let mut mid = BandSettings::bell(400.0, 2.0, 0.9);
        mid.placement = Placement::Mid;
        let mut left_only = BandSettings::bell(5_000.0, -3.0, 2.0);
        left_only.placement = Placement::Left;
        let bands = [
            BandSettings {
                slope: crate::filter::Slope::Db48,
                ..BandSettings::new(BandKind::HighPass, 35.0, 0.0, 0.7)
            },
            BandSettings::bell(250.0, -1.5, 1.0),
            dynamic,
            side,
            mid,
            left_only,
            BandSettings::new(BandKind::LowShelf, 100.0, -1.0, 0.7),
        ];
        for (i, b) in bands.iter().enumerate() {
            eq.set_band_immediately(i, *b);
        }
        let mut reference = eq.clone();
        let n = SUB_BLOCK * 600;
        let mut left: Vec<f32> = (0..n)
            .map(|i| 0.5 * (i as f32 * 0.131).sin() + 0.3 * (i as f32 * 0.0071).sin())
            .collect();
        let mut right: Vec<f32> = (0..n).map(|i| 0.4 * (i as f32 * 0.057).cos()).collect();
        let (mut ref_l, mut ref_r) = (left.clone(), right.clone());
        let block = SUB_BLOCK * 25;
        for (k, start) in (0..n).step_by(block).enumerate() {
            if k % 3 == 1 {
                let bell = BandSettings::bell(250.0 * (1.0 + 0.3 * k as f32), -1.5, 1.0);
                eq.set_band(1, bell);
                reference.set_band(1, bell);
            }
            let end = (start + block).min(n);
            eq.process_block(&mut left[start..end], &mut right[start..end]);
            reference_block(
                &mut reference,
                &mut ref_l[start..end],
                &mut ref_r[start..end],
            );
        }
        assert!(eq.dynamic_gain_db(2) < -1.0, "the dynamic band must move");
        let (dl, dr) = (max_diff(&left, &ref_l), max_diff(&right, &ref_r));
        assert!(dl < 2e-6 && dr < 2e-6, "left {dl:e}, right {dr:e}");
    }
}
