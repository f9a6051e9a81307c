//! Level, gain-reduction and correlation meters. They draw values the audio thread published
//! (dBFS, LUFS, dB of reduction, correlation -1..1); the only state they keep is the GUI-side
//! peak hold.

use egui::{pos2, vec2, Align2, Rect, Response, Sense, Stroke, Ui};

use super::theme;

/// Seconds a held peak stays before it falls.
const HOLD_SECONDS: f64 = 1.5;
/// Fall rate of a released hold in dB per second.
const HOLD_FALL_DB_PER_SECOND: f32 = 20.0;

/// Meter ballistics kept by the editor: holds the highest value for a while, then falls at a
/// fixed rate. With no hold time it is a meter bar's fall-back (readings arrive per audio
/// block, frames come faster, so bars would flicker without it).
#[derive(Clone, Copy, Debug)]
pub struct MeterHold {
    value_db: f32,
    held_at_s: f64,
    updated_at_s: f64,
    hold_s: f64,
    fall_db_per_s: f32,
}

impl Default for MeterHold {
    /// A peak-hold line: [`HOLD_SECONDS`], then [`HOLD_FALL_DB_PER_SECOND`].
    fn default() -> Self {
        Self::new(HOLD_SECONDS, HOLD_FALL_DB_PER_SECOND)
    }
}

impl MeterHold {
    pub fn new(hold_s: f64, fall_db_per_s: f32) -> Self {
        Self {
            value_db: f32::NEG_INFINITY,
            held_at_s: 0.0,
            updated_at_s: 0.0,
            hold_s,
            fall_db_per_s,
        }
    }

    /// A meter bar: no hold, falls 20 dB in 1.7 s (the return time of an IEC 60268-10
    /// type I peak programme meter).
    pub fn bar() -> Self {
        Self::new(0.0, 20.0 / 1.7)
    }

    /// Feeds the current value at time `now_s` (egui's `input.time`) and returns the hold.
    pub fn update(&mut self, value_db: f32, now_s: f64) -> f32 {
        let elapsed = (now_s - self.updated_at_s).max(0.0);
        self.updated_at_s = now_s;
        if now_s - self.held_at_s > self.hold_s {
            self.value_db -= self.fall_db_per_s * elapsed as f32;
        }
        if value_db.is_finite() && value_db >= self.value_db {
            self.value_db = value_db;
            self.held_at_s = now_s;
        }
        self.value_db
    }

    pub fn value_db(&self) -> f32 {
        self.value_db
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.hold_s, self.fall_db_per_s);
    }
}

/// A vertical dBFS meter: one bar per channel (peak), an optional loudness bar (LUFS on the
/// same scale, as loudness meters show it), hold lines, and a scale.
pub struct LevelMeter<'a> {
    label: &'a str,
    peaks_db: &'a [f32],
    holds_db: &'a [f32],
    loudness_lufs: Option<f32>,
    range_db: (f32, f32),
    /// Optional band drawn on the scale (e.g. the -12..-6 dBFS gain-staging window).
    target_band_db: Option<(f32, f32)>,
}

impl<'a> LevelMeter<'a> {
    pub fn new(label: &'a str, peaks_db: &'a [f32]) -> Self {
        Self {
            label,
            peaks_db,
            holds_db: &[],
            loudness_lufs: None,
            range_db: (-60.0, 6.0),
            target_band_db: None,
        }
    }

    /// Peak holds, one per channel.
    pub fn holds(mut self, holds_db: &'a [f32]) -> Self {
        self.holds_db = holds_db;
        self
    }

    /// A loudness bar (e.g. short-term LUFS) next to the peak bars.
    pub fn loudness(mut self, lufs: f32) -> Self {
        self.loudness_lufs = Some(lufs);
        self
    }

    /// The scale from `floor_db` to `top_db`.
    pub fn range(mut self, floor_db: f32, top_db: f32) -> Self {
        self.range_db = (floor_db, top_db.max(floor_db + 1.0));
        self
    }

    /// Marks a target window on the scale.
    pub fn target_band(mut self, low_db: f32, high_db: f32) -> Self {
        self.target_band_db = Some((low_db, high_db));
        self
    }

    pub fn show(self, ui: &mut Ui, height: f32) -> Response {
        let bars = self.peaks_db.len() + usize::from(self.loudness_lufs.is_some());
        let bar_w = 9.0;
        let scale_w = 24.0;
        let width = scale_w + bars as f32 * (bar_w + 2.0) + 2.0;
        let (rect, response) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter();
        let caption_h = 14.0;
        let value_h = 14.0;
        let meter = Rect::from_min_max(
            pos2(rect.left() + scale_w, rect.top() + caption_h),
            pos2(rect.right(), rect.bottom() - value_h),
        );
        let (floor, top) = self.range_db;
        let y = |db: f32| {
            let t = ((db - floor) / (top - floor)).clamp(0.0, 1.0);
            meter.bottom() - t * meter.height()
        };
        painter.text(
            pos2(rect.center().x + scale_w * 0.5, rect.top()),
            Align2::CENTER_TOP,
            self.label,
            theme::small_font(),
            theme::TEXT_DIM,
        );
        painter.rect_filled(meter, 2.0, theme::PLOT);
        if let Some((low, high)) = self.target_band_db {
            painter.rect_filled(
                Rect::from_x_y_ranges(meter.x_range(), y(high)..=y(low)),
                0.0,
                theme::GOOD.gamma_multiply(0.12),
            );
        }
        // Scale: every 6 dB, labelled every 12 dB.
        let mut db = (top / 6.0).floor() * 6.0;
        while db >= floor {
            let yy = y(db);
            let labelled = (db as i32) % 12 == 0;
            painter.hline(
                meter.x_range(),
                yy,
                Stroke::new(
                    1.0,
                    if db == 0.0 {
                        theme::GRID_STRONG
                    } else {
                        theme::GRID
                    },
                ),
            );
            if labelled {
                painter.text(
                    pos2(meter.left() - 3.0, yy),
                    Align2::RIGHT_CENTER,
                    format!("{db:.0}"),
                    theme::small_font(),
                    theme::TEXT_DIM,
                );
            }
            db -= 6.0;
        }
        let bar_rect = |i: usize| {
            let x = meter.left() + 2.0 + i as f32 * (bar_w + 2.0);
            Rect::from_x_y_ranges(x..=x + bar_w, meter.y_range())
        };
        for (i, &peak) in self.peaks_db.iter().enumerate() {
            let bar = bar_rect(i);
            paint_level_bar(painter, bar, peak, y);
            if let Some(&hold) = self.holds_db.get(i) {
                if hold.is_finite() && hold > floor {
                    painter.hline(
                        bar.x_range(),
                        y(hold),
                        Stroke::new(2.0, theme::level_colour(hold, -6.0, -0.1)),
                    );
                }
            }
        }
        if let Some(lufs) = self.loudness_lufs {
            let bar = bar_rect(self.peaks_db.len());
            if lufs.is_finite() && lufs > floor {
                painter.rect_filled(
                    Rect::from_x_y_ranges(bar.x_range(), y(lufs)..=bar.bottom()),
                    1.0,
                    theme::ACCENT.gamma_multiply(0.85),
                );
            }
        }
        // The loudest value (or the loudness) as a number under the meter.
        let shown = self
            .loudness_lufs
            .or_else(|| self.holds_db.iter().copied().reduce(f32::max))
            .or_else(|| self.peaks_db.iter().copied().reduce(f32::max))
            .unwrap_or(f32::NEG_INFINITY);
        painter.text(
            pos2(meter.center().x, rect.bottom()),
            Align2::CENTER_BOTTOM,
            format_level(shown),
            theme::value_font(10.5),
            if self.loudness_lufs.is_some() {
                theme::ACCENT
            } else {
                theme::level_colour(shown, -6.0, -0.1)
            },
        );
        response
    }
}

/// Green up to -18 dBFS, yellow to -6, red above: each height keeps its colour, so a bar
/// reads like a hardware meter.
fn paint_level_bar(painter: &egui::Painter, bar: Rect, level_db: f32, y: impl Fn(f32) -> f32) {
    if !level_db.is_finite() || y(level_db) >= bar.bottom() {
        return;
    }
    let zones = [
        (f32::NEG_INFINITY, -18.0, theme::GOOD),
        (-18.0, -6.0, theme::WARN),
        (-6.0, f32::INFINITY, theme::OVER),
    ];
    for (low_db, high_db, colour) in zones {
        if level_db <= low_db {
            break;
        }
        let bottom = if low_db.is_finite() {
            y(low_db)
        } else {
            bar.bottom()
        };
        let top = y(level_db.min(high_db));
        if bottom > top {
            painter.rect_filled(
                Rect::from_x_y_ranges(bar.x_range(), top..=bottom),
                0.0,
                colour.gamma_multiply(0.9),
            );
        }
    }
}

/// `-12.3`, `-inf`.
pub fn format_level(db: f32) -> String {
    if db.is_finite() && db > -150.0 {
        format!("{db:.1}")
    } else {
        "-inf".to_owned()
    }
}

/// A vertical gain-reduction meter: the bar grows down from 0 dB.
pub struct GainReductionMeter<'a> {
    label: &'a str,
    /// Reduction in dB, positive or negative (drawn by magnitude).
    reduction_db: f32,
    hold_db: Option<f32>,
    range_db: f32,
}

impl<'a> GainReductionMeter<'a> {
    pub fn new(label: &'a str, reduction_db: f32) -> Self {
        Self {
            label,
            reduction_db,
            hold_db: None,
            range_db: 12.0,
        }
    }

    pub fn hold(mut self, hold_db: f32) -> Self {
        self.hold_db = Some(hold_db);
        self
    }

    /// Full scale in dB of reduction.
    pub fn range(mut self, range_db: f32) -> Self {
        self.range_db = range_db.max(1.0);
        self
    }

    pub fn show(self, ui: &mut Ui, height: f32) -> Response {
        let width = 42.0;
        let (rect, response) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter();
        let meter = Rect::from_min_max(
            pos2(rect.left() + 22.0, rect.top() + 14.0),
            pos2(rect.right() - 8.0, rect.bottom() - 14.0),
        );
        let y = |db: f32| meter.top() + (db.abs() / self.range_db).clamp(0.0, 1.0) * meter.height();
        painter.text(
            pos2(rect.center().x + 7.0, rect.top()),
            Align2::CENTER_TOP,
            self.label,
            theme::small_font(),
            theme::TEXT_DIM,
        );
        painter.rect_filled(meter, 2.0, theme::PLOT);
        let step = if self.range_db > 12.0 { 6.0 } else { 3.0 };
        let mut db = 0.0;
        while db <= self.range_db + 1e-3 {
            painter.hline(meter.x_range(), y(db), Stroke::new(1.0, theme::GRID));
            painter.text(
                pos2(meter.left() - 3.0, y(db)),
                Align2::RIGHT_CENTER,
                format!("{db:.0}"),
                theme::small_font(),
                theme::TEXT_DIM,
            );
            db += step;
        }
        let reduction = if self.reduction_db.is_finite() {
            self.reduction_db.abs()
        } else {
            0.0
        };
        if reduction > 0.01 {
            painter.rect_filled(
                Rect::from_x_y_ranges(meter.x_range().shrink(1.0), meter.top()..=y(reduction)),
                1.0,
                theme::REDUCTION,
            );
        }
        if let Some(hold) = self.hold_db.filter(|h| h.is_finite() && h.abs() > 0.01) {
            painter.hline(meter.x_range(), y(hold), Stroke::new(2.0, theme::TEXT));
        }
        painter.text(
            pos2(meter.center().x, rect.bottom()),
            Align2::CENTER_BOTTOM,
            format!("{:.1}", if reduction > 0.05 { -reduction } else { 0.0 }),
            theme::value_font(10.5),
            theme::REDUCTION,
        );
        response
    }
}

/// A horizontal correlation meter from -1 (out of phase) to +1 (mono).
pub struct CorrelationMeter {
    correlation: f32,
}

impl CorrelationMeter {
    pub fn new(correlation: f32) -> Self {
        Self { correlation }
    }

    pub fn show(self, ui: &mut Ui, width: f32) -> Response {
        let (rect, response) = ui.allocate_exact_size(vec2(width, 44.0), Sense::hover());
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let painter = ui.painter();
        let bar = Rect::from_min_max(
            pos2(rect.left() + 8.0, rect.top() + 16.0),
            pos2(rect.right() - 8.0, rect.top() + 28.0),
        );
        painter.rect_filled(bar, 2.0, theme::PLOT);
        let x = |c: f32| bar.left() + (c.clamp(-1.0, 1.0) + 1.0) * 0.5 * bar.width();
        painter.vline(x(0.0), bar.y_range(), Stroke::new(1.0, theme::GRID_STRONG));
        let value = if self.correlation.is_finite() {
            self.correlation
        } else {
            0.0
        };
        // Negative correlation loses energy in mono: warn.
        let colour = if value < 0.0 {
            theme::OVER
        } else if value < 0.3 {
            theme::WARN
        } else {
            theme::GOOD
        };
        let (from, to) = if value >= 0.0 {
            (x(0.0), x(value))
        } else {
            (x(value), x(0.0))
        };
        painter.rect_filled(
            Rect::from_x_y_ranges(from..=to.max(from + 1.0), bar.y_range().shrink(2.0)),
            1.0,
            colour,
        );
        painter.vline(
            x(value),
            bar.y_range().expand(2.0),
            Stroke::new(2.0, theme::TEXT),
        );
        for (c, label) in [(-1.0, "-1"), (0.0, "0"), (1.0, "+1")] {
            painter.text(
                pos2(x(c), rect.bottom()),
                Align2::CENTER_BOTTOM,
                label,
                theme::small_font(),
                theme::TEXT_DIM,
            );
        }
        painter.text(
            rect.left_top(),
            Align2::LEFT_TOP,
            "CORRELATION",
            theme::small_font(),
            theme::TEXT_DIM,
        );
        painter.text(
            rect.right_top(),
            Align2::RIGHT_TOP,
            format!("{value:+.2}"),
            theme::value_font(11.0),
            colour,
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_keeps_the_peak_then_falls_at_the_set_rate() {
        let mut hold = MeterHold::default();
        assert_eq!(hold.update(-6.0, 0.0), -6.0);
        assert_eq!(hold.update(-20.0, 1.0), -6.0);
        // Released after HOLD_SECONDS: falls 20 dB/s from then on.
        let at_2s = hold.update(-40.0, 2.0);
        assert!((at_2s - (-6.0 - 20.0)).abs() < 1e-3, "{at_2s}");
        // A new, higher peak is taken at once.
        assert_eq!(hold.update(-3.0, 2.1), -3.0);
    }

    #[test]
    fn levels_format_with_one_decimal_and_minus_infinity() {
        assert_eq!(format_level(-12.34), "-12.3");
        assert_eq!(format_level(f32::NEG_INFINITY), "-inf");
        assert_eq!(format_level(f32::NAN), "-inf");
    }
}
