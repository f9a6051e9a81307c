//! A link group's shared-memory segment: naming, opening/creating, layout, header validation,
//! slot claims and unlinking.
//!
//! Layout (one mapping): a cache-line padded [`Header`], then [`SLOTS`] [`Slot`]s. Every byte is
//! part of an atomic integer and all zeros is a valid state (header "uninitialised", every slot
//! free), so the freshly `ftruncate`d object of a concurrent creator is never undefined behaviour.

use std::mem::{align_of, size_of};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::slot::Slot;
use super::{now_ms, LinkError, BLOCK_TABLE, RECORD_WORDS, RING_FRAMES, SLOTS};

/// Bump together with the `v1` of [`shm_name`] whenever the layout changes.
pub const LAYOUT_VERSION: u32 = 1;
/// "STLK" little-endian.
const MAGIC: u32 = u32::from_le_bytes(*b"STLK");
/// Magic while the winner of the creation race fills in the header.
const INITIALISING: u32 = u32::from_le_bytes(*b"stlk");
/// How long a reader waits for another process to finish initialising the header.
const INIT_WAIT: Duration = Duration::from_millis(500);

/// The segment header, alone on its cache line.
#[repr(C, align(64))]
pub(crate) struct Header {
    pub(crate) magic: AtomicU32,
    version: AtomicU32,
    slots: AtomicU32,
    record_words: AtomicU32,
    ring_frames: AtomicU32,
    block_table: AtomicU32,
    total_size: AtomicU64,
}

const HEADER_SIZE: usize = size_of::<Header>();
/// Bytes of one group's segment.
pub const SEGMENT_SIZE: usize = HEADER_SIZE + SLOTS * size_of::<Slot>();

const _: () = assert!(HEADER_SIZE.is_multiple_of(align_of::<Slot>()));
const _: () = assert!(size_of::<Slot>().is_multiple_of(align_of::<Slot>()));

/// FNV-1a 64 of the group name's bytes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The shm object name of `group`: `/stem-link-v1-<uid>-<16 hex>`. The group text itself never
/// reaches the OS, so any text (empty, huge, slashes, NUL bytes) is a valid group name. Different
/// users get different objects (and the objects are mode 0600 anyway).
pub(crate) fn shm_name(group: &str) -> String {
    format!(
        "/stem-link-v1-{}-{:016x}",
        user_id(),
        fnv1a64(group.as_bytes())
    )
}

#[cfg(unix)]
fn user_id() -> u32 {
    rustix::process::getuid().as_raw()
}

#[cfg(not(unix))]
fn user_id() -> u32 {
    0
}

/// One mapping of one group's segment. `Send + Sync`: the mapping is only accessed through
/// atomics.
pub struct LinkGroup {
    group: String,
    name: String,
    base: NonNull<u8>,
}

// SAFETY: `base` points to a mapping that lives as long as this value and is only accessed
// through shared references to atomic integers (`Header`, `Slot`), which are `Sync`.
unsafe impl Send for LinkGroup {}
// SAFETY: as above; `&LinkGroup` only hands out `&Header` / `&Slot`.
unsafe impl Sync for LinkGroup {}

impl LinkGroup {
    /// Opens (creating if needed, mode 0600) the segment of `group`, sizes it when it is new,
    /// maps it shared and validates or initialises the header.
    ///
    /// Concurrent creation by two processes is safe: both may `ftruncate` a zero-sized object to
    /// the same size; the header is initialised by whoever wins a compare-exchange of the magic
    /// word from 0 to "initialising", and the others spin (up to 500 ms) until it becomes the
    /// magic. A segment whose size or header does not match this build is a [`LinkError`].
    pub fn open(group: &str) -> Result<LinkGroup, LinkError> {
        let name = shm_name(group);
        let base = map_segment(&name)?;
        let link = LinkGroup {
            group: group.to_owned(),
            name,
            base,
        };
        link.init_or_validate_header()?;
        Ok(link)
    }

    /// The group name as given to [`LinkGroup::open`].
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The shm object's name (`/stem-link-v1-<uid>-<16 hex>`), for diagnostics.
    pub fn shm_name(&self) -> &str {
        &self.name
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the mapping is SEGMENT_SIZE bytes, page-aligned (checked in `map_segment`),
        // starts with a `Header` made only of atomics (valid for any bits) and lives as long as
        // `self`.
        unsafe { &*(self.base.as_ptr() as *const Header) }
    }

    /// Slot `index`. Panics on `index >= SLOTS`.
    pub fn slot(&self, index: usize) -> &Slot {
        assert!(index < SLOTS, "slot index {index} out of range");
        // SAFETY: index < SLOTS, so the slot lies inside the SEGMENT_SIZE-byte mapping; the
        // offset is a multiple of Slot's alignment on a page-aligned base; a `Slot` is only
        // atomics (valid for any bits, shared access through `&` is what they are for), and the
        // mapping outlives the returned reference (it is unmapped in `Drop`).
        unsafe {
            &*(self
                .base
                .as_ptr()
                .add(HEADER_SIZE + index * size_of::<Slot>()) as *const Slot)
        }
    }

    /// Claims a free or expired slot for `instance_id` (not 0), stamps the heartbeat, stores
    /// `kind`, bumps the slot's generation and resets its ring and record. `None` when all
    /// [`SLOTS`] are live.
    pub fn claim(&self, instance_id: u64, kind: u32) -> Option<usize> {
        if instance_id == 0 {
            return None;
        }
        let now = now_ms();
        (0..SLOTS).find(|&i| self.slot(i).try_claim(instance_id, kind, now))
    }

    /// Replaces `out` with (slot index, owner id, kind) of every slot that is owned and was
    /// beaten within [`super::EXPIRY_MS`] of [`now_ms`].
    pub fn live_slots(&self, out: &mut Vec<(usize, u64, u32)>) {
        out.clear();
        let now = now_ms();
        for i in 0..SLOTS {
            let slot = self.slot(i);
            let owner = slot.owner();
            if owner != 0 && slot.is_live(now) {
                out.push((i, owner, slot.kind()));
            }
        }
    }

    fn bad_header(&self, problem: String) -> LinkError {
        LinkError::BadHeader {
            name: self.name.clone(),
            problem,
        }
    }

    fn init_or_validate_header(&self) -> Result<(), LinkError> {
        let h = self.header();
        match h
            .magic
            .compare_exchange(0, INITIALISING, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                h.version.store(LAYOUT_VERSION, Ordering::Relaxed);
                h.slots.store(SLOTS as u32, Ordering::Relaxed);
                h.record_words.store(RECORD_WORDS as u32, Ordering::Relaxed);
                h.ring_frames.store(RING_FRAMES as u32, Ordering::Relaxed);
                h.block_table.store(BLOCK_TABLE as u32, Ordering::Relaxed);
                h.total_size.store(SEGMENT_SIZE as u64, Ordering::Relaxed);
                // Release: a process that Acquire-loads MAGIC sees the fields above.
                h.magic.store(MAGIC, Ordering::Release);
                Ok(())
            }
            Err(mut magic) => {
                let deadline = Instant::now() + INIT_WAIT;
                while magic == INITIALISING && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                    magic = h.magic.load(Ordering::Acquire);
                }
                if magic == INITIALISING {
                    return Err(self.bad_header(
                        "still initialising (creator died mid-initialisation?)".into(),
                    ));
                }
                if magic != MAGIC {
                    return Err(
                        self.bad_header(format!("magic {magic:#010x}, not a Stem Link segment"))
                    );
                }
                let checks: [(&str, u64, u64); 6] = [
                    (
                        "layout version",
                        h.version.load(Ordering::Relaxed).into(),
                        LAYOUT_VERSION.into(),
                    ),
                    (
                        "slots",
                        h.slots.load(Ordering::Relaxed).into(),
                        SLOTS as u64,
                    ),
                    (
                        "record words",
                        h.record_words.load(Ordering::Relaxed).into(),
                        RECORD_WORDS as u64,
                    ),
                    (
                        "ring frames",
                        h.ring_frames.load(Ordering::Relaxed).into(),
                        RING_FRAMES as u64,
                    ),
                    (
                        "block table",
                        h.block_table.load(Ordering::Relaxed).into(),
                        BLOCK_TABLE as u64,
                    ),
                    (
                        "total size",
                        h.total_size.load(Ordering::Relaxed),
                        SEGMENT_SIZE as u64,
                    ),
                ];
                for (what, found, expected) in checks {
                    if found != expected {
                        return Err(self.bad_header(format!("{what} {found}, expected {expected}")));
                    }
                }
                Ok(())
            }
        }
    }
}

impl Drop for LinkGroup {
    /// Unmaps. Does not release slots (owners release explicitly). If no slot is live any more,
    /// the name is unlinked so `/dev/shm` does not keep the pages.
    ///
    /// Benign race: a process that opens the group between our liveness check and the unlink
    /// keeps a private, already-unlinked segment (nobody else sees its slot, and it sees nobody)
    /// until it reopens the group; the next opener creates a fresh object under the name.
    fn drop(&mut self) {
        let now = now_ms();
        let any_live = (0..SLOTS).any(|i| self.slot(i).is_live(now));
        unmap_segment(self.base);
        if !any_live {
            unlink_name(&self.name);
        }
    }
}

#[cfg(unix)]
fn map_segment(name: &str) -> Result<NonNull<u8>, LinkError> {
    use rustix::fs::Mode;
    use rustix::mm::{MapFlags, ProtFlags};
    use rustix::shm;

    let os_err = |op: &'static str, e: rustix::io::Errno| LinkError::Open {
        name: name.to_owned(),
        op,
        error: std::io::Error::from(e).to_string(),
    };
    let fd = shm::open(
        name,
        shm::OFlags::CREATE | shm::OFlags::RDWR,
        Mode::RUSR | Mode::WUSR,
    )
    .map_err(|e| os_err("shm_open", e))?;
    let size = rustix::fs::fstat(&fd)
        .map_err(|e| os_err("fstat", e))?
        .st_size as u64;
    if size == 0 {
        // New (or a concurrent creator has not sized it yet): both size it identically.
        rustix::fs::ftruncate(&fd, SEGMENT_SIZE as u64).map_err(|e| os_err("ftruncate", e))?;
    }
    let size = rustix::fs::fstat(&fd)
        .map_err(|e| os_err("fstat", e))?
        .st_size as u64;
    if size != SEGMENT_SIZE as u64 {
        return Err(LinkError::WrongSize {
            name: name.to_owned(),
            found: size,
            expected: SEGMENT_SIZE as u64,
        });
    }
    // SAFETY: a fresh mapping chosen by the kernel (null hint), of an object we just checked is
    // SEGMENT_SIZE bytes long; it aliases nothing in this process.
    let ptr = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            SEGMENT_SIZE,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            &fd,
            0,
        )
    }
    .map_err(|e| os_err("mmap", e))?;
    // The fd may close now; the mapping keeps the object alive.
    let base = NonNull::new(ptr as *mut u8).expect("mmap returned null");
    assert_eq!(
        base.as_ptr() as usize % align_of::<Slot>(),
        0,
        "mapping not aligned for Slot"
    );
    Ok(base)
}

#[cfg(unix)]
fn unmap_segment(base: NonNull<u8>) {
    // SAFETY: `base` is a SEGMENT_SIZE-byte mapping made by `map_segment` and the owning
    // `LinkGroup` is being dropped, so no reference into it survives.
    let _ = unsafe { rustix::mm::munmap(base.as_ptr().cast(), SEGMENT_SIZE) };
}

#[cfg(unix)]
fn unlink_name(name: &str) {
    let _ = rustix::shm::unlink(name);
}

/// A segment nobody has beaten in for this long (and not modified for as long) is left over
/// from members that could not remove it (killed, crashed), ms.
pub const ABANDONED_MS: u64 = 30_000;

/// Removes this user's segments that every member abandoned: no slot's heartbeat within
/// [`ABANDONED_MS`] and the object unmodified for as long (so one being created this instant,
/// not yet claimed, is left alone). A process's last member removes its group's segment when it
/// leaves; a killed or crashed process cannot, so each process's link sweeps once when it first
/// opens a group. Returns how many it removed. Linux only (it lists `/dev/shm`).
pub fn sweep_abandoned_segments() -> usize {
    #[cfg(target_os = "linux")]
    {
        let prefix = format!("stem-link-v1-{}-", user_id());
        let Ok(entries) = std::fs::read_dir("/dev/shm") else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if !file.starts_with(&prefix) {
                continue;
            }
            let untouched = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_millis() as u64 >= ABANDONED_MS);
            if !untouched {
                continue;
            }
            let name = format!("/{file}");
            let Ok(base) = map_segment(&name) else {
                continue;
            };
            let link = LinkGroup {
                group: String::new(),
                name: name.clone(),
                base,
            };
            let now = now_ms();
            let abandoned = link.init_or_validate_header().is_err()
                || (0..SLOTS)
                    .all(|i| now.saturating_sub(link.slot(i).heartbeat_ms()) >= ABANDONED_MS);
            // Unmapped without `Drop`'s own unlink decision.
            unmap_segment(link.base);
            std::mem::forget(link);
            if abandoned {
                unlink_name(&name);
                removed += 1;
            }
        }
        removed
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Non-unix fallback: one zeroed, leaked allocation per group name, process-local. Never freed
/// (a handful of groups per process), so `unmap`/`unlink` do nothing.
#[cfg(not(unix))]
fn map_segment(name: &str) -> Result<NonNull<u8>, LinkError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static REGISTRY: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    let mut registry = REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let addr = *registry.entry(name.to_owned()).or_insert_with(|| {
        let layout = std::alloc::Layout::from_size_align(SEGMENT_SIZE, 4096).expect("layout");
        // SAFETY: non-zero size; zeroed memory is a valid segment (all atomics); leaked on purpose.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        p as usize
    });
    Ok(NonNull::new(addr as *mut u8).expect("non-null"))
}

#[cfg(not(unix))]
fn unmap_segment(_base: NonNull<u8>) {}

#[cfg(not(unix))]
fn unlink_name(_name: &str) {}

#[cfg(test)]
mod tests {
    use super::super::{new_instance_id, now_ms, unique_group, RingMiss};
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn groups_are_separate_and_hostile_names_open() {
        let a = LinkGroup::open(&unique_group("a")).unwrap();
        let b = LinkGroup::open(&unique_group("b")).unwrap();
        let id = new_instance_id();
        let slot = a.claim(id, 3).unwrap();
        let mut live = Vec::new();
        a.live_slots(&mut live);
        assert_eq!(live, vec![(slot, id, 3)]);
        b.live_slots(&mut live);
        assert!(live.is_empty(), "group b sees group a's slot");
        // A second mapping of the same group sees it.
        let a2 = LinkGroup::open(a.group()).unwrap();
        a2.live_slots(&mut live);
        assert_eq!(live, vec![(slot, id, 3)]);
        drop(a2);

        let tag = unique_group("hostile");
        let hostile = [
            String::new(),
            "x".repeat(10_000),
            "/".into(),
            "../x".into(),
            "a\0b\0".into(),
            "🎛️ stems ✓".into(),
        ];
        let mut names = HashSet::new();
        let mut groups = Vec::new();
        for h in &hostile {
            let g = LinkGroup::open(&format!("{h}{tag}")).unwrap();
            assert_eq!(g.group(), format!("{h}{tag}"));
            assert!(names.insert(g.shm_name().to_owned()), "name collision");
            assert!(g.shm_name().len() < 64);
            groups.push(g);
        }
        // Distinct segments: a claim in one is invisible in the others.
        let hid = new_instance_id();
        groups[2].claim(hid, 1).unwrap();
        for (i, g) in groups.iter().enumerate() {
            g.live_slots(&mut live);
            assert_eq!(live.len(), usize::from(i == 2), "group {i}");
        }
        groups[2].slot(0).release(hid);
        a.slot(slot).release(id);
        // Plain hostile names (without the unique tag) open too.
        for h in &hostile {
            LinkGroup::open(h).unwrap();
        }
    }

    #[test]
    fn abandoned_segments_are_swept_and_live_ones_kept() {
        let abandoned = unique_group("abandoned");
        let live = unique_group("live");
        let a = LinkGroup::open(&abandoned).unwrap();
        let l = LinkGroup::open(&live).unwrap();
        let id = new_instance_id();
        let s = a.claim(id, 0).unwrap();
        let k = l.claim(new_instance_id(), 0).unwrap();
        // As if its member was killed 31 s ago: an old heartbeat and an old file.
        a.slot(s)
            .set_heartbeat_for_test(now_ms().saturating_sub(ABANDONED_MS + 1000));
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for name in [a.shm_name(), l.shm_name()] {
            let file = std::fs::File::options()
                .write(true)
                .open(format!("/dev/shm{name}"))
                .unwrap();
            file.set_modified(old).unwrap();
        }
        let (a_name, l_name) = (a.shm_name().to_owned(), l.shm_name().to_owned());
        std::mem::forget(a);
        sweep_abandoned_segments();
        assert!(!std::path::Path::new(&format!("/dev/shm{a_name}")).exists());
        assert!(std::path::Path::new(&format!("/dev/shm{l_name}")).exists());
        l.slot(k).release(l.slot(k).owner());
    }

    #[test]
    fn drop_unlinks_when_nobody_is_live() {
        let group = unique_group("unlink");
        let g = LinkGroup::open(&group).unwrap();
        let id = new_instance_id();
        let s = g.claim(id, 0).unwrap();
        g.slot(s).write_record(&[7; RECORD_WORDS]);
        drop(g);
        // Still live: the segment (and its record) survives.
        let g = LinkGroup::open(&group).unwrap();
        let mut rec = [0; RECORD_WORDS];
        assert!(g.slot(s).read_record(&mut rec));
        assert_eq!(rec[0], 7);
        g.slot(s).release(id);
        drop(g);
        // Released and dropped: a fresh, empty segment.
        let g = LinkGroup::open(&group).unwrap();
        assert!(g.slot(s).read_record(&mut rec));
        assert_eq!(rec[0], 0);
        assert_eq!(g.slot(s).owner(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn corrupted_header_and_wrong_size_are_errors() {
        use rustix::fs::Mode;
        use rustix::shm;
        use std::io::Write;

        let group = unique_group("corrupt");
        let name = shm_name(&group);
        let fd = shm::open(
            name.as_str(),
            shm::OFlags::CREATE | shm::OFlags::RDWR,
            Mode::RUSR | Mode::WUSR,
        )
        .unwrap();
        rustix::fs::ftruncate(&fd, SEGMENT_SIZE as u64).unwrap();
        let mut file = std::fs::File::from(fd);
        file.write_all(&[0xA5; 256]).unwrap();
        let err = LinkGroup::open(&group)
            .err()
            .expect("garbage header accepted");
        assert!(matches!(err, LinkError::BadHeader { .. }), "{err:?}");
        assert!(err.to_string().contains(&name), "{err}");

        // A valid magic with a wrong layout constant is rejected too.
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut header = Vec::new();
        for w in [
            MAGIC,
            LAYOUT_VERSION,
            SLOTS as u32,
            RECORD_WORDS as u32,
            12345,
            BLOCK_TABLE as u32,
        ] {
            header.extend_from_slice(&w.to_ne_bytes());
        }
        header.extend_from_slice(&(SEGMENT_SIZE as u64).to_ne_bytes());
        file.write_all(&header).unwrap();
        let err = LinkGroup::open(&group)
            .err()
            .expect("wrong layout accepted");
        assert!(err.to_string().contains("ring frames 12345"), "{err}");

        // Wrong size.
        file.set_len(4096).unwrap();
        let err = LinkGroup::open(&group).err().expect("wrong size accepted");
        assert!(
            matches!(err, LinkError::WrongSize { found: 4096, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(&name), "{err}");
        shm::unlink(name.as_str()).unwrap();

        // After the unlink the group opens fresh.
        let g = LinkGroup::open(&group).unwrap();
        let mut l = [0.0; 4];
        let mut r = [0.0; 4];
        assert_eq!(
            g.slot(0).ring_read(0, &mut l, &mut r, None),
            Err(RingMiss::NotYet)
        );
    }
}
