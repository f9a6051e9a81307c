//! Meters: loudness to ITU-R BS.1770-5 / EBU R128 (EBU Tech 3341 "EBU Mode", Tech 3342 loudness
//! range), true peak (BS.1770 Annex 2), sample peak, RMS, stereo correlation and a spectrum
//! analyser for the editors.
//!
//! Every meter is built for the worst case at construction and never allocates afterwards.

pub mod correlation;
pub mod k_weighting;
pub mod level;
pub mod loudness;
pub mod programme;
pub mod spectrum;
pub mod true_peak;
