//! The reference player's audio-thread side and what it shares with the editor: the A/B choice
//! and "match again" (editor -> audio), the match and position readouts (audio -> editor), and
//! the tracks' hand-over (through the [`ReferenceLoader`]).
//!
//! Offline rendering (the host bouncing the project) always plays the master: a bounce never
//! contains the reference, whatever the A/B switch was left on.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use shared_dsp::reference::loudness_match::MatchState;
use shared_dsp::reference::player::{ReferencePlayer, TransportState, SLOTS};
use stem_plugin_common::{AudioHandover, MeterValue};

use super::loader::{ReferenceLoader, TrackSlot};
use super::settings::ReferenceSettings;
use crate::learn_plan::{AudioCapture, CaptureExchange};

/// Shared between the plugin and the editor.
#[derive(Debug, Default)]
pub struct ReferenceShared {
    pub loader: ReferenceLoader,
    /// A/B: the reference is heard (editor -> audio).
    pub listen_reference: AtomicBool,
    /// Measure the match again (editor -> audio; the audio thread clears it).
    pub rematch_requested: AtomicBool,
    /// Readouts (audio -> editor).
    pub position_s: MeterValue,
    pub reference_weight: MeterValue,
    pub match_gain_db: MeterValue,
    match_state: AtomicU8,
    pub match_span_s: MeterValue,
    /// Integrated loudness of the master and of the unmatched reference over the matched
    /// span, LUFS.
    pub master_span_lufs: MeterValue,
    pub reference_span_lufs: MeterValue,
    /// The host renders offline: the reference is muted.
    pub offline: AtomicBool,
    /// Record the master's output for the spectrum overlay and Match EQ (editor -> audio),
    /// into the capture handed over here (the Learn capture's kind and hand-over).
    pub capture_master: AtomicBool,
    pub master_capture: CaptureExchange,
}

impl ReferenceShared {
    pub fn match_state(&self) -> MatchState {
        match self.match_state.load(Ordering::Relaxed) {
            1 => MatchState::Settling,
            2 => MatchState::Held,
            _ => MatchState::Waiting,
        }
    }
}

/// The audio thread's part: the player and its ends of the hand-over, with a track that could
/// not be placed yet and one that could not be given back yet (both kept, never dropped here).
pub struct AudioReference {
    player: ReferencePlayer,
    handover: Option<AudioHandover<TrackSlot>>,
    offered: Option<TrackSlot>,
    returning: Option<TrackSlot>,
    /// The master's output as played, for the editor's comparison.
    capture: AudioCapture,
    capturing: bool,
}

impl AudioReference {
    pub fn new(shared: &ReferenceShared, max_block: usize, sample_rate_hz: f64) -> Self {
        Self {
            player: ReferencePlayer::new(max_block, sample_rate_hz),
            handover: shared.loader.take_audio_side(),
            offered: None,
            returning: None,
            capture: shared
                .master_capture
                .take_audio_side()
                .expect("fresh shared state holds the capture's audio side"),
            capturing: false,
        }
    }

    /// Allocates nothing (the player's buffers are sized at construction); call from
    /// `activate()`.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.player.set_sample_rate(sample_rate_hz);
        self.capture.set_sample_rate(sample_rate_hz);
        self.capturing = false;
    }

    pub fn reset(&mut self) {
        self.player.reset();
    }

    /// Plays the block. `latency_samples`: what the plugin reports (transport playback is
    /// aligned to it). Never allocates, frees, locks or blocks.
    pub fn process(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        transport: TransportState,
        latency_samples: usize,
        settings: &ReferenceSettings,
        shared: &ReferenceShared,
    ) {
        self.exchange_tracks();
        // The master as it leaves the plugin, before the reference is mixed in.
        let capture = shared.capture_master.load(Ordering::Relaxed);
        if capture != self.capturing {
            self.capturing = capture;
            if capture {
                self.capture.start();
            } else {
                self.capture.finish();
            }
        }
        self.capture.push(left, right);
        let p = &mut self.player;
        p.set_active(settings.active());
        p.set_playback(settings.playback());
        for slot in 0..SLOTS {
            p.set_loop(slot, settings.loop_region(slot));
        }
        let offline = shared.offline.load(Ordering::Relaxed);
        p.set_listen_reference(shared.listen_reference.load(Ordering::Relaxed) && !offline);
        if shared.rematch_requested.swap(false, Ordering::Relaxed) {
            p.rematch();
        }
        p.set_latency_samples(latency_samples);
        p.process(left, right, transport);
        let r = p.readout();
        shared
            .position_s
            .store(r.position_s.map_or(f32::NAN, |s| s as f32));
        shared.reference_weight.store(r.reference_weight);
        shared.match_gain_db.store(r.match_gain_db);
        shared.match_state.store(
            match r.match_state {
                MatchState::Waiting => 0,
                MatchState::Settling => 1,
                MatchState::Held => 2,
            },
            Ordering::Relaxed,
        );
        shared.match_span_s.store(r.match_span_s as f32);
        let (master, reference) = p.span_loudness_lufs();
        shared.master_span_lufs.store(master as f32);
        shared.reference_span_lufs.store(reference as f32);
    }

    /// Takes a new track when one is offered and gives a retired one back.
    fn exchange_tracks(&mut self) {
        let Some(handover) = &self.handover else {
            return;
        };
        if self.offered.is_none() {
            self.offered = handover.receive();
        }
        if let Some(TrackSlot { slot, track }) = self.offered.take() {
            if let Err(track) = self.player.set_track(slot, track) {
                self.offered = Some(TrackSlot { slot, track });
            }
        }
        if self.returning.is_none() {
            self.returning = self.player.take_retired().map(|track| TrackSlot {
                slot: 0,
                track: Some(track),
            });
        }
        if let Some(back) = self.returning.take() {
            self.returning = handover.give_back(back).err();
        }
    }
}
