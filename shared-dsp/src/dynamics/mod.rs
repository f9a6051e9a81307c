//! Dynamics processors: compressor (clean/opto/glue), multiband compressor and true-peak
//! limiter, with their building blocks (static gain computer, envelopes).
//!
//! The compressor follows D. Giannoulis, M. Massberg and J. D. Reiss, "Digital Dynamic Range
//! Compressor Design — A Tutorial and Analysis", JAES 60(6), 2012; the limiter's oversampled
//! detection follows ITU-R BS.1770-5 Annex 2 through [`crate::meter::true_peak`]. Each submodule
//! cites its details.
//!
//! # API
//! - [`compressor`]: [`Compressor`]`::new(max_channels, max_sample_rate_hz)`,
//!   `set_sample_rate`, `set_settings(CompressorSettings)`, `process_block(&mut [&mut [f32]])`
//!   (channels linked), `latency_samples()` (= lookahead), `gain_reduction_db()`,
//!   `block_max_gain_reduction_db()`. [`CompressorSettings`] (serde, physical units: style
//!   Clean/Opto/Glue, detection Peak/Rms, `threshold_db`, `ratio`, `knee_db`, `attack_ms`,
//!   `release_ms`, `auto_release`, `rms_window_ms`, `makeup_db`, `auto_makeup`,
//!   `mix_percent`, `sidechain_hpf_hz`, `lookahead_ms`) with presets `drums_parallel`,
//!   `bass_vca`, `vocal_opto`, `fx_light`, `master_glue`.
//! - [`multiband`]: [`MultibandCompressor`] (2-4 bands, LR4 crossovers, one compressor per
//!   band, shared lookahead), [`MultibandSettings`] with presets `bass_sub_control`,
//!   `vocal_low_mid`; `band_gain_reduction_db(band)`.
//! - [`limiter`]: [`Limiter`] (lookahead true-peak limiter) with [`LimiterSettings`]
//!   (`ceiling_dbtp`, `input_gain_db`, `lookahead_ms`, `release_ms`, `auto_release`,
//!   `stereo_link_percent`); `latency_samples()` is exact (detector delay + attack ramp +
//!   guard), below the ceiling the output is the input delayed bit-exactly.
//! - [`clipper`]: [`Clipper`] (stereo soft clipper at a clip level, 8x anti-aliased;
//!   `set_level_db`, `block_max_reduction_db()`), the one unit of both peak-control stages.
//! - [`gain_computer`]: [`GainComputer`] (`output_db`, `reduction_db`, `auto_makeup_db`) for
//!   editor curves; [`envelope`]: [`BranchingSmoother`], [`DualRelease`], [`MeanSquare`],
//!   `one_pole_coef`.
//!
//! All units sanitise their input (NaN/Inf become silence), never allocate after construction
//! and give identical output for any block partition.

pub mod clipper;
pub mod compressor;
pub mod envelope;
pub mod gain_computer;
pub mod limiter;
pub mod multiband;
mod reading;

pub use clipper::Clipper;
pub use compressor::{Compressor, CompressorSettings, CompressorStyle, Detection};
pub use envelope::{BranchingSmoother, DualRelease, MeanSquare};
pub use gain_computer::GainComputer;
pub use limiter::{Limiter, LimiterSettings};
pub use multiband::{MultibandCompressor, MultibandSettings};
