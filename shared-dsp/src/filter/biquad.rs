//! Transposed Direct Form II biquad and biquad cascade, `f64` state with `f32` input/output.
//!
//! TDF-II (Smith, "Introduction to Digital Filters", ch. "Transposed Direct-Forms") keeps the
//! two state variables at signal level, which with `f64` state gives clean low corners at high
//! sample rates. It is meant for static or slowly changed filters; anything automated at audio
//! rate should use [`crate::filter::svf::Svf`].

use super::coefficients::{BiquadCoefs, CascadeCoefs, MAX_SECTIONS};

/// Below this magnitude the state is flushed to zero, so decaying tails never reach subnormal
/// `f64` range (slow on x86) and outputs never become subnormal `f32`.
pub(crate) const FLUSH_BELOW: f64 = 1e-30;

/// Converts an internal sample to the `f32` boundary: non-finite and tiny values become zero.
#[inline(always)]
pub(crate) fn to_output(y: f64) -> f32 {
    let y32 = y as f32;
    if y32.abs() >= f32::MIN_POSITIVE && y32.is_finite() {
        y32
    } else {
        0.0
    }
}

/// Reads an `f32` sample into the recursive domain: NaN/Inf become zero so they never enter
/// the state.
#[inline(always)]
pub(crate) fn to_input(x: f32) -> f64 {
    if x.is_finite() {
        x as f64
    } else {
        0.0
    }
}

/// One mono TDF-II biquad.
#[derive(Clone, Copy, Debug, Default)]
pub struct Biquad {
    coefs: BiquadCoefs,
    s1: f64,
    s2: f64,
}

impl Biquad {
    pub fn new(coefs: BiquadCoefs) -> Self {
        Self {
            coefs,
            s1: 0.0,
            s2: 0.0,
        }
    }

    /// Replaces the coefficients, keeping the state (fine for small steps; use the SVF for
    /// automation).
    pub fn set_coefs(&mut self, coefs: BiquadCoefs) {
        self.coefs = coefs;
    }

    pub fn coefs(&self) -> &BiquadCoefs {
        &self.coefs
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    /// Filters one sample in the `f64` domain (no sanitising; used inside cascades).
    #[inline(always)]
    pub fn tick(&mut self, x: f64) -> f64 {
        let c = &self.coefs;
        let y = c.b0 * x + self.s1;
        self.s1 = c.b1 * x - c.a1 * y + self.s2;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }

    /// Restores a clean state after a block: NaN/Inf (from coefficients or overflow) resets,
    /// tiny values are flushed.
    #[inline]
    pub(crate) fn settle(&mut self) {
        if !(self.s1.is_finite() && self.s2.is_finite()) {
            self.reset();
        }
        if self.s1.abs() < FLUSH_BELOW {
            self.s1 = 0.0;
        }
        if self.s2.abs() < FLUSH_BELOW {
            self.s2 = 0.0;
        }
    }

    /// Filters one `f32` sample.
    #[inline]
    pub fn process_sample(&mut self, x: f32) -> f32 {
        let y = self.tick(to_input(x));
        self.settle();
        to_output(y)
    }

    /// Filters `buf` in place.
    pub fn process_block(&mut self, buf: &mut [f32]) {
        for s in buf.iter_mut() {
            *s = to_output(self.tick(to_input(*s)));
        }
        self.settle();
    }
}

/// A mono cascade of up to four TDF-II biquads (Butterworth up to 48 dB/oct).
#[derive(Clone, Copy, Debug)]
pub struct BiquadCascade {
    coefs: CascadeCoefs,
    stages: [Biquad; MAX_SECTIONS],
}

impl BiquadCascade {
    pub fn new(coefs: CascadeCoefs) -> Self {
        let mut c = Self {
            coefs,
            stages: [Biquad::default(); MAX_SECTIONS],
        };
        c.set_coefs(coefs);
        c
    }

    /// Replaces the coefficients, keeping the state of sections that remain.
    pub fn set_coefs(&mut self, coefs: CascadeCoefs) {
        self.coefs = coefs;
        for (stage, c) in self.stages.iter_mut().zip(coefs.sections()) {
            stage.set_coefs(*c);
        }
    }

    pub fn coefs(&self) -> &CascadeCoefs {
        &self.coefs
    }

    pub fn reset(&mut self) {
        for s in self.stages.iter_mut() {
            s.reset();
        }
    }

    /// Filters one `f32` sample.
    #[inline]
    pub fn process_sample(&mut self, x: f32) -> f32 {
        let n = self.coefs.sections().len();
        let mut y = to_input(x);
        for s in self.stages[..n].iter_mut() {
            y = s.tick(y);
            s.settle();
        }
        to_output(y)
    }

    /// Filters `buf` in place, one section at a time over the whole block (keeps each
    /// section's recursion in registers).
    pub fn process_block(&mut self, buf: &mut [f32]) {
        let n = self.coefs.sections().len();
        if n == 0 {
            crate::util::sanitize(buf);
            return;
        }
        // Work in f64 between sections in fixed chunks: no allocation, no precision loss.
        const CHUNK: usize = 64;
        let mut tmp = [0.0f64; CHUNK];
        for chunk in buf.chunks_mut(CHUNK) {
            for (t, &x) in tmp.iter_mut().zip(chunk.iter()) {
                *t = to_input(x);
            }
            let len = chunk.len();
            for s in self.stages[..n].iter_mut() {
                for t in tmp[..len].iter_mut() {
                    *t = s.tick(*t);
                }
                s.settle();
            }
            for (o, &t) in chunk.iter_mut().zip(tmp.iter()) {
                *o = to_output(t);
            }
        }
    }

    /// Complex response of the current coefficients at `hz`.
    pub fn response(&self, hz: f64) -> realfft::num_complex::Complex64 {
        self.coefs.response(hz)
    }
}
