//! One error type for the tool: it names the file (when there is one) and says what is wrong in
//! words a user can act on. Every error exits with code 2 (see `main.rs`).

use std::fmt;
use std::path::{Path, PathBuf};

/// A usage, I/O or audio-format problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The file the problem is about, if any.
    pub path: Option<PathBuf>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Error {
    /// An error about `path`.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: Some(path.to_path_buf()),
            message: message.into(),
        }
    }

    /// An error not tied to one file (bad arguments, a bad preset value).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            path: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// The resampler's failures (it names both rates) are usage errors, as when it lived here.
impl From<stem_delivery::resample::ResampleError> for Error {
    fn from(e: stem_delivery::resample::ResampleError) -> Self {
        Self::usage(e.0)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
