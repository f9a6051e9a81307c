//! Stem Master parameters. The string ids are the plugin's contract with every saved host
//! session and automation lane: they are short and never renamed. Sections live in nested
//! groups; ranges come from `shared_dsp::chain::ranges` (the table `stem` checks presets
//! against), steps from the compressor's `GLUE_*` constants.
//!
//! The parameters go to the chain as plain targets ([`StemMasterParams::settings`]): the chain
//! smooths them itself (`shared_dsp::chain::smoothing`: levels and mixes linearly in their
//! unit, frequencies and times geometrically, EQ bands by the EQ, gains ramped per sample), so
//! the `stem` tool renders automation exactly as the plugin plays it, whatever the host's block
//! sizes. Two settings never glide: the limiter's lookahead and the EQ mode set the plugin's
//! latency, and a latency that glides would make the host re-align on every step; the
//! lookahead applies at once, the EQ mode goes through the EQ's bypass (a few cross-fades,
//! `MasterChain::set_settings`), and the new latency is reported as soon as the chain has it.

use crate::reference::settings::ReferenceSettings;
use nice_plug::prelude::*;
use shared_dsp::chain::ranges::{
    CLIPPER_MARGIN_DB, GLUE_MAKEUP_DB, GLUE_SIDECHAIN_HPF_HZ, GLUE_THRESHOLD_DB,
    LIMITER_CEILING_DBTP, LIMITER_DRIVE_DB, LIMITER_LOOKAHEAD_MS, LIMITER_RELEASE_MS, MIX_PERCENT,
    MONO_BASS_HZ, WIDTH_PERCENT,
};
use shared_dsp::chain::settings::{LoudnessTarget, MasterEqMode, MasterSettings, LOUDNESS_TARGETS};
use shared_dsp::dither::{DitherMode, DitherSettings};
use shared_dsp::dynamics::compressor::{GLUE_ATTACKS_MS, GLUE_RATIOS, GLUE_RELEASES_MS};
use shared_dsp::dynamics::{CompressorSettings, CompressorStyle, LimiterSettings};
use shared_dsp::eq::{BandKind, BandSettings};
use shared_dsp::stereo::StereoSettings;
use std::sync::Arc;
use stem_plugin_common::link_session::LinkSettings;
use stem_plugin_common::param_helpers::{
    geometric_skew, linear_param, log_param, s2v_with_unit, s2v_with_unit_or_off,
};
use stem_plugin_common::widgets::EditorSize;
use stem_plugin_common::{EqParams, InputParams, OutputParams, EQ_BANDS};

#[derive(Params)]
pub struct StemMasterParams {
    /// The host's bypass switch (plain bypass; for a loudness-matched comparison use
    /// [`Self::compare`]).
    #[id = "bypass"]
    pub bypass: BoolParam,

    #[nested(group = "Input")]
    pub input: InputParams,

    /// The 10 Hz DC/subsonic filter after the input trim.
    #[id = "dc_on"]
    pub dc_filter: BoolParam,

    #[nested(group = "Glue")]
    pub glue: GlueParams,

    #[nested(group = "EQ")]
    pub eq: MasterEqParams,

    /// The eight EQ bands: the channel EQ's band parameters (`eq_on_1` .. `eq_rel_8`), so
    /// bands, ranges and presets are the same in both plugins. The master EQ follows each
    /// band's static curve in every mode; the dynamic-band controls have no effect here (a
    /// dynamic band would need a time-varying FIR, and switching mode must not change the
    /// curve).
    #[nested]
    pub eq_bands: EqParams,

    #[nested(group = "Width")]
    pub width: WidthParams,

    #[nested(group = "Limiter")]
    pub limiter: LimiterParams,

    #[nested(group = "Dither")]
    pub dither: DitherParams,

    #[nested(group = "Output")]
    pub output: OutputParams,

    #[nested(group = "Loudness")]
    pub loudness: LoudnessParams,

    /// The editor window's size, saved with the session.
    #[persist = "editor-size"]
    pub editor_size: EditorSize,

    /// The reference player's files, loops, active slot and mode (not the audio).
    #[persist = "reference"]
    pub reference: ReferenceSettings,

    /// The Stem Link group this master joins (the overview itself is never saved).
    #[persist = "link"]
    pub link: Arc<LinkSettings>,
}

impl Default for StemMasterParams {
    fn default() -> Self {
        StemMasterParams {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            input: InputParams::default(),
            dc_filter: BoolParam::new("DC Filter", MasterSettings::default().dc_filter_enabled),
            glue: GlueParams::default(),
            eq: MasterEqParams::default(),
            eq_bands: EqParams::new(&master_eq_defaults()),
            width: WidthParams::default(),
            limiter: LimiterParams::default(),
            dither: DitherParams::default(),
            output: OutputParams::default(),
            loudness: LoudnessParams::default(),
            link: Arc::new(LinkSettings::default()),
            editor_size: EditorSize::default(),
            reference: ReferenceSettings::default(),
        }
    }
}

/// The formatter type nice-plug's `with_value_to_string` takes.
type ValueToString = Arc<dyn Fn(f32) -> String + Send + Sync>;

/// "Off" at or below `off_below`, else the value with `unit` (written here, not by
/// `with_unit`, so "Off" stands alone).
fn v2s_or_off(off_below: f32, decimals: usize, unit: &'static str) -> ValueToString {
    Arc::new(move |v: f32| {
        if v <= off_below {
            "Off".to_string()
        } else {
            format!("{v:.decimals$}{unit}")
        }
    })
}

/// A frequency from 0 (off) up, skewed towards the low end (the chain glides it
/// geometrically, jumping to and from 0).
fn hz_or_off(name: &str, default: f32, range: (f32, f32)) -> FloatParam {
    FloatParam::new(
        name,
        default,
        FloatRange::Skewed {
            min: range.0,
            max: range.1,
            factor: FloatRange::skew_factor(-1.5),
        },
    )
    .with_value_to_string(v2s_or_off(1.0, 1, " Hz"))
    .with_string_to_value(s2v_with_unit_or_off("hz", Some(0.0)))
}

/// Glue ratio steps ([`GLUE_RATIOS`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlueRatio {
    #[id = "2"]
    #[name = "2:1"]
    R2,
    #[id = "4"]
    #[name = "4:1"]
    R4,
    #[id = "10"]
    #[name = "10:1"]
    R10,
}

impl GlueRatio {
    pub fn ratio(self) -> f32 {
        GLUE_RATIOS[self as usize]
    }
}

/// Glue attack steps ([`GLUE_ATTACKS_MS`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlueAttack {
    #[id = "0.1"]
    #[name = "0.1 ms"]
    A0_1,
    #[id = "0.3"]
    #[name = "0.3 ms"]
    A0_3,
    #[id = "1"]
    #[name = "1 ms"]
    A1,
    #[id = "3"]
    #[name = "3 ms"]
    A3,
    #[id = "10"]
    #[name = "10 ms"]
    A10,
    #[id = "30"]
    #[name = "30 ms"]
    A30,
}

impl GlueAttack {
    pub fn attack_ms(self) -> f32 {
        GLUE_ATTACKS_MS[self as usize]
    }
}

/// Glue release steps ([`GLUE_RELEASES_MS`]) and auto.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlueRelease {
    #[id = "0.1"]
    #[name = "0.1 s"]
    R0_1,
    #[id = "0.3"]
    #[name = "0.3 s"]
    R0_3,
    #[id = "0.6"]
    #[name = "0.6 s"]
    R0_6,
    #[id = "1.2"]
    #[name = "1.2 s"]
    R1_2,
    #[id = "auto"]
    #[name = "Auto"]
    Auto,
}

impl GlueRelease {
    /// Release in ms (the auto release's fast stage uses the 0.3 s step as its base).
    pub fn release_ms(self) -> f32 {
        match self {
            GlueRelease::Auto => GLUE_RELEASES_MS[1],
            r => GLUE_RELEASES_MS[r as usize],
        }
    }
}

/// The glue compressor (SSL-G-bus-style stepped controls).
#[derive(Params)]
pub struct GlueParams {
    #[id = "g_on"]
    pub enabled: BoolParam,
    #[id = "g_thr"]
    pub threshold_db: FloatParam,
    #[id = "g_ratio"]
    pub ratio: EnumParam<GlueRatio>,
    #[id = "g_atk"]
    pub attack: EnumParam<GlueAttack>,
    #[id = "g_rel"]
    pub release: EnumParam<GlueRelease>,
    #[id = "g_mk"]
    pub makeup_db: FloatParam,
    #[id = "g_mix"]
    pub mix_percent: FloatParam,
    #[id = "g_hpf"]
    pub sidechain_hpf_hz: FloatParam,
}

impl Default for GlueParams {
    fn default() -> Self {
        let d = CompressorSettings::master_glue();
        Self {
            enabled: BoolParam::new("Glue", false),
            threshold_db: linear_param(
                "Glue Threshold",
                d.threshold_db,
                GLUE_THRESHOLD_DB.bounds(),
                " dB",
            ),
            ratio: EnumParam::new("Glue Ratio", GlueRatio::R2),
            attack: EnumParam::new("Glue Attack", GlueAttack::A10),
            release: EnumParam::new("Glue Release", GlueRelease::Auto),
            makeup_db: linear_param("Glue Make-up", 0.0, GLUE_MAKEUP_DB.bounds(), " dB"),
            mix_percent: linear_param("Glue Mix", 100.0, MIX_PERCENT.bounds(), " %"),
            sidechain_hpf_hz: hz_or_off("Glue SC High-pass", 0.0, GLUE_SIDECHAIN_HPF_HZ.bounds()),
        }
    }
}

/// EQ mode ([`MasterEqMode`]): zero latency (minimum phase) or linear phase at three FIR
/// lengths; the latency it gives is published in `meters::MasterMeters::eq_latency_ms`.
///
/// Sessions store the variant's id, not its position, so old sessions (saved when the list held
/// only `low`, `med` and `high`) load the same FIR length; zero latency came later and lists
/// first. Ids never change.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EqMode {
    #[id = "zero"]
    #[name = "Zero latency"]
    ZeroLatency,
    #[id = "low"]
    #[name = "Linear Low (4k taps)"]
    LinearLow,
    #[id = "med"]
    #[name = "Linear Medium (16k taps)"]
    LinearMedium,
    #[id = "high"]
    #[name = "Linear High (64k taps)"]
    LinearHigh,
}

impl From<EqMode> for MasterEqMode {
    fn from(mode: EqMode) -> Self {
        match mode {
            EqMode::ZeroLatency => MasterEqMode::ZeroLatency,
            EqMode::LinearLow => MasterEqMode::LinearLow,
            EqMode::LinearMedium => MasterEqMode::LinearMedium,
            EqMode::LinearHigh => MasterEqMode::LinearHigh,
        }
    }
}

const _: () = assert!(EQ_BANDS == shared_dsp::chain::settings::MASTER_EQ_BANDS);

/// Starting points of the master EQ's bands, all off: a low cut, low and high shelves, four
/// bells spread over the decades and a high cut, at the places mastering moves usually sit
/// (the guide: small moves, +-0.5 to 1.5 dB).
pub fn master_eq_defaults() -> [BandSettings; EQ_BANDS] {
    let band = |kind, freq_hz, q| BandSettings {
        enabled: false,
        ..BandSettings::new(kind, freq_hz, 0.0, q)
    };
    [
        band(BandKind::HighPass, 25.0, 0.707),
        band(BandKind::LowShelf, 90.0, 0.707),
        band(BandKind::Bell, 250.0, 1.0),
        band(BandKind::Bell, 800.0, 1.0),
        band(BandKind::Bell, 2_500.0, 1.0),
        band(BandKind::Bell, 6_000.0, 1.0),
        band(BandKind::HighShelf, 12_000.0, 0.707),
        band(BandKind::LowPass, 20_000.0, 0.707),
    ]
}

/// The master EQ's switch and mode (the bands are [`StemMasterParams::eq_bands`]).
#[derive(Params)]
pub struct MasterEqParams {
    #[id = "eq_en"]
    pub enabled: BoolParam,
    /// The id dates from when this only chose the linear-phase FIR length.
    #[id = "eq_qual"]
    pub mode: EnumParam<EqMode>,
}

impl Default for MasterEqParams {
    fn default() -> Self {
        Self {
            enabled: BoolParam::new("EQ", false),
            mode: EnumParam::new("EQ Mode", EqMode::ZeroLatency),
        }
    }
}

/// Width (M/S) and mono bass.
#[derive(Params)]
pub struct WidthParams {
    #[id = "w_on"]
    pub enabled: BoolParam,
    #[id = "w_width"]
    pub width_percent: FloatParam,
    #[id = "w_mono"]
    pub mono_below_hz: FloatParam,
}

impl Default for WidthParams {
    fn default() -> Self {
        Self {
            enabled: BoolParam::new("Width", false),
            width_percent: linear_param("Width Amount", 100.0, WIDTH_PERCENT.bounds(), " %"),
            mono_below_hz: hz_or_off("Mono Bass Below", 0.0, MONO_BASS_HZ.bounds()),
        }
    }
}

/// The true-peak limiter.
#[derive(Params)]
pub struct LimiterParams {
    #[id = "l_on"]
    pub enabled: BoolParam,
    /// Drive into the limiter (what "learn" sets).
    #[id = "l_gain"]
    pub gain_db: FloatParam,
    /// Ceiling used when [`Self::ceiling_from_target`] is off.
    #[id = "l_ceil"]
    pub ceiling_dbtp: FloatParam,
    /// Use the selected loudness target's ceiling (-1 dBTP, vinyl -3 dBTP).
    #[id = "l_tceil"]
    pub ceiling_from_target: BoolParam,
    #[id = "l_rel"]
    pub release_ms: FloatParam,
    #[id = "l_auto"]
    pub auto_release: BoolParam,
    /// Not smoothed: it sets the latency.
    #[id = "l_look"]
    pub lookahead_ms: FloatParam,
    #[id = "l_link"]
    pub link_percent: FloatParam,
    /// The soft clipper between the drive and the limiter.
    #[id = "clip_on"]
    pub clipper: BoolParam,
    /// The clipper's level above the ceiling.
    #[id = "clip_lvl"]
    pub clipper_margin_db: FloatParam,
}

impl Default for LimiterParams {
    fn default() -> Self {
        let master = MasterSettings::default();
        let d = master.limiter;
        Self {
            enabled: BoolParam::new("Limiter", true),
            gain_db: linear_param(
                "Limiter Gain",
                d.input_gain_db,
                LIMITER_DRIVE_DB.bounds(),
                " dB",
            ),
            ceiling_dbtp: linear_param(
                "Ceiling",
                d.ceiling_dbtp,
                LIMITER_CEILING_DBTP.bounds(),
                " dBTP",
            ),
            ceiling_from_target: BoolParam::new("Ceiling From Target", true),
            release_ms: log_param(
                "Limiter Release",
                d.release_ms,
                LIMITER_RELEASE_MS.bounds(),
                " ms",
            ),
            auto_release: BoolParam::new("Auto Release", d.auto_release),
            lookahead_ms: FloatParam::new(
                "Lookahead",
                d.lookahead_ms,
                FloatRange::Skewed {
                    min: LIMITER_LOOKAHEAD_MS.min,
                    max: LIMITER_LOOKAHEAD_MS.max,
                    factor: geometric_skew(LIMITER_LOOKAHEAD_MS.min, LIMITER_LOOKAHEAD_MS.max),
                },
            )
            .with_unit(" ms")
            .with_value_to_string(formatters::v2s_f32_rounded(2))
            .with_string_to_value(s2v_with_unit("ms")),
            link_percent: linear_param(
                "Stereo Link",
                d.stereo_link_percent,
                MIX_PERCENT.bounds(),
                " %",
            ),
            clipper: BoolParam::new("Clipper", master.clipper_enabled),
            clipper_margin_db: linear_param(
                "Clip Level",
                master.clipper_margin_db,
                CLIPPER_MARGIN_DB.bounds(),
                " dB",
            ),
        }
    }
}

/// Dither type.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DitherType {
    #[id = "off"]
    #[name = "Off"]
    Off,
    #[id = "tpdf"]
    #[name = "TPDF"]
    Tpdf,
    #[id = "shaped"]
    #[name = "Noise-shaped TPDF"]
    NoiseShaped,
}

/// Output word length.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordLength {
    #[id = "16"]
    #[name = "16 bit"]
    Bits16,
    #[id = "24"]
    #[name = "24 bit"]
    Bits24,
}

/// Dither and word length for delivery.
#[derive(Params)]
pub struct DitherParams {
    #[id = "d_mode"]
    pub mode: EnumParam<DitherType>,
    #[id = "d_bits"]
    pub bits: EnumParam<WordLength>,
}

impl Default for DitherParams {
    fn default() -> Self {
        Self {
            mode: EnumParam::new("Dither", DitherType::Off),
            bits: EnumParam::new("Word Length", WordLength::Bits24),
        }
    }
}

impl DitherParams {
    pub fn settings(&self) -> DitherSettings {
        DitherSettings {
            mode: match self.mode.value() {
                DitherType::Off => DitherMode::Off,
                DitherType::Tpdf => DitherMode::Tpdf,
                DitherType::NoiseShaped => DitherMode::NoiseShaped,
            },
            bits: match self.bits.value() {
                WordLength::Bits16 => 16,
                WordLength::Bits24 => 24,
            },
        }
    }
}

/// Loudness target presets, in the order of [`LOUDNESS_TARGETS`] (ids are its names).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPreset {
    #[id = "pop-rnb"]
    #[name = "Pop / R&B (-14 LUFS)"]
    PopRnb,
    #[id = "hip-hop"]
    #[name = "Hip-hop / Trap (-12.5 LUFS)"]
    HipHop,
    #[id = "club"]
    #[name = "Club (-8 LUFS)"]
    Club,
    #[id = "rock"]
    #[name = "Rock (-13.5 LUFS)"]
    Rock,
    #[id = "cinematic"]
    #[name = "Cinematic (-16 LUFS)"]
    Cinematic,
    #[id = "singer-songwriter"]
    #[name = "Singer-songwriter (-17 LUFS)"]
    SingerSongwriter,
    #[id = "streaming"]
    #[name = "Streaming (-14 LUFS, -1 dBTP)"]
    Streaming,
    #[id = "vinyl"]
    #[name = "Vinyl (-16 LUFS, -3 dBTP)"]
    Vinyl,
}

impl TargetPreset {
    /// The target this preset selects.
    pub fn target(self) -> &'static LoudnessTarget {
        &LOUDNESS_TARGETS[self as usize]
    }
}

/// Loudness target, learn and the loudness-matched comparison.
#[derive(Params)]
pub struct LoudnessParams {
    #[id = "target"]
    pub target: EnumParam<TargetPreset>,
    /// On: measure the output's integrated loudness while playing; off again: set the
    /// limiter gain so the master lands on the target (the editor writes it to
    /// [`LimiterParams::gain_db`]; see `meters::MasterMeters::learn_result_db`).
    #[id = "learn"]
    pub learn: BoolParam,
    /// Loudness-matched A/B: hear the unprocessed input at the processed loudness.
    #[id = "ab"]
    pub compare: BoolParam,
}

impl Default for LoudnessParams {
    fn default() -> Self {
        Self {
            target: EnumParam::new("Target", TargetPreset::Streaming),
            learn: BoolParam::new("Learn", false),
            compare: BoolParam::new("Loudness-matched A/B", false),
        }
    }
}

impl StemMasterParams {
    /// The chain settings the parameters ask for (plain targets: the chain smooths them).
    pub fn settings(&self, settings: &mut MasterSettings) {
        let g = &self.glue;
        let release = g.release.value();
        settings.input_gain_db = self.input.trim.value();
        settings.glue_enabled = g.enabled.value();
        settings.glue = CompressorSettings {
            style: CompressorStyle::Glue,
            threshold_db: g.threshold_db.value(),
            ratio: g.ratio.value().ratio(),
            attack_ms: g.attack.value().attack_ms(),
            release_ms: release.release_ms(),
            auto_release: release == GlueRelease::Auto,
            makeup_db: g.makeup_db.value(),
            mix_percent: g.mix_percent.value(),
            sidechain_hpf_hz: off_below_one(g.sidechain_hpf_hz.value()),
            ..CompressorSettings::master_glue()
        };
        settings.eq_enabled = self.eq.enabled.value();
        settings.eq_mode = self.eq.mode.value().into();
        settings.eq_bands = self.eq_bands.to_band_settings();
        let w = &self.width;
        settings.width_enabled = w.enabled.value();
        settings.stereo = StereoSettings {
            width_percent: w.width_percent.value(),
            mono_below_hz: off_below_one(w.mono_below_hz.value()),
            balance_percent: 0.0,
        };
        let l = &self.limiter;
        settings.limiter_enabled = l.enabled.value();
        settings.limiter = LimiterSettings {
            ceiling_dbtp: if l.ceiling_from_target.value() {
                self.loudness.target.value().target().ceiling_dbtp
            } else {
                l.ceiling_dbtp.value()
            },
            input_gain_db: l.gain_db.value(),
            lookahead_ms: l.lookahead_ms.value(),
            release_ms: l.release_ms.value(),
            auto_release: l.auto_release.value(),
            stereo_link_percent: l.link_percent.value(),
        };
        settings.clipper_enabled = l.clipper.value();
        settings.clipper_margin_db = l.clipper_margin_db.value();
        settings.dc_filter_enabled = self.dc_filter.value();
        settings.dither = self.dither.settings();
        settings.output_gain_db = self.output.gain.value();
    }
}

/// Corner frequencies below 1 Hz mean "off" (0 in the chain's settings).
fn off_below_one(hz: f32) -> f32 {
    if hz < 1.0 {
        0.0
    } else {
        hz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_presets_follow_the_shared_table() {
        for (i, t) in LOUDNESS_TARGETS.iter().enumerate() {
            let preset = TargetPreset::from_index(i);
            assert_eq!(preset.target().name, t.name);
            assert_eq!(TargetPreset::ids().unwrap()[i], t.name);
        }
        assert_eq!(TargetPreset::variants().len(), LOUDNESS_TARGETS.len());
    }

    #[test]
    fn glue_steps_match_the_compressor_steps() {
        assert_eq!(GlueRatio::variants().len(), GLUE_RATIOS.len());
        assert_eq!(GlueAttack::variants().len(), GLUE_ATTACKS_MS.len());
        assert_eq!(GlueRelease::variants().len(), GLUE_RELEASES_MS.len() + 1);
        assert_eq!(GlueAttack::A30.attack_ms(), 30.0);
        assert_eq!(GlueRelease::R1_2.release_ms(), 1200.0);
    }

    #[test]
    fn default_parameters_give_the_default_chain() {
        let params = StemMasterParams::default();
        let mut s = MasterSettings::default();
        params.settings(&mut s);
        let d = MasterSettings::default();
        assert_eq!(s.limiter, d.limiter);
        assert_eq!(s.clipper_enabled, d.clipper_enabled);
        assert_eq!(s.clipper_margin_db, d.clipper_margin_db);
        assert_eq!(s.dc_filter_enabled, d.dc_filter_enabled);
        assert_eq!(s.glue_enabled, d.glue_enabled);
        assert_eq!(s.eq_mode, d.eq_mode);
        assert_eq!(s.dither, d.dither);
    }

    #[test]
    fn eq_modes_keep_the_saved_ids_and_follow_the_chain() {
        // The ids sessions saved before zero latency existed, and the new one.
        assert_eq!(EqMode::ids().unwrap(), ["zero", "low", "med", "high"]);
        for (i, mode) in MasterEqMode::ALL.into_iter().enumerate() {
            assert_eq!(MasterEqMode::from(EqMode::from_index(i)), mode);
        }
        let params = StemMasterParams::default();
        assert_eq!(params.eq.mode.value(), EqMode::ZeroLatency);
    }
}
