//! Scheduled faults: partitions lose requests (and hold the replication stream), a paused replica
//! falls behind by the pause, and the cache's invalidations change what shoppers see.

use crate::support::{par_map, run, scenario};

const BF: &str = "scenarios/black-friday.toml";
/// Black Friday's quiet first two minutes only: no spike, so any lag comes from the fault.
const QUIET: &[&str] = &["duration_s=110", "horizon_s=700"];

fn quiet_with(extra: &[&str]) -> lagsim::scenario::Scenario {
    let sets: Vec<&str> = QUIET.iter().chain(extra).copied().collect();
    scenario(BF, &sets)
}

#[test]
fn a_partition_between_app_and_primary_fails_checkouts_by_timeout() {
    let fault = r#"faults=[{ kind = "partition", at_s = 20, duration_s = 60, between = ["app", "primary"] }]"#;
    let healthy = run(&quiet_with(&[]), "conditional-decrement", 3);
    let cut = run(&quiet_with(&[fault]), "conditional-decrement", 3);
    assert_eq!(healthy.request_timeouts, 0);
    assert!(cut.request_timeouts > 0 && cut.messages_lost > 0);
    assert!(cut.orders_failed_timeout > 0, "{cut:?}");
    assert!(cut.orders_confirmed < healthy.orders_confirmed);
    // The same shoppers came; fewer of them could buy.
    assert_eq!(cut.shoppers, healthy.shoppers);
}

#[test]
fn a_one_way_cut_to_one_replica_holds_its_stream_and_lags_only_that_replica() {
    let fault = r#"faults=[{ kind = "partition", at_s = 30, duration_s = 20, from = "primary", to = "replica-1" }]"#;
    let m = run(&quiet_with(&[fault]), "replica-read", 4);
    let (r1, r2) = (&m.replicas[0], &m.replicas[1]);
    // Entries committed at the start of the cut wait the whole 20 s; none is lost.
    assert!(
        r1.lag_ms_max >= 19_000.0 && r1.lag_ms_max < 21_000.0,
        "replica-1 lag max {}",
        r1.lag_ms_max
    );
    assert!(
        r2.lag_ms_max < 1_000.0,
        "replica-2 lag max {}",
        r2.lag_ms_max
    );
    assert_eq!(r1.entries_applied, m.primary_commits);
    assert_eq!(r2.entries_applied, m.primary_commits);
    assert_eq!(m.messages_lost, 0, "the replication stream loses nothing");
}

#[test]
fn a_paused_replica_falls_behind_by_the_pause_and_catches_up() {
    let pause =
        r#"faults=[{ kind = "pause-replica", at_s = 40, duration_s = 15, replica = "replica-2" }]"#;
    let slow = r#"faults=[{ kind = "slow-replica", at_s = 40, duration_s = 15, replica = "replica-2", factor = 10 }]"#;
    let runs = par_map(&[pause, slow], |f| {
        run(&quiet_with(&[f]), "replica-read", 6)
    });
    let (paused, slowed) = (&runs[0], &runs[1]);
    assert!(
        paused.replicas[1].lag_ms_max >= 14_000.0,
        "paused lag max {}",
        paused.replicas[1].lag_ms_max
    );
    assert!(paused.replicas[0].lag_ms_max < 1_000.0);
    assert_eq!(paused.replicas[1].entries_applied, paused.primary_commits);
    // Ten times slower applies (~10 ms each) cannot keep up with ~175 writes/s: lag builds up
    // during the slowdown, but less than under a full pause of the same length.
    let s = slowed.replicas[1].lag_ms_max;
    assert!(
        s > 1_000.0 && s < paused.replicas[1].lag_ms_max,
        "slowed lag max {s}"
    );
}

#[test]
fn cache_invalidation_and_fills_from_the_primary_cut_cache_read_oversells() {
    let base = scenario(BF, &[]);
    let invalidated = scenario(
        BF,
        &[
            "cache.invalidate_on_write=true",
            "cache.fill_from=\"primary\"",
        ],
    );
    let runs = par_map(&[&base, &invalidated], |s| run(s, "cache-read", 2024));
    assert!(runs[1].cache_invalidations > 0);
    assert!(
        runs[1].oversold_units * 10 < runs[0].oversold_units,
        "invalidation: {} vs TTL only: {}",
        runs[1].oversold_units,
        runs[0].oversold_units
    );
    assert!(runs[1].stale_page_reads * 10 < runs[0].stale_page_reads);
}

const LM: &str = "scenarios/lag-monitor.toml";

#[test]
fn a_crashed_replica_drops_its_reads_then_catches_up_from_the_held_stream() {
    let crash =
        r#"faults=[{ kind = "crash-replica", replica = "replica-1", at_s = 20, duration_s = 10 }]"#;
    let s = scenario(LM, &[crash, "variants[0].page=\"replica\""]);
    let healthy = run(
        &scenario(LM, &["faults=[]", "variants[0].page=\"replica\""]),
        "replica-read",
        7,
    );
    let m = run(&s, "replica-read", 7);
    let r = &m.replicas[0];
    assert_eq!(r.crashes, 1);
    // Every page view and stock check sent to it while it was down timed out.
    assert!(
        m.page_failed > 100 && m.request_timeouts >= m.page_failed,
        "{m:?}"
    );
    assert_eq!(healthy.request_timeouts, 0);
    assert!(m.availability < 1.0);
    // It missed 10 s of the stream, then caught up: nothing lost, nothing applied twice.
    assert!(
        r.lag_ms_max > 9_000.0 && r.lag_ms_max < 11_000.0,
        "{}",
        r.lag_ms_max
    );
    assert_eq!(r.entries_applied, m.primary_commits);
}

#[test]
fn a_crashed_cache_fails_requests_while_down_and_restarts_cold() {
    let crash = r#"faults=[{ kind = "crash-cache", at_s = 20, duration_s = 10 }]"#;
    let page_cache = "variants[0].page=\"cache\"";
    let m = run(&scenario(LM, &[crash, page_cache]), "replica-read", 7);
    let healthy = run(&scenario(LM, &["faults=[]", page_cache]), "replica-read", 7);
    assert_eq!(m.cache_crashes, 1);
    assert!(m.page_failed > 100, "{}", m.page_failed);
    assert_eq!(healthy.page_failed, 0);
    // Cold after the restart: more misses than the healthy run's single fill.
    assert!(m.cache_hit_ratio < healthy.cache_hit_ratio);
}

#[test]
fn overlapping_crashes_keep_a_replica_down_until_the_last_one_ends() {
    let crashes = r#"faults=[{ kind = "crash-replica", replica = "replica-1", at_s = 20, duration_s = 10 },
                             { kind = "crash-replica", replica = "replica-1", at_s = 25, duration_s = 10 }]"#;
    let m = run(
        &scenario(LM, &[crashes, "variants[0].page=\"replica\""]),
        "replica-read",
        7,
    );
    let r = &m.replicas[0];
    assert_eq!(r.crashes, 2);
    // Down from 20 s to 35 s: the entries committed at 20 s waited ~15 s, then it caught up.
    assert!(
        r.lag_ms_max > 14_000.0 && r.lag_ms_max < 16_000.0,
        "{}",
        r.lag_ms_max
    );
    assert_eq!(r.entries_applied, m.primary_commits);
}
