//! Meter throughput, side by side with the `ebur128` crate (a port of libebur128) in the same
//! modes: momentary, short-term, integrated, loudness range and true peak, stereo 48 kHz,
//! 10 s of white noise fed in 4096-frame blocks. Throughput is in stereo frames, so
//! `x real time = (elements per second) / 48 000`. Also the per-sample true-peak detector
//! (mono frames) as the limiter uses it, and our meter read after every 512-frame block as the
//! Stem Master reads it (running integrated loudness and PLR, loudness range from its
//! percentile cursors: O(1) per gating block however often read).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ebur128::{EbuR128, Mode};
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::meter::programme::ProgrammeMeter;
use shared_dsp::meter::true_peak::{TruePeakDetector, TruePeakMeter};
use std::hint::black_box;
use test_signals::noise64;

const SAMPLE_RATE: u32 = 48_000;
const SECONDS: usize = 10;
const BLOCK: usize = 4096;

fn bench(c: &mut Criterion) {
    let frames = SAMPLE_RATE as usize * SECONDS;
    let left = noise64(frames, 0x1234_5678_9abc_def1, 0.5);
    let right = noise64(frames, 0x0fed_cba9_8765_4321, 0.5);

    let mut group = c.benchmark_group("meter_stereo_48k_10s");
    group.throughput(Throughput::Elements(frames as u64));
    group.sample_size(10);

    group.bench_function("ours_M_S_I_LRA_TP", |b| {
        let mut m = ProgrammeMeter::new(2, SAMPLE_RATE as f64);
        b.iter(|| {
            m.reset();
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                m.process_block(&[l, r]);
            }
            black_box((
                m.loudness().integrated_lufs(),
                m.loudness().loudness_range_lu(),
                m.loudness().max_short_term_lufs(),
                m.max_true_peak_dbtp(),
            ))
        })
    });

    // As a plugin reads it: every reading after every 512-frame host block.
    group.bench_function("ours_M_S_I_LRA_TP_read_every_512", |b| {
        let mut m = ProgrammeMeter::new(2, SAMPLE_RATE as f64);
        b.iter(|| {
            m.reset();
            let mut readings = 0.0;
            for (l, r) in left.chunks(512).zip(right.chunks(512)) {
                m.process_block(&[l, r]);
                readings += m.loudness().running_integrated_lufs()
                    + m.loudness().loudness_range_lu()
                    + m.loudness().momentary_lufs()
                    + m.running_plr_db();
            }
            black_box(readings)
        })
    });

    group.bench_function("ebur128_M_S_I_LRA_TP", |b| {
        let mut e = EbuR128::new(
            2,
            SAMPLE_RATE,
            Mode::M | Mode::S | Mode::I | Mode::LRA | Mode::TRUE_PEAK,
        )
        .unwrap();
        b.iter(|| {
            e.reset();
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                e.add_frames_planar_f32(&[l, r]).unwrap();
            }
            black_box((
                e.loudness_global().unwrap(),
                e.loudness_range().unwrap(),
                e.true_peak(0).unwrap(),
            ))
        })
    });

    group.bench_function("ours_M_S_I_LRA", |b| {
        let mut m = LoudnessMeter::new(2, SAMPLE_RATE as f64);
        b.iter(|| {
            m.reset();
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                m.process_block(&[l, r]);
            }
            black_box((m.integrated_lufs(), m.loudness_range_lu()))
        })
    });

    group.bench_function("ebur128_M_S_I_LRA", |b| {
        let mut e = EbuR128::new(2, SAMPLE_RATE, Mode::M | Mode::S | Mode::I | Mode::LRA).unwrap();
        b.iter(|| {
            e.reset();
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                e.add_frames_planar_f32(&[l, r]).unwrap();
            }
            black_box((e.loudness_global().unwrap(), e.loudness_range().unwrap()))
        })
    });

    group.bench_function("ours_true_peak_only", |b| {
        let mut m = TruePeakMeter::new(2, SAMPLE_RATE as f64);
        b.iter(|| {
            m.reset();
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                m.process_block(&[l, r]);
            }
            black_box(m.true_peak_dbtp())
        })
    });

    group.finish();

    // The per-sample detector as the true-peak limiter uses it: one channel, 10 s at 48 kHz.
    let mut group = c.benchmark_group("true_peak_detector_mono_48k_10s");
    group.throughput(Throughput::Elements(frames as u64));
    group.sample_size(10);
    group.bench_function("process_sample", |b| {
        let mut d = TruePeakDetector::new(SAMPLE_RATE as f64);
        b.iter(|| {
            d.reset();
            let mut acc = 0.0f32;
            for &x in &left {
                acc = acc.max(d.process_sample(x));
            }
            black_box(acc)
        })
    });
    group.bench_function("process_block_per_sample_output", |b| {
        let mut d = TruePeakDetector::new(SAMPLE_RATE as f64);
        let mut out = vec![0.0f32; BLOCK];
        b.iter(|| {
            d.reset();
            for chunk in left.chunks(BLOCK) {
                d.process_block(chunk, &mut out[..chunk.len()]);
            }
            black_box(out[0])
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
