//! The levels a linked instance publishes about the audio in its own ring, measured on the
//! link thread from the ring (so the audio thread pays nothing for them): BS.1770-5 momentary
//! and short-term loudness, the true peak since the last record, a momentary-loudness
//! history at 100 ms steps, and the 1/3-octave band-energy frame.

use super::follower::RingFollower;
use crate::link::Slot;
use shared_dsp::link::record::{band_frame, BANDS, HISTORY};
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::meter::spectrum::SpectrumAnalyser;
use shared_dsp::meter::true_peak::TruePeakMeter;

/// History step, seconds.
const HISTORY_STEP_S: f64 = 0.1;
/// Frames read per step.
const CHUNK: usize = 4096;
/// FFT size of the band-energy frame at 48 kHz (scaled with the rate): 85 ms, fine enough for
/// 1/3-octave bands from 20 Hz.
const SPECTRUM_FFT_48K: usize = 4096;

pub struct RingLevels {
    sample_rate_hz: f64,
    follower: RingFollower,
    loudness: LoudnessMeter,
    true_peak: TruePeakMeter,
    history: [f32; HISTORY],
    since_history: usize,
    spectrum: SpectrumAnalyser,
    /// The spectrum's band centres (fixed for the rate), for [`band_frame`].
    band_centres_hz: Vec<f32>,
    scratch: [Vec<f32>; 2],
    mono: Vec<f32>,
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
        let fft = SPECTRUM_FFT_48K * (sample_rate_hz / 48_000.0).round().max(1.0) as usize;
        let spectrum = SpectrumAnalyser::new(fft, sample_rate_hz);
        let band_centres_hz = (0..spectrum.num_bands())
            .map(|i| spectrum.band_centre_hz(i))
            .collect();
        Self {
            sample_rate_hz,
            follower: RingFollower::default(),
            loudness: LoudnessMeter::new(2, sample_rate_hz),
            true_peak: TruePeakMeter::new(2, sample_rate_hz),
            history: [f32::NAN; HISTORY],
            since_history: 0,
            spectrum,
            band_centres_hz,
            scratch: [vec![0.0; CHUNK], vec![0.0; CHUNK]],
            mono: vec![0.0; CHUNK],
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
            for ((m, &a), &b) in self.mono.iter_mut().zip(&l[..n]).zip(&r[..n]) {
                *m = 0.5 * (a + b);
            }
            self.spectrum.process_block(&self.mono[..n]);
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

    /// The 1/3-octave band-energy frame, dBFS (NaN until the analyser has a frame).
    pub fn band_frame(&self) -> [f32; BANDS] {
        if self.spectrum.frames() == 0 {
            return [f32::NAN; BANDS];
        }
        band_frame(&self.band_centres_hz, self.spectrum.band_db())
    }
}
