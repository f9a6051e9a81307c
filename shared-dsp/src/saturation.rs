//! Oversampled saturation: tape-style asymmetric soft saturation and a clean soft clipper.
//!
//! Both curves run at 2x or 4x through [`crate::oversampling`] so the harmonics they create
//! above the base Nyquist are filtered instead of folding back as aliases (the standard remedy,
//! e.g. J. Pakarinen and D. T. Yeh, "A Review of Digital Techniques for Modeling Vacuum-Tube
//! Guitar Amplifiers", CMJ 33(2), 2009, §4).
//!
//! - **Tape**: `f(u) = tanh(u + b) - tanh(b)` with `u = drive * x` and bias `b`. The bias
//!   shifts the operating point like the asymmetric magnetisation of tape, adding even
//!   harmonics ("colour"); subtracting `tanh(b)` keeps silence silent. The small-signal slope
//!   `drive * sech^2(b)` is divided out, so quiet material passes at unity and only peaks are
//!   rounded (output level compensation).
//! - **Soft clip**: linear up to a knee at `KNEE` of full scale, then a segment
//!   `tanh(z + z^3/3)` that meets the line with equal first to fourth derivatives and approaches
//!   full scale: clean below the knee, smooth above it. Drive pushes into it and is divided out
//!   afterwards.
//!
//! The asymmetric curve produces DC, removed after downsampling by a one-pole DC blocker at
//! `DC_BLOCK_HZ` (-0.04 dB at 20 Hz). The dry path of the mix is delayed by the oversampler's
//! latency so a parallel blend does not comb-filter.

use crate::delay::DelayLine;
use crate::dynamics::fastmath;
use crate::oversampling::Oversampler;
use crate::util::{db_to_gain, sanitize};
use serde::{Deserialize, Serialize};

/// Corner of the DC blocker in Hz.
pub const DC_BLOCK_HZ: f32 = 2.0;
/// Soft clipper: the curve is linear up to this fraction of full scale.
pub const KNEE: f32 = 0.5;
/// Internal base-rate sub-block.
const CHUNK: usize = 64;

/// Transfer curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SaturationMode {
    /// Asymmetric tanh with bias (tape-style glue).
    #[default]
    Tape,
    /// Linear below the knee, smooth limiting above (clean soft clipper).
    SoftClip,
}

/// Saturation controls in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaturationSettings {
    pub mode: SaturationMode,
    /// Gain into the curve in dB (0 to 36); divided out again after it.
    pub drive_db: f32,
    /// Tape bias / colour, -1 to 1 (0 = symmetric, odd harmonics only).
    pub bias: f32,
    /// Wet share in percent.
    pub mix_percent: f32,
    /// Output trim in dB.
    pub output_db: f32,
    /// Oversampling factor: 1, 2 or 4 (applied by [`Saturation::new`] and
    /// [`Saturation::set_oversampling`], which reallocate nothing but reset).
    pub oversampling: usize,
}

impl Default for SaturationSettings {
    fn default() -> Self {
        Self {
            mode: SaturationMode::Tape,
            drive_db: 6.0,
            bias: 0.2,
            mix_percent: 100.0,
            output_db: 0.0,
            oversampling: 4,
        }
    }
}

/// The static curves, exposed for editor plots and tests. `x` is the input sample; the result
/// includes drive and its compensation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Curve {
    mode: SaturationMode,
    drive: f32,
    bias: f32,
    bias_offset: f32,
    compensation: f32,
}

impl Curve {
    /// Builds the curve for `settings`.
    pub fn new(settings: &SaturationSettings) -> Self {
        let drive = db_to_gain(settings.drive_db.clamp(0.0, 36.0));
        let bias = if settings.mode == SaturationMode::Tape {
            settings.bias.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        // The same tanh as `apply`, so silence maps to exactly zero.
        let t = fastmath::tanh(bias);
        let slope = drive * (1.0 - t * t);
        Self {
            mode: settings.mode,
            drive,
            bias,
            bias_offset: t,
            compensation: 1.0 / slope,
        }
    }

    /// Applies the curve to a block in place (the mode is matched once, so the loop
    /// vectorises).
    pub fn apply_block(&self, samples: &mut [f32]) {
        match self.mode {
            SaturationMode::Tape => {
                for u in samples.iter_mut() {
                    *u = self.tape(*u);
                }
            }
            SaturationMode::SoftClip => {
                for u in samples.iter_mut() {
                    *u = self.soft_clip(*u);
                }
            }
        }
    }

    #[inline(always)]
    fn tape(&self, x: f32) -> f32 {
        (fastmath::tanh(self.drive * x + self.bias) - self.bias_offset) * self.compensation
    }

    #[inline(always)]
    fn soft_clip(&self, x: f32) -> f32 {
        let u = self.drive * x;
        let a = u.abs();
        let over = ((a - KNEE) * (1.0 / (1.0 - KNEE))).max(0.0);
        // tanh(z + z^3/3) = z - z^5/5 + ...: the join with the line is smooth up to the
        // fourth derivative, so the harmonics fall off fast enough for 4x to hold aliases
        // down (a plain tanh segment joins with a third-derivative jump).
        let shaped = KNEE + (1.0 - KNEE) * fastmath::tanh(over + over * over * over * (1.0 / 3.0));
        let y = if a <= KNEE { a } else { shaped };
        y.copysign(u) * self.compensation
    }

    /// Applies the curve to one sample.
    #[inline(always)]
    pub fn apply(&self, x: f32) -> f32 {
        match self.mode {
            SaturationMode::Tape => self.tape(x),
            SaturationMode::SoftClip => self.soft_clip(x),
        }
    }
}

/// Multichannel oversampled saturator.
#[derive(Clone, Debug)]
pub struct Saturation {
    settings: SaturationSettings,
    dirty: bool,
    sample_rate_hz: f32,
    max_channels: usize,
    curve: Curve,
    mix: f32,
    output_gain: f32,
    oversampler: Oversampler,
    dry_delay: DelayLine,
    latency_2x: usize,
    latency_4x: usize,
    dc_coef: f32,
    /// Per channel: previous input and output of the DC blocker.
    dc_state: Vec<(f32, f32)>,
    up: Vec<f32>,
    wet: [f32; CHUNK],
}

impl Saturation {
    /// Allocates a saturator for up to `max_channels` channels with `settings` (its
    /// oversampling factor is fixed here and by [`Self::set_oversampling`]).
    pub fn new(max_channels: usize, settings: SaturationSettings) -> Self {
        let max_channels = max_channels.max(1);
        let oversampler = Oversampler::new(max_channels, CHUNK, settings.oversampling);
        let latency_2x = Oversampler::new(1, 1, 2).latency_samples();
        let latency_4x = Oversampler::new(1, 1, 4).latency_samples();
        let mut s = Self {
            settings,
            dirty: true,
            sample_rate_hz: 48_000.0,
            max_channels,
            curve: Curve::new(&settings),
            mix: 1.0,
            output_gain: 1.0,
            oversampler,
            dry_delay: DelayLine::new(max_channels, latency_2x.max(latency_4x)),
            latency_2x,
            latency_4x,
            dc_coef: 0.0,
            dc_state: vec![(0.0, 0.0); max_channels],
            up: vec![0.0; CHUNK * crate::oversampling::MAX_FACTOR],
            wet: [0.0; CHUNK],
        };
        s.update();
        s
    }

    /// Sets the sample rate in Hz (only the DC blocker depends on it) and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f32) {
        self.sample_rate_hz = sample_rate_hz.max(1.0);
        self.update();
        self.reset();
    }

    /// Records new settings for the next block. A changed oversampling factor is applied too
    /// (it changes the latency; do it on activation).
    pub fn set_settings(&mut self, settings: SaturationSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.dirty = true;
        }
    }

    /// Changes the oversampling factor (1, 2, 4) and resets the filters.
    pub fn set_oversampling(&mut self, factor: usize) {
        self.settings.oversampling = factor;
        self.dirty = true;
    }

    /// The static curve in use.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// Latency in samples (the oversampler's round trip) for the current settings.
    pub fn latency_samples(&self) -> usize {
        match Oversampler::valid_factor(self.settings.oversampling) {
            1 => 0,
            2 => self.latency_2x,
            _ => self.latency_4x,
        }
    }

    /// Clears filter, delay and DC-blocker state.
    pub fn reset(&mut self) {
        self.oversampler.reset();
        self.dry_delay.reset();
        self.dc_state.fill((0.0, 0.0));
    }

    fn update(&mut self) {
        self.dirty = false;
        let s = self.settings;
        self.curve = Curve::new(&s);
        let mix = if s.mix_percent.is_finite() {
            s.mix_percent
        } else {
            100.0
        };
        self.mix = mix.clamp(0.0, 100.0) * 0.01;
        self.output_gain = db_to_gain(if s.output_db.is_finite() {
            s.output_db.clamp(-48.0, 24.0)
        } else {
            0.0
        });
        if Oversampler::valid_factor(s.oversampling) != self.oversampler.factor() {
            self.oversampler.set_factor(s.oversampling);
            self.dry_delay.reset();
        }
        self.dry_delay
            .set_delay_samples(self.oversampler.latency_samples());
        self.dc_coef = (-2.0 * std::f64::consts::PI * DC_BLOCK_HZ as f64
            / self.sample_rate_hz as f64)
            .exp() as f32;
    }

    /// Saturates planar `channels` in place.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        if self.dirty {
            self.update();
        }
        let num_ch = channels.len().min(self.max_channels);
        let factor = self.oversampler.factor();
        let curve = self.curve;
        let (mix, out_gain, r) = (self.mix, self.output_gain, self.dc_coef);
        for (c, ch) in channels[..num_ch].iter_mut().enumerate() {
            sanitize(ch);
            for x in ch.chunks_mut(CHUNK) {
                let m = x.len();
                let up = &mut self.up[..m * factor];
                self.oversampler.upsample(c, x, up);
                curve.apply_block(up);
                let wet = &mut self.wet[..m];
                self.oversampler.downsample(c, up, wet);
                // DC blocker: y[n] = x[n] - x[n-1] + r y[n-1].
                let (mut px, mut py) = self.dc_state[c];
                for w in wet.iter_mut() {
                    let y = *w - px + r * py;
                    px = *w;
                    py = if y.abs() < 1e-30 { 0.0 } else { y };
                    *w = py;
                }
                self.dc_state[c] = (px, py);
                self.dry_delay.process_block(c, x);
                for (d, &w) in x.iter_mut().zip(wet.iter()) {
                    *d = (*d + mix * (w - *d)) * out_gain;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_have_unit_slope_at_zero_and_are_bounded() {
        for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
            let c = Curve::new(&SaturationSettings {
                mode,
                drive_db: 12.0,
                ..SaturationSettings::default()
            });
            let slope = (c.apply(1e-4) - c.apply(-1e-4)) / 2e-4;
            assert!((slope - 1.0).abs() < 1e-3, "{mode:?}: {slope}");
            assert_eq!(c.apply(0.0), 0.0);
            assert!(c.apply(100.0).is_finite());
        }
    }
}
