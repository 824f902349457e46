//! `[[expect]]` and `lagsim test`: bundled scenarios meet their expectations, a failing one names
//! its seed and the command that reproduces it, and shrinks to a smaller scenario that still fails.

use std::path::{Path, PathBuf};

use lagsim::run::fails_on;
use lagsim::scenario::{FIGURES, SAGA_FIGURES, parse_scenario};

use crate::support::{lagsim, repo_path, run, scenario, stderr, stdout};

/// A fresh temp directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lagsim-expect-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// lag-monitor.toml with `extra` appended, written to `dir/name`.
fn lag_monitor_with(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_path("scenarios/lag-monitor.toml")).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

const WRONG: &str = r#"
[[expect]]
variant = "replica-read"
that = "oversold_units == 0"
why = "deliberately wrong"
"#;

#[test]
fn a_failing_expectation_names_its_seed_its_command_and_a_shrunk_scenario() {
    let dir = temp_dir("fail");
    let file = lag_monitor_with(&dir, "wrong.toml", WRONG);
    let f = file.to_str().unwrap();
    let shrunk_dir = dir.join("shrunk");
    let o = lagsim(&[
        "test",
        f,
        "--seeds",
        "2",
        "--shrink-dir",
        shrunk_dir.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let line = out
        .lines()
        .find(|l| l.contains("replica-read: oversold_units == 0"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with("  FAIL  ") && line.ends_with("on all seeds: 46, 41 (0/2 seeds)"),
        "{line}"
    );
    assert!(out.contains("        why: deliberately wrong\n"), "{out}");
    assert!(
        out.contains("        failed: variant `replica-read`, seed 7: oversold_units = 46\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "        reproduce: lagsim run {f} --seed 7 --variant replica-read\n"
        )),
        "{out}"
    );
    // The bundled expectations still hold.
    assert_eq!(out.matches("\n  ok    ").count(), 5, "{out}");
    assert!(out.contains("test: 6 expectations in 1 scenario over 2 seeds: 5 held, 1 failed"));

    // The shrunk scenario: written where asked, valid, smaller, and still failing at seed 7.
    let shrunk_path = shrunk_dir.join("wrong.line127.shrunk.toml");
    assert!(
        out.contains(&format!("shrunk scenario: {}\n", shrunk_path.display())),
        "{out}"
    );
    assert!(out.contains("        shrunk in "), "{out}");
    assert!(
        out.contains(&format!(
            "        reproduce it: lagsim run {} --seed 7 --variant replica-read\n",
            shrunk_path.display()
        )),
        "{out}"
    );
    let text = std::fs::read_to_string(&shrunk_path).unwrap();
    assert!(
        text.starts_with("# Shrunk by `lagsim test` from "),
        "{text}"
    );
    let shrunk = parse_scenario("shrunk.toml", &text, &[]).unwrap();
    let original = scenario("scenarios/lag-monitor.toml", &[]);
    assert_eq!(shrunk.seed, 7);
    assert_eq!(shrunk.variants.len(), 1);
    assert_eq!(shrunk.expectations.len(), 1);
    let (small, big) = (&shrunk.variants[0].config, &original.variants[0].config);
    assert!(
        small.traffic_end < big.traffic_end || small.horizon < big.horizon,
        "not smaller:\n{text}"
    );
    assert!(run(&shrunk, "replica-read", 7).oversold_units > 0, "{text}");
    assert!(fails_on(&shrunk, 0, "replica-read", 7));
    // `lagsim test` on the shrunk file fails too, at its seed, and shrinks no further needlessly.
    let again = lagsim(&[
        "test",
        shrunk_path.to_str().unwrap(),
        "--seeds",
        "1",
        "--no-shrink",
    ]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
}

#[test]
fn a_share_expectation_is_not_shrunk() {
    let dir = temp_dir("share");
    let file = lag_monitor_with(
        &dir,
        "share.toml",
        "[[expect]]\nvariant = \"conditional-decrement\"\nthat = \"oversold_units > 0\"\non_seeds = 0.5\n",
    );
    let o = lagsim(&["test", file.to_str().unwrap(), "--seeds", "2"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "conditional-decrement: oversold_units > 0 on at least 50% of seeds: 0, 0 (0/2 seeds)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "        not shrunk: it holds on too few seeds, and no single seed is a counterexample"
        ),
        "{out}"
    );
    assert!(!dir.join("share.line123.shrunk.toml").exists());
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let args = |jobs: &'static str| {
        vec![
            "test",
            "scenarios/lag-monitor.toml",
            "scenarios/partition-cp-vs-ap.toml",
            "--seeds",
            "2",
            "--jobs",
            jobs,
        ]
    };
    let one = lagsim(&args("1"));
    let three = lagsim(&args("3"));
    assert_eq!(one.status.code(), Some(0), "{}", stdout(&one));
    assert_eq!(stdout(&one), stdout(&three));
}

#[test]
fn bundled_scenarios_state_what_they_teach() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.push(repo_path("scenarios/validation/replica-mm1.toml"));
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let s = parse_scenario(&f.display().to_string(), &text, &[]).unwrap();
        assert!(s.expectations.len() >= 3, "{}", f.display());
        assert!(
            s.expectations.iter().all(|e| !e.why.is_empty()),
            "{}",
            f.display()
        );
    }
    // One seed of the quick ones (CI runs `lagsim test scenarios/` in full, on 3 seeds).
    let o = lagsim(&[
        "test",
        "scenarios/checkout-saga.toml",
        "scenarios/flash-sale-prices.toml",
        "scenarios/profile-email.toml",
        "scenarios/validation",
        "--seeds",
        "1",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.ends_with("over 1 seed: 28 held, 0 failed\n"), "{out}");
}

#[test]
fn run_and_validate_accept_expectations_and_run_does_not_judge_them() {
    let dir = temp_dir("run");
    let file = lag_monitor_with(&dir, "wrong.toml", WRONG);
    let f = file.to_str().unwrap();
    let o = lagsim(&["validate", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = lagsim(&["run", f, "--variant", "replica-read", "--skip-checks"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Both `validate` and `test` reject a bad expectation with `error: FILE:LINE:COLUMN: …`, exit 2.
#[test]
fn bad_expectations_are_located_errors() {
    let dir = temp_dir("bad");
    let cases = [
        (
            "[[expect]]\nthat = \"oversold == 0\"\n",
            "127:8: expect[5].that: unknown figure `oversold`; did you mean `oversold_units`?",
        ),
        (
            "[[expect]]\nvariant = \"replica\"\nthat = \"oversold_units == 0\"\n",
            "127:11: expect[5].variant: no variant named `replica`; this scenario has \
             `replica-read`, `lag-aware`",
        ),
        (
            "[[expect]]\nthat = \"oversold_units => 0\"\n",
            "127:8: expect[5].that: `=` is not a comparison: write `==`",
        ),
        (
            "[[expect]]\nthat = \"oversold_units == 0\"\non_seeds = 1.5\n",
            "128:12: expect[5].on_seeds: expected \"all\" or the share of seeds",
        ),
    ];
    for (i, (extra, expected)) in cases.iter().enumerate() {
        let text = std::fs::read_to_string(repo_path("scenarios/lag-monitor.toml")).unwrap();
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
        let p = path.to_str().unwrap();
        for verb in ["validate", "test"] {
            let o = lagsim(&[verb, p]);
            assert_eq!(o.status.code(), Some(2), "{verb} {extra}");
            let err = stderr(&o);
            assert!(
                err.starts_with(&format!("error: {p}:{expected}")),
                "{verb}: {err}\nshould start with\nerror: {p}:{expected}"
            );
        }
    }
    let o = lagsim(&["test", dir.join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = lagsim(&["test", "scenarios/lag-monitor.toml", "--seeds", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The figures an expectation may name are exactly the numeric keys of `Metrics::numbers()`.
#[test]
fn every_figure_an_expectation_names_is_a_key_of_the_metrics() {
    let plain = scenario("scenarios/lag-monitor.toml", &["duration_s=10"]);
    let saga = scenario("scenarios/checkout-saga.toml", &["duration_s=10"]);
    let mut keys: Vec<String> = Vec::new();
    for (s, v) in [(&plain, "replica-read"), (&saga, "reliable")] {
        let m = run(s, v, 1);
        keys.extend(m.numbers().into_iter().map(|(k, _)| k));
    }
    keys.sort();
    keys.dedup();
    let mut named: Vec<String> = FIGURES.iter().map(|f| f.to_string()).collect();
    named.extend(SAGA_FIGURES.iter().map(|f| format!("saga.{f}")));
    named.sort();
    assert_eq!(keys, named);
}
