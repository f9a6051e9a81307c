//! A minimal offline LV2 host for the throughput bench's anchors, through the system's lilv
//! (`liblilv-0.so.0`, which `lv2file` depends on), loaded at run time so nothing needs its
//! headers to build. Why not `lv2file`: LSP's plugins (1.2.5, Debian 12) crash inside it while
//! they are instantiated, because it offers no options feature; they run here. Each anchor runs
//! in a child process (the bench binary again, [`CHILD_FLAG`]), so a plugin that crashes costs
//! its figure, not the bench; only `run()` is timed, in the child's thread CPU time, so no file
//! I/O or start-up is in the figure.
//!
//! The host gives what LSP and x42 ask for: URID map and unmap, options (block lengths and the
//! sequence size), bounded block length; atom ports get an empty sequence (input) or room for
//! one (output); control ports their default unless a `symbol=value` argument sets them.

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// The bench binary runs as an anchor's child when its first argument is this.
pub const CHILD_FLAG: &str = "--lv2-child";

const URID_MAP: &CStr = c"http://lv2plug.in/ns/ext/urid#map";
const URID_UNMAP: &CStr = c"http://lv2plug.in/ns/ext/urid#unmap";
const OPTIONS: &CStr = c"http://lv2plug.in/ns/ext/options#options";
const BOUNDED_BLOCK: &CStr = c"http://lv2plug.in/ns/ext/buf-size#boundedBlockLength";
const MAX_BLOCK: &CStr = c"http://lv2plug.in/ns/ext/buf-size#maxBlockLength";
const MIN_BLOCK: &CStr = c"http://lv2plug.in/ns/ext/buf-size#minBlockLength";
const SEQUENCE_SIZE: &CStr = c"http://lv2plug.in/ns/ext/buf-size#sequenceSize";
const ATOM_INT: &CStr = c"http://lv2plug.in/ns/ext/atom#Int";
const ATOM_SEQUENCE: &CStr = c"http://lv2plug.in/ns/ext/atom#Sequence";
const ATOM_CHUNK: &CStr = c"http://lv2plug.in/ns/ext/atom#Chunk";
const ATOM_PORT: &CStr = c"http://lv2plug.in/ns/ext/atom#AtomPort";
const AUDIO_PORT: &CStr = c"http://lv2plug.in/ns/lv2core#AudioPort";
const CONTROL_PORT: &CStr = c"http://lv2plug.in/ns/lv2core#ControlPort";
const INPUT_PORT: &CStr = c"http://lv2plug.in/ns/lv2core#InputPort";

/// Bytes of each atom port's buffer.
const SEQUENCE_BYTES: usize = 1 << 16;

#[repr(C)]
struct Feature {
    uri: *const c_char,
    data: *mut c_void,
}

#[repr(C)]
struct Descriptor {
    uri: *const c_char,
    instantiate: *const c_void,
    connect_port: unsafe extern "C" fn(*mut c_void, u32, *mut c_void),
    activate: Option<unsafe extern "C" fn(*mut c_void)>,
    run: unsafe extern "C" fn(*mut c_void, u32),
    deactivate: Option<unsafe extern "C" fn(*mut c_void)>,
    cleanup: *const c_void,
    extension_data: *const c_void,
}

/// `LilvInstance` (public in lilv.h, whose instance calls are inline).
#[repr(C)]
struct Instance {
    descriptor: *const Descriptor,
    handle: *mut c_void,
    pimpl: *mut c_void,
}

#[repr(C)]
struct UridMap {
    handle: *mut c_void,
    map: unsafe extern "C" fn(*mut c_void, *const c_char) -> u32,
}

#[repr(C)]
struct UridUnmap {
    handle: *mut c_void,
    unmap: unsafe extern "C" fn(*mut c_void, u32) -> *const c_char,
}

#[repr(C)]
struct OptionsOption {
    context: u32,
    subject: u32,
    key: u32,
    size: u32,
    value_type: u32,
    value: *const c_void,
}

/// The URIs mapped so far; URID `n` is `URIS[n - 1]`.
static URIS: Mutex<Vec<CString>> = Mutex::new(Vec::new());

fn map_uri(uri: &CStr) -> u32 {
    let mut uris = URIS.lock().unwrap_or_else(|e| e.into_inner());
    match uris.iter().position(|u| u.as_c_str() == uri) {
        Some(i) => i as u32 + 1,
        None => {
            uris.push(uri.to_owned());
            uris.len() as u32
        }
    }
}

unsafe extern "C" fn map(_: *mut c_void, uri: *const c_char) -> u32 {
    map_uri(CStr::from_ptr(uri))
}

unsafe extern "C" fn unmap(_: *mut c_void, urid: u32) -> *const c_char {
    let uris = URIS.lock().unwrap_or_else(|e| e.into_inner());
    match uris.get((urid as usize).wrapping_sub(1)) {
        // The strings never move or go while the process runs (entries are only added).
        Some(u) => u.as_ptr(),
        None => std::ptr::null(),
    }
}

/// lilv's functions this host calls.
struct Lilv {
    _lib: libloading::Library,
    world_new: unsafe extern "C" fn() -> *mut c_void,
    world_load_all: unsafe extern "C" fn(*mut c_void),
    new_uri: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
    all_plugins: unsafe extern "C" fn(*mut c_void) -> *const c_void,
    plugin_by_uri: unsafe extern "C" fn(*const c_void, *const c_void) -> *const c_void,
    instantiate: unsafe extern "C" fn(*const c_void, f64, *const *const Feature) -> *mut Instance,
    num_ports: unsafe extern "C" fn(*const c_void) -> u32,
    port_ranges: unsafe extern "C" fn(*const c_void, *mut f32, *mut f32, *mut f32),
    port_by_index: unsafe extern "C" fn(*const c_void, u32) -> *const c_void,
    port_symbol: unsafe extern "C" fn(*const c_void, *const c_void) -> *const c_void,
    node_as_string: unsafe extern "C" fn(*const c_void) -> *const c_char,
    port_is_a: unsafe extern "C" fn(*const c_void, *const c_void, *const c_void) -> bool,
}

impl Lilv {
    fn load() -> Result<Self, String> {
        // SAFETY: lilv's initialisers only register its own data.
        let lib = unsafe { libloading::Library::new("liblilv-0.so.0") }
            .map_err(|e| format!("liblilv not installed (apt-get install lv2file): {e}"))?;
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the signatures are lilv 0.24's (lilv.h).
                *unsafe { lib.get($name) }.map_err(|e| format!("liblilv: {e}"))?
            };
        }
        Ok(Self {
            world_new: sym!(b"lilv_world_new\0"),
            world_load_all: sym!(b"lilv_world_load_all\0"),
            new_uri: sym!(b"lilv_new_uri\0"),
            all_plugins: sym!(b"lilv_world_get_all_plugins\0"),
            plugin_by_uri: sym!(b"lilv_plugins_get_by_uri\0"),
            instantiate: sym!(b"lilv_plugin_instantiate\0"),
            num_ports: sym!(b"lilv_plugin_get_num_ports\0"),
            port_ranges: sym!(b"lilv_plugin_get_port_ranges_float\0"),
            port_by_index: sym!(b"lilv_plugin_get_port_by_index\0"),
            port_symbol: sym!(b"lilv_port_get_symbol\0"),
            node_as_string: sym!(b"lilv_node_as_string\0"),
            port_is_a: sym!(b"lilv_port_is_a\0"),
            _lib: lib,
        })
    }
}

/// The child's work: runs `uri` at `sample_rate_hz` over the interleaved stereo `f32` file
/// `input` in `block`-frame blocks with `controls` (`symbol=value`), and returns the CPU time
/// of its `run()` calls. The instance is never freed (the process ends right after).
pub fn run_child(
    uri: &str,
    input: &Path,
    sample_rate_hz: f64,
    block: usize,
    controls: &[String],
    cpu_time: impl Fn() -> Duration,
) -> Result<Duration, String> {
    let lilv = Lilv::load()?;
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let uri = CString::new(uri).map_err(|e| e.to_string())?;
    let mut urid_map = UridMap {
        handle: std::ptr::null_mut(),
        map,
    };
    let mut urid_unmap = UridUnmap {
        handle: std::ptr::null_mut(),
        unmap,
    };
    let (block_length, sequence_size) = (block as i32, SEQUENCE_BYTES as i32);
    let option = |key: &CStr, value: &i32| OptionsOption {
        context: 0,
        subject: 0,
        key: map_uri(key),
        size: 4,
        value_type: map_uri(ATOM_INT),
        value: value as *const i32 as *const c_void,
    };
    let mut options = [
        option(MAX_BLOCK, &block_length),
        option(MIN_BLOCK, &block_length),
        option(SEQUENCE_SIZE, &sequence_size),
        OptionsOption {
            context: 0,
            subject: 0,
            key: 0,
            size: 0,
            value_type: 0,
            value: std::ptr::null(),
        },
    ];
    let features = [
        Feature {
            uri: URID_MAP.as_ptr(),
            data: &mut urid_map as *mut UridMap as *mut c_void,
        },
        Feature {
            uri: URID_UNMAP.as_ptr(),
            data: &mut urid_unmap as *mut UridUnmap as *mut c_void,
        },
        Feature {
            uri: OPTIONS.as_ptr(),
            data: options.as_mut_ptr() as *mut c_void,
        },
        Feature {
            uri: BOUNDED_BLOCK.as_ptr(),
            data: std::ptr::null_mut(),
        },
    ];
    let feature_list: Vec<*const Feature> = features
        .iter()
        .map(|f| f as *const Feature)
        .chain([std::ptr::null()])
        .collect();
    let mut audio_in = [vec![0.0f32; block], vec![0.0f32; block]];
    let mut audio_out = [vec![0.0f32; block], vec![0.0f32; block]];
    // SAFETY: every pointer handed to lilv and the plugin lives until the process ends
    // (buffers below are never dropped before `run` stops being called).
    unsafe {
        let world = (lilv.world_new)();
        (lilv.world_load_all)(world);
        let plugin = (lilv.plugin_by_uri)(
            (lilv.all_plugins)(world),
            (lilv.new_uri)(world, uri.as_ptr()),
        );
        if plugin.is_null() {
            return Err(format!("{} is not installed", uri.to_string_lossy()));
        }
        let instance = (lilv.instantiate)(plugin, sample_rate_hz, feature_list.as_ptr());
        if instance.is_null() {
            return Err("the plugin would not instantiate".into());
        }
        let (descriptor, handle) = (&*(*instance).descriptor, (*instance).handle);
        let ports = (lilv.num_ports)(plugin) as usize;
        let (mut mins, mut maxs, mut defaults) = (
            vec![0.0f32; ports],
            vec![0.0f32; ports],
            vec![0.0f32; ports],
        );
        (lilv.port_ranges)(
            plugin,
            mins.as_mut_ptr(),
            maxs.as_mut_ptr(),
            defaults.as_mut_ptr(),
        );
        let class = |uri: &CStr| (lilv.new_uri)(world, uri.as_ptr()) as *const c_void;
        let (audio, control, input_port, atom) = (
            class(AUDIO_PORT),
            class(CONTROL_PORT),
            class(INPUT_PORT),
            class(ATOM_PORT),
        );
        let mut values: Vec<f32> = defaults
            .iter()
            .map(|&d| if d.is_nan() { 0.0 } else { d })
            .collect();
        // Atom buffers as u64 words, aligned as LV2 requires.
        let mut sequences: Vec<Vec<u64>> = Vec::new();
        let (mut ins, mut outs) = (0, 0);
        for i in 0..ports {
            let port = (lilv.port_by_index)(plugin, i as u32);
            let is_input = (lilv.port_is_a)(plugin, port, input_port);
            let data: *mut c_void = if (lilv.port_is_a)(plugin, port, audio) {
                let buffers = if is_input {
                    &mut audio_in
                } else {
                    &mut audio_out
                };
                let count = if is_input { &mut ins } else { &mut outs };
                let Some(buffer) = buffers.get_mut(*count) else {
                    return Err("more than two audio ports each way".into());
                };
                *count += 1;
                buffer.as_mut_ptr() as *mut c_void
            } else if (lilv.port_is_a)(plugin, port, control) {
                let symbol =
                    CStr::from_ptr((lilv.node_as_string)((lilv.port_symbol)(plugin, port)))
                        .to_string_lossy()
                        .into_owned();
                for c in controls {
                    if let Some((name, value)) = c.split_once('=') {
                        if name == symbol {
                            values[i] = value.parse().map_err(|_| format!("control {c}"))?;
                        }
                    }
                }
                &mut values[i] as *mut f32 as *mut c_void
            } else if (lilv.port_is_a)(plugin, port, atom) {
                let mut words = vec![0u64; SEQUENCE_BYTES / 8];
                // LV2_Atom_Sequence: atom { size, type }, body { unit, pad }.
                let header = words.as_mut_ptr() as *mut u32;
                let (size, kind) = if is_input {
                    (8, map_uri(ATOM_SEQUENCE))
                } else {
                    (SEQUENCE_BYTES as u32 - 8, map_uri(ATOM_CHUNK))
                };
                *header = size;
                *header.add(1) = kind;
                let data = words.as_mut_ptr() as *mut c_void;
                sequences.push(words);
                data
            } else {
                std::ptr::null_mut()
            };
            (descriptor.connect_port)(handle, i as u32, data);
        }
        if (ins, outs) != (2, 2) {
            return Err(format!("not stereo ({ins} in, {outs} out)"));
        }
        if let Some(activate) = descriptor.activate {
            activate(handle);
        }
        let mut cpu = Duration::ZERO;
        for frames in samples.chunks(2 * block) {
            let n = frames.len() / 2;
            for (k, pair) in frames.chunks_exact(2).enumerate() {
                audio_in[0][k] = pair[0];
                audio_in[1][k] = pair[1];
            }
            let before = cpu_time();
            (descriptor.run)(handle, n as u32);
            cpu += cpu_time() - before;
        }
        if let Some(deactivate) = descriptor.deactivate {
            deactivate(handle);
        }
        std::hint::black_box((&audio_out, &sequences, &values));
        Ok(cpu)
    }
}

/// Writes the interleaved stereo `f32` file the children read.
pub fn write_input(path: &Path, left: &[f32], right: &[f32]) {
    let mut bytes = Vec::with_capacity(left.len() * 8);
    for (l, r) in left.iter().zip(right) {
        bytes.extend_from_slice(&l.to_ne_bytes());
        bytes.extend_from_slice(&r.to_ne_bytes());
    }
    std::fs::write(path, bytes).expect("write the anchors' input file");
}

/// CPU time of `run()` for `uri` with `controls` over `input`, in a child process (this
/// binary with [`CHILD_FLAG`]), or why it did not run.
pub fn child_cpu(uri: &str, controls: &[(&str, f32)], input: &Path) -> Result<Duration, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg(CHILD_FLAG).arg(uri).arg(input);
    for (symbol, value) in controls {
        cmd.arg(format!("{symbol}={value}"));
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match (out.status.success(), stdout.trim().parse::<f64>()) {
        (true, Ok(seconds)) => Ok(Duration::from_secs_f64(seconds)),
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.lines().last().unwrap_or("").trim().to_string();
            Err(format!(
                "the LV2 host could not run it ({}) {why}",
                out.status
            ))
        }
    }
}
