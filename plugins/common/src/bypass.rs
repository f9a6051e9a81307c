//! Click-free bypass: a short linear crossfade between the processed and the dry signal.

/// Length of the bypass crossfade. 10 ms is below what reads as a fade yet long enough that
/// toggling bypass on programme material never clicks.
pub const BYPASS_FADE_MS: f32 = 10.0;

/// Crossfades from processed to dry signal when bypass engages, and back when it releases.
/// The dry signal must already be delayed by the plugin's latency, so bypass keeps timing.
#[derive(Debug, Clone)]
pub struct BypassCrossfade {
    /// 0 = fully processed, 1 = fully dry.
    dry_amount: f32,
    step_per_sample: f32,
}

impl Default for BypassCrossfade {
    fn default() -> Self {
        Self::new(48_000.0)
    }
}

impl BypassCrossfade {
    pub fn new(sample_rate_hz: f32) -> Self {
        let mut fade = BypassCrossfade {
            dry_amount: 0.0,
            step_per_sample: 0.0,
        };
        fade.set_sample_rate(sample_rate_hz);
        fade
    }

    pub fn set_sample_rate(&mut self, sample_rate_hz: f32) {
        self.step_per_sample = 1.0 / (BYPASS_FADE_MS * 0.001 * sample_rate_hz).max(1.0);
    }

    /// Jumps straight to the given state (on activation or reset, where no fade is wanted).
    pub fn reset(&mut self, bypassed: bool) {
        self.dry_amount = if bypassed { 1.0 } else { 0.0 };
    }

    /// True when the output is the dry signal and nothing else.
    pub fn is_fully_bypassed(&self, bypassed: bool) -> bool {
        bypassed && self.dry_amount >= 1.0
    }

    /// True when the output is the processed signal and nothing else.
    pub fn is_fully_active(&self, bypassed: bool) -> bool {
        !bypassed && self.dry_amount <= 0.0
    }

    /// Mixes `dry` into `processed` (in place) sample by sample while moving toward `bypassed`.
    pub fn process(&mut self, bypassed: bool, processed: &mut [&mut [f32]], dry: &[&[f32]]) {
        if self.is_fully_active(bypassed) {
            return;
        }
        if self.is_fully_bypassed(bypassed) {
            for (out, dry) in processed.iter_mut().zip(dry) {
                out.copy_from_slice(dry);
            }
            return;
        }
        let target = if bypassed { 1.0 } else { 0.0 };
        let num_samples = processed.first().map_or(0, |c| c.len());
        for i in 0..num_samples {
            self.dry_amount = if bypassed {
                (self.dry_amount + self.step_per_sample).min(target)
            } else {
                (self.dry_amount - self.step_per_sample).max(target)
            };
            for (out, dry) in processed.iter_mut().zip(dry) {
                out[i] += (dry[i] - out[i]) * self.dry_amount;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossfade_reaches_dry_in_the_stated_time_and_returns() {
        let sample_rate = 48_000.0;
        let fade_samples = (BYPASS_FADE_MS * 0.001 * sample_rate) as usize; // 480
        let mut fade = BypassCrossfade::new(sample_rate);
        let dry = vec![1.0f32; fade_samples + 10];
        let mut wet = vec![0.0f32; fade_samples + 10];
        fade.process(true, &mut [&mut wet[..]], &[&dry[..]]);
        // Linear ramp: halfway through the fade the output is half dry.
        assert!((wet[fade_samples / 2 - 1] - 0.5).abs() < 1e-3);
        assert_eq!(wet[fade_samples - 1], 1.0);
        assert!(fade.is_fully_bypassed(true));
        let mut wet = vec![0.0f32; fade_samples + 10];
        fade.process(false, &mut [&mut wet[..]], &[&dry[..]]);
        assert_eq!(wet[fade_samples - 1], 0.0);
        assert!(fade.is_fully_active(false));
    }
}
