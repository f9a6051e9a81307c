//! Framework-free DSP units of the stem mastering suite.
//!
//! Every unit has one shape (after fundsp and lsp-dsp-units):
//! - constructed for the worst case (maximum channels, block size, sample rate), so nothing
//!   allocates after construction;
//! - `set_sample_rate(hz)` re-derives coefficients (callers do this in `activate()`, never on
//!   the audio thread);
//! - `set_*()` setters only record the new value and mark the unit dirty;
//! - `reset()` clears state and never allocates;
//! - `process_block()` (and `process_sample()` where it helps) never allocates, locks or logs;
//! - `latency_samples()` reports the delay the unit adds;
//! - coefficient designs expose an analytic `response(hz)` used by tests and editor curves.
//!
//! [`unit::Processor`] and [`unit::Meter`] give that shape one signature (channel slices,
//! `f64` rate); `tests/unit_contract.rs` checks every unit against it the same way.
//!
//! Audio is `f32` at the unit boundary; recursive state and coefficient design use `f64` where
//! precision matters (K-weighting, low corners at high sample rates).

pub mod adaa;
pub mod chain;
pub mod delay;
pub mod dither;
pub mod dynamics;
pub mod eq;
pub(crate) mod fastmath;
pub mod filter;
pub mod link;
pub mod meter;
pub mod oversampling;
pub mod reference;
pub mod saturation;
pub mod simd;
pub mod stereo;
pub mod unit;
pub mod util;
