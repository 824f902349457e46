//! Lag monitoring and lag-aware routing (issue: patterns, item 2): the monitor notices a stalled
//! applier one poll late, cannot see a cut link at all, and lag-aware routing is only as good as
//! what the monitor sees.

use crate::support::{par_map, run, scenario};

const LM: &str = "scenarios/lag-monitor.toml";

#[test]
fn lag_aware_oversells_less_than_replica_read_and_a_faster_monitor_less_still() {
    let s = scenario(LM, &[]);
    let names = [
        "replica-read",
        "lag-aware",
        "lag-aware-fast-monitor",
        "conditional-decrement",
    ];
    let m = par_map(&names, |n| run(&s, n, 7));
    let (replica, aware, fast, strong) = (&m[0], &m[1], &m[2], &m[3]);
    assert!(
        aware.oversold_units > 0,
        "the detection delay still lets stale checks through"
    );
    assert!(
        aware.oversold_units < replica.oversold_units,
        "{} vs {}",
        aware.oversold_units,
        replica.oversold_units
    );
    assert!(fast.oversold_units < aware.oversold_units);
    assert_eq!(strong.oversold_units, 0);
    // One stall, one alert; detected after the 2 s threshold was crossed, within one 5 s poll.
    assert_eq!(aware.lag_alerts, 1);
    assert!(aware.alert_detect_delay_ms > 0.0 && aware.alert_detect_delay_ms <= 5_000.0);
    assert!(fast.alert_detect_delay_ms <= 1_000.0);
    // While alerting, lag-aware checks stock on the primary instead.
    assert!(aware.replica_queries < replica.replica_queries);
}

#[test]
fn a_cut_link_hides_the_lag_from_the_monitor_so_lag_aware_equals_replica_read() {
    let s = scenario(LM, &[]);
    let m = par_map(&["replica-read-cut", "lag-aware-cut"], |n| run(&s, n, 7));
    // The replica really was 30 s behind ...
    assert!(m[1].replica_lag_ms_max > 29_000.0);
    // ... but reported nothing unapplied, so no alert was ever raised ...
    assert_eq!(m[1].lag_alerts, 0);
    assert!(m[1].monitor_samples > 0);
    // ... and lag-aware made exactly the same decisions as replica-read.
    assert_eq!(m[0], m[1]);
    assert!(m[1].oversold_units > 0);
}

#[test]
fn on_black_friday_lag_aware_oversells_less_than_replica_read() {
    let s = scenario("scenarios/black-friday.toml", &[]);
    let seeds = [1u64, 2, 3, 4];
    let runs = par_map(&seeds, |&seed| {
        (run(&s, "replica-read", seed), run(&s, "lag-aware", seed))
    });
    for (seed, (replica, aware)) in seeds.iter().zip(&runs) {
        assert!(
            aware.lag_alerts >= 1,
            "seed {seed}: the spike raised an alert"
        );
        assert!(
            aware.oversold_units < replica.oversold_units,
            "seed {seed}: lag-aware {} vs replica-read {}",
            aware.oversold_units,
            replica.oversold_units
        );
    }
}

#[test]
fn a_monitor_polling_slower_than_the_run_never_keeps_it_from_finishing() {
    // Regression: a period past the horizon used to leave a poll pending and fail the run.
    let s = scenario(LM, &["monitor.sample_every_s=2000"]);
    let m = run(&s, "lag-aware", 7);
    assert_eq!(m.monitor_samples, 0);
    assert_eq!(m.lag_alerts, 0);
}
