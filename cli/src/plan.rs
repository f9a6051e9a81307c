//! What `stem render` renders: per delivery, its loudness target, true-peak ceiling and DR
//! floor (built in for streaming, club and vinyl, or from the preset), the Stem Channel settings
//! of every stem and the Stem Master settings, each resolved from the plugin's defaults and the
//! preset's layers ([`crate::preset`]).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use shared_dsp::chain::ranges::{DELIVERY_CEILING_DBTP, TARGET_LUFS};
use shared_dsp::chain::settings::{delivery_target, ChannelSettings, MasterSettings, StemType};

use crate::error::{Error, Result};
use crate::files::display_name;
use crate::preset::{settle, Preset};
use crate::role::Role;

/// The guide's vinyl master asks for a TT DR above this.
pub const VINYL_DR_ABOVE: i32 = 10;

/// Everything one master needs.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub name: String,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    /// TT DR the master must exceed (vinyl: 10).
    pub dr_above: Option<i32>,
    /// One per stem, in stem order.
    pub stem_settings: Vec<ChannelSettings>,
    /// One per stem: the preset sets its `dc_filter_enabled`, so the render leaves it alone.
    pub dc_filter_pinned: Vec<bool>,
    /// One per stem: the preset sets its `peak_control_enabled`, so the render's stem peak
    /// plan ([`crate::stem_peak_plan`]) leaves it alone.
    pub peak_control_pinned: Vec<bool>,
    pub master: MasterSettings,
    /// The preset sets the master's `clipper_enabled`: the render's loudness plan leaves the
    /// clipper as set instead of choosing.
    pub clipper_pinned: bool,
    /// The preset sets the master's `dc_filter_enabled`: the render leaves it as set instead of
    /// turning it on for a master that would carry DC ([`crate::stem_dc::needs_dc_filter`]).
    pub master_dc_filter_pinned: bool,
}

/// The preset keys a stem answers to: its file name without extension, then its role.
fn stem_keys(path: &Path, role: Role) -> [String; 2] {
    let file = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    [file, role.name().to_string()]
}

fn table<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// Resolves the settings of every stem and the master for each named delivery.
pub fn plan(
    preset: &Preset,
    stems: &[(PathBuf, Role)],
    deliveries: &[String],
) -> Result<Vec<Delivery>> {
    let empty = Value::Object(Map::new());
    let keys: Vec<[String; 2]> = stems.iter().map(|(p, r)| stem_keys(p, *r)).collect();
    let answers: Vec<&str> = keys.iter().flatten().map(String::as_str).collect();
    for warning in preset.unmatched_keys(&answers) {
        eprintln!("stem: warning: {warning}");
    }
    let mut out = Vec::new();
    for name in deliveries {
        let d = preset.deliveries.get(name).unwrap_or(&empty);
        let (target_lufs, ceiling_dbtp, dr_above) = targets(name, d)?;
        let d_stems = table(d, "stems");
        let mut stem_settings = Vec::new();
        let mut dc_filter_pinned = Vec::new();
        let mut peak_control_pinned = Vec::new();
        for ((path, role), ks) in stems.iter().zip(&keys) {
            // Role first, then the file's own name, so the more specific key wins.
            let mut layers: Vec<(&Value, String)> = Vec::new();
            for k in ks.iter().rev() {
                if let Some(v) = preset.stems.get(k) {
                    layers.push((v, format!("stems.{k}")));
                }
            }
            for k in ks.iter().rev() {
                if let Some(v) = d_stems.and_then(|m| m.get(k)) {
                    layers.push((v, format!("deliveries.{name}.stems.{k}")));
                }
            }
            // An explicit stem_type picks that type's starting point.
            let ty = layers
                .iter()
                .rev()
                .find_map(|(v, _)| v.get("stem_type"))
                .and_then(|v| serde_json::from_value::<StemType>(v.clone()).ok())
                .unwrap_or(role.stem_type());
            let s = settle(&ChannelSettings::for_stem(ty), &layers)
                .map_err(|m| Error::usage(format!("preset ({}): {m}", display_name(path))))?;
            stem_settings.push(s);
            let stem_pins = |key: &str| layers.iter().any(|(v, _)| v.get(key).is_some());
            dc_filter_pinned.push(stem_pins("dc_filter_enabled"));
            peak_control_pinned.push(stem_pins("peak_control_enabled"));
        }
        let mut layers = vec![(&preset.master, "master".to_string())];
        if let Some(m) = d.get("master") {
            layers.push((m, format!("deliveries.{name}.master")));
        }
        let mut master = settle(&MasterSettings::default(), &layers)
            .map_err(|m| Error::usage(format!("preset: {m}")))?;
        let pinned = |key: &str| layers.iter().any(|(v, _)| v.get(key).is_some());
        let clipper_pinned = pinned("clipper_enabled");
        let master_dc_filter_pinned = pinned("dc_filter_enabled");
        master.limiter_enabled = true;
        master.limiter.ceiling_dbtp = ceiling_dbtp as f32;

        out.push(Delivery {
            name: name.clone(),
            target_lufs,
            ceiling_dbtp,
            dr_above,
            stem_settings,
            dc_filter_pinned,
            peak_control_pinned,
            master,
            clipper_pinned,
            master_dc_filter_pinned,
        });
    }
    Ok(out)
}

/// A delivery's (target LUFS, ceiling dBTP, DR floor): the preset's `[deliveries.<name>]`
/// values over the built-in target of that name; a custom delivery gives both numbers.
fn targets(name: &str, d: &Value) -> Result<(f64, f64, Option<i32>)> {
    let num = |k: &str| d.get(k).and_then(Value::as_f64);
    let (target_lufs, ceiling_dbtp) = match (
        num("target_lufs"),
        num("ceiling_dbtp"),
        delivery_target(name),
    ) {
        (Some(t), Some(c), _) => (t, c),
        (t, c, Some(b)) => (
            t.unwrap_or(b.integrated_lufs as f64),
            c.unwrap_or(b.ceiling_dbtp as f64),
        ),
        _ => {
            return Err(Error::usage(format!(
                "unknown delivery '{name}': the built-in ones are streaming, club and vinyl; \
                 a custom one needs target_lufs and ceiling_dbtp in [deliveries.{name}]"
            )))
        }
    };
    if !TARGET_LUFS.contains(target_lufs) || !DELIVERY_CEILING_DBTP.contains(ceiling_dbtp) {
        return Err(Error::usage(format!(
            "delivery '{name}': target {target_lufs} LUFS / ceiling {ceiling_dbtp} dBTP out of \
             range ({}..{} LUFS, {}..{} dBTP)",
            TARGET_LUFS.min, TARGET_LUFS.max, DELIVERY_CEILING_DBTP.min, DELIVERY_CEILING_DBTP.max
        )));
    }
    let dr_above = d
        .get("dr_above")
        .and_then(Value::as_i64)
        .map(|v| v as i32)
        .or((name == "vinyl").then_some(VINYL_DR_ABOVE));
    Ok((target_lufs, ceiling_dbtp, dr_above))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_the_master_eq_mode_old_or_new() {
        use shared_dsp::chain::settings::MasterEqMode;
        let stems = [(PathBuf::from("bass.wav"), Role::Bass)];
        let mode = |toml_text: &str| -> std::result::Result<MasterEqMode, String> {
            let t: toml::Value = toml::from_str(toml_text).unwrap();
            let preset = Preset::from_value(serde_json::to_value(t).unwrap())?;
            let d = plan(&preset, &stems, &["streaming".to_string()]).map_err(|e| e.to_string())?;
            Ok(d[0].master.eq_mode)
        };
        // No mode: MasterSettings::default(), as in the plugin.
        assert_eq!(
            mode("[master]\neq_enabled = true\n"),
            Ok(MasterEqMode::ZeroLatency)
        );
        assert_eq!(
            mode("[master]\neq_mode = \"LinearHigh\"\n"),
            Ok(MasterEqMode::LinearHigh)
        );
        // Presets written before zero latency existed keep their FIR length.
        assert_eq!(
            mode("[master]\neq_quality = \"Medium\"\n"),
            Ok(MasterEqMode::LinearMedium)
        );
        assert_eq!(
            mode("[deliveries.streaming.master]\neq_quality = \"Low\"\n"),
            Ok(MasterEqMode::LinearLow)
        );
        assert!(
            mode("[master]\neq_mode = \"ZeroLatency\"\neq_quality = \"Low\"\n")
                .unwrap_err()
                .contains("master.eq_quality")
        );
    }
}
