//! The EQ display: combined response on a log-frequency axis (20 Hz - 20 kHz) over the live
//! pre/post spectrum, with one draggable handle per band.
//!
//! The widget owns no parameters. It draws what the caller gives it (a response function, the
//! bands' handles, spectra as `(hz, dB)` pairs) and returns [`BandEdit`]s, which the caller
//! applies through its `ParamSetter`, so automation and undo see ordinary parameter gestures.
//! Drag a handle to move frequency and gain (shift: fine), scroll over it to change Q,
//! double-click it to zero its gain, click it to select it; double-click empty space to ask
//! for a new band there.

use egui::{pos2, vec2, Align2, Color32, Mesh, Pos2, Rect, Response, Sense, Shape, Stroke, Ui};

use super::theme;

/// Lowest and highest frequency on the axis in Hz.
pub const MIN_HZ: f32 = 20.0;
pub const MAX_HZ: f32 = 20_000.0;
/// Q limits for scroll edits (the caller's parameter range clamps again).
const MIN_Q: f32 = 0.1;
const MAX_Q: f32 = 18.0;
/// Scroll distance in logical pixels that doubles (or halves) Q.
const SCROLL_PX_PER_Q_OCTAVE: f32 = 120.0;
/// Pointer distance in logical pixels within which a handle is grabbed.
const GRAB_RADIUS_PX: f32 = 12.0;
const HANDLE_RADIUS_PX: f32 = 7.0;

/// One band as the curve shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandHandle {
    pub enabled: bool,
    pub freq_hz: f32,
    pub gain_db: f32,
    pub q: f32,
    /// Whether the band has a gain the handle can drag vertically (bells, shelves, tilt);
    /// filters (HPF/LPF/notch) sit on the curve and drag horizontally only.
    pub has_gain: bool,
    /// Whether Q shapes the band (not for Butterworth HPF/LPF or tilt): scrolling changes it
    /// and the read-out shows it.
    pub uses_q: bool,
    /// For a dynamic band: the gain change it applies right now in dB (drawn as a bar from
    /// the static gain), `None` for a static band.
    pub dynamic_gain_db: Option<f32>,
}

/// A change the user made to a band, in physical units. `begin` and `end` bracket one host
/// gesture: call `begin_set_parameter` on `begin`, `set_parameter` for the values, and
/// `end_set_parameter` on `end` (a scroll step carries both).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandEdit {
    pub band: usize,
    pub freq_hz: f32,
    pub gain_db: f32,
    pub q: f32,
    pub begin: bool,
    pub end: bool,
}

/// What the curve returns each frame.
pub struct EqCurveOutput {
    pub response: Response,
    pub edits: Vec<BandEdit>,
    /// The band the user clicked or started dragging this frame.
    pub clicked_band: Option<usize>,
    /// A double-click on empty space asks for a new band there: `(hz, dB)`.
    pub add_band_at: Option<(f32, f32)>,
}

/// The EQ display (see the module docs).
pub struct EqCurveView<'a> {
    response_db: &'a dyn Fn(f32) -> f32,
    dynamic_response_db: Option<&'a dyn Fn(f32) -> f32>,
    handles: &'a [BandHandle],
    pre_spectrum: &'a [[f32; 2]],
    post_spectrum: &'a [[f32; 2]],
    selected: Option<usize>,
    gain_range_db: f32,
    spectrum_range_db: (f32, f32),
}

impl<'a> EqCurveView<'a> {
    /// A curve whose combined magnitude at `hz` is `response_db(hz)` (e.g. a closure over
    /// `shared_dsp::eq::EqCurve::magnitude_db`), with one handle per band.
    pub fn new(response_db: &'a dyn Fn(f32) -> f32, handles: &'a [BandHandle]) -> Self {
        Self {
            response_db,
            dynamic_response_db: None,
            handles,
            pre_spectrum: &[],
            post_spectrum: &[],
            selected: None,
            gain_range_db: 12.0,
            spectrum_range_db: (-96.0, 0.0),
        }
    }

    /// The curve including the dynamic bands' momentary gain, drawn over the static one.
    pub fn dynamic_response(mut self, response_db: &'a dyn Fn(f32) -> f32) -> Self {
        self.dynamic_response_db = Some(response_db);
        self
    }

    /// Spectra as `(hz, dBFS)` pairs in ascending frequency: the input (drawn grey) and the
    /// output (drawn in the accent colour). Either may be empty.
    pub fn spectra(mut self, pre: &'a [[f32; 2]], post: &'a [[f32; 2]]) -> Self {
        self.pre_spectrum = pre;
        self.post_spectrum = post;
        self
    }

    /// The band whose handle is highlighted.
    pub fn selected(mut self, band: Option<usize>) -> Self {
        self.selected = band;
        self
    }

    /// The gain axis spans `-range_db..=range_db`.
    pub fn gain_range_db(mut self, range_db: f32) -> Self {
        self.gain_range_db = range_db.max(1.0);
        self
    }

    /// The spectrum's dBFS span, bottom to top.
    pub fn spectrum_range_db(mut self, floor_db: f32, top_db: f32) -> Self {
        self.spectrum_range_db = (floor_db, top_db.max(floor_db + 1.0));
        self
    }

    pub fn show(self, ui: &mut Ui, size: egui::Vec2) -> EqCurveOutput {
        let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
        let axes = Axes {
            plot: rect.shrink2(vec2(0.0, 0.0)),
            gain_range_db: self.gain_range_db,
            spectrum_range_db: self.spectrum_range_db,
        };
        let mut edits = Vec::new();
        let mut add_band_at = None;
        let clicked_band = self.interact(ui, &axes, &response, &mut edits, &mut add_band_at);
        if ui.is_rect_visible(rect) {
            self.paint(ui, &axes, &response);
        }
        EqCurveOutput {
            response,
            edits,
            clicked_band,
            add_band_at,
        }
    }

    /// Handle position of band `index` in screen space.
    fn handle_pos(&self, axes: &Axes, band: &BandHandle) -> Pos2 {
        let db = if band.has_gain {
            band.gain_db
        } else {
            (self.response_db)(band.freq_hz)
        };
        pos2(
            axes.hz_to_x(band.freq_hz),
            axes.db_to_y(db.clamp(-axes.gain_range_db, axes.gain_range_db)),
        )
    }

    fn interact(
        &self,
        ui: &Ui,
        axes: &Axes,
        response: &Response,
        edits: &mut Vec<BandEdit>,
        add_band_at: &mut Option<(f32, f32)>,
    ) -> Option<usize> {
        #[derive(Clone, Copy)]
        struct Drag {
            band: usize,
            freq_hz: f32,
            gain_db: f32,
        }
        let drag_id = response.id.with("drag");
        let nearest = |pointer: Pos2| {
            self.handles
                .iter()
                .enumerate()
                .filter(|(_, b)| b.enabled)
                .map(|(i, b)| (i, self.handle_pos(axes, b).distance(pointer)))
                .filter(|(_, d)| *d <= GRAB_RADIUS_PX)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        };
        let edit = |band: usize, freq_hz: f32, gain_db: f32, q: f32, begin, end| BandEdit {
            band,
            freq_hz: freq_hz.clamp(MIN_HZ, MAX_HZ),
            gain_db,
            q,
            begin,
            end,
        };
        let mut clicked = None;

        if response.drag_started() {
            // Where the button went down, not where the pointer is now: a quick drag has
            // already left the handle by the time egui calls it a drag.
            let origin = ui
                .input(|i| i.pointer.press_origin())
                .or(response.interact_pointer_pos());
            if let Some(band) = origin.and_then(nearest) {
                let handle = &self.handles[band];
                ui.data_mut(|d| {
                    d.insert_temp(
                        drag_id,
                        Some(Drag {
                            band,
                            freq_hz: handle.freq_hz,
                            gain_db: handle.gain_db,
                        }),
                    )
                });
                clicked = Some(band);
                edits.push(edit(
                    band,
                    handle.freq_hz,
                    handle.gain_db,
                    handle.q,
                    true,
                    false,
                ));
            }
        }
        let drag: Option<Drag> = ui.data(|d| d.get_temp(drag_id)).flatten();
        if let Some(mut drag) = drag {
            let handle = self.handles[drag.band];
            let delta = response.drag_delta();
            let scale = if ui.input(|i| i.modifiers.shift) {
                0.1
            } else {
                1.0
            };
            // Work in axis units so the handle stays under the pointer at normal speed.
            let x = axes.hz_to_x(drag.freq_hz) + delta.x * scale;
            drag.freq_hz = axes.x_to_hz(x).clamp(MIN_HZ, MAX_HZ);
            if handle.has_gain {
                let y = axes.db_to_y(drag.gain_db) + delta.y * scale;
                drag.gain_db = axes
                    .y_to_db(y)
                    .clamp(-axes.gain_range_db, axes.gain_range_db);
            }
            let end = response.drag_stopped() || !response.dragged();
            if delta != egui::Vec2::ZERO || end {
                edits.push(edit(
                    drag.band,
                    drag.freq_hz,
                    drag.gain_db,
                    handle.q,
                    false,
                    end,
                ));
            }
            ui.data_mut(|d| d.insert_temp(drag_id, (!end).then_some(drag)));
        }

        if let Some(pointer) = response.hover_pos() {
            let target = nearest(pointer).or(self.selected.filter(|_| response.hovered()));
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            let target = target.filter(|&band| self.handles[band].uses_q);
            if let (Some(band), true) = (target, scroll != 0.0) {
                let handle = &self.handles[band];
                let q = (handle.q * (scroll / SCROLL_PX_PER_Q_OCTAVE).exp2()).clamp(MIN_Q, MAX_Q);
                edits.push(edit(band, handle.freq_hz, handle.gain_db, q, true, true));
            }
            if response.double_clicked() {
                if let Some(band) = nearest(pointer) {
                    let handle = &self.handles[band];
                    edits.push(edit(band, handle.freq_hz, 0.0, handle.q, true, true));
                } else {
                    let hz = axes.x_to_hz(pointer.x).clamp(MIN_HZ, MAX_HZ);
                    let db = axes
                        .y_to_db(pointer.y)
                        .clamp(-axes.gain_range_db, axes.gain_range_db);
                    *add_band_at = Some((hz, db));
                }
            } else if response.clicked() {
                clicked = nearest(pointer);
            }
        }
        clicked
    }

    fn paint(&self, ui: &Ui, axes: &Axes, response: &Response) {
        let painter = ui.painter_at(axes.plot);
        let plot = axes.plot;
        painter.rect_filled(plot, 4.0, theme::PLOT);
        paint_grid(&painter, axes);

        paint_spectrum(&painter, axes, self.pre_spectrum, theme::PRE, 0.22);
        paint_spectrum(&painter, axes, self.post_spectrum, theme::ACCENT, 0.16);

        // The combined curve, sampled once per pixel column.
        let columns = plot.width().max(2.0) as usize;
        let curve: Vec<Pos2> = (0..=columns)
            .map(|i| {
                let x = plot.left() + i as f32 * plot.width() / columns as f32;
                let db = (self.response_db)(axes.x_to_hz(x));
                pos2(x, axes.db_to_y(finite_or(db, 0.0)))
            })
            .collect();
        let zero_y = axes.db_to_y(0.0);
        let mut fill = Mesh::default();
        for (i, p) in curve.iter().enumerate() {
            let colour = theme::ACCENT.gamma_multiply(0.14);
            fill.colored_vertex(*p, colour);
            fill.colored_vertex(pos2(p.x, zero_y), colour);
            if i > 0 {
                let base = (2 * i) as u32;
                fill.add_triangle(base - 2, base - 1, base);
                fill.add_triangle(base - 1, base, base + 1);
            }
        }
        painter.add(Shape::mesh(fill));
        if let Some(dynamic) = self.dynamic_response_db {
            let moving: Vec<Pos2> = curve
                .iter()
                .map(|p| {
                    pos2(
                        p.x,
                        axes.db_to_y(finite_or(dynamic(axes.x_to_hz(p.x)), 0.0)),
                    )
                })
                .collect();
            painter.line(moving, Stroke::new(1.5, theme::REDUCTION));
        }
        painter.line(curve, Stroke::new(2.2, theme::ACCENT));

        let hovered_band = response.hover_pos().and_then(|p| {
            self.handles
                .iter()
                .enumerate()
                .filter(|(_, b)| b.enabled)
                .find(|(_, b)| self.handle_pos(axes, b).distance(p) <= GRAB_RADIUS_PX)
                .map(|(i, _)| i)
        });
        for (i, band) in self.handles.iter().enumerate() {
            let centre = self.handle_pos(axes, band);
            let colour = theme::band_colour(i);
            if !band.enabled {
                painter.circle_stroke(
                    centre,
                    HANDLE_RADIUS_PX - 2.0,
                    Stroke::new(1.0, colour.gamma_multiply(0.35)),
                );
                continue;
            }
            if let Some(moving_db) = band.dynamic_gain_db {
                let target_db =
                    (band.gain_db + moving_db).clamp(-axes.gain_range_db, axes.gain_range_db);
                let to = pos2(centre.x, axes.db_to_y(target_db));
                painter.line_segment([centre, to], Stroke::new(3.0, theme::REDUCTION));
                painter.circle_filled(to, 3.0, theme::REDUCTION);
            }
            let emphasised = self.selected == Some(i) || hovered_band == Some(i);
            if emphasised {
                painter.circle_filled(centre, HANDLE_RADIUS_PX + 5.0, colour.gamma_multiply(0.18));
                painter.vline(
                    centre.x,
                    plot.y_range(),
                    Stroke::new(1.0, colour.gamma_multiply(0.35)),
                );
            }
            painter.circle_filled(centre, HANDLE_RADIUS_PX, colour);
            if self.selected == Some(i) {
                painter.circle_stroke(
                    centre,
                    HANDLE_RADIUS_PX + 1.5,
                    Stroke::new(1.5, theme::TEXT),
                );
            }
            painter.text(
                centre,
                Align2::CENTER_CENTER,
                (i + 1).to_string(),
                egui::FontId::proportional(9.5),
                Color32::from_rgb(0x10, 0x12, 0x16),
            );
        }
        if let Some(i) = hovered_band.or(self.selected.filter(|&i| self.handles[i].enabled)) {
            let band = &self.handles[i];
            let mut text = format!("{}  {}", i + 1, format_hz(band.freq_hz));
            if band.has_gain {
                text += &format!("  {:+.1} dB", band.gain_db);
            }
            if band.uses_q {
                text += &format!("  Q {:.2}", band.q);
            }
            painter.text(
                plot.left_top() + vec2(8.0, 6.0),
                Align2::LEFT_TOP,
                text,
                theme::value_font(11.0),
                theme::band_colour(i),
            );
        }
        painter.rect_stroke(
            plot,
            4.0,
            Stroke::new(1.0, theme::PANEL_STROKE),
            egui::StrokeKind::Inside,
        );
    }
}

/// Screen mapping of the display.
struct Axes {
    plot: Rect,
    gain_range_db: f32,
    spectrum_range_db: (f32, f32),
}

impl Axes {
    fn hz_to_x(&self, hz: f32) -> f32 {
        let t = (hz.max(1.0) / MIN_HZ).ln() / (MAX_HZ / MIN_HZ).ln();
        self.plot.left() + t * self.plot.width()
    }

    fn x_to_hz(&self, x: f32) -> f32 {
        let t = (x - self.plot.left()) / self.plot.width();
        MIN_HZ * (MAX_HZ / MIN_HZ).powf(t)
    }

    fn db_to_y(&self, db: f32) -> f32 {
        let t = (db + self.gain_range_db) / (2.0 * self.gain_range_db);
        self.plot.bottom() - t * self.plot.height()
    }

    fn y_to_db(&self, y: f32) -> f32 {
        let t = (self.plot.bottom() - y) / self.plot.height();
        t * 2.0 * self.gain_range_db - self.gain_range_db
    }

    fn spectrum_db_to_y(&self, db: f32) -> f32 {
        let (floor, top) = self.spectrum_range_db;
        let t = ((db - floor) / (top - floor)).clamp(0.0, 1.0);
        self.plot.bottom() - t * self.plot.height()
    }
}

fn finite_or(value: f32, fallback: f32) -> f32 {
    if value.is_finite() {
        value
    } else {
        fallback
    }
}

/// `1.2 kHz`, `250 Hz`.
pub fn format_hz(hz: f32) -> String {
    if hz >= 1000.0 {
        format!("{:.2} kHz", hz / 1000.0)
    } else {
        format!("{hz:.0} Hz")
    }
}

fn paint_grid(painter: &egui::Painter, axes: &Axes) {
    let plot = axes.plot;
    let font = theme::small_font();
    for decade in [10.0_f32, 100.0, 1000.0, 10_000.0] {
        for multiple in 1..10 {
            let hz = decade * multiple as f32;
            if !(MIN_HZ..=MAX_HZ).contains(&hz) {
                continue;
            }
            let x = axes.hz_to_x(hz);
            let labelled = matches!(multiple, 1 | 2 | 5);
            let colour = if labelled {
                theme::GRID_STRONG
            } else {
                theme::GRID
            };
            painter.vline(x, plot.y_range(), Stroke::new(1.0, colour));
            if labelled && hz > MIN_HZ {
                let label = if hz >= 1000.0 {
                    format!("{}k", hz / 1000.0)
                } else {
                    format!("{hz}")
                };
                painter.text(
                    pos2(x + 3.0, plot.bottom() - 3.0),
                    Align2::LEFT_BOTTOM,
                    label,
                    font.clone(),
                    theme::TEXT_DIM,
                );
            }
        }
    }
    let step_db = if axes.gain_range_db > 12.0 { 6.0 } else { 3.0 };
    let mut db = -axes.gain_range_db + step_db;
    while db < axes.gain_range_db {
        let y = axes.db_to_y(db);
        let colour = if db.abs() < 1e-3 {
            theme::GRID_STRONG
        } else {
            theme::GRID
        };
        painter.hline(plot.x_range(), y, Stroke::new(1.0, colour));
        painter.text(
            pos2(plot.right() - 4.0, y - 1.0),
            Align2::RIGHT_BOTTOM,
            if db.abs() < 1e-3 {
                "0 dB".to_owned()
            } else {
                format!("{db:+.0}")
            },
            font.clone(),
            theme::TEXT_DIM,
        );
        db += step_db;
    }
}

/// Draws a spectrum as a filled area, taking the loudest bin per pixel column so narrow peaks
/// stay visible at high frequencies where many bins share a pixel.
fn paint_spectrum(
    painter: &egui::Painter,
    axes: &Axes,
    spectrum: &[[f32; 2]],
    colour: Color32,
    fill_alpha: f32,
) {
    if spectrum.len() < 2 {
        return;
    }
    let plot = axes.plot;
    let columns = plot.width().max(1.0) as usize + 1;
    let mut column_db = vec![f32::NEG_INFINITY; columns];
    for &[hz, db] in spectrum {
        if !(MIN_HZ..=MAX_HZ).contains(&hz) || !db.is_finite() {
            continue;
        }
        let column = ((axes.hz_to_x(hz) - plot.left()) as usize).min(columns - 1);
        column_db[column] = column_db[column].max(db);
    }
    // Columns below the lowest bins (few bins per pixel at low frequencies) are bridged
    // linearly between the columns that have a value.
    let known: Vec<(usize, f32)> = column_db
        .iter()
        .enumerate()
        .filter(|(_, db)| db.is_finite())
        .map(|(i, db)| (i, *db))
        .collect();
    if known.len() < 2 {
        return;
    }
    let mut points = Vec::with_capacity(columns);
    for pair in known.windows(2) {
        let ((i0, d0), (i1, d1)) = (pair[0], pair[1]);
        for i in i0..i1 {
            let t = (i - i0) as f32 / (i1 - i0) as f32;
            points.push(pos2(
                plot.left() + i as f32,
                axes.spectrum_db_to_y(d0 + (d1 - d0) * t),
            ));
        }
    }
    let (last_i, last_db) = known[known.len() - 1];
    points.push(pos2(
        plot.left() + last_i as f32,
        axes.spectrum_db_to_y(last_db),
    ));

    let mut fill = Mesh::default();
    let fill_colour = colour.gamma_multiply(fill_alpha);
    for (i, p) in points.iter().enumerate() {
        fill.colored_vertex(*p, fill_colour);
        fill.colored_vertex(pos2(p.x, plot.bottom()), fill_colour.gamma_multiply(0.3));
        if i > 0 {
            let base = (2 * i) as u32;
            fill.add_triangle(base - 2, base - 1, base);
            fill.add_triangle(base - 1, base, base + 1);
        }
    }
    painter.add(Shape::mesh(fill));
    painter.line(points, Stroke::new(1.0, colour.gamma_multiply(0.8)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Axes {
        Axes {
            plot: Rect::from_min_size(pos2(10.0, 20.0), vec2(600.0, 300.0)),
            gain_range_db: 12.0,
            spectrum_range_db: (-96.0, 0.0),
        }
    }

    #[test]
    fn frequency_axis_is_logarithmic_and_invertible() {
        let axes = axes();
        assert!((axes.hz_to_x(20.0) - 10.0).abs() < 1e-3);
        assert!((axes.hz_to_x(20_000.0) - 610.0).abs() < 1e-3);
        // 20 Hz-20 kHz is three decades: 200 Hz and 2 kHz sit at one and two thirds.
        assert!((axes.hz_to_x(200.0) - 210.0).abs() < 1e-3);
        assert!((axes.hz_to_x(2_000.0) - 410.0).abs() < 1e-3);
        for hz in [31.5_f32, 440.0, 12_345.0] {
            assert!((axes.x_to_hz(axes.hz_to_x(hz)) / hz - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn gain_axis_is_linear_in_db_and_invertible() {
        let axes = axes();
        assert!((axes.db_to_y(0.0) - 170.0).abs() < 1e-3);
        assert!((axes.db_to_y(12.0) - 20.0).abs() < 1e-3);
        assert!((axes.db_to_y(-12.0) - 320.0).abs() < 1e-3);
        assert!((axes.y_to_db(axes.db_to_y(-4.5)) + 4.5).abs() < 1e-4);
    }

    #[test]
    fn hz_labels_switch_to_khz() {
        assert_eq!(format_hz(250.0), "250 Hz");
        assert_eq!(format_hz(1_200.0), "1.20 kHz");
    }
}
