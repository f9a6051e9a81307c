//! Both plugins, in both formats, through the in-project hosts, as a DAW would drive them.
//!
//! These tests load the *built bundles*. `cargo xtask test` builds them in debug mode with
//! nice-plug's `assert_process_allocs`, so any allocation on the audio thread aborts the run,
//! and points `STEM_TEST_BUNDLE_DIR` at them.

use stem_host::{BlockSchedule, ParamChange, PluginHost};
use test_signals::Xorshift32;

mod support;
use support::{assert_identical, open, param, refs, FORMATS};

const PLUGINS: [&str; 2] = ["Stem Channel", "Stem Master"];

/// Runs `check` on a fresh instance of every plugin in every format.
fn for_each_bundle(check: impl Fn(&str, &mut dyn PluginHost)) {
    for plugin in PLUGINS {
        for format in FORMATS {
            let mut host = open(plugin, format);
            let label = format!("{plugin} ({format})");
            check(&label, host.as_mut());
        }
    }
}

/// Deterministic white noise at about -12 dBFS (xorshift, so the tests need no RNG crate).
fn noise(num_samples: usize, seed: u32) -> [Vec<f32>; 2] {
    let mut rng = Xorshift32(seed.max(1));
    let mut next = move || rng.centred() * 0.5;
    let left = (0..num_samples).map(|_| next()).collect();
    let right = (0..num_samples).map(|_| next()).collect();
    [left, right]
}

/// The input as a plugin reporting `latency` samples returns it: delayed, zeros first.
fn delayed(signal: &[f32], latency: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; latency.min(signal.len())];
    out.extend_from_slice(&signal[..signal.len() - out.len()]);
    out
}

fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

#[test]
fn bundles_expose_bypass_trim_and_output_with_working_text_conversion() {
    for_each_bundle(|label, host| {
        let params = host.params().unwrap();
        assert!(
            params.iter().any(|p| p.is_bypass && p.step_count == 1),
            "{label}: no bypass parameter flagged for the host"
        );
        for name in ["Input Trim", "Output Gain"] {
            let p = param(host, name);
            assert!(p.is_automatable, "{label}: {name} is not automatable");
            let minus_six = host.text_to_value(p.id, "-6 dB").unwrap();
            assert!(minus_six > p.min_value && minus_six < p.default_value);
            let text = host.value_to_text(p.id, minus_six).unwrap();
            assert!(text.starts_with("-6.00"), "{label}: {name} shows {text}");
            assert_eq!(
                host.value_to_text(p.id, p.default_value).unwrap(),
                "0.00 dB"
            );
        }
    });
}

#[test]
fn unity_at_defaults_is_bit_exact() {
    for_each_bundle(|label, host| {
        host.activate(48_000.0, 512).unwrap();
        let latency = host.latency_samples().unwrap() as usize;
        let input = noise(48_000 + latency, 7);
        let output = host
            .process(refs(&input), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        for ch in 0..2 {
            assert_identical(
                &output[ch],
                &delayed(&input[ch], latency),
                &format!("{label}: channel {ch}"),
            );
        }
    });
}

#[test]
fn parameter_change_takes_effect_at_its_exact_sample() {
    for_each_bundle(|label, host| {
        host.activate(48_000.0, 512).unwrap();
        let latency = host.latency_samples().unwrap() as usize;
        for name in ["Input Trim", "Output Gain"] {
            let trim = param(host, name);
            let minus_six = host.text_to_value(trim.id, "-6 dB").unwrap();
            // Not on a block boundary, so the plugin must split the block at the event.
            let change_at = 3_333;
            let input = noise(24_000 + latency, 3);
            let changes = [ParamChange {
                sample_offset: change_at,
                param_id: trim.id,
                value: minus_six,
            }];
            let output = host
                .process(refs(&input), &BlockSchedule::Fixed(512), &changes)
                .unwrap();
            for ch in 0..2 {
                // Input sample `i` leaves the plugin at `i + latency` (before that comes the
                // previous run's tail).
                let (input, output, at) = (&input[ch], &output[ch][latency..], change_at);
                assert_identical(
                    &output[..at],
                    &input[..at],
                    &format!("{label}: {name} acted before sample {change_at}"),
                );
                assert_ne!(
                    output[at], input[at],
                    "{label}: {name} did not act at sample {change_at}"
                );
                // Once the 20 ms smoother has settled the gain is exactly -6 dB.
                let settled = at + 48 * 25;
                let expected = db_to_gain(-6.0);
                for i in settled..output.len() {
                    let ratio = output[i] as f64 / input[i] as f64;
                    assert!(
                        (ratio - expected).abs() < 1e-4 || input[i].abs() < 1e-6,
                        "{label}: {name} gain {ratio} at {i}"
                    );
                }
            }
            // Back to unity for the next parameter.
            host.set_param_value(trim.id, trim.default_value).unwrap();
            host.process(
                refs(&noise(4_800 + latency, 1)),
                &BlockSchedule::Fixed(512),
                &[],
            )
            .unwrap();
        }
    });
}

#[test]
fn state_restores_every_parameter_exactly_into_a_new_instance() {
    for plugin in PLUGINS {
        for format in FORMATS {
            let mut original = open(plugin, format);
            original.activate(48_000.0, 256).unwrap();
            let params = original.params().unwrap();
            // Odd, non-default values, as a user's session would hold. The stem type stays: a
            // host setting it loads its starting point over the other values (on the GUI thread,
            // see `tests/host_protocol.rs`), which is not what this test is about.
            for (i, p) in params
                .iter()
                .enumerate()
                .filter(|(_, p)| p.name != "Stem Type")
            {
                let fraction = [0.137, 0.713, 0.291, 0.853][i % 4];
                let mut value = p.min_value + (p.max_value - p.min_value) * fraction;
                if p.step_count > 0 {
                    value = value.round();
                }
                if p.is_bypass {
                    value = p.min_value; // keep audio flowing through the chain
                }
                original.set_param_value(p.id, value).unwrap();
            }
            let state = original.save_state().unwrap();

            let mut restored = open(plugin, format);
            restored.load_state(&state).unwrap();
            restored.activate(48_000.0, 256).unwrap();
            for p in &params {
                assert_eq!(
                    restored.param_value(p.id).unwrap(),
                    original.param_value(p.id).unwrap(),
                    "{plugin} ({format}): {} not restored",
                    p.name
                );
            }
            // Same parameters, same sound.
            let input = noise(9_600, 11);
            let a = original
                .process(refs(&input), &BlockSchedule::Fixed(256), &[])
                .unwrap();
            let b = restored
                .process(refs(&input), &BlockSchedule::Fixed(256), &[])
                .unwrap();
            assert_identical(
                &a[0][4_800..],
                &b[0][4_800..],
                &format!("{plugin} ({format})"),
            );
            assert_identical(
                &a[1][4_800..],
                &b[1][4_800..],
                &format!("{plugin} ({format})"),
            );
            // A saved state is stable: saving the restored instance gives the same bytes.
            assert_eq!(restored.save_state().unwrap(), state, "{plugin} ({format})");
        }
    }
}

#[test]
fn declared_latency_equals_measured_impulse_shift() {
    for_each_bundle(|label, host| {
        host.activate(48_000.0, 512).unwrap();
        let latency = host.latency_samples().unwrap() as usize;
        let at = 1_000;
        let len = 8_192 + latency;
        let mut impulse = [vec![0.0f32; len], vec![0.0f32; len]];
        impulse[0][at] = 0.5;
        impulse[1][at] = -0.5;
        let output = host
            .process(refs(&impulse), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        for (ch, channel) in output.iter().enumerate() {
            let peak = channel
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap()
                .0;
            assert_eq!(peak, at + latency, "{label}: channel {ch}");
        }
    });
}

#[test]
fn any_block_size_gives_the_same_output_as_one_block() {
    for_each_bundle(|label, host| {
        // 10,007 samples past the latency: every schedule below ends on a partial block.
        host.activate(48_000.0, 512).unwrap();
        let num_samples = 10_007 + host.latency_samples().unwrap() as usize;
        let input = noise(num_samples, 5);
        let trim = param(host, "Input Trim");
        let out_gain = param(host, "Output Gain");
        let changes = [
            ParamChange {
                sample_offset: 0,
                param_id: trim.id,
                value: host.text_to_value(trim.id, "-3 dB").unwrap(),
            },
            ParamChange {
                sample_offset: 2_501,
                param_id: out_gain.id,
                value: host.text_to_value(out_gain.id, "4.5 dB").unwrap(),
            },
            ParamChange {
                sample_offset: 6_007,
                param_id: trim.id,
                value: host.text_to_value(trim.id, "1 dB").unwrap(),
            },
        ];
        let run = |host: &mut dyn PluginHost, schedule: BlockSchedule| {
            // A fresh activation each time, so every run starts from the same state.
            host.set_param_value(trim.id, trim.default_value).unwrap();
            host.set_param_value(out_gain.id, out_gain.default_value)
                .unwrap();
            host.activate(48_000.0, schedule.max_block_size()).unwrap();
            host.process(refs(&input), &schedule, &changes).unwrap()
        };
        let reference = run(host, BlockSchedule::Fixed(num_samples));
        for schedule in [
            BlockSchedule::Fixed(1),
            BlockSchedule::Fixed(7),
            BlockSchedule::Fixed(64),
            BlockSchedule::Fixed(113),
            BlockSchedule::Fixed(512),
            BlockSchedule::Fixed(4096),
            BlockSchedule::Cycle(vec![1, 7, 64, 113, 512, 4096]),
        ] {
            let output = run(host, schedule.clone());
            for ch in 0..2 {
                assert_identical(
                    &output[ch],
                    &reference[ch],
                    &format!("{label}: {schedule:?} channel {ch}"),
                );
            }
        }
    });
}

#[test]
fn every_common_sample_rate_passes_unity_and_reaches_gain_targets() {
    for_each_bundle(|label, host| {
        let out_gain = param(host, "Output Gain");
        let plus_three = host.text_to_value(out_gain.id, "3 dB").unwrap();
        for sample_rate in [
            22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0, 384_000.0,
        ] {
            host.set_param_value(out_gain.id, out_gain.default_value)
                .unwrap();
            host.activate(sample_rate, 1024).unwrap();
            let latency = host.latency_samples().unwrap() as usize;
            let num_samples = (sample_rate * 0.1) as usize + latency;
            let input = noise(num_samples, 9);
            let output = host
                .process(refs(&input), &BlockSchedule::Fixed(1024), &[])
                .unwrap();
            assert_identical(
                &output[0],
                &delayed(&input[0], latency),
                &format!("{label} at {sample_rate} Hz"),
            );
            // The 20 ms gain ramp takes the same time at every rate.
            let changes = [ParamChange {
                sample_offset: 0,
                param_id: out_gain.id,
                value: plus_three,
            }];
            let output = host
                .process(refs(&input), &BlockSchedule::Fixed(1024), &changes)
                .unwrap();
            let ramp_end = (sample_rate * 0.020) as usize;
            let before_end = ramp_end * 9 / 10;
            // The previous run's tail fills the first `latency` samples; from then on input
            // sample `i` leaves at `i + latency`.
            let gain_at = |i: usize| output[0][i + latency] as f64 / input[0][i] as f64;
            assert!(
                gain_at(before_end) < db_to_gain(3.0) - 1e-4,
                "{label} at {sample_rate} Hz"
            );
            assert!(
                (gain_at(ramp_end + 2) - db_to_gain(3.0)).abs() < 1e-4,
                "{label} at {sample_rate} Hz"
            );
        }
    });
}

#[test]
fn bad_input_never_reaches_the_output_and_the_plugin_recovers() {
    for_each_bundle(|label, host| {
        let trim = param(host, "Input Trim");
        host.activate(48_000.0, 512).unwrap();
        let latency = host.latency_samples().unwrap() as usize;
        let mut input = noise(4_800, 13);
        for (i, bad) in [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE / 8.0,
            -f32::MIN_POSITIVE / 3.0,
        ]
        .into_iter()
        .enumerate()
        {
            input[0][100 + i * 37] = bad;
            input[1][1_000 + i * 53] = bad;
        }
        // With gain applied too, so the recursive smoother would be poisoned by a NaN.
        let changes = [ParamChange {
            sample_offset: 90,
            param_id: trim.id,
            value: host.text_to_value(trim.id, "-6 dB").unwrap(),
        }];
        let output = host
            .process(refs(&input), &BlockSchedule::Fixed(512), &changes)
            .unwrap();
        for (ch, channel) in output.iter().enumerate() {
            assert!(
                channel.iter().all(|s| s.is_finite() && !s.is_subnormal()),
                "{label}: bad sample on channel {ch}"
            );
        }
        // Flush the bad stretch out of the plugin's latency, then check clean audio.
        host.process(refs(&noise(latency, 19)), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        let clean = noise(4_800 + latency, 17);
        let output = host
            .process(refs(&clean), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        let expected = db_to_gain(-6.0);
        for ch in 0..2 {
            for (o, i) in output[ch][latency..].iter().zip(&clean[ch]) {
                assert!(
                    (*o as f64 - *i as f64 * expected).abs() < 1e-6,
                    "{label}: no recovery"
                );
            }
        }
    });
}

#[test]
fn bypass_passes_the_input_through_after_a_click_free_fade() {
    for_each_bundle(|label, host| {
        let bypass = host
            .params()
            .unwrap()
            .into_iter()
            .find(|p| p.is_bypass)
            .unwrap();
        let trim = param(host, "Input Trim");
        host.activate(48_000.0, 512).unwrap();
        // The bypass engages once the trimmed signal has come through the latency.
        let latency = host.latency_samples().unwrap() as usize;
        let at = 4_800 + latency;
        let input = [vec![0.25f32; at + 4_800], vec![-0.25f32; at + 4_800]];
        let changes = [
            ParamChange {
                sample_offset: 0,
                param_id: trim.id,
                value: host.text_to_value(trim.id, "-12 dB").unwrap(),
            },
            ParamChange {
                sample_offset: at,
                param_id: bypass.id,
                value: bypass.max_value,
            },
        ];
        let output = host
            .process(refs(&input), &BlockSchedule::Fixed(512), &changes)
            .unwrap();
        // Dry (the latency-aligned input) after the 10 ms fade, exactly.
        assert_identical(&output[0][at + 480..], &input[0][at + 480..], label);
        // The fade moves at most 1/480 of the 0.19 level difference per sample.
        let max_step = output[0][at - 100..at + 600]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_step < 0.19 / 480.0 * 1.01, "{label}: step {max_step}");
    });
}
