//! Static gain computer with a quadratic soft knee.
//!
//! Giannoulis, Massberg & Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and
//! Analysis", JAES 60(6), 2012, eq. (4): with threshold `T`, ratio `R` and knee width `W` (all
//! in dB), the output level `y` for an input level `x` is
//! - `x` for `2 (x - T) < -W`,
//! - `x + (1/R - 1) (x - T + W/2)^2 / (2 W)` for `2 |x - T| <= W`,
//! - `T + (x - T) / R` for `2 (x - T) > W`.
//!
//! Automatic make-up gain follows the same paper: it compensates the reduction the curve
//! applies to a 0 dBFS input, `M = -(y(0) - 0)`.

/// Threshold, ratio and knee of a downward compressor's static curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainComputer {
    /// Threshold in dBFS.
    pub threshold_db: f32,
    /// Ratio (input dB change per output dB change), >= 1.
    pub ratio: f32,
    /// Knee width in dB, >= 0 (0 is a hard knee).
    pub knee_db: f32,
}

impl GainComputer {
    /// Creates a curve; the ratio is clamped to at least 1 and the knee to at least 0.
    pub fn new(threshold_db: f32, ratio: f32, knee_db: f32) -> Self {
        Self {
            threshold_db,
            ratio: ratio.max(1.0),
            knee_db: knee_db.max(0.0),
        }
    }

    /// Output level in dB for an input level in dB (the static curve, eq. 4).
    #[inline(always)]
    pub fn output_db(&self, input_db: f32) -> f32 {
        input_db - self.reduction_db(input_db)
    }

    /// Gain reduction in dB (>= 0) the curve applies at `input_db`. Written branch-light so a
    /// block of levels vectorises.
    #[inline(always)]
    pub fn reduction_db(&self, input_db: f32) -> f32 {
        let slope = 1.0 - 1.0 / self.ratio;
        let over = input_db - self.threshold_db;
        let half_knee = 0.5 * self.knee_db;
        let above = slope * over;
        // Inside the knee: (1 - 1/R) (x - T + W/2)^2 / (2W); with W = 0 this branch is never
        // taken because `over` cannot be both >= 0 and <= 0 apart from exactly 0, where the
        // "above" branch gives the same value 0.
        let k = over + half_knee;
        let knee = slope * k * k / (2.0 * self.knee_db.max(1e-9));
        if over <= -half_knee {
            0.0
        } else if over < half_knee {
            knee
        } else {
            above
        }
    }

    /// Automatic make-up gain in dB: the reduction the curve applies to a 0 dBFS input.
    pub fn auto_makeup_db(&self) -> f32 {
        self.reduction_db(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_knee_curve_points() {
        let g = GainComputer::new(-20.0, 4.0, 0.0);
        assert_eq!(g.output_db(-30.0), -30.0);
        // 10 dB over a 4:1 threshold comes out 2.5 dB over.
        assert!((g.output_db(-10.0) - (-17.5)).abs() < 1e-5);
        assert!((g.auto_makeup_db() - 15.0).abs() < 1e-5);
    }

    #[test]
    fn soft_knee_is_continuous_at_its_edges() {
        let g = GainComputer::new(-20.0, 3.0, 10.0);
        for edge in [-25.0f32, -15.0] {
            let a = g.output_db(edge - 1e-3);
            let b = g.output_db(edge + 1e-3);
            assert!((a - b).abs() < 1e-2, "{edge}: {a} vs {b}");
        }
        // At the threshold the knee gives (1 - 1/R) W / 8 of reduction.
        assert!((g.reduction_db(-20.0) - (2.0 / 3.0) * 10.0 / 8.0).abs() < 1e-5);
    }
}
