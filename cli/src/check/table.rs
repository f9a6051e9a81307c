//! The terminal table of a [`CheckReport`].

use crate::analysis::{fmt_db, FileStats};

use super::{CheckReport, Severity};

fn cell(v: f64) -> String {
    if v == f64::NEG_INFINITY {
        "-inf".to_string()
    } else {
        format!("{v:.1}")
    }
}

fn short(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let tail: String = name
            .chars()
            .rev()
            .take(width - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("~{tail}")
    }
}

/// The human-readable report: a table of the files, the findings, the null test, the verdict.
pub fn format_human(r: &CheckReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<7} {:<14} {:>6} {:>2} {:>9} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6}",
        "file",
        "role",
        "format",
        "kHz",
        "ch",
        "length s",
        "peak",
        "TP",
        "clips",
        "DC",
        "LUFS",
        "offset"
    );
    let _ = writeln!(
        out,
        "{:<24} {:<7} {:<14} {:>6} {:>2} {:>9} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6}",
        "", "", "", "", "", "", "dBFS", "dBTP", "", "dBFS", "", "smp"
    );
    let row = |out: &mut String, s: &FileStats, role: &str, offset: String| {
        let _ = writeln!(
            out,
            "{:<24} {:<7} {:<14} {:>6} {:>2} {:>9.3} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6}",
            short(&s.file, 24),
            role,
            s.format,
            format!("{:.1}", s.sample_rate_hz as f64 / 1000.0),
            s.channels,
            s.duration_s,
            cell(s.sample_peak_dbfs),
            cell(s.true_peak_dbtp),
            s.clip_runs,
            cell(s.dc_offset_dbfs),
            cell(s.integrated_lufs),
            offset
        );
    };
    for s in &r.stems {
        let offset = match s.offset_samples {
            Some(0) => "0".to_string(),
            Some(o) => format!("{o:+}"),
            None => "-".to_string(),
        };
        row(&mut out, &s.stats, s.role.name(), offset);
    }
    row(&mut out, &r.mix, "MIX", String::new());
    let _ = writeln!(out);
    for f in &r.findings {
        let tag = match f.severity {
            Severity::Pass => "ok  ",
            Severity::Warn => "WARN",
            Severity::Fail => "FAIL",
        };
        match &f.file {
            Some(file) => {
                let _ = writeln!(out, "{tag} {:<13} {file}: {}", f.check, f.message);
            }
            None => {
                let _ = writeln!(out, "{tag} {:<13} {}", f.check, f.message);
            }
        }
    }
    if let Some(nt) = &r.null_test {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Null test (mix minus sum of stems): residual peak {}, RMS {}, loudness {}; \
             rounding floor {}, threshold {}",
            fmt_db(nt.residual_peak_dbfs, "dBFS"),
            fmt_db(nt.residual_rms_dbfs, "dBFS"),
            fmt_db(nt.residual_lufs, "LUFS"),
            fmt_db(nt.rounding_floor_dbfs, "dBFS"),
            fmt_db(nt.threshold_dbfs, "dBFS"),
        );
        let _ = writeln!(out, "{}", nt.explanation);
    }
    let fails = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .count();
    let warns = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warn)
        .count();
    let _ = writeln!(out);
    if r.passed {
        let _ = writeln!(
            out,
            "RESULT: PASS ({} stems, {warns} warnings)",
            r.stems.len()
        );
    } else {
        let _ = writeln!(out, "RESULT: FAIL ({fails} problems, {warns} warnings)");
    }
    out
}
