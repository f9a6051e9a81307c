//! Filters: coefficient designs, TDF-II biquads, TPT state-variable filters and
//! Linkwitz-Riley crossovers.
//!
//! Sources: M. Vicanek, "Matched Second Order Digital Filters" (2016) for the matched
//! designs; R. Bristow-Johnson, "Audio EQ Cookbook" for the bilinear ones; A. Simper,
//! "Linear Trapezoidal Integrated State Variable Filter" (Cytomic) for the SVF; S. Linkwitz
//! (JAES 1976) for the crossovers. Each submodule cites its own details.
//!
//! # API
//! - [`coefficients`]: [`BiquadCoefs`] (fields `b0 b1 b2 a1 a2`, `sample_rate_hz`;
//!   `Default` = identity; `response(hz) -> Complex64`, `magnitude_db(hz)`, `is_stable()`)
//!   with single-biquad matched designs `lowpass`, `highpass`, `lowpass1`, `highpass1`,
//!   `bandpass`, `notch`, `bell`, `low_shelf`, `high_shelf`, `tilt` and bilinear designs
//!   `lowpass_bilinear`, `highpass_bilinear`, `lowpass1_bilinear`, `highpass1_bilinear`.
//!   [`CascadeCoefs`] (up to 8 sections, `Copy`, `response(hz)`, `sections()`):
//!   `CascadeCoefs::design(sample_rate_hz, Shape, Precision)` for every [`Shape`] (bell,
//!   shelves, notch, band-pass, tilt, lowpass/highpass with Q, Butterworth highpass/lowpass
//!   with a [`Slope`] of 6/12/18/24/36/48 dB/oct); `Precision::Matched` follows the
//!   analogue prototype within 0.1 dB up to 0.9 x Nyquist (one or two biquads per analogue
//!   section, tens of microseconds), `Precision::Fast` is Vicanek's closed form (one biquad,
//!   ~0.15 us). Shortcuts: `butterworth_highpass(sample_rate_hz, hz, Slope::Db24)`,
//!   `butterworth_lowpass`, `bell`, `low_shelf`, `high_shelf`, `highpass`, `lowpass`.
//! - [`biquad`]: [`Biquad`] (one TDF-II section) and [`BiquadCascade`] (a `CascadeCoefs`);
//!   `new(coefs)`, `set_coefs`, `reset`, `process_sample(f32) -> f32`,
//!   `process_block(&mut [f32])`, `response(hz)`. Mono: hold one per channel. `f64` state,
//!   `f32` I/O.
//! - [`svf`]: [`SvfCoefs`] (`g`, `k`, output mix `m0 m1 m2`; Simper designs `lowpass`,
//!   `highpass`, `allpass`, `from_analog`, and `from_biquad` which realises any stable
//!   biquad, e.g. a matched design, exactly), [`Svf`] (`process_sample`, `process_block`,
//!   `set_coefs` safe every sample), [`SvfState`]/[`SvfTaps`] for hand-rolled loops;
//!   `SvfTaps::direct_form() -> `[`DirectForm2`] (the same section in direct form II) with
//!   `state_to_direct` / `state_from_direct` (exact state maps, for switching form mid-signal).
//! - [`crossover`]: [`LinkwitzRiley`]`::new(LinkwitzRileyOrder::Lr4, sample_rate_hz, hz)`,
//!   `split_sample(x) -> (low, high)`, `split_block(input, low, high)`, `set_frequency(hz)`
//!   (click-free), `set_order`, `set_sample_rate`, `response_low/high/sum(hz)`;
//!   `low + high` is an allpass (flat within 1e-5 dB; the LR2 high band is inverted to make
//!   it so). [`LinkwitzRileyAllpass`] has the phase of that sum, for aligning the other bands
//!   of a multiband split.
//!
//! All units sanitise their input (NaN/Inf become silence), reset on non-finite state and
//! never output subnormals.

pub mod biquad;
pub mod coefficients;
pub mod crossover;
pub mod dc_filter;
mod magnitude_fit;
pub mod svf;

pub use biquad::{Biquad, BiquadCascade};
pub use coefficients::{BiquadCoefs, CascadeCoefs, Precision, Shape, Slope};
pub use crossover::{LinkwitzRiley, LinkwitzRileyAllpass, LinkwitzRileyOrder};
pub use dc_filter::{DcFilter, DC_FILTER_HZ};
pub use svf::{DirectForm2, Svf, SvfCoefs, SvfSpace, SvfState, SvfTaps};
