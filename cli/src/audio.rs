//! WAV input and output.
//!
//! Reading: `hound` parses and validates the header (RIFF/WAVE, `fmt `, WAVE_FORMAT_EXTENSIBLE),
//! then the data chunk is decoded here in bulk, which is several times faster than hound's
//! per-sample iterator on multi-minute stems. Every way a file can be unusable becomes an
//! [`Error`] naming the file: missing, empty, not a WAV, truncated, 8-bit, more than two
//! channels, a sample rate outside 22.05-384 kHz, no audio.
//!
//! Writing: 24-bit or 16-bit PCM or 32-bit float through `hound`, atomically and never over an
//! input (see [`crate::files`]).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files::{create_dir, display_name, ensure_not_input, write_atomic};
use crate::par;
use crate::progress::Progress;

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
        if self.float {
            format!("{}-bit float", self.bits_per_sample)
        } else {
            format!("{}-bit PCM", self.bits_per_sample)
        }
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
        if self.float {
            0.0
        } else {
            1.0 / (1u64 << (self.bits_per_sample - 1)) as f64
        }
    }
}

/// Reads every file (on all cores), or fails on the first unreadable one.
pub fn read_all(paths: &[PathBuf], progress: &Progress) -> Result<Vec<Audio>> {
    let bar = progress.bar(paths.len() as u64, "reading");
    let results = par::map(paths, |p| {
        let r = read_wav(p);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    results.into_iter().collect()
}

/// Reads a WAV file, or says exactly why it cannot.
pub fn read_wav(path: &Path) -> Result<Audio> {
    let meta = std::fs::metadata(path).map_err(|e| Error::file(path, io_reason(&e)))?;
    if meta.is_dir() {
        return Err(Error::file(path, "is a directory, not a WAV file"));
    }
    if meta.len() == 0 {
        return Err(Error::file(path, "empty file (0 bytes): not a WAV file"));
    }
    let file = File::open(path).map_err(|e| Error::file(path, io_reason(&e)))?;
    let reader = hound::WavReader::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| Error::file(path, hound_reason(&e)))?;
    let spec = reader.spec();
    let declared_samples = reader.len() as usize;
    let channels = spec.channels as usize;
    let float = spec.sample_format == hound::SampleFormat::Float;
    let bits = spec.bits_per_sample;
    match (float, bits) {
        (false, 16 | 24 | 32) | (true, 32) => {}
        (false, 8) => {
            return Err(Error::file(
                path,
                "8-bit PCM is not supported: export stems at 24-bit or 32-bit float",
            ))
        }
        _ => {
            return Err(Error::file(
                path,
                format!(
                    "{bits}-bit {} samples are not supported (16, 24, 32-bit PCM or 32-bit float)",
                    if float { "float" } else { "integer" }
                ),
            ))
        }
    }
    if channels == 0 || channels > 2 {
        return Err(Error::file(
            path,
            format!("{channels} channels: only mono and stereo files are supported"),
        ));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&spec.sample_rate) {
        return Err(Error::file(
            path,
            format!(
                "sample rate {} Hz is outside the supported 22 050-384 000 Hz",
                spec.sample_rate
            ),
        ));
    }
    let bytes_per_sample = bits as usize / 8;
    let declared_frames = declared_samples / channels;
    if declared_frames == 0 {
        return Err(Error::file(path, "contains no audio (0 frames)"));
    }

    let mut data = Vec::new();
    let expected_bytes = declared_frames * channels * bytes_per_sample;
    reader
        .into_inner()
        .take(expected_bytes as u64)
        .read_to_end(&mut data)
        .map_err(|e| Error::file(path, format!("read failed: {e}")))?;
    if data.len() < expected_bytes {
        let frames_present = data.len() / (channels * bytes_per_sample);
        return Err(Error::file(
            path,
            format!(
                "truncated: the header promises {declared_frames} frames but the file holds only \
                 {frames_present} (incomplete copy or export?)"
            ),
        ));
    }

    // Sized from the data actually read, never from the header's claim.
    let mut planar = vec![Vec::with_capacity(data.len() / (channels * bytes_per_sample)); channels];
    let mut non_finite = 0;
    let frame_bytes = channels * bytes_per_sample;
    for frame in data.chunks_exact(frame_bytes) {
        for (c, s) in frame.chunks_exact(bytes_per_sample).enumerate() {
            let x = match (float, bits) {
                (true, _) => {
                    let v = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                    if v.is_finite() {
                        v
                    } else {
                        non_finite += 1;
                        0.0
                    }
                }
                (false, 16) => i16::from_le_bytes([s[0], s[1]]) as f32 / 32_768.0,
                (false, 24) => {
                    // Sign-extend by placing the 3 bytes in the top of an i32.
                    (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0
                }
                _ => (i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f64 / 2_147_483_648.0) as f32,
            };
            planar[c].push(x);
        }
    }
    Ok(Audio {
        path: path.to_path_buf(),
        sample_rate_hz: spec.sample_rate,
        bits_per_sample: bits,
        float,
        channels: planar,
        non_finite_samples: non_finite,
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => format!("cannot read: {e}"),
    }
}

fn hound_reason(e: &hound::Error) -> String {
    match e {
        hound::Error::FormatError(what) => {
            format!("not a valid WAV file ({what}); is it audio exported as WAV?")
        }
        hound::Error::Unsupported => {
            "unsupported WAV encoding (only PCM and IEEE float are read)".to_string()
        }
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated: the file ends inside its WAV header".to_string()
        }
        other => format!("cannot read WAV: {other}"),
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
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: sample_rate_hz,
        bits_per_sample: format.bits(),
        sample_format: if format == OutputFormat::Float32 {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let err = |e: hound::Error| Error::file(path, format!("cannot write: {e}"));
    let file = File::create(path).map_err(|e| Error::file(path, format!("cannot create: {e}")))?;
    let mut writer =
        hound::WavWriter::new(BufWriter::with_capacity(1 << 20, file), spec).map_err(err)?;
    let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    match format {
        OutputFormat::Float32 => {
            for i in 0..frames {
                for c in channels {
                    writer.write_sample(c[i]).map_err(err)?;
                }
            }
        }
        OutputFormat::Pcm16 => {
            let mut w16 = writer.get_i16_writer((frames * channels.len()) as u32);
            for i in 0..frames {
                for c in channels {
                    w16.write_sample(to_code(c[i], 16) as i16);
                }
            }
            w16.flush().map_err(err)?;
        }
        OutputFormat::Pcm24 => {
            for i in 0..frames {
                for c in channels {
                    writer.write_sample(to_code(c[i], 24)).map_err(err)?;
                }
            }
        }
    }
    writer.finalize().map_err(err)?;
    Ok(())
}
