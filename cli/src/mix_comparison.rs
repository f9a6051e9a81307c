//! What a master is compared with in its report: the mix, the input stems summed as they are
//! read (before any Channel or Master chain), measured in the pass that renders the stems
//! ([`crate::mastering`]) so no pass over the audio is added: its loudness history (one point
//! per 100 ms) and its 1/3-octave mid and side spectra (fixed-size accumulators).
//!
//! The master and the mix are set side by side at matched loudness: the mix raised by the
//! difference of their integrated loudness (BS.1770-5), so what differs is what mastering
//! changed beyond level: dynamics flattened (short-term loudness over time) and tone (spectra).

use serde::Serialize;
use shared_dsp::meter::long_term_spectrum::{MidSideSpectrum, SpectrumMeter};

use crate::analysis::LoudnessHistory;
use crate::figures::LoudnessTrack;

/// Measures the mix as it is summed, block by block.
pub struct MixMeter {
    loudness: LoudnessTrack,
    spectrum: SpectrumMeter,
}

impl MixMeter {
    /// For a mix of `frames` frames at `sample_rate_hz`.
    pub fn new(frames: usize, sample_rate_hz: u32) -> Self {
        Self {
            loudness: LoudnessTrack::stereo(sample_rate_hz as f64),
            spectrum: SpectrumMeter::mid_side(frames, sample_rate_hz as f64),
        }
    }

    /// Feeds the next frames of the mix.
    pub fn process(&mut self, left: &[f32], right: &[f32]) {
        self.loudness.process(&[left, right]);
        self.spectrum.process(left, right);
    }

    pub fn finish(self) -> MixMeasurement {
        let spectrum = self
            .spectrum
            .mid_side_power()
            .map(|p| MidSideSpectrum::of(&p))
            .unwrap_or_default();
        let (meter, history) = self.loudness.finish();
        MixMeasurement {
            integrated_lufs: meter.integrated_lufs(),
            history,
            spectrum,
        }
    }
}

/// The measured mix.
#[derive(Clone, Debug, Default)]
pub struct MixMeasurement {
    pub integrated_lufs: f64,
    pub history: LoudnessHistory,
    /// Empty for a mix shorter than one FFT.
    pub spectrum: MidSideSpectrum,
}

/// A master's report figures against its mix.
#[derive(Clone, Debug, Serialize)]
pub struct MixComparison {
    /// The mix's integrated loudness, LUFS.
    pub mix_integrated_lufs: f64,
    /// The gain that brings the mix to the master's integrated loudness (the master's minus the
    /// mix's), LU: the shift of the mix in the report's plots (`None` when either is silent).
    pub mix_shift_lu: Option<f64>,
}

impl MixComparison {
    pub fn new(master_integrated_lufs: f64, mix_integrated_lufs: f64) -> Self {
        let shift = master_integrated_lufs - mix_integrated_lufs;
        Self {
            mix_integrated_lufs,
            mix_shift_lu: shift.is_finite().then_some(shift),
        }
    }
}
