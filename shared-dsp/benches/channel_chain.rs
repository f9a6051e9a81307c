//! Stem Channel chain throughput: every section on (8 EQ bands, two of them dynamic, one mid and
//! one side; compressor with sidechain high-pass and parallel mix; mid/side width, mono bass and
//! balance; tape saturation at 4x; gain match), stereo 48 kHz, 1 s of programme-like noise
//! (loud and quiet halves, so the dynamics work) in 512-frame blocks. Throughput is in stereo
//! frames, so `x real time = (elements per second) / 48 000`; the goal is 300x (five stems under
//! 2 % of one core). Also the multiband mode, the same chain with static EQ bands and the
//! transparent default (with and without the loudness readout) and the Drums starting point
//! for comparison.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::settings::{ChannelSettings, DynamicsMode, StemType};
use shared_dsp::eq::{BandKind, BandSettings, DynamicSettings, Placement};
use shared_dsp::filter::Slope;
use std::hint::black_box;

const SAMPLE_RATE: f64 = 48_000.0;
const FRAMES: usize = 48_000;
const BLOCK: usize = 512;

fn programme(seed: u64) -> Vec<f32> {
    test_signals::programme(seed, FRAMES, 0.8, 0.05)
}

/// Every section on, as the benchmark asks.
fn everything_on() -> ChannelSettings {
    let mut s = ChannelSettings::for_stem(StemType::Drums);
    let dynamic = DynamicSettings {
        enabled: true,
        threshold_db: -30.0,
        range_db: -4.0,
        ..DynamicSettings::default()
    };
    s.eq_bands = [
        BandSettings {
            slope: Slope::Db24,
            ..BandSettings::new(BandKind::HighPass, 35.0, 0.0, 0.7)
        },
        BandSettings::new(BandKind::LowShelf, 100.0, -1.0, 0.7),
        BandSettings {
            dynamic,
            ..BandSettings::bell(250.0, -1.5, 1.0)
        },
        BandSettings {
            placement: Placement::Mid,
            ..BandSettings::bell(800.0, 1.0, 1.0)
        },
        BandSettings {
            dynamic,
            ..BandSettings::bell(3_000.0, 0.0, 2.0)
        },
        BandSettings::bell(6_000.0, 1.0, 1.0),
        BandSettings {
            placement: Placement::Side,
            ..BandSettings::new(BandKind::HighShelf, 12_000.0, 1.5, 0.7)
        },
        BandSettings::new(BandKind::LowPass, 20_000.0, 0.0, 0.7),
    ];
    s.compressor_enabled = true;
    s.compressor.sidechain_hpf_hz = 60.0;
    s.stereo_enabled = true;
    s.stereo.width_percent = 120.0;
    s.stereo.mono_below_hz = 100.0;
    s.stereo.balance_percent = 5.0;
    s.saturation_enabled = true;
    s.saturation.oversampling = 4;
    s.gain_match = true;
    s
}

fn bench(c: &mut Criterion) {
    let left = programme(0x1234_5678_9abc_def1);
    let right = programme(0x0fed_cba9_8765_4321);
    let mut group = c.benchmark_group("channel_chain_stereo_48k_1s");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.sample_size(20);

    let mut multiband = everything_on();
    multiband.dynamics_mode = DynamicsMode::Multiband;
    multiband.multiband.num_bands = 3;
    // The same without the two dynamic EQ bands: a dynamic band keeps the EQ off its
    // pipelined static path, which is most of the difference.
    let mut static_eq = everything_on();
    for b in static_eq.eq_bands.iter_mut() {
        b.dynamic.enabled = false;
    }
    for (name, settings) in [
        ("everything_on", everything_on()),
        ("everything_on_static_eq", static_eq),
        ("everything_on_multiband", multiband),
        // The other Stem Channel goal (>= 400x through a CLAP host).
        (
            "drums_starting_point",
            ChannelSettings::for_stem(StemType::Drums),
        ),
        ("transparent_default", ChannelSettings::default()),
        ("transparent_default_no_readout", ChannelSettings::default()),
    ] {
        let mut chain = ChannelChain::new(BLOCK, SAMPLE_RATE);
        // What the plugin does while its editor is closed.
        chain.set_loudness_readout(!name.ends_with("no_readout"));
        chain.set_settings(&settings);
        let mut l = left.clone();
        let mut r = right.clone();
        group.bench_function(name, |b| {
            b.iter(|| {
                l.copy_from_slice(&left);
                r.copy_from_slice(&right);
                for (cl, cr) in l.chunks_mut(BLOCK).zip(r.chunks_mut(BLOCK)) {
                    chain.process_block(cl, cr);
                }
                black_box((&l, &r));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
