//! Output files that appear whole or not at all, and output folders one run at a time.
//!
//! Every output (WAV, text, plot) is written to a temporary file beside its target and renamed
//! over it once complete (`rename(2)` within one directory is atomic), so a reader never sees
//! half a file and an interrupted run leaves the old file intact. Temporary names are
//! unpredictable and created with `O_EXCL` (`tempfile`), so a file or symbolic link planted at
//! a guessable name is never followed. A temporary is removed when its writing fails, and when
//! the run is interrupted: [`install_interrupt_cleanup`] handles SIGINT, SIGTERM and SIGHUP
//! (`ctrlc`), removes every temporary still in flight and exits with 130, the shell's code for
//! an interrupt. [`lock_output_dir`] takes an exclusive advisory lock (`flock(2)` through
//! `File::try_lock`) so a second run into the same folder is refused instead of mixing files.
//! (Unix only, like the rest of the tool's file handling: `std::os::unix` checks the lock file's
//! identity.)

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::files::{create_dir, display_name};

/// Temporaries being written now, removed by the interrupt handler.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The lock file an output folder holds while a run writes into it.
pub const LOCK_FILE: &str = ".stem.lock";

/// Exit code after an interrupt (128 + SIGINT), as shells report it.
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

/// Installs the handler that removes in-flight temporaries on SIGINT, SIGTERM or SIGHUP and
/// exits with [`INTERRUPTED_EXIT_CODE`]. Call once, from `main`.
pub fn install_interrupt_cleanup() {
    // An error here means a handler is already installed (tests call `main`'s code more
    // than once in one process); the first one does the job.
    let _ = ctrlc::set_handler(|| {
        // Held until `exit`: a writer blocked on it never creates another temporary.
        let in_flight = in_flight();
        for tmp in in_flight.iter() {
            let _ = std::fs::remove_file(tmp);
        }
        eprintln!("stem: interrupted; no partial file was left behind");
        std::process::exit(INTERRUPTED_EXIT_CODE);
    });
}

fn in_flight() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

/// A temporary file registered for the interrupt clean-up: removed when dropped (and on
/// SIGINT/SIGTERM/SIGHUP), unless [`Temporary::persist`]ed over its target. Created with an
/// unpredictable name and `O_EXCL` (`tempfile`), under the lock the interrupt handler holds
/// until exit, so none can appear between the handler's clean-up and the exit.
#[derive(Debug)]
pub struct Temporary {
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl Temporary {
    /// A hidden temporary beside `target`, named after it, ending in `suffix` (an encoder that
    /// picks its format from the extension needs `.tmp.png`).
    pub fn beside(target: &Path, suffix: &str) -> Result<Self> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::create(dir, &format!(".{}.", display_name(target)), suffix).map_err(|e| {
            Error::file(
                target,
                format!("cannot create a temporary file beside it: {e}"),
            )
        })
    }

    /// A hidden scratch file in `dir` (e.g. the float spool of a long render), never persisted.
    pub fn scratch(dir: &Path, prefix: &str, suffix: &str) -> Result<Self> {
        Self::create(dir, prefix, suffix)
            .map_err(|e| Error::file(dir, format!("cannot create a temporary file in it: {e}")))
    }

    fn create(dir: &Path, prefix: &str, suffix: &str) -> std::io::Result<Self> {
        let mut registry = in_flight();
        let file = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(suffix)
            .tempfile_in(dir)?;
        let path = file.path().to_path_buf();
        registry.push(path.clone());
        Ok(Self {
            file: Some(file),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file (read and write).
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("present until dropped").as_file()
    }

    /// Renames the temporary over `target`; a failure is reported as `rename_failed: <reason>`
    /// (and the temporary removed).
    pub fn persist(mut self, target: &Path, rename_failed: &str) -> Result<()> {
        let file = self.file.take().expect("present until dropped");
        // On error the temporary inside the persist error is dropped, which removes it.
        file.persist(target)
            .map(|_| ())
            .map_err(|e| Error::file(target, format!("{rename_failed}: {}", e.error)))
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        // Removed (if not persisted) before it leaves the registry.
        drop(self.file.take());
        in_flight().retain(|p| *p != self.path);
    }
}

/// Writes `path` atomically: `write` fills a [`Temporary`] beside it, ending in `suffix`, which
/// is renamed over `path` once `write` succeeds and removed when anything fails. A failed
/// rename is reported as `rename_failed: <reason>`.
pub fn write_atomic(
    path: &Path,
    suffix: &str,
    rename_failed: &str,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let tmp = Temporary::beside(path, suffix)?;
    write(tmp.path())?;
    tmp.persist(path, rename_failed)
}

/// Writes text through a temporary file and a rename.
pub fn write_text_atomic(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, ".tmp", "cannot write", |tmp| {
        std::fs::write(tmp, text).map_err(|e| Error::file(path, format!("cannot write: {e}")))
    })
}

/// An output folder held for one run. Dropping it removes the lock file while still holding
/// the lock, so the folder is left as the run's outputs alone.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
    path: PathBuf,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `file` is still the file at `path` (not unlinked by the run that held it before).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Elsewhere an open file cannot be unlinked, so the file at `path` is the one locked.
#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Creates `dir` if missing and locks it for this run, or says that another run holds it.
pub fn lock_output_dir(dir: &Path) -> Result<OutputLock> {
    create_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::file(dir, format!("cannot create its lock file: {e}")))?;
    match file.try_lock() {
        // A lock on a file the previous holder has just unlinked holds nothing: refuse as busy.
        Ok(()) if still_at(&file, &path) => Ok(OutputLock { _file: file, path }),
        Ok(()) | Err(TryLockError::WouldBlock) => Err(Error::file(
            dir,
            "another stem run is writing into this folder: wait for it to finish or choose \
             another output folder",
        )),
        Err(TryLockError::Error(e)) => Err(Error::file(dir, format!("cannot lock: {e}"))),
    }
}
