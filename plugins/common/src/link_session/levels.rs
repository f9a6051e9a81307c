//! The levels a linked instance publishes about the audio in its own ring, measured on the
//! link thread from the ring (so the audio thread pays nothing for them): BS.1770-5 momentary
//! and short-term loudness, the true peak since the last record, and a momentary-loudness
//! history at 100 ms steps.

use super::follower::RingFollower;
use crate::link::Slot;
use shared_dsp::link::record::HISTORY;
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::meter::true_peak::TruePeakMeter;

/// History step, seconds.
const HISTORY_STEP_S: f64 = 0.1;
/// Frames read per step.
const CHUNK: usize = 4096;

pub struct RingLevels {
    sample_rate_hz: f64,
    follower: RingFollower,
    loudness: LoudnessMeter,
    true_peak: TruePeakMeter,
    history: [f32; HISTORY],
    since_history: usize,
    scratch: [Vec<f32>; 2],
}

/// What [`RingLevels::update`] measured.
#[derive(Clone, Copy, Debug)]
pub struct Levels {
    pub momentary_lufs: f32,
    pub short_term_lufs: f32,
    /// Since the previous update, dBTP (`-inf` when nothing new was read).
    pub true_peak_dbtp: f32,
}

impl RingLevels {
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            sample_rate_hz,
            follower: RingFollower::default(),
            loudness: LoudnessMeter::new(2, sample_rate_hz),
            true_peak: TruePeakMeter::new(2, sample_rate_hz),
            history: [f32::NAN; HISTORY],
            since_history: 0,
            scratch: [vec![0.0; CHUNK], vec![0.0; CHUNK]],
        }
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Measures what was written to `slot` since the last call.
    pub fn update(&mut self, slot: &Slot) -> Levels {
        let step = (HISTORY_STEP_S * self.sample_rate_hz) as usize;
        let mut peak = 0.0f32;
        let [l, r] = &mut self.scratch;
        while let Some((_, n)) = self.follower.next(slot, l, r) {
            let block = [&l[..n], &r[..n]];
            self.loudness.process_block(&block);
            self.true_peak.process_block(&block);
            peak = peak.max(self.true_peak.take_window_peak());
            self.since_history += n;
            while self.since_history >= step {
                self.since_history -= step;
                self.history.rotate_left(1);
                self.history[HISTORY - 1] = self.loudness.momentary_lufs() as f32;
            }
        }
        Levels {
            momentary_lufs: self.loudness.momentary_lufs() as f32,
            short_term_lufs: self.loudness.short_term_lufs() as f32,
            true_peak_dbtp: 20.0 * peak.log10(),
        }
    }

    /// Momentary loudness every 100 ms, oldest first.
    pub fn history(&self) -> [f32; HISTORY] {
        self.history
    }
}
