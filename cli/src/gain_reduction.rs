//! How hard a master's limiter worked, for its report: the limiter's largest gain reduction in
//! each 10 ms window of the programme, summarised as mean, 95th percentile, maximum and the share
//! of time beyond 3 and 6 dB. A "pass" on loudness alone hides a master that reached its target
//! by limiting 10 dB all the time; these figures show it.
//!
//! Memory is a fixed histogram (0.05 dB bins up to 60 dB); the mean, maximum and shares are
//! exact, the percentile is the upper edge of its bin. Each window's reading is also kept
//! (4 bytes per 10 ms), for the stem attribution ([`crate::stem_attribution`]).

use serde::Serialize;

/// Window whose largest reduction is one reading, seconds (the attribution's window).
pub const WINDOW_S: f64 = shared_dsp::meter::attribution::WINDOW_S;
const BIN_DB: f64 = 0.05;
const BINS: usize = 1200;

/// Accumulates the limiter's gain reduction window by window.
#[derive(Clone, Debug)]
pub struct GainReductionHistogram {
    window_samples: usize,
    in_window: usize,
    window_max_db: f32,
    bins: Vec<u64>,
    windows: u64,
    sum_db: f64,
    max_db: f64,
    over_3_db: u64,
    over_6_db: u64,
    /// Every closed window's reading, dB.
    window_log_db: Vec<f32>,
}

/// The summary a master's report shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GainReductionStats {
    pub mean_db: f64,
    pub p95_db: f64,
    pub max_db: f64,
    /// Share of the 10 ms windows with more than 3 dB of reduction, percent.
    pub percent_over_3_db: f64,
    pub percent_over_6_db: f64,
}

impl GainReductionHistogram {
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            window_samples: shared_dsp::meter::attribution::window_samples(sample_rate_hz),
            in_window: 0,
            window_max_db: 0.0,
            bins: vec![0; BINS],
            windows: 0,
            sum_db: 0.0,
            max_db: 0.0,
            over_3_db: 0,
            over_6_db: 0,
            window_log_db: Vec::new(),
        }
    }

    /// Every closed window's largest reduction so far, dB, in order.
    pub fn window_log_db(&self) -> &[f32] {
        &self.window_log_db
    }

    /// Samples left in the current window: the most the next processed block may span.
    pub fn samples_to_window_end(&self) -> usize {
        self.window_samples - self.in_window
    }

    /// Records `samples` just processed whose largest reduction was `block_max_db` (at most
    /// [`Self::samples_to_window_end`]); closes the window when it is full.
    pub fn record(&mut self, samples: usize, block_max_db: f32) {
        self.window_max_db = self.window_max_db.max(block_max_db);
        self.in_window += samples;
        if self.in_window >= self.window_samples {
            self.add_window(self.window_max_db as f64);
            self.in_window = 0;
            self.window_max_db = 0.0;
        }
    }

    fn add_window(&mut self, db: f64) {
        let db = if db.is_finite() { db.max(0.0) } else { 0.0 };
        self.window_log_db.push(db as f32);
        self.bins[((db / BIN_DB) as usize).min(BINS - 1)] += 1;
        self.windows += 1;
        self.sum_db += db;
        self.max_db = self.max_db.max(db);
        self.over_3_db += u64::from(db > 3.0);
        self.over_6_db += u64::from(db > 6.0);
    }

    pub fn stats(&self) -> GainReductionStats {
        if self.windows == 0 {
            return GainReductionStats {
                mean_db: 0.0,
                p95_db: 0.0,
                max_db: 0.0,
                percent_over_3_db: 0.0,
                percent_over_6_db: 0.0,
            };
        }
        let n = self.windows as f64;
        let needed = (0.95 * n).ceil() as u64;
        let mut seen = 0;
        let mut p95_db = self.max_db;
        for (i, &count) in self.bins.iter().enumerate() {
            seen += count;
            if seen >= needed {
                p95_db = ((i + 1) as f64 * BIN_DB).min(self.max_db);
                break;
            }
        }
        GainReductionStats {
            mean_db: self.sum_db / n,
            p95_db,
            max_db: self.max_db,
            percent_over_3_db: 100.0 * self.over_3_db as f64 / n,
            percent_over_6_db: 100.0 * self.over_6_db as f64 / n,
        }
    }
}

/// A master's peak stage at work: the limiter's and the clipper's reduction, window by
/// window, in the windows of the whole master chain (which the stem attribution's line up
/// with), whichever processor runs the stage.
#[derive(Clone, Debug)]
pub struct StageLog {
    pub limiter: GainReductionHistogram,
    pub clipper: GainReductionHistogram,
    /// Samples of the processor's output still to pass before the first window opens.
    unlogged: usize,
}

impl StageLog {
    /// A log whose first window opens at the processor's sample `first_logged`. The whole
    /// chain skips its first samples when its latency exceeds the attribution's (the clipper
    /// the plan added); the peak stage run alone on the pre-limiter signal starts after the
    /// chain's pre-limiter latency, during which the chain's stage ran on start-up silence and
    /// did no work: a negative `first_logged` records that many samples of none first.
    pub fn new(sample_rate_hz: f64, first_logged: isize) -> Self {
        let mut log = Self {
            limiter: GainReductionHistogram::new(sample_rate_hz),
            clipper: GainReductionHistogram::new(sample_rate_hz),
            unlogged: first_logged.max(0) as usize,
        };
        let mut idle = first_logged.min(0).unsigned_abs();
        while idle > 0 {
            let n = idle.min(log.limiter.samples_to_window_end());
            log.limiter.record(n, 0.0);
            log.clipper.record(n, 0.0);
            idle -= n;
        }
        log
    }

    /// Runs `process` over a stereo block in pieces that end where windows end, recording the
    /// largest reductions it returns for each piece (limiter, clipper, dB).
    pub fn run(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        mut process: impl FnMut(&mut [f32], &mut [f32]) -> (f32, f32),
    ) {
        let mut at = 0;
        while at < left.len() {
            let n = if self.unlogged > 0 {
                self.unlogged
            } else {
                self.limiter.samples_to_window_end()
            }
            .min(left.len() - at);
            let (limiter_db, clipper_db) = process(&mut left[at..at + n], &mut right[at..at + n]);
            if self.unlogged > 0 {
                self.unlogged -= n;
            } else {
                self.limiter.record(n, limiter_db);
                self.clipper.record(n, clipper_db);
            }
            at += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `windows` windows of constant reduction `db` in uneven blocks.
    fn feed(h: &mut GainReductionHistogram, windows: usize, db: f32) {
        let mut left = windows * 480;
        while left > 0 {
            let n = h.samples_to_window_end().min(173).min(left);
            h.record(n, db);
            left -= n;
        }
    }

    #[test]
    fn figures_of_known_reductions() {
        let mut h = GainReductionHistogram::new(48_000.0);
        assert_eq!(h.samples_to_window_end(), 480);
        // Half the time idle, half at 8 dB: mean 4, p95 8, half the time beyond 3 and 6 dB.
        feed(&mut h, 100, 0.0);
        feed(&mut h, 100, 8.0);
        let s = h.stats();
        assert!((s.mean_db - 4.0).abs() < 1e-9, "{s:?}");
        assert!((s.p95_db - 8.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.max_db, 8.0);
        assert_eq!((s.percent_over_3_db, s.percent_over_6_db), (50.0, 50.0));

        // 96 % at 1 dB, 4 % at 10 dB: the 95th percentile is 1 dB (within a bin), the max 10.
        let mut h = GainReductionHistogram::new(48_000.0);
        feed(&mut h, 96, 1.0);
        feed(&mut h, 4, 10.0);
        let s = h.stats();
        assert!((s.p95_db - 1.0).abs() <= BIN_DB + 1e-9, "{s:?}");
        assert_eq!(s.max_db, 10.0);
        assert!((s.mean_db - (0.96 + 0.4)).abs() < 1e-9);
        assert!((s.percent_over_6_db - 4.0).abs() < 1e-9);

        // A window's reading is its largest block.
        let mut h = GainReductionHistogram::new(48_000.0);
        h.record(100, 2.0);
        h.record(380, 0.5);
        assert_eq!(h.stats().max_db, 2.0);
        assert_eq!(h.window_log_db(), &[2.0]);
        assert_eq!(GainReductionHistogram::new(48_000.0).stats().mean_db, 0.0);
    }
}
