//! A progress bar on stderr for runs that take a while: one bar over the variants of a command,
//! advancing with each variant's simulated time. Shown only when stderr is a terminal and the
//! command's output is not JSON; it draws nothing a pipe or a file would receive.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::SimTime;
use crate::scenario::Variant;

/// Steps of the bar per variant.
const STEPS: u64 = 1_000;

/// Shared by the threads running variants (`--jobs`): each reports its own variant's simulated
/// time, and the bar shows the sum.
pub struct Progress {
    bar: ProgressBar,
    /// Per variant: how long its traffic lasts (µs), and the steps it has reported so far.
    spans_us: Vec<u64>,
    done: Vec<AtomicU64>,
}

impl Progress {
    /// A bar over `variants`, or a hidden one when `show` is false.
    pub fn new(variants: &[&Variant], show: bool) -> Self {
        let target = if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(variants.len() as u64 * STEPS), target);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>28} [{bar:30}] {msg} ({elapsed}, ETA {eta})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Self {
            bar,
            spans_us: variants
                .iter()
                .map(|v| v.config.traffic_end.as_micros().max(1))
                .collect(),
            done: variants.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A variant starts.
    pub fn start(&self, variant: &Variant) {
        self.bar.set_prefix(variant.name.clone());
        self.bar.set_message("0 s simulated");
    }

    /// Variant `index` has finished: its share of the bar is full, whatever it last reported.
    pub fn finished(&self, index: usize) {
        self.advance(index, STEPS);
    }

    /// Variant `index`'s run has reached `now` (after its traffic, its share waits full while
    /// the run drains).
    pub fn observe(&self, index: usize, now: SimTime) {
        let span = self.spans_us[index];
        self.advance(
            index,
            (now.as_micros().min(span) as u128 * STEPS as u128 / span as u128) as u64,
        );
        self.bar
            .set_message(format!("{:.0} s simulated", now.as_secs_f64()));
    }

    /// Moves variant `index`'s share of the bar up to `steps` (never back).
    fn advance(&self, index: usize, steps: u64) {
        let before = self.done[index].fetch_max(steps, Ordering::Relaxed);
        if steps > before {
            self.bar.inc(steps - before);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
