//! Stem Master chain throughput, stereo 48 kHz: 1 s of programme-like noise (loud and quiet
//! halves, so the glue and the limiter work) in 512-frame blocks, processed in place on a copy.
//! Throughput is in stereo frames, so `x real time = (elements per second) / 48 000`.
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID` on Linux), not wall
//! time: on a shared build machine the wall clock also counts the time other processes had
//! the core, which says nothing about this code. Elsewhere it falls back to wall time.
//!
//! - `whole_chain`: the configuration: glue, linear-phase EQ at the default quality
//!   (Medium, 16k taps) with four bands (one mid, one side, so all four FIR paths run), width
//!   with mono bass, true-peak limiter driven +6 dB, and the output programme meter (always on);
//! - `whole_chain_low_quality`: the same with the 4k-tap EQ;
//! - `sections_bypassed`: every section off (delays, meter and compare path only), the
//!   chain's fixed overhead;
//! - `eq_only` and `limiter_only`: one section on, to show where the time goes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared_dsp::chain::master::MasterChain;
use shared_dsp::chain::settings::{MasterSettings, MASTER_EQ_BANDS};
use shared_dsp::eq::{BandKind, BandSettings, LinearPhaseQuality, Placement};
use shared_dsp::stereo::StereoSettings;
use std::hint::black_box;
use std::time::Duration;
use test_signals::cpu_time::thread_cpu_time;

const SAMPLE_RATE: f64 = 48_000.0;
const FRAMES: usize = 48_000;
const BLOCK: usize = 512;

fn programme(seed: u64) -> Vec<f32> {
    test_signals::programme(seed, FRAMES, 1.6, 0.1)
}

fn full(quality: LinearPhaseQuality) -> MasterSettings {
    let mut bands = [BandSettings::default(); MASTER_EQ_BANDS];
    bands[0] = BandSettings::new(BandKind::HighPass, 25.0, 0.0, 0.707);
    bands[1] = BandSettings::bell(250.0, -0.8, 1.0);
    bands[2] = BandSettings {
        placement: Placement::Mid,
        ..BandSettings::bell(3_000.0, -1.0, 1.2)
    };
    bands[3] = BandSettings {
        placement: Placement::Side,
        ..BandSettings::new(BandKind::HighShelf, 8_000.0, 1.5, 0.707)
    };
    let mut s = MasterSettings {
        glue_enabled: true,
        eq_enabled: true,
        eq_bands: bands,
        eq_mode: quality.into(),
        width_enabled: true,
        stereo: StereoSettings {
            width_percent: 110.0,
            mono_below_hz: 120.0,
            balance_percent: 0.0,
        },
        limiter_enabled: true,
        ..MasterSettings::default()
    };
    s.glue.threshold_db = -14.0;
    s.limiter.input_gain_db = 6.0;
    s
}

fn bench(c: &mut Criterion) {
    let left = programme(0x1234_5678_9abc_def1);
    let right = programme(0x0fed_cba9_8765_4321);
    let mut l = left.clone();
    let mut r = right.clone();

    let mut group = c.benchmark_group("master_chain_stereo_48k_1s");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.sample_size(10);

    let bypassed = MasterSettings {
        limiter_enabled: false,
        ..MasterSettings::default()
    };
    let eq_only = MasterSettings {
        glue_enabled: false,
        width_enabled: false,
        limiter_enabled: false,
        ..full(LinearPhaseQuality::Medium)
    };
    let limiter_only = MasterSettings {
        glue_enabled: false,
        eq_enabled: false,
        width_enabled: false,
        ..full(LinearPhaseQuality::Medium)
    };
    for (name, settings) in [
        ("whole_chain", full(LinearPhaseQuality::Medium)),
        ("whole_chain_low_quality", full(LinearPhaseQuality::Low)),
        ("sections_bypassed", bypassed),
        ("eq_only", eq_only),
        ("limiter_only", limiter_only),
    ] {
        let mut chain = MasterChain::new(BLOCK, SAMPLE_RATE);
        chain.set_settings(&settings);
        chain.finish_design_now();
        chain.reset();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    l.copy_from_slice(&left);
                    r.copy_from_slice(&right);
                    let start = thread_cpu_time();
                    for (cl, cr) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
                        chain.process_block(cl, cr);
                    }
                    total += thread_cpu_time() - start;
                    black_box((&l, &r));
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
