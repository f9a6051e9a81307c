//! Per-file figures: sample and true peak, clipping runs, DC offset, loudness (BS.1770-5 via
//! `shared_dsp::meter`), low-frequency side energy, and the TT Dynamic Range.
//!
//! TT DR follows the Pleasurize Music Foundation's published off-line meter procedure
//! ("Measuring DR", dynamicrange.de, v3), as the open DR14 T.meter reproduces it: per channel,
//! 3 s blocks (the last one partial, still divided by the full block length); per block
//! `RMS = sqrt(2 * sum(x^2) / n)` (a full-scale sine reads 0 dB) and the sample peak; the RMS of
//! the loudest 20 % of blocks (`round(0.2 * blocks)`, at least one) is set against the
//! second-highest block peak; `DR_ch = 20 log10(peak_2nd / rms_top20)`; DR is the mean over
//! channels rounded to an integer.

use serde::Serialize;
use shared_dsp::filter::biquad::BiquadCascade;
use shared_dsp::filter::coefficients::{CascadeCoefs, Slope};

use crate::audio::{format_label, Audio};
use crate::decode::AudioSpec;
use crate::figures::FiguresMeter;
use crate::files::display_name;
use crate::layout::ChannelLayout;

/// A sample this close to full scale counts as clipped (the top code of 16-bit PCM is
/// -0.00027 dBFS, so every integer format's largest code qualifies).
pub const CLIP_LEVEL: f32 = 0.9999;
/// Consecutive samples at [`CLIP_LEVEL`] or above that make a clipping run (one or two
/// full-scale samples occur in legitimate peaks; three in a row are flat-topped).
pub const CLIP_RUN_SAMPLES: usize = 3;
/// DC offset above this is reported (-60 dBFS: 0.1 % of full scale).
pub const DC_WARN_DBFS: f64 = -60.0;
/// Side energy below 100 Hz on the bass stem is reported above this, dB relative to the mid
/// energy below 100 Hz (the guide: "bass below 100 Hz should always be mono").
pub const BASS_SIDE_WARN_DB: f64 = -20.0;
/// Frequency below which the bass stem should be mono, Hz.
pub const BASS_MONO_HZ: f64 = 100.0;

/// Converts a linear amplitude to dB (`-inf` for 0).
pub fn amp_db(x: f64) -> f64 {
    if x > 0.0 {
        20.0 * x.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// "-12.3 dBFS", "-inf dBFS".
pub fn fmt_db(v: f64, unit: &str) -> String {
    if v == f64::NEG_INFINITY {
        format!("-inf {unit}")
    } else if v.is_nan() {
        format!("n/a {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// Figures of one file on its own.
#[derive(Clone, Debug, Serialize)]
pub struct FileStats {
    pub file: String,
    pub format: String,
    pub sample_rate_hz: u32,
    pub bits_per_sample: u16,
    pub channels: usize,
    pub frames: usize,
    pub duration_s: f64,
    pub sample_peak_dbfs: f64,
    pub true_peak_dbtp: f64,
    /// Runs of at least [`CLIP_RUN_SAMPLES`] consecutive samples at full scale (all channels).
    pub clip_runs: usize,
    /// Longest such run, samples.
    pub longest_clip_run: usize,
    /// Largest per-channel mean, dBFS.
    pub dc_offset_dbfs: f64,
    /// Integrated loudness as the file sits in a stereo mix (a mono file feeds both sides), or
    /// with its layout's BS.1770 channel weights (5.0, 5.1, 7.1, ...).
    pub integrated_lufs: f64,
    /// NaN or infinite samples found (float files; replaced by silence for the analysis).
    pub non_finite_samples: usize,
    /// Whole-file Pearson correlation of left and right (`None` for mono or silence): +1 mono,
    /// 0 uncorrelated, -1 one side inverted.
    pub stereo_correlation: Option<f64>,
    /// Integrated loudness of the mono fold-down `(L+R)/2` on both sides minus the stereo
    /// loudness, LU (`None` for mono or silence): what a mono playback system loses.
    pub mono_fold_change_lu: Option<f64>,
}

/// Below this whole-file L/R correlation a stem or mix is mostly out of phase (warned).
/// Uncorrelated sides (r = 0: decorrelated reverbs, wide noise) are legitimate, so the line sits
/// clearly below 0.
pub const CORRELATION_WARN: f64 = -0.2;
/// A mono fold-down quieter than the stereo file by more than this is warned, LU. Equal,
/// uncorrelated sides fold 3 dB down (half the power), in-phase ones 0 dB; beyond 4.5 LU the
/// sides cancel (r below about -0.4).
pub const MONO_FOLD_WARN_LU: f64 = -4.5;

/// Pearson correlation of left and right from their sums of products (`None` when a side is
/// silent).
pub fn correlation(sum_lr: f64, sum_ll: f64, sum_rr: f64) -> Option<f64> {
    (sum_ll > 0.0 && sum_rr > 0.0).then(|| sum_lr / (sum_ll * sum_rr).sqrt())
}

/// The mono fold-down's loudness minus the stereo loudness, LU (`None` for silence).
pub fn mono_fold_change_lu(stereo_lufs: f64, mono_lufs: f64) -> Option<f64> {
    let change =
        (stereo_lufs.is_finite() && mono_lufs.is_finite()).then_some(mono_lufs - stereo_lufs);
    // A fold that cancels to silence is the worst case, not "no figure".
    change.or((stereo_lufs.is_finite() && !mono_lufs.is_finite()).then_some(-70.0))
}

/// One file's [`FileStats`] measured block by block (memory independent of its length): the
/// loudness, peaks, DC, correlation and fold-down of [`FiguresMeter`] (the figures `stem report`
/// gives) plus the clipping runs.
pub struct FileStatsMeter {
    figures: FiguresMeter,
    /// Per channel: full-scale samples in a row so far.
    runs: Vec<usize>,
    clip_runs: usize,
    longest_clip_run: usize,
}

impl FileStatsMeter {
    /// For a file in `layout` (its loudness with the layout's BS.1770 weights; mono as it plays
    /// on both sides of a stereo mix).
    pub fn new(layout: &ChannelLayout, sample_rate_hz: u32) -> Self {
        Self {
            // Planned for 0 frames: no spectrum is taken, as the check shows none.
            figures: FiguresMeter::with_layout(layout, sample_rate_hz, 0),
            runs: vec![0; layout.weights.len()],
            clip_runs: 0,
            longest_clip_run: 0,
        }
    }

    /// Feeds the next frames: one slice per channel of the file, equal lengths.
    pub fn process(&mut self, channels: &[&[f32]]) {
        self.figures.process(channels);
        for (run, ch) in self.runs.iter_mut().zip(channels) {
            for &x in *ch {
                if x.abs() >= CLIP_LEVEL {
                    *run += 1;
                } else {
                    if *run >= CLIP_RUN_SAMPLES {
                        self.clip_runs += 1;
                        self.longest_clip_run = self.longest_clip_run.max(*run);
                    }
                    *run = 0;
                }
            }
        }
    }

    /// The figures of the file `spec` describes, `frames` long with `non_finite` NaN/Inf samples.
    pub fn finish(mut self, spec: &AudioSpec, frames: u64, non_finite: usize) -> FileStats {
        for &run in &self.runs {
            if run >= CLIP_RUN_SAMPLES {
                self.clip_runs += 1;
                self.longest_clip_run = self.longest_clip_run.max(run);
            }
        }
        let (f, _, _) = self.figures.finish();
        FileStats {
            file: display_name(&spec.path),
            format: format_label(spec.float, spec.bits_per_sample),
            sample_rate_hz: spec.sample_rate_hz,
            bits_per_sample: spec.bits_per_sample,
            channels: spec.channels,
            frames: frames as usize,
            duration_s: frames as f64 / spec.sample_rate_hz as f64,
            sample_peak_dbfs: f.sample_peak_dbfs,
            true_peak_dbtp: f.true_peak_dbtp,
            clip_runs: self.clip_runs,
            longest_clip_run: self.longest_clip_run,
            dc_offset_dbfs: f
                .dc_offset_dbfs
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max),
            integrated_lufs: f.integrated_lufs,
            non_finite_samples: non_finite,
            stereo_correlation: f.stereo_correlation,
            mono_fold_change_lu: f.mono_fold_change_lu,
        }
    }
}

/// Energy of the side signal below [`BASS_MONO_HZ`] relative to the mid signal below it, dB,
/// measured block by block on the front pair (`-inf` for a mono file or identical channels).
/// Both are low-passed by a 4th-order Butterworth (24 dB/oct) at 100 Hz.
pub struct LowSideMeter {
    lp_mid: BiquadCascade,
    lp_side: BiquadCascade,
    mid: Vec<f32>,
    side: Vec<f32>,
    e_mid: f64,
    e_side: f64,
}

impl LowSideMeter {
    pub fn new(sample_rate_hz: u32) -> Self {
        let coefs =
            CascadeCoefs::butterworth_lowpass(sample_rate_hz as f64, BASS_MONO_HZ, Slope::Db24);
        Self {
            lp_mid: BiquadCascade::new(coefs),
            lp_side: BiquadCascade::new(coefs),
            mid: vec![0.0; 4096],
            side: vec![0.0; 4096],
            e_mid: 0.0,
            e_side: 0.0,
        }
    }

    /// Feeds the next frames (one slice per channel; a mono file has no side).
    pub fn process(&mut self, channels: &[&[f32]]) {
        let [l, r] = match channels {
            [l, r, ..] => [*l, *r],
            _ => return,
        };
        for (lc, rc) in l.chunks(4096).zip(r.chunks(4096)) {
            let n = lc.len();
            for i in 0..n {
                self.mid[i] = 0.5 * (lc[i] + rc[i]);
                self.side[i] = 0.5 * (lc[i] - rc[i]);
            }
            self.lp_mid.process_block(&mut self.mid[..n]);
            self.lp_side.process_block(&mut self.side[..n]);
            let energy = |x: &[f32]| x.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
            self.e_mid += energy(&self.mid[..n]);
            self.e_side += energy(&self.side[..n]);
        }
    }

    pub fn finish(&self) -> f64 {
        if self.e_side <= 0.0 {
            return f64::NEG_INFINITY;
        }
        if self.e_mid <= 0.0 {
            return f64::INFINITY;
        }
        10.0 * (self.e_side / self.e_mid).log10()
    }
}

/// TT Dynamic Range of `channels` (see the module docs). `None` for silence or no audio.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DynamicRange {
    /// The published integer figure ("DR12").
    pub dr: i32,
    /// The unrounded mean of the channels' values, dB.
    pub dr_db: f64,
    /// Number of 3 s blocks (the figure is meant for programmes of at least 5 blocks).
    pub blocks: usize,
}

/// TT DR of whole in-memory channels (see [`DrMeter`]).
pub fn tt_dynamic_range(channels: &[&[f32]], sample_rate_hz: u32) -> Option<DynamicRange> {
    let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    let mut meter = DrMeter::new(channels.len(), sample_rate_hz);
    let cut: Vec<&[f32]> = channels.iter().map(|c| &c[..frames]).collect();
    meter.process(&cut);
    meter.finish()
}

/// TT DR measured block by block: per channel only the running sum of squares and peak of the
/// current 3 s block, and each finished block's RMS and peak (two numbers per 3 s: 19 kB for an
/// hour), never the audio.
#[derive(Clone, Debug)]
pub struct DrMeter {
    block_frames: usize,
    /// Frames of the current block fed so far.
    fill: usize,
    frames: usize,
    /// Per channel: the current block's sum of squares and peak.
    sum_sq: Vec<f64>,
    peak: Vec<f32>,
    /// Per channel: finished blocks' RMS and peak.
    rms: Vec<Vec<f64>>,
    peaks: Vec<Vec<f64>>,
}

impl DrMeter {
    pub fn new(num_channels: usize, sample_rate_hz: u32) -> Self {
        Self {
            block_frames: (3.0 * sample_rate_hz as f64).round() as usize,
            fill: 0,
            frames: 0,
            sum_sq: vec![0.0; num_channels],
            peak: vec![0.0; num_channels],
            rms: vec![Vec::new(); num_channels],
            peaks: vec![Vec::new(); num_channels],
        }
    }

    /// Feeds the next frames (one slice per channel, equal lengths).
    pub fn process(&mut self, channels: &[&[f32]]) {
        let frames = channels.first().map_or(0, |c| c.len());
        if self.block_frames == 0 {
            return;
        }
        let mut at = 0;
        while at < frames {
            let n = (self.block_frames - self.fill).min(frames - at);
            for (c, ch) in channels.iter().enumerate() {
                // Summed in order, sample by sample, as over the whole block at once.
                let mut sq = self.sum_sq[c];
                let mut pk = self.peak[c];
                for &x in &ch[at..at + n] {
                    sq += (x as f64) * (x as f64);
                    pk = pk.max(x.abs());
                }
                self.sum_sq[c] = sq;
                self.peak[c] = pk;
            }
            self.fill += n;
            self.frames += n;
            at += n;
            if self.fill == self.block_frames {
                self.close_block();
            }
        }
    }

    fn close_block(&mut self) {
        for c in 0..self.sum_sq.len() {
            // The last, partial block is still divided by the full block length.
            self.rms[c].push((2.0 * self.sum_sq[c] / self.block_frames as f64).sqrt());
            self.peaks[c].push(self.peak[c] as f64);
            self.sum_sq[c] = 0.0;
            self.peak[c] = 0.0;
        }
        self.fill = 0;
    }

    /// The figure; `None` for silence or no audio.
    pub fn finish(mut self) -> Option<DynamicRange> {
        if self.frames == 0 || self.block_frames == 0 || self.sum_sq.is_empty() {
            return None;
        }
        if self.fill > 0 {
            self.close_block();
        }
        let blocks = self.rms[0].len();
        let top = ((blocks as f64 * 0.2).round() as usize).max(1);
        let mut sum_db = 0.0;
        for (rms, peaks) in self.rms.iter_mut().zip(self.peaks.iter_mut()) {
            rms.sort_by(|a, b| b.total_cmp(a));
            peaks.sort_by(|a, b| b.total_cmp(a));
            let top_rms = (rms[..top].iter().map(|r| r * r).sum::<f64>() / top as f64).sqrt();
            let second_peak = peaks.get(1).copied().unwrap_or(peaks[0]);
            if top_rms <= 0.0 || second_peak <= 0.0 {
                return None;
            }
            sum_db += 20.0 * (second_peak / top_rms).log10();
        }
        let dr_db = sum_db / self.rms.len() as f64;
        Some(DynamicRange {
            dr: dr_db.round() as i32,
            dr_db,
            blocks,
        })
    }
}

/// Loudness figures of a programme (BS.1770-5 / EBU R128 via `LoudnessMeter`, true peak via
/// `TruePeakMeter`, PLR as `ProgrammeMeter` defines it) plus TT DR.
#[derive(Clone, Debug, Serialize)]
pub struct LoudnessFigures {
    pub integrated_lufs: f64,
    pub momentary_max_lufs: f64,
    pub short_term_max_lufs: f64,
    pub lra_lu: f64,
    pub true_peak_dbtp: f64,
    pub sample_peak_dbfs: f64,
    pub plr_db: f64,
    /// TT DR, integer (`null` for silence).
    pub dr: Option<i32>,
    /// TT DR before rounding, dB.
    pub dr_db: Option<f64>,
    /// Each channel's mean (DC offset), dBFS.
    pub dc_offset_dbfs: Vec<f64>,
    /// Whole-programme L/R correlation (see [`FileStats::stereo_correlation`]); `None` for
    /// mono, multichannel or silence.
    pub stereo_correlation: Option<f64>,
    /// See [`FileStats::mono_fold_change_lu`].
    pub mono_fold_change_lu: Option<f64>,
}

/// Momentary and short-term loudness every 100 ms, for the loudness plot.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoudnessHistory {
    pub time_s: Vec<f64>,
    pub momentary_lufs: Vec<f64>,
    pub short_term_lufs: Vec<f64>,
}

/// Measures a whole in-memory programme ([`crate::figures::FiguresMeter`]): its figures, the
/// loudness history and the average spectrum.
pub fn loudness_figures(audio: &Audio) -> (LoudnessFigures, LoudnessHistory, Vec<(f64, f64)>) {
    let mut meter = crate::figures::FiguresMeter::new(
        audio.num_channels(),
        audio.sample_rate_hz,
        audio.frames(),
    );
    let channels: Vec<&[f32]> = audio.channels.iter().map(|c| c.as_slice()).collect();
    meter.process(&channels);
    meter.finish()
}
