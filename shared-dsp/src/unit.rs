//! One unit shape (issue 15, item 3): every DSP unit of the crate is a [`Processor`], every
//! meter a [`Meter`], so one test (`tests/unit_contract.rs`) checks them all the same way, as
//! fundsp checks every node against its response: block-size independence, latency equal to
//! the measured shift of a click, no allocation in `process_block`, recovery from NaN/Inf, and
//! `reset()` giving a fresh unit's output.
//!
//! The traits are adapters over the units' own inherent methods (which stay as they are: the
//! chains call them directly): a stereo unit takes `channels[0]` and `channels[1]` and leaves
//! a block of fewer than two channels untouched; a multichannel unit takes as many channels as
//! it was built for. Units whose delay or coefficients do not depend on the sample rate
//! (`DelayLine`, `Dither`, `SamplePeak`) take `set_sample_rate` as a no-op.
//!
//! Not a `Processor`: the `Oversampler` (its output is longer than its input; it is under the
//! contract inside `Saturation` at factors 2 and 4), the per-sample building blocks
//! (`Biquad`, `Svf`, envelopes: the units above are made of them) and the `SpectrumAnalyser`
//! (its sample rate is fixed at construction, where its FFT is planned).

use crate::chain::channel::ChannelChain;
use crate::chain::gain_match::GainMatch;
use crate::chain::master::MasterChain;
use crate::delay::DelayLine;
use crate::dither::Dither;
use crate::dynamics::compressor::Compressor;
use crate::dynamics::limiter::Limiter;
use crate::dynamics::multiband::MultibandCompressor;
use crate::eq::linear_phase::LinearPhaseEq;
use crate::eq::parametric::ParametricEq;
use crate::meter::correlation::Correlation;
use crate::meter::level::{Rms, SamplePeak};
use crate::meter::loudness::LoudnessMeter;
use crate::meter::programme::ProgrammeMeter;
use crate::meter::true_peak::TruePeakMeter;
use crate::saturation::Saturation;
use crate::stereo::StereoTool;

/// A unit that processes audio in place.
pub trait Processor {
    /// Clears all audio state (filters, envelopes, delay lines); settings stay. Never
    /// allocates.
    fn reset(&mut self);
    /// Re-derives everything that depends on the rate and clears state. May allocate (FFT
    /// plans): call it from `activate`, not on the audio thread.
    fn set_sample_rate(&mut self, sample_rate_hz: f64);
    /// The delay the unit adds at its current settings, in samples.
    fn latency_samples(&self) -> usize;
    /// Processes one block of channel slices of equal length in place. Never allocates,
    /// locks, logs or does I/O.
    fn process_block(&mut self, channels: &mut [&mut [f32]]);
}

/// A unit that reads audio without changing it.
pub trait Meter {
    /// Clears every reading and all state. Never allocates.
    fn reset(&mut self);
    /// Re-derives everything that depends on the rate and clears state.
    fn set_sample_rate(&mut self, sample_rate_hz: f64);
    /// Measures one block of channel slices of equal length. Never allocates.
    fn process_block(&mut self, channels: &[&[f32]]);
}

/// The first two channels of a block, if it has two.
fn stereo<'a>(channels: &'a mut [&mut [f32]]) -> Option<(&'a mut [f32], &'a mut [f32])> {
    match channels {
        [left, right, ..] => Some((&mut **left, &mut **right)),
        _ => None,
    }
}

/// Implements [`Processor`] over a unit's inherent `reset`, `set_sample_rate(f64)`,
/// `latency_samples` and `process_block`, which is either `multichannel`
/// (`&mut [&mut [f32]]`, the trait's own) or `stereo` (`left, right`).
macro_rules! processor {
    (@process multichannel $unit:ty, $this:ident, $channels:ident) => {
        <$unit>::process_block($this, $channels)
    };
    (@process stereo $unit:ty, $this:ident, $channels:ident) => {
        if let Some((left, right)) = stereo($channels) {
            <$unit>::process_block($this, left, right)
        }
    };
    ($shape:ident: $($unit:ty),*) => {$(
        impl Processor for $unit {
            fn reset(&mut self) {
                <$unit>::reset(self)
            }
            fn set_sample_rate(&mut self, sample_rate_hz: f64) {
                <$unit>::set_sample_rate(self, sample_rate_hz)
            }
            fn latency_samples(&self) -> usize {
                <$unit>::latency_samples(self)
            }
            fn process_block(&mut self, channels: &mut [&mut [f32]]) {
                processor!(@process $shape $unit, self, channels)
            }
        }
    )*};
}

processor!(multichannel: Compressor, MultibandCompressor, Limiter, Saturation);
processor!(stereo: ParametricEq, LinearPhaseEq, StereoTool, ChannelChain, MasterChain);

impl Processor for DelayLine {
    fn reset(&mut self) {
        DelayLine::reset(self)
    }
    /// The delay is set in samples by its owner, who knows the rate.
    fn set_sample_rate(&mut self, _sample_rate_hz: f64) {}
    fn latency_samples(&self) -> usize {
        DelayLine::latency_samples(self)
    }
    fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        self.process_channels(channels)
    }
}

impl Processor for Dither {
    fn reset(&mut self) {
        Dither::reset(self)
    }
    /// The noise shaping is one fixed filter (designed for 44.1 kHz; its curve moves with the
    /// rate, see `dither`): nothing to re-derive.
    fn set_sample_rate(&mut self, _sample_rate_hz: f64) {}
    fn latency_samples(&self) -> usize {
        Dither::latency_samples(self)
    }
    fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        Dither::process_block(self, channels)
    }
}

/// Frames the gain match measures per step when it runs alone: the interleaved copy of its
/// input then fits on the stack.
const GAIN_MATCH_FRAMES: usize = 256;

/// Alone (outside a chain), the gain match compares each block with itself as its own input:
/// the processing in between is the identity.
impl Processor for GainMatch {
    fn reset(&mut self) {
        GainMatch::reset(self)
    }
    fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        GainMatch::set_sample_rate(self, sample_rate_hz)
    }
    /// The compensating gain acts on the block it measures: no delay.
    fn latency_samples(&self) -> usize {
        0
    }
    fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        let Some((left, right)) = stereo(channels) else {
            return;
        };
        let mut input = [0.0f32; 2 * GAIN_MATCH_FRAMES];
        for (l, r) in left
            .chunks_mut(GAIN_MATCH_FRAMES)
            .zip(right.chunks_mut(GAIN_MATCH_FRAMES))
        {
            let kept = &mut input[..2 * l.len()];
            self.measure_input(l, r, kept);
            self.process(l, r, kept);
        }
    }
}

/// Implements [`Meter`] for meters with the trait's signatures.
macro_rules! multichannel_meter {
    ($($unit:ty),*) => {$(
        impl Meter for $unit {
            fn reset(&mut self) {
                <$unit>::reset(self)
            }
            fn set_sample_rate(&mut self, sample_rate_hz: f64) {
                <$unit>::set_sample_rate(self, sample_rate_hz)
            }
            fn process_block(&mut self, channels: &[&[f32]]) {
                <$unit>::process_block(self, channels)
            }
        }
    )*};
}

multichannel_meter!(LoudnessMeter, TruePeakMeter, ProgrammeMeter, Rms);

impl Meter for SamplePeak {
    fn reset(&mut self) {
        SamplePeak::reset(self)
    }
    /// A sample peak does not depend on the rate.
    fn set_sample_rate(&mut self, _sample_rate_hz: f64) {}
    fn process_block(&mut self, channels: &[&[f32]]) {
        SamplePeak::process_block(self, channels)
    }
}

impl Meter for Correlation {
    fn reset(&mut self) {
        Correlation::reset(self)
    }
    fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        Correlation::set_sample_rate(self, sample_rate_hz)
    }
    /// Reads the first two channels; fewer leave the reading as it is.
    fn process_block(&mut self, channels: &[&[f32]]) {
        if let [left, right, ..] = channels {
            Correlation::process_block(self, left, right)
        }
    }
}
