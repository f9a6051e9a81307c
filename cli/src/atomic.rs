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

/// Writes `path` atomically: `write` fills a temporary file beside it (hidden, named after it,
/// ending in `suffix`: an encoder that picks its format from the extension needs `.tmp.png`),
/// which is renamed over `path` once `write` succeeds and removed when anything fails. A failed
/// rename is reported as `rename_failed: <reason>`.
pub fn write_atomic(
    path: &Path,
    suffix: &str,
    rename_failed: &str,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Created and registered under the lock the interrupt handler takes (and keeps until the
    // process exits), so no temporary can appear between the handler's clean-up and the exit.
    let tmp = {
        let mut registry = in_flight();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", display_name(path)))
            .suffix(suffix)
            .tempfile_in(dir)
            .map_err(|e| {
                Error::file(
                    path,
                    format!("cannot create a temporary file beside it: {e}"),
                )
            })?;
        registry.push(tmp.path().to_path_buf());
        tmp
    };
    let tmp_path = tmp.path().to_path_buf();
    // On any error `tmp` (or the one inside the persist error) is dropped, which removes it.
    let result = write(&tmp_path).and_then(|()| {
        tmp.persist(path)
            .map(|_| ())
            .map_err(|e| Error::file(path, format!("{rename_failed}: {}", e.error)))
    });
    in_flight().retain(|p| *p != tmp_path);
    result
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
