//! Stem Master parameters. The string ids are the plugin's contract with every saved host
//! session and automation lane: they are short and never renamed. Sections live in nested
//! groups so later sections (glue, linear-phase EQ, width, limiter, loudness targets) add groups without touching
//! these ids.

use nice_plug::prelude::*;
use stem_plugin_common::{InputParams, OutputParams};

#[derive(Params)]
pub struct StemMasterParams {
    /// The host's bypass switch.
    #[id = "bypass"]
    pub bypass: BoolParam,

    #[nested(group = "Input")]
    pub input: InputParams,

    #[nested(group = "Output")]
    pub output: OutputParams,
}

impl Default for StemMasterParams {
    fn default() -> Self {
        StemMasterParams {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            input: InputParams::default(),
            output: OutputParams::default(),
        }
    }
}
