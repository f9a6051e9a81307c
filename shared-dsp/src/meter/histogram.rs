//! Gated block histogram behind integrated loudness (ITU-R BS.1770-5 §2.8) and loudness range
//! (EBU Tech 3342): memory fixed whatever the programme length, and readings that cost O(1)
//! amortised per added block rather than a scan of every bin per read.
//!
//! Blocks above the absolute gate land in 0.01 LU bins from -70 to +30 LUFS that keep, per bin,
//! the block count and the sum of the blocks' energies. Gated means therefore use the exact
//! energies of every bin wholly above the gate; only blocks within 0.01 LU of a gate, and
//! percentiles, are resolved to the bin (their value is the bin's mean energy, within 0.01 LU of
//! each block).
//!
//! What a reading needs is kept up to date as blocks arrive:
//! - the relative gate's bin, with the count of blocks at and above it and their energy as an
//!   exact fixed-point sum (integers add and subtract without rounding, so moving the gate up
//!   and down never drifts). The gate follows the mean of all blocks, which moves by less than
//!   one bin per block once a few hundred blocks are in (a block moves the mean by a factor
//!   `1 + (e - mean) / n`); large moves need a block worth as much energy as all before it,
//!   which can happen only a few dozen times between the absolute gate and full scale;
//! - two rank cursors for the loudness range's percentiles, each a bin and the number of blocks
//!   below it, moved on read over occupied bins only (an occupancy bitmap skips empty ones).
//!
//! [`GatedHistogram::loudness_range`] gives the same bits as a scan from the gate upward; the
//! running gated mean ([`GatedHistogram::running_gated_mean_energy`]) is the correctly rounded
//! sum where the scan ([`GatedHistogram::gated_mean_energy`]) adds bin by bin in `f64`: the two
//! agree to about 1e-12 relative (5e-12 LU). The scan stays for readings that must repeat
//! earlier releases bit for bit (the `stem` tool's reports).

use std::cell::Cell;

use super::loudness::{energy_to_lufs, lufs_to_energy, ABSOLUTE_GATE_LUFS};

/// Width of a histogram bin, LU.
const BIN_LU: f64 = 0.01;
/// Number of bins, covering -70 to +30 LUFS (louder blocks land in the top bin with their
/// exact energy, so gated means stay exact).
const NUM_BINS: usize = 10_000;
/// 64-bit words of the occupancy bitmap.
const NUM_WORDS: usize = NUM_BINS.div_ceil(64);
/// Fixed-point units per unit of energy in the running sums (2^64): energies from the absolute
/// gate (1.2e-7) up are held to 4.6e-13 relative or better.
const FIXED_UNITS: f64 = 18_446_744_073_709_551_616.0;
/// Blocks at or above this energy (2^32, +95.6 LUFS, far beyond full scale) could overflow
/// the 128-bit running sums after 2^32 of them; one such block switches the running mean to the
/// scan for the rest of the programme.
const FIXED_MAX_ENERGY: f64 = 4_294_967_296.0;

/// A block rank: the bin holding it and how many blocks lie in lower bins.
#[derive(Clone, Copy, Debug, Default)]
struct RankCursor {
    bin: usize,
    below: u64,
}

/// Histogram of block energies above the absolute gate, gated `relative_gate_lu` below the
/// absolute-gated mean.
#[derive(Clone, Debug)]
pub(super) struct GatedHistogram {
    relative_gate_lu: f64,
    counts: Vec<u32>,
    energy_sums: Vec<f64>,
    /// Per bin, the fixed-point energy sum (what moving the gate over the bin adds or removes).
    fixed_sums: Vec<u128>,
    occupied: Vec<u64>,
    total_count: u64,
    total_energy: f64,
    absolute_gate_energy: f64,
    /// First bin passing the relative gate (0 while empty), and what lies at and above it.
    gate_bin: usize,
    gated_count: u64,
    gated_fixed: u128,
    /// A block too loud for the fixed-point sums arrived: the running mean is the scan's.
    fixed_overflow: bool,
    /// Where the loudness range's percentiles were found last (moved on read).
    low: Cell<RankCursor>,
    high: Cell<RankCursor>,
}

impl GatedHistogram {
    pub(super) fn new(relative_gate_lu: f64) -> Self {
        Self {
            relative_gate_lu,
            counts: vec![0; NUM_BINS],
            energy_sums: vec![0.0; NUM_BINS],
            fixed_sums: vec![0; NUM_BINS],
            occupied: vec![0; NUM_WORDS],
            total_count: 0,
            total_energy: 0.0,
            absolute_gate_energy: lufs_to_energy(ABSOLUTE_GATE_LUFS),
            gate_bin: 0,
            gated_count: 0,
            gated_fixed: 0,
            fixed_overflow: false,
            low: Cell::default(),
            high: Cell::default(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.counts.fill(0);
        self.energy_sums.fill(0.0);
        self.fixed_sums.fill(0);
        self.occupied.fill(0);
        self.total_count = 0;
        self.total_energy = 0.0;
        self.gate_bin = 0;
        self.gated_count = 0;
        self.gated_fixed = 0;
        self.fixed_overflow = false;
        self.low.set(RankCursor::default());
        self.high.set(RankCursor::default());
    }

    fn bin_of(energy: f64) -> usize {
        let lufs = energy_to_lufs(energy);
        let bin = ((lufs - ABSOLUTE_GATE_LUFS) / BIN_LU).floor();
        if bin.is_nan() || bin < 0.0 {
            0
        } else {
            (bin as usize).min(NUM_BINS - 1)
        }
    }

    /// Mean energy of the blocks that passed the absolute gate (`None` before any did).
    pub(super) fn absolute_gated_mean_energy(&self) -> Option<f64> {
        (self.total_count > 0).then(|| self.total_energy / self.total_count as f64)
    }

    /// Adds a block; blocks below the absolute gate are dropped. O(1) plus the gate's move.
    pub(super) fn add(&mut self, energy: f64) {
        if !energy.is_finite() || energy < self.absolute_gate_energy {
            return;
        }
        let bin = Self::bin_of(energy);
        self.counts[bin] += 1;
        self.energy_sums[bin] += energy;
        self.occupied[bin / 64] |= 1 << (bin % 64);
        self.total_count += 1;
        self.total_energy += energy;

        let fixed = if energy < FIXED_MAX_ENERGY {
            (energy * FIXED_UNITS) as u128
        } else {
            self.fixed_overflow = true;
            0
        };
        self.fixed_sums[bin] += fixed;
        if bin >= self.gate_bin {
            self.gated_count += 1;
            self.gated_fixed += fixed;
        }
        for cursor in [&self.low, &self.high] {
            let mut c = cursor.get();
            if bin < c.bin {
                c.below += 1;
                cursor.set(c);
            }
        }
        if let Some(start) = self.relative_gate_start() {
            self.move_gate(start);
        }
    }

    /// Moves the running gate to `start`, bin by bin, keeping the sums at and above it.
    fn move_gate(&mut self, start: usize) {
        while self.gate_bin < start {
            self.gated_count -= self.counts[self.gate_bin] as u64;
            self.gated_fixed -= self.fixed_sums[self.gate_bin];
            self.gate_bin += 1;
        }
        while self.gate_bin > start {
            self.gate_bin -= 1;
            self.gated_count += self.counts[self.gate_bin] as u64;
            self.gated_fixed += self.fixed_sums[self.gate_bin];
        }
    }

    /// First bin passing the relative gate, or `None` when no block passed the absolute gate.
    fn relative_gate_start(&self) -> Option<usize> {
        let threshold =
            self.absolute_gated_mean_energy()? * 10f64.powf(self.relative_gate_lu / 10.0);
        let bin = Self::bin_of(threshold);
        // The bin holding the threshold counts in when its blocks are on average above it.
        let count = self.counts[bin];
        if count > 0 && self.energy_sums[bin] / count as f64 >= threshold {
            Some(bin)
        } else {
            Some(bin + 1)
        }
    }

    /// Mean energy of the blocks passing the relative gate, by a scan of every bin from the
    /// gate up (the figure earlier releases reported, bit for bit).
    pub(super) fn gated_mean_energy(&self) -> Option<f64> {
        let start = self.relative_gate_start()?.min(NUM_BINS);
        let mut count = 0u64;
        let mut energy = 0.0;
        for (c, e) in self.counts[start..].iter().zip(&self.energy_sums[start..]) {
            count += *c as u64;
            energy += *e;
        }
        (count > 0).then(|| energy / count as f64)
    }

    /// Mean energy of the blocks passing the relative gate from the running sums, O(1); equal
    /// to [`Self::gated_mean_energy`] within about 1e-12 relative.
    pub(super) fn running_gated_mean_energy(&self) -> Option<f64> {
        if self.fixed_overflow {
            return self.gated_mean_energy();
        }
        (self.gated_count > 0)
            .then(|| self.gated_fixed as f64 / FIXED_UNITS / self.gated_count as f64)
    }

    /// Loudness range of Tech 3342 over the blocks in this histogram (nearest rank,
    /// `round((n - 1) p)`), LU; 0 when no block passes the gates.
    pub(super) fn loudness_range(&self, low_percentile: f64, high_percentile: f64) -> f64 {
        let n = self.gated_count;
        if self.total_count == 0 || n == 0 {
            return 0.0;
        }
        // Ranks count from the lowest block in the histogram: the gated ones come after the
        // `total - n` below the gate.
        let below_gate = self.total_count - n;
        let rank = |p: f64| below_gate + ((n - 1) as f64 * p + 0.5).floor() as u64;
        let low = self.energy_at(&self.low, rank(low_percentile));
        let high = self.energy_at(&self.high, rank(high_percentile));
        energy_to_lufs(high) - energy_to_lufs(low)
    }

    /// Energy of the block at 0-based `rank` (ascending, `rank < total_count`): the mean of its
    /// bin, found by moving `cursor` from where it was over occupied bins.
    fn energy_at(&self, cursor: &Cell<RankCursor>, rank: u64) -> f64 {
        let mut c = cursor.get();
        loop {
            if rank < c.below {
                c.bin = self.occupied_before(c.bin);
                c.below -= self.counts[c.bin] as u64;
            } else if rank >= c.below + self.counts[c.bin] as u64 {
                c.below += self.counts[c.bin] as u64;
                c.bin = self.occupied_from(c.bin + 1);
            } else {
                break;
            }
        }
        cursor.set(c);
        self.energy_sums[c.bin] / self.counts[c.bin] as f64
    }

    /// The first occupied bin at or above `bin` (one exists: the caller's rank lies above).
    fn occupied_from(&self, bin: usize) -> usize {
        let mut word = bin / 64;
        let mut bits = self.occupied[word] & (!0u64 << (bin % 64));
        while bits == 0 {
            word += 1;
            bits = self.occupied[word];
        }
        word * 64 + bits.trailing_zeros() as usize
    }

    /// The last occupied bin below `bin` (one exists: the caller's rank lies below).
    fn occupied_before(&self, bin: usize) -> usize {
        let mut word = bin / 64;
        let shift = bin % 64;
        let mut bits = if shift == 0 {
            0
        } else {
            self.occupied[word] & (!0u64 >> (64 - shift))
        };
        while bits == 0 {
            word -= 1;
            bits = self.occupied[word];
        }
        word * 64 + 63 - bits.leading_zeros() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block energies of a programme with the gates in play: loud passages, quiet ones 15-30 LU
    /// down that the relative gates drop, silence below the absolute gate, and a level that
    /// drifts so the gate moves both ways.
    fn energies(count: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..count)
            .map(|i| {
                let section = [-14.0, -40.0, -22.0, -90.0, -9.0, -33.0][(i / 173) % 6];
                let drift = 6.0 * (i as f64 * 0.002).sin();
                lufs_to_energy(section + drift + 8.0 * (uniform() - 0.5))
            })
            .collect()
    }

    /// Tech 3342 by a scan from the gate up: the reference the cursors must repeat.
    fn scanned_range(h: &GatedHistogram, low_p: f64, high_p: f64) -> f64 {
        let Some(start) = h.relative_gate_start() else {
            return 0.0;
        };
        let start = start.min(NUM_BINS);
        let n: u64 = h.counts[start..].iter().map(|&c| c as u64).sum();
        if n == 0 {
            return 0.0;
        }
        let at_rank = |rank: u64| {
            let mut seen = 0u64;
            for bin in start..NUM_BINS {
                let c = h.counts[bin] as u64;
                if c > 0 && seen + c > rank {
                    return h.energy_sums[bin] / c as f64;
                }
                seen += c;
            }
            0.0
        };
        let rank = |p: f64| ((n - 1) as f64 * p + 0.5).floor() as u64;
        energy_to_lufs(at_rank(rank(high_p))) - energy_to_lufs(at_rank(rank(low_p)))
    }

    #[test]
    fn running_readings_equal_the_scans_block_by_block() {
        for gate_lu in [-10.0, -20.0] {
            let mut h = GatedHistogram::new(gate_lu);
            let mut worst_lu = 0.0f64;
            for (i, e) in energies(6_000, 0x9e37_79b9_7f4a_7c15)
                .into_iter()
                .enumerate()
            {
                h.add(e);
                let scan = h
                    .gated_mean_energy()
                    .map_or(f64::NEG_INFINITY, energy_to_lufs);
                let running = h
                    .running_gated_mean_energy()
                    .map_or(f64::NEG_INFINITY, energy_to_lufs);
                if scan.is_finite() {
                    worst_lu = worst_lu.max((scan - running).abs());
                } else {
                    assert_eq!(running, scan, "block {i}");
                }
                // Read the range only every few blocks as well, so cursors move several ranks.
                if i % 7 == 0 || i < 50 {
                    assert_eq!(
                        h.loudness_range(0.10, 0.95).to_bits(),
                        scanned_range(&h, 0.10, 0.95).to_bits(),
                        "gate {gate_lu} block {i}"
                    );
                }
            }
            assert!(worst_lu < 1e-9, "gate {gate_lu}: {worst_lu} LU apart");
            // The gate dropped part of the programme, so the gating was in play.
            assert!(h.gated_count < h.total_count);
            assert!(h.total_count < 6_000);
        }
    }

    #[test]
    fn reset_clears_the_running_state() {
        let mut h = GatedHistogram::new(-20.0);
        for e in energies(500, 7) {
            h.add(e);
        }
        let _ = h.loudness_range(0.10, 0.95);
        h.reset();
        assert_eq!(h.loudness_range(0.10, 0.95), 0.0);
        assert_eq!(h.running_gated_mean_energy(), None);
        let mut fresh = GatedHistogram::new(-20.0);
        for e in energies(300, 11) {
            h.add(e);
            fresh.add(e);
        }
        assert_eq!(
            h.loudness_range(0.10, 0.95).to_bits(),
            fresh.loudness_range(0.10, 0.95).to_bits()
        );
        assert_eq!(
            h.running_gated_mean_energy().map(f64::to_bits),
            fresh.running_gated_mean_energy().map(f64::to_bits)
        );
    }

    #[test]
    fn a_block_beyond_the_fixed_point_range_falls_back_to_the_scan() {
        let mut h = GatedHistogram::new(-10.0);
        for e in energies(200, 3) {
            h.add(e);
        }
        h.add(FIXED_MAX_ENERGY * 4.0);
        assert_eq!(h.running_gated_mean_energy(), h.gated_mean_energy());
    }
}
