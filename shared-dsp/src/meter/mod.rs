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
//! - [`long_term_spectrum::SpectrumMeter`]: a whole programme's average mid and side spectra,
//!   1/3-octave smoothed ([`long_term_spectrum::MidSideSpectrum`]; offline comparisons);
//! - [`comparison`]: a master against a reference at matched loudness (figures, spectra, their
//!   difference and the EQ that matches it), shared by `stem compare` and the Stem Master plugin;
//! - [`attribution`]: each stem's share of the master limiter's gain reduction and of the mix's
//!   peaks, and its loudness against the mix.
//!
//! Every real-time meter is built for the worst case at construction and never allocates
//! afterwards (`tests/meter_alloc.rs`; the two offline ones above allocate their results).
//! Loudness readings are LUFS (`f64`), levels dBFS/dBTP (`f64`); silence reads
//! `f64::NEG_INFINITY`.

pub mod attribution;
pub mod comparison;
pub mod correlation;
pub mod damage;
mod histogram;
pub mod k_weighting;
pub mod level;
pub mod long_term_spectrum;
pub mod loudness;
pub mod programme;
pub mod spectrum;
pub mod true_peak;
