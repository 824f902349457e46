use crate::support::{run, scenario};

/// Theory for M/M/1 sojourn time: mean 1/(μ−λ), P(T > t) = e^(−(μ−λ)t), so p99 = ln(100)/(μ−λ).
/// Held on both paths (the writes' way to the primary as the model's own work, and as events),
/// which must also agree with each other exactly.
fn check(lambda: f64, mean_apply_ms: f64) {
    let runs: Vec<_> = ["lazy", "events"]
        .iter()
        .map(|mode| check_path(lambda, mean_apply_ms, mode))
        .collect();
    assert_eq!(
        serde_json::to_string(&runs[0]).unwrap(),
        serde_json::to_string(&runs[1]).unwrap(),
        "λ={lambda}: the two paths differ"
    );
}

fn check_path(lambda: f64, mean_apply_ms: f64, mode: &str) -> lagsim::model::metrics::Metrics {
    let mu = 1000.0 / mean_apply_ms;
    let s = scenario(
        "scenarios/validation/replica-mm1.toml",
        &[
            // 4000 s of writes (1.6 to 3.6 million): a long run, so the sample mean and p99 sit
            // well inside the tolerances whatever the seed.
            "duration_s=4000",
            "horizon_s=4600",
            &format!("background.writes_per_s={lambda}"),
            &format!("replicas[0].apply_time.mean_ms={mean_apply_ms}"),
            &format!("engine.background=\"{mode}\""),
        ],
    );
    let m = run(&s, "mm1", 1);
    let mean_ms = 1000.0 / (mu - lambda);
    let p99_ms = 100f64.ln() * mean_ms;
    let err = (m.replica_lag_ms_mean - mean_ms).abs() / mean_ms;
    assert!(
        err < 0.03,
        "λ={lambda} μ={mu}: mean lag {} ms, theory {mean_ms:.4} ms ({:.2}% off)",
        m.replica_lag_ms_mean,
        err * 100.0
    );
    let err99 = (m.replica_lag_ms_p99 - p99_ms).abs() / p99_ms;
    assert!(
        err99 < 0.05,
        "λ={lambda} μ={mu}: p99 lag {} ms, theory {p99_ms:.4} ms",
        m.replica_lag_ms_p99
    );
    // Every write was applied exactly once.
    assert_eq!(m.primary_commits, m.replicas[0].entries_applied);
    m
}

#[test]
fn mean_lag_is_one_over_mu_minus_lambda_at_800_per_s_and_1000_per_s() {
    check(800.0, 1.0); // 5 ms
}

#[test]
fn mean_lag_matches_theory_at_moderate_load() {
    check(500.0, 1.0); // ρ = 0.5: 2 ms
}

#[test]
fn mean_lag_matches_theory_with_a_fast_applier() {
    check(900.0, 0.5); // μ = 2000/s: 1/1100 s ≈ 0.909 ms
}
