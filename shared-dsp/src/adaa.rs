//! First-order antiderivative anti-aliasing (ADAA) of memoryless curves, and the short FIR
//! that undoes its linear side effects.
//!
//! A waveshaper `y = f(v)` applied sample by sample aliases every harmonic it creates above
//! Nyquist. First-order ADAA (J. D. Parker, V. Zavalishin, E. Le Bivic, "Reducing the aliasing
//! of nonlinear waveshaping using continuous-time convolution", DAFx-16, eq. 12; S. Bilbao,
//! F. Esqueda, J. D. Parker, V. Välimäki, "Antiderivative antialiasing for memoryless
//! nonlinearities", IEEE SPL 24(7), 2017, eq. 7) instead outputs the mean of `f` over the
//! straight line from the previous input to the current one,
//!
//! `y[n] = (F(v[n]) - F(v[n-1])) / (v[n] - v[n-1])`, with `F' = f`,
//!
//! i.e. the continuous-time output of a linearly interpolated input convolved with a one-sample
//! rectangle. The rectangle's response `sinc(f / fs)` has zeros at every multiple of the sample
//! rate, which is exactly where the harmonics that fold back to low frequencies sit, so those
//! aliases drop by tens of decibels for the price of one antiderivative per sample. Where
//! `v[n] ~ v[n-1]` the quotient is ill-conditioned; there, as both papers do, the output is
//! `f` at the midpoint `(v[n] + v[n-1]) / 2` (the limit of the quotient, exact to
//! `f'' (v[n] - v[n-1])^2 / 24`).
//!
//! Precision in `f32`: a saturating curve's antiderivative grows like `|v|`, and the difference
//! of two large values loses the digits the quotient needs. Every curve here therefore splits
//! `F(v) = |v| + G(v)` with a bounded remainder `G` ([`Antiderivative::remainder`]); `|v[n]| -
//! |v[n-1]|` is computed exactly (Sterbenz's lemma) whenever the two are within a factor of two
//! of each other, as neighbours a small step apart are, so only `G`'s rounding (about `1e-7`)
//! is divided by the step.
//!
//! Linear side effects: on a linear curve the quotient is the two-sample mean
//! `(v[n] + v[n-1]) / 2`, a half-sample delay and a droop of `cos(pi f / fs)` at the rate it
//! runs at (-0.47 dB at 20 kHz at 4x of 48 kHz, -0.12 dB at 8x). [`COMPENSATION_TAPS`], a
//! four-tap FIR run just before it, makes the pair a delay of exactly two samples (a whole
//! number, so the unit's latency stays an integer and a dry path stays aligned) and lifts the
//! droop, so quiet material passes as it did without ADAA.

/// Below this step `|v[n] - v[n-1]|` (in curve-input units) the midpoint value replaces the
/// quotient. The quotient's rounding error is about `2e-7 / step` and the midpoint's
/// truncation error `max|f''| step^2 / 24` (0.77 for `tanh`, 1.9 for the soft clipper), so
/// `1/64` keeps both near `1e-5` of the curve's unit scale, which the saturator then divides by
/// its drive.
pub const ILL_CONDITIONED_STEP: f32 = 1.0 / 64.0;

/// A curve with the antiderivative ADAA needs, split as `F(v) = |v| + G(v)` (up to a constant)
/// so that differences keep their precision in `f32` (see the module docs).
pub trait Antiderivative {
    /// The curve `f(v)`.
    fn curve(&self, v: f32) -> f32;
    /// `G(v) = F(v) - |v|` for an antiderivative `F` of [`Self::curve`]; bounded for a
    /// saturating curve.
    fn remainder(&self, v: f32) -> f32;
}

/// Outputs whose steps are checked together: one AVX register of `f32`.
const LANES: usize = 8;

/// Applies first-order ADAA to `v` (curve inputs), writing `out` (`out.len() == v.len()`).
/// `prev` is the curve input before `v[0]` and is updated to the last one; `g` is scratch of
/// at least `v.len()` samples. Branch-free within runs, so the loops vectorise.
///
/// Why runs: oversampled signals move little from one point to the next (at 8x of 48 kHz a
/// full-scale 1 kHz sine steps at most 0.016 per point), so most steps are below
/// [`ILL_CONDITIONED_STEP`] and take the midpoint value, and the antiderivative each quotient
/// needs would be computed only to be discarded. Outputs go in runs of whole groups of
/// [`LANES`]: a run of groups whose every step is ill-conditioned computes only the midpoints;
/// any other run computes every output's quotient and midpoint and selects, as the per-sample
/// definition does. Each output is the same function of the same two inputs either way, so the
/// result is bit-identical to that definition (tested).
#[inline(always)]
pub fn process_block<A: Antiderivative>(
    a: &A,
    prev: &mut f32,
    v: &[f32],
    g: &mut [f32],
    out: &mut [f32],
) {
    let n = v.len();
    let Some(&last) = v.last() else {
        return;
    };
    let (g, out) = (&mut g[..n], &mut out[..n]);
    out[0] = quotient(a, *prev, v[0], a.remainder(*prev), a.remainder(v[0]));
    // Output i (from 1) is made from v[i - 1] and v[i].
    let group_is_well = |start: usize| {
        let end = (start + LANES).min(n);
        let mut steps = [0.0f32; LANES];
        for (s, w) in steps.iter_mut().zip(v[start - 1..end].windows(2)) {
            *s = w[1] - w[0];
        }
        steps.iter().any(|s| s.abs() >= ILL_CONDITIONED_STEP)
    };
    let mut start = 1;
    while start < n {
        let well = group_is_well(start);
        let mut end = (start + LANES).min(n);
        while end < n && group_is_well(end) == well {
            end = (end + LANES).min(n);
        }
        let (before, now) = (&v[start - 1..end - 1], &v[start..end]);
        let run = &mut out[start..end];
        if well {
            let g = &mut g[start - 1..end];
            for (gi, &vi) in g.iter_mut().zip(&v[start - 1..end]) {
                *gi = a.remainder(vi);
            }
            // Equal-length slices zipped, so the loop has no bounds checks and vectorises.
            for ((((o, &v0), &v1), &g0), &g1) in run
                .iter_mut()
                .zip(before)
                .zip(now)
                .zip(&g[..end - start])
                .zip(&g[1..])
            {
                *o = quotient(a, v0, v1, g0, g1);
            }
        } else {
            for ((o, &v0), &v1) in run.iter_mut().zip(before).zip(now) {
                *o = a.curve(0.5 * (v0 + v1));
            }
        }
        start = end;
    }
    *prev = last;
}

#[inline(always)]
fn quotient<A: Antiderivative>(a: &A, v0: f32, v1: f32, g0: f32, g1: f32) -> f32 {
    let step = v1 - v0;
    let well = step.abs() >= ILL_CONDITIONED_STEP;
    // A harmless divisor where the midpoint is used, so no lane divides by zero.
    let divisor = if well { step } else { 1.0 };
    let q = ((v1.abs() - v0.abs()) + (g1 - g0)) / divisor;
    let mid = a.curve(0.5 * (v0 + v1));
    if well {
        q
    } else {
        mid
    }
}

/// Taps (oldest first, symmetric, so linear phase with a delay of 1.5 samples) of the FIR that,
/// run at the ADAA's rate just before it, makes "filter, then ADAA" a delay of exactly two
/// samples with a flat response at low frequencies: the maximally flat fit of the inverse of the
/// two-sample mean. With taps `[a, b, b, a]` the cascade's response is
/// `e^(-2 i w) (b + (a + b) cos w + a cos 2w)`; unity at `w = 0` and a zero second derivative
/// give `a = -1/8`, `b = 5/8`, and the remaining error is `-w^4 / 16 + O(w^6)`: at 8x of
/// 48 kHz (where the saturator runs it) 5e-5 at 10 kHz and 8e-4 (-0.007 dB) at 20.6 kHz, the
/// top of the oversampler's passband (at 4x: 7e-4 and 1.3 %).
pub const COMPENSATION_TAPS: [f32; 4] = [-0.125, 0.625, 0.625, -0.125];

/// Delay of [`COMPENSATION_TAPS`] followed by [`process_block`], in samples at their rate.
pub const COMPENSATED_DELAY_SAMPLES: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(v) = 3v` with `F = 3v^2/2 = |v| + G`: the quotient is exactly the mean of the two
    /// values, `3 (v[n] + v[n-1]) / 2`, whatever the step.
    struct Linear;
    impl Antiderivative for Linear {
        fn curve(&self, v: f32) -> f32 {
            3.0 * v
        }
        fn remainder(&self, v: f32) -> f32 {
            1.5 * v * v - v.abs()
        }
    }

    #[test]
    fn adaa_of_a_linear_curve_is_the_two_sample_mean() {
        let v: Vec<f32> = (0..100)
            .map(|i| ((i * 37) % 23) as f32 * 0.125 - 1.0)
            .collect();
        let mut g = vec![0.0; v.len()];
        let mut out = vec![0.0; v.len()];
        let mut prev = 0.5;
        process_block(&Linear, &mut prev, &v, &mut g, &mut out);
        assert_eq!(prev, *v.last().unwrap());
        for i in 0..v.len() {
            let before = if i == 0 { 0.5 } else { v[i - 1] };
            let mean = 1.5 * (before + v[i]);
            assert!((out[i] - mean).abs() < 2e-5, "{i}: {} vs {mean}", out[i]);
        }
    }

    /// The grouped block equals the per-sample definition bit for bit: every output is
    /// `quotient` of its two inputs with their remainders, whichever way its group went. Run on
    /// a signal that mixes groups of small steps, large steps and both, block lengths that cut
    /// groups anywhere, and the soft clipper's real antiderivative.
    #[test]
    fn grouped_block_is_bit_identical_to_the_per_sample_definition() {
        let shape = crate::saturation::antiderivative::SoftClip {
            table: crate::saturation::antiderivative::soft_clip_table(),
        };
        let mut seed = 0x2545_f491_u32;
        let mut noise = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as f32 / u32::MAX as f32 - 0.5
        };
        // A slow sine (steps 0.005-0.01, ill-conditioned), bursts of noise (well-conditioned)
        // and single jumps inside otherwise slow stretches.
        let v: Vec<f32> = (0..4000)
            .map(|i| {
                let slow = 1.5 * (i as f32 * 0.004).sin();
                let burst = if (i / 300) % 3 == 1 {
                    0.8 * noise()
                } else {
                    0.0
                };
                let jump = if i % 97 == 0 { 0.5 } else { 0.0 };
                slow + burst + jump
            })
            .collect();
        let mut expected = Vec::with_capacity(v.len());
        let mut before = 0.25f32;
        for &x in &v {
            expected.push(quotient(
                &shape,
                before,
                x,
                shape.remainder(before),
                shape.remainder(x),
            ));
            before = x;
        }
        let (mut ill_groups, mut well_groups) = (0, 0);
        for w in v.windows(LANES + 1).step_by(LANES) {
            if w.windows(2)
                .all(|p| (p[1] - p[0]).abs() < ILL_CONDITIONED_STEP)
            {
                ill_groups += 1;
            } else {
                well_groups += 1;
            }
        }
        assert!(
            ill_groups > 100 && well_groups > 100,
            "{ill_groups} {well_groups}"
        );
        for block in [1, 5, 8, 13, 64, 4000] {
            let mut out = vec![0.0f32; v.len()];
            let mut g = vec![0.0f32; block];
            let mut prev = 0.25f32;
            for (vs, os) in v.chunks(block).zip(out.chunks_mut(block)) {
                process_block(&shape, &mut prev, vs, &mut g, os);
            }
            for (i, (a, b)) in out.iter().zip(&expected).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "block {block}, sample {i}");
            }
        }
    }

    /// `f(v) = v^2` (`F = v^3/3`): the quotient is `(v0^2 + v0 v1 + v1^2) / 3`; below the
    /// ill-conditioned step the midpoint `((v0 + v1)/2)^2` is within `step^2 / 12`.
    struct Square;
    impl Antiderivative for Square {
        fn curve(&self, v: f32) -> f32 {
            v * v
        }
        fn remainder(&self, v: f32) -> f32 {
            v * v * v / 3.0 - v.abs()
        }
    }

    #[test]
    fn adaa_matches_the_exact_mean_of_a_quadratic() {
        for &(v0, v1) in &[
            (0.0f32, 1.0f32),
            (-0.5, 0.75),
            (0.3, 0.3 + 1e-3),
            (0.2, 0.2),
        ] {
            let mut prev = v0;
            let mut g = [0.0];
            let mut out = [0.0];
            process_block(&Square, &mut prev, &[v1], &mut g, &mut out);
            let exact = (v0 * v0 + v0 * v1 + v1 * v1) / 3.0;
            let tol = if (v1 - v0).abs() < ILL_CONDITIONED_STEP {
                (v1 - v0).powi(2) / 12.0 + 1e-7
            } else {
                1e-6
            };
            assert!((out[0] - exact).abs() <= tol, "{v0} {v1}: {}", out[0]);
        }
    }

    /// The compensation followed by the two-sample mean of ADAA on a linear curve is a delay of
    /// two samples: an impulse comes out as the analytic five-tap response
    /// `[-1/16, 1/4, 5/8, 1/4, -1/16]` (peak at 2), whose spectrum is `-w^4/16` from flat.
    #[test]
    fn compensation_and_adaa_are_a_two_sample_delay() {
        let mut x = [0.0f32; 16];
        x[3] = 1.0;
        let mut v = [0.0f32; 13];
        crate::oversampling::fir_block(&x, &COMPENSATION_TAPS, &mut v);
        let mut g = [0.0f32; 13];
        let mut y = [0.0f32; 13];
        let mut prev = 0.0;
        struct Unit;
        impl Antiderivative for Unit {
            fn curve(&self, v: f32) -> f32 {
                v
            }
            fn remainder(&self, v: f32) -> f32 {
                0.5 * v * v - v.abs()
            }
        }
        process_block(&Unit, &mut prev, &v, &mut g, &mut y);
        // The input sits at index 3 of x; fir_block's output i reads x[i..i + 4].
        let expected = [-1.0 / 16.0, 0.25, 0.625, 0.25, -1.0 / 16.0];
        for (i, &e) in expected.iter().enumerate() {
            assert!((y[i] - e).abs() < 1e-6, "{i}: {}", y[i]);
        }
        assert!(y[5..].iter().all(|&s| s.abs() < 1e-6));
        // Spectrum: 5/8 + cos(w)/2 - cos(2w)/8 = 1 - w^4/16 + ...
        for hz in [1_000.0f64, 10_000.0, 20_640.0] {
            let w = 2.0 * std::f64::consts::PI * hz / 192_000.0;
            let h = 0.625 + 0.5 * w.cos() - 0.125 * (2.0 * w).cos();
            assert!(
                (h - 1.0 + w.powi(4) / 16.0).abs() < w.powi(6) / 20.0,
                "{hz}: {h}"
            );
        }
    }
}
