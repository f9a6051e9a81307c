//! The Stem Master's reference player without a host: a WAV at 44.1 kHz is decoded and
//! resampled by the loader's worker, handed to the audio side, and heard on the output at the
//! file's level and frequency once A/B is on the reference; the audio side never allocates;
//! replacing and removing files gives the old tracks back to be freed off the audio thread; a
//! file that is not audio is reported by name; an offline render plays the master only.

#[path = "../../../shared-dsp/tests/alloc_support/mod.rs"]
mod alloc_support;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use shared_dsp::reference::player::{Playback, TransportState};
use stem_master::reference::audio::{AudioReference, ReferenceShared};
use stem_master::reference::loader::SlotStatus;
use stem_master::reference::settings::ReferenceSettings;

const FS: f64 = 48_000.0;
const BLOCK: usize = 480;

/// A 1 kHz sine at `amp` for `seconds`, 16-bit stereo at 44.1 kHz, in a temporary file.
fn sine_wav(name: &str, amp: f64, seconds: f64) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("stem-master-ref-{}-{name}.wav", std::process::id()));
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..(seconds * 44_100.0) as usize {
        let x = amp * (std::f64::consts::TAU * 1000.0 * i as f64 / 44_100.0).sin();
        let q = (x * 32_767.0).round() as i16;
        w.write_sample(q).unwrap();
        w.write_sample(q).unwrap();
    }
    w.finalize().unwrap();
    path
}

fn playing(position: usize) -> TransportState {
    TransportState {
        playing: true,
        position_samples: Some(position as i64),
    }
}

/// Waits until `slot` is no longer loading.
fn wait_loaded(shared: &ReferenceShared, slot: usize) -> SlotStatus {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let s = shared.loader.status()[slot].clone();
        if !matches!(s, SlotStatus::Loading { .. }) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("slot {slot} still loading after 30 s");
}

/// Plays `blocks` blocks of silence as the master; returns the left output and the audio
/// side's allocations.
fn play(
    audio: &mut AudioReference,
    settings: &ReferenceSettings,
    shared: &ReferenceShared,
    from_block: usize,
    blocks: usize,
) -> (Vec<f32>, usize) {
    let mut out = Vec::with_capacity(blocks * BLOCK);
    let mut l = vec![0.0f32; BLOCK];
    let mut r = vec![0.0f32; BLOCK];
    let allocations = alloc_support::allocations(|| {
        for k in from_block..from_block + blocks {
            l.fill(0.0);
            r.fill(0.0);
            audio.process(&mut l, &mut r, playing(k * BLOCK), 0, settings, shared);
            out.extend_from_slice(&l);
        }
    });
    (out, allocations)
}

fn rms_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

#[test]
fn a_loaded_reference_is_heard_at_its_own_level_and_pitch_and_the_audio_side_never_allocates() {
    let shared = ReferenceShared::default();
    let settings = ReferenceSettings::default();
    let mut audio = AudioReference::new(&shared, 1024, FS);
    audio.set_sample_rate(FS);
    shared.loader.set_sample_rate(FS);
    let path = sine_wav("a", 0.5, 4.0);
    shared.loader.load(0, &path);
    let status = wait_loaded(&shared, 0);
    let SlotStatus::Loaded {
        duration_s,
        source_rate_hz,
        ..
    } = status
    else {
        panic!("{status:?}");
    };
    assert_eq!(source_rate_hz, 44_100);
    assert!((duration_s - 4.0).abs() < 1e-3, "{duration_s}");
    settings.set_playback(Playback::Loop);
    shared.listen_reference.store(true, Ordering::Relaxed);
    let (out, allocations) = play(&mut audio, &settings, &shared, 0, 200);
    assert_eq!(allocations, 0, "the audio side allocated");
    // After the 25 ms fade: the file's sine at its level (-9.03 dB RMS for 0.5 peak; the
    // master is silent, so the loudness match has nothing to match and leaves unity gain).
    let steady = &out[BLOCK * 20..];
    assert!(
        (rms_db(steady) - (-9.031)).abs() < 0.05,
        "{}",
        rms_db(steady)
    );
    let crossings = steady
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    let seconds = steady.len() as f64 / FS;
    assert!(
        (crossings as f64 / seconds - 1000.0).abs() < 3.0,
        "{crossings} in {seconds} s"
    );
    std::fs::remove_file(path).ok();
}

#[test]
fn replaced_and_removed_tracks_come_back_and_bad_files_are_named() {
    let shared = ReferenceShared::default();
    let settings = ReferenceSettings::default();
    let mut audio = AudioReference::new(&shared, 1024, FS);
    shared.loader.set_sample_rate(FS);
    let a = sine_wav("b1", 0.5, 1.0);
    let b = sine_wav("b2", 0.25, 1.0);
    shared.loader.load(1, &a);
    wait_loaded(&shared, 1);
    play(&mut audio, &settings, &shared, 0, 10);
    shared.loader.load(1, &b);
    wait_loaded(&shared, 1);
    let (_, allocations) = play(&mut audio, &settings, &shared, 10, 10);
    assert_eq!(allocations, 0);
    shared.loader.clear(1);
    std::thread::sleep(Duration::from_millis(100));
    let (_, allocations) = play(&mut audio, &settings, &shared, 20, 10);
    assert_eq!(allocations, 0);
    assert_eq!(shared.loader.status()[1], SlotStatus::Empty);

    let junk =
        std::env::temp_dir().join(format!("stem-master-ref-{}-junk.wav", std::process::id()));
    std::fs::write(&junk, vec![0x5a_u8; 10_000]).unwrap();
    shared.loader.load(2, &junk);
    match wait_loaded(&shared, 2) {
        SlotStatus::Failed { message } => assert!(message.contains("junk.wav"), "{message}"),
        other => panic!("{other:?}"),
    }
    for p in [a, b, junk] {
        std::fs::remove_file(p).ok();
    }
}

#[test]
fn an_offline_render_plays_the_master_whatever_the_switch() {
    let shared = ReferenceShared::default();
    let settings = ReferenceSettings::default();
    let mut audio = AudioReference::new(&shared, 1024, FS);
    shared.loader.set_sample_rate(FS);
    let path = sine_wav("c", 0.5, 2.0);
    shared.loader.load(0, &path);
    wait_loaded(&shared, 0);
    shared.listen_reference.store(true, Ordering::Relaxed);
    shared.offline.store(true, Ordering::Relaxed);
    let (out, _) = play(&mut audio, &settings, &shared, 0, 100);
    assert!(out.iter().all(|&x| x == 0.0));
    std::fs::remove_file(path).ok();
}
