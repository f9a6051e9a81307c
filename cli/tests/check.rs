//! `stem check`: the null test passes on exact stems and fails, with the cause reported, on a
//! stem shifted by one sample, a stem 0.1 dB hot, and a missing stem.

mod common;
use common::*;

fn check_json(
    dir: &std::path::Path,
    stems: &[std::path::PathBuf],
    mix: &std::path::Path,
) -> (i32, serde_json::Value) {
    let _ = dir;
    let mut args = vec!["check", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--mix", s(mix)]);
    let out = stem(&args);
    (out.status.code().unwrap(), json(&out))
}

fn null_peak(v: &serde_json::Value) -> f64 {
    v["null_test"]["residual_peak_dbfs"]
        .as_f64()
        .unwrap_or(f64::NEG_INFINITY)
}

fn failed_checks(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "fail")
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exact_stems_null_and_pass() {
    let dir = temp_dir("check_exact");
    let st = stems(3.0);
    let mix = mix_of(&st);
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let (code, v) = check_json(&dir, &paths, &mix_path);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["passed"], true);
    // On the 24-bit grid the sum is exact: the residual is digital silence.
    assert!(
        null_peak(&v).is_infinite() || null_peak(&v) < -140.0,
        "{v:#}"
    );
    assert_eq!(v["null_test"]["passed"], true);
    for stem in v["stems"].as_array().unwrap() {
        assert_eq!(stem["offset_samples"], 0, "{stem:#}");
    }
    let roles: Vec<&str> = v["stems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["drums", "bass", "synths", "vocals"]);
    // The mono bass line has no side energy below 100 Hz.
    assert!(
        v["stems"][1]["low_side_to_mid_db"].is_null()
            || v["stems"][1]["low_side_to_mid_db"].as_f64().unwrap() < -100.0
    );
    // The human table says PASS too.
    let mut args = vec!["check"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--mix", s(&mix_path)]);
    let out = stem(&args);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RESULT: PASS"), "{text}");
    assert!(text.contains("rounding floor"), "{text}");
}

#[test]
fn one_sample_shift_fails_with_its_offset() {
    let dir = temp_dir("check_shift");
    let mut st = stems(3.0);
    let mix = mix_of(&st);
    // The drums stem as exported one sample late.
    for c in 0..2 {
        st[0].1[c].insert(0, 0.0);
        st[0].1[c].pop();
    }
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let (code, v) = check_json(&dir, &paths, &mix_path);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["stems"][0]["offset_samples"], 1);
    for i in 1..4 {
        assert_eq!(v["stems"][i]["offset_samples"], 0);
    }
    let fails = failed_checks(&v);
    assert!(
        fails.contains(&"offset".to_string()) && fails.contains(&"null_test".to_string()),
        "{fails:?}"
    );
    assert!(null_peak(&v) > -60.0);
}

#[test]
fn a_tenth_of_a_db_fails_the_null_test() {
    let dir = temp_dir("check_gain");
    let mut st = stems(3.0);
    let mix = mix_of(&st);
    let g = 10f32.powf(0.1 / 20.0);
    for c in 0..2 {
        for x in st[2].1[c].iter_mut() {
            *x *= g;
        }
        q24(&mut st[2].1[c]);
    }
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let (code, v) = check_json(&dir, &paths, &mix_path);
    assert_eq!(code, 1);
    assert_eq!(failed_checks(&v), ["null_test"]);
    for i in 0..4 {
        assert_eq!(v["stems"][i]["offset_samples"], 0);
    }
    // Residual = 0.0116 x the synth stem (peak about -11.5 dBFS): about -50 dBFS.
    let peak = null_peak(&v);
    assert!((-56.0..-44.0).contains(&peak), "{peak}");
}

#[test]
fn a_missing_stem_fails_the_null_test() {
    let dir = temp_dir("check_missing");
    let st = stems(3.0);
    let mix = mix_of(&st);
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let (code, v) = check_json(&dir, &paths[..3], &mix_path);
    assert_eq!(code, 1);
    assert_eq!(failed_checks(&v), ["null_test"]);
    for i in 0..3 {
        assert_eq!(v["stems"][i]["offset_samples"], 0);
    }
    // The residual is the vocal stem itself (peak about -12 dBFS).
    assert!(null_peak(&v) > -20.0, "{}", null_peak(&v));
}
