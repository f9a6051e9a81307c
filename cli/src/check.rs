//! `stem check`: quality control of a stem set against its mixdown, after the guide's
//! non-negotiable checks: stems share format, sample rate, length and start point, and sum to
//! the mix (the null test).
//!
//! Per file: format, rate, bit depth (16-bit flagged), length, sample and true peak, clipping
//! runs, DC offset, integrated loudness. Across files: rate, length and channel mismatches, each
//! stem's offset against the mix by cross-correlation, the start times the files' BWF/iXML
//! metadata declare ([`crate::start_time`]), the null test, the guide's gain-staging
//! advice (stem peaks between -12 and -6 dBFS) and side energy below 100 Hz on the bass stem.
//!
//! Problems that break recombination (mismatched rate/length/layout, offsets, clipping,
//! non-finite samples, a failed null test) fail the check; advice (16-bit, gain staging, DC,
//! stereo bass) is reported as a warning.

use std::path::PathBuf;

use serde::Serialize;
use shared_dsp::meter::loudness::LoudnessMeter;

use crate::align::{find_offset, mono, MAX_OFFSET_S};
use crate::analysis::{self, amp_db, file_stats, fmt_db, FileStats};
use crate::audio::{read_all, Audio};
use crate::error::{Error, Result};
use crate::files::{canonical, distinct_stems};
use crate::par;
use crate::progress::Progress;
use crate::role::{Role, RoleOverrides};
use crate::start_time::{clock, start_time, StartTime};

/// The null test passes when the residual peak is at or below this, unless the files' word
/// length cannot reach it (see [`NullTest::threshold_dbfs`]). -90 dBFS is below the noise floor
/// of any playback chain at a sane monitoring gain, and far below what a routing mistake leaves
/// (a missing reverb return or a 0.1 dB gain error sits around -50 dBFS).
pub const NULL_THRESHOLD_DBFS: f64 = -90.0;
/// Margin of the threshold above the rounding floor when the floor is the limit, dB.
pub const NULL_FLOOR_MARGIN_DB: f64 = 6.0;
/// Float rounding of one addition, relative (half an ulp of an `f32`: 2^-24).
pub const F32_ROUNDING: f64 = 1.0 / 16_777_216.0;
/// The guide's gain-staging window for stem peaks, dBFS.
pub const STEM_PEAK_MAX_DBFS: f64 = -6.0;
pub const STEM_PEAK_MIN_DBFS: f64 = -12.0;

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    pub stems: Vec<PathBuf>,
    pub mix: PathBuf,
    /// The bass stem, when its name does not say so.
    pub bass: Option<PathBuf>,
    /// Roles given on the command line, over the file names' guesses.
    pub roles: RoleOverrides,
    pub show_progress: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Pass,
    Warn,
    Fail,
}

/// One observation.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Short name of the check ("sample_rate", "offset", "null_test", ...).
    pub check: &'static str,
    /// The file it is about (`null` for the whole set).
    pub file: Option<String>,
    pub message: String,
}

/// A stem's figures plus what only a stem has.
#[derive(Clone, Debug, Serialize)]
pub struct StemCheck {
    #[serde(flatten)]
    pub stats: FileStats,
    pub role: Role,
    /// Samples the stem is late against the mix (negative: early); `null` if not measurable.
    pub offset_samples: Option<i64>,
    /// Normalised cross-correlation at that offset.
    pub offset_correlation: Option<f64>,
    /// Side energy below 100 Hz relative to mid energy below 100 Hz, dB (bass stem only).
    pub low_side_to_mid_db: Option<f64>,
    /// Start on the session timeline (BWF `bext` or iXML time reference), seconds since
    /// midnight; `null` when the file declares none.
    pub start_time_s: Option<f64>,
}

/// The null test: mix minus the sum of the stems.
#[derive(Clone, Debug, Serialize)]
pub struct NullTest {
    pub residual_peak_dbfs: f64,
    pub residual_rms_dbfs: f64,
    /// Integrated loudness of the residual (`null` when it is below the -70 LUFS gate).
    pub residual_lufs: f64,
    /// The largest residual exact stems can leave through rounding, dBFS.
    pub rounding_floor_dbfs: f64,
    /// Pass when `residual_peak_dbfs <= threshold_dbfs`:
    /// `max(NULL_THRESHOLD_DBFS, rounding_floor_dbfs + NULL_FLOOR_MARGIN_DB)`.
    pub threshold_dbfs: f64,
    pub passed: bool,
    pub explanation: String,
}

/// Everything `stem check` found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub passed: bool,
    pub mix: FileStats,
    /// The mix's start on the session timeline, seconds since midnight (see
    /// [`StemCheck::start_time_s`]).
    pub mix_start_time_s: Option<f64>,
    pub stems: Vec<StemCheck>,
    /// `null` when the files cannot be summed (different sample rates).
    pub null_test: Option<NullTest>,
    pub findings: Vec<Finding>,
}

/// Refuses the same file given twice (it would be summed twice) and a mix among the stems.
fn check_arguments(opts: &CheckOptions) -> Result<()> {
    let seen = distinct_stems(&opts.stems, Some(&opts.mix))?;
    opts.roles.check_used(&opts.stems)?;
    if let Some(b) = &opts.bass {
        if !seen.contains(&canonical(b)) {
            return Err(Error::file(b, "--bass must name one of the stems"));
        }
    }
    Ok(())
}

/// Runs every check. `Err` only for unusable input (unreadable, not audio, bad arguments);
/// a set that reads but fails its checks is an `Ok` report with `passed == false`.
pub fn run_check(opts: &CheckOptions) -> Result<CheckReport> {
    check_arguments(opts)?;
    let progress = Progress::new(opts.show_progress);
    let mut paths = opts.stems.clone();
    paths.push(opts.mix.clone());
    let mut audio = read_all(&paths, &progress)?;
    let mix = audio.pop().expect("the mix was read");
    let stems = audio;

    let bar = progress.bar(stems.len() as u64 + 1, "analysing");
    let mix_stats = file_stats(&mix);
    // Each stem is located in what the mix leaves when every other stem is taken out of it:
    // `mix - sum + stem`. With a correct set that is the stem itself (its autocorrelation peaks
    // exactly at 0); with this stem shifted it is the unshifted stem, so the peak sits at the
    // shift; other stems' errors only add uncorrelated rest. Correlating with the whole mix
    // instead lets correlated stems (kick and bass share the same low notes) pull the peak.
    let mix_mono = mono(&mix.channels);
    let mut mix_minus_sum: Vec<f64> = mix_mono.iter().map(|&x| x as f64).collect();
    let stem_monos: Vec<Vec<f32>> = stems.iter().map(|s| mono(&s.channels)).collect();
    for (s, m) in stems.iter().zip(&stem_monos) {
        if s.sample_rate_hz == mix.sample_rate_hz {
            for (acc, &x) in mix_minus_sum.iter_mut().zip(m) {
                *acc -= x as f64;
            }
        }
    }
    let indexed: Vec<usize> = (0..stems.len()).collect();
    let bass_path = opts.bass.as_deref().map(canonical);
    let stem_checks: Vec<StemCheck> = par::map(&indexed, |&i| {
        let s = &stems[i];
        let stats = file_stats(s);
        let role = match &bass_path {
            Some(b) if *b == canonical(&s.path) => Role::Bass,
            Some(_) if opts.roles.role_of(&s.path) == Role::Bass => Role::Other,
            _ => opts.roles.role_of(&s.path),
        };
        let offset = (s.sample_rate_hz == mix.sample_rate_hz)
            .then(|| {
                let max_lag = (MAX_OFFSET_S * s.sample_rate_hz as f64).round() as usize;
                let own = &stem_monos[i];
                let target: Vec<f32> = mix_minus_sum
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| (r + own.get(k).copied().unwrap_or(0.0) as f64) as f32)
                    .collect();
                find_offset(own, &target, max_lag)
            })
            .flatten();
        let low_side = (role == Role::Bass).then(|| analysis::low_side_to_mid_db(s));
        bar.inc(1);
        StemCheck {
            stats,
            role,
            offset_samples: offset.map(|o| o.samples),
            offset_correlation: offset.map(|o| o.correlation),
            low_side_to_mid_db: low_side,
            start_time_s: None,
        }
    });
    bar.finish_and_clear();
    let mut stem_checks = stem_checks;
    let mix_start = start_time(&opts.mix)?.map(|t| (t, mix.sample_rate_hz));
    let mut stem_starts = Vec::with_capacity(stems.len());
    for (s, c) in stems.iter().zip(stem_checks.iter_mut()) {
        let start = start_time(&s.path)?.map(|t| (t, s.sample_rate_hz));
        c.start_time_s = start.map(|(t, rate)| t.seconds(rate));
        stem_starts.push(start);
    }

    let mut findings = Vec::new();
    per_file_findings(&mix, &mix_stats, true, &mut findings);
    for (s, c) in stems.iter().zip(&stem_checks) {
        per_file_findings(s, &c.stats, false, &mut findings);
        stem_findings(s, c, &mix, &mut findings);
    }
    start_time_findings(&stems, &stem_starts, mix_start, &mut findings);
    if !stem_checks.iter().any(|c| c.role == Role::Bass) {
        findings.push(Finding {
            severity: Severity::Pass,
            check: "bass_mono",
            file: None,
            message: "no bass stem found (name it *bass*/*808*/*sub* or pass --bass FILE), so \
                      its low-frequency side energy was not checked"
                .to_string(),
        });
    }

    let rates_match = stems.iter().all(|s| s.sample_rate_hz == mix.sample_rate_hz);
    let null_test = if rates_match {
        let nt = null_test(&stems, &mix);
        findings.push(Finding {
            severity: if nt.passed {
                Severity::Pass
            } else {
                Severity::Fail
            },
            check: "null_test",
            file: None,
            message: if nt.passed {
                format!(
                    "stems sum to the mix: residual peak {} (threshold {:.1} dBFS)",
                    fmt_db(nt.residual_peak_dbfs, "dBFS"),
                    nt.threshold_dbfs
                )
            } else {
                format!(
                    "stems do not sum to the mix: residual peak {}, RMS {}, loudness {} \
                     (threshold {:.1} dBFS). Look for send/return effects outside the stems, \
                     tracks routed to two buses, master-bus processing left on, or a stem \
                     missing, shifted or at a different gain",
                    fmt_db(nt.residual_peak_dbfs, "dBFS"),
                    fmt_db(nt.residual_rms_dbfs, "dBFS"),
                    fmt_db(nt.residual_lufs, "LUFS"),
                    nt.threshold_dbfs
                )
            },
        });
        Some(nt)
    } else {
        findings.push(Finding {
            severity: Severity::Fail,
            check: "null_test",
            file: None,
            message: "not run: the files have different sample rates and cannot be summed"
                .to_string(),
        });
        None
    };
    let passed = findings.iter().all(|f| f.severity != Severity::Fail);
    Ok(CheckReport {
        passed,
        mix: mix_stats,
        mix_start_time_s: mix_start.map(|(t, rate)| t.seconds(rate)),
        stems: stem_checks,
        null_test,
        findings,
    })
}

/// The start times files declare, against the mix's (or, without one, the time most stems
/// share): a stem stamped elsewhere on the timeline fails, naming both times. Files without a
/// start time are not judged by it (the audio offset check still is).
fn start_time_findings(
    stems: &[Audio],
    stem_starts: &[Option<(StartTime, u32)>],
    mix_start: Option<(StartTime, u32)>,
    findings: &mut Vec<Finding>,
) {
    let seconds = |(t, rate): (StartTime, u32)| t.seconds(rate);
    let stamped: Vec<f64> = stem_starts.iter().flatten().map(|&x| seconds(x)).collect();
    let (reference_s, against) = match mix_start {
        Some(m) => (seconds(m), "the mix"),
        None => match stamped
            .iter()
            .max_by_key(|a| stamped.iter().filter(|b| (*a - *b).abs() < 1e-6).count())
        {
            Some(&most) => (most, "most stems"),
            None => return,
        },
    };
    let stamped_files = stamped.len() + usize::from(mix_start.is_some());
    if stamped_files < 2 {
        return;
    }
    let mut all_agree = true;
    for (s, start) in stems.iter().zip(stem_starts) {
        let Some((t, rate)) = *start else { continue };
        let diff_s = t.seconds(rate) - reference_s;
        // Within half a sample is the same start.
        if diff_s.abs() * rate as f64 >= 0.5 {
            all_agree = false;
            push(
                findings,
                Severity::Fail,
                "start_time",
                s,
                format!(
                    "starts at {} on the session timeline ({} time reference), {against} at {}: \
                     {diff_s:+.3} s apart. Export every stem from the same start point as the mix",
                    clock(t.seconds(rate)),
                    t.source.name(),
                    clock(reference_s),
                ),
            );
        }
    }
    if all_agree {
        findings.push(Finding {
            severity: Severity::Pass,
            check: "start_time",
            file: None,
            message: format!(
                "every file with a BWF/iXML time reference ({} of {}) starts at {}",
                stamped_files,
                stems.len() + 1,
                clock(reference_s)
            ),
        });
    }
}

fn push(
    findings: &mut Vec<Finding>,
    severity: Severity,
    check: &'static str,
    a: &Audio,
    message: String,
) {
    findings.push(Finding {
        severity,
        check,
        file: Some(a.name()),
        message,
    });
}

fn per_file_findings(a: &Audio, s: &FileStats, is_mix: bool, f: &mut Vec<Finding>) {
    if !a.float && a.bits_per_sample <= 16 {
        push(
            f,
            Severity::Warn,
            "bit_depth",
            a,
            format!(
            "{}: the guide calls 16-bit stems a significant error; export 24-bit or 32-bit float",
            a.format_label()
        ),
        );
    }
    if s.non_finite_samples > 0 {
        push(
            f,
            Severity::Fail,
            "non_finite",
            a,
            format!(
                "{} NaN or infinite samples (treated as silence here)",
                s.non_finite_samples
            ),
        );
    }
    if s.clip_runs > 0 {
        push(
            f,
            if is_mix {
                Severity::Warn
            } else {
                Severity::Fail
            },
            "clipping",
            a,
            format!(
            "{} clipping runs ({} or more samples at full scale; longest {} samples): re-export \
             at a lower level",
            s.clip_runs,
            analysis::CLIP_RUN_SAMPLES,
            s.longest_clip_run
        ),
        );
    }
    if s.dc_offset_dbfs > analysis::DC_WARN_DBFS {
        push(
            f,
            Severity::Warn,
            "dc_offset",
            a,
            format!(
                "DC offset {:.1} dBFS (above {:.0} dBFS): high-pass or remove DC before mastering",
                s.dc_offset_dbfs,
                analysis::DC_WARN_DBFS
            ),
        );
    }
    if let Some(r) = s
        .stereo_correlation
        .filter(|&r| r < analysis::CORRELATION_WARN)
    {
        push(
            f,
            Severity::Warn,
            "stereo_correlation",
            a,
            format!(
                "left/right correlation {r:.2} (below {:.1}): mostly out of phase; check for an \
                 inverted channel or an over-wide effect",
                analysis::CORRELATION_WARN
            ),
        );
    }
    if let Some(lu) = s
        .mono_fold_change_lu
        .filter(|&lu| lu < analysis::MONO_FOLD_WARN_LU)
    {
        push(
            f,
            Severity::Warn,
            "mono_fold",
            a,
            format!(
                "folded to mono it is {:.1} LU quieter (more than {:.1} LU): it will thin out or \
                 vanish on mono playback",
                -lu,
                -analysis::MONO_FOLD_WARN_LU
            ),
        );
    }
}

/// A stem whose best match with the mix is below minus this is reported as polarity-inverted
/// (a correct stem matches near +1; one inverted, near -1).
pub const POLARITY_CORRELATION: f64 = 0.5;

fn stem_findings(s: &Audio, c: &StemCheck, mix: &Audio, f: &mut Vec<Finding>) {
    if s.sample_rate_hz != mix.sample_rate_hz {
        push(
            f,
            Severity::Fail,
            "sample_rate",
            s,
            format!(
                "sample rate {} Hz but the mix is {} Hz: export every stem at the session rate",
                s.sample_rate_hz, mix.sample_rate_hz
            ),
        );
    }
    if s.frames() != mix.frames() {
        push(
            f,
            Severity::Fail,
            "length",
            s,
            format!(
            "{} frames ({:.3} s) but the mix has {} ({:.3} s): export every stem with the same \
             start and end",
            s.frames(),
            s.duration_s(),
            mix.frames(),
            mix.duration_s()
        ),
        );
    }
    if s.num_channels() > mix.num_channels() {
        push(
            f,
            Severity::Fail,
            "channels",
            s,
            "stereo stem but mono mix: they cannot sum to it".to_string(),
        );
    }
    if let Some(corr) = c.offset_correlation.filter(|&r| r < -POLARITY_CORRELATION) {
        push(
            f,
            Severity::Fail,
            "polarity",
            s,
            format!(
                "polarity inverted against the mix (match {corr:.2}): flip the stem's polarity \
                 or re-export it"
            ),
        );
    }
    match (c.offset_samples, c.offset_correlation) {
        (Some(0), _) => {}
        (Some(off), Some(corr)) => push(f, Severity::Fail, "offset", s, format!(
            "starts {} sample{} {} than the mix (match {:.2} at that offset): re-export from the same \
             start point",
            off.abs(),
            if off.abs() == 1 { "" } else { "s" },
            if off > 0 { "later" } else { "earlier" },
            corr
        )),
        (None, _) if s.sample_rate_hz == mix.sample_rate_hz => {
            push(f, Severity::Warn, "offset", s, "silent stem: no offset measurable".to_string())
        }
        _ => {}
    }
    // Judged at the 0.1 dB the report shows, so a stem at -12.00 dBFS is not told to move 0.0 dB.
    let peak = (c.stats.sample_peak_dbfs * 10.0).round() / 10.0;
    if peak == f64::NEG_INFINITY {
        push(
            f,
            Severity::Warn,
            "gain_staging",
            s,
            "silent stem".to_string(),
        );
    } else if peak > STEM_PEAK_MAX_DBFS {
        push(
            f,
            Severity::Warn,
            "gain_staging",
            s,
            format!(
                "peaks at {peak:.1} dBFS: trim by {:.1} dB so peaks sit between -12 and -6 dBFS \
             before processing",
                peak - STEM_PEAK_MAX_DBFS
            ),
        );
    } else if peak < STEM_PEAK_MIN_DBFS {
        push(
            f,
            Severity::Warn,
            "gain_staging",
            s,
            format!(
                "peaks at {peak:.1} dBFS: raise by {:.1} dB so peaks sit between -12 and -6 dBFS \
             before processing",
                STEM_PEAK_MIN_DBFS - peak
            ),
        );
    }
    if let Some(side) = c.low_side_to_mid_db {
        if side > analysis::BASS_SIDE_WARN_DB {
            push(
                f,
                Severity::Warn,
                "bass_mono",
                s,
                format!(
                    "bass stem has side energy below 100 Hz at {side:.1} dB relative to its mid \
                 (above {:.0} dB): make the bass mono below 100 Hz",
                    analysis::BASS_SIDE_WARN_DB
                ),
            );
        } else {
            push(
                f,
                Severity::Pass,
                "bass_mono",
                s,
                format!(
                    "bass stem is mono below 100 Hz (side {} relative to mid)",
                    fmt_db(side, "dB")
                ),
            );
        }
    }
}

/// Mix minus the sum of the stems, over the longest file (missing samples count as silence).
/// Sums in `f64`, so the residual holds the files' own rounding only.
pub fn null_test(stems: &[Audio], mix: &Audio) -> NullTest {
    let frames = stems
        .iter()
        .map(Audio::frames)
        .chain([mix.frames()])
        .max()
        .unwrap_or(0);
    let (ml, mr) = mix.stereo();
    let mut res_l = vec![0.0f64; frames];
    let mut res_r = vec![0.0f64; frames];
    for (i, (&l, &r)) in ml.iter().zip(mr).enumerate() {
        res_l[i] = l as f64;
        res_r[i] = r as f64;
    }
    for s in stems {
        let (l, r) = s.stereo();
        for (i, (&a, &b)) in l.iter().zip(r).enumerate() {
            res_l[i] -= a as f64;
            res_r[i] -= b as f64;
        }
    }
    let mut peak = 0.0f64;
    let mut sq = 0.0f64;
    for (&a, &b) in res_l.iter().zip(&res_r) {
        peak = peak.max(a.abs()).max(b.abs());
        sq += a * a + b * b;
    }
    let rms = if frames > 0 {
        (sq / (2 * frames) as f64).sqrt()
    } else {
        0.0
    };
    let l32: Vec<f32> = res_l.iter().map(|&x| x as f32).collect();
    let r32: Vec<f32> = res_r.iter().map(|&x| x as f32).collect();
    let mut meter = LoudnessMeter::new(2, mix.sample_rate_hz as f64);
    meter.process_block(&[&l32, &r32]);

    let mix_peak = ml.iter().chain(mr).fold(0.0f32, |m, &x| m.max(x.abs())) as f64;
    let floor = stems.iter().map(Audio::quantisation_step).sum::<f64>()
        + mix.quantisation_step()
        + stems.len() as f64 * F32_ROUNDING * mix_peak.max(1e-9);
    let floor_db = amp_db(floor);
    let threshold = NULL_THRESHOLD_DBFS.max(floor_db + NULL_FLOOR_MARGIN_DB);
    let peak_db = amp_db(peak);
    NullTest {
        residual_peak_dbfs: peak_db,
        residual_rms_dbfs: amp_db(rms),
        residual_lufs: meter.integrated_lufs(),
        rounding_floor_dbfs: floor_db,
        threshold_dbfs: threshold,
        passed: peak_db <= threshold,
        explanation: format!(
            "Pass when the residual peak is at or below {threshold:.1} dBFS: {NULL_THRESHOLD_DBFS:.0} \
             dBFS, or {NULL_FLOOR_MARGIN_DB:.0} dB above the rounding floor if the word length \
             cannot reach that. The rounding floor ({floor_db:.1} dBFS) is the largest residual a \
             perfect stem set can leave: one LSB per integer file (its rounding or dither) plus \
             the DAW's float rounding when it summed the stems (2^-24 of the mix peak per stem). \
             A residual of exactly 0 (-inf) means the files sum bit for bit."
        ),
    }
}

fn cell(v: f64) -> String {
    if v == f64::NEG_INFINITY {
        "-inf".to_string()
    } else {
        format!("{v:.1}")
    }
}

fn short(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let tail: String = name
            .chars()
            .rev()
            .take(width - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("~{tail}")
    }
}

/// The human-readable report: a table of the files, the findings, the null test, the verdict.
pub fn format_human(r: &CheckReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<7} {:<14} {:>6} {:>2} {:>9} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6}",
        "file",
        "role",
        "format",
        "kHz",
        "ch",
        "length s",
        "peak",
        "TP",
        "clips",
        "DC",
        "LUFS",
        "offset"
    );
    let _ = writeln!(
        out,
        "{:<24} {:<7} {:<14} {:>6} {:>2} {:>9} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6}",
        "", "", "", "", "", "", "dBFS", "dBTP", "", "dBFS", "", "smp"
    );
    let row = |out: &mut String, s: &FileStats, role: &str, offset: String| {
        let _ = writeln!(
            out,
            "{:<24} {:<7} {:<14} {:>6} {:>2} {:>9.3} {:>7} {:>7} {:>5} {:>7} {:>6} {:>6}",
            short(&s.file, 24),
            role,
            s.format,
            format!("{:.1}", s.sample_rate_hz as f64 / 1000.0),
            s.channels,
            s.duration_s,
            cell(s.sample_peak_dbfs),
            cell(s.true_peak_dbtp),
            s.clip_runs,
            cell(s.dc_offset_dbfs),
            cell(s.integrated_lufs),
            offset
        );
    };
    for s in &r.stems {
        let offset = match s.offset_samples {
            Some(0) => "0".to_string(),
            Some(o) => format!("{o:+}"),
            None => "-".to_string(),
        };
        row(&mut out, &s.stats, s.role.name(), offset);
    }
    row(&mut out, &r.mix, "MIX", String::new());
    let _ = writeln!(out);
    for f in &r.findings {
        let tag = match f.severity {
            Severity::Pass => "ok  ",
            Severity::Warn => "WARN",
            Severity::Fail => "FAIL",
        };
        match &f.file {
            Some(file) => {
                let _ = writeln!(out, "{tag} {:<13} {file}: {}", f.check, f.message);
            }
            None => {
                let _ = writeln!(out, "{tag} {:<13} {}", f.check, f.message);
            }
        }
    }
    if let Some(nt) = &r.null_test {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Null test (mix minus sum of stems): residual peak {}, RMS {}, loudness {}; \
             rounding floor {}, threshold {}",
            fmt_db(nt.residual_peak_dbfs, "dBFS"),
            fmt_db(nt.residual_rms_dbfs, "dBFS"),
            fmt_db(nt.residual_lufs, "LUFS"),
            fmt_db(nt.rounding_floor_dbfs, "dBFS"),
            fmt_db(nt.threshold_dbfs, "dBFS"),
        );
        let _ = writeln!(out, "{}", nt.explanation);
    }
    let fails = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fail)
        .count();
    let warns = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warn)
        .count();
    let _ = writeln!(out);
    if r.passed {
        let _ = writeln!(
            out,
            "RESULT: PASS ({} stems, {warns} warnings)",
            r.stems.len()
        );
    } else {
        let _ = writeln!(out, "RESULT: FAIL ({fails} problems, {warns} warnings)");
    }
    out
}
