//! Section switching with constant latency: a section is bypassed through a delay of its own
//! latency, and switched on or off without a click by warming the path about to be heard with
//! real audio, then cross-fading (equal-gain over `fade_samples`); a bypassed section's delay can
//! move to a new latency by cross-fading taps. The Stem Master chain switches every section with
//! it. The Stem Channel chain's fade-out / swap / fade-in (`Fade` in `channel.rs`) is to become a
//! mode of this type, so both chains switch sections one way.

use crate::delay::DelayLine;

/// Where a section stands between bypassed and active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SwitchState {
    /// Bypassed: the audio takes the delay; the unit is idle.
    Off,
    /// Being switched on: the unit processes (filling its delay lines with real audio) while
    /// the output still comes from the delay; samples left.
    WarmUp(usize),
    /// Cross-fading from the delay to the unit; samples done.
    FadeIn(usize),
    /// Active: the unit's output; the delay is idle.
    On,
    /// Being switched off: the delay is fed (filling it with real audio) while the output still
    /// comes from the unit; samples left.
    Cooling(usize),
    /// Cross-fading from the unit to the delay; samples done.
    FadeOut(usize),
    /// Bypassed, the delay moving to a new latency: cross-fading from its tap `from` samples
    /// back to the new one; samples done.
    Retap { from: usize, done: usize },
}

/// Bypass of one section with a latency-compensating delay and click-free switching. Only the
/// path being heard runs, plus both while a switch warms up and fades, so a bypassed section
/// costs a delay line and an active one nothing extra; unless the switch keeps its history
/// ([`Self::keeping_history`]), when the delay also records while the unit is heard.
#[derive(Clone, Debug)]
pub(super) struct SectionSwitch {
    state: SwitchState,
    delay: DelayLine,
    fade_samples: usize,
    /// The delay records in every state, so it always holds the section's recent input.
    keeps_history: bool,
}

impl SectionSwitch {
    pub(super) fn new(max_latency_samples: usize, fade_samples: usize, on: bool) -> Self {
        Self {
            state: if on {
                SwitchState::On
            } else {
                SwitchState::Off
            },
            delay: DelayLine::new(2, max_latency_samples),
            fade_samples: fade_samples.max(1),
            keeps_history: false,
        }
    }

    /// The delay records while the unit is heard too (a copy per run): switching off needs no
    /// cooling, and the latency can move by [`Self::retap`].
    pub(super) fn keeping_history(mut self) -> Self {
        self.keeps_history = true;
        self
    }

    /// Sets the latency at once (a jump in time if the delay is heard).
    pub(super) fn set_latency(&mut self, samples: usize) {
        self.delay.set_delay_samples(samples);
    }

    /// The latency of the path heard (the new one from the start of a retap).
    pub(super) fn latency_samples(&self) -> usize {
        self.delay.delay_samples()
    }

    /// Moves a bypassed, idle switch that keeps its history to a new latency by cross-fading
    /// the delay's old tap into the new one (both read real history, so the fade is only a
    /// brief blend of two time-shifted copies). Ignored in any other state.
    pub(super) fn retap(&mut self, samples: usize) {
        let from = self.delay.delay_samples();
        if self.state == SwitchState::Off && self.keeps_history && samples != from {
            self.delay.set_delay_samples(samples);
            self.state = SwitchState::Retap { from, done: 0 };
        }
    }

    pub(super) fn is_active(&self) -> bool {
        !matches!(self.state, SwitchState::Off | SwitchState::Retap { .. })
    }

    /// Bypassed and idle: no switch or retap under way.
    pub(super) fn is_off(&self) -> bool {
        self.state == SwitchState::Off
    }

    /// Samples until the current switch or retap step ends; `None` when settled.
    pub(super) fn samples_to_next_step(&self) -> Option<usize> {
        match self.state {
            SwitchState::Off | SwitchState::On => None,
            SwitchState::WarmUp(left) | SwitchState::Cooling(left) => Some(left.max(1)),
            SwitchState::FadeIn(done)
            | SwitchState::FadeOut(done)
            | SwitchState::Retap { done, .. } => Some(self.fade_samples - done),
        }
    }

    /// Requests on/off; `warm_up_samples` is how long a unit needs after a reset before its
    /// output is valid. Returns `true` when the unit must be reset now (it is being woken).
    pub(super) fn set_enabled(&mut self, on: bool, warm_up_samples: usize) -> bool {
        let fade = self.fade_samples;
        match (self.state, on) {
            (SwitchState::Off, true) => {
                self.state = SwitchState::WarmUp(warm_up_samples);
                true
            }
            (SwitchState::WarmUp(_), false) => {
                self.state = SwitchState::Off;
                false
            }
            (SwitchState::FadeIn(done), false) => {
                self.state = SwitchState::FadeOut(fade - done);
                false
            }
            (SwitchState::On, false) => {
                let latency = self.delay.delay_samples();
                self.state = if latency == 0 || self.keeps_history {
                    SwitchState::FadeOut(0)
                } else {
                    SwitchState::Cooling(latency)
                };
                false
            }
            (SwitchState::Cooling(_), true) => {
                self.state = SwitchState::On;
                false
            }
            (SwitchState::FadeOut(done), true) => {
                self.state = SwitchState::FadeIn(fade - done);
                false
            }
            _ => false,
        }
    }

    pub(super) fn reset(&mut self, on: bool) {
        self.delay.reset();
        self.state = if on {
            SwitchState::On
        } else {
            SwitchState::Off
        };
    }

    /// Runs the bypass delay over a stereo run (nothing to do for a zero latency, unless the
    /// history is kept).
    pub(super) fn delay(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.delay.delay_samples() > 0 || self.keeps_history {
            self.delay.process_block(0, left);
            self.delay.process_block(1, right);
        }
    }

    /// One retap run: the delay records at its new latency while the output cross-fades from
    /// the tap `from` samples back to the new one.
    pub(super) fn retap_run(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        from: usize,
        done: usize,
    ) {
        let inv = 1.0 / self.fade_samples as f32;
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let w = (done + i + 1) as f32 * inv;
            for (ch, x) in [l, r].into_iter().enumerate() {
                let new = self.delay.process_sample(ch, *x);
                let old = self.delay.tap(ch, from);
                *x = old + w * (new - old);
            }
        }
    }

    /// Processes a stereo run through the unit `run_unit` or the delay, per the state.
    /// `run_unit` gets the offset of its slices in the run. `scratch` holds at least
    /// `left.len()` samples per channel.
    pub(super) fn process(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        scratch: &mut [Vec<f32>; 2],
        mut run_unit: impl FnMut(usize, &mut [f32], &mut [f32]),
    ) {
        let len = left.len().min(right.len());
        let mut n = 0;
        while n < len {
            let rest = len - n;
            let (l, r) = (&mut left[n..], &mut right[n..]);
            let run = rest.min(self.samples_to_next_step().unwrap_or(rest));
            let (l, r) = (&mut l[..run], &mut r[..run]);
            let [sl, sr] = scratch;
            let (sl, sr) = (&mut sl[..run], &mut sr[..run]);
            match self.state {
                SwitchState::Off => self.delay(l, r),
                SwitchState::On => {
                    if self.keeps_history {
                        self.delay.push_block(0, l);
                        self.delay.push_block(1, r);
                    }
                    run_unit(n, l, r)
                }
                SwitchState::Retap { from, done } => {
                    self.retap_run(l, r, from, done);
                    let done = done + run;
                    self.state = if done >= self.fade_samples {
                        SwitchState::Off
                    } else {
                        SwitchState::Retap { from, done }
                    };
                }
                SwitchState::WarmUp(left_samples) | SwitchState::Cooling(left_samples) => {
                    let warming = matches!(self.state, SwitchState::WarmUp(_));
                    sl.copy_from_slice(l);
                    sr.copy_from_slice(r);
                    self.delay(sl, sr);
                    run_unit(n, l, r);
                    if warming {
                        l.copy_from_slice(sl);
                        r.copy_from_slice(sr);
                    }
                    let left_samples = left_samples.saturating_sub(run);
                    self.state = match (warming, left_samples == 0) {
                        (true, true) => SwitchState::FadeIn(0),
                        (true, false) => SwitchState::WarmUp(left_samples),
                        (false, true) => SwitchState::FadeOut(0),
                        (false, false) => SwitchState::Cooling(left_samples),
                    };
                }
                SwitchState::FadeIn(done) | SwitchState::FadeOut(done) => {
                    let fading_in = matches!(self.state, SwitchState::FadeIn(_));
                    sl.copy_from_slice(l);
                    sr.copy_from_slice(r);
                    self.delay(sl, sr);
                    run_unit(n, l, r);
                    let inv = 1.0 / self.fade_samples as f32;
                    for i in 0..run {
                        let t = (done + i + 1) as f32 * inv;
                        let w = if fading_in { t } else { 1.0 - t };
                        l[i] = sl[i] + w * (l[i] - sl[i]);
                        r[i] = sr[i] + w * (r[i] - sr[i]);
                    }
                    let done = done + run;
                    self.state = match (fading_in, done >= self.fade_samples) {
                        (true, true) => SwitchState::On,
                        (false, true) => SwitchState::Off,
                        (true, false) => SwitchState::FadeIn(done),
                        (false, false) => SwitchState::FadeOut(done),
                    };
                }
            }
            n += run;
        }
    }
}
