//! An instance's part in the Stem Link (issue 18), above the shared-memory transport
//! ([`crate::link`]) and below each plugin's own link thread: what the session saves
//! ([`settings`]), the audio thread's end ([`audio`]), the membership and records
//! ([`endpoint`]), following a ring ([`follower`]) and measuring it ([`levels`]) and the thread that does it all ([`worker`]).
//!
//! What crosses process boundaries: each instance's status record (identity, levels, state,
//! and the master's per-stem figures) and its output audio of the last second or so, with
//! timeline positions. Nothing else: no parameters, no presets, no file paths.

pub mod audio;
pub mod endpoint;
pub mod follower;
pub mod instance;
pub mod levels;
pub mod settings;
pub mod worker;

pub use audio::AudioLinkCell;
pub use endpoint::{Endpoint, Peer};
pub use follower::RingFollower;
pub use instance::InstanceShared;
pub use levels::{Levels, RingLevels};
pub use settings::{LinkSession, LinkSettings};
pub use worker::LinkWorker;
