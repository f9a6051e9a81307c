//! VST3 hosting with the `vst3` crate's bindings, following the VST 3 SDK's hosting call
//! sequence ("VST 3 API Documentation: Audio Processor Call Sequence" and the SDK's
//! `public.sdk/source/vst/hosting/module_linux.cpp` for loading a Linux bundle).
//!
//! Loading: `X.vst3/Contents/x86_64-linux/X.so` is opened (and never unloaded, see
//! `RTLD_NODELETE`), `ModuleEntry` is called, then `GetPluginFactory`; the first "Audio Module
//! Class" is created as an `IComponent` and initialised with our `IHostApplication`. nice-plug
//! plugins are single components: the same object also implements `IAudioProcessor` and
//! `IEditController`. A separate edit controller (named by `getControllerClassId`) is supported
//! as well, without a connection point between the two, which our own plugins never need.
//!
//! Processing runs on a separate audio thread while the calling thread waits and services the
//! plugin's restart requests, as a DAW's main thread would. Parameter changes reach the processor
//! only through `ProcessData::inputParameterChanges`, at their exact sample offsets within the
//! block; values set outside processing are also sent at offset 0 of the next processed block.

mod objects;

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use libloading::os::unix::Library;
use vst3::Steinberg::Vst::BusDirections_::{kInput, kOutput};
use vst3::Steinberg::Vst::MediaTypes_::kAudio;
use vst3::Steinberg::Vst::ParameterInfo_::ParameterFlags_::{kCanAutomate, kIsBypass, kIsList};
use vst3::Steinberg::Vst::ProcessContext_::StatesAndFlags_::{
    kContTimeValid, kPlaying, kProjectTimeMusicValid, kTempoValid, kTimeSigValid,
};
use vst3::Steinberg::Vst::ProcessModes_::kRealtime;
use vst3::Steinberg::Vst::RestartFlags_::kLatencyChanged;
use vst3::Steinberg::Vst::SymbolicSampleSizes_::kSample32;
use vst3::Steinberg::Vst::{
    AudioBusBuffers, AudioBusBuffers__type0, IAudioProcessor, IAudioProcessorTrait, IComponent,
    IComponentHandler, IComponentTrait, IEditController, IEditControllerTrait, IParameterChanges,
    ParamID, ParameterInfo, ProcessContext, ProcessData, ProcessSetup, SpeakerArr, String128,
    TChar,
};
use vst3::Steinberg::{
    kInternalError, kInvalidArgument, kNoInterface, kNotImplemented, kNotInitialized, kOutOfMemory,
    kResultFalse, kResultOk, tresult, FUnknown, IBStream, IPluginBaseTrait, IPluginFactory,
    IPluginFactoryTrait, PClassInfo, TUID,
};
use vst3::{ComPtr, ComRef, ComWrapper, Interface};

use self::objects::{
    copy_to_utf16, utf16_to_string, ComponentHandler, HostApplication, MemoryStream,
    ParameterChanges,
};
use crate::{BlockSchedule, HostError, HostResult, ParamChange, ParamInfo, PluginHost};

/// The class category of an audio processor component (`kVstAudioEffectClass`).
const AUDIO_EFFECT_CLASS: &str = "Audio Module Class";

/// Tempo the host reports in the process context, in beats per minute.
const TEMPO_BPM: f64 = 120.0;

type ModuleEntryFn = unsafe extern "C" fn(*mut c_void) -> bool;
type ModuleExitFn = unsafe extern "C" fn() -> bool;
type GetPluginFactoryFn = unsafe extern "system" fn() -> *mut IPluginFactory;

/// The name of a `tresult`, for error messages.
fn tresult_name(result: tresult) -> String {
    match result {
        r if r == kResultOk => "kResultOk".into(),
        r if r == kResultFalse => "kResultFalse".into(),
        r if r == kNoInterface => "kNoInterface".into(),
        r if r == kInvalidArgument => "kInvalidArgument".into(),
        r if r == kNotImplemented => "kNotImplemented".into(),
        r if r == kInternalError => "kInternalError".into(),
        r if r == kNotInitialized => "kNotInitialized".into(),
        r if r == kOutOfMemory => "kOutOfMemory".into(),
        r => format!("unknown tresult {r}"),
    }
}

/// `Ok` if the plugin returned `kResultOk`, otherwise an error naming the call and the result.
fn check(result: tresult, call: &str) -> HostResult<()> {
    if result == kResultOk {
        Ok(())
    } else {
        Err(HostError::new(format!(
            "VST3 {call} failed with {}",
            tresult_name(result)
        )))
    }
}

/// The shared library inside a `.vst3` bundle directory, per the VST 3 bundle format.
fn library_path(bundle_path: &Path) -> HostResult<PathBuf> {
    if !bundle_path.is_dir() {
        return Err(HostError::new(format!(
            "VST3 bundle {} does not exist or is not a directory",
            bundle_path.display()
        )));
    }
    let stem = bundle_path.file_stem().ok_or_else(|| {
        HostError::new(format!(
            "VST3 bundle path {} has no file name",
            bundle_path.display()
        ))
    })?;
    let mut library = bundle_path.join("Contents").join("x86_64-linux").join(stem);
    library.set_extension("so");
    if !library.is_file() {
        return Err(HostError::new(format!(
            "VST3 bundle {} lacks its library {}",
            bundle_path.display(),
            library.display()
        )));
    }
    Ok(library)
}

/// The loaded shared library and its exit function, called once everything is released.
struct Module {
    library: Library,
    exit: Option<ModuleExitFn>,
}

/// The plugin's interfaces. For a single-component plugin all three point at one object.
struct PluginObjects {
    component: ComPtr<IComponent>,
    processor: ComPtr<IAudioProcessor>,
    controller: ComPtr<IEditController>,
    /// The controller is a separate object that was initialised on its own.
    separate_controller: bool,
}

/// The configuration the plugin is activated with.
#[derive(Debug, Clone, Copy)]
struct ActiveConfig {
    sample_rate: f64,
    max_block_size: usize,
}

/// The audio processor interface pointer handed to the audio thread.
///
/// `ComPtr<IAudioProcessor>` is not `Send` because a COM object in general may be bound to a
/// thread. Sending it is sound here because the host gives the audio thread exclusive use of the
/// processor for the duration of one [`PluginHost::process`] call: the calling thread waits for
/// the audio thread and meanwhile only touches the plugin through `getLatencySamples` (which the
/// VST3 threading model allows concurrently with `process`), and the host holds its own reference
/// for longer than the audio thread lives, so the pointer stays valid.
struct ProcessorPtr(*mut IAudioProcessor);

unsafe impl Send for ProcessorPtr {}

/// A minimal headless VST3 host for one plugin instance. See the module documentation.
pub struct Vst3Host {
    /// `None` only during teardown.
    plugin: Option<PluginObjects>,
    factory: Option<ComPtr<IPluginFactory>>,
    module: Option<Module>,
    host_application: ComWrapper<HostApplication>,
    handler: ComWrapper<ComponentHandler>,
    name: String,
    /// Parameter ids in the plugin's order, read once after initialisation.
    param_ids: Vec<ParamID>,
    /// Each parameter's `ParameterInfo::units`, in the same order.
    param_units: Vec<String>,
    active: Option<ActiveConfig>,
    /// `setProcessing(true)` has been called and not yet undone.
    processing: bool,
    /// Values set outside processing, to send at offset 0 of the next block (latest per id).
    pending_changes: Vec<(ParamID, f64)>,
    /// Project time of the next processed sample since activation.
    position_samples: i64,
    /// How many `kLatencyChanged` restart requests the host has serviced.
    latency_change_requests: Cell<u32>,
    /// The latency read when servicing the last `kLatencyChanged` request.
    serviced_latency_samples: Cell<Option<u32>>,
    /// See [`PluginHost::set_process_on_main_thread`].
    process_on_main_thread: bool,
}

impl Vst3Host {
    /// Loads the first audio processor class of a `.vst3` bundle directory and initialises it.
    pub fn load(bundle_path: &Path) -> HostResult<Self> {
        let library_path = library_path(bundle_path)?;
        let library = crate::open_pinned_library(&library_path)?;

        let module_entry = unsafe { library.get::<ModuleEntryFn>("ModuleEntry") }
            .ok()
            .map(|s| *s);
        let module_exit = unsafe { library.get::<ModuleExitFn>("ModuleExit") }
            .ok()
            .map(|s| *s);
        let get_factory = unsafe { library.get::<GetPluginFactoryFn>("GetPluginFactory") }
            .map(|s| *s)
            .map_err(|e| {
                HostError::new(format!(
                    "{} does not export GetPluginFactory: {e}",
                    library_path.display()
                ))
            })?;

        // ModuleEntry takes the dlopen handle; round-trip it through the raw form to get it.
        let handle = library.into_raw();
        let library = unsafe { Library::from_raw(handle) };
        if let Some(entry) = module_entry {
            if !unsafe { entry(handle) } {
                return Err(HostError::new(format!(
                    "ModuleEntry of {} returned false",
                    library_path.display()
                )));
            }
        }

        // From here on `Drop` releases everything and calls ModuleExit, also on errors.
        let mut host = Vst3Host {
            plugin: None,
            factory: None,
            module: Some(Module {
                library,
                exit: module_exit,
            }),
            host_application: ComWrapper::new(HostApplication),
            handler: ComWrapper::new(ComponentHandler::new()),
            name: String::new(),
            param_ids: Vec::new(),
            param_units: Vec::new(),
            active: None,
            processing: false,
            pending_changes: Vec::new(),
            position_samples: 0,
            latency_change_requests: Cell::new(0),
            serviced_latency_samples: Cell::new(None),
            process_on_main_thread: false,
        };
        host.instantiate(get_factory, &library_path)?;
        Ok(host)
    }

    fn instantiate(
        &mut self,
        get_factory: GetPluginFactoryFn,
        library_path: &Path,
    ) -> HostResult<()> {
        let factory = unsafe { ComPtr::from_raw(get_factory()) }.ok_or_else(|| {
            HostError::new(format!(
                "GetPluginFactory of {} returned null",
                library_path.display()
            ))
        })?;
        self.factory = Some(factory.clone());
        let factory = &factory;

        let mut class = None;
        for index in 0..unsafe { factory.countClasses() } {
            let mut info: PClassInfo = unsafe { std::mem::zeroed() };
            if unsafe { factory.getClassInfo(index, &mut info) } != kResultOk {
                continue;
            }
            if c_chars_to_string(&info.category) == AUDIO_EFFECT_CLASS {
                class = Some(info);
                break;
            }
        }
        let class = class.ok_or_else(|| {
            HostError::new(format!(
                "{} has no \"{AUDIO_EFFECT_CLASS}\" class",
                library_path.display()
            ))
        })?;
        self.name = c_chars_to_string(&class.name);
        let component: ComPtr<IComponent> = create_instance(factory, &class.cid, "IComponent")?;
        let context = self.host_application_ptr();
        check(
            unsafe { component.initialize(context) },
            "IComponent::initialize",
        )?;
        let (processor, controller, separate_controller) =
            match plugin_interfaces(&component, factory, context, &self.name) {
                Ok(interfaces) => interfaces,
                Err(error) => {
                    let _ = unsafe { component.terminate() };
                    return Err(error);
                }
            };
        let plugin = self.plugin.insert(PluginObjects {
            component,
            processor,
            controller,
            separate_controller,
        });

        if separate_controller {
            // A separate controller learns the processor's parameter values from its state.
            let stream = ComWrapper::new(MemoryStream::new(Vec::new()));
            let stream_ptr = stream_ptr(&stream);
            if unsafe { plugin.component.getState(stream_ptr) } == kResultOk {
                stream.rewind();
                let _ = unsafe { plugin.controller.setComponentState(stream_ptr) };
            }
        }

        let handler = self
            .handler
            .as_com_ref::<IComponentHandler>()
            .expect("ComponentHandler implements IComponentHandler")
            .as_ptr();
        check(
            unsafe { plugin.controller.setComponentHandler(handler) },
            "IEditController::setComponentHandler",
        )?;

        (self.param_ids, self.param_units) = self
            .parameter_infos()?
            .iter()
            .map(|info| (info.id, utf16_to_string(&info.units)))
            .unzip();
        Ok(())
    }

    /// Every parameter's `ParameterInfo`, in the plugin's order.
    fn parameter_infos(&self) -> HostResult<Vec<ParameterInfo>> {
        let controller = &self.plugin().controller;
        let count = unsafe { controller.getParameterCount() };
        (0..count)
            .map(|index| {
                let mut info: ParameterInfo = unsafe { std::mem::zeroed() };
                check(
                    unsafe { controller.getParameterInfo(index, &mut info) },
                    &format!("IEditController::getParameterInfo({index})"),
                )?;
                Ok(info)
            })
            .collect()
    }

    fn host_application_ptr(&self) -> *mut FUnknown {
        self.host_application
            .as_com_ref::<FUnknown>()
            .expect("HostApplication implements FUnknown")
            .as_ptr()
    }

    fn plugin(&self) -> &PluginObjects {
        self.plugin
            .as_ref()
            .expect("the plugin exists for the host's whole life")
    }

    /// How many `kLatencyChanged` restart requests the plugin has made so far (serviced by the
    /// host by re-reading the latency).
    pub fn latency_change_requests(&self) -> u32 {
        self.service_restart_requests();
        self.latency_change_requests.get()
    }

    /// The latency the host read when it last serviced a `kLatencyChanged` request, i.e. what a
    /// DAW would be compensating; `None` before the first request.
    pub fn serviced_latency_samples(&self) -> Option<u32> {
        self.service_restart_requests();
        self.serviced_latency_samples.get()
    }

    /// How many restart requests the plugin made synchronously from inside `setActive()` (a
    /// DAW answering them re-enters `setActive()`; the plugin must defer them).
    pub fn restarts_inside_set_active(&self) -> u32 {
        self.handler.restarts_inside_set_active()
    }

    /// Sets a parameter through the edit controller only (`IEditController::setParamNormalized`),
    /// whether or not processing is on, as a host's generic editor or the VST3 validator does.
    /// Unlike [`PluginHost::set_param_value`] nothing is sent through `process()`.
    pub fn set_param_on_controller(&mut self, param_id: u32, value: f64) -> HostResult<()> {
        self.check_param_value(param_id, value)?;
        check(
            unsafe { self.plugin().controller.setParamNormalized(param_id, value) },
            "IEditController::setParamNormalized",
        )
    }

    /// Handles the restart requests the plugin made through `IComponentHandler::restartComponent`
    /// since the last call. A latency change is serviced by reading the new latency, which is all
    /// a host needs to do to compensate it; nice-plug requests nothing else.
    fn service_restart_requests(&self) {
        let flags = self.handler.take_restart_flags();
        if flags & kLatencyChanged != 0 {
            self.latency_change_requests
                .set(self.latency_change_requests.get() + 1);
            let latency = unsafe { self.plugin().processor.getLatencySamples() };
            self.serviced_latency_samples.set(Some(latency));
        }
    }

    fn check_param_id(&self, param_id: u32) -> HostResult<()> {
        if self.param_ids.contains(&param_id) {
            Ok(())
        } else {
            Err(HostError::new(format!(
                "{} has no parameter with id {param_id}",
                self.name
            )))
        }
    }

    fn check_param_value(&self, param_id: u32, value: f64) -> HostResult<()> {
        self.check_param_id(param_id)?;
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(())
        } else {
            Err(HostError::new(format!(
                "value {value} for parameter {param_id} is outside the normalised range 0..1"
            )))
        }
    }

    /// Runs `job` on a new audio thread while this thread services restart requests.
    fn run_on_audio_thread(&self, job: AudioJob<'_>) -> HostResult<()> {
        if self.process_on_main_thread {
            let result = job.run();
            self.service_restart_requests();
            return result;
        }
        let main_thread = thread::current();
        thread::scope(|scope| {
            let audio_thread = thread::Builder::new()
                .name("vst3-audio".into())
                .spawn_scoped(scope, move || {
                    let result = job.run();
                    main_thread.unpark();
                    result
                })
                .map_err(|e| HostError::new(format!("cannot spawn the audio thread: {e}")))?;
            while !audio_thread.is_finished() {
                self.service_restart_requests();
                thread::park_timeout(Duration::from_millis(2));
            }
            self.service_restart_requests();
            audio_thread
                .join()
                .map_err(|_| HostError::new("the VST3 audio thread panicked"))?
        })
    }

    /// Sends `changes` to the processor right away with a parameter flush (`numSamples == 0`),
    /// used while processing is on, when the processor ignores `setParamNormalized`.
    fn flush_params(&mut self, changes: &[ParamChange]) -> HostResult<()> {
        let active = self.active.expect("flushes happen only while active");
        let plan = ChangePlan::new(changes);
        let mut input = [Vec::new(), Vec::new()];
        let mut output = [Vec::new(), Vec::new()];
        self.run_on_audio_thread(AudioJob {
            processor: ProcessorPtr(self.plugin().processor.as_ptr()),
            start_processing: false,
            sample_rate: active.sample_rate,
            project_time_samples: self.position_samples,
            block_sizes: &[],
            input: &mut input,
            output: &mut output,
            plan: &plan,
        })
    }
}

impl Drop for Vst3Host {
    fn drop(&mut self) {
        // Teardown order of the SDK's hosting examples: stop processing, deactivate, detach the
        // handler, terminate, release every interface, release the factory, then ModuleExit.
        let _ = self.deactivate();
        if let Some(plugin) = self.plugin.take() {
            unsafe {
                let _ = plugin.controller.setComponentHandler(std::ptr::null_mut());
                if plugin.separate_controller {
                    let _ = plugin.controller.terminate();
                }
                let _ = plugin.component.terminate();
            }
            drop(plugin);
        }
        self.factory = None;
        if let Some(module) = self.module.take() {
            if let Some(exit) = module.exit {
                unsafe { exit() };
            }
            drop(module.library);
        }
    }
}

/// Records a value to send at offset 0 of the next block; a later value for the same parameter
/// replaces the earlier one.
fn queue_pending(pending: &mut Vec<(ParamID, f64)>, param_id: ParamID, value: f64) {
    match pending.iter_mut().find(|(id, _)| *id == param_id) {
        Some(entry) => entry.1 = value,
        None => pending.push((param_id, value)),
    }
}

/// `text` followed by `units` as a host displays them: nothing added if the plugin already
/// included the unit, and a space between the two unless one of them brings it (nice-plug's
/// units start with one, e.g. `" dB"`).
fn with_units(text: String, units: &str) -> String {
    if units.trim().is_empty() || text.ends_with(units) || text.ends_with(units.trim()) {
        text
    } else if text.ends_with(char::is_whitespace) || units.starts_with(char::is_whitespace) {
        text + units
    } else {
        format!("{text} {units}")
    }
}

/// Decodes a NUL-terminated `char8` array.
fn c_chars_to_string(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn create_instance<I: Interface>(
    factory: &ComPtr<IPluginFactory>,
    cid: &TUID,
    interface_name: &str,
) -> HostResult<ComPtr<I>> {
    let mut object: *mut c_void = std::ptr::null_mut();
    let result = unsafe {
        factory.createInstance(cid.as_ptr(), I::IID.as_ptr() as *const c_char, &mut object)
    };
    check(
        result,
        &format!("IPluginFactory::createInstance({interface_name})"),
    )?;
    unsafe { ComPtr::from_raw(object as *mut I) }.ok_or_else(|| {
        HostError::new(format!(
            "IPluginFactory::createInstance({interface_name}) returned null"
        ))
    })
}

/// The processor and controller interfaces of an initialised component, creating and
/// initialising a separate controller if the component is not its own.
fn plugin_interfaces(
    component: &ComPtr<IComponent>,
    factory: &ComPtr<IPluginFactory>,
    context: *mut FUnknown,
    name: &str,
) -> HostResult<(ComPtr<IAudioProcessor>, ComPtr<IEditController>, bool)> {
    let processor = component
        .cast::<IAudioProcessor>()
        .ok_or_else(|| HostError::new(format!("{name} does not implement IAudioProcessor")))?;
    if let Some(controller) = component.cast::<IEditController>() {
        return Ok((processor, controller, false));
    }
    let mut controller_cid: TUID = [0; 16];
    check(
        unsafe { component.getControllerClassId(&mut controller_cid) },
        "IComponent::getControllerClassId",
    )?;
    let controller: ComPtr<IEditController> =
        create_instance(factory, &controller_cid, "IEditController")?;
    check(
        unsafe { controller.initialize(context) },
        "IEditController::initialize",
    )?;
    Ok((processor, controller, true))
}

fn stream_ptr(stream: &ComWrapper<MemoryStream>) -> *mut IBStream {
    stream
        .as_com_ref::<IBStream>()
        .expect("MemoryStream implements IBStream")
        .as_ptr()
}

/// The parameter changes of one `process` call, sorted by offset, with a queue per parameter.
struct ChangePlan {
    changes: Vec<ParamChange>,
    /// For each change, the index of its parameter's queue.
    queue_of_change: Vec<usize>,
    /// The distinct parameter ids, one queue each.
    queue_param_ids: Vec<ParamID>,
    /// How many changes each queue receives, i.e. the capacity it needs.
    queue_capacities: Vec<usize>,
}

impl ChangePlan {
    fn new(changes: &[ParamChange]) -> Self {
        let mut sorted = changes.to_vec();
        // Stable, so that several changes at one offset keep the caller's order (last wins).
        sorted.sort_by_key(|c| c.sample_offset);
        let mut queue_param_ids: Vec<ParamID> = Vec::new();
        let mut queue_capacities = Vec::new();
        let queue_of_change = sorted
            .iter()
            .map(
                |change| match queue_param_ids.iter().position(|&id| id == change.param_id) {
                    Some(queue) => {
                        queue_capacities[queue] += 1;
                        queue
                    }
                    None => {
                        queue_param_ids.push(change.param_id);
                        queue_capacities.push(1);
                        queue_param_ids.len() - 1
                    }
                },
            )
            .collect();
        ChangePlan {
            changes: sorted,
            queue_of_change,
            queue_param_ids,
            queue_capacities,
        }
    }
}

/// Everything one audio-thread run needs. The buffers are the host's own copies.
struct AudioJob<'a> {
    processor: ProcessorPtr,
    /// Call `setProcessing(true)` first.
    start_processing: bool,
    sample_rate: f64,
    project_time_samples: i64,
    block_sizes: &'a [usize],
    input: &'a mut [Vec<f32>; 2],
    output: &'a mut [Vec<f32>; 2],
    plan: &'a ChangePlan,
}

impl AudioJob<'_> {
    fn run(self) -> HostResult<()> {
        let processor = unsafe { ComRef::from_raw(self.processor.0) }
            .ok_or_else(|| HostError::new("null IAudioProcessor"))?;
        if self.start_processing {
            let result = unsafe { processor.setProcessing(1) };
            // The SDK documents kNotImplemented as an acceptable answer to setProcessing.
            if result != kNotImplemented {
                check(result, "IAudioProcessor::setProcessing(true)")?;
            }
        }

        // Everything the plugin sees is allocated here, before the first block.
        let plan = self.plan;
        let changes = ParameterChanges::new(&plan.queue_param_ids, &plan.queue_capacities);
        let changes_ptr = changes
            .as_com_ref::<IParameterChanges>()
            .expect("ParameterChanges implements IParameterChanges")
            .as_ptr();
        let mut context: ProcessContext = unsafe { std::mem::zeroed() };
        // The flag enums are `c_uint` on Linux but `c_int` on Windows, hence the cast.
        #[allow(clippy::unnecessary_cast)]
        {
            context.state =
                (kPlaying | kTempoValid | kTimeSigValid | kContTimeValid | kProjectTimeMusicValid)
                    as u32;
        }
        context.sampleRate = self.sample_rate;
        context.tempo = TEMPO_BPM;
        context.timeSigNumerator = 4;
        context.timeSigDenominator = 4;
        let input_base = [self.input[0].as_mut_ptr(), self.input[1].as_mut_ptr()];
        let output_base = [self.output[0].as_mut_ptr(), self.output[1].as_mut_ptr()];

        let mut next_change = 0;
        let mut block_start = 0usize;
        for &block_len in self.block_sizes {
            let block_end = block_start + block_len;
            let first_change = next_change;
            while next_change < plan.changes.len()
                && plan.changes[next_change].sample_offset < block_end
            {
                next_change += 1;
            }
            changes.load_block((first_change..next_change).map(|k| {
                let change = &plan.changes[k];
                // Changes before this block were delivered in earlier blocks, so the offset is
                // at least `block_start`.
                let offset = (change.sample_offset - block_start) as i32;
                (plan.queue_of_change[k], offset, change.value)
            }));

            let time_samples = self.project_time_samples + block_start as i64;
            context.projectTimeSamples = time_samples;
            context.continousTimeSamples = time_samples;
            context.projectTimeMusic = time_samples as f64 / self.sample_rate * TEMPO_BPM / 60.0;

            // Rebuilt per block so that no pointer the plugin sees is invalidated by a write.
            let mut input_channels = input_base.map(|channel| unsafe { channel.add(block_start) });
            let mut output_channels =
                output_base.map(|channel| unsafe { channel.add(block_start) });
            let mut input_bus = stereo_bus(&mut input_channels);
            let mut output_bus = stereo_bus(&mut output_channels);
            let mut data = ProcessData {
                processMode: kRealtime as i32,
                symbolicSampleSize: kSample32 as i32,
                numSamples: block_len as i32,
                numInputs: 1,
                numOutputs: 1,
                inputs: &mut input_bus,
                outputs: &mut output_bus,
                inputParameterChanges: changes_ptr,
                outputParameterChanges: std::ptr::null_mut(),
                inputEvents: std::ptr::null_mut(),
                outputEvents: std::ptr::null_mut(),
                processContext: &mut context,
            };
            let result = unsafe { processor.process(&mut data) };
            check(
                result,
                &format!("IAudioProcessor::process (samples {block_start}..{block_end})"),
            )?;
            block_start = block_end;
        }

        // Changes at or after the end of the signal (and every change of a flush-only job) are
        // delivered by a parameter flush, so the plugin ends in the state the host asked for.
        if next_change < plan.changes.len() {
            changes.load_block(
                (next_change..plan.changes.len())
                    .map(|k| (plan.queue_of_change[k], 0, plan.changes[k].value)),
            );
            let mut data = ProcessData {
                processMode: kRealtime as i32,
                symbolicSampleSize: kSample32 as i32,
                numSamples: 0,
                numInputs: 0,
                numOutputs: 0,
                inputs: std::ptr::null_mut(),
                outputs: std::ptr::null_mut(),
                inputParameterChanges: changes_ptr,
                outputParameterChanges: std::ptr::null_mut(),
                inputEvents: std::ptr::null_mut(),
                outputEvents: std::ptr::null_mut(),
                processContext: &mut context,
            };
            check(
                unsafe { processor.process(&mut data) },
                "IAudioProcessor::process (parameter flush)",
            )?;
        }
        Ok(())
    }
}

fn stereo_bus(channels: &mut [*mut f32; 2]) -> AudioBusBuffers {
    AudioBusBuffers {
        numChannels: 2,
        silenceFlags: 0,
        __field0: AudioBusBuffers__type0 {
            channelBuffers32: channels.as_mut_ptr(),
        },
    }
}

impl PluginHost for Vst3Host {
    fn plugin_name(&self) -> String {
        self.name.clone()
    }

    fn params(&self) -> HostResult<Vec<ParamInfo>> {
        Ok(self
            .parameter_infos()?
            .iter()
            .map(|info| ParamInfo {
                id: info.id,
                name: utf16_to_string(&info.title),
                // The VST3 wire domain is always normalised.
                min_value: 0.0,
                max_value: 1.0,
                default_value: info.defaultNormalizedValue,
                step_count: info.stepCount.max(0) as u32,
                is_bypass: info.flags & kIsBypass != 0,
                is_automatable: info.flags & kCanAutomate != 0,
                is_list: info.flags & kIsList != 0,
            })
            .collect())
    }

    fn param_value(&self, param_id: u32) -> HostResult<f64> {
        self.check_param_id(param_id)?;
        Ok(unsafe { self.plugin().controller.getParamNormalized(param_id) })
    }

    fn set_param_value(&mut self, param_id: u32, value: f64) -> HostResult<()> {
        self.check_param_value(param_id, value)?;
        check(
            unsafe { self.plugin().controller.setParamNormalized(param_id, value) },
            &format!("IEditController::setParamNormalized({param_id}, {value})"),
        )?;
        // The processor learns of the value only through process(): at offset 0 of the next
        // block. While processing is on it is also flushed now, so the processor has it at once
        // whichever way the plugin treats controller-side sets.
        queue_pending(&mut self.pending_changes, param_id, value);
        if self.processing {
            self.flush_params(&[ParamChange {
                sample_offset: 0,
                param_id,
                value,
            }])?;
        }
        Ok(())
    }

    fn value_to_text(&self, param_id: u32, value: f64) -> HostResult<String> {
        self.check_param_id(param_id)?;
        let mut text: String128 = [0; 128];
        check(
            unsafe {
                self.plugin()
                    .controller
                    .getParamStringByValue(param_id, value, &mut text)
            },
            &format!("IEditController::getParamStringByValue({param_id}, {value})"),
        )?;
        // VST3 keeps the unit apart from the value string (nice-plug formats the value without
        // it); a DAW displays both, as CLAP's single display string does.
        let index = self.param_ids.iter().position(|&id| id == param_id);
        let units = index.map_or("", |i| self.param_units[i].as_str());
        Ok(with_units(utf16_to_string(&text), units))
    }

    fn text_to_value(&self, param_id: u32, text: &str) -> HostResult<f64> {
        self.check_param_id(param_id)?;
        let mut units: Vec<TChar> = vec![0; text.encode_utf16().count() + 1];
        copy_to_utf16(text, &mut units);
        let mut value = 0.0;
        check(
            unsafe {
                self.plugin().controller.getParamValueByString(
                    param_id,
                    units.as_mut_ptr(),
                    &mut value,
                )
            },
            &format!("IEditController::getParamValueByString({param_id}, {text:?})"),
        )?;
        Ok(value)
    }

    fn activate(&mut self, sample_rate: f64, max_block_size: usize) -> HostResult<()> {
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return Err(HostError::new(format!("invalid sample rate {sample_rate}")));
        }
        if max_block_size == 0 || max_block_size > i32::MAX as usize {
            return Err(HostError::new(format!(
                "invalid maximum block size {max_block_size}"
            )));
        }
        self.deactivate()?;
        let plugin = self.plugin();
        let processor = &plugin.processor;
        let component = &plugin.component;

        check(
            unsafe { processor.canProcessSampleSize(kSample32 as i32) },
            "IAudioProcessor::canProcessSampleSize(kSample32)",
        )?;
        let mut setup = ProcessSetup {
            processMode: kRealtime as i32,
            symbolicSampleSize: kSample32 as i32,
            maxSamplesPerBlock: max_block_size as i32,
            sampleRate: sample_rate,
        };
        check(
            unsafe { processor.setupProcessing(&mut setup) },
            "IAudioProcessor::setupProcessing",
        )?;

        let input_buses = unsafe { component.getBusCount(kAudio as i32, kInput as i32) };
        let output_buses = unsafe { component.getBusCount(kAudio as i32, kOutput as i32) };
        if input_buses != 1 || output_buses != 1 {
            return Err(HostError::new(format!(
                "{} has {input_buses} audio input and {output_buses} audio output buses; this \
                 host supports exactly one of each",
                self.name
            )));
        }
        let mut inputs = [SpeakerArr::kStereo];
        let mut outputs = [SpeakerArr::kStereo];
        check(
            unsafe {
                processor.setBusArrangements(inputs.as_mut_ptr(), 1, outputs.as_mut_ptr(), 1)
            },
            "IAudioProcessor::setBusArrangements(stereo in, stereo out)",
        )?;
        check(
            unsafe { component.activateBus(kAudio as i32, kInput as i32, 0, 1) },
            "IComponent::activateBus(audio input 0)",
        )?;
        check(
            unsafe { component.activateBus(kAudio as i32, kOutput as i32, 0, 1) },
            "IComponent::activateBus(audio output 0)",
        )?;
        self.handler.set_in_set_active(true);
        let result = unsafe { component.setActive(1) };
        self.handler.set_in_set_active(false);
        check(result, "IComponent::setActive(true)")?;
        self.active = Some(ActiveConfig {
            sample_rate,
            max_block_size,
        });
        self.position_samples = 0;
        self.service_restart_requests();
        Ok(())
    }

    fn deactivate(&mut self) -> HostResult<()> {
        if self.active.take().is_none() {
            return Ok(());
        }
        let was_processing = std::mem::replace(&mut self.processing, false);
        let plugin = self.plugin();
        if was_processing {
            let result = unsafe { plugin.processor.setProcessing(0) };
            if result != kNotImplemented {
                check(result, "IAudioProcessor::setProcessing(false)")?;
            }
        }
        self.handler.set_in_set_active(true);
        let result = unsafe { plugin.component.setActive(0) };
        self.handler.set_in_set_active(false);
        check(result, "IComponent::setActive(false)")?;
        self.service_restart_requests();
        Ok(())
    }

    fn latency_samples(&self) -> HostResult<u32> {
        self.service_restart_requests();
        Ok(unsafe { self.plugin().processor.getLatencySamples() })
    }

    fn process(
        &mut self,
        input: [&[f32]; 2],
        schedule: &BlockSchedule,
        changes: &[ParamChange],
    ) -> HostResult<[Vec<f32>; 2]> {
        let active = self
            .active
            .ok_or_else(|| HostError::new("process called before activate"))?;
        let [left, right] = input;
        if left.len() != right.len() {
            return Err(HostError::new(format!(
                "input channels differ in length ({} and {})",
                left.len(),
                right.len()
            )));
        }
        let valid_schedule = match schedule {
            BlockSchedule::Fixed(n) => *n > 0,
            BlockSchedule::Cycle(sizes) => !sizes.is_empty() && !sizes.contains(&0),
        };
        if !valid_schedule {
            return Err(HostError::new(format!(
                "invalid block schedule {schedule:?}: block sizes must be positive"
            )));
        }
        let num_samples = left.len();
        let block_sizes = schedule.block_sizes(num_samples);
        if let Some(&too_big) = block_sizes.iter().find(|&&n| n > active.max_block_size) {
            return Err(HostError::new(format!(
                "block of {too_big} samples exceeds the maximum block size {} given to activate",
                active.max_block_size
            )));
        }
        for change in changes {
            self.check_param_value(change.param_id, change.value)?;
        }

        // The plugin's own edits (performEdit) go back to the processor like a user's, as a DAW
        // sends them.
        for (param_id, value) in self.handler.take_plugin_edits() {
            queue_pending(&mut self.pending_changes, param_id, value);
        }
        // Values set outside processing come first at offset 0, so that a change the caller
        // schedules at offset 0 wins.
        let all_changes: Vec<ParamChange> = self
            .pending_changes
            .iter()
            .map(|&(param_id, value)| ParamChange {
                sample_offset: 0,
                param_id,
                value,
            })
            .chain(changes.iter().copied())
            .collect();
        let plan = ChangePlan::new(&all_changes);

        let mut input = [left.to_vec(), right.to_vec()];
        let mut output = [vec![0.0; num_samples], vec![0.0; num_samples]];
        if !block_sizes.is_empty() || !plan.changes.is_empty() {
            let start_processing = !self.processing && !block_sizes.is_empty();
            self.run_on_audio_thread(AudioJob {
                processor: ProcessorPtr(self.plugin().processor.as_ptr()),
                start_processing,
                sample_rate: active.sample_rate,
                project_time_samples: self.position_samples,
                block_sizes: &block_sizes,
                input: &mut input,
                output: &mut output,
                plan: &plan,
            })?;
            self.processing |= start_processing;
            self.pending_changes.clear();
        }
        self.position_samples += num_samples as i64;
        Ok(output)
    }

    fn save_state(&mut self) -> HostResult<Vec<u8>> {
        let stream = ComWrapper::new(MemoryStream::new(Vec::new()));
        check(
            unsafe { self.plugin().component.getState(stream_ptr(&stream)) },
            "IComponent::getState",
        )?;
        Ok(stream.take_data())
    }

    fn load_state(&mut self, state: &[u8]) -> HostResult<()> {
        let stream = ComWrapper::new(MemoryStream::new(state.to_vec()));
        let plugin = self.plugin();
        check(
            unsafe { plugin.component.setState(stream_ptr(&stream)) },
            "IComponent::setState",
        )?;
        // As a host does for any plugin: the controller mirrors the component's state. nice-plug's
        // single component ignores this (its controller is the component).
        stream.rewind();
        let result = unsafe { plugin.controller.setComponentState(stream_ptr(&stream)) };
        if result != kNotImplemented {
            check(result, "IEditController::setComponentState")?;
        }
        // The loaded state supersedes values set before it.
        self.pending_changes.clear();
        self.service_restart_requests();
        Ok(())
    }

    fn set_transport_position(&mut self, position_samples: i64) {
        self.position_samples = position_samples;
    }

    fn set_process_on_main_thread(&mut self, on_main_thread: bool) {
        self.process_on_main_thread = on_main_thread;
    }
}

#[cfg(test)]
mod tests {
    use super::with_units;

    #[test]
    fn units_join_like_a_daw_shows_them() {
        assert_eq!(with_units("-6.00".into(), " dB"), "-6.00 dB");
        assert_eq!(with_units("-6.00".into(), "dB"), "-6.00 dB");
        assert_eq!(with_units("-6.00 dB".into(), " dB"), "-6.00 dB");
        assert_eq!(with_units("On".into(), ""), "On");
    }
}
