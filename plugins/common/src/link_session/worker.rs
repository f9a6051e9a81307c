//! The link thread: one per instance, ticking about 30 times a second (the publishing
//! rate) until the instance goes away. Everything that touches shared memory beyond the audio
//! ring (opening, claiming, heartbeats, records, the master's analysis) happens here, never on
//! the audio thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Tick period: about 30 Hz.
pub const TICK: Duration = Duration::from_millis(33);

/// A running link thread; stopping and joining it on drop.
pub struct LinkWorker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl LinkWorker {
    /// Runs `tick` every [`TICK`] on a thread named `name` (the closure owns the endpoint, so
    /// leaving the group happens on that thread when it ends).
    pub fn spawn(name: &str, mut tick: impl FnMut() + Send + 'static) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let mut next = Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    tick();
                    next += TICK;
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    } else {
                        next = now;
                    }
                }
            })?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for LinkWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
