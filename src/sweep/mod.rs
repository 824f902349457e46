//! Sweeps: every variant of a scenario over a grid of one or two parameters and many seeds, run in
//! parallel, summarised per variant and grid point as mean, standard deviation and 95% confidence
//! interval of every figure (users' guide: docs/sweeps.md).
//!
//! Code map: `grid` reads the swept `--set`s (`path=A..B:STEPS`, `path=a,b,c`); [`SweepPlan`]
//! loads one scenario per grid point and numbers the runs (grid point × seed × variant, in that
//! canonical order) and runs any subset of them on `crate::run`'s threads; `stats` summarises a
//! figure over seeds; `result` aggregates runs into a [`SweepResult`] in canonical order, so the
//! figures are the same bits whatever the number of threads; `output` renders it as a table, CSV
//! or JSON; `shard` splits the runs into disjoint slices and merges the slices' files back.
//!
//! Runs in a sweep record no history, run no checker and write no trace: only their metrics are
//! kept, so memory stays bounded by the runs in flight.
//!
//! ```
//! use lagsim::sweep::{SweepPlan, SweepRequest, aggregate};
//!
//! let text = r#"
//!     name = "tiny"
//!     duration_s = 5
//!     [[replicas]]
//!     name = "replica-1"
//!     [traffic]
//!     profile = [{ at_s = 0, shoppers_per_s = 10 }]
//!     [[products]]
//!     name = "console"
//!     stock = 5
//!     [[variants]]
//!     name = "locked"
//!     checkout = "pessimistic-lock"
//! "#;
//! let sets = vec!["products[0].stock=2..8:3".to_string()];
//! let plan = SweepPlan::new(&SweepRequest {
//!     origin: "tiny.toml",
//!     text,
//!     sets: &sets,
//!     variants: &[],
//!     seed: Some(1),
//!     seeds: 3,
//! })
//! .expect("a valid sweep");
//! assert_eq!(plan.spec.jobs(), 9); // 3 grid points × 3 seeds × 1 variant
//! let runs = plan.run(&plan.spec.all_jobs(), 2, &|| {}).expect("the runs drain");
//! let result = aggregate(plan.spec.clone(), runs).expect("every run is there");
//! let oversold = &result.cells[0].metrics["oversold_units"];
//! assert_eq!((oversold.n, oversold.mean), (3, 0.0));
//! ```

mod grid;
mod output;
mod result;
mod shard;
mod stats;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::metrics::Metrics;
use crate::run::{Job as RunJob, Reproduce, in_parallel};
use crate::scenario::{Scenario, ScenarioError, parse_scenario};

pub use grid::{GridSpec, GridValue, MAX_STEPS, Num, Parameter, SweepSet, classify};
pub use output::{DEFAULT_METRICS, format_summary, render_table, to_csv, to_json};
pub use result::{Cell, SweepResult, aggregate};
pub use shard::{SHARD_FORMAT, Shard, ShardFile, merge};
pub use stats::{Summary, t_975};

/// Most parameters a sweep may sweep.
pub const MAX_PARAMETERS: usize = 2;
/// Most grid points a sweep may have.
pub const MAX_POINTS: usize = 10_000;
/// Most seeds per grid point.
pub const MAX_SEEDS: u32 = 100_000;

/// Why a sweep could not be planned, run or merged. Every kind is bad usage or input (exit 2).
#[derive(Debug)]
pub enum SweepError {
    /// A swept `--set` is malformed.
    Grid { set: String, message: String },
    /// The scenario (or a `--set`, swept or not) is invalid: the loader's own error.
    Scenario(ScenarioError),
    /// Anything else the command line asked for that cannot be done.
    Usage(String),
    /// A run failed (e.g. it did not drain before the horizon).
    Run(String),
    /// Shard files that cannot be merged.
    Merge(String),
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::Grid { set, message } => write!(f, "--set {set}: {message}"),
            SweepError::Scenario(e) => write!(f, "{e}"),
            SweepError::Usage(m) | SweepError::Run(m) | SweepError::Merge(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SweepError {}

impl From<ScenarioError> for SweepError {
    fn from(e: ScenarioError) -> Self {
        SweepError::Scenario(e)
    }
}

/// A variant of the sweep and its position in the scenario file (which picks its chart colour).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepVariant {
    pub name: String,
    pub colour_index: usize,
}

/// Everything that defines a sweep's runs: two sweeps with equal specs (and the same lagsim)
/// run exactly the same runs. Shard files carry it; merging checks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The scenario file as named on the command line (only for the `reproduce` line).
    pub file: String,
    pub scenario: String,
    /// FNV-1a 64 of the scenario file's bytes, in hex.
    pub scenario_hash: String,
    /// The plain `--set`s, applied in order to every run before the swept ones.
    pub sets: Vec<String>,
    /// The swept parameters (0 to 2); the first varies slowest.
    pub parameters: Vec<Parameter>,
    /// The variants run, in run order.
    pub variants: Vec<SweepVariant>,
    /// Whether the variants were chosen with `--variant` (otherwise: all of them).
    pub variants_chosen: bool,
    /// Seeds `seed_base`, `seed_base + 1`, … (`seeds` of them) at every grid point.
    pub seed_base: u64,
    pub seeds: u32,
}

/// One run of a sweep: which grid point, seed and variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub point: usize,
    /// The seed's position from `seed_base` (the seed is `seed_base + seed_index`).
    pub seed_index: u32,
    pub variant: usize,
}

impl SweepSpec {
    /// The number of grid points (1 without parameters).
    pub fn points(&self) -> usize {
        self.parameters.iter().map(|p| p.values.len()).product()
    }

    /// The value index of each parameter at grid point `point` (the first parameter varies
    /// slowest).
    pub fn point_indices(&self, point: usize) -> Vec<usize> {
        let mut rest = point;
        let mut out = vec![0; self.parameters.len()];
        for (i, p) in self.parameters.iter().enumerate().rev() {
            out[i] = rest % p.values.len();
            rest /= p.values.len();
        }
        out
    }

    /// The parameters' values at grid point `point`.
    pub fn point_values(&self, point: usize) -> Vec<&GridValue> {
        self.point_indices(point)
            .into_iter()
            .zip(&self.parameters)
            .map(|(i, p)| &p.values[i])
            .collect()
    }

    /// The grid point as `path=value` pairs, for messages.
    pub fn point_label(&self, point: usize) -> String {
        if self.parameters.is_empty() {
            return "the scenario as given".to_string();
        }
        self.point_values(point)
            .iter()
            .zip(&self.parameters)
            .map(|(v, p)| format!("{}={}", p.path, v.label()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The number of runs: grid points × seeds × variants.
    pub fn jobs(&self) -> usize {
        self.points() * self.seeds as usize * self.variants.len()
    }

    /// Every run's index, in canonical order.
    pub fn all_jobs(&self) -> Vec<usize> {
        (0..self.jobs()).collect()
    }

    /// The run at canonical index `index`: grid point, then seed, then variant.
    pub fn job(&self, index: usize) -> Job {
        let nv = self.variants.len();
        let ns = self.seeds as usize;
        Job {
            point: index / (ns * nv),
            seed_index: ((index / nv) % ns) as u32,
            variant: index % nv,
        }
    }

    /// The canonical index of a run.
    pub fn index(&self, job: Job) -> usize {
        (job.point * self.seeds as usize + job.seed_index as usize) * self.variants.len()
            + job.variant
    }

    /// A run's seed.
    pub fn seed(&self, job: Job) -> u64 {
        self.seed_base.wrapping_add(u64::from(job.seed_index))
    }

    /// A run in words, for messages.
    pub fn describe(&self, index: usize) -> String {
        let job = self.job(index);
        format!(
            "run {index} (variant `{}`, seed {}, {})",
            self.variants[job.variant].name,
            self.seed(job),
            self.point_label(job.point)
        )
    }

    /// The command line that runs this sweep again.
    pub fn reproduce(&self) -> String {
        let variants: Vec<String> = if self.variants_chosen {
            self.variants.iter().map(|v| v.name.clone()).collect()
        } else {
            Vec::new()
        };
        let swept = self
            .parameters
            .iter()
            .map(|p| format!("{}={}", p.path, p.grid));
        let sets: Vec<String> = self.sets.iter().cloned().chain(swept).collect();
        Reproduce {
            command: "sweep",
            file: &self.file,
            seed: self.seed_base,
            seeds: Some(self.seeds),
            variants: &variants,
            sets: &sets,
            ..Reproduce::default()
        }
        .line()
    }
}

/// FNV-1a 64 of `bytes`, in hex: the scenario's fingerprint in shard files.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What a sweep is asked to do, as the command line gives it.
#[derive(Clone, Copy, Debug)]
pub struct SweepRequest<'a> {
    /// The scenario file's name, for messages and the `reproduce` line.
    pub origin: &'a str,
    /// The scenario file's text.
    pub text: &'a str,
    /// Every `--set`, swept or not, in command-line order.
    pub sets: &'a [String],
    /// `--variant` names (empty: every variant, in file order).
    pub variants: &'a [String],
    /// `--seed`: the first seed (default: the scenario's `seed`, after the plain `--set`s).
    pub seed: Option<u64>,
    /// `--seeds`: seeds per grid point.
    pub seeds: u32,
}

/// A sweep ready to run: its spec and one loaded scenario per grid point.
#[derive(Debug)]
pub struct SweepPlan {
    pub spec: SweepSpec,
    /// The scenario at each grid point, and the positions of the sweep's variants in it.
    points: Vec<(Scenario, Vec<usize>)>,
}

/// The figures of one run, by [`Metrics::numbers`] key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    /// The run's canonical index.
    pub job: usize,
    /// The variant and seed (redundant with `job`, for people reading a shard file).
    pub variant: String,
    pub seed: u64,
    pub figures: BTreeMap<String, f64>,
}

impl SweepPlan {
    /// Reads the swept parameters, loads the scenario at every grid point (so that any bad path
    /// or value is reported before anything runs) and numbers the runs.
    pub fn new(req: &SweepRequest<'_>) -> Result<SweepPlan, SweepError> {
        let (plain, swept) = split_sets(req)?;
        let base = parse_scenario(req.origin, req.text, &plain)?;
        let seed_base = req.seed.unwrap_or(base.seed);
        let variants = select(&base, req.variants)?;
        let parameters = read_parameters(req, &plain, swept)?;
        let points: usize = parameters.iter().map(|p| p.values.len()).product();
        if points > MAX_POINTS {
            return Err(SweepError::Usage(format!(
                "the grid has {points} points; a sweep may have at most {MAX_POINTS}"
            )));
        }
        let spec = SweepSpec {
            file: req.origin.to_string(),
            scenario: base.name.clone(),
            scenario_hash: content_hash(req.text.as_bytes()),
            sets: plain,
            parameters,
            variants,
            variants_chosen: !req.variants.is_empty(),
            seed_base,
            seeds: req.seeds,
        };
        let mut loaded = Vec::with_capacity(points);
        for point in 0..points {
            let scenario = if spec.parameters.is_empty() {
                base.clone()
            } else {
                let mut sets = spec.sets.clone();
                for (i, p) in spec.point_indices(point).into_iter().zip(&spec.parameters) {
                    sets.push(p.set_for(i));
                }
                parse_scenario(req.origin, req.text, &sets)?
            };
            let positions = variant_positions(&spec, &scenario, point)?;
            loaded.push((scenario, positions));
        }
        Ok(SweepPlan {
            spec,
            points: loaded,
        })
    }

    /// Runs the runs whose canonical indices are `jobs` on a pool of `threads` threads, calling
    /// `done` after each. The figures come back in the order of `jobs`, whatever the threads. If
    /// runs fail, the error is that of the failing run with the lowest index (runs after a
    /// failure may be skipped).
    pub fn run(
        &self,
        jobs: &[usize],
        threads: usize,
        done: &(dyn Fn() + Sync),
    ) -> Result<Vec<RunFigures>, SweepError> {
        let mut out = Vec::with_capacity(jobs.len());
        in_parallel(
            jobs,
            threads,
            |_, &index| {
                let figures = self.run_one(index);
                done();
                figures
            },
            |figures| {
                out.push(figures);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// One run, by canonical index.
    fn run_one(&self, index: usize) -> Result<RunFigures, SweepError> {
        let job = self.spec.job(index);
        let (scenario, positions) = &self.points[job.point];
        let variant = &scenario.variants[positions[job.variant]];
        let seed = self.spec.seed(job);
        let run = RunJob::new(scenario, variant, seed).run().map_err(|e| {
            SweepError::Run(format!(
                "scenario `{}`, {}: {e}",
                self.spec.scenario,
                self.spec.describe(index)
            ))
        })?;
        Ok(RunFigures {
            job: index,
            variant: variant.name.clone(),
            seed,
            figures: run.metrics.numbers().into_iter().collect(),
        })
    }
}

/// A swept `--set`: as given, its path, its grid as written, and the grid read.
type SweptSet<'a> = (&'a String, String, String, GridSpec);

/// The request's plain `--set`s, in order, and its swept ones, checked: at most
/// [`MAX_PARAMETERS`], each path once, never the seed (and `--seeds` in range).
fn split_sets<'a>(req: &SweepRequest<'a>) -> Result<(Vec<String>, Vec<SweptSet<'a>>), SweepError> {
    let mut plain = Vec::new();
    let mut swept = Vec::new();
    for set in req.sets {
        match classify(set)? {
            SweepSet::Plain(s) => plain.push(s),
            SweepSet::Swept { path, grid, spec } => swept.push((set, path, grid, spec)),
        }
    }
    if swept.len() > MAX_PARAMETERS {
        let names: Vec<&str> = swept.iter().map(|s| s.1.as_str()).collect();
        return Err(SweepError::Usage(format!(
            "a sweep sweeps at most {MAX_PARAMETERS} parameters; {} are swept: {}",
            swept.len(),
            names.join(", ")
        )));
    }
    if !(1..=MAX_SEEDS).contains(&req.seeds) {
        return Err(SweepError::Usage(format!(
            "--seeds must be from 1 to {MAX_SEEDS}, found {}",
            req.seeds
        )));
    }
    for (i, (set, path, ..)) in swept.iter().enumerate() {
        if path == "seed" {
            return Err(SweepError::Grid {
                set: set.to_string(),
                message: "the seed is not a parameter: use --seed (the first seed) and \
                          --seeds (how many)"
                    .to_string(),
            });
        }
        if swept[..i].iter().any(|s| &s.1 == path) {
            return Err(SweepError::Grid {
                set: set.to_string(),
                message: format!("`{path}` is swept twice"),
            });
        }
    }
    Ok((plain, swept))
}

/// The swept parameters with their values (a range over an integer key gives integers).
fn read_parameters(
    req: &SweepRequest<'_>,
    plain: &[String],
    swept: Vec<SweptSet<'_>>,
) -> Result<Vec<Parameter>, SweepError> {
    let mut parameters = Vec::with_capacity(swept.len());
    for (set, path, grid, spec) in swept {
        let integer_key = spec.needs_key_type() && integer_key(req, plain, &path, &spec)?;
        let values = spec
            .values(integer_key)
            .map_err(|message| SweepError::Grid {
                set: set.clone(),
                message,
            })?;
        parameters.push(Parameter { path, grid, values });
    }
    Ok(parameters)
}

/// Where each of the sweep's variants is in the scenario loaded at grid point `point`.
fn variant_positions(
    spec: &SweepSpec,
    scenario: &Scenario,
    point: usize,
) -> Result<Vec<usize>, SweepError> {
    spec.variants
        .iter()
        .map(|v| {
            scenario
                .variants
                .iter()
                .position(|s| s.name == v.name)
                .ok_or_else(|| {
                    SweepError::Usage(format!(
                        "at {}, the scenario has no variant `{}`",
                        spec.point_label(point),
                        v.name
                    ))
                })
        })
        .collect()
}

/// The sweep's variants: those named (in the order given), or all in file order.
fn select(scenario: &Scenario, names: &[String]) -> Result<Vec<SweepVariant>, SweepError> {
    let position = |name: &str| scenario.variants.iter().position(|v| v.name == name);
    if names.is_empty() {
        return Ok(scenario
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| SweepVariant {
                name: v.name.clone(),
                colour_index: i,
            })
            .collect());
    }
    let mut out: Vec<SweepVariant> = Vec::new();
    for n in names {
        let Some(i) = position(n) else {
            let known: Vec<&str> = scenario.variants.iter().map(|v| v.name.as_str()).collect();
            return Err(SweepError::Usage(format!(
                "no variant named `{n}` in scenario `{}`; it has: {}",
                scenario.name,
                known.join(", ")
            )));
        };
        if out.iter().any(|v| &v.name == n) {
            return Err(SweepError::Usage(format!("--variant {n} is given twice")));
        }
        out.push(SweepVariant {
            name: n.clone(),
            colour_index: i,
        });
    }
    Ok(out)
}

/// Whether the key at `path` takes integers, asked of the loader: a float where it takes integers
/// is refused, an integer where it takes floats is accepted. If the range's first value is
/// refused either way, that error is the answer.
fn integer_key(
    req: &SweepRequest<'_>,
    plain: &[String],
    path: &str,
    spec: &GridSpec,
) -> Result<bool, SweepError> {
    let GridSpec::Range { a: Num::Int(a), .. } = *spec else {
        return Ok(false);
    };
    let probe = |value: String| {
        let mut sets = plain.to_vec();
        sets.push(format!("{path}={value}"));
        parse_scenario(req.origin, req.text, &sets)
    };
    if probe(format!("{a}.0")).is_ok() {
        return Ok(false);
    }
    probe(a.to_string())?;
    Ok(true)
}

/// Every figure key a sweep can summarise (for checking `--metric`).
pub fn metric_keys() -> Vec<String> {
    Metrics::keys()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(params: &[usize], seeds: u32, variants: usize) -> SweepSpec {
        SweepSpec {
            file: "f.toml".into(),
            scenario: "s".into(),
            scenario_hash: String::new(),
            sets: vec![],
            parameters: params
                .iter()
                .enumerate()
                .map(|(i, &n)| Parameter {
                    path: format!("p{i}"),
                    grid: String::new(),
                    values: (0..n as i64).map(GridValue::Int).collect(),
                })
                .collect(),
            variants: (0..variants)
                .map(|i| SweepVariant {
                    name: format!("v{i}"),
                    colour_index: i,
                })
                .collect(),
            variants_chosen: false,
            seed_base: 10,
            seeds,
        }
    }

    #[test]
    fn canonical_order_is_point_then_seed_then_variant() {
        let s = spec(&[3, 2], 4, 2);
        assert_eq!((s.points(), s.jobs()), (6, 48));
        for index in 0..s.jobs() {
            assert_eq!(s.index(s.job(index)), index);
        }
        assert_eq!(
            s.job(1),
            Job {
                point: 0,
                seed_index: 0,
                variant: 1
            }
        );
        assert_eq!(
            s.job(2),
            Job {
                point: 0,
                seed_index: 1,
                variant: 0
            }
        );
        assert_eq!(s.job(8).point, 1);
        // The first parameter varies slowest.
        assert_eq!(s.point_indices(0), [0, 0]);
        assert_eq!(s.point_indices(1), [0, 1]);
        assert_eq!(s.point_indices(2), [1, 0]);
        assert_eq!(s.point_label(5), "p0=2, p1=1");
        assert_eq!(s.seed(s.job(47)), 13);
    }

    #[test]
    fn no_parameter_is_one_point() {
        let s = spec(&[], 5, 3);
        assert_eq!((s.points(), s.jobs()), (1, 15));
        assert_eq!(s.point_label(0), "the scenario as given");
    }

    #[test]
    fn content_hash_is_pinned() {
        assert_eq!(content_hash(b""), "cbf29ce484222325");
        assert_eq!(content_hash(b"a"), "af63dc4c8601ec8c");
    }
}
