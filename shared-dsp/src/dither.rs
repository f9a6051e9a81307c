//! Dither and word-length reduction for 16- and 24-bit delivery: TPDF and noise-shaped TPDF,
//! off by default.
//!
//! TPDF (triangular probability density, peak-to-peak 2 LSB) dither makes the first and second
//! moments of the total error independent of the signal: S. P. Lipshitz, R. A. Wannamaker and
//! J. Vanderkooy, "Quantization and Dither: A Theoretical Survey", JAES 40(5), 1992. The total
//! error power is then `LSB^2 / 4` (1/12 from the quantiser plus 1/6 from the dither).
//!
//! The noise-shaped option feeds the total error back through the 5-tap "minimally audible"
//! filter of S. P. Lipshitz, J. Vanderkooy and R. A. Wannamaker, "Minimally Audible Noise
//! Shaping", JAES 39(11), 1991 (coefficients 2.033, -2.165, 1.959, -1.590, 0.6149, as in
//! SoX's `lipshitz` shaper), so the error spectrum becomes `|1 - H(z)|^2` times the flat TPDF
//! spectrum: about 16 dB lower below 3 kHz with a notch near 4 kHz, higher above 12 kHz. It
//! is designed for 44.1 kHz; at other rates the curve moves with the sample rate.

use serde::{Deserialize, Serialize};

/// Lipshitz et al. 1991 error-feedback coefficients, newest error first.
pub const LIPSHITZ_COEFS: [f64; 5] = [2.033, -2.165, 1.959, -1.590, 0.6149];
/// The feedback error is clamped to this many LSB, so full-scale clipping cannot make the
/// shaping loop run away.
const MAX_FEEDBACK_LSB: f64 = 16.0;

/// Dither type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DitherMode {
    /// No dither, no quantisation: samples pass untouched.
    #[default]
    Off,
    /// Flat TPDF dither, 2 LSB peak to peak.
    Tpdf,
    /// TPDF dither with Lipshitz 5-tap error-feedback noise shaping.
    NoiseShaped,
}

/// Dither controls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DitherSettings {
    pub mode: DitherMode,
    /// Target word length in bits (16 or 24; 8 to 24 accepted).
    pub bits: u32,
}

impl Default for DitherSettings {
    fn default() -> Self {
        Self {
            mode: DitherMode::Off,
            bits: 24,
        }
    }
}

/// Per-channel state: random generator and error history.
#[derive(Clone, Copy, Debug)]
struct ChannelState {
    rng: u32,
    errors: [f64; 5],
}

/// Multichannel ditherer / quantiser.
#[derive(Clone, Debug)]
pub struct Dither {
    settings: DitherSettings,
    channels: Vec<ChannelState>,
}

impl Dither {
    /// Creates a ditherer for up to `max_channels` channels (off by default).
    pub fn new(max_channels: usize) -> Self {
        let mut d = Self {
            settings: DitherSettings::default(),
            channels: vec![
                ChannelState {
                    rng: 1,
                    errors: [0.0; 5],
                };
                max_channels.max(1)
            ],
        };
        d.reset();
        d
    }

    /// Sets mode and word length (takes effect at once; the unit has no smoothing to do).
    pub fn set_settings(&mut self, settings: DitherSettings) {
        self.settings = settings;
    }

    /// Current settings.
    pub fn settings(&self) -> &DitherSettings {
        &self.settings
    }

    /// Latency in samples (none).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Clears the error history and reseeds the generators (distinct per channel so the
    /// channels' dither is uncorrelated), so output repeats after a reset.
    pub fn reset(&mut self) {
        for (i, c) in self.channels.iter_mut().enumerate() {
            c.rng = 0x9E37_79B9u32.wrapping_mul(i as u32 + 1) | 1;
            c.errors = [0.0; 5];
        }
    }

    /// Quantises planar `channels` in place to the configured word length.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        let mode = self.settings.mode;
        if mode == DitherMode::Off {
            return;
        }
        let bits = self.settings.bits.clamp(8, 24);
        // f64: at 24 bits the codes need all of f32's mantissa, leaving nothing for the dither.
        let scale = (1u32 << (bits - 1)) as f64; // full scale in LSB
        let lsb = 1.0 / scale;
        let max_code = scale - 1.0;
        let shaped = mode == DitherMode::NoiseShaped;
        for (ch, state) in channels.iter_mut().zip(self.channels.iter_mut()) {
            let mut rng = state.rng;
            let mut e = state.errors;
            for s in ch.iter_mut() {
                let x = if s.is_finite() { *s as f64 } else { 0.0 };
                // Two uniforms in [0, 1): their difference is triangular on (-1, 1) LSB.
                let r1 = xorshift(&mut rng);
                let r2 = xorshift(&mut rng);
                let d = r1 - r2;
                let target = if shaped {
                    x * scale
                        - (LIPSHITZ_COEFS[0] * e[0]
                            + LIPSHITZ_COEFS[1] * e[1]
                            + LIPSHITZ_COEFS[2] * e[2]
                            + LIPSHITZ_COEFS[3] * e[3]
                            + LIPSHITZ_COEFS[4] * e[4])
                } else {
                    x * scale
                };
                let code = (target + d).round().clamp(-scale, max_code);
                if shaped {
                    let err = (code - target).clamp(-MAX_FEEDBACK_LSB, MAX_FEEDBACK_LSB);
                    e = [err, e[0], e[1], e[2], e[3]];
                }
                *s = (code * lsb) as f32;
            }
            state.rng = rng;
            state.errors = e;
        }
    }
}

/// Marsaglia's xorshift32 ("Xorshift RNGs", J. Stat. Soft. 8(14), 2003), mapped to [0, 1).
#[inline(always)]
fn xorshift(state: &mut u32) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x as f64 * (1.0 / 4_294_967_296.0)
}
