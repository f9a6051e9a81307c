//! Filter designs against numbers from outside our code: the FFT of the impulse response
//! that the runtime filters actually produce, and the analogue s-domain prototypes written
//! out here and evaluated at s = j 2 pi f.

mod eq_support;

use eq_support::{biquad_s, db, fft_mag, s_norm};
use realfft::num_complex::Complex64;
use shared_dsp::filter::{BiquadCascade, CascadeCoefs, Precision, Shape, Slope, Svf, SvfCoefs};

const FFT_LEN: usize = 1 << 16;

/// Impulse response of a cascade run through the TDF-II runtime (f32 I/O).
fn impulse_tdf2(c: &CascadeCoefs, n: usize) -> Vec<f64> {
    let mut f = BiquadCascade::new(*c);
    let mut buf = vec![0.0f32; n];
    buf[0] = 1.0;
    f.process_block(&mut buf);
    buf.iter().map(|&x| x as f64).collect()
}

/// Impulse response of a cascade run through SVFs realising each section.
fn impulse_svf(c: &CascadeCoefs, n: usize) -> Vec<f64> {
    let mut buf = vec![0.0f32; n];
    buf[0] = 1.0;
    for s in c.sections() {
        let mut svf = Svf::new(SvfCoefs::from_biquad(s));
        svf.process_block(&mut buf);
    }
    buf.iter().map(|&x| x as f64).collect()
}

/// Largest |measured - response()| in dB over FFT bins where |H| > -60 dB.
fn worst_measured_error(c: &CascadeCoefs, h: &[f64]) -> f64 {
    let sr = c.sample_rate_hz();
    let mag = fft_mag(h, FFT_LEN);
    let mut worst = 0.0f64;
    for (k, m) in mag.iter().enumerate().skip(1) {
        let hz = k as f64 * sr / FFT_LEN as f64;
        let want = c.response(hz).norm();
        if db(want) > -60.0 {
            worst = worst.max((db(*m) - db(want)).abs());
        }
    }
    worst
}

fn all_shapes() -> Vec<Shape> {
    let mut v = Vec::new();
    for &hz in &[35.0, 440.0, 3_000.0, 12_000.0, 18_000.0] {
        v.push(Shape::Bell {
            hz,
            q: 1.4,
            gain_db: 9.0,
        });
        v.push(Shape::Bell {
            hz,
            q: 0.5,
            gain_db: -12.0,
        });
        v.push(Shape::LowShelf {
            hz,
            q: std::f64::consts::FRAC_1_SQRT_2,
            gain_db: 6.0,
        });
        v.push(Shape::HighShelf {
            hz,
            q: std::f64::consts::FRAC_1_SQRT_2,
            gain_db: -6.0,
        });
        v.push(Shape::Notch { hz, q: 4.0 });
        v.push(Shape::BandPass { hz, q: 2.0 });
        v.push(Shape::Tilt { hz, gain_db: 4.0 });
        for slope in [
            Slope::Db6,
            Slope::Db12,
            Slope::Db18,
            Slope::Db24,
            Slope::Db36,
            Slope::Db48,
        ] {
            v.push(Shape::ButterworthHighpass { hz, slope });
            v.push(Shape::ButterworthLowpass { hz, slope });
        }
    }
    v
}

#[test]
fn measured_impulse_response_matches_response_within_0_01_db() {
    let mut worst = 0.0f64;
    for sr in [44_100.0, 96_000.0] {
        for shape in all_shapes() {
            for precision in [Precision::Matched, Precision::Fast] {
                let c = CascadeCoefs::design(sr, shape, precision);
                for h in [impulse_tdf2(&c, FFT_LEN), impulse_svf(&c, FFT_LEN)] {
                    let e = worst_measured_error(&c, &h);
                    assert!(e < 0.01, "{shape:?} at {sr} Hz: {e} dB");
                    worst = worst.max(e);
                }
            }
        }
    }
    println!("worst measured-vs-response error: {worst:.5} dB");
}

/// RBJ cookbook analogue prototypes (the same formulas the cookbook states), A = 10^(g/40).
fn analogue(shape: Shape, f: f64) -> Complex64 {
    match shape {
        Shape::Bell { hz, q, gain_db } => {
            let a = 10f64.powf(gain_db / 40.0);
            biquad_s(s_norm(f, hz), [1.0, a / q, 1.0], [1.0, 1.0 / (a * q), 1.0])
        }
        Shape::LowShelf { hz, q, gain_db } => {
            let a = 10f64.powf(gain_db / 40.0);
            let s = s_norm(f, hz);
            a * biquad_s(s, [a, a.sqrt() / q, 1.0], [1.0, a.sqrt() / q, a])
        }
        Shape::HighShelf { hz, q, gain_db } => {
            let a = 10f64.powf(gain_db / 40.0);
            let s = s_norm(f, hz);
            a * biquad_s(s, [1.0, a.sqrt() / q, a], [a, a.sqrt() / q, 1.0])
        }
        Shape::ButterworthHighpass { hz, slope } => {
            // |H|^2 = 1 / (1 + (fc/f)^(2n)): the Butterworth definition, phase irrelevant.
            let n = slope.order() as i32;
            Complex64::new((1.0 / (1.0 + (hz / f).powi(2 * n))).sqrt(), 0.0)
        }
        Shape::ButterworthLowpass { hz, slope } => {
            let n = slope.order() as i32;
            Complex64::new((1.0 / (1.0 + (f / hz).powi(2 * n))).sqrt(), 0.0)
        }
        _ => unreachable!(),
    }
}

#[test]
fn bell_shelf_and_highpass_follow_analogue_prototype_to_0_9_nyquist() {
    let sr = 44_100.0;
    let mut worst = 0.0f64;
    let mut worst_at = String::new();
    let mut shapes = Vec::new();
    for &hz in &[30.0, 100.0, 1_000.0, 5_000.0, 10_000.0, 14_000.0, 16_000.0] {
        for &q in &[0.5, std::f64::consts::FRAC_1_SQRT_2, 1.0, 2.0, 4.0] {
            for &gain_db in &[-18.0, -6.0, -1.5, 1.5, 6.0, 18.0] {
                shapes.push(Shape::Bell { hz, q, gain_db });
                if q <= 1.0 {
                    shapes.push(Shape::LowShelf { hz, q, gain_db });
                    shapes.push(Shape::HighShelf { hz, q, gain_db });
                }
            }
        }
        for slope in [
            Slope::Db6,
            Slope::Db12,
            Slope::Db18,
            Slope::Db24,
            Slope::Db36,
            Slope::Db48,
        ] {
            shapes.push(Shape::ButterworthHighpass { hz, slope });
        }
    }
    for shape in shapes {
        let c = CascadeCoefs::design(sr, shape, Precision::Matched);
        let mut f = 10.0;
        while f <= 0.9 * sr / 2.0 {
            let want = db(analogue(shape, f).norm());
            if want > -60.0 {
                let e = (c.magnitude_db(f) - want).abs();
                if e > worst {
                    worst = e;
                    worst_at = format!("{shape:?} at {f:.0} Hz");
                }
            }
            f *= 1.005;
        }
    }
    println!("worst analogue deviation up to 0.9 Nyquist: {worst:.4} dB ({worst_at})");
    assert!(worst < 0.1, "{worst} dB at {worst_at}");
}

#[test]
fn fast_designs_stay_close_to_the_prototype_below_a_quarter_of_the_rate() {
    // The provisional designs used while automating: Vicanek's closed form.
    let sr = 48_000.0;
    let mut worst = 0.0f64;
    for &hz in &[50.0, 500.0, 2_000.0, 6_000.0] {
        for shape in [
            Shape::Bell {
                hz,
                q: 1.0,
                gain_db: 6.0,
            },
            Shape::Bell {
                hz,
                q: 3.0,
                gain_db: -9.0,
            },
            Shape::LowShelf {
                hz,
                q: std::f64::consts::FRAC_1_SQRT_2,
                gain_db: 4.0,
            },
            Shape::HighShelf {
                hz,
                q: std::f64::consts::FRAC_1_SQRT_2,
                gain_db: -4.0,
            },
        ] {
            let c = CascadeCoefs::design(sr, shape, Precision::Fast);
            let mut f = 10.0;
            while f < sr / 4.0 {
                worst = worst.max((c.magnitude_db(f) - db(analogue(shape, f).norm())).abs());
                f *= 1.01;
            }
        }
    }
    println!("worst fast-design deviation below fs/4: {worst:.3} dB");
    assert!(worst < 0.5, "{worst}");
}

/// Steady-state gain of a sine at `hz` through the cascade (sine-in, RMS-out).
fn sine_gain_db(c: &CascadeCoefs, hz: f64) -> f64 {
    let sr = c.sample_rate_hz();
    let settle = (sr * 1.0) as usize;
    let n = settle + (sr * 0.5) as usize;
    let mut x = test_signals::sine(n, hz, sr, 0.5);
    let mut f = BiquadCascade::new(*c);
    f.process_block(&mut x);
    let out = eq_support::rms(&x[settle..]);
    let inp = 0.5 / 2f64.sqrt();
    db(out / inp)
}

#[test]
fn butterworth_minus_3_db_at_corner_and_stated_slope_beyond() {
    let sr = 48_000.0;
    for &(fc, high) in &[(80.0, true), (1_000.0, false), (35.0, true), (800.0, false)] {
        for slope in [Slope::Db6, Slope::Db12, Slope::Db24, Slope::Db48] {
            let c = if high {
                CascadeCoefs::butterworth_highpass(sr, fc, slope)
            } else {
                CascadeCoefs::butterworth_lowpass(sr, fc, slope)
            };
            let corner = sine_gain_db(&c, fc);
            assert!(
                (corner + 3.0103).abs() < 0.02,
                "{slope:?} {fc}: corner {corner}"
            );
            // Two and three octaves into the stop band: the analogue Butterworth values,
            // whose difference approaches the stated dB/oct.
            let (f2, f3) = if high {
                (fc / 4.0, fc / 8.0)
            } else {
                (fc * 4.0, fc * 8.0)
            };
            let n = slope.order() as i32;
            let expect = |r: f64| -10.0 * (1.0 + r.powi(2 * n)).log10();
            let g2 = c.magnitude_db(f2);
            let g3 = c.magnitude_db(f3);
            assert!((g2 - expect(4.0)).abs() < 0.05, "{slope:?} {fc}: {g2}");
            assert!((g3 - expect(8.0)).abs() < 0.05, "{slope:?} {fc}: {g3}");
            let per_octave = g2 - g3;
            assert!(
                (per_octave - slope.db_per_octave()).abs() < 0.2,
                "{slope:?}: {per_octave} dB/oct"
            );
        }
    }
}
