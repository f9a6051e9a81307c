//! A scrolling trace of recent values, newest at the right: gain reduction over time, or
//! loudness history with a target line.

use egui::{pos2, vec2, Align2, Color32, Mesh, Pos2, Rect, Response, Sense, Shape, Stroke, Ui};

use super::theme;

/// A trace of `values` (oldest first), spread over the full width.
pub struct HistoryPlot<'a> {
    values: &'a [f32],
    range: (f32, f32),
    colour: Color32,
    /// Fill from the top (gain reduction hangs down from 0 dB) instead of from the bottom.
    fill_from_top: bool,
    target: Option<(f32, &'a str)>,
    unit: &'a str,
    grid_step: f32,
    capacity: Option<usize>,
}

impl<'a> HistoryPlot<'a> {
    pub fn new(values: &'a [f32]) -> Self {
        Self {
            values,
            range: (-40.0, 0.0),
            colour: theme::ACCENT,
            fill_from_top: false,
            target: None,
            unit: "",
            grid_step: 6.0,
            capacity: None,
        }
    }

    /// Vertical range, bottom to top, and the grid spacing.
    pub fn range(mut self, bottom: f32, top: f32, grid_step: f32) -> Self {
        self.range = (bottom, if top == bottom { bottom + 1.0 } else { top });
        self.grid_step = grid_step.abs().max(0.1);
        self
    }

    pub fn colour(mut self, colour: Color32) -> Self {
        self.colour = colour;
        self
    }

    /// Fills between the trace and the top edge (for gain reduction).
    pub fn fill_from_top(mut self) -> Self {
        self.fill_from_top = true;
        self
    }

    /// A horizontal target line with a label.
    pub fn target(mut self, value: f32, label: &'a str) -> Self {
        self.target = Some((value, label));
        self
    }

    /// Unit shown after the grid labels.
    pub fn unit(mut self, unit: &'a str) -> Self {
        self.unit = unit;
        self
    }

    /// The number of values a full history holds, so a filling history grows from the right
    /// instead of stretching.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    pub fn show(self, ui: &mut Ui, size: egui::Vec2) -> Response {
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, theme::PLOT);
        let plot = rect.shrink2(vec2(1.0, 4.0));
        let (bottom, top) = self.range;
        let y = |v: f32| {
            let t = ((v - bottom) / (top - bottom)).clamp(0.0, 1.0);
            plot.bottom() - t * plot.height()
        };
        let (low, high) = (bottom.min(top), bottom.max(top));
        let mut grid = (low / self.grid_step).ceil() * self.grid_step;
        while grid <= high + 1e-3 {
            painter.hline(plot.x_range(), y(grid), Stroke::new(1.0, theme::GRID));
            painter.text(
                pos2(plot.right() - 3.0, y(grid) - 1.0),
                Align2::RIGHT_BOTTOM,
                format!("{grid:.0}{}", self.unit),
                theme::small_font(),
                theme::TEXT_DIM,
            );
            grid += self.grid_step;
        }

        let slots = self
            .capacity
            .unwrap_or(self.values.len())
            .max(self.values.len());
        if slots >= 2 {
            let dx = plot.width() / (slots - 1) as f32;
            let start = slots - self.values.len();
            let points: Vec<Pos2> = self
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| pos2(plot.left() + (start + i) as f32 * dx, y(v)))
                .collect();
            if points.len() >= 2 {
                let edge = if self.fill_from_top {
                    plot.top()
                } else {
                    plot.bottom()
                };
                let mut fill = Mesh::default();
                let fill_colour = self.colour.gamma_multiply(0.22);
                for (i, p) in points.iter().enumerate() {
                    fill.colored_vertex(*p, fill_colour);
                    fill.colored_vertex(pos2(p.x, edge), fill_colour.gamma_multiply(0.2));
                    if i > 0 {
                        let base = (2 * i) as u32;
                        fill.add_triangle(base - 2, base - 1, base);
                        fill.add_triangle(base - 1, base, base + 1);
                    }
                }
                painter.add(Shape::mesh(fill));
                painter.line(points, Stroke::new(1.6, self.colour));
            }
        }
        if let Some((value, label)) = self.target {
            let yy = y(value);
            painter.hline(plot.x_range(), yy, Stroke::new(1.2, theme::WARN));
            painter.text(
                pos2(plot.left() + 4.0, yy - 2.0),
                Align2::LEFT_BOTTOM,
                label,
                theme::small_font(),
                theme::WARN,
            );
        }
        painter.rect_stroke(
            Rect::from_min_max(rect.min, rect.max),
            4.0,
            Stroke::new(1.0, theme::PANEL_STROKE),
            egui::StrokeKind::Inside,
        );
        response
    }
}
