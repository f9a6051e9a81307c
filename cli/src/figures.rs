//! A programme's report figures measured block by block, so a report never holds the audio:
//! loudness (BS.1770-5 / EBU R128 via `LoudnessMeter`, whose result does not depend on how the
//! input is split) with its 100 ms history, true peak (`TruePeakMeter`, per-sample identical in
//! any block split), sample peak, PLR, TT DR ([`DrMeter`]) and the average spectrum
//! ([`SpectrumMeter`]). Fed the same samples in any blocks, every figure is bit-identical to
//! measuring the whole programme at once.

use shared_dsp::meter::long_term_spectrum::{MidSidePower, SpectrumMeter};
use shared_dsp::meter::loudness::{LoudnessMeter, WEIGHTS_STEREO};
use shared_dsp::meter::true_peak::TruePeakMeter;

use crate::analysis::{
    amp_db, correlation, mono_fold_change_lu, DrMeter, LoudnessFigures, LoudnessHistory,
};
use crate::decode::MAX_MEASURED_CHANNELS;
use crate::layout::ChannelLayout;

/// Measures a programme of `frames` frames (the spectrum's frame positions need the length up
/// front) as it is fed.
pub struct FiguresMeter {
    sample_rate_hz: u32,
    loudness: LoudnessTrack,
    true_peak: TruePeakMeter,
    sample_peak: f32,
    dr: DrMeter,
    spectrum: SpectrumMeter,
    /// Per channel: sum of samples (DC) and the frame count is `frames`.
    channel_sums: Vec<f64>,
    /// Stereo only: sums of L*R, L*L, R*R, and the mono fold-down `(L+R)/2` on both sides.
    products: [f64; 3],
    fold: Option<(LoudnessMeter, Vec<f32>)>,
}

impl FiguresMeter {
    /// For a programme of `frames` frames with `num_channels` channels (1 or 2). Mono is measured
    /// as it plays on two speakers (both sides).
    pub fn new(num_channels: usize, sample_rate_hz: u32, frames: usize) -> Self {
        Self::for_weights(num_channels, &WEIGHTS_STEREO, sample_rate_hz, frames)
    }

    /// For a programme in `layout` (any number of channels up to
    /// [`crate::decode::MAX_MEASURED_CHANNELS`]): loudness with the layout's BS.1770 weights,
    /// true and sample peak over every channel, TT DR averaged over the channels, and the
    /// spectrum of the front pair (channels 1 and 2). Mono and stereo measure as [`Self::new`].
    pub fn with_layout(layout: &ChannelLayout, sample_rate_hz: u32, frames: usize) -> Self {
        let n = layout.weights.len();
        if n <= 2 {
            Self::new(n, sample_rate_hz, frames)
        } else {
            Self::for_weights(n, &layout.weights, sample_rate_hz, frames)
        }
    }

    fn for_weights(
        num_channels: usize,
        weights: &[f64],
        sample_rate_hz: u32,
        frames: usize,
    ) -> Self {
        let sr = sample_rate_hz as f64;
        let mut loudness = LoudnessMeter::new(weights.len(), sr);
        loudness.set_channel_weights(weights);
        Self {
            sample_rate_hz,
            loudness: LoudnessTrack::new(loudness, sr),
            true_peak: TruePeakMeter::new(weights.len(), sr),
            sample_peak: 0.0,
            dr: DrMeter::new(num_channels, sample_rate_hz),
            spectrum: SpectrumMeter::new(frames, sr),
            channel_sums: vec![0.0; num_channels],
            products: [0.0; 3],
            fold: (num_channels == 2).then(|| (LoudnessMeter::new(2, sr), Vec::new())),
        }
    }

    /// Also measures the side signal's spectrum ([`Self::mid_side_power`]), for a master's
    /// comparison with its mix; call before feeding.
    pub fn with_side_spectrum(mut self) -> Self {
        self.spectrum =
            SpectrumMeter::mid_side(self.spectrum.planned_frames(), self.sample_rate_hz as f64);
        self
    }

    /// The mid and side power per bin so far ([`SpectrumMeter::mid_side_power`]; `None` unless
    /// made [`Self::with_side_spectrum`]).
    pub fn mid_side_power(&self) -> Option<MidSidePower> {
        self.spectrum.mid_side_power()
    }

    /// Feeds the next frames: one slice per channel of the programme, equal lengths.
    pub fn process(&mut self, channels: &[&[f32]]) {
        let l = channels[0];
        let r = channels.get(1).copied().unwrap_or(l);
        // What the loudness and true-peak meters see: mono on both speakers, else every channel.
        let mono_on_two = [l, r];
        let measured: &[&[f32]] = if channels.len() <= 2 {
            &mono_on_two
        } else {
            channels
        };
        self.loudness.process(measured);
        self.true_peak.process_block(measured);
        for ch in channels {
            self.sample_peak = ch.iter().fold(self.sample_peak, |m, &x| m.max(x.abs()));
        }
        self.dr.process(channels);
        self.spectrum.process(l, r);
        for (sum, ch) in self.channel_sums.iter_mut().zip(channels) {
            *sum += ch.iter().map(|&x| x as f64).sum::<f64>();
        }
        if let Some((meter, fold)) = &mut self.fold {
            let [lr, ll, rr] = &mut self.products;
            for (&a, &b) in l.iter().zip(r) {
                *lr += a as f64 * b as f64;
                *ll += a as f64 * a as f64;
                *rr += b as f64 * b as f64;
            }
            fold.clear();
            fold.extend(l.iter().zip(r).map(|(&a, &b)| 0.5 * (a + b)));
            meter.process_block(&[fold, fold]);
        }
    }

    /// Frames fed so far.
    pub fn frames(&self) -> usize {
        self.loudness.frames
    }

    /// Whether the spectrum was planned for the length fed (a header that under-declares its
    /// frames is the only way it is not; the caller then measures the spectrum again).
    pub fn spectrum_planned_right(&self) -> bool {
        self.spectrum.planned_frames() == self.spectrum.frames_seen()
    }

    /// The figures, the loudness history and the average spectrum ((Hz, dB) points).
    pub fn finish(mut self) -> (LoudnessFigures, LoudnessHistory, Vec<(f64, f64)>) {
        let frames = self.loudness.frames;
        let (loudness, history) = self.loudness.finish();
        // The interpolator is flushed with silence so a peak in the last samples is seen.
        let tail = vec![0.0f32; self.true_peak.latency_samples() + 64];
        let tails = vec![tail.as_slice(); self.true_peak.num_channels()];
        self.true_peak.process_block(&tails);
        let true_peak_dbtp = self.true_peak.true_peak_dbtp();
        let integrated = loudness.integrated_lufs();
        let plr = if true_peak_dbtp.is_finite() && integrated.is_finite() {
            true_peak_dbtp - integrated
        } else {
            f64::NEG_INFINITY
        };
        let dr = self.dr.finish();
        (
            LoudnessFigures {
                integrated_lufs: integrated,
                momentary_max_lufs: loudness.max_momentary_lufs(),
                short_term_max_lufs: loudness.max_short_term_lufs(),
                lra_lu: loudness.loudness_range_lu(),
                true_peak_dbtp,
                sample_peak_dbfs: amp_db(self.sample_peak as f64),
                plr_db: plr,
                dr: dr.map(|d| d.dr),
                dr_db: dr.map(|d| d.dr_db),
                dc_offset_dbfs: self
                    .channel_sums
                    .iter()
                    .map(|&sum| amp_db((sum / frames.max(1) as f64).abs()))
                    .collect(),
                stereo_correlation: self.fold.as_ref().and_then(|_| {
                    correlation(self.products[0], self.products[1], self.products[2])
                }),
                mono_fold_change_lu: self.fold.as_ref().and_then(|(meter, _)| {
                    mono_fold_change_lu(integrated, meter.integrated_lufs())
                }),
            },
            history,
            self.spectrum.finish(),
        )
    }
}

/// A loudness meter and its history: one point (momentary and short-term loudness) every
/// 100 ms of programme and one at its end, so a plot over time costs three numbers per 100 ms
/// whatever the programme's length.
pub struct LoudnessTrack {
    meter: LoudnessMeter,
    sample_rate_hz: f64,
    /// History interval (100 ms), samples, and the samples since the last history point.
    hop: usize,
    since_hop: usize,
    frames: usize,
    history: LoudnessHistory,
}

impl LoudnessTrack {
    /// Tracks `meter` (its channel weights set), fed at `sample_rate_hz`.
    pub fn new(meter: LoudnessMeter, sample_rate_hz: f64) -> Self {
        let hop = meter.tick_len() * 10;
        Self {
            meter,
            sample_rate_hz,
            hop,
            since_hop: 0,
            frames: 0,
            history: LoudnessHistory::default(),
        }
    }

    /// A stereo track at `sample_rate_hz`.
    pub fn stereo(sample_rate_hz: f64) -> Self {
        Self::new(LoudnessMeter::new(2, sample_rate_hz), sample_rate_hz)
    }

    /// Feeds the next frames: one slice per channel the meter weighs, equal lengths (the meter's
    /// result does not depend on how its input is split, so cutting at the history points
    /// changes no figure).
    pub fn process(&mut self, channels: &[&[f32]]) {
        let n = channels.first().map_or(0, |c| c.len());
        let mut at = 0;
        let mut part: [&[f32]; MAX_MEASURED_CHANNELS] = [&[]; MAX_MEASURED_CHANNELS];
        while at < n {
            let take = (self.hop - self.since_hop).min(n - at);
            for (p, ch) in part.iter_mut().zip(channels) {
                *p = &ch[at..at + take];
            }
            self.meter.process_block(&part[..channels.len()]);
            self.since_hop += take;
            self.frames += take;
            at += take;
            if self.since_hop == self.hop {
                self.history_point();
            }
        }
    }

    fn history_point(&mut self) {
        self.since_hop = 0;
        self.history
            .time_s
            .push(self.frames as f64 / self.sample_rate_hz);
        self.history
            .momentary_lufs
            .push(self.meter.momentary_lufs());
        self.history
            .short_term_lufs
            .push(self.meter.short_term_lufs());
    }

    /// The meter, for its figures so far.
    pub fn meter(&self) -> &LoudnessMeter {
        &self.meter
    }

    /// The meter and the history, its last point at the programme's end.
    pub fn finish(mut self) -> (LoudnessMeter, LoudnessHistory) {
        if self.since_hop > 0 {
            self.history_point();
        }
        (self.meter, self.history)
    }
}
