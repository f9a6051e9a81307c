//! A master against a reference at matched loudness, as the guide's last step asks ("A/B
//! comparison against a commercial reference track in the same genre, matched in loudness ...
//! not obviously brighter, louder, or thinner"), and the EQ that would move the master's tonal
//! balance towards the reference. Here, not in the command line, so `stem compare` and the
//! Stem Master plugin show the same figures from the same code.
//!
//! [`measure_programme`]: a programme's loudness figures (integrated, LRA, true peak, PLR, PSR;
//! BS.1770-5 / EBU R128 with the meters of [`super::loudness`] and [`super::true_peak`]),
//! stereo width per band, and its 1/3-octave smoothed mid, side and stereo spectra
//! ([`super::long_term_spectrum`]). [`compare_programmes`]: the gain that matches the
//! reference's integrated loudness to the master's (so the comparison never rewards level), the
//! difference, reference (matched) minus master, of their stereo power `(L^2 + R^2) / 2`, and
//! the EQ match of that difference ([`crate::eq::match_fit`]): bells and shelves for the
//! master's EQ. The two programmes may differ in rate: the spectra share one grid of
//! frequencies from 20 Hz.
//!
//! Offline: both allocate what they return and measure a whole programme at once.

use serde::Serialize;

use crate::eq::match_fit::{match_eq, EqMatch};
use crate::eq::BandKind;
use crate::meter::long_term_spectrum::{
    grid_hz, third_octave_db, MidSidePower, MidSideSpectrum, SpectrumMeter, FLOOR_DB,
};
use crate::meter::loudness::{LoudnessMeter, WEIGHTS_STEREO};
use crate::meter::true_peak::TruePeakMeter;

/// Bands of the stereo-width readout, Hz: lows (where mono matters), low mids, presence, air.
pub const WIDTH_BANDS_HZ: [(f64, f64); 4] = [
    (20.0, 150.0),
    (150.0, 1_000.0),
    (1_000.0, 5_000.0),
    (5_000.0, 20_000.0),
];

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
    pub integrated_lufs: f64,
    pub lra_lu: f64,
    pub true_peak_dbtp: f64,
    pub short_term_max_lufs: f64,
    /// Peak to loudness ratio: true peak minus integrated loudness, dB (minus infinity when
    /// either is not finite).
    pub plr_db: f64,
    /// Peak to short-term loudness ratio: true peak minus the loudest short-term loudness, dB.
    pub psr_db: f64,
    /// Per band of [`WIDTH_BANDS_HZ`]; empty for a programme shorter than one FFT.
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
    /// Reference (matched) minus master, stereo power, 1/3-octave smoothed, dB (`None` where
    /// either is silent).
    pub difference_db: Vec<Option<f64>>,
}

/// One programme measured for comparison.
#[derive(Clone, Debug)]
pub struct MeasuredProgramme {
    pub figures: ProgrammeFigures,
    /// 1/3-octave smoothed mid and side spectra (empty for a programme shorter than one FFT).
    pub spectrum: MidSideSpectrum,
    /// Stereo power `(L^2 + R^2) / 2 = mid + side`, 1/3-octave smoothed on `spectrum.hz`, dB.
    pub stereo_db: Vec<f64>,
    /// FFT bin spacing of the spectra, Hz (infinite for a programme shorter than one FFT).
    pub bin_hz: f64,
    /// Where the programme's content ends (a lossy coder's low-pass, a low rate), Hz.
    pub content_top_hz: f64,
    /// The rate the programme was measured at, Hz (the match designs its bands for the
    /// master's).
    pub sample_rate_hz: f64,
}

/// A programme against a reference.
#[derive(Clone, Debug)]
pub struct ProgrammeComparison {
    /// Gain that brings the reference to the master's integrated loudness, dB (`None` when
    /// either is silent).
    pub reference_gain_db: Option<f64>,
    pub spectrum: SpectrumDifference,
    /// `None` when the spectra leave too little to match (silence, a programme shorter than
    /// one FFT).
    pub match_eq: Option<MatchEq>,
}

/// Measures a stereo programme (a mono one passed as `left == right`, as it plays on two
/// speakers): loudness and true peak of both channels at BS.1770 stereo weights, and the mid
/// and side spectra.
pub fn measure_programme(left: &[f32], right: &[f32], sample_rate_hz: f64) -> MeasuredProgramme {
    let frames = left.len().min(right.len());
    let (left, right) = (&left[..frames], &right[..frames]);
    let channels = [left, right];

    // Loudness fed in 100 ms parts, as the command line's report meter feeds it (the meter's
    // result does not depend on the split; the same split keeps that beyond doubt).
    let mut loudness = LoudnessMeter::new(2, sample_rate_hz);
    loudness.set_channel_weights(&WEIGHTS_STEREO);
    let hop = loudness.tick_len() * 10;
    let mut at = 0;
    while at < frames {
        let take = hop.min(frames - at);
        loudness.process_range(&channels, at..at + take);
        at += take;
    }
    let mut true_peak = TruePeakMeter::new(2, sample_rate_hz);
    true_peak.process_block(&channels);
    // The interpolator is flushed with silence so a peak in the last samples is seen.
    let tail = vec![0.0f32; true_peak.latency_samples() + 64];
    true_peak.process_block(&[&tail, &tail]);
    let true_peak_dbtp = true_peak.true_peak_dbtp();
    let integrated_lufs = loudness.integrated_lufs();
    let plr_db = if true_peak_dbtp.is_finite() && integrated_lufs.is_finite() {
        true_peak_dbtp - integrated_lufs
    } else {
        f64::NEG_INFINITY
    };
    let short_term_max_lufs = loudness.max_short_term_lufs();

    let mut meter = SpectrumMeter::mid_side(frames, sample_rate_hz);
    meter.process(left, right);
    let power = meter.mid_side_power();
    let spectrum = power.as_ref().map(MidSideSpectrum::of).unwrap_or_default();
    let stereo_db = power.as_ref().map_or_else(Vec::new, |p| {
        let stereo: Vec<f64> = p.mid.iter().zip(&p.side).map(|(m, s)| m + s).collect();
        third_octave_db(&stereo, p.bin_hz, &grid_hz(p.bin_hz, stereo.len()))
    });
    MeasuredProgramme {
        figures: ProgrammeFigures {
            integrated_lufs,
            lra_lu: loudness.loudness_range_lu(),
            true_peak_dbtp,
            short_term_max_lufs,
            plr_db,
            psr_db: true_peak_dbtp - short_term_max_lufs,
            width: power.as_ref().map_or_else(Vec::new, band_widths),
        },
        spectrum,
        stereo_db,
        bin_hz: power.as_ref().map_or(f64::INFINITY, |p| p.bin_hz),
        content_top_hz: power.as_ref().map_or(0.0, content_top_hz),
        sample_rate_hz,
    }
}

/// The master against the reference: the loudness match, the difference of their spectra at
/// matched loudness, and the EQ match of that difference with at most `max_bands` bands
/// (1..=[`crate::eq::match_fit::MAX_MATCH_BANDS`]) at `strength_percent` (0..=100) of it.
pub fn compare_programmes(
    master: &MeasuredProgramme,
    reference: &MeasuredProgramme,
    strength_percent: f64,
    max_bands: usize,
) -> ProgrammeComparison {
    let gain = master.figures.integrated_lufs - reference.figures.integrated_lufs;
    let reference_gain_db = gain.is_finite().then_some(gain);
    let spectrum = difference(master, reference, reference_gain_db.unwrap_or(0.0));
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
        master.sample_rate_hz,
        max_bands,
        strength_percent / 100.0,
    )
    .map(|m| match_report(&m, strength_percent, content_top_hz));
    ProgrammeComparison {
        reference_gain_db,
        spectrum,
        match_eq,
    }
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
    master: &MeasuredProgramme,
    reference: &MeasuredProgramme,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eq::{BandSettings, EqCurve, ParametricEq, Placement};

    const SR: f64 = 48_000.0;

    /// The known EQ: +3 dB high shelf at 6 kHz and -2 dB bell at 300 Hz.
    fn known_eq() -> [BandSettings; 2] {
        [
            BandSettings::new(BandKind::HighShelf, 6_000.0, 3.0, 0.7),
            BandSettings::bell(300.0, -2.0, 1.0),
        ]
    }

    /// `x` through the EQ with `bands`, then `gain_db`.
    fn equalised(x: &[Vec<f32>; 2], bands: &[BandSettings], gain_db: f32) -> [Vec<f32>; 2] {
        ParametricEq::rendered(SR, bands, gain_db, x)
    }

    fn integrated_lufs(x: &[Vec<f32>; 2]) -> f64 {
        let mut meter = LoudnessMeter::new(2, SR);
        meter.process_block(&[&x[0], &x[1]]);
        meter.integrated_lufs()
    }

    #[test]
    fn a_reference_made_by_a_known_eq_is_matched_in_loudness_and_tone() {
        let master = test_signals::stereo_programme(30.0, SR);
        let reference = equalised(&master, &known_eq(), -3.0);
        let m = measure_programme(&master[0], &master[1], SR);
        let r = measure_programme(&reference[0], &reference[1], SR);
        let c = compare_programmes(&m, &r, 100.0, 8);

        // Loudness: the gain is the difference an independent pass of the loudness meter reads.
        let expected = integrated_lufs(&master) - integrated_lufs(&reference);
        let gain = c.reference_gain_db.expect("both programmes sound");
        println!("reference gain {gain:.3} dB, independent {expected:.3} dB");
        assert!((gain - expected).abs() < 0.1, "{gain} vs {expected}");

        // Tone: the proposed bands reproduce the known curve within 0.5 dB at every 1/3-octave
        // centre from 50 Hz to 16 kHz.
        let proposal = c.match_eq.expect("enough spectrum to match");
        assert_eq!(proposal.strength_percent, 100.0);
        let bands: Vec<BandSettings> = proposal
            .bands
            .iter()
            .map(|b| {
                assert!(matches!(
                    b.kind,
                    BandKind::Bell | BandKind::LowShelf | BandKind::HighShelf
                ));
                BandSettings::new(b.kind, b.freq_hz as f32, b.gain_db as f32, b.q as f32)
            })
            .collect();
        assert!(!bands.is_empty() && bands.len() <= 8, "{bands:?}");
        let (truth, proposed) = (EqCurve::new(SR, &known_eq()), EqCurve::new(SR, &bands));
        let mut worst = 0.0f64;
        for f in test_signals::third_octave_centres_50_to_16k() {
            let (want, got) = (
                truth.magnitude_db(f, Placement::Mid),
                proposed.magnitude_db(f, Placement::Mid),
            );
            worst = worst.max((want - got).abs());
            assert!(
                (want - got).abs() <= 0.5,
                "{f:.0} Hz: known {want:.2} dB, proposed {got:.2} dB: {bands:?}"
            );
        }
        println!("match within {worst:.3} dB with {} bands", bands.len());

        // The figures of both are there; the reference is 3 dB down and treble-lifted.
        assert_eq!(m.figures.width.len(), WIDTH_BANDS_HZ.len());
        assert!(m.figures.integrated_lufs.is_finite() && m.figures.lra_lu.is_finite());
        assert_eq!(
            m.figures.plr_db,
            m.figures.true_peak_dbtp - m.figures.integrated_lufs
        );
        assert_eq!(c.spectrum.hz.len(), c.spectrum.difference_db.len());
    }

    #[test]
    fn a_programme_against_itself_differs_by_nothing() {
        let x = test_signals::stereo_programme(6.0, SR);
        let m = measure_programme(&x[0], &x[1], SR);
        let c = compare_programmes(&m, &m, 100.0, 8);
        assert_eq!(c.reference_gain_db, Some(0.0));
        assert!(c
            .spectrum
            .difference_db
            .iter()
            .all(|d| d.is_some_and(|d| d == 0.0)));
        let proposal = c.match_eq.expect("a spectrum to match");
        assert!(
            proposal.bands.iter().all(|b| b.gain_db.abs() < 0.1),
            "{proposal:?}"
        );
    }

    #[test]
    fn mono_has_no_side_and_silence_no_match() {
        let x = test_signals::noise(2 * SR as usize, 9);
        let mono = measure_programme(&x, &x, SR);
        assert!(mono
            .figures
            .width
            .iter()
            .all(|w| w.side_to_mid_db == f64::NEG_INFINITY));
        let silence = vec![0.0f32; 2 * SR as usize];
        let quiet = measure_programme(&silence, &silence, SR);
        assert_eq!(quiet.figures.integrated_lufs, f64::NEG_INFINITY);
        assert_eq!(quiet.figures.plr_db, f64::NEG_INFINITY);
        let c = compare_programmes(&mono, &quiet, 100.0, 8);
        assert_eq!(c.reference_gain_db, None);
        assert!(c.match_eq.is_none());
        // Shorter than one FFT: figures but no spectrum.
        let short = measure_programme(&x[..1000], &x[..1000], SR);
        assert!(short.spectrum.hz.is_empty() && short.figures.width.is_empty());
        assert!(compare_programmes(&mono, &short, 100.0, 8)
            .match_eq
            .is_none());
    }
}
