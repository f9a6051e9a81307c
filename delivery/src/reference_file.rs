//! A reference track for the Stem Master (a commercial master to compare against), loaded off
//! the audio thread: decoded by symphonia (WAV, AIFF, FLAC, MP3, Ogg Vorbis) with the packet
//! loop the codec readout uses ([`crate::decoded::PacketStream`]), cleaned of non-finite
//! samples (a NaN would poison every meter it reaches) and brought to the session rate with the
//! tool's resampler ([`crate::resample::resample_stereo`]), so the plugin plays and measures it
//! at the rate the session runs.
//!
//! The whole track is held in memory, so its length is bounded twice: against the length the
//! header declares, before anything is decoded, and against the decoded length as it grows,
//! since a damaged or hostile header may declare less than the file holds. Every refusal names
//! the file and says what is wrong, for the editor to show as it is.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use crate::decoded::PacketStream;
use crate::resample::resample_stereo;

/// Lowest sample rate a reference may have, Hz.
pub const MIN_SAMPLE_RATE_HZ: u32 = 8_000;
/// Highest sample rate a reference may have, Hz.
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;

/// A reference track, decoded and at the session rate.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedReference {
    /// The rate `left` and `right` are at (the session's), Hz.
    pub sample_rate_hz: u32,
    /// The file's own rate, Hz.
    pub source_rate_hz: u32,
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    /// NaN and infinite samples in the file, each replaced by 0.0 (counted per side: a mono
    /// file's count twice, once on each side it fills).
    pub non_finite_samples: usize,
}

/// Loads the reference at `path` for a session at `session_rate_hz`: mono or stereo, 8 kHz to
/// 384 kHz, at most `max_seconds` long. The error names the file and says what is wrong.
pub fn load_reference(
    path: &Path,
    session_rate_hz: u32,
    max_seconds: f64,
) -> Result<DecodedReference, String> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    load(path, session_rate_hz, max_seconds).map_err(|e| format!("{name}: {e}"))
}

fn load(path: &Path, session_rate_hz: u32, max_seconds: f64) -> Result<DecodedReference, String> {
    let file = File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => "the file does not exist".to_string(),
        _ => format!("the file cannot be read: {e}"),
    })?;
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    // Its messages ("not a stream the decoder reads: ...", "holds no audio track") follow the
    // file's name as they are.
    let stream = PacketStream::open(Box::new(file), &extension)?;
    let source_rate_hz = stream.sample_rate_hz;
    if let Some(channels) = stream.channels.filter(|&c| c > 2) {
        return Err(format!(
            "it has {channels} channels; a reference is a stereo (or mono) master"
        ));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&source_rate_hz) {
        return Err(format!(
            "its sample rate, {source_rate_hz} Hz, is outside {} kHz to {} kHz",
            MIN_SAMPLE_RATE_HZ / 1000,
            MAX_SAMPLE_RATE_HZ / 1000
        ));
    }
    let max_frames = (max_seconds.max(0.0) * source_rate_hz as f64).floor() as u64;
    let too_long = || {
        format!(
            "it is longer than the limit of {} minutes",
            minutes(max_seconds)
        )
    };
    if stream.declared_frames.is_some_and(|f| f > max_frames) {
        return Err(too_long());
    }
    // The declared length sizes the buffers only up to the limit.
    let capacity = stream.declared_frames.unwrap_or(0).min(max_frames) as usize;
    let (mut left, mut right) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
    let mut non_finite_samples = 0usize;
    let mut clean = |x: f32| {
        if x.is_finite() {
            x
        } else {
            non_finite_samples += 1;
            0.0
        }
    };
    stream.for_each(|l, r| {
        if (left.len() + l.len()) as u64 > max_frames {
            return Err(too_long());
        }
        left.extend(l.iter().map(|&x| clean(x)));
        right.extend(r.iter().map(|&x| clean(x)));
        Ok(())
    })?;
    if left.is_empty() {
        return Err("it decodes to no audio".to_string());
    }
    let [left, right] = if session_rate_hz == source_rate_hz {
        [left, right]
    } else {
        resample_stereo(&left, &right, source_rate_hz, session_rate_hz).map_err(|e| e.0)?
    };
    Ok(DecodedReference {
        sample_rate_hz: session_rate_hz,
        source_rate_hz,
        left,
        right,
        non_finite_samples,
    })
}

/// `seconds` in minutes, to two decimals at most ("10", "0.5").
fn minutes(seconds: f64) -> String {
    format!("{}", (seconds / 60.0 * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Mp3Encoder;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A file under the temporary directory, unique to this process and call, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            Self(
                std::env::temp_dir()
                    .join(format!("stem-reference-{}-{n}-{name}", std::process::id())),
            )
        }

        fn name(&self) -> String {
            self.0.file_name().unwrap().to_string_lossy().into_owned()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// `amp * sin(2 pi 1000 t)` at `rate_hz` for `seconds`.
    fn sine_1k(amp: f64, rate_hz: u32, seconds: f64) -> Vec<f64> {
        let n = (rate_hz as f64 * seconds).round() as usize;
        (0..n)
            .map(|i| amp * (std::f64::consts::TAU * 1000.0 * i as f64 / rate_hz as f64).sin())
            .collect()
    }

    /// A 16-bit PCM WAV of `channels` interleaved channels, each `x`.
    fn write_wav_16(file: &TempFile, rate_hz: u32, channels: u16, x: &[f64]) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate_hz,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&file.0, spec).unwrap();
        for &v in x {
            for _ in 0..channels {
                w.write_sample((v * 32767.0).round() as i16).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    fn rms_db(x: &[f32]) -> f64 {
        let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64;
        10.0 * ms.log10()
    }

    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    #[test]
    fn a_44k1_sine_comes_out_at_48k_with_its_level_and_pitch() {
        // A 0.5-amplitude 1 kHz sine: RMS 0.5 / sqrt(2), -9.031 dBFS; 2000 zero crossings a
        // second; 2 s at 44.1 kHz is 88200 frames, round(88200 * 48000 / 44100) = 96000.
        let file = TempFile::new("sine.wav");
        let frames = 88_200usize;
        write_wav_16(&file, 44_100, 2, &sine_1k(0.5, 44_100, 2.0));
        let r = load_reference(&file.0, 48_000, 60.0).unwrap();
        assert_eq!((r.sample_rate_hz, r.source_rate_hz), (48_000, 44_100));
        let expected = (frames as f64 * 48_000.0 / 44_100.0).round() as usize;
        assert_eq!((r.left.len(), r.right.len()), (expected, expected));
        assert_eq!(expected, 96_000);
        assert_eq!(r.non_finite_samples, 0);
        // The middle second, away from the resampler's edges.
        let mid = &r.left[24_000..72_000];
        let written_db = 20.0 * (0.5f64 / 2f64.sqrt()).log10();
        assert!(
            (rms_db(mid) - written_db).abs() < 0.05,
            "{} vs {written_db}",
            rms_db(mid)
        );
        let crossings = zero_crossings(mid);
        assert!(crossings.abs_diff(2000) <= 2, "{crossings}");
        assert_eq!(r.left, r.right);
    }

    #[test]
    fn a_mono_wav_comes_out_on_both_sides() {
        let file = TempFile::new("mono.wav");
        write_wav_16(&file, 48_000, 1, &sine_1k(0.25, 48_000, 0.5));
        let r = load_reference(&file.0, 48_000, 60.0).unwrap();
        assert_eq!(r.left.len(), 24_000);
        assert_eq!(r.left, r.right);
        // No resampling at the session's own rate: the samples are the file's, 16-bit.
        assert_eq!(
            r.left[12],
            (0.25 * (std::f64::consts::TAU * 12.0 / 48.0).sin() * 32767.0).round() as f32 / 32768.0
        );
    }

    #[test]
    fn an_mp3_loads() {
        // LAME at 320 kbps keeps a 1 kHz tone's level within a few hundredths of a dB.
        let file = TempFile::new("sine.MP3");
        let x: Vec<f32> = sine_1k(0.5, 48_000, 2.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut mp3 = Mp3Encoder::new(48_000, 320, Vec::new()).unwrap();
        for block in x.chunks(4096) {
            mp3.encode(block, block).unwrap();
        }
        std::fs::write(&file.0, mp3.finish().unwrap()).unwrap();
        let r = load_reference(&file.0, 48_000, 60.0).unwrap();
        assert_eq!(r.source_rate_hz, 48_000);
        assert!(r.left.len() >= 2 * 48_000, "{}", r.left.len());
        let written_db = 20.0 * (0.5f64 / 2f64.sqrt()).log10();
        let level_db = rms_db(&r.left[24_000..72_000]);
        assert!(
            (level_db - written_db).abs() < 0.1,
            "{level_db} vs {written_db}"
        );
    }

    #[test]
    fn garbage_a_missing_file_and_a_too_long_file_are_refused_by_name() {
        let garbage = TempFile::new("garbage.wav");
        std::fs::write(&garbage.0, vec![7u8; 4000]).unwrap();
        let err = load_reference(&garbage.0, 48_000, 60.0).unwrap_err();
        assert!(
            err.contains(&garbage.name()) && err.contains("not a stream the decoder reads"),
            "{err}"
        );

        let missing = TempFile::new("missing.flac");
        let err = load_reference(&missing.0, 48_000, 60.0).unwrap_err();
        assert!(
            err.contains(&missing.name()) && err.contains("does not exist"),
            "{err}"
        );

        // 1 s of audio against a 0.5 s (0.01-minute) limit: the header declares 48000 frames.
        let long = TempFile::new("long.wav");
        write_wav_16(&long, 48_000, 2, &sine_1k(0.5, 48_000, 1.0));
        let err = load_reference(&long.0, 48_000, 0.5).unwrap_err();
        assert!(
            err.contains(&long.name()) && err.contains("0.01 minutes"),
            "{err}"
        );
    }

    #[test]
    fn a_wav_that_declares_no_length_is_stopped_while_decoding() {
        // A streaming WAV (RIFF and data lengths 0xFFFFFFFF) declares no length: only the
        // decoded length, 2 s against a 1 s limit, can refuse it.
        let file = TempFile::new("streaming.wav");
        write_wav_16(&file, 48_000, 2, &sine_1k(0.5, 48_000, 2.0));
        let mut bytes = std::fs::read(&file.0).unwrap();
        let data = bytes.windows(4).position(|w| w == b"data").unwrap();
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        bytes[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&file.0, bytes).unwrap();
        let stream = PacketStream::open(Box::new(File::open(&file.0).unwrap()), "wav").unwrap();
        assert_eq!(stream.declared_frames, None);
        let err = load_reference(&file.0, 48_000, 1.0).unwrap_err();
        assert!(
            err.contains(&file.name()) && err.contains("0.02 minutes"),
            "{err}"
        );
        // Within the limit the same file loads whole.
        assert_eq!(
            load_reference(&file.0, 48_000, 3.0).unwrap().left.len(),
            96_000
        );
    }

    #[test]
    fn more_than_two_channels_and_a_rate_out_of_range_are_refused() {
        let surround = TempFile::new("three.wav");
        write_wav_16(&surround, 48_000, 3, &sine_1k(0.5, 48_000, 0.1));
        let err = load_reference(&surround.0, 48_000, 60.0).unwrap_err();
        assert!(
            err.contains(&surround.name()) && err.contains("3 channels"),
            "{err}"
        );

        let slow = TempFile::new("slow.wav");
        write_wav_16(&slow, 4_000, 2, &vec![0.0; 400]);
        let err = load_reference(&slow.0, 48_000, 60.0).unwrap_err();
        assert!(
            err.contains(&slow.name()) && err.contains("4000 Hz"),
            "{err}"
        );
    }

    #[test]
    fn a_nan_sample_is_replaced_and_counted() {
        let file = TempFile::new("nan.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&file.0, spec).unwrap();
        for i in 0..1000 {
            let (l, r) = if i == 500 {
                (f32::NAN, 0.25)
            } else {
                (0.25, 0.25)
            };
            w.write_sample(l).unwrap();
            w.write_sample(r).unwrap();
        }
        w.finalize().unwrap();
        let r = load_reference(&file.0, 48_000, 60.0).unwrap();
        assert_eq!(r.non_finite_samples, 1);
        assert_eq!(r.left[500], 0.0);
        assert_eq!(r.left[499], 0.25);
        assert!(r.left.iter().chain(&r.right).all(|x| x.is_finite()));
    }
}
