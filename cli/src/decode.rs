//! Audio file input: every layout a DAW writes for stems, through `symphonia`.
//!
//! Read: WAV (PCM and IEEE float, `WAVE_FORMAT_EXTENSIBLE` with any valid-bit count in its
//! container, e.g. 24-bit samples in 32-bit slots or 20 in 24, odd-sized chunks with their pad
//! byte before the audio), RF64/BW64 (EBU Tech 3306: the 64-bit sizes of its `ds64` chunk), AIFF
//! and AIFF-C (Logic's default stem export), FLAC. Integer PCM of 16 to 32 bits and 32/64-bit
//! float; full scale is 1.0 (`i16 / 2^15`, `i24 / 2^23`, `i32 / 2^31`, as the decoder converts).
//!
//! Every way a file can be unusable becomes an [`Error`] naming the file: missing, empty, not
//! audio, truncated (fewer frames than the header declares), 8-bit, more than two channels (where
//! `stem render` takes stems; `stem report` and `stem check` measure up to eight,
//! [`crate::layout`]), a
//! sample rate outside 22.05-384 kHz, no audio. A header's declared length is checked against
//! the file's size before any audio is decoded ([`crate::declared`]), and [`AudioReader`] reads
//! block by block, so neither a hostile header nor a long programme sizes a buffer.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use symphonia::core::audio::sample::SampleFormat;
use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_AAC, CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3, CODEC_ID_OPUS, CODEC_ID_PCM_F32BE,
    CODEC_ID_PCM_F32LE, CODEC_ID_PCM_F64BE, CODEC_ID_PCM_F64LE, CODEC_ID_VORBIS,
};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::audio::{Audio, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use crate::declared::check_declared_length;
use crate::error::{Error, Result};
use crate::files::display_name;
use crate::layout::{layout_of, ChannelLayout};

/// What a file holds, known once it is opened (before any audio is decoded).
#[derive(Clone, Debug)]
pub struct AudioSpec {
    pub path: PathBuf,
    pub sample_rate_hz: u32,
    pub bits_per_sample: u16,
    /// `true` for IEEE float data, `false` for integer PCM.
    pub float: bool,
    /// One or two for [`AudioReader::open`]; up to [`MAX_MEASURED_CHANNELS`] for
    /// [`AudioReader::open_for_measurement`].
    pub channels: usize,
    /// The speakers and their BS.1770 weights.
    pub layout: ChannelLayout,
    /// The frame count the header declares (checked against the file's size for WAV, RF64 and
    /// AIFF), if it declares one.
    pub declared_frames: Option<u64>,
    /// The lossy codec the audio is coded with (MP3, Vorbis, AAC, ...), `None` for PCM and FLAC.
    pub lossy_codec: Option<&'static str>,
}

/// A file read block by block: [`AudioReader::open`] checks everything a header can say (the
/// same errors `read_audio` gives), [`AudioReader::read_block`] decodes the next frames. Memory
/// is one decoded packet plus the caller's block, whatever the file's length.
pub struct AudioReader {
    spec: AudioSpec,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// The current packet, planar, and how much of it was handed out.
    packet: Vec<Vec<f32>>,
    packet_pos: usize,
    frames_read: u64,
    non_finite: usize,
    done: bool,
}

/// The most channels `stem report` measures (7.1).
pub const MAX_MEASURED_CHANNELS: usize = 8;

impl AudioReader {
    /// Opens a mono or stereo `path` (WAV, RF64, AIFF, FLAC) and reads its headers, or says
    /// exactly why it cannot: stems and mixes.
    pub fn open(path: &Path) -> Result<Self> {
        let reader = Self::open_with_channels(path, 2)?;
        if let Some(codec) = reader.spec.lossy_codec {
            // Read, because a reference or a rough stem set may only exist so; said, because
            // a lossy stem has lost what mastering works on and carries its coder's delay (an
            // MP3 starts 1105 samples or more late), which misaligns it against lossless files.
            eprintln!(
                "stem: warning: {}: lossy {codec} audio; stems and mixes should be lossless \
                 exports (WAV, AIFF, FLAC), and its coder's delay shifts it against the others",
                display_name(path)
            );
        }
        Ok(reader)
    }

    /// [`Self::open`] for a master or reference to compare with: a commercial reference is as
    /// often lossy as not, so that is not warned about.
    pub fn open_for_comparison(path: &Path) -> Result<Self> {
        Self::open_with_channels(path, 2)
    }

    /// [`Self::open`] for a file that is only measured: also 5.0, 5.1, 7.1 and other layouts of
    /// up to [`MAX_MEASURED_CHANNELS`] channels.
    pub fn open_for_measurement(path: &Path) -> Result<Self> {
        Self::open_with_channels(path, MAX_MEASURED_CHANNELS)
    }

    fn open_with_channels(path: &Path, max_channels: usize) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::file(path, io_reason(&e)))?;
        if meta.is_dir() {
            return Err(Error::file(path, "is a directory, not an audio file"));
        }
        if meta.len() == 0 {
            return Err(Error::file(path, "empty file (0 bytes): not a WAV file"));
        }
        let file = File::open(path).map_err(|e| Error::file(path, io_reason(&e)))?;
        let source = Rf64AsRiff::new(file).map_err(|e| Error::file(path, e))?;
        let family = source.family;
        let mss = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| Error::file(path, probe_reason(&e, family)))?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| Error::file(path, "holds no audio track"))?;
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .cloned()
            .ok_or_else(|| Error::file(path, "its audio encoding is not one this tool reads"))?;

        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        let sample_rate_hz = params.sample_rate.unwrap_or(0);
        let float = matches!(
            params.sample_format,
            Some(SampleFormat::F32 | SampleFormat::F64)
        ) || [
            CODEC_ID_PCM_F32LE,
            CODEC_ID_PCM_F32BE,
            CODEC_ID_PCM_F64LE,
            CODEC_ID_PCM_F64BE,
        ]
        .contains(&params.codec);
        let bits = params
            .bits_per_sample
            .or(params.bits_per_coded_sample)
            .unwrap_or(0);
        if bits != 0 && bits <= 8 {
            return Err(Error::file(
                path,
                format!("{bits}-bit PCM is not supported: export stems at 24-bit or 32-bit float"),
            ));
        }
        let layout = params
            .channels
            .as_ref()
            .map_or_else(|| layout_of(&Channels::Discrete(0)), layout_of);
        if channels == 0 {
            return Err(Error::file(path, "0 channels: holds no audio channel"));
        }
        if channels > max_channels {
            return Err(Error::file(
                path,
                if max_channels == 2 && channels <= MAX_MEASURED_CHANNELS {
                    format!(
                        "{channels} channels ({}): stems and mixes must be mono or stereo \
                         (`stem report` measures it)",
                        layout.name
                    )
                } else {
                    format!("{channels} channels: at most {max_channels} are supported")
                },
            ));
        }
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
            return Err(Error::file(
                path,
                format!(
                    "sample rate {sample_rate_hz} Hz is outside the supported 22 050-384 000 Hz"
                ),
            ));
        }
        if declared_frames == Some(0) {
            return Err(Error::file(path, "contains no audio (0 frames)"));
        }
        // The header's length against the file's before a single sample is decoded.
        let mut raw = File::open(path).map_err(|e| Error::file(path, io_reason(&e)))?;
        let mut head = [0u8; 12];
        let got = read_up_to(&mut raw, &mut head).map_err(|e| Error::file(path, io_reason(&e)))?;
        check_declared_length(&mut raw, meta.len(), &head[..got])
            .map_err(|e| Error::file(path, e))?;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| Error::file(path, format!("cannot decode its audio: {e}")))?;
        Ok(Self {
            spec: AudioSpec {
                path: path.to_path_buf(),
                sample_rate_hz,
                bits_per_sample: bits as u16,
                float,
                channels,
                layout,
                declared_frames,
                lossy_codec: [
                    (CODEC_ID_MP3, "MP3"),
                    (CODEC_ID_MP2, "MP2"),
                    (CODEC_ID_MP1, "MP1"),
                    (CODEC_ID_VORBIS, "Vorbis"),
                    (CODEC_ID_OPUS, "Opus"),
                    (CODEC_ID_AAC, "AAC"),
                ]
                .into_iter()
                .find(|(id, _)| *id == params.codec)
                .map(|(_, name)| name),
            },
            format,
            decoder,
            track_id,
            packet: Vec::new(),
            packet_pos: 0,
            frames_read: 0,
            non_finite: 0,
            done: false,
        })
    }

    pub fn spec(&self) -> &AudioSpec {
        &self.spec
    }

    /// NaN or infinite samples met so far (float files; each handed out as 0).
    pub fn non_finite_samples(&self) -> usize {
        self.non_finite
    }

    /// Frames handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Replaces `out`'s contents (one `Vec` per channel of the file) with the next frames, at
    /// most `max_frames`; returns how many, 0 at the end of the audio. The end is checked like
    /// [`read_audio`] checks it: audio ending before the declared length, or no audio at all,
    /// is an error.
    pub fn read_block(&mut self, out: &mut [Vec<f32>], max_frames: usize) -> Result<usize> {
        for c in out.iter_mut() {
            c.clear();
        }
        let mut n = 0;
        while n < max_frames && !self.done {
            let have = self.packet.first().map_or(0, Vec::len) - self.packet_pos;
            if have == 0 {
                self.next_packet()?;
                continue;
            }
            let take = have.min(max_frames - n);
            for (dst, src) in out.iter_mut().zip(&self.packet) {
                dst.extend_from_slice(&src[self.packet_pos..self.packet_pos + take]);
            }
            self.packet_pos += take;
            self.frames_read += take as u64;
            n += take;
        }
        if self.spec.float {
            for x in out.iter_mut().flatten() {
                if !x.is_finite() {
                    *x = 0.0;
                    self.non_finite += 1;
                }
            }
        }
        Ok(n)
    }

    /// Decodes the next packet of the track into `self.packet`, or marks the end after checking
    /// the length: fewer frames than declared, or none at all, is an error.
    fn next_packet(&mut self) -> Result<()> {
        let path = &self.spec.path;
        let mut ended_early = false;
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(DecodeError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    ended_early = true;
                    break;
                }
                Err(e) => return Err(Error::file(path, format!("cannot read its audio: {e}"))),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(DecodeError::DecodeError(what)) => {
                    return Err(Error::file(path, format!("corrupt audio data ({what})")))
                }
                Err(e) => return Err(Error::file(path, format!("cannot decode its audio: {e}"))),
            };
            decoded.copy_to_vecs_planar::<f32>(&mut self.packet);
            self.packet_pos = 0;
            return Ok(());
        }
        self.done = true;
        self.packet.iter_mut().for_each(Vec::clear);
        self.packet_pos = 0;
        let frames = self.frames_read;
        if let Some(declared) = self.spec.declared_frames {
            if frames < declared || ended_early {
                return Err(Error::file(
                    path,
                    format!(
                        "truncated: the header promises {declared} frames but the file holds only \
                         {frames} (incomplete copy or export?)"
                    ),
                ));
            }
        }
        if frames == 0 {
            return Err(Error::file(path, "contains no audio (0 frames)"));
        }
        Ok(())
    }
}

/// Frames per block the commands decode at a time (64 Ki frames: 512 kB per stereo block).
pub const READ_BLOCK_FRAMES: usize = 1 << 16;

/// A file's frame count: its header's, else counted by decoding it once.
pub fn frame_count(spec: &AudioSpec) -> Result<u64> {
    match spec.declared_frames {
        Some(f) => Ok(f),
        None => Ok(AudioReader::open(&spec.path)?.for_each_block(|_| {})?.0),
    }
}

impl AudioReader {
    /// Feeds every block of the file to `f` (one slice per channel), then returns the frames
    /// read and the NaN/Inf samples met (handed to `f` as 0).
    pub fn for_each_block(mut self, mut f: impl FnMut(&[&[f32]])) -> Result<(u64, usize)> {
        let mut block: Vec<Vec<f32>> = vec![Vec::new(); self.spec.channels];
        while self.read_block(&mut block, READ_BLOCK_FRAMES)? > 0 {
            let refs: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
            f(&refs);
        }
        Ok((self.frames_read, self.non_finite))
    }
}

/// Reads a whole audio file (WAV, RF64, AIFF, FLAC) into memory, or says exactly why it cannot:
/// [`AudioReader`] block by block into one `Vec` per channel. For short files (tests, the
/// demo); the commands stream long programmes instead.
pub fn read_audio(path: &Path) -> Result<Audio> {
    read_whole(path, AudioReader::open(path)?)
}

/// [`read_audio`] for a master or reference to compare with
/// ([`AudioReader::open_for_comparison`]).
pub fn read_for_comparison(path: &Path) -> Result<Audio> {
    read_whole(path, AudioReader::open_for_comparison(path)?)
}

fn read_whole(path: &Path, mut reader: AudioReader) -> Result<Audio> {
    let spec = reader.spec().clone();
    // Reserve no more than the file's bytes can hold (at least one byte per sample for any
    // encoding we read, uncompressed or FLAC at its best), whatever the header claims.
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let reserve = spec
        .declared_frames
        .unwrap_or(0)
        .min(bytes / spec.channels as u64) as usize;
    let mut planar: Vec<Vec<f32>> = (0..spec.channels)
        .map(|_| Vec::with_capacity(reserve))
        .collect();
    let mut block: Vec<Vec<f32>> = vec![Vec::new(); spec.channels];
    while reader.read_block(&mut block, READ_BLOCK_FRAMES)? > 0 {
        for (dst, src) in planar.iter_mut().zip(&block) {
            dst.extend_from_slice(src);
        }
    }
    Ok(Audio {
        path: spec.path,
        sample_rate_hz: spec.sample_rate_hz,
        bits_per_sample: spec.bits_per_sample,
        float: spec.float,
        channels: planar,
        non_finite_samples: reader.non_finite_samples(),
    })
}

/// What the first bytes say the file is, for error messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Wav,
    Aiff,
    Flac,
    Unknown,
}

fn probe_reason(e: &DecodeError, family: Family) -> String {
    let name = match family {
        Family::Wav => "WAV",
        Family::Aiff => "AIFF",
        Family::Flac => "FLAC",
        Family::Unknown => {
            return "not a valid WAV file, nor AIFF or FLAC (no audio header found); is it \
                    audio exported as WAV?"
                .to_string()
        }
    };
    match e {
        DecodeError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("truncated: the file ends inside its {name} header")
        }
        DecodeError::Unsupported(what) => {
            format!("unsupported {name} encoding ({what}): export PCM or float")
        }
        other => format!("not a valid {name} file ({other})"),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => format!("cannot read: {e}"),
    }
}

/// The file as `symphonia` can read it. An RF64 or BW64 file (EBU Tech 3306) is a RIFF WAVE
/// whose 32-bit sizes are `0xFFFFFFFF` placeholders for the 64-bit sizes of its `ds64` chunk;
/// `symphonia` reads RIFF only, so below 4 GiB of audio the placeholders are presented patched
/// (the `RF64` tag as `RIFF`, the data chunk's size from `ds64`). Larger RF64 files are refused
/// with a clear message. Other files pass through untouched.
struct Rf64AsRiff {
    file: File,
    len: u64,
    pos: u64,
    family: Family,
    /// (offset, bytes) presented in place of the file's own bytes.
    patches: Vec<(u64, [u8; 4])>,
}

impl Rf64AsRiff {
    fn new(mut file: File) -> std::result::Result<Self, String> {
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read: {e}"))?
            .len();
        let mut head = [0u8; 12];
        let got = read_up_to(&mut file, &mut head).map_err(|e| format!("cannot read: {e}"))?;
        let family = match &head[..4.min(got)] {
            b"RIFF" | b"RF64" | b"BW64" => Family::Wav,
            b"FORM" => Family::Aiff,
            b"fLaC" => Family::Flac,
            _ => Family::Unknown,
        };
        let mut patches = Vec::new();
        if got == 12 && matches!(&head[..4], b"RF64" | b"BW64") {
            patches = rf64_patches(&mut file, len)?;
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| format!("cannot read: {e}"))?;
        Ok(Self {
            file,
            len,
            pos: 0,
            family,
            patches,
        })
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The byte patches that make an RF64 file read as RIFF: walks the chunks after the 12-byte
/// header, takes the 64-bit data size from `ds64` and rewrites the `data` chunk's placeholder.
fn rf64_patches(file: &mut File, len: u64) -> std::result::Result<Vec<(u64, [u8; 4])>, String> {
    let io = |e: std::io::Error| format!("cannot read: {e}");
    let mut patches = vec![(0, *b"RIFF")];
    let mut data_size: Option<u64> = None;
    let mut offset = 12u64;
    while offset + 8 <= len {
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut header = [0u8; 8];
        if read_up_to(file, &mut header).map_err(io)? < 8 {
            break;
        }
        let size32 = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        match &header[..4] {
            b"ds64" => {
                let mut ds = [0u8; 16];
                if read_up_to(file, &mut ds).map_err(io)? < 16 {
                    return Err("truncated: the file ends inside its RF64 ds64 chunk".into());
                }
                let riff = u64::from_le_bytes(ds[..8].try_into().unwrap());
                let data = u64::from_le_bytes(ds[8..].try_into().unwrap());
                let riff32 = u32::try_from(riff.min(u32::MAX as u64)).unwrap_or(u32::MAX);
                patches.push((4, riff32.to_le_bytes()));
                data_size = Some(data);
            }
            b"data" => {
                let size = if size32 == u32::MAX {
                    data_size.ok_or("RF64 file without a ds64 chunk before its audio")?
                } else {
                    size32 as u64
                };
                if size >= u32::MAX as u64 {
                    return Err(format!(
                        "RF64 file with {size} bytes of audio: files over 4 GiB are not read; \
                         split the export"
                    ));
                }
                patches.push((offset + 4, (size as u32).to_le_bytes()));
                return Ok(patches);
            }
            _ => {}
        }
        // RIFF chunks are padded to an even size (EBU Tech 3306 keeps that rule).
        offset += 8 + size32 as u64 + (size32 as u64 & 1);
    }
    Err("not a valid RF64 file: no data chunk found".into())
}

impl Read for Rf64AsRiff {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        for (at, bytes) in &self.patches {
            for (i, b) in bytes.iter().enumerate() {
                let abs = at + i as u64;
                if abs >= self.pos && abs < self.pos + n as u64 {
                    buf[(abs - self.pos) as usize] = *b;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Rf64AsRiff {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl MediaSource for Rf64AsRiff {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
