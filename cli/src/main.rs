//! `stem`: stem QC and null test, loudness reports, offline render of delivery masters, demo.
//!
//! Exit codes: 0 everything passed, 1 a check or target failed, 2 usage or I/O error (the
//! message names the file and the problem).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use stem_cli::atomic::{install_interrupt_cleanup, write_text_atomic};
use stem_cli::role::RoleOverrides;
use stem_cli::{album, check, codec, compare, demo, render, report, Error};

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
        /// The bass stem, if its file name does not say so (see --role).
        #[arg(long)]
        bass: Option<PathBuf>,
        /// A stem's role when its file name does not say it, e.g. `--role Take3=vocals`
        /// (repeat or comma-separate; roles: drums, bass, synths, vocals, fx, other).
        #[arg(long = "role", value_name = "FILE=ROLE", value_delimiter = ',')]
        roles: Vec<String>,
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
    /// Compare a master with commercial references at matched loudness: loudness figures,
    /// width per band, 1/3-octave spectra and their difference, and the EQ that matches it.
    Compare {
        /// The master (WAV/AIFF/FLAC/MP3...).
        master: PathBuf,
        /// A reference track (repeat for several).
        #[arg(long = "reference", required = true)]
        references: Vec<PathBuf>,
        /// Share of the match the proposed bands apply, percent.
        #[arg(long, default_value_t = 100.0)]
        strength: f64,
        /// Most bands the match proposes (1-8).
        #[arg(long, default_value_t = 8)]
        bands: usize,
        /// Print JSON instead of the table (an object for one reference, an array for several).
        #[arg(long)]
        json: bool,
        /// Also write plots, a JSON report and the match as a preset fragment per reference.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render delivery masters: each stem through the Stem Channel chain, the sum through the
    /// Stem Master chain, the limiter driven to each delivery's loudness target.
    Render {
        /// The stem WAV files (same sample rate).
        #[arg(required = true)]
        stems: Vec<PathBuf>,
        /// Preset (TOML, or JSON by extension) with per-stem, master and per-delivery settings.
        /// Without one, each stem gets its role's starting point and the master its defaults.
        #[arg(long)]
        preset: Option<PathBuf>,
        /// Deliveries, comma-separated: streaming (-14 LUFS, -1 dBTP), club (-8 LUFS, -1 dBTP),
        /// vinyl (-16 LUFS, -3 dBTP, DR above 10), or custom ones defined in the preset.
        #[arg(long, value_delimiter = ',', default_value = "streaming,club,vinyl")]
        deliver: Vec<String>,
        /// Output directory (created if missing; input files are never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Word lengths to write, comma-separated: 24 and/or 16 (16-bit is dithered).
        #[arg(long, value_delimiter = ',', default_value = "24")]
        bits: Vec<u16>,
        /// Also encode every master, comma-separated: flac, mp3, aac, opus, vorbis, a lossy one
        /// optionally with its bitrate in kbps (mp3:320, aac:256, opus:160, vorbis:160 are the
        /// defaults); each is decoded again and its true peak checked against the ceiling
        /// (AAC and Opus need ffmpeg on the PATH, else they are reported as skipped).
        #[arg(long, value_delimiter = ',')]
        formats: Vec<String>,
        /// With --formats: where an encoding decodes above the delivery's true-peak ceiling,
        /// lower that delivery's limiter ceiling by the excess measured and render it again.
        #[arg(long)]
        codec_safe_ceiling: bool,
        /// Resample the masters to this rate (e.g. 44100 for CD), with rubato.
        #[arg(long)]
        sample_rate: Option<u32>,
        /// A stem's role when its file name does not say it, e.g. `--role Take3=vocals`
        /// (repeat or comma-separate; roles: drums, bass, synths, vocals, fx, other).
        #[arg(long = "role", value_name = "FILE=ROLE", value_delimiter = ',')]
        roles: Vec<String>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Fail (exit status 1) when a master carries a warning (its limiter or clipper over
        /// its 3 dB budget, DC in the master), not only when it misses its target.
        #[arg(long)]
        strict: bool,
        /// Where the master's peak stage works, also try shaving the peaks on the stems that
        /// make them (their Stem Channel peak control), rendering those deliveries again, and
        /// keep it where it measures cleaner (slower; see README).
        #[arg(long)]
        stem_peak_plan: bool,
    },
    /// Make an album from finished masters or stem sets: one album gain that puts the loudest
    /// track on the delivery's target and keeps the others' loudness relative to it (as
    /// streaming services play albums), or each track on the target; per-track files, a
    /// sequenced album.wav with gaps, and one album report.
    Album {
        /// Tracks in album order: master files, or folders holding a stem set (rendered to the
        /// delivery first, with the folder's preset.toml when there is one).
        #[arg(required = true)]
        tracks: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// The delivery whose target and ceiling the album takes: streaming, club or vinyl.
        #[arg(long, default_value = "streaming")]
        deliver: String,
        /// Override the delivery's loudness target, LUFS.
        #[arg(long, allow_hyphen_values = true)]
        target_lufs: Option<f64>,
        /// Override the delivery's true-peak ceiling, dBTP.
        #[arg(long, allow_hyphen_values = true)]
        ceiling_dbtp: Option<f64>,
        /// Put every track on the target instead of one album gain.
        #[arg(long)]
        per_track: bool,
        /// Silence between tracks in album.wav, seconds.
        #[arg(long, default_value_t = 2.0)]
        gap: f64,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Synthesise a short stem set and its mix, check it, render three masters, write reports.
    Demo {
        /// Length of the synthetic song, seconds.
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
        /// Where to write everything: a new or empty folder, or a previous demo's.
        #[arg(long, default_value = "stem-demo")]
        out: PathBuf,
        /// Write into a folder that holds other files (files with the demo's names are
        /// replaced).
        #[arg(long)]
        force: bool,
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
    install_interrupt_cleanup();
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
            roles,
            json,
        } => {
            let report = check::run_check(&check::CheckOptions {
                stems,
                mix,
                bass,
                roles: RoleOverrides::parse(&roles)?,
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
        Command::Compare {
            master,
            references,
            strength,
            bands,
            json,
            out,
        } => {
            let comparisons = compare::run_compare(&compare::CompareOptions {
                master,
                references,
                out,
                strength_percent: strength,
                max_bands: bands,
            })?;
            if json {
                if comparisons.len() == 1 {
                    println!("{}", to_json(&comparisons[0])?);
                } else {
                    println!("{}", to_json(&comparisons)?);
                }
            } else {
                print!("{}", compare::format_human(&comparisons));
            }
            Ok(true)
        }
        Command::Render {
            stems,
            preset,
            deliver,
            out,
            bits,
            formats,
            codec_safe_ceiling,
            sample_rate,
            roles,
            json,
            strict,
            stem_peak_plan,
        } => {
            let summary = render::run_render(&render::RenderOptions {
                stems,
                preset,
                deliveries: deliver,
                out,
                bits,
                formats: codec::parse_formats(&formats)?,
                codec_safe_ceiling,
                sample_rate_hz: sample_rate,
                roles: RoleOverrides::parse(&roles)?,
                show_progress: !json,
                strict,
                stem_peak_plan,
            })?;
            print_summary(json, &summary, render::format_human, &summary.files)?;
            Ok(summary.passed)
        }
        Command::Album {
            tracks,
            out,
            deliver,
            target_lufs,
            ceiling_dbtp,
            per_track,
            gap,
            json,
        } => {
            let summary = album::run_album(&album::AlbumOptions {
                tracks,
                out,
                delivery: deliver,
                target_lufs,
                ceiling_dbtp,
                per_track,
                gap_s: gap,
                show_progress: !json,
            })?;
            print_summary(json, &summary, album::format_human, &summary.files)?;
            Ok(summary.passed)
        }
        Command::Demo {
            seconds,
            out,
            force,
        } => run_demo(seconds, &out, force, true),
    }
}

/// `stem demo`: writes the demo's stem set and preset into `out`, then checks, renders and
/// reports them as a user would; prints where everything went and whether every check and
/// target passed. `Ok(true)` once everything ran.
fn run_demo(seconds: f64, out: &Path, force: bool, show_progress: bool) -> Result<bool, Error> {
    let sr = demo::DEMO_SAMPLE_RATE_HZ;
    let (stem_paths, mix_path) = demo::write_set(seconds, out, force)?;

    println!("\n== stem check stems/*.wav --mix mix.wav ==\n");
    let check = check::run_check(&check::CheckOptions {
        stems: stem_paths.clone(),
        mix: mix_path.clone(),
        bass: None,
        roles: RoleOverrides::default(),
        show_progress,
    })?;
    let check_text = check::format_human(&check);
    print!("{check_text}");
    write_text_atomic(&out.join("check.txt"), &check_text)?;

    let preset_path = out.join("preset.toml");
    write_text_atomic(&preset_path, demo::DEMO_PRESET)?;
    println!("\n== stem render stems/*.wav --preset preset.toml --deliver streaming,club,vinyl --out masters ==\n");
    let masters_dir = out.join("masters");
    let summary = render::run_render(&render::RenderOptions {
        stems: stem_paths.clone(),
        preset: Some(preset_path.clone()),
        deliveries: vec!["streaming".into(), "club".into(), "vinyl".into()],
        out: masters_dir.clone(),
        bits: vec![24],
        formats: Vec::new(),
        codec_safe_ceiling: false,
        sample_rate_hz: None,
        roles: RoleOverrides::default(),
        show_progress,
        strict: false,
        stem_peak_plan: false,
    })?;
    print!("{}", render::format_human(&summary));

    println!("\n== stem report mix.wav --out reports ==\n");
    let reports_dir = out.join("reports");
    let (mix_report, _) = report::run_report(
        std::slice::from_ref(&mix_path),
        Some(&reports_dir),
        show_progress,
    )?;
    print!("{}", report::format_human(&mix_report));

    let shown = |p: &Path| p.display().to_string();
    println!(
        "\nWritten to {}:\n  stems/            drums, bass, synths, vocals, fx (24-bit WAV, {} kHz)\n  \
         mix.wav           their exact mixdown\n  check.txt         the stem check above\n  \
         preset.toml       the render preset (edit it and re-run the render command above)\n  \
         masters/          streaming.wav, club.wav, vinyl.wav, each with a .md and .json report \
         and loudness/spectrum plots\n  reports/          the mixdown's report\n\
         Open {} first.",
        shown(out),
        sr / 1000,
        shown(&masters_dir.join("streaming.md"))
    );
    if check.passed && summary.passed {
        println!("Every check and every delivery target passed.");
    } else {
        println!("Some checks or targets failed: see the tables above.");
    }
    // The demo succeeded once everything ran; the verdicts are in its output and files.
    Ok(true)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(value)
        .map_err(|e| Error::usage(format!("JSON output failed: {e}")))
}

/// Prints a command's summary: as JSON, or as its table followed by the files it wrote.
fn print_summary<T: serde::Serialize>(
    json: bool,
    summary: &T,
    human: impl Fn(&T) -> String,
    files: &[PathBuf],
) -> Result<(), Error> {
    if json {
        println!("{}", to_json(summary)?);
    } else {
        print!("{}", human(summary));
        for p in files {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}
