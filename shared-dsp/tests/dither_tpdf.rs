//! Dither against the theory of Lipshitz, Wannamaker & Vanderkooy (JAES 1992): TPDF total error
//! power `LSB^2/4`, a sub-LSB tone survives quantisation, outputs sit on the target grid; the
//! noise-shaped error spectrum follows `|1 - H(f)|^2` of the Lipshitz 1991 filter.

use realfft::RealFftPlanner;
use shared_dsp::dither::{Dither, DitherMode, DitherSettings, LIPSHITZ_COEFS};

fn process(mode: DitherMode, bits: u32, input: &[f32]) -> Vec<f32> {
    let mut d = Dither::new(1);
    d.set_settings(DitherSettings { mode, bits });
    let mut x = input.to_vec();
    let mut chans: [&mut [f32]; 1] = [&mut x];
    d.process_block(&mut chans);
    x
}

fn slow_signal(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.3 * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / 44_100.0).sin()) as f32)
        .collect()
}

#[test]
fn off_is_bit_transparent() {
    let x = slow_signal(1000);
    assert_eq!(process(DitherMode::Off, 16, &x), x);
}

#[test]
fn tpdf_error_power_is_a_quarter_lsb_squared_and_on_grid() {
    for bits in [16u32, 24] {
        let x = slow_signal(200_000);
        let y = process(DitherMode::Tpdf, bits, &x);
        let scale = (1u64 << (bits - 1)) as f64;
        let mut sum = 0.0;
        let mut sum2 = 0.0;
        for (a, b) in x.iter().zip(&y) {
            let code = *b as f64 * scale;
            assert_eq!(code, code.round(), "off grid");
            let e = code - *a as f64 * scale;
            sum += e;
            sum2 += e * e;
        }
        let n = x.len() as f64;
        let mean = sum / n;
        let power = sum2 / n;
        println!("{bits} bit TPDF: error mean {mean:.4} LSB, power {power:.4} LSB^2 (theory 0.25)");
        assert!(mean.abs() < 0.01);
        assert!((power - 0.25).abs() < 0.0125, "{power}");
    }
}

/// A tone at a quarter of an LSB vanishes under plain rounding but survives TPDF dither at its
/// level (within 1 dB), because dither makes the quantiser linear in the mean.
#[test]
fn sub_lsb_tone_survives_dithering() {
    let n = 441_000;
    let amp = 0.25 / 32_768.0;
    let x: Vec<f32> = (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 44_100.0).sin()) as f32)
        .collect();
    let y = process(DitherMode::Tpdf, 16, &x);
    // Amplitude by projection onto the tone (exact bin: 1000 Hz over 10 s).
    let (mut c, mut s) = (0.0, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 44_100.0;
        c += v as f64 * ph.cos();
        s += v as f64 * ph.sin();
    }
    let got = 2.0 * (c * c + s * s).sqrt() / n as f64;
    let db = 20.0 * (got / amp).log10();
    assert!(db.abs() < 1.0, "{db} dB");
    let plain: Vec<f32> = x
        .iter()
        .map(|&v| (v * 32_768.0).round() / 32_768.0)
        .collect();
    assert!(
        plain.iter().all(|&v| v == 0.0),
        "rounding alone keeps nothing"
    );
}

/// Band powers of the noise-shaped error relative to flat TPDF match `|1 - H|^2` averaged over
/// the band within 1.5 dB: quieter around 1-4 kHz, louder near Nyquist.
#[test]
fn noise_shaped_error_follows_the_lipshitz_curve() {
    let n = 1 << 17;
    let x = slow_signal(n);
    let spectrum_of_error = |mode| {
        let y = process(mode, 16, &x);
        let mut e: Vec<f64> = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (*b as f64 - *a as f64) * 32_768.0)
            .collect();
        let mut planner = RealFftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let mut s = fft.make_output_vec();
        fft.process(&mut e, &mut s).unwrap();
        s.iter().map(|c| c.norm_sqr()).collect::<Vec<f64>>()
    };
    let flat = spectrum_of_error(DitherMode::Tpdf);
    let shaped = spectrum_of_error(DitherMode::NoiseShaped);
    let bin = |hz: f64| (hz / 44_100.0 * n as f64) as usize;
    let ntf = |hz: f64| {
        let w = 2.0 * std::f64::consts::PI * hz / 44_100.0;
        let (mut re, mut im) = (1.0, 0.0);
        for (i, &h) in LIPSHITZ_COEFS.iter().enumerate() {
            re -= h * (w * (i + 1) as f64).cos();
            im += h * (w * (i + 1) as f64).sin();
        }
        re * re + im * im
    };
    for (lo, hi) in [(500.0, 2500.0), (3500.0, 4500.0), (16_000.0, 21_000.0)] {
        let (a, b) = (bin(lo), bin(hi));
        let measured: f64 = shaped[a..b].iter().sum::<f64>() / flat[a..b].iter().sum::<f64>();
        let analytic: f64 = (a..b)
            .map(|k| ntf(k as f64 * 44_100.0 / n as f64))
            .sum::<f64>()
            / (b - a) as f64;
        let (m_db, a_db) = (10.0 * measured.log10(), 10.0 * analytic.log10());
        println!("{lo}-{hi} Hz: shaped/flat {m_db:.2} dB, analytic {a_db:.2} dB");
        assert!((m_db - a_db).abs() < 1.5, "{lo}-{hi}: {m_db} vs {a_db}");
    }
}

#[test]
fn noise_shaping_survives_full_scale_clipping() {
    let x: Vec<f32> = (0..44_100)
        .map(|i| (1.5 * (2.0 * std::f64::consts::PI * 50.0 * i as f64 / 44_100.0).sin()) as f32)
        .collect();
    let y = process(DitherMode::NoiseShaped, 16, &x);
    assert!(y.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    // After the clipped part the loop settles: a quiet tail has small error.
    let tail = process(
        DitherMode::NoiseShaped,
        16,
        &[x.clone(), vec![0.0; 4410]].concat(),
    );
    let err: f64 = tail[44_100..]
        .iter()
        .map(|&v| (v as f64 * 32_768.0).abs())
        .sum::<f64>()
        / 4410.0;
    assert!(err < 10.0, "mean |error| {err} LSB");
}
