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
use crate::deliver::{deliver, Outputs, RenderSummary, WrittenMaster};
use crate::error::{Error, Result};
use crate::files::{display_name, distinct_stems};
use crate::mastering::render_masters;
use crate::par;
use crate::plan::{plan, Delivery};
use crate::preset::Preset;
use crate::progress::{Progress, Timing};
use crate::role::{Role, RoleOverrides};
use crate::stem_dc::{apply_dc_filters, dc_offset_dbfs};
use crate::stream::StemSource;

/// One delivery's written masters and every file written for it.
type Delivered = (Vec<WrittenMaster>, Vec<PathBuf>);

/// What `stem render` was asked to do.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub stems: Vec<PathBuf>,
    pub preset: Option<PathBuf>,
    pub deliveries: Vec<String>,
    pub out: PathBuf,
    /// Word lengths to write: 24 and/or 16.
    pub bits: Vec<u16>,
    /// Encodings made from every master ([`crate::codec`]).
    pub formats: Vec<crate::codec::Format>,
    /// Lower a delivery's limiter ceiling until its decoded encodings hold its ceiling
    /// (`--codec-safe-ceiling`, [`codec_safe_rounds`]).
    pub codec_safe_ceiling: bool,
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
        formats: &opts.formats,
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
    let render = |deliveries: &[Delivery]| {
        render_masters(
            &sources,
            frames,
            sr,
            deliveries,
            &opts.out,
            &progress,
            opts.stem_peak_plan,
            |d, master| deliver(master, d, &outputs),
        )
    };
    let mut delivered = render(&deliveries)?;
    timing.mark("render and write masters and reports");
    if opts.codec_safe_ceiling {
        codec_safe_rounds(&mut deliveries, &mut delivered, render)?;
        timing.mark("codec-safe ceilings");
    }
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

/// Rounds of `--codec-safe-ceiling` at most: a codec's rise depends little on the ceiling at a
/// modest target, so one round lands and a second mops up a few hundredths of a dB.
pub const CODEC_SAFE_ROUNDS: usize = 3;

/// Margin added to the measured excess when lowering a ceiling, dB: the coder's rise moves by a
/// few hundredths of a dB from one ceiling to the next.
pub const CODEC_SAFE_MARGIN_DB: f64 = 0.05;

/// The most `--codec-safe-ceiling` lowers a limiter's ceiling below its delivery's, dB. The
/// issue's measurements put the rise of every codec at 256 kbps and up, and of 128 kbps ones at
/// streaming loudness, under it; beyond it the master is being squeezed for a coder that will
/// not be satisfied: at -8 LUFS a lower ceiling means harder limiting, which makes the coder's
/// rise larger again (Opus 64 kbps on the demo's club master: +3.3 dB at -1 dBTP, more at -4).
pub const CODEC_SAFE_MAX_LOWERING_DB: f64 = 3.0;

/// `--codec-safe-ceiling`: for every delivery one of whose encodings decodes above its ceiling,
/// lowers its limiter's ceiling by the excess measured (plus [`CODEC_SAFE_MARGIN_DB`], at most
/// [`CODEC_SAFE_MAX_LOWERING_DB`] in all) and renders that delivery again (masters, encodings
/// and reports replaced), until every encoding holds, a round stops helping (the decoded peak
/// came down by less than 0.1 dB) or [`CODEC_SAFE_ROUNDS`] have run. The delivery's own ceiling,
/// which the reports judge, stays; what still goes over is a warning in its report.
fn codec_safe_rounds(
    deliveries: &mut [Delivery],
    delivered: &mut [Delivered],
    render: impl Fn(&[Delivery]) -> Result<Vec<Delivered>>,
) -> Result<()> {
    let worst_decoded = |written: &[WrittenMaster]| {
        written
            .iter()
            .flat_map(|w| &w.report.codec_preview)
            .filter_map(|c| c.true_peak_dbtp)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut previous: Vec<f64> = vec![f64::INFINITY; deliveries.len()];
    for _ in 0..CODEC_SAFE_ROUNDS {
        let mut again = Vec::new();
        for (i, (d, (written, _))) in deliveries.iter_mut().zip(delivered.iter()).enumerate() {
            let worst = worst_decoded(written);
            let excess = worst - d.ceiling_dbtp;
            let helped = worst < previous[i] - 0.1;
            previous[i] = worst;
            let floor = d.ceiling_dbtp - CODEC_SAFE_MAX_LOWERING_DB;
            // From the master's own true peak: where the limiter idles below its ceiling,
            // lowering the ceiling by the excess alone would not move the peaks at all.
            let master_tp = written
                .iter()
                .map(|w| w.report.figures.true_peak_dbtp)
                .fold(f64::NEG_INFINITY, f64::max);
            let now = (d.master.limiter.ceiling_dbtp as f64).min(master_tp);
            if excess > 0.0 && helped && now > floor + 1e-3 {
                let lowered = (now - excess - CODEC_SAFE_MARGIN_DB).max(floor);
                d.master.limiter.ceiling_dbtp = lowered as f32;
                again.push(i);
            }
        }
        if again.is_empty() {
            break;
        }
        let redo: Vec<Delivery> = again.iter().map(|&i| deliveries[i].clone()).collect();
        for (i, result) in again.into_iter().zip(render(&redo)?) {
            delivered[i] = result;
        }
    }
    Ok(())
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
