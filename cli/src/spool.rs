//! A stereo float programme spooled to a temporary file, for the passes that need a whole
//! programme more than once (the limiter-drive search, the final master, a resampled master's
//! true-peak trim) without holding it in memory: frames are written interleaved as native `f32`
//! through a [`Temporary`] (removed when dropped, on error and on Ctrl-C) and read back in
//! blocks. The data goes through `read`/`write`, not a memory map, so it never counts towards
//! the process's resident memory.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::atomic::Temporary;
use crate::error::{Error, Result};

/// I/O buffer of a spool's reader and writer, bytes: smaller than the render's blocks
/// (64 Ki frames, 512 KiB), which then go straight between the caller's buffer and the file
/// (`BufReader`/`BufWriter` bypass their buffer for requests at least this long) instead of
/// being copied through it once more.
const IO_BUFFER_BYTES: usize = 1 << 16;

/// A stereo programme being written to, then read from, a temporary file.
pub struct Spool {
    tmp: Temporary,
    writer: Option<BufWriter<File>>,
    frames: usize,
    /// The interleaved bytes of the block being written (kept: a fresh half-megabyte buffer
    /// per block costs a map, page faults and an unmap each time).
    bytes: Vec<u8>,
}

impl Spool {
    /// A new, empty spool in `dir` (hidden, `.stem-spool.XXXXXX.f32`).
    pub fn create(dir: &Path) -> Result<Self> {
        let tmp = Temporary::scratch(dir, ".stem-spool.", ".f32")?;
        let file = tmp.file().try_clone().map_err(|e| io_error(&tmp, e))?;
        Ok(Self {
            writer: Some(BufWriter::with_capacity(IO_BUFFER_BYTES, file)),
            tmp,
            frames: 0,
            bytes: Vec::new(),
        })
    }

    /// Appends frames (left and right of equal length).
    pub fn write(&mut self, left: &[f32], right: &[f32]) -> Result<()> {
        let writer = self.writer.as_mut().expect("written before it is read");
        let n = left.len().min(right.len());
        self.bytes.resize(n * 8, 0);
        for ((frame, l), r) in self.bytes.chunks_exact_mut(8).zip(left).zip(right) {
            frame[..4].copy_from_slice(&l.to_ne_bytes());
            frame[4..].copy_from_slice(&r.to_ne_bytes());
        }
        writer
            .write_all(&self.bytes)
            .map_err(|e| io_error(&self.tmp, e))?;
        self.frames += left.len().min(right.len());
        Ok(())
    }

    /// Frames written.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Ends writing (flushes); the spool can then be read any number of times.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush().map_err(|e| io_error(&self.tmp, e))?;
        }
        Ok(())
    }

    /// A reader from the first frame (after [`Spool::finish`]). Each reader opens the file
    /// anew, so readers of one spool keep their own positions (a cloned handle would share
    /// one offset) and can run side by side.
    pub fn reader(&self) -> Result<SpoolReader<'_>> {
        let file = File::open(self.tmp.path()).map_err(|e| io_error(&self.tmp, e))?;
        Ok(SpoolReader {
            spool: self,
            reader: BufReader::with_capacity(IO_BUFFER_BYTES, file),
            left: self.frames,
            bytes: Vec::new(),
        })
    }
}

fn io_error(tmp: &Temporary, e: std::io::Error) -> Error {
    Error::file(tmp.path(), format!("temporary float file: {e}"))
}

/// Reads a finished [`Spool`] block by block.
pub struct SpoolReader<'a> {
    spool: &'a Spool,
    reader: BufReader<File>,
    left: usize,
    bytes: Vec<u8>,
}

impl SpoolReader<'_> {
    /// Replaces `out` with the next frames, at most `max_frames`; returns how many (0 at the
    /// end).
    pub fn read_block(&mut self, out: &mut [Vec<f32>; 2], max_frames: usize) -> Result<usize> {
        let n = max_frames.min(self.left);
        self.bytes.resize(n * 8, 0);
        self.reader
            .read_exact(&mut self.bytes)
            .map_err(|e| io_error(&self.spool.tmp, e))?;
        for c in out.iter_mut() {
            c.clear();
            c.resize(n, 0.0);
        }
        let [l, r] = out;
        for ((frame, l), r) in self
            .bytes
            .chunks_exact(8)
            .zip(l.iter_mut())
            .zip(r.iter_mut())
        {
            *l = f32::from_ne_bytes(frame[..4].try_into().unwrap());
            *r = f32::from_ne_bytes(frame[4..].try_into().unwrap());
        }
        self.left -= n;
        Ok(n)
    }
}
