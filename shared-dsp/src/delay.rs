//! Preallocated multichannel integer delay line.
//!
//! Used for lookahead (the limiter and the compressor delay the audio while the detector sees
//! the future) and for aligning dry paths with processed paths that add latency, as
//! nih-plug's `spectral_compressor/dry_wet_mixer.rs` and lsp-dsp-units' `dspu::Delay` do. The
//! buffer is a power-of-two ring sized for the worst case at construction, so changing the delay
//! later never allocates. A delay of `d` samples is exact: output sample `n` is bit-identical to
//! input sample `n - d` (zero before the start), which is what "bit-exact pass-through" in the
//! limiter and the parallel-mix tests rely on.

/// Bad samples (NaN, infinities, subnormals) become silence before they are stored.
#[inline(always)]
fn clean(x: f32) -> f32 {
    if x.is_normal() {
        x
    } else {
        0.0
    }
}

/// A ring-buffer delay of a whole number of samples for up to `num_channels` channels.
#[derive(Debug, Clone)]
pub struct DelayLine {
    /// `num_channels` rings of `capacity` samples each, back to back.
    buffer: Vec<f32>,
    /// Per-channel write positions (channels may be driven independently).
    write_pos: Vec<usize>,
    capacity: usize,
    mask: usize,
    delay_samples: usize,
    max_delay_samples: usize,
}

impl DelayLine {
    /// Allocates a delay line able to delay `num_channels` channels by up to
    /// `max_delay_samples` samples. The initial delay is zero.
    pub fn new(num_channels: usize, max_delay_samples: usize) -> Self {
        let num_channels = num_channels.max(1);
        // One extra slot so that a delay of exactly `max_delay_samples` never overwrites the
        // sample it is about to read; twice the delay so the block path's read and write
        // runs (bounded by the gap between the two positions) stay long.
        let capacity = (2 * max_delay_samples + 1).next_power_of_two();
        Self {
            buffer: vec![0.0; capacity * num_channels],
            write_pos: vec![0; num_channels],
            capacity,
            mask: capacity - 1,
            delay_samples: 0,
            max_delay_samples,
        }
    }

    /// Number of channels the line was built for.
    pub fn num_channels(&self) -> usize {
        self.write_pos.len()
    }

    /// Largest delay, in samples, this line can produce.
    pub fn max_delay_samples(&self) -> usize {
        self.max_delay_samples
    }

    /// Sets the delay in samples, clamped to `max_delay_samples`. Samples already in the ring
    /// stay, so a change takes effect at once (callers change the delay on activation, where a
    /// jump does no harm).
    pub fn set_delay_samples(&mut self, delay_samples: usize) {
        self.delay_samples = delay_samples.min(self.max_delay_samples);
    }

    /// Current delay in samples; equal to the latency the line adds.
    pub fn delay_samples(&self) -> usize {
        self.delay_samples
    }

    /// Latency the line adds, in samples.
    pub fn latency_samples(&self) -> usize {
        self.delay_samples
    }

    /// Clears the stored history to silence.
    pub fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.write_pos.fill(0);
    }

    /// Pushes one sample of `channel` and returns the sample pushed `delay_samples` earlier.
    /// NaN, infinite and subnormal input is stored as silence.
    #[inline]
    pub fn process_sample(&mut self, channel: usize, input: f32) -> f32 {
        let input = clean(input);
        let base = channel * self.capacity;
        let w = self.write_pos[channel];
        self.buffer[base + w] = input;
        let out = self.buffer[base + (w.wrapping_sub(self.delay_samples) & self.mask)];
        self.write_pos[channel] = (w + 1) & self.mask;
        out
    }

    /// Returns the sample pushed `age` samples ago on `channel` (0 = the newest), without
    /// advancing the line. `age` must not exceed `max_delay_samples`.
    #[inline]
    pub fn tap(&self, channel: usize, age: usize) -> f32 {
        let base = channel * self.capacity;
        let newest = self.write_pos[channel].wrapping_sub(1);
        self.buffer[base + (newest.wrapping_sub(age) & self.mask)]
    }

    /// Delays `samples` of `channel` in place.
    pub fn process_block(&mut self, channel: usize, samples: &mut [f32]) {
        if self.delay_samples == 0 {
            // Still record the history, so that a later delay change reads real samples.
            self.push_block(channel, samples);
            return;
        }
        let base = channel * self.capacity;
        let mask = self.mask;
        let delay = self.delay_samples;
        let cap = self.capacity;
        let ring = &mut self.buffer[base..base + cap];
        let mut w = self.write_pos[channel];
        // Runs that wrap neither the write nor the read position and are no longer than the
        // gap between them: the read and write ranges are then disjoint slices and the run's
        // reads only see samples written before it, so the loop vectorises (one store and one load per
        // sample through a single ring would be a serial store-to-load chain). Same values as
        // the sample-by-sample definition.
        let mut rest = samples;
        while !rest.is_empty() {
            let r = w.wrapping_sub(delay) & mask;
            let gap = w.abs_diff(r);
            let n = rest.len().min(gap).min(cap - w).min(cap - r);
            let (run, tail) = rest.split_at_mut(n);
            let (src, dst) = if r < w {
                let (lo, hi) = ring.split_at_mut(w);
                (&lo[r..r + n], &mut hi[..n])
            } else {
                let (lo, hi) = ring.split_at_mut(r);
                (&hi[..n], &mut lo[w..w + n])
            };
            for ((s, d), &o) in run.iter_mut().zip(dst.iter_mut()).zip(src.iter()) {
                *d = clean(*s);
                *s = o;
            }
            w = (w + n) & mask;
            rest = tail;
        }
        self.write_pos[channel] = w;
    }

    /// Records `samples` of `channel` as [`Self::process_block`] would, without producing the
    /// delayed output: keeps a bypass path's history current while its output is not needed.
    pub fn push_block(&mut self, channel: usize, samples: &[f32]) {
        let base = channel * self.capacity;
        let cap = self.capacity;
        let ring = &mut self.buffer[base..base + cap];
        let mut w = self.write_pos[channel];
        // Only the newest `capacity` samples can ever be read back.
        let skip = samples.len().saturating_sub(cap);
        w = (w + skip) & self.mask;
        let mut rest = &samples[skip..];
        while !rest.is_empty() {
            let n = rest.len().min(cap - w);
            for (d, &s) in ring[w..w + n].iter_mut().zip(rest[..n].iter()) {
                *d = clean(s);
            }
            w = (w + n) & self.mask;
            rest = &rest[n..];
        }
        self.write_pos[channel] = w;
    }

    /// Delays every channel of `channels` in place (channel `i` uses ring `i`).
    pub fn process_channels(&mut self, channels: &mut [&mut [f32]]) {
        let n = channels.len().min(self.num_channels());
        for (ch, samples) in channels.iter_mut().take(n).enumerate() {
            self.process_block(ch, samples);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impulse_comes_out_after_the_delay() {
        let mut d = DelayLine::new(2, 100);
        d.set_delay_samples(37);
        let mut x = vec![0.0f32; 200];
        x[5] = 1.0;
        d.process_block(1, &mut x);
        let peak = x.iter().position(|&v| v == 1.0).unwrap();
        assert_eq!(peak, 42);
        assert_eq!(d.latency_samples(), 37);
    }

    #[test]
    fn per_sample_and_block_agree_across_wraps() {
        let input: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut a = DelayLine::new(1, 63);
        a.set_delay_samples(63);
        let mut blk = input.clone();
        for chunk in blk.chunks_mut(113) {
            a.process_block(0, chunk);
        }
        let mut b = DelayLine::new(1, 63);
        b.set_delay_samples(63);
        for (i, &x) in input.iter().enumerate() {
            let y = b.process_sample(0, x);
            assert_eq!(y, blk[i]);
            let expected = if i >= 63 { input[i - 63] } else { 0.0 };
            assert_eq!(y, expected);
        }
    }

    #[test]
    fn block_runs_match_the_sample_path_for_every_delay_and_partition() {
        let input: Vec<f32> = (0..3000)
            .map(|i| ((i * 7919) % 1000) as f32 - 500.0)
            .collect();
        for max in [1, 5, 53, 64, 100] {
            for delay in [0, 1, 2, max / 2, max - 1, max] {
                for block in [1, 7, 64, 113, 512] {
                    let mut a = DelayLine::new(2, max);
                    let mut b = DelayLine::new(2, max);
                    a.set_delay_samples(delay);
                    b.set_delay_samples(delay);
                    for (k, chunk) in input.chunks(block).enumerate() {
                        // Every third block only records (the bypass path of a running
                        // section), which must leave the same history.
                        if k % 3 == 2 {
                            a.push_block(1, chunk);
                            for &x in chunk {
                                b.process_sample(1, x);
                            }
                            continue;
                        }
                        let mut out = chunk.to_vec();
                        a.process_block(1, &mut out);
                        for (&x, &y) in chunk.iter().zip(&out) {
                            let want = b.process_sample(1, x);
                            // A zero delay passes the block through untouched.
                            assert_eq!(y, if delay == 0 { x } else { want });
                        }
                    }
                    for k in 0..=max {
                        assert_eq!(a.tap(1, k), b.tap(1, k), "max {max} delay {delay}");
                    }
                }
            }
        }
    }

    #[test]
    fn tap_reads_history() {
        let mut d = DelayLine::new(1, 8);
        for i in 0..5 {
            d.process_sample(0, i as f32);
        }
        assert_eq!(d.tap(0, 0), 4.0);
        assert_eq!(d.tap(0, 3), 1.0);
    }
}
