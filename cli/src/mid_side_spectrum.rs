//! The plot of a master's 1/3-octave smoothed mid and side spectra against another
//! programme's (its mix, a reference) at matched loudness. The spectra are measured and smoothed
//! by [`shared_dsp::meter::long_term_spectrum`] (shared with the plugins); drawing them needs
//! plotters, so it stays here.

use std::path::Path;

use plotters::prelude::*;
use shared_dsp::meter::long_term_spectrum::MidSideSpectrum;

use crate::error::Result;
use crate::plots::{
    draw_atomic, labelled_line, legend, shift_label, spectrum_chart, spectrum_top_hz, Area, Drawn,
    FONT,
};

/// The size of the mid/side plot, pixels: two panels, each a spectrum over a difference.
const SIZE: (u32, u32) = (1000, 900);
/// The spectra's share of a panel's height (the difference below takes the rest).
const SPECTRA_SHARE: f64 = 0.62;
/// The level range a spectra chart shows below its loudest point, dB.
const SPECTRA_RANGE_DB: f64 = 90.0;
/// The smallest half range of a difference chart, dB.
const DIFFERENCE_MIN_DB: f64 = 6.0;

/// The master's and another programme's (its mix, a reference: `name`) smoothed mid and side
/// spectra, the other raised by `mix_shift_lu` (as its loudness is, to the master's integrated
/// loudness; 0 when either is silent), each panel over the difference master minus the matched
/// other: with the two at one loudness, a rise is what the master has more of, a dip less.
pub fn master_vs_spectrum_plot(
    path: &Path,
    title: &str,
    master: &MidSideSpectrum,
    (mix, name): (&MidSideSpectrum, &str),
    mix_shift_lu: Option<f64>,
    sample_rate_hz: u32,
) -> Result<()> {
    let shift_db = mix_shift_lu.unwrap_or(0.0);
    let hz_max = spectrum_top_hz(sample_rate_hz);
    let mix_label = match mix_shift_lu {
        Some(shift) => format!("{} (matched)", shift_label(name, shift)),
        None => format!("{name} (silent: not matched)"),
    };
    draw_atomic(path, SIZE, |root| {
        let root = root.titled(title, (FONT, 22)).map_err(|e| e.to_string())?;
        let (mid_area, side_area) = root.split_vertically(root.dim_in_pixel().1 / 2);
        let panels = [
            (mid_area, "mid (L+R)/2", &master.mid_db, &mix.mid_db),
            (side_area, "side (L-R)/2", &master.side_db, &mix.side_db),
        ];
        let difference_axis = format!("master - matched {name} (dB)");
        for (area, signal, master_db, mix_db) in panels {
            let panel = Panel {
                hz: &master.hz,
                master_db,
                mix_hz: &mix.hz,
                mix_db,
                shift_db,
                hz_max,
                difference_axis: &difference_axis,
            };
            panel.draw(&area, signal, &mix_label)?;
        }
        Ok(())
    })
}

/// One signal's spectra (master and matched mix) over their difference.
struct Panel<'s> {
    hz: &'s [f64],
    master_db: &'s [f64],
    mix_hz: &'s [f64],
    mix_db: &'s [f64],
    shift_db: f64,
    hz_max: f64,
    difference_axis: &'s str,
}

impl Panel<'_> {
    fn draw(&self, area: &Area, name: &str, mix_label: &str) -> Drawn {
        let matched_mix: Vec<(f64, f64)> = self
            .mix_hz
            .iter()
            .zip(self.mix_db)
            .map(|(&hz, &db)| (hz, db + self.shift_db))
            .filter(|&(hz, _)| hz <= self.hz_max)
            .collect();
        let master: Vec<(f64, f64)> = self
            .hz
            .iter()
            .copied()
            .zip(self.master_db.iter().copied())
            .filter(|&(hz, _)| hz <= self.hz_max)
            .collect();
        let top = master
            .iter()
            .chain(&matched_mix)
            .map(|p| p.1)
            .fold(-60.0f64, f64::max)
            .ceil()
            + 6.0;
        let bottom = top - SPECTRA_RANGE_DB;
        // The difference where either is above the chart's floor (below it both are noise).
        let difference: Vec<(f64, f64)> = master
            .iter()
            .zip(&matched_mix)
            .filter(|(a, b)| a.0 == b.0 && a.1.max(b.1) > bottom)
            .map(|(a, b)| (a.0, a.1 - b.1))
            .collect();
        let widest = difference.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
        let half_range = ((widest / 3.0).ceil() * 3.0).max(DIFFERENCE_MIN_DB);
        let clamp = |points: Vec<(f64, f64)>, lo: f64, hi: f64| -> Vec<(f64, f64)> {
            points
                .into_iter()
                .map(|(hz, db)| (hz, db.clamp(lo, hi)))
                .collect()
        };
        let height = area.dim_in_pixel().1 as f64;
        let (upper, lower) = area.split_vertically((height * SPECTRA_SHARE) as u32);
        let mut spectra = spectrum_chart(
            &upper,
            Some(name),
            self.hz_max,
            bottom..top,
            "level (dB, 1/3 octave)",
        )?;
        labelled_line(
            &mut spectra,
            clamp(matched_mix, bottom, top),
            BLUE.mix(0.6).stroke_width(2),
            mix_label,
        )?;
        labelled_line(
            &mut spectra,
            clamp(master, bottom, top),
            RED.stroke_width(2),
            "master",
        )?;
        legend(&mut spectra)?;
        let mut diff = spectrum_chart(
            &lower,
            None,
            self.hz_max,
            -half_range..half_range,
            self.difference_axis,
        )?;
        // No legend: the axis names the one curve, and the 0 dB line needs no name.
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        diff.draw_series(LineSeries::new(
            [(20.0, 0.0), (self.hz_max, 0.0)],
            BLACK.mix(0.4).stroke_width(1),
        ))
        .map_err(e)?;
        diff.draw_series(LineSeries::new(
            clamp(difference, -half_range, half_range),
            BLACK.stroke_width(2),
        ))
        .map_err(e)?;
        Ok(())
    }
}
