//! Small numeric helpers shared by every unit: decibel conversion, sanitising of bad samples.

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
    let mut replaced = false;
    for s in samples.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
            replaced = true;
        } else if s.is_subnormal() {
            *s = 0.0;
        }
    }
    replaced
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
    fn sanitize_replaces_bad_samples() {
        let mut x = [1.0, f32::NAN, f32::INFINITY, f32::MIN_POSITIVE / 4.0, -0.5];
        assert!(sanitize(&mut x));
        assert_eq!(x, [1.0, 0.0, 0.0, 0.0, -0.5]);
        let mut clean = [0.25f32; 4];
        assert!(!sanitize(&mut clean));
    }
}
