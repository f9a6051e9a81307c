//! The unit contract (issue 15, item 3): one routine checks every [`Processor`] and every
//! [`Meter`] of the crate the same way, as fundsp checks every node:
//! 1. block-size independence: the same input in blocks of 1, 7, 64, 511 and 4096 samples
//!    gives the same output bit for bit. Every unit holds this with no tolerance: sub-blocks,
//!    control steps (`CONTROL_STEP_SAMPLES`), design steps and FFT hops are counted across
//!    calls, so a step lands on the same sample whatever the host's blocks;
//! 2. latency: at unity settings the latency reported before the first block equals the lag
//!    at which the cross-correlation of a band-limited click with the output peaks;
//! 3. no allocation inside `process_block` (the counting allocator of `alloc_support`);
//! 4. NaN recovery, without `reset()`: a unit that sanitises its input never outputs NaN/Inf;
//!    a gain or a delay passes them on, and its output is finite again once they have left
//!    (after its latency);
//! 5. reset: after `reset()` a used unit gives a fresh unit's output, bit for bit.
//!
//! Every unit runs at 22.05, 44.1, 48, 96 and 384 kHz; meters get clauses 1, 3, 4 and 5 on
//! their readings.

mod alloc_support;

use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::gain_match::GainMatch;
use shared_dsp::chain::master::MasterChain;
use shared_dsp::chain::{ChannelSettings, MasterEqMode, MasterSettings, StemType};
use shared_dsp::delay::DelayLine;
use shared_dsp::dither::{Dither, DitherMode, DitherSettings};
use shared_dsp::dynamics::{
    Compressor, CompressorSettings, Detection, Limiter, LimiterSettings, MultibandCompressor,
    MultibandSettings,
};
use shared_dsp::eq::{
    BandKind, BandSettings, DynamicSettings, LinearPhaseEq, LinearPhaseQuality, ParametricEq,
    Placement,
};
use shared_dsp::filter::Slope;
use shared_dsp::meter::correlation::Correlation;
use shared_dsp::meter::level::{Rms, SamplePeak};
use shared_dsp::meter::loudness::LoudnessMeter;
use shared_dsp::meter::programme::ProgrammeMeter;
use shared_dsp::meter::true_peak::TruePeakMeter;
use shared_dsp::saturation::{Saturation, SaturationSettings};
use shared_dsp::stereo::{StereoSettings, StereoTool};
use shared_dsp::unit::{Meter, Processor};

const RATES_HZ: [f64; 5] = [22_050.0, 44_100.0, 48_000.0, 96_000.0, 384_000.0];
const BLOCKS: [usize; 5] = [1, 7, 64, 511, 4096];
/// The largest block any case is built for.
const MAX_BLOCK: usize = 4096;
/// Where the test click is centred, in samples (after any start-up of the unit's state).
const CLICK_AT: usize = 2048;
/// Half-length of the click (a Hann-windowed sinc), samples.
const CLICK_HALF: usize = 16;

type Stereo = [Vec<f32>; 2];

/// One unit under the contract.
struct Case {
    name: &'static str,
    /// The unit with settings that make it work (compress, limit, saturate, move the image).
    working: fn(f64) -> Box<dyn Processor>,
    /// The unit at unity settings, where its output is its input delayed by its latency.
    unity: fn(f64) -> Box<dyn Processor>,
    /// How the unit gets over NaN/Inf input.
    nan: NanRecovery,
    /// For a unit whose unity response is an allpass rather than a pure delay (IIR crossovers):
    /// the same unit at unity with no latency. Its click shift is the allpass's, and the
    /// reported latency must be the unit's shift beyond it.
    phase_baseline: Option<fn(f64) -> Box<dyn Processor>>,
}

impl Case {
    /// A unit that sanitises its input.
    fn new(
        name: &'static str,
        working: fn(f64) -> Box<dyn Processor>,
        unity: fn(f64) -> Box<dyn Processor>,
    ) -> Self {
        Self {
            name,
            working,
            unity,
            nan: NanRecovery::Sanitises,
            phase_baseline: None,
        }
    }

    fn with_phase_baseline(self, baseline: fn(f64) -> Box<dyn Processor>) -> Self {
        Self {
            phase_baseline: Some(baseline),
            ..self
        }
    }

    fn passing_nan_through(self) -> Self {
        Self {
            nan: NanRecovery::PassesThrough,
            ..self
        }
    }
}

/// How a unit gets over a block holding NaN and +-Inf.
#[derive(Clone, Copy, PartialEq)]
enum NanRecovery {
    /// Non-finite input counts as silence: every output sample stays finite.
    Sanitises,
    /// Non-finite samples pass through (a gain, a delay) but no state keeps them: the output
    /// is finite again once they have left, after the unit's latency, without a reset.
    PassesThrough,
}

/// Stereo programme (noise and a low tone, loud and quiet in turn so dynamics work), the two
/// channels different.
fn programme(frames: usize) -> Stereo {
    [
        test_signals::programme(1, frames, 0.9, 0.05),
        test_signals::programme(2, frames, 0.6, 0.1),
    ]
}

/// Runs `unit` over `input` in blocks of `block` frames; returns the output and the number of
/// allocations the `process_block` calls made.
fn run(unit: &mut dyn Processor, input: &Stereo, block: usize) -> (Stereo, usize) {
    let mut out = input.clone();
    let [left, right] = &mut out;
    let allocations = alloc_support::allocations(|| {
        for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
            unit.process_block(&mut [l, r]);
        }
    });
    (out, allocations)
}

fn max_difference(a: &Stereo, b: &Stereo) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

fn all_finite(x: &Stereo) -> bool {
    x.iter().flatten().all(|v| v.is_finite())
}

/// A band-limited click: a Hann-windowed sinc with its corner at a fifth of the rate, peak
/// `amplitude`, centred on `CLICK_AT`.
fn click(frames: usize, amplitude: f32) -> Vec<f32> {
    let mut x = vec![0.0f32; frames];
    let half = CLICK_HALF as f64;
    for k in -(CLICK_HALF as i64)..=CLICK_HALF as i64 {
        let t = k as f64;
        let sinc = if k == 0 {
            1.0
        } else {
            (std::f64::consts::PI * 0.4 * t).sin() / (std::f64::consts::PI * 0.4 * t)
        };
        let hann = 0.5 + 0.5 * (std::f64::consts::PI * t / (half + 1.0)).cos();
        x[(CLICK_AT as i64 + k) as usize] = (amplitude as f64 * sinc * hann) as f32;
    }
    x
}

/// The lag (0 ..= `max_lag`) at which the cross-correlation of `click` and `output` peaks.
fn correlation_peak_lag(click: &[f32], output: &[f32], max_lag: usize) -> usize {
    let support = CLICK_AT - CLICK_HALF..=CLICK_AT + CLICK_HALF;
    (0..=max_lag)
        .map(|lag| {
            let c: f64 = support
                .clone()
                .map(|n| click[n] as f64 * output[n + lag] as f64)
                .sum();
            (lag, c)
        })
        .fold(
            (0, f64::MIN),
            |best, (lag, c)| if c > best.1 { (lag, c) } else { best },
        )
        .0
}

/// Clause 2: at unity settings the latency the unit reports before its first block equals the
/// lag at which the click's cross-correlation with the output peaks (searched over twice the
/// reported latency plus 8192 samples, so a wrong report of 0 cannot hide a long delay).
fn check_latency(case: &Case, sample_rate_hz: f64) -> Result<(), String> {
    let mut unity = (case.unity)(sample_rate_hz);
    let latency = unity.latency_samples();
    let lags = click_shift(&mut *unity, latency);
    let baseline = match case.phase_baseline {
        Some(make) => {
            let mut base = make(sample_rate_hz);
            assert_eq!(base.latency_samples(), 0, "{}: baseline latency", case.name);
            click_shift(&mut *base, 0)
        }
        None => [0; 2],
    };
    let beyond = [
        lags[0] as i64 - baseline[0] as i64,
        lags[1] as i64 - baseline[1] as i64,
    ];
    if beyond == [latency as i64; 2] {
        Ok(())
    } else {
        Err(format!(
            "click moved {lags:?} (allpass alone {baseline:?}), reported {latency}"
        ))
    }
}

/// Output delay added before correlating, so that an allpass whose correlation peaks slightly
/// before lag 0 (a fraction of a sample) is still found where it is.
const SHIFT_MARGIN: usize = 64;

/// Lag of the cross-correlation peak between a click and `unit`'s output, per channel
/// (negative when the output's peak leads the click).
fn click_shift(unit: &mut dyn Processor, latency: usize) -> [i64; 2] {
    let max_lag = 2 * latency + 8192;
    let frames = CLICK_AT + CLICK_HALF + max_lag + 1;
    let x = click(frames, 0.25);
    let (y, _) = run(unit, &[x.clone(), x.clone()], 512);
    let lag = |y: &[f32]| {
        let mut delayed = vec![0.0; SHIFT_MARGIN];
        delayed.extend_from_slice(&y[..y.len() - SHIFT_MARGIN]);
        correlation_peak_lag(&x, &delayed, max_lag) as i64 - SHIFT_MARGIN as i64
    };
    [lag(&y[0]), lag(&y[1])]
}

/// The whole contract for one case at one rate; returns the broken clauses.
fn check(case: &Case, sample_rate_hz: f64) -> Vec<String> {
    let label = format!("{} at {} Hz", case.name, sample_rate_hz);
    let mut broken = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            broken.push(format!("{label}: {what}"));
        }
    };

    // 2. Latency = click shift, at unity settings.
    if let Err(e) = check_latency(case, sample_rate_hz) {
        expect(false, e);
    }
    let latency = (case.working)(sample_rate_hz).latency_samples();

    // 1 and 3. Block-size independence, no allocation.
    let frames = latency + (0.15 * sample_rate_hz) as usize + MAX_BLOCK;
    let input = programme(frames);
    let mut reference: Option<Stereo> = None;
    for &block in &BLOCKS {
        let mut unit = (case.working)(sample_rate_hz);
        let (out, allocations) = run(&mut *unit, &input, block);
        expect(
            allocations == 0,
            format!("blocks of {block}: {allocations} allocations"),
        );
        expect(all_finite(&out), format!("blocks of {block}: not finite"));
        match &reference {
            None => reference = Some(out),
            Some(r) => {
                let d = max_difference(r, &out);
                expect(
                    r == &out,
                    format!("blocks of {block} differ from blocks of 1 by {d:e}"),
                );
            }
        }
    }

    // 5. Reset: a used unit after reset() = a fresh unit. The fresh unit gets a reset() too
    // before its first block: the chains' reset() lands their pending settings without
    // glides (`MasterChain::reset`), so both start from the same set state.
    let other = [
        test_signals::noise(input[0].len(), 7),
        test_signals::noise(input[0].len(), 8),
    ];
    let mut used = (case.working)(sample_rate_hz);
    run(&mut *used, &other, 512);
    used.reset();
    let (after_reset, _) = run(&mut *used, &input, 512);
    let mut fresh = (case.working)(sample_rate_hz);
    fresh.reset();
    let (fresh_out, _) = run(&mut *fresh, &input, 512);
    let d = max_difference(&after_reset, &fresh_out);
    expect(d == 0.0, format!("after reset differs from fresh by {d:e}"));

    // 4. NaN recovery.
    let mut unit = (case.working)(sample_rate_hz);
    let mut poisoned = programme(1024);
    poisoned[0][100] = f32::NAN;
    poisoned[1][200] = f32::INFINITY;
    poisoned[0][300] = f32::NEG_INFINITY;
    let (p, _) = run(&mut *unit, &poisoned, 512);
    if case.nan == NanRecovery::Sanitises {
        expect(all_finite(&p), "NaN/Inf went through".into());
    }
    let (after, _) = run(&mut *unit, &input, 512);
    let tail = [after[0][latency..].to_vec(), after[1][latency..].to_vec()];
    expect(all_finite(&tail), "not finite after NaN/Inf".into());
    broken
}

fn boxed<P: Processor + 'static>(p: P) -> Box<dyn Processor> {
    Box::new(p)
}

fn eq_bands() -> [BandSettings; 4] {
    [
        BandSettings {
            slope: Slope::Db24,
            ..BandSettings::new(BandKind::HighPass, 40.0, 0.0, 0.707)
        },
        BandSettings::bell(300.0, 3.0, 1.0),
        BandSettings {
            placement: Placement::Side,
            ..BandSettings::new(BandKind::HighShelf, 8_000.0, -2.0, 0.707)
        },
        BandSettings {
            dynamic: DynamicSettings {
                enabled: true,
                threshold_db: -30.0,
                range_db: -6.0,
                attack_ms: 5.0,
                release_ms: 80.0,
            },
            ..BandSettings::bell(3_000.0, 0.0, 2.0)
        },
    ]
}

fn parametric(sr: f64) -> Box<dyn Processor> {
    let mut eq = ParametricEq::new(sr);
    for (i, b) in eq_bands().into_iter().enumerate() {
        eq.set_band_immediately(i, b);
    }
    boxed(eq)
}

fn linear_phase(sr: f64, bands: &[BandSettings]) -> Box<dyn Processor> {
    let mut eq = LinearPhaseEq::new(sr, sr);
    eq.set_quality(LinearPhaseQuality::Low);
    eq.set_bands(bands);
    // The quality lands at the next block (an empty one will do), then the design.
    eq.process_block(&mut [], &mut []);
    eq.finish_design_now();
    boxed(eq)
}

fn compressor(sr: f64, settings: CompressorSettings) -> Box<dyn Processor> {
    let mut c = Compressor::new(2, sr as f32);
    c.set_sample_rate(sr);
    c.set_settings(settings);
    boxed(c)
}

fn multiband(sr: f64, settings: MultibandSettings) -> Box<dyn Processor> {
    let mut m = MultibandCompressor::new(2, sr as f32);
    m.set_sample_rate(sr);
    m.set_settings(settings);
    boxed(m)
}

fn limiter(sr: f64, input_gain_db: f32) -> Box<dyn Processor> {
    let mut l = Limiter::new(2, sr as f32);
    l.set_sample_rate(sr);
    l.set_settings(LimiterSettings {
        input_gain_db,
        ..LimiterSettings::default()
    });
    boxed(l)
}

fn saturation(sr: f64, drive_db: f32, oversampling: usize) -> Box<dyn Processor> {
    let mut s = Saturation::new(
        2,
        SaturationSettings {
            drive_db,
            oversampling,
            ..SaturationSettings::default()
        },
    );
    s.set_sample_rate(sr);
    boxed(s)
}

fn stereo_tool(sr: f64, settings: StereoSettings) -> Box<dyn Processor> {
    let mut s = StereoTool::new();
    s.set_sample_rate(sr);
    s.set_settings(settings);
    boxed(s)
}

fn dither(_sr: f64) -> Box<dyn Processor> {
    let mut d = Dither::new(2);
    d.set_settings(DitherSettings {
        mode: DitherMode::NoiseShaped,
        bits: 16,
    });
    boxed(d)
}

fn gain_match(sr: f64) -> Box<dyn Processor> {
    let mut g = GainMatch::new(sr);
    g.set_enabled(true);
    g.set_readout(true);
    boxed(g)
}

fn channel(sr: f64, settings: &ChannelSettings) -> Box<dyn Processor> {
    let mut c = ChannelChain::new(MAX_BLOCK, sr);
    c.set_settings(settings);
    boxed(c)
}

fn master(sr: f64, settings: &MasterSettings) -> Box<dyn Processor> {
    let mut m = MasterChain::new(MAX_BLOCK, sr);
    m.set_settings(settings);
    m.finish_design_now();
    boxed(m)
}

fn working_master(eq_mode: MasterEqMode) -> MasterSettings {
    let mut s = MasterSettings {
        glue_enabled: true,
        eq_enabled: true,
        eq_mode,
        width_enabled: true,
        stereo: StereoSettings {
            width_percent: 120.0,
            mono_below_hz: 100.0,
            balance_percent: 0.0,
        },
        ..MasterSettings::default()
    };
    s.eq_bands[0] = BandSettings::bell(200.0, -2.0, 1.0);
    s.eq_bands[1] = BandSettings::new(BandKind::HighShelf, 10_000.0, 1.5, 0.707);
    s.limiter.input_gain_db = 6.0;
    s.dither = DitherSettings {
        mode: DitherMode::Tpdf,
        bits: 24,
    };
    s
}

fn cases() -> Vec<Case> {
    vec![
        Case::new("ParametricEq", parametric, |sr| {
            boxed(ParametricEq::new(sr))
        }),
        Case::new(
            "LinearPhaseEq",
            |sr| linear_phase(sr, &eq_bands()),
            |sr| linear_phase(sr, &[]),
        ),
        Case::new(
            "Compressor",
            |sr| {
                compressor(
                    sr,
                    CompressorSettings {
                        lookahead_ms: 2.0,
                        sidechain_hpf_hz: 80.0,
                        ..CompressorSettings::default()
                    },
                )
            },
            |sr| {
                compressor(
                    sr,
                    CompressorSettings {
                        threshold_db: 0.0,
                        ratio: 1.0,
                        lookahead_ms: 2.0,
                        ..CompressorSettings::default()
                    },
                )
            },
        ),
        Case::new(
            "Compressor (RMS)",
            |sr| {
                compressor(
                    sr,
                    CompressorSettings {
                        detection: Detection::Rms,
                        auto_release: true,
                        mix_percent: 50.0,
                        ..CompressorSettings::default()
                    },
                )
            },
            |sr| {
                compressor(
                    sr,
                    CompressorSettings {
                        threshold_db: 0.0,
                        ratio: 1.0,
                        ..CompressorSettings::default()
                    },
                )
            },
        ),
        Case::new(
            "MultibandCompressor",
            |sr| {
                multiband(
                    sr,
                    MultibandSettings {
                        lookahead_ms: 2.0,
                        ..MultibandSettings::vocal_low_mid()
                    },
                )
            },
            |sr| {
                multiband(
                    sr,
                    MultibandSettings {
                        lookahead_ms: 2.0,
                        ..MultibandSettings::default()
                    },
                )
            },
        )
        .with_phase_baseline(|sr| {
            multiband(
                sr,
                MultibandSettings {
                    lookahead_ms: 0.0,
                    ..MultibandSettings::default()
                },
            )
        }),
        Case::new("Limiter", |sr| limiter(sr, 12.0), |sr| limiter(sr, 0.0)),
        Case::new(
            "Saturation x4",
            |sr| saturation(sr, 12.0, 4),
            |sr| saturation(sr, 0.0, 4),
        ),
        Case::new(
            "Saturation x2",
            |sr| saturation(sr, 12.0, 2),
            |sr| saturation(sr, 0.0, 2),
        ),
        Case::new(
            "Saturation x1",
            |sr| saturation(sr, 12.0, 1),
            |sr| saturation(sr, 0.0, 1),
        ),
        Case::new(
            "StereoTool",
            |sr| {
                stereo_tool(
                    sr,
                    StereoSettings {
                        width_percent: 150.0,
                        mono_below_hz: 120.0,
                        balance_percent: 10.0,
                    },
                )
            },
            |sr| stereo_tool(sr, StereoSettings::default()),
        ),
        Case::new(
            "DelayLine",
            |_| {
                let mut d = DelayLine::new(2, 4096);
                d.set_delay_samples(37);
                boxed(d)
            },
            |_| {
                let mut d = DelayLine::new(2, 4096);
                d.set_delay_samples(37);
                boxed(d)
            },
        )
        .passing_nan_through(),
        Case::new("Dither", dither, dither),
        Case::new("GainMatch", gain_match, gain_match).passing_nan_through(),
        Case::new(
            "ChannelChain (drums)",
            |sr| channel(sr, &ChannelSettings::for_stem(StemType::Drums)),
            |sr| channel(sr, &ChannelSettings::default()),
        ),
        Case::new(
            "ChannelChain (bass)",
            |sr| channel(sr, &ChannelSettings::for_stem(StemType::Bass)),
            |sr| channel(sr, &ChannelSettings::default()),
        ),
        Case::new(
            "MasterChain (zero latency EQ)",
            |sr| master(sr, &working_master(MasterEqMode::ZeroLatency)),
            |sr| master(sr, &MasterSettings::default()),
        ),
        Case::new(
            "MasterChain (linear-phase EQ)",
            |sr| master(sr, &working_master(MasterEqMode::LinearLow)),
            |sr| {
                master(
                    sr,
                    &MasterSettings {
                        eq_enabled: true,
                        eq_mode: MasterEqMode::LinearLow,
                        ..MasterSettings::default()
                    },
                )
            },
        ),
    ]
}

#[test]
fn every_processor_keeps_the_unit_contract() {
    let mut broken = Vec::new();
    for case in cases() {
        for &sr in &RATES_HZ {
            broken.extend(check(&case, sr));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Feeds `input` to `meter` in blocks of `block` frames; returns the allocations made.
fn feed<M: Meter>(meter: &mut M, input: &Stereo, block: usize) -> usize {
    alloc_support::allocations(|| {
        for (l, r) in input[0].chunks(block).zip(input[1].chunks(block)) {
            meter.process_block(&[l, r]);
        }
    })
}

/// Readings compare bit for bit (`-inf` for silence included).
fn same_readings(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The contract for a meter (no latency clause: a meter passes no audio on): its readings
/// after the same input in any partition into blocks, and after `reset()`, are a fresh
/// meter's bit for bit; no allocation; NaN/Inf input counts as silence, so the readings stay
/// numbers (never NaN) without a reset.
fn check_meter<M: Meter>(
    name: &str,
    make: impl Fn(f64) -> M,
    read: impl Fn(&M) -> Vec<f64>,
) -> Vec<String> {
    let mut broken = Vec::new();
    for &sr in &RATES_HZ {
        let label = format!("{name} at {sr} Hz");
        let mut expect = |ok: bool, what: String| {
            if !ok {
                broken.push(format!("{label}: {what}"));
            }
        };
        let input = programme((0.7 * sr) as usize);
        let mut reference: Option<Vec<f64>> = None;
        for &block in &BLOCKS {
            let mut meter = make(sr);
            let allocations = feed(&mut meter, &input, block);
            expect(
                allocations == 0,
                format!("blocks of {block}: {allocations} allocations"),
            );
            let readings = read(&meter);
            match &reference {
                None => reference = Some(readings),
                Some(r) => expect(
                    same_readings(r, &readings),
                    format!("blocks of {block}: {readings:?} vs blocks of 1: {r:?}"),
                ),
            }
        }
        let other = [
            test_signals::noise(input[0].len(), 7),
            test_signals::noise(input[0].len(), 8),
        ];
        let mut used = make(sr);
        feed(&mut used, &other, 512);
        used.reset();
        feed(&mut used, &input, 512);
        let fresh = reference.unwrap_or_default();
        expect(
            same_readings(&read(&used), &fresh),
            format!("after reset {:?} vs fresh {fresh:?}", read(&used)),
        );
        let mut meter = make(sr);
        let mut poisoned = programme(1024);
        poisoned[0][100] = f32::NAN;
        poisoned[1][200] = f32::INFINITY;
        poisoned[0][300] = f32::NEG_INFINITY;
        feed(&mut meter, &poisoned, 512);
        feed(&mut meter, &input, 512);
        let readings = read(&meter);
        expect(
            readings.iter().all(|v| !v.is_nan()),
            format!("NaN after NaN/Inf input: {readings:?}"),
        );
    }
    broken
}

#[test]
fn every_meter_keeps_the_unit_contract() {
    let mut broken = Vec::new();
    broken.extend(check_meter(
        "LoudnessMeter",
        |sr| LoudnessMeter::new(2, sr),
        |m| {
            vec![
                m.momentary_lufs(),
                m.short_term_lufs(),
                m.integrated_lufs(),
                m.loudness_range_lu(),
                m.max_momentary_lufs(),
                m.max_short_term_lufs(),
            ]
        },
    ));
    broken.extend(check_meter(
        "TruePeakMeter",
        |sr| TruePeakMeter::new(2, sr),
        |m| vec![m.true_peak_dbtp()],
    ));
    broken.extend(check_meter(
        "ProgrammeMeter",
        |sr| ProgrammeMeter::new(2, sr),
        |m| vec![m.max_true_peak_dbtp(), m.plr_db(), m.psr_db()],
    ));
    broken.extend(check_meter(
        "SamplePeak",
        |_| SamplePeak::new(2),
        |m| vec![m.peak_dbfs()],
    ));
    broken.extend(check_meter(
        "Rms",
        |sr| Rms::new(2, sr),
        |m| vec![m.rms_dbfs(), m.total_rms_dbfs()],
    ));
    broken.extend(check_meter("Correlation", Correlation::new, |m| {
        vec![m.correlation()]
    }));
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
