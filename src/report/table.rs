//! The side-by-side comparison table: one column per variant, one row per key metric, units in
//! the row labels.

use super::json::RunReport;
use crate::check::Status;
use crate::model::metrics::Metrics;

/// One row of the comparison: its label (units in it), the figure's key in the JSON
/// ([`Metrics::numbers`]) and how a value is written.
pub struct Row {
    pub label: &'static str,
    pub key: &'static str,
    pub format: Format,
}

/// How a row's figure is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// A count.
    Int,
    /// Divided by `per`, with `decimals` decimals (ms shown as s: `per` 1000).
    Fixed { per: f64, decimals: usize },
    /// A ratio shown as a percentage with one decimal.
    Percent,
}

impl Format {
    /// One value, as the single-run table writes it.
    pub fn write(self, v: f64) -> String {
        match self {
            Format::Int => format!("{}", v as i128),
            Format::Fixed { per, decimals } => format!("{:.decimals$}", v / per),
            Format::Percent => format!("{:.1}%", v * 100.0),
        }
    }

    /// A mean and the half-width of its interval, in the row's unit (a mean that rounds to
    /// zero is written without a sign).
    pub fn write_band(self, mean: f64, half: f64) -> String {
        let (scale, decimals, unit) = match self {
            Format::Int => (1.0, 1, ""),
            Format::Fixed { per, decimals } => (1.0 / per, decimals, ""),
            Format::Percent => (100.0, 1, "%"),
        };
        let mut m = format!("{:.decimals$}", mean * scale);
        if m.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            m = m.trim_start_matches('-').to_string();
        }
        format!("{m}{unit} ± {:.decimals$}", half * scale)
    }
}

const fn row(label: &'static str, key: &'static str, format: Format) -> Row {
    Row { label, key, format }
}

const INT: Format = Format::Int;
const PCT: Format = Format::Percent;
/// ms shown as s with 3 decimals.
const S3: Format = Format::Fixed {
    per: 1e3,
    decimals: 3,
};
/// ms with 1 decimal.
const MS1: Format = Format::Fixed {
    per: 1.0,
    decimals: 1,
};

pub const ROWS: &[Row] = &[
    row("shoppers", "shoppers", INT),
    row("checkouts", "checkouts", INT),
    row("orders confirmed", "orders_confirmed", INT),
    row(
        "orders rejected (out of stock)",
        "orders_rejected_out_of_stock",
        INT,
    ),
    row("orders failed", "orders_failed", INT),
    row("stock initial (units)", "stock_initial", INT),
    row("units sold", "units_sold", INT),
    row("OVERSOLD (units)", "oversold_units", INT),
    row("stock final on primary", "stock_final_primary", INT),
    row("stale reads (page + checkout)", "stale_reads", INT),
    row("stale checkout reads", "stale_checkout_reads", INT),
    row("replica lag mean (s)", "replica_lag_ms_mean", S3),
    row("replica lag p99 (s)", "replica_lag_ms_p99", S3),
    row("replica lag max (s)", "replica_lag_ms_max", S3),
    row("checkout latency p50 (ms)", "checkout_latency_ms_p50", MS1),
    row("checkout latency p99 (ms)", "checkout_latency_ms_p99", MS1),
    row("optimistic retries", "checkout_retries", INT),
    row("lock waits", "lock_waits", INT),
    row("lock wait p99 (ms)", "lock_wait_ms_p99", MS1),
    row("primary queries", "primary_queries", INT),
    row("primary utilisation", "primary_utilisation", PCT),
    row("replica queries", "replica_queries", INT),
    row("cache hit ratio", "cache_hit_ratio", PCT),
    row("DB reads saved by the cache", "db_reads_saved", INT),
    row("stale price views", "stale_price_views", INT),
    row("stale stock badge views", "stale_badge_views", INT),
    row("orders at a wrong price", "orders_at_wrong_price", INT),
    row("request timeouts", "request_timeouts", INT),
    row("availability", "availability", PCT),
    row("max staleness of a read (s)", "max_staleness_ms", S3),
    row("converged after quiescence (s)", "converged_after_ms", S3),
    row("lag alerts", "lag_alerts", INT),
    row("alert detect delay mean (s)", "alert_detect_delay_ms", S3),
    row("profile reads", "profile_reads", INT),
    row("read-your-writes violations", "ryw_violations", INT),
    row(
        "monotonic read violations",
        "monotonic_read_violations",
        INT,
    ),
    row("profile reads on primary", "primary_read_share", PCT),
    row("profile read latency p99 (ms)", "profile_read_ms_p99", MS1),
    row("sagas completed", "saga.sagas_completed", INT),
    row("sagas compensated", "saga.sagas_compensated", INT),
    row("SAGAS STUCK", "saga.sagas_stuck", INT),
    row("leaked reservations (units)", "saga.leaked_units", INT),
    row(
        "charged without an order",
        "saga.charged_without_order",
        INT,
    ),
    row("double charges", "saga.double_charges", INT),
    row("refunds", "saga.refunds", INT),
    row(
        "inconsistency window p99 (s)",
        "saga.inconsistency_window_ms_p99",
        S3,
    ),
    row(
        "inconsistency window max (s)",
        "saga.inconsistency_window_ms_max",
        S3,
    ),
    row("prepares that waited for a lock", "saga.lock_waits", INT),
    row("lock wait p99 (s)", "saga.lock_wait_ms_p99", S3),
    row("lock held max (s)", "saga.lock_hold_ms_max", S3),
];

/// Every row's figure for one run's metrics, in row order (a saga figure is 0 for a variant
/// without sagas).
pub fn row_values(m: &Metrics) -> Vec<f64> {
    let numbers: std::collections::BTreeMap<String, f64> = m.numbers().into_iter().collect();
    ROWS.iter()
        .map(|r| numbers.get(r.key).copied().unwrap_or(0.0))
        .collect()
}

/// Rows shown even when every variant has 0 there: a zero in them is the point.
const ALWAYS: &[&str] = &[
    "shoppers",
    "orders confirmed",
    "orders failed",
    "OVERSOLD (units)",
];

/// The cell of a delay that never started (an alert delay where no alert was raised).
const NEVER: &str = "never";

/// The position of the row showing JSON key `key`.
fn row_index(key: &str) -> usize {
    ROWS.iter()
        .position(|r| r.key == key)
        .expect("the key has a row")
}

/// Whether a rendered cell is a zero ("0", "0.000", "0.0%"), or "never": nothing to show.
fn is_zero(cell: &str) -> bool {
    cell == NEVER || cell.trim_end_matches('%').parse::<f64>() == Ok(0.0)
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
    let alerts_row = row_index("lag_alerts");
    let values: Vec<Vec<String>> = report
        .variants
        .iter()
        .map(|v| {
            let numbers = row_values(&v.metrics);
            let alerted = numbers[alerts_row] > 0.0;
            ROWS.iter()
                .zip(numbers)
                .map(|(r, x)| match r.key {
                    // A mean over no alerts is no delay at all: say the monitor never alerted.
                    "alert_detect_delay_ms" if !alerted => NEVER.to_string(),
                    _ => r.format.write(x),
                })
                .collect()
        })
        .collect();
    let shown: Vec<usize> = (0..ROWS.len())
        .filter(|&r| ALWAYS.contains(&ROWS[r].label) || values.iter().any(|col| !is_zero(&col[r])))
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
        .chain(shown.iter().map(|&r| ROWS[r].label))
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
        assert!(is_zero("0") && is_zero("0.000") && is_zero("0.0%") && is_zero(NEVER));
        assert!(!is_zero("0.001") && !is_zero("-3") && !is_zero("100.0%") && !is_zero("replica"));
    }
}
