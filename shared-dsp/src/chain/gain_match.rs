//! Loudness-matched output: keeps a processed signal as loud as its input.
//!
//! Loudness is measured as in ITU-R BS.1770-5 (K-weighting, channel-weighted mean square,
//! `LUFS = -0.691 + 10 log10(z)`), reusing [`crate::meter::k_weighting`]; instead of the
//! standard's gated block integration both signals go through the same slow one-pole average
//! of the K-weighted power (time constant [`ADAPT_MS`]), so the compensation follows a change
//! in the processing within a few seconds while the level of the programme itself (which moves
//! input and output alike) cancels out of the ratio. The compensating gain is
//! `sqrt(z_in / z_out)`, feed-forward (measured before it is applied, so there is no loop to go
//! unstable), recomputed every [`CONTROL_STEP_SAMPLES`] samples and ramped linearly between
//! steps. While either average is below the BS.1770 absolute gate (-70 LUFS) the gain holds, so silence and fades
//! to silence do not make it drift.

use super::CONTROL_STEP_SAMPLES;
use crate::meter::k_weighting::KWeightingCoefs;
use crate::meter::loudness::{energy_to_lufs, lufs_to_energy, ABSOLUTE_GATE_LUFS};
use crate::simd::F64x4;
use crate::util::one_pole_weight;

/// Time constant of the loudness averages, in ms.
pub const ADAPT_MS: f64 = 3000.0;
/// Largest compensation either way, in dB (beyond this the processing, not the match, is
/// wrong; the guide asks for level changes within +-1.5 dB).
pub const MAX_COMPENSATION_DB: f64 = 24.0;

/// The K-weighting of four signals in lock step (the input's and the output's left and
/// right): each state variable is one four-lane vector, so every operation is one vector
/// operation and the recurrences run without shuffles between them (with an array per lane
/// the compiler paired the lanes in 128-bit halves and spilled state to the stack, inside the
/// recursion). The same operations in the same order as `KWeightingFilter::process`, so each
/// lane gets that filter's bits.
#[derive(Clone, Copy, Debug, Default)]
struct KWeightingLanes {
    /// Stage 1 (shelf) state, per tap.
    shelf: [F64x4; 2],
    /// Stage 2 (high-pass) state, per tap.
    highpass: [F64x4; 2],
}

impl KWeightingLanes {
    /// Filters one sample per lane (NaN/Inf count as silence).
    #[inline(always)]
    fn process(&mut self, c: &KWeightingCoefs, x: [f32; 4]) -> F64x4 {
        let x = F64x4(x.map(|v| if v.is_finite() { v as f64 } else { 0.0 }));
        let k = F64x4::splat;
        let (sh, hp) = (&c.shelf, &c.highpass);
        let [s0, s1] = &mut self.shelf;
        let [h0, h1] = &mut self.highpass;
        let y1 = k(sh.b0) * x + *s0;
        *s0 = k(sh.b1) * x - k(sh.a1) * y1 + *s1;
        *s1 = k(sh.b2) * x - k(sh.a2) * y1;
        // Stage 2 numerator is b0 * (1, -2, 1): one multiply for all three taps.
        let xb = k(hp.b0) * y1;
        let y2 = xb + *h0;
        *h0 = k(-2.0) * xb - k(hp.a1) * y2 + *h1;
        *h1 = xb - k(hp.a2) * y2;
        y2
    }

    /// Flushes state below any audible level to exact zero (no subnormals in long silences).
    fn flush_tiny(&mut self) {
        for s in self
            .shelf
            .iter_mut()
            .chain(self.highpass.iter_mut())
            .flat_map(|v| v.0.iter_mut())
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
    /// Lanes: input left and right, output left and right (the input is filtered in
    /// `process`, beside the output, so both share one recurrence's latency).
    filter: KWeightingLanes,
    /// The one-pole average `e += w (p - e)` over one step is `e = decay e + sum_k c_k p_k`
    /// with `c_k = w (1 - w)^(CONTROL_STEP_SAMPLES - 1 - k)` for the sample at step position
    /// `k` and `decay = (1 - w)^CONTROL_STEP_SAMPLES`: the per-sample recursion (three dependent
    /// operations a sample) becomes one multiply-add into an accumulator, folded in at the end
    /// of each step. Weights go by position in the step, so any split of the audio into calls
    /// gives the same bits.
    step_weights: [f64; CONTROL_STEP_SAMPLES],
    step_decay: f64,
    gate_energy: f64,
    input_energy: f64,
    output_energy: f64,
    /// This step's weighted sums so far.
    input_sum: f64,
    output_sum: f64,
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
            filter: KWeightingLanes::default(),
            step_weights: [0.0; CONTROL_STEP_SAMPLES],
            step_decay: 1.0,
            gate_energy: lufs_to_energy(ABSOLUTE_GATE_LUFS),
            input_energy: 0.0,
            output_energy: 0.0,
            input_sum: 0.0,
            output_sum: 0.0,
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
        let w = one_pole_weight(ADAPT_MS, sample_rate_hz);
        let keep = 1.0 - w;
        for (k, c) in self.step_weights.iter_mut().enumerate() {
            *c = w * keep.powi((CONTROL_STEP_SAMPLES - 1 - k) as i32);
        }
        self.step_decay = keep.powi(CONTROL_STEP_SAMPLES as i32);
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
        self.filter = KWeightingLanes::default();
        self.input_energy = 0.0;
        self.output_energy = 0.0;
        self.input_sum = 0.0;
        self.output_sum = 0.0;
        self.gain = 1.0;
        self.target_gain = 1.0;
        self.gain_step = 0.0;
        self.step_pos = 0;
    }

    /// Keeps the input block in `input` (interleaved, twice the block's length) for
    /// [`Self::process`], which measures it beside the processed block.
    pub fn measure_input(&mut self, left: &[f32], right: &[f32], input: &mut [f32]) {
        if self.is_idle() {
            self.stale = true;
            return;
        }
        if self.stale {
            // Restart the measurement rather than resume from old averages.
            self.stale = false;
            self.reset();
        }
        for ((pair, &l), &r) in input.chunks_exact_mut(2).zip(left).zip(right) {
            pair.copy_from_slice(&[l, r]);
        }
    }

    /// Measures the processed block and the input kept by [`Self::measure_input`] (sample for
    /// sample), updates the averages, and applies the compensating gain in place.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], input: &[f32]) {
        if self.is_idle() {
            return;
        }
        // The AVX build runs on AVX+FMA CPUs only (as it always has), though it fuses nothing.
        crate::simd::dispatch! {
            avx_fma => self.process_avx(left, right, input),
            _ => self.process_lanes(left, right, input),
        }
    }

    /// [`Self::process_lanes`] with the four lanes in one 256-bit vector (the same operations,
    /// no fused multiply-adds, so the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn process_avx(&mut self, left: &mut [f32], right: &mut [f32], input: &[f32]) {
        self.process_lanes(left, right, input);
    }

    #[inline(always)]
    fn process_lanes(&mut self, left: &mut [f32], right: &mut [f32], input: &[f32]) {
        let len = left.len().min(right.len()).min(input.len() / 2);
        let c = self.coefs;
        let mut i = 0;
        while i < len {
            if self.step_pos == 0 {
                self.plan_step();
            }
            // Up to the next step boundary with the state in locals (registers): no call and
            // no step test inside the loop.
            let n = (CONTROL_STEP_SAMPLES - self.step_pos).min(len - i);
            let mut f = self.filter;
            let (mut sum_in, mut sum_out) = (self.input_sum, self.output_sum);
            let (mut gain, gain_step) = (self.gain, self.gain_step);
            let (l, r) = (&mut left[i..i + n], &mut right[i..i + n]);
            let weights = &self.step_weights[self.step_pos..self.step_pos + n];
            for (((l, r), x), &wk) in l
                .iter_mut()
                .zip(r.iter_mut())
                .zip(input[2 * i..2 * (i + n)].chunks_exact(2))
                .zip(weights)
            {
                let y = f.process(&c, [x[0], x[1], *l, *r]);
                let [a, b, c_l, c_r] = (y * y).0;
                sum_in += wk * (a + b);
                sum_out += wk * (c_l + c_r);
                gain += gain_step;
                let g = gain as f32;
                *l *= g;
                *r *= g;
            }
            self.filter = f;
            (self.input_sum, self.output_sum, self.gain) = (sum_in, sum_out, gain);
            self.step_pos += n;
            if self.step_pos == CONTROL_STEP_SAMPLES {
                self.step_pos = 0;
                self.gain = self.target_gain;
                self.input_energy = self.step_decay * self.input_energy + self.input_sum;
                self.output_energy = self.step_decay * self.output_energy + self.output_sum;
                (self.input_sum, self.output_sum) = (0.0, 0.0);
            }
            i += n;
        }
        self.filter.flush_tiny();
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
        self.gain_step = (target - self.gain) / CONTROL_STEP_SAMPLES as f64;
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
    fn lock_step_k_weighting_is_mono_filters_bit_for_bit() {
        // The lock-step layout is a speed change only: the meter's mono filter is the reference.
        let c = KWeightingCoefs::new(44_100.0);
        let mut lanes = KWeightingLanes::default();
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
            let [a, b, a2, b2] = lanes.process(&c, [l, r, l, r]).0;
            assert_eq!((a.to_bits(), b.to_bits()), (a2.to_bits(), b2.to_bits()));
            assert_eq!(a.to_bits(), fl.process(&c, l).to_bits(), "left, sample {i}");
            assert_eq!(
                b.to_bits(),
                fr.process(&c, r).to_bits(),
                "right, sample {i}"
            );
        }
    }

    #[test]
    fn step_folded_average_is_the_one_pole_recursion() {
        // Reference: `e += w (p - e)` sample by sample over the same K-weighted powers.
        let sr = 44_100.0;
        let steps = 500;
        let n = CONTROL_STEP_SAMPLES * steps + 7;
        let left: Vec<f32> = (0..n)
            .map(|i| 0.5 * (i as f32 * 0.0123).sin() * (1.0 + (i as f32 * 0.0007).cos()))
            .collect();
        let right: Vec<f32> = left.iter().map(|v| -0.3 * v + 0.01).collect();
        let mut g = GainMatch::new(sr);
        let mut kept = vec![0.0f32; 2 * n];
        g.measure_input(&left, &right, &mut kept);
        let (mut l, mut r) = (left.clone(), right.clone());
        for k in (0..n).step_by(113) {
            let e = (k + 113).min(n);
            g.process(&mut l[k..e], &mut r[k..e], &kept[2 * k..2 * e]);
        }
        let w = one_pole_weight(ADAPT_MS, sr);
        let c = KWeightingCoefs::new(sr);
        let (mut fl, mut fr) = (KWeightingFilter::default(), KWeightingFilter::default());
        let mut expected = 0.0f64;
        for (a, b) in left.iter().zip(&right).take(CONTROL_STEP_SAMPLES * steps) {
            let (ya, yb) = (fl.process(&c, *a), fr.process(&c, *b));
            expected += w * ((ya * ya + yb * yb) - expected);
        }
        assert!(expected > 1e-4);
        let error = (g.input_energy - expected).abs() / expected;
        assert!(error < 1e-12, "relative error {error:e}");
    }
}
