//! What the Stem Master's Learn heard: the pre-limiter signal (the master chain's input after
//! its glue, EQ and width, before the drive) recorded while Learn is on, so that the loudness
//! plan ([`super::loudness_plan::plan_in_memory`]) can search the drive and choose between the
//! clipper and the limiter alone over the material itself, as `stem render` does over a whole
//! song, instead of one drive step per played pass.
//!
//! One writer (the audio thread) and readers on other threads share it without locks: the
//! samples are atomics written with relaxed stores and published by a release store of the frame
//! count, which a reader loads with acquire before reading that many frames. The buffer is
//! allocated and touched by whoever creates it (never the audio thread), so recording neither
//! allocates nor page-faults; a full buffer stops recording and says so.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Longest recording, seconds: a whole song at the usual rates (eight minutes).
pub const MAX_CAPTURE_SECONDS: f64 = 480.0;
/// Most frames a capture holds whatever the rate (2^25 stereo f32 frames = 256 MiB): eight
/// minutes up to 69.9 kHz, 2.9 minutes at 192 kHz, 87 s at 384 kHz.
pub const MAX_CAPTURE_FRAMES: usize = 1 << 25;

/// A stereo recording of bounded length, written by one thread and read by others.
pub struct LearnCapture {
    /// Interleaved left/right `f32` bits.
    samples: Box<[AtomicU32]>,
    frames: AtomicUsize,
    sample_rate_bits: AtomicU64,
    full: AtomicBool,
}

impl std::fmt::Debug for LearnCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LearnCapture")
            .field("capacity_frames", &self.capacity_frames())
            .field("frames", &self.frames())
            .field("sample_rate_hz", &self.sample_rate_hz())
            .field("full", &self.is_full())
            .finish()
    }
}

impl LearnCapture {
    /// Frames a capture at `sample_rate_hz` holds: [`MAX_CAPTURE_SECONDS`], at most
    /// [`MAX_CAPTURE_FRAMES`].
    pub fn capacity_for(sample_rate_hz: f64) -> usize {
        ((MAX_CAPTURE_SECONDS * sample_rate_hz.max(1.0)) as usize).min(MAX_CAPTURE_FRAMES)
    }

    /// An empty capture of `capacity_frames` (allocates and touches every page: not on the
    /// audio thread).
    pub fn new(capacity_frames: usize) -> Self {
        Self {
            samples: (0..2 * capacity_frames)
                .map(|_| AtomicU32::new(0))
                .collect(),
            frames: AtomicUsize::new(0),
            sample_rate_bits: AtomicU64::new(48_000f64.to_bits()),
            full: AtomicBool::new(false),
        }
    }

    /// Frames it can hold.
    pub fn capacity_frames(&self) -> usize {
        self.samples.len() / 2
    }

    /// Writer: starts a new recording at `sample_rate_hz`. Never allocates.
    pub fn clear(&self, sample_rate_hz: f64) {
        self.frames.store(0, Ordering::Release);
        self.full.store(false, Ordering::Relaxed);
        self.sample_rate_bits
            .store(sample_rate_hz.to_bits(), Ordering::Relaxed);
    }

    /// Writer: appends a stereo block (the shorter slice sets its length); what does not fit is
    /// dropped and the capture marked full. Never allocates.
    pub fn push(&self, left: &[f32], right: &[f32]) {
        let at = self.frames.load(Ordering::Relaxed);
        let room = self.capacity_frames() - at;
        let n = left.len().min(right.len());
        if n > room {
            self.full.store(true, Ordering::Relaxed);
        }
        let n = n.min(room);
        let slots = &self.samples[2 * at..2 * (at + n)];
        for ((pair, &l), &r) in slots.chunks_exact(2).zip(left).zip(right) {
            pair[0].store(l.to_bits(), Ordering::Relaxed);
            pair[1].store(r.to_bits(), Ordering::Relaxed);
        }
        self.frames.store(at + n, Ordering::Release);
    }

    /// Frames recorded.
    pub fn frames(&self) -> usize {
        self.frames.load(Ordering::Acquire)
    }

    /// The rate of the recording, Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        f64::from_bits(self.sample_rate_bits.load(Ordering::Relaxed))
    }

    /// Whether the recording ran out of room (its end was not recorded).
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Seconds recorded.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.sample_rate_hz()
    }

    /// Reader: the recording as left and right (allocates).
    pub fn to_channels(&self) -> [Vec<f32>; 2] {
        let n = self.frames();
        let mut out = [Vec::with_capacity(n), Vec::with_capacity(n)];
        for pair in self.samples[..2 * n].chunks_exact(2) {
            out[0].push(f32::from_bits(pair[0].load(Ordering::Relaxed)));
            out[1].push(f32::from_bits(pair[1].load(Ordering::Relaxed)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_blocks_in_order_and_stops_when_full() {
        let capture = LearnCapture::new(10);
        capture.clear(44_100.0);
        capture.push(&[1.0, 2.0, 3.0], &[-1.0, -2.0, -3.0]);
        capture.push(&[4.0; 5], &[-4.0; 6]);
        assert_eq!(capture.frames(), 8);
        assert!(!capture.is_full());
        capture.push(&[5.0; 4], &[-5.0; 4]);
        assert!(capture.is_full());
        let [l, r] = capture.to_channels();
        assert_eq!(l, [1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 4.0, 4.0, 5.0, 5.0]);
        assert_eq!(
            r,
            [-1.0, -2.0, -3.0, -4.0, -4.0, -4.0, -4.0, -4.0, -5.0, -5.0]
        );
        assert_eq!(capture.sample_rate_hz(), 44_100.0);
        capture.clear(96_000.0);
        assert_eq!((capture.frames(), capture.is_full()), (0, false));
        assert_eq!(capture.seconds(), 0.0);
    }

    #[test]
    fn capacity_is_eight_minutes_up_to_the_frame_limit() {
        assert_eq!(LearnCapture::capacity_for(48_000.0), 480 * 48_000);
        assert_eq!(LearnCapture::capacity_for(384_000.0), MAX_CAPTURE_FRAMES);
    }
}
