//! Envelope ballistics for the dynamics units: one-pole time constants, the branching
//! attack/release smoother, the RMS detector and the program-dependent (dual time-constant)
//! release.
//!
//! The smoother is the "smooth branching" detector of D. Giannoulis, M. Massberg and
//! J. D. Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and Analysis", JAES 60(6),
//! 2012, eq. (17), run on the gain reduction in decibels (their recommended log-domain
//! placement), so attack and release are true exponential time constants: after a step the gain
//! reduction covers `1 - 1/e` (63.2 %) of its way in `attack_ms`. Coefficients are
//! `exp(-1 / (tau * fs))`, so the times hold at every sample rate.
//!
//! The dual release (auto release of the glue compressor and limiter, program-dependent release
//! of the opto style) follows the two-detector idea of the SSL bus compressor's "auto" position
//! and the LA-2A's two-stage release: a fast envelope handles transients, a slow envelope
//! charges only under sustained reduction, and the larger reduction of the two wins. A short
//! transient therefore recovers fast, a long passage of reduction recovers slowly.

/// One-pole coefficient for a time constant of `time_ms` at `sample_rate_hz`:
/// `exp(-1 / (tau fs))`. A zero or negative time gives 0 (instant).
pub fn one_pole_coef(time_ms: f32, sample_rate_hz: f32) -> f32 {
    let samples = time_ms as f64 * 1e-3 * sample_rate_hz as f64;
    if samples > 0.0 && samples.is_finite() {
        (-1.0 / samples).exp() as f32
    } else {
        0.0
    }
}

/// Below this the smoothed reduction snaps to exactly zero (1e-6 dB, far below audibility), so
/// a released unit returns to bit-exact unity gain instead of creeping through subnormals.
const SNAP_TO_ZERO: f32 = 1e-6;

/// Branching one-pole smoother of a non-negative "reduction amount" (gain reduction in dB for
/// the compressor, `1 - gain` for the limiter): rising values use the attack coefficient,
/// falling values the release coefficient.
#[derive(Clone, Copy, Debug, Default)]
pub struct BranchingSmoother {
    attack_coef: f32,
    release_coef: f32,
    state: f32,
}

impl BranchingSmoother {
    /// Creates a smoother with the given times at `sample_rate_hz`.
    pub fn new(attack_ms: f32, release_ms: f32, sample_rate_hz: f32) -> Self {
        let mut s = Self::default();
        s.set_times(attack_ms, release_ms, sample_rate_hz);
        s
    }

    /// Sets attack and release times in milliseconds.
    pub fn set_times(&mut self, attack_ms: f32, release_ms: f32, sample_rate_hz: f32) {
        self.attack_coef = one_pole_coef(attack_ms, sample_rate_hz);
        self.release_coef = one_pole_coef(release_ms, sample_rate_hz);
    }

    /// Clears the state to zero reduction.
    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    /// Current smoothed value.
    pub fn value(&self) -> f32 {
        self.state
    }

    /// Advances by one sample towards `target` and returns the smoothed value.
    #[inline(always)]
    pub fn process(&mut self, target: f32) -> f32 {
        let coef = if target > self.state {
            self.attack_coef
        } else {
            self.release_coef
        };
        let s = target + coef * (self.state - target);
        self.state = if s < SNAP_TO_ZERO { 0.0 } else { s };
        self.state
    }
}

/// Program-dependent release: the larger of a fast envelope (given attack, fast release) and a
/// slow envelope that charges with `slow_attack_ms` and releases with `slow_release_ms`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DualRelease {
    fast: BranchingSmoother,
    slow: BranchingSmoother,
}

impl DualRelease {
    /// Creates the two envelopes; all times in milliseconds.
    pub fn new(
        attack_ms: f32,
        fast_release_ms: f32,
        slow_attack_ms: f32,
        slow_release_ms: f32,
        sample_rate_hz: f32,
    ) -> Self {
        Self {
            fast: BranchingSmoother::new(attack_ms, fast_release_ms, sample_rate_hz),
            slow: BranchingSmoother::new(slow_attack_ms, slow_release_ms, sample_rate_hz),
        }
    }

    /// Sets all four times (milliseconds), keeping the envelopes' state.
    pub fn set_times(
        &mut self,
        attack_ms: f32,
        fast_release_ms: f32,
        slow_attack_ms: f32,
        slow_release_ms: f32,
        sample_rate_hz: f32,
    ) {
        self.fast
            .set_times(attack_ms, fast_release_ms, sample_rate_hz);
        self.slow
            .set_times(slow_attack_ms, slow_release_ms, sample_rate_hz);
    }

    /// Clears both envelopes.
    pub fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
    }

    /// Advances both envelopes towards `target` and returns the larger.
    #[inline(always)]
    pub fn process(&mut self, target: f32) -> f32 {
        let f = self.fast.process(target);
        let s = self.slow.process(target);
        f.max(s)
    }
}

/// Mean-square detector for RMS level detection: a one-pole average of `x^2` with time constant
/// `window_ms` (the "RMS window" of analogue compressors).
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanSquare {
    coef: f32,
    state: f32,
}

impl MeanSquare {
    /// Creates a detector averaging over `window_ms`.
    pub fn new(window_ms: f32, sample_rate_hz: f32) -> Self {
        Self {
            coef: one_pole_coef(window_ms, sample_rate_hz),
            state: 0.0,
        }
    }

    /// Sets the averaging time, keeping the state.
    pub fn set_window(&mut self, window_ms: f32, sample_rate_hz: f32) {
        self.coef = one_pole_coef(window_ms, sample_rate_hz);
    }

    /// Clears the average.
    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    /// Adds one squared sample and returns the running mean square.
    #[inline(always)]
    pub fn process(&mut self, x_squared: f32) -> f32 {
        let s = x_squared + self.coef * (self.state - x_squared);
        // Flush tails below -600 dB so the state never turns subnormal.
        self.state = if s < 1e-30 { 0.0 } else { s };
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_reaches_63_percent_after_one_time_constant() {
        let fs = 48_000.0;
        let mut s = BranchingSmoother::new(10.0, 100.0, fs);
        let n = (0.010 * fs) as usize;
        let mut v = 0.0;
        for _ in 0..n {
            v = s.process(1.0);
        }
        // 1 - e^-1 = 0.632121
        assert!((v - 0.632_121).abs() < 1e-3, "{v}");
    }

    #[test]
    fn dual_release_is_slower_after_sustained_reduction() {
        let fs = 48_000.0;
        let recovery = |hold_samples: usize| {
            let mut d = DualRelease::new(1.0, 50.0, 500.0, 2000.0, fs);
            for _ in 0..hold_samples {
                d.process(6.0);
            }
            let mut n = 0;
            while d.process(0.0) > 3.0 {
                n += 1;
            }
            n
        };
        let short = recovery(480);
        let long = recovery(96_000);
        assert!(long > 3 * short, "short {short} long {long}");
    }
}
