//! Properties over generated seeds and loads: the strong strategies never oversell, and units are
//! conserved (every confirmed order decremented the primary exactly once).

use proptest::prelude::*;

use crate::support::{HISTORY, TIMELINE, outcome, run, scenario};

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
            let m = run(&s, variant, seed);
            prop_assert_eq!(m.oversold_units, 0, "{} oversold", variant);
            prop_assert!(m.stock_final_primary >= 0);
            prop_assert!(m.units_sold <= m.stock_initial);
            prop_assert!(m.units_decremented_unconfirmed >= 0, "{}: a confirmed order was never decremented", variant);
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
            let m = run(&s, variant, seed);
            // Blind decrements: what was sold beyond the stock is exactly the negative stock.
            prop_assert_eq!(
                m.stock_initial - m.units_sold - m.units_decremented_unconfirmed,
                m.stock_final_primary
            );
            prop_assert_eq!(m.oversold_units, (m.units_sold - m.stock_initial).max(0));
        }
    }
}

// Generated scenarios (`lagsim::testing`): traffic shapes, capacities, latency distributions,
// partitions and crashes. `LAGSIM_PROPTEST_CASES=N` runs N cases per property instead of the CI
// profile's few (e.g. 500 for a night run).

use lagsim::check::{Status, linearizability, linearizability_result};
use lagsim::run::Job;
use lagsim::testing::{Space, scenarios};

fn cases(ci: u32) -> u32 {
    std::env::var("LAGSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

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
    /// linearizable (or, at worst, undecided within the budget), whatever the faults.
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
                result.status != Status::Fail,
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
        for v in g.scenario.variants.iter().filter(|v| v.name == "conditional-decrement") {
            let m = Job::new(&g.scenario, v, g.scenario.seed).run().unwrap().metrics;
            prop_assert_eq!(m.oversold_units, 0, "replay: {}", g.command("scenarios/lag-monitor.toml", g.scenario.seed));
        }
    }
}
