//! Issue 19's speed goal: the codec preview (decode the encoding again, measure its loudness
//! and true peak) costs no more than the encoder's own time. A 30 s 48 kHz stereo master (the
//! demo's song, mixed, on the 24-bit grid) is encoded to each crate-built format and previewed;
//! criterion reports both per format, side by side (`encode/<format>` and `preview/<format>`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use stem_cli::audio::{write_wav_atomic, OutputFormat};
use stem_cli::codec::{encode, encoded_path, parse_formats};
use stem_cli::codec_preview::preview;
use stem_cli::demo::{stems_and_mix, DEMO_SAMPLE_RATE_HZ};
use stem_cli::file_report::analyse_file;

const SECONDS: f64 = 30.0;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (_, mix) = stems_and_mix(SECONDS);
    let wav = dir.path().join("master.wav");
    let refs: Vec<&[f32]> = mix.iter().map(Vec::as_slice).collect();
    write_wav_atomic(&wav, DEMO_SAMPLE_RATE_HZ, &refs, OutputFormat::Pcm24, &[]).unwrap();
    let (report, _, _) = analyse_file(&wav).unwrap();
    let formats = parse_formats(&["flac".into(), "mp3".into(), "vorbis".into()]).unwrap();
    let mut group = c.benchmark_group("codec_30s");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for format in &formats {
        let dest = encoded_path(&wav, format);
        let name = format.codec.name();
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| assert!(encode(&wav, format, &dest).path.is_some()))
        });
        let encoded = encode(&wav, format, &dest);
        group.bench_function(format!("preview/{name}"), |b| {
            b.iter(|| preview(&encoded, &wav, &report.figures, -1.0))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
