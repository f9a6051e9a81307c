//! `stem report`: figures against the independent `ebur128` crate (a port of libebur128), TT DR
//! against an analytic value, and the files `--out` writes.

mod common;
use common::*;

use ebur128::{EbuR128, Mode};
use stem_cli::analysis::tt_dynamic_range;
use test_signals::sine;

/// 20 s of stereo noise in four 5 s sections at different levels (band-limited by a one-pole
/// lowpass so it is music-like), the level steps on the 100 ms grid.
fn stepped_noise() -> [Vec<f32>; 2] {
    let n = 20 * SR as usize;
    let gains_db = [-20.0f32, -30.0, -14.0, -24.0];
    let mut out = [noise_via_f64(n, 3), noise_via_f64(n, 5)];
    for ch in &mut out {
        let mut y = 0.0f32;
        for (i, x) in ch.iter_mut().enumerate() {
            y += 0.3 * (*x - y);
            *x = y * 10f32.powf(gains_db[i / (5 * SR as usize)] / 20.0) * 2.0;
        }
    }
    out
}

#[test]
fn figures_match_ebur128() {
    let dir = temp_dir("report_ebur128");
    let sig = stepped_noise();
    let path = dir.join("steps.wav");
    write(&path, &sig, SR);
    // The reference reads the file's 24-bit values, as our tool does.
    let a = stem_cli::decode::read_audio(&path).unwrap();
    let mut ebu = EbuR128::new(
        2,
        SR,
        Mode::I | Mode::M | Mode::S | Mode::LRA | Mode::TRUE_PEAK,
    )
    .unwrap();
    let (mut m_max, mut s_max) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for start in (0..a.frames()).step_by(480) {
        let end = (start + 480).min(a.frames());
        ebu.add_frames_planar_f32(&[&a.channels[0][start..end], &a.channels[1][start..end]])
            .unwrap();
        m_max = m_max.max(ebu.loudness_momentary().unwrap());
        s_max = s_max.max(ebu.loudness_shortterm().unwrap());
    }
    let tp = 20.0
        * ebu
            .true_peak(0)
            .unwrap()
            .max(ebu.true_peak(1).unwrap())
            .log10();

    let out = stem(&["report", "--json", s(&path)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let get = |k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("{k} missing: {v:#}"))
    };
    let i = get("integrated_lufs");
    println!("integrated {i} vs {}", ebu.loudness_global().unwrap());
    println!(
        "M max {} vs {m_max}, S max {} vs {s_max}",
        get("momentary_max_lufs"),
        get("short_term_max_lufs")
    );
    println!(
        "LRA {} vs {}, TP {} vs {tp}",
        get("lra_lu"),
        ebu.loudness_range().unwrap(),
        get("true_peak_dbtp")
    );
    assert!((i - ebu.loudness_global().unwrap()).abs() < 0.05);
    assert!((get("momentary_max_lufs") - m_max).abs() < 0.05);
    assert!((get("short_term_max_lufs") - s_max).abs() < 0.05);
    assert!((get("lra_lu") - ebu.loudness_range().unwrap()).abs() < 0.05);
    // libebur128 oversamples 4x at 48 kHz like ours, with a different filter: within 0.1 dB.
    assert!((get("true_peak_dbtp") - tp).abs() < 0.1);
    assert!((get("plr_db") - (get("true_peak_dbtp") - i)).abs() < 1e-9);
    assert_eq!(v["file"], "steps.wav");
    assert_eq!(v["sample_rate_hz"], 48_000);
    assert_eq!(v["channels"], 2);
    assert!((get("duration_s") - 20.0).abs() < 1e-9);
    assert!(v["dr"].is_i64());
}

#[test]
fn tt_dr_of_a_signal_with_known_dr() {
    // 30 s (ten 3 s blocks) of a 1 kHz sine at amplitude 0.1 (block RMS x sqrt 2 = 0.1
    // exactly: whole periods), with one click of 1.0 in block 2 and one of 0.5 in block 6, at
    // zero crossings. The two click blocks are the loudest 20 %; the second-highest peak is
    // 0.5. So DR = 20 log10(0.5 / sqrt(0.01 + (2 * 1 + 2 * 0.25) / (2 n))), n = 144 000.
    let n_block = 3 * SR as usize;
    let n = 10 * n_block;
    let mut x = sine(n, 1000.0, SR as f64, 0.1);
    x[2 * n_block + 4800] = 1.0;
    x[6 * n_block + 9600] = 0.5;
    let expected = 20.0 * (0.5 / (0.01 + 2.5 / (2.0 * n_block as f64)).sqrt()).log10();
    let dr = tt_dynamic_range(&[&x, &x], SR).unwrap();
    assert!(
        (dr.dr_db - expected).abs() < 1e-3,
        "{} vs {expected}",
        dr.dr_db
    );
    assert_eq!(dr.dr, 14);
    assert_eq!(dr.blocks, 10);
    // The highest peak alone would give 20 dB: the second-highest is what counts.
    assert!(dr.dr_db < 14.5);
    // Through the binary as well, from a float file.
    let dir = temp_dir("report_dr");
    let path = dir.join("dr.wav");
    let refs: [&[f32]; 2] = [&x, &x];
    stem_cli::audio::write_wav_atomic(
        &path,
        SR,
        &refs,
        stem_cli::audio::OutputFormat::Float32,
        &[],
    )
    .unwrap();
    let v = json(&stem(&["report", "--json", s(&path)]));
    assert_eq!(v["dr"], 14);
    assert!((v["dr_db"].as_f64().unwrap() - expected).abs() < 1e-3);
}

#[test]
fn out_writes_markdown_json_and_plots() {
    let dir = temp_dir("report_out");
    let st = stems(4.0);
    let mix = mix_of(&st);
    let path = dir.join("mix.wav");
    write(&path, &mix, SR);
    let out_dir = dir.join("reports");
    let out = stem(&["report", s(&path), "--out", s(&out_dir)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mix.wav") && text.contains("DR"), "{text}");
    for f in ["mix.md", "mix.json", "mix-loudness.png", "mix-spectrum.png"] {
        let p = out_dir.join(f);
        let bytes = std::fs::read(&p).unwrap_or_else(|_| panic!("{f} missing"));
        if f.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{f}");
            assert!(bytes.len() > 10_000, "{f}: {} bytes", bytes.len());
        }
    }
    let md = std::fs::read_to_string(out_dir.join("mix.md")).unwrap();
    assert!(md.contains("Integrated loudness") && md.contains("mix-loudness.png"));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("mix.json")).unwrap()).unwrap();
    assert!(j["integrated_lufs"].is_f64());
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 4);
}

/// DC per channel, stereo correlation and the mono fold-down change against their analytic
/// values, for a 1 kHz sine x of amplitude A:
/// - L = x + 0.01, R = x: DC -40.0 dBFS on the left, none on the right;
/// - L = x, R = x/2: correlation +1, fold (L+R)/2 = 0.75 x on both sides against L and R:
///   10 log10(2 * 0.75^2 / (1 + 0.5^2)) = -0.458 LU;
/// - L = x, R = -x: correlation -1, the fold cancels to silence, reported as -70 LU.
#[test]
fn dc_correlation_and_mono_fold_of_known_signals() {
    let dir = temp_dir("report_dc_correlation");
    let tone = sine(5 * SR as usize, 1000.0, SR as f64, 0.25);
    let scaled = |k: f32, dc: f32| -> Vec<f32> { tone.iter().map(|&x| k * x + dc).collect() };
    let measure = |name: &str, left: Vec<f32>, right: Vec<f32>| {
        let path = dir.join(name);
        write(&path, &[left, right], SR);
        let out = stem(&["report", s(&path), "--json"]);
        assert!(out.status.success());
        json(&out)
    };
    let v = measure("dc.wav", scaled(1.0, 0.01), scaled(1.0, 0.0));
    let dc = v["dc_offset_dbfs"].as_array().unwrap();
    assert!((dc[0].as_f64().unwrap() + 40.0).abs() < 0.01, "{dc:?}");
    assert!(dc[1].as_f64().is_none_or(|db| db < -100.0), "{dc:?}");

    let v = measure("half.wav", scaled(1.0, 0.0), scaled(0.5, 0.0));
    let c = v["stereo_correlation"].as_f64().unwrap();
    assert!((c - 1.0).abs() < 1e-4, "{c}");
    let fold = v["mono_fold_change_lu"].as_f64().unwrap();
    let expected = 10.0 * (2.0 * 0.75f64.powi(2) / 1.25).log10();
    assert!((fold - expected).abs() < 0.01, "{fold} vs {expected}");

    let v = measure("inverted.wav", scaled(1.0, 0.0), scaled(-1.0, 0.0));
    let c = v["stereo_correlation"].as_f64().unwrap();
    assert!((c + 1.0).abs() < 1e-4, "{c}");
    assert_eq!(v["mono_fold_change_lu"].as_f64(), Some(-70.0));
    std::fs::remove_dir_all(&dir).unwrap();
}
