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

/// Deterministic noise (an LCG), stereo-ish: the right channel is the left delayed.
fn noise(seconds: f64, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..(seconds * FS) as usize)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.5
        })
        .collect()
}

#[test]
fn the_captured_master_against_a_reference_gives_stem_compares_figures_and_match() {
    use shared_dsp::meter::comparison::{compare_programmes, measure_programme};
    use stem_master::reference::analysis::MasterAnalysis;

    // The reference: the master's noise through a one-pole low-pass (darker) and 4 dB down,
    // written as 32-bit float at the session rate so it decodes to exactly these samples.
    let master = noise(12.0, 1);
    let mut y = 0.0f32;
    let reference: Vec<f32> = master
        .iter()
        .map(|&x| {
            y += 0.35 * (x - y);
            y * 0.63
        })
        .collect();
    let path =
        std::env::temp_dir().join(format!("stem-master-ref-{}-dark.wav", std::process::id()));
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: FS as u32,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for &x in &reference {
        w.write_sample(x).unwrap();
        w.write_sample(x).unwrap();
    }
    w.finalize().unwrap();

    let shared = ReferenceShared::default();
    let settings = ReferenceSettings::default();
    let mut audio = AudioReference::new(&shared, 1024, FS);
    audio.set_sample_rate(FS);
    shared.loader.set_sample_rate(FS);
    shared.loader.load(0, &path);
    wait_loaded(&shared, 0);
    let start = Instant::now();
    while shared.loader.measured(0).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "reference not measured"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The master plays through the audio side while the capture records it.
    let mut analysis = MasterAnalysis::default();
    analysis.start_capture(&shared, FS);
    let mut l = vec![0.0f32; BLOCK];
    let mut r = vec![0.0f32; BLOCK];
    let allocations = alloc_support::allocations(|| {
        for (k, block) in master.chunks(BLOCK).enumerate() {
            let n = block.len();
            l[..n].copy_from_slice(block);
            r[..n].copy_from_slice(block);
            audio.process(
                &mut l[..n],
                &mut r[..n],
                playing(k * BLOCK),
                0,
                &settings,
                &shared,
            );
        }
    });
    assert_eq!(allocations, 0, "the audio side allocated while capturing");
    analysis.stop_capture(&shared);
    audio.process(&mut l, &mut r, playing(0), 0, &settings, &shared);

    let start = Instant::now();
    loop {
        analysis.poll(&shared, 0, shared.loader.measured(0), 100.0, 8);
        if analysis.comparison().is_some() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no comparison");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same functions on the same samples, directly: `stem compare`'s figures.
    let m = measure_programme(&master, &master, FS);
    let rf = measure_programme(&reference, &reference, FS);
    let expected = compare_programmes(&m, &rf, 100.0, 8);
    let got = analysis.comparison().unwrap();
    assert_eq!(got.reference_gain_db, expected.reference_gain_db);
    let bands = |c: &shared_dsp::meter::comparison::ProgrammeComparison| {
        c.match_eq.as_ref().map(|m| {
            m.bands
                .iter()
                .map(|b| (b.kind, b.freq_hz, b.gain_db, b.q))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(bands(got), bands(&expected));
    assert!(
        !bands(got).unwrap().is_empty(),
        "a darker reference needs some treble"
    );
    let (captured, seconds) = analysis.master().unwrap();
    assert!((seconds - 12.0).abs() < 0.02, "{seconds}");
    assert_eq!(captured.figures.integrated_lufs, m.figures.integrated_lufs);
    std::fs::remove_file(path).ok();
}
