//! Linkwitz-Riley crossovers (LR2, LR4, LR8) on Simper TPT state-variable filters.
//!
//! S. Linkwitz, "Active Crossover Networks for Noncoincident Drivers", JAES 24(1), 1976; and
//! the order-2n construction as a squared Butterworth of order n (D. Bohn, "Linkwitz-Riley
//! Crossovers: A Primer", Rane Note 160). With `D(s)` the Butterworth polynomial of order n,
//! `low = 1/D^2`, `high = (+-s^n)/D^2`, and `low + high = D(-s)/D(s)`: an allpass, so the
//! bands sum to flat magnitude. For LR2 (n = 1) the high band is polarity-inverted to make
//! that true; LR4 and LR8 need no inversion.
//!
//! The sections are TPT SVFs (bilinear, prewarped at the crossover frequency), so the
//! low/high complementarity is exact in the digital domain too, and the crossover frequency
//! may be moved every block without clicks. They run in the SVF's state-space form
//! ([`SvfSpace`]: same integrator states, shorter recursion).

use super::biquad::{to_input, to_output};
use super::coefficients::butterworth_qs;
use super::svf::{SvfCoefs, SvfSpace, SvfState, SvfTaps};
use realfft::num_complex::Complex64;

/// Crossover order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LinkwitzRileyOrder {
    /// 12 dB/oct (Butterworth 1st order squared), high band inverted.
    Lr2,
    /// 24 dB/oct (Butterworth 2nd order squared).
    Lr4,
    /// 48 dB/oct (Butterworth 4th order squared).
    Lr8,
}

impl LinkwitzRileyOrder {
    /// Order of the underlying Butterworth filter (half the LR order).
    fn butterworth_order(self) -> usize {
        match self {
            Self::Lr2 => 1,
            Self::Lr4 => 2,
            Self::Lr8 => 4,
        }
    }

    /// Slope in dB/oct.
    pub fn db_per_octave(self) -> f64 {
        12.0 * self.butterworth_order() as f64
    }
}

/// Stage layout: up to two Butterworth sections per path, each used twice.
#[derive(Clone, Copy, Debug)]
struct Design {
    /// SVF taps for each distinct Butterworth section (LR2 uses one section of Q = 0.5 that
    /// is already the squared first-order filter).
    low: [SvfTaps; 2],
    high: [SvfTaps; 2],
    allpass: [SvfTaps; 2],
    /// The same sections in the state-space form they run in.
    low_run: [SvfSpace; 2],
    high_run: [SvfSpace; 2],
    allpass_run: [SvfSpace; 2],
    sections: usize,
    /// How many times the section list is applied (2 for LR4/LR8, 1 for LR2).
    repeats: usize,
    high_sign: f64,
}

impl Design {
    fn new(order: LinkwitzRileyOrder, sample_rate_hz: f64, hz: f64) -> Self {
        let mut d = Self {
            low: [SvfTaps::default(); 2],
            high: [SvfTaps::default(); 2],
            allpass: [SvfTaps::default(); 2],
            low_run: [SvfSpace::default(); 2],
            high_run: [SvfSpace::default(); 2],
            allpass_run: [SvfSpace::default(); 2],
            sections: 0,
            repeats: 2,
            high_sign: 1.0,
        };
        match order {
            LinkwitzRileyOrder::Lr2 => {
                // (1/(s+1))^2 = 1/(s^2 + 2 s + 1): one SVF with Q = 0.5. The sum low - high is
                // the first-order allpass (1 - s)/(1 + s) = (1 - s^2)/(s + 1)^2.
                d.low[0] = SvfCoefs::lowpass(sample_rate_hz, hz, 0.5).into();
                d.high[0] = SvfCoefs::highpass(sample_rate_hz, hz, 0.5).into();
                d.allpass[0] =
                    SvfCoefs::from_analog(sample_rate_hz, hz, 0.5, [1.0, 0.0, -1.0]).into();
                d.sections = 1;
                d.repeats = 1;
                d.high_sign = -1.0;
            }
            _ => {
                let (qs, pairs, _) = butterworth_qs(order.butterworth_order());
                for (i, &q) in qs.iter().take(pairs).enumerate() {
                    d.low[i] = SvfCoefs::lowpass(sample_rate_hz, hz, q).into();
                    d.high[i] = SvfCoefs::highpass(sample_rate_hz, hz, q).into();
                    d.allpass[i] = SvfCoefs::allpass(sample_rate_hz, hz, q).into();
                }
                d.sections = pairs;
            }
        }
        d.low_run = d.low.each_ref().map(SvfSpace::from);
        d.high_run = d.high.each_ref().map(SvfSpace::from);
        d.allpass_run = d.allpass.each_ref().map(SvfSpace::from);
        d
    }
}

/// A mono Linkwitz-Riley two-way crossover: splits a signal into low and high bands whose sum
/// is an allpass (flat magnitude). One instance per channel.
#[derive(Clone, Copy, Debug)]
pub struct LinkwitzRiley {
    order: LinkwitzRileyOrder,
    sample_rate_hz: f64,
    hz: f64,
    design: Design,
    low_state: [SvfState; 4],
    high_state: [SvfState; 4],
}

impl LinkwitzRiley {
    /// A crossover of `order` at `hz`.
    pub fn new(order: LinkwitzRileyOrder, sample_rate_hz: f64, hz: f64) -> Self {
        Self {
            order,
            sample_rate_hz,
            hz,
            design: Design::new(order, sample_rate_hz, hz),
            low_state: [SvfState::default(); 4],
            high_state: [SvfState::default(); 4],
        }
    }

    pub fn order(&self) -> LinkwitzRileyOrder {
        self.order
    }

    pub fn frequency_hz(&self) -> f64 {
        self.hz
    }

    /// Sets the sample rate (re-derives coefficients, keeps nothing of the old state).
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.design = Design::new(self.order, sample_rate_hz, self.hz);
        self.reset();
    }

    /// Moves the crossover frequency. Cheap (a few `tan`s) and click-free at block rate,
    /// because the SVF state carries over.
    pub fn set_frequency(&mut self, hz: f64) {
        if hz != self.hz {
            self.hz = hz;
            self.design = Design::new(self.order, self.sample_rate_hz, hz);
        }
    }

    /// Changes the order; clears the state because the section layout changes.
    pub fn set_order(&mut self, order: LinkwitzRileyOrder) {
        if order != self.order {
            self.order = order;
            self.design = Design::new(order, self.sample_rate_hz, self.hz);
            self.reset();
        }
    }

    pub fn reset(&mut self) {
        self.low_state = [SvfState::default(); 4];
        self.high_state = [SvfState::default(); 4];
    }

    #[inline(always)]
    fn split_f64(&mut self, x: f64) -> (f64, f64) {
        let d = &self.design;
        let mut lo = x;
        let mut hi = x;
        let mut i = 0;
        for _ in 0..d.repeats {
            for s in 0..d.sections {
                lo = self.low_state[i].tick_space(&d.low_run[s], lo);
                hi = self.high_state[i].tick_space(&d.high_run[s], hi);
                i += 1;
            }
        }
        (lo, d.high_sign * hi)
    }

    fn settle(&mut self) {
        for s in self.low_state.iter_mut().chain(self.high_state.iter_mut()) {
            s.settle();
        }
    }

    /// Splits one sample into (low, high).
    #[inline]
    pub fn split_sample(&mut self, x: f32) -> (f32, f32) {
        let (lo, hi) = self.split_f64(to_input(x));
        self.settle();
        (to_output(lo), to_output(hi))
    }

    /// Splits `input` into `low` and `high` (all the same length; extra output is untouched).
    pub fn split_block(&mut self, input: &[f32], low: &mut [f32], high: &mut [f32]) {
        let n = input.len().min(low.len()).min(high.len());
        match (self.design.sections, self.design.repeats) {
            (1, 1) => self.split_block_fixed::<1, 1, true>(&input[..n], low, &mut high[..n]),
            (1, 2) => self.split_block_fixed::<1, 2, true>(&input[..n], low, &mut high[..n]),
            (2, 2) => self.split_block_fixed::<2, 2, true>(&input[..n], low, &mut high[..n]),
            _ => {
                for ((&x, l), h) in input.iter().zip(low.iter_mut()).zip(high.iter_mut()) {
                    let (lo, hi) = self.split_f64(to_input(x));
                    *l = to_output(lo);
                    *h = to_output(hi);
                }
                self.settle();
            }
        }
    }

    /// Only the high band of `input`, with the bits `split_block` gives it, for when the low
    /// band is not needed (the low path's state stands still meanwhile).
    pub fn high_block(&mut self, input: &[f32], high: &mut [f32]) {
        let n = input.len().min(high.len());
        let (input, high) = (&input[..n], &mut high[..n]);
        match (self.design.sections, self.design.repeats) {
            (1, 1) => self.split_block_fixed::<1, 1, false>(input, &mut [], high),
            (1, 2) => self.split_block_fixed::<1, 2, false>(input, &mut [], high),
            (2, 2) => self.split_block_fixed::<2, 2, false>(input, &mut [], high),
            _ => {
                let mut low = [0.0f32; 256];
                for (x, h) in input.chunks(256).zip(high.chunks_mut(256)) {
                    self.split_block(x, &mut low[..x.len()], h);
                }
            }
        }
    }

    /// [`Self::split_block`] for a layout known at compile time: the stages unroll and their
    /// state stays in registers for the whole block (with run-time counts it lives in memory,
    /// and every sample waits on store-to-load forwarding). The same operations in the same
    /// order as [`Self::split_f64`], so the same bits. `input` and `high` have one length;
    /// `low` is written only when `LOW`.
    #[inline(always)]
    fn split_block_fixed<const SECTIONS: usize, const REPEATS: usize, const LOW: bool>(
        &mut self,
        input: &[f32],
        low: &mut [f32],
        high: &mut [f32],
    ) {
        let d = self.design;
        let mut low_state = self.low_state;
        let mut high_state = self.high_state;
        for (i, (&x, h)) in input.iter().zip(high.iter_mut()).enumerate() {
            let x = to_input(x);
            let (mut lo, mut hi) = (x, x);
            for r in 0..REPEATS {
                for s in 0..SECTIONS {
                    let k = r * SECTIONS + s;
                    if LOW {
                        lo = low_state[k].tick_space(&d.low_run[s], lo);
                    }
                    hi = high_state[k].tick_space(&d.high_run[s], hi);
                }
            }
            if LOW {
                low[i] = to_output(lo);
            }
            *h = to_output(d.high_sign * hi);
        }
        self.low_state = low_state;
        self.high_state = high_state;
        self.settle();
    }

    /// Splits two channels through two crossovers of the same design (`pair[c]` filters
    /// `input[c]`) in one pass: the SVF recurrences are latency-bound, so the two channels'
    /// chains interleave almost for free. Each channel gets exactly the bits of
    /// [`Self::split_block`]; crossovers of different designs are run one after the other.
    pub fn split_block_pair(
        pair: [&mut LinkwitzRiley; 2],
        input: [&[f32]; 2],
        low: [&mut [f32]; 2],
        high: [&mut [f32]; 2],
    ) {
        let [a, b] = pair;
        let same = a.order == b.order && a.hz == b.hz && a.sample_rate_hz == b.sample_rate_hz;
        let [la, lb] = low;
        let [ha, hb] = high;
        match (same, a.design.sections, a.design.repeats) {
            (true, 1, 1) => Self::split_pair_fixed::<1, 1>([a, b], input, [la, lb], [ha, hb]),
            (true, 1, 2) => Self::split_pair_fixed::<1, 2>([a, b], input, [la, lb], [ha, hb]),
            (true, 2, 2) => Self::split_pair_fixed::<2, 2>([a, b], input, [la, lb], [ha, hb]),
            _ => {
                a.split_block(input[0], la, ha);
                b.split_block(input[1], lb, hb);
            }
        }
    }

    #[inline(always)]
    fn split_pair_fixed<const SECTIONS: usize, const REPEATS: usize>(
        pair: [&mut LinkwitzRiley; 2],
        input: [&[f32]; 2],
        low: [&mut [f32]; 2],
        high: [&mut [f32]; 2],
    ) {
        let [a, b] = pair;
        let d = a.design;
        let (mut low_a, mut high_a) = (a.low_state, a.high_state);
        let (mut low_b, mut high_b) = (b.low_state, b.high_state);
        let [ya_lo, yb_lo] = low;
        let [ya_hi, yb_hi] = high;
        let n = input[0]
            .len()
            .min(input[1].len())
            .min(ya_lo.len())
            .min(yb_lo.len())
            .min(ya_hi.len())
            .min(yb_hi.len());
        for i in 0..n {
            let (xa, xb) = (to_input(input[0][i]), to_input(input[1][i]));
            let (mut lo_a, mut hi_a, mut lo_b, mut hi_b) = (xa, xa, xb, xb);
            for r in 0..REPEATS {
                for s in 0..SECTIONS {
                    let k = r * SECTIONS + s;
                    lo_a = low_a[k].tick_space(&d.low_run[s], lo_a);
                    hi_a = high_a[k].tick_space(&d.high_run[s], hi_a);
                    lo_b = low_b[k].tick_space(&d.low_run[s], lo_b);
                    hi_b = high_b[k].tick_space(&d.high_run[s], hi_b);
                }
            }
            ya_lo[i] = to_output(lo_a);
            ya_hi[i] = to_output(d.high_sign * hi_a);
            yb_lo[i] = to_output(lo_b);
            yb_hi[i] = to_output(d.high_sign * hi_b);
        }
        (a.low_state, a.high_state) = (low_a, high_a);
        (b.low_state, b.high_state) = (low_b, high_b);
        a.settle();
        b.settle();
    }

    /// Analytic response of the low band at `hz`.
    pub fn response_low(&self, hz: f64) -> Complex64 {
        self.path_response(&self.design.low, hz)
    }

    /// Analytic response of the high band at `hz` (including the LR2 polarity inversion).
    pub fn response_high(&self, hz: f64) -> Complex64 {
        self.path_response(&self.design.high, hz) * self.design.high_sign
    }

    /// Analytic response of low + high, an allpass: equal to [`LinkwitzRileyAllpass`]'s.
    pub fn response_sum(&self, hz: f64) -> Complex64 {
        self.response_low(hz) + self.response_high(hz)
    }

    fn path_response(&self, taps: &[SvfTaps; 2], hz: f64) -> Complex64 {
        let mut h = Complex64::new(1.0, 0.0);
        for _ in 0..self.design.repeats {
            for t in taps.iter().take(self.design.sections) {
                h *= taps_response(t, self.sample_rate_hz, hz);
            }
        }
        h
    }
}

/// Response of per-sample taps (recovers g and k from a1..a3).
fn taps_response(t: &SvfTaps, sample_rate_hz: f64, hz: f64) -> Complex64 {
    let g = t.a2 / t.a1;
    // a1 = 1/(1 + g (g + k)) => k = (1/a1 - 1)/g - g.
    let k = (1.0 / t.a1 - 1.0) / g - g;
    SvfCoefs {
        g,
        k,
        m0: t.m0,
        m1: t.m1,
        m2: t.m2,
    }
    .response(sample_rate_hz, hz)
}

/// The allpass with the same phase as a [`LinkwitzRiley`] crossover's band sum. Multiband
/// splitters put it on the bands that do not pass through a given crossover, so all bands
/// stay phase-aligned and still sum flat.
#[derive(Clone, Copy, Debug)]
pub struct LinkwitzRileyAllpass {
    order: LinkwitzRileyOrder,
    sample_rate_hz: f64,
    hz: f64,
    design: Design,
    state: [SvfState; 2],
}

impl LinkwitzRileyAllpass {
    pub fn new(order: LinkwitzRileyOrder, sample_rate_hz: f64, hz: f64) -> Self {
        Self {
            order,
            sample_rate_hz,
            hz,
            design: Design::new(order, sample_rate_hz, hz),
            state: [SvfState::default(); 2],
        }
    }

    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.sample_rate_hz = sample_rate_hz;
        self.design = Design::new(self.order, sample_rate_hz, self.hz);
        self.reset();
    }

    pub fn set_frequency(&mut self, hz: f64) {
        if hz != self.hz {
            self.hz = hz;
            self.design = Design::new(self.order, self.sample_rate_hz, hz);
        }
    }

    pub fn reset(&mut self) {
        self.state = [SvfState::default(); 2];
    }

    #[inline]
    pub fn process_sample(&mut self, x: f32) -> f32 {
        let mut y = to_input(x);
        for s in 0..self.design.sections {
            y = self.state[s].tick_space(&self.design.allpass_run[s], y);
            self.state[s].settle();
        }
        to_output(y)
    }

    pub fn process_block(&mut self, buf: &mut [f32]) {
        let n = self.design.sections;
        match n {
            1 => return self.process_block_fixed::<1>(buf),
            2 => return self.process_block_fixed::<2>(buf),
            _ => {}
        }
        for x in buf.iter_mut() {
            let mut y = to_input(*x);
            for s in 0..n {
                y = self.state[s].tick_space(&self.design.allpass_run[s], y);
            }
            *x = to_output(y);
        }
        for s in self.state.iter_mut() {
            s.settle();
        }
    }

    /// [`Self::process_block`] with the section count known at compile time, so the state
    /// stays in registers (see [`LinkwitzRiley::split_block`]); the same bits.
    #[inline(always)]
    fn process_block_fixed<const SECTIONS: usize>(&mut self, buf: &mut [f32]) {
        let d = self.design;
        let mut state = self.state;
        for x in buf.iter_mut() {
            let mut y = to_input(*x);
            for (st, taps) in state.iter_mut().zip(&d.allpass_run).take(SECTIONS) {
                y = st.tick_space(taps, y);
            }
            *x = to_output(y);
        }
        self.state = state;
        for s in self.state.iter_mut() {
            s.settle();
        }
    }

    /// Two channels through two allpasses of the same design in one pass (as
    /// [`LinkwitzRiley::split_block_pair`]); each channel gets the bits of
    /// [`Self::process_block`].
    pub fn process_block_pair(pair: [&mut LinkwitzRileyAllpass; 2], buf: [&mut [f32]; 2]) {
        let [a, b] = pair;
        let [xa, xb] = buf;
        let same = a.order == b.order && a.hz == b.hz && a.sample_rate_hz == b.sample_rate_hz;
        match (same, a.design.sections) {
            (true, 1) => Self::process_pair_fixed::<1>([a, b], [xa, xb]),
            (true, 2) => Self::process_pair_fixed::<2>([a, b], [xa, xb]),
            _ => {
                a.process_block(xa);
                b.process_block(xb);
            }
        }
    }

    #[inline(always)]
    fn process_pair_fixed<const SECTIONS: usize>(
        pair: [&mut LinkwitzRileyAllpass; 2],
        buf: [&mut [f32]; 2],
    ) {
        let [a, b] = pair;
        let [xa, xb] = buf;
        let d = a.design;
        let (mut sa, mut sb) = (a.state, b.state);
        for (pa, pb) in xa.iter_mut().zip(xb.iter_mut()) {
            let (mut ya, mut yb) = (to_input(*pa), to_input(*pb));
            for s in 0..SECTIONS {
                ya = sa[s].tick_space(&d.allpass_run[s], ya);
                yb = sb[s].tick_space(&d.allpass_run[s], yb);
            }
            *pa = to_output(ya);
            *pb = to_output(yb);
        }
        (a.state, b.state) = (sa, sb);
        for s in a.state.iter_mut().chain(b.state.iter_mut()) {
            s.settle();
        }
    }

    pub fn response(&self, hz: f64) -> Complex64 {
        let mut h = Complex64::new(1.0, 0.0);
        for t in self.design.allpass.iter().take(self.design.sections) {
            h *= taps_response(t, self.sample_rate_hz, hz);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_layout_blocks_match_the_generic_per_sample_path_bit_for_bit() {
        let x: Vec<f32> = (0..4000)
            .map(|i| ((i as f32 * 0.731).sin() + (i as f32 * 0.0137).cos()) * 0.5)
            .collect();
        for order in [
            LinkwitzRileyOrder::Lr2,
            LinkwitzRileyOrder::Lr4,
            LinkwitzRileyOrder::Lr8,
        ] {
            let mut block = LinkwitzRiley::new(order, 48_000.0, 250.0);
            let mut generic = block;
            let (mut lo, mut hi) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
            for ((xs, l), h) in x
                .chunks(113)
                .zip(lo.chunks_mut(113))
                .zip(hi.chunks_mut(113))
            {
                block.split_block(xs, l, h);
            }
            for (i, &s) in x.iter().enumerate() {
                let (l, h) = generic.split_f64(to_input(s));
                assert_eq!(lo[i].to_bits(), to_output(l).to_bits(), "{order:?} low {i}");
                assert_eq!(
                    hi[i].to_bits(),
                    to_output(h).to_bits(),
                    "{order:?} high {i}"
                );
            }
            // Two channels in one pass: each the bits of its own split.
            let y: Vec<f32> = x.iter().rev().map(|v| -0.7 * v).collect();
            let mut a = LinkwitzRiley::new(order, 48_000.0, 250.0);
            let mut b = a;
            let mut single = a;
            let n = x.len();
            let (mut la, mut ha, mut lb, mut hb) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            for k in (0..n).step_by(113) {
                let e = (k + 113).min(n);
                LinkwitzRiley::split_block_pair(
                    [&mut a, &mut b],
                    [&x[k..e], &y[k..e]],
                    [&mut la[k..e], &mut lb[k..e]],
                    [&mut ha[k..e], &mut hb[k..e]],
                );
            }
            assert_eq!((&la, &ha), (&lo, &hi), "{order:?} pair, channel 0");
            // The high band alone: the same bits.
            let mut high_only = LinkwitzRiley::new(order, 48_000.0, 250.0);
            let mut h0 = vec![0.0; n];
            for (xs, h) in x.chunks(113).zip(h0.chunks_mut(113)) {
                high_only.high_block(xs, h);
            }
            assert_eq!(h0, hi, "{order:?} high band alone");
            let (mut l1, mut h1) = (vec![0.0; n], vec![0.0; n]);
            single.split_block(&y, &mut l1, &mut h1);
            assert_eq!((&lb, &hb), (&l1, &h1), "{order:?} pair, channel 1");
            // Allpasses, single and paired, against the generic per-sample path.
            let mut ap = LinkwitzRileyAllpass::new(order, 48_000.0, 250.0);
            let (mut pa, mut pb, mut reference) = (ap, ap, ap);
            let (mut u, mut v, mut w) = (x.clone(), y.clone(), x.clone());
            ap.process_block(&mut u);
            LinkwitzRileyAllpass::process_block_pair([&mut pa, &mut pb], [&mut w, &mut v]);
            for (i, &s) in x.iter().enumerate() {
                let mut t = to_input(s);
                for k in 0..reference.design.sections {
                    t = reference.state[k].tick_space(&reference.design.allpass_run[k], t);
                }
                assert_eq!(
                    u[i].to_bits(),
                    to_output(t).to_bits(),
                    "{order:?} allpass {i}"
                );
                assert_eq!(w[i].to_bits(), u[i].to_bits(), "{order:?} allpass pair {i}");
            }
            let mut v1 = y.clone();
            LinkwitzRileyAllpass::new(order, 48_000.0, 250.0).process_block(&mut v1);
            assert_eq!(v, v1, "{order:?} allpass pair, channel 1");
        }
    }
}
