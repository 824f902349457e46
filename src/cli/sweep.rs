//! `lagsim sweep` and `lagsim merge`: the command-line side of [`crate::sweep`] (reading files,
//! the thread count, the progress bar, writing outputs and charts).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::ScenarioArgs;
use crate::report::charts::write_sweep_charts;
use crate::sweep::{
    DEFAULT_METRICS, Shard, ShardFile, SweepError, SweepPlan, SweepRequest, SweepResult, aggregate,
    merge, metric_keys, render_table, to_csv, to_json,
};

pub const SWEEP_EXAMPLES: &str = "\
Examples:
  # Oversells and lag of two strategies over a 3 × 3 grid of load, 50 seeds per point: a
  # one-minute Black Friday peak (900 runs; about 4 minutes on 2 cores)
  lagsim sweep scenarios/black-friday.toml --seeds 50 \\
      --variant replica-read --variant conditional-decrement \\
      --set duration_s=60 --set 'traffic.profile=[{at_s=0,shoppers_per_s=60},{at_s=5,shoppers_per_s=700}]' \\
      --set 'products[0].stock=250' \\
      --set background.writes_per_shopper=1.2..1.4:3 \\
      --set 'traffic.profile[1].shoppers_per_s=600,700,800' --charts charts

  # One parameter, a list of values, every figure as CSV; the first seed is 1
  lagsim sweep scenarios/lag-monitor.toml --set monitor.sample_every_s=1,2,5,10 \\
      --seeds 20 --seed 1 --format csv > monitor.csv

  # Choose the table's figures (any key of `run --format json`; saga figures as saga.KEY)
  lagsim sweep scenarios/lag-monitor.toml --set background.writes_per_s=50..350:4 --seeds 10 \\
      --metric oversold_units --metric replica_lag_ms_p99

  # Spread a sweep over machines: each runs one slice, then merge the files
  lagsim sweep scenarios/lag-monitor.toml --set background.writes_per_s=50..350:4 --seeds 40 \\
      --shard 2/8 --output shard-2.json
  lagsim merge shard-*.json --format json

Runs: every grid point × seed × variant, in parallel on --jobs threads (default: every core);
the result is the same bytes for any --jobs. Seeds: --seed (default: the file's seed), --seed + 1,
… (--seeds of them). Runs record no history, run no checker and write no trace.
A --set whose value is A..B:STEPS (STEPS values from A to B, both included) or a list a,b,c is a
swept parameter (at most two); other --set apply to every run first.
Exit codes: 0 ok, 2 bad usage or input (a bad grid, path or value, a run that did not drain).
Guide: docs/sweeps.md; every output key and column: docs/output-reference.md (Sweeps).";

pub const MERGE_EXAMPLES: &str = "\
Examples:
  # Eight slices of one sweep, run anywhere, then combined: exactly the unsharded sweep's output
  for i in 1 2 3 4 5 6 7 8; do
    lagsim sweep scenarios/lag-monitor.toml --set background.writes_per_s=50..350:4 --seeds 40 \\
        --shard $i/8 --output shard-$i.json
  done
  lagsim merge shard-*.json
  lagsim merge shard-*.json --format csv --charts charts

The shards must come from the same sweep (same spec and scenario content, written by this
lagsim version), hold no run twice, and together hold every run: otherwise merge names what is
wrong (e.g. which shard is missing) and exits 2.
Guide, with GNU parallel, Slurm and Kubernetes examples: docs/sweeps.md.";

/// How a sweep's result is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    Table,
    Json,
    Csv,
}

/// What to print or write for a finished sweep (shared by `sweep` and `merge`).
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// Output format: a table of the chosen figures, or every figure's n, mean, sd and ci95 as
    /// JSON or CSV [default: table].
    #[arg(long, value_enum)]
    format: Option<SweepFormat>,
    /// A figure for the table and the charts, by its JSON key, e.g. `oversold_units` or
    /// `saga.leaked_units` (repeatable; default: oversold_units, orders_failed,
    /// checkout_latency_ms_p99, replica_lag_ms_max).
    #[arg(long = "metric", value_name = "KEY")]
    metrics: Vec<String>,
    /// Draw charts (PNG and SVG) into DIR/<scenario>/: per figure, the figure against the
    /// parameter with 95% confidence bands (one parameter), or a heatmap per variant (two).
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Write the output (or, with --shard, the shard file) to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `--set` in a sweep: plain, or swept over a grid.
const SWEEP_SET_HELP: &str = "Override a field (PATH=VALUE, repeatable). A value `A..B:STEPS` or \
                              `a,b,c` sweeps the field over those values (at most two swept \
                              fields); the others apply to every run";

#[derive(clap::Args, Debug)]
#[command(
    mut_arg("sets", |a| a.help(SWEEP_SET_HELP)),
    mut_arg("seed", |a| a.help("The first seed (default: the file's `seed`)")),
)]
pub struct SweepArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Seeds per grid point: --seed, --seed + 1, …
    #[arg(long, default_value_t = 10, value_name = "N")]
    seeds: u32,
    /// Threads to run on (default: the machine's cores). The result does not depend on it.
    #[arg(long, short = 'j', value_name = "J")]
    jobs: Option<usize>,
    /// Run only the i-th of n disjoint slices of the runs (from 1: `--shard 1/4` … `4/4`) and
    /// write its shard file, for `lagsim merge`.
    #[arg(long, value_name = "i/n")]
    shard: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard files written by `lagsim sweep … --shard i/n` (all of one sweep).
    #[arg(required = true, value_name = "SHARD")]
    shards: Vec<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

fn fail(e: SweepError) -> String {
    e.to_string()
}

/// The chosen figures, checked against every key a run can give.
fn chosen_metrics(asked: &[String]) -> Result<Vec<String>, String> {
    if asked.is_empty() {
        return Ok(DEFAULT_METRICS.iter().map(|m| m.to_string()).collect());
    }
    let known = metric_keys();
    for m in asked {
        if !known.contains(m) {
            let words: Vec<&str> = m.split(['_', '.']).filter(|w| w.len() > 2).collect();
            let near: Vec<&str> = known
                .iter()
                .filter(|k| words.iter().any(|w| k.contains(w)))
                .map(String::as_str)
                .collect();
            let list = if near.is_empty() {
                format!("the figures are: {}", known.join(", "))
            } else {
                format!("did you mean one of: {}", near.join(", "))
            };
            return Err(format!(
                "--metric {m}: no such figure; {list} (docs/output-reference.md)"
            ));
        }
    }
    Ok(asked.to_vec())
}

/// A bar over the runs on stderr, with an ETA; indicatif draws nothing when stderr is not a
/// terminal.
fn progress_bar(runs: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(runs as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("sweep [{bar:30}] {pos}/{len} runs ({elapsed}, ETA {eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

fn write_out(path: Option<&Path>, text: &str) -> Result<(), String> {
    match path {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| format!("cannot write output file {}: {e}", p.display())),
        None => super::print_stdout(text),
    }
}

/// Prints (or writes) a finished sweep and draws its charts.
fn emit(result: &SweepResult, out: &OutputArgs, metrics: &[String]) -> Result<(), String> {
    let text = match out.format.unwrap_or(SweepFormat::Table) {
        SweepFormat::Table => render_table(result, metrics),
        SweepFormat::Json => to_json(result),
        SweepFormat::Csv => to_csv(result),
    };
    write_out(out.output.as_deref(), &text)?;
    if let Some(dir) = &out.charts {
        let written = write_sweep_charts(result, metrics, dir).map_err(|e| e.to_string())?;
        if written.is_empty() {
            eprintln!("charts: none (a sweep without a swept parameter has no chart)");
        } else {
            eprintln!("charts: {} files", written.len());
            for path in &written {
                eprintln!("  {}", path.display());
            }
        }
    }
    Ok(())
}

pub fn sweep_command(args: SweepArgs) -> Result<ExitCode, String> {
    let file = &args.scenario.input.file;
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read scenario file {}: {e}", file.display()))?;
    if args.jobs == Some(0) {
        return Err("--jobs must be at least 1".to_string());
    }
    let threads = super::jobs(args.jobs.map(|j| j as u64));
    let shard = args
        .shard
        .as_deref()
        .map(str::parse::<Shard>)
        .transpose()
        .map_err(fail)?;
    if shard.is_some() && (args.out.format.is_some() || args.out.charts.is_some()) {
        return Err(
            "--shard writes a shard file, not a result: leave out --format and --charts, and \
             give them to `lagsim merge` instead"
                .to_string(),
        );
    }
    let metrics = chosen_metrics(&args.out.metrics)?;
    let origin = file.display().to_string();
    let plan = SweepPlan::new(&SweepRequest {
        origin: &origin,
        text: &text,
        sets: &args.scenario.input.sets,
        variants: &args.scenario.variants,
        seed: args.scenario.seed,
        seeds: args.seeds,
    })
    .map_err(fail)?;
    let total = plan.spec.jobs();
    let jobs = match shard {
        Some(s) => s.jobs(total),
        None => plan.spec.all_jobs(),
    };
    let bar = progress_bar(jobs.len());
    let runs = plan.run(&jobs, threads, &|| bar.inc(1));
    bar.finish_and_clear();
    let runs = runs.map_err(fail)?;
    match shard {
        Some(s) => {
            let n = runs.len();
            let file = ShardFile::new(plan.spec, s, runs);
            write_out(args.out.output.as_deref(), &file.to_json())?;
            let to = args
                .out
                .output
                .as_ref()
                .map_or("stdout".to_string(), |p| p.display().to_string());
            eprintln!("shard {s}: {n} of the sweep's {total} runs, written to {to}");
        }
        None => {
            let result = aggregate(plan.spec, runs).map_err(fail)?;
            emit(&result, &args.out, &metrics)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn merge_command(args: MergeArgs) -> Result<ExitCode, String> {
    let metrics = chosen_metrics(&args.out.metrics)?;
    let mut shards = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read shard file {name}: {e}"))?;
        let file = ShardFile::parse(&name, &text).map_err(fail)?;
        shards.push((name, file));
    }
    let (spec, runs) = merge(&shards).map_err(fail)?;
    let result = aggregate(spec, runs).map_err(fail)?;
    emit(&result, &args.out, &metrics)?;
    Ok(ExitCode::SUCCESS)
}
