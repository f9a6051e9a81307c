//! Stem Channel through the in-project hosts, both formats, as a DAW drives it: every parameter
//! automatable at its sample, state round trip including the stem type, every stem preset
//! loading and sounding, declared latency equal to the measured one and unchanged by section
//! bypass, and the plugin's output equal to `shared_dsp::chain::channel::ChannelChain` for the
//! same settings (so the `stem` tool renders what the DAW plays).
//!
//! The tests load the built bundles (`cargo xtask test` builds them with nice-plug's
//! `assert_process_allocs`, so an allocation on the audio thread aborts the run). The plugin
//! crate is linked too, only to turn `ChannelSettings` into the parameter values a host sends.

use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::settings::{ChannelSettings, DynamicsMode, StemType};
use shared_dsp::eq::{BandKind, BandSettings, DynamicSettings, Placement};
use shared_dsp::saturation::SaturationMode;
use stem_channel::params::StemChannelParams;
use stem_host::{BlockSchedule, ParamChange, ParamInfo, PluginHost};
use test_signals::Xorshift64Star;

mod support;
use support::{
    apply_channel_settings as apply, argmax, as_the_plugin_processes, assert_identical,
    channel_param_values as param_values, open, refs, wire, FORMATS,
};

const SR: f64 = 48_000.0;

/// Music-like stereo signal: a decaying chord on a beat, a bass line, noise, a side tone, all
/// under a deep 3 Hz tremolo so every level-dependent control (dynamic bands, compressors)
/// keeps moving.
fn programme(num_samples: usize, seed: u64) -> [Vec<f32>; 2] {
    let mut rng = Xorshift64Star(seed);
    let tau = std::f32::consts::TAU;
    let mut out = [
        Vec::with_capacity(num_samples),
        Vec::with_capacity(num_samples),
    ];
    for i in 0..num_samples {
        let t = i as f32 / SR as f32;
        let env = (-(t % 0.25) * 12.0).exp();
        let chord: f32 = [
            220.0f32, 277.2, 329.6, 710.0, 1_500.0, 3_100.0, 6_100.0, 12_200.0,
        ]
        .iter()
        .map(|f| (tau * f * t).sin())
        .sum::<f32>()
            * 0.12
            * env;
        let bass = 0.3 * (tau * 70.0 * t).sin();
        let side = 0.05 * (tau * 9_000.0 * t).sin();
        let tremolo = 0.05 + 0.95 * (0.5 + 0.5 * (tau * 3.0 * t).sin());
        out[0].push(tremolo * (chord + bass + side + 0.03 * rng.bipolar_f32()));
        out[1].push(tremolo * (chord + bass - side + 0.03 * rng.bipolar_f32()));
    }
    out
}

fn normalized(info: &ParamInfo, wire: f64) -> f64 {
    (wire - info.min_value) / (info.max_value - info.min_value)
}

fn render_chain(settings: &ChannelSettings, input: &[Vec<f32>; 2]) -> [Vec<f32>; 2] {
    let mut chain = ChannelChain::new(1024, SR);
    chain.set_settings(settings);
    let [mut l, mut r] = input.clone();
    chain.process_block(&mut l, &mut r);
    [l, r]
}

/// Every section on, every band doing something (two of them dynamic).
fn rich(multiband: bool, all_bells: bool) -> ChannelSettings {
    let mut s = ChannelSettings::for_stem(StemType::Drums);
    s.input_trim_db = 2.0;
    s.dc_filter_enabled = true;
    let dynamic = DynamicSettings {
        enabled: true,
        threshold_db: -30.0,
        range_db: -12.0,
        attack_ms: 5.0,
        release_ms: 60.0,
    };
    let places = [
        Placement::Stereo,
        Placement::Left,
        Placement::Right,
        Placement::Mid,
        Placement::Left,
        Placement::Stereo,
        Placement::Side,
        Placement::Stereo,
    ];
    for (i, b) in s.eq_bands.iter_mut().enumerate() {
        let hz = [
            60.0, 150.0, 300.0, 700.0, 1_500.0, 3_000.0, 6_000.0, 12_000.0,
        ][i];
        *b = if all_bells {
            BandSettings {
                dynamic,
                placement: places[i],
                ..BandSettings::bell(hz, 2.0, 1.2)
            }
        } else {
            match i {
                0 => BandSettings::new(BandKind::HighPass, 40.0, 0.0, 0.7),
                1 => BandSettings {
                    dynamic,
                    ..BandSettings::new(BandKind::LowShelf, hz, 2.0, 0.7)
                },
                6 => BandSettings {
                    placement: Placement::Side,
                    ..BandSettings::new(BandKind::HighShelf, hz, 2.0, 0.7)
                },
                7 => BandSettings::new(BandKind::LowPass, 15_000.0, 0.0, 0.7),
                _ => BandSettings {
                    placement: places[i],
                    dynamic: if i == 2 {
                        dynamic
                    } else {
                        DynamicSettings::default()
                    },
                    ..BandSettings::bell(hz, -2.0, 1.5)
                },
            }
        };
    }
    if all_bells {
        // The 60 Hz band sees the loud bass line: a threshold just under it keeps it moving.
        s.eq_bands[0].dynamic.threshold_db = -14.0;
    }
    s.compressor.threshold_db = -30.0;
    s.compressor.ratio = 4.0;
    s.compressor.knee_db = 6.0;
    s.compressor.mix_percent = 70.0;
    s.compressor.makeup_db = 1.0;
    s.compressor.sidechain_hpf_hz = 60.0;
    s.dynamics_mode = if multiband {
        DynamicsMode::Multiband
    } else {
        DynamicsMode::Single
    };
    s.multiband.num_bands = 3;
    s.multiband.crossover_hz = [150.0, 2_000.0, 8_000.0];
    for b in s.multiband.bands.iter_mut().take(3) {
        b.threshold_db = -35.0;
        b.ratio = 3.0;
        b.knee_db = 6.0;
        b.attack_ms = 5.0;
        b.release_ms = 80.0;
        b.makeup_db = 1.0;
    }
    s.stereo_enabled = true;
    s.stereo.width_percent = 130.0;
    s.stereo.mono_below_hz = 150.0;
    s.stereo.balance_percent = 10.0;
    s.saturation_enabled = true;
    s.saturation.mode = SaturationMode::Tape;
    s.saturation.drive_db = 12.0;
    s.saturation.bias = 0.3;
    s.saturation.mix_percent = 80.0;
    s.saturation.output_db = -1.0;
    s.saturation.oversampling = 2;
    // Low enough that the programme always reaches it, so its level acts.
    s.peak_control_enabled = true;
    s.peak_control_level_dbfs = -18.0;
    s.gain_match = true;
    s
}

/// Every parameter is automatable: a change at sample N (inside a host block) leaves the
/// output before N untouched and changes it from N on, in at least one of three rich
/// configurations (a band's Q acts on bells, its slope on high/low-pass, the multiband
/// controls in multiband mode). The stem type is automatable but acts by loading its starting
/// point through the host on the GUI thread, not at its sample: `tests/host_protocol.rs` checks
/// that.
#[test]
fn every_parameter_is_automatable_at_its_sample() {
    let change_at = 3_001;
    let input = programme(7_000, 3);
    let schedule = BlockSchedule::Fixed(512);
    for format in FORMATS {
        let mut host = open("Stem Channel", format);
        let infos = host.params().unwrap();
        let configs = [rich(false, false), rich(false, true), rich(true, true)];
        let mut acted = vec![false; infos.len()];
        for config in &configs {
            apply(host.as_mut(), config);
            let state = host.save_state().unwrap();
            let run = |host: &mut dyn PluginHost, changes: &[ParamChange]| {
                host.load_state(&state).unwrap();
                host.activate(SR, 512).unwrap();
                host.process(refs(&input), &schedule, changes).unwrap()
            };
            let baseline = run(host.as_mut(), &[]);
            for (i, info) in infos.iter().enumerate() {
                if info.name == "Stem Type" {
                    assert!(
                        info.is_automatable,
                        "{format}: hosts must reach the stem type"
                    );
                    acted[i] = true;
                    continue;
                }
                assert!(
                    info.is_automatable,
                    "{format}: {} not automatable",
                    info.name
                );
                let current = host.param_value(info.id).unwrap();
                let now = normalized(info, current);
                // Two other values (a control can sit where a small move does nothing, e.g. a
                // dynamic band already at its full range).
                let targets = if info.step_count > 0 {
                    let step = (now * info.step_count as f64).round() as u32;
                    let other = (step + 1) % (info.step_count + 1);
                    [other as f64 / info.step_count as f64; 2]
                } else {
                    [(now + 0.3).min(1.0), (now - 0.3).max(0.0)]
                };
                for target in targets {
                    if acted[i] {
                        break;
                    }
                    let changes = [ParamChange {
                        sample_offset: change_at,
                        param_id: info.id,
                        value: info.min_value + (info.max_value - info.min_value) * target,
                    }];
                    let out = run(host.as_mut(), &changes);
                    for ch in 0..2 {
                        assert_identical(
                            &out[ch][..change_at],
                            &baseline[ch][..change_at],
                            &format!("{format}: {} acted before its sample", info.name),
                        );
                        if out[ch][change_at..] != baseline[ch][change_at..] {
                            acted[i] = true;
                        }
                    }
                }
            }
        }
        let silent: Vec<&str> = infos
            .iter()
            .zip(&acted)
            .filter(|(_, &a)| !a)
            .map(|(p, _)| p.name.as_str())
            .collect();
        assert!(silent.is_empty(), "{format}: no effect from {silent:?}");
    }
}

/// Each stem type's starting point, sent as parameter values (what the editor's stem selector
/// does through the host), loads, gives finite non-silent output equal bit for bit to the
/// shared-dsp chain with the same settings, declares the chain's latency, and survives a
/// state round trip into a new instance with the stem type intact.
#[test]
fn every_stem_preset_loads_sounds_and_equals_the_chain() {
    let input = programme(48_000, 5);
    for format in FORMATS {
        for stem in StemType::ALL {
            let label = format!("{format} {stem:?}");
            let mut host = open("Stem Channel", format);
            let expected = apply(host.as_mut(), &ChannelSettings::for_stem(stem));
            assert_eq!(expected.stem_type, stem);
            host.activate(SR, 512).unwrap();
            let out = host
                .process(refs(&input), &BlockSchedule::Cycle(vec![512, 113, 1]), &[])
                .unwrap();
            for ch in &out {
                assert!(ch.iter().all(|v| v.is_finite()), "{label}");
                let rms = (ch.iter().map(|v| v * v).sum::<f32>() / ch.len() as f32).sqrt();
                assert!(rms > 0.01, "{label}: rms {rms}");
            }
            let reference = render_chain(&expected, &input);
            for ch in 0..2 {
                assert_identical(&out[ch], &reference[ch], &label);
            }
            let mut chain = ChannelChain::new(64, SR);
            chain.set_settings(&expected);
            assert_eq!(
                host.latency_samples().unwrap() as usize,
                chain.latency_samples(),
                "{label}"
            );

            // State round trip, stem type included.
            let state = host.save_state().unwrap();
            let mut restored = open("Stem Channel", format);
            restored.load_state(&state).unwrap();
            let infos = host.params().unwrap();
            for p in &infos {
                assert_eq!(
                    restored.param_value(p.id).unwrap(),
                    host.param_value(p.id).unwrap(),
                    "{label}: {} not restored",
                    p.name
                );
            }
            let stem_param = infos.iter().find(|p| p.name == "Stem Type").unwrap();
            let text = restored
                .value_to_text(stem_param.id, restored.param_value(stem_param.id).unwrap())
                .unwrap();
            let want = StemChannelParams::new(&ChannelSettings::for_stem(stem));
            assert_eq!(text, want.stem_type.to_string(), "{label}");
        }
    }
}

/// Automation renders identically in the plugin and in the chain given the same changes at
/// the same samples (smoothing lives in the chain), whatever the host's block size.
#[test]
fn automated_plugin_equals_the_automated_chain() {
    let input = programme(24_000, 9);
    let first = rich(false, false);
    let mut second = first.clone();
    second.input_trim_db = -3.0;
    second.compressor.threshold_db = -20.0;
    second.stereo.width_percent = 90.0;
    second.eq_bands[3].gain_db = 3.0;
    second.saturation_enabled = false;
    let change_at = 10_007;
    for format in FORMATS {
        let mut host = open("Stem Channel", format);
        let expected_first = apply(host.as_mut(), &first);
        let (values, expected_second) = param_values(&second);
        let infos = host.params().unwrap();
        let (first_values, _) = param_values(&first);
        let changes: Vec<ParamChange> = values
            .iter()
            .zip(&first_values)
            .filter(|(a, b)| a.1 != b.1)
            .map(|((name, v), _)| {
                let info = infos.iter().find(|p| &p.name == name).unwrap();
                ParamChange {
                    sample_offset: change_at,
                    param_id: info.id,
                    value: wire(info, *v as f64),
                }
            })
            .collect();
        assert!(changes.len() >= 5);
        let state = host.save_state().unwrap();
        let mut reference = input.clone();
        let mut chain = ChannelChain::new(1024, SR);
        chain.set_settings(&expected_first);
        as_the_plugin_processes(|| {
            let [l, r] = &mut reference;
            chain.process_block(&mut l[..change_at], &mut r[..change_at]);
            chain.set_settings(&expected_second);
            chain.process_block(&mut l[change_at..], &mut r[change_at..]);
        });
        for schedule in [
            BlockSchedule::Fixed(512),
            BlockSchedule::Cycle(vec![1, 333, 4096]),
        ] {
            host.load_state(&state).unwrap();
            host.activate(SR, schedule.max_block_size()).unwrap();
            let out = host.process(refs(&input), &schedule, &changes).unwrap();
            for ch in 0..2 {
                assert_identical(&out[ch], &reference[ch], &format!("{format} {schedule:?}"));
            }
        }
    }
}

/// Declared latency equals the impulse's measured shift; toggling any section (or the
/// dynamics mode) never changes it; the oversampling factor does, and the host is told.
#[test]
fn declared_latency_is_measured_and_constant_across_bypass() {
    for format in FORMATS {
        for factor in [1usize, 2, 4] {
            let mut s = ChannelSettings {
                compressor_enabled: true,
                stereo_enabled: true,
                saturation_enabled: true,
                ..ChannelSettings::default()
            };
            s.compressor.threshold_db = 0.0;
            s.saturation.mode = SaturationMode::SoftClip;
            s.saturation.drive_db = 0.0;
            s.saturation.oversampling = factor;
            let mut host = open("Stem Channel", format);
            let expected = apply(host.as_mut(), &s);
            host.activate(SR, 512).unwrap();
            let latency = host.latency_samples().unwrap() as usize;
            let mut chain = ChannelChain::new(64, SR);
            chain.set_settings(&expected);
            assert_eq!(latency, chain.latency_samples(), "{format} {factor}x");
            assert_eq!(latency == 0, factor == 1, "{format} {factor}x");
            let infos = host.params().unwrap();
            let toggles: Vec<&ParamInfo> = infos
                .iter()
                .filter(|p| {
                    ["EQ On", "Compressor On", "Mid/Side On", "Saturation On"]
                        .contains(&p.name.as_str())
                })
                .collect();
            assert_eq!(toggles.len(), 4);
            // One impulse per 4096 samples; a toggle flips between impulses.
            let n = 4096 * (toggles.len() + 1);
            let mut impulses = [vec![0.0f32; n], vec![0.0f32; n]];
            for k in 0..=toggles.len() {
                impulses[0][k * 4096 + 100] = 0.05;
                impulses[1][k * 4096 + 100] = 0.05;
            }
            let mut changes: Vec<ParamChange> = toggles
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let now = host.param_value(p.id).unwrap();
                    ParamChange {
                        sample_offset: (k + 1) * 4096 - 1000,
                        param_id: p.id,
                        value: if now > p.min_value {
                            p.min_value
                        } else {
                            p.max_value
                        },
                    }
                })
                .collect();
            // The multiband mode (an allpass split, so not checked by impulse position) must
            // not change the declared latency either.
            let mode = infos.iter().find(|p| p.name == "Dynamics Mode").unwrap();
            changes.push(ParamChange {
                sample_offset: n - 500,
                param_id: mode.id,
                value: mode.max_value,
            });
            let out = host
                .process(refs(&impulses), &BlockSchedule::Fixed(512), &changes)
                .unwrap();
            for k in 0..=toggles.len() {
                let window = &out[0][k * 4096..(k + 1) * 4096];
                assert_eq!(
                    argmax(window),
                    100 + latency,
                    "{format} {factor}x after {k} toggles"
                );
            }
            assert_eq!(host.latency_samples().unwrap() as usize, latency);
        }
    }
}
