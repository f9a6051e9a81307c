//! PNG plots with `plotters`: loudness over time, the long-term average spectrum, a master's
//! peak-stage gain reduction over time, its short-term loudness against its mix's at matched
//! loudness, and the stems' short-term loudness. The chart builders here are shared with the
//! mid/side spectra ([`crate::mid_side_spectrum`]).
//!
//! Text is drawn with plotters' pure-Rust `ab_glyph` renderer and the Ubuntu Light font that
//! `epaint_default_fonts` embeds, so no system font library or fontconfig is needed.

use std::path::Path;
use std::sync::Once;

use plotters::coord::CoordTranslate;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::analysis::LoudnessHistory;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};

pub(crate) const FONT: &str = "sans-serif";
/// Width and height of a plot, pixels.
pub(crate) const SIZE: (u32, u32) = (1000, 420);
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

/// What drawing returns: plotters' error as text.
pub(crate) type Drawn = std::result::Result<(), String>;

/// A drawing area on a PNG.
pub(crate) type Area<'b> = DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>;

/// Renders a plot of `size` pixels to a temporary `.png` beside `path` (the encoder picks the
/// format from the extension), then renames it into place.
pub(crate) fn draw_atomic(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Drawn,
) -> Result<()> {
    register_font();
    write_atomic(path, ".tmp.png", "cannot move the plot into place", |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        // Every plot is drawn on white.
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(|e| e.to_string()))
            .map_err(|e| Error::file(path, format!("cannot draw plot: {e}")))
    })
}

/// The y axis of the short-term loudness plots.
const SHORT_TERM_AXIS: &str = "short-term loudness (LUFS)";

/// A chart over time (seconds from 0 to `t_max`) with its title, grid and axis labels.
type TimeChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn time_chart<'a, 'b>(
    root: &'a Area<'b>,
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

/// A chart over frequency (log scale) and level, dB.
pub(crate) type SpectrumChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<
        plotters::coord::combinators::LogCoord<f64>,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// A chart from 20 Hz to `hz_max` on a log axis, with its title (if any), grid and labels.
pub(crate) fn spectrum_chart<'a, 'b>(
    area: &'a Area<'b>,
    title: Option<&str>,
    hz_max: f64,
    y: std::ops::Range<f64>,
    y_desc: &str,
) -> std::result::Result<SpectrumChart<'a, 'b>, String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let mut builder = ChartBuilder::on(area);
    if let Some(title) = title {
        builder.caption(title, (FONT, 20));
    }
    let mut chart = builder
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d((20f64..hz_max).log_scale(), y)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("frequency (Hz)")
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .draw()
        .map_err(e)?;
    Ok(chart)
}

/// Draws `points` as a line in `style`, listed in the legend as `label`.
pub(crate) fn labelled_line<CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<BitMapBackend, CT>,
    points: Vec<(f64, f64)>,
    style: ShapeStyle,
    label: &str,
) -> Drawn {
    chart
        .draw_series(LineSeries::new(points, style))
        .map_err(|e| e.to_string())?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// A level held from 0 s to `t_max` s, as a line of two points.
fn level_line(level: f64, t_max: f64) -> Vec<(f64, f64)> {
    vec![(0.0, level), (t_max, level)]
}

/// The series' legend, bottom right.
pub(crate) fn legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, CT>,
) -> Drawn {
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

/// The top of a loudness axis: 3 LU above the loudest of `values`, at least -7 LUFS.
fn loudness_axis_top<'v>(values: impl IntoIterator<Item = &'v f64>) -> f64 {
    values
        .into_iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(-10.0f64, f64::max)
        .ceil()
        + 3.0
}

/// `values` over `history`'s times, `offset_lu` added, clamped to `bottom` (silence included).
fn loudness_series(
    history: &LoudnessHistory,
    values: &[f64],
    offset_lu: f64,
    bottom: f64,
) -> Vec<(f64, f64)> {
    history
        .time_s
        .iter()
        .zip(values)
        .map(|(&t, &v)| {
            let v = v + offset_lu;
            (t, if v.is_finite() { v.max(bottom) } else { bottom })
        })
        .collect()
}

/// The end of a history, s (at least 1).
fn history_end_s(history: &LoudnessHistory) -> f64 {
    history.time_s.last().copied().unwrap_or(1.0).max(1.0)
}

pub fn loudness_plot(
    path: &Path,
    title: &str,
    history: &LoudnessHistory,
    integrated_lufs: f64,
    target_lufs: Option<f64>,
) -> Result<()> {
    let t_max = history_end_s(history);
    let bottom = loudness_axis_bottom(&history.short_term_lufs, integrated_lufs);
    let top = loudness_axis_top(&history.momentary_lufs);
    draw_atomic(path, SIZE, |root| {
        let mut chart = time_chart(root, title, t_max, bottom..top, "loudness (LUFS)")?;
        let series = |values: &[f64]| loudness_series(history, values, 0.0, bottom);
        labelled_line(
            &mut chart,
            series(&history.momentary_lufs),
            BLUE.mix(0.45).into(),
            "momentary (400 ms)",
        )?;
        labelled_line(
            &mut chart,
            series(&history.short_term_lufs),
            RED.stroke_width(2),
            "short-term (3 s)",
        )?;
        if integrated_lufs.is_finite() {
            labelled_line(
                &mut chart,
                level_line(integrated_lufs, t_max),
                BLACK.stroke_width(2),
                &format!("integrated {integrated_lufs:.1} LUFS"),
            )?;
        }
        if let Some(t) = target_lufs {
            labelled_line(
                &mut chart,
                level_line(t, t_max),
                GREEN.stroke_width(1),
                &format!("target {t:.1} LUFS"),
            )?;
        }
        legend(&mut chart)
    })
}

/// "mix +2.3 LU": the gain that brings `name` (the mix, a reference) to the master's
/// integrated loudness.
pub fn shift_label(name: &str, shift_lu: f64) -> String {
    format!("{name} {shift_lu:+.1} LU")
}

/// The master's short-term loudness over time against another programme's (its mix, a
/// reference) called `name`, that one raised by `mix_shift_lu` (the master's integrated
/// loudness minus its own; `None` when either is silent, the other then drawn as measured) so
/// both sit at one integrated loudness: where the master's line is flatter than the other's,
/// its dynamics are flatter.
pub fn master_vs_loudness_plot(
    path: &Path,
    title: &str,
    master: &LoudnessHistory,
    master_integrated_lufs: f64,
    (mix, name): (&LoudnessHistory, &str),
    mix_shift_lu: Option<f64>,
) -> Result<()> {
    let shift_lu = mix_shift_lu.unwrap_or(0.0);
    let matched_mix: Vec<f64> = mix.short_term_lufs.iter().map(|v| v + shift_lu).collect();
    let both: Vec<f64> = master
        .short_term_lufs
        .iter()
        .chain(&matched_mix)
        .copied()
        .collect();
    let t_max = history_end_s(master).max(history_end_s(mix));
    let bottom = loudness_axis_bottom(&both, master_integrated_lufs);
    let top = loudness_axis_top(&both);
    let mix_label = match mix_shift_lu {
        Some(shift) => format!("{name} short-term (3 s), {}", shift_label(name, shift)),
        None => format!("{name} short-term (silent: not matched)"),
    };
    draw_atomic(path, SIZE, |root| {
        let mut chart = time_chart(root, title, t_max, bottom..top, SHORT_TERM_AXIS)?;
        labelled_line(
            &mut chart,
            loudness_series(mix, &mix.short_term_lufs, shift_lu, bottom),
            BLUE.mix(0.6).stroke_width(2),
            &mix_label,
        )?;
        labelled_line(
            &mut chart,
            loudness_series(master, &master.short_term_lufs, 0.0, bottom),
            RED.stroke_width(2),
            "master short-term (3 s)",
        )?;
        if master_integrated_lufs.is_finite() {
            labelled_line(
                &mut chart,
                level_line(master_integrated_lufs, t_max),
                BLACK.mix(0.6).stroke_width(1),
                &format!("integrated {master_integrated_lufs:.1} LUFS (both)"),
            )?;
        }
        legend(&mut chart)
    })
}

/// Each stem's short-term loudness over time, one colour per stem, named in the legend: which
/// stem carries which part of the programme, and which one jumps out.
/// The axis follows the music as [`loudness_axis_bottom`] does, the loudest short-term
/// loudness of any stem standing for the integrated level.
pub fn stems_loudness_plot(
    path: &Path,
    title: &str,
    stems: &[(&str, &LoudnessHistory)],
) -> Result<()> {
    let all: Vec<f64> = stems
        .iter()
        .flat_map(|(_, h)| h.short_term_lufs.iter().copied())
        .collect();
    let loudest = all
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let bottom = loudness_axis_bottom(&all, loudest);
    let top = loudness_axis_top(&all);
    let t_max = stems
        .iter()
        .map(|(_, h)| history_end_s(h))
        .fold(1.0, f64::max);
    draw_atomic(path, SIZE, |root| {
        let mut chart = time_chart(root, title, t_max, bottom..top, SHORT_TERM_AXIS)?;
        for (i, (name, history)) in stems.iter().enumerate() {
            labelled_line(
                &mut chart,
                loudness_series(history, &history.short_term_lufs, 0.0, bottom),
                Palette99::pick(i).stroke_width(2),
                name,
            )?;
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
    draw_atomic(path, SIZE, |root| {
        let mut chart = time_chart(root, title, t_max, bottom..0.5, "largest reduction (dB)")?;
        if let Some(clipper) = clipper_db {
            labelled_line(
                &mut chart,
                series(clipper),
                BLUE.mix(0.6).into(),
                "clipper: peak reduction",
            )?;
        }
        labelled_line(
            &mut chart,
            series(limiter_db),
            RED.stroke_width(2),
            "limiter: gain reduction",
        )?;
        labelled_line(
            &mut chart,
            level_line(-3.0, t_max),
            BLACK.mix(0.5).stroke_width(1),
            "3 dB budget (mean)",
        )?;
        legend(&mut chart)
    })
}

/// The highest frequency the spectrum plots of a programme at `sample_rate_hz` show, Hz.
pub(crate) fn spectrum_top_hz(sample_rate_hz: u32) -> f64 {
    (sample_rate_hz as f64 / 2.0).min(24_000.0)
}

/// Draws an average spectrum ((Hz, dB) points, [`shared_dsp::meter::long_term_spectrum::SpectrumMeter`]) of a
/// programme at `sample_rate_hz` on a log-frequency axis.
pub fn spectrum_plot(
    path: &Path,
    title: &str,
    points: &[(f64, f64)],
    sample_rate_hz: u32,
) -> Result<()> {
    let hz_max = spectrum_top_hz(sample_rate_hz);
    let top = points.iter().map(|p| p.1).fold(-60.0f64, f64::max).ceil() + 6.0;
    let bottom = top - 100.0;
    draw_atomic(path, SIZE, |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let mut chart = spectrum_chart(
            root,
            Some(title),
            hz_max,
            bottom..top,
            "level (dB, full-scale sine = 0)",
        )?;
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
