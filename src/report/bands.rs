//! Results over several seeds (`lagsim run --seeds N`): every figure's mean and 95% interval per
//! variant, and each variant's paired difference from a baseline variant.
//!
//! The variants of one seed share their shoppers and every random draw (common random numbers),
//! so a difference taken seed by seed cancels what the variants share: its interval is the
//! precision of the comparison, much tighter than two bands side by side.
//!
//! The statistics are the sweep's ([`Summary`]: Student's t over the seeds, in seed order, so the
//! same bits for any number of threads); this module owns what is compared and how it is shown.

use std::collections::BTreeMap;

use serde::Serialize;

use super::json::VariantReport;
use super::table::ROWS;
use crate::check::CheckEntry;
use crate::model::metrics::Metrics;
use crate::sweep::Summary;

/// Everything one `lagsim run --seeds N` produced.
#[derive(Clone, Debug, Serialize)]
pub struct BandReport {
    pub lagsim_version: &'static str,
    pub scenario: String,
    /// The seeds, in order: the first, then the next ones.
    pub seeds: Vec<u64>,
    /// The variant the paired differences are taken from.
    pub baseline: String,
    /// The command that reproduces these runs exactly.
    pub reproduce: String,
    pub variants: Vec<VariantBand>,
}

/// One variant over the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct VariantBand {
    pub name: String,
    pub checkout: &'static str,
    pub page: &'static str,
    /// Every numeric figure ([`Metrics::numbers`]) over the seeds.
    pub summary: BTreeMap<String, Summary>,
    /// Each figure minus the baseline's, seed by seed, over the seeds; `null` for the baseline.
    pub paired: Option<BTreeMap<String, Summary>>,
    /// Every seed's run, in seed order.
    pub runs: Vec<SeedRun>,
}

/// One seed's run of a variant.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    pub seed: u64,
    pub trace_hash: String,
    pub events: u64,
    pub metrics: Metrics,
    #[serde(skip)]
    pub checks: Vec<CheckEntry>,
}

impl BandReport {
    /// The bands of `runs` (per variant, one report per seed of `seeds`, in seed order), with
    /// paired differences from variant `baseline` (an index into `runs`).
    pub fn new(
        scenario: &str,
        seeds: Vec<u64>,
        reproduce: String,
        runs: Vec<Vec<VariantReport>>,
        baseline: usize,
    ) -> Self {
        let figures: Vec<Vec<BTreeMap<String, f64>>> = runs
            .iter()
            .map(|seeds| {
                seeds
                    .iter()
                    .map(|r| r.metrics.numbers().into_iter().collect())
                    .collect()
            })
            .collect();
        let base = &figures[baseline];
        let variants = runs
            .into_iter()
            .zip(&figures)
            .enumerate()
            .map(|(i, (reports, mine))| {
                let paired = (i != baseline).then(|| summarise(mine, Some(base)));
                band(reports, &seeds, summarise(mine, None), paired)
            })
            .collect::<Vec<_>>();
        Self {
            lagsim_version: env!("CARGO_PKG_VERSION"),
            scenario: scenario.to_string(),
            seeds,
            baseline: variants[baseline].name.clone(),
            reproduce,
            variants,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises")
    }
}

fn band(
    reports: Vec<VariantReport>,
    seeds: &[u64],
    summary: BTreeMap<String, Summary>,
    paired: Option<BTreeMap<String, Summary>>,
) -> VariantBand {
    let first = &reports[0];
    let (name, checkout, page) = (first.name.clone(), first.checkout, first.page);
    VariantBand {
        name,
        checkout,
        page,
        summary,
        paired,
        runs: reports
            .into_iter()
            .zip(seeds)
            .map(|(r, &seed)| SeedRun {
                seed,
                trace_hash: r.trace_hash,
                events: r.events,
                metrics: r.metrics,
                checks: r.checks,
            })
            .collect(),
    }
}

/// Each figure over the seeds (`minus`: seed by seed, less the baseline's).
fn summarise(
    mine: &[BTreeMap<String, f64>],
    minus: Option<&Vec<BTreeMap<String, f64>>>,
) -> BTreeMap<String, Summary> {
    let keys: Vec<&String> = mine[0].keys().collect();
    keys.into_iter()
        .filter_map(|k| {
            let values: Vec<f64> = (0..mine.len())
                .map(|s| {
                    let x = mine[s].get(k).copied().unwrap_or(0.0);
                    x - minus.map_or(0.0, |b| b[s].get(k).copied().unwrap_or(0.0))
                })
                .collect();
            Summary::of(&values).map(|s| (k.clone(), s))
        })
        .collect()
}

/// Renders the bands as text: the comparison's rows, each cell a mean ± its 95% interval, then
/// the paired differences from the baseline.
pub fn render_bands(report: &BandReport) -> String {
    let means = |v: &VariantBand, paired: bool| -> Vec<(f64, f64)> {
        let table = if paired {
            v.paired.as_ref()
        } else {
            Some(&v.summary)
        };
        ROWS.iter()
            .map(|r| {
                table
                    .and_then(|t| t.get(r.key))
                    .map_or((0.0, 0.0), |s| (s.mean, s.ci95))
            })
            .collect()
    };
    let values: Vec<Vec<(f64, f64)>> = report.variants.iter().map(|v| means(v, false)).collect();
    let shown: Vec<usize> = (0..ROWS.len())
        .filter(|&r| values.iter().any(|col| col[r].0 != 0.0))
        .collect();
    let mut labels = vec!["variant".to_string()];
    labels.extend(shown.iter().map(|&r| ROWS[r].label.to_string()));
    let column = |v: &VariantBand, cells: &[(f64, f64)], dash: bool| -> Vec<String> {
        let mut c = vec![v.name.clone()];
        c.extend(shown.iter().map(|&r| match dash {
            true => "-".to_string(),
            false => ROWS[r].format.write_band(cells[r].0, cells[r].1),
        }));
        c
    };
    let bands: Vec<Vec<String>> = report
        .variants
        .iter()
        .zip(&values)
        .map(|(v, cells)| column(v, cells, false))
        .collect();
    let paired: Vec<Vec<String>> = report
        .variants
        .iter()
        .map(|v| column(v, &means(v, true), v.paired.is_none()))
        .collect();
    let mut out = aligned(&labels, &bands);
    out += &format!(
        "\ndifference from {} on the same seeds (paired: mean ± 95% interval)\n",
        report.baseline
    );
    out += &aligned(&labels, &paired);
    out
}

/// Columns of cells under their labels, right-aligned, a rule under the header row.
fn aligned(labels: &[String], columns: &[Vec<String>]) -> String {
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, label) in labels.iter().enumerate() {
        out += &format!("{label:<label_width$}");
        for (col, w) in columns.iter().zip(&widths) {
            out += &format!("  {:>w$}", col[i], w = *w);
        }
        out.push('\n');
        if i == 0 {
            out += &"-".repeat(label_width + widths.iter().map(|w| w + 2).sum::<usize>());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, oversold: &[i64]) -> Vec<VariantReport> {
        oversold
            .iter()
            .map(|&o| VariantReport {
                name: name.to_string(),
                checkout: "replica-read",
                page: "replica",
                trace_hash: String::new(),
                events: 0,
                end_s: 0.0,
                metrics: Metrics {
                    oversold_units: o,
                    shoppers: 100,
                    ..Metrics::default()
                },
                checks: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn paired_differences_cancel_what_the_seeds_share() {
        // Two variants whose oversells move together from seed to seed: their bands overlap, but
        // the difference is always 10.
        let runs = vec![report("a", &[50, 70, 60]), report("b", &[40, 60, 50])];
        let r = BandReport::new("s", vec![1, 2, 3], String::new(), runs, 0);
        let a = &r.variants[0].summary["oversold_units"];
        assert_eq!((a.n, a.mean), (3, 60.0));
        assert!(a.ci95 > 20.0, "{}", a.ci95);
        let d = &r.variants[1].paired.as_ref().unwrap()["oversold_units"];
        assert_eq!((d.mean, d.sd, d.ci95), (-10.0, 0.0, 0.0));
        assert!(r.variants[0].paired.is_none());
        let text = render_bands(&r);
        assert!(text.contains("-10.0 ± 0.0"), "{text}");
        assert!(text.contains("60.0 ± "), "{text}");
        assert_eq!(r.variants[1].runs[2].seed, 3);
    }
}
