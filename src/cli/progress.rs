//! A progress bar on stderr for runs that take a while: one bar over the variants of a command,
//! advancing with each variant's simulated time. Shown only when stderr is a terminal and the
//! command's output is not JSON; it draws nothing a pipe or a file would receive.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::SimTime;
use crate::scenario::Variant;

/// Steps of the bar per variant.
const STEPS: u64 = 1_000;

pub struct Progress {
    bar: ProgressBar,
    /// The current variant: its index and how long its traffic lasts (µs).
    index: u64,
    span_us: u64,
}

impl Progress {
    /// A bar over `variants`, or a hidden one when `show` is false.
    pub fn new(variants: usize, show: bool) -> Self {
        let target = if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(variants as u64 * STEPS), target);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>28} [{bar:30}] {msg} ({elapsed}, ETA {eta})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Self {
            bar,
            index: 0,
            span_us: 1,
        }
    }

    /// Variant number `index` (0-based) starts.
    pub fn start(&mut self, index: usize, variant: &Variant) {
        self.index = index as u64;
        self.span_us = variant.config.traffic_end.as_micros().max(1);
        self.bar.set_prefix(variant.name.clone());
        self.bar.set_position(self.index * STEPS);
        self.bar.set_message("0 s simulated");
    }

    /// The current variant's run has reached `now` (after its traffic, the bar waits full while
    /// the run drains).
    pub fn observe(&self, now: SimTime) {
        let done = (now.as_micros().min(self.span_us) as u128 * STEPS as u128
            / self.span_us as u128) as u64;
        self.bar.set_position(self.index * STEPS + done);
        self.bar
            .set_message(format!("{:.0} s simulated", now.as_secs_f64()));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
