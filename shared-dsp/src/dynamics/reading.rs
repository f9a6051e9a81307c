//! What a dynamics unit shows its meters: the gain reduction it applies now and the largest it
//! applied during the last block, both in dB (>= 0). The compressor and the limiter keep it
//! the same way, so it lives once, here.

/// A dynamics unit's gain-reduction reading for meters, in dB (>= 0).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ReductionReading {
    /// Gain reduction at the last processed sample, in dB.
    pub(crate) now_db: f32,
    /// Largest gain reduction during the last processed block, in dB.
    pub(crate) block_max_db: f32,
}
