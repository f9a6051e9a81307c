//! What the audio thread publishes for the editor: the loudness panel (BS.1770 / EBU R128
//! readings of the output), gain reduction with its history, the output spectrum, the distance
//! to the selected target, the streaming-normalisation readout, the loudness-matched compare
//! gain, latency, and the learn handshake (with the Learn capture's round trip). Lock-free (`stem_plugin_common::meters`): the audio
//! thread only stores, the editor only reads, except for the flags documented below.
//!
//! Rates: readings are stored every block; histories are pushed every
//! [`GR_HISTORY_INTERVAL_MS`] / [`LOUDNESS_HISTORY_INTERVAL_MS`]. The spectrum is computed only
//! while [`MasterMeters::editor_open`] is set; loudness, true peak and gain reduction always
//! run (learn and the compare match need them, and they are cheap).

use crate::learn_plan::CaptureExchange;
use std::sync::atomic::{AtomicBool, Ordering};
pub use stem_plugin_common::meters::GR_HISTORY_INTERVAL_MS;
use stem_plugin_common::meters::{EditorOpen, MeterValue, SharedHistory, SharedSpectrum};

/// Gain-reduction history length in points (10 s at 20 ms).
pub const GR_HISTORY_LEN: usize = 500;
/// One loudness history point per this many ms (momentary and short-term loudness).
pub const LOUDNESS_HISTORY_INTERVAL_MS: f32 = 100.0;
/// Loudness history length in points (3 minutes at 100 ms).
pub const LOUDNESS_HISTORY_LEN: usize = 1800;
/// FFT size of the output spectrum at 48 kHz (scaled with the rate).
pub const SPECTRUM_FFT_SIZE_48K: usize = 4096;
/// Output samples kept per channel for the editor's codec check: 8 s at 48 kHz (4 s at 96 kHz;
/// allocated with the plugin, so its length cannot follow the rate).
pub const OUTPUT_TAIL_LEN: usize = 8 * 48_000;

/// Everything the editor reads. Shared as `Arc<MasterMeters>` between plugin and editor.
#[derive(Debug)]
pub struct MasterMeters {
    /// Set by the editor while visible (the spectrum runs only then).
    pub editor_open: EditorOpen,
    /// Set by the editor to clear loudness, true peak, histories and the compare match; the
    /// audio thread clears it when done.
    pub reset_requested: AtomicBool,

    // Loudness panel (output, after dither), LUFS / LU / dB; -inf until measured.
    pub momentary_lufs: MeterValue,
    pub short_term_lufs: MeterValue,
    pub integrated_lufs: MeterValue,
    pub loudness_range_lu: MeterValue,
    pub true_peak_max_dbtp: MeterValue,
    /// Peak to loudness ratio (max true peak minus integrated), dB.
    pub plr_db: MeterValue,

    /// Selected target (for the panel), LUFS and dBTP.
    pub target_lufs: MeterValue,
    pub target_ceiling_dbtp: MeterValue,
    /// Integrated loudness minus target, LU (positive = louder than the target: show it in
    /// the warning colour). NaN until measured.
    pub distance_to_target_lu: MeterValue,
    /// True when the max true peak is above the ceiling in use (should never happen with the
    /// limiter on; shown in the warning colour).
    pub over_ceiling: AtomicBool,
    /// How many dB a service normalising to -14 LUFS turns the master down (>= 0).
    pub streaming_turn_down_db: MeterValue,

    /// Gain reduction now (largest of the last block), dB >= 0.
    pub glue_gain_reduction_db: MeterValue,
    pub limiter_gain_reduction_db: MeterValue,
    /// Gain-reduction traces, dB >= 0, one point per [`GR_HISTORY_INTERVAL_MS`].
    pub glue_gr_history: SharedHistory,
    pub limiter_gr_history: SharedHistory,
    /// Loudness traces, LUFS, one point per [`LOUDNESS_HISTORY_INTERVAL_MS`].
    pub momentary_history: SharedHistory,
    pub short_term_history: SharedHistory,

    /// Output spectrum (mid, (L+R)/2), third-octave bands.
    pub spectrum: SharedSpectrum,
    /// Output correlation, -1..+1.
    pub correlation: MeterValue,

    /// Latency of the EQ in the mode in use (0 with zero latency), and of the whole plugin, ms.
    pub eq_latency_ms: MeterValue,
    pub latency_ms: MeterValue,

    /// Loudness-matched A/B: the gain the unprocessed side gets, dB, and the unprocessed
    /// (latency-aligned input) integrated loudness, LUFS.
    pub compare_gain_db: MeterValue,
    pub unprocessed_integrated_lufs: MeterValue,

    /// The last [`OUTPUT_TAIL_LEN`] output samples per channel, written while the editor is
    /// open, and their rate (Hz): what the codec check encodes.
    pub output_tail: [SharedHistory; 2],
    pub output_tail_rate_hz: MeterValue,

    /// True while a learn pass measures.
    pub learning: AtomicBool,
    /// Integrated loudness measured by the running learn pass, LUFS.
    pub learn_measured_lufs: MeterValue,
    /// Result of the last learn pass: the limiter gain in dB that lands on the target. Valid
    /// when [`Self::learn_result_ready`] is set; the editor writes it to the "Limiter Gain"
    /// parameter (so the host records it) and clears the flag.
    pub learn_result_db: MeterValue,
    pub learn_result_ready: AtomicBool,
    /// The round trip of the Learn capture between editor and audio thread.
    pub learn_capture: CaptureExchange,
}

impl Default for MasterMeters {
    fn default() -> Self {
        Self {
            editor_open: EditorOpen::default(),
            reset_requested: AtomicBool::new(false),
            momentary_lufs: MeterValue::default(),
            short_term_lufs: MeterValue::default(),
            integrated_lufs: MeterValue::default(),
            loudness_range_lu: MeterValue::new(0.0),
            true_peak_max_dbtp: MeterValue::default(),
            plr_db: MeterValue::default(),
            target_lufs: MeterValue::new(-14.0),
            target_ceiling_dbtp: MeterValue::new(-1.0),
            distance_to_target_lu: MeterValue::new(f32::NAN),
            over_ceiling: AtomicBool::new(false),
            streaming_turn_down_db: MeterValue::new(0.0),
            glue_gain_reduction_db: MeterValue::new(0.0),
            limiter_gain_reduction_db: MeterValue::new(0.0),
            glue_gr_history: SharedHistory::new(GR_HISTORY_LEN),
            limiter_gr_history: SharedHistory::new(GR_HISTORY_LEN),
            momentary_history: SharedHistory::new(LOUDNESS_HISTORY_LEN),
            short_term_history: SharedHistory::new(LOUDNESS_HISTORY_LEN),
            spectrum: SharedSpectrum::default(),
            correlation: MeterValue::new(1.0),
            eq_latency_ms: MeterValue::new(0.0),
            latency_ms: MeterValue::new(0.0),
            compare_gain_db: MeterValue::new(0.0),
            unprocessed_integrated_lufs: MeterValue::default(),
            output_tail: [
                SharedHistory::new(OUTPUT_TAIL_LEN),
                SharedHistory::new(OUTPUT_TAIL_LEN),
            ],
            output_tail_rate_hz: MeterValue::new(48_000.0),
            learning: AtomicBool::new(false),
            learn_measured_lufs: MeterValue::default(),
            learn_result_db: MeterValue::new(0.0),
            learn_result_ready: AtomicBool::new(false),
            learn_capture: CaptureExchange::default(),
        }
    }
}

impl MasterMeters {
    /// Editor: asks the audio thread to clear the loudness readings and histories.
    pub fn request_reset(&self) {
        self.reset_requested.store(true, Ordering::Relaxed);
    }

    /// Editor: takes a finished learn result (the limiter gain in dB), at most once.
    pub fn take_learn_result(&self) -> Option<f32> {
        if self.learn_result_ready.swap(false, Ordering::AcqRel) {
            Some(self.learn_result_db.load())
        } else {
            None
        }
    }

    /// Clears the histories and the held readings (audio thread, on a reset request).
    pub(crate) fn clear(&self) {
        for h in [
            &self.glue_gr_history,
            &self.limiter_gr_history,
            &self.momentary_history,
            &self.short_term_history,
            &self.output_tail[0],
            &self.output_tail[1],
        ] {
            h.clear();
        }
        for v in [
            &self.momentary_lufs,
            &self.short_term_lufs,
            &self.integrated_lufs,
            &self.true_peak_max_dbtp,
            &self.plr_db,
            &self.unprocessed_integrated_lufs,
        ] {
            v.store(f32::NEG_INFINITY);
        }
        self.distance_to_target_lu.store(f32::NAN);
        self.over_ceiling.store(false, Ordering::Relaxed);
    }
}
