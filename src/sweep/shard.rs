//! Sharding: `--shard i/n` runs the runs whose canonical index is `i − 1` modulo `n` (a
//! round-robin deal, so every shard gets a fair share of every grid point and variant) and writes
//! their figures to a shard file; [`merge`] checks that shard files belong to one sweep and
//! cover it exactly once, and gives back every run, from which the sweep's output is rebuilt.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{RunFigures, SweepError, SweepSpec};

/// The `format` of a shard file; a change to its layout changes the number.
pub const SHARD_FORMAT: &str = "lagsim-sweep-shard/1";

/// Most shards a sweep may be cut into.
pub const MAX_SHARDS: u32 = 1_000_000;

/// One slice of a sweep: the `index`-th (from 1) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = SweepError;

    /// `i/n`, with 1 ≤ i ≤ n.
    fn from_str(s: &str) -> Result<Shard, SweepError> {
        let bad = |why: &str| {
            SweepError::Usage(format!(
                "--shard {s}: {why}; expected `i/n`, the i-th of n slices, counted from 1 \
                 (1 <= i <= n <= {MAX_SHARDS}), e.g. `--shard 3/8`"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(|| bad("there is no `/`"))?;
        let parse = |t: &str| t.trim().parse::<u32>().ok();
        let (Some(index), Some(count)) = (parse(i), parse(n)) else {
            return Err(bad("i and n must be whole numbers"));
        };
        if count == 0 || count > MAX_SHARDS {
            return Err(bad("n is out of range"));
        }
        if index == 0 {
            return Err(bad("i is counted from 1"));
        }
        if index > count {
            return Err(bad("i is larger than n"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the run at canonical index `job` is in this shard.
    pub fn holds(&self, job: usize) -> bool {
        job % self.count as usize == self.index as usize - 1
    }

    /// The canonical indices of this shard's runs among `total`.
    pub fn jobs(&self, total: usize) -> Vec<usize> {
        (self.index as usize - 1..total)
            .step_by(self.count as usize)
            .collect()
    }
}

/// What `lagsim sweep --shard i/n` writes: the sweep's spec and the figures of the shard's runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// Always [`SHARD_FORMAT`].
    pub format: String,
    pub lagsim_version: String,
    pub sweep: SweepSpec,
    pub shard: Shard,
    /// The sweep's number of runs (all shards together).
    pub runs_total: usize,
    /// The shard's runs, by canonical index.
    pub runs: Vec<RunFigures>,
}

impl ShardFile {
    pub fn new(spec: SweepSpec, shard: Shard, runs: Vec<RunFigures>) -> ShardFile {
        ShardFile {
            format: SHARD_FORMAT.to_string(),
            lagsim_version: env!("CARGO_PKG_VERSION").to_string(),
            runs_total: spec.jobs(),
            sweep: spec,
            shard,
            runs,
        }
    }

    /// The file's text (JSON), with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data") + "\n"
    }

    /// Reads a shard file; `name` is for messages.
    pub fn parse(name: &str, text: &str) -> Result<ShardFile, SweepError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| SweepError::Merge(format!("{name}: not JSON: {e}")))?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(SHARD_FORMAT) {
            return Err(SweepError::Merge(format!(
                "{name}: not a lagsim sweep shard file (its `format` is {}, expected \
                 \"{SHARD_FORMAT}\"; write one with `lagsim sweep … --shard i/n --output FILE`)",
                format.map_or("missing".to_string(), |f| format!("\"{f}\""))
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| SweepError::Merge(format!("{name}: a malformed shard file: {e}")))
    }
}

/// The first top-level field in which two specs differ (the scenario file's name does not count:
/// shards may have read the same scenario under different paths).
fn first_difference(a: &SweepSpec, b: &SweepSpec) -> Option<String> {
    let (serde_json::Value::Object(a), serde_json::Value::Object(b)) = (
        serde_json::to_value(a).expect("plain data"),
        serde_json::to_value(b).expect("plain data"),
    ) else {
        unreachable!("a spec serialises to an object")
    };
    a.iter()
        .find(|(k, v)| k.as_str() != "file" && b.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
}

/// Checks that `shards` (with their file names) are of one sweep, written by this lagsim, and
/// hold each of its runs exactly once; gives back the spec and every run in canonical order.
pub fn merge(shards: &[(String, ShardFile)]) -> Result<(SweepSpec, Vec<RunFigures>), SweepError> {
    let Some((_, first)) = shards.first() else {
        return Err(SweepError::Usage(
            "merge needs at least one shard file".into(),
        ));
    };
    check_one_sweep(shards)?;
    let spec = &first.sweep;
    let by_job = runs_by_job(shards, spec)?;
    if by_job.len() < spec.jobs() {
        return Err(incomplete(shards, spec, &by_job));
    }
    Ok((
        spec.clone(),
        by_job.into_values().map(|(_, run)| run).collect(),
    ))
}

/// Every shard was written by this lagsim version, for the first shard's sweep.
fn check_one_sweep(shards: &[(String, ShardFile)]) -> Result<(), SweepError> {
    let (first_name, first) = &shards[0];
    let version = env!("CARGO_PKG_VERSION");
    for (name, s) in shards {
        if s.lagsim_version != version {
            return Err(SweepError::Merge(format!(
                "{name} was written by lagsim {}, this is lagsim {version}: runs of different \
                 versions may differ; merge with lagsim {} or run that shard again",
                s.lagsim_version, s.lagsim_version
            )));
        }
        if let Some(field) = first_difference(&first.sweep, &s.sweep) {
            let what = match field.as_str() {
                "scenario_hash" => "the scenario file's content differs".to_string(),
                f => format!("their `{f}` differs"),
            };
            return Err(SweepError::Merge(format!(
                "{first_name} and {name} are shards of different sweeps: {what}"
            )));
        }
    }
    Ok(())
}

/// Every shard's runs by canonical index, with the shard holding each; a run that is not the
/// sweep's, or that two shards hold, is an error.
fn runs_by_job(
    shards: &[(String, ShardFile)],
    spec: &SweepSpec,
) -> Result<BTreeMap<usize, (usize, RunFigures)>, SweepError> {
    let total = spec.jobs();
    let mut by_job: BTreeMap<usize, (usize, RunFigures)> = BTreeMap::new();
    for (file, (name, s)) in shards.iter().enumerate() {
        if s.runs_total != total {
            return Err(SweepError::Merge(format!(
                "{name}: a malformed shard file: it says the sweep has {} runs, its spec gives \
                 {total}",
                s.runs_total
            )));
        }
        for run in &s.runs {
            let consistent = run.job < total && {
                let job = spec.job(run.job);
                spec.variants[job.variant].name == run.variant && spec.seed(job) == run.seed
            };
            if !consistent {
                return Err(SweepError::Merge(format!(
                    "{name}: a malformed shard file: its run {} (variant `{}`, seed {}) is not \
                     that run of the sweep",
                    run.job, run.variant, run.seed
                )));
            }
            if let Some(&(other, _)) = by_job.get(&run.job) {
                let shared = s
                    .runs
                    .iter()
                    .filter(|r| by_job.get(&r.job).is_some_and(|(f, _)| *f == other))
                    .count();
                return Err(SweepError::Merge(format!(
                    "shards overlap: {} and {name} both hold {}{}",
                    shards[other].0,
                    spec.describe(run.job),
                    match shared {
                        0 | 1 => String::new(),
                        n => format!(", and {} more runs", n - 1),
                    }
                )));
            }
            by_job.insert(run.job, (file, run.clone()));
        }
    }
    Ok(by_job)
}

/// The error for shards that miss some runs: which shard files are absent, when all shards
/// split the sweep the same way, or else the first missing run.
fn incomplete(
    shards: &[(String, ShardFile)],
    spec: &SweepSpec,
    by_job: &BTreeMap<usize, (usize, RunFigures)>,
) -> SweepError {
    let total = spec.jobs();
    let missing: Vec<usize> = (0..total).filter(|j| !by_job.contains_key(j)).collect();
    let counts: Vec<u32> = shards.iter().map(|(_, s)| s.shard.count).collect();
    let what = if counts.iter().all(|&c| c == counts[0]) {
        let n = counts[0];
        let mut absent: Vec<String> = missing
            .iter()
            .map(|&j| (j % n as usize) as u32 + 1)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|i| format!("{i}/{n}"))
            .collect();
        if absent.len() > 10 {
            let more = absent.len() - 10;
            absent.truncate(10);
            absent.push(format!("and {more} more"));
        }
        let which = if absent.len() == 1 {
            absent[0].clone()
        } else {
            format!("I/{n}")
        };
        format!(
            "no file holds shard {} (run it with `{} --shard {which} --output FILE`, or add \
             its file)",
            absent.join(", "),
            spec.reproduce()
        )
    } else {
        format!("the first is {}", spec.describe(missing[0]))
    };
    SweepError::Merge(format!(
        "the shards are incomplete: {} of the sweep's {total} runs are missing: {what}",
        missing.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_explain() {
        assert_eq!(
            "3/8".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 8 }
        );
        for (s, why) in [
            ("0/4", "counted from 1"),
            ("5/4", "larger than n"),
            ("1/0", "out of range"),
            ("2", "no `/`"),
            ("a/b", "whole numbers"),
        ] {
            let e = s.parse::<Shard>().unwrap_err().to_string();
            assert!(
                e.contains(why) && e.starts_with(&format!("--shard {s}:")),
                "{e}"
            );
        }
    }

    #[test]
    fn shards_deal_runs_round_robin_and_cover_them_once() {
        let total = 23;
        let mut seen = vec![0; total];
        for index in 1..=4 {
            let shard = Shard { index, count: 4 };
            for j in shard.jobs(total) {
                assert!(shard.holds(j));
                seen[j] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert_eq!(Shard { index: 2, count: 4 }.jobs(total)[..3], [1, 5, 9]);
        assert!(
            Shard {
                index: 9,
                count: 30
            }
            .jobs(5)
            .is_empty()
        );
    }
}
