//! `stem compare MASTER --reference REF...`: a master against commercial references at matched
//! loudness, as the guide's last step asks ("A/B comparison against a commercial reference
//! track in the same genre, matched in loudness ... not obviously brighter, louder, or
//! thinner"), and the EQ that would move the master's tonal balance towards each reference.
//!
//! Per reference: both programmes' loudness figures (integrated, LRA, true peak, PLR, PSR) and
//! stereo width per band; the gain that matches the reference's integrated loudness to the
//! master's (BS.1770-5, so the comparison never rewards level); the 1/3-octave smoothed
//! spectra of both and the difference, reference (matched) minus master, of their stereo power
//! `(L^2 + R^2) / 2`; and the EQ match of that difference: bells and shelves for the master's
//! EQ, written as a preset fragment `stem render --preset` takes. The analysis is
//! [`shared_dsp::meter::comparison`]'s, shared with the Stem Master plugin; this module reads
//! the files, keeps the loudness history for the plots, and writes the report, plots and
//! preset fragment. The two files may differ in rate: the spectra share one grid of
//! frequencies from 20 Hz.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shared_dsp::eq::match_fit::MAX_MATCH_BANDS;
use shared_dsp::meter::comparison::{
    compare_programmes, measure_programme, MeasuredProgramme, ProgrammeComparison,
};
pub use shared_dsp::meter::comparison::{
    BandWidth, MatchBand, MatchEq, SpectrumDifference, WIDTH_BANDS_HZ,
};

use crate::analysis::LoudnessHistory;
use crate::atomic::write_text_atomic;
use crate::audio::warn_non_finite;
use crate::decode::read_for_comparison;
use crate::error::{Error, Result};
use crate::figures::LoudnessTrack;
use crate::mid_side_spectrum::master_vs_spectrum_plot;
use crate::plots::master_vs_loudness_plot;

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

/// One programme's figures: its file and rate, and what
/// [`shared_dsp::meter::comparison::measure_programme`] measures (flattened, so the report's
/// keys are the figures' own).
#[derive(Clone, Debug, Serialize)]
pub struct ProgrammeFigures {
    pub file: String,
    pub sample_rate_hz: u32,
    #[serde(flatten)]
    pub figures: shared_dsp::meter::comparison::ProgrammeFigures,
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
    programme: MeasuredProgramme,
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
    // The loudness over time for the plot; the figures are the shared measurement's.
    let mut track = LoudnessTrack::stereo(audio.sample_rate_hz as f64);
    track.process(&[left, right]);
    let (_, history) = track.finish();
    let programme = measure_programme(left, right, audio.sample_rate_hz as f64);
    Ok(Measured {
        figures: ProgrammeFigures {
            file: audio.path.display().to_string(),
            sample_rate_hz: audio.sample_rate_hz,
            figures: programme.figures.clone(),
        },
        history,
        programme,
    })
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
        let ProgrammeComparison {
            reference_gain_db,
            spectrum,
            match_eq,
        } = compare_programmes(
            &master.programme,
            &reference.programme,
            options.strength_percent,
            options.max_bands,
        );
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
        &master.programme.spectrum,
        (&reference.programme.spectrum, "reference"),
        c.reference_gain_db,
        c.master.sample_rate_hz,
    )?;
    written.push(spectrum_png);
    let loudness_png = with("-loudness.png");
    master_vs_loudness_plot(
        &loudness_png,
        &format!("{master_name} against {reference_name} at matched loudness"),
        &master.history,
        c.master.figures.integrated_lufs,
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
            let f = &f.figures;
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
