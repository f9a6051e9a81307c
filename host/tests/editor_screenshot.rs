//! Both editors open and render headless: each plugin's standalone build runs with
//! `--backend dummy` (no sound card) on an `Xvfb` display with Mesa's software OpenGL, the
//! editor window is captured with imagemagick's `import`, and the capture must have the
//! editor's size and real content (many colours, not one flat fill). Then the display's scale
//! is set to 2 (`Xft.dpi: 192`, what HiDPI desktops publish and baseview reads) and the
//! Stem Channel editor must open at twice its size in physical pixels: host/system scaling is
//! honoured. In between, the Stem Channel's stem-type selector is clicked (xdotool) to load
//! the Drums starting points, which must visibly change the editor. The PNGs stay in
//! `target/screenshots/` for people to look at.
//!
//! `cargo xtask test` builds the standalone binaries (debug, into `target/test-bundles/`) and
//! points `STEM_STANDALONE_DIR` at them. Without `Xvfb` or imagemagick the test is skipped with
//! a loud message, except under `CI=true`, where it fails: CI must prove the editors render.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};
use stem_host::BlockSchedule;
use stem_plugin_common::link::{now_ms, LinkGroup};

mod support;

/// Binary, window title (the plugin's name), screenshot name, expected window size in
/// logical pixels at scale 1 (the editors' default size, `DEFAULT_EDITOR_SIZE` in
/// `stem_plugin_common::widgets::window`).
const EDITORS: [(&str, &str, &str, (u32, u32)); 2] = [
    (
        "stem-channel-standalone",
        "Stem Channel",
        "stem-channel",
        (1000, 640),
    ),
    (
        "stem-master-standalone",
        "Stem Master",
        "stem-master",
        (1000, 640),
    ),
];

/// A rendered editor has text, meters, curves and panels: far more than a handful of colours.
/// An unrendered or cleared window has one or two.
const MIN_DISTINCT_COLOURS: u32 = 200;
/// Standard deviation of the grey levels (0..1): a flat fill has 0, a dark editor with a few
/// panels about 0.03.
const MIN_GREY_STDDEV: f64 = 0.015;
/// Where the Stem Channel header's stem-type selector is, and where "Drums" (the first entry)
/// appears in its list, in pixels at scale 1 (from `stem-channel.png`).
const STEM_SELECTOR_PX: (u32, u32) = (250, 20);
const STEM_SELECTOR_DRUMS_PX: (u32, u32) = (220, 48);
/// The section panels below the EQ (compressor, mid/side, saturation, output) as
/// `WxH+X+Y` at scale 1: the selector's list never covers them, and the drum preset changes
/// their knobs and switches (about 4,400 pixels when measured). An open list or a stray hover
/// changes none of them.
const SECTIONS_REGION: &str = "980x220+10+410";
const MIN_CHANGED_PIXELS: u64 = 1_500;
/// The Stem Master header's "Reference" button, and the path field of the reference window
/// (which opens at `REFERENCE_WINDOW_POS` in `stem_master::reference::window`), in pixels at
/// scale 1 (from `stem-master-reference.png`).
const REFERENCE_BUTTON_PX: (u32, u32) = (496, 20);
const REFERENCE_PATH_FIELD_PX: (u32, u32) = (420, 236);
/// The reference window's first slot row: "empty" becomes the file's name, length and rate
/// and a Remove button (1,631 pixels when measured; nothing else in the row moves).
const REFERENCE_SLOTS_REGION: &str = "540x24+205+108";
const MIN_REFERENCE_CHANGED_PIXELS: u64 = 800;
/// The Stem Master header's "Link" button, and the Link window's table of stems (which opens
/// at `LINK_WINDOW_POS` in `stem_master::link::window`), in pixels at scale 1 (from
/// `stem-master-link.png`): with five linked Stem Channels it lists five rows and their
/// low-end conflicts where, with none, it says there is no stem.
const LINK_BUTTON_PX: (u32, u32) = (558, 20);
const LINK_TABLE_REGION: &str = "700x150+125+160";
const MIN_LINK_CHANGED_PIXELS: u64 = 3_000;
/// The stems the screenshot's channels play: a kick and a bass that share the low end, keys,
/// vocals-like noise and an FX bed.
const LINKED_STEMS: [&str; 5] = ["Kick", "Bass", "Keys", "Vocals", "FX"];

/// The number of pixels that differ between the `region`s of two captures.
fn changed_pixels(a: &Path, b: &Path, region: &str) -> u64 {
    let crop = |path: &Path| format!("{}[{region}]", path.display());
    // `compare` prints the count on stderr and exits 1 when the images differ.
    let output = Command::new("compare")
        .args(["-metric", "AE"])
        .arg(crop(a))
        .arg(crop(b))
        .arg("null:")
        .output()
        .expect("running imagemagick's compare");
    let text = String::from_utf8_lossy(&output.stderr);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("compare printed {text:?}")) as u64
}

/// The X resource HiDPI desktops set for a scale factor of 2 (96 dpi = scale 1).
const HIDPI_RESOURCES: &str = "Xft.dpi: 192";
/// Software OpenGL on a loaded 2-core machine can take a while for the first frame.
const RENDER_TIMEOUT: Duration = Duration::from_secs(60);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `program` can be started at all.
fn available(program: &str, probe_arg: &str) -> bool {
    Command::new(program)
        .arg(probe_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn standalone_dir() -> PathBuf {
    let dir = std::env::var_os("STEM_STANDALONE_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-bundles/debug")
        });
    for (binary, ..) in EDITORS {
        assert!(
            dir.join(binary).is_file(),
            "no {binary} in {}: run the suite with `cargo xtask test`, which builds the \
             standalone editors",
            dir.display()
        );
    }
    dir
}

/// Kills (and reaps) a child process when dropped, so a failing assertion never leaves an X
/// server or a plugin running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `Xvfb` on a free display (it picks one itself with `-displayfd`, so parallel runs
/// never collide) and returns it with the display name.
fn start_xvfb() -> (Reaped, String) {
    let mut child = Command::new("Xvfb")
        // Large enough for the 2x capture.
        .args(["-displayfd", "1", "-screen", "0", "2560x1600x24"])
        .args(["+extension", "GLX", "-nolisten", "tcp", "-noreset"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting Xvfb");
    let stdout = child.stdout.take().expect("Xvfb stdout");
    let server = Reaped(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading Xvfb's display number");
    let number = line.trim();
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "Xvfb did not report a display number (got {line:?})"
    );
    (server, format!(":{number}"))
}

/// `(width, height, distinct colours, grey standard deviation)` of an image.
fn image_stats(path: &Path) -> Option<(u32, u32, u32, f64)> {
    let output = Command::new("identify")
        .args(["-format", "%w %h %k %[fx:standard_deviation]"])
        .arg(path)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    Some((
        fields.next()?.parse().ok()?,
        fields.next()?.parse().ok()?,
        fields.next()?.parse().ok()?,
        fields.next()?.parse().ok()?,
    ))
}

/// What the test does in an editor, as a user would.
enum Action {
    /// A click at window coordinates in pixels (the window sits at the screen's origin on a
    /// bare X server).
    Click(u32, u32),
    /// Typed text (into the field that has the focus).
    Type(String),
    /// A key by its X name (`Return`).
    Key(&'static str),
}

fn xdotool(display: &str, args: &[&str]) -> bool {
    Command::new("xdotool")
        .env("DISPLAY", display)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Opens one editor on `display`, waits until its window shows rendered content, performs
/// `actions`, saves the capture to `png` and returns its statistics.
fn capture(
    binary: &Path,
    title: &str,
    display: &str,
    png: &Path,
    actions: &[Action],
) -> (u32, u32, u32, f64) {
    capture_with_env(binary, title, display, png, actions, &[])
}

/// [`capture`] with extra environment variables for the standalone.
fn capture_with_env(
    binary: &Path,
    title: &str,
    display: &str,
    png: &Path,
    actions: &[Action],
    env: &[(&str, &str)],
) -> (u32, u32, u32, f64) {
    let log = png.with_extension("log");
    let mut plugin = Reaped(
        Command::new(binary)
            .args(["--backend", "dummy"])
            .envs(env.iter().copied())
            .env("DISPLAY", display)
            // Mesa's software renderer, whatever GPU driver the machine would pick.
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("creating the standalone's log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display())),
    );
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < RENDER_TIMEOUT {
        if let Ok(Some(status)) = plugin.0.try_wait() {
            panic!(
                "{title} exited with {status} before its editor rendered; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        sleep(Duration::from_millis(500));
        let captured = Command::new("import")
            .args(["-display", display, "-window", title])
            .arg(png)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !captured {
            continue;
        }
        last = image_stats(png);
        if let Some(stats) = last {
            if stats.2 >= MIN_DISTINCT_COLOURS {
                // One more frame so meters and layout have settled, then the final capture.
                sleep(Duration::from_millis(1500));
                for action in actions {
                    let done = match action {
                        Action::Click(x, y) => xdotool(
                            display,
                            &[
                                "mousemove",
                                "--sync",
                                &x.to_string(),
                                &y.to_string(),
                                "click",
                                "1",
                            ],
                        ),
                        Action::Type(text) => xdotool(display, &["type", "--delay", "20", text]),
                        Action::Key(key) => xdotool(display, &["key", key]),
                    };
                    assert!(done, "{title}: xdotool could not do {}", describe(action));
                    sleep(Duration::from_millis(800));
                }
                if !actions.is_empty() {
                    // Park the pointer in an empty corner so no tooltip covers the capture, and
                    // give a loaded file time to decode.
                    xdotool(display, &["mousemove", "--sync", "1", "1"]);
                    sleep(Duration::from_millis(2500));
                }
                let recaptured = Command::new("import")
                    .args(["-display", display, "-window", title])
                    .arg(png)
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(recaptured, "{title}: capturing the settled editor failed");
                return image_stats(png).expect("reading the capture");
            }
        }
    }
    panic!(
        "{title}: no rendered editor within {RENDER_TIMEOUT:?} (last capture: {last:?} as \
         (width, height, colours, stddev)); the standalone's log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

fn describe(action: &Action) -> String {
    match action {
        Action::Click(x, y) => format!("a click at ({x}, {y})"),
        Action::Type(text) => format!("typing {text:?}"),
        Action::Key(key) => format!("the key {key}"),
    }
}

/// A 20 s reference for the Stem Master's reference player: a 110 Hz tone swelling at 2 Hz
/// under a 2.5 kHz tone, 16-bit stereo at 44.1 kHz (resampled to the standalone's rate).
fn write_reference_wav(path: &Path) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("creating the reference WAV");
    for i in 0..20 * 44_100 {
        let t = i as f64 / 44_100.0;
        let tau = std::f64::consts::TAU;
        let x = 0.3 * (tau * 110.0 * t).sin() * (0.6 + 0.4 * (tau * 2.0 * t).sin())
            + 0.1 * (tau * 2500.0 * t).sin();
        let q = (x * 32_767.0) as i16;
        w.write_sample(q).unwrap();
        w.write_sample(q).unwrap();
    }
    w.finalize().expect("writing the reference WAV");
}

#[test]
fn editors_render_under_xvfb() {
    let missing: Vec<&str> = [
        ("Xvfb", "-help"),
        ("import", "-version"),
        ("identify", "-version"),
    ]
    .into_iter()
    .filter(|(program, probe)| !available(program, probe))
    .map(|(program, _)| program)
    .collect();
    if !missing.is_empty() {
        let message = format!(
            "editor screenshot test needs {missing:?} (Debian: xvfb imagemagick x11-utils \
             xdotool libgl1-mesa-dri)"
        );
        assert!(!in_ci(), "{message}: CI must run it");
        eprintln!("\n*** SKIPPED editors_render_under_xvfb: {message} ***\n");
        return;
    }
    let dir = standalone_dir();
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&out_dir).expect("creating target/screenshots");
    let out_dir = out_dir.canonicalize().unwrap_or(out_dir);
    let (_xvfb, display) = start_xvfb();

    for (binary, title, name, (width, height)) in EDITORS {
        let png = out_dir.join(format!("{name}.png"));
        let (w, h, colours, stddev) = capture(&dir.join(binary), title, &display, &png, &[]);
        println!(
            "{title}: {w}x{h}, {colours} colours, grey stddev {stddev:.3} -> {}",
            png.display()
        );
        assert_eq!(
            (w, h),
            (width, height),
            "{title}: window size (the editor's default size at scale 1)"
        );
        assert!(
            colours >= MIN_DISTINCT_COLOURS,
            "{title}: only {colours} distinct colours: the editor did not render ({})",
            png.display()
        );
        assert!(
            stddev >= MIN_GREY_STDDEV,
            "{title}: grey standard deviation {stddev:.4}: the capture is nearly uniform ({})",
            png.display()
        );
    }

    // The stem-type selector, used as a producer would: open it, pick Drums. The editor writes
    // the guide's drum starting points through the host, so the compressor and saturation
    // panels must change visibly against the default capture.
    let (binary, title, name, _) = EDITORS[0];
    let default_png = out_dir.join(format!("{name}.png"));
    let drums_png = out_dir.join(format!("{name}-drums.png"));
    capture(
        &dir.join(binary),
        title,
        &display,
        &drums_png,
        &[
            Action::Click(STEM_SELECTOR_PX.0, STEM_SELECTOR_PX.1),
            Action::Click(STEM_SELECTOR_DRUMS_PX.0, STEM_SELECTOR_DRUMS_PX.1),
        ],
    );
    let changed = changed_pixels(&default_png, &drums_png, SECTIONS_REGION);
    println!(
        "{title} after choosing Drums: {changed} pixels changed -> {}",
        drums_png.display()
    );
    assert!(
        changed >= MIN_CHANGED_PIXELS,
        "{title}: choosing the Drums stem type changed only {changed} pixels of the section \
         panels ({} vs {})",
        default_png.display(),
        drums_png.display()
    );

    // The Stem Master's reference player, used as an engineer would: open its window, type a
    // file's path, press Return. The file decodes and its slot shows its name, length and
    // rate, with the loop controls below: the window's slot rows must change visibly against
    // the window opened with no file.
    let (binary, title, name, _) = EDITORS[1];
    let wav = out_dir.join("reference-example.wav");
    write_reference_wav(&wav);
    let open_png = out_dir.join(format!("{name}-reference-empty.png"));
    let loaded_png = out_dir.join(format!("{name}-reference.png"));
    let open = Action::Click(REFERENCE_BUTTON_PX.0, REFERENCE_BUTTON_PX.1);
    capture(&dir.join(binary), title, &display, &open_png, &[open]);
    capture(
        &dir.join(binary),
        title,
        &display,
        &loaded_png,
        &[
            Action::Click(REFERENCE_BUTTON_PX.0, REFERENCE_BUTTON_PX.1),
            Action::Click(REFERENCE_PATH_FIELD_PX.0, REFERENCE_PATH_FIELD_PX.1),
            Action::Type(wav.display().to_string()),
            Action::Key("Return"),
        ],
    );
    let changed = changed_pixels(&open_png, &loaded_png, REFERENCE_SLOTS_REGION);
    println!(
        "{title} with a reference loaded: {changed} pixels of its slot rows changed -> {}",
        loaded_png.display()
    );
    assert!(
        changed >= MIN_REFERENCE_CHANGED_PIXELS,
        "{title}: loading {} changed only {changed} pixels of the reference slots ({} vs {})",
        wav.display(),
        open_png.display(),
        loaded_png.display()
    );

    // The Stem Link overview, as an engineer sees it with a song playing: five Stem Channels
    // (hosted here, one thread each, playing in step with the master's transport) in the
    // standalone master's link group; its Link window must list them (against the window of a
    // master alone in its group).
    let group = format!("screenshot-{}-{}", std::process::id(), now_ms());
    let alone = format!("{group}-alone");
    let empty_png = out_dir.join(format!("{name}-link-empty.png"));
    let link_png = out_dir.join(format!("{name}-link.png"));
    let open = Action::Click(LINK_BUTTON_PX.0, LINK_BUTTON_PX.1);
    capture_with_env(
        &dir.join(binary),
        title,
        &display,
        &empty_png,
        &[open],
        &[("STEM_LINK_GROUP", &alone)],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let players: Vec<_> = (0..LINKED_STEMS.len())
        .map(|k| {
            let (group, stop) = (group.clone(), stop.clone());
            std::thread::spawn(move || play_linked_channel(&group, k, &stop))
        })
        .collect();
    let open = Action::Click(LINK_BUTTON_PX.0, LINK_BUTTON_PX.1);
    capture_with_env(
        &dir.join(binary),
        title,
        &display,
        &link_png,
        &[open],
        &[("STEM_LINK_GROUP", &group)],
    );
    stop.store(true, Ordering::Relaxed);
    for p in players {
        p.join().expect("a linked channel's thread");
    }
    let changed = changed_pixels(&empty_png, &link_png, LINK_TABLE_REGION);
    println!(
        "{title} with five linked Stem Channels: {changed} pixels of its Link window's table \
         changed -> {}",
        link_png.display()
    );
    assert!(
        changed >= MIN_LINK_CHANGED_PIXELS,
        "{title}: five linked channels changed only {changed} pixels of the Link window ({} vs \
         {})",
        empty_png.display(),
        link_png.display()
    );

    // Scale 2: the same logical layout in twice the physical pixels.
    let scaled = Command::new("xprop")
        .args([
            "-display",
            &display,
            "-root",
            "-format",
            "RESOURCE_MANAGER",
            "8s",
        ])
        .args(["-set", "RESOURCE_MANAGER", HIDPI_RESOURCES])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        scaled,
        "setting {HIDPI_RESOURCES} on the virtual display failed"
    );
    let (binary, title, name, (width, height)) = EDITORS[0];
    let png = out_dir.join(format!("{name}@2x.png"));
    let (w, h, colours, _) = capture(&dir.join(binary), title, &display, &png, &[]);
    println!(
        "{title} at scale 2: {w}x{h}, {colours} colours -> {}",
        png.display()
    );
    assert_eq!(
        (w, h),
        (2 * width, 2 * height),
        "{title}: window size at scale 2 (twice the logical size)"
    );
    assert!(
        colours >= MIN_DISTINCT_COLOURS,
        "{title} at scale 2: only {colours} distinct colours ({})",
        png.display()
    );
}

/// One Stem Channel (the test bundle, through our CLAP host) linked into `group` as
/// `LINKED_STEMS[k]`: it waits for the group's master to play, puts its transport where the
/// master's is (a DAW plays every track on one timeline) and plays its stem in real time until
/// `stop`.
fn play_linked_channel(group: &str, k: usize, stop: &AtomicBool) {
    let mut host = support::open("Stem Channel", "clap");
    let state = host.save_state().unwrap();
    let (prefix, json) = (&state[..8], &state[8..]);
    let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
    let session = serde_json::json!({ "group": group, "name": LINKED_STEMS[k] });
    value["fields"]["link"] = serde_json::Value::String(session.to_string());
    let body = serde_json::to_vec(&value).unwrap();
    let mut state = (body.len() as u64).to_le_bytes().to_vec();
    state.extend(body);
    debug_assert_eq!(prefix.len(), 8);
    host.load_state(&state).unwrap();
    let link = LinkGroup::open(group).unwrap();
    let rate = 48_000.0;
    host.activate(rate, 512).unwrap();
    let call = (0.1 * rate) as usize;
    let tau = std::f64::consts::TAU;
    let signal: Vec<f32> = (0..call * 10)
        .map(|i| {
            let t = i as f64 / rate;
            let v = match k {
                0 => {
                    let p = t % 0.5;
                    0.8 * (-p / 0.08).exp() * (tau * 58.0 * p).sin()
                }
                1 => 0.3 * (tau * 55.0 * t).sin(),
                2 => 0.08 * ((tau * 330.0 * t).sin() + (tau * 495.0 * t).sin()),
                3 => 0.05 * (tau * 220.0 * t).sin() * (tau * 3.0 * t).sin(),
                _ => 0.02 * (tau * 5000.0 * t).sin(),
            };
            v as f32
        })
        .collect();
    // The master's transport position, once it plays (read after activating, so the first
    // block follows at once).
    let position = loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut live = Vec::new();
        link.live_slots(&mut live);
        let master = live.iter().find(|&&(_, _, kind)| kind == 2);
        if let Some(until) = master.and_then(|&(slot, ..)| link.slot(slot).ring_written_until()) {
            break until;
        }
        sleep(Duration::from_millis(5));
    };
    // A tenth of a second ahead of the master, so its reads find the stem already written.
    host.set_transport_position(position + call as i64);
    let started = Instant::now();
    let mut calls = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let chunk = &signal[(calls as usize % 10) * call..][..call];
        host.process([chunk, chunk], &BlockSchedule::Fixed(512), &[])
            .unwrap();
        calls += 1;
        let due = Duration::from_millis(100 * calls as u64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            sleep(wait);
        }
    }
}
