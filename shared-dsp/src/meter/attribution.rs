//! Gain-reduction attribution: which stem makes the master limiter work, which stem makes the
//! mix's peaks, and how loud each stem is against the mix (issue 16 item 1; the Stem Link of
//! issue 18 computes the same figures live from windowed envelopes).
//!
//! **The share of one window.** The summed signal is the sum of the stems, `x(t) = sum_i s_i(t)`,
//! and a peak limiter reacts to the largest `|x|` (linked over channels). At the window's peak
//! (sample `t*`, channel `c*`: the largest `|x|` of the window over both channels) the peak
//! decomposes exactly into the stems' samples, so stem `i`'s share of that peak is its
//! projection on the sum there,
//!
//! ```text
//!     p_i = s_i(t*) x(t*) / x(t*)^2 = s_i(t*) / x(t*),      sum_i p_i = 1,
//! ```
//!
//! the linear (additive) decomposition of the amplitude the limiter must bring down. A stem in
//! antiphase at the peak (`p_i < 0`) lowers the peak rather than causing it: negative shares are
//! set to 0 and the others renormalised to sum to 1, so a stem is never blamed for less than
//! nothing and the shares stay percentages. Unlike an energy share (a stem's mean square over the
//! sum's), this ignores how loud a stem is between peaks: a sustained pad carrying most of the
//! energy gets no share of a limiter that acts only on drum hits standing above it, which is the
//! question the report answers ("which stem makes the limiter work").
//!
//! **Weighting windows.** Windows are 10 ms ([`WINDOW_S`], the window of the render's limiter
//! statistics). A stem's share of the limiter's gain reduction is the mean of its window shares
//! weighted by each window's largest gain reduction in dB (`sum_w GR_w p_i,s(w) / sum_w GR_w`):
//! a window limited by 6 dB counts twice one limited by 3 dB, an idle window not at all. The
//! shares a window's reduction goes by are those of the window `s(w)` whose peak set it, the top
//! of the gain-reduction hill the window lies on ([`gain_reduction_summits`]): while the limiter
//! releases after a drum hit, the reduction is still the hit's, whatever sounds in the window. Its share
//! of the peaks weights, in the same way, the windows whose summed peak comes within
//! [`PEAK_RANGE_DB`] of the programme's loudest window peak, each by the dB it stands above that
//! level: the reduction a limiter set [`PEAK_RANGE_DB`] under the programme's peak would apply,
//! a view of the peaks that does not depend on the limiter's drive. With nothing to weight (no
//! limiting, silence) there are no shares (`None`), never NaN.
//!
//! **Loudness against the mix.** [`loudness_vs_mix_lu`]: the stem's integrated loudness minus the
//! mix's (both BS.1770-5 gated, [`super::loudness::LoudnessMeter`]), in LU: 0 LU for the only
//! sounding stem, -3.01 LU for each of two equally loud uncorrelated stems, -6.02 LU for each of
//! two identical ones.
//!
//! The sum here is the sum of the processed stems as they enter the master. The master's own
//! sections before the limiter (glue, EQ, width) act on the sum; their effect on the shares is
//! neglected (the glue is a slow common gain; an EQ would reweigh stems by their spectra).
//!
//! [`AttributionRecorder`] streams: it takes blocks of the stems and their sum and keeps one
//! record per window (the sum's peak and each stem's share there: `4 (1 + stems)` bytes per
//! 10 ms, no audio), so a render records during its summing pass and weights by the limiter's
//! gain reduction once the limiter has run. Per sample it costs two absolute values and two
//! maxima. [`peak_shares`] and [`ShareAccumulator`] are the same arithmetic for callers
//! whose stems arrive as per-window envelopes.

/// Analysis window, seconds: the window of the render's limiter statistics.
pub const WINDOW_S: f64 = 0.010;

/// Windows whose summed peak is within this of the programme's loudest window peak count as
/// its peaks, dB.
pub const PEAK_RANGE_DB: f64 = 3.0;

/// Samples per analysis window at `sample_rate_hz` (at least 1).
pub fn window_samples(sample_rate_hz: f64) -> usize {
    (WINDOW_S * sample_rate_hz).round().max(1.0) as usize
}

/// Each stem's share of a peak of the sum: `shares[i] = s_i / x` (the stem's projection on the
/// sum at the peak), negative shares set to 0, then renormalised to sum to 1. `stems_at_peak`
/// are the stems' samples at the peak, `sum_at_peak` the sum there (their sum). Returns `false`
/// and zero shares when there is nothing to share (a silent or non-finite peak, or no stem in
/// phase with it).
pub fn peak_shares(stems_at_peak: &[f32], sum_at_peak: f32, shares: &mut [f32]) -> bool {
    debug_assert_eq!(stems_at_peak.len(), shares.len());
    shares.fill(0.0);
    if sum_at_peak == 0.0 || !sum_at_peak.is_finite() {
        return false;
    }
    let mut total = 0.0f64;
    for (share, &s) in shares.iter_mut().zip(stems_at_peak) {
        let p = (s / sum_at_peak).max(0.0);
        if p.is_finite() {
            *share = p;
            total += p as f64;
        }
    }
    if total <= 0.0 {
        return false;
    }
    for share in shares.iter_mut() {
        *share = (*share as f64 / total) as f32;
    }
    true
}

/// Weighted mean of per-window shares: built for a number of stems, allocation-free afterwards.
#[derive(Clone, Debug)]
pub struct ShareAccumulator {
    weighted: Vec<f64>,
    total_weight: f64,
}

impl ShareAccumulator {
    pub fn new(num_stems: usize) -> Self {
        Self {
            weighted: vec![0.0; num_stems],
            total_weight: 0.0,
        }
    }

    /// Forgets everything added.
    pub fn reset(&mut self) {
        self.weighted.fill(0.0);
        self.total_weight = 0.0;
    }

    /// Adds one window's shares (summing to 1, from [`peak_shares`]) with `weight` (dB of gain
    /// reduction, or of peak above a level; ignored unless positive and finite).
    pub fn add(&mut self, shares: &[f32], weight: f64) {
        if !(weight > 0.0 && weight.is_finite()) {
            return;
        }
        for (acc, &p) in self.weighted.iter_mut().zip(shares) {
            *acc += weight * p as f64;
        }
        self.total_weight += weight;
    }

    /// Each stem's weighted share in percent (summing to 100) into `percent`; `false` (and
    /// `percent` untouched) when nothing was weighted.
    pub fn percent_into(&self, percent: &mut [f64]) -> bool {
        if self.total_weight <= 0.0 {
            return false;
        }
        for (out, &w) in percent.iter_mut().zip(&self.weighted) {
            *out = 100.0 * w / self.total_weight;
        }
        true
    }

    /// [`Self::percent_into`] as a new vector (for reports, not for audio threads).
    pub fn percent(&self) -> Option<Vec<f64>> {
        let mut out = vec![0.0; self.weighted.len()];
        self.percent_into(&mut out).then_some(out)
    }
}

/// For each window, the window whose peak set its gain reduction: the top of the gain-reduction
/// hill it lies on, reached by stepping to the higher neighbour (the earlier one on a tie) while
/// one is higher. A limiter's gain curve rises over its lookahead to the reduction a peak
/// demands and releases from it over the following windows, when the peak has passed and other
/// stems may hold the window's own peak: without this, a drum hit's release tail would be
/// blamed on the pad sounding under it. Windows on a plateau (sustained limiting) keep their
/// own peak. Offline (it looks one window ahead, for the attack).
pub fn gain_reduction_summits(gain_reduction_db: &[f32]) -> Vec<usize> {
    let gr = gain_reduction_db;
    let n = gr.len();
    let mut summit: Vec<usize> = (0..n)
        .map(|w| {
            let left = (w > 0 && gr[w - 1] > gr[w]).then(|| w - 1);
            let right = (w + 1 < n && gr[w + 1] > gr[w]).then_some(w + 1);
            match (left, right) {
                (Some(l), Some(r)) if gr[r] > gr[l] => r,
                (Some(l), _) => l,
                (None, Some(r)) => r,
                (None, None) => w,
            }
        })
        .collect();
    // Follow each uphill path to its top (gain reduction strictly rises along it, so it ends),
    // compressing paths as they are walked: linear time overall.
    for w in 0..n {
        let mut top = w;
        while summit[top] != top {
            top = summit[top];
        }
        let mut v = w;
        while summit[v] != top {
            let next = summit[v];
            summit[v] = top;
            v = next;
        }
    }
    summit
}

/// A stem's loudness against the mix, LU: its integrated loudness minus the mix's (`None` when
/// either is silent, below the absolute gate).
pub fn loudness_vs_mix_lu(stem_lufs: f64, mix_lufs: f64) -> Option<f64> {
    (stem_lufs.is_finite() && mix_lufs.is_finite()).then_some(stem_lufs - mix_lufs)
}

/// Streams stems and their sum and keeps, per 10 ms window, the sum's peak and each stem's share
/// of it (see the module documentation).
#[derive(Clone, Debug)]
pub struct AttributionRecorder {
    num_stems: usize,
    window_samples: usize,
    in_window: usize,
    /// The current window's largest `|sum|` so far, the sum there and the stems there.
    best_abs: f32,
    best_sum: f32,
    best_stems: Vec<f32>,
    /// Per closed window: the largest `|sum|` (linear).
    peaks: Vec<f32>,
    /// Per closed window, `num_stems` shares summing to 1 (all 0 for a window without a peak).
    shares: Vec<f32>,
}

impl AttributionRecorder {
    /// A recorder for `num_stems` stems at `sample_rate_hz`. Window `k` covers input samples
    /// `k W - lead_samples .. (k + 1) W - lead_samples` (`W` the window length): a `lead_samples`
    /// equal to a chain's latency lines window `k` up with that chain's `k`-th window of output.
    /// Room is made for `expected_frames` of input, so recording that much never allocates.
    pub fn new(
        num_stems: usize,
        sample_rate_hz: f64,
        lead_samples: usize,
        expected_frames: usize,
    ) -> Self {
        let window_samples = window_samples(sample_rate_hz);
        let windows = (expected_frames + lead_samples) / window_samples + 1;
        let mut r = Self {
            num_stems,
            window_samples,
            in_window: lead_samples % window_samples,
            best_abs: 0.0,
            best_sum: 0.0,
            best_stems: vec![0.0; num_stems],
            peaks: Vec::with_capacity(windows),
            shares: Vec::with_capacity(windows * num_stems),
        };
        for _ in 0..lead_samples / window_samples {
            r.peaks.push(0.0);
            r.shares.extend(std::iter::repeat_n(0.0, num_stems));
        }
        r
    }

    /// Window length, samples.
    pub fn window_samples(&self) -> usize {
        self.window_samples
    }

    /// Closed windows so far.
    pub fn windows(&self) -> usize {
        self.peaks.len()
    }

    /// Records the next frames: `sum` (left, right) and each stem's frames (`stems[i]`, left and
    /// right, as long as `sum`), the sum being the stems' sum.
    pub fn record(&mut self, sum: [&[f32]; 2], stems: &[[&[f32]; 2]]) {
        debug_assert_eq!(stems.len(), self.num_stems);
        let frames = sum[0].len().min(sum[1].len());
        let mut at = 0;
        while at < frames {
            let n = (self.window_samples - self.in_window).min(frames - at);
            // The segment's largest |sum| over both channels: a max fold, then,
            // only when it beats the window's best so far, where it is (left first on ties).
            let seg = [&sum[0][at..at + n], &sum[1][at..at + n]];
            let max = seg.map(|x| x.iter().fold(0.0f32, |m, v| m.max(v.abs())));
            let ch = usize::from(max[1] > max[0]);
            if max[ch] > self.best_abs {
                let k = seg[ch].iter().position(|v| v.abs() == max[ch]).unwrap_or(0);
                self.best_abs = max[ch];
                self.best_sum = seg[ch][k];
                for (b, s) in self.best_stems.iter_mut().zip(stems) {
                    *b = s[ch][at + k];
                }
            }
            self.in_window += n;
            at += n;
            if self.in_window == self.window_samples {
                self.close_window();
            }
        }
    }

    fn close_window(&mut self) {
        let start = self.shares.len();
        self.shares.extend(std::iter::repeat_n(0.0, self.num_stems));
        peak_shares(&self.best_stems, self.best_sum, &mut self.shares[start..]);
        self.peaks.push(self.best_abs);
        self.in_window = 0;
        self.best_abs = 0.0;
        self.best_sum = 0.0;
        self.best_stems.fill(0.0);
    }

    /// Closes the last, partial window (call once after the last frames).
    pub fn finish(&mut self) {
        if self.in_window > 0 {
            self.close_window();
        }
    }

    /// Window `w`'s stem shares (summing to 1, or all 0 without a peak).
    pub fn window_shares(&self, w: usize) -> &[f32] {
        &self.shares[w * self.num_stems..(w + 1) * self.num_stems]
    }

    /// Adds window `w`'s shares with `weight` unless the window had nothing to share (a silent
    /// window's weight would otherwise count for no stem).
    fn add_window(&self, acc: &mut ShareAccumulator, w: usize, weight: f64) {
        let shares = self.window_shares(w);
        if shares.iter().any(|&p| p > 0.0) {
            acc.add(shares, weight);
        }
    }

    /// Each stem's share of the limiter's gain reduction in percent, given the limiter's largest
    /// gain reduction per window (dB, window `k` of `gain_reduction_db` lining up with window `k`
    /// here); `None` without any gain reduction on a window with a peak. Each window's reduction
    /// is shared as the peak that set it ([`gain_reduction_summits`]).
    pub fn gain_reduction_shares(&self, gain_reduction_db: &[f32]) -> Option<Vec<f64>> {
        let gr = &gain_reduction_db[..gain_reduction_db.len().min(self.windows())];
        let mut acc = ShareAccumulator::new(self.num_stems);
        for (w, summit) in gain_reduction_summits(gr).into_iter().enumerate() {
            self.add_window(&mut acc, summit, gr[w] as f64);
        }
        acc.percent()
    }

    /// Each stem's share of the windows whose summed peak is above `level_dbfs`, each weighted
    /// by its peak's dB above that level, in percent; `None` when no window reaches it.
    pub fn shares_above_dbfs(&self, level_dbfs: f64) -> Option<Vec<f64>> {
        let mut acc = ShareAccumulator::new(self.num_stems);
        for (w, &peak) in self.peaks.iter().enumerate() {
            if peak > 0.0 {
                self.add_window(&mut acc, w, 20.0 * (peak as f64).log10() - level_dbfs);
            }
        }
        acc.percent()
    }

    /// The loudest window peak of the sum, dBFS (`-inf` for silence).
    pub fn max_peak_dbfs(&self) -> f64 {
        let max = self.peaks.iter().fold(0.0f32, |m, &p| m.max(p));
        20.0 * (max as f64).log10()
    }

    /// Each stem's share of the programme's peaks: the windows within [`PEAK_RANGE_DB`] of the
    /// loudest, weighted by their dB above that level ([`Self::shares_above_dbfs`]).
    pub fn peak_shares(&self) -> Option<Vec<f64>> {
        let max = self.max_peak_dbfs();
        if !max.is_finite() {
            return None;
        }
        self.shares_above_dbfs(max - PEAK_RANGE_DB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::{Limiter, LimiterSettings};
    use crate::meter::loudness::LoudnessMeter;
    use test_signals::{noise, sine, sine_with_phase};

    const FS: f64 = 48_000.0;

    /// A stereo stem (both channels equal).
    fn stereo(x: Vec<f32>) -> [Vec<f32>; 2] {
        [x.clone(), x]
    }

    fn sum_of(stems: &[[Vec<f32>; 2]]) -> [Vec<f32>; 2] {
        let n = stems[0][0].len();
        let mut sum = [vec![0.0f32; n], vec![0.0f32; n]];
        for s in stems {
            for (acc, ch) in sum.iter_mut().zip(s) {
                for (a, &x) in acc.iter_mut().zip(ch) {
                    *a += x;
                }
            }
        }
        sum
    }

    /// Drum-like hits: a 60 Hz thump with a 4 ms decay every `every_s`, peaking near `amp`.
    fn hits(n: usize, every_s: f64, amp: f32) -> Vec<f32> {
        let period = (every_s * FS) as usize;
        (0..n)
            .map(|i| {
                let t = (i % period) as f64 / FS;
                // Starts at its peak (cos), so the hit's first sample is its largest.
                amp * ((-t / 0.004).exp() * (2.0 * std::f64::consts::PI * 60.0 * t).cos()) as f32
            })
            .collect()
    }

    /// Records `stems` in blocks of `block` frames with a recorder whose windows line up with
    /// a chain of latency `lead`.
    fn record(stems: &[[Vec<f32>; 2]], lead: usize, block: usize) -> AttributionRecorder {
        let sum = sum_of(stems);
        let n = sum[0].len();
        let mut r = AttributionRecorder::new(stems.len(), FS, lead, n);
        let mut at = 0;
        while at < n {
            let e = (at + block).min(n);
            let views: Vec<[&[f32]; 2]> =
                stems.iter().map(|s| [&s[0][at..e], &s[1][at..e]]).collect();
            r.record([&sum[0][at..e], &sum[1][at..e]], &views);
            at = e;
        }
        r.finish();
        r
    }

    /// The sum through a true-peak limiter (ceiling -1 dBTP, `drive_db`), its largest gain
    /// reduction per 10 ms window of its output, and its latency.
    fn limiter_windows(sum: &[Vec<f32>; 2], drive_db: f32) -> (Vec<f32>, usize) {
        let mut lim = Limiter::new(2, FS as f32);
        lim.set_sample_rate(FS);
        lim.set_settings(LimiterSettings {
            input_gain_db: drive_db,
            auto_release: false,
            release_ms: 10.0,
            ..LimiterSettings::default()
        });
        lim.reset();
        let latency = lim.latency_samples();
        let w = window_samples(FS);
        let [mut l, mut r] = sum.clone();
        l.resize(l.len() + latency, 0.0);
        r.resize(r.len() + latency, 0.0);
        let mut gr = Vec::new();
        for (a, b) in l.chunks_mut(w).zip(r.chunks_mut(w)) {
            lim.process_block(&mut [a, b]);
            gr.push(lim.block_max_gain_reduction_db());
        }
        (gr, latency)
    }

    /// Each stem's share of the sum's energy, percent: the definition the peak shares must not
    /// reduce to.
    fn energy_percent(stems: &[[Vec<f32>; 2]]) -> Vec<f64> {
        let e: Vec<f64> = stems
            .iter()
            .map(|s| s.iter().flatten().map(|&x| (x as f64).powi(2)).sum())
            .collect();
        let total: f64 = e.iter().sum();
        e.iter().map(|x| 100.0 * x / total).collect()
    }

    #[test]
    fn attribution_drum_transients_driving_the_limiter_get_the_gain_reduction() {
        let n = (4.0 * FS) as usize;
        // A quiet sustained pad (-20 dBFS peak chord) and sparse drum hits near 0 dBFS: only
        // the hits reach the -1 dBTP ceiling, but the pad carries most of the energy.
        // The pad is in phase with the hits where they peak (it adds about 0.08 to 1.0 there).
        let pad: Vec<f32> = sine_with_phase(n, 220.0, FS, 0.05, 1.0)
            .iter()
            .zip(sine_with_phase(n, 331.0, FS, 0.05, 0.5))
            .map(|(a, b)| a + b)
            .collect();
        let stems = [stereo(pad), stereo(hits(n, 1.0, 1.0))];
        let energy = energy_percent(&stems);
        assert!(energy[0] > 60.0, "the pad carries the energy: {energy:?}");

        let sum = sum_of(&stems);
        let (gr, latency) = limiter_windows(&sum, 0.0);
        assert!(gr.iter().any(|&g| g > 0.5), "the hits are limited");
        let r = record(&stems, latency, 4096);
        let shares = r.gain_reduction_shares(&gr).expect("limiting");
        eprintln!("pad, drums: energy {energy:?}, gain reduction {shares:?}");
        assert!(shares[1] >= 90.0, "drums {shares:?}");
        assert!((shares[0] + shares[1] - 100.0).abs() < 1e-4);
        // The peaks tell the same.
        let peaks = r.peak_shares().expect("peaks");
        eprintln!("pad, drums: peaks {peaks:?}");
        assert!(peaks[1] >= 90.0, "drum peaks {peaks:?}");
    }

    #[test]
    fn attribution_identical_stems_share_equally() {
        let n = (2.0 * FS) as usize;
        let drums = stereo(hits(n, 0.25, 0.7));
        let stems = [drums.clone(), drums];
        let sum = sum_of(&stems);
        let (gr, latency) = limiter_windows(&sum, 3.0);
        let r = record(&stems, latency, 1000);
        for shares in [r.gain_reduction_shares(&gr), r.peak_shares()] {
            let s = shares.expect("limiting and peaks");
            assert!(
                (s[0] - 50.0).abs() < 1e-6 && (s[1] - 50.0).abs() < 1e-6,
                "{s:?}"
            );
        }
    }

    #[test]
    fn attribution_stem_in_antiphase_gets_nothing() {
        let n = (2.0 * FS) as usize;
        // Stem A: hits and a pad; stem B: half of A's hits, inverted. The sum keeps half the
        // hits: B lowers every peak, so A causes all of them. An energy share would give B a
        // fifth of the energy; the plain projection a negative share.
        let h = hits(n, 0.25, 1.0);
        let pad = sine(n, 150.0, FS, 0.1);
        let a: Vec<f32> = h.iter().zip(&pad).map(|(x, p)| x + p).collect();
        let b: Vec<f32> = h.iter().map(|x| -0.5 * x).collect();
        let stems = [stereo(a), stereo(b)];
        assert!(energy_percent(&stems)[1] > 10.0);
        let sum = sum_of(&stems);
        let (gr, latency) = limiter_windows(&sum, 6.0);
        let r = record(&stems, latency, 4096);
        // (B shares only windows in the hits' tails, where a hit's ringing has turned over.)
        let gr_shares = r.gain_reduction_shares(&gr).expect("limiting");
        eprintln!(
            "antiphase: energy {:?}, gain reduction {gr_shares:?}",
            energy_percent(&stems)
        );
        assert!(gr_shares[1] < 0.01, "{gr_shares:?}");
        let peaks = r.peak_shares().expect("peaks");
        assert_eq!(peaks, vec![100.0, 0.0]);
    }

    #[test]
    fn attribution_window_share_is_the_projection_at_the_peak() {
        // One window, stereo: the peak is on the right channel (0.9 = 0.6 + 0.3 at sample 10).
        let w = window_samples(FS);
        let mut a = [vec![0.1f32; w], vec![0.0f32; w]];
        let mut b = [vec![0.1f32; w], vec![0.0f32; w]];
        a[1][10] = 0.6;
        b[1][10] = 0.3;
        // A larger opposite-signed sample elsewhere in b does not count: only the peak does.
        b[0][20] = -0.5;
        a[0][20] = 0.0;
        let r = record(&[a, b], 0, 7);
        assert_eq!(r.windows(), 1);
        let s = r.window_shares(0);
        assert!(
            (s[0] - 2.0 / 3.0).abs() < 1e-6 && (s[1] - 1.0 / 3.0).abs() < 1e-6,
            "{s:?}"
        );

        let mut shares = [0.0f32; 3];
        assert!(peak_shares(&[0.8, -0.2, 0.4], 1.0, &mut shares));
        assert!((shares[0] - 2.0 / 3.0).abs() < 1e-6 && shares[1] == 0.0);
        assert!(!peak_shares(&[0.5, -0.5, 0.0], 0.0, &mut shares));
        assert_eq!(shares, [0.0; 3]);
    }

    #[test]
    fn attribution_of_silence_or_no_limiting_is_none() {
        let n = (1.0 * FS) as usize;
        let stems = [stereo(vec![0.0; n]), stereo(vec![0.0; n])];
        let r = record(&stems, 100, 512);
        assert_eq!(r.gain_reduction_shares(&vec![3.0; r.windows()]), None);
        assert_eq!(r.peak_shares(), None);
        assert_eq!(r.max_peak_dbfs(), f64::NEG_INFINITY);
        // Sound but no limiting.
        let stems = [
            stereo(sine(n, 100.0, FS, 0.1)),
            stereo(sine(n, 200.0, FS, 0.1)),
        ];
        let r = record(&stems, 0, 512);
        assert_eq!(r.gain_reduction_shares(&vec![0.0; r.windows()]), None);
        assert_eq!(r.gain_reduction_shares(&[]), None);
        assert!(r.peak_shares().is_some());
        let acc = ShareAccumulator::new(2);
        let mut out = [f64::NAN; 2];
        assert!(!acc.percent_into(&mut out));
        assert_eq!(loudness_vs_mix_lu(f64::NEG_INFINITY, -20.0), None);
    }

    #[test]
    fn attribution_does_not_depend_on_block_size_and_lines_up_with_the_lead() {
        let n = (1.0 * FS) as usize + 37;
        let stems = [
            stereo(noise(n, 3).iter().map(|x| 0.3 * x).collect()),
            stereo(hits(n, 0.1, 0.8)),
            stereo(sine(n, 440.0, FS, 0.2)),
        ];
        let whole = record(&stems, 0, n);
        for block in [1, 113, 127, 4096] {
            let r = record(&stems, 0, block);
            assert_eq!(r.peaks, whole.peaks, "block {block}");
            assert_eq!(r.shares, whole.shares, "block {block}");
        }
        // With a lead of 1.5 windows, window k + 1 ends where window k ends without a lead,
        // plus half a window: the first window holds half a window of input.
        let w = window_samples(FS);
        let led = record(&stems, w + w / 2, 256);
        assert_eq!(led.peaks[0], 0.0);
        let half = record(
            &stems
                .iter()
                .map(|s| [s[0][..w / 2].to_vec(), s[1][..w / 2].to_vec()])
                .collect::<Vec<_>>(),
            0,
            256,
        );
        assert_eq!(led.peaks[1], half.peaks[0]);
        assert_eq!(led.windows(), (n + w + w / 2).div_ceil(w));
    }

    #[test]
    fn attribution_summits_follow_the_gain_reduction_hills() {
        // Attack, peak, release (0-3); a valley (4) belongs to its higher neighbour's hill; a
        // plateau (5-7) keeps its own peaks, the valley after it (8) goes to the higher side;
        // 9 is a top of its own, 10 rises to 11.
        let gr = [
            0.0, 1.0, 4.0, 2.0, 1.0, 3.0, 3.0, 3.0, 0.0, 2.0, 1.5, 5.0, 0.0,
        ];
        let s = gain_reduction_summits(&gr);
        assert_eq!(s, vec![2, 2, 2, 2, 5, 5, 6, 7, 7, 9, 11, 11, 11]);
        assert!(gain_reduction_summits(&[]).is_empty());
    }

    #[test]
    fn attribution_loudness_vs_mix_of_equal_stems() {
        let n = (10.0 * FS) as usize;
        let a: Vec<f32> = noise(n, 1).iter().map(|x| 0.2 * x).collect();
        let b: Vec<f32> = noise(n, 2).iter().map(|x| 0.2 * x).collect();
        let lufs = |x: &[f32]| {
            let mut m = LoudnessMeter::new(2, FS);
            m.process_block(&[x, x]);
            m.integrated_lufs()
        };
        let mix: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        // Uncorrelated and equally loud: each is half the mix's power, -3.01 LU.
        for s in [&a, &b] {
            let lu = loudness_vs_mix_lu(lufs(s), lufs(&mix)).unwrap();
            assert!((lu + 3.01).abs() < 0.1, "{lu}");
        }
        // Identical: each is half the mix's amplitude, -6.02 LU.
        let double: Vec<f32> = a.iter().map(|x| 2.0 * x).collect();
        let lu = loudness_vs_mix_lu(lufs(&a), lufs(&double)).unwrap();
        assert!((lu + 6.02).abs() < 0.01, "{lu}");
    }
}
