//! Multiband compressor: 2 to 4 bands split by 4th-order Linkwitz-Riley crossovers, one
//! [`Compressor`] per band, summed back.
//!
//! The split is a tree (S. Linkwitz, JAES 24(1), 1976; D. Bohn, Rane Note 160): the input is
//! split at the lowest crossover, the high part again at the next, and so on. Band `i` has
//! passed crossovers `0..=i` but not the higher ones, so it is run through the allpass of each
//! higher crossover ([`LinkwitzRileyAllpass`]); then every band carries the same phase and the
//! bands sum to the product of the crossovers' allpasses: flat magnitude when every band is at
//! unity gain. All band compressors share one lookahead so the bands stay time-aligned; it is
//! the unit's latency.

use super::compressor::{Compressor, CompressorSettings, MAX_LOOKAHEAD_MS};
use crate::filter::{LinkwitzRiley, LinkwitzRileyAllpass, LinkwitzRileyOrder};
use crate::util::sanitize;
use serde::{Deserialize, Serialize};

/// Most bands.
pub const MAX_BANDS: usize = 4;
/// Most channels a multiband compressor processes.
pub const MAX_CHANNELS: usize = 8;
/// Internal sub-block length.
const CHUNK: usize = 64;

/// Multiband controls in physical units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultibandSettings {
    /// Number of bands, 2 to 4.
    pub num_bands: usize,
    /// Crossover frequencies in Hz, ascending; the first `num_bands - 1` are used.
    pub crossover_hz: [f32; MAX_BANDS - 1],
    /// Per-band compressor settings, lowest band first (their `lookahead_ms` is replaced by
    /// [`Self::lookahead_ms`]).
    pub bands: [CompressorSettings; MAX_BANDS],
    /// Lookahead shared by all bands, in ms.
    pub lookahead_ms: f32,
}

/// Settings of a band that never compresses (unity gain).
fn unity_band() -> CompressorSettings {
    CompressorSettings {
        threshold_db: 24.0,
        ratio: 1.0,
        ..CompressorSettings::default()
    }
}

impl Default for MultibandSettings {
    fn default() -> Self {
        Self {
            num_bands: 3,
            crossover_hz: [120.0, 2500.0, 8000.0],
            bands: [unity_band(); MAX_BANDS],
            lookahead_ms: 0.0,
        }
    }
}

impl MultibandSettings {
    /// `num_bands` bands split at `crossover_hz`, band `band` compressed with `settings`, the
    /// others at unity.
    fn one_band_compressed(
        num_bands: usize,
        crossover_hz: [f32; MAX_BANDS - 1],
        band: usize,
        settings: CompressorSettings,
    ) -> Self {
        let mut s = Self {
            num_bands,
            crossover_hz,
            ..Self::default()
        };
        s.bands[band] = settings;
        s
    }

    /// Bass stem: soft-knee control of the sub band (below 60 Hz), the rest untouched.
    pub fn bass_sub_control() -> Self {
        let sub = CompressorSettings::with_curve(-24.0, 3.0, 12.0, 30.0, 200.0);
        Self::one_band_compressed(2, [60.0, 2500.0, 8000.0], 0, sub)
    }

    /// Vocal stem: the 200-400 Hz low-mid band compressed on its own.
    pub fn vocal_low_mid() -> Self {
        let low_mid = CompressorSettings::with_curve(-30.0, 3.0, 6.0, 10.0, 120.0);
        Self::one_band_compressed(3, [200.0, 400.0, 8000.0], 1, low_mid)
    }

    fn effective_bands(&self) -> usize {
        self.num_bands.clamp(2, MAX_BANDS)
    }
}

/// Per-channel crossover tree and phase compensation.
#[derive(Clone, Debug)]
struct ChannelSplit {
    crossovers: [LinkwitzRiley; MAX_BANDS - 1],
    /// `allpass[i][j]`: band `i`'s copy of crossover `j`'s allpass (used for `j > i`).
    allpass: [[LinkwitzRileyAllpass; MAX_BANDS - 1]; MAX_BANDS - 1],
}

/// Multichannel multiband compressor (bands linked across channels, like the compressor).
#[derive(Clone, Debug)]
pub struct MultibandCompressor {
    settings: MultibandSettings,
    dirty: bool,
    sample_rate_hz: f32,
    max_channels: usize,
    num_bands: usize,
    splits: Vec<ChannelSplit>,
    compressors: Vec<Compressor>,
    /// `[band][channel][CHUNK]`, flattened.
    bands: Vec<f32>,
    /// Two channels' worth (the stereo split uses both halves; other layouts the first).
    rest: [f32; 2 * CHUNK],
    next: [f32; 2 * CHUNK],
}

impl MultibandCompressor {
    /// Allocates for up to `max_channels` (at most [`MAX_CHANNELS`]) channels at rates up to
    /// `max_sample_rate_hz`. Starts at 48 kHz with default (unity) settings.
    pub fn new(max_channels: usize, max_sample_rate_hz: f32) -> Self {
        let max_channels = max_channels.clamp(1, MAX_CHANNELS);
        let lr = LinkwitzRiley::new(LinkwitzRileyOrder::Lr4, 48_000.0, 1000.0);
        let ap = LinkwitzRileyAllpass::new(LinkwitzRileyOrder::Lr4, 48_000.0, 1000.0);
        let split = ChannelSplit {
            crossovers: [lr; MAX_BANDS - 1],
            allpass: [[ap; MAX_BANDS - 1]; MAX_BANDS - 1],
        };
        let mut m = Self {
            settings: MultibandSettings::default(),
            dirty: true,
            sample_rate_hz: 48_000.0,
            max_channels,
            num_bands: 3,
            splits: vec![split; max_channels],
            compressors: (0..MAX_BANDS)
                .map(|_| Compressor::new(max_channels, max_sample_rate_hz))
                .collect(),
            bands: vec![0.0; MAX_BANDS * max_channels * CHUNK],
            rest: [0.0; 2 * CHUNK],
            next: [0.0; 2 * CHUNK],
        };
        m.update();
        m
    }

    /// Sets the sample rate in Hz and resets.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        // The unit computes in f32; the rate is rounded to f32 once, here, and the f64 filters
        // get that rounded rate too (as they always have), so every band sees the same rate.
        self.sample_rate_hz = (sample_rate_hz as f32).max(1.0);
        let fs = self.sample_rate_hz as f64;
        for s in &mut self.splits {
            for c in &mut s.crossovers {
                c.set_sample_rate(fs);
            }
            for row in &mut s.allpass {
                for a in row.iter_mut() {
                    a.set_sample_rate(fs);
                }
            }
        }
        for c in &mut self.compressors {
            c.set_sample_rate(fs);
        }
        self.update();
        self.reset();
    }

    /// Records new settings for the next block.
    pub fn set_settings(&mut self, settings: MultibandSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.dirty = true;
        }
    }

    /// Latency in samples: the shared lookahead, from the settings as last set (the band
    /// compressors receive them only at the next block, and a host asks for the latency before).
    pub fn latency_samples(&self) -> usize {
        self.compressors[0].latency_samples_for(&CompressorSettings {
            lookahead_ms: shared_lookahead_ms(&self.settings),
            ..self.settings.bands[0]
        })
    }

    /// Gain reduction in dB (>= 0) of band `band`, for meters.
    pub fn band_gain_reduction_db(&self, band: usize) -> f32 {
        self.compressors
            .get(band)
            .map_or(0.0, |c| c.gain_reduction_db())
    }

    /// Clears all state.
    pub fn reset(&mut self) {
        for s in &mut self.splits {
            for c in &mut s.crossovers {
                c.reset();
            }
            for row in &mut s.allpass {
                for a in row.iter_mut() {
                    a.reset();
                }
            }
        }
        for c in &mut self.compressors {
            c.reset();
        }
    }

    fn update(&mut self) {
        self.dirty = false;
        let s = self.settings;
        self.num_bands = s.effective_bands();
        let lookahead = shared_lookahead_ms(&s);
        // Ascending, inside the audio band, at least a third of an octave apart.
        let mut freqs = [0.0f64; MAX_BANDS - 1];
        let mut prev = 10.0f64;
        let nyq = 0.45 * self.sample_rate_hz as f64;
        for (f, &want) in freqs.iter_mut().zip(s.crossover_hz.iter()) {
            let w = if want.is_finite() {
                want as f64
            } else {
                1000.0
            };
            *f = w.max(prev * 1.26).min(nyq);
            prev = *f;
        }
        for sp in &mut self.splits {
            for (j, c) in sp.crossovers.iter_mut().enumerate() {
                c.set_frequency(freqs[j]);
            }
            for row in &mut sp.allpass {
                for (j, a) in row.iter_mut().enumerate() {
                    a.set_frequency(freqs[j]);
                }
            }
        }
        for (c, band) in self.compressors.iter_mut().zip(s.bands.iter()) {
            c.set_settings(CompressorSettings {
                lookahead_ms: lookahead,
                ..*band
            });
        }
    }

    /// The band split of [`Self::process_block`] for a stereo pair: both channels through
    /// each crossover and allpass in one pass (their recurrences are latency-bound, so two
    /// interleave almost for free); the same bits as splitting each channel alone.
    fn split_stereo(&mut self, channels: &[&mut [f32]], start: usize, end: usize) {
        let m = end - start;
        let nb = self.num_bands;
        let stride = self.max_channels * CHUNK;
        let (s0, s1) = self.splits.split_at_mut(1);
        let (sp0, sp1) = (&mut s0[0], &mut s1[0]);
        let (rest0, rest1) = self.rest.split_at_mut(CHUNK);
        let (next0, next1) = self.next.split_at_mut(CHUNK);
        let (mut rest0, mut rest1) = (&mut rest0[..m], &mut rest1[..m]);
        let (mut next0, mut next1) = (&mut next0[..m], &mut next1[..m]);
        rest0.copy_from_slice(&channels[0][start..end]);
        rest1.copy_from_slice(&channels[1][start..end]);
        for j in 0..nb - 1 {
            let (below, above) = self.bands.split_at_mut((j + 1) * stride);
            let (low0, low1) = below[j * stride..].split_at_mut(CHUNK);
            let (low0, low1) = (&mut low0[..m], &mut low1[..m]);
            let (c0, c1) = (&mut sp0.crossovers[j], &mut sp1.crossovers[j]);
            if j + 1 == nb - 1 {
                // The last crossover's high output is the top band.
                let (high0, high1) = above.split_at_mut(CHUNK);
                LinkwitzRiley::split_block_pair(
                    [c0, c1],
                    [rest0, rest1],
                    [&mut *low0, &mut *low1],
                    [&mut high0[..m], &mut high1[..m]],
                );
            } else {
                LinkwitzRiley::split_block_pair(
                    [c0, c1],
                    [rest0, rest1],
                    [&mut *low0, &mut *low1],
                    [&mut *next0, &mut *next1],
                );
                std::mem::swap(&mut rest0, &mut next0);
                std::mem::swap(&mut rest1, &mut next1);
            }
            // Phase compensation for the crossovers above this band.
            for k in j + 1..nb - 1 {
                LinkwitzRileyAllpass::process_block_pair(
                    [&mut sp0.allpass[j][k], &mut sp1.allpass[j][k]],
                    [&mut *low0, &mut *low1],
                );
            }
        }
    }

    /// Compresses planar `channels` in place.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        if self.dirty {
            self.update();
        }
        let (num_ch, len) = crate::util::processed_extent(channels, self.max_channels);
        let nb = self.num_bands;
        let stride = self.max_channels * CHUNK;
        for ch in channels[..num_ch].iter_mut() {
            sanitize(&mut ch[..len]);
        }
        let mut start = 0;
        while start < len {
            let end = (start + CHUNK).min(len);
            let m = end - start;
            // Split every channel into the band buffers: `rest` holds what is still to be
            // split above the current crossover.
            if num_ch == 2 {
                self.split_stereo(channels, start, end);
            } else {
                for c in 0..num_ch {
                    let sp = &mut self.splits[c];
                    self.rest[..m].copy_from_slice(&channels[c][start..end]);
                    for j in 0..nb - 1 {
                        let (below, above) = self.bands.split_at_mut((j + 1) * stride);
                        let low = &mut below[j * stride + c * CHUNK..][..m];
                        if j + 1 == nb - 1 {
                            // The last crossover's high output is the top band.
                            let high = &mut above[c * CHUNK..][..m];
                            sp.crossovers[j].split_block(&self.rest[..m], low, high);
                        } else {
                            sp.crossovers[j].split_block(&self.rest[..m], low, &mut self.next[..m]);
                            std::mem::swap(&mut self.rest, &mut self.next);
                        }
                        // Phase compensation for the crossovers above this band.
                        for k in j + 1..nb - 1 {
                            sp.allpass[j][k].process_block(low);
                        }
                    }
                }
            }
            // Compress each band.
            for b in 0..nb {
                let band = &mut self.bands[b * stride..(b + 1) * stride];
                let mut it = band.chunks_mut(CHUNK);
                let mut refs: [&mut [f32]; MAX_CHANNELS] =
                    std::array::from_fn(|_| it.next().unwrap_or_default());
                for r in refs.iter_mut().take(num_ch) {
                    let full = std::mem::take(r);
                    *r = &mut full[..m];
                }
                self.compressors[b].process_block(&mut refs[..num_ch]);
            }
            // Sum.
            for (c, ch) in channels[..num_ch].iter_mut().enumerate() {
                let out = &mut ch[start..end];
                out.copy_from_slice(&self.bands[c * CHUNK..c * CHUNK + m]);
                for b in 1..nb {
                    let band = &self.bands[b * stride + c * CHUNK..][..m];
                    for (o, &v) in out.iter_mut().zip(band.iter()) {
                        *o += v;
                    }
                }
            }
            start = end;
        }
    }
}

/// The lookahead all bands share, ms: the setting clamped to what the delay holds (0 if not a
/// number).
fn shared_lookahead_ms(settings: &MultibandSettings) -> f32 {
    if settings.lookahead_ms.is_finite() {
        settings.lookahead_ms.clamp(0.0, MAX_LOOKAHEAD_MS)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_split_gives_the_bits_of_the_per_channel_split() {
        // A silent third channel leaves the linked peak detector unchanged but sends the split
        // down the per-channel path; the stereo pair must come out bit for bit the same.
        let n = 3000;
        let l: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).sin() * 0.8).collect();
        let r: Vec<f32> = (0..n).map(|i| (i as f32 * 0.31).cos() * 0.3).collect();
        for bands in [2, 3, 4] {
            let settings = MultibandSettings {
                num_bands: bands,
                ..MultibandSettings::vocal_low_mid()
            };
            let mut stereo = MultibandCompressor::new(3, 48_000.0);
            let mut three = MultibandCompressor::new(3, 48_000.0);
            stereo.set_settings(settings);
            three.set_settings(settings);
            let (mut a, mut b) = (l.clone(), r.clone());
            let (mut c, mut d, mut e) = (l.clone(), r.clone(), vec![0.0f32; n]);
            for k in (0..n).step_by(113) {
                let end = (k + 113).min(n);
                stereo.process_block(&mut [&mut a[k..end], &mut b[k..end]]);
                three.process_block(&mut [&mut c[k..end], &mut d[k..end], &mut e[k..end]]);
            }
            assert_eq!((&a, &b), (&c, &d), "{bands} bands");
            assert!(
                a.iter().zip(&l).any(|(x, y)| x != y),
                "the split did something"
            );
        }
    }
}
