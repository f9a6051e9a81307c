//! 1/3-octave smoothed mid and side spectra, and the plot of a master's against its mix's at
//! matched loudness.
//!
//! Smoothing: each point of a 1/24-octave grid from 20 Hz is the average power of the FFT bins
//! within +-1/6 octave of it (a 1/3-octave band, as fractional-octave smoothing is usually
//! defined, e.g. Hatziantoniou and Mourjopoulos, "Generalized fractional-octave smoothing of
//! audio and acoustic responses", JAES 48(4), 2000, with a rectangular window). Averaging power
//! per bin keeps white noise flat and gives pink noise its -3 dB per octave, so the curves read
//! like the analysers mastering engineers use. Where a band holds no bin (below about 60 Hz at
//! 48 kHz with 8192-point FFTs) the point interpolates the two bins around it.
//!
//! The mid `(L+R)/2` and side `(L-R)/2` signals come from [`crate::spectrum::SpectrumMeter`].

use std::path::Path;

use plotters::prelude::*;

use crate::error::Result;
use crate::plots::{
    draw_atomic, labelled_line, legend, shift_label, spectrum_chart, spectrum_top_hz, Area, Drawn,
    FONT,
};
use crate::spectrum::MidSidePower;

/// Points per octave of the smoothed spectra.
const POINTS_PER_OCTAVE: f64 = 24.0;
/// The first point, Hz.
const LOWEST_HZ: f64 = 20.0;
/// The last point at most, Hz (the top of hearing; a low rate's Nyquist cuts it lower).
const HIGHEST_HZ: f64 = 20_000.0;
/// Half the smoothing band, octaves: +-1/6 octave is a 1/3-octave band.
const HALF_BAND_OCTAVES: f64 = 1.0 / 6.0;
/// The level of no power, dB.
pub const FLOOR_DB: f64 = -200.0;

/// The points of the grid whose whole band lies below the last bin of `bins` bins `bin_hz`
/// apart, Hz.
pub fn grid_hz(bin_hz: f64, bins: usize) -> Vec<f64> {
    let last_bin_hz = bin_hz * bins.saturating_sub(1) as f64;
    let band_top = 2f64.powf(HALF_BAND_OCTAVES);
    (0..)
        .map(|i| LOWEST_HZ * 2f64.powf(i as f64 / POINTS_PER_OCTAVE))
        .take_while(|&hz| hz <= HIGHEST_HZ && hz * band_top <= last_bin_hz)
        .collect()
}

/// Power per bin (`bin_hz` apart from 0 Hz) smoothed over 1/3 octave at each of `points_hz`, dB
/// ([`FLOOR_DB`] for none).
pub fn third_octave_db(power: &[f64], bin_hz: f64, points_hz: &[f64]) -> Vec<f64> {
    let half_band = 2f64.powf(HALF_BAND_OCTAVES);
    points_hz
        .iter()
        .map(|&hz| {
            let first = ((hz / half_band) / bin_hz).ceil() as usize;
            let last = (((hz * half_band) / bin_hz).floor() as usize).min(power.len() - 1);
            let mean = if first <= last {
                power[first..=last].iter().sum::<f64>() / (last - first + 1) as f64
            } else {
                // No bin in the band: between the two bins around the point.
                let at = hz / bin_hz;
                let below = (at.floor() as usize).min(power.len() - 1);
                let above = (below + 1).min(power.len() - 1);
                let frac = at - below as f64;
                power[below] * (1.0 - frac) + power[above] * frac
            };
            power_db(mean)
        })
        .collect()
}

fn power_db(power: f64) -> f64 {
    if power > 0.0 {
        (10.0 * power.log10()).max(FLOOR_DB)
    } else {
        FLOOR_DB
    }
}

/// A programme's 1/3-octave smoothed mid and side spectra on the common grid, dB (a full-scale
/// sine centred on a bin reads 0 dB in that bin before smoothing).
#[derive(Clone, Debug, Default)]
pub struct MidSideSpectrum {
    pub hz: Vec<f64>,
    pub mid_db: Vec<f64>,
    pub side_db: Vec<f64>,
}

impl MidSideSpectrum {
    /// Smooths a measured power per bin.
    pub fn of(power: &MidSidePower) -> Self {
        let hz = grid_hz(power.bin_hz, power.mid.len());
        Self {
            mid_db: third_octave_db(&power.mid, power.bin_hz, &hz),
            side_db: third_octave_db(&power.side, power.bin_hz, &hz),
            hz,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectrum::SpectrumMeter;

    const SR: u32 = 48_000;

    fn power_of(left: &[f32], right: &[f32]) -> MidSidePower {
        let mut meter = SpectrumMeter::mid_side(left.len(), SR);
        meter.process(left, right);
        meter.mid_side_power().expect("longer than one FFT")
    }

    /// The smoothed level at the grid point nearest `hz`.
    fn at(hz: &[f64], db: &[f64], target_hz: f64) -> f64 {
        let i = hz
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1 / target_hz)
                    .ln()
                    .abs()
                    .total_cmp(&(b.1 / target_hz).ln().abs())
            })
            .unwrap()
            .0;
        db[i]
    }

    #[test]
    fn a_pink_power_spectrum_falls_3_db_per_octave_after_smoothing() {
        // Power proportional to 1/f: a band [f/a, f*a] averages ln(a^2) / (f (a - 1/a)) per
        // bin, still proportional to 1/f, so each octave is 10 log10(2) = 3.01 dB lower.
        let bin_hz = SR as f64 / 8192.0;
        let power: Vec<f64> = (0..4097)
            .map(|k| {
                if k == 0 {
                    0.0
                } else {
                    1.0 / (k as f64 * bin_hz)
                }
            })
            .collect();
        let hz = grid_hz(bin_hz, power.len());
        let db = third_octave_db(&power, bin_hz, &hz);
        for octave in 0..6 {
            let f = 100.0 * 2f64.powi(octave);
            let slope = at(&hz, &db, 2.0 * f) - at(&hz, &db, f);
            assert!(
                (slope + 3.01).abs() < 0.2,
                "{f} Hz: {slope:.2} dB per octave"
            );
        }
        // From 100 Hz to 10 kHz (6.64 octaves): -20 dB.
        let span = at(&hz, &db, 10_000.0) - at(&hz, &db, 100.0);
        assert!((span + 20.0).abs() < 1.0, "{span:.2} dB");
    }

    #[test]
    fn white_noise_is_flat_after_smoothing() {
        let noise = test_signals::noise(10 * SR as usize, 7);
        let spectrum = MidSideSpectrum::of(&power_of(&noise, &noise));
        let band: Vec<f64> = spectrum
            .hz
            .iter()
            .zip(&spectrum.mid_db)
            .filter(|(hz, _)| (100.0..=10_000.0).contains(*hz))
            .map(|(_, &db)| db)
            .collect();
        let mean = band.iter().sum::<f64>() / band.len() as f64;
        let spread = band.iter().map(|db| (db - mean).abs()).fold(0.0, f64::max);
        println!("white noise 100 Hz-10 kHz: {mean:.2} dB +-{spread:.2} dB");
        assert!(spread < 1.0, "{spread}");
        // Uniform noise in [-1, 1] has power 1/3; per bin (Hann, scaled to a sine's 1 on its
        // bin) that is (1/3) * 4 * sum(w^2) / sum(w)^2 = (1/3) * 4 * 1.5 / 8192.
        let expected = power_db(4.0 * 1.5 / 3.0 / 8192.0);
        assert!((mean - expected).abs() < 0.3, "{mean} vs {expected}");
    }

    #[test]
    fn a_sine_spreads_its_power_over_its_band() {
        // A full-scale sine centred on bin 171 (1001.95 Hz): 1 in its bin and 0.25 in each
        // neighbour (Hann), 1.5 in all; smoothed over the bins of its 1/3-octave band.
        let bin_hz = SR as f64 / 8192.0;
        let hz = 171.0 * bin_hz;
        let x = test_signals::sine(4 * SR as usize, hz, SR as f64, 1.0);
        let p = power_of(&x, &x);
        let total: f64 = p.mid.iter().sum();
        assert!((total - 1.5).abs() < 1e-3, "{total}");
        let half_band = 2f64.powf(HALF_BAND_OCTAVES);
        let bins = ((hz * half_band) / bin_hz).floor() - ((hz / half_band) / bin_hz).ceil() + 1.0;
        let db = third_octave_db(&p.mid, bin_hz, &[hz]);
        let expected = 10.0 * (1.5 / bins).log10();
        assert!((db[0] - expected).abs() < 0.01, "{} vs {expected}", db[0]);
    }

    #[test]
    fn equal_sides_have_no_side_and_opposite_sides_no_mid() {
        let x = test_signals::noise(10 * SR as usize, 3);
        let inverted: Vec<f32> = x.iter().map(|v| -v).collect();
        // L = R: the mid is the channel itself (white noise at its level, see above), the side
        // nothing at all.
        let same = MidSideSpectrum::of(&power_of(&x, &x));
        assert!(same.side_db.iter().all(|&db| db == FLOOR_DB));
        let channel_db = power_db(4.0 * 1.5 / 3.0 / 8192.0);
        for (hz, mid) in same.hz.iter().zip(&same.mid_db) {
            if (100.0..=10_000.0).contains(hz) {
                assert!(
                    (mid - channel_db).abs() < 1.0,
                    "{hz} Hz: {mid} vs {channel_db}"
                );
            }
        }
        // L = -R: the side is the channel, the mid nothing.
        let opposite = MidSideSpectrum::of(&power_of(&x, &inverted));
        assert!(opposite.mid_db.iter().all(|&db| db == FLOOR_DB));
        assert_eq!(opposite.side_db, same.mid_db);
    }
}
