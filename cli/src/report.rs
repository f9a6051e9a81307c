//! `stem report`: loudness figures of finished programmes (integrated, loudness range, maximum
//! momentary and short-term loudness, true peak, PLR, TT DR) as a table, JSON, and, with an
//! output directory, a Markdown + JSON report with PNG plots per file.
//!
//! The meters are `shared_dsp::meter`'s, so this is also how anyone can check our metering
//! against the EBU test files (Tech 3341/3342) with `stem report --json`.

use std::path::{Path, PathBuf};

use crate::atomic::lock_output_dir;
use crate::error::{Error, Result};
use crate::file_report::{analyse_file, report_paths, write_files, FileReport, Measured};
use crate::files::{check_distinct_outputs, display_name};
use crate::progress::Progress;

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
    if let Some(dir) = out {
        // Two inputs with one file name (a/x.wav, b/x.wav) would share one report.
        let outputs: Vec<(String, PathBuf)> = files
            .iter()
            .flat_map(|f| {
                let who = format!("the report of {}", f.display());
                report_paths(dir, &display_name(f)).map(|p| (who.clone(), p))
            })
            .collect();
        check_distinct_outputs(&outputs)?;
    }
    let progress = Progress::new(show_progress);
    // Each file is measured as it is decoded, so memory does not grow with its length.
    let bar = progress.bar(files.len() as u64, "measuring");
    let measured = crate::par::map(files, |f| {
        let r = analyse_file(f);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    let measured: Vec<Measured> = measured.into_iter().collect::<Result<_>>()?;
    let mut written = Vec::new();
    if let Some(dir) = out {
        let _lock = lock_output_dir(dir)?;
        for (report, history, spectrum) in &measured {
            written.extend(write_files(dir, report, history, spectrum, None, files)?);
        }
    }
    Ok((measured.into_iter().map(|m| m.0).collect(), written))
}
