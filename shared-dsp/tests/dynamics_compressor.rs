//! Compressor against numbers from outside its code: the Giannoulis-Massberg-Reiss static curve
//! written out again here, the definition of a one-pole time constant (63.2 % of a step), and
//! the identity a parallel mix must keep below threshold.

use shared_dsp::dynamics::{Compressor, CompressorSettings, CompressorStyle, Detection};
use test_signals::sine;

/// Giannoulis, Massberg & Reiss (JAES 2012) eq. (4), written independently of the crate.
fn reference_output_db(x: f64, threshold: f64, ratio: f64, knee: f64) -> f64 {
    if 2.0 * (x - threshold) < -knee {
        x
    } else if knee > 0.0 && 2.0 * (x - threshold).abs() <= knee {
        x + (1.0 / ratio - 1.0) * (x - threshold + knee / 2.0).powi(2) / (2.0 * knee)
    } else {
        threshold + (x - threshold) / ratio
    }
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64).sqrt()
}

fn run(c: &mut Compressor, left: &mut [f32], right: &mut [f32]) {
    let mut chans: [&mut [f32]; 2] = [left, right];
    c.process_block(&mut chans);
}

/// Steady sines across the threshold come out at the static curve's level within 0.1 dB, for
/// peak detection (level = sine peak) and RMS detection (level = peak - 3.01 dB).
#[test]
fn static_curve_matches_giannoulis_formula() {
    let fs = 48_000.0;
    let len = 24_000;
    let threshold = -20.0;
    let mut worst = 0.0f64;
    for detection in [Detection::Peak, Detection::Rms] {
        for ratio in [2.0, 4.0, 10.0] {
            for knee in [0.0, 6.0, 12.0] {
                let mut level_db = -40.0;
                while level_db <= 0.0 {
                    let mut c = Compressor::new(2, fs as f32);
                    c.set_sample_rate(fs);
                    c.set_settings(CompressorSettings {
                        detection,
                        threshold_db: threshold as f32,
                        ratio: ratio as f32,
                        knee_db: knee as f32,
                        attack_ms: 2.0,
                        release_ms: 1000.0,
                        rms_window_ms: 50.0,
                        ..CompressorSettings::default()
                    });
                    let amp = 10f64.powf(level_db / 20.0);
                    let input = sine(len, 997.0, fs, amp);
                    let mut l = input.clone();
                    let mut r = input.clone();
                    run(&mut c, &mut l, &mut r);
                    let tail = len / 2..len;
                    let measured_gain_db =
                        20.0 * (rms(&l[tail.clone()]) / rms(&input[tail])).log10();
                    let detector_level = match detection {
                        Detection::Peak => level_db,
                        Detection::Rms => level_db - 10.0 * 2f64.log10(),
                    };
                    let expected = reference_output_db(detector_level, threshold, ratio, knee)
                        - detector_level;
                    let err = (measured_gain_db - expected).abs();
                    worst = worst.max(err);
                    assert!(
                        err < 0.1,
                        "{detection:?} ratio {ratio} knee {knee} level {level_db}: \
                         gain {measured_gain_db:.3} dB, formula {expected:.3} dB"
                    );
                    level_db += 2.0;
                }
            }
        }
    }
    println!("static curve worst error {worst:.4} dB");
}

/// Gain reduction after a level step (DC, so the detector sees a clean step) covers 63.2 % of
/// its way in `attack_ms` and 63.2 % of its way back in `release_ms`, within 10 %, at 44.1, 96
/// and 192 kHz.
#[test]
fn attack_and_release_time_constants_hold_across_sample_rates() {
    for fs in [44_100.0f64, 96_000.0, 192_000.0] {
        for (attack_ms, release_ms) in [(10.0f64, 100.0f64), (1.0, 50.0), (30.0, 500.0)] {
            let mut c = Compressor::new(2, 192_000.0);
            c.set_sample_rate(fs);
            c.set_settings(CompressorSettings {
                threshold_db: -20.0,
                ratio: 4.0,
                knee_db: 0.0,
                attack_ms: attack_ms as f32,
                release_ms: release_ms as f32,
                ..CompressorSettings::default()
            });
            let quiet = 0.01f32; // -40 dBFS: no reduction
            let loud = 1.0f32; // 0 dBFS: 15 dB reduction at 4:1 from -20 dB
            let hold = (fs * (release_ms * 8.0 / 1000.0).max(0.2)) as usize;
            let mut input = vec![quiet; hold];
            input.extend(std::iter::repeat_n(loud, hold));
            input.extend(std::iter::repeat_n(quiet, hold));
            let mut l = input.clone();
            let mut r = input.clone();
            run(&mut c, &mut l, &mut r);
            let gr: Vec<f64> = l
                .iter()
                .zip(input.iter())
                .map(|(&y, &x)| -20.0 * (y as f64 / x as f64).log10())
                .collect();
            let full = 15.0;
            let rise = gr[hold..]
                .iter()
                .position(|&g| g >= full * 0.632_12)
                .unwrap();
            let fall = gr[2 * hold..]
                .iter()
                .position(|&g| g <= full * (1.0 - 0.632_12))
                .unwrap();
            let attack_measured = rise as f64 / fs * 1000.0;
            let release_measured = fall as f64 / fs * 1000.0;
            println!(
                "fs {fs}: attack {attack_ms} ms -> {attack_measured:.3} ms, \
                 release {release_ms} ms -> {release_measured:.3} ms"
            );
            assert!((attack_measured / attack_ms - 1.0).abs() < 0.1);
            assert!((release_measured / release_ms - 1.0).abs() < 0.1);
        }
    }
}

/// At 50 % mix with lookahead, a signal below threshold comes out bit-identical to the input
/// delayed by the reported latency: the dry path is aligned, so nothing comb-filters.
#[test]
fn parallel_mix_below_threshold_is_the_delayed_input() {
    let fs = 48_000.0;
    let mut c = Compressor::new(2, fs);
    c.set_sample_rate(f64::from(fs));
    c.set_settings(CompressorSettings {
        threshold_db: -6.0,
        ratio: 4.0,
        knee_db: 0.0,
        mix_percent: 50.0,
        lookahead_ms: 3.0,
        ..CompressorSettings::drums_parallel()
    });
    let latency = c.latency_samples();
    assert_eq!(latency, 144);
    let mut seed = 1u32;
    let input: Vec<f32> = (0..20_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.5 // peaks below -6 dBFS
        })
        .collect();
    let mut l = input.clone();
    let mut r = input.clone();
    run(&mut c, &mut l, &mut r);
    for i in 0..input.len() {
        let expected = if i >= latency {
            input[i - latency]
        } else {
            0.0
        };
        assert_eq!(l[i], expected, "sample {i}");
        assert_eq!(r[i], expected, "sample {i}");
    }

    // Above threshold the output is still the delayed input times a gain between the wet gain
    // and 1: no other sample leaks in (a misaligned dry path would).
    let loud: Vec<f32> = input.iter().map(|&x| x * 4.0).collect();
    let mut l = loud.clone();
    let mut r = loud.clone();
    c.reset();
    run(&mut c, &mut l, &mut r);
    let mut reduced = 0;
    for i in latency..loud.len() {
        let d = loud[i - latency];
        if d.abs() > 1e-3 {
            let g = l[i] / d;
            assert!((0.5..=1.0 + 1e-6).contains(&g), "sample {i}: gain {g}");
            if g < 0.95 {
                reduced += 1;
            }
        }
    }
    assert!(reduced > 1000, "the loud pass must actually compress");
}

/// Auto make-up restores a 0 dBFS signal to 0 dBFS (Giannoulis et al.: make-up = reduction at
/// 0 dB).
#[test]
fn auto_makeup_restores_full_scale() {
    let fs = 48_000.0;
    let mut c = Compressor::new(2, fs);
    c.set_sample_rate(f64::from(fs));
    c.set_settings(CompressorSettings {
        threshold_db: -24.0,
        ratio: 3.0,
        knee_db: 6.0,
        auto_makeup: true,
        ..CompressorSettings::default()
    });
    let mut l = vec![1.0f32; 48_000];
    let mut r = l.clone();
    run(&mut c, &mut l, &mut r);
    let out_db = 20.0 * (l[47_999] as f64).log10();
    assert!(out_db.abs() < 0.01, "{out_db}");
}

/// A 30 Hz tone far above threshold is ignored by a sidechain high-passed at 300 Hz (12 dB/oct
/// gives about -40 dB at 30 Hz), while a 1 kHz tone is still compressed.
#[test]
fn sidechain_high_pass_ignores_sub_bass() {
    let fs = 48_000.0;
    let settings = CompressorSettings {
        threshold_db: -20.0,
        ratio: 4.0,
        knee_db: 0.0,
        sidechain_hpf_hz: 300.0,
        ..CompressorSettings::default()
    };
    let measure = |freq: f64| {
        let mut c = Compressor::new(2, fs);
        c.set_sample_rate(f64::from(fs));
        c.set_settings(settings);
        let x = sine(48_000, freq, fs as f64, 0.5);
        let mut l = x.clone();
        let mut r = x.clone();
        run(&mut c, &mut l, &mut r);
        20.0 * (rms(&l[24_000..]) / rms(&x[24_000..])).log10()
    };
    let sub = measure(30.0);
    let mid = measure(1000.0);
    assert!(sub > -0.2, "30 Hz reduced by {sub} dB");
    assert!(mid < -8.0, "1 kHz only reduced by {mid} dB");
}

/// Opto and auto release are program dependent: recovery after a long loud passage is slower
/// than after a short burst; the clean style recovers at the same speed either way.
#[test]
fn program_dependent_release_slows_after_sustained_reduction() {
    let fs = 48_000.0;
    let recovery_ms = |style: CompressorStyle, auto: bool, burst: usize| {
        let mut c = Compressor::new(1, fs);
        c.set_sample_rate(f64::from(fs));
        c.set_settings(CompressorSettings {
            style,
            auto_release: auto,
            threshold_db: -20.0,
            ratio: 4.0,
            knee_db: 0.0,
            attack_ms: 1.0,
            release_ms: 100.0,
            ..CompressorSettings::default()
        });
        let mut x = vec![1.0f32; burst];
        x.extend(std::iter::repeat_n(0.01f32, 5 * 48_000));
        let input = x.clone();
        let mut chans: [&mut [f32]; 1] = [&mut x];
        c.process_block(&mut chans);
        // Samples until the reduction falls below 3 dB after the burst.
        let after = &x[burst..];
        after
            .iter()
            .zip(&input[burst..])
            .position(|(&y, &i)| -20.0 * (y / i).log10() < 3.0)
            .unwrap() as f64
            / 48.0
    };
    for (style, auto) in [
        (CompressorStyle::Opto, false),
        (CompressorStyle::Glue, true),
    ] {
        let short = recovery_ms(style, auto, 960);
        let long = recovery_ms(style, auto, 96_000);
        println!("{style:?}: recovery after 20 ms {short:.1} ms, after 2 s {long:.1} ms");
        assert!(long > 2.0 * short, "{style:?}: {short} vs {long}");
    }
    let short = recovery_ms(CompressorStyle::Clean, false, 960);
    let long = recovery_ms(CompressorStyle::Clean, false, 96_000);
    assert!(
        (long / short - 1.0).abs() < 0.05,
        "clean: {short} vs {long}"
    );
}
