//! Multiband compressor: with every band at unity the Linkwitz-Riley tree sums to an allpass,
//! so the impulse response's magnitude is flat within 0.01 dB (FFT of the impulse response);
//! a compressed band acts only on its own frequency range.

use realfft::RealFftPlanner;
use shared_dsp::dynamics::{MultibandCompressor, MultibandSettings};

const FS: f32 = 48_000.0;

#[test]
fn unity_bands_sum_flat_within_0_01_db() {
    for num_bands in 2..=4 {
        for lookahead_ms in [0.0f32, 2.0] {
            let mut mb = MultibandCompressor::new(2, FS);
            mb.set_sample_rate(f64::from(FS));
            mb.set_settings(MultibandSettings {
                num_bands,
                crossover_hz: [80.0, 900.0, 6000.0],
                lookahead_ms,
                ..MultibandSettings::default()
            });
            let n = 1 << 15;
            let mut l = vec![0.0f32; n];
            l[0] = 1.0;
            let mut r = l.clone();
            let mut chans: [&mut [f32]; 2] = [&mut l, &mut r];
            mb.process_block(&mut chans);
            let mut planner = RealFftPlanner::<f64>::new();
            let fft = planner.plan_fft_forward(n);
            let mut t: Vec<f64> = l.iter().map(|&v| v as f64).collect();
            let mut s = fft.make_output_vec();
            fft.process(&mut t, &mut s).unwrap();
            let worst = s
                .iter()
                .skip(1)
                .map(|c| (20.0 * c.norm().log10()).abs())
                .fold(0.0f64, f64::max);
            println!(
                "{num_bands} bands, lookahead {lookahead_ms} ms: worst deviation {worst:.5} dB"
            );
            assert!(worst < 0.01, "{num_bands} bands: {worst} dB");
            // The lookahead is the latency: nothing arrives before it.
            let lat = mb.latency_samples();
            assert!(l[..lat].iter().all(|&v| v == 0.0));
            assert_eq!(lat, (lookahead_ms * 48.0).round() as usize);
        }
    }
}

#[test]
fn sub_band_compression_leaves_the_upper_band_alone() {
    let measure = |hz: f64| {
        let mut mb = MultibandCompressor::new(2, FS);
        mb.set_sample_rate(f64::from(FS));
        mb.set_settings(MultibandSettings::bass_sub_control());
        let x: Vec<f32> = (0..96_000)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / FS as f64).sin()) as f32)
            .collect();
        let mut l = x.clone();
        let mut r = x.clone();
        let mut chans: [&mut [f32]; 2] = [&mut l, &mut r];
        mb.process_block(&mut chans);
        let rms = |v: &[f32]| {
            (v.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        20.0 * (rms(&l[48_000..]) / rms(&x[48_000..])).log10()
    };
    let sub = measure(35.0);
    let mid = measure(1000.0);
    println!("35 Hz: {sub:.2} dB, 1 kHz: {mid:.3} dB");
    assert!(sub < -4.0, "sub only reduced by {sub} dB");
    assert!(mid.abs() < 0.05, "1 kHz changed by {mid} dB");
}
