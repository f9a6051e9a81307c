//! CLAP hosting through `clack-host`.
//!
//! The plugin instance lives on the thread that created the host (the "main thread"); its audio
//! processor is moved to a dedicated audio thread for every processing call and back again, while
//! the main thread services the callbacks the plugin requests (`request_callback`, restart, latency
//! changes), as a DAW does. The host implements `thread-check`, so the plugin can tell the two
//! threads apart, plus `log`, `params`, `state`, `latency` and `audio-ports`.

use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, ThreadId};
use std::time::Duration;

use clack_extensions::audio_ports::{AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::events::event_types::{ParamValueEvent, TransportEvent, TransportFlags};
use clack_host::events::EventFlags;
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

use crate::{BlockSchedule, HostError, HostResult, ParamChange, ParamInfo, PluginHost};

thread_local! {
    /// Set on the threads this host processes audio on, for the `thread-check` extension.
    static IS_AUDIO_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// How often the main thread looks for plugin requests while the audio thread works.
const MAIN_THREAD_POLL: Duration = Duration::from_micros(200);

/// Host state every thread may touch.
struct Shared {
    main_thread: ThreadId,
    callback_requested: AtomicBool,
    restart_requested: AtomicBool,
    flush_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for Shared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

impl HostLogImpl for Shared {
    fn log(&self, severity: LogSeverity, message: &str) {
        // A test host may print: nothing here runs in a real-time context of ours.
        eprintln!("[plugin {severity}] {message}");
    }
}

impl HostThreadCheckImpl for Shared {
    fn is_main_thread(&self) -> bool {
        thread::current().id() == self.main_thread
    }
    fn is_audio_thread(&self) -> bool {
        IS_AUDIO_THREAD.with(Cell::get)
    }
}

impl HostParamsImplShared for Shared {
    fn request_flush(&self) {
        self.flush_requested.store(true, Ordering::SeqCst);
    }
}

/// Host state that stays on the main thread.
struct MainThread {
    /// Inside `clap_plugin::activate()`, the only place CLAP allows `clap_host_latency::changed`.
    activating: Cell<bool>,
    /// `clap_host_latency::changed()` calls made inside `activate()`.
    latency_changes_in_activate: Cell<u32>,
    /// Calls made anywhere else: each one breaks the CLAP latency extension's contract.
    latency_changes_outside_activate: Cell<u32>,
    state_dirty: Cell<bool>,
}

impl<'a> MainThreadHandler<'a> for MainThread {}

impl HostLatencyImpl for MainThread {
    fn changed(&self) {
        let counter = if self.activating.get() {
            &self.latency_changes_in_activate
        } else {
            &self.latency_changes_outside_activate
        };
        counter.set(counter.get() + 1);
    }
}

impl HostStateImpl for MainThread {
    fn mark_dirty(&self) {
        self.state_dirty.set(true);
    }
}

impl HostParamsImplMainThread for MainThread {
    fn rescan(&self, _flags: ParamRescanFlags) {}
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostAudioPortsImpl for MainThread {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        false
    }
    fn rescan(&self, _flags: AudioPortRescanFlags) {}
}

struct Handlers;

impl HostHandlers for Handlers {
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLog>()
            .register::<HostThreadCheck>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostLatency>()
            .register::<HostAudioPorts>();
    }
}

/// The audio processor, wrapped so it can be moved to the audio thread and back.
type Processor = PluginAudioProcessor<Handlers>;

/// A loaded CLAP plugin instance.
pub struct ClapHost {
    // Field order matters: the instance must drop before the entry that keeps the library loaded.
    processor: Option<Processor>,
    /// In a `RefCell` because clack hands out main-thread handles only through `&mut`, while
    /// read-only queries (parameter info, latency) take `&self` in [`PluginHost`].
    instance: RefCell<PluginInstance<Handlers>>,
    _entry: PluginEntry,
    name: String,
    audio_config: Option<PluginAudioConfiguration>,
    /// Transport position of the next processed sample (restarts at 0 on activation).
    position_samples: i64,
    /// While set, the main thread leaves the plugin's `request_callback` and restart requests
    /// pending (see [`ClapHost::hold_main_thread_requests`]).
    holding_requests: bool,
    /// See [`PluginHost::set_process_on_main_thread`].
    process_on_main_thread: bool,
    params_ext: Option<PluginParams>,
    state_ext: Option<PluginState>,
    latency_ext: Option<PluginLatency>,
}

fn clap_err(what: &str, e: impl std::fmt::Display) -> HostError {
    HostError::new(format!("CLAP: {what}: {e}"))
}

impl ClapHost {
    /// Loads the first plugin in a `.clap` bundle.
    pub fn load(bundle: &Path) -> HostResult<Self> {
        if !bundle.is_file() {
            return Err(HostError::new(format!(
                "CLAP: no plugin file at {}",
                bundle.display()
            )));
        }
        // Pinned so the library outlives every instance (see `open_pinned_library`).
        std::mem::forget(crate::open_pinned_library(bundle)?);
        // SAFETY: loading a shared library runs its initialisers; we only load our own bundles
        // (or whatever the caller vouches for), which is what every host does.
        let entry = unsafe { PluginEntry::load(bundle) }
            .map_err(|e| clap_err(&format!("cannot load {}", bundle.display()), e))?;
        let factory = entry
            .get_plugin_factory()
            .ok_or_else(|| HostError::new("CLAP: the bundle has no plugin factory"))?;
        let descriptor = factory
            .plugin_descriptors()
            .next()
            .ok_or_else(|| HostError::new("CLAP: the bundle declares no plugin"))?;
        let plugin_id = descriptor
            .id()
            .ok_or_else(|| HostError::new("CLAP: the plugin has no id"))?
            .to_owned();
        let name = descriptor
            .name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let host_info = HostInfo::new(
            "stem-host",
            "Stem Mastering Suite",
            "https://github.com/stem-mastering",
            env!("CARGO_PKG_VERSION"),
        )
        .map_err(|e| clap_err("host info", e))?;
        let main_thread = thread::current().id();
        let mut instance = PluginInstance::<Handlers>::new(
            |_| Shared {
                main_thread,
                callback_requested: AtomicBool::new(false),
                restart_requested: AtomicBool::new(false),
                flush_requested: AtomicBool::new(false),
            },
            |_| MainThread {
                activating: Cell::new(false),
                latency_changes_in_activate: Cell::new(0),
                latency_changes_outside_activate: Cell::new(0),
                state_dirty: Cell::new(false),
            },
            &entry,
            &plugin_id,
            &host_info,
        )
        .map_err(|e| clap_err("cannot instantiate the plugin", e))?;
        let handle = instance.plugin_handle();
        let params_ext = handle.get_extension::<PluginParams>();
        let state_ext = handle.get_extension::<PluginState>();
        let latency_ext = handle.get_extension::<PluginLatency>();
        let mut host = ClapHost {
            processor: None,
            instance: RefCell::new(instance),
            _entry: entry,
            name,
            audio_config: None,
            position_samples: 0,
            holding_requests: false,
            process_on_main_thread: false,
            params_ext,
            state_ext,
            latency_ext,
        };
        host.service_main_thread()?;
        Ok(host)
    }

    fn params_ext(&self) -> HostResult<PluginParams> {
        self.params_ext
            .ok_or_else(|| HostError::new("CLAP: the plugin has no params extension"))
    }

    /// While `hold` is set, the main thread leaves the plugin's callback and restart requests
    /// pending, as a busy DAW does; releasing services them at once. Lets a test deactivate a
    /// plugin between its request and the main-thread callback that answers it.
    pub fn hold_main_thread_requests(&mut self, hold: bool) -> HostResult<()> {
        self.holding_requests = hold;
        self.service_main_thread()
    }

    /// How often the plugin called `clap_host_latency::changed()` inside `activate()`, and
    /// anywhere else (which the CLAP specification forbids).
    pub fn latency_change_reports(&self) -> (u32, u32) {
        self.instance.borrow().access_handler(|h| {
            (
                h.latency_changes_in_activate.get(),
                h.latency_changes_outside_activate.get(),
            )
        })
    }

    /// Answers what the plugin asked of the main thread since the last call.
    fn service_main_thread(&mut self) -> HostResult<()> {
        if self.holding_requests {
            return Ok(());
        }
        let instance = self.instance.get_mut();
        if instance.access_shared_handler(|h| h.callback_requested.swap(false, Ordering::SeqCst)) {
            instance.call_on_main_thread_callback();
        }
        // A restart is what a plugin asks for when its latency changes while active: the host
        // deactivates and reactivates it, then re-reads the latency.
        let restart =
            instance.access_shared_handler(|h| h.restart_requested.swap(false, Ordering::SeqCst));
        if restart {
            if let Some(config) = self.audio_config {
                self.deactivate()?;
                self.activate(config.sample_rate, config.max_frames_count as usize)?;
            }
        }
        Ok(())
    }

    /// Runs `work` with the audio processor on a fresh audio thread while this (main) thread
    /// services plugin requests, then takes the processor back.
    fn on_audio_thread<R: Send>(
        &mut self,
        work: impl FnOnce(&mut Processor) -> HostResult<R> + Send,
    ) -> HostResult<R> {
        let mut processor = self
            .processor
            .take()
            .ok_or_else(|| HostError::new("CLAP: the plugin is not active"))?;
        if self.process_on_main_thread {
            IS_AUDIO_THREAD.with(|flag| flag.set(true));
            let result = work(&mut processor);
            IS_AUDIO_THREAD.with(|flag| flag.set(false));
            self.processor = Some(processor);
            self.service_main_thread()?;
            return result;
        }
        let instance = self.instance.get_mut();
        let holding_requests = self.holding_requests;
        let (processor, result) = thread::scope(|scope| {
            let audio = scope.spawn(move || {
                IS_AUDIO_THREAD.with(|flag| flag.set(true));
                let result = work(&mut processor);
                (processor, result)
            });
            while !audio.is_finished() {
                if !holding_requests
                    && instance.access_shared_handler(|h| {
                        h.callback_requested.swap(false, Ordering::SeqCst)
                    })
                {
                    instance.call_on_main_thread_callback();
                }
                thread::sleep(MAIN_THREAD_POLL);
            }
            audio.join()
        })
        .map_err(|_| HostError::new("CLAP: the plugin panicked on the audio thread"))?;
        self.processor = Some(processor);
        self.service_main_thread()?;
        result
    }
}

/// Converts host-level changes into CLAP events for one block.
fn block_events(events: &mut EventBuffer, changes: &[ParamChange], block_start: usize) {
    events.clear();
    for change in changes {
        if let Some(param_id) = ClapId::from_raw(change.param_id) {
            events.push(&ParamValueEvent::new(
                (change.sample_offset - block_start) as u32,
                param_id,
                Pckn::match_all(),
                change.value,
            ));
        }
    }
}

impl PluginHost for ClapHost {
    fn plugin_name(&self) -> String {
        self.name.clone()
    }

    fn params(&self) -> HostResult<Vec<ParamInfo>> {
        let ext = self.params_ext()?;
        let mut instance = self.instance.borrow_mut();
        let handle = instance.plugin_handle();
        let mut infos = Vec::new();
        let mut buffer = ParamInfoBuffer::new();
        for index in 0..ext.count(&handle) {
            let info = ext
                .get_info(&handle, index, &mut buffer)
                .ok_or_else(|| HostError::new(format!("CLAP: no info for parameter {index}")))?;
            infos.push(ParamInfo {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                min_value: info.min_value,
                max_value: info.max_value,
                default_value: info.default_value,
                step_count: if info.flags.contains(ParamInfoFlags::IS_STEPPED) {
                    (info.max_value - info.min_value).round() as u32
                } else {
                    0
                },
                is_bypass: info.flags.contains(ParamInfoFlags::IS_BYPASS),
                is_automatable: info.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
                is_list: info.flags.contains(ParamInfoFlags::IS_ENUM),
            });
        }
        Ok(infos)
    }

    fn param_value(&self, param_id: u32) -> HostResult<f64> {
        let ext = self.params_ext()?;
        let mut instance = self.instance.borrow_mut();
        let id = ClapId::from_raw(param_id)
            .ok_or_else(|| HostError::new("CLAP: invalid parameter id"))?;
        ext.get_value(&instance.plugin_handle(), id)
            .ok_or_else(|| HostError::new(format!("CLAP: no value for parameter {param_id}")))
    }

    fn set_param_value(&mut self, param_id: u32, value: f64) -> HostResult<()> {
        let ext = self.params_ext()?;
        let change = [ParamChange {
            sample_offset: 0,
            param_id,
            value,
        }];
        let mut events = EventBuffer::with_capacity(1);
        block_events(&mut events, &change, 0);
        if self.processor.is_some() {
            // While active, `flush` belongs to the audio thread.
            self.on_audio_thread(move |processor| {
                let mut output = EventBuffer::new();
                ext.flush_active(
                    &mut processor.plugin_handle(),
                    &InputEvents::from_buffer(&events),
                    &mut OutputEvents::from_buffer(&mut output),
                );
                Ok(())
            })
        } else {
            let mut handle = self
                .instance
                .get_mut()
                .inactive_plugin_handle()
                .ok_or_else(|| HostError::new("CLAP: plugin neither active nor inactive"))?;
            let mut output = EventBuffer::new();
            ext.flush(
                &mut handle,
                &InputEvents::from_buffer(&events),
                &mut OutputEvents::from_buffer(&mut output),
            );
            self.service_main_thread()
        }
    }

    fn value_to_text(&self, param_id: u32, value: f64) -> HostResult<String> {
        let ext = self.params_ext()?;
        let mut instance = self.instance.borrow_mut();
        let id = ClapId::from_raw(param_id)
            .ok_or_else(|| HostError::new("CLAP: invalid parameter id"))?;
        let mut buffer = [0u8; 256];
        let text = ext
            .value_to_text(&instance.plugin_handle(), id, value, &mut buffer)
            .map_err(|_| HostError::new(format!("CLAP: no text for {value} of {param_id}")))?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    fn text_to_value(&self, param_id: u32, text: &str) -> HostResult<f64> {
        let ext = self.params_ext()?;
        let mut instance = self.instance.borrow_mut();
        let id = ClapId::from_raw(param_id)
            .ok_or_else(|| HostError::new("CLAP: invalid parameter id"))?;
        let text_c = CString::new(text).map_err(|e| clap_err("text", e))?;
        ext.text_to_value(&instance.plugin_handle(), id, &text_c)
            .ok_or_else(|| HostError::new(format!("CLAP: '{text}' is not a value of {param_id}")))
    }

    fn activate(&mut self, sample_rate: f64, max_block_size: usize) -> HostResult<()> {
        self.deactivate()?;
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_block_size.max(1) as u32,
        };
        let instance = self.instance.get_mut();
        instance.access_handler(|h| h.activating.set(true));
        let processor = instance.activate(|_, _| (), config);
        instance.access_handler(|h| h.activating.set(false));
        let processor =
            processor.map_err(|e| clap_err(&format!("activate at {sample_rate} Hz"), e))?;
        self.processor = Some(processor.into());
        self.audio_config = Some(config);
        self.position_samples = 0;
        self.service_main_thread()
    }

    fn deactivate(&mut self) -> HostResult<()> {
        if self.processor.is_none() {
            return Ok(());
        }
        // Processing stops on the audio thread, where it started.
        self.on_audio_thread(|processor| {
            processor.ensure_processing_stopped();
            Ok(())
        })?;
        if let Some(processor) = self.processor.take() {
            let stopped = processor.into_stopped();
            self.instance.get_mut().deactivate(stopped);
        }
        self.audio_config = None;
        Ok(())
    }

    fn latency_samples(&self) -> HostResult<u32> {
        let ext = self
            .latency_ext
            .ok_or_else(|| HostError::new("CLAP: the plugin has no latency extension"))?;
        let mut instance = self.instance.borrow_mut();
        Ok(ext.get(&instance.plugin_handle()))
    }

    fn process(
        &mut self,
        input: [&[f32]; 2],
        schedule: &BlockSchedule,
        changes: &[ParamChange],
    ) -> HostResult<[Vec<f32>; 2]> {
        let num_samples = input[0].len();
        if input[1].len() != num_samples {
            return Err(HostError::new("CLAP: input channels differ in length"));
        }
        let config = self
            .audio_config
            .ok_or_else(|| HostError::new("CLAP: process before activate"))?;
        let block_sizes = schedule.block_sizes(num_samples);
        if let Some(&too_big) = block_sizes
            .iter()
            .find(|&&n| n > config.max_frames_count as usize)
        {
            return Err(HostError::new(format!(
                "CLAP: block of {too_big} exceeds the activated maximum {}",
                config.max_frames_count
            )));
        }
        if changes
            .windows(2)
            .any(|w| w[1].sample_offset < w[0].sample_offset)
        {
            return Err(HostError::new("CLAP: parameter changes must be sorted"));
        }
        let max_block = config.max_frames_count as usize;
        let position = self.position_samples;
        self.position_samples += num_samples as i64;
        self.on_audio_thread(move |processor| {
            let processor = processor
                .ensure_processing_started()
                .map_err(|e| clap_err("start processing", e))?;
            let mut output = [vec![0.0f32; num_samples], vec![0.0f32; num_samples]];
            let mut in_scratch = [vec![0.0f32; max_block], vec![0.0f32; max_block]];
            let mut out_scratch = [vec![0.0f32; max_block], vec![0.0f32; max_block]];
            let mut input_ports = AudioPorts::with_capacity(2, 1);
            let mut output_ports = AudioPorts::with_capacity(2, 1);
            let mut events = EventBuffer::with_capacity(changes.len());
            let mut out_events = EventBuffer::new();
            let mut start = 0;
            let mut next_change = 0;
            for n in block_sizes {
                let end = start + n;
                let first = next_change;
                while next_change < changes.len() && changes[next_change].sample_offset < end {
                    next_change += 1;
                }
                block_events(&mut events, &changes[first..next_change], start);
                for ch in 0..2 {
                    in_scratch[ch][..n].copy_from_slice(&input[ch][start..end]);
                }
                let audio_in = input_ports.with_input_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_input_only(
                        in_scratch
                            .iter_mut()
                            .map(|b| InputChannel::variable(&mut b[..n])),
                    ),
                }]);
                let mut audio_out = output_ports.with_output_buffers([AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(
                        out_scratch.iter_mut().map(|b| &mut b[..n]),
                    ),
                }]);
                out_events.clear();
                let transport = playing_at(position + start as i64, config.sample_rate);
                processor
                    .process(
                        &audio_in,
                        &mut audio_out,
                        &InputEvents::from_buffer(&events),
                        &mut OutputEvents::from_buffer(&mut out_events),
                        Some(start as u64),
                        Some(&transport),
                    )
                    .map_err(|e| clap_err(&format!("process block at {start}"), e))?;
                for ch in 0..2 {
                    output[ch][start..end].copy_from_slice(&out_scratch[ch][..n]);
                }
                start = end;
            }
            Ok(output)
        })
    }

    fn save_state(&mut self) -> HostResult<Vec<u8>> {
        let ext = self
            .state_ext
            .ok_or_else(|| HostError::new("CLAP: the plugin has no state extension"))?;
        let mut bytes = Vec::new();
        ext.save(&self.instance.get_mut().plugin_handle(), &mut bytes)
            .map_err(|e| clap_err("save state", e))?;
        Ok(bytes)
    }

    fn load_state(&mut self, state: &[u8]) -> HostResult<()> {
        let ext = self
            .state_ext
            .ok_or_else(|| HostError::new("CLAP: the plugin has no state extension"))?;
        let mut reader = state;
        ext.load(&self.instance.get_mut().plugin_handle(), &mut reader)
            .map_err(|e| clap_err("load state", e))?;
        self.service_main_thread()
    }

    fn set_transport_position(&mut self, position_samples: i64) {
        self.position_samples = position_samples;
    }

    fn set_process_on_main_thread(&mut self, on_main_thread: bool) {
        self.process_on_main_thread = on_main_thread;
    }
}

impl Drop for ClapHost {
    fn drop(&mut self) {
        let _ = self.deactivate();
    }
}

/// Tempo the host's transport runs at (the VST3 host's too).
const TEMPO_BPM: f64 = 120.0;

/// A playing transport at `position_samples` (counted from activation, continuing across
/// `process` calls, as a DAW's timeline plays on), with the seconds and beats timelines and the
/// tempo, so a plugin that splits the block (sample-accurate automation) can place each part.
fn playing_at(position_samples: i64, sample_rate: f64) -> TransportEvent {
    let seconds = position_samples as f64 / sample_rate;
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags: TransportFlags::IS_PLAYING
            | TransportFlags::HAS_SECONDS_TIMELINE
            | TransportFlags::HAS_BEATS_TIMELINE
            | TransportFlags::HAS_TEMPO
            | TransportFlags::HAS_TIME_SIGNATURE,
        song_pos_beats: BeatTime::from_float(seconds * TEMPO_BPM / 60.0),
        song_pos_seconds: SecondsTime::from_float(seconds),
        tempo: TEMPO_BPM,
        tempo_inc: 0.0,
        loop_start_beats: BeatTime::from_int(0),
        loop_end_beats: BeatTime::from_int(0),
        loop_start_seconds: SecondsTime::from_int(0),
        loop_end_seconds: SecondsTime::from_int(0),
        bar_start: BeatTime::from_float((seconds * TEMPO_BPM / 240.0).floor() * 4.0),
        bar_number: (seconds * TEMPO_BPM / 240.0).floor() as i32,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}
