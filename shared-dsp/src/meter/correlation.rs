//! Stereo phase-correlation meter: the Pearson correlation coefficient of left and right,
//! `r = E[LR] / sqrt(E[L^2] E[R^2])` (the quantity a correlation meter or goniometer's
//! correlation bar shows), with the expectations taken by one-pole integrators of time
//! constant `integration_ms`, 300 ms by default: slow enough to be read, fast enough to follow
//! a phrase. +1 is mono, 0 uncorrelated, -1 one channel inverted. The stem-mastering guide asks
//! to keep it above +0.4 on wide material.

/// Default integration time, ms.
pub const DEFAULT_INTEGRATION_MS: f64 = 300.0;
/// Below this mean square (-120 dBFS) the reading is 0: correlation of silence is undefined
/// and a meter should sit at the centre rather than jump on dither noise.
const SILENCE_MEAN_SQUARE: f64 = 1e-12;

/// Correlation meter for one stereo pair.
#[derive(Clone, Debug)]
pub struct Correlation {
    sample_rate_hz: f64,
    integration_ms: f64,
    coef: f64,
    lr: f64,
    ll: f64,
    rr: f64,
}

impl Correlation {
    /// Creates a meter at `sample_rate_hz` with the default integration time.
    pub fn new(sample_rate_hz: f64) -> Self {
        let mut c = Self {
            sample_rate_hz,
            integration_ms: DEFAULT_INTEGRATION_MS,
            coef: 0.0,
            lr: 0.0,
            ll: 0.0,
            rr: 0.0,
        };
        c.update_coef();
        c
    }

    fn update_coef(&mut self) {
        self.coef = crate::util::one_pole_weight(self.integration_ms, self.sample_rate_hz);
    }

    /// Sets the sample rate and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.update_coef();
        self.reset();
    }

    /// Sets the integration time constant, ms.
    pub fn set_integration_ms(&mut self, integration_ms: f64) {
        self.integration_ms = integration_ms.max(0.0);
        self.update_coef();
    }

    /// Clears the integrators.
    pub fn reset(&mut self) {
        self.lr = 0.0;
        self.ll = 0.0;
        self.rr = 0.0;
    }

    /// Feeds a stereo block (the shorter slice sets the length); NaN and infinite samples
    /// count as silence.
    pub fn process_block(&mut self, left: &[f32], right: &[f32]) {
        let c = self.coef;
        let (mut lr, mut ll, mut rr) = (self.lr, self.ll, self.rr);
        for (&l, &r) in left.iter().zip(right) {
            let l = if l.is_finite() { l as f64 } else { 0.0 };
            let r = if r.is_finite() { r as f64 } else { 0.0 };
            lr += c * (l * r - lr);
            ll += c * (l * l - ll);
            rr += c * (r * r - rr);
        }
        // Flush what has decayed to nothing, so silence never leaves subnormal state.
        let flush = |v: f64| if v.abs() < 1e-30 { 0.0 } else { v };
        self.lr = flush(lr);
        self.ll = flush(ll);
        self.rr = flush(rr);
    }

    /// Correlation coefficient in -1..=+1 (0 for silence).
    pub fn correlation(&self) -> f64 {
        if self.ll < SILENCE_MEAN_SQUARE || self.rr < SILENCE_MEAN_SQUARE {
            return 0.0;
        }
        (self.lr / (self.ll * self.rr).sqrt()).clamp(-1.0, 1.0)
    }
}
