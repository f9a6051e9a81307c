//! `stem report` measures 5.0, 5.1 and 7.1 files with the BS.1770 channel weights; `render`
//! refuses them as stems with a message naming the file and the layout, and `check` refuses a
//! set that mixes them with mono or stereo files the same way (a 5.1 set is checked:
//! `check_multichannel`).
//!
//! The files are built byte by byte (16-bit PCM, 1 kHz sines) as the EBU loudness test set
//! writes them: `seq-3341-6-5channels-16bit.wav` is 5.0 in the order L, R, C, Ls, Rs with the
//! plain `WAVE_FORMAT_PCM` header (no channel mask); `seq-3341-6-6channels-WAVEEX-16bit.wav` the
//! same with a silent LFE fourth and `WAVE_FORMAT_EXTENSIBLE` (mask 0x3F). EBU Tech 3341 case 6
//! gives -23.0 +-0.1 LUFS for both.

mod common;
use common::*;

use std::path::Path;

const TONE_HZ: f64 = 1000.0;

/// A 16-bit WAV of 1 kHz sines at `levels_dbfs` (one per channel; -inf for silence), `seconds`
/// long at 48 kHz, with `mask` as a `WAVE_FORMAT_EXTENSIBLE` channel mask or a plain PCM header.
fn write_tones(path: &Path, levels_dbfs: &[f64], seconds: f64, mask: Option<u32>) {
    let channels = levels_dbfs.len() as u16;
    let block = channels * 2;
    let mut fmt = Vec::new();
    fmt.extend(if mask.is_some() { 0xFFFEu16 } else { 1 }.to_le_bytes());
    fmt.extend(channels.to_le_bytes());
    fmt.extend(SR.to_le_bytes());
    fmt.extend((SR * block as u32).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    if let Some(mask) = mask {
        fmt.extend(22u16.to_le_bytes());
        fmt.extend(16u16.to_le_bytes());
        fmt.extend(mask.to_le_bytes());
        // KSDATAFORMAT_SUBTYPE_PCM
        fmt.extend([
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38,
            0x9b, 0x71,
        ]);
    }
    let frames = (seconds * SR as f64) as usize;
    let amplitudes: Vec<f64> = levels_dbfs
        .iter()
        .map(|db| 10f64.powf(db / 20.0) * 32_768.0)
        .collect();
    let mut data = Vec::with_capacity(frames * block as usize);
    for i in 0..frames {
        let x = (std::f64::consts::TAU * TONE_HZ * i as f64 / SR as f64).sin();
        for a in &amplitudes {
            data.extend(((a * x).round().clamp(-32_768.0, 32_767.0) as i16).to_le_bytes());
        }
    }
    std::fs::write(path, riff(&[chunk(b"fmt ", &fmt), chunk(b"data", &data)])).unwrap();
}

fn report(path: &Path) -> serde_json::Value {
    let out = stem(&["report", s(path), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

fn integrated(v: &serde_json::Value) -> f64 {
    let lufs = v["integrated_lufs"].as_f64().unwrap();
    eprintln!("{}: {lufs:.3} LUFS", v["channel_layout"]);
    lufs
}

/// L and R at -28 dBFS, C at -24, Ls and Rs at -30 (EBU Tech 3341, case 6).
const CASE_6: [f64; 5] = [-28.0, -28.0, -24.0, -30.0, -30.0];

#[test]
fn ebu_tech_3341_case_6_reads_minus_23_lufs_as_5_0_and_5_1() {
    let dir = temp_dir("multichannel_case_6");
    let five = dir.join("seq-3341-6-5channels-16bit.wav");
    write_tones(&five, &CASE_6, 20.0, None);
    let r = report(&five);
    assert!(
        (integrated(&r) + 23.0).abs() <= 0.1,
        "5.0: {} LUFS",
        integrated(&r)
    );
    assert_eq!(r["channels"], 5);
    assert_eq!(r["channel_layout"], "5.0");
    // The loudest channel (C, -24 dBFS) sets the peaks.
    let tp = r["true_peak_dbtp"].as_f64().unwrap();
    assert!((tp + 24.0).abs() < 0.05, "true peak {tp}");

    let six = dir.join("seq-3341-6-6channels-WAVEEX-16bit.wav");
    let [l, r_, c, ls, rs] = CASE_6;
    write_tones(
        &six,
        &[l, r_, c, f64::NEG_INFINITY, ls, rs],
        20.0,
        Some(0x3F),
    );
    let r = report(&six);
    assert!(
        (integrated(&r) + 23.0).abs() <= 0.1,
        "5.1: {} LUFS",
        integrated(&r)
    );
    assert_eq!(r["channel_layout"], "5.1");

    // Weighted, not summed alike: without the surrounds' 1.41 the 5.0 case would read
    // 10 log10(4.985e-3 / 4.576e-3) = -0.37 LU lower; a loud LFE is not measured at all.
    write_tones(&six, &[l, r_, c, -6.0, ls, rs], 20.0, Some(0x3F));
    let with_lfe = integrated(&report(&six));
    assert!((with_lfe + 23.0).abs() <= 0.1, "LFE counted: {with_lfe}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_7_1_file_weights_its_side_pair_and_not_its_back_pair() {
    // All eight at -30 dBFS, mask 0x63F (FL FR FC LFE BL BR SL SR): weights 1 1 1 0 1 1 1.41
    // 1.41, a sum of 7.82 against stereo's 2 at -23 dBFS reading -23.0 LUFS (case 1):
    // -23 + 10 log10(7.82 / 2) - 7 = -24.08 LUFS (1 kHz, so the K-weighting cancels).
    let dir = temp_dir("multichannel_7_1");
    let path = dir.join("film.wav");
    write_tones(&path, &[-30.0; 8], 10.0, Some(0x63F));
    let r = report(&path);
    let expected = -23.0 + 10.0 * (7.82f64 / 2.0).log10() - 7.0;
    assert!(
        (integrated(&r) - expected).abs() <= 0.1,
        "7.1: {} LUFS, expected {expected:.2}",
        integrated(&r)
    );
    assert_eq!(r["channel_layout"], "7.1");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_and_render_refuse_a_5_1_stem_naming_the_file_and_its_layout() {
    let dir = temp_dir("multichannel_refused");
    let surround = dir.join("drums.wav");
    write_tones(&surround, &[-20.0; 6], 1.0, Some(0x3F));
    let stereo = dir.join("bass.wav");
    write_tones(&stereo, &[-20.0; 2], 1.0, None);
    let mix = dir.join("mix.wav");
    write_tones(&mix, &[-20.0; 2], 1.0, None);
    let out_dir = dir.join("out");
    for args in [
        vec!["check", s(&surround), s(&stereo), "--mix", s(&mix)],
        vec!["render", s(&surround), s(&stereo), "--out", s(&out_dir)],
    ] {
        let out = stem(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted a 5.1 stem");
        assert!(
            err.contains("drums.wav")
                && err.contains("6 channels (5.1)")
                && err.contains("mono or stereo"),
            "{args:?}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
