//! Files on disk, as every command treats them: inputs told apart by their canonical path,
//! output names checked (plain names, no two outputs on one file, never over an input). How
//! outputs are written is [`crate::atomic`]'s.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file name of `path` (or the whole path if it has none).
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `path` with symbolic links and `..` resolved, or `path` itself when it does not exist (yet).
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The stems' canonical paths, refusing none, the same file twice (it would be summed twice)
/// and the mix among them.
pub fn distinct_stems(stems: &[PathBuf], mix: Option<&Path>) -> Result<Vec<PathBuf>> {
    if stems.is_empty() {
        return Err(Error::usage("no stems given"));
    }
    let mix = mix.map(canonical);
    let mut seen = Vec::new();
    for s in stems {
        let c = canonical(s);
        if Some(&c) == mix.as_ref() {
            return Err(Error::file(
                s,
                "is the mix itself; list it only after --mix",
            ));
        }
        if seen.contains(&c) {
            return Err(Error::file(s, "given twice (it would be summed twice)"));
        }
        seen.push(c);
    }
    Ok(seen)
}

/// Fails if `path` is (the same file as) one of `protected`.
pub fn ensure_not_input(path: &Path, protected: &[PathBuf]) -> Result<()> {
    let target = std::fs::canonicalize(path).ok();
    for p in protected {
        let same = match (&target, std::fs::canonicalize(p).ok()) {
            (Some(t), Some(q)) => *t == q,
            _ => p == path,
        };
        if same {
            return Err(Error::file(
                path,
                "refusing to write over an input file: choose another output directory",
            ));
        }
    }
    Ok(())
}

/// Creates `dir` and its parents if missing.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::file(dir, format!("cannot create directory: {e}")))
}

/// Refuses a name the tool would use as a file name in its output folder (a delivery name from
/// a preset or the command line) unless it stays a plain name inside that folder: no path
/// separator, no `..`, not hidden, not absolute, no control characters, at most 100 bytes.
/// `what` names the field in the message (e.g. "delivery").
pub fn check_output_name(what: &str, name: &str) -> Result<()> {
    let problem = if name.trim().is_empty() {
        Some("is empty")
    } else if name.len() > 100 {
        Some("is longer than 100 bytes")
    } else if name.contains(['/', '\\']) {
        Some("contains a path separator")
    } else if name.contains("..") {
        Some("contains '..'")
    } else if name.starts_with('.') {
        Some("starts with '.' (a hidden file)")
    } else if name.chars().any(|c| c.is_control() || c == ':') {
        Some("contains a control character or ':'")
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::usage(format!(
            "{what} name '{}' {p}: it becomes a file name in the output folder, so use letters, \
             digits, '-', '_' and '.' only",
            name.escape_debug()
        ))),
        None => Ok(()),
    }
}

/// Refuses a run whose outputs would land on one file twice (`(who, path)` pairs: who writes
/// it, where). Names compare case-insensitively, as they do on the default file systems of
/// macOS and Windows, so a folder made here stays whole when copied there.
pub fn check_distinct_outputs(outputs: &[(String, PathBuf)]) -> Result<()> {
    let mut seen: Vec<(String, &str)> = Vec::with_capacity(outputs.len());
    for (who, path) in outputs {
        let key = path.to_string_lossy().to_lowercase();
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(Error::file(
                path,
                format!("{first} and {who} would both write this file: rename one"),
            ));
        }
        seen.push((key, who));
    }
    Ok(())
}
