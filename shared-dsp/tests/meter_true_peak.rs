//! True-peak detector against analytic sine peaks (the peak of `A sin` is `A`, a number from
//! outside our code) and the EBU Tech 3341 true-peak cases.

use shared_dsp::meter::true_peak::TruePeakDetector;
use test_signals::Xorshift64;

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
fn other_rates_within_0_1_db_over_their_passband() {
    // Per-period readings over each rate's passband, min(20 kHz, 0.4535 fs).
    for &sr in &[22_050.0, 32_000.0, 88_200.0, 96_000.0, 192_000.0, 384_000.0] {
        let top = (0.4535f64 * sr).min(20_000.0);
        let (under, over) = worst_reading_db(sr, top);
        println!("{sr} Hz up to {top:.0} Hz: worst {under:.4} / {over:+.4} dB");
        assert!(under > -0.1 && over < 0.1, "{sr}: {under} {over}");
    }
}

#[test]
fn steady_tones_near_nyquist_read_their_peak() {
    // Above the passband the tone and its interpolation image beat, but a steady tone (50 ms)
    // still reaches its peak: the meter's running maximum must read it within 0.1 dB from
    // 20 kHz up to 21.5 kHz at 44.1 kHz and up to 23.5 kHz at 48 kHz.
    for &(sr, top) in &[(44_100.0f64, 21_500.0f64), (48_000.0, 23_500.0)] {
        let mut hz = 20_000.0;
        while hz <= top {
            for phase_step in 0..4 {
                let phase = phase_step as f64 * 0.39;
                let mut det = TruePeakDetector::new(sr);
                let n = (sr * 0.05) as usize;
                let x: Vec<f32> = (0..n)
                    .map(|i| {
                        let t = i as f64 / sr;
                        // 5 ms fade-in: no onset overshoot.
                        let env = (t / 0.005).min(1.0);
                        let env = 0.5 - 0.5 * (std::f64::consts::PI * env).cos();
                        (0.5 * env * (2.0 * std::f64::consts::PI * hz * t + phase).sin()) as f32
                    })
                    .collect();
                let db = 20.0 * (det.process_block_max(&x) as f64 / 0.5).log10();
                assert!(db.abs() < 0.1, "{sr} Hz, tone {hz} Hz: {db} dB");
            }
            hz += 250.0;
        }
    }
}

#[test]
fn block_kernel_matches_per_sample_path() {
    // The meter's block kernel and the limiter's per-sample path must give bit-identical
    // maxima, whatever the block split, at 4x/32 taps (44.1 kHz), 4x/20 (48 kHz), 2x and 8x.
    for &sr in &[44_100.0, 48_000.0, 96_000.0, 22_050.0] {
        let mut rng = Xorshift64(0x2545_f491_4f6c_dd1d);
        let x: Vec<f32> = (0..20_000)
            .map(|i| {
                let noise = rng.centred();
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

#[test]
fn per_sample_block_output_matches_process_sample() {
    for &sr in &[44_100.0, 48_000.0, 88_200.0] {
        let x: Vec<f32> = (0..5_000)
            .map(|i| ((i as f32 * 0.9).sin() + (i as f32 * 0.05).cos()) * 0.4)
            .collect();
        let mut a = TruePeakDetector::new(sr);
        let want: Vec<u32> = x.iter().map(|&v| a.process_sample(v).to_bits()).collect();
        for &block in &[1usize, 113, 4096] {
            let mut b = TruePeakDetector::new(sr);
            let mut out = vec![0.0f32; x.len()];
            for (i, o) in x.chunks(block).zip(out.chunks_mut(block)) {
                b.process_block(i, o);
            }
            let got: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "{sr} Hz block {block}");
        }
    }
}

#[test]
fn floor_variant_is_exact() {
    // process_block_max_above(x, floor) == max(floor, process_block_max(x)), bit for bit,
    // for floors below, near and above the block's peak.
    let x: Vec<f32> = (0..3_000)
        .map(|i| ((i as f32 * 1.3).sin() * (i as f32 * 0.002).cos()) * 0.7)
        .collect();
    for &floor in &[0.0f32, 0.3, 0.65, 0.69, 0.7, 0.71, 0.9] {
        for &block in &[1usize, 113, 4096] {
            let mut a = TruePeakDetector::new(48_000.0);
            let mut b = TruePeakDetector::new(48_000.0);
            for chunk in x.chunks(block) {
                let want = a.process_block_max(chunk).max(floor);
                let got = b.process_block_max_above(chunk, floor);
                assert_eq!(got.to_bits(), want.to_bits(), "floor {floor} block {block}");
            }
        }
    }
}
