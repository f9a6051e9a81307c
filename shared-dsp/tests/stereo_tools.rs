//! Stereo tools against analytic numbers: the 4th-order Linkwitz-Riley high-pass magnitude
//! `(f/fc)^4 / (1 + (f/fc)^4)` on the side channel, an untouched mid, exact mid/side round
//! trips, and the correlation floor of the stem-mastering guide (+0.4).

use shared_dsp::stereo::{decode_ms, encode_ms, StereoSettings, StereoTool};
use test_signals::Xorshift32;

const FS: f64 = 48_000.0;

fn tone(hz: f64, amp: f64, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / FS).sin()) as f32)
        .collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn tool(settings: StereoSettings) -> StereoTool {
    let mut t = StereoTool::new();
    t.set_sample_rate(FS);
    t.set_settings(settings);
    t
}

#[test]
fn mid_side_round_trip_is_exact_for_dyadic_values() {
    for (l, r) in [(0.5f32, 0.25f32), (-1.0, 1.0), (0.75, 0.75)] {
        let (m, s) = encode_ms(l, r);
        assert_eq!(decode_ms(m, s), (l, r));
    }
}

/// Side-only tones (L = -R) below, at and above a 100 Hz corner are attenuated as the analytic
/// LR4 high-pass, within 0.1 dB; the slope an octave apart far below the corner is 24 dB/oct.
#[test]
fn mono_below_attenuates_the_side_by_the_lr4_slope() {
    let fc = 100.0;
    let mut measured = Vec::new();
    for hz in [12.5, 25.0, 50.0, 100.0, 200.0, 400.0, 1600.0] {
        let mut t = tool(StereoSettings {
            mono_below_hz: fc as f32,
            ..StereoSettings::default()
        });
        let len = (FS * 2.0) as usize;
        let s = tone(hz, 0.5, len);
        let mut l = s.clone();
        let mut r: Vec<f32> = s.iter().map(|v| -v).collect();
        t.process_block(&mut l, &mut r);
        let side: Vec<f32> = l.iter().zip(&r).map(|(a, b)| 0.5 * (a - b)).collect();
        let tail = len / 2..len;
        let got_db = 20.0 * (rms(&side[tail.clone()]) / rms(&s[tail])).log10();
        let x = (hz / fc).powi(4);
        let want_db = 20.0 * (x / (1.0 + x)).log10();
        println!("side at {hz} Hz: {got_db:.3} dB (LR4 {want_db:.3} dB)");
        assert!(
            (got_db - want_db).abs() < 0.1,
            "{hz} Hz: {got_db} vs {want_db}"
        );
        measured.push(got_db);
    }
    let slope = measured[1] - measured[0];
    assert!((slope - 24.0).abs() < 0.5, "slope {slope} dB/oct");
}

/// The mid is never filtered: a mid-only tone at any frequency keeps its level within
/// 0.01 dB, and with side content present the output mid equals the input mid.
#[test]
fn mono_below_leaves_the_mid_untouched() {
    for hz in [30.0, 100.0, 300.0, 5000.0] {
        let mut t = tool(StereoSettings {
            mono_below_hz: 120.0,
            width_percent: 150.0,
            ..StereoSettings::default()
        });
        let m = tone(hz, 0.5, 48_000);
        let s = tone(hz * 1.37, 0.3, 48_000);
        let mut l: Vec<f32> = m.iter().zip(&s).map(|(a, b)| a + b).collect();
        let mut r: Vec<f32> = m.iter().zip(&s).map(|(a, b)| a - b).collect();
        t.process_block(&mut l, &mut r);
        let mid_out: Vec<f32> = l.iter().zip(&r).map(|(a, b)| 0.5 * (a + b)).collect();
        let db = 20.0 * (rms(&mid_out) / rms(&m)).log10();
        assert!(db.abs() < 0.01, "{hz} Hz: mid changed by {db} dB");
        for (a, b) in mid_out.iter().zip(&m) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}

#[test]
fn width_scales_the_side_and_zero_is_mono() {
    let l0 = tone(440.0, 0.5, 4800);
    let r0 = tone(660.0, 0.5, 4800);
    for width in [0.0f32, 50.0, 200.0] {
        let mut t = tool(StereoSettings {
            width_percent: width,
            ..StereoSettings::default()
        });
        let (mut l, mut r) = (l0.clone(), r0.clone());
        t.process_block(&mut l, &mut r);
        for i in 0..l.len() {
            let (m, s) = encode_ms(l0[i], r0[i]);
            let (m2, s2) = encode_ms(l[i], r[i]);
            assert!((m2 - m).abs() < 1e-6);
            assert!((s2 - s * width / 100.0).abs() < 1e-6);
        }
    }
}

#[test]
fn balance_attenuates_the_far_side_only() {
    let mut t = tool(StereoSettings {
        balance_percent: 50.0,
        ..StereoSettings::default()
    });
    let mut l = vec![0.5f32; 64];
    let mut r = vec![0.5f32; 64];
    t.process_block(&mut l, &mut r);
    assert_eq!(l[10], 0.25);
    assert_eq!(r[10], 0.5);
}

/// Wide material: the width limit keeps the measured output correlation at or above +0.4.
#[test]
fn width_limit_keeps_correlation_above_floor() {
    // Mid and uncorrelated side of similar level: +200 % width would go negative.
    let n = 96_000;
    let mut rng = Xorshift32(7);
    let mut noise = || rng.centred() * 0.5;
    let m: Vec<f32> = (0..n).map(|_| noise()).collect();
    let s: Vec<f32> = (0..n).map(|_| 0.7 * noise()).collect();
    let l0: Vec<f32> = m.iter().zip(&s).map(|(a, b)| a + b).collect();
    let r0: Vec<f32> = m.iter().zip(&s).map(|(a, b)| a - b).collect();

    let mut probe = tool(StereoSettings::default());
    let (mut l, mut r) = (l0.clone(), r0.clone());
    probe.process_block(&mut l, &mut r);
    let limit = probe.width_limit_percent(0.4);
    assert!(limit > 50.0 && limit < 200.0, "limit {limit}");

    let mut t = tool(StereoSettings {
        width_percent: limit,
        ..StereoSettings::default()
    });
    let (mut l, mut r) = (l0.clone(), r0.clone());
    t.process_block(&mut l, &mut r);
    let dot: f64 = l
        .iter()
        .zip(&r)
        .map(|(a, b)| (*a as f64) * (*b as f64))
        .sum();
    let corr = dot / (rms(&l) * rms(&r) * n as f64);
    println!(
        "width limit {limit:.1} %, measured correlation {corr:.3}, meter {:.3}",
        t.correlation()
    );
    assert!((0.39..0.45).contains(&corr), "correlation {corr}");
    assert!((t.correlation() as f64 - corr).abs() < 0.05);
}
