//! From the runs of a sweep to one summary per variant and grid point, in canonical order.

use std::collections::BTreeMap;

use super::stats::Summary;
use super::{Job, RunFigures, SweepError, SweepSpec};

/// One variant at one grid point: every figure summarised over the seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Index into the spec's variants.
    pub variant: usize,
    /// The grid point (see [`SweepSpec::point_values`]).
    pub point: usize,
    /// Every figure the runs gave, by key (sorted).
    pub metrics: BTreeMap<String, Summary>,
}

/// A finished sweep: its spec and its cells, variant by variant, each over the grid points in
/// order.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    pub spec: SweepSpec,
    pub cells: Vec<Cell>,
}

impl SweepResult {
    /// The cell of a variant (by index) at a grid point.
    pub fn cell(&self, variant: usize, point: usize) -> &Cell {
        &self.cells[variant * self.spec.points() + point]
    }
}

/// Aggregates `runs` (every run of the sweep, in any order) into a [`SweepResult`]. Each figure's
/// values are taken in seed order, so the sums, and so the result, are the same bits whatever
/// order the runs finished in.
pub fn aggregate(spec: SweepSpec, mut runs: Vec<RunFigures>) -> Result<SweepResult, SweepError> {
    runs.sort_by_key(|r| r.job);
    let complete = runs.len() == spec.jobs() && runs.iter().enumerate().all(|(i, r)| r.job == i);
    if !complete {
        return Err(SweepError::Merge(format!(
            "the sweep has {} runs but {} distinct runs were given",
            spec.jobs(),
            runs.len()
        )));
    }
    let mut cells = Vec::with_capacity(spec.variants.len() * spec.points());
    for variant in 0..spec.variants.len() {
        for point in 0..spec.points() {
            let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for seed_index in 0..spec.seeds {
                let run = &runs[spec.index(Job {
                    point,
                    seed_index,
                    variant,
                })];
                for (key, &x) in &run.figures {
                    values.entry(key.as_str()).or_default().push(x);
                }
            }
            let metrics = values
                .into_iter()
                .filter_map(|(k, v)| Summary::of(&v).map(|s| (k.to_string(), s)))
                .collect();
            cells.push(Cell {
                variant,
                point,
                metrics,
            });
        }
    }
    Ok(SweepResult { spec, cells })
}
