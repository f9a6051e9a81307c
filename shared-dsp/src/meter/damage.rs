//! The loudness-damage figure of a master: how much of the master is not the music it was made
//! from, i.e. what reaching the loudness cost.
//!
//! `D = 10 log10( sum (y - g x)^2 / sum y^2 )` dB, where `y` is the master, `x` the same stems
//! through the same settings with every loudness stage idle (no limiting), aligned to `y`, and
//! `g` the least-squares gain `sum x y / sum x^2` (so a plain gain change costs nothing). With
//! that `g` the residual energy is `sum y^2 - (sum x y)^2 / sum x^2`, so three running sums
//! suffice and memory does not grow with the programme: `D = 10 log10(1 - rho^2)` with `rho` the
//! normalised correlation of `x` and `y` over every channel. Lower is cleaner; a master that is
//! only a gain of `x` reads minus infinity.

/// Running sums for [`LoudnessDamage::damage_db`].
#[derive(Clone, Debug, Default)]
pub struct LoudnessDamage {
    sum_xx: f64,
    sum_yy: f64,
    sum_xy: f64,
}

impl LoudnessDamage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Adds aligned frames: `reference` (x) and `master` (y), one slice per channel, equal
    /// lengths.
    pub fn process(&mut self, reference: &[&[f32]], master: &[&[f32]]) {
        for (x, y) in reference.iter().zip(master) {
            for (&a, &b) in x.iter().zip(y.iter()) {
                let (a, b) = (a as f64, b as f64);
                self.sum_xx += a * a;
                self.sum_yy += b * b;
                self.sum_xy += a * b;
            }
        }
    }

    /// `D` in dB: minus infinity when the master is exactly a gain of the reference, 0 when the
    /// reference explains none of it (or is silent); minus infinity for a silent master.
    pub fn damage_db(&self) -> f64 {
        if self.sum_yy <= 0.0 {
            return f64::NEG_INFINITY;
        }
        if self.sum_xx <= 0.0 {
            return 0.0;
        }
        let residual = (self.sum_yy - self.sum_xy * self.sum_xy / self.sum_xx).max(0.0);
        10.0 * (residual / self.sum_yy).log10()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    fn tone(hz: f64, amp: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (amp * (TAU * hz * i as f64 / 48_000.0).sin()) as f32)
            .collect()
    }

    #[test]
    fn damage_of_known_residuals() {
        let n = 48_000;
        let x = tone(1000.0, 0.5, n);
        // A gain costs nothing.
        let y: Vec<f32> = x.iter().map(|&v| 2.0 * v).collect();
        let mut d = LoudnessDamage::new();
        d.process(&[&x], &[&y]);
        assert!(d.damage_db() < -120.0, "{}", d.damage_db());

        // y = 2x + e with e a 3 kHz tone orthogonal to x over whole periods: the residual is e
        // exactly, so D = 10 log10(E_e / (E_2x + E_e)) = 10 log10(0.1^2 / (1 + 0.1^2)).
        let e = tone(3000.0, 0.1, n);
        let y: Vec<f32> = x.iter().zip(&e).map(|(&v, &w)| 2.0 * v + w).collect();
        let mut d = LoudnessDamage::new();
        // Two channels, the same signals: the same figure.
        d.process(&[&x, &x], &[&y, &y]);
        let expected = 10.0 * (0.01f64 / 1.01).log10();
        assert!((d.damage_db() - expected).abs() < 1e-4, "{}", d.damage_db());

        // Fed in pieces: the same sums.
        let mut pieces = LoudnessDamage::new();
        for k in 0..4 {
            let r = k * n / 4..(k + 1) * n / 4;
            pieces.process(&[&x[r.clone()]], &[&y[r]]);
        }
        assert!((pieces.damage_db() - expected).abs() < 1e-4);

        // Nothing in common: 0 dB; silence: -inf.
        let mut d = LoudnessDamage::new();
        d.process(&[&vec![0.0; n]], &[&x]);
        assert_eq!(d.damage_db(), 0.0);
        d.reset();
        assert_eq!(d.damage_db(), f64::NEG_INFINITY);
    }
}
