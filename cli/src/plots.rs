//! PNG plots with `plotters`: loudness over time and the long-term average spectrum.
//!
//! Text is drawn with plotters' pure-Rust `ab_glyph` renderer and the Ubuntu Light font that
//! `epaint_default_fonts` embeds, so no system font library or fontconfig is needed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;
use realfft::RealFftPlanner;

use crate::analysis::LoudnessHistory;
use crate::atomic::write_atomic;
use crate::audio::Audio;
use crate::error::{Error, Result};

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 420);
/// Lowest level shown on the loudness plot, LUFS.
const LOUDNESS_FLOOR_LUFS: f64 = -60.0;
/// FFT length of the spectrum, samples.
const SPECTRUM_FFT: usize = 8192;
/// At most this many FFT frames are averaged (evenly spread over the file).
const SPECTRUM_MAX_FRAMES: usize = 600;

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

/// Momentary and short-term loudness over time with the integrated level and an optional
/// target.
pub fn loudness_plot(
    path: &Path,
    title: &str,
    history: &LoudnessHistory,
    integrated_lufs: f64,
    target_lufs: Option<f64>,
) -> Result<()> {
    let t_max = history.time_s.last().copied().unwrap_or(1.0).max(1.0);
    let clamp = |v: f64| {
        if v.is_finite() {
            v.max(LOUDNESS_FLOOR_LUFS)
        } else {
            LOUDNESS_FLOOR_LUFS
        }
    };
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
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..t_max, LOUDNESS_FLOOR_LUFS..top)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("loudness (LUFS)")
            .label_style((FONT, 13))
            .draw()
            .map_err(e)?;
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
        chart
            .configure_series_labels()
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(e)?;
        Ok(())
    })
}

/// Long-term average spectrum of the mid (L+R)/2 signal: Hann-windowed 8192-point FFTs, power
/// averaged, scaled so a full-scale sine reads 0 dB. Returns (Hz, dB) pairs from 20 Hz.
pub fn average_spectrum(audio: &Audio) -> Vec<(f64, f64)> {
    let (l, r) = audio.stereo();
    let n = SPECTRUM_FFT;
    if l.len() < n {
        return Vec::new();
    }
    let frames = ((l.len() - n) / (n / 2) + 1).min(SPECTRUM_MAX_FRAMES);
    let stride = if frames > 1 {
        (l.len() - n) / (frames - 1)
    } else {
        0
    };
    let window: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect();
    let window_sum: f64 = window.iter().sum();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut power = vec![0.0f64; n / 2 + 1];
    for f in 0..frames {
        let start = f * stride;
        for (i, x) in input.iter_mut().enumerate() {
            *x = 0.5 * (l[start + i] as f64 + r[start + i] as f64) * window[i];
        }
        if fft.process(&mut input, &mut output).is_err() {
            return Vec::new();
        }
        for (p, c) in power.iter_mut().zip(&output) {
            *p += c.norm_sqr();
        }
    }
    let scale = 2.0 / window_sum;
    let bin_hz = audio.sample_rate_hz as f64 / n as f64;
    power
        .iter()
        .enumerate()
        .skip(1)
        .map(|(k, &p)| {
            let amp = (p / frames as f64).sqrt() * scale;
            (
                k as f64 * bin_hz,
                if amp > 0.0 {
                    20.0 * amp.log10()
                } else {
                    -200.0
                },
            )
        })
        .filter(|&(hz, _)| hz >= 20.0)
        .collect()
}

/// Draws [`average_spectrum`] on a log-frequency axis.
pub fn spectrum_plot(path: &Path, title: &str, audio: &Audio) -> Result<()> {
    let points = average_spectrum(audio);
    let nyquist = audio.sample_rate_hz as f64 / 2.0;
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
