//! Two-lane (left/right or mid/side) state and coefficients of one parametric-EQ section in
//! SVF form: the per-sample kernel of a band whose coefficients, fade or detector move.
//!
//! A section is a Simper TPT state-variable filter (A. Simper, "Linear Trapezoidal Integrated
//! State Variable Filter", Cytomic): [`LaneCoefs`] holds `g, k, m0, m1, m2` per lane (linearly
//! interpolated per sample while a band moves), [`LaneTaps`] the per-sample multipliers
//! derived from them, [`LaneSpace`] the same section in [`SvfSpace`] form (same integrator
//! states, a shorter recursion: two dependent multiply-adds) and [`LaneState`] the integrator
//! states with their one-sample update.

use crate::filter::biquad::FLUSH_BELOW;
use crate::filter::{SvfCoefs, SvfSpace, SvfTaps};

/// SVF coefficients of one section for both lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct LaneCoefs {
    pub(super) g: [f64; 2],
    pub(super) k: [f64; 2],
    pub(super) m0: [f64; 2],
    pub(super) m1: [f64; 2],
    pub(super) m2: [f64; 2],
}

impl LaneCoefs {
    pub(super) const IDENTITY: Self = Self {
        g: [0.1; 2],
        k: [1.0; 2],
        m0: [1.0; 2],
        m1: [0.0; 2],
        m2: [0.0; 2],
    };

    pub(super) fn set_lane(&mut self, lane: usize, c: &SvfCoefs) {
        self.g[lane] = c.g;
        self.k[lane] = c.k;
        self.m0[lane] = c.m0;
        self.m1[lane] = c.m1;
        self.m2[lane] = c.m2;
    }

    pub(super) fn sub(&self, o: &Self, scale: f64) -> Self {
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
    pub(super) fn add_assign(&mut self, d: &Self) {
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
pub(super) struct LaneTaps {
    pub(super) a1: [f64; 2],
    pub(super) a2: [f64; 2],
    pub(super) a3: [f64; 2],
    pub(super) m0: [f64; 2],
    pub(super) m1: [f64; 2],
    pub(super) m2: [f64; 2],
}

impl LaneTaps {
    /// The taps of `lane`.
    pub(super) fn lane(&self, lane: usize) -> SvfTaps {
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
    pub(super) fn from_coefs(c: &LaneCoefs) -> Self {
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
pub(super) struct LaneSpace {
    pub(super) c11: [f64; 2],
    pub(super) c12: [f64; 2],
    pub(super) c21: [f64; 2],
    pub(super) c22: [f64; 2],
    pub(super) d1: [f64; 2],
    pub(super) d2: [f64; 2],
    pub(super) m0: [f64; 2],
    pub(super) m1_half: [f64; 2],
    pub(super) m2_half: [f64; 2],
}

impl LaneSpace {
    #[inline(always)]
    pub(super) fn of(t: &LaneTaps) -> Self {
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
pub(super) struct LaneState {
    pub(super) ic1: [f64; 2],
    pub(super) ic2: [f64; 2],
}

impl LaneState {
    #[inline(always)]
    pub(super) fn tick<const FMA: bool>(&mut self, t: &LaneSpace, x: [f64; 2]) -> [f64; 2] {
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

    pub(super) fn settle(&mut self) {
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
