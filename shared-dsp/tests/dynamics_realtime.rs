//! Real-time rules for every unit of the dynamics issue (compressor, multiband, limiter,
//! saturation, stereo tool, dither, delay line): blocks of 1, 113 and 4096 samples give the
//! same output as one big block; NaN/Inf input never produces NaN/Inf or subnormal output and
//! the unit recovers (output after the bad block equals that of a unit fed silence instead);
//! `process_block` never allocates (counting global allocator).

use shared_dsp::delay::DelayLine;
use shared_dsp::dither::{Dither, DitherMode, DitherSettings};
use shared_dsp::dynamics::{
    Compressor, CompressorSettings, CompressorStyle, Detection, Limiter, LimiterSettings,
    MultibandCompressor, MultibandSettings,
};
use shared_dsp::saturation::{Saturation, SaturationMode, SaturationSettings};
use shared_dsp::stereo::{StereoSettings, StereoTool};
use test_signals::Xorshift32;

mod alloc_support;
use alloc_support::thread_allocations as allocations;

const FS: f32 = 48_000.0;

/// A stereo processor under test, as a closure-friendly trait object.
trait Unit {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]);
}

impl Unit for Compressor {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(&mut [l, r]);
    }
}
impl Unit for MultibandCompressor {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(&mut [l, r]);
    }
}
impl Unit for Limiter {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(&mut [l, r]);
    }
}
impl Unit for Saturation {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(&mut [l, r]);
    }
}
impl Unit for StereoTool {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(l, r);
    }
}
impl Unit for Dither {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(&mut [l, r]);
    }
}
impl Unit for DelayLine {
    fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_block(0, l);
        self.process_block(1, r);
    }
}

/// Every unit, freshly built, in a configuration that exercises its state (lookahead,
/// filters, program-dependent release, oversampling, noise shaping).
fn units() -> Vec<(&'static str, Box<dyn Unit>)> {
    let mut comp = Compressor::new(2, FS);
    comp.set_sample_rate(f64::from(FS));
    comp.set_settings(CompressorSettings {
        style: CompressorStyle::Opto,
        detection: Detection::Rms,
        threshold_db: -30.0,
        sidechain_hpf_hz: 80.0,
        lookahead_ms: 2.0,
        mix_percent: 60.0,
        ..CompressorSettings::default()
    });
    let mut glue = Compressor::new(2, FS);
    glue.set_sample_rate(f64::from(FS));
    glue.set_settings(CompressorSettings {
        threshold_db: -30.0,
        ..CompressorSettings::master_glue()
    });
    let mut mb = MultibandCompressor::new(2, FS);
    mb.set_sample_rate(f64::from(FS));
    let mut mbs = MultibandSettings::vocal_low_mid();
    mbs.num_bands = 4;
    mbs.lookahead_ms = 1.0;
    mb.set_settings(mbs);
    let mut lim = Limiter::new(2, FS);
    lim.set_sample_rate(f64::from(FS));
    lim.set_settings(LimiterSettings {
        input_gain_db: 12.0,
        ..LimiterSettings::default()
    });
    let mut sat = Saturation::new(
        2,
        SaturationSettings {
            drive_db: 12.0,
            mix_percent: 70.0,
            ..SaturationSettings::default()
        },
    );
    sat.set_sample_rate(f64::from(FS));
    let mut clip = Saturation::new(
        2,
        SaturationSettings {
            mode: SaturationMode::SoftClip,
            oversampling: 2,
            ..SaturationSettings::default()
        },
    );
    clip.set_sample_rate(f64::from(FS));
    let mut st = StereoTool::new();
    st.set_sample_rate(f64::from(FS));
    st.set_settings(StereoSettings {
        width_percent: 140.0,
        mono_below_hz: 100.0,
        balance_percent: -20.0,
    });
    let mut dither = Dither::new(2);
    dither.set_settings(DitherSettings {
        mode: DitherMode::NoiseShaped,
        bits: 16,
    });
    let mut delay = DelayLine::new(2, 1000);
    delay.set_delay_samples(777);
    vec![
        ("compressor (opto, rms, hpf, lookahead)", Box::new(comp)),
        ("compressor (glue, auto release)", Box::new(glue)),
        ("multiband", Box::new(mb)),
        ("limiter", Box::new(lim)),
        ("saturation (tape 4x)", Box::new(sat)),
        ("saturation (soft clip 2x)", Box::new(clip)),
        ("stereo tool", Box::new(st)),
        ("dither", Box::new(dither)),
        ("delay line", Box::new(delay)),
    ]
}

fn test_signal(n: usize, seed: u32) -> Vec<f32> {
    let mut rng = Xorshift32(seed);
    (0..n)
        .map(|i| {
            let noise = rng.centred();
            let env = if (i / 3000) % 2 == 0 { 0.9 } else { 0.05 };
            env * (noise + (i as f32 * 0.01).sin())
        })
        .collect()
}

#[test]
fn block_sizes_agree_with_one_big_block() {
    let n = 12_000;
    let l0 = test_signal(n, 1);
    let r0 = test_signal(n, 2);
    let reference: Vec<(Vec<f32>, Vec<f32>)> = units()
        .into_iter()
        .map(|(_, mut u)| {
            let (mut l, mut r) = (l0.clone(), r0.clone());
            u.process(&mut l, &mut r);
            (l, r)
        })
        .collect();
    for block in [1usize, 113, 4096] {
        for ((name, mut u), (rl, rr)) in units().into_iter().zip(reference.iter()) {
            let (mut l, mut r) = (l0.clone(), r0.clone());
            for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
                u.process(cl, cr);
            }
            assert!(
                l == *rl && r == *rr,
                "{name}: block {block} differs from one block"
            );
        }
    }
}

#[test]
fn bad_input_is_survived_and_forgotten() {
    let n = 48_000;
    let l0 = test_signal(n, 3);
    let r0 = test_signal(n, 4);
    for ((name, mut bad), (_, mut good)) in units().into_iter().zip(units()) {
        let (mut l, mut r) = (l0.clone(), r0.clone());
        let (mut gl, mut gr) = (l0.clone(), r0.clone());
        for i in 1000..1100 {
            l[i] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-40][i % 4];
            r[i] = f32::NAN;
            gl[i] = if i % 4 == 3 { 1e-40 } else { 0.0 };
            gr[i] = 0.0;
        }
        bad.process(&mut l, &mut r);
        good.process(&mut gl, &mut gr);
        for v in l.iter().chain(r.iter()) {
            assert!(v.is_finite() && !v.is_subnormal(), "{name}: bad output {v}");
        }
        // NaN/Inf are treated as silence: the unit is in the same state as one fed silence.
        assert!(
            l == gl && r == gr,
            "{name}: did not recover like a unit fed silence"
        );
    }
}

#[test]
fn processing_never_allocates() {
    let n = 4096;
    let mut l = test_signal(n, 5);
    let mut r = test_signal(n, 6);
    let mut all = units();
    // Warm-up call outside the counted region (settings applied lazily on the first block).
    for (_, u) in all.iter_mut() {
        u.process(&mut l[..64], &mut r[..64]);
    }
    for (name, u) in all.iter_mut() {
        let before = allocations();
        for block in [1usize, 113, 4096] {
            for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
                u.process(cl, cr);
            }
        }
        let after = allocations();
        assert_eq!(after, before, "{name} allocated during processing");
    }
}

/// Settings changes are applied inside `process_block` without allocating either.
#[test]
fn settings_changes_do_not_allocate() {
    let mut comp = Compressor::new(2, FS);
    comp.set_sample_rate(f64::from(FS));
    let mut lim = Limiter::new(2, FS);
    lim.set_sample_rate(f64::from(FS));
    let mut mb = MultibandCompressor::new(2, FS);
    mb.set_sample_rate(f64::from(FS));
    let mut l = test_signal(512, 7);
    let mut r = test_signal(512, 8);
    let before = allocations();
    for k in 0..10 {
        comp.set_settings(CompressorSettings {
            attack_ms: 1.0 + k as f32,
            style: if k % 2 == 0 {
                CompressorStyle::Opto
            } else {
                CompressorStyle::Clean
            },
            lookahead_ms: k as f32,
            ..CompressorSettings::default()
        });
        comp.process_block(&mut [&mut l, &mut r]);
        assert_eq!(allocations(), before, "compressor {k}");
        lim.set_settings(LimiterSettings {
            lookahead_ms: 0.5 + k as f32,
            auto_release: k % 2 == 0,
            ..LimiterSettings::default()
        });
        lim.process_block(&mut [&mut l, &mut r]);
        assert_eq!(allocations(), before, "limiter {k}");
        mb.set_settings(MultibandSettings {
            num_bands: 2 + k % 3,
            ..MultibandSettings::default()
        });
        mb.process_block(&mut [&mut l, &mut r]);
    }
    assert_eq!(allocations(), before);
}
