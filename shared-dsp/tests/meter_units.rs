//! Level, correlation, spectrum and K-weighting units against analytic values: the RMS of a
//! sine is its peak over sqrt(2), the correlation of a signal with itself is +1 and with its
//! quadrature 0, a Hann-windowed sine centred on a bin reads its amplitude there, and a sine
//! through a linear filter leaves with the filter's analytic magnitude.

use shared_dsp::meter::correlation::Correlation;
use shared_dsp::meter::k_weighting::{KWeightingCoefs, KWeightingFilter};
use shared_dsp::meter::level::{Rms, SamplePeak};
use shared_dsp::meter::spectrum::SpectrumAnalyser;
use std::f64::consts::PI;
use test_signals::{sine_with_phase, Xorshift64};

const SR: f64 = 48_000.0;

#[test]
fn sample_peak_and_rms_of_a_sine() {
    // fs/8 with a 90 degree phase puts samples on the crests: peak exactly -6.02 dBFS.
    let amp = 0.5;
    let x = sine_with_phase(48_000, 6_000.0, SR, amp, PI / 2.0);
    let mut peak = SamplePeak::new(2);
    peak.process_block(&[&x, &x]);
    assert!((peak.peak_dbfs() - 20.0 * amp.log10()).abs() < 1e-5);
    // 1 kHz over exactly 1000 periods: RMS = A / sqrt(2) = -9.03 dBFS.
    let x = sine_with_phase(48_000, 1_000.0, SR, amp, 0.3);
    let mut rms = Rms::new(2, SR);
    rms.process_block(&[&x, &x]);
    let expected = 20.0 * (amp / 2f64.sqrt()).log10();
    assert!(
        (rms.total_rms_dbfs() - expected).abs() < 1e-4,
        "{}",
        rms.total_rms_dbfs()
    );
    // The 300 ms integrator is within 0.2 dB after 1 s (3.3 time constants) and within
    // 0.01 dB after 4 s (its 2 kHz ripple is about 3e-4 relative).
    assert!(
        (rms.rms_dbfs() - expected).abs() < 0.2,
        "{}",
        rms.rms_dbfs()
    );
    let mut rms = Rms::new(1, SR);
    for _ in 0..4 {
        rms.process_block(&[&x]);
    }
    assert!(
        (rms.rms_dbfs() - expected).abs() < 0.01,
        "{}",
        rms.rms_dbfs()
    );
}

#[test]
fn correlation_of_known_pairs() {
    let n = 48_000;
    let s = sine_with_phase(n, 440.0, SR, 0.5, 0.0);
    let inv: Vec<f32> = s.iter().map(|v| -v).collect();
    let quad = sine_with_phase(n, 440.0, SR, 0.5, PI / 2.0);
    let silence = vec![0.0f32; n];
    let read = |l: &[f32], r: &[f32]| {
        let mut c = Correlation::new(SR);
        c.process_block(l, r);
        c.correlation()
    };
    assert!((read(&s, &s) - 1.0).abs() < 1e-9);
    assert!((read(&s, &inv) + 1.0).abs() < 1e-9);
    // Quadrature: E[sin cos] = 0; the 300 ms integrator leaves a 880 Hz ripple of ~6e-4.
    assert!(read(&s, &quad).abs() < 0.01, "{}", read(&s, &quad));
    // Half level on one side changes nothing: correlation ignores balance.
    let half: Vec<f32> = s.iter().map(|v| 0.5 * v).collect();
    assert!((read(&s, &half) - 1.0).abs() < 1e-9);
    // One silent side has no defined correlation; the meter rests at 0.
    assert_eq!(read(&s, &silence), 0.0);
    // Independent noise: |r| shrinks with the integration time; 300 ms of 48 kHz noise gives a
    // standard deviation of about 1/sqrt(2 * 14 400) = 0.006.
    let mut rng = Xorshift64(7);
    let a: Vec<f32> = (0..n).map(|_| rng.centred()).collect();
    let b: Vec<f32> = (0..n).map(|_| rng.centred()).collect();
    assert!(read(&a, &b).abs() < 0.05, "{}", read(&a, &b));
}

#[test]
fn spectrum_reads_a_bin_centred_sine_at_its_level() {
    let fft = 4096;
    let mut spec = SpectrumAnalyser::new(fft, SR);
    spec.set_smoothing_ms(0.0);
    // Bin 85 of 4096 at 48 kHz: 996.09 Hz, -12 dBFS.
    let bin = 85;
    let hz = spec.bin_hz(bin);
    let amp = 10f64.powf(-12.0 / 20.0);
    spec.process_block(&sine_with_phase(fft * 4, hz, SR, amp, 0.2));
    let read = spec.bin_db()[bin] as f64;
    assert!((read + 12.0).abs() < 0.01, "bin reads {read}");
    // Far from the tone, the Hann sidelobes are below -100 dB re the tone.
    assert!((spec.bin_db()[bin + 200] as f64) < -112.0);
    // The third-octave band holding 1 kHz reads the tone's level (power over the window's
    // 1.5-bin noise bandwidth).
    let band = (0..spec.num_bands())
        .min_by_key(|&i| ((spec.band_centre_hz(i) as f64 - 1000.0).abs() * 100.0) as i64)
        .unwrap();
    assert!((spec.band_centre_hz(band) - 1000.0).abs() < 1.0);
    let band_read = spec.band_db()[band] as f64;
    assert!((band_read + 12.0).abs() < 0.05, "band reads {band_read}");
    // Finer banding (1/12 octave) keeps the tone's band level.
    spec.set_bands_per_octave(12);
    let band = (0..spec.num_bands())
        .max_by(|&i, &j| spec.band_db()[i].total_cmp(&spec.band_db()[j]))
        .unwrap();
    assert!(
        (spec.band_db()[band] as f64 + 12.0).abs() < 0.1,
        "{}",
        spec.band_db()[band]
    );
}

#[test]
fn k_weighting_filter_matches_its_analytic_response() {
    // Sines at the corners and an octave either side, at 44.1, 48 and 96 kHz: the level after
    // the running filter equals |H| from the coefficient design to 0.001 dB.
    for &sr in &[44_100.0, 48_000.0, 96_000.0] {
        let c = KWeightingCoefs::new(sr);
        for &hz in &[19.0, 38.0, 76.0, 840.0, 1681.0, 3363.0, 10_000.0] {
            let mut f = KWeightingFilter::default();
            let n = (sr * 2.0) as usize;
            let mut sum_in = 0.0;
            let mut sum_out = 0.0;
            for i in 0..n {
                let x = (2.0 * PI * hz * i as f64 / sr).sin();
                let y = f.process(&c, x as f32);
                if i >= n / 2 {
                    sum_in += x * x;
                    sum_out += y * y;
                }
            }
            let measured_db = 10.0 * (sum_out / sum_in).log10();
            let analytic_db = 20.0 * c.magnitude(hz).log10();
            assert!(
                (measured_db - analytic_db).abs() < 1e-3,
                "{sr} Hz at {hz}: {measured_db} vs {analytic_db}"
            );
        }
    }
}

#[test]
fn plr_and_psr_of_a_tone_with_a_click() {
    use shared_dsp::meter::programme::ProgrammeMeter;
    // Stereo 1 kHz at -30 dBFS (-29.99 LUFS, peak -30 dBTP) for 8 s with one full-scale sample
    // at 2 s (0 dBTP; its K-weighted energy lifts four gating blocks, I by about 0.05 dB).
    // PLR = 0 - I. PSR right after the click is 0 - S; 3 s later the click has left the
    // short-term window and PSR is the tone's own -30 - (-29.99).
    let amp = 10f64.powf(-30.0 / 20.0);
    let mut x = sine_with_phase((SR * 8.0) as usize, 1_000.0, SR, amp, 0.0);
    // Fade in over 10 ms so the onset adds no overshoot to the tone's true peak.
    for (i, v) in x.iter_mut().take(480).enumerate() {
        *v *= (0.5 - 0.5 * (PI * i as f64 / 480.0).cos()) as f32;
    }
    x[96_000] = 1.0;
    let mut m = ProgrammeMeter::new(2, SR);
    m.process_block(&[&x[..100_000], &x[..100_000]]);
    let s = m.loudness().short_term_lufs();
    assert!(
        (m.psr_db() - (0.0 - s)).abs() < 0.01,
        "PSR {} S {s}",
        m.psr_db()
    );
    m.process_block(&[&x[100_000..], &x[100_000..]]);
    let i = m.loudness().integrated_lufs();
    assert!((i + 29.99).abs() < 0.1, "I {i}");
    assert!(m.max_true_peak_dbtp().abs() < 0.01);
    assert!((m.plr_db() + i).abs() < 0.01, "PLR {} I {i}", m.plr_db());
    assert!(
        (m.psr_db() - (-30.0 + 29.993)).abs() < 0.02,
        "PSR {}",
        m.psr_db()
    );
}
