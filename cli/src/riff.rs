//! The chunks of a RIFF/WAVE, RF64 or BW64 file, read from the headers alone (no audio), for the
//! checks that need more than the decoder tells: the declared length ([`crate::declared`]) and
//! the BWF/iXML start time ([`crate::start_time`]).
//!
//! Chunks follow the 12-byte file header, each an id, a 32-bit little-endian size and a body
//! padded to an even length (Microsoft RIFF); in RF64/BW64 (EBU Tech 3306) a `data` size of
//! `0xFFFFFFFF` stands for the 64-bit size in the `ds64` chunk, which comes first.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// More chunks than any DAW writes: a hostile file with millions of empty chunks stops here.
const MAX_CHUNKS: usize = 10_000;

/// One chunk: its id, where its body starts and its size in bytes (the 64-bit one for RF64's
/// `data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub id: [u8; 4],
    pub body_offset: u64,
    pub size: u64,
}

/// Whether a file that starts with `head` (its first 4 bytes or more) is RIFF, RF64 or BW64.
pub fn is_riff(head: &[u8]) -> bool {
    matches!(head.get(..4), Some(b"RIFF" | b"RF64" | b"BW64"))
}

/// The chunks of a RIFF-family file `len` bytes long, in file order, up to the first one that
/// runs past the end of the file (included: its declared size is what the length check judges)
/// or until `stop` returns true for one.
pub fn chunks(
    file: &mut File,
    len: u64,
    mut stop: impl FnMut(&Chunk) -> bool,
) -> std::io::Result<Vec<Chunk>> {
    let mut found = Vec::new();
    let mut rf64_data_size = None;
    let mut offset = 12u64;
    let mut header = [0u8; 8];
    while offset + 8 <= len && found.len() < MAX_CHUNKS && read_at(file, offset, &mut header)? {
        let id = [header[0], header[1], header[2], header[3]];
        let size32 = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as u64;
        let size = match (&id, rf64_data_size) {
            (b"data", Some(size64)) if size32 == u32::MAX as u64 => size64,
            _ => size32,
        };
        if &id == b"ds64" {
            let mut ds = [0u8; 16];
            if read_at(file, offset + 8, &mut ds)? {
                rf64_data_size = Some(u64::from_le_bytes(ds[8..].try_into().unwrap()));
            }
        }
        let chunk = Chunk {
            id,
            body_offset: offset + 8,
            size,
        };
        found.push(chunk);
        if stop(&chunk) {
            break;
        }
        // Bodies are padded to an even size.
        let Some(next) = (offset + 8).checked_add(size + (size & 1)) else {
            break;
        };
        offset = next;
    }
    Ok(found)
}

/// Reads exactly `buf.len()` bytes at `offset`; `false` if the file ends first.
pub fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> std::io::Result<bool> {
    file.seek(SeekFrom::Start(offset))?;
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(true)
}
