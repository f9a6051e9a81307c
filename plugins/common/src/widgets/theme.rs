//! The look both editors share: a dark, low-glare palette (long sessions in dim studios), one
//! accent colour for "this is what the plugin does", and traffic-light colours only where a
//! level needs attention.

use egui::{Color32, CornerRadius, FontId, Margin, Stroke, Ui};

/// Window background.
pub const BACKGROUND: Color32 = Color32::from_rgb(0x15, 0x17, 0x1c);
/// Section panels.
pub const PANEL: Color32 = Color32::from_rgb(0x1e, 0x21, 0x28);
/// Plot areas (EQ, meters, history): darker than panels so traces stand out.
pub const PLOT: Color32 = Color32::from_rgb(0x10, 0x12, 0x16);
pub const PANEL_STROKE: Color32 = Color32::from_rgb(0x2e, 0x33, 0x3d);
pub const GRID: Color32 = Color32::from_rgb(0x26, 0x2a, 0x33);
pub const GRID_STRONG: Color32 = Color32::from_rgb(0x3a, 0x40, 0x4c);
pub const TEXT: Color32 = Color32::from_rgb(0xdc, 0xe1, 0xe8);
pub const TEXT_DIM: Color32 = Color32::from_rgb(0x8a, 0x93, 0xa3);
/// The processed signal, the EQ curve, active controls.
pub const ACCENT: Color32 = Color32::from_rgb(0x4c, 0xc2, 0xe8);
/// The unprocessed signal (pre spectrum, input).
pub const PRE: Color32 = Color32::from_rgb(0x6b, 0x74, 0x86);
/// Levels in the comfortable range.
pub const GOOD: Color32 = Color32::from_rgb(0x52, 0xc4, 0x7a);
/// Levels approaching a limit.
pub const WARN: Color32 = Color32::from_rgb(0xe8, 0xb8, 0x4c);
/// Levels over a limit or a target.
pub const OVER: Color32 = Color32::from_rgb(0xea, 0x5a, 0x4f);
/// Gain reduction (compressors, limiter, dynamic bands).
pub const REDUCTION: Color32 = Color32::from_rgb(0xf0, 0x8a, 0x3c);

/// One colour per EQ band, distinct enough side by side.
pub const BAND_COLOURS: [Color32; 8] = [
    Color32::from_rgb(0xef, 0x6f, 0x6c),
    Color32::from_rgb(0xf2, 0xa6, 0x5a),
    Color32::from_rgb(0xe9, 0xd9, 0x5b),
    Color32::from_rgb(0x8b, 0xd1, 0x6a),
    Color32::from_rgb(0x4f, 0xc9, 0xb0),
    Color32::from_rgb(0x5a, 0xa9, 0xf0),
    Color32::from_rgb(0x9b, 0x8c, 0xf2),
    Color32::from_rgb(0xe2, 0x7f, 0xd0),
];

/// The colour of band `index` (wraps for more than eight bands).
pub fn band_colour(index: usize) -> Color32 {
    BAND_COLOURS[index % BAND_COLOURS.len()]
}

/// Small caption text (axis labels, units).
pub fn small_font() -> FontId {
    FontId::proportional(10.5)
}

/// Numbers in readouts and meters: monospace so digits do not jitter as they change.
pub fn value_font(size: f32) -> FontId {
    FontId::monospace(size)
}

/// Applies the palette to the context's visuals; call once per editor open (`build()`).
pub fn apply(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Dark);
    ctx.all_styles_mut(style_editor);
}

fn style_editor(style: &mut egui::Style) {
    let visuals = &mut style.visuals;
    *visuals = egui::Visuals::dark();
    visuals.panel_fill = BACKGROUND;
    visuals.window_fill = PANEL;
    visuals.extreme_bg_color = PLOT;
    visuals.faint_bg_color = PANEL;
    visuals.override_text_color = Some(TEXT);
    visuals.selection.bg_fill = ACCENT.gamma_multiply(0.55);
    visuals.selection.stroke = Stroke::new(1.0, ACCENT);
    visuals.widgets.noninteractive.bg_stroke = Stroke::new(1.0, PANEL_STROKE);
    let control = Color32::from_rgb(0x2a, 0x2f, 0x39);
    visuals.widgets.inactive.bg_fill = control;
    visuals.widgets.inactive.weak_bg_fill = control;
    visuals.widgets.hovered.weak_bg_fill = Color32::from_rgb(0x34, 0x3a, 0x46);
    visuals.widgets.active.weak_bg_fill = ACCENT.gamma_multiply(0.6);
    for widget in [
        &mut visuals.widgets.inactive,
        &mut visuals.widgets.hovered,
        &mut visuals.widgets.active,
        &mut visuals.widgets.open,
    ] {
        widget.corner_radius = CornerRadius::same(4);
    }
    style.spacing.item_spacing = egui::vec2(6.0, 5.0);
    style.spacing.button_padding = egui::vec2(7.0, 3.0);
}

/// A titled section panel. `header` draws extra controls right of the title (a section's
/// bypass switch, a selector); `body` the section's controls.
pub fn section<R>(
    ui: &mut Ui,
    title: &str,
    header: impl FnOnce(&mut Ui),
    body: impl FnOnce(&mut Ui) -> R,
) -> R {
    egui::Frame::new()
        .fill(PANEL)
        .stroke(Stroke::new(1.0, PANEL_STROKE))
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::symmetric(10, 8))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(title.to_uppercase())
                        .font(FontId::proportional(11.5))
                        .strong()
                        .color(TEXT_DIM),
                );
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), header);
            });
            ui.add_space(2.0);
            body(ui)
        })
        .inner
}

/// The colour of a level in dBFS against a warning and an over threshold.
pub fn level_colour(level_db: f32, warn_db: f32, over_db: f32) -> Color32 {
    if level_db >= over_db {
        OVER
    } else if level_db >= warn_db {
        WARN
    } else {
        GOOD
    }
}
