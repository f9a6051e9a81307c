//! The input of `stem demo`: a deterministic synthetic song as five stems (drums, bass, synths,
//! a vocal-like formant voice, FX) plus their exact mixdown and a render preset. The binary runs
//! `check`, `render` (streaming, club and vinyl masters) and `report` on them, so the whole tool
//! can be seen working on a fresh machine with no audio of one's own.
//!
//! Everything is computed from fixed seeds and formulas (no clock, no threads in the synthesis),
//! so two runs write identical files. Oscillators are PolyBLEP saws (V. Välimäki and A. Huovilainen,
//! "Antialiasing Oscillators in Subtractive Synthesis", IEEE Signal Processing Magazine, 2007);
//! the voice is a saw source through three band-pass formant resonators (vowel formants after
//! G. E. Peterson and H. L. Barney, "Control Methods Used in a Study of the Vowels", JASA 1952).

use std::path::{Path, PathBuf};

use shared_dsp::filter::biquad::Biquad;
use shared_dsp::filter::coefficients::BiquadCoefs;

use crate::atomic::lock_output_dir;
use crate::atomic::write_text_atomic;
use crate::audio::{write_wav_atomic, OutputFormat};
use crate::error::{Error, Result};
use crate::files::create_dir;

/// Sample rate of the demo, Hz.
pub const DEMO_SAMPLE_RATE_HZ: u32 = 48_000;
/// Shortest and longest demo, seconds.
pub const MIN_SECONDS: f64 = 4.0;
pub const MAX_SECONDS: f64 = 600.0;
const BPM: f64 = 120.0;

/// The render preset the demo writes and uses: an example of every kind of setting.
pub const DEMO_PRESET: &str = r#"# Stem render preset, in physical units. Written by `stem demo`; edit it and re-run
#   stem render stems/*.wav --preset preset.toml --deliver streaming,club,vinyl --out masters
#
# [stems.<key>]   Stem Channel settings for the stems whose file name (without .wav) or role
#                 (drums, bass, synths, vocals, fx, other) is <key>. Fields left out keep the
#                 role's starting point from the guide (ChannelSettings::for_stem).
# [master]        Stem Master settings (MasterSettings); the limiter drive is found per delivery.
# [deliveries.<name>]  target_lufs / ceiling_dbtp / dr_above override the built-in targets
#                 (streaming -14 LUFS -1 dBTP, club -8 LUFS -1 dBTP, vinyl -16 LUFS -3 dBTP and
#                 DR above 10); its .stems.<key> and .master tables override per delivery.
# Arrays merge element by element: eq_bands = [{}, { gain_db = 2.0 }] changes band 2 only.

[stems.vocals]
output_gain_db = 0.5

[master]
glue_enabled = true

# Club: more low end on the bass stem (low shelf, band 2).
[deliveries.club.stems.bass]
eq_bands = [{}, { enabled = true, kind = "LowShelf", freq_hz = 90.0, gain_db = 2.5, q = 0.7 }]

# Vinyl: less sub below 60 Hz on bass and drums, lighter master dynamics.
[deliveries.vinyl]
# The guide gives vinyl a -3 dBTP ceiling and DR above 10 but no loudness; the built-in -16 LUFS
# leaves this song at DR10, so this master aims a little lower.
target_lufs = -17.0

[deliveries.vinyl.stems.bass]
eq_bands = [{}, { enabled = true, kind = "LowShelf", freq_hz = 60.0, gain_db = -4.0, q = 0.7 }]

[deliveries.vinyl.stems.drums]
eq_bands = [{ enabled = true, kind = "HighPass", freq_hz = 45.0, slope = "Db24" }]
# Keep the drum transients (DR above 10): no parallel compression or tape on this master.
compressor_enabled = false
saturation_enabled = false

[deliveries.vinyl.master]
glue_enabled = false
"#;

/// xorshift32: a tiny deterministic noise source.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 as f64 / u32::MAX as f64 * 2.0 - 1.0) as f32
    }
}

/// PolyBLEP correction for a saw with phase `t` in [0, 1) and increment `dt`.
fn poly_blep(t: f64, dt: f64) -> f64 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// A band-limited saw oscillator.
#[derive(Clone, Copy)]
struct Saw {
    phase: f64,
}

impl Saw {
    fn tick(&mut self, hz: f64, sr: f64) -> f64 {
        let dt = (hz / sr).min(0.5);
        let v = 2.0 * self.phase - 1.0 - poly_blep(self.phase, dt);
        self.phase += dt;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        }
        v
    }
}

fn midi_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// Song sections by bar: 0 intro (pads, FX), 1 verse, 2 chorus.
fn section(bar: usize, bars: usize) -> u8 {
    if bar < (bars / 8).max(1) {
        0
    } else if (bar / 4).is_multiple_of(2) {
        1
    } else {
        2
    }
}

/// Chord roots of the four-bar progression (Am, F, C, G), MIDI notes.
const ROOTS: [f64; 4] = [57.0, 53.0, 60.0, 55.0];
/// Chord tones above the root (minor for Am, major otherwise).
fn chord(bar: usize) -> [f64; 3] {
    let r = ROOTS[bar % 4];
    let third = if bar.is_multiple_of(4) { 3.0 } else { 4.0 };
    [r, r + third, r + 7.0]
}

/// The five stems, stereo, unnormalised: (file name, [left, right]).
pub fn synthesize(seconds: f64) -> Vec<(&'static str, [Vec<f32>; 2])> {
    let sr = DEMO_SAMPLE_RATE_HZ as f64;
    let n = (seconds * sr).round() as usize;
    let beat = 60.0 / BPM;
    let bar_len = 4.0 * beat;
    let bars = (seconds / bar_len).ceil() as usize;
    let tau = std::f64::consts::TAU;
    let at = |i: usize| i as f64 / sr;

    // Drums: kick on every beat (pitch-swept sine), snare on 2 and 4 (noise + tone), hats on
    // eighths (high-passed noise), a touch of stereo on the hats.
    let mut drums = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut nz = Noise(0x1234_5678);
    let mut hat_hp = [
        Biquad::new(BiquadCoefs::highpass(sr, 7_000.0, 0.7)),
        Biquad::new(BiquadCoefs::highpass(sr, 7_000.0, 0.7)),
    ];
    let mut snare_bp = Biquad::new(BiquadCoefs::bandpass(sr, 1_800.0, 0.8));
    let mut kick_phase = 0.0f64;
    for i in 0..n {
        let t = at(i);
        let bar = (t / bar_len) as usize;
        let sec = section(bar, bars);
        let tb = t % beat;
        let beat_no = ((t / beat) as usize) % 4;
        let mut l = 0.0f64;
        let mut r = 0.0f64;
        if sec > 0 {
            let f = 48.0 + 110.0 * (-tb / 0.03).exp();
            kick_phase += tau * f / sr;
            let kick = (kick_phase.sin() * (-tb / 0.28).exp()) * if sec == 2 { 1.0 } else { 0.8 };
            let snare_on = beat_no % 2 == 1;
            let noise = nz.next() as f64;
            let sn = if snare_on {
                let body = (tau * 190.0 * tb).sin() * (-tb / 0.07).exp();
                let rattle = snare_bp.tick(noise) * (-tb / 0.13).exp();
                0.5 * body + 1.4 * rattle
            } else {
                snare_bp.tick(0.0);
                0.0
            };
            let te = t % (beat / 2.0);
            let hat_env = (-te / 0.035).exp() * if sec == 2 { 0.5 } else { 0.35 };
            let hl = hat_hp[0].tick(nz.next() as f64) * hat_env;
            let hr = hat_hp[1].tick(nz.next() as f64) * hat_env;
            l = kick + sn + 0.8 * hl;
            r = kick + sn + hr;
        } else {
            kick_phase = 0.0;
        }
        drums[0][i] = l as f32;
        drums[1][i] = r as f32;
    }

    // Bass: root notes in eighths, a PolyBLEP saw through a resonant low-pass; mono.
    let mut bass = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut saw = Saw { phase: 0.0 };
    let mut lp = Biquad::new(BiquadCoefs::lowpass(sr, 380.0, 1.1));
    for i in 0..n {
        let t = at(i);
        let bar = (t / bar_len) as usize;
        let eighth = beat / 2.0;
        let te = t % eighth;
        let step = ((t / eighth) as usize) % 8;
        let octave = if step == 3 || step == 6 { 12.0 } else { 0.0 };
        let hz = midi_hz(ROOTS[bar % 4] - 24.0 + octave);
        let env = if section(bar, bars) == 0 {
            0.0
        } else {
            (1.0 - (-te / 0.004).exp()) * (-te / 0.18).exp()
        };
        let v = lp.tick(saw.tick(hz, sr)) * env;
        bass[0][i] = v as f32;
        bass[1][i] = v as f32;
    }

    // Synths: a pad of the chord, two saws per note detuned differently left and right, slow
    // attack per bar, low-passed.
    let mut synths = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut saws = [[Saw { phase: 0.0 }; 6], [Saw { phase: 0.37 }; 6]];
    let mut pad_lp = [
        Biquad::new(BiquadCoefs::lowpass(sr, 2_400.0, 0.7)),
        Biquad::new(BiquadCoefs::lowpass(sr, 2_400.0, 0.7)),
    ];
    for i in 0..n {
        let t = at(i);
        let bar = (t / bar_len) as usize;
        let tb = t % bar_len;
        let env = (1.0 - (-tb / 0.01).exp()) * (0.3 + 0.7 * (-tb / 0.6).exp());
        let level = match section(bar, bars) {
            0 => 0.6,
            1 => 0.8,
            _ => 1.0,
        };
        let notes = chord(bar);
        for (side, detune) in [(0usize, [0.996, 1.004]), (1, [0.998, 1.006])] {
            let mut v = 0.0;
            for (k, &note) in notes.iter().enumerate() {
                let hz = midi_hz(note);
                v += saws[side][2 * k].tick(hz * detune[0], sr);
                v += saws[side][2 * k + 1].tick(hz * detune[1], sr);
            }
            synths[side][i] = (pad_lp[side].tick(v) * env * level) as f32;
        }
    }

    // Vocal-like: a saw source with vibrato through three formant band-passes per vowel; a
    // melody of half-bar notes in A minor pentatonic with rests; nearly mono.
    const VOWELS: [[f64; 3]; 5] = [
        [730.0, 1090.0, 2440.0], // "ah"
        [530.0, 1840.0, 2480.0], // "eh"
        [270.0, 2290.0, 3010.0], // "ee"
        [570.0, 840.0, 2410.0],  // "aw"
        [300.0, 870.0, 2240.0],  // "oo"
    ];
    const MELODY: [f64; 16] = [
        69.0, 72.0, 74.0, 72.0, 76.0, 74.0, 72.0, 69.0, 67.0, 69.0, 72.0, 0.0, 74.0, 76.0, 74.0,
        0.0,
    ];
    let mut vocals = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut src = Saw { phase: 0.0 };
    let mut formants = [
        Biquad::new(BiquadCoefs::bandpass(sr, 730.0, 6.0)),
        Biquad::new(BiquadCoefs::bandpass(sr, 1090.0, 8.0)),
        Biquad::new(BiquadCoefs::bandpass(sr, 2440.0, 10.0)),
    ];
    let mut consonant = Biquad::new(BiquadCoefs::highpass(sr, 4_000.0, 0.7));
    let mut breath = Noise(0x00C0_FFEE);
    let mut current_note = usize::MAX;
    let half = bar_len / 2.0;
    for i in 0..n {
        let t = at(i);
        let bar = (t / bar_len) as usize;
        let note_idx = (t / half) as usize;
        let note = MELODY[note_idx % MELODY.len()];
        let tn = t % half;
        if note_idx != current_note {
            current_note = note_idx;
            let vowel = VOWELS[note_idx % VOWELS.len()];
            for (f, (&hz, q)) in formants.iter_mut().zip(vowel.iter().zip([6.0, 8.0, 10.0])) {
                f.set_coefs(BiquadCoefs::bandpass(sr, hz, q));
            }
        }
        let singing = section(bar, bars) > 0 && note > 0.0;
        let env = if singing {
            (1.0 - (-tn / 0.04).exp()) * (1.0 - ((tn - (half - 0.08)) / 0.08).clamp(0.0, 1.0))
        } else {
            0.0
        };
        let vib = 1.0 + 0.012 * (tau * 5.5 * t).sin() * (tn / 0.4).min(1.0);
        let s = src.tick(midi_hz(note.max(40.0)) * vib, sr);
        let v = formants[0].tick(s) + 0.6 * formants[1].tick(s) + 0.35 * formants[2].tick(s);
        // A consonant at each sung onset: 20 ms of high-passed noise.
        let burst = consonant.tick(breath.next() as f64);
        let cons = if singing && tn < 0.02 {
            2.5 * burst * (1.0 - tn / 0.02)
        } else {
            0.0
        };
        vocals[0][i] = (v * env + cons) as f32;
        vocals[1][i] = (v * env * 0.94 + cons) as f32;
    }

    // FX: a noise riser over the last bar of every four, wide (independent noise per side),
    // its low-pass opening as it rises; plus a low boom on each four-bar downbeat.
    let mut fx = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut nl = Noise(0x0BAD_5EED);
    let mut nr = Noise(0x5EED_0BAD);
    let mut state = [0.0f64; 2];
    for i in 0..n {
        let t = at(i);
        let bar = (t / bar_len) as usize;
        let in_phrase = t % (4.0 * bar_len);
        let riser = ((in_phrase - 3.0 * bar_len) / bar_len).clamp(0.0, 1.0);
        let coef = 0.01 + 0.5 * riser * riser;
        let boom = if bar % 4 == 0 && section(bar, bars) > 0 {
            (tau * 38.0 * in_phrase).sin() * (-in_phrase / 0.6).exp() * 0.8
        } else {
            0.0
        };
        for (side, nz) in [(0usize, &mut nl), (1, &mut nr)] {
            let x = nz.next() as f64;
            state[side] += coef * (x - state[side]);
            fx[side][i] = (state[side] * riser * riser * 1.5 + boom) as f32;
        }
    }

    vec![
        ("drums.wav", drums),
        ("bass.wav", bass),
        ("synths.wav", synths),
        ("vocals.wav", vocals),
        ("fx.wav", fx),
    ]
}

/// Peak targets of the stems, dBFS: within the guide's -12..-6 dBFS gain-staging window.
const STEM_PEAKS_DBFS: [f64; 5] = [-6.0, -11.9, -11.9, -11.0, -11.9];

/// Normalises every stem to its peak target and rounds to the 24-bit grid, so the mixdown is
/// their exact sum (every partial sum is on the grid, and exact in `f32`).
pub fn stems_and_mix(seconds: f64) -> (Vec<(&'static str, [Vec<f32>; 2])>, [Vec<f32>; 2]) {
    let mut stems = synthesize(seconds);
    for ((_, ch), peak_db) in stems.iter_mut().zip(STEM_PEAKS_DBFS) {
        let peak = ch.iter().flatten().fold(0.0f32, |m, &x| m.max(x.abs())) as f64;
        let g = if peak > 0.0 {
            10f64.powf(peak_db / 20.0) / peak
        } else {
            0.0
        };
        for x in ch.iter_mut().flatten() {
            *x = (((*x as f64) * g * 8_388_608.0).round() / 8_388_608.0) as f32;
        }
    }
    let n = stems[0].1[0].len();
    let mut mix = [vec![0.0f32; n], vec![0.0f32; n]];
    for (c, m) in mix.iter_mut().enumerate() {
        for (i, x) in m.iter_mut().enumerate() {
            *x = stems.iter().map(|s| s.1[c][i] as f64).sum::<f64>() as f32;
        }
    }
    (stems, mix)
}

/// The file that marks a folder as the demo's own, so running the demo again may reuse it.
pub const DEMO_MARKER_FILE: &str = ".stem-demo";

/// Writes the demo's stems (`stems/<name>.wav`) and mix (`mix.wav`) of `seconds` into `out`;
/// returns (stem paths, mix path). Refuses a folder that holds anything but a previous demo
/// unless `force` (it would replace a user's `mix.wav`, `preset.toml` or stems).
pub fn write_set(seconds: f64, out: &Path, force: bool) -> Result<(Vec<PathBuf>, PathBuf)> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) || seconds.is_nan() {
        return Err(Error::usage(format!(
            "--seconds {seconds}: the demo is {MIN_SECONDS} to {MAX_SECONDS} s long"
        )));
    }
    if out.exists() {
        let mut entries = std::fs::read_dir(out)
            .map_err(|e| Error::file(out, format!("cannot use as the demo's folder: {e}")))?;
        let is_demo = out.join(DEMO_MARKER_FILE).is_file();
        if entries.next().is_some() && !is_demo && !force {
            return Err(Error::file(
                out,
                "is not empty and not a previous demo's folder: choose a new or empty folder \
                 with --out, or pass --force to write the demo's files into it",
            ));
        }
    }
    create_dir(out)?;
    let _lock = lock_output_dir(out)?;
    write_text_atomic(
        &out.join(DEMO_MARKER_FILE),
        "Written by `stem demo`: running it again may replace the files here.\n",
    )?;
    let sr = DEMO_SAMPLE_RATE_HZ;
    let stems_dir = out.join("stems");
    println!(
        "stem demo: synthesising a {seconds:.0} s stem set at {} kHz...",
        sr / 1000
    );
    let (stems, mix) = stems_and_mix(seconds);
    let mut stem_paths = Vec::new();
    for (name, ch) in &stems {
        let path = stems_dir.join(name);
        write_wav_atomic(&path, sr, &[&ch[0], &ch[1]], OutputFormat::Pcm24, &[])?;
        stem_paths.push(path);
    }
    let mix_path = out.join("mix.wav");
    write_wav_atomic(&mix_path, sr, &[&mix[0], &mix[1]], OutputFormat::Pcm24, &[])?;
    Ok((stem_paths, mix_path))
}
