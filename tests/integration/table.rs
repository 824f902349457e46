//! The class-sized table: what a room can read, folded from the full table without losing a
//! figure.

use crate::support::{lagsim, stdout};

/// The table part of a run's output: from after the `scenario:` line to the first `trace` line.
fn table(out: &str) -> Vec<&str> {
    out.lines()
        .skip(2)
        .take_while(|l| !l.starts_with("trace "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// The labels of the metric rows: between the line of dashes under the header and the next
/// line of dashes or the folded line.
fn metric_labels<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    lines
        .iter()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .take_while(|l| !l.starts_with("---") && !l.starts_with("same"))
        .map(|l| l.split("  ").next().unwrap())
        .collect()
}

/// The cells of the row labelled `label` (label-prefix match on the whole label).
fn row<'a>(lines: &[&'a str], label: &str) -> Option<Vec<&'a str>> {
    lines
        .iter()
        .find(|l| l.starts_with(label) && l[label.len()..].starts_with("  "))
        .map(|l| l[label.len()..].split_whitespace().collect())
}

#[test]
fn black_friday_class_table_fits_a_slide_and_keeps_the_figures_of_the_full_one() {
    let args = ["run", "scenarios/black-friday.toml", "--skip-checks"];
    let class = lagsim(&args);
    let full = lagsim(&[&args[..], &["--rows", "all"]].concat());
    // Skipped checks leave the required ones `unknown`: exit 1, the same for both layouts.
    assert_eq!(class.status.code(), Some(1));
    assert_eq!(full.status.code(), Some(1));
    let (class, full) = (stdout(&class), stdout(&full));
    let (c, f) = (table(&class), table(&full));
    let widest = c.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns:\n{class}");
    let rows = metric_labels(&c);
    assert!(rows.len() <= 12, "{} rows:\n{class}", rows.len());
    assert!(
        c.len() * 3 < f.len() * 2,
        "{} vs {} lines",
        c.len(),
        f.len()
    );
    assert!(c[0].starts_with("lesson: Checkout that trusts"), "{}", c[0]);
    // Every row the class table keeps shows the full table's figures, in variant order.
    for label in [
        "OVERSOLD (units)",
        "stale checkout reads",
        "orders confirmed",
    ] {
        let (a, b) = (row(&c, label), row(&f, label));
        assert!(a.is_some(), "{label} kept:\n{class}");
        assert_eq!(a, b, "{label}");
    }
    // A figure equal in every variant is folded, with its value, not dropped.
    let shoppers = row(&f, "shoppers").unwrap()[0];
    assert!(row(&c, "shoppers").is_none());
    assert!(class.contains(&format!("shoppers {shoppers}")), "{class}");
    // `--full` is `--rows all`.
    let mm1 = [
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=5",
    ];
    let also = stdout(&lagsim(&[&mm1[..], &["--full"]].concat()));
    assert_eq!(
        also,
        stdout(&lagsim(&[&mm1[..], &["--rows", "all"]].concat()))
    );
}

#[test]
fn transposed_table_has_one_row_per_variant() {
    let out = lagsim(&[
        "run",
        "scenarios/black-friday.toml",
        "--set",
        "duration_s=120",
        "--variant",
        "replica-read",
        "--variant",
        "conditional-decrement",
        "--transpose",
        "--skip-checks",
    ]);
    let text = stdout(&out);
    let t = table(&text);
    let rows: Vec<&&str> = t
        .iter()
        .filter(|l| l.starts_with("replica-read ") || l.starts_with("conditional-decrement "))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
}

#[test]
fn report_rows_name_figures_and_an_unknown_one_is_located_with_a_suggestion() {
    let dir = std::env::temp_dir().join("lagsim-table-rows");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string("scenarios/black-friday.toml").unwrap();
    let bad = text.replace(
        "[report]\n",
        "[report]\nrows = [\"oversold_units\", \"stale_chekout_reads\"]\n",
    );
    let path = dir.join("bf.toml");
    std::fs::write(&path, bad).unwrap();
    let out = lagsim(&["validate", path.to_str().unwrap()]);
    let err = crate::support::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("report.rows[1]") && err.contains("did you mean `stale_checkout_reads`"),
        "{err}"
    );
    // Named rows are shown in the named order, and only they (and the folded ones).
    let good = text.replace(
        "[report]\n",
        "[report]\nrows = [\"stale_checkout_reads\", \"checkout_latency_ms_p99\"]\n",
    );
    std::fs::write(&path, good).unwrap();
    let p = path.to_str().unwrap();
    let out = stdout(&lagsim(&[
        "run",
        p,
        "--set",
        "duration_s=240",
        "--skip-checks",
    ]));
    let t = table(&out);
    assert_eq!(
        metric_labels(&t),
        ["stale checkout reads", "checkout latency p99 (ms)"],
        "{out}"
    );
}
