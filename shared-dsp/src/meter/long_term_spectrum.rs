//! Long-term average spectrum of a whole programme, for offline comparisons (a master against
//! its mix or a commercial reference): the mid `(L+R)/2` signal and, when asked, the side
//! `(L-R)/2` signal, measured block by block with Hann-windowed 8192-point FFTs (`realfft`),
//! power averaged, scaled so a full-scale sine reads 0 dB. At most [`SPECTRUM_MAX_FRAMES`] FFT
//! frames are averaged, spread evenly over the programme, so the frame positions follow from
//! the programme's length, which the meter is told up front (a file's header gives it); only
//! the last FFT length of mid (and side) samples is kept. Unlike the editors'
//! [`super::spectrum::SpectrumAnalyser`] this reads a programme once and is not real-time: it
//! allocates its tables at construction and its results when asked.
//!
//! Smoothing ([`third_octave_db`], [`MidSideSpectrum`]): each point of a 1/24-octave grid from
//! 20 Hz is the average power of the FFT bins within +-1/6 octave of it (a 1/3-octave band, as
//! fractional-octave smoothing is usually defined, e.g. Hatziantoniou and Mourjopoulos,
//! "Generalized fractional-octave smoothing of audio and acoustic responses", JAES 48(4), 2000,
//! with a rectangular window). Averaging power per bin keeps white noise flat and gives pink
//! noise its -3 dB per octave, so the curves read like the analysers mastering engineers use.
//! Where a band holds no bin (below about 60 Hz at 48 kHz with 8192-point FFTs) the point
//! interpolates the two bins around it.

use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// FFT length of the spectrum, samples.
pub const SPECTRUM_FFT: usize = 8192;
/// At most this many FFT frames are averaged (evenly spread over the file).
pub const SPECTRUM_MAX_FRAMES: usize = 600;

/// The average spectrum of a programme of known length, fed in blocks.
pub struct SpectrumMeter {
    sample_rate_hz: f64,
    /// Frames the positions were planned for.
    planned_frames: usize,
    /// FFT frames to take and the distance between their starts, samples.
    count: usize,
    stride: usize,
    /// The next FFT frame to take.
    next: usize,
    /// The last `SPECTRUM_FFT` mid samples (and side samples, when measured), indexed by
    /// position modulo the FFT length.
    rings: Vec<Vec<f64>>,
    pos: usize,
    window: Vec<f64>,
    window_sum: f64,
    fft: Arc<dyn RealToComplex<f64>>,
    input: Vec<f64>,
    output: Vec<realfft::num_complex::Complex<f64>>,
    /// Summed power per bin of the mid signal (and of the side signal, when measured).
    powers: Vec<Vec<f64>>,
    failed: bool,
}

/// A programme's average power per FFT bin from 0 Hz in steps of `bin_hz`, scaled so a
/// full-scale sine centred on a bin reads 1 in that bin (the Hann window spreads 0.25 into each
/// neighbour, so its power over all bins sums to 1.5).
#[derive(Clone, Debug)]
pub struct MidSidePower {
    pub bin_hz: f64,
    /// Of the mid signal `(L+R)/2`.
    pub mid: Vec<f64>,
    /// Of the side signal `(L-R)/2`.
    pub side: Vec<f64>,
}

impl SpectrumMeter {
    /// A meter of the mid signal for a programme of `frames` frames at `sample_rate_hz`.
    pub fn new(frames: usize, sample_rate_hz: f64) -> Self {
        Self::of_signals(1, frames, sample_rate_hz)
    }

    /// A meter of the mid and the side signals ([`Self::mid_side_power`]); its mid spectrum is
    /// [`Self::new`]'s.
    pub fn mid_side(frames: usize, sample_rate_hz: f64) -> Self {
        Self::of_signals(2, frames, sample_rate_hz)
    }

    fn of_signals(signals: usize, frames: usize, sample_rate_hz: f64) -> Self {
        let n = SPECTRUM_FFT;
        let (count, stride) = if frames < n {
            (0, 0)
        } else {
            let count = ((frames - n) / (n / 2) + 1).min(SPECTRUM_MAX_FRAMES);
            let stride = if count > 1 {
                (frames - n) / (count - 1)
            } else {
                0
            };
            (count, stride)
        };
        let window: Vec<f64> = (0..n)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
            .collect();
        let window_sum = window.iter().sum();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        let input = fft.make_input_vec();
        let output = fft.make_output_vec();
        Self {
            sample_rate_hz,
            planned_frames: frames,
            count,
            stride,
            next: 0,
            rings: vec![vec![0.0; n]; signals],
            pos: 0,
            window,
            window_sum,
            fft,
            input,
            output,
            powers: vec![vec![0.0; n / 2 + 1]; signals],
            failed: false,
        }
    }

    /// Frames the meter was planned for.
    pub fn planned_frames(&self) -> usize {
        self.planned_frames
    }

    /// Frames fed so far.
    pub fn frames_seen(&self) -> usize {
        self.pos
    }

    /// Feeds the next frames of the left and right channels (equal lengths).
    pub fn process(&mut self, left: &[f32], right: &[f32]) {
        let n = SPECTRUM_FFT;
        let with_side = self.rings.len() > 1;
        for (&l, &r) in left.iter().zip(right) {
            let at = self.pos % n;
            self.rings[0][at] = 0.5 * (l as f64 + r as f64);
            if with_side {
                self.rings[1][at] = 0.5 * (l as f64 - r as f64);
            }
            self.pos += 1;
            if self.next < self.count && self.pos == self.next * self.stride + n {
                self.take_frame();
            }
        }
    }

    fn take_frame(&mut self) {
        let n = SPECTRUM_FFT;
        let start = self.next * self.stride;
        self.next += 1;
        for (ring, power) in self.rings.iter().zip(&mut self.powers) {
            for (i, x) in self.input.iter_mut().enumerate() {
                *x = ring[(start + i) % n] * self.window[i];
            }
            if self.fft.process(&mut self.input, &mut self.output).is_err() {
                self.failed = true;
                return;
            }
            for (p, c) in power.iter_mut().zip(&self.output) {
                *p += c.norm_sqr();
            }
        }
    }

    /// The average power per bin of the mid and side signals (a meter made by
    /// [`Self::mid_side`]); `None` for a mid-only meter or a programme shorter than one FFT.
    pub fn mid_side_power(&self) -> Option<MidSidePower> {
        if self.count == 0 || self.failed || self.powers.len() < 2 {
            return None;
        }
        let scale = (2.0 / self.window_sum).powi(2) / self.count as f64;
        let mean = |power: &[f64]| power.iter().map(|p| p * scale).collect();
        Some(MidSidePower {
            bin_hz: self.sample_rate_hz / SPECTRUM_FFT as f64,
            mid: mean(&self.powers[0]),
            side: mean(&self.powers[1]),
        })
    }

    /// (Hz, dB) pairs from 20 Hz; empty for a programme shorter than one FFT.
    pub fn finish(&self) -> Vec<(f64, f64)> {
        if self.count == 0 || self.failed {
            return Vec::new();
        }
        let n = SPECTRUM_FFT;
        let scale = 2.0 / self.window_sum;
        let bin_hz = self.sample_rate_hz / n as f64;
        self.powers[0]
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, &p)| {
                let amp = (p / self.count as f64).sqrt() * scale;
                (
                    k as f64 * bin_hz,
                    if amp > 0.0 {
                        20.0 * amp.log10()
                    } else {
                        -200.0
                    },
                )
            })
            .filter(|&(hz, _)| hz >= 20.0)
            .collect()
    }
}

/// Points per octave of the smoothed spectra.
const POINTS_PER_OCTAVE: f64 = 24.0;
/// The first point, Hz.
const LOWEST_HZ: f64 = 20.0;
/// The last point at most, Hz (the top of hearing; a low rate's Nyquist cuts it lower).
const HIGHEST_HZ: f64 = 20_000.0;
/// Half the smoothing band, octaves: +-1/6 octave is a 1/3-octave band.
const HALF_BAND_OCTAVES: f64 = 1.0 / 6.0;
/// The level of no power, dB.
pub const FLOOR_DB: f64 = -200.0;

/// The points of the grid whose whole band lies below the last bin of `bins` bins `bin_hz`
/// apart, Hz.
pub fn grid_hz(bin_hz: f64, bins: usize) -> Vec<f64> {
    let last_bin_hz = bin_hz * bins.saturating_sub(1) as f64;
    let band_top = 2f64.powf(HALF_BAND_OCTAVES);
    (0..)
        .map(|i| LOWEST_HZ * 2f64.powf(i as f64 / POINTS_PER_OCTAVE))
        .take_while(|&hz| hz <= HIGHEST_HZ && hz * band_top <= last_bin_hz)
        .collect()
}

/// Power per bin (`bin_hz` apart from 0 Hz) smoothed over 1/3 octave at each of `points_hz`, dB
/// ([`FLOOR_DB`] for none).
pub fn third_octave_db(power: &[f64], bin_hz: f64, points_hz: &[f64]) -> Vec<f64> {
    let half_band = 2f64.powf(HALF_BAND_OCTAVES);
    points_hz
        .iter()
        .map(|&hz| {
            let first = ((hz / half_band) / bin_hz).ceil() as usize;
            let last = (((hz * half_band) / bin_hz).floor() as usize).min(power.len() - 1);
            let mean = if first <= last {
                power[first..=last].iter().sum::<f64>() / (last - first + 1) as f64
            } else {
                // No bin in the band: between the two bins around the point.
                let at = hz / bin_hz;
                let below = (at.floor() as usize).min(power.len() - 1);
                let above = (below + 1).min(power.len() - 1);
                let frac = at - below as f64;
                power[below] * (1.0 - frac) + power[above] * frac
            };
            power_db(mean)
        })
        .collect()
}

fn power_db(power: f64) -> f64 {
    if power > 0.0 {
        (10.0 * power.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// A programme's 1/3-octave smoothed mid and side spectra on the common grid, dB (a full-scale
/// sine centred on a bin reads 0 dB in that bin before smoothing).
#[derive(Clone, Debug, Default)]
pub struct MidSideSpectrum {
    pub hz: Vec<f64>,
    pub mid_db: Vec<f64>,
    pub side_db: Vec<f64>,
}

impl MidSideSpectrum {
    /// Smooths a measured power per bin.
    pub fn of(power: &MidSidePower) -> Self {
        let hz = grid_hz(power.bin_hz, power.mid.len());
        Self {
            mid_db: third_octave_db(&power.mid, power.bin_hz, &hz),
            side_db: third_octave_db(&power.side, power.bin_hz, &hz),
            hz,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 48_000;

    fn power_of(left: &[f32], right: &[f32]) -> MidSidePower {
        let mut meter = SpectrumMeter::mid_side(left.len(), SR as f64);
        meter.process(left, right);
        meter.mid_side_power().expect("longer than one FFT")
    }

    /// The smoothed level at the grid point nearest `hz`.
    fn at(hz: &[f64], db: &[f64], target_hz: f64) -> f64 {
        let i = hz
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1 / target_hz)
                    .ln()
                    .abs()
                    .total_cmp(&(b.1 / target_hz).ln().abs())
            })
            .unwrap()
            .0;
        db[i]
    }

    #[test]
    fn a_pink_power_spectrum_falls_3_db_per_octave_after_smoothing() {
        // Power proportional to 1/f: a band [f/a, f*a] averages ln(a^2) / (f (a - 1/a)) per
        // bin, still proportional to 1/f, so each octave is 10 log10(2) = 3.01 dB lower.
        let bin_hz = SR as f64 / 8192.0;
        let power: Vec<f64> = (0..4097)
            .map(|k| {
                if k == 0 {
                    0.0
                } else {
                    1.0 / (k as f64 * bin_hz)
                }
            })
            .collect();
        let hz = grid_hz(bin_hz, power.len());
        let db = third_octave_db(&power, bin_hz, &hz);
        for octave in 0..6 {
            let f = 100.0 * 2f64.powi(octave);
            let slope = at(&hz, &db, 2.0 * f) - at(&hz, &db, f);
            assert!(
                (slope + 3.01).abs() < 0.2,
                "{f} Hz: {slope:.2} dB per octave"
            );
        }
        // From 100 Hz to 10 kHz (6.64 octaves): -20 dB.
        let span = at(&hz, &db, 10_000.0) - at(&hz, &db, 100.0);
        assert!((span + 20.0).abs() < 1.0, "{span:.2} dB");
    }

    #[test]
    fn white_noise_is_flat_after_smoothing() {
        let noise = test_signals::noise(10 * SR as usize, 7);
        let spectrum = MidSideSpectrum::of(&power_of(&noise, &noise));
        let band: Vec<f64> = spectrum
            .hz
            .iter()
            .zip(&spectrum.mid_db)
            .filter(|(hz, _)| (100.0..=10_000.0).contains(*hz))
            .map(|(_, &db)| db)
            .collect();
        let mean = band.iter().sum::<f64>() / band.len() as f64;
        let spread = band.iter().map(|db| (db - mean).abs()).fold(0.0, f64::max);
        println!("white noise 100 Hz-10 kHz: {mean:.2} dB +-{spread:.2} dB");
        assert!(spread < 1.0, "{spread}");
        // Uniform noise in [-1, 1] has power 1/3; per bin (Hann, scaled to a sine's 1 on its
        // bin) that is (1/3) * 4 * sum(w^2) / sum(w)^2 = (1/3) * 4 * 1.5 / 8192.
        let expected = power_db(4.0 * 1.5 / 3.0 / 8192.0);
        assert!((mean - expected).abs() < 0.3, "{mean} vs {expected}");
    }

    #[test]
    fn a_sine_spreads_its_power_over_its_band() {
        // A full-scale sine centred on bin 171 (1001.95 Hz): 1 in its bin and 0.25 in each
        // neighbour (Hann), 1.5 in all; smoothed over the bins of its 1/3-octave band.
        let bin_hz = SR as f64 / 8192.0;
        let hz = 171.0 * bin_hz;
        let x = test_signals::sine(4 * SR as usize, hz, SR as f64, 1.0);
        let p = power_of(&x, &x);
        let total: f64 = p.mid.iter().sum();
        assert!((total - 1.5).abs() < 1e-3, "{total}");
        let half_band = 2f64.powf(HALF_BAND_OCTAVES);
        let bins = ((hz * half_band) / bin_hz).floor() - ((hz / half_band) / bin_hz).ceil() + 1.0;
        let db = third_octave_db(&p.mid, bin_hz, &[hz]);
        let expected = 10.0 * (1.5 / bins).log10();
        assert!((db[0] - expected).abs() < 0.01, "{} vs {expected}", db[0]);
    }

    #[test]
    fn equal_sides_have_no_side_and_opposite_sides_no_mid() {
        let x = test_signals::noise(10 * SR as usize, 3);
        let inverted: Vec<f32> = x.iter().map(|v| -v).collect();
        // L = R: the mid is the channel itself (white noise at its level, see above), the side
        // nothing at all.
        let same = MidSideSpectrum::of(&power_of(&x, &x));
        assert!(same.side_db.iter().all(|&db| db == FLOOR_DB));
        let channel_db = power_db(4.0 * 1.5 / 3.0 / 8192.0);
        for (hz, mid) in same.hz.iter().zip(&same.mid_db) {
            if (100.0..=10_000.0).contains(hz) {
                assert!(
                    (mid - channel_db).abs() < 1.0,
                    "{hz} Hz: {mid} vs {channel_db}"
                );
            }
        }
        // L = -R: the side is the channel, the mid nothing.
        let opposite = MidSideSpectrum::of(&power_of(&x, &inverted));
        assert!(opposite.mid_db.iter().all(|&db| db == FLOOR_DB));
        assert_eq!(opposite.side_db, same.mid_db);
    }
}
