//! Codec preview: what a listener's decoder makes of each encoded delivery. A lossy coder
//! changes the waveform (it drops and re-shapes spectral detail), so the decoded signal's true
//! peak rises above the master's, most at low bitrates and for loud masters; its integrated
//! loudness barely moves. Every lossy delivery is decoded again and measured with the report's
//! own meters (BS.1770-5 loudness and true peak): its true peak and loudness, their change
//! against the master, and whether the decoded true peak still holds the delivery's ceiling.
//! FLAC is decoded and compared sample for sample with the master (it must be identical).
//!
//! MP3, Ogg Vorbis and AAC are decoded by `stem_delivery::decoded` (symphonia); Opus by the
//! `ffmpeg` that encoded it. Both feed the same meters.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;
use stem_delivery::decoded::{self, DecodedMeter};

use crate::analysis::{fmt_db, LoudnessFigures};
use crate::codec::{ffmpeg, Codec, Encoded, Format};
use crate::decode::AudioReader;
use crate::files::display_name;

/// One encoded delivery as its decoder plays it back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CodecPreview {
    pub format: Format,
    /// The encoded file, when it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Why it was not made or not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Decoded true peak, dBTP (lossy formats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_peak_dbtp: Option<f64>,
    /// Decoded integrated loudness, LUFS (lossy formats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_lufs: Option<f64>,
    /// Decoded true peak minus the master's, dB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_peak_rise_db: Option<f64>,
    /// Decoded loudness minus the master's, LU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudness_change_lu: Option<f64>,
    /// Whether the decoded true peak is at or below the delivery's ceiling (lossy formats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling_ok: Option<bool>,
    /// FLAC: whether it decodes to exactly the master's samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lossless_identical: Option<bool>,
}

/// Measures a file symphonia decodes (MP3, Ogg Vorbis, AAC in MP4).
fn measure_decoded(path: &Path) -> Result<(f64, f64), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let d = decoded::measure(Box::new(file), ext)?;
    Ok((d.true_peak_dbtp, d.integrated_lufs))
}

/// Measures a file through `ffmpeg`'s decoder (32-bit float, stereo, at 48 kHz).
fn measure_through_ffmpeg(path: &Path) -> Result<(f64, f64), String> {
    const RATE_HZ: u32 = 48_000;
    let ffmpeg = ffmpeg().ok_or("ffmpeg not found on the PATH")?;
    let mut child = Command::new(&ffmpeg)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-f", "f32le", "-ac", "2", "-ar"])
        .arg(RATE_HZ.to_string())
        .arg("-")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", ffmpeg.display()))?;
    let mut meter = DecodedMeter::new(RATE_HZ as f64);
    let mut stdout = child.stdout.take().ok_or("ffmpeg gave no output")?;
    let mut bytes = vec![0u8; 8 * 4096];
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut pending = 0usize;
    loop {
        let got = stdout
            .read(&mut bytes[pending..])
            .map_err(|e| format!("reading ffmpeg's output: {e}"))?;
        if got == 0 {
            break;
        }
        let have = pending + got;
        let whole = have / 8 * 8;
        left.clear();
        right.clear();
        for frame in bytes[..whole].chunks_exact(8) {
            left.push(f32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]));
            right.push(f32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]));
        }
        meter.feed(&left, &right);
        bytes.copy_within(whole..have, 0);
        pending = have - whole;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "ffmpeg could not decode it ({}): {}",
            out.status,
            msg.trim().lines().last().unwrap_or("no message")
        ));
    }
    Ok(meter.finish())
}

/// Whether the FLAC at `flac` decodes to exactly the samples of the WAV `master`.
fn identical_samples(flac: &Path, master: &Path) -> Result<bool, String> {
    let mut a = AudioReader::open(flac).map_err(|e| e.to_string())?;
    let mut b = AudioReader::open(master).map_err(|e| e.to_string())?;
    let (mut ba, mut bb) = (vec![Vec::new(); 2], vec![Vec::new(); 2]);
    loop {
        let na = a.read_block(&mut ba, 1 << 15).map_err(|e| e.to_string())?;
        let nb = b.read_block(&mut bb, 1 << 15).map_err(|e| e.to_string())?;
        if na != nb || ba != bb {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// The preview of one encoding of the master `wav` (whose figures are `master`) for a
/// delivery with ceiling `ceiling_dbtp`.
pub fn preview(
    e: &Encoded,
    wav: &Path,
    master: &LoudnessFigures,
    ceiling_dbtp: f64,
) -> CodecPreview {
    let mut row = CodecPreview {
        format: e.format,
        file: e.path.as_deref().map(display_name),
        skipped: e.skipped.clone(),
        true_peak_dbtp: None,
        integrated_lufs: None,
        true_peak_rise_db: None,
        loudness_change_lu: None,
        ceiling_ok: None,
        lossless_identical: None,
    };
    let Some(path) = &e.path else {
        return row;
    };
    if e.format.codec == Codec::Flac {
        match identical_samples(path, wav) {
            Ok(same) => row.lossless_identical = Some(same),
            Err(reason) => row.skipped = Some(format!("could not be decoded to check: {reason}")),
        }
        return row;
    }
    let measured = match e.format.codec {
        Codec::Opus => measure_through_ffmpeg(path),
        _ => measure_decoded(path),
    };
    match measured {
        Ok((tp, lufs)) => {
            row.true_peak_dbtp = Some(tp);
            row.integrated_lufs = Some(lufs);
            row.true_peak_rise_db = Some(tp - master.true_peak_dbtp);
            row.loudness_change_lu = Some(lufs - master.integrated_lufs);
            row.ceiling_ok = Some(tp <= ceiling_dbtp);
        }
        Err(reason) => row.skipped = Some(format!("could not be decoded to measure: {reason}")),
    }
    row
}

/// The Markdown section of a master's report.
pub fn markdown(rows: &[CodecPreview], ceiling_dbtp: Option<f64>) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n## Codec preview\n\nEach encoded delivery decoded again and measured like the master \
         (the true peak a listener's decoder produces).\n\n\
         | Format | File | True peak | Rise | Loudness | Change | Ceiling |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let file = r.file.as_deref().unwrap_or("-");
        if let Some(why) = &r.skipped {
            s += &format!("| {} | {file} | skipped: {why} | | | | |\n", r.format);
            continue;
        }
        if let Some(same) = r.lossless_identical {
            let verdict = if same {
                "identical to the master's samples"
            } else {
                "**differs from the master**"
            };
            s += &format!("| {} | {file} | {verdict} | | | | |\n", r.format);
            continue;
        }
        let ceiling = match (r.ceiling_ok, ceiling_dbtp) {
            (Some(true), Some(c)) => format!("<= {c:.1} dBTP: pass"),
            (Some(false), Some(c)) => format!("over {c:.1} dBTP: **FAIL**"),
            _ => String::new(),
        };
        s += &format!(
            "| {} | {file} | {} | {:+.2} dB | {} | {:+.2} LU | {ceiling} |\n",
            r.format,
            fmt_db(r.true_peak_dbtp.unwrap_or(f64::NAN), "dBTP"),
            r.true_peak_rise_db.unwrap_or(f64::NAN),
            fmt_db(r.integrated_lufs.unwrap_or(f64::NAN), "LUFS"),
            r.loudness_change_lu.unwrap_or(f64::NAN),
        );
    }
    s
}
