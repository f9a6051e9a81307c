//! The one way both chains glide their settings towards new targets, so each plugin hands its
//! chain plain parameter targets and the `stem` tool renders automation exactly as the plugin
//! plays it.
//!
//! Every [`CONTROL_STEP_SAMPLES`] samples (the chain kit's control step, 0.7 ms at 48 kHz, far
//! below the time constant, so the staircase is inaudible; steps are counted across calls, so any partition of the
//! audio into blocks sees the same steps) each continuous setting moves a one-pole fraction of
//! the way to its target, the weight giving a time constant of [`SETTINGS_SMOOTHING_MS`]
//! (`1 - exp(-step / tau)`), and snaps onto the target once it is within a tolerance far
//! below audibility, so a glide ends exactly on the target and the units stop recomputing.
//! The law depends on the setting (STYLE.md, "Smoothing"):
//! - levels in dB (thresholds, make-up, ceiling, drive) and mixes, widths, biases glide
//!   linearly in their unit ([`lin`]), which for a level is logarithmic in amplitude;
//! - frequencies, times and ratios glide geometrically ([`geo`]), so an octave or a doubling
//!   takes the same time anywhere in the range; a value of 0 (a filter switched off) jumps.
//!
//! Switches, modes and lookaheads are not smoothed: they take the target at once (a
//! lookahead sets the latency, which must not glide). EQ bands are smoothed by the EQ itself
//! ([`crate::eq::ParametricEq`]), the linear-phase EQ cross-fades its redesigns, and the gain
//! stages ramp per sample ([`super::ramp`] in the chains).

use super::CONTROL_STEP_SAMPLES;
use crate::dynamics::{CompressorSettings, LimiterSettings};
use crate::saturation::SaturationSettings;
use crate::stereo::StereoSettings;

/// Time constant of the settings smoothing, in ms: 10 ms is below the 20-50 ms over which
/// the ear hears a change as a gesture rather than a click, and a full 20 dB threshold move
/// settles (within 0.01 dB) in about 76 ms.
pub const SETTINGS_SMOOTHING_MS: f32 = 10.0;

/// Moves `c` toward `t` by the one-pole weight `a` (linear), snapping within `tol`.
#[inline]
pub fn lin(c: f32, t: f32, a: f32, tol: f32, moving: &mut bool) -> f32 {
    if c == t || !c.is_finite() || !t.is_finite() {
        return t;
    }
    let v = c + a * (t - c);
    if (t - v).abs() <= tol {
        t
    } else {
        *moving = true;
        v
    }
}

/// Moves `c` toward `t` geometrically (frequencies, times, ratios), snapping within 0.01 %;
/// jumps when either is not positive (e.g. a filter switched off by 0 Hz).
#[inline]
pub fn geo(c: f32, t: f32, a: f32, moving: &mut bool) -> f32 {
    if c == t || !(c > 0.0 && t > 0.0 && c.is_finite() && t.is_finite()) {
        return t;
    }
    let (lc, lt) = (c.ln(), t.ln());
    let lv = lc + a * (lt - lc);
    if (lt - lv).abs() <= 1e-4 {
        t
    } else {
        *moving = true;
        lv.exp()
    }
}

/// A unit's settings that glide: one smoothing step from `self` toward `target` with the
/// weight `a`, each field by its law; fields that do not glide take the target. Sets
/// `moving` when a field has not reached its target.
pub trait Glide: Sized {
    fn glide(&self, target: &Self, a: f32, moving: &mut bool) -> Self;
}

impl Glide for CompressorSettings {
    fn glide(&self, t: &Self, a: f32, m: &mut bool) -> Self {
        let c = self;
        CompressorSettings {
            threshold_db: lin(c.threshold_db, t.threshold_db, a, 0.01, m),
            ratio: geo(c.ratio, t.ratio, a, m),
            knee_db: lin(c.knee_db, t.knee_db, a, 0.01, m),
            attack_ms: geo(c.attack_ms, t.attack_ms, a, m),
            release_ms: geo(c.release_ms, t.release_ms, a, m),
            rms_window_ms: geo(c.rms_window_ms, t.rms_window_ms, a, m),
            makeup_db: lin(c.makeup_db, t.makeup_db, a, 0.001, m),
            mix_percent: lin(c.mix_percent, t.mix_percent, a, 0.01, m),
            sidechain_hpf_hz: geo(c.sidechain_hpf_hz, t.sidechain_hpf_hz, a, m),
            ..*t
        }
    }
}

impl Glide for StereoSettings {
    fn glide(&self, t: &Self, a: f32, m: &mut bool) -> Self {
        let c = self;
        StereoSettings {
            width_percent: lin(c.width_percent, t.width_percent, a, 0.01, m),
            mono_below_hz: geo(c.mono_below_hz, t.mono_below_hz, a, m),
            balance_percent: lin(c.balance_percent, t.balance_percent, a, 0.01, m),
        }
    }
}

impl Glide for SaturationSettings {
    fn glide(&self, t: &Self, a: f32, m: &mut bool) -> Self {
        let c = self;
        SaturationSettings {
            drive_db: lin(c.drive_db, t.drive_db, a, 0.001, m),
            bias: lin(c.bias, t.bias, a, 1e-4, m),
            mix_percent: lin(c.mix_percent, t.mix_percent, a, 0.01, m),
            output_db: lin(c.output_db, t.output_db, a, 0.001, m),
            ..*t
        }
    }
}

/// The drive (`input_gain_db`) is not glided here: the chains ramp it per sample with the
/// other gains. The lookahead sets the latency and jumps.
impl Glide for LimiterSettings {
    fn glide(&self, t: &Self, a: f32, m: &mut bool) -> Self {
        let c = self;
        LimiterSettings {
            ceiling_dbtp: lin(c.ceiling_dbtp, t.ceiling_dbtp, a, 0.001, m),
            release_ms: geo(c.release_ms, t.release_ms, a, m),
            stereo_link_percent: lin(c.stereo_link_percent, t.stereo_link_percent, a, 0.01, m),
            ..*t
        }
    }
}

/// When the next smoothing step is due: the step clock (counted across calls), the weight of
/// a step at the current rate, and whether targets are pending or a glide is under way.
/// Use: [`retarget`](Self::retarget) when targets change; in the processing loop, at each
/// position take [`step_due`](Self::step_due) (glide, then [`set_moving`](Self::set_moving)),
/// run [`run_samples`](Self::run_samples) samples and [`advance`](Self::advance) by them.
#[derive(Clone, Copy, Debug)]
pub struct StepSmoother {
    weight: f32,
    /// Position inside the current step.
    step_pos: usize,
    /// New targets arrived; smoothing starts at the next step boundary.
    pending: bool,
    /// A smoothed setting has not reached its target yet.
    moving: bool,
}

impl Default for StepSmoother {
    fn default() -> Self {
        Self {
            weight: 1.0,
            step_pos: 0,
            pending: false,
            moving: false,
        }
    }
}

impl StepSmoother {
    /// Derives the step weight for `sample_rate_hz`.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.weight = (1.0
            - (-(CONTROL_STEP_SAMPLES as f64)
                / (SETTINGS_SMOOTHING_MS as f64 * 1e-3 * sample_rate_hz))
                .exp()) as f32;
    }

    /// New targets: the glide starts at the next step boundary.
    pub fn retarget(&mut self) {
        self.pending = true;
    }

    /// The settings were put straight onto their targets: nothing glides.
    pub fn jump(&mut self) {
        self.pending = false;
        self.moving = false;
    }

    /// The weight of a step when one is due at this position (clears the pending flag).
    pub fn step_due(&mut self) -> Option<f32> {
        if self.step_pos == 0 && (self.pending || self.moving) {
            self.pending = false;
            Some(self.weight)
        } else {
            None
        }
    }

    /// Records whether the step just taken left a setting short of its target.
    pub fn set_moving(&mut self, moving: bool) {
        self.moving = moving;
    }

    /// Samples to run before the next look at [`Self::step_due`], out of `remaining`: up to
    /// the step boundary while settings move or wait, all of them otherwise.
    pub fn run_samples(&self, remaining: usize) -> usize {
        if self.pending || self.moving {
            (CONTROL_STEP_SAMPLES - self.step_pos).min(remaining)
        } else {
            remaining
        }
    }

    /// Moves the step clock on by `samples`.
    pub fn advance(&mut self, samples: usize) {
        self.step_pos = (self.step_pos + samples) % CONTROL_STEP_SAMPLES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_settles_on_the_target_within_the_stated_time() {
        // 20 dB at 10 ms time constant: within 0.01 dB after ln(2000) tau = 76 ms.
        let fs = 48_000.0;
        let mut s = StepSmoother::default();
        s.set_sample_rate(fs);
        let a = s.weight;
        let (mut v, mut steps) = (-20.0f32, 0);
        loop {
            let mut m = false;
            v = lin(v, 0.0, a, 0.01, &mut m);
            steps += 1;
            if !m {
                break;
            }
        }
        assert_eq!(v, 0.0);
        let ms = (steps * CONTROL_STEP_SAMPLES) as f64 / fs * 1e3;
        assert!(ms <= 80.0 && ms >= 70.0, "{ms}");
        // Geometric: 20 Hz to 20 kHz (ln 1000 = 6.9 in log units) within 1e-4.
        let (mut f, mut steps) = (20.0f32, 0);
        loop {
            let mut m = false;
            f = geo(f, 20_000.0, a, &mut m);
            steps += 1;
            if !m {
                break;
            }
        }
        assert_eq!(f, 20_000.0);
        let ms = (steps * CONTROL_STEP_SAMPLES) as f64 / fs * 1e3;
        assert!(ms <= 120.0, "{ms}");
    }

    #[test]
    fn the_step_clock_runs_across_calls() {
        let mut s = StepSmoother::default();
        s.set_sample_rate(48_000.0);
        assert_eq!(s.run_samples(100), 100);
        s.advance(10);
        s.retarget();
        assert_eq!(s.step_due(), None);
        assert_eq!(s.run_samples(100), CONTROL_STEP_SAMPLES - 10);
        s.advance(CONTROL_STEP_SAMPLES - 10);
        assert!(s.step_due().is_some());
        s.set_moving(false);
        assert_eq!(s.run_samples(5), 5);
    }
}
