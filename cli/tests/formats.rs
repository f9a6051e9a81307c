//! Every file layout a DAW writes for stems reads back as the samples it holds: WAV
//! `WAVE_FORMAT_EXTENSIBLE` with 24-bit samples in 32-bit slots and 20 in 24 (the container
//! size, not the valid-bit count, is the stride), an odd-sized chunk and its pad byte before the
//! audio, RF64 (EBU Tech 3306), AIFF (big-endian, 80-bit rate), 64-bit float, and FLAC (a file
//! made by SoX). Each file is built byte by byte here from the format's specification, so the
//! expected samples are known exactly.

mod common;
use common::*;

use std::path::Path;
use stem_cli::decode::read_audio;

const FRAMES: usize = 4_800;

/// Integer codes of a 997 Hz sine at half of full scale, at `bits`, left and right (right
/// inverted so the channels differ).
fn codes(bits: u32) -> Vec<[i32; 2]> {
    let full = (1i64 << (bits - 1)) as f64;
    (0..FRAMES)
        .map(|i| {
            let x = 0.5 * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / 48_000.0).sin();
            let c = (x * full).round() as i32;
            [c, -c]
        })
        .collect()
}

/// `fmt ` body: `tag` 1 (PCM), 3 (float) or 0xFFFE (extensible, then `valid` bits and the
/// PCM/float sub-format GUID).
fn fmt_body(tag: u16, container_bits: u16, valid_bits: u16, float: bool) -> Vec<u8> {
    let channels = 2u16;
    let block = channels * container_bits / 8;
    let mut v = Vec::new();
    v.extend(tag.to_le_bytes());
    v.extend(channels.to_le_bytes());
    v.extend(48_000u32.to_le_bytes());
    v.extend((48_000 * block as u32).to_le_bytes());
    v.extend(block.to_le_bytes());
    v.extend(container_bits.to_le_bytes());
    if tag == 0xFFFE {
        v.extend(22u16.to_le_bytes());
        v.extend(valid_bits.to_le_bytes());
        v.extend(3u32.to_le_bytes()); // front left | front right
        v.push(if float { 3 } else { 1 });
        v.extend([
            0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
            0x71,
        ]);
    }
    v
}

/// Interleaved little-endian `codes`, each shifted left by `shift` (left-justified in the
/// container) and written in `bytes` bytes.
fn pcm_le(codes: &[[i32; 2]], shift: u32, bytes: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for frame in codes {
        for c in frame {
            v.extend(&(c << shift).to_le_bytes()[..bytes]);
        }
    }
    v
}

/// Reads `bytes` written to `name` and checks every sample against `codes / 2^(bits-1)`.
fn expect_samples(name: &str, bytes: &[u8], codes: &[[i32; 2]], bits: u32) {
    let dir = temp_dir(&format!("formats_{name}"));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let audio = read_audio(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(audio.sample_rate_hz, 48_000, "{name}");
    assert_eq!(audio.num_channels(), 2, "{name}");
    assert_eq!(audio.frames(), FRAMES, "{name}");
    assert_eq!(audio.bits_per_sample as u32, bits, "{name}");
    let full = (1i64 << (bits - 1)) as f64;
    for (i, frame) in codes.iter().enumerate() {
        for (c, code) in frame.iter().enumerate() {
            let expected = (*code as f64 / full) as f32;
            assert_eq!(
                audio.channels[c][i], expected,
                "{name}: frame {i} channel {c}"
            );
        }
    }
    assert_report_level(&path, name);
}

/// `stem report` on the file measures the sine's level: peak -6.02 dBFS (half scale).
fn assert_report_level(path: &Path, name: &str) {
    let out = stem(&["report", s(path), "--json"]);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let text = v.to_string();
    let peak = find_number(&v, "sample_peak_dbfs")
        .unwrap_or_else(|| panic!("{name}: no sample_peak_dbfs in {text}"));
    assert!((peak + 6.02).abs() < 0.01, "{name}: peak {peak} dBFS");
}

fn find_number(v: &serde_json::Value, key: &str) -> Option<f64> {
    match v {
        serde_json::Value::Object(m) => m
            .get(key)
            .and_then(|x| x.as_f64())
            .or_else(|| m.values().find_map(|x| find_number(x, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_number(x, key)),
        _ => None,
    }
}

#[test]
fn extensible_24_bit_in_32_bit_slots() {
    let c = codes(24);
    let bytes = riff(&[
        chunk(b"fmt ", &fmt_body(0xFFFE, 32, 24, false)),
        chunk(b"data", &pcm_le(&c, 8, 4)),
    ]);
    expect_samples("ext24in32.wav", &bytes, &c, 24);
}

#[test]
fn extensible_20_bit_in_24_bit_slots() {
    let c = codes(20);
    let bytes = riff(&[
        chunk(b"fmt ", &fmt_body(0xFFFE, 24, 20, false)),
        chunk(b"data", &pcm_le(&c, 4, 3)),
    ]);
    expect_samples("ext20in24.wav", &bytes, &c, 20);
}

#[test]
fn odd_sized_chunk_before_the_audio() {
    let c = codes(24);
    let bytes = riff(&[
        chunk(b"fmt ", &fmt_body(1, 24, 24, false)),
        // A LIST/INFO whose title is 5 bytes and a pad byte, then an odd-sized iXML chunk.
        chunk(
            b"LIST",
            &[b"INFO".to_vec(), chunk(b"INAM", b"Drums")].concat(),
        ),
        chunk(b"iXML", b"<BWFXML/>"),
        chunk(b"data", &pcm_le(&c, 0, 3)),
    ]);
    expect_samples("oddchunk.wav", &bytes, &c, 24);
}

#[test]
fn rf64() {
    let c = codes(24);
    let data = pcm_le(&c, 0, 3);
    let fmt = chunk(b"fmt ", &fmt_body(1, 24, 24, false));
    let mut ds64 = Vec::new();
    let riff_size = 4 + (8 + 28) + fmt.len() as u64 + 8 + data.len() as u64;
    ds64.extend(riff_size.to_le_bytes());
    ds64.extend((data.len() as u64).to_le_bytes());
    ds64.extend((FRAMES as u64).to_le_bytes());
    ds64.extend(0u32.to_le_bytes()); // no table entries
    let mut bytes = b"RF64".to_vec();
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend(b"WAVE");
    bytes.extend(chunk(b"ds64", &ds64));
    bytes.extend(fmt);
    bytes.extend(b"data");
    bytes.extend(u32::MAX.to_le_bytes()); // the size is in ds64
    bytes.extend(data);
    expect_samples("rf64.wav", &bytes, &c, 24);
}

#[test]
fn float_64_bit() {
    // Values on the 24-bit grid are exact in f64 and in f32.
    let c = codes(24);
    let mut data = Vec::new();
    for frame in &c {
        for code in frame {
            data.extend((*code as f64 / 8_388_608.0).to_le_bytes());
        }
    }
    let bytes = riff(&[
        chunk(b"fmt ", &fmt_body(3, 64, 64, true)),
        chunk(b"data", &data),
    ]);
    let dir = temp_dir("formats_f64");
    let path = dir.join("f64.wav");
    std::fs::write(&path, &bytes).unwrap();
    let audio = read_audio(&path).unwrap();
    assert!(audio.float);
    assert_eq!(audio.frames(), FRAMES);
    for (i, frame) in c.iter().enumerate() {
        assert_eq!(audio.channels[0][i], (frame[0] as f64 / 8_388_608.0) as f32);
    }
    assert_report_level(&path, "f64.wav");
}

/// IEEE 754 80-bit extended of an integer rate, as AIFF's COMM chunk stores it.
fn extended80(rate: u32) -> [u8; 10] {
    let exponent = 31 - rate.leading_zeros(); // position of the top bit
    let mantissa = (rate as u64) << (63 - exponent);
    let mut v = [0u8; 10];
    v[..2].copy_from_slice(&((16_383 + exponent) as u16).to_be_bytes());
    v[2..].copy_from_slice(&mantissa.to_be_bytes());
    v
}

#[test]
fn aiff_24_bit() {
    let c = codes(24);
    let mut comm = Vec::new();
    comm.extend(2u16.to_be_bytes());
    comm.extend((FRAMES as u32).to_be_bytes());
    comm.extend(24u16.to_be_bytes());
    comm.extend(extended80(48_000));
    let mut ssnd = vec![0u8; 8]; // offset, block size
    for frame in &c {
        for code in frame {
            ssnd.extend(&code.to_be_bytes()[1..]);
        }
    }
    let be_chunk = |id: &[u8; 4], body: &[u8]| {
        let mut v = id.to_vec();
        v.extend((body.len() as u32).to_be_bytes());
        v.extend(body);
        if body.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    let body = [be_chunk(b"COMM", &comm), be_chunk(b"SSND", &ssnd)].concat();
    let mut bytes = b"FORM".to_vec();
    bytes.extend((4 + body.len() as u32).to_be_bytes());
    bytes.extend(b"AIFF");
    bytes.extend(body);
    expect_samples("stem.aif", &bytes, &c, 24);
}

#[test]
fn flac_from_sox() {
    // `sox -n -r 48000 -b 24 -c 2 sine997_24bit.flac synth 0.25 sine 997 vol 0.5`
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sine997_24bit.flac");
    let audio = read_audio(&path).unwrap();
    assert_eq!(audio.sample_rate_hz, 48_000);
    assert_eq!(audio.num_channels(), 2);
    assert_eq!(audio.frames(), 12_000);
    assert_eq!(audio.bits_per_sample, 24);
    let peak = audio.channels[0].iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!((peak - 0.5).abs() < 1e-3, "peak {peak}");
    // On the 24-bit grid: FLAC is lossless.
    for x in &audio.channels[0] {
        assert_eq!((x * 8_388_608.0).fract(), 0.0);
    }
    assert_report_level(&path, "sine997_24bit.flac");
}

#[test]
fn rf64_over_4_gib_is_refused_clearly() {
    let fmt = chunk(b"fmt ", &fmt_body(1, 24, 24, false));
    let mut ds64 = Vec::new();
    ds64.extend(u64::MAX.to_le_bytes());
    ds64.extend((5u64 << 30).to_le_bytes());
    ds64.extend(0u64.to_le_bytes());
    ds64.extend(0u32.to_le_bytes());
    let mut bytes = b"RF64".to_vec();
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend(b"WAVE");
    bytes.extend(chunk(b"ds64", &ds64));
    bytes.extend(fmt);
    bytes.extend(b"data");
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend([0u8; 60]);
    let dir = temp_dir("formats_rf64_big");
    let path = dir.join("huge.wav");
    std::fs::write(&path, &bytes).unwrap();
    let err = read_audio(&path).unwrap_err().to_string();
    assert!(err.contains("huge.wav") && err.contains("4 GiB"), "{err}");
}
