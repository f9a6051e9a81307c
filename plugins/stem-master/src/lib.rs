//! Stem Master: the plugin on the sum of the processed stems, turning them into a deliverable
//! master.
//!
//! The processing is `shared_dsp::chain::master::MasterChain` (input gain, glue, EQ with zero
//! latency or linear phase, width, true-peak limiter, output, dither, programme meter,
//! loudness-matched compare), so
//! the plugin and the `stem` command-line tool produce the same samples. This crate maps the
//! parameters onto `MasterSettings` as plain targets once per slice between automation events
//! (the chain smooths them itself, so the output does not depend on the host's blocks), runs
//! the chain inside
//! `stem_plugin_common::ProcessFrame` (input hygiene and a latency-aligned bypass), reports the
//! latency on activation and whenever the EQ mode or the limiter lookahead changes it (never on
//! bypass: bypassed sections are replaced by equal delays; an EQ mode change lands in the chain
//! after its bypass cross-fades, and is reported then), and publishes meters
//! ([`meters::MasterMeters`]) for the editor. It writes its input and the limiter's gain
//! reduction to its Stem Link ring ([`link`]), whose thread computes the linked stems' overview.

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use shared_dsp::chain::learn::streaming_turn_down_db;
use shared_dsp::chain::master::{MasterChain, TargetLearn};
use shared_dsp::chain::settings::MasterSettings;
use shared_dsp::meter::spectrum::SpectrumAnalyser;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use stem_plugin_common::frame::MAX_SLICE;
use stem_plugin_common::widgets::EditorApp;
use stem_plugin_common::{ProcessFrame, STEREO_LAYOUTS};

mod codec_check;
mod editor;
pub mod learn_plan;
pub mod link;
pub mod meters;
pub mod params;
pub mod reference;

use learn_plan::AudioCapture;
use link::MasterLinkShared;
use meters::{MasterMeters, GR_HISTORY_INTERVAL_MS, LOUDNESS_HISTORY_INTERVAL_MS};
use params::StemMasterParams;
use reference::audio::{AudioReference, ReferenceShared};
use shared_dsp::reference::player::TransportState;
use stem_plugin_common::link_session::LinkWorker;

/// Samples per pass of the meter and spectrum bookkeeping.
pub const SUB_BLOCK: usize = 32;
/// Sample rate the plugin is built for before the host activates it.
const DEFAULT_SAMPLE_RATE_HZ: f64 = 48_000.0;

pub struct StemMaster {
    params: Arc<StemMasterParams>,
    meters: Arc<MasterMeters>,
    frame: ProcessFrame,
    chain: MasterChain,
    /// Settings for the current slice (reused, so nothing is built per block).
    settings: MasterSettings,
    learn: TargetLearn,
    /// Learn parameter state seen last block (a pass starts on off->on, ends on on->off).
    learning: bool,
    /// What a Learn pass heard (the pre-limiter signal), for the editor's loudness plan.
    capture: AudioCapture,
    /// The reference player (A/B against up to four files) and what it shares with the editor.
    reference_shared: Arc<ReferenceShared>,
    reference: AudioReference,
    spectrum: SpectrumAnalyser,
    mid: [f32; SUB_BLOCK],
    sample_rate_hz: f32,
    reported_latency: usize,
    /// History accumulators: samples since the last point and the worst reduction in them.
    gr_samples: usize,
    gr_max: [f32; 2],
    loudness_samples: usize,
    /// The Stem Link: what the link thread shares, the thread, and the input of the current
    /// sub-block (the chain processes in place; the ring gets the input).
    link: Arc<MasterLinkShared>,
    link_worker: Option<LinkWorker>,
    link_input: [[f32; SUB_BLOCK]; 2],
}

impl Default for StemMaster {
    fn default() -> Self {
        let chain = MasterChain::new(MAX_SLICE, DEFAULT_SAMPLE_RATE_HZ);
        let meters = Arc::new(MasterMeters::default());
        let capture = meters
            .learn_capture
            .take_audio_side()
            .expect("fresh meters hold the audio side");
        let params = Arc::new(StemMasterParams::default());
        let reference_shared = Arc::new(ReferenceShared::default());
        let reference = AudioReference::new(&reference_shared, MAX_SLICE, DEFAULT_SAMPLE_RATE_HZ);
        // A restored session decodes its references again (the state keeps only the paths).
        let restore = reference_shared.clone();
        params
            .reference
            .set_restore_hook(move |session| restore.loader.load_all(&session.files));
        Self {
            params,
            reference_shared,
            reference,
            meters,
            capture,
            frame: ProcessFrame::default(),
            settings: chain.settings().clone(),
            chain,
            learn: TargetLearn::new(DEFAULT_SAMPLE_RATE_HZ),
            learning: false,
            spectrum: SpectrumAnalyser::new(meters::SPECTRUM_FFT_SIZE_48K, DEFAULT_SAMPLE_RATE_HZ),
            mid: [0.0; SUB_BLOCK],
            sample_rate_hz: DEFAULT_SAMPLE_RATE_HZ as f32,
            reported_latency: 0,
            gr_samples: 0,
            gr_max: [0.0; 2],
            loudness_samples: 0,
            link: Arc::new(MasterLinkShared::default()),
            link_worker: None,
            link_input: [[0.0; SUB_BLOCK]; 2],
        }
    }
}

impl StemMaster {
    /// The meters the editor reads.
    pub fn meters(&self) -> Arc<MasterMeters> {
        self.meters.clone()
    }

    /// Stores the readings that change per block and the target-derived ones.
    fn publish_meters(&self) {
        let m = &self.meters;
        let r = self.chain.readings();
        let target = self.params.loudness.target.value().target();
        let ceiling = self.settings.limiter.ceiling_dbtp;
        m.momentary_lufs.store(r.momentary_lufs as f32);
        m.short_term_lufs.store(r.short_term_lufs as f32);
        m.integrated_lufs.store(r.integrated_lufs as f32);
        m.loudness_range_lu.store(r.loudness_range_lu as f32);
        m.true_peak_max_dbtp.store(r.true_peak_max_dbtp as f32);
        m.plr_db.store(r.plr_db as f32);
        m.target_lufs.store(target.integrated_lufs);
        m.target_ceiling_dbtp.store(ceiling);
        m.distance_to_target_lu
            .store(if r.integrated_lufs.is_finite() {
                (r.integrated_lufs - target.integrated_lufs as f64) as f32
            } else {
                f32::NAN
            });
        m.over_ceiling.store(
            r.true_peak_max_dbtp > ceiling as f64 + 0.005,
            Ordering::Relaxed,
        );
        m.streaming_turn_down_db
            .store(streaming_turn_down_db(r.integrated_lufs) as f32);
        m.glue_gain_reduction_db
            .store(r.glue_block_max_gain_reduction_db);
        m.limiter_gain_reduction_db
            .store(r.limiter_block_max_gain_reduction_db);
        m.compare_gain_db.store(r.match_gain_db);
        m.unprocessed_integrated_lufs
            .store(r.unprocessed_integrated_lufs as f32);
        let ms = |samples: usize| samples as f32 * 1000.0 / self.sample_rate_hz;
        m.eq_latency_ms.store(ms(self.chain.eq_latency_samples()));
        m.latency_ms.store(ms(self.chain.latency_samples()));
        if self.learn.is_active() {
            m.learn_measured_lufs
                .store(self.learn.measured_lufs() as f32);
        }
    }

    /// What the link thread publishes about this instance's state.
    fn publish_link_state(&self) {
        let link = &self.link;
        link.instance
            .latency_samples
            .store(self.reported_latency as u32, Ordering::Relaxed);
        link.instance
            .bypassed
            .store(self.params.bypass.value(), Ordering::Relaxed);
        link.linear_phase.store(
            self.chain.eq_mode() != shared_dsp::chain::settings::MasterEqMode::ZeroLatency,
            Ordering::Relaxed,
        );
    }

    /// Starts or ends a learn pass when the parameter flips.
    fn handle_learn(&mut self) {
        let on = self.params.loudness.learn.value();
        if on == self.learning {
            return;
        }
        self.learning = on;
        let m = &self.meters;
        if on {
            let target = self.params.loudness.target.value().target();
            self.learn
                .start(target.integrated_lufs, self.params.limiter.gain_db.value());
            self.capture.start();
            m.learn_measured_lufs.store(f32::NEG_INFINITY);
        } else {
            // The capture goes back first: the editor plans on it and lets the solver's step
            // stand only when no plan comes of the pass.
            self.capture.finish();
            if let Some(drive_db) = self.learn.finish() {
                let (lo, hi) = shared_dsp::chain::ranges::LIMITER_DRIVE_DB.bounds();
                m.learn_result_db.store(drive_db.clamp(lo, hi));
                m.learn_result_ready.store(true, Ordering::Release);
            }
        }
        m.learning.store(on, Ordering::Relaxed);
    }
}

impl Plugin for StemMaster {
    const NAME: &'static str = "Stem Master";
    const VENDOR: &'static str = "Stem Mastering Suite";
    const URL: &'static str = env!("CARGO_PKG_HOMEPAGE");
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = STEREO_LAYOUTS;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type SysExMessage = ();
    type BackgroundTask = ();
    type Editor = EguiEditor<EditorApp<editor::MasterEditor>>;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.clone(),
            self.meters.clone(),
            self.reference_shared.clone(),
            self.link.clone(),
        )
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let fs = buffer_config.sample_rate;
        self.sample_rate_hz = fs;
        self.chain.set_sample_rate(fs as f64);
        self.params.settings(&mut self.settings);
        self.chain.set_settings(&self.settings);
        self.chain.finish_design_now();
        self.chain.reset();
        self.learn.set_sample_rate(fs as f64);
        self.capture.set_sample_rate(fs as f64);
        self.learning = false;
        self.reference.set_sample_rate(fs as f64);
        let loader = &self.reference_shared.loader;
        if loader.set_sample_rate(fs as f64) {
            // The references were resampled for another rate: decode them again for this one.
            loader.load_all(&self.params.reference.snapshot().files);
        }
        self.reference_shared.offline.store(
            buffer_config.process_mode == ProcessMode::Offline,
            Ordering::Relaxed,
        );
        let fft = (meters::SPECTRUM_FFT_SIZE_48K as f32 * fs / 48_000.0) as usize;
        self.spectrum = SpectrumAnalyser::new(fft, fs as f64);
        self.meters.output_tail_rate_hz.store(fs);
        self.meters.output_tail[0].clear();
        self.meters.output_tail[1].clear();
        let latency = self.chain.latency_samples();
        self.frame
            .set_sample_rate(fs, self.chain.max_latency_samples());
        self.frame.set_latency_samples(latency);
        self.reported_latency = latency;
        context.set_latency_samples(latency as u32);
        self.publish_meters();
        self.link
            .instance
            .sample_rate_hz
            .store(fs, Ordering::Relaxed);
        self.publish_link_state();
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
        self.params.settings(&mut self.settings);
        self.chain.set_settings(&self.settings);
        self.chain.reset();
        self.frame.reset(self.params.bypass.value());
        self.spectrum.reset();
        self.learn.cancel();
        self.capture.cancel();
        self.reference.reset();
        self.learning = false;
        self.meters.learning.store(false, Ordering::Relaxed);
        self.gr_samples = 0;
        self.gr_max = [0.0; 2];
        self.loudness_samples = 0;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        if self.meters.reset_requested.swap(false, Ordering::Relaxed) {
            self.chain.reset_meters();
            self.spectrum.reset();
            self.meters.clear();
        }
        self.handle_learn();
        let whole_chain_compare = self.link.compare.load(Ordering::Relaxed);
        self.chain
            .set_compare(self.params.loudness.compare.value() || whole_chain_compare);
        // Where this block sits on the host's timeline (the link lines stems up by it).
        let mut timeline = {
            let transport = context.transport();
            transport.pos_samples().filter(|_| transport.playing)
        };

        let Self {
            params,
            meters,
            frame,
            chain,
            settings,
            learn,
            capture,
            spectrum,
            mid,
            sample_rate_hz,
            gr_samples,
            gr_max,
            loudness_samples,
            link,
            link_input,
            ..
        } = self;
        let editor_open = meters.editor_open.is_open();
        let gr_interval = (GR_HISTORY_INTERVAL_MS * 1e-3 * *sample_rate_hz) as usize;
        let loudness_interval = (LOUDNESS_HISTORY_INTERVAL_MS * 1e-3 * *sample_rate_hz) as usize;
        let bypassed = params.bypass.value();
        frame.process(buffer, bypassed, |channels| {
            let [left, right] = channels;
            let len = left.len();
            // Parameters only change between the slices the frame hands over (sample-accurate
            // automation splits there): one hand-over of targets per slice.
            params.settings(settings);
            chain.set_settings(settings);
            let mut start = 0;
            while start < len {
                let end = (start + SUB_BLOCK).min(len);
                let n = end - start;
                let (l, r) = (&mut left[start..end], &mut right[start..end]);
                link_input[0][..n].copy_from_slice(l);
                link_input[1][..n].copy_from_slice(r);
                chain.process_block_tapped(l, r, |pre_l, pre_r| capture.push(pre_l, pre_r));
                let limiter_gr_db = chain.limiter_block_max_gain_reduction_db();
                link.instance.audio.write_block(
                    &link_input[0][..n],
                    &link_input[1][..n],
                    timeline,
                    limiter_gr_db,
                );
                timeline = timeline.map(|t| t + n as i64);
                link.instance.gain_reduction_db.store_max(limiter_gr_db);
                link.instance
                    .peak_reduction_db
                    .store_max(chain.clipper_block_max_reduction_db());
                learn.process_block(l, r);

                gr_max[0] = gr_max[0].max(chain.glue_block_max_gain_reduction_db());
                gr_max[1] = gr_max[1].max(chain.limiter_block_max_gain_reduction_db());
                *gr_samples += n;
                if *gr_samples >= gr_interval {
                    meters.glue_gr_history.push(gr_max[0]);
                    meters.limiter_gr_history.push(gr_max[1]);
                    *gr_samples = 0;
                    *gr_max = [0.0; 2];
                }
                *loudness_samples += n;
                if *loudness_samples >= loudness_interval {
                    let loudness = chain.meter().loudness();
                    meters
                        .momentary_history
                        .push(loudness.momentary_lufs() as f32);
                    meters
                        .short_term_history
                        .push(loudness.short_term_lufs() as f32);
                    *loudness_samples = 0;
                }
                if editor_open {
                    meters.output_tail[0].push_slice(l);
                    meters.output_tail[1].push_slice(r);
                    for ((m, &a), &b) in mid.iter_mut().zip(l.iter()).zip(r.iter()) {
                        *m = 0.5 * (a + b);
                    }
                    spectrum.process_block(&mid[..n]);
                }
                start = end;
            }
        });
        if editor_open {
            meters.spectrum.publish(spectrum);
        }

        // The EQ mode or the limiter lookahead changed: the host and the dry path follow.
        let latency = self.chain.latency_samples();
        if latency != self.reported_latency {
            self.reported_latency = latency;
            self.frame.set_latency_samples(latency);
            context.set_latency_samples(latency as u32);
        }
        self.publish_link_state();
        // The reference plays after everything, on what leaves the plugin: the A/B switch
        // compares the finished master (meters, Learn and the codec check see the master only).
        let transport = context.transport();
        let transport = TransportState {
            playing: transport.playing,
            position_samples: transport.pos_samples(),
        };
        if let [left, right, ..] = buffer.as_slice() {
            self.reference.process(
                left,
                right,
                transport,
                self.reported_latency,
                &self.params.reference,
                &self.reference_shared,
            );
        }
        self.publish_meters();
        ProcessStatus::Normal
    }
}

impl ClapPlugin for StemMaster {
    /// Never changes: hosts key saved sessions on it.
    const CLAP_ID: &'static str = "org.stem-mastering.stem-master";
    const CLAP_DESCRIPTION: Option<&'static str> = Some(
        "Glue, zero-latency or linear-phase EQ, width, true-peak limiting and loudness metering for the stem sum",
    );
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Mastering,
        ClapFeature::Limiter,
        ClapFeature::Analyzer,
    ];
}

impl Vst3Plugin for StemMaster {
    /// Never changes: hosts key saved sessions on it.
    const VST3_CLASS_ID: [u8; 16] = *b"StemMastMaster01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::Mastering,
        Vst3SubCategory::Dynamics,
        Vst3SubCategory::Analyzer,
        Vst3SubCategory::Stereo,
    ];
}

nice_export_clap!(StemMaster);
nice_export_vst3!(StemMaster);
