//! Long-term average spectrum of the mid `(L+R)/2` signal (and, for the master-against-mix
//! comparison, of the side `(L-R)/2` signal), measured block by block: Hann-windowed 8192-point
//! FFTs (`realfft`), power averaged, scaled so a full-scale sine reads 0 dB. At most
//! [`SPECTRUM_MAX_FRAMES`] FFT frames are averaged, spread evenly over the programme, so the
//! frame positions follow from the programme's length, which the meter is told up front (a
//! file's header gives it); only the last FFT length of mid (and side) samples is kept.

use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// FFT length of the spectrum, samples.
pub const SPECTRUM_FFT: usize = 8192;
/// At most this many FFT frames are averaged (evenly spread over the file).
pub const SPECTRUM_MAX_FRAMES: usize = 600;

/// The average spectrum of a programme of known length, fed in blocks.
pub struct SpectrumMeter {
    sample_rate_hz: u32,
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
    pub fn new(frames: usize, sample_rate_hz: u32) -> Self {
        Self::of_signals(1, frames, sample_rate_hz)
    }

    /// A meter of the mid and the side signals ([`Self::mid_side_power`]); its mid spectrum is
    /// [`Self::new`]'s.
    pub fn mid_side(frames: usize, sample_rate_hz: u32) -> Self {
        Self::of_signals(2, frames, sample_rate_hz)
    }

    fn of_signals(signals: usize, frames: usize, sample_rate_hz: u32) -> Self {
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
            bin_hz: self.sample_rate_hz as f64 / SPECTRUM_FFT as f64,
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
        let bin_hz = self.sample_rate_hz as f64 / n as f64;
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
