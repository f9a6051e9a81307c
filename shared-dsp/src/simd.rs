//! Portable four-lane `f64` arithmetic and the CPU check behind the wide code paths.
//!
//! [`F64x4`] is plain array arithmetic that LLVM turns into one 256-bit instruction per
//! operation when the calling function is compiled with `#[target_feature(enable = "avx,fma")]`
//! (and into two 128-bit ones otherwise), so a kernel is written once, generic over `FMA`, and
//! instantiated twice: a wide, fused build selected at run time by [`has_avx_fma`] and a
//! baseline build. Every lane does the same IEEE operations in the same order, so which lane a
//! value travels in never changes its bits.

/// Four `f64` lanes, 32-byte aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(32))]
pub struct F64x4(pub [f64; 4]);

impl F64x4 {
    #[inline(always)]
    pub fn splat(v: f64) -> Self {
        Self([v; 4])
    }

    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        Self([
            f(self.0[0], o.0[0]),
            f(self.0[1], o.0[1]),
            f(self.0[2], o.0[2]),
            f(self.0[3], o.0[3]),
        ])
    }

    /// `self * b + c`, fused (one rounding) when `FMA`, else a multiply then an add. Only
    /// instantiate `FMA = true` where the hardware fuses (otherwise it is a library call).
    #[inline(always)]
    pub fn mul_add<const FMA: bool>(self, b: Self, c: Self) -> Self {
        if FMA {
            Self([
                self.0[0].mul_add(b.0[0], c.0[0]),
                self.0[1].mul_add(b.0[1], c.0[1]),
                self.0[2].mul_add(b.0[2], c.0[2]),
                self.0[3].mul_add(b.0[3], c.0[3]),
            ])
        } else {
            self * b + c
        }
    }

    /// Swaps the lanes of each pair: `[a, b, c, d] -> [b, a, d, c]`.
    #[inline(always)]
    pub fn swap_pairs(self) -> Self {
        Self([self.0[1], self.0[0], self.0[3], self.0[2]])
    }

    /// Per lane the larger of `self` and `o` (`o` where either is NaN).
    #[inline(always)]
    pub fn max(self, o: Self) -> Self {
        self.zip(o, |a, b| if a > b { a } else { b })
    }

    /// Lanes of `a` where `mask` is set, else of `b`.
    #[inline(always)]
    pub fn select(mask: [bool; 4], a: Self, b: Self) -> Self {
        Self([
            if mask[0] { a.0[0] } else { b.0[0] },
            if mask[1] { a.0[1] } else { b.0[1] },
            if mask[2] { a.0[2] } else { b.0[2] },
            if mask[3] { a.0[3] } else { b.0[3] },
        ])
    }
}

impl std::ops::Add for F64x4 {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, |a, b| a + b)
    }
}

impl std::ops::Sub for F64x4 {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.zip(o, |a, b| a - b)
    }
}

impl std::ops::Mul for F64x4 {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.zip(o, |a, b| a * b)
    }
}

/// Whether this CPU has 256-bit float vectors (AVX) and fused multiply-add (FMA3). std caches
/// the CPUID answer, so this is a load and a test: fine on the audio thread.
#[inline(always)]
pub fn has_avx_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the baseline build of this target fuses `mul_add` in hardware (AArch64 always
/// does; baseline x86-64 does not).
pub const BASELINE_FMA: bool = cfg!(target_arch = "aarch64");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_do_the_scalar_arithmetic() {
        let a = F64x4([1.0, -2.0, 3.5, 0.25]);
        let b = F64x4([0.5, 4.0, -1.0, 8.0]);
        assert_eq!((a + b).0, [1.5, 2.0, 2.5, 8.25]);
        assert_eq!((a - b).0, [0.5, -6.0, 4.5, -7.75]);
        assert_eq!((a * b).0, [0.5, -8.0, -3.5, 2.0]);
        assert_eq!(a.mul_add::<false>(b, a).0, [1.5, -10.0, 0.0, 2.25]);
        // Fused: 0.1 * 10 - 1 is exactly the rounding error of the product.
        let p = F64x4::splat(0.1).mul_add::<true>(F64x4::splat(10.0), F64x4::splat(-1.0));
        assert_eq!(p.0[0], 0.1f64.mul_add(10.0, -1.0));
        assert_eq!(a.swap_pairs().0, [-2.0, 1.0, 0.25, 3.5]);
        assert_eq!(
            F64x4::select([true, false, false, true], a, b).0,
            [1.0, 4.0, -1.0, 0.25]
        );
    }
}
