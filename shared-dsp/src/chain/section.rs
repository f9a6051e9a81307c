//! Section switching with constant latency: a section is bypassed through a delay of its own
//! latency, so switching it on or off never moves the output in time, and the two paths,
//! being time-aligned, blend without a click by a linear cross-fade (equal gain).
//!
//! One switch, two laws, the same delay, history and blend code:
//! - [`SectionSwitch::new`], the **cross-fade** law (Stem Master): the path about to be heard is
//!   warmed with real audio while the other is still heard, then the output cross-fades over
//!   `fade_samples`; a bypassed section's delay can move to a new latency by cross-fading taps.
//!   Switches are requested when the settings change ([`SectionSwitch::set_enabled`]).
//! - [`SectionSwitch::fade_swap`], the **fade-swap** law (Stem Channel): the unit's share of
//!   the output moves by one step per sample toward on or off; a change that exchanges the
//!   unit (a dynamics mode, an oversampling factor) fades the share out, swaps while the unit
//!   is silent and fades back in. The chain asks at the start of every run
//!   ([`SectionSwitch::begin_run`]), so the swap happens at the first run after the share
//!   reaches zero.

use crate::delay::DelayLine;

/// Where a cross-fade-law section stands between bypassed and active.
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

/// Where a fade-swap-law section stands: the unit's share of the output and where it heads.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ShareFade {
    /// The unit's share of the output, 0..1 (the delay has the rest).
    share: f32,
    /// Share change per sample: 1 / the fade length in samples.
    step: f32,
    /// Where the share heads in this run (set by [`SectionSwitch::begin_run`]).
    heading_on: bool,
    /// The unit has been reset for a fade-in from bypass (its state is current audio).
    primed: bool,
    /// Samples the unit still runs at zero share after a reset, so its delay lines and filters
    /// hold real signal before it is heard.
    warm_up_left: usize,
}

/// How a switch moves between its paths.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Law {
    CrossFade(SwitchState),
    FadeSwap(ShareFade),
}

/// When the bypass delay records the section's input besides the runs where it is heard or a
/// switch is under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum History {
    /// Never: a bypassed section costs a delay line and an active one nothing extra.
    WhenHeard,
    /// Whenever the delay is longer than zero (a copy per run), so a fade starts on real audio.
    WhileDelayed,
    /// Always, at any latency: switching off needs no cooling, and the latency can move by
    /// [`SectionSwitch::retap`].
    Always,
}

/// What the chain does to a fade-swap section's unit before this run ([`SectionSwitch::begin_run`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct RunStart {
    /// Exchange the unit now (it is silent).
    pub(super) swap_unit: bool,
    /// Reset the unit now (it is woken from bypass; swap first if both).
    pub(super) reset_unit: bool,
}

/// Bypass of one section with a latency-compensating delay and click-free switching, by one
/// of two laws (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct SectionSwitch {
    law: Law,
    delay: DelayLine,
    /// Cross-fade length of the cross-fade law, in samples.
    fade_samples: usize,
    history: History,
}

/// `from` blended toward `to` by `weight` (0 gives `from`, 1 gives `to`): the one blend of
/// every fade and retap, so both laws round alike.
#[inline(always)]
fn blend(from: f32, to: f32, weight: f32) -> f32 {
    from + weight * (to - from)
}

impl SectionSwitch {
    /// A cross-fade-law switch for latencies up to `max_latency_samples`.
    pub(super) fn new(max_latency_samples: usize, fade_samples: usize, on: bool) -> Self {
        Self {
            law: Law::CrossFade(SwitchState::Off),
            delay: DelayLine::new(2, max_latency_samples),
            fade_samples: fade_samples.max(1),
            history: History::WhenHeard,
        }
        .jumped(on)
    }

    /// A fade-swap-law switch for latencies up to `max_latency_samples`, bypassed, its fade
    /// one sample long until [`Self::set_fade_samples`]. Its delay records whenever it has a
    /// latency.
    pub(super) fn fade_swap(max_latency_samples: usize) -> Self {
        Self {
            law: Law::FadeSwap(ShareFade {
                share: 0.0,
                step: 1.0,
                heading_on: false,
                primed: false,
                warm_up_left: 0,
            }),
            delay: DelayLine::new(2, max_latency_samples),
            fade_samples: 1,
            history: History::WhileDelayed,
        }
    }

    /// The delay records while the unit is heard too (a copy per run): switching off needs no
    /// cooling, and the latency can move by [`Self::retap`].
    pub(super) fn keeping_history(mut self) -> Self {
        self.history = History::Always;
        self
    }

    /// Sets the fade length, in samples (fractional for the fade-swap law's step).
    pub(super) fn set_fade_samples(&mut self, fade_samples: f32) {
        self.fade_samples = (fade_samples.round() as usize).max(1);
        if let Law::FadeSwap(f) = &mut self.law {
            f.step = 1.0 / fade_samples.max(1.0);
        }
    }

    /// Sets the latency at once (a jump in time if the delay is heard).
    pub(super) fn set_latency(&mut self, samples: usize) {
        self.delay.set_delay_samples(samples);
    }

    /// The latency of the path heard (the new one from the start of a retap).
    pub(super) fn latency_samples(&self) -> usize {
        self.delay.delay_samples()
    }

    /// Moves a bypassed, idle cross-fade switch that keeps its history to a new latency by
    /// cross-fading the delay's old tap into the new one (both read real history, so the fade
    /// is only a brief blend of two time-shifted copies). Ignored in any other state.
    pub(super) fn retap(&mut self, samples: usize) {
        let from = self.delay.delay_samples();
        if self.is_off() && self.history == History::Always && samples != from {
            self.delay.set_delay_samples(samples);
            self.law = Law::CrossFade(SwitchState::Retap { from, done: 0 });
        }
    }

    /// The unit runs (heard, warming up or fading).
    pub(super) fn is_active(&self) -> bool {
        match self.law {
            Law::CrossFade(s) => !matches!(s, SwitchState::Off | SwitchState::Retap { .. }),
            Law::FadeSwap(f) => f.share != 0.0 || f.heading_on,
        }
    }

    /// The unit has a share of the output (on, or part of a fade).
    pub(super) fn is_heard(&self) -> bool {
        match self.law {
            Law::CrossFade(s) => matches!(
                s,
                SwitchState::FadeIn(_)
                    | SwitchState::On
                    | SwitchState::Cooling(_)
                    | SwitchState::FadeOut(_)
            ),
            Law::FadeSwap(f) => f.share > 0.0,
        }
    }

    /// Bypassed and idle: no switch or retap under way.
    pub(super) fn is_off(&self) -> bool {
        match self.law {
            Law::CrossFade(s) => s == SwitchState::Off,
            Law::FadeSwap(f) => f.share == 0.0 && !f.heading_on,
        }
    }

    /// Samples until the current cross-fade-law switch or retap step ends; `None` when
    /// settled, and always for the fade-swap law (its steps are per sample).
    pub(super) fn samples_to_next_step(&self) -> Option<usize> {
        match self.law {
            Law::CrossFade(SwitchState::Off | SwitchState::On) | Law::FadeSwap(_) => None,
            Law::CrossFade(SwitchState::WarmUp(left) | SwitchState::Cooling(left)) => {
                Some(left.max(1))
            }
            // At least one sample: a fade turned round before its first sample (on, then off
            // at once) starts complete, and the run that ends it must not be empty, or a
            // caller cutting its runs at steps would never move on (the VST3 validator's
            // every-sample automation of every parameter hung the Stem Master that way).
            Law::CrossFade(
                SwitchState::FadeIn(done)
                | SwitchState::FadeOut(done)
                | SwitchState::Retap { done, .. },
            ) => Some(self.fade_samples.saturating_sub(done).max(1)),
        }
    }

    /// Cross-fade law: requests on/off; `warm_up_samples` is how long a unit needs after a
    /// reset before its output is valid. Returns `true` when the unit must be reset now (it is
    /// being woken). The fade-swap law ignores it (see [`Self::begin_run`]).
    pub(super) fn set_enabled(&mut self, on: bool, warm_up_samples: usize) -> bool {
        let Law::CrossFade(state) = self.law else {
            return false;
        };
        let fade = self.fade_samples;
        let (next, wake) = match (state, on) {
            (SwitchState::Off, true) => (SwitchState::WarmUp(warm_up_samples), true),
            (SwitchState::WarmUp(_), false) => (SwitchState::Off, false),
            (SwitchState::FadeIn(done), false) => (SwitchState::FadeOut(fade - done), false),
            (SwitchState::On, false) => {
                let latency = self.delay.delay_samples();
                if latency == 0 || self.history == History::Always {
                    (SwitchState::FadeOut(0), false)
                } else {
                    (SwitchState::Cooling(latency), false)
                }
            }
            (SwitchState::Cooling(_), true) => (SwitchState::On, false),
            (SwitchState::FadeOut(done), true) => (SwitchState::FadeIn(fade - done), false),
            (s, _) => (s, false),
        };
        self.law = Law::CrossFade(next);
        wake
    }

    /// Fade-swap law, at the start of every run: `on` is whether the section should be heard,
    /// `swap_pending` whether its unit must be exchanged first. While the unit is heard a
    /// pending swap fades it out; once silent the chain swaps it, and a unit woken from bypass
    /// (or swapped) is reset and runs unheard for twice the latency (its longest internal
    /// history) plus 16 samples before fading in. The cross-fade law ignores it.
    pub(super) fn begin_run(&mut self, on: bool, swap_pending: bool) -> RunStart {
        let latency = self.delay.delay_samples();
        let Law::FadeSwap(f) = &mut self.law else {
            return RunStart::default();
        };
        let mut start = RunStart::default();
        if f.share != 0.0 {
            f.heading_on = on && !swap_pending;
            return start;
        }
        if swap_pending {
            f.primed = false;
            start.swap_unit = true;
        }
        f.heading_on = on;
        if !on {
            f.primed = false;
        } else if !f.primed {
            f.primed = true;
            f.warm_up_left = if latency > 0 { 2 * latency + 16 } else { 0 };
            start.reset_unit = true;
        }
        start
    }

    /// Puts the switch on or off at once, keeping the delay's contents.
    pub(super) fn jump(&mut self, on: bool) {
        match &mut self.law {
            Law::CrossFade(s) => {
                *s = if on {
                    SwitchState::On
                } else {
                    SwitchState::Off
                }
            }
            Law::FadeSwap(f) => f.share = if on { 1.0 } else { 0.0 },
        }
    }

    fn jumped(mut self, on: bool) -> Self {
        self.jump(on);
        self
    }

    /// Clears the delay and puts the switch on or off at once.
    pub(super) fn reset(&mut self, on: bool) {
        self.delay.reset();
        self.jump(on);
    }

    /// Runs the bypass delay over a stereo run (nothing to do for a zero latency, unless the
    /// history is always kept).
    pub(super) fn delay(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.delay.delay_samples() > 0 || self.history == History::Always {
            self.delay.process_block(0, left);
            self.delay.process_block(1, right);
        }
    }

    /// Records a run the unit alone is heard for, as the history policy asks.
    fn record(&mut self, left: &[f32], right: &[f32]) {
        let records = match self.history {
            History::WhenHeard => false,
            History::WhileDelayed => self.delay.delay_samples() > 0,
            History::Always => true,
        };
        if records {
            self.delay.push_block(0, left);
            self.delay.push_block(1, right);
        }
    }

    /// Runs both paths: the unit in place over `left`/`right`, the delay over a copy in
    /// `dry_left`/`dry_right`.
    fn run_both(
        &mut self,
        (left, right): (&mut [f32], &mut [f32]),
        (dry_left, dry_right): (&mut [f32], &mut [f32]),
        run_unit: impl FnOnce(&mut [f32], &mut [f32]),
    ) {
        dry_left.copy_from_slice(left);
        dry_right.copy_from_slice(right);
        self.delay(dry_left, dry_right);
        run_unit(left, right);
    }

    /// One retap run: the delay records at its new latency while the output cross-fades from
    /// the tap `from` samples back to the new one.
    fn retap_run(&mut self, left: &mut [f32], right: &mut [f32], from: usize, done: usize) {
        let inv = 1.0 / self.fade_samples as f32;
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let w = (done + i + 1) as f32 * inv;
            for (ch, x) in [l, r].into_iter().enumerate() {
                let new = self.delay.process_sample(ch, *x);
                let old = self.delay.tap(ch, from);
                *x = blend(old, new, w);
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
            let unit = |l: &mut [f32], r: &mut [f32]| run_unit(n, l, r);
            match self.law {
                Law::FadeSwap(f) => self.fade_swap_run((l, r), (sl, sr), f, unit),
                Law::CrossFade(state) => self.cross_fade_run((l, r), (sl, sr), state, unit),
            }
            n += run;
        }
    }

    /// One cross-fade-law run within one state step.
    fn cross_fade_run(
        &mut self,
        (l, r): (&mut [f32], &mut [f32]),
        (sl, sr): (&mut [f32], &mut [f32]),
        state: SwitchState,
        run_unit: impl FnOnce(&mut [f32], &mut [f32]),
    ) {
        let run = l.len();
        let next = match state {
            SwitchState::Off => {
                self.delay(l, r);
                state
            }
            SwitchState::On => {
                self.record(l, r);
                run_unit(l, r);
                state
            }
            SwitchState::Retap { from, done } => {
                self.retap_run(l, r, from, done);
                let done = done + run;
                if done >= self.fade_samples {
                    SwitchState::Off
                } else {
                    SwitchState::Retap { from, done }
                }
            }
            SwitchState::WarmUp(left_samples) | SwitchState::Cooling(left_samples) => {
                let warming = matches!(state, SwitchState::WarmUp(_));
                self.run_both((&mut *l, &mut *r), (&mut *sl, &mut *sr), run_unit);
                if warming {
                    l.copy_from_slice(sl);
                    r.copy_from_slice(sr);
                }
                let left_samples = left_samples.saturating_sub(run);
                match (warming, left_samples == 0) {
                    (true, true) => SwitchState::FadeIn(0),
                    (true, false) => SwitchState::WarmUp(left_samples),
                    (false, true) => SwitchState::FadeOut(0),
                    (false, false) => SwitchState::Cooling(left_samples),
                }
            }
            SwitchState::FadeIn(done) | SwitchState::FadeOut(done) => {
                let fading_in = matches!(state, SwitchState::FadeIn(_));
                self.run_both((&mut *l, &mut *r), (&mut *sl, &mut *sr), run_unit);
                let inv = 1.0 / self.fade_samples as f32;
                for i in 0..run {
                    // Past the fade's end (a fade turned round before it began) it is complete.
                    let t = ((done + i + 1) as f32 * inv).min(1.0);
                    let w = if fading_in { t } else { 1.0 - t };
                    l[i] = blend(sl[i], l[i], w);
                    r[i] = blend(sr[i], r[i], w);
                }
                let done = done + run;
                match (fading_in, done >= self.fade_samples) {
                    (true, true) => SwitchState::On,
                    (false, true) => SwitchState::Off,
                    (true, false) => SwitchState::FadeIn(done),
                    (false, false) => SwitchState::FadeOut(done),
                }
            }
        };
        self.law = Law::CrossFade(next);
    }

    /// One fade-swap-law run: the delay alone while silent and heading off, the unit alone
    /// while fully heard and heading on, else both with the share stepping per sample (held
    /// at zero while the unit warms up).
    fn fade_swap_run(
        &mut self,
        (l, r): (&mut [f32], &mut [f32]),
        (sl, sr): (&mut [f32], &mut [f32]),
        mut f: ShareFade,
        run_unit: impl FnOnce(&mut [f32], &mut [f32]),
    ) {
        if f.share == 0.0 && !f.heading_on {
            self.delay(l, r);
            return;
        }
        if f.share == 1.0 && f.heading_on {
            self.record(l, r);
            run_unit(l, r);
            return;
        }
        self.run_both((&mut *l, &mut *r), (&mut *sl, &mut *sr), run_unit);
        let target = if f.heading_on { 1.0 } else { 0.0 };
        for i in 0..l.len() {
            if f.warm_up_left > 0 {
                f.warm_up_left -= 1;
            } else if target > f.share {
                f.share = (f.share + f.step).min(1.0);
            } else if target < f.share {
                f.share = (f.share - f.step).max(0.0);
            }
            // At share 1 the unit's samples stand as they are, as in a run that starts fully
            // heard (a blend at weight 1 can round them by an ulp).
            if f.share < 1.0 {
                l[i] = blend(sl[i], l[i], f.share);
                r[i] = blend(sr[i], r[i], f.share);
            }
        }
        self.law = Law::FadeSwap(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `switch` over `input` (both channels alike) in runs of `run` samples, the unit
    /// tripling its input; returns the left output.
    fn render(switch: &mut SectionSwitch, input: &[f32], run: usize) -> Vec<f32> {
        let mut scratch = [vec![0.0; run], vec![0.0; run]];
        let mut out = Vec::new();
        for chunk in input.chunks(run) {
            let (mut l, mut r) = (chunk.to_vec(), chunk.to_vec());
            switch.process(&mut l, &mut r, &mut scratch, |_, l, r| {
                for x in l.iter_mut().chain(r.iter_mut()) {
                    *x *= 3.0;
                }
            });
            assert_eq!(l, r);
            out.extend_from_slice(&l);
        }
        out
    }

    /// The fade-swap law wakes a unit from bypass with a reset, keeps it unheard for twice
    /// the latency plus 16 samples, then raises its share by 1/fade per sample: the output is
    /// the delayed input blended toward the unit's by that share, sample for sample.
    #[test]
    fn fade_swap_warms_up_then_fades_in_by_one_step_per_sample() {
        let (latency, fade) = (4, 8.0);
        let mut switch = SectionSwitch::fade_swap(16);
        switch.set_latency(latency);
        switch.set_fade_samples(fade);
        assert!(switch.is_off() && !switch.is_heard());
        let start = switch.begin_run(true, false);
        assert_eq!(
            start,
            RunStart {
                swap_unit: false,
                reset_unit: true
            }
        );
        // One run ending where the share reaches 1.
        let input = vec![1.0f32; 32];
        let out = render(&mut switch, &input, 32);
        let warm_up = 2 * latency + 16;
        let mut share = 0.0f32;
        for (n, &y) in out.iter().enumerate() {
            if n >= warm_up {
                share = (share + 1.0 / fade).min(1.0);
            }
            let dry = if n >= latency { 1.0 } else { 0.0 };
            assert_eq!(y, dry + share * (3.0 - dry), "sample {n}");
        }
        assert!(switch.is_heard());
        // Fully on: the unit alone, and a second wake-up needs no reset.
        assert_eq!(switch.begin_run(true, false), RunStart::default());
        assert_eq!(render(&mut switch, &input, 16), vec![3.0; 32]);
    }

    /// A fade-in that reaches share 1 in the middle of a long run stays at 1 for the rest of
    /// the run: from there on the output is the unit's alone, bit for bit what runs of one
    /// sample give (they take the unit-alone path once the share is 1). Before the fix the
    /// share stepped back by one step on alternate samples until the run ended, leaking the
    /// delayed path at about -54 dB for a 480-sample fade.
    #[test]
    fn fade_swap_fade_in_completing_mid_run_stays_on() {
        let (latency, fade) = (4, 8.0);
        let make = || {
            let mut switch = SectionSwitch::fade_swap(16);
            switch.set_latency(latency);
            switch.set_fade_samples(fade);
            switch.begin_run(true, false);
            switch
        };
        // Unequal samples, so a blend at weight 1 or below would show in the bits.
        let input: Vec<f32> = (0..96).map(|n| 0.1 + 0.013 * n as f32).collect();
        let (mut long, mut single) = (make(), make());
        let out_long = render(&mut long, &input, input.len());
        let out_single = render(&mut single, &input, 1);
        // Warm-up (2 * latency + 16 samples at share 0), then the 8th step reaches 1.
        let done = 2 * latency + 16 + fade as usize - 1;
        assert!(done < input.len() / 2, "completes mid-run");
        for n in done..input.len() {
            assert_eq!(
                out_long[n],
                input[n] * 3.0,
                "sample {n}: unit alone after the fade"
            );
        }
        assert_eq!(out_long, out_single, "one long run = runs of one sample");
        let Law::FadeSwap(f) = long.law else {
            panic!("fade-swap law")
        };
        assert_eq!(f.share, 1.0);
    }

    /// A swap requested while the unit is heard fades it out first; the swap (and the reset
    /// of the new unit) comes at the first run that starts silent, never while heard.
    #[test]
    fn fade_swap_swaps_only_while_silent() {
        let mut switch = SectionSwitch::fade_swap(0);
        switch.set_fade_samples(8.0);
        switch.jump(true);
        let input = vec![1.0f32; 4];
        let mut runs = 0;
        loop {
            let start = switch.begin_run(true, true);
            if start.swap_unit {
                assert!(start.reset_unit);
                assert!(!switch.is_heard());
                break;
            }
            assert_eq!(start, RunStart::default());
            assert!(switch.is_heard());
            render(&mut switch, &input, 4);
            runs += 1;
        }
        // 8 samples of fade-out in runs of 4: the second run ends silent.
        assert_eq!(runs, 2);
    }

    /// The cross-fade law: warm-up with the delay heard, then a linear cross-fade over exactly
    /// `fade_samples`, then the unit alone.
    #[test]
    fn cross_fade_warms_up_then_fades_linearly() {
        let (latency, fade, warm_up) = (3, 5, 7);
        let mut switch = SectionSwitch::new(8, fade, false);
        switch.set_latency(latency);
        assert!(switch.set_enabled(true, warm_up));
        let input = vec![1.0f32; 32];
        let out = render(&mut switch, &input, 32);
        for (n, &y) in out.iter().enumerate() {
            let dry = if n >= latency { 1.0 } else { 0.0 };
            let want = if n < warm_up {
                dry
            } else if n < warm_up + fade {
                let w = (n - warm_up + 1) as f32 * (1.0 / fade as f32);
                dry + w * (3.0 - dry)
            } else {
                3.0
            };
            assert_eq!(y, want, "sample {n}");
        }
    }

    /// On, warmed up, then off before the fade-in's first sample: the fade-out starts
    /// complete. Its next step is still at least one sample away (a zero-length run would
    /// never end it), one sample ends it, and that sample is the bypass path (the delayed
    /// input) exactly, not an overshooting blend.
    #[test]
    fn a_fade_turned_round_before_it_began_ends_in_one_sample() {
        let (latency, fade, warm_up) = (2, 6, 3);
        let mut switch = SectionSwitch::new(8, fade, false);
        switch.set_latency(latency);
        assert!(switch.set_enabled(true, warm_up));
        let input = vec![1.0f32; 16];
        render(&mut switch, &input[..warm_up], warm_up);
        // Fading in, nothing of it done yet: turned off.
        switch.set_enabled(false, warm_up);
        assert_eq!(switch.samples_to_next_step(), Some(1));
        let out = render(&mut switch, &input[..1], 1);
        assert_eq!(out, [1.0]);
        assert_eq!(switch.samples_to_next_step(), None);
        assert!(switch.is_off());
        // And the other way round: off, then on again before the fade-out began.
        assert!(switch.set_enabled(true, warm_up));
        render(&mut switch, &input[..warm_up], warm_up);
        render(&mut switch, &input[..fade], fade);
        // Off: it cools down for its latency, then would fade out; on again at that moment.
        switch.set_enabled(false, warm_up);
        render(&mut switch, &input[..latency], latency);
        switch.set_enabled(true, warm_up);
        assert_eq!(switch.samples_to_next_step(), Some(1));
        assert_eq!(render(&mut switch, &input[..1], 1), [3.0]);
    }
}
