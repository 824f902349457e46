use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lagsim::model::metrics::Metrics;
use lagsim::run::{Checks, Job, Options, Outcome};
use lagsim::scenario::{Scenario, Variant, parse_scenario};

/// A run that records the history of every client operation.
pub const HISTORY: Options = Options {
    history: true,
    timeline: false,
    checks: Checks::None,
};
/// A run that records a timeline.
pub const TIMELINE: Options = Options {
    history: false,
    timeline: true,
    checks: Checks::None,
};

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Loads a bundled scenario with `--set`-style overrides.
pub fn scenario(rel: &str, sets: &[&str]) -> Scenario {
    let text = std::fs::read_to_string(repo_path(rel)).expect("bundled scenario exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    parse_scenario(rel, &text, &sets).unwrap_or_else(|e| panic!("{rel} is valid: {e}"))
}

/// Runs one named variant of a scenario at `seed`.
pub fn run(scenario: &Scenario, variant: &str, seed: u64) -> Metrics {
    let v = scenario
        .variants
        .iter()
        .find(|v| v.name == variant)
        .unwrap_or_else(|| panic!("variant {variant} exists"));
    Job::new(scenario, v, seed)
        .run()
        .unwrap_or_else(|e| panic!("{variant} seed {seed} runs: {e}"))
        .metrics
}

/// Runs variant `v` (of `scenario`, or an edited copy) at `seed`, recording what `options` asks
/// for.
pub fn outcome(scenario: &Scenario, v: &Variant, seed: u64, options: Options) -> Outcome {
    Job::new(scenario, v, seed)
        .options(options)
        .run()
        .unwrap_or_else(|e| panic!("{} seed {seed} runs: {e}", v.name))
}

/// Runs the `lagsim` binary with `args` from the repository root.
pub fn lagsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lagsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the lagsim binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `f` over `items` on two threads (the CI machine has two cores), keeping input order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let mid = items.len().div_ceil(2);
    let (a, b) = items.split_at(mid);
    std::thread::scope(|s| {
        let hb = s.spawn(|| b.iter().map(&f).collect::<Vec<R>>());
        let mut out: Vec<R> = a.iter().map(&f).collect();
        out.extend(hb.join().expect("worker thread"));
        out
    })
}

/// Cases per property test: `ci` unless `LAGSIM_PROPTEST_CASES=N` asks for N.
pub fn proptest_cases(ci: u32) -> u32 {
    std::env::var("LAGSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}
