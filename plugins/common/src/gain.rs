//! Gain parameters in dB and the smoothed gain stage that applies them.

use nice_plug::prelude::*;

/// Smoothing time of every gain parameter. 20 ms ramps a full-range jump without zipper noise
/// yet lets automation follow a fader move closely.
pub const GAIN_SMOOTHING_MS: f32 = 20.0;

/// A gain parameter stored as a linear factor and shown in dB, with a range of
/// `min_db..=max_db` and logarithmic smoothing (smoothing the linear factor geometrically makes
/// a ramp sound even in dB).
pub fn gain_db_param(name: &str, default_db: f32, min_db: f32, max_db: f32) -> FloatParam {
    FloatParam::new(
        name,
        util::db_to_gain(default_db),
        FloatRange::Skewed {
            min: util::db_to_gain(min_db),
            max: util::db_to_gain(max_db),
            factor: FloatRange::gain_skew_factor(min_db, max_db),
        },
    )
    .with_smoother(SmoothingStyle::Logarithmic(GAIN_SMOOTHING_MS))
    .with_unit(" dB")
    .with_value_to_string(formatters::v2s_f32_gain_to_db(2))
    .with_string_to_value(formatters::s2v_f32_gain_to_db())
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

/// Applies one smoothed gain parameter to every channel of a block, sample-accurately.
pub struct GainStage;

impl GainStage {
    /// Multiplies `channels` (equal lengths) by the parameter's smoothed value. When the smoother
    /// is idle at exactly unity the block is left untouched, so a neutral stage is bit-exact.
    pub fn process(param: &FloatParam, channels: &mut [&mut [f32]; 2]) {
        let smoother = &param.smoothed;
        if !smoother.is_smoothing() {
            let gain = smoother.next();
            if gain != 1.0 {
                for channel in channels.iter_mut() {
                    channel.iter_mut().for_each(|s| *s *= gain);
                }
            }
            return;
        }
        let num_samples = channels.first().map_or(0, |c| c.len());
        for i in 0..num_samples {
            let gain = smoother.next();
            for channel in channels.iter_mut() {
                channel[i] *= gain;
            }
        }
    }
}
