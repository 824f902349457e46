//! Properties over generated seeds and loads: the strong strategies never oversell, and units are
//! conserved (every confirmed order decremented the primary exactly once).

use proptest::prelude::*;

use crate::support::{HISTORY, TIMELINE, outcome, proptest_cases as cases, scenario};

/// A one-minute flash sale on black-friday's topology: small enough for many cases.
fn flash_sale(rate: u32, stock: u32, cart: f64) -> lagsim::scenario::Scenario {
    scenario(
        "scenarios/black-friday.toml",
        &[
            "duration_s=60",
            "horizon_s=900",
            &format!("traffic.profile=[{{ at_s = 0, shoppers_per_s = {rate} }}]"),
            &format!("products[0].stock={stock}"),
            &format!("shoppers.add_to_cart_probability={cart}"),
            "shoppers.think_time={ dist = \"lognormal\", median_ms = 2000, p99_ms = 20000 }",
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn strong_strategies_never_oversell_and_conserve_units(
        seed in any::<u64>(),
        rate in 50u32..400,
        stock in 0u32..120,
        cart in 0.02f64..0.3,
    ) {
        let s = flash_sale(rate, stock, cart);
        for variant in ["pessimistic-lock", "optimistic", "conditional-decrement"] {
            let o = run_outcome(&s, variant, seed);
            let m = &o.metrics;
            prop_assert_eq!(m.oversold_units, 0, "{} oversold", variant);
            prop_assert!(m.stock_final_primary >= 0);
            prop_assert!(m.units_sold <= m.stock_initial);
            // Conservation, from two independent counts: the units the app tier confirmed, and
            // the committed decrements nobody was told of, counted where they happened.
            prop_assert_eq!(
                m.stock_initial - m.stock_final_primary,
                m.units_sold + o.unconfirmed_units_counted,
                "{}: units not conserved", variant
            );
            prop_assert_eq!(
                m.orders_confirmed + m.orders_rejected_out_of_stock + m.orders_failed,
                m.checkouts
            );
        }
    }

    #[test]
    fn weak_strategies_account_for_every_unit_they_oversell(seed in any::<u64>(), stock in 0u32..60) {
        let s = flash_sale(300, stock, 0.2);
        for variant in ["replica-read", "cache-read", "primary-read"] {
            let o = run_outcome(&s, variant, seed);
            let m = &o.metrics;
            // Blind decrements: every unit the primary lost was sold or committed unconfirmed.
            prop_assert_eq!(
                m.stock_initial - m.stock_final_primary,
                m.units_sold + o.unconfirmed_units_counted
            );
            // Counted again from what the clients saw, not from the model's order counters.
            prop_assert_eq!(m.oversold_units, oversold_by_history(&o, stock));
        }
    }
}

/// Runs `variant` of `s` at `seed`, recording the history.
fn run_outcome(s: &lagsim::scenario::Scenario, variant: &str, seed: u64) -> Outcome {
    let v = s.variants.iter().find(|v| v.name == variant).unwrap();
    outcome(s, v, seed, HISTORY)
}

/// The units sold beyond the product's `stock`, counted from the run's history: every
/// decrement (or compare-and-set down) of its stock key that its client saw succeed.
fn oversold_by_history(o: &Outcome, stock: u32) -> i64 {
    let history = o.history.as_ref().expect("recorded");
    let stock_keys: Vec<_> = (0..history.keys.len())
        .filter(|&k| history.keys[k].kind == KeyKind::Stock)
        .collect();
    assert_eq!(stock_keys.len(), 1, "one product, one stock key");
    let sold: i64 = history
        .ops
        .iter()
        .filter(|op| op.key.0 as usize == stock_keys[0] && op.outcome == HistoryOutcome::Ok)
        .map(|op| match op.func {
            Func::Decrement { qty, .. } => qty,
            Func::Cas { from, to } => from - to,
            Func::Read | Func::Write { .. } => 0,
        })
        .sum();
    (sold - i64::from(stock)).max(0)
}

// Generated scenarios (`lagsim::testing`): traffic shapes, capacities, latency distributions,
// partitions and crashes. `LAGSIM_PROPTEST_CASES=N` runs N cases per property instead of the CI
// profile's few (e.g. 500 for a night run).

use lagsim::check::{Status, linearizability, linearizability_result};
use lagsim::history::{Func, KeyKind, Outcome as HistoryOutcome};
use lagsim::run::{Job, Outcome};
use lagsim::testing::{Space, scenarios};

const STRONG: [&str; 3] = ["pessimistic-lock", "optimistic", "conditional-decrement"];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), ..ProptestConfig::default() })]

    /// The same generated scenario and seed give the same trace and the same figures.
    #[test]
    fn any_generated_scenario_runs_the_same_twice(
        g in scenarios(Space::checkouts(&["replica-read", "optimistic"])),
        seed in any::<u64>(),
    ) {
        for v in &g.scenario.variants {
            let a = Job::new(&g.scenario, v, seed).run().unwrap();
            let b = Job::new(&g.scenario, v, seed).run().unwrap();
            prop_assert_eq!(a.summary.trace_hash, b.summary.trace_hash, "{}", g.toml);
            prop_assert_eq!(&a.metrics, &b.metrics);
        }
    }

    /// Under any generated traffic, capacities and faults, the strong checkouts never oversell,
    /// units are conserved and every checkout ends one way.
    #[test]
    fn strong_checkouts_never_oversell_any_generated_scenario(
        g in scenarios(Space::checkouts(&STRONG)),
        seed in any::<u64>(),
    ) {
        for v in &g.scenario.variants {
            let m = Job::new(&g.scenario, v, seed).run().unwrap().metrics;
            prop_assert_eq!(m.oversold_units, 0, "{} oversold in\n{}", v.name, g.toml);
            prop_assert!(m.stock_final_primary >= 0);
            prop_assert_eq!(
                m.stock_initial - m.units_sold - m.units_decremented_unconfirmed,
                m.stock_final_primary,
                "{}: units not conserved in\n{}", v.name, g.toml
            );
            prop_assert_eq!(
                m.orders_confirmed + m.orders_rejected_out_of_stock + m.orders_failed,
                m.checkouts
            );
        }
    }

    /// After the faults heal and the writes stop, every replica holds what the primary holds,
    /// and replicas and caches have matched it within the cache's TTL (plus a minute).
    #[test]
    fn replicas_converge_after_any_generated_faults(
        g in scenarios(Space::checkouts(&["conditional-decrement"])),
        seed in any::<u64>(),
    ) {
        let v = &g.scenario.variants[0];
        let run = outcome(&g.scenario, v, seed, TIMELINE);
        let t = run.timeline.as_ref().unwrap();
        for (r, name) in t.replicas.iter().enumerate() {
            for (p, product) in t.products.iter().enumerate() {
                prop_assert_eq!(
                    t.replica_stock[r][p].last(),
                    t.primary_stock[p].last(),
                    "{} still differs on {} at the end of\n{}", name, product, g.toml
                );
            }
        }
        let ttl_ms = v.config.cache.ttl_us as f64 / 1e3;
        prop_assert!(
            run.metrics.converged_after_ms <= ttl_ms + 60_000.0,
            "converged {} ms after quiescence (ttl {} ms) in\n{}",
            run.metrics.converged_after_ms, ttl_ms, g.toml
        );
    }

    /// With product pages read on the primary, the histories of the strong checkouts are
    /// linearizable, whatever the faults: the checker must decide it within its default budget.
    #[test]
    fn the_checker_accepts_histories_of_linearizable_strategies(
        g in scenarios(Space { max_shoppers_per_s: 60, ..Space::checkouts(&STRONG) }),
        seed in any::<u64>(),
    ) {
        for v in &g.scenario.variants {
            let mut v = v.clone();
            v.page = lagsim::scenario::ReadSource::Primary;
            let run = outcome(&g.scenario, &v, seed, HISTORY);
            let history = run.history.unwrap();
            let result = linearizability_result(&history, &linearizability::Budget::default());
            prop_assert!(
                result.status == Status::Pass,
                "{}: {}\n{:?}\n{}", v.name, result.summary,
                result.findings.first().map(|f| &f.sentence), g.toml
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(8), ..ProptestConfig::default() })]

    /// docs/testing.md's example, on a bundled scenario: its conditional decrement never
    /// oversells, whatever the traffic, up to three faults and the replicas' workers.
    #[test]
    fn a_users_scenario_varied_keeps_its_guarantee(
        g in lagsim::testing::variations(
            "lag-monitor.toml",
            include_str!("../../scenarios/lag-monitor.toml"),
            lagsim::testing::Vary {
                traffic_up_to: Some(150),
                faults_up_to: Some(3),
                replica_workers_up_to: Some(16),
                seed: true,
            },
        ),
    ) {
        let variants: Vec<_> =
            g.scenario.variants.iter().filter(|v| v.name == "conditional-decrement").collect();
        prop_assert_eq!(variants.len(), 1, "lag-monitor.toml has one `conditional-decrement` variant");
        for v in variants {
            let m = Job::new(&g.scenario, v, g.scenario.seed).run().unwrap().metrics;
            prop_assert_eq!(m.oversold_units, 0, "replay: {}", g.command("scenarios/lag-monitor.toml", g.scenario.seed));
        }
    }
}
