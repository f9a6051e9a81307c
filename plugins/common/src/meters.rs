//! Lock-free transfer of meter readings from the audio thread to the editor.
//!
//! The audio thread only stores into atomics (never allocates, never waits); the editor reads
//! whenever it repaints. A reading may mix values from two neighbouring blocks (a spectrum
//! half-updated, say), which a display cannot show anyway, so no stronger ordering is paid for.

use atomic_float::AtomicF32;
use shared_dsp::meter::spectrum::SpectrumAnalyser;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Most bands a [`SharedSpectrum`] carries (48 bands per octave over ten octaves fit).
pub const SPECTRUM_MAX_BANDS: usize = 512;
/// One gain-reduction history point per this many ms in both plugins (the worst reduction
/// within it): 20 ms resolves a compressor's attack on screen, and both editors' traces read
/// the same way.
pub const GR_HISTORY_INTERVAL_MS: f32 = 20.0;

/// One meter reading (dB, LUFS, a ratio: the owner names the unit in the field name).
#[derive(Debug)]
pub struct MeterValue(AtomicF32);

impl MeterValue {
    pub fn new(initial: f32) -> Self {
        Self(AtomicF32::new(initial))
    }

    pub fn store(&self, value: f32) {
        self.0.store(value, Ordering::Relaxed);
    }

    pub fn load(&self) -> f32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Keeps the larger of the stored and the new value (peak holds the editor clears with
    /// [`Self::take`]).
    pub fn store_max(&self, value: f32) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }

    /// Returns the value and replaces it with `reset_to` (the editor consuming a held peak).
    pub fn take(&self, reset_to: f32) -> f32 {
        self.0.swap(reset_to, Ordering::Relaxed)
    }
}

impl Default for MeterValue {
    /// Silence on a dB scale.
    fn default() -> Self {
        Self::new(f32::NEG_INFINITY)
    }
}

/// Set by the editor while it is visible; meters and spectra are computed only then (except
/// what the audio path itself needs, such as gain match). Clones share the flag, so the editor
/// window can hold one and clear it when it closes.
#[derive(Clone, Debug, Default)]
pub struct EditorOpen(Arc<AtomicBool>);

impl EditorOpen {
    pub fn set(&self, open: bool) {
        self.0.store(open, Ordering::Relaxed);
    }

    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A banded spectrum published by the audio thread: (centre Hz, level dB) per band.
#[derive(Debug)]
pub struct SharedSpectrum {
    num_bands: AtomicUsize,
    centre_hz: Box<[AtomicF32]>,
    level_db: Box<[AtomicF32]>,
}

impl Default for SharedSpectrum {
    fn default() -> Self {
        let bands = || {
            (0..SPECTRUM_MAX_BANDS)
                .map(|_| AtomicF32::new(0.0))
                .collect::<Box<[_]>>()
        };
        Self {
            num_bands: AtomicUsize::new(0),
            centre_hz: bands(),
            level_db: bands(),
        }
    }
}

impl SharedSpectrum {
    /// Copies the analyser's banded levels (audio thread; no allocation).
    pub fn publish(&self, analyser: &SpectrumAnalyser) {
        let n = analyser.num_bands().min(SPECTRUM_MAX_BANDS);
        for (i, &db) in analyser.band_db().iter().take(n).enumerate() {
            self.centre_hz[i].store(analyser.band_centre_hz(i), Ordering::Relaxed);
            self.level_db[i].store(db, Ordering::Relaxed);
        }
        self.num_bands.store(n, Ordering::Release);
    }

    /// Forgets the published spectrum (the editor then draws none).
    pub fn clear(&self) {
        self.num_bands.store(0, Ordering::Release);
    }

    /// Replaces `out` with the published `[hz, dB]` pairs (editor thread).
    pub fn read(&self, out: &mut Vec<[f32; 2]>) {
        out.clear();
        let n = self.num_bands.load(Ordering::Acquire);
        out.extend((0..n).map(|i| {
            [
                self.centre_hz[i].load(Ordering::Relaxed),
                self.level_db[i].load(Ordering::Relaxed),
            ]
        }));
    }
}

/// A fixed ring of readings for scrolling plots (gain-reduction trace, loudness history). The
/// audio thread pushes at its own display rate; the editor copies the ring oldest first.
#[derive(Debug)]
pub struct SharedHistory {
    values: Box<[AtomicF32]>,
    /// Total pushes so far; the newest value sits at `(written - 1) % len`.
    written: AtomicUsize,
}

impl SharedHistory {
    /// A ring of `len` values (allocates; build it with the plugin).
    pub fn new(len: usize) -> Self {
        Self {
            values: (0..len.max(1))
                .map(|_| AtomicF32::new(f32::NEG_INFINITY))
                .collect(),
            written: AtomicUsize::new(0),
        }
    }

    /// Number of values the ring holds.
    pub fn capacity(&self) -> usize {
        self.values.len()
    }

    /// Appends one value, overwriting the oldest (audio thread; no allocation).
    pub fn push(&self, value: f32) {
        let written = self.written.load(Ordering::Relaxed);
        self.values[written % self.values.len()].store(value, Ordering::Relaxed);
        self.written
            .store(written.wrapping_add(1), Ordering::Release);
    }

    /// Appends `values`, overwriting the oldest (audio thread; no allocation): one release
    /// for the whole run instead of one per value.
    pub fn push_slice(&self, values: &[f32]) {
        let len = self.values.len();
        let written = self.written.load(Ordering::Relaxed);
        for (i, &v) in values.iter().enumerate() {
            self.values[written.wrapping_add(i) % len].store(v, Ordering::Relaxed);
        }
        self.written
            .store(written.wrapping_add(values.len()), Ordering::Release);
    }

    /// Empties the ring (e.g. on a meter reset).
    pub fn clear(&self) {
        self.written.store(0, Ordering::Release);
    }

    /// Replaces `out` with the stored values, oldest first (at most `capacity()` of them).
    pub fn snapshot(&self, out: &mut Vec<f32>) {
        out.clear();
        let len = self.values.len();
        let written = self.written.load(Ordering::Acquire);
        let count = written.min(len);
        out.extend(
            (written - count..written).map(|i| self.values[i % len].load(Ordering::Relaxed)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_returns_the_newest_values_oldest_first() {
        let history = SharedHistory::new(4);
        let mut out = Vec::new();
        history.snapshot(&mut out);
        assert!(out.is_empty());
        for v in 0..6 {
            history.push(v as f32);
        }
        history.snapshot(&mut out);
        assert_eq!(out, [2.0, 3.0, 4.0, 5.0]);
        history.clear();
        history.snapshot(&mut out);
        assert!(out.is_empty());
        history.push_slice(&[7.0, 8.0, 9.0, 10.0, 11.0]);
        history.push(12.0);
        history.snapshot(&mut out);
        assert_eq!(out, [9.0, 10.0, 11.0, 12.0]);
    }

    #[test]
    fn meter_value_holds_the_maximum_until_taken() {
        let meter = MeterValue::default();
        meter.store_max(-12.0);
        meter.store_max(-20.0);
        assert_eq!(meter.take(f32::NEG_INFINITY), -12.0);
        assert_eq!(meter.load(), f32::NEG_INFINITY);
    }

    #[test]
    fn spectrum_round_trips_the_analyser_bands() {
        let mut analyser = SpectrumAnalyser::new(2048, 48_000.0);
        let tone: Vec<f32> = (0..8192)
            .map(|n| (std::f32::consts::TAU * 1_000.0 * n as f32 / 48_000.0).sin())
            .collect();
        analyser.process_block(&tone);
        let shared = SharedSpectrum::default();
        shared.publish(&analyser);
        let mut out = Vec::new();
        shared.read(&mut out);
        assert_eq!(out.len(), analyser.num_bands().min(SPECTRUM_MAX_BANDS));
        let loudest = out
            .iter()
            .max_by(|a, b| a[1].total_cmp(&b[1]))
            .expect("bands");
        // The loudest band is the one around the tone, an analyser-independent fact.
        assert!((loudest[0] / 1_000.0).log2().abs() < 0.25, "{loudest:?}");
    }
}
