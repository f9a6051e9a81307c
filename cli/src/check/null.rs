//! The null test: mix minus the sum of the stems, in every channel, summed block by block
//! ([`NullSums`]) and judged against the files' rounding floor ([`NullSums::finish`]).

use serde::Serialize;
use shared_dsp::meter::loudness::LoudnessMeter;

use crate::analysis::amp_db;

use super::passes::ChannelPlan;
use super::{F32_ROUNDING, NULL_FLOOR_MARGIN_DB, NULL_THRESHOLD_DBFS};

/// The null test: mix minus the sum of the stems.
#[derive(Clone, Debug, Serialize)]
pub struct NullTest {
    pub residual_peak_dbfs: f64,
    pub residual_rms_dbfs: f64,
    /// Integrated loudness of the residual (`null` when it is below the -70 LUFS gate).
    pub residual_lufs: f64,
    /// The largest residual exact stems can leave through rounding, dBFS.
    pub rounding_floor_dbfs: f64,
    /// Pass when `residual_peak_dbfs <= threshold_dbfs`:
    /// `max(NULL_THRESHOLD_DBFS, rounding_floor_dbfs + NULL_FLOOR_MARGIN_DB)`.
    pub threshold_dbfs: f64,
    pub passed: bool,
    pub explanation: String,
}

/// The residual's peak, energy and loudness, fed block by block (the longest file's length;
/// missing samples count as silence).
pub struct NullSums {
    peak: f64,
    sum_sq: f64,
    samples: u64,
    loudness: LoudnessMeter,
    block: Vec<Vec<f32>>,
}

impl NullSums {
    /// For a set summed in `plan`'s channels, at `sample_rate_hz`; the residual's loudness
    /// with the layout's BS.1770 weights.
    pub fn new(plan: &ChannelPlan, sample_rate_hz: u32) -> Self {
        let mut loudness = LoudnessMeter::new(plan.channels, sample_rate_hz as f64);
        loudness.set_channel_weights(&plan.weights);
        Self {
            peak: 0.0,
            sum_sq: 0.0,
            samples: 0,
            loudness,
            block: vec![Vec::new(); plan.channels],
        }
    }

    /// Adds the next frames of the residual, one `f64` slice per channel (equal lengths).
    pub fn add(&mut self, residual: &[Vec<f64>]) {
        let frames = residual.first().map_or(0, Vec::len);
        for k in 0..frames {
            for ch in residual {
                let r = ch[k];
                self.peak = self.peak.max(r.abs());
                self.sum_sq += r * r;
            }
        }
        self.samples += (frames * residual.len()) as u64;
        for (b, ch) in self.block.iter_mut().zip(residual) {
            b.clear();
            b.extend(ch.iter().map(|&x| x as f32));
        }
        let refs: Vec<&[f32]> = self.block.iter().map(Vec::as_slice).collect();
        self.loudness.process_block(&refs);
    }

    /// The verdict. `floor` is the largest residual exact stems can leave through rounding,
    /// linear (see [`rounding_floor`]).
    pub fn finish(&self, floor: f64) -> NullTest {
        let rms = if self.samples > 0 {
            (self.sum_sq / self.samples as f64).sqrt()
        } else {
            0.0
        };
        let floor_db = amp_db(floor);
        let threshold = NULL_THRESHOLD_DBFS.max(floor_db + NULL_FLOOR_MARGIN_DB);
        let peak_db = amp_db(self.peak);
        NullTest {
            residual_peak_dbfs: peak_db,
            residual_rms_dbfs: amp_db(rms),
            residual_lufs: self.loudness.integrated_lufs(),
            rounding_floor_dbfs: floor_db,
            threshold_dbfs: threshold,
            passed: peak_db <= threshold,
            explanation: format!(
                "Pass when the residual peak is at or below {threshold:.1} dBFS: \
                 {NULL_THRESHOLD_DBFS:.0} dBFS, or {NULL_FLOOR_MARGIN_DB:.0} dB above the \
                 rounding floor if the word length cannot reach that. The rounding floor \
                 ({floor_db:.1} dBFS) is the largest residual a perfect stem set can leave: one \
                 LSB per integer file (its rounding or dither) plus the DAW's float rounding when \
                 it summed the stems (2^-24 of the mix peak per stem). A residual of exactly 0 \
                 (-inf) means the files sum bit for bit."
            ),
        }
    }
}

/// The largest residual exact stems can leave, linear: one quantisation step per file
/// (`steps`: the stems' and the mix's) plus the float rounding of summing `stems` stems to a
/// mix peaking at `mix_peak` (linear).
pub fn rounding_floor(steps: impl Iterator<Item = f64>, stems: usize, mix_peak: f64) -> f64 {
    steps.sum::<f64>() + stems as f64 * F32_ROUNDING * mix_peak.max(1e-9)
}
