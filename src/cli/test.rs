//! `lagsim test PATH...`: run every scenario's `[[expect]]` entries over several seeds, print a
//! line per expectation, and shrink the counterexample of each that fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::load;
use crate::check::expect::{Judgement, figure, judge, seeds, variants_to_run};
use crate::run::{Reproduce, fails_on, run_expectations};
use crate::scenario::{
    Claim, Expectation, Scenario, SeedShare, ShrinkError, ShrinkTarget, Shrunk, shrink,
};

/// Seeds per scenario when `--seeds` is not given.
pub const DEFAULT_SEEDS: usize = 3;
/// Most candidate scenarios the shrinker runs for one failing expectation.
pub const DEFAULT_SHRINK_RUNS: usize = 60;

pub const TEST_EXAMPLES: &str = "\
Examples:
  # Every bundled scenario's expectations, on 3 seeds each (the file's seed and the next two)
  lagsim test scenarios/

  # One file, more seeds, on 4 threads
  lagsim test scenarios/lag-monitor.toml --seeds 10 --jobs 4

  # Write the shrunk counterexample of a failing expectation into shrunk/
  lagsim test my-scenario.toml --shrink-dir shrunk

An expectation is an [[expect]] entry of a scenario file (docs/scenario-reference.md#expect):
  [[expect]]
  variants = [\"pessimistic-lock\", \"optimistic\"]
  that = \"oversold_units == 0\"
  why = \"they decide on the primary, atomically\"

Output: one line per expectation, `ok` or `FAIL`; a failure names its seed, the command that
reproduces it, and the smallest failing scenario the shrinker found (docs/output-reference.md).
Exit codes: 0 every expectation held, 1 some failed, 2 bad usage or input.";

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Scenario files, or directories searched recursively for `*.toml` (in sorted order).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Seeds per scenario: the file's `seed`, then the next ones.
    #[arg(long, default_value_t = DEFAULT_SEEDS as u64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// Runs at once (default: the machine's cores). The results do not depend on it.
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Do not shrink failing expectations.
    #[arg(long)]
    no_shrink: bool,
    /// Where to write shrunk scenarios (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    shrink_dir: PathBuf,
    /// Most candidate scenarios run while shrinking one failure.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SHRINK_RUNS as u64)]
    shrink_runs: u64,
}

/// Runs `lagsim test`.
pub fn test_command(args: TestArgs) -> Result<ExitCode, String> {
    let files = scenario_files(&args.paths)?;
    let mut loaded: Vec<(PathBuf, String, Scenario)> = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read scenario file {}: {e}", file.display()))?;
        let scenario = load(&file, &[])?;
        loaded.push((file, text, scenario));
    }
    let jobs = super::jobs(args.jobs);
    let (mut held, mut failed, mut scenarios) = (0usize, 0usize, 0usize);
    for (file, text, scenario) in &loaded {
        if scenario.expectations.is_empty() {
            println!("{}: no expectations", file.display());
            continue;
        }
        scenarios += 1;
        let seeds = seeds(scenario.seed, args.seeds as usize);
        let variants = variants_to_run(scenario);
        let total = variants.len() * seeds.len();
        println!(
            "{}: scenario `{}`, {} × {} = {}",
            file.display(),
            scenario.name,
            plural(variants.len(), "variant"),
            seed_list(&seeds),
            plural(total, "run")
        );
        let bar = progress_bar(total, &scenario.name);
        let runs = run_expectations(scenario, &seeds, jobs, &|| bar.inc(1));
        bar.finish_and_clear();
        for (index, e) in scenario.expectations.iter().enumerate() {
            let judgement = judge(e, index, &runs);
            let ok = judgement.as_ref().is_ok_and(|j| j.holds);
            if ok {
                held += 1;
            } else {
                failed += 1;
            }
            print_expectation(file, e, judgement.as_ref(), seeds.len());
            if let Ok(j) = &judgement {
                if !j.holds {
                    report_failure(&args, file, text, e, index, j);
                }
            }
        }
    }
    println!(
        "test: {} in {} over {}: {held} held, {failed} failed",
        plural(held + failed, "expectation"),
        plural(scenarios, "scenario"),
        plural(args.seeds as usize, "seed"),
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The files to test: each file as given, each directory's `*.toml` files, recursively, sorted.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_toml(p, &mut found)?;
            found.sort();
            if found.is_empty() {
                return Err(format!("{}: no *.toml scenario files in it", p.display()));
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn progress_bar(total: usize, name: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} runs ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

/// `seed 7`, `seeds 7, 8, 9`, `seeds 7 to 16`.
fn seed_list(seeds: &[u64]) -> String {
    match seeds {
        [one] => format!("seed {one}"),
        [first, .., last] if seeds.len() > 4 => {
            format!("{} seeds ({first} to {last})", seeds.len())
        }
        _ => format!(
            "seeds {}",
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `on all seeds`, `on at least 80% of seeds`.
fn on_seeds(share: SeedShare) -> String {
    match share {
        SeedShare::All => "on all seeds".to_string(),
        SeedShare::AtLeast(x) => format!("on at least {}% of seeds", figure(x * 100.0)),
    }
}

fn print_expectation(
    file: &Path,
    e: &Expectation,
    judgement: Result<&Judgement, &String>,
    seed_count: usize,
) {
    let head = format!(
        "{}:{}  {}: {} {}",
        file.display(),
        e.line,
        e.variants.join(", "),
        e.claim.text(),
        on_seeds(e.on_seeds)
    );
    match judgement {
        Err(error) => println!("  FAIL  {head}: the run stopped: {error}"),
        Ok(j) => {
            let shown: Vec<String> = j
                .variants
                .iter()
                .map(|v| {
                    v.seeds
                        .iter()
                        .map(|(_, o)| o.shown.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect();
            let passed: usize = j.variants.iter().map(|v| v.passed).sum();
            let count = if j.variants.len() == 1 {
                format!("{passed}/{seed_count} seeds")
            } else {
                format!("{passed}/{} runs", j.variants.len() * seed_count)
            };
            println!(
                "  {:<4}  {head}: {} ({count})",
                if j.holds { "ok" } else { "FAIL" },
                shown.join(" | ")
            );
        }
    }
    if !e.why.is_empty() {
        println!("        why: {}", e.why);
    }
}

fn report_failure(
    args: &TestArgs,
    file: &Path,
    text: &str,
    e: &Expectation,
    index: usize,
    j: &Judgement,
) {
    let Some(f) = &j.first_failure else { return };
    let what = match &e.claim {
        Claim::Figure { metric, .. } => format!("{metric} = {}", f.shown),
        Claim::Check { check, .. } => format!("check {} {}", check.name(), f.shown),
    };
    println!(
        "        failed: variant `{}`, seed {}: {what}",
        f.variant, f.seed
    );
    println!(
        "        reproduce: {}",
        reproduce_run(file, &f.variant, f.seed)
    );
    if args.no_shrink {
        return;
    }
    if let SeedShare::AtLeast(_) = e.on_seeds {
        println!(
            "        not shrunk: it holds on too few seeds, and no single seed is a counterexample"
        );
        return;
    }
    let target = ShrinkTarget {
        variant: &f.variant,
        seed: f.seed,
        expectation: index,
    };
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>28} {spinner} {pos} runs ({elapsed})")
            .expect("a valid template"),
    );
    bar.set_prefix("shrinking");
    let result = shrink(text, &target, args.shrink_runs as usize, |candidate| {
        bar.inc(1);
        fails_on(candidate, 0, &f.variant, f.seed)
    });
    bar.finish_and_clear();
    match result {
        Err(ShrinkError::NotReproduced) => println!(
            "        not shrunk: cut down to variant `{}` at seed {}, the scenario no longer fails",
            f.variant, f.seed
        ),
        Err(err) => println!("        not shrunk: {err}"),
        Ok(shrunk) => match write_shrunk(args, file, e, f.seed, &f.variant, &shrunk) {
            Ok(path) => {
                let budget = if shrunk.budget_exhausted {
                    " (the run budget ran out: --shrink-runs)"
                } else {
                    ""
                };
                println!(
                    "        shrunk in {}{budget}: {}",
                    plural(shrunk.runs, "run"),
                    if shrunk.reductions.is_empty() {
                        "nothing could be removed".to_string()
                    } else {
                        shrunk.reductions.join(", ")
                    }
                );
                println!("        shrunk scenario: {}", path.display());
                println!(
                    "        reproduce it: {}",
                    reproduce_run(&path, &f.variant, f.seed)
                );
            }
            Err(err) => println!("        not shrunk: {err}"),
        },
    }
}

/// Writes the shrunk scenario as `DIR/<stem>.line<L>.shrunk.toml`, with a comment saying where it
/// came from; never over the file it came from.
fn write_shrunk(
    args: &TestArgs,
    file: &Path,
    e: &Expectation,
    seed: u64,
    variant: &str,
    shrunk: &Shrunk,
) -> Result<PathBuf, String> {
    let dir = &args.shrink_dir;
    std::fs::create_dir_all(dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let stem = file
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy());
    let mut path = dir.join(format!("{stem}.line{}.shrunk.toml", e.line));
    let same =
        |p: &Path| matches!((p.canonicalize(), file.canonicalize()), (Ok(a), Ok(b)) if a == b);
    while same(&path) {
        path.set_extension("again.toml");
    }
    let header = format!(
        "# Shrunk by `lagsim test` from {} (the [[expect]] at line {}): the smallest scenario\n\
         # found on which variant `{variant}` still fails `{}` at seed {seed}.\n\
         # Reduced: {}.\n\
         # Reproduce: {}\n\n",
        file.display(),
        e.line,
        e.claim.text(),
        if shrunk.reductions.is_empty() {
            "nothing".to_string()
        } else {
            shrunk.reductions.join(", ")
        },
        reproduce_run(&path, variant, seed)
    );
    std::fs::write(&path, header + &shrunk.toml)
        .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    Ok(path)
}

/// The command that runs `variant` of the scenario `file` at `seed`.
fn reproduce_run(file: &Path, variant: &str, seed: u64) -> String {
    Reproduce {
        command: "run",
        file: &file.display().to_string(),
        seed,
        variants: &[variant.to_string()],
        ..Reproduce::default()
    }
    .line()
}

/// `1 run`, `3 runs`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
