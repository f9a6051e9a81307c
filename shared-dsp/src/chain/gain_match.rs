//! Loudness-matched output: keeps a processed signal as loud as its input.
//!
//! Loudness is measured as in ITU-R BS.1770-5 (K-weighting, channel-weighted mean square,
//! `LUFS = -0.691 + 10 log10(z)`), reusing [`crate::meter::k_weighting`]; instead of the
//! standard's gated block integration both signals go through the same slow one-pole average
//! of the K-weighted power (time constant [`ADAPT_MS`]), so the compensation follows a change
//! in the processing within a few seconds while the level of the programme itself (which moves
//! input and output alike) cancels out of the ratio. The compensating gain is
//! `sqrt(z_in / z_out)`, feed-forward (measured before it is applied, so there is no loop to go
//! unstable), recomputed every [`STEP`] samples and ramped linearly between steps. While either
//! average is below the BS.1770 absolute gate (-70 LUFS) the gain holds, so silence and fades
//! to silence do not make it drift.

use crate::meter::k_weighting::KWeightingCoefs;
use crate::meter::loudness::{energy_to_lufs, lufs_to_energy, ABSOLUTE_GATE_LUFS};
use crate::util::one_pole_weight;

/// Time constant of the loudness averages, in ms.
pub const ADAPT_MS: f64 = 3000.0;
/// Largest compensation either way, in dB (beyond this the processing, not the match, is
/// wrong; the guide asks for level changes within +-1.5 dB).
pub const MAX_COMPENSATION_DB: f64 = 24.0;
/// Samples between gain updates (the gain ramps linearly across each step).
pub const STEP: usize = 32;

/// Both channels' K-weighting in lock step: each state variable holds the left and right
/// channel side by side, so every operation is one two-lane vector operation (SSE2) and the
/// two channels' recurrences run without shuffles between them (two separate
/// `KWeightingFilter`s get packed into one vector with shuffles on the critical path). The
/// same operations in the same order as `KWeightingFilter::process`, so the same bits.
#[derive(Clone, Copy, Debug, Default)]
struct StereoKWeighting {
    /// Stage 1 (shelf) state, `[tap][channel]`.
    shelf: [[f64; 2]; 2],
    /// Stage 2 (high-pass) state, `[tap][channel]`.
    highpass: [[f64; 2]; 2],
}

impl StereoKWeighting {
    /// Filters one stereo sample (NaN/Inf count as silence).
    #[inline(always)]
    fn process(&mut self, c: &KWeightingCoefs, left: f32, right: f32) -> [f64; 2] {
        let finite = |x: f32| if x.is_finite() { x as f64 } else { 0.0 };
        let x = [finite(left), finite(right)];
        let (sh, hp) = (&c.shelf, &c.highpass);
        let [s0, s1] = &mut self.shelf;
        let [h0, h1] = &mut self.highpass;
        let mut y = [0.0f64; 2];
        for ch in 0..2 {
            let y1 = sh.b0 * x[ch] + s0[ch];
            s0[ch] = sh.b1 * x[ch] - sh.a1 * y1 + s1[ch];
            s1[ch] = sh.b2 * x[ch] - sh.a2 * y1;
            // Stage 2 numerator is b0 * (1, -2, 1): one multiply for all three taps.
            let xb = hp.b0 * y1;
            let y2 = xb + h0[ch];
            h0[ch] = -2.0 * xb - hp.a1 * y2 + h1[ch];
            h1[ch] = xb - hp.a2 * y2;
            y[ch] = y2;
        }
        y
    }

    /// Flushes state below any audible level to exact zero (no subnormals in long silences).
    fn flush_tiny(&mut self) {
        for s in self
            .shelf
            .iter_mut()
            .chain(self.highpass.iter_mut())
            .flatten()
        {
            if s.abs() < 1e-30 {
                *s = 0.0;
            }
        }
    }
}

/// Measures the K-weighted loudness of a stereo input and of the processed signal and applies
/// the gain that makes them equal.
#[derive(Clone, Debug)]
pub struct GainMatch {
    sample_rate_hz: f64,
    coefs: KWeightingCoefs,
    input_filter: StereoKWeighting,
    output_filter: StereoKWeighting,
    weight: f64,
    gate_energy: f64,
    input_energy: f64,
    output_energy: f64,
    enabled: bool,
    /// Gain applied at the current sample (linear).
    gain: f64,
    /// Gain reached at the end of the current step.
    target_gain: f64,
    gain_step: f64,
    /// Position inside the current step (steps run across calls).
    step_pos: usize,
    /// Measure while the compensation is off too (for the net-change readout).
    readout: bool,
    /// The measurement was skipped; it restarts when next needed.
    stale: bool,
}

impl GainMatch {
    /// A gain match at `sample_rate_hz`, disabled, with unity gain.
    pub fn new(sample_rate_hz: f64) -> Self {
        let mut g = Self {
            sample_rate_hz,
            coefs: KWeightingCoefs::new(sample_rate_hz),
            input_filter: StereoKWeighting::default(),
            output_filter: StereoKWeighting::default(),
            weight: one_pole_weight(ADAPT_MS, sample_rate_hz),
            gate_energy: lufs_to_energy(ABSOLUTE_GATE_LUFS),
            input_energy: 0.0,
            output_energy: 0.0,
            enabled: false,
            gain: 1.0,
            target_gain: 1.0,
            gain_step: 0.0,
            step_pos: 0,
            readout: true,
            stale: false,
        };
        g.set_sample_rate(sample_rate_hz);
        g
    }

    /// Re-derives the K-weighting and averaging coefficients and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.coefs = KWeightingCoefs::new(sample_rate_hz);
        self.weight = one_pole_weight(ADAPT_MS, sample_rate_hz);
        self.reset();
    }

    /// Switches the compensation on or off (the gain ramps to its new value; the measurement
    /// runs either way so the net change can always be read).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Whether to measure while the compensation is off, so [`Self::net_change_lu`] can be
    /// read (default on). Off, an idle gain match costs nothing.
    pub fn set_readout(&mut self, readout: bool) {
        self.readout = readout;
    }

    /// Nothing to do: compensation off and settled at unity, no readout wanted.
    fn is_idle(&self) -> bool {
        !self.enabled && !self.readout && self.gain == 1.0 && self.target_gain == 1.0
    }

    /// Clears the measurements and returns to unity gain.
    pub fn reset(&mut self) {
        self.stale = false;
        self.input_filter = StereoKWeighting::default();
        self.output_filter = StereoKWeighting::default();
        self.input_energy = 0.0;
        self.output_energy = 0.0;
        self.gain = 1.0;
        self.target_gain = 1.0;
        self.gain_step = 0.0;
        self.step_pos = 0;
    }

    /// K-weighted power (sum over both channels) of each input sample into `power`; feed the
    /// same samples' power to [`Self::process`] once they have been processed.
    pub fn measure_input(&mut self, left: &[f32], right: &[f32], power: &mut [f32]) {
        if self.is_idle() {
            self.stale = true;
            return;
        }
        if self.stale {
            // Restart the measurement rather than resume from old averages.
            self.stale = false;
            self.reset();
        }
        let c = &self.coefs;
        let mut f = self.input_filter;
        for ((p, &l), &r) in power.iter_mut().zip(left).zip(right) {
            let [a, b] = f.process(c, l, r);
            *p = (a * a + b * b) as f32;
        }
        f.flush_tiny();
        self.input_filter = f;
    }

    /// Measures the processed block, updates the averages with it and `input_power` (from
    /// [`Self::measure_input`], sample for sample), and applies the compensating gain in place.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], input_power: &[f32]) {
        if self.is_idle() {
            return;
        }
        let len = left.len().min(right.len()).min(input_power.len());
        let c = self.coefs;
        let w = self.weight;
        let mut i = 0;
        while i < len {
            if self.step_pos == 0 {
                self.plan_step();
            }
            // Up to the next step boundary with the state in locals (registers): no call and
            // no step test inside the loop.
            let n = (STEP - self.step_pos).min(len - i);
            let mut f = self.output_filter;
            let (mut e_in, mut e_out) = (self.input_energy, self.output_energy);
            let (mut gain, gain_step) = (self.gain, self.gain_step);
            let (l, r) = (&mut left[i..i + n], &mut right[i..i + n]);
            for ((l, r), &p) in l.iter_mut().zip(r.iter_mut()).zip(&input_power[i..i + n]) {
                let [a, b] = f.process(&c, *l, *r);
                e_in += w * (p as f64 - e_in);
                e_out += w * ((a * a + b * b) - e_out);
                gain += gain_step;
                let g = gain as f32;
                *l *= g;
                *r *= g;
            }
            self.output_filter = f;
            (self.input_energy, self.output_energy, self.gain) = (e_in, e_out, gain);
            self.step_pos += n;
            if self.step_pos == STEP {
                self.step_pos = 0;
                self.gain = self.target_gain;
            }
            i += n;
        }
        self.output_filter.flush_tiny();
    }

    fn plan_step(&mut self) {
        let target = if !self.enabled {
            1.0
        } else if self.input_energy > self.gate_energy && self.output_energy > self.gate_energy {
            let db = (10.0 * (self.input_energy / self.output_energy).log10())
                .clamp(-MAX_COMPENSATION_DB, MAX_COMPENSATION_DB);
            10f64.powf(db / 20.0)
        } else {
            // Below the gate: hold.
            self.target_gain
        };
        self.target_gain = target;
        self.gain_step = (target - self.gain) / STEP as f64;
    }

    /// Compensating gain currently applied, in dB.
    pub fn gain_db(&self) -> f32 {
        (20.0 * self.gain.max(1e-12).log10()) as f32
    }

    /// Averaged K-weighted loudness of the input, in LUFS (ungated, over about [`ADAPT_MS`]).
    pub fn input_lufs(&self) -> f32 {
        energy_to_lufs(self.input_energy) as f32
    }

    /// Loudness change the processing makes before compensation, in LU (0 while either side is
    /// below the absolute gate).
    pub fn processing_change_lu(&self) -> f32 {
        if self.stale {
            0.0
        } else if self.input_energy > self.gate_energy && self.output_energy > self.gate_energy {
            (10.0 * (self.output_energy / self.input_energy).log10()) as f32
        } else {
            0.0
        }
    }

    /// Loudness change from input to output after compensation, in LU.
    pub fn net_change_lu(&self) -> f32 {
        if self.stale {
            0.0
        } else if self.input_energy > self.gate_energy && self.output_energy > self.gate_energy {
            self.processing_change_lu() + self.gain_db()
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::k_weighting::KWeightingFilter;

    #[test]
    fn stereo_k_weighting_is_two_mono_filters_bit_for_bit() {
        // The lock-step layout is a speed change only: the meter's mono filter is the reference.
        let c = KWeightingCoefs::new(44_100.0);
        let mut stereo = StereoKWeighting::default();
        let (mut fl, mut fr) = (KWeightingFilter::default(), KWeightingFilter::default());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let l = (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            let r = if i % 977 == 0 {
                f32::NAN
            } else {
                0.5 * l - 0.1
            };
            let [a, b] = stereo.process(&c, l, r);
            assert_eq!(a.to_bits(), fl.process(&c, l).to_bits(), "left, sample {i}");
            assert_eq!(
                b.to_bits(),
                fr.process(&c, r).to_bits(),
                "right, sample {i}"
            );
        }
    }
}
