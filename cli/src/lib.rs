//! The `stem` command-line tool as a library: every command is a function the binary and the
//! tests call alike.
//!
//! - [`check`]: stem QC and the null test against the mixdown (`stem check`);
//! - [`report`]: loudness, true peak, PLR and TT DR reports with plots (`stem report`);
//! - [`render`]: offline render of delivery masters through the Stem Channel and Stem Master
//!   chains (`stem render`);
//! - [`demo`]: a synthetic stem set run through all of the above (`stem demo`).
//!
//! Shared pieces: [`audio`] (WAV in and out, atomic writes), [`analysis`] (per-file figures,
//! TT DR), [`align`] (offset by cross-correlation), [`progress`] (progress bars).

pub mod align;
pub mod analysis;
pub mod audio;
pub mod check;
pub mod demo;

pub mod error;
pub mod par;

pub mod plots;
pub mod progress;
pub mod render;
pub mod report;

pub mod role;

pub use error::{Error, Result};
