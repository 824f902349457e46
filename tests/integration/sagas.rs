//! Checkout as a saga: reliable compensations leave nothing behind, whatever the faults and
//! orchestrator crashes; the article's best effort and no compensation at all leave reservations
//! and charges behind. Two-phase commit leaves nothing behind either, and pays in lock waits and
//! in participants blocked while its coordinator is down.

use proptest::prelude::*;

use crate::support::{run, scenario};

const CS: &str = "scenarios/checkout-saga.toml";

#[test]
fn the_three_policies_on_the_same_shoppers_leave_behind_what_the_design_says() {
    let s = scenario(CS, &[]);
    let [none, best, reliable] =
        ["no-compensation", "best-effort", "reliable"].map(|v| run(&s, v, s.seed).saga.unwrap());
    // Same shoppers, same services, same draws: the forward paths end alike.
    assert_eq!(none.sagas_completed, reliable.sagas_completed);
    assert_eq!(none.sagas_started, best.sagas_started);
    // Nothing undone: every failed saga is stuck, holding stock and, after a failed
    // confirmation, money.
    assert_eq!(none.sagas_compensated, 0);
    assert!(none.sagas_stuck > 0 && none.leaked_reservations == none.sagas_stuck);
    assert!(none.charged_without_order > 0);
    // A lost charge reply, retried without an idempotency key, charges twice.
    assert!(none.double_charges > 0);
    assert_eq!(best.double_charges, none.double_charges);
    // Best effort undoes most, but a failed compensation is swallowed and leaks.
    assert!(best.compensations_abandoned > 0);
    assert!(0 < best.sagas_stuck && best.sagas_stuck < none.sagas_stuck);
    assert!(best.refunds > 0);
    // Reliable: retried compensations, idempotent steps: nothing behind, windows short.
    assert_eq!(
        (
            reliable.sagas_stuck,
            reliable.leaked_reservations,
            reliable.charged_without_order,
            reliable.double_charges,
            reliable.inconsistent_at_end,
        ),
        (0, 0, 0, 0, 0)
    );
    assert!(
        reliable.compensations_failed > 0,
        "compensations did fail, and were retried"
    );
    assert!(reliable.inconsistency_window_ms_max < 10_000.0);
    assert!(none.inconsistency_window_ms_max > 60_000.0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn reliable_sagas_and_two_phase_commit_never_leak_whatever_the_faults(
        seed in any::<u64>(),
        decline in 0.0f64..0.3,
        lost in 0.0f64..0.2,
        comp_fail in 0.0f64..0.6,
        confirm_fail in 0.0f64..0.2,
        crash_at in 1.0f64..40.0,
        crash_for in 0.1f64..20.0,
    ) {
        let s = scenario(CS, &[
            "duration_s=30",
            &format!("saga.decline_probability={decline}"),
            &format!("saga.payment.lost_reply_probability={lost}"),
            &format!("saga.inventory.lost_reply_probability={lost}"),
            &format!("saga.compensation_failure_probability={comp_fail}"),
            &format!("saga.order.failure_probability={confirm_fail}"),
            &format!("faults=[{{kind=\"crash-orchestrator\", at_s={crash_at}, duration_s={crash_for}}}]"),
        ]);
        for policy in ["reliable", "two-phase-commit"] {
            let r = run(&s, policy, seed).saga.unwrap();
            prop_assert_eq!(r.sagas_stuck, 0, "{}", policy);
            prop_assert_eq!(r.leaked_reservations, 0, "{}", policy);
            prop_assert_eq!(r.charged_without_order, 0, "{}", policy);
            prop_assert_eq!(r.double_charges, 0, "{}", policy);
            prop_assert_eq!(r.sagas_lost_in_crash, 0, "{}", policy);
            prop_assert_eq!(r.inconsistent_at_end, 0, "{}", policy);
            prop_assert_eq!(
                r.sagas_completed + r.sagas_compensated + r.sagas_out_of_stock,
                r.sagas_started,
                "{}",
                policy
            );
        }
        // And without compensations, the same faults leave something behind whenever a saga
        // failed after reserving (or, forgotten in the crash, confirmed an order its customer
        // was told had failed).
        let n = run(&s, "no-compensation", seed).saga.unwrap();
        prop_assert_eq!(
            n.sagas_stuck + n.confirmed_but_reported_failed,
            n.sagas_started - n.sagas_completed - n.sagas_out_of_stock
        );
    }
}

/// A slow payment service keeps dozens of sagas in flight when the orchestrator crashes.
const SLOW_PAYMENT_AND_A_CRASH: [&str; 4] = [
    "saga.payment.service_time={ dist = \"constant\", ms = 2000 }",
    "saga.payment.workers=64",
    "saga.step_timeout_ms=5000",
    "faults=[{kind=\"crash-orchestrator\", at_s=60, duration_s=20}]",
];

#[test]
fn a_crashed_orchestrator_with_a_saga_log_resumes_and_one_without_forgets() {
    let s = scenario(CS, &SLOW_PAYMENT_AND_A_CRASH);
    let [none, best, reliable] =
        ["no-compensation", "best-effort", "reliable"].map(|v| run(&s, v, s.seed).saga.unwrap());
    for m in [&none, &best, &reliable] {
        assert_eq!(m.orchestrator_crashes, 1);
        // New checkouts are refused alike while it is down (20 s of arrivals).
        assert_eq!(
            m.checkouts_refused_while_down,
            none.checkouts_refused_while_down
        );
        assert!(m.checkouts_refused_while_down > 50);
    }
    // Without a log, the sagas in flight are forgotten, holding what their steps took.
    assert!(
        none.sagas_lost_in_crash > 10,
        "{}",
        none.sagas_lost_in_crash
    );
    assert!(best.sagas_lost_in_crash > 10);
    assert!(best.sagas_stuck >= best.sagas_lost_in_crash);
    // With one, every saga resumes after the crash and ends completed or compensated.
    assert_eq!(reliable.sagas_lost_in_crash, 0);
    assert_eq!(
        (
            reliable.sagas_stuck,
            reliable.leaked_units,
            reliable.charged_without_order
        ),
        (0, 0, 0)
    );
    // Its longest inconsistency is the crash itself, not the rest of the run.
    assert!(reliable.inconsistency_window_ms_max >= 15_000.0);
    assert!(reliable.inconsistency_window_ms_max < 40_000.0);
}

#[test]
fn two_phase_commit_leaves_nothing_behind_and_makes_checkouts_of_a_product_wait() {
    let s = scenario(CS, &[]);
    let [reliable, tpc] = ["reliable", "two-phase-commit"].map(|v| run(&s, v, s.seed));
    let (r, t) = (reliable.saga.clone().unwrap(), tpc.saga.clone().unwrap());
    // Figures by key, as sweeps and expectations name them.
    assert_eq!(tpc.number("saga.lock_waits"), Some(t.lock_waits as f64));
    assert_eq!(
        tpc.number("orders_confirmed"),
        Some(tpc.orders_confirmed as f64)
    );
    assert_eq!(tpc.number("saga.policy"), None, "strings are not numbers");
    assert!(tpc.numbers().windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(
        (
            t.sagas_stuck,
            t.leaked_reservations,
            t.charged_without_order,
            t.double_charges,
            t.inconsistent_at_end,
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(t.sagas_completed + t.sagas_compensated, t.sagas_started);
    // Same shoppers, same declines and failed confirmations: nearly the same orders.
    assert!(t.sagas_completed.abs_diff(r.sagas_completed) <= 10);
    // Aborts void the authorisations of failed orders: no compensation ever runs.
    assert!(t.refunds > 0);
    assert_eq!((t.compensations_failed, t.compensations_abandoned), (0, 0));
    // The price: prepares of the one product wait for its row lock; sagas take no lock.
    assert_eq!((r.lock_waits, r.lock_hold_ms_max), (0, 0.0));
    assert!(t.lock_waits > 100, "{} waits", t.lock_waits);
    assert!(t.lock_wait_ms_p99 > 10.0, "{}", t.lock_wait_ms_p99);
    assert!(t.lock_hold_ms_p50 > 0.0 && t.lock_hold_ms_p50 <= t.lock_hold_ms_max);
    // Prepares run in parallel, so the median checkout is quicker than three steps in a row.
    assert!(tpc.checkout_latency_ms_p50 < reliable.checkout_latency_ms_p50);
}

#[test]
fn the_more_checkouts_per_second_the_longer_two_phase_commit_waits_for_the_lock() {
    let waits = |rate: u32| {
        let s = scenario(
            CS,
            &[
                "duration_s=40",
                &format!("traffic.profile=[{{at_s=0, shoppers_per_s={rate}}}]"),
            ],
        );
        let m = run(&s, "two-phase-commit", s.seed).saga.unwrap();
        assert_eq!((m.sagas_stuck, m.leaked_units), (0, 0), "rate {rate}");
        (
            m.lock_waits as f64 / m.sagas_started as f64,
            m.lock_wait_ms_p99,
        )
    };
    let (low, high) = (waits(10), waits(80));
    assert!(high.0 > 2.0 * low.0, "share waiting: {low:?} vs {high:?}");
    assert!(high.1 > low.1, "p99 wait: {low:?} vs {high:?}");
}

#[test]
fn a_crashed_coordinator_leaves_its_prepared_participants_holding_the_lock() {
    let s = scenario(CS, &SLOW_PAYMENT_AND_A_CRASH);
    let t = run(&s, "two-phase-commit", s.seed).saga.unwrap();
    assert_eq!(t.orchestrator_crashes, 1);
    // The coordinator's log survives: nothing is forgotten, and at the end nothing is held.
    assert_eq!(
        (t.sagas_lost_in_crash, t.sagas_stuck, t.leaked_units),
        (0, 0, 0)
    );
    // But the transactions prepared when it crashed held the product's row lock, their units
    // and their customers' money for the whole 20 s, unable to commit or abort on their own.
    assert!(t.lock_hold_ms_max >= 20_000.0, "{}", t.lock_hold_ms_max);
    assert!(t.lock_hold_ms_p50 < 5_000.0, "{}", t.lock_hold_ms_p50);
    assert!(t.inconsistency_window_ms_max >= 20_000.0);
}
