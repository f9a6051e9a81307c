//! Parameters of one parametric EQ band and of an 8-band EQ, mapped onto
//! [`shared_dsp::eq::BandSettings`]. Shared by Stem Channel and Stem Master.
//!
//! Ids are short and never renamed; the band array adds `_1` .. `_8` (nice-plug's
//! `#[nested(array)]`), so band 3's frequency is `eq_freq_3`, in the host group "EQ Band 3".
//! Frequency, Q and times smooth logarithmically, gains and thresholds linearly in dB (which is
//! geometric in amplitude), so automation sounds even across the range.

use crate::mirror_enum;
use crate::param_helpers::{linear_param, log_param, set_param};
use nice_plug::prelude::*;
use shared_dsp::chain::ranges::{
    EQ_DYN_ATTACK_MS, EQ_DYN_RANGE_DB, EQ_DYN_RELEASE_MS, EQ_DYN_THRESHOLD_DB, EQ_FREQ_HZ,
    EQ_GAIN_DB, EQ_Q,
};
use shared_dsp::eq::{BandKind, BandSettings, DynamicSettings, Placement};
use shared_dsp::filter::Slope;

/// Bands in an [`EqParams`] (both plugins have 8; `shared_dsp::chain::settings::CHANNEL_EQ_BANDS`
/// and `MASTER_EQ_BANDS`).
pub const EQ_BANDS: usize = 8;
/// Band shape (mirrors [`BandKind`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandType {
    #[id = "bell"]
    Bell,
    #[id = "lshelf"]
    #[name = "Low Shelf"]
    LowShelf,
    #[id = "hshelf"]
    #[name = "High Shelf"]
    HighShelf,
    #[id = "notch"]
    Notch,
    #[id = "bpass"]
    #[name = "Band Pass"]
    BandPass,
    #[id = "tilt"]
    Tilt,
    #[id = "hpass"]
    #[name = "High Pass"]
    HighPass,
    #[id = "lpass"]
    #[name = "Low Pass"]
    LowPass,
}

mirror_enum! { BandType, BandKind { Bell, LowShelf, HighShelf, Notch, BandPass, Tilt, HighPass, LowPass } }

/// High/low-pass slope (mirrors [`Slope`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlopeType {
    #[id = "6"]
    #[name = "6 dB/oct"]
    Db6,
    #[id = "12"]
    #[name = "12 dB/oct"]
    Db12,
    #[id = "18"]
    #[name = "18 dB/oct"]
    Db18,
    #[id = "24"]
    #[name = "24 dB/oct"]
    Db24,
    #[id = "36"]
    #[name = "36 dB/oct"]
    Db36,
    #[id = "48"]
    #[name = "48 dB/oct"]
    Db48,
}

mirror_enum! { SlopeType, Slope { Db6, Db12, Db18, Db24, Db36, Db48 } }

/// Which signal a band acts on (mirrors [`Placement`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementType {
    #[id = "st"]
    Stereo,
    #[id = "l"]
    Left,
    #[id = "r"]
    Right,
    #[id = "m"]
    Mid,
    #[id = "s"]
    Side,
}

mirror_enum! { PlacementType, Placement { Stereo, Left, Right, Mid, Side } }

/// One EQ band.
#[derive(Params)]
pub struct EqBandParams {
    #[id = "eq_on"]
    pub enabled: BoolParam,
    #[id = "eq_type"]
    pub kind: EnumParam<BandType>,
    #[id = "eq_freq"]
    pub freq_hz: FloatParam,
    #[id = "eq_gain"]
    pub gain_db: FloatParam,
    #[id = "eq_q"]
    pub q: FloatParam,
    #[id = "eq_slope"]
    pub slope: EnumParam<SlopeType>,
    #[id = "eq_place"]
    pub placement: EnumParam<PlacementType>,
    #[id = "eq_dyn"]
    pub dynamic: BoolParam,
    #[id = "eq_thr"]
    pub dyn_threshold_db: FloatParam,
    #[id = "eq_rng"]
    pub dyn_range_db: FloatParam,
    #[id = "eq_atk"]
    pub dyn_attack_ms: FloatParam,
    #[id = "eq_rel"]
    pub dyn_release_ms: FloatParam,
}

impl EqBandParams {
    /// Band `index` (0-based; names show it 1-based) starting at `defaults`.
    pub fn new(index: usize, defaults: &BandSettings) -> Self {
        let n = index + 1;
        let d = defaults;
        let dy = &d.dynamic;
        Self {
            enabled: BoolParam::new(format!("EQ {n} On"), d.enabled),
            kind: EnumParam::new(format!("EQ {n} Type"), BandType::from(d.kind)),
            // The formatter writes the unit (Hz or kHz) itself.
            freq_hz: log_param(format!("EQ {n} Freq"), d.freq_hz, EQ_FREQ_HZ.bounds(), "")
                .with_value_to_string(formatters::v2s_f32_hz_then_khz(2))
                .with_string_to_value(formatters::s2v_f32_hz_then_khz()),
            gain_db: linear_param(
                format!("EQ {n} Gain"),
                d.gain_db,
                EQ_GAIN_DB.bounds(),
                " dB",
            ),
            q: log_param(format!("EQ {n} Q"), d.q, EQ_Q.bounds(), ""),
            slope: EnumParam::new(format!("EQ {n} Slope"), SlopeType::from(d.slope)),
            placement: EnumParam::new(
                format!("EQ {n} Placement"),
                PlacementType::from(d.placement),
            ),
            dynamic: BoolParam::new(format!("EQ {n} Dynamic"), dy.enabled),
            dyn_threshold_db: linear_param(
                format!("EQ {n} Dyn Threshold"),
                dy.threshold_db,
                EQ_DYN_THRESHOLD_DB.bounds(),
                " dB",
            ),
            dyn_range_db: linear_param(
                format!("EQ {n} Dyn Range"),
                dy.range_db,
                EQ_DYN_RANGE_DB.bounds(),
                " dB",
            ),
            dyn_attack_ms: log_param(
                format!("EQ {n} Dyn Attack"),
                dy.attack_ms,
                EQ_DYN_ATTACK_MS.bounds(),
                " ms",
            ),
            dyn_release_ms: log_param(
                format!("EQ {n} Dyn Release"),
                dy.release_ms,
                EQ_DYN_RELEASE_MS.bounds(),
                " ms",
            ),
        }
    }

    /// The band with the parameters' target values (unsmoothed: editor curves, presets).
    pub fn to_band_settings(&self) -> BandSettings {
        BandSettings {
            enabled: self.enabled.value(),
            kind: self.kind.value().into(),
            freq_hz: self.freq_hz.value(),
            gain_db: self.gain_db.value(),
            q: self.q.value(),
            slope: self.slope.value().into(),
            placement: self.placement.value().into(),
            dynamic: DynamicSettings {
                enabled: self.dynamic.value(),
                threshold_db: self.dyn_threshold_db.value(),
                range_db: self.dyn_range_db.value(),
                attack_ms: self.dyn_attack_ms.value(),
                release_ms: self.dyn_release_ms.value(),
            },
        }
    }

    /// The band with the smoothed values `steps` samples on (audio thread; advances the
    /// smoothers).
    pub fn next_band_settings(&self, steps: u32) -> BandSettings {
        BandSettings {
            freq_hz: self.freq_hz.smoothed.next_step(steps),
            gain_db: self.gain_db.smoothed.next_step(steps),
            q: self.q.smoothed.next_step(steps),
            dynamic: DynamicSettings {
                threshold_db: self.dyn_threshold_db.smoothed.next_step(steps),
                range_db: self.dyn_range_db.smoothed.next_step(steps),
                attack_ms: self.dyn_attack_ms.smoothed.next_step(steps),
                release_ms: self.dyn_release_ms.smoothed.next_step(steps),
                ..self.to_band_settings().dynamic
            },
            ..self.to_band_settings()
        }
    }

    /// Jumps every smoother to its target (from `reset()`).
    pub fn reset_smoothers(&self) {
        for p in self.smoothed_params() {
            p.smoothed.reset(p.value());
        }
    }

    fn smoothed_params(&self) -> [&FloatParam; 7] {
        [
            &self.freq_hz,
            &self.gain_db,
            &self.q,
            &self.dyn_threshold_db,
            &self.dyn_range_db,
            &self.dyn_attack_ms,
            &self.dyn_release_ms,
        ]
    }

    /// Writes `band` through `setter` (GUI thread: presets, stem-type starting points), each
    /// parameter as one host gesture.
    pub fn set_from(&self, setter: &ParamSetter, band: &BandSettings) {
        set_param(setter, &self.enabled, band.enabled);
        set_param(setter, &self.kind, BandType::from(band.kind));
        set_param(setter, &self.freq_hz, band.freq_hz);
        set_param(setter, &self.gain_db, band.gain_db);
        set_param(setter, &self.q, band.q);
        set_param(setter, &self.slope, SlopeType::from(band.slope));
        set_param(setter, &self.placement, PlacementType::from(band.placement));
        let dy = &band.dynamic;
        set_param(setter, &self.dynamic, dy.enabled);
        set_param(setter, &self.dyn_threshold_db, dy.threshold_db);
        set_param(setter, &self.dyn_range_db, dy.range_db);
        set_param(setter, &self.dyn_attack_ms, dy.attack_ms);
        set_param(setter, &self.dyn_release_ms, dy.release_ms);
    }
}

/// An 8-band EQ.
#[derive(Params)]
pub struct EqParams {
    #[nested(array, group = "EQ Band")]
    pub bands: [EqBandParams; EQ_BANDS],
}

impl EqParams {
    /// An EQ starting at `defaults`.
    pub fn new(defaults: &[BandSettings; EQ_BANDS]) -> Self {
        Self {
            bands: std::array::from_fn(|i| EqBandParams::new(i, &defaults[i])),
        }
    }

    /// Target values of every band (unsmoothed).
    pub fn to_band_settings(&self) -> [BandSettings; EQ_BANDS] {
        std::array::from_fn(|i| self.bands[i].to_band_settings())
    }

    /// Smoothed values of every band `steps` samples on (audio thread).
    pub fn next_band_settings(&self, steps: u32) -> [BandSettings; EQ_BANDS] {
        std::array::from_fn(|i| self.bands[i].next_band_settings(steps))
    }

    /// Jumps every smoother to its target.
    pub fn reset_smoothers(&self) {
        self.bands.iter().for_each(EqBandParams::reset_smoothers);
    }

    /// Writes every band through `setter` (GUI thread).
    pub fn set_from(&self, setter: &ParamSetter, bands: &[BandSettings; EQ_BANDS]) {
        for (p, b) in self.bands.iter().zip(bands) {
            p.set_from(setter, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_the_shared_dsp_types() {
        for k in [
            BandKind::Bell,
            BandKind::LowShelf,
            BandKind::HighShelf,
            BandKind::Notch,
            BandKind::BandPass,
            BandKind::Tilt,
            BandKind::HighPass,
            BandKind::LowPass,
        ] {
            assert_eq!(BandKind::from(BandType::from(k)), k);
        }
        for s in [
            Slope::Db6,
            Slope::Db12,
            Slope::Db18,
            Slope::Db24,
            Slope::Db36,
            Slope::Db48,
        ] {
            assert_eq!(Slope::from(SlopeType::from(s)), s);
        }
        for p in [
            Placement::Stereo,
            Placement::Left,
            Placement::Right,
            Placement::Mid,
            Placement::Side,
        ] {
            assert_eq!(Placement::from(PlacementType::from(p)), p);
        }
    }

    /// Defaults map back to the band they were built from, and every id is unique.
    #[test]
    fn defaults_round_trip_and_ids_are_unique() {
        let band = BandSettings {
            placement: Placement::Side,
            dynamic: DynamicSettings {
                enabled: true,
                threshold_db: -30.0,
                range_db: -3.0,
                attack_ms: 5.0,
                release_ms: 80.0,
            },
            ..BandSettings::new(BandKind::HighShelf, 12_000.0, 1.5, 0.7)
        };
        let bands = [band; EQ_BANDS];
        let eq = EqParams::new(&bands);
        for b in eq.to_band_settings() {
            assert_eq!(b.kind, band.kind);
            assert_eq!(b.placement, band.placement);
            assert_eq!(b.dynamic.enabled, band.dynamic.enabled);
            for (got, want) in [
                (b.freq_hz, band.freq_hz),
                (b.gain_db, band.gain_db),
                (b.q, band.q),
                (b.dynamic.threshold_db, band.dynamic.threshold_db),
                (b.dynamic.attack_ms, band.dynamic.attack_ms),
            ] {
                assert!((got - want).abs() <= 1e-4 * want.abs(), "{got} vs {want}");
            }
        }
        let ids: Vec<String> = eq.param_map().into_iter().map(|(id, _, _)| id).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(ids.len(), 12 * EQ_BANDS);
        assert!(ids.contains(&"eq_freq_3".to_string()), "{ids:?}");
    }
}
