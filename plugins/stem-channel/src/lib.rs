//! Stem Channel: the plugin a producer puts on each stem bus (drums, bass, synths, vocals, FX).
//!
//! The audio path is [`shared_dsp::chain::channel::ChannelChain`] (input trim, EQ, dynamics,
//! mid/side, saturation, output gain, gain match), the same chain the `stem` command-line tool
//! renders with. nice-plug splits host blocks at automation events, so at the start of every
//! slice the parameters' plain values are the targets from that sample on; they go to the
//! chain as they are, and the chain smooths them (gains ramp linearly in dB over 20 ms, other
//! settings approach their targets in 32-sample steps counted across calls, EQ bands glide,
//! sections cross-fade). So a change at sample N acts from sample N, the output does not depend
//! on the host's block size, and the `stem` tool renders the same automation to the sample.
//! The chain's latency (the saturation's oversampling factor) is reported on activation and
//! whenever the factor changes; bypassing sections never changes it. Its output goes to its
//! Stem Link ring ([`link`]) for the group's Stem Master.

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::settings::StemType;
use std::sync::Arc;
use stem_plugin_common::frame::MAX_SLICE;
use stem_plugin_common::widgets::EditorApp;
use stem_plugin_common::{ProcessFrame, STEREO_LAYOUTS};

mod editor;
pub mod link;
pub mod meters;
pub mod params;

use link::ChannelLinkShared;
use meters::{MeterTaps, StemChannelMeters};
use params::StemChannelParams;
use std::sync::atomic::Ordering;
use stem_plugin_common::link_session::LinkWorker;

/// Work the audio thread hands to the GUI thread.
pub enum StemChannelTask {
    /// The host set the Stem Type parameter: write that stem's starting points.
    ApplyStemType(StemType),
}

pub struct StemChannel {
    params: Arc<StemChannelParams>,
    meters: Arc<StemChannelMeters>,
    frame: ProcessFrame,
    chain: ChannelChain,
    taps: MeterTaps,
    /// Latency last reported to the host.
    reported_latency: usize,
    /// The Stem Link: what the link thread shares, and the thread.
    link: Arc<ChannelLinkShared>,
    link_worker: Option<LinkWorker>,
    /// The whole-chain compare's gain, dB, taken from the net loudness change when the compare
    /// engages and held while it lasts (a constant gain: the comparison never pumps).
    compare_gain_db: Option<f32>,
}

impl Default for StemChannel {
    fn default() -> Self {
        Self {
            params: Arc::new(StemChannelParams::default()),
            meters: Arc::new(StemChannelMeters::default()),
            frame: ProcessFrame::default(),
            chain: ChannelChain::new(MAX_SLICE, 48_000.0),
            taps: MeterTaps::new(48_000.0),
            reported_latency: 0,
            link: Arc::new(ChannelLinkShared::default()),
            link_worker: None,
            compare_gain_db: None,
        }
    }
}

impl StemChannel {
    /// The meter readings shared with the editor.
    pub fn meters(&self) -> Arc<StemChannelMeters> {
        self.meters.clone()
    }

    /// Puts the chain straight onto the parameters' current values (no smoothing, no fades).
    fn jump_to_params(&mut self) {
        self.chain.reset();
        self.chain.set_settings(&self.params.target_settings());
    }
}

impl Plugin for StemChannel {
    const NAME: &'static str = "Stem Channel";
    const VENDOR: &'static str = "Stem Mastering Suite";
    const URL: &'static str = env!("CARGO_PKG_HOMEPAGE");
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = STEREO_LAYOUTS;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type SysExMessage = ();
    type BackgroundTask = StemChannelTask;
    type Editor = EguiEditor<EditorApp<editor::ChannelEditor>>;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.meters.clone(), self.link.clone())
    }

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        let params = self.params.clone();
        Box::new(move |task| match task {
            // Runs on the GUI thread with the instance's GUI context (vendor/README.md), so the
            // starting point reaches the host as ordinary gestures, as from the editor.
            StemChannelTask::ApplyStemType(stem) => {
                nice_plug::wrapper::task_context::with_task_gui_context(|context| {
                    params.apply_stem_type(&context.param_setter(), stem)
                });
            }
        })
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let sample_rate = buffer_config.sample_rate;
        self.chain.set_sample_rate(sample_rate as f64);
        self.taps = MeterTaps::new(sample_rate);
        self.jump_to_params();
        let latency = self.chain.latency_samples();
        self.frame
            .set_sample_rate(sample_rate, self.chain.max_latency_samples());
        self.frame.set_latency_samples(latency);
        self.reported_latency = latency;
        context.set_latency_samples(latency as u32);
        self.link
            .instance
            .sample_rate_hz
            .store(sample_rate, Ordering::Relaxed);
        self.link
            .instance
            .latency_samples
            .store(latency as u32, Ordering::Relaxed);
        if self.link_worker.is_none() {
            self.link_worker = link::spawn(
                self.link.clone(),
                self.params.link.clone(),
                self.meters.clone(),
            );
        }
        true
    }

    fn reset(&mut self) {
        self.frame.reset(self.params.bypass.value());
        self.jump_to_params();
        self.taps.reset();
        self.compare_gain_db = None;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Self {
            params,
            meters,
            frame,
            chain,
            taps,
            link,
            compare_gain_db,
            ..
        } = self;
        if let Some(stem) = params.take_unapplied_stem_type() {
            context.execute_gui(StemChannelTask::ApplyStemType(stem));
        }
        // The whole-chain compare (asked by the group's Stem Master): the unprocessed stem at
        // the processed loudness, through the bypass cross-fade.
        let bypassed = params.bypass.value();
        let compare = link.compare_requested.load(Ordering::Relaxed) && !bypassed;
        *compare_gain_db = compare.then(|| {
            compare_gain_db.unwrap_or_else(|| {
                ChannelLinkShared::compare_gain_db(meters.net_loudness_change_lu.load())
            })
        });
        frame.set_dry_gain_db(compare_gain_db.unwrap_or(0.0));
        let measure_loudness =
            meters.editor_open.is_open() || link.master_present.load(Ordering::Relaxed);
        frame.process(buffer, bypassed || compare, |[left, right]| {
            taps.input(meters, left, right);
            chain.set_loudness_readout(measure_loudness);
            chain.set_settings(&params.target_settings());
            chain.process_block(left, right);
            let (gain_reduction_db, peak_reduction_db) = taps.output(meters, chain, left, right);
            link.instance.gain_reduction_db.store_max(gain_reduction_db);
            link.instance.peak_reduction_db.store_max(peak_reduction_db);
        });
        let latency = self.chain.latency_samples();
        if latency != self.reported_latency {
            self.reported_latency = latency;
            self.frame.set_latency_samples(latency);
            context.set_latency_samples(latency as u32);
            self.link
                .instance
                .latency_samples
                .store(latency as u32, Ordering::Relaxed);
        }
        // The output, placed on the host's timeline (where this output belongs after the
        // host's delay compensation), for the group's master.
        let transport = context.transport();
        let timeline = transport
            .pos_samples()
            .filter(|_| transport.playing)
            .map(|p| p - latency as i64);
        if let [left, right] = buffer.as_slice() {
            self.link
                .instance
                .audio
                .write_block(left, right, timeline, 0.0);
        }
        self.link
            .instance
            .bypassed
            .store(bypassed, Ordering::Relaxed);
        self.link.stem_type.store(
            StemType::from(self.params.stem_type.value()) as u32,
            Ordering::Relaxed,
        );
        ProcessStatus::Normal
    }
}

impl ClapPlugin for StemChannel {
    /// Never changes: hosts key saved sessions on it.
    const CLAP_ID: &'static str = "org.stem-mastering.stem-channel";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Per-stem trim, EQ, dynamics, width and saturation for stem mastering");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Equalizer,
        ClapFeature::Compressor,
        ClapFeature::Mixing,
    ];

    /// Pages for hardware controllers: the channel strip first, then the EQ two bands a page,
    /// the compressor, and mid/side with saturation.
    fn remote_controls(&self, context: &mut impl RemoteControlsContext) {
        let p = &self.params;
        context.add_section("Channel", |section| {
            section.add_page("Main", |page| {
                page.add_param(&p.input.trim);
                page.add_param(&p.output.gain);
                page.add_param(&p.gain_match);
                page.add_param(&p.eq.enabled);
                page.add_param(&p.compressor.enabled);
                page.add_param(&p.stereo.enabled);
                page.add_param(&p.saturation.enabled);
                page.add_param(&p.bypass);
            });
        });
        context.add_section("EQ", |section| {
            for (i, pair) in p.eq.bands.bands.chunks(2).enumerate() {
                let first = 2 * i + 1;
                section.add_page(format!("Bands {}-{}", first, first + 1), |page| {
                    for band in pair {
                        page.add_param(&band.enabled);
                        page.add_param(&band.freq_hz);
                        page.add_param(&band.gain_db);
                        page.add_param(&band.q);
                    }
                });
            }
        });
        context.add_section("Compressor", |section| {
            let c = &p.compressor;
            section.add_page("Compressor", |page| {
                page.add_param(&c.threshold_db);
                page.add_param(&c.ratio);
                page.add_param(&c.knee_db);
                page.add_param(&c.attack_ms);
                page.add_param(&c.release_ms);
                page.add_param(&c.makeup_db);
                page.add_param(&c.mix_percent);
                page.add_param(&c.sidechain_hpf_hz);
            });
        });
        context.add_section("Stereo and Saturation", |section| {
            let (st, sat) = (&p.stereo, &p.saturation);
            section.add_page("Mid/Side and Saturation", |page| {
                page.add_param(&st.width_percent);
                page.add_param(&st.mono_below_hz);
                page.add_param(&st.balance_percent);
                page.add_param(&st.mono_enabled);
                page.add_param(&sat.drive_db);
                page.add_param(&sat.color);
                page.add_param(&sat.mix_percent);
                page.add_param(&sat.output_db);
            });
        });
        context.add_section("Peak Control", |section| {
            let pk = &p.peak_control;
            section.add_page("Peak Control", |page| {
                page.add_param(&pk.enabled);
                page.add_param(&pk.level_dbfs);
            });
        });
    }
}

impl Vst3Plugin for StemChannel {
    /// Never changes: hosts key saved sessions on it.
    const VST3_CLASS_ID: [u8; 16] = *b"StemMastChannel1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::Eq,
        Vst3SubCategory::Dynamics,
        Vst3SubCategory::Stereo,
    ];
}

nice_export_clap!(StemChannel);
nice_export_vst3!(StemChannel);
