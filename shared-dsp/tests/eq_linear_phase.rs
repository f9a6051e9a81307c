//! Linear-phase EQ: exact symmetry about the reported latency, magnitude against the
//! minimum-phase EQ, amortised redesign, placement and block-size independence.

mod eq_support;

use eq_support::{db, fft_mag};
use shared_dsp::eq::{
    BandKind, BandSettings, EqCurve, LinearPhaseEq, LinearPhaseQuality, Placement,
};
use shared_dsp::filter::Slope;
use test_signals::{noise, sine};

const SR: f64 = 48_000.0;

/// A master-bus move set: sub rumble HPF, low-mid dip, presence bell, air shelf.
fn master_bands() -> Vec<BandSettings> {
    vec![
        BandSettings {
            slope: Slope::Db24,
            ..BandSettings::new(
                BandKind::HighPass,
                30.0,
                0.0,
                std::f32::consts::FRAC_1_SQRT_2,
            )
        },
        BandSettings::bell(300.0, -1.5, 0.9),
        BandSettings::bell(2_500.0, 1.0, 1.5),
        BandSettings::new(
            BandKind::HighShelf,
            12_000.0,
            1.5,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
        BandSettings::new(
            BandKind::LowShelf,
            90.0,
            1.0,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
    ]
}

fn lp_eq(quality: LinearPhaseQuality, bands: &[BandSettings]) -> LinearPhaseEq {
    let mut eq = LinearPhaseEq::new(SR, SR);
    eq.set_quality(quality);
    eq.set_sample_rate(SR);
    eq.set_bands(bands);
    eq.finish_design_now();
    eq
}

/// Left output for a unit impulse on (left, right), `n` samples.
fn impulse(eq: &mut LinearPhaseEq, in_l: f32, in_r: f32, n: usize) -> Vec<f64> {
    let mut l = vec![0.0f32; n];
    let mut r = vec![0.0f32; n];
    l[0] = in_l;
    r[0] = in_r;
    eq.process_block(&mut l, &mut r);
    l.iter().map(|&x| x as f64).collect()
}

#[test]
fn latency_scales_with_quality_and_sample_rate() {
    let eq = lp_eq(LinearPhaseQuality::Low, &[]);
    // 4096 taps: FIR delay 2047 + hop 1024.
    assert_eq!(eq.latency_samples(), 3071);
    assert_eq!(LinearPhaseQuality::Medium.taps(SR), 16384);
    assert_eq!(LinearPhaseQuality::High.taps(SR), 65536);
    assert_eq!(LinearPhaseQuality::Low.taps(44_100.0), 4096);
    assert_eq!(LinearPhaseQuality::Low.taps(96_000.0), 8192);
}

#[test]
fn impulse_response_is_symmetric_about_the_reported_latency() {
    for quality in [
        LinearPhaseQuality::Low,
        LinearPhaseQuality::Medium,
        LinearPhaseQuality::High,
    ] {
        let mut eq = lp_eq(quality, &master_bands());
        let lat = eq.latency_samples();
        let taps = quality.taps(SR);
        let h = impulse(&mut eq, 1.0, 0.0, lat + taps);
        let peak = h.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let half = (taps - 2) / 2;
        let mut worst = 0.0f64;
        for i in 1..=half {
            worst = worst.max((h[lat - i] - h[lat + i]).abs());
        }
        // Nothing outside the FIR span.
        let outside = h[..lat - half]
            .iter()
            .chain(h[lat + half + 1..].iter())
            .fold(0.0f64, |a, v| a.max(v.abs()));
        println!(
            "{quality:?}: latency {lat}, asymmetry {:.2e}, outside {:.2e} (of peak)",
            worst / peak,
            outside / peak
        );
        assert!(worst <= 1e-6 * peak, "{quality:?}: asymmetry {worst}");
        assert!(outside <= 1e-6 * peak, "{quality:?}: {outside}");
        // The peak of this (symmetric, mostly flat) response sits at the latency.
        let argmax = h
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0;
        assert_eq!(argmax, lat);
    }
}

#[test]
fn magnitude_follows_minimum_phase_eq_within_0_1_db_above_40_hz() {
    let bands = master_bands();
    let mut eq = lp_eq(LinearPhaseQuality::High, &bands);
    let lat = eq.latency_samples();
    let n = 1 << 17;
    let h = impulse(&mut eq, 1.0, 0.0, lat + 65536);
    let mag = fft_mag(&h[lat - 32767..], n);
    let curve = EqCurve::new(SR, &bands);
    let mut worst = 0.0f64;
    for (k, m) in mag.iter().enumerate() {
        let hz = k as f64 * SR / n as f64;
        if hz < 40.0 {
            continue;
        }
        let want = curve.response(hz, Placement::Left).norm();
        if db(want) > -60.0 {
            worst = worst.max((db(*m) - db(want)).abs());
        }
    }
    println!("linear-phase (High) vs minimum-phase magnitude above 40 Hz: {worst:.4} dB");
    assert!(worst < 0.1, "{worst}");
}

#[test]
fn mid_and_side_bands_act_on_mid_and_side() {
    let bands = vec![
        BandSettings {
            placement: Placement::Mid,
            ..BandSettings::bell(1_000.0, 6.0, 1.0)
        },
        BandSettings {
            placement: Placement::Side,
            ..BandSettings::bell(4_000.0, -6.0, 1.0)
        },
    ];
    let n = 1 << 14;
    for (l, r, view) in [(1.0, 1.0, Placement::Mid), (1.0, -1.0, Placement::Side)] {
        let mut eq = lp_eq(LinearPhaseQuality::Low, &bands);
        let lat = eq.latency_samples();
        let h = impulse(&mut eq, l, r, lat + 4096);
        let mag = fft_mag(&h[lat - 2047..], n);
        let curve = EqCurve::new(SR, &bands);
        for &hz in &[1_000.0, 4_000.0] {
            let k = (hz * n as f64 / SR).round() as usize;
            let want = db(curve.response(k as f64 * SR / n as f64, view).norm());
            assert!(
                (db(mag[k]) - want).abs() < 0.1,
                "{view:?} {hz}: {} vs {want}",
                db(mag[k])
            );
        }
    }
}

#[test]
fn redesign_lands_cross_faded_while_audio_runs() {
    let mut eq = lp_eq(LinearPhaseQuality::Low, &[]);
    let n = (1.0 * SR) as usize;
    let x = sine(n, 1_000.0, SR, 0.25);
    let (mut l, mut r) = (x.clone(), x.clone());
    let change_at = 12_000;
    eq.process_block(&mut l[..change_at], &mut r[..change_at]);
    eq.set_bands(&[BandSettings::bell(1_000.0, 6.0, 1.0)]);
    for (cl, cr) in l[change_at..]
        .chunks_mut(128)
        .zip(r[change_at..].chunks_mut(128))
    {
        eq.process_block(cl, cr);
    }
    // No jump larger than the slope of the boosted sine: 2 pi 1000/48000 * 0.25 * 2 = 0.065.
    let max_step = l
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    assert!(max_step < 0.07, "{max_step}");
    // The boost has landed by the end: +6 dB on the tone.
    let tail = &l[n - 4800..];
    let level = eq_support::rms(tail) / (0.25 / 2f64.sqrt());
    assert!((db(level) - 6.0).abs() < 0.05, "{}", db(level));
}

fn run_blocks(block: usize, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut bands = master_bands();
    bands.push(BandSettings {
        placement: Placement::Side,
        ..BandSettings::new(
            BandKind::HighShelf,
            10_000.0,
            2.0,
            std::f32::consts::FRAC_1_SQRT_2,
        )
    });
    let mut eq = lp_eq(LinearPhaseQuality::Low, &bands);
    let (mut l, mut r) = (x.to_vec(), x.iter().map(|v| 0.3 * v).collect::<Vec<_>>());
    for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        eq.process_block(cl, cr);
    }
    (l, r)
}

#[test]
fn blocks_of_1_113_4096_agree_with_one_big_block() {
    let x = noise(12_000, 4);
    let whole = run_blocks(x.len(), &x);
    for block in [1, 113, 4096] {
        assert_eq!(run_blocks(block, &x), whole, "block {block}");
    }
}

#[test]
fn bad_samples_act_as_silence() {
    let mut x = noise(10_000, 8);
    x[3000] = f32::NAN;
    x[3001] = f32::INFINITY;
    let clean: Vec<f32> = x
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    let run = |input: &[f32]| {
        let mut eq = lp_eq(LinearPhaseQuality::Low, &master_bands());
        let (mut l, mut r) = (input.to_vec(), input.to_vec());
        eq.process_block(&mut l, &mut r);
        (l, r)
    };
    let a = run(&x);
    assert_eq!(a, run(&clean));
    assert!(a.0.iter().all(|v| v.is_finite()));
}

#[test]
fn works_at_the_extreme_sample_rates() {
    for sr in [22_050.0, 384_000.0] {
        let mut eq = LinearPhaseEq::new(sr, sr);
        eq.set_quality(LinearPhaseQuality::Low);
        eq.set_sample_rate(sr);
        eq.set_bands(&master_bands());
        eq.finish_design_now();
        let lat = eq.latency_samples();
        let taps = LinearPhaseQuality::Low.taps(sr);
        let h = impulse(&mut eq, 1.0, 0.0, lat + taps);
        let half = (taps - 2) / 2;
        let n = (2 * taps).next_power_of_two();
        let mag = fft_mag(&h[lat - half..], n);
        let curve = EqCurve::new(sr, &master_bands());
        // The 1 kHz region (away from the HPF) follows the curve closely.
        for &hz in &[1_000.0, 2_500.0] {
            let k = (hz * n as f64 / sr).round() as usize;
            let want = db(curve
                .response(k as f64 * sr / n as f64, Placement::Left)
                .norm());
            assert!(
                (db(mag[k]) - want).abs() < 0.1,
                "{sr} {hz}: {} vs {want}",
                db(mag[k])
            );
        }
        assert!(h.iter().all(|v| v.is_finite()));
    }
}

/// Both outputs for a unit impulse on (left, right), `n` samples.
fn impulse_stereo(eq: &mut LinearPhaseEq, in_l: f32, in_r: f32, n: usize) -> [Vec<f64>; 2] {
    let mut l = vec![0.0f32; n];
    let mut r = vec![0.0f32; n];
    l[0] = in_l;
    r[0] = in_r;
    eq.process_block(&mut l, &mut r);
    [l, r].map(|v| v.iter().map(|&x| x as f64).collect())
}

#[test]
fn unlinked_channels_with_side_band_follow_the_stereo_matrix() {
    // A band on the left alone (the channels no longer share kernels) plus a side band (the
    // cross paths run): all four kernels. With L the left band's and S the side band's
    // magnitude, y = 1/2 [[1+S, 1-S], [1-S, 1+S]] diag(L, 1) x.
    let left_band = BandSettings {
        placement: Placement::Left,
        ..BandSettings::bell(1_000.0, 6.0, 1.0)
    };
    let side_band = BandSettings {
        placement: Placement::Side,
        ..BandSettings::bell(4_000.0, -9.0, 0.7)
    };
    let bands = vec![left_band, side_band];
    let n = 1 << 14;
    let l_curve = EqCurve::new(SR, &[left_band]);
    let s_curve = EqCurve::new(SR, &[side_band]);
    let mut worst = 0.0f64;
    for (input, (in_l, in_r)) in [(0, (1.0, 0.0)), (1, (0.0, 1.0))] {
        let mut eq = lp_eq(LinearPhaseQuality::Low, &bands);
        let lat = eq.latency_samples();
        let outs = impulse_stereo(&mut eq, in_l, in_r, lat + 4096);
        for (output, h) in outs.iter().enumerate() {
            let mag = fft_mag(&h[lat - 2047..], n);
            for hz in [250.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0] {
                let k = (hz * n as f64 / SR).round() as usize;
                let f = k as f64 * SR / n as f64;
                let l = if input == 0 {
                    l_curve.response(f, Placement::Left).norm()
                } else {
                    1.0
                };
                let s = s_curve.response(f, Placement::Side).norm();
                let want = if input == output {
                    0.5 * (1.0 + s) * l
                } else {
                    0.5 * (1.0 - s) * l
                };
                let err = (mag[k] - want).abs();
                worst = worst.max(err);
                assert!(
                    err < 2e-3,
                    "in {input} out {output} {hz} Hz: {} vs {want}",
                    mag[k]
                );
            }
        }
    }
    println!("stereo matrix (4 kernels): worst |H| error {worst:.2e}");
}

#[test]
fn shared_kernels_equal_separately_designed_ones() {
    // Stereo bands let both channels share one kernel; the same bands given as a left and a
    // right copy make the EQ design and run a kernel per channel. Same numbers, same output.
    let stereo = master_bands();
    let split: Vec<BandSettings> = stereo
        .iter()
        .flat_map(|b| {
            [Placement::Left, Placement::Right].map(|placement| BandSettings { placement, ..*b })
        })
        .collect();
    let x = noise(20_000, 9);
    let y: Vec<f32> = x.iter().rev().copied().collect();
    let run = |bands: &[BandSettings]| {
        let mut eq = lp_eq(LinearPhaseQuality::Low, bands);
        let (mut l, mut r) = (x.clone(), y.clone());
        for (cl, cr) in l.chunks_mut(333).zip(r.chunks_mut(333)) {
            eq.process_block(cl, cr);
        }
        (l, r)
    };
    let (a, b) = (run(&stereo), run(&split));
    assert!(a.0.iter().any(|v| v.abs() > 0.01));
    assert_eq!(a, b);
}
