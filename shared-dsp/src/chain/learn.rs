//! The drive/loudness solver (the limiter drive that lands a master on a loudness target),
//! used by the Stem Master's target assist ("learn", one measured pass of playback per step)
//! and by the `stem` tool's render (every step a measured render of the whole programme); and
//! the streaming-normalisation readout.
//!
//! Loudness is the BS.1770-5 gated integrated loudness ([`crate::meter::loudness`]). The limiter
//! makes loudness `L(g)` a monotonic, compressive function of the drive `g`: each dB of drive
//! adds at most one dB of loudness, less the harder it limits. [`DriveSolver`] solves
//! `L(g) = target` by a secant step on the last two measurements (the first step assumes the
//! slope 1, exact while the limiter is idle, so a linear `L(g) = g + c` lands in one step; a
//! caller that knows `c`, the loudness with the stage idle, can have the first step stretched
//! by the loss the stage already shows: [`IdleLoudness`]),
//! i.e. Newton's step on the measured curve, kept inside the bracket of drives known to be too
//! quiet and too loud (bisecting when the secant leaves it), which converges in one or two
//! further steps on a limiter's curve. It stops when the loudness is within [`TOLERANCE_LU`],
//! when the curve is saturated (more drive adds less than [`SATURATED_SLOPE`] LU per dB: the
//! target is out of reach for this material and these settings), when the bracket has closed,
//! or when a measurement is not finite (nothing above the gate). [`solve_drive`] runs it
//! offline. The ceiling is never at risk: the limiter holds it whatever the drive.

use crate::meter::loudness::LoudnessMeter;

/// Reference loudness of streaming services' normalisation (Spotify, YouTube, Tidal: -14
/// LUFS; the guide's streaming target).
pub const STREAMING_REFERENCE_LUFS: f32 = -14.0;
/// The solver stops once the loudness is this close to its target, LU. A tenth of an LU is
/// below what a listener hears between two masters and below the spread of the services'
/// own loudness readings, and a limiter's curve gets there in two or three steps.
pub const TOLERANCE_LU: f64 = 0.1;
/// Slope of the loudness curve, LU per dB of drive, below which the limiter counts as
/// saturated: a measured slope under it while still too quiet stops the solver (each further
/// dB of drive buys less than 0.03 LU: 10 dB more distortion for 0.3 LU). It is also the
/// smallest slope a secant step divides by, so the step stays finite; the bracket and
/// [`MAX_STEP_DB`] keep such a step from running away.
pub const SATURATED_SLOPE: f64 = 0.03;
/// Largest drive change one step may ask for, dB: a step assumes the curve's slope holds over
/// its whole length, which a limiter's knee breaks; 24 dB still crosses the whole useful range
/// of drives (a master that needs more is far from any target) in three steps.
pub const MAX_STEP_DB: f64 = 24.0;
/// Drive range the solver searches, dB (the limiter's `input_gain_db` range).
pub const DRIVE_RANGE_DB: f64 = 60.0;
/// Smallest drive difference between two measurements from which the solver takes a secant
/// slope, dB. Below it the loudness difference is dominated by measurement noise rather than
/// the drive (in the plugin the two passes measure different stretches of the programme and the
/// gated integral moves by hundredths of an LU), so the solver assumes slope 1 instead.
pub const MIN_SECANT_SPAN_DB: f64 = 0.05;
/// Drive resolution, dB: the solver stops when the bracket is narrower or the next step
/// shorter. A thousandth of a dB moves the loudness by at most 0.001 LU, a hundredth of
/// [`TOLERANCE_LU`]: closer trials would measure the same thing.
pub const DRIVE_RESOLUTION_DB: f64 = 1e-3;
/// Most measurements [`solve_drive`] makes (each one an offline render of the whole programme
/// through the limiter): a limiter's curve lands in two to four; the limit only bounds the cost
/// of a pathological curve, which then keeps the best drive found.
pub const MAX_PASSES: usize = 8;

/// How many dB a service normalising to [`STREAMING_REFERENCE_LUFS`] turns a master of
/// `integrated_lufs` down (0 when it is at or below the reference, or not measured yet).
/// Services that only turn down (Spotify without "loud" mode, Apple Music's Sound Check
/// pegs louder tracks) leave quieter masters alone.
pub fn streaming_turn_down_db(integrated_lufs: f64) -> f64 {
    if integrated_lufs.is_finite() {
        (integrated_lufs - STREAMING_REFERENCE_LUFS as f64).max(0.0)
    } else {
        0.0
    }
}

/// Why a [`DriveSolver`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveOutcome {
    /// The last measurement is within [`TOLERANCE_LU`] of the target.
    Landed,
    /// More drive no longer makes the master louder (slope under [`SATURATED_SLOPE`] while
    /// still too quiet): the target is out of reach; the best drive is the loudest found.
    Saturated,
    /// The bracket closed or the next step is shorter than [`DRIVE_RESOLUTION_DB`]: the best
    /// drive is as close as drive can get.
    Converged,
    /// The measurement was not finite (nothing above the loudness gate, or a broken signal).
    Unmeasured,
    /// [`solve_drive`] used its [`MAX_PASSES`] measurements.
    OutOfPasses,
}

/// What the solver wants after a measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DriveStep {
    /// Measure at this drive next, dB.
    Next(f64),
    /// Stop.
    Done(DriveOutcome),
}

/// What a caller knows of the loudness curve before measuring: with the peak stage idle the
/// master would measure `drive + offset_lufs` (the pre-limiter loudness plus the output gain),
/// so the first measurement shows the stage's loss `drive + offset_lufs - L`. That loss grows
/// with the drive, faster the more the stage already works, so the slope-1 step lands short.
/// The first step instead asks for the plain-gain distance plus `loss_stretch` times the loss.
///
/// Measured on five songs at -8 LUFS (four tracker modules and the demo, stems and mix, the
/// render's club plan), the drive beyond the plain gain that lands the target was 1.7-2.7 times
/// the loss at the plain gain with the limiter alone and 1.2-1.7 times with the clipper before
/// it ([`LIMITER_LOSS_STRETCH`], [`CLIPPER_LOSS_STRETCH`] take the low ends, so the step stays
/// short of the target where the curve bends least and the secant closes from below). On those
/// curves the searches take 25 measurements instead of 30; where the guess is off, the secant
/// and the bracket correct it as they do the slope-1 step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdleLoudness {
    pub offset_lufs: f64,
    pub loss_stretch: f64,
}

/// [`IdleLoudness::loss_stretch`] for the limiter alone.
pub const LIMITER_LOSS_STRETCH: f64 = 1.7;
/// [`IdleLoudness::loss_stretch`] with the clipper before the limiter.
pub const CLIPPER_LOSS_STRETCH: f64 = 1.35;

/// Solves `L(drive) = target` from measured (drive dB, loudness LUFS) pairs (see the module
/// doc for the method). Feed it one measurement at a time with [`feed`](Self::feed); it keeps
/// the last measurement (for the secant), the bracket and the best measurement so far.
/// Never allocates.
#[derive(Clone, Copy, Debug)]
pub struct DriveSolver {
    target_lufs: f64,
    /// The curve with the stage idle, when the caller knows it (stretches the first step).
    idle: Option<IdleLoudness>,
    /// Last measurement, (drive dB, LUFS).
    last: Option<(f64, f64)>,
    /// Latest measurement below the target and above it, (drive dB, LUFS).
    below: Option<(f64, f64)>,
    above: Option<(f64, f64)>,
    /// Measurement closest to the target, (drive dB, LUFS).
    best: Option<(f64, f64)>,
}

impl DriveSolver {
    /// A solver for `target_lufs` that knows no measurement yet.
    pub fn new(target_lufs: f64) -> Self {
        Self {
            target_lufs,
            idle: None,
            last: None,
            below: None,
            above: None,
            best: None,
        }
    }

    /// A solver for `target_lufs` whose first step uses what `idle` says of the curve.
    pub fn knowing_idle_loudness(target_lufs: f64, idle: IdleLoudness) -> Self {
        Self {
            idle: Some(idle),
            ..Self::new(target_lufs)
        }
    }

    /// The loudness this solver aims at, LUFS.
    pub fn target_lufs(&self) -> f64 {
        self.target_lufs
    }

    /// The measurement closest to the target so far, (drive dB, LUFS).
    pub fn best(&self) -> Option<(f64, f64)> {
        self.best
    }

    /// Takes the loudness `measured_lufs` measured with the drive `drive_db` and returns the
    /// drive to measure next, or why to stop. A non-finite measurement is ignored (the solver
    /// keeps what it knew) and answered with [`DriveOutcome::Unmeasured`].
    pub fn feed(&mut self, drive_db: f64, measured_lufs: f64) -> DriveStep {
        let (g, l, target) = (drive_db, measured_lufs, self.target_lufs);
        if !l.is_finite() {
            return DriveStep::Done(DriveOutcome::Unmeasured);
        }
        if self
            .best
            .is_none_or(|(_, b)| (l - target).abs() < (b - target).abs())
        {
            self.best = Some((g, l));
        }
        let slope = match self.last {
            Some((g0, l0)) if (g - g0).abs() > MIN_SECANT_SPAN_DB => (l - l0) / (g - g0),
            _ => 1.0,
        };
        let first = self.last.is_none();
        self.last = Some((g, l));
        if (l - target).abs() <= TOLERANCE_LU {
            return DriveStep::Done(DriveOutcome::Landed);
        }
        if l < target {
            self.below = Some((g, l));
        } else {
            self.above = Some((g, l));
        }
        if slope < SATURATED_SLOPE && l < target {
            return DriveStep::Done(DriveOutcome::Saturated);
        }
        let step = match self.idle {
            // Too quiet on the first measurement: the plain-gain distance plus the stretched
            // loss (at least the slope-1 step, so never the wrong way).
            Some(idle) if first && l < target => {
                let idle_lufs = g + idle.offset_lufs;
                let loss = (idle_lufs - l).max(0.0);
                (target - idle_lufs + idle.loss_stretch * loss).max(target - l)
            }
            _ => (target - l) / slope.clamp(SATURATED_SLOPE, 1.0),
        }
        .clamp(-MAX_STEP_DB, MAX_STEP_DB);
        let mut next = (g + step).clamp(-DRIVE_RANGE_DB, DRIVE_RANGE_DB);
        if let (Some((a, _)), Some((b, _))) = (self.below, self.above) {
            let (lo, hi) = (a.min(b), a.max(b));
            if hi - lo < DRIVE_RESOLUTION_DB {
                return DriveStep::Done(DriveOutcome::Converged);
            }
            // The secant left the bracket (the curve bends more than the last two points
            // say): bisect instead, which always shrinks the bracket.
            if next <= lo || next >= hi {
                next = 0.5 * (a + b);
            }
        }
        if (next - g).abs() < DRIVE_RESOLUTION_DB {
            return DriveStep::Done(DriveOutcome::Converged);
        }
        DriveStep::Next(next)
    }
}

/// The result of [`solve_drive`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriveSolution {
    /// The drive of the measurement closest to the target, dB.
    pub drive_db: f64,
    /// Its loudness, LUFS (`-inf` when nothing could be measured).
    pub lufs: f64,
    /// Measurements made.
    pub passes: usize,
    /// Why the solver stopped.
    pub outcome: DriveOutcome,
}

/// Solves offline: measures `measure(drive_db)` (the master's integrated loudness at that
/// drive) from `first_drive_db` on, as [`DriveSolver`] asks, at most [`MAX_PASSES`] times, and
/// returns the best measurement (the first drive, clamped to the range, if none was finite).
pub fn solve_drive(
    target_lufs: f64,
    first_drive_db: f64,
    measure: impl FnMut(f64) -> f64,
) -> DriveSolution {
    solve_drive_with(DriveSolver::new(target_lufs), first_drive_db, measure)
}

/// [`solve_drive`] with a solver set up by the caller ([`DriveSolver::knowing_idle_loudness`]).
pub fn solve_drive_with(
    mut solver: DriveSolver,
    first_drive_db: f64,
    mut measure: impl FnMut(f64) -> f64,
) -> DriveSolution {
    let first = first_drive_db.clamp(-DRIVE_RANGE_DB, DRIVE_RANGE_DB);
    let mut drive = first;
    let mut passes = 0;
    let outcome = loop {
        if passes == MAX_PASSES {
            break DriveOutcome::OutOfPasses;
        }
        passes += 1;
        match solver.feed(drive, measure(drive)) {
            DriveStep::Next(next) => drive = next,
            DriveStep::Done(outcome) => break outcome,
        }
    };
    let (drive_db, lufs) = solver.best().unwrap_or((first, f64::NEG_INFINITY));
    DriveSolution {
        drive_db,
        lufs,
        passes,
        outcome,
    }
}

/// Learns the limiter drive that lands the master on a loudness target: the plugin's side of
/// [`DriveSolver`], one measured pass of playback per solver step.
///
/// Use: [`start`](Self::start) with the target and the drive in use; feed the chain's output
/// with [`process_block`](Self::process_block) while the programme plays (the louder parts
/// matter most: the loudness gate ignores silence); [`finish`](Self::finish) returns the new
/// drive. Learning again with the same target feeds the same solver, which refines the result
/// from the slope of the passes and their bracket; a new target starts a new solver.
#[derive(Clone, Debug)]
pub struct TargetLearn {
    meter: LoudnessMeter,
    active: bool,
    drive_db: f64,
    solver: DriveSolver,
}

impl TargetLearn {
    /// Creates a learner for stereo at `sample_rate_hz` (allocates).
    pub fn new(sample_rate_hz: f64) -> Self {
        Self {
            meter: LoudnessMeter::new(2, sample_rate_hz),
            active: false,
            drive_db: 0.0,
            solver: DriveSolver::new(STREAMING_REFERENCE_LUFS as f64),
        }
    }

    /// Sets the rate (call from `activate()`); stops any pass.
    pub fn set_sample_rate(&mut self, sample_rate_hz: f64) {
        self.meter.set_sample_rate(sample_rate_hz);
        self.active = false;
    }

    /// Begins a measuring pass towards `target_lufs` with the limiter drive `drive_db` in use.
    pub fn start(&mut self, target_lufs: f32, drive_db: f32) {
        self.meter.reset();
        self.active = true;
        if self.solver.target_lufs() != target_lufs as f64 {
            self.solver = DriveSolver::new(target_lufs as f64);
        }
        self.drive_db = drive_db as f64;
    }

    /// Abandons the pass without a result.
    pub fn cancel(&mut self) {
        self.active = false;
    }

    /// Forgets earlier passes (the next finish assumes slope 1 again).
    pub fn forget(&mut self) {
        self.solver = DriveSolver::new(self.solver.target_lufs());
    }

    /// Whether a pass is running.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Feeds the master's output (ignored unless a pass is running). Never allocates.
    pub fn process_block(&mut self, left: &[f32], right: &[f32]) {
        if self.active {
            self.meter.process_block(&[left, right]);
        }
    }

    /// Integrated loudness measured so far in this pass, LUFS (`-inf` until the gate opens).
    pub fn measured_lufs(&self) -> f64 {
        self.meter.integrated_lufs()
    }

    /// Seconds measured in this pass.
    pub fn measured_seconds(&self) -> f64 {
        self.meter.ticks_done() as f64 * 0.01
    }

    /// Ends the pass and returns the drive in dB that should land the output on the target
    /// (the drive in use when it already does; the best drive measured when the solver has
    /// stopped), or `None` when nothing loud enough to measure was played.
    pub fn finish(&mut self) -> Option<f32> {
        if !self.active {
            return None;
        }
        self.active = false;
        let drive = match self
            .solver
            .feed(self.drive_db, self.meter.integrated_lufs())
        {
            DriveStep::Next(drive) => drive,
            DriveStep::Done(DriveOutcome::Unmeasured) => return None,
            DriveStep::Done(DriveOutcome::Landed) => self.drive_db,
            DriveStep::Done(_) => self.solver.best().map_or(self.drive_db, |(g, _)| g),
        };
        Some(drive as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_down_is_the_excess_over_minus_14() {
        assert_eq!(streaming_turn_down_db(-8.0), 6.0);
        assert_eq!(streaming_turn_down_db(-16.0), 0.0);
        assert_eq!(streaming_turn_down_db(f64::NEG_INFINITY), 0.0);
    }

    /// Runs [`solve_drive`] on `curve`, recording every trial drive.
    fn solve_recorded(
        target: f64,
        first: f64,
        curve: impl Fn(f64) -> f64,
    ) -> (DriveSolution, Vec<f64>) {
        let mut trials = Vec::new();
        let solution = solve_drive(target, first, |g| {
            trials.push(g);
            curve(g)
        });
        assert_eq!(solution.passes, trials.len());
        (solution, trials)
    }

    #[test]
    fn a_linear_curve_is_solved_in_one_step() {
        // L(g) = g + c: the first step assumes slope 1, which is exact.
        let c = -23.7;
        let mut solver = DriveSolver::new(-14.0);
        assert_eq!(solver.feed(0.0, c), DriveStep::Next(-14.0 - c));
        assert_eq!(
            solver.feed(-14.0 - c, -14.0),
            DriveStep::Done(DriveOutcome::Landed)
        );
        let (s, trials) = solve_recorded(-9.0, 3.0, |g| g + c);
        assert_eq!(trials, [3.0, -9.0 - c]);
        assert_eq!(s.outcome, DriveOutcome::Landed);
        assert!((s.drive_db - (-9.0 - c)).abs() < 1e-12 && (s.lufs + 9.0).abs() < 1e-12);
    }

    #[test]
    fn the_idle_loudness_stretches_the_first_step_by_the_loss() {
        // A limiter's curve from the plain gain g1 on: L = g + c - loss, the loss growing
        // exponentially with the drive (0.25 per dB: fits to the limiter curves of five songs'
        // club masters gave 0.21-0.33) from 1.27 LU at g1 (the demo's club master).
        let (c, target, k, loss_at_plain) = (-19.528, -8.0, 0.25, 1.268);
        let plain = target - c;
        let curve = |g: f64| g + c - loss_at_plain * (k * (g - plain)).exp();
        let idle = IdleLoudness {
            offset_lufs: c,
            loss_stretch: LIMITER_LOSS_STRETCH,
        };
        // The first step asks for the stretched loss beyond the plain gain.
        let mut solver = DriveSolver::knowing_idle_loudness(target, idle);
        let DriveStep::Next(second) = solver.feed(plain, curve(plain)) else {
            panic!("a first measurement short of the target asks for more drive");
        };
        assert!((second - plain - LIMITER_LOSS_STRETCH * loss_at_plain).abs() < 1e-9);
        let stretched = solve_drive_with(
            DriveSolver::knowing_idle_loudness(target, idle),
            plain,
            curve,
        );
        let plain_steps = solve_drive(target, plain, curve);
        for s in [stretched, plain_steps] {
            assert_eq!(s.outcome, DriveOutcome::Landed, "{s:?}");
        }
        assert!(
            stretched.passes < plain_steps.passes,
            "{stretched:?} {plain_steps:?}"
        );

        // With no loss (the stage idle) the first step is the slope-1 step, and a first
        // measurement over the target never asks for more drive.
        let linear = |g: f64| g + c;
        let mut solver = DriveSolver::knowing_idle_loudness(target, idle);
        assert_eq!(solver.feed(0.0, linear(0.0)), DriveStep::Next(plain));
        let mut solver = DriveSolver::knowing_idle_loudness(target, idle);
        match solver.feed(plain + 3.0, target + 1.0) {
            DriveStep::Next(next) => assert!(next < plain + 3.0, "{next}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn compressive_curves_land_within_the_tolerance_in_a_few_steps() {
        // A limiter's curve: 1 LU per dB below its knee g0, `slope` LU per dB above it.
        for (g0, slope, target) in [(6.0, 0.2, -11.0), (4.0, 0.1, -15.0), (10.0, 0.5, -2.0)] {
            let curve = |g: f64| -20.0 + if g < g0 { g } else { g0 + slope * (g - g0) };
            let (s, trials) = solve_recorded(target, 0.0, curve);
            assert_eq!(s.outcome, DriveOutcome::Landed, "{g0} {slope}: {trials:?}");
            assert!((s.lufs - target).abs() <= TOLERANCE_LU, "{s:?}");
            assert!(s.passes <= 4, "{g0} {slope}: {trials:?}");
            // Approached from too loud as well.
            let (s, trials) = solve_recorded(target, 40.0, curve);
            assert_eq!(s.outcome, DriveOutcome::Landed, "{g0} {slope}: {trials:?}");
            assert!(s.passes <= 5, "{g0} {slope}: {trials:?}");
        }
    }

    #[test]
    fn once_bracketed_every_trial_stays_inside_the_bracket() {
        // A hard knee at 2 dB with a tiny slope above: the secant from the linear part
        // overshoots far past the target; bisection must keep every later trial between the
        // loudest too-quiet and the quietest too-loud drive.
        let curve = |g: f64| -20.0 + if g < 2.0 { g } else { 2.0 + 0.04 * (g - 2.0) };
        let target = -17.9;
        let (s, trials) = solve_recorded(target, -10.0, curve);
        let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
        for &g in &trials {
            assert!(g > lo && g < hi, "{g} outside ({lo}, {hi}): {trials:?}");
            if curve(g) < target {
                lo = g;
            } else {
                hi = g;
            }
        }
        assert!(
            s.outcome == DriveOutcome::Landed || s.outcome == DriveOutcome::Converged,
            "{s:?}"
        );
        assert!((s.lufs - target).abs() <= TOLERANCE_LU, "{s:?} {trials:?}");
    }

    #[test]
    fn an_unreachable_target_stops_as_saturated_with_the_loudest_drive() {
        // A wall: beyond 10 dB of drive nothing gets louder (0.001 LU/dB).
        let wall = |g: f64| -20.0 + g.min(10.0) + 0.001 * g;
        let (s, trials) = solve_recorded(-5.0, 0.0, wall);
        assert_eq!(s.outcome, DriveOutcome::Saturated, "{trials:?}");
        assert!(s.passes < MAX_PASSES, "{trials:?}");
        let loudest = trials
            .iter()
            .map(|&g| wall(g))
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(s.lufs, loudest);
        assert!(s.lufs < -9.9, "{s:?}");
    }

    #[test]
    fn a_non_finite_measurement_stops_and_keeps_the_best() {
        let (s, trials) = solve_recorded(-14.0, 5.0, |_| f64::NEG_INFINITY);
        assert_eq!(
            (s.outcome, s.passes, s.drive_db),
            (DriveOutcome::Unmeasured, 1, 5.0)
        );
        assert_eq!(trials, [5.0]);
        assert_eq!(s.lufs, f64::NEG_INFINITY);
        // A NaN on the second trial: the first measurement is the answer.
        let mut n = 0;
        let s = solve_drive(-14.0, 0.0, |g| {
            n += 1;
            if n == 1 {
                g - 20.0
            } else {
                f64::NAN
            }
        });
        assert_eq!((s.outcome, s.passes), (DriveOutcome::Unmeasured, 2));
        assert_eq!((s.drive_db, s.lufs), (0.0, -20.0));
        // The solver itself ignores the bad measurement.
        let mut solver = DriveSolver::new(-14.0);
        assert_eq!(solver.feed(0.0, -20.0), DriveStep::Next(6.0));
        assert_eq!(
            solver.feed(6.0, f64::NAN),
            DriveStep::Done(DriveOutcome::Unmeasured)
        );
        // ... and takes the secant from the last finite one (5.5 LU over 6 dB).
        let slope = (-14.5 - -20.0) / 6.0;
        assert_eq!(solver.feed(6.0, -14.5), DriveStep::Next(6.0 + 0.5 / slope));
    }

    #[test]
    fn a_pathological_curve_stops_after_max_passes() {
        // Loudness oscillating around the target without ever settling near it.
        let mut n = 0;
        let s = solve_drive(-14.0, 0.0, |_| {
            n += 1;
            if n % 2 == 0 {
                -13.0
            } else {
                -15.0
            }
        });
        assert!(s.passes <= MAX_PASSES);
        assert!(
            matches!(
                s.outcome,
                DriveOutcome::OutOfPasses | DriveOutcome::Converged
            ),
            "{s:?}"
        );
        assert!((s.lufs + 14.0).abs() <= 1.0 + 1e-12);
    }

    #[test]
    fn learn_on_a_linear_system_is_exact_in_one_pass() {
        // A 1 kHz sine at -20 dBFS peak through no limiter: loudness moves 1:1 with the drive.
        let fs = 48_000.0;
        let mut learn = TargetLearn::new(fs);
        learn.start(-14.0, 0.0);
        let x: Vec<f32> = (0..(fs as usize * 3))
            .map(|i| 0.1 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / fs as f32).sin())
            .collect();
        learn.process_block(&x, &x);
        let measured = learn.measured_lufs();
        let drive = learn.finish().unwrap() as f64;
        assert!(
            (drive - (-14.0 - measured)).abs() < 1e-4,
            "{drive} {measured}"
        );
    }
}
