//! The scenario arguments every command that loads a scenario takes, declared once: the file and
//! its `--set` overrides ([`ScenarioFile`], `validate`), and with them the seed and the variants
//! ([`ScenarioArgs`], `run`, `report`, `explain`, `sweep`).

use std::path::{Path, PathBuf};

use crate::run::Reproduce;
use crate::scenario::{Scenario, Variant, parse_scenario};

/// A scenario file and the overrides applied to it.
#[derive(clap::Args, Debug)]
pub struct ScenarioFile {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Override a field: PATH=VALUE, e.g. `primary.workers=16` or `replicas[0].workers=4`
    /// (repeatable; applied in order, before each variant's own `set`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

impl ScenarioFile {
    /// Reads and validates the scenario, with the overrides.
    pub fn load(&self) -> Result<Scenario, String> {
        load(&self.file, &self.sets)
    }
}

/// A scenario file, its overrides, the seed and the variants to run.
#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    /// Root seed of every random stream (default: the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only this variant (repeatable; default: all, in file order).
    #[arg(long = "variant", value_name = "NAME")]
    pub variants: Vec<String>,
    #[command(flatten)]
    pub input: ScenarioFile,
}

impl ScenarioArgs {
    pub fn load(&self) -> Result<Scenario, String> {
        self.input.load()
    }

    /// `--seed`, or the scenario's own.
    pub fn seed(&self, scenario: &Scenario) -> u64 {
        self.seed.unwrap_or(scenario.seed)
    }

    /// The variants named by `--variant` in the order given, or every variant in file order.
    pub fn select<'a>(&self, scenario: &'a Scenario) -> Result<Vec<&'a Variant>, String> {
        if self.variants.is_empty() {
            return Ok(scenario.variants.iter().collect());
        }
        self.variants
            .iter()
            .map(|n| {
                scenario
                    .variants
                    .iter()
                    .find(|v| &v.name == n)
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            scenario.variants.iter().map(|v| v.name.as_str()).collect();
                        format!(
                            "no variant named `{n}` in scenario `{}`; it has: {}",
                            scenario.name,
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }

    /// The command line that runs these variants again on `n` seeds from `first`.
    pub fn reproduce_seeds(&self, first: u64, n: u32) -> String {
        Reproduce {
            command: "run",
            file: &self.input.file.display().to_string(),
            seed: first,
            seeds: Some(n),
            variants: &self.variants,
            sets: &self.input.sets,
            ..Reproduce::default()
        }
        .line()
    }

    /// The command line that runs `lagsim COMMAND` (with `report`'s page `output`) on these
    /// arguments again, at `seed`.
    pub fn reproduce(&self, command: &str, output: Option<&Path>, seed: u64) -> String {
        let output = output.map(|p| p.display().to_string());
        Reproduce {
            command,
            output: output.as_deref(),
            file: &self.input.file.display().to_string(),
            seed,
            variants: &self.variants,
            sets: &self.input.sets,
            ..Reproduce::default()
        }
        .line()
    }
}

/// Reads and validates the scenario `file` with the overrides `sets`.
pub fn load(file: &Path, sets: &[String]) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read scenario file {}: {e}", file.display()))?;
    parse_scenario(&file.display().to_string(), &text, sets).map_err(|e| e.to_string())
}
