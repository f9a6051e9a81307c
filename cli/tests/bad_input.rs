//! Unusable input gives a clear error naming the file, a non-zero exit, and leaves every file
//! as it was: truncated WAV, 8-bit WAV, zero-length file, a text file renamed .wav, mismatched
//! sample rates; a stem given twice to check or render.

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// A valid stem set in `dir` plus a snapshot of every file's bytes.
fn setup(name: &str) -> (PathBuf, Vec<PathBuf>, PathBuf) {
    let dir = temp_dir(name);
    let st = stems(1.0);
    let mix = mix_of(&st);
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    (dir, paths, mix_path)
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

/// Runs check and report on the set with `bad` as the first stem; both must exit 2 with a
/// message naming `bad` and containing `words`, and change nothing in `dir`.
fn expect_error(dir: &Path, paths: &[PathBuf], mix: &Path, bad: &Path, words: &str) {
    let before = snapshot(dir);
    let mut args = vec!["check", s(bad)];
    args.extend(paths[1..].iter().map(|p| s(p)));
    args.extend(["--mix", s(mix)]);
    for (i, out) in [stem(&args), stem(&["report", s(bad), "--out", s(dir)])]
        .iter()
        .enumerate()
    {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "run {i}: {err}");
        assert!(
            err.contains(&bad.file_name().unwrap().to_string_lossy().to_string()),
            "{err}"
        );
        assert!(err.contains(words), "expected '{words}' in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(snapshot(dir), before, "files changed");
}

#[test]
fn truncated_wav() {
    let (dir, paths, mix) = setup("bad_truncated");
    let bad = dir.join("drums_cut.wav");
    let bytes = std::fs::read(&paths[0]).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(&dir, &paths, &mix, &bad, "truncated");
    // Cut inside the header as well.
    let bad2 = dir.join("drums_header.wav");
    std::fs::write(&bad2, &bytes[..30]).unwrap();
    expect_error(&dir, &paths, &mix, &bad2, "WAV");
}

#[test]
fn eight_bit_wav() {
    let (dir, paths, mix) = setup("bad_8bit");
    let bad = dir.join("drums8.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SR,
        bits_per_sample: 8,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&bad, spec).unwrap();
    for i in 0..4800 {
        w.write_sample((i % 100) as i8).unwrap();
        w.write_sample((i % 50) as i8).unwrap();
    }
    w.finalize().unwrap();
    expect_error(&dir, &paths, &mix, &bad, "8-bit");
}

#[test]
fn zero_length_file() {
    let (dir, paths, mix) = setup("bad_empty");
    let bad = dir.join("empty.wav");
    std::fs::write(&bad, b"").unwrap();
    expect_error(&dir, &paths, &mix, &bad, "empty file");
}

#[test]
fn text_renamed_wav() {
    let (dir, paths, mix) = setup("bad_text");
    let bad = dir.join("notes.wav");
    std::fs::write(&bad, "these are my mix notes, not audio\n".repeat(20)).unwrap();
    expect_error(&dir, &paths, &mix, &bad, "not a valid WAV file");
}

#[test]
fn missing_file() {
    let (dir, paths, mix) = setup("bad_missing");
    expect_error(&dir, &paths, &mix, &dir.join("nowhere.wav"), "no such file");
}

#[test]
fn mismatched_sample_rates() {
    let (dir, paths, mix) = setup("bad_rates");
    let before = snapshot(&dir);
    let odd = dir.join("drums44.wav");
    write(&odd, &[vec![0.1; 44_100], vec![0.1; 44_100]], 44_100);
    let mut args = vec!["check", "--json", s(&odd)];
    args.extend(paths[1..].iter().map(|p| s(p)));
    args.extend(["--mix", s(&mix)]);
    let out = stem(&args);
    // The set reads but cannot pass: exit 1 with the mismatch named.
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let rate = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "sample_rate")
        .unwrap();
    assert_eq!(rate["severity"], "fail");
    assert_eq!(rate["file"], "drums44.wav");
    assert!(rate["message"]
        .as_str()
        .unwrap()
        .contains("44100 Hz but the mix is 48000 Hz"));
    assert!(v["null_test"].is_null());
    let mut after = snapshot(&dir);
    after.retain(|(p, _)| p != &odd);
    assert_eq!(after, before);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(stem(&["check", "a.wav"]).status.code(), Some(2)); // no --mix
    assert_eq!(stem(&["frobnicate"]).status.code(), Some(2));
    let (dir, paths, mix) = setup("bad_usage");
    let _ = dir;
    // The mix listed as a stem, and a stem given twice.
    let out = stem(&["check", s(&paths[0]), s(&mix), "--mix", s(&mix)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the mix itself"));
    let out = stem(&["check", s(&paths[0]), s(&paths[0]), "--mix", s(&mix)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("given twice"));
    // Render refuses a stem given twice before reading anything, and writes nothing.
    let out_dir = dir.join("masters");
    let out = stem(&[
        "render",
        s(&paths[0]),
        s(&paths[1]),
        s(&paths[0]),
        "--deliver",
        "streaming",
        "--out",
        s(&out_dir),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("given twice"), "{err}");
    assert!(!out_dir.exists(), "render wrote {}", out_dir.display());
}
