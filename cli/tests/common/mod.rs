//! Test signals and helpers shared by the `stem` integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ebur128::{EbuR128, Mode};
use stem_cli::audio::{write_wav_atomic, OutputFormat};
/// Deterministic white noise in [-1, 1] (f64 mapping), for every test here.
pub use test_signals::noise_via_f64;

pub const SR: u32 = 48_000;

/// A fresh, empty directory under the target dir for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Rounds to the 24-bit grid, so sums of stems are exact and written files read back bit for
/// bit.
pub fn q24(x: &mut [f32]) {
    for v in x {
        *v = (*v as f64 * 8_388_608.0).round() as f32 / 8_388_608.0;
    }
}

/// Four stereo stems of `seconds` (drums: noise bursts, bass: a moving mono bass line,
/// synths: a detuned chord, vocals: a vibrato tone), peaking around -10 dBFS, on the 24-bit
/// grid.
pub fn stems(seconds: f64) -> Vec<(String, [Vec<f32>; 2])> {
    let n = (seconds * SR as f64) as usize;
    let sr = SR as f64;
    let tau = std::f64::consts::TAU;
    let nz = noise_via_f64(n, 7);
    let nz2 = noise_via_f64(n, 11);
    let mut drums = [vec![0.0; n], vec![0.0; n]];
    for i in 0..n {
        let t = (i % (SR as usize / 2)) as f64 / sr;
        let env = (-t * 30.0).exp() as f32;
        drums[0][i] = 0.3 * env * nz[i];
        drums[1][i] = 0.3 * env * nz2[i];
    }
    let notes = [55.0, 73.4, 65.4, 49.0];
    let mut bass = [vec![0.0; n], vec![0.0; n]];
    let mut phase = 0.0f64;
    for i in 0..n {
        let f = notes[(i / (SR as usize / 2)) % notes.len()];
        phase += tau * f / sr;
        let v = (0.25 * phase.sin() + 0.06 * (2.0 * phase).sin()) as f32;
        bass[0][i] = v;
        bass[1][i] = v;
    }
    let mut synths = [vec![0.0; n], vec![0.0; n]];
    for i in 0..n {
        let t = i as f64 / sr;
        let mut l = 0.0;
        let mut r = 0.0;
        for f in [261.6, 329.6, 392.0] {
            l += (tau * f * t).sin();
            r += (tau * f * 1.003 * t).sin();
        }
        synths[0][i] = (0.1 * l) as f32;
        synths[1][i] = (0.1 * r) as f32;
    }
    let mut vocals = [vec![0.0; n], vec![0.0; n]];
    let mut ph = 0.0f64;
    for i in 0..n {
        let t = i as f64 / sr;
        let f = 220.0 * (1.0 + 0.01 * (tau * 5.5 * t).sin());
        ph += tau * f / sr;
        let v = (0.2 * ph.sin() + 0.08 * (3.0 * ph).sin() + 0.02 * nz[(i * 7) % n] as f64) as f32;
        vocals[0][i] = v;
        vocals[1][i] = v * 0.9;
    }
    let mut out = vec![
        ("drums.wav".to_string(), drums),
        ("bass.wav".to_string(), bass),
        ("synths.wav".to_string(), synths),
        ("vocals.wav".to_string(), vocals),
    ];
    for (_, s) in &mut out {
        q24(&mut s[0]);
        q24(&mut s[1]);
    }
    out
}

/// The exact sum of `stems` (exact in `f32` on the 24-bit grid).
pub fn mix_of(stems: &[(String, [Vec<f32>; 2])]) -> [Vec<f32>; 2] {
    let n = stems[0].1[0].len();
    let mut mix = [vec![0.0f32; n], vec![0.0f32; n]];
    for c in 0..2 {
        for i in 0..n {
            mix[c][i] = stems.iter().map(|s| s.1[c][i] as f64).sum::<f64>() as f32;
        }
    }
    mix
}

pub fn write(path: &Path, ch: &[Vec<f32>], sr: u32) {
    let refs: Vec<&[f32]> = ch.iter().map(|c| c.as_slice()).collect();
    write_wav_atomic(path, sr, &refs, OutputFormat::Pcm24, &[]).unwrap();
}

/// Writes the stems and their mix into `dir`; returns (stem paths, mix path).
pub fn write_set(
    dir: &Path,
    stems: &[(String, [Vec<f32>; 2])],
    mix: &[Vec<f32>; 2],
) -> (Vec<PathBuf>, PathBuf) {
    let paths: Vec<PathBuf> = stems
        .iter()
        .map(|(name, ch)| {
            let p = dir.join(name);
            write(&p, ch, SR);
            p
        })
        .collect();
    let mix_path = dir.join("mix.wav");
    write(&mix_path, mix, SR);
    (paths, mix_path)
}

/// Runs the `stem` binary.
pub fn stem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stem"))
        .args(args)
        .output()
        .expect("the stem binary runs")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Parses stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A RIFF chunk: id, little-endian size, body, and the pad byte after an odd-sized body.
pub fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend((body.len() as u32).to_le_bytes());
    v.extend(body);
    if body.len() % 2 == 1 {
        v.push(0); // RIFF pad byte
    }
    v
}

/// A RIFF/WAVE file of `chunks`.
pub fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut v = b"RIFF".to_vec();
    v.extend((4 + body.len() as u32).to_le_bytes());
    v.extend(b"WAVE");
    v.extend(body);
    v
}

/// A WAV file's channels (planar, as floats), its rate and word length.
pub fn read(path: &Path) -> (Vec<Vec<f32>>, u32, u16) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
    let inter: Vec<f32> = r
        .samples::<i32>()
        .map(|s| s.unwrap() as f32 / scale)
        .collect();
    let ch = spec.channels as usize;
    let planar = (0..ch)
        .map(|c| inter.iter().skip(c).step_by(ch).copied().collect())
        .collect();
    (planar, spec.sample_rate, spec.bits_per_sample)
}

pub fn ebu_integrated(ch: &[Vec<f32>], sr: u32) -> f64 {
    let mut e = EbuR128::new(2, sr, Mode::I).unwrap();
    e.add_frames_planar_f32(&[&ch[0], &ch[1]]).unwrap();
    e.loudness_global().unwrap()
}

/// True peak by 16x windowed-sinc interpolation (64 taps per phase, Blackman window),
/// independent of shared-dsp. Inter-sample points are evaluated wherever either neighbour
/// is within 12 dB of the file's sample peak: a band-limited inter-sample peak more than
/// 12 dB above both neighbouring samples needs pathological, near-Nyquist material.
pub fn true_peak_16x_dbtp(ch: &[Vec<f32>]) -> f64 {
    const L: usize = 16;
    const HALF: i64 = 32;
    let sinc = |x: f64| {
        if x.abs() < 1e-12 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        }
    };
    let blackman = |x: f64| {
        // x in [-HALF, HALF]
        let t = (x + HALF as f64) / (2 * HALF) as f64;
        0.42 - 0.5 * (std::f64::consts::TAU * t).cos()
            + 0.08 * (2.0 * std::f64::consts::TAU * t).cos()
    };
    let mut kernels = vec![vec![0.0f64; (2 * HALF) as usize]; L];
    for (p, k) in kernels.iter_mut().enumerate() {
        let frac = p as f64 / L as f64;
        for (j, v) in k.iter_mut().enumerate() {
            let x = (j as i64 - HALF + 1) as f64 - frac;
            *v = sinc(x) * blackman(x);
        }
    }
    let mut peak = 0.0f64;
    for x in ch {
        let sample_peak = x.iter().fold(0.0f32, |m, &v| m.max(v.abs())) as f64;
        peak = peak.max(sample_peak);
        let floor = sample_peak * 0.25;
        for n in 0..x.len().saturating_sub(1) {
            if (x[n].abs() as f64) < floor && (x[n + 1].abs() as f64) < floor {
                continue;
            }
            for (p, k) in kernels.iter().enumerate().skip(1) {
                let _ = p;
                let mut acc = 0.0f64;
                for (j, &c) in k.iter().enumerate() {
                    let idx = n as i64 + j as i64 - HALF + 1;
                    if idx >= 0 && (idx as usize) < x.len() {
                        acc += c * x[idx as usize] as f64;
                    }
                }
                peak = peak.max(acc.abs());
            }
        }
    }
    20.0 * peak.log10()
}
