//! Plugin-side pieces shared by Stem Channel and Stem Master.
//!
//! `shared-dsp` knows no plugin framework; this crate is the thin layer that maps nice-plug
//! parameters and buffers onto it, so the two plugins do not each grow a copy.

pub mod bypass;
pub mod eq_params;
pub mod frame;
pub mod gain;
pub mod handover;
pub mod io;
pub mod link;
pub mod link_session;
pub mod meters;
pub mod param_helpers;
pub mod widgets;

pub use bypass::BypassCrossfade;
pub use eq_params::{EqBandParams, EqParams, EQ_BANDS};
pub use frame::ProcessFrame;
pub use gain::{InputParams, OutputParams};
pub use handover::{AudioHandover, Handover};
pub use io::STEREO_LAYOUTS;
pub use meters::{EditorOpen, MeterValue, SharedHistory, SharedSpectrum};
pub use param_helpers::gain_db_param;
