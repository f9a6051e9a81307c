//! `stem compare`: a reference made from a master by a known EQ and level is matched (issue
//! 20's constructed case), in loudness and in tone, and bad input is refused by name.

mod common;

use common::*;
use shared_dsp::eq::{BandKind, BandSettings, EqCurve, ParametricEq, Placement};
use stem_cli::preset::Preset;

/// The EQ: +3 dB high shelf at 6 kHz and -2 dB bell at 300 Hz.
fn known_eq() -> [BandSettings; 2] {
    [
        BandSettings::new(BandKind::HighShelf, 6_000.0, 3.0, 0.7),
        BandSettings::bell(300.0, -2.0, 1.0),
    ]
}

/// `x` through our EQ with `bands`, then `gain_db`.
fn equalised(x: &[Vec<f32>; 2], bands: &[BandSettings], gain_db: f32) -> [Vec<f32>; 2] {
    ParametricEq::rendered(SR as f64, bands, gain_db, x)
}

#[test]
fn a_reference_made_by_a_known_eq_is_matched_in_tone_and_loudness() {
    let dir = temp_dir("compare_known_eq");
    let master = test_signals::stereo_programme(30.0, SR as f64);
    let reference = equalised(&master, &known_eq(), -3.0);
    let (master_wav, reference_wav) = (dir.join("master.wav"), dir.join("reference.wav"));
    write(&master_wav, &master, SR);
    write(&reference_wav, &reference, SR);
    let out_dir = dir.join("out");
    let out = stem(&[
        "compare",
        s(&master_wav),
        "--reference",
        s(&reference_wav),
        "--json",
        "--out",
        s(&out_dir),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);

    // Loudness: the reference turned by the reported gain measures as the master, by an
    // independent meter (libebur128's algorithm, the ebur128 crate).
    let gain_db = report["reference_gain_db"].as_f64().unwrap();
    let g = 10f32.powf(gain_db as f32 / 20.0);
    let matched: Vec<Vec<f32>> = reference
        .iter()
        .map(|c| c.iter().map(|v| v * g).collect())
        .collect();
    let (m, r) = (ebu_integrated(&master, SR), ebu_integrated(&matched, SR));
    assert!(
        (m - r).abs() < 0.1,
        "master {m} LUFS, matched reference {r} LUFS"
    );

    // Tone: the proposed bands, applied to the master, reproduce the known curve within 0.5 dB
    // at every 1/3-octave centre from 50 Hz to 16 kHz.
    let bands: Vec<BandSettings> = report["match_eq"]["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let kind: BandKind = serde_json::from_value(b["kind"].clone()).unwrap();
            assert!(
                matches!(
                    kind,
                    BandKind::Bell | BandKind::LowShelf | BandKind::HighShelf
                ),
                "{b}"
            );
            BandSettings::new(
                kind,
                b["freq_hz"].as_f64().unwrap() as f32,
                b["gain_db"].as_f64().unwrap() as f32,
                b["q"].as_f64().unwrap() as f32,
            )
        })
        .collect();
    assert!(!bands.is_empty() && bands.len() <= 8, "{bands:?}");
    let (truth, proposed) = (
        EqCurve::new(SR as f64, &known_eq()),
        EqCurve::new(SR as f64, &bands),
    );
    for f in test_signals::third_octave_centres_50_to_16k() {
        let (want, got) = (
            truth.magnitude_db(f, Placement::Mid),
            proposed.magnitude_db(f, Placement::Mid),
        );
        assert!(
            (want - got).abs() <= 0.5,
            "{f:.0} Hz: known {want:.2} dB, proposed {got:.2} dB: {bands:?}"
        );
    }

    // The preset fragment is one `stem render --preset` accepts, with the same bands.
    let fragment = out_dir.join("01-reference-match-eq.toml");
    let preset = Preset::load(&fragment).unwrap_or_else(|e| panic!("{e}"));
    let written = preset.master["eq_bands"].as_array().unwrap();
    assert_eq!(written.len(), bands.len());
    for (w, b) in written.iter().zip(&bands) {
        assert!((w["gain_db"].as_f64().unwrap() - b.gain_db as f64).abs() < 0.01);
    }
    for name in [
        "01-reference-spectrum.png",
        "01-reference-loudness.png",
        "01-reference.json",
    ] {
        assert!(out_dir.join(name).is_file(), "{name}");
    }
    // Figures of both programmes are there.
    for side in ["master", "reference"] {
        for key in [
            "integrated_lufs",
            "lra_lu",
            "true_peak_dbtp",
            "plr_db",
            "psr_db",
        ] {
            assert!(report[side][key].as_f64().is_some(), "{side}.{key}");
        }
        assert_eq!(report[side]["width"].as_array().unwrap().len(), 4);
    }
}

#[test]
fn strength_scales_the_bands_and_bad_options_and_files_are_refused() {
    let dir = temp_dir("compare_options");
    let master = test_signals::stereo_programme(8.0, SR as f64);
    let reference = equalised(&master, &known_eq(), 0.0);
    let (master_wav, reference_wav) = (dir.join("master.wav"), dir.join("reference.wav"));
    write(&master_wav, &master, SR);
    write(&reference_wav, &reference, SR);
    let run = |extra: &[&str]| {
        let mut args = vec!["compare", s(&master_wav), "--reference", s(&reference_wav)];
        args.extend_from_slice(extra);
        stem(&args)
    };
    let full = json(&run(&["--json"]));
    let half = json(&run(&["--json", "--strength", "50"]));
    let gains = |r: &serde_json::Value| -> Vec<f64> {
        r["match_eq"]["bands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["gain_db"].as_f64().unwrap())
            .collect()
    };
    let (f, h) = (gains(&full), gains(&half));
    assert_eq!(f.len(), h.len());
    for (f, h) in f.iter().zip(&h) {
        assert!((h - 0.5 * f).abs() < 1e-3, "{f} {h}");
    }
    let one = json(&run(&["--json", "--bands", "1"]));
    assert_eq!(one["match_eq"]["bands"].as_array().unwrap().len(), 1);

    for (args, says) in [
        (&["--strength", "150"][..], "--strength 150"),
        (&["--bands", "9"][..], "--bands 9"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
    let missing = dir.join("missing.wav");
    let out = stem(&["compare", s(&master_wav), "--reference", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.wav"));
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"RIFF\x04\x00\x00\x00WAVEjunk").unwrap();
    let out = stem(&["compare", s(&garbage), "--reference", s(&reference_wav)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("garbage.wav"));
}

#[test]
fn a_lossy_references_low_pass_is_not_matched_as_treble() {
    // The known EQ, then MP3 at 128 kbit/s (LAME low-passes near 17 kHz): the match follows
    // only below the content's end and still finds the shelf and the bell.
    let dir = temp_dir("compare_lossy_reference");
    let master = test_signals::stereo_programme(12.0, SR as f64);
    let reference = equalised(&master, &known_eq(), -3.0);
    let master_wav = dir.join("master.wav");
    write(&master_wav, &master, SR);
    let mp3 = dir.join("reference.mp3");
    let mut encoder =
        stem_delivery::codec::Mp3Encoder::new(SR, 128, std::fs::File::create(&mp3).unwrap())
            .unwrap();
    encoder.encode(&reference[0], &reference[1]).unwrap();
    encoder.finish().unwrap();
    let out = stem(&["compare", s(&master_wav), "--reference", s(&mp3), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("lossy"),
        "a lossy reference is normal: no warning"
    );
    let report = json(&out);
    let m = &report["match_eq"];
    let top = m["content_top_hz"].as_f64().unwrap();
    assert!((14_000.0..20_000.0).contains(&top), "{top}");
    let bands: Vec<(String, f64, f64)> = m["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap().to_string(),
                b["freq_hz"].as_f64().unwrap(),
                b["gain_db"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(
        bands.iter().any(|(k, f, g)| k == "HighShelf"
            && (4_000.0..9_000.0).contains(f)
            && (g - 3.0).abs() < 0.6),
        "{bands:?}"
    );
    assert!(
        bands
            .iter()
            .any(|(k, f, g)| k == "Bell" && (250.0..360.0).contains(f) && (g + 2.0).abs() < 0.5),
        "{bands:?}"
    );
}
