//! `stem render`: offline render of delivery masters from a stem set.
//!
//! Per delivery (streaming, club, vinyl, or a custom target from the preset):
//! 1. every stem goes through its own `ChannelChain` (Stem Channel) with settings from the
//!    preset: `ChannelSettings::for_stem(role)` overlaid with the preset's `[stems.<key>]` and
//!    the delivery's `[deliveries.<name>.stems.<key>]` (keys: a file's name without extension,
//!    or its role: drums, bass, synths, vocals, fx, other). Identical (stem, settings) pairs are
//!    rendered once and shared between deliveries; all of them run in parallel on every core;
//! 2. the processed stems are summed (in stem order, so the result never depends on thread
//!    timing) and go through the `MasterChain` (Stem Master), `MasterSettings::default()`
//!    overlaid with `[master]` and `[deliveries.<name>.master]`, with the limiter's ceiling set
//!    to the delivery's (so an EQ switched on without an `eq_mode` runs in the default
//!    zero-latency mode, as in the plugin; every mode's latency is removed from the files);
//! 3. the limiter drive (`limiter.input_gain_db`) is found by analysis: the chain runs up to the
//!    limiter once (limiter bypassed), then the limiter stage alone (drive, `Limiter`, output
//!    gain, as the chain runs them) is rendered over the whole programme and measured (BS.1770-5
//!    integrated loudness) until it lands within [`SEARCH_TOLERANCE_LU`] of the target, by
//!    [`search_drive`] (secant steps on the measured loudness-versus-drive curve inside a
//!    bracket). The master is then rendered once by the whole `MasterChain` with that drive, so
//!    it is exactly what the Stem Master plugin produces with those settings;
//! 4. the master is written as 24-bit WAV (and/or 16-bit with `shared_dsp::dither`, optionally
//!    resampled with `rubato`), atomically, never over an input, with a report per master
//!    (see [`crate::report`]) that passes or fails it against its target.
//!
//! The search's split of the chain before the limiter relies on a bypassed section being a pure
//! delay of its latency (which the chain guarantees); each search step then costs only the
//! limiter and a loudness measurement, not the glue, EQ and width again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};
use shared_dsp::chain::channel::{ChannelChain, ChannelSettings, StemType};
use shared_dsp::chain::master::{delivery_target, MasterChain, MasterSettings};
use shared_dsp::dither::{Dither, DitherMode, DitherSettings};
use shared_dsp::dynamics::{Limiter, LimiterSettings};
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::util::db_to_gain;

use crate::analysis::true_peak_dbtp;
use crate::audio::{read_wav, write_wav_atomic, Audio, OutputFormat};
use crate::error::{Error, Result};
use crate::par;
use crate::progress::Progress;
use crate::report::{self, FileReport, TargetCheck};
use crate::role::Role;

/// The search stops once the master is this close to its target, LU.
pub const SEARCH_TOLERANCE_LU: f64 = 0.1;
/// A master passes when within this of its target, LU.
pub const ACCEPT_TOLERANCE_LU: f64 = 0.5;
/// Most limiter passes per master.
pub const MAX_SEARCH_PASSES: usize = 8;
/// Largest change of the limiter drive in one search step, dB.
pub const MAX_STEP_DB: f64 = 24.0;
/// Below this many LU per dB of drive the limiter counts as saturated and the search stops.
pub const SATURATED_SLOPE: f64 = 0.03;
/// Drive range searched, dB.
pub const MAX_DRIVE_DB: f64 = 60.0;
/// The guide's vinyl master asks for a TT DR above this.
pub const VINYL_DR_ABOVE: i32 = 10;
/// Processing block, samples.
const BLOCK: usize = 4096;

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
fn settle<T: Serialize + serde::de::DeserializeOwned>(
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

/// Maps a role to the channel chain's stem type.
pub fn stem_type(role: Role) -> StemType {
    match role {
        Role::Drums => StemType::Drums,
        Role::Bass => StemType::Bass,
        Role::Synths => StemType::Synths,
        Role::Vocals => StemType::Vocals,
        Role::Fx => StemType::Fx,
        Role::Other => StemType::Custom,
    }
}

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
    pub master: MasterSettings,
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
    let known = |k: &str| keys.iter().any(|ks| ks.iter().any(|x| x == k));
    for k in preset.stems.keys() {
        if !known(k) {
            return Err(Error::usage(format!(
                "preset: [stems.{k}] matches no stem (keys are file names without extension, or \
                 roles: drums, bass, synths, vocals, fx, other)"
            )));
        }
    }
    // Every delivery of the preset is checked, used or not, so a typo shows on the first run.
    for (name, d) in &preset.deliveries {
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
    let mut out = Vec::new();
    for name in deliveries {
        let d = preset.deliveries.get(name).unwrap_or(&empty);
        let builtin = delivery_target(name);
        let num = |k: &str| d.get(k).and_then(Value::as_f64);
        let (target_lufs, ceiling_dbtp) = match (num("target_lufs"), num("ceiling_dbtp"), builtin) {
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
        if !(-70.0..=0.0).contains(&target_lufs) || !(-20.0..=0.0).contains(&ceiling_dbtp) {
            return Err(Error::usage(format!(
                "delivery '{name}': target {target_lufs} LUFS / ceiling {ceiling_dbtp} dBTP out of \
                 range (-70..0 LUFS, -20..0 dBTP)"
            )));
        }
        let dr_above = d
            .get("dr_above")
            .and_then(Value::as_i64)
            .map(|v| v as i32)
            .or((name == "vinyl").then_some(VINYL_DR_ABOVE));
        let d_stems = table(d, "stems");
        let mut stem_settings = Vec::new();
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
                .unwrap_or(stem_type(*role));
            let s = settle(&ChannelSettings::for_stem(ty), &layers).map_err(|m| {
                Error::usage(format!(
                    "preset ({}): {m}",
                    crate::audio::display_name(path)
                ))
            })?;
            stem_settings.push(s);
        }
        let mut layers = vec![(&preset.master, "master".to_string())];
        if let Some(m) = d.get("master") {
            layers.push((m, format!("deliveries.{name}.master")));
        }
        let mut master = settle(&MasterSettings::default(), &layers)
            .map_err(|m| Error::usage(format!("preset: {m}")))?;
        master.limiter_enabled = true;
        master.limiter.ceiling_dbtp = ceiling_dbtp as f32;
        out.push(Delivery {
            name: name.clone(),
            target_lufs,
            ceiling_dbtp,
            dr_above,
            stem_settings,
            master,
        });
    }
    Ok(out)
}

/// A rendered master (float, at the stems' rate) and how it was found.
#[derive(Clone, Debug)]
pub struct Master {
    pub name: String,
    pub channels: [Vec<f32>; 2],
    /// The limiter drive the search settled on, dB.
    pub drive_db: f64,
    /// Limiter passes the search took.
    pub passes: usize,
    /// Integrated loudness of `channels`, LUFS.
    pub integrated_lufs: f64,
}

/// Runs `process` over `input` followed by `latency` samples of silence, block by block, and
/// keeps the output from sample `latency` on, so the result lines up with the input.
fn run_aligned(
    input: [&[f32]; 2],
    latency: usize,
    mut process: impl FnMut(&mut [f32], &mut [f32]),
) -> [Vec<f32>; 2] {
    let frames = input[0].len().min(input[1].len());
    let mut out = [vec![0.0f32; frames], vec![0.0f32; frames]];
    let mut block = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let total = frames + latency;
    let mut start = 0;
    while start < total {
        let n = BLOCK.min(total - start);
        for (b, x) in block.iter_mut().zip(input) {
            let have = frames.saturating_sub(start).min(n);
            if have > 0 {
                b[..have].copy_from_slice(&x[start..start + have]);
            }
            b[have..n].fill(0.0);
        }
        let [bl, br] = &mut block;
        process(&mut bl[..n], &mut br[..n]);
        // Output sample `start + k` is input sample `start + k - latency`.
        let skip = latency.saturating_sub(start).min(n);
        if skip < n {
            let dst = start + skip - latency;
            let count = (n - skip).min(frames.saturating_sub(dst));
            for (o, b) in out.iter_mut().zip(&block) {
                o[dst..dst + count].copy_from_slice(&b[skip..skip + count]);
            }
        }
        start += n;
    }
    out
}

/// One stem through a Stem Channel chain.
pub fn render_stem(
    stem: [&[f32]; 2],
    sample_rate_hz: f64,
    settings: &ChannelSettings,
) -> [Vec<f32>; 2] {
    let mut chain = ChannelChain::new(BLOCK, sample_rate_hz);
    chain.set_settings(settings);
    chain.reset();
    let latency = chain.latency_samples();
    run_aligned(stem, latency, |l, r| chain.process_block(l, r))
}

fn new_master_chain(settings: &MasterSettings, sample_rate_hz: f64) -> MasterChain {
    let mut chain = MasterChain::new(BLOCK, sample_rate_hz);
    chain.set_settings(settings);
    chain.finish_design_now();
    chain.reset();
    chain.set_meters_paused(true);
    chain
}

/// The master chain up to (not including) the limiter.
fn pre_limiter(settings: &MasterSettings, sum: [&[f32]; 2], sample_rate_hz: f64) -> [Vec<f32>; 2] {
    let mut s = settings.clone();
    s.limiter_enabled = false;
    s.output_gain_db = 0.0;
    s.dither = DitherSettings::default();
    let mut chain = new_master_chain(&s, sample_rate_hz);
    let latency = chain.latency_samples();
    run_aligned(sum, latency, |l, r| chain.process_block(l, r))
}

/// The limiter stage alone, as the master chain runs it (drive, then the limiter with the
/// drive taken out of its settings, then the output gain), on the pre-limiter signal: what the
/// drive search measures. The final master always comes from the whole chain.
fn limiter_stage(
    settings: &MasterSettings,
    pre: [&[f32]; 2],
    sample_rate_hz: f64,
    drive_db: f64,
) -> [Vec<f32>; 2] {
    let mut limiter = Limiter::new(2, sample_rate_hz as f32);
    limiter.set_sample_rate(sample_rate_hz as f32);
    limiter.set_settings(LimiterSettings {
        input_gain_db: 0.0,
        ..settings.limiter
    });
    limiter.reset();
    let drive = db_to_gain(drive_db as f32);
    let out_gain = db_to_gain(settings.output_gain_db);
    let latency = limiter.latency_samples();
    run_aligned(pre, latency, |l, r| {
        for x in l.iter_mut().chain(r.iter_mut()) {
            *x *= drive;
        }
        limiter.process_block(&mut [&mut *l, &mut *r]);
        if out_gain != 1.0 {
            for x in l.iter_mut().chain(r.iter_mut()) {
                *x *= out_gain;
            }
        }
    })
}

/// The whole master chain on the summed stems with the limiter drive `drive_db`.
fn full_master(
    settings: &MasterSettings,
    sum: [&[f32]; 2],
    sample_rate_hz: f64,
    drive_db: f64,
) -> [Vec<f32>; 2] {
    let mut s = settings.clone();
    s.limiter_enabled = true;
    s.limiter.input_gain_db = drive_db as f32;
    s.dither = DitherSettings::default();
    let mut chain = new_master_chain(&s, sample_rate_hz);
    let latency = chain.latency_samples();
    run_aligned(sum, latency, |l, r| chain.process_block(l, r))
}

fn integrated(ch: [&[f32]; 2], sample_rate_hz: f64) -> f64 {
    let mut m = LoudnessMeter::new(2, sample_rate_hz);
    m.process_block(&ch);
    m.integrated_lufs()
}

/// Solves `loudness(drive) = target` for a monotonic, compressive loudness curve: a secant
/// step on the last two measurements (the first step assumes slope 1, exact while the limiter
/// is idle), kept inside the bracket of drives known to be too quiet and too loud (bisecting
/// when the secant leaves it), each step at most [`MAX_STEP_DB`]. Returns (drive, loudness,
/// passes) of the best measurement.
pub fn search_drive(
    target_lufs: f64,
    first_drive_db: f64,
    mut measure: impl FnMut(f64) -> f64,
) -> (f64, f64, usize) {
    let mut lo: Option<(f64, f64)> = None; // (drive, loudness) below target
    let mut hi: Option<(f64, f64)> = None; // above target
    let mut prev: Option<(f64, f64)> = None;
    let mut best = (first_drive_db, f64::NEG_INFINITY);
    let mut drive = first_drive_db.clamp(-MAX_DRIVE_DB, MAX_DRIVE_DB);
    let mut passes = 0;
    while passes < MAX_SEARCH_PASSES {
        passes += 1;
        let l = measure(drive);
        if !l.is_finite() {
            break;
        }
        if (l - target_lufs).abs() < (best.1 - target_lufs).abs() {
            best = (drive, l);
        }
        if (l - target_lufs).abs() <= SEARCH_TOLERANCE_LU {
            break;
        }
        if l < target_lufs {
            lo = Some((drive, l));
        } else {
            hi = Some((drive, l));
        }
        let slope = match prev {
            Some((g0, l0)) if (drive - g0).abs() > 1e-6 => (l - l0) / (drive - g0),
            _ => 1.0,
        };
        if slope < SATURATED_SLOPE && l < target_lufs {
            // The limiter is saturated: more drive adds (almost) no loudness, the target is
            // out of reach for this material and these settings.
            break;
        }
        let slope = slope.clamp(SATURATED_SLOPE, 1.0);
        prev = Some((drive, l));
        let step = ((target_lufs - l) / slope).clamp(-MAX_STEP_DB, MAX_STEP_DB);
        let mut next = (drive + step).clamp(-MAX_DRIVE_DB, MAX_DRIVE_DB);
        if let (Some((a, _)), Some((b, _))) = (lo, hi) {
            let (x0, x1) = (a.min(b), a.max(b));
            if next <= x0 || next >= x1 {
                next = 0.5 * (a + b);
            }
            if (x1 - x0) < 1e-3 {
                break;
            }
        }
        if (next - drive).abs() < 1e-4 {
            break;
        }
        drive = next;
    }
    (best.0, best.1, passes)
}

/// Masters the summed stems for `d`: the chain up to the limiter once, the drive search on the
/// limiter stage, then the whole chain with the drive found.
pub fn master(sum: [&[f32]; 2], sample_rate_hz: f64, d: &Delivery) -> Result<Master> {
    let pre = pre_limiter(&d.master, sum, sample_rate_hz);
    let pre_lufs = integrated([&pre[0], &pre[1]], sample_rate_hz);
    if !pre_lufs.is_finite() {
        return Err(Error::usage(format!(
            "{}: the stems are silent (below the -70 LUFS gate) after processing: nothing to master",
            d.name
        )));
    }
    // First guess: the drive that would land the target if the limiter stayed idle.
    let first = d.target_lufs - pre_lufs - d.master.output_gain_db as f64;
    let (drive, _, passes) = search_drive(d.target_lufs, first, |g| {
        let out = limiter_stage(&d.master, [&pre[0], &pre[1]], sample_rate_hz, g);
        integrated([&out[0], &out[1]], sample_rate_hz)
    });
    drop(pre);
    let channels = full_master(&d.master, sum, sample_rate_hz, drive);
    let integrated_lufs = integrated([&channels[0], &channels[1]], sample_rate_hz);
    Ok(Master {
        name: d.name.clone(),
        channels,
        drive_db: drive,
        passes,
        integrated_lufs,
    })
}

/// Renders every delivery from in-memory stems (all at `sample_rate_hz`, stereo or mono,
/// any lengths: shorter ones are padded with silence).
pub fn render_masters(
    stems: &[Audio],
    deliveries: &[Delivery],
    progress: &Progress,
) -> Result<Vec<Master>> {
    let sr = stems
        .first()
        .map(|s| s.sample_rate_hz)
        .ok_or_else(|| Error::usage("no stems given"))?;
    let frames = stems.iter().map(Audio::frames).max().unwrap_or(0);
    // Unique (stem, settings) jobs, in a fixed order.
    let mut jobs: Vec<(usize, ChannelSettings)> = Vec::new();
    let mut job_of = vec![vec![0usize; stems.len()]; deliveries.len()];
    for (di, d) in deliveries.iter().enumerate() {
        for (si, s) in d.stem_settings.iter().enumerate() {
            let idx = jobs
                .iter()
                .position(|(i, js)| *i == si && js == s)
                .unwrap_or_else(|| {
                    jobs.push((si, s.clone()));
                    jobs.len() - 1
                });
            job_of[di][si] = idx;
        }
    }
    let mut timing = Timing::new();
    let bar = progress.bar(jobs.len() as u64, "stems");
    let rendered = par::map(&jobs, |(si, settings)| {
        let (l, r) = stems[*si].stereo();
        let out = render_stem([l, r], sr as f64, settings);
        bar.inc(1);
        out
    });
    bar.finish_and_clear();

    let sums: Vec<[Vec<f32>; 2]> = job_of
        .iter()
        .map(|js| {
            let mut sum = [vec![0.0f32; frames], vec![0.0f32; frames]];
            for &j in js {
                for c in 0..2 {
                    for (acc, &x) in sum[c].iter_mut().zip(&rendered[j][c]) {
                        *acc += x;
                    }
                }
            }
            sum
        })
        .collect();
    drop(rendered);
    timing.mark(&format!("{} channel-chain renders and sums", jobs.len()));
    let bar = progress.bar(deliveries.len() as u64, "masters");
    let items: Vec<(usize, &Delivery)> = deliveries.iter().enumerate().collect();
    let masters = par::map(&items, |(i, d)| {
        let m = master([&sums[*i][0], &sums[*i][1]], sr as f64, d);
        bar.inc(1);
        m
    });
    bar.finish_and_clear();
    masters.into_iter().collect()
}

/// Band-limited sample-rate conversion with `rubato` (FFT resampler, fixed ratio).
pub fn resample(channels: &[Vec<f32>], from_hz: u32, to_hz: u32) -> Result<Vec<Vec<f32>>> {
    use rubato::{FftFixedIn, Resampler};
    if from_hz == to_hz {
        return Ok(channels.to_vec());
    }
    let err = |e: &dyn std::fmt::Display| {
        Error::usage(format!("resampling {from_hz} -> {to_hz} Hz failed: {e}"))
    };
    let chunk = 1024;
    let mut rs = FftFixedIn::<f32>::new(from_hz as usize, to_hz as usize, chunk, 2, channels.len())
        .map_err(|e| err(&e))?;
    let frames = channels[0].len();
    let wanted = (frames as f64 * to_hz as f64 / from_hz as f64).round() as usize;
    let delay = rs.output_delay();
    let mut out: Vec<Vec<f32>> = vec![Vec::with_capacity(wanted + delay + chunk); channels.len()];
    let mut pos = 0;
    while out[0].len() < wanted + delay {
        let need = rs.input_frames_next();
        let block: Vec<Vec<f32>> = channels
            .iter()
            .map(|c| {
                let mut b: Vec<f32> = c[pos.min(frames)..(pos + need).min(frames)].to_vec();
                b.resize(need, 0.0);
                b
            })
            .collect();
        pos += need;
        let produced = rs.process(&block, None).map_err(|e| err(&e))?;
        for (o, p) in out.iter_mut().zip(produced) {
            o.extend_from_slice(&p);
        }
    }
    for o in &mut out {
        o.drain(..delay);
        o.truncate(wanted);
    }
    Ok(out)
}

/// What `stem render` was asked to do.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub stems: Vec<PathBuf>,
    pub preset: Option<PathBuf>,
    pub deliveries: Vec<String>,
    pub out: PathBuf,
    /// Word lengths to write: 24 and/or 16.
    pub bits: Vec<u16>,
    /// Resample the masters to this rate (default: the stems' rate).
    pub sample_rate_hz: Option<u32>,
    pub show_progress: bool,
}

/// One written master file and its report.
#[derive(Clone, Debug, Serialize)]
pub struct WrittenMaster {
    pub delivery: String,
    pub path: PathBuf,
    pub bits: u16,
    pub sample_rate_hz: u32,
    pub limiter_drive_db: f64,
    pub search_passes: usize,
    pub report: FileReport,
}

/// The outcome of `stem render`.
#[derive(Clone, Debug, Serialize)]
pub struct RenderSummary {
    pub passed: bool,
    pub masters: Vec<WrittenMaster>,
    /// Every file written (masters, reports, plots).
    pub files: Vec<PathBuf>,
}

/// Prints how long each phase took when `STEM_TIMING` is set (for profiling the render).
struct Timing(Option<std::time::Instant>);

impl Timing {
    fn new() -> Self {
        Self(std::env::var_os("STEM_TIMING").map(|_| std::time::Instant::now()))
    }

    fn mark(&mut self, what: &str) {
        if let Some(t) = &mut self.0 {
            eprintln!("stem: timing: {what}: {:.2} s", t.elapsed().as_secs_f64());
            *t = std::time::Instant::now();
        }
    }
}

/// Reads the stems, plans, renders, writes masters and reports.
pub fn run_render(opts: &RenderOptions) -> Result<RenderSummary> {
    let mut timing = Timing::new();
    crate::check::distinct_stems(&opts.stems, None)?;
    if opts.deliveries.is_empty() {
        return Err(Error::usage(
            "no deliveries given (--deliver streaming,club,vinyl)",
        ));
    }
    for b in &opts.bits {
        if *b != 16 && *b != 24 {
            return Err(Error::usage(format!(
                "--bits {b}: only 24 and 16 are written"
            )));
        }
    }
    if let Some(sr) = opts.sample_rate_hz {
        if !(crate::audio::MIN_SAMPLE_RATE_HZ..=crate::audio::MAX_SAMPLE_RATE_HZ).contains(&sr) {
            return Err(Error::usage(format!(
                "--sample-rate {sr}: outside 22 050-384 000 Hz"
            )));
        }
    }
    let preset = match &opts.preset {
        Some(p) => Preset::load(p)?,
        None => Preset::default(),
    };
    let progress = Progress::new(opts.show_progress);
    let stems = crate::check::read_all(&opts.stems, &progress)?;
    let sr = stems[0].sample_rate_hz;
    for s in &stems[1..] {
        if s.sample_rate_hz != sr {
            return Err(Error::file(
                &s.path,
                format!(
                    "sample rate {} Hz differs from {} ({} Hz): stems must share one rate",
                    s.sample_rate_hz,
                    stems[0].name(),
                    sr
                ),
            ));
        }
    }
    timing.mark("read stems");
    let frames = stems.iter().map(Audio::frames).max().unwrap_or(0);
    for s in &stems {
        if s.frames() != frames {
            eprintln!(
                "stem: warning: {}: {} frames, the longest stem has {}; padded with silence",
                s.name(),
                s.frames(),
                frames
            );
        }
    }
    let roles: Vec<(PathBuf, Role)> = stems
        .iter()
        .map(|s| (s.path.clone(), Role::from_path(&s.path)))
        .collect();
    let deliveries = plan(&preset, &roles, &opts.deliveries)?;
    let mut protected: Vec<PathBuf> = opts.stems.clone();
    protected.extend(opts.preset.iter().cloned());
    // Fail before the long work if an output would land on an input.
    for d in &deliveries {
        for b in &opts.bits {
            crate::audio::ensure_not_input(
                &opts
                    .out
                    .join(file_name(&d.name, *b, opts.sample_rate_hz, sr)),
                &protected,
            )?;
        }
    }
    let masters = render_masters(&stems, &deliveries, &progress)?;
    timing.mark("render masters");

    let out_rate = opts.sample_rate_hz.unwrap_or(sr);
    let pairs: Vec<(&Master, &Delivery)> = masters.iter().zip(&deliveries).collect();
    let bar = progress.bar(pairs.len() as u64, "writing");
    let delivered = par::map(&pairs, |(m, d)| {
        let r = deliver(m, d, opts, sr, out_rate, &protected);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    let mut written = Vec::new();
    let mut files = Vec::new();
    for r in delivered {
        let (w, f) = r?;
        written.extend(w);
        files.extend(f);
    }
    timing.mark("write masters and reports");
    let passed = written
        .iter()
        .all(|w| w.report.target.as_ref().is_some_and(|t| t.passed));
    let summary = RenderSummary {
        passed,
        masters: written,
        files,
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::usage(e.to_string()))?;
    let summary_path = opts.out.join("render.json");
    crate::audio::ensure_not_input(&summary_path, &protected)?;
    report::write_text_atomic(&summary_path, &(json + "\n"))?;
    let mut summary = summary;
    summary.files.push(summary_path);
    Ok(summary)
}

/// Writes one master in every requested word length (resampled and dithered as asked), with
/// its report; returns the masters written and every file.
fn deliver(
    m: &Master,
    d: &Delivery,
    opts: &RenderOptions,
    sr: u32,
    out_rate: u32,
    protected: &[PathBuf],
) -> Result<(Vec<WrittenMaster>, Vec<PathBuf>)> {
    let mut written = Vec::new();
    let mut files = Vec::new();
    let mut channels: Vec<Vec<f32>> = m.channels.to_vec();
    if out_rate != sr {
        channels = resample(&channels, sr, out_rate)?;
        // A band-limited resampler can move inter-sample peaks by a few hundredths of a
        // dB: trim whatever crosses the ceiling.
        let refs: Vec<&[f32]> = channels.iter().map(|c| c.as_slice()).collect();
        let over = true_peak_dbtp(&refs, out_rate as f64) - d.ceiling_dbtp;
        if over > 0.0 {
            let g = 10f32.powf(-(over as f32 + 0.01) / 20.0);
            channels.iter_mut().flatten().for_each(|x| *x *= g);
        }
    }
    for &bits in &opts.bits {
        let mut data = channels.clone();
        let dither = match (bits, d.master.dither.mode) {
            (16, DitherMode::Off) => DitherSettings {
                mode: DitherMode::Tpdf,
                bits: 16,
            },
            (16, mode) => DitherSettings { mode, bits: 16 },
            (_, mode) => DitherSettings { mode, bits: 24 },
        };
        let mut dith = Dither::new(2);
        dith.set_settings(dither);
        dith.reset();
        {
            let (a, b) = data.split_at_mut(1);
            dith.process_block(&mut [&mut a[0][..], &mut b[0][..]]);
        }
        // Round to the file's grid here, so the report measures exactly what is written.
        let scale = (1i64 << (bits - 1)) as f32;
        for x in data.iter_mut().flatten() {
            *x = crate::audio::to_code(*x, bits) as f32 / scale;
        }
        let path = opts
            .out
            .join(file_name(&d.name, bits, opts.sample_rate_hz, sr));
        let refs: Vec<&[f32]> = data.iter().map(|c| c.as_slice()).collect();
        let format = if bits == 16 {
            OutputFormat::Pcm16
        } else {
            OutputFormat::Pcm24
        };
        write_wav_atomic(&path, out_rate, &refs, format, protected)?;
        files.push(path.clone());
        let audio = Audio {
            path: path.clone(),
            sample_rate_hz: out_rate,
            bits_per_sample: bits,
            float: false,
            channels: data,
            non_finite_samples: 0,
        };
        let (mut rep, history) = report::analyse(&audio);
        rep.target = Some(target_check(d, &rep));
        files.extend(report::write_files(
            &opts.out, &rep, &history, &audio, protected,
        )?);
        written.push(WrittenMaster {
            delivery: d.name.clone(),
            path,
            bits,
            sample_rate_hz: out_rate,
            limiter_drive_db: m.drive_db,
            search_passes: m.passes,
            report: rep,
        });
    }
    Ok((written, files))
}

/// `streaming.wav`, `club-16bit.wav`, `vinyl-16bit-44k1.wav`.
pub fn file_name(delivery: &str, bits: u16, resample: Option<u32>, source_hz: u32) -> String {
    let mut s = delivery.to_string();
    if bits == 16 {
        s += "-16bit";
    }
    if let Some(hz) = resample.filter(|&hz| hz != source_hz) {
        let k = hz / 1000;
        let frac = (hz % 1000) / 100;
        s += &if frac == 0 {
            format!("-{k}k")
        } else {
            format!("-{k}k{frac}")
        };
    }
    s + ".wav"
}

/// Judges a master's report against its delivery.
pub fn target_check(d: &Delivery, rep: &FileReport) -> TargetCheck {
    let f = &rep.figures;
    let err = f.integrated_lufs - d.target_lufs;
    let loudness_ok = err.is_finite() && err.abs() <= ACCEPT_TOLERANCE_LU;
    let ceiling_ok = f.true_peak_dbtp <= d.ceiling_dbtp;
    let dr_ok = match d.dr_above {
        Some(min) => f.dr.is_some_and(|dr| dr > min),
        None => true,
    };
    TargetCheck {
        name: d.name.clone(),
        target_lufs: d.target_lufs,
        ceiling_dbtp: d.ceiling_dbtp,
        tolerance_lu: ACCEPT_TOLERANCE_LU,
        dr_above: d.dr_above,
        loudness_error_lu: err,
        loudness_ok,
        ceiling_ok,
        dr_ok,
        passed: loudness_ok && ceiling_ok && dr_ok,
    }
}

/// One line per written master for the terminal.
pub fn format_human(s: &RenderSummary) -> String {
    let mut out = format!(
        "{:<26} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6}  result\n",
        "master", "target", "I LUFS", "ceiling", "TP dBTP", "LRA", "DR", "drive"
    );
    for w in &s.masters {
        let t = w.report.target.as_ref();
        let f = &w.report.figures;
        out += &format!(
            "{:<26} {:>8.1} {:>8.2} {:>8.1} {:>8.2} {:>6.1} {:>6} {:>6.1}  {}\n",
            crate::audio::display_name(&w.path),
            t.map_or(f64::NAN, |t| t.target_lufs),
            f.integrated_lufs,
            t.map_or(f64::NAN, |t| t.ceiling_dbtp),
            f.true_peak_dbtp,
            f.lra_lu,
            f.dr.map_or("-".to_string(), |d| format!("DR{d}")),
            w.limiter_drive_db,
            match t {
                Some(t) if t.passed => "pass".to_string(),
                Some(t) => {
                    let mut why = Vec::new();
                    if !t.loudness_ok {
                        why.push(format!("{:+.2} LU off", t.loudness_error_lu));
                    }
                    if !t.ceiling_ok {
                        why.push("over the ceiling".to_string());
                    }
                    if !t.dr_ok {
                        why.push(format!("DR not above {}", t.dr_above.unwrap_or(0)));
                    }
                    format!("FAIL ({})", why.join(", "))
                }
                None => String::new(),
            }
        );
    }
    out
}

/// Reads stems for [`render_masters`] callers outside the CLI (bench, tests).
pub fn read_stems(paths: &[PathBuf]) -> Result<Vec<Audio>> {
    paths.iter().map(|p| read_wav(p)).collect()
}

/// Ordered map of preset stem keys to roles, for messages.
pub fn roles_of(paths: &[PathBuf]) -> BTreeMap<String, Role> {
    paths
        .iter()
        .map(|p| (crate::audio::display_name(p), Role::from_path(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_search_lands_on_compressive_curves_and_stops_when_saturated() {
        // Loudness of a limiter: linear below the knee, a slope of 0.2 LU/dB above it.
        let curve = |g: f64| -20.0 + if g < 6.0 { g } else { 6.0 + 0.2 * (g - 6.0) };
        let mut calls = 0;
        let (g, l, passes) = search_drive(-11.0, 0.0, |g| {
            calls += 1;
            curve(g)
        });
        assert!((l + 11.0).abs() <= SEARCH_TOLERANCE_LU, "{g} {l}");
        assert_eq!(passes, calls);
        assert!(passes <= 4, "{passes}");
        // A wall: beyond 10 dB of drive nothing gets louder; the search gives up early with the
        // best it found.
        let wall = |g: f64| -20.0 + g.min(10.0) + 0.001 * g;
        let (_, l, passes) = search_drive(-5.0, 0.0, wall);
        assert!(l < -9.9 && passes < MAX_SEARCH_PASSES, "{l} {passes}");
    }

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

    #[test]
    fn presets_name_the_master_eq_mode_old_or_new() {
        use shared_dsp::chain::master::MasterEqMode;
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

    #[test]
    fn aligned_runs_remove_the_latency_exactly() {
        let x: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        // A pure delay of 777 samples, processed in blocks.
        let mut line = vec![0.0f32; 777];
        let out = run_aligned([&x, &x], 777, |l, r| {
            for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                line.push(*a);
                *a = line.remove(0);
                *b = *a;
            }
        });
        assert_eq!(out[0], x);
        assert_eq!(out[1], x);
    }
}
