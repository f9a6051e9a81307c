//! Reads a slot's ring as it is written: the frames since the last call, by timeline
//! position. A jump of the transport (seek, loop) or a reader that fell behind restarts it at
//! the newest frame, so it never reads the same stretch twice or stalls on a lost one.

use crate::link::{RingMiss, Slot, RING_FRAMES};

#[derive(Clone, Debug, Default)]
pub struct RingFollower {
    next: Option<i64>,
}

impl RingFollower {
    /// Copies up to `left.len()` frames written since the last call; returns the timeline
    /// position of the first and how many, or `None` when nothing new is readable.
    pub fn next(
        &mut self,
        slot: &Slot,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Option<(i64, usize)> {
        let until = slot.ring_written_until()?;
        let next = match self.next {
            Some(next) if next <= until && until - next <= (RING_FRAMES / 2) as i64 => next,
            _ => {
                self.next = Some(until);
                return None;
            }
        };
        let n = ((until - next) as usize).min(left.len()).min(right.len());
        if n == 0 {
            return None;
        }
        match slot.ring_read(next, &mut left[..n], &mut right[..n], None) {
            Ok(()) => {
                self.next = Some(next + n as i64);
                Some((next, n))
            }
            Err(RingMiss::Lost) => {
                self.next = Some(until);
                None
            }
            Err(RingMiss::NotYet) => None,
        }
    }
}
