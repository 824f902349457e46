//! The history checkers judged online, as a run streams its operations, give exactly what the
//! batch checkers give on the whole recorded history: the same entries (verdicts, figures,
//! findings with the operations they name) and the same JSON bytes. A run's checks are the online
//! ones; `run_checks` on the history it recorded is the batch reference.

use proptest::prelude::*;

use lagsim::check::run_checks;
use lagsim::run::{Checks, Job, Options};
use lagsim::scenario::{Scenario, Variant, parse_scenario};
use lagsim::testing::{Space, scenarios};

use crate::support::{par_map, proptest_cases as cases, scenario};

const JUDGED_AND_KEPT: Options = Options {
    history: true,
    timeline: false,
    checks: Checks::All,
};

/// What `v` at `seed` gives: `Err` says where the online and batch checks part; `Ok` counts the
/// findings shown (so that the test knows the explanations were compared, not only counts).
fn compare(s: &Scenario, v: &Variant, seed: u64) -> Result<usize, String> {
    let o = Job::new(s, v, seed)
        .options(JUDGED_AND_KEPT)
        .run()
        .unwrap_or_else(|e| panic!("{} runs: {e}", v.name));
    let history = o.history.as_ref().expect("kept");
    let batch = run_checks(v, &s.requirements, &o.metrics, Some(history));
    let judged_history = o.checks.iter().any(|e| e.result.name == "linearizability");
    if !judged_history {
        return Err(format!(
            "{} {}: no history check ran online",
            s.name, v.name
        ));
    }
    for (a, b) in o.checks.iter().zip(&batch) {
        let (ja, jb) = (json(a), json(b));
        if a != b || ja != jb {
            return Err(format!(
                "{} {} seed {seed}, `{}`:\nonline {ja}\nbatch  {jb}\nonline {a:?}\nbatch  {b:?}",
                s.name, v.name, a.result.name
            ));
        }
    }
    if o.checks.len() != batch.len() {
        return Err(format!(
            "{} {}: {} checks online, {} batch",
            s.name,
            v.name,
            o.checks.len(),
            batch.len()
        ));
    }
    Ok(batch.iter().map(|e| e.result.findings.len()).sum())
}

fn json(e: &lagsim::check::CheckEntry) -> String {
    serde_json::to_string(e).expect("a check serialises")
}

#[test]
fn online_checks_equal_the_batch_checks_on_every_bundled_scenario_and_variant() {
    let pairs: Vec<(Scenario, usize, u64)> = crate::golden::bundled()
        .iter()
        .flat_map(|f| {
            let s = scenario(f, &[]);
            let seeds = [s.seed, s.seed + 1];
            (0..s.variants.len()).flat_map(move |i| seeds.map(|seed| (s.clone(), i, seed)))
        })
        .collect();
    let results = par_map(&pairs, |(s, i, seed)| compare(s, &s.variants[*i], *seed));
    let differ: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(pairs.len() >= 60, "{} runs", pairs.len());
    assert!(differ.is_empty(), "online and batch checks differ:\n{}", {
        let d: Vec<&str> = differ.iter().map(|d| d.as_str()).collect();
        d.join("\n")
    });
    let shown: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    assert!(shown > 100, "only {shown} findings compared");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), ..ProptestConfig::default() })]

    /// Generated scenarios (partitions, pauses and crashes among them: timed-out operations,
    /// which make the linearizability search lazy and let it go back).
    #[test]
    fn online_checks_equal_the_batch_checks_on_generated_scenarios(
        g in scenarios(Space::checkouts(&["replica-read", "conditional-decrement", "optimistic"])),
        seed in any::<u64>(),
    ) {
        let s = parse_scenario("generated", &g.toml, &[]).expect("a valid scenario");
        for v in &s.variants {
            let compared = compare(&s, v, seed);
            prop_assert!(compared.is_ok(), "{}\n{}", compared.unwrap_err(), g.toml);
        }
    }
}
