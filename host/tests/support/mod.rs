//! Helpers shared by the host tests: where the built bundles are, loading one, finding a
//! parameter, comparing signals. Each test binary uses a subset.
#![allow(dead_code)]

use nice_plug::prelude::Params;
use shared_dsp::chain::settings::ChannelSettings;
use std::path::PathBuf;
use stem_channel::params::StemChannelParams;
use stem_host::{load, ParamInfo, PluginHost};

pub const FORMATS: [&str; 2] = ["clap", "vst3"];

/// The bundles `cargo xtask test` built (with nice-plug's `assert_process_allocs`, so any
/// allocation on the audio thread aborts the run); `STEM_TEST_BUNDLE_DIR` points at them.
pub fn bundle_dir() -> PathBuf {
    let dir = std::env::var_os("STEM_TEST_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-bundles/bundled")
        });
    assert!(
        dir.is_dir(),
        "no test bundles at {}: run the suite with `cargo xtask test`, which builds them",
        dir.display()
    );
    dir
}

/// A fresh instance of `plugin` ("Stem Channel", "Stem Master") in `format`.
pub fn open(plugin: &str, format: &str) -> Box<dyn PluginHost> {
    let path = bundle_dir().join(format!("{plugin}.{format}"));
    load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The parameter shown as `name`.
pub fn param(host: &dyn PluginHost, name: &str) -> ParamInfo {
    host.params()
        .unwrap()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no parameter named {name}"))
}

/// The host's wire value at `fraction` of a parameter's range (CLAP: stepped parameters count
/// steps, so this is the normalised value mapped onto the wire range).
pub fn wire(info: &ParamInfo, fraction: f64) -> f64 {
    info.min_value + fraction * (info.max_value - info.min_value)
}

pub fn refs(x: &[Vec<f32>; 2]) -> [&[f32]; 2] {
    [&x[0], &x[1]]
}

/// Index of the largest magnitude.
pub fn argmax(x: &[f32]) -> usize {
    x.iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map_or(0, |(i, _)| i)
}

/// Asserts two signals are bit-identical, reporting the first differing sample.
#[track_caller]
pub fn assert_identical(actual: &[f32], expected: &[f32], context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: lengths differ");
    if let Some(i) = (0..actual.len()).find(|&i| actual[i].to_bits() != expected[i].to_bits()) {
        panic!(
            "{context}: first difference at sample {i}: {} vs {}",
            actual[i], expected[i]
        );
    }
}

/// The normalized value of every parameter (by display name) for `settings`, and the settings
/// the plugin reconstructs from those normalized values (plain -> normalized -> plain may move
/// a skewed value by an ulp; the expectation uses exactly what the plugin sees).
pub fn channel_param_values(settings: &ChannelSettings) -> (Vec<(String, f32)>, ChannelSettings) {
    let params = StemChannelParams::new(settings);
    let mut values = Vec::new();
    for (_, ptr, _) in params.param_map() {
        // SAFETY: the pointers point into `params`, alive for this loop.
        unsafe {
            let normalized = ptr.default_normalized_value();
            ptr._internal_set_normalized_value(normalized);
            values.push((ptr.name().to_string(), normalized));
        }
    }
    (values, params.target_settings())
}

/// Sets every parameter of `host` to `settings` (as a user or a preset would, while stopped).
pub fn apply_channel_settings(
    host: &mut dyn PluginHost,
    settings: &ChannelSettings,
) -> ChannelSettings {
    let infos = host.params().unwrap();
    let (values, expected) = channel_param_values(settings);
    for (name, v) in values {
        let info = infos
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("host has no parameter {name}"));
        host.set_param_value(info.id, wire(info, v as f64)).unwrap();
    }
    expected
}

/// Runs `f` in the floating-point mode the plugins process in, so a chain rendered here as a
/// plugin's expectation rounds exactly as the plugin does: nice-plug's `unsafe_flush_denormals`
/// sets MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6) for each process call
/// (`vendor/nice-plug/src/wrapper/util.rs`). Without them an oversampler's filters can leave a
/// subnormal (e.g. -3e-45) where the plugin has 0.
#[allow(deprecated)]
pub fn as_the_plugin_processes<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        // SAFETY: only the rounding of denormals changes, and the mode is restored before
        // returning.
        let saved = unsafe { _mm_getcsr() };
        unsafe { _mm_setcsr(saved | (1 << 15) | (1 << 6)) };
        let result = f();
        unsafe { _mm_setcsr(saved) };
        result
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        f()
    }
}
