//! Sample peak and RMS level meters. Sample peak is the largest sample magnitude in dBFS; it
//! under-reads inter-sample peaks, for which see [`super::true_peak`] (BS.1770-5 Annex 2). RMS is the square root of the mean square, by a
//! one-pole integrator of chosen time constant (300 ms by default) and, exactly, over everything
//! since reset.
//!
//! Both accumulate in the linear domain and convert to dBFS only when read. Full-scale sine
//! conventions: a sine of peak 1.0 reads 0 dBFS sample peak and -3.01 dBFS RMS (no +3 dB
//! "AES17" offset).

use crate::util::gain_to_db;

/// Running sample peak per channel since the last reset, and the peak of the last block.
#[derive(Clone, Debug)]
pub struct SamplePeak {
    peaks: Vec<f32>,
    block_peaks: Vec<f32>,
    num_channels: usize,
}

impl SamplePeak {
    /// Creates a meter for up to `max_channels` channels.
    pub fn new(max_channels: usize) -> Self {
        Self {
            peaks: vec![0.0; max_channels],
            block_peaks: vec![0.0; max_channels],
            num_channels: max_channels,
        }
    }

    /// Clears the peaks.
    pub fn reset(&mut self) {
        self.peaks.fill(0.0);
        self.block_peaks.fill(0.0);
    }

    /// Feeds planar channels; NaN and infinite samples are ignored.
    pub fn process_block(&mut self, channels: &[&[f32]]) {
        self.num_channels = channels.len().min(self.peaks.len());
        for ((peak, block_peak), input) in self
            .peaks
            .iter_mut()
            .zip(self.block_peaks.iter_mut())
            .zip(channels)
        {
            // `max` skips NaN on its own; infinities are masked explicitly.
            let p = input
                .iter()
                .map(|x| if x.is_finite() { x.abs() } else { 0.0 })
                .fold(0.0f32, f32::max);
            *block_peak = p;
            *peak = peak.max(p);
        }
    }

    /// Peak of channel `channel` since reset, linear.
    pub fn channel_peak(&self, channel: usize) -> f32 {
        self.peaks.get(channel).copied().unwrap_or(0.0)
    }

    /// Peak over all channels since reset, dBFS (`-inf` for silence).
    pub fn peak_dbfs(&self) -> f64 {
        let p = self.peaks[..self.num_channels]
            .iter()
            .fold(0.0f32, |m, &p| m.max(p));
        gain_to_db(p) as f64
    }

    /// Peak over all channels of the last block, dBFS (`-inf` for silence).
    pub fn block_peak_dbfs(&self) -> f64 {
        let p = self.block_peaks[..self.num_channels]
            .iter()
            .fold(0.0f32, |m, &p| m.max(p));
        gain_to_db(p) as f64
    }
}

/// RMS meter per channel: a one-pole mean-square integrator with time constant
/// `integration_ms` for the running reading, plus the exact RMS over everything since reset.
#[derive(Clone, Debug)]
pub struct Rms {
    sample_rate_hz: f64,
    integration_ms: f64,
    coef: f64,
    mean_squares: Vec<f64>,
    total_squares: Vec<f64>,
    total_samples: u64,
    num_channels: usize,
}

impl Rms {
    /// Default integration time, ms (the common "RMS 300 ms" meter ballistics).
    pub const DEFAULT_INTEGRATION_MS: f64 = 300.0;

    /// Creates a meter for up to `max_channels` channels.
    pub fn new(max_channels: usize, sample_rate_hz: f64) -> Self {
        let mut rms = Self {
            sample_rate_hz,
            integration_ms: Self::DEFAULT_INTEGRATION_MS,
            coef: 0.0,
            mean_squares: vec![0.0; max_channels],
            total_squares: vec![0.0; max_channels],
            total_samples: 0,
            num_channels: max_channels,
        };
        rms.update_coef();
        rms
    }

    fn update_coef(&mut self) {
        self.coef = crate::util::one_pole_weight(self.integration_ms, self.sample_rate_hz);
    }

    /// Sets the sample rate and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.update_coef();
        self.reset();
    }

    /// Sets the integration time constant, ms.
    pub fn set_integration_ms(&mut self, integration_ms: f64) {
        self.integration_ms = integration_ms.max(0.0);
        self.update_coef();
    }

    /// Clears all state.
    pub fn reset(&mut self) {
        self.mean_squares.fill(0.0);
        self.total_squares.fill(0.0);
        self.total_samples = 0;
    }

    /// Feeds planar channels; NaN and infinite samples count as silence. The shortest slice
    /// sets the length.
    pub fn process_block(&mut self, channels: &[&[f32]]) {
        self.num_channels = channels.len().min(self.mean_squares.len());
        let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        let coef = self.coef;
        for ((ms, total), input) in self
            .mean_squares
            .iter_mut()
            .zip(self.total_squares.iter_mut())
            .zip(channels)
        {
            let mut m = *ms;
            let mut t = *total;
            for &x in &input[..frames] {
                let x = if x.is_finite() { x as f64 } else { 0.0 };
                let sq = x * x;
                m += coef * (sq - m);
                t += sq;
            }
            // A decaying integrator would reach subnormal values after minutes of silence.
            *ms = if m < 1e-30 { 0.0 } else { m };
            *total = t;
        }
        self.total_samples += frames as u64;
    }

    /// Running (integrated) RMS of channel `channel`, dBFS.
    pub fn channel_rms_dbfs(&self, channel: usize) -> f64 {
        let ms = self.mean_squares.get(channel).copied().unwrap_or(0.0);
        mean_square_to_db(ms)
    }

    /// Running RMS over all channels (power mean of the channels), dBFS.
    pub fn rms_dbfs(&self) -> f64 {
        let n = self.num_channels.max(1) as f64;
        mean_square_to_db(self.mean_squares[..self.num_channels].iter().sum::<f64>() / n)
    }

    /// Exact RMS over all channels and all samples since reset, dBFS.
    pub fn total_rms_dbfs(&self) -> f64 {
        if self.total_samples == 0 {
            return f64::NEG_INFINITY;
        }
        let n = self.num_channels.max(1) as f64 * self.total_samples as f64;
        mean_square_to_db(self.total_squares[..self.num_channels].iter().sum::<f64>() / n)
    }
}

fn mean_square_to_db(ms: f64) -> f64 {
    if ms > 0.0 {
        10.0 * ms.log10()
    } else {
        f64::NEG_INFINITY
    }
}
