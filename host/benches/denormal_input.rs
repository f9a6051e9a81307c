//! Denormal input costs no more than normal input (issue 14): each plugin's release CLAP
//! bundle (`cargo xtask bundle` first; skipped with a message without it) processes one second
//! of stereo 48 kHz audio in 512-sample blocks through our CLAP host, once fed two tones at
//! about -20 dBFS and once fed subnormal samples only (±1e-39, a decaying tail as a
//! host may deliver it), with the sections that keep recursive state switched on. Prints the
//! median time of each over interleaved rounds and their ratio (goal: at most 1.1; before the
//! wrapper set DAZ as well as FTZ, clap-validator measured up to 22.8x on Stem Channel).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use stem_host::clap::ClapHost;
use stem_host::{BlockSchedule, PluginHost};

const SR: f64 = 48_000.0;
const FRAMES: usize = 48_000;
const ROUNDS: usize = 15;

/// Two inharmonic tones at about -20 dBFS together: normal-range samples that keep every
/// section's filters and detectors working.
fn tones(phase: f64) -> Vec<f32> {
    let w = |hz: f64| 2.0 * std::f64::consts::PI * hz / SR;
    (0..FRAMES)
        .map(|n| {
            let n = n as f64;
            (0.07 * (w(110.0) * n + phase).sin() + 0.03 * (w(3_170.0) * n).sin()) as f32
        })
        .collect()
}

fn subnormal() -> Vec<f32> {
    (0..FRAMES)
        .map(|n| if n % 2 == 0 { 1e-39 } else { -1e-39 })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bundled");
    let normal = [tones(0.0), tones(1.0)];
    let tiny = [subnormal(), subnormal()];
    for (plugin, switches) in [
        (
            "Stem Channel",
            &["EQ On", "Compressor On", "Saturation On"][..],
        ),
        ("Stem Master", &["Glue", "EQ", "Width"][..]),
    ] {
        let path = dir.join(format!("{plugin}.clap"));
        if !path.is_file() {
            println!(
                "{plugin}: no release bundle at {} (run `cargo xtask bundle`)",
                path.display()
            );
            continue;
        }
        let mut host = ClapHost::load(&path).expect("load");
        let params = host.params().expect("params");
        for name in switches {
            if let Some(p) = params.iter().find(|p| p.name == *name) {
                host.set_param_value(p.id, p.max_value).expect("switch on");
            }
        }
        host.activate(SR, 512).expect("activate");
        let schedule = BlockSchedule::Fixed(512);
        let mut run = |input: &[Vec<f32>; 2]| {
            let start = Instant::now();
            let out = host
                .process([&input[0], &input[1]], &schedule, &[])
                .expect("process");
            std::hint::black_box(out);
            start.elapsed()
        };
        // Warm-up, then interleaved rounds so machine load affects both alike.
        run(&normal);
        run(&tiny);
        let (mut normal_times, mut tiny_times) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            normal_times.push(run(&normal));
            tiny_times.push(run(&tiny));
        }
        let (a, b) = (median(normal_times), median(tiny_times));
        println!(
            "{plugin}: 1 s stereo 48 kHz, normal input {:.2} ms, subnormal input {:.2} ms, \
             ratio {:.2} (goal <= 1.1; clap-validator saw up to 22.8 before DAZ)",
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
