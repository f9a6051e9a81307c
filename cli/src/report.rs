//! `stem report`: loudness figures of finished programmes (integrated, loudness range, maximum
//! momentary and short-term loudness, true peak, PLR, TT DR) as a table, JSON, and, with an
//! output directory, a Markdown + JSON report with PNG plots per file.
//!
//! The meters are `shared_dsp::meter`'s, so this is also how anyone can check our metering
//! against the EBU test files (Tech 3341/3342) with `stem report --json`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::{loudness_figures, LoudnessFigures, LoudnessHistory};
use crate::audio::{display_name, Audio};
use crate::check::{fmt_db, read_all};
use crate::error::{Error, Result};
use crate::plots;
use crate::progress::Progress;

/// A delivery target a master is judged against.
#[derive(Clone, Debug, Serialize)]
pub struct TargetCheck {
    pub name: String,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    /// Largest accepted distance from the target, LU.
    pub tolerance_lu: f64,
    /// TT DR the master must exceed (vinyl: 10), if any.
    pub dr_above: Option<i32>,
    pub loudness_error_lu: f64,
    pub loudness_ok: bool,
    pub ceiling_ok: bool,
    pub dr_ok: bool,
    pub passed: bool,
}

/// One file's report.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub sample_rate_hz: u32,
    pub channels: usize,
    pub duration_s: f64,
    #[serde(flatten)]
    pub figures: LoudnessFigures,
    /// Present for masters `stem render` made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetCheck>,
}

/// Measures one file.
pub fn analyse(audio: &Audio) -> (FileReport, LoudnessHistory) {
    let (figures, history) = loudness_figures(audio);
    (
        FileReport {
            file: audio.name(),
            sample_rate_hz: audio.sample_rate_hz,
            channels: audio.num_channels(),
            duration_s: audio.duration_s(),
            figures,
            target: None,
        },
        history,
    )
}

/// Writes `<base>.json`, `<base>.md`, `<base>-loudness.png` and `<base>-spectrum.png` into
/// `dir`; returns the paths written. Never writes over a file in `protected`.
pub fn write_files(
    dir: &Path,
    report: &FileReport,
    history: &LoudnessHistory,
    audio: &Audio,
    protected: &[PathBuf],
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::file(dir, format!("cannot create directory: {e}")))?;
    let base = Path::new(&report.file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    let json_path = dir.join(format!("{base}.json"));
    let md_path = dir.join(format!("{base}.md"));
    let loud_png = dir.join(format!("{base}-loudness.png"));
    let spec_png = dir.join(format!("{base}-spectrum.png"));
    for p in [&json_path, &md_path, &loud_png, &spec_png] {
        crate::audio::ensure_not_input(p, protected)?;
    }
    plots::loudness_plot(
        &loud_png,
        &format!("{}: loudness", report.file),
        history,
        report.figures.integrated_lufs,
        report.target.as_ref().map(|t| t.target_lufs),
    )?;
    plots::spectrum_plot(
        &spec_png,
        &format!("{}: average spectrum", report.file),
        audio,
    )?;
    let json = serde_json::to_string_pretty(report).map_err(|e| Error::usage(e.to_string()))?;
    write_text_atomic(&json_path, &(json + "\n"))?;
    write_text_atomic(&md_path, &markdown(report, &loud_png, &spec_png))?;
    Ok(vec![md_path, json_path, loud_png, spec_png])
}

/// Writes text through a temporary file and a rename.
pub fn write_text_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        display_name(path),
        std::process::id()
    ));
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::file(path, format!("cannot write: {e}"))
        })
}

fn opt_dr(f: &LoudnessFigures) -> String {
    match (f.dr, f.dr_db) {
        (Some(dr), Some(db)) => format!("DR{dr} ({db:.2} dB)"),
        _ => "n/a (silence)".to_string(),
    }
}

/// The Markdown report of one file.
pub fn markdown(r: &FileReport, loud_png: &Path, spec_png: &Path) -> String {
    let f = &r.figures;
    let mut s = format!(
        "# Loudness report: {}\n\n{} Hz, {} channel{}, {:.2} s\n\n\
         | Figure | Value |\n| --- | --- |\n\
         | Integrated loudness | {} |\n| Loudness range (LRA) | {:.1} LU |\n\
         | Max momentary loudness | {} |\n| Max short-term loudness | {} |\n\
         | True peak | {} |\n| Sample peak | {} |\n| PLR | {} |\n| TT Dynamic Range | {} |\n",
        r.file,
        r.sample_rate_hz,
        r.channels,
        if r.channels == 1 { "" } else { "s" },
        r.duration_s,
        fmt_db(f.integrated_lufs, "LUFS"),
        f.lra_lu,
        fmt_db(f.momentary_max_lufs, "LUFS"),
        fmt_db(f.short_term_max_lufs, "LUFS"),
        fmt_db(f.true_peak_dbtp, "dBTP"),
        fmt_db(f.sample_peak_dbfs, "dBFS"),
        fmt_db(f.plr_db, "dB"),
        opt_dr(f),
    );
    if let Some(t) = &r.target {
        s += &format!(
            "\n## Delivery target: {}\n\n| Check | Target | Measured | Result |\n| --- | --- | --- | --- |\n\
             | Integrated loudness | {:.1} LUFS +-{:.1} LU | {} | {} |\n\
             | True-peak ceiling | <= {:.1} dBTP | {} | {} |\n",
            t.name,
            t.target_lufs,
            t.tolerance_lu,
            fmt_db(f.integrated_lufs, "LUFS"),
            pass(t.loudness_ok),
            t.ceiling_dbtp,
            fmt_db(f.true_peak_dbtp, "dBTP"),
            pass(t.ceiling_ok),
        );
        if let Some(min) = t.dr_above {
            s += &format!(
                "| TT Dynamic Range | > DR{min} | {} | {} |\n",
                opt_dr(f),
                pass(t.dr_ok)
            );
        }
        s += &format!("\n**{}**\n", if t.passed { "PASS" } else { "FAIL" });
    }
    s += &format!(
        "\n![loudness over time]({})\n\n![average spectrum]({})\n\n\
         Loudness: ITU-R BS.1770-5 / EBU R128 (Tech 3341, LRA per Tech 3342); true peak: \
         BS.1770-5 Annex 2, oversampled to at least 176.4 kHz; PLR = true peak - integrated; \
         TT DR: Pleasurize Music Foundation off-line meter procedure (3 s blocks, top 20 % RMS, \
         second-highest peak).\n",
        display_name(loud_png),
        display_name(spec_png)
    );
    s
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "FAIL"
    }
}

/// One table row per file for the terminal.
pub fn format_human(reports: &[FileReport]) -> String {
    let mut s = format!(
        "{:<28} {:>8} {:>6} {:>8} {:>8} {:>8} {:>6} {:>5}\n{:<28} {:>8} {:>6} {:>8} {:>8} {:>8} {:>6} {:>5}\n",
        "file", "I", "LRA", "M max", "S max", "TP", "PLR", "DR",
        "", "LUFS", "LU", "LUFS", "LUFS", "dBTP", "dB", ""
    );
    let c = |v: f64| {
        if v.is_finite() {
            format!("{v:.1}")
        } else {
            "-inf".to_string()
        }
    };
    for r in reports {
        let f = &r.figures;
        s += &format!(
            "{:<28} {:>8} {:>6.1} {:>8} {:>8} {:>8} {:>6} {:>5}\n",
            r.file,
            c(f.integrated_lufs),
            f.lra_lu,
            c(f.momentary_max_lufs),
            c(f.short_term_max_lufs),
            c(f.true_peak_dbtp),
            c(f.plr_db),
            f.dr.map_or("-".to_string(), |d| format!("DR{d}")),
        );
    }
    s
}

/// `stem report`: reads and measures every file (on all cores); with `out`, writes each
/// file's report there. Returns the reports and the paths written.
pub fn run_report(
    files: &[PathBuf],
    out: Option<&Path>,
    show_progress: bool,
) -> Result<(Vec<FileReport>, Vec<PathBuf>)> {
    if files.is_empty() {
        return Err(Error::usage("no files given"));
    }
    let progress = Progress::new(show_progress);
    let audio = read_all(files, &progress)?;
    let bar = progress.bar(audio.len() as u64, "measuring");
    let measured = crate::par::map(&audio, |a| {
        let r = analyse(a);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    let mut written = Vec::new();
    if let Some(dir) = out {
        for ((report, history), a) in measured.iter().zip(&audio) {
            written.extend(write_files(dir, report, history, a, files)?);
        }
    }
    Ok((measured.into_iter().map(|m| m.0).collect(), written))
}
