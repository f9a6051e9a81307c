//! Heap objects handed to the audio thread and back without the audio thread allocating,
//! freeing, locking or blocking: the editor (or a worker) builds an object, sends it over a
//! bounded channel, the audio thread takes it with `try_recv`, and when done gives it back over
//! a second bounded channel with `try_send`, so the last reference is dropped off the audio
//! thread. `try_recv` and `try_send` on a bounded `std::sync::mpsc` channel neither allocate
//! nor block, and the other side polls, so no sender ever has to wake a sleeping receiver.
//!
//! Used for the Learn capture and for the reference tracks of the Stem Master.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

/// The editor's ends (kept in state shared with the plugin), and the audio thread's ends until
/// the plugin takes them.
#[derive(Debug)]
pub struct Handover<T> {
    to_audio: SyncSender<T>,
    from_audio: Mutex<Receiver<T>>,
    audio_side: Mutex<Option<AudioHandover<T>>>,
}

impl<T> Handover<T> {
    /// Channels of `capacity` objects each way.
    pub fn new(capacity: usize) -> Self {
        let (to_audio, audio_in) = sync_channel(capacity);
        let (audio_out, from_audio) = sync_channel(capacity);
        Self {
            to_audio,
            from_audio: Mutex::new(from_audio),
            audio_side: Mutex::new(Some(AudioHandover {
                from_editor: audio_in,
                to_editor: audio_out,
            })),
        }
    }

    /// The audio thread's ends (once; the plugin takes them when it is built).
    pub fn take_audio_side(&self) -> Option<AudioHandover<T>> {
        self.audio_side.lock().ok()?.take()
    }

    /// Offers `object` to the audio thread; hands it back when the channel is full or the
    /// audio side is gone.
    pub fn send(&self, object: T) -> Result<(), T> {
        self.to_audio.try_send(object).map_err(|e| match e {
            TrySendError::Full(o) | TrySendError::Disconnected(o) => o,
        })
    }

    /// An object the audio thread gave back, if any (never blocks).
    pub fn receive(&self) -> Option<T> {
        self.from_audio.lock().ok()?.try_recv().ok()
    }
}

/// The audio thread's ends.
#[derive(Debug)]
pub struct AudioHandover<T> {
    from_editor: Receiver<T>,
    to_editor: SyncSender<T>,
}

impl<T> AudioHandover<T> {
    /// The next object offered, if any. Never allocates, locks or blocks.
    pub fn receive(&self) -> Option<T> {
        self.from_editor.try_recv().ok()
    }

    /// Gives `object` back; hands it back to the caller (to keep and offer again later) when the
    /// channel is full or the editor's side is gone, so it is never dropped here. Never
    /// allocates, locks or blocks.
    pub fn give_back(&self, object: T) -> Result<(), T> {
        self.to_editor.try_send(object).map_err(|e| match e {
            TrySendError::Full(o) | TrySendError::Disconnected(o) => o,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_object_goes_to_the_audio_side_and_back() {
        let h = Handover::<Arc<Vec<f32>>>::new(1);
        let audio = h.take_audio_side().unwrap();
        assert!(h.take_audio_side().is_none());
        let x = Arc::new(vec![1.0f32; 8]);
        h.send(x.clone()).unwrap();
        // Full: the second is handed back, not lost.
        assert!(h.send(x.clone()).is_err());
        let got = audio.receive().unwrap();
        assert!(audio.receive().is_none());
        audio.give_back(got).unwrap();
        let again = Arc::new(vec![2.0f32]);
        assert!(Arc::ptr_eq(
            &audio.give_back(again.clone()).unwrap_err(),
            &again
        ));
        assert!(Arc::ptr_eq(&h.receive().unwrap(), &x));
    }
}
