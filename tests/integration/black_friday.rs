use lagsim::run::{Job, Outcome};

use crate::support::{par_map, run, scenario};

const BF: &str = "scenarios/black-friday.toml";

fn never_oversells(variant: &str) {
    let s = scenario(BF, &[]);
    let seeds: Vec<u64> = (1..=20).collect();
    let v = s.variants.iter().find(|v| v.name == variant).unwrap();
    let run = |&seed: &u64| -> Outcome { Job::new(&s, v, seed).run().unwrap() };
    for (seed, o) in seeds.iter().zip(par_map(&seeds, run)) {
        let m = &o.metrics;
        assert_eq!(m.oversold_units, 0, "{variant} oversold at seed {seed}");
        assert!(
            m.stock_final_primary >= 0,
            "{variant} stock went negative at seed {seed}"
        );
        // Conservation, from two counts made apart: units the shoppers were told they bought,
        // and committed decrements nobody was told of, counted where they happened.
        assert_eq!(
            m.stock_initial - m.stock_final_primary,
            m.units_sold + o.unconfirmed_units_counted,
            "{variant} seed {seed}: units not conserved"
        );
        // The spike really happened in these runs: the replicas lagged by seconds.
        assert!(
            m.replica_lag_ms_max > 3_000.0,
            "seed {seed}: lag max {}",
            m.replica_lag_ms_max
        );
        // And the product sold out: the guarantee was tested at the edge.
        assert!(
            m.orders_rejected_out_of_stock > 0,
            "seed {seed}: nothing was rejected"
        );
    }
}

#[test]
fn pessimistic_lock_never_oversells_on_20_seeds() {
    never_oversells("pessimistic-lock");
}

#[test]
fn optimistic_never_oversells_on_20_seeds() {
    never_oversells("optimistic");
}

#[test]
fn conditional_decrement_never_oversells_on_20_seeds() {
    never_oversells("conditional-decrement");
}

#[test]
fn replica_read_oversells_on_most_seeds_with_lag_of_seconds() {
    let s = scenario(BF, &[]);
    let seeds: Vec<u64> = (1..=10).collect();
    let runs = par_map(&seeds, |&seed| run(&s, "replica-read", seed));
    let overselling = runs.iter().filter(|m| m.oversold_units > 0).count();
    assert!(
        overselling >= 8,
        "replica-read oversold on only {overselling} of 10 seeds"
    );
    for m in &runs {
        // The story's order of magnitude: seconds of lag, tens of units.
        assert!(
            (4_000.0..16_000.0).contains(&m.replica_lag_ms_max),
            "lag max {}",
            m.replica_lag_ms_max
        );
        assert!(m.oversold_units < 200, "oversold {}", m.oversold_units);
        // A blind decrement shows up on the primary as negative stock.
        assert_eq!(m.stock_final_primary, -m.oversold_units);
        assert!(m.stale_checkout_reads > 0);
    }
}

#[test]
fn the_same_shoppers_reach_every_variant() {
    let s = scenario(BF, &[]);
    let names = [
        "replica-read",
        "cache-read",
        "primary-read",
        "pessimistic-lock",
        "optimistic",
        "conditional-decrement",
    ];
    let runs = par_map(&names, |name| run(&s, name, 5));
    for m in &runs[1..] {
        assert_eq!(m.shoppers, runs[0].shoppers);
        assert_eq!(m.checkouts, runs[0].checkouts);
    }
    let by = |name: &str| &runs[names.iter().position(|n| *n == name).unwrap()];
    // What correctness costs: a lock makes checkouts wait; optimism makes them retry; the atomic
    // decrement does neither (the work on the order, which every checkout does, comes first).
    assert!(by("pessimistic-lock").lock_waits > 0);
    assert!(by("optimistic").checkout_retries > 0);
    let atomic = by("conditional-decrement");
    assert_eq!((atomic.lock_waits, atomic.checkout_retries), (0, 0));
    // A 5-minute cache in front of checkout is far worse than a lagging replica.
    assert!(by("cache-read").oversold_units > by("replica-read").oversold_units);
}

#[test]
fn without_the_spike_lag_stays_small_and_nothing_is_oversold() {
    // The same store at its pre-sale rate all along, with less stock so that it still sells out.
    let s = scenario(
        BF,
        &[
            "traffic.profile=[{ at_s = 0, shoppers_per_s = 60 }]",
            "products[0].stock=300",
        ],
    );
    let m = run(&s, "replica-read", 2024);
    assert!(
        m.replica_lag_ms_max < 500.0,
        "lag max {} ms",
        m.replica_lag_ms_max
    );
    assert!(
        m.replica_lag_ms_mean < 20.0,
        "lag mean {} ms",
        m.replica_lag_ms_mean
    );
    assert!(m.orders_rejected_out_of_stock > 0, "the product sold out");
    // Milliseconds of lag leave only a tiny window for a stale check.
    assert!(m.oversold_units <= 3, "oversold {}", m.oversold_units);
}
