//! The gain sections both plugins open and close their chain with, as dB parameters.

use crate::param_helpers::gain_db_param;
pub use crate::param_helpers::GAIN_SMOOTHING_MS;
use nice_plug::prelude::*;
use shared_dsp::chain::ranges::{OUTPUT_GAIN_DB, TRIM_DB};

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
            trim: gain_db_param("Input Trim", 0.0, TRIM_DB.min, TRIM_DB.max),
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
            gain: gain_db_param("Output Gain", 0.0, OUTPUT_GAIN_DB.min, OUTPUT_GAIN_DB.max),
        }
    }
}
