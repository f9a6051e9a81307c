//! The audio thread's end of the link: where its blocks go, swappable by the link thread while
//! audio runs, without the audio thread allocating, freeing, locking or making a system call.
//!
//! The link thread owns the group's mapping (`Arc<LinkGroup>`) and the claimed slot, and may
//! change them at any time (the user renames the group, the slot was lost and claimed again).
//! The target is published through an `AtomicPtr` guarded by a one-reader hazard flag: the
//! audio thread raises `in_use`, loads the pointer, writes its block and lowers `in_use`; the
//! link thread swaps the pointer and then waits until `in_use` is down before it drops the old
//! target. With sequentially consistent operations on both words, a reader that raised the
//! flag after the swapper last saw it down loads the new pointer, so an old target is never
//! read after it is dropped (a single-reader hazard pointer, Michael 2004).

use crate::link::LinkGroup;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;

/// Where the audio thread writes: a group's mapping and the slot claimed in it.
pub struct AudioTarget {
    pub group: Arc<LinkGroup>,
    pub slot: usize,
}

/// The swappable target (see the module documentation). One audio thread reads it.
pub struct AudioLinkCell {
    target: AtomicPtr<AudioTarget>,
    in_use: AtomicBool,
}

impl Default for AudioLinkCell {
    fn default() -> Self {
        Self {
            target: AtomicPtr::new(std::ptr::null_mut()),
            in_use: AtomicBool::new(false),
        }
    }
}

impl AudioLinkCell {
    /// Audio thread: appends one block of output to the slot's ring (nothing when unlinked).
    /// `timeline_start` is the block's first sample on the host's timeline (`None` while the
    /// transport is stopped); `aux` travels with the block (the master's gain reduction).
    pub fn write_block(&self, left: &[f32], right: &[f32], timeline_start: Option<i64>, aux: f32) {
        self.in_use.store(true, Ordering::SeqCst);
        let target = self.target.load(Ordering::SeqCst);
        // SAFETY: a non-null pointer came from `Box::into_raw` in `set` and is freed only by
        // `set`/`drop` after they saw `in_use` down following the swap (module documentation),
        // so it is live for as long as the flag is up.
        if let Some(target) = unsafe { target.as_ref() } {
            target
                .group
                .slot(target.slot)
                .ring_write(left, right, timeline_start, aux);
        }
        self.in_use.store(false, Ordering::SeqCst);
    }

    /// Link thread: points the audio thread at `target` (or nowhere) and frees the old one once
    /// the audio thread is not using it.
    pub fn set(&self, target: Option<AudioTarget>) {
        let new = target.map_or(std::ptr::null_mut(), |t| Box::into_raw(Box::new(t)));
        let old = self.target.swap(new, Ordering::SeqCst);
        if old.is_null() {
            return;
        }
        while self.in_use.load(Ordering::SeqCst) {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
        // SAFETY: `old` came from `Box::into_raw`; it is unreachable now (swapped out) and the
        // audio thread is not inside `write_block` with it (flag seen down after the swap).
        drop(unsafe { Box::from_raw(old) });
    }

    /// Whether the audio thread has somewhere to write.
    pub fn is_linked(&self) -> bool {
        !self.target.load(Ordering::SeqCst).is_null()
    }
}

impl Drop for AudioLinkCell {
    fn drop(&mut self) {
        self.set(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::new_instance_id;

    #[test]
    fn the_target_can_be_swapped_while_a_thread_writes() {
        let name = format!("cell-test-{}-{}", std::process::id(), new_instance_id());
        let group = Arc::new(LinkGroup::open(&name).unwrap());
        let id = new_instance_id();
        let slot = group.claim(id, 1).unwrap();
        let cell = Arc::new(AudioLinkCell::default());
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (cell, stop) = (cell.clone(), stop.clone());
            std::thread::spawn(move || {
                let block = [0.25f32; 64];
                let mut pos = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    cell.write_block(&block, &block, Some(pos), 0.0);
                    pos += 64;
                }
                pos
            })
        };
        for k in 0..2000 {
            let target = (k % 3 != 0).then(|| AudioTarget {
                group: group.clone(),
                slot,
            });
            cell.set(target);
        }
        cell.set(Some(AudioTarget {
            group: group.clone(),
            slot,
        }));
        std::thread::sleep(std::time::Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        // The last blocks reached the slot.
        let until = group.slot(slot).ring_written_until().unwrap();
        assert_eq!(until, written);
        let mut l = vec![0.0; 64];
        let mut r = vec![0.0; 64];
        group
            .slot(slot)
            .ring_read(until - 64, &mut l, &mut r, None)
            .unwrap();
        assert!(l.iter().all(|&v| v == 0.25));
        cell.set(None);
        assert!(!cell.is_linked());
        // Only the test's own reference is left: every swapped-out target was freed.
        group.slot(slot).release(id);
        assert_eq!(Arc::strong_count(&group), 1);
    }
}
