//! Test signal shared by the benchmarks.

/// Programme-like noise: xorshift noise plus a low tone, alternating between `loud` and `quiet`
/// every 6,000 samples so dynamics units actually work. Deterministic for a given `seed`.
pub fn programme(seed: u64, frames: usize, loud: f32, quiet: f32) -> Vec<f32> {
    let mut s = seed;
    (0..frames)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let env = if (i / 6000) % 2 == 0 { loud } else { quiet };
            env * (noise + 0.5 * (i as f32 * 0.02).sin())
        })
        .collect()
}
