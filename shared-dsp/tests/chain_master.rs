//! The Stem Master chain end to end, against numbers from outside our code:
//! - block-size independence (one block vs blocks of 1, 113 and 4096: bit-identical);
//! - latency equals the measured shift of an impulse for every EQ mode and limiter lookahead,
//!   and stays put when sections are bypassed; at defaults it is the limiter's alone;
//! - the zero-latency EQ's impulse response has the magnitude of the band designs;
//! - an EQ mode change moves the latency without a click and settles on the new mode's output,
//!   the same for any block partition;
//! - the output meter agrees with the `ebur128` crate (a port of libebur128) within 0.05 LU;
//! - music-like material (synthesised drums, bass and pads) driven 10 dB into the limiter at
//!   every loudness target: the output's true peak, measured by an independent 16x
//!   band-limited reconstruction (FFT zero padding, written here), never exceeds the ceiling,
//!   and two "learn" passes land the integrated loudness (measured by `ebur128`) within 0.5 LU
//!   of the target;
//! - loudness-matched compare: the compare output is the latency-aligned input at the
//!   processed signal's loudness (by `ebur128`, within 0.2 LU);
//! - the clipper before the limiter: its peak reduction reading follows the curve's analytic
//!   value, every target's ceiling holds with it (16x reference) while the limiter works less,
//!   and switching it moves the latency by its own, click-free, settling on the switched
//!   result; the DC filter removes an offset (-60 dBFS or better) with the ceiling held; the
//!   clipper leaves no DC from clipping an asymmetric waveform.

use ebur128::{EbuR128, Mode};
use shared_dsp::chain::master::{MasterChain, TargetLearn};
use shared_dsp::chain::settings::{
    MasterEqMode, MasterSettings, LOUDNESS_TARGETS, MASTER_EQ_BANDS,
};
use shared_dsp::dither::{DitherMode, DitherSettings};
use shared_dsp::dynamics::{Limiter, LimiterSettings};
use shared_dsp::eq::{BandKind, BandSettings, EqCurve, Placement};
use shared_dsp::stereo::StereoSettings;
use test_signals::Lcg64;

const FS: f64 = 48_000.0;

/// Deterministic music-like stereo material, `secs` long at `fs`: a 120 BPM kick/snare/hat
/// pattern, a bass line on the roots and a detuned saw pad that is wider than the rest,
/// normalised so the sample peak is at 0 dBFS.
fn music(fs: f64, secs: f64) -> [Vec<f32>; 2] {
    let n = (fs * secs) as usize;
    let tau = 2.0 * std::f64::consts::PI;
    let beat = (fs * 0.5) as usize; // 120 BPM
    let mut l = vec![0.0f64; n];
    let mut r = vec![0.0f64; n];
    let mut rng = Lcg64(0x00c0_ffee);
    let roots = [55.0, 43.65, 49.0, 41.2]; // A1, F1, G1, E1: one bar each
    let mut hp_state = 0.0f64;
    let mut bass_lp = 0.0f64;
    for i in 0..n {
        let t = i as f64 / fs;
        let in_beat = i % beat;
        let beat_no = i / beat;
        let tb = in_beat as f64 / fs;
        // Kick on every beat: pitch sweep 150 -> 50 Hz.
        let kick = (tau * (50.0 * tb + 100.0 / 25.0 * (1.0 - (-25.0 * tb).exp()))).sin()
            * (-tb * 9.0).exp();
        // Snare on 2 and 4: noise plus a 190 Hz body.
        let snare = if beat_no % 2 == 1 {
            (0.6 * rng.bipolar() + 0.5 * (tau * 190.0 * tb).sin()) * (-tb * 22.0).exp()
        } else {
            0.0
        };
        // Hats on eighths: high-passed noise (first difference), panned.
        let te = (i % (beat / 2)) as f64 / fs;
        let noise = rng.bipolar();
        let hat = (noise - hp_state) * (-te * 60.0).exp() * 0.25;
        hp_state = noise;
        // Bass: a saw on the bar's root, one-pole low-passed, plucked every beat.
        let root = roots[(beat_no / 4) % roots.len()];
        let saw = 2.0 * ((root * t) % 1.0) - 1.0;
        bass_lp += 0.05 * (saw - bass_lp);
        let bass = bass_lp * (0.6 + 0.4 * (-tb * 4.0).exp());
        // Pad: a minor triad of detuned saws, different detune per side.
        let chord = [root * 4.0, root * 4.0 * 1.189, root * 4.0 * 1.498];
        let (mut pl, mut pr) = (0.0, 0.0);
        for &f in &chord {
            pl += 2.0 * ((f * 1.003 * t) % 1.0) - 1.0;
            pr += 2.0 * ((f * 0.997 * t + 0.3) % 1.0) - 1.0;
        }
        let swell = 0.5 - 0.5 * (tau * t / 4.0).cos();
        let (pl, pr) = (0.08 * swell * pl, 0.08 * swell * pr);
        let centre = 0.9 * kick + 0.45 * snare + 0.5 * bass;
        l[i] = centre + 0.7 * hat + pl;
        r[i] = centre + 0.4 * hat + pr;
    }
    let peak = l
        .iter()
        .chain(r.iter())
        .fold(0.0f64, |m, &x| m.max(x.abs()));
    [
        l.iter().map(|&x| (x / peak) as f32).collect(),
        r.iter().map(|&x| (x / peak) as f32).collect(),
    ]
}

mod alias_support;
mod eq_support;
use alias_support::{alias_test_tone, worst_alias, ALIAS_FS};
mod true_peak_reference;
use true_peak_reference::reference_true_peak_16x;

fn to_db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// A full master: glue, a few small EQ moves (one mid, one side band), width with mono bass,
/// the limiter and 24-bit TPDF dither.
fn full_settings(eq_mode: MasterEqMode) -> MasterSettings {
    let mut bands = [BandSettings::default(); MASTER_EQ_BANDS];
    bands[0] = BandSettings::new(BandKind::HighPass, 25.0, 0.0, 0.707);
    bands[1] = BandSettings::new(BandKind::LowShelf, 120.0, 1.0, 0.707);
    bands[2] = BandSettings::bell(3_000.0, -1.0, 1.2);
    bands[3] = BandSettings {
        placement: Placement::Side,
        ..BandSettings::new(BandKind::HighShelf, 8_000.0, 1.5, 0.707)
    };
    bands[4] = BandSettings {
        placement: Placement::Mid,
        ..BandSettings::bell(250.0, -0.8, 1.0)
    };
    let mut s = MasterSettings {
        glue_enabled: true,
        eq_enabled: true,
        eq_bands: bands,
        eq_mode,
        width_enabled: true,
        stereo: StereoSettings {
            width_percent: 110.0,
            mono_below_hz: 120.0,
            balance_percent: 0.0,
        },
        limiter_enabled: true,
        dither: DitherSettings {
            mode: DitherMode::Tpdf,
            bits: 24,
        },
        ..MasterSettings::default()
    };
    s.glue.threshold_db = -14.0;
    s
}

fn process_in_blocks(chain: &mut MasterChain, x: &[Vec<f32>; 2], block: usize) -> [Vec<f32>; 2] {
    let mut l = x[0].clone();
    let mut r = x[1].clone();
    for (a, b) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        chain.process_block(a, b);
    }
    [l, r]
}

/// `x` with `pre` samples of silence before and `post` after.
fn padded(x: &[Vec<f32>; 2], pre: usize, post: usize) -> [Vec<f32>; 2] {
    let pad = |c: &Vec<f32>| {
        let mut v = vec![0.0f32; pre];
        v.extend_from_slice(c);
        v.resize(v.len() + post, 0.0);
        v
    };
    [pad(&x[0]), pad(&x[1])]
}

fn ebur128_integrated(x: &[Vec<f32>; 2]) -> f64 {
    let mut e = EbuR128::new(2, FS as u32, Mode::I).unwrap();
    e.add_frames_planar_f32(&[&x[0], &x[1]]).unwrap();
    e.loudness_global().unwrap()
}

#[test]
fn any_block_partition_gives_identical_output() {
    let x = music(FS, 1.5);
    for mode in [MasterEqMode::LinearLow, MasterEqMode::ZeroLatency] {
        any_block_partition_gives_identical_output_in(mode, &x);
    }
}

fn any_block_partition_gives_identical_output_in(mode: MasterEqMode, x: &[Vec<f32>; 2]) {
    let mut settings = full_settings(mode);
    settings.limiter.input_gain_db = 8.0;
    settings.input_gain_db = -1.0;
    let mut reference: Option<[Vec<f32>; 2]> = None;
    for block in [x[0].len(), 1, 113, 4096] {
        let mut chain = MasterChain::new(4096, FS);
        chain.set_settings(&settings);
        chain.finish_design_now();
        chain.reset();
        let y = process_in_blocks(&mut chain, x, block);
        match &reference {
            None => reference = Some(y),
            Some(want) => {
                for c in 0..2 {
                    let diff = want[c]
                        .iter()
                        .zip(&y[c])
                        .position(|(a, b)| a.to_bits() != b.to_bits());
                    assert_eq!(
                        diff, None,
                        "{mode:?}, block {block}, channel {c}: first difference"
                    );
                }
            }
        }
    }
    // The material is actually being processed (not a pass-through that trivially agrees).
    let y = reference.unwrap();
    assert!(y[0].iter().any(|&v| v != 0.0));
}

/// Position of the largest magnitude of `x`.
fn argmax(x: &[f32]) -> usize {
    x.iter()
        .enumerate()
        .fold((0, 0.0f32), |(bi, bv), (i, &v)| {
            if v.abs() > bv {
                (i, v.abs())
            } else {
                (bi, bv)
            }
        })
        .0
}

#[test]
fn latency_is_the_impulse_shift_for_every_eq_mode_and_lookahead_and_survives_bypass() {
    let mut chain = MasterChain::new(1024, FS);
    for mode in MasterEqMode::ALL {
        for lookahead_ms in [0.1f32, 1.5, 5.0, 10.0] {
            let mut base = full_settings(mode);
            base.dither.mode = DitherMode::Off;
            base.glue.lookahead_ms = 2.0;
            base.glue.threshold_db = 0.0;
            base.limiter.lookahead_ms = lookahead_ms;
            // A symmetric EQ move keeps the linear-phase impulse response's peak at its centre
            // (and the minimum-phase one's at its start).
            base.eq_bands = [BandSettings::default(); MASTER_EQ_BANDS];
            base.eq_bands[0] = BandSettings::bell(1_000.0, 2.0, 1.0);
            base.stereo.mono_below_hz = 0.0;
            base.stereo.width_percent = 100.0;
            let mut latency = None;
            for bypass in 0..5 {
                let mut s = base.clone();
                match bypass {
                    1 => s.glue_enabled = false,
                    2 => s.eq_enabled = false,
                    3 => s.width_enabled = false,
                    4 => s.limiter_enabled = false,
                    _ => {}
                }
                chain.set_settings(&s);
                chain.finish_design_now();
                chain.reset();
                let lat = chain.latency_samples();
                assert_eq!(
                    *latency.get_or_insert(lat),
                    lat,
                    "latency moved with bypass {bypass}"
                );
                let n = lat + 4096;
                let mut l = vec![0.0f32; n];
                let mut r = vec![0.0f32; n];
                l[100] = 0.25;
                r[100] = 0.25;
                for (a, b) in l.chunks_mut(1000).zip(r.chunks_mut(1000)) {
                    chain.process_block(a, b);
                }
                assert_eq!(
                    argmax(&l),
                    100 + lat,
                    "{mode:?}, lookahead {lookahead_ms} ms, bypass {bypass}"
                );
                assert_eq!(argmax(&r), 100 + lat);
            }
        }
    }
}

#[test]
fn latency_follows_eq_mode_and_lookahead() {
    let mut chain = MasterChain::new(512, FS);
    let mut s = MasterSettings::default();
    s.limiter.lookahead_ms = 1.5;
    let mut seen = Vec::new();
    // The EQ is off: a mode change only retaps its bypass delay, and the latency follows at
    // once (the retap's 10 ms fade runs before the next change can start).
    for mode in MasterEqMode::ALL {
        s.eq_mode = mode;
        chain.set_settings(&s);
        seen.push(chain.latency_samples());
        let mut silence = [0.0f32; 512];
        chain.process_block(&mut silence.clone(), &mut silence);
    }
    assert!(
        seen[0] < seen[1] && seen[1] < seen[2] && seen[2] < seen[3],
        "{seen:?}"
    );
    // Zero latency adds nothing to the limiter's; the linear modes add their FIR delay and a
    // hop (64, 256 and 1024 ms at 48 kHz).
    assert_eq!(
        [seen[1] - seen[0], seen[2] - seen[0], seen[3] - seen[0]],
        [3_071, 12_287, 49_151]
    );
    let before = chain.latency_samples();
    s.limiter.lookahead_ms = 5.0;
    chain.set_settings(&s);
    // 1.5 ms -> 5 ms at 48 kHz is 168 more samples.
    assert_eq!(chain.latency_samples(), before + 168);
}

#[test]
fn output_meter_agrees_with_ebur128() {
    let x = music(FS, 8.0);
    let mut chain = MasterChain::new(1024, FS);
    let mut s = full_settings(MasterEqMode::LinearLow);
    s.limiter.input_gain_db = 6.0;
    chain.set_settings(&s);
    chain.finish_design_now();
    chain.reset();
    let mut e = EbuR128::new(2, FS as u32, Mode::I | Mode::M | Mode::S).unwrap();
    let (mut yl, mut yr) = (x[0].clone(), x[1].clone());
    let mut worst_short_term: f64 = 0.0;
    let mut worst_momentary: f64 = 0.0;
    // 10 ms blocks: both meters update on that grid.
    for (a, b) in yl.chunks_mut(480).zip(yr.chunks_mut(480)) {
        chain.process_block(a, b);
        e.add_frames_planar_f32(&[a, b]).unwrap();
        let r = chain.readings();
        if r.short_term_lufs > -70.0 {
            worst_short_term =
                worst_short_term.max((r.short_term_lufs - e.loudness_shortterm().unwrap()).abs());
            worst_momentary =
                worst_momentary.max((r.momentary_lufs - e.loudness_momentary().unwrap()).abs());
        }
    }
    let ours = chain.readings().integrated_lufs;
    let theirs = e.loudness_global().unwrap();
    println!(
        "integrated ours {ours:.3} ebur128 {theirs:.3}; worst short-term diff \
         {worst_short_term:.4} LU, momentary {worst_momentary:.4} LU"
    );
    assert!((ours - theirs).abs() < 0.05, "{ours} vs {theirs}");
    assert!(worst_short_term < 0.05, "{worst_short_term}");
    assert!(worst_momentary < 0.05, "{worst_momentary}");
    // PLR is max true peak minus integrated.
    let r = chain.readings();
    assert!((r.plr_db - (r.true_peak_max_dbtp - r.integrated_lufs)).abs() < 1e-9);
}

/// One pass of `x` through a freshly reset chain (leading and trailing silence so the
/// circular reference sees silence at the wrap and the limiter's latency is flushed).
fn master_pass(
    chain: &mut MasterChain,
    x: &[Vec<f32>; 2],
    learn: Option<&mut TargetLearn>,
) -> [Vec<f32>; 2] {
    chain.reset();
    let pad = (0.05 * FS) as usize;
    let [mut yl, mut yr] = padded(x, pad, pad + chain.latency_samples());
    let mut learn = learn;
    for (a, b) in yl.chunks_mut(512).zip(yr.chunks_mut(512)) {
        chain.process_block(a, b);
        if let Some(l) = learn.as_deref_mut() {
            l.process_block(a, b);
        }
    }
    [yl, yr]
}

#[test]
fn every_target_holds_its_ceiling_and_learn_lands_on_it() {
    let x = music(FS, 8.0);
    let mut chain = MasterChain::new(512, FS);
    let mut learn = TargetLearn::new(FS);
    let mut failures = Vec::new();
    for target in LOUDNESS_TARGETS {
        let mut s = full_settings(MasterEqMode::LinearMedium);
        s.apply_target(target);
        // The material peaks at 0 dBFS: 10 dB above the loudest ceiling before the drive even
        // starts, so this is at least 10 dB into the limiter.
        s.limiter.input_gain_db = 10.0;
        chain.set_settings(&s);
        chain.finish_design_now();

        let y = master_pass(&mut chain, &x, None);
        let tp = to_db(reference_true_peak_16x(&y[0]).max(reference_true_peak_16x(&y[1])));
        let gr = chain.readings();
        println!(
            "{:>18}: +10 dB drive: true peak {tp:+.3} dBTP (ceiling {:+.1}), {:.2} LUFS",
            target.name, target.ceiling_dbtp, gr.integrated_lufs
        );
        if tp > target.ceiling_dbtp as f64 {
            failures.push(format!("{}: driven true peak {tp:.3} dBTP", target.name));
        }

        // Two learn passes, then the result.
        learn.forget();
        let mut drive = s.limiter.input_gain_db;
        for pass in 1..=2 {
            learn.start(target.integrated_lufs, drive);
            master_pass(&mut chain, &x, Some(&mut learn));
            let measured = learn.measured_lufs();
            drive = learn.finish().expect("measured");
            println!("    pass {pass}: measured {measured:.2} LUFS -> drive {drive:+.2} dB");
            s.limiter.input_gain_db = drive;
            chain.set_settings(&s);
        }
        let y = master_pass(&mut chain, &x, None);
        let lufs = ebur128_integrated(&y);
        let tp = to_db(reference_true_peak_16x(&y[0]).max(reference_true_peak_16x(&y[1])));
        println!(
            "    after learn: {lufs:.2} LUFS (target {:.1}), true peak {tp:+.3} dBTP",
            target.integrated_lufs
        );
        if (lufs - target.integrated_lufs as f64).abs() > 0.5 {
            failures.push(format!("{}: learned loudness {lufs:.2} LUFS", target.name));
        }
        if tp > target.ceiling_dbtp as f64 {
            failures.push(format!("{}: learned true peak {tp:.3} dBTP", target.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn compare_plays_the_aligned_input_at_the_processed_loudness() {
    let x = music(FS, 6.0);
    let mut chain = MasterChain::new(512, FS);
    let mut s = full_settings(MasterEqMode::LinearLow);
    s.limiter.input_gain_db = 10.0;
    s.dither.mode = DitherMode::Off;
    chain.set_settings(&s);
    chain.finish_design_now();
    chain.reset();
    let lat = chain.latency_samples();
    // First pass: processed, measured by both meters.
    let processed = process_in_blocks(&mut chain, &x, 512);
    let processed_lufs = ebur128_integrated(&processed);
    let match_db = chain.readings().match_gain_db;
    // Second pass of the same material in compare mode.
    chain.set_compare(true);
    let compared = process_in_blocks(&mut chain, &x, 512);
    let g = 10f32.powf(chain.readings().match_gain_db / 20.0);
    // After the fade the output is the input `lat` samples earlier times the match gain (the
    // first `lat` samples still carry the previous pass's tail). The gain follows the
    // integrated loudness, which still moves by hundredths of a dB during the second pass, so
    // each 10 ms window is fitted with its own gain: the fit must be near-perfect (the shape is
    // the aligned input) and its gain within 0.2 dB of the final match gain.
    let fade = 1000;
    for c in 0..2 {
        let mut start = lat + fade;
        while start + 480 <= x[c].len() {
            let y = &compared[c][start..start + 480];
            let d = &x[c][start - lat..start + 480 - lat];
            let (mut yd, mut dd, mut yy) = (0.0f64, 0.0f64, 0.0f64);
            for (&a, &b) in y.iter().zip(d) {
                yd += a as f64 * b as f64;
                dd += b as f64 * b as f64;
                yy += a as f64 * a as f64;
            }
            if dd > 1e-6 {
                let gw = yd / dd;
                let residual = (yy - gw * yd) / yy;
                assert!(
                    residual < 1e-4,
                    "channel {c} at {start}: residual {residual}"
                );
                assert!(
                    (to_db(gw) - to_db(g as f64)).abs() < 0.2,
                    "channel {c} at {start}: gain {gw} vs {g}"
                );
            }
            start += 480;
        }
    }
    let tail = [
        compared[0][lat + fade..].to_vec(),
        compared[1][lat + fade..].to_vec(),
    ];
    let aligned = [
        processed[0][lat + fade..].to_vec(),
        processed[1][lat + fade..].to_vec(),
    ];
    let (a, b) = (ebur128_integrated(&tail), ebur128_integrated(&aligned));
    println!(
        "processed {processed_lufs:.2} LUFS, match gain {match_db:+.2} dB, compare {a:.2} \
         LUFS vs processed {b:.2} LUFS over the same span"
    );
    assert!(
        match_db > 3.0,
        "a +10 dB drive must make the processed side louder"
    );
    assert!((a - b).abs() < 0.2, "{a} vs {b}");
}

mod alloc_support;

#[test]
fn processing_and_every_setting_change_never_allocate() {
    let x = music(FS, 1.0);
    let mut chain = MasterChain::new(512, FS);
    let mut learn = TargetLearn::new(FS);
    let mut s = full_settings(MasterEqMode::LinearLow);
    chain.set_settings(&s);
    let (mut l, mut r) = (x[0].clone(), x[1].clone());
    let before = alloc_support::thread_allocations();
    learn.start(-14.0, 0.0);
    for (i, (a, b)) in l.chunks_mut(256).zip(r.chunks_mut(256)).enumerate() {
        // A change every block: EQ (smoothing, background redesign), mode (latency), toggles
        // (fades), gains, limiter lookahead, dither, compare.
        s.eq_bands[2].gain_db = -1.0 + 0.01 * i as f32;
        s.eq_mode = match i % 80 {
            20 => MasterEqMode::LinearMedium,
            40 => MasterEqMode::LinearHigh,
            60 => MasterEqMode::ZeroLatency,
            _ => s.eq_mode,
        };
        s.glue_enabled = i % 17 < 9;
        s.eq_enabled = i % 23 < 15;
        s.width_enabled = i % 7 < 4;
        s.limiter_enabled = i % 29 < 20;
        s.dc_filter_enabled = i % 13 < 6;
        s.clipper_enabled = i % 31 < 16;
        s.clipper_margin_db = 0.5 * (i % 4) as f32;
        s.limiter.input_gain_db = (i % 10) as f32;
        s.limiter.lookahead_ms = 1.0 + (i % 3) as f32;
        s.dither.mode = if i % 2 == 0 {
            DitherMode::Tpdf
        } else {
            DitherMode::NoiseShaped
        };
        s.output_gain_db = -0.1 * (i % 5) as f32;
        chain.set_settings(&s);
        chain.set_compare(i % 11 < 5);
        chain.process_block(a, b);
        learn.process_block(a, b);
        let _ = chain.readings();
    }
    let _ = learn.finish();
    let allocations = alloc_support::thread_allocations() - before;
    assert_eq!(allocations, 0);
}

#[test]
fn every_rate_and_bad_input_are_handled() {
    for fs in [22_050.0f64, 44_100.0, 96_000.0, 192_000.0, 384_000.0] {
        let mut chain = MasterChain::new(1024, fs);
        let mut s = full_settings(MasterEqMode::LinearLow);
        s.dither.mode = DitherMode::Off;
        s.glue.threshold_db = 0.0;
        s.eq_bands = [BandSettings::default(); MASTER_EQ_BANDS];
        s.eq_bands[0] = BandSettings::bell(1_000.0, 2.0, 1.0);
        s.stereo = StereoSettings::default();
        chain.set_settings(&s);
        chain.finish_design_now();
        chain.reset();
        chain.process_block(&mut [], &mut []);
        let lat = chain.latency_samples();
        let n = lat + 2048;
        let mut l = vec![0.0f32; n];
        let mut r = vec![0.0f32; n];
        l[10] = 0.25;
        r[10] = 0.25;
        for (a, b) in l.chunks_mut(333).zip(r.chunks_mut(333)) {
            chain.process_block(a, b);
        }
        assert_eq!(argmax(&l), 10 + lat, "{fs} Hz");
        // NaN and infinities become silence; nothing non-finite comes out.
        let mut l = vec![f32::NAN; 4096];
        let mut r = vec![f32::INFINITY; 4096];
        l[7] = 0.5;
        chain.process_block(&mut l, &mut r);
        assert!(l.iter().chain(r.iter()).all(|v| v.is_finite()), "{fs} Hz");
    }
}

#[test]
fn section_switches_are_click_free_and_settle_on_the_switched_result() {
    let n = (FS * 3.0) as usize;
    let tone = tone_440(n);
    for mode in [MasterEqMode::LinearLow, MasterEqMode::ZeroLatency] {
        let mut on = MasterSettings {
            limiter_enabled: false,
            eq_enabled: true,
            eq_mode: mode,
            ..MasterSettings::default()
        };
        on.eq_bands[0] = BandSettings::bell(440.0, 6.0, 1.0);
        let off = MasterSettings {
            eq_enabled: false,
            ..on.clone()
        };
        let (t_off, t_on) = (48_000, 96_000);
        let (toggled, latency) = render_tone(&tone, &[(0, &on), (t_off, &off), (t_on, &on)]);
        let (always_off, _) = render_tone(&tone, &[(0, &off)]);
        let (always_on, lat_on) = render_tone(&tone, &[(0, &on)]);
        assert_eq!(latency, lat_on, "{mode:?}: bypass changed the latency");
        let fade = (FS * 1e-2) as usize;
        // Switched off: after the fade (and the sections after the EQ), exactly the bypassed
        // output (the EQ's bypass delay keeps its history while the EQ runs, so it needs no
        // cooling).
        let after_eq = latency_of(&MasterSettings {
            eq_mode: MasterEqMode::ZeroLatency,
            ..on.clone()
        });
        let settled = t_off + fade + after_eq;
        assert!(
            toggled[settled..t_on]
                .iter()
                .zip(&always_off[settled..t_on])
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{mode:?}"
        );
        // Switched on again: after the warm-up (linear phase: twice the latency plus a fade;
        // minimum phase: 100 ms) and the fade, the EQ output (the FIR's FFT frames now start
        // elsewhere, the IIR's state started later: equal to rounding).
        let warm_up = match mode {
            MasterEqMode::ZeroLatency => (0.1 * FS) as usize,
            _ => 2 * latency + fade,
        };
        let settled = t_on + warm_up + fade + latency;
        let worst = toggled[settled..]
            .iter()
            .zip(&always_on[settled..])
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-4, "{mode:?}: {worst}");
        // No clicks: no step between samples beyond the steepest slope of the louder (boosted)
        // tone, 2 pi 440 / 48000 x 1.0.
        let worst_step = max_step(&toggled);
        assert!(
            worst_step < MAX_TONE_SLOPE,
            "{mode:?}: {worst_step} vs {MAX_TONE_SLOPE}"
        );
    }
}

/// `n` samples of a 440 Hz sine at half full scale.
fn tone_440(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / FS).sin() as f32)
        .collect()
}

/// Steepest slope of the 440 Hz tone boosted to 1.0 peak, per sample (with 5 % to spare).
const MAX_TONE_SLOPE: f32 = 2.0 * std::f32::consts::PI * 440.0 / FS as f32 * 1.0 * 1.05;

/// Largest step between two consecutive samples.
fn max_step(x: &[f32]) -> f32 {
    x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
}

/// Renders a mono `tone` (on both channels) through a fresh chain whose settings change at the
/// given samples (the first at 0), in 512-frame blocks; returns the left output and the final
/// latency.
fn render_tone(tone: &[f32], switches: &[(usize, &MasterSettings)]) -> (Vec<f32>, usize) {
    let n = tone.len();
    let mut chain = MasterChain::new(512, FS);
    chain.set_settings(switches[0].1);
    chain.finish_design_now();
    chain.reset();
    let (mut l, mut r) = (tone.to_vec(), tone.to_vec());
    let mut bounds: Vec<usize> = switches.iter().map(|s| s.0).collect();
    bounds.push(n);
    for (k, w) in bounds.windows(2).enumerate() {
        chain.set_settings(switches[k].1);
        for (a, b) in l[w[0]..w[1]]
            .chunks_mut(512)
            .zip(r[w[0]..w[1]].chunks_mut(512))
        {
            chain.process_block(a, b);
        }
    }
    (l, chain.latency_samples())
}

#[test]
fn eq_mode_changes_move_the_latency_click_free_and_settle_on_the_new_mode() {
    let n = (FS * 4.0) as usize;
    let tone = tone_440(n);
    let fade = (FS * 1e-2) as usize;
    let (t_change, t_back) = (48_000, 120_000);
    for eq_enabled in [false, true] {
        let mut zero = MasterSettings {
            limiter_enabled: false,
            eq_enabled,
            ..MasterSettings::default()
        };
        zero.eq_bands[0] = BandSettings::bell(440.0, 6.0, 1.0);
        let low = MasterSettings {
            eq_mode: MasterEqMode::LinearLow,
            ..zero.clone()
        };
        let lat_zero = render_tone(&tone[..1], &[(0, &zero)]).1;
        let lat_low = render_tone(&tone[..1], &[(0, &low)]).1;
        assert_eq!(lat_low - lat_zero, 3_071);

        // Zero latency -> linear Low -> zero latency, and the latency after each change.
        let mut chain = MasterChain::new(512, FS);
        chain.set_settings(&zero);
        chain.finish_design_now();
        chain.reset();
        let mut y = tone.clone();
        let mut r = tone.clone();
        let mut latency = vec![0; n];
        let mut at = 0;
        for (until, s) in [(t_change, &zero), (t_back, &low), (n, &zero)] {
            chain.set_settings(s);
            while at < until {
                let end = (at + 64).min(until);
                chain.process_block(&mut y[at..end], &mut r[at..end]);
                latency[at..end].fill(chain.latency_samples());
                at = end;
            }
        }
        // Off, the bypass delay is retapped at once; on, the EQ fades out first (no cooling: its
        // bypass delay kept its history).
        // (`latency` holds the latency at the end of each 64-sample block.)
        let moved_after = if eq_enabled { fade } else { 0 };
        let first = |from: usize, want: usize| (from..n).find(|&i| latency[i] == want).unwrap();
        assert_eq!(first(t_change, lat_low), t_change + moved_after / 64 * 64);
        assert_eq!(first(t_back, lat_zero), t_back + moved_after / 64 * 64);
        assert_eq!(chain.eq_mode(), MasterEqMode::ZeroLatency);

        // No clicks anywhere, and each mode's own output once the change has gone through.
        let worst_step = max_step(&y);
        assert!(
            worst_step < MAX_TONE_SLOPE,
            "EQ on {eq_enabled}: {worst_step} vs {MAX_TONE_SLOPE}"
        );
        let (always_low, _) = render_tone(&tone, &[(0, &low)]);
        let (always_zero, _) = render_tone(&tone, &[(0, &zero)]);
        let worst = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()))
        };
        // Fade out, retap, warm-up (twice the FIR latency plus a fade), fade in, plus a
        // latency of margin.
        let settled = t_change + 3 * fade + 2 * lat_low + 2 * fade + lat_low;
        let w = worst(&y[settled..t_back], &always_low[settled..t_back]);
        assert!(w < 1e-4, "EQ on {eq_enabled}: linear Low {w}");
        let settled = t_back + lat_low + 3 * fade + (0.1 * FS) as usize + fade + lat_low;
        let w = worst(&y[settled..], &always_zero[settled..]);
        assert!(w < 1e-4, "EQ on {eq_enabled}: zero latency {w}");
    }
}

#[test]
fn eq_mode_changes_give_the_same_output_for_any_block_partition() {
    let x = music(FS, 1.5);
    let mut base = full_settings(MasterEqMode::ZeroLatency);
    base.limiter.input_gain_db = 6.0;
    base.dither.mode = DitherMode::Off;
    let changes: [(usize, MasterEqMode); 3] = [
        (1_001, MasterEqMode::LinearLow),
        (30_017, MasterEqMode::ZeroLatency),
        (40_009, MasterEqMode::LinearMedium),
    ];

    let mut reference: Option<[Vec<f32>; 2]> = None;
    for block in [x[0].len(), 4096, 113, 1] {
        let mut chain = MasterChain::new(4096, FS);
        chain.set_settings(&base);
        chain.finish_design_now();
        chain.reset();
        let (mut l, mut r) = (x[0].clone(), x[1].clone());
        let mut s = base.clone();
        let mut at = 0;
        for &(until, next) in changes.iter().chain([(x[0].len(), base.eq_mode)].iter()) {
            for (a, b) in l[at..until]
                .chunks_mut(block)
                .zip(r[at..until].chunks_mut(block))
            {
                chain.process_block(a, b);
            }
            s.eq_mode = next;
            chain.set_settings(&s);
            at = until;
        }
        let y = [l, r];
        match &reference {
            None => reference = Some(y),
            Some(want) => {
                for c in 0..2 {
                    let diff = want[c]
                        .iter()
                        .zip(&y[c])
                        .position(|(a, b)| a.to_bits() != b.to_bits());
                    assert_eq!(diff, None, "block {block}, channel {c}: first difference");
                }
            }
        }
    }
}

#[test]
fn default_latency_is_the_limiters_alone() {
    for fs in [44_100.0f64, 48_000.0, 96_000.0] {
        let chain = MasterChain::new(512, fs);
        let d = MasterSettings::default();
        assert!(!d.eq_enabled && !d.glue_enabled && d.limiter_enabled);
        assert_eq!(d.eq_mode, MasterEqMode::ZeroLatency);
        assert_eq!(
            d.glue.lookahead_ms, 0.0,
            "the glue's bypass delay adds nothing"
        );
        let mut limiter = Limiter::new(2, fs as f32);
        limiter.set_sample_rate(fs);
        limiter.set_settings(LimiterSettings {
            input_gain_db: 0.0,
            ..d.limiter
        });
        let lat = chain.latency_samples();
        println!(
            "default latency at {fs} Hz: {lat} samples ({:.3} ms)",
            lat as f64 * 1e3 / fs
        );
        assert_eq!(lat, limiter.latency_samples(), "{fs} Hz");
        assert_eq!(chain.eq_latency_samples(), 0);
        if fs == 48_000.0 {
            assert!(lat <= 96, "{lat} samples at 48 kHz is over 2 ms");
        }
    }
}

#[test]
fn zero_latency_eq_has_the_band_designs_magnitude() {
    let bands = [
        BandSettings::new(BandKind::HighPass, 30.0, 0.0, 0.707),
        BandSettings::new(BandKind::LowShelf, 120.0, 2.0, 0.707),
        BandSettings::bell(1_000.0, -3.0, 1.4),
        BandSettings::new(BandKind::HighShelf, 9_000.0, 1.5, 0.707),
        BandSettings {
            placement: Placement::Left,
            ..BandSettings::bell(3_000.0, 4.0, 2.0)
        },
    ];
    let mut s = MasterSettings {
        eq_enabled: true,
        limiter_enabled: false,
        ..MasterSettings::default()
    };
    s.eq_bands[..bands.len()].copy_from_slice(&bands);
    let mut chain = MasterChain::new(1024, FS);
    chain.set_settings(&s);
    chain.finish_design_now();
    chain.reset();
    assert_eq!(chain.eq_mode(), MasterEqMode::ZeroLatency);
    assert_eq!(chain.eq_latency_samples(), 0);
    // The bypassed limiter's delay is all the latency there is.
    let lat = chain.latency_samples();
    let mut limiter = Limiter::new(2, FS as f32);
    limiter.set_sample_rate(FS);
    limiter.set_settings(LimiterSettings {
        input_gain_db: 0.0,
        ..s.limiter
    });
    assert_eq!(lat, limiter.latency_samples());

    let len = 1 << 16;
    let at = 10;
    let (mut l, mut r) = (vec![0.0f32; lat + at + len], vec![0.0f32; lat + at + len]);
    l[at] = 1.0;
    r[at] = 1.0;
    for (a, b) in l.chunks_mut(1000).zip(r.chunks_mut(1000)) {
        chain.process_block(a, b);
    }
    let curve = EqCurve::new(FS, &bands);
    for (ch, y, view) in [(0, &l, Placement::Left), (1, &r, Placement::Right)] {
        let h: Vec<f64> = y[lat + at..].iter().map(|&v| v as f64).collect();
        // Nothing before the impulse: minimum phase, no latency of its own.
        assert!(y[..lat + at].iter().all(|&v| v == 0.0), "channel {ch}");
        let mag = eq_support::fft_mag(&h, len);
        for hz in [
            20.0, 30.0, 60.0, 120.0, 500.0, 1_000.0, 3_000.0, 9_000.0, 16_000.0,
        ] {
            let bin = (hz * len as f64 / FS).round() as usize;
            let f = bin as f64 * FS / len as f64;
            let got = eq_support::db(mag[bin]);
            let want = curve.magnitude_db(f, view);
            assert!(
                (got - want).abs() < 0.1,
                "channel {ch} at {f:.1} Hz: {got:.3} dB vs the designs' {want:.3} dB"
            );
        }
    }
}

/// Latency of a chain with settings `s`.
fn latency_of(s: &MasterSettings) -> usize {
    let mut chain = MasterChain::new(512, FS);
    chain.set_settings(s);
    chain.finish_design_now();
    chain.latency_samples()
}

/// Renders `x` through a fresh master chain on `base`, applying `change` to the settings at
/// sample `at` (the rest in 700-frame blocks).
fn render_with_change_at(
    base: &MasterSettings,
    x: &[Vec<f32>],
    at: usize,
    change: fn(&mut MasterSettings),
) -> [Vec<f32>; 2] {
    let mut chain = MasterChain::new(512, FS);
    chain.set_settings(base);
    chain.finish_design_now();
    chain.reset();
    let (mut l, mut r) = (x[0].clone(), x[1].clone());
    chain.process_block(&mut l[..at], &mut r[..at]);
    let mut s = base.clone();
    change(&mut s);
    chain.set_settings(&s);
    for (cl, cr) in l[at..].chunks_mut(700).zip(r[at..].chunks_mut(700)) {
        chain.process_block(cl, cr);
    }
    [l, r]
}

#[test]
fn output_gain_and_input_gain_changes_line_up_in_time() {
    let n = 30_000;
    let x = music(FS, n as f64 / FS);
    // A long latency (linear phase Medium) between the two gains.
    let base = MasterSettings {
        limiter_enabled: false,
        eq_mode: MasterEqMode::LinearMedium,
        ..MasterSettings::default()
    };
    let at = 5_003;
    let outputs: Vec<_> = [
        |s: &mut MasterSettings| s.input_gain_db = -6.0,
        |s: &mut MasterSettings| s.output_gain_db = -6.0,
    ]
    .into_iter()
    .map(|change| render_with_change_at(&base, &x, at, change)[0].clone())
    .collect();
    // Both act on the sample that entered at `at`, leaving one latency later.
    let lat = latency_of(&base);
    assert!(lat > 10_000);
    for y in &outputs {
        assert_eq!(y[at + lat - 1], x[0][at - 1]);
        assert_ne!(y[at + lat], x[0][at]);
    }
}

/// Limiter drive acts after the glue and the EQ, so the chain delays its curve by their
/// latency: a drive change made at some sample must act on the same audio as an input-gain
/// change made at that sample (the sections in between are linear here, so the outputs agree
/// to rounding; without the alignment they would differ by 6 dB over the EQ's latency).
#[test]
fn limiter_drive_changes_line_up_with_input_gain_changes() {
    let n = 40_000;
    let x = music(FS, n as f64 / FS);
    let base = MasterSettings {
        eq_mode: MasterEqMode::LinearMedium,
        ..MasterSettings::default()
    };
    assert!(base.limiter_enabled && !base.glue_enabled);
    let at = 5_003;
    // Input gain, drive, and no change at all.
    let outputs: Vec<_> = [
        |s: &mut MasterSettings| s.input_gain_db = -6.0,
        |s: &mut MasterSettings| s.limiter.input_gain_db = -6.0,
        |_: &mut MasterSettings| {},
    ]
    .into_iter()
    .map(|change| render_with_change_at(&base, &x, at, change))
    .collect();
    let lat = latency_of(&base);
    assert!(lat > 10_000, "the EQ latency makes a misalignment visible");
    let worst = (0..2)
        .flat_map(|c| outputs[0][c].iter().zip(outputs[1][c].iter()))
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-4, "input gain and drive differ by {worst}");
    // The drive change reaches the output exactly one latency after `at`.
    let (driven, unchanged) = (&outputs[1][0], &outputs[2][0]);
    assert_eq!(driven[..at + lat], unchanged[..at + lat]);
    let moved = (at + lat..n).filter(|&i| driven[i] != unchanged[i]).count();
    assert!(moved > (n - at - lat) / 2, "only {moved} samples changed");
}

/// Settings the chain glides itself (glue, width, limiter; the EQ smooths its bands), changed
/// from `base` in one go.
fn glide_change(s: &mut MasterSettings) {
    s.glue.threshold_db = -6.0;
    s.glue.makeup_db = 4.0;
    s.stereo.width_percent = 60.0;
    s.limiter.ceiling_dbtp = -3.0;
    s.limiter.release_ms = 300.0;
    s.eq_bands[2].gain_db = -4.0;
}

#[test]
fn a_master_setting_step_glides_onto_its_target_within_the_stated_time() {
    use shared_dsp::chain::smoothing::SETTINGS_SMOOTHING_MS;
    use shared_dsp::chain::CONTROL_STEP_SAMPLES as SMOOTHING_STEP;
    let x = music(FS, 0.5);
    let mut chain = MasterChain::new(512, FS);
    let mut s = full_settings(MasterEqMode::ZeroLatency);
    s.glue.threshold_db = -26.0;
    chain.set_settings(&s);
    chain.finish_design_now();
    chain.reset();
    s.glue.threshold_db = -6.0;
    chain.set_settings(&s);
    // 20 dB within 0.01 dB: ln(2000) time constants, rounded up to whole steps.
    let settle_samples = ((2000f64.ln() * SETTINGS_SMOOTHING_MS as f64 * 1e-3 * FS)
        / SMOOTHING_STEP as f64)
        .ceil() as usize
        * SMOOTHING_STEP
        + SMOOTHING_STEP;
    let (mut l, mut r) = (x[0].clone(), x[1].clone());
    let mut last = -26.0f32;
    let mut landed_at = None;
    for (k, (a, b)) in l
        .chunks_mut(SMOOTHING_STEP)
        .zip(r.chunks_mut(SMOOTHING_STEP))
        .enumerate()
    {
        chain.process_block(a, b);
        let t = chain.glue().settings().threshold_db;
        assert!(t >= last, "threshold moves one way: {last} -> {t}");
        if k == 0 {
            assert!(
                t > -26.0 && t < -20.0,
                "the first step glides, not jumps: {t}"
            );
        }
        if t == -6.0 && landed_at.is_none() {
            landed_at = Some((k + 1) * SMOOTHING_STEP);
        }
        last = t;
    }
    let landed_at = landed_at.expect("reaches the target exactly");
    println!("20 dB threshold step landed after {landed_at} samples (bound {settle_samples})");
    assert!(
        landed_at <= settle_samples,
        "{landed_at} > {settle_samples}"
    );
}

#[test]
fn a_master_setting_step_has_no_zipper() {
    // A 440 Hz tone at -6 dBFS through the glue at a threshold it never reaches: a +12 dB
    // make-up step. Taken at once it would jump by 0.5 * (4 - 1) = 1.5; glided, no sample
    // step exceeds the tone's own slope at the final level plus a small fraction of that.
    let n = (0.3 * FS) as usize;
    let tone: Vec<f32> = (0..n)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / FS as f32).sin())
        .collect();
    let mut s = MasterSettings::default();
    s.limiter_enabled = false;
    s.glue_enabled = true;
    s.glue.threshold_db = 0.0;
    s.glue.makeup_db = 0.0;
    let mut up = s.clone();
    up.glue.makeup_db = 12.0;
    let at = n / 3;
    let (y, lat) = render_tone(&tone, &[(0, &s), (at, &up)]);
    let final_slope = MAX_TONE_SLOPE * 0.5 * 10f32.powf(12.0 / 20.0);
    let worst = max_step(&y[at..]);
    println!("worst sample step {worst:.4}, tone slope at the final level {final_slope:.4}");
    assert!(worst < 1.1 * final_slope, "{worst}");
    // And it gets there: the last cycle is the tone 12 dB up.
    let peak = y[n - 200..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        (peak / (0.5 * 10f32.powf(0.6)) - 1.0).abs() < 0.01,
        "{peak} {lat}"
    );
}

#[test]
fn master_glides_are_block_size_independent() {
    let x = music(FS, 0.4);
    let base = full_settings(MasterEqMode::ZeroLatency);
    let render = |block: usize| {
        let mut chain = MasterChain::new(512, FS);
        chain.set_settings(&base);
        chain.finish_design_now();
        chain.reset();
        let (mut l, mut r) = (x[0].clone(), x[1].clone());
        let at = 5_000;
        for (a, b) in l[..at].chunks_mut(block).zip(r[..at].chunks_mut(block)) {
            chain.process_block(a, b);
        }
        let mut s = base.clone();
        glide_change(&mut s);
        chain.set_settings(&s);
        for (a, b) in l[at..].chunks_mut(block).zip(r[at..].chunks_mut(block)) {
            chain.process_block(a, b);
        }
        [l, r]
    };
    let one = render(1);
    for block in [113, 512] {
        let y = render(block);
        assert!(
            y == one,
            "block size {block} differs from per-sample processing"
        );
    }
}

/// A master with the clipper and the DC filter on, `drive_db` into the peak stage.
fn clipped(drive_db: f32, clipper: bool) -> MasterSettings {
    let mut s = MasterSettings {
        clipper_enabled: clipper,
        dc_filter_enabled: true,
        ..MasterSettings::default()
    };
    s.limiter.input_gain_db = drive_db;
    s
}

/// A fresh master with the clipper at `margin_db` over the ceiling, `drive_db` into it, and
/// nothing else but the limiter; and its settings.
fn clipper_only(drive_db: f32, margin_db: f32) -> (MasterSettings, MasterChain) {
    let mut s = clipped(drive_db, true);
    s.dc_filter_enabled = false;
    s.clipper_margin_db = margin_db;
    let mut chain = MasterChain::new(512, FS);
    chain.set_settings(&s);
    chain.reset();
    (s, chain)
}

#[test]
fn clipper_reading_is_the_curves_peak_reduction() {
    // A 1 kHz sine at 48 kHz has a sample on each crest, so its sample peak is its amplitude;
    // the soft clipper's curve u / (1 + u^4)^(1/4) reduces a peak u (in clip levels) by
    // 5 log10(1 + u^4) dB.
    for (amplitude_db, margin_db) in [(-3.0f32, 1.0f32), (0.0, 1.0), (3.0, 0.0), (6.0, 2.0)] {
        let a = 10f32.powf(amplitude_db / 20.0);
        let tone: Vec<f32> = (0..4800)
            .map(|i| a * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / FS as f32).sin())
            .collect();
        let (s, mut chain) = clipper_only(0.0, margin_db);
        let (mut l, mut r) = (tone.clone(), tone);
        chain.process_block(&mut l[..2400], &mut r[..2400]);
        chain.process_block(&mut l[2400..], &mut r[2400..]);
        let level = 10f64.powf((s.limiter.ceiling_dbtp + margin_db) as f64 / 20.0);
        let u = a as f64 / level;
        let expected = 5.0 * (1.0 + u.powi(4)).log10();
        let read = chain.clipper_block_max_reduction_db() as f64;
        assert!(
            (read - expected).abs() < 0.01,
            "{amplitude_db} dBFS, margin {margin_db} dB: read {read:.4} dB, curve {expected:.4} dB"
        );
    }
}

#[test]
fn with_the_clipper_every_target_holds_its_ceiling_and_the_limiter_works_less() {
    let x = music(FS, 6.0);
    let mut failures = Vec::new();
    for target in LOUDNESS_TARGETS {
        let mut mean_gr = [0.0f64; 2];
        for (k, clipper) in [false, true].into_iter().enumerate() {
            let mut s = clipped(12.0, clipper);
            s.apply_target(target);
            let mut chain = MasterChain::new(512, FS);
            chain.set_settings(&s);
            chain.reset();
            let pad = (0.05 * FS) as usize;
            let [mut yl, mut yr] = padded(&x, pad, pad + chain.latency_samples());
            let mut blocks = 0;
            for (a, b) in yl.chunks_mut(512).zip(yr.chunks_mut(512)) {
                chain.process_block(a, b);
                mean_gr[k] += chain.limiter_block_max_gain_reduction_db() as f64;
                blocks += 1;
            }
            mean_gr[k] /= blocks as f64;
            let tp = to_db(reference_true_peak_16x(&yl).max(reference_true_peak_16x(&yr)));
            println!(
                "{:>18} clipper {clipper}: true peak {tp:+.3} dBTP (ceiling {:+.1}), limiter mean \
                 block reduction {:.2} dB",
                target.name, target.ceiling_dbtp, mean_gr[k]
            );
            if tp > target.ceiling_dbtp as f64 {
                failures.push(format!("{} clipper {clipper}: {tp:.3} dBTP", target.name));
            }
        }
        // The clip level is 1 dB above the ceiling: the limiter is left with about that much
        // on the transients instead of the whole 12 dB drive's overs.
        if mean_gr[1] > 0.5 * mean_gr[0] {
            failures.push(format!(
                "{}: limiter {:.2} dB with the clipper vs {:.2} dB without",
                target.name, mean_gr[1], mean_gr[0]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn clipper_switch_moves_the_latency_click_free_and_settles_on_the_switched_result() {
    let n = (FS * 4.0) as usize;
    // Below the clip level's knee the clipper is within 0.14 dB of the line: a switch is a
    // latency move, which must not click.
    let tone = tone_440(n);
    let off = MasterSettings::default();
    let on = MasterSettings {
        clipper_enabled: true,
        ..off.clone()
    };
    let (lat_off, lat_on) = (latency_of(&off), latency_of(&on));
    let mut limiter = Limiter::new(2, FS as f32);
    limiter.set_sample_rate(FS);
    limiter.set_settings(LimiterSettings {
        input_gain_db: 0.0,
        ..off.limiter
    });
    assert_eq!(
        lat_off,
        limiter.latency_samples(),
        "clipper off: limiter alone"
    );
    assert!(lat_on > lat_off, "the clipper's oversampler adds latency");
    let (t_on, t_off) = (48_000, 144_000);
    let (toggled, latency) = render_tone(&tone, &[(0, &off), (t_on, &on), (t_off, &off)]);
    assert_eq!(latency, lat_off);
    let worst_step = max_step(&toggled);
    assert!(
        worst_step < 0.5 * MAX_TONE_SLOPE * 1.01,
        "click: {worst_step}"
    );
    // Settled after the tap move (a fade), the warm-up (latency + fade), the fade in and the
    // clipper's 2 Hz DC blocker's start-up transient (time constant 80 ms; one second is 12.5
    // of them): the always-on output; then switched off: the always-off output, bit for bit.
    let fade = (FS * 1e-2) as usize;
    let (always_on, _) = render_tone(&tone, &[(0, &on)]);
    let settled_on = t_on + 48_000;
    let worst = toggled[settled_on..t_off]
        .iter()
        .zip(&always_on[settled_on..t_off])
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-5, "after switching on: {worst}");
    let (always_off, _) = render_tone(&tone, &[(0, &off)]);
    let settled_off = t_off + 3 * fade + 2 * lat_on;
    assert!(toggled[settled_off..]
        .iter()
        .zip(&always_off[settled_off..])
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn dc_filter_removes_an_offset_and_the_ceiling_holds() {
    let mut music = music(FS, 6.0);
    for v in music.iter_mut().flatten() {
        *v *= 0.8;
    }
    let mut offset = music.clone();
    for v in offset.iter_mut().flatten() {
        *v += 0.1; // -20 dBFS of DC
    }
    // Mean of each channel over the last 4 s (the 10 Hz filter settles in well under a second)
    // and the true peak, through a master driven 6 dB into the limiter.
    let run = |x: &[Vec<f32>; 2], dc_filter: bool| {
        // The clipper's own DC blocker would remove the offset too: clipper off.
        let mut s = clipped(6.0, false);
        s.dc_filter_enabled = dc_filter;
        let mut chain = MasterChain::new(512, FS);
        chain.set_settings(&s);
        chain.reset();
        let (mut l, mut r) = (x[0].clone(), x[1].clone());
        for (a, b) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
            chain.process_block(a, b);
        }
        let tail = (2.0 * FS) as usize;
        let mean =
            |y: &[f32]| y[tail..].iter().map(|&v| v as f64).sum::<f64>() / (y.len() - tail) as f64;
        let tp = to_db(reference_true_peak_16x(&l).max(reference_true_peak_16x(&r)));
        assert!(
            tp <= s.limiter.ceiling_dbtp as f64,
            "DC filter {dc_filter}: {tp}"
        );
        [mean(&l), mean(&r)]
    };
    // What the offset leaves is the difference from the same music without it (limiting an
    // asymmetric waveform makes a little DC of its own, which is not the filter's to remove).
    let own = run(&music, true);
    for dc_filter in [false, true] {
        let with = run(&offset, dc_filter);
        let left_db = to_db((with[0] - own[0]).abs().max((with[1] - own[1]).abs()));
        println!("DC filter {dc_filter}: the offset leaves {left_db:.1} dBFS of DC");
        if dc_filter {
            assert!(left_db < -60.0, "{left_db}");
        } else {
            assert!(
                left_db > -30.0,
                "the offset passes without the filter: {left_db}"
            );
        }
    }
}

#[test]
fn clipper_aliases_stay_below_minus_80_dbfs_however_hard_it_is_driven() {
    // Issue 16: a 10 kHz sine at -6 dBFS, 48 kHz, driven to the stage's maximum (the limiter
    // drive's +24 dB: 18-24 dB over the clip level), every component that is not the tone
    // below -80 dBFS ([`alias_support`]; the limiter's modulation would count too, which a
    // steady tone does not cause once settled).
    assert_eq!(FS, ALIAS_FS);
    for margin_db in [0.0f32, 1.0, 6.0] {
        for drive_db in [6.0f32, 12.0, 18.0, 24.0] {
            let tone = alias_test_tone();
            let (_, mut chain) = clipper_only(drive_db, margin_db);
            let (mut l, mut r) = (tone.clone(), tone);
            for (a, b) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
                chain.process_block(a, b);
            }
            let (worst_hz, worst_db) = worst_alias(&l);
            println!("margin {margin_db} dB, drive {drive_db} dB: worst {worst_db:.1} dBFS at {worst_hz} Hz");
            assert!(
                worst_db < -80.0,
                "margin {margin_db}, drive {drive_db}: {worst_db} at {worst_hz} Hz"
            );
        }
    }
}

#[test]
fn the_learn_tap_is_the_signal_the_limiter_is_driven_from() {
    // Learn plans on what the tap hands over: it must be exactly what the limiter section takes
    // (after glue, EQ and width, before the drive). With the limiter section switched off, the
    // chain's output is that signal delayed by the limiter's latency (a bypassed section is its
    // delay), so the tap of a limiting chain equals the shifted output of a bypassed one.
    let x = music(FS, 2.0);
    let mut on = full_settings(MasterEqMode::ZeroLatency);
    on.dither = DitherSettings::default();
    on.limiter.input_gain_db = 12.0;
    let mut off = on.clone();
    off.limiter_enabled = false;
    let mut tapped = MasterChain::new(512, FS);
    tapped.set_settings(&on);
    tapped.reset();
    let mut bypassed = MasterChain::new(512, FS);
    bypassed.set_settings(&off);
    bypassed.reset();
    let limiter_latency = tapped.latency_samples() - tapped.eq_latency_samples();
    assert!(limiter_latency > 0);
    let mut tap = [Vec::new(), Vec::new()];
    let (mut l, mut r) = (x[0].clone(), x[1].clone());
    for (a, b) in l.chunks_mut(333).zip(r.chunks_mut(333)) {
        tapped.process_block_tapped(a, b, |pl, pr| {
            tap[0].extend_from_slice(pl);
            tap[1].extend_from_slice(pr);
        });
    }
    let driven_peak = tap.iter().flatten().fold(0.0f32, |m, &v| m.max(v.abs())) * 3.98;
    assert!(driven_peak > 1.5, "the limiter works: {driven_peak}");
    let plain = process_in_blocks(&mut bypassed, &x, 512);
    for c in 0..2 {
        assert_eq!(tap[c].len(), x[c].len());
        assert_eq!(
            tap[c][..x[c].len() - limiter_latency],
            plain[c][limiter_latency..],
            "channel {c}"
        );
    }
}

/// Clipping the louder side of a zero-mean asymmetric waveform makes DC; the master's clipper
/// is followed by a 2 Hz one-pole DC blocker, whose gain at DC is zero. The waveform:
/// `exp(3 cos(2 pi 60 t))` less its mean over whole periods (narrow positive crests, shallow
/// troughs), its crests 2 dB over the clip level. The clipper alone turns it into a -29 dBFS
/// offset, with the blocker into none (the mean of the last 4 s below -100 dBFS). Through the
/// master (clip level at the -1 dBTP ceiling) the limiter after the clipper still acts on the
/// crests the blocker lowered and raised, asymmetrically, and makes a little DC of its own:
/// below -70 dBFS here, with the ceiling held (16x reference).
#[test]
fn the_masters_clipper_leaves_no_dc_from_an_asymmetric_waveform() {
    const CREST_DB: f64 = 2.0;
    let n = 6 * FS as usize;
    let period = FS as usize / 60;
    let shape = |i: usize| {
        (3.0 * (std::f64::consts::TAU * (i % period) as f64 / period as f64).cos()).exp()
    };
    let mean = (0..period).map(shape).sum::<f64>() / period as f64;
    let scale = 10f64.powf(CREST_DB / 20.0) / (shape(0) - mean);
    let x: Vec<f32> = (0..n).map(|i| ((shape(i) - mean) * scale) as f32).collect();
    let dc_db = |y: &[f32]| {
        let tail = &y[n - 4 * FS as usize..];
        20.0 * (tail.iter().map(|&v| v as f64).sum::<f64>() / tail.len() as f64)
            .abs()
            .log10()
    };
    let clipped = |blocker: bool| {
        let mut clipper = shared_dsp::dynamics::Clipper::new(FS);
        clipper.set_dc_blocker(blocker);
        let (mut l, mut r) = (x.clone(), x.clone());
        for (a, b) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
            clipper.process_block(a, b);
        }
        dc_db(&l)
    };
    let (bare_dc, blocked_dc) = (clipped(false), clipped(true));

    let (_, mut chain) = clipper_only(0.0, 0.0);
    let (mut l, mut r) = (x.clone(), x.clone());
    for (a, b) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
        chain.process_block(a, b);
    }
    let master_dc = dc_db(&l);
    let tp = to_db(reference_true_peak_16x(&l).max(reference_true_peak_16x(&r)));
    println!(
        "input DC {:.1} dBFS; clipper {bare_dc:.1} dBFS, with its blocker {blocked_dc:.1} dBFS; \
         master {master_dc:.1} dBFS, true peak {tp:.2} dBTP",
        dc_db(&x)
    );
    assert!(dc_db(&x) < -120.0);
    assert!(bare_dc > -40.0, "{bare_dc}");
    assert!(blocked_dc < -100.0, "{blocked_dc}");
    assert!(master_dc < -70.0, "{master_dc}");
    assert!(tp <= -1.0, "{tp}");
}
