//! `stem check` compares the start times the files' Broadcast Wave metadata declare (the guide:
//! every stem exported "from the same start point"): a `bext` chunk's `TimeReference` (EBU Tech
//! 3285) or an `iXML` chunk's `BWF_TIME_REFERENCE_LOW/HIGH`, inserted here byte by byte into
//! files that otherwise sum exactly to the mix.

mod common;
use common::*;

use std::path::Path;

/// 10:00:00 at 48 kHz, a common session start.
const TEN_O_CLOCK: u64 = 36_000 * SR as u64;

/// Inserts `chunk_bytes` right after the 12-byte RIFF header and fixes the RIFF size.
fn insert_chunk(path: &Path, chunk_bytes: Vec<u8>) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.splice(12..12, chunk_bytes);
    let riff_size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// A `bext` chunk (602-byte v1 body) with `TimeReference = samples`.
fn stamp_bext(path: &Path, samples: u64) {
    let mut body = vec![0u8; 602];
    body[338..346].copy_from_slice(&samples.to_le_bytes());
    body[346] = 1; // Version
    insert_chunk(path, chunk(b"bext", &body));
}

/// An `iXML` chunk whose `<BEXT>` carries the time reference.
fn stamp_ixml(path: &Path, samples: u64) {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BWFXML><IXML_VERSION>2.10</IXML_VERSION>\
         <BEXT><BWF_TIME_REFERENCE_LOW>{}</BWF_TIME_REFERENCE_LOW>\
         <BWF_TIME_REFERENCE_HIGH>{}</BWF_TIME_REFERENCE_HIGH></BEXT></BWFXML>",
        samples & 0xFFFF_FFFF,
        samples >> 32
    );
    insert_chunk(path, chunk(b"iXML", xml.as_bytes()));
}

fn check(stems: &[std::path::PathBuf], mix: &Path) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--mix", s(mix)]);
    let out = stem(&args);
    (out.status.code().unwrap(), json(&out))
}

fn findings<'a>(v: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

#[test]
fn stems_stamped_at_the_mix_start_pass_and_report_it() {
    let dir = temp_dir("start_time_same");
    let st = stems(2.0);
    let (paths, mix) = write_set(&dir, &st, &mix_of(&st));
    stamp_bext(&mix, TEN_O_CLOCK);
    for p in &paths[..3] {
        stamp_bext(p, TEN_O_CLOCK);
    }
    // The last stem's bext was dropped by a converter; its iXML still says when it starts.
    stamp_ixml(&paths[3], TEN_O_CLOCK);
    let (code, v) = check(&paths, &mix);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["mix_start_time_s"], 36_000.0);
    for stem in v["stems"].as_array().unwrap() {
        assert_eq!(stem["start_time_s"], 36_000.0, "{stem:#}");
    }
    let found = findings(&v, "start_time");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["severity"], "pass");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("(5 of 5)") && message.contains("10:00:00.000"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stem_stamped_elsewhere_on_the_timeline_fails_alone_with_both_times() {
    let dir = temp_dir("start_time_moved");
    let st = stems(2.0);
    let (paths, mix) = write_set(&dir, &st, &mix_of(&st));
    stamp_bext(&mix, TEN_O_CLOCK);
    // Exported from bar 2 of a 120 BPM session (2 s later), the audio itself still aligned.
    stamp_bext(&paths[1], TEN_O_CLOCK + 2 * SR as u64);
    stamp_bext(&paths[2], TEN_O_CLOCK);
    let (code, v) = check(&paths, &mix);
    assert_eq!(code, 1, "{v:#}");
    let found = findings(&v, "start_time");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["severity"], "fail");
    assert_eq!(found[0]["file"], "bass.wav");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("10:00:02.000")
            && message.contains("the mix at 10:00:00.000")
            && message.contains("+2.000 s"),
        "{message}"
    );
    // Files without a time reference are not judged by one.
    assert!(v["stems"][0]["start_time_s"].is_null());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_mix_time_the_odd_stem_out_is_named() {
    let dir = temp_dir("start_time_majority");
    let st = stems(2.0);
    let (paths, mix) = write_set(&dir, &st, &mix_of(&st));
    for (i, p) in paths.iter().enumerate() {
        stamp_bext(p, if i == 3 { 0 } else { TEN_O_CLOCK });
    }
    let (_, v) = check(&paths, &mix);
    let found = findings(&v, "start_time");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["file"], "vocals.wav");
    assert!(found[0]["message"]
        .as_str()
        .unwrap()
        .contains("most stems at 10:00:00.000"));
    std::fs::remove_dir_all(&dir).unwrap();
}
