//! The Stem Channel chain: input trim, EQ, dynamics, mid/side, saturation, output gain and
//! gain match, in that order, with the starting points of the stem-mastering guide
//! (`shared/reference/stem-mastering-guide.txt`, "Drums/Bass/Synth/Vocal/FX Stem Processing")
//! for each stem type.
//!
//! Units: [`ParametricEq`] (Vicanek-matched Simper SVFs), [`Compressor`] /
//! [`MultibandCompressor`] (Giannoulis, Massberg & Reiss, JAES 2012), [`StereoTool`] (Blumlein
//! M/S), [`Saturation`] (oversampled), [`GainMatch`] (ITU-R BS.1770-5 K-weighting).
//!
//! Latency is constant: each section with latency has a bypass path that is a delay of the
//! section's latency, always fed so a toggle can cross-fade ([`SECTION_FADE_MS`]) between two
//! aligned signals. The saturation section has the latency of its chosen oversampling factor
//! whether it is on or off, and the dynamics section the larger lookahead of its two modes, so
//! neither bypass nor the dynamics mode moves the output in time. Only the oversampling factor
//! and the lookahead change [`ChannelChain::latency_samples`] (so a chain that does not
//! oversample has no latency at all); a plugin reports such a change to the host. Changes that
//! swap a unit (dynamics mode, oversampling factor) fade the section out, switch, and fade it
//! back in.
//!
//! Gain match compensates everything from the input trim to the saturation; the output gain
//! comes after it, so it stays the user's deliberate level change.
//!
//! Settings apply from the next sample and are smoothed here, so the plugin hands over plain
//! parameter targets and the command-line tool renders automation identically: trim and
//! output gain ramp linearly in dB over [`GAIN_RAMP_MS`](super::ramp::GAIN_RAMP_MS), the other continuous settings
//! approach their targets every [`CONTROL_STEP_SAMPLES`](super::CONTROL_STEP_SAMPLES) samples ([`SETTINGS_SMOOTHING_MS`]), EQ
//! bands are smoothed by the EQ itself; section toggles cross-fade. After
//! [`ChannelChain::new`], [`ChannelChain::reset`] or [`ChannelChain::set_sample_rate`] the first
//! [`ChannelChain::set_settings`] applies at once, without fades or smoothing, so an offline
//! render starts exactly on its settings. Any partition of the input into blocks gives the
//! same output, with settings changed at the same samples; the one exception is the moment a
//! unit swap (dynamics mode, oversampling factor) fades its section back in, which starts at
//! the first block boundary after the fade-out ends.

use super::gain_match::GainMatch;
use super::ramp::{gain_ramp_samples, GainRamp, RampLaw};
use super::settings::{ChannelSettings, DynamicsMode, CHANNEL_EQ_BANDS};
pub use super::smoothing::SETTINGS_SMOOTHING_MS;
use super::smoothing::{geo, Glide, StepSmoother};
use crate::delay::DelayLine;
use crate::dynamics::compressor::MAX_LOOKAHEAD_MS;
use crate::dynamics::multiband::MAX_BANDS as MULTIBAND_MAX_BANDS;
use crate::dynamics::{Compressor, MultibandCompressor};
use crate::eq::ParametricEq;
use crate::oversampling::Oversampler;
use crate::saturation::{Saturation, SaturationSettings};
use crate::stereo::StereoTool;
use crate::util::{gain_to_db, sanitize};

/// Cross-fade time of a section toggle, in ms.
pub const SECTION_FADE_MS: f32 = 10.0;
/// Largest trim and output gain either way, in dB.
const MAX_GAIN_DB: f32 = 48.0;
/// Highest sample rate the chain sizes its delays for, in Hz.
pub const MAX_SAMPLE_RATE_HZ: f32 = 384_000.0;

/// Meter readings (see [`ChannelChain::meters`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChannelMeters {
    /// Sample peak after the input trim, in dBFS.
    pub input_peak_dbfs: f32,
    /// Sample peak of the output, in dBFS.
    pub output_peak_dbfs: f32,
    /// Largest compressor gain reduction during the block (single mode), in dB (>= 0).
    pub compressor_gr_db: f32,
    /// Gain reduction per multiband band (multiband mode), in dB (>= 0).
    pub multiband_gr_db: [f32; MULTIBAND_MAX_BANDS],
    /// Momentary gain change of each dynamic EQ band, in dB.
    pub eq_dynamic_gain_db: [f32; CHANNEL_EQ_BANDS],
    /// Gain the gain match applies, in dB.
    pub gain_match_db: f32,
    /// Loudness change from input to output, in LU (see [`ChannelChain::net_loudness_change_lu`]).
    pub net_loudness_change_lu: f32,
}

/// Bypass cross-fade state of one section.
#[derive(Clone, Copy, Debug)]
struct Fade {
    /// Wet share, 0..1.
    gain: f32,
    step: f32,
    /// The unit has been reset for a fade-in from bypass.
    primed: bool,
    /// Samples the unit still runs at zero share after a reset, so its delay lines and filters
    /// hold real signal before it is heard.
    warmup: usize,
}

impl Fade {
    fn new() -> Self {
        Self {
            gain: 0.0,
            step: 1.0,
            primed: false,
            warmup: 0,
        }
    }
}

/// How a section runs over one chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Run {
    /// Only the bypass delay.
    Bypassed,
    /// Only the unit.
    Full,
    /// Both, cross-faded.
    Fading,
}

/// One smoothing step of every continuous setting outside the EQ (which smooths its bands
/// itself) and the trim/output gains (ramped per sample): level and mix settings linearly,
/// frequencies, times and ratios geometrically. Switches, modes and the lookahead take the
/// target at once. Returns whether anything is still moving.
fn approach_settings(c: &mut ChannelSettings, t: &ChannelSettings, a: f32) -> bool {
    let mut m = false;
    let mut next = t.clone();
    next.compressor = c.compressor.glide(&t.compressor, a, &mut m);
    for i in 0..next.multiband.crossover_hz.len() {
        next.multiband.crossover_hz[i] = geo(
            c.multiband.crossover_hz[i],
            t.multiband.crossover_hz[i],
            a,
            &mut m,
        );
    }
    for i in 0..next.multiband.bands.len() {
        next.multiband.bands[i] = c.multiband.bands[i].glide(&t.multiband.bands[i], a, &mut m);
    }
    next.stereo = c.stereo.glide(&t.stereo, a, &mut m);
    next.saturation = c.saturation.glide(&t.saturation, a, &mut m);
    *c = next;
    m
}

/// The Stem Channel processing chain for one stereo stem.
#[derive(Clone, Debug)]
pub struct ChannelChain {
    settings: ChannelSettings,
    sample_rate_hz: f64,
    /// The next `set_settings` jumps instead of fading.
    fresh: bool,

    trim: GainRamp,
    output: GainRamp,
    /// The settings the units run with: `settings` approached step by step.
    current: ChannelSettings,
    /// When `current` takes its next step toward `settings`.
    smoother: StepSmoother,

    eq: ParametricEq,
    eq_fade: Fade,
    eq_bypass: DelayLine,

    compressor: Compressor,
    multiband: MultibandCompressor,
    /// Mode the dynamics section runs now (switches while faded out).
    dynamics_mode: DynamicsMode,
    dynamics_fade: Fade,
    dynamics_bypass: DelayLine,
    /// Pads the running mode up to the section latency.
    dynamics_pad: DelayLine,
    dynamics_latency: usize,

    stereo: StereoTool,
    stereo_fade: Fade,
    stereo_bypass: DelayLine,

    saturation: Saturation,
    /// Oversampling factor the saturation runs now (switches while faded out).
    saturation_factor: usize,
    saturation_fade: Fade,
    saturation_bypass: DelayLine,
    saturation_pad: DelayLine,
    saturation_latency: usize,
    /// Latency of the saturation at 1x, 2x, 4x.
    saturation_latencies: [usize; 3],

    gain_match: GainMatch,

    chunk: usize,
    dry_left: Vec<f32>,
    dry_right: Vec<f32>,
    /// The chunk's input, interleaved, kept for the gain match.
    match_input: Vec<f32>,

    input_peak: f32,
    output_peak: f32,
    compressor_gr_db: f32,
}

/// Lookahead in samples exactly as [`Compressor`] rounds it.
fn lookahead_samples(lookahead_ms: f32, sample_rate_hz: f32) -> usize {
    let ms = if lookahead_ms.is_finite() {
        lookahead_ms.clamp(0.0, MAX_LOOKAHEAD_MS)
    } else {
        0.0
    };
    (ms * 1e-3 * sample_rate_hz).round() as usize
}

impl ChannelChain {
    /// Allocates a chain processing up to `max_block` samples per internal pass (longer calls
    /// are split; any length is accepted) at `sample_rate_hz`, with default settings.
    pub fn new(max_block: usize, sample_rate_hz: f64) -> Self {
        let chunk = max_block.clamp(64, 8192);
        let max_lookahead = lookahead_samples(MAX_LOOKAHEAD_MS, MAX_SAMPLE_RATE_HZ) + 1;
        let settings = ChannelSettings::default();
        let saturation_latencies = [1, 2, 4].map(|factor| {
            Saturation::new(
                1,
                SaturationSettings {
                    oversampling: factor,
                    ..SaturationSettings::default()
                },
            )
            .latency_samples()
        });
        let sat_max = saturation_latencies[2];
        let mut chain = Self {
            sample_rate_hz,
            fresh: true,
            trim: GainRamp::new(RampLaw::Db, 1, MAX_GAIN_DB),
            output: GainRamp::new(RampLaw::Db, 1, MAX_GAIN_DB),
            current: settings.clone(),
            smoother: StepSmoother::default(),
            eq: ParametricEq::new(sample_rate_hz),
            eq_fade: Fade::new(),
            eq_bypass: DelayLine::new(2, 0),
            compressor: Compressor::new(2, MAX_SAMPLE_RATE_HZ),
            multiband: MultibandCompressor::new(2, MAX_SAMPLE_RATE_HZ),
            dynamics_mode: settings.dynamics_mode,
            dynamics_fade: Fade::new(),
            dynamics_bypass: DelayLine::new(2, max_lookahead),
            dynamics_pad: DelayLine::new(2, max_lookahead),
            dynamics_latency: 0,
            stereo: StereoTool::new(),
            stereo_fade: Fade::new(),
            stereo_bypass: DelayLine::new(2, 0),
            saturation: Saturation::new(2, settings.saturation),
            saturation_factor: settings.saturation.oversampling,
            saturation_fade: Fade::new(),
            saturation_bypass: DelayLine::new(2, sat_max),
            saturation_pad: DelayLine::new(2, sat_max),
            saturation_latency: 0,
            saturation_latencies,
            gain_match: GainMatch::new(sample_rate_hz),
            chunk,
            dry_left: vec![0.0; chunk],
            dry_right: vec![0.0; chunk],
            match_input: vec![0.0; 2 * chunk],
            input_peak: 0.0,
            output_peak: 0.0,
            compressor_gr_db: 0.0,
            settings,
        };
        chain.set_sample_rate(sample_rate_hz);
        chain
    }

    /// Sets the sample rate (re-derives every unit; call from `activate()`), resets, and makes
    /// the next [`Self::set_settings`] apply at once.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        let sr = if sample_rate_hz.is_finite() && sample_rate_hz > 0.0 {
            sample_rate_hz.min(MAX_SAMPLE_RATE_HZ as f64)
        } else {
            48_000.0
        };
        self.sample_rate_hz = sr;
        self.eq.set_sample_rate(sr);
        self.compressor.set_sample_rate(sr);
        self.multiband.set_sample_rate(sr);
        self.stereo.set_sample_rate(sr);
        self.saturation.set_sample_rate(sr);
        self.gain_match.set_sample_rate(sr);
        let ramp = gain_ramp_samples(sr);
        self.trim.set_ramp_samples(ramp);
        self.output.set_ramp_samples(ramp);
        self.smoother.set_sample_rate(sr);
        let step = 1.0 / (SECTION_FADE_MS * 1e-3 * sr as f32).max(1.0);
        for f in [
            &mut self.eq_fade,
            &mut self.dynamics_fade,
            &mut self.stereo_fade,
            &mut self.saturation_fade,
        ] {
            f.step = step;
        }
        let settings = self.settings.clone();
        self.apply_settings(&settings);
        self.reset();
    }

    /// The sample rate in Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// The settings as last set.
    pub fn settings(&self) -> &ChannelSettings {
        &self.settings
    }

    /// Records new settings (never allocates). They act from the next processed sample; after
    /// a reset they apply at once.
    pub fn set_settings(&mut self, settings: &ChannelSettings) {
        if *settings != self.settings {
            self.settings.clone_from(settings);
            self.apply_settings(settings);
        }
        if self.fresh {
            self.jump_to_settings();
        }
    }

    fn apply_settings(&mut self, s: &ChannelSettings) {
        for (i, b) in s.eq_bands.iter().enumerate() {
            self.eq.set_band(i, *b);
        }
        self.smoother.retarget();
        self.gain_match.set_enabled(s.gain_match);
        self.trim.set_target_db(s.input_trim_db);
        self.output.set_target_db(s.output_gain_db);
        let sr = self.sample_rate_hz as f32;
        let latency = lookahead_samples(s.compressor.lookahead_ms, sr)
            .max(lookahead_samples(s.multiband.lookahead_ms, sr));
        self.dynamics_latency = latency;
        self.dynamics_bypass.set_delay_samples(latency);
        self.update_dynamics_pad();
        self.saturation_latency = self.latency_samples_for(s) - latency;
        self.saturation_bypass
            .set_delay_samples(self.saturation_latency);
        self.update_saturation_pad();
    }

    /// Hands the smoothed settings to the units (they ignore unchanged settings).
    fn apply_current(&mut self) {
        let c = &self.current;
        self.compressor.set_settings(c.compressor);
        self.multiband.set_settings(c.multiband);
        self.stereo.set_settings(c.stereo);
        // The oversampling factor is switched while the section is faded out.
        self.saturation.set_settings(SaturationSettings {
            oversampling: self.saturation_factor,
            ..c.saturation
        });
    }

    fn update_dynamics_pad(&mut self) {
        let sr = self.sample_rate_hz as f32;
        let running = match self.dynamics_mode {
            DynamicsMode::Single => lookahead_samples(self.settings.compressor.lookahead_ms, sr),
            DynamicsMode::Multiband => lookahead_samples(self.settings.multiband.lookahead_ms, sr),
        };
        self.dynamics_pad
            .set_delay_samples(self.dynamics_latency.saturating_sub(running));
    }

    fn update_saturation_pad(&mut self) {
        self.saturation_pad.set_delay_samples(
            self.saturation_latency
                .saturating_sub(self.saturation.latency_samples()),
        );
    }

    /// Puts every smoother, fade and structural choice straight onto the current settings.
    fn jump_to_settings(&mut self) {
        self.fresh = false;
        let s = &self.settings;
        for (i, b) in s.eq_bands.iter().enumerate() {
            self.eq.set_band_immediately(i, *b);
        }
        self.dynamics_mode = s.dynamics_mode;
        self.saturation_factor = Oversampler::valid_factor(s.saturation.oversampling);
        self.saturation
            .set_oversampling(Oversampler::valid_factor(s.saturation.oversampling));
        self.eq_fade.gain = on(s.eq_enabled);
        self.dynamics_fade.gain = on(s.compressor_enabled);
        self.stereo_fade.gain = on(s.stereo_enabled);
        self.saturation_fade.gain = on(s.saturation_enabled);
        self.current.clone_from(&self.settings);
        self.apply_current();
        self.smoother.jump();
        self.trim.jump();
        self.output.jump();
        self.update_dynamics_pad();
        self.update_saturation_pad();
    }

    /// Total latency in samples: dynamics lookahead plus the latency of the saturation's
    /// oversampling factor; the same whichever sections are on.
    pub fn latency_samples(&self) -> usize {
        self.dynamics_latency + self.saturation_latency
    }

    /// The latency `settings` would give at the current sample rate.
    pub fn latency_samples_for(&self, settings: &ChannelSettings) -> usize {
        let sr = self.sample_rate_hz as f32;
        let dynamics = lookahead_samples(settings.compressor.lookahead_ms, sr)
            .max(lookahead_samples(settings.multiband.lookahead_ms, sr));
        let saturation = match Oversampler::valid_factor(settings.saturation.oversampling) {
            1 => self.saturation_latencies[0],
            2 => self.saturation_latencies[1],
            _ => self.saturation_latencies[2],
        };
        dynamics + saturation
    }

    /// The most latency any settings can give at the current sample rate (largest lookahead
    /// plus 4x oversampling), for sizing a host's or plugin's dry-path delay.
    pub fn max_latency_samples(&self) -> usize {
        lookahead_samples(MAX_LOOKAHEAD_MS, self.sample_rate_hz as f32)
            + self.saturation_latencies[2]
    }

    /// Clears all state (never allocates); the next [`Self::set_settings`] applies at once.
    pub fn reset(&mut self) {
        self.eq.reset();
        self.compressor.reset();
        self.multiband.reset();
        self.stereo.reset();
        self.saturation.reset();
        self.gain_match.reset();
        for d in [
            &mut self.eq_bypass,
            &mut self.dynamics_bypass,
            &mut self.dynamics_pad,
            &mut self.stereo_bypass,
            &mut self.saturation_bypass,
            &mut self.saturation_pad,
        ] {
            d.reset();
        }
        self.input_peak = 0.0;
        self.output_peak = 0.0;
        self.compressor_gr_db = 0.0;
        self.fresh = true;
        self.jump_to_settings();
        // Stay fresh: settings given right after a reset still jump.
        self.fresh = true;
    }

    /// Processes a stereo block in place (any length; `left` and `right` of equal length, the
    /// shorter length is used). Never allocates.
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        self.fresh = false;
        let mut start = 0;
        while start < len {
            let end = (start + self.chunk).min(len);
            self.process_chunk(&mut left[start..end], &mut right[start..end]);
            start = end;
        }
    }

    fn process_chunk(&mut self, left: &mut [f32], right: &mut [f32]) {
        let m = left.len();
        sanitize(left);
        sanitize(right);
        self.gain_match
            .measure_input(left, right, &mut self.match_input[..2 * m]);
        self.trim.apply(left, right);
        self.input_peak = self.input_peak.max(peak(left)).max(peak(right));

        let mut pos = 0;
        while pos < m {
            if let Some(a) = self.smoother.step_due() {
                let moving = approach_settings(&mut self.current, &self.settings, a);
                self.smoother.set_moving(moving);
                self.apply_current();
            }
            // While settings move (or new ones wait for the next step boundary), run up to the
            // boundary; otherwise nothing can change before the end of this call.
            let run = self.smoother.run_samples(m - pos);
            let (l, r) = (&mut left[pos..pos + run], &mut right[pos..pos + run]);
            self.run_section(Section::Eq, l, r);
            self.run_section(Section::Dynamics, l, r);
            self.run_section(Section::Stereo, l, r);
            self.run_section(Section::Saturation, l, r);
            self.smoother.advance(run);
            pos += run;
        }

        self.gain_match
            .process(left, right, &self.match_input[..2 * m]);
        self.output.apply(left, right);
        self.output_peak = self.output_peak.max(peak(left)).max(peak(right));
    }

    /// Whether `section` should be on, and whether its unit must be swapped first (which
    /// happens while it is faded out).
    fn wanted(&self, section: Section) -> (bool, bool) {
        let s = &self.settings;
        match section {
            Section::Eq => (s.eq_enabled, false),
            Section::Dynamics => (s.compressor_enabled, s.dynamics_mode != self.dynamics_mode),
            Section::Stereo => (s.stereo_enabled, false),
            Section::Saturation => (
                s.saturation_enabled,
                Oversampler::valid_factor(s.saturation.oversampling) != self.saturation_factor,
            ),
        }
    }

    fn parts(&mut self, section: Section) -> (&mut Fade, &mut DelayLine) {
        match section {
            Section::Eq => (&mut self.eq_fade, &mut self.eq_bypass),
            Section::Dynamics => (&mut self.dynamics_fade, &mut self.dynamics_bypass),
            Section::Stereo => (&mut self.stereo_fade, &mut self.stereo_bypass),
            Section::Saturation => (&mut self.saturation_fade, &mut self.saturation_bypass),
        }
    }

    /// Decides how `section` runs over this chunk; swaps its unit or resets it when it starts
    /// from silence.
    fn begin(&mut self, section: Section) -> Run {
        let (want, swap) = self.wanted(section);
        let gain = self.parts(section).0.gain;
        if gain == 0.0 {
            if swap {
                self.parts(section).0.primed = false;
                match section {
                    Section::Dynamics => {
                        self.dynamics_mode = self.settings.dynamics_mode;
                        self.update_dynamics_pad();
                    }
                    Section::Saturation => {
                        let f = Oversampler::valid_factor(self.settings.saturation.oversampling);
                        self.saturation_factor = f;
                        self.saturation.set_oversampling(f);
                        self.update_saturation_pad();
                    }
                    _ => {}
                }
            }
            if !want {
                self.parts(section).0.primed = false;
                return Run::Bypassed;
            }
            if self.parts(section).0.primed {
                return Run::Fading;
            }
            // Starting from bypass: the unit's state is stale; reset it and let it run unheard
            // for twice its latency (its longest internal history) before fading in.
            let (fade, bypass) = self.parts(section);
            fade.primed = true;
            fade.warmup = if bypass.delay_samples() > 0 {
                2 * bypass.delay_samples() + 16
            } else {
                0
            };
            match section {
                Section::Eq => self.eq.reset(),
                Section::Dynamics => {
                    self.compressor.reset();
                    self.multiband.reset();
                    self.dynamics_pad.reset();
                }
                Section::Stereo => self.stereo.reset(),
                Section::Saturation => {
                    self.saturation.reset();
                    self.saturation_pad.reset();
                }
            }
            return Run::Fading;
        }
        if gain == 1.0 && want && !swap {
            Run::Full
        } else {
            Run::Fading
        }
    }

    /// Runs `section` over one chunk: its unit (unless bypassed) and its bypass delay, which is
    /// fed the section's input whenever it has latency, so it is current when a fade starts.
    fn run_section(&mut self, section: Section, left: &mut [f32], right: &mut [f32]) {
        let m = left.len();
        let run = self.begin(section);
        let has_latency = self.parts(section).1.delay_samples() > 0;
        if run == Run::Bypassed {
            if has_latency {
                let bypass = self.parts(section).1;
                bypass.process_block(0, left);
                bypass.process_block(1, right);
            }
            return;
        }
        // A fully running section only needs its bypass history kept current: record the
        // input without copying it or reading the delayed output.
        if run == Run::Full && has_latency {
            let bypass = self.parts(section).1;
            bypass.push_block(0, left);
            bypass.push_block(1, right);
        }
        let keep_dry = run == Run::Fading;
        if keep_dry {
            self.dry_left[..m].copy_from_slice(left);
            self.dry_right[..m].copy_from_slice(right);
        }
        match section {
            Section::Eq => self.eq.process_block(left, right),
            Section::Dynamics => {
                match self.dynamics_mode {
                    DynamicsMode::Single => {
                        self.compressor
                            .process_block(&mut [&mut *left, &mut *right]);
                        self.compressor_gr_db = self
                            .compressor_gr_db
                            .max(self.compressor.block_max_gain_reduction_db());
                    }
                    DynamicsMode::Multiband => {
                        self.multiband.process_block(&mut [&mut *left, &mut *right]);
                    }
                }
                if self.dynamics_pad.delay_samples() > 0 {
                    self.dynamics_pad.process_block(0, left);
                    self.dynamics_pad.process_block(1, right);
                }
            }
            Section::Stereo => self.stereo.process_block(left, right),
            Section::Saturation => {
                self.saturation
                    .process_block(&mut [&mut *left, &mut *right]);
                if self.saturation_pad.delay_samples() > 0 {
                    self.saturation_pad.process_block(0, left);
                    self.saturation_pad.process_block(1, right);
                }
            }
        }
        if !keep_dry {
            return;
        }
        let (want, swap) = self.wanted(section);
        let target = if want && !swap { 1.0 } else { 0.0 };
        let (dl, dr) = (&mut self.dry_left[..m], &mut self.dry_right[..m]);
        let (fade, bypass) = match section {
            Section::Eq => (&mut self.eq_fade, &mut self.eq_bypass),
            Section::Dynamics => (&mut self.dynamics_fade, &mut self.dynamics_bypass),
            Section::Stereo => (&mut self.stereo_fade, &mut self.stereo_bypass),
            Section::Saturation => (&mut self.saturation_fade, &mut self.saturation_bypass),
        };
        if has_latency {
            bypass.process_block(0, dl);
            bypass.process_block(1, dr);
        }
        if run == Run::Fading {
            let mut g = fade.gain;
            for i in 0..m {
                if fade.warmup > 0 {
                    fade.warmup -= 1;
                } else {
                    g = if target > g {
                        (g + fade.step).min(1.0)
                    } else {
                        (g - fade.step).max(0.0)
                    };
                }
                left[i] = dl[i] + g * (left[i] - dl[i]);
                right[i] = dr[i] + g * (right[i] - dr[i]);
            }
            fade.gain = g;
        }
    }

    /// Loudness change from input to output in LU (K-weighted, averaged over about 3 s):
    /// the processing's change, plus the gain match compensation, plus the output gain.
    pub fn net_loudness_change_lu(&self) -> f32 {
        self.gain_match.net_change_lu() + self.output.value()
    }

    /// Whether to keep measuring loudness for [`Self::net_loudness_change_lu`] while gain match
    /// is off (default on; a plugin turns it off while no editor shows it, which makes a chain
    /// without gain match cheaper). Never changes the audio.
    pub fn set_loudness_readout(&mut self, on: bool) {
        self.gain_match.set_readout(on);
    }

    /// Meter readings; peaks and compressor gain reduction are held since the last
    /// [`Self::take_meters`] (or reset).
    pub fn meters(&self) -> ChannelMeters {
        let mut m = ChannelMeters {
            input_peak_dbfs: gain_to_db(self.input_peak),
            output_peak_dbfs: gain_to_db(self.output_peak),
            compressor_gr_db: 0.0,
            multiband_gr_db: [0.0; MULTIBAND_MAX_BANDS],
            eq_dynamic_gain_db: [0.0; CHANNEL_EQ_BANDS],
            gain_match_db: self.gain_match.gain_db(),
            net_loudness_change_lu: self.net_loudness_change_lu(),
        };
        if self.dynamics_fade.gain > 0.0 {
            match self.dynamics_mode {
                DynamicsMode::Single => m.compressor_gr_db = self.compressor_gr_db,
                DynamicsMode::Multiband => {
                    for (b, gr) in m.multiband_gr_db.iter_mut().enumerate() {
                        *gr = self.multiband.band_gain_reduction_db(b);
                    }
                }
            }
        }
        if self.eq_fade.gain > 0.0 {
            for (b, g) in m.eq_dynamic_gain_db.iter_mut().enumerate() {
                *g = self.eq.dynamic_gain_db(b);
            }
        }
        m
    }

    /// Meter readings as [`Self::meters`], then clears the held peaks (a meter's display
    /// period ends).
    pub fn take_meters(&mut self) -> ChannelMeters {
        let m = self.meters();
        self.input_peak = 0.0;
        self.output_peak = 0.0;
        self.compressor_gr_db = 0.0;
        m
    }

    /// The EQ (for its response curve in editors).
    pub fn eq(&self) -> &ParametricEq {
        &self.eq
    }

    /// Correlation of the mid/side section's output, -1..+1 (+1 while the section is off).
    pub fn correlation(&self) -> f32 {
        if self.stereo_fade.gain > 0.0 {
            self.stereo.correlation()
        } else {
            1.0
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Section {
    Eq,
    Dynamics,
    Stereo,
    Saturation,
}

fn on(enabled: bool) -> f32 {
    if enabled {
        1.0
    } else {
        0.0
    }
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}
