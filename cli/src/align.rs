//! Time offset of a stem against the mix by cross-correlation (FFT, `realfft`).
//!
//! The mix is the sum of all stems, so correlating one stem with it gives the stem's
//! autocorrelation (largest at the true lag) plus its correlation with the other stems. To keep
//! the work bounded on long files, the stem's loudest window of [`WINDOW_FRAMES`] samples is
//! correlated against the mix over that window widened by the search range on both sides.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

/// Analysis window, samples (about 5.5 s at 48 kHz).
pub const WINDOW_FRAMES: usize = 1 << 18;
/// Offsets are searched within +-this many seconds.
pub const MAX_OFFSET_S: f64 = 0.5;

/// The result of an offset search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Offset {
    /// How many samples the stem is late against the mix (negative: early).
    pub samples: i64,
    /// Cross-correlation at that offset over the stem's own energy: 1 when the mix holds
    /// exactly this stem there (and the other stems are uncorrelated with it), lower when the
    /// mix holds it at lower gain or altered, -1 when the mix holds it with inverted polarity.
    pub correlation: f64,
}

/// Mono downmix (sum of the channels), the signal offsets are measured on.
pub fn mono(channels: &[Vec<f32>]) -> Vec<f32> {
    let frames = channels.first().map_or(0, Vec::len);
    (0..frames)
        .map(|i| channels.iter().map(|c| c[i]).sum())
        .collect()
}

/// Finds the offset of `stem` in `mix` within `+-max_lag` samples; `None` when the stem is
/// silent.
pub fn find_offset(stem: &[f32], mix: &[f32], max_lag: usize) -> Option<Offset> {
    let len = stem.len().min(WINDOW_FRAMES);
    if len == 0 {
        return None;
    }
    // Loudest window of the stem, on a grid of quarter windows.
    let hop = (len / 4).max(1);
    let mut best = (0usize, -1.0f64);
    let mut start = 0;
    loop {
        let end = (start + len).min(stem.len());
        let e: f64 = stem[start..end].iter().map(|&x| (x as f64).powi(2)).sum();
        if e > best.1 {
            best = (start, e);
        }
        if end == stem.len() {
            break;
        }
        start += hop;
    }
    let (start, energy) = best;
    if energy <= 0.0 {
        return None;
    }
    let x = &stem[start..(start + len).min(stem.len())];
    let span = x.len() + 2 * max_lag;
    let n = span.next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);

    let mut xa = vec![0.0f64; n];
    for (d, &s) in xa.iter_mut().zip(x) {
        *d = s as f64;
    }
    // y[k] = mix[start - max_lag + k], zero outside the mix.
    let mut ya = vec![0.0f64; n];
    for (k, d) in ya.iter_mut().enumerate().take(span) {
        let idx = start as i64 - max_lag as i64 + k as i64;
        if idx >= 0 && (idx as usize) < mix.len() {
            *d = mix[idx as usize] as f64;
        }
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
    let mut best_k = 0;
    let mut best_c = 0.0f64;
    for (k, &v) in c.iter().enumerate().take(2 * max_lag + 1) {
        if (v * scale).abs() > best_c.abs() {
            best_c = v * scale;
            best_k = k;
        }
    }
    let correlation = best_c / energy;
    // x[i] (stem at start+i) matches mix at start + (best_k - max_lag) + i: the stem content
    // sits (best_k - max_lag) samples later in the mix, so the stem is that much early.
    Some(Offset {
        samples: max_lag as i64 - best_k as i64,
        correlation,
    })
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

    #[test]
    fn finds_known_shifts_in_a_sum() {
        let a = noise(48_000, 1);
        let b = noise(48_000, 2);
        for shift in [-7i64, -1, 0, 1, 300] {
            // The stem as delivered is `a` delayed by `shift` samples.
            let delayed: Vec<f32> = (0..a.len() as i64)
                .map(|i| {
                    if i - shift >= 0 && i - shift < a.len() as i64 {
                        a[(i - shift) as usize]
                    } else {
                        0.0
                    }
                })
                .collect();
            let mix: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
            let off = find_offset(&delayed, &mix, 2400).unwrap();
            assert_eq!(off.samples, shift);
            assert!((off.correlation - 1.0).abs() < 0.05, "{off:?}");
        }
        assert!(find_offset(&vec![0.0; 100], &a, 10).is_none());
    }
}
