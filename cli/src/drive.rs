//! The limiter-drive search: the drive (`limiter.input_gain_db`) that lands a master on its
//! loudness target, found by measuring the loudness the limiter stage gives at trial drives.
//! [`crate::mastering::master`] supplies the measurement (the limiter stage over the whole
//! programme, BS.1770-5 integrated loudness).

/// The search stops once the master is this close to its target, LU.
pub const SEARCH_TOLERANCE_LU: f64 = 0.1;
/// Most limiter passes per master.
pub const MAX_SEARCH_PASSES: usize = 8;
/// Largest change of the limiter drive in one search step, dB.
pub const MAX_STEP_DB: f64 = 24.0;
/// Below this many LU per dB of drive the limiter counts as saturated and the search stops.
pub const SATURATED_SLOPE: f64 = 0.03;
/// Drive range searched, dB.
pub const MAX_DRIVE_DB: f64 = 60.0;

/// Solves `loudness(drive) = target` for a monotonic, compressive loudness curve: a secant
/// step on the last two measurements (the first step assumes slope 1, exact while the limiter
/// is idle), kept inside the bracket of drives known to be too quiet and too loud (bisecting
/// when the secant leaves it), each step at most [`MAX_STEP_DB`]. Returns (drive, loudness,
/// passes) of the best measurement.
pub fn search_drive(
    target_lufs: f64,
    first_drive_db: f64,
    mut measure: impl FnMut(f64) -> f64,
) -> (f64, f64, usize) {
    let mut lo: Option<(f64, f64)> = None; // (drive, loudness) below target
    let mut hi: Option<(f64, f64)> = None; // above target
    let mut prev: Option<(f64, f64)> = None;
    let mut best = (first_drive_db, f64::NEG_INFINITY);
    let mut drive = first_drive_db.clamp(-MAX_DRIVE_DB, MAX_DRIVE_DB);
    let mut passes = 0;
    while passes < MAX_SEARCH_PASSES {
        passes += 1;
        let l = measure(drive);
        if !l.is_finite() {
            break;
        }
        if (l - target_lufs).abs() < (best.1 - target_lufs).abs() {
            best = (drive, l);
        }
        if (l - target_lufs).abs() <= SEARCH_TOLERANCE_LU {
            break;
        }
        if l < target_lufs {
            lo = Some((drive, l));
        } else {
            hi = Some((drive, l));
        }
        let slope = match prev {
            Some((g0, l0)) if (drive - g0).abs() > 1e-6 => (l - l0) / (drive - g0),
            _ => 1.0,
        };
        if slope < SATURATED_SLOPE && l < target_lufs {
            // The limiter is saturated: more drive adds (almost) no loudness, the target is
            // out of reach for this material and these settings.
            break;
        }
        let slope = slope.clamp(SATURATED_SLOPE, 1.0);
        prev = Some((drive, l));
        let step = ((target_lufs - l) / slope).clamp(-MAX_STEP_DB, MAX_STEP_DB);
        let mut next = (drive + step).clamp(-MAX_DRIVE_DB, MAX_DRIVE_DB);
        if let (Some((a, _)), Some((b, _))) = (lo, hi) {
            let (x0, x1) = (a.min(b), a.max(b));
            if next <= x0 || next >= x1 {
                next = 0.5 * (a + b);
            }
            if (x1 - x0) < 1e-3 {
                break;
            }
        }
        if (next - drive).abs() < 1e-4 {
            break;
        }
        drive = next;
    }
    (best.0, best.1, passes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_search_lands_on_compressive_curves_and_stops_when_saturated() {
        // Loudness of a limiter: linear below the knee, a slope of 0.2 LU/dB above it.
        let curve = |g: f64| -20.0 + if g < 6.0 { g } else { 6.0 + 0.2 * (g - 6.0) };
        let mut calls = 0;
        let (g, l, passes) = search_drive(-11.0, 0.0, |g| {
            calls += 1;
            curve(g)
        });
        assert!((l + 11.0).abs() <= SEARCH_TOLERANCE_LU, "{g} {l}");
        assert_eq!(passes, calls);
        assert!(passes <= 4, "{passes}");
        // A wall: beyond 10 dB of drive nothing gets louder; the search gives up early with the
        // best it found.
        let wall = |g: f64| -20.0 + g.min(10.0) + 0.001 * g;
        let (_, l, passes) = search_drive(-5.0, 0.0, wall);
        assert!(l < -9.9 && passes < MAX_SEARCH_PASSES, "{l} {passes}");
    }
}
