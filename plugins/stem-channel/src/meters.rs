//! Meter readings the editor shows, and the audio-side analysers that produce them.
//!
//! [`StemChannelMeters`] is shared (`Arc`) between the audio thread and the editor: atomics
//! only, written by the audio thread, read by the editor. [`MeterTaps`] owns the analysers
//! (loudness, correlation, spectra); it runs only while [`EditorOpen`] is set. Gain match is
//! part of the chain and runs regardless; its net-change readout is published always (one
//! store per block).

use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::settings::CHANNEL_EQ_BANDS;
use shared_dsp::meter::correlation::Correlation;
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::meter::spectrum::SpectrumAnalyser;
use stem_plugin_common::frame::MAX_SLICE;
use stem_plugin_common::meters::GR_HISTORY_INTERVAL_MS;
use stem_plugin_common::{EditorOpen, MeterValue, SharedHistory, SharedSpectrum};

use crate::params::MB_BANDS;

/// FFT size of the pre/post spectra (at 48 kHz: 11.7 Hz bins, a new frame every 21 ms).
pub const SPECTRUM_FFT_SIZE: usize = 4096;
/// Gain-reduction history length (values pushed every [`GR_HISTORY_INTERVAL_MS`]: 8 s).
pub const HISTORY_LEN: usize = 400;

/// What the editor reads. Peaks and gain reductions are held maxima: the editor `take()`s them
/// each frame. Levels in dBFS / LUFS, gains in dB, loudness changes in LU.
#[derive(Debug)]
pub struct StemChannelMeters {
    /// Set by the editor while it is visible.
    pub editor_open: EditorOpen,
    /// Sample peak after the input trim (the gain-staging indicator: the guide wants -12 to
    /// -6 dBFS here), held.
    pub input_peak_dbfs: MeterValue,
    /// Sample peak of the output, held.
    pub output_peak_dbfs: MeterValue,
    /// Short-term (3 s) loudness of the input.
    pub input_short_term_lufs: MeterValue,
    /// Short-term (3 s) loudness of the output.
    pub output_short_term_lufs: MeterValue,
    /// Compressor gain reduction (>= 0), held.
    pub compressor_gr_db: MeterValue,
    /// The peak control's largest peak reduction (>= 0), held.
    pub peak_control_reduction_db: MeterValue,
    /// Gain reduction per multiband band (>= 0), latest.
    pub multiband_gr_db: [MeterValue; MB_BANDS],
    /// Momentary gain change of each dynamic EQ band (negative = cut), latest.
    pub eq_dynamic_gain_db: [MeterValue; CHANNEL_EQ_BANDS],
    /// Output correlation, -1..+1.
    pub correlation: MeterValue,
    /// Loudness change input to output, in LU (always published).
    pub net_loudness_change_lu: MeterValue,
    /// Gain the gain match applies, in dB (always published).
    pub gain_match_db: MeterValue,
    /// Spectrum of the input (before the chain).
    pub pre_spectrum: SharedSpectrum,
    /// Spectrum of the output.
    pub post_spectrum: SharedSpectrum,
    /// Compressor gain reduction over time, one value per [`GR_HISTORY_INTERVAL_MS`].
    pub gr_history: SharedHistory,
}

impl Default for StemChannelMeters {
    fn default() -> Self {
        Self {
            editor_open: EditorOpen::default(),
            input_peak_dbfs: MeterValue::default(),
            output_peak_dbfs: MeterValue::default(),
            input_short_term_lufs: MeterValue::default(),
            output_short_term_lufs: MeterValue::default(),
            compressor_gr_db: MeterValue::new(0.0),
            peak_control_reduction_db: MeterValue::new(0.0),
            multiband_gr_db: std::array::from_fn(|_| MeterValue::new(0.0)),
            eq_dynamic_gain_db: std::array::from_fn(|_| MeterValue::new(0.0)),
            correlation: MeterValue::new(1.0),
            net_loudness_change_lu: MeterValue::new(0.0),
            gain_match_db: MeterValue::new(0.0),
            pre_spectrum: SharedSpectrum::default(),
            post_spectrum: SharedSpectrum::default(),
            gr_history: SharedHistory::new(HISTORY_LEN),
        }
    }
}

/// Audio-side analysers feeding [`StemChannelMeters`]. Built in `activate()`.
pub struct MeterTaps {
    input_loudness: LoudnessMeter,
    output_loudness: LoudnessMeter,
    correlation: Correlation,
    pre: SpectrumAnalyser,
    post: SpectrumAnalyser,
    mono: Vec<f32>,
    history_interval: usize,
    since_history: usize,
    history_max_gr_db: f32,
    was_open: bool,
}

impl MeterTaps {
    /// Allocates the analysers for `sample_rate_hz`.
    pub fn new(sample_rate_hz: f32) -> Self {
        let sr = sample_rate_hz as f64;
        Self {
            input_loudness: LoudnessMeter::new(2, sr),
            output_loudness: LoudnessMeter::new(2, sr),
            correlation: Correlation::new(sr),
            pre: SpectrumAnalyser::new(SPECTRUM_FFT_SIZE, sr),
            post: SpectrumAnalyser::new(SPECTRUM_FFT_SIZE, sr),
            mono: vec![0.0; MAX_SLICE],
            history_interval: ((GR_HISTORY_INTERVAL_MS * 1e-3 * sample_rate_hz) as usize).max(1),
            since_history: 0,
            history_max_gr_db: 0.0,
            was_open: false,
        }
    }

    /// Clears every analyser.
    pub fn reset(&mut self) {
        self.input_loudness.reset();
        self.output_loudness.reset();
        self.correlation.reset();
        self.pre.reset();
        self.post.reset();
        self.since_history = 0;
        self.history_max_gr_db = 0.0;
    }

    fn mono_of(&mut self, left: &[f32], right: &[f32]) -> usize {
        let n = left.len().min(right.len()).min(self.mono.len());
        for ((m, &l), &r) in self.mono.iter_mut().zip(left).zip(right).take(n) {
            *m = 0.5 * (l + r);
        }
        n
    }

    /// Measures the input of one slice (before the chain). Only while the editor is open.
    pub fn input(&mut self, meters: &StemChannelMeters, left: &[f32], right: &[f32]) {
        if !self.open(meters) {
            return;
        }
        self.input_loudness.process_block(&[left, right]);
        let n = self.mono_of(left, right);
        self.pre.process_block(&self.mono[..n]);
    }

    /// Measures the output of one slice and publishes everything; returns the slice's
    /// gain reduction (compressor or multiband, whichever is larger) and peak-control
    /// reduction, dB (the Stem Link publishes them whether or not the editor is open).
    pub fn output(
        &mut self,
        meters: &StemChannelMeters,
        chain: &mut ChannelChain,
        left: &[f32],
        right: &[f32],
    ) -> (f32, f32) {
        let m = chain.take_meters();
        let reductions = (
            m.compressor_gr_db
                .max(m.multiband_gr_db.iter().fold(0.0, |a: f32, &b| a.max(b))),
            m.peak_control_reduction_db,
        );
        meters
            .net_loudness_change_lu
            .store(m.net_loudness_change_lu);
        meters.gain_match_db.store(m.gain_match_db);
        if !self.open(meters) {
            return reductions;
        }
        meters.input_peak_dbfs.store_max(m.input_peak_dbfs);
        meters.output_peak_dbfs.store_max(m.output_peak_dbfs);
        meters.compressor_gr_db.store_max(m.compressor_gr_db);
        meters
            .peak_control_reduction_db
            .store_max(m.peak_control_reduction_db);
        for (v, &gr) in meters.multiband_gr_db.iter().zip(&m.multiband_gr_db) {
            v.store(gr);
        }
        for (v, &g) in meters.eq_dynamic_gain_db.iter().zip(&m.eq_dynamic_gain_db) {
            v.store(g);
        }
        self.output_loudness.process_block(&[left, right]);
        self.correlation.process_block(left, right);
        let n = self.mono_of(left, right);
        self.post.process_block(&self.mono[..n]);
        meters
            .input_short_term_lufs
            .store(self.input_loudness.short_term_lufs() as f32);
        meters
            .output_short_term_lufs
            .store(self.output_loudness.short_term_lufs() as f32);
        meters
            .correlation
            .store(self.correlation.correlation() as f32);
        meters.pre_spectrum.publish(&self.pre);
        meters.post_spectrum.publish(&self.post);
        self.history_max_gr_db = self.history_max_gr_db.max(reductions.0);
        self.since_history += left.len();
        if self.since_history >= self.history_interval {
            self.since_history -= self.history_interval;
            meters.gr_history.push(self.history_max_gr_db);
            self.history_max_gr_db = 0.0;
        }
        reductions
    }

    /// Whether the editor is open; the analysers restart when it opens, so they never show
    /// stale history.
    fn open(&mut self, meters: &StemChannelMeters) -> bool {
        let open = meters.editor_open.is_open();
        if open && !self.was_open {
            self.reset();
        }
        self.was_open = open;
        open
    }
}
