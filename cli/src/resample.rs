//! Band-limited sample-rate conversion of a stream with `rubato` (FFT resampler, fixed ratio,
//! 1024-frame chunks): the resampler's delay is dropped and exactly
//! `round(frames * to / from)` frames come out, the input padded with silence at the end as
//! needed. Fed in any blocks, the resampler is called with the same chunks as over the whole
//! programme at once, so the output does not depend on how the input arrives.

use rubato::{FftFixedIn, Resampler};

use crate::error::{Error, Result};

/// Input chunk of the FFT resampler, frames.
const CHUNK_FRAMES: usize = 1024;

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
    pub fn new(from_hz: u32, to_hz: u32, frames: usize) -> Result<Self> {
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
    pub fn push(
        &mut self,
        left: &[f32],
        right: &[f32],
        sink: &mut impl FnMut(&[f32], &[f32]) -> Result<()>,
    ) -> Result<()> {
        self.pending[0].extend_from_slice(left);
        self.pending[1].extend_from_slice(right);
        while self.pending[0].len() >= self.rs.input_frames_next() && self.more() {
            self.chunk(sink)?;
        }
        Ok(())
    }

    /// Ends the input: silence is fed until every wanted frame has come out.
    pub fn finish(&mut self, sink: &mut impl FnMut(&[f32], &[f32]) -> Result<()>) -> Result<()> {
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

    fn chunk(&mut self, sink: &mut impl FnMut(&[f32], &[f32]) -> Result<()>) -> Result<()> {
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

fn failed(from_hz: u32, to_hz: u32, e: &dyn std::fmt::Display) -> Error {
    Error::usage(format!("resampling {from_hz} -> {to_hz} Hz failed: {e}"))
}
