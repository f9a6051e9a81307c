//! `cargo xtask`: bundling, installing and testing the suite's plugins.
//!
//! - `cargo xtask bundle [ARGS]`: nice-plug's bundler. With no package it bundles both plugins in
//!   release mode into `target/bundled/`.
//! - `cargo xtask install [DIR]`: bundles both plugins, then copies the `.clap` bundles into
//!   `~/.clap` and the `.vst3` bundles into `~/.vst3`, or both into `DIR` when given.
//! - `cargo xtask test`: builds test bundles (debug, with nice-plug's `assert_process_allocs`, so
//!   any allocation on the audio thread aborts) into `target/test-bundles/bundled/`, then runs
//!   the whole workspace's test suite against them. When the selection includes the editor
//!   screenshot test, it also builds the plugins' standalone applications (debug) next to the
//!   test bundles for it to open under Xvfb.
//! - `cargo xtask bench`: runs the DSP benchmarks, then bundles both plugins and times them
//!   through our own host (`host/benches/`), each figure in x real time beside the LV2 plugin
//!   it answers when `lv2file` and the plugins are installed.
//! - `cargo xtask demo [ARGS]`: bundles both plugins in release mode, then builds the `stem`
//!   command-line tool in release mode and runs `stem demo ARGS` (a synthetic stem set checked,
//!   mastered for streaming, club and vinyl, and reported on, in `stem-demo/`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use nice_plug_xtask::Result;

/// The plugin packages and the bundle names `bundler.toml` gives them.
const PLUGINS: [(&str, &str); 2] = [
    ("stem-channel", "Stem Channel"),
    ("stem-master", "Stem Master"),
];

/// Where `cargo xtask test` builds the allocation-checking test bundles, apart from the release
/// bundles users install.
const TEST_TARGET_DIR: &str = "target/test-bundles";

fn main() -> Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let mut args = env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "bundle" => bundle(&rest),
        "install" => install(rest.first().map(PathBuf::from)),
        "test" => test(&rest),
        "demo" => demo(&rest),
        "bench" => bench(&rest),
        _ => {
            eprintln!(
                "Usage:\n  cargo xtask bundle [-p <package> ...] [cargo build args]\n  \
                 cargo xtask install [DIR]\n  cargo xtask test [cargo test args]\n  \
                 cargo xtask bench [criterion args]\n  \
                 cargo xtask demo [stem demo args, e.g. --seconds 60 --out DIR]"
            );
            if command.is_empty() || command == "help" || command == "--help" {
                Ok(())
            } else {
                anyhow_error(format!("unknown command '{command}'"))
            }
        }
    }
}

/// `bundle` with no package given means both plugins, release mode.
fn bundle(args: &[String]) -> Result<()> {
    let names_package = args
        .iter()
        .any(|a| a == "-p" || !a.starts_with('-') && PLUGINS.iter().any(|(p, _)| p == a));
    let mut full = vec!["bundle".to_string()];
    if names_package {
        full.extend(args.iter().cloned());
    } else {
        for (package, _) in PLUGINS {
            full.extend(["-p".to_string(), package.to_string()]);
        }
        full.extend(args.iter().cloned());
        if !args
            .iter()
            .any(|a| a == "--release" || a.starts_with("--profile"))
        {
            full.push("--release".to_string());
        }
    }
    nice_plug_xtask::main_with_args("cargo xtask", full)
}

fn install(destination: Option<PathBuf>) -> Result<()> {
    bundle(&[])?;
    let home = env::var_os("HOME").map(PathBuf::from);
    let (clap_dir, vst3_dir) = match (&destination, &home) {
        (Some(dir), _) => (dir.clone(), dir.clone()),
        (None, Some(home)) => (home.join(".clap"), home.join(".vst3")),
        (None, None) => {
            return anyhow_error("HOME is not set; give a destination directory".into())
        }
    };
    for (_, name) in PLUGINS {
        for (ext, dir) in [("clap", &clap_dir), ("vst3", &vst3_dir)] {
            let source = Path::new("target/bundled").join(format!("{name}.{ext}"));
            let target = dir.join(format!("{name}.{ext}"));
            fs::create_dir_all(dir)?;
            copy_recursively(&source, &target)?;
            println!("Installed {}", target.display());
        }
    }
    Ok(())
}

fn test(args: &[String]) -> Result<()> {
    // The test bundles live in their own target directory so they never overwrite the release
    // bundles, and are built in debug mode because nice-plug's allocation check needs
    // debug assertions.
    let features = PLUGINS
        .iter()
        .map(|(package, _)| format!("{package}/assert_process_allocs"))
        .collect::<Vec<_>>()
        .join(",");
    let mut bundle_args = vec!["bundle".to_string()];
    for (package, _) in PLUGINS {
        bundle_args.extend(["-p".to_string(), package.to_string()]);
    }
    bundle_args.extend(["--features".to_string(), features]);
    // nice-plug's bundler runs `cargo build` as a child process and asks cargo for the target
    // directory, so setting it for this process sends both to the test directory.
    env::set_var("CARGO_TARGET_DIR", TEST_TARGET_DIR);
    nice_plug_xtask::main_with_args("cargo xtask", bundle_args)?;
    if runs_screenshot_test(args) {
        build_standalones()?;
    }
    env::remove_var("CARGO_TARGET_DIR");
    let bundle_dir = env::current_dir()?.join(TEST_TARGET_DIR).join("bundled");
    let bundle_dir = bundle_dir.to_string_lossy().into_owned();
    let standalone_dir = env::current_dir()?.join(TEST_TARGET_DIR).join("debug");
    let standalone_dir = standalone_dir.to_string_lossy().into_owned();
    // The whole workspace unless the caller picked packages.
    let picks_packages = args.iter().any(|a| a == "-p" || a.starts_with("--package"));
    let base: &[&str] = if picks_packages {
        &["test"]
    } else {
        &["test", "--workspace"]
    };
    run(
        "cargo",
        &cargo_args(base, args),
        &[
            ("STEM_TEST_BUNDLE_DIR", bundle_dir.as_str()),
            ("STEM_STANDALONE_DIR", standalone_dir.as_str()),
        ],
    )
}

/// The DSP benchmarks, then (with release bundles built first) the plugin-level benchmarks
/// in `host/benches/` that time the bundles through our own host. Arguments (criterion's) go
/// to the DSP benchmarks only.
fn bench(args: &[String]) -> Result<()> {
    run(
        "cargo",
        &cargo_args(&["bench", "-p", "shared-dsp"], args),
        &[],
    )?;
    // The Stem Link's cost on the audio thread, against the Channel chain's.
    run(
        "cargo",
        &cargo_args(&["bench", "-p", "stem-plugin-common"], args),
        &[],
    )?;
    bundle(&[])?;
    run(
        "cargo",
        &cargo_args(&["bench", "-p", "stem-host"], &[]),
        &[],
    )
}

/// Release bundles of both plugins, then `stem demo` from a release build of the tool.
fn demo(args: &[String]) -> Result<()> {
    bundle(&[])?;
    let base = [
        "run",
        "--release",
        "-p",
        "stem-cli",
        "--bin",
        "stem",
        "--",
        "demo",
    ];
    run("cargo", &cargo_args(&base, args), &[])
}

/// The package and test target of the editor screenshot test.
const SCREENSHOT_TEST: (&str, &str) = ("stem-host", "editor_screenshot");

/// Whether `cargo test` with these arguments runs the editor screenshot test: the whole
/// workspace, or its package without a narrower `--test` pick. Other selections skip building
/// the standalone applications, which takes minutes on a cold target directory.
fn runs_screenshot_test(args: &[String]) -> bool {
    let values_of = |flag: &str| -> Vec<&str> {
        let mut values = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == flag {
                if let Some(value) = iter.next() {
                    values.push(value.as_str());
                }
            } else if let Some(value) = arg.strip_prefix(&format!("{flag}=")) {
                values.push(value);
            }
        }
        values
    };
    let mut packages = values_of("-p");
    packages.extend(values_of("--package"));
    let tests = values_of("--test");
    let package_ok = packages.is_empty() || packages.contains(&SCREENSHOT_TEST.0);
    let narrowed_away = args
        .iter()
        .any(|a| a == "--lib" || a == "--doc" || a == "--benches")
        || (!tests.is_empty() && !tests.contains(&SCREENSHOT_TEST.1));
    package_ok && !narrowed_away
}

/// Builds both plugins' standalone applications (debug) into the test target directory.
fn build_standalones() -> Result<()> {
    let mut args = vec!["build".to_string()];
    let mut features = Vec::new();
    for (package, _) in PLUGINS {
        args.extend(["-p".to_string(), package.to_string()]);
        features.push(format!("{package}/standalone"));
    }
    args.extend([
        "--bins".to_string(),
        "--features".to_string(),
        features.join(","),
    ]);
    run("cargo", &args, &[])
}

fn cargo_args(base: &[&str], extra: &[String]) -> Vec<String> {
    base.iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

fn run(program: &str, args: &[String], envs: &[(&str, &str)]) -> Result<()> {
    let mut command = Command::new(program);
    command.args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        anyhow_error(format!("'{program} {}' failed: {status}", args.join(" ")))
    }
}

fn copy_recursively(source: &Path, target: &Path) -> std::io::Result<()> {
    if source.is_dir() {
        fs::create_dir_all(target)?;
        for entry in fs::read_dir(source)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &target.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(source, target).map(|_| ())
    }
}

fn anyhow_error(message: String) -> Result<()> {
    Err(std::io::Error::other(message).into())
}
