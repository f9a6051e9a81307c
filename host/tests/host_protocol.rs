//! What the plugin-format specifications and real hosts ask of the plugins beyond the audio,
//! checked through our own CLAP and VST3 hosts on the allocation-checking test bundles:
//! - CLAP: `clap_host_latency::changed()` only from inside `clap_plugin::activate()`
//!   (CLAP 1.2, `ext/latency.h`), also when the host deactivates the plugin before answering
//!   its request; VST3: no `restartComponent` from inside `setActive()` (Ardour answers it by
//!   calling `setActive()` again), and the host still learns the new latency;
//! - automation on every sample of 4096-sample blocks, on every parameter at once, never
//!   allocates on the audio thread and leaves each parameter at its last automated value;
//! - bypass set through the VST3 controller while processing is honoured and saved;
//! - enum parameters are lists for hosts, and the stem type, set by a host, loads its starting
//!   point through the host.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use shared_dsp::chain::settings::{ChannelSettings, StemType};
use stem_channel::params::StemChannelParams;
use stem_host::clap::ClapHost;
use stem_host::vst3::Vst3Host;
use stem_host::{BlockSchedule, ParamChange, ParamInfo, PluginHost};
use support::{bundle_dir, param, refs, wire, FORMATS};

const SR: f64 = 48_000.0;
const PLUGINS: [&str; 2] = ["Stem Channel", "Stem Master"];

/// A 997 Hz sine at -12 dBFS peak on both channels.
fn sine(num_samples: usize) -> [Vec<f32>; 2] {
    let x = test_signals::sine(num_samples, 997.0, SR, 0.25);
    [x.clone(), x]
}

/// The Stem Channel's wire value that selects 4x oversampling (its latency: 55 samples).
fn oversampling_4x(host: &dyn PluginHost) -> (u32, f64) {
    let p = param(host, "Sat Oversampling");
    (p.id, host.text_to_value(p.id, "4x").unwrap())
}

#[test]
fn clap_reports_latency_changes_only_inside_activate() {
    let bundle = bundle_dir().join("Stem Channel.clap");
    let input = sine(2048);
    // A: the host answers the plugin's request at once (restart, reactivate).
    // B: the host deactivates the plugin before its main thread gets to the request, as
    //    clap-validator's parameter tests do.
    for hold in [false, true] {
        let mut host = ClapHost::load(&bundle).unwrap();
        host.activate(SR, 512).unwrap();
        assert_eq!(host.latency_samples().unwrap(), 0);
        let (id, four_x) = oversampling_4x(&host);
        host.hold_main_thread_requests(hold).unwrap();
        let change = [ParamChange {
            sample_offset: 100,
            param_id: id,
            value: four_x,
        }];
        host.process(refs(&input), &BlockSchedule::Fixed(512), &change)
            .unwrap();
        if hold {
            host.deactivate().unwrap();
            host.hold_main_thread_requests(false).unwrap();
            host.activate(SR, 512).unwrap();
        }
        let (inside, outside) = host.latency_change_reports();
        assert_eq!(outside, 0, "hold {hold}: changed() outside activate()");
        assert!(
            inside >= 1,
            "hold {hold}: the new latency was never reported"
        );
        assert_eq!(host.latency_samples().unwrap(), 55, "hold {hold}");
        // Nothing more to report: another activation stays quiet.
        host.activate(SR, 512).unwrap();
        assert_eq!(host.latency_change_reports(), (inside, 0), "hold {hold}");
    }
}

/// Polls `f` until it holds or two seconds pass (nice-plug answers VST3 requests from its own
/// worker thread on Linux, so they arrive a moment after the call that caused them).
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    f()
}

#[test]
fn vst3_never_restarts_from_inside_set_active_and_the_host_learns_the_latency() {
    let input = sine(1024);
    for plugin in PLUGINS {
        let mut host = Vst3Host::load(&bundle_dir().join(format!("{plugin}.vst3"))).unwrap();
        if plugin == "Stem Channel" {
            let (id, four_x) = oversampling_4x(&host);
            host.set_param_value(id, four_x).unwrap();
        }
        // Activation sets a latency the host has not read yet (Stem Master: the limiter's
        // lookahead; Stem Channel: 4x oversampling).
        host.activate(SR, 512).unwrap();
        host.process(refs(&input), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        assert!(
            eventually(|| host.latency_change_requests() >= 1),
            "{plugin}: the host was never told of the latency set in activate()"
        );
        let latency = host.latency_samples().unwrap();
        assert!(latency > 0, "{plugin}");
        assert_eq!(host.serviced_latency_samples(), Some(latency), "{plugin}");
        // A change while processing is told too.
        if plugin == "Stem Channel" {
            let p = param(&host, "Sat Oversampling");
            let two_x = host.text_to_value(p.id, "2x").unwrap();
            let before = host.latency_change_requests();
            let change = [ParamChange {
                sample_offset: 0,
                param_id: p.id,
                value: two_x,
            }];
            host.process(refs(&input), &BlockSchedule::Fixed(512), &change)
                .unwrap();
            assert!(eventually(|| host.latency_change_requests() > before));
            assert_eq!(host.serviced_latency_samples(), Some(47));
        }
        host.deactivate().unwrap();
        host.activate(SR, 512).unwrap();
        assert_eq!(host.restarts_inside_set_active(), 0, "{plugin}");
    }
}

/// Every continuous, automatable parameter ramped from one value to another on every sample of
/// two 4096-sample blocks, all at once (a host reading dense automation lanes). The test bundles
/// abort on any allocation in `process()`; the output stays finite and each parameter ends on
/// its last automated value.
#[test]
fn automation_on_every_sample_of_every_parameter_never_allocates() {
    const BLOCK: usize = 4096;
    let input = sine(2 * BLOCK);
    for plugin in PLUGINS {
        for format in FORMATS {
            let label = format!("{plugin} ({format})");
            let mut host = support::open(plugin, format);
            host.activate(SR, BLOCK).unwrap();
            let lanes: Vec<ParamInfo> = host
                .params()
                .unwrap()
                .into_iter()
                .filter(|p| p.is_automatable && p.step_count == 0)
                .collect();
            assert!(lanes.len() > 10, "{label}");
            let mut changes = Vec::with_capacity(lanes.len() * input[0].len());
            for n in 0..input[0].len() {
                let t = n as f64 / (input[0].len() - 1) as f64;
                for (k, p) in lanes.iter().enumerate() {
                    // Each lane ramps over a different part of its range, ending at 0.2..0.8.
                    let end = 0.2 + 0.6 * (k % 7) as f64 / 6.0;
                    changes.push(ParamChange {
                        sample_offset: n,
                        param_id: p.id,
                        value: wire(p, 0.5 + (end - 0.5) * t),
                    });
                }
            }
            let out = host
                .process(refs(&input), &BlockSchedule::Fixed(BLOCK), &changes)
                .unwrap();
            assert!(out.iter().flatten().all(|x| x.is_finite()), "{label}");
            for (k, p) in lanes.iter().enumerate() {
                let end = wire(p, 0.2 + 0.6 * (k % 7) as f64 / 6.0);
                let now = host.param_value(p.id).unwrap();
                assert!(
                    (now - end).abs() <= 1e-4 * (p.max_value - p.min_value),
                    "{label}: {} ends at {now}, automation ended at {end}",
                    p.name
                );
            }
        }
    }
}

/// The VST3 validator's "Parameter Bypass persistence": bypass set only through
/// `IEditController::setParamNormalized` while processing takes effect, reads back, and is in
/// the saved state.
#[test]
fn vst3_bypass_set_through_the_controller_while_processing_is_honoured_and_saved() {
    let input = sine(4800);
    for plugin in PLUGINS {
        let path = bundle_dir().join(format!("{plugin}.vst3"));
        let mut host = Vst3Host::load(&path).unwrap();
        host.activate(SR, 480).unwrap();
        let latency = host.latency_samples().unwrap() as usize;
        // Processing is on from here.
        host.process(refs(&input), &BlockSchedule::Fixed(480), &[])
            .unwrap();
        let bypass = host.params().unwrap().into_iter().find(|p| p.is_bypass);
        let bypass = bypass.expect("a bypass parameter");
        host.set_param_on_controller(bypass.id, 1.0).unwrap();
        assert_eq!(host.param_value(bypass.id).unwrap(), 1.0, "{plugin}");
        // After the 10 ms fade the output is the input, delayed by the constant latency.
        let out = host
            .process(refs(&input), &BlockSchedule::Fixed(480), &[])
            .unwrap();
        for n in 960 + latency..input[0].len() {
            assert_eq!(out[0][n], input[0][n - latency], "{plugin} at {n}");
        }
        let state = host.save_state().unwrap();
        let mut restored = Vst3Host::load(&path).unwrap();
        restored.load_state(&state).unwrap();
        assert_eq!(restored.param_value(bypass.id).unwrap(), 1.0, "{plugin}");
    }
}

/// Every enum parameter is a list for the host, with a name for each entry, and nothing else
/// is; the stem type can be reached from a host's generic view (automatable).
#[test]
fn enum_parameters_are_lists_for_hosts() {
    let channel_lists = [
        "Stem Type",
        "Dynamics Mode",
        "Comp Style",
        "Comp Detection",
        "Sat Mode",
        "Sat Oversampling",
        "EQ 1 Type",
        "EQ 8 Slope",
        "EQ 3 Placement",
    ];
    let master_lists = ["Glue Ratio", "Target", "Dither", "Word Length", "EQ 1 Type"];
    for (plugin, lists) in [
        ("Stem Channel", &channel_lists[..]),
        ("Stem Master", &master_lists[..]),
    ] {
        for format in FORMATS {
            let label = format!("{plugin} ({format})");
            let host = support::open(plugin, format);
            let params = host.params().unwrap();
            for name in lists {
                let p = params.iter().find(|p| p.name == *name).unwrap();
                assert!(p.is_list, "{label}: {name} is not a list");
                assert!(p.is_automatable, "{label}: {name} is hidden from hosts");
            }
            for p in params.iter().filter(|p| p.is_list) {
                assert!(p.step_count >= 1, "{label}: {}", p.name);
                for step in 0..=p.step_count {
                    let value = wire(p, step as f64 / p.step_count as f64);
                    let text = host.value_to_text(p.id, value).unwrap();
                    assert!(
                        !text.is_empty() && text.parse::<f64>().is_err(),
                        "{label}: {} entry {step} is '{text}'",
                        p.name
                    );
                }
            }
            for name in ["Bypass", "Input Trim", "Output Gain"] {
                let p = params.iter().find(|p| p.name == name).unwrap();
                assert!(!p.is_list, "{label}: {name} shown as a list");
            }
        }
    }
}

/// A host (generic view or automation) setting Stem Type to Drums makes the plugin load the
/// Drums starting point into its other parameters, as the editor's selector does; restoring a
/// state with a stem type never overwrites the state's own values. Also with `process()` on the
/// main thread (offline renderers, the VST3 SDK validator), where the GUI-thread task that loads
/// the starting point used to run inline inside `process()` and allocate there (the alloc-checked
/// bundles abort on that).
#[test]
fn stem_type_set_by_the_host_loads_its_starting_point_and_a_state_load_does_not() {
    let drums = StemChannelParams::new(&ChannelSettings::for_stem(StemType::Drums));
    let drums_text = drums.stem_type.to_string();
    let input = sine(1024);
    for (format, on_main_thread) in FORMATS.iter().flat_map(|f| [(*f, false), (*f, true)]) {
        let mut host = support::open("Stem Channel", format);
        host.set_process_on_main_thread(on_main_thread);
        host.activate(SR, 512).unwrap();
        host.process(refs(&input), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        let stem = param(host.as_ref(), "Stem Type");
        let gain_match = param(host.as_ref(), "Gain Match");
        assert_eq!(
            host.param_value(gain_match.id).unwrap(),
            gain_match.min_value
        );
        let to_drums = host.text_to_value(stem.id, &drums_text).unwrap();
        let change = [ParamChange {
            sample_offset: 10,
            param_id: stem.id,
            value: to_drums,
        }];
        host.process(refs(&input), &BlockSchedule::Fixed(512), &change)
            .unwrap();
        // The starting point arrives through the host from the GUI thread; CLAP applies the
        // plugin's own parameter events at the next process call.
        let applied = eventually(|| {
            host.process(refs(&input), &BlockSchedule::Fixed(512), &[])
                .unwrap();
            host.param_value(gain_match.id).unwrap() == gain_match.max_value
        });
        assert!(
            applied,
            "{format} (process on the main thread: {on_main_thread}): the Drums starting point \
             was not loaded"
        );
        let hpf = param(host.as_ref(), "EQ 1 Freq");
        let text = host
            .value_to_text(hpf.id, host.param_value(hpf.id).unwrap())
            .unwrap();
        assert!(
            text.starts_with("35"),
            "{format}: EQ 1 at {text}, Drums has 35 Hz"
        );

        // A user's edit on top of the starting point, saved and restored: stays.
        host.set_param_value(gain_match.id, gain_match.min_value)
            .unwrap();
        host.process(refs(&input), &BlockSchedule::Fixed(512), &[])
            .unwrap();
        let state = host.save_state().unwrap();
        let mut restored = support::open("Stem Channel", format);
        restored.set_process_on_main_thread(on_main_thread);
        restored.activate(SR, 512).unwrap();
        restored.load_state(&state).unwrap();
        for _ in 0..4 {
            restored
                .process(refs(&input), &BlockSchedule::Fixed(512), &[])
                .unwrap();
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            restored.param_value(gain_match.id).unwrap(),
            gain_match.min_value,
            "{format}: loading a state re-applied its stem's starting point"
        );
    }
}
