//! `stem`: stem QC and null test, loudness reports, offline render of delivery masters, demo.
//!
//! Exit codes: 0 everything passed, 1 a check or target failed, 2 usage or I/O error (the
//! message names the file and the problem).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use stem_cli::{check, report, Error};

#[derive(Parser)]
#[command(
    name = "stem",
    version,
    about = "Stem mastering from the command line: check stems against their mix, measure loudness, render delivery masters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a stem set against its mixdown: formats, peaks, offsets, null test.
    Check {
        /// The stem WAV files.
        #[arg(required = true)]
        stems: Vec<PathBuf>,
        /// The stereo mixdown the stems should sum to.
        #[arg(long)]
        mix: PathBuf,
        /// The bass stem, if its file name does not say "bass", "808" or "sub".
        #[arg(long)]
        bass: Option<PathBuf>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Loudness report: integrated, LRA, max momentary/short-term, true peak, PLR, TT DR.
    Report {
        /// WAV files to measure.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON instead of the table (an object for one file, an array for several).
        #[arg(long)]
        json: bool,
        /// Also write a Markdown + JSON report and PNG plots per file into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("stem: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs a command; `Ok(passed)`.
fn run(cli: Cli) -> Result<bool, Error> {
    match cli.command {
        Command::Check {
            stems,
            mix,
            bass,
            json,
        } => {
            let report = check::run_check(&check::CheckOptions {
                stems,
                mix,
                bass,
                show_progress: !json,
            })?;
            if json {
                println!("{}", to_json(&report)?);
            } else {
                print!("{}", check::format_human(&report));
            }
            Ok(report.passed)
        }
        Command::Report { files, json, out } => {
            let (reports, written) = report::run_report(&files, out.as_deref(), !json)?;
            if json {
                if reports.len() == 1 {
                    println!("{}", to_json(&reports[0])?);
                } else {
                    println!("{}", to_json(&reports)?);
                }
            } else {
                print!("{}", report::format_human(&reports));
                for p in &written {
                    println!("wrote {}", p.display());
                }
            }
            Ok(true)
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value)
        .map_err(|e| Error::usage(format!("JSON output failed: {e}")))
}
