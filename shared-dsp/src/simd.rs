//! Portable four-lane `f64` arithmetic and the CPU check behind the wide code paths.
//!
//! [`F64x4`] is plain array arithmetic that LLVM turns into one 256-bit instruction per
//! operation when the calling function is compiled with `#[target_feature(enable = "avx,fma")]`
//! (and into two 128-bit ones otherwise), so a kernel is written once, generic over `FMA`, and
//! instantiated twice: a wide, fused build selected at run time by [`dispatch!`] and a
//! baseline build. Every lane does the same IEEE operations in the same order, so which lane a
//! value travels in never changes its bits.
//!
//! [`level`] detects the CPU's wide instruction sets once; [`dispatch!`] is the one place that
//! picks a kernel's AVX2 / AVX+FMA / AVX / baseline build from it, for every run-time
//! dispatch in the crate.

use std::sync::atomic::{AtomicU8, Ordering};

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

/// The wide instruction sets this CPU offers, detected once: which instantiation of a
/// `#[target_feature]` kernel [`dispatch!`] runs.
///
/// Every kernel computes the same IEEE operations in the same order in each of its builds
/// (the `FMA` builds aside, which fuse by design), so the level picks speed, not results, on
/// a given machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Level {
    /// The target's baseline (SSE2 on x86-64; every non-x86 target).
    Baseline,
    /// 256-bit float vectors (AVX), no FMA3, no AVX2.
    Avx,
    /// AVX and fused multiply-add (FMA3), no AVX2.
    AvxFma,
    /// AVX2 (256-bit integer vectors too), no FMA3.
    Avx2,
    /// AVX2 and FMA3.
    Avx2Fma,
}

impl Level {
    /// AVX present (every level above the baseline).
    #[inline(always)]
    pub fn avx(self) -> bool {
        self != Level::Baseline
    }

    /// AVX and FMA3 present.
    #[inline(always)]
    pub fn avx_fma(self) -> bool {
        matches!(self, Level::AvxFma | Level::Avx2Fma)
    }

    /// AVX2 present.
    #[inline(always)]
    pub fn avx2(self) -> bool {
        matches!(self, Level::Avx2 | Level::Avx2Fma)
    }

    /// The level this CPU runs at (uncached: CPUID through std).
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let (avx, fma, avx2) = (
                is_x86_feature_detected!("avx"),
                is_x86_feature_detected!("fma"),
                is_x86_feature_detected!("avx2"),
            );
            match (avx, avx2, fma) {
                (false, _, _) => Level::Baseline,
                (true, false, false) => Level::Avx,
                (true, false, true) => Level::AvxFma,
                (true, true, false) => Level::Avx2,
                (true, true, true) => Level::Avx2Fma,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Level::Baseline
        }
    }
}

/// `u8::MAX` until the first call of [`level`].
static LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

/// This CPU's [`Level`], detected on the first call and cached: afterwards a relaxed load, fine
/// on the audio thread (two threads racing the first call store the same value).
#[inline]
pub fn level() -> Level {
    const ALL: [Level; 5] = [
        Level::Baseline,
        Level::Avx,
        Level::AvxFma,
        Level::Avx2,
        Level::Avx2Fma,
    ];
    match ALL.get(LEVEL.load(Ordering::Relaxed) as usize) {
        Some(l) => *l,
        None => {
            let l = Level::detect();
            LEVEL.store(l as u8, Ordering::Relaxed);
            l
        }
    }
}

/// Whether this CPU has 256-bit float vectors (AVX) and fused multiply-add (FMA3).
#[inline(always)]
pub fn has_avx_fma() -> bool {
    level().avx_fma()
}

/// Runs the widest build of a kernel this CPU supports: the first arm whose [`Level`] test
/// (`avx2`, `avx_fma` or `avx`) holds, else the `_` arm. Each wide arm calls a
/// `#[cfg(target_arch = "x86_64")]` `#[target_feature(enable = ...)]` wrapper of the kernel
/// whose features the test guarantees; the arms are compiled on x86-64 only, so other targets
/// build the `_` arm alone.
///
/// ```ignore
/// dispatch! {
///     avx_fma => kernel_avx_fma(x, y),
///     _ => kernel::<BASELINE_FMA>(x, y),
/// }
/// ```
macro_rules! dispatch {
    ($($test:ident => $wide:expr,)+ _ => $baseline:expr $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        let done = {
            let level = $crate::simd::level();
            $crate::simd::dispatch!(@arms level; $($test => $wide,)+ _ => $baseline)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = $baseline;
        done
    }};
    (@arms $level:ident; $test:ident => $wide:expr, $($rest:tt)*) => {
        if $level.$test() {
            // SAFETY: `$test` holds, so the CPU has every feature the wrapper enables.
            unsafe { $wide }
        } else {
            $crate::simd::dispatch!(@arms $level; $($rest)*)
        }
    };
    (@arms $level:ident; _ => $baseline:expr) => {
        $baseline
    };
}

pub(crate) use dispatch;

/// Whether the baseline build of this target fuses `mul_add` in hardware (AArch64 always
/// does; baseline x86-64 does not).
pub const BASELINE_FMA: bool = cfg!(target_arch = "aarch64");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_is_what_the_cpu_reports_and_stays_so() {
        let l = level();
        assert_eq!(l, level(), "the cached level must not change");
        #[cfg(target_arch = "x86_64")]
        {
            let avx = is_x86_feature_detected!("avx");
            assert_eq!(l.avx(), avx);
            assert_eq!(l.avx2(), is_x86_feature_detected!("avx2"));
            assert_eq!(l.avx_fma(), avx && is_x86_feature_detected!("fma"));
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(l, Level::Baseline);
    }

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
