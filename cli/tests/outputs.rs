//! Outputs never land outside `--out`, never on each other and never on a user's files: a
//! delivery name is checked as a file name (no `..`, no separator, not absolute); deliveries,
//! word lengths, reports and the render summary that would share a file are refused before
//! any rendering, with both writers named; `stem report` of two inputs with one file name
//! refuses to keep one report; `stem demo` refuses a folder holding other files.

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn stem_set(dir: &Path) -> Vec<PathBuf> {
    let st = stems(1.0);
    let mix = mix_of(&st);
    write_set(dir, &st, &mix).0
}

/// Runs `stem render` on the set with `extra` arguments; expects exit 2 with every word of
/// `words` in the message, and that `out` was not created.
fn expect_refused(dir: &Path, extra: &[&str], words: &[&str]) {
    let paths = stem_set(dir);
    let out = dir.join("masters");
    let mut args = vec!["render"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--out", s(&out)]);
    args.extend(extra);
    let run = stem(&args);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    for w in words {
        assert!(err.contains(w), "expected '{w}' in: {err}");
    }
    assert!(!out.exists(), "output folder created before the refusal");
}

#[test]
fn delivery_name_cannot_leave_the_output_folder() {
    let dir = temp_dir("outputs_traversal");
    let victim_dir = dir.join("victimdir");
    std::fs::create_dir_all(&victim_dir).unwrap();
    let victim = victim_dir.join("important.wav");
    std::fs::write(&victim, b"precious").unwrap();
    for name in [
        "../victimdir/important",
        "/tmp/stem-absolute-victim",
        ".hidden",
        "a/b",
    ] {
        let preset = dir.join("preset.toml");
        std::fs::write(
            &preset,
            format!("[deliveries.\"{name}\"]\ntarget_lufs = -14.0\nceiling_dbtp = -1.0\n"),
        )
        .unwrap();
        expect_refused(
            &dir,
            &["--preset", s(&preset), "--deliver", name],
            &["delivery name", name],
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!Path::new("/tmp/stem-absolute-victim.wav").exists());
}

#[test]
fn two_deliveries_writing_one_file_are_refused_up_front() {
    let dir = temp_dir("outputs_collide");
    let preset = dir.join("preset.toml");
    std::fs::write(
        &preset,
        "[deliveries.streaming-16bit]\ntarget_lufs = -14.0\nceiling_dbtp = -1.0\n\
         [deliveries.render]\ntarget_lufs = -14.0\nceiling_dbtp = -1.0\n",
    )
    .unwrap();
    // streaming at 16 bits and streaming-16bit at 24 bits: both streaming-16bit.wav.
    expect_refused(
        &dir,
        &[
            "--preset",
            s(&preset),
            "--deliver",
            "streaming,streaming-16bit",
            "--bits",
            "24,16",
        ],
        &["streaming-16bit.wav", "would both write"],
    );
    // A delivery named `render` would overwrite the summary render.json with its report.
    expect_refused(
        &dir,
        &["--preset", s(&preset), "--deliver", "render"],
        &["render.json", "render summary"],
    );
}

#[test]
fn a_delivery_or_word_length_asked_twice_is_refused_up_front() {
    let dir = temp_dir("outputs_twice");
    expect_refused(
        &dir,
        &["--deliver", "streaming,streaming"],
        &["'streaming' is asked for twice"],
    );
    expect_refused(
        &dir,
        &["--deliver", "streaming", "--bits", "24,24"],
        &["--bits 24 is asked for twice"],
    );
}

#[test]
fn report_of_two_files_with_one_name_is_refused() {
    let dir = temp_dir("outputs_report_names");
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        write(&d.join("x.wav"), &[vec![0.1; 4_800], vec![0.1; 4_800]], SR);
    }
    let out = dir.join("reports");
    let run = stem(&[
        "report",
        s(&a.join("x.wav")),
        s(&b.join("x.wav")),
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("x.md") && err.contains("would both write"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn demo_refuses_a_folder_with_other_files_and_reuses_its_own() {
    let dir = temp_dir("outputs_demo");
    let mine = dir.join("mix.wav");
    std::fs::write(&mine, b"my own mix").unwrap();
    let run = stem(&["demo", "--seconds", "4", "--out", s(&dir)]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&mine).unwrap(), b"my own mix");

    // A new folder, then the same folder again: the demo reuses its own.
    let demo = dir.join("demo");
    for _ in 0..2 {
        let run = stem(&["demo", "--seconds", "4", "--out", s(&demo)]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    assert!(demo.join("masters/streaming.wav").is_file());
}
