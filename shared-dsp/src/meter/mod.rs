//! Meters: loudness to ITU-R BS.1770-5 / EBU R128 (EBU Tech 3341 "EBU Mode", Tech 3342 loudness
//! range), true peak (BS.1770-5 Annex 2), sample peak, RMS, PLR/PSR, stereo correlation and a
//! spectrum analyser for the editors.
//!
//! - [`k_weighting`]: the BS.1770 K-weighting filter for any sample rate;
//! - [`loudness::LoudnessMeter`]: momentary, short-term, integrated, loudness range, maxima;
//! - [`true_peak::TruePeakDetector`] (per sample, reused by the true-peak limiter) and
//!   [`true_peak::TruePeakMeter`] (multichannel running maximum);
//! - [`programme::ProgrammeMeter`]: loudness and true peak together, with PLR and PSR;
//! - [`level::SamplePeak`], [`level::Rms`], [`correlation::Correlation`],
//!   [`spectrum::SpectrumAnalyser`];
//! - [`damage::LoudnessDamage`]: what reaching a loudness cost a master (offline reports);
//! - [`attribution`]: each stem's share of the master limiter's gain reduction and of the mix's
//!   peaks, and its loudness against the mix.
//!
//! Every meter is built for the worst case at construction and never allocates afterwards
//! (`tests/meter_alloc.rs`). Loudness readings are LUFS (`f64`), levels dBFS/dBTP (`f64`);
//! silence reads `f64::NEG_INFINITY`.

pub mod attribution;
pub mod correlation;
pub mod damage;
mod histogram;
pub mod k_weighting;
pub mod level;
pub mod loudness;
pub mod programme;
pub mod spectrum;
pub mod true_peak;
