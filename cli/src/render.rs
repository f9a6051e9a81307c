//! `stem render`: offline render of delivery masters from a stem set.
//!
//! 1. The preset ([`crate::preset`]) is read and every delivery planned ([`crate::plan`]): per
//!    delivery (streaming, club, vinyl, or a custom target from the preset) each stem's
//!    Stem Channel settings, `ChannelSettings::for_stem(role)` overlaid with the preset's
//!    `[stems.<key>]` and the delivery's `[deliveries.<name>.stems.<key>]` (keys: a file's name
//!    without extension, or its role: drums, bass, synths, vocals, fx, other), and the Stem
//!    Master settings, `MasterSettings::default()` overlaid with `[master]` and
//!    `[deliveries.<name>.master]`, the limiter's ceiling set to the delivery's (so an EQ
//!    switched on without an `eq_mode` runs in the default zero-latency mode, as in the plugin);
//! 2. the stems are rendered through the chains and each master's limiter drive is found by
//!    analysis ([`crate::mastering`], [`crate::drive`]), so every master is exactly what the
//!    plugins produce with those settings;
//! 3. every master is written as 24-bit WAV (and/or 16-bit with `shared_dsp::dither`,
//!    optionally resampled with `rubato`), atomically, never over an input, with a report per
//!    master that passes or fails it against its target, and a summary ([`crate::deliver`]).

use std::path::PathBuf;

use crate::atomic::lock_output_dir;
use crate::audio::{MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use crate::decode::{frame_count, AudioReader, AudioSpec};
use crate::deliver::{deliver, Outputs, RenderSummary};
use crate::error::{Error, Result};
use crate::files::{display_name, distinct_stems};
use crate::mastering::render_masters;
use crate::par;
use crate::plan::plan;
use crate::preset::Preset;
use crate::progress::{Progress, Timing};
use crate::role::{Role, RoleOverrides};
use crate::stem_dc::{apply_dc_filters, dc_offset_dbfs};
use crate::stream::StemSource;

/// What `stem render` was asked to do.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub stems: Vec<PathBuf>,
    pub preset: Option<PathBuf>,
    pub deliveries: Vec<String>,
    pub out: PathBuf,
    /// Word lengths to write: 24 and/or 16.
    pub bits: Vec<u16>,
    /// Resample the masters to this rate (default: the stems' rate).
    pub sample_rate_hz: Option<u32>,
    /// Roles given on the command line, over the file names' guesses.
    pub roles: RoleOverrides,
    pub show_progress: bool,
    /// A master with a warning fails the render (`--strict`).
    pub strict: bool,
    /// Try the stems' peak control where the master's peak stage works (`--stem-peak-plan`,
    /// [`crate::stem_peak_plan`]).
    pub stem_peak_plan: bool,
}

/// Reads the stems, plans, renders, writes masters and reports.
pub fn run_render(opts: &RenderOptions) -> Result<RenderSummary> {
    let mut timing = Timing::start();
    distinct_stems(&opts.stems, None)?;
    opts.roles.check_used(&opts.stems)?;
    if opts.deliveries.is_empty() {
        return Err(Error::usage(
            "no deliveries given (--deliver streaming,club,vinyl)",
        ));
    }
    for b in &opts.bits {
        if *b != 16 && *b != 24 {
            return Err(Error::usage(format!(
                "--bits {b}: only 24 and 16 are written"
            )));
        }
    }
    if let Some(sr) = opts.sample_rate_hz {
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sr) {
            return Err(Error::usage(format!(
                "--sample-rate {sr}: outside 22 050-384 000 Hz"
            )));
        }
    }
    let preset = match &opts.preset {
        Some(p) => Preset::load(p)?,
        None => Preset::default(),
    };
    let progress = Progress::new(opts.show_progress);
    // Headers only: the stems are decoded block by block as they are rendered.
    let specs: Vec<AudioSpec> = opts
        .stems
        .iter()
        .map(|p| Ok(AudioReader::open(p)?.spec().clone()))
        .collect::<Result<_>>()?;
    let sr = specs[0].sample_rate_hz;
    for s in &specs[1..] {
        if s.sample_rate_hz != sr {
            return Err(Error::file(
                &s.path,
                format!(
                    "sample rate {} Hz differs from {} ({} Hz): stems must share one rate",
                    s.sample_rate_hz,
                    display_name(&specs[0].path),
                    sr
                ),
            ));
        }
    }
    let lengths: Vec<usize> = specs
        .iter()
        .map(|s| frame_count(s).map(|f| f as usize))
        .collect::<Result<_>>()?;
    timing.mark("read stem headers");
    let frames = lengths.iter().copied().max().unwrap_or(0);
    for (s, &n) in specs.iter().zip(&lengths) {
        if n != frames {
            eprintln!(
                "stem: warning: {}: {} frames, the longest stem has {}; padded with silence",
                display_name(&s.path),
                n,
                frames
            );
        }
    }
    let roles: Vec<(PathBuf, Role)> = specs
        .iter()
        .map(|s| (s.path.clone(), opts.roles.role_of(&s.path)))
        .collect();
    let mut deliveries = plan(&preset, &roles, &opts.deliveries)?;
    let stem_labels: Vec<(String, String)> = roles
        .iter()
        .map(|(p, r)| (display_name(p), r.name().to_string()))
        .collect();
    let mut protected: Vec<PathBuf> = opts.stems.clone();
    protected.extend(opts.preset.iter().cloned());
    let outputs = Outputs {
        dir: &opts.out,
        bits: &opts.bits,
        resample_hz: opts.sample_rate_hz,
        source_hz: sr,
        protected: &protected,
        stem_labels: &stem_labels,
    };
    outputs.check(&deliveries)?;
    let _lock = lock_output_dir(&opts.out)?;
    // The stems' DC decides their DC filters (a pass over each stem's samples, in parallel).
    let dc: Vec<f64> = par::map(&opts.stems, |p| dc_offset_dbfs(p))
        .into_iter()
        .collect::<Result<_>>()?;
    let stem_dc = apply_dc_filters(&mut deliveries, &opts.stems, &dc);
    timing.mark("measure stem DC");
    let sources: Vec<StemSource> = opts.stems.iter().cloned().map(StemSource::File).collect();
    let delivered = render_masters(
        &sources,
        frames,
        sr,
        &deliveries,
        &opts.out,
        &progress,
        opts.stem_peak_plan,
        |d, master| deliver(master, d, &outputs),
    )?;
    timing.mark("render and write masters and reports");
    let mut written = Vec::new();
    let mut files = Vec::new();
    for (w, f) in delivered {
        written.extend(w);
        files.extend(f);
    }
    let passed = written.iter().all(|w| {
        w.report
            .target
            .as_ref()
            .is_some_and(|t| t.passed && !(opts.strict && !t.warnings.is_empty()))
    });
    let mut summary = RenderSummary {
        passed,
        masters: written,
        files,
        stems: stem_dc,
    };
    outputs.write_summary(&mut summary)?;
    Ok(summary)
}

/// One line per written master for the terminal.
pub fn format_human(s: &RenderSummary) -> String {
    let mut out = format!(
        "{:<26} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6}  result\n",
        "master", "target", "I LUFS", "ceiling", "TP dBTP", "LRA", "DR", "drive", "GR"
    );
    let mut warnings = String::new();
    let mut attribution = String::new();
    for w in &s.masters {
        let rows = w.report.stem_attribution.as_deref().unwrap_or_default();
        if let Some((top, share)) = crate::stem_attribution::top_limited(rows) {
            attribution += &format!(
                "{}: the limiter works most for {} ({}): {share:.0} % of its {:.2} dB mean gain \
                 reduction\n",
                display_name(&w.path),
                top.stem,
                top.role,
                w.report
                    .limiter_gain_reduction
                    .as_ref()
                    .map_or(f64::NAN, |g| g.mean_db),
            );
        }
        let t = w.report.target.as_ref();
        let f = &w.report.figures;
        for warning in t.map_or(&[][..], |t| &t.warnings[..]) {
            warnings += &format!("warning: {}: {warning}\n", display_name(&w.path));
        }
        out += &format!(
            "{:<26} {:>8.1} {:>8.2} {:>8.1} {:>8.2} {:>6.1} {:>6} {:>6.1} {:>6.1}  {}\n",
            display_name(&w.path),
            t.map_or(f64::NAN, |t| t.target_lufs),
            f.integrated_lufs,
            t.map_or(f64::NAN, |t| t.ceiling_dbtp),
            f.true_peak_dbtp,
            f.lra_lu,
            f.dr.map_or("-".to_string(), |d| format!("DR{d}")),
            w.limiter_drive_db,
            w.report
                .limiter_gain_reduction
                .as_ref()
                .map_or(f64::NAN, |g| g.mean_db),
            match t {
                Some(t) if t.passed => "pass".to_string(),
                Some(t) => {
                    let mut why = Vec::new();
                    if !t.loudness_ok {
                        why.push(format!("{:+.2} LU off", t.loudness_error_lu));
                    }
                    if !t.ceiling_ok {
                        why.push("over the ceiling".to_string());
                    }
                    if !t.dr_ok {
                        why.push(format!("DR not above {}", t.dr_above.unwrap_or(0)));
                    }
                    format!("FAIL ({})", why.join(", "))
                }
                None => String::new(),
            }
        );
    }
    out + &attribution + &crate::stem_dc::format_human(&s.stems) + &warnings
}
