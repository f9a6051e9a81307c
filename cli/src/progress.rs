//! Progress bars (indicatif) on standard error, drawn only when it is a terminal and the
//! caller asked for them, so pipes, `--json` and tests see clean output; phase timings for
//! profiling with `STEM_TIMING` set.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hands out bars; all hidden when progress is off.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars are drawn when `wanted` and standard error is a terminal.
    pub fn new(wanted: bool) -> Self {
        Self {
            visible: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// A bar of `len` steps labelled `what`.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }
}

/// Prints how long each phase took when `STEM_TIMING` is set (for profiling the render).
pub struct Timing(Option<std::time::Instant>);

impl Timing {
    /// Starts the clock of the first phase (if `STEM_TIMING` is set).
    pub fn start() -> Self {
        Self(std::env::var_os("STEM_TIMING").map(|_| std::time::Instant::now()))
    }

    /// Prints the time since the last mark as the duration of `what`.
    pub fn mark(&mut self, what: &str) {
        if let Some(t) = &mut self.0 {
            eprintln!("stem: timing: {what}: {:.2} s", t.elapsed().as_secs_f64());
            *t = std::time::Instant::now();
        }
    }
}
