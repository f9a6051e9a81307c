//! The reference player of the Stem Master (issue 20): up to four reference files, decoded and
//! resampled off the audio thread, played in a loop or in step with the transport,
//! loudness-matched and switched against the master; a blind test.
//!
//! - [`settings`]: what the session saves (paths, loops, active slot, mode).
//! - [`loader`]: the decoding worker and each slot's status.
//! - [`audio`]: the audio-thread side ([`shared_dsp::reference::player`]) and the shared
//!   controls and readouts.
//! - [`blind`]: the blind test's sides and score.
//! - [`analysis`]: the master captured in the session against the reference (`stem
//!   compare`'s figures), and the Match EQ written into the master EQ's free bands.
//! - [`window`]: the editor's reference window.

pub mod analysis;
pub mod audio;
pub mod blind;
pub mod loader;
pub mod settings;
pub(crate) mod window;
