//! The processing frame both plugins run their chain inside: input hygiene, fixed-size slices,
//! a latency-aligned dry copy and the bypass crossfade.

use crate::BypassCrossfade;
use nice_plug::prelude::*;
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
    /// Raised when the host fed NaN/Inf samples; read off the audio thread, never logged on it.
    pub bad_input_seen: Arc<AtomicBool>,
}

impl Default for ProcessFrame {
    fn default() -> Self {
        ProcessFrame {
            bypass_fade: BypassCrossfade::default(),
            dry: [vec![0.0; MAX_SLICE], vec![0.0; MAX_SLICE]],
            bad_input_seen: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl ProcessFrame {
    /// Call from `activate()`.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f32) {
        self.bypass_fade.set_sample_rate(sample_rate_hz);
    }

    /// Call from `reset()`: jumps to the current bypass state without a fade.
    pub fn reset(&mut self, bypassed: bool) {
        self.bypass_fade.reset(bypassed);
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
            if keeps_dry {
                dry_l[..len].copy_from_slice(slice[0]);
                dry_r[..len].copy_from_slice(slice[1]);
            }
            chain(&mut slice);
            if keeps_dry {
                self.bypass_fade
                    .process(bypassed, &mut slice, &[&dry_l[..len], &dry_r[..len]]);
            }
            start = end;
        }
    }
}
