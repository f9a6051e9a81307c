//! Stem Master through the in-project hosts, CLAP and VST3, as a DAW drives it:
//! - declared latency equals the measured shift of an impulse for every EQ mode and limiter
//!   lookahead, including after a change while processing, and section bypasses and the host
//!   bypass leave it unchanged; an EQ mode change while processing is reported by the plugin
//!   itself;
//! - the plugin's output is bit-identical to `shared_dsp::chain::master::MasterChain` fed the
//!   same settings, with gain automation landing at odd sample offsets in both;
//! - the state round-trips into a new instance: same parameters, same samples; sessions saved
//!   before the zero-latency EQ mode existed load their linear-phase FIR length.
//!
//! These tests load the built bundles (`cargo xtask test` builds them with nice-plug's
//! `assert_process_allocs`, so any allocation on the audio thread aborts the run).

use shared_dsp::chain::master::MasterChain;
use shared_dsp::chain::settings::{MasterEqMode, MasterSettings};
use shared_dsp::dither::{DitherMode, DitherSettings};
use shared_dsp::dynamics::CompressorSettings;
use shared_dsp::eq::{BandKind, BandSettings};
use shared_dsp::stereo::StereoSettings;
use stem_host::{BlockSchedule, ParamChange, ParamInfo, PluginHost};
use test_signals::Xorshift32;

mod support;
use support::{argmax, open, param, wire, FORMATS};

const FS: f64 = 48_000.0;

/// Sets a parameter by its display text (switches and choices).
fn set_text(host: &mut dyn PluginHost, name: &str, text: &str) {
    let p = param(host, name);
    let v = host
        .text_to_value(p.id, text)
        .unwrap_or_else(|e| panic!("{name} = {text}: {e}"));
    host.set_param_value(p.id, v).unwrap();
}

fn set_fraction(host: &mut dyn PluginHost, name: &str, fraction: f64) {
    let p = param(host, name);
    host.set_param_value(p.id, wire(&p, fraction)).unwrap();
}

/// Deterministic stereo test programme: decaying tone bursts over noise, peaking near 0 dBFS,
/// loud enough for the glue and the limiter to work.
fn programme(num_samples: usize) -> [Vec<f32>; 2] {
    let mut rng = Xorshift32(0x1234_5678);
    let mut next = move || rng.centred();
    let mut l = Vec::with_capacity(num_samples);
    let mut r = Vec::with_capacity(num_samples);
    for i in 0..num_samples {
        let t = i as f32 / FS as f32;
        let burst = (i % 12_000) as f32 / FS as f32;
        let env = (-burst * 12.0).exp();
        let tone = (std::f32::consts::TAU * 110.0 * t).sin() * env;
        l.push(0.7 * tone + 0.25 * next());
        r.push(0.6 * tone + 0.25 * next());
    }
    [l, r]
}

/// The EQ modes as the plugin lists them.
const EQ_MODES: [&str; 4] = [
    "Zero latency",
    "Linear Low (4k taps)",
    "Linear Medium (16k taps)",
    "Linear High (64k taps)",
];

/// Processes an impulse and returns (declared latency, measured shift) per channel.
fn impulse_shift(host: &mut dyn PluginHost) -> (usize, [usize; 2]) {
    let latency = host.latency_samples().unwrap() as usize;
    let at = 700;
    let len = at + latency + 2_048;
    let mut x = [vec![0.0f32; len], vec![0.0f32; len]];
    x[0][at] = 0.25;
    x[1][at] = -0.25;
    let y = host
        .process([&x[0], &x[1]], &BlockSchedule::Fixed(512), &[])
        .unwrap();
    (latency, [argmax(&y[0]) - at, argmax(&y[1]) - at])
}

#[test]
fn declared_latency_is_measured_for_every_eq_mode_and_lookahead_and_bypass_keeps_it() {
    for format in FORMATS {
        let mut host = open("Stem Master", format);
        let host = host.as_mut();
        // Every section in the path, with a symmetric EQ move (its FIR peaks at its centre, the
        // minimum-phase response at its start).
        set_text(host, "Glue", "On");
        set_fraction(host, "Glue Threshold", 1.0); // 0 dBFS: the glue never acts here
        set_text(host, "EQ", "On");
        set_text(host, "EQ 3 On", "On");
        set_fraction(host, "EQ 3 Gain", 0.5625); // +3 dB
        set_text(host, "Width", "On");
        let mut seen = Vec::new();
        for mode in EQ_MODES {
            for lookahead in ["0.1", "1.5", "10"] {
                set_text(host, "EQ Mode", mode);
                set_text(host, "Lookahead", lookahead);
                host.activate(FS, 512).unwrap();
                let (latency, shift) = impulse_shift(host);
                let label = format!("{format}: {mode}, lookahead {lookahead} ms");
                assert_eq!(shift, [latency; 2], "{label}");
                seen.push(latency);
                // Bypassing any section, or the whole plugin, keeps the latency.
                for section in ["Glue", "EQ", "Width", "Limiter", "Bypass"] {
                    set_text(
                        host,
                        section,
                        if section == "Bypass" { "On" } else { "Off" },
                    );
                    host.activate(FS, 512).unwrap();
                    let (bypassed_latency, shift) = impulse_shift(host);
                    assert_eq!(bypassed_latency, latency, "{label}, {section} bypassed");
                    assert_eq!(shift, [latency; 2], "{label}, {section} bypassed");
                    set_text(
                        host,
                        section,
                        if section == "Bypass" { "Off" } else { "On" },
                    );
                }
            }
        }
        // Twelve distinct latencies: mode and lookahead both count.
        let mut distinct = seen.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 12, "{format}: {seen:?}");

        // A change while processing: the plugin reports the new latency on its own (the host
        // restarts it, as DAWs do) and the audio follows it.
        host.activate(FS, 512).unwrap();
        let before = host.latency_samples().unwrap();
        set_text(host, "Lookahead", "5");
        set_text(host, "EQ Mode", "Linear Low (4k taps)");
        let silence = vec![0.0f32; 512];
        host.process([&silence, &silence], &BlockSchedule::Fixed(512), &[])
            .unwrap();
        let (latency, shift) = impulse_shift(host);
        assert_ne!(latency as u32, before, "{format}");
        assert_eq!(
            shift, [latency; 2],
            "{format}: after a change while processing"
        );
    }
}

/// The settings the parameters below describe, as `MasterSettings` (every other field at the
/// plugin's default).
fn expected_settings() -> MasterSettings {
    let mut eq_bands = [BandSettings::default(); 8];
    // The plugin's band 3 default: a bell at 250 Hz, Q 1 (`params::master_eq_defaults`).
    eq_bands[2] = BandSettings::new(BandKind::Bell, 250.0, 3.0, 1.0);
    MasterSettings {
        glue_enabled: true,
        glue: CompressorSettings {
            threshold_db: -10.0,
            ..CompressorSettings::master_glue()
        },
        eq_enabled: true,
        eq_bands,
        eq_mode: MasterEqMode::LinearLow,
        width_enabled: true,
        stereo: StereoSettings {
            width_percent: 112.5,
            ..StereoSettings::default()
        },
        dither: DitherSettings {
            mode: DitherMode::Tpdf,
            bits: 16,
        },
        ..MasterSettings::default()
    }
}

/// Sets the plugin to [`expected_settings`] with the three gains at `gains_db` (input,
/// limiter, output) given as exact fractions of their ranges.
fn set_plugin(host: &mut dyn PluginHost) {
    set_text(host, "Glue", "On");
    set_fraction(host, "Glue Threshold", 0.75); // -40..0 dB -> -10 dB
    set_text(host, "EQ", "On");
    set_text(host, "EQ Mode", "Linear Low (4k taps)");
    set_text(host, "EQ 3 On", "On");
    set_fraction(host, "EQ 3 Gain", 0.5625); // -24..24 dB -> +3 dB
    set_text(host, "Width", "On");
    set_fraction(host, "Width Amount", 0.5625); // 0..200 % -> 112.5 %
    set_text(host, "Dither", "TPDF");
    set_text(host, "Word Length", "16 bit");
}

/// One automation point: sample offset, parameter, fraction of its range, and the same change
/// applied to the chain's settings.
type Automation<'a> = (usize, &'a ParamInfo, f64, fn(&mut MasterSettings));

#[test]
fn output_equals_the_master_chain_with_automation_at_sample_offsets() {
    let n = 48_000;
    let x = programme(n);
    for format in FORMATS {
        let mut host = open("Stem Master", format);
        let host = host.as_mut();
        set_plugin(host);
        host.activate(FS, 1024).unwrap();
        let trim = param(host, "Input Trim");
        let drive = param(host, "Limiter Gain");
        let out = param(host, "Output Gain");
        // (offset, parameter, fraction, what the chain gets); ranges: trim and output
        // -24..24 dB, limiter gain -12..24 dB.
        let automation: [Automation; 4] = [
            (0, &drive, 0.5, |s| s.limiter.input_gain_db = 6.0),
            (3_333, &trim, 0.4375, |s| s.input_gain_db = -3.0),
            (17_011, &drive, 0.75, |s| s.limiter.input_gain_db = 15.0),
            (29_989, &out, 0.46875, |s| s.output_gain_db = -1.5),
        ];
        let changes: Vec<ParamChange> = automation
            .iter()
            .map(|(at, p, f, _)| ParamChange {
                sample_offset: *at,
                param_id: p.id,
                value: wire(p, *f),
            })
            .collect();
        let schedule = BlockSchedule::Cycle(vec![512, 113, 1024, 7]);
        let y = host.process([&x[0], &x[1]], &schedule, &changes).unwrap();

        let mut chain = MasterChain::new(1024, FS);
        let mut s = expected_settings();
        chain.set_settings(&s);
        chain.finish_design_now();
        chain.reset();
        let (mut l, mut r) = (x[0].clone(), x[1].clone());
        let mut start = 0;
        for (at, _, _, apply) in automation.iter() {
            assert!(*at >= start);
            chain.process_block(&mut l[start..*at], &mut r[start..*at]);
            apply(&mut s);
            chain.set_settings(&s);
            start = *at;
        }
        chain.process_block(&mut l[start..], &mut r[start..]);
        assert_eq!(
            host.latency_samples().unwrap() as usize,
            chain.latency_samples()
        );
        for (c, (got, want)) in [(&y[0], &l), (&y[1], &r)].into_iter().enumerate() {
            if let Some(i) = (0..n).find(|&i| got[i].to_bits() != want[i].to_bits()) {
                panic!(
                    "{format}: channel {c} differs from MasterChain first at sample {i}: {} vs {}",
                    got[i], want[i]
                );
            }
        }
        // The automation is audible where it should be: the output gain change at 29,989
        // acts on the samples entering then, which leave one latency later.
        let lat = chain.latency_samples();
        let at = 29_989 + lat;
        assert!(at < n);
        assert!(y[0][at..].iter().any(|&v| v != 0.0));
    }
}

#[test]
fn default_latency_is_the_limiters_and_eq_mode_changes_are_reported_while_processing() {
    let silence = vec![0.0f32; 2_048];
    for format in FORMATS {
        let mut host = open("Stem Master", format);
        let host = host.as_mut();
        host.activate(FS, 512).unwrap();
        // Zero-latency EQ: only the limiter, 1 ms lookahead (48) + detector 16 + guard 32.
        let base = host.latency_samples().unwrap();
        assert_eq!(base, 96, "{format}: default latency");
        let (latency, shift) = impulse_shift(host);
        assert_eq!(shift, [latency; 2], "{format}: default");
        for (eq, mode, fir) in [
            ("Off", "Linear Medium (16k taps)", 12_287),
            ("Off", "Zero latency", 0),
            ("On", "Linear Low (4k taps)", 3_071),
            ("On", "Zero latency", 0),
        ] {
            set_text(host, "EQ", eq);
            set_text(host, "EQ Mode", mode);
            // The chain has the new latency within a block with the EQ off, after the EQ's
            // 10 ms fade-out with it on; the plugin reports it on its own.
            host.process([&silence, &silence], &BlockSchedule::Fixed(512), &[])
                .unwrap();
            let label = format!("{format}: EQ {eq}, {mode}");
            assert_eq!(host.latency_samples().unwrap(), base + fir, "{label}");
            let (latency, shift) = impulse_shift(host);
            assert_eq!(shift, [latency; 2], "{label}");
        }
    }
}

/// A session saved before the zero-latency EQ mode existed: the EQ on at `med` (the parameter
/// then listed only `low`, `med` and `high`) and the limiter lookahead at that time's default,
/// 1.5 ms; as nice-plug writes state, enum parameters by their `#[id]`.
const OLD_SESSION: &str = r#"{"version":"0.1.0","params":{"eq_en":{"bool":true},"eq_qual":{"string":"med"},"l_look":{"f32":1.5}},"fields":{}}"#;

/// State bytes as `format` stores them: CLAP puts the JSON's length first (little-endian
/// u64), VST3 stores the bare JSON.
fn state_bytes(format: &str, json: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    if format == "clap" {
        bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    }
    bytes.extend_from_slice(json.as_bytes());
    bytes
}

#[test]
fn sessions_saved_before_zero_latency_keep_their_eq_quality() {
    for format in FORMATS {
        for (id, text, fir) in [
            ("low", "Linear Low (4k taps)", 3_071),
            ("med", "Linear Medium (16k taps)", 12_287),
            ("high", "Linear High (64k taps)", 49_151),
        ] {
            let json = OLD_SESSION.replace(r#""med""#, &format!(r#""{id}""#));
            let mut host = open("Stem Master", format);
            let host = host.as_mut();
            host.load_state(&state_bytes(format, &json)).unwrap();
            let p = param(host, "EQ Mode");
            let shown = host
                .value_to_text(p.id, host.param_value(p.id).unwrap())
                .unwrap();
            assert_eq!(shown, text, "{format}: {id}");
            host.activate(FS, 512).unwrap();
            // The FIR's latency plus the limiter's at 1.5 ms (72 + 16 + 32): for `med`, the
            // 12,407 samples the plugin used to report by default.
            assert_eq!(
                host.latency_samples().unwrap() as usize,
                fir + 120,
                "{format}: {id}"
            );
            let saved = String::from_utf8_lossy(&host.save_state().unwrap()).into_owned();
            assert!(
                saved.contains(&format!(r#""eq_qual":{{"string":"{id}"}}"#)),
                "{format}: {id} saved as {saved}"
            );
        }
    }
}

#[test]
fn state_round_trips_with_the_same_sound() {
    let x = programme(24_000);
    for format in FORMATS {
        let mut a = open("Stem Master", format);
        set_plugin(a.as_mut());
        set_fraction(a.as_mut(), "Limiter Gain", 0.5);
        set_text(a.as_mut(), "Lookahead", "3");
        set_text(a.as_mut(), "Target", "Club (-8 LUFS)");
        a.activate(FS, 256).unwrap();
        let state = a.save_state().unwrap();
        let mut b = open("Stem Master", format);
        b.load_state(&state).unwrap();
        b.activate(FS, 256).unwrap();
        for p in a.params().unwrap() {
            assert_eq!(
                a.param_value(p.id).unwrap(),
                b.param_value(p.id).unwrap(),
                "{format}: {} not restored",
                p.name
            );
        }
        assert_eq!(a.latency_samples().unwrap(), b.latency_samples().unwrap());
        let ya = a
            .process([&x[0], &x[1]], &BlockSchedule::Fixed(256), &[])
            .unwrap();
        let yb = b
            .process([&x[0], &x[1]], &BlockSchedule::Fixed(256), &[])
            .unwrap();
        let lat = a.latency_samples().unwrap() as usize;
        assert!(ya[0][lat..].iter().any(|&v| v != 0.0), "{format}: silent");
        for c in 0..2 {
            assert!(
                ya[c]
                    .iter()
                    .zip(&yb[c])
                    .all(|(p, q)| p.to_bits() == q.to_bits()),
                "{format}: channel {c} differs after restore"
            );
        }
        assert_eq!(b.save_state().unwrap(), state, "{format}: state not stable");
    }
}
