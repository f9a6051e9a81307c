//! Band-limited sample-rate conversion of a stream with `rubato` (FFT resampler, fixed ratio,
//! 1024-frame chunks): the resampler's delay is dropped and exactly
//! `round(frames * to / from)` frames come out, the input padded with silence at the end as
//! needed. Fed in any blocks, the resampler is called with the same chunks as over the whole
//! programme at once, so the output does not depend on how the input arrives.
//!
//! It lives here rather than in the `stem` tool because both the tool (resampled deliveries,
//! lossy encodings at another rate) and the Stem Master plugin (reference tracks brought to the
//! session rate) resample, and the plugin must not depend on the tool. Its own failures are a
//! [`ResampleError`]; the `sink` a caller feeds the output to keeps the caller's error type,
//! which only has to take a [`ResampleError`] in.

use std::fmt;

use rubato::{FftFixedIn, Resampler};

/// Input chunk of the FFT resampler, frames.
const CHUNK_FRAMES: usize = 1024;

/// Frames [`resample_stereo`] hands the resampler at a time (bounds its input copy).
const FEED_FRAMES: usize = 16 * CHUNK_FRAMES;

/// The resampler could not be built or failed on a chunk; the message names both rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResampleError(pub String);

impl fmt::Display for ResampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResampleError {}

/// A stereo stream resampled from one rate to another.
pub struct StreamResampler {
    rs: FftFixedIn<f32>,
    from_hz: u32,
    to_hz: u32,
    /// Input not yet resampled.
    pending: [Vec<f32>; 2],
    /// Output frames the resampler has produced (delay included), and the frames wanted.
    produced: usize,
    delay: usize,
    wanted: usize,
}

impl StreamResampler {
    /// For an input of `frames` frames.
    pub fn new(from_hz: u32, to_hz: u32, frames: usize) -> Result<Self, ResampleError> {
        let rs = FftFixedIn::<f32>::new(from_hz as usize, to_hz as usize, CHUNK_FRAMES, 2, 2)
            .map_err(|e| failed(from_hz, to_hz, &e))?;
        let delay = rs.output_delay();
        Ok(Self {
            rs,
            from_hz,
            to_hz,
            pending: [Vec::new(), Vec::new()],
            produced: 0,
            delay,
            wanted: (frames as f64 * to_hz as f64 / from_hz as f64).round() as usize,
        })
    }

    /// Frames that come out in all.
    pub fn output_frames(&self) -> usize {
        self.wanted
    }

    /// Feeds input frames; resampled frames go to `sink` (left, right).
    pub fn push<E: From<ResampleError>>(
        &mut self,
        left: &[f32],
        right: &[f32],
        sink: &mut impl FnMut(&[f32], &[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.pending[0].extend_from_slice(left);
        self.pending[1].extend_from_slice(right);
        while self.pending[0].len() >= self.rs.input_frames_next() && self.more() {
            self.chunk(sink)?;
        }
        Ok(())
    }

    /// Ends the input: silence is fed until every wanted frame has come out.
    pub fn finish<E: From<ResampleError>>(
        &mut self,
        sink: &mut impl FnMut(&[f32], &[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        while self.more() {
            let need = self.rs.input_frames_next();
            for p in &mut self.pending {
                if p.len() < need {
                    p.resize(need, 0.0);
                }
            }
            self.chunk(sink)?;
        }
        Ok(())
    }

    fn more(&self) -> bool {
        self.produced < self.wanted + self.delay
    }

    fn chunk<E: From<ResampleError>>(
        &mut self,
        sink: &mut impl FnMut(&[f32], &[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        let need = self.rs.input_frames_next();
        let block: Vec<Vec<f32>> = self.pending.iter().map(|p| p[..need].to_vec()).collect();
        for p in &mut self.pending {
            p.drain(..need);
        }
        let out = self
            .rs
            .process(&block, None)
            .map_err(|e| failed(self.from_hz, self.to_hz, &e))?;
        let n = out[0].len();
        // Output frame `produced + k` is resampled frame `produced + k - delay`.
        let start = self.delay.saturating_sub(self.produced).min(n);
        let end = n.min((self.wanted + self.delay).saturating_sub(self.produced));
        self.produced += n;
        if start < end {
            sink(&out[0][start..end], &out[1][start..end])?;
        }
        Ok(())
    }
}

fn failed(from_hz: u32, to_hz: u32, e: &dyn fmt::Display) -> ResampleError {
    ResampleError(format!("resampling {from_hz} -> {to_hz} Hz failed: {e}"))
}

/// A whole stereo programme at `from_hz` brought to `to_hz` with [`StreamResampler`]: exactly
/// `round(frames * to_hz / from_hz)` frames per side; a copy when the rates are equal.
pub fn resample_stereo(
    left: &[f32],
    right: &[f32],
    from_hz: u32,
    to_hz: u32,
) -> Result<[Vec<f32>; 2], ResampleError> {
    if left.len() != right.len() {
        return Err(ResampleError(format!(
            "resampling {from_hz} -> {to_hz} Hz failed: the sides differ in length ({} and {} frames)",
            left.len(),
            right.len()
        )));
    }
    if from_hz == to_hz {
        return Ok([left.to_vec(), right.to_vec()]);
    }
    let mut rs = StreamResampler::new(from_hz, to_hz, left.len())?;
    let mut out = [
        Vec::with_capacity(rs.output_frames()),
        Vec::with_capacity(rs.output_frames()),
    ];
    let mut sink = |l: &[f32], r: &[f32]| -> Result<(), ResampleError> {
        out[0].extend_from_slice(l);
        out[1].extend_from_slice(r);
        Ok(())
    };
    for (l, r) in left.chunks(FEED_FRAMES).zip(right.chunks(FEED_FRAMES)) {
        rs.push(l, r, &mut sink)?;
    }
    rs.finish(&mut sink)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(frames: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..frames)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn the_output_length_is_exact_and_independent_of_the_blocks() {
        // round(10000 * 48000 / 44100) = round(10884.35) = 10884.
        let (l, r) = (noise(10_000, 1), noise(10_000, 2));
        let whole = resample_stereo(&l, &r, 44_100, 48_000).unwrap();
        assert_eq!((whole[0].len(), whole[1].len()), (10_884, 10_884));
        let mut rs = StreamResampler::new(44_100, 48_000, l.len()).unwrap();
        let mut out = [Vec::new(), Vec::new()];
        let mut sink = |a: &[f32], b: &[f32]| -> Result<(), ResampleError> {
            out[0].extend_from_slice(a);
            out[1].extend_from_slice(b);
            Ok(())
        };
        for (a, b) in l.chunks(97).zip(r.chunks(97)) {
            rs.push(a, b, &mut sink).unwrap();
        }
        rs.finish(&mut sink).unwrap();
        assert_eq!(out, whole);
    }

    #[test]
    fn equal_rates_copy_and_unequal_sides_are_refused() {
        let (l, r) = (noise(300, 3), noise(300, 4));
        assert_eq!(
            resample_stereo(&l, &r, 48_000, 48_000).unwrap(),
            [l.clone(), r]
        );
        assert!(resample_stereo(&l, &l[..10], 44_100, 48_000).is_err());
    }
}
