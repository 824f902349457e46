use lagsim::model::timeline::{ReadFrom, Timeline};
use lagsim::run::{Job, Options, Outcome};
use lagsim::scenario::Scenario;

use crate::support::scenario;

const BF: &str = "scenarios/black-friday.toml";
const LM: &str = "scenarios/lag-monitor.toml";

fn timeline_run(s: &Scenario, variant: &str, seed: u64) -> (Outcome, Timeline) {
    let v = s.variants.iter().find(|v| v.name == variant).unwrap();
    let options = Options {
        timeline: true,
        ..Options::default()
    };
    let mut run = Job::new(s, v, seed).options(options).run().unwrap();
    let t = run.timeline.take().expect("a timeline was asked for");
    (run, t)
}

/// The sample just at or before `t_s`.
fn at(t: &Timeline, t_s: f64) -> usize {
    t.t_us.partition_point(|&x| x as f64 <= t_s * 1e6) - 1
}

#[test]
fn recording_a_timeline_does_not_change_the_run() {
    let bf = scenario(BF, &["duration_s=150", "horizon_s=900"]);
    let lm = scenario(LM, &[]);
    for (s, variant) in [
        (&bf, "replica-read"),
        (&bf, "lag-aware"),
        (&lm, "lag-aware"),
        (&lm, "replica-read-cut"),
    ] {
        let v = s.variants.iter().find(|v| v.name == variant).unwrap();
        let plain = Job::new(s, v, 3).run().unwrap();
        for history in [false, true] {
            let options = Options {
                history,
                timeline: true,
                ..Options::default()
            };
            let with = Job::new(s, v, 3).options(options).run().unwrap();
            assert_eq!(with.summary, plain.summary, "{variant}, history {history}");
            assert_eq!(with.metrics, plain.metrics, "{variant}");
            assert_eq!(with.history.is_some(), history);
            assert!(with.timeline.is_some());
        }
        assert!(plain.timeline.is_none());
    }
}

/// Sample count, instants and final values, as documented on `Timeline`.
fn check_shape_and_final_values(run: &Outcome, t: &Timeline) {
    let m = &run.metrics;
    let end_us = run.summary.end.as_micros();
    assert_eq!(t.end_us, end_us);
    assert_eq!(t.len(), (end_us / t.step_us) as usize + 2);
    for (k, &x) in t.t_us[..t.len() - 1].iter().enumerate() {
        assert_eq!(x, k as u64 * t.step_us);
    }
    assert_eq!(*t.t_us.last().unwrap(), end_us);
    let last = t.len() - 1;
    let final_stock: i64 = t.primary_stock.iter().map(|p| p[last]).sum();
    assert_eq!(final_stock, m.stock_final_primary);
    assert_eq!(t.shoppers[last], m.shoppers);
    assert_eq!(t.orders_confirmed[last], m.orders_confirmed);
    assert_eq!(t.orders_failed[last], m.orders_failed);
    assert_eq!(t.request_timeouts[last], m.request_timeouts);
    assert_eq!(t.ryw_violations[last], m.ryw_violations);
    // Counters never go down.
    for column in [&t.shoppers, &t.orders_confirmed, &t.requests] {
        assert!(column.windows(2).all(|w| w[0] <= w[1]));
    }
    // A replica applies the primary's log in order and stock only falls: what it shows is never
    // below the truth.
    for replica in &t.replica_stock {
        for (p, column) in replica.iter().enumerate() {
            assert!(column.iter().zip(&t.primary_stock[p]).all(|(r, p)| r >= p));
        }
    }
    assert_eq!(t.checkout_latency_us.count(), m.checkouts);
    let marked: i64 = t.oversold.iter().map(|o| o.units).sum();
    assert_eq!(marked, m.oversold_units, "every oversold unit is marked");
}

#[test]
fn the_timeline_follows_a_paused_replica_and_the_oversells_it_causes() {
    let lm = scenario(LM, &[]);
    let (run, t) = timeline_run(&lm, "replica-read", 7);
    check_shape_and_final_values(&run, &t);
    assert_eq!(t.step_us, 240_000, "120 s of traffic / 500 samples");
    assert_eq!(t.lag_threshold_us, Some(2_000_000));
    assert_eq!(t.faults.len(), 1);
    assert_eq!(t.faults[0].label, "pause replica-1");
    // The applier stops at 39 s for 30 s: the lag grows with the pause, and the replica reports
    // it (the entries pile up in its relay log).
    let k = at(&t, 68.0);
    assert!(
        t.replica_lag_us[0][k] > 28_000_000,
        "{}",
        t.replica_lag_us[0][k]
    );
    assert_eq!(t.replica_reported_lag_us[0][k], t.replica_lag_us[0][k]);
    assert!(t.replica_lag_us[0][at(&t, 30.0)] < 1_000_000);
    // The console sells out on the primary during the pause; the replica still shows stock.
    let sold_out = t.sold_out_us[0].expect("the console sells out") as f64 / 1e6;
    assert!((39.0..69.0).contains(&sold_out), "{sold_out}");
    let after = at(&t, sold_out) + 1;
    assert!(t.primary_stock[0][after] <= 0);
    assert!(t.primary_stock[0][after - 1] > 0);
    assert!(t.replica_stock[0][0][after] > 0);
    // Every oversold order read its stock from the paused replica, seconds behind.
    assert!(run.metrics.oversold_units > 0);
    for o in &t.oversold {
        assert_eq!(o.read_from, ReadFrom::Replica(0));
        assert!(o.stock_read.unwrap() > 0);
        assert!(o.replica_lag_us.unwrap() > 1_000_000, "{o:?}");
        assert!(o.t_us as f64 / 1e6 >= sold_out);
    }
}

#[test]
fn a_cut_link_hides_the_lag_from_the_replica_but_not_from_the_timeline() {
    let lm = scenario(LM, &[]);
    let (run, t) = timeline_run(&lm, "replica-read-cut", 7);
    check_shape_and_final_values(&run, &t);
    assert_eq!(t.faults[0].label, "partition primary→replica-1");
    assert!(t.faults[0].cuts_links);
    let k = at(&t, 68.0);
    assert!(
        t.replica_lag_us[0][k] > 28_000_000,
        "{}",
        t.replica_lag_us[0][k]
    );
    assert_eq!(
        t.replica_reported_lag_us[0][k], 0,
        "the replica reports nothing"
    );
}

#[test]
fn strong_strategies_never_show_negative_stock_in_the_timeline() {
    let bf = scenario(BF, &["duration_s=150", "horizon_s=900"]);
    for variant in ["pessimistic-lock", "conditional-decrement"] {
        let (run, t) = timeline_run(&bf, variant, 2024);
        check_shape_and_final_values(&run, &t);
        assert!(t.primary_stock[0].iter().all(|&s| s >= 0), "{variant}");
        assert!(t.oversold.is_empty());
        assert_eq!(t.step_us, 300_000, "150 s / 500");
    }
    let (run, t) = timeline_run(&bf, "cache-read", 2024);
    check_shape_and_final_values(&run, &t);
    assert!(t.cache_stock[0].iter().any(Option::is_some));
    assert!(
        t.oversold
            .iter()
            .all(|o| matches!(o.read_from, ReadFrom::Cache | ReadFrom::Replica(_)))
    );
}
