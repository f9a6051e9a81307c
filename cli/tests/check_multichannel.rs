//! `stem check` on a 5.1 stem set: a set whose stems sum to the mix channel by channel passes
//! (the null test in all six channels, loudness with the BS.1770 weights, as `stem report`
//! measures the mix); one channel of one stem exported a few samples late fails, naming that
//! stem and channel alone.
//!
//! The files are 24-bit `WAVE_FORMAT_EXTENSIBLE` with the 5.1 mask 0x3F (FL FR FC LFE BL BR),
//! written byte by byte from integer codes, so the mix is the stems' exact sum.

mod common;
use common::*;

use std::path::{Path, PathBuf};

const CHANNELS: usize = 6;
/// Full scale of 24-bit codes.
const FULL_SCALE: f64 = 8_388_608.0;

/// A 24-bit 5.1 WAV of planar integer `codes`.
fn write_5_1(path: &Path, codes: &[Vec<i32>]) {
    write_pcm24(path, codes, 0x3F);
}

/// A 24-bit `WAVE_FORMAT_EXTENSIBLE` WAV of planar integer `codes` with channel `mask`.
fn write_pcm24(path: &Path, codes: &[Vec<i32>], mask: u32) {
    let block = (codes.len() * 3) as u16;
    let mut fmt = Vec::new();
    fmt.extend(0xFFFEu16.to_le_bytes());
    fmt.extend((codes.len() as u16).to_le_bytes());
    fmt.extend(SR.to_le_bytes());
    fmt.extend((SR * block as u32).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    fmt.extend(24u16.to_le_bytes());
    fmt.extend(22u16.to_le_bytes());
    fmt.extend(24u16.to_le_bytes());
    fmt.extend(mask.to_le_bytes());
    // KSDATAFORMAT_SUBTYPE_PCM
    fmt.extend([
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
        0x71,
    ]);
    let frames = codes[0].len();
    let mut data = Vec::with_capacity(frames * block as usize);
    for i in 0..frames {
        for ch in codes {
            data.extend(&ch[i].to_le_bytes()[..3]);
        }
    }
    std::fs::write(path, riff(&[chunk(b"fmt ", &fmt), chunk(b"data", &data)])).unwrap();
}

/// Three 5.1 stems of `seconds`: in every channel a different noise (LFE quieter), peaking
/// around -10 dBFS, as 24-bit codes.
fn stems_5_1(seconds: f64) -> Vec<(String, Vec<Vec<i32>>)> {
    let n = (seconds * SR as f64) as usize;
    ["drums.wav", "music.wav", "vocals.wav"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let channels = (0..CHANNELS)
                .map(|c| {
                    let gain = if c == 3 { 0.03 } else { 0.1 };
                    noise_via_f64(n, (10 * k + c + 1) as u32)
                        .iter()
                        .map(|&x| (x as f64 * gain * FULL_SCALE).round() as i32)
                        .collect()
                })
                .collect();
            (name.to_string(), channels)
        })
        .collect()
}

/// Writes the stems and their exact sum; returns (stem paths, mix path).
fn write_set_5_1(dir: &Path, stems: &[(String, Vec<Vec<i32>>)]) -> (Vec<PathBuf>, PathBuf) {
    let frames = stems[0].1[0].len();
    let mix: Vec<Vec<i32>> = (0..CHANNELS)
        .map(|c| {
            (0..frames)
                .map(|i| stems.iter().map(|s| s.1[c][i]).sum())
                .collect()
        })
        .collect();
    let paths = stems
        .iter()
        .map(|(name, codes)| {
            let p = dir.join(name);
            write_5_1(&p, codes);
            p
        })
        .collect();
    let mix_path = dir.join("mix.wav");
    write_5_1(&mix_path, &mix);
    (paths, mix_path)
}

fn check(stems: &[PathBuf], mix: &Path) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--mix", s(mix)]);
    let out = stem(&args);
    (out.status.code().unwrap(), json(&out))
}

fn failures(v: &serde_json::Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "fail")
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_5_1_set_that_sums_passes() {
    let dir = temp_dir("check_5_1_sums");
    let (paths, mix) = write_set_5_1(&dir, &stems_5_1(3.0));
    let (code, v) = check(&paths, &mix);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["passed"], true);
    assert_eq!(v["mix"]["channels"], 6);
    // Integer codes summed exactly: the residual is digital silence in every channel.
    assert!(v["null_test"]["residual_peak_dbfs"].is_null(), "{v:#}");
    assert_eq!(v["null_test"]["passed"], true);
    for stem in v["stems"].as_array().unwrap() {
        assert_eq!(stem["offset_samples"], 0, "{stem:#}");
        let channels = stem["channel_offsets"].as_array().unwrap();
        assert_eq!(channels.len(), 6);
        assert!(
            channels.iter().all(|c| c["best"]["samples"] == 0),
            "{stem:#}"
        );
    }
    // The mix's loudness is `stem report`'s: the 5.1 weights (LFE out, surrounds 1.41).
    let report = json(&stem(&["report", s(&mix), "--json"]));
    assert_eq!(report["channel_layout"], "5.1");
    let (checked, reported) = (
        v["mix"]["integrated_lufs"].as_f64().unwrap(),
        report["integrated_lufs"].as_f64().unwrap(),
    );
    assert!((checked - reported).abs() < 1e-9, "{checked} vs {reported}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_5_1_stem_with_one_channel_late_fails_naming_that_stem() {
    let dir = temp_dir("check_5_1_channel_late");
    let mut st = stems_5_1(3.0);
    let frames = st[0].1[0].len();
    // The mix is summed from the stems as they should be; the music stem's left surround
    // (channel 5) is then exported 7 samples late.
    let mix = write_set_5_1(&dir, &st).1;
    let late = &mut st[1].1[4];
    late.splice(0..0, [0; 7]);
    late.truncate(frames);
    write_5_1(&dir.join(&st[1].0), &st[1].1);
    let paths: Vec<PathBuf> = st.iter().map(|(name, _)| dir.join(name)).collect();
    let (code, v) = check(&paths, &mix);
    assert_eq!(code, 1, "{v:#}");
    let fails = failures(&v);
    assert!(
        fails.contains(&("channel_offset".to_string(), "music.wav".to_string())),
        "{fails:?}"
    );
    assert!(
        fails.contains(&("null_test".to_string(), String::new())),
        "{fails:?}"
    );
    // Only that stem is blamed: the others and the stem as a whole line up.
    assert!(
        fails.iter().all(|(_, f)| f.is_empty() || f == "music.wav"),
        "{fails:?}"
    );
    for stem in v["stems"].as_array().unwrap() {
        assert_eq!(stem["offset_samples"], 0, "{stem:#}");
    }
    let channels = v["stems"][1]["channel_offsets"].as_array().unwrap();
    for (c, ch) in channels.iter().enumerate() {
        assert_eq!(ch["best"]["samples"], if c == 4 { 7 } else { 0 }, "{ch:#}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mixed_layouts_are_refused_naming_each_file() {
    // A 5.1 stem beside a stereo stem and mix was covered by `multichannel`; here two
    // multichannel layouts: 5.1 stems against a 5.0 mix.
    let dir = temp_dir("check_5_1_mixed");
    let st = stems_5_1(0.5);
    let (paths, _) = write_set_5_1(&dir, &st);
    // A 5.0 mix (FL FR FC BL BR).
    let five = dir.join("mix50.wav");
    write_pcm24(&five, &st[0].1[..5], 0x37);
    let mut args = vec!["check"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--mix", s(&five)]);
    let out = stem(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("drums.wav, music.wav, vocals.wav 6 channels (5.1)")
            && err.contains("mix50.wav 5 channels (5.0)"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
