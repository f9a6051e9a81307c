//! The reference's loudness match: the gain that puts the reference's integrated loudness
//! (ITU-R BS.1770-5, gated) on the master's, both measured over the same played span, so the
//! comparison is of sound, not of level (the guide: "matched in loudness").
//!
//! Both programmes go through their own [`LoudnessMeter`] in the same blocks, whichever of the
//! two is heard, so the span is the same by construction. Every 100 ms the estimate
//! `master_I - reference_I` is read from the meters' running sums (O(1),
//! [`LoudnessMeter::running_integrated_lufs`]) and the gain glides to it over the next 100 ms.
//! An integrated loudness over a growing span moves less and less, so the gain settles; once
//! the span is at least [`HOLD_AFTER_S`] long and the estimate moved less than
//! [`HOLD_TOLERANCE_DB`] over the last [`HOLD_WINDOW_TICKS`] readings, the gain **holds** and the
//! meters no longer move it: a quiet bridge after a loud chorus does not pump the reference's
//! level (ZL Equalizer #154 asks for exactly this of automatic gain).
//!
//! A new measurement (another reference, another loop, a seek, the user's "match again") keeps
//! the gain where it is until the new span has [`REMATCH_MIN_SPAN_S`] of audio, then settles
//! from there; only the very first estimate is followed from the first gated 400 ms block.

use crate::chain::ramp::{GainRamp, RampLaw};
use crate::meter::loudness::LoudnessMeter;

/// Span after which the gain may hold, seconds.
pub const HOLD_AFTER_S: f64 = 10.0;
/// Largest movement of the estimate over the hold window that still counts as settled, dB.
pub const HOLD_TOLERANCE_DB: f64 = 0.1;
/// Readings (100 ms apart) the estimate must stay within [`HOLD_TOLERANCE_DB`] to hold: 3 s.
pub const HOLD_WINDOW_TICKS: usize = 30;
/// Span a new measurement needs before it moves a gain that an earlier one set, seconds.
pub const REMATCH_MIN_SPAN_S: f64 = 3.0;
/// Largest match either way, dB (a reference 24 dB away from the master is the wrong file).
pub const MAX_MATCH_DB: f32 = 24.0;
/// Interval between estimates, ms (the loudness meter's 100 ms gating-block hop).
const ESTIMATE_INTERVAL_MS: f64 = 100.0;

/// Where the match stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchState {
    /// No estimate yet: the reference plays at unity gain.
    Waiting,
    /// The gain follows the estimate.
    Settling,
    /// The gain holds on the settled estimate.
    Held,
}

/// The reference's loudness-matching gain.
#[derive(Clone, Debug)]
pub struct LoudnessMatch {
    master: LoudnessMeter,
    reference: LoudnessMeter,
    ramp: GainRamp,
    state: MatchState,
    /// Whether any estimate set the gain since the player was built (a re-match keeps it).
    has_estimate: bool,
    /// Samples measured in the current span, and samples until the next estimate.
    span_samples: u64,
    until_estimate: usize,
    estimate_interval: usize,
    /// The last estimates, a ring of [`HOLD_WINDOW_TICKS`] + 1, and how many are in it.
    recent_db: [f64; HOLD_WINDOW_TICKS + 1],
    recent_len: usize,
    sample_rate_hz: f64,
}

impl LoudnessMatch {
    pub fn new(sample_rate_hz: f64) -> Self {
        let mut m = Self {
            master: LoudnessMeter::new(2, sample_rate_hz),
            reference: LoudnessMeter::new(2, sample_rate_hz),
            ramp: GainRamp::new(RampLaw::Db, 1, MAX_MATCH_DB),
            state: MatchState::Waiting,
            has_estimate: false,
            span_samples: 0,
            until_estimate: 1,
            estimate_interval: 1,
            recent_db: [0.0; HOLD_WINDOW_TICKS + 1],
            recent_len: 0,
            sample_rate_hz,
        };
        m.set_sample_rate(sample_rate_hz);
        m
    }

    /// New rate: the meters and the glide follow; everything starts over at unity gain.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.master.set_sample_rate(sample_rate_hz);
        self.reference.set_sample_rate(sample_rate_hz);
        self.estimate_interval =
            ((ESTIMATE_INTERVAL_MS * 1e-3 * sample_rate_hz).round() as usize).max(1);
        self.ramp.set_ramp_samples(self.estimate_interval);
        self.reset();
    }

    /// Forgets every estimate: unity gain, waiting. Never allocates.
    pub fn reset(&mut self) {
        self.ramp.jump_to_db(0.0);
        self.has_estimate = false;
        self.restart();
    }

    /// Starts a new measurement (another reference, loop or position, or "match again"); the
    /// gain stays where it is until the new span says otherwise.
    pub fn restart(&mut self) {
        self.master.reset();
        self.reference.reset();
        self.span_samples = 0;
        self.until_estimate = self.estimate_interval;
        self.recent_len = 0;
        self.state = if self.has_estimate {
            MatchState::Settling
        } else {
            MatchState::Waiting
        };
    }

    /// Measures one block of both programmes (the master as it leaves the chain, the
    /// reference before the match gain), then multiplies the reference by the match gain.
    /// Any block length; never allocates.
    pub fn process(
        &mut self,
        master: [&[f32]; 2],
        reference_left: &mut [f32],
        reference_right: &mut [f32],
    ) {
        let len = reference_left.len();
        let mut start = 0;
        while start < len {
            let n = (len - start).min(self.until_estimate);
            let range = start..start + n;
            if self.state != MatchState::Held {
                self.master.process_range(&master, range.clone());
                self.reference
                    .process_range(&[&reference_left[..], &reference_right[..]], range.clone());
            }
            self.span_samples += n as u64;
            self.until_estimate -= n;
            if self.until_estimate == 0 {
                self.until_estimate = self.estimate_interval;
                self.estimate();
            }
            self.ramp.apply(
                &mut reference_left[range.clone()],
                &mut reference_right[range],
            );
            start += n;
        }
    }

    /// The measured span so far, seconds.
    pub fn span_s(&self) -> f64 {
        self.span_samples as f64 / self.sample_rate_hz
    }

    /// The gain the reference gets (its target: the gain glides there within 100 ms), dB.
    pub fn gain_db(&self) -> f32 {
        self.ramp.target()
    }

    pub fn state(&self) -> MatchState {
        self.state
    }

    /// Integrated loudness of the master and of the (unmatched) reference over the span, LUFS.
    pub fn span_loudness_lufs(&self) -> (f64, f64) {
        (
            self.master.running_integrated_lufs(),
            self.reference.running_integrated_lufs(),
        )
    }

    fn estimate(&mut self) {
        if self.state == MatchState::Held {
            return;
        }
        let (master, reference) = self.span_loudness_lufs();
        if !(master.is_finite() && reference.is_finite()) {
            return;
        }
        let estimate_db = (master - reference).clamp(-MAX_MATCH_DB as f64, MAX_MATCH_DB as f64);
        if self.has_estimate && self.span_s() < REMATCH_MIN_SPAN_S {
            return;
        }
        self.has_estimate = true;
        self.state = MatchState::Settling;
        self.ramp.set_target_db(estimate_db as f32);
        // The ring of recent estimates: slot `recent_len % N`, the oldest `N - 1` readings
        // before it.
        let n = self.recent_db.len();
        self.recent_db[self.recent_len % n] = estimate_db;
        self.recent_len += 1;
        if self.recent_len >= n && self.span_s() >= HOLD_AFTER_S {
            let (lo, hi) = self
                .recent_db
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
            if hi - lo < HOLD_TOLERANCE_DB {
                self.state = MatchState::Held;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pink-ish programme: a 220 Hz and a 3 kHz tone whose balance changes every second, so
    /// the loudness moves over time (a steady tone would hold at once).
    fn programme(seconds: f64, fs: f64) -> Vec<f32> {
        (0..(seconds * fs) as usize)
            .map(|i| {
                let t = i as f64 / fs;
                let loud = if (t as usize) % 4 == 0 { 0.5 } else { 0.15 };
                (loud * (std::f64::consts::TAU * 220.0 * t).sin()
                    + 0.1 * (std::f64::consts::TAU * 3000.0 * t).sin()) as f32
            })
            .collect()
    }

    /// Runs `master` and `reference` through the match in 512-sample blocks; returns the
    /// matched reference.
    fn run(m: &mut LoudnessMatch, master: &[f32], reference: &[f32]) -> Vec<f32> {
        let mut out = reference.to_vec();
        let mut right = reference.to_vec();
        for (k, (l, r)) in out.chunks_mut(512).zip(right.chunks_mut(512)).enumerate() {
            let src = &master[k * 512..k * 512 + l.len()];
            m.process([src, src], l, r);
        }
        out
    }

    #[test]
    fn a_reference_3_db_hotter_is_turned_down_3_db_and_then_holds() {
        let fs = 48_000.0;
        let master = programme(20.0, fs);
        // The reference is the master 3 dB up: the match is -3.00 dB, whatever the programme.
        let reference: Vec<f32> = master.iter().map(|x| x * 10f32.powf(3.0 / 20.0)).collect();
        let mut m = LoudnessMatch::new(fs);
        let matched = run(&mut m, &master, &reference);
        assert_eq!(m.state(), MatchState::Held, "span {}", m.span_s());
        assert!((m.gain_db() + 3.0).abs() < 0.01, "{}", m.gain_db());
        // The matched reference over the last 10 s measures as the master by an independent
        // meter pass within 0.1 LU.
        let tail = (10.0 * fs) as usize;
        let measure = |x: &[f32]| {
            let mut meter = LoudnessMeter::new(2, fs);
            meter.process_block(&[&x[x.len() - tail..], &x[x.len() - tail..]]);
            meter.integrated_lufs()
        };
        assert!((measure(&matched) - measure(&master)).abs() < 0.1);
    }

    #[test]
    fn a_held_match_does_not_pump_when_the_programme_changes() {
        let fs = 48_000.0;
        let master = programme(16.0, fs);
        let mut m = LoudnessMatch::new(fs);
        run(&mut m, &master, &master);
        assert_eq!(m.state(), MatchState::Held);
        let held = m.gain_db();
        // Now the master goes quiet while the reference stays loud: a follower would turn the
        // reference down; the held match does not move.
        let quiet: Vec<f32> = master.iter().map(|x| x * 0.1).collect();
        run(&mut m, &quiet, &master);
        assert_eq!(m.gain_db(), held);
        // Matching again settles on the new difference (-20 dB) from the held value.
        m.restart();
        run(&mut m, &quiet, &master);
        assert!((m.gain_db() + 20.0).abs() < 0.05, "{}", m.gain_db());
    }

    #[test]
    fn silence_leaves_the_gain_at_unity_and_waiting() {
        let fs = 44_100.0;
        let zeros = vec![0.0f32; 5 * 44_100];
        let mut m = LoudnessMatch::new(fs);
        let out = run(&mut m, &zeros, &zeros);
        assert_eq!(m.state(), MatchState::Waiting);
        assert_eq!(m.gain_db(), 0.0);
        assert!(out.iter().all(|&x| x == 0.0));
    }
}
