//! One run path: (scenario, variant, seed, options) → run → results.
//!
//! Owns:
//! - one run ([`Job`]): a variant of a scenario at a seed, with what it records (a history, a
//!   timeline), whether it is judged ([`Checks`]: convergence, the scenario's `[[require]]`, the
//!   history checkers), its trace sink and its progress callback; its [`Outcome`] is the run's
//!   summary, metrics, the recordings asked for and the check results;
//! - many runs on J threads ([`in_parallel`]): results in input order, the same bytes for any J;
//! - the determinism check ([`Job::check_determinism`]);
//! - the runs of `lagsim test` and the shrinker's question ([`run_expectations`], [`fails_on`]);
//! - the one reproduce line, and its shell quoting ([`Reproduce`]).
//!
//! It is the only caller of the model's run entry points, and calls only
//! `model::simulate` and `model::check_determinism`, in this file. It must not
//! touch: the model's internals (only those two entry points and their output types); files,
//! stdout or stderr (the command line reads scenarios and writes traces, histories and outputs);
//! the verdicts themselves (`check` judges a history, a run's metrics or a claim; this module
//! only hands it what a run produced); and what the reports and tables look like.

mod expect;
mod parallel;
mod reproduce;

pub use expect::{fails_on, run_expectations};
pub use parallel::in_parallel;
pub use reproduce::Reproduce;

use crate::check::online::OnlineChecks;
use crate::check::{CheckEntry, run_checks_judged, staleness_bound};
use crate::engine::{Divergence, NoTrace, RunError, RunSummary, SimTime, TraceSink};
use crate::history::History;
use crate::history::stream::OpSink;
use crate::model::metrics::Metrics;
use crate::model::timeline::Timeline;
use crate::model::{self, Recording};
use crate::scenario::{Scenario, Variant};

/// Which checks judge a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checks {
    /// None (sweeps, `lagsim test`, narration).
    #[default]
    None,
    /// The checks of the run's results (convergence) and the scenario's `[[require]]` entries,
    /// without recording a history: a required history check ends `unknown`
    /// (`lagsim run --skip-checks`).
    Results,
    /// Those, and every checker of the run's history, judged online as the run streams it
    /// (`check::online`): the history is not kept for them.
    All,
}

/// What a run records and how it is judged, besides its metrics. None of it changes the run
/// (the same trace hash).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Keep the history of every client-visible operation in the [`Outcome`]. It grows with the
    /// run: about 250 bytes per operation, 85 MB for a black-friday variant.
    pub history: bool,
    /// Record a [`Timeline`] for charts and narration (bounded by its sample cap).
    pub timeline: bool,
    pub checks: Checks,
}

/// What one run gave.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Events processed, the simulated end time and the trace hash.
    pub summary: RunSummary,
    pub metrics: Metrics,
    /// With [`Options::history`]; its source names the variant and the seed (not the scenario).
    pub history: Option<History>,
    /// With [`Options::timeline`].
    pub timeline: Option<Timeline>,
    /// Empty with [`Checks::None`].
    pub checks: Vec<CheckEntry>,
    /// Units of stock checkout decrements took on the primary that no shopper was told of,
    /// counted where they happened (for conservation: with the units sold, every unit the
    /// primary's stock lost; `metrics.units_decremented_unconfirmed` derives it from the stock).
    pub unconfirmed_units_counted: i64,
}

/// One variant of a scenario at one seed, ready to run. The scenario gives the run its
/// `[[require]]` entries; the variant need not be one of its own (a test may run an edited copy).
pub struct Job<'a> {
    scenario: &'a Scenario,
    variant: &'a Variant,
    seed: u64,
    options: Options,
    progress: Option<&'a dyn Fn(SimTime)>,
}

impl<'a> Job<'a> {
    /// A run that records nothing and runs no check ([`Options::default`]).
    pub fn new(scenario: &'a Scenario, variant: &'a Variant, seed: u64) -> Self {
        Job {
            scenario,
            variant,
            seed,
            options: Options::default(),
            progress: None,
        }
    }

    /// What the run records and how it is judged.
    pub fn options(self, options: Options) -> Self {
        Job { options, ..self }
    }

    /// Tells `progress` the simulated time reached every `model::PROGRESS_EVERY` events (for a
    /// progress bar; it cannot change the run).
    pub fn progress(self, progress: &'a dyn Fn(SimTime)) -> Self {
        Job {
            progress: Some(progress),
            ..self
        }
    }

    /// Runs it to completion without a trace.
    pub fn run(self) -> Result<Outcome, RunError> {
        self.run_traced(&mut NoTrace)
    }

    /// Runs it to completion, describing every event to `trace`.
    pub fn run_traced(self, trace: &mut impl TraceSink) -> Result<Outcome, RunError> {
        let Job {
            scenario,
            variant,
            seed,
            options,
            progress,
        } = self;
        let judge_history = options.checks == Checks::All;
        let recording = Recording {
            history: options.history,
            timeline: options.timeline,
        };
        let mut tell = |now| {
            if let Some(progress) = progress {
                progress(now);
            }
        };
        // The checkers judge the history as it streams by: it is kept only for `options.history`.
        let sink: Option<Box<dyn OpSink>> = judge_history.then(|| {
            let bound = staleness_bound(variant, &scenario.requirements);
            Box::new(OnlineChecks::new(bound)) as Box<dyn OpSink>
        });
        let run = model::simulate(variant, seed, trace, recording, sink, &mut tell)?;
        let judged = run.sink.map(|sink| {
            let online = sink.into_any().downcast::<OnlineChecks>();
            online.expect("the sink is the one given").results()
        });
        let checks = match options.checks {
            Checks::None => Vec::new(),
            Checks::Results | Checks::All => {
                run_checks_judged(variant, &scenario.requirements, &run.metrics, judged)
            }
        };
        Ok(Outcome {
            summary: run.summary,
            metrics: run.metrics,
            history: run.history,
            timeline: run.timeline.map(|t| *t),
            checks,
            unconfirmed_units_counted: run.unconfirmed_units_counted,
        })
    }

    /// Runs the variant twice in lockstep; `Some` names the first simulated instant at which the
    /// two runs differ (which would be a determinism bug). The options do not apply.
    pub fn check_determinism(&self) -> Result<Option<Divergence>, RunError> {
        model::check_determinism(self.variant, self.seed)
    }
}
