//! Fast, smooth approximations of `log2` and `exp2` for per-sample decibel conversions (the
//! dynamics units), and of `tanh` (the saturator). Crate-level, so any unit that converts every
//! sample can use them; the exact conversions (`10^(x/20)`, `20 log10`) are in [`crate::util`],
//! and every `fast_*` name here has its error bound against them tested below.
//!
//! A feed-forward compressor converts every sample to decibels and back (Giannoulis, Massberg &
//! Reiss 2012 work in the log domain); libm's `log10f`/`powf` cost more than the rest of the
//! compressor together and do not vectorise. Both functions here are branch-free, so a loop over
//! a block vectorises:
//! - `log2`: exponent from the float bits, mantissa reduced to `[sqrt(1/2), sqrt(2))`, then the
//!   odd series of `2 atanh(t) / ln 2` with `t = (m - 1)/(m + 1)`, `|t| <= 0.1716`, up to `t^7`
//!   (truncation `< 3e-8`, i.e. about `2e-7` dB);
//! - `exp2`: round-to-nearest split `x = i + f`, `|f| <= 1/2`, and the Taylor series of
//!   `e^(f ln 2)` to degree 6 (relative error `< 2e-7`). `exp2(0)` is exactly `1.0`, so a unit
//!   that applies 0 dB passes its input bit-exactly.
//!
//! Both are continuous to within their error bound, so they add no audible steps.

/// `20 / log2(10)`: decibels per octave of amplitude.
pub(crate) const DB_PER_LOG2: f32 = 6.020_6;
/// `log2(10) / 20`: octaves of amplitude per decibel.
pub(crate) const LOG2_PER_DB: f32 = 0.166_096_4;

/// Smallest magnitude the log conversion accepts (-600 dBFS); below it silence is "very quiet".
const LOG_FLOOR: f32 = 1e-30;

/// `log2(x)` for `x > 0`; values below `1e-30` (including 0) are treated as `1e-30`.
#[inline(always)]
pub(crate) fn log2(x: f32) -> f32 {
    let x = x.max(LOG_FLOOR);
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    // Centre the mantissa on 1 so the series argument stays small.
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    const C1: f32 = 2.885_39; // 2 / ln 2
    const C3: f32 = C1 / 3.0;
    const C5: f32 = C1 / 5.0;
    const C7: f32 = C1 / 7.0;
    e as f32 + t * (C1 + t2 * (C3 + t2 * (C5 + t2 * C7)))
}

/// `2^x`, with `x` clamped to `[-126, 126]` so the result is always a normal float (NaN
/// gives `2^-126`).
#[inline(always)]
// `clamp` would pass NaN through; max/min map it to a bound.
#[allow(clippy::manual_clamp)]
pub(crate) fn exp2(x: f32) -> f32 {
    // max/min (unlike clamp) map NaN to a bound, so `x` is always finite and in range below.
    let x = x.max(-126.0).min(126.0);
    // x + 127.5 > 0, so truncation is floor: i = round(x) + 127, the biased exponent.
    // SAFETY: x + 127.5 lies in [1.5, 253.5], finite and representable as i32. The unchecked
    // conversion is a plain `cvttps2dq`, so loops over this function vectorise (the checked
    // `as` cast adds NaN/overflow handling that forces scalar code).
    let i = unsafe { (x + 127.5).to_int_unchecked::<i32>() };
    let f = x - (i - 127) as f32;
    let y = f * std::f32::consts::LN_2;
    let p = 1.0
        + y * (1.0
            + y * (0.5
                + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    p * f32::from_bits((i as u32) << 23)
}

/// Amplitude to decibels (`20 log10`), fast (within `1e-4` dB of [`crate::util::gain_to_db`]
/// above -600 dB, about one f32 step of the result there); silence reads -600 dB.
#[inline(always)]
pub(crate) fn fast_gain_to_db(x: f32) -> f32 {
    DB_PER_LOG2 * log2(x)
}

/// Power (mean square) to decibels (`10 log10`), fast.
#[inline(always)]
pub(crate) fn fast_power_to_db(x: f32) -> f32 {
    0.5 * DB_PER_LOG2 * log2(x)
}

/// Decibels to amplitude (`10^(db/20)`), fast (relative error below `2e-6` against
/// [`crate::util::db_to_gain`] on -120..+60 dB); exactly 1 at 0 dB.
#[inline(always)]
pub(crate) fn fast_db_to_gain(db: f32) -> f32 {
    exp2(db * LOG2_PER_DB)
}

/// Hyperbolic tangent as the rational function `x P(x^2) / Q(x^2)` (degrees 13 and 6) of
/// Eigen's `generic_fast_tanh_float` (minimax fit on `|x| <= 7.9053`, where `tanh` is within
/// `3e-7` of 1; beyond it the clamp holds the output there). Absolute error below `5e-7`; odd by
/// construction, exactly 0 at 0, and one division with no table or branch, so a loop over a
/// block vectorises. Being a single smooth rational on the whole range it has no switch-over
/// point whose kink would add harmonics.
#[inline(always)]
// `clamp` would pass NaN through; max/min map it to a bound.
#[allow(clippy::manual_clamp)]
pub(crate) fn tanh(x: f32) -> f32 {
    // max/min (unlike clamp) map NaN to a bound.
    let x = x.max(-7.905_311).min(7.905_311);
    let x2 = x * x;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    // Eigen's 4.893_525_2e-3, set equal to A1 so the slope at 0 is exactly 1 (the change,
    // 1.3e-7 relative, is below the fit's own error).
    const B0: f32 = A1;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347e-4;
    const B6: f32 = 1.198_258_4e-6;
    let p = A1 + x2 * (A3 + x2 * (A5 + x2 * (A7 + x2 * (A9 + x2 * (A11 + x2 * A13)))));
    let q = B0 + x2 * (B2 + x2 * (B4 + x2 * B6));
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_and_exp2_match_libm() {
        let mut worst_log = 0.0f64;
        let mut worst_exp = 0.0f64;
        for i in 0..200_000 {
            let x = 1e-12f64 * (1.0002f64).powi(i);
            if x > 1e12 {
                break;
            }
            let e = (log2(x as f32) as f64 - (x as f32 as f64).log2()).abs();
            worst_log = worst_log.max(e);
        }
        for i in -60_000..60_000 {
            let x = i as f32 * 0.002;
            let r = (exp2(x) as f64 / (x as f64).exp2() - 1.0).abs();
            worst_exp = worst_exp.max(r);
        }
        assert!(worst_log < 2e-6, "log2 error {worst_log}");
        assert!(worst_exp < 5e-7, "exp2 relative error {worst_exp}");
        assert_eq!(exp2(0.0), 1.0);
        assert_eq!(fast_db_to_gain(0.0), 1.0);
    }

    #[test]
    fn fast_decibel_conversions_stay_within_their_bounds_of_the_exact_ones() {
        // The exact conversions are `10^(x/20)` and `20 log10(x)` (crate::util); the fast ones
        // go through log2/exp2 with f32 constants, so their error is the series' error plus
        // f32 rounding of `db * log2(10)/20`, which grows with |db|.
        let mut worst_gain = 0.0f64;
        for i in -12_000..=6_000 {
            let db = i as f32 * 0.01;
            let exact = crate::util::db_to_gain(db) as f64;
            worst_gain = worst_gain.max((fast_db_to_gain(db) as f64 / exact - 1.0).abs());
        }
        assert!(
            worst_gain < 2e-6,
            "fast_db_to_gain relative error {worst_gain}"
        );
        let mut worst_db = 0.0f64;
        for i in 0..6_000 {
            let gain = 1e-30f32 * 1.0116f32.powi(i); // -600 dB up to about +1 dB
            let exact = crate::util::gain_to_db(gain) as f64;
            worst_db = worst_db.max((fast_gain_to_db(gain) as f64 - exact).abs());
            let power_exact = 10.0 * (gain as f64).log10();
            worst_db = worst_db.max((fast_power_to_db(gain) as f64 - power_exact).abs());
        }
        assert!(worst_db < 1e-4, "fast gain/power to dB error {worst_db} dB");
    }

    #[test]
    fn tanh_matches_libm() {
        for i in -20_000..20_000 {
            let x = i as f32 * 0.001;
            assert!((tanh(x) - x.tanh()).abs() < 5e-7, "x = {x}");
        }
        assert_eq!(tanh(0.0), 0.0);
        // Quiet signals keep their relative precision (slope 1 at 0).
        for i in 0..100 {
            let x = 1e-6f32 * 1.1f32.powi(i);
            assert!((tanh(x) / x.tanh() - 1.0).abs() < 1e-6, "x = {x}");
        }
    }
}
