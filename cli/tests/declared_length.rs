//! A file's declared length is checked against its size before anything is decoded or
//! allocated, and files are read block by block: a header claiming 4 GB over 12 bytes of audio
//! is refused at once with both figures (it used to abort with "memory allocation of 4294967040
//! bytes failed" where memory is limited); a sparse file as long as its header says is valid
//! silence and is read a block at a time; a truncated AIFF is refused the same way. Streamed
//! report figures equal those of the file read whole.

mod common;
use common::*;

use std::io::Write;
use stem_cli::decode::{read_audio, AudioReader};
use stem_cli::file_report::{analyse, analyse_file};

/// A 16-bit stereo WAV header whose `data` chunk declares `data_bytes`.
fn wav_header(data_bytes: u32) -> Vec<u8> {
    let mut v = b"RIFF".to_vec();
    v.extend(36u32.wrapping_add(data_bytes).to_le_bytes());
    v.extend(b"WAVEfmt ");
    v.extend(16u32.to_le_bytes());
    v.extend(1u16.to_le_bytes()); // PCM
    v.extend(2u16.to_le_bytes()); // channels
    v.extend(48_000u32.to_le_bytes());
    v.extend((48_000u32 * 4).to_le_bytes());
    v.extend(4u16.to_le_bytes()); // block align
    v.extend(16u16.to_le_bytes());
    v.extend(b"data");
    v.extend(data_bytes.to_le_bytes());
    v
}

const HUGE_DATA_BYTES: u32 = 0xFFFF_FF00; // 1,073,741,760 frames of 4 bytes

#[test]
fn a_header_claiming_4_gb_over_12_bytes_is_refused_before_decoding() {
    let dir = temp_dir("declared_4gb_short");
    let path = dir.join("claims.wav");
    let mut bytes = wav_header(HUGE_DATA_BYTES);
    bytes.extend([0u8; 12]);
    std::fs::write(&path, &bytes).unwrap();
    for err in [
        AudioReader::open(&path).err().unwrap().to_string(),
        read_audio(&path).unwrap_err().to_string(),
    ] {
        assert!(
            err.contains("claims.wav")
                && err.contains("truncated")
                && err.contains("declares 1,073,741,760 frames (4.3 GB of audio)")
                && err.contains("holds 12 bytes of audio data (3 frames)"),
            "{err}"
        );
    }
    let out = stem(&["report", s(&path)]);
    // Exit code 2: an input file is unusable.
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1,073,741,760 frames"));
}

#[test]
fn a_sparse_file_as_long_as_declared_is_read_block_by_block() {
    let dir = temp_dir("declared_4gb_sparse");
    let path = dir.join("sparse.wav");
    let header = wav_header(HUGE_DATA_BYTES);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&header).unwrap();
    // A hole: 4 GB of zeros that take no disk space, a valid (silent) file.
    f.set_len(header.len() as u64 + HUGE_DATA_BYTES as u64)
        .unwrap();
    drop(f);
    let mut reader = AudioReader::open(&path).unwrap();
    assert_eq!(reader.spec().declared_frames, Some(1_073_741_760));
    assert_eq!(reader.spec().channels, 2);
    let mut block = vec![Vec::new(), Vec::new()];
    for _ in 0..4 {
        assert_eq!(reader.read_block(&mut block, 65_536).unwrap(), 65_536);
        assert!(block.iter().flatten().all(|&x| x == 0.0));
        // The block is all the reader hands out: nothing sized from the 4 GB claim.
        assert!(block[0].capacity() < 1 << 20);
    }
    assert_eq!(reader.frames_read(), 4 * 65_536);
}

#[test]
fn a_truncated_aiff_is_refused_before_decoding() {
    let be = |id: &[u8; 4], body: &[u8]| {
        let mut v = id.to_vec();
        v.extend((body.len() as u32).to_be_bytes());
        v.extend(body);
        v
    };
    let mut comm = Vec::new();
    comm.extend(2u16.to_be_bytes());
    comm.extend(48_000u32.to_be_bytes()); // declared frames
    comm.extend(24u16.to_be_bytes());
    comm.extend([0x40, 0x0E, 0xBB, 0x80, 0, 0, 0, 0, 0, 0]); // 48 kHz, 80-bit extended
    let mut ssnd = vec![0u8; 8];
    ssnd.extend([0u8; 600]); // 100 frames of 6 bytes
    let body = [be(b"COMM", &comm), be(b"SSND", &ssnd)].concat();
    let mut bytes = b"FORM".to_vec();
    bytes.extend((4 + body.len() as u32).to_be_bytes());
    bytes.extend(b"AIFF");
    bytes.extend(body);
    let dir = temp_dir("declared_aiff_short");
    let path = dir.join("short.aif");
    std::fs::write(&path, &bytes).unwrap();
    let err = AudioReader::open(&path).err().unwrap().to_string();
    assert!(
        err.contains("short.aif")
            && err.contains("declares 48,000 frames")
            && err.contains("holds 600 bytes of audio data (100 frames)"),
        "{err}"
    );
}

#[test]
fn streamed_report_figures_equal_whole_file_figures() {
    let dir = temp_dir("declared_streamed_report");
    // 7.3 s: not a whole number of read blocks, 3 s DR blocks or 100 ms history steps.
    let set = stems(7.3);
    for (name, ch) in set.iter().take(2) {
        let path = dir.join(format!("{name}.wav"));
        write(&path, ch, SR);
        let streamed = analyse_file(&path).unwrap();
        let whole = analyse(&read_audio(&path).unwrap());
        let json = |m: &stem_cli::file_report::Measured| {
            serde_json::to_string(&(&m.0, &m.1)).unwrap() + &format!("{:?}", m.2)
        };
        assert_eq!(json(&streamed), json(&whole), "{name}");
    }
    let mono = dir.join("mono.wav");
    write(&mono, &set[0].1[..1], SR);
    let streamed = analyse_file(&mono).unwrap();
    let whole = analyse(&read_audio(&mono).unwrap());
    assert_eq!(format!("{:?}", streamed.2), format!("{:?}", whole.2));
    assert_eq!(
        serde_json::to_string(&streamed.0).unwrap(),
        serde_json::to_string(&whole.0).unwrap()
    );
}
