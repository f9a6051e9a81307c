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

use super::band::DynamicSettings;
use crate::filter::svf::{SvfCoefs, SvfState, SvfTaps};

/// `ln(10)`: a one-pole covers 90 % of a step in `ln(10)` time constants.
const LN_10: f64 = std::f64::consts::LN_10;

/// Detector and ballistics of one dynamic band (both lanes of a stereo pair are linked: the
/// louder lane drives the common gain change).
#[derive(Clone, Copy, Debug, Default)]
pub struct DynamicDetector {
    pre: SvfTaps,
    quad: SvfTaps,
    k: f64,
    pre_state: [SvfState; 2],
    quad_state: [SvfState; 2],
    /// Largest squared envelope since the last `update`.
    peak2: f64,
    /// Current gain change in dB.
    change_db: f64,
}

impl DynamicDetector {
    /// Tunes the detector to a band at `hz` with quality `q`.
    pub fn tune(&mut self, sample_rate_hz: f64, hz: f64, q: f64) {
        let c = SvfCoefs::from_analog(sample_rate_hz, hz, q, [0.0, 0.0, 0.0]);
        // Unity-peak band-pass: k * v1.
        let pre = SvfCoefs {
            m0: 0.0,
            m1: c.k,
            m2: 0.0,
            ..c
        };
        self.pre = pre.into();
        self.quad = c.into();
        self.k = c.k;
    }

    /// Clears state and gain change.
    pub fn reset(&mut self) {
        self.pre_state = [SvfState::default(); 2];
        self.quad_state = [SvfState::default(); 2];
        self.peak2 = 0.0;
        self.change_db = 0.0;
    }

    /// Feeds a run of the band's input; only the lanes selected by `lanes` count.
    pub fn feed_block(&mut self, x: &[[f64; 2]], lanes: [bool; 2]) {
        // States and the running peak as locals, so the recursion stays in registers.
        let (mut pre, mut quad, mut peak2) = (self.pre_state, self.quad_state, self.peak2);
        let k2 = self.k * self.k;
        for v in x {
            for i in 0..2 {
                let b = pre[i].tick(&self.pre, v[i]);
                let (v1, v2) = quad[i].step(&self.quad, b);
                let e2 = k2 * (v1 * v1 + v2 * v2);
                if lanes[i] && e2 > peak2 {
                    peak2 = e2;
                }
            }
        }
        (self.pre_state, self.quad_state, self.peak2) = (pre, quad, peak2);
    }

    /// Advances the ballistics by `samples` with the level seen since the last call, and
    /// returns the gain change in dB.
    pub fn update(&mut self, s: &DynamicSettings, sample_rate_hz: f64, samples: usize) -> f64 {
        for st in self.pre_state.iter_mut().chain(self.quad_state.iter_mut()) {
            st.settle();
        }
        let level_db = 10.0 * self.peak2.max(1e-20).log10();
        self.peak2 = 0.0;
        let range = s.range_db as f64;
        let over = (level_db - s.threshold_db as f64).clamp(0.0, range.abs());
        let target = over * range.signum();
        let moving_away = target.abs() > self.change_db.abs();
        let t_ms = if moving_away {
            s.attack_ms
        } else {
            s.release_ms
        };
        let tau_samples = (t_ms.max(0.01) as f64) * 1e-3 * sample_rate_hz / LN_10;
        let alpha = 1.0 - (-(samples as f64) / tau_samples).exp();
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
