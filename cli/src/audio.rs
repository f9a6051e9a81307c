//! Decoded audio in memory, and WAV output.
//!
//! Reading (every format a DAW writes) is [`crate::decode`]'s.
//!
//! Writing: 24-bit or 16-bit PCM or 32-bit float through `hound`, atomically and never over an
//! input (see [`crate::files`]).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::files::{create_dir, display_name, ensure_not_input};

/// Lowest and highest sample rate the meters and chains are specified for, Hz.
pub const MIN_SAMPLE_RATE_HZ: u32 = 22_050;
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;

/// A decoded file: planar `f32` channels (one or two), full scale = 1.0.
#[derive(Clone, Debug)]
pub struct Audio {
    pub path: PathBuf,
    pub sample_rate_hz: u32,
    pub bits_per_sample: u16,
    /// `true` for IEEE float data, `false` for integer PCM.
    pub float: bool,
    /// One `Vec` per channel, all the same length.
    pub channels: Vec<Vec<f32>>,
    /// Samples that were NaN or infinite in a float file (replaced by 0 here).
    pub non_finite_samples: usize,
}

impl Audio {
    /// Builds an in-memory signal (tests, the demo, render output).
    pub fn new(path: impl Into<PathBuf>, sample_rate_hz: u32, channels: Vec<Vec<f32>>) -> Self {
        Self {
            path: path.into(),
            sample_rate_hz,
            bits_per_sample: 32,
            float: true,
            channels,
            non_finite_samples: 0,
        }
    }

    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / self.sample_rate_hz as f64
    }

    /// "24-bit PCM", "32-bit float".
    pub fn format_label(&self) -> String {
        format_label(self.float, self.bits_per_sample)
    }

    /// Left and right as the file sits in a stereo mix: a mono file feeds both sides equally.
    pub fn stereo(&self) -> (&[f32], &[f32]) {
        let left = &self.channels[0];
        let right = self.channels.get(1).unwrap_or(left);
        (left, right)
    }

    /// The file name for display.
    pub fn name(&self) -> String {
        display_name(&self.path)
    }

    /// Worst-case quantisation error of one sample of this file, linear full scale: one LSB
    /// for integer PCM (covers rounding and TPDF dither), 0 for float (float stems carry the
    /// DAW's values exactly).
    pub fn quantisation_step(&self) -> f64 {
        quantisation_step(self.float, self.bits_per_sample)
    }
}

/// "24-bit PCM", "32-bit float": a sample format by its kind and word length.
pub fn format_label(float: bool, bits_per_sample: u16) -> String {
    if float {
        format!("{bits_per_sample}-bit float")
    } else {
        format!("{bits_per_sample}-bit PCM")
    }
}

/// Worst-case quantisation error of one sample, linear full scale: one LSB for integer PCM of
/// `bits_per_sample` (covers rounding and TPDF dither), 0 for float (and an unknown length).
pub fn quantisation_step(float: bool, bits_per_sample: u16) -> f64 {
    if float || bits_per_sample == 0 {
        0.0
    } else {
        1.0 / (1u64 << (bits_per_sample.min(64) - 1)) as f64
    }
}

/// Says on stderr that `path` held `count` NaN or infinite samples, if any. Every command says
/// so (check also fails the file): a float file with NaN or Inf is broken, and measuring or
/// mastering it as silence must not pass unnoticed.
pub fn warn_non_finite(path: &Path, count: usize) {
    if count > 0 {
        eprintln!(
            "stem: warning: {}: {count} NaN or infinite samples, treated as silence",
            path.display(),
        );
    }
}

/// Sample format of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Pcm16,
    Pcm24,
    Float32,
}

impl OutputFormat {
    pub fn bits(self) -> u16 {
        match self {
            OutputFormat::Pcm16 => 16,
            OutputFormat::Pcm24 => 24,
            OutputFormat::Float32 => 32,
        }
    }
}

/// Integer code for `x` at `bits`: rounded, clamped to the code range. Input that is already on
/// the grid (dithered or exactly representable) converts exactly.
#[inline]
pub fn to_code(x: f32, bits: u16) -> i32 {
    let scale = (1i64 << (bits - 1)) as f64;
    let v = (x as f64 * scale).round();
    v.clamp(-scale, scale - 1.0) as i32
}

/// Writes planar `channels` to `path` atomically (see [`crate::files`]), creating its
/// directory if missing. Refuses to replace any file in `protected` (the inputs of the run).
pub fn write_wav_atomic(
    path: &Path,
    sample_rate_hz: u32,
    channels: &[&[f32]],
    format: OutputFormat,
    protected: &[PathBuf],
) -> Result<()> {
    ensure_not_input(path, protected)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir(dir)?;
    write_atomic(
        path,
        ".tmp",
        "cannot move the finished file into place",
        |tmp| write_wav(tmp, sample_rate_hz, channels, format),
    )
}

fn write_wav(
    path: &Path,
    sample_rate_hz: u32,
    channels: &[&[f32]],
    format: OutputFormat,
) -> Result<()> {
    let mut wav = WavStream::create(path, sample_rate_hz, channels.len() as u16, format)?;
    wav.write(channels)?;
    wav.finalize()
}

/// A WAV file written block by block through `hound` (its header's sizes are filled in by
/// [`WavStream::finalize`]).
pub struct WavStream {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    format: OutputFormat,
}

impl WavStream {
    /// Creates (truncates) `path`.
    pub fn create(
        path: &Path,
        sample_rate_hz: u32,
        num_channels: u16,
        format: OutputFormat,
    ) -> Result<Self> {
        let spec = hound::WavSpec {
            channels: num_channels,
            sample_rate: sample_rate_hz,
            bits_per_sample: format.bits(),
            sample_format: if format == OutputFormat::Float32 {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let file =
            File::create(path).map_err(|e| Error::file(path, format!("cannot create: {e}")))?;
        let writer = hound::WavWriter::new(BufWriter::with_capacity(1 << 20, file), spec)
            .map_err(|e| Error::file(path, format!("cannot write: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            format,
        })
    }

    /// Appends frames: one slice per channel, interleaved into the file; integer formats are
    /// rounded and clamped to their codes ([`to_code`]).
    pub fn write(&mut self, channels: &[&[f32]]) -> Result<()> {
        let err = |e: hound::Error| Error::file(&self.path, format!("cannot write: {e}"));
        let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        for i in 0..frames {
            for c in channels {
                match self.format {
                    OutputFormat::Float32 => self.writer.write_sample(c[i]),
                    OutputFormat::Pcm16 => self.writer.write_sample(to_code(c[i], 16) as i16),
                    OutputFormat::Pcm24 => self.writer.write_sample(to_code(c[i], 24)),
                }
                .map_err(err)?;
            }
        }
        Ok(())
    }

    /// Writes the header's final sizes and closes the file.
    pub fn finalize(self) -> Result<()> {
        let path = self.path;
        self.writer
            .finalize()
            .map_err(|e| Error::file(&path, format!("cannot write: {e}")))
    }
}
