//! Dynamics throughput: compressor, multiband, true-peak limiter, oversampled saturation,
//! stereo tool and dither, stereo 48 kHz, 1 s of programme-like noise (loud and quiet halves, so
//! the dynamics units actually work) in 512-frame blocks, processed in place on a copy. Throughput
//! is in stereo frames, so `x real time = (elements per second) / 48 000`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared_dsp::dither::{Dither, DitherMode, DitherSettings};
use shared_dsp::dynamics::{
    Compressor, CompressorSettings, CompressorStyle, Detection, Limiter, LimiterSettings,
    MultibandCompressor, MultibandSettings,
};
use shared_dsp::meter::true_peak::TruePeakDetector;
use shared_dsp::saturation::{Saturation, SaturationMode, SaturationSettings};
use shared_dsp::stereo::{StereoSettings, StereoTool};
use std::hint::black_box;

const SAMPLE_RATE: f32 = 48_000.0;
const FRAMES: usize = 48_000;
const BLOCK: usize = 512;

fn programme(seed: u64) -> Vec<f32> {
    test_signals::programme(seed, FRAMES, 1.6, 0.1)
}

/// Runs `f` over the whole signal in blocks.
fn run_blocks(l: &mut [f32], r: &mut [f32], mut f: impl FnMut(&mut [f32], &mut [f32])) {
    for (cl, cr) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
        f(cl, cr);
    }
}

fn bench(c: &mut Criterion) {
    let left = programme(0x1234_5678_9abc_def1);
    let right = programme(0x0fed_cba9_8765_4321);
    let mut l = left.clone();
    let mut r = right.clone();

    let mut group = c.benchmark_group("dynamics_stereo_48k_1s");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.sample_size(10);

    let mut comp = Compressor::new(2, SAMPLE_RATE);
    comp.set_sample_rate(f64::from(SAMPLE_RATE));
    comp.set_settings(CompressorSettings::bass_vca());
    let mut comp_plain = Compressor::new(2, SAMPLE_RATE);
    comp_plain.set_sample_rate(f64::from(SAMPLE_RATE));
    comp_plain.set_settings(CompressorSettings {
        threshold_db: -20.0,
        ratio: 4.0,
        ..CompressorSettings::default()
    });
    let mut comp_full = Compressor::new(2, SAMPLE_RATE);
    comp_full.set_sample_rate(f64::from(SAMPLE_RATE));
    comp_full.set_settings(CompressorSettings {
        style: CompressorStyle::Opto,
        detection: Detection::Rms,
        lookahead_ms: 2.0,
        mix_percent: 50.0,
        sidechain_hpf_hz: 80.0,
        ..CompressorSettings::default()
    });
    let mut mb = MultibandCompressor::new(2, SAMPLE_RATE);
    mb.set_sample_rate(f64::from(SAMPLE_RATE));
    mb.set_settings(MultibandSettings::vocal_low_mid());
    let mut lim = Limiter::new(2, SAMPLE_RATE);
    lim.set_sample_rate(f64::from(SAMPLE_RATE));
    lim.set_settings(LimiterSettings {
        input_gain_db: 6.0,
        ..LimiterSettings::default()
    });
    let sat_settings = |mode, oversampling| SaturationSettings {
        mode,
        oversampling,
        ..SaturationSettings::default()
    };
    let mut tape4 = Saturation::new(2, sat_settings(SaturationMode::Tape, 4));
    tape4.set_sample_rate(f64::from(SAMPLE_RATE));
    let mut tape2 = Saturation::new(2, sat_settings(SaturationMode::Tape, 2));
    tape2.set_sample_rate(f64::from(SAMPLE_RATE));
    let mut clip4 = Saturation::new(2, sat_settings(SaturationMode::SoftClip, 4));
    clip4.set_sample_rate(f64::from(SAMPLE_RATE));
    // Above 6 dB of drive the 4x path runs its 8x anti-aliased (ADAA) curve.
    let driven = |mode| SaturationSettings {
        drive_db: 24.0,
        ..sat_settings(mode, 4)
    };
    let mut tape4_driven = Saturation::new(2, driven(SaturationMode::Tape));
    tape4_driven.set_sample_rate(f64::from(SAMPLE_RATE));
    let mut clip4_driven = Saturation::new(2, driven(SaturationMode::SoftClip));
    clip4_driven.set_sample_rate(f64::from(SAMPLE_RATE));
    let mut stereo = StereoTool::new();
    stereo.set_sample_rate(f64::from(SAMPLE_RATE));
    stereo.set_settings(StereoSettings {
        width_percent: 130.0,
        mono_below_hz: 100.0,
        balance_percent: 0.0,
    });
    let mut dither = Dither::new(2);
    dither.set_settings(DitherSettings {
        mode: DitherMode::NoiseShaped,
        bits: 16,
    });

    let mut det_l = TruePeakDetector::new(44_100.0);
    let mut det_r = TruePeakDetector::new(44_100.0);

    let mut bench_unit = |name: &str, f: &mut dyn FnMut(&mut [f32], &mut [f32])| {
        group.bench_function(name, |b| {
            b.iter(|| {
                l.copy_from_slice(&left);
                r.copy_from_slice(&right);
                run_blocks(&mut l, &mut r, &mut *f);
                black_box((l[FRAMES - 1], r[FRAMES - 1]))
            })
        });
    };

    bench_unit("compressor_clean_peak", &mut |a, b| {
        comp_plain.process_block(&mut [a, b])
    });
    bench_unit("compressor_bass_vca_sc_hpf", &mut |a, b| {
        comp.process_block(&mut [a, b])
    });
    bench_unit("compressor_opto_rms_lookahead_mix_hpf", &mut |a, b| {
        comp_full.process_block(&mut [a, b])
    });
    bench_unit("multiband_3_bands", &mut |a, b| {
        mb.process_block(&mut [a, b])
    });
    bench_unit("true_peak_limiter", &mut |a, b| {
        lim.process_block(&mut [a, b])
    });
    // The limiter's share that is the meter's interpolator (same design, two channels), to
    // show where the limiter's time goes.
    bench_unit("reference_meter_true_peak_detectors_only", &mut |a, b| {
        let mut m = 0.0f32;
        for (&x, &y) in a.iter().zip(b.iter()) {
            m = m.max(det_l.process_sample(x)).max(det_r.process_sample(y));
        }
        a[0] = m;
    });
    bench_unit("saturation_tape_4x", &mut |a, b| {
        tape4.process_block(&mut [a, b])
    });
    bench_unit("saturation_tape_2x", &mut |a, b| {
        tape2.process_block(&mut [a, b])
    });
    bench_unit("saturation_softclip_4x", &mut |a, b| {
        clip4.process_block(&mut [a, b])
    });
    bench_unit("saturation_tape_4x_drive24", &mut |a, b| {
        tape4_driven.process_block(&mut [a, b])
    });
    bench_unit("saturation_softclip_4x_drive24", &mut |a, b| {
        clip4_driven.process_block(&mut [a, b])
    });
    bench_unit("stereo_width_mono_below", &mut |a, b| {
        stereo.process_block(a, b)
    });
    bench_unit("dither_noise_shaped_16", &mut |a, b| {
        dither.process_block(&mut [a, b])
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
