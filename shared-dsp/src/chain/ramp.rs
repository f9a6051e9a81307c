//! The gain ramps of both chains: one [`GainRamp`] whose law (linear in dB, or linear in
//! amplitude) is chosen where it is built, and the [`AlignedGain`] that delays a ramp's curve
//! to the point of the chain where it acts.
//!
//! A ramp glides to each new target over a fixed number of samples ([`GAIN_RAMP_MS`]),
//! counted per sample, so any partition of the audio into blocks gives the same gains and a
//! chain can take plain gain targets from a plugin or an offline render alike. It lands
//! exactly on the target when the ramp ends (the last step assigns the target instead of
//! adding the increment).
//!
//! Laws: the Stem Channel's trim and output gain ramp linearly in dB ([`RampLaw::Db`], the law
//! of the plugins' gain parameters, even-sounding over large moves); the Stem Master's gain
//! stages ramp linearly in amplitude ([`RampLaw::Amplitude`], cheaper per sample, and the
//! curve an [`AlignedGain`] delays is an amplitude).

use crate::delay::DelayLine;
use crate::util::db_to_gain;

/// Ramp length of every gain stage of both chains, in ms: the plugins' gain smoothing time.
pub const GAIN_RAMP_MS: f64 = 20.0;

/// Samples of a [`GAIN_RAMP_MS`] ramp at `sample_rate_hz` (at least one).
pub fn gain_ramp_samples(sample_rate_hz: f64) -> usize {
    ((GAIN_RAMP_MS * 1e-3 * sample_rate_hz).round() as usize).max(1)
}

/// The scale a [`GainRamp`] moves linearly on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RampLaw {
    /// Linear in dB: the ramp's value is a level in dB, the gain `10^(dB/20)` of it.
    Db,
    /// Linear in amplitude: the ramp's value is the gain itself.
    Amplitude,
}

/// A gain that glides linearly (on its [`RampLaw`]'s scale) to each new target over a fixed
/// number of samples.
#[derive(Clone, Copy, Debug)]
pub struct GainRamp {
    law: RampLaw,
    /// Largest level a dB target may ask for, either way, in dB.
    limit_db: f32,
    /// The value now, on the law's scale (dB or amplitude).
    value: f32,
    target: f32,
    /// Increment per sample, on the law's scale.
    step: f32,
    remaining: usize,
    ramp_samples: usize,
    /// The amplitude of `value`.
    gain: f32,
}

impl GainRamp {
    /// A ramp at unity (0 dB) following `law` over `ramp_samples` samples (at least one);
    /// targets given in dB ([`Self::set_target_db`]) are clamped to +-`limit_db`.
    pub fn new(law: RampLaw, ramp_samples: usize, limit_db: f32) -> Self {
        let unity = match law {
            RampLaw::Db => 0.0,
            RampLaw::Amplitude => 1.0,
        };
        Self {
            law,
            limit_db,
            value: unity,
            target: unity,
            step: 0.0,
            remaining: 0,
            ramp_samples: ramp_samples.max(1),
            gain: 1.0,
        }
    }

    /// Sets the ramp length for the next target, samples (at least one).
    pub fn set_ramp_samples(&mut self, ramp_samples: usize) {
        self.ramp_samples = ramp_samples.max(1);
    }

    /// The value now, on the law's scale (dB or amplitude).
    pub fn value(&self) -> f32 {
        self.value
    }

    /// The target, on the law's scale (dB or amplitude).
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Glides to `target` (on the law's scale) from the next sample; a target equal to the
    /// current one leaves a ramp under way alone.
    pub fn set_target(&mut self, target: f32) {
        if target != self.target {
            self.target = target;
            self.remaining = self.ramp_samples;
            self.step = (target - self.value) / self.ramp_samples as f32;
        }
    }

    /// Glides to a level in dB, clamped to the ramp's limit; a level that is not finite asks
    /// for unity.
    pub fn set_target_db(&mut self, db: f32) {
        let target = self.scale_of_db(db);
        self.set_target(target);
    }

    /// Puts the ramp on a level in dB at once (clamped as [`Self::set_target_db`]).
    pub fn jump_to_db(&mut self, db: f32) {
        let target = self.scale_of_db(db);
        self.jump_to(target);
    }

    /// Puts the ramp on `target` (on the law's scale) at once.
    pub fn jump_to(&mut self, target: f32) {
        self.target = target;
        self.jump();
    }

    /// Ends a ramp under way on its target.
    pub fn jump(&mut self) {
        self.value = self.target;
        self.remaining = 0;
        self.gain = self.gain_of(self.target);
    }

    fn scale_of_db(&self, db: f32) -> f32 {
        let db = if db.is_finite() {
            db.clamp(-self.limit_db, self.limit_db)
        } else {
            0.0
        };
        match self.law {
            RampLaw::Db => db,
            RampLaw::Amplitude => db_to_gain(db),
        }
    }

    #[inline]
    fn gain_of(&self, value: f32) -> f32 {
        match self.law {
            RampLaw::Db => db_to_gain(value),
            RampLaw::Amplitude => value,
        }
    }

    /// Advances one sample of a ramp under way (`remaining > 0`).
    #[inline]
    fn advance(&mut self) {
        self.remaining -= 1;
        self.value = if self.remaining == 0 {
            self.target
        } else {
            self.value + self.step
        };
        self.gain = self.gain_of(self.value);
    }

    /// Writes the gain of each of the next `out.len()` samples minus one (so a delay line's
    /// silence reads as unity), advancing it.
    pub fn fill_offset(&mut self, out: &mut [f32]) {
        for o in out.iter_mut() {
            if self.remaining > 0 {
                self.advance();
            }
            *o = self.gain - 1.0;
        }
    }

    /// Multiplies `left` and `right` (the shorter length is used) by the gain, advancing it.
    pub fn apply(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        let mut i = 0;
        while self.remaining > 0 && i < len {
            self.advance();
            left[i] *= self.gain;
            right[i] *= self.gain;
            i += 1;
        }
        // Unity leaves the samples as they are: skip the multiply.
        if self.gain != 1.0 {
            let g = self.gain;
            for (l, r) in left[i..len].iter_mut().zip(right[i..len].iter_mut()) {
                *l *= g;
                *r *= g;
            }
        }
    }
}

/// A gain that acts inside the chain, after sections with latency: its ramp runs as the audio
/// enters the chain and its curve reaches the point where it acts delayed by those sections'
/// latency, so a change made at some sample acts on the same audio as an input-gain change
/// made at that sample (as a DAW expects of automation on a latency-compensated plugin).
pub struct AlignedGain {
    /// The gain's ramp (set its targets here).
    pub ramp: GainRamp,
    /// The curve as gain minus one, so a cleared line reads as unity. Written every run, so a
    /// latency change reads the true history.
    delay: DelayLine,
    /// This run's delayed curve (gain minus one).
    curve: Vec<f32>,
}

impl AlignedGain {
    /// Allocates for delays up to `max_delay_samples` and runs up to `max_block` samples.
    pub fn new(ramp: GainRamp, max_delay_samples: usize, max_block: usize) -> Self {
        Self {
            ramp,
            delay: DelayLine::new(1, max_delay_samples),
            curve: vec![0.0; max_block],
        }
    }

    /// Sets the delay of the curve, samples (the latency of the sections before the gain).
    pub fn set_delay_samples(&mut self, samples: usize) {
        self.delay.set_delay_samples(samples);
    }

    /// Clears the line and puts the ramp on its target (the line's first `delay` samples act
    /// on the silence the sections before it emit after a reset).
    pub fn reset(&mut self) {
        self.delay.reset();
        self.ramp.jump();
    }

    /// Advances the ramp by `n` samples and takes this run's delayed curve.
    pub fn advance(&mut self, n: usize) {
        let curve = &mut self.curve[..n];
        self.ramp.fill_offset(curve);
        self.delay.process_block(0, curve);
    }

    /// Applies the delayed curve from sample `start` of the run to `left`/`right`.
    pub fn apply(&self, start: usize, left: &mut [f32], right: &mut [f32]) {
        let curve = &self.curve[start..start + left.len().min(right.len())];
        for ((l, r), &g) in left.iter_mut().zip(right.iter_mut()).zip(curve) {
            *l *= 1.0 + g;
            *r *= 1.0 + g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp_of(law: RampLaw, target_db: f32, n: usize) -> Vec<f32> {
        let mut ramp = GainRamp::new(law, 4, 48.0);
        ramp.set_target_db(target_db);
        let (mut l, mut r) = (vec![1.0; n], vec![1.0; n]);
        ramp.apply(&mut l, &mut r);
        l
    }

    #[test]
    fn each_law_is_linear_on_its_scale_and_lands_on_target() {
        let g = db_to_gain(-12.0);
        let amp = ramp_of(RampLaw::Amplitude, -12.0, 6);
        for (k, a) in amp[..4].iter().enumerate() {
            let want = 1.0 + (g - 1.0) * (k + 1) as f32 / 4.0;
            assert!((a - want).abs() < 1e-6, "{k}: {a} vs {want}");
        }
        assert_eq!(&amp[3..], &[g, g, g]);
        let db = ramp_of(RampLaw::Db, -12.0, 6);
        for (k, a) in db[..4].iter().enumerate() {
            let want = db_to_gain(-12.0 * (k + 1) as f32 / 4.0);
            assert!((a - want).abs() < 1e-6, "{k}: {a} vs {want}");
        }
        assert_eq!(&db[3..], &[g, g, g]);
    }

    #[test]
    fn targets_are_clamped_and_non_finite_means_unity() {
        let mut ramp = GainRamp::new(RampLaw::Db, 1, 48.0);
        ramp.jump_to_db(100.0);
        assert_eq!(ramp.value(), 48.0);
        ramp.jump_to_db(f32::NAN);
        assert_eq!(ramp.value(), 0.0);
        let mut ramp = GainRamp::new(RampLaw::Amplitude, 1, 60.0);
        ramp.jump_to_db(-100.0);
        assert_eq!(ramp.value(), db_to_gain(-60.0));
        ramp.jump_to_db(f32::INFINITY);
        assert_eq!(ramp.value(), 1.0);
    }

    #[test]
    fn any_block_partition_gives_the_same_gains() {
        let run = |blocks: &[usize]| {
            let mut ramp = GainRamp::new(RampLaw::Db, 37, 48.0);
            ramp.set_target_db(6.0);
            let mut out = Vec::new();
            for &n in blocks {
                let (mut l, mut r) = (vec![1.0; n], vec![1.0; n]);
                ramp.apply(&mut l, &mut r);
                out.extend(l);
            }
            out
        };
        assert_eq!(run(&[100]), run(&[1, 13, 29, 57]));
    }
}
