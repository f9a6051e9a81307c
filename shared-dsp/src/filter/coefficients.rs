//! Second-order (biquad) coefficient designs with an analytic frequency response.
//!
//! Two families:
//! - **Matched** designs (`lowpass`, `highpass`, `bell`, shelves, notch, band-pass, tilt):
//!   the digital squared magnitude is fitted to the analogue prototype's from DC to Nyquist
//!   (see [`super::magnitude_fit`], after M. Vicanek, "Matched Second Order Digital Filters",
//!   2016), which removes the cramping of the bilinear transform near Nyquist. `BiquadCoefs`
//!   designs are one biquad; the `CascadeCoefs` designs of the same names use a second biquad
//!   when one cannot follow the prototype within [`MATCH_TOLERANCE_DB`] (high corners), so the
//!   curve matches the analogue one up to Nyquist. If a fit fails (only seen for corners below ~1e-4 of the sample rate, where impulse
//!   invariance is accurate anyway) the
//!   design falls back to Vicanek's impulse-invariant poles with zeros matched at DC, Nyquist
//!   and the corner.
//! - **Bilinear** designs (`*_bilinear`): RBJ "Audio EQ Cookbook" / Simper's SVF prototypes
//!   through the pre-warped bilinear transform. They are used where exact complementarity
//!   matters more than the shape near Nyquist (Linkwitz-Riley crossovers, whose bands must sum
//!   to an allpass).
//!
//! The analogue prototypes (normalised `s = s_a / w0`, `A = 10^(gain_db/40)`) are:
//! - lowpass `1 / (s^2 + s/Q + 1)`, highpass `s^2 / (s^2 + s/Q + 1)`;
//! - band-pass (0 dB peak) `(s/Q) / (s^2 + s/Q + 1)`, notch `(s^2 + 1) / (s^2 + s/Q + 1)`;
//! - bell `(s^2 + s A/Q + 1) / (s^2 + s/(A Q) + 1)`;
//! - low shelf `A (s^2 + s sqrt(A)/Q + A) / (A s^2 + s sqrt(A)/Q + 1)`;
//! - high shelf `A (A s^2 + s sqrt(A)/Q + 1) / (s^2 + s sqrt(A)/Q + A)`;
//! - first-order lowpass `1/(s+1)`, highpass `s/(s+1)`, tilt `(sqrt(T) s + 1) / (s + sqrt(T))`
//!   with `T = 10^(gain_db/20)` (low end at `-gain_db/2`, high end at `+gain_db/2`).

use super::magnitude_fit::{fit, Zeros};
use realfft::num_complex::Complex64;
use std::f64::consts::PI;

/// Highest design frequency as a fraction of Nyquist. Above it the impulse-invariant pole
/// mapping would fold back below Nyquist, so corners are clamped here.
const MAX_CORNER_OF_NYQUIST: f64 = 0.95;
/// Lowest design frequency in Hz; below it coefficients lose precision without audible gain.
const MIN_CORNER_HZ: f64 = 1.0;

/// Coefficients of `H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)` together with
/// the sample rate they were designed for. `Default` is the identity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BiquadCoefs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
    /// Sample rate the coefficients belong to, in Hz (used by `response`).
    pub sample_rate_hz: f64,
}

impl Default for BiquadCoefs {
    fn default() -> Self {
        Self::identity(48_000.0)
    }
}

/// A normalised second-order analogue section `(n0 + n1 s + n2 s^2) / (d0 + d1 s + d2 s^2)`,
/// `s = s_a / w0`. `d2 == 0` makes it first order.
#[derive(Clone, Copy, Debug)]
struct Analog {
    n: [f64; 3],
    d: [f64; 3],
}

impl Analog {
    /// Squared magnitude at `ratio = f / f0`.
    fn mag2(&self, ratio: f64) -> f64 {
        let w2 = ratio * ratio;
        let nr = self.n[0] - self.n[2] * w2;
        let ni = self.n[1] * ratio;
        let dr = self.d[0] - self.d[2] * w2;
        let di = self.d[1] * ratio;
        (nr * nr + ni * ni) / (dr * dr + di * di)
    }

    fn inverted(&self) -> Self {
        Self {
            n: self.d,
            d: self.n,
        }
    }

    fn lowpass(q: f64) -> Self {
        let q = clamp_q(q);
        Self {
            n: [1.0, 0.0, 0.0],
            d: [1.0, 1.0 / q, 1.0],
        }
    }

    fn highpass(q: f64) -> Self {
        let q = clamp_q(q);
        Self {
            n: [0.0, 0.0, 1.0],
            d: [1.0, 1.0 / q, 1.0],
        }
    }

    fn lowpass1() -> Self {
        Self {
            n: [1.0, 0.0, 0.0],
            d: [1.0, 1.0, 0.0],
        }
    }

    fn highpass1() -> Self {
        Self {
            n: [0.0, 1.0, 0.0],
            d: [1.0, 1.0, 0.0],
        }
    }

    fn bandpass(q: f64) -> Self {
        let q = clamp_q(q);
        Self {
            n: [0.0, 1.0 / q, 0.0],
            d: [1.0, 1.0 / q, 1.0],
        }
    }

    fn notch(q: f64) -> Self {
        let q = clamp_q(q);
        Self {
            n: [1.0, 0.0, 1.0],
            d: [1.0, 1.0 / q, 1.0],
        }
    }

    fn bell(q: f64, gain_db: f64) -> Self {
        let q = clamp_q(q);
        let a = 10f64.powf(clamp_gain_db(gain_db) / 40.0);
        Self {
            n: [1.0, a / q, 1.0],
            d: [1.0, 1.0 / (a * q), 1.0],
        }
    }

    fn low_shelf(q: f64, gain_db: f64) -> Self {
        let q = clamp_q(q);
        let a = 10f64.powf(clamp_gain_db(gain_db) / 40.0);
        let sa = a.sqrt();
        Self {
            n: [a * a, a * sa / q, a],
            d: [1.0, sa / q, a],
        }
    }

    fn high_shelf(q: f64, gain_db: f64) -> Self {
        let q = clamp_q(q);
        let a = 10f64.powf(clamp_gain_db(gain_db) / 40.0);
        let sa = a.sqrt();
        Self {
            n: [a, a * sa / q, a * a],
            d: [a, sa / q, 1.0],
        }
    }

    fn tilt(gain_db: f64) -> Self {
        let t = 10f64.powf(clamp_gain_db(gain_db) / 40.0);
        Self {
            n: [1.0, t, 0.0],
            d: [t, 1.0, 0.0],
        }
    }

    /// Numerator structure the fit must keep exactly.
    fn zeros(&self, w0: f64) -> Zeros {
        if self.n[0] == 0.0 && self.n[1] == 0.0 {
            Zeros::DcDouble
        } else if self.n[0] == 0.0 {
            Zeros::DcSingle
        } else if self.n[1] == 0.0 && self.n[2] != 0.0 && self.d[2] != 0.0 {
            // (n0 + n2 s^2): zeros on the j-axis at sqrt(n0/n2) w0.
            let wz = w0 * (self.n[0] / self.n[2]).sqrt();
            let s = (0.5 * wz.min(PI)).sin();
            Zeros::Notch { x0: s * s }
        } else {
            Zeros::Free
        }
    }
}

/// Vicanek's basis functions of `w` (radians per sample): |B(e^jw)|^2 =
/// B0 phi0 + B1 phi1 + B2 phi2 with B0 = (b0+b1+b2)^2, B1 = (b0-b1+b2)^2, B2 = -4 b0 b2.
fn phis(w: f64) -> [f64; 3] {
    let s = (0.5 * w).sin();
    let phi1 = s * s;
    let phi0 = 1.0 - phi1;
    [phi0, phi1, 4.0 * phi0 * phi1]
}

/// Impulse-invariant image of the analogue pole pair of `d0 + d1 s + d2 s^2` (normalised to
/// corner `w0` radians/sample): returns (a1, a2).
fn impulse_invariant_poles(d: [f64; 3], w0: f64) -> (f64, f64) {
    let wp = w0 * (d[0] / d[2]).sqrt();
    let zeta = 0.5 * d[1] / (d[0] * d[2]).sqrt();
    let r = (-zeta * wp).exp();
    let a1 = if zeta <= 1.0 {
        -2.0 * r * (wp * (1.0 - zeta * zeta).sqrt()).cos()
    } else {
        -2.0 * r * (wp * (zeta * zeta - 1.0).sqrt()).cosh()
    };
    (a1, r * r)
}

/// Solves the numerator whose squared magnitude, over the given denominator, equals `target`
/// at DC, Nyquist and `w_m` (Vicanek 2016, eq. for the peaking filter, applied generally).
fn match_three_points(a1: f64, a2: f64, dc2: f64, nyq2: f64, w_m: f64, m2: f64) -> [f64; 3] {
    let big_a = [
        (1.0 + a1 + a2) * (1.0 + a1 + a2),
        (1.0 - a1 + a2) * (1.0 - a1 + a2),
        -4.0 * a2,
    ];
    let p = phis(w_m);
    let b0_big = dc2 * big_a[0];
    let b1_big = nyq2 * big_a[1];
    let den_m = big_a[0] * p[0] + big_a[1] * p[1] + big_a[2] * p[2];
    let mut b2_big = (m2 * den_m - b0_big * p[0] - b1_big * p[1]) / p[2];
    let s0 = b0_big.max(0.0).sqrt();
    let s1 = b1_big.max(0.0).sqrt();
    let w = 0.5 * (s0 + s1);
    // A negative discriminant means no real numerator meets all three points; the closest
    // realisable one puts a double zero on the real axis.
    if w * w + b2_big < 0.0 {
        b2_big = -w * w;
    }
    let b0 = 0.5 * (w + (w * w + b2_big).sqrt());
    let b2 = w - b0;
    let b1 = 0.5 * (s0 - s1);
    [b0, b1, b2]
}

fn clamp_corner(sample_rate_hz: f64, hz: f64) -> f64 {
    let nyquist = 0.5 * sample_rate_hz;
    if hz.is_finite() {
        hz.clamp(MIN_CORNER_HZ, MAX_CORNER_OF_NYQUIST * nyquist)
    } else {
        1_000.0f64.min(MAX_CORNER_OF_NYQUIST * nyquist)
    }
}

fn clamp_q(q: f64) -> f64 {
    if q.is_finite() {
        q.clamp(0.025, 100.0)
    } else {
        std::f64::consts::FRAC_1_SQRT_2
    }
}

fn clamp_gain_db(gain_db: f64) -> f64 {
    if gain_db.is_finite() {
        gain_db.clamp(-60.0, 60.0)
    } else {
        0.0
    }
}

/// Butterworth section Qs of an `order`-pole filter: one Q per conjugate pole pair, plus
/// `true` when a real pole (first-order section) remains.
pub fn butterworth_qs(order: usize) -> ([f64; 4], usize, bool) {
    let mut qs = [0.0; 4];
    let pairs = (order / 2).min(4);
    for (k, q) in qs.iter_mut().enumerate().take(pairs) {
        let theta = (2 * k + 1) as f64 * PI / (2 * order) as f64;
        *q = 1.0 / (2.0 * theta.sin());
    }
    (qs, pairs, order % 2 == 1)
}

impl BiquadCoefs {
    /// The identity filter `H(z) = 1`.
    pub fn identity(sample_rate_hz: f64) -> Self {
        Self {
            b0: 1.0,
            b1: 0.0,
            b2: 0.0,
            a1: 0.0,
            a2: 0.0,
            sample_rate_hz,
        }
    }

    /// A constant gain `gain_db`.
    pub fn gain(sample_rate_hz: f64, gain_db: f64) -> Self {
        let g = 10f64.powf(clamp_gain_db(gain_db) / 20.0);
        Self {
            b0: g,
            ..Self::identity(sample_rate_hz)
        }
    }

    /// Complex response at `hz`.
    pub fn response(&self, hz: f64) -> Complex64 {
        let w = 2.0 * PI * hz / self.sample_rate_hz;
        let z1 = Complex64::from_polar(1.0, -w);
        let z2 = z1 * z1;
        (self.b0 + z1 * self.b1 + z2 * self.b2) / (1.0 + z1 * self.a1 + z2 * self.a2)
    }

    /// Magnitude response at `hz`, in dB.
    pub fn magnitude_db(&self, hz: f64) -> f64 {
        20.0 * self.response(hz).norm().max(1e-300).log10()
    }

    /// `true` when both poles lie strictly inside the unit circle.
    pub fn is_stable(&self) -> bool {
        self.a2.abs() < 1.0 && self.a1.abs() < 1.0 + self.a2
    }

    fn from_array(sample_rate_hz: f64, c: [f64; 5]) -> Self {
        Self {
            b0: c[0],
            b1: c[1],
            b2: c[2],
            a1: c[3],
            a2: c[4],
            sample_rate_hz,
        }
    }

    /// The best single-biquad matched design of `proto` at corner `hz`.
    fn matched(sample_rate_hz: f64, hz: f64, proto: Analog) -> Self {
        CascadeCoefs::analog(sample_rate_hz, hz, proto, 2).sections[0]
    }

    /// Fallback design: impulse-invariant poles, zeros matched at DC, Nyquist and the corner
    /// (Vicanek 2016). Prototypes whose zeros lie below their poles are designed inverted, so
    /// the impulse-invariant pair is always the lower one and never folds above Nyquist.
    fn impulse_invariant(sample_rate_hz: f64, w0: f64, proto: Analog) -> Self {
        let invert = if proto.d[2] == 0.0 {
            proto.n[1] != 0.0
                && proto.n[0] != 0.0
                && proto.n[0] / proto.n[1] < proto.d[0] / proto.d[1]
        } else {
            proto.n[0] != 0.0
                && proto.n[2] != 0.0
                && proto.n[0] / proto.n[2] < proto.d[0] / proto.d[2]
        };
        let p = if invert { proto.inverted() } else { proto };
        let nyq_ratio = PI / w0;
        let c = if p.d[2] == 0.0 {
            // First order: one real pole, numerator matched at DC and Nyquist.
            let a1 = -(-w0 * p.d[0] / p.d[1]).exp();
            let s0 = (p.mag2(0.0) * (1.0 + a1) * (1.0 + a1)).sqrt();
            let s1 = (p.mag2(nyq_ratio) * (1.0 - a1) * (1.0 - a1)).sqrt();
            [0.5 * (s0 + s1), 0.5 * (s0 - s1), 0.0, a1, 0.0]
        } else {
            let (a1, a2) = impulse_invariant_poles(p.d, w0);
            let [b0, b1, b2] = if p.n[0] == 0.0 && p.n[1] == 0.0 {
                // Double zero at DC: match the gain at the corner (Vicanek's highpass).
                let ph = phis(w0);
                let den = (1.0 + a1 + a2).powi(2) * ph[0] + (1.0 - a1 + a2).powi(2) * ph[1]
                    - 4.0 * a2 * ph[2];
                let g = (p.mag2(1.0) * den).sqrt() / (4.0 * ph[1]);
                [g, -2.0 * g, g]
            } else {
                match_three_points(a1, a2, p.mag2(0.0), p.mag2(nyq_ratio), w0, p.mag2(1.0))
            };
            [b0, b1, b2, a1, a2]
        };
        let c = if invert {
            // The inverted design's numerator is minimum phase (larger root chosen in
            // `match_three_points`), so it is a stable denominator.
            let n = c[0];
            [1.0 / n, c[3] / n, c[4] / n, c[1] / n, c[2] / n]
        } else {
            c
        };
        Self::from_array(sample_rate_hz, c)
    }

    /// Matched second-order lowpass at `hz` with quality `q` (0.7071 = Butterworth).
    pub fn lowpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::lowpass(q))
    }

    /// Matched second-order highpass at `hz` with quality `q` (0.7071 = Butterworth).
    pub fn highpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::highpass(q))
    }

    /// Matched first-order lowpass (6 dB/oct) with its -3 dB point at `hz`.
    pub fn lowpass1(sample_rate_hz: f64, hz: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::lowpass1())
    }

    /// Matched first-order highpass (6 dB/oct) with its -3 dB point at `hz`.
    pub fn highpass1(sample_rate_hz: f64, hz: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::highpass1())
    }

    /// Matched constant-skirt band-pass, 0 dB at `hz`, bandwidth `hz / q`.
    pub fn bandpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::bandpass(q))
    }

    /// Matched notch at `hz` with bandwidth `hz / q`: zeros exactly on the unit circle at
    /// `hz`, the rest fitted to the analogue magnitude.
    pub fn notch(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::notch(q))
    }

    /// Matched peaking (bell) filter: `gain_db` at `hz`, bandwidth set by `q`.
    pub fn bell(sample_rate_hz: f64, hz: f64, q: f64, gain_db: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::bell(q, gain_db))
    }

    /// Matched second-order low shelf: `gain_db` below `hz`, half the gain (in dB) at `hz`.
    /// `q = 0.7071` is the steepest shelf without overshoot.
    pub fn low_shelf(sample_rate_hz: f64, hz: f64, q: f64, gain_db: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::low_shelf(q, gain_db))
    }

    /// Matched second-order high shelf: `gain_db` above `hz`, half the gain (in dB) at `hz`.
    pub fn high_shelf(sample_rate_hz: f64, hz: f64, q: f64, gain_db: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::high_shelf(q, gain_db))
    }

    /// Matched first-order tilt: `-gain_db/2` at DC, `+gain_db/2` towards Nyquist, 0 dB at `hz`.
    pub fn tilt(sample_rate_hz: f64, hz: f64, gain_db: f64) -> Self {
        Self::matched(sample_rate_hz, hz, Analog::tilt(gain_db))
    }

    /// Bilinear (pre-warped, RBJ cookbook) second-order lowpass. Cramped near Nyquist; used
    /// where exact low/high complementarity matters (crossovers).
    pub fn lowpass_bilinear(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        let (k, norm) = bilinear_terms(sample_rate_hz, hz, q);
        let b0 = k * k * norm;
        Self {
            b0,
            b1: 2.0 * b0,
            b2: b0,
            a1: 2.0 * (k * k - 1.0) * norm,
            a2: (1.0 - k / clamp_q(q) + k * k) * norm,
            sample_rate_hz,
        }
    }

    /// Bilinear (pre-warped, RBJ cookbook) second-order highpass.
    pub fn highpass_bilinear(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        let (k, norm) = bilinear_terms(sample_rate_hz, hz, q);
        Self {
            b0: norm,
            b1: -2.0 * norm,
            b2: norm,
            a1: 2.0 * (k * k - 1.0) * norm,
            a2: (1.0 - k / clamp_q(q) + k * k) * norm,
            sample_rate_hz,
        }
    }

    /// Bilinear first-order lowpass.
    pub fn lowpass1_bilinear(sample_rate_hz: f64, hz: f64) -> Self {
        let k = prewarp(sample_rate_hz, hz);
        let norm = 1.0 / (1.0 + k);
        Self {
            b0: k * norm,
            b1: k * norm,
            b2: 0.0,
            a1: (k - 1.0) * norm,
            a2: 0.0,
            sample_rate_hz,
        }
    }

    /// Bilinear first-order highpass.
    pub fn highpass1_bilinear(sample_rate_hz: f64, hz: f64) -> Self {
        let k = prewarp(sample_rate_hz, hz);
        let norm = 1.0 / (1.0 + k);
        Self {
            b0: norm,
            b1: -norm,
            b2: 0.0,
            a1: (k - 1.0) * norm,
            a2: 0.0,
            sample_rate_hz,
        }
    }
}

/// `tan(pi f / fs)`, the bilinear pre-warped corner.
fn prewarp(sample_rate_hz: f64, hz: f64) -> f64 {
    let f0 = clamp_corner(sample_rate_hz, hz);
    (PI * f0 / sample_rate_hz).tan()
}

fn bilinear_terms(sample_rate_hz: f64, hz: f64, q: f64) -> (f64, f64) {
    let k = prewarp(sample_rate_hz, hz);
    let norm = 1.0 / (1.0 + k / clamp_q(q) + k * k);
    (k, norm)
}

/// How much work a design may spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Closed form, one biquad per analogue section: impulse-invariant poles and zeros
    /// matched at DC, Nyquist and the corner (Vicanek 2016). About a microsecond; within a
    /// fraction of a dB of the prototype except close to Nyquist. Used while parameters move.
    Fast,
    /// Fitted from DC to Nyquist with one or two biquads per analogue section (within
    /// [`MATCH_TOLERANCE_DB`] where possible). Tens of microseconds. Used once settled.
    Matched,
}

/// Every analogue shape the designs know, with its parameters (Hz, Q, dB).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    Lowpass { hz: f64, q: f64 },
    Highpass { hz: f64, q: f64 },
    BandPass { hz: f64, q: f64 },
    Notch { hz: f64, q: f64 },
    Bell { hz: f64, q: f64, gain_db: f64 },
    LowShelf { hz: f64, q: f64, gain_db: f64 },
    HighShelf { hz: f64, q: f64, gain_db: f64 },
    Tilt { hz: f64, gain_db: f64 },
    ButterworthHighpass { hz: f64, slope: Slope },
    ButterworthLowpass { hz: f64, slope: Slope },
}

/// Filter slope of a Butterworth highpass/lowpass cascade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Slope {
    Db6,
    Db12,
    Db18,
    Db24,
    Db36,
    Db48,
}

impl Slope {
    /// Filter order (number of poles).
    pub fn order(self) -> usize {
        match self {
            Slope::Db6 => 1,
            Slope::Db12 => 2,
            Slope::Db18 => 3,
            Slope::Db24 => 4,
            Slope::Db36 => 6,
            Slope::Db48 => 8,
        }
    }

    /// Asymptotic slope in dB per octave.
    pub fn db_per_octave(self) -> f64 {
        6.0 * self.order() as f64
    }
}

/// Most sections a cascade holds: a 48 dB/oct Butterworth is four biquads, each of which may
/// take a second biquad to stay matched near Nyquist.
pub const MAX_SECTIONS: usize = 8;

/// A matched design takes a second biquad when one deviates from the analogue prototype by
/// more than this (over DC to Nyquist).
pub const MATCH_TOLERANCE_DB: f64 = 0.04;

/// A cascade of up to `MAX_SECTIONS` biquad sections (fixed storage, `Copy`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CascadeCoefs {
    sections: [BiquadCoefs; MAX_SECTIONS],
    len: usize,
}

impl CascadeCoefs {
    /// A cascade with no sections (identity).
    pub fn identity(sample_rate_hz: f64) -> Self {
        Self {
            sections: [BiquadCoefs::identity(sample_rate_hz); MAX_SECTIONS],
            len: 0,
        }
    }

    /// A single-section cascade.
    pub fn single(c: BiquadCoefs) -> Self {
        let mut s = Self::identity(c.sample_rate_hz);
        s.sections[0] = c;
        s.len = 1;
        s
    }

    /// Design of `proto` at corner `hz`: matched with up to `max_degree / 2` biquads, or the
    /// closed-form single biquad when `max_degree == 0`.
    fn analog(sample_rate_hz: f64, hz: f64, proto: Analog, max_degree: usize) -> Self {
        let f0 = clamp_corner(sample_rate_hz, hz);
        let w0 = 2.0 * PI * f0 / sample_rate_hz;
        let mut c = Self::identity(sample_rate_hz);
        if max_degree == 0 {
            c.push(BiquadCoefs::impulse_invariant(sample_rate_hz, w0, proto));
            return c;
        }
        let target = |w: f64| proto.mag2(w / w0);
        let zeros = proto.zeros(w0);
        let mut best = fit(&target, zeros, w0, 2);
        if max_degree >= 4 && best.is_none_or(|f| f.worst_db > MATCH_TOLERANCE_DB) {
            if let Some(f4) = fit(&target, zeros, w0, 4) {
                if best.is_none_or(|f| f4.worst_db < f.worst_db) {
                    best = Some(f4);
                }
            }
        }
        match best {
            Some(f) => {
                for s in f.sections.iter().take(f.len) {
                    c.push(BiquadCoefs::from_array(sample_rate_hz, *s));
                }
            }
            // Only seen for corners below ~1e-4 of the sample rate, where impulse invariance
            // is accurate anyway.
            None => c.push(BiquadCoefs::impulse_invariant(sample_rate_hz, w0, proto)),
        }
        c
    }

    /// Designs `shape` at `precision`.
    pub fn design(sample_rate_hz: f64, shape: Shape, precision: Precision) -> Self {
        let degree = match precision {
            Precision::Fast => 0,
            Precision::Matched => 4,
        };
        let one = |hz: f64, proto: Analog| Self::analog(sample_rate_hz, hz, proto, degree);
        match shape {
            Shape::Lowpass { hz, q } => one(hz, Analog::lowpass(q)),
            Shape::Highpass { hz, q } => one(hz, Analog::highpass(q)),
            Shape::BandPass { hz, q } => one(hz, Analog::bandpass(q)),
            Shape::Notch { hz, q } => one(hz, Analog::notch(q)),
            Shape::Bell { hz, q, gain_db } => one(hz, Analog::bell(q, gain_db)),
            Shape::LowShelf { hz, q, gain_db } => one(hz, Analog::low_shelf(q, gain_db)),
            Shape::HighShelf { hz, q, gain_db } => one(hz, Analog::high_shelf(q, gain_db)),
            Shape::Tilt { hz, gain_db } => one(hz, Analog::tilt(gain_db)),
            Shape::ButterworthHighpass { hz, slope } => {
                Self::butterworth(sample_rate_hz, hz, slope, true, degree)
            }
            Shape::ButterworthLowpass { hz, slope } => {
                Self::butterworth(sample_rate_hz, hz, slope, false, degree)
            }
        }
    }

    /// Appends all sections of `other`.
    pub fn extend(&mut self, other: &CascadeCoefs) {
        for s in other.sections() {
            self.push(*s);
        }
    }

    /// Matched bell (one or two biquads).
    pub fn bell(sample_rate_hz: f64, hz: f64, q: f64, gain_db: f64) -> Self {
        Self::design(
            sample_rate_hz,
            Shape::Bell { hz, q, gain_db },
            Precision::Matched,
        )
    }

    /// Matched low shelf (one or two biquads).
    pub fn low_shelf(sample_rate_hz: f64, hz: f64, q: f64, gain_db: f64) -> Self {
        Self::design(
            sample_rate_hz,
            Shape::LowShelf { hz, q, gain_db },
            Precision::Matched,
        )
    }

    /// Matched high shelf (one or two biquads).
    pub fn high_shelf(sample_rate_hz: f64, hz: f64, q: f64, gain_db: f64) -> Self {
        Self::design(
            sample_rate_hz,
            Shape::HighShelf { hz, q, gain_db },
            Precision::Matched,
        )
    }

    /// Matched second-order highpass of quality `q` (one or two biquads).
    pub fn highpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::design(
            sample_rate_hz,
            Shape::Highpass { hz, q },
            Precision::Matched,
        )
    }

    /// Matched second-order lowpass of quality `q` (one or two biquads).
    pub fn lowpass(sample_rate_hz: f64, hz: f64, q: f64) -> Self {
        Self::design(sample_rate_hz, Shape::Lowpass { hz, q }, Precision::Matched)
    }

    /// Matched Butterworth highpass: -3 dB at `hz`, `slope` dB/oct below it.
    pub fn butterworth_highpass(sample_rate_hz: f64, hz: f64, slope: Slope) -> Self {
        Self::design(
            sample_rate_hz,
            Shape::ButterworthHighpass { hz, slope },
            Precision::Matched,
        )
    }

    /// Matched Butterworth lowpass: -3 dB at `hz`, `slope` dB/oct above it.
    pub fn butterworth_lowpass(sample_rate_hz: f64, hz: f64, slope: Slope) -> Self {
        Self::design(
            sample_rate_hz,
            Shape::ButterworthLowpass { hz, slope },
            Precision::Matched,
        )
    }

    fn butterworth(sample_rate_hz: f64, hz: f64, slope: Slope, high: bool, degree: usize) -> Self {
        let (qs, pairs, odd) = butterworth_qs(slope.order());
        let mut c = Self::identity(sample_rate_hz);
        for &q in qs.iter().take(pairs) {
            let proto = if high {
                Analog::highpass(q)
            } else {
                Analog::lowpass(q)
            };
            c.extend(&Self::analog(sample_rate_hz, hz, proto, degree));
        }
        if odd {
            let proto = if high {
                Analog::highpass1()
            } else {
                Analog::lowpass1()
            };
            c.extend(&Self::analog(sample_rate_hz, hz, proto, degree));
        }
        c
    }

    /// Appends a section; ignored when the cascade is full.
    pub fn push(&mut self, c: BiquadCoefs) {
        if self.len < MAX_SECTIONS {
            self.sections[self.len] = c;
            self.len += 1;
        }
    }

    /// The active sections.
    pub fn sections(&self) -> &[BiquadCoefs] {
        &self.sections[..self.len]
    }

    /// Sample rate of the design, in Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sections[0].sample_rate_hz
    }

    /// Complex response at `hz` (product of the sections).
    pub fn response(&self, hz: f64) -> Complex64 {
        self.sections()
            .iter()
            .fold(Complex64::new(1.0, 0.0), |acc, s| acc * s.response(hz))
    }

    /// Magnitude response at `hz`, in dB.
    pub fn magnitude_db(&self, hz: f64) -> f64 {
        20.0 * self.response(hz).norm().max(1e-300).log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_are_stable_across_sample_rates() {
        for &sr in &[22_050.0, 44_100.0, 48_000.0, 96_000.0, 384_000.0] {
            for &hz in &[5.0, 30.0, 1_000.0, 10_000.0, 16_000.0, 20_000.0] {
                for &q in &[0.3, std::f64::consts::FRAC_1_SQRT_2, 4.0] {
                    for c in [
                        BiquadCoefs::lowpass(sr, hz, q),
                        BiquadCoefs::highpass(sr, hz, q),
                        BiquadCoefs::bell(sr, hz, q, 12.0),
                        BiquadCoefs::bell(sr, hz, q, -18.0),
                        BiquadCoefs::low_shelf(sr, hz, q, 9.0),
                        BiquadCoefs::high_shelf(sr, hz, q, -9.0),
                        BiquadCoefs::high_shelf(sr, hz, q, 12.0),
                        BiquadCoefs::notch(sr, hz, q),
                        BiquadCoefs::bandpass(sr, hz, q),
                    ] {
                        assert!(c.is_stable(), "{c:?}");
                        assert!(c.response(hz).norm().is_finite());
                    }
                }
            }
        }
    }

    #[test]
    fn butterworth_qs_match_tables() {
        // Published Butterworth section Qs (e.g. any filter handbook): order 4 -> 0.5412,
        // 1.3066; order 2 -> 0.7071.
        let (q, n, odd) = butterworth_qs(4);
        assert_eq!((n, odd), (2, false));
        assert!((q[0] - 1.3066).abs() < 1e-4 || (q[1] - 1.3066).abs() < 1e-4);
        assert!((q[0] - 0.5412).abs() < 1e-4 || (q[1] - 0.5412).abs() < 1e-4);
        let (q, n, _) = butterworth_qs(2);
        assert_eq!(n, 1);
        assert!((q[0] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
    }
}
