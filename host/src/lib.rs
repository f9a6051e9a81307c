//! A minimal headless host for the suite's own CLAP and VST3 bundles.
//!
//! It does what a DAW does with a plugin, and nothing more: load a bundle by path, list the
//! parameters, activate at a sample rate and maximum block size, process stereo audio on a
//! separate audio thread with parameter changes at exact sample offsets, report the latency the
//! plugin declares, and save/restore state. Main-thread callbacks the plugin requests (CLAP
//! `request_callback`, restart requests) are serviced on the thread that owns the host, as a
//! real host would.
//!
//! Both formats implement [`PluginHost`], so every integration test runs against both.
//! Parameter values cross this API in the format's own wire domain (what the host automates):
//! for nice-plug plugins a continuous parameter is normalised 0..1 in both formats. Use
//! [`PluginHost::text_to_value`] to turn a display string such as `"-6 dB"` into that value.

use std::fmt;
use std::path::Path;

pub mod clap;
pub mod vst3;

/// What the host knows about one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// The format's numeric parameter id (CLAP `clap_id`, VST3 `ParamID`).
    pub id: u32,
    /// The display name.
    pub name: String,
    /// Smallest wire value.
    pub min_value: f64,
    /// Largest wire value.
    pub max_value: f64,
    /// Default wire value.
    pub default_value: f64,
    /// Number of discrete steps, 0 for a continuous parameter.
    pub step_count: u32,
    /// The host should treat this parameter as the plugin's bypass switch.
    pub is_bypass: bool,
    /// The host may automate this parameter.
    pub is_automatable: bool,
    /// The plugin asks hosts to show the parameter as a menu of its value texts (CLAP
    /// `CLAP_PARAM_IS_ENUM`, VST3 `kIsList`).
    pub is_list: bool,
}

/// A parameter change the host sends during processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamChange {
    /// Absolute sample position in the processed signal at which the new value takes effect.
    pub sample_offset: usize,
    /// The parameter's numeric id.
    pub param_id: u32,
    /// The new value in the format's wire domain.
    pub value: f64,
}

/// How [`PluginHost::process`] splits a signal into the blocks handed to the plugin.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockSchedule {
    /// Blocks of this many samples; the last block holds whatever remains.
    Fixed(usize),
    /// Blocks of these sizes, repeated cyclically until the signal ends (last one truncated).
    Cycle(Vec<usize>),
}

impl BlockSchedule {
    /// The sizes of the blocks that cover `num_samples` samples.
    pub fn block_sizes(&self, num_samples: usize) -> Vec<usize> {
        let pattern: &[usize] = match self {
            BlockSchedule::Fixed(n) => std::slice::from_ref(n),
            BlockSchedule::Cycle(v) => v,
        };
        assert!(
            !pattern.is_empty() && pattern.iter().all(|&n| n > 0),
            "block sizes must be positive"
        );
        let mut sizes = Vec::new();
        let mut done = 0;
        for &n in pattern.iter().cycle() {
            if done >= num_samples {
                break;
            }
            let n = n.min(num_samples - done);
            sizes.push(n);
            done += n;
        }
        sizes
    }

    /// The largest block this schedule produces, i.e. the maximum block size to activate with.
    pub fn max_block_size(&self) -> usize {
        match self {
            BlockSchedule::Fixed(n) => *n,
            BlockSchedule::Cycle(v) => v.iter().copied().max().unwrap_or(1),
        }
    }
}

/// Anything that went wrong while hosting a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

impl HostError {
    pub fn new(message: impl Into<String>) -> Self {
        HostError(message.into())
    }
}

/// Result type of the host API.
pub type HostResult<T> = Result<T, HostError>;

/// The operations a test needs from a host, implemented for both plugin formats.
pub trait PluginHost {
    /// The plugin's display name as the bundle declares it.
    fn plugin_name(&self) -> String;
    /// Every parameter the plugin exposes, in the plugin's order.
    fn params(&self) -> HostResult<Vec<ParamInfo>>;
    /// The current wire value of a parameter.
    fn param_value(&self, param_id: u32) -> HostResult<f64>;
    /// Sets a parameter's wire value outside of processing (as a host does for a user edit
    /// while the transport is stopped). The plugin sees it before the next processed sample.
    fn set_param_value(&mut self, param_id: u32, value: f64) -> HostResult<()>;
    /// The plugin's display string for a wire value.
    fn value_to_text(&self, param_id: u32, value: f64) -> HostResult<String>;
    /// The wire value the plugin parses from a display string.
    fn text_to_value(&self, param_id: u32, text: &str) -> HostResult<f64>;
    /// Activates (or re-activates) the plugin for this sample rate and maximum block size.
    fn activate(&mut self, sample_rate: f64, max_block_size: usize) -> HostResult<()>;
    /// Deactivates the plugin; a no-op if it is not active.
    fn deactivate(&mut self) -> HostResult<()>;
    /// The latency in samples the plugin currently declares.
    fn latency_samples(&self) -> HostResult<u32>;
    /// Processes a stereo signal on the audio thread in blocks given by `schedule`, applying
    /// `changes` (sorted by `sample_offset`) at their exact sample positions. Returns the
    /// stereo output, as long as the input.
    fn process(
        &mut self,
        input: [&[f32]; 2],
        schedule: &BlockSchedule,
        changes: &[ParamChange],
    ) -> HostResult<[Vec<f32>; 2]>;
    /// Moves the playing transport: the next processed sample is at `position_samples` on the
    /// timeline (activation starts it at 0; each `process` call moves it on by its length).
    fn set_transport_position(&mut self, position_samples: i64);
    /// The plugin's state as the format stores it in a host project.
    fn save_state(&mut self) -> HostResult<Vec<u8>>;
    /// Restores a state previously returned by [`PluginHost::save_state`].
    fn load_state(&mut self, state: &[u8]) -> HostResult<()>;
    /// When set, [`PluginHost::process`] runs on the calling (main) thread instead of a fresh
    /// audio thread, as offline renderers and the VST3 SDK validator do: the plugin's
    /// `process()` then runs on the thread where its GUI-thread work would run inline.
    fn set_process_on_main_thread(&mut self, on_main_thread: bool);
}

/// Opens a plugin library and keeps it mapped for the life of the process (glibc's
/// `RTLD_NODELETE`). A Rust plugin library keeps thread-locals, statics and worker threads
/// (nice-plug's background task thread) whose code must stay mapped after the last instance is
/// gone, so unloading it crashes the host at thread exit; DAWs keep plugin libraries loaded for
/// the same reason.
pub(crate) fn open_pinned_library(path: &Path) -> HostResult<libloading::os::unix::Library> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    const RTLD_NODELETE: std::os::raw::c_int = 0x1000;
    // SAFETY: loading a shared library runs its initialisers; the caller loads a plugin bundle
    // it chose, which is what every host does.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) }
        .map_err(|e| HostError::new(format!("cannot load {}: {e}", path.display())))
}

/// The plugin formats this host can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Clap,
    Vst3,
}

/// Loads the first plugin of a bundle (a `.clap` file or a `.vst3` directory) in the format its
/// extension says.
pub fn load(bundle: &Path) -> HostResult<Box<dyn PluginHost>> {
    match bundle.extension().and_then(|e| e.to_str()) {
        Some("clap") => Ok(Box::new(clap::ClapHost::load(bundle)?)),
        Some("vst3") => Ok(Box::new(vst3::Vst3Host::load(bundle)?)),
        _ => Err(HostError::new(format!(
            "{} is neither a .clap nor a .vst3 bundle",
            bundle.display()
        ))),
    }
}
