//! The Stem Channel chain: block-size independence, latency equal to the measured impulse
//! shift and constant across section toggles, aligned bypass cross-fades, every stem preset
//! producing finite non-silent output, gain match against an independent loudness meter (the
//! `ebur128` crate, a port of libebur128), serde round trip, bad input and no allocation while
//! processing.

use ebur128::{EbuR128, Mode};
use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::settings::{ChannelSettings, DynamicsMode, StemType, CHANNEL_EQ_BANDS};
use shared_dsp::eq::{BandKind, BandSettings, DynamicSettings, Placement};
use shared_dsp::saturation::SaturationMode;
use std::f64::consts::PI;
use test_signals::Xorshift64Star;

mod alias_support;
mod alloc_support;
use alias_support::{alias_test_tone, worst_alias, ALIAS_FS};
use alloc_support::allocations;

const SR: f64 = 48_000.0;

/// Stereo pink noise (P. Kellet's refined -3 dB/oct filter on white noise), scaled to
/// `rms_dbfs` per channel.
fn pink(seconds: f64, rms_dbfs: f64, seed: u64) -> [Vec<f32>; 2] {
    let n = (seconds * SR) as usize;
    let mut rng = Xorshift64Star(seed);
    let mut channel = || {
        let mut b = [0.0f64; 7];
        let raw: Vec<f64> = (0..n)
            .map(|_| {
                let w = rng.bipolar();
                b[0] = 0.99886 * b[0] + w * 0.0555179;
                b[1] = 0.99332 * b[1] + w * 0.0750759;
                b[2] = 0.96900 * b[2] + w * 0.1538520;
                b[3] = 0.86650 * b[3] + w * 0.3104856;
                b[4] = 0.55000 * b[4] + w * 0.5329522;
                b[5] = -0.7616 * b[5] - w * 0.0168980;
                let p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
                b[6] = w * 0.115926;
                p
            })
            .collect();
        let rms = (raw.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
        let k = 10f64.powf(rms_dbfs / 20.0) / rms;
        raw.iter().map(|v| (v * k) as f32).collect::<Vec<f32>>()
    };
    let l = channel();
    let r = channel();
    [l, r]
}

/// Music-like test signal: a decaying chord on a beat, a bass line, noise, a side component.
fn programme(seconds: f64, seed: u64) -> [Vec<f32>; 2] {
    let n = (seconds * SR) as usize;
    let mut rng = Xorshift64Star(seed);
    let mut l = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / SR;
        let env = (-(t % 0.25) * 12.0).exp();
        let chord = [220.0, 277.2, 329.6, 3_100.0]
            .iter()
            .map(|f| (2.0 * PI * f * t).sin())
            .sum::<f64>()
            * 0.12
            * env;
        let bass = 0.3 * (2.0 * PI * 70.0 * t).sin();
        let noise = 0.03 * rng.bipolar();
        let side = 0.05 * (2.0 * PI * 9_000.0 * t).sin();
        l.push((chord + bass + noise + side) as f32);
        r.push((chord + bass + 0.03 * rng.bipolar() - side) as f32);
    }
    [l, r]
}

/// Every section on: 8 bands (two dynamic, one mid, one side), compressor, M/S, 4x saturation.
fn heavy() -> ChannelSettings {
    let mut s = ChannelSettings::for_stem(StemType::Drums);
    s.input_trim_db = 6.0;
    s.dc_filter_enabled = true;
    s.eq_bands[0] = BandSettings::new(BandKind::HighPass, 40.0, 0.0, 0.7);
    s.eq_bands[1] = BandSettings::new(BandKind::LowShelf, 120.0, 3.0, 0.7);
    s.eq_bands[2] = BandSettings {
        dynamic: DynamicSettings {
            enabled: true,
            threshold_db: -30.0,
            range_db: -6.0,
            ..DynamicSettings::default()
        },
        ..BandSettings::bell(250.0, 0.0, 1.0)
    };
    s.eq_bands[3] = BandSettings {
        placement: Placement::Mid,
        ..BandSettings::bell(900.0, 2.0, 1.0)
    };
    s.eq_bands[4] = BandSettings {
        dynamic: DynamicSettings {
            enabled: true,
            threshold_db: -36.0,
            range_db: -4.0,
            ..DynamicSettings::default()
        },
        ..BandSettings::bell(3_000.0, 0.0, 2.0)
    };
    s.eq_bands[5] = BandSettings::bell(6_000.0, 2.0, 1.0);
    s.eq_bands[6] = BandSettings {
        placement: Placement::Side,
        ..BandSettings::new(BandKind::HighShelf, 12_000.0, 4.0, 0.7)
    };
    s.eq_bands[7] = BandSettings::new(BandKind::LowPass, 18_000.0, 0.0, 0.7);
    s.compressor.threshold_db = -30.0;
    s.compressor.ratio = 6.0;
    s.compressor.mix_percent = 100.0;
    s.compressor.sidechain_hpf_hz = 80.0;
    s.stereo_enabled = true;
    s.stereo.width_percent = 130.0;
    s.stereo.mono_below_hz = 120.0;
    s.stereo.balance_percent = 5.0;
    s.saturation_enabled = true;
    s.saturation.drive_db = 12.0;
    s.saturation.mix_percent = 100.0;
    s.saturation.oversampling = 4;
    s.peak_control_enabled = true;
    s.peak_control_level_dbfs = -12.0;
    s.gain_match = true;
    s
}

fn render(settings: &ChannelSettings, input: &[Vec<f32>; 2], block: usize) -> [Vec<f32>; 2] {
    let mut chain = ChannelChain::new(4096, SR);
    chain.set_settings(settings);
    let [mut l, mut r] = input.clone();
    for (a, b) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        chain.process_block(a, b);
    }
    [l, r]
}

/// Any partition into blocks gives bit-identical output (heavy chain, both dynamics modes,
/// gain match on).
#[test]
fn output_is_independent_of_block_size() {
    let input = programme(0.4, 1);
    let mut multiband = heavy();
    multiband.dynamics_mode = DynamicsMode::Multiband;
    multiband.multiband.num_bands = 3;
    multiband.multiband.bands[0].threshold_db = -30.0;
    multiband.multiband.bands[0].ratio = 4.0;
    for settings in [heavy(), multiband] {
        let whole = render(&settings, &input, usize::MAX);
        for block in [1, 113, 4096] {
            let parts = render(&settings, &input, block);
            assert!(whole == parts, "block {block} differs");
        }
        assert!(whole[0].iter().all(|v| v.is_finite()));
    }
}

/// Position of the largest magnitude in the left output.
fn impulse_peak(settings: &ChannelSettings, len: usize) -> (usize, usize) {
    let mut chain = ChannelChain::new(1024, SR);
    chain.set_settings(settings);
    let mut l = vec![0.0f32; len];
    let mut r = vec![0.0f32; len];
    l[0] = 0.01;
    r[0] = 0.01;
    chain.process_block(&mut l, &mut r);
    let pos = l
        .iter()
        .enumerate()
        .fold((0, 0.0f32), |best, (i, v)| {
            if v.abs() > best.1 {
                (i, v.abs())
            } else {
                best
            }
        })
        .0;
    (pos, chain.latency_samples())
}

/// Declared latency equals the measured shift of an impulse for every combination of
/// section toggles, oversampling factors and lookaheads (sections set to pass a small impulse
/// unchanged in shape: no EQ bands, compressor threshold above it, width 100 %, low drive).
/// It never changes with toggles or the dynamics mode; it follows only the oversampling factor
/// and the lookahead, and a chain that does neither has none.
#[test]
fn latency_is_the_impulse_shift_and_constant_across_toggles() {
    let mut latencies = Vec::new();
    for lookahead_ms in [0.0f32, 2.0] {
        for factor in [1usize, 2, 4] {
            let mut expected = None;
            for mask in 0..32u32 {
                let mut s = ChannelSettings {
                    dc_filter_enabled: mask & 16 != 0,
                    eq_enabled: mask & 1 != 0,
                    compressor_enabled: mask & 2 != 0,
                    stereo_enabled: mask & 4 != 0,
                    saturation_enabled: mask & 8 != 0,
                    ..ChannelSettings::default()
                };
                s.compressor.threshold_db = 0.0;
                s.compressor.lookahead_ms = lookahead_ms;
                s.saturation.drive_db = 0.0;
                s.saturation.bias = 0.0;
                s.saturation.mode = SaturationMode::SoftClip;
                s.saturation.oversampling = factor;
                let (pos, latency) = impulse_peak(&s, 2048);
                assert_eq!(
                    pos, latency,
                    "mask {mask:04b}, {factor}x, {lookahead_ms} ms"
                );
                let e = *expected.get_or_insert(latency);
                assert_eq!(latency, e, "latency moved: mask {mask:04b}, {factor}x");
                // The multiband mode reports the same latency.
                s.dynamics_mode = DynamicsMode::Multiband;
                s.multiband.lookahead_ms = lookahead_ms;
                let mut chain = ChannelChain::new(64, SR);
                chain.set_settings(&s);
                assert_eq!(chain.latency_samples(), e);
            }
            latencies.push(expected.unwrap());
        }
    }
    println!("latencies (1x, 2x, 4x; then with 2 ms lookahead): {latencies:?}");
    assert_eq!(latencies[0], 0, "no oversampling, no lookahead: no latency");
    assert!(latencies[1] > 0 && latencies[2] > latencies[1]);
    // 2 ms of lookahead at 48 kHz is 96 samples more.
    for i in 0..3 {
        assert_eq!(latencies[i + 3] - latencies[i], 96);
    }
    assert_eq!(ChannelChain::new(64, SR).latency_samples(), 0);
}

/// Toggling sections while audio plays cross-fades between two aligned paths: with the
/// sections set near-transparent, the output with sections flipping every 50 ms stays within
/// 0.1 % of full scale of the output with them off. A one-sample misalignment of a 1 kHz sine
/// at -20 dBFS would differ by 0.013.
#[test]
fn section_toggles_cross_fade_aligned_paths() {
    let n = (0.6 * SR) as usize;
    let sine: Vec<f32> = (0..n)
        .map(|i| 0.1 * (2.0 * PI * 1000.0 * i as f64 / SR).sin() as f32)
        .collect();
    let mut base = ChannelSettings::default();
    base.compressor.threshold_db = 0.0;
    base.compressor.lookahead_ms = 1.0;
    base.saturation.mode = SaturationMode::SoftClip;
    base.saturation.drive_db = 0.0;
    base.saturation.oversampling = 2;
    base.saturation.bias = 0.0;
    let mut reference = ChannelChain::new(512, SR);
    let mut toggled = ChannelChain::new(512, SR);
    reference.set_settings(&base);
    toggled.set_settings(&base);
    let (mut rl, mut rr) = (sine.clone(), sine.clone());
    let (mut tl, mut tr) = (sine.clone(), sine.clone());
    let step = (0.05 * SR) as usize;
    let mut s = base.clone();
    for (k, start) in (0..n).step_by(step).enumerate() {
        let end = (start + step).min(n);
        reference.process_block(&mut rl[start..end], &mut rr[start..end]);
        s.compressor_enabled = k % 2 == 1;
        s.saturation_enabled = k % 4 >= 2;
        s.stereo_enabled = k % 3 == 0;
        s.eq_enabled = k % 2 == 0;
        toggled.set_settings(&s);
        toggled.process_block(&mut tl[start..end], &mut tr[start..end]);
    }
    let diff = rl
        .iter()
        .zip(&tl)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-3, "largest difference {diff}");
    assert_eq!(reference.latency_samples(), toggled.latency_samples());
}

fn rms_dbfs(x: &[f32]) -> f64 {
    let e = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * e.log10()
}

/// Every stem preset gives finite, non-silent output on a music-like signal, keeps its
/// loudness within the guide's +-1.5 dB (gain match on in every preset but Custom), and
/// makes only subtle EQ moves (every band gain within +-1.5 dB).
#[test]
fn every_stem_preset_is_finite_non_silent_and_subtle() {
    let input = programme(4.0, 7);
    for stem in StemType::ALL {
        let s = ChannelSettings::for_stem(stem);
        assert_eq!(s.stem_type, stem);
        assert_eq!(s.gain_match, stem != StemType::Custom);
        for b in s.eq_bands.iter().filter(|b| b.enabled) {
            assert!(b.gain_db.abs() <= 1.5, "{stem:?}: {b:?}");
        }
        let out = render(&s, &input, 512);
        for ch in &out {
            assert!(ch.iter().all(|v| v.is_finite()), "{stem:?}");
            let level = rms_dbfs(ch);
            assert!(level > -40.0, "{stem:?}: {level} dBFS");
        }
        let tail = (2.0 * SR) as usize;
        let change = loudness(&out, tail..out[0].len()) - loudness(&input, tail..input[0].len());
        assert!(change.abs() < 1.5, "{stem:?}: {change} LU");
    }
    assert_eq!(
        ChannelSettings::for_stem(StemType::Custom),
        ChannelSettings::default()
    );
}

/// Integrated loudness of `range` of a stereo signal, by libebur128 (the oracle).
fn loudness(x: &[Vec<f32>; 2], range: std::ops::Range<usize>) -> f64 {
    let mut m = EbuR128::new(2, SR as u32, Mode::I).unwrap();
    m.add_frames_planar_f32(&[&x[0][range.clone()], &x[1][range]])
        .unwrap();
    m.loudness_global().unwrap()
}

/// Gain match holds the loudness of pink noise through a heavy chain (+6 dB trim, +3/+4 dB
/// shelves, 6:1 compression at -30 dBFS, 12 dB of saturation drive) within 0.5 LU, measured
/// by libebur128 over the last 6 of 12 seconds; without gain match the same chain changes the
/// loudness by more than 2 LU (so the test can fail). The chain's own net-change readout
/// agrees with the oracle within 0.5 LU both ways.
#[test]
fn gain_match_holds_pink_noise_within_half_a_lu() {
    let input = pink(12.0, -20.0, 3);
    let tail = (6.0 * SR) as usize..input[0].len();
    let reference = loudness(&input, tail.clone());
    for gain_match in [true, false] {
        let mut s = heavy();
        s.gain_match = gain_match;
        let mut chain = ChannelChain::new(1024, SR);
        chain.set_settings(&s);
        let [mut l, mut r] = input.clone();
        for (a, b) in l.chunks_mut(1024).zip(r.chunks_mut(1024)) {
            chain.process_block(a, b);
        }
        let change = loudness(&[l, r], tail.clone()) - reference;
        let readout = chain.net_loudness_change_lu() as f64;
        println!("gain match {gain_match}: {change:+.3} LU (readout {readout:+.3} LU)");
        if gain_match {
            assert!(change.abs() < 0.5, "{change} LU");
        } else {
            assert!(change.abs() > 2.0, "not heavy: {change} LU");
        }
        assert!((readout - change).abs() < 0.5, "{readout} vs {change}");
    }
}

/// Output gain comes after gain match: it stays a deliberate level change.
#[test]
fn output_gain_is_not_compensated() {
    let input = pink(8.0, -20.0, 5);
    let tail = (4.0 * SR) as usize..input[0].len();
    let mut s = heavy();
    s.output_gain_db = -3.0;
    let out = render(&s, &input, 777);
    let change = loudness(&out, tail.clone()) - loudness(&input, tail);
    assert!((change + 3.0).abs() < 0.5, "{change} LU");
}

#[test]
fn settings_round_trip_through_serde() {
    for stem in StemType::ALL {
        let s = ChannelSettings::for_stem(stem);
        let json = serde_json::to_string(&s).unwrap();
        let back: ChannelSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
    let mut s = heavy();
    s.dynamics_mode = DynamicsMode::Multiband;
    let back: ChannelSettings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    // Missing fields take their defaults.
    let partial: ChannelSettings =
        serde_json::from_str(r#"{"stem_type":"Bass","input_trim_db":-3.0}"#).unwrap();
    assert_eq!(partial.stem_type, StemType::Bass);
    assert_eq!(partial.input_trim_db, -3.0);
    assert_eq!(partial.eq_bands.len(), CHANNEL_EQ_BANDS);
    assert_eq!(partial.compressor, ChannelSettings::default().compressor);
}

/// NaN/Inf input becomes silence, not poisoned state; zero-length blocks and rates from 22.05
/// to 384 kHz work.
#[test]
fn bad_input_and_odd_rates_are_handled() {
    for sr in [22_050.0, 44_100.0, 96_000.0, 192_000.0, 384_000.0] {
        let mut chain = ChannelChain::new(256, sr);
        chain.set_settings(&heavy());
        let mut l = vec![0.1f32; 1000];
        let mut r = vec![0.1f32; 1000];
        l[10] = f32::NAN;
        r[20] = f32::INFINITY;
        l[30] = f32::NEG_INFINITY;
        chain.process_block(&mut l, &mut r);
        chain.process_block(&mut [], &mut []);
        let mut l2: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.03).sin() * 0.3).collect();
        let mut r2 = l2.clone();
        chain.process_block(&mut l2, &mut r2);
        assert!(l.iter().chain(&r).chain(&l2).all(|v| v.is_finite()), "{sr}");
        assert!(rms_dbfs(&l2) > -40.0, "{sr}");
    }
    // Unequal lengths: the shorter one is processed.
    let mut chain = ChannelChain::new(256, SR);
    chain.process_block(&mut [0.5; 10], &mut [0.5; 7]);
    // Nonsense rates fall back instead of panicking.
    let mut chain = ChannelChain::new(0, f64::NAN);
    chain.process_block(&mut [0.5; 10], &mut [0.5; 10]);
}

/// Meters report the trimmed input peak, the output peak, compressor and dynamic-band gain
/// reduction.
#[test]
fn meters_report_levels_and_gain_reduction() {
    let input = programme(1.0, 9);
    let mut chain = ChannelChain::new(4096, SR);
    let s = heavy();
    chain.set_settings(&s);
    let [mut l, mut r] = input.clone();
    let peak_in = input[0]
        .iter()
        .chain(&input[1])
        .fold(0.0f32, |m, v| m.max(v.abs()));
    chain.process_block(&mut l, &mut r);
    let m = chain.meters();
    let trimmed = 20.0 * peak_in.log10() + 6.0;
    assert!((m.input_peak_dbfs - trimmed).abs() < 0.01, "{m:?}");
    let peak_out = l.iter().chain(&r).fold(0.0f32, |m, v| m.max(v.abs()));
    assert!((m.output_peak_dbfs - 20.0 * peak_out.log10()).abs() < 1e-4);
    assert!(m.compressor_gr_db > 1.0, "{m:?}");
    assert!(m.eq_dynamic_gain_db[2] < -0.1, "{m:?}");
    assert_eq!(m.eq_dynamic_gain_db[0], 0.0);
}

/// `set_settings` and `process_block` never allocate, including section toggles, mode and
/// oversampling switches, and resets.
#[test]
fn processing_never_allocates() {
    let input = programme(0.2, 11);
    let mut chain = ChannelChain::new(512, SR);
    let mut settings: Vec<ChannelSettings> = StemType::ALL
        .iter()
        .map(|&s| ChannelSettings::for_stem(s))
        .collect();
    let mut h = heavy();
    settings.push(h.clone());
    h.dynamics_mode = DynamicsMode::Multiband;
    h.saturation.oversampling = 2;
    h.stereo_enabled = false;
    settings.push(h);
    let [mut l, mut r] = input;
    let n = allocations(|| {
        for s in &settings {
            chain.set_settings(s);
            for (a, b) in l.chunks_mut(300).zip(r.chunks_mut(300)) {
                chain.process_block(a, b);
            }
        }
        chain.reset();
        chain.process_block(&mut l, &mut r);
    });
    assert_eq!(n, 0);
}

/// The default (transparent) chain passes audio bit-exactly with no latency, so a stem sits
/// untouched until something is switched on.
/// The DC filter takes a -26 dBFS offset out of a stem (below -100 dBFS after a second, as
/// the 10 Hz Butterworth high-pass's double zero at DC promises) and leaves the music's level
/// (a 100 Hz tone: -0.0002 dB by the analytic response) and the chain's latency alone.
#[test]
fn dc_filter_removes_a_stems_offset() {
    let n = (2.0 * SR) as usize;
    let tone = |i: usize| 0.25 * (2.0 * PI * 100.0 * i as f64 / SR).sin() as f32;
    let input = [
        (0..n).map(|i| tone(i) + 0.05).collect::<Vec<f32>>(),
        (0..n).map(|i| tone(i) - 0.05).collect::<Vec<f32>>(),
    ];
    let s = ChannelSettings {
        dc_filter_enabled: true,
        ..ChannelSettings::default()
    };
    let out = render(&s, &input, 512);
    let second = (SR as usize)..n;
    for ch in &out {
        let tail = &ch[second.clone()];
        let mean = tail.iter().map(|&x| x as f64).sum::<f64>() / tail.len() as f64;
        assert!(20.0 * mean.abs().log10() < -100.0, "DC left: {mean}");
        let level = rms_dbfs(tail)
            - rms_dbfs(
                &input[0][second.clone()]
                    .iter()
                    .map(|x| x - 0.05)
                    .collect::<Vec<_>>(),
            );
        assert!(level.abs() < 0.01, "level moved {level} dB");
    }
    let mut chain = ChannelChain::new(64, SR);
    chain.set_settings(&s);
    assert_eq!(chain.latency_samples(), 0);

    // Toggled every 50 ms while a 1 kHz tone at -20 dBFS plays, the output never leaves the
    // unfiltered tone by more than the filter's phase shift allows (2 sin(phi / 2) x 0.1 with
    // phi = sqrt(2) x 10 / 1000 rad: 0.0014) plus its settling: no click (a click or a
    // misaligned cross-fade would differ by up to 0.1).
    let m = (0.6 * SR) as usize;
    let sine: Vec<f32> = (0..m)
        .map(|i| 0.1 * (2.0 * PI * 1000.0 * i as f64 / SR).sin() as f32)
        .collect();
    let (mut l, mut r) = (sine.clone(), sine.clone());
    let mut chain = ChannelChain::new(512, SR);
    let step = (0.05 * SR) as usize;
    for (k, start) in (0..m).step_by(step).enumerate() {
        let end = (start + step).min(m);
        chain.set_settings(&ChannelSettings {
            dc_filter_enabled: k % 2 == 1,
            ..ChannelSettings::default()
        });
        chain.process_block(&mut l[start..end], &mut r[start..end]);
    }
    let diff = l
        .iter()
        .zip(&sine)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 0.004, "largest difference {diff}");
}

#[test]
fn default_chain_is_bit_exact() {
    let input = programme(0.3, 13);
    let out = render(&ChannelSettings::default(), &input, 333);
    assert!(out == input);
}

/// Renders `input` with `changes` (sample position, settings) applied at their positions, in
/// blocks of at most `block` samples (also split at the changes, as a plugin host does).
fn render_automated(
    first: &ChannelSettings,
    changes: &[(usize, ChannelSettings)],
    input: &[Vec<f32>; 2],
    block: usize,
) -> [Vec<f32>; 2] {
    let mut chain = ChannelChain::new(4096, SR);
    chain.set_settings(first);
    let [mut l, mut r] = input.clone();
    let n = l.len();
    let mut pos = 0;
    let mut next = 0;
    while pos < n {
        while next < changes.len() && changes[next].0 == pos {
            chain.set_settings(&changes[next].1);
            next += 1;
        }
        let limit = changes.get(next).map_or(n, |c| c.0);
        let end = pos.saturating_add(block).min(limit).min(n);
        chain.process_block(&mut l[pos..end], &mut r[pos..end]);
        pos = end;
    }
    [l, r]
}

/// Automation (settings changing while audio plays: smoothed gains, thresholds, width, drive,
/// EQ bands, a section toggle) gives the same output for any block partition, and a change at
/// sample N leaves every sample before N untouched while altering the output from N on.
#[test]
fn automation_is_block_size_independent_and_acts_from_its_sample() {
    let input = programme(0.5, 17);
    let first = heavy();
    let mut a = first.clone();
    a.input_trim_db = 3.0;
    a.compressor.threshold_db = -20.0;
    a.compressor.attack_ms = 8.0;
    a.stereo.width_percent = 80.0;
    a.saturation.drive_db = 6.0;
    a.eq_bands[5].gain_db = -2.0;
    a.eq_bands[5].freq_hz = 4_000.0;
    let mut b = a.clone();
    b.compressor.mix_percent = 50.0;
    b.output_gain_db = -2.0;
    b.stereo_enabled = false;
    let changes = [(3_001, a), (13_007, b)];
    let whole = render_automated(&first, &changes, &input, usize::MAX);
    for block in [1, 113, 4096] {
        let parts = render_automated(&first, &changes, &input, block);
        assert!(whole == parts, "block {block} differs");
    }
    let untouched = render(&first, &input, usize::MAX);
    let latency = ChannelChain::new(64, SR).latency_samples_for(&first);
    for ch in 0..2 {
        let first_diff = (0..whole[ch].len())
            .find(|&i| whole[ch][i] != untouched[ch][i])
            .expect("the automation changed nothing");
        // Nothing moves before the change; the trim acts on the input at once, so the output
        // moves within the latency (a drive change inside the oversampler shows sooner).
        assert!(
            (3_001..=3_001 + latency).contains(&first_diff),
            "channel {ch}: first difference at {first_diff}, latency {latency}"
        );
    }
}

/// Switching the loudness readout off (what the plugin does while its editor is closed) never
/// changes the audio; with gain match off it then reads 0 LU, and on again it measures afresh.
#[test]
fn loudness_readout_never_changes_the_audio() {
    let input = programme(3.0, 21);
    let mut s = heavy();
    s.gain_match = false;
    let with_readout = render(&s, &input, 512);
    let mut chain = ChannelChain::new(4096, SR);
    chain.set_loudness_readout(false);
    chain.set_settings(&s);
    let [mut l, mut r] = input.clone();
    chain.process_block(&mut l, &mut r);
    assert!(with_readout == [l, r]);
    assert_eq!(chain.net_loudness_change_lu(), 0.0);
    chain.set_loudness_readout(true);
    let [mut l, mut r] = input.clone();
    chain.process_block(&mut l, &mut r);
    assert!(
        chain.net_loudness_change_lu() < -2.0,
        "heavy chain, measured afresh"
    );
}

/// Peak control on a 1 kHz sine: at 0 dBFS (6 dB over a -6 dBFS clip level) the output stays
/// below the level (the curve's asymptote) and the meter reads the curve's reduction
/// `5 log10(1 + 2^4)` = 6.15 dB; at -36 dBFS the output is the input delayed by the reported
/// latency (the section's oversampler), within 0.001 dB (the curve's series starts at the fifth
/// power: 30 dB under the level it is 1e-7 of the line).
#[test]
fn peak_control_holds_peaks_to_its_level_and_leaves_quiet_audio_alone() {
    let base = ChannelChain::new(512, SR).latency_samples();
    let s = ChannelSettings {
        peak_control_enabled: true,
        peak_control_level_dbfs: -6.0,
        ..ChannelSettings::default()
    };
    let n = SR as usize;
    for amp_dbfs in [0.0f64, -36.0] {
        let amp = 10f64.powf(amp_dbfs / 20.0);
        let tone = test_signals::sine(n, 1000.0, SR, amp);
        let mut chain = ChannelChain::new(512, SR);
        chain.set_settings(&s);
        let latency = chain.latency_samples();
        assert!(latency > base, "the section's oversampler counts while on");
        let (mut l, mut r) = (tone.clone(), tone.clone());
        for (a, b) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
            chain.process_block(a, b);
        }
        let meters = chain.take_meters();
        let steady = &l[n / 2..];
        let peak_dbfs = 20.0 * (steady.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64).log10();
        println!(
            "{amp_dbfs} dBFS in: peak {peak_dbfs:.3} dBFS out, meter {:.3} dB, latency {latency}",
            meters.peak_control_reduction_db
        );
        if amp_dbfs == 0.0 {
            assert!(peak_dbfs < -6.0, "{peak_dbfs}");
            assert!(peak_dbfs > -6.0 - 6.2 - 0.2, "{peak_dbfs}");
            let expected = 5.0 * (1.0f64 + 16.0).log10();
            assert!(
                (meters.peak_control_reduction_db as f64 - expected).abs() < 0.05,
                "{} vs {expected}",
                meters.peak_control_reduction_db
            );
        } else {
            let worst = l[n / 2..]
                .iter()
                .zip(&tone[n / 2 - latency..])
                .map(|(o, i)| (o - i).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < (amp * 1.2e-4) as f32, "{worst}");
        }
    }
}

/// Issue 16's aliasing rule for the peak control: a 10 kHz sine at -6 dBFS through the section
/// at every clip level down to the range's bottom (-24 dBFS: 18 dB over it), every component
/// that is not the tone below -80 dBFS.
#[test]
fn peak_control_aliases_stay_below_minus_80_dbfs_at_every_level() {
    assert_eq!(SR, ALIAS_FS);
    for level_dbfs in [-6.0f32, -12.0, -18.0, -24.0] {
        let s = ChannelSettings {
            peak_control_enabled: true,
            peak_control_level_dbfs: level_dbfs,
            ..ChannelSettings::default()
        };
        let tone = alias_test_tone();
        let mut chain = ChannelChain::new(512, SR);
        chain.set_settings(&s);
        let (mut l, mut r) = (tone.clone(), tone);
        for (a, b) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
            chain.process_block(a, b);
        }
        let (hz, db) = worst_alias(&l);
        println!("level {level_dbfs} dBFS: worst {db:.1} dBFS at {hz} Hz");
        assert!(db < -80.0, "level {level_dbfs}: {db} dBFS at {hz} Hz");
    }
}

/// Switching the peak control on adds its latency, and the impulse moves by exactly that.
#[test]
fn peak_control_latency_is_the_impulse_shift() {
    for factor in [1usize, 4] {
        let mut s = ChannelSettings::default();
        s.saturation.oversampling = factor;
        let (pos_off, off) = impulse_peak(&s, 2048);
        s.peak_control_enabled = true;
        let (pos_on, on) = impulse_peak(&s, 2048);
        println!("{factor}x: latency {off} off, {on} on");
        assert_eq!(pos_off, off);
        assert_eq!(pos_on, on);
        assert!(on > off);
        let mut chain = ChannelChain::new(64, SR);
        chain.set_settings(&s);
        assert!(chain.max_latency_samples() >= on);
    }
}
