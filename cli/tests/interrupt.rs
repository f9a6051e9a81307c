//! Interrupted and concurrent runs lose nothing: Ctrl-C (SIGINT) during `stem render` leaves no
//! temporary file and exits with 130; a second run into a folder another run holds is refused;
//! temporary names are unpredictable (a planted file at a guessable name is never used).

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stem_cli::atomic::{write_atomic, LOCK_FILE};

fn stem_set(dir: &Path, seconds: f64) -> Vec<PathBuf> {
    let st = stems(seconds);
    let mix = mix_of(&st);
    write_set(dir, &st, &mix).0
}

/// Hidden temporaries (`.<name>.<random><suffix>`) in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.') && n.contains(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ctrl_c_while_writing_leaves_no_temporary_file() {
    let dir = temp_dir("interrupt_ctrl_c");
    let paths = stem_set(&dir, 20.0);
    let out = dir.join("masters");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stem"))
        .arg("render")
        .args(&paths)
        .args(["--out", out.to_str().unwrap(), "--bits", "24,16", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a temporary exists (a master or plot being written), then interrupt.
    let start = Instant::now();
    while temporaries(&out).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no temporary file seen"
        );
        if child.try_wait().unwrap().is_some() {
            panic!("render finished before a temporary file was seen");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(temporaries(&out), Vec::<String>::new());
}

#[test]
fn a_second_run_into_a_held_folder_is_refused() {
    let dir = temp_dir("interrupt_lock");
    let paths = stem_set(&dir, 1.0);
    let out = dir.join("masters");
    std::fs::create_dir_all(&out).unwrap();
    // Another run holds the folder.
    let held = std::fs::File::create(out.join(LOCK_FILE)).unwrap();
    held.lock().unwrap();
    let mut args = vec!["render"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--out", s(&out), "--deliver", "streaming"]);
    let run = stem(&args);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another stem run is writing into this folder"),
        "{err}"
    );
    assert!(!out.join("streaming.wav").exists());
    // Released: the same command now runs.
    drop(held);
    let run = stem(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn temporary_names_are_unpredictable_and_cleaned_up_on_error() {
    let dir = temp_dir("interrupt_names");
    let target = dir.join("out.txt");
    let mut seen = Vec::new();
    for _ in 0..2 {
        write_atomic(&target, ".tmp", "cannot write", |tmp| {
            seen.push(tmp.to_path_buf());
            std::fs::write(tmp, "x").unwrap();
            Ok(())
        })
        .unwrap();
    }
    assert_ne!(seen[0], seen[1]);
    let name = seen[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(".out.txt.") && name.ends_with(".tmp"),
        "{name}"
    );
    assert!(!name.contains(&std::process::id().to_string()), "{name}");
    // A failing writer leaves neither a temporary nor a target.
    let failed = dir.join("failed.txt");
    let r = write_atomic(&failed, ".tmp", "cannot write", |tmp| {
        std::fs::write(tmp, "half").unwrap();
        Err(stem_cli::Error::usage("writer failed"))
    });
    assert!(r.is_err());
    assert!(!failed.exists());
    assert_eq!(temporaries(&dir), Vec::<String>::new());
}
