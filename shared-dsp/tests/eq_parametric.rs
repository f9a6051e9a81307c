//! Minimum-phase parametric EQ: curve vs measured response, placement, dynamic bands,
//! automation without jumps, block-size independence, bad-sample recovery.

mod eq_support;

use eq_support::{db, fft_mag, rms};
use shared_dsp::eq::{BandKind, BandSettings, DynamicSettings, EqCurve, ParametricEq, Placement};
use shared_dsp::filter::Slope;
use test_signals::{noise, sine};

const SR: f64 = 48_000.0;

/// The mastering guide's moves: HPF on a vocal, low-mid cut, presence, de-ess, air shelf,
/// bass LPF, notch, tilt.
fn guide_bands() -> Vec<BandSettings> {
    vec![
        BandSettings {
            slope: Slope::Db24,
            ..BandSettings::new(
                BandKind::HighPass,
                90.0,
                0.0,
                std::f32::consts::FRAC_1_SQRT_2,
            )
        },
        BandSettings::bell(250.0, -2.5, 1.2),
        BandSettings::new(
            BandKind::LowShelf,
            120.0,
            -1.5,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
        BandSettings::bell(3_000.0, -3.0, 3.0),
        BandSettings::new(
            BandKind::HighShelf,
            14_000.0,
            1.5,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
        BandSettings {
            slope: Slope::Db12,
            ..BandSettings::new(
                BandKind::LowPass,
                19_000.0,
                0.0,
                std::f32::consts::FRAC_1_SQRT_2,
            )
        },
        BandSettings::new(BandKind::Notch, 1_000.0, 0.0, 8.0),
        BandSettings::new(
            BandKind::Tilt,
            1_000.0,
            1.0,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
    ]
}

fn eq_with(bands: &[BandSettings]) -> ParametricEq {
    let mut eq = ParametricEq::new(SR);
    eq.set_sample_rate(SR);
    for (i, b) in bands.iter().enumerate() {
        eq.set_band_immediately(i, *b);
    }
    eq
}

/// Impulse response of the left output for an impulse fed to (left, right).
fn impulse(eq: &mut ParametricEq, in_l: f32, in_r: f32, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut l = vec![0.0f32; n];
    let mut r = vec![0.0f32; n];
    l[0] = in_l;
    r[0] = in_r;
    eq.process_block(&mut l, &mut r);
    (
        l.iter().map(|&x| x as f64).collect(),
        r.iter().map(|&x| x as f64).collect(),
    )
}

#[test]
fn eight_band_curve_matches_measured_response() {
    let bands = guide_bands();
    let mut eq = eq_with(&bands);
    let n = 1 << 16;
    let (h, _) = impulse(&mut eq, 1.0, 0.0, n);
    let mag = fft_mag(&h, n);
    let curve = EqCurve::new(SR, &bands);
    let mut worst = 0.0f64;
    for (k, m) in mag.iter().enumerate().skip(1) {
        let hz = k as f64 * SR / n as f64;
        let want = eq.response(hz, Placement::Left).norm();
        // The editor curve and the running EQ agree.
        assert!((curve.response(hz, Placement::Left).norm() - want).abs() < 1e-9);
        if db(want) > -60.0 {
            worst = worst.max((db(*m) - db(want)).abs());
        }
    }
    println!("8-band measured vs response: {worst:.5} dB");
    assert!(worst < 0.01, "{worst}");
}

#[test]
fn placement_acts_on_the_right_signal() {
    let bands = [
        BandSettings::bell(1_000.0, 6.0, 1.0),
        BandSettings {
            placement: Placement::Mid,
            ..BandSettings::bell(200.0, -6.0, 1.0)
        },
        BandSettings {
            placement: Placement::Side,
            ..BandSettings::new(
                BandKind::HighShelf,
                10_000.0,
                3.0,
                std::f32::consts::FRAC_1_SQRT_2,
            )
        },
        BandSettings {
            placement: Placement::Right,
            ..BandSettings::bell(5_000.0, -4.0, 2.0)
        },
    ];
    let n = 1 << 15;
    // Pure mid in (L = R) with no right-only band: left out follows stereo * mid bands.
    let check = |eq: &mut ParametricEq, l: f32, r: f32, view: Placement, right: bool| {
        let (hl, hr) = impulse(eq, l, r, n);
        let h = if right { hr } else { hl };
        let mag = fft_mag(&h, n);
        let mut worst = 0.0f64;
        for (k, m) in mag.iter().enumerate().skip(1).step_by(7) {
            let hz = k as f64 * SR / n as f64;
            let want = eq.response(hz, view).norm();
            let amp = if right { r.abs() } else { l.abs() } as f64;
            worst = worst.max((db(*m / amp) - db(want)).abs());
        }
        worst
    };
    let mut eq = eq_with(&bands[..3]);
    assert!(check(&mut eq, 1.0, 1.0, Placement::Mid, false) < 0.01);
    let mut eq = eq_with(&bands[..3]);
    // Pure side in (L = -R): side bands act.
    assert!(check(&mut eq, 1.0, -1.0, Placement::Side, false) < 0.01);
    // Right-only band: left untouched by it, right gets it.
    let mut eq = eq_with(&[bands[0], bands[3]]);
    assert!(check(&mut eq, 1.0, 0.0, Placement::Left, false) < 0.01);
    let mut eq = eq_with(&[bands[0], bands[3]]);
    assert!(check(&mut eq, 0.0, 1.0, Placement::Right, true) < 0.01);
    // And the views differ where the right-only band acts (the check is not vacuous).
    let d = db(eq.response(5_000.0, Placement::Right).norm())
        - db(eq.response(5_000.0, Placement::Left).norm());
    assert!((d + 4.0).abs() < 0.05, "{d}");
}

fn dynamic_bell(threshold_db: f32, range_db: f32) -> BandSettings {
    BandSettings {
        dynamic: DynamicSettings {
            enabled: true,
            threshold_db,
            range_db,
            attack_ms: 5.0,
            release_ms: 60.0,
        },
        ..BandSettings::bell(3_000.0, 0.0, 2.0)
    }
}

#[test]
fn dynamic_band_cuts_by_range_above_threshold_and_recovers() {
    let mut eq = eq_with(&[dynamic_bell(-30.0, -6.0)]);
    let block = 32;
    let loud = 10f64.powf(-10.0 / 20.0); // 20 dB over the threshold
    let n_on = (0.1 * SR) as usize;
    let n_off = (0.2 * SR) as usize;
    let mut x = sine(n_on, 3_000.0, SR, loud);
    x.extend(sine(n_off, 3_000.0, SR, 10f64.powf(-50.0 / 20.0)));
    let mut l = x.clone();
    let mut r = x.clone();
    let mut gain = Vec::new();
    for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        eq.process_block(cl, cr);
        gain.push(eq.dynamic_gain_db(0) as f64);
    }
    let at_ms = |ms: f64| gain[((ms * 1e-3 * SR) as usize / block).min(gain.len() - 1)];
    // 90 % of the range within the attack time (plus one 32-sample design step).
    assert!(at_ms(5.0 + 0.7) <= -5.4, "after attack: {}", at_ms(5.7));
    assert!(at_ms(4.0) > -5.4, "too fast: {}", at_ms(4.0));
    // Steady state: the tone comes out 6 dB down.
    let steady = &l[(0.06 * SR) as usize..n_on];
    let out_db = db(rms(steady) / (loud / 2f64.sqrt()));
    assert!((out_db + 6.0).abs() < 0.2, "steady {out_db}");
    // Below threshold: 90 % recovered within the release time (plus 2 ms for the band-pass
    // detector to ring down and one design step).
    let rel_start = 100.0;
    assert!(at_ms(rel_start + 60.0 + 2.0) >= -0.6, "{}", at_ms(162.0));
    assert!(at_ms(rel_start + 40.0) < -0.6, "too fast: {}", at_ms(140.0));
}

#[test]
fn dynamic_band_is_transparent_below_threshold() {
    // A tone below threshold, and a loud tone outside the band: no gain change, output equals
    // the input through the static (0 dB) band.
    let mut eq = eq_with(&[dynamic_bell(-20.0, -9.0)]);
    let n = (0.3 * SR) as usize;
    let mut x = sine(n, 3_000.0, SR, 10f64.powf(-26.0 / 20.0));
    for (a, b) in x.iter_mut().zip(sine(n, 100.0, SR, 0.5)) {
        *a += b;
    }
    let mut l = x.clone();
    let mut r = x.clone();
    let mut max_change = 0.0f32;
    for (cl, cr) in l.chunks_mut(64).zip(r.chunks_mut(64)) {
        eq.process_block(cl, cr);
        max_change = max_change.max(eq.dynamic_gain_db(0).abs());
    }
    assert_eq!(max_change, 0.0);
    for (a, b) in l.iter().zip(x.iter()) {
        assert!((a - b).abs() < 1e-5, "{a} {b}");
    }
}

#[test]
fn audio_rate_sweeps_of_frequency_and_gain_do_not_jump() {
    // A 100 Hz sine at 0.25 peak through a bell swept 60 Hz..8 kHz and -12..+12 dB with new
    // settings every sample. The largest sample step of the undistorted output is bounded by
    // the sine's own slope at the largest gain: 2 pi f / fs * A * 10^(12/20) = 0.0131;
    // a click or zipper step would exceed it by far. Bound stated: 0.02.
    let mut eq = ParametricEq::new(SR);
    eq.set_sample_rate(SR);
    eq.set_band_immediately(0, BandSettings::bell(60.0, -12.0, 1.0));
    let n = (0.5 * SR) as usize;
    let x = sine(n, 100.0, SR, 0.25);
    let mut y = x.clone();
    let mut yr = x.clone();
    for i in 0..n {
        let t = i as f64 / n as f64;
        let phase = (2.0 * std::f64::consts::PI * 4.0 * t).sin();
        let freq = 60.0 * (8_000.0f64 / 60.0).powf(0.5 + 0.5 * phase);
        let gain = 12.0 * (2.0 * std::f64::consts::PI * 7.0 * t).sin();
        eq.set_band(0, BandSettings::bell(freq as f32, gain as f32, 1.0));
        eq.process_block(&mut y[i..i + 1], &mut yr[i..i + 1]);
    }
    let max_step = y
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    println!("largest sample step under audio-rate sweep: {max_step:.5}");
    assert!(max_step < 0.02, "{max_step}");
    // The sweep did move the sound (not a vacuous pass): the output differs from the input.
    let diff = y
        .iter()
        .zip(x.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff > 0.05, "{diff}");
}

#[test]
fn structural_changes_cross_fade_without_clicks() {
    let mut eq = eq_with(&[BandSettings::bell(100.0, 9.0, 1.0)]);
    let n = (0.3 * SR) as usize;
    let x = sine(n, 100.0, SR, 0.2);
    let (mut l, mut r) = (x.clone(), x.clone());
    for (i, (cl, cr)) in l.chunks_mut(256).zip(r.chunks_mut(256)).enumerate() {
        match i {
            10 => eq.set_band(0, BandSettings::new(BandKind::HighPass, 300.0, 0.0, 0.7)),
            30 => eq.set_band(0, BandSettings::default()),
            40 => eq.set_band(0, BandSettings::bell(100.0, -9.0, 1.0)),
            _ => {}
        }
        eq.process_block(cl, cr);
    }
    // Slope bound of a 100 Hz sine at 0.2 peak with up to +9 dB: 0.0074; 0.012 allowed.
    let max_step = l
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    assert!(max_step < 0.012, "{max_step}");
}

fn run_blocks(block: usize, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut eq = ParametricEq::new(SR);
    eq.set_sample_rate(SR);
    for (i, b) in guide_bands().iter().enumerate() {
        eq.set_band_immediately(i, *b);
    }
    // Moving and dynamic bands too: smoothing and dynamics must not depend on block size.
    eq.set_band(1, BandSettings::bell(2_000.0, 6.0, 0.8));
    eq.set_band(8, dynamic_bell(-30.0, -6.0));
    let (mut l, mut r) = (x.to_vec(), x.iter().map(|v| -0.5 * v).collect::<Vec<_>>());
    for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        eq.process_block(cl, cr);
    }
    (l, r)
}

#[test]
fn blocks_of_1_113_4096_agree_with_one_big_block() {
    let x = noise(24_000, 5);
    let whole = run_blocks(x.len(), &x);
    for block in [1, 113, 4096] {
        assert_eq!(run_blocks(block, &x), whole, "block {block}");
    }
}

#[test]
fn bad_samples_act_as_silence_and_output_stays_clean() {
    let mut x = noise(8_000, 9);
    for i in (1000..1010).chain(5000..5003) {
        x[i] = if i % 2 == 0 { f32::NAN } else { f32::INFINITY };
    }
    let clean: Vec<f32> = x
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    let run = |input: &[f32]| {
        let mut eq = eq_with(&guide_bands());
        eq.set_band(8, dynamic_bell(-30.0, -6.0));
        let (mut l, mut r) = (input.to_vec(), input.to_vec());
        eq.process_block(&mut l, &mut r);
        (l, r)
    };
    let (a, b) = (run(&x), run(&clean));
    assert_eq!(a, b);
    for v in a.0.iter().chain(a.1.iter()) {
        assert!(v.is_finite() && (*v == 0.0 || v.abs() >= f32::MIN_POSITIVE));
    }
}

#[test]
fn reset_repeats_output() {
    let mut eq = eq_with(&guide_bands());
    let x = noise(5_000, 2);
    let (mut a, mut b) = (x.clone(), x.clone());
    eq.process_block(&mut a, &mut b);
    eq.reset();
    let (mut c, mut d) = (x.clone(), x.clone());
    eq.process_block(&mut c, &mut d);
    assert_eq!(a, c);
    assert_eq!(b, d);
}

#[test]
fn works_at_every_sample_rate_from_22k_to_384k() {
    for sr in [22_050.0, 44_100.0, 96_000.0, 192_000.0, 384_000.0] {
        let mut eq = ParametricEq::new(sr);
        eq.set_sample_rate(sr);
        for (i, b) in guide_bands().iter().enumerate() {
            eq.set_band_immediately(i, *b);
        }
        let n = 1 << 17;
        let mut l = vec![0.0f32; n];
        let mut r = vec![0.0f32; n];
        l[0] = 1.0;
        eq.process_block(&mut l, &mut r);
        let h: Vec<f64> = l.iter().map(|&x| x as f64).collect();
        let mag = fft_mag(&h, n);
        let mut worst = 0.0f64;
        for (k, m) in mag.iter().enumerate().skip(1).step_by(5) {
            let hz = k as f64 * sr / n as f64;
            let want = eq.response(hz, Placement::Left).norm();
            if db(want) > -60.0 {
                worst = worst.max((db(*m) - db(want)).abs());
            }
        }
        assert!(worst < 0.01, "{sr}: {worst}");
    }
}
