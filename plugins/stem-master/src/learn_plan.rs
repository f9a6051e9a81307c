//! Learn with the loudness plan: while Learn is on the audio thread records the pre-limiter
//! signal ([`LearnCapture`]); when it ends the editor runs the same plan `stem render` runs
//! ([`plan_in_memory`]: drive search, clipper or limiter alone by the loudness damage `D`) over
//! what was heard, on a thread of its own, and writes the drive and the clipper through the
//! host. Without the editor (no capture arrived) Learn falls back to one solver step per pass
//! ([`shared_dsp::chain::learn::TargetLearn`], computed on the audio thread).
//!
//! The capture buffer is allocated and freed by the editor, never by the audio thread: it
//! travels to the audio thread and back through a [`Handover`].

use shared_dsp::chain::learn_capture::LearnCapture;
use shared_dsp::chain::loudness_plan::{plan_in_memory, PeakPlan, PlannedPeakStage};
use shared_dsp::chain::settings::MasterSettings;
use std::sync::Arc;
use std::thread::JoinHandle;
use stem_plugin_common::{AudioHandover, Handover};

/// Least loud material, seconds, worth a plan: the loudness gate's 400 ms blocks need a few
/// seconds to say anything about a song; shorter passes take the solver step instead.
pub const MIN_PLAN_SECONDS: f64 = 3.0;

type Capture = Arc<LearnCapture>;

/// The capture's round trip ([`Handover`]): the editor's ends (kept in the shared meters),
/// and the audio thread's ends until the plugin takes them.
#[derive(Debug)]
pub struct CaptureExchange(Handover<Capture>);

impl Default for CaptureExchange {
    fn default() -> Self {
        Self(Handover::new(2))
    }
}

impl CaptureExchange {
    /// Offers a capture to the audio thread (handed back when it cannot take it).
    pub fn send(&self, capture: Capture) -> Result<(), Capture> {
        self.0.send(capture)
    }

    /// A capture the audio thread gave back, if any.
    pub fn receive(&self) -> Option<Capture> {
        self.0.receive()
    }

    /// The audio thread's ends (once; the plugin takes them when it is built).
    pub fn take_audio_side(&self) -> Option<AudioCapture> {
        Some(AudioCapture {
            handover: self.0.take_audio_side()?,
            held: None,
            recording: false,
            sample_rate_hz: 48_000.0,
        })
    }
}

/// The audio thread's side: records while a pass runs, hands the recording back at its end.
#[derive(Debug)]
pub struct AudioCapture {
    handover: AudioHandover<Capture>,
    held: Option<Capture>,
    recording: bool,
    sample_rate_hz: f64,
}

impl AudioCapture {
    /// Sets the rate of the next recording (call from `activate()`).
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.recording = false;
    }

    /// A Learn pass begins: record from now on. Never allocates.
    pub fn start(&mut self) {
        self.recording = true;
        if let Some(capture) = &self.held {
            capture.clear(self.sample_rate_hz);
        }
    }

    /// Records a block of the pre-limiter signal while a pass runs (a capture that arrives
    /// during the pass starts recording there). Never allocates, locks or blocks.
    pub fn push(&mut self, left: &[f32], right: &[f32]) {
        if !self.recording {
            return;
        }
        if self.held.is_none() {
            if let Some(capture) = self.handover.receive() {
                capture.clear(self.sample_rate_hz);
                self.held = Some(capture);
            }
        }
        if let Some(capture) = &self.held {
            capture.push(left, right);
        }
    }

    /// The pass ends: the recording goes back to the editor (kept if its channel is full),
    /// also when it arrived too late to record anything, so the editor knows the pass is over.
    pub fn finish(&mut self) {
        self.recording = false;
        if self.held.is_none() {
            self.held = self.handover.receive();
            if let Some(capture) = &self.held {
                capture.clear(self.sample_rate_hz);
            }
        }
        if let Some(capture) = self.held.take() {
            self.held = self.handover.give_back(capture).err();
        }
    }

    /// A reset stops recording without a result.
    pub fn cancel(&mut self) {
        self.recording = false;
    }
}

/// The plan of the last Learn pass, for the editor's readout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnedPlan {
    pub plan: PeakPlan,
    pub target_lufs: f64,
    /// Seconds of the pass the plan worked on, and whether the pass ran longer than the capture.
    pub seconds: f64,
    pub truncated: bool,
    /// `D` of the chosen peak stage, dB.
    pub damage_db: f64,
}

/// What the editor writes through the host after a Learn pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LearnWrite {
    /// The solver's step (no plan was possible): the drive, dB.
    Drive(f32),
    /// The plan: the drive, dB, and the clipper.
    Plan { drive_db: f32, clipper: bool },
}

struct Job {
    handle: JoinHandle<Option<PlannedPeakStage>>,
    target_lufs: f64,
    seconds: f64,
    truncated: bool,
}

/// The editor's side: provides the capture when a pass starts, plans when it comes back.
#[derive(Default)]
pub struct LearnPlanner {
    /// A capture is with the audio thread.
    outstanding: bool,
    /// This pass was offered a capture.
    provided: bool,
    job: Option<Job>,
    /// The solver's result of the same pass, used when no plan comes of it.
    step_result: Option<f32>,
    last: Option<LearnedPlan>,
    /// Capture length, frames (`None`: [`LearnCapture::capacity_for`] the rate).
    capture_frames: Option<usize>,
}

impl LearnPlanner {
    /// A planner whose captures hold `frames` (shorter than a song: for tests).
    pub fn with_capture_frames(frames: usize) -> Self {
        Self {
            capture_frames: Some(frames),
            ..Self::default()
        }
    }

    /// Whether a plan is being computed.
    pub fn planning(&self) -> bool {
        self.job.is_some()
    }

    /// The last plan, for the readout.
    pub fn last(&self) -> Option<&LearnedPlan> {
        self.last.as_ref()
    }

    /// Call once per editor frame. `learning`: a pass runs; `step_result`: the solver's
    /// result when a pass ended ([`crate::meters::MasterMeters::take_learn_result`]);
    /// `sample_rate_hz`: the plugin's rate; `settings` and `target_lufs`: what the plan works
    /// with (read only when a plan starts). Returns what to write through the host.
    pub fn poll(
        &mut self,
        exchange: &CaptureExchange,
        learning: bool,
        step_result: Option<f32>,
        sample_rate_hz: f64,
        settings: impl FnOnce() -> (MasterSettings, f64),
    ) -> Option<LearnWrite> {
        // One capture per pass at most: a send that fails (the plugin gone) is not retried
        // every frame with a new allocation.
        if learning && !self.provided && !self.outstanding && self.job.is_none() {
            let frames = self
                .capture_frames
                .unwrap_or_else(|| LearnCapture::capacity_for(sample_rate_hz));
            let capture = Arc::new(LearnCapture::new(frames));
            self.outstanding = exchange.send(capture).is_ok();
            self.provided = true;
        }
        if !learning {
            self.provided = false;
        }
        if step_result.is_some() {
            self.step_result = step_result;
        }
        let returned = exchange.receive();
        if let Some(capture) = returned {
            self.outstanding = false;
            if capture.seconds() >= MIN_PLAN_SECONDS && self.job.is_none() {
                let (settings, target_lufs) = settings();
                let (seconds, truncated) = (capture.seconds(), capture.is_full());
                let handle = std::thread::spawn(move || {
                    let [l, r] = capture.to_channels();
                    let fs = capture.sample_rate_hz();
                    drop(capture);
                    plan_in_memory([&l, &r], &settings, target_lufs, false, fs)
                });
                self.job = Some(Job {
                    handle,
                    target_lufs,
                    seconds,
                    truncated,
                });
            }
        }
        if let Some(job) = self.job.take_if(|job| job.handle.is_finished()) {
            let planned = job.handle.join().ok().flatten();
            if let Some(p) = planned {
                self.step_result = None;
                self.last = Some(LearnedPlan {
                    plan: p.plan,
                    target_lufs: job.target_lufs,
                    seconds: job.seconds,
                    truncated: job.truncated,
                    damage_db: p.damage_db,
                });
                return Some(LearnWrite::Plan {
                    drive_db: p.plan.drive_db as f32,
                    clipper: p.plan.clipper_enabled,
                });
            }
        }
        if self.outstanding || self.job.is_some() {
            // The pass's capture is still on its way or being planned: its step waits.
            return None;
        }
        self.step_result.take().map(LearnWrite::Drive)
    }
}
