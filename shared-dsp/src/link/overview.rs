//! The Stem Master's live overview of its linked stems: each stem's loudness against the mix,
//! its share of the master limiter's gain reduction and of the mix's peaks (the arithmetic of
//! [`crate::meter::attribution`], so the live figures are the render report's), and the low-end
//! conflicts between pairs ([`super::low_end`]).
//!
//! The analysis is fed aligned stretches of the same timeline positions: the master's input (the
//! sum the master hears), the master limiter's gain reduction for each frame of its output, and
//! each linked stem's output. It runs off the audio thread (the master's link thread), fed from
//! the shared-memory rings the instances write. Everything counts from the last [`mark`]
//! (or the start): the reference point the "change since a marked reference point" is
//! measured from.
//!
//! Stems are kept in columns: a stem gets a column when it first appears and keeps it while it
//! is linked; a stem that leaves stops being shown, and its column is not reused before the next
//! mark, so a newcomer never inherits another stem's history.
//!
//! [`mark`]: LinkAnalysis::mark

use super::low_end::{LowEndMeter, LowEndPair};
use super::record::{StemFigures, MAX_ROWS};
use crate::meter::attribution::{loudness_vs_mix_lu, window_samples, AttributionRecorder};
use crate::meter::loudness::LoudnessMeter;

/// Stems the overview follows at once.
pub const MAX_LINKED_STEMS: usize = MAX_ROWS;

/// Longest stretch the attribution covers before it starts again, seconds (its per-window
/// records take `4 (1 + MAX_LINKED_STEMS)` bytes per 10 ms: 23 MB for 30 minutes).
pub const MAX_SPAN_S: f64 = 1800.0;

/// Frames fed per internal step.
const STEP: usize = 4096;

#[derive(Clone, Debug)]
struct Column {
    id: u64,
    live: bool,
    meter: LoudnessMeter,
    /// Loudness against the mix when the mark was set, LU.
    at_mark_lu: Option<f64>,
}

/// The overview's state (see the module documentation).
#[derive(Clone, Debug)]
pub struct LinkAnalysis {
    sample_rate_hz: f64,
    lead_samples: usize,
    columns: Vec<Column>,
    recorder: AttributionRecorder,
    /// The limiter's largest gain reduction per closed 10 ms window of the master's output.
    gain_reduction_windows: Vec<f32>,
    window_samples: usize,
    in_window: usize,
    window_max_db: f32,
    mix: LoudnessMeter,
    low_end: LowEndMeter,
    zeros: Vec<f32>,
}

impl LinkAnalysis {
    /// An overview at `sample_rate_hz` for a master whose limiter's gain reduction comes
    /// `master_latency_samples` after the input it acts on.
    pub fn new(sample_rate_hz: f64, master_latency_samples: usize) -> Self {
        Self {
            sample_rate_hz,
            lead_samples: master_latency_samples,
            columns: Vec::with_capacity(MAX_LINKED_STEMS),
            recorder: Self::recorder(sample_rate_hz, master_latency_samples),
            gain_reduction_windows: Vec::new(),
            window_samples: window_samples(sample_rate_hz),
            in_window: 0,
            window_max_db: 0.0,
            mix: LoudnessMeter::new(2, sample_rate_hz),
            low_end: LowEndMeter::new(MAX_LINKED_STEMS, sample_rate_hz),
            zeros: vec![0.0; STEP],
        }
    }

    fn recorder(sample_rate_hz: f64, lead: usize) -> AttributionRecorder {
        AttributionRecorder::new(MAX_LINKED_STEMS, sample_rate_hz, lead, 0)
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    pub fn master_latency_samples(&self) -> usize {
        self.lead_samples
    }

    /// The column of stem `id`, giving it one if it has none (`None`: all columns are taken
    /// since the last mark; [`Self::mark`] frees the columns of stems that left).
    pub fn column_of(&mut self, id: u64) -> Option<usize> {
        if let Some(c) = self.columns.iter().position(|c| c.id == id && c.live) {
            return Some(c);
        }
        if self.columns.len() == MAX_LINKED_STEMS {
            return None;
        }
        self.columns.push(Column {
            id,
            live: true,
            meter: LoudnessMeter::new(2, self.sample_rate_hz),
            at_mark_lu: None,
        });
        let c = self.columns.len() - 1;
        self.low_end.start(c);
        Some(c)
    }

    /// Stem `id` left the link: it is no longer shown (its past audio still counts in the sum).
    pub fn remove(&mut self, id: u64) {
        if let Some(c) = self.columns.iter().position(|c| c.id == id && c.live) {
            self.columns[c].live = false;
            self.low_end.stop(c);
        }
    }

    /// Ids of the stems shown, in column order.
    pub fn stem_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.columns.iter().filter(|c| c.live).map(|c| c.id)
    }

    /// Feeds one aligned stretch: the master's input, the limiter's gain reduction (dB, >= 0)
    /// for each frame of the master's output, and each column's stem output (`stems[c]`,
    /// `None` where column `c` has no audio for this stretch). All as long as `master_in`.
    pub fn feed(
        &mut self,
        master_in: [&[f32]; 2],
        gain_reduction_db: &[f32],
        stems: &[Option<[&[f32]; 2]>],
    ) {
        let frames = master_in[0].len();
        assert!(master_in[1].len() == frames && gain_reduction_db.len() == frames);
        let mut at = 0;
        while at < frames {
            let n = STEP.min(frames - at);
            let part = |x: &[f32]| -> std::ops::Range<usize> {
                debug_assert_eq!(x.len(), frames);
                at..at + n
            };
            let sum = [
                &master_in[0][part(master_in[0])],
                &master_in[1][part(master_in[1])],
            ];
            let zeros = &self.zeros[..n];
            let mut columns: [[&[f32]; 2]; MAX_LINKED_STEMS] = [[zeros, zeros]; MAX_LINKED_STEMS];
            let mut sounding: [Option<[&[f32]; 2]>; MAX_LINKED_STEMS] = [None; MAX_LINKED_STEMS];
            for (c, s) in stems.iter().enumerate().take(self.columns.len()) {
                if let Some([l, r]) = s {
                    let pair = [&l[at..at + n], &r[at..at + n]];
                    columns[c] = pair;
                    sounding[c] = Some(pair);
                    self.columns[c].meter.process_block(&pair);
                } else {
                    self.columns[c].meter.process_block(&[zeros, zeros]);
                }
            }
            self.recorder.record(sum, &columns);
            self.mix.process_block(&sum);
            self.low_end.process(&sounding, n);
            for &gr in &gain_reduction_db[at..at + n] {
                self.window_max_db = self.window_max_db.max(gr);
                self.in_window += 1;
                if self.in_window == self.window_samples {
                    self.gain_reduction_windows.push(self.window_max_db);
                    self.in_window = 0;
                    self.window_max_db = 0.0;
                }
            }
            at += n;
        }
        if self.gain_reduction_windows.len() as f64 * self.window_samples as f64
            > MAX_SPAN_S * self.sample_rate_hz
        {
            self.restart_attribution();
        }
    }

    fn restart_attribution(&mut self) {
        self.recorder = Self::recorder(self.sample_rate_hz, self.lead_samples);
        self.gain_reduction_windows.clear();
        self.in_window = 0;
        self.window_max_db = 0.0;
    }

    /// Sets the reference point: every stem's current loudness against the mix becomes the
    /// level its change is measured from, and every figure counts again from here. Columns
    /// of stems that left are freed.
    pub fn mark(&mut self) {
        let mix = self.mix.integrated_lufs();
        self.columns.retain(|c| c.live);
        for c in &mut self.columns {
            c.at_mark_lu = loudness_vs_mix_lu(c.meter.integrated_lufs(), mix);
            c.meter.reset();
        }
        self.restart_all();
    }

    /// Forgets everything, the mark included.
    pub fn reset(&mut self) {
        self.columns.clear();
        self.restart_all();
    }

    fn restart_all(&mut self) {
        self.mix.reset();
        self.restart_attribution();
        self.low_end = LowEndMeter::new(MAX_LINKED_STEMS, self.sample_rate_hz);
        for c in 0..self.columns.len() {
            self.low_end.start(c);
        }
    }

    /// The figures of every stem shown, in column order, into `out` (cleared first).
    pub fn figures(&self, out: &mut Vec<StemFigures>) {
        out.clear();
        let gr = self
            .recorder
            .gain_reduction_shares(&self.gain_reduction_windows);
        let peaks = self.recorder.peak_shares();
        let mix_integrated = self.mix.integrated_lufs();
        let mix_short = self.mix.short_term_lufs();
        for (c, col) in self.columns.iter().enumerate() {
            if !col.live {
                continue;
            }
            let vs_mix = loudness_vs_mix_lu(col.meter.integrated_lufs(), mix_integrated);
            out.push(StemFigures {
                instance_id: col.id,
                limiter_gain_reduction_share_percent: gr.as_ref().map(|g| g[c] as f32),
                peak_share_percent: peaks.as_ref().map(|p| p[c] as f32),
                loudness_vs_mix_lu: vs_mix.map(|v| v as f32),
                short_term_vs_mix_lu: loudness_vs_mix_lu(col.meter.short_term_lufs(), mix_short)
                    .map(|v| v as f32),
                change_since_mark_lu: col
                    .at_mark_lu
                    .zip(vs_mix)
                    .map(|(at_mark, now)| (now - at_mark) as f32),
            });
        }
    }

    /// The low-end figures of two stems (by id).
    pub fn low_end(&self, a: u64, b: u64) -> Option<LowEndPair> {
        let col = |id| self.columns.iter().position(|c| c.id == id && c.live);
        self.low_end.pair(col(a)?, col(b)?)
    }

    /// The master's input loudness since the mark, LUFS (integrated) and short-term.
    pub fn mix_lufs(&self) -> (f64, f64) {
        (self.mix.integrated_lufs(), self.mix.short_term_lufs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::{Limiter, LimiterSettings};
    use crate::meter::attribution::AttributionRecorder;
    use test_signals::{noise, sine};

    const FS: f64 = 48_000.0;

    /// Drum-like hits every 250 ms: 5 ms bursts of a decaying 80 Hz sine at `amp`.
    fn hits(n: usize, amp: f64) -> Vec<f32> {
        let period = (0.25 * FS) as usize;
        (0..n)
            .map(|i| {
                let t = (i % period) as f64 / FS;
                (amp * (-t / 0.02).exp() * (2.0 * std::f64::consts::PI * 80.0 * t).sin()) as f32
            })
            .collect()
    }

    /// The whole programme through the render's own attribution (one recorder, the limiter's
    /// per-window gain reduction) and loudness meters: the offline figures the live ones must
    /// equal.
    fn offline(
        stems: &[Vec<f32>],
        gr_windows: &[f32],
        lead: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = stems[0].len();
        let sum: Vec<f32> = (0..n).map(|t| stems.iter().map(|s| s[t]).sum()).collect();
        let mut rec = AttributionRecorder::new(stems.len(), FS, lead, n);
        let pairs: Vec<[&[f32]; 2]> = stems.iter().map(|s| [&s[..], &s[..]]).collect();
        rec.record([&sum, &sum], &pairs);
        let mut mix = LoudnessMeter::new(2, FS);
        mix.process_block(&[&sum, &sum]);
        let lu = stems
            .iter()
            .map(|s| {
                let mut m = LoudnessMeter::new(2, FS);
                m.process_block(&[s, s]);
                m.integrated_lufs() - mix.integrated_lufs()
            })
            .collect();
        (
            rec.gain_reduction_shares(gr_windows).unwrap(),
            rec.peak_shares().unwrap(),
            lu,
        )
    }

    #[test]
    fn live_figures_fed_in_odd_stretches_equal_the_offline_attribution() {
        let n = (12.0 * FS) as usize;
        let stems = vec![
            hits(n, 0.9),
            sine(n, 220.0, FS, 0.2),
            noise(n, 7).iter().map(|v| 0.05 * v).collect(),
        ];
        let sum: Vec<f32> = (0..n).map(|t| stems.iter().map(|s| s[t]).sum()).collect();
        // The master's limiter on the sum (3 dB of drive): its gain reduction per frame of its
        // output (the largest of each 8-frame block).
        let mut limiter = Limiter::new(2, FS as f32);
        limiter.set_sample_rate(FS);
        limiter.set_settings(LimiterSettings {
            input_gain_db: 3.0,
            ..LimiterSettings::default()
        });
        limiter.reset();
        let lead = limiter.latency_samples();
        let mut gr = Vec::with_capacity(n);
        let [mut l, mut r] = [sum.clone(), sum.clone()];
        for (a, b) in l.chunks_mut(8).zip(r.chunks_mut(8)) {
            let len = a.len();
            limiter.process_block(&mut [a, b]);
            gr.extend(std::iter::repeat_n(
                limiter.block_max_gain_reduction_db(),
                len,
            ));
        }
        let mut live = LinkAnalysis::new(FS, lead);
        let ids = [11u64, 22, 33];
        for id in ids {
            live.column_of(id).unwrap();
        }
        let mut at = 0;
        for size in [1usize, 37, 512, 4999, 10_007].iter().cycle() {
            if at >= n {
                break;
            }
            let m = (*size).min(n - at);
            let stretch: Vec<Option<[&[f32]; 2]>> = stems
                .iter()
                .map(|s| Some([&s[at..at + m], &s[at..at + m]]))
                .collect();
            live.feed(
                [&sum[at..at + m], &sum[at..at + m]],
                &gr[at..at + m],
                &stretch,
            );
            at += m;
        }
        let w = window_samples(FS);
        let gr_windows: Vec<f32> = gr
            .chunks(w)
            .filter(|c| c.len() == w)
            .map(|c| c.iter().fold(0.0f32, |a, &b| a.max(b)))
            .collect();
        let (gr_share, peak_share, lu) = offline(&stems, &gr_windows, lead);
        let mut figures = Vec::new();
        live.figures(&mut figures);
        assert_eq!(figures.len(), 3);
        for (i, f) in figures.iter().enumerate() {
            assert_eq!(f.instance_id, ids[i]);
            let g = f.limiter_gain_reduction_share_percent.unwrap() as f64;
            let p = f.peak_share_percent.unwrap() as f64;
            let l = f.loudness_vs_mix_lu.unwrap() as f64;
            assert!(
                (g - gr_share[i]).abs() < 1e-3,
                "stem {i}: {g} vs {}",
                gr_share[i]
            );
            assert!(
                (p - peak_share[i]).abs() < 1e-3,
                "stem {i}: {p} vs {}",
                peak_share[i]
            );
            assert!((l - lu[i]).abs() < 1e-6, "stem {i}: {l} vs {}", lu[i]);
        }
        // The hits make the limiter work: theirs is by far the largest share.
        let hits_share = figures[0].limiter_gain_reduction_share_percent.unwrap();
        assert!(hits_share > 70.0, "{figures:?}");
    }

    #[test]
    fn a_stem_that_leaves_disappears_and_the_mark_measures_change() {
        let n = (6.0 * FS) as usize;
        let a: Vec<f32> = noise(n, 1).iter().map(|v| 0.1 * v).collect();
        let b: Vec<f32> = noise(n, 2).iter().map(|v| 0.1 * v).collect();
        let sum: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let gr = vec![0.0f32; n];
        let mut live = LinkAnalysis::new(FS, 0);
        live.column_of(1).unwrap();
        live.column_of(2).unwrap();
        live.feed([&sum, &sum], &gr, &[Some([&a, &a]), Some([&b, &b])]);
        let mut f = Vec::new();
        live.figures(&mut f);
        // Two equally loud uncorrelated noises: each -3.01 LU against their sum.
        for row in &f {
            assert!(
                (row.loudness_vs_mix_lu.unwrap() + 3.01).abs() < 0.02,
                "{row:?}"
            );
            assert_eq!(row.limiter_gain_reduction_share_percent, None);
            assert_eq!(row.change_since_mark_lu, None);
        }
        live.mark();
        // Stem 1 comes up 2 dB: its loudness against the mix moves by about +1 LU (its share
        // of the sum grows too), and the change is measured from the mark.
        let up = 10f32.powf(2.0 / 20.0);
        let a2: Vec<f32> = a.iter().map(|v| v * up).collect();
        let sum2: Vec<f32> = a2.iter().zip(&b).map(|(x, y)| x + y).collect();
        live.feed([&sum2, &sum2], &gr, &[Some([&a2, &a2]), Some([&b, &b])]);
        live.figures(&mut f);
        let expected = 10.0 * (10f64.powf(0.2) / (10f64.powf(0.2) + 1.0)).log10() + 3.0103;
        let change = f[0].change_since_mark_lu.unwrap() as f64;
        assert!((change - expected).abs() < 0.02, "{change} vs {expected}");
        live.remove(2);
        live.figures(&mut f);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].instance_id, 1);
        assert_eq!(live.low_end(1, 2), None);
    }
}
