//! The documented range of every numeric setting of both chains: one const per control, which
//! the plugins build their parameters from, and the tables [`CHANNEL_FIELDS`],
//! [`MASTER_FIELDS`] and [`DELIVERY_FIELDS`] keyed by the settings' serde field path, which the
//! `stem` tool checks presets against (and its README lists). A preset and a plugin session
//! therefore accept the same values; the units clamp anything else, so outside these ranges a
//! value would be changed silently.
//!
//! Paths are relative to [`super::settings::ChannelSettings`] or
//! [`super::settings::MasterSettings`] as serialised: `eq_bands[].freq_hz` stands for every
//! band, `multiband.crossover_hz[0]` for one element of a number array.

use crate::dynamics::compressor::{
    GLUE_ATTACKS_MS, GLUE_RATIOS, GLUE_RELEASES_MS, MAX_LOOKAHEAD_MS as COMP_MAX_LOOKAHEAD_MS,
};
use crate::dynamics::limiter::{MAX_LOOKAHEAD_MS, MIN_LOOKAHEAD_MS};
use crate::dynamics::multiband::MAX_BANDS;

/// A closed interval in one unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f32,
    pub max: f32,
    /// The unit as written after a value ("Hz", "dB", ...; empty for plain numbers).
    pub unit: &'static str,
}

impl Range {
    pub const fn new(min: f32, max: f32, unit: &'static str) -> Self {
        Self { min, max, unit }
    }

    /// `(min, max)`, the shape the plugins' parameter helpers take.
    pub const fn bounds(self) -> (f32, f32) {
        (self.min, self.max)
    }

    /// Whether `value` lies in the range (ends included).
    pub fn contains(self, value: f64) -> bool {
        value >= self.min as f64 && value <= self.max as f64
    }
}

// Gains both plugins open and close their chain with.
/// Input trim (channel) and input gain (master): enough to bring a stem printed hot or quiet
/// into the staging window.
pub const TRIM_DB: Range = Range::new(-24.0, 24.0, "dB");
/// Output gain of either chain.
pub const OUTPUT_GAIN_DB: Range = Range::new(-24.0, 24.0, "dB");

// EQ bands (both plugins).
/// Band centre / corner frequency.
pub const EQ_FREQ_HZ: Range = Range::new(10.0, 22_000.0, "Hz");
/// Band gain.
pub const EQ_GAIN_DB: Range = Range::new(-24.0, 24.0, "dB");
/// Band Q.
pub const EQ_Q: Range = Range::new(0.1, 18.0, "");
/// Dynamic band threshold.
pub const EQ_DYN_THRESHOLD_DB: Range = Range::new(-80.0, 0.0, "dBFS");
/// Dynamic band range (largest gain change): negative cuts, positive boosts.
pub const EQ_DYN_RANGE_DB: Range = Range::new(-24.0, 24.0, "dB");
/// Dynamic band attack.
pub const EQ_DYN_ATTACK_MS: Range = Range::new(0.1, 500.0, "ms");
/// Dynamic band release.
pub const EQ_DYN_RELEASE_MS: Range = Range::new(5.0, 5_000.0, "ms");

// Channel compressor and multiband bands.
/// Broadband compressor threshold.
pub const COMP_THRESHOLD_DB: Range = Range::new(-60.0, 0.0, "dBFS");
/// Multiband threshold (up to +24 so an untouched band can sit above any peak).
pub const MB_THRESHOLD_DB: Range = Range::new(-60.0, 24.0, "dBFS");
/// Ratio n:1.
pub const COMP_RATIO: Range = Range::new(1.0, 20.0, "");
/// Knee width.
pub const COMP_KNEE_DB: Range = Range::new(0.0, 24.0, "dB");
/// Attack time.
pub const COMP_ATTACK_MS: Range = Range::new(0.05, 300.0, "ms");
/// Release time.
pub const COMP_RELEASE_MS: Range = Range::new(5.0, 3_000.0, "ms");
/// Make-up gain.
pub const COMP_MAKEUP_DB: Range = Range::new(-12.0, 24.0, "dB");
/// Sidechain high-pass corner (below 1 Hz is off).
pub const COMP_SIDECHAIN_HPF_HZ: Range = Range::new(0.0, 500.0, "Hz");
/// RMS averaging window (no plugin control; the compressor's own limits).
pub const COMP_RMS_WINDOW_MS: Range = Range::new(0.1, 1_000.0, "ms");
/// Compressor lookahead (no plugin control; the compressor's delay line).
pub const COMP_LOOKAHEAD_MS: Range = Range::new(0.0, COMP_MAX_LOOKAHEAD_MS, "ms");
/// Multiband bands: the chain runs 2 to 4 (the plugin shows 2 to 3, as the guide asks).
pub const MB_BANDS: Range = Range::new(2.0, MAX_BANDS as f32, "");
/// Lower multiband crossover.
pub const XOVER_LOW_HZ: Range = Range::new(20.0, 1_000.0, "Hz");
/// Upper multiband crossover (and the third, used by 4 bands only).
pub const XOVER_HIGH_HZ: Range = Range::new(100.0, 10_000.0, "Hz");

/// Wet share of a compressor or the saturation, and the limiter's stereo link.
pub const MIX_PERCENT: Range = Range::new(0.0, 100.0, "%");

// Mid/side.
/// Side level: 0 = mono, 100 = unchanged.
pub const WIDTH_PERCENT: Range = Range::new(0.0, 200.0, "%");
/// Channel mono-bass corner (0 is off).
pub const MONO_BELOW_HZ: Range = Range::new(20.0, 500.0, "Hz");
/// Balance, -100 (left only) to +100 (right only).
pub const BALANCE_PERCENT: Range = Range::new(-100.0, 100.0, "%");

// Saturation.
/// Drive into the curve.
pub const SAT_DRIVE_DB: Range = Range::new(0.0, 36.0, "dB");
/// Tape bias / colour.
pub const SAT_COLOR: Range = Range::new(-1.0, 1.0, "");
/// Saturation output trim.
pub const SAT_OUTPUT_DB: Range = Range::new(-24.0, 24.0, "dB");
/// Saturation oversampling factors.
pub const SAT_OVERSAMPLING: &[f32] = &[1.0, 2.0, 4.0];

// Master glue compressor (stepped controls, values snapped to the nearest step).
/// Glue threshold.
pub const GLUE_THRESHOLD_DB: Range = Range::new(-40.0, 0.0, "dBFS");
/// Glue make-up gain.
pub const GLUE_MAKEUP_DB: Range = Range::new(0.0, 12.0, "dB");
/// Glue sidechain high-pass corner (below 1 Hz is off).
pub const GLUE_SIDECHAIN_HPF_HZ: Range = Range::new(0.0, 400.0, "Hz");
/// Glue ratio: its steps' span.
pub const GLUE_RATIO: Range = Range::new(GLUE_RATIOS[0], GLUE_RATIOS[GLUE_RATIOS.len() - 1], "");
/// Glue attack: its steps' span.
pub const GLUE_ATTACK_MS: Range = Range::new(
    GLUE_ATTACKS_MS[0],
    GLUE_ATTACKS_MS[GLUE_ATTACKS_MS.len() - 1],
    "ms",
);
/// Glue release: its steps' span.
pub const GLUE_RELEASE_MS: Range = Range::new(
    GLUE_RELEASES_MS[0],
    GLUE_RELEASES_MS[GLUE_RELEASES_MS.len() - 1],
    "ms",
);

// Master width and limiter.
/// Master mono-bass corner (below 1 Hz is off).
pub const MONO_BASS_HZ: Range = Range::new(0.0, 300.0, "Hz");
/// Limiter drive (learn can ask for a cut as well as a push).
pub const LIMITER_DRIVE_DB: Range = Range::new(-12.0, 24.0, "dB");
/// Limiter ceiling.
pub const LIMITER_CEILING_DBTP: Range = Range::new(-12.0, 0.0, "dBTP");
/// Limiter release.
pub const LIMITER_RELEASE_MS: Range = Range::new(1.0, 1_000.0, "ms");
/// The master clipper's level above the limiter's ceiling.
pub const CLIPPER_MARGIN_DB: Range = Range::new(0.0, 6.0, "dB");
/// The Stem Channel's peak control clip level.
pub const PEAK_CONTROL_LEVEL_DBFS: Range = Range::new(-24.0, 0.0, "dBFS");
/// Limiter lookahead (sets the latency).
pub const LIMITER_LOOKAHEAD_MS: Range = Range::new(MIN_LOOKAHEAD_MS, MAX_LOOKAHEAD_MS, "ms");
/// Dither word length (the ditherer's limits).
pub const DITHER_BITS: Range = Range::new(8.0, 24.0, "bits");

// Deliveries of the `stem` tool.
/// A delivery's integrated loudness target.
pub const TARGET_LUFS: Range = Range::new(-70.0, 0.0, "LUFS");
/// A delivery's true-peak ceiling.
pub const DELIVERY_CEILING_DBTP: Range = Range::new(-20.0, 0.0, "dBTP");
/// The TT DR a delivery must exceed (the meter reads 1 to 20 on music).
pub const DR_ABOVE: Range = Range::new(0.0, 20.0, "");

/// What a value must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// A number in the range.
    Span(Range),
    /// 0 (the control is off) or a number in the range.
    OffOr(Range),
    /// A whole number in the range.
    Whole(Range),
    /// One of these whole numbers.
    OneOf(&'static [f32]),
}

impl Rule {
    /// Whether `value` obeys the rule.
    pub fn allows(self, value: f64) -> bool {
        match self {
            Rule::Span(r) => r.contains(value),
            Rule::OffOr(r) => value == 0.0 || r.contains(value),
            Rule::Whole(r) => value.fract() == 0.0 && r.contains(value),
            Rule::OneOf(values) => values.iter().any(|&v| v as f64 == value),
        }
    }
}

/// One numeric setting: its path and rule, and a note for the reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    pub path: &'static str,
    pub rule: Rule,
    pub note: &'static str,
}

const fn f(path: &'static str, rule: Rule, note: &'static str) -> Field {
    Field { path, rule, note }
}

const fn span(path: &'static str, range: Range) -> Field {
    f(path, Rule::Span(range), "")
}

const fn noted(path: &'static str, range: Range, note: &'static str) -> Field {
    f(path, Rule::Span(range), note)
}

const OFF_BELOW_1_HZ: &str = "below 1 Hz is off";
const SNAPPED: &str = "snapped to the nearest step";
const STEM_ONLY: &str = "no plugin control";

/// Every numeric setting of [`super::settings::ChannelSettings`].
pub const CHANNEL_FIELDS: &[Field] = &[
    span("input_trim_db", TRIM_DB),
    span("eq_bands[].freq_hz", EQ_FREQ_HZ),
    span("eq_bands[].gain_db", EQ_GAIN_DB),
    span("eq_bands[].q", EQ_Q),
    span("eq_bands[].dynamic.threshold_db", EQ_DYN_THRESHOLD_DB),
    span("eq_bands[].dynamic.range_db", EQ_DYN_RANGE_DB),
    span("eq_bands[].dynamic.attack_ms", EQ_DYN_ATTACK_MS),
    span("eq_bands[].dynamic.release_ms", EQ_DYN_RELEASE_MS),
    span("compressor.threshold_db", COMP_THRESHOLD_DB),
    span("compressor.ratio", COMP_RATIO),
    span("compressor.knee_db", COMP_KNEE_DB),
    span("compressor.attack_ms", COMP_ATTACK_MS),
    span("compressor.release_ms", COMP_RELEASE_MS),
    noted("compressor.rms_window_ms", COMP_RMS_WINDOW_MS, STEM_ONLY),
    span("compressor.makeup_db", COMP_MAKEUP_DB),
    span("compressor.mix_percent", MIX_PERCENT),
    noted(
        "compressor.sidechain_hpf_hz",
        COMP_SIDECHAIN_HPF_HZ,
        OFF_BELOW_1_HZ,
    ),
    noted("compressor.lookahead_ms", COMP_LOOKAHEAD_MS, STEM_ONLY),
    f(
        "multiband.num_bands",
        Rule::Whole(MB_BANDS),
        "4 bands: no plugin control",
    ),
    span("multiband.crossover_hz[0]", XOVER_LOW_HZ),
    span("multiband.crossover_hz[1]", XOVER_HIGH_HZ),
    noted(
        "multiband.crossover_hz[2]",
        XOVER_HIGH_HZ,
        "used by 4 bands only",
    ),
    span("multiband.bands[].threshold_db", MB_THRESHOLD_DB),
    span("multiband.bands[].ratio", COMP_RATIO),
    span("multiband.bands[].knee_db", COMP_KNEE_DB),
    span("multiband.bands[].attack_ms", COMP_ATTACK_MS),
    span("multiband.bands[].release_ms", COMP_RELEASE_MS),
    noted(
        "multiband.bands[].rms_window_ms",
        COMP_RMS_WINDOW_MS,
        STEM_ONLY,
    ),
    span("multiband.bands[].makeup_db", COMP_MAKEUP_DB),
    noted("multiband.bands[].mix_percent", MIX_PERCENT, STEM_ONLY),
    noted(
        "multiband.bands[].sidechain_hpf_hz",
        COMP_SIDECHAIN_HPF_HZ,
        STEM_ONLY,
    ),
    noted(
        "multiband.bands[].lookahead_ms",
        COMP_LOOKAHEAD_MS,
        "replaced by multiband.lookahead_ms",
    ),
    noted("multiband.lookahead_ms", COMP_LOOKAHEAD_MS, STEM_ONLY),
    span("stereo.width_percent", WIDTH_PERCENT),
    f("stereo.mono_below_hz", Rule::OffOr(MONO_BELOW_HZ), ""),
    span("stereo.balance_percent", BALANCE_PERCENT),
    span("saturation.drive_db", SAT_DRIVE_DB),
    span("saturation.bias", SAT_COLOR),
    span("saturation.mix_percent", MIX_PERCENT),
    span("saturation.output_db", SAT_OUTPUT_DB),
    f(
        "saturation.oversampling",
        Rule::OneOf(SAT_OVERSAMPLING),
        "changes the latency",
    ),
    span("peak_control_level_dbfs", PEAK_CONTROL_LEVEL_DBFS),
    span("output_gain_db", OUTPUT_GAIN_DB),
];

/// Every numeric setting of [`super::settings::MasterSettings`].
pub const MASTER_FIELDS: &[Field] = &[
    span("input_gain_db", TRIM_DB),
    span("glue.threshold_db", GLUE_THRESHOLD_DB),
    noted("glue.ratio", GLUE_RATIO, SNAPPED),
    noted("glue.knee_db", COMP_KNEE_DB, STEM_ONLY),
    noted("glue.attack_ms", GLUE_ATTACK_MS, SNAPPED),
    noted("glue.release_ms", GLUE_RELEASE_MS, SNAPPED),
    noted("glue.rms_window_ms", COMP_RMS_WINDOW_MS, STEM_ONLY),
    span("glue.makeup_db", GLUE_MAKEUP_DB),
    span("glue.mix_percent", MIX_PERCENT),
    noted(
        "glue.sidechain_hpf_hz",
        GLUE_SIDECHAIN_HPF_HZ,
        OFF_BELOW_1_HZ,
    ),
    noted("glue.lookahead_ms", COMP_LOOKAHEAD_MS, STEM_ONLY),
    span("eq_bands[].freq_hz", EQ_FREQ_HZ),
    span("eq_bands[].gain_db", EQ_GAIN_DB),
    span("eq_bands[].q", EQ_Q),
    noted(
        "eq_bands[].dynamic.threshold_db",
        EQ_DYN_THRESHOLD_DB,
        "the master EQ is static",
    ),
    noted(
        "eq_bands[].dynamic.range_db",
        EQ_DYN_RANGE_DB,
        "the master EQ is static",
    ),
    noted(
        "eq_bands[].dynamic.attack_ms",
        EQ_DYN_ATTACK_MS,
        "the master EQ is static",
    ),
    noted(
        "eq_bands[].dynamic.release_ms",
        EQ_DYN_RELEASE_MS,
        "the master EQ is static",
    ),
    span("stereo.width_percent", WIDTH_PERCENT),
    noted("stereo.mono_below_hz", MONO_BASS_HZ, OFF_BELOW_1_HZ),
    noted("stereo.balance_percent", BALANCE_PERCENT, STEM_ONLY),
    noted(
        "limiter.ceiling_dbtp",
        LIMITER_CEILING_DBTP,
        "a render uses the delivery's",
    ),
    noted(
        "limiter.input_gain_db",
        LIMITER_DRIVE_DB,
        "a render finds it for the target",
    ),
    noted(
        "limiter.lookahead_ms",
        LIMITER_LOOKAHEAD_MS,
        "sets the latency",
    ),
    span("limiter.release_ms", LIMITER_RELEASE_MS),
    span("limiter.stereo_link_percent", MIX_PERCENT),
    span("clipper_margin_db", CLIPPER_MARGIN_DB),
    f(
        "dither.bits",
        Rule::Whole(DITHER_BITS),
        "a render uses --bits",
    ),
    span("output_gain_db", OUTPUT_GAIN_DB),
];

/// The numbers of a `stem` preset's `[deliveries.<name>]` table.
pub const DELIVERY_FIELDS: &[Field] = &[
    span("target_lufs", TARGET_LUFS),
    span("ceiling_dbtp", DELIVERY_CEILING_DBTP),
    f("dr_above", Rule::Whole(DR_ABOVE), "vinyl: 10"),
];

/// The field of `fields` at `path` (as in [`Field::path`]).
pub fn field(fields: &'static [Field], path: &str) -> Option<&'static Field> {
    fields.iter().find(|f| f.path == path)
}

#[cfg(test)]
mod tests {
    use super::super::settings::{ChannelSettings, MasterSettings, StemType};
    use super::*;
    use serde_json::Value;

    /// Every numeric leaf of `v` as a table path (`[]` for arrays of tables, `[i]` for
    /// arrays of numbers) with its value.
    fn numeric_leaves(v: &Value, path: &str, out: &mut Vec<(String, f64)>) {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| numeric_leaves(c, &join(k), out)),
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    let seg = if c.is_object() {
                        "[]".to_string()
                    } else {
                        format!("[{i}]")
                    };
                    numeric_leaves(c, &format!("{path}{seg}"), out);
                }
            }
            Value::Number(n) => out.push((path.to_string(), n.as_f64().unwrap())),
            _ => {}
        }
    }

    /// The table lists every numeric setting once, nothing else, and every starting point of
    /// ours obeys it (so a preset saved from them passes).
    fn check_table(fields: &'static [Field], values: &[Value]) {
        let mut paths: Vec<&str> = fields.iter().map(|f| f.path).collect();
        paths.sort();
        let before = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), before, "a path listed twice");
        for v in values {
            let mut leaves = Vec::new();
            numeric_leaves(v, "", &mut leaves);
            let mut leaf_paths: Vec<&str> = leaves.iter().map(|l| l.0.as_str()).collect();
            leaf_paths.sort();
            leaf_paths.dedup();
            assert_eq!(leaf_paths, paths);
            for (path, value) in &leaves {
                let f = field(fields, path).unwrap();
                assert!(
                    f.rule.allows(*value),
                    "{path} = {value} breaks {:?}",
                    f.rule
                );
            }
        }
    }

    #[test]
    fn channel_table_covers_every_setting_and_the_starting_points() {
        let values: Vec<Value> = StemType::ALL
            .iter()
            .map(|&t| serde_json::to_value(ChannelSettings::for_stem(t)).unwrap())
            .collect();
        check_table(CHANNEL_FIELDS, &values);
    }

    #[test]
    fn master_table_covers_every_setting_and_the_defaults() {
        check_table(
            MASTER_FIELDS,
            &[serde_json::to_value(MasterSettings::default()).unwrap()],
        );
    }

    #[test]
    fn rules_take_their_ends_and_nothing_outside() {
        let r = Rule::Span(EQ_FREQ_HZ);
        assert!(r.allows(10.0) && r.allows(22_000.0));
        assert!(!r.allows(0.0) && !r.allows(1e12) && !r.allows(f64::NAN));
        let off = Rule::OffOr(MONO_BELOW_HZ);
        assert!(off.allows(0.0) && off.allows(20.0) && !off.allows(10.0));
        let whole = Rule::Whole(MB_BANDS);
        assert!(whole.allows(4.0) && !whole.allows(2.5) && !whole.allows(5.0));
        let one_of = Rule::OneOf(SAT_OVERSAMPLING);
        assert!(one_of.allows(2.0) && !one_of.allows(3.0));
    }
}
