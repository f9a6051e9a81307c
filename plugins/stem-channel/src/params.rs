//! Stem Channel parameters and their mapping onto [`ChannelSettings`]. The string ids are the
//! plugin's contract with every saved host session and automation lane: they are short and
//! never renamed. Each section is a nested group (the host shows "EQ", "Compressor", ...).
//!
//! The stem type does not drive the audio by itself: choosing one writes the guide's starting
//! points ([`ChannelSettings::for_stem`]) into the other parameters through the host with
//! [`StemChannelParams::apply_stem_type`] (one gesture per parameter, undoable, automation sees
//! it). The editor does that directly. A host's generic parameter view (or automation) can set
//! the `Stem Type` list too: the audio thread notices a stem type no starting point was applied
//! for ([`StemChannelParams::take_unapplied_stem_type`]) and asks for the same write on the GUI
//! thread, where the plugin may talk to the host; the audio never changes behind the host's
//! back. Loading a session or preset restores a stem type without applying its starting point
//! over the user's edits ([`StemTypeSync`]).

use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use shared_dsp::chain::ranges::{
    BALANCE_PERCENT, COMP_ATTACK_MS, COMP_KNEE_DB, COMP_MAKEUP_DB, COMP_RATIO, COMP_RELEASE_MS,
    COMP_SIDECHAIN_HPF_HZ, COMP_THRESHOLD_DB, MB_THRESHOLD_DB, MIX_PERCENT, MONO_BELOW_HZ,
    OUTPUT_GAIN_DB, PEAK_CONTROL_LEVEL_DBFS, SAT_COLOR, SAT_DRIVE_DB, SAT_OUTPUT_DB, TRIM_DB,
    WIDTH_PERCENT, XOVER_HIGH_HZ, XOVER_LOW_HZ,
};
use shared_dsp::chain::settings::{ChannelSettings, DynamicsMode, StemType};
use shared_dsp::dynamics::{CompressorSettings, CompressorStyle, Detection, MultibandSettings};
use shared_dsp::saturation::{SaturationMode, SaturationSettings};
use shared_dsp::stereo::StereoSettings;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use stem_plugin_common::link_session::LinkSettings;
use stem_plugin_common::mirror_enum;
use stem_plugin_common::param_helpers::{linear_param, log_param, s2v_with_unit, set_param};
use stem_plugin_common::widgets::EditorSize;
use stem_plugin_common::{EqParams, InputParams, OutputParams};

/// Bands of the multiband mode shown (the chain supports up to 4; the guide asks for 2-3).
pub const MB_BANDS: usize = 3;

/// Stem type (mirrors [`StemType`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StemTypeParam {
    #[id = "drums"]
    Drums,
    #[id = "bass"]
    Bass,
    #[id = "synths"]
    #[name = "Synths/Harmonic"]
    Synths,
    #[id = "vocals"]
    Vocals,
    #[id = "fx"]
    #[name = "FX/Atmosphere"]
    Fx,
    #[id = "custom"]
    Custom,
}

mirror_enum! { StemTypeParam, StemType { Drums, Bass, Synths, Vocals, Fx, Custom } }

/// Dynamics mode (mirrors [`DynamicsMode`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicsModeParam {
    #[id = "single"]
    Single,
    #[id = "multi"]
    Multiband,
}

/// Compressor style (mirrors [`CompressorStyle`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StyleParam {
    #[id = "clean"]
    Clean,
    #[id = "opto"]
    Opto,
    #[id = "glue"]
    Glue,
}

/// Level detector (mirrors [`Detection`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectionParam {
    #[id = "peak"]
    Peak,
    #[id = "rms"]
    #[name = "RMS"]
    Rms,
}

/// Saturation curve (mirrors [`SaturationMode`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SatModeParam {
    #[id = "tape"]
    Tape,
    #[id = "soft"]
    #[name = "Soft Clip"]
    SoftClip,
}

/// Saturation oversampling factor. Changing it changes the plugin's latency.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OversamplingParam {
    #[id = "1"]
    #[name = "Off"]
    X1,
    #[id = "2"]
    #[name = "2x"]
    X2,
    #[id = "4"]
    #[name = "4x"]
    X4,
}

impl OversamplingParam {
    pub fn factor(self) -> usize {
        match self {
            OversamplingParam::X1 => 1,
            OversamplingParam::X2 => 2,
            OversamplingParam::X4 => 4,
        }
    }

    pub fn from_factor(factor: usize) -> Self {
        match factor {
            0 | 1 => OversamplingParam::X1,
            2 | 3 => OversamplingParam::X2,
            _ => OversamplingParam::X4,
        }
    }
}

fn percent_param(name: &str, default: f32, range: (f32, f32)) -> FloatParam {
    linear_param(name.to_string(), default, range, " %")
        .with_value_to_string(formatters::v2s_f32_rounded(1))
}

fn ratio_param(name: String, default: f32) -> FloatParam {
    log_param(name, default, COMP_RATIO.bounds(), "")
        .with_value_to_string(formatters::v2s_compression_ratio(2))
        .with_string_to_value(formatters::s2v_compression_ratio())
}

fn hz_param(name: String, default: f32, range: (f32, f32)) -> FloatParam {
    // The formatter writes the unit (Hz or kHz) itself.
    log_param(name, default, range, "")
        .with_value_to_string(formatters::v2s_f32_hz_then_khz(1))
        .with_string_to_value(formatters::s2v_f32_hz_then_khz())
}

/// EQ section.
#[derive(Params)]
pub struct EqSectionParams {
    #[id = "eq_enable"]
    pub enabled: BoolParam,
    #[nested]
    pub bands: EqParams,
}

/// Compressor section (the broadband compressor, and the switch to the multiband mode).
#[derive(Params)]
pub struct CompressorParams {
    #[id = "comp_on"]
    pub enabled: BoolParam,
    #[id = "comp_mode"]
    pub mode: EnumParam<DynamicsModeParam>,
    #[id = "comp_style"]
    pub style: EnumParam<StyleParam>,
    #[id = "comp_det"]
    pub detection: EnumParam<DetectionParam>,
    #[id = "comp_thr"]
    pub threshold_db: FloatParam,
    #[id = "comp_ratio"]
    pub ratio: FloatParam,
    #[id = "comp_knee"]
    pub knee_db: FloatParam,
    #[id = "comp_atk"]
    pub attack_ms: FloatParam,
    #[id = "comp_rel"]
    pub release_ms: FloatParam,
    #[id = "comp_arel"]
    pub auto_release: BoolParam,
    #[id = "comp_mkup"]
    pub makeup_db: FloatParam,
    #[id = "comp_amkup"]
    pub auto_makeup: BoolParam,
    #[id = "comp_mix"]
    pub mix_percent: FloatParam,
    #[id = "comp_schpf"]
    pub sidechain_hpf_hz: FloatParam,
}

impl CompressorParams {
    fn new(enabled: bool, mode: DynamicsMode, c: &CompressorSettings) -> Self {
        Self {
            enabled: BoolParam::new("Compressor On", enabled),
            mode: EnumParam::new(
                "Dynamics Mode",
                match mode {
                    DynamicsMode::Single => DynamicsModeParam::Single,
                    DynamicsMode::Multiband => DynamicsModeParam::Multiband,
                },
            ),
            style: EnumParam::new(
                "Comp Style",
                match c.style {
                    CompressorStyle::Clean => StyleParam::Clean,
                    CompressorStyle::Opto => StyleParam::Opto,
                    CompressorStyle::Glue => StyleParam::Glue,
                },
            ),
            detection: EnumParam::new(
                "Comp Detection",
                match c.detection {
                    Detection::Peak => DetectionParam::Peak,
                    Detection::Rms => DetectionParam::Rms,
                },
            ),
            threshold_db: linear_param(
                "Comp Threshold",
                c.threshold_db,
                COMP_THRESHOLD_DB.bounds(),
                " dB",
            ),
            ratio: ratio_param("Comp Ratio".into(), c.ratio),
            knee_db: linear_param("Comp Knee", c.knee_db, COMP_KNEE_DB.bounds(), " dB"),
            attack_ms: log_param("Comp Attack", c.attack_ms, COMP_ATTACK_MS.bounds(), " ms"),
            release_ms: log_param(
                "Comp Release",
                c.release_ms,
                COMP_RELEASE_MS.bounds(),
                " ms",
            ),
            auto_release: BoolParam::new("Comp Auto Release", c.auto_release),
            makeup_db: linear_param("Comp Makeup", c.makeup_db, COMP_MAKEUP_DB.bounds(), " dB"),
            auto_makeup: BoolParam::new("Comp Auto Makeup", c.auto_makeup),
            mix_percent: percent_param("Comp Mix", c.mix_percent, MIX_PERCENT.bounds()),
            sidechain_hpf_hz: FloatParam::new(
                "Comp SC HPF",
                c.sidechain_hpf_hz
                    .clamp(COMP_SIDECHAIN_HPF_HZ.min, COMP_SIDECHAIN_HPF_HZ.max),
                FloatRange::Skewed {
                    min: COMP_SIDECHAIN_HPF_HZ.min,
                    max: COMP_SIDECHAIN_HPF_HZ.max,
                    factor: FloatRange::skew_factor(-1.5),
                },
            )
            .with_smoother(SmoothingStyle::Linear(
                stem_plugin_common::gain::GAIN_SMOOTHING_MS,
            ))
            // The formatter writes the unit, so "Off" stands alone.
            .with_value_to_string(Arc::new(|hz| {
                if hz < 1.0 {
                    "Off".to_string()
                } else {
                    format!("{hz:.0} Hz")
                }
            }))
            .with_string_to_value(Arc::new(|text| {
                if text.trim().eq_ignore_ascii_case("off") {
                    Some(0.0)
                } else {
                    s2v_with_unit(" Hz")(text)
                }
            })),
        }
    }

    fn settings(&self, lookahead_ms: f32) -> CompressorSettings {
        let hpf = self.sidechain_hpf_hz.value();
        CompressorSettings {
            style: match self.style.value() {
                StyleParam::Clean => CompressorStyle::Clean,
                StyleParam::Opto => CompressorStyle::Opto,
                StyleParam::Glue => CompressorStyle::Glue,
            },
            detection: match self.detection.value() {
                DetectionParam::Peak => Detection::Peak,
                DetectionParam::Rms => Detection::Rms,
            },
            threshold_db: self.threshold_db.value(),
            ratio: self.ratio.value(),
            knee_db: self.knee_db.value(),
            attack_ms: self.attack_ms.value(),
            release_ms: self.release_ms.value(),
            auto_release: self.auto_release.value(),
            makeup_db: self.makeup_db.value(),
            auto_makeup: self.auto_makeup.value(),
            mix_percent: self.mix_percent.value(),
            sidechain_hpf_hz: if hpf < 1.0 { 0.0 } else { hpf },
            lookahead_ms,
            ..CompressorSettings::default()
        }
    }

    fn for_each_float(&self, f: &mut impl FnMut(&FloatParam)) {
        for p in [
            &self.threshold_db,
            &self.ratio,
            &self.knee_db,
            &self.attack_ms,
            &self.release_ms,
            &self.makeup_db,
            &self.mix_percent,
            &self.sidechain_hpf_hz,
        ] {
            f(p);
        }
    }

    fn set_from(
        &self,
        setter: &ParamSetter,
        enabled: bool,
        mode: DynamicsMode,
        c: &CompressorSettings,
    ) {
        let fresh = Self::new(enabled, mode, c);
        set_param(setter, &self.enabled, enabled);
        set_param(setter, &self.mode, fresh.mode.value());
        set_param(setter, &self.style, fresh.style.value());
        set_param(setter, &self.detection, fresh.detection.value());
        set_param(setter, &self.auto_release, c.auto_release);
        set_param(setter, &self.auto_makeup, c.auto_makeup);
        let mut targets = Vec::new();
        fresh.for_each_float(&mut |p| targets.push(p.value()));
        let mut i = 0;
        self.for_each_float(&mut |p| {
            set_param(setter, p, targets[i]);
            i += 1;
        });
    }
}

/// One band of the multiband mode.
#[derive(Params)]
pub struct MultibandBandParams {
    #[id = "mb_thr"]
    pub threshold_db: FloatParam,
    #[id = "mb_ratio"]
    pub ratio: FloatParam,
    #[id = "mb_knee"]
    pub knee_db: FloatParam,
    #[id = "mb_atk"]
    pub attack_ms: FloatParam,
    #[id = "mb_rel"]
    pub release_ms: FloatParam,
    #[id = "mb_mkup"]
    pub makeup_db: FloatParam,
}

impl MultibandBandParams {
    fn new(index: usize, c: &CompressorSettings) -> Self {
        let n = index + 1;
        Self {
            threshold_db: linear_param(
                format!("MB {n} Threshold"),
                c.threshold_db,
                MB_THRESHOLD_DB.bounds(),
                " dB",
            ),
            ratio: ratio_param(format!("MB {n} Ratio"), c.ratio),
            knee_db: linear_param(
                format!("MB {n} Knee"),
                c.knee_db,
                COMP_KNEE_DB.bounds(),
                " dB",
            ),
            attack_ms: log_param(
                format!("MB {n} Attack"),
                c.attack_ms,
                COMP_ATTACK_MS.bounds(),
                " ms",
            ),
            release_ms: log_param(
                format!("MB {n} Release"),
                c.release_ms,
                COMP_RELEASE_MS.bounds(),
                " ms",
            ),
            makeup_db: linear_param(
                format!("MB {n} Makeup"),
                c.makeup_db,
                COMP_MAKEUP_DB.bounds(),
                " dB",
            ),
        }
    }

    fn floats(&self) -> [&FloatParam; 6] {
        [
            &self.threshold_db,
            &self.ratio,
            &self.knee_db,
            &self.attack_ms,
            &self.release_ms,
            &self.makeup_db,
        ]
    }
}

/// Multiband mode (2-3 bands, for sub and low-mid control).
#[derive(Params)]
pub struct MultibandParams {
    #[id = "mb_bands"]
    pub num_bands: IntParam,
    #[id = "mb_xo1"]
    pub crossover_low_hz: FloatParam,
    #[id = "mb_xo2"]
    pub crossover_high_hz: FloatParam,
    #[nested(array, group = "Multiband Band")]
    pub bands: [MultibandBandParams; MB_BANDS],
}

impl MultibandParams {
    fn new(m: &MultibandSettings) -> Self {
        Self {
            num_bands: IntParam::new(
                "MB Bands",
                m.num_bands.clamp(2, MB_BANDS) as i32,
                IntRange::Linear {
                    min: 2,
                    max: MB_BANDS as i32,
                },
            ),
            crossover_low_hz: hz_param(
                "MB Crossover 1".into(),
                m.crossover_hz[0],
                XOVER_LOW_HZ.bounds(),
            ),
            crossover_high_hz: hz_param(
                "MB Crossover 2".into(),
                m.crossover_hz[1],
                XOVER_HIGH_HZ.bounds(),
            ),
            bands: std::array::from_fn(|i| MultibandBandParams::new(i, &m.bands[i])),
        }
    }

    fn settings(&self, lookahead_ms: f32) -> MultibandSettings {
        let mut m = MultibandSettings {
            num_bands: self.num_bands.value() as usize,
            lookahead_ms,
            ..MultibandSettings::default()
        };
        m.crossover_hz[0] = self.crossover_low_hz.value();
        m.crossover_hz[1] = self.crossover_high_hz.value();
        for (b, p) in m.bands.iter_mut().zip(&self.bands) {
            *b = CompressorSettings {
                threshold_db: p.threshold_db.value(),
                ratio: p.ratio.value(),
                knee_db: p.knee_db.value(),
                attack_ms: p.attack_ms.value(),
                release_ms: p.release_ms.value(),
                makeup_db: p.makeup_db.value(),
                ..CompressorSettings::default()
            };
        }
        m
    }

    fn for_each_float(&self, f: &mut impl FnMut(&FloatParam)) {
        f(&self.crossover_low_hz);
        f(&self.crossover_high_hz);
        for b in &self.bands {
            for p in b.floats() {
                f(p);
            }
        }
    }
}

/// Mid/side section.
#[derive(Params)]
pub struct StereoParams {
    #[id = "ms_on"]
    pub enabled: BoolParam,
    #[id = "ms_width"]
    pub width_percent: FloatParam,
    #[id = "ms_mono_on"]
    pub mono_enabled: BoolParam,
    #[id = "ms_mono"]
    pub mono_below_hz: FloatParam,
    #[id = "ms_bal"]
    pub balance_percent: FloatParam,
}

impl StereoParams {
    fn new(enabled: bool, s: &StereoSettings) -> Self {
        Self {
            enabled: BoolParam::new("Mid/Side On", enabled),
            width_percent: percent_param("Width", s.width_percent, WIDTH_PERCENT.bounds()),
            mono_enabled: BoolParam::new("Mono Bass", s.mono_below_hz > 0.0),
            mono_below_hz: hz_param(
                "Mono Below".into(),
                if s.mono_below_hz > 0.0 {
                    s.mono_below_hz
                } else {
                    100.0
                },
                MONO_BELOW_HZ.bounds(),
            ),
            balance_percent: percent_param("Balance", s.balance_percent, BALANCE_PERCENT.bounds()),
        }
    }

    fn settings(&self) -> StereoSettings {
        let mono = self.mono_below_hz.value();
        StereoSettings {
            width_percent: self.width_percent.value(),
            mono_below_hz: if self.mono_enabled.value() { mono } else { 0.0 },
            balance_percent: self.balance_percent.value(),
        }
    }
}

/// Saturation section.
#[derive(Params)]
pub struct SaturationParams {
    #[id = "sat_on"]
    pub enabled: BoolParam,
    #[id = "sat_mode"]
    pub mode: EnumParam<SatModeParam>,
    #[id = "sat_drive"]
    pub drive_db: FloatParam,
    #[id = "sat_color"]
    pub color: FloatParam,
    #[id = "sat_mix"]
    pub mix_percent: FloatParam,
    #[id = "sat_out"]
    pub output_db: FloatParam,
    #[id = "sat_os"]
    pub oversampling: EnumParam<OversamplingParam>,
}

impl SaturationParams {
    fn new(enabled: bool, s: &SaturationSettings) -> Self {
        Self {
            enabled: BoolParam::new("Saturation On", enabled),
            mode: EnumParam::new(
                "Sat Mode",
                match s.mode {
                    SaturationMode::Tape => SatModeParam::Tape,
                    SaturationMode::SoftClip => SatModeParam::SoftClip,
                },
            ),
            drive_db: linear_param("Sat Drive", s.drive_db, SAT_DRIVE_DB.bounds(), " dB"),
            color: linear_param("Sat Color", s.bias, SAT_COLOR.bounds(), ""),
            mix_percent: percent_param("Sat Mix", s.mix_percent, MIX_PERCENT.bounds()),
            output_db: linear_param("Sat Output", s.output_db, SAT_OUTPUT_DB.bounds(), " dB"),
            oversampling: EnumParam::new(
                "Sat Oversampling",
                OversamplingParam::from_factor(s.oversampling),
            ),
        }
    }

    fn settings(&self) -> SaturationSettings {
        SaturationSettings {
            mode: match self.mode.value() {
                SatModeParam::Tape => SaturationMode::Tape,
                SatModeParam::SoftClip => SaturationMode::SoftClip,
            },
            drive_db: self.drive_db.value(),
            bias: self.color.value(),
            mix_percent: self.mix_percent.value(),
            output_db: self.output_db.value(),
            oversampling: self.oversampling.value().factor(),
        }
    }
}

/// The peak control: a soft clipper after the saturation that shaves the stem's transients.
#[derive(Params)]
pub struct PeakControlParams {
    #[id = "pk_on"]
    pub enabled: BoolParam,
    /// The clip level (the curve's asymptote).
    #[id = "pk_lvl"]
    pub level_dbfs: FloatParam,
}

/// Every Stem Channel parameter.
#[derive(Params)]
pub struct StemChannelParams {
    /// The host's bypass switch.
    #[id = "bypass"]
    pub bypass: BoolParam,

    /// Stem type: choosing one applies its starting points (see module doc).
    #[id = "stem"]
    pub stem_type: EnumParam<StemTypeParam>,
    /// What the audio thread knows of stem type changes (see [`StemTypeSync`]).
    #[persist = "stem-applied"]
    pub stem_type_sync: StemTypeSync,

    #[nested(group = "Input")]
    pub input: InputParams,

    #[nested(group = "EQ")]
    pub eq: EqSectionParams,

    #[nested(group = "Compressor")]
    pub compressor: CompressorParams,

    #[nested(group = "Multiband")]
    pub multiband: MultibandParams,

    #[nested(group = "Mid-Side")]
    pub stereo: StereoParams,

    #[nested(group = "Saturation")]
    pub saturation: SaturationParams,

    #[nested(group = "Peak Control")]
    pub peak_control: PeakControlParams,

    #[nested(group = "Output")]
    pub output: OutputParams,

    /// DC/subsonic filter (10 Hz high-pass) after the input trim, before everything else.
    #[id = "dc_on"]
    pub dc_filter: BoolParam,

    /// Keeps the output as loud as the input (K-weighted, slowly adapting).
    #[id = "gm_on"]
    pub gain_match: BoolParam,

    /// The editor window's size, saved with the session.
    #[persist = "editor-size"]
    pub editor_size: EditorSize,

    /// The Stem Link group and the name this stem shows under (the link's figures are never
    /// saved).
    #[persist = "link"]
    pub link: Arc<LinkSettings>,
}

impl Default for StemChannelParams {
    /// The transparent chain.
    fn default() -> Self {
        Self::new(&ChannelSettings::default())
    }
}

impl StemChannelParams {
    /// Parameters whose values (and defaults) are `s`.
    pub fn new(s: &ChannelSettings) -> Self {
        Self {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            stem_type: EnumParam::new("Stem Type", StemTypeParam::from(s.stem_type)),
            stem_type_sync: StemTypeSync::default(),
            input: InputParams {
                trim: stem_plugin_common::gain_db_param(
                    "Input Trim",
                    s.input_trim_db,
                    TRIM_DB.min,
                    TRIM_DB.max,
                ),
            },
            eq: EqSectionParams {
                enabled: BoolParam::new("EQ On", s.eq_enabled),
                bands: EqParams::new(&s.eq_bands),
            },
            compressor: CompressorParams::new(s.compressor_enabled, s.dynamics_mode, &s.compressor),
            multiband: MultibandParams::new(&s.multiband),
            stereo: StereoParams::new(s.stereo_enabled, &s.stereo),
            saturation: SaturationParams::new(s.saturation_enabled, &s.saturation),
            peak_control: PeakControlParams {
                enabled: BoolParam::new("Peak Control", s.peak_control_enabled),
                level_dbfs: linear_param(
                    "Peak Level",
                    s.peak_control_level_dbfs,
                    PEAK_CONTROL_LEVEL_DBFS.bounds(),
                    " dBFS",
                ),
            },
            output: OutputParams {
                gain: stem_plugin_common::gain_db_param(
                    "Output Gain",
                    s.output_gain_db,
                    OUTPUT_GAIN_DB.min,
                    OUTPUT_GAIN_DB.max,
                ),
            },
            dc_filter: BoolParam::new("DC Filter", s.dc_filter_enabled),
            gain_match: BoolParam::new("Gain Match", s.gain_match),
            editor_size: EditorSize::default(),
            link: Arc::new(LinkSettings::default()),
        }
    }

    /// The settings the parameters stand for: their plain target values. The chain smooths
    /// them (see the crate doc), so this is what the audio thread hands over, once per slice.
    pub fn target_settings(&self) -> ChannelSettings {
        let eq_bands = self.eq.bands.to_band_settings();
        ChannelSettings {
            stem_type: self.stem_type.value().into(),
            input_trim_db: self.input.trim.value(),
            dc_filter_enabled: self.dc_filter.value(),
            eq_enabled: self.eq.enabled.value(),
            eq_bands,
            compressor_enabled: self.compressor.enabled.value(),
            dynamics_mode: match self.compressor.mode.value() {
                DynamicsModeParam::Single => DynamicsMode::Single,
                DynamicsModeParam::Multiband => DynamicsMode::Multiband,
            },
            compressor: self.compressor.settings(0.0),
            multiband: self.multiband.settings(0.0),
            stereo_enabled: self.stereo.enabled.value(),
            stereo: self.stereo.settings(),
            saturation_enabled: self.saturation.enabled.value(),
            saturation: self.saturation.settings(),
            peak_control_enabled: self.peak_control.enabled.value(),
            peak_control_level_dbfs: self.peak_control.level_dbfs.value(),
            output_gain_db: self.output.gain.value(),
            gain_match: self.gain_match.value(),
        }
    }

    /// Writes `s` through the host (GUI thread), one gesture per parameter.
    pub fn set_from_settings(&self, setter: &ParamSetter, s: &ChannelSettings) {
        let fresh = Self::new(s);
        set_param(setter, &self.stem_type, fresh.stem_type.value());
        set_param(setter, &self.input.trim, s.input_trim_db);
        set_param(setter, &self.dc_filter, s.dc_filter_enabled);
        set_param(setter, &self.eq.enabled, s.eq_enabled);
        self.eq.bands.set_from(setter, &s.eq_bands);
        self.compressor
            .set_from(setter, s.compressor_enabled, s.dynamics_mode, &s.compressor);
        set_param(
            setter,
            &self.multiband.num_bands,
            fresh.multiband.num_bands.value(),
        );
        let mut targets = Vec::new();
        fresh
            .multiband
            .for_each_float(&mut |p| targets.push(p.value()));
        let mut i = 0;
        self.multiband.for_each_float(&mut |p| {
            set_param(setter, p, targets[i]);
            i += 1;
        });
        set_param(setter, &self.stereo.enabled, s.stereo_enabled);
        set_param(
            setter,
            &self.stereo.width_percent,
            fresh.stereo.width_percent.value(),
        );
        set_param(
            setter,
            &self.stereo.mono_enabled,
            fresh.stereo.mono_enabled.value(),
        );
        set_param(
            setter,
            &self.stereo.mono_below_hz,
            fresh.stereo.mono_below_hz.value(),
        );
        set_param(
            setter,
            &self.stereo.balance_percent,
            fresh.stereo.balance_percent.value(),
        );
        let (sat, new_sat) = (&self.saturation, &fresh.saturation);
        set_param(setter, &sat.enabled, s.saturation_enabled);
        set_param(setter, &sat.mode, new_sat.mode.value());
        set_param(setter, &sat.drive_db, new_sat.drive_db.value());
        set_param(setter, &sat.color, new_sat.color.value());
        set_param(setter, &sat.mix_percent, new_sat.mix_percent.value());
        set_param(setter, &sat.output_db, new_sat.output_db.value());
        set_param(setter, &sat.oversampling, new_sat.oversampling.value());
        set_param(setter, &self.peak_control.enabled, s.peak_control_enabled);
        set_param(
            setter,
            &self.peak_control.level_dbfs,
            fresh.peak_control.level_dbfs.value(),
        );
        set_param(setter, &self.output.gain, s.output_gain_db);
        set_param(setter, &self.gain_match, s.gain_match);
    }

    /// Writes the guide's starting points for `stem` through the host (GUI thread). What a
    /// host-initiated stem type change runs; the editor calls [`Self::choose_stem_type`].
    pub fn apply_stem_type(&self, setter: &ParamSetter, stem: StemType) {
        self.set_from_settings(setter, &ChannelSettings::for_stem(stem));
    }

    /// The editor's stem selector: applies the starting point, telling the audio thread that
    /// the stem type arriving through the host is already applied.
    pub fn choose_stem_type(&self, setter: &ParamSetter, stem: StemType) {
        self.stem_type_sync
            .chosen_in_editor
            .store(StemTypeParam::from(stem).to_index() as u8, Ordering::SeqCst);
        self.apply_stem_type(setter, stem);
    }

    /// A stem type the host set (generic view, automation) whose starting point has not been
    /// applied yet, returned once. Audio thread: atomics only.
    pub fn take_unapplied_stem_type(&self) -> Option<StemType> {
        let sync = &self.stem_type_sync;
        let current = self.stem_type.value().to_index() as u8;
        let last = sync.last_seen.swap(current, Ordering::SeqCst);
        if last == current || last == StemTypeSync::UNKNOWN {
            return None;
        }
        let chosen = sync
            .chosen_in_editor
            .swap(StemTypeSync::UNKNOWN, Ordering::SeqCst);
        (chosen != current).then(|| StemTypeParam::from_index(current as usize).into())
    }
}

/// What the audio thread knows of stem type changes, so one set by the host is applied exactly
/// once and one restored from a state never is (a session holds the user's edits on top of its
/// starting point; applying it again would undo them).
#[derive(Debug)]
pub struct StemTypeSync {
    /// The stem type the audio thread saw last; unknown in a fresh instance and after a state
    /// load, when the next one read counts as applied.
    last_seen: AtomicU8,
    /// A stem type the editor applied itself and is sending through the host.
    chosen_in_editor: AtomicU8,
}

impl StemTypeSync {
    const UNKNOWN: u8 = u8::MAX;
    /// The value saved in a state: the field is persisted only so that a load marks the stem
    /// type unknown, and a constant keeps the saved bytes of an unchanged instance stable.
    const STATE_MARKER: u8 = 1;
}

impl Default for StemTypeSync {
    fn default() -> Self {
        Self {
            last_seen: AtomicU8::new(Self::UNKNOWN),
            chosen_in_editor: AtomicU8::new(Self::UNKNOWN),
        }
    }
}

impl<'a> PersistentField<'a, u8> for StemTypeSync {
    fn set(&self, _restored: u8) {
        self.last_seen.store(Self::UNKNOWN, Ordering::SeqCst);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&u8) -> R,
    {
        f(&Self::STATE_MARKER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters built from a stem preset stand for exactly that preset, so the plugin renders
    /// what `ChannelSettings::for_stem` (and the `stem` tool) does.
    #[test]
    fn every_stem_preset_maps_onto_parameters_exactly() {
        for stem in StemType::ALL {
            let s = ChannelSettings::for_stem(stem);
            let p = StemChannelParams::new(&s);
            let back = p.target_settings();
            // The multiband mode shows 3 of the chain's 4 bands; the 4th stays at its default.
            let mut want = s.clone();
            want.multiband.bands[MB_BANDS..]
                .copy_from_slice(&MultibandSettings::default().bands[MB_BANDS..]);
            for b in want.multiband.bands.iter_mut() {
                *b = CompressorSettings {
                    threshold_db: b.threshold_db,
                    ratio: b.ratio,
                    knee_db: b.knee_db,
                    attack_ms: b.attack_ms,
                    release_ms: b.release_ms,
                    makeup_db: b.makeup_db,
                    ..CompressorSettings::default()
                };
            }
            want.multiband.crossover_hz[2] = MultibandSettings::default().crossover_hz[2];
            assert_eq!(back, want, "{stem:?}");
        }
    }

    #[test]
    fn ids_are_unique_and_stable() {
        let p = StemChannelParams::default();
        let ids: Vec<String> = p.param_map().into_iter().map(|(id, _, _)| id).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        for id in [
            "bypass",
            "stem",
            "in_trim",
            "eq_enable",
            "eq_freq_1",
            "eq_rel_8",
            "comp_on",
            "comp_thr",
            "mb_thr_3",
            "mb_xo2",
            "ms_width",
            "sat_os",
            "out_gain",
            "gm_on",
        ] {
            assert!(ids.iter().any(|i| i == id), "missing {id}");
        }
    }
}
