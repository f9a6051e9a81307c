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

mod null;
mod passes;
mod table;

use std::path::PathBuf;

use serde::Serialize;

use crate::align::{correlate, match_at, Offset, MAX_OFFSET_S};
use crate::analysis::{self, fmt_db, FileStats};
use crate::audio::quantisation_step;
use crate::decode::{AudioReader, AudioSpec};
use crate::error::{Error, Result};
use crate::files::{canonical, distinct_stems};
use crate::par;
use crate::progress::Progress;
use crate::role::{Role, RoleOverrides};
use crate::start_time::{clock, start_time, StartTime};

use null::rounding_floor;
pub use null::NullTest;
use passes::{aligned_pass, channel_plan, measure, Excerpt, FileMeasure};
pub use table::format_human;

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
    /// The same search per channel (stems of two or more channels; `null` for a silent
    /// channel), which finds one channel shifted or inverted within an otherwise aligned stem.
    pub channel_offsets: Vec<Option<ChannelOffset>>,
    /// Side energy below 100 Hz relative to mid energy below 100 Hz, dB (bass stem only).
    pub low_side_to_mid_db: Option<f64>,
    /// Start on the session timeline (BWF `bext` or iXML time reference), seconds since
    /// midnight; `null` when the file declares none.
    pub start_time_s: Option<f64>,
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

/// Runs every check. `Err` only for unusable input (unreadable, not audio, bad arguments,
/// channel layouts that cannot be summed); a set that reads but fails its checks is an `Ok`
/// report with `passed == false`.
///
/// Memory does not grow with the programme's length: every file is measured as it is decoded
/// (in parallel), then all are read side by side once for the null test and the offset
/// search's excerpts ([`passes`]).
pub fn run_check(opts: &CheckOptions) -> Result<CheckReport> {
    check_arguments(opts)?;
    let progress = Progress::new(opts.show_progress);
    let mut paths = opts.stems.clone();
    paths.push(opts.mix.clone());
    // Every header first, so an unreadable file or a layout mismatch is said before any work.
    let specs: Vec<AudioSpec> = paths
        .iter()
        .map(|p| Ok(AudioReader::open_for_measurement(p)?.spec().clone()))
        .collect::<Result<_>>()?;
    let plan = channel_plan(&specs.iter().collect::<Vec<_>>())?;
    let (stem_specs, mix_spec) = specs.split_at(specs.len() - 1);
    let mix_spec = &mix_spec[0];

    let bass_path = opts.bass.as_deref().map(canonical);
    let roles: Vec<Role> = stem_specs
        .iter()
        .map(|s| match &bass_path {
            Some(b) if *b == canonical(&s.path) => Role::Bass,
            Some(_) if opts.roles.role_of(&s.path) == Role::Bass => Role::Other,
            _ => opts.roles.role_of(&s.path),
        })
        .collect();
    let indexed: Vec<usize> = (0..specs.len()).collect();
    let bar = progress.bar(specs.len() as u64, "measuring");
    let measured = par::map(&indexed, |&i| {
        let m = measure(&specs[i], roles.get(i) == Some(&Role::Bass));
        bar.inc(1);
        m
    });
    bar.finish_and_clear();
    let mut measured: Vec<FileMeasure> = measured.into_iter().collect::<Result<_>>()?;
    let mix = measured.pop().expect("the mix was measured");

    // Each stem is located in what the mix leaves when every other stem is taken out of it:
    // `mix - sum + stem`. With a correct set that is the stem itself (its autocorrelation peaks
    // exactly at 0); with this stem shifted it is the unshifted stem, so the peak sits at the
    // shift; other stems' errors only add uncorrelated rest. Correlating with the whole mix
    // instead lets correlated stems (kick and bass share the same low notes) pull the peak.
    // Only stems at the mix's rate are summed; each is correlated over its loudest window
    // (see `align` for why that window suffices).
    let same_rate: Vec<usize> = (0..stem_specs.len())
        .filter(|&i| stem_specs[i].sample_rate_hz == mix_spec.sample_rate_hz)
        .collect();
    let max_lag = (MAX_OFFSET_S * mix_spec.sample_rate_hz as f64).round() as usize;
    let mut excerpts: Vec<Option<Excerpt>> = same_rate
        .iter()
        .map(|&i| {
            measured[i]
                .energies
                .loudest()
                .map(|w| Excerpt::new(w, max_lag, stem_specs[i].channels))
        })
        .collect();
    let summed: Vec<&AudioSpec> = same_rate.iter().map(|&i| &stem_specs[i]).collect();
    let sums = aligned_pass(mix_spec, &summed, &plan, &mut excerpts, &progress)?;
    let offsets = par::map(&excerpts, |e| e.as_ref().map(|e| offsets_of(e, max_lag)));
    let mut offset_of: Vec<Option<StemOffsets>> = vec![None; stem_specs.len()];
    for (&i, o) in same_rate.iter().zip(offsets) {
        offset_of[i] = o;
    }
    drop(excerpts);

    let mix_start = start_time(&opts.mix)?.map(|t| (t, mix_spec.sample_rate_hz));
    let mut stem_checks = Vec::with_capacity(stem_specs.len());
    let mut stem_starts = Vec::with_capacity(stem_specs.len());
    for (((s, m), role), off) in stem_specs.iter().zip(measured).zip(roles).zip(offset_of) {
        let start = start_time(&s.path)?.map(|t| (t, s.sample_rate_hz));
        stem_starts.push(start);
        let (whole, channels) = off.unwrap_or_default();
        stem_checks.push(StemCheck {
            stats: m.stats,
            role,
            offset_samples: whole.map(|o| o.samples),
            offset_correlation: whole.map(|o| o.correlation),
            channel_offsets: channels,
            low_side_to_mid_db: m.low_side_to_mid_db,
            start_time_s: start.map(|(t, rate)| t.seconds(rate)),
        });
    }

    let mut findings = Vec::new();
    per_file_findings(mix_spec, &mix.stats, true, &mut findings);
    for (s, c) in stem_specs.iter().zip(&stem_checks) {
        per_file_findings(s, &c.stats, false, &mut findings);
        stem_findings(c, &mix.stats, &mut findings);
    }
    let names: Vec<String> = stem_checks.iter().map(|c| c.stats.file.clone()).collect();
    start_time_findings(&names, &stem_starts, mix_start, &mut findings);
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

    let rates_match = same_rate.len() == stem_specs.len();
    let null_test = if rates_match {
        // The mix's linear sample peak, back from the figure (exact to far below the floor).
        let mix_peak = 10f64.powf(mix.stats.sample_peak_dbfs / 20.0);
        let steps = specs
            .iter()
            .map(|s| quantisation_step(s.float, s.bits_per_sample));
        let nt = sums.finish(rounding_floor(steps, stem_specs.len(), mix_peak));
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
        mix: mix.stats,
        mix_start_time_s: mix_start.map(|(t, rate)| t.seconds(rate)),
        stems: stem_checks,
        null_test,
        findings,
    })
}

/// One channel's match with the same channel of the mix (minus the other stems).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ChannelOffset {
    /// Where it matches best.
    pub best: Offset,
    /// How it matches at the offset of the stem as a whole.
    pub at_stem_offset: Offset,
}

/// A stem's offset as a whole (on its downmix) and per channel (stems of two or more channels).
type StemOffsets = (Option<Offset>, Vec<Option<ChannelOffset>>);

fn offsets_of(e: &Excerpt, max_lag: usize) -> StemOffsets {
    let whole = correlate(&e.x, &e.y, max_lag);
    let lag = whole.map_or(0, |o| o.samples);
    let channels = e
        .x_channels
        .iter()
        .zip(&e.y_channels)
        .map(|(x, y)| {
            Some(ChannelOffset {
                best: correlate(x, y, max_lag)?,
                at_stem_offset: match_at(x, y, max_lag, lag)?,
            })
        })
        .collect();
    (whole, channels)
}

/// The start times files declare, against the mix's (or, without one, the time most stems
/// share): a stem stamped elsewhere on the timeline fails, naming both times. Files without a
/// start time are not judged by it (the audio offset check still is).
fn start_time_findings(
    stems: &[String],
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
                s.clone(),
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
    file: String,
    message: String,
) {
    findings.push(Finding {
        severity,
        check,
        file: Some(file),
        message,
    });
}

fn per_file_findings(spec: &AudioSpec, s: &FileStats, is_mix: bool, f: &mut Vec<Finding>) {
    let a = || s.file.clone();
    if !spec.float && spec.bits_per_sample <= 16 {
        push(
            f,
            Severity::Warn,
            "bit_depth",
            a(),
            format!(
                "{}: the guide calls 16-bit stems a significant error; export 24-bit or 32-bit \
                 float",
                s.format
            ),
        );
    }
    if s.non_finite_samples > 0 {
        push(
            f,
            Severity::Fail,
            "non_finite",
            a(),
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
            a(),
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
            a(),
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
            a(),
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
            a(),
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

/// A channel's best match must reach this coefficient ([`Offset::coefficient`]) to be blamed
/// on its own: a channel that is the stem's matches near 1 (0.7 with as much of other stems'
/// errors beside it), while a quiet channel buried in another stem's error matches near 0
/// wherever its correlation happens to peak.
pub const CHANNEL_MATCH_COEFFICIENT: f64 = 0.5;
/// ... and be at least this much better than its match at the stem's own offset. A periodic
/// signal (a held tone) matches almost equally one period away, so a best lag that differs from
/// the stem's by whole periods is no evidence; a shifted channel of anything broadband matches
/// at its shift far better than beside it.
pub const CHANNEL_MATCH_MARGIN: f64 = 0.05;

fn stem_findings(c: &StemCheck, mix: &FileStats, f: &mut Vec<Finding>) {
    let s = &c.stats;
    let name = || s.file.clone();
    if s.sample_rate_hz != mix.sample_rate_hz {
        push(
            f,
            Severity::Fail,
            "sample_rate",
            name(),
            format!(
                "sample rate {} Hz but the mix is {} Hz: export every stem at the session rate",
                s.sample_rate_hz, mix.sample_rate_hz
            ),
        );
    }
    if s.frames != mix.frames {
        push(
            f,
            Severity::Fail,
            "length",
            name(),
            format!(
                "{} frames ({:.3} s) but the mix has {} ({:.3} s): export every stem with the \
                 same start and end",
                s.frames, s.duration_s, mix.frames, mix.duration_s
            ),
        );
    }
    if s.channels > mix.channels {
        push(
            f,
            Severity::Fail,
            "channels",
            name(),
            "stereo stem but mono mix: they cannot sum to it".to_string(),
        );
    }
    let inverted = c
        .offset_correlation
        .is_some_and(|r| r < -POLARITY_CORRELATION);
    if let Some(corr) = c.offset_correlation.filter(|_| inverted) {
        push(
            f,
            Severity::Fail,
            "polarity",
            name(),
            format!(
                "polarity inverted against the mix (match {corr:.2}): flip the stem's polarity \
                 or re-export it"
            ),
        );
    }
    match (c.offset_samples, c.offset_correlation) {
        (Some(0), _) => {}
        (Some(off), Some(corr)) => push(
            f,
            Severity::Fail,
            "offset",
            name(),
            format!(
                "starts {} than the mix (match {corr:.2} at that offset): re-export from the \
                 same start point",
                samples_apart(off)
            ),
        ),
        (None, _) if s.sample_rate_hz == mix.sample_rate_hz => push(
            f,
            Severity::Warn,
            "offset",
            name(),
            "silent stem: no offset measurable".to_string(),
        ),
        _ => {}
    }
    channel_findings(c, inverted, f);
    // Judged at the 0.1 dB the report shows, so a stem at -12.00 dBFS is not told to move 0.0 dB.
    let peak = (c.stats.sample_peak_dbfs * 10.0).round() / 10.0;
    if peak == f64::NEG_INFINITY {
        push(
            f,
            Severity::Warn,
            "gain_staging",
            name(),
            "silent stem".to_string(),
        );
    } else if peak > STEM_PEAK_MAX_DBFS {
        push(
            f,
            Severity::Warn,
            "gain_staging",
            name(),
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
            name(),
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
                name(),
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
                name(),
                format!(
                    "bass stem is mono below 100 Hz (side {} relative to mid)",
                    fmt_db(side, "dB")
                ),
            );
        }
    }
}

/// "1 sample later", "12 samples earlier".
fn samples_apart(off: i64) -> String {
    format!(
        "{} sample{} {}",
        off.abs(),
        if off.abs() == 1 { "" } else { "s" },
        if off > 0 { "later" } else { "earlier" }
    )
}

/// A channel shifted or inverted within a stem whose other channels are right (a DAW routing
/// slip or a wrongly wired surround export): the stem's downmix hides it, the channel's own
/// search against the same channel of the mix shows it.
fn channel_findings(c: &StemCheck, stem_inverted: bool, f: &mut Vec<Finding>) {
    let whole = c.offset_samples.unwrap_or(0);
    let n = c.channel_offsets.len();
    for (k, m) in c.channel_offsets.iter().enumerate() {
        let Some(ChannelOffset {
            best,
            at_stem_offset: at,
        }) = *m
        else {
            continue;
        };
        if best.samples != whole
            && best.coefficient.abs() >= CHANNEL_MATCH_COEFFICIENT
            && best.coefficient.abs() - at.coefficient.abs() >= CHANNEL_MATCH_MARGIN
        {
            push(
                f,
                Severity::Fail,
                "channel_offset",
                c.stats.file.clone(),
                format!(
                    "channel {} of {n} starts {} than the mix's (match {:.2}, {:.2} where the \
                     stem as a whole {}): re-export the stem with its channels together",
                    k + 1,
                    samples_apart(best.samples),
                    best.coefficient,
                    at.coefficient,
                    if whole == 0 {
                        "lines up".to_string()
                    } else {
                        format!("starts {}", samples_apart(whole))
                    }
                ),
            );
        }
        if at.correlation < -POLARITY_CORRELATION
            && at.coefficient <= -CHANNEL_MATCH_COEFFICIENT
            && !stem_inverted
        {
            push(
                f,
                Severity::Fail,
                "polarity",
                c.stats.file.clone(),
                format!(
                    "channel {} of {n} is polarity-inverted against the mix's (match {:.2}) while \
                     the stem as a whole is not: flip that channel or re-export the stem",
                    k + 1,
                    at.correlation
                ),
            );
        }
    }
}
