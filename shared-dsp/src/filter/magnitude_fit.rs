//! Magnitude-matched digital design of an analogue prototype by rational fitting of the
//! squared magnitude.
//!
//! A digital filter's squared magnitude is a ratio of polynomials in `x = sin^2(w/2)`:
//! for one biquad `|H|^2 = P(x) / Q(x)` with quadratics `P`, `Q` (M. Vicanek, "Matched Second
//! Order Digital Filters", 2016, writes the same in his basis phi0, phi1, phi2 and solves the
//! zeros from three magnitude samples with impulse-invariant poles). Here both polynomials
//! are fitted to the analogue prototype's magnitude over a grid from DC to Nyquist: an
//! interpolating seed, then Sanathanan-Koerner iterations (C. K. Sanathanan and J. Koerner,
//! IEEE TAC 8(1), 1963: weights `1/(t Q_prev)` make the linear error relative) with Lawson
//! multipliers (C. L. Lawson, 1961) that push the error towards equiripple. The filter is
//! recovered by spectral factorisation: each root `x_r` gives a root pair `r`, `1/r` of
//! `z + 1/z = 2 - 4 x_r`; keeping the one inside the unit circle makes the result stable and
//! minimum phase. When one biquad cannot follow the prototype closely enough (high corners,
//! where the bilinear transform would cramp), the same fit is run with quartics, giving two
//! biquads that follow the analogue curve up to Nyquist.

use realfft::num_complex::Complex64;
use std::f64::consts::PI;

/// Highest polynomial degree in `x` (two biquads).
pub(crate) const MAX_DEGREE: usize = 4;
/// Most unknowns: five numerator plus four denominator coefficients.
const MAX_UNKNOWNS: usize = 2 * MAX_DEGREE + 1;
/// Number of frequencies the fit samples.
const GRID: usize = 36;
/// Extra samples at and around the corner, where resonant shapes peak.
const CORNER_POINTS: usize = 5;
/// Re-weighting passes after the interpolating seed.
const PASSES: usize = 5;

/// Which numerator factor the analogue prototype forces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Zeros {
    /// No constraint (bell, shelves, lowpass).
    Free,
    /// Single zero at DC, `P(0) = 0` (band-pass).
    DcSingle,
    /// Double zero at DC (highpass: its 12 dB/oct slope must stay exact).
    DcDouble,
    /// Double zero on the unit circle at `x0 = sin^2(w0/2)` (notch).
    Notch { x0: f64 },
}

impl Zeros {
    /// Degree of the fixed factor `base(x)` of `P = base * R`.
    fn base_degree(self) -> usize {
        match self {
            Zeros::Free => 0,
            Zeros::DcSingle => 1,
            Zeros::DcDouble | Zeros::Notch { .. } => 2,
        }
    }

    fn base(self, x: f64) -> f64 {
        match self {
            Zeros::Free => 1.0,
            Zeros::DcSingle => x,
            Zeros::DcDouble => x * x,
            // Normalised so the column stays O(1) at low corners.
            Zeros::Notch { x0 } => (x - x0) * (x - x0) / (x0 * x0),
        }
    }

    /// `z`-plane zeros of the fixed factor.
    fn base_roots(self, out: &mut Vec4) {
        match self {
            Zeros::Free => {}
            Zeros::DcSingle => out.push(Complex64::new(1.0, 0.0)),
            Zeros::DcDouble => {
                out.push(Complex64::new(1.0, 0.0));
                out.push(Complex64::new(1.0, 0.0));
            }
            Zeros::Notch { x0 } => {
                let c = 1.0 - 2.0 * x0; // cos(w0)
                let s = (1.0 - c * c).max(0.0).sqrt();
                out.push(Complex64::new(c, s));
                out.push(Complex64::new(c, -s));
            }
        }
    }
}

/// A fixed-capacity list of up to `MAX_DEGREE` complex roots.
#[derive(Clone, Copy, Debug)]
struct Vec4 {
    v: [Complex64; MAX_DEGREE],
    len: usize,
}

impl Vec4 {
    fn new() -> Self {
        Self {
            v: [Complex64::new(0.0, 0.0); MAX_DEGREE],
            len: 0,
        }
    }

    fn push(&mut self, c: Complex64) {
        if self.len < MAX_DEGREE {
            self.v[self.len] = c;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[Complex64] {
        &self.v[..self.len]
    }
}

fn x_of(w: f64) -> f64 {
    let s = (0.5 * w).sin();
    s * s
}

/// Evaluates `c[0] + c[1] x + ...` (degree `c.len() - 1`).
fn eval(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// Frequencies (radians/sample) and target squared magnitudes the fit works on.
struct Grid {
    ws: [f64; GRID],
    ts: [f64; GRID],
    /// Targets below this only get a bounded weight (avoids dividing by zero at zeros).
    t_floor: f64,
    /// Targets below this (-60 dB under the peak) do not count towards the reported error:
    /// stop-band depth there is inaudible and unmeasurable next to the pass band.
    t_relevant: f64,
}

impl Grid {
    /// DC, a log grid from well below the corner up to Nyquist, and points at and around the
    /// corner (1/12 and 1/4 octave either side) so resonant peaks are sampled.
    fn new(target: &dyn Fn(f64) -> f64, w0: f64) -> Option<Self> {
        let mut ws = [0.0f64; GRID];
        let mut ts = [0.0f64; GRID];
        let w_start = (w0 / 16.0).min(0.05 * PI);
        let n_log = GRID - 1 - CORNER_POINTS;
        let ratio = (PI / w_start).powf(1.0 / (n_log - 1) as f64);
        let mut w = w_start;
        for wi in ws.iter_mut().skip(1).take(n_log) {
            *wi = w;
            w *= ratio;
        }
        ws[n_log] = PI;
        for (k, f) in [
            1.0,
            2f64.powf(1.0 / 12.0),
            2f64.powf(-1.0 / 12.0),
            2f64.powf(0.25),
            2f64.powf(-0.25),
        ]
        .iter()
        .enumerate()
        .take(CORNER_POINTS)
        {
            ws[GRID - CORNER_POINTS + k] = (w0 * f).min(PI);
        }
        let mut t_max = 0.0f64;
        for (t, &w) in ts.iter_mut().zip(ws.iter()) {
            *t = target(w);
            if !t.is_finite() {
                return None;
            }
            t_max = t_max.max(*t);
        }
        Some(Self {
            ws,
            ts,
            t_floor: t_max * 1e-12,
            t_relevant: t_max * 1e-6,
        })
    }
}

/// Unknowns `[r_0 .. r_m, q_1 .. q_d]` of `P = base * R`, `Q = 1 + q_1 x + ... + q_d x^d`.
#[derive(Clone, Copy)]
struct Layout {
    zeros: Zeros,
    degree: usize,
}

impl Layout {
    fn num_r(&self) -> usize {
        self.degree - self.zeros.base_degree() + 1
    }

    fn unknowns(&self) -> usize {
        self.num_r() + self.degree
    }

    /// One weighted row of `P(x) - t Q(x) = 0`; returns the right-hand side.
    fn row(&self, x: f64, t: f64, weight: f64, out: &mut [f64; MAX_UNKNOWNS]) -> f64 {
        let nr = self.num_r();
        let base = self.zeros.base(x);
        let mut xp = 1.0;
        for o in out.iter_mut().take(nr) {
            *o = base * xp * weight;
            xp *= x;
        }
        let mut xp = x;
        for o in out.iter_mut().skip(nr).take(self.degree) {
            *o = -t * xp * weight;
            xp *= x;
        }
        t * weight
    }

    /// `(R, Q)` coefficient arrays (lowest power first) from the unknowns.
    fn split(&self, v: &[f64; MAX_UNKNOWNS]) -> ([f64; MAX_DEGREE + 1], [f64; MAX_DEGREE + 1]) {
        let nr = self.num_r();
        let mut r = [0.0; MAX_DEGREE + 1];
        let mut q = [0.0; MAX_DEGREE + 1];
        r[..nr].copy_from_slice(&v[..nr]);
        q[0] = 1.0;
        q[1..=self.degree].copy_from_slice(&v[nr..nr + self.degree]);
        (r, q)
    }

    fn p_at(&self, r: &[f64], x: f64) -> f64 {
        self.zeros.base(x) * eval(&r[..self.num_r()], x)
    }
}

/// Worst absolute natural-log error of `P/Q` over the grid (errors per point in `errs`), or
/// `None` when `P/Q` is not a valid squared magnitude there.
fn worst_log_error(
    grid: &Grid,
    layout: &Layout,
    r: &[f64],
    q: &[f64],
    errs: &mut [f64; GRID],
) -> Option<f64> {
    let mut worst = 0.0f64;
    for ((&w, &t), e) in grid.ws.iter().zip(grid.ts.iter()).zip(errs.iter_mut()) {
        let x = x_of(w);
        let (pv, qv) = (layout.p_at(r, x), eval(&q[..=layout.degree], x));
        if qv <= 0.0 || pv < 0.0 || !pv.is_finite() {
            return None;
        }
        *e = if t > grid.t_relevant && pv > 0.0 {
            (pv / (qv * t)).ln().abs()
        } else {
            0.0
        };
        worst = worst.max(*e);
    }
    Some(worst)
}

/// Least-squares solve of a `rows x n` system by Householder QR with column equilibration.
fn least_squares(
    a: &mut [[f64; MAX_UNKNOWNS]],
    b: &mut [f64],
    n: usize,
) -> Option<[f64; MAX_UNKNOWNS]> {
    let mut col_scale = [1.0; MAX_UNKNOWNS];
    for (c, scale) in col_scale.iter_mut().enumerate().take(n) {
        let mx = a.iter().map(|r| r[c].abs()).fold(0.0, f64::max);
        if mx > 0.0 {
            *scale = 1.0 / mx;
            for r in a.iter_mut() {
                r[c] *= *scale;
            }
        }
    }
    for k in 0..n {
        let norm = a[k..].iter().map(|r| r[k] * r[k]).sum::<f64>().sqrt();
        if norm < 1e-300 {
            return None;
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        a[k][k] -= alpha;
        let vnorm2 = a[k..].iter().map(|r| r[k] * r[k]).sum::<f64>();
        if vnorm2 > 0.0 {
            for c in k + 1..n {
                let d = a[k..].iter().map(|r| r[k] * r[c]).sum::<f64>() * 2.0 / vnorm2;
                for r in a[k..].iter_mut() {
                    r[c] -= d * r[k];
                }
            }
            let d = a[k..]
                .iter()
                .zip(b[k..].iter())
                .map(|(r, y)| r[k] * y)
                .sum::<f64>()
                * 2.0
                / vnorm2;
            for (r, y) in a[k..].iter().zip(b[k..].iter_mut()) {
                *y -= d * r[k];
            }
        }
        a[k][k] = alpha;
    }
    let mut v = [0.0; MAX_UNKNOWNS];
    for k in (0..n).rev() {
        let mut s = b[k];
        for c in k + 1..n {
            s -= a[k][c] * v[c];
        }
        v[k] = s / a[k][k];
    }
    for (x, s) in v.iter_mut().zip(col_scale.iter()).take(n) {
        *x *= s;
    }
    v.iter().take(n).all(|x| x.is_finite()).then_some(v)
}

/// The root inside (or on) the unit circle of `z + 1/z = 2 - 4 xr`.
fn z_root(xr: Complex64) -> Complex64 {
    let c = 2.0 - 4.0 * xr;
    let mut s = (c * c - 4.0).sqrt();
    if (c.conj() * s).re < 0.0 {
        s = -s;
    }
    let big = 0.5 * (c + s);
    if big.norm() < 1e-300 {
        return Complex64::new(0.0, 0.0);
    }
    1.0 / big
}

/// Roots of `c[0] + c[1] x + ... + c[d] x^d` (`c[d] != 0`, `d <= 4`): closed form for
/// `d <= 2`, Durand-Kerner iteration above.
fn poly_roots(c: &[f64], out: &mut Vec4) {
    let d = c.len() - 1;
    match d {
        0 => {}
        1 => out.push(Complex64::new(-c[0] / c[1], 0.0)),
        2 => {
            let (a, b, cc) = (c[2], c[1], c[0]);
            let disc = b * b - 4.0 * a * cc;
            if disc >= 0.0 {
                let qq = -0.5 * (b + b.signum() * disc.sqrt());
                if qq == 0.0 {
                    out.push(Complex64::new(0.0, 0.0));
                    out.push(Complex64::new(0.0, 0.0));
                } else {
                    out.push(Complex64::new(qq / a, 0.0));
                    out.push(Complex64::new(cc / qq, 0.0));
                }
            } else {
                let re = -b / (2.0 * a);
                let im = (-disc).sqrt() / (2.0 * a);
                out.push(Complex64::new(re, im));
                out.push(Complex64::new(re, -im));
            }
        }
        _ => {
            let lead = c[d];
            let monic: [f64; MAX_DEGREE + 1] = {
                let mut m = [0.0; MAX_DEGREE + 1];
                for (mi, ci) in m.iter_mut().zip(c.iter()) {
                    *mi = ci / lead;
                }
                m
            };
            // Cauchy bound for the initial circle.
            let radius = 1.0 + monic[..d].iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let mut z = [Complex64::new(0.0, 0.0); MAX_DEGREE];
            let seed = Complex64::new(0.4, 0.9);
            let mut p = Complex64::new(radius.min(10.0), 0.0);
            for zi in z.iter_mut().take(d) {
                *zi = p;
                p *= seed;
            }
            let f = |x: Complex64| {
                monic[..=d]
                    .iter()
                    .rev()
                    .fold(Complex64::new(0.0, 0.0), |acc, &k| acc * x + k)
            };
            for _ in 0..500 {
                let mut moved = 0.0f64;
                for i in 0..d {
                    let mut den = Complex64::new(1.0, 0.0);
                    for j in 0..d {
                        if i != j {
                            den *= z[i] - z[j];
                        }
                    }
                    if den.norm() == 0.0 {
                        den = Complex64::new(1e-12, 0.0);
                    }
                    let step = f(z[i]) / den;
                    z[i] -= step;
                    moved = moved.max(step.norm() / (1.0 + z[i].norm()));
                }
                if moved < 1e-15 {
                    break;
                }
            }
            for zi in z.iter().take(d) {
                out.push(*zi);
            }
        }
    }
}

/// Real degree of `c` (drops leading coefficients negligible against the rest on `[0, 1]`).
fn effective_degree(c: &[f64]) -> usize {
    let scale = c.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let mut d = c.len() - 1;
    while d > 0 && c[d].abs() <= 1e-13 * scale {
        d -= 1;
    }
    d
}

/// Groups `z`-plane roots into monic real quadratics `[1, m1, m2]` (conjugates together,
/// reals in pairs, a lone real with a root at the origin).
fn quadratics(roots: &[Complex64], out: &mut [[f64; 3]; 2]) -> usize {
    let mut used = [false; MAX_DEGREE];
    let mut count = 0;
    let tol = 1e-7;
    let mut reals = [0.0f64; MAX_DEGREE];
    let mut nreal = 0;
    for i in 0..roots.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let r = roots[i];
        if r.im.abs() > tol * (1.0 + r.norm()) {
            // Find the conjugate partner (closest).
            let partner = (0..roots.len()).filter(|&j| !used[j]).min_by(|&a, &b| {
                (roots[a] - r.conj())
                    .norm()
                    .total_cmp(&(roots[b] - r.conj()).norm())
            });
            let s = match partner {
                Some(j) => {
                    used[j] = true;
                    roots[j]
                }
                None => r.conj(),
            };
            if count < 2 {
                out[count] = [1.0, -(r + s).re, (r * s).re];
                count += 1;
            }
        } else {
            reals[nreal] = r.re;
            nreal += 1;
        }
    }
    let mut k = 0;
    while k < nreal && count < 2 {
        let a = reals[k];
        let b = if k + 1 < nreal { reals[k + 1] } else { 0.0 };
        out[count] = [1.0, -(a + b), a * b];
        count += 1;
        k += 2;
    }
    count
}

/// Monic minimum-phase `z` factors of a squared-magnitude polynomial `R(x)` times the fixed
/// `base` zeros. Returns `None` if `R` has a simple root on `[0, 1]` (a sign change).
fn factor(r: &[f64], base: Option<Zeros>, out: &mut [[f64; 3]; 2]) -> Option<usize> {
    let mut zs = Vec4::new();
    if let Some(b) = base {
        b.base_roots(&mut zs);
    }
    let d = effective_degree(r);
    let mut xr = Vec4::new();
    poly_roots(&r[..=d], &mut xr);
    for &x in xr.as_slice() {
        if x.im.abs() < 1e-9 && (-1e-12..=1.0 + 1e-12).contains(&x.re) {
            return None;
        }
        zs.push(z_root(x));
    }
    Some(quadratics(zs.as_slice(), out))
}

fn sections_mag2(sections: &[[f64; 3]], w: f64) -> f64 {
    let z1 = Complex64::from_polar(1.0, -w);
    sections
        .iter()
        .map(|m| (m[0] + z1 * m[1] + z1 * z1 * m[2]).norm_sqr())
        .product()
}

/// Result of a fit: up to two biquads `[b0, b1, b2, a1, a2]`, and the worst deviation from
/// the target over the fit grid, in dB.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fit {
    pub sections: [[f64; 5]; 2],
    pub len: usize,
    pub worst_db: f64,
}

/// Fits a filter of `degree` (2: one biquad, 4: two) to `target(w)` (squared magnitude at
/// `w` radians per sample; `w0` is the corner the grid centres on).
pub(crate) fn fit(
    target: &dyn Fn(f64) -> f64,
    zeros: Zeros,
    w0: f64,
    degree: usize,
) -> Option<Fit> {
    let grid = Grid::new(target, w0)?;
    let layout = Layout { zeros, degree };
    let n = layout.unknowns();
    let mut m = [[0.0f64; MAX_UNKNOWNS]; GRID];
    let mut rhs = [0.0f64; GRID];
    // Interpolating seed: n points spread over the grid, DC and Nyquist included when they
    // carry information.
    let first = if zeros == Zeros::Free { 0 } else { 1 };
    let mut rows = 0;
    for k in 0..n {
        let idx = first + (k * (GRID - 1 - first)) / (n - 1).max(1);
        let (w, t) = (grid.ws[idx], grid.ts[idx]);
        rhs[rows] = layout.row(x_of(w), t, 1.0 / t.max(grid.t_floor), &mut m[rows]);
        rows += 1;
    }
    let mut best: Option<(f64, [f64; MAX_DEGREE + 1], [f64; MAX_DEGREE + 1])> = None;
    let mut errs = [0.0f64; GRID];
    let mut lawson = [1.0f64; GRID];
    let mut q_prev = [1.0, 0.0, 0.0, 0.0, 0.0];
    if let Some(v) = least_squares(&mut m[..rows], &mut rhs[..rows], n) {
        let (r, q) = layout.split(&v);
        if let Some(e) = worst_log_error(&grid, &layout, &r, &q, &mut errs) {
            best = Some((e, r, q));
            q_prev = q;
        }
    }
    for _ in 0..PASSES {
        for (row, (&w, &t)) in grid.ws.iter().zip(grid.ts.iter()).enumerate() {
            let x = x_of(w);
            let qp = eval(&q_prev[..=degree], x).abs().max(1e-300);
            let weight = lawson[row] / (t.max(grid.t_floor) * qp);
            rhs[row] = layout.row(x, t, weight, &mut m[row]);
        }
        let Some(v) = least_squares(&mut m, &mut rhs, n) else {
            break;
        };
        let (r, q) = layout.split(&v);
        q_prev = q;
        let Some(e) = worst_log_error(&grid, &layout, &r, &q, &mut errs) else {
            continue;
        };
        if best.is_none_or(|(b, _, _)| e < b) {
            best = Some((e, r, q));
        }
        let mean = errs.iter().sum::<f64>() / GRID as f64;
        if mean <= 1e-12 {
            break;
        }
        for (l, &e) in lawson.iter_mut().zip(errs.iter()) {
            *l *= (e / mean).max(0.05);
        }
        let lmax = lawson.iter().fold(0.0f64, |a, &b| a.max(b));
        for l in lawson.iter_mut() {
            *l /= lmax;
        }
    }
    let (worst, r, q) = best?;
    let mut num = [[1.0, 0.0, 0.0]; 2];
    let mut den = [[1.0, 0.0, 0.0]; 2];
    let nb = factor(&r[..layout.num_r()], Some(zeros), &mut num)?;
    let na = factor(&q[..=degree], None, &mut den)?;
    let len = nb.max(na).max(1);
    // Gain from the sample where the numerator is best conditioned.
    let w_gain = [0.0, PI, w0, 0.5 * w0]
        .iter()
        .copied()
        .max_by(|&a, &b| sections_mag2(&num[..len], a).total_cmp(&sections_mag2(&num[..len], b)))?;
    let xg = x_of(w_gain);
    let g2 = (layout.p_at(&r, xg) / sections_mag2(&num[..len], w_gain))
        / (eval(&q[..=degree], xg) / sections_mag2(&den[..len], w_gain));
    if !(g2 > 0.0 && g2.is_finite()) {
        return None;
    }
    let g = g2.sqrt();
    let mut sections = [[0.0; 5]; 2];
    for (k, s) in sections.iter_mut().enumerate().take(len) {
        let gk = if k == 0 { g } else { 1.0 };
        *s = [
            gk * num[k][0],
            gk * num[k][1],
            gk * num[k][2],
            den[k][1],
            den[k][2],
        ];
        let stable = s[4].abs() < 1.0 && s[3].abs() < 1.0 + s[4];
        if !(stable && s.iter().all(|c| c.is_finite())) {
            return None;
        }
    }
    Some(Fit {
        sections,
        len,
        worst_db: worst * 10.0 / std::f64::consts::LN_10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poly_roots_finds_known_quartic_roots() {
        // (x - 2)(x + 3)(x^2 + 1) = x^4 + x^3 - 5x^2 + x - 6.
        let mut out = Vec4::new();
        poly_roots(&[-6.0, 1.0, -5.0, 1.0, 1.0], &mut out);
        for want in [
            Complex64::new(2.0, 0.0),
            Complex64::new(-3.0, 0.0),
            Complex64::new(0.0, 1.0),
            Complex64::new(0.0, -1.0),
        ] {
            assert!(
                out.as_slice().iter().any(|r| (r - want).norm() < 1e-9),
                "{want} not in {:?}",
                out.as_slice()
            );
        }
    }

    #[test]
    fn least_squares_solves_consistent_system() {
        // y = 1 + 2x - 3x^2 sampled exactly: the solution must be recovered.
        let mut a = [[0.0f64; MAX_UNKNOWNS]; 8];
        let mut b = [0.0f64; 8];
        for i in 0..8 {
            let x = i as f64 * 0.37 - 1.0;
            a[i][0] = 1.0;
            a[i][1] = x;
            a[i][2] = x * x;
            b[i] = 1.0 + 2.0 * x - 3.0 * x * x;
        }
        let v = least_squares(&mut a, &mut b, 3).unwrap();
        assert!(
            (v[0] - 1.0).abs() < 1e-12 && (v[1] - 2.0).abs() < 1e-12,
            "{v:?}"
        );
        assert!((v[2] + 3.0).abs() < 1e-12);
    }
}
