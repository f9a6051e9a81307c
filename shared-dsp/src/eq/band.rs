//! EQ band settings (plain, serde-serialisable, physical units) and their analytic curves.
//!
//! The shapes are the analogue prototypes of [`crate::filter::coefficients`] (RBJ "Audio EQ
//! Cookbook" bell and shelves, Butterworth highpass/lowpass, first-order tilt); the curve a
//! band draws is the response of its matched digital design, so the editor shows exactly what
//! the audio path does.

use crate::filter::{CascadeCoefs, Precision, Shape, Slope};
use realfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

/// Shape of one band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BandKind {
    Bell,
    LowShelf,
    HighShelf,
    Notch,
    BandPass,
    Tilt,
    /// Butterworth highpass; `slope` sets 6..48 dB/oct, `q` is ignored.
    HighPass,
    /// Butterworth lowpass; `slope` sets 6..48 dB/oct, `q` is ignored.
    LowPass,
}

impl BandKind {
    /// Whether the band has a gain (and so can be dynamic).
    pub fn has_gain(self) -> bool {
        matches!(
            self,
            BandKind::Bell | BandKind::LowShelf | BandKind::HighShelf | BandKind::Tilt
        )
    }
}

/// Which signal a band acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Placement {
    /// Both channels alike.
    Stereo,
    Left,
    Right,
    /// `(L + R) / 2`.
    Mid,
    /// `(L - R) / 2`.
    Side,
}

/// Dynamic behaviour of a bell/shelf/tilt band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DynamicSettings {
    pub enabled: bool,
    /// Band level (peak amplitude of the band-limited detector signal, dBFS) above which the
    /// band starts moving.
    pub threshold_db: f32,
    /// Largest gain change in dB: negative cuts, positive boosts. The change equals the
    /// overshoot above the threshold, up to `|range_db|`.
    pub range_db: f32,
    /// Time for the gain change to cover 90 % of a step, in ms.
    pub attack_ms: f32,
    /// Time for the gain change to recover 90 % of the way back, in ms.
    pub release_ms: f32,
}

impl Default for DynamicSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold_db: -24.0,
            range_db: -6.0,
            attack_ms: 10.0,
            release_ms: 120.0,
        }
    }
}

/// One EQ band in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BandSettings {
    pub enabled: bool,
    pub kind: BandKind,
    /// Centre / corner frequency in Hz.
    pub freq_hz: f32,
    /// Gain in dB (bell, shelves, tilt).
    pub gain_db: f32,
    /// Quality factor (bell, shelves, notch, band-pass).
    pub q: f32,
    /// Slope of highpass/lowpass bands.
    pub slope: Slope,
    pub placement: Placement,
    pub dynamic: DynamicSettings,
}

impl Default for BandSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            kind: BandKind::Bell,
            freq_hz: 1_000.0,
            gain_db: 0.0,
            q: std::f32::consts::FRAC_1_SQRT_2,
            slope: Slope::Db12,
            placement: Placement::Stereo,
            dynamic: DynamicSettings::default(),
        }
    }
}

impl BandSettings {
    /// An enabled bell.
    pub fn bell(freq_hz: f32, gain_db: f32, q: f32) -> Self {
        Self {
            enabled: true,
            kind: BandKind::Bell,
            freq_hz,
            gain_db,
            q,
            ..Self::default()
        }
    }

    /// An enabled band of `kind` (slope 12 dB/oct for highpass/lowpass).
    pub fn new(kind: BandKind, freq_hz: f32, gain_db: f32, q: f32) -> Self {
        Self {
            kind,
            ..Self::bell(freq_hz, gain_db, q)
        }
    }

    /// Whether the dynamic section is active (only gain bands can be dynamic).
    pub fn is_dynamic(&self) -> bool {
        self.dynamic.enabled && self.kind.has_gain()
    }

    /// The analogue shape with `freq_hz`, `q` and `gain_db + gain_offset_db`.
    pub fn shape_with(&self, freq_hz: f64, q: f64, gain_db: f64) -> Shape {
        let hz = freq_hz;
        match self.kind {
            BandKind::Bell => Shape::Bell { hz, q, gain_db },
            BandKind::LowShelf => Shape::LowShelf { hz, q, gain_db },
            BandKind::HighShelf => Shape::HighShelf { hz, q, gain_db },
            BandKind::Notch => Shape::Notch { hz, q },
            BandKind::BandPass => Shape::BandPass { hz, q },
            BandKind::Tilt => Shape::Tilt { hz, gain_db },
            BandKind::HighPass => Shape::ButterworthHighpass {
                hz,
                slope: self.slope,
            },
            BandKind::LowPass => Shape::ButterworthLowpass {
                hz,
                slope: self.slope,
            },
        }
    }

    /// The analogue shape of the settings as they are.
    pub fn shape(&self) -> Shape {
        self.shape_with(self.freq_hz as f64, self.q as f64, self.gain_db as f64)
    }

    /// Matched digital design at `sample_rate_hz` (identity when disabled).
    pub fn design(&self, sample_rate_hz: f64) -> CascadeCoefs {
        if self.enabled {
            CascadeCoefs::design(sample_rate_hz, self.shape(), Precision::Matched)
        } else {
            CascadeCoefs::identity(sample_rate_hz)
        }
    }

    /// Whether this band shows in (and acts on) the curve of `view`: stereo bands act on
    /// every view, the others only on their own.
    pub fn acts_on(&self, view: Placement) -> bool {
        self.placement == Placement::Stereo || self.placement == view
    }
}

/// The combined curve of a band set, designed once and evaluated cheaply (for editors and
/// the linear-phase EQ).
#[derive(Clone, Debug)]
pub struct EqCurve {
    designs: Vec<(Placement, CascadeCoefs)>,
}

impl EqCurve {
    /// Designs every enabled band (allocates; not for the audio thread).
    pub fn new(sample_rate_hz: f64, bands: &[BandSettings]) -> Self {
        Self {
            designs: bands
                .iter()
                .filter(|b| b.enabled)
                .map(|b| (b.placement, b.design(sample_rate_hz)))
                .collect(),
        }
    }

    /// Combined complex response at `hz` of the bands acting on `view`.
    pub fn response(&self, hz: f64, view: Placement) -> Complex64 {
        self.designs
            .iter()
            .filter(|(p, _)| *p == Placement::Stereo || *p == view)
            .fold(Complex64::new(1.0, 0.0), |acc, (_, c)| acc * c.response(hz))
    }

    /// Combined magnitude at `hz` in dB.
    pub fn magnitude_db(&self, hz: f64, view: Placement) -> f64 {
        20.0 * self.response(hz, view).norm().max(1e-300).log10()
    }
}
