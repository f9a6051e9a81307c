//! Saturation against numbers from outside its code: alias products of a hard-driven 10 kHz
//! sine measured on an exact-bin FFT (48 000 points at 48 kHz, so every harmonic and every
//! alias falls on an integer bin and needs no window), unity gain for quiet signals, latency
//! equal to the shift of an impulse, and no DC with an asymmetric curve.

use realfft::RealFftPlanner;
use shared_dsp::saturation::{Saturation, SaturationMode, SaturationSettings, ADAA_ABOVE_DRIVE_DB};

const FS: f32 = 48_000.0;

fn run_at(settings: SaturationSettings, input: &[f32], rate_hz: f32) -> Vec<f32> {
    let mut sat = Saturation::new(1, settings);
    sat.set_sample_rate(f64::from(rate_hz));
    let mut x = input.to_vec();
    // Blocks of 512, as a host would send them.
    for block in x.chunks_mut(512) {
        let mut chans: [&mut [f32]; 1] = [block];
        sat.process_block(&mut chans);
    }
    x
}

fn run(settings: SaturationSettings, input: &[f32]) -> Vec<f32> {
    run_at(settings, input, FS)
}

/// Amplitude spectrum (peak amplitude per 1 Hz bin) of exactly one second.
fn spectrum(x: &[f32]) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(x.len());
    let mut t: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut s = fft.make_output_vec();
    fft.process(&mut t, &mut s).unwrap();
    s.iter().map(|c| 2.0 * c.norm() / x.len() as f64).collect()
}

/// Largest component in 20 Hz..20 kHz that is not the 10 kHz fundamental or its 20 kHz
/// harmonic, in dBFS (a full-scale sine is 0 dBFS), for a 10 kHz sine of `level_dbfs` at
/// `rate_hz` (one second, so every harmonic and every alias of the integer-Hz tone falls on
/// an integer bin and needs no window), and the frequency where it lies.
fn worst_alias_at(settings: SaturationSettings, level_dbfs: f64, rate_hz: f32) -> (f64, f64) {
    let n = rate_hz as usize;
    let settle = n / 2;
    let amp = 10f64.powf(level_dbfs / 20.0);
    let input: Vec<f32> = (0..settle + n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * 10_000.0 * i as f64 / rate_hz as f64).sin()) as f32
        })
        .collect();
    let y = run_at(settings, &input, rate_hz);
    let spec = spectrum(&y[settle..]);
    let mut worst = 0.0f64;
    let mut worst_hz = 0;
    for (hz, &a) in spec.iter().enumerate().take(20_001).skip(20) {
        if hz == 10_000 || hz == 20_000 {
            continue;
        }
        if a > worst {
            worst = a;
            worst_hz = hz;
        }
    }
    (20.0 * worst.max(1e-12).log10(), worst_hz as f64)
}

fn worst_alias_dbfs(settings: SaturationSettings) -> (f64, f64) {
    worst_alias_at(settings, 0.0, FS)
}

#[test]
fn hard_driven_10khz_sine_aliases_stay_below_minus_80_dbfs_at_4x() {
    for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
        let settings = SaturationSettings {
            mode,
            drive_db: 6.0,
            bias: 0.2,
            oversampling: 4,
            ..SaturationSettings::default()
        };
        let (alias_db, hz) = worst_alias_dbfs(settings);
        // Without oversampling the same setting aliases far above the limit: proves the
        // signal is driven into strong nonlinearity and the measurement can fail.
        let (plain_db, _) = worst_alias_dbfs(SaturationSettings {
            oversampling: 1,
            ..settings
        });
        println!(
            "{mode:?}, drive +6 dB on a 0 dBFS 10 kHz sine: worst alias {alias_db:.1} dBFS at \
             {hz} Hz with 4x; {plain_db:.1} dBFS without oversampling"
        );
        // Both curves are analytic, so their harmonics fall off exponentially and 4x holds
        // the aliases under the issue's -80 dBFS.
        assert!(alias_db < -80.0, "{mode:?}: {alias_db} dBFS at {hz} Hz");
        assert!(
            plain_db > -50.0,
            "{mode:?}: 1x should alias, got {plain_db}"
        );
    }
}

#[test]
fn quiet_signal_passes_at_unity() {
    for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
        for oversampling in [1, 2, 4] {
            let settings = SaturationSettings {
                mode,
                drive_db: 12.0,
                bias: 0.3,
                oversampling,
                ..SaturationSettings::default()
            };
            let amp = 0.001; // -60 dBFS
            let input: Vec<f32> = (0..96_000)
                .map(|i| {
                    (amp * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / FS as f64).sin())
                        as f32
                })
                .collect();
            let y = run(settings, &input);
            let rms = |v: &[f32]| {
                (v.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
            };
            let gain_db = 20.0 * (rms(&y[48_000..]) / rms(&input[48_000..])).log10();
            assert!(
                gain_db.abs() < 0.1,
                "{mode:?} {oversampling}x: {gain_db} dB"
            );
        }
    }
}

#[test]
fn latency_equals_the_shift_of_an_impulse() {
    for oversampling in [1, 2, 4] {
        let settings = SaturationSettings {
            oversampling,
            bias: 0.0,
            ..SaturationSettings::default()
        };
        let mut sat = Saturation::new(1, settings);
        sat.set_sample_rate(f64::from(FS));
        let lat = sat.latency_samples();
        let mut x = vec![0.0f32; 1024];
        x[100] = 0.01;
        let mut chans: [&mut [f32]; 1] = [&mut x];
        sat.process_block(&mut chans);
        let peak = (0..x.len())
            .max_by(|&a, &b| x[a].abs().partial_cmp(&x[b].abs()).unwrap())
            .unwrap();
        assert_eq!(peak - 100, lat, "{oversampling}x");
    }
}

#[test]
fn asymmetric_curve_leaves_no_dc() {
    let settings = SaturationSettings {
        drive_db: 18.0,
        bias: 0.8,
        ..SaturationSettings::default()
    };
    let input: Vec<f32> = (0..5 * 48_000)
        .map(|i| (0.8 * (2.0 * std::f64::consts::PI * 100.0 * i as f64 / FS as f64).sin()) as f32)
        .collect();
    let y = run(settings, &input);
    let tail = &y[4 * 48_000..];
    let mean = tail.iter().map(|&v| v as f64).sum::<f64>() / tail.len() as f64;
    let peak = tail.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    assert!(mean.abs() < 1e-4 * peak as f64, "DC {mean}, peak {peak}");
}

/// At 50 % mix a quiet signal is the delayed input (dry path aligned with the oversampler).
#[test]
fn parallel_mix_is_aligned() {
    let settings = SaturationSettings {
        mix_percent: 50.0,
        ..SaturationSettings::default()
    };
    let mut sat = Saturation::new(1, settings);
    sat.set_sample_rate(f64::from(FS));
    let lat = sat.latency_samples();
    let input: Vec<f32> = (0..4800)
        .map(|i| (0.001 * (2.0 * std::f64::consts::PI * 3000.0 * i as f64 / 48_000.0).sin()) as f32)
        .collect();
    let mut x = input.clone();
    let mut chans: [&mut [f32]; 1] = [&mut x];
    sat.process_block(&mut chans);
    for i in 2000..4800 {
        assert!((x[i] - input[i - lat]).abs() < 2e-6, "sample {i}");
    }
}

/// The requirement: every drive from 0 to the maximum 36 dB (every 3 dB), both curves,
/// a 10 kHz sine at -6 dBFS and at 0 dBFS, at 44.1, 48 and 96 kHz, default 4x oversampling:
/// every alias below -80 dBFS.
#[test]
fn every_drive_keeps_aliases_below_minus_80_dbfs_at_4x() {
    let mut worst = Vec::new();
    for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
        for rate_hz in [44_100.0f32, 48_000.0, 96_000.0] {
            for level_dbfs in [-6.0, 0.0] {
                for step in 0..=12 {
                    let drive_db = 3.0 * step as f32;
                    let settings = SaturationSettings {
                        mode,
                        drive_db,
                        bias: 0.2,
                        oversampling: 4,
                        ..SaturationSettings::default()
                    };
                    let (db, hz) = worst_alias_at(settings, level_dbfs, rate_hz);
                    println!(
                        "{mode:?} {rate_hz} Hz {level_dbfs} dBFS drive {drive_db} dB: \
                         {db:.1} dBFS at {hz} Hz"
                    );
                    worst.push((db, format!("{mode:?} {rate_hz} {level_dbfs} {drive_db}")));
                }
            }
        }
    }
    let failing: Vec<_> = worst.iter().filter(|(db, _)| *db >= -80.0).collect();
    assert!(failing.is_empty(), "{failing:?}");
}

/// What the user accepts at 2x and 1x (48 kHz, every drive, -6 and 0 dBFS): printed for the
/// record, and the default 4x must beat both at every setting where either aliases audibly.
#[test]
fn lower_factors_alias_more_than_the_default() {
    for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
        for level_dbfs in [-6.0, 0.0] {
            let mut worst = [(f64::MIN, 0.0f32); 3];
            for step in 0..=12 {
                let drive_db = 3.0 * step as f32;
                let at = |oversampling| {
                    let settings = SaturationSettings {
                        mode,
                        drive_db,
                        bias: 0.2,
                        oversampling,
                        ..SaturationSettings::default()
                    };
                    worst_alias_at(settings, level_dbfs, FS).0
                };
                let figures = [at(1), at(2), at(4)];
                for (w, &db) in worst.iter_mut().zip(&figures) {
                    if db > w.0 {
                        *w = (db, drive_db);
                    }
                }
                for db in &figures[..2] {
                    if *db > -80.0 {
                        assert!(figures[2] < *db, "{mode:?} {drive_db} dB: {figures:?}");
                    }
                }
            }
            println!(
                "{mode:?} {level_dbfs} dBFS, worst alias over drive 0-36 dB: 1x {:.1} dBFS \
                 (at {} dB), 2x {:.1} dBFS (at {} dB), 4x {:.1} dBFS (at {} dB)",
                worst[0].0, worst[0].1, worst[1].0, worst[1].1, worst[2].0, worst[2].1
            );
        }
    }
}

/// Runs `input` in 512-sample blocks with `drive_db(block_start)` set before each block.
fn run_with_drive(
    settings: SaturationSettings,
    input: &[f32],
    drive_db: impl Fn(usize) -> f32,
) -> Vec<f32> {
    let mut sat = Saturation::new(1, settings);
    sat.set_sample_rate(f64::from(FS));
    let mut x = input.to_vec();
    for (b, block) in x.chunks_mut(512).enumerate() {
        sat.set_settings(SaturationSettings {
            drive_db: drive_db(b * 512),
            ..settings
        });
        let mut chans: [&mut [f32]; 1] = [block];
        sat.process_block(&mut chans);
    }
    x
}

/// Moving the drive across the ADAA threshold (either way) switches paths without a transient:
/// after the switch the output is never further from the run that used the new drive all
/// along than that run is from the one that kept the old drive (the steady-state difference
/// the drive change itself makes). A path that started from stale or empty state would differ
/// by the signal's own size for its filters' length.
#[test]
fn crossing_the_adaa_threshold_adds_no_transient() {
    let low = ADAA_ABOVE_DRIVE_DB;
    let high = ADAA_ABOVE_DRIVE_DB + 0.01;
    let switch = 512 * 47;
    let input: Vec<f32> = (0..48_000)
        .map(|i| (0.5 * (2.0 * std::f64::consts::PI * 1_000.0 * i as f64 / 48_000.0).sin()) as f32)
        .collect();
    for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
        let settings = SaturationSettings {
            mode,
            oversampling: 4,
            ..SaturationSettings::default()
        };
        let all_low = run_with_drive(settings, &input, |_| low);
        let all_high = run_with_drive(settings, &input, |_| high);
        let steady: f32 = all_low[switch..]
            .iter()
            .zip(&all_high[switch..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(steady > 1e-4, "{mode:?}: the two drives should differ");
        for (from, to, target) in [(low, high, &all_high), (high, low, &all_low)] {
            let y = run_with_drive(settings, &input, |i| if i < switch { from } else { to });
            assert_eq!(
                &y[..switch],
                if from == low {
                    &all_low[..switch]
                } else {
                    &all_high[..switch]
                }
            );
            let worst = y[switch..]
                .iter()
                .zip(&target[switch..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            println!("{mode:?} {from} -> {to} dB: worst {worst:.2e}, steady {steady:.2e}");
            assert!(
                worst <= steady + 1e-4,
                "{mode:?} {from} -> {to}: {worst} vs {steady}"
            );
        }
    }
}

/// On the ADAA path too the reported latency is the shift of an impulse, and a parallel blend
/// of a quiet signal is the delayed input (both paths have the same latency).
#[test]
fn adaa_path_is_aligned_with_the_dry_path() {
    for mode in [SaturationMode::Tape, SaturationMode::SoftClip] {
        let settings = SaturationSettings {
            mode,
            drive_db: 24.0,
            bias: 0.0,
            mix_percent: 50.0,
            oversampling: 4,
            ..SaturationSettings::default()
        };
        let mut sat = Saturation::new(1, settings);
        sat.set_sample_rate(f64::from(FS));
        let lat = sat.latency_samples();
        let plain = Saturation::new(
            1,
            SaturationSettings {
                drive_db: 0.0,
                ..settings
            },
        );
        assert_eq!(lat, plain.latency_samples(), "{mode:?}");
        let input: Vec<f32> = (0..4800)
            .map(|i| {
                (1e-4 * (2.0 * std::f64::consts::PI * 3000.0 * i as f64 / 48_000.0).sin()) as f32
            })
            .collect();
        let mut x = input.clone();
        let mut chans: [&mut [f32]; 1] = [&mut x];
        sat.process_block(&mut chans);
        for i in 2000..4800 {
            assert!((x[i] - input[i - lat]).abs() < 2e-7, "{mode:?} sample {i}");
        }
        let y = run_at(
            SaturationSettings {
                mix_percent: 100.0,
                ..settings
            },
            &{
                let mut imp = vec![0.0f32; 1024];
                imp[100] = 1e-4;
                imp
            },
            FS,
        );
        let peak = (0..y.len())
            .max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs()))
            .unwrap();
        assert_eq!(peak - 100, lat, "{mode:?}");
    }
}
