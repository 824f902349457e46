//! The runs of `lagsim test`: every (variant, seed) pair a scenario's `[[expect]]` entries need,
//! each observed by `check::expect` as soon as it is done (so that its history is dropped), and
//! the shrinker's question about one candidate.

use std::convert::Infallible;

use crate::check::expect::{Run, needs_history, observe_all, variants_to_run};
use crate::scenario::{Scenario, Variant};

use super::{Job, Options, in_parallel};

/// Runs `variant` at `seed` (recording a history only if a `check` expectation names it) and
/// observes every expectation of `scenario` about it.
fn observe(scenario: &Scenario, variant: &Variant, seed: u64) -> Run {
    let expectations = &scenario.expectations;
    let options = Options {
        history: needs_history(expectations, &variant.name),
        ..Options::default()
    };
    let (observations, error) = match Job::new(scenario, variant, seed).options(options).run() {
        Ok(o) => (
            observe_all(expectations, &variant.name, &o.metrics, o.history.as_ref()),
            None,
        ),
        Err(e) => (vec![None; expectations.len()], Some(e.to_string())),
    };
    Run {
        variant: variant.name.clone(),
        seed,
        observations,
        error,
    }
}

/// Runs every (variant, seed) pair the expectations need, on up to `threads` threads; `done` is
/// called after each run (for a progress bar). The runs come back in variant order, then seed
/// order, whatever `threads` is.
pub fn run_expectations(
    scenario: &Scenario,
    seeds: &[u64],
    threads: usize,
    done: &(dyn Fn() + Sync),
) -> Vec<Run> {
    let pairs: Vec<(&Variant, u64)> = variants_to_run(scenario)
        .into_iter()
        .flat_map(|v| seeds.iter().map(move |s| (v, *s)))
        .collect();
    let mut runs = Vec::with_capacity(pairs.len());
    let Ok(()) = in_parallel(
        &pairs,
        threads,
        |_, &(v, seed)| {
            let run = observe(scenario, v, seed);
            done();
            Ok::<_, Infallible>(run)
        },
        |run| {
            runs.push(run);
            Ok(())
        },
    );
    runs
}

/// Whether expectation `index` fails on the one run of `variant` at `seed` (the shrinker's
/// question). A run that stops with an error does not count as the same failure.
pub fn fails_on(scenario: &Scenario, index: usize, variant: &str, seed: u64) -> bool {
    let Some(v) = scenario.variants.iter().find(|v| v.name == variant) else {
        return false;
    };
    let run = observe(scenario, v, seed);
    run.error.is_none()
        && run
            .observations
            .get(index)
            .and_then(|o| o.as_ref())
            .is_some_and(|o| !o.holds)
}
