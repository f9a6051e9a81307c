//! One instance's membership of a link group, kept by its link thread: opening the group the
//! settings name, claiming a slot and beating, re-linking when the user renames the group or
//! the slot was lost, publishing the status record, and reading the other members.

use super::audio::{AudioLinkCell, AudioTarget};
use super::settings::LinkSettings;
use crate::link::{now_ms, LinkGroup, EXPIRY_MS, RECORD_WORDS};
use shared_dsp::link::record::{self, InstanceKind, InstanceStatus, StemFigures};
use std::sync::Arc;

/// How long a failed open waits before it is tried again, ms.
const RETRY_MS: u64 = 2000;

/// Another member of the group as its last record says.
#[derive(Clone, Debug)]
pub struct Peer {
    pub slot: usize,
    pub instance_id: u64,
    pub status: InstanceStatus,
    /// A master's overview rows (empty for a channel).
    pub rows: Vec<StemFigures>,
}

struct Linked {
    group: Arc<LinkGroup>,
    slot: usize,
}

/// See the module documentation.
pub struct Endpoint {
    kind: InstanceKind,
    instance_id: u64,
    settings: Arc<LinkSettings>,
    audio: Arc<AudioLinkCell>,
    linked: Option<Linked>,
    group_name: String,
    settings_generation: Option<u64>,
    retry_at_ms: u64,
    problem: Option<String>,
    record: Box<[u32; RECORD_WORDS]>,
    live: Vec<(usize, u64, u32)>,
    /// The peers as last read: a live member whose record cannot be read this once (its
    /// writer paused mid-write) is its last record, not gone.
    last_peers: Vec<Peer>,
}

impl Endpoint {
    pub fn new(kind: InstanceKind, settings: Arc<LinkSettings>, audio: Arc<AudioLinkCell>) -> Self {
        Self {
            kind,
            instance_id: crate::link::new_instance_id(),
            settings,
            audio,
            linked: None,
            group_name: String::new(),
            settings_generation: None,
            retry_at_ms: 0,
            problem: None,
            record: Box::new([0; RECORD_WORDS]),
            live: Vec::with_capacity(crate::link::SLOTS),
            last_peers: Vec::new(),
        }
    }

    /// This instance's identity (fresh per instance, never saved).
    pub fn instance_id(&self) -> u64 {
        self.instance_id
    }

    /// The group name in use (or being tried).
    pub fn group_name(&self) -> &str {
        &self.group_name
    }

    /// Why the instance is not linked, if it is not.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    pub fn slot(&self) -> Option<usize> {
        self.linked.as_ref().map(|l| l.slot)
    }

    pub fn group(&self) -> Option<&Arc<LinkGroup>> {
        self.linked.as_ref().map(|l| &l.group)
    }

    /// Keeps the membership up (call every tick): follows a renamed group, claims a slot,
    /// beats, and claims again if the slot was taken over. Returns whether it is linked.
    pub fn maintain(&mut self) -> bool {
        let now = now_ms();
        let generation = self.settings.generation();
        if self.settings_generation != Some(generation) {
            self.settings_generation = Some(generation);
            let name = self.settings.session().effective_group();
            if name != self.group_name || self.linked.is_none() {
                self.unlink();
                self.group_name = name;
                self.retry_at_ms = 0;
            }
        }
        if let Some(linked) = &self.linked {
            if linked.group.slot(linked.slot).beat(self.instance_id, now) {
                return true;
            }
            // Taken over (this process stalled beyond the expiry): claim again below.
            let group = linked.group.clone();
            self.audio.set(None);
            self.linked = None;
            return self.claim(group);
        }
        if now < self.retry_at_ms {
            return false;
        }
        // Segments left by killed or crashed members are removed once per process.
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| {
            crate::link::sweep_abandoned_segments();
        });
        match LinkGroup::open(&self.group_name) {
            Ok(group) => self.claim(Arc::new(group)),
            Err(e) => {
                self.problem = Some(e.to_string());
                self.retry_at_ms = now + RETRY_MS;
                false
            }
        }
    }

    fn claim(&mut self, group: Arc<LinkGroup>) -> bool {
        match group.claim(self.instance_id, self.kind as u32) {
            Some(slot) => {
                self.audio.set(Some(AudioTarget {
                    group: group.clone(),
                    slot,
                }));
                self.linked = Some(Linked { group, slot });
                self.problem = None;
                true
            }
            None => {
                self.problem = Some(format!(
                    "link group \"{}\" is full ({} instances)",
                    self.group_name,
                    crate::link::SLOTS
                ));
                self.retry_at_ms = now_ms() + RETRY_MS;
                false
            }
        }
    }

    fn unlink(&mut self) {
        self.audio.set(None);
        if let Some(linked) = self.linked.take() {
            linked.group.slot(linked.slot).release(self.instance_id);
        }
    }

    /// Publishes this instance's record (a master's with its overview rows).
    pub fn publish(&mut self, status: &InstanceStatus, rows: &[StemFigures]) {
        let Some(linked) = &self.linked else { return };
        record::encode(status, rows, &mut self.record[..]);
        linked.group.slot(linked.slot).write_record(&self.record);
    }

    /// Every other live member whose record this build reads, into `out` (cleared first). A
    /// member leaves the list only when its slot stops being live (released or expired).
    pub fn peers(&mut self, out: &mut Vec<Peer>) {
        out.clear();
        let Some(linked) = &self.linked else { return };
        linked.group.live_slots(&mut self.live);
        for &(slot, id, _) in &self.live {
            if id == self.instance_id {
                continue;
            }
            let mut rows = Vec::new();
            let read = linked.group.slot(slot).read_record(&mut self.record);
            match read
                .then(|| record::decode(&self.record[..], &mut rows).ok())
                .flatten()
            {
                Some(status) => out.push(Peer {
                    slot,
                    instance_id: id,
                    status,
                    rows,
                }),
                None => {
                    if let Some(last) = self.last_peers.iter().find(|p| p.instance_id == id) {
                        out.push(last.clone());
                    }
                }
            }
        }
        self.last_peers.clone_from(out);
    }

    /// Whether `peer`'s slot still beats (a peer read a moment ago may have expired since).
    pub fn is_live(&self, slot: usize) -> bool {
        self.linked
            .as_ref()
            .is_some_and(|l| l.group.slot(slot).is_live(now_ms()))
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.unlink();
    }
}

/// Heartbeat age beyond which a peer is treated as gone before its slot formally expires, ms
/// (its audio has stopped arriving).
pub const STALE_MS: u64 = EXPIRY_MS / 4;
