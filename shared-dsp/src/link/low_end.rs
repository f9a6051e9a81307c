//! Low-end conflict between two stems below 150 Hz: the guide's "single biggest problem in stem
//! mastering" (kick against bass). Two figures per pair, over the last few seconds:
//!
//! - **overlap**: how much the two stems' low-frequency energy sits in the same 1/3-octave bands
//!   at comparable level, the Ruzicka similarity of their band energies
//!   `sum_b min(P_ib, P_jb) / sum_b max(P_ib, P_jb)` over the bands centred 25 to 125 Hz
//!   (IEC 61260 nominal centres). 1 for equal spectra at equal level; two stems in separate
//!   bands give near 0, and a stem 10 dB under the other in the same band gives 0.1, so a quiet
//!   tail under the bass is not a conflict.
//! - **correlation** of their signals below 150 Hz (mono, Linkwitz-Riley 4th-order low-pass):
//!   near +1 they add (the low end builds up when both play), near -1 they cancel (a polarity or
//!   phase problem), near 0 they beat against each other.
//!
//! A pair is a conflict only when both stems *carry* low end: at least [`MIN_LOW_SHARE`] of
//! each one's energy lies below 150 Hz. Two stems with almost nothing down there (a chord and
//! a voice) can have similar band shapes in their filters' skirts; that is not a conflict.
//!
//! Both are exponentially averaged with a [`TIME_CONSTANT_S`] time constant, updated per sample
//! on the stems' sum and cross-products, so the figures follow the music as it plays.

use crate::filter::biquad::Biquad;
use crate::filter::coefficients::BiquadCoefs;

/// Averaging time constant of the figures, seconds.
pub const TIME_CONSTANT_S: f64 = 3.0;

/// Upper edge of the low end, Hz.
pub const LOW_END_HZ: f64 = 150.0;

/// IEC 61260 1/3-octave centres of the low end, Hz.
pub const BAND_CENTRES_HZ: [f64; 8] = [25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0];

/// Q of a 1/3-octave band-pass (bandwidth 2^(1/6) - 2^(-1/6) of the centre).
const THIRD_OCTAVE_Q: f64 = 4.318;

/// Overlap above which a pair is flagged.
pub const CONFLICT_OVERLAP: f64 = 0.3;

/// Share of a stem's energy below 150 Hz from which it counts as carrying low end (-10 dB).
pub const MIN_LOW_SHARE: f64 = 0.1;

/// One stem's low-end analysers.
#[derive(Clone, Debug)]
struct StemLowEnd {
    low_pass: [Biquad; 2],
    bands: Vec<Biquad>,
    band_energy: [f64; BAND_CENTRES_HZ.len()],
    /// Energy of the low-passed signal.
    energy: f64,
    /// Energy of the whole (mono) signal.
    total_energy: f64,
    /// The current sample of the low-passed signal.
    low: f64,
}

impl StemLowEnd {
    fn new(sample_rate_hz: f64) -> Self {
        let butterworth =
            BiquadCoefs::lowpass(sample_rate_hz, LOW_END_HZ, std::f64::consts::FRAC_1_SQRT_2);
        Self {
            low_pass: [Biquad::new(butterworth), Biquad::new(butterworth)],
            bands: BAND_CENTRES_HZ
                .iter()
                .map(|&hz| Biquad::new(BiquadCoefs::bandpass(sample_rate_hz, hz, THIRD_OCTAVE_Q)))
                .collect(),
            band_energy: [0.0; BAND_CENTRES_HZ.len()],
            energy: 0.0,
            total_energy: 0.0,
            low: 0.0,
        }
    }
}

/// One pair's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LowEndPair {
    /// Similarity of the band energies, 0..1.
    pub overlap: f64,
    /// Correlation of the signals below 150 Hz, -1..1.
    pub correlation: f64,
    /// Each stem's level below 150 Hz, dBFS (mean square of the mono signal).
    pub level_dbfs: [f64; 2],
    /// Each stem's share of its energy below 150 Hz, 0..1.
    pub low_share: [f64; 2],
}

impl LowEndPair {
    /// Whether the pair is shown as a conflict: both carry low end, and it overlaps.
    pub fn is_conflict(&self) -> bool {
        self.overlap >= CONFLICT_OVERLAP && self.low_share.iter().all(|&s| s >= MIN_LOW_SHARE)
    }
}

/// Low-end analysers for up to `columns` stems and every pair of them.
#[derive(Clone, Debug)]
pub struct LowEndMeter {
    sample_rate_hz: f64,
    decay: f64,
    stems: Vec<Option<StemLowEnd>>,
    /// Upper-triangle cross products of the low-passed signals, `cross[i * columns + j]`, i < j.
    cross: Vec<f64>,
}

impl LowEndMeter {
    pub fn new(columns: usize, sample_rate_hz: f64) -> Self {
        Self {
            sample_rate_hz,
            decay: (-1.0 / (TIME_CONSTANT_S * sample_rate_hz)).exp(),
            stems: vec![None; columns],
            cross: vec![0.0; columns * columns],
        }
    }

    /// Starts (or restarts) analysing column `c`.
    pub fn start(&mut self, c: usize) {
        self.stems[c] = Some(StemLowEnd::new(self.sample_rate_hz));
        let n = self.stems.len();
        for k in 0..n {
            self.cross[c.min(k) * n + c.max(k)] = 0.0;
        }
    }

    /// Stops analysing column `c`.
    pub fn stop(&mut self, c: usize) {
        self.stems[c] = None;
    }

    /// Processes `frames` frames of the stems: `stems[c]` is column `c`'s (left, right), or
    /// `None` when it is not sounding in this stretch (it decays like silence).
    pub fn process(&mut self, stems: &[Option<[&[f32]; 2]>], frames: usize) {
        let n = self.stems.len();
        let decay = self.decay;
        let gain = 1.0 - decay;
        for t in 0..frames {
            for (c, state) in self.stems.iter_mut().enumerate() {
                let Some(s) = state else { continue };
                let x = stems
                    .get(c)
                    .copied()
                    .flatten()
                    .map_or(0.0, |[l, r]| 0.5 * (l[t] as f64 + r[t] as f64));
                let first = s.low_pass[0].tick(x);
                let low = s.low_pass[1].tick(first);
                s.low = low;
                s.energy = decay * s.energy + gain * low * low;
                s.total_energy = decay * s.total_energy + gain * x * x;
                for (e, band) in s.band_energy.iter_mut().zip(&mut s.bands) {
                    let y = band.tick(x);
                    *e = decay * *e + gain * y * y;
                }
            }
            for i in 0..n {
                let Some(a) = &self.stems[i] else { continue };
                for j in i + 1..n {
                    let Some(b) = &self.stems[j] else { continue };
                    let c = &mut self.cross[i * n + j];
                    *c = decay * *c + gain * a.low * b.low;
                }
            }
        }
    }

    /// The figures of columns `i` and `j` (`None` unless both are analysed and both have low
    /// end above -100 dBFS).
    pub fn pair(&self, i: usize, j: usize) -> Option<LowEndPair> {
        let (a, b) = (self.stems.get(i)?.as_ref()?, self.stems.get(j)?.as_ref()?);
        if i == j || a.energy < 1e-10 || b.energy < 1e-10 {
            return None;
        }
        let (mut shared, mut union) = (0.0, 0.0);
        for (&p, &q) in a.band_energy.iter().zip(&b.band_energy) {
            shared += p.min(q);
            union += p.max(q);
        }
        let n = self.stems.len();
        let cross = self.cross[i.min(j) * n + i.max(j)];
        Some(LowEndPair {
            overlap: if union > 0.0 { shared / union } else { 0.0 },
            correlation: (cross / (a.energy * b.energy).sqrt()).clamp(-1.0, 1.0),
            level_dbfs: [a.energy, b.energy].map(|e| 10.0 * e.log10()),
            low_share: [a, b].map(|s| (s.energy / s.total_energy).min(1.0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_signals::sine;

    const FS: f64 = 48_000.0;

    fn run(signals: &[Vec<f32>]) -> LowEndMeter {
        let mut m = LowEndMeter::new(signals.len(), FS);
        for c in 0..signals.len() {
            m.start(c);
        }
        let stems: Vec<Option<[&[f32]; 2]>> =
            signals.iter().map(|s| Some([&s[..], &s[..]])).collect();
        m.process(&stems, signals[0].len());
        m
    }

    #[test]
    fn the_same_tone_in_two_stems_overlaps_and_correlates() {
        let n = (24.0 * FS) as usize;
        let m = run(&[sine(n, 60.0, FS, 0.5), sine(n, 60.0, FS, 0.5)]);
        let p = m.pair(0, 1).unwrap();
        assert!(p.overlap > 0.99 && p.correlation > 0.99, "{p:?}");
        assert!(p.is_conflict());
        // The low-passed mean square of a 0.5 sine at 60 Hz: 0.125 (-9.031 dBFS) times the
        // Linkwitz-Riley's |H|^2 = 1 / (1 + (60/150)^4)^2 (-0.221 dB), after 8 time constants.
        assert!((p.level_dbfs[0] + 9.252).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn opposite_polarity_reads_minus_one_and_a_quieter_stem_overlaps_less() {
        let n = (8.0 * FS) as usize;
        let tone = sine(n, 60.0, FS, 0.5);
        let inverted: Vec<f32> = tone.iter().map(|v| -v).collect();
        let quieter: Vec<f32> = tone.iter().map(|v| v * 10f32.powf(-0.5)).collect();
        let m = run(&[tone, inverted, quieter]);
        assert!(m.pair(0, 1).unwrap().correlation < -0.99);
        // 10 dB under: the band energies' ratio, 0.1.
        let p = m.pair(0, 2).unwrap();
        assert!((p.overlap - 0.1).abs() < 0.01, "{p:?}");
        assert!(!p.is_conflict());
    }

    #[test]
    fn stems_without_low_end_do_not_conflict_whatever_their_skirts_share() {
        let n = (8.0 * FS) as usize;
        let m = run(&[sine(n, 400.0, FS, 0.5), sine(n, 420.0, FS, 0.5)]);
        let p = m.pair(0, 1).unwrap();
        // Their skirts below 150 Hz are alike, but each holds a fraction of a percent of its
        // stem's energy there (the LR4 at 400 Hz: 1 / (1 + (400/150)^4)^2 = 0.0005).
        assert!(p.low_share.iter().all(|&s| s < 0.002), "{p:?}");
        assert!(!p.is_conflict(), "{p:?}");
    }

    #[test]
    fn stems_in_separate_bands_do_not_conflict_and_silence_has_no_figures() {
        let n = (8.0 * FS) as usize;
        let m = run(&[
            sine(n, 31.5, FS, 0.5),
            sine(n, 125.0, FS, 0.5),
            vec![0.0; n],
        ]);
        let p = m.pair(0, 1).unwrap();
        assert!(p.overlap < 0.05 && p.correlation.abs() < 0.05, "{p:?}");
        assert_eq!(m.pair(0, 2), None);
        assert_eq!(m.pair(0, 0), None);
    }
}
