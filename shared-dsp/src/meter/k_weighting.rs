//! K-weighting of ITU-R BS.1770-5 (Annex 1, Tables 1 and 2) for any sample rate.
//!
//! BS.1770 tabulates the two biquads only at 48 kHz. Both stages are bilinear transforms of
//! analogue prototypes, so they are re-derived here from those prototypes with the parameters
//! that reproduce the 48 kHz tables (the same parameterisation as libebur128):
//!
//! - stage 1, a second-order high shelf modelling the acoustic effect of the head:
//!   `H(s) = (Vh s^2 + Vb (w0/Q) s + w0^2) / (s^2 + (w0/Q) s + w0^2)` with
//!   f0 = 1681.974 Hz, gain +3.99984 dB, Q = 0.7071752, Vb = Vh^0.4996668;
//! - stage 2, the RLB high-pass: `H(s) = s^2 / (s^2 + (w0/Q) s + w0^2)` with f0 = 38.13547 Hz,
//!   Q = 0.5003270.
//!
//! The bilinear transform is prewarped at f0 (`K = tan(pi f0 / fs)`), so the corner frequencies
//! hold at every rate. At 48 kHz the coefficients match BS.1770 Table 1 and 2 to 1e-8
//! (asserted in the unit tests below).
//!
//! Both stages are the crate's one [`BiquadCoefs`] (`f64`, `a0` normalised to 1, carrying the
//! sample rate they were designed for), so their analytic response is the filter module's.

use crate::filter::BiquadCoefs;
use realfft::num_complex::Complex64;

/// The two K-weighting stages for one sample rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KWeightingCoefs {
    /// Stage 1: high shelf ("pre-filter", BS.1770 Table 1).
    pub shelf: BiquadCoefs,
    /// Stage 2: RLB high-pass (BS.1770 Table 2).
    pub highpass: BiquadCoefs,
}

/// Shelf corner of stage 1, Hz.
const SHELF_HZ: f64 = 1_681.974_450_955_533;
/// Shelf gain of stage 1, dB.
const SHELF_GAIN_DB: f64 = 3.999_843_853_973_347;
/// Quality factor of stage 1.
const SHELF_Q: f64 = 0.707_175_236_955_419_6;
/// Exponent giving the mid-band gain `Vb = Vh^x` of stage 1.
const SHELF_VB_EXPONENT: f64 = 0.499_666_774_154_541_6;
/// Corner of the RLB high-pass, Hz.
const HIGHPASS_HZ: f64 = 38.135_470_876_024_44;
/// Quality factor of the RLB high-pass.
const HIGHPASS_Q: f64 = 0.500_327_037_323_877_3;

impl KWeightingCoefs {
    /// Designs both stages for `sample_rate_hz` by prewarped bilinear transform.
    pub fn new(sample_rate_hz: f64) -> Self {
        let k = (std::f64::consts::PI * SHELF_HZ / sample_rate_hz).tan();
        let vh = 10f64.powf(SHELF_GAIN_DB / 20.0);
        let vb = vh.powf(SHELF_VB_EXPONENT);
        let a0 = 1.0 + k / SHELF_Q + k * k;
        let shelf = BiquadCoefs {
            b0: (vh + vb * k / SHELF_Q + k * k) / a0,
            b1: 2.0 * (k * k - vh) / a0,
            b2: (vh - vb * k / SHELF_Q + k * k) / a0,
            a1: 2.0 * (k * k - 1.0) / a0,
            a2: (1.0 - k / SHELF_Q + k * k) / a0,
            sample_rate_hz,
        };
        // BS.1770 Table 2 keeps the numerator at exactly (1, -2, 1) instead of dividing it by
        // a0, so the tabulated high-pass has a passband gain of a0(48 kHz) (+0.04 dB), and the
        // -0.691 dB constant of the loudness formula is calibrated with it. Scaling by
        // a0(48 kHz) / a0(fs) keeps that same gain at every rate (and gives exactly
        // (1, -2, 1) at 48 kHz); libebur128 keeps (1, -2, 1) everywhere, which reads 0.03 dB
        // low at 192 kHz.
        let a0_at = |rate: f64| {
            let k = (std::f64::consts::PI * HIGHPASS_HZ / rate).tan();
            1.0 + k / HIGHPASS_Q + k * k
        };
        let k = (std::f64::consts::PI * HIGHPASS_HZ / sample_rate_hz).tan();
        let a0 = a0_at(sample_rate_hz);
        let gain = a0_at(48_000.0) / a0;
        let highpass = BiquadCoefs {
            b0: gain,
            b1: -2.0 * gain,
            b2: gain,
            a1: 2.0 * (k * k - 1.0) / a0,
            a2: (1.0 - k / HIGHPASS_Q + k * k) / a0,
            sample_rate_hz,
        };
        Self { shelf, highpass }
    }

    /// Magnitude of the complete K-weighting at `hz`, linear.
    pub fn magnitude(&self, hz: f64) -> f64 {
        self.response(hz).norm()
    }

    /// Complex response of the complete K-weighting at `hz`.
    pub fn response(&self, hz: f64) -> Complex64 {
        self.shelf.response(hz) * self.highpass.response(hz)
    }
}

/// Running K-weighting of two channels in lock step, for the loudness meter, in direct form I:
/// each stage's output is its feed-forward part less its feedback, summed so that the last
/// operation subtracts `a1 y[n-1]`. The recursion then carries one multiply and one
/// subtraction from sample to sample (transposed direct form II, [`KWeightingFilter`], carries
/// four), and every operation is one two-lane operation, so a stereo pair costs about half the
/// time of two [`KWeightingFilter`]s. Same filter, different rounding: the two agree to about
/// 1e-15 of full scale (tested); the gain match keeps [`KWeightingFilter`]'s operations because
/// its output reaches the audio, and the audio's bits must not move.
#[derive(Clone, Copy, Debug, Default)]
pub struct KWeightingPair {
    /// Inputs `x[n-1]`, `x[n-2]`, per lane.
    x: [[f64; 2]; 2],
    /// Stage 1 outputs `y[n-1]`, `y[n-2]`.
    shelf: [[f64; 2]; 2],
    /// Stage 2 outputs.
    highpass: [[f64; 2]; 2],
}

impl KWeightingPair {
    /// Clears the state.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Filters one sample of each channel (NaN/Inf count as silence) and returns the
    /// K-weighted values.
    #[inline(always)]
    pub fn process(&mut self, c: &KWeightingCoefs, x: [f32; 2]) -> [f64; 2] {
        let x = x.map(|v| if v.is_finite() { v as f64 } else { 0.0 });
        let (sh, hp) = (&c.shelf, &c.highpass);
        let [x1, x2] = self.x;
        let [s1, s2] = self.shelf;
        let [h1, h2] = self.highpass;
        let mut y = [0.0; 2];
        let mut out = [0.0; 2];
        for i in 0..2 {
            let feed = sh.b0 * x[i] + sh.b1 * x1[i] + sh.b2 * x2[i] - sh.a2 * s2[i];
            y[i] = feed - sh.a1 * s1[i];
            // Stage 2's numerator is b0 (1, -2, 1).
            let feed = hp.b0 * ((y[i] + s2[i]) - 2.0 * s1[i]) - hp.a2 * h2[i];
            out[i] = feed - hp.a1 * h1[i];
        }
        self.x = [x, x1];
        self.shelf = [y, s1];
        self.highpass = [out, h1];
        out
    }

    /// Flushes state that has decayed below any audible level to exact zero, so long silences
    /// never leave subnormal numbers in the recursion.
    pub fn flush_tiny(&mut self) {
        for s in [&mut self.x, &mut self.shelf, &mut self.highpass]
            .into_iter()
            .flatten()
            .flatten()
        {
            if s.abs() < 1e-30 {
                *s = 0.0;
            }
        }
    }
}

/// Running K-weighting filter for one channel: both stages in transposed direct form II, `f64`
/// state (the high-pass poles sit within 1e-2 of z = 1 at 48 kHz and closer at higher rates,
/// where `f32` state would add audible error to the 38 Hz corner).
#[derive(Clone, Copy, Debug, Default)]
pub struct KWeightingFilter {
    s1: [f64; 2],
    s2: [f64; 2],
}

impl KWeightingFilter {
    /// Clears the state.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Filters one sample (NaN/Inf count as silence) and returns the K-weighted value.
    #[inline(always)]
    pub fn process(&mut self, c: &KWeightingCoefs, x: f32) -> f64 {
        let x = if x.is_finite() { x as f64 } else { 0.0 };
        let sh = &c.shelf;
        let y1 = sh.b0 * x + self.s1[0];
        self.s1[0] = sh.b1 * x - sh.a1 * y1 + self.s1[1];
        self.s1[1] = sh.b2 * x - sh.a2 * y1;
        // Stage 2 numerator is b0 * (1, -2, 1): one multiply for all three taps.
        let hp = &c.highpass;
        let xb = hp.b0 * y1;
        let y2 = xb + self.s2[0];
        self.s2[0] = -2.0 * xb - hp.a1 * y2 + self.s2[1];
        self.s2[1] = xb - hp.a2 * y2;
        y2
    }

    /// Flushes state that has decayed below any audible level to exact zero, so long silences
    /// never leave subnormal numbers in the recursion.
    pub fn flush_tiny(&mut self) {
        for s in self.s1.iter_mut().chain(self.s2.iter_mut()) {
            if s.abs() < 1e-30 {
                *s = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair (direct form I) and the single filter (transposed direct form II) are the same
    /// filter: on noise with a silence and a NaN, at every rate from 22.05 to 384 kHz, every
    /// output agrees to 1e-10 of full scale (measured: 3e-13 at 22.05 kHz to 2e-11 at
    /// 384 kHz, where the high-pass poles sit closest to z = 1) and the energy over the
    /// programme (what loudness is made of) to 1e-13 (measured at most 7e-15: 3e-14 LU).
    #[test]
    fn the_pair_is_the_single_filter() {
        for fs in [22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 384_000.0] {
            let c = KWeightingCoefs::new(fs);
            let mut rng = test_signals::Xorshift32(7);
            let (mut pair, mut l, mut r) = (
                KWeightingPair::default(),
                KWeightingFilter::default(),
                KWeightingFilter::default(),
            );
            let (mut energy_pair, mut energy_single) = (0.0f64, 0.0f64);
            for n in 0..(fs as usize) {
                // Loud noise, then a silence, then quiet noise with a NaN.
                let scale = match n * 4 / fs as usize {
                    0 => 0.9,
                    1 => 0.0,
                    _ => 1e-3,
                };
                let mut x = [scale * rng.bipolar(), scale * rng.bipolar()];
                if n == 3 * fs as usize / 4 {
                    x[1] = f32::NAN;
                }
                let [ya, yb] = pair.process(&c, x);
                let (za, zb) = (l.process(&c, x[0]), r.process(&c, x[1]));
                for (y, z) in [(ya, za), (yb, zb)] {
                    assert!((y - z).abs() <= 1e-10, "{fs} Hz, {n}: {y} {z}");
                }
                energy_pair += ya * ya + yb * yb;
                energy_single += za * za + zb * zb;
            }
            let relative = (energy_pair / energy_single - 1.0).abs();
            assert!(relative < 1e-13, "{fs} Hz: {relative}");
        }
    }

    #[test]
    fn matches_bs1770_tables_at_48khz() {
        // ITU-R BS.1770-5 Annex 1, Table 1 (stage 1) and Table 2 (stage 2).
        let c = KWeightingCoefs::new(48_000.0);
        let tol = 1e-8;
        assert!(
            (c.shelf.b0 - 1.535_124_859_586_97).abs() < tol,
            "{}",
            c.shelf.b0
        );
        assert!(
            (c.shelf.b1 - -2.691_696_189_406_38).abs() < tol,
            "{}",
            c.shelf.b1
        );
        assert!(
            (c.shelf.b2 - 1.198_392_810_852_85).abs() < tol,
            "{}",
            c.shelf.b2
        );
        assert!(
            (c.shelf.a1 - -1.690_659_293_182_41).abs() < tol,
            "{}",
            c.shelf.a1
        );
        assert!(
            (c.shelf.a2 - 0.732_480_774_215_85).abs() < tol,
            "{}",
            c.shelf.a2
        );
        assert_eq!(
            (c.highpass.b0, c.highpass.b1, c.highpass.b2),
            (1.0, -2.0, 1.0)
        );
        assert!(
            (c.highpass.a1 - -1.990_047_454_833_98).abs() < tol,
            "{}",
            c.highpass.a1
        );
        assert!(
            (c.highpass.a2 - 0.990_072_250_366_21).abs() < tol,
            "{}",
            c.highpass.a2
        );
    }

    #[test]
    fn response_is_consistent_across_rates() {
        // The analogue prototype is the same at every rate: away from Nyquist the magnitude at
        // 44.1, 96 and 192 kHz must match 48 kHz (bilinear warping stays small below 5 kHz).
        let reference = KWeightingCoefs::new(48_000.0);
        for &sr in &[44_100.0, 96_000.0, 192_000.0] {
            let c = KWeightingCoefs::new(sr);
            for &hz in &[20.0, 38.0, 100.0, 997.0, 1681.0, 4000.0] {
                let a = 20.0 * c.magnitude(hz).log10();
                let b = 20.0 * reference.magnitude(hz).log10();
                assert!((a - b).abs() < 0.05, "{sr} Hz at {hz}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn filter_matches_response_for_a_sine() {
        // A 1 kHz sine through the running filter settles to the amplitude `magnitude()` gives,
        // about +0.69 dB (the offset BS.1770's -0.691 cancels at 997 Hz).
        let sr = 48_000.0;
        let c = KWeightingCoefs::new(sr);
        let mut f = KWeightingFilter::default();
        let mut sum_sq = 0.0f64;
        for i in 0..48_000 {
            let x = (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / sr).sin() as f32;
            let y = f.process(&c, x);
            if i >= 24_000 {
                sum_sq += y * y;
            }
        }
        // 24 000 samples hold exactly 500 periods: amplitude = sqrt(2 * mean square).
        let amplitude = (2.0 * sum_sq / 24_000.0).sqrt();
        assert!(
            (amplitude - c.magnitude(1000.0)).abs() < 1e-5,
            "{amplitude}"
        );
    }
}
