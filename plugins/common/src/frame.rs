//! The processing frame both plugins run their chain inside: input hygiene, fixed-size slices,
//! a latency-aligned dry copy and the bypass crossfade.

use crate::BypassCrossfade;
use nice_plug::prelude::*;
use shared_dsp::delay::DelayLine;
use shared_dsp::util::sanitize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Longest slice the chain is handed at once; scratch buffers are sized for it, so host blocks
/// of any length are processed without allocating.
pub const MAX_SLICE: usize = 1024;

/// Owns what a stereo effect needs around its chain. Built with the plugin, sized once.
pub struct ProcessFrame {
    bypass_fade: BypassCrossfade,
    /// Dry copy of the current slice, for the bypass crossfade.
    dry: [Vec<f32>; 2],
    /// Delays the dry copy by the chain's latency, so bypass (and anything mixing dry with wet)
    /// stays time-aligned. Always fed, so its history is current when bypass engages.
    dry_delay: DelayLine,
    /// Gain of the dry path, linear: 1 for the host's bypass (the dry signal exactly), the
    /// loudness match for the Stem Link's whole-chain compare.
    dry_gain: f32,
    /// Raised when the host fed NaN/Inf samples; read off the audio thread, never logged on it.
    pub bad_input_seen: Arc<AtomicBool>,
}

impl Default for ProcessFrame {
    fn default() -> Self {
        ProcessFrame {
            bypass_fade: BypassCrossfade::default(),
            dry: [vec![0.0; MAX_SLICE], vec![0.0; MAX_SLICE]],
            dry_delay: DelayLine::new(2, 0),
            dry_gain: 1.0,
            bad_input_seen: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl ProcessFrame {
    /// Call from `activate()` (allocates): `max_latency_samples` is the most latency the chain
    /// can report at this sample rate, so later [`Self::set_latency_samples`] calls never
    /// allocate.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f32, max_latency_samples: usize) {
        self.bypass_fade.set_sample_rate(sample_rate_hz);
        if self.dry_delay.max_delay_samples() < max_latency_samples {
            let latency = self.dry_delay.delay_samples();
            self.dry_delay = DelayLine::new(2, max_latency_samples);
            self.dry_delay.set_delay_samples(latency);
        }
    }

    /// Delays the dry path by the chain's current latency (clamped to the maximum given to
    /// [`Self::set_sample_rate`]). Never allocates: callable from `process()` when the chain's
    /// latency changes.
    pub fn set_latency_samples(&mut self, latency_samples: usize) {
        self.dry_delay.set_delay_samples(latency_samples);
    }

    /// Sets the dry path's gain (dB; 0 dB leaves it bit-exact). It takes effect from the next
    /// slice: callers change it slowly (a loudness match moves by hundredths of a dB a block).
    pub fn set_dry_gain_db(&mut self, gain_db: f32) {
        self.dry_gain = if gain_db == 0.0 {
            1.0
        } else {
            10f32.powf(gain_db / 20.0)
        };
    }

    /// The dry path's delay in samples.
    pub fn latency_samples(&self) -> usize {
        self.dry_delay.delay_samples()
    }

    /// Call from `reset()`: jumps to the current bypass state without a fade.
    pub fn reset(&mut self, bypassed: bool) {
        self.bypass_fade.reset(bypassed);
        self.dry_delay.reset();
    }

    /// Sanitises the buffer, then runs `chain` on consecutive stereo slices of at most
    /// [`MAX_SLICE`] samples and crossfades to the dry input while `bypassed`.
    pub fn process(
        &mut self,
        buffer: &mut Buffer,
        bypassed: bool,
        mut chain: impl FnMut(&mut [&mut [f32]; 2]),
    ) {
        let channels = buffer.as_slice();
        let mut bad_input = false;
        for channel in channels.iter_mut() {
            bad_input |= sanitize(channel);
        }
        if bad_input {
            self.bad_input_seen.store(true, Ordering::Relaxed);
        }
        let [left, right] = channels else {
            // The only layout we declare is stereo; anything else is passed through untouched.
            return;
        };
        let num_samples = left.len();
        let mut start = 0;
        while start < num_samples {
            let end = (start + MAX_SLICE).min(num_samples);
            let len = end - start;
            let mut slice = [&mut left[start..end], &mut right[start..end]];
            let keeps_dry = !self.bypass_fade.is_fully_active(bypassed);
            let [dry_l, dry_r] = &mut self.dry;
            // The delay line is fed even while no dry signal is needed, so its history is the
            // real input the moment bypass engages.
            dry_l[..len].copy_from_slice(slice[0]);
            dry_r[..len].copy_from_slice(slice[1]);
            self.dry_delay.process_block(0, &mut dry_l[..len]);
            self.dry_delay.process_block(1, &mut dry_r[..len]);
            chain(&mut slice);
            if keeps_dry && self.dry_gain != 1.0 {
                for v in dry_l[..len].iter_mut().chain(dry_r[..len].iter_mut()) {
                    *v *= self.dry_gain;
                }
            }
            if keeps_dry {
                self.bypass_fade
                    .process(bypassed, &mut slice, &[&dry_l[..len], &dry_r[..len]]);
            }
            start = end;
        }
    }
}
