//! Lines the linked stems up with the master's input and feeds the overview.
//!
//! Each instance's ring holds its audio by timeline position. A stem's ring positions are the
//! timeline positions of its output (host transport position minus its own latency); the
//! master's ring holds its input at its transport position. A host with delay compensation
//! delays every track to the slowest, so the master's input at transport position `p` is the
//! stems' output for timeline `p - L`, `L` the largest stem latency: the stems are read at the
//! master's position plus `offset_samples = -L`.
//!
//! The feed advances a frontier through the master's ring, and waits for stems that are still
//! writing (so every stretch is analysed with all of them) but never for one that stopped or
//! lags by more than half a ring (it is analysed as absent instead).

use shared_dsp::link::overview::LinkAnalysis;
use stem_plugin_common::link::{RingMiss, Slot, RING_FRAMES};

/// Frames analysed per step.
const CHUNK: usize = 4096;
/// Smallest stretch tried when looking for where the audio starts.
const MIN_STEP: usize = 64;

/// One linked stem as the feed reads it.
pub struct StemSource<'a> {
    /// Its column in the overview.
    pub column: usize,
    pub slot: &'a Slot,
    /// Whether it is still writing (the feed waits for it).
    pub waiting: bool,
}

/// See the module documentation.
pub struct AlignedFeed {
    frontier: Option<i64>,
    master: [Vec<f32>; 2],
    gain_reduction: Vec<f32>,
    stems: Vec<[Vec<f32>; 2]>,
}

impl AlignedFeed {
    pub fn new(max_stems: usize) -> Self {
        Self {
            frontier: None,
            master: [vec![0.0; CHUNK], vec![0.0; CHUNK]],
            gain_reduction: vec![0.0; CHUNK],
            stems: (0..max_stems)
                .map(|_| [vec![0.0; CHUNK], vec![0.0; CHUNK]])
                .collect(),
        }
    }

    /// Starts again from the newest audio (after a mark or a rate change).
    pub fn restart(&mut self) {
        self.frontier = None;
    }

    /// Analyses everything the master and the stems have written since the last call; returns
    /// the frames analysed.
    pub fn run(
        &mut self,
        master: &Slot,
        stems: &[StemSource],
        offset_samples: i64,
        analysis: &mut LinkAnalysis,
    ) -> usize {
        let Some(until) = master.ring_written_until() else {
            return 0;
        };
        let oldest = until - (RING_FRAMES as i64 * 3 / 4);
        let mut frontier = match self.frontier {
            Some(f) if f <= until && f >= oldest => f,
            _ => oldest,
        };
        let mut end = until;
        for s in stems.iter().filter(|s| s.waiting) {
            // A stem that has written nothing yet is waited for too: it may be a moment
            // behind the master in starting.
            let written = s
                .slot
                .ring_written_until()
                .map_or(frontier, |w| w - offset_samples);
            end = end.min(written);
        }
        // Never wait so long that the master's own audio is overwritten before it is read.
        end = end.max(until - RING_FRAMES as i64 / 2);
        let mut fed = 0;
        // Halved on a miss, so the stretch where the audio starts (or resumes after a gap) is
        // found to within `MIN_STEP` frames instead of a whole chunk being skipped.
        let mut step = CHUNK;
        while frontier < end {
            let n = (step as i64).min(end - frontier) as usize;
            let [ml, mr] = &mut self.master;
            match master.ring_read(
                frontier,
                &mut ml[..n],
                &mut mr[..n],
                Some(&mut self.gain_reduction[..n]),
            ) {
                Ok(()) => step = CHUNK,
                Err(RingMiss::Lost) if n > MIN_STEP => {
                    step = n / 2;
                    continue;
                }
                Err(RingMiss::Lost) => {
                    frontier += n as i64;
                    continue;
                }
                Err(RingMiss::NotYet) => break,
            }
            let mut present = [false; shared_dsp::link::overview::MAX_LINKED_STEMS];
            for s in stems {
                let [l, r] = &mut self.stems[s.column];
                present[s.column] = s
                    .slot
                    .ring_read(frontier + offset_samples, &mut l[..n], &mut r[..n], None)
                    .is_ok();
            }
            let columns: Vec<Option<[&[f32]; 2]>> = self
                .stems
                .iter()
                .zip(present)
                .map(|([l, r], p)| p.then_some([&l[..n], &r[..n]]))
                .collect();
            analysis.feed(
                [&self.master[0][..n], &self.master[1][..n]],
                &self.gain_reduction[..n],
                &columns,
            );
            frontier += n as i64;
            fed += n;
        }
        self.frontier = Some(frontier);
        fed
    }
}
