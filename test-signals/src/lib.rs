//! Deterministic signals for tests and benchmarks, so no test file carries its own generator.
//!
//! Every generator is reproducible from its seed and needs no RNG crate. Tests assert against
//! margins measured with exactly these signals, so a generator here never changes its output:
//! where two tests drew their noise differently (another shift triple, another mapping to
//! floats, f32 or f64 arithmetic), both variants are kept under their own names rather than
//! merged.
//!
//! Generators (G. Marsaglia, "Xorshift RNGs", J. Stat. Soft. 8(14), 2003; S. Vigna, "An
//! experimental exploration of Marsaglia's xorshift generators, scrambled", ACM TOMS 42(4),
//! 2016):
//! - [`Xorshift32`]: shifts (13, 17, 5), Marsaglia's 32-bit example.
//! - [`Xorshift64`]: shifts (13, 7, 17), one of Marsaglia's 64-bit triples.
//! - [`Xorshift64Star`]: shifts (12, 25, 27) then Vigna's multiplier (xorshift64*).
//! - [`Lcg64`]: Knuth's MMIX linear congruential generator (the PCG multiplier and increment).

use std::f64::consts::PI;

pub mod cpu_time;

/// Marsaglia's xorshift32 with the shift triple (13, 17, 5). A zero state stays zero forever:
/// seed it with a non-zero value (the `noise*` helpers map seed 0 to 1).
#[derive(Debug, Clone)]
pub struct Xorshift32(pub u32);

impl Xorshift32 {
    /// The next state.
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// Next value in [-0.5, 0.5], in f32 (`state / u32::MAX - 0.5`).
    pub fn centred(&mut self) -> f32 {
        self.next_u32() as f32 / u32::MAX as f32 - 0.5
    }

    /// Next value in [-1, 1], in f32 (`state / u32::MAX * 2 - 1`).
    pub fn bipolar(&mut self) -> f32 {
        (self.next_u32() as f32 / u32::MAX as f32) * 2.0 - 1.0
    }

    /// Next value in [-1, 1], computed in f64 and rounded to f32 once (not the same bits as
    /// [`Self::bipolar`]).
    pub fn bipolar_via_f64(&mut self) -> f32 {
        (self.next_u32() as f64 / u32::MAX as f64 * 2.0 - 1.0) as f32
    }
}

/// Marsaglia's 64-bit xorshift with the shift triple (13, 7, 17). Seed it non-zero.
#[derive(Debug, Clone)]
pub struct Xorshift64(pub u64);

impl Xorshift64 {
    /// The next state.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Next value in [-0.5, 0.5): the state's top 24 bits over 2^24, minus 0.5 (exact in f32).
    pub fn centred(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// Vigna's xorshift64*: xorshift (12, 25, 27) scrambled by a multiplication, whose high bits
/// are of better quality than the plain xorshift's. Seed it non-zero.
#[derive(Debug, Clone)]
pub struct Xorshift64Star(pub u64);

impl Xorshift64Star {
    /// Vigna's multiplier.
    const MULTIPLIER: u64 = 0x2545_f491_4f6c_dd1d;

    /// The next output (the state scrambled).
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(Self::MULTIPLIER)
    }

    /// Next value in [-1, 1) in f64: the output's top 53 bits over 2^52, minus 1.
    pub fn bipolar(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Next value in [-1, 1) in f32: the output's top 24 bits over 2^24, times 2, minus 1.
    pub fn bipolar_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Next value uniform in [`lo`, `hi`), from [`Self::bipolar`].
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * 0.5 * (self.bipolar() + 1.0)
    }
}

/// Knuth's MMIX linear congruential generator (multiplier 6364136223846793005, increment
/// 1442695040888963407: the constants PCG builds on).
#[derive(Debug, Clone)]
pub struct Lcg64(pub u64);

impl Lcg64 {
    /// Next value uniform in [0, 1): the state's top 53 bits over 2^53.
    pub fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Next value uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f64 {
        2.0 * self.uniform() - 1.0
    }
}

/// `n` samples of white noise in [-1, 1] from [`Xorshift32::bipolar`] (f32 arithmetic), seed 0
/// taken as 1.
pub fn noise(n: usize, seed: u32) -> Vec<f32> {
    let mut rng = Xorshift32(seed.max(1));
    (0..n).map(|_| rng.bipolar()).collect()
}

/// `n` samples of white noise in [-1, 1] from [`Xorshift32::bipolar_via_f64`] (f64 arithmetic,
/// one rounding), seed 0 taken as 1. Not the same bits as [`noise`].
pub fn noise_via_f64(n: usize, seed: u32) -> Vec<f32> {
    let mut rng = Xorshift32(seed.max(1));
    (0..n).map(|_| rng.bipolar_via_f64()).collect()
}

/// `n` samples of [`Xorshift64::centred`] noise times `scale` (peak `scale / 2`).
pub fn noise64(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = Xorshift64(seed);
    (0..n).map(|_| rng.centred() * scale).collect()
}

/// `n` samples of a sine of `hz` and peak `amp` at `sample_rate_hz`, starting at phase 0,
/// computed in f64.
pub fn sine(n: usize, hz: f64, sample_rate_hz: f64, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * hz * i as f64 / sample_rate_hz).sin()) as f32)
        .collect()
}

/// [`sine`] starting at `phase` radians.
pub fn sine_with_phase(n: usize, hz: f64, sample_rate_hz: f64, amp: f64, phase: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * hz * i as f64 / sample_rate_hz + phase).sin()) as f32)
        .collect()
}

/// Programme-like noise for the benchmarks: [`Xorshift64::centred`] noise plus a low tone,
/// alternating between `loud` and `quiet` every 6,000 samples so dynamics units actually work.
pub fn programme(seed: u64, frames: usize, loud: f32, quiet: f32) -> Vec<f32> {
    let mut rng = Xorshift64(seed);
    (0..frames)
        .map(|i| {
            let noise = rng.centred();
            let env = if (i / 6000) % 2 == 0 { loud } else { quiet };
            env * (noise + 0.5 * (i as f32 * 0.02).sin())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marsaglia's paper gives the xorshift32 example seeded 2463534242; its first output is
    /// 723471715.
    #[test]
    fn xorshift32_follows_marsaglia() {
        assert_eq!(Xorshift32(2_463_534_242).next_u32(), 723_471_715);
    }

    /// First outputs from seed 1, worked by hand from the shift triples (and checked in
    /// Python): (13, 7, 17) gives 1082269761; xorshift64* gives 5180492295206395165.
    #[test]
    fn xorshift64_variants_from_seed_one() {
        assert_eq!(Xorshift64(1).next_u64(), 1_082_269_761);
        assert_eq!(Xorshift64Star(1).next_u64(), 5_180_492_295_206_395_165);
    }

    #[test]
    fn mappings_stay_in_their_ranges() {
        let mut a = Xorshift32(7);
        let mut b = Xorshift64(7);
        let mut c = Xorshift64Star(7);
        let mut d = Lcg64(7);
        for _ in 0..10_000 {
            assert!((-0.5..=0.5).contains(&a.centred()));
            assert!((-1.0..=1.0).contains(&a.bipolar()));
            assert!((-0.5..0.5).contains(&b.centred()));
            assert!((-1.0..1.0).contains(&c.bipolar()));
            assert!((-1.0..1.0).contains(&c.bipolar_f32()));
            assert!((2.0..3.0).contains(&c.range(2.0, 3.0)));
            assert!((0.0..1.0).contains(&d.uniform()));
        }
    }

    /// The two 32-bit noise mappings differ in rounding, not in the stream: within one f32 ulp
    /// of 1.
    #[test]
    fn noise_mappings_share_the_stream() {
        let (a, b) = (noise(1000, 3), noise_via_f64(1000, 3));
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= 2.0 * f32::EPSILON));
        assert_eq!(noise(10, 0), noise(10, 1));
    }

    /// A sine at fs/4 starting at 90 degrees hits +amp, 0, -amp, 0.
    #[test]
    fn sine_with_phase_lands_on_the_crests() {
        let x = sine_with_phase(4, 12_000.0, 48_000.0, 0.5, PI / 2.0);
        assert_eq!(x[0], 0.5);
        assert_eq!(x[2], -0.5);
        assert!(x[1].abs() < 1e-7 && x[3].abs() < 1e-7);
        assert_eq!(
            sine(8, 1_000.0, 48_000.0, 0.5),
            sine_with_phase(8, 1_000.0, 48_000.0, 0.5, 0.0)
        );
    }

    #[test]
    fn programme_alternates_loud_and_quiet() {
        let x = programme(1, 24_000, 1.0, 0.1);
        let peak = |s: &[f32]| s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak(&x[..6000]) > 5.0 * peak(&x[6000..12_000]));
    }
}

/// Stereo drum-like hits over a pad, `seconds` long at `sample_rate_hz`: every 250 ms 8 ms of
/// decaying noise peaking near 0.9 (right channel 0.8 of the left), over two sines (220 and
/// 331 Hz) of peak `pad_gain` and `pad_gain / 2`. The hits make the peaks, the pad the
/// loudness: the case where a clipper beats a limiter at club loudness.
pub fn hits_over_pad(seconds: f64, sample_rate_hz: f64, pad_gain: f32) -> [Vec<f32>; 2] {
    let n = (seconds * sample_rate_hz) as usize;
    let beat = (sample_rate_hz / 4.0) as usize;
    let hit_len = (0.008 * sample_rate_hz) as usize;
    let decay = hit_len as f32 / 4.8;
    let mut noise = Xorshift32(0x2545_f491);
    let mut left = vec![0.0f32; n];
    let mut right = vec![0.0f32; n];
    for i in 0..n {
        let t = i as f64 / sample_rate_hz;
        let pad = pad_gain
            * ((std::f64::consts::TAU * 220.0 * t).sin() as f32
                + 0.5 * (std::f64::consts::TAU * 331.0 * t).sin() as f32);
        let in_beat = i % beat;
        let hit = if in_beat < hit_len {
            0.9 * (-(in_beat as f32) / decay).exp() * noise.bipolar()
        } else {
            0.0
        };
        left[i] = pad + hit;
        right[i] = pad + 0.8 * hit;
    }
    [left, right]
}

/// IEC 61260 nominal 1/3-octave centres (base-10 series) from 50 Hz to 16 kHz: where a
/// match to a spectrum is checked.
pub fn third_octave_centres_50_to_16k() -> Vec<f64> {
    (-13..=12)
        .map(|i| 1000.0 * 10f64.powf(i as f64 / 10.0))
        .collect()
}

/// A stereo master for spectrum comparisons: [`programme`] signals of two seeds, partly
/// correlated between the channels (`0.8 a +- 0.2 b`), `seconds` long at `sample_rate_hz`.
pub fn stereo_programme(seconds: f64, sample_rate_hz: f64) -> [Vec<f32>; 2] {
    let n = (seconds * sample_rate_hz) as usize;
    let a = programme(0x51ab_0c9d, n, 0.5, 0.2);
    let b = programme(0x7e11_4a03, n, 0.5, 0.2);
    let left: Vec<f32> = a.iter().zip(&b).map(|(x, y)| 0.8 * x + 0.2 * y).collect();
    let right: Vec<f32> = a.iter().zip(&b).map(|(x, y)| 0.8 * x - 0.2 * y).collect();
    [left, right]
}
