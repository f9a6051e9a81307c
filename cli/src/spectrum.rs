//! Long-term average spectrum of the mid `(L+R)/2` signal, measured block by block: Hann-windowed
//! 8192-point FFTs (`realfft`), power averaged, scaled so a full-scale sine reads 0 dB. At most
//! [`SPECTRUM_MAX_FRAMES`] FFT frames are averaged, spread evenly over the programme, so the
//! frame positions follow from the programme's length, which the meter is told up front (a
//! file's header gives it); only the last FFT length of mid samples is kept.

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
    /// The last `SPECTRUM_FFT` mid samples, indexed by position modulo the FFT length.
    ring: Vec<f64>,
    pos: usize,
    window: Vec<f64>,
    window_sum: f64,
    fft: Arc<dyn RealToComplex<f64>>,
    input: Vec<f64>,
    output: Vec<realfft::num_complex::Complex<f64>>,
    power: Vec<f64>,
    failed: bool,
}

impl SpectrumMeter {
    /// A meter for a programme of `frames` frames at `sample_rate_hz`.
    pub fn new(frames: usize, sample_rate_hz: u32) -> Self {
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
            ring: vec![0.0; n],
            pos: 0,
            window,
            window_sum,
            fft,
            input,
            output,
            power: vec![0.0; n / 2 + 1],
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
        for (&l, &r) in left.iter().zip(right) {
            self.ring[self.pos % n] = 0.5 * (l as f64 + r as f64);
            self.pos += 1;
            if self.next < self.count && self.pos == self.next * self.stride + n {
                self.take_frame();
            }
        }
    }

    fn take_frame(&mut self) {
        let n = SPECTRUM_FFT;
        let start = self.next * self.stride;
        for (i, x) in self.input.iter_mut().enumerate() {
            *x = self.ring[(start + i) % n] * self.window[i];
        }
        self.next += 1;
        if self.fft.process(&mut self.input, &mut self.output).is_err() {
            self.failed = true;
            return;
        }
        for (p, c) in self.power.iter_mut().zip(&self.output) {
            *p += c.norm_sqr();
        }
    }

    /// (Hz, dB) pairs from 20 Hz; empty for a programme shorter than one FFT.
    pub fn finish(&self) -> Vec<(f64, f64)> {
        if self.count == 0 || self.failed {
            return Vec::new();
        }
        let n = SPECTRUM_FFT;
        let scale = 2.0 / self.window_sum;
        let bin_hz = self.sample_rate_hz as f64 / n as f64;
        self.power
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
