//! Encoded deliveries (`stem render --formats flac,mp3,aac,opus,vorbis`): each master, once its
//! WAV is in place, encoded from that WAV's samples (the highest word length written) to the
//! formats asked for, beside it (`streaming.wav` -> `streaming.flac`, `streaming.mp3`, ...).
//!
//! FLAC goes through libFLAC (`flac-bound`, the reference encoder built from its bundled source;
//! lossless: the same integers as the WAV, checked by its verify mode and by decoding again),
//! MP3 and Ogg Vorbis through `stem_delivery::codec` (LAME, libvorbis/aoTuV), all built from
//! source with the tool.
//! AAC (MP4/M4A) and Opus go through an `ffmpeg` found on the PATH (no well-kept Rust binding
//! covers AAC encoding; Opus in Ogg would need a hand-written container): without it they are
//! reported as skipped, never a failed render. A format that cannot be made (ffmpeg without the
//! encoder, a rate the codec refuses) is skipped with the reason, so the WAV masters already
//! written are never lost to it.
//!
//! Every file is written to a temporary beside its target and moved into place when complete.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::Serialize;
use stem_delivery::codec::{lossy_rate_hz, Mp3Encoder, VorbisEncoder, MP3_KBPS};
use stem_delivery::resample::StreamResampler;

use crate::atomic::Temporary;
use crate::error::{Error, Result};

/// A delivery encoding beside the WAV masters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Flac,
    Mp3,
    Aac,
    Opus,
    Vorbis,
}

impl Codec {
    pub const ALL: [Codec; 5] = [
        Codec::Flac,
        Codec::Mp3,
        Codec::Aac,
        Codec::Opus,
        Codec::Vorbis,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Codec::Flac => "flac",
            Codec::Mp3 => "mp3",
            Codec::Aac => "aac",
            Codec::Opus => "opus",
            Codec::Vorbis => "vorbis",
        }
    }

    /// The file extension of its deliveries.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Flac => "flac",
            Codec::Mp3 => "mp3",
            Codec::Aac => "m4a",
            Codec::Opus => "opus",
            Codec::Vorbis => "ogg",
        }
    }

    /// The defaults: 320 kbps MP3 (the guide's reference-listening file), 256 kbps
    /// AAC (what Apple Music streams), 160 kbps Opus and Vorbis (Spotify's "very high" is 320
    /// Vorbis, its normal 160).
    pub fn default_kbps(self) -> Option<u32> {
        match self {
            Codec::Flac => None,
            Codec::Mp3 => Some(320),
            Codec::Aac => Some(256),
            Codec::Opus | Codec::Vorbis => Some(160),
        }
    }

    /// Bitrates the encoder accepts, kbps.
    fn kbps_range(self) -> (u32, u32) {
        match self {
            Codec::Flac => (0, 0),
            Codec::Mp3 => (32, 320),
            Codec::Aac => (32, 512),
            Codec::Opus => (6, 510),
            Codec::Vorbis => (45, 500),
        }
    }

    pub fn is_lossy(self) -> bool {
        self != Codec::Flac
    }
}

/// One entry of `--formats`: a codec and, for lossy ones, its bitrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Format {
    pub codec: Codec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate_kbps: Option<u32>,
}

impl FromStr for Format {
    type Err = String;

    /// `flac`, `mp3`, `mp3:256`, `opus:64`, ...
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (name, kbps) = match s.split_once(':') {
            Some((n, k)) => (n.trim(), Some(k.trim())),
            None => (s.trim(), None),
        };
        let names: Vec<&str> = Codec::ALL.iter().map(|c| c.name()).collect();
        let codec = Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "'{s}': unknown format (one of {}; a lossy one may take a bitrate, e.g. mp3:320)",
                    names.join(", ")
                )
            })?;
        let bitrate_kbps = match (codec.is_lossy(), kbps) {
            (false, Some(_)) => {
                return Err(format!("'{s}': FLAC is lossless and takes no bitrate"))
            }
            (false, None) => None,
            (true, None) => codec.default_kbps(),
            (true, Some(k)) => {
                let kbps: u32 = k.strip_suffix("k").unwrap_or(k).parse().map_err(|_| {
                    format!("'{s}': the bitrate '{k}' is not a whole number of kbps")
                })?;
                let (lo, hi) = codec.kbps_range();
                if !(lo..=hi).contains(&kbps) {
                    return Err(format!("'{s}': {} takes {lo}-{hi} kbps", codec.name()));
                }
                if codec == Codec::Mp3 && !MP3_KBPS.contains(&kbps) {
                    return Err(format!(
                        "'{s}': MP3 bitrates are {}",
                        MP3_KBPS.map(|k| k.to_string()).join(", ")
                    ));
                }
                Some(kbps)
            }
        };
        Ok(Format {
            codec,
            bitrate_kbps,
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bitrate_kbps {
            Some(k) => write!(f, "{} {k} kbps", self.codec.name()),
            None => write!(f, "{}", self.codec.name()),
        }
    }
}

/// Parses `--formats`, refusing a codec asked for twice (its files would collide).
pub fn parse_formats(list: &[String]) -> Result<Vec<Format>> {
    let mut formats: Vec<Format> = Vec::new();
    for s in list.iter().filter(|s| !s.trim().is_empty()) {
        let f: Format = s
            .parse()
            .map_err(|e: String| Error::usage(format!("--formats {e}")))?;
        if formats.iter().any(|g| g.codec == f.codec) {
            return Err(Error::usage(format!(
                "--formats: {} is asked for twice (one file per codec and master)",
                f.codec.name()
            )));
        }
        formats.push(f);
    }
    Ok(formats)
}

/// Where the `format` encoding of the master `wav` goes: beside it, its extension changed.
pub fn encoded_path(wav: &Path, format: &Format) -> PathBuf {
    wav.with_extension(format.codec.extension())
}

/// What became of one encoding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Encoded {
    pub format: Format,
    /// The file written, or `None` when skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Why it was not made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Encodes the master `wav` (a WAV this tool wrote) to `format` at `dest`.
pub fn encode(wav: &Path, format: &Format, dest: &Path) -> Encoded {
    let made = match format.codec {
        Codec::Flac => encode_flac(wav, dest),
        Codec::Mp3 => encode_mp3(wav, format.bitrate_kbps.unwrap_or(320), dest),
        Codec::Vorbis => encode_vorbis(wav, format.bitrate_kbps.unwrap_or(160), dest),
        Codec::Aac | Codec::Opus => encode_ffmpeg(wav, format, dest),
    };
    match made {
        Ok(()) => Encoded {
            format: *format,
            path: Some(dest.to_path_buf()),
            skipped: None,
        },
        Err(reason) => Encoded {
            format: *format,
            path: None,
            skipped: Some(reason),
        },
    }
}

/// Frames per encoder call.
const BLOCK_FRAMES: usize = 4096;

/// The master's samples, block by block, as integers of its word length.
struct MasterWav {
    reader: hound::WavReader<BufReader<File>>,
    spec: hound::WavSpec,
}

impl MasterWav {
    fn open(wav: &Path) -> std::result::Result<Self, String> {
        let reader =
            hound::WavReader::open(wav).map_err(|e| format!("cannot read the master: {e}"))?;
        let spec = reader.spec();
        if spec.channels != 2 || spec.sample_format != hound::SampleFormat::Int {
            return Err("the master is not stereo integer PCM".to_string());
        }
        Ok(Self { reader, spec })
    }

    /// Reads up to `frames` interleaved frames into `out` (cleared first); returns the frames.
    fn read(&mut self, frames: usize, out: &mut Vec<i32>) -> std::result::Result<usize, String> {
        out.clear();
        for s in self.reader.samples::<i32>().take(2 * frames) {
            out.push(s.map_err(|e| format!("cannot read the master: {e}"))?);
        }
        Ok(out.len() / 2)
    }

    /// Full scale of its integers.
    fn scale(&self) -> f32 {
        (1i64 << (self.spec.bits_per_sample - 1)) as f32
    }
}

/// Writes into a temporary beside `dest` and moves it into place when `write` succeeds.
fn write_beside(
    dest: &Path,
    write: impl FnOnce(&mut File, &Path) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    let tmp = Temporary::beside(dest, ".tmp").map_err(|e| e.to_string())?;
    let mut file = tmp.file().try_clone().map_err(|e| e.to_string())?;
    write(&mut file, tmp.path())?;
    file.sync_all().map_err(|e| e.to_string())?;
    tmp.persist(dest, "cannot move the encoded file into place")
        .map_err(|e| e.to_string())
}

fn encode_flac(wav: &Path, dest: &Path) -> std::result::Result<(), String> {
    use flac_bound::FlacEncoder;
    let mut master = MasterWav::open(wav)?;
    let spec = master.spec;
    let frames = master.reader.duration() as u64;
    write_beside(dest, |_, tmp_path| {
        // libFLAC writes the file by name so it can go back and complete STREAMINFO (MD5,
        // length); `verify` decodes every frame as it is encoded and compares.
        let mut encoder = FlacEncoder::new()
            .ok_or("libFLAC could not start")?
            .channels(2)
            .bits_per_sample(spec.bits_per_sample as u32)
            .sample_rate(spec.sample_rate)
            .compression_level(8)
            .verify(true)
            .total_samples_estimate(frames)
            .init_file(&tmp_path)
            .map_err(|e| format!("libFLAC could not start: {e:?}"))?;
        let mut samples = Vec::new();
        while master.read(BLOCK_FRAMES, &mut samples)? > 0 {
            encoder
                .process_interleaved(&samples, (samples.len() / 2) as u32)
                .map_err(|()| format!("libFLAC: {:?}", encoder.state()))?;
        }
        encoder
            .finish()
            .map(drop)
            .map_err(|e| format!("libFLAC could not finish: {:?}", e.state()))
    })
}

/// The master's samples through a lossy encoder: `make` builds it for the rate it codes at and
/// the file, `feed` takes every block (samples in [-1, 1]), `finish` ends it. With `coded_hz`
/// other than the master's rate the blocks go through `rubato` first ([`StreamResampler`]).
fn encode_lossy<E>(
    wav: &Path,
    dest: &Path,
    coded_hz: Option<u32>,
    make: impl FnOnce(u32, BufWriter<File>) -> std::result::Result<E, String>,
    feed: impl Fn(&mut E, &[f32], &[f32]) -> std::result::Result<(), String>,
    finish: impl FnOnce(E) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    let mut master = MasterWav::open(wav)?;
    let scale = master.scale();
    let rate = master.spec.sample_rate;
    let coded = coded_hz.unwrap_or(rate);
    let frames = master.reader.duration() as usize;
    write_beside(dest, |file, _| {
        let file = file.try_clone().map_err(|e| e.to_string())?;
        let mut encoder = make(coded, BufWriter::new(file))?;
        let mut resampler = if coded != rate {
            Some(StreamResampler::new(rate, coded, frames).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let mut sink = |l: &[f32], r: &[f32]| feed(&mut encoder, l, r).map_err(Error::usage);
        let (mut samples, mut left, mut right) = (Vec::new(), Vec::new(), Vec::new());
        while master.read(BLOCK_FRAMES, &mut samples)? > 0 {
            left.clear();
            right.clear();
            for pair in samples.chunks_exact(2) {
                left.push(pair[0] as f32 / scale);
                right.push(pair[1] as f32 / scale);
            }
            match &mut resampler {
                Some(rs) => rs.push(&left, &right, &mut sink),
                None => sink(&left, &right),
            }
            .map_err(|e| e.to_string())?;
        }
        if let Some(rs) = &mut resampler {
            rs.finish(&mut sink).map_err(|e| e.to_string())?;
        }
        finish(encoder)
    })
}

fn encode_mp3(wav: &Path, kbps: u32, dest: &Path) -> std::result::Result<(), String> {
    // LAME resamples itself (to `lossy_rate_hz`).
    encode_lossy(
        wav,
        dest,
        None,
        |rate, sink| Mp3Encoder::new(rate, kbps, sink),
        |e, l, r| e.encode(l, r),
        |e| e.finish().map(drop),
    )
}

fn encode_vorbis(wav: &Path, kbps: u32, dest: &Path) -> std::result::Result<(), String> {
    let rate = MasterWav::open(wav)?.spec.sample_rate;
    encode_lossy(
        wav,
        dest,
        Some(lossy_rate_hz(rate)),
        |rate, sink| VorbisEncoder::new(rate, kbps, sink),
        |e, l, r| e.encode(l, r),
        |e| e.finish().map(drop),
    )
}

/// `ffmpeg` on the PATH, if any.
pub fn ffmpeg() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("ffmpeg"))
        .find(|p| p.is_file())
}

fn encode_ffmpeg(wav: &Path, format: &Format, dest: &Path) -> std::result::Result<(), String> {
    let ffmpeg = ffmpeg().ok_or("ffmpeg not found on the PATH (install ffmpeg to make it)")?;
    let kbps = format.bitrate_kbps.unwrap_or(160);
    let (codec, muxer, extra): (&str, &str, &[&str]) = match format.codec {
        // ffmpeg's native AAC-LC encoder; `+faststart` puts the index first, as stores ask.
        Codec::Aac => ("aac", "ipod", &["-movflags", "+faststart"]),
        // Opus runs at 48 kHz whatever the master's rate (RFC 7845: decoders play at 48 kHz).
        Codec::Opus => ("libopus", "opus", &[]),
        _ => unreachable!("only AAC and Opus go through ffmpeg"),
    };
    // AAC at the rate streaming services code at (it stops at 96 kHz); Opus always at 48 kHz.
    let rate_hz = match format.codec {
        Codec::Opus => 48_000,
        _ => lossy_rate_hz(MasterWav::open(wav)?.spec.sample_rate),
    };
    write_beside(dest, |_, tmp_path| {
        let out = Command::new(&ffmpeg)
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(wav)
            .args(["-map_metadata", "-1", "-c:a", codec, "-b:a"])
            .arg(format!("{kbps}k"))
            .arg("-ar")
            .arg(rate_hz.to_string())
            .args(extra)
            .args(["-f", muxer])
            .arg(tmp_path)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", ffmpeg.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let msg = String::from_utf8_lossy(&out.stderr);
            Err(format!(
                "ffmpeg could not encode {} ({}): {}",
                format.codec.name(),
                out.status,
                msg.trim().lines().last().unwrap_or("no message")
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_with_their_default_bitrates() {
        let f = parse_formats(&[
            "flac".into(),
            "MP3".into(),
            "opus:64".into(),
            "aac:256k".into(),
        ])
        .unwrap();
        let got: Vec<(Codec, Option<u32>)> = f.iter().map(|f| (f.codec, f.bitrate_kbps)).collect();
        assert_eq!(
            got,
            [
                (Codec::Flac, None),
                (Codec::Mp3, Some(320)),
                (Codec::Opus, Some(64)),
                (Codec::Aac, Some(256))
            ]
        );
        assert_eq!(
            parse_formats(&["vorbis".into()]).unwrap()[0].bitrate_kbps,
            Some(160)
        );
    }

    #[test]
    fn bad_formats_are_named() {
        let err = |s: &[&str]| {
            parse_formats(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["wma"]).contains("'wma': unknown format"));
        assert!(err(&["flac:320"]).contains("lossless"));
        assert!(err(&["mp3:300"]).contains("MP3 bitrates are"));
        assert!(err(&["opus:9000"]).contains("6-510 kbps"));
        assert!(err(&["mp3:fast"]).contains("not a whole number"));
        assert!(err(&["mp3", "mp3:128"]).contains("asked for twice"));
    }
}
