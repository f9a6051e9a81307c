//! Learn with the loudness plan, without a host: the audio thread's capture side and the
//! editor's planner exchange the capture as in the plugin, and the plan written through the
//! host is the one `shared_dsp`'s plan (the render's) makes of the same pre-limiter signal.

#[path = "../../../shared-dsp/tests/alloc_support/mod.rs"]
mod alloc_support;

use shared_dsp::chain::loudness_plan::{plan_in_memory, ClipperChoice, PeakPlan};
use shared_dsp::chain::settings::MasterSettings;
use stem_master::learn_plan::{AudioCapture, CaptureExchange, LearnPlanner, LearnWrite};

const FS: f64 = 48_000.0;
const TARGET_LUFS: f64 = -9.0;

fn settings() -> (MasterSettings, f64) {
    (MasterSettings::default(), TARGET_LUFS)
}

/// A fresh exchange, its audio side at [`FS`], and a planner whose captures hold
/// `capture_seconds`.
fn setup(capture_seconds: f64) -> (CaptureExchange, AudioCapture, LearnPlanner) {
    let exchange = CaptureExchange::default();
    let mut audio = exchange.take_audio_side().unwrap();
    audio.set_sample_rate(FS);
    let planner = LearnPlanner::with_capture_frames((capture_seconds * FS) as usize);
    (exchange, audio, planner)
}

/// Checks that `write` is the drive and clipper of the plan `shared_dsp` makes of `signal`
/// directly (the render's plan), and returns that plan.
fn assert_writes_the_plan_of(write: LearnWrite, signal: &[Vec<f32>; 2]) -> PeakPlan {
    let (s, target) = settings();
    let expected = plan_in_memory([&signal[0], &signal[1]], &s, target, false, FS)
        .unwrap()
        .plan;
    assert_eq!(
        write,
        LearnWrite::Plan {
            drive_db: expected.drive_db as f32,
            clipper: expected.clipper_enabled,
        }
    );
    expected
}

/// Polls the planner until it has something to write (a plan takes a moment on its thread).
fn wait_for_write(planner: &mut LearnPlanner, exchange: &CaptureExchange) -> LearnWrite {
    for _ in 0..2_000 {
        if let Some(write) = planner.poll(exchange, false, None, FS, settings) {
            return write;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("no plan within 10 s");
}

/// One Learn pass over `signal` in 512-frame blocks, the editor polling once before the first
/// block (it provides the capture) when `editor` is set. Returns the audio side's allocations.
fn pass(
    planner: &mut LearnPlanner,
    exchange: &CaptureExchange,
    audio: &mut AudioCapture,
    signal: &[Vec<f32>; 2],
    editor: bool,
    step_result: f32,
) -> (Option<LearnWrite>, usize) {
    let mut allocations = alloc_support::allocations(|| audio.start());
    if editor {
        assert_eq!(planner.poll(exchange, true, None, FS, settings), None);
    }
    for (l, r) in signal[0].chunks(512).zip(signal[1].chunks(512)) {
        allocations += alloc_support::allocations(|| audio.push(l, r));
    }
    allocations += alloc_support::allocations(|| audio.finish());
    let write = planner.poll(exchange, false, Some(step_result), FS, settings);
    (write, allocations)
}

#[test]
fn learn_plans_over_what_it_heard_like_the_render() {
    let (exchange, mut audio, mut planner) = setup(10.0);
    assert!(
        exchange.take_audio_side().is_none(),
        "the audio side is taken once"
    );
    let signal = test_signals::hits_over_pad(6.0, FS, 0.1);

    let (write, allocations) = pass(&mut planner, &exchange, &mut audio, &signal, true, 3.0);
    assert_eq!(allocations, 0, "the audio side allocates nothing");
    // The solver's step waits while the plan runs, and is not used once it lands.
    assert_eq!(write, None);
    assert!(planner.planning());
    let write = wait_for_write(&mut planner, &exchange);

    let expected = assert_writes_the_plan_of(write, &signal);
    assert_eq!(expected.clipper_choice, ClipperChoice::Measured);
    let learned = planner.last().unwrap();
    assert_eq!(learned.plan, expected);
    assert!((learned.seconds - 6.0).abs() < 1e-9 && !learned.truncated);
    assert!(!planner.planning());
    assert_eq!(planner.poll(&exchange, false, None, FS, settings), None);
}

#[test]
fn a_short_pass_or_no_editor_takes_the_solver_step() {
    let (exchange, mut audio, mut planner) = setup(10.0);
    // Two seconds: too short to plan on.
    let short = test_signals::hits_over_pad(2.0, FS, 0.1);
    let (write, _) = pass(&mut planner, &exchange, &mut audio, &short, true, 3.5);
    assert_eq!(write, Some(LearnWrite::Drive(3.5)));
    assert!(planner.last().is_none());
    // No editor polled during the pass: no capture, the step stands.
    let long = test_signals::hits_over_pad(6.0, FS, 0.1);
    let (write, allocations) = pass(&mut planner, &exchange, &mut audio, &long, false, -2.0);
    assert_eq!((write, allocations), (Some(LearnWrite::Drive(-2.0)), 0));
}

#[test]
fn a_pass_longer_than_the_capture_plans_on_its_start() {
    let (exchange, mut audio, mut planner) = setup(4.0);
    let signal = test_signals::hits_over_pad(6.0, FS, 0.1);
    let (write, allocations) = pass(&mut planner, &exchange, &mut audio, &signal, true, 0.0);
    assert_eq!((write, allocations), (None, 0));
    let write = wait_for_write(&mut planner, &exchange);
    let start = [
        signal[0][..4 * 48_000].to_vec(),
        signal[1][..4 * 48_000].to_vec(),
    ];
    assert_writes_the_plan_of(write, &start);
    let learned = planner.last().unwrap();
    assert!(learned.truncated && (learned.seconds - 4.0).abs() < 1e-9);
}
