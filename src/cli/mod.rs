//! The command line: argument parsing, file reading and printing. Everything else is library
//! code; this module only decides what to call and which exit code to return
//! (0 ok, 1 a check failed, 2 bad usage or input).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::check::checks;
use crate::engine::{NoTrace, hash_hex};
use crate::model::{check_determinism, run_variant};
use crate::report::{JsonlTrace, RunReport, VariantReport, render_table};
use crate::scenario::{Scenario, Variant, parse_scenario};

const EXAMPLES: &str = "\
Examples:
  # Replay the Black Friday incident: seven checkout strategies on the same shoppers
  lagsim run scenarios/black-friday.toml

  # Only two variants, another seed, machine-readable output
  lagsim run scenarios/black-friday.toml --variant replica-read --variant pessimistic-lock \\
      --seed 7 --format json

  # Override any field of the file (same syntax as a variant's `set` table)
  lagsim run scenarios/validation/replica-mm1.toml \\
      --set background.writes_per_s=900 --set 'replicas[0].apply_time.mean_ms=1.0'

  # The other patterns: lag monitoring, read-your-writes, cache invalidation, CP vs AP
  lagsim run scenarios/lag-monitor.toml
  lagsim run scenarios/profile-email.toml
  lagsim run scenarios/flash-sale-prices.toml
  lagsim run scenarios/partition-cp-vs-ap.toml --format json

  # Add a fault from the command line: crash a replica for 10 s
  lagsim run scenarios/lag-monitor.toml \\
      --set 'faults=[{kind=\"crash-replica\", replica=\"replica-1\", at_s=20, duration_s=10}]'

  # Write every event to a trace, and prove the run is deterministic
  lagsim run scenarios/black-friday.toml --trace trace.jsonl --check-determinism

  # Check a scenario file without running it
  lagsim validate scenarios/black-friday.toml

Exit codes: 0 ok, 1 a check failed (a scenario's convergence bound, or --check-determinism
found a difference), 2 bad usage or input (the message names the file, line, column and field).
Docs: docs/scenario-reference.md (every scenario key), docs/output-reference.md (every output key),
docs/model.md (how the simulated system behaves), docs/patterns/ (one page per pattern).";

#[derive(Parser, Debug)]
#[command(
    name = "lagsim",
    version,
    about = "Deterministic simulator of a replicated e-commerce backend: replay replication lag, \
             stale reads and oversells, and compare consistency strategies.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario's variants on the same shoppers and compare them side by side.
    #[command(after_help = EXAMPLES)]
    Run(RunArgs),
    /// Parse and validate a scenario file without running it.
    Validate {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Override a field: PATH=VALUE, e.g. `primary.workers=16` (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The scenario file (TOML).
    file: PathBuf,
    /// Root seed of every random stream (default: the file's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Run only this variant (repeatable; default: all, in file order).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<String>,
    /// Override a field: PATH=VALUE, e.g. `primary.workers=16` or `replicas[0].workers=4`
    /// (repeatable; applied in order, before each variant's own `set`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write every processed event as JSON lines to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Run every variant twice in lockstep and report the first simulated time at which the two
    /// runs differ (exit 1 if they do).
    #[arg(long)]
    check_determinism: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Validate { file, sets } => {
            let scenario = load(&file, &sets)?;
            let names: Vec<&str> = scenario.variants.iter().map(|v| v.name.as_str()).collect();
            println!(
                "ok: {} is valid: scenario `{}`, {} variants ({})",
                file.display(),
                scenario.name,
                names.len(),
                names.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_scenario(args),
    }
}

fn load(file: &Path, sets: &[String]) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read scenario file {}: {e}", file.display()))?;
    parse_scenario(&file.display().to_string(), &text, sets).map_err(|e| e.to_string())
}

fn select<'a>(scenario: &'a Scenario, names: &[String]) -> Result<Vec<&'a Variant>, String> {
    if names.is_empty() {
        return Ok(scenario.variants.iter().collect());
    }
    names
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

/// Quotes an argument for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn reproduce_command(args: &RunArgs, seed: u64) -> String {
    let mut cmd = format!(
        "lagsim run {} --seed {seed}",
        shell_quote(&args.file.display().to_string())
    );
    for v in &args.variants {
        cmd.push_str(&format!(" --variant {}", shell_quote(v)));
    }
    for s in &args.sets {
        cmd.push_str(&format!(" --set {}", shell_quote(s)));
    }
    cmd
}

fn run_scenario(args: RunArgs) -> Result<ExitCode, String> {
    let scenario = load(&args.file, &args.sets)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let variants = select(&scenario, &args.variants)?;

    let mut trace = match &args.trace {
        Some(path) => Some(JsonlTrace::new(BufWriter::new(
            File::create(path)
                .map_err(|e| format!("cannot create trace file {}: {e}", path.display()))?,
        ))),
        None => None,
    };
    let mut reports = Vec::with_capacity(variants.len());
    for v in &variants {
        let result = match trace.as_mut() {
            Some(t) => {
                t.variant(&v.name);
                run_variant(v, seed, t)
            }
            None => run_variant(v, seed, &mut NoTrace),
        };
        let run = result
            .map_err(|e| format!("scenario `{}`, variant `{}`: {e}", scenario.name, v.name))?;
        reports.push(VariantReport {
            name: v.name.clone(),
            checkout: v.checkout.name(),
            page: v.page.name(),
            trace_hash: hash_hex(run.summary.trace_hash),
            events: run.summary.events,
            end_s: run.summary.end.as_secs_f64(),
            checks: checks(v, &run.metrics),
            metrics: run.metrics,
        });
    }
    if let (Some(t), Some(path)) = (trace, &args.trace) {
        t.finish()
            .map_err(|e| format!("cannot write trace file {}: {e}", path.display()))?;
    }
    let report = RunReport {
        lagsim_version: env!("CARGO_PKG_VERSION"),
        scenario: scenario.name.clone(),
        seed,
        reproduce: reproduce_command(&args, seed),
        variants: reports,
    };

    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock, s: &str| {
        out.write_all(s.as_bytes())
            .map_err(|e| format!("cannot write output: {e}"))
    };
    match args.format {
        Format::Json => print(&mut out, &(report.to_json() + "\n"))?,
        Format::Table => {
            print(
                &mut out,
                &format!("scenario: {}   seed: {seed}\n\n", scenario.name),
            )?;
            print(&mut out, &render_table(&report))?;
            print(&mut out, "\n")?;
            for v in &report.variants {
                print(
                    &mut out,
                    &format!(
                        "trace {:<24} {}  ({} events)\n",
                        v.name, v.trace_hash, v.events
                    ),
                )?;
            }
            print(&mut out, &format!("reproduce: {}\n", report.reproduce))?;
        }
    }

    let mut failed = false;
    for c in report.variants.iter().flat_map(|v| &v.checks) {
        eprintln!(
            "check {}: {}: {}",
            c.name,
            if c.ok { "ok" } else { "FAILED" },
            c.message
        );
        failed |= !c.ok;
    }

    if args.check_determinism {
        for v in &variants {
            match check_determinism(v, seed).map_err(|e| format!("variant `{}`: {e}", v.name))? {
                None => eprintln!("determinism: variant `{}`: two runs identical", v.name),
                Some(d) => {
                    eprintln!(
                        "determinism: variant `{}`: runs differ first at t={} (after {} identical events)",
                        v.name, d.at, d.identical_events
                    );
                    failed = true;
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
