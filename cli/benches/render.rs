//! The speed goal: five 4-minute 48 kHz stereo stems (the demo's synthetic song) through
//! the Stem Channel chains, summed, through the Stem Master chain with the limiter-drive search,
//! to three masters (streaming, club, vinyl) with the demo preset. Stems from memory, masters
//! drained block by block: file reading and writing are not part of this figure, but the
//! render's temporary float spools are (`time stem render ...` on the demo's files measures the
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
use stem_cli::stream::StemSource;

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
    let sources: Vec<StemSource> = audio
        .iter()
        .map(|a| StemSource::Memory(std::sync::Arc::new(a.clone())))
        .collect();
    let frames = audio.iter().map(Audio::frames).max().unwrap_or(0);
    let spool_dir = tempfile::tempdir().expect("a temporary folder");
    let drain = |_: &stem_cli::plan::Delivery, mut m: stem_cli::mastering::MasterStream| {
        let mut block = [Vec::new(), Vec::new()];
        let mut peak = 0.0f32;
        while m.read_block(&mut block)? > 0 {
            peak = block.iter().flatten().fold(peak, |p, x| p.max(x.abs()));
        }
        Ok((m.drive_db, peak))
    };

    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(60));
    // Throughput in seconds of programme: criterion's "elem/s" reads as x real time.
    group.throughput(Throughput::Elements(SECONDS as u64));
    group.bench_function("five_4min_stems_to_three_masters", |b| {
        b.iter(|| {
            black_box(
                render_masters(
                    &sources,
                    frames,
                    DEMO_SAMPLE_RATE_HZ,
                    &plan,
                    spool_dir.path(),
                    &progress,
                    false,
                    drain,
                )
                .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
