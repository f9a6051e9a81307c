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

use crate::meter::k_weighting::{KWeightingCoefs, KWeightingFilter};
use crate::meter::loudness::{energy_to_lufs, lufs_to_energy, ABSOLUTE_GATE_LUFS};
use crate::util::one_pole_weight;

/// Time constant of the loudness averages, in ms.
pub const ADAPT_MS: f64 = 3000.0;
/// Largest compensation either way, in dB (beyond this the processing, not the match, is
/// wrong; the guide asks for level changes within +-1.5 dB).
pub const MAX_COMPENSATION_DB: f64 = 24.0;
/// Samples between gain updates (the gain ramps linearly across each step).
pub const STEP: usize = 32;

/// Measures the K-weighted loudness of a stereo input and of the processed signal and applies
/// the gain that makes them equal.
#[derive(Clone, Debug)]
pub struct GainMatch {
    sample_rate_hz: f64,
    coefs: KWeightingCoefs,
    input_filters: [KWeightingFilter; 2],
    output_filters: [KWeightingFilter; 2],
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
            input_filters: [KWeightingFilter::default(); 2],
            output_filters: [KWeightingFilter::default(); 2],
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
        self.input_filters = [KWeightingFilter::default(); 2];
        self.output_filters = [KWeightingFilter::default(); 2];
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
        let [fl, fr] = &mut self.input_filters;
        for ((p, &l), &r) in power.iter_mut().zip(left).zip(right) {
            let a = fl.process(c, l);
            let b = fr.process(c, r);
            *p = (a * a + b * b) as f32;
        }
        fl.flush_tiny();
        fr.flush_tiny();
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
        for i in 0..len {
            if self.step_pos == 0 {
                self.plan_step();
            }
            let a = self.output_filters[0].process(&c, left[i]);
            let b = self.output_filters[1].process(&c, right[i]);
            self.input_energy += w * (input_power[i] as f64 - self.input_energy);
            self.output_energy += w * ((a * a + b * b) - self.output_energy);
            self.gain += self.gain_step;
            let g = self.gain as f32;
            left[i] *= g;
            right[i] *= g;
            self.step_pos += 1;
            if self.step_pos == STEP {
                self.step_pos = 0;
                self.gain = self.target_gain;
            }
        }
        for f in self.output_filters.iter_mut() {
            f.flush_tiny();
        }
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
