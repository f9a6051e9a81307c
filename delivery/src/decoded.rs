//! An encoding decoded again and measured: what a listener's decoder makes of it. symphonia
//! decodes MP3, Ogg Vorbis and AAC (MP4) packet by packet (memory independent of the length);
//! every packet goes straight into the suite's BS.1770-5 meters (integrated loudness, true peak
//! oversampled to at least 176.4 kHz), the same meters the reports and the plugins use.

use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::meter::true_peak::TruePeakMeter;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

/// True peak (dBTP) and integrated loudness (LUFS) of a stereo programme, fed block by block.
pub struct DecodedMeter {
    loudness: LoudnessMeter,
    true_peak: TruePeakMeter,
}

impl DecodedMeter {
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            loudness: LoudnessMeter::new(2, sample_rate_hz),
            true_peak: TruePeakMeter::new(2, sample_rate_hz),
        }
    }

    pub fn feed(&mut self, left: &[f32], right: &[f32]) {
        self.loudness.process_block(&[left, right]);
        self.true_peak.process_block(&[left, right]);
    }

    /// (true peak dBTP, integrated LUFS).
    pub fn finish(mut self) -> (f64, f64) {
        // The true-peak interpolator's latency: the last samples' peaks come out of its tail.
        let tail = vec![0.0f32; self.true_peak.latency_samples() + 64];
        self.true_peak.process_block(&[&tail, &tail]);
        (
            self.true_peak.true_peak_dbtp(),
            self.loudness.integrated_lufs(),
        )
    }
}

/// What the decoder gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decoded {
    pub sample_rate_hz: u32,
    pub frames: u64,
    pub true_peak_dbtp: f64,
    pub integrated_lufs: f64,
}

/// A stream opened and probed, its header read, no packet decoded yet: what the container
/// declares is known before anything is decoded, so a caller can refuse a stream (too many
/// channels, too long) before spending memory on it.
pub struct PacketStream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// The audio track's sample rate, Hz.
    pub sample_rate_hz: u32,
    /// Channels the header declares, if it does.
    pub channels: Option<usize>,
    /// Frames the header declares, if it does (a hint: the decoder may give more or fewer).
    pub declared_frames: Option<u64>,
}

impl PacketStream {
    /// Probes `source` (`extension` hints the container) and opens its default audio track.
    pub fn open(source: Box<dyn MediaSource>, extension: &str) -> Result<Self, String> {
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        hint.with_extension(extension);
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| format!("not a stream the decoder reads: {e}"))?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or("holds no audio track")?;
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .cloned()
            .ok_or("its audio encoding is not one the decoder reads")?;
        let sample_rate_hz = params.sample_rate.ok_or("no sample rate")?;
        let channels = params.channels.as_ref().map(|c| c.count());
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| format!("cannot decode it: {e}"))?;
        Ok(Self {
            format,
            decoder,
            track_id,
            sample_rate_hz,
            channels,
            declared_frames,
        })
    }

    /// Decodes every packet of the track, handing each to `f` as (left, right) (a mono stream
    /// counts as both sides; beyond two channels the first two). Returns the frames decoded.
    /// An error from `f` stops decoding and is returned as is.
    pub fn for_each(
        mut self,
        mut f: impl FnMut(&[f32], &[f32]) -> Result<(), String>,
    ) -> Result<u64, String> {
        let mut planar: Vec<Vec<f32>> = Vec::new();
        let mut frames = 0u64;
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(DecodeError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    break
                }
                Err(e) => return Err(format!("cannot read it: {e}")),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let audio = match self.decoder.decode(&packet) {
                Ok(a) => a,
                // A damaged packet is skipped, as players do.
                Err(DecodeError::DecodeError(_)) => continue,
                Err(e) => return Err(format!("cannot decode it: {e}")),
            };
            audio.copy_to_vecs_planar::<f32>(&mut planar);
            let left = planar.first().map(Vec::as_slice).unwrap_or(&[]);
            let right = planar.get(1).map_or(left, Vec::as_slice);
            f(left, right)?;
            frames += left.len() as u64;
        }
        Ok(frames)
    }
}

/// Decodes `source` (`extension` hints the container) packet by packet into `f` (left, right;
/// a mono stream counts as both sides). Returns (sample rate Hz, frames decoded).
pub fn for_each_packet(
    source: Box<dyn MediaSource>,
    extension: &str,
    f: impl FnMut(&[f32], &[f32]) -> Result<(), String>,
) -> Result<(u32, u64), String> {
    let stream = PacketStream::open(source, extension)?;
    let sample_rate_hz = stream.sample_rate_hz;
    let frames = stream.for_each(f)?;
    Ok((sample_rate_hz, frames))
}

/// Decodes `source` (an MP3, Ogg Vorbis or MP4/AAC stream; `extension` hints the container)
/// and measures it. A mono stream counts as both sides.
pub fn measure(source: Box<dyn MediaSource>, extension: &str) -> Result<Decoded, String> {
    let stream = PacketStream::open(source, extension)?;
    let sample_rate_hz = stream.sample_rate_hz;
    let mut meter = DecodedMeter::new(sample_rate_hz as f64);
    let frames = stream.for_each(|left, right| {
        meter.feed(left, right);
        Ok(())
    })?;
    if frames == 0 {
        return Err("decodes to no audio".to_string());
    }
    let (true_peak_dbtp, integrated_lufs) = meter.finish();
    Ok(Decoded {
        sample_rate_hz,
        frames,
        true_peak_dbtp,
        integrated_lufs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Mp3Encoder, VorbisEncoder};
    use std::io::Cursor;

    /// A 1 kHz sine at `amp` for `seconds`, stereo, 48 kHz.
    fn sine(amp: f32, seconds: f64) -> Vec<f32> {
        let n = (48_000.0 * seconds) as usize;
        (0..n)
            .map(|i| amp * (std::f32::consts::TAU * 1000.0 * i as f32 / 48_000.0).sin())
            .collect()
    }

    #[test]
    fn a_sine_through_either_codec_measures_as_the_sine() {
        // A -6.02 dBFS 1 kHz sine: true peak -6.02 dBTP; BS.1770 reads a full-scale 1 kHz
        // sine in one channel at -3.01 LUFS (its calibration: the -0.691 offset cancels the
        // K-weighting's gain at 1 kHz), so in both channels 0.00 LUFS, here -6.02 LUFS. LAME at
        // 320 kbps keeps the tone within 0.02 dB; Vorbis at 160 kbps lifts its peak by 0.23 dB
        // (its noise shaping on a pure tone) and its loudness by 0.08 LU.
        let x = sine(0.5, 5.0);
        let mut mp3 = Mp3Encoder::new(48_000, 320, Vec::new()).unwrap();
        let mut ogg = VorbisEncoder::new(48_000, 160, Vec::new()).unwrap();
        for block in x.chunks(4096) {
            mp3.encode(block, block).unwrap();
            ogg.encode(block, block).unwrap();
        }
        for (bytes, ext) in [
            (mp3.finish().unwrap(), "mp3"),
            (ogg.finish().unwrap(), "ogg"),
        ] {
            let d = measure(Box::new(Cursor::new(bytes)), ext).unwrap();
            assert_eq!(d.sample_rate_hz, 48_000);
            assert!((d.true_peak_dbtp + 6.02).abs() < 0.3, "{ext}: {d:?}");
            assert!((d.integrated_lufs + 6.02).abs() < 0.1, "{ext}: {d:?}");
            assert!(d.frames >= 5 * 48_000, "{ext}: {d:?}");
        }
    }

    #[test]
    fn garbage_is_named_not_measured() {
        let err = measure(Box::new(Cursor::new(vec![7u8; 4000])), "mp3").unwrap_err();
        assert!(!err.is_empty());
    }
}
