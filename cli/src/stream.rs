//! Streaming building blocks of `stem render`: where a stem's frames come from
//! ([`StemSource`]: a file decoded block by block, or audio already in memory), and
//! [`Aligned`], which runs a block processor with latency over a stream and hands out its output
//! lined up with the input.
//!
//! [`Aligned`] feeds the processor exactly the calls a whole-programme run makes: the input
//! followed by `latency` samples of silence, cut into [`PROCESS_BLOCK`]-sample blocks from the
//! first sample (the last one partial), whatever sizes the input arrives in. Its output is
//! therefore bit-identical to processing the whole programme at once, even for a processor whose
//! output depended on its block size.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::audio::Audio;
use crate::decode::AudioReader;
use crate::error::Result;

/// The block the chains are run in, samples.
pub const PROCESS_BLOCK: usize = 4096;

/// A processor with `latency` samples of delay, run over a stream; output sample `k` lines up
/// with input sample `k`, and exactly as many samples come out as went in.
pub struct Aligned<P: FnMut(&mut [f32], &mut [f32])> {
    process: P,
    latency: usize,
    block: [Vec<f32>; 2],
    fill: usize,
    /// Stream samples (input, then the silent tail) processed so far.
    processed: usize,
    out: [VecDeque<f32>; 2],
    finished: bool,
}

impl<P: FnMut(&mut [f32], &mut [f32])> Aligned<P> {
    pub fn new(latency: usize, process: P) -> Self {
        Self {
            process,
            latency,
            block: [vec![0.0; PROCESS_BLOCK], vec![0.0; PROCESS_BLOCK]],
            fill: 0,
            processed: 0,
            out: [VecDeque::new(), VecDeque::new()],
            finished: false,
        }
    }

    /// The processor's latency, samples.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Feeds the next input samples (left and right of equal length).
    pub fn push(&mut self, left: &[f32], right: &[f32]) {
        debug_assert!(!self.finished);
        let mut at = 0;
        while at < left.len() {
            let n = (PROCESS_BLOCK - self.fill).min(left.len() - at);
            self.block[0][self.fill..self.fill + n].copy_from_slice(&left[at..at + n]);
            self.block[1][self.fill..self.fill + n].copy_from_slice(&right[at..at + n]);
            self.fill += n;
            at += n;
            if self.fill == PROCESS_BLOCK {
                self.run_block();
            }
        }
    }

    /// Ends the input: the processor is flushed with `latency` samples of silence so every
    /// input sample's output comes out.
    pub fn finish(&mut self) {
        let mut tail = self.latency;
        while tail > 0 {
            let n = (PROCESS_BLOCK - self.fill).min(tail);
            self.block[0][self.fill..self.fill + n].fill(0.0);
            self.block[1][self.fill..self.fill + n].fill(0.0);
            self.fill += n;
            tail -= n;
            if self.fill == PROCESS_BLOCK {
                self.run_block();
            }
        }
        if self.fill > 0 {
            self.run_block();
        }
        self.finished = true;
    }

    fn run_block(&mut self) {
        let n = self.fill;
        let [l, r] = &mut self.block;
        (self.process)(&mut l[..n], &mut r[..n]);
        // Stream sample `processed + k` is output sample `processed + k - latency`.
        let skip = self.latency.saturating_sub(self.processed).min(n);
        for (o, b) in self.out.iter_mut().zip(&self.block) {
            o.extend(&b[skip..n]);
        }
        self.processed += n;
        self.fill = 0;
    }

    /// Output samples ready to be taken.
    pub fn available(&self) -> usize {
        self.out[0].len()
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Appends up to `n` ready output samples to `out`; returns how many.
    pub fn take(&mut self, out: &mut [Vec<f32>; 2], n: usize) -> usize {
        let n = n.min(self.available());
        for (o, q) in out.iter_mut().zip(self.out.iter_mut()) {
            // Copied from the ring's two slices, then dropped from its front: a drain iterator
            // would copy sample by sample.
            let (front, back) = q.as_slices();
            let from_front = n.min(front.len());
            o.extend_from_slice(&front[..from_front]);
            o.extend_from_slice(&back[..n - from_front]);
            q.drain(..n);
        }
        n
    }
}

/// Where a stem's frames come from. Each [`StemSource::open`] starts a new pass from the first
/// frame, so every chain a stem feeds reads it on its own.
#[derive(Clone, Debug)]
pub enum StemSource {
    /// A file, decoded block by block.
    File(PathBuf),
    /// Audio already in memory (the benchmark, tests).
    Memory(std::sync::Arc<Audio>),
}

/// One pass over a stem: stereo blocks (a mono stem feeds both sides).
pub enum StemBlocks {
    File(AudioReader, Vec<Vec<f32>>),
    Memory(std::sync::Arc<Audio>, usize),
}

impl StemSource {
    pub fn open(&self) -> Result<StemBlocks> {
        Ok(match self {
            StemSource::File(p) => {
                let reader = AudioReader::open(p)?;
                let channels = reader.spec().channels;
                StemBlocks::File(reader, vec![Vec::new(); channels])
            }
            StemSource::Memory(a) => StemBlocks::Memory(a.clone(), 0),
        })
    }
}

impl StemBlocks {
    /// Replaces `out` with the next frames as left and right, at most `max_frames`; returns how
    /// many (0 at the end).
    pub fn read_block(&mut self, out: &mut [Vec<f32>; 2], max_frames: usize) -> Result<usize> {
        for c in out.iter_mut() {
            c.clear();
        }
        match self {
            StemBlocks::File(reader, block) => {
                let n = reader.read_block(block, max_frames)?;
                out[0].extend_from_slice(&block[0]);
                out[1].extend_from_slice(block.get(1).unwrap_or(&block[0]));
                Ok(n)
            }
            StemBlocks::Memory(a, pos) => {
                let (l, r) = a.stereo();
                let n = max_frames.min(l.len() - *pos);
                out[0].extend_from_slice(&l[*pos..*pos + n]);
                out[1].extend_from_slice(&r[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
        }
    }

    /// NaN or infinite samples met so far (file sources; in-memory audio counted its own).
    pub fn non_finite_samples(&self) -> usize {
        match self {
            StemBlocks::File(reader, _) => reader.non_finite_samples(),
            StemBlocks::Memory(a, _) => a.non_finite_samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_runs_remove_the_latency_exactly_in_any_input_blocks() {
        let x: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        for input_block in [1, 113, 4096, 5000, 10_000] {
            // A pure delay of 777 samples, processed in blocks.
            let mut line = vec![0.0f32; 777];
            let mut run = Aligned::new(777, |l: &mut [f32], r: &mut [f32]| {
                for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                    line.push(*a);
                    *a = line.remove(0);
                    *b = *a;
                }
            });
            let mut out = [Vec::new(), Vec::new()];
            for chunk in x.chunks(input_block) {
                run.push(chunk, chunk);
                let ready = run.available();
                run.take(&mut out, ready);
            }
            run.finish();
            run.take(&mut out, usize::MAX);
            assert_eq!(out[0], x);
            assert_eq!(out[1], x);
        }
    }
}
