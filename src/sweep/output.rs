//! A sweep's result as people and programs read it: a table of chosen figures, and CSV and JSON
//! documents with every figure's n, mean, sd and ci95 (every key: docs/output-reference.md,
//! "Sweeps").

use serde_json::{Map, Value, json};

use super::result::SweepResult;
use super::stats::Summary;

/// The figures the table shows unless `--metric` chooses others.
pub const DEFAULT_METRICS: [&str; 4] = [
    "oversold_units",
    "orders_failed",
    "checkout_latency_ms_p99",
    "replica_lag_ms_max",
];

/// The sweep's result as a JSON document (`lagsim sweep --format json`), with a final newline.
pub fn to_json(result: &SweepResult) -> String {
    let spec = &result.spec;
    let results: Vec<Value> = result
        .cells
        .iter()
        .map(|c| {
            let point: Map<String, Value> = spec
                .parameters
                .iter()
                .zip(spec.point_values(c.point))
                .map(|(p, v)| (p.path.clone(), v.to_json()))
                .collect();
            let metrics: Map<String, Value> = c
                .metrics
                .iter()
                .map(|(k, s)| (k.clone(), serde_json::to_value(s).expect("plain data")))
                .collect();
            json!({
                "variant": spec.variants[c.variant].name,
                "point": point,
                "metrics": metrics,
            })
        })
        .collect();
    let doc = json!({
        "lagsim_version": env!("CARGO_PKG_VERSION"),
        "sweep": spec,
        "runs": spec.jobs(),
        "reproduce": spec.reproduce(),
        "results": results,
    });
    serde_json::to_string_pretty(&doc).expect("plain data") + "\n"
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The sweep's result as CSV (`--format csv`): one row per variant, grid point and figure, with
/// a header `variant,<parameter paths…>,metric,n,mean,sd,ci95`.
pub fn to_csv(result: &SweepResult) -> String {
    let spec = &result.spec;
    let mut header = vec!["variant".to_string()];
    header.extend(spec.parameters.iter().map(|p| csv_field(&p.path)));
    header.extend(["metric", "n", "mean", "sd", "ci95"].map(String::from));
    let mut out = header.join(",") + "\n";
    for c in &result.cells {
        let mut lead = vec![csv_field(&spec.variants[c.variant].name)];
        lead.extend(
            spec.point_values(c.point)
                .iter()
                .map(|v| csv_field(&v.label())),
        );
        let lead = lead.join(",");
        for (k, s) in &c.metrics {
            out += &format!(
                "{lead},{},{},{},{},{}\n",
                csv_field(k),
                s.n,
                s.mean,
                s.sd,
                s.ci95
            );
        }
    }
    out
}

/// Decimals for a figure of magnitude `x` in the table.
fn decimals(x: f64) -> usize {
    match x.abs() {
        x if x >= 1000.0 => 0,
        x if x >= 10.0 => 1,
        x if x >= 1.0 => 2,
        _ => 3,
    }
}

/// `mean ± ci95` as the table shows it.
pub fn format_summary(s: &Summary) -> String {
    if s.ci95 == 0.0 && s.mean.fract() == 0.0 {
        return format!("{:.0} ± 0", s.mean);
    }
    let d = decimals(s.mean.abs().max(s.ci95));
    format!("{:.d$} ± {:.d$}", s.mean, s.ci95)
}

/// The table (`--format table`): per variant and grid point, `mean ± ci95` of each of
/// `metrics`, then the command that reproduces the sweep.
pub fn render_table(result: &SweepResult, metrics: &[String]) -> String {
    let spec = &result.spec;
    let last_seed = spec.seed_base.wrapping_add(u64::from(spec.seeds) - 1);
    let mut out = format!(
        "sweep: {}   {} × {} × {} = {} runs   seeds {} to {}\n",
        spec.scenario,
        plural(spec.variants.len(), "variant"),
        plural(spec.points(), "grid point"),
        plural(spec.seeds as usize, "seed"),
        spec.jobs(),
        spec.seed_base,
        last_seed
    );
    out += "each cell: mean ± half-width of its 95% confidence interval over the seeds\n\n";

    let mut header: Vec<String> = vec!["variant".into()];
    header.extend(spec.parameters.iter().map(|p| p.path.clone()));
    header.extend(metrics.iter().cloned());
    let mut rows: Vec<Option<Vec<String>>> = Vec::new();
    for (i, c) in result.cells.iter().enumerate() {
        if i > 0 && c.variant != result.cells[i - 1].variant {
            rows.push(None);
        }
        let mut row = vec![spec.variants[c.variant].name.clone()];
        row.extend(spec.point_values(c.point).iter().map(|v| v.label()));
        row.extend(metrics.iter().map(|m| match c.metrics.get(m) {
            Some(s) => format_summary(s),
            None => "-".to_string(),
        }));
        rows.push(Some(row));
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|j| {
            rows.iter()
                .flatten()
                .map(|r| r[j].chars().count())
                .chain([header[j].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (j, cell) in cells.iter().enumerate() {
            let w = widths[j];
            if j == 0 {
                s += &format!("{cell:<w$}");
            } else {
                s += &format!("  {cell:>w$}");
            }
        }
        s.trim_end().to_string() + "\n"
    };
    out += &line(&header);
    out += &"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
    out += "\n";
    for r in &rows {
        match r {
            Some(r) => out += &line(r),
            None => out += "\n",
        }
    }
    if spec.seeds == 1 {
        out += "(one seed per point: no confidence interval, every ± is 0; use --seeds N)\n";
    }
    if metrics
        .iter()
        .any(|m| result.cells.iter().any(|c| !c.metrics.contains_key(m)))
    {
        out += "(- : the variant has no such figure, e.g. saga.* without a saga checkout)\n";
    }
    out += &format!(
        "(--format csv or json: every figure's n, mean, sd and ci95)\nreproduce: {}\n",
        spec.reproduce()
    );
    out
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_formatted_by_magnitude() {
        let s = |mean, ci95| Summary {
            n: 2,
            mean,
            sd: 0.0,
            ci95,
        };
        assert_eq!(format_summary(&s(0.0, 0.0)), "0 ± 0");
        assert_eq!(format_summary(&s(1500.0, 0.0)), "1500 ± 0");
        assert_eq!(format_summary(&s(7881.4, 120.2)), "7881 ± 120");
        assert_eq!(format_summary(&s(67.83, 2.1)), "67.8 ± 2.1");
        assert_eq!(format_summary(&s(2.5, 0.0)), "2.50 ± 0.00");
        assert_eq!(format_summary(&s(0.2, 12.7)), "0.2 ± 12.7");
        assert_eq!(format_summary(&s(0.0123, 0.001)), "0.012 ± 0.001");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
