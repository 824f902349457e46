//! Convergence after faults heal and traffic stops: replicas catch up from their backlog, a
//! cache converges only when its stale rows expire or are invalidated, and a scenario's bound on
//! it fails the run (exit 1) when missed.

use crate::support::{lagsim, run, scenario, stderr};

const LM: &str = "scenarios/lag-monitor.toml";
/// The replica's applier stalls for the last 20 s of traffic: it has a backlog at quiescence.
const LATE_STALL: &[&str] = &["faults[0].at_s=100", "faults[0].duration_s=20"];

#[test]
fn a_replica_stalled_until_traffic_stops_converges_after_catching_up() {
    let m = run(&scenario(LM, LATE_STALL), "replica-read", 7);
    assert!(
        m.quiescent_at_s >= 120.0,
        "the stall ends at 120 s: {}",
        m.quiescent_at_s
    );
    // 20 s of backlog (~1,000 entries at ~0.2 ms each) takes a fraction of a second to apply.
    assert!(
        m.converged_after_ms > 50.0 && m.converged_after_ms < 2_000.0,
        "{}",
        m.converged_after_ms
    );
    assert_eq!(m.replicas[0].entries_applied, m.primary_commits);
}

#[test]
fn a_ttl_cache_converges_only_when_its_stale_rows_expire() {
    // Product pages through a 300 s cache filled at the first view: stale as soon as stock sells.
    let ttl = run(
        &scenario(LM, &["variants[0].page=\"cache\""]),
        "replica-read",
        7,
    );
    assert!(
        ttl.converged_at_s > 250.0,
        "stale until its TTL ends: {}",
        ttl.converged_at_s
    );
    assert!(ttl.converged_after_ms > 100_000.0);
    // With invalidation on every write the cache holds no stale row once writes stop.
    let sets = [
        "variants[0].page=\"cache\"",
        "cache.invalidate_on_write=true",
        "cache.fill_from=\"primary\"",
    ];
    let inv = run(&scenario(LM, &sets), "replica-read", 7);
    assert!(
        inv.converged_after_ms < 1_000.0,
        "{}",
        inv.converged_after_ms
    );
}

#[test]
fn a_missed_convergence_bound_fails_the_run_with_exit_1() {
    let mut args = vec!["run", LM, "--variant", "replica-read"];
    for s in LATE_STALL {
        args.extend(["--set", s]);
    }
    args.extend(["--set", "convergence.must_converge_within_s=0.01"]);
    let o = lagsim(&args);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("check convergence: variant `replica-read`: FAILED: converged"),
        "{err}"
    );
    assert!(err.contains("(bound 0.010 s)"), "{err}");
    // The bundled bound (10 s) holds.
    let ok = lagsim(&["run", LM, "--variant", "replica-read"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stderr(&ok).contains("check convergence: variant `replica-read`: ok: converged"));
}
