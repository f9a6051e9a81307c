//! DC and subsonic filter: a second-order Butterworth high-pass at [`DC_FILTER_HZ`].
//!
//! Why: stems bounced from old sample libraries and some synths carry a DC offset (measured
//! -27 dBFS in real stems). A DC offset is inaudible but it eats headroom: the limiter's drive
//! raises it with the music, a true-peak ceiling can be met only by accident of the offset, and
//! heavy limiting of an asymmetric waveform makes more of it. Removing it before any processing
//! is what a mastering engineer's "DC filter" switch does.
//!
//! The filter is the bilinear (pre-warped) second-order high-pass of the RBJ Audio EQ Cookbook
//! with Q = 1/sqrt(2) ([`BiquadCoefs::highpass_bilinear`]): its numerator `1 - 2 z^-1 + z^-2`
//! has a double zero at z = 1, so DC is removed exactly, and its analogue prototype is the
//! Butterworth `|H(f)|^2 = (f/fc)^4 / (1 + (f/fc)^4)`. At 10 Hz the audible band is untouched:
//! -0.26 dB at 20 Hz, -0.02 dB at 40 Hz; rumble below 10 Hz falls at 12 dB per octave
//! (-12.3 dB at 5 Hz). A 20-30 Hz subsonic filter would cut the kick and the sub bass that
//! club masters live on, so the corner sits below the audio band.

use super::biquad::Biquad;
use super::coefficients::BiquadCoefs;

/// Corner frequency of the DC filter in Hz (-3 dB).
pub const DC_FILTER_HZ: f64 = 10.0;

/// Butterworth quality factor of the second-order section.
const BUTTERWORTH_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// Stereo DC/subsonic filter (see the module notes). Zero latency.
#[derive(Clone, Copy, Debug)]
pub struct DcFilter {
    left: Biquad,
    right: Biquad,
}

impl DcFilter {
    /// A filter for `sample_rate_hz`.
    pub fn new(sample_rate_hz: f64) -> Self {
        let coefs = Self::coefs(sample_rate_hz);
        Self {
            left: Biquad::new(coefs),
            right: Biquad::new(coefs),
        }
    }

    /// The coefficients at `sample_rate_hz` (a rate that is not a finite positive number, or
    /// too low to hold the corner, counts as 48 kHz, so the unit never holds NaN).
    pub fn coefs(sample_rate_hz: f64) -> BiquadCoefs {
        let rate = if sample_rate_hz.is_finite() && sample_rate_hz > 4.0 * DC_FILTER_HZ {
            sample_rate_hz
        } else {
            48_000.0
        };
        BiquadCoefs::highpass_bilinear(rate, DC_FILTER_HZ, BUTTERWORTH_Q)
    }

    /// Re-derives the coefficients for a new rate and clears the state.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        *self = Self::new(sample_rate_hz);
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.left.reset();
        self.right.reset();
    }

    /// Filters a stereo block in place (the shorter length of the two).
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        self.left.process_block(&mut left[..len]);
        self.right.process_block(&mut right[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analogue Butterworth prototype's magnitude in dB.
    fn butterworth_db(hz: f64) -> f64 {
        let r4 = (hz / DC_FILTER_HZ).powi(4);
        10.0 * (r4 / (1.0 + r4)).log10()
    }

    #[test]
    fn response_follows_the_butterworth_prototype_at_every_rate() {
        for rate in [22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 384_000.0] {
            let c = DcFilter::coefs(rate);
            assert!(c.is_stable(), "{rate}");
            for hz in [2.0, 5.0, 10.0, 20.0, 40.0, 100.0, 1_000.0] {
                let got = c.magnitude_db(hz);
                let want = butterworth_db(hz);
                assert!(
                    (got - want).abs() < 0.01,
                    "{rate} Hz rate, {hz} Hz: {got} vs {want}"
                );
            }
            // The exact double zero at DC.
            assert!(DcFilter::coefs(f64::NAN).is_stable() && DcFilter::coefs(0.0).is_stable());
            assert!(c.magnitude_db(1e-6) < -200.0, "{rate}");
        }
        // The figures the module notes quote.
        assert!((butterworth_db(20.0) + 0.26).abs() < 0.005);
        assert!((butterworth_db(40.0) + 0.017).abs() < 0.005);
        assert!((butterworth_db(5.0) + 12.30).abs() < 0.01);
    }

    #[test]
    fn removes_a_dc_offset_under_music_level_signal() {
        let rate = 48_000.0;
        let mut f = DcFilter::new(rate);
        let n = 48_000 * 2;
        let offset = 0.05f32; // -26 dBFS, as in the stems measured
        let sine =
            |i: usize| 0.5 * (2.0 * std::f32::consts::PI * 100.0 * i as f32 / 48_000.0).sin();
        let mut l: Vec<f32> = (0..n).map(|i| sine(i) + offset).collect();
        let mut r: Vec<f32> = (0..n).map(|i| -sine(i) - offset).collect();
        for (cl, cr) in l.chunks_mut(333).zip(r.chunks_mut(333)) {
            f.process_block(cl, cr);
        }
        // After a second the mean over whole 100 Hz periods is below -100 dBFS, and the sine
        // keeps its level (-0.0002 dB at 100 Hz by the prototype).
        let tail = &l[48_000..];
        let mean = tail.iter().map(|&x| x as f64).sum::<f64>() / tail.len() as f64;
        assert!(20.0 * mean.abs().log10() < -100.0, "DC left {mean}");
        let rms =
            (tail.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
        assert!((rms - 0.5 / 2f64.sqrt()).abs() < 1e-3, "{rms}");
        assert_eq!(l[48_000..].len(), r[48_000..].len());
        assert!(r[48_000..]
            .iter()
            .zip(tail)
            .all(|(&a, &b)| (a + b).abs() < 1e-6));
    }
}
