//! The command line: argument parsing, file reading and printing. Everything else is library
//! code; this module only decides what to call and which exit code to return
//! (0 ok, 1 a check failed, 2 bad usage or input).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use clap::{Parser, Subcommand, ValueEnum};

mod args;
mod progress;
mod seeds;
mod sweep;
mod teach;
mod test;

use crate::check::{
    CheckEntry, CheckResult, Status, check_history_without_linearizability, linearizability,
    linearizability_result,
};
use crate::engine::{NoTrace, TraceSink, hash_hex};
use crate::history::History;
use crate::history::edn::{RegisterModel, parse_edn_history};
use crate::history::format::{read_histories, write_history};
use crate::model::timeline::Timeline;
use crate::report::charts::{ChartSet, ChartVariant, write_charts};
use crate::report::{JsonlTrace, Layout, RunReport, VariantReport, render_table};
use crate::run::{Checks, Job, Options, in_parallel};
use crate::scenario::{Scenario, Variant};
use args::{ScenarioArgs, ScenarioFile};
use progress::Progress;

const EXAMPLES: &str = "\
Examples:
  # Replay the Black Friday incident: seven checkout strategies on the same shoppers
  # (variants run on every core; --jobs 1 for one at a time, same output)
  lagsim run scenarios/black-friday.toml

  # Every variant on 20 seeds (2024, 2025, ...): each figure's mean and 95% interval, and each
  # variant's difference from the first variant taken seed by seed
  lagsim run scenarios/black-friday.toml --seeds 20 --skip-checks

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

  # Checkout across three services: what each saga policy leaves behind, and two-phase commit
  lagsim run scenarios/checkout-saga.toml

  # Add a fault from the command line: crash a replica for 10 s
  lagsim run scenarios/lag-monitor.toml \\
      --set 'faults=[{kind=\"crash-replica\", replica=\"replica-1\", at_s=20, duration_s=10}]'

  # Write every event to a trace, and prove the run is deterministic
  lagsim run scenarios/black-friday.toml --trace trace.jsonl --check-determinism

  # Draw the charts (PNG and SVG) of every variant under charts/black-friday/
  lagsim run scenarios/black-friday.toml --charts charts

  # Write what every client saw (a history), then judge it again, or judge a Jepsen history
  lagsim run scenarios/profile-email.toml --history history.jsonl
  lagsim check history.jsonl
  lagsim check knossos-history.edn --model cas-register

  # One HTML page for a design review; the story of a run, told for a class
  lagsim report scenarios/black-friday.toml -o black-friday.html
  lagsim explain scenarios/black-friday.toml --variant replica-read

  # Every variant over a grid of one parameter, 20 seeds per point: means and 95% intervals
  lagsim sweep scenarios/lag-monitor.toml --set background.writes_per_s=50..350:4 --seeds 20

  # Check a scenario file without running it
  lagsim validate scenarios/black-friday.toml

  # Check what every bundled scenario teaches ([[expect]]) on 3 seeds; shrink any failure
  lagsim test scenarios/

Exit codes: 0 ok, 1 a check failed (a scenario's [[require]] or convergence bound, or
--check-determinism found a difference, or `lagsim test`: an expectation failed), 2 bad usage or input (the message names the file, line,
column and field). `lagsim check`: 0 valid, 1 invalid, 2 unknown or bad input.
Docs: docs/scenario-reference.md (every scenario key), docs/output-reference.md (every output key),
docs/checkers.md (what each check judges), docs/history-format.md, docs/model.md (how the simulated system behaves), docs/patterns/ (one page per pattern).";

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
    /// Judge a history: lagsim's JSON lines (`run --history`), or a Jepsen/Knossos EDN history.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Tell a variant's run in plain sentences, with an ASCII timeline: for teaching.
    #[command(after_help = teach::EXPLAIN_EXAMPLES)]
    Explain(teach::ExplainArgs),
    /// Write one self-contained HTML page: description, comparison, charts, checks, narration.
    #[command(after_help = teach::REPORT_EXAMPLES)]
    Report(teach::ReportArgs),
    /// Check scenarios' [[expect]] entries over several seeds; shrink each failure.
    #[command(after_help = test::TEST_EXAMPLES)]
    Test(test::TestArgs),
    /// Run variants over a grid of one or two parameters and many seeds, in parallel: mean and
    /// 95% confidence interval of every figure; `--shard i/n` runs one slice.
    #[command(after_help = sweep::SWEEP_EXAMPLES)]
    Sweep(sweep::SweepArgs),
    /// Combine the shard files of a sweep (`sweep … --shard i/n`) into the sweep's output.
    #[command(after_help = sweep::MERGE_EXAMPLES)]
    Merge(sweep::MergeArgs),
    /// Parse and validate a scenario file without running it.
    Validate(ScenarioFile),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
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
    /// Write what every client saw, one history per variant, as JSON lines to this file
    /// (format: docs/history-format.md).
    #[arg(long, value_name = "FILE.jsonl")]
    history: Option<PathBuf>,
    /// Do not run the history checkers (they judge each history as the run goes, keeping what
    /// is alive): faster. Required checks then end `unknown` (exit 1).
    #[arg(long)]
    skip_checks: bool,
    /// Draw charts (PNG and SVG) into DIR/<scenario>/, created if missing; the files written are
    /// listed on stderr (docs/output-reference.md lists every chart).
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Variants run at once (default: the machine's cores). Results, tables and files do not
    /// depend on it. A trace is one stream in variant order: with --trace variants run one at a
    /// time, and --jobs above 1 is refused.
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Run every variant on N seeds (the seed, then the next ones) and show each figure's mean
    /// and 95% interval, and every variant's paired difference from the first variant named (or
    /// the first in the file). Not with --trace, --history, --charts or --check-determinism.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
    seeds: Option<u32>,
    /// Which rows the table shows: `class` (the rows that answer the scenario's question, its
    /// `[report] rows`; rows equal in every variant folded into one line) or `all`.
    #[arg(long, value_enum, default_value_t = Rows::Class)]
    rows: Rows,
    /// The same as `--rows all`.
    #[arg(long)]
    full: bool,
    /// One row per variant and one column per figure.
    #[arg(long)]
    transpose: bool,
}

/// `--rows`: the class-sized table or every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Rows {
    Class,
    All,
}

impl RunArgs {
    fn layout(&self) -> Layout {
        match (self.rows, self.full) {
            (Rows::Class, false) => Layout::Class,
            _ => Layout::Full,
        }
    }
}

const CHECK_EXAMPLES: &str = "\
Examples:
  # Judge the histories a run wrote (every check, every variant)
  lagsim run scenarios/black-friday.toml --variant replica-read --history h.jsonl
  lagsim check h.jsonl

  # Only some checks
  lagsim check h.jsonl --only linearizability --only read-your-writes

  # A Jepsen/Knossos history of a compare-and-set register
  lagsim check history.edn --model cas-register

Formats: lagsim's JSON lines (docs/history-format.md) or EDN maps such as
  {:process 0, :type :invoke, :f :write, :value 3}
  {:process 0, :type :ok, :f :write, :value 3}
with :type :invoke/:ok/:fail/:info and :f :read/:write/:cas (cas value [from to]). A :fail did not
take effect; an :info may or may not have. EDN histories are judged for linearizability only.

Exit codes: 0 every check passed, 1 some check failed, 2 a check could not decide (a budget ran
out) or bad usage or input.";

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The history file: `.edn` is read as EDN, anything else as lagsim's JSON lines
    /// (override with --input).
    file: PathBuf,
    /// The history's format.
    #[arg(long, value_enum, default_value_t = Input::Auto)]
    input: Input,
    /// The object an EDN history operates on.
    #[arg(long, value_enum, default_value_t = ModelArg::Register)]
    model: ModelArg,
    /// Run only this check (repeatable; default: every check the history allows).
    #[arg(long = "only", value_name = "CHECK")]
    only: Vec<String>,
    /// `bounded-staleness` fails when a read is older than this (default 0: any stale read).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    max_staleness_ms: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Input {
    Auto,
    Jsonl,
    Edn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelArg {
    Register,
    CasRegister,
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
        Command::Validate(input) => validate(&input),
        Command::Run(args) => run_scenario(args),
        Command::Check(args) => check_file(args),
        Command::Explain(args) => teach::explain_command(args),
        Command::Report(args) => teach::report_command(args),
        Command::Test(args) => test::test_command(args),
        Command::Sweep(args) => sweep::sweep_command(args),
        Command::Merge(args) => sweep::merge_command(args),
    }
}

fn validate(input: &ScenarioFile) -> Result<ExitCode, String> {
    let scenario = input.load()?;
    let names: Vec<&str> = scenario.variants.iter().map(|v| v.name.as_str()).collect();
    println!(
        "ok: {} is valid: scenario `{}`, {} variants ({})",
        input.file.display(),
        scenario.name,
        names.len(),
        names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// What a run of a scenario's variants asks for besides metrics.
pub(crate) struct Execution<'a> {
    pub trace: Option<&'a Path>,
    pub history: Option<&'a Path>,
    /// Run the history checkers (recording histories for them).
    pub checks: bool,
    pub timelines: bool,
    /// Show a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// Variants run at once. A trace is one stream in variant order, so it needs 1.
    pub jobs: usize,
}

/// `--jobs`, or the machine's cores.
pub(crate) fn jobs(arg: Option<u64>) -> usize {
    arg.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    )
}

/// One variant's run, judged.
struct Finished {
    report: VariantReport,
    timeline: Option<Timeline>,
    /// Kept only when a history file was asked for.
    history: Option<History>,
}

/// Runs `variants` of `scenario` at `seed`: their reports, and their timelines if asked for.
/// Variants run on up to `ex.jobs` threads; the results come back in variant order and do not
/// depend on the number of threads.
pub(crate) fn execute(
    scenario: &Scenario,
    variants: &[&Variant],
    seed: u64,
    ex: &Execution<'_>,
) -> Result<(Vec<VariantReport>, Vec<Timeline>), String> {
    let trace = match ex.trace {
        Some(path) => Some(Mutex::new(JsonlTrace::new(create(path, "trace")?))),
        None => None,
    };
    let mut history_out = match ex.history {
        Some(path) => Some(create(path, "history")?),
        None => None,
    };
    let options = Options {
        history: ex.history.is_some(),
        timeline: ex.timelines,
        checks: if ex.checks {
            Checks::All
        } else {
            Checks::Results
        },
    };
    let progress = Progress::new(variants, ex.progress);
    let mut reports = Vec::with_capacity(variants.len());
    let mut timelines: Vec<Timeline> = Vec::new();
    // A trace is one stream in variant order: its variants run one at a time.
    let jobs = if trace.is_some() { 1 } else { ex.jobs };
    let run = |index: usize, v: &&Variant| {
        let job = Job::new(scenario, v, seed).options(options);
        match &trace {
            Some(t) => {
                let mut t = t.lock().expect("one variant at a time");
                t.variant(&v.name);
                run_one(scenario, index, job, v, &mut *t, &progress)
            }
            None => run_one(scenario, index, job, v, &mut NoTrace, &progress),
        }
    };
    // Histories are written as each variant is done, in order, so that a sequential run holds
    // at most one.
    in_parallel(variants, jobs, run, |done: Finished| {
        if let (Some(out), Some(h), Some(path)) = (history_out.as_mut(), &done.history, ex.history)
        {
            write_history(h, out)
                .map_err(|e| format!("cannot write history file {}: {e}", path.display()))?;
        }
        timelines.extend(done.timeline);
        reports.push(done.report);
        Ok(())
    })?;
    progress.finish();
    if let (Some(t), Some(path)) = (trace, ex.trace) {
        t.into_inner()
            .expect("no variant panicked")
            .finish()
            .map_err(|e| format!("cannot write trace file {}: {e}", path.display()))?;
    }
    if let (Some(mut out), Some(path)) = (history_out, ex.history) {
        out.flush()
            .map_err(|e| format!("cannot write history file {}: {e}", path.display()))?;
    }
    Ok((reports, timelines))
}

/// A buffered new file for the trace or the history.
fn create(path: &Path, what: &str) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| format!("cannot create {what} file {}: {e}", path.display()))
}

/// Runs variant number `index` and judges it; its history is dropped after the checks unless a
/// history file wants it.
fn run_one(
    scenario: &Scenario,
    index: usize,
    job: Job<'_>,
    v: &Variant,
    trace: &mut impl TraceSink,
    progress: &Progress,
) -> Result<Finished, String> {
    progress.start(v);
    let observe = |now| progress.observe(index, now);
    let mut run = job
        .progress(&observe)
        .run_traced(trace)
        .map_err(|e| format!("scenario `{}`, variant `{}`: {e}", scenario.name, v.name))?;
    progress.finished(index);
    if let Some(h) = run.history.as_mut() {
        h.source.scenario = Some(scenario.name.clone());
    }
    let report = VariantReport {
        name: v.name.clone(),
        checkout: v.checkout.name(),
        page: v.page.name(),
        trace_hash: hash_hex(run.summary.trace_hash),
        events: run.summary.events,
        end_s: run.summary.end.as_secs_f64(),
        checks: run.checks,
        metrics: run.metrics,
    };
    Ok(Finished {
        report,
        timeline: run.timeline,
        history: run.history,
    })
}

/// The charts of a run: its variants with their timelines, each in its file-order colour.
pub(crate) fn chart_set<'a>(
    scenario: &'a Scenario,
    seed: u64,
    reports: &'a [VariantReport],
    timelines: &'a [Timeline],
) -> ChartSet<'a> {
    ChartSet {
        scenario: &scenario.name,
        seed,
        variants: reports
            .iter()
            .zip(timelines)
            .map(|(v, t)| ChartVariant {
                name: &v.name,
                colour_index: scenario
                    .variants
                    .iter()
                    .position(|s| s.name == v.name)
                    .unwrap_or(0),
                metrics: &v.metrics,
                timeline: t,
            })
            .collect(),
    }
}

fn run_scenario(args: RunArgs) -> Result<ExitCode, String> {
    if let Some(n) = args.seeds {
        return seeds::run_seeds(&args, n);
    }
    if args.trace.is_some() && args.jobs.is_some_and(|j| j > 1) {
        return Err(
            "--trace writes one stream in variant order, so variants run one at a time: \
             drop --jobs, or use --jobs 1"
                .into(),
        );
    }
    let scenario = args.scenario.load()?;
    let seed = args.scenario.seed(&scenario);
    let variants = args.scenario.select(&scenario)?;
    if let Some(dir) = &args.charts {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create charts directory {}: {e}", dir.display()))?;
    }
    let (reports, timelines) = execute(
        &scenario,
        &variants,
        seed,
        &Execution {
            trace: args.trace.as_deref(),
            history: args.history.as_deref(),
            checks: !args.skip_checks,
            timelines: args.charts.is_some(),
            progress: args.format != Format::Json,
            jobs: jobs(args.jobs),
        },
    )?;
    let reproduce = args.scenario.reproduce("run", None, seed);
    let mut report = RunReport::new(&scenario.name, seed, reproduce, reports);
    report.view = scenario.report.clone();
    print_run(&report, args.format, args.layout(), args.transpose)?;
    if let Some(dir) = &args.charts {
        let set = chart_set(&scenario, seed, &report.variants, &timelines);
        let written = write_charts(&set, dir).map_err(|e| e.to_string())?;
        eprintln!("charts: {} files", written.len());
        for path in &written {
            eprintln!("  {}", path.display());
        }
    }
    let mut failed = report_required_checks(&report);
    if args.check_determinism {
        failed |= report_determinism(&scenario, &variants, seed)?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a run's report on stdout: the JSON document, or the table with its trace hashes and
/// reproduce line.
fn print_run(
    report: &RunReport,
    format: Format,
    layout: Layout,
    transpose: bool,
) -> Result<(), String> {
    let text = match format {
        Format::Json => report.to_json() + "\n",
        Format::Table => {
            let mut text = format!("scenario: {}   seed: {}\n\n", report.scenario, report.seed);
            text += &render_table(report, layout, transpose);
            text += "\n";
            for v in &report.variants {
                text += &format!(
                    "trace {:<24} {}  ({} events)\n",
                    v.name, v.trace_hash, v.events
                );
            }
            text + &format!("reproduce: {}\n", report.reproduce)
        }
    };
    print_stdout(&text)
}

/// Writes `text` to standard output, or says why it could not.
pub(crate) fn print_stdout(text: &str) -> Result<(), String> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write output: {e}"))
}

/// Tells every required check's verdict on stderr (a failure with its first finding); whether
/// one did not pass.
fn report_required_checks(report: &RunReport) -> bool {
    let mut failed = false;
    for v in &report.variants {
        for c in &v.checks {
            let Some(req) = &c.required else { continue };
            let verdict = match req.verdict {
                Status::Pass => "ok",
                Status::Fail => "FAILED",
                Status::Unknown => "UNDECIDED",
            };
            let keys = if req.keys == "all" {
                String::new()
            } else {
                format!(" on {} keys", req.keys)
            };
            eprintln!(
                "check {}{keys}: variant `{}`: {verdict}: {}",
                c.result.name, v.name, c.result.summary
            );
            if req.verdict != Status::Pass {
                failed = true;
                for f in c.result.findings.iter().take(1) {
                    eprintln!("  {}\n{}", f.sentence, indent(&f.timeline));
                }
            }
        }
    }
    failed
}

/// Runs every variant twice in lockstep and tells on stderr whether the runs differ; whether any
/// did.
fn report_determinism(
    scenario: &Scenario,
    variants: &[&Variant],
    seed: u64,
) -> Result<bool, String> {
    let mut failed = false;
    for v in variants {
        let divergence = Job::new(scenario, v, seed)
            .check_determinism()
            .map_err(|e| format!("variant `{}`: {e}", v.name))?;
        match divergence {
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
    Ok(failed)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

fn check_file(args: CheckArgs) -> Result<ExitCode, String> {
    let origin = args.file.display().to_string();
    let (edn, histories) = read_history_file(&args, &origin)?;
    let bound = staleness_bound(&args)?;
    let judged: Vec<(&History, Vec<CheckResult>)> = histories
        .iter()
        .map(|h| (h, judge_history(h, edn, bound, &args.only)))
        .collect();
    let worst = judged
        .iter()
        .flat_map(|(_, results)| results)
        .map(|r| r.status)
        .fold(Status::Pass, Status::max);
    let out = match args.format {
        Format::Json => judged_json(&origin, &judged),
        Format::Table => judged_table(&origin, &judged, worst),
    };
    print_stdout(&out)?;
    Ok(match worst {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
        Status::Unknown => ExitCode::from(2),
    })
}

/// The histories of `lagsim check`'s file (at least one), and whether it is EDN.
fn read_history_file(args: &CheckArgs, origin: &str) -> Result<(bool, Vec<History>), String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read history file {}: {e}", args.file.display()))?;
    let edn = match args.input {
        Input::Edn => true,
        Input::Jsonl => false,
        Input::Auto => args.file.extension().is_some_and(|e| e == "edn"),
    };
    let histories = if edn {
        let model = match args.model {
            ModelArg::Register => RegisterModel::Register,
            ModelArg::CasRegister => RegisterModel::CasRegister,
        };
        vec![parse_edn_history(origin, &text, model).map_err(|e| e.to_string())?]
    } else {
        read_histories(origin, &text).map_err(|e| e.to_string())?
    };
    if histories.is_empty() {
        return Err(format!("{origin}: the file holds no history"));
    }
    Ok((edn, histories))
}

/// Checks `--only` and `--max-staleness-ms`; the staleness bound in µs.
fn staleness_bound(args: &CheckArgs) -> Result<u64, String> {
    let known: Vec<&str> = std::iter::once("linearizability")
        .chain(crate::scenario::CheckName::ALL.iter().map(|(n, _)| *n))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for o in &args.only {
        if !known.contains(&o.as_str()) {
            return Err(format!(
                "--only {o}: no such check; the checks are {}",
                known.join(", ")
            ));
        }
    }
    if !(args.max_staleness_ms.is_finite() && args.max_staleness_ms >= 0.0) {
        return Err("--max-staleness-ms must be a number >= 0".to_string());
    }
    Ok((args.max_staleness_ms * 1e3).round() as u64)
}

/// The checks `--only` asks for (default: every check the history allows) on one history.
fn judge_history(h: &History, edn: bool, bound: u64, only: &[String]) -> Vec<CheckResult> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    // The search is the costly check: run it only when asked for.
    let mut results = if edn {
        Vec::new()
    } else {
        check_history_without_linearizability(h, bound)
    };
    if wanted("linearizability") {
        results.insert(
            0,
            linearizability_result(h, &linearizability::Budget::default()),
        );
    }
    results.retain(|r| wanted(r.name));
    results
}

/// `lagsim check --format json`: every history's checks.
fn judged_json(origin: &str, judged: &[(&History, Vec<CheckResult>)]) -> String {
    let doc: Vec<serde_json::Value> = judged
        .iter()
        .map(|(h, results)| {
            let checks: serde_json::Map<String, serde_json::Value> = results
                .iter()
                .map(|r| {
                    let entry = CheckEntry {
                        result: r.clone(),
                        required: None,
                    };
                    (
                        r.name.to_string(),
                        serde_json::to_value(&entry).expect("plain data"),
                    )
                })
                .collect();
            serde_json::json!({
                "scenario": h.source.scenario,
                "variant": h.source.variant,
                "seed": h.source.seed,
                "operations": h.ops.len(),
                "keys": h.keys.len(),
                "processes": h.processes.len(),
                "checks": checks,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "file": origin, "histories": doc }))
        .expect("plain data")
        + "\n"
}

/// `lagsim check`'s table: every history's checks and findings, then the verdict.
fn judged_table(origin: &str, judged: &[(&History, Vec<CheckResult>)], worst: Status) -> String {
    let mut out = String::new();
    for (h, results) in judged {
        let name = match (&h.source.scenario, &h.source.variant) {
            (Some(s), Some(v)) => format!("{s} / {v}"),
            (None, Some(v)) => v.clone(),
            (Some(s), None) => s.clone(),
            (None, None) => origin.to_string(),
        };
        out += &format!(
            "history {name}: {} on {} by {}\n",
            plural(h.ops.len(), "operation"),
            plural(h.keys.len(), "key"),
            plural(h.processes.len(), "process")
        );
        for r in results {
            out += &format!("  {:<22} {:<8} {}\n", r.name, r.status.name(), r.summary);
            for f in &r.findings {
                out += &format!("    - {}\n{}", f.sentence, indent(&indent(&f.timeline)));
            }
        }
    }
    out + &format!(
        "verdict: {}\n",
        match worst {
            Status::Pass => "valid",
            Status::Fail => "INVALID",
            Status::Unknown => "unknown",
        }
    )
}

/// `1 key`, `3 keys`, `2 processes`.
fn plural(n: usize, noun: &str) -> String {
    match (n, noun.ends_with('s')) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        (_, false) => format!("{n} {noun}s"),
    }
}
