//! Gain parameters in dB and the smoothed gain stage that applies them.

use nice_plug::prelude::*;
use shared_dsp::util::db_to_gain;
use std::sync::Arc;

/// Smoothing time of every gain parameter. 20 ms ramps a full-range jump without zipper noise
/// yet lets automation follow a fader move closely.
pub const GAIN_SMOOTHING_MS: f32 = 20.0;

/// A gain parameter in dB over `min_db..=max_db`, linear in dB so the range's midpoint, a host's
/// "reset to default" and typed values land on exact dB figures (0 dB is exactly unity). The dB
/// value is smoothed linearly, which makes the gain ramp geometric: even-sounding in level.
pub fn gain_db_param(name: &str, default_db: f32, min_db: f32, max_db: f32) -> FloatParam {
    FloatParam::new(
        name,
        default_db,
        FloatRange::Linear {
            min: min_db,
            max: max_db,
        },
    )
    .with_smoother(SmoothingStyle::Linear(GAIN_SMOOTHING_MS))
    .with_unit(" dB")
    .with_value_to_string(formatters::v2s_f32_rounded(2))
    .with_string_to_value(s2v_db())
}

/// The parser type nice-plug's `with_string_to_value` takes.
type StringToValue = Arc<dyn Fn(&str) -> Option<f32> + Send + Sync>;

/// Parses "-6", "-6 dB", "-6dB" or "+3.5 db" into dB.
fn s2v_db() -> StringToValue {
    Arc::new(|text: &str| {
        let text = text.trim();
        let number = text
            .strip_suffix("dB")
            .or_else(|| text.strip_suffix("db"))
            .or_else(|| text.strip_suffix("DB"))
            .unwrap_or(text);
        number.trim().trim_start_matches('+').parse().ok()
    })
}

/// Input trim range in dB: enough to bring a stem printed hot or quiet into the staging window.
pub const TRIM_RANGE_DB: (f32, f32) = (-24.0, 24.0);
/// Output gain range in dB.
pub const OUTPUT_RANGE_DB: (f32, f32) = (-24.0, 24.0);

/// The input section both plugins start their chain with. Its id is part of every saved
/// session: never rename it.
#[derive(Params)]
pub struct InputParams {
    /// Input trim for gain staging before any processing (the guide wants stems peaking between
    /// -12 and -6 dBFS going in).
    #[id = "in_trim"]
    pub trim: FloatParam,
}

impl Default for InputParams {
    fn default() -> Self {
        InputParams {
            trim: gain_db_param("Input Trim", 0.0, TRIM_RANGE_DB.0, TRIM_RANGE_DB.1),
        }
    }
}

/// The output section both plugins end their chain with. Its id is part of every saved
/// session: never rename it.
#[derive(Params)]
pub struct OutputParams {
    /// Output gain after the whole chain.
    #[id = "out_gain"]
    pub gain: FloatParam,
}

impl Default for OutputParams {
    fn default() -> Self {
        OutputParams {
            gain: gain_db_param("Output Gain", 0.0, OUTPUT_RANGE_DB.0, OUTPUT_RANGE_DB.1),
        }
    }
}

/// Applies one smoothed dB parameter to every channel of a block, sample-accurately.
pub struct GainStage;

impl GainStage {
    /// Multiplies `channels` by the parameter's smoothed gain. When the smoother is idle at
    /// exactly 0 dB the block is left untouched, so a neutral stage is bit-exact.
    pub fn process(param: &FloatParam, channels: &mut [&mut [f32]; 2]) {
        let smoother = &param.smoothed;
        if !smoother.is_smoothing() {
            let gain_db = smoother.next();
            if gain_db != 0.0 {
                let gain = db_to_gain(gain_db);
                for channel in channels.iter_mut() {
                    channel.iter_mut().for_each(|s| *s *= gain);
                }
            }
            return;
        }
        let num_samples = channels[0].len();
        for i in 0..num_samples {
            let gain = db_to_gain(smoother.next());
            for channel in channels.iter_mut() {
                channel[i] *= gain;
            }
        }
    }
}
