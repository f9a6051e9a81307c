//! `stem render` on a stem set where one stem's transients alone drive the master's peak stage (a
//! sustained pad carrying most of the energy, and sparse drum hits far above it):
//! - attribution: rendered to club, every master's report names the drum stem with at least
//!   90 % of the limiter's gain reduction (an energy share would give it under half), in its
//!   JSON, its Markdown and the terminal;
//! - the stem peak plan tries the drums' peak control and keeps it where it is cleaner;
//! - a master over the peak stage's work budget names the loudest level within it, and a master
//!   rendered to that level stays within the budget.

mod common;
use common::*;

use std::path::PathBuf;

/// Six seconds: a 300 Hz pad peaking at `pad_dbfs` and 60 Hz drum hits (4 ms decay) peaking
/// at -0.9 dBFS `hits_per_second` times a second, on the 24-bit grid; returns the paths and each
/// stem's energy.
fn pad_and_drums(
    dir: &std::path::Path,
    pad_dbfs: f64,
    hits_per_second: usize,
) -> (Vec<PathBuf>, [f64; 2]) {
    let pad_amp = 10f64.powf(pad_dbfs / 20.0);
    let n = 6 * SR as usize;
    let sr = SR as f64;
    let tau = std::f64::consts::TAU;
    let mut pad: Vec<f32> = (0..n)
        .map(|i| (pad_amp * (tau * 300.0 * i as f64 / sr).sin()) as f32)
        .collect();
    let mut drums: Vec<f32> = (0..n)
        .map(|i| {
            let t = (i % (SR as usize / hits_per_second)) as f64 / sr;
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
    let (stems, energy) = pad_and_drums(&dir, -20.9, 2);
    assert!(
        energy[0] > energy[1],
        "the pad carries most energy: {energy:?}"
    );
    let out = dir.join("masters");
    // The drums' peak control pinned off (as a preset would), so the limiter does the work the
    // table shares out whatever the render's options.
    let preset = dir.join("limiter.toml");
    std::fs::write(&preset, "[stems.drums]\npeak_control_enabled = false\n").unwrap();
    let mut args = vec!["render", "--json", "--preset", s(&preset)];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend(["--deliver", "club", "--out", s(&out)]);
    let v = json(&stem(&args));
    assert!(v["masters"][0]["report"]["loudness_plan"]["stem_peak_control"].is_null());
    let report = &v["masters"][0]["report"];
    assert!(
        report["limiter_gain_reduction"]["mean_db"]
            .as_f64()
            .unwrap()
            > 0.05,
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
    let mut args = vec!["render", "--preset", s(&preset)];
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

/// The render's stem peak plan: at club loudness the drum hits alone go over the ceiling, so
/// the drums (and only they: the pad has no share of the peaks) get their peak control at their
/// peak minus how far the driven sum went over, the delivery is rendered again and planned
/// again, and the master keeps whichever is cleaner. Under a -15 dBFS pad the drums' own peak
/// control is cleaner than the master's clipper working over the pad too (`D` against the stems
/// without it lower by more than 0.5 dB): kept, and the master still meets its target and
/// ceiling by independent measures. Under the -21 dBFS pad the drum hits must come down 16 dB,
/// which costs as much on the stem as on the sum: measured, not kept, the master as without.
#[test]
fn the_stem_that_makes_the_peaks_gets_its_peak_control_where_that_is_cleaner() {
    for (pad_dbfs, keeps) in [(-15.0, true), (-20.9, false)] {
        let dir = temp_dir(&format!("render_stem_peaks{pad_dbfs}"));
        let (stems, _) = pad_and_drums(&dir, pad_dbfs, 2);
        let out = dir.join("masters");
        let mut args = vec!["render", "--json", "--stem-peak-plan"];
        args.extend(stems.iter().map(|p| s(p)));
        args.extend(["--deliver", "club", "--out", s(&out)]);
        let v = json(&stem(&args));
        let club = &v["masters"][0]["report"];
        let plan = &club["loudness_plan"]["stem_peak_control"];
        println!("pad {pad_dbfs} dBFS: {plan:#}");
        let tried = plan["stems"].as_array().expect("tried");
        assert_eq!(tried.len(), 1, "{plan}");
        assert_eq!(tried[0]["stem"], 1);
        let level = tried[0]["level_dbfs"].as_f64().unwrap();
        assert!(level < tried[0]["peak_dbfs"].as_f64().unwrap() - 1.0);
        let (without, with) = (
            plan["damage_without_db"].as_f64().unwrap(),
            plan["damage_with_db"].as_f64().unwrap(),
        );
        assert_eq!(plan["kept"], keeps, "D {with} with vs {without} without");
        assert_eq!(keeps, with < without - 0.5);
        // The master's own D (from the whole chain, against the stems without peak control) is
        // the one the plan measured on the peak stage it kept.
        let d = club["loudness_damage_db"].as_f64().unwrap();
        let kept_d = if keeps { with } else { without };
        assert!((d - kept_d).abs() < 0.05, "{d} vs {kept_d}");
        let (ch, sr, _) = read(&out.join("club.wav"));
        let lufs = ebu_integrated(&ch, sr);
        let tp = true_peak_16x_dbtp(&ch);
        println!("club: {lufs:.2} LUFS, {tp:.2} dBTP (16x), D {d:.1} dB (without {without:.1}, with {with:.1})");
        assert!((lufs + 8.0).abs() < 0.5, "{lufs}");
        assert!(tp <= -1.0, "{tp}");
        let md = std::fs::read_to_string(out.join("club.md")).unwrap();
        assert!(md.contains("Stem peak control: tried on stem 2"), "{md}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The limiter alone (clipper and the drums' peak control pinned off) reaches club loudness on
/// the pad and dense drum hits only by holding more than 3 dB on average: the warning names the
/// loudest level within the budget, and the same stems rendered to that level (a custom
/// delivery) come out within 0.1 LU of it with the limiter's mean reduction at most 3.1 dB.
/// The report plots that work, the master against the mix at matched loudness (the shift the
/// difference of integrated loudness measured with `ebur128`) and the stems' loudness.
#[test]
fn a_master_over_its_budget_names_the_loudest_level_within_it() {
    let dir = temp_dir("render_budget");
    // Twelve hits a second: dense enough that the limiter holds the gain down most of the time.
    let (stems, _) = pad_and_drums(&dir, -20.9, 12);
    let render = |name: &str, preset: &str, deliver: &str| {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, preset).unwrap();
        let out = dir.join(name);
        let mut args = vec!["render", "--json", "--preset", s(&p)];
        args.extend(stems.iter().map(|p| s(p)));
        args.extend(["--deliver", deliver, "--out", s(&out)]);
        json(&stem(&args))
    };
    let pins = "[master]\nclipper_enabled = false\n[stems.drums]\npeak_control_enabled = false\n";
    let run = render("club", pins, "club");
    let club = &run["masters"][0]["report"];
    let mean = club["limiter_gain_reduction"]["mean_db"].as_f64().unwrap();
    let warnings = club["target"]["warnings"].to_string();
    println!("club: limiter {mean:.2} dB on average; {warnings}");
    assert!(mean > 3.0, "{mean}");
    // Its report plots the limiter's work over time, the master against the mix and the stems'
    // loudness: each plot linked from the Markdown, written and listed with the files written.
    let md = std::fs::read_to_string(dir.join("club").join("club.md")).unwrap();
    assert!(md.contains("![peak stage gain reduction over time](club-gain-reduction.png)"));
    let listed = run["files"].to_string();
    for png in [
        "club-gain-reduction.png",
        "club-vs-mix-loudness.png",
        "club-vs-mix-spectrum.png",
        "club-stems-loudness.png",
    ] {
        assert!(md.contains(&format!("]({png})")), "{png} not linked:\n{md}");
        assert!(dir.join("club").join(png).exists(), "{png} missing");
        assert!(listed.contains(png), "{png} not listed: {listed}");
    }
    // The mix (the stems summed as read) is raised by the difference of integrated loudness.
    let read_stems: Vec<Vec<Vec<f32>>> = stems.iter().map(|p| read(p).0).collect();
    let mix: Vec<Vec<f32>> = (0..2)
        .map(|c| {
            (0..read_stems[0][c].len())
                .map(|i| read_stems.iter().map(|s| s[c][i]).sum())
                .collect()
        })
        .collect();
    let mix_lufs = ebu_integrated(&mix, SR);
    let (master, master_sr, _) = read(&dir.join("club").join("club.wav"));
    let master_lufs = ebu_integrated(&master, master_sr);
    let comparison = &club["mix_comparison"];
    let shift = comparison["mix_shift_lu"].as_f64().expect("a shift");
    println!(
        "mix {mix_lufs:.3} LUFS, master {master_lufs:.3} LUFS (ebur128); report: mix {:.3} \
         LUFS, shift {shift:+.3} LU",
        comparison["mix_integrated_lufs"]
    );
    assert!((shift - (master_lufs - mix_lufs)).abs() < 0.05, "{shift}");
    let reported_mix = comparison["mix_integrated_lufs"].as_f64().unwrap();
    assert!((reported_mix - mix_lufs).abs() < 0.05, "{reported_mix}");
    assert!(md.contains(&format!("mix {shift:+.1} LU")), "{md}");
    let reachable = club["loudest_within_budget_lufs"].as_f64().expect("named");
    println!("loudest within budget {reachable:.2} LUFS");
    assert!(reachable < -8.5, "{reachable}");
    assert!(
        warnings.contains(&format!(
            "the loudest within the 3 dB budget is {reachable:.1} LUFS"
        )),
        "{warnings}"
    );
    let budget = render(
        "budget",
        &format!("{pins}[deliveries.budget]\ntarget_lufs = {reachable}\nceiling_dbtp = -1.0\n"),
        "budget",
    )["masters"][0]["report"]
        .clone();
    let mean = budget["limiter_gain_reduction"]["mean_db"]
        .as_f64()
        .unwrap();
    let lufs = budget["integrated_lufs"].as_f64().unwrap();
    println!("at {reachable:.2} LUFS: {lufs:.2} LUFS, limiter {mean:.4} dB on average");
    assert!((lufs - reachable).abs() < 0.1, "{lufs}");
    // Within the budget up to what the drive lands on differently: the club render turned the
    // master's DC filter on for the DC its larger drive lifted, the quieter one does not need
    // it, so its pre-limiter signal differs slightly (3.0008 dB here with a 5 ms release).
    assert!(mean <= 3.1, "{mean}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `D` counts from the stems with every loudness stage idle, so a preset that turns a stem's
/// peak control on has its clipping counted. At -30 LUFS the master's limiter idles: without the
/// drums' peak control `D` is the float floor, with it pinned 14 dB under the drums' peak it is
/// the drums' clipping (were the reference the stems with it, both would read the floor).
#[test]
fn a_pinned_stem_peak_control_counts_in_the_loudness_damage() {
    let dir = temp_dir("render_pinned_peak");
    let (stems, _) = pad_and_drums(&dir, -20.9, 2);
    let quiet = "[deliveries.quiet]\ntarget_lufs = -30.0\nceiling_dbtp = -1.0\n";
    let damage = |name: &str, preset: &str| {
        let p = dir.join(format!("{name}.toml"));
        std::fs::write(&p, format!("{quiet}{preset}")).unwrap();
        let out = dir.join(name);
        let mut args = vec!["render", "--json", "--preset", s(&p)];
        args.extend(stems.iter().map(|p| s(p)));
        args.extend(["--deliver", "quiet", "--out", s(&out)]);
        let v = json(&stem(&args));
        let report = &v["masters"][0]["report"];
        assert!(report["limiter_gain_reduction"]["max_db"].as_f64().unwrap() < 0.01);
        report["loudness_damage_db"].as_f64().unwrap()
    };
    let without = damage("without", "");
    let with = damage(
        "with",
        "[stems.drums]\npeak_control_enabled = true\npeak_control_level_dbfs = -12.0\n",
    );
    println!("D without the drums' peak control {without:.1} dB, with it {with:.1} dB");
    assert!(without < -100.0, "{without}");
    assert!(with > -40.0, "{with}");
    std::fs::remove_dir_all(&dir).unwrap();
}
