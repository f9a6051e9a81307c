//! Mastering in memory: the Stem Channel and Stem Master chains run offline over whole
//! programmes, exactly as the plugins run them.
//!
//! Per delivery ([`crate::plan::Delivery`]):
//! 1. every stem goes through its own `ChannelChain` (Stem Channel). Identical (stem, settings)
//!    pairs are rendered once and shared between deliveries; all of them run in parallel on
//!    every core;
//! 2. the processed stems are summed (in stem order, so the result never depends on thread
//!    timing) and go through the `MasterChain` (Stem Master), with the limiter's ceiling set to
//!    the delivery's (every EQ mode's latency is removed from the output);
//! 3. the limiter drive (`limiter.input_gain_db`) is found by analysis: the chain runs up to the
//!    limiter once (limiter bypassed), then the limiter stage alone (drive, `Limiter`, output
//!    gain, as the chain runs them) is rendered over the whole programme and measured (BS.1770-5
//!    integrated loudness) by the drive solver the plugin's Learn uses
//!    ([`shared_dsp::chain::learn::solve_drive`]) until it lands within
//!    [`shared_dsp::chain::learn::TOLERANCE_LU`] of the target. The master is then rendered once by
//!    the whole `MasterChain` with that drive, so it is exactly what the Stem Master plugin
//!    produces with those settings.
//!
//! The search's split of the chain before the limiter relies on a bypassed section being a pure
//! delay of its latency (which the chain guarantees); each search step then costs only the
//! limiter and a loudness measurement, not the glue, EQ and width again.

use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::learn::solve_drive;
use shared_dsp::chain::master::MasterChain;
use shared_dsp::chain::settings::{ChannelSettings, MasterSettings};
use shared_dsp::dither::DitherSettings;
use shared_dsp::dynamics::{Limiter, LimiterSettings};
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::util::db_to_gain;

use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::par;
use crate::plan::Delivery;
use crate::progress::{Progress, Timing};

/// Processing block, samples.
const BLOCK: usize = 4096;

/// A rendered master (float, at the stems' rate) and how it was found.
#[derive(Clone, Debug)]
pub struct Master {
    pub channels: [Vec<f32>; 2],
    /// The limiter drive the search settled on, dB.
    pub drive_db: f64,
    /// Limiter passes the search took.
    pub passes: usize,
}

/// Runs `process` over `input` followed by `latency` samples of silence, block by block, and
/// keeps the output from sample `latency` on, so the result lines up with the input.
fn run_aligned(
    input: [&[f32]; 2],
    latency: usize,
    mut process: impl FnMut(&mut [f32], &mut [f32]),
) -> [Vec<f32>; 2] {
    let frames = input[0].len().min(input[1].len());
    let mut out = [vec![0.0f32; frames], vec![0.0f32; frames]];
    let mut block = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    let total = frames + latency;
    let mut start = 0;
    while start < total {
        let n = BLOCK.min(total - start);
        for (b, x) in block.iter_mut().zip(input) {
            let have = frames.saturating_sub(start).min(n);
            if have > 0 {
                b[..have].copy_from_slice(&x[start..start + have]);
            }
            b[have..n].fill(0.0);
        }
        let [bl, br] = &mut block;
        process(&mut bl[..n], &mut br[..n]);
        // Output sample `start + k` is input sample `start + k - latency`.
        let skip = latency.saturating_sub(start).min(n);
        if skip < n {
            let dst = start + skip - latency;
            let count = (n - skip).min(frames.saturating_sub(dst));
            for (o, b) in out.iter_mut().zip(&block) {
                o[dst..dst + count].copy_from_slice(&b[skip..skip + count]);
            }
        }
        start += n;
    }
    out
}

/// One stem through a Stem Channel chain.
pub fn render_stem(
    stem: [&[f32]; 2],
    sample_rate_hz: f64,
    settings: &ChannelSettings,
) -> [Vec<f32>; 2] {
    let mut chain = ChannelChain::new(BLOCK, sample_rate_hz);
    chain.set_settings(settings);
    chain.reset();
    let latency = chain.latency_samples();
    run_aligned(stem, latency, |l, r| chain.process_block(l, r))
}

/// The summed stems through a Stem Master chain with `settings` (every design finished before
/// the first sample, as the plugin has them after activation; meters off).
fn run_master_chain(
    settings: &MasterSettings,
    sum: [&[f32]; 2],
    sample_rate_hz: f64,
) -> [Vec<f32>; 2] {
    let mut chain = MasterChain::new(BLOCK, sample_rate_hz);
    chain.set_settings(settings);
    chain.finish_design_now();
    chain.reset();
    chain.set_meters_paused(true);
    let latency = chain.latency_samples();
    run_aligned(sum, latency, |l, r| chain.process_block(l, r))
}

/// The master chain up to (not including) the limiter.
fn pre_limiter(settings: &MasterSettings, sum: [&[f32]; 2], sample_rate_hz: f64) -> [Vec<f32>; 2] {
    let mut s = settings.clone();
    s.limiter_enabled = false;
    s.output_gain_db = 0.0;
    s.dither = DitherSettings::default();
    run_master_chain(&s, sum, sample_rate_hz)
}

/// The limiter stage alone, as the master chain runs it (drive, then the limiter with the
/// drive taken out of its settings, then the output gain), on the pre-limiter signal: what the
/// drive search measures. The final master always comes from the whole chain.
fn limiter_stage(
    settings: &MasterSettings,
    pre: [&[f32]; 2],
    sample_rate_hz: f64,
    drive_db: f64,
) -> [Vec<f32>; 2] {
    let mut limiter = Limiter::new(2, sample_rate_hz as f32);
    limiter.set_sample_rate(sample_rate_hz);
    limiter.set_settings(LimiterSettings {
        input_gain_db: 0.0,
        ..settings.limiter
    });
    limiter.reset();
    let drive = db_to_gain(drive_db as f32);
    let out_gain = db_to_gain(settings.output_gain_db);
    let latency = limiter.latency_samples();
    run_aligned(pre, latency, |l, r| {
        for x in l.iter_mut().chain(r.iter_mut()) {
            *x *= drive;
        }
        limiter.process_block(&mut [&mut *l, &mut *r]);
        if out_gain != 1.0 {
            for x in l.iter_mut().chain(r.iter_mut()) {
                *x *= out_gain;
            }
        }
    })
}

/// The whole master chain on the summed stems with the limiter drive `drive_db`.
fn full_master(
    settings: &MasterSettings,
    sum: [&[f32]; 2],
    sample_rate_hz: f64,
    drive_db: f64,
) -> [Vec<f32>; 2] {
    let mut s = settings.clone();
    s.limiter_enabled = true;
    s.limiter.input_gain_db = drive_db as f32;
    s.dither = DitherSettings::default();
    run_master_chain(&s, sum, sample_rate_hz)
}

fn integrated(ch: [&[f32]; 2], sample_rate_hz: f64) -> f64 {
    let mut m = LoudnessMeter::new(2, sample_rate_hz);
    m.process_block(&ch);
    m.integrated_lufs()
}

/// Masters the summed stems for `d`: the chain up to the limiter once, the drive search on the
/// limiter stage, then the whole chain with the drive found.
pub fn master(sum: [&[f32]; 2], sample_rate_hz: f64, d: &Delivery) -> Result<Master> {
    let pre = pre_limiter(&d.master, sum, sample_rate_hz);
    let pre_lufs = integrated([&pre[0], &pre[1]], sample_rate_hz);
    if !pre_lufs.is_finite() {
        return Err(Error::usage(format!(
            "{}: the stems are silent (below the -70 LUFS gate) after processing: nothing to master",
            d.name
        )));
    }
    // First guess: the drive that would land the target if the limiter stayed idle.
    let first = d.target_lufs - pre_lufs - d.master.output_gain_db as f64;
    let solution = solve_drive(d.target_lufs, first, |g| {
        let out = limiter_stage(&d.master, [&pre[0], &pre[1]], sample_rate_hz, g);
        integrated([&out[0], &out[1]], sample_rate_hz)
    });
    drop(pre);
    Ok(Master {
        channels: full_master(&d.master, sum, sample_rate_hz, solution.drive_db),
        drive_db: solution.drive_db,
        passes: solution.passes,
    })
}

/// Renders every delivery from in-memory stems (all at `sample_rate_hz`, stereo or mono,
/// any lengths: shorter ones are padded with silence).
pub fn render_masters(
    stems: &[Audio],
    deliveries: &[Delivery],
    progress: &Progress,
) -> Result<Vec<Master>> {
    let sr = stems
        .first()
        .map(|s| s.sample_rate_hz)
        .ok_or_else(|| Error::usage("no stems given"))?;
    let frames = stems.iter().map(Audio::frames).max().unwrap_or(0);
    // Unique (stem, settings) jobs, in a fixed order.
    let mut jobs: Vec<(usize, ChannelSettings)> = Vec::new();
    let mut job_of = vec![vec![0usize; stems.len()]; deliveries.len()];
    for (di, d) in deliveries.iter().enumerate() {
        for (si, s) in d.stem_settings.iter().enumerate() {
            let idx = jobs
                .iter()
                .position(|(i, js)| *i == si && js == s)
                .unwrap_or_else(|| {
                    jobs.push((si, s.clone()));
                    jobs.len() - 1
                });
            job_of[di][si] = idx;
        }
    }
    let mut timing = Timing::start();
    let bar = progress.bar(jobs.len() as u64, "stems");
    let rendered = par::map(&jobs, |(si, settings)| {
        let (l, r) = stems[*si].stereo();
        let out = render_stem([l, r], sr as f64, settings);
        bar.inc(1);
        out
    });
    bar.finish_and_clear();

    let sums: Vec<[Vec<f32>; 2]> = job_of
        .iter()
        .map(|js| {
            let mut sum = [vec![0.0f32; frames], vec![0.0f32; frames]];
            for &j in js {
                for c in 0..2 {
                    for (acc, &x) in sum[c].iter_mut().zip(&rendered[j][c]) {
                        *acc += x;
                    }
                }
            }
            sum
        })
        .collect();
    drop(rendered);
    timing.mark(&format!("{} channel-chain renders and sums", jobs.len()));
    let bar = progress.bar(deliveries.len() as u64, "masters");
    let items: Vec<(usize, &Delivery)> = deliveries.iter().enumerate().collect();
    let masters = par::map(&items, |(i, d)| {
        let m = master([&sums[*i][0], &sums[*i][1]], sr as f64, d);
        bar.inc(1);
        m
    });
    bar.finish_and_clear();
    masters.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_runs_remove_the_latency_exactly() {
        let x: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        // A pure delay of 777 samples, processed in blocks.
        let mut line = vec![0.0f32; 777];
        let out = run_aligned([&x, &x], 777, |l, r| {
            for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                line.push(*a);
                *a = line.remove(0);
                *b = *a;
            }
        });
        assert_eq!(out[0], x);
        assert_eq!(out[1], x);
    }
}
