//! Time offset of a stem against the mix by cross-correlation (FFT, `realfft`).
//!
//! The mix is the sum of all stems, so correlating one stem with it gives the stem's
//! autocorrelation (largest at the true lag) plus its correlation with the other stems. To keep
//! the work and the memory bounded on long files, only the stem's loudest window of
//! [`WINDOW_FRAMES`] samples is correlated, against the target over that window widened by the
//! search range on both sides: [`WindowEnergies`] finds the window while the file streams past
//! (one number per quarter window), and [`correlate`] works on the two excerpts.
//!
//! Why one window suffices: an export offset or a polarity flip is a property of the whole file
//! (the DAW shifts or inverts every sample alike), so any stretch where the stem sounds shows it,
//! and the stem's loudest stretch is where its own autocorrelation stands highest above what the
//! rest of the set leaves in the target. 2^18 samples (5.5 s at 48 kHz) hold many periods of
//! anything musical and are long against the +-[`MAX_OFFSET_S`] searched. Faults that vary
//! along the file (drift, a dropout, a late edit) are what the null test, summed over every
//! sample, catches.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

/// Analysis window, samples (about 5.5 s at 48 kHz).
pub const WINDOW_FRAMES: usize = 1 << 18;
/// Windows are tried on a grid of this many samples (a quarter window).
pub const WINDOW_HOP_FRAMES: usize = WINDOW_FRAMES / 4;
/// Offsets are searched within +-this many seconds.
pub const MAX_OFFSET_S: f64 = 0.5;

/// Lags whose match is within this fraction of the best count as equally good (a few ulps of
/// the f32 samples; a real one-sample shift of a 20 Hz sine, the slowest case, moves the match
/// by 3.4e-6, which stays resolved).
pub const TIE_RELATIVE: f64 = 1e-6;

/// The result of an offset search.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Offset {
    /// How many samples the stem is late against the mix (negative: early).
    pub samples: i64,
    /// Cross-correlation at that offset over the stem's own energy: 1 when the mix holds
    /// exactly this stem there (and the other stems are uncorrelated with it), lower when the
    /// mix holds it at lower gain or altered, -1 when the mix holds it with inverted polarity.
    pub correlation: f64,
    /// The same cross-correlation over the geometric mean of both excerpts' energies (Pearson's
    /// coefficient without the means): near +-1 only when the target there is this stem, near 0
    /// when the target is mostly something else. How far the match can be trusted.
    pub coefficient: f64,
}

/// Frames `[start, start + len)` of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub len: usize,
}

impl Window {
    /// The frames the target is needed over: the window widened by `max_lag` on both sides (may
    /// start before the stream; those frames are silence).
    pub fn span(&self, max_lag: usize) -> (i64, usize) {
        (self.start as i64 - max_lag as i64, self.len + 2 * max_lag)
    }
}

/// Mono downmix (sum of the channels) of one block, the signal offsets are measured on; appended
/// to `out`.
pub fn mono_into(channels: &[&[f32]], out: &mut Vec<f32>) {
    let frames = channels.first().map_or(0, |c| c.len());
    out.extend((0..frames).map(|i| channels.iter().map(|c| c[i]).sum::<f32>()));
}

/// The energy of a stream per quarter window, fed block by block, from which the loudest
/// [`WINDOW_FRAMES`] window on the quarter-window grid is chosen (8 bytes per 1.4 s at 48 kHz).
#[derive(Clone, Debug, Default)]
pub struct WindowEnergies {
    /// Energy of each finished quarter window, and of the current one.
    hops: Vec<f64>,
    current: f64,
    fill: usize,
    frames: usize,
}

impl WindowEnergies {
    pub fn push(&mut self, mono: &[f32]) {
        for &x in mono {
            self.current += (x as f64).powi(2);
            self.fill += 1;
            if self.fill == WINDOW_HOP_FRAMES {
                self.hops.push(self.current);
                self.current = 0.0;
                self.fill = 0;
            }
        }
        self.frames += mono.len();
    }

    /// The loudest window: the whole stream when it is at most [`WINDOW_FRAMES`] long, else
    /// the [`WINDOW_FRAMES`] starting on a quarter-window boundary with the most energy (the
    /// last one may end early at the end of the stream). `None` for silence.
    pub fn loudest(&self) -> Option<Window> {
        let mut hops = self.hops.clone();
        if self.fill > 0 {
            hops.push(self.current);
        }
        let per_window = WINDOW_FRAMES / WINDOW_HOP_FRAMES;
        let mut best = (0usize, -1.0f64);
        let mut k = 0;
        loop {
            let e: f64 = hops[k.min(hops.len())..(k + per_window).min(hops.len())]
                .iter()
                .sum();
            if e > best.1 {
                best = (k, e);
            }
            if (k * WINDOW_HOP_FRAMES + WINDOW_FRAMES) >= self.frames {
                break;
            }
            k += 1;
        }
        let start = best.0 * WINDOW_HOP_FRAMES;
        (best.1 > 0.0).then(|| Window {
            start,
            len: WINDOW_FRAMES.min(self.frames - start),
        })
    }
}

/// Finds where the excerpt `x` of a stem sits in `y`, the target over the same frames widened
/// by `max_lag` on both sides (silence outside the stream), within `+-max_lag` samples; `None`
/// when `x` is silent.
pub fn correlate(x: &[f32], y: &[f32], max_lag: usize) -> Option<Offset> {
    let energy: f64 = x.iter().map(|&s| (s as f64).powi(2)).sum();
    if energy <= 0.0 || x.is_empty() {
        return None;
    }
    let span = x.len() + 2 * max_lag;
    let n = span.next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);

    let mut xa = vec![0.0f64; n];
    for (d, &s) in xa.iter_mut().zip(x) {
        *d = s as f64;
    }
    let mut ya = vec![0.0f64; n];
    for (d, &s) in ya.iter_mut().zip(&y[..span.min(y.len())]) {
        *d = s as f64;
    }
    // Energy of y over each candidate lag's frames, from running sums, for the coefficient.
    let mut y_energy = vec![0.0f64; span + 1];
    for (k, &s) in ya.iter().take(span).enumerate() {
        y_energy[k + 1] = y_energy[k] + s * s;
    }
    let mut xs = fwd.make_output_vec();
    let mut ys = fwd.make_output_vec();
    fwd.process(&mut xa, &mut xs).ok()?;
    fwd.process(&mut ya, &mut ys).ok()?;
    // conj(X) Y  ->  c[k] = sum_i x[i] y[i + k]
    let mut cs: Vec<Complex<f64>> = xs.iter().zip(&ys).map(|(a, b)| a.conj() * b).collect();
    let mut c = inv.make_output_vec();
    inv.process(&mut cs, &mut c).ok()?;
    let scale = 1.0 / n as f64;
    // The largest magnitude: a stem exported with inverted polarity matches the mix as
    // strongly as a correct one, with the opposite sign (reported, not mistaken for an offset).
    let peak = c
        .iter()
        .take(2 * max_lag + 1)
        .fold(0.0f64, |m, &v| m.max((v * scale).abs()));
    // Of the lags matching within TIE_RELATIVE of the best, the smallest offset: an exactly
    // periodic stem (a held tone, a steady vibrato) matches as well whole periods away, and a
    // stem is not blamed for an offset that is only as good as none.
    let (best_k, best_c) = c
        .iter()
        .take(2 * max_lag + 1)
        .enumerate()
        .filter(|&(_, &v)| (v * scale).abs() >= peak * (1.0 - TIE_RELATIVE))
        .min_by_key(|&(k, _)| k.abs_diff(max_lag))
        .map(|(k, &v)| (k, v * scale))?;
    let y_window = (y_energy[best_k + x.len()] - y_energy[best_k]).max(0.0);
    // x[i] matches y[best_k + i], i.e. the stream at (best_k - max_lag) frames after x's own
    // position: the stem content sits that much later in the mix, so the stem is that much early.
    Some(Offset {
        samples: max_lag as i64 - best_k as i64,
        correlation: best_c / energy,
        coefficient: coefficient(best_c, energy, y_window),
    })
}

/// The match of `x` in `y` (as [`correlate`] takes them) at one given offset, `samples` late,
/// computed directly; `None` when `x` is silent or the offset is outside `+-max_lag`.
pub fn match_at(x: &[f32], y: &[f32], max_lag: usize, samples: i64) -> Option<Offset> {
    let energy: f64 = x.iter().map(|&s| (s as f64).powi(2)).sum();
    let k = usize::try_from(max_lag as i64 - samples).ok()?;
    if energy <= 0.0 || k > 2 * max_lag {
        return None;
    }
    let at = |i: usize| y.get(i).map_or(0.0, |&s| s as f64);
    let c: f64 = x
        .iter()
        .enumerate()
        .map(|(i, &s)| s as f64 * at(i + k))
        .sum();
    let y_window: f64 = (k..k + x.len()).map(|i| at(i).powi(2)).sum();
    Some(Offset {
        samples,
        correlation: c / energy,
        coefficient: coefficient(c, energy, y_window),
    })
}

/// Cross-correlation `c` over the geometric mean of the excerpts' energies (0 when `y` is silent
/// there).
fn coefficient(c: f64, x_energy: f64, y_energy: f64) -> f64 {
    if y_energy > 0.0 {
        c / (x_energy * y_energy).sqrt()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, mut seed: u32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as f32 / u32::MAX as f32 - 0.5
            })
            .collect()
    }

    /// The excerpts check takes from two whole signals: the stem's loudest window and the
    /// target over it widened by `max_lag`.
    fn find_offset(stem: &[f32], target: &[f32], max_lag: usize) -> Option<Offset> {
        let mut energies = WindowEnergies::default();
        for block in stem.chunks(10_007) {
            energies.push(block);
        }
        let w = energies.loudest()?;
        let (from, len) = w.span(max_lag);
        let y: Vec<f32> = (from..from + len as i64)
            .map(|i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| target.get(i))
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect();
        correlate(&stem[w.start..w.start + w.len], &y, max_lag)
    }

    fn delayed(a: &[f32], shift: i64) -> Vec<f32> {
        (0..a.len() as i64)
            .map(|i| {
                if i - shift >= 0 && i - shift < a.len() as i64 {
                    a[(i - shift) as usize]
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn finds_known_shifts_in_a_sum() {
        let a = noise(48_000, 1);
        let b = noise(48_000, 2);
        for shift in [-7i64, -1, 0, 1, 300] {
            // The stem as delivered is `a` delayed by `shift` samples.
            let stem = delayed(&a, shift);
            let mix: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
            let off = find_offset(&stem, &mix, 2400).unwrap();
            assert_eq!(off.samples, shift);
            assert!((off.correlation - 1.0).abs() < 0.05, "{off:?}");
            // Half the target's energy is the other stem: coefficient 1/sqrt(2).
            assert!((off.coefficient - 0.707).abs() < 0.05, "{off:?}");
        }
        assert!(find_offset(&vec![0.0; 100], &a, 10).is_none());
    }

    #[test]
    fn an_exactly_periodic_stem_in_place_is_not_offset_by_whole_periods() {
        // 100 Hz at 48 kHz repeats every 480 samples: every multiple matches as well as 0.
        let tone: Vec<f32> = (0..48_000)
            .map(|i| (std::f64::consts::TAU * 100.0 * i as f64 / 48_000.0).sin() as f32)
            .collect();
        let off = find_offset(&tone, &tone, 2400).unwrap();
        assert_eq!(off.samples, 0, "{off:?}");
        // A real shift of the same tone by a few samples is still found.
        let off = find_offset(&delayed(&tone, 3), &tone, 2400).unwrap();
        assert_eq!(off.samples, 3, "{off:?}");
    }

    #[test]
    fn a_long_stem_is_found_from_its_loudest_window() {
        // 40 windows of near-silence with one loud stretch 30 windows in; the stem is 123
        // samples late.
        let frames = 40 * WINDOW_FRAMES / 4;
        let mut a: Vec<f32> = noise(frames, 3).iter().map(|x| x * 1e-4).collect();
        let loud = 30 * WINDOW_HOP_FRAMES + 1000;
        for (d, s) in a[loud..loud + WINDOW_FRAMES / 2]
            .iter_mut()
            .zip(noise(WINDOW_FRAMES / 2, 4))
        {
            *d = s;
        }
        let mut energies = WindowEnergies::default();
        energies.push(&a);
        let w = energies.loudest().unwrap();
        assert!(
            w.start <= loud && loud + WINDOW_FRAMES / 2 <= w.start + w.len,
            "{w:?}"
        );
        let off = find_offset(&delayed(&a, 123), &a, 24_000).unwrap();
        assert_eq!(off.samples, 123);
        assert!((off.coefficient - 1.0).abs() < 0.01, "{off:?}");
        // An inverted stem matches at its true offset with the opposite sign.
        let inverted: Vec<f32> = a.iter().map(|x| -x).collect();
        let off = find_offset(&inverted, &a, 24_000).unwrap();
        assert_eq!(off.samples, 0);
        assert!((off.correlation + 1.0).abs() < 0.01, "{off:?}");
    }
}
