//! The side-by-side comparison table: one column per variant, one row per key metric, units in
//! the row labels.

use super::json::RunReport;
use crate::check::Status;
use crate::model::metrics::Metrics;
use crate::scenario::ReportView;

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
    /// Row labels: "variant", (full layout) "page source", the metrics shown, then one
    /// `check NAME` per check.
    pub labels: Vec<String>,
    /// Each row's key: the figure's JSON key, or the check's name.
    pub keys: Vec<String>,
    /// Whether a non-zero cell in the row is bad (a figure that should be zero).
    pub bad: Vec<bool>,
    /// One column per variant, a cell per label.
    pub columns: Vec<Vec<String>>,
    /// Rows before the metrics: the variant names, and in the full layout the page source.
    pub header_rows: usize,
    /// How many metric rows follow the header rows (the check rows come after them).
    pub metric_rows: usize,
    /// Rows equal in every variant, folded: "label value".
    pub same: Vec<String>,
    /// Checks with one verdict in every variant: "pass in every variant: a, b".
    pub same_checks: Vec<String>,
    /// The scenario's lesson, above the table (may be empty).
    pub lesson: String,
    /// Notes under the table.
    pub footnotes: Vec<String>,
}

/// Which rows the table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// The rows that answer the scenario's question (its `[report] rows`, or the headline rows
    /// that are not zero everywhere); rows equal in every variant folded into one line.
    #[default]
    Class,
    /// Every row that is not zero in every variant, unfolded.
    Full,
}

/// The rows of the class-sized table when the scenario names none: the figures that judge a
/// strategy. Rows zero in every variant drop out, so each kind of scenario keeps its own.
const HEADLINE: &[&str] = &[
    "orders_confirmed",
    "orders_failed",
    "oversold_units",
    "stale_checkout_reads",
    "replica_lag_ms_p99",
    "checkout_latency_ms_p99",
    "checkout_retries",
    "lock_wait_ms_p99",
    "primary_utilisation",
    "stale_price_views",
    "orders_at_wrong_price",
    "availability",
    "lag_alerts",
    "alert_detect_delay_ms",
    "ryw_violations",
    "monotonic_read_violations",
    "profile_read_ms_p99",
    "saga.sagas_completed",
    "saga.sagas_compensated",
    "saga.sagas_stuck",
    "saga.leaked_units",
    "saga.charged_without_order",
    "saga.double_charges",
    "saga.inconsistency_window_ms_p99",
    "saga.lock_wait_ms_p99",
];

/// Context given once, in the folded line, when equal in every variant.
const CONTEXT: &[&str] = &["shoppers", "checkouts"];

/// Builds the comparison for `layout`. Rows that are zero in every variant are left out (they
/// are in the JSON), so each scenario's table shows what it is about; a footnote says how many.
pub fn comparison(report: &RunReport, layout: Layout) -> Grid {
    let full = full_grid(report);
    match layout {
        Layout::Full => full,
        Layout::Class => fold(full, &report.view),
    }
}

/// Folds the full grid into the class-sized one: the chosen rows that differ between variants,
/// then the checks that differ; what is equal everywhere goes into `same`.
fn fold(full: Grid, view: &ReportView) -> Grid {
    let chosen: Vec<&str> = if view.rows.is_empty() {
        CONTEXT.iter().chain(HEADLINE).copied().collect()
    } else {
        CONTEXT
            .iter()
            .copied()
            .chain(view.rows.iter().map(String::as_str))
            .collect()
    };
    let row_of = |i: usize| -> Vec<&String> { full.columns.iter().map(|c| &c[i]).collect() };
    let equal = |i: usize| row_of(i).windows(2).all(|w| w[0] == w[1]);
    let mut keep = vec![0];
    let mut same = Vec::new();
    let metric_end = 2 + full.metric_rows;
    // The page source, then the chosen rows, in the order the scenario names them.
    let mut order: Vec<usize> = vec![1];
    for key in &chosen {
        if let Some(i) = (2..metric_end).find(|&i| full.keys[i] == *key) {
            order.push(i);
        }
    }
    for &i in &order {
        let single = full.columns.len() == 1 && CONTEXT.contains(&full.keys[i].as_str());
        if (equal(i) && full.columns.len() > 1) || single {
            same.push(format!("{} {}", full.labels[i], full.columns[0][i]));
        } else {
            keep.push(i);
        }
    }
    let metric_rows = keep.len() - 1;
    let mut verdicts: Vec<(String, Vec<String>)> = Vec::new();
    for i in metric_end..full.labels.len() {
        if equal(i) && full.columns.len() > 1 {
            let verdict = full.columns[0][i].clone();
            let name = full.labels[i].trim_start_matches("check ").to_string();
            match verdicts.iter_mut().find(|(v, _)| *v == verdict) {
                Some((_, names)) => names.push(name),
                None => verdicts.push((verdict, vec![name])),
            }
        } else {
            keep.push(i);
        }
    }
    let hidden = (metric_end - 2) - (order.len() - 1);
    let mut footnotes: Vec<String> = full
        .footnotes
        .iter()
        .filter(|n| n.starts_with("(*"))
        .cloned()
        .collect();
    if hidden > 0 {
        footnotes.push(format!(
            "({hidden} more rows with --rows all; --format json has every figure)"
        ));
    }
    let pick = |v: &Vec<String>| keep.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    Grid {
        labels: pick(&full.labels),
        keys: pick(&full.keys),
        bad: keep.iter().map(|&i| full.bad[i]).collect(),
        columns: full.columns.iter().map(pick).collect(),
        header_rows: 1,
        metric_rows,
        same,
        same_checks: verdicts
            .into_iter()
            .map(|(v, names)| format!("{v} in every variant: {}", names.join(", ")))
            .collect(),
        lesson: view.lesson.clone(),
        footnotes,
    }
}

/// Every figure of every variant, as today's full table shows them.
fn full_grid(report: &RunReport) -> Grid {
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
    let check_names = check_names(report);
    let labels: Vec<String> = ["variant", "page source"]
        .into_iter()
        .chain(shown.iter().map(|&r| ROWS[r].label))
        .map(str::to_string)
        .chain(check_names.iter().map(|n| format!("check {n}")))
        .collect();
    let keys: Vec<String> = ["variant", "page_source"]
        .into_iter()
        .chain(shown.iter().map(|&r| ROWS[r].key))
        .chain(check_names.iter().copied())
        .map(str::to_string)
        .collect();
    let bad: Vec<bool> = [false, false]
        .into_iter()
        .chain(shown.iter().map(|&r| BAD.contains(&ROWS[r].key)))
        .chain(check_names.iter().map(|_| false))
        .collect();
    let columns: Vec<Vec<String>> = report
        .variants
        .iter()
        .zip(&values)
        .map(|(v, col)| {
            let mut cells = vec![v.name.clone(), v.page.to_string()];
            cells.extend(shown.iter().map(|&r| col[r].clone()));
            cells.extend(check_names.iter().map(|&n| verdict(v, n)));
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
        keys,
        bad,
        columns,
        header_rows: 2,
        metric_rows: shown.len(),
        same: Vec::new(),
        same_checks: Vec::new(),
        lesson: String::new(),
        footnotes,
    }
}

/// Figures that should be zero: a cell that is not is bad (the HTML colours it).
const BAD: &[&str] = &[
    "oversold_units",
    "stale_checkout_reads",
    "orders_at_wrong_price",
    "ryw_violations",
    "monotonic_read_violations",
    "saga.sagas_stuck",
    "saga.leaked_units",
    "saga.charged_without_order",
    "saga.double_charges",
];

/// One row per check, in order of first appearance.
fn check_names(report: &RunReport) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for v in &report.variants {
        for c in &v.checks {
            if !names.contains(&c.result.name) {
                names.push(c.result.name);
            }
        }
    }
    names
}

/// A variant's verdict for check `name`: `pass`, `FAIL`, `unknown`, `*` when required, `-` when
/// not run.
fn verdict(v: &super::json::VariantReport, name: &str) -> String {
    v.checks
        .iter()
        .find(|c| c.result.name == name)
        .map_or("-".to_string(), |c| {
            let verdict = match c.result.status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Unknown => "unknown",
            };
            let mark = if c.required.is_some() { "*" } else { "" };
            format!("{verdict}{mark}")
        })
}

/// The widest a table may be: a terminal or a projected slide.
const MAX_WIDTH: usize = 100;

/// Renders the comparison table as text, columns aligned. The class layout breaks variant
/// names at their hyphens over two header lines, so that seven variants fit in 100 columns.
pub fn render_table(report: &RunReport, layout: Layout, transpose: bool) -> String {
    let grid = comparison(report, layout);
    let mut out = String::new();
    if !grid.lesson.is_empty() {
        out += &wrap(&format!("lesson: {}", grid.lesson), MAX_WIDTH, "  ");
        out.push_str("\n\n");
    }
    if transpose {
        out += &render_transposed(&grid);
    } else {
        out += &render_grid(&grid);
    }
    if !grid.same.is_empty() {
        out += &wrap(
            &format!("same in every variant: {}", grid.same.join(", ")),
            MAX_WIDTH,
            "  ",
        );
        out.push('\n');
    }
    for line in &grid.same_checks {
        out += &wrap(&format!("checks {line}"), MAX_WIDTH, "  ");
        out.push('\n');
    }
    for note in &grid.footnotes {
        out.push_str(note);
        out.push('\n');
    }
    out
}

/// The header lines of a column: its name as one line (full layout), or broken at hyphens
/// into lines no wider than the column's cells need.
fn header_lines(name: &str, cells: usize, split: bool) -> Vec<String> {
    if !split {
        return vec![name.to_string()];
    }
    let width = cells.max(name.split('-').map(str::len).max().unwrap_or(0));
    let mut lines: Vec<String> = Vec::new();
    for part in name.split('-') {
        match lines.last_mut() {
            Some(last) if last.len() + 1 + part.len() <= width => {
                last.push('-');
                last.push_str(part);
            }
            _ => lines.push(part.to_string()),
        }
    }
    lines
}

fn render_grid(grid: &Grid) -> String {
    let split = grid.header_rows == 1;
    let body = grid.header_rows..grid.labels.len();
    let cell_width = |c: &Vec<String>| {
        c[body.clone()]
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let heads: Vec<Vec<String>> = grid
        .columns
        .iter()
        .map(|c| header_lines(&c[0], cell_width(c), split))
        .collect();
    let widths: Vec<usize> = grid
        .columns
        .iter()
        .zip(&heads)
        .map(|(c, h)| cell_width(c).max(h.iter().map(String::len).max().unwrap_or(0)))
        .collect();
    let label_width = grid.labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let total = label_width + widths.iter().map(|w| w + 2).sum::<usize>();
    let depth = heads.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = String::new();
    for line in 0..depth {
        let label = if line + 1 == depth {
            grid.labels[0].as_str()
        } else {
            ""
        };
        out.push_str(&format!("{label:<label_width$}"));
        for (h, w) in heads.iter().zip(&widths) {
            // Names sit on the bottom lines, so a one-line name lines up with the others' ends.
            let at = (line + h.len()).checked_sub(depth);
            let text = at.map_or("", |i| h[i].as_str());
            out.push_str(&format!("  {text:>w$}"));
        }
        out.push('\n');
    }
    if grid.header_rows == 1 {
        out.push_str(&"-".repeat(total));
        out.push('\n');
    }
    let has_checks = grid.labels.len() > grid.header_rows + grid.metric_rows;
    for (i, label) in grid.labels.iter().enumerate().skip(1) {
        out.push_str(&format!("{label:<label_width$}"));
        for (col, w) in grid.columns.iter().zip(&widths) {
            out.push_str(&format!("  {:>w$}", col[i], w = *w));
        }
        out.push('\n');
        let end_of_metrics = i + 1 == grid.header_rows + grid.metric_rows;
        if i + 1 == grid.header_rows || (end_of_metrics && has_checks) {
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// The grid turned: one row per variant, one column per figure (labels broken at spaces).
fn render_transposed(grid: &Grid) -> String {
    let name_width = grid
        .columns
        .iter()
        .map(|c| c[0].len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut heads: Vec<Vec<String>> = Vec::new();
    let mut widths = Vec::new();
    for i in 1..grid.labels.len() {
        let cells = grid
            .columns
            .iter()
            .map(|c| c[i].chars().count())
            .max()
            .unwrap_or(0);
        let width = cells
            .max(grid.labels[i].split(' ').map(str::len).max().unwrap_or(0))
            .max(8);
        heads.push(
            wrap(&grid.labels[i], width, "")
                .lines()
                .map(str::to_string)
                .collect(),
        );
        widths.push(width);
    }
    let depth = heads.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = String::new();
    for line in 0..depth {
        let first = if line + 1 == depth { "variant" } else { "" };
        out.push_str(&format!("{first:<name_width$}"));
        for (h, w) in heads.iter().zip(&widths) {
            let at = (line + h.len()).checked_sub(depth);
            out.push_str(&format!(
                "  {:>w$}",
                at.map_or("", |i| h[i].as_str()),
                w = *w
            ));
        }
        out.push('\n');
    }
    let total = name_width + widths.iter().map(|w| w + 2).sum::<usize>();
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for col in &grid.columns {
        out.push_str(&format!("{:<name_width$}", col[0]));
        for (cell, w) in col[1..].iter().zip(&widths) {
            out.push_str(&format!("  {cell:>w$}"));
        }
        out.push('\n');
    }
    out
}

/// Wraps text at `width` columns at spaces, continuation lines indented by `indent` (no final
/// newline): the narration's sentences and the table's lesson and folded lines.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if !line.is_empty() && line != indent {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_wrap_at_the_width_with_an_indent() {
        let w = wrap("one two three four five", 11, "  ");
        assert_eq!(w, "one two\n  three\n  four five");
        assert!(w.lines().all(|l| l.chars().count() <= 11));
        assert_eq!(wrap("one two", 80, "  "), "one two");
    }

    #[test]
    fn zero_cells_are_recognised_in_every_format() {
        assert!(is_zero("0") && is_zero("0.000") && is_zero("0.0%") && is_zero(NEVER));
        assert!(!is_zero("0.001") && !is_zero("-3") && !is_zero("100.0%") && !is_zero("replica"));
    }
}
