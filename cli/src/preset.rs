//! `stem render` presets: TOML (or JSON) with per-stem (`[stems.<key>]`), master (`[master]`)
//! and per-delivery (`[deliveries.<name>]`) settings, kept as JSON values and merged over the
//! defaults layer by layer (see [`settle`]) when a delivery is planned ([`crate::plan`]).
//! [`Preset::load`] checks every value first ([`crate::preset_check`]: shape, ranges, names, all
//! problems at once); a stem key no stem answers to is a warning ([`Preset::unmatched_keys`]).

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::preset_check::{check_preset, json_to_toml};

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
        let mut errors = Vec::new();
        let written: toml::Value = if is_json {
            let json: Value = serde_json::from_str(&text)
                .map_err(|e| Error::file(path, format!("invalid JSON preset: {e}")))?;
            json_to_toml(&json, "", &mut errors).unwrap_or(toml::Value::Table(Default::default()))
        } else {
            toml::from_str(&text)
                .map_err(|e| Error::file(path, format!("invalid TOML preset: {e}")))?
        };
        errors.extend(check_preset(&written));
        if !errors.is_empty() {
            // One line per problem, each naming the file, so all can be fixed in one go.
            let sep = format!("\n{}: ", path.display());
            return Err(Error::file(path, errors.join(&sep)));
        }
        let value = serde_json::to_value(written).map_err(|e| Error::file(path, e.to_string()))?;
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

    /// The preset's stem keys (`[stems.<key>]`, `[deliveries.<name>.stems.<key>]`) that no
    /// stem answers to, each as a warning naming the keys the stems do answer to (`answers`,
    /// in stem order). Not an error: one preset may serve several songs whose stems differ.
    pub fn unmatched_keys(&self, answers: &[&str]) -> Vec<String> {
        let delivery_stems = self.deliveries.iter().flat_map(|(name, d)| {
            let keys = d
                .get("stems")
                .and_then(Value::as_object)
                .into_iter()
                .flatten();
            keys.map(move |(k, _)| (format!("deliveries.{name}.stems"), k))
        });
        let mut listed: Vec<&str> = Vec::new();
        for a in answers {
            if !listed.contains(a) {
                listed.push(a);
            }
        }
        self.stems
            .keys()
            .map(|k| ("stems".to_string(), k))
            .chain(delivery_stems)
            .filter(|(_, k)| !answers.contains(&k.as_str()))
            .map(|(table, k)| {
                format!(
                    "preset: [{table}.{k}] matches no stem and is ignored (the stems answer to: {})",
                    listed.join(", ")
                )
            })
            .collect()
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
