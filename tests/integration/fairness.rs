//! Fair comparisons: every variant draws the same randomness for the same things (common random
//! numbers), and every checkout does the same work on the order, wherever its strategy puts it.

use lagsim::model::metrics::Metrics;

use crate::support::{TIMELINE, lagsim, outcome, par_map, run, scenario, stderr, stdout};

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

/// Sample standard deviation.
fn sd(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[test]
fn common_random_numbers_make_paired_differences_precise() {
    // Black-friday on seeds 1 to 10. Every draw is keyed by what it belongs to, so replica-read
    // and primary-read see the same shoppers, the same background load and the same service
    // times; they differ only by replica-read's own checkout reads. Measured before the keyed
    // draws: the paired difference of peak lag had 1.12 times the spread of primary-read's own
    // peak lag across seeds (mean lag 1.03), so the columns' difference was noise.
    let s = scenario("scenarios/black-friday.toml", &[]);
    let names = [
        "primary-read",
        "replica-read",
        "pessimistic-lock",
        "optimistic",
        "conditional-decrement",
    ];
    let seeds: Vec<u64> = (1..=10).collect();
    let pairs: Vec<(&str, u64)> = names
        .iter()
        .flat_map(|&n| seeds.iter().map(move |&seed| (n, seed)))
        .collect();
    let runs = par_map(&pairs, |&(n, seed)| run(&s, n, seed));
    let figure = |variant: &str, f: fn(&Metrics) -> f64| -> Vec<f64> {
        let i = names.iter().position(|n| *n == variant).unwrap();
        runs[i * seeds.len()..(i + 1) * seeds.len()]
            .iter()
            .map(f)
            .collect()
    };
    type Figure = fn(&Metrics) -> f64;
    let figures: [(&str, Figure); 2] = [
        ("peak lag", |m| m.replica_lag_ms_max),
        ("mean lag", |m| m.replica_lag_ms_mean),
    ];
    for (what, f) in figures {
        let primary = figure("primary-read", f);
        let replica = figure("replica-read", f);
        let paired: Vec<f64> = replica.iter().zip(&primary).map(|(r, p)| r - p).collect();
        let ratio = sd(&paired) / sd(&primary);
        assert!(
            ratio <= 0.25,
            "{what}: the paired difference spreads {ratio:.3} times as much as primary-read's own"
        );
        // Replica-read's checkout reads load the replicas: its lag is higher on every seed.
        assert!(paired.iter().all(|&d| d > 0.0), "{what}: {paired:?}");
        // The strategies that read no replica put the same load on them as primary-read.
        for other in ["pessimistic-lock", "optimistic", "conditional-decrement"] {
            for (seed, (x, p)) in seeds.iter().zip(figure(other, f).iter().zip(&primary)) {
                assert!(
                    (x - p).abs() <= 0.005 * p,
                    "{what}, seed {seed}: {other} {x} against primary-read {p}"
                );
            }
        }
    }
}

#[test]
fn a_run_over_seeds_gives_bands_and_paired_differences_whatever_the_threads() {
    let args = |jobs: &'static str, format: &'static str| {
        vec![
            "run",
            "scenarios/lag-monitor.toml",
            "--seeds",
            "4",
            "--variant",
            "replica-read",
            "--variant",
            "lag-aware",
            "--skip-checks",
            "--jobs",
            jobs,
            "--format",
            format,
        ]
    };
    for format in ["table", "json"] {
        let one = lagsim(&args("1", format));
        let two = lagsim(&args("2", format));
        assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
        assert_eq!(
            stdout(&one),
            stdout(&two),
            "--jobs changed the {format} output"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&lagsim(&args("2", "json")))).unwrap();
    assert_eq!(json["seeds"], serde_json::json!([7, 8, 9, 10]));
    assert_eq!(json["baseline"], "replica-read");
    // Every seed's figures are there, and the summary and the paired difference follow from
    // them (recomputed here).
    let oversold = |v: usize| -> Vec<f64> {
        let runs = json["variants"][v]["runs"].as_array().unwrap();
        runs.iter()
            .map(|r| r["metrics"]["oversold_units"].as_f64().unwrap())
            .collect()
    };
    let (base, aware) = (oversold(0), oversold(1));
    assert_eq!(base.len(), 4);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let summary = &json["variants"][1]["summary"]["oversold_units"];
    assert_eq!(summary["mean"].as_f64().unwrap(), mean(&aware));
    let d: Vec<f64> = aware.iter().zip(&base).map(|(a, b)| a - b).collect();
    let paired = &json["variants"][1]["paired"]["oversold_units"];
    assert!((paired["mean"].as_f64().unwrap() - mean(&d)).abs() < 1e-9);
    // t(0.975, 3) = 3.182: the interval of 4 seeds.
    let half = 3.182 * sd(&d) / 2.0;
    assert!((paired["ci95"].as_f64().unwrap() - half).abs() < 1e-9);
    assert!(json["variants"][0]["paired"].is_null());
    // A run over seeds records no single run.
    let o = lagsim(&[
        "run",
        "scenarios/lag-monitor.toml",
        "--seeds",
        "2",
        "--trace",
        "t.jsonl",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--trace records one run"),
        "{}",
        stderr(&o)
    );
}
