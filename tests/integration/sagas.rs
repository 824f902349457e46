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
    // On the happy path an order is inconsistent from its reservation taking effect to its
    // confirmation taking effect: the reply to the reservation, the charge request, the
    // payment's service time, its reply, the confirm request and the order's service time. The
    // scenario's distributions (workers are idle at 12 checkouts/s) give the median of that
    // sum. About a tenth of the sagas leave the happy path (5% declines, 2% lost payment
    // replies, 3% failed confirmations): wherever their windows fall, the median of all stays
    // between the happy path's quantiles 0.4/0.9 and 0.5/0.9, give or take 5% for sampling
    // (about 1,300 happy sagas) and the histogram's buckets.
    let [lo, hi] = quantiles([0.4 / 0.9, 0.5 / 0.9], |d| {
        let hop = |d: &mut Draws| d.lognormal(NETWORK);
        hop(d) + hop(d) + d.lognormal(PAYMENT) + hop(d) + hop(d) + d.lognormal(ORDER)
    });
    let p50 = reliable.inconsistency_window_ms_p50;
    assert!(
        0.95 * lo <= p50 && p50 <= 1.05 * hi,
        "reliable inconsistency window p50 {p50:.2} ms, theory {lo:.2} to {hi:.2} ms"
    );
}

/// checkout-saga.toml's service times and network latency, as (median, p99) in ms of a
/// lognormal.
const INVENTORY: (f64, f64) = (3.0, 15.0);
const PAYMENT: (f64, f64) = (20.0, 120.0);
const ORDER: (f64, f64) = (5.0, 25.0);
const NETWORK: (f64, f64) = (0.5, 2.0);

/// Lognormal draws from a generator of the test's own (splitmix64, Box–Muller).
struct Draws(u64);

impl Draws {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        // In (0, 1): never 0, whose logarithm is infinite.
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A lognormal time given as a scenario gives it: half the draws below `median`, 99% below
    /// `p99`.
    fn lognormal(&mut self, (median, p99): (f64, f64)) -> f64 {
        const Z99: f64 = 2.326_347_874_040_841; // the standard normal's 99th percentile
        let normal =
            (-2.0 * self.unit().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos();
        median * ((p99 / median).ln() / Z99 * normal).exp()
    }
}

/// Quantiles `qs` of the time `one` draws, from 200,000 draws.
fn quantiles<const N: usize>(qs: [f64; N], mut one: impl FnMut(&mut Draws) -> f64) -> [f64; N] {
    let mut d = Draws(0x5eed);
    let mut times: Vec<f64> = (0..200_000).map(|_| one(&mut d)).collect();
    times.sort_by(f64::total_cmp);
    qs.map(|q| times[(q * times.len() as f64) as usize])
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
    // A prepared reservation holds the lock until the decision reaches inventory. Without a
    // crash the coordinator decides at the latest when its last round of prepares times out:
    // max_attempts rounds of step_timeout_ms, retry_backoff between them (3 × 300 + 2 × 50 ms).
    // Inventory neither fails nor loses a reply here, so the first delivery releases the lock:
    // one network hop (p99 2 ms) and one inventory service time (p99 15 ms), allowed 50 ms.
    let decided_within_ms = 3.0 * 300.0 + 2.0 * 50.0;
    assert!(
        t.lock_hold_ms_max <= decided_within_ms + 50.0,
        "a lock was held {} ms",
        t.lock_hold_ms_max
    );
    // And when every vote arrives in the first round, the lock (taken after the prepare reached
    // inventory, or later if it waited) is released at most a hop and an inventory service
    // time after the last of the three votes. Only the 2% of orders whose payment reply is lost
    // wait for a second round, so the median hold is at most that bound's quantile 0.5/0.98.
    let [bound] = quantiles([0.5 / 0.98], |d| {
        let mut vote = |service| d.lognormal(NETWORK) + d.lognormal(service) + d.lognormal(NETWORK);
        let last_vote = vote(INVENTORY).max(vote(PAYMENT)).max(vote(ORDER));
        last_vote + d.lognormal(NETWORK) + d.lognormal(INVENTORY)
    });
    assert!(
        0.0 < t.lock_hold_ms_p50 && t.lock_hold_ms_p50 <= 1.05 * bound,
        "lock held {} ms at the median, bound {bound:.2} ms",
        t.lock_hold_ms_p50
    );
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
