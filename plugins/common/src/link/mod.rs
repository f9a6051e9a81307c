//! The Stem Link's transport: live data shared between plugin instances, across processes.
//!
//! One "Stem Master" and several "Stem Channel" instances that belong together form a *link group*
//! (a user-editable name). Hosts may run them in separate processes (Bitwig sandboxes plug-ins), so
//! they cannot share heap objects; they share one POSIX shared-memory segment per group instead.
//! This module is framework-free: no nice-plug types, only the segment, its slots and their rings.
//!
//! # Protocol
//!
//! * **Segment.** [`LinkGroup::open`] hashes the group name (FNV-1a 64; the name may be any text,
//!   even hostile, and never reaches the file system) into `/stem-link-v1-<uid>-<16 hex>`, opens or
//!   creates it with mode 0600 (per user: the uid is in the name and other users cannot open it),
//!   sizes it when it is new, maps it shared and validates the header (magic, layout version, every
//!   layout constant, total size). Everything in the mapping is an atomic integer and a zero-filled
//!   segment is a valid segment with every slot free, so a segment that is still being created by
//!   another process is never undefined behaviour, only "not initialised yet". The header is
//!   initialised by whoever wins a compare-exchange of the magic word from 0 to "initialising".
//! * **Slots.** [`SLOTS`] per group. An instance claims one ([`LinkGroup::claim`]) with a random
//!   [`new_instance_id`] and then beats ([`Slot::beat`]) at least every few hundred ms from a
//!   non-audio thread. A slot whose heartbeat is older than [`EXPIRY_MS`] is free again: a crashed
//!   or killed process (or a sandbox torn down without running destructors) cannot keep a slot.
//!   Heartbeats use `CLOCK_MONOTONIC` ([`now_ms`]), the one clock every process on the machine
//!   shares. Owners release their slot explicitly on shutdown ([`Slot::release`]).
//! * **Status record.** [`RECORD_WORDS`] `u32` words per slot behind a seqlock: one writer (the
//!   owner), any number of readers that retry on a torn copy. The meaning of the words belongs to
//!   the layer above.
//! * **Audio ring.** [`RING_FRAMES`] stereo frames per slot plus a table of [`BLOCK_TABLE`] block
//!   records (first frame counter, frame count, timeline position, one `f32` aux value). The owner's
//!   audio thread appends blocks with plain atomic stores (no locks, no allocation, no system
//!   calls); readers ask for *timeline positions* ([`Slot::ring_read`]), which is how a Master lines
//!   up the stems of different tracks although hosts call each instance with its own block sizes.
//!
//! Bump the `v1` in the name and [`segment::LAYOUT_VERSION`] together whenever the layout changes:
//! old and new builds then use different segments instead of misreading each other.

pub mod ring;
pub mod segment;
pub mod slot;

pub use ring::RingMiss;
pub use segment::{sweep_abandoned_segments, LinkGroup};
pub use slot::Slot;

use std::fmt;

/// Instances per link group.
pub const SLOTS: usize = 32;
/// Status record per slot, in `u32` words, seqlock-protected.
pub const RECORD_WORDS: usize = 1024;
/// Stereo frames per slot's audio ring (1.37 s at 48 kHz).
pub const RING_FRAMES: usize = 1 << 16;
/// Block records per slot.
pub const BLOCK_TABLE: usize = 4096;
/// A slot whose heartbeat is older than this is free (expired).
pub const EXPIRY_MS: u64 = 2000;

/// Milliseconds of `CLOCK_MONOTONIC`: one clock for every process on the machine (unlike
/// `Instant`, whose epoch is not specified to be shared between processes).
#[cfg(unix)]
pub fn now_ms() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec as u64)
        .wrapping_mul(1000)
        .wrapping_add(ts.tv_nsec as u64 / 1_000_000)
}

/// Milliseconds since a process-wide epoch (non-unix fallback: groups are process-local there, so
/// a process-local clock is enough). Starts at 1 so that 0 never looks like a fresh heartbeat.
#[cfg(not(unix))]
pub fn now_ms() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_millis() as u64 + EXPIRY_MS + 1
}

/// A random instance id, never 0 (0 marks a free slot).
pub fn new_instance_id() -> u64 {
    loop {
        let id = getrandom::u64().unwrap_or_else(|_| fallback_random());
        if id != 0 {
            return id;
        }
    }
}

/// Used only if the OS random source fails: time, pid and a counter through a 64-bit mixer.
fn fallback_random() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Why a link group's segment could not be used. Every variant names the shm object.
#[derive(Debug)]
pub enum LinkError {
    /// `shm_open`, `fstat`, `ftruncate` or `mmap` failed.
    Open {
        name: String,
        op: &'static str,
        error: String,
    },
    /// The object exists with a size this build does not use (another layout, or foreign data).
    WrongSize {
        name: String,
        found: u64,
        expected: u64,
    },
    /// The header does not describe this build's layout (or never finished initialising).
    BadHeader { name: String, problem: String },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Open { name, op, error } => {
                write!(f, "stem link shm object {name}: {op} failed: {error}")
            }
            LinkError::WrongSize {
                name,
                found,
                expected,
            } => write!(
                f,
                "stem link shm object {name}: wrong size {found} bytes (expected {expected})"
            ),
            LinkError::BadHeader { name, problem } => {
                write!(f, "stem link shm object {name}: bad header: {problem}")
            }
        }
    }
}

impl std::error::Error for LinkError {}

/// Test-only: a group name no other test (or test run) uses.
#[cfg(test)]
pub(crate) fn unique_group(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "test-{tag}-{}-{}-{}",
        std::process::id(),
        now_ms(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_nonzero_and_differ() {
        let a = new_instance_id();
        let b = new_instance_id();
        assert_ne!(a, 0);
        assert_ne!(b, 0);
        assert_ne!(a, b);
    }

    #[test]
    fn clock_is_monotonic_and_nonzero() {
        let a = now_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = now_ms();
        assert!(a > 0);
        assert!(b >= a + 4, "{a} -> {b}");
    }

    /// Env var that makes [`cross_process_child`] act: the group to join.
    const CHILD_ENV: &str = "STEM_LINK_TEST_CHILD_GROUP";
    const CHILD_KIND: u32 = 0x5EED;
    const CHILD_TIMELINE: i64 = 48_000;
    const CHILD_BLOCKS: i64 = 40;
    const CHILD_BLOCK: i64 = 300;

    fn child_sample(pos: i64) -> (f32, f32) {
        let v = (pos as f32) * 0.5;
        (v, 1.0 - v)
    }

    fn child_record() -> [u32; RECORD_WORDS] {
        std::array::from_fn(|i| (i as u32) * 7 + 3)
    }

    /// Run by [`cross_process_link`] in a separate process: claims a slot, writes a record and a
    /// ring signal, then beats until killed (or 30 s, so it never outlives a crashed parent long).
    #[test]
    #[ignore = "child process of cross_process_link"]
    fn cross_process_child() {
        let Ok(group) = std::env::var(CHILD_ENV) else {
            return;
        };
        let link = LinkGroup::open(&group).expect("child open");
        let id = new_instance_id();
        let idx = link.claim(id, CHILD_KIND).expect("child claim");
        let slot = link.slot(idx);
        slot.write_record(&child_record());
        for k in 0..CHILD_BLOCKS {
            let start = CHILD_TIMELINE + k * CHILD_BLOCK;
            let (l, r): (Vec<f32>, Vec<f32>) =
                (start..start + CHILD_BLOCK).map(child_sample).unzip();
            slot.ring_write(&l, &r, Some(start), k as f32);
        }
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < until {
            assert!(slot.beat(id, now_ms()));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        slot.release(id);
    }

    #[cfg(unix)]
    #[test]
    fn cross_process_link() {
        use std::time::{Duration, Instant};
        let group = format!("test-xproc-{}-{}", std::process::id(), now_ms());
        let link = LinkGroup::open(&group).unwrap();
        let module = module_path!().split_once("::").unwrap().1;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                &format!("{module}::cross_process_child"),
                "--nocapture",
                "--include-ignored",
            ])
            .env(CHILD_ENV, &group)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn child test process");

        let end = CHILD_TIMELINE + CHILD_BLOCKS * CHILD_BLOCK;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut live = Vec::new();
        let idx = loop {
            link.live_slots(&mut live);
            if let Some(&(idx, _, _)) = live.iter().find(|s| s.2 == CHILD_KIND) {
                if link.slot(idx).ring_written_until() == Some(end) {
                    break idx;
                }
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("child never showed up (exit: {:?})", child.try_wait());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let slot = link.slot(idx);
        let mut rec = [0; RECORD_WORDS];
        assert!(slot.read_record(&mut rec));
        assert_eq!(rec, child_record());
        // Read across block boundaries, exactly.
        let pos = CHILD_TIMELINE + 123;
        let n = (end - pos) as usize;
        let (mut l, mut r, mut a) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        slot.ring_read(pos, &mut l, &mut r, Some(&mut a)).unwrap();
        for i in 0..n {
            let p = pos + i as i64;
            assert_eq!((l[i], r[i]), child_sample(p), "position {p}");
            assert_eq!(a[i], ((p - CHILD_TIMELINE) / CHILD_BLOCK) as f32);
        }
        assert_eq!(
            slot.ring_read(end, &mut l[..1], &mut r[..1], None),
            Err(RingMiss::NotYet)
        );
        assert!(slot.is_live(now_ms()));

        child.kill().unwrap();
        let killed = Instant::now();
        child.wait().unwrap();
        while slot.is_live(now_ms()) {
            assert!(
                killed.elapsed() < Duration::from_millis(EXPIRY_MS + 500),
                "slot did not expire"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let expired_after = killed.elapsed();
        assert!(expired_after >= Duration::from_millis(EXPIRY_MS - 200));
        link.live_slots(&mut live);
        assert!(live.is_empty());
        eprintln!("child slot expired {expired_after:?} after the kill");
    }
}
