//! One instance's slot in a link group's segment: ownership, heartbeat, the seqlock status record
//! and (see [`super::ring`]) the audio ring.
//!
//! A `Slot` only ever lives inside a mapping (or, in tests, a zeroed heap allocation). It holds
//! nothing but atomic integers, so any bit pattern — including all zeros and whatever another
//! process writes — is a valid value, and sharing it between processes is sound.

use std::sync::atomic::{fence, AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::ring::BlockRecord;
use super::{BLOCK_TABLE, EXPIRY_MS, RECORD_WORDS, RING_FRAMES};

/// Ownership words, on their own cache line (written by claim/beat/release, off the audio thread).
#[repr(C, align(64))]
pub(crate) struct SlotControl {
    /// Instance id of the owner, 0 = free.
    pub(crate) owner: AtomicU64,
    /// [`super::now_ms`] of the last claim or beat.
    pub(crate) heartbeat: AtomicU64,
    pub(crate) kind: AtomicU32,
    /// Bumped on every claim, so readers can tell a new owner from the old one.
    pub(crate) generation: AtomicU32,
    /// Seqlock sequence of the status record: odd while a write is in progress.
    pub(crate) record_seq: AtomicU32,
}

/// The ring's counters, on their own cache line (written by the owner's audio thread).
#[repr(C, align(64))]
pub(crate) struct RingControl {
    /// Frames published (the frame counter just after the newest block's frames).
    pub(crate) written: AtomicU64,
    /// Frames reserved: stored before a block's samples are written (see `ring.rs`).
    pub(crate) reserved: AtomicU64,
    /// Blocks published.
    pub(crate) blocks: AtomicU64,
    /// Blocks reserved: stored before a block's record is written.
    pub(crate) blocks_reserved: AtomicU64,
    /// Blocks below this index belong to a previous owner (set by claim).
    pub(crate) block_floor: AtomicU64,
    /// Timeline end of the newest playing block, encoded (0 = none; see `ring.rs`).
    pub(crate) timeline_end: AtomicI64,
}

/// One instance's slot. Lives inside the mapping: only atomics, `repr(C)`, no pointers.
#[repr(C, align(64))]
pub struct Slot {
    pub(crate) ctl: SlotControl,
    pub(crate) ring: RingControl,
    pub(crate) record: [AtomicU32; RECORD_WORDS],
    pub(crate) blocks: [BlockRecord; BLOCK_TABLE],
    /// Stereo frames, one word each (left `f32` bits low, right high: one store per frame, half
    /// the audio thread's stores of a word per sample): frame counter `c` is at
    /// `c % RING_FRAMES`.
    pub(crate) samples: [AtomicU64; RING_FRAMES],
}

/// Seqlock read attempts before [`Slot::read_record`] may give up (it also keeps trying for 5 ms).
const RECORD_READ_TRIES: usize = 64;

impl Slot {
    /// Instance id of the owner (0 = free). Possibly expired: see [`Slot::is_live`].
    pub fn owner(&self) -> u64 {
        self.ctl.owner.load(Ordering::Acquire)
    }

    pub fn kind(&self) -> u32 {
        self.ctl.kind.load(Ordering::Acquire)
    }

    pub fn generation(&self) -> u32 {
        self.ctl.generation.load(Ordering::Acquire)
    }

    pub fn heartbeat_ms(&self) -> u64 {
        self.ctl.heartbeat.load(Ordering::Acquire)
    }

    /// Owned, and beaten within [`EXPIRY_MS`] of `now_ms`. A heartbeat slightly in the future
    /// (stamped by another process after the caller read the clock) counts as fresh.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.owner() != 0 && now_ms.saturating_sub(self.heartbeat_ms()) <= EXPIRY_MS
    }

    /// Stamps `now_ms` if `instance_id` still owns the slot; false if it was taken over (then the
    /// caller must claim again and stop writing to this slot).
    ///
    /// The owner is checked before and after the stamp: a takeover between the two leaves the
    /// new owner with a fresher heartbeat (harmless) and this call returns false.
    pub fn beat(&self, instance_id: u64, now_ms: u64) -> bool {
        if instance_id == 0 || self.ctl.owner.load(Ordering::Acquire) != instance_id {
            return false;
        }
        self.ctl.heartbeat.fetch_max(now_ms, Ordering::AcqRel);
        self.ctl.owner.load(Ordering::Acquire) == instance_id
    }

    /// Gives the slot up (compare-exchange owner id -> 0; a slot taken over meanwhile is left
    /// alone). The heartbeat is left as it is: a claimer may already be stamping it.
    pub fn release(&self, instance_id: u64) {
        if instance_id != 0 {
            let _ = self.ctl.owner.compare_exchange(
                instance_id,
                0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    /// Tries to take this slot for `instance_id` if it is free or expired at `now`. Returns true
    /// if this call won it.
    ///
    /// Two compare-exchanges: first the heartbeat (from the value that made the slot look free or
    /// expired, to `now`), then the owner. A competing claimer that read the same state loses one
    /// of them; one that reads after the heartbeat stamp sees a live slot. The owner
    /// compare-exchange is the final arbiter: exactly one claimer replaces a given owner value.
    pub(crate) fn try_claim(&self, instance_id: u64, kind: u32, now: u64) -> bool {
        let owner = self.ctl.owner.load(Ordering::Acquire);
        let heartbeat = self.ctl.heartbeat.load(Ordering::Acquire);
        if owner != 0 && now.saturating_sub(heartbeat) <= EXPIRY_MS {
            return false;
        }
        if self
            .ctl
            .heartbeat
            .compare_exchange(heartbeat, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        if self
            .ctl
            .owner
            .compare_exchange(owner, instance_id, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.ctl.kind.store(kind, Ordering::Release);
        self.reset_ring();
        self.write_record(&[0; RECORD_WORDS]);
        // Last, so a reader that sees the new generation also sees the reset ring and record.
        self.ctl.generation.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Seqlock write (single writer: the owner): seq becomes odd, Release fence, relaxed word
    /// stores, seq even with Release.
    ///
    /// Why this is enough: a reader that copies any word stored after the fence has its own
    /// Acquire fence synchronise with ours, so its second seq load sees at least the odd value
    /// and the copy is discarded. The final Release store publishes all words to a reader whose
    /// first (Acquire) seq load sees the even value.
    pub fn write_record(&self, words: &[u32; RECORD_WORDS]) {
        let seq = self.ctl.record_seq.load(Ordering::Relaxed);
        // An odd value left by a writer that died mid-write is completed to the next even value.
        let odd = (seq | 1).wrapping_add(if seq & 1 == 1 { 2 } else { 0 });
        self.ctl.record_seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        for (dst, &w) in self.record.iter().zip(words.iter()) {
            dst.store(w, Ordering::Relaxed);
        }
        self.ctl
            .record_seq
            .store(odd.wrapping_add(1), Ordering::Release);
    }

    /// Seqlock read: copies, retries on a torn or in-progress read (at least 64 tries and 5 ms, yielding after the first 16), false if it
    /// never got a consistent copy (then `out` holds garbage).
    pub fn read_record(&self, out: &mut [u32; RECORD_WORDS]) -> bool {
        // Readers are never audio threads: after a few spins, give the writer (which another
        // process's scheduler may have paused mid-write) time to finish, for up to about 5 ms.
        let started = std::time::Instant::now();
        for attempt in 0.. {
            if attempt >= RECORD_READ_TRIES
                && started.elapsed() > std::time::Duration::from_millis(5)
            {
                break;
            }
            if attempt >= 16 {
                std::thread::yield_now();
            }
            let s1 = self.ctl.record_seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            for (dst, src) in out.iter_mut().zip(self.record.iter()) {
                *dst = src.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if self.ctl.record_seq.load(Ordering::Relaxed) == s1 {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Test-only: writes a heartbeat directly (to age a slot without sleeping).
    #[cfg(test)]
    pub(crate) fn set_heartbeat_for_test(&self, ms: u64) {
        self.ctl.heartbeat.store(ms, Ordering::Release);
    }
}

/// Test-only: a zero-filled slot on the heap (a zeroed slot is a valid, free slot).
#[cfg(test)]
pub(crate) fn boxed_zeroed_slot() -> Box<Slot> {
    let layout = std::alloc::Layout::new::<Slot>();
    // SAFETY: the layout has non-zero size; `Slot` consists of atomic integers only, for which
    // all-zero bits are a valid value, so the zeroed allocation is an initialised `Slot`, and
    // `Box` frees it with the same layout.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut Slot;
        assert!(!p.is_null(), "out of memory");
        Box::from_raw(p)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{new_instance_id, now_ms, unique_group, LinkGroup, SLOTS};
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn record_round_trip() {
        let slot = boxed_zeroed_slot();
        let mut words = [0u32; RECORD_WORDS];
        for (i, w) in words.iter_mut().enumerate() {
            *w = (i as u32).wrapping_mul(2_654_435_761);
        }
        slot.write_record(&words);
        let mut out = [0u32; RECORD_WORDS];
        assert!(slot.read_record(&mut out));
        assert_eq!(out, words);
        // A writer that died mid-write (odd seq) does not wedge the record.
        slot.ctl.record_seq.store(7, Ordering::Relaxed);
        assert!(!slot.read_record(&mut out));
        slot.write_record(&[5; RECORD_WORDS]);
        assert!(slot.read_record(&mut out));
        assert_eq!(out, [5; RECORD_WORDS]);
    }

    #[test]
    fn record_torn_reads_are_detected() {
        let slot: Arc<Slot> = Arc::from(boxed_zeroed_slot());
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let writer = {
            let (slot, stop) = (slot.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut words = [0u32; RECORD_WORDS];
                let mut n = 0u32;
                while n < 200_000 && start.elapsed() < Duration::from_secs(2) {
                    n += 1;
                    words.fill(n);
                    slot.write_record(&words);
                }
                stop.store(true, Ordering::Release);
                n
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (slot, stop) = (slot.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut out = [0u32; RECORD_WORDS];
                    let (mut ok, mut failed) = (0u64, 0u64);
                    while !stop.load(Ordering::Acquire) {
                        if slot.read_record(&mut out) {
                            ok += 1;
                            let first = out[0];
                            assert!(
                                out.iter().all(|&w| w == first),
                                "torn record accepted: {first} vs {:?}",
                                out.iter().find(|&&w| w != first)
                            );
                        } else {
                            failed += 1;
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        let writes = writer.join().unwrap();
        let mut total_ok = 0;
        for r in readers {
            let (ok, _failed) = r.join().expect("reader saw a torn record");
            total_ok += ok;
        }
        assert!(writes > 1000, "writer too slow: {writes}");
        assert!(total_ok > 0, "no consistent read at all");
    }

    #[test]
    fn claim_expiry_and_release() {
        let group = LinkGroup::open(&unique_group("claim")).unwrap();
        let ids: Vec<u64> = (0..SLOTS).map(|_| new_instance_id()).collect();
        let mut claimed = Vec::new();
        for (n, &id) in ids.iter().enumerate() {
            let idx = group.claim(id, n as u32).expect("a free slot");
            assert_eq!(group.slot(idx).owner(), id);
            assert_eq!(group.slot(idx).kind(), n as u32);
            claimed.push(idx);
        }
        claimed.sort();
        claimed.dedup();
        assert_eq!(claimed.len(), SLOTS, "every claim got its own slot");
        let extra = new_instance_id();
        assert_eq!(group.claim(extra, 99), None, "all slots live");
        let mut live = Vec::new();
        group.live_slots(&mut live);
        assert_eq!(live.len(), SLOTS);

        // Age slot 5's owner past the expiry: it is no longer live and is claimed by the new id.
        let old_owner = group.slot(5).owner();
        let gen_before = group.slot(5).generation();
        group
            .slot(5)
            .set_heartbeat_for_test(now_ms().saturating_sub(EXPIRY_MS + 100));
        assert!(!group.slot(5).is_live(now_ms()));
        group.live_slots(&mut live);
        assert_eq!(live.len(), SLOTS - 1);
        assert_eq!(group.claim(extra, 99), Some(5));
        assert_eq!(group.slot(5).owner(), extra);
        assert_eq!(group.slot(5).kind(), 99);
        assert_eq!(group.slot(5).generation(), gen_before.wrapping_add(1));
        assert!(
            !group.slot(5).beat(old_owner, now_ms()),
            "old owner lost it"
        );
        assert!(group.slot(5).beat(extra, now_ms()));
        group.slot(5).release(old_owner); // not the owner: no effect
        assert_eq!(group.slot(5).owner(), extra);

        // Release frees it for someone else.
        group.slot(5).release(extra);
        assert!(!group.slot(5).is_live(now_ms()));
        let third = new_instance_id();
        assert_eq!(group.claim(third, 1), Some(5));
        for (i, &id) in ids.iter().enumerate() {
            let idx = (0..SLOTS).find(|&s| group.slot(s).owner() == id);
            if let Some(idx) = idx {
                group.slot(idx).release(id);
            } else {
                assert_eq!(i, 5, "only slot 5's first owner was replaced");
            }
        }
        group.slot(5).release(third);
        group.live_slots(&mut live);
        assert!(live.is_empty());
    }
}
