//! Topology-preserving-transform state-variable filter, `f64` state with `f32` input/output.
//!
//! After A. Simper, "Linear Trapezoidal Integrated State Variable Filter With Low Noise
//! Optimisation" (Cytomic, 2011/2016) and "Solving the continuous SVF equations using
//! trapezoidal integration and equivalent currents". The two integrator states are
//! energy-like quantities, so the filter stays well behaved when its coefficients change every
//! sample: that is why every automated EQ band runs on it.
//!
//! Any stable biquad can be realised by the SVF: [`SvfCoefs::from_biquad`] maps the digital
//! poles to the SVF's `g`, `k` and the numerator to the output mix `m0`, `m1`, `m2`. So the
//! EQ keeps the matched (uncramped) designs of [`crate::filter::coefficients`] and still gets
//! the modulation-friendly topology.
//!
//! A section that holds still can run cheaper: [`SvfTaps::direct_form`] gives the direct-form-II
//! realisation of the same transfer function (five multiplies instead of ten), and
//! [`SvfTaps::state_to_direct`] / [`SvfTaps::state_from_direct`] map the integrator states to the
//! DF-II delay line and back. Both states are functions of the input history and the poles
//! only (not of the output mix), so the map is the similarity transform between the two
//! controllable realisations, `T = [B | (a1 I + A) B]` with the SVF's state-space `A`, `B`
//! (T. Kailath, "Linear Systems", Prentice-Hall 1980, sec. 2.1 — controllability matrices of
//! similar realisations); it holds whatever the output mix, so a section can switch form at
//! any sample without a transient.

use super::biquad::{to_input, to_output, FLUSH_BELOW};
use super::coefficients::BiquadCoefs;
use realfft::num_complex::Complex64;
use std::f64::consts::PI;

/// SVF coefficients: `g = tan(pi fc / fs)`, damping `k = 1/Q`, and the output mix
/// `y = m0 * input + m1 * band + m2 * low`. Analogue equivalent (normalised `s`):
/// `H(s) = (m0 (s^2 + k s + 1) + m1 s + m2) / (s^2 + k s + 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvfCoefs {
    pub g: f64,
    pub k: f64,
    pub m0: f64,
    pub m1: f64,
    pub m2: f64,
}

impl Default for SvfCoefs {
    /// Identity (passes the input).
    fn default() -> Self {
        Self {
            g: 0.1,
            k: 1.0,
            m0: 1.0,
            m1: 0.0,
            m2: 0.0,
        }
    }
}

impl SvfCoefs {
    /// Simper's prewarped design from a corner `hz` and `q`, with an analogue numerator
    /// `n0 + n1 s + n2 s^2` over `s^2 + s/q + 1`.
    pub fn from_analog(sample_rate_hz: f64, hz: f64, q: f64, n: [f64; 3]) -> Self {
        let nyq = 0.5 * sample_rate_hz;
        let f = if hz.is_finite() {
            hz.clamp(1.0, 0.95 * nyq)
        } else {
            1_000.0f64.min(0.95 * nyq)
        };
        let g = (PI * f / sample_rate_hz).tan();
        let k = 1.0
            / if q.is_finite() {
                q.clamp(0.025, 100.0)
            } else {
                std::f64::consts::FRAC_1_SQRT_2
            };
        Self {
            g,
            k,
            m0: n[2],
            m1: n[1] - k * n[2],
            m2: n[0] - n[2],
        }
    }

    /// Bilinear lowpass (Simper).
    pub fn lowpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::from_analog(sample_rate_hz, hz, q, [1.0, 0.0, 0.0])
    }

    /// Bilinear highpass (Simper).
    pub fn highpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::from_analog(sample_rate_hz, hz, q, [0.0, 0.0, 1.0])
    }

    /// Bilinear allpass (Simper): `(s^2 - s/q + 1) / (s^2 + s/q + 1)`.
    pub fn allpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        let kq = 1.0
            / if q.is_finite() {
                q.clamp(0.025, 100.0)
            } else {
                std::f64::consts::FRAC_1_SQRT_2
            };
        Self::from_analog(sample_rate_hz, hz, q, [1.0, -kq, 1.0])
    }

    /// Realises any stable digital biquad exactly: the inverse bilinear map of its poles gives
    /// `g` and `k`, its numerator gives the output mix. Unstable input yields the identity.
    pub fn from_biquad(c: &BiquadCoefs) -> Self {
        let d0 = 1.0 + c.a1 + c.a2; // A(z = 1)
        let d2 = 1.0 - c.a1 + c.a2; // A(z = -1)
        if !(d0 > 0.0 && d2 > 0.0 && c.a2 < 1.0 && c.b0.is_finite() && c.b1.is_finite()) {
            return Self::default();
        }
        // With z^-1 = (1 - g s)/(1 + g s): A -> d0 + 2 g (1 - a2) s + g^2 d2 s^2.
        let g = (d0 / d2).sqrt();
        let k = 2.0 * (1.0 - c.a2) / (g * d2);
        let n0 = (c.b0 + c.b1 + c.b2) / d0;
        let n1 = 2.0 * g * (c.b0 - c.b2) / d0;
        let n2 = g * g * (c.b0 - c.b1 + c.b2) / d0;
        Self {
            g,
            k,
            m0: n2,
            m1: n1 - k * n2,
            m2: n0 - n2,
        }
    }

    /// Complex response at `hz` for sample rate `sample_rate_hz`.
    pub fn response(&self, sample_rate_hz: f64, hz: f64) -> Complex64 {
        // Bilinear: s = (1/g) (1 - z^-1) / (1 + z^-1).
        let w = 2.0 * PI * hz / sample_rate_hz;
        let z1 = Complex64::from_polar(1.0, -w);
        let s = (1.0 - z1) / ((1.0 + z1) * self.g);
        let den = s * s + s * self.k + 1.0;
        self.m0 + (s * self.m1 + self.m2) / den
    }
}

/// Per-sample form of the coefficients (Simper's a1, a2, a3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvfTaps {
    pub a1: f64,
    pub a2: f64,
    pub a3: f64,
    pub m0: f64,
    pub m1: f64,
    pub m2: f64,
}

impl From<SvfCoefs> for SvfTaps {
    fn from(c: SvfCoefs) -> Self {
        let a1 = 1.0 / (1.0 + c.g * (c.g + c.k));
        let a2 = c.g * a1;
        Self {
            a1,
            a2,
            a3: c.g * a2,
            m0: c.m0,
            m1: c.m1,
            m2: c.m2,
        }
    }
}

/// Direct-form-II coefficients: `w = x - a1 w1 - a2 w2`, `y = b0 w + b1 w1 + b2 w2`, with the
/// delay line `w1 = w[n-1]`, `w2 = w[n-2]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DirectForm2 {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

impl DirectForm2 {
    /// The identity section (passes the input exactly).
    pub const IDENTITY: Self = Self {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    /// Complex response at `hz` for sample rate `sample_rate_hz`.
    pub fn response(&self, sample_rate_hz: f64, hz: f64) -> Complex64 {
        let w = 2.0 * PI * hz / sample_rate_hz;
        let z1 = Complex64::from_polar(1.0, -w);
        let z2 = z1 * z1;
        (self.b0 + z1 * self.b1 + z2 * self.b2) / (1.0 + z1 * self.a1 + z2 * self.a2)
    }
}

impl SvfTaps {
    /// The SVF step as a state space `s' = A s + B x` over `s = (ic1eq, ic2eq)`.
    #[inline(always)]
    fn state_space(&self) -> ([[f64; 2]; 2], [f64; 2]) {
        let a = [
            [2.0 * self.a1 - 1.0, -2.0 * self.a2],
            [2.0 * self.a2, 1.0 - 2.0 * self.a3],
        ];
        (a, [2.0 * self.a2, 2.0 * self.a3])
    }

    /// Denominator `1 + a1 z^-1 + a2 z^-2` of the SVF: `-trace(A)` and `det(A)`, written in the
    /// taps (`a2^2 = a1 a3`).
    fn poles(&self) -> (f64, f64) {
        (2.0 * (self.a3 - self.a1), 2.0 * (self.a1 + self.a3) - 1.0)
    }

    /// Columns of `T`, the map from the DF-II delay line to the SVF states (`s = T w`).
    fn similarity(&self) -> [[f64; 2]; 2] {
        let (a, b) = self.state_space();
        let (p1, _) = self.poles();
        let ab = [
            a[0][0] * b[0] + a[0][1] * b[1],
            a[1][0] * b[0] + a[1][1] * b[1],
        ];
        [b, [p1 * b[0] + ab[0], p1 * b[1] + ab[1]]]
    }

    /// The direct-form-II realisation of this section (same transfer function).
    pub fn direct_form(&self) -> DirectForm2 {
        let (p1, p2) = self.poles();
        // y = C s + D x with the SVF's output row C and feed-through D; in DF-II terms
        // y = b0 x + (b1 - b0 a1) w1 + (b2 - b0 a2) w2 and C s = (C T) w.
        let c = [
            self.m1 * self.a1 + self.m2 * self.a2,
            -self.m1 * self.a2 + self.m2 * (1.0 - self.a3),
        ];
        let d = self.m0 + self.m1 * self.a2 + self.m2 * self.a3;
        let t = self.similarity();
        let ct = [
            c[0] * t[0][0] + c[1] * t[0][1],
            c[0] * t[1][0] + c[1] * t[1][1],
        ];
        DirectForm2 {
            b0: d,
            b1: ct[0] + d * p1,
            b2: ct[1] + d * p2,
            a1: p1,
            a2: p2,
        }
    }

    /// The DF-II delay line `[w1, w2]` holding the same history as SVF `state`.
    pub fn state_to_direct(&self, state: &SvfState) -> [f64; 2] {
        let t = self.similarity();
        let det = t[0][0] * t[1][1] - t[1][0] * t[0][1];
        if !(det.abs() > 0.0 && det.is_finite()) {
            return [0.0; 2];
        }
        let (s1, s2) = (state.ic1eq, state.ic2eq);
        [
            (t[1][1] * s1 - t[1][0] * s2) / det,
            (t[0][0] * s2 - t[0][1] * s1) / det,
        ]
    }

    /// The SVF state holding the same history as the DF-II delay line `w`.
    pub fn state_from_direct(&self, w: [f64; 2]) -> SvfState {
        let t = self.similarity();
        SvfState {
            ic1eq: t[0][0] * w[0] + t[1][0] * w[1],
            ic2eq: t[0][1] * w[0] + t[1][1] * w[1],
        }
    }
}

/// An SVF section in state-space form for running it: Simper's update `v1 = a1 ic1 + a2 (x -
/// ic2)`, `v2 = ic2 + a2 ic1 + a3 (x - ic2)`, `ic' = 2 v - ic` is `ic' = A ic + B x` on the same
/// integrator states (so coefficient changes behave exactly as in the SVF), and `v = (ic + ic')
/// / 2`. The recursion is then two dependent multiply-adds per sample instead of five
/// operations, which is what bounds a single filter's speed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SvfSpace {
    /// `A` row by row and `B`.
    pub c11: f64,
    pub c12: f64,
    pub c21: f64,
    pub c22: f64,
    pub d1: f64,
    pub d2: f64,
    /// Output mix: `y = m0 x + m1_half (ic1 + ic1') + m2_half (ic2 + ic2')`.
    pub m0: f64,
    pub m1_half: f64,
    pub m2_half: f64,
}

impl From<&SvfTaps> for SvfSpace {
    #[inline(always)]
    fn from(t: &SvfTaps) -> Self {
        let (a, b) = t.state_space();
        Self {
            c11: a[0][0],
            c12: a[0][1],
            c21: a[1][0],
            c22: a[1][1],
            d1: b[0],
            d2: b[1],
            m0: t.m0,
            m1_half: 0.5 * t.m1,
            m2_half: 0.5 * t.m2,
        }
    }
}

impl Default for SvfTaps {
    fn default() -> Self {
        SvfCoefs::default().into()
    }
}

/// The two integrator states of one SVF channel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SvfState {
    pub ic1eq: f64,
    pub ic2eq: f64,
}

impl SvfState {
    /// One step; returns (band, low) outputs `v1`, `v2`.
    #[inline(always)]
    pub fn step(&mut self, t: &SvfTaps, v0: f64) -> (f64, f64) {
        let v3 = v0 - self.ic2eq;
        let v1 = t.a1 * self.ic1eq + t.a2 * v3;
        let v2 = self.ic2eq + t.a2 * self.ic1eq + t.a3 * v3;
        self.ic1eq = 2.0 * v1 - self.ic1eq;
        self.ic2eq = 2.0 * v2 - self.ic2eq;
        (v1, v2)
    }

    /// One step with the output mix.
    #[inline(always)]
    pub fn tick(&mut self, t: &SvfTaps, v0: f64) -> f64 {
        let (v1, v2) = self.step(t, v0);
        t.m0 * v0 + t.m1 * v1 + t.m2 * v2
    }

    /// One step with the output mix, in state-space form (the same filter as [`Self::tick`]
    /// up to rounding, with a shorter recursion).
    #[inline(always)]
    pub fn tick_space(&mut self, t: &SvfSpace, x: f64) -> f64 {
        let (s1, s2) = (self.ic1eq, self.ic2eq);
        let n1 = t.c11 * s1 + (t.c12 * s2 + t.d1 * x);
        let n2 = t.c22 * s2 + (t.c21 * s1 + t.d2 * x);
        self.ic1eq = n1;
        self.ic2eq = n2;
        t.m0 * x + (t.m1_half * (s1 + n1) + t.m2_half * (s2 + n2))
    }

    /// NaN/Inf state resets; tiny state is flushed.
    #[inline]
    pub fn settle(&mut self) {
        if !(self.ic1eq.is_finite() && self.ic2eq.is_finite()) {
            *self = Self::default();
        }
        if self.ic1eq.abs() < FLUSH_BELOW {
            self.ic1eq = 0.0;
        }
        if self.ic2eq.abs() < FLUSH_BELOW {
            self.ic2eq = 0.0;
        }
    }
}

/// One mono SVF with fixed coefficients (set them per block or per sample for modulation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Svf {
    taps: SvfTaps,
    state: SvfState,
}

impl Svf {
    pub fn new(coefs: SvfCoefs) -> Self {
        Self {
            taps: coefs.into(),
            state: SvfState::default(),
        }
    }

    /// Replaces the coefficients; safe at any rate (the state carries over smoothly).
    pub fn set_coefs(&mut self, coefs: SvfCoefs) {
        self.taps = coefs.into();
    }

    pub fn reset(&mut self) {
        self.state = SvfState::default();
    }

    /// Filters one sample.
    #[inline]
    pub fn process_sample(&mut self, x: f32) -> f32 {
        let y = self.state.tick(&self.taps, to_input(x));
        self.state.settle();
        to_output(y)
    }

    /// Filters `buf` in place.
    pub fn process_block(&mut self, buf: &mut [f32]) {
        for s in buf.iter_mut() {
            *s = to_output(self.state.tick(&self.taps, to_input(*s)));
        }
        self.state.settle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::coefficients::{CascadeCoefs, Precision, Shape, Slope};

    /// Sections worth checking: matched bell/shelf/notch and Butterworth highpass sections,
    /// from the mid band down to 20 Hz at 384 kHz (poles within 3e-4 of z = 1).
    fn sections() -> Vec<(f64, SvfTaps, SvfCoefs)> {
        let mut out = Vec::new();
        for sr in [44_100.0, 48_000.0, 384_000.0] {
            let shapes = [
                Shape::Bell {
                    hz: 2_500.0,
                    q: 3.0,
                    gain_db: -6.0,
                },
                Shape::LowShelf {
                    hz: 20.0,
                    q: 0.7,
                    gain_db: 4.0,
                },
                Shape::HighShelf {
                    hz: 16_000.0,
                    q: 0.7,
                    gain_db: 2.0,
                },
                Shape::Notch { hz: 60.0, q: 8.0 },
                Shape::ButterworthHighpass {
                    hz: 20.0,
                    slope: Slope::Db48,
                },
            ];
            for shape in shapes {
                for c in CascadeCoefs::design(sr, shape, Precision::Matched).sections() {
                    let svf = SvfCoefs::from_biquad(c);
                    out.push((sr, SvfTaps::from(svf), svf));
                }
            }
        }
        out
    }

    fn noise(n: usize) -> Vec<f64> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    fn direct_step(c: &DirectForm2, w: &mut [f64; 2], x: f64) -> f64 {
        let v = x - c.a1 * w[0] - c.a2 * w[1];
        let y = c.b0 * v + c.b1 * w[0] + c.b2 * w[1];
        *w = [v, w[0]];
        y
    }

    #[test]
    fn direct_form_has_the_svf_response() {
        for (sr, taps, coefs) in sections() {
            let d = taps.direct_form();
            for hz in [5.0, 20.0, 100.0, 1_000.0, 10_000.0, 0.45 * sr] {
                let (a, b) = (d.response(sr, hz), coefs.response(sr, hz));
                // 1e-6 relative = 1e-5 dB; evaluating 1 + a1/z + a2/z^2 near z = 1 at 384 kHz
                // costs the last digits, the filtering itself matches far closer (next test).
                assert!(
                    (a - b).norm() <= 1e-6 * b.norm().max(1e-3),
                    "{sr} Hz rate, {hz} Hz: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn switching_form_mid_signal_leaves_no_transient() {
        // Run the SVF on noise, move its state into the DF-II delay line, go on in DF-II, move
        // back, go on in the SVF: the output must follow an SVF that never switched. A wrong
        // map leaves an error of the size of the signal.
        let x = noise(6_000);
        for (sr, taps, _) in sections() {
            let d = taps.direct_form();
            let mut reference = SvfState::default();
            let expected: Vec<f64> = x.iter().map(|v| reference.tick(&taps, *v)).collect();
            let mut svf = SvfState::default();
            let mut w = [0.0; 2];
            let mut worst = 0.0f64;
            let scale = expected.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
            for (n, (v, e)) in x.iter().zip(expected.iter()).enumerate() {
                let phase = n / 1_000;
                if n % 1_000 == 0 && phase % 2 == 1 {
                    w = taps.state_to_direct(&svf);
                } else if n % 1_000 == 0 && phase > 0 {
                    svf = taps.state_from_direct(w);
                }
                let y = if phase % 2 == 1 {
                    direct_step(&d, &mut w, *v)
                } else {
                    svf.tick(&taps, *v)
                };
                worst = worst.max((y - e).abs() / scale);
            }
            assert!(worst < 1e-8, "{sr} Hz rate: relative error {worst:e}");
        }
    }

    #[test]
    fn state_space_form_runs_the_same_filter() {
        // Simper's update is the reference; the state-space form must follow it on noise for
        // every section (down to 5 Hz at 384 kHz, where the recursion is most sensitive), and
        // keep following when the coefficients jump to another section mid-signal.
        let x = noise(6_000);
        let all = sections();
        for (i, (sr, taps, _)) in all.iter().enumerate() {
            let next = &all[(i + 1) % all.len()].1;
            let (mut reference, mut state) = (SvfState::default(), SvfState::default());
            let (space, next_space) = (SvfSpace::from(taps), SvfSpace::from(next));
            let mut worst = 0.0f64;
            let mut scale = 1e-3f64;
            for (n, v) in x.iter().enumerate() {
                let (t, s) = if n < 3_000 {
                    (taps, &space)
                } else {
                    (next, &next_space)
                };
                let e = reference.tick(t, *v);
                let y = state.tick_space(s, *v);
                scale = scale.max(e.abs());
                worst = worst.max((y - e).abs());
            }
            assert!(
                worst < 1e-9 * scale,
                "{sr} Hz rate: error {worst:e} of {scale}"
            );
        }
    }
}
