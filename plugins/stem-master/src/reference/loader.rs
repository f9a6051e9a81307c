//! Decoding references off the audio thread: one worker thread per plugin instance, started on
//! the first request, decodes a file (`stem_delivery::reference_file`: WAV, AIFF, FLAC, MP3,
//! Ogg Vorbis, AAC, resampled with `rubato` to the session rate), builds the
//! [`ReferenceTrack`] and hands it to the audio thread ([`Handover`]); what the audio thread
//! retires comes back and is freed here or in the editor. Requests for a slot replace earlier
//! ones still waiting, so a quick succession of loads decodes only the last.
//!
//! The worker ends when the loader is dropped (its request channel closes).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atomic_float::AtomicF64;
use shared_dsp::meter::comparison::{measure_programme, MeasuredProgramme};
use shared_dsp::reference::player::SLOTS;
use shared_dsp::reference::track::ReferenceTrack;
use stem_delivery::reference_file::load_reference;
use stem_plugin_common::Handover;

/// Longest reference, seconds: 10 minutes (about 230 MB per slot at 48 kHz, stereo f32).
pub const MAX_REFERENCE_SECONDS: f64 = 600.0;
/// How long the worker offers a decoded track to a full hand-over before giving up, and how
/// often it tries.
const OFFER_TIMEOUT: Duration = Duration::from_secs(5);
const OFFER_RETRY: Duration = Duration::from_millis(20);
/// Tracks in flight each way.
const HANDOVER_CAPACITY: usize = 2 * SLOTS;

/// A track for a slot (or `None`: empty the slot), in either direction.
pub struct TrackSlot {
    pub slot: usize,
    pub track: Option<Arc<ReferenceTrack>>,
}

/// What a slot holds, for the editor.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum SlotStatus {
    #[default]
    Empty,
    Loading {
        name: String,
    },
    Loaded {
        name: String,
        duration_s: f64,
        /// The file's own rate (the track plays at the session's).
        source_rate_hz: u32,
        /// NaN or infinite samples found in the file (played as silence).
        non_finite_samples: usize,
    },
    Failed {
        message: String,
    },
}

enum Request {
    Load { slot: usize, path: PathBuf },
    Clear { slot: usize },
}

struct Shared {
    status: Mutex<[SlotStatus; SLOTS]>,
    /// Each loaded reference measured for the comparison (`stem compare`'s figures).
    measured: Mutex<[Option<Arc<MeasuredProgramme>>; SLOTS]>,
    handover: Handover<TrackSlot>,
    sample_rate_hz: AtomicF64,
}

/// The loader: shared by the plugin (which takes the audio side) and the editor.
pub struct ReferenceLoader {
    shared: Arc<Shared>,
    requests: Mutex<Option<Sender<Request>>>,
}

impl Default for ReferenceLoader {
    fn default() -> Self {
        Self {
            shared: Arc::new(Shared {
                status: Mutex::new(Default::default()),
                measured: Mutex::new(Default::default()),
                handover: Handover::new(HANDOVER_CAPACITY),
                sample_rate_hz: AtomicF64::new(48_000.0),
            }),
            requests: Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for ReferenceLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceLoader").finish_non_exhaustive()
    }
}

impl ReferenceLoader {
    /// The audio thread's ends of the hand-over (once).
    pub fn take_audio_side(&self) -> Option<stem_plugin_common::AudioHandover<TrackSlot>> {
        self.shared.handover.take_audio_side()
    }

    /// The rate tracks are resampled to; `true` when it changed (the caller reloads).
    pub fn set_sample_rate(&self, sample_rate_hz: f64) -> bool {
        let old = self
            .shared
            .sample_rate_hz
            .swap(sample_rate_hz, Ordering::Relaxed);
        (old - sample_rate_hz).abs() > 0.5
    }

    /// Decodes `path` into `slot` (in the background).
    pub fn load(&self, slot: usize, path: &Path) {
        if slot >= SLOTS {
            return;
        }
        self.set_status(
            slot,
            SlotStatus::Loading {
                name: file_name(path),
            },
        );
        self.request(Request::Load {
            slot,
            path: path.to_path_buf(),
        });
    }

    /// Empties `slot`.
    pub fn clear(&self, slot: usize) {
        if slot < SLOTS {
            self.set_status(slot, SlotStatus::Empty);
            self.request(Request::Clear { slot });
        }
    }

    /// Loads every slot of `files` that has a path and empties the others.
    pub fn load_all(&self, files: &[Option<PathBuf>; SLOTS]) {
        for (slot, file) in files.iter().enumerate() {
            match file {
                Some(path) => self.load(slot, path),
                None => self.clear(slot),
            }
        }
    }

    /// What each slot holds.
    pub fn status(&self) -> [SlotStatus; SLOTS] {
        self.shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The measurement of the reference in `slot` (once it is decoded and measured).
    pub fn measured(&self, slot: usize) -> Option<Arc<MeasuredProgramme>> {
        self.shared.measured.lock().ok()?.get(slot)?.clone()
    }

    /// Frees what the audio thread gave back (call from the editor's frame).
    pub fn collect_retired(&self) {
        collect(&self.shared);
    }

    fn set_status(&self, slot: usize, status: SlotStatus) {
        if let Ok(mut s) = self.shared.status.lock() {
            s[slot] = status;
        }
        set_measured(&self.shared, slot, None);
    }

    fn request(&self, request: Request) {
        let Ok(mut sender) = self.requests.lock() else {
            return;
        };
        if sender.is_none() {
            let (tx, rx) = channel();
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("stem-master-reference-loader".into())
                .spawn(move || worker(&shared, &rx));
            if spawned.is_err() {
                return;
            }
            *sender = Some(tx);
        }
        if let Some(tx) = sender.as_ref() {
            let _ = tx.send(request);
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn set_measured(shared: &Shared, slot: usize, measured: Option<Arc<MeasuredProgramme>>) {
    if let Ok(mut m) = shared.measured.lock() {
        m[slot] = measured;
    }
}

fn collect(shared: &Shared) {
    while let Some(retired) = shared.handover.receive() {
        drop(retired);
    }
}

fn worker(shared: &Shared, requests: &Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        // The latest request per slot wins.
        let mut latest: [Option<Request>; SLOTS] = Default::default();
        for request in std::iter::once(first).chain(requests.try_iter()) {
            let slot = match &request {
                Request::Load { slot, .. } | Request::Clear { slot } => *slot,
            };
            latest[slot] = Some(request);
        }
        for (slot, request) in latest.into_iter().enumerate() {
            match request {
                Some(Request::Load { path, .. }) => load(shared, slot, &path),
                Some(Request::Clear { .. }) => {
                    offer(shared, TrackSlot { slot, track: None });
                }
                None => {}
            }
        }
        collect(shared);
    }
}

fn load(shared: &Shared, slot: usize, path: &Path) {
    let rate_hz = shared.sample_rate_hz.load(Ordering::Relaxed);
    let name = file_name(path);
    let status = match load_reference(path, rate_hz.round() as u32, MAX_REFERENCE_SECONDS) {
        Ok(decoded) => {
            let track = ReferenceTrack::new(name.clone(), decoded.left, decoded.right, rate_hz);
            let duration_s = track.duration_s();
            let track = Arc::new(track);
            let offered = offer(
                shared,
                TrackSlot {
                    slot,
                    track: Some(track.clone()),
                },
            );
            if offered {
                // Measured while it already plays; this thread's reference goes with it.
                let measured = measure_programme(&track.left, &track.right, rate_hz);
                drop(track);
                set_measured(shared, slot, Some(Arc::new(measured)));
                SlotStatus::Loaded {
                    name,
                    duration_s,
                    source_rate_hz: decoded.source_rate_hz,
                    non_finite_samples: decoded.non_finite_samples,
                }
            } else {
                SlotStatus::Failed {
                    message: format!(
                        "{name}: the audio engine is not running; load it again once it plays"
                    ),
                }
            }
        }
        Err(message) => SlotStatus::Failed { message },
    };
    if let Ok(mut s) = shared.status.lock() {
        s[slot] = status;
    }
}

/// Offers `track` to the audio thread, retrying while the hand-over is full.
fn offer(shared: &Shared, track: TrackSlot) -> bool {
    let mut track = track;
    let start = std::time::Instant::now();
    loop {
        collect(shared);
        match shared.handover.send(track) {
            Ok(()) => return true,
            Err(back) if start.elapsed() < OFFER_TIMEOUT => {
                track = back;
                std::thread::sleep(OFFER_RETRY);
            }
            Err(_) => return false,
        }
    }
}
