//! EQ throughput, stereo 48 kHz, 1 s of noise fed in 512-frame blocks. Throughput is in
//! stereo frames, so `x real time = (elements per second) / 48 000`.
//!
//! - `min_phase_8_bands`: the 8-band minimum-phase EQ with a typical mastering set (static).
//! - `min_phase_8_bands_automated`: the same with two bands automated every block and one
//!   dynamic band (the fast-design and coefficient-interpolation path).
//! - `linear_phase_{low,medium,high}`: the linear-phase EQ (4096 / 16384 / 65536 taps).
//! - `fft_pair_reference_*`: just one forward and one inverse real FFT per channel per hop at
//!   each quality's sizes, the floor a partitioned convolver cannot go below. Hops are counted
//!   across iterations exactly as the EQ does (48 000 / 16 384 = 2.93 hops per second at
//!   High, not a truncated 2), so the ratio of the two benches is the EQ's cost in FFT pairs.
//! - `design_*`: the cost of one band design (per call).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use realfft::RealFftPlanner;
use shared_dsp::eq::{
    BandKind, BandSettings, DynamicSettings, LinearPhaseEq, LinearPhaseQuality, ParametricEq,
};
use shared_dsp::filter::{CascadeCoefs, Precision, Shape, Slope};
use std::hint::black_box;
use test_signals::noise64;

const SR: f64 = 48_000.0;
const BLOCK: usize = 512;

fn eight_bands() -> [BandSettings; 8] {
    [
        BandSettings {
            slope: Slope::Db24,
            ..BandSettings::new(
                BandKind::HighPass,
                35.0,
                0.0,
                std::f32::consts::FRAC_1_SQRT_2,
            )
        },
        BandSettings::new(
            BandKind::LowShelf,
            100.0,
            -1.5,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
        BandSettings::bell(250.0, -2.0, 1.2),
        BandSettings::bell(800.0, 1.0, 0.8),
        BandSettings::bell(3_000.0, -2.5, 3.0),
        BandSettings::bell(6_500.0, -1.5, 4.0),
        BandSettings::new(
            BandKind::HighShelf,
            14_000.0,
            1.5,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
        BandSettings::new(
            BandKind::Tilt,
            1_000.0,
            0.5,
            std::f32::consts::FRAC_1_SQRT_2,
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let frames = SR as usize;
    let left = noise64(frames, 0x1234_5678_9abc_def1, 0.5);
    let right = noise64(frames, 0x0fed_cba9_8765_4321, 0.5);
    let mut l = left.clone();
    let mut r = right.clone();

    let mut group = c.benchmark_group("eq_stereo_48k_1s");
    group.throughput(Throughput::Elements(frames as u64));
    group.sample_size(10);

    group.bench_function("min_phase_8_bands", |b| {
        let mut eq = ParametricEq::new(SR);
        eq.set_sample_rate(SR);
        for (i, s) in eight_bands().iter().enumerate() {
            eq.set_band_immediately(i, *s);
        }
        b.iter(|| {
            l.copy_from_slice(&left);
            r.copy_from_slice(&right);
            for (cl, cr) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
                eq.process_block(cl, cr);
            }
            black_box(&l);
        })
    });

    group.bench_function("min_phase_8_bands_automated", |b| {
        let mut eq = ParametricEq::new(SR);
        eq.set_sample_rate(SR);
        let bands = eight_bands();
        for (i, s) in bands.iter().enumerate() {
            eq.set_band_immediately(i, *s);
        }
        let mut dynamic = bands[2];
        dynamic.dynamic = DynamicSettings {
            enabled: true,
            threshold_db: -30.0,
            range_db: -4.0,
            attack_ms: 5.0,
            release_ms: 80.0,
        };
        eq.set_band(2, dynamic);
        let mut t = 0usize;
        b.iter(|| {
            l.copy_from_slice(&left);
            r.copy_from_slice(&right);
            for (cl, cr) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
                t += 1;
                let wobble = ((t as f32) * 0.05).sin();
                eq.set_band(
                    3,
                    BandSettings::bell(800.0 * (1.0 + 0.5 * wobble), 1.0, 0.8),
                );
                eq.set_band(5, BandSettings::bell(6_500.0, -1.5 + wobble, 4.0));
                eq.process_block(cl, cr);
            }
            black_box(&l);
        })
    });

    for (name, quality) in [
        ("linear_phase_low_4096", LinearPhaseQuality::Low),
        ("linear_phase_medium_16384", LinearPhaseQuality::Medium),
        ("linear_phase_high_65536", LinearPhaseQuality::High),
    ] {
        group.bench_function(name, |b| {
            let mut eq = LinearPhaseEq::new(SR, SR);
            eq.set_quality(quality);
            eq.set_sample_rate(SR);
            eq.set_bands(&eight_bands());
            eq.finish_design_now();
            b.iter(|| {
                l.copy_from_slice(&left);
                r.copy_from_slice(&right);
                for (cl, cr) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
                    eq.process_block(cl, cr);
                }
                black_box(&l);
            })
        });
    }
    for (name, quality) in [
        ("fft_pair_reference_low", LinearPhaseQuality::Low),
        ("fft_pair_reference_medium", LinearPhaseQuality::Medium),
        ("fft_pair_reference_high", LinearPhaseQuality::High),
    ] {
        let hop = quality.taps(SR) / 4;
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(2 * hop);
        let inv = planner.plan_fft_inverse(2 * hop);
        let mut time = fwd.make_input_vec();
        let mut spec = fwd.make_output_vec();
        let mut scratch = fwd.make_scratch_vec();
        let mut iscratch = inv.make_scratch_vec();
        // Samples fed since the last hop, carried across iterations like the EQ's position.
        let mut pending = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                pending += frames;
                while pending >= hop {
                    pending -= hop;
                    for _channel in 0..2 {
                        time.copy_from_slice(&left[..2 * hop]);
                        let _ = fwd.process_with_scratch(&mut time, &mut spec, &mut scratch);
                        spec[0].im = 0.0;
                        spec[hop].im = 0.0;
                        let _ = inv.process_with_scratch(&mut spec, &mut time, &mut iscratch);
                    }
                }
                black_box(&time);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("eq_design");
    group.sample_size(20);
    let shape = Shape::Bell {
        hz: 9_000.0,
        q: 1.0,
        gain_db: 4.0,
    };
    group.bench_function("matched_bell", |b| {
        b.iter(|| {
            black_box(CascadeCoefs::design(
                SR,
                black_box(shape),
                Precision::Matched,
            ))
        })
    });
    group.bench_function("fast_bell", |b| {
        b.iter(|| black_box(CascadeCoefs::design(SR, black_box(shape), Precision::Fast)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
