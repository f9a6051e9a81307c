//! The `stem` command-line tool as a library: every command is a function the binary and the
//! tests call alike.
//!
//! Commands (one module each; no command imports another, shared pieces live below):
//! - [`check`]: stem QC and the null test against the mixdown (`stem check`);
//! - [`report`]: loudness, true peak, PLR and TT DR reports with plots (`stem report`);
//! - [`render`]: offline render of delivery masters through the Stem Channel and Stem Master
//!   chains (`stem render`).
//!
//! `stem demo` writes the synthetic stem set of [`demo`] and runs the three commands on it
//! (the binary composes them).
//!
//! Shared pieces:
//! - input and output: [`decode`] (every format, whole or block by block with
//!   `decode::AudioReader`), [`declared`] (a header's length against the file's size, before
//!   decoding), [`layout`] (speaker layouts and their BS.1770 weights), [`audio`] (in-memory audio, WAV encoding), [`files`]
//!   (atomic writes, inputs never overwritten, distinct inputs);
//! - measuring: [`analysis`] (per-file figures, TT DR), [`figures`] (a programme's report
//!   figures measured block by block), [`spectrum`] (the average spectrum, block by block),
//!   [`align`] (offset by cross-correlation), [`file_report`] (one file's loudness report and
//!   its files), [`plots`] (PNG plots);
//! - rendering: [`preset`] (parsing, merging, unmatched stem keys), [`preset_check`] (every
//!   value against the settings' shape and documented ranges), [`plan`] (what each delivery
//!   renders), [`mastering`] (the chains run offline, the limiter drive by
//!   `shared_dsp::chain::learn`'s solver, the one the plugin's Learn uses), [`deliver`] (master files, their reports, the summary);
//! - plumbing: [`role`] (a stem's role from its name), [`par`] (work on every core),
//!   [`progress`] (progress bars, phase timings), [`error`].

pub mod album;
pub mod align;
pub mod analysis;
pub mod atomic;
pub mod audio;
pub mod check;
pub mod codec;
pub mod codec_preview;
pub mod compare;
pub mod declared;
pub mod decode;
pub mod deliver;
pub mod demo;
pub mod error;
pub mod figures;
pub mod file_report;
pub mod files;
pub mod gain_reduction;
pub mod layout;
pub mod loudness_plan;
pub mod mastering;
pub mod mid_side_spectrum;
pub mod mix_comparison;
pub mod par;
pub mod plan;
pub mod plots;
pub mod preset;
pub mod preset_check;
pub mod progress;
pub mod render;
pub mod report;
pub mod riff;
pub mod role;
pub mod service_preview;
pub mod spool;
pub mod start_time;
pub mod stem_attribution;
pub mod stem_dc;
pub mod stem_peak_plan;
pub mod stream;

pub use error::{Error, Result};
