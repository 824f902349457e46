//! Fair comparisons: every variant draws the same randomness for the same things (common random
//! numbers), and every checkout does the same work on the order, wherever its strategy puts it.

use crate::support::{TIMELINE, outcome, scenario};

/// Black-friday's first two minutes, with a constant 40 ms of work on every order.
fn with_constant_work(file: &str) -> lagsim::scenario::Scenario {
    let sets = [
        "duration_s=120",
        "horizon_s=900",
        "checkout.work_time={ dist = \"constant\", ms = 40 }",
    ];
    scenario(file, &sets)
}

/// The shortest checkout of `variant`, in µs (the timeline keeps every finished checkout's
/// latency).
fn shortest_checkout_us(s: &lagsim::scenario::Scenario, variant: &str) -> (u64, u64) {
    let v = s.variants.iter().find(|v| v.name == variant).unwrap();
    let run = outcome(s, v, s.seed, TIMELINE);
    let latency = &run.timeline.expect("recorded").checkout_latency_us;
    (latency.min(), latency.count())
}

#[test]
fn a_checkout_that_decides_without_reading_still_pays_for_its_work() {
    // The conditional decrement and a saga decide without a stock read first, so every one of
    // their checkouts, confirmed or refused, does the work before its first statement.
    let bf = with_constant_work("scenarios/black-friday.toml");
    let saga = with_constant_work("scenarios/checkout-saga.toml");
    for (s, variant) in [
        (&bf, "conditional-decrement"),
        (&saga, "reliable"),
        (&saga, "two-phase-commit"),
    ] {
        let (min_us, checkouts) = shortest_checkout_us(s, variant);
        assert!(checkouts > 100, "{variant}: {checkouts} checkouts");
        assert!(
            min_us >= 40_000,
            "{variant}: a checkout took {min_us} µs, less than its 40 ms of work"
        );
    }
}
