//! The parametric EQ's still bands: [`StillChain`] collects consecutive bands that hold still
//! (no interpolation, fade or detector this sub-block) as stages, and [`run`] runs them as one
//! skewed pipeline on four `f64` lanes.
//!
//! Each section runs in direct form II (five multiplies; [`DirectForm2`] is the exact
//! realisation of the section's SVF taps, and the parametric EQ maps the integrator states to
//! the delay line when a band stops moving and back when it starts, see
//! [`crate::filter::svf`]). A cascade is a serial recursion, so instead of running section
//! after section on a sample, step `n` runs stage `s` on sample `n - s`: all stages of a step
//! are independent. Stages pair up in 256-bit vectors `[stage j left, stage j right,
//! stage j + J left, stage j + J right]`, so every vector takes its input from the previous
//! vector's output of the last step, and only the first one splices the new sample with the
//! carry from the last vector. The first and last `2 J - 1` steps of a run are the pipeline
//! filling and draining; there, stages outside their samples keep their delay lines.
//!
//! Mid/side bands: a stage may transform its input (`x' = d x + o swap(x)` per lane pair)
//! into or out of M/S before its section, so an M/S band costs no extra stage; two M/S bands
//! in a row decode and encode between them, exactly as the per-sample path does.

use super::band_state::BandState;
use super::parametric::MAX_BANDS;
use crate::filter::coefficients::MAX_SECTIONS;
use crate::filter::DirectForm2;
use crate::simd::{F64x4, BASELINE_FMA};

/// What a stage does to its input before its section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transform {
    None,
    /// L/R -> M/S: `[(l + r) / 2, (l - r) / 2]`.
    Encode,
    /// M/S -> L/R: `[m + s, m - s]`.
    Decode,
}

impl Transform {
    /// Per-lane `(d, o)` of `x' = d x + o swap(x)` for lanes `[0, 1]`.
    fn factors(self) -> ([f64; 2], [f64; 2]) {
        match self {
            Transform::None => ([1.0, 1.0], [0.0, 0.0]),
            Transform::Encode => ([0.5, -0.5], [0.5, 0.5]),
            Transform::Decode => ([1.0, -1.0], [1.0, 1.0]),
        }
    }
}

/// One section of a still chain: its input transform, both lanes' coefficients and delay
/// lines `[w1, w2]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stage {
    pub transform: Transform,
    pub coefs: [DirectForm2; 2],
    pub delay: [[f64; 2]; 2],
}

impl Stage {
    /// A stage that passes its (transformed) input exactly.
    pub const IDENTITY: Self = Self {
        transform: Transform::None,
        coefs: [DirectForm2::IDENTITY; 2],
        delay: [[0.0; 2]; 2],
    };
}

/// Stereo samples a pipeline reads and writes in place.
pub(super) trait PipelineIo {
    fn len(&self) -> usize;
    fn get(&self, n: usize) -> [f64; 2];
    fn set(&mut self, n: usize, v: [f64; 2]);
}

/// The host's `f32` channels, converted on the way in and out (plain casts: [`run_f32`]
/// sanitises before and after, in vectorised passes, instead of per sample in the recursion).
struct StereoF32<'a>(&'a mut [f32], &'a mut [f32]);

impl PipelineIo for StereoF32<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len().min(self.1.len())
    }
    #[inline(always)]
    fn get(&self, n: usize) -> [f64; 2] {
        [self.0[n] as f64, self.1[n] as f64]
    }
    #[inline(always)]
    fn set(&mut self, n: usize, v: [f64; 2]) {
        self.0[n] = v[0] as f32;
        self.1[n] = v[1] as f32;
    }
}

/// [`run`] over the host's channels in place: NaN/Inf input becomes silence, and no NaN,
/// infinity or subnormal leaves.
fn run_f32(stages: &mut [Stage], left: &mut [f32], right: &mut [f32]) {
    let len = left.len().min(right.len());
    let (left, right) = (&mut left[..len], &mut right[..len]);
    crate::util::sanitize(left);
    crate::util::sanitize(right);
    run(stages, &mut StereoF32(left, right));
    crate::util::sanitize(left);
    crate::util::sanitize(right);
}

/// An `f64` working buffer.
pub(super) struct F64Lanes<'a>(pub &'a mut [[f64; 2]]);

impl PipelineIo for F64Lanes<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn get(&self, n: usize) -> [f64; 2] {
        self.0[n]
    }
    #[inline(always)]
    fn set(&mut self, n: usize, v: [f64; 2]) {
        self.0[n] = v;
    }
}

/// Most stages one pass holds. Three vectors of delay lines and outputs (nine registers) leave
/// room for the arithmetic in the sixteen AVX registers; longer passes spill. Measured per
/// stage and second of stereo 48 kHz audio: 27 us at three vectors, 40 us at five, 75 us at
/// eight, so a long chain runs faster as several short passes over an `f64` buffer.
const MAX_PASS_STAGES: usize = 6;
/// Frames of that buffer.
const CHUNK_FRAMES: usize = 512;

/// Runs `stages` in order over `io`, in place, updating their delay lines. Any split of a run
/// into calls, and any split of a chain into passes, gives the same bits.
fn run(stages: &mut [Stage], io: &mut impl PipelineIo) {
    let passes = stages.len().div_ceil(MAX_PASS_STAGES);
    if passes <= 1 {
        run_pass(stages, io);
        return;
    }
    // Balanced passes (seven stages run as 4 + 3, not 6 + 1: a one-vector pass waits on its
    // own recursion).
    let per_pass = stages.len().div_ceil(passes);
    let len = io.len();
    let mut buf = [[0.0f64; 2]; CHUNK_FRAMES];
    let mut start = 0;
    while start < len {
        let n = (len - start).min(CHUNK_FRAMES);
        for (i, v) in buf[..n].iter_mut().enumerate() {
            *v = io.get(start + i);
        }
        for pass in stages.chunks_mut(per_pass) {
            run_pass(pass, &mut F64Lanes(&mut buf[..n]));
        }
        for (i, v) in buf[..n].iter().enumerate() {
            io.set(start + i, *v);
        }
        start += n;
    }
}

/// One pass of at most [`MAX_PASS_STAGES`] stages, as `J` vectors.
fn run_pass(stages: &mut [Stage], io: &mut impl PipelineIo) {
    match stages.len().div_ceil(2) {
        0 => {}
        1 => pass::<1>(stages, io),
        2 => pass::<2>(stages, io),
        3 => pass::<3>(stages, io),
        _ => unreachable!("a pass holds at most {MAX_PASS_STAGES} stages"),
    }
}

/// The stages of a pass laid out in lanes (vector `j` = stages `j` and `j + J`).
struct Vectors<const J: usize> {
    a1: [F64x4; J],
    a2: [F64x4; J],
    b0: [F64x4; J],
    b1: [F64x4; J],
    b2: [F64x4; J],
    tx_d: [F64x4; J],
    tx_o: [F64x4; J],
    has_tx: [bool; J],
    w1: [F64x4; J],
    w2: [F64x4; J],
}

impl<const J: usize> Vectors<J> {
    fn gather(stages: &[Stage]) -> Self {
        let z = [F64x4::default(); J];
        let mut v = Self {
            a1: z,
            a2: z,
            b0: z,
            b1: z,
            b2: z,
            tx_d: z,
            tx_o: z,
            has_tx: [false; J],
            w1: z,
            w2: z,
        };
        for s in 0..2 * J {
            let st = stages.get(s).copied().unwrap_or(Stage::IDENTITY);
            let (j, half) = (s % J, 2 * (s / J));
            let (d, o) = st.transform.factors();
            v.has_tx[j] |= st.transform != Transform::None;
            for lane in 0..2 {
                let c = &st.coefs[lane];
                let i = half + lane;
                v.a1[j].0[i] = c.a1;
                v.a2[j].0[i] = c.a2;
                v.b0[j].0[i] = c.b0;
                v.b1[j].0[i] = c.b1;
                v.b2[j].0[i] = c.b2;
                v.tx_d[j].0[i] = d[lane];
                v.tx_o[j].0[i] = o[lane];
                v.w1[j].0[i] = st.delay[lane][0];
                v.w2[j].0[i] = st.delay[lane][1];
            }
        }
        v
    }

    fn scatter(&self, stages: &mut [Stage]) {
        for (s, st) in stages.iter_mut().enumerate() {
            let (j, half) = (s % J, 2 * (s / J));
            for lane in 0..2 {
                st.delay[lane] = [self.w1[j].0[half + lane], self.w2[j].0[half + lane]];
            }
        }
    }
}

/// Delay lines of a pass, as locals of the kernel so they stay in registers.
struct Delays<const J: usize> {
    w1: [F64x4; J],
    w2: [F64x4; J],
}

/// One pipeline step with input sample `x`; `MASKED` steps (filling and draining a run of
/// `len` samples, at step `n`) leave the delay lines of stages outside their samples.
#[inline(always)]
fn step<const J: usize, const FMA: bool, const MASKED: bool>(
    c: &Vectors<J>,
    d: &mut Delays<J>,
    prev: &mut [F64x4; J],
    x: [f64; 2],
    n: usize,
    len: usize,
) {
    let last = prev[J - 1];
    let mut input = F64x4([x[0], x[1], last.0[0], last.0[1]]);
    // Indexes, not iterators: vector j reads prev[j] before it writes it, and the unrolled
    // loop keeps every array in registers.
    #[allow(clippy::needless_range_loop)]
    for j in 0..J {
        let mut u = input;
        if j + 1 < J {
            input = prev[j];
        }
        if c.has_tx[j] {
            u = c.tx_o[j].mul_add::<FMA>(u.swap_pairs(), c.tx_d[j] * u);
        }
        let (w1, w2) = (d.w1[j], d.w2[j]);
        let p = c.a1[j].mul_add::<FMA>(w1, c.a2[j] * w2);
        let q = c.b1[j].mul_add::<FMA>(w1, c.b2[j] * w2);
        let w = u - p;
        prev[j] = c.b0[j].mul_add::<FMA>(w, q);
        if MASKED {
            // Stage s works on sample n - s, which exists for s <= n < len + s.
            let on = |s: usize| s <= n && n < len + s;
            let m = [on(j), on(j), on(j + J), on(j + J)];
            d.w2[j] = F64x4::select(m, w1, w2);
            d.w1[j] = F64x4::select(m, w, w1);
        } else {
            d.w2[j] = w1;
            d.w1[j] = w;
        }
    }
}

#[inline(always)]
fn kernel<const J: usize, const FMA: bool, IO: PipelineIo>(v: &mut Vectors<J>, io: &mut IO) {
    let len = io.len();
    if len == 0 {
        return;
    }
    let depth = 2 * J - 1;
    let c = &*v;
    let mut d = Delays { w1: c.w1, w2: c.w2 };
    let mut prev = [F64x4::default(); J];
    let input = |io: &IO, n: usize| if n < len { io.get(n) } else { [0.0; 2] };
    let output = |io: &mut IO, prev: &[F64x4; J], n: usize| {
        if n >= depth {
            let y = prev[J - 1];
            io.set(n - depth, [y.0[2], y.0[3]]);
        }
    };
    for n in 0..depth {
        step::<J, FMA, true>(c, &mut d, &mut prev, input(io, n), n, len);
        output(io, &prev, n);
    }
    // Every stage has a sample from step `depth` to step `len - 1`.
    for n in depth..len {
        step::<J, FMA, false>(c, &mut d, &mut prev, io.get(n), n, len);
        let y = prev[J - 1];
        io.set(n - depth, [y.0[2], y.0[3]]);
    }
    for n in depth.max(len)..len + depth {
        step::<J, FMA, true>(c, &mut d, &mut prev, input(io, n), n, len);
        output(io, &prev, n);
    }
    v.w1 = d.w1;
    v.w2 = d.w2;
}

/// [`kernel`] compiled for AVX with fused multiply-add.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn kernel_avx_fma<const J: usize, IO: PipelineIo>(v: &mut Vectors<J>, io: &mut IO) {
    kernel::<J, true, IO>(v, io);
}

fn pass<const J: usize>(stages: &mut [Stage], io: &mut impl PipelineIo) {
    let mut v = Vectors::<J>::gather(stages);
    crate::simd::dispatch! {
        avx_fma => kernel_avx_fma(&mut v, io),
        _ => kernel::<J, BASELINE_FMA, _>(&mut v, io),
    }
    v.scatter(stages);
}

/// Most stages of a still chain: every section, plus an M/S decode after every band.
pub(super) const MAX_STAGES: usize = MAX_BANDS * (MAX_SECTIONS + 1);

/// Consecutive still bands collected as pipeline stages (in `ParametricEq::stages`): the
/// scheduler half of the still path, [`run`] is the kernel half.
pub(super) struct StillChain {
    pub(super) count: usize,
    /// Whether the last band pushed leaves its signal in M/S.
    in_ms: bool,
    /// `(band, section)` of each stage (`u8::MAX` marks the closing decode).
    owners: [(u8, u8); MAX_STAGES],
}

impl StillChain {
    pub(super) fn new() -> Self {
        Self {
            count: 0,
            in_ms: false,
            owners: [(0, 0); MAX_STAGES],
        }
    }

    /// Appends band `bi`'s sections (its state moves to the delay lines).
    pub(super) fn push(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bi: usize,
        band: &mut BandState,
    ) {
        band.enter_direct_form();
        let ms = band.is_ms();
        // Entering or leaving M/S rides on the band's first stage. Two M/S bands in a row
        // still decode and encode between them, as the per-sample path does: the bits must
        // not depend on which bands happen to share a pipeline.
        if self.in_ms && ms {
            self.push_decode(stages);
        }
        let mut transform = match (self.in_ms, ms) {
            (false, true) => Transform::Encode,
            (true, false) => Transform::Decode,
            _ => Transform::None,
        };
        for si in 0..band.sections {
            stages[self.count] = Stage {
                transform,
                coefs: band.direct_form(si),
                delay: band.delay[si],
            };
            self.owners[self.count] = (bi as u8, si as u8);
            self.count += 1;
            transform = Transform::None;
        }
        self.in_ms = ms;
    }

    /// Appends a stage that only decodes M/S back to L/R.
    fn push_decode(&mut self, stages: &mut [Stage; MAX_STAGES]) {
        stages[self.count] = Stage {
            transform: Transform::Decode,
            ..Stage::IDENTITY
        };
        self.owners[self.count] = (u8::MAX, 0);
        self.count += 1;
        self.in_ms = false;
    }

    /// Runs the collected stages over `io`, hands the delay lines back to their bands and
    /// starts a new chain.
    pub(super) fn run(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bands: &mut [BandState; MAX_BANDS],
        io: &mut impl PipelineIo,
    ) {
        self.run_with(stages, bands, |s| run(s, io));
    }

    /// [`Self::run`] over the host's channels.
    pub(super) fn run_f32(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bands: &mut [BandState; MAX_BANDS],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        self.run_with(stages, bands, |s| run_f32(s, left, right));
    }

    fn run_with(
        &mut self,
        stages: &mut [Stage; MAX_STAGES],
        bands: &mut [BandState; MAX_BANDS],
        run: impl FnOnce(&mut [Stage]),
    ) {
        if self.count == 0 {
            return;
        }
        if self.in_ms {
            self.push_decode(stages);
        }
        run(&mut stages[..self.count]);
        for (st, &(b, s)) in stages[..self.count].iter().zip(self.owners.iter()) {
            if b != u8::MAX {
                bands[b as usize].delay[s as usize] = st.delay;
            }
        }
        self.count = 0;
        self.in_ms = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain serial cascade: section after section, sample after sample.
    fn serial(stages: &mut [Stage], x: &mut [[f64; 2]]) {
        for st in stages.iter_mut() {
            for v in x.iter_mut() {
                let u = match st.transform {
                    Transform::None => *v,
                    Transform::Encode => [0.5 * (v[0] + v[1]), 0.5 * (v[0] - v[1])],
                    Transform::Decode => [v[0] + v[1], v[0] - v[1]],
                };
                for lane in 0..2 {
                    let c = &st.coefs[lane];
                    let [w1, w2] = st.delay[lane];
                    let w = u[lane] - c.a1 * w1 - c.a2 * w2;
                    v[lane] = c.b0 * w + c.b1 * w1 + c.b2 * w2;
                    st.delay[lane] = [w, w1];
                }
            }
        }
    }

    /// Allpass sections (unit gain, so rounding differences cannot grow) with M/S moves.
    fn chain(count: usize) -> Vec<Stage> {
        let allpass = |f: f64, r: f64| {
            let a1 = -2.0 * r * (std::f64::consts::TAU * f).cos();
            let a2 = r * r;
            DirectForm2 {
                b0: a2,
                b1: a1,
                b2: 1.0,
                a1,
                a2,
            }
        };
        (0..count)
            .map(|i| {
                let f = 0.02 + 0.013 * i as f64;
                let transform = match i % 5 {
                    1 => Transform::Encode,
                    3 => Transform::Decode,
                    _ => Transform::None,
                };
                Stage {
                    transform,
                    coefs: [allpass(f, 0.9), allpass(1.5 * f, 0.8)],
                    delay: [[0.01 * i as f64, -0.02], [0.0, 0.03]],
                }
            })
            .collect()
    }

    #[test]
    fn pipeline_equals_the_serial_cascade_for_every_length_and_split() {
        for count in [1, 2, 3, 5, 8, 9, 13, 16, 17, 31, 33, 40, 70] {
            for len in [0, 1, 2, 7, 64, 300, 600] {
                let input: Vec<[f64; 2]> = (0..len)
                    .map(|i| [(i as f64 * 0.37).sin(), (i as f64 * 0.11).cos() * 0.5])
                    .collect();
                let mut reference = chain(count);
                let mut expected = input.clone();
                serial(&mut reference, &mut expected);
                // Fused and unfused rounding differ; the chain's gain scales the difference.
                let peak = expected
                    .iter()
                    .flatten()
                    .fold(1.0f64, |m, v| m.max(v.abs()));
                let tol = 1e-12 * peak;
                for split in [len.max(1), 1, 5, 113] {
                    let mut stages = chain(count);
                    let mut x = input.clone();
                    for part in x.chunks_mut(split) {
                        run(&mut stages, &mut F64Lanes(part));
                    }
                    for (a, b) in x.iter().zip(expected.iter()) {
                        for lane in 0..2 {
                            assert!(
                                (a[lane] - b[lane]).abs() < tol,
                                "{count} stages, {len} samples, split {split}: {a:?} vs {b:?}"
                            );
                        }
                    }
                    for (s, r) in stages.iter().zip(reference.iter()) {
                        for lane in 0..2 {
                            for k in 0..2 {
                                let (a, b) = (s.delay[lane][k], r.delay[lane][k]);
                                assert!((a - b).abs() < tol * 1e2, "delay {a} vs {b}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn baseline_build_matches_the_dispatched_one() {
        // Machines without AVX/FMA run the unfused baseline instantiation: same pipeline, so
        // the two differ by rounding only.
        let input: Vec<[f64; 2]> = (0..400)
            .map(|i| [(i as f64 * 0.37).sin(), (i as f64 * 0.21).cos()])
            .collect();
        let mut dispatched = chain(6);
        let mut a = input.clone();
        run(&mut dispatched, &mut F64Lanes(&mut a));
        let stages = chain(6);
        let mut v = Vectors::<3>::gather(&stages);
        let mut b = input.clone();
        kernel::<3, false, _>(&mut v, &mut F64Lanes(&mut b));
        for (x, y) in a.iter().zip(b.iter()) {
            for lane in 0..2 {
                assert!((x[lane] - y[lane]).abs() < 1e-12, "{x:?} vs {y:?}");
            }
        }
        assert_ne!(a, input, "the chain must change the signal");
    }

    #[test]
    fn splitting_a_run_into_calls_gives_the_same_bits() {
        let input: Vec<[f64; 2]> = (0..500)
            .map(|i| [(i as f64 * 0.37).sin(), (i as f64 * 0.21).cos()])
            .collect();
        for count in [3, 10, 40] {
            let mut whole = chain(count);
            let mut a = input.clone();
            run(&mut whole, &mut F64Lanes(&mut a));
            let mut parts = chain(count);
            let mut b = input.clone();
            for part in b.chunks_mut(37) {
                run(&mut parts, &mut F64Lanes(part));
            }
            assert_eq!(a, b);
        }
    }
}
