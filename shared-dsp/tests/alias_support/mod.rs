//! The aliasing measure of issue 16's rule for nonlinear stages: a 10 kHz sine at -6 dBFS,
//! 48 kHz, through the stage; every spectral component in 20 Hz..20 kHz that is not the tone
//! must stay below -80 dBFS.

use realfft::RealFftPlanner;

/// Sample rate of the measure, Hz.
pub const ALIAS_FS: f64 = 48_000.0;
/// Samples the stage runs before the measured second (settling).
pub const ALIAS_SETTLE: usize = 24_000;

/// The test tone: half a second of settling, then one second measured (10 kHz, -6 dBFS).
pub fn alias_test_tone() -> Vec<f32> {
    test_signals::sine(
        ALIAS_SETTLE + ALIAS_FS as usize,
        10_000.0,
        ALIAS_FS,
        10f64.powf(-6.0 / 20.0),
    )
}

/// The largest component of `output` (the stage's output of [`alias_test_tone`]) other than
/// the tone, over 20 Hz..20 kHz of the second after settling: (Hz, dBFS of a sine's peak). On
/// exact 1 Hz bins, no window: the tone and its odd harmonics (30, 50 kHz.., above Nyquist)
/// leak nothing, so anything else there is an alias.
pub fn worst_alias(output: &[f32]) -> (usize, f64) {
    let n = ALIAS_FS as usize;
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut t: Vec<f64> = output[ALIAS_SETTLE..ALIAS_SETTLE + n]
        .iter()
        .map(|&v| v as f64)
        .collect();
    let mut spec = fft.make_output_vec();
    fft.process(&mut t, &mut spec).unwrap();
    let (hz, amp) = spec
        .iter()
        .enumerate()
        .take(20_001)
        .skip(20)
        .filter(|(hz, _)| *hz != 10_000)
        .map(|(hz, c)| (hz, 2.0 * c.norm() / n as f64))
        .fold((0, 0.0f64), |m, v| if v.1 > m.1 { v } else { m });
    (hz, 20.0 * amp.max(1e-30).log10())
}
