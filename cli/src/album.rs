//! `stem album TRACK...`: an album from finished masters or stem sets, normalised as streaming
//! services normalise albums (Spotify and Tidal play an album with one gain, so its quiet songs
//! stay as quiet as intended): one album gain that puts the loudest track on the target while
//! every other keeps its loudness relative to it, or (`--per-track`) each track on the target.
//!
//! A TRACK is an audio file (a finished master) or a folder holding a stem set (its audio files;
//! `preset.toml` in it is used when present; a file named `mix.*` is left out): a folder is first
//! rendered with `stem render` to the album's delivery, into `OUT/renders/NN-<folder>/` (the
//! track number keeps two folders of one name apart).
//!
//! The gain goes through the Stem Master's own peak stage (its true-peak limiter at the
//! album's ceiling). Where the gain lifts a track's peaks over the ceiling, the limiter takes
//! some loudness; the drive is then solved on the measured loudness so that the track still
//! lands at its own loudness plus the gain, and the album keeps its relative levels. A track
//! whose peaks stay under passes as a plain
//! gain. Output: `OUT/NN-<name>.wav` per track (24-bit), `OUT/album.wav` (the tracks in order,
//! `--gap` seconds of silence between them), `OUT/album.json` and `OUT/album.md` with every
//! track's figures and service preview and the album's.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shared_dsp::chain::ranges::{DELIVERY_CEILING_DBTP, TARGET_LUFS};
use shared_dsp::chain::settings::{delivery_target, MasterSettings};

use crate::analysis::fmt_db;
use crate::atomic::{lock_output_dir, write_text_atomic, Temporary};
use crate::audio::{OutputFormat, WavStream};
use crate::decode::AudioReader;
use crate::error::{Error, Result};
use crate::figures::FiguresMeter;
use crate::file_report::{analyse_file, FileReport};
use crate::files::{create_dir, display_name, ensure_not_input};
use crate::loudness_plan::peak_stage;
use crate::render::{run_render, RenderOptions};
use crate::role::RoleOverrides;
use crate::service_preview;
use shared_dsp::chain::learn::solve_drive;
use shared_dsp::meter::loudness::LoudnessMeter;

/// Longest gap between tracks, s.
pub const MAX_GAP_S: f64 = 10.0;
/// The loudest track (album mode) or every track (per-track mode) passes within this of the
/// target, LU (as a master of `stem render` does).
pub const ACCEPT_TOLERANCE_LU: f64 = crate::deliver::ACCEPT_TOLERANCE_LU;

/// What `stem album` was asked to do.
#[derive(Clone, Debug)]
pub struct AlbumOptions {
    pub tracks: Vec<PathBuf>,
    pub out: PathBuf,
    /// A built-in delivery (streaming, club, vinyl) giving the target and ceiling.
    pub delivery: String,
    /// Overrides of the delivery's target and ceiling.
    pub target_lufs: Option<f64>,
    pub ceiling_dbtp: Option<f64>,
    /// Each track on the target instead of one album gain.
    pub per_track: bool,
    /// Silence between tracks in `album.wav`, s.
    pub gap_s: f64,
    pub show_progress: bool,
}

/// One track of the album.
#[derive(Clone, Debug, Serialize)]
pub struct AlbumTrack {
    /// The TRACK as given (a master file or a stem folder).
    pub source: PathBuf,
    /// The master the album took: the file itself, or the folder's render.
    pub master: PathBuf,
    pub input_lufs: f64,
    pub input_true_peak_dbtp: f64,
    /// The album's gain for it (album mode: one for all), dB.
    pub gain_db: f64,
    /// The drive into the peak stage: the gain, plus what makes up the loudness the limiter
    /// takes where the gain lifts the track over the ceiling, dB.
    pub drive_db: f64,
    /// Loudness the limiter took at that drive: input + drive - output, LU.
    pub limiter_loss_lu: f64,
    /// The written track: its file and report (figures, service preview).
    pub file: PathBuf,
    pub report: FileReport,
}

/// The outcome of `stem album`.
#[derive(Clone, Debug, Serialize)]
pub struct AlbumSummary {
    pub passed: bool,
    pub mode: &'static str,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    /// The one gain of album mode, dB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub album_gain_db: Option<f64>,
    pub gap_s: f64,
    pub tracks: Vec<AlbumTrack>,
    /// `album.wav` and its report (integrated loudness of the whole album, its service preview).
    pub album_file: PathBuf,
    pub album: FileReport,
    pub files: Vec<PathBuf>,
}

/// Audio files a stem folder holds (sorted; `mix.*` left out).
fn stem_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::file(dir, format!("cannot read: {e}")))?;
    let mut stems: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            ["wav", "wave", "rf64", "bw64", "aif", "aiff", "aifc", "flac"]
                .contains(&ext.to_ascii_lowercase().as_str())
                && !stem.eq_ignore_ascii_case("mix")
        })
        .collect();
    stems.sort();
    if stems.is_empty() {
        return Err(Error::file(
            dir,
            "holds no audio files to render as a stem set",
        ));
    }
    Ok(stems)
}

/// The master of TRACK number `index` (from 0): the file, or the render of a stem folder to
/// `delivery`.
fn master_of(index: usize, track: &Path, opts: &AlbumOptions) -> Result<PathBuf> {
    if !track.is_dir() {
        return Ok(track.to_path_buf());
    }
    let name = display_name(track);
    let preset = track.join("preset.toml");
    let summary = run_render(&RenderOptions {
        stems: stem_files(track)?,
        preset: preset.is_file().then_some(preset),
        deliveries: vec![opts.delivery.clone()],
        out: opts
            .out
            .join("renders")
            .join(format!("{:02}-{name}", index + 1)),
        bits: vec![24],
        formats: Vec::new(),
        codec_safe_ceiling: false,
        sample_rate_hz: None,
        roles: RoleOverrides::default(),
        show_progress: opts.show_progress,
        strict: false,
        stem_peak_plan: false,
    })?;
    summary
        .masters
        .first()
        .map(|m| m.path.clone())
        .ok_or_else(|| Error::file(track, "its render wrote no master"))
}

/// Streams `master` through the peak stage of `settings` at `drive_db` into `sink` (stereo
/// blocks, latency-aligned, every input frame out once).
fn through_peak_stage(
    master: &Path,
    settings: &MasterSettings,
    sample_rate_hz: u32,
    drive_db: f64,
    mut sink: impl FnMut(&mut [Vec<f32>; 2]) -> Result<()>,
) -> Result<()> {
    let mut reader = AudioReader::open(master)?;
    let mut runner = peak_stage(settings, sample_rate_hz as f64, drive_db);
    let mut block = vec![Vec::new(); reader.spec().channels];
    let mut out = [Vec::new(), Vec::new()];
    loop {
        let n = reader.read_block(&mut block, 1 << 15)?;
        if n == 0 {
            runner.finish();
        } else {
            let right = block.get(1).unwrap_or(&block[0]);
            runner.push(&block[0], right);
        }
        let ready = runner.available();
        runner.take(&mut out, ready);
        sink(&mut out)?;
        out[0].clear();
        out[1].clear();
        if n == 0 {
            return Ok(());
        }
    }
}

/// The drive that gives `master` the loudness `wanted_lufs` through the peak stage: `gain_db`
/// itself while the limiter stays idle (the peaks driven by it stay under the ceiling), else
/// solved on the measured loudness ([`solve_drive`]), so the limiter's loss is made up and the
/// track keeps its place relative to the others.
fn drive_for(
    master: &Path,
    settings: &MasterSettings,
    sample_rate_hz: u32,
    (gain_db, input_true_peak_dbtp): (f64, f64),
    wanted_lufs: f64,
) -> Result<f64> {
    if input_true_peak_dbtp + gain_db <= settings.limiter.ceiling_dbtp as f64 {
        return Ok(gain_db);
    }
    let mut failed = None;
    let solution = solve_drive(wanted_lufs, gain_db, |drive| {
        let mut meter = LoudnessMeter::new(2, sample_rate_hz as f64);
        let measured = through_peak_stage(master, settings, sample_rate_hz, drive, |out| {
            meter.process_block(&[&out[0], &out[1]]);
            Ok(())
        });
        match measured {
            Ok(()) => meter.integrated_lufs(),
            Err(e) => {
                failed.get_or_insert(e);
                f64::NAN
            }
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(solution.drive_db),
    }
}

/// `01-name.wav`: the track number, then the master's name.
fn track_file_name(index: usize, master: &Path) -> String {
    let stem = master
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{:02}-{stem}.wav", index + 1)
}

/// Runs `stem album`.
pub fn run_album(opts: &AlbumOptions) -> Result<AlbumSummary> {
    if opts.tracks.is_empty() {
        return Err(Error::usage("no tracks given"));
    }
    if !(0.0..=MAX_GAP_S).contains(&opts.gap_s) {
        return Err(Error::usage(format!(
            "--gap {}: between 0 and {MAX_GAP_S} seconds",
            opts.gap_s
        )));
    }
    let builtin = delivery_target(&opts.delivery).ok_or_else(|| {
        Error::usage(format!(
            "--deliver {}: the album takes a built-in delivery (streaming, club, vinyl), with \
             --target-lufs / --ceiling-dbtp to change its numbers",
            opts.delivery
        ))
    })?;
    let target_lufs = opts.target_lufs.unwrap_or(builtin.integrated_lufs as f64);
    let ceiling_dbtp = opts.ceiling_dbtp.unwrap_or(builtin.ceiling_dbtp as f64);
    let (t, c) = (TARGET_LUFS, DELIVERY_CEILING_DBTP);
    if !t.contains(target_lufs) || !c.contains(ceiling_dbtp) {
        return Err(Error::usage(format!(
            "target {target_lufs} LUFS / ceiling {ceiling_dbtp} dBTP out of range ({}..{} LUFS, \
             {}..{} dBTP)",
            t.min, t.max, c.min, c.max
        )));
    }
    for (i, a) in opts.tracks.iter().enumerate() {
        if !a.exists() {
            return Err(Error::file(a, "not found"));
        }
        if opts.tracks[..i].iter().any(|b| same_file(a, b)) {
            return Err(Error::file(a, "is given twice"));
        }
    }
    let _lock = lock_output_dir(&opts.out)?;

    // 1. The masters and their figures.
    let masters: Vec<PathBuf> = opts
        .tracks
        .iter()
        .enumerate()
        .map(|(i, t)| master_of(i, t, opts))
        .collect::<Result<_>>()?;
    let mut protected: Vec<PathBuf> = opts.tracks.clone();
    protected.extend(masters.iter().cloned());
    let mut measured = Vec::new();
    let mut rate = None;
    for m in &masters {
        let (report, _, _) = analyse_file(m)?;
        if report.channels > 2 {
            return Err(Error::file(m, "an album track must be mono or stereo"));
        }
        let f = &report.figures;
        if !f.integrated_lufs.is_finite() {
            return Err(Error::file(
                m,
                "is silent (no integrated loudness): nothing to normalise",
            ));
        }
        match rate {
            None => rate = Some((report.sample_rate_hz, m.clone())),
            Some((sr, ref first)) if sr != report.sample_rate_hz => {
                return Err(Error::file(
                    m,
                    format!(
                        "sample rate {} Hz differs from {} ({sr} Hz): an album has one rate",
                        report.sample_rate_hz,
                        display_name(first)
                    ),
                ))
            }
            Some(_) => {}
        }
        measured.push((f.integrated_lufs, f.true_peak_dbtp, report.duration_s));
    }
    let sr = rate.map_or(48_000, |r| r.0);

    // 2. The gains.
    let loudest = measured
        .iter()
        .map(|m| m.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let album_gain_db = (!opts.per_track).then_some(target_lufs - loudest);
    let gains: Vec<f64> = measured
        .iter()
        .map(|m| album_gain_db.unwrap_or(target_lufs - m.0))
        .collect();

    // 3. Every track through the peak stage at its gain, into its file and the album.
    create_dir(&opts.out)?;
    let album_path = opts.out.join("album.wav");
    ensure_not_input(&album_path, &protected)?;
    let gap_frames = (opts.gap_s * sr as f64).round() as usize;
    let total_frames: usize = measured
        .iter()
        .map(|m| (m.2 * sr as f64).round() as usize)
        .sum::<usize>()
        + gap_frames * (masters.len() - 1);
    let album_tmp = Temporary::beside(&album_path, ".tmp")?;
    let mut album_wav = WavStream::create(album_tmp.path(), sr, 2, OutputFormat::Pcm24)?;
    let mut album_meter = FiguresMeter::new(2, sr, total_frames);
    let mut settings = MasterSettings::default();
    settings.limiter.ceiling_dbtp = ceiling_dbtp as f32;
    settings.clipper_enabled = false;
    settings.output_gain_db = 0.0;
    let mut tracks = Vec::new();
    let mut files = Vec::new();
    for (i, ((source, master), (&gain_db, &(input_lufs, input_tp, _)))) in opts
        .tracks
        .iter()
        .zip(&masters)
        .zip(gains.iter().zip(&measured))
        .enumerate()
    {
        if i > 0 && gap_frames > 0 {
            let silence = vec![0.0f32; gap_frames];
            album_wav.write(&[&silence, &silence])?;
            album_meter.process(&[&silence, &silence]);
        }
        let path = opts.out.join(track_file_name(i, master));
        ensure_not_input(&path, &protected)?;
        let tmp = Temporary::beside(&path, ".tmp")?;
        let mut wav = WavStream::create(tmp.path(), sr, 2, OutputFormat::Pcm24)?;
        let planned = (measured[i].2 * sr as f64).round() as usize;
        let mut meter = FiguresMeter::new(2, sr, planned);
        let wanted_lufs = input_lufs + gain_db;
        let drive_db = drive_for(master, &settings, sr, (gain_db, input_tp), wanted_lufs)?;
        let mut frames = 0u64;
        through_peak_stage(master, &settings, sr, drive_db, |out| {
            // The 24-bit grid first, so the reports measure exactly what is written.
            for x in out.iter_mut().flatten() {
                *x = crate::audio::to_code(*x, 24) as f32 / (1 << 23) as f32;
            }
            let ch = [out[0].as_slice(), out[1].as_slice()];
            wav.write(&ch)?;
            album_wav.write(&ch)?;
            meter.process(&ch);
            album_meter.process(&ch);
            frames += out[0].len() as u64;
            Ok(())
        })?;
        wav.finalize()?;
        tmp.persist(&path, "cannot move the finished track into place")?;
        let (figures, _, _) = meter.finish();
        let report =
            FileReport::measured(display_name(&path), sr, (2, "stereo"), frames, 0, figures);
        files.push(path.clone());
        tracks.push(AlbumTrack {
            source: source.clone(),
            master: master.clone(),
            input_lufs,
            input_true_peak_dbtp: input_tp,
            gain_db,
            drive_db,
            limiter_loss_lu: input_lufs + drive_db - report.figures.integrated_lufs,
            file: path,
            report,
        });
    }
    album_wav.finalize()?;
    album_tmp.persist(&album_path, "cannot move the finished album into place")?;
    let (album_figures, _, _) = album_meter.finish();
    let album = FileReport::measured(
        display_name(&album_path),
        sr,
        (2, "stereo"),
        total_frames as u64,
        0,
        album_figures,
    );
    files.push(album_path.clone());

    // 4. The verdict and the report.
    let on_target =
        |r: &FileReport| (r.figures.integrated_lufs - target_lufs).abs() <= ACCEPT_TOLERANCE_LU;
    let loudness_ok = if opts.per_track {
        tracks.iter().all(|t| on_target(&t.report))
    } else {
        tracks
            .iter()
            .max_by(|a, b| a.input_lufs.total_cmp(&b.input_lufs))
            .is_some_and(|t| on_target(&t.report))
    };
    let ceiling_ok = tracks
        .iter()
        .all(|t| t.report.figures.true_peak_dbtp <= ceiling_dbtp);
    let mut summary = AlbumSummary {
        passed: loudness_ok && ceiling_ok,
        mode: if opts.per_track { "per_track" } else { "album" },
        target_lufs,
        ceiling_dbtp,
        album_gain_db,
        gap_s: opts.gap_s,
        tracks,
        album_file: album_path,
        album,
        files,
    };
    let json_path = opts.out.join("album.json");
    let md_path = opts.out.join("album.md");
    for p in [&json_path, &md_path] {
        ensure_not_input(p, &protected)?;
    }
    summary.files.extend([json_path.clone(), md_path.clone()]);
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::usage(e.to_string()))?;
    write_text_atomic(&json_path, &(json + "\n"))?;
    write_text_atomic(&md_path, &markdown(&summary))?;
    Ok(summary)
}

/// Whether two paths name one file (or one folder).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The album's Markdown report.
pub fn markdown(s: &AlbumSummary) -> String {
    let mode = match s.album_gain_db {
        Some(g) => format!(
            "one album gain of {g:+.2} dB: the loudest track on the target, the others at their \
             loudness relative to it (as Spotify and Tidal play an album)"
        ),
        None => "each track on the target (per-track)".to_string(),
    };
    let mut md = format!(
        "# Album: {} tracks\n\nTarget {:.1} LUFS, ceiling {:.1} dBTP; {mode}; {:.1} s between \
         tracks.\n\n| # | Track | Master in | Gain | Drive | Limiter took | Loudness | True peak | LRA |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        s.tracks.len(),
        s.target_lufs,
        s.ceiling_dbtp,
        s.gap_s
    );
    for (i, t) in s.tracks.iter().enumerate() {
        let f = &t.report.figures;
        md += &format!(
            "| {} | {} | {} / {} | {:+.2} dB | {:+.2} dB | {:.2} LU | {} | {} | {:.1} LU |\n",
            i + 1,
            display_name(&t.file),
            fmt_db(t.input_lufs, "LUFS"),
            fmt_db(t.input_true_peak_dbtp, "dBTP"),
            t.gain_db,
            t.drive_db,
            t.limiter_loss_lu,
            fmt_db(f.integrated_lufs, "LUFS"),
            fmt_db(f.true_peak_dbtp, "dBTP"),
            f.lra_lu,
        );
    }
    let a = &s.album.figures;
    md += &format!(
        "\nThe whole album (`{}`): {}, true peak {}, loudness range {:.1} LU.\n\n**{}**\n",
        display_name(&s.album_file),
        fmt_db(a.integrated_lufs, "LUFS"),
        fmt_db(a.true_peak_dbtp, "dBTP"),
        a.lra_lu,
        if s.passed { "PASS" } else { "FAIL" }
    );
    md += "\n## The album as the services play it\n";
    md += &service_preview::markdown(&s.album.service_preview);
    for t in &s.tracks {
        md += &format!(
            "\n### Track {} alone (shuffle, playlists)\n",
            display_name(&t.file)
        );
        md += &service_preview::markdown(&t.report.service_preview);
    }
    md
}

/// One line per track for the terminal.
pub fn format_human(s: &AlbumSummary) -> String {
    let mut out = format!(
        "{:<28} {:>9} {:>8} {:>9} {:>8} {:>7}\n",
        "track", "in LUFS", "gain", "out LUFS", "TP dBTP", "LRA"
    );
    for t in &s.tracks {
        let f = &t.report.figures;
        out += &format!(
            "{:<28} {:>9.2} {:>+8.2} {:>9.2} {:>8.2} {:>7.1}\n",
            display_name(&t.file),
            t.input_lufs,
            t.gain_db,
            f.integrated_lufs,
            f.true_peak_dbtp,
            f.lra_lu
        );
    }
    let a = &s.album.figures;
    out += &format!(
        "{:<28} {:>9} {:>8} {:>9.2} {:>8.2} {:>7.1}  {}\n",
        display_name(&s.album_file),
        "",
        s.album_gain_db
            .map_or(String::new(), |g| format!("{g:+.2}")),
        a.integrated_lufs,
        a.true_peak_dbtp,
        a.lra_lu,
        if s.passed { "pass" } else { "FAIL" }
    );
    out
}
