//! Target assist ("learn"): measure the master's integrated loudness over a stretch of
//! playback and compute the limiter drive that lands it on a loudness target; and the
//! streaming-normalisation readout.
//!
//! Loudness is the BS.1770-5 gated integrated loudness ([`crate::meter::loudness`]). The limiter
//! makes loudness a compressive function of the drive `g`: each dB of drive adds at most one dB
//! of loudness, less the harder it limits. So the update is a secant step on `L(g)`: the first
//! pass assumes the slope 1 (exact while the limiter is idle), later passes with the same target
//! use the slope measured between the last two passes (clamped to [`MIN_SLOPE`, 1]), which is
//! Newton's step on the measured curve and converges in one or two further passes. The ceiling
//! is never at risk: the limiter holds it whatever the drive.

use crate::meter::loudness::LoudnessMeter;

/// Reference loudness of streaming services' normalisation (Spotify, YouTube, Tidal: -14
/// LUFS; the guide's streaming target).
pub const STREAMING_REFERENCE_LUFS: f32 = -14.0;
/// Smallest loudness-per-drive slope the secant step trusts (a limiter driven into a wall
/// still gains some loudness per dB; a tiny measured slope would ask for an absurd drive).
pub const MIN_SLOPE: f64 = 0.2;
/// Largest drive change one pass may ask for, dB.
pub const MAX_STEP_DB: f64 = 24.0;
/// Drive range of the limiter, dB (its `input_gain_db`).
const DRIVE_RANGE_DB: f64 = 60.0;

/// How many dB a service normalising to [`STREAMING_REFERENCE_LUFS`] turns a master of
/// `integrated_lufs` down (0 when it is at or below the reference, or not measured yet).
/// Services that only turn down (Spotify without "loud" mode, Apple Music's Sound Check
/// pegs louder tracks) leave quieter masters alone.
pub fn streaming_turn_down_db(integrated_lufs: f64) -> f64 {
    if integrated_lufs.is_finite() {
        (integrated_lufs - STREAMING_REFERENCE_LUFS as f64).max(0.0)
    } else {
        0.0
    }
}

/// Learns the limiter drive that lands the master on a loudness target.
///
/// Use: [`start`](Self::start) with the target and the drive in use; feed the chain's output
/// with [`process_block`](Self::process_block) while the programme plays (the louder parts
/// matter most: the loudness gate ignores silence); [`finish`](Self::finish) returns the new
/// drive. Learning again with the same target refines the result from the slope of the two
/// passes.
#[derive(Clone, Debug)]
pub struct TargetLearn {
    meter: LoudnessMeter,
    active: bool,
    target_lufs: f64,
    drive_db: f64,
    /// (drive dB, measured LUFS) of the last finished pass and its target.
    last: Option<(f64, f64, f64)>,
}

impl TargetLearn {
    /// Creates a learner for stereo at `sample_rate_hz` (allocates).
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            meter: LoudnessMeter::new(2, sample_rate_hz),
            active: false,
            target_lufs: STREAMING_REFERENCE_LUFS as f64,
            drive_db: 0.0,
            last: None,
        }
    }

    /// Sets the rate (call from `activate()`); stops any pass.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.meter.set_sample_rate(sample_rate_hz);
        self.active = false;
    }

    /// Begins a measuring pass towards `target_lufs` with the limiter drive `drive_db` in use.
    pub fn start(&mut self, target_lufs: f32, drive_db: f32) {
        self.meter.reset();
        self.active = true;
        self.target_lufs = target_lufs as f64;
        self.drive_db = drive_db as f64;
    }

    /// Abandons the pass without a result.
    pub fn cancel(&mut self) {
        self.active = false;
    }

    /// Forgets earlier passes (the next finish assumes slope 1 again).
    pub fn forget(&mut self) {
        self.last = None;
    }

    /// Whether a pass is running.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Feeds the master's output (ignored unless a pass is running). Never allocates.
    pub fn process_block(&mut self, left: &[f32], right: &[f32]) {
        if self.active {
            self.meter.process_block(&[left, right]);
        }
    }

    /// Integrated loudness measured so far in this pass, LUFS (`-inf` until the gate opens).
    pub fn measured_lufs(&self) -> f64 {
        self.meter.integrated_lufs()
    }

    /// Seconds measured in this pass.
    pub fn measured_seconds(&self) -> f64 {
        self.meter.ticks_done() as f64 * 0.01
    }

    /// Ends the pass and returns the drive in dB that should land the output on the target,
    /// or `None` when nothing loud enough to measure was played.
    pub fn finish(&mut self) -> Option<f32> {
        if !self.active {
            return None;
        }
        self.active = false;
        let measured = self.meter.integrated_lufs();
        if !measured.is_finite() {
            return None;
        }
        let (g, target) = (self.drive_db, self.target_lufs);
        let mut slope = 1.0;
        if let Some((g0, l0, t0)) = self.last {
            if t0 == target && (g - g0).abs() > 0.05 {
                let s = (measured - l0) / (g - g0);
                if s.is_finite() {
                    slope = s.clamp(MIN_SLOPE, 1.0);
                }
            }
        }
        self.last = Some((g, measured, target));
        let step = ((target - measured) / slope).clamp(-MAX_STEP_DB, MAX_STEP_DB);
        Some((g + step).clamp(-DRIVE_RANGE_DB, DRIVE_RANGE_DB) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_down_is_the_excess_over_minus_14() {
        assert_eq!(streaming_turn_down_db(-8.0), 6.0);
        assert_eq!(streaming_turn_down_db(-16.0), 0.0);
        assert_eq!(streaming_turn_down_db(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn learn_on_a_linear_system_is_exact_in_one_pass() {
        // A 1 kHz sine at -20 dBFS peak through no limiter: loudness moves 1:1 with the drive.
        let fs = 48_000.0;
        let mut learn = TargetLearn::new(fs);
        learn.start(-14.0, 0.0);
        let x: Vec<f32> = (0..(fs as usize * 3))
            .map(|i| 0.1 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / fs as f32).sin())
            .collect();
        learn.process_block(&x, &x);
        let measured = learn.measured_lufs();
        let drive = learn.finish().unwrap() as f64;
        assert!(
            (drive - (-14.0 - measured)).abs() < 1e-4,
            "{drive} {measured}"
        );
    }
}
