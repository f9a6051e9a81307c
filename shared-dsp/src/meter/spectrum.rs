//! Spectrum analyser for the editors: Hann-windowed real FFT (`realfft`) with 75 % overlap,
//! per-bin exponential smoothing of power, and fractional-octave banding (band centres on the
//! base-2 series through 1 kHz of IEC 61260-1, edges at `fc * 2^(+-1/(2N))`).
//!
//! Levels are dB relative to a full-scale sine: a sine of peak amplitude `A` centred on a bin
//! reads `20 log10 A` in that bin, and in its band (band power divides by the Hann window's
//! equivalent noise bandwidth of 1.5 bins, so a tone's spread over neighbouring bins is counted
//! once). The FFT, window and every buffer are set up in `new()`; nothing allocates afterwards.

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Equivalent noise bandwidth of the Hann window, in bins.
const HANN_ENBW_BINS: f32 = 1.5;
/// Lowest band centre considered, Hz.
const BAND_MIN_HZ: f64 = 20.0;
/// Highest band centre considered, Hz (clamped below Nyquist).
const BAND_MAX_HZ: f64 = 20_000.0;
/// Finest banding supported (1/48 octave), sizing the band tables at construction.
pub const MAX_BANDS_PER_OCTAVE: usize = 48;
/// Default smoothing time constant of the displayed power, ms.
pub const DEFAULT_SMOOTHING_MS: f64 = 150.0;

/// One analysis band: centre frequency and the bins it sums.
#[derive(Clone, Copy, Debug, Default)]
struct Band {
    centre_hz: f32,
    first_bin: usize,
    /// One past the last bin; equal to `first_bin` when no bin falls inside (narrow low bands),
    /// and the band then reads the bin nearest its centre.
    end_bin: usize,
    nearest_bin: usize,
}

/// Mono spectrum analyser. Feed it the signal to display (e.g. the mid channel).
pub struct SpectrumAnalyser {
    sample_rate_hz: f64,
    fft: Arc<dyn RealToComplex<f32>>,
    fft_size: usize,
    hop: usize,
    window: Vec<f32>,
    ring: Vec<f32>,
    ring_pos: usize,
    since_frame: usize,
    fft_in: Vec<f32>,
    fft_out: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Power normalisation: `(2 / sum(window))^2`.
    power_scale: f32,
    smoothing_ms: f64,
    smooth_coef: f32,
    smoothed_power: Vec<f32>,
    bin_db: Vec<f32>,
    bands: Vec<Band>,
    band_db: Vec<f32>,
    bands_per_octave: usize,
    frames: u64,
}

impl SpectrumAnalyser {
    /// Plans an analyser with `fft_size` points (rounded up to a power of two, at least 64) at
    /// `sample_rate_hz`, with third-octave bands. Allocates here only.
    pub fn new(fft_size: usize, sample_rate_hz: f64) -> Self {
        let fft_size = fft_size.max(64).next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_size);
        let fft_in = fft.make_input_vec();
        let fft_out = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        // Periodic Hann: sums exactly to N/2 and overlaps-adds flat at 75 % overlap.
        let window: Vec<f32> = (0..fft_size)
            .map(|i| {
                let x = std::f64::consts::PI * 2.0 * i as f64 / fft_size as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        let window_sum: f32 = window.iter().sum();
        let bins = fft_size / 2 + 1;
        let max_bands = 11 * MAX_BANDS_PER_OCTAVE + 2;
        let mut analyser = Self {
            sample_rate_hz,
            fft,
            fft_size,
            hop: fft_size / 4,
            window,
            ring: vec![0.0; fft_size],
            ring_pos: 0,
            since_frame: 0,
            fft_in,
            fft_out,
            scratch,
            power_scale: (2.0 / window_sum) * (2.0 / window_sum),
            smoothing_ms: DEFAULT_SMOOTHING_MS,
            smooth_coef: 1.0,
            smoothed_power: vec![0.0; bins],
            bin_db: vec![f32::NEG_INFINITY; bins],
            bands: Vec::with_capacity(max_bands),
            band_db: Vec::with_capacity(max_bands),
            bands_per_octave: 3,
            frames: 0,
        };
        analyser.update_smoothing();
        analyser.set_bands_per_octave(3);
        analyser
    }

    fn update_smoothing(&mut self) {
        let hop_s = self.hop as f64 / self.sample_rate_hz;
        let tau_s = self.smoothing_ms * 1e-3;
        self.smooth_coef = if tau_s <= 0.0 {
            1.0
        } else {
            (1.0 - (-hop_s / tau_s).exp()) as f32
        };
    }

    /// Sets the smoothing time constant of the displayed power, ms (0 = none).
    pub fn set_smoothing_ms(&mut self, smoothing_ms: f64) {
        self.smoothing_ms = smoothing_ms.max(0.0);
        self.update_smoothing();
    }

    /// Chooses `1/N`-octave bands, `N` in `1..=MAX_BANDS_PER_OCTAVE`. Never allocates (the
    /// tables are sized for the finest banding).
    pub fn set_bands_per_octave(&mut self, bands_per_octave: usize) {
        let n = bands_per_octave.clamp(1, MAX_BANDS_PER_OCTAVE);
        self.bands_per_octave = n;
        self.bands.clear();
        self.band_db.clear();
        let bin_hz = self.sample_rate_hz / self.fft_size as f64;
        let top = BAND_MAX_HZ.min(0.49 * self.sample_rate_hz);
        let last_bin = self.fft_size / 2;
        let k_min = (n as f64 * (BAND_MIN_HZ / 1000.0).log2()).ceil() as i64;
        let k_max = (n as f64 * (top / 1000.0).log2()).floor() as i64;
        for k in k_min..=k_max {
            if self.bands.len() == self.bands.capacity() {
                break;
            }
            let centre = 1000.0 * 2f64.powf(k as f64 / n as f64);
            let half = 2f64.powf(0.5 / n as f64);
            let first_bin = ((centre / half / bin_hz).ceil() as usize).min(last_bin + 1);
            let end_bin = ((centre * half / bin_hz).ceil() as usize).clamp(first_bin, last_bin + 1);
            let nearest_bin = ((centre / bin_hz).round() as usize).min(last_bin);
            self.bands.push(Band {
                centre_hz: centre as f32,
                first_bin,
                end_bin,
                nearest_bin,
            });
            self.band_db.push(f32::NEG_INFINITY);
        }
        self.update_bands();
    }

    /// Clears the input history and the displayed spectrum.
    pub fn reset(&mut self) {
        self.ring.fill(0.0);
        self.ring_pos = 0;
        self.since_frame = 0;
        self.smoothed_power.fill(0.0);
        self.bin_db.fill(f32::NEG_INFINITY);
        self.band_db.fill(f32::NEG_INFINITY);
        self.frames = 0;
    }

    /// FFT size in samples.
    pub fn fft_size(&self) -> usize {
        self.fft_size
    }

    /// Frequency of bin `k`, Hz.
    pub fn bin_hz(&self, k: usize) -> f64 {
        k as f64 * self.sample_rate_hz / self.fft_size as f64
    }

    /// Number of analysis frames computed since reset (one every `fft_size / 4` samples).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Feeds mono audio; NaN and infinite samples count as silence. Runs an FFT every
    /// `fft_size / 4` samples.
    pub fn process_block(&mut self, input: &[f32]) {
        for &x in input {
            self.ring[self.ring_pos] = if x.is_finite() { x } else { 0.0 };
            self.ring_pos = (self.ring_pos + 1) % self.fft_size;
            self.since_frame += 1;
            if self.since_frame == self.hop {
                self.since_frame = 0;
                self.analyse();
            }
        }
    }

    fn analyse(&mut self) {
        let (newest, oldest) = self.ring.split_at(self.ring_pos);
        for ((dst, &src), &w) in self
            .fft_in
            .iter_mut()
            .zip(oldest.iter().chain(newest.iter()))
            .zip(&self.window)
        {
            *dst = src * w;
        }
        // Sizes come from the plan itself, so this cannot fail.
        let _ =
            self.fft
                .process_with_scratch(&mut self.fft_in, &mut self.fft_out, &mut self.scratch);
        let a = self.smooth_coef;
        for ((s, db), c) in self
            .smoothed_power
            .iter_mut()
            .zip(self.bin_db.iter_mut())
            .zip(&self.fft_out)
        {
            let p = c.norm_sqr() * self.power_scale;
            *s += a * (p - *s);
            if *s < 1e-30 {
                *s = 0.0;
            }
            *db = power_to_db(*s);
        }
        self.update_bands();
        self.frames += 1;
    }

    fn update_bands(&mut self) {
        for (band, db) in self.bands.iter().zip(self.band_db.iter_mut()) {
            let power = if band.end_bin > band.first_bin {
                self.smoothed_power[band.first_bin..band.end_bin]
                    .iter()
                    .sum::<f32>()
                    / HANN_ENBW_BINS
            } else {
                self.smoothed_power[band.nearest_bin]
            };
            *db = power_to_db(power);
        }
    }

    /// Smoothed level of every bin `0..=fft_size/2`, dB re full-scale sine (`-inf` silence).
    pub fn bin_db(&self) -> &[f32] {
        &self.bin_db
    }

    /// Smoothed level of every fractional-octave band, dB re full-scale sine.
    pub fn band_db(&self) -> &[f32] {
        &self.band_db
    }

    /// Centre frequency of band `i`, Hz.
    pub fn band_centre_hz(&self, i: usize) -> f32 {
        self.bands.get(i).map_or(0.0, |b| b.centre_hz)
    }

    /// Number of bands for the current banding.
    pub fn num_bands(&self) -> usize {
        self.bands.len()
    }
}

fn power_to_db(p: f32) -> f32 {
    if p > 0.0 {
        10.0 * p.log10()
    } else {
        f32::NEG_INFINITY
    }
}
