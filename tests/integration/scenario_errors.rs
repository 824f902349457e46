//! The CLI end of scenario validation: a bad file exits 2 with `file:line:column: field: message`.
//! (Every error class is covered in detail by the loader's unit tests in src/scenario/tests.rs.)

use crate::support::{lagsim, repo_path, stderr};

/// Writes black-friday.toml with one textual edit to a temp file; returns its path and the
/// 1-based line of the edit (so the tests survive edits to the scenario's comments).
fn edited(name: &str, from: &str, to: &str) -> (std::path::PathBuf, usize) {
    let text = std::fs::read_to_string(repo_path("scenarios/black-friday.toml")).unwrap();
    let at = text.find(from).expect("the edit applies");
    let line = text[..at].lines().count() + 1;
    let dir = std::env::temp_dir().join(format!("lagsim-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    (path, line)
}

/// Both commands reject the file with exactly `error: FILE:LINE:rest`.
fn rejects((path, line): (std::path::PathBuf, usize), rest: &str) {
    let p = path.to_str().unwrap();
    for args in [vec!["validate", p], vec!["run", p]] {
        let o = lagsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(
            err.trim_end(),
            format!("error: {p}:{line}:{rest}"),
            "{args:?}"
        );
    }
}

#[test]
fn out_of_range_value_names_line_column_field_and_range() {
    let p = edited("range.toml", "workers = 64", "workers = 0");
    rejects(
        p,
        "11: primary.workers: expected an integer from 1 to 100000, found 0",
    );
}

#[test]
fn unknown_field_lists_the_allowed_keys() {
    let p = edited("unknown.toml", "workers = 64", "wokers = 64");
    rejects(
        p,
        "1: primary.wokers: unknown key `wokers`; allowed keys here: `workers`, `read_time`, \
         `write_time`, `lock_timeout_ms` and `txn_idle_timeout_ms`",
    );
}

#[test]
fn unknown_node_in_a_link_lists_the_known_nodes() {
    let p = edited(
        "node.toml",
        r#"between = ["primary", "replica-1"]"#,
        r#"between = ["primary", "replica-9"]"#,
    );
    rejects(
        p,
        "23: network.links[0].between[1]: expected a node name: `app`, `primary`, `cache`, \
         `replica-1` or `replica-2`, found the string \"replica-9\"",
    );
}

#[test]
fn unknown_strategy_lists_every_strategy() {
    let p = edited(
        "strategy.toml",
        r#"checkout = "optimistic""#,
        r#"checkout = "optimistc""#,
    );
    rejects(
        p,
        "12: variants[4].checkout: expected one of `replica-read`, `cache-read`, `primary-read`, \
         `pessimistic-lock`, `optimistic`, `conditional-decrement`, `lag-aware` or `saga`, found the string \"optimistc\"",
    );
}

#[test]
fn toml_syntax_error_is_located() {
    let (p, _) = edited("syntax.toml", "duration_s = 900", "duration_s = [900");
    let o = lagsim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid TOML"), "{}", stderr(&o));
    assert!(stderr(&o).starts_with(&format!("error: {}:", p.display())));
}

#[test]
fn bad_set_values_name_the_set() {
    let o = lagsim(&[
        "run",
        "scenarios/black-friday.toml",
        "--set",
        "replicas[0].workers=-1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim_end(),
        "error: --set replicas[0].workers=-1: replicas[0].workers: expected an integer from 1 to 100000, found -1"
    );
    let o = lagsim(&[
        "run",
        "scenarios/black-friday.toml",
        "--set",
        "replicas[5].workers=1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("index 5 is out of range: `replicas` has 2 entries"),
        "{}",
        stderr(&o)
    );
}
