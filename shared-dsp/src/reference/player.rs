//! The reference player on the master's output: up to [`SLOTS`] references, one of them
//! active, played either in a loop (a region of the file, for a commercial reference) or in
//! step with the host's transport (for the song's own stereo mix: "A/B compare your result
//! against your original stereo mix reference at matched loudness"), matched in loudness
//! ([`LoudnessMatch`]) and switched against the master with a cross-fade.
//!
//! **Latency.** The host delays every track by the plugin's reported latency `L` to line it
//! up, so the output of the block whose input is at transport position `p` is heard at `p - L`.
//! In transport mode the player plays reference frame `p - L` there: a reference that is the
//! master's own input comes out sample-aligned with the (latency-compensated) master.
//!
//! **Clicks.** The A/B switch is a [`CROSSFADE_MS`] cross-fade whose weights are `cos^2` and
//! `sin^2` of the same phase (they sum to one, so a reference equal to the master passes
//! unchanged through a switch, and two different programmes never step). A loop's wrap is
//! faded out and in over [`LOOP_FADE_MS`] each side. Anything that moves the reference's
//! position or changes what it is (another slot, a new file, another loop region or playback
//! mode) while the reference is heard first fades to the master, takes effect in silence, and
//! fades back.
//!
//! Transport stopped: the reference does not advance and is silent (as a track would be).
//! Offline rendering is the caller's business (the plugin never bounces the reference).

use std::sync::Arc;

use super::loudness_match::{LoudnessMatch, MatchState};
use super::track::{LoopRegion, ReferenceTrack};

/// References the player holds.
pub const SLOTS: usize = 4;
/// Length of the A/B cross-fade, ms.
pub const CROSSFADE_MS: f64 = 25.0;
/// Fade at each side of a loop's wrap, ms.
pub const LOOP_FADE_MS: f64 = 5.0;

/// How the active reference plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Playback {
    /// Its loop region, over and over, while the transport plays.
    #[default]
    Loop,
    /// Frame for frame with the host's transport, latency-aligned (the song's own mix).
    Transport,
}

/// The host's transport for one block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransportState {
    pub playing: bool,
    /// Position of the block's first input sample, samples (`None` when the host does not say).
    pub position_samples: Option<i64>,
}

/// What the player is doing, for the editor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlayerReadout {
    /// Position in the active reference, seconds (`None` without one).
    pub position_s: Option<f64>,
    /// Weight of the reference in the output, 0 (master) to 1 (reference).
    pub reference_weight: f32,
    pub match_gain_db: f32,
    pub match_state: MatchState,
    pub match_span_s: f64,
}

/// The player. Built with the largest block it will be given; never allocates afterwards.
pub struct ReferencePlayer {
    tracks: [Option<Arc<ReferenceTrack>>; SLOTS],
    /// Tracks handed in and not yet in place (the active slot's waits for a fade to the
    /// master), and tracks taken out, waiting for the caller to take them back.
    incoming: [Option<Option<Arc<ReferenceTrack>>>; SLOTS],
    retired: [Option<Arc<ReferenceTrack>>; SLOTS],
    loops: [LoopRegion; SLOTS],
    /// Loop-mode read position per slot, frames.
    positions: [usize; SLOTS],
    active: usize,
    playback: Playback,
    /// What the user asked for, and what plays while a change waits for silence.
    wanted: Pending,
    /// The A/B phase, 0 (master) to 1 (reference), and its step per sample.
    phase: f32,
    phase_step: f32,
    listen_reference: bool,
    latency_samples: usize,
    /// Where the transport was expected next, to detect seeks (transport mode).
    expected_position: Option<i64>,
    loop_fade_frames: usize,
    sample_rate_hz: f64,
    matcher: LoudnessMatch,
    scratch: [Vec<f32>; 2],
    max_block: usize,
}

/// Changes waiting for the reference to be faded out.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Pending {
    active: Option<usize>,
    playback: Option<Playback>,
    loops: [Option<LoopRegion>; SLOTS],
    rematch: bool,
}

impl ReferencePlayer {
    pub fn new(max_block: usize, sample_rate_hz: f64) -> Self {
        let mut p = Self {
            tracks: Default::default(),
            incoming: Default::default(),
            retired: Default::default(),
            loops: [LoopRegion::WHOLE; SLOTS],
            positions: [0; SLOTS],
            active: 0,
            playback: Playback::Loop,
            wanted: Pending::default(),
            phase: 0.0,
            phase_step: 1.0,
            listen_reference: false,
            latency_samples: 0,
            expected_position: None,
            loop_fade_frames: 1,
            sample_rate_hz,
            matcher: LoudnessMatch::new(sample_rate_hz),
            scratch: [vec![0.0; max_block], vec![0.0; max_block]],
            max_block,
        };
        p.set_sample_rate(sample_rate_hz);
        p
    }

    /// New rate: tracks resampled for another rate stay silent until replaced.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.phase_step = (1.0 / (CROSSFADE_MS * 1e-3 * sample_rate_hz)).min(1.0) as f32;
        self.loop_fade_frames = ((LOOP_FADE_MS * 1e-3 * sample_rate_hz).round() as usize).max(1);
        self.matcher.set_sample_rate(sample_rate_hz);
        self.reset();
    }

    /// Back to the master, every position at its loop start, the match forgotten.
    pub fn reset(&mut self) {
        self.apply_pending();
        self.phase = if self.listen_reference && self.playable(self.active) {
            1.0
        } else {
            0.0
        };
        for slot in 0..SLOTS {
            self.positions[slot] = self.loop_frames(slot).0;
        }
        self.expected_position = None;
        self.matcher.reset();
    }

    /// Puts `track` in `slot` (or empties it): at once, or after a fade to the master when the
    /// slot is heard. What was there comes back through [`Self::take_retired`], for the caller
    /// to free off the audio thread. While the slot's previous change is still under way the
    /// track is handed back (`Err`) to be offered again later. A track for another rate is
    /// kept but stays silent.
    pub fn set_track(
        &mut self,
        slot: usize,
        track: Option<Arc<ReferenceTrack>>,
    ) -> Result<(), Option<Arc<ReferenceTrack>>> {
        let slot = slot.min(SLOTS - 1);
        if self.incoming[slot].is_some() || self.retired[slot].is_some() {
            return Err(track);
        }
        self.incoming[slot] = Some(track);
        Ok(())
    }

    /// A track taken out of its slot, for the caller to free off the audio thread.
    pub fn take_retired(&mut self) -> Option<Arc<ReferenceTrack>> {
        self.retired.iter_mut().find_map(Option::take)
    }

    /// The track in `slot`.
    pub fn track(&self, slot: usize) -> Option<&Arc<ReferenceTrack>> {
        self.tracks.get(slot)?.as_ref()
    }

    /// Chooses the active slot (faded when heard).
    pub fn set_active(&mut self, slot: usize) {
        let slot = slot.min(SLOTS - 1);
        if slot != self.pending_active() {
            self.wanted.active = Some(slot);
        }
    }

    pub fn active(&self) -> usize {
        self.active
    }

    /// Sets the loop region of `slot` (faded when heard and different).
    pub fn set_loop(&mut self, slot: usize, region: LoopRegion) {
        let slot = slot.min(SLOTS - 1);
        let current = self.wanted.loops[slot].unwrap_or(self.loops[slot]);
        if region != current {
            self.wanted.loops[slot] = Some(region);
        }
    }

    /// Loop or transport playback (faded when heard).
    pub fn set_playback(&mut self, playback: Playback) {
        if playback != self.wanted.playback.unwrap_or(self.playback) {
            self.wanted.playback = Some(playback);
        }
    }

    /// A/B: `true` plays the reference, `false` the master.
    pub fn set_listen_reference(&mut self, reference: bool) {
        self.listen_reference = reference;
    }

    /// The plugin's reported latency, samples (transport mode plays `position - latency`).
    pub fn set_latency_samples(&mut self, latency_samples: usize) {
        self.latency_samples = latency_samples;
    }

    /// Measures the match again from here on ("match again" in the editor).
    pub fn rematch(&mut self) {
        self.wanted.rematch = true;
    }

    pub fn readout(&self) -> PlayerReadout {
        let position_s = self.tracks[self.active]
            .as_ref()
            .map(|_| self.positions[self.active] as f64 / self.sample_rate_hz);
        PlayerReadout {
            position_s,
            reference_weight: crossfade_weights(self.phase).1,
            match_gain_db: self.matcher.gain_db(),
            match_state: self.matcher.state(),
            match_span_s: self.matcher.span_s(),
        }
    }

    /// Integrated loudness of the master and of the unmatched reference over the matched span.
    pub fn span_loudness_lufs(&self) -> (f64, f64) {
        self.matcher.span_loudness_lufs()
    }

    /// Mixes the reference into the master's output block `left`/`right` (at most the
    /// `max_block` given to [`Self::new`]; longer blocks are taken in pieces). With the master
    /// selected and no fade under way the block is left untouched, bit for bit.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], transport: TransportState) {
        let len = left.len().min(right.len());
        let mut start = 0;
        let mut transport = transport;
        while start < len {
            let n = (len - start).min(self.max_block);
            self.process_piece(
                &mut left[start..start + n],
                &mut right[start..start + n],
                transport,
            );
            if let Some(p) = transport.position_samples.as_mut() {
                *p += n as i64;
            }
            start += n;
        }
    }

    fn process_piece(&mut self, left: &mut [f32], right: &mut [f32], transport: TransportState) {
        let n = left.len();
        // Changes to what is heard wait for silence: applied once the reference is faded out.
        self.apply_inaudible();
        let changing = self.audible_change_pending();
        if changing && self.phase == 0.0 {
            self.apply_pending();
        }
        let changing = self.audible_change_pending();
        let seek = self.playback == Playback::Transport
            && transport.playing
            && transport.position_samples.is_some()
            && transport.position_samples != self.expected_position;
        if seek && self.expected_position.is_some() {
            self.restart_match();
        }
        self.expected_position = transport
            .position_samples
            .filter(|_| transport.playing)
            .map(|p| p + n as i64);

        let playable = self.playable(self.active);
        let target_phase = if self.listen_reference && playable && !changing {
            1.0
        } else {
            0.0
        };
        let heard = self.phase > 0.0 || target_phase > 0.0;
        if !(transport.playing && playable) {
            // Nothing to play: fade out whatever was heard (the reference is silence now).
            if heard {
                let [ref_l, ref_r] = &mut self.scratch;
                ref_l[..n].fill(0.0);
                ref_r[..n].fill(0.0);
                self.mix(left, right, 0.0);
            }
            return;
        }
        self.read_reference(n, transport);
        let [ref_l, ref_r] = &mut self.scratch;
        self.matcher
            .process([&left[..], &right[..]], &mut ref_l[..n], &mut ref_r[..n]);
        if heard {
            self.mix(left, right, target_phase);
        }
    }

    /// Cross-fades the master block with the scratch reference toward `target_phase`.
    fn mix(&mut self, left: &mut [f32], right: &mut [f32], target_phase: f32) {
        let [ref_l, ref_r] = &self.scratch;
        for i in 0..left.len() {
            if self.phase != target_phase {
                self.phase = if target_phase > self.phase {
                    (self.phase + self.phase_step).min(target_phase)
                } else {
                    (self.phase - self.phase_step).max(target_phase)
                };
            }
            let (master_w, reference_w) = crossfade_weights(self.phase);
            left[i] = master_w * left[i] + reference_w * ref_l[i];
            right[i] = master_w * right[i] + reference_w * ref_r[i];
        }
    }

    /// Reads `n` frames of the active reference into the scratch buffers, advancing.
    fn read_reference(&mut self, n: usize, transport: TransportState) {
        let slot = self.active;
        let Some(track) = self.tracks[slot].as_ref() else {
            return;
        };
        let [ref_l, ref_r] = &mut self.scratch;
        match self.playback {
            Playback::Transport => {
                // The frame heard with this block's output: `position - latency`.
                let first = transport.position_samples.unwrap_or(0) - self.latency_samples as i64;
                let frames = track.frames() as i64;
                for i in 0..n {
                    let at = first + i as i64;
                    let (l, r) = if (0..frames).contains(&at) {
                        (track.left[at as usize], track.right[at as usize])
                    } else {
                        (0.0, 0.0)
                    };
                    ref_l[i] = l;
                    ref_r[i] = r;
                }
                self.positions[slot] = (first + n as i64).clamp(0, frames) as usize;
            }
            Playback::Loop => {
                let (start, end) = self.loops[slot].frames(track.frames(), track.sample_rate_hz);
                let fade = self.loop_fade_frames.min((end - start) / 4).max(1);
                let mut pos = self.positions[slot].clamp(start, end);
                for i in 0..n {
                    if pos >= end {
                        pos = start;
                    }
                    // Faded in after the loop start and out before its end, so the wrap
                    // never steps.
                    let edge = (pos - start).min(end - 1 - pos);
                    let g = if edge < fade {
                        (edge as f32 + 0.5) / fade as f32
                    } else {
                        1.0
                    };
                    ref_l[i] = g * track.left[pos];
                    ref_r[i] = g * track.right[pos];
                    pos += 1;
                }
                self.positions[slot] = pos;
            }
        }
    }

    /// Whether a change to the heard reference waits (a fade to the master comes first).
    fn audible_change_pending(&self) -> bool {
        let active = self.active;
        self.wanted.active.is_some_and(|a| a != active)
            || self.wanted.playback.is_some_and(|p| p != self.playback)
            || self.wanted.loops[active].is_some()
            || self.incoming[active].is_some()
    }

    /// Applies at once what is not heard: another slot's file or loop, a new measurement.
    fn apply_inaudible(&mut self) {
        let pending_active = self.pending_active();
        for slot in 0..SLOTS {
            if slot != self.active && slot != pending_active {
                if let Some(track) = self.incoming[slot].take() {
                    self.install(slot, track);
                }
                if let Some(region) = self.wanted.loops[slot].take() {
                    self.loops[slot] = region;
                    self.positions[slot] = self.loop_frames(slot).0;
                }
            }
        }
        if std::mem::take(&mut self.wanted.rematch) {
            self.restart_match();
        }
    }

    /// Puts `track` in `slot`, retiring the one there.
    fn install(&mut self, slot: usize, track: Option<Arc<ReferenceTrack>>) {
        let old = std::mem::replace(&mut self.tracks[slot], track);
        if self.retired[slot].is_none() {
            self.retired[slot] = old;
        } else {
            // `set_track` refuses while a retired track waits, so this cannot happen; were it
            // to, dropping here would free on the audio thread, so keep the newer out instead.
            let newer = std::mem::replace(&mut self.tracks[slot], old);
            self.incoming[slot] = Some(newer);
            return;
        }
        self.positions[slot] = self.loop_frames(slot).0;
    }

    fn apply_pending(&mut self) {
        let wanted = std::mem::take(&mut self.wanted);
        let mut restart = wanted.rematch;
        for slot in 0..SLOTS {
            if let Some(track) = self.incoming[slot].take() {
                restart |= slot == self.active || Some(slot) == wanted.active;
                self.install(slot, track);
            }
        }
        if let Some(active) = wanted.active {
            restart |= active != self.active;
            self.active = active;
        }
        if let Some(playback) = wanted.playback {
            restart |= playback != self.playback;
            self.playback = playback;
        }
        for (slot, region) in wanted.loops.iter().enumerate() {
            if let Some(region) = region {
                self.loops[slot] = *region;
                self.positions[slot] = self.loop_frames(slot).0;
                restart |= slot == self.active;
            }
        }
        if restart {
            self.restart_match();
        }
    }

    fn restart_match(&mut self) {
        self.matcher.restart();
    }

    fn pending_active(&self) -> usize {
        self.wanted.active.unwrap_or(self.active)
    }

    /// Whether `slot` holds a track for the current rate.
    fn playable(&self, slot: usize) -> bool {
        self.tracks[slot]
            .as_ref()
            .is_some_and(|t| t.frames() > 0 && (t.sample_rate_hz - self.sample_rate_hz).abs() < 0.5)
    }

    fn loop_frames(&self, slot: usize) -> (usize, usize) {
        self.tracks[slot].as_ref().map_or((0, 0), |t| {
            self.loops[slot].frames(t.frames(), t.sample_rate_hz)
        })
    }
}

/// Master and reference weights at A/B phase `phase` (0 master .. 1 reference): `cos^2` and
/// `sin^2` of `phase * pi/2`, which sum to one at every phase.
fn crossfade_weights(phase: f32) -> (f32, f32) {
    let s = (phase * std::f32::consts::FRAC_PI_2).sin();
    let reference = s * s;
    (1.0 - reference, reference)
}
