//! CP vs AP under a partition (patterns, item 4): async stays available and serves stale pages,
//! sync refuses to confirm commits it cannot replicate, semi-sync waits once and falls back.

use crate::support::{par_map, run, scenario};

const CP: &str = "scenarios/partition-cp-vs-ap.toml";

#[test]
fn async_stays_available_sync_fails_checkouts_semi_sync_falls_back() {
    let s = scenario(CP, &[]);
    let m = par_map(&["async", "sync", "semi-sync"], |n| run(&s, n, 11));
    let (ap, cp, semi) = (&m[0], &m[1], &m[2]);
    // Same shoppers, same partition.
    assert_eq!(ap.checkouts, cp.checkouts);
    let during = |x: &lagsim::model::metrics::Metrics| x.phases[1].clone();
    assert_eq!(during(ap).name, "during");

    // AP: every request answered, but pages during the partition show 30-second-old stock.
    assert_eq!(ap.availability, 1.0);
    assert_eq!(ap.orders_failed, 0);
    assert!(during(ap).stale_reads > 100);
    assert!(ap.max_staleness_ms > 25_000.0, "{}", ap.max_staleness_ms);

    // CP: no checkout during the partition is confirmed; they time out waiting for an ack.
    assert_eq!(during(cp).orders_confirmed, 0);
    assert!(during(cp).orders_failed > 50);
    assert!(during(cp).availability < 0.9, "{}", during(cp).availability);
    assert_eq!(cp.phases[0].availability, 1.0);
    assert_eq!(cp.phases[2].availability, 1.0);
    assert_eq!(cp.request_timeouts, cp.orders_failed_timeout);
    // Their decrements did commit on the primary: confirmed late, after the shopper gave up.
    assert!(cp.late_replies > 0);
    assert!(cp.units_decremented_unconfirmed > 0);
    // Counted where they happened (a commit whose client had given up, or never heard), they
    // are exactly the units the primary's stock lost beyond those sold.
    let v = s.variants.iter().find(|v| v.name == "sync").unwrap();
    let counted = lagsim::run::Job::new(&s, v, 11).run().unwrap();
    assert_eq!(
        counted.unconfirmed_units_counted,
        cp.units_decremented_unconfirmed
    );

    // Semi-sync: one fallback to async, then business as usual (and as stale as async).
    assert_eq!(semi.sync_fallbacks, 1);
    assert_eq!(semi.availability, 1.0);
    assert_eq!(semi.orders_failed, 0);
    assert!(semi.commits_waited_for_acks > 0);
    assert!(during(semi).stale_reads > 100);
}

#[test]
fn without_a_partition_sync_replication_costs_only_latency() {
    let s = scenario(CP, &["faults=[]"]);
    let m = par_map(&["async", "sync"], |n| run(&s, n, 11));
    assert_eq!(m[1].orders_failed, 0);
    assert_eq!(m[1].availability, 1.0);
    assert_eq!(m[1].phases.len(), 1);
    assert_eq!(m[1].phases[0].name, "whole-run");
    // Each confirmed checkout waited for a round trip to a replica.
    assert!(m[1].checkout_latency_ms_p50 > m[0].checkout_latency_ms_p50);
}
