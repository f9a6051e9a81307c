//! Plugin throughput beside the open-source plugins each figure answers (issue 21), measured in
//! the same run on the same machine, so each ratio is one run's whatever the machine's load.
//!
//! Ours: each release CLAP bundle (`cargo xtask bundle` first) through our host, `process()` on
//! the calling thread in 512-sample blocks, timed in that thread's CPU time. Anchors: LV2
//! plugins (`apt-get install lv2file x42-plugins lsp-plugins-lv2`) through the small lilv host
//! of `lv2_host.rs`, each in a child process, its `run()` calls timed in the child's thread CPU
//! time, 512-sample blocks too. Both run the same programme (30 s, 48 kHz stereo,
//! `test_signals::programme`), the median of five rounds. An anchor chain ("A + B") is the sum
//! of its plugins' times. Every figure is x real time (audio seconds per CPU second); an anchor
//! that cannot run prints why instead, and the bench carries on. Arguments filter the cases by
//! label (`-- "Stem Master"`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use shared_dsp::chain::settings::{ChannelSettings, StemType};
use shared_dsp::eq::DynamicSettings;
use stem_host::clap::ClapHost;
use stem_host::{BlockSchedule, PluginHost};
use test_signals::cpu_time::thread_cpu_time;

#[path = "../tests/support/mod.rs"]
mod support;

mod lv2_host;

const SR: f64 = 48_000.0;
const SECONDS: usize = 30;
const BLOCK: usize = 512;
const ROUNDS: usize = 5;

/// One LV2 plugin as the anchors' host runs it: label, URI, control values.
struct Lv2 {
    label: &'static str,
    uri: &'static str,
    controls: &'static [(&'static str, f32)],
}

const X42_METER: Lv2 = Lv2 {
    label: "x42 EBU R128 meter",
    uri: "http://gareus.org/oss/lv2/meters#EBUr128",
    controls: &[],
};
/// x42's Digital Peak Limiter in true-peak mode with a -1 dB threshold (our default ceiling).
const X42_DPL: Lv2 = Lv2 {
    label: "x42 dpl (true peak)",
    uri: "http://gareus.org/oss/lv2/dpl#stereo",
    controls: &[("truepeak", 1.0), ("threshold", -1.0)],
};
/// LSP Limiter with 4x oversampling ("Full x4(2L)"), as the issue compared.
const LSP_LIMITER: Lv2 = Lv2 {
    label: "LSP Limiter x4",
    uri: "http://lsp-plug.in/plugins/lv2/limiter_stereo",
    controls: &[("ovs", 15.0)],
};
/// LSP Parametric EQ, IIR, eight bells (+2 dB, gains are linear) as a starting point uses.
const LSP_PARA_EQ: Lv2 = Lv2 {
    label: "LSP Para EQ (8 bells, IIR)",
    uri: "http://lsp-plug.in/plugins/lv2/para_equalizer_x16_stereo",
    controls: &[
        ("ft_0", 1.0),
        ("f_0", 60.0),
        ("g_0", 1.26),
        ("ft_1", 1.0),
        ("f_1", 150.0),
        ("g_1", 1.26),
        ("ft_2", 1.0),
        ("f_2", 300.0),
        ("g_2", 1.26),
        ("ft_3", 1.0),
        ("f_3", 700.0),
        ("g_3", 1.26),
        ("ft_4", 1.0),
        ("f_4", 1_500.0),
        ("g_4", 1.26),
        ("ft_5", 1.0),
        ("f_5", 3_000.0),
        ("g_5", 1.26),
        ("ft_6", 1.0),
        ("f_6", 6_000.0),
        ("g_6", 1.26),
        ("ft_7", 1.0),
        ("f_7", 12_000.0),
        ("g_7", 1.26),
    ],
};
const LSP_COMPRESSOR: Lv2 = Lv2 {
    label: "LSP Compressor",
    uri: "http://lsp-plug.in/plugins/lv2/compressor_stereo",
    controls: &[],
};

/// How our plugin is set up before it runs.
enum Setup {
    /// Stem Master parameters by name, wire values.
    Master(&'static [(&'static str, f64)]),
    /// Stem Channel settings, applied through the plugin's parameter mapping.
    Channel(fn() -> ChannelSettings),
}

/// One line of the printout: our configuration, its goal, and the anchors it answers.
struct Case {
    label: &'static str,
    plugin: &'static str,
    setup: Setup,
    goal_x: f64,
    anchors: &'static [&'static [&'static Lv2]],
}

/// The Drums starting point with every section on: eight bands, six of them dynamic, the
/// compressor, mid/side width, tape at 4x and gain match (the "everything on").
fn everything_on() -> ChannelSettings {
    let mut s = ChannelSettings::for_stem(StemType::Drums);
    let dynamic = DynamicSettings {
        enabled: true,
        threshold_db: -30.0,
        range_db: -4.0,
        ..DynamicSettings::default()
    };
    for (i, band) in s.eq_bands.iter_mut().enumerate() {
        band.enabled = true;
        if (1..7).contains(&i) {
            band.dynamic = dynamic;
        }
    }
    s.compressor_enabled = true;
    s.stereo_enabled = true;
    s.stereo.width_percent = 120.0;
    s.stereo.mono_below_hz = 100.0;
    s.saturation_enabled = true;
    s.saturation.oversampling = 4;
    s.gain_match = true;
    s
}

fn drums() -> ChannelSettings {
    ChannelSettings::for_stem(StemType::Drums)
}

const CASES: [Case; 4] = [
    Case {
        label: "Stem Master, meters only (limiter off)",
        plugin: "Stem Master",
        setup: Setup::Master(&[("Limiter", 0.0)]),
        goal_x: 1_000.0,
        anchors: &[&[&X42_METER]],
    },
    Case {
        label: "Stem Master, defaults (true-peak limiter, meters)",
        plugin: "Stem Master",
        setup: Setup::Master(&[]),
        goal_x: 250.0,
        anchors: &[&[&X42_DPL, &X42_METER], &[&LSP_LIMITER, &X42_METER]],
    },
    Case {
        label: "Stem Channel, Drums starting point",
        plugin: "Stem Channel",
        setup: Setup::Channel(drums),
        goal_x: 400.0,
        anchors: &[&[&LSP_PARA_EQ, &LSP_COMPRESSOR]],
    },
    Case {
        label: "Stem Channel, everything on",
        plugin: "Stem Channel",
        setup: Setup::Channel(everything_on),
        goal_x: 200.0,
        anchors: &[&[&LSP_PARA_EQ, &LSP_COMPRESSOR]],
    },
];

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// x real time of an LV2 plugin: the median of [`ROUNDS`] children's `run()` time.
fn anchor_x(plugin: &Lv2, dir: &Path) -> Result<f64, String> {
    let input = dir.join("input.f32");
    let runs = (0..ROUNDS)
        .map(|_| lv2_host::child_cpu(plugin.uri, plugin.controls, &input))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SECONDS as f64 / median(runs).as_secs_f64().max(1e-9))
}

/// x real time of a chain of LV2 plugins (their times add up), or why it could not run.
fn chain_x(chain: &[&Lv2], dir: &Path) -> Result<f64, String> {
    let mut seconds_per_second = 0.0;
    for plugin in chain {
        seconds_per_second +=
            1.0 / anchor_x(plugin, dir).map_err(|e| format!("{}: {e}", plugin.label))?;
    }
    Ok(1.0 / seconds_per_second)
}

/// x real time of our plugin set up as `case` says.
fn ours_x(case: &Case, bundles: &Path, input: &[Vec<f32>; 2]) -> Result<f64, String> {
    let path = bundles.join(format!("{}.clap", case.plugin));
    if !path.is_file() {
        return Err(format!(
            "no release bundle at {} (run `cargo xtask bundle`)",
            path.display()
        ));
    }
    let mut host = ClapHost::load(&path).map_err(|e| e.to_string())?;
    match &case.setup {
        Setup::Master(values) => {
            let params = host.params().map_err(|e| e.to_string())?;
            for (name, value) in *values {
                let p = params
                    .iter()
                    .find(|p| p.name == *name)
                    .ok_or(format!("no parameter {name}"))?;
                host.set_param_value(p.id, *value)
                    .map_err(|e| e.to_string())?;
            }
        }
        Setup::Channel(settings) => {
            support::apply_channel_settings(&mut host, &settings());
        }
    }
    host.set_process_on_main_thread(true);
    host.activate(SR, BLOCK).map_err(|e| e.to_string())?;
    let schedule = BlockSchedule::Fixed(BLOCK);
    let mut times = Vec::new();
    // The first round warms up (and fills the meters' histograms as a long session would).
    for _ in 0..=ROUNDS {
        let start = thread_cpu_time();
        let out = host
            .process([&input[0], &input[1]], &schedule, &[])
            .map_err(|e| e.to_string())?;
        times.push(thread_cpu_time() - start);
        std::hint::black_box(out);
    }
    times.remove(0);
    Ok(SECONDS as f64 / median(times).as_secs_f64())
}

/// Where `cargo xtask bundle` puts release bundles: `bundled/` in the target directory
/// (`CARGO_TARGET_DIR`, relative to the workspace root, or `target/`).
fn bundle_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), |dir| root.join(dir));
    target.join("bundled")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(lv2_host::CHILD_FLAG) {
        // An anchor's child: URI, input file, then `symbol=value` controls.
        let (uri, input) = (&args[2], Path::new(&args[3]));
        match lv2_host::run_child(uri, input, SR, BLOCK, &args[4..], thread_cpu_time) {
            Ok(cpu) => println!("{}", cpu.as_secs_f64()),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let frames = SECONDS * SR as usize;
    let input = [
        test_signals::programme(0x1234_5678_9abc_def1, frames, 0.8, 0.05),
        test_signals::programme(0x0fed_cba9_8765_4321, frames, 0.8, 0.05),
    ];
    let dir = std::env::temp_dir().join(format!("stem-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    lv2_host::write_input(&dir.join("input.f32"), &input[0], &input[1]);
    let bundles = bundle_dir();

    println!(
        "Throughput, x real time ({SECONDS} s, 48 kHz stereo, {BLOCK}-sample blocks, CPU time, \
         median of {ROUNDS}); ours through our CLAP host, anchors through lilv (its run() calls)"
    );
    // `cargo bench --bench throughput -- TEXT` runs only the cases whose label contains TEXT
    // (cargo's own `--bench` flag also arrives here and is skipped).
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for case in CASES
        .iter()
        .filter(|c| filter.iter().all(|f| c.label.contains(f.as_str())))
    {
        let ours = ours_x(case, &bundles, &input);
        match &ours {
            Ok(x) => println!(
                "{:<52} {:>8.0}x  (goal >= {:.0}x: {})",
                case.label,
                x,
                case.goal_x,
                if *x >= case.goal_x { "met" } else { "not met" }
            ),
            Err(e) => println!("{:<52} {e}", case.label),
        }
        for chain in case.anchors {
            let label = chain
                .iter()
                .map(|p| p.label)
                .collect::<Vec<_>>()
                .join(" + ");
            match (chain_x(chain, &dir), &ours) {
                (Ok(anchor), Ok(x)) => println!(
                    "    vs {label:<46} {anchor:>8.0}x  (ours / anchor {:.2})",
                    x / anchor
                ),
                (Ok(anchor), Err(_)) => println!("    vs {label:<46} {anchor:>8.0}x"),
                (Err(e), _) => println!("    vs {label:<46} not measured: {e}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
