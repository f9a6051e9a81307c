//! The COM objects a VST3 host hands to a plugin: the host context (`IHostApplication`), the
//! component handler that receives restart requests, a memory `IBStream` for state, and the
//! `IParameterChanges`/`IParamValueQueue` pair that carries sample-accurate automation into
//! `IAudioProcessor::process`.
//!
//! Interface semantics follow the VST 3 SDK headers (`pluginterfaces/base/ibstream.h`,
//! `pluginterfaces/vst/ivstparameterchanges.h`, `ivsteditcontroller.h`, `ivsthostapplication.h`)
//! and the SDK's own host-side implementations (`public.sdk/source/common/memorystream.cpp`,
//! `public.sdk/source/vst/hosting/parameterchanges.cpp`).

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::Mutex;

use vst3::Steinberg::IBStream_::IStreamSeekMode_::{kIBSeekCur, kIBSeekEnd, kIBSeekSet};
use vst3::Steinberg::Vst::{
    IComponentHandler, IComponentHandlerTrait, IHostApplication, IHostApplicationTrait,
    IParamValueQueue, IParamValueQueueTrait, IParameterChanges, IParameterChangesTrait, ParamID,
    ParamValue, String128, TChar,
};
use vst3::Steinberg::{
    int32, int64, kInvalidArgument, kNotImplemented, kResultFalse, kResultOk, tresult, IBStream,
    IBStreamTrait, TUID,
};
use vst3::{Class, ComWrapper};

/// Copies `text` into a fixed-size, NUL-terminated UTF-16 buffer, truncating if needed.
pub(crate) fn copy_to_utf16(text: &str, dest: &mut [TChar]) {
    let Some(capacity) = dest.len().checked_sub(1) else {
        return;
    };
    let mut len = 0;
    for (unit, slot) in text.encode_utf16().take(capacity).zip(dest.iter_mut()) {
        *slot = unit;
        len += 1;
    }
    dest[len] = 0;
}

/// Decodes a NUL-terminated (or full) UTF-16 buffer.
pub(crate) fn utf16_to_string(units: &[TChar]) -> String {
    let len = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..len])
}

/// The host context passed to `IPluginBase::initialize`.
pub(crate) struct HostApplication;

impl Class for HostApplication {
    type Interfaces = (IHostApplication,);
}

impl IHostApplicationTrait for HostApplication {
    unsafe fn getName(&self, name: *mut String128) -> tresult {
        if name.is_null() {
            return kInvalidArgument;
        }
        copy_to_utf16("stem-host", unsafe { &mut *name });
        kResultOk
    }

    unsafe fn createInstance(
        &self,
        _cid: *mut TUID,
        _iid: *mut TUID,
        obj: *mut *mut c_void,
    ) -> tresult {
        // Host-created IMessage/IAttributeList objects are only needed to connect a separate
        // edit controller to its processor through IConnectionPoint, which single-component
        // plugins (every nice-plug plugin) never do.
        if !obj.is_null() {
            unsafe { *obj = std::ptr::null_mut() };
        }
        kNotImplemented
    }
}

/// Receives `IComponentHandler` calls. Plugins call it from whatever thread they like (nice-plug
/// forwards restart requests raised on the audio thread through its own worker thread), so all
/// state is atomic and the owning host services the requests on its own thread.
pub(crate) struct ComponentHandler {
    /// `RestartFlags` accumulated since the host last serviced them.
    pending_restart_flags: AtomicI32,
    /// The host is inside `IComponent::setActive()`.
    in_set_active: AtomicBool,
    /// `restartComponent` calls made from inside `setActive()`: a DAW that answers a restart by
    /// calling `setActive()` again (Ardour does) re-enters the plugin.
    restarts_inside_set_active: AtomicU32,
    /// Edits the plugin made itself (`performEdit`, from its editor or its own GUI-thread
    /// tasks), not yet passed back to the processor. A DAW records them and sends them through
    /// `process()`, as nice-plug's controller expects while processing.
    plugin_edits: Mutex<Vec<(ParamID, ParamValue)>>,
}

impl ComponentHandler {
    pub(crate) fn new() -> Self {
        ComponentHandler {
            pending_restart_flags: AtomicI32::new(0),
            in_set_active: AtomicBool::new(false),
            restarts_inside_set_active: AtomicU32::new(0),
            plugin_edits: Mutex::new(Vec::new()),
        }
    }

    /// Takes the edits the plugin made since the last call, in the order it made them.
    pub(crate) fn take_plugin_edits(&self) -> Vec<(ParamID, ParamValue)> {
        std::mem::take(&mut *self.plugin_edits.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Marks the start and end of a `setActive()` call.
    pub(crate) fn set_in_set_active(&self, inside: bool) {
        self.in_set_active.store(inside, Ordering::SeqCst);
    }

    /// How many restart requests arrived from inside `setActive()`.
    pub(crate) fn restarts_inside_set_active(&self) -> u32 {
        self.restarts_inside_set_active.load(Ordering::SeqCst)
    }

    /// Takes the restart flags requested since the last call.
    pub(crate) fn take_restart_flags(&self) -> i32 {
        self.pending_restart_flags.swap(0, Ordering::AcqRel)
    }
}

impl Class for ComponentHandler {
    type Interfaces = (IComponentHandler,);
}

impl IComponentHandlerTrait for ComponentHandler {
    unsafe fn beginEdit(&self, _id: ParamID) -> tresult {
        kResultOk
    }

    unsafe fn performEdit(&self, id: ParamID, value_normalized: ParamValue) -> tresult {
        self.plugin_edits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, value_normalized));
        kResultOk
    }

    unsafe fn endEdit(&self, _id: ParamID) -> tresult {
        kResultOk
    }

    unsafe fn restartComponent(&self, flags: int32) -> tresult {
        if self.in_set_active.load(Ordering::SeqCst) {
            self.restarts_inside_set_active
                .fetch_add(1, Ordering::SeqCst);
        }
        self.pending_restart_flags.fetch_or(flags, Ordering::AcqRel);
        kResultOk
    }
}

/// A growable in-memory `IBStream`, the equivalent of the SDK's `MemoryStream`. Used on one
/// thread only (the host's), for the duration of a `getState`/`setState` call.
pub(crate) struct MemoryStream {
    data: RefCell<Vec<u8>>,
    position: Cell<usize>,
}

impl MemoryStream {
    pub(crate) fn new(data: Vec<u8>) -> Self {
        MemoryStream {
            data: RefCell::new(data),
            position: Cell::new(0),
        }
    }

    pub(crate) fn rewind(&self) {
        self.position.set(0);
    }

    pub(crate) fn take_data(&self) -> Vec<u8> {
        std::mem::take(&mut *self.data.borrow_mut())
    }
}

impl Class for MemoryStream {
    type Interfaces = (IBStream,);
}

impl IBStreamTrait for MemoryStream {
    unsafe fn read(
        &self,
        buffer: *mut c_void,
        num_bytes: int32,
        num_bytes_read: *mut int32,
    ) -> tresult {
        if num_bytes < 0 || (buffer.is_null() && num_bytes > 0) {
            return kInvalidArgument;
        }
        let data = self.data.borrow();
        let start = self.position.get().min(data.len());
        let count = (num_bytes as usize).min(data.len() - start);
        if count > 0 {
            unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr().add(start), buffer as *mut u8, count)
            };
        }
        self.position.set(start + count);
        if !num_bytes_read.is_null() {
            unsafe { *num_bytes_read = count as int32 };
        }
        kResultOk
    }

    unsafe fn write(
        &self,
        buffer: *mut c_void,
        num_bytes: int32,
        num_bytes_written: *mut int32,
    ) -> tresult {
        if num_bytes < 0 || (buffer.is_null() && num_bytes > 0) {
            return kInvalidArgument;
        }
        let count = num_bytes as usize;
        let mut data = self.data.borrow_mut();
        let start = self.position.get();
        let end = start + count;
        if data.len() < end {
            // Writing past the end (possibly after seeking beyond it) zero-fills the gap.
            data.resize(end, 0);
        }
        if count > 0 {
            unsafe {
                std::ptr::copy_nonoverlapping(
                    buffer as *const u8,
                    data.as_mut_ptr().add(start),
                    count,
                )
            };
        }
        self.position.set(end);
        if !num_bytes_written.is_null() {
            unsafe { *num_bytes_written = count as int32 };
        }
        kResultOk
    }

    unsafe fn seek(&self, pos: int64, mode: int32, result: *mut int64) -> tresult {
        let base = match mode {
            m if m == kIBSeekSet as int32 => 0i64,
            m if m == kIBSeekCur as int32 => self.position.get() as i64,
            m if m == kIBSeekEnd as int32 => self.data.borrow().len() as i64,
            _ => return kInvalidArgument,
        };
        let Some(new_position) = base.checked_add(pos).filter(|&p| p >= 0) else {
            return kInvalidArgument;
        };
        self.position.set(new_position as usize);
        if !result.is_null() {
            unsafe { *result = new_position };
        }
        kResultOk
    }

    unsafe fn tell(&self, pos: *mut int64) -> tresult {
        if pos.is_null() {
            return kInvalidArgument;
        }
        unsafe { *pos = self.position.get() as int64 };
        kResultOk
    }
}

/// The automation points of one parameter within the current block. Read-only for the plugin:
/// the host fills it between `process` calls on the audio thread, never while the plugin reads.
pub(crate) struct ParamValueQueue {
    param_id: ParamID,
    /// `(sample offset within the block, normalised value)`, sorted by offset. Its capacity is
    /// reserved for every change of this parameter in the whole `process` call, so filling it on
    /// the audio thread never allocates.
    points: RefCell<Vec<(int32, ParamValue)>>,
}

impl Class for ParamValueQueue {
    type Interfaces = (IParamValueQueue,);
}

impl IParamValueQueueTrait for ParamValueQueue {
    unsafe fn getParameterId(&self) -> ParamID {
        self.param_id
    }

    unsafe fn getPointCount(&self) -> int32 {
        self.points.borrow().len() as int32
    }

    unsafe fn getPoint(
        &self,
        index: int32,
        sample_offset: *mut int32,
        value: *mut ParamValue,
    ) -> tresult {
        if sample_offset.is_null() || value.is_null() {
            return kInvalidArgument;
        }
        let points = self.points.borrow();
        match usize::try_from(index).ok().and_then(|i| points.get(i)) {
            Some(&(offset, point_value)) => {
                unsafe {
                    *sample_offset = offset;
                    *value = point_value;
                }
                kResultOk
            }
            None => kInvalidArgument,
        }
    }

    unsafe fn addPoint(&self, _offset: int32, _value: ParamValue, _index: *mut int32) -> tresult {
        // This is the host's input queue; the plugin has no business writing to it.
        kResultFalse
    }
}

/// The `inputParameterChanges` of every block of one `process` call.
///
/// Built on the calling thread's behalf but on the audio thread (it is neither `Send` nor
/// `Sync`), with one preallocated queue per parameter that changes anywhere in the call; before
/// each block [`ParameterChanges::load_block`] moves the points that fall inside the block into
/// the queues, relative to the block start.
pub(crate) struct ParameterChanges {
    queues: Vec<ComWrapper<ParamValueQueue>>,
    /// Indices into `queues` of the queues holding points in the current block, in order of
    /// first appearance. Capacity `queues.len()`.
    active: RefCell<Vec<usize>>,
}

impl ParameterChanges {
    /// Creates empty queues for `param_ids` (distinct), reserving `capacities[i]` points each.
    pub(crate) fn new(param_ids: &[ParamID], capacities: &[usize]) -> ComWrapper<Self> {
        let queues = param_ids
            .iter()
            .zip(capacities)
            .map(|(&param_id, &capacity)| {
                ComWrapper::new(ParamValueQueue {
                    param_id,
                    points: RefCell::new(Vec::with_capacity(capacity)),
                })
            })
            .collect::<Vec<_>>();
        let active = RefCell::new(Vec::with_capacity(queues.len()));
        ComWrapper::new(ParameterChanges { queues, active })
    }

    /// Replaces the queues' contents with `points`: `(queue index, offset in block, value)`,
    /// sorted by offset. Never allocates when the capacities given to [`Self::new`] hold.
    pub(crate) fn load_block(&self, points: impl Iterator<Item = (usize, int32, ParamValue)>) {
        let mut active = self.active.borrow_mut();
        for &queue in active.iter() {
            self.queues[queue].points.borrow_mut().clear();
        }
        active.clear();
        for (queue, offset, value) in points {
            let mut queue_points = self.queues[queue].points.borrow_mut();
            if queue_points.is_empty() {
                active.push(queue);
            }
            queue_points.push((offset, value));
        }
    }
}

impl Class for ParameterChanges {
    type Interfaces = (IParameterChanges,);
}

impl IParameterChangesTrait for ParameterChanges {
    unsafe fn getParameterCount(&self) -> int32 {
        self.active.borrow().len() as int32
    }

    unsafe fn getParameterData(&self, index: int32) -> *mut IParamValueQueue {
        // As in the SDK, the returned pointer is borrowed (no AddRef): it stays valid for the
        // duration of the process call.
        let active = self.active.borrow();
        match usize::try_from(index).ok().and_then(|i| active.get(i)) {
            Some(&queue) => self.queues[queue]
                .as_com_ref::<IParamValueQueue>()
                .map_or(std::ptr::null_mut(), |r| r.as_ptr()),
            None => std::ptr::null_mut(),
        }
    }

    unsafe fn addParameterData(
        &self,
        _id: *const ParamID,
        index: *mut int32,
    ) -> *mut IParamValueQueue {
        if !index.is_null() {
            unsafe { *index = -1 };
        }
        std::ptr::null_mut()
    }
}
