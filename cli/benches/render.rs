//! The speed goal: five 4-minute 48 kHz stereo stems (the demo's synthetic song) through
//! the Stem Channel chains, summed, through the Stem Master chain with the limiter-drive search,
//! to three masters (streaming, club, vinyl) with the demo preset. In memory: file reading and
//! writing are not part of this figure (`time stem render ...` on the demo's files measures the
//! whole command). Criterion reports the time per job; x real time = 240 s / that time.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stem_cli::audio::Audio;
use stem_cli::demo::{stems_and_mix, DEMO_PRESET, DEMO_SAMPLE_RATE_HZ};
use stem_cli::mastering::render_masters;
use stem_cli::plan::plan;
use stem_cli::preset::Preset;
use stem_cli::progress::Progress;
use stem_cli::role::Role;

const SECONDS: f64 = 240.0;

fn bench(c: &mut Criterion) {
    let (stems, _mix) = stems_and_mix(SECONDS);
    let audio: Vec<Audio> = stems
        .into_iter()
        .map(|(name, ch)| Audio::new(name, DEMO_SAMPLE_RATE_HZ, ch.to_vec()))
        .collect();
    let toml: toml::Value = toml::from_str(DEMO_PRESET).expect("demo preset parses");
    let preset = Preset::from_value(serde_json::to_value(toml).unwrap()).unwrap();
    let roles: Vec<_> = audio
        .iter()
        .map(|a| (a.path.clone(), Role::from_path(&a.path)))
        .collect();
    let deliveries: Vec<String> = ["streaming", "club", "vinyl"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let plan = plan(&preset, &roles, &deliveries).unwrap();
    let progress = Progress::new(false);

    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(60));
    // Throughput in seconds of programme: criterion's "elem/s" reads as x real time.
    group.throughput(Throughput::Elements(SECONDS as u64));
    group.bench_function("five_4min_stems_to_three_masters", |b| {
        b.iter(|| black_box(render_masters(&audio, &plan, &progress).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
