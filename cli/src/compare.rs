//! `stem compare MASTER --reference REF...`: a master against commercial references at matched
//! loudness, as the guide's last step asks ("A/B comparison against a commercial reference
//! track in the same genre, matched in loudness ... not obviously brighter, louder, or
//! thinner"), and the EQ that would move the master's tonal balance towards each reference.
//!
//! Per reference: both programmes' loudness figures (integrated, LRA, true peak, PLR, PSR) and
//! stereo width per band; the gain that matches the reference's integrated loudness to the
//! master's (BS.1770-5, so the comparison never rewards level); the 1/3-octave smoothed
//! spectra ([`crate::mid_side_spectrum`]) of both and the difference, reference (matched)
//! minus master, of their stereo power `(L^2 + R^2) / 2`; and the EQ match of that difference
//! ([`shared_dsp::eq::match_fit`]): bells and shelves for the master's EQ, written as a preset
//! fragment `stem render --preset` takes. The two files may differ in rate: the spectra share
//! one grid of frequencies from 20 Hz.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shared_dsp::eq::match_fit::{match_eq, EqMatch, MAX_MATCH_BANDS};
use shared_dsp::eq::BandKind;

use crate::analysis::{loudness_figures, LoudnessHistory};
use crate::atomic::write_text_atomic;
use crate::audio::warn_non_finite;
use crate::decode::read_for_comparison;
use crate::error::{Error, Result};
use crate::mid_side_spectrum::{
    grid_hz, master_vs_spectrum_plot, third_octave_db, MidSideSpectrum, FLOOR_DB,
};
use crate::plots::master_vs_loudness_plot;
use crate::spectrum::{MidSidePower, SpectrumMeter};

/// Bands of the stereo-width readout, Hz: lows (where mono matters), low mids, presence, air.
pub const WIDTH_BANDS_HZ: [(f64, f64); 4] = [
    (20.0, 150.0),
    (150.0, 1_000.0),
    (1_000.0, 5_000.0),
    (5_000.0, 20_000.0),
];

/// What `stem compare` is asked.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub master: PathBuf,
    pub references: Vec<PathBuf>,
    pub out: Option<PathBuf>,
    /// Share of the match applied, 0..=100 %.
    pub strength_percent: f64,
    /// Most bands the match proposes, 1..=8.
    pub max_bands: usize,
}

/// Stereo width of one band: side power against mid power.
#[derive(Clone, Debug, Serialize)]
pub struct BandWidth {
    pub from_hz: f64,
    pub to_hz: f64,
    /// `10 log10(side power / mid power)`, dB: minus infinity for mono, 0 for uncorrelated
    /// channels, positive when out of phase dominates.
    pub side_to_mid_db: f64,
}

/// One programme's figures.
#[derive(Clone, Debug, Serialize)]
pub struct ProgrammeFigures {
    pub file: String,
    pub sample_rate_hz: u32,
    pub integrated_lufs: f64,
    pub lra_lu: f64,
    pub true_peak_dbtp: f64,
    pub short_term_max_lufs: f64,
    /// Peak to loudness ratio: true peak minus integrated loudness, dB.
    pub plr_db: f64,
    /// Peak to short-term loudness ratio: true peak minus the loudest short-term loudness, dB.
    pub psr_db: f64,
    pub width: Vec<BandWidth>,
}

/// One proposed band, in the units the master's EQ takes.
#[derive(Clone, Debug, Serialize)]
pub struct MatchBand {
    /// `Bell`, `LowShelf` or `HighShelf` (the EQ's `kind` names).
    pub kind: BandKind,
    pub freq_hz: f64,
    pub gain_db: f64,
    pub q: f64,
}

/// The EQ match towards a reference.
#[derive(Clone, Debug, Serialize)]
pub struct MatchEq {
    pub strength_percent: f64,
    /// Where the content of the two programmes ends (the lower), Hz: the match follows the
    /// difference only below it (a lossy reference's low-pass is not a treble difference).
    pub content_top_hz: f64,
    pub bands: Vec<MatchBand>,
    /// Level of the difference beside the bands (the loudness match's business), dB.
    pub level_offset_db: f64,
    /// How closely the full-strength bands follow the difference from 30 Hz to 18 kHz, dB.
    pub residual_max_db: f64,
    pub residual_rms_db: f64,
}

/// The difference of the two spectra at matched loudness.
#[derive(Clone, Debug, Serialize)]
pub struct SpectrumDifference {
    /// 1/24-octave grid from 20 Hz, Hz.
    pub hz: Vec<f64>,
    /// Reference (matched) minus master, stereo power, 1/3-octave smoothed, dB (`null` where
    /// either is silent).
    pub difference_db: Vec<Option<f64>>,
}

/// A master against one reference.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub master: ProgrammeFigures,
    pub reference: ProgrammeFigures,
    /// Gain that brings the reference to the master's integrated loudness, dB (`null` when
    /// either is silent).
    pub reference_gain_db: Option<f64>,
    pub spectrum: SpectrumDifference,
    /// `null` when the spectra leave too little to match (silence, a programme shorter than
    /// one FFT).
    pub match_eq: Option<MatchEq>,
    /// Files written with `--out`.
    pub written: Vec<PathBuf>,
}

/// A programme read and measured.
struct Measured {
    figures: ProgrammeFigures,
    history: LoudnessHistory,
    spectrum: MidSideSpectrum,
    /// Stereo power `(L^2 + R^2) / 2 = mid + side`, 1/3-octave smoothed, dB.
    stereo_db: Vec<f64>,
    /// FFT bin spacing of the spectra, Hz.
    bin_hz: f64,
    /// Where the programme's content ends (a lossy coder's low-pass, a low rate), Hz.
    content_top_hz: f64,
}

fn measure(path: &Path) -> Result<Measured> {
    let audio = read_for_comparison(path)?;
    warn_non_finite(path, audio.non_finite_samples);
    let (left, right) = match audio.channels.as_slice() {
        [mono] => (mono, mono),
        [l, r] => (l, r),
        other => {
            return Err(Error::file(
                path,
                format!(
                    "{} channels: compare takes mono or stereo programmes",
                    other.len()
                ),
            ))
        }
    };
    let (figures, history, _) = loudness_figures(&audio);
    let mut meter = SpectrumMeter::mid_side(audio.frames(), audio.sample_rate_hz);
    meter.process(left, right);
    let power = meter.mid_side_power();
    let spectrum = power.as_ref().map(MidSideSpectrum::of).unwrap_or_default();
    let stereo_db = power.as_ref().map_or_else(Vec::new, |p| {
        let stereo: Vec<f64> = p.mid.iter().zip(&p.side).map(|(m, s)| m + s).collect();
        third_octave_db(&stereo, p.bin_hz, &grid_hz(p.bin_hz, stereo.len()))
    });
    Ok(Measured {
        figures: ProgrammeFigures {
            file: audio.path.display().to_string(),
            sample_rate_hz: audio.sample_rate_hz,
            integrated_lufs: figures.integrated_lufs,
            lra_lu: figures.lra_lu,
            true_peak_dbtp: figures.true_peak_dbtp,
            short_term_max_lufs: figures.short_term_max_lufs,
            plr_db: figures.plr_db,
            psr_db: figures.true_peak_dbtp - figures.short_term_max_lufs,
            width: power.as_ref().map_or_else(Vec::new, band_widths),
        },
        history,
        spectrum,
        stereo_db,
        bin_hz: power.as_ref().map_or(f64::INFINITY, |p| p.bin_hz),
        content_top_hz: power.as_ref().map_or(0.0, content_top_hz),
    })
}

/// A bin this far below the programme's level at 8-12 kHz is past its content, dB: an MP3's or
/// AAC's low-pass falls 60 dB and more within a few hundred Hz, while music itself falls a few
/// dB per octave up there.
const CONTENT_FLOOR_DB: f64 = 30.0;

/// The frequency of the highest bin within [`CONTENT_FLOOR_DB`] of the median stereo power from
/// 8 to 12 kHz, Hz (the top bin when that band is silent): where a lossy reference's low-pass
/// cuts it, so the match does not read the cut as a treble difference.
fn content_top_hz(power: &MidSidePower) -> f64 {
    let stereo = |k: usize| power.mid[k] + power.side[k];
    let hz = |k: usize| k as f64 * power.bin_hz;
    let mut band: Vec<f64> = (1..power.mid.len())
        .filter(|&k| (8_000.0..12_000.0).contains(&hz(k)))
        .map(stereo)
        .collect();
    let top = hz(power.mid.len() - 1);
    if band.is_empty() {
        return top;
    }
    band.sort_by(f64::total_cmp);
    let floor = band[band.len() / 2] * 10f64.powf(-CONTENT_FLOOR_DB / 10.0);
    if floor <= 0.0 {
        return top;
    }
    (1..power.mid.len())
        .rev()
        .find(|&k| stereo(k) >= floor)
        .map_or(top, hz)
}

/// FFT bins a 1/3-octave band holds at which the match trusts a point fully: the spread of an
/// averaged bin's power shrinks with the bins averaged, and below this (under about 200 Hz at
/// 48 kHz) a point's deviation is as much estimate as difference.
const TRUSTED_BINS: f64 = 8.0;

/// The weight of each point of `hz` in the match: the bins its 1/3-octave band holds at the
/// coarser of the two spectra, over [`TRUSTED_BINS`], at most 1; 0 where the band reaches
/// past `content_top_hz`.
fn point_weights(hz: &[f64], bin_hz: f64, content_top_hz: f64) -> Vec<f64> {
    let band_octaves = 2f64.powf(1.0 / 6.0) - 2f64.powf(-1.0 / 6.0);
    hz.iter()
        .map(|&f| {
            if f * 2f64.powf(1.0 / 6.0) > content_top_hz {
                0.0
            } else {
                (f * band_octaves / bin_hz / TRUSTED_BINS).min(1.0)
            }
        })
        .collect()
}

/// Side against mid power in each of [`WIDTH_BANDS_HZ`].
fn band_widths(power: &MidSidePower) -> Vec<BandWidth> {
    WIDTH_BANDS_HZ
        .iter()
        .map(|&(from_hz, to_hz)| {
            let bins = (1..power.mid.len()).filter(|&k| {
                let hz = k as f64 * power.bin_hz;
                hz >= from_hz && hz < to_hz
            });
            let (mid, side) = bins.fold((0.0, 0.0), |(m, s), k| {
                (m + power.mid[k], s + power.side[k])
            });
            let side_to_mid_db = if mid > 0.0 {
                10.0 * (side / mid).log10()
            } else {
                f64::NAN
            };
            BandWidth {
                from_hz,
                to_hz,
                side_to_mid_db,
            }
        })
        .collect()
}

/// Reference minus master on their common grid, `None` where either is at the floor.
fn difference(
    master: &Measured,
    reference: &Measured,
    reference_gain_db: f64,
) -> SpectrumDifference {
    let n = master.stereo_db.len().min(reference.stereo_db.len());
    let hz = master.spectrum.hz[..n.min(master.spectrum.hz.len())].to_vec();
    let difference_db = hz
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let (m, r) = (master.stereo_db[i], reference.stereo_db[i]);
            (m > FLOOR_DB && r > FLOOR_DB).then_some(r + reference_gain_db - m)
        })
        .collect();
    SpectrumDifference { hz, difference_db }
}

fn match_report(m: &EqMatch, strength_percent: f64, content_top_hz: f64) -> MatchEq {
    MatchEq {
        strength_percent,
        content_top_hz,
        bands: m
            .bands
            .iter()
            .map(|b| MatchBand {
                kind: b.kind,
                freq_hz: b.freq_hz as f64,
                gain_db: b.gain_db as f64,
                q: b.q as f64,
            })
            .collect(),
        level_offset_db: m.level_offset_db,
        residual_max_db: m.residual_max_db,
        residual_rms_db: m.residual_rms_db,
    }
}

/// The match as a `stem render --preset` fragment: the master's EQ bands.
pub fn preset_fragment(master: &str, reference: &str, m: &MatchEq) -> String {
    let bands: Vec<String> = m
        .bands
        .iter()
        .map(|b| {
            format!(
                "    {{ enabled = true, kind = \"{:?}\", freq_hz = {:.1}, gain_db = {:.2}, q = {:.3} }},",
                b.kind, b.freq_hz, b.gain_db, b.q
            )
        })
        .collect();
    format!(
        "# stem compare: EQ match of {master} towards {reference} at {:.0} % strength.\n\
         # Replaces the master's EQ bands; merge by hand into a preset that has its own.\n\
         [master]\neq_enabled = true\neq_bands = [\n{}\n]\n",
        m.strength_percent,
        bands.join("\n")
    )
}

/// A file-name stem: the reference's name without extension, in characters safe anywhere.
fn file_stem(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or("reference".into(), |s| s.to_string_lossy().into_owned());
    stem.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs the comparison of `options.master` against every reference.
pub fn run_compare(options: &CompareOptions) -> Result<Vec<Comparison>> {
    if !(0.0..=100.0).contains(&options.strength_percent) {
        return Err(Error::usage(format!(
            "--strength {}: must be 0..100 (percent of the match applied)",
            options.strength_percent
        )));
    }
    if !(1..=MAX_MATCH_BANDS).contains(&options.max_bands) {
        return Err(Error::usage(format!(
            "--bands {}: must be 1..{MAX_MATCH_BANDS} (the master EQ's bands)",
            options.max_bands
        )));
    }
    if let Some(out) = &options.out {
        std::fs::create_dir_all(out)
            .map_err(|e| Error::file(out, format!("cannot create the folder: {e}")))?;
    }
    let master = measure(&options.master)?;
    let mut comparisons = Vec::new();
    for (index, path) in options.references.iter().enumerate() {
        let reference = measure(path)?;
        let gain = master.figures.integrated_lufs - reference.figures.integrated_lufs;
        let reference_gain_db = gain.is_finite().then_some(gain);
        let spectrum = difference(&master, &reference, reference_gain_db.unwrap_or(0.0));
        let target: Vec<f64> = spectrum
            .difference_db
            .iter()
            .map(|d| d.unwrap_or(f64::NAN))
            .collect();
        let content_top_hz = master.content_top_hz.min(reference.content_top_hz);
        let weight = point_weights(
            &spectrum.hz,
            master.bin_hz.max(reference.bin_hz),
            content_top_hz,
        );
        let match_eq = match_eq(
            &spectrum.hz,
            &target,
            &weight,
            master.figures.sample_rate_hz as f64,
            options.max_bands,
            options.strength_percent / 100.0,
        )
        .map(|m| match_report(&m, options.strength_percent, content_top_hz));
        let mut comparison = Comparison {
            master: master.figures.clone(),
            reference: reference.figures.clone(),
            reference_gain_db,
            spectrum,
            match_eq,
            written: Vec::new(),
        };
        if let Some(out) = &options.out {
            let base = out.join(format!("{:02}-{}", index + 1, file_stem(path)));
            comparison.written = write_outputs(&base, &comparison, &master, &reference)?;
        }
        comparisons.push(comparison);
    }
    Ok(comparisons)
}

/// Writes `<base>-spectrum.png`, `<base>-loudness.png`, `<base>-match-eq.toml` (when there is a
/// match) and `<base>.json`.
fn write_outputs(
    base: &Path,
    c: &Comparison,
    master: &Measured,
    reference: &Measured,
) -> Result<Vec<PathBuf>> {
    let with = |suffix: &str| {
        let mut name = base.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let name = |f: &ProgrammeFigures| {
        Path::new(&f.file)
            .file_name()
            .map_or(f.file.clone(), |n| n.to_string_lossy().into_owned())
    };
    let (master_name, reference_name) = (name(&c.master), name(&c.reference));
    let mut written = Vec::new();
    let spectrum_png = with("-spectrum.png");
    master_vs_spectrum_plot(
        &spectrum_png,
        &format!("{master_name} against {reference_name} at matched loudness: 1/3-octave spectra"),
        &master.spectrum,
        (&reference.spectrum, "reference"),
        c.reference_gain_db,
        c.master.sample_rate_hz,
    )?;
    written.push(spectrum_png);
    let loudness_png = with("-loudness.png");
    master_vs_loudness_plot(
        &loudness_png,
        &format!("{master_name} against {reference_name} at matched loudness"),
        &master.history,
        c.master.integrated_lufs,
        (&reference.history, "reference"),
        c.reference_gain_db,
    )?;
    written.push(loudness_png);
    if let Some(m) = &c.match_eq {
        let toml = with("-match-eq.toml");
        write_text_atomic(&toml, &preset_fragment(&master_name, &reference_name, m))?;
        written.push(toml);
    }
    let json = with(".json");
    let mut record = c.clone();
    record.written = written.clone();
    record.written.push(json.clone());
    let text = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::file(&json, format!("cannot encode the report: {e}")))?;
    write_text_atomic(&json, &text)?;
    written.push(json);
    Ok(written)
}

/// The comparisons as a table.
pub fn format_human(comparisons: &[Comparison]) -> String {
    let mut s = String::new();
    for c in comparisons {
        let row = |label: &str, f: &ProgrammeFigures| {
            format!(
                "  {label:<10} {:>6.1} LUFS  LRA {:>5.1} LU  TP {:>6.1} dBTP  PLR {:>5.1} dB  PSR {:>5.1} dB  width (side/mid dB, 4 bands) {}\n",
                f.integrated_lufs,
                f.lra_lu,
                f.true_peak_dbtp,
                f.plr_db,
                f.psr_db,
                f.width
                    .iter()
                    .map(|w| format!("{:.0}", w.side_to_mid_db))
                    .collect::<Vec<_>>()
                    .join("/")
            )
        };
        s += &format!("{}\n  against {}\n", c.master.file, c.reference.file);
        s += &row("master", &c.master);
        s += &row("reference", &c.reference);
        match c.reference_gain_db {
            Some(g) => s += &format!("  reference matched by {g:+.2} dB\n"),
            None => s += "  loudness not matched (a programme is silent)\n",
        }
        match &c.match_eq {
            Some(m) if m.bands.is_empty() => s += "  match EQ: no band needed\n",
            Some(m) => {
                s += &format!(
                    "  match EQ at {:.0} % (follows within {:.2} dB):\n",
                    m.strength_percent, m.residual_max_db
                );
                for b in &m.bands {
                    s += &format!(
                        "    {:<9?} {:>8.1} Hz {:>+6.2} dB  Q {:.2}\n",
                        b.kind, b.freq_hz, b.gain_db, b.q
                    );
                }
            }
            None => s += "  match EQ: not enough spectrum to match\n",
        }
        for p in &c.written {
            s += &format!("  wrote {}\n", p.display());
        }
    }
    s
}
