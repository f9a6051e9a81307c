//! The linear-phase EQ's split-spectrum kernels: partition spectra scattered into groups of
//! eight bins (eight real parts, then eight imaginary parts: one 64-byte cache line), the
//! overlap-save input/output swap, and the complex multiply-accumulate of every partition of
//! both output channels in registers (AVX + FMA where the CPU has it, chosen by
//! [`crate::simd::dispatch`]). See [`super::linear_phase`] for the convolution they serve
//! (uniformly partitioned overlap-save, F. Wefers, "Partitioned convolution algorithms for
//! real-time auralization", 2015).

use super::linear_phase::{Config, GROUP, LANES, PARTITIONS};
use crate::simd::BASELINE_FMA;
use realfft::num_complex::Complex;

/// Writes `src` (bins; missing bins are zero) as partition `part` of a split spectrum.
pub(super) fn scatter(src: &[Complex<f32>], c: Config, dst: &mut [f32], part: usize) {
    for g in 0..c.groups {
        let d = &mut dst[(g * PARTITIONS + part) * GROUP..][..GROUP];
        for j in 0..LANES {
            let v = src.get(g * LANES + j).copied().unwrap_or_default();
            d[j] = v.re;
            d[LANES + j] = v.im;
        }
    }
}

/// Input samples into the history (non-finite ones as silence), output samples out (never a
/// NaN, an infinity or a subnormal).
#[inline(always)]
fn swap_io_kernel(io: &mut [f32], hist: &mut [f32], out: &[f32]) {
    for ((x, h), o) in io.iter_mut().zip(hist.iter_mut()).zip(out.iter()) {
        *h = if x.is_finite() { *x } else { 0.0 };
        let a = o.abs();
        *x = if (f32::MIN_POSITIVE..=f32::MAX).contains(&a) {
            *o
        } else {
            0.0
        };
    }
}

/// [`swap_io_kernel`] compiled for AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn swap_io_avx(io: &mut [f32], hist: &mut [f32], out: &[f32]) {
    swap_io_kernel(io, hist, out);
}

pub(super) fn swap_io(io: &mut [f32], hist: &mut [f32], out: &[f32]) {
    crate::simd::dispatch! {
        avx_fma => swap_io_avx(io, hist, out),
        _ => swap_io_kernel(io, hist, out),
    }
}

/// [`scatter_sanitised_kernel`] compiled for AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn scatter_sanitised_avx(src: &[Complex<f32>], dst: &mut [f32], slot: usize) {
    scatter_sanitised_kernel(src, dst, slot);
}

/// Writes `src` (whole groups) into FDL slot `slot`, non-finite parts as zero so one bad
/// frame cannot poison the delay line.
pub(super) fn scatter_sanitised(src: &[Complex<f32>], dst: &mut [f32], slot: usize) {
    crate::simd::dispatch! {
        avx_fma => scatter_sanitised_avx(src, dst, slot),
        _ => scatter_sanitised_kernel(src, dst, slot),
    }
}

#[inline(always)]
fn scatter_sanitised_kernel(src: &[Complex<f32>], dst: &mut [f32], slot: usize) {
    let clean = |v: f32| if v.is_finite() { v } else { 0.0 };
    for (g, s) in src.chunks_exact(LANES).enumerate() {
        let d: &mut [f32; GROUP] = (&mut dst[(g * PARTITIONS + slot) * GROUP..][..GROUP])
            .try_into()
            .expect("group");
        for j in 0..LANES {
            d[j] = clean(s[j].re);
            d[LANES + j] = clean(s[j].im);
        }
    }
}

/// Group `i` of a split spectrum.
#[inline(always)]
fn group(v: &[f32], i: usize) -> &[f32; GROUP] {
    v[i * GROUP..(i + 1) * GROUP].try_into().expect("group")
}

/// `(re, im) += x * h` over one group of split complex values.
#[inline(always)]
fn cmac<const FMA: bool>(
    re: &mut [f32; LANES],
    im: &mut [f32; LANES],
    x: &[f32; GROUP],
    h: &[f32; GROUP],
) {
    for j in 0..LANES {
        let (xr, xi, hr, hi) = (x[j], x[LANES + j], h[j], h[LANES + j]);
        if FMA {
            re[j] = xr.mul_add(hr, (-xi).mul_add(hi, re[j]));
            im[j] = xr.mul_add(hi, xi.mul_add(hr, im[j]));
        } else {
            re[j] += xr * hr - xi * hi;
            im[j] += xr * hi + xi * hr;
        }
    }
}

/// Partitioned multiply-accumulate of both outputs in one pass over the bins:
/// `acc[0] = sum_k X_L(slot k) H[0]_k + X_R(slot k) H[1]_k` and
/// `acc[1] = sum_k X_L(slot k) H[2]_k + X_R(slot k) H[3]_k`, the `H[1]`, `H[2]` terms only
/// when `CROSS`. Every partition of a group of bins stays in registers.
#[inline(always)]
fn mac_kernel<const FMA: bool, const CROSS: bool>(
    x: [&[f32]; 2],
    h: [&[f32]; 4],
    slots: [usize; PARTITIONS],
    acc: [&mut [Complex<f32>]; 2],
) {
    let [acc0, acc1] = acc;
    for (g, (o0, o1)) in acc0
        .chunks_exact_mut(LANES)
        .zip(acc1.chunks_exact_mut(LANES))
        .enumerate()
    {
        let mut s = [[0.0f32; LANES]; 4];
        let [r0, i0, r1, i1] = &mut s;
        for (k, slot) in slots.iter().enumerate() {
            let xl = group(x[0], g * PARTITIONS + slot);
            let xr = group(x[1], g * PARTITIONS + slot);
            let hi = g * PARTITIONS + k;
            cmac::<FMA>(r0, i0, xl, group(h[0], hi));
            cmac::<FMA>(r1, i1, xr, group(h[3], hi));
            if CROSS {
                cmac::<FMA>(r0, i0, xr, group(h[1], hi));
                cmac::<FMA>(r1, i1, xl, group(h[2], hi));
            }
        }
        for j in 0..LANES {
            o0[j] = Complex::new(r0[j], i0[j]);
            o1[j] = Complex::new(r1[j], i1[j]);
        }
    }
}

/// [`mac_kernel`] compiled for AVX with fused multiply-add.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn mac_avx_fma<const CROSS: bool>(
    x: [&[f32]; 2],
    h: [&[f32]; 4],
    slots: [usize; PARTITIONS],
    acc: [&mut [Complex<f32>]; 2],
) {
    mac_kernel::<true, CROSS>(x, h, slots, acc);
}

pub(super) fn mac(
    x: [&[f32]; 2],
    h: [&[f32]; 4],
    slots: [usize; PARTITIONS],
    acc: [&mut [Complex<f32>]; 2],
    cross: bool,
) {
    if cross {
        crate::simd::dispatch! {
            avx_fma => mac_avx_fma::<true>(x, h, slots, acc),
            _ => mac_kernel::<BASELINE_FMA, true>(x, h, slots, acc),
        }
    } else {
        crate::simd::dispatch! {
            avx_fma => mac_avx_fma::<false>(x, h, slots, acc),
            _ => mac_kernel::<BASELINE_FMA, false>(x, h, slots, acc),
        }
    }
}
