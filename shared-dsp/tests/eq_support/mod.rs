//! Helpers shared by the filter and EQ tests: FFT of impulse responses, dB, analogue
//! prototypes evaluated at s = j 2 pi f. Test signals come from the `test-signals` crate.
#![allow(dead_code)]

use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;

/// Magnitude spectrum (linear) of `h` zero-padded to `n` (power of two), bins 0..=n/2.
pub fn fft_mag(h: &[f64], n: usize) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut input = vec![0.0; n];
    for (i, x) in input.iter_mut().zip(h.iter()) {
        *i = *x;
    }
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).unwrap();
    out.iter().map(|c| c.norm()).collect()
}

pub fn db(x: f64) -> f64 {
    20.0 * x.max(1e-300).log10()
}

/// `j 2 pi f / (2 pi f0)` as the normalised analogue frequency variable.
pub fn s_norm(f: f64, f0: f64) -> Complex64 {
    Complex64::new(0.0, f / f0)
}

/// Evaluates `(n0 + n1 s + n2 s^2) / (d0 + d1 s + d2 s^2)`.
pub fn biquad_s(s: Complex64, n: [f64; 3], d: [f64; 3]) -> Complex64 {
    (n[0] + s * n[1] + s * s * n[2]) / (d[0] + s * d[1] + s * s * d[2])
}

/// RMS of a slice.
pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>() / x.len() as f64).sqrt()
}
