//! Smoke tests of the VST3 host against the real Stem Channel bundle
//! (`cargo xtask bundle -p stem-channel` first). Expected values come from outside the host: the
//! input signal itself (pass-through), the dB figures the plugin parses from text, and the
//! requirement that automation lands on the same samples whatever the block size.

use std::path::{Path, PathBuf};

use stem_host::vst3::Vst3Host;
use stem_host::{BlockSchedule, ParamChange, ParamInfo, PluginHost};

const SAMPLE_RATE: f64 = 48_000.0;

/// `Stem Channel.vst3` from `STEM_TEST_BUNDLE_DIR` if set (as `cargo xtask test` does), else
/// from the test bundles, else from `cargo xtask bundle`'s output.
fn bundle() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let candidates = match std::env::var_os("STEM_TEST_BUNDLE_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![target.join("test-bundles/bundled"), target.join("bundled")],
    };
    candidates
        .iter()
        .map(|dir| dir.join("Stem Channel.vst3"))
        .find(|path| path.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no Stem Channel.vst3 in {candidates:?}: run `cargo xtask bundle -p stem-channel`"
            )
        })
}

/// A sine at -6 dBFS peak on the left, inverted at a quarter of that on the right.
fn sine(num_samples: usize, hz: f64) -> [Vec<f32>; 2] {
    let left = test_signals::sine(num_samples, hz, SAMPLE_RATE, 0.5);
    let right = left.iter().map(|x| -0.5 * x).collect();
    [left, right]
}

fn param_named<'a>(params: &'a [ParamInfo], needle: &str) -> &'a ParamInfo {
    params
        .iter()
        .find(|p| p.name.to_lowercase().contains(needle))
        .unwrap_or_else(|| panic!("no parameter named like {needle:?} in {params:?}"))
}

fn loaded_active() -> Vst3Host {
    let mut host = Vst3Host::load(&bundle()).expect("load");
    host.activate(SAMPLE_RATE, 4096).expect("activate");
    host
}

#[test]
fn bad_bundles_are_errors() {
    let missing = Vst3Host::load(Path::new("/nonexistent/Nothing.vst3"));
    assert!(missing.err().unwrap().0.contains("does not exist"));

    let empty = std::env::temp_dir().join(format!("vst3-smoke-{}.vst3", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let result = Vst3Host::load(&empty);
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(result.err().unwrap().0.contains("lacks its library"));
}

#[test]
fn lists_parameters() {
    let host = Vst3Host::load(&bundle()).unwrap();
    assert_eq!(host.plugin_name(), "Stem Channel");
    let params = host.params().unwrap();
    assert!(params.len() >= 3, "{params:?}");
    assert_eq!(params.iter().filter(|p| p.is_bypass).count(), 1);
    for p in &params {
        assert!((0.0..=1.0).contains(&p.default_value), "{p:?}");
        assert_eq!(
            host.param_value(p.id).unwrap() as f32,
            p.default_value as f32
        );
    }
    let bypass = params.iter().find(|p| p.is_bypass).unwrap();
    assert_eq!(bypass.step_count, 1);
    assert!(host.param_value(0xdead_beef).is_err());
}

#[test]
fn text_round_trip() {
    let host = Vst3Host::load(&bundle()).unwrap();
    let params = host.params().unwrap();
    let trim = param_named(&params, "trim");
    let minus_six = host.text_to_value(trim.id, "-6 dB").unwrap();
    // VST3 keeps the unit apart from the value string; the host joins them as a DAW shows them.
    assert_eq!(host.value_to_text(trim.id, minus_six).unwrap(), "-6.00 dB");
    assert_eq!(host.text_to_value(trim.id, "-6.00 dB").unwrap(), minus_six);
    let bypass = params.iter().find(|p| p.is_bypass).unwrap();
    assert_eq!(host.value_to_text(bypass.id, 1.0).unwrap(), "On");
    assert!(host.text_to_value(trim.id, "not a number").is_err());
}

#[test]
fn passes_through_bit_exact_at_defaults() {
    let mut host = loaded_active();
    let input = sine(10_000, 997.0);
    for schedule in [
        BlockSchedule::Fixed(64),
        BlockSchedule::Cycle(vec![1, 7, 113, 4096]),
    ] {
        let output = host
            .process([&input[0], &input[1]], &schedule, &[])
            .unwrap();
        assert_eq!(output, input);
    }
    assert_eq!(host.latency_samples().unwrap(), 0);
}

#[test]
fn trim_change_lands_on_its_sample_whatever_the_blocks() {
    let input = sine(6_000, 441.0);
    let mut outputs = Vec::new();
    for schedule in [
        BlockSchedule::Fixed(4096),
        BlockSchedule::Fixed(1),
        BlockSchedule::Fixed(7),
        BlockSchedule::Fixed(64),
        BlockSchedule::Cycle(vec![113, 512, 1]),
    ] {
        let mut host = loaded_active();
        let params = host.params().unwrap();
        let trim = param_named(&params, "trim");
        let value = host.text_to_value(trim.id, "-6 dB").unwrap();
        let change = ParamChange {
            sample_offset: 1000,
            param_id: trim.id,
            value,
        };
        let output = host
            .process([&input[0], &input[1]], &schedule, &[change])
            .unwrap();
        assert_eq!(output[0][..1000], input[0][..1000], "{schedule:?}");
        assert_ne!(output[0][1000], input[0][1000], "{schedule:?}");
        // After the 20 ms smoothing ramp the gain is -6 dB.
        let expected_gain = 10f32.powf(-6.0 / 20.0);
        for n in 3000..6000 {
            for ch in 0..2 {
                assert!(
                    (output[ch][n] - input[ch][n] * expected_gain).abs() < 1e-6,
                    "{schedule:?} sample {n}"
                );
            }
        }
        assert_eq!(host.param_value(trim.id).unwrap() as f32, value as f32);
        outputs.push(output);
    }
    for output in &outputs[1..] {
        assert_eq!(output, &outputs[0]);
    }
}

#[test]
fn value_set_outside_processing_applies_from_first_sample() {
    let mut host = loaded_active();
    let params = host.params().unwrap();
    let trim = param_named(&params, "trim");
    let value = host.text_to_value(trim.id, "-6 dB").unwrap();
    host.set_param_value(trim.id, value).unwrap();
    assert_eq!(host.param_value(trim.id).unwrap() as f32, value as f32);
    let input = sine(512, 441.0);
    let output = host
        .process([&input[0], &input[1]], &BlockSchedule::Fixed(512), &[])
        .unwrap();
    let expected_gain = 10f32.powf(-6.0 / 20.0);
    for n in 0..512 {
        assert!(
            (output[0][n] - input[0][n] * expected_gain).abs() < 1e-6,
            "sample {n}"
        );
    }

    // While processing is on the value reaches the processor through a parameter flush.
    host.set_param_value(trim.id, trim.default_value).unwrap();
    assert_eq!(
        host.param_value(trim.id).unwrap() as f32,
        trim.default_value as f32
    );
}

#[test]
fn state_round_trip_restores_every_parameter() {
    let mut host = loaded_active();
    let params = host.params().unwrap();
    let input = sine(256, 441.0);
    let changes: Vec<ParamChange> = params
        .iter()
        .enumerate()
        .map(|(i, p)| ParamChange {
            sample_offset: 10 * i,
            param_id: p.id,
            value: if p.default_value > 0.5 { 0.25 } else { 0.75 },
        })
        .collect();
    host.process([&input[0], &input[1]], &BlockSchedule::Fixed(64), &changes)
        .unwrap();
    let saved_values: Vec<f64> = params
        .iter()
        .map(|p| host.param_value(p.id).unwrap())
        .collect();
    let state = host.save_state().unwrap();
    // nice-plug stores its VST3 state as bare JSON.
    serde_json::from_slice::<serde_json::Value>(&state).expect("state is JSON");

    let mut fresh = loaded_active();
    fresh.load_state(&state).unwrap();
    let restored: Vec<f64> = params
        .iter()
        .map(|p| fresh.param_value(p.id).unwrap())
        .collect();
    assert_eq!(restored, saved_values);
    for (p, v) in params.iter().zip(&saved_values) {
        assert_ne!(
            *v as f32, p.default_value as f32,
            "{p:?} was not changed by the test"
        );
    }
    assert_eq!(fresh.save_state().unwrap(), state);
    assert!(fresh.load_state(b"not json").is_err());
}

#[test]
fn every_sample_rate_and_partial_blocks() {
    let mut host = Vst3Host::load(&bundle()).unwrap();
    for rate in [44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0] {
        host.activate(rate, 113).unwrap();
        let input = sine(1_000, 441.0);
        let output = host
            .process([&input[0], &input[1]], &BlockSchedule::Fixed(113), &[])
            .unwrap();
        assert_eq!(output, input, "{rate} Hz");
    }
    host.deactivate().unwrap();
}

#[test]
fn misuse_is_an_error_not_a_crash() {
    let mut host = Vst3Host::load(&bundle()).unwrap();
    let input = sine(64, 441.0);
    assert!(host
        .process([&input[0], &input[1]], &BlockSchedule::Fixed(64), &[])
        .is_err());
    host.activate(SAMPLE_RATE, 32).unwrap();
    assert!(host
        .process([&input[0], &input[1]], &BlockSchedule::Fixed(64), &[])
        .is_err());
    assert!(host.set_param_value(0xdead_beef, 0.5).is_err());
    let id = host.params().unwrap()[0].id;
    assert!(host.set_param_value(id, f64::NAN).is_err());
    assert!(host.set_param_value(id, 1.5).is_err());

    // NaN input reaches the plugin and the host survives it.
    let nan = vec![f32::NAN; 32];
    host.process([&nan, &nan], &BlockSchedule::Fixed(32), &[])
        .unwrap();
}

/// Instances of one plugin created, automated and released on several threads at once, as
/// a DAW does when instances are deleted during playback. Against unpatched nice-plug 0.4.2 this
/// aborted the process in 3 runs out of 3 (its shared worker thread; see `vendor/README.md`).
#[test]
fn concurrent_instances_survive_release() {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for k in 0..10 {
                    let mut host = Vst3Host::load(&bundle()).unwrap();
                    host.activate(SAMPLE_RATE, 64).unwrap();
                    let ids: Vec<u32> = host.params().unwrap().iter().map(|p| p.id).collect();
                    let changes: Vec<ParamChange> = (0..30)
                        .map(|i| ParamChange {
                            sample_offset: i * 7,
                            param_id: ids[i % ids.len()],
                            value: ((i + k + t) % 10) as f64 / 10.0,
                        })
                        .collect();
                    let input = sine(256, 441.0);
                    host.process([&input[0], &input[1]], &BlockSchedule::Fixed(64), &changes)
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn two_instances_and_reloads() {
    let a = Vst3Host::load(&bundle()).unwrap();
    let b = Vst3Host::load(&bundle()).unwrap();
    drop(a);
    drop(b);
    for _ in 0..3 {
        let mut host = loaded_active();
        let input = sine(128, 441.0);
        host.process([&input[0], &input[1]], &BlockSchedule::Fixed(128), &[])
            .unwrap();
    }
}
