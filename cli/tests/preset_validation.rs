//! `stem render` checks a preset against the documented ranges before it reads a stem: every
//! out-of-range, non-finite, mistyped or unknown value is named by its full path with the rule
//! it breaks, all of them at once, exit code 2; a stem key no stem answers to is a warning and
//! the render goes on (one preset can serve two songs). The cases are issue 17's ("careless
//! input accepted silently").

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

/// A 3-second stem set (drums, bass, synths, vocals) in a fresh folder.
fn stem_set(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = temp_dir(name);
    let st = stems(3.0);
    let mix = mix_of(&st);
    let paths = write_set(&dir, &st, &mix).0;
    (dir, paths)
}

/// Renders the streaming master of `stems` with the preset `text` written to `file`.
fn render(dir: &Path, stems: &[PathBuf], file: &str, text: &str) -> (PathBuf, Output) {
    let preset = dir.join(file);
    std::fs::write(&preset, text).unwrap();
    let out = dir.join("masters");
    let mut args = vec!["render", "--json"];
    args.extend(stems.iter().map(|p| s(p)));
    args.extend([
        "--preset",
        s(&preset),
        "--deliver",
        "streaming",
        "--out",
        s(&out),
    ]);
    let o = stem(&args);
    (preset, o)
}

/// The preset is refused with exactly these problems (in key order), one line each, naming
/// the file.
fn refused_with(name: &str, file: &str, text: &str, problems: &[&str]) {
    let (dir, stems) = stem_set(name);
    let (preset, o) = render(&dir, &stems, file, text);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{text}\n{err}");
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {p}", preset.display()))
        .collect();
    assert_eq!(
        err,
        format!("stem: error: {}\n", lines.join("\n")),
        "{text}"
    );
    assert!(
        !dir.join("masters").exists(),
        "nothing rendered for: {text}"
    );
}

#[test]
fn out_of_range_gains_are_named() {
    refused_with(
        "preset_gain",
        "preset.toml",
        "[stems.vocals]\noutput_gain_db = 200\neq_bands = [{ gain_db = 200.0 }]\n",
        &[
            "stems.vocals.eq_bands[0].gain_db = 200.0: must be -24..24 dB",
            "stems.vocals.output_gain_db = 200: must be -24..24 dB",
        ],
    );
}

#[test]
fn zero_q_and_out_of_band_frequencies_are_named() {
    refused_with(
        "preset_eq",
        "preset.toml",
        "[stems.vocals]\neq_bands = [{ q = 0 }, { freq_hz = 1e12 }, {}, { freq_hz = 0 }]\n",
        &[
            "stems.vocals.eq_bands[0].q = 0: must be 0.1..18",
            "stems.vocals.eq_bands[1].freq_hz = 1000000000000.0: must be 10..22000 Hz",
            "stems.vocals.eq_bands[3].freq_hz = 0: must be 10..22000 Hz",
        ],
    );
}

#[test]
fn bad_ratios_times_and_thresholds_are_named() {
    refused_with(
        "preset_dynamics",
        "preset.toml",
        "[stems.drums.compressor]\nratio = 0\nattack_ms = -5\nrelease_ms = -100.0\n\
         threshold_db = 100\n\n[stems.bass.multiband]\nbands = [{ ratio = -2 }]\n\n\
         [master.limiter]\nrelease_ms = -1\n",
        &[
            "master.limiter.release_ms = -1: must be 1..1000 ms",
            "stems.bass.multiband.bands[0].ratio = -2: must be 1..20",
            "stems.drums.compressor.attack_ms = -5: must be 0.05..300 ms",
            "stems.drums.compressor.ratio = 0: must be 1..20",
            "stems.drums.compressor.release_ms = -100.0: must be 5..3000 ms",
            "stems.drums.compressor.threshold_db = 100: must be -60..0 dBFS",
        ],
    );
}

#[test]
fn nan_and_inf_are_named() {
    refused_with(
        "preset_nonfinite",
        "preset.toml",
        "[stems.drums.compressor]\nratio = nan\n\n[master]\noutput_gain_db = inf\n\
         input_gain_db = -inf\n",
        &[
            "master.input_gain_db = -inf: must be a finite number",
            "master.output_gain_db = inf: must be a finite number",
            "stems.drums.compressor.ratio = nan: must be a finite number",
        ],
    );
}

#[test]
fn nine_eq_bands_name_the_field_and_the_limit() {
    refused_with(
        "preset_nine_bands",
        "preset.toml",
        "[stems.vocals]\neq_bands = [{}, {}, {}, {}, {}, {}, {}, {}, { gain_db = 1.0 }]\n",
        &["stems.vocals.eq_bands: 9 entries given, at most 8 allowed"],
    );
}

#[test]
fn unknown_settings_wrong_types_and_names_are_named() {
    refused_with(
        "preset_unknown",
        "preset.toml",
        "[stems.bass]\ninput_trim_dbb = 1.0\ngain_match = \"yes\"\n\n\
         [stems.drums.compressor]\nratio = \"3\"\n\n[stems.vocals]\neq_bands = [{ kind = \"Belll\" }]\n\n\
         [deliveries.club]\ntarget = -8\n\n[mixdown]\nx = 1\n",
        &[
            "deliveries.club.target: unknown setting (valid here: target_lufs, ceiling_dbtp, \
             dr_above, stems, master)",
            "mixdown: unknown section (valid: stems, master, deliveries)",
            "stems.bass.gain_match = \"yes\": must be true or false",
            "stems.bass.input_trim_dbb: unknown setting (valid here: compressor, \
             compressor_enabled, dc_filter_enabled, dynamics_mode, eq_bands, eq_enabled, gain_match, input_trim_db, \
             multiband, output_gain_db, peak_control_enabled, peak_control_level_dbfs, saturation, saturation_enabled, stem_type, stereo, \
             stereo_enabled)",
            "stems.drums.compressor.ratio = \"3\": must be a number",
            "stems.vocals.eq_bands[0].kind = \"Belll\": unknown variant `Belll`, expected one of \
             `Bell`, `LowShelf`, `HighShelf`, `Notch`, `BandPass`, `Tilt`, `HighPass`, `LowPass`",
        ],
    );
}

#[test]
fn json_presets_are_checked_alike() {
    refused_with(
        "preset_json",
        "preset.json",
        r#"{"stems": {"drums": {"compressor": {"ratio": null, "knee_db": 30}}}}"#,
        &[
            "stems.drums.compressor.ratio = null: must be a value (or left out)",
            "stems.drums.compressor.knee_db = 30: must be 0..24 dB",
        ],
    );
}

/// A key no stem answers to is a warning naming it and the keys that exist; the render runs.
#[test]
fn an_unmatched_stem_key_is_a_warning_and_the_render_proceeds() {
    let (dir, stems) = stem_set("preset_unmatched");
    let text = "[stems.tuba]\ninput_trim_db = 1.0\n\n[deliveries.streaming.stems.kazoo]\n\
                output_gain_db = -1.0\n\n[stems.vocals]\noutput_gain_db = -1.0\n";
    let (_, o) = render(&dir, &stems, "preset.toml", text);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{err}");
    let answers = "(the stems answer to: drums, bass, synths, vocals)";
    for table in ["stems.tuba", "deliveries.streaming.stems.kazoo"] {
        let warning =
            format!("stem: warning: preset: [{table}] matches no stem and is ignored {answers}\n");
        assert!(err.contains(&warning), "expected '{warning}' in:\n{err}");
    }
    assert_eq!(err.matches("matches no stem").count(), 2, "{err}");
    let summary = json(&o);
    assert_eq!(summary["masters"].as_array().unwrap().len(), 1);
    assert!(dir.join("masters").join("streaming.wav").exists());
}
