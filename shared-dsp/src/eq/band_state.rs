//! Runtime of one parametric-EQ band (its settings live in [`super::band`]): smoothing
//! towards the target settings, fast and matched designs, the cross-fade of structural
//! changes, the dynamic detector, and the band's filter state in one of two exact forms (SVF
//! integrators for the per-sample path, direct-form-II delay lines for the still pipeline of
//! [`super::pipeline`]; see [`crate::filter::svf`] for the mapping).
//!
//! [`ParametricEq`](super::ParametricEq) plans each band per sub-block and decides which path
//! runs it.

use super::band::{BandSettings, Placement};
use super::dynamic::{DynamicDetector, Feed};
use super::lanes::{LaneCoefs, LaneSpace, LaneState, LaneTaps};
use super::parametric::SUB_BLOCK;
use crate::filter::biquad::FLUSH_BELOW;
use crate::filter::coefficients::MAX_SECTIONS;
use crate::filter::{CascadeCoefs, DirectForm2, Precision, SvfCoefs, SvfState};
use crate::simd::BASELINE_FMA;

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
pub(super) struct Structure {
    pub(super) enabled: bool,
    pub(super) kind: super::band::BandKind,
    pub(super) slope: crate::filter::Slope,
    pub(super) placement: Placement,
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
pub(super) struct Params {
    pub(super) ln_freq: f64,
    pub(super) ln_q: f64,
    pub(super) gain_db: f64,
}

impl Params {
    pub(super) fn of(s: &BandSettings) -> Self {
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
    pub(super) fn approach(&mut self, t: &Params, alpha: f64) -> bool {
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

/// Runtime of one band: smoothing, designs, cross-fade, detector and filter state.
#[derive(Clone, Copy, Debug)]
pub(super) struct BandState {
    pub(super) target: BandSettings,
    /// `Params::of(&target)`, kept with it (two logarithms a band).
    pub(super) target_params: Params,
    pub(super) structure: Structure,
    pub(super) params: Params,
    /// Coefficients at the start of the current sample, the per-sample step, and taps.
    pub(super) coefs: [LaneCoefs; MAX_SECTIONS],
    step: [LaneCoefs; MAX_SECTIONS],
    taps: [LaneTaps; MAX_SECTIONS],
    state: [LaneState; MAX_SECTIONS],
    /// Per section and lane `[w1, w2]`, live while `form` is `Direct`.
    pub(super) delay: [[[f64; 2]; 2]; MAX_SECTIONS],
    form: StateForm,
    /// Sections processed (max of the interpolation's end points).
    pub(super) sections: usize,
    /// Sections of the design being approached.
    next_sections: usize,
    /// Whether coefficients move during this sub-block.
    pub(super) moving: bool,
    /// Whether the band holds a fast (provisional) design and still needs its matched one.
    pub(super) needs_matched: bool,
    /// Cross-fade of the band's output against its input (0 = bypassed).
    pub(super) mix: f64,
    pub(super) mix_step: f64,
    pub(super) detector: DynamicDetector,
    pub(super) dynamic_db: f64,
    /// Design currently in use (for `response`).
    pub(super) design: CascadeCoefs,
    /// `params`' frequency and Q in Hz and plain, kept with the logarithms they came from (a
    /// dynamic band redesigns every sub-block at the same frequency and Q).
    freq_q: FreqQ,
}

/// A frequency and Q with the natural logarithms they are the `exp` of.
#[derive(Clone, Copy, Debug)]
struct FreqQ {
    ln_freq: f64,
    ln_q: f64,
    hz: f64,
    q: f64,
}

impl FreqQ {
    /// Matches no parameters, so the first use computes.
    const NONE: Self = Self {
        ln_freq: f64::NAN,
        ln_q: f64::NAN,
        hz: f64::NAN,
        q: f64::NAN,
    };
}

impl BandState {
    pub(super) fn new(sample_rate_hz: f64) -> Self {
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
            freq_q: FreqQ::NONE,
        }
    }

    fn lanes(&self) -> [bool; 2] {
        match self.structure.placement {
            Placement::Stereo => [true, true],
            Placement::Left | Placement::Mid => [true, false],
            Placement::Right | Placement::Side => [false, true],
        }
    }

    pub(super) fn is_ms(&self) -> bool {
        matches!(self.structure.placement, Placement::Mid | Placement::Side)
    }

    /// Whether the band does anything at all this sub-block.
    pub(super) fn is_active(&self) -> bool {
        self.mix > 0.0 || self.mix_step != 0.0
    }

    /// Whether the band runs this sub-block exactly as a static cascade: no coefficient
    /// interpolation, no fade, no detector to feed.
    pub(super) fn holds_still(&self) -> bool {
        !self.moving
            && self.mix == 1.0
            && self.mix_step == 0.0
            && !(self.target.is_dynamic() && self.structure.enabled)
    }

    /// Whether nothing about this band will change while its settings stay as they are.
    pub(super) fn is_quiescent(&self) -> bool {
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

    /// `params`' frequency in Hz and Q (`exp` of the smoothed logarithms).
    pub(super) fn freq_q(&mut self) -> (f64, f64) {
        let (ln_freq, ln_q) = (self.params.ln_freq, self.params.ln_q);
        let c = &mut self.freq_q;
        if c.ln_freq.to_bits() != ln_freq.to_bits() || c.ln_q.to_bits() != ln_q.to_bits() {
            *c = FreqQ {
                ln_freq,
                ln_q,
                hz: ln_freq.exp(),
                q: ln_q.exp(),
            };
        }
        (c.hz, c.q)
    }

    /// Tunes the detector to `params`' frequency and Q.
    pub(super) fn tune_detector(&mut self, sample_rate_hz: f64) {
        let (hz, q) = self.freq_q();
        self.detector.tune(sample_rate_hz, hz, q);
    }

    pub(super) fn reset(&mut self) {
        self.state = [LaneState::default(); MAX_SECTIONS];
        self.delay = [[[0.0; 2]; 2]; MAX_SECTIONS];
        self.detector.reset();
        self.dynamic_db = 0.0;
    }

    /// Designs the current parameters and sets the interpolation towards them over `len`
    /// samples (or jumps when `jump`).
    pub(super) fn retarget(
        &mut self,
        sample_rate_hz: f64,
        precision: Precision,
        len: usize,
        jump: bool,
    ) {
        let (hz, q) = self.freq_q();
        let gain_db = self.params.gain_db + self.dynamic_db;
        let shape = self.target.shape_with(hz, q, gain_db);
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
    pub(super) fn finish_sub_block(&mut self) {
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
    pub(super) fn direct_form(&self, s: usize) -> [DirectForm2; 2] {
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
    pub(super) fn enter_direct_form(&mut self) {
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
    unsafe fn run_sections_avx_fma(&mut self, io: &mut [[f64; 2]], detect: bool) {
        self.run_sections::<true>(io, detect);
    }

    /// The sections over `io` in place, section after section, so each section's state and
    /// coefficients stay in registers (a section's output depends only on its input, so this
    /// is the same arithmetic as sample after sample). With `detect`, the detector is fed
    /// `io` as it comes in, in the first section's loop: the two recursions are independent,
    /// so they overlap instead of each waiting on its own latency.
    #[inline(always)]
    pub(super) fn run_sections<const FMA: bool>(&mut self, io: &mut [[f64; 2]], detect: bool) {
        let mut first = 0;
        if detect {
            let mut feed = self.detector.start_feed(self.lanes());
            if self.sections == 0 {
                for u in io.iter() {
                    feed.step::<FMA>(*u);
                }
            } else {
                self.run_section::<FMA>(0, io, &mut feed);
                first = 1;
            }
            self.detector.end_feed(feed);
        }
        for s in first..self.sections {
            self.run_section::<FMA>(s, io, &mut NoDetector);
        }
    }

    /// Section `s` over `io` in place; `beside` is fed each sample before the section runs it.
    #[inline(always)]
    fn run_section<const FMA: bool>(
        &mut self,
        s: usize,
        io: &mut [[f64; 2]],
        beside: &mut impl Beside,
    ) {
        let mut state = self.state[s];
        if self.moving {
            let mut c = self.coefs[s];
            let step = self.step[s];
            for u in io.iter_mut() {
                beside.feed::<FMA>(*u);
                let space = LaneSpace::of(&LaneTaps::from_coefs(&c));
                *u = state.tick::<FMA>(&space, *u);
                c.add_assign(&step);
            }
            self.coefs[s] = c;
        } else {
            let space = LaneSpace::of(&self.taps[s]);
            for u in io.iter_mut() {
                beside.feed::<FMA>(*u);
                *u = state.tick::<FMA>(&space, *u);
            }
        }
        self.state[s] = state;
    }

    /// Runs the band per sample in SVF form over `seg` (at most one sub-block): the path for
    /// bands whose coefficients, fade or detector move.
    pub(super) fn run_moving(&mut self, seg: &mut [[f64; 2]]) {
        self.enter_svf_form();
        let ms = self.is_ms();
        let mut input = [[0.0f64; 2]; SUB_BLOCK];
        let input = &mut input[..seg.len()];
        for (x, v) in input.iter_mut().zip(seg.iter()) {
            *x = band_input(*v, ms);
        }
        let detect = self.target.is_dynamic() && self.structure.enabled;
        let mut out = [[0.0f64; 2]; SUB_BLOCK];
        let out = &mut out[..seg.len()];
        out.copy_from_slice(input);
        crate::simd::dispatch! {
            avx_fma => self.run_sections_avx_fma(out, detect),
            _ => self.run_sections::<BASELINE_FMA>(out, detect),
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

/// What runs beside a section's loop on the same samples (a trait, not a closure: a closure
/// would be compiled without the kernel's target features).
trait Beside {
    fn feed<const FMA: bool>(&mut self, u: [f64; 2]);
}

impl Beside for Feed {
    #[inline(always)]
    fn feed<const FMA: bool>(&mut self, u: [f64; 2]) {
        self.step::<FMA>(u);
    }
}

/// Nothing beside the section.
struct NoDetector;

impl Beside for NoDetector {
    #[inline(always)]
    fn feed<const FMA: bool>(&mut self, _: [f64; 2]) {}
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
