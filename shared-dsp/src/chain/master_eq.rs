//! The Stem Master's EQ section: the same static bands in one of four [`MasterEqMode`]s,
//! minimum phase ([`ParametricEq`], no latency) or linear phase ([`LinearPhaseEq`]) at three
//! FIR lengths, behind one bypass switch whose delay always records, so a mode change (which
//! moves the latency) can go through the bypass: the EQ switches off in the old mode, the
//! bypass delay retaps to the new mode's latency by cross-fading its taps, and the EQ switches
//! on again in the new mode. See [`super::master`] for the chain around it.

use super::section::SectionSwitch;
use super::settings::{MasterEqMode, MasterSettings};
use crate::eq::{BandSettings, DynamicSettings, LinearPhaseEq, LinearPhaseQuality, ParametricEq};

/// The master EQ with its two engines and its switch. Only the engine of the mode in use runs.
pub(super) struct MasterEq {
    minimum: ParametricEq,
    /// At the FIR length of [`Self::mode`] when that is a linear-phase mode.
    linear: LinearPhaseEq,
    /// The mode in use: the settings' mode once a mode change has gone through the bypass.
    mode: MasterEqMode,
    /// Keeps its history, so a mode change can move its latency.
    switch: SectionSwitch,
    /// Guard a linear-phase warm-up adds to the FIR span, samples.
    fade_guard_samples: usize,
    /// Warm-up of the minimum-phase engine before it is heard, samples.
    minimum_warm_up_samples: usize,
    max_latency_samples: usize,
}

impl MasterEq {
    /// Allocates both engines at `sample_rate_hz` (the linear one sized for its longest FIR),
    /// in `mode`, switched `on` or off, cross-fading over `fade_samples`.
    pub(super) fn new(
        sample_rate_hz: f64,
        fade_samples: usize,
        fade_guard_samples: usize,
        minimum_warm_up_samples: usize,
        mode: MasterEqMode,
        on: bool,
    ) -> Self {
        let mut linear = LinearPhaseEq::new(sample_rate_hz, sample_rate_hz);
        linear.set_quality(LinearPhaseQuality::High);
        let max_latency = linear.latency_samples();
        // The cheapest design until a linear-phase mode asks for its own FIR length.
        linear.set_quality(LinearPhaseQuality::Low);
        Self {
            minimum: ParametricEq::new(sample_rate_hz),
            linear,
            mode,
            switch: SectionSwitch::new(max_latency, fade_samples, on).keeping_history(),
            fade_guard_samples,
            minimum_warm_up_samples,
            max_latency_samples: max_latency,
        }
    }

    /// The largest latency any mode has at this rate (linear phase, High).
    pub(super) fn max_latency_samples(&self) -> usize {
        self.max_latency_samples
    }

    /// Hands new bands to both engines (their dynamic controls off: the linear-phase FIR
    /// follows a fixed curve, and both modes must give the same one).
    pub(super) fn set_bands(&mut self, bands: &[BandSettings]) {
        self.linear.set_bands(bands);
        for (i, b) in bands.iter().enumerate() {
            self.minimum.set_band(i, static_band(b));
        }
    }

    /// Latency of a mode at this rate (the linear engine's FIR length must be the mode's).
    fn mode_latency(&self, mode: MasterEqMode) -> usize {
        match mode.linear_phase() {
            Some(_) => self.linear.latency_samples(),
            None => 0,
        }
    }

    /// Puts the section straight into the settings' mode and on/off state, no fades.
    pub(super) fn jump(&mut self, settings: &MasterSettings) {
        let mode = settings.eq_mode;
        self.mode = mode;
        if let Some(q) = mode.linear_phase() {
            self.linear.set_quality(q);
        }
        self.switch.set_latency(self.mode_latency(mode));
        self.switch.reset(settings.eq_enabled);
        self.reset_engine(settings);
    }

    /// Clears the engine of the mode in use; the minimum-phase one also jumps to its bands
    /// (it may have been idle while they moved).
    fn reset_engine(&mut self, settings: &MasterSettings) {
        match self.mode.linear_phase() {
            Some(_) => self.linear.reset(),
            None => {
                for (i, b) in settings.eq_bands.iter().enumerate() {
                    self.minimum.set_band_immediately(i, static_band(b));
                }
                self.minimum.reset();
            }
        }
    }

    /// Moves the section towards the settings: a mode change first switches the EQ off in the
    /// old mode, then retaps its bypass delay to the new mode's latency, then lets it switch
    /// on again. Called on every settings change and at every step of a switch (the chain's
    /// runs end there), so each step starts on the same sample whatever the blocks.
    pub(super) fn update(&mut self, settings: &MasterSettings) {
        let want = settings.eq_mode;
        if want != self.mode && self.switch.is_off() {
            self.mode = want;
            if let Some(q) = want.linear_phase() {
                self.linear.set_quality(q);
            }
            self.switch.retap(self.mode_latency(want));
        }
        let on = settings.eq_enabled && want == self.mode;
        let latency = self.switch.latency_samples();
        let warm_up = match self.mode.linear_phase() {
            // The FIR spans twice its delay: wait until the whole kernel sees real audio (and
            // a pending redesign has had time to land).
            Some(_) => 2 * latency + self.fade_guard_samples,
            None => self.minimum_warm_up_samples,
        };
        if self.switch.set_enabled(on, warm_up) {
            self.reset_engine(settings);
        }
    }

    /// Offline use: applies the settings' mode (without the bypass round a live mode change
    /// takes) and any pending FIR redesign now. Returns whether the mode (so the latency)
    /// changed.
    pub(super) fn finish_design_now(&mut self, settings: &MasterSettings) -> bool {
        let jumped = self.mode != settings.eq_mode;
        if jumped {
            self.jump(settings);
        }
        // A zero-length block applies a pending FIR length (which restarts the design).
        self.linear.process_block(&mut [], &mut []);
        self.linear.finish_design_now();
        jumped
    }

    /// The mode in use.
    pub(super) fn mode(&self) -> MasterEqMode {
        self.mode
    }

    /// Latency in samples (0 in zero-latency mode), the same whether on or bypassed.
    pub(super) fn latency_samples(&self) -> usize {
        self.switch.latency_samples()
    }

    /// Samples until the switch's next step, if one is under way.
    pub(super) fn samples_to_next_step(&self) -> Option<usize> {
        self.switch.samples_to_next_step()
    }

    /// Processes a stereo run through the switch. `scratch` holds at least the run's length.
    pub(super) fn process(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        scratch: &mut [Vec<f32>; 2],
    ) {
        let (minimum, linear) = (&mut self.minimum, &mut self.linear);
        let linear_phase = self.mode.linear_phase().is_some();
        self.switch.process(left, right, scratch, |_, l, r| {
            if linear_phase {
                linear.process_block(l, r)
            } else {
                minimum.process_block(l, r)
            }
        });
    }
}

/// A band as the master EQ runs it: its dynamic controls off.
fn static_band(band: &BandSettings) -> BandSettings {
    BandSettings {
        dynamic: DynamicSettings {
            enabled: false,
            ..band.dynamic
        },
        ..*band
    }
}
