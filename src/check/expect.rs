//! Expectations (`[[expect]]`) judged over several seeds: which runs they need, what each run
//! showed, and whether each expectation held.
//!
//! A `lagsim test` run of a scenario runs every variant some expectation names, once per seed,
//! recording a history only for the variants a `check` expectation names (the runs are
//! `crate::run`'s). This module only judges: what a run's metrics and history show for each
//! claim ([`observe_all`]), and whether an expectation held over the runs ([`judge`]). The runs
//! come in (variant, seed) order, so nothing here depends on how many threads ran them.

use crate::model::metrics::Metrics;
use crate::scenario::{Claim, Expectation, Scenario, SeedShare, Variant};

use super::{
    CheckResult, Status, check_history_without_linearizability, linearizability,
    linearizability_result,
};
use crate::history::{History, KeyKind};

/// The seeds of a test run: the scenario's own seed, then the next ones (`count` in all).
pub fn seeds(first: u64, count: usize) -> Vec<u64> {
    (0..count as u64).map(|i| first.wrapping_add(i)).collect()
}

/// What one expectation found on one run (one variant at one seed).
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub holds: bool,
    /// The figure (`60`, `0.25`) or the verdict (`pass`, `fail`, `unknown`) the run showed.
    pub shown: String,
}

/// One run of one variant at one seed: what every expectation about the variant observed.
#[derive(Clone, Debug)]
pub struct Run {
    pub variant: String,
    pub seed: u64,
    /// Indexed like the scenario's expectations; `None` where the expectation is not about
    /// this variant.
    pub observations: Vec<Option<Observation>>,
    /// The run stopped with an error (it hit the horizon or the event limit).
    pub error: Option<String>,
}

/// The variants a scenario's expectations name, in file order.
pub fn variants_to_run(scenario: &Scenario) -> Vec<&Variant> {
    scenario
        .variants
        .iter()
        .filter(|v| {
            scenario
                .expectations
                .iter()
                .any(|e| e.variants.contains(&v.name))
        })
        .collect()
}

/// Whether the variant's runs must record a history (a `check` expectation names it).
pub fn needs_history(expectations: &[Expectation], variant: &str) -> bool {
    expectations
        .iter()
        .any(|e| matches!(e.claim, Claim::Check { .. }) && e.variants.iter().any(|v| v == variant))
}

/// What every expectation about `variant` observes in its run's `metrics` and `history`:
/// indexed like `expectations`, `None` where an expectation is not about this variant.
pub fn observe_all(
    expectations: &[Expectation],
    variant: &str,
    metrics: &Metrics,
    history: Option<&History>,
) -> Vec<Option<Observation>> {
    let mut checks = CheckCache::default();
    expectations
        .iter()
        .map(|e| {
            e.variants
                .iter()
                .any(|v| v == variant)
                .then(|| observe(&e.claim, metrics, history, &mut checks))
        })
        .collect()
}

/// The results of the history checks a run needed, computed once each.
#[derive(Default)]
struct CheckCache {
    linearizability: Option<CheckResult>,
    /// The other checks, by staleness bound.
    others: Vec<(u64, Vec<CheckResult>)>,
}

fn observe(
    claim: &Claim,
    metrics: &Metrics,
    history: Option<&History>,
    cache: &mut CheckCache,
) -> Observation {
    match claim {
        Claim::Figure { metric, op, value } => match metrics.number(metric) {
            Some(x) => Observation {
                holds: op.holds(x, *value),
                shown: figure(x),
            },
            None => Observation {
                holds: false,
                shown: "none".to_string(),
            },
        },
        Claim::Check {
            check,
            pass,
            keys,
            max_staleness_us,
        } => {
            let Some(h) = history else {
                return Observation {
                    holds: false,
                    shown: "unknown".to_string(),
                };
            };
            let result = if check.name() == "linearizability" {
                cache
                    .linearizability
                    .get_or_insert_with(|| {
                        linearizability_result(h, &linearizability::Budget::default())
                    })
                    .clone()
            } else {
                let bound = max_staleness_us.unwrap_or(0);
                let at = match cache.others.iter().position(|(b, _)| *b == bound) {
                    Some(at) => at,
                    None => {
                        cache
                            .others
                            .push((bound, check_history_without_linearizability(h, bound)));
                        cache.others.len() - 1
                    }
                };
                match cache.others[at].1.iter().find(|r| r.name == check.name()) {
                    Some(r) => r.clone(),
                    None => {
                        return Observation {
                            holds: false,
                            shown: "unknown".to_string(),
                        };
                    }
                }
            };
            let kind = keys.map(|k| match k {
                crate::scenario::KeyKindName::Stock => KeyKind::Stock,
                crate::scenario::KeyKindName::Profile => KeyKind::Profile,
            });
            let status = result.status_for(kind);
            let wanted = if *pass { Status::Pass } else { Status::Fail };
            Observation {
                holds: status == wanted,
                shown: status.name().to_string(),
            }
        }
    }
}

/// A figure as printed: integers without a decimal point, others with up to 3 decimals.
pub fn figure(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// An expectation's verdict over a test run's seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub holds: bool,
    /// Per variant named by the expectation, in its order: what each seed showed.
    pub variants: Vec<VariantSeeds>,
    /// The first run on which it failed (variant order, then seed order), for an `all`
    /// expectation that failed; for a share expectation, the first failing run of the first
    /// variant below the share.
    pub first_failure: Option<Failure>,
}

/// What one variant showed on each seed.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantSeeds {
    pub variant: String,
    /// (seed, observation) in seed order.
    pub seeds: Vec<(u64, Observation)>,
    /// Seeds on which the claim held.
    pub passed: usize,
    /// The variant meets the expectation's share of seeds.
    pub holds: bool,
}

/// A run on which an expectation did not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub variant: String,
    pub seed: u64,
    pub shown: String,
}

/// Judges expectation number `index` of the scenario from the runs of a test.
pub fn judge(expectation: &Expectation, index: usize, runs: &[Run]) -> Result<Judgement, String> {
    let mut variants = Vec::with_capacity(expectation.variants.len());
    let mut first_failure = None;
    for name in &expectation.variants {
        let mut seeds = Vec::new();
        for run in runs.iter().filter(|r| &r.variant == name) {
            if let Some(e) = &run.error {
                return Err(format!("variant `{name}`, seed {}: {e}", run.seed));
            }
            let o = run.observations[index]
                .clone()
                .ok_or_else(|| format!("variant `{name}` was not observed"))?;
            seeds.push((run.seed, o));
        }
        let passed = seeds.iter().filter(|(_, o)| o.holds).count();
        let holds = match expectation.on_seeds {
            SeedShare::All => passed == seeds.len(),
            // Compared in whole seeds: `passed / n >= share` without rounding surprises.
            SeedShare::AtLeast(share) => passed as f64 >= share * seeds.len() as f64 - 1e-9,
        };
        if !holds && first_failure.is_none() {
            first_failure = seeds
                .iter()
                .find(|(_, o)| !o.holds)
                .map(|(seed, o)| Failure {
                    variant: name.clone(),
                    seed: *seed,
                    shown: o.shown.clone(),
                });
        }
        variants.push(VariantSeeds {
            variant: name.clone(),
            seeds,
            passed,
            holds,
        });
    }
    Ok(Judgement {
        holds: variants.iter().all(|v| v.holds),
        variants,
        first_failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::CompareOp;

    fn exp(on_seeds: SeedShare) -> Expectation {
        Expectation {
            variants: vec!["a".into()],
            claim: Claim::Figure {
                metric: "oversold_units".into(),
                op: CompareOp::Gt,
                value: 0.0,
            },
            on_seeds,
            why: String::new(),
            line: 1,
        }
    }

    fn runs(holds: &[bool]) -> Vec<Run> {
        holds
            .iter()
            .enumerate()
            .map(|(i, h)| Run {
                variant: "a".into(),
                seed: 10 + i as u64,
                observations: vec![Some(Observation {
                    holds: *h,
                    shown: if *h { "5".into() } else { "0".into() },
                })],
                error: None,
            })
            .collect()
    }

    #[test]
    fn an_all_expectation_fails_at_its_first_failing_seed() {
        let j = judge(&exp(SeedShare::All), 0, &runs(&[true, false, false])).unwrap();
        assert!(!j.holds);
        assert_eq!(
            j.first_failure,
            Some(Failure {
                variant: "a".into(),
                seed: 11,
                shown: "0".into()
            })
        );
        assert_eq!(j.variants[0].passed, 1);
    }

    #[test]
    fn a_share_expectation_counts_the_seeds_that_pass() {
        let r = runs(&[true, true, true, true, false]);
        assert!(judge(&exp(SeedShare::AtLeast(0.8)), 0, &r).unwrap().holds);
        assert!(!judge(&exp(SeedShare::AtLeast(0.9)), 0, &r).unwrap().holds);
        let r = runs(&[true, true, false]);
        assert!(
            judge(&exp(SeedShare::AtLeast(2.0 / 3.0)), 0, &r)
                .unwrap()
                .holds
        );
    }

    #[test]
    fn figures_print_plainly() {
        assert_eq!(figure(60.0), "60");
        assert_eq!(figure(-3.0), "-3");
        assert_eq!(figure(0.25), "0.25");
        assert_eq!(figure(2.0 / 3.0), "0.667");
    }

    #[test]
    fn seeds_start_at_the_scenario_seed() {
        assert_eq!(seeds(7, 3), vec![7, 8, 9]);
        assert_eq!(seeds(u64::MAX, 2), vec![u64::MAX, 0]);
    }
}
