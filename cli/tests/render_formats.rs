//! `stem render --formats`: every encoding is written beside its master and previewed in the
//! master's report; each preview's figures are checked against an independent measurement of
//! the decoded file (loudness by `ebur128`, true peak by the test's own 16x interpolator); FLAC
//! decodes to exactly the WAV's samples; `--codec-safe-ceiling` brings the encodings under the
//! ceiling; the streaming-service preview is the plain gain the table says; bad `--formats`
//! are refused by name. AAC and Opus need `ffmpeg`: without one they must be reported as
//! skipped, with it they must be measured.

mod common;
use common::*;

use std::path::Path;

use stem_cli::codec::ffmpeg;
use stem_cli::decode::read_audio;

/// Eight seconds of the shared test stems, written to `dir`.
fn stem_set(dir: &Path) -> Vec<String> {
    let set = stems(8.0);
    let mix = mix_of(&set);
    let (paths, _) = write_set(dir, &set, &mix);
    paths.iter().map(|p| s(p).to_string()).collect()
}

/// `file` decoded by ffmpeg: stereo 32-bit float at 48 kHz (every codec here is at 48 kHz).
fn ffmpeg_decode(file: &Path) -> Vec<Vec<f32>> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "f32le", "-ac", "2", "-ar", "48000", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg could not decode {}",
        file.display()
    );
    let samples: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    vec![
        samples.iter().step_by(2).copied().collect(),
        samples.iter().skip(1).step_by(2).copied().collect(),
    ]
}

fn render(args: &[&str]) -> serde_json::Value {
    let out = stem(args);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

/// A test's stem set rendered to `delivery` with `extra` arguments: its folder, the stems, the
/// output folder and the JSON summary.
struct Rendered {
    dir: std::path::PathBuf,
    stems: Vec<String>,
    out: std::path::PathBuf,
    summary: serde_json::Value,
}

fn render_set(name: &str, delivery: &str, extra: &[&str]) -> Rendered {
    let dir = temp_dir(name);
    let stems = stem_set(&dir);
    let out = dir.join("masters");
    let mut args = vec!["render", "--json", "--deliver", delivery, "--out", s(&out)];
    args.extend(extra);
    args.extend(stems.iter().map(String::as_str));
    let summary = render(&args);
    Rendered {
        dir,
        stems,
        out,
        summary,
    }
}

fn rows(master: &serde_json::Value) -> &Vec<serde_json::Value> {
    master["report"]["codec_preview"].as_array().unwrap()
}

#[test]
fn every_encoding_is_written_and_its_decoded_peak_measured() {
    let Rendered { out, summary, .. } = render_set(
        "render_formats",
        "club",
        &["--formats", "flac,mp3,vorbis:128,aac,opus:96"],
    );
    let master = &summary["masters"][0];
    let wav = out.join("club.wav");
    let rows = rows(master);
    assert_eq!(rows.len(), 5);
    let files: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let (master_ch, _, _) = read(&wav);
    let master_tp = master["report"]["true_peak_dbtp"].as_f64().unwrap();
    let master_lufs = master["report"]["integrated_lufs"].as_f64().unwrap();
    let have_ffmpeg = ffmpeg().is_some();
    for row in rows {
        let codec = row["format"]["codec"].as_str().unwrap();
        if matches!(codec, "aac" | "opus") && !have_ffmpeg {
            let why = row["skipped"].as_str().unwrap();
            assert!(why.contains("ffmpeg not found"), "{why}");
            continue;
        }
        assert!(row["skipped"].is_null(), "{codec}: {row}");
        let file = out.join(row["file"].as_str().unwrap());
        assert!(file.is_file(), "{}", file.display());
        assert!(files
            .iter()
            .any(|f| f.ends_with(row["file"].as_str().unwrap())));
        if codec == "flac" {
            assert_eq!(row["lossless_identical"], true);
            // symphonia's FLAC decoder against the WAV, sample for sample.
            let decoded = read_audio(&file).unwrap();
            assert_eq!(decoded.channels, master_ch, "FLAC differs from the WAV");
            assert!(
                std::fs::metadata(&file).unwrap().len() < std::fs::metadata(&wav).unwrap().len()
            );
            continue;
        }
        let tp = row["true_peak_dbtp"].as_f64().unwrap();
        let lufs = row["integrated_lufs"].as_f64().unwrap();
        // Independent figures of the decoded signal: ebur128 and the 16x true peak on what
        // symphonia decodes (the preview's decoder) and, where ffmpeg is installed, on what
        // ffmpeg's own decoders make of the file (Opus: only ffmpeg).
        let mut decodings = Vec::new();
        if codec != "opus" {
            let d = read_audio(&file).unwrap();
            decodings.push(("symphonia", d.channels, d.sample_rate_hz));
        }
        if have_ffmpeg {
            decodings.push(("ffmpeg", ffmpeg_decode(&file), 48_000));
        }
        for (decoder, ch, sr) in decodings {
            let ebu = ebu_integrated(&ch, sr);
            let tp16 = true_peak_16x_dbtp(&ch);
            assert!(
                (lufs - ebu).abs() < 0.05,
                "{codec} by {decoder}: {lufs} vs ebur128 {ebu}"
            );
            assert!(
                (tp - tp16).abs() < 0.2,
                "{codec} by {decoder}: {tp} vs 16x {tp16}"
            );
        }
        let rise = row["true_peak_rise_db"].as_f64().unwrap();
        assert!((rise - (tp - master_tp)).abs() < 1e-9);
        assert!(rise > -0.5 && rise < 6.0, "{codec}: rise {rise}");
        let change = row["loudness_change_lu"].as_f64().unwrap();
        assert!((change - (lufs - master_lufs)).abs() < 1e-9);
        assert!(change.abs() < 1.0, "{codec}: loudness moved {change} LU");
        let over = tp > -1.0;
        assert_eq!(row["ceiling_ok"], !over, "{codec}");
        let warned = master["report"]["target"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("decoded from"));
        if over {
            assert!(warned, "{codec} over the ceiling without a warning");
        }
    }
    let md = std::fs::read_to_string(out.join("club.md")).unwrap();
    assert!(md.contains("## Codec preview") && md.contains("identical to the master's samples"));
}

#[test]
fn codec_safe_ceiling_brings_the_encodings_under_the_ceiling() {
    // At -8 LUFS the master sits on its -1 dBTP ceiling and the coders lift it over.
    let Rendered { out, summary, .. } = render_set(
        "render_formats_safe",
        "club",
        &["--formats", "mp3,vorbis", "--codec-safe-ceiling"],
    );
    let master = &summary["masters"][0];
    let lowered = master["report"]["codec_safe_limiter_ceiling_dbtp"]
        .as_f64()
        .expect("the ceiling was lowered");
    assert!((-4.0..-1.0).contains(&lowered), "{lowered}");
    for row in rows(master) {
        assert_eq!(row["ceiling_ok"], true, "{row}");
        // Checked independently on the decoded file.
        let file = out.join(row["file"].as_str().unwrap());
        let decoded = read_audio(&file).unwrap();
        assert!(true_peak_16x_dbtp(&decoded.channels) <= -1.0 + 0.1);
    }
    // The master still meets its loudness target (the drive made up for the lower ceiling).
    let target = &master["report"]["target"];
    assert_eq!(target["loudness_ok"], true, "{target}");
    let (ch, _, _) = read(&out.join("club.wav"));
    assert!(true_peak_16x_dbtp(&ch) <= lowered + 0.1);
}

#[test]
fn the_service_preview_is_the_tables_gain() {
    let Rendered { out, summary, .. } = render_set("render_formats_services", "club", &[]);
    let report = &summary["masters"][0]["report"];
    let lufs = report["integrated_lufs"].as_f64().unwrap();
    let tp = report["true_peak_dbtp"].as_f64().unwrap();
    let rows = report["service_preview"].as_array().unwrap();
    let deezer = rows.iter().find(|r| r["service"] == "Deezer").unwrap();
    // A club master is turned down to the service's reference: a plain gain.
    assert!((deezer["playback_gain_db"].as_f64().unwrap() - (-15.0 - lufs)).abs() < 1e-9);
    assert!((deezer["result_lufs"].as_f64().unwrap() + 15.0).abs() < 1e-9);
    assert!((deezer["result_true_peak_dbtp"].as_f64().unwrap() - (tp - 15.0 - lufs)).abs() < 1e-9);
    assert_eq!(deezer["playback"], "turned_down");
    assert!(rows.len() >= 9);
    let md = std::fs::read_to_string(out.join("club.md")).unwrap();
    assert!(md.contains("## Streaming service preview") && md.contains("Spotify (normal)"));
}

#[test]
fn bad_formats_are_refused_by_name() {
    let dir = temp_dir("render_formats_bad");
    let stems = stem_set(&dir);
    let out = dir.join("masters");
    for (formats, expected) in [
        ("wma", "'wma': unknown format"),
        ("mp3,mp3:128", "asked for twice"),
        ("mp3:300", "MP3 bitrates are"),
        ("flac:900", "lossless"),
    ] {
        let mut args = vec!["render", "--out", s(&out), "--formats", formats];
        args.extend(stems.iter().map(String::as_str));
        let o = stem(&args);
        assert_eq!(o.status.code(), Some(2), "{formats}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{formats}: {err}");
    }
    assert!(
        !out.exists(),
        "nothing is written for a refused command line"
    );
}

#[test]
fn a_delivery_is_measured_by_stem_report_and_a_lossy_stem_is_named() {
    let Rendered {
        dir,
        stems,
        out,
        summary,
    } = render_set(
        "render_formats_lossy_input",
        "streaming",
        &["--formats", "mp3"],
    );
    let row = &rows(&summary["masters"][0])[0];
    let mp3 = out.join("streaming.mp3");
    // `stem report` reads the delivery and measures what the preview measured.
    let report = stem(&["report", "--json", s(&mp3)]);
    assert_eq!(report.status.code(), Some(0));
    let r = json(&report);
    let preview_tp = row["true_peak_dbtp"].as_f64().unwrap();
    let preview_lufs = row["integrated_lufs"].as_f64().unwrap();
    assert!((r["true_peak_dbtp"].as_f64().unwrap() - preview_tp).abs() < 0.01);
    assert!((r["integrated_lufs"].as_f64().unwrap() - preview_lufs).abs() < 0.01);
    // As a stem it is read, and named as lossy.
    let out2 = dir.join("again");
    let mut args = vec![
        "render",
        "--deliver",
        "streaming",
        "--out",
        s(&out2),
        s(&mp3),
    ];
    args.extend(stems.iter().skip(1).map(String::as_str));
    let o = stem(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("streaming.mp3: lossy MP3 audio"), "{err}");
}

#[test]
fn masters_at_any_rate_are_coded_at_a_streaming_rate() {
    // libvorbis refuses 384 kHz and AAC stops at 96 kHz: such masters are coded at 48 kHz
    // (44.1 kHz for the 44.1 kHz family), and 22.05 kHz masters at 44.1 kHz.
    for (rate, coded) in [(384_000u32, 48_000u32), (22_050, 44_100)] {
        let dir = temp_dir(&format!("render_formats_rate_{rate}"));
        let n = 2 * rate as usize;
        let hum: Vec<f32> = (0..n)
            .map(|i| 0.3 * (std::f32::consts::TAU * 220.0 * i as f32 / rate as f32).sin())
            .collect();
        let stem_path = dir.join("synths.wav");
        write(&stem_path, &[hum.clone(), hum], rate);
        let out = dir.join("masters");
        let mut args = vec![
            "render",
            "--json",
            "--deliver",
            "streaming",
            "--out",
            s(&out),
        ];
        args.extend(["--formats", "mp3,vorbis", s(&stem_path)]);
        let summary = render(&args);
        for row in rows(&summary["masters"][0]) {
            assert!(row["skipped"].is_null(), "{rate} Hz: {row}");
            let decoded = read_audio(&out.join(row["file"].as_str().unwrap())).unwrap();
            assert_eq!(decoded.sample_rate_hz, coded, "{rate} Hz: {row}");
        }
    }
}
