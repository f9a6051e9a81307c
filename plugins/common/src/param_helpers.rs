//! Generic parameter constructors both plugins build their parameter lists from: a dB gain, a
//! linearly or geometrically skewed float with its unit, typed-value parsers, and the one-gesture
//! host write. The EQ band parameters ([`crate::eq_params`]) and each plugin's `params.rs` use
//! them, so every control of a kind smooths, prints and parses the same way.

use nice_plug::prelude::*;
use std::sync::Arc;

/// Smoothing time of gains and every linearly smoothed parameter (dB, percent), in ms. 20 ms
/// ramps a full-range jump without zipper noise yet lets automation follow a fader move closely.
pub const GAIN_SMOOTHING_MS: f32 = 20.0;
/// Smoothing time of logarithmically smoothed parameters (frequency, Q, times), in ms.
pub const LOG_SMOOTHING_MS: f32 = 20.0;

/// The parser type nice-plug's `with_string_to_value` takes.
pub type StringToValue = Arc<dyn Fn(&str) -> Option<f32> + Send + Sync>;

/// Parses a number with an optional unit suffix (case-insensitive, e.g. "-6 dB", "12ms",
/// "+3.5"), so typed values work with or without the unit.
pub fn s2v_with_unit(unit: &'static str) -> StringToValue {
    s2v_with_unit_or_off(unit, None)
}

/// [`s2v_with_unit`] that also takes "off" as `off_value` (for controls whose lowest value
/// switches them off).
pub fn s2v_with_unit_or_off(unit: &'static str, off_value: Option<f32>) -> StringToValue {
    Arc::new(move |text: &str| {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        if off_value.is_some() && lower == "off" {
            return off_value;
        }
        let unit = unit.trim().to_ascii_lowercase();
        let number = if !unit.is_empty() && lower.ends_with(&unit) {
            &text[..text.len() - unit.len()]
        } else {
            text
        };
        number.trim().trim_start_matches('+').parse().ok()
    })
}

/// Skew factor that puts the geometric mean of `min..max` at the middle of a skewed range
/// (`normalized = ((x - min) / (max - min))^factor`), so a knob sweeps octaves evenly.
pub fn geometric_skew(min: f32, max: f32) -> f32 {
    let centre = (min * max).sqrt();
    0.5f32.ln() / ((centre - min) / (max - min)).ln()
}

/// A float parameter in `unit` over a skewed range centred geometrically (for frequencies,
/// Q and times), smoothed logarithmically.
pub fn log_param(
    name: impl Into<String>,
    default: f32,
    range: (f32, f32),
    unit: &'static str,
) -> FloatParam {
    let float_range = FloatRange::Skewed {
        min: range.0,
        max: range.1,
        factor: geometric_skew(range.0, range.1),
    };
    let smoothing = SmoothingStyle::Logarithmic(LOG_SMOOTHING_MS);
    unit_param(name, default, range, float_range, smoothing, unit)
}

/// A float parameter in `unit` over a linear range, smoothed linearly (dB, percent).
pub fn linear_param(
    name: impl Into<String>,
    default: f32,
    range: (f32, f32),
    unit: &'static str,
) -> FloatParam {
    let float_range = FloatRange::Linear {
        min: range.0,
        max: range.1,
    };
    let smoothing = SmoothingStyle::Linear(GAIN_SMOOTHING_MS);
    unit_param(name, default, range, float_range, smoothing, unit)
}

/// What [`log_param`] and [`linear_param`] share: the default clamped into `range`, values
/// printed to two decimals and typed with or without `unit`.
fn unit_param(
    name: impl Into<String>,
    default: f32,
    range: (f32, f32),
    float_range: FloatRange,
    smoothing: SmoothingStyle,
    unit: &'static str,
) -> FloatParam {
    FloatParam::new(name, default.clamp(range.0, range.1), float_range)
        .with_smoother(smoothing)
        .with_unit(unit)
        .with_value_to_string(formatters::v2s_f32_rounded(2))
        .with_string_to_value(s2v_with_unit(unit))
}

/// A gain parameter in dB over `min_db..=max_db`, linear in dB so the range's midpoint, a host's
/// "reset to default" and typed values land on exact dB figures (0 dB is exactly unity). The dB
/// value is smoothed linearly, which makes the gain ramp geometric: even-sounding in level.
pub fn gain_db_param(name: &str, default_db: f32, min_db: f32, max_db: f32) -> FloatParam {
    linear_param(name, default_db, (min_db, max_db), " dB")
}

/// Sets one parameter through the host as a complete gesture.
pub fn set_param<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// Both `From` conversions between a parameter enum (nice-plug's `#[derive(Enum)]`, with the ids
/// and names a host shows) and the `shared-dsp` enum it mirrors, variant for variant of the same
/// name, so the two lists cannot drift apart.
#[macro_export]
macro_rules! mirror_enum {
    ($param:ty, $dsp:ident { $($variant:ident),+ $(,)? }) => {
        impl From<$param> for $dsp {
            fn from(value: $param) -> Self {
                match value {
                    $(<$param>::$variant => $dsp::$variant,)+
                }
            }
        }

        impl From<$dsp> for $param {
            fn from(value: $dsp) -> Self {
                match value {
                    $($dsp::$variant => <$param>::$variant,)+
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_parse_with_or_without_units() {
        let p = s2v_with_unit(" ms");
        assert_eq!(p("12 ms"), Some(12.0));
        assert_eq!(p("12ms"), Some(12.0));
        assert_eq!(p("+3.5"), Some(3.5));
        assert_eq!(s2v_with_unit(" dB")("-6 DB"), Some(-6.0));
        assert_eq!(p("fast"), None);
    }

    /// The gain parameter reads the spellings the dB-only parser took before it shared
    /// [`s2v_with_unit`], and prints and ranges as before.
    #[test]
    fn gain_parameter_parses_db_and_spans_its_range() {
        let p = gain_db_param("Gain", 0.0, -24.0, 24.0);
        for (text, want) in [
            ("-6", -6.0),
            ("-6 dB", -6.0),
            ("-6dB", -6.0),
            ("+3.5 db", 3.5),
        ] {
            assert_eq!(
                p.string_to_normalized_value(text),
                Some(p.preview_normalized(want))
            );
        }
        assert_eq!(p.preview_plain(0.0), -24.0);
        assert_eq!(p.preview_plain(0.5), 0.0);
        assert_eq!(p.preview_plain(1.0), 24.0);
        assert_eq!(p.unit(), " dB");
    }
}
