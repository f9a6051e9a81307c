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
