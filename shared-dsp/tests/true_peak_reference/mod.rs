//! An independent true-peak reference for the limiter and master-chain tests: ideal
//! band-limited interpolation by FFT zero padding. Shares no code with the meter's detector.

use realfft::RealFftPlanner;

/// Largest magnitude of the 16x band-limited reconstruction of `x` (treated as one period,
/// so signals start and end in silence).
pub fn reference_true_peak_16x(x: &[f32]) -> f64 {
    let n = x.len() + (x.len() & 1); // even length
    let up = 16 * n;
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(up);
    let mut time: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    time.resize(n, 0.0);
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut time, &mut spec).unwrap();
    let mut big = inv.make_input_vec();
    big[..n / 2].copy_from_slice(&spec[..n / 2]);
    // The Nyquist bin of the short signal is split between +fs/2 and -fs/2.
    big[n / 2] = spec[n / 2] * 0.5;
    let mut out = inv.make_output_vec();
    inv.process(&mut big, &mut out).unwrap();
    out.iter().fold(0.0f64, |m, &v| m.max(v.abs())) / n as f64
}
