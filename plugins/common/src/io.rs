//! The audio port layout both plugins use.

use nice_plug::prelude::*;

/// Stereo in, stereo out: the only layout a stem bus needs.
pub const STEREO_LAYOUTS: &[AudioIOLayout] = &[AudioIOLayout {
    main_input_channels: NonZeroU32::new(2),
    main_output_channels: NonZeroU32::new(2),
    ..AudioIOLayout::const_default()
}];
