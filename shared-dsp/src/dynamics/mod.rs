//! Dynamics processors: compressor (clean/opto/glue), multiband compressor and true-peak
//! limiter, with their building blocks (static gain computer, envelopes).
//!
//! The compressor follows D. Giannoulis, M. Massberg and J. D. Reiss, "Digital Dynamic Range
//! Compressor Design — A Tutorial and Analysis", JAES 60(6), 2012; the limiter's oversampled
//! detection follows ITU-R BS.1770-5 Annex 2 through [`crate::meter::true_peak`]. Each submodule
//! cites its details.

pub mod compressor;
pub mod envelope;
pub(crate) mod fastmath;
pub mod gain_computer;
pub mod limiter;

pub use compressor::{Compressor, CompressorSettings, CompressorStyle, Detection};
pub use envelope::{BranchingSmoother, DualRelease, MeanSquare};
pub use gain_computer::GainComputer;
pub use limiter::{Limiter, LimiterSettings};
