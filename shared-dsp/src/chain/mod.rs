//! Whole processing chains in physical units, shared by the plugins and the `stem` tool so a
//! DAW session and an offline render produce the same samples.
//!
//! - [`settings`]: the settings of both chains (plain data), the stem types with the guide's
//!   starting points, the loudness targets.
//! - [`channel`]: the Stem Channel chain (one per stem bus).
//! - [`gain_match`]: keeps the channel output as loud as its input (K-weighted).
//! - [`ramp`]: the one gain ramp (dB or amplitude law) and the latency-aligned gain.
//! - [`master`]: the Stem Master chain (the sum of the stems).
//! - [`smoothing`]: the one way both chains glide their settings to new targets.
//! - [`ranges`]: the documented range of every numeric setting (plugins' parameters, `stem`
//!   presets).
//! - [`learn`]: the master's target assist (limiter drive for a loudness target) and the
//!   streaming-normalisation readout.
//! - [`learn_capture`]: the pre-limiter signal the master's Learn heard, for its plan.
//! - [`loudness_plan`]: how a master reaches its target (drive, clipper or limiter alone, the
//!   loudness damage of each), for the render and the master's Learn alike.

pub mod channel;
pub mod gain_match;
pub mod learn;
pub mod learn_capture;
pub mod loudness_plan;
pub mod master;
mod master_eq;
pub mod peak_stage;
pub mod ramp;
pub mod ranges;
mod section;
pub mod settings;
pub mod smoothing;

/// Samples per control step of the chain kit: the Channel chain's settings smoothing and the
/// gain match's gain move once per step of this many samples, counted across calls so any
/// partition of the audio into blocks sees the same steps.
pub const CONTROL_STEP_SAMPLES: usize = 32;

pub use settings::{
    delivery_target, loudness_target, ChannelSettings, DynamicsMode, LoudnessTarget, MasterEqMode,
    MasterSettings, StemType, CHANNEL_EQ_BANDS, LOUDNESS_TARGETS, MASTER_EQ_BANDS,
    MASTER_LIMITER_LOOKAHEAD_MS,
};
