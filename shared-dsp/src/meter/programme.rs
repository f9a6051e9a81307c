//! Programme meter: the loudness meter (BS.1770-5 / EBU R128) and the true-peak meter
//! (BS.1770 Annex 2) run together, with the two peak-to-loudness ratios derived from them:
//!
//! - PLR, peak to loudness ratio (EBU R128 s1 / Tech 3343 usage): maximum true peak of the
//!   programme minus its integrated loudness;
//! - PSR, peak to short-term loudness ratio: maximum true peak over the short-term window (the
//!   last 3 s) minus the short-term loudness, a running "crest" reading of current density.
//!
//! This is the unit the editors and the command-line tool use for a complete reading.

use super::loudness::LoudnessMeter;
use super::true_peak::TruePeakMeter;
use crate::util::gain_to_db;

/// Short-term window in 10 ms ticks, matching the loudness meter.
const SHORT_TERM_TICKS: usize = 300;

/// Loudness (M, S, I, LRA, maxima) plus true peak, PLR and PSR.
#[derive(Clone, Debug)]
pub struct ProgrammeMeter {
    loudness: LoudnessMeter,
    true_peak: TruePeakMeter,
    /// Largest true peak (linear, all channels) of each of the last 300 completed ticks; the
    /// current tick's builds up in the true-peak meter's window.
    tick_peaks: Vec<f32>,
    tick_index: usize,
}

impl ProgrammeMeter {
    /// Creates a meter for up to `max_channels` channels at `sample_rate_hz`.
    pub fn new(max_channels: usize, sample_rate_hz: f64) -> Self {
        Self {
            loudness: LoudnessMeter::new(max_channels, sample_rate_hz),
            true_peak: TruePeakMeter::new(max_channels, sample_rate_hz),
            tick_peaks: vec![0.0; SHORT_TERM_TICKS],
            tick_index: 0,
        }
    }

    /// Re-derives every filter for a new rate and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.loudness.set_sample_rate(sample_rate_hz);
        self.true_peak.set_sample_rate(sample_rate_hz);
        self.reset();
    }

    /// Clears every reading.
    pub fn reset(&mut self) {
        self.loudness.reset();
        self.true_peak.reset();
        self.tick_peaks.fill(0.0);
        self.tick_index = 0;
    }

    /// Pauses or resumes both meters (see [`LoudnessMeter::set_paused`]).
    pub fn set_paused(&mut self, paused: bool) {
        self.loudness.set_paused(paused);
    }

    /// The loudness meter, for its readings and settings.
    pub fn loudness(&self) -> &LoudnessMeter {
        &self.loudness
    }

    /// The loudness meter, to change channel weights or the LRA interval.
    pub fn loudness_mut(&mut self) -> &mut LoudnessMeter {
        &mut self.loudness
    }

    /// The true-peak meter.
    pub fn true_peak(&self) -> &TruePeakMeter {
        &self.true_peak
    }

    /// Feeds planar audio, any length. Work is split at the loudness meter's 10 ms ticks so the
    /// PSR peak window lines up with the short-term window.
    pub fn process_block(&mut self, channels: &[&[f32]]) {
        if self.loudness.is_paused() || channels.is_empty() {
            return;
        }
        let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < frames {
            let len = (frames - start).min(self.loudness.samples_until_update());
            self.true_peak.process_range(channels, start..start + len);
            self.loudness.process_range(channels, start..start + len);
            start += len;
            if self.loudness.samples_until_update() == self.loudness.tick_len() {
                self.tick_peaks[self.tick_index] = self.true_peak.take_window_peak();
                self.tick_index = (self.tick_index + 1) % SHORT_TERM_TICKS;
            }
        }
    }

    /// Maximum true peak since reset, dBTP (`-inf` for silence).
    pub fn max_true_peak_dbtp(&self) -> f64 {
        self.true_peak.true_peak_dbtp()
    }

    /// Maximum true peak over the short-term window (the 300 completed 10 ms ticks the
    /// short-term loudness covers), dBTP.
    pub fn short_term_true_peak_dbtp(&self) -> f64 {
        let p = self.tick_peaks.iter().fold(0.0f32, |m, &p| m.max(p));
        gain_to_db(p) as f64
    }

    /// Peak to loudness ratio: max true peak minus integrated loudness, dB (`-inf` until both
    /// have been measured).
    pub fn plr_db(&self) -> f64 {
        ratio(self.max_true_peak_dbtp(), self.loudness.integrated_lufs())
    }

    /// [`Self::plr_db`] from the running integrated loudness
    /// ([`LoudnessMeter::running_integrated_lufs`]), O(1): for readings taken per block.
    pub fn running_plr_db(&self) -> f64 {
        ratio(
            self.max_true_peak_dbtp(),
            self.loudness.running_integrated_lufs(),
        )
    }

    /// Peak to short-term loudness ratio: true peak of the last 3 s minus short-term loudness,
    /// dB (`-inf` while silent).
    pub fn psr_db(&self) -> f64 {
        ratio(
            self.short_term_true_peak_dbtp(),
            self.loudness.short_term_lufs(),
        )
    }
}

/// Difference of a peak and a loudness in dB; `-inf` when either is not measured yet.
fn ratio(peak_db: f64, loudness_lufs: f64) -> f64 {
    if peak_db.is_finite() && loudness_lufs.is_finite() {
        peak_db - loudness_lufs
    } else {
        f64::NEG_INFINITY
    }
}
