//! The gain sections both plugins open and close their chain with, as dB parameters.

use crate::param_helpers::gain_db_param;
pub use crate::param_helpers::GAIN_SMOOTHING_MS;
use nice_plug::prelude::*;

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
