//! Lossy encoders, block by block into any byte sink (a file for the `stem` tool's deliveries,
//! memory for the Stem Master's codec headroom readout): MP3 through LAME (`mp3lame-encoder`,
//! constant bitrate, LAME's recommended high quality, -q 2) and Ogg Vorbis through libvorbis/aoTuV (`vorbis_rs`, VBR at
//! a target bitrate). Both crates build their C library from its bundled source.

use std::io::Write;
use std::num::{NonZeroU32, NonZeroU8};

/// MP3 bitrates LAME encodes at constant bitrate (MPEG-1 layer III), kbps.
pub const MP3_KBPS: [u32; 14] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
];

/// The rate a lossy delivery of a master at `rate_hz` is coded at: its own at 32, 44.1 and
/// 48 kHz (the rates MPEG-1 layer III has, and what streaming services code at), else 44.1 kHz
/// for the 44.1 kHz family and 48 kHz for the rest. LAME resamples MP3 itself; libvorbis
/// refuses very high rates (384 kHz: "not implemented") and AAC stops at 96 kHz, so the
/// `stem` tool resamples those first.
pub fn lossy_rate_hz(rate_hz: u32) -> u32 {
    match rate_hz {
        32_000 | 44_100 | 48_000 => rate_hz,
        r if r % 11_025 == 0 => 44_100,
        _ => 48_000,
    }
}

/// An MP3 stream being written to `W`.
pub struct Mp3Encoder<W: Write> {
    lame: mp3lame_encoder::Encoder,
    sink: W,
    bytes: Vec<u8>,
}

impl<W: Write> Mp3Encoder<W> {
    /// Stereo at `sample_rate_hz` (22.05-384 kHz: LAME resamples to [`lossy_rate_hz`]), constant
    /// `kbps` (one of [`MP3_KBPS`]).
    pub fn new(sample_rate_hz: u32, kbps: u32, sink: W) -> Result<Self, String> {
        use mp3lame_encoder::{Bitrate, Builder, Quality};
        let bitrate = match kbps {
            32 => Bitrate::Kbps32,
            40 => Bitrate::Kbps40,
            48 => Bitrate::Kbps48,
            64 => Bitrate::Kbps64,
            80 => Bitrate::Kbps80,
            96 => Bitrate::Kbps96,
            112 => Bitrate::Kbps112,
            128 => Bitrate::Kbps128,
            160 => Bitrate::Kbps160,
            192 => Bitrate::Kbps192,
            224 => Bitrate::Kbps224,
            256 => Bitrate::Kbps256,
            320 => Bitrate::Kbps320,
            _ => return Err(format!("LAME has no constant bitrate of {kbps} kbps")),
        };
        let lame = |e: &dyn std::fmt::Debug| format!("LAME: {e:?}");
        let mut builder = Builder::new().ok_or("LAME could not start")?;
        builder.set_num_channels(2).map_err(|e| lame(&e))?;
        builder
            .set_sample_rate(sample_rate_hz)
            .map_err(|e| lame(&e))?;
        builder
            .set_output_sample_rate(NonZeroU32::new(lossy_rate_hz(sample_rate_hz)))
            .map_err(|e| lame(&e))?;
        builder.set_brate(bitrate).map_err(|e| lame(&e))?;
        // LAME's -q 2 ("-h"), the quality its documentation recommends: -q 0 is about 3x
        // slower for no audible gain.
        builder
            .set_quality(Quality::NearBest)
            .map_err(|e| lame(&e))?;
        Ok(Self {
            lame: builder.build().map_err(|e| lame(&e))?,
            sink,
            bytes: Vec::new(),
        })
    }

    /// Encodes a block (samples in [-1, 1]).
    pub fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<(), String> {
        self.bytes.clear();
        self.bytes
            .reserve(mp3lame_encoder::max_required_buffer_size(left.len()));
        self.lame
            .encode_to_vec(mp3lame_encoder::DualPcm { left, right }, &mut self.bytes)
            .map_err(|e| format!("LAME: {e:?}"))?;
        self.sink.write_all(&self.bytes).map_err(|e| e.to_string())
    }

    /// Flushes the last frames and returns the sink.
    pub fn finish(mut self) -> Result<W, String> {
        self.bytes.clear();
        self.bytes.reserve(7200);
        self.lame
            .flush_to_vec::<mp3lame_encoder::FlushNoGap>(&mut self.bytes)
            .map_err(|e| format!("LAME: {e:?}"))?;
        self.sink
            .write_all(&self.bytes)
            .map_err(|e| e.to_string())?;
        self.sink.flush().map_err(|e| e.to_string())?;
        Ok(self.sink)
    }
}

/// An Ogg Vorbis stream being written to `W`.
pub struct VorbisEncoder<W: Write> {
    inner: vorbis_rs::VorbisEncoder<W>,
}

impl<W: Write> VorbisEncoder<W> {
    /// Stereo at `sample_rate_hz`, VBR aiming at `kbps`. The stream serial is fixed, so the
    /// same master makes the same file.
    pub fn new(sample_rate_hz: u32, kbps: u32, sink: W) -> Result<Self, String> {
        use vorbis_rs::{VorbisBitrateManagementStrategy, VorbisEncoderBuilder};
        let rate = NonZeroU32::new(sample_rate_hz).ok_or("a sample rate of 0")?;
        let target = NonZeroU32::new(kbps * 1000).ok_or("a bitrate of 0")?;
        let inner = VorbisEncoderBuilder::new_with_serial(
            rate,
            NonZeroU8::new(2).expect("2 channels"),
            sink,
            0x5354_454d,
        )
        .bitrate_management_strategy(VorbisBitrateManagementStrategy::Vbr {
            target_bitrate: target,
        })
        .build()
        .map_err(|e| format!("libvorbis: {e}"))?;
        Ok(Self { inner })
    }

    /// Encodes a block (samples in [-1, 1]).
    pub fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<(), String> {
        self.inner
            .encode_audio_block([left, right])
            .map_err(|e| format!("libvorbis: {e}"))
    }

    /// Ends the stream and returns the sink.
    pub fn finish(self) -> Result<W, String> {
        let mut sink = self.inner.finish().map_err(|e| format!("libvorbis: {e}"))?;
        sink.flush().map_err(|e| e.to_string())?;
        Ok(sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_rates_follow_the_master_family() {
        assert_eq!(lossy_rate_hz(44_100), 44_100);
        assert_eq!(lossy_rate_hz(88_200), 44_100);
        assert_eq!(lossy_rate_hz(22_050), 44_100);
        assert_eq!(lossy_rate_hz(96_000), 48_000);
        assert_eq!(lossy_rate_hz(384_000), 48_000);
    }
}
