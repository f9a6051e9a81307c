//! The saturator's two shapes with the antiderivatives first-order ADAA needs
//! ([`crate::adaa`]), each split as `F(u) = |u| + G(u)` with a bounded `G`.
//!
//! - **tanh** (tape): `F(u) = ln cosh u = |u| + ln(1 + e^(-2|u|)) - ln 2`, so
//!   `G(u) = ln(1 + e^(-2|u|))` up to the constant, evaluated as `2 atanh(w / (2 + w))` with
//!   `w = e^(-2|u|)` (the `atanh` series converges fast for `w <= 1`) and no cancellation.
//! - **order-4 algebraic soft clip** `f(u) = u / (1 + u^4)^(1/4)`: its antiderivative is not
//!   elementary (by Chebyshev's theorem on binomial differentials, `t (1 + t^4)^(-1/4) dt` with
//!   `s = t^2` is `(1 + s^2)^(-1/4) ds / 2`, and none of `p`, `(m + 1)/n`, `(m + 1)/n + p` is
//!   an integer), so `G` is tabulated: exact values from Gauss-Legendre quadrature at nodes
//!   `1/32` apart on `[0, 4]`, joined by cubic Hermite pieces whose end slopes are the exact
//!   `G' = f - 1` (so the pieces join with continuous slope and the interpolation error,
//!   `h^4 max|f'''| / 384`, stays below `1e-8`), and beyond 4 the asymptotic series
//!   `G(u) = -C + u^-3/12 - 5 u^-7/224 + 15 u^-11/1408` (from `f = (1 + u^-4)^(-1/4)`),
//!   with `C = integral_0^inf (1 - f)` fixed so the two meet at 4. Keeping the curve (rather
//!   than a different soft clip with an elementary antiderivative) keeps its character: no
//!   cubic term, so clean below the knee.

use crate::adaa::Antiderivative;
use crate::fastmath;
use std::sync::OnceLock;

/// `tanh`, the tape curve before its bias, drive and compensation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tanh;

impl Antiderivative for Tanh {
    #[inline(always)]
    fn curve(&self, u: f32) -> f32 {
        fastmath::tanh(u)
    }

    #[inline(always)]
    fn remainder(&self, u: f32) -> f32 {
        // w = e^(-2|u|) in (0, 1]; ln(1 + w) = 2 atanh(t), t = w / (2 + w) <= 1/3, whose
        // odd series to t^13 is within 1e-8.
        let w = fastmath::exp2(-2.0 * std::f32::consts::LOG2_E * u.abs());
        let t = w / (2.0 + w);
        let t2 = t * t;
        2.0 * t
            * (1.0
                + t2 * (1.0 / 3.0
                    + t2 * (1.0 / 5.0
                        + t2 * (1.0 / 7.0
                            + t2 * (1.0 / 9.0 + t2 * (1.0 / 11.0 + t2 * (1.0 / 13.0)))))))
    }
}

/// Nodes per unit of the soft clipper's table.
const NODES_PER_UNIT: f32 = 32.0;
/// End of the table; beyond it the asymptotic series holds to `1e-11`.
const TABLE_END: f32 = 4.0;
const NODES: usize = 129;

/// The soft clipper's tabulated remainder `G(u) = F(u) - |u|` and its slopes at the nodes.
#[derive(Debug)]
pub(crate) struct SoftClipTable {
    g: [f32; NODES],
    slope: [f32; NODES],
    /// `C = -G(inf)`.
    limit: f32,
}

/// `u / (1 + u^4)^(1/4)` in `f64`.
fn soft_clip_f64(u: f64) -> f64 {
    u / (1.0 + u.powi(4)).powf(0.25)
}

/// `integral_a^b f` by 8-point Gauss-Legendre (exact for degree 15; `f` is analytic within
/// 1 of the real axis, so on intervals of 1/32 the error is far below `f32` resolution).
fn integrate(a: f64, b: f64) -> f64 {
    const X: [f64; 4] = [
        0.183_434_642_495_649_8,
        0.525_532_409_916_329,
        0.796_666_477_413_626_7,
        0.960_289_856_497_536_3,
    ];
    const W: [f64; 4] = [
        0.362_683_783_378_362,
        0.313_706_645_877_887_3,
        0.222_381_034_453_374_5,
        0.101_228_536_290_376_3,
    ];
    let (m, h) = (0.5 * (a + b), 0.5 * (b - a));
    h * X
        .iter()
        .zip(W)
        .map(|(&x, w)| w * (soft_clip_f64(m - h * x) + soft_clip_f64(m + h * x)))
        .sum::<f64>()
}

/// The asymptotic part of `G` beyond the table, without `-C`.
fn tail_f64(u: f64) -> f64 {
    let r = 1.0 / u;
    let r3 = r * r * r;
    let r4 = r3 * r;
    r3 * (1.0 / 12.0 - r4 * (5.0 / 224.0 - r4 * (15.0 / 1408.0)))
}

impl SoftClipTable {
    fn build() -> Self {
        let mut g = [0.0f32; NODES];
        let mut slope = [0.0f32; NODES];
        let mut f_integral = 0.0f64;
        for i in 0..NODES {
            let u = i as f64 / NODES_PER_UNIT as f64;
            if i > 0 {
                f_integral += integrate((i - 1) as f64 / NODES_PER_UNIT as f64, u);
            }
            g[i] = (f_integral - u) as f32;
            slope[i] = (soft_clip_f64(u) - 1.0) as f32;
        }
        let end = TABLE_END as f64;
        let limit = (tail_f64(end) - (f_integral - end)) as f32;
        Self { g, slope, limit }
    }
}

static TABLE: OnceLock<SoftClipTable> = OnceLock::new();

/// The table, built on first use (the saturator asks for it when constructed, so the audio
/// thread only ever reads it).
pub(crate) fn soft_clip_table() -> &'static SoftClipTable {
    TABLE.get_or_init(SoftClipTable::build)
}

/// The order-4 algebraic soft clip with its tabulated antiderivative.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoftClip {
    pub(crate) table: &'static SoftClipTable,
}

impl SoftClip {
    #[inline(always)]
    pub(crate) fn shape(u: f32) -> f32 {
        let u2 = u * u;
        // Two square roots (exact IEEE instructions, vectorised) give the fourth root.
        u / (1.0 + u2 * u2).sqrt().sqrt()
    }
}

impl Antiderivative for SoftClip {
    #[inline(always)]
    fn curve(&self, u: f32) -> f32 {
        Self::shape(u)
    }

    #[inline(always)]
    fn remainder(&self, u: f32) -> f32 {
        let a = u.abs();
        let t = a.min(TABLE_END) * NODES_PER_UNIT;
        // Truncation is floor for t >= 0; the last piece ends at node NODES - 1.
        let i = (t as usize).min(NODES - 2);
        let s = t - i as f32;
        let h = 1.0 / NODES_PER_UNIT;
        let tb = self.table;
        let (g0, g1, m0, m1) = (tb.g[i], tb.g[i + 1], tb.slope[i], tb.slope[i + 1]);
        // Cubic Hermite basis.
        let s2 = s * s;
        let s3 = s2 * s;
        let inside = g0 * (2.0 * s3 - 3.0 * s2 + 1.0)
            + h * m0 * (s3 - 2.0 * s2 + s)
            + g1 * (3.0 * s2 - 2.0 * s3)
            + h * m1 * (s3 - s2);
        let r = 1.0 / a.max(TABLE_END);
        let r3 = r * r * r;
        let r4 = r3 * r;
        let outside = r3 * (1.0 / 12.0 - r4 * (5.0 / 224.0 - r4 * (15.0 / 1408.0))) - tb.limit;
        if a <= TABLE_END {
            inside
        } else {
            outside
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `F(u) = integral_0^u f` by adaptive Simpson in `f64`, an independent reference.
    fn simpson(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
        let n = 20_000;
        let h = (b - a) / n as f64;
        let mut s = f(a) + f(b);
        for i in 1..n {
            s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    #[test]
    fn soft_clip_remainder_matches_numeric_integration() {
        let sc = SoftClip {
            table: soft_clip_table(),
        };
        // Off the nodes, inside and beyond the table, both signs.
        for i in 0..200 {
            let u = 0.0137 + i as f64 * 0.0491;
            let exact = simpson(&soft_clip_f64, 0.0, u) - u;
            for sign in [1.0, -1.0] {
                let got = sc.remainder((sign * u) as f32) as f64;
                assert!((got - exact).abs() < 2e-7, "u {u}: {got} vs {exact}");
            }
        }
        // C = integral_0^inf (1 - f): to 200 numerically plus the series' tail there.
        let c = simpson(&|t| 1.0 - soft_clip_f64(t), 0.0, 200.0) + tail_f64(200.0);
        assert!(
            (sc.table.limit as f64 - c).abs() < 1e-7,
            "{} vs {c}",
            sc.table.limit
        );
        // Continuous where the table meets the series.
        let below = sc.remainder(TABLE_END - 1e-6);
        let above = sc.remainder(TABLE_END + 1e-6);
        assert!((below - above).abs() < 1e-7, "{below} {above}");
    }

    #[test]
    fn tanh_remainder_is_ln_cosh_minus_abs() {
        for i in -4000..4000 {
            let u = i as f64 * 0.005;
            // ln cosh u - |u| + ln 2 = ln(1 + e^(-2|u|)).
            let exact = u.cosh().ln() - u.abs() + std::f64::consts::LN_2;
            let got = Tanh.remainder(u as f32) as f64;
            assert!((got - exact).abs() < 2e-7, "u {u}: {got} vs {exact}");
        }
    }
}
