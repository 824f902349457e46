//! Checkout as a saga: reliable compensations leave nothing behind, whatever the faults and
//! orchestrator crashes; the article's best effort and no compensation at all leave reservations
//! and charges behind.

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
    fn reliable_sagas_never_leak_whatever_the_faults(
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
        let r = run(&s, "reliable", seed).saga.unwrap();
        prop_assert_eq!(r.sagas_stuck, 0);
        prop_assert_eq!(r.leaked_reservations, 0);
        prop_assert_eq!(r.charged_without_order, 0);
        prop_assert_eq!(r.double_charges, 0);
        prop_assert_eq!(r.sagas_lost_in_crash, 0);
        prop_assert_eq!(
            r.sagas_completed + r.sagas_compensated + r.sagas_out_of_stock,
            r.sagas_started
        );
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
