//! Multi-band minimum-phase parametric EQ with dynamic bands and M/S placement.
//!
//! Each band is a cascade of Simper TPT state-variable filters (A. Simper, "Linear
//! Trapezoidal Integrated State Variable Filter", Cytomic), realising the matched designs of
//! [`crate::filter::coefficients`] through [`SvfCoefs::from_biquad`]. The SVF keeps its
//! behaviour when its coefficients change every sample, which is what makes automation clean:
//!
//! - parameters are smoothed per sub-block of [`SUB_BLOCK`] samples (frequency and Q
//!   logarithmically, gain in dB) with a one-pole of `smoothing_ms`;
//! - while a band moves, each sub-block gets a closed-form design (Vicanek's impulse-invariant
//!   matched biquad, about a microsecond) and the SVF coefficients `g, k, m0, m1, m2` are
//!   interpolated linearly per sample across the sub-block, so there is no zipper noise;
//! - once settled, the band gets the full matched fit (one or two biquads per section, within
//!   0.1 dB of the analogue curve up to Nyquist), at most one such design per sub-block over
//!   all bands so settling never bunches up into a spike;
//! - structural changes (type, slope, placement, enable) cross-fade the band in and out.
//!
//! Bands that hold still (no interpolation, fade or detector this sub-block) run in
//! [`super::pipeline`]: their sections as direct-form-II stages of one skewed four-lane
//! pipeline, about four times cheaper than the per-sample SVF path. A band's state moves
//! between the two forms exactly (SVF integrators <-> DF-II delay line, see
//! [`crate::filter::svf`]) when it starts or stops moving, so automation stays clean.
//!
//! Sub-block boundaries are counted across calls, so any host block size gives bit-identical
//! output.

use super::band::{BandSettings, Placement};
use super::band_state::{BandState, Params, Structure};
use super::pipeline::{F64Lanes, Stage, StillChain, MAX_STAGES};
use crate::filter::Precision;
use realfft::num_complex::Complex64;

/// Most bands a [`ParametricEq`] holds.
pub const MAX_BANDS: usize = 16;
/// Samples per smoothing / design step.
pub const SUB_BLOCK: usize = 32;
/// Default parameter smoothing time constant, in ms.
pub const DEFAULT_SMOOTHING_MS: f32 = 15.0;
/// Cross-fade time for structural band changes, in ms.
const FADE_MS: f64 = 10.0;
/// Frames processed band after band in one go (a multiple of [`SUB_BLOCK`]): long enough that
/// the pipeline's fill and drain vanish, short enough for an `f64` buffer on the stack.
const CHUNK_FRAMES: usize = 512;

/// A stereo minimum-phase parametric EQ of up to [`MAX_BANDS`] bands. Latency 0.
#[derive(Clone, Debug)]
pub struct ParametricEq {
    sample_rate_hz: f64,
    smoothing_ms: f32,
    /// Per-sub-block smoothing weight and fade step, from the rate and `smoothing_ms`.
    smoothing_alpha: f64,
    fade_step: f64,
    bands: [BandState; MAX_BANDS],
    /// Position inside the current sub-block (sub-blocks run across calls).
    sub_pos: usize,
    /// Scratch for the still pipeline (kept here so a call sets up only the stages it uses).
    stages: [Stage; MAX_STAGES],
}

impl ParametricEq {
    /// An EQ with all bands disabled.
    pub fn new(sample_rate_hz: f64) -> Self {
        let mut eq = Self {
            sample_rate_hz,
            smoothing_ms: DEFAULT_SMOOTHING_MS,
            smoothing_alpha: 1.0,
            fade_step: 1.0,
            bands: [BandState::new(sample_rate_hz); MAX_BANDS],
            sub_pos: 0,
            stages: [Stage::IDENTITY; MAX_STAGES],
        };
        eq.update_rates();
        eq
    }

    fn update_rates(&mut self) {
        let sr = self.sample_rate_hz;
        self.smoothing_alpha = if self.smoothing_ms > 0.0 {
            1.0 - (-(SUB_BLOCK as f64) / (self.smoothing_ms as f64 * 1e-3 * sr)).exp()
        } else {
            1.0
        };
        self.fade_step = 1.0 / (FADE_MS * 1e-3 * sr).max(1.0);
    }

    /// Sets the sample rate: redesigns every band at once (call from `activate`, not from the
    /// audio thread) and clears state.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.update_rates();
        for b in self.bands.iter_mut() {
            b.structure = Structure::from(&b.target);
            b.params = b.target_params;
            b.mix = if b.structure.enabled { 1.0 } else { 0.0 };
            b.mix_step = 0.0;
            b.tune_detector(sample_rate_hz);
            b.dynamic_db = 0.0;
            b.needs_matched = false;
            b.retarget(sample_rate_hz, Precision::Matched, SUB_BLOCK, true);
        }
        self.reset();
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Parameter smoothing time constant in ms (0 = jump at the next sub-block).
    pub fn set_smoothing_ms(&mut self, ms: f32) {
        self.smoothing_ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
        self.update_rates();
    }

    /// Records new settings for band `index` (ignored if out of range); applied from the next
    /// sub-block on, smoothed.
    pub fn set_band(&mut self, index: usize, settings: BandSettings) {
        if let Some(b) = self.bands.get_mut(index) {
            if b.target != settings {
                b.target = settings;
                b.target_params = Params::of(&settings);
            }
        }
    }

    /// A whole stereo signal through fixed `bands` (set at once, no glide) and then `gain_db`:
    /// an offline rendering, e.g. the reference a known EQ makes of a programme (the Match EQ's
    /// tests in `shared-dsp` and `stem compare`'s).
    pub fn rendered(
        sample_rate_hz: f64,
        bands: &[BandSettings],
        gain_db: f32,
        x: &[Vec<f32>; 2],
    ) -> [Vec<f32>; 2] {
        let mut eq = Self::new(sample_rate_hz);
        for (i, b) in bands.iter().enumerate() {
            eq.set_band_immediately(i, *b);
        }
        let (mut l, mut r) = (x[0].clone(), x[1].clone());
        eq.process_block(&mut l, &mut r);
        let g = 10f32.powf(gain_db / 20.0);
        for v in l.iter_mut().chain(r.iter_mut()) {
            *v *= g;
        }
        [l, r]
    }

    /// Sets a band and jumps straight to it (no smoothing, no fade); designs now, so call it
    /// when preparing (e.g. after loading a preset), not per block.
    pub fn set_band_immediately(&mut self, index: usize, settings: BandSettings) {
        let sr = self.sample_rate_hz;
        if let Some(b) = self.bands.get_mut(index) {
            b.target = settings;
            b.target_params = Params::of(&settings);
            b.structure = Structure::from(&settings);
            b.params = b.target_params;
            b.mix = if settings.enabled { 1.0 } else { 0.0 };
            b.mix_step = 0.0;
            b.tune_detector(sr);
            b.needs_matched = false;
            b.reset();
            b.retarget(sr, Precision::Matched, SUB_BLOCK, true);
        }
    }

    /// Current settings of band `index`.
    pub fn band(&self, index: usize) -> Option<&BandSettings> {
        self.bands.get(index).map(|b| &b.target)
    }

    /// Momentary gain change of a dynamic band in dB (0 for static bands).
    pub fn dynamic_gain_db(&self, index: usize) -> f32 {
        self.bands.get(index).map_or(0.0, |b| b.dynamic_db as f32)
    }

    /// Clears all filter and detector state (never allocates).
    pub fn reset(&mut self) {
        let sr = self.sample_rate_hz;
        for b in self.bands.iter_mut() {
            // A dynamic band's coefficients carry the gain change its detector had reached;
            // the cleared detector starts from none, so the band returns to its static design
            // (as a fresh band starts), not to the old change frozen until the level moves.
            let moved = b.dynamic_db != 0.0;
            b.reset();
            if moved && b.structure.enabled {
                b.retarget(sr, Precision::Matched, SUB_BLOCK, true);
                b.needs_matched = false;
            }
        }
        self.sub_pos = 0;
    }

    /// Latency in samples (always 0: minimum phase).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Combined response at `hz` of the coefficients in use, for the bands acting on `view`
    /// (stereo bands act on every view).
    pub fn response(&self, hz: f64, view: Placement) -> Complex64 {
        self.bands
            .iter()
            .filter(|b| b.structure.enabled && b.target.acts_on(view))
            .fold(Complex64::new(1.0, 0.0), |acc, b| {
                acc * b.design.response(hz)
            })
    }

    /// Plans band `bi`'s next sub-block: smoothing, dynamics, designs. `matched_budget` is
    /// shared by all bands of one sub-block: at most one full matched design per sub-block, so
    /// settling never bunches up into a spike (the lowest band that needs one gets it).
    fn plan_band(&mut self, bi: usize, matched_budget: &mut bool) {
        let (sr, alpha, fade_step) = (self.sample_rate_hz, self.smoothing_alpha, self.fade_step);
        let b = &mut self.bands[bi];
        let want = Structure::from(&b.target);
        if want != b.structure {
            if b.mix > 0.0 && b.structure.enabled {
                // Fade out first; the change lands once silent.
                b.mix_step = -fade_step;
                return;
            }
            b.structure = want;
            b.params = b.target_params;
            b.reset();
            b.tune_detector(sr);
            if want.enabled {
                b.retarget(sr, Precision::Fast, SUB_BLOCK, true);
                b.needs_matched = true;
                b.mix = 0.0;
                b.mix_step = fade_step;
            } else {
                b.mix = 0.0;
                b.mix_step = 0.0;
            }
            return;
        }
        if !b.structure.enabled {
            return;
        }
        let target = b.target_params;
        let settled = b.params.approach(&target, alpha);
        let mut dyn_moved = false;
        if b.target.is_dynamic() {
            let before = b.dynamic_db;
            b.dynamic_db = b.detector.update(&b.target.dynamic, sr, SUB_BLOCK);
            dyn_moved = (b.dynamic_db - before).abs() > 1e-4;
        } else if b.dynamic_db != 0.0 {
            b.dynamic_db = 0.0;
            dyn_moved = true;
        }
        if !settled {
            b.tune_detector(sr);
        }
        if !settled || dyn_moved {
            b.retarget(sr, Precision::Fast, SUB_BLOCK, false);
            b.needs_matched = true;
        } else if b.needs_matched && *matched_budget {
            *matched_budget = false;
            b.needs_matched = false;
            b.retarget(sr, Precision::Matched, SUB_BLOCK, false);
        }
    }

    /// Processes a stereo block in place (`left` and `right` of equal length; the shorter
    /// length is used).
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        for (l, r) in left[..len]
            .chunks_mut(CHUNK_FRAMES)
            .zip(right[..len].chunks_mut(CHUNK_FRAMES))
        {
            self.process_chunk(l, r);
        }
    }

    /// Processes a mono block (both lanes carry the signal; mid bands act, side bands see
    /// silence).
    pub fn process_block_mono(&mut self, buf: &mut [f32]) {
        let mut scratch = [0.0f32; SUB_BLOCK];
        for chunk in buf.chunks_mut(SUB_BLOCK) {
            let r = &mut scratch[..chunk.len()];
            r.copy_from_slice(chunk);
            self.process_block(chunk, r);
        }
    }

    /// One chunk, band after band. A band that is quiescent (settings reached, not dynamic)
    /// stays so for the whole call, so consecutive quiescent bands run as one pipeline over
    /// the whole chunk; every other band runs sub-block by sub-block, planning each one. BandState
    /// `i` at sub-block `k` depends only on its own history, its input and whether a lower band
    /// took sub-block `k`'s matched design, so this order gives the same bits as running all
    /// bands sub-block by sub-block, and the same for any split of the audio into calls.
    fn process_chunk(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len();
        let start = self.sub_pos;
        let ends_sub_block = start + len >= SUB_BLOCK;
        self.sub_pos = (start + len) % SUB_BLOCK;
        if self.bands.iter().all(|b| b.is_quiescent()) {
            // Nothing moves: the whole chain in one pipeline straight over the host's channels.
            let mut chain = StillChain::new();
            for bi in 0..MAX_BANDS {
                if self.bands[bi].is_active() && self.bands[bi].sections > 0 {
                    chain.push(&mut self.stages, bi, &mut self.bands[bi]);
                }
            }
            if chain.count == 0 {
                crate::util::sanitize(left);
                crate::util::sanitize(right);
            } else {
                chain.run_f32(&mut self.stages, &mut self.bands, left, right);
            }
            if ends_sub_block {
                self.bands.iter_mut().for_each(BandState::finish_sub_block);
            }
            return;
        }
        // The same conversions as `pipeline::run_f32`, so both ways give the same bits.
        crate::util::sanitize(left);
        crate::util::sanitize(right);
        let mut buf = [[0.0f64; 2]; CHUNK_FRAMES];
        let buf = &mut buf[..len];
        for ((v, l), r) in buf.iter_mut().zip(left.iter()).zip(right.iter()) {
            *v = [*l as f64, *r as f64];
        }
        // One matched design per sub-block starting in this chunk, over all bands.
        let mut matched_budget = [true; CHUNK_FRAMES / SUB_BLOCK + 1];
        let quiescent: [bool; MAX_BANDS] = std::array::from_fn(|bi| self.bands[bi].is_quiescent());
        let mut chain = StillChain::new();
        for (bi, still) in quiescent.into_iter().enumerate() {
            if still {
                if self.bands[bi].is_active() && self.bands[bi].sections > 0 {
                    chain.push(&mut self.stages, bi, &mut self.bands[bi]);
                }
                continue;
            }
            chain.run(&mut self.stages, &mut self.bands, &mut F64Lanes(buf));
            self.run_band(bi, buf, start, &mut matched_budget);
        }
        chain.run(&mut self.stages, &mut self.bands, &mut F64Lanes(buf));
        if ends_sub_block {
            for (b, _) in self.bands.iter_mut().zip(quiescent).filter(|(_, q)| *q) {
                b.finish_sub_block();
            }
        }
        for ((v, l), r) in buf.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            *l = v[0] as f32;
            *r = v[1] as f32;
        }
        crate::util::sanitize(left);
        crate::util::sanitize(right);
    }

    /// Runs band `bi` over `buf`, which starts `start` samples into a sub-block: plans each
    /// sub-block that begins here, runs it still (pipeline) or moving (per-sample SVF), and
    /// ends each sub-block that ends here.
    fn run_band(
        &mut self,
        bi: usize,
        buf: &mut [[f64; 2]],
        start: usize,
        matched_budget: &mut [bool],
    ) {
        let mut pos = 0;
        let mut sub = start;
        let mut k = 0;
        while pos < buf.len() {
            if sub == 0 {
                self.plan_band(bi, &mut matched_budget[k]);
            }
            let run = (SUB_BLOCK - sub).min(buf.len() - pos);
            let seg = &mut buf[pos..pos + run];
            let band = &mut self.bands[bi];
            if band.is_active() && band.sections > 0 {
                if band.holds_still() {
                    let mut chain = StillChain::new();
                    chain.push(&mut self.stages, bi, band);
                    chain.run(&mut self.stages, &mut self.bands, &mut F64Lanes(seg));
                } else {
                    band.run_moving(seg);
                }
            }
            pos += run;
            sub += run;
            if sub == SUB_BLOCK {
                sub = 0;
                k += 1;
                self.bands[bi].finish_sub_block();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::BandKind;
    use crate::filter::biquad::{to_input, to_output};

    /// The original per-band, per-sample path: every active band through `BandState::run_moving`.
    fn reference_block(eq: &mut ParametricEq, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.chunks_mut(SUB_BLOCK).zip(right.chunks_mut(SUB_BLOCK)) {
            let mut matched_budget = true;
            for bi in 0..MAX_BANDS {
                eq.plan_band(bi, &mut matched_budget);
            }
            let mut buf: Vec<[f64; 2]> = l
                .iter()
                .zip(r.iter())
                .map(|(x, y)| [to_input(*x), to_input(*y)])
                .collect();
            for b in eq.bands.iter_mut() {
                if b.is_active() && b.sections > 0 {
                    for v in buf.chunks_mut(1) {
                        b.run_moving(v);
                    }
                }
            }
            for ((v, x), y) in buf.iter().zip(l.iter_mut()).zip(r.iter_mut()) {
                *x = to_output(v[0]);
                *y = to_output(v[1]);
            }
            for b in eq.bands.iter_mut() {
                b.finish_sub_block();
            }
        }
    }

    /// Largest difference between two signals.
    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn baseline_moving_sections_match_the_fused_build() {
        // The unfused build runs wherever AVX/FMA is missing; it must give the fused build's
        // result up to rounding while a band moves (FMA = true is a library call on such a
        // machine, slow but exact).
        let mut eq = ParametricEq::new(48_000.0);
        eq.set_band_immediately(0, BandSettings::bell(300.0, -4.0, 0.8));
        eq.set_band(0, BandSettings::bell(3_000.0, 6.0, 2.0));
        eq.plan_band(0, &mut true);
        let band = &eq.bands[0];
        assert!(band.moving, "the band must move");
        let input: Vec<[f64; 2]> = (0..SUB_BLOCK)
            .map(|n| [(n as f64 * 0.7).sin(), (n as f64 * 0.3).cos()])
            .collect();
        let (mut fused, mut plain) = (*band, *band);
        let (mut y_fused, mut y_plain) = (input.clone(), input);
        fused.run_sections::<true>(&mut y_fused, false);
        plain.run_sections::<false>(&mut y_plain, false);
        for (a, b) in y_fused.iter().flatten().zip(y_plain.iter().flatten()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(fused.coefs, plain.coefs);
    }

    #[test]
    fn pipelined_still_bands_match_the_per_sample_svf_path() {
        // Bands of every placement, a dynamic band that moves all the time, and a bell that is
        // automated in bursts, so bands switch between the direct-form pipeline and the
        // per-sample SVF path many times. A wrong state conversion would leave a transient of
        // the size of the signal; rounding differences stay near f32 resolution.
        let sr = 48_000.0;
        let mut eq = ParametricEq::new(sr);
        let mut dynamic = BandSettings::bell(2_500.0, 0.0, 1.5);
        dynamic.dynamic.enabled = true;
        dynamic.dynamic.threshold_db = -30.0;
        dynamic.dynamic.range_db = -6.0;
        let mut side = BandSettings::new(BandKind::HighShelf, 12_000.0, 1.5, 0.7);
        side.placement = Placement::Side;
        let mut mid = BandSettings::bell(400.0, 2.0, 0.9);
        mid.placement = Placement::Mid;
        let mut left_only = BandSettings::bell(5_000.0, -3.0, 2.0);
        left_only.placement = Placement::Left;
        let bands = [
            BandSettings {
                slope: crate::filter::Slope::Db48,
                ..BandSettings::new(BandKind::HighPass, 35.0, 0.0, 0.7)
            },
            BandSettings::bell(250.0, -1.5, 1.0),
            dynamic,
            side,
            mid,
            left_only,
            BandSettings::new(BandKind::LowShelf, 100.0, -1.0, 0.7),
        ];
        for (i, b) in bands.iter().enumerate() {
            eq.set_band_immediately(i, *b);
        }
        let mut reference = eq.clone();
        let n = SUB_BLOCK * 600;
        let mut left: Vec<f32> = (0..n)
            .map(|i| 0.5 * (i as f32 * 0.131).sin() + 0.3 * (i as f32 * 0.0071).sin())
            .collect();
        let mut right: Vec<f32> = (0..n).map(|i| 0.4 * (i as f32 * 0.057).cos()).collect();
        let (mut ref_l, mut ref_r) = (left.clone(), right.clone());
        let block = SUB_BLOCK * 25;
        for (k, start) in (0..n).step_by(block).enumerate() {
            if k % 3 == 1 {
                let bell = BandSettings::bell(250.0 * (1.0 + 0.3 * k as f32), -1.5, 1.0);
                eq.set_band(1, bell);
                reference.set_band(1, bell);
            }
            let end = (start + block).min(n);
            eq.process_block(&mut left[start..end], &mut right[start..end]);
            reference_block(
                &mut reference,
                &mut ref_l[start..end],
                &mut ref_r[start..end],
            );
        }
        assert!(eq.dynamic_gain_db(2) < -1.0, "the dynamic band must move");
        let (dl, dr) = (max_diff(&left, &ref_l), max_diff(&right, &ref_r));
        assert!(dl < 2e-6 && dr < 2e-6, "left {dl:e}, right {dr:e}");
    }
}
