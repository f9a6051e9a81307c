//! Reference playback for the master's A/B comparison (the guide's last step before delivery:
//! "conduct a rigorous A/B comparison against a commercial reference track in the same genre,
//! matched in loudness").
//!
//! - [`track`]: a reference decoded and resampled to the session rate, and its loop region.
//! - [`loudness_match`]: the reference's gain that matches its integrated loudness to the
//!   master's over the same played span, settling and then holding.
//! - [`player`]: the audio-thread player: up to [`player::SLOTS`] references, loop or
//!   transport-synchronised (latency-aligned) playback, and the click-free A/B cross-fade.
//!
//! Nothing here allocates after construction; the tracks arrive ready-made (decoded off the
//! audio thread) as `Arc`s and leave the same way.

pub mod loudness_match;
pub mod player;
pub mod track;
