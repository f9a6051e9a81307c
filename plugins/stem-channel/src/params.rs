//! Stem Channel parameters. The string ids are the plugin's contract with every saved host
//! session and automation lane: they are short and never renamed. Sections live in nested
//! groups so later sections (EQ, compressor, width, saturation) add groups without touching
//! these ids.

use nice_plug::prelude::*;
use stem_plugin_common::{InputParams, OutputParams};

#[derive(Params)]
pub struct StemChannelParams {
    /// The host's bypass switch.
    #[id = "bypass"]
    pub bypass: BoolParam,

    #[nested(group = "Input")]
    pub input: InputParams,

    #[nested(group = "Output")]
    pub output: OutputParams,
}

impl Default for StemChannelParams {
    fn default() -> Self {
        StemChannelParams {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            input: InputParams::default(),
            output: OutputParams::default(),
        }
    }
}
