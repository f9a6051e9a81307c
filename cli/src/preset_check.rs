//! Checks a preset, as written, against the shape of the settings and the documented ranges of
//! `shared_dsp::chain::ranges` before anything is planned or read: every value of every
//! section, every problem at once, each named by its full path and the rule it breaks
//! (`stems.vocals.eq_bands[3].freq_hz = 0: must be 10..22000 Hz`). Without this the chains
//! would clamp an out-of-range value and the render would pass with a setting nobody asked for.
//!
//! The shape is taken from the settings themselves: a section's defaults, serialised, give every
//! setting's name, kind (number, whole number, switch, name, table, array) and array length, so
//! a setting added to `ChannelSettings` or `MasterSettings` is checked without code here (its
//! range must be added to the table; `shared_dsp`'s tests insist). Array indices count from 0.
//! Names (enums) are checked by deserialising the section with the one name replaced, so the
//! message lists serde's valid names.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;
use shared_dsp::chain::ranges::{
    field, Field, Rule, CHANNEL_FIELDS, DELIVERY_FIELDS, MASTER_FIELDS,
};
use shared_dsp::chain::settings::{ChannelSettings, MasterSettings};
use toml::Value;

/// The preset's sections; a delivery table's keys are [`DELIVERY_FIELDS`] plus these two.
const SECTIONS: &str = "stems, master, deliveries";
const DELIVERY_TABLES: [&str; 2] = ["stems", "master"];

/// One kind of section: its defaults (the shape), its numeric rules and its deserialiser.
struct Schema {
    defaults: Json,
    fields: &'static [Field],
    parses: fn(Json) -> Result<(), String>,
}

impl Schema {
    /// The schema of settings `T`, whose numbers obey `fields`.
    fn of<T: Default + Serialize + DeserializeOwned>(fields: &'static [Field]) -> Self {
        Self {
            defaults: serde_json::to_value(T::default()).expect("plain data"),
            fields,
            parses: |v| {
                serde_json::from_value::<T>(v)
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        }
    }

    fn channel() -> Self {
        Self::of::<ChannelSettings>(CHANNEL_FIELDS)
    }

    fn master() -> Self {
        Self::of::<MasterSettings>(MASTER_FIELDS)
    }
}

/// Where a value sits: as shown to the user (`stems.vocals.eq_bands[3].freq_hz`), as looked up
/// in the range table (`eq_bands[].freq_hz`) and as a JSON pointer into the section's defaults.
#[derive(Clone)]
struct At {
    shown: String,
    key: String,
    pointer: String,
}

impl At {
    fn section(shown: String) -> Self {
        Self {
            shown,
            key: String::new(),
            pointer: String::new(),
        }
    }

    fn child(&self, name: &str) -> Self {
        Self {
            shown: format!("{}.{name}", self.shown),
            key: if self.key.is_empty() {
                name.to_string()
            } else {
                format!("{}.{name}", self.key)
            },
            pointer: format!("{}/{name}", self.pointer),
        }
    }

    /// Element `i`; arrays of tables share one table entry (`[]`), arrays of numbers do not.
    fn element(&self, i: usize, of_tables: bool) -> Self {
        let seg = if of_tables {
            "[]".to_string()
        } else {
            format!("[{i}]")
        };
        Self {
            shown: format!("{}[{i}]", self.shown),
            key: format!("{}{seg}", self.key),
            pointer: format!("{}/{i}", self.pointer),
        }
    }
}

/// Every problem of the preset `root` (a TOML document), tables in key order; empty if none.
pub fn check_preset(root: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(top) = table(root, "the preset", &mut errors) else {
        return errors;
    };
    let (channel, master) = (Schema::channel(), Schema::master());
    for (name, v) in top {
        match name.as_str() {
            "stems" => check_stems(v, "stems", &channel, &mut errors),
            "master" => check_master(v, "master".into(), &master, &mut errors),
            "deliveries" => {
                for (d, dv) in table(v, "deliveries", &mut errors).into_iter().flatten() {
                    let shown = format!("deliveries.{d}");
                    for (k, kv) in table(dv, &shown, &mut errors).into_iter().flatten() {
                        let at = format!("{shown}.{k}");
                        match (k.as_str(), field(DELIVERY_FIELDS, k)) {
                            ("stems", _) => check_stems(kv, &at, &channel, &mut errors),
                            ("master", _) => check_master(kv, at, &master, &mut errors),
                            (_, Some(f)) => check_number(kv, f, &at, &mut errors),
                            _ => {
                                let valid: Vec<&str> = DELIVERY_FIELDS
                                    .iter()
                                    .map(|f| f.path)
                                    .chain(DELIVERY_TABLES)
                                    .collect();
                                errors.push(unknown(&at, &valid));
                            }
                        }
                    }
                }
            }
            _ => errors.push(format!("{name}: unknown section (valid: {SECTIONS})")),
        }
    }
    errors
}

fn unknown(shown: &str, valid: &[&str]) -> String {
    format!(
        "{shown}: unknown setting (valid here: {})",
        valid.join(", ")
    )
}

/// `v` as a table, or an error naming `shown`.
fn table<'a>(v: &'a Value, shown: &str, errors: &mut Vec<String>) -> Option<&'a toml::Table> {
    let t = v.as_table();
    if t.is_none() {
        errors.push(format!("{shown} = {}: must be a table", describe(v)));
    }
    t
}

/// `[stems.<key>]` tables (or a delivery's): each a channel section.
fn check_stems(v: &Value, shown: &str, schema: &Schema, errors: &mut Vec<String>) {
    for (key, s) in table(v, shown, errors).into_iter().flatten() {
        let at = At::section(format!("{shown}.{key}"));
        walk(s, &schema.defaults, &at, schema, errors);
    }
}

/// A master section. Presets written before the zero-latency EQ mode named it `eq_quality`
/// (`crate::preset` renames it); a table giving both keeps both, so the old one is unknown.
fn check_master(v: &Value, shown: String, schema: &Schema, errors: &mut Vec<String>) {
    let mut renamed = v.clone();
    if let Some(t) = renamed.as_table_mut() {
        if !t.contains_key("eq_mode") {
            if let Some(q) = t.remove("eq_quality") {
                t.insert("eq_mode".into(), q);
            }
        }
    }
    walk(
        &renamed,
        &schema.defaults,
        &At::section(shown),
        schema,
        errors,
    );
}

/// Checks `v` against `shape` (the section's defaults at the same place).
fn walk(v: &Value, shape: &Json, at: &At, schema: &Schema, errors: &mut Vec<String>) {
    match shape {
        Json::Object(names) => {
            for (k, kv) in table(v, &at.shown, errors).into_iter().flatten() {
                match names.get(k) {
                    Some(s) => walk(kv, s, &at.child(k), schema, errors),
                    None => {
                        let valid: Vec<&str> = names.keys().map(String::as_str).collect();
                        errors.push(unknown(&at.child(k).shown, &valid));
                    }
                }
            }
        }
        Json::Array(slots) => {
            let Some(items) = v.as_array() else {
                errors.push(format!(
                    "{} = {}: must be an array of at most {}",
                    at.shown,
                    describe(v),
                    slots.len()
                ));
                return;
            };
            if items.len() > slots.len() {
                errors.push(format!(
                    "{}: {} entries given, at most {} allowed",
                    at.shown,
                    items.len(),
                    slots.len()
                ));
            }
            for (i, (item, slot)) in items.iter().zip(slots).enumerate() {
                walk(item, slot, &at.element(i, slot.is_object()), schema, errors);
            }
        }
        Json::Number(n) => match field(schema.fields, &at.key) {
            Some(f) => {
                let before = errors.len();
                check_number(v, f, &at.shown, errors);
                // A whole-number setting (a count, a factor) does not deserialise from `2.0`.
                if errors.len() == before && n.is_u64() && v.is_float() {
                    errors.push(format!(
                        "{} = {}: must be written without a decimal point",
                        at.shown,
                        describe(v)
                    ));
                }
            }
            None => errors.push(format!("{}: no documented range (a bug)", at.shown)),
        },
        Json::Bool(_) => {
            if !v.is_bool() {
                errors.push(format!(
                    "{} = {}: must be true or false",
                    at.shown,
                    describe(v)
                ));
            }
        }
        Json::String(_) => {
            let Some(name) = v.as_str() else {
                errors.push(format!("{} = {}: must be a name", at.shown, describe(v)));
                return;
            };
            let mut probe = schema.defaults.clone();
            if let Some(slot) = probe.pointer_mut(&at.pointer) {
                *slot = Json::String(name.to_string());
            }
            if let Err(e) = (schema.parses)(probe) {
                errors.push(format!("{} = {}: {e}", at.shown, describe(v)));
            }
        }
        Json::Null => {}
    }
}

/// A number obeying `f`'s rule.
fn check_number(v: &Value, f: &Field, shown: &str, errors: &mut Vec<String>) {
    let x = match v {
        Value::Integer(i) => *i as f64,
        Value::Float(x) => *x,
        _ => {
            errors.push(format!("{shown} = {}: must be a number", describe(v)));
            return;
        }
    };
    if !x.is_finite() {
        errors.push(format!(
            "{shown} = {}: must be a finite number",
            describe(v)
        ));
    } else if !f.rule.allows(x) {
        errors.push(format!(
            "{shown} = {}: must be {}",
            describe(v),
            rule_text(f.rule)
        ));
    }
}

/// The rule in words: `10..22000 Hz`, `0 (off) or 20..500 Hz`, `one of 1, 2, 4`.
pub fn rule_text(rule: Rule) -> String {
    let span = |r: shared_dsp::chain::ranges::Range| {
        let s = format!("{}..{}", r.min, r.max);
        if r.unit.is_empty() {
            s
        } else {
            format!("{s} {}", r.unit)
        }
    };
    match rule {
        Rule::Span(r) => span(r),
        Rule::OffOr(r) => format!("0 (off) or {}", span(r)),
        Rule::Whole(r) => format!("a whole number {}", span(r)),
        Rule::OneOf(values) => {
            let v: Vec<String> = values.iter().map(f32::to_string).collect();
            format!("one of {}", v.join(", "))
        }
    }
}

/// A value as the user wrote it, briefly.
fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Float(x) if x.is_nan() => "nan".into(),
        Value::Float(x) if x.is_infinite() => if *x > 0.0 { "inf" } else { "-inf" }.into(),
        // As written: `0.0` stays `0.0`, `1e12` reads `1000000000000.0`.
        Value::Float(x) => format!("{x:?}"),
        Value::String(s) => format!("{s:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Table(_) => "a table".into(),
    }
}

/// A JSON preset as a TOML value, so one check serves both; a `null` (which TOML cannot
/// hold) is reported and dropped.
pub fn json_to_toml(v: &Json, shown: &str, errors: &mut Vec<String>) -> Option<Value> {
    let join = |k: &str| {
        if shown.is_empty() {
            k.to_string()
        } else {
            format!("{shown}.{k}")
        }
    };
    Some(match v {
        Json::Null => {
            errors.push(format!("{shown} = null: must be a value (or left out)"));
            return None;
        }
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .filter_map(|(i, x)| json_to_toml(x, &format!("{shown}[{i}]"), errors))
                .collect(),
        ),
        Json::Object(m) => Value::Table(
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), json_to_toml(x, &join(k), errors)?)))
                .collect(),
        ),
    })
}

/// The preset reference as Markdown tables (the README's "Preset reference" holds this text,
/// and a test keeps the two equal): every setting of `[stems.<key>]`, `[master]` and
/// `[deliveries.<name>]` with what it takes.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for (title, schema) in [
        (
            "`[stems.<key>]` and `[deliveries.<name>.stems.<key>]` (Stem Channel)",
            Schema::channel(),
        ),
        (
            "`[master]` and `[deliveries.<name>.master]` (Stem Master)",
            Schema::master(),
        ),
    ] {
        out += &format!("{title}:\n\n| setting | takes | note |\n|---|---|---|\n");
        let mut rows = Vec::new();
        reference_rows(
            &schema.defaults,
            &At::section(String::new()),
            &schema,
            &mut rows,
        );
        for (path, takes, note) in rows {
            out += &format!("| `{path}` | {takes} | {note} |\n");
        }
        out += "\n";
    }
    out += "`[deliveries.<name>]`:\n\n| setting | takes | note |\n|---|---|---|\n";
    for f in DELIVERY_FIELDS {
        out += &format!("| `{}` | {} | {} |\n", f.path, rule_text(f.rule), f.note);
    }
    out
}

/// One row per setting under `shape`: (path, what it takes, note).
fn reference_rows(
    shape: &Json,
    at: &At,
    schema: &Schema,
    rows: &mut Vec<(String, String, String)>,
) {
    let shown = at.shown.trim_start_matches('.').to_string();
    match shape {
        Json::Object(names) => {
            for (k, v) in names {
                reference_rows(v, &at.child(k), schema, rows);
            }
        }
        Json::Array(slots) => {
            let of_tables = slots.first().is_some_and(Json::is_object);
            if of_tables {
                let n = slots.len();
                rows.push((
                    shown,
                    format!("up to {n} tables"),
                    format!("`i` = 0..{}", n - 1),
                ));
                let mut one = at.element(0, true);
                one.shown = format!("{}[i]", at.shown);
                reference_rows(&slots[0], &one, schema, rows);
            } else {
                for (i, slot) in slots.iter().enumerate() {
                    reference_rows(slot, &at.element(i, false), schema, rows);
                }
            }
        }
        Json::Number(_) => {
            let (takes, note) = match field(schema.fields, &at.key) {
                Some(f) => (rule_text(f.rule), f.note.to_string()),
                None => ("no documented range".into(), String::new()),
            };
            rows.push((shown, takes, note));
        }
        Json::Bool(_) => rows.push((shown, "`true`, `false`".into(), String::new())),
        Json::String(_) => {
            // serde names the valid variants when given one that is not.
            let mut probe = schema.defaults.clone();
            if let Some(slot) = probe.pointer_mut(&at.pointer) {
                *slot = Json::String(String::new());
            }
            let e = (schema.parses)(probe).err().unwrap_or_default();
            let expected = e.split("expected ").nth(1).unwrap_or(&e);
            let names = expected.trim_start_matches("one of ").replace(" or ", ", ");
            rows.push((shown, names, String::new()));
        }
        Json::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's preset reference is this module's, so the two cannot drift apart.
    #[test]
    fn readme_lists_every_setting_with_the_shared_ranges() {
        let readme = include_str!("../../README.md");
        let (start, end) = (
            "<!-- preset-reference:start -->\n",
            "<!-- preset-reference:end -->",
        );
        let from = readme.find(start).expect("README has the preset reference") + start.len();
        let to = readme[from..].find(end).expect("the reference ends") + from;
        let want = reference_markdown();
        assert!(
            readme[from..to] == want,
            "README.md's preset reference is out of date; replace it with:\n{want}"
        );
    }

    /// Our own starting points and the demo's preset pass the check.
    #[test]
    fn the_demo_preset_passes() {
        let v: Value = toml::from_str(crate::demo::DEMO_PRESET).unwrap();
        assert_eq!(check_preset(&v), Vec::<String>::new());
    }
}
