//! Small helpers shared by every unit: decibel conversion, sanitising of bad samples, the
//! processed extent of a block, the unit's sample rate, settings pending until the next block.

/// Converts decibels to a linear amplitude factor.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    10.0f32.powf(db * 0.05)
}

/// Converts a linear amplitude factor to decibels; silence maps to `f32::NEG_INFINITY`.
#[inline]
pub fn gain_to_db(gain: f32) -> f32 {
    if gain > 0.0 {
        20.0 * gain.log10()
    } else {
        f32::NEG_INFINITY
    }
}

/// Replaces NaN and infinite samples with silence and flushes subnormals to zero, so bad input
/// never reaches recursive state and no subnormal sample ever leaves a unit. Returns `true` when
/// a NaN or infinity was replaced, so the caller can report it once per buffer.
#[inline]
pub fn sanitize(samples: &mut [f32]) -> bool {
    // Branch-free, so it vectorises: `a <= MAX` is false for NaN and infinities.
    let mut replaced = false;
    for s in samples.iter_mut() {
        let a = s.abs();
        let finite = a <= f32::MAX;
        replaced |= !finite;
        *s = if finite && a >= f32::MIN_POSITIVE {
            *s
        } else {
            0.0
        };
    }
    replaced
}

/// How many of `channels` a unit built for `max_channels` processes, and over how many samples:
/// channels beyond the maximum are left untouched, and linked channels are processed over the
/// shortest length so no channel is read past its end.
#[inline]
pub fn processed_extent(channels: &[&mut [f32]], max_channels: usize) -> (usize, usize) {
    let num_channels = channels.len().min(max_channels);
    let len = channels[..num_channels]
        .iter()
        .map(|c| c.len())
        .min()
        .unwrap_or(0);
    (num_channels, len)
}

/// A unit's sample rate as it computes with it: rounded to `f32` once, at least 1 Hz.
#[inline]
pub(crate) fn unit_rate_hz(sample_rate_hz: f64) -> f32 {
    (sample_rate_hz as f32).max(1.0)
}

/// The settings of a unit that applies them at the start of its next block: the last ones set,
/// and whether they changed since it applied them (setters only mark the unit dirty, as in
/// lsp-dsp-units; STYLE.md, practice 4). Reads as the settings through `Deref`.
#[derive(Clone, Debug)]
pub(crate) struct PendingSettings<S> {
    settings: S,
    pending: bool,
}

impl<S: PartialEq> PendingSettings<S> {
    /// `settings`, pending (the unit has applied nothing yet).
    pub(crate) fn new(settings: S) -> Self {
        Self {
            settings,
            pending: true,
        }
    }

    /// Records `settings`; they are pending if they differ from the last ones.
    pub(crate) fn set(&mut self, settings: S) {
        if settings != self.settings {
            self.settings = settings;
            self.pending = true;
        }
    }

    /// Whether the unit has yet to apply the settings.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending
    }

    /// The unit has applied the settings.
    pub(crate) fn applied(&mut self) {
        self.pending = false;
    }
}

impl<S> std::ops::Deref for PendingSettings<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.settings
    }
}

/// Weight of the new value in a one-pole average that reaches 1 - 1/e of a step after
/// `time_ms` (at least one sample): `1 - exp(-1 / (tau fs))`. Meters integrate with it.
#[inline]
pub fn one_pole_weight(time_ms: f64, sample_rate_hz: f64) -> f64 {
    let samples = (time_ms * 1e-3 * sample_rate_hz).max(1.0);
    1.0 - (-1.0 / samples).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_round_trip_matches_definition() {
        // 20*log10(2) = 6.0206 dB, a number from the definition, not from our code.
        assert!((gain_to_db(2.0) - 6.020_6).abs() < 1e-4);
        assert!((db_to_gain(-6.020_6) - 0.5).abs() < 1e-5);
        assert_eq!(gain_to_db(0.0), f32::NEG_INFINITY);
    }

    #[test]
    fn one_pole_weight_reaches_1_minus_1_over_e_after_the_time_constant() {
        let weight = one_pole_weight(10.0, 48_000.0); // 480 samples
        let mut y = 0.0;
        for _ in 0..480 {
            y += (1.0 - y) * weight;
        }
        assert!((y - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        assert_eq!(one_pole_weight(0.0, 48_000.0), 1.0 - (-1.0f64).exp());
    }

    #[test]
    fn sanitize_replaces_bad_samples() {
        let mut x = [1.0, f32::NAN, f32::INFINITY, f32::MIN_POSITIVE / 4.0, -0.5];
        assert!(sanitize(&mut x));
        assert_eq!(x, [1.0, 0.0, 0.0, 0.0, -0.5]);
        let mut clean = [0.25f32; 4];
        assert!(!sanitize(&mut clean));
    }
}
