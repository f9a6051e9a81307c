//! What the session saves of the reference player: each slot's file path and loop region, the
//! active slot and the playback mode (never the audio: the files are decoded again when the
//! session loads). A persistent field of the plugin state (`#[persist = "reference"]`).
//!
//! The audio thread reads the active slot, the mode and the loops from atomics; the paths are
//! read only by the editor and the loader (behind a mutex). Restoring a state sanitises what
//! it reads (a hostile or damaged state loads as the nearest valid session) and calls the
//! restore hook the plugin installs, which decodes the restored files.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use atomic_float::AtomicF64;
use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Serialize};
use shared_dsp::reference::player::{Playback, SLOTS};
use shared_dsp::reference::track::LoopRegion;

/// The saved form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReferenceSession {
    pub files: [Option<PathBuf>; SLOTS],
    pub loops: [LoopRegion; SLOTS],
    pub active: usize,
    pub playback: Playback,
}

/// Longest loop position a state may hold, seconds (a day: anything beyond is damage).
const MAX_LOOP_S: f64 = 86_400.0;
/// Longest path a state may hold, bytes.
const MAX_PATH_BYTES: usize = 4096;

impl ReferenceSession {
    /// The nearest valid session: active slot in range, loop bounds finite and within a day,
    /// empty paths and absurdly long ones dropped.
    pub fn sanitised(mut self) -> Self {
        self.active = self.active.min(SLOTS - 1);
        for region in &mut self.loops {
            let clean = |s: f64| {
                if s.is_finite() {
                    s.clamp(0.0, MAX_LOOP_S)
                } else {
                    0.0
                }
            };
            *region = LoopRegion {
                start_s: clean(region.start_s),
                end_s: clean(region.end_s),
            };
        }
        for file in &mut self.files {
            if file
                .as_ref()
                .is_some_and(|p| p.as_os_str().is_empty() || p.as_os_str().len() > MAX_PATH_BYTES)
            {
                *file = None;
            }
        }
        self
    }
}

type RestoreHook = Box<dyn Fn(&ReferenceSession) + Send + Sync>;

/// The live settings, shared by the plugin, the editor and the loader.
pub struct ReferenceSettings {
    files: Mutex<[Option<PathBuf>; SLOTS]>,
    loop_start_s: [AtomicF64; SLOTS],
    loop_end_s: [AtomicF64; SLOTS],
    active: AtomicUsize,
    transport: AtomicBool,
    on_restore: OnceLock<RestoreHook>,
}

impl std::fmt::Debug for ReferenceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl Default for ReferenceSettings {
    fn default() -> Self {
        Self {
            files: Mutex::new(Default::default()),
            loop_start_s: Default::default(),
            loop_end_s: Default::default(),
            active: AtomicUsize::new(0),
            transport: AtomicBool::new(false),
            on_restore: OnceLock::new(),
        }
    }
}

impl ReferenceSettings {
    /// Installs what a restored state triggers (once; the plugin decodes the files there).
    pub fn set_restore_hook(&self, hook: impl Fn(&ReferenceSession) + Send + Sync + 'static) {
        let _ = self.on_restore.set(Box::new(hook));
    }

    /// The whole session (editor, loader, state saving).
    pub fn snapshot(&self) -> ReferenceSession {
        ReferenceSession {
            files: self.files.lock().map(|f| f.clone()).unwrap_or_default(),
            loops: std::array::from_fn(|i| self.loop_region(i)),
            active: self.active(),
            playback: self.playback(),
        }
    }

    /// The path in `slot`.
    pub fn file(&self, slot: usize) -> Option<PathBuf> {
        self.files.lock().ok()?.get(slot)?.clone()
    }

    pub fn set_file(&self, slot: usize, path: Option<PathBuf>) {
        if let (Ok(mut files), true) = (self.files.lock(), slot < SLOTS) {
            files[slot] = path;
        }
    }

    /// Audio thread: the loop of `slot`.
    pub fn loop_region(&self, slot: usize) -> LoopRegion {
        LoopRegion {
            start_s: self.loop_start_s[slot].load(Ordering::Relaxed),
            end_s: self.loop_end_s[slot].load(Ordering::Relaxed),
        }
    }

    pub fn set_loop_region(&self, slot: usize, region: LoopRegion) {
        if slot < SLOTS {
            self.loop_start_s[slot].store(region.start_s, Ordering::Relaxed);
            self.loop_end_s[slot].store(region.end_s, Ordering::Relaxed);
        }
    }

    /// Audio thread: the active slot.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed).min(SLOTS - 1)
    }

    pub fn set_active(&self, slot: usize) {
        self.active.store(slot.min(SLOTS - 1), Ordering::Relaxed);
    }

    /// Audio thread: the playback mode.
    pub fn playback(&self) -> Playback {
        if self.transport.load(Ordering::Relaxed) {
            Playback::Transport
        } else {
            Playback::Loop
        }
    }

    pub fn set_playback(&self, playback: Playback) {
        self.transport
            .store(playback == Playback::Transport, Ordering::Relaxed);
    }

    fn restore(&self, session: ReferenceSession) {
        let session = session.sanitised();
        for (slot, region) in session.loops.iter().enumerate() {
            self.set_loop_region(slot, *region);
        }
        self.set_active(session.active);
        self.set_playback(session.playback);
        if let Ok(mut files) = self.files.lock() {
            *files = session.files.clone();
        }
        if let Some(hook) = self.on_restore.get() {
            hook(&session);
        }
    }
}

impl<'a> PersistentField<'a, ReferenceSession> for ReferenceSettings {
    fn set(&self, new_value: ReferenceSession) {
        self.restore(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&ReferenceSession) -> R,
    {
        f(&self.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_session_round_trips_through_its_saved_form_and_calls_the_hook() {
        let a = ReferenceSettings::default();
        a.set_file(2, Some(PathBuf::from("/music/ref.flac")));
        a.set_loop_region(
            2,
            LoopRegion {
                start_s: 12.5,
                end_s: 40.25,
            },
        );
        a.set_active(2);
        a.set_playback(Playback::Transport);
        let json = serde_json::to_string(&a.snapshot()).unwrap();
        let b = ReferenceSettings::default();
        let restored = Arc::new(Mutex::new(None));
        let seen = restored.clone();
        b.set_restore_hook(move |s| *seen.lock().unwrap() = Some(s.clone()));
        PersistentField::set(&b, serde_json::from_str::<ReferenceSession>(&json).unwrap());
        assert_eq!(b.snapshot(), a.snapshot());
        assert_eq!(restored.lock().unwrap().as_ref(), Some(&a.snapshot()));
    }

    #[test]
    fn a_hostile_state_loads_as_the_nearest_valid_session() {
        let hostile = r#"{"files":["", null, "/x", null],
            "loops":[{"start_s":-5,"end_s":1e300},{"start_s":0,"end_s":0},
                     {"start_s":0,"end_s":0},{"start_s":0,"end_s":0}],
            "active": 99, "unknown": true}"#;
        let s: ReferenceSession = serde_json::from_str(hostile).unwrap();
        let s = s.sanitised();
        assert_eq!(s.active, SLOTS - 1);
        assert_eq!(s.files[0], None);
        assert_eq!(s.files[2], Some(PathBuf::from("/x")));
        assert_eq!(
            s.loops[0],
            LoopRegion {
                start_s: 0.0,
                end_s: MAX_LOOP_S
            }
        );
        // A state from before the reference player (no field at all) is the empty session.
        let empty: ReferenceSession = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ReferenceSession::default());
    }
}
