//! The editor's codec headroom readout: the last seconds of the output (the meters'
//! `output_tail`, written by the audio thread while the editor is open) encoded with a lossy
//! codec, decoded again and measured, on a worker thread the editor starts (never the audio
//! thread). The encoders, the decoder and the meters are the ones the `stem` tool's codec
//! preview uses (`stem_delivery`), so the plugin and the tool agree on the same audio.
//!
//! What it measures is the true peak a listener's decoder produces from these seconds, against
//! the true peak of the same seconds before encoding: the rise the codec adds. It is the last
//! few seconds, not the whole song: the label says how many.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use stem_delivery::codec::{Mp3Encoder, VorbisEncoder};
use stem_delivery::decoded::{measure, DecodedMeter};

/// The codecs the readout offers (the ones built into the plugin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckCodec {
    Mp3_320,
    Mp3_128,
    Vorbis160,
}

impl CheckCodec {
    pub const ALL: [CheckCodec; 3] = [
        CheckCodec::Mp3_320,
        CheckCodec::Mp3_128,
        CheckCodec::Vorbis160,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CheckCodec::Mp3_320 => "MP3 320 kbps",
            CheckCodec::Mp3_128 => "MP3 128 kbps",
            CheckCodec::Vorbis160 => "Ogg Vorbis 160 kbps",
        }
    }
}

/// One finished check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub codec: CheckCodec,
    /// Seconds of output checked.
    pub seconds: f64,
    /// True peak of those seconds before and after the codec, dBTP.
    pub source_true_peak_dbtp: f64,
    pub decoded_true_peak_dbtp: f64,
}

impl CheckResult {
    /// What the codec added to the true peak, dB.
    pub fn rise_db(&self) -> f64 {
        self.decoded_true_peak_dbtp - self.source_true_peak_dbtp
    }
}

/// The readout's state, shared between the editor and its worker.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum CheckState {
    #[default]
    Idle,
    Running,
    Done(CheckResult),
    Failed(String),
}

/// Encodes, decodes and measures `left`/`right` at `sample_rate_hz` (a worker's job).
pub fn check(
    codec: CheckCodec,
    left: &[f32],
    right: &[f32],
    sample_rate_hz: u32,
) -> Result<CheckResult, String> {
    if left.len() < sample_rate_hz as usize / 2 {
        return Err("play at least half a second with the editor open first".to_string());
    }
    // The seconds are cut out of running music: a hard start or end is a click the coder
    // would smear into pre-echo that the song never has. Both ends fade over FADE_MS, in the
    // source measured and in what is encoded alike.
    let seconds = x_seconds(left.len(), sample_rate_hz);
    let (left, right) = (
        &faded(left, sample_rate_hz)[..],
        &faded(right, sample_rate_hz)[..],
    );
    let mut source = DecodedMeter::new(sample_rate_hz as f64);
    source.feed(left, right);
    let (source_true_peak_dbtp, _) = source.finish();
    const BLOCK: usize = 4096;
    let (bytes, extension) = match codec {
        CheckCodec::Mp3_320 | CheckCodec::Mp3_128 => {
            let kbps = if codec == CheckCodec::Mp3_320 {
                320
            } else {
                128
            };
            let mut e = Mp3Encoder::new(sample_rate_hz, kbps, Vec::new())?;
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                e.encode(l, r)?;
            }
            (e.finish()?, "mp3")
        }
        CheckCodec::Vorbis160 => {
            let mut e = VorbisEncoder::new(sample_rate_hz, 160, Vec::new())?;
            for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
                e.encode(l, r)?;
            }
            (e.finish()?, "ogg")
        }
    };
    let decoded = measure(Box::new(Cursor::new(bytes)), extension)?;
    Ok(CheckResult {
        codec,
        seconds,
        source_true_peak_dbtp,
        decoded_true_peak_dbtp: decoded.true_peak_dbtp,
    })
}

/// Length of the fades at both ends of the checked seconds, ms.
pub const FADE_MS: f64 = 20.0;

/// Silence after the faded seconds, s: the decoder's output lags the input by the coder's
/// delay (LAME: 1105 samples and more) and is cut at the input's length, so without it the
/// fade-out would be cut off and the decoded end would step to zero, an overshoot that is
/// the check's, not the song's.
pub const TAIL_S: f64 = 0.25;

/// `x` with raised-cosine fades of [`FADE_MS`] at both ends, then [`TAIL_S`] of silence.
fn faded(x: &[f32], sample_rate_hz: u32) -> Vec<f32> {
    let n = ((FADE_MS * 1e-3 * sample_rate_hz as f64) as usize)
        .min(x.len() / 2)
        .max(1);
    let mut y = x.to_vec();
    let len = y.len();
    for i in 0..n {
        let g = (0.5 - 0.5 * (std::f64::consts::PI * i as f64 / n as f64).cos()) as f32;
        y[i] *= g;
        y[len - 1 - i] *= g;
    }
    y.resize(len + (TAIL_S * sample_rate_hz as f64) as usize, 0.0);
    y
}

fn x_seconds(frames: usize, sample_rate_hz: u32) -> f64 {
    frames as f64 / sample_rate_hz as f64
}

/// Starts [`check`] on a worker thread; `state` goes to `Running`, then `Done` or `Failed`.
pub fn start(
    state: &Arc<Mutex<CheckState>>,
    codec: CheckCodec,
    left: Vec<f32>,
    right: Vec<f32>,
    sample_rate_hz: u32,
) {
    let set = |s: &Arc<Mutex<CheckState>>, v: CheckState| {
        *s.lock().unwrap_or_else(|e| e.into_inner()) = v;
    };
    set(state, CheckState::Running);
    let state = state.clone();
    let spawned = std::thread::Builder::new()
        .name("stem-master codec check".into())
        .spawn({
            let state = state.clone();
            move || {
                let outcome = match check(codec, &left, &right, sample_rate_hz) {
                    Ok(r) => CheckState::Done(r),
                    Err(e) => CheckState::Failed(e),
                };
                set(&state, outcome);
            }
        });
    if let Err(e) = spawned {
        set(
            &state,
            CheckState::Failed(format!("cannot start the check: {e}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_tone_passes_and_every_codec_measures() {
        let sr = 48_000u32;
        let tone: Vec<f32> = (0..3 * sr as usize)
            .map(|i| 0.25 * (std::f32::consts::TAU * 440.0 * i as f32 / sr as f32).sin())
            .collect();
        let r = check(CheckCodec::Mp3_320, &tone, &tone, sr).unwrap();
        assert!((r.source_true_peak_dbtp + 12.04).abs() < 0.05, "{r:?}");
        assert!(r.rise_db().abs() < 0.1, "{r:?}");
        assert!((r.seconds - 3.0).abs() < 1e-9);
        // A dense chord near the ceiling (twenty partials, 100 Hz-8 kHz): every codec gives
        // back a measured programme near it (the decoder and meters are checked against
        // independent references in `stem-delivery` and `stem`'s tests).
        let chord: Vec<f32> = (0..3 * sr as usize)
            .map(|i| {
                let t = i as f32 / sr as f32;
                (0..20)
                    .map(|k| {
                        let f = 100.0 * 1.25f32.powi(k);
                        0.04 * (std::f32::consts::TAU * f * t + k as f32).sin()
                    })
                    .sum::<f32>()
            })
            .collect();
        for codec in CheckCodec::ALL {
            let r = check(codec, &chord, &chord, sr).unwrap();
            assert!(r.rise_db().abs() < 1.5, "{codec:?}: {r:?}");
        }
        assert!(check(CheckCodec::Mp3_320, &tone[..100], &tone[..100], sr).is_err());
    }
}
