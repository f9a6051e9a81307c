//! Equalisers: band settings, a minimum-phase parametric EQ with dynamic bands, and a
//! linear-phase EQ built from the same band set.
//!
//! Sources: matched designs after M. Vicanek, "Matched Second Order Digital Filters" (2016),
//! realised on A. Simper's TPT state-variable filter (Cytomic); dynamic bands with a
//! quadrature SVF envelope detector; linear phase by frequency sampling with a Blackman-Harris
//! window (F. J. Harris, "On the Use of Windows for Harmonic Analysis with the Discrete
//! Fourier Transform", Proc. IEEE 66(1), 1978) and uniformly partitioned overlap-save
//! convolution. Each submodule cites its details.
//!
//! # API
//! - [`band`]: [`BandSettings`] (serde; `enabled`, `kind: BandKind`, `freq_hz`, `gain_db`,
//!   `q`, `slope: Slope`, `placement: Placement`, `dynamic: DynamicSettings`
//!   { `enabled`, `threshold_db`, `range_db`, `attack_ms`, `release_ms` }),
//!   `BandSettings::design(sample_rate_hz)`, [`EqCurve`] (combined editor curve,
//!   `response(hz, view)`).
//! - [`parametric`]: [`ParametricEq`] — `new(sample_rate_hz)`, `set_sample_rate`,
//!   `set_band(index, settings)` (smoothed), `set_band_immediately`, `set_smoothing_ms`,
//!   `process_block(left, right)`, `process_block_mono`, `reset`, `latency_samples() == 0`,
//!   `response(hz, view)`, `dynamic_gain_db(index)` (momentary gain change for meters).
//! - [`linear_phase`]: [`LinearPhaseEq`] — `new(max_sample_rate_hz, sample_rate_hz)`,
//!   `set_sample_rate` (plans every FFT), `set_quality(LinearPhaseQuality)`,
//!   `set_bands(&[BandSettings])` (amortised redesign, cross-faded in), `finish_design_now`,
//!   `process_block(left, right)`, `latency_samples()`, `response(hz, view)`, `reset`.
//! - [`match_fit`]: `match_eq(hz, target_db, sample_rate_hz, max_bands, strength)`, the EQ
//!   match (bells and shelves fitted to a reference-minus-master curve).

pub mod band;
mod band_state;
pub mod dynamic;
mod lanes;
pub mod linear_phase;
pub mod match_fit;
pub mod parametric;
mod pipeline;
mod spectral_kernels;

pub use band::{BandKind, BandSettings, DynamicSettings, EqCurve, Placement};
pub use dynamic::DynamicDetector;
pub use linear_phase::{LinearPhaseEq, LinearPhaseQuality};
pub use parametric::{ParametricEq, MAX_BANDS};
