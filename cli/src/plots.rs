//! PNG plots with `plotters`: loudness over time, the long-term average spectrum, and a
//! master's peak-stage gain reduction over time.
//!
//! Text is drawn with plotters' pure-Rust `ab_glyph` renderer and the Ubuntu Light font that
//! `epaint_default_fonts` embeds, so no system font library or fontconfig is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::analysis::LoudnessHistory;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 420);
/// Lowest level shown on the loudness plot, LUFS.
const LOUDNESS_FLOOR_LUFS: f64 = -60.0;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TTF compiled into the binary; failure would only lose labels.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Renders to a temporary `.png` beside `path` (the encoder picks the format from the
/// extension), then renames it into place.
fn draw_atomic(
    path: &Path,
    draw: impl FnOnce(
        &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>,
) -> Result<()> {
    register_font();
    write_atomic(path, ".tmp.png", "cannot move the plot into place", |tmp| {
        let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        draw(&root)
            .and_then(|_| root.present().map_err(|e| e.to_string()))
            .map_err(|e| Error::file(path, format!("cannot draw plot: {e}")))
    })
}

/// A chart over time (seconds from 0 to `t_max`) with its title, grid and axis labels.
type TimeChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn time_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
    t_max: f64,
    y: std::ops::Range<f64>,
    y_desc: &str,
) -> std::result::Result<TimeChart<'a, 'b>, String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..t_max, y)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .draw()
        .map_err(e)?;
    Ok(chart)
}

/// The series' legend, bottom right.
fn legend<'b: 'a, 'a>(chart: &mut TimeChart<'a, 'b>) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())
}

/// Momentary and short-term loudness over time with the integrated level and an optional
/// target.
/// The loudness axis starts where the music is, not at the meter's floor: 6 LU below the quietest
/// 5 % of its short-term loudness (silence aside), at least 20 LU below the integrated loudness,
/// on a 5 LU grid, never below [`LOUDNESS_FLOOR_LUFS`]. A master whose short-term loudness moves
/// by 4 LU then fills the plot instead of a tenth of it.
fn loudness_axis_bottom(short_term_lufs: &[f64], integrated_lufs: f64) -> f64 {
    let mut audible: Vec<f64> = short_term_lufs
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > -70.0)
        .collect();
    if audible.is_empty() || !integrated_lufs.is_finite() {
        return LOUDNESS_FLOOR_LUFS;
    }
    audible.sort_by(f64::total_cmp);
    let quiet = audible[(audible.len() - 1) / 20];
    let bottom = (quiet - 6.0).min(integrated_lufs - 20.0);
    ((bottom / 5.0).floor() * 5.0).max(LOUDNESS_FLOOR_LUFS)
}

pub fn loudness_plot(
    path: &Path,
    title: &str,
    history: &LoudnessHistory,
    integrated_lufs: f64,
    target_lufs: Option<f64>,
) -> Result<()> {
    let t_max = history.time_s.last().copied().unwrap_or(1.0).max(1.0);
    let bottom = loudness_axis_bottom(&history.short_term_lufs, integrated_lufs);
    let clamp = |v: f64| if v.is_finite() { v.max(bottom) } else { bottom };
    let top = history
        .momentary_lufs
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(-10.0f64, f64::max)
        .ceil()
        + 3.0;
    draw_atomic(path, |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = time_chart(root, title, t_max, bottom..top, "loudness (LUFS)")?;
        let series = |values: &[f64]| -> Vec<(f64, f64)> {
            history
                .time_s
                .iter()
                .zip(values)
                .map(|(&t, &v)| (t, clamp(v)))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(
                series(&history.momentary_lufs),
                BLUE.mix(0.45),
            ))
            .map_err(e)?
            .label("momentary (400 ms)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.45)));
        chart
            .draw_series(LineSeries::new(
                series(&history.short_term_lufs),
                RED.stroke_width(2),
            ))
            .map_err(e)?
            .label("short-term (3 s)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        if integrated_lufs.is_finite() {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, integrated_lufs), (t_max, integrated_lufs)],
                    BLACK.stroke_width(2),
                ))
                .map_err(e)?
                .label(format!("integrated {integrated_lufs:.1} LUFS"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        if let Some(t) = target_lufs {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, t), (t_max, t)],
                    GREEN.stroke_width(1),
                ))
                .map_err(e)?
                .label(format!("target {t:.1} LUFS"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
        }
        legend(&mut chart)
    })
}

/// Points across the gain-reduction plot.
const GAIN_REDUCTION_POINTS: usize = 900;

/// A master's peak stage over time: the limiter's largest gain reduction per window (and the
/// clipper's peak reduction, when it ran) drawn downwards from 0 dB, each point the largest of
/// the windows it spans, so a master reached by
/// limiting shows as a deep, wide shape and one whose limiter idles as a line at 0. The scale
/// is at least 3 dB (the work budget), else the largest reduction rounded up to 1 dB.
pub fn gain_reduction_plot(
    path: &Path,
    title: &str,
    limiter_db: &[f32],
    clipper_db: Option<&[f32]>,
    window_s: f64,
) -> Result<()> {
    let t_max = (limiter_db.len() as f64 * window_s).max(1.0);
    let deepest = limiter_db
        .iter()
        .chain(clipper_db.unwrap_or(&[]))
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max) as f64;
    let bottom = -(deepest.ceil().max(3.0));
    // One point per horizontal pixel or so: each the largest reduction of the windows it spans
    // (a line through tens of thousands of windows is a solid block).
    let per_point = limiter_db.len().div_ceil(GAIN_REDUCTION_POINTS).max(1);
    let series = |log: &[f32]| -> Vec<(f64, f64)> {
        log.chunks(per_point)
            .enumerate()
            .map(|(i, chunk)| {
                let v = chunk
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .fold(0.0f32, f32::max);
                ((i * per_point) as f64 * window_s, -(v as f64))
            })
            .collect()
    };
    draw_atomic(path, |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = time_chart(root, title, t_max, bottom..0.5, "largest reduction (dB)")?;
        if let Some(clipper) = clipper_db {
            chart
                .draw_series(LineSeries::new(series(clipper), BLUE.mix(0.6)))
                .map_err(e)?
                .label("clipper: peak reduction")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.6)));
        }
        chart
            .draw_series(LineSeries::new(series(limiter_db), RED.stroke_width(2)))
            .map_err(e)?
            .label("limiter: gain reduction")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, -3.0), (t_max, -3.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(e)?
            .label("3 dB budget (mean)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        legend(&mut chart)
    })
}

/// Draws an average spectrum ((Hz, dB) points, [`crate::spectrum::SpectrumMeter`]) of a
/// programme at `sample_rate_hz` on a log-frequency axis.
pub fn spectrum_plot(
    path: &Path,
    title: &str,
    points: &[(f64, f64)],
    sample_rate_hz: u32,
) -> Result<()> {
    let nyquist = sample_rate_hz as f64 / 2.0;
    let hz_max = nyquist.min(24_000.0);
    let top = points.iter().map(|p| p.1).fold(-60.0f64, f64::max).ceil() + 6.0;
    let bottom = top - 100.0;
    draw_atomic(path, |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d((20f64..hz_max).log_scale(), bottom..top)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("level (dB, full-scale sine = 0)")
            .label_style((FONT, 13))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .filter(|p| p.0 <= hz_max)
                    .map(|&(hz, db)| (hz, db.max(bottom))),
                BLUE,
            ))
            .map_err(e)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loudness_axis_follows_the_music() {
        // A loud master between -10 and -7 LUFS short-term: the axis starts at -30 (20 LU below
        // -9 integrated, on the 5 LU grid), not at -60.
        let loud: Vec<f64> = (0..100)
            .map(|i| -10.0 + 3.0 * (i % 7) as f64 / 6.0)
            .collect();
        assert_eq!(loudness_axis_bottom(&loud, -9.0), -30.0);
        // A quiet, dynamic programme reaches down to its quiet passages (-38 - 6 -> -45).
        let mut dynamic = vec![-38.0; 10];
        dynamic.extend(vec![-20.0; 90]);
        assert_eq!(loudness_axis_bottom(&dynamic, -22.0), -45.0);
        // Silence and the floor.
        assert_eq!(
            loudness_axis_bottom(&[f64::NEG_INFINITY], f64::NEG_INFINITY),
            -60.0
        );
        assert_eq!(loudness_axis_bottom(&[-65.0; 10], -65.0), -60.0);
    }
}
