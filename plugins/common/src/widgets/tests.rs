//! The widgets driven headless: egui runs without a window, pointer and keyboard events are fed
//! in as a user would make them, and a recording `GuiContext` stands in for the host. The
//! expected values come from the widgets' documented behaviour (200 px per full range, 1/10
//! with shift, the parameter's default, the typed text) and from the EQ axes (three decades
//! over the plot's width, the gain range over its height).

use std::sync::{Arc, Mutex};

use egui::{pos2, vec2, Event, Modifiers, PointerButton, Pos2, RawInput, Rect, Ui};
use nice_plug::context::gui::{GuiContext, GuiContextInner};
use nice_plug::context::PluginApi;
use nice_plug::prelude::*;

use super::eq_curve::{BandEdit, BandHandle, EqCurveView};
use super::knob::ParamKnob;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Gesture {
    Begin,
    Set(f32),
    End,
}

/// A host that records every gesture and applies values the way a host does.
#[derive(Default)]
struct RecordingHost {
    gestures: Mutex<Vec<Gesture>>,
}

impl GuiContextInner for RecordingHost {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Standalone
    }

    unsafe fn raw_begin_set_parameter(&self, _param: ParamPtr) {
        self.gestures.lock().unwrap().push(Gesture::Begin);
    }

    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        self.gestures.lock().unwrap().push(Gesture::Set(normalized));
        // SAFETY: the parameter outlives the test frame that set it.
        unsafe {
            param._internal_set_normalized_value(normalized);
        }
    }

    unsafe fn raw_end_set_parameter(&self, _param: ParamPtr) {
        self.gestures.lock().unwrap().push(Gesture::End);
    }

    fn get_state(&self) -> PluginState {
        panic!("the widget tests never read the plugin state")
    }

    fn set_state(&self, _state: PluginState) {
        panic!("the widget tests never load a plugin state")
    }

    fn request_restart(&self) {}
}

/// Drives frames of one widget; `time` advances 50 ms per frame.
struct Harness {
    ctx: egui::Context,
    time: f64,
}

impl Harness {
    fn new() -> Self {
        Self {
            ctx: egui::Context::default(),
            time: 0.0,
        }
    }

    fn frame(&mut self, events: Vec<Event>, mut add: impl FnMut(&mut Ui)) {
        self.time += 0.05;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(800.0, 500.0))),
            time: Some(self.time),
            events,
            ..Default::default()
        };
        let mut output = self.ctx.run_ui(input, |ui| add(ui));
        // No renderer: drop the font atlas uploads deliberately.
        output.textures_delta.clear();
    }
}

fn press(pos: Pos2, pressed: bool, modifiers: Modifiers) -> Event {
    Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers,
    }
}

fn gain_param() -> FloatParam {
    FloatParam::new(
        "Gain",
        0.0,
        FloatRange::Linear {
            min: -24.0,
            max: 24.0,
        },
    )
    .with_unit(" dB")
}

/// Drags the knob of `param` by `dy` pixels (negative = up) in steps, with `modifiers` held.
fn drag_knob(param: &FloatParam, gui: &GuiContext, dy: f32, modifiers: Modifiers) {
    let setter = gui.param_setter();
    let mut harness = Harness::new();
    let mut rect = Rect::NOTHING;
    harness.frame(vec![], |ui| {
        rect = ui.add(ParamKnob::for_param(param, &setter)).rect;
    });
    let start = rect.center();
    let mut events = vec![
        Event::ModifiersChanged(modifiers),
        Event::PointerMoved(start),
    ];
    events.push(press(start, true, modifiers));
    harness.frame(events, |ui| {
        ui.add(ParamKnob::for_param(param, &setter));
    });
    for step in 1..=4 {
        let pos = start + vec2(0.0, dy * step as f32 / 4.0);
        harness.frame(vec![Event::PointerMoved(pos)], |ui| {
            ui.add(ParamKnob::for_param(param, &setter));
        });
    }
    harness.frame(vec![press(start + vec2(0.0, dy), false, modifiers)], |ui| {
        ui.add(ParamKnob::for_param(param, &setter));
    });
}

fn recorded(host: &RecordingHost) -> Vec<Gesture> {
    host.gestures.lock().unwrap().clone()
}

/// One begin, at least one set, one end, in that order.
fn assert_one_gesture(gestures: &[Gesture]) {
    assert_eq!(gestures.first(), Some(&Gesture::Begin), "{gestures:?}");
    assert_eq!(gestures.last(), Some(&Gesture::End), "{gestures:?}");
    assert!(
        gestures[1..gestures.len() - 1]
            .iter()
            .all(|g| matches!(g, Gesture::Set(_))),
        "{gestures:?}"
    );
    assert!(gestures.len() >= 3, "no value was set: {gestures:?}");
}

#[test]
fn dragging_a_knob_up_200_px_sweeps_the_whole_range_in_one_host_gesture() {
    let host = Arc::new(RecordingHost::default());
    let gui = GuiContext::new(host.clone());
    let param = gain_param();
    // 50 px up = a quarter of the range: 0.5 -> 0.75 normalised, 0 -> +12 dB.
    drag_knob(&param, &gui, -50.0, Modifiers::NONE);
    assert_one_gesture(&recorded(&host));
    assert!(
        (param.unmodulated_normalized_value() - 0.75).abs() < 1e-3,
        "{}",
        param.unmodulated_normalized_value()
    );
    assert!((param.value() - 12.0).abs() < 0.05, "{} dB", param.value());
}

#[test]
fn shift_drag_is_ten_times_finer() {
    let host = Arc::new(RecordingHost::default());
    let gui = GuiContext::new(host.clone());
    let param = gain_param();
    drag_knob(&param, &gui, -50.0, Modifiers::SHIFT);
    assert_one_gesture(&recorded(&host));
    // 50 px at 1/10 speed: 0.025 normalised = 1.2 dB.
    assert!((param.value() - 1.2).abs() < 0.05, "{} dB", param.value());
}

#[test]
fn double_click_resets_to_the_default() {
    let host = Arc::new(RecordingHost::default());
    let gui = GuiContext::new(host.clone());
    let param = gain_param();
    drag_knob(&param, &gui, -50.0, Modifiers::NONE);
    assert!(param.value() > 11.0);
    host.gestures.lock().unwrap().clear();

    let setter = gui.param_setter();
    let mut harness = Harness::new();
    let mut rect = Rect::NOTHING;
    harness.frame(vec![], |ui| {
        rect = ui.add(ParamKnob::for_param(&param, &setter)).rect;
    });
    let at = rect.center();
    for _ in 0..2 {
        harness.frame(
            vec![Event::PointerMoved(at), press(at, true, Modifiers::NONE)],
            |ui| {
                ui.add(ParamKnob::for_param(&param, &setter));
            },
        );
        harness.frame(vec![press(at, false, Modifiers::NONE)], |ui| {
            ui.add(ParamKnob::for_param(&param, &setter));
        });
    }
    assert_eq!(param.value(), 0.0);
    assert_one_gesture(&recorded(&host));
}

#[test]
fn typed_value_is_parsed_by_the_parameter() {
    let host = Arc::new(RecordingHost::default());
    let gui = GuiContext::new(host.clone());
    let param = gain_param();
    let setter = gui.param_setter();
    let mut harness = Harness::new();
    let mut rect = Rect::NOTHING;
    harness.frame(vec![], |ui| {
        rect = ui.add(ParamKnob::for_param(&param, &setter)).rect;
    });
    // The value field sits right under the knob.
    let value_pos = pos2(rect.center().x, rect.bottom() + 8.0);
    let add = |ui: &mut Ui| {
        ui.add(ParamKnob::for_param(&param, &setter));
    };
    harness.frame(
        vec![
            Event::PointerMoved(value_pos),
            press(value_pos, true, Modifiers::NONE),
        ],
        add,
    );
    harness.frame(vec![press(value_pos, false, Modifiers::NONE)], add);
    harness.frame(vec![], add);
    let key = |key, pressed| Event::Key {
        key,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: Modifiers::NONE,
    };
    // Select the pre-filled text, replace it, apply.
    harness.frame(
        vec![Event::Key {
            key: egui::Key::A,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: Modifiers::COMMAND,
        }],
        add,
    );
    harness.frame(vec![Event::Text("-6.5".to_owned())], add);
    harness.frame(vec![key(egui::Key::Enter, true)], add);
    harness.frame(vec![key(egui::Key::Enter, false)], add);
    assert_eq!(param.value(), -6.5);
    assert_one_gesture(&recorded(&host));
}

#[test]
fn dragging_an_eq_handle_moves_frequency_and_gain_along_the_axes() {
    let handles = [BandHandle {
        enabled: true,
        freq_hz: 1_000.0,
        gain_db: 0.0,
        q: 1.0,
        has_gain: true,
        uses_q: true,
        dynamic_gain_db: None,
    }];
    let flat = |_hz: f32| 0.0;
    let size = vec2(600.0, 240.0);
    let mut harness = Harness::new();
    let mut rect = Rect::NOTHING;
    let mut edits: Vec<BandEdit> = Vec::new();
    harness.frame(vec![], |ui| {
        rect = EqCurveView::new(&flat, &handles)
            .show(ui, size)
            .response
            .rect;
    });
    // 1 kHz sits at ln(50)/ln(1000) of the width; 0 dB in the middle of +-12 dB.
    let start = pos2(
        rect.left() + rect.width() * (50.0f32).ln() / (1000.0f32).ln(),
        rect.center().y,
    );
    // A third of the width is one decade (x10); a quarter of the height is 6 dB.
    let end = start + vec2(rect.width() / 3.0, -rect.height() / 4.0);
    let mut run = |events: Vec<Event>, harness: &mut Harness| {
        harness.frame(events, |ui| {
            let output = EqCurveView::new(&flat, &handles).show(ui, size);
            edits.extend(output.edits);
        });
    };
    run(
        vec![
            Event::PointerMoved(start),
            press(start, true, Modifiers::NONE),
        ],
        &mut harness,
    );
    for step in 1..=4 {
        let pos = start + (end - start) * (step as f32 / 4.0);
        run(vec![Event::PointerMoved(pos)], &mut harness);
    }
    run(vec![press(end, false, Modifiers::NONE)], &mut harness);

    let first = edits.first().expect("no edits");
    let last = edits.last().expect("no edits");
    assert!(first.begin && !first.end, "{first:?}");
    assert!(last.end, "{last:?}");
    assert!(edits.iter().all(|e| e.band == 0 && e.q == 1.0));
    assert!(
        (last.freq_hz / 10_000.0 - 1.0).abs() < 0.01,
        "{} Hz",
        last.freq_hz
    );
    assert!((last.gain_db - 6.0).abs() < 0.05, "{} dB", last.gain_db);
}

#[test]
fn double_click_on_empty_space_asks_for_a_band_at_that_point() {
    let handles = [BandHandle {
        enabled: true,
        freq_hz: 100.0,
        gain_db: 0.0,
        q: 1.0,
        has_gain: true,
        uses_q: true,
        dynamic_gain_db: None,
    }];
    let flat = |_hz: f32| 0.0;
    let size = vec2(600.0, 240.0);
    let mut harness = Harness::new();
    let mut rect = Rect::NOTHING;
    harness.frame(vec![], |ui| {
        rect = EqCurveView::new(&flat, &handles)
            .show(ui, size)
            .response
            .rect;
    });
    // Two thirds of the width: 2 kHz; a quarter of the height below the middle: -6 dB.
    let at = pos2(
        rect.left() + rect.width() * 2.0 / 3.0,
        rect.center().y + rect.height() / 4.0,
    );
    let mut requests = Vec::new();
    for pressed in [true, false, true, false] {
        harness.frame(
            vec![Event::PointerMoved(at), press(at, pressed, Modifiers::NONE)],
            |ui| {
                let output = EqCurveView::new(&flat, &handles).show(ui, size);
                requests.extend(output.add_band_at);
                assert!(output.edits.is_empty(), "{:?}", output.edits);
            },
        );
    }
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (hz, db) = requests[0];
    assert!((hz / 2_000.0 - 1.0).abs() < 0.01, "{hz} Hz");
    assert!((db + 6.0).abs() < 0.05, "{db} dB");
}

#[test]
fn one_wheel_notch_is_one_step_however_egui_spreads_it() {
    let host = Arc::new(RecordingHost::default());
    let gui = GuiContext::new(host.clone());
    let param = gain_param();
    let setter = gui.param_setter();
    let mut harness = Harness::new();
    let mut rect = Rect::NOTHING;
    harness.frame(vec![], |ui| {
        rect = ui.add(ParamKnob::for_param(&param, &setter)).rect;
    });
    let notch = Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: vec2(0.0, 1.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: Modifiers::NONE,
    };
    harness.frame(vec![Event::PointerMoved(rect.center()), notch], |ui| {
        ui.add(ParamKnob::for_param(&param, &setter));
    });
    // Let egui's smooth scrolling play out over the following frames.
    for _ in 0..40 {
        harness.frame(vec![], |ui| {
            ui.add(ParamKnob::for_param(&param, &setter));
        });
    }
    // nice-plug's step for a continuous parameter: 2 % of the range, 0.96 dB of +-24 dB.
    assert!((param.value() - 0.96).abs() < 1e-3, "{} dB", param.value());
    let gestures = recorded(&host);
    assert_eq!(
        gestures,
        vec![Gesture::Begin, Gesture::Set(0.52), Gesture::End],
        "{gestures:?}"
    );
}
