//! One file's loudness report, as `stem report` writes it for any file and `stem render` for
//! each master: the figures (integrated, loudness range, maximum momentary and short-term
//! loudness, true peak, PLR, TT DR), for a master the delivery target it is judged against and
//! its comparison with the mix, and the files: `<base>.json`, `<base>.md` and two PNG plots (a
//! master's four more: [`master_plot_paths`]).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::{fmt_db, loudness_figures, LoudnessFigures, LoudnessHistory};
use crate::atomic::write_text_atomic;
use crate::audio::{warn_non_finite, Audio};
use crate::codec_preview::{self, CodecPreview};
use crate::decode::{frame_count, AudioReader};
use crate::error::{Error, Result};
use crate::figures::FiguresMeter;
use crate::files::{create_dir, display_name, ensure_not_input};
use crate::gain_reduction::GainReductionStats;
use crate::loudness_plan::{ClipperChoice, LoudnessPlan, MasterDcFilterChoice};
use crate::mid_side_spectrum::master_vs_spectrum_plot;
use crate::mix_comparison::{MixComparison, MixMeasurement};
use crate::plots;
use crate::service_preview::{self, ServicePreview};
use crate::stem_attribution::{self, StemAttributionRow};
use shared_dsp::meter::long_term_spectrum::{MidSideSpectrum, SpectrumMeter};

/// A delivery target a master is judged against.
#[derive(Clone, Debug, Serialize)]
pub struct TargetCheck {
    pub name: String,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    /// Largest accepted distance from the target, LU.
    pub tolerance_lu: f64,
    /// TT DR the master must exceed (vinyl: 10), if any.
    pub dr_above: Option<i32>,
    pub loudness_error_lu: f64,
    pub loudness_ok: bool,
    pub ceiling_ok: bool,
    pub dr_ok: bool,
    pub passed: bool,
    /// What passed but should not go unsaid: heavy limiting, DC in the master.
    pub warnings: Vec<String>,
}

/// One file's report.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub sample_rate_hz: u32,
    pub channels: usize,
    /// "mono", "stereo", "5.1", ...: the speakers the loudness weights follow.
    pub channel_layout: String,
    pub duration_s: f64,
    /// NaN or infinite samples in the file, measured as silence (0 for a valid file).
    pub non_finite_samples: usize,
    #[serde(flatten)]
    pub figures: LoudnessFigures,
    /// Present for masters `stem render` made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetCheck>,
    /// How hard the master limiter worked (masters `stem render` made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limiter_gain_reduction: Option<GainReductionStats>,
    /// What reaching the loudness cost (`shared_dsp::meter::damage`), dB; masters only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudness_damage_db: Option<f64>,
    /// The loudest the master could be with its peak stage within the 3 dB work budget, LUFS
    /// (masters over that budget only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudest_within_budget_lufs: Option<f64>,
    /// The clipper's peak reduction, per 10 ms window like the limiter's (masters whose plan
    /// ran the clipper).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clipper_peak_reduction: Option<GainReductionStats>,
    /// Where the loudness came from ([`crate::loudness_plan`]); masters only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loudness_plan: Option<LoudnessPlan>,
    /// Each stem's share of the limiter's work and of the peaks, and its loudness against the
    /// mix ([`crate::stem_attribution`]); masters only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stem_attribution: Option<Vec<StemAttributionRow>>,
    /// How each streaming service plays the file back ([`crate::service_preview`]); empty for
    /// silence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_preview: Vec<ServicePreview>,
    /// The master's encodings decoded and measured ([`crate::codec_preview`]); masters made
    /// with `--formats` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codec_preview: Vec<CodecPreview>,
    /// The limiter's ceiling when `--codec-safe-ceiling` lowered it below the delivery's so
    /// that every decoded encoding holds the delivery's ceiling, dBTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_safe_limiter_ceiling_dbtp: Option<f64>,
    /// The mix (the input stems summed as read) against the master; masters only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mix_comparison: Option<MixComparison>,
}

impl FileReport {
    /// The report of a measured file: `channels` in `layout` ("mono", "stereo", "5.1", ...),
    /// `frames` at `sample_rate_hz`; the master-only parts (target, limiter work) left out.
    pub fn measured(
        file: String,
        sample_rate_hz: u32,
        (channels, layout): (usize, &str),
        frames: u64,
        non_finite_samples: usize,
        figures: LoudnessFigures,
    ) -> Self {
        Self {
            file,
            sample_rate_hz,
            channels,
            channel_layout: layout.to_string(),
            duration_s: frames as f64 / sample_rate_hz as f64,
            non_finite_samples,
            service_preview: service_preview::preview(&figures),
            figures,
            target: None,
            limiter_gain_reduction: None,
            loudness_damage_db: None,
            loudest_within_budget_lufs: None,
            clipper_peak_reduction: None,
            loudness_plan: None,
            stem_attribution: None,
            codec_preview: Vec::new(),
            codec_safe_limiter_ceiling_dbtp: None,
            mix_comparison: None,
        }
    }
}

/// A file's report, its loudness history and its average spectrum ((Hz, dB) points).
pub type Measured = (FileReport, LoudnessHistory, Vec<(f64, f64)>);

/// Measures one in-memory programme.
pub fn analyse(audio: &Audio) -> Measured {
    let (figures, history, spectrum) = loudness_figures(audio);
    let layout = if audio.num_channels() == 1 {
        "mono"
    } else {
        "stereo"
    };
    (
        FileReport::measured(
            audio.name(),
            audio.sample_rate_hz,
            (audio.num_channels(), layout),
            audio.frames() as u64,
            audio.non_finite_samples,
            figures,
        ),
        history,
        spectrum,
    )
}

/// Measures one file as it is decoded, block by block (memory independent of its length): the
/// same figures [`analyse`] gives for the file read whole.
pub fn analyse_file(path: &Path) -> Result<Measured> {
    let reader = AudioReader::open_for_measurement(path)?;
    let spec = reader.spec().clone();
    // The spectrum's frame positions need the length: the header's, else a counting pass.
    let planned = frame_count(&spec)?;
    let mut meter = FiguresMeter::with_layout(&spec.layout, spec.sample_rate_hz, planned as usize);
    let (frames, non_finite) = reader.for_each_block(|block| meter.process(block))?;
    let spectrum_right = meter.spectrum_planned_right();
    let (figures, history, mut spectrum) = meter.finish();
    if !spectrum_right {
        // The file held more frames than its header declared: measure the spectrum again with
        // the real length.
        let mut sm = SpectrumMeter::new(frames as usize, spec.sample_rate_hz as f64);
        AudioReader::open_for_measurement(path)?
            .for_each_block(|b| sm.process(b[0], b.get(1).unwrap_or(&b[0])))?;
        spectrum = sm.finish();
    }
    warn_non_finite(path, non_finite);
    Ok((
        FileReport::measured(
            display_name(path),
            spec.sample_rate_hz,
            (spec.channels, &spec.layout.name),
            frames,
            non_finite,
            figures,
        ),
        history,
        spectrum,
    ))
}

/// The files a report on `file_name` is written to in `dir`: `<stem>.md`, `<stem>.json`,
/// `<stem>-loudness.png`, `<stem>-spectrum.png` (also used to refuse collisions up front).
pub fn report_paths(dir: &Path, file_name: &str) -> [PathBuf; 4] {
    let base = Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    [
        dir.join(format!("{base}.md")),
        dir.join(format!("{base}.json")),
        dir.join(format!("{base}-loudness.png")),
        dir.join(format!("{base}-spectrum.png")),
    ]
}

/// The plots only a master's report has, in `dir`: `<stem>-gain-reduction.png`,
/// `<stem>-vs-mix-loudness.png`, `<stem>-vs-mix-spectrum.png` and `<stem>-stems-loudness.png`.
pub fn master_plot_paths(dir: &Path, file_name: &str) -> [PathBuf; 4] {
    let [md, ..] = report_paths(dir, file_name);
    let base = md
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    [
        "gain-reduction",
        "vs-mix-loudness",
        "vs-mix-spectrum",
        "stems-loudness",
    ]
    .map(|plot| dir.join(format!("{base}-{plot}.png")))
}

/// A master's peak-stage work over time, for its report's plot.
pub struct GainReductionLogs<'a> {
    /// The limiter's largest gain reduction per window, dB.
    pub limiter_db: &'a [f32],
    /// The clipper's peak reduction per window, dB (when it ran).
    pub clipper_db: Option<&'a [f32]>,
    /// The window length, s.
    pub window_s: f64,
}

/// What a master's own plots ([`master_plot_paths`]) are drawn from.
pub struct MasterPlots<'a> {
    pub gain_reduction: GainReductionLogs<'a>,
    /// The mix the master is compared with.
    pub mix: &'a MixMeasurement,
    /// The master's smoothed mid and side spectra (empty for a master shorter than one FFT).
    pub mid_side: &'a MidSideSpectrum,
    /// Each stem's name and loudness history through its channel chain, in stem order.
    pub stems: Vec<(&'a str, &'a LoudnessHistory)>,
}

impl MasterPlots<'_> {
    /// Draws the plots of `report`'s master (its loudness `history`) to `paths`
    /// ([`master_plot_paths`]).
    fn draw(
        &self,
        report: &FileReport,
        history: &LoudnessHistory,
        paths: &[PathBuf; 4],
    ) -> Result<()> {
        let [gr_png, vs_mix_loud_png, vs_mix_spec_png, stems_png] = paths;
        let name = &report.file;
        let logs = &self.gain_reduction;
        plots::gain_reduction_plot(
            gr_png,
            &format!("{name}: peak stage gain reduction"),
            logs.limiter_db,
            logs.clipper_db,
            logs.window_s,
        )?;
        let shift_lu = report.mix_comparison.as_ref().and_then(|c| c.mix_shift_lu);
        plots::master_vs_loudness_plot(
            vs_mix_loud_png,
            &format!("{name} against the mix (the stems summed as read) at matched loudness"),
            history,
            report.figures.integrated_lufs,
            (&self.mix.history, "mix"),
            shift_lu,
        )?;
        master_vs_spectrum_plot(
            vs_mix_spec_png,
            &format!("{name} against the mix at matched loudness: 1/3-octave spectra"),
            self.mid_side,
            (&self.mix.spectrum, "mix"),
            shift_lu,
            report.sample_rate_hz,
        )?;
        plots::stems_loudness_plot(
            stems_png,
            &format!("{name}: each stem through its channel chain, short-term loudness"),
            &self.stems,
        )
    }
}

/// Writes `<base>.json`, `<base>.md`, `<base>-loudness.png` and `<base>-spectrum.png` into
/// `dir` (and a master's plots, [`master_plot_paths`], with `master`); returns the paths
/// written. Never writes over a file in `protected`.
pub fn write_files(
    dir: &Path,
    report: &FileReport,
    history: &LoudnessHistory,
    spectrum: &[(f64, f64)],
    master: Option<MasterPlots>,
    protected: &[PathBuf],
) -> Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let [md_path, json_path, loud_png, spec_png] = report_paths(dir, &report.file);
    let master_pngs = master
        .as_ref()
        .map(|_| master_plot_paths(dir, &report.file));
    for p in [&json_path, &md_path, &loud_png, &spec_png]
        .into_iter()
        .chain(master_pngs.iter().flatten())
    {
        ensure_not_input(p, protected)?;
    }
    if let (Some(plots), Some(pngs)) = (&master, &master_pngs) {
        plots.draw(report, history, pngs)?;
    }
    plots::loudness_plot(
        &loud_png,
        &format!("{}: loudness", report.file),
        history,
        report.figures.integrated_lufs,
        report.target.as_ref().map(|t| t.target_lufs),
    )?;
    plots::spectrum_plot(
        &spec_png,
        &format!("{}: average spectrum", report.file),
        spectrum,
        report.sample_rate_hz,
    )?;
    let json = serde_json::to_string_pretty(report).map_err(|e| Error::usage(e.to_string()))?;
    write_text_atomic(&json_path, &(json + "\n"))?;
    write_text_atomic(
        &md_path,
        &markdown(report, &loud_png, &spec_png, master_pngs.as_ref()),
    )?;
    let mut written = vec![md_path, json_path, loud_png, spec_png];
    written.extend(master_pngs.into_iter().flatten());
    Ok(written)
}

fn opt_dr(f: &LoudnessFigures) -> String {
    match (f.dr, f.dr_db) {
        (Some(dr), Some(db)) => format!("DR{dr} ({db:.2} dB)"),
        _ => "n/a (silence)".to_string(),
    }
}

/// The Markdown report of one file (a master's with its own plots, [`master_plot_paths`]).
pub fn markdown(
    r: &FileReport,
    loud_png: &Path,
    spec_png: &Path,
    master_pngs: Option<&[PathBuf; 4]>,
) -> String {
    let f = &r.figures;
    let mut s = format!(
        "# Loudness report: {}\n\n{} Hz, {} channel{} ({}), {:.2} s\n\n\
         | Figure | Value |\n| --- | --- |\n\
         | Integrated loudness | {} |\n| Loudness range (LRA) | {:.1} LU |\n\
         | Max momentary loudness | {} |\n| Max short-term loudness | {} |\n\
         | True peak | {} |\n| Sample peak | {} |\n| PLR | {} |\n| TT Dynamic Range | {} |\n",
        r.file,
        r.sample_rate_hz,
        r.channels,
        if r.channels == 1 { "" } else { "s" },
        r.channel_layout,
        r.duration_s,
        fmt_db(f.integrated_lufs, "LUFS"),
        f.lra_lu,
        fmt_db(f.momentary_max_lufs, "LUFS"),
        fmt_db(f.short_term_max_lufs, "LUFS"),
        fmt_db(f.true_peak_dbtp, "dBTP"),
        fmt_db(f.sample_peak_dbfs, "dBFS"),
        fmt_db(f.plr_db, "dB"),
        opt_dr(f),
    );
    let dc: Vec<String> = f
        .dc_offset_dbfs
        .iter()
        .map(|&db| fmt_db(db, "dBFS"))
        .collect();
    s += &format!("| DC offset (per channel) | {} |\n", dc.join(", "));
    if let (Some(c), Some(fold)) = (f.stereo_correlation, f.mono_fold_change_lu) {
        s += &format!(
            "| Stereo correlation | {c:+.2} |\n| Mono fold-down loudness change | {fold:+.1} LU |\n"
        );
    }
    if r.non_finite_samples > 0 {
        s += &format!(
            "\n**Warning:** {} NaN or infinite samples, measured as silence.\n",
            r.non_finite_samples
        );
    }
    if let Some(t) = &r.target {
        s += &format!(
            "\n## Delivery target: {}\n\n| Check | Target | Measured | Result |\n| --- | --- | --- | --- |\n\
             | Integrated loudness | {:.1} LUFS +-{:.1} LU | {} | {} |\n\
             | True-peak ceiling | <= {:.1} dBTP | {} | {} |\n",
            t.name,
            t.target_lufs,
            t.tolerance_lu,
            fmt_db(f.integrated_lufs, "LUFS"),
            pass(t.loudness_ok),
            t.ceiling_dbtp,
            fmt_db(f.true_peak_dbtp, "dBTP"),
            pass(t.ceiling_ok),
        );
        if let Some(min) = t.dr_above {
            s += &format!(
                "| TT Dynamic Range | > DR{min} | {} | {} |\n",
                opt_dr(f),
                pass(t.dr_ok)
            );
        }
        s += &format!("\n**{}**\n", if t.passed { "PASS" } else { "FAIL" });
        for w in &t.warnings {
            s += &format!("\n**Warning:** {w}\n");
        }
    }
    s += &codec_preview::markdown(&r.codec_preview, r.target.as_ref().map(|t| t.ceiling_dbtp));
    if let Some(c) = r.codec_safe_limiter_ceiling_dbtp {
        let still_over = r.codec_preview.iter().any(|p| p.ceiling_ok == Some(false));
        s += &format!(
            "\nThe limiter's ceiling was lowered to {c:.2} dBTP (`--codec-safe-ceiling`) by what \
             the decoded encodings measured over the delivery's ceiling{}.\n",
            if still_over {
                "; the encodings still over it did not come under within what the option may \
                 take (3 dB, or until lowering stopped helping)"
            } else {
                ""
            }
        );
    }
    s += &service_preview::markdown(&r.service_preview);
    if let Some(g) = &r.limiter_gain_reduction {
        s += &format!(
            "\n## Master limiter gain reduction\n\nLargest reduction per 10 ms window.\n\n\
             | Mean | 95th percentile | Max | Time beyond 3 dB | Time beyond 6 dB |\n\
             | --- | --- | --- | --- | --- |\n\
             | {:.2} dB | {:.2} dB | {:.2} dB | {:.1} % | {:.1} % |\n",
            g.mean_db, g.p95_db, g.max_db, g.percent_over_3_db, g.percent_over_6_db
        );
    }
    if let Some(g) = &r.clipper_peak_reduction {
        s += &format!(
            "\n## Clipper peak reduction\n\nLargest reduction of a sample peak per 10 ms window.\n\n\
             | Mean | 95th percentile | Max | Time beyond 3 dB | Time beyond 6 dB |\n\
             | --- | --- | --- | --- | --- |\n\
             | {:.2} dB | {:.2} dB | {:.2} dB | {:.1} % | {:.1} % |\n",
            g.mean_db, g.p95_db, g.max_db, g.percent_over_3_db, g.percent_over_6_db
        );
    }
    if let Some(d) = r.loudness_damage_db {
        s += &format!(
            "\nLoudness damage D = {}: the share of the master that is not one gain of the same \
             stems with the clipper and limiter idle (lower is cleaner).\n",
            fmt_db(d, "dB")
        );
    }
    if let Some(p) = &r.loudness_plan {
        s += &plan_markdown(p);
    }
    if let Some(rows) = &r.stem_attribution {
        s += &stem_attribution::markdown(rows);
    }
    if let Some([gr_png, vs_mix_loud_png, vs_mix_spec_png, stems_png]) = master_pngs {
        s += &format!(
            "\n![peak stage gain reduction over time]({})\n",
            display_name(gr_png)
        );
        s += &mix_markdown(r.mix_comparison.as_ref());
        s += &format!(
            "\n![short-term loudness of the master and the mix at matched loudness]({})\n\n\
             ![mid and side 1/3-octave spectra of the master and the mix at matched loudness]({})\n\n\
             ![each stem's short-term loudness through its channel chain]({})\n",
            display_name(vs_mix_loud_png),
            display_name(vs_mix_spec_png),
            display_name(stems_png),
        );
    }
    s += &format!(
        "\n![loudness over time]({})\n\n![average spectrum]({})\n\n\
         Loudness: ITU-R BS.1770-5 / EBU R128 (Tech 3341, LRA per Tech 3342); true peak: \
         BS.1770-5 Annex 2, oversampled to at least 176.4 kHz; PLR = true peak - integrated; \
         TT DR: Pleasurize Music Foundation off-line meter procedure (3 s blocks, top 20 % RMS, \
         second-highest peak).\n",
        display_name(loud_png),
        display_name(spec_png)
    );
    s
}

/// The master-against-mix section of a master's Markdown report.
fn mix_markdown(c: Option<&MixComparison>) -> String {
    let shift = match c.and_then(|c| c.mix_shift_lu) {
        Some(shift) => format!(
            "raised by the difference of their integrated loudness ({})",
            plots::shift_label("mix", shift)
        ),
        None => "not matched (the master or the mix is silent)".to_string(),
    };
    format!(
        "\n## Master against the mix\n\nThe mix is the input stems summed as read (no channel or \
         master chain; {}), {shift}, so what differs is what mastering changed beyond level: \
         the master's short-term loudness is flatter than the mix's where its dynamics were \
         flattened, and its mid and side spectra lie above or below the mix's (the difference \
         under each) where its tone changed. Spectra: 8192-point FFTs averaged over the \
         programme, smoothed to 1/3 octave.\n",
        fmt_db(c.map_or(f64::NAN, |c| c.mix_integrated_lufs), "LUFS")
    )
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "FAIL"
    }
}

/// The loudness plan's section of a master's Markdown report.
fn plan_markdown(p: &LoudnessPlan) -> String {
    let clipper = match (p.peak.clipper_choice, p.peak.clipper_enabled) {
        (ClipperChoice::Pinned, on) => format!("{} (set by the preset)", on_off(on)),
        (ClipperChoice::LimiterIdle, _) => {
            "off (the limiter alone cost under 0.3 dB of loudness)".to_string()
        }
        (ClipperChoice::Measured, on) => format!(
            "{} (measured: D {} with the limiter alone, {} with the clipper)",
            on_off(on),
            p.peak
                .damage_limiter_only_db
                .map_or("n/a".into(), |d| fmt_db(d, "dB")),
            p.peak
                .damage_with_clipper_db
                .map_or("n/a".into(), |d| fmt_db(d, "dB")),
        ),
    };
    let dc = &p.master_dc_filter;
    let dc_filter = match dc.choice {
        MasterDcFilterChoice::Pinned => format!("{} (set by the preset)", on_off(dc.enabled)),
        MasterDcFilterChoice::NotNeeded => format!(
            "{} (the pre-limiter signal's DC, {}, stays at or below -60 dBFS after the drive)",
            on_off(dc.enabled),
            fmt_db(dc.pre_limiter_dc_dbfs, "dBFS")
        ),
        MasterDcFilterChoice::ForDc => format!(
            "on (the drive would have lifted the pre-limiter signal's DC, {}, above -60 dBFS)",
            fmt_db(dc.pre_limiter_dc_dbfs, "dBFS")
        ),
    };
    let stem_peaks = p.stem_peak_control.as_ref().map_or(String::new(), |c| {
        let stems: Vec<String> = c
            .stems
            .iter()
            .map(|l| {
                format!(
                    "stem {} (peak {}, {:.0} % of the loudest peaks) at {}",
                    l.stem + 1,
                    fmt_db(l.peak_dbfs, "dBFS"),
                    l.peak_share_percent,
                    fmt_db(l.level_dbfs, "dBFS")
                )
            })
            .collect();
        format!(
            "Stem peak control: tried on {}; D {} without, {} with: {}.\n",
            stems.join(", "),
            fmt_db(c.damage_without_db, "dB"),
            fmt_db(c.damage_with_db, "dB"),
            if c.kept { "kept" } else { "not kept" }
        )
    });
    format!(
        "\n## Loudness plan\n\n\
         | Pre-limiter loudness | Plain gain to target | Drive | Cost of peak control | Clipper |\n\
         | --- | --- | --- | --- | --- |\n\
         | {} | {:+.2} dB | {:+.2} dB | {:.2} dB | {clipper} |\n\n\
         Master DC filter: {dc_filter}.\n{stem_peaks}",
        fmt_db(p.peak.pre_limiter_lufs, "LUFS"),
        p.peak.plain_gain_db,
        p.peak.drive_db,
        p.peak.peak_control_cost_db,
    )
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
