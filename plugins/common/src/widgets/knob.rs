//! Controls bound to nice-plug parameters.
//!
//! Every change goes through the [`ParamSetter`] as one host gesture (`begin_set_parameter`,
//! `set_parameter`…, `end_set_parameter`), so hosts record one undo step and one automation
//! touch per drag. Values are shown with their units by the parameter's own formatter, and
//! typed values are parsed by it, so the editor never disagrees with the host's display.

use std::f32::consts::PI;

use egui::{vec2, Align2, Color32, Id, Key, Response, Sense, Stroke, TextEdit, Ui, Vec2, Widget};
use nice_plug::prelude::{BoolParam, Param, ParamSetter};

use super::theme;

/// Normalised change per logical pixel of vertical drag: 200 px covers the whole range.
const DRAG_NORMALIZED_PER_PX: f32 = 1.0 / 200.0;
/// Scroll distance of one step: egui's line height for one mouse-wheel notch.
const SCROLL_PX_PER_STEP: f32 = 40.0;
/// Shift-drag divides the speed by this, for fine adjustments.
const FINE_DRAG_DIVISOR: f32 = 10.0;
/// The knob's arc starts at 7:30 and ends at 4:30 (270 degrees).
const ARC_START_RAD: f32 = 0.75 * PI;
const ARC_SWEEP_RAD: f32 = 1.5 * PI;

/// What the controls need from a parameter: normalised values, its own formatting and
/// parsing, and host gestures. Implemented for every nice-plug [`Param`]; the controls only
/// need this, so a parameter reached another way (e.g. a `ParamPtr`) can implement it too.
pub trait ControlTarget {
    fn name(&self) -> String;
    /// Normalised value including host modulation (what the audio thread uses).
    fn modulated(&self) -> f32;
    /// Normalised value the user set.
    fn unmodulated(&self) -> f32;
    fn default_normalized(&self) -> f32;
    fn step_count(&self) -> Option<usize>;
    /// The next (`up`) or previous normalised step from `from`.
    fn step(&self, from: f32, up: bool, finer: bool) -> f32;
    fn format(&self, normalized: f32, include_unit: bool) -> String;
    fn parse(&self, text: &str) -> Option<f32>;
    /// `normalized` snapped to a value the parameter can take.
    fn snap(&self, normalized: f32) -> f32;
    fn begin(&self, setter: &ParamSetter);
    fn set(&self, setter: &ParamSetter, normalized: f32);
    fn end(&self, setter: &ParamSetter);
}

impl<P: Param> ControlTarget for P {
    fn name(&self) -> String {
        Param::name(self).to_owned()
    }
    fn modulated(&self) -> f32 {
        self.modulated_normalized_value()
    }
    fn unmodulated(&self) -> f32 {
        self.unmodulated_normalized_value()
    }
    fn default_normalized(&self) -> f32 {
        self.default_normalized_value()
    }
    fn step_count(&self) -> Option<usize> {
        Param::step_count(self)
    }
    fn step(&self, from: f32, up: bool, finer: bool) -> f32 {
        if up {
            self.next_normalized_step(from, finer)
        } else {
            self.previous_normalized_step(from, finer)
        }
    }
    fn format(&self, normalized: f32, include_unit: bool) -> String {
        self.normalized_value_to_string(normalized, include_unit)
    }
    fn parse(&self, text: &str) -> Option<f32> {
        self.string_to_normalized_value(text)
    }
    fn snap(&self, normalized: f32) -> f32 {
        self.preview_normalized(self.preview_plain(normalized))
    }
    fn begin(&self, setter: &ParamSetter) {
        setter.begin_set_parameter(self);
    }
    fn set(&self, setter: &ParamSetter, normalized: f32) {
        setter.set_parameter_normalized(self, normalized);
    }
    fn end(&self, setter: &ParamSetter) {
        setter.end_set_parameter(self);
    }
}

/// Per-widget state kept in egui's memory between frames.
#[derive(Clone, Default)]
struct KnobMemory {
    /// Unsnapped normalised value accumulated while dragging, so stepped parameters and
    /// switching to fine mode mid-drag never jump.
    drag_normalized: Option<f32>,
    /// Text being typed, while the value field is in entry mode.
    entry: Option<String>,
    /// Scroll distance not yet turned into steps, logical pixels.
    scroll_px: f32,
}

/// A rotary knob for one parameter, with its name above and its value (with unit) below.
///
/// Drag up/down to change, shift-drag for fine changes, scroll for small steps, double-click
/// (or ctrl/cmd-click) for the default, click the value to type one (Enter applies, Escape
/// cancels). The arc is drawn from the default value, so boosts and cuts read at a glance.
#[must_use = "add the knob with `ui.add(knob)`"]
pub struct ParamKnob<'a, P: ControlTarget> {
    param: &'a P,
    setter: &'a ParamSetter<'a>,
    label: Option<&'a str>,
    diameter: f32,
    colour: Color32,
}

impl<'a, P: ControlTarget> ParamKnob<'a, P> {
    pub fn for_param(param: &'a P, setter: &'a ParamSetter<'a>) -> Self {
        Self {
            param,
            setter,
            label: None,
            diameter: 38.0,
            colour: theme::ACCENT,
        }
    }

    /// Caption above the knob; the parameter's name when not given.
    pub fn label(mut self, label: &'a str) -> Self {
        self.label = Some(label);
        self
    }

    /// Knob diameter in logical pixels.
    pub fn diameter(mut self, diameter: f32) -> Self {
        self.diameter = diameter;
        self
    }

    /// Colour of the value arc.
    pub fn colour(mut self, colour: Color32) -> Self {
        self.colour = colour;
        self
    }
}

impl<P: ControlTarget> Widget for ParamKnob<'_, P> {
    fn ui(self, ui: &mut Ui) -> Response {
        let width = (self.diameter + 30.0).max(64.0);
        let name = self.param.name();
        let label = self.label.unwrap_or(&name);
        ui.allocate_ui_with_layout(
            vec2(width, self.diameter + 40.0),
            egui::Layout::top_down(egui::Align::Center),
            |ui| {
                ui.set_width(width);
                ui.label(
                    egui::RichText::new(label)
                        .font(theme::small_font())
                        .color(theme::TEXT_DIM),
                );
                let (rect, mut response) =
                    ui.allocate_exact_size(Vec2::splat(self.diameter), Sense::click_and_drag());
                let id = response.id;
                let mut memory = ui.data(|d| d.get_temp::<KnobMemory>(id).unwrap_or_default());

                gesture(self.param, self.setter, ui, &mut response, &mut memory);
                if ui.is_rect_visible(rect) {
                    paint_knob(ui, rect, self.param, self.colour, response.hovered());
                }
                value_field(ui, id, self.param, self.setter, &mut memory, width);
                ui.data_mut(|d| d.insert_temp(id, memory));
                response.on_hover_text(format!(
                    "{name}: {}\nDrag (shift: fine), scroll, double-click resets, click the value to type",
                    self.param.format(self.param.modulated(), true)
                ))
            },
        )
        .inner
    }
}

/// Applies drag, scroll and reset gestures on `response` to `param`.
fn gesture<P: ControlTarget>(
    param: &P,
    setter: &ParamSetter,
    ui: &Ui,
    response: &mut Response,
    memory: &mut KnobMemory,
) {
    let reset =
        response.double_clicked() || (response.clicked() && ui.input(|i| i.modifiers.command));
    if reset {
        param.begin(setter);
        param.set(setter, param.default_normalized());
        param.end(setter);
        response.mark_changed();
        return;
    }
    if response.drag_started() {
        param.begin(setter);
        memory.drag_normalized = Some(param.unmodulated());
    }
    if response.dragged() {
        if let Some(normalized) = memory.drag_normalized.as_mut() {
            let fine = ui.input(|i| i.modifiers.shift);
            let speed = if fine {
                DRAG_NORMALIZED_PER_PX / FINE_DRAG_DIVISOR
            } else {
                DRAG_NORMALIZED_PER_PX
            };
            let delta = response.drag_delta();
            // Up and right both increase, so horizontal habits work too.
            *normalized = (*normalized + (delta.x - delta.y) * speed).clamp(0.0, 1.0);
            set_normalized(param, setter, *normalized);
            response.mark_changed();
        }
    }
    if response.drag_stopped() && memory.drag_normalized.take().is_some() {
        param.end(setter);
    }
    if response.hovered() && memory.drag_normalized.is_none() {
        // egui spreads one wheel notch over several frames; accumulate it so a notch is one
        // step, however the host's event loop slices it.
        memory.scroll_px += ui.input(|i| i.smooth_scroll_delta.y);
        let fine = ui.input(|i| i.modifiers.shift);
        while memory.scroll_px.abs() >= SCROLL_PX_PER_STEP {
            let up = memory.scroll_px > 0.0;
            memory.scroll_px -= SCROLL_PX_PER_STEP.copysign(memory.scroll_px);
            let to = param.step(param.unmodulated(), up, fine);
            param.begin(setter);
            param.set(setter, to);
            param.end(setter);
            response.mark_changed();
        }
    } else {
        memory.scroll_px = 0.0;
    }
}

/// Sets `param` from an unsnapped normalised value, skipping no-op host notifications.
fn set_normalized<P: ControlTarget>(param: &P, setter: &ParamSetter, normalized: f32) {
    let snapped = param.snap(normalized);
    if (snapped - param.unmodulated()).abs() > 1e-7 {
        param.set(setter, snapped);
    }
}

fn paint_knob<P: ControlTarget>(
    ui: &Ui,
    rect: egui::Rect,
    param: &P,
    colour: Color32,
    hovered: bool,
) {
    let painter = ui.painter();
    let centre = rect.center();
    let radius = rect.width() * 0.5 - 3.0;
    let value = param.modulated();
    let origin = param.default_normalized();
    let angle = |normalized: f32| ARC_START_RAD + ARC_SWEEP_RAD * normalized;
    let arc = |from: f32, to: f32| -> Vec<egui::Pos2> {
        let (a, b) = (angle(from.min(to)), angle(from.max(to)));
        let steps = (((b - a) / ARC_SWEEP_RAD) * 48.0).ceil().max(1.0) as usize;
        (0..=steps)
            .map(|i| {
                let t = a + (b - a) * i as f32 / steps as f32;
                centre + radius * vec2(t.cos(), t.sin())
            })
            .collect()
    };

    painter.circle_filled(centre, radius - 4.0, theme::PLOT);
    painter.line(arc(0.0, 1.0), Stroke::new(3.5, theme::GRID_STRONG));
    if (value - origin).abs() > 1e-4 {
        painter.line(arc(origin, value), Stroke::new(3.5, colour));
    }
    let pointer = vec2(angle(value).cos(), angle(value).sin());
    let tip_colour = if hovered { theme::TEXT } else { colour };
    painter.line_segment(
        [
            centre + pointer * (radius * 0.2),
            centre + pointer * (radius - 5.0),
        ],
        Stroke::new(2.0, tip_colour),
    );
}

/// The value with its unit; click to type a new one.
fn value_field<P: ControlTarget>(
    ui: &mut Ui,
    id: Id,
    param: &P,
    setter: &ParamSetter,
    memory: &mut KnobMemory,
    width: f32,
) {
    let entry_id = id.with("entry");
    if let Some(text) = memory.entry.as_mut() {
        let response = ui.add(
            TextEdit::singleline(text)
                .id(entry_id)
                .desired_width(width - 6.0)
                .font(theme::value_font(11.0))
                .align(egui::Align2::CENTER_CENTER),
        );
        if ui.input(|i| i.key_pressed(Key::Escape)) {
            memory.entry = None;
        } else if ui.input(|i| i.key_pressed(Key::Enter)) || response.lost_focus() {
            if let Some(normalized) = param.parse(text.trim()) {
                param.begin(setter);
                param.set(setter, normalized);
                param.end(setter);
            }
            memory.entry = None;
        } else if !response.has_focus() {
            response.request_focus();
        }
        return;
    }
    let text = param.format(param.modulated(), true);
    let (rect, response) = ui.allocate_exact_size(vec2(width, 16.0), Sense::click());
    if ui.is_rect_visible(rect) {
        if response.hovered() {
            ui.painter()
                .rect_filled(rect.shrink2(vec2(2.0, 0.0)), 3.0, theme::GRID);
        }
        ui.painter().text(
            rect.center(),
            Align2::CENTER_CENTER,
            text,
            theme::value_font(11.0),
            theme::TEXT,
        );
    }
    if response.clicked() {
        memory.entry = Some(param.format(param.unmodulated(), false));
    }
    response.on_hover_cursor(egui::CursorIcon::Text);
}

/// An on/off button for a boolean (or two-step) parameter.
#[must_use = "add the toggle with `ui.add(toggle)`"]
pub struct ParamToggle<'a, P: ControlTarget> {
    param: &'a P,
    setter: &'a ParamSetter<'a>,
    label: Option<&'a str>,
    on_colour: Color32,
}

impl<'a, P: ControlTarget> ParamToggle<'a, P> {
    pub fn for_param(param: &'a P, setter: &'a ParamSetter<'a>) -> Self {
        Self {
            param,
            setter,
            label: None,
            on_colour: theme::ACCENT,
        }
    }

    pub fn label(mut self, label: &'a str) -> Self {
        self.label = Some(label);
        self
    }

    /// Fill colour while on (e.g. [`theme::WARN`] for a bypass switch).
    pub fn on_colour(mut self, colour: Color32) -> Self {
        self.on_colour = colour;
        self
    }
}

impl<P: ControlTarget> Widget for ParamToggle<'_, P> {
    fn ui(self, ui: &mut Ui) -> Response {
        let on = self.param.modulated() >= 0.5;
        let name = self.param.name();
        let label = self.label.unwrap_or(&name);
        let text = egui::RichText::new(label).size(11.5).color(if on {
            Color32::from_rgb(0x10, 0x12, 0x16)
        } else {
            theme::TEXT_DIM
        });
        let mut button = egui::Button::new(text).min_size(vec2(0.0, 20.0));
        if on {
            button = button.fill(self.on_colour);
        }
        let mut response = ui.add(button);
        if response.clicked() {
            self.param.begin(self.setter);
            self.param.set(self.setter, if on { 0.0 } else { 1.0 });
            self.param.end(self.setter);
            response.mark_changed();
        }
        response
    }
}

/// A row of segment buttons, one per step of a stepped parameter (enums, small integer
/// ranges), labelled by the parameter's own formatter.
#[must_use = "add the selector with `ui.add(choice)`"]
pub struct ParamChoice<'a, P: ControlTarget> {
    param: &'a P,
    setter: &'a ParamSetter<'a>,
    /// Show as a drop-down instead of a row (for long lists).
    combo: bool,
    /// Width of the drop-down in logical pixels (egui's default when `None`).
    combo_width: Option<f32>,
}

impl<'a, P: ControlTarget> ParamChoice<'a, P> {
    pub fn for_param(param: &'a P, setter: &'a ParamSetter<'a>) -> Self {
        Self {
            param,
            setter,
            combo: false,
            combo_width: None,
        }
    }

    /// A drop-down instead of a row of buttons.
    pub fn combo(mut self) -> Self {
        self.combo = true;
        self
    }

    /// A drop-down `width` logical pixels wide.
    pub fn combo_width(mut self, width: f32) -> Self {
        self.combo = true;
        self.combo_width = Some(width);
        self
    }

    fn choose(&self, normalized: f32) {
        self.param.begin(self.setter);
        self.param.set(self.setter, normalized);
        self.param.end(self.setter);
    }
}

impl<P: ControlTarget> Widget for ParamChoice<'_, P> {
    fn ui(self, ui: &mut Ui) -> Response {
        let steps = self.param.step_count().unwrap_or(1).max(1);
        let current = self.param.unmodulated();
        let option = |i: usize| i as f32 / steps as f32;
        let is_current = |i: usize| (option(i) - current).abs() < 0.5 / steps as f32;
        if self.combo {
            let selected = self.param.format(current, true);
            let mut chosen = None;
            let mut combo = egui::ComboBox::from_id_salt(self.param.name()).selected_text(selected);
            if let Some(width) = self.combo_width {
                combo = combo.width(width);
            }
            let response = combo
                .show_ui(ui, |ui| {
                    for i in 0..=steps {
                        let name = self.param.format(option(i), true);
                        if ui.selectable_label(is_current(i), name).clicked() {
                            chosen = Some(option(i));
                        }
                    }
                })
                .response;
            if let Some(normalized) = chosen {
                self.choose(normalized);
            }
            return response;
        }
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 2.0;
            // Reversed in a right-to-left row, so the options always read in their order.
            let order: Vec<usize> = if ui.layout().prefer_right_to_left() {
                (0..=steps).rev().collect()
            } else {
                (0..=steps).collect()
            };
            for i in order {
                let name = self.param.format(option(i), true);
                let selected = is_current(i);
                let text = egui::RichText::new(name).size(11.5).color(if selected {
                    Color32::from_rgb(0x10, 0x12, 0x16)
                } else {
                    theme::TEXT
                });
                let mut button = egui::Button::new(text).min_size(vec2(0.0, 20.0));
                if selected {
                    button = button.fill(theme::ACCENT);
                }
                if ui.add(button).clicked() && !selected {
                    self.choose(option(i));
                }
            }
        })
        .response
    }
}

/// A [`theme::section`] whose header holds the section's "On" switch: every switchable panel
/// of both editors.
pub fn switched_section<R>(
    ui: &mut Ui,
    title: &str,
    enabled: &BoolParam,
    setter: &ParamSetter,
    body: impl FnOnce(&mut Ui) -> R,
) -> R {
    theme::section(
        ui,
        title,
        |ui| {
            ui.add(ParamToggle::for_param(enabled, setter).label("On"));
        },
        body,
    )
}

/// Diameter of the knobs in the editors' section panels, in logical pixels.
pub const SECTION_KNOB_DIAMETER: f32 = 32.0;

/// A row of section knobs, each with its label.
pub fn knob_row(
    ui: &mut Ui,
    setter: &ParamSetter,
    knobs: &[(&nice_plug::prelude::FloatParam, &str)],
) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 0.0;
        for (param, label) in knobs {
            ui.add(
                ParamKnob::for_param(*param, setter)
                    .label(label)
                    .diameter(SECTION_KNOB_DIAMETER),
            );
        }
    });
}
