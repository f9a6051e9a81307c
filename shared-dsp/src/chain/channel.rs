//! The Stem Channel chain: input trim, DC filter, EQ, dynamics, mid/side, saturation, peak
//! control, gain match and output gain, in that order, with the starting points of the stem-mastering guide
//! (`shared/reference/stem-mastering-guide.txt`, "Drums/Bass/Synth/Vocal/FX Stem Processing")
//! for each stem type.
//!
//! Units: [`DcFilter`] (10 Hz Butterworth high-pass), [`ParametricEq`] (Vicanek-matched Simper SVFs), [`Compressor`] /
//! [`MultibandCompressor`] (Giannoulis, Massberg & Reiss, JAES 2012), [`StereoTool`] (Blumlein
//! M/S), [`Saturation`] (oversampled), [`Clipper`] (peak control: the soft clipper the Stem
//! Master's clipper uses), [`GainMatch`] (ITU-R BS.1770-5 K-weighting).
//!
//! Latency is constant: each section with latency has a bypass path that is a delay of the
//! section's latency, always fed so a toggle can cross-fade ([`SECTION_FADE_MS`]) between two
//! aligned signals. The saturation section has the latency of its chosen oversampling factor
//! whether it is on or off, and the dynamics section the larger lookahead of its two modes, so
//! neither bypass nor the dynamics mode moves the output in time. Only the oversampling factor,
//! the lookahead and the peak control's switch change [`ChannelChain::latency_samples`] (so a
//! chain that does not oversample has no latency at all; the peak control's oversampler counts
//! only while it is on, so the transparent chain keeps none); a plugin reports such a change to
//! the host. Changes that
//! swap a unit (dynamics mode, oversampling factor) fade the section out, switch, and fade it
//! back in. Every section switches through the kit's one section switch
//! ([`section`](super::section), its fade-swap law); this file only says the order of the
//! sections and what swapping or waking each unit means.
//!
//! Gain match compensates everything from the input trim to the peak control; the output gain
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
use super::section::{RunStart, SectionSwitch};
use super::settings::{ChannelSettings, DynamicsMode, CHANNEL_EQ_BANDS};
pub use super::smoothing::SETTINGS_SMOOTHING_MS;
use super::smoothing::{geo, lin, Glide, StepSmoother};
use crate::delay::DelayLine;
use crate::dynamics::compressor::MAX_LOOKAHEAD_MS;
use crate::dynamics::multiband::MAX_BANDS as MULTIBAND_MAX_BANDS;
use crate::dynamics::{Clipper, Compressor, MultibandCompressor};
use crate::eq::ParametricEq;
use crate::filter::DcFilter;
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
    /// Largest peak reduction of the peak control during the period, in dB (>= 0; 0 while it
    /// is off).
    pub peak_control_reduction_db: f32,
    /// Gain the gain match applies, in dB.
    pub gain_match_db: f32,
    /// Loudness change from input to output, in LU (see [`ChannelChain::net_loudness_change_lu`]).
    pub net_loudness_change_lu: f32,
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
    next.peak_control_level_dbfs = lin(
        c.peak_control_level_dbfs,
        t.peak_control_level_dbfs,
        a,
        1e-3,
        &mut m,
    );
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

    dc_filter: DcFilter,
    dc_filter_switch: SectionSwitch,

    eq: ParametricEq,
    eq_switch: SectionSwitch,

    compressor: Compressor,
    multiband: MultibandCompressor,
    /// Mode the dynamics section runs now (switches while faded out).
    dynamics_mode: DynamicsMode,
    dynamics_switch: SectionSwitch,
    /// Pads the running mode up to the section latency.
    dynamics_pad: DelayLine,
    dynamics_latency: usize,

    stereo: StereoTool,
    stereo_switch: SectionSwitch,

    saturation: Saturation,
    /// Oversampling factor the saturation runs now (switches while faded out).
    saturation_factor: usize,
    saturation_switch: SectionSwitch,
    saturation_pad: DelayLine,
    saturation_latency: usize,
    /// Latency of the saturation at 1x, 2x, 4x.
    saturation_latencies: [usize; 3],

    peak_control: Clipper,
    peak_control_switch: SectionSwitch,
    /// The peak control's latency while it is on.
    peak_control_latency: usize,

    gain_match: GainMatch,

    chunk: usize,
    /// The dry path of a section while it fades.
    scratch: [Vec<f32>; 2],
    /// The chunk's input, interleaved, kept for the gain match.
    match_input: Vec<f32>,

    input_peak: f32,
    output_peak: f32,
    compressor_gr_db: f32,
    /// The peak control's largest peak reduction since the meters were last taken, dB.
    peak_control_reduction_db: f32,
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
        let peak_control = Clipper::new(sample_rate_hz);
        let peak_control_latency = peak_control.latency_samples();
        let mut chain = Self {
            sample_rate_hz,
            fresh: true,
            trim: GainRamp::new(RampLaw::Db, 1, MAX_GAIN_DB),
            output: GainRamp::new(RampLaw::Db, 1, MAX_GAIN_DB),
            current: settings.clone(),
            smoother: StepSmoother::default(),
            eq: ParametricEq::new(sample_rate_hz),
            dc_filter: DcFilter::new(sample_rate_hz),
            dc_filter_switch: SectionSwitch::fade_swap(0),
            eq_switch: SectionSwitch::fade_swap(0),
            compressor: Compressor::new(2, MAX_SAMPLE_RATE_HZ),
            multiband: MultibandCompressor::new(2, MAX_SAMPLE_RATE_HZ),
            dynamics_mode: settings.dynamics_mode,
            dynamics_switch: SectionSwitch::fade_swap(max_lookahead),
            dynamics_pad: DelayLine::new(2, max_lookahead),
            dynamics_latency: 0,
            stereo: StereoTool::new(),
            stereo_switch: SectionSwitch::fade_swap(0),
            saturation: Saturation::new(2, settings.saturation),
            saturation_factor: settings.saturation.oversampling,
            saturation_switch: SectionSwitch::fade_swap(sat_max),
            saturation_pad: DelayLine::new(2, sat_max),
            saturation_latency: 0,
            saturation_latencies,
            peak_control,
            // Its delay always records, so switching on moves the dry path to the new latency
            // on real history (a jump in time the host answers by realigning) instead of silence.
            peak_control_switch: SectionSwitch::fade_swap(peak_control_latency).keeping_history(),
            peak_control_latency,
            gain_match: GainMatch::new(sample_rate_hz),
            chunk,
            scratch: [vec![0.0; chunk], vec![0.0; chunk]],
            match_input: vec![0.0; 2 * chunk],
            input_peak: 0.0,
            output_peak: 0.0,
            compressor_gr_db: 0.0,
            peak_control_reduction_db: 0.0,
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
        self.dc_filter.set_sample_rate(sr);
        self.eq.set_sample_rate(sr);
        self.compressor.set_sample_rate(sr);
        self.multiband.set_sample_rate(sr);
        self.stereo.set_sample_rate(sr);
        self.saturation.set_sample_rate(sr);
        self.peak_control.set_sample_rate(sr);
        self.gain_match.set_sample_rate(sr);
        let ramp = gain_ramp_samples(sr);
        self.trim.set_ramp_samples(ramp);
        self.output.set_ramp_samples(ramp);
        self.smoother.set_sample_rate(sr);
        let fade_samples = SECTION_FADE_MS * 1e-3 * sr as f32;
        for switch in self.switches() {
            switch.set_fade_samples(fade_samples);
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
        self.dynamics_switch.set_latency(latency);
        self.update_dynamics_pad();
        let peak_latency = self.peak_control_latency_for(s);
        self.saturation_latency = self.latency_samples_for(s) - latency - peak_latency;
        self.saturation_switch.set_latency(self.saturation_latency);
        self.update_saturation_pad();
        self.peak_control_switch.set_latency(peak_latency);
    }

    /// The peak control's share of the latency under `settings`.
    fn peak_control_latency_for(&self, settings: &ChannelSettings) -> usize {
        if settings.peak_control_enabled {
            self.peak_control_latency
        } else {
            0
        }
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
        self.peak_control.set_level_db(c.peak_control_level_dbfs);
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
        let on = [
            s.dc_filter_enabled,
            s.eq_enabled,
            s.compressor_enabled,
            s.stereo_enabled,
            s.saturation_enabled,
            s.peak_control_enabled,
        ];
        for (switch, on) in self.switches().into_iter().zip(on) {
            switch.jump(on);
        }
        self.current.clone_from(&self.settings);
        self.apply_current();
        self.smoother.jump();
        self.trim.jump();
        self.output.jump();
        self.update_dynamics_pad();
        self.update_saturation_pad();
    }

    /// Total latency in samples: dynamics lookahead plus the latency of the saturation's
    /// oversampling factor (the same whether those sections are on or off), plus the peak
    /// control's while it is on.
    pub fn latency_samples(&self) -> usize {
        self.dynamics_latency + self.saturation_latency + self.peak_control_switch.latency_samples()
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
        dynamics + saturation + self.peak_control_latency_for(settings)
    }

    /// The most latency any settings can give at the current sample rate (largest lookahead,
    /// 4x oversampling and the peak control), for sizing a host's or plugin's dry-path delay.
    pub fn max_latency_samples(&self) -> usize {
        lookahead_samples(MAX_LOOKAHEAD_MS, self.sample_rate_hz as f32)
            + self.saturation_latencies[2]
            + self.peak_control_latency
    }

    /// Clears all state (never allocates); the next [`Self::set_settings`] applies at once.
    pub fn reset(&mut self) {
        self.dc_filter.reset();
        self.eq.reset();
        self.compressor.reset();
        self.multiband.reset();
        self.stereo.reset();
        self.saturation.reset();
        self.peak_control.reset();
        self.gain_match.reset();
        self.dynamics_pad.reset();
        self.saturation_pad.reset();
        for switch in self.switches() {
            // Clears the delay; the switch's position is set by `jump_to_settings` below.
            switch.reset(false);
        }
        self.input_peak = 0.0;
        self.output_peak = 0.0;
        self.compressor_gr_db = 0.0;
        self.peak_control_reduction_db = 0.0;
        self.fresh = true;
        self.jump_to_settings();
        // Stay fresh: settings given right after a reset still jump.
        self.fresh = true;
    }

    /// Processes a stereo block in place (any length; `left` and `right` of equal length, the
    /// shorter length is used). Never allocates.
    pub fn process_block(&mut self, left: &mut [f32], right: &mut [f32]) {
        crate::simd::dispatch! {
            avx2 => self.process_block_avx2(left, right),
            _ => self.process_block_impl(left, right),
        }
    }

    /// The chain's own passes (sanitising, trim and output ramps, peaks, the gain match's
    /// input copy) on 8-lane registers; no FMA, so the same bits as the baseline build (the
    /// sections' units pick their own builds).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_block_avx2(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.process_block_impl(left, right);
    }

    #[inline(always)]
    fn process_block_impl(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        self.fresh = false;
        let mut start = 0;
        while start < len {
            let end = (start + self.chunk).min(len);
            self.process_chunk(&mut left[start..end], &mut right[start..end]);
            start = end;
        }
    }

    #[inline(always)]
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
            self.run_section(Section::DcFilter, l, r);
            self.run_section(Section::Eq, l, r);
            self.run_section(Section::Dynamics, l, r);
            self.run_section(Section::Stereo, l, r);
            self.run_section(Section::Saturation, l, r);
            self.run_section(Section::PeakControl, l, r);
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
            Section::DcFilter => (s.dc_filter_enabled, false),
            Section::Eq => (s.eq_enabled, false),
            Section::Dynamics => (s.compressor_enabled, s.dynamics_mode != self.dynamics_mode),
            Section::Stereo => (s.stereo_enabled, false),
            Section::Saturation => (
                s.saturation_enabled,
                Oversampler::valid_factor(s.saturation.oversampling) != self.saturation_factor,
            ),
            Section::PeakControl => (s.peak_control_enabled, false),
        }
    }

    /// The section switches in chain order.
    fn switches(&mut self) -> [&mut SectionSwitch; 6] {
        [
            &mut self.dc_filter_switch,
            &mut self.eq_switch,
            &mut self.dynamics_switch,
            &mut self.stereo_switch,
            &mut self.saturation_switch,
            &mut self.peak_control_switch,
        ]
    }

    fn switch(&mut self, section: Section) -> &mut SectionSwitch {
        match section {
            Section::DcFilter => &mut self.dc_filter_switch,
            Section::Eq => &mut self.eq_switch,
            Section::Dynamics => &mut self.dynamics_switch,
            Section::Stereo => &mut self.stereo_switch,
            Section::Saturation => &mut self.saturation_switch,
            Section::PeakControl => &mut self.peak_control_switch,
        }
    }

    /// Exchanges `section`'s unit for the one the settings ask for (while it is silent).
    fn swap_unit(&mut self, section: Section) {
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
            Section::DcFilter | Section::Eq | Section::Stereo | Section::PeakControl => {}
        }
    }

    /// Clears `section`'s unit (its state is stale when it wakes from bypass).
    fn reset_unit(&mut self, section: Section) {
        match section {
            Section::DcFilter => self.dc_filter.reset(),
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
            Section::PeakControl => self.peak_control.reset(),
        }
    }

    /// Runs `section` over one chunk through its switch (fade-swap law): the unit, the bypass
    /// delay, or both while it fades.
    fn run_section(&mut self, section: Section, left: &mut [f32], right: &mut [f32]) {
        let (want, swap) = self.wanted(section);
        let RunStart {
            swap_unit,
            reset_unit,
        } = self.switch(section).begin_run(want, swap);
        if swap_unit {
            self.swap_unit(section);
        }
        if reset_unit {
            self.reset_unit(section);
        }
        let scratch = &mut self.scratch;
        match section {
            Section::DcFilter => {
                let dc = &mut self.dc_filter;
                self.dc_filter_switch
                    .process(left, right, scratch, |_, l, r| dc.process_block(l, r));
            }
            Section::Eq => {
                let eq = &mut self.eq;
                self.eq_switch
                    .process(left, right, scratch, |_, l, r| eq.process_block(l, r));
            }
            Section::Dynamics => {
                let (mode, compressor, multiband, pad, gr_db) = (
                    self.dynamics_mode,
                    &mut self.compressor,
                    &mut self.multiband,
                    &mut self.dynamics_pad,
                    &mut self.compressor_gr_db,
                );
                self.dynamics_switch
                    .process(left, right, scratch, |_, l, r| {
                        match mode {
                            DynamicsMode::Single => {
                                compressor.process_block(&mut [&mut *l, &mut *r]);
                                *gr_db = gr_db.max(compressor.block_max_gain_reduction_db());
                            }
                            DynamicsMode::Multiband => {
                                multiband.process_block(&mut [&mut *l, &mut *r]);
                            }
                        }
                        pad_run(pad, l, r);
                    });
            }
            Section::Stereo => {
                let stereo = &mut self.stereo;
                self.stereo_switch
                    .process(left, right, scratch, |_, l, r| stereo.process_block(l, r));
            }
            Section::Saturation => {
                let (saturation, pad) = (&mut self.saturation, &mut self.saturation_pad);
                self.saturation_switch
                    .process(left, right, scratch, |_, l, r| {
                        saturation.process_block(&mut [&mut *l, &mut *r]);
                        pad_run(pad, l, r);
                    });
            }
            Section::PeakControl => {
                let (clipper, reduction) =
                    (&mut self.peak_control, &mut self.peak_control_reduction_db);
                self.peak_control_switch
                    .process(left, right, scratch, |_, l, r| {
                        clipper.process_block(l, r);
                        *reduction = reduction.max(clipper.block_max_reduction_db());
                    });
            }
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
            peak_control_reduction_db: 0.0,
            gain_match_db: self.gain_match.gain_db(),
            net_loudness_change_lu: self.net_loudness_change_lu(),
        };
        if self.peak_control_switch.is_heard() {
            m.peak_control_reduction_db = self.peak_control_reduction_db;
        }
        if self.dynamics_switch.is_heard() {
            match self.dynamics_mode {
                DynamicsMode::Single => m.compressor_gr_db = self.compressor_gr_db,
                DynamicsMode::Multiband => {
                    for (b, gr) in m.multiband_gr_db.iter_mut().enumerate() {
                        *gr = self.multiband.band_gain_reduction_db(b);
                    }
                }
            }
        }
        if self.eq_switch.is_heard() {
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
        self.peak_control_reduction_db = 0.0;
        m
    }

    /// The EQ (for its response curve in editors).
    pub fn eq(&self) -> &ParametricEq {
        &self.eq
    }

    /// Correlation of the mid/side section's output, -1..+1 (+1 while the section is off).
    pub fn correlation(&self) -> f32 {
        if self.stereo_switch.is_heard() {
            self.stereo.correlation()
        } else {
            1.0
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Section {
    DcFilter,
    Eq,
    Dynamics,
    Stereo,
    Saturation,
    PeakControl,
}

/// Runs a pad delay that tops a unit's latency up to its section's (none when zero).
fn pad_run(pad: &mut DelayLine, left: &mut [f32], right: &mut [f32]) {
    if pad.delay_samples() > 0 {
        pad.process_block(0, left);
        pad.process_block(1, right);
    }
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}
