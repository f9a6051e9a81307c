//! `stem render`: every master lands within 0.5 LU of its target (measured by the independent
//! `ebur128` crate) and never above its ceiling (an independent 16x windowed-sinc true-peak
//! check written here); the vinyl master's DR is reported; rendering twice is bit-identical;
//! 16-bit/44.1 kHz delivery; inputs are never overwritten; preset mistakes are named.

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// Writes the test stem set (6 s) into `dir`; returns the stem paths.
fn stem_set(dir: &Path) -> Vec<PathBuf> {
    let st = stems(6.0);
    let mix = mix_of(&st);
    write_set(dir, &st, &mix).0
}

fn run_render(stems: &[PathBuf], out: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["render", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--deliver", "streaming,club,vinyl", "--out", s(out)]);
    args.extend(extra);
    let o = stem(&args);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap(), json(&o))
}

/// The summary's entry for the master of delivery `name`.
fn master<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["masters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["delivery"] == name)
        .unwrap_or_else(|| panic!("no {name} master in {v:#}"))
}

#[test]
fn masters_meet_their_targets_and_render_identically_twice() {
    let dir = temp_dir("render_targets");
    let stems = stem_set(&dir);
    let out = dir.join("masters");
    let (_code, v) = run_render(&stems, &out, &[]);
    let targets = [
        ("streaming", -14.0, -1.0),
        ("club", -8.0, -1.0),
        ("vinyl", -16.0, -3.0),
    ];
    for (name, lufs, ceiling) in targets {
        let m = master(&v, name);
        let path = out.join(format!("{name}.wav"));
        let (ch, sr, bits) = read(&path);
        assert_eq!((sr, bits), (48_000, 24));
        let i = ebu_integrated(&ch, sr);
        let tp = true_peak_16x_dbtp(&ch);
        println!("{name}: {i:.2} LUFS (target {lufs}), 16x TP {tp:.2} dBTP (ceiling {ceiling}), report {:.2} LUFS / {:.2} dBTP, DR {}",
            m["report"]["integrated_lufs"], m["report"]["true_peak_dbtp"], m["report"]["dr"]);
        assert!((i - lufs).abs() <= 0.5, "{name}: {i} LUFS");
        assert!(tp <= ceiling, "{name}: true peak {tp} dBTP above {ceiling}");
        assert_eq!(m["report"]["target"]["loudness_ok"], true);
        assert_eq!(m["report"]["target"]["ceiling_ok"], true);
        assert!(
            out.join(format!("{name}.md")).exists()
                && out.join(format!("{name}-loudness.png")).exists()
        );
    }
    // Every master says how hard its limiter worked, consistently, and louder costs more.
    let gr = |name: &str| {
        let m = master(&v, name);
        let g = &m["report"]["limiter_gain_reduction"];
        let f = |k: &str| {
            g[k].as_f64()
                .unwrap_or_else(|| panic!("{name}: no {k} in {g:#}"))
        };
        let (mean, p95, max) = (f("mean_db"), f("p95_db"), f("max_db"));
        let (over3, over6) = (f("percent_over_3_db"), f("percent_over_6_db"));
        assert!(0.0 <= mean && mean <= max && p95 <= max, "{name}: {g:#}");
        assert!(
            (0.0..=100.0).contains(&over3) && over6 <= over3,
            "{name}: {g:#}"
        );
        let md = std::fs::read_to_string(out.join(format!("{name}.md"))).unwrap();
        assert!(md.contains("Master limiter gain reduction"), "{name}.md");
        mean
    };
    assert!(
        gr("club") > gr("streaming"),
        "club limits harder than streaming"
    );
    let vinyl = master(&v, "vinyl");
    assert!(
        vinyl["report"]["dr"].is_i64(),
        "vinyl DR missing: {vinyl:#}"
    );
    assert_eq!(vinyl["report"]["target"]["dr_above"], 10);

    // Twice, into another directory: the same bytes.
    let out2 = dir.join("again");
    run_render(&stems, &out2, &[]);
    for name in ["streaming", "club", "vinyl"] {
        let a = std::fs::read(out.join(format!("{name}.wav"))).unwrap();
        let b = std::fs::read(out2.join(format!("{name}.wav"))).unwrap();
        assert!(a == b, "{name}: renders differ");
    }
}

#[test]
fn sixteen_bit_cd_master() {
    let dir = temp_dir("render_cd");
    let stems = stem_set(&dir);
    let out = dir.join("cd");
    let mut args = vec!["render", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend([
        "--deliver",
        "streaming",
        "--out",
        s(&out),
        "--bits",
        "16",
        "--sample-rate",
        "44100",
    ]);
    let o = stem(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (ch, sr, bits) = read(&out.join("streaming-16bit-44k1.wav"));
    assert_eq!((sr, bits), (44_100, 16));
    assert_eq!(ch[0].len(), 6 * 44_100);
    let i = ebu_integrated(&ch, sr);
    assert!((i + 14.0).abs() <= 0.5, "{i}");
    assert!(true_peak_16x_dbtp(&ch) <= -1.0);
}

#[test]
fn never_writes_over_an_input() {
    let dir = temp_dir("render_protect");
    let mut stems = stem_set(&dir);
    // A stem that happens to be called like a master, rendered into its own directory.
    let clash = dir.join("streaming.wav");
    std::fs::rename(&stems[3], &clash).unwrap();
    stems[3] = clash.clone();
    let before = std::fs::read(&clash).unwrap();
    let mut args = vec!["render"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--deliver", "streaming", "--out", s(&dir)]);
    let o = stem(&args);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refusing to write over an input file"),
        "{err}"
    );
    assert_eq!(std::fs::read(&clash).unwrap(), before);
}

#[test]
fn preset_mistakes_are_named() {
    let dir = temp_dir("render_preset");
    let stems = stem_set(&dir);
    let o_dir = dir.join("o");
    let cases = [
        (
            "[stems.bass]\ninput_trim_dbb = 1.0\n",
            "stems.bass.input_trim_dbb",
        ),
        (
            "[master]\nlimiter = { ceiling = -1.0 }\n",
            "master.limiter.ceiling",
        ),
        ("[deliveries.club]\ntarget = -8\n", "deliveries.club.target"),
        ("[stems.bass\n", "invalid TOML"),
    ];
    for (text, words) in cases {
        let preset = dir.join("preset.toml");
        std::fs::write(&preset, text).unwrap();
        let mut args = vec!["render"];
        args.extend(stems.iter().map(|p| s(p)));
        args.extend([
            "--preset",
            s(&preset),
            "--deliver",
            "streaming",
            "--out",
            s(&o_dir),
        ]);
        let o = stem(&args);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(words), "expected '{words}' in: {err}");
    }
    // A custom delivery needs its target.
    let o_dir = dir.join("o");
    let mut args = vec!["render"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--deliver", "radio", "--out", s(&o_dir)]);
    let o = stem(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown delivery 'radio'"));
}

/// The loudness-damage figure compares the master with the pre-limiter signal sample for sample:
/// when the limiter never acts (a quiet custom delivery) the master is exactly a gain of it and
/// `D` is at the float rounding floor; a club master, limited hard, is damaged by several dB
/// more than the streaming one. A misalignment of even one sample would put the quiet master's
/// `D` near the music's one-sample decorrelation (tens of dB above the floor).
#[test]
fn loudness_damage_is_nil_for_an_idle_limiter_and_grows_with_limiting() {
    let dir = temp_dir("render_damage");
    let stems = stem_set(&dir);
    let preset = dir.join("quiet.toml");
    std::fs::write(
        &preset,
        "[deliveries.quiet]\ntarget_lufs = -30.0\nceiling_dbtp = -1.0\n",
    )
    .unwrap();
    let out = dir.join("masters");
    let mut args = vec!["render", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--preset", s(&preset), "--deliver", "quiet,streaming,club"]);
    args.extend(["--out", s(&out)]);
    let v = json(&stem(&args));
    let damage = |name: &str| {
        let m = master(&v, name);
        let d = m["report"]["loudness_damage_db"].as_f64();
        println!(
            "{name}: D {d:?} dB, limiter {}",
            m["report"]["limiter_gain_reduction"]
        );
        // Minus infinity (an exact gain) serialises as null.
        d.unwrap_or(f64::NEG_INFINITY)
    };
    let quiet = damage("quiet");
    assert!(quiet < -100.0, "idle limiter: D {quiet} dB");
    let (streaming, club) = (damage("streaming"), damage("club"));
    assert!(
        club > streaming + 3.0,
        "club {club} vs streaming {streaming}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The largest channel mean of a written file, dBFS.
fn dc_dbfs(path: &Path) -> f64 {
    let (ch, _, _) = read(path);
    ch.iter()
        .map(|c| (c.iter().map(|&x| x as f64).sum::<f64>() / c.len() as f64).abs())
        .fold(0.0f64, f64::max)
        .log10()
        * 20.0
}

/// A stem carrying a -26 dBFS DC offset (as old sample-based stems do) gets the Stem Channel's
/// DC filter in the render, says so in render.json, and the club master's DC stays below
/// -60 dBFS; with the filter pinned off by the preset the same master carries the offset,
/// raised by the drive. The other stems' DC is far below the threshold and they are left alone.
#[test]
fn a_stem_with_dc_gets_its_dc_filter_and_the_master_stays_clean() {
    let dir = temp_dir("render_dc");
    let mut st = stems(6.0);
    let offset = 0.05f32; // -26.0 dBFS
                          // The synths stem: its starting point has no high-pass (the drums' 35 Hz one would take
                          // the offset out anyway).
    for c in &mut st[2].1 {
        for x in c.iter_mut() {
            *x += offset;
        }
        q24(c);
    }
    assert_eq!(st[2].0, "synths.wav");
    let stems = write_set(&dir, &st, &mix_of(&st)).0;
    let render = |name: &str, preset: &str| {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, preset).unwrap();
        let out = dir.join(name);
        let mut args = vec!["render", "--json"];
        args.extend(stems.iter().map(|p| s(p)));
        args.extend(["--preset", s(&p), "--deliver", "club", "--out", s(&out)]);
        let v = json(&stem(&args));
        let master_dc = dc_dbfs(&out.join("club.wav"));
        (v, master_dc)
    };
    let (v, filtered_dc) = render("auto", "");
    let listed = v["stems"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    let synths_dc = listed[2]["dc_offset_dbfs"].as_f64().unwrap();
    assert!((synths_dc + 26.02).abs() < 0.05, "{synths_dc}");
    assert_eq!(
        listed[2]["dc_filter_deliveries"],
        serde_json::json!(["club"])
    );
    for (i, other) in listed.iter().enumerate().filter(|(i, _)| *i != 2) {
        println!("stem {i}: {}", other["dc_offset_dbfs"]);
        assert!(
            other["dc_offset_dbfs"]
                .as_f64()
                .unwrap_or(f64::NEG_INFINITY)
                < -60.0
        );
        assert_eq!(other["dc_filter_deliveries"], serde_json::json!([]));
    }
    let master_dc_filter = |v: &serde_json::Value| {
        master(v, "club")["report"]["loudness_plan"]["master_dc_filter"].clone()
    };
    assert_eq!(master_dc_filter(&v)["choice"], "not_needed");
    assert_eq!(master_dc_filter(&v)["enabled"], false);
    // The stem's filter pinned off: the sum carries the offset, and the drive would lift it
    // further, so the render turns the master's DC filter on instead.
    let (v, master_filtered_dc) =
        render("stem_pinned", "[stems.synths]\ndc_filter_enabled = false\n");
    assert_eq!(v["stems"][2]["dc_filter_deliveries"], serde_json::json!([]));
    assert_eq!(master_dc_filter(&v)["choice"], "for_dc");
    assert_eq!(master_dc_filter(&v)["enabled"], true);
    let pre_dc = master_dc_filter(&v)["pre_limiter_dc_dbfs"]
        .as_f64()
        .unwrap();
    assert!(pre_dc > -30.0, "{pre_dc}");
    assert!(
        (master(&v, "club")["report"]["integrated_lufs"]
            .as_f64()
            .unwrap()
            + 8.0)
            .abs()
            < 0.5
    );
    // Both pinned off: the DC goes through, as asked.
    let pinned_preset = "[stems.synths]\ndc_filter_enabled = false\n\
                         [master]\ndc_filter_enabled = false\n";
    let (v, pinned_dc) = render("pinned", pinned_preset);
    assert_eq!(master_dc_filter(&v)["choice"], "pinned");
    println!(
        "master DC: stem filtered {filtered_dc:.1} dBFS, master filtered \
         {master_filtered_dc:.1} dBFS, both pinned off {pinned_dc:.1} dBFS"
    );
    assert!(filtered_dc < -60.0, "{filtered_dc}");
    assert!(master_filtered_dc < -60.0, "{master_filtered_dc}");
    assert!(pinned_dc > -30.0, "{pinned_dc}");
    // The pinned master meets its target but carries the DC warning: `--strict` fails it.
    for strict in [false, true] {
        let out = dir.join(format!("strict-{strict}"));
        let mut args = vec!["render", "--json"];
        args.extend(stems.iter().map(|p| s(p)));
        let preset = dir.join("pinned.toml");
        args.extend([
            "--preset",
            s(&preset),
            "--deliver",
            "club",
            "--out",
            s(&out),
        ]);
        if strict {
            args.push("--strict");
        }
        let o = stem(&args);
        let v = json(&o);
        let target = &master(&v, "club")["report"]["target"];
        assert_eq!(target["passed"], true);
        assert!(!target["warnings"].as_array().unwrap().is_empty());
        assert_eq!(v["passed"], !strict);
        assert_eq!(o.status.code(), Some(if strict { 1 } else { 0 }));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The loudness plan: where the limiter alone costs loudness (club), both the limiter alone and
/// the clipper before it are rendered and the cleaner is kept, and the master's own `D` (from
/// the whole chain) is the one the plan measured on the peak stage alone; where the limiter is
/// idle (streaming) nothing is tried; a preset that sets `clipper_enabled` is obeyed either
/// way; every master holds its ceiling by an independent 16x check.
#[test]
fn the_loudness_plan_keeps_the_clipper_only_where_it_measures_cleaner() {
    let dir = temp_dir("render_plan");
    let stems = stem_set(&dir);
    let out = dir.join("auto");
    let (_code, auto) = run_render(&stems, &out, &[]);
    let plan =
        |v: &serde_json::Value, name: &str| master(v, name)["report"]["loudness_plan"].clone();
    let damage = |v: &serde_json::Value, name: &str| {
        master(v, name)["report"]["loudness_damage_db"]
            .as_f64()
            .unwrap()
    };
    let club = plan(&auto, "club");
    println!("club plan: {club:#}");
    assert_eq!(club["clipper_choice"], "measured");
    assert_eq!(club["clipper_enabled"], true);
    let alone = club["damage_limiter_only_db"].as_f64().unwrap();
    let clipped = club["damage_with_clipper_db"].as_f64().unwrap();
    assert!(clipped < alone - 0.5, "{clipped} vs {alone}");
    assert!((damage(&auto, "club") - clipped).abs() < 0.01);
    assert!(club["peak_control_cost_db"].as_f64().unwrap() > 0.3);
    let streaming = plan(&auto, "streaming");
    assert_eq!(streaming["clipper_choice"], "limiter_idle");
    assert_eq!(streaming["clipper_enabled"], false);
    let md = std::fs::read_to_string(out.join("club.md")).unwrap();
    assert!(md.contains("## Loudness plan") && md.contains("## Clipper peak reduction"));

    // Pinned: the clipper off for club, on for streaming.
    let preset = dir.join("pinned.toml");
    std::fs::write(
        &preset,
        "[deliveries.club.master]\nclipper_enabled = false\n\
         [deliveries.streaming.master]\nclipper_enabled = true\n",
    )
    .unwrap();
    let out_pinned = dir.join("pinned");
    let (_code, pinned) = run_render(&stems, &out_pinned, &["--preset", s(&preset)]);
    let club_off = plan(&pinned, "club");
    assert_eq!(club_off["clipper_choice"], "pinned");
    assert_eq!(club_off["clipper_enabled"], false);
    assert!(master(&pinned, "club")["report"]["clipper_peak_reduction"].is_null());
    assert!(
        (damage(&pinned, "club") - alone).abs() < 0.01,
        "the limiter alone, rendered whole: {} vs the plan's {alone}",
        damage(&pinned, "club")
    );
    let streaming_on = plan(&pinned, "streaming");
    assert_eq!(streaming_on["clipper_choice"], "pinned");
    assert_eq!(streaming_on["clipper_enabled"], true);
    for (dir, v) in [(&out, &auto), (&out_pinned, &pinned)] {
        for (name, ceiling) in [("streaming", -1.0), ("club", -1.0), ("vinyl", -3.0)] {
            let (ch, sr, _) = read(&dir.join(format!("{name}.wav")));
            let tp = true_peak_16x_dbtp(&ch);
            let i = ebu_integrated(&ch, sr);
            println!("{}: {name} {i:.2} LUFS, {tp:.2} dBTP", dir.display());
            assert!(tp <= ceiling, "{name}: {tp} dBTP");
            let target = &master(v, name)["report"]["target"];
            assert_eq!(target["loudness_ok"], true, "{name}");
            assert_eq!(target["ceiling_ok"], true, "{name}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
