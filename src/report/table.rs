//! The side-by-side comparison table: one column per variant, one row per key metric, units in
//! the row labels.

use super::json::RunReport;
use crate::check::Status;
use crate::model::metrics::{Metrics, SagaMetrics};

type Row = (&'static str, fn(&Metrics) -> String);

fn int(v: impl Into<i128>) -> String {
    v.into().to_string()
}
fn fixed(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}
fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

const ROWS: &[Row] = &[
    ("shoppers", |m| int(m.shoppers)),
    ("checkouts", |m| int(m.checkouts)),
    ("orders confirmed", |m| int(m.orders_confirmed)),
    ("orders rejected (out of stock)", |m| {
        int(m.orders_rejected_out_of_stock)
    }),
    ("orders failed", |m| int(m.orders_failed)),
    ("stock initial (units)", |m| int(m.stock_initial)),
    ("units sold", |m| int(m.units_sold)),
    ("OVERSOLD (units)", |m| int(m.oversold_units)),
    ("stock final on primary", |m| int(m.stock_final_primary)),
    ("stale reads (page + checkout)", |m| int(m.stale_reads)),
    ("stale checkout reads", |m| int(m.stale_checkout_reads)),
    ("replica lag mean (s)", |m| {
        fixed(m.replica_lag_ms_mean / 1e3, 3)
    }),
    ("replica lag p99 (s)", |m| {
        fixed(m.replica_lag_ms_p99 / 1e3, 3)
    }),
    ("replica lag max (s)", |m| {
        fixed(m.replica_lag_ms_max / 1e3, 3)
    }),
    ("checkout latency p50 (ms)", |m| {
        fixed(m.checkout_latency_ms_p50, 1)
    }),
    ("checkout latency p99 (ms)", |m| {
        fixed(m.checkout_latency_ms_p99, 1)
    }),
    ("optimistic retries", |m| int(m.checkout_retries)),
    ("lock waits", |m| int(m.lock_waits)),
    ("lock wait p99 (ms)", |m| fixed(m.lock_wait_ms_p99, 1)),
    ("primary queries", |m| int(m.primary_queries)),
    ("primary utilisation", |m| percent(m.primary_utilisation)),
    ("replica queries", |m| int(m.replica_queries)),
    ("cache hit ratio", |m| percent(m.cache_hit_ratio)),
    ("DB reads saved by the cache", |m| int(m.db_reads_saved)),
    ("stale price views", |m| int(m.stale_price_views)),
    ("stale stock badge views", |m| int(m.stale_badge_views)),
    ("orders at a wrong price", |m| int(m.orders_at_wrong_price)),
    ("request timeouts", |m| int(m.request_timeouts)),
    ("availability", |m| percent(m.availability)),
    ("max staleness of a read (s)", |m| {
        fixed(m.max_staleness_ms / 1e3, 3)
    }),
    ("converged after quiescence (s)", |m| {
        fixed(m.converged_after_ms / 1e3, 3)
    }),
    ("lag alerts", |m| int(m.lag_alerts)),
    ("alert detect delay mean (s)", |m| {
        fixed(m.alert_detect_delay_ms / 1e3, 3)
    }),
    ("profile reads", |m| int(m.profile_reads)),
    ("read-your-writes violations", |m| int(m.ryw_violations)),
    ("monotonic read violations", |m| {
        int(m.monotonic_read_violations)
    }),
    ("profile reads on primary", |m| {
        percent(m.primary_read_share)
    }),
    ("profile read latency p99 (ms)", |m| {
        fixed(m.profile_read_ms_p99, 1)
    }),
    ("sagas completed", |m| saga(m, |s| int(s.sagas_completed))),
    ("sagas compensated", |m| {
        saga(m, |s| int(s.sagas_compensated))
    }),
    ("SAGAS STUCK", |m| saga(m, |s| int(s.sagas_stuck))),
    ("leaked reservations (units)", |m| {
        saga(m, |s| int(s.leaked_units))
    }),
    ("charged without an order", |m| {
        saga(m, |s| int(s.charged_without_order))
    }),
    ("double charges", |m| saga(m, |s| int(s.double_charges))),
    ("refunds", |m| saga(m, |s| int(s.refunds))),
    ("inconsistency window p99 (s)", |m| {
        saga(m, |s| fixed(s.inconsistency_window_ms_p99 / 1e3, 3))
    }),
    ("inconsistency window max (s)", |m| {
        saga(m, |s| fixed(s.inconsistency_window_ms_max / 1e3, 3))
    }),
    ("prepares that waited for a lock", |m| {
        saga(m, |s| int(s.lock_waits))
    }),
    ("lock wait p99 (s)", |m| {
        saga(m, |s| fixed(s.lock_wait_ms_p99 / 1e3, 3))
    }),
    ("lock held max (s)", |m| {
        saga(m, |s| fixed(s.lock_hold_ms_max / 1e3, 3))
    }),
];

/// A saga figure, or 0 for a variant without sagas.
fn saga(m: &Metrics, f: impl Fn(&SagaMetrics) -> String) -> String {
    m.saga.as_ref().map_or_else(|| "0".to_string(), f)
}

/// Rows shown even when every variant has 0 there: a zero in them is the point.
const ALWAYS: &[&str] = &[
    "shoppers",
    "orders confirmed",
    "orders failed",
    "OVERSOLD (units)",
];

/// Whether a rendered cell is a zero ("0", "0.000", "0.0%").
fn is_zero(cell: &str) -> bool {
    cell.trim_end_matches('%').parse::<f64>() == Ok(0.0)
}

/// The comparison as a grid of cells, for the text table and the HTML report alike.
pub struct Grid {
    /// Row labels: "variant", "page source", the metrics shown, then one `check NAME` per check.
    pub labels: Vec<String>,
    /// One column per variant, a cell per label.
    pub columns: Vec<Vec<String>>,
    /// How many metric rows follow the two header rows (the check rows come after them).
    pub metric_rows: usize,
    /// Notes under the table.
    pub footnotes: Vec<String>,
}

/// Builds the comparison. Rows that are zero in every variant are left out (they are in the
/// JSON), so each scenario's table shows what it is about; a footnote says how many.
pub fn comparison(report: &RunReport) -> Grid {
    let values: Vec<Vec<String>> = report
        .variants
        .iter()
        .map(|v| ROWS.iter().map(|(_, f)| f(&v.metrics)).collect())
        .collect();
    let shown: Vec<usize> = (0..ROWS.len())
        .filter(|&r| ALWAYS.contains(&ROWS[r].0) || values.iter().any(|col| !is_zero(&col[r])))
        .collect();
    // One row per check, in order of first appearance: its verdict in each variant.
    let mut check_names: Vec<&str> = Vec::new();
    for v in &report.variants {
        for c in &v.checks {
            if !check_names.contains(&c.result.name) {
                check_names.push(c.result.name);
            }
        }
    }
    let labels: Vec<String> = ["variant", "page source"]
        .into_iter()
        .chain(shown.iter().map(|&r| ROWS[r].0))
        .map(str::to_string)
        .chain(check_names.iter().map(|n| format!("check {n}")))
        .collect();
    let columns: Vec<Vec<String>> = report
        .variants
        .iter()
        .zip(&values)
        .map(|(v, col)| {
            let mut cells = vec![v.name.clone(), v.page.to_string()];
            cells.extend(shown.iter().map(|&r| col[r].clone()));
            cells.extend(check_names.iter().map(|&n| {
                v.checks
                    .iter()
                    .find(|c| c.result.name == n)
                    .map_or("-".to_string(), |c| {
                        let verdict = match c.result.status {
                            Status::Pass => "pass",
                            Status::Fail => "FAIL",
                            Status::Unknown => "unknown",
                        };
                        let mark = if c.required.is_some() { "*" } else { "" };
                        format!("{verdict}{mark}")
                    })
            }));
            cells
        })
        .collect();
    let mut footnotes = Vec::new();
    if report
        .variants
        .iter()
        .any(|v| v.checks.iter().any(|c| c.required.is_some()))
    {
        footnotes.push("(* required by the scenario: the run fails unless it passes)".to_string());
    }
    let hidden = ROWS.len() - shown.len();
    if hidden > 0 {
        footnotes.push(format!(
            "({hidden} rows that are 0 in every variant are not shown; --format json has every figure)"
        ));
    }
    Grid {
        labels,
        columns,
        metric_rows: shown.len(),
        footnotes,
    }
}

/// Renders the comparison table as text, columns aligned.
pub fn render_table(report: &RunReport) -> String {
    let grid = comparison(report);
    let label_width = grid.labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let widths: Vec<usize> = grid
        .columns
        .iter()
        .map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let has_checks = grid.labels.len() > 2 + grid.metric_rows;
    let mut out = String::new();
    for (i, label) in grid.labels.iter().enumerate() {
        out.push_str(&format!("{label:<label_width$}"));
        for (col, w) in grid.columns.iter().zip(&widths) {
            out.push_str(&format!("  {:>w$}", col[i], w = *w));
        }
        out.push('\n');
        if i == 1 || (i == 1 + grid.metric_rows && has_checks) {
            let total = label_width + widths.iter().map(|w| w + 2).sum::<usize>();
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    for note in &grid.footnotes {
        out.push_str(note);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_cells_are_recognised_in_every_format() {
        assert!(is_zero("0") && is_zero("0.000") && is_zero("0.0%"));
        assert!(!is_zero("0.001") && !is_zero("-3") && !is_zero("100.0%") && !is_zero("replica"));
    }
}
