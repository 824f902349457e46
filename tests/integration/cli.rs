use crate::support::{lagsim, stderr, stdout};

#[test]
fn help_shows_examples_and_exit_codes() {
    let o = lagsim(&["run", "--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("lagsim run scenarios/black-friday.toml"));
    assert!(out.contains("Exit codes: 0 ok, 1"));
    assert!(out.contains("--check-determinism"));
}

#[test]
fn validate_accepts_every_bundled_scenario() {
    let files = bundled_scenarios();
    assert!(files.len() >= 3, "{files:?}");
    for file in files.iter().map(String::as_str) {
        let o = lagsim(&["validate", file]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert!(stdout(&o).starts_with("ok: "));
    }
}

#[test]
fn json_output_has_every_documented_key() {
    let o = lagsim(&[
        "run",
        "scenarios/black-friday.toml",
        "--format",
        "json",
        "--set",
        "duration_s=60",
        "--variant",
        "replica-read",
        "--variant",
        "conditional-decrement",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in [
        "lagsim_version",
        "scenario",
        "seed",
        "reproduce",
        "variants",
    ] {
        assert!(!json[key].is_null(), "missing {key}");
    }
    assert_eq!(json["seed"], 2024);
    let variants = json["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[1]["checkout"], "conditional-decrement");
    for v in variants {
        for key in ["name", "checkout", "trace_hash", "events", "metrics"] {
            assert!(!v[key].is_null(), "missing variants[].{key}");
        }
        for key in [
            "shoppers",
            "orders_confirmed",
            "orders_rejected_out_of_stock",
            "orders_failed",
            "stock_initial",
            "units_sold",
            "oversold_units",
            "stock_final_primary",
            "stale_reads",
            "replica_lag_ms_mean",
            "replica_lag_ms_p99",
            "replica_lag_ms_max",
            "checkout_latency_ms_p50",
            "checkout_latency_ms_p99",
            "primary_queries",
            "replica_queries",
            "cache_hit_ratio",
        ] {
            assert!(v["metrics"][key].is_number(), "missing metrics.{key}");
        }
        // Every metric key is documented.
        let reference =
            std::fs::read_to_string(crate::support::repo_path("docs/output-reference.md")).unwrap();
        for key in v["metrics"].as_object().unwrap().keys() {
            assert!(
                reference.contains(&format!("`{key}`")),
                "docs/output-reference.md lacks `{key}`"
            );
        }
    }
}

#[test]
fn table_output_prints_seed_hashes_and_a_reproduce_line() {
    let o = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=5",
        "--seed",
        "9",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("seed: 9"));
    assert!(out.contains("replica lag p99 (s)"));
    assert!(out.contains(
        "reproduce: lagsim run scenarios/validation/replica-mm1.toml --seed 9 --set duration_s=5"
    ));
    let hash_line = out
        .lines()
        .find(|l| l.starts_with("trace mm1"))
        .expect("a trace hash line");
    assert_eq!(hash_line.split_whitespace().nth(2).unwrap().len(), 16);
}

#[test]
fn variants_on_several_threads_print_and_write_the_same_bytes_as_on_one() {
    let dir = std::env::temp_dir().join(format!("lagsim-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |jobs: &str| {
        let history = dir.join(format!("history-{jobs}.jsonl"));
        let o = lagsim(&[
            "run",
            "scenarios/black-friday.toml",
            "--set",
            "duration_s=60",
            "--jobs",
            jobs,
            "--history",
            history.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (stdout(&o), stderr(&o), std::fs::read(&history).unwrap())
    };
    let (one, three) = (run("1"), run("3"));
    assert_eq!(one.0, three.0, "the table and the trace hashes");
    assert_eq!(one.1, three.1, "the checks on stderr");
    assert!(one.2 == three.2, "the history files differ");
    // Seven variants, each with its trace hash, in file order.
    let names: Vec<&str> = one
        .0
        .lines()
        .filter_map(|l| l.strip_prefix("trace "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names.len(), 7, "{}", one.0);
    assert_eq!(names[0], "replica-read");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_trace_on_several_threads_is_refused() {
    let o = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--trace",
        "/dev/null",
        "--jobs",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("drop --jobs"), "{}", stderr(&o));
}

#[test]
fn unknown_variant_is_bad_usage() {
    let o = lagsim(&["run", "scenarios/black-friday.toml", "--variant", "yolo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no variant named `yolo`"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("pessimistic-lock"));
}

#[test]
fn bad_flags_and_missing_files_are_bad_usage() {
    assert_eq!(lagsim(&["run"]).status.code(), Some(2));
    assert_eq!(
        lagsim(&["run", "scenarios/black-friday.toml", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    let o = lagsim(&["run", "no/such/file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read scenario file no/such/file.toml"));
}

#[test]
fn a_run_past_its_horizon_is_a_clear_error() {
    let o = lagsim(&[
        "run",
        "scenarios/black-friday.toml",
        "--variant",
        "replica-read",
        "--set",
        "duration_s=60",
        "--set",
        "horizon_s=61",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("had not finished by its horizon of 61.000s"),
        "{err}"
    );
    assert!(err.contains("horizon_s"));
}

/// Every `.toml` under scenarios/, relative to the repository root, sorted.
fn bundled_scenarios() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let root = crate::support::repo_path("");
                out.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(&crate::support::repo_path("scenarios"), &mut out);
    out.sort();
    out
}

#[test]
fn report_writes_one_self_contained_page_and_no_progress_reaches_a_pipe() {
    let dir = std::env::temp_dir().join(format!("lagsim-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("saga.html");
    let o = lagsim(&[
        "report",
        "scenarios/checkout-saga.toml",
        "-o",
        page.to_str().unwrap(),
        "--variant",
        "best-effort",
        "--variant",
        "two-phase-commit",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // stderr is a pipe here: one line, no progress bar, no escape codes.
    assert!(!stderr(&o).contains('\u{1b}') && !stderr(&o).contains('\r'));
    assert!(stderr(&o).starts_with("report: "), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // The two variants' figures, charts (the saga windows among them) and stories.
    assert!(html.contains("<th>best-effort</th>") && html.contains("<th>two-phase-commit</th>"));
    assert_eq!(
        html.matches("<figure").count(),
        2 + 2 + 3 + 1,
        "beliefs, lag, 03–05, saga windows"
    );
    assert!(html.contains("How long orders stayed inconsistent"));
    assert!(html.contains("Lesson: two-phase commit is atomic"));
    assert!(!html.contains("<script") && !html.contains("<?xml"));
    // An unwritable destination is bad usage, found before any run.
    let o = lagsim(&[
        "report",
        "scenarios/checkout-saga.toml",
        "-o",
        "/nonexistent/dir/r.html",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot create report /nonexistent/dir/r.html"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_escapes_every_string_from_the_scenario() {
    let dir = std::env::temp_dir().join(format!("lagsim-escape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(crate::support::repo_path("scenarios/checkout-saga.toml"))
        .unwrap()
        .replace(
            "description = \"",
            "description = \"<script>alert(1)</script> & <b>bold</b> ",
        )
        .replace(
            "name = \"reliable\"",
            "name = \"<img src=x onerror=alert(2)>\"",
        )
        // The [[expect]] entries name variants too.
        .replace(
            "[\"reliable\", \"two-phase-commit\"]",
            "[\"<img src=x onerror=alert(2)>\", \"two-phase-commit\"]",
        );
    let file = dir.join("hostile.toml");
    std::fs::write(&file, text).unwrap();
    let page = dir.join("hostile.html");
    let o = lagsim(&[
        "report",
        file.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b>bold"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    std::fs::remove_dir_all(&dir).unwrap();
}
