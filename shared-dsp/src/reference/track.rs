//! A reference track as the player holds it: stereo samples at the session rate (decoded and
//! resampled off the audio thread), and the loop region the user set on it, in seconds (what
//! a session saves, independent of the rate).

/// A reference decoded and resampled to the rate it is played at.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceTrack {
    /// What the editor shows (the file's name).
    pub name: String,
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    /// The rate of `left`/`right` (the session rate it was resampled to).
    pub sample_rate_hz: f64,
}

impl ReferenceTrack {
    /// A track of `left`/`right` (the shorter length is kept) at `sample_rate_hz`.
    pub fn new(
        name: impl Into<String>,
        mut left: Vec<f32>,
        mut right: Vec<f32>,
        sample_rate_hz: f64,
    ) -> Self {
        let frames = left.len().min(right.len());
        left.truncate(frames);
        right.truncate(frames);
        Self {
            name: name.into(),
            left,
            right,
            sample_rate_hz,
        }
    }

    /// Length, frames.
    pub fn frames(&self) -> usize {
        self.left.len()
    }

    /// Length, seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / self.sample_rate_hz
    }
}

/// The part of a reference that loops, in seconds from its start. An empty or inverted region
/// (end at or before start) means the whole track.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoopRegion {
    pub start_s: f64,
    pub end_s: f64,
}

/// Shortest loop the player plays, seconds: shorter regions would make the loudness match
/// measure a fragment over and over (and a loop of a few ms is a buzz, not music).
pub const MIN_LOOP_S: f64 = 0.5;

impl LoopRegion {
    /// The whole track.
    pub const WHOLE: LoopRegion = LoopRegion {
        start_s: 0.0,
        end_s: 0.0,
    };

    /// The region as frames `[start, end)` of a track of `frames` frames at `sample_rate_hz`:
    /// clamped to the track, the whole track when the region is empty, inverted, not finite or
    /// shorter than [`MIN_LOOP_S`].
    pub fn frames(&self, frames: usize, sample_rate_hz: f64) -> (usize, usize) {
        let whole = (0, frames);
        if !(self.start_s.is_finite() && self.end_s.is_finite()) {
            return whole;
        }
        let at = |s: f64| ((s.max(0.0) * sample_rate_hz).round() as usize).min(frames);
        let (start, end) = (at(self.start_s), at(self.end_s));
        let min_frames = (MIN_LOOP_S * sample_rate_hz).round() as usize;
        if end <= start || end - start < min_frames {
            whole
        } else {
            (start, end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_region_is_clamped_and_falls_back_to_the_whole_track() {
        let fs = 48_000.0;
        let n = 480_000; // 10 s
        let r = |a, b| {
            LoopRegion {
                start_s: a,
                end_s: b,
            }
            .frames(n, fs)
        };
        assert_eq!(r(1.0, 3.0), (48_000, 144_000));
        assert_eq!(r(2.0, 60.0), (96_000, n));
        assert_eq!(r(3.0, 1.0), (0, n));
        assert_eq!(r(1.0, 1.2), (0, n)); // shorter than MIN_LOOP_S
        assert_eq!(r(f64::NAN, 2.0), (0, n));
        assert_eq!(LoopRegion::WHOLE.frames(n, fs), (0, n));
    }
}
