//! Delivery files of `stem render`: each master resampled (with `rubato`) and dithered (with
//! `shared_dsp::dither`) to every word length asked for, written as WAV atomically and never
//! over an input, with a report per master (see [`crate::file_report`]) that passes or fails it
//! against its delivery target, and the render summary `render.json`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shared_dsp::dither::{Dither, DitherMode, DitherSettings};

use crate::analysis::true_peak_dbtp;
use crate::atomic::write_text_atomic;
use crate::audio::{to_code, write_wav_atomic, Audio, OutputFormat};
use crate::error::{Error, Result};
use crate::file_report::{analyse, report_paths, write_files, FileReport, TargetCheck};
use crate::files::{check_distinct_outputs, check_output_name, display_name, ensure_not_input};
use crate::mastering::Master;
use crate::par;
use crate::plan::Delivery;
use crate::progress::Progress;

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
                for p in report_paths(self.dir, &name) {
                    outputs.push((format!("the report of {who}"), p));
                }
            }
        }
        check_distinct_outputs(&outputs)?;
        for (_, p) in &outputs {
            ensure_not_input(p, self.protected)?;
        }
        Ok(())
    }

    /// Writes every master (on all cores) in every word length with its report; returns the
    /// masters written and every file.
    pub fn write_masters(
        &self,
        masters: &[Master],
        deliveries: &[Delivery],
        progress: &Progress,
    ) -> Result<(Vec<WrittenMaster>, Vec<PathBuf>)> {
        let pairs: Vec<(&Master, &Delivery)> = masters.iter().zip(deliveries).collect();
        let bar = progress.bar(pairs.len() as u64, "writing");
        let delivered = par::map(&pairs, |(m, d)| {
            let r = deliver(m, d, self);
            bar.inc(1);
            r
        });
        bar.finish_and_clear();
        let mut written = Vec::new();
        let mut files = Vec::new();
        for r in delivered {
            let (w, f) = r?;
            written.extend(w);
            files.extend(f);
        }
        Ok((written, files))
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
}

/// Writes one master in every requested word length (resampled and dithered as asked), with
/// its report; returns the masters written and every file.
fn deliver(m: &Master, d: &Delivery, out: &Outputs) -> Result<(Vec<WrittenMaster>, Vec<PathBuf>)> {
    let mut written = Vec::new();
    let mut files = Vec::new();
    let out_rate = out.rate_hz();
    let mut channels: Vec<Vec<f32>> = m.channels.to_vec();
    if out_rate != out.source_hz {
        channels = resample(&channels, out.source_hz, out_rate)?;
        // A band-limited resampler can move inter-sample peaks by a few hundredths of a
        // dB: trim whatever crosses the ceiling.
        let refs: Vec<&[f32]> = channels.iter().map(|c| c.as_slice()).collect();
        let over = true_peak_dbtp(&refs, out_rate as f64) - d.ceiling_dbtp;
        if over > 0.0 {
            let g = 10f32.powf(-(over as f32 + 0.01) / 20.0);
            channels.iter_mut().flatten().for_each(|x| *x *= g);
        }
    }
    for &bits in out.bits {
        let data = to_word_length(&channels, bits, d.master.dither.mode);
        let path = out.master_path(&d.name, bits);
        let refs: Vec<&[f32]> = data.iter().map(|c| c.as_slice()).collect();
        let format = if bits == 16 {
            OutputFormat::Pcm16
        } else {
            OutputFormat::Pcm24
        };
        write_wav_atomic(&path, out_rate, &refs, format, out.protected)?;
        files.push(path.clone());
        let audio = Audio {
            path: path.clone(),
            sample_rate_hz: out_rate,
            bits_per_sample: bits,
            float: false,
            channels: data,
            non_finite_samples: 0,
        };
        let (mut rep, history, spectrum) = analyse(&audio);
        rep.target = Some(target_check(d, &rep));
        files.extend(write_files(
            out.dir,
            &rep,
            &history,
            &spectrum,
            out.protected,
        )?);
        written.push(WrittenMaster {
            delivery: d.name.clone(),
            path,
            bits,
            sample_rate_hz: out_rate,
            limiter_drive_db: m.drive_db,
            search_passes: m.passes,
            report: rep,
        });
    }
    Ok((written, files))
}

/// `channels` dithered to `bits` (16-bit always gets dither: TPDF when the master's is off)
/// and rounded to the file's grid here, so the report measures exactly what is written.
fn to_word_length(channels: &[Vec<f32>], bits: u16, mode: DitherMode) -> Vec<Vec<f32>> {
    let mut data = channels.to_vec();
    let dither = match (bits, mode) {
        (16, DitherMode::Off) => DitherSettings {
            mode: DitherMode::Tpdf,
            bits: 16,
        },
        (16, mode) => DitherSettings { mode, bits: 16 },
        (_, mode) => DitherSettings { mode, bits: 24 },
    };
    let mut dith = Dither::new(2);
    dith.set_settings(dither);
    dith.reset();
    {
        let (a, b) = data.split_at_mut(1);
        dith.process_block(&mut [&mut a[0][..], &mut b[0][..]]);
    }
    let scale = (1i64 << (bits - 1)) as f32;
    for x in data.iter_mut().flatten() {
        *x = to_code(*x, bits) as f32 / scale;
    }
    data
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
    }
}

/// Band-limited sample-rate conversion with `rubato` (FFT resampler, fixed ratio).
pub fn resample(channels: &[Vec<f32>], from_hz: u32, to_hz: u32) -> Result<Vec<Vec<f32>>> {
    use rubato::{FftFixedIn, Resampler};
    if from_hz == to_hz {
        return Ok(channels.to_vec());
    }
    let err = |e: &dyn std::fmt::Display| {
        Error::usage(format!("resampling {from_hz} -> {to_hz} Hz failed: {e}"))
    };
    let chunk = 1024;
    let mut rs = FftFixedIn::<f32>::new(from_hz as usize, to_hz as usize, chunk, 2, channels.len())
        .map_err(|e| err(&e))?;
    let frames = channels[0].len();
    let wanted = (frames as f64 * to_hz as f64 / from_hz as f64).round() as usize;
    let delay = rs.output_delay();
    let mut out: Vec<Vec<f32>> = vec![Vec::with_capacity(wanted + delay + chunk); channels.len()];
    let mut pos = 0;
    while out[0].len() < wanted + delay {
        let need = rs.input_frames_next();
        let block: Vec<Vec<f32>> = channels
            .iter()
            .map(|c| {
                let mut b: Vec<f32> = c[pos.min(frames)..(pos + need).min(frames)].to_vec();
                b.resize(need, 0.0);
                b
            })
            .collect();
        pos += need;
        let produced = rs.process(&block, None).map_err(|e| err(&e))?;
        for (o, p) in out.iter_mut().zip(produced) {
            o.extend_from_slice(&p);
        }
    }
    for o in &mut out {
        o.drain(..delay);
        o.truncate(wanted);
    }
    Ok(out)
}
