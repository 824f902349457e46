use std::path::PathBuf;

use lagsim::sweep::{GridValue, SweepPlan, SweepRequest, aggregate};

use crate::support::{lagsim, repo_path, run, scenario, stderr, stdout};

/// A small sweep of lag-monitor: 2 variants × 2 grid points × 3 seeds (unless `--seeds` says
/// otherwise) = 12 runs of 30 s.
const SMALL: &[&str] = &[
    "sweep",
    "scenarios/lag-monitor.toml",
    "--set",
    "duration_s=30",
    "--set",
    "background.writes_per_s=50,150",
    "--variant",
    "replica-read",
    "--variant",
    "lag-aware",
];

/// `base` and `more`, with `--seeds 3` unless one of them gives `--seeds`.
fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = base.iter().chain(more).map(|s| s.to_string()).collect();
    if !args.iter().any(|a| a == "--seeds") {
        args.extend(["--seeds".to_string(), "3".to_string()]);
    }
    args
}

fn sweep_ok(args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = lagsim(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lagsim-sweep-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs `lagsim` and expects exit code 2 with `needle` in its message.
fn bad_usage(args: &[&str], needle: &str) {
    let o = lagsim(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(
        stderr(&o).contains(needle),
        "{args:?}: expected `{needle}` in: {}",
        stderr(&o)
    );
}

#[test]
fn jobs_do_not_change_a_single_byte() {
    for format in ["json", "csv", "table"] {
        let one = sweep_ok(&with(SMALL, &["--format", format, "--jobs", "1"]));
        let two = sweep_ok(&with(SMALL, &["--format", format, "--jobs", "2"]));
        assert_eq!(one, two, "--format {format}");
    }
}

#[test]
fn outputs_carry_every_figure_with_n_mean_sd_and_ci95() {
    let json: serde_json::Value =
        serde_json::from_str(&sweep_ok(&with(SMALL, &["--format", "json"]))).unwrap();
    for key in ["lagsim_version", "sweep", "runs", "reproduce", "results"] {
        assert!(!json[key].is_null(), "missing {key}");
    }
    assert_eq!(json["runs"], 12);
    assert_eq!(json["sweep"]["seed_base"], 7, "the file's seed");
    assert_eq!(
        json["sweep"]["parameters"][0]["values"],
        serde_json::json!([50, 150])
    );
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "2 variants × 2 points");
    assert_eq!(results[0]["variant"], "replica-read");
    assert_eq!(results[1]["point"]["background.writes_per_s"], 150);
    let metrics = results[0]["metrics"].as_object().unwrap();
    let keys = lagsim::model::metrics::Metrics::keys();
    let plain: Vec<&String> = keys.iter().filter(|k| !k.starts_with("saga.")).collect();
    assert_eq!(metrics.len(), plain.len(), "every figure of a non-saga run");
    for (k, s) in metrics {
        assert_eq!(s["n"], 3, "{k}");
        for field in ["mean", "sd", "ci95"] {
            assert!(s[field].is_number(), "{k}.{field}");
        }
    }
    // Every key and column of a sweep's output is documented.
    let reference = std::fs::read_to_string(repo_path("docs/output-reference.md")).unwrap();
    for key in [
        "scenario_hash",
        "seed_base",
        "variants_chosen",
        "colour_index",
        "ci95",
        "runs_total",
    ] {
        assert!(reference.contains(&format!("`{key}`")), "lacks `{key}`");
    }

    let csv = sweep_ok(&with(SMALL, &["--format", "csv"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("variant,background.writes_per_s,metric,n,mean,sd,ci95")
    );
    assert_eq!(lines.count(), 4 * plain.len());

    let table = sweep_ok(&with(SMALL, &["--metric", "oversold_units"]));
    assert!(
        table.contains("2 variants × 2 grid points × 3 seeds = 12 runs"),
        "{table}"
    );
    assert!(
        table.contains("reproduce: lagsim sweep scenarios/lag-monitor.toml --seed 7 --seeds 3")
    );
}

#[test]
fn the_means_are_those_of_the_runs_one_by_one() {
    let text = std::fs::read_to_string(repo_path("scenarios/lag-monitor.toml")).unwrap();
    let sets = vec![
        "duration_s=30".to_string(),
        "background.writes_per_s=50,150".to_string(),
    ];
    let variants = vec!["replica-read".to_string()];
    let plan = SweepPlan::new(&SweepRequest {
        origin: "lag-monitor.toml",
        text: &text,
        sets: &sets,
        variants: &variants,
        seed: Some(100),
        seeds: 4,
    })
    .unwrap();
    let runs = plan.run(&plan.spec.all_jobs(), 2, &|| {}).unwrap();
    let result = aggregate(plan.spec.clone(), runs).unwrap();
    let s = scenario(
        "scenarios/lag-monitor.toml",
        &["duration_s=30", "background.writes_per_s=150"],
    );
    let values: Vec<f64> = (100..104)
        .map(|seed| run(&s, "replica-read", seed).replica_lag_ms_max)
        .collect();
    let mean = values.iter().sum::<f64>() / 4.0;
    let sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let got = result.cell(0, 1).metrics["replica_lag_ms_max"];
    assert_eq!(got.n, 4);
    assert!((got.mean - mean).abs() < 1e-9, "{} vs {mean}", got.mean);
    assert!((got.sd - sd).abs() < 1e-9);
    assert!(
        (got.ci95 - 3.182 * sd / 2.0).abs() < 1e-9,
        "t(0.975, 3) = 3.182"
    );
}

#[test]
fn integer_keys_keep_integer_grids_and_float_keys_keep_fractions() {
    let text = std::fs::read_to_string(repo_path("scenarios/lag-monitor.toml")).unwrap();
    let plan = |set: &str| {
        let sets = vec![set.to_string()];
        SweepPlan::new(&SweepRequest {
            origin: "lag-monitor.toml",
            text: &text,
            sets: &sets,
            variants: &[],
            seed: None,
            seeds: 1,
        })
        .map(|p| p.spec.parameters[0].values.clone())
    };
    assert_eq!(
        plan("replicas[0].workers=1..4:3").unwrap(),
        [1, 3, 4].map(GridValue::Int),
        "workers is an integer: 2.5 rounds to 3"
    );
    assert_eq!(
        plan("background.writes_per_s=1..4:3").unwrap(),
        [
            GridValue::Float(1.0),
            GridValue::Float(2.5),
            GridValue::Float(4.0)
        ],
        "a rate keeps its fractions"
    );
    let e = plan("replicas[0].workers=1..2:3").unwrap_err().to_string();
    assert!(e.contains("would repeat"), "{e}");
}

#[test]
fn shards_merge_into_exactly_the_unsharded_sweep() {
    let dir = temp_dir("shards");
    let whole_json = sweep_ok(&with(SMALL, &["--format", "json"]));
    let whole_csv = sweep_ok(&with(SMALL, &["--format", "csv"]));
    let whole_table = sweep_ok(&with(SMALL, &[]));
    let mut files = Vec::new();
    for i in 1..=3 {
        let f = dir.join(format!("shard-{i}.json")).display().to_string();
        let shard = format!("{i}/3");
        let o = lagsim(
            &with(SMALL, &["--shard", &shard, "--output", &f, "--jobs", "1"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("shard {i}/3: 4 of the sweep's 12 runs")));
        files.push(f);
    }
    // In any order.
    let merge = |more: &[&str]| {
        let mut args = vec!["merge", &files[2], &files[0], &files[1]];
        args.extend(more);
        let o = lagsim(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(merge(&["--format", "json"]), whole_json);
    assert_eq!(merge(&["--format", "csv"]), whole_csv);
    assert_eq!(merge(&[]), whole_table);

    // What merge refuses, and says why.
    bad_usage(&["merge", &files[0], &files[2]], "no file holds shard 2/3");
    bad_usage(
        &["merge", &files[0], &files[1], &files[2], &files[1]],
        "shards overlap",
    );
    let other = dir.join("other.json").display().to_string();
    let o = lagsim(
        &with(
            SMALL,
            &["--seed", "8", "--shard", "2/3", "--output", &other],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    bad_usage(
        &["merge", &files[0], &other, &files[2]],
        "are shards of different sweeps: their `seed_base` differs",
    );
    let not_a_shard = dir.join("not-a-shard.json");
    std::fs::write(&not_a_shard, whole_json).unwrap();
    bad_usage(
        &["merge", &not_a_shard.display().to_string()],
        "not a lagsim sweep shard file",
    );
    bad_usage(&["merge", "no-such-shard.json"], "cannot read shard file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_sweeps_are_bad_usage_with_a_clear_message() {
    let base = ["sweep", "scenarios/lag-monitor.toml"];
    let case = |more: &[&str], needle: &str| {
        let args = with(&base, more);
        bad_usage(&args.iter().map(String::as_str).collect::<Vec<_>>(), needle);
    };
    case(
        &["--set", "monitor.sample_every_s=1..5"],
        "the range has no `:STEPS`",
    );
    case(
        &["--set", "monitor.sample_every_s=1..5:1"],
        "STEPS must be from 2",
    );
    case(
        &["--set", "monitor.sample_evry_s=1..5:3"],
        "unknown key `sample_evry_s`",
    );
    case(
        &["--set", "replicas[0].workers=0..4:5"],
        "expected an integer from 1",
    );
    case(
        &[
            "--set",
            "monitor.sample_every_s=1,2",
            "--set",
            "monitor.threshold_ms=1,2",
            "--set",
            "duration_s=10,20",
        ],
        "at most 2 parameters",
    );
    case(&["--set", "seed=1..5:5"], "use --seed");
    case(&["--shard", "0/3"], "counted from 1");
    case(&["--shard", "4/3"], "larger than n");
    case(
        &["--shard", "1/2", "--format", "json"],
        "leave out --format",
    );
    case(
        &["--metric", "oversold"],
        "did you mean one of: oversold_units",
    );
    case(&["--seeds", "0"], "--seeds must be from 1");
    case(&["--jobs", "0"], "--jobs must be at least 1");
    case(&["--variant", "nope"], "no variant named `nope`");
    bad_usage(&["sweep", "no-such-file.toml"], "cannot read scenario file");
}

#[test]
fn charts_are_drawn_and_byte_identical() {
    let one = with(
        SMALL,
        &[
            "--metric",
            "oversold_units",
            "--metric",
            "replica_lag_ms_max",
        ],
    );
    let (a, b) = (temp_dir("charts-a"), temp_dir("charts-b"));
    for dir in [&a, &b] {
        sweep_ok(&with(
            &one.iter().map(String::as_str).collect::<Vec<_>>(),
            &["--charts", &dir.display().to_string()],
        ));
    }
    let names = |dir: &PathBuf| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("lag-monitor"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&a),
        [
            "sweep-oversold_units.png",
            "sweep-oversold_units.svg",
            "sweep-replica_lag_ms_max.png",
            "sweep-replica_lag_ms_max.svg"
        ]
    );
    for n in names(&a) {
        let (x, y) = (
            std::fs::read(a.join("lag-monitor").join(&n)).unwrap(),
            std::fs::read(b.join("lag-monitor").join(&n)).unwrap(),
        );
        assert!(x == y, "{n} differs between two runs");
    }
    let svg = std::fs::read_to_string(a.join("lag-monitor/sweep-oversold_units.svg")).unwrap();
    assert!(svg.contains("replica-read") && svg.contains("background.writes_per_s"));

    // Two parameters: a heatmap per variant and figure.
    let c = temp_dir("charts-heatmap");
    let args = with(
        SMALL,
        &[
            "--set",
            "monitor.sample_every_s=2,5",
            "--seeds",
            "1",
            "--metric",
            "oversold_units",
            "--charts",
            &c.display().to_string(),
        ],
    );
    let table = sweep_ok(&args);
    assert!(
        table.contains("one seed per point: no confidence interval"),
        "{table}"
    );
    for v in ["replica-read", "lag-aware"] {
        for ext in ["png", "svg"] {
            let f = c.join(format!("lag-monitor/sweep-oversold_units-{v}.{ext}"));
            assert!(f.exists(), "{} missing", f.display());
        }
    }
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn help_shows_sweep_and_merge_examples() {
    let o = lagsim(&["sweep", "--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("lagsim sweep scenarios/black-friday.toml --seeds 50"));
    assert!(out.contains("Exit codes: 0 ok, 2"));
    assert!(out.contains("--shard 2/8"));
    let o = lagsim(&["merge", "--help"]);
    assert!(stdout(&o).contains("lagsim merge shard-*.json"));
}
