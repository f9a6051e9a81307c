//! The Stem Link across processes, as a DAW that sandboxes its plug-ins runs it: Stem
//! Channels and one Stem Master, each in its own process (this test binary re-executed, hosting
//! one bundle through our CLAP host), play known stems in real time with the transport running;
//! the test reads the link group's shared memory as any other member would.
//!
//! Two cases: two channels, and six (one of them killed afterwards).
//!
//! - The master's overview equals the offline figures (the render's attribution and loudness
//!   arithmetic on the same stems, with the same master chain's gain reduction) within 0.2 LU
//!   and 5 percentage points.
//! - Its record is rewritten at least every 100 ms while it plays.
//! - Killing one channel's process removes its row within the expiry (2 s) and changes no
//!   other row.
//! - A channel in another link group is not seen.
//! - A duplicated instance (the same saved state loaded into a second instance) gets a row of
//!   its own.
//!
//! The bundles are the ones `cargo xtask test` builds (with `assert_process_allocs`, so the
//! link's audio side is checked for allocations too).

use shared_dsp::chain::master::MasterChain;
use shared_dsp::chain::settings::MasterSettings;
use shared_dsp::link::record::{self, InstanceKind, InstanceStatus, StemFigures};
use shared_dsp::meter::attribution::{window_samples, AttributionRecorder};
use shared_dsp::meter::loudness::LoudnessMeter;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use stem_host::{BlockSchedule, PluginHost};
use stem_plugin_common::link::{now_ms, LinkGroup, RECORD_WORDS};

mod support;
use support::{as_the_plugin_processes, open};

const FS: f64 = 48_000.0;
const SECONDS: f64 = 8.0;
/// The most stems a case plays.
const MAX_STEMS: usize = 6;
/// Audio handed to the plugin per call, seconds (paced in real time).
const CALL_S: f64 = 0.1;

const ROLE_ENV: &str = "STEM_LINK_TEST_ROLE";
/// A file the test writes once every member has joined: the `now_ms()` at which to start.
const START_ENV: &str = "STEM_LINK_TEST_START_FILE";
const GROUP_ENV: &str = "STEM_LINK_GROUP";

/// The stems: drum hits that make the master's limiter work, a bass, a chord, and two noise
/// beds. Stereo with equal channels.
fn stem(k: usize) -> Vec<f32> {
    let n = (SECONDS * FS) as usize;
    let tau = 2.0 * std::f64::consts::PI;
    (0..n)
        .map(|i| {
            let t = i as f64 / FS;
            let v = match k {
                0 => {
                    let p = t % 0.5;
                    0.95 * (-p / 0.03).exp() * (tau * 70.0 * p).sin()
                }
                1 => 0.25 * (tau * 55.0 * t).sin(),
                2 => 0.08 * ((tau * 440.0 * t).sin() + (tau * 660.0 * t).sin()),
                3 => 0.05 * hash_noise(i as u64 * 2 + 1),
                4 => 0.02 * hash_noise(i as u64 * 2 + 2),
                _ => 0.06 * (tau * 220.0 * t).sin() * (tau * 0.5 * t).sin(),
            };
            v as f32
        })
        .collect()
}

/// Deterministic white noise in -1..1 (splitmix64).
fn hash_noise(mut x: u64) -> f64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// The sum of the first `count` stems.
fn mix(count: usize) -> Vec<f32> {
    let stems: Vec<Vec<f32>> = (0..count).map(stem).collect();
    (0..stems[0].len())
        .map(|i| stems.iter().map(|s| s[i]).sum())
        .collect()
}

/// Plays `signal` through `plugin` (CLAP, shown as `name` in the link) in real time from the
/// start the test writes to `start_file` (once every member has joined), then stays linked
/// (beating, silent) until killed.
fn play(plugin: &str, name: &str, signal: &[f32], start_file: &str) {
    let mut host = open(plugin, "clap");
    let session = serde_json::json!({ "group": "", "name": name });
    let state = with_link_session(host.save_state().unwrap(), &session);
    host.load_state(&state).unwrap();
    host.activate(FS, 512).unwrap();
    let start_ms = loop {
        if let Some(ms) = std::fs::read_to_string(start_file)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
        {
            break ms;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let call = (CALL_S * FS) as usize;
    for (k, chunk) in signal.chunks(call).enumerate() {
        let due = start_ms + (k as f64 * CALL_S * 1000.0) as u64;
        let now = now_ms();
        if due > now {
            std::thread::sleep(Duration::from_millis(due - now));
        }
        host.process([chunk, chunk], &BlockSchedule::Fixed(512), &[])
            .unwrap();
    }
    std::thread::sleep(Duration::from_secs(60));
}

/// The child side: run by [`spawn`] in a separate process.
#[test]
#[ignore = "child process of the cross-process link tests"]
fn link_child() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let start = std::env::var(START_ENV).unwrap();
    let start = start.as_str();
    match role.split_once(':') {
        Some(("channel", k)) => {
            let k: usize = k.parse().unwrap();
            play("Stem Channel", NAMES[k], &stem(k), start)
        }
        Some(("master", count)) => play("Stem Master", "", &mix(count.parse().unwrap()), start),
        _ => panic!("unknown role {role}"),
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(role: &str, group: &str, start_file: &std::path::Path) -> Kill {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "link_child", "--include-ignored", "--nocapture"])
        .env(ROLE_ENV, role)
        .env(GROUP_ENV, group)
        .env(START_ENV, start_file)
        .spawn()
        .expect("spawn a child process");
    Kill(child)
}

/// Every live member of `group` as its record says: (instance id, status, rows).
fn members(group: &LinkGroup) -> Vec<(u64, InstanceStatus, Vec<StemFigures>)> {
    let mut live = Vec::new();
    group.live_slots(&mut live);
    let mut words = [0u32; RECORD_WORDS];
    live.iter()
        .filter_map(|&(slot, id, _)| {
            group.slot(slot).read_record(&mut words).then_some(())?;
            let mut rows = Vec::new();
            let status = record::decode(&words, &mut rows).ok()?;
            Some((id, status, rows))
        })
        .collect()
}

/// The master's rows by stem name, once every one of `names` has one.
fn master_rows(group: &LinkGroup) -> Option<Vec<(String, StemFigures)>> {
    let members = members(group);
    let (_, _, rows) = members
        .iter()
        .find(|(_, s, _)| s.kind == InstanceKind::Master)?;
    Some(
        rows.iter()
            .filter_map(|r| {
                let (_, status, _) = members.iter().find(|(id, ..)| *id == r.instance_id)?;
                Some((status.name.clone(), *r))
            })
            .collect(),
    )
}

fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The offline figures: the same stems and sum through the render's attribution and loudness
/// arithmetic, with the limiter gain reduction of the master chain at its defaults, processed
/// in the plugin's 32-sample sub-blocks and floating-point mode.
fn offline(count: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let stems: Vec<Vec<f32>> = (0..count).map(stem).collect();
    let sum = mix(count);
    let n = sum.len();
    let (gr, latency) = as_the_plugin_processes(|| {
        let mut chain = MasterChain::new(1024, FS);
        chain.set_settings(&MasterSettings::default());
        chain.finish_design_now();
        chain.reset();
        let (mut l, mut r) = (sum.clone(), sum.clone());
        let mut gr = Vec::with_capacity(n);
        for (a, b) in l.chunks_mut(32).zip(r.chunks_mut(32)) {
            chain.process_block(a, b);
            gr.extend(std::iter::repeat_n(
                chain.limiter_block_max_gain_reduction_db(),
                a.len(),
            ));
        }
        (gr, chain.latency_samples())
    });
    let w = window_samples(FS);
    let windows: Vec<f32> = gr
        .chunks(w)
        .filter(|c| c.len() == w)
        .map(|c| c.iter().fold(0.0f32, |a, &b| a.max(b)))
        .collect();
    let mut rec = AttributionRecorder::new(count, FS, latency, n);
    let pairs: Vec<[&[f32]; 2]> = stems.iter().map(|s| [&s[..], &s[..]]).collect();
    rec.record([&sum, &sum], &pairs);
    let mut mix_meter = LoudnessMeter::new(2, FS);
    mix_meter.process_block(&[&sum, &sum]);
    let lu = stems
        .iter()
        .map(|s| {
            let mut m = LoudnessMeter::new(2, FS);
            m.process_block(&[s, s]);
            m.integrated_lufs() - mix_meter.integrated_lufs()
        })
        .collect();
    (
        rec.gain_reduction_shares(&windows)
            .expect("the limiter acts"),
        rec.peak_shares().expect("peaks"),
        lu,
    )
}

const NAMES: [&str; MAX_STEMS] = ["Drums", "Bass", "Synths", "Vocals", "FX", "Pad"];

/// Two and six channels (one after the other: each process plays in real time).
#[test]
fn the_masters_overview_across_processes_equals_the_offline_figures() {
    overview_case(2);
    overview_case(6);
}

/// `count` channels and a master in separate processes; with more than two, one channel's
/// process is killed afterwards.
fn overview_case(count: usize) {
    let group_name = format!("link-test-{count}-{}-{}", std::process::id(), now_ms());
    let start_file = std::env::temp_dir().join(format!("{group_name}.start"));
    let _ = std::fs::remove_file(&start_file);
    let master = spawn(&format!("master:{count}"), &group_name, &start_file);
    let mut channels: Vec<Option<Kill>> = (0..count)
        .map(|k| Some(spawn(&format!("channel:{k}"), &group_name, &start_file)))
        .collect();
    // A channel of another song: same machine, another group.
    let other_group = format!("{group_name}-other");
    let _stranger = spawn("channel:0", &other_group, &start_file);
    let group = LinkGroup::open(&group_name).unwrap();
    // Everyone plays from one moment on, once every member has joined (as in a DAW, where the
    // tracks exist before the transport starts).
    wait_until("every member to join", Duration::from_secs(60), || {
        (members(&group).len() == count + 1).then_some(())
    });
    let start = now_ms() + 300;
    let written = std::env::temp_dir().join(format!("{group_name}.start.tmp"));
    std::fs::write(&written, start.to_string()).unwrap();
    std::fs::rename(&written, &start_file).unwrap();

    // While it plays: every channel has a row, and the master's record is rewritten at least
    // every 100 ms (its heartbeat is stamped with each record).
    wait_until("five rows", Duration::from_secs(30), || {
        master_rows(&group).filter(|r| r.len() == count)
    });
    let master_slot = wait_until("the master's slot", Duration::from_secs(5), || {
        let mut live = Vec::new();
        group.live_slots(&mut live);
        live.iter()
            .find(|&&(_, _, kind)| kind == InstanceKind::Master as u32)
            .map(|&(slot, ..)| slot)
    });
    let mut last = group.slot(master_slot).heartbeat_ms();
    let mut gaps = Vec::new();
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(2) {
        let beat = group.slot(master_slot).heartbeat_ms();
        if beat != last {
            gaps.push(beat - last);
            last = beat;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    gaps.sort_unstable();
    let p95 = gaps[gaps.len() * 95 / 100];
    eprintln!(
        "gaps between the master's records: median {} ms, 95th percentile {p95} ms, longest {} ms",
        gaps[gaps.len() / 2],
        gaps[gaps.len() - 1]
    );
    // The 95th percentile, so one scheduling hiccup of a loaded test machine is not a failure.
    assert!(p95 <= 100, "records {p95} ms apart (95th percentile)");

    // After the song: the figures settle once the master has analysed everything.
    let end = start + (SECONDS * 1000.0) as u64 + 1500;
    std::thread::sleep(Duration::from_millis(end.saturating_sub(now_ms())));
    let rows = wait_until("settled rows", Duration::from_secs(10), || {
        let a = master_rows(&group)?;
        std::thread::sleep(Duration::from_millis(300));
        let b = master_rows(&group)?;
        (a == b && a.len() == count).then_some(b)
    });
    let (gr, peaks, lu) = offline(count);
    for (k, name) in NAMES.iter().take(count).enumerate() {
        let (_, f) = rows
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"));
        let live_gr = f.limiter_gain_reduction_share_percent.expect("limiting") as f64;
        let live_peaks = f.peak_share_percent.expect("peaks") as f64;
        let live_lu = f.loudness_vs_mix_lu.expect("loudness") as f64;
        eprintln!(
            "{name}: gain reduction {live_gr:.2} % (offline {:.2}), peaks {live_peaks:.2} % \
             ({:.2}), loudness vs mix {live_lu:+.3} LU ({:+.3})",
            gr[k], peaks[k], lu[k]
        );
        assert!(
            (live_gr - gr[k]).abs() <= 5.0,
            "{name}: {live_gr} vs {}",
            gr[k]
        );
        assert!((live_peaks - peaks[k]).abs() <= 5.0, "{name}");
        assert!(
            (live_lu - lu[k]).abs() <= 0.2,
            "{name}: {live_lu} vs {}",
            lu[k]
        );
    }
    // Each channel publishes its 1/3-octave band-energy frame: the bass's 55 Hz sits in its
    // 50-63 Hz bands, 30 dB over its 1 kHz band; with the chord, the other way round.
    let band = |status: &InstanceStatus, hz: f32| {
        let k = record::BAND_CENTRES_HZ
            .iter()
            .position(|&c| c == hz)
            .expect("a nominal centre");
        status.band_db[k]
    };
    for (_, status, _) in members(&group) {
        let low = band(&status, 50.0).max(band(&status, 63.0));
        let mid = band(&status, 1000.0);
        match status.name.as_str() {
            "Bass" => assert!(low > mid + 30.0, "Bass: {:?}", status.band_db),
            "Synths" => {
                let chord = band(&status, 630.0).max(band(&status, 400.0));
                assert!(chord > low + 30.0, "Synths: {:?}", status.band_db)
            }
            _ => {}
        }
    }
    // The drums make the limiter work: theirs is by far the largest share (the bass and the
    // chord standing under each hit take the rest, by their share of the sum at its peaks).
    assert!(
        gr[0] > 60.0 && gr[1..].iter().all(|&g| g < gr[0] / 3.0),
        "{gr:?}"
    );
    // The stranger in the other group is not in this one.
    assert_eq!(
        members(&group)
            .iter()
            .filter(|(_, s, _)| s.kind == InstanceKind::Channel)
            .count(),
        count
    );
    if count <= 2 {
        drop((master, channels, _stranger));
        let _ = std::fs::remove_file(&start_file);
        leave_no_segment(group);
        leave_no_segment(LinkGroup::open(&other_group).unwrap());
        return;
    }

    // Kill the FX channel's process: its row goes within the expiry, the others stay as they
    // were (nothing more is played, so their figures must not move).
    let killed = Instant::now();
    channels[count - 2].take();
    let after = wait_until(
        "the killed stem's row to go",
        Duration::from_secs(4),
        || master_rows(&group).filter(|r| r.len() == count - 1),
    );
    let gone_after = killed.elapsed();
    eprintln!("killed channel's row gone after {gone_after:?}");
    // The expiry (2 s) plus a link tick and this test's polling, with room for a loaded
    // machine's scheduling.
    assert!(gone_after < Duration::from_millis(3000), "{gone_after:?}");
    assert!(!after.iter().any(|(n, _)| n == NAMES[count - 2]));
    for (name, f) in &after {
        let (_, before) = rows.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(f, before, "{name} changed when another stem left");
    }
    drop((master, channels, _stranger));
    let _ = std::fs::remove_file(&start_file);
    leave_no_segment(group);
    leave_no_segment(LinkGroup::open(&other_group).unwrap());
}

/// Waits until the killed members' slots expire, then drops the mapping: the last one out
/// removes the segment (killed processes could not), so tests leave nothing in /dev/shm.
fn leave_no_segment(group: LinkGroup) {
    wait_until("every slot to expire", Duration::from_secs(5), || {
        let mut live = Vec::new();
        group.live_slots(&mut live);
        live.is_empty().then_some(())
    });
}

/// A host that duplicates a track copies the plugin's saved state; the copy must get a row of
/// its own, not take over the original's (the identity is never saved). Both formats, in this
/// process (two instances with the same state), beside a master.
#[test]
fn a_duplicated_channel_gets_its_own_row() {
    for format in support::FORMATS {
        let group_name = format!("dup-test-{format}-{}-{}", std::process::id(), now_ms());
        let session = serde_json::json!({ "group": group_name, "name": "Kick" });
        let mut original = open("Stem Channel", format);
        let state = with_link_session(original.save_state().unwrap(), &session);
        original.load_state(&state).unwrap();
        let mut copy = open("Stem Channel", format);
        copy.load_state(&original.save_state().unwrap()).unwrap();
        let mut master = open("Stem Master", format);
        let master_state = with_link_session(master.save_state().unwrap(), &session);
        master.load_state(&master_state).unwrap();
        let hosts: [&mut Box<dyn PluginHost>; 3] = [&mut original, &mut copy, &mut master];
        let tone: Vec<f32> = (0..4800).map(|i| 0.1 * (i as f32 * 0.05).sin()).collect();
        for host in hosts {
            host.activate(FS, 512).unwrap();
            host.process([&tone, &tone], &BlockSchedule::Fixed(512), &[])
                .unwrap();
        }
        let group = LinkGroup::open(&group_name).unwrap();
        let rows = wait_until("two rows", Duration::from_secs(5), || {
            master_rows(&group).filter(|r| r.len() == 2)
        });
        assert!(
            rows.iter().all(|(name, _)| name == "Kick"),
            "{format}: {rows:?}"
        );
        assert_ne!(rows[0].1.instance_id, rows[1].1.instance_id);
        drop((original, copy, master));
        leave_no_segment(group);
    }
}

/// `state` (CLAP: length-prefixed JSON; VST3: bare JSON) with its `link` field set.
fn with_link_session(state: Vec<u8>, session: &serde_json::Value) -> Vec<u8> {
    let (prefix, json) = match state.first() {
        Some(b'{') => (Vec::new(), &state[..]),
        _ => (state[..8].to_vec(), &state[8..]),
    };
    let mut value: serde_json::Value = serde_json::from_slice(json).expect("JSON state");
    let fields = value
        .get_mut("fields")
        .and_then(|f| f.as_object_mut())
        .expect("persisted fields");
    fields.insert(
        "link".to_string(),
        serde_json::Value::String(session.to_string()),
    );
    let body = serde_json::to_vec(&value).unwrap();
    if prefix.is_empty() {
        body
    } else {
        let mut out = (body.len() as u64).to_le_bytes().to_vec();
        out.extend(body);
        out
    }
}

/// The whole-chain compare as a channel sees it: when the group's master asks for it, the
/// channel plays its unprocessed input turned by its own measured net loudness change (a pure,
/// constant gain on the input), says so in its record, and goes back when the master stops
/// asking. The master here is the test itself, publishing a master's record into the group.
#[test]
fn a_channel_follows_the_masters_whole_chain_compare_at_matched_loudness() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let group_name = format!("compare-test-{}-{}", std::process::id(), now_ms());
    let group = Arc::new(LinkGroup::open(&group_name).unwrap());
    let master_id = stem_plugin_common::link::new_instance_id();
    let slot = group
        .claim(master_id, InstanceKind::Master as u32)
        .expect("a slot");
    let compare = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let fake_master = {
        let (group, compare, stop) = (group.clone(), compare.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut words = [0u32; RECORD_WORDS];
            while !stop.load(Ordering::Relaxed) {
                let mut status = InstanceStatus::new(InstanceKind::Master, "test master");
                status.sample_rate_hz = FS as f32;
                status.compare = compare.load(Ordering::Relaxed);
                record::encode(&status, &[], &mut words);
                group.slot(slot).write_record(&words);
                group.slot(slot).beat(master_id, now_ms());
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let mut channel = open("Stem Channel", "clap");
    let session = serde_json::json!({ "group": group_name, "name": "Keys" });
    let state = with_link_session(channel.save_state().unwrap(), &session);
    channel.load_state(&state).unwrap();
    // A +9 dB high shelf at 12 kHz: the processed noise is louder and brighter than the raw.
    for (name, text) in [("EQ On", "On"), ("EQ 7 On", "On"), ("EQ 7 Gain", "9")] {
        let p = support::param(channel.as_ref(), name);
        let v = channel
            .text_to_value(p.id, text)
            .unwrap_or_else(|e| panic!("{name} = {text}: {e}"));
        channel.set_param_value(p.id, v).unwrap();
    }
    channel.activate(FS, 512).unwrap();
    // Linked, and it has seen the master (its loudness readout then runs).
    wait_until("the channel's record", Duration::from_secs(5), || {
        members(&group)
            .iter()
            .any(|(_, s, _)| s.kind == InstanceKind::Channel)
            .then_some(())
    });
    std::thread::sleep(Duration::from_millis(200));
    let n = (6.0 * FS) as usize;
    let noise: Vec<f32> = (0..n).map(|i| 0.1 * hash_noise(i as u64) as f32).collect();
    let processed = channel
        .process([&noise, &noise], &BlockSchedule::Fixed(512), &[])
        .unwrap();

    compare.store(true, Ordering::Relaxed);
    let comparing = wait_until("the channel to compare", Duration::from_secs(2), || {
        members(&group)
            .iter()
            .find(|(_, s, _)| s.kind == InstanceKind::Channel)
            .filter(|(_, s, _)| s.compare)
            .map(|_| ())
    });
    let _ = comparing;
    let raw: Vec<f32> = (0..n)
        .map(|i| 0.1 * hash_noise(n as u64 + i as u64) as f32)
        .collect();
    let compared = channel
        .process([&raw, &raw], &BlockSchedule::Fixed(512), &[])
        .unwrap();
    // After the 10 ms cross-fade the output is the input times one constant gain.
    let settled = (0.05 * FS) as usize;
    let ratios: Vec<f64> = (settled..n)
        .filter(|&i| raw[i].abs() > 0.01)
        .map(|i| compared[0][i] as f64 / raw[i] as f64)
        .collect();
    let gain = ratios[0];
    assert!(
        ratios.iter().all(|r| (r / gain - 1.0).abs() < 1e-4),
        "not a constant gain on the input"
    );
    // That gain matches the loudness: the compared stem is as loud as the processed one.
    let lufs = |x: &[f32]| {
        let mut m = LoudnessMeter::new(2, FS);
        m.process_block(&[x, x]);
        m.integrated_lufs()
    };
    let (processed_lufs, compared_lufs, raw_lufs) = (
        lufs(&processed[0][n / 2..]),
        lufs(&compared[0][settled..]),
        lufs(&raw[settled..]),
    );
    eprintln!(
        "processed {processed_lufs:.2} LUFS, raw {raw_lufs:.2}, compared {compared_lufs:.2} \
         (gain {:+.2} dB)",
        20.0 * gain.log10()
    );
    assert!(
        processed_lufs - raw_lufs > 2.0,
        "the shelf did not make it louder"
    );
    assert!((compared_lufs - processed_lufs).abs() < 0.5);

    // The master stops asking: the channel processes again.
    compare.store(false, Ordering::Relaxed);
    wait_until(
        "the channel to stop comparing",
        Duration::from_secs(2),
        || {
            members(&group)
                .iter()
                .find(|(_, s, _)| s.kind == InstanceKind::Channel)
                .filter(|(_, s, _)| !s.compare)
                .map(|_| ())
        },
    );
    let again = channel
        .process([&noise, &noise], &BlockSchedule::Fixed(512), &[])
        .unwrap();
    assert!((lufs(&again[0][n / 2..]) - processed_lufs).abs() < 0.2);
    stop.store(true, Ordering::Relaxed);
    fake_master.join().unwrap();
    group.slot(slot).release(master_id);
    drop(channel);
    leave_no_segment(Arc::into_inner(group).expect("the only reference"));
}
