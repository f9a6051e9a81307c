//! The per-slot audio ring: [`RING_FRAMES`] interleaved stereo frames plus a table of
//! [`BLOCK_TABLE`] block records, written by one thread (the owner's audio thread) and read by any
//! number of readers in any process, by *timeline position*.
//!
//! # Counters and orderings
//!
//! Frames are numbered by a 64-bit frame counter that only grows; frame `c` lives at ring index
//! `c % RING_FRAMES`. Blocks are numbered likewise; block `b` lives at `b % BLOCK_TABLE`. The
//! writer keeps two pairs of counters:
//!
//! * `reserved` / `blocks_reserved` are stored (relaxed) *before* a block's samples and record,
//!   followed by a Release fence. They announce "everything below `reserved - RING_FRAMES` (and
//!   blocks below `blocks_reserved - BLOCK_TABLE`) may be overwritten from now on".
//! * `written` / `blocks` are stored with Release *after* the samples and record: they publish
//!   the block.
//!
//! A reader Acquire-loads `blocks` and `written` first, which makes every record and sample of the
//! published blocks visible. It then copies with relaxed loads, issues an Acquire fence and loads
//! the reserve counters. If any value it copied came from a store made after the writer's Release
//! fence of a later block, the two fences synchronise and the reader's reserve loads see at least
//! that block's reservation — which proves the copied frame (or record) may have been
//! overwritten, and the copy is discarded (retried). This is the seqlock argument applied per
//! frame instead of per record, so a reader only rejects a copy when the frames *it used* were
//! actually at risk, and the writer never waits for anyone.
//!
//! A reader that never sees new stores simply gets the old (consistent) values. Garbage in a record
//! (from a torn read) is harmless before validation: every index is reduced modulo the table
//! sizes and all arithmetic saturates, so it can only produce a copy that validation rejects.

use std::sync::atomic::{fence, AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::slot::Slot;
use super::{BLOCK_TABLE, RING_FRAMES};

/// One block record. 24 bytes, only atomics.
#[repr(C)]
pub(crate) struct BlockRecord {
    /// Frame counter of the block's first kept frame.
    pub(crate) first_frame: AtomicU64,
    /// Timeline position of that frame; `i64::MIN` = transport not playing.
    pub(crate) timeline: AtomicI64,
    /// Frames in the block (at most [`RING_FRAMES`]).
    pub(crate) frames: AtomicU32,
    /// The block's aux value, `f32` bits.
    pub(crate) aux_bits: AtomicU32,
}

/// Why [`Slot::ring_read`] could not deliver every requested frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingMiss {
    /// Some requested position lies after everything written so far (nothing is lost): try later.
    NotYet,
    /// Some frame is missing: overwritten, older than the ring keeps, or written while not playing.
    Lost,
}

const NOT_PLAYING: i64 = i64::MIN;
/// Attempts of one read before a racing writer makes it give up with `Lost`.
const READ_TRIES: usize = 4;
/// Uncovered pieces of a request tracked at once; a request cut into more pieces (by many
/// timeline jumps) is read in halves.
const PIECES: usize = 32;

/// `timeline_end` encoding: 0 = none (so a zeroed slot has none), else `end ^ i64::MIN`.
/// (`end == i64::MIN` itself cannot be represented; it would read as "none".)
fn encode_end(end: i64) -> i64 {
    end ^ i64::MIN
}

fn decode_end(v: i64) -> Option<i64> {
    (v != 0).then_some(v ^ i64::MIN)
}

enum Once {
    Done(Result<(), RingMiss>),
    /// The writer overwrote something this read used: retry.
    Raced,
    /// More than `PIECES` uncovered pieces: split the request.
    Fragmented,
}

/// The positions of a request that no (newer) block has covered yet, as disjoint half-open
/// intervals. Fixed capacity: no allocation on the audio thread.
struct Uncovered {
    pieces: [(i64, i64); PIECES],
    len: usize,
}

impl Uncovered {
    fn new(start: i64, end: i64) -> Self {
        let mut pieces = [(0, 0); PIECES];
        pieces[0] = (start, end);
        Uncovered { pieces, len: 1 }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes `[a, b)`, calling `take(x, y)` for every removed piece. False on overflow.
    fn remove(&mut self, a: i64, b: i64, mut take: impl FnMut(i64, i64)) -> bool {
        if a >= b {
            return true;
        }
        let mut out = [(0i64, 0i64); PIECES];
        let mut n = 0;
        let mut push = |p: (i64, i64), n: &mut usize| -> bool {
            if *n == PIECES {
                return false;
            }
            out[*n] = p;
            *n += 1;
            true
        };
        for &(x, y) in &self.pieces[..self.len] {
            let (cx, cy) = (x.max(a), y.min(b));
            if cx >= cy {
                if !push((x, y), &mut n) {
                    return false;
                }
                continue;
            }
            take(cx, cy);
            if x < cx && !push((x, cx), &mut n) {
                return false;
            }
            if cy < y && !push((cy, y), &mut n) {
                return false;
            }
        }
        self.pieces = out;
        self.len = n;
        true
    }

    fn min_start(&self) -> Option<i64> {
        self.pieces[..self.len].iter().map(|p| p.0).min()
    }
}

/// One stereo frame as the ring stores it: left in the low half, right in the high half.
#[inline]
fn frame_word(left: f32, right: f32) -> u64 {
    u64::from(left.to_bits()) | u64::from(right.to_bits()) << 32
}

impl Slot {
    /// Makes the previous owner's blocks invisible (called by claim, before the new owner writes).
    pub(crate) fn reset_ring(&self) {
        let blocks = self.ring.blocks.load(Ordering::Acquire);
        self.ring.block_floor.store(blocks, Ordering::Release);
        self.ring.timeline_end.store(0, Ordering::Release);
    }

    /// Appends a block of stereo frames and one block record
    /// `{ first frame counter, frames, timeline start, aux }`.
    ///
    /// `left.len()` must equal `right.len()` (checked in debug builds; the shorter length is
    /// used otherwise). Any length is fine, including 0 and more than [`RING_FRAMES`] (then only
    /// the last `RING_FRAMES` frames are kept, with their timeline positions).
    /// `timeline_start: None` means the transport is not playing: the frames take ring space but
    /// are never returned by [`Slot::ring_read`].
    ///
    /// Never allocates, locks or makes a system call: plain atomic stores. One writer only (the
    /// slot's owner, on its audio thread).
    pub fn ring_write(&self, left: &[f32], right: &[f32], timeline_start: Option<i64>, aux: f32) {
        debug_assert_eq!(left.len(), right.len());
        let n = left.len().min(right.len());
        let kept = n.min(RING_FRAMES);
        let skip = n - kept;
        let (left, right) = (&left[skip..n], &right[skip..n]);

        // Single writer: our own previous stores, relaxed is enough.
        let w = self.ring.written.load(Ordering::Relaxed);
        let b = self.ring.blocks.load(Ordering::Relaxed);
        self.ring
            .reserved
            .store(w.wrapping_add(kept as u64), Ordering::Relaxed);
        self.ring
            .blocks_reserved
            .store(b.wrapping_add(1), Ordering::Relaxed);
        // Orders the reservations before every sample/record store below (see module docs).
        fence(Ordering::Release);

        // At most two contiguous runs (before and after the ring's end), each a plain loop
        // without bounds checks or a wrap test per frame.
        let start = (w % RING_FRAMES as u64) as usize;
        let first_run = kept.min(RING_FRAMES - start);
        let runs = [
            (&self.samples[start..start + first_run], 0..first_run),
            (&self.samples[..kept - first_run], first_run..kept),
        ];
        for (words, frames) in runs {
            for ((word, &l), &r) in words.iter().zip(&left[frames.clone()]).zip(&right[frames]) {
                word.store(frame_word(l, r), Ordering::Relaxed);
            }
        }

        let timeline = match timeline_start {
            Some(t) => t.saturating_add(skip as i64),
            None => NOT_PLAYING,
        };
        let rec = &self.blocks[(b % BLOCK_TABLE as u64) as usize];
        rec.first_frame.store(w, Ordering::Relaxed);
        rec.timeline.store(timeline, Ordering::Relaxed);
        rec.frames.store(kept as u32, Ordering::Relaxed);
        rec.aux_bits.store(aux.to_bits(), Ordering::Relaxed);

        if let Some(t) = timeline_start {
            self.ring
                .timeline_end
                .store(encode_end(t.saturating_add(n as i64)), Ordering::Release);
        }
        // Publish: a reader that Acquire-loads these sees the samples and record above.
        self.ring
            .written
            .store(w.wrapping_add(kept as u64), Ordering::Release);
        self.ring.blocks.store(b.wrapping_add(1), Ordering::Release);
    }

    /// Timeline position just after the most recent block written with a timeline position
    /// (`None` if none yet since the slot was claimed).
    pub fn ring_written_until(&self) -> Option<i64> {
        decode_end(self.ring.timeline_end.load(Ordering::Acquire))
    }

    /// Copies the frames of timeline positions `[pos, pos + left.len())` into `left`/`right`, and
    /// fills `aux` (if given) with each frame's block aux value.
    ///
    /// `Ok(())` only if every frame was written with a timeline position and none was
    /// overwritten during the copy. Blocks may be of any size and the timeline may jump between
    /// blocks (loop, seek); a position written twice resolves to the most recent write.
    /// `Err(NotYet)`: some requested position lies at or after [`Slot::ring_written_until`] and
    /// nothing is lost. `Err(Lost)`: some frame is missing (overwritten, older than the ring
    /// keeps, written while not playing). On `Err` the outputs hold partial data.
    ///
    /// Cost: O(blocks touched + frames copied); blocks are looked up from the newest backwards,
    /// at most [`BLOCK_TABLE`] of them, stopping as soon as the request is covered. No allocation,
    /// lock or system call, so the Master may call it on its audio thread.
    ///
    /// Panics if `right` (or `aux`) is not as long as `left`.
    pub fn ring_read(
        &self,
        pos: i64,
        left: &mut [f32],
        right: &mut [f32],
        mut aux: Option<&mut [f32]>,
    ) -> Result<(), RingMiss> {
        let n = left.len();
        assert_eq!(right.len(), n, "ring_read: left and right differ in length");
        if let Some(a) = &aux {
            assert_eq!(a.len(), n, "ring_read: aux differs in length");
        }
        if n == 0 {
            return Ok(());
        }
        if pos.checked_add(n as i64).is_none() {
            return Err(RingMiss::NotYet);
        }
        for _ in 0..READ_TRIES {
            match self.ring_read_once(pos, left, right, aux.as_deref_mut()) {
                Once::Done(r) => return r,
                Once::Raced => continue,
                Once::Fragmented => {
                    // n >= 2 here: a single position is never more than one piece.
                    let h = n / 2;
                    let (l1, l2) = left.split_at_mut(h);
                    let (r1, r2) = right.split_at_mut(h);
                    let (a1, a2) = match aux {
                        Some(a) => {
                            let (a1, a2) = a.split_at_mut(h);
                            (Some(a1), Some(a2))
                        }
                        None => (None, None),
                    };
                    let first = self.ring_read(pos, l1, r1, a1);
                    let second = self.ring_read(pos + h as i64, l2, r2, a2);
                    return match (first, second) {
                        (Err(RingMiss::Lost), _) | (_, Err(RingMiss::Lost)) => Err(RingMiss::Lost),
                        (Err(RingMiss::NotYet), _) | (_, Err(RingMiss::NotYet)) => {
                            Err(RingMiss::NotYet)
                        }
                        _ => Ok(()),
                    };
                }
            }
        }
        Err(RingMiss::Lost)
    }

    fn ring_read_once(
        &self,
        pos: i64,
        left: &mut [f32],
        right: &mut [f32],
        mut aux: Option<&mut [f32]>,
    ) -> Once {
        let end = pos + left.len() as i64;
        // Acquire: every block below `blocks` and every frame below `written` is visible.
        let blocks = self.ring.blocks.load(Ordering::Acquire);
        let written = self.ring.written.load(Ordering::Acquire);
        let floor = self.ring.block_floor.load(Ordering::Acquire);
        let until = decode_end(self.ring.timeline_end.load(Ordering::Acquire));

        let lowest_kept_block = blocks.saturating_sub(BLOCK_TABLE as u64).max(floor);
        let lowest_kept_frame = written.saturating_sub(RING_FRAMES as u64);
        let mut uncovered = Uncovered::new(pos, end);
        let mut lowest_block_read = blocks;
        let mut lowest_frame_copied = u64::MAX;
        let mut b = blocks;
        while b > lowest_kept_block && !uncovered.is_empty() {
            b -= 1;
            lowest_block_read = b;
            let rec = &self.blocks[(b % BLOCK_TABLE as u64) as usize];
            let first = rec.first_frame.load(Ordering::Relaxed);
            let frames = u64::from(rec.frames.load(Ordering::Relaxed)).min(RING_FRAMES as u64);
            let timeline = rec.timeline.load(Ordering::Relaxed);
            let aux_value = f32::from_bits(rec.aux_bits.load(Ordering::Relaxed));
            if first.saturating_add(frames) <= lowest_kept_frame {
                break; // this block and every older one are out of the ring
            }
            if timeline == NOT_PLAYING || frames == 0 {
                continue;
            }
            // Frames of this block that are already overwritten are not offered.
            let gone = lowest_kept_frame.saturating_sub(first).min(frames);
            let start = timeline.saturating_add(gone as i64);
            let stop = timeline.saturating_add(frames as i64);
            let ok = uncovered.remove(start, stop, |x, y| {
                let c0 = first.wrapping_add((x - timeline) as u64);
                lowest_frame_copied = lowest_frame_copied.min(c0);
                let mut idx = (c0 % RING_FRAMES as u64) as usize;
                for p in (x - pos) as usize..(y - pos) as usize {
                    let word = self.samples[idx].load(Ordering::Relaxed);
                    left[p] = f32::from_bits(word as u32);
                    right[p] = f32::from_bits((word >> 32) as u32);
                    idx += 1;
                    if idx == RING_FRAMES {
                        idx = 0;
                    }
                }
                if let Some(a) = aux.as_deref_mut() {
                    a[(x - pos) as usize..(y - pos) as usize].fill(aux_value);
                }
            });
            if !ok {
                return Once::Fragmented;
            }
        }

        // Validation (see module docs): did the writer reserve anything we used?
        fence(Ordering::Acquire);
        let reserved = self.ring.reserved.load(Ordering::Relaxed);
        let blocks_reserved = self.ring.blocks_reserved.load(Ordering::Relaxed);
        if lowest_block_read < blocks_reserved.saturating_sub(BLOCK_TABLE as u64)
            || lowest_frame_copied < reserved.saturating_sub(RING_FRAMES as u64)
        {
            return Once::Raced;
        }
        match uncovered.min_start() {
            None => Once::Done(Ok(())),
            Some(first_missing) => match until {
                Some(u) if first_missing < u => Once::Done(Err(RingMiss::Lost)),
                _ => Once::Done(Err(RingMiss::NotYet)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::slot::boxed_zeroed_slot;
    use super::*;

    /// The test signal: a distinct value for every timeline position and generation.
    fn sig(pos: i64, version: u32) -> (f32, f32) {
        let v = (pos as f32) * 0.25 + version as f32 * 1.0e6;
        (v, -v - 0.5)
    }

    fn write_block(slot: &Slot, tl: Option<i64>, len: usize, version: u32, aux: f32) {
        let base = tl.unwrap_or(-1_000_000);
        let (l, r): (Vec<f32>, Vec<f32>) = (0..len).map(|i| sig(base + i as i64, version)).unzip();
        slot.ring_write(&l, &r, tl, aux);
    }

    type Frames = (Vec<f32>, Vec<f32>, Vec<f32>);

    fn read(slot: &Slot, pos: i64, len: usize) -> Result<Frames, RingMiss> {
        let (mut l, mut r, mut a) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        slot.ring_read(pos, &mut l, &mut r, Some(&mut a))?;
        Ok((l, r, a))
    }

    fn assert_signal(l: &[f32], r: &[f32], pos: i64, version: u32) {
        for i in 0..l.len() {
            let (el, er) = sig(pos + i as i64, version);
            assert_eq!(
                (l[i], r[i]),
                (el, er),
                "frame at position {}",
                pos + i as i64
            );
        }
    }

    #[test]
    fn ring_continuous_blocks_read_back_exactly() {
        let slot = boxed_zeroed_slot();
        assert_eq!(slot.ring_written_until(), None);
        assert_eq!(read(&slot, 0, 10).unwrap_err(), RingMiss::NotYet);
        let sizes = [1usize, 37, 512, 4096, 1, 37, 512, 4096, 37];
        let start = 10_000i64;
        let mut tl = start;
        let mut bounds = Vec::new();
        for (k, &s) in sizes.iter().enumerate() {
            write_block(&slot, Some(tl), s, 0, k as f32);
            bounds.push((tl, tl + s as i64, k as f32));
            tl += s as i64;
        }
        slot.ring_write(&[], &[], Some(tl), 99.0); // an empty block changes nothing
        assert_eq!(slot.ring_written_until(), Some(tl));
        for &(pos, len) in &[
            (start, 1usize),
            (start, (tl - start) as usize),
            (start + 1, 36),
            (start + 20, 100),
            (start + 30, 5000),
            (start + 4000, 700),
            (tl - 1, 1),
            (tl - 3000, 3000),
        ] {
            let (l, r, a) = read(&slot, pos, len).unwrap();
            assert_signal(&l, &r, pos, 0);
            for (i, &av) in a.iter().enumerate() {
                let p = pos + i as i64;
                let want = bounds.iter().find(|b| b.0 <= p && p < b.1).unwrap().2;
                assert_eq!(av, want, "aux at position {p}");
            }
        }
        // Without aux.
        let (mut l, mut r) = (vec![0.0; 600], vec![0.0; 600]);
        slot.ring_read(start + 7, &mut l, &mut r, None).unwrap();
        assert_signal(&l, &r, start + 7, 0);
        // Reading ahead: NotYet, also when only the tail is ahead.
        assert_eq!(read(&slot, tl, 10).unwrap_err(), RingMiss::NotYet);
        assert_eq!(read(&slot, tl - 5, 10).unwrap_err(), RingMiss::NotYet);
        // Before the first write: Lost.
        assert_eq!(read(&slot, start - 10, 20).unwrap_err(), RingMiss::Lost);
    }

    #[test]
    fn ring_seek_newest_write_wins_and_not_playing_is_lost() {
        let slot = boxed_zeroed_slot();
        // Play 0..2048 in 512-frame blocks (version 0).
        for k in 0..4 {
            write_block(&slot, Some(k * 512), 512, 0, 1.0);
        }
        // Seek back: 1000..1300 again (version 1), in odd block sizes.
        write_block(&slot, Some(1000), 100, 1, 2.0);
        write_block(&slot, Some(1100), 200, 1, 3.0);
        assert_eq!(slot.ring_written_until(), Some(1300));
        // Old positions outside the re-written range are still readable; newest wins inside.
        let (l, r, a) = read(&slot, 900, 600).unwrap();
        assert_signal(&l[..100], &r[..100], 900, 0);
        assert_signal(&l[100..400], &r[100..400], 1000, 1);
        assert_signal(&l[400..], &r[400..], 1300, 0);
        assert_eq!(a[0], 1.0);
        assert_eq!(a[150], 2.0);
        assert_eq!(a[250], 3.0);
        assert_eq!(a[450], 1.0);
        // A position after written_until that an older block covers is still readable...
        let (l, r, _) = read(&slot, 1500, 500).unwrap();
        assert_signal(&l, &r, 1500, 0);
        // ...but one nobody wrote is NotYet.
        assert_eq!(read(&slot, 2040, 20).unwrap_err(), RingMiss::NotYet);

        // Stop the transport: frames written while not playing are never returned.
        write_block(&slot, None, 256, 2, 4.0);
        assert_eq!(slot.ring_written_until(), Some(1300));
        // Start again at 5000 after a gap covered by nothing.
        write_block(&slot, Some(5000), 256, 2, 5.0);
        assert_eq!(read(&slot, 4000, 10).unwrap_err(), RingMiss::Lost);
        assert_eq!(read(&slot, 4990, 20).unwrap_err(), RingMiss::Lost);
        let (l, r, a) = read(&slot, 5000, 256).unwrap();
        assert_signal(&l, &r, 5000, 2);
        assert!(a.iter().all(|&x| x == 5.0));
    }

    #[test]
    fn ring_oldest_frames_are_lost_after_wraparound() {
        let slot = boxed_zeroed_slot();
        let block = 1000usize;
        let total = RING_FRAMES + 5 * block;
        let mut tl = 0i64;
        while (tl as usize) < total {
            write_block(&slot, Some(tl), block, 0, tl as f32);
            tl += block as i64;
        }
        let oldest = tl - RING_FRAMES as i64;
        assert_eq!(read(&slot, 0, 10).unwrap_err(), RingMiss::Lost);
        assert_eq!(read(&slot, oldest - 1, 10).unwrap_err(), RingMiss::Lost);
        let (l, r, a) = read(&slot, oldest, RING_FRAMES).unwrap();
        assert_signal(&l, &r, oldest, 0);
        assert_eq!(a[0], (oldest / 1000 * 1000) as f32);
        assert_eq!(*a.last().unwrap(), (tl - block as i64) as f32);

        // A single block longer than the ring keeps only its last RING_FRAMES frames.
        let big = RING_FRAMES + 777;
        write_block(&slot, Some(1_000_000), big, 3, 9.0);
        assert_eq!(slot.ring_written_until(), Some(1_000_000 + big as i64));
        assert_eq!(read(&slot, 1_000_000 + 776, 2).unwrap_err(), RingMiss::Lost);
        let (l, r, _) = read(&slot, 1_000_000 + 777, RING_FRAMES).unwrap();
        assert_signal(&l, &r, 1_000_000 + 777, 3);
        // Everything before it is overwritten now.
        assert_eq!(read(&slot, tl - 10, 10).unwrap_err(), RingMiss::Lost);
    }

    #[test]
    fn ring_many_small_blocks_and_fragmented_requests() {
        let slot = boxed_zeroed_slot();
        // More blocks than the block table holds: the oldest blocks' frames are Lost even though
        // their samples are still in the ring.
        for k in 0..(BLOCK_TABLE as i64 + 100) {
            write_block(&slot, Some(k * 3), 3, 0, k as f32);
        }
        assert_eq!(read(&slot, 0, 3).unwrap_err(), RingMiss::Lost);
        let (l, r, a) = read(&slot, 300, 3000).unwrap();
        assert_signal(&l, &r, 300, 0);
        assert_eq!(a[0], 100.0);

        // A request cut into many pieces: every other position re-written later (newest wins).
        let slot = boxed_zeroed_slot();
        write_block(&slot, Some(0), 1000, 0, 0.0);
        for p in (0..400).step_by(2) {
            write_block(&slot, Some(p), 1, 1, 1.0);
        }
        let (l, r, a) = read(&slot, 0, 600).unwrap();
        for i in 0..600 {
            let v = if i < 400 && i % 2 == 0 { 1 } else { 0 };
            assert_signal(&l[i..i + 1], &r[i..i + 1], i as i64, v);
            assert_eq!(a[i], v as f32);
        }
    }

    #[test]
    fn ring_concurrent_reader_never_sees_wrong_frames() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        let slot: Arc<Slot> = Arc::from(boxed_zeroed_slot());
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (slot, stop) = (slot.clone(), stop.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut tl = 0i64;
                let sizes = [1usize, 37, 512, 4096, 129];
                let mut k = 0;
                // sig() is exact below 2^24 positions; stop well before that (or after 1 s).
                while tl < 12_000_000 && start.elapsed() < Duration::from_secs(1) {
                    let s = sizes[k % sizes.len()];
                    write_block(&slot, Some(tl), s, 0, 0.0);
                    tl += s as i64;
                    k += 1;
                }
                stop.store(true, Ordering::Release);
            })
        };
        let (mut ok, mut lost, mut offset) = (0u64, 0u64, 0i64);
        let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
        while !stop.load(Ordering::Acquire) {
            let Some(until) = slot.ring_written_until() else {
                continue;
            };
            // Read near the overwrite edge, where the writer laps readers.
            offset = (offset + 997) % 8192;
            let pos = (until - RING_FRAMES as i64 + offset).max(0);
            match slot.ring_read(pos, &mut l, &mut r, None) {
                Ok(()) => {
                    ok += 1;
                    assert_signal(&l, &r, pos, 0);
                }
                Err(RingMiss::Lost) => lost += 1,
                Err(RingMiss::NotYet) => {}
            }
        }
        writer.join().unwrap();
        eprintln!("concurrent ring reads: {ok} ok, {lost} lost");
        assert!(ok > 0);
    }
}
