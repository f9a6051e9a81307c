//! Dynamic-band detector and gain law.
//!
//! The detector is band-limited to the band: the signal goes through a unity-peak TPT
//! band-pass (A. Simper, "Linear Trapezoidal Integrated State Variable Filter", Cytomic) at
//! the band's frequency and Q, then through a second SVF tuned alike whose band-pass and
//! low-pass outputs are in quadrature at the centre frequency (both have magnitude `1/k` there,
//! 90 degrees apart). The sum of their squares is the squared envelope of a tone, free of the
//! double-frequency ripple a rectifier leaves, so the gain law can follow it without
//! distorting low bands.
//!
//! Gain law: `change = sign(range) * clamp(level_db - threshold_db, 0, |range_db|)`, then a
//! one-pole ballistic in dB whose attack/release times are the 90 % step times.
//!
//! Both filters of both lanes run in one four-lane vector `[pre L, pre R, quad L, quad R]`,
//! the quadrature filter one sample behind the pre-filter so that every lane of a step is
//! independent. Each SVF runs in its state-space form ([`SvfSpace`]: same integrator states,
//! so retuning behaves as Simper's SVF does, and `v = (ic + ic') / 2`).

use super::band::DynamicSettings;
use crate::filter::biquad::FLUSH_BELOW;
use crate::filter::svf::{SvfCoefs, SvfSpace, SvfTaps};
use crate::simd::{F64x4, BASELINE_FMA};

/// `ln(10)`: a one-pole covers 90 % of a step in `ln(10)` time constants.
const LN_10: f64 = std::f64::consts::LN_10;

/// State-space coefficients shared by the four lanes.
#[derive(Clone, Copy, Debug, Default)]
struct Coefs {
    /// `ic1' = c11 ic1 + c12 ic2 + d1 u`, `ic2' = c21 ic1 + c22 ic2 + d2 u`.
    c11: F64x4,
    c12: F64x4,
    c21: F64x4,
    c22: F64x4,
    /// Input gains; the quadrature lanes take `2 v1` of the pre-filter, so theirs carry the
    /// pre-filter's output gain `k / 2`.
    d1: F64x4,
    d2: F64x4,
    /// `k^2 / 4`: squared envelope from `(2 v1)^2 + (2 v2)^2` of the quadrature filter.
    envelope: f64,
}

/// Detector and ballistics of one dynamic band (both lanes of a stereo pair are linked: the
/// louder lane drives the common gain change).
#[derive(Clone, Copy, Debug, Default)]
pub struct DynamicDetector {
    coefs: Coefs,
    /// Integrator states now and one step ago (`[pre L, pre R, quad L, quad R]`).
    ic1: F64x4,
    ic2: F64x4,
    ic1_before: F64x4,
    ic2_before: F64x4,
    /// Largest squared envelope since the last `update`.
    peak2: f64,
    /// Current gain change in dB.
    change_db: f64,
    /// The ballistics' per-update weight while attacking `[0]` and releasing `[1]`, kept with
    /// what it was computed from (an `exp` per update otherwise, for a value that only
    /// changes with the settings).
    weights: [BallisticsWeight; 2],
}

/// `1 - exp(-samples / tau)` for a time of `t_ms` at `sample_rate_hz`.
#[derive(Clone, Copy, Debug, Default)]
struct BallisticsWeight {
    t_ms: f32,
    samples: usize,
    sample_rate_hz: f64,
    alpha: f64,
}

impl BallisticsWeight {
    /// The weight for `t_ms`, `samples` and `sample_rate_hz`, computed when they changed.
    fn get(&mut self, t_ms: f32, samples: usize, sample_rate_hz: f64) -> f64 {
        let same = self.t_ms.to_bits() == t_ms.to_bits()
            && self.samples == samples
            && self.sample_rate_hz.to_bits() == sample_rate_hz.to_bits();
        if !same {
            let tau_samples = (t_ms.max(0.01) as f64) * 1e-3 * sample_rate_hz / LN_10;
            *self = Self {
                t_ms,
                samples,
                sample_rate_hz,
                alpha: 1.0 - (-(samples as f64) / tau_samples).exp(),
            };
        }
        self.alpha
    }
}

/// A [`DynamicDetector`] during a run of samples: its state as locals, so the recursion stays
/// in registers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Feed {
    coefs: Coefs,
    envelope: F64x4,
    /// The lanes whose envelope counts: `[pre L, pre R, quad L, quad R]`.
    counts: [bool; 4],
    ic1: F64x4,
    ic2: F64x4,
    ic1_before: F64x4,
    ic2_before: F64x4,
    peak2: F64x4,
}

impl Feed {
    /// Feeds one sample of the band's input.
    #[inline(always)]
    pub(crate) fn step<const FMA: bool>(&mut self, v: [f64; 2]) {
        let c = &self.coefs;
        let twice_v1 = self.ic1_before + self.ic1;
        let twice_v2 = self.ic2_before + self.ic2;
        // The quadrature lanes' last output, then their next input: the pre-filter's.
        let e2 = self.envelope * twice_v1.mul_add::<FMA>(twice_v1, twice_v2 * twice_v2);
        // Every lane keeps its running peak; `end_feed` reads only the counted ones (no
        // per-sample lane select).
        self.peak2 = e2.max(self.peak2);
        let u = F64x4([v[0], v[1], twice_v1.0[0], twice_v1.0[1]]);
        let next1 =
            c.d1.mul_add::<FMA>(u, c.c11.mul_add::<FMA>(self.ic1, c.c12 * self.ic2));
        let next2 =
            c.d2.mul_add::<FMA>(u, c.c21.mul_add::<FMA>(self.ic1, c.c22 * self.ic2));
        (self.ic1_before, self.ic2_before) = (self.ic1, self.ic2);
        (self.ic1, self.ic2) = (next1, next2);
    }
}

impl DynamicDetector {
    /// Tunes the detector to a band at `hz` with quality `q`.
    pub fn tune(&mut self, sample_rate_hz: f64, hz: f64, q: f64) {
        let c = SvfCoefs::from_analog(sample_rate_hz, hz, q, [0.0, 0.0, 0.0]);
        let s = SvfSpace::from(&SvfTaps::from(c));
        // The quadrature lanes' input is the pre-filter's output k v1 = (k / 2) (2 v1).
        let into_quad = 0.5 * c.k;
        self.coefs = Coefs {
            c11: F64x4::splat(s.c11),
            c12: F64x4::splat(s.c12),
            c21: F64x4::splat(s.c21),
            c22: F64x4::splat(s.c22),
            d1: F64x4([s.d1, s.d1, s.d1 * into_quad, s.d1 * into_quad]),
            d2: F64x4([s.d2, s.d2, s.d2 * into_quad, s.d2 * into_quad]),
            envelope: 0.25 * c.k * c.k,
        };
    }

    /// Clears state and gain change.
    pub fn reset(&mut self) {
        let coefs = self.coefs;
        *self = Self {
            coefs,
            ..Self::default()
        };
    }

    /// Feeds a run of the band's input; only the lanes selected by `lanes` count.
    pub fn feed_block(&mut self, x: &[[f64; 2]], lanes: [bool; 2]) {
        crate::simd::dispatch! {
            avx_fma => self.feed_avx_fma(x, lanes),
            _ => self.feed_with::<BASELINE_FMA>(x, lanes),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,fma")]
    unsafe fn feed_avx_fma(&mut self, x: &[[f64; 2]], lanes: [bool; 2]) {
        self.feed_with::<true>(x, lanes);
    }

    #[inline(always)]
    fn feed_with<const FMA: bool>(&mut self, x: &[[f64; 2]], lanes: [bool; 2]) {
        let mut feed = self.start_feed(lanes);
        for v in x {
            feed.step::<FMA>(*v);
        }
        self.end_feed(feed);
    }

    /// The detector's state taken into a [`Feed`] for a run of samples (a caller that runs
    /// another recursion on the same samples steps both in one loop, so their latencies
    /// overlap); [`Self::end_feed`] puts it back.
    #[inline(always)]
    pub(crate) fn start_feed(&self, lanes: [bool; 2]) -> Feed {
        Feed {
            coefs: self.coefs,
            envelope: F64x4::splat(self.coefs.envelope),
            counts: [false, false, lanes[0], lanes[1]],
            ic1: self.ic1,
            ic2: self.ic2,
            ic1_before: self.ic1_before,
            ic2_before: self.ic2_before,
            peak2: F64x4::splat(self.peak2),
        }
    }

    /// Ends a run started by [`Self::start_feed`].
    #[inline(always)]
    pub(crate) fn end_feed(&mut self, feed: Feed) {
        (self.ic1, self.ic2) = (feed.ic1, feed.ic2);
        (self.ic1_before, self.ic2_before) = (feed.ic1_before, feed.ic2_before);
        // An uncounted lane reads as the peak before the run, as if it had never moved.
        let counted = |lane: usize| {
            if feed.counts[lane] {
                feed.peak2.0[lane]
            } else {
                self.peak2
            }
        };
        self.peak2 = counted(2).max(counted(3)).max(self.peak2);
    }

    /// Advances the ballistics by `samples` with the level seen since the last call, and
    /// returns the gain change in dB.
    pub fn update(&mut self, s: &DynamicSettings, sample_rate_hz: f64, samples: usize) -> f64 {
        let state = [self.ic1, self.ic2, self.ic1_before, self.ic2_before];
        if !state.iter().flat_map(|v| v.0).all(f64::is_finite) {
            self.reset();
        }
        for v in [
            &mut self.ic1,
            &mut self.ic2,
            &mut self.ic1_before,
            &mut self.ic2_before,
        ] {
            for w in v.0.iter_mut() {
                if w.abs() < FLUSH_BELOW {
                    *w = 0.0;
                }
            }
        }
        let level_db = 10.0 * self.peak2.max(1e-20).log10();
        self.peak2 = 0.0;
        let range = s.range_db as f64;
        let over = (level_db - s.threshold_db as f64).clamp(0.0, range.abs());
        let target = over * range.signum();
        let moving_away = target.abs() > self.change_db.abs();
        let alpha = if moving_away {
            self.weights[0].get(s.attack_ms, samples, sample_rate_hz)
        } else {
            self.weights[1].get(s.release_ms, samples, sample_rate_hz)
        };
        self.change_db += alpha * (target - self.change_db);
        if !self.change_db.is_finite() {
            self.change_db = 0.0;
        }
        self.change_db
    }

    /// Current gain change in dB (for metering).
    pub fn change_db(&self) -> f64 {
        self.change_db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Squared-envelope peaks per 32-sample run of a tone at `hz`, amplitude `amp`, in the
    /// lanes `lanes` (the other lane carries a louder tone that must not count).
    fn envelope_db(hz: f64, amp: f64, lanes: [bool; 2], runs: usize) -> Vec<f64> {
        let sr = 48_000.0;
        let mut d = DynamicDetector::default();
        d.tune(sr, 1_000.0, 2.0);
        let tone = |n: usize, a: f64| a * (std::f64::consts::TAU * hz * n as f64 / sr).sin();
        let mut levels = Vec::new();
        for r in 0..runs {
            let x: Vec<[f64; 2]> = (r * 32..(r + 1) * 32)
                .map(|n| {
                    let v = |on: bool| if on { tone(n, amp) } else { tone(n, 4.0 * amp) };
                    [v(lanes[0]), v(lanes[1])]
                })
                .collect();
            d.feed_block(&x, lanes);
            levels.push(10.0 * d.peak2.log10());
            d.peak2 = 0.0;
        }
        levels
    }

    #[test]
    fn baseline_build_matches_the_fused_one() {
        let mut fused = DynamicDetector::default();
        fused.tune(44_100.0, 250.0, 0.7);
        let mut plain = fused;
        let x: Vec<[f64; 2]> = (0..4_000)
            .map(|n| [(n as f64 * 0.03).sin(), 0.5 * (n as f64 * 0.011).cos()])
            .collect();
        fused.feed_with::<true>(&x, [true, true]);
        plain.feed_with::<false>(&x, [true, true]);
        assert!(fused.peak2 > 0.01);
        assert!((fused.peak2 - plain.peak2).abs() < 1e-12 * fused.peak2);
        for (a, b) in fused.ic1.0.iter().zip(plain.ic1.0.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn centre_tone_reads_its_own_level_without_ripple() {
        // At the centre frequency the pre-filter passes the tone at unity and the quadrature
        // pair's outputs have equal magnitude 90 degrees apart, so the squared envelope is the
        // tone's squared amplitude at every sample (analytic: 20 log10(0.25) = -12.041 dB).
        for lanes in [[true, true], [true, false], [false, true]] {
            let levels = envelope_db(1_000.0, 0.25, lanes, 3_000);
            let settled = &levels[1_000..];
            let lo = settled.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = settled.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let expected = 20.0 * 0.25f64.log10();
            assert!(
                (lo - expected).abs() < 0.02 && (hi - expected).abs() < 0.02,
                "lanes {lanes:?}: {lo:.4}..{hi:.4} dB, expected {expected:.4}"
            );
        }
    }

    #[test]
    fn tone_two_octaves_off_centre_is_band_limited() {
        // Pre-filter and quadrature band-pass are both unity-peak band-passes, and the
        // quadrature pair's outputs stay exactly 90 degrees apart off centre, so the envelope's
        // peak is the squared band-pass magnitude twice over (its low-pass partner is smaller
        // here). Analogue, at the bilinear-warped ratio r = tan(pi 4k/48k) / tan(pi 1k/48k):
        // |H| = 1 / sqrt(1 + Q^2 (r - 1/r)^2), Q = 2, so 2 x -17.79 dB. The envelope ripples at
        // 8 kHz, sampled every 30 degrees, so the sampled peak may sit up to 0.3 dB lower.
        let levels = envelope_db(4_000.0, 1.0, [true, true], 3_000);
        let hi = levels[1_000..]
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let warp = |hz: f64| (std::f64::consts::PI * hz / 48_000.0).tan();
        let r = warp(4_000.0) / warp(1_000.0);
        let band_pass_db = -10.0 * (1.0 + 4.0 * (r - 1.0 / r).powi(2)).log10();
        let analytic = 2.0 * band_pass_db;
        assert!(
            hi < analytic + 0.02 && hi > analytic - 0.35,
            "peak {hi:.3} dB vs analytic {analytic:.3} dB"
        );
    }
}
