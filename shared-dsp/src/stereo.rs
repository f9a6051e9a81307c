//! Stereo tools: mid/side encode and decode, width 0-200 %, mono below a frequency, balance,
//! and correlation hooks.
//!
//! Mid/side after A. D. Blumlein's sum-and-difference matrix (GB patent 394325, 1931) in the
//! normalisation `M = (L + R)/2`, `S = (L - R)/2`, `L = M + S`, `R = M - S`, so a mono signal
//! is its own mid and the round trip is exact. Width scales the side. Mono-below high-passes
//! only the side with a 4th-order Linkwitz-Riley filter ([`crate::filter::LinkwitzRiley`],
//! S. Linkwitz, JAES 1976): the bass becomes mono at 24 dB/oct below the corner (-6.02 dB at
//! it), and the mid is never filtered, so the mono bass keeps its level and phase.
//!
//! For a Pearson correlation `r = sum(L R) / sqrt(sum(L^2) sum(R^2))` of the output, with `m`,
//! `s` the mid/side energies and `x` their cross term, width `w` gives
//! `r(w) = (m - w^2 s) / sqrt((m + w^2 s)^2 - 4 w^2 x^2)`; [`StereoTool::width_limit_percent`]
//! inverts that to keep the correlation above a floor (the guide asks for +0.4).

use crate::filter::{LinkwitzRiley, LinkwitzRileyOrder};
use crate::util::sanitize;
use serde::{Deserialize, Serialize};

/// Internal sub-block length.
const CHUNK: usize = 64;
/// Time constant of the correlation averages, in ms (a typical correlation meter's).
pub const CORRELATION_WINDOW_MS: f32 = 300.0;

/// Mid/side encode of one frame: `((L + R)/2, (L - R)/2)`.
#[inline(always)]
pub fn encode_ms(left: f32, right: f32) -> (f32, f32) {
    (0.5 * (left + right), 0.5 * (left - right))
}

/// Mid/side decode of one frame: `(M + S, M - S)`.
#[inline(always)]
pub fn decode_ms(mid: f32, side: f32) -> (f32, f32) {
    (mid + side, mid - side)
}

/// Stereo controls in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StereoSettings {
    /// Side level in percent: 0 = mono, 100 = unchanged, 200 = side doubled.
    pub width_percent: f32,
    /// Side high-pass corner in Hz (the bass below it becomes mono); 0 disables it.
    pub mono_below_hz: f32,
    /// Balance in percent, -100 (left only) to +100 (right only); the louder side stays at
    /// unity.
    pub balance_percent: f32,
}

impl Default for StereoSettings {
    fn default() -> Self {
        Self {
            width_percent: 100.0,
            mono_below_hz: 0.0,
            balance_percent: 0.0,
        }
    }
}

/// Width, mono-below, balance and correlation tracking for one stereo pair.
#[derive(Clone, Debug)]
pub struct StereoTool {
    settings: StereoSettings,
    dirty: bool,
    sample_rate_hz: f32,
    side_filter: LinkwitzRiley,
    mono_on: bool,
    width: f32,
    gain_left: f32,
    gain_right: f32,
    /// Exponential averages: mid energy, side energy (after mono-below, before width), mid x
    /// side, and output L*R, L^2, R^2.
    avg: [f64; 6],
    avg_coef: f64,
    mid: [f32; CHUNK],
    side: [f32; CHUNK],
    input: [f32; CHUNK],
}

impl StereoTool {
    /// Creates the tool at 48 kHz with neutral settings.
    pub fn new() -> Self {
        let mut t = Self {
            settings: StereoSettings::default(),
            dirty: true,
            sample_rate_hz: 48_000.0,
            side_filter: LinkwitzRiley::new(LinkwitzRileyOrder::Lr4, 48_000.0, 100.0),
            mono_on: false,
            width: 1.0,
            gain_left: 1.0,
            gain_right: 1.0,
            avg: [0.0; 6],
            avg_coef: 0.0,
            mid: [0.0; CHUNK],
            side: [0.0; CHUNK],
            input: [0.0; CHUNK],
        };
        t.update();
        t
    }

    /// Sets the sample rate in Hz and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        // The unit computes in f32; the rate is rounded to f32 once, here, and the side filter
        // gets that rounded rate too (as it always has).
        self.sample_rate_hz = (sample_rate_hz as f32).max(1.0);
        self.side_filter.set_sample_rate(self.sample_rate_hz as f64);
        self.update();
        self.reset();
    }

    /// Records new settings for the next block.
    pub fn set_settings(&mut self, settings: StereoSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.dirty = true;
        }
    }

    /// Latency in samples (none: the side filter is minimum phase, the mid is untouched).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Clears filter state and the correlation averages.
    pub fn reset(&mut self) {
        self.side_filter.reset();
        self.avg = [0.0; 6];
    }

    fn update(&mut self) {
        self.dirty = false;
        let s = self.settings;
        let finite = |v: f32, d: f32| if v.is_finite() { v } else { d };
        self.width = finite(s.width_percent, 100.0).clamp(0.0, 200.0) * 0.01;
        let hz = finite(s.mono_below_hz, 0.0);
        self.mono_on = hz > 0.0;
        if self.mono_on {
            self.side_filter.set_frequency(hz as f64);
        }
        let bal = finite(s.balance_percent, 0.0).clamp(-100.0, 100.0) * 0.01;
        self.gain_left = if bal > 0.0 { 1.0 - bal } else { 1.0 };
        self.gain_right = if bal < 0.0 { 1.0 + bal } else { 1.0 };
        // Per-block update of the averages: coefficient per sample, applied per sample count.
        self.avg_coef = 1.0 / (CORRELATION_WINDOW_MS as f64 * 1e-3 * self.sample_rate_hz as f64);
    }

    /// Processes a stereo pair in place (`left` and `right` of equal length).
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.dirty {
            self.update();
        }
        let len = left.len().min(right.len());
        sanitize(&mut left[..len]);
        sanitize(&mut right[..len]);
        let (w, gl, gr) = (self.width, self.gain_left, self.gain_right);
        let mut start = 0;
        while start < len {
            let end = (start + CHUNK).min(len);
            let m = end - start;
            let (l, r) = (&mut left[start..end], &mut right[start..end]);
            for i in 0..m {
                let (mi, si) = encode_ms(l[i], r[i]);
                self.mid[i] = mi;
                self.side[i] = si;
            }
            if self.mono_on {
                // Keep only the high band of the side.
                self.input[..m].copy_from_slice(&self.side[..m]);
                self.side_filter
                    .high_block(&self.input[..m], &mut self.side[..m]);
            }
            let (mut mm, mut ss, mut ms, mut lr, mut ll, mut rr) =
                (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for i in 0..m {
                let (mi, si) = (self.mid[i], self.side[i]);
                mm += (mi * mi) as f64;
                ss += (si * si) as f64;
                ms += (mi * si) as f64;
                let (a, b) = decode_ms(mi, w * si);
                let (a, b) = (a * gl, b * gr);
                lr += (a * b) as f64;
                ll += (a * a) as f64;
                rr += (b * b) as f64;
                l[i] = a;
                r[i] = b;
            }
            let k = (self.avg_coef * m as f64).min(1.0);
            for (acc, v) in self.avg.iter_mut().zip([mm, ss, ms, lr, ll, rr]) {
                *acc += k * (v / m as f64 - *acc);
            }
            start = end;
        }
    }

    /// Correlation of the output over about [`CORRELATION_WINDOW_MS`], -1 to +1 (+1 for
    /// silence, as correlation meters show it).
    pub fn correlation(&self) -> f32 {
        let [_, _, _, lr, ll, rr] = self.avg;
        let d = (ll * rr).sqrt();
        if d > 1e-20 {
            (lr / d).clamp(-1.0, 1.0) as f32
        } else {
            1.0
        }
    }

    /// Largest width in percent (0-200) whose predicted output correlation, from the recent
    /// mid/side energies, stays at or above `min_correlation`. A plugin can cap its width
    /// control with it to honour the guide's +0.4 floor.
    pub fn width_limit_percent(&self, min_correlation: f32) -> f32 {
        let [m, s, x, ..] = self.avg;
        let predicted = |w: f64| {
            let a = m + w * w * s;
            let d = (a * a - 4.0 * w * w * x * x).max(0.0).sqrt();
            if d > 1e-20 {
                (m - w * w * s) / d
            } else {
                1.0
            }
        };
        let c = min_correlation as f64;
        if predicted(2.0) >= c {
            return 200.0;
        }
        if predicted(0.0) < c {
            return 0.0;
        }
        let (mut lo, mut hi) = (0.0f64, 2.0f64);
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            if predicted(mid) >= c {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo * 100.0) as f32
    }
}

impl Default for StereoTool {
    fn default() -> Self {
        Self::new()
    }
}
