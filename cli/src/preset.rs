//! `stem render` presets: TOML (or JSON) with per-stem (`[stems.<key>]`), master (`[master]`)
//! and per-delivery (`[deliveries.<name>]`) settings, kept as JSON values and merged over the
//! defaults layer by layer (see [`settle`]) when a delivery is planned ([`crate::plan`]).
//! Every key is checked: an unknown setting, stem key or delivery key is an error naming it.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A parsed preset: JSON values, merged over the defaults when a delivery is planned.
#[derive(Clone, Debug)]
pub struct Preset {
    pub stems: Map<String, Value>,
    /// Always a table (empty: the master's defaults).
    pub master: Value,
    pub deliveries: Map<String, Value>,
}

impl Default for Preset {
    fn default() -> Self {
        Self {
            stems: Map::new(),
            master: Value::Object(Map::new()),
            deliveries: Map::new(),
        }
    }
}

impl Preset {
    /// Reads a TOML (or, with a `.json` extension, JSON) preset.
    pub fn load(path: &Path) -> Result<Preset> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::file(path, format!("cannot read preset: {e}")))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let value: Value = if is_json {
            serde_json::from_str(&text)
                .map_err(|e| Error::file(path, format!("invalid JSON preset: {e}")))?
        } else {
            let t: toml::Value = toml::from_str(&text)
                .map_err(|e| Error::file(path, format!("invalid TOML preset: {e}")))?;
            serde_json::to_value(t).map_err(|e| Error::file(path, e.to_string()))?
        };
        Self::from_value(value).map_err(|m| Error::file(path, m))
    }

    /// Builds a preset from a JSON value of the preset's shape.
    pub fn from_value(value: Value) -> std::result::Result<Preset, String> {
        let Value::Object(mut top) = value else {
            return Err("a preset is a table with [stems], [master] and [deliveries]".into());
        };
        let mut take_table = |key: &str| -> std::result::Result<Map<String, Value>, String> {
            match top.remove(key) {
                None => Ok(Map::new()),
                Some(Value::Object(m)) => Ok(m),
                Some(_) => Err(format!("'{key}' must be a table")),
            }
        };
        let stems = take_table("stems")?;
        let mut master = Value::Object(take_table("master")?);
        let mut deliveries = take_table("deliveries")?;
        rename_eq_quality(&mut master);
        for d in deliveries.values_mut() {
            if let Some(m) = d.get_mut("master") {
                rename_eq_quality(m);
            }
        }
        if let Some(k) = top.keys().next() {
            return Err(format!(
                "unknown top-level key '{k}' (expected stems, master, deliveries)"
            ));
        }
        Ok(Preset {
            stems,
            master,
            deliveries,
        })
    }

    /// Checks the preset's keys before anything is planned: every `[stems.<key>]` and
    /// `[deliveries.<name>.stems.<key>]` must be `known` (answer to a stem), and every delivery
    /// table, used or not, may hold only its own settings, so a typo shows on the first run.
    pub fn check_keys(&self, known: impl Fn(&str) -> bool) -> Result<()> {
        for k in self.stems.keys() {
            if !known(k) {
                return Err(Error::usage(format!(
                    "preset: [stems.{k}] matches no stem (keys are file names without extension, or \
                     roles: drums, bass, synths, vocals, fx, other)"
                )));
            }
        }
        for (name, d) in &self.deliveries {
            let Some(m) = d.as_object() else {
                return Err(Error::usage(format!(
                    "preset: deliveries.{name} must be a table"
                )));
            };
            for (k, v) in m {
                match k.as_str() {
                    "target_lufs" | "ceiling_dbtp" | "dr_above" => {
                        if !v.is_number() {
                            return Err(Error::usage(format!(
                                "preset: deliveries.{name}.{k} must be a number"
                            )));
                        }
                    }
                    "master" => {}
                    "stems" => {
                        for sk in v.as_object().into_iter().flat_map(|m| m.keys()) {
                            if !known(sk) {
                                return Err(Error::usage(format!(
                                    "preset: [deliveries.{name}.stems.{sk}] matches no stem"
                                )));
                            }
                        }
                    }
                    _ => {
                        return Err(Error::usage(format!(
                        "preset: unknown setting 'deliveries.{name}.{k}' (expected target_lufs, \
                             ceiling_dbtp, dr_above, stems, master)"
                    )))
                    }
                }
            }
        }
        Ok(())
    }
}

/// Presets written before the master EQ had a zero-latency mode named its FIR length
/// `eq_quality` ("Low", "Medium", "High"); it is now `eq_mode`, which still accepts those names.
/// A table that gives both keeps both, so the old one is reported as unknown.
fn rename_eq_quality(master: &mut Value) {
    if let Value::Object(m) = master {
        if !m.contains_key("eq_mode") {
            if let Some(q) = m.remove("eq_quality") {
                m.insert("eq_mode".to_string(), q);
            }
        }
    }
}

/// Deep merge: tables key by key, arrays element by element (so one EQ band can be changed
/// without repeating the others), anything else replaced.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(o)) => {
            for (i, v) in o.iter().enumerate() {
                match b.get_mut(i) {
                    Some(slot) => merge(slot, v),
                    None => b.push(v.clone()),
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Names the first key of `given` that `canonical` (the same value after a round trip through
/// its struct) does not have: a typo would otherwise be ignored silently.
fn unknown_key(given: &Value, canonical: &Value, path: &str) -> Option<String> {
    match (given, canonical) {
        (Value::Object(g), Value::Object(c)) => g.iter().find_map(|(k, v)| match c.get(k) {
            None => Some(format!("{path}.{k}")),
            Some(cv) => unknown_key(v, cv, &format!("{path}.{k}")),
        }),
        (Value::Array(g), Value::Array(c)) => g
            .iter()
            .zip(c)
            .enumerate()
            .find_map(|(i, (gv, cv))| unknown_key(gv, cv, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Merges `layers` over `base` and deserialises the result, naming unknown keys.
pub fn settle<T: Serialize + serde::de::DeserializeOwned>(
    base: &T,
    layers: &[(&Value, String)],
) -> std::result::Result<T, String> {
    let mut v = serde_json::to_value(base).map_err(|e| e.to_string())?;
    for (layer, _) in layers {
        merge(&mut v, layer);
    }
    let parsed: T = serde_json::from_value(v.clone()).map_err(|e| {
        let wherein = layers.last().map(|l| l.1.as_str()).unwrap_or("preset");
        format!("{wherein}: {e}")
    })?;
    let canonical = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    for (layer, name) in layers {
        if let Some(k) = unknown_key(layer, &canonical, name) {
            return Err(format!("unknown setting '{k}'"));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_overlays_tables_and_arrays_elementwise() {
        let mut base = serde_json::json!({"a": 1, "bands": [{"f": 1, "g": 0}, {"f": 2, "g": 0}], "t": {"x": 1}});
        merge(
            &mut base,
            &serde_json::json!({"bands": [{}, {"g": 3}], "t": {"y": 2}}),
        );
        assert_eq!(
            base,
            serde_json::json!({"a": 1, "bands": [{"f": 1, "g": 0}, {"f": 2, "g": 3}], "t": {"x": 1, "y": 2}})
        );
    }
}
