//! Stem Master: the plugin on the sum of the processed stems, turning them into a deliverable
//! master.
//!
//! Chain so far: input trim -> output gain, with a click-free bypass. The glue compressor,
//! linear-phase EQ, width, true-peak limiter and loudness meter arrive with their issues.

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use std::sync::Arc;
use stem_plugin_common::widgets::EditorApp;
use stem_plugin_common::{GainStage, ProcessFrame, STEREO_LAYOUTS};

mod editor;
pub mod params;

use params::StemMasterParams;

#[derive(Default)]
pub struct StemMaster {
    params: Arc<StemMasterParams>,
    frame: ProcessFrame,
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
        editor::create(self.params.clone())
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.frame.set_sample_rate(buffer_config.sample_rate, 0);
        // The chain adds no latency yet; report it anyway so hosts never keep a stale value.
        context.set_latency_samples(0);
        true
    }

    fn reset(&mut self) {
        self.frame.reset(self.params.bypass.value());
        self.params
            .input
            .trim
            .smoothed
            .reset(self.params.input.trim.value());
        self.params
            .output
            .gain
            .smoothed
            .reset(self.params.output.gain.value());
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let params = &self.params;
        self.frame
            .process(buffer, params.bypass.value(), |channels| {
                GainStage::process(&params.input.trim, channels);
                GainStage::process(&params.output.gain, channels);
            });
        ProcessStatus::Normal
    }
}

impl ClapPlugin for StemMaster {
    /// Never changes: hosts key saved sessions on it.
    const CLAP_ID: &'static str = "org.stem-mastering.stem-master";
    const CLAP_DESCRIPTION: Option<&'static str> = Some(
        "Glue, linear-phase EQ, width, true-peak limiting and loudness metering for the stem sum",
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
