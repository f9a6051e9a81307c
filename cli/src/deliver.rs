//! Delivery files of `stem render`: each master, as it streams from the chain, resampled (with
//! `rubato`, [`stem_delivery::resample`]) and dithered (with `shared_dsp::dither`) to every word length
//! asked for, written as WAV block by block through a temporary moved into place when complete,
//! never over an input, with a report per master (see [`crate::file_report`]) measured as it is
//! written, that passes or fails it against its delivery target, and the render summary
//! `render.json`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shared_dsp::dither::{Dither, DitherMode, DitherSettings};

use shared_dsp::meter::true_peak::TruePeakMeter;
use stem_delivery::resample::StreamResampler;

use crate::analysis::LoudnessHistory;
use crate::atomic::{write_text_atomic, Temporary};
use crate::audio::{to_code, OutputFormat, WavStream};
use crate::codec::{encode, encoded_path, Format};
use crate::codec_preview::{self, CodecPreview};
use crate::error::{Error, Result};
use crate::figures::FiguresMeter;
use crate::file_report::{
    master_plot_paths, report_paths, write_files, FileReport, GainReductionLogs, MasterPlots,
    TargetCheck,
};
use crate::files::{
    check_distinct_outputs, check_output_name, create_dir, display_name, ensure_not_input,
};
use crate::mastering::MasterStream;
use crate::mix_comparison::MixComparison;
use crate::plan::Delivery;
use crate::spool::Spool;
use crate::stem_attribution;
use shared_dsp::meter::long_term_spectrum::MidSideSpectrum;

/// A master passes when within this of its target, LU.
pub const ACCEPT_TOLERANCE_LU: f64 = 0.5;
/// The render summary's file name in the output directory.
pub const SUMMARY_FILE: &str = "render.json";

/// Where and how the masters are written.
#[derive(Clone, Copy, Debug)]
pub struct Outputs<'a> {
    /// The output directory (created if missing).
    pub dir: &'a Path,
    /// Word lengths to write: 24 and/or 16.
    pub bits: &'a [u16],
    /// The rate the masters are resampled to (`None`: the stems' rate), Hz.
    pub resample_hz: Option<u32>,
    /// The stems' rate, at which the masters are rendered, Hz.
    pub source_hz: u32,
    /// The inputs of the run, never written over.
    pub protected: &'a [PathBuf],
    /// Each stem's (file name, role), in stem order, for the reports' attribution tables.
    pub stem_labels: &'a [(String, String)],
    /// Encodings made from each master beside its WAVs ([`crate::codec`]).
    pub formats: &'a [Format],
}

impl Outputs<'_> {
    /// The rate of the written masters, Hz.
    pub fn rate_hz(&self) -> u32 {
        self.resample_hz.unwrap_or(self.source_hz)
    }

    /// Where the master of `delivery` at `bits` goes.
    pub fn master_path(&self, delivery: &str, bits: u16) -> PathBuf {
        self.dir
            .join(file_name(delivery, bits, self.resample_hz, self.source_hz))
    }

    /// The WAV the encodings of `delivery` are made from: its longest word length.
    pub fn encoding_source(&self, delivery: &str) -> Option<PathBuf> {
        let bits = self.bits.iter().copied().max()?;
        Some(self.master_path(delivery, bits))
    }

    /// Fails before the long work if a delivery name would leave the output folder, if a
    /// delivery or word length is asked for twice, if two outputs (masters, their reports, the
    /// summary) would land on one file, or if an output would land on an input.
    pub fn check(&self, deliveries: &[Delivery]) -> Result<()> {
        for (i, d) in deliveries.iter().enumerate() {
            check_output_name("delivery", &d.name)?;
            if deliveries[..i].iter().any(|e| e.name == d.name) {
                return Err(Error::usage(format!(
                    "delivery '{}' is asked for twice",
                    d.name
                )));
            }
        }
        for (i, b) in self.bits.iter().enumerate() {
            if self.bits[..i].contains(b) {
                return Err(Error::usage(format!("--bits {b} is asked for twice")));
            }
        }
        let mut outputs = vec![(
            "the render summary".to_string(),
            self.dir.join(SUMMARY_FILE),
        )];
        for d in deliveries {
            for &b in self.bits {
                let who = format!("delivery '{}' at {b} bits", d.name);
                let master = self.master_path(&d.name, b);
                let name = display_name(&master);
                outputs.push((who.clone(), master));
                for p in report_paths(self.dir, &name)
                    .into_iter()
                    .chain(master_plot_paths(self.dir, &name))
                {
                    outputs.push((format!("the report of {who}"), p));
                }
            }
            if let Some(wav) = self.encoding_source(&d.name) {
                for f in self.formats {
                    let who = format!("delivery '{}' as {}", d.name, f.codec.name());
                    outputs.push((who, encoded_path(&wav, f)));
                }
            }
        }
        check_distinct_outputs(&outputs)?;
        for (_, p) in &outputs {
            ensure_not_input(p, self.protected)?;
        }
        Ok(())
    }

    /// Writes `summary` as [`SUMMARY_FILE`] and adds that file to its list.
    pub fn write_summary(&self, summary: &mut RenderSummary) -> Result<()> {
        let json =
            serde_json::to_string_pretty(&summary).map_err(|e| Error::usage(e.to_string()))?;
        let summary_path = self.dir.join(SUMMARY_FILE);
        ensure_not_input(&summary_path, self.protected)?;
        write_text_atomic(&summary_path, &(json + "\n"))?;
        summary.files.push(summary_path);
        Ok(())
    }
}

/// One written master file and its report.
#[derive(Clone, Debug, Serialize)]
pub struct WrittenMaster {
    pub delivery: String,
    pub path: PathBuf,
    pub bits: u16,
    pub sample_rate_hz: u32,
    pub limiter_drive_db: f64,
    pub search_passes: usize,
    pub report: FileReport,
}

/// The outcome of `stem render`.
#[derive(Clone, Debug, Serialize)]
pub struct RenderSummary {
    pub passed: bool,
    pub masters: Vec<WrittenMaster>,
    /// Every file written (masters, reports, plots).
    pub files: Vec<PathBuf>,
    /// Each stem's DC offset and the deliveries that ran it through the DC filter.
    pub stems: Vec<crate::stem_dc::StemDc>,
}

/// Block size of the delivery passes, frames.
const BLOCK_FRAMES: usize = 1 << 16;

/// Writes one master, as it streams from the chain, in every requested word length (resampled
/// and dithered as asked), with its report measured on the fly; returns the masters written and
/// every file.
pub fn deliver(
    mut m: MasterStream,
    d: &Delivery,
    out: &Outputs,
) -> Result<(Vec<WrittenMaster>, Vec<PathBuf>)> {
    let out_rate = out.rate_hz();
    let (drive_db, passes) = (m.drive_db, m.passes);
    let mut block = [Vec::new(), Vec::new()];
    let writers = if out_rate == out.source_hz {
        let mut writers = WordLengths::create(d, out, m.frames)?;
        while m.read_block(&mut block)? > 0 {
            writers.write(&block[0], &block[1])?;
        }
        writers
    } else {
        // The resampled master is spooled: a band-limited resampler can move inter-sample
        // peaks by a few hundredths of a dB, and whatever crosses the ceiling is trimmed by one
        // gain over the whole master, known only at its end.
        let mut rs = StreamResampler::new(out.source_hz, out_rate, m.frames)?;
        let mut spool = Spool::create(out.dir)?;
        let mut tp = TruePeakMeter::new(2, out_rate as f64);
        let mut sink = |l: &[f32], r: &[f32]| {
            tp.process_block(&[l, r]);
            spool.write(l, r)
        };
        while m.read_block(&mut block)? > 0 {
            rs.push(&block[0], &block[1], &mut sink)?;
        }
        rs.finish(&mut sink)?;
        spool.finish()?;
        let tail = vec![0.0f32; tp.latency_samples() + 64];
        tp.process_block(&[&tail, &tail]);
        let over = tp.true_peak_dbtp() - d.ceiling_dbtp;
        let gain = (over > 0.0).then(|| 10f32.powf(-(over as f32 + 0.01) / 20.0));
        let mut writers = WordLengths::create(d, out, spool.frames())?;
        let mut reader = spool.reader()?;
        while reader.read_block(&mut block, BLOCK_FRAMES)? > 0 {
            if let Some(g) = gain {
                block.iter_mut().flatten().for_each(|x| *x *= g);
            }
            writers.write(&block[0], &block[1])?;
        }
        writers
    };
    let limiter = m.limiter_gain_reduction();
    let damage_db = m.loudness_damage_db();
    let clipper = m.clipper_peak_reduction();
    let (limiter_log_db, clipper_log_db, log_window_s) = m.peak_stage_log();
    let stage_work_db = clipper
        .as_ref()
        .map_or(limiter.mean_db, |c| c.mean_db.max(limiter.mean_db));
    let loudest_within_budget_lufs = if stage_work_db > PEAK_STAGE_WORK_BUDGET_DB {
        m.loudest_within_budget_lufs(PEAK_STAGE_WORK_BUDGET_DB)?
    } else {
        None
    };
    let attribution = stem_attribution::rows(out.stem_labels, &m.stem_attribution());
    let stem_loudness: Vec<(&str, &LoudnessHistory)> = out
        .stem_labels
        .iter()
        .zip(m.stem_loudness())
        .map(|((name, _), history)| (name.as_str(), &**history))
        .collect();
    let mut written = Vec::new();
    let mut files = Vec::new();
    let finished = writers
        .0
        .into_iter()
        .map(WordLength::finish)
        .collect::<Result<Vec<_>>>()?;
    let (codec_rows, encoded_files) = encodings(d, out, &finished);
    files.extend(encoded_files);
    for f in finished {
        let Finished {
            path,
            bits,
            report: mut rep,
            history,
            spectrum,
            mid_side,
        } = f;
        files.push(path.clone());
        rep.codec_preview = codec_rows.clone();
        let limiter_ceiling = d.master.limiter.ceiling_dbtp as f64;
        rep.codec_safe_limiter_ceiling_dbtp =
            (limiter_ceiling < d.ceiling_dbtp).then_some(limiter_ceiling);
        rep.limiter_gain_reduction = Some(limiter.clone());
        rep.loudness_damage_db = Some(damage_db);
        rep.loudest_within_budget_lufs = loudest_within_budget_lufs;
        rep.clipper_peak_reduction = clipper.clone();
        rep.loudness_plan = Some(m.plan.clone());
        rep.stem_attribution = Some(attribution.clone());
        rep.mix_comparison = Some(MixComparison::new(
            rep.figures.integrated_lufs,
            m.mix().integrated_lufs,
        ));
        rep.target = Some(target_check(d, &rep));
        files.extend(write_files(
            out.dir,
            &rep,
            &history,
            &spectrum,
            Some(MasterPlots {
                gain_reduction: GainReductionLogs {
                    limiter_db: &limiter_log_db,
                    clipper_db: clipper_log_db.as_deref(),
                    window_s: log_window_s,
                },
                mix: m.mix(),
                mid_side: &mid_side,
                stems: stem_loudness.clone(),
            }),
            out.protected,
        )?);
        written.push(WrittenMaster {
            delivery: d.name.clone(),
            path,
            bits,
            sample_rate_hz: out_rate,
            limiter_drive_db: drive_db,
            search_passes: passes,
            report: rep,
        });
    }
    Ok((written, files))
}

/// Encodes the master of `d` to every format asked for, from its longest word length, and
/// previews each encoding's decoded true peak and loudness ([`crate::codec_preview`]): the
/// rows for its reports and the files written. A format that cannot be made is a row saying
/// why, never a lost render.
fn encodings(
    d: &Delivery,
    out: &Outputs,
    finished: &[Finished],
) -> (Vec<CodecPreview>, Vec<PathBuf>) {
    let Some(source) = finished.iter().max_by_key(|f| f.bits) else {
        return (Vec::new(), Vec::new());
    };
    let mut rows = Vec::new();
    let mut files = Vec::new();
    for format in out.formats {
        let dest = encoded_path(&source.path, format);
        let encoded = encode(&source.path, format, &dest);
        files.extend(encoded.path.clone());
        let row = codec_preview::preview(
            &encoded,
            &source.path,
            &source.report.figures,
            d.ceiling_dbtp,
        );
        if let Some(why) = &row.skipped {
            eprintln!("warning: {} as {format}: {why}", display_name(&source.path));
        }
        rows.push(row);
    }
    (rows, files)
}

/// One master file being written at one word length: dithered (16-bit always gets dither: TPDF
/// when the master's is off) and rounded to the file's grid here, so its report measures
/// exactly what is written.
struct WordLength {
    path: PathBuf,
    bits: u16,
    tmp: Temporary,
    wav: WavStream,
    dither: Dither,
    meter: FiguresMeter,
    rate_hz: u32,
    frames: usize,
    buf: [Vec<f32>; 2],
}

/// Every word length of one master.
struct WordLengths(Vec<WordLength>);

impl WordLengths {
    /// Opens the files of delivery `d` for a master of `frames` frames at the output rate.
    fn create(d: &Delivery, out: &Outputs, frames: usize) -> Result<Self> {
        let mut all = Vec::new();
        for &bits in out.bits {
            let path = out.master_path(&d.name, bits);
            ensure_not_input(&path, out.protected)?;
            create_dir(out.dir)?;
            let tmp = Temporary::beside(&path, ".tmp")?;
            let format = if bits == 16 {
                OutputFormat::Pcm16
            } else {
                OutputFormat::Pcm24
            };
            let wav = WavStream::create(tmp.path(), out.rate_hz(), 2, format)?;
            let settings = match (bits, d.master.dither.mode) {
                (16, DitherMode::Off) => DitherSettings {
                    mode: DitherMode::Tpdf,
                    bits: 16,
                },
                (16, mode) => DitherSettings { mode, bits: 16 },
                (_, mode) => DitherSettings { mode, bits: 24 },
            };
            let mut dither = Dither::new(2);
            dither.set_settings(settings);
            dither.reset();
            all.push(WordLength {
                path,
                bits,
                tmp,
                wav,
                dither,
                // The side spectrum too, for the comparison with the mix.
                meter: FiguresMeter::new(2, out.rate_hz(), frames).with_side_spectrum(),
                rate_hz: out.rate_hz(),
                frames: 0,
                buf: [Vec::new(), Vec::new()],
            });
        }
        Ok(Self(all))
    }

    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<()> {
        for w in &mut self.0 {
            w.write(left, right)?;
        }
        Ok(())
    }
}

impl WordLength {
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<()> {
        let [a, b] = &mut self.buf;
        a.clear();
        a.extend_from_slice(left);
        b.clear();
        b.extend_from_slice(right);
        self.dither.process_block(&mut [&mut a[..], &mut b[..]]);
        let scale = (1i64 << (self.bits - 1)) as f32;
        for x in a.iter_mut().chain(b.iter_mut()) {
            *x = to_code(*x, self.bits) as f32 / scale;
        }
        let quantised = [a.as_slice(), b.as_slice()];
        self.meter.process(&quantised);
        self.wav.write(&quantised)?;
        self.frames += a.len();
        Ok(())
    }

    /// Closes the file, moves it into place and returns its report.
    fn finish(self) -> Result<Finished> {
        self.wav.finalize()?;
        self.tmp
            .persist(&self.path, "cannot move the finished file into place")?;
        let mid_side = self
            .meter
            .mid_side_power()
            .map(|p| MidSideSpectrum::of(&p))
            .unwrap_or_default();
        let (figures, history, spectrum) = self.meter.finish();
        let report = FileReport::measured(
            display_name(&self.path),
            self.rate_hz,
            (2, "stereo"),
            self.frames as u64,
            0,
            figures,
        );
        Ok(Finished {
            path: self.path,
            bits: self.bits,
            report,
            history,
            spectrum,
            mid_side,
        })
    }
}

/// A master file in place, with what its report pages need.
struct Finished {
    path: PathBuf,
    bits: u16,
    report: FileReport,
    history: LoudnessHistory,
    /// (frequency Hz, level dB) points of its long-term spectrum.
    spectrum: Vec<(f64, f64)>,
    /// Its 1/3-octave mid and side spectra.
    mid_side: MidSideSpectrum,
}

/// `streaming.wav`, `club-16bit.wav`, `vinyl-16bit-44k1.wav`.
pub fn file_name(delivery: &str, bits: u16, resample: Option<u32>, source_hz: u32) -> String {
    let mut s = delivery.to_string();
    if bits == 16 {
        s += "-16bit";
    }
    if let Some(hz) = resample.filter(|&hz| hz != source_hz) {
        let k = hz / 1000;
        let frac = (hz % 1000) / 100;
        s += &if frac == 0 {
            format!("-{k}k")
        } else {
            format!("-{k}k{frac}")
        };
    }
    s + ".wav"
}

/// Judges a master's report against its delivery.
pub fn target_check(d: &Delivery, rep: &FileReport) -> TargetCheck {
    let f = &rep.figures;
    let err = f.integrated_lufs - d.target_lufs;
    let loudness_ok = err.is_finite() && err.abs() <= ACCEPT_TOLERANCE_LU;
    let ceiling_ok = f.true_peak_dbtp <= d.ceiling_dbtp;
    let dr_ok = match d.dr_above {
        Some(min) => f.dr.is_some_and(|dr| dr > min),
        None => true,
    };
    TargetCheck {
        name: d.name.clone(),
        target_lufs: d.target_lufs,
        ceiling_dbtp: d.ceiling_dbtp,
        tolerance_lu: ACCEPT_TOLERANCE_LU,
        dr_above: d.dr_above,
        loudness_error_lu: err,
        loudness_ok,
        ceiling_ok,
        dr_ok,
        passed: loudness_ok && ceiling_ok && dr_ok,
        warnings: master_warnings(rep),
    }
}

/// The peak stage's work budget: mean reduction (10 ms windows) above which a master is said to
/// be reached by limiting or clipping. The guide: stems get "2-3 dB of compression" and "the
/// final limiter does minimal work"; a limiter holding more than 3 dB on average is doing the
/// stems' job. The clipper has the same budget (on the demo and three songs at -8 LUFS the
/// plan's clipper took 0.8-1.3 dB on average).
pub const PEAK_STAGE_WORK_BUDGET_DB: f64 = 3.0;

/// Mean limiter gain reduction above which a master warns.
pub const LIMITER_WORK_WARN_MEAN_DB: f64 = PEAK_STAGE_WORK_BUDGET_DB;

/// Mean clipper peak reduction above which a master warns.
pub const CLIPPER_WORK_WARN_MEAN_DB: f64 = PEAK_STAGE_WORK_BUDGET_DB;

/// DC in a master above this is reported (the level `stem check` warns about in stems).
pub const MASTER_DC_WARN_DBFS: f64 = crate::analysis::DC_WARN_DBFS;

fn master_warnings(rep: &FileReport) -> Vec<String> {
    let mut warnings = Vec::new();
    let reachable = match rep.loudest_within_budget_lufs {
        Some(lufs) => format!(
            "; the loudest within the {PEAK_STAGE_WORK_BUDGET_DB:.0} dB budget is {lufs:.1} LUFS"
        ),
        None => String::new(),
    };
    if let Some(g) = &rep.limiter_gain_reduction {
        if g.mean_db > LIMITER_WORK_WARN_MEAN_DB {
            warnings.push(format!(
                "the limiter reached the target by reducing {:.1} dB on average ({:.0} % of the \
                 time beyond 6 dB, loudness damage {}): expect lost transients and pumping; \
                 lower the target or control the stems' peaks before the master{reachable}",
                g.mean_db,
                g.percent_over_6_db,
                rep.loudness_damage_db
                    .map_or("n/a".to_string(), |d| format!("{d:.1} dB")),
            ));
        }
    }
    if let Some(g) = &rep.clipper_peak_reduction {
        if g.mean_db > CLIPPER_WORK_WARN_MEAN_DB {
            warnings.push(format!(
                "the clipper shaved {:.1} dB off the peaks on average ({:.0} % of the time beyond \
                 6 dB): expect audible distortion; lower the target or control the stems' peaks \
                 before the master{reachable}",
                g.mean_db, g.percent_over_6_db,
            ));
        }
    }
    for c in &rep.codec_preview {
        if let (Some(false), Some(tp), Some(rise)) =
            (c.ceiling_ok, c.true_peak_dbtp, c.true_peak_rise_db)
        {
            warnings.push(format!(
                "decoded from {} its true peak is {tp:.2} dBTP ({rise:+.2} dB): over the \
                 delivery's ceiling after the listener's decoder; render with \
                 --codec-safe-ceiling to lower the limiter's ceiling by what it measures",
                c.format
            ));
        }
    }
    let dc = &rep.figures.dc_offset_dbfs;
    if let Some(worst) = dc
        .iter()
        .copied()
        .filter(|d| d.is_finite())
        .reduce(f64::max)
    {
        if worst > MASTER_DC_WARN_DBFS {
            warnings.push(format!(
                "DC offset {worst:.1} dBFS in the master (DC the stems carry, raised by the \
                 limiter's drive, or made by heavy limiting of an asymmetric waveform): high-pass \
                 the stems that carry it (`stem check` reports each stem's DC) or lower the \
                 target"
            ));
        }
    }
    warnings
}
