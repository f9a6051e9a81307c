//! 2x / 4x oversampling by cascaded polyphase half-band FIR filters.
//!
//! A half-band lowpass (cut-off at a quarter of the higher rate) has every other tap zero apart
//! from the centre tap of 1/2 (Vaidyanathan, "Multirate Systems and Filter Banks", 1993, §4.6;
//! the structure used by HIIR, lsp-dsp-units' `Oversampler` and JUCE's `Oversampling` FIR
//! mode). In polyphase form the interpolator's odd phase is a pure delay and the decimator's odd
//! phase a single multiply, so each 2x stage costs one short dot product per input sample. The
//! taps are a Kaiser-windowed sinc (J. F. Kaiser, "Nonrecursive digital filter design using the
//! I0-sinh window function", 1974), with the window's beta and the length chosen from the
//! stopband attenuation and transition width by Kaiser's formulas.
//!
//! Linear phase, so the round trip is a pure delay: a stage of `N = 4k + 3` taps delays by
//! `2k + 1` samples at the higher rate on each side. For 4x the inner stage's round trip is an
//! odd number of 2x samples, so one extra 2x-rate sample of delay makes the total a whole number
//! of base-rate samples, reported by [`Oversampler::latency_samples`]. A caller whose processing
//! between the two directions delays by a known number of oversampled samples declares it with
//! [`Oversampler::set_inner_delay`]; the padding then covers only what is still missing (for
//! 4x, an inner delay of two samples makes the round trip whole by itself) and the latency
//! includes it.
//!
//! Design targets: the first stage passes up to 0.43 of the base rate (20.6 kHz at 48 kHz) and
//! rejects images from 0.57 of the base rate with 100 dB, the second stage (which only has to
//! reject the images of an already band-limited signal) uses the same attenuation with a wide
//! transition band and so stays short.
//!
//! Speed: the FIR kernel computes 32 outputs at a time with each tap broadcast, so four
//! independent 8-lane accumulators hide the add latency. On x86-64 CPUs with AVX and FMA
//! (detected at run time; AVX2 is not needed) the oversampler's stages run on 8-lane registers with fused
//! multiply-adds; that changes results only by rounding (about 1e-7 relative), and on one
//! machine every block split still gives the same bits. `fir_block`, shared with the limiter,
//! never fuses, so its bits are the same on every CPU.

/// Stopband attenuation of every stage, in dB.
pub const STOPBAND_DB: f64 = 100.0;
/// Passband edge of the first stage as a fraction of the base sample rate.
pub const PASSBAND_OF_BASE_RATE: f64 = 0.43;
/// Largest oversampling factor.
pub const MAX_FACTOR: usize = 4;

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..200 {
        term *= 0.5 * x / k as f64;
        sum += term * term;
        if term * term < sum * 1e-18 {
            break;
        }
    }
    sum
}

/// Kaiser window beta for a stopband attenuation in dB (Kaiser 1974).
fn kaiser_beta(stopband_db: f64) -> f64 {
    if stopband_db > 50.0 {
        0.1102 * (stopband_db - 8.7)
    } else if stopband_db > 21.0 {
        0.5842 * (stopband_db - 21.0).powf(0.4) + 0.078_86 * (stopband_db - 21.0)
    } else {
        0.0
    }
}

/// Linear-phase lowpass of `num_taps` taps (odd) with its -6 dB point at `cutoff` (fraction
/// of the sample rate), Kaiser-windowed for `stopband_db`, normalised to unity DC gain. Its
/// delay is `(num_taps - 1) / 2` samples.
pub fn design_lowpass(num_taps: usize, cutoff: f64, stopband_db: f64) -> Vec<f64> {
    let n = num_taps | 1;
    let centre = (n - 1) as f64 / 2.0;
    let beta = kaiser_beta(stopband_db);
    let i0_beta = bessel_i0(beta);
    let mut h: Vec<f64> = (0..n)
        .map(|i| {
            let m = i as f64 - centre;
            let sinc = if m == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * m).sin() / (std::f64::consts::PI * m)
            };
            let r = if centre > 0.0 { m / centre } else { 0.0 };
            sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta
        })
        .collect();
    let sum: f64 = h.iter().sum();
    for t in &mut h {
        *t /= sum;
    }
    h
}

/// Half-band taps for a passband edge `pass` (fraction of the higher rate, below 1/4), by the
/// Kaiser window method. Returns the full symmetric impulse response of `4k + 3` taps with the
/// centre tap exactly 1/2 and every other tap exactly zero; each polyphase branch sums to 1/2.
pub fn design_halfband(pass: f64, stopband_db: f64) -> Vec<f64> {
    let transition = (0.5 - 2.0 * pass).max(0.01); // stop edge 0.5 - pass, as fraction of rate
    let beta = kaiser_beta(stopband_db);
    let est = (stopband_db - 8.0) / (2.285 * 2.0 * std::f64::consts::PI * transition);
    // Round up to the next length of the form 4k + 3.
    let k = ((est.ceil() as usize).saturating_sub(3)).div_ceil(4);
    let n = 4 * k + 3;
    let centre = (n - 1) / 2;
    let i0_beta = bessel_i0(beta);
    let mut h = vec![0.0f64; n];
    for (i, tap) in h.iter_mut().enumerate() {
        let m = i as f64 - centre as f64;
        let offset = i as isize - centre as isize;
        if offset == 0 {
            *tap = 0.5;
        } else if offset % 2 == 0 {
            *tap = 0.0;
        } else {
            let x = 0.5 * m * std::f64::consts::PI;
            let r = m / centre as f64;
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
            *tap = 0.5 * x.sin() / x * w;
        }
    }
    // Normalise the non-centre branch to 1/2 so DC passes at exactly unity.
    let sum: f64 = h.iter().step_by(2).sum();
    for tap in h.iter_mut().step_by(2) {
        *tap *= 0.5 / sum;
    }
    h
}

/// Magnitude response of a tap set at `f` (fraction of the rate the taps run at).
pub fn fir_magnitude(taps: &[f64], f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &t) in taps.iter().enumerate() {
        re += t * (w * i as f64).cos();
        im -= t * (w * i as f64).sin();
    }
    (re * re + im * im).sqrt()
}

/// Dot product with eight independent accumulators, so it vectorises without fast-math.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let mut s = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `c + a * b`, fused (one rounding) when `FMA` is set. Only instantiated with `FMA = true`
/// inside functions compiled with the `fma` target feature, where it is one instruction.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        c + a * b
    }
}

/// Outputs of `out[i] = sum_t taps[t] * x[i + t]` computed `LANES` at a time from `*i` on,
/// each tap broadcast across the lanes. Every output is summed in tap order whatever group it
/// falls in, so results do not depend on where block boundaries fall.
#[inline(always)]
fn fir_group<const LANES: usize, const FMA: bool>(
    x: &[f32],
    taps: &[f32],
    out: &mut [f32],
    i: &mut usize,
) {
    let m = taps.len();
    while *i + LANES <= out.len() {
        let xw = &x[*i..*i + m + LANES - 1];
        let mut acc = [0.0f32; LANES];
        for (t, &h) in taps.iter().enumerate() {
            let xs: &[f32; LANES] = xw[t..t + LANES].try_into().expect("LANES samples");
            for j in 0..LANES {
                acc[j] = madd::<FMA>(h, xs[j], acc[j]);
            }
        }
        out[*i..*i + LANES].copy_from_slice(&acc);
        *i += LANES;
    }
}

/// The block FIR of [`fir_block`], with or without fused multiply-adds. 64 outputs at a time
/// keep eight 8-lane accumulators in flight: two FMA units with a latency of four cycles need
/// eight independent chains to stay busy (four, at 32 outputs, left half of them idle: the
/// oversampler ran 1.5x slower).
#[inline(always)]
fn fir_kernel<const FMA: bool>(x: &[f32], taps: &[f32], out: &mut [f32]) {
    assert!(x.len() + 1 >= out.len() + taps.len(), "FIR input too short");
    let mut i = 0;
    fir_group::<64, FMA>(x, taps, out, &mut i);
    fir_group::<32, FMA>(x, taps, out, &mut i);
    fir_group::<8, FMA>(x, taps, out, &mut i);
    fir_group::<1, FMA>(x, taps, out, &mut i);
}

/// [`fir_kernel`] without FMA compiled for AVX: the same IEEE multiplies and adds in the same
/// order as the baseline build, so the same bits, on 8-lane registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn fir_block_avx(x: &[f32], taps: &[f32], out: &mut [f32]) {
    fir_kernel::<false>(x, taps, out);
}

/// Block FIR: `out[i] = sum_t taps[t] * x[i + t]` (taps oldest-first), needing
/// `x.len() >= out.len() + taps.len() - 1`. Each output is a plain multiply-then-add sum in tap
/// order (no fused multiply-add), so the result is bit-identical on every CPU and for every
/// block split.
#[inline]
pub(crate) fn fir_block(x: &[f32], taps: &[f32], out: &mut [f32]) {
    crate::simd::dispatch! {
        avx => fir_block_avx(x, taps, out),
        _ => fir_kernel::<false>(x, taps, out),
    }
}

/// One half-band 2x stage for one channel. Histories are linear buffers: the last
/// `len - 1` samples of the previous call followed by the new block, so every filter window is
/// a plain slice.
#[derive(Clone, Debug)]
struct Stage {
    /// Non-zero (even-index) taps in time-reversed (oldest-first) order; upsampling scales
    /// them by 2.
    taps_up: Vec<f32>,
    taps_down: Vec<f32>,
    /// `k` of `N = 4k + 3`: the odd phase is a delay of `k` samples.
    k: usize,
    /// Input history + block (interpolator).
    up_buf: Vec<f32>,
    /// Even-phase output of the interpolator for one block.
    up_even: Vec<f32>,
    /// Even input samples history + block (decimator).
    down_even: Vec<f32>,
    /// Odd input samples: `k + 1` of history + block.
    down_odd: Vec<f32>,
}

impl Stage {
    fn new(taps: &[f64], max_block: usize) -> Self {
        let n = taps.len();
        let k = (n - 3) / 4;
        let even: Vec<f64> = taps.iter().step_by(2).copied().collect();
        let taps_down: Vec<f32> = even.iter().rev().map(|&t| t as f32).collect();
        let taps_up: Vec<f32> = even.iter().rev().map(|&t| (2.0 * t) as f32).collect();
        let m = even.len(); // 2k + 2
        Self {
            taps_up,
            taps_down,
            k,
            up_buf: vec![0.0; m - 1 + max_block],
            up_even: vec![0.0; max_block],
            down_even: vec![0.0; m - 1 + max_block],
            down_odd: vec![0.0; k + 1 + max_block],
        }
    }

    fn reset(&mut self) {
        self.up_buf.fill(0.0);
        self.down_even.fill(0.0);
        self.down_odd.fill(0.0);
    }

    /// Round-trip delay at the higher rate.
    fn round_trip(&self) -> usize {
        2 * (2 * self.k + 1)
    }

    /// `output.len() == 2 * input.len()`, `input.len()` at most the block size given to `new`.
    #[inline(always)]
    fn upsample<const FMA: bool>(&mut self, input: &[f32], output: &mut [f32]) {
        let n = input.len();
        let h = self.taps_up.len() - 1;
        self.up_buf[h..h + n].copy_from_slice(input);
        fir_kernel::<FMA>(&self.up_buf[..h + n], &self.taps_up, &mut self.up_even[..n]);
        // Odd phase: the input delayed by k samples.
        let odd = &self.up_buf[h - self.k..h - self.k + n];
        for ((y, &e), &o) in output.chunks_exact_mut(2).zip(&self.up_even[..n]).zip(odd) {
            y[0] = e;
            y[1] = o;
        }
        self.up_buf.copy_within(n..n + h, 0);
    }

    /// `input.len() == 2 * output.len()`.
    #[inline(always)]
    fn downsample<const FMA: bool>(&mut self, input: &[f32], output: &mut [f32]) {
        let n = output.len();
        let h = self.taps_down.len() - 1;
        let k1 = self.k + 1;
        for ((e, o), u) in self.down_even[h..h + n]
            .iter_mut()
            .zip(self.down_odd[k1..k1 + n].iter_mut())
            .zip(input.chunks_exact(2))
        {
            *e = u[0];
            *o = u[1];
        }
        fir_kernel::<FMA>(&self.down_even[..h + n], &self.taps_down, output);
        // Centre tap 1/2 on u[2n - 2k - 1], the odd sample of the pair k + 1 pairs ago.
        for (y, &o) in output.iter_mut().zip(&self.down_odd[..n]) {
            *y += 0.5 * o;
        }
        self.down_even.copy_within(n..n + h, 0);
        self.down_odd.copy_within(n..n + k1, 0);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn stage_up_avx_fma(stage: &mut Stage, input: &[f32], output: &mut [f32]) {
    stage.upsample::<true>(input, output);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn stage_down_avx_fma(stage: &mut Stage, input: &[f32], output: &mut [f32]) {
    stage.downsample::<true>(input, output);
}

/// Per-channel state of an oversampler.
#[derive(Clone, Debug)]
struct Channel {
    first: Stage,
    second: Stage,
    /// The optional third stage on the 4x stream ([`Oversampler::upsample_extra`]).
    third: Stage,
    /// The one 2x-rate sample that makes the 4x round trip a whole number of base samples.
    align: f32,
}

/// Multichannel 1x/2x/4x oversampler. The caller upsamples a block, processes the
/// oversampled samples, and downsamples them back; both directions are needed for the latency
/// to hold.
#[derive(Clone, Debug)]
pub struct Oversampler {
    factor: usize,
    channels: Vec<Channel>,
    /// 2x-rate scratch for the 4x cascade.
    scratch: Vec<f32>,
    first_taps: Vec<f64>,
    second_taps: Vec<f64>,
    third_taps: Vec<f64>,
    /// Delay in oversampled samples that the caller's processing adds between `upsample` and
    /// `downsample` (even).
    inner_delay: usize,
}

impl Oversampler {
    /// Allocates an oversampler for `num_channels` channels and blocks of up to
    /// `max_block` base-rate samples. `factor` is 1, 2 or 4 (others round to the nearest).
    pub fn new(num_channels: usize, max_block: usize, factor: usize) -> Self {
        let first_taps = design_halfband(PASSBAND_OF_BASE_RATE / 2.0, STOPBAND_DB);
        let second_taps = design_halfband(PASSBAND_OF_BASE_RATE / 4.0, STOPBAND_DB);
        let third_taps = design_halfband(PASSBAND_OF_BASE_RATE / 8.0, STOPBAND_DB);
        let ch = Channel {
            first: Stage::new(&first_taps, max_block.max(1)),
            second: Stage::new(&second_taps, 2 * max_block.max(1)),
            third: Stage::new(&third_taps, 4 * max_block.max(1)),
            align: 0.0,
        };
        Self {
            factor: Self::valid_factor(factor),
            channels: vec![ch; num_channels.max(1)],
            scratch: vec![0.0; 2 * max_block.max(1)],
            first_taps,
            second_taps,
            third_taps,
            inner_delay: 0,
        }
    }

    /// Declares that the caller's processing between [`Self::upsample`] and
    /// [`Self::downsample`] delays by `samples` oversampled samples (rounded up to even), so
    /// [`Self::latency_samples`] includes it and the 4x padding sample is used only where the
    /// total is not yet a whole number of base samples. Resets.
    pub fn set_inner_delay(&mut self, samples: usize) {
        self.inner_delay = samples.next_multiple_of(2);
        self.reset();
    }

    /// Whether the 4x round trip needs the one padding sample at 2x (see the module docs).
    fn pads(&self) -> bool {
        let c = &self.channels[0];
        let total = 2 * c.first.round_trip() + c.second.round_trip() + self.inner_delay;
        !total.is_multiple_of(4)
    }

    /// The factor actually used for a requested one (1, 2 or 4).
    pub fn valid_factor(factor: usize) -> usize {
        match factor {
            0 | 1 => 1,
            2 | 3 => 2,
            _ => 4,
        }
    }

    /// Oversampling factor in use.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Changes the factor (1, 2 or 4) and resets; the latency changes with it.
    pub fn set_factor(&mut self, factor: usize) {
        self.factor = Self::valid_factor(factor);
        self.reset();
    }

    /// Largest base-rate block `upsample`/`downsample` accept.
    pub fn max_block(&self) -> usize {
        self.scratch.len() / 2
    }

    /// Clears all filter state.
    pub fn reset(&mut self) {
        for c in &mut self.channels {
            c.first.reset();
            c.second.reset();
            c.third.reset();
            c.align = 0.0;
        }
    }

    /// Taps of the first (base to 2x) stage, for response plots and tests.
    pub fn first_stage_taps(&self) -> &[f64] {
        &self.first_taps
    }

    /// Taps of the second (2x to 4x) stage.
    pub fn second_stage_taps(&self) -> &[f64] {
        &self.second_taps
    }

    /// Taps of the optional third (4x to 8x) stage.
    pub fn third_stage_taps(&self) -> &[f64] {
        &self.third_taps
    }

    /// Round-trip delay of the third stage ([`Self::upsample_extra`] then
    /// [`Self::downsample_extra`]) in samples of the 8x stream.
    pub fn extra_round_trip(&self) -> usize {
        self.channels[0].third.round_trip()
    }

    /// Clears the third stage's state of `channel`.
    pub fn reset_extra(&mut self, channel: usize) {
        self.channels[channel].third.reset();
    }

    /// One more half-band 2x stage on a 4x stream (8x), for processing that needs it only
    /// some of the time: `output.len() == 2 * input.len()`, `input.len()` at most four times
    /// [`Self::max_block`]. Its round trip ([`Self::extra_round_trip`]) is the caller's to
    /// declare with [`Self::set_inner_delay`]. Its passband is the first stage's, so the
    /// whole chain's response is unchanged; only its stopband (100 dB) matters.
    pub fn upsample_extra(&mut self, channel: usize, input: &[f32], output: &mut [f32]) {
        let third = &mut self.channels[channel].third;
        crate::simd::dispatch! {
            avx_fma => stage_up_avx_fma(third, input, output),
            _ => third.upsample::<false>(input, output),
        }
    }

    /// The way back of [`Self::upsample_extra`]: `input.len() == 2 * output.len()`.
    pub fn downsample_extra(&mut self, channel: usize, input: &[f32], output: &mut [f32]) {
        let third = &mut self.channels[channel].third;
        crate::simd::dispatch! {
            avx_fma => stage_down_avx_fma(third, input, output),
            _ => third.downsample::<false>(input, output),
        }
    }

    /// Round-trip latency (upsample then downsample, plus the declared inner delay) in
    /// base-rate samples.
    pub fn latency_samples(&self) -> usize {
        let c = &self.channels[0];
        match self.factor {
            1 => 0,
            2 => (c.first.round_trip() + self.inner_delay).div_ceil(2),
            _ => {
                let pad = if self.pads() { 2 } else { 0 };
                (2 * c.first.round_trip() + c.second.round_trip() + self.inner_delay + pad) / 4
            }
        }
    }

    /// Upsamples `input` of `channel` into `output` (`factor * input.len()` samples).
    /// `input.len()` must not exceed [`Self::max_block`].
    pub fn upsample(&mut self, channel: usize, input: &[f32], output: &mut [f32]) {
        crate::simd::dispatch! {
            avx_fma => self.upsample_avx_fma(channel, input, output),
            _ => self.upsample_impl::<false>(channel, input, output),
        }
    }

    /// Downsamples `input` (`factor * output.len()` samples) of `channel` into `output`.
    pub fn downsample(&mut self, channel: usize, input: &[f32], output: &mut [f32]) {
        crate::simd::dispatch! {
            avx_fma => self.downsample_avx_fma(channel, input, output),
            _ => self.downsample_impl::<false>(channel, input, output),
        }
    }

    // Float-only kernels: AVX (256-bit float lanes) and FMA are all they need, so CPUs with
    // AVX but without AVX2 take this path too.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,fma")]
    unsafe fn upsample_avx_fma(&mut self, channel: usize, input: &[f32], output: &mut [f32]) {
        self.upsample_impl::<true>(channel, input, output);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,fma")]
    unsafe fn downsample_avx_fma(&mut self, channel: usize, input: &[f32], output: &mut [f32]) {
        self.downsample_impl::<true>(channel, input, output);
    }

    #[inline(always)]
    fn upsample_impl<const FMA: bool>(
        &mut self,
        channel: usize,
        input: &[f32],
        output: &mut [f32],
    ) {
        let n = input.len();
        let ch = &mut self.channels[channel];
        match self.factor {
            1 => output[..n].copy_from_slice(input),
            2 => ch.first.upsample::<FMA>(input, &mut output[..2 * n]),
            _ => {
                let mid = &mut self.scratch[..2 * n];
                ch.first.upsample::<FMA>(input, mid);
                ch.second.upsample::<FMA>(mid, &mut output[..4 * n]);
            }
        }
    }

    #[inline(always)]
    fn downsample_impl<const FMA: bool>(
        &mut self,
        channel: usize,
        input: &[f32],
        output: &mut [f32],
    ) {
        let n = output.len();
        let pads = self.factor == 4 && self.pads();
        let ch = &mut self.channels[channel];
        match self.factor {
            1 => output.copy_from_slice(&input[..n]),
            2 => ch.first.downsample::<FMA>(&input[..2 * n], output),
            _ => {
                let mid = &mut self.scratch[..2 * n];
                ch.second.downsample::<FMA>(&input[..4 * n], mid);
                // Delay the 2x stream by one sample (see the module docs); a block move, not a
                // chain of swaps through `align`.
                if let (true, Some(&last)) = (pads, mid.last()) {
                    mid.copy_within(..2 * n - 1, 1);
                    mid[0] = ch.align;
                    ch.align = last;
                }
                ch.first.downsample::<FMA>(mid, output);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fir_block` (vector groups of 32 and 8, scalar tail) equals the plain multiply-then-add
    /// sum in tap order bit for bit, for every output count around the group sizes.
    #[test]
    fn fir_block_is_bit_exact_with_the_plain_sum() {
        let taps: Vec<f32> = (0..37)
            .map(|i| ((i * 7919) % 101) as f32 / 101.0 - 0.5)
            .collect();
        let x: Vec<f32> = (0..200)
            .map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5)
            .collect();
        for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 41, 100, 164] {
            let mut out = vec![0.0f32; n];
            fir_block(&x[..n + taps.len() - 1], &taps, &mut out);
            for (i, &y) in out.iter().enumerate() {
                let mut acc = 0.0f32;
                for (t, &h) in taps.iter().enumerate() {
                    acc += h * x[i + t];
                }
                assert_eq!(y.to_bits(), acc.to_bits(), "n {n} i {i}");
            }
        }
    }

    #[test]
    fn halfband_meets_its_specification() {
        let h = design_halfband(0.215, STOPBAND_DB);
        assert_eq!(h.len() % 4, 3);
        // Passband flat, stopband below -100 dB (Kaiser designs land within about 1 dB of the
        // target, so allow 98).
        for i in 0..=100 {
            let f = 0.215 * i as f64 / 100.0;
            let db = 20.0 * fir_magnitude(&h, f).log10();
            assert!(db.abs() < 1e-3, "pass {f}: {db}");
        }
        for i in 0..=100 {
            let f = 0.285 + (0.5 - 0.285) * i as f64 / 100.0;
            let db = 20.0 * fir_magnitude(&h, f).log10();
            assert!(db < -98.0, "stop {f}: {db}");
        }
    }

    #[test]
    fn round_trip_is_a_pure_delay_of_the_reported_latency() {
        for factor in [2, 4] {
            let mut os = Oversampler::new(1, 64, factor);
            let lat = os.latency_samples();
            let n = 512;
            let mut x = vec![0.0f32; n];
            x[10] = 1.0;
            let mut up = vec![0.0f32; n * factor];
            let mut y = vec![0.0f32; n];
            for (xi, (ui, yi)) in x
                .chunks(64)
                .zip(up.chunks_mut(64 * factor).zip(y.chunks_mut(64)))
            {
                os.upsample(0, xi, ui);
                os.downsample(0, ui, yi);
            }
            let peak = (0..n)
                .max_by(|&a, &b| y[a].abs().partial_cmp(&y[b].abs()).unwrap())
                .unwrap();
            assert_eq!(peak, 10 + lat, "factor {factor}");
            // Linear phase: symmetric about the peak.
            for d in 1..20 {
                assert!(
                    (y[peak - d] - y[peak + d]).abs() < 1e-6,
                    "factor {factor} d {d}"
                );
            }
        }
    }

    /// A declared inner delay (here the stream delayed by 2 or 4 samples at the oversampled
    /// rate) is part of the reported latency, and the impulse still lands on it exactly.
    #[test]
    fn inner_delay_is_part_of_the_latency() {
        // 2x: one more base sample; 4x: two inner samples replace the padding (the latency
        // stays), four need it again (one more base sample).
        for (factor, inner, extra) in [(2, 2, 1), (4, 2, 0), (4, 4, 1)] {
            let mut os = Oversampler::new(1, 64, factor);
            let plain = os.latency_samples();
            os.set_inner_delay(inner);
            let lat = os.latency_samples();
            assert_eq!(lat, plain + extra, "factor {factor} inner {inner}");
            let n = 512;
            let mut x = vec![0.0f32; n];
            x[10] = 1.0;
            let mut hist = vec![0.0f32; inner];
            let mut y = vec![0.0f32; n];
            for (xi, yi) in x.chunks(64).zip(y.chunks_mut(64)) {
                let mut up = vec![0.0f32; inner + 64 * factor];
                up[..inner].copy_from_slice(&hist);
                os.upsample(0, xi, &mut up[inner..]);
                hist.copy_from_slice(&up[64 * factor..]);
                os.downsample(0, &up[..64 * factor], yi);
            }
            let peak = (0..n)
                .max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs()))
                .unwrap();
            assert_eq!(peak, 10 + lat, "factor {factor} inner {inner}");
            // Linear phase about the peak: the delay is whole.
            for d in 1..20 {
                assert!(
                    (y[peak - d] - y[peak + d]).abs() < 1e-6,
                    "{factor} {inner} d {d}"
                );
            }
        }
    }
}
