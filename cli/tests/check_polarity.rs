//! `stem check` names a stem exported with inverted polarity as such (not as an offset of tens
//! or hundreds of samples), and only that stem.

mod common;
use common::*;

#[test]
fn an_inverted_stem_is_reported_as_a_polarity_flip_alone() {
    let dir = temp_dir("check_polarity");
    let mut st = stems(3.0);
    let mix = mix_of(&st);
    for c in 0..2 {
        for x in st[2].1[c].iter_mut() {
            *x = -*x;
        }
    }
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let mut args = vec!["check", "--json"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--mix", s(&mix_path)]);
    let out = stem(&args);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    let polarity: Vec<&str> = findings
        .iter()
        .filter(|f| f["check"] == "polarity")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(polarity, [st[2].0.as_str()], "{v:#}");
    // No stem is blamed for an offset: the inverted one is aligned, the others untouched.
    for i in 0..st.len() {
        assert_eq!(v["stems"][i]["offset_samples"], 0, "stem {i}: {v:#}");
    }
    assert!(findings.iter().all(|f| f["check"] != "offset"), "{v:#}");
}

#[test]
fn an_out_of_phase_stem_is_warned_with_its_correlation_and_mono_loss() {
    let dir = temp_dir("check_phase");
    let mut st = stems(3.0);
    // The synth stem made mostly out of phase: right = -0.8 left + a little of itself.
    let (l, r) = (st[2].1[0].clone(), st[2].1[1].clone());
    st[2].1[1] = l
        .iter()
        .zip(&r)
        .map(|(&a, &b)| -0.8 * a + 0.2 * b)
        .collect();
    q24(&mut st[2].1[1]);
    let mix = mix_of(&st);
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let mut args = vec!["check", "--json"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--mix", s(&mix_path)]);
    let v = json(&stem(&args));
    let r = v["stems"][2]["stereo_correlation"].as_f64().unwrap();
    assert!(r < -0.5, "correlation {r}");
    let fold = v["stems"][2]["mono_fold_change_lu"].as_f64().unwrap();
    assert!(fold < -3.0, "mono fold {fold} LU");
    let warned: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "stereo_correlation" || f["check"] == "mono_fold")
        .map(|f| (f["check"].as_str().unwrap(), f["file"].as_str().unwrap()))
        .collect();
    assert!(
        warned.contains(&("stereo_correlation", st[2].0.as_str())),
        "{warned:?}"
    );
    assert!(
        warned.contains(&("mono_fold", st[2].0.as_str())),
        "{warned:?}"
    );
    // The in-phase stems are not warned.
    assert!(
        warned
            .iter()
            .all(|(_, f)| *f == st[2].0.as_str() || *f == "mix.wav"),
        "{warned:?}"
    );
}
