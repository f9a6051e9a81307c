//! True-peak detector against analytic sine peaks (the peak of `A sin` is `A`, a number from
//! outside our code) and the EBU Tech 3341 true-peak cases.

use shared_dsp::meter::true_peak::{TruePeakDetector, TruePeakMeter};

/// Worst and best ratio (dB) of the detector reading to the true amplitude over sines from 20 Hz
/// to `max_hz`, several phases each. The reading is taken per period of the sine (the largest
/// output over each run of `ceil(period)` samples, then the smallest of those), so an image
/// beating against the tone cannot hide a low reading behind a high one elsewhere.
fn worst_reading_db(sample_rate: f64, max_hz: f64) -> (f64, f64) {
    let mut worst_under = f64::INFINITY;
    let mut worst_over = f64::NEG_INFINITY;
    let mut hz = 20.0;
    while hz <= max_hz * 1.000_001 {
        let period = (sample_rate / hz).ceil() as usize;
        for phase_step in 0..4 {
            let phase = phase_step as f64 * 0.39;
            let mut det = TruePeakDetector::new(sample_rate);
            // At least 300 samples and 3 periods after the interpolator has filled.
            let settle = 2 * det.latency_samples() + 2;
            let n = settle + (3 * period).max(300);
            let mut window_max = 0.0f32;
            let mut in_window = 0;
            for i in 0..n {
                let t = i as f64 / sample_rate;
                let x = (0.5 * (2.0 * std::f64::consts::PI * hz * t + phase).sin()) as f32;
                let y = det.process_sample(x);
                if i < settle {
                    continue;
                }
                window_max = window_max.max(y);
                in_window += 1;
                if in_window == period {
                    let db = 20.0 * (window_max as f64 / 0.5).log10();
                    worst_under = worst_under.min(db);
                    worst_over = worst_over.max(db);
                    window_max = 0.0;
                    in_window = 0;
                }
            }
        }
        hz *= 1.03;
        if hz > max_hz && hz < max_hz * 1.03 {
            hz = max_hz;
        }
    }
    (worst_under, worst_over)
}

#[test]
fn sine_underread_within_0_1_db_up_to_20khz() {
    let results: Vec<(f64, f64, f64)> = [44_100.0, 48_000.0]
        .iter()
        .map(|&sr| {
            let (under, over) = worst_reading_db(sr, 20_000.0);
            println!("{sr} Hz: worst under-read {under:.4} dB, worst over-read {over:.4} dB");
            (sr, under, over)
        })
        .collect();
    for (sr, under, over) in results {
        assert!(under > -0.1, "{sr}: {under}");
        assert!(over < 0.1, "{sr}: {over}");
    }
}

#[test]
fn report_near_nyquist() {
    for &(sr, f) in &[
        (44_100.0, 21_000.0),
        (48_000.0, 22_000.0),
        (48_000.0, 23_000.0),
        (96_000.0, 40_000.0),
        (22_050.0, 10_000.0),
        (32_000.0, 15_000.0),
        (192_000.0, 20_000.0),
    ] {
        let (under, over) = worst_reading_db(sr, f);
        println!("{sr} Hz up to {f}: under {under:.4} over {over:.4}");
    }
}

#[test]
fn block_kernel_matches_per_sample_path() {
    // The meter's block kernel and the limiter's per-sample path must give bit-identical
    // maxima, whatever the block split, at 4x/32 taps (44.1 kHz), 4x/20 (48 kHz), 2x and 8x.
    for &sr in &[44_100.0, 48_000.0, 96_000.0, 22_050.0] {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let x: Vec<f32> = (0..20_000)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                // Bursts of loud noise over quiet tones, so the maximum moves often.
                let tone = 0.1 * (i as f32 * 0.37).sin();
                if (i / 1500) % 3 == 1 {
                    noise * (i % 1500) as f32 / 1000.0
                } else {
                    tone
                }
            })
            .collect();
        let mut per_sample = TruePeakDetector::new(sr);
        let mut sample_peaks = Vec::with_capacity(x.len());
        for &v in &x {
            sample_peaks.push(per_sample.process_sample(v));
        }
        for &block in &[1usize, 7, 64, 113, 4096] {
            let mut det = TruePeakDetector::new(sr);
            let mut start = 0;
            while start < x.len() {
                let end = (start + block).min(x.len());
                let got = det.process_block_max(&x[start..end]);
                let want = sample_peaks[start..end]
                    .iter()
                    .fold(0.0f32, |m, &v| m.max(v));
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{sr} Hz block {block} at {start}"
                );
                start = end;
            }
        }
    }
}

#[test]
fn latency_matches_impulse_position() {
    // The reading for an impulse must come `latency_samples()` after it, and equal it.
    for &sr in &[44_100.0, 48_000.0, 96_000.0, 192_000.0] {
        let mut det = TruePeakDetector::new(sr);
        let latency = det.latency_samples();
        let mut out = Vec::new();
        for i in 0..64 {
            out.push(det.process_sample(if i == 5 { 0.8 } else { 0.0 }));
        }
        let argmax = out
            .iter()
            .enumerate()
            .fold((0, 0.0f32), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
            .0;
        assert_eq!(argmax, 5 + latency, "{sr} Hz");
        assert!((out[argmax] - 0.8).abs() < 1e-6);
        assert!(det.oversampling() * sr as usize >= 176_400, "{sr} Hz");
    }
}
