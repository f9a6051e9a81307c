//! A soft clipper with a clip level: the order-4 algebraic sigmoid of [`crate::saturation`]
//! ([`SaturationMode::SoftClip`]) scaled so its asymptote is the clip level, on the saturation's
//! anti-aliased path (8x with first-order antiderivative anti-aliasing), so its aliases stay
//! below -80 dBFS however far the programme goes over the clip level.
//!
//! One unit serves both peak-control stages: the Stem Master's clipper before its limiter
//! ([`crate::chain::peak_stage`]) and the Stem Channel's peak control, which shaves a stem's
//! transients before the stems are summed ([`crate::chain::channel`]).
//!
//! Its work per block is read from the curve itself: a sample peak `p` at the clip level `T`
//! comes out at `p / (1 + (p/T)^4)^(1/4)`, a reduction of `5 log10(1 + (p/T)^4)` dB, which is
//! exact for the curve and needs no alignment of input and output.

use crate::saturation::{Saturation, SaturationMode, SaturationSettings, ADAA_ABOVE_DRIVE_DB};
use crate::util::db_to_gain;

// The clipper must run on the anti-aliased path (see `CLIPPER_INNER_DRIVE_DB`).
const _: () = assert!(CLIPPER_INNER_DRIVE_DB > ADAA_ABOVE_DRIVE_DB);

/// Oversampling factor asked of the saturation (its anti-aliased path runs it at 8x).
pub const CLIPPER_OVERSAMPLING: usize = 4;

/// Drive the clipper's saturation runs at, dB: above the saturation's
/// [`ADAA_ABOVE_DRIVE_DB`], so the curve always runs on its anti-aliased path (8x, first-order
/// antiderivative anti-aliasing). A clipper's real drive is how far the programme goes over
/// the clip level, which no setting knows; the plain 4x path aliases at -63 dBFS 9 dB over it.
/// The clipper divides this drive out before the saturation (which multiplies it back in), so
/// the curve sees the signal in clip levels either way.
pub const CLIPPER_INNER_DRIVE_DB: f32 = 12.0;

/// Peak reduction of the soft clipper for a sample peak `peak_over_level` times its clip level,
/// dB (see the module notes).
pub fn clipper_peak_reduction_db(peak_over_level: f32) -> f32 {
    let u2 = peak_over_level * peak_over_level;
    5.0 * (1.0 + u2 * u2).log10()
}

/// The clipper's saturation settings: a soft clip whose asymptote is `1 / drive` (the clipper
/// scales the signal to its clip level around it).
fn clipper_settings() -> SaturationSettings {
    SaturationSettings {
        mode: SaturationMode::SoftClip,
        drive_db: CLIPPER_INNER_DRIVE_DB,
        bias: 0.0,
        mix_percent: 100.0,
        output_db: 0.0,
        oversampling: CLIPPER_OVERSAMPLING,
    }
}

/// Stereo soft clipper. Allocates in [`Clipper::new`] only.
#[derive(Clone, Debug)]
pub struct Clipper {
    saturation: Saturation,
    /// Clip level (the curve's asymptote), linear.
    level: f32,
    block_max_reduction_db: f32,
}

impl Clipper {
    /// A clipper at `sample_rate_hz` with its clip level at 0 dBFS.
    pub fn new(sample_rate_hz: f64) -> Self {
        let mut saturation = Saturation::new(2, clipper_settings());
        saturation.set_sample_rate(sample_rate_hz);
        Self {
            saturation,
            level: 1.0,
            block_max_reduction_db: 0.0,
        }
    }

    /// Runs the saturation's 2 Hz DC blocker after the curve ([`Saturation::set_dc_blocker_always`]):
    /// the master's clipper, driven hard into asymmetric waveforms, makes DC the limiter's
    /// drive would keep. Call before processing.
    pub fn set_dc_blocker(&mut self, on: bool) {
        self.saturation.set_dc_blocker_always(on);
    }

    /// Sets the sample rate (the oversampler's filters; call before processing).
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.saturation.set_sample_rate(sample_rate_hz);
    }

    /// Sets the clip level, dBFS (the curve's asymptote). Never allocates.
    pub fn set_level_db(&mut self, level_db: f32) {
        self.level = db_to_gain(level_db);
    }

    /// Latency, samples (the oversampler's: 55 at 48 kHz).
    pub fn latency_samples(&self) -> usize {
        self.saturation.latency_samples()
    }

    /// Clears all audio state.
    pub fn reset(&mut self) {
        self.saturation.reset();
        self.block_max_reduction_db = 0.0;
    }

    /// Largest peak reduction over the last [`Self::process_block`], dB.
    pub fn block_max_reduction_db(&self) -> f32 {
        self.block_max_reduction_db
    }

    /// Clips a stereo block in place. Never allocates.
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let peak = left
            .iter()
            .chain(right.iter())
            .fold(0.0f32, |p, &x| p.max(x.abs()));
        self.block_max_reduction_db = clipper_peak_reduction_db(peak / self.level);
        // The saturation multiplies by its drive, clips at 1 and divides the drive out again:
        // in clip levels over the drive, out times both.
        let outer = self.level * db_to_gain(CLIPPER_INNER_DRIVE_DB);
        let (to_unit, from_unit) = (1.0 / outer, outer);
        for x in left.iter_mut().chain(right.iter_mut()) {
            *x *= to_unit;
        }
        self.saturation
            .process_block(&mut [&mut *left, &mut *right]);
        for x in left.iter_mut().chain(right.iter_mut()) {
            *x *= from_unit;
        }
    }
}
