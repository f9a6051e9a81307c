//! Settings of both chains, apart from the runtime that applies them: plain data in physical
//! units (serialisable, so presets, saved plugin state and the `stem` tool share one shape),
//! the stem types with the stem-mastering guide's starting points for each
//! (`shared/reference/stem-mastering-guide.txt`, "Drums/Bass/Synth/Vocal/FX Stem Processing"),
//! the master's defaults ("Master bus processing") and the guide's loudness table ("Loudness
//! Targets by Genre").
//!
//! [`ChannelSettings`] drives [`super::channel::ChannelChain`], [`MasterSettings`] drives
//! [`super::master::MasterChain`].

use crate::dither::DitherSettings;
use crate::dynamics::{CompressorSettings, LimiterSettings, MultibandSettings};
use crate::eq::{BandKind, BandSettings, DynamicSettings, LinearPhaseQuality, Placement};
use crate::filter::Slope;
use crate::saturation::{SaturationMode, SaturationSettings};
use crate::stereo::StereoSettings;
use serde::{Deserialize, Serialize};

/// Number of EQ bands of the channel.
pub const CHANNEL_EQ_BANDS: usize = 8;
/// Bands of the master's EQ (the channel EQ's count, so presets carry over).
pub const MASTER_EQ_BANDS: usize = 8;
/// The master limiter's default lookahead, ms. The limiter's latency is its detector delay
/// (16 samples), the lookahead ramp and a 32-sample guard band
/// ([`crate::dynamics::limiter::GUARD_SAMPLES`]): 1 ms keeps the default chain at 96 samples
/// (2.0 ms) at 48 kHz, where the limiter's own default of 1.5 ms would give 120 (2.5 ms).
pub const MASTER_LIMITER_LOOKAHEAD_MS: f32 = 1.0;

/// The master limiter's default release, in ms, fixed (no automatic release). Why (issue 16,
/// "a cleaner true-peak limiter"): the automatic release (50 ms, slowing to 500 ms after 300 ms
/// of limiting) rides the gain slowly and deeply under sustained limiting, which costs loudness
/// and leaves damage. Measured on three tracker songs rendered as mixes (libopenmpt), the mix
/// alone through the limiter at -8 LUFS / -1 dBTP, loudness damage
/// ([`crate::meter::damage`]) auto vs 10 ms: -13.0 vs -14.9 dB, -17.0 vs -18.5 dB, -8.2 vs
/// -9.5 dB; the drive needed fell by 4.0, 3.7 and 2.2 dB and the loudness range rose
/// (1.35 -> 2.21 LU on the first). 20 ms and 30 ms lie between (-13.9, -13.4 dB on the
/// first). The ceiling does not depend on it.
///
/// Then 10 ms to 5 ms (session 16), measured against the open-source limiters at equal
/// loudness: four tracker songs (libopenmpt, 10 Hz high-passed mixes) at -8 LUFS / -1 dBTP,
/// limiter alone, D 10 ms vs 5 ms vs the better of x42 dpl (true peak, its 10 ms default) and
/// LSP Limiter (x4, 5 ms default, ceiling trimmed until it holds -1 dBTP): -19.31 / -20.15 /
/// -19.77, -15.79 / -16.49 / -15.96, -8.91 / -9.22 / -8.75, -12.16 / -12.57 / -12.57 dB.
/// At 10 ms ours lost to the better anchor on three songs of four; at 5 ms it wins or ties on
/// all four. The cost, measured: a steady 50 Hz sine at -5.6 LUFS (6 dB into the limiter)
/// keeps its harmonics at -54.6 dB instead of -58.4 dB (x42 dpl -61.5 dB at -5.62 LUFS, the
/// loudest it reaches); 3 ms would be another 0.1-0.6 dB cleaner by D and -52.6 dB there.
/// Shorter releases keep trading bass distortion for D, so the default stops at LSP Limiter's
/// own default release.
pub const MASTER_LIMITER_RELEASE_MS: f32 = 5.0;

/// Default clip level of the master's clipper above the limiter's ceiling, dB
/// ([`super::peak_stage`]). Measured on the same three songs (mix only, -8 LUFS / -1 dBTP),
/// loudness damage with the clip level 0 / 1 / 2 / 3 dB above the ceiling: -20.8 / -21.5 /
/// -20.7 / -19.5 dB, -22.0 / -24.0 / -23.7 / -22.6 dB, -14.8 / -14.8 / -14.2 / -13.5 dB
/// (limiter alone: -14.8, -18.4, -9.5 dB). At 0 dB the clipper does everything and is
/// heard as grit on sustained notes; from 2 dB the limiter's gain riding returns.
pub const MASTER_CLIPPER_MARGIN_DB: f32 = 1.0;

/// Role of the stem the channel sits on; selects the starting points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StemType {
    Drums,
    Bass,
    /// Synths / harmonic stem.
    Synths,
    Vocals,
    /// FX / atmosphere stem.
    Fx,
    #[default]
    Custom,
}

impl StemType {
    /// Every stem type, in selector order.
    pub const ALL: [StemType; 6] = [
        StemType::Drums,
        StemType::Bass,
        StemType::Synths,
        StemType::Vocals,
        StemType::Fx,
        StemType::Custom,
    ];

    /// Display name (also the factory preset's name).
    pub fn name(self) -> &'static str {
        match self {
            StemType::Drums => "Drums",
            StemType::Bass => "Bass",
            StemType::Synths => "Synths",
            StemType::Vocals => "Vocals",
            StemType::Fx => "FX",
            StemType::Custom => "Custom",
        }
    }

    /// The stem type named `name` (case-insensitive; also "harmonic" and "atmosphere").
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "drums" => Some(StemType::Drums),
            "bass" => Some(StemType::Bass),
            "synths" | "synth" | "harmonic" => Some(StemType::Synths),
            "vocals" | "vocal" => Some(StemType::Vocals),
            "fx" | "atmosphere" => Some(StemType::Fx),
            "custom" => Some(StemType::Custom),
            _ => None,
        }
    }
}

/// Which compressor the dynamics section runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DynamicsMode {
    /// One broadband compressor.
    #[default]
    Single,
    /// The 2-3 band multiband compressor (sub / low-mid control).
    Multiband,
}

/// The peak control's clip level until set, dBFS: the top of the range the guide wants stems to
/// peak in before processing ("between -6 dBFS and -12 dBFS").
pub const DEFAULT_PEAK_CONTROL_LEVEL_DBFS: f32 = -6.0;

/// All channel settings in physical units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelSettings {
    pub stem_type: StemType,
    /// Gain before everything else, in dB (gain staging: the guide wants stems peaking between
    /// -12 and -6 dBFS before processing).
    pub input_trim_db: f32,
    /// DC/subsonic filter ([`crate::filter::DcFilter`], 10 Hz Butterworth high-pass) after the
    /// trim, before everything else. Off by default, so the transparent chain stays bit-exact;
    /// `stem render` turns it on for a stem that carries DC.
    pub dc_filter_enabled: bool,
    pub eq_enabled: bool,
    pub eq_bands: [BandSettings; CHANNEL_EQ_BANDS],
    pub compressor_enabled: bool,
    pub dynamics_mode: DynamicsMode,
    pub compressor: CompressorSettings,
    pub multiband: MultibandSettings,
    pub stereo_enabled: bool,
    pub stereo: StereoSettings,
    pub saturation_enabled: bool,
    pub saturation: SaturationSettings,
    /// Peak control ([`crate::dynamics::Clipper`]): a soft clipper after the saturation that
    /// shaves the stem's transients before the stems are summed, so the master's peak stage
    /// has less to do. Off by default; its latency (55 samples at 48 kHz) counts while it is on.
    pub peak_control_enabled: bool,
    /// The peak control's clip level (the curve's asymptote), dBFS.
    pub peak_control_level_dbfs: f32,
    /// Gain after gain match, in dB.
    pub output_gain_db: f32,
    /// Keep the output as loud (K-weighted) as the input.
    pub gain_match: bool,
}

/// The EQ layout every channel starts from (all bands off): high-pass, low shelf, four bells
/// spread over the spectrum, high shelf, low-pass.
pub fn default_eq_bands() -> [BandSettings; CHANNEL_EQ_BANDS] {
    let off = |kind, freq_hz, q| BandSettings {
        enabled: false,
        ..BandSettings::new(kind, freq_hz, 0.0, q)
    };
    let q = std::f32::consts::FRAC_1_SQRT_2;
    [
        BandSettings {
            slope: Slope::Db24,
            ..off(BandKind::HighPass, 30.0, q)
        },
        off(BandKind::LowShelf, 100.0, q),
        off(BandKind::Bell, 250.0, 1.0),
        off(BandKind::Bell, 800.0, 1.0),
        off(BandKind::Bell, 2_500.0, 1.0),
        off(BandKind::Bell, 6_000.0, 1.0),
        off(BandKind::HighShelf, 12_000.0, q),
        off(BandKind::LowPass, 20_000.0, q),
    ]
}

impl Default for ChannelSettings {
    /// A transparent chain: EQ on with every band off, every other section off, unity gains.
    fn default() -> Self {
        Self {
            stem_type: StemType::Custom,
            input_trim_db: 0.0,
            dc_filter_enabled: false,
            eq_enabled: true,
            eq_bands: default_eq_bands(),
            compressor_enabled: false,
            dynamics_mode: DynamicsMode::Single,
            compressor: CompressorSettings::default(),
            multiband: MultibandSettings::default(),
            stereo_enabled: false,
            stereo: StereoSettings::default(),
            saturation_enabled: false,
            // No oversampling until asked for: a transparent chain has no latency.
            saturation: SaturationSettings {
                drive_db: 3.0,
                oversampling: 1,
                ..SaturationSettings::default()
            },
            peak_control_enabled: false,
            peak_control_level_dbfs: DEFAULT_PEAK_CONTROL_LEVEL_DBFS,
            output_gain_db: 0.0,
            gain_match: false,
        }
    }
}

impl ChannelSettings {
    /// The guide's starting point for `stem` (moves kept within about 1.5 dB, as the guide
    /// insists; gain match on so the stem keeps its place in the mix). `Custom` is the
    /// transparent default.
    pub fn for_stem(stem: StemType) -> Self {
        let mut s = Self {
            stem_type: stem,
            ..Self::default()
        };
        if stem == StemType::Custom {
            return s;
        }
        s.gain_match = true;
        let b = &mut s.eq_bands;
        match stem {
            StemType::Drums => {
                // "High-pass filter to cut below 30-40 Hz", "gentle low-mid cut around
                // 200-350 Hz", "subtle high shelf boost at 12-16 kHz (+0.5 to +1.5 dB)".
                b[0] = BandSettings {
                    slope: Slope::Db24,
                    ..BandSettings::new(BandKind::HighPass, 35.0, 0.0, 0.707)
                };
                b[2] = BandSettings::bell(250.0, -1.5, 1.0);
                b[6] = BandSettings::new(BandKind::HighShelf, 14_000.0, 1.0, 0.707);
                // New York parallel: fast attack (1-5 ms), medium release (60-150 ms), 3:1,
                // 30-50 % wet.
                s.compressor_enabled = true;
                s.compressor = CompressorSettings {
                    ratio: 3.0,
                    attack_ms: 3.0,
                    release_ms: 100.0,
                    mix_percent: 40.0,
                    ..CompressorSettings::drums_parallel()
                };
                // "Light tape saturation ... keep input drive conservative."
                s.saturation_enabled = true;
                s.saturation = SaturationSettings {
                    mode: SaturationMode::Tape,
                    drive_db: 3.0,
                    bias: 0.1,
                    mix_percent: 50.0,
                    oversampling: 4,
                    ..SaturationSettings::default()
                };
            }
            StemType::Bass => {
                // "Dynamic attenuation at ... 60-120 Hz", "gentle boost at 100-160 Hz",
                // "hard high-pass [sic: low-pass] filtering above 800 Hz-1 kHz".
                b[2] = BandSettings {
                    dynamic: DynamicSettings {
                        enabled: true,
                        threshold_db: -18.0,
                        range_db: -3.0,
                        attack_ms: 10.0,
                        release_ms: 150.0,
                    },
                    ..BandSettings::bell(85.0, 0.0, 1.4)
                };
                b[3] = BandSettings::bell(130.0, 1.0, 1.0);
                b[7] = BandSettings {
                    slope: Slope::Db12,
                    ..BandSettings::new(BandKind::LowPass, 1_000.0, 0.0, 0.707)
                };
                // VCA, 10-30 ms attack, 80-200 ms release.
                s.compressor_enabled = true;
                s.compressor = CompressorSettings::bass_vca();
                s.multiband = MultibandSettings::bass_sub_control();
                // "Bass below 100 Hz should always be mono."
                s.stereo_enabled = true;
                s.stereo = StereoSettings {
                    mono_below_hz: 100.0,
                    ..StereoSettings::default()
                };
            }
            StemType::Synths => {
                // "Broad, gentle low-shelf cut around 80-120 Hz"; "boosting the sides subtly
                // in the high frequencies (10-16 kHz)".
                b[1] = BandSettings::new(BandKind::LowShelf, 100.0, -1.5, 0.6);
                b[6] = BandSettings {
                    placement: Placement::Side,
                    ..BandSettings::new(BandKind::HighShelf, 12_000.0, 1.5, 0.707)
                };
            }
            StemType::Vocals => {
                // "High-pass filter at 80-100 Hz", "narrow dynamic cut in the 2-4 kHz range",
                // "gentle air boost at 14-18 kHz".
                b[0] = BandSettings {
                    slope: Slope::Db18,
                    ..BandSettings::new(BandKind::HighPass, 90.0, 0.0, 0.707)
                };
                b[4] = BandSettings {
                    dynamic: DynamicSettings {
                        enabled: true,
                        threshold_db: -30.0,
                        range_db: -3.0,
                        attack_ms: 5.0,
                        release_ms: 80.0,
                    },
                    ..BandSettings::bell(3_000.0, 0.0, 2.5)
                };
                b[6] = BandSettings::new(BandKind::HighShelf, 16_000.0, 1.0, 0.707);
                // LA-2A-style opto; the 200-400 Hz low-mid band ready in multiband mode.
                s.compressor_enabled = true;
                s.compressor = CompressorSettings::vocal_opto();
                s.multiband = MultibandSettings::vocal_low_mid();
            }
            StemType::Fx => {
                // "High-pass filter at 60-80 Hz"; "high threshold ... light ratio (1.5:1 to
                // 2:1)".
                b[0] = BandSettings {
                    slope: Slope::Db24,
                    ..BandSettings::new(BandKind::HighPass, 70.0, 0.0, 0.707)
                };
                s.compressor_enabled = true;
                s.compressor = CompressorSettings::fx_light();
            }
            StemType::Custom => {}
        }
        s
    }
}

/// The master EQ's phase response and, for linear phase, its FIR length (which sets the
/// latency). Presets spell the variants as here; the linear ones also accept the names of the
/// setting they replace (`Low`, `Medium`, `High`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MasterEqMode {
    /// Minimum phase ([`crate::eq::ParametricEq`]), latency 0.
    #[default]
    ZeroLatency,
    /// Linear phase, 4096 taps at 48 kHz (latency 64 ms).
    #[serde(alias = "Low")]
    LinearLow,
    /// Linear phase, 16384 taps at 48 kHz (latency 256 ms).
    #[serde(alias = "Medium")]
    LinearMedium,
    /// Linear phase, 65536 taps at 48 kHz (latency 1024 ms).
    #[serde(alias = "High")]
    LinearHigh,
}

impl MasterEqMode {
    /// Every mode, zero latency first, then by FIR length.
    pub const ALL: [Self; 4] = [
        Self::ZeroLatency,
        Self::LinearLow,
        Self::LinearMedium,
        Self::LinearHigh,
    ];

    /// The FIR length of a linear-phase mode; `None` for minimum phase.
    pub fn linear_phase(self) -> Option<LinearPhaseQuality> {
        match self {
            Self::ZeroLatency => None,
            Self::LinearLow => Some(LinearPhaseQuality::Low),
            Self::LinearMedium => Some(LinearPhaseQuality::Medium),
            Self::LinearHigh => Some(LinearPhaseQuality::High),
        }
    }
}

impl From<LinearPhaseQuality> for MasterEqMode {
    fn from(quality: LinearPhaseQuality) -> Self {
        match quality {
            LinearPhaseQuality::Low => Self::LinearLow,
            LinearPhaseQuality::Medium => Self::LinearMedium,
            LinearPhaseQuality::High => Self::LinearHigh,
        }
    }
}

/// All master controls in physical units. `Default` is the guide's starting point with only
/// the safety stage on: every section bypassed except the limiter (-1.0 dBTP ceiling, no
/// drive, [`MASTER_LIMITER_LOOKAHEAD_MS`], [`MASTER_LIMITER_RELEASE_MS`] fixed release), which only acts on peaks above the ceiling; the EQ
/// mode is zero latency, so the default latency is the limiter's alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MasterSettings {
    /// Gain before everything, dB.
    pub input_gain_db: f32,
    /// The 10 Hz DC/subsonic filter ([`crate::filter::DcFilter`]) after the input gain.
    pub dc_filter_enabled: bool,
    pub glue_enabled: bool,
    /// Glue compressor; the chain always runs it in [`crate::dynamics::CompressorStyle::Glue`] (stepped ratio,
    /// attack and release, see [`crate::dynamics::compressor::GLUE_RATIOS`]).
    pub glue: CompressorSettings,
    pub eq_enabled: bool,
    /// The EQ bands; their dynamic controls are ignored (the master EQ is static).
    pub eq_bands: [BandSettings; MASTER_EQ_BANDS],
    /// Minimum phase (no latency) or linear phase at one of three FIR lengths.
    pub eq_mode: MasterEqMode,
    pub width_enabled: bool,
    pub stereo: StereoSettings,
    pub limiter_enabled: bool,
    /// `limiter.input_gain_db` is the drive into the limiter (the loudness control).
    pub limiter: LimiterSettings,
    /// The soft clipper between the drive and the limiter ([`super::peak_stage`]).
    pub clipper_enabled: bool,
    /// The clipper's level above the limiter's ceiling, dB (the limiter takes the rest).
    pub clipper_margin_db: f32,
    /// Word length and dither for delivery (off by default).
    pub dither: DitherSettings,
    /// Gain after the limiter, before dither, dB.
    pub output_gain_db: f32,
}

impl Default for MasterSettings {
    fn default() -> Self {
        Self {
            input_gain_db: 0.0,
            dc_filter_enabled: false,
            glue_enabled: false,
            glue: CompressorSettings::master_glue(),
            eq_enabled: false,
            eq_bands: [BandSettings::default(); MASTER_EQ_BANDS],
            eq_mode: MasterEqMode::ZeroLatency,
            width_enabled: false,
            stereo: StereoSettings::default(),
            limiter_enabled: true,
            limiter: LimiterSettings {
                lookahead_ms: MASTER_LIMITER_LOOKAHEAD_MS,
                release_ms: MASTER_LIMITER_RELEASE_MS,
                auto_release: false,
                ..LimiterSettings::default()
            },
            clipper_enabled: false,
            clipper_margin_db: MASTER_CLIPPER_MARGIN_DB,
            dither: DitherSettings::default(),
            output_gain_db: 0.0,
        }
    }
}

impl MasterSettings {
    /// Sets the limiter's ceiling to the target's (the drive is what
    /// [`super::learn::TargetLearn`] finds).
    pub fn apply_target(&mut self, target: &LoudnessTarget) {
        self.limiter_enabled = true;
        self.limiter.ceiling_dbtp = target.ceiling_dbtp;
    }
}

/// A delivery loudness: integrated loudness in LUFS and a true-peak ceiling in dBTP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoudnessTarget {
    /// Short lowercase key (stable: saved sessions and the command line use it).
    pub name: &'static str,
    /// Integrated loudness, LUFS.
    pub integrated_lufs: f32,
    /// True-peak ceiling, dBTP.
    pub ceiling_dbtp: f32,
}

/// The guide's loudness table ("Loudness Targets by Genre (Quick Reference)") and its three
/// delivery masters ("Deliver Three Format-Specific Masters"). Where the guide gives a range,
/// the entry takes the point named here:
/// - `pop-rnb`: -14 LUFS, -1 dBTP;
/// - `hip-hop`: -12 to -13 in the guide, -12.5 (the middle);
/// - `club`: -7 to -9 in the guide, -8 (the guide's club/DJ master);
/// - `rock`: -13 to -14 in the guide, -13.5 (the middle);
/// - `cinematic`: -14 to -18 in the guide, -16 (the middle; trailer/sync masters sit at -14
///   to -16);
/// - `singer-songwriter`: -16 to -18 in the guide, -17 (the middle);
/// - `streaming`: -14 LUFS, -1 dBTP (the guide's streaming master);
/// - `vinyl`: -3 dBTP per the guide, which asks for DR above 10 but names no loudness; -16
///   LUFS leaves a peak-to-loudness ratio of 13 dB, comfortably above DR 10.
///
/// All genre targets use the guide's -1.0 dBTP ceiling.
pub const LOUDNESS_TARGETS: &[LoudnessTarget] = &[
    LoudnessTarget {
        name: "pop-rnb",
        integrated_lufs: -14.0,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "hip-hop",
        integrated_lufs: -12.5,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "club",
        integrated_lufs: -8.0,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "rock",
        integrated_lufs: -13.5,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "cinematic",
        integrated_lufs: -16.0,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "singer-songwriter",
        integrated_lufs: -17.0,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "streaming",
        integrated_lufs: -14.0,
        ceiling_dbtp: -1.0,
    },
    LoudnessTarget {
        name: "vinyl",
        integrated_lufs: -16.0,
        ceiling_dbtp: -3.0,
    },
];

/// Any target of [`LOUDNESS_TARGETS`] by its `name`.
pub fn loudness_target(name: &str) -> Option<&'static LoudnessTarget> {
    LOUDNESS_TARGETS.iter().find(|t| t.name == name)
}

/// The delivery targets: `"streaming"` (-14 LUFS, -1 dBTP), `"club"` (-8 LUFS, -1 dBTP),
/// `"vinyl"` (-16 LUFS, -3 dBTP). Other names give `None`.
pub fn delivery_target(name: &str) -> Option<&'static LoudnessTarget> {
    match name {
        "streaming" | "club" | "vinyl" => loudness_target(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_the_eq_mode_or_the_old_quality() {
        let mode = |json: &str| {
            serde_json::from_str::<MasterSettings>(json)
                .unwrap()
                .eq_mode
        };
        assert_eq!(mode("{}"), MasterEqMode::ZeroLatency);
        assert_eq!(
            mode(r#"{"eq_mode": "ZeroLatency"}"#),
            MasterEqMode::ZeroLatency
        );
        assert_eq!(
            mode(r#"{"eq_mode": "LinearHigh"}"#),
            MasterEqMode::LinearHigh
        );
        for (old, new) in [
            ("Low", MasterEqMode::LinearLow),
            ("Medium", MasterEqMode::LinearMedium),
            ("High", MasterEqMode::LinearHigh),
        ] {
            assert_eq!(mode(&format!(r#"{{"eq_mode": "{old}"}}"#)), new);
            assert_eq!(MasterEqMode::from(new.linear_phase().unwrap()), new);
        }
    }

    #[test]
    fn delivery_targets_are_the_guides() {
        let s = delivery_target("streaming").unwrap();
        assert_eq!((s.integrated_lufs, s.ceiling_dbtp), (-14.0, -1.0));
        let c = delivery_target("club").unwrap();
        assert_eq!((c.integrated_lufs, c.ceiling_dbtp), (-8.0, -1.0));
        assert_eq!(delivery_target("vinyl").unwrap().ceiling_dbtp, -3.0);
        assert!(delivery_target("pop-rnb").is_none());
        assert!(loudness_target("pop-rnb").is_some());
    }
}
