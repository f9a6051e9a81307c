//! `stem render`'s stem attribution: a stem set where one stem's transients alone drive the
//! master limiter (a quiet sustained pad carrying most of the energy, and sparse drum hits far
//! above it) is rendered to club; every master's report names the drum stem with at least 90 %
//! of the limiter's gain reduction (an energy share would give it under half), in its JSON,
//! its Markdown and the terminal.

mod common;
use common::*;

use std::path::PathBuf;

/// Six seconds: a 300 Hz pad at -21 dBFS and 60 Hz drum hits (4 ms decay) peaking at
/// -0.9 dBFS twice a second, on the 24-bit grid; returns the paths and each stem's energy.
fn pad_and_drums(dir: &std::path::Path) -> (Vec<PathBuf>, [f64; 2]) {
    let n = 6 * SR as usize;
    let sr = SR as f64;
    let tau = std::f64::consts::TAU;
    let mut pad: Vec<f32> = (0..n)
        .map(|i| (0.09 * (tau * 300.0 * i as f64 / sr).sin()) as f32)
        .collect();
    let mut drums: Vec<f32> = (0..n)
        .map(|i| {
            let t = (i % (SR as usize / 2)) as f64 / sr;
            (0.9 * (-t / 0.004).exp() * (tau * 60.0 * t).cos()) as f32
        })
        .collect();
    q24(&mut pad);
    q24(&mut drums);
    let energy = |x: &[f32]| x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
    let energies = [energy(&pad), energy(&drums)];
    let paths = vec![dir.join("pad.wav"), dir.join("drums.wav")];
    write(&paths[0], &[pad.clone(), pad], SR);
    write(&paths[1], &[drums.clone(), drums], SR);
    (paths, energies)
}

#[test]
fn the_stem_whose_transients_drive_the_limiter_is_named() {
    let dir = temp_dir("render_attribution");
    let (stems, energy) = pad_and_drums(&dir);
    assert!(
        energy[0] > energy[1],
        "the pad carries most energy: {energy:?}"
    );
    let out = dir.join("masters");
    let mut args = vec!["render", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--deliver", "club", "--out", s(&out)]);
    let v = json(&stem(&args));
    let report = &v["masters"][0]["report"];
    assert!(
        report["limiter_gain_reduction"]["mean_db"]
            .as_f64()
            .unwrap()
            > 0.1,
        "the limiter works: {}",
        report["limiter_gain_reduction"]
    );
    let rows = report["stem_attribution"].as_array().expect("the table");
    println!("{rows:#?}");
    assert_eq!(rows.len(), 2);
    let (pad, drums) = (&rows[0], &rows[1]);
    assert_eq!(
        (pad["stem"].as_str(), drums["stem"].as_str()),
        (Some("pad.wav"), Some("drums.wav"))
    );
    assert_eq!(drums["role"], "drums");
    let gr = |r: &serde_json::Value| r["limiter_gain_reduction_share_percent"].as_f64().unwrap();
    let peaks = |r: &serde_json::Value| r["peak_share_percent"].as_f64().unwrap();
    assert!(gr(drums) >= 90.0, "drums {} %", gr(drums));
    assert!(peaks(drums) >= 90.0, "drum peaks {} %", peaks(drums));
    assert!((gr(pad) + gr(drums) - 100.0).abs() < 1e-3);
    // The pad is the louder stem against the mix (most of its loudness), the drums well below.
    let lu = |r: &serde_json::Value| r["loudness_vs_mix_lu"].as_f64().unwrap();
    assert!(
        lu(pad) > lu(drums) && lu(pad) <= 0.5,
        "{} vs {} LU",
        lu(pad),
        lu(drums)
    );

    // The Markdown table and the terminal line say the same.
    let md = std::fs::read_to_string(out.join("club.md")).unwrap();
    assert!(md.contains("## Stem attribution"), "{md}");
    assert!(
        md.contains(&format!("| drums.wav | drums | {:.1} % |", gr(drums))),
        "{md}"
    );
    let mut args = vec!["render"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--deliver", "club", "--out", s(&out)]);
    let o = stem(&args);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("club.wav: the limiter works most for drums.wav (drums)"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
