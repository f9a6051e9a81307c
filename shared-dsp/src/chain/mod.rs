//! Whole processing chains in physical units, shared by the plugins and the `stem` tool so a
//! DAW session and an offline render produce the same samples.
//!
//! - [`channel`]: the Stem Channel chain (one per stem bus).
//! - [`gain_match`]: keeps the channel output as loud as its input (K-weighted).
//! - [`master`]: the Stem Master chain (the sum of the stems).
//! - [`learn`]: the master's target assist (limiter drive for a loudness target) and the
//!   streaming-normalisation readout.

pub mod channel;
pub mod gain_match;
pub mod learn;
pub mod master;
