//! A file's declared audio length against the bytes it actually holds, checked from the headers
//! alone before any audio is decoded or any buffer sized.
//!
//! "Holds" means the file's length on disk past the start of the audio data: a sparse file's
//! holes read as zeros, so a sparse file as long as its header says is a valid file of silence
//! (it is read, block by block, like any other). A header that claims more audio than the file
//! is long is a truncated file (an interrupted copy or export, or a hostile header): refused
//! with both figures, as `read_audio` always refused a file that ends early, but now before the
//! first sample is decoded instead of after the last.
//!
//! Checked: WAV and RF64/BW64 (the `data` chunk's size, 64-bit from `ds64` for RF64, against the
//! bytes after the chunk header; frames from the `fmt ` chunk's block alignment) and AIFF/AIFF-C
//! (`COMM`'s frame count times the frame size against the bytes after `SSND`'s offset). FLAC is
//! compressed, so its STREAMINFO frame count has no byte size to check; a short FLAC file is
//! found when its audio ends early, as before.

use std::fs::File;

use crate::riff::{chunks, is_riff, read_at};

/// Why a header's claim cannot be met, or `Ok` when it can (or the format is not one whose
/// length is checked here). `head` is the file's first 12 bytes.
pub fn check_declared_length(file: &mut File, len: u64, head: &[u8]) -> Result<(), String> {
    let layout = match head.get(..4) {
        Some(_) if is_riff(head) => riff_layout(file, len),
        Some(b"FORM") => aiff_layout(file, len, head.get(8..12) == Some(b"AIFC")),
        _ => Ok(None),
    }
    .map_err(|e| format!("cannot read: {e}"))?;
    let Some(DataLayout {
        data_offset,
        declared_bytes,
        frame_bytes,
    }) = layout
    else {
        return Ok(());
    };
    let held = len.saturating_sub(data_offset);
    if declared_bytes <= held || frame_bytes == 0 {
        return Ok(());
    }
    let declared_frames = declared_bytes / frame_bytes;
    Err(format!(
        "truncated: the header declares {} frames ({:.1} GB of audio) but the file holds {} \
         bytes of audio data ({} frames): incomplete copy or export?",
        thousands(declared_frames),
        declared_bytes as f64 / 1e9,
        thousands(held),
        thousands(held / frame_bytes),
    ))
}

/// Where the audio starts, how many bytes of it the header declares, bytes per frame.
struct DataLayout {
    data_offset: u64,
    declared_bytes: u64,
    frame_bytes: u64,
}

/// `1073741760` -> `1,073,741,760`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// RIFF chunks: `fmt ` gives the block alignment, `data` the size (RF64: the 64-bit size from
/// `ds64`, see [`crate::riff`]).
fn riff_layout(file: &mut File, len: u64) -> std::io::Result<Option<DataLayout>> {
    let found = chunks(file, len, |c| &c.id == b"data")?;
    let mut frame_bytes = 0u64;
    for chunk in &found {
        match &chunk.id {
            b"fmt " => {
                let mut fmt = [0u8; 14];
                if read_at(file, chunk.body_offset, &mut fmt)? {
                    frame_bytes = u16::from_le_bytes([fmt[12], fmt[13]]) as u64;
                }
            }
            b"data" => {
                return Ok(Some(DataLayout {
                    data_offset: chunk.body_offset,
                    declared_bytes: chunk.size,
                    frame_bytes,
                }))
            }
            _ => {}
        }
    }
    Ok(None)
}

/// AIFF-C compression types whose frames are `channels * ceil(bits / 8)` bytes.
const AIFC_UNCOMPRESSED: [&[u8; 4]; 6] = [b"NONE", b"sowt", b"fl32", b"FL32", b"fl64", b"FL64"];

/// AIFF/AIFF-C chunks (big-endian) after the 12-byte `FORM` header: `COMM` gives channels, frame
/// count and sample size, `SSND` where its samples start. A compressed AIFF-C is not checked.
fn aiff_layout(file: &mut File, len: u64, aifc: bool) -> std::io::Result<Option<DataLayout>> {
    let mut comm: Option<(u64, u64)> = None; // (frames, bytes per frame)
    let mut ssnd: Option<u64> = None; // first audio byte
    let mut offset = 12u64;
    let mut header = [0u8; 8];
    while offset + 8 <= len && read_at(file, offset, &mut header)? {
        let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as u64;
        match &header[..4] {
            b"COMM" => {
                let mut c = [0u8; 22];
                let want = if aifc { 22 } else { 8 };
                if read_at(file, offset + 8, &mut c[..want])? {
                    if aifc && !AIFC_UNCOMPRESSED.iter().any(|t| c[18..22] == t[..]) {
                        return Ok(None);
                    }
                    let channels = u16::from_be_bytes([c[0], c[1]]) as u64;
                    let frames = u32::from_be_bytes([c[2], c[3], c[4], c[5]]) as u64;
                    let bits = u16::from_be_bytes([c[6], c[7]]) as u64;
                    comm = Some((frames, channels * bits.div_ceil(8)));
                }
            }
            b"SSND" => {
                let mut s = [0u8; 4];
                if read_at(file, offset + 8, &mut s)? {
                    ssnd = Some(offset + 16 + u32::from_be_bytes(s) as u64);
                }
            }
            _ => {}
        }
        offset += 8 + size + (size & 1);
    }
    Ok(match (comm, ssnd) {
        (Some((frames, frame_bytes)), Some(data_offset)) => Some(DataLayout {
            data_offset,
            declared_bytes: frames * frame_bytes,
            frame_bytes,
        }),
        _ => None,
    })
}
