//! `stem album`: three songs (one a stem folder rendered first, two finished masters at other
//! loudness) made into a streaming album. Checked independently on the written files
//! (`ebur128`, the test's 16x true peak): one album gain keeps the songs' relative loudness
//! within 0.1 LU and puts the loudest on the target within 0.3 LU; every track and the album
//! hold the ceiling; album.wav is the tracks in order with the gaps; `--per-track` puts each on
//! the target; bad input is refused by name.

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// A programme-like stereo song: the shared test stems summed, scaled by `gain_db`.
fn song(gain_db: f64, seconds: f64) -> [Vec<f32>; 2] {
    let set = stems(seconds);
    let mut mix = mix_of(&set);
    let g = 10f32.powf(gain_db as f32 / 20.0);
    for x in mix.iter_mut().flatten() {
        *x *= g;
    }
    mix
}

fn write_song(path: &Path, ch: &[Vec<f32>; 2]) {
    let mut ch = ch.clone();
    for c in ch.iter_mut() {
        q24(c);
    }
    write(path, &ch, SR);
}

fn three_songs(dir: &Path) -> Vec<PathBuf> {
    // Song 1: a stem folder (rendered to streaming first).
    let folder = dir.join("one").join("song");
    std::fs::create_dir_all(&folder).unwrap();
    let set = stems(6.0);
    let mix = mix_of(&set);
    write_set(&folder, &set, &mix);
    // Songs 2 and 3: masters 4 and 9 dB under the mix's level.
    let two = dir.join("two.wav");
    let three = dir.join("three.wav");
    write_song(&two, &song(-4.0, 6.0));
    write_song(&three, &song(-9.0, 5.0));
    vec![folder, two, three]
}

fn run(args: &[&str]) -> serde_json::Value {
    let out = stem(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "album failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

/// Loudness and 16x true peak of a written file.
fn measure(path: &Path) -> (f64, f64, usize) {
    let (ch, sr, _) = read(path);
    (
        ebu_integrated(&ch, sr),
        true_peak_16x_dbtp(&ch),
        ch[0].len(),
    )
}

/// Renders the album of `tracks` to `delivery` (target `target_lufs`) and checks it on the
/// written files.
fn check_album(tracks: &[PathBuf], out: &Path, delivery: &[&str], target_lufs: f64) {
    let mut args = vec!["album", "--json", "--out", s(out), "--gap", "1.5"];
    args.extend(delivery);
    args.extend(tracks.iter().map(|p| s(p)));
    let summary = run(&args);
    assert_eq!(summary["mode"], "album");
    let rows = summary["tracks"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // The folder was rendered first.
    assert!(rows[0]["master"].as_str().unwrap().contains("renders"));
    let gain = summary["album_gain_db"].as_f64().unwrap();
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut frames = 0;
    for r in rows {
        assert!(
            (r["gain_db"].as_f64().unwrap() - gain).abs() < 1e-12,
            "one gain"
        );
        let (l_in, _, _) = measure(Path::new(r["master"].as_str().unwrap()));
        let (l_out, tp_out, n) = measure(Path::new(r["file"].as_str().unwrap()));
        assert!(tp_out <= -1.0 + 0.05, "true peak {tp_out} over the ceiling");
        before.push(l_in);
        after.push(l_out);
        frames += n;
    }
    let loudest = (0..3)
        .max_by(|&a, &b| before[a].total_cmp(&before[b]))
        .unwrap();
    assert!(
        (after[loudest] - target_lufs).abs() <= 0.3,
        "loudest at {}",
        after[loudest]
    );
    for i in 0..3 {
        let rel_in = before[i] - before[loudest];
        let rel_out = after[i] - after[loudest];
        assert!(
            (rel_in - rel_out).abs() <= 0.1,
            "track {i}: {rel_in:.3} LU before, {rel_out:.3} after"
        );
    }
    // The album: the tracks in order with 1.5 s gaps, holding the ceiling.
    let album = out.join("album.wav");
    let (l_album, tp_album, n_album) = measure(&album);
    assert_eq!(n_album, frames + 2 * (1.5 * SR as f64) as usize);
    assert!(tp_album <= -1.0 + 0.05);
    let reported = summary["album"]["integrated_lufs"].as_f64().unwrap();
    assert!((reported - l_album).abs() < 0.05, "{reported} vs {l_album}");
    assert!(
        summary["album"]["service_preview"]
            .as_array()
            .unwrap()
            .len()
            >= 9
    );
    let md = std::fs::read_to_string(out.join("album.md")).unwrap();
    assert!(md.contains("one album gain") && md.contains("The album as the services play it"));
}

#[test]
fn an_album_keeps_its_songs_relative_loudness() {
    let dir = temp_dir("album");
    let tracks = three_songs(&dir);
    // Streaming: the gain is near 0 dB (the rendered song is on -14 already).
    check_album(
        &tracks,
        &dir.join("streaming"),
        &["--deliver", "streaming"],
        -14.0,
    );
    // -9 LUFS: the folder's streaming render (-14 LUFS, about -2.6 dBTP) needs +5 dB, which
    // lifts its peaks over the ceiling; the limiter's loss is made up, so the others keep
    // their distance to it.
    let out = dir.join("louder");
    check_album(&tracks, &out, &["--target-lufs", "-9"], -9.0);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("album.json")).unwrap()).unwrap();
    let first = &summary["tracks"][0];
    assert!(
        first["drive_db"].as_f64().unwrap() > first["gain_db"].as_f64().unwrap() + 0.05,
        "the limiter's loss was made up: {first}"
    );
}

#[test]
fn per_track_puts_every_song_on_the_target() {
    let dir = temp_dir("album_per_track");
    let tracks = three_songs(&dir);
    let out = dir.join("album");
    let mut args = vec!["album", "--json", "--per-track", "--out", s(&out)];
    args.extend(["--deliver", "club", "--target-lufs", "-10"]);
    args.extend(tracks.iter().map(|p| s(p)));
    let summary = run(&args);
    assert_eq!(summary["mode"], "per_track");
    for r in summary["tracks"].as_array().unwrap() {
        let (l, tp, _) = measure(Path::new(r["file"].as_str().unwrap()));
        assert!((l + 10.0).abs() <= 0.5, "{l}");
        assert!(tp <= -1.0 + 0.05, "{tp}");
    }
}

#[test]
fn bad_albums_are_refused_by_name() {
    let dir = temp_dir("album_bad");
    let a = dir.join("a.wav");
    write_song(&a, &song(-6.0, 2.0));
    let b44 = dir.join("b44.wav");
    write(&b44, &song(-6.0, 2.0), 44_100);
    let silent = dir.join("silent.wav");
    write(&silent, &[vec![0.0; 48_000], vec![0.0; 48_000]], SR);
    let out = dir.join("out");
    for (args, expected) in [
        (vec![s(&a), s(&b44)], "differs from a.wav"),
        (vec![s(&a), s(&a)], "is given twice"),
        (vec![s(&a), s(&silent)], "is silent"),
        (vec![s(&a), "missing.wav"], "not found"),
    ] {
        let mut full = vec!["album", "--out", s(&out)];
        full.extend(args);
        let o = stem(&full);
        assert_eq!(o.status.code(), Some(2), "{full:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expected), "{full:?}: {err}");
    }
    let o = stem(&["album", "--out", s(&out), "--gap", "60", s(&a)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--gap 60"));
    let o = stem(&["album", "--out", s(&out), "--deliver", "radio", s(&a)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--deliver radio"));
}

#[test]
fn two_stem_folders_of_one_name_stay_apart() {
    let dir = temp_dir("album_same_names");
    let mut tracks = Vec::new();
    for (parent, gain_db) in [("a", 0.0), ("b", -6.0)] {
        let folder = dir.join(parent).join("song");
        std::fs::create_dir_all(&folder).unwrap();
        let mut set = stems(4.0);
        let g = 10f32.powf(gain_db / 20.0);
        for (_, ch) in set.iter_mut() {
            for x in ch.iter_mut().flatten() {
                *x *= g;
            }
        }
        let mix = mix_of(&set);
        write_set(&folder, &set, &mix);
        tracks.push(folder);
    }
    let out = dir.join("album");
    let mut args = vec!["album", "--json", "--per-track", "--out", s(&out)];
    args.extend(tracks.iter().map(|p| s(p)));
    let summary = run(&args);
    let masters: Vec<&str> = summary["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["master"].as_str().unwrap())
        .collect();
    assert_ne!(masters[0], masters[1]);
    for m in masters {
        assert!(Path::new(m).is_file(), "{m}");
    }
}
