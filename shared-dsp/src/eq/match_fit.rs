//! EQ match: up to [`MAX_MATCH_BANDS`] bells and shelves whose combined response follows a
//! target curve (a reference's smoothed spectrum minus the master's, dB), as Ozone's Match EQ,
//! Pro-Q's EQ Match or ZL Equalizer's match propose bands, so that the proposal is a handful
//! of moves an engineer can read and edit rather than a dense correction filter.
//!
//! The fit works on the bands' real digital responses ([`BandSettings::design`], the very
//! curves the master's EQ plays), on the target's points from [`MATCH_LOW_HZ`] to
//! [`MATCH_HIGH_HZ`] (below, rumble and the spectrum's few bins; above, mostly the coders'
//! and converters' business), each point weighted alike (the target is on a log-frequency
//! grid, so each octave counts alike). A constant level offset is fitted beside the bands and
//! reported apart: level is the loudness match's job, not the EQ's.
//!
//! Method: greedy growth with joint refinement. Each round seeds a band where the residual is
//! largest (a bell, a low shelf and a high shelf are each tried there, each refined alone with
//! the offset), keeps the seed that lowers the squared error most, then refines every band and
//! the offset together by Levenberg-Marquardt (K. Levenberg, 1944; D. Marquardt, SIAM J. Appl.
//! Math. 11(2), 1963) over gain (dB), log2 frequency and log2 Q, with a forward-difference
//! Jacobian. Growth stops when the residual's largest deviation is under
//! [`MATCH_TOLERANCE_DB`], when a band no longer lowers the error by a tenth, or at the band
//! limit.

use super::band::{BandKind, BandSettings};

/// Most bands a match proposes.
pub const MAX_MATCH_BANDS: usize = 8;
/// Lowest and highest frequency the match follows, Hz.
pub const MATCH_LOW_HZ: f64 = 30.0;
pub const MATCH_HIGH_HZ: f64 = 18_000.0;
/// Largest gain of one proposed band, dB (a larger difference is a mix problem, not a
/// mastering EQ move, and the fit must not chase a notch in the reference's spectrum).
pub const MAX_MATCH_GAIN_DB: f64 = 12.0;
/// The fit stops adding bands once every point is this close, dB.
pub const MATCH_TOLERANCE_DB: f64 = 0.15;
/// Q range of proposed bells and shelves.
const BELL_Q: (f64, f64) = (0.3, 6.0);
const SHELF_Q: (f64, f64) = (0.4, 1.5);
/// Levenberg-Marquardt iterations per refinement.
const LM_ITERATIONS: usize = 60;

/// A proposed match.
#[derive(Clone, Debug, PartialEq)]
pub struct EqMatch {
    /// The bands (enabled, stereo), gains already scaled by the strength.
    pub bands: Vec<BandSettings>,
    /// The level the target sits above the bands' curve, dB (not part of the EQ).
    pub level_offset_db: f64,
    /// Largest and RMS deviation of the full-strength bands plus offset from the target over
    /// the matched points, dB.
    pub residual_max_db: f64,
    pub residual_rms_db: f64,
}

/// One band's free parameters.
#[derive(Clone, Copy, Debug)]
struct Params {
    kind: BandKind,
    gain_db: f64,
    log2_hz: f64,
    log2_q: f64,
}

impl Params {
    fn band(&self) -> BandSettings {
        BandSettings::new(
            self.kind,
            2f64.powf(self.log2_hz) as f32,
            self.gain_db as f32,
            2f64.powf(self.log2_q) as f32,
        )
    }

    fn get(&self, k: usize) -> f64 {
        [self.gain_db, self.log2_hz, self.log2_q][k]
    }

    fn set(&mut self, k: usize, v: f64) {
        match k {
            0 => self.gain_db = v,
            1 => self.log2_hz = v,
            _ => self.log2_q = v,
        }
    }

    /// Keeps the parameters in their ranges.
    fn clamp(&mut self, top_hz: f64) {
        self.gain_db = self.gain_db.clamp(-MAX_MATCH_GAIN_DB, MAX_MATCH_GAIN_DB);
        self.log2_hz = self.log2_hz.clamp(20f64.log2(), top_hz.log2());
        let (lo, hi) = if self.kind == BandKind::Bell {
            BELL_Q
        } else {
            SHELF_Q
        };
        self.log2_q = self.log2_q.clamp(lo.log2(), hi.log2());
    }
}

/// Forward-difference steps of gain (dB), log2 Hz and log2 Q.
const STEP: [f64; 3] = [0.01, 0.002, 0.005];

struct Fit<'a> {
    hz: &'a [f64],
    target: &'a [f64],
    /// Each point's weight in the squared error (its estimate's reliability).
    weight: &'a [f64],
    sample_rate_hz: f64,
    top_hz: f64,
}

impl Fit<'_> {
    fn curve(&self, p: &Params) -> Vec<f64> {
        let design = p.band().design(self.sample_rate_hz);
        self.hz.iter().map(|&f| design.magnitude_db(f)).collect()
    }

    fn sse(&self, curves: &[Vec<f64>], offset: f64) -> f64 {
        (0..self.hz.len())
            .map(|j| {
                let r = self.target[j] - offset - curves.iter().map(|c| c[j]).sum::<f64>();
                self.weight[j] * r * r
            })
            .sum()
    }

    /// Levenberg-Marquardt over the bands `free` (indices into `bands`) and the offset.
    fn refine(&self, bands: &mut [Params], free: &[usize], offset: &mut f64) {
        let n = self.hz.len();
        let m = 1 + 3 * free.len();
        let mut curves: Vec<Vec<f64>> = bands.iter().map(|p| self.curve(p)).collect();
        let mut sse = self.sse(&curves, *offset);
        let mut lambda = 1e-2;
        for _ in 0..LM_ITERATIONS {
            let residual: Vec<f64> = (0..n)
                .map(|j| self.target[j] - *offset - curves.iter().map(|c| c[j]).sum::<f64>())
                .collect();
            // Jacobian of the model, column by column: the offset's is all ones.
            let mut jac = vec![vec![1.0; n]; m];
            for (fi, &b) in free.iter().enumerate() {
                for k in 0..3 {
                    let mut p = bands[b];
                    p.set(k, p.get(k) + STEP[k]);
                    let moved = self.curve(&p);
                    for j in 0..n {
                        jac[1 + 3 * fi + k][j] = (moved[j] - curves[b][j]) / STEP[k];
                    }
                }
            }
            let mut jtj = vec![vec![0.0; m]; m];
            let mut jtr = vec![0.0; m];
            for a in 0..m {
                for b in a..m {
                    let v: f64 = (0..n).map(|j| self.weight[j] * jac[a][j] * jac[b][j]).sum();
                    jtj[a][b] = v;
                    jtj[b][a] = v;
                }
                jtr[a] = (0..n)
                    .map(|j| self.weight[j] * jac[a][j] * residual[j])
                    .sum();
            }
            let mut improved = false;
            for _ in 0..8 {
                let mut system = jtj.clone();
                for (a, row) in system.iter_mut().enumerate() {
                    row[a] += lambda * jtj[a][a].max(1e-9);
                }
                let Some(delta) = solve(system, jtr.clone()) else {
                    lambda *= 4.0;
                    continue;
                };
                let mut trial = bands.to_vec();
                for (fi, &b) in free.iter().enumerate() {
                    for k in 0..3 {
                        let v = trial[b].get(k) + delta[1 + 3 * fi + k];
                        trial[b].set(k, v);
                    }
                    trial[b].clamp(self.top_hz);
                }
                let trial_offset = *offset + delta[0];
                let mut trial_curves = curves.clone();
                for &b in free {
                    trial_curves[b] = self.curve(&trial[b]);
                }
                let trial_sse = self.sse(&trial_curves, trial_offset);
                if trial_sse < sse {
                    let gain = (sse - trial_sse) / sse.max(1e-300);
                    bands.copy_from_slice(&trial);
                    *offset = trial_offset;
                    curves = trial_curves;
                    sse = trial_sse;
                    lambda = (lambda / 3.0).max(1e-9);
                    improved = gain > 1e-7;
                    break;
                }
                lambda *= 4.0;
            }
            if !improved {
                break;
            }
        }
    }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (`None` when singular).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (i, row) in lower.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (x, &p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + i] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Proposes at most `max_bands` bands (up to [`MAX_MATCH_BANDS`]) following `target_db` at
/// `hz` (only the finite points from [`MATCH_LOW_HZ`] to [`MATCH_HIGH_HZ`] count), each point
/// counting by its `weight` (0..1: how reliable its estimate is; a measured spectrum's lowest
/// points average few FFT bins), for an EQ at `sample_rate_hz`, their gains scaled by
/// `strength` (0..1). `None` when fewer than four points are left to follow.
pub fn match_eq(
    hz: &[f64],
    target_db: &[f64],
    weight: &[f64],
    sample_rate_hz: f64,
    max_bands: usize,
    strength: f64,
) -> Option<EqMatch> {
    let top_hz = MATCH_HIGH_HZ.min(0.45 * sample_rate_hz);
    let mut points = Vec::new();
    for ((&f, &t), &w) in hz.iter().zip(target_db).zip(weight) {
        if (MATCH_LOW_HZ..=top_hz).contains(&f) && t.is_finite() && w > 0.0 {
            points.push((f, t, w.min(1.0)));
        }
    }
    if points.len() < 4 {
        return None;
    }
    let hz: Vec<f64> = points.iter().map(|p| p.0).collect();
    let target: Vec<f64> = points.iter().map(|p| p.1).collect();
    let weight: Vec<f64> = points.iter().map(|p| p.2).collect();
    let fit = Fit {
        hz: &hz,
        target: &target,
        weight: &weight,
        sample_rate_hz,
        top_hz,
    };
    let mut sorted = target.clone();
    sorted.sort_by(f64::total_cmp);
    let mut offset = sorted[sorted.len() / 2];
    let mut bands: Vec<Params> = Vec::new();
    let mut sse = fit.sse(&[], offset);
    for _ in 0..max_bands.min(MAX_MATCH_BANDS) {
        let curves: Vec<Vec<f64>> = bands.iter().map(|p| fit.curve(p)).collect();
        let residual: Vec<f64> = (0..hz.len())
            .map(|j| target[j] - offset - curves.iter().map(|c| c[j]).sum::<f64>())
            .collect();
        // The worst point by its weighted deviation: a band is not spent on an unreliable one.
        let worst = (0..residual.len()).max_by(|&a, &b| {
            (weight[a] * residual[a].abs()).total_cmp(&(weight[b] * residual[b].abs()))
        })?;
        let dev = residual[worst];
        if weight[worst] * dev.abs() < MATCH_TOLERANCE_DB {
            break;
        }
        // Seed each shape where the residual is largest, refine it alone, keep the best.
        let mut best: Option<(Vec<Params>, f64, f64)> = None;
        for (kind, q) in [
            (BandKind::Bell, 1.0),
            (BandKind::LowShelf, 0.7),
            (BandKind::HighShelf, 0.7),
        ] {
            let mut seed = Params {
                kind,
                gain_db: dev,
                log2_hz: hz[worst].log2(),
                log2_q: f64::log2(q),
            };
            seed.clamp(top_hz);
            let mut trial = bands.clone();
            trial.push(seed);
            let mut trial_offset = offset;
            fit.refine(&mut trial, &[bands.len()], &mut trial_offset);
            let curves: Vec<Vec<f64>> = trial.iter().map(|p| fit.curve(p)).collect();
            let trial_sse = fit.sse(&curves, trial_offset);
            if best.as_ref().is_none_or(|b| trial_sse < b.1) {
                best = Some((trial, trial_sse, trial_offset));
            }
        }
        let (mut trial, _, mut trial_offset) = best?;
        let all: Vec<usize> = (0..trial.len()).collect();
        fit.refine(&mut trial, &all, &mut trial_offset);
        let curves: Vec<Vec<f64>> = trial.iter().map(|p| fit.curve(p)).collect();
        let trial_sse = fit.sse(&curves, trial_offset);
        if trial_sse > 0.9 * sse {
            break;
        }
        bands = trial;
        offset = trial_offset;
        sse = trial_sse;
    }
    let curves: Vec<Vec<f64>> = bands.iter().map(|p| fit.curve(p)).collect();
    let residual: Vec<f64> = (0..hz.len())
        .map(|j| target[j] - offset - curves.iter().map(|c| c[j]).sum::<f64>())
        .collect();
    let strength = strength.clamp(0.0, 1.0);
    Some(EqMatch {
        bands: bands
            .iter()
            .map(|p| BandSettings {
                gain_db: (p.gain_db * strength) as f32,
                ..p.band()
            })
            .collect(),
        level_offset_db: offset,
        residual_max_db: residual.iter().fold(0.0f64, |m, r| m.max(r.abs())),
        residual_rms_db: (residual.iter().map(|r| r * r).sum::<f64>() / residual.len() as f64)
            .sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::EqCurve;
    use crate::eq::Placement;

    const FS: f64 = 48_000.0;

    /// Third-octave centres (IEC 61260 base-10 nominal series), `lo..=hi` Hz.
    fn third_octave_centres(lo: f64, hi: f64) -> Vec<f64> {
        (-20..=13)
            .map(|i| 1000.0 * 10f64.powf(i as f64 / 10.0))
            .filter(|&f| f >= lo * 0.99 && f <= hi * 1.01)
            .collect()
    }

    fn ones(hz: &[f64]) -> Vec<f64> {
        vec![1.0; hz.len()]
    }

    #[test]
    fn an_unreliable_point_gets_no_band_of_its_own() {
        // A 1 dB bump at the lowest points, weighted as one FFT bin in eight: not worth a band.
        let hz = grid();
        let target: Vec<f64> = hz
            .iter()
            .map(|&f| if f < 36.0 { 1.0 } else { 0.0 })
            .collect();
        let weight: Vec<f64> = hz.iter().map(|&f| (f / 240.0).min(1.0)).collect();
        let m = match_eq(&hz, &target, &weight, FS, MAX_MATCH_BANDS, 1.0).unwrap();
        assert!(m.bands.is_empty(), "{m:?}");
        // Trusted, it is followed.
        let m = match_eq(&hz, &target, &ones(&hz), FS, MAX_MATCH_BANDS, 1.0).unwrap();
        assert!(!m.bands.is_empty(), "{m:?}");
    }

    /// A 1/24-octave grid from 20 Hz, as the compare's spectra have.
    fn grid() -> Vec<f64> {
        (0..=240)
            .map(|i| 20.0 * 2f64.powf(i as f64 / 24.0))
            .collect()
    }

    #[test]
    fn a_shelf_and_a_bell_are_found_again() {
        // The case: +3 dB high shelf at 6 kHz and -2 dB bell at 300 Hz, 3 dB down.
        let truth = [
            BandSettings::new(BandKind::HighShelf, 6_000.0, 3.0, 0.7),
            BandSettings::bell(300.0, -2.0, 1.0),
        ];
        let curve = EqCurve::new(FS, &truth);
        let hz = grid();
        let target: Vec<f64> = hz
            .iter()
            .map(|&f| curve.magnitude_db(f, Placement::Mid) - 3.0)
            .collect();
        let m = match_eq(&hz, &target, &ones(&hz), FS, MAX_MATCH_BANDS, 1.0).unwrap();
        assert!(m.bands.len() <= 3, "{m:?}");
        assert!((m.level_offset_db + 3.0).abs() < 0.3, "{m:?}");
        let proposed = EqCurve::new(FS, &m.bands);
        for f in third_octave_centres(50.0, 16_000.0) {
            let want = curve.magnitude_db(f, Placement::Mid);
            let got = proposed.magnitude_db(f, Placement::Mid);
            assert!((want - got).abs() < 0.25, "{f} Hz: {want} vs {got}: {m:?}");
        }
        // Half strength: half the gains.
        let half = match_eq(&hz, &target, &ones(&hz), FS, MAX_MATCH_BANDS, 0.5).unwrap();
        for (h, f) in half.bands.iter().zip(&m.bands) {
            assert!((h.gain_db - 0.5 * f.gain_db).abs() < 1e-5);
        }
    }

    #[test]
    fn a_flat_target_needs_no_band_and_the_limits_hold() {
        let hz = grid();
        let flat = vec![-4.0; hz.len()];
        let m = match_eq(&hz, &flat, &ones(&hz), FS, MAX_MATCH_BANDS, 1.0).unwrap();
        assert!(m.bands.is_empty() && (m.level_offset_db + 4.0).abs() < 1e-9);
        // A 30 dB step is followed only up to the gain limit, with at most the band limit.
        let step: Vec<f64> = hz
            .iter()
            .map(|&f| if f > 2_000.0 { 30.0 } else { 0.0 })
            .collect();
        let m = match_eq(&hz, &step, &ones(&hz), FS, 3, 1.0).unwrap();
        assert!(m.bands.len() <= 3);
        assert!(m
            .bands
            .iter()
            .all(|b| b.gain_db.abs() as f64 <= MAX_MATCH_GAIN_DB + 1e-6));
        // Nothing to follow.
        assert!(match_eq(&hz[..3], &flat[..3], &ones(&hz), FS, 8, 1.0).is_none());
        let nan = vec![f64::NAN; hz.len()];
        assert!(match_eq(&hz, &nan, &ones(&hz), FS, 8, 1.0).is_none());
    }
}
