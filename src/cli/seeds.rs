//! `lagsim run FILE --seeds N`: every variant on N seeds, as bands (see `report::bands`).

use std::process::ExitCode;

use super::progress::Progress;
use super::{Format, RunArgs, jobs, print_stdout};
use crate::check::Status;
use crate::engine::{NoTrace, hash_hex};
use crate::report::{BandReport, VariantReport, render_bands};
use crate::run::{Checks, Job, Options, in_parallel};
use crate::scenario::Variant;

/// Runs the variants on `n` seeds and prints the bands; exit 1 if a required check failed on some
/// seed.
pub(super) fn run_seeds(args: &RunArgs, n: u32) -> Result<ExitCode, String> {
    refuse_recordings(args)?;
    let scenario = args.scenario.load()?;
    let first = args.scenario.seed(&scenario);
    let variants = args.scenario.select(&scenario)?;
    let seeds: Vec<u64> = (0..u64::from(n)).map(|i| first.wrapping_add(i)).collect();
    // Variant by variant, each over every seed: the order results come back in.
    let pairs: Vec<(&Variant, u64)> = variants
        .iter()
        .flat_map(|&v| seeds.iter().map(move |&s| (v, s)))
        .collect();
    let slots: Vec<&Variant> = pairs.iter().map(|(v, _)| *v).collect();
    let progress = Progress::new(&slots, args.format != Format::Json);
    let options = Options {
        checks: if args.skip_checks {
            Checks::Results
        } else {
            Checks::All
        },
        ..Options::default()
    };
    let run = |index: usize, &(v, seed): &(&Variant, u64)| -> Result<VariantReport, String> {
        progress.start(v);
        let observe = |now| progress.observe(index, now);
        let job = Job::new(&scenario, v, seed)
            .options(options)
            .progress(&observe);
        let out = job.run_traced(&mut NoTrace).map_err(|e| {
            format!(
                "scenario `{}`, variant `{}`, seed {seed}: {e}",
                scenario.name, v.name
            )
        })?;
        progress.finished(index);
        Ok(VariantReport {
            name: v.name.clone(),
            checkout: v.checkout.name(),
            page: v.page.name(),
            trace_hash: hash_hex(out.summary.trace_hash),
            events: out.summary.events,
            end_s: out.summary.end.as_secs_f64(),
            metrics: out.metrics,
            checks: out.checks,
        })
    };
    let mut runs: Vec<Vec<VariantReport>> = vec![Vec::new(); variants.len()];
    let mut done = 0;
    in_parallel(&pairs, jobs(args.jobs), run, |r| {
        runs[done / seeds.len()].push(r);
        done += 1;
        Ok(())
    })?;
    progress.finish();
    let reproduce = args.scenario.reproduce_seeds(first, n);
    let report = BandReport::new(&scenario.name, seeds, reproduce, runs, 0);
    print_bands(&report, args.format)?;
    Ok(if report_required_checks(&report) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Bands are about figures: one trace, history or set of charts per run would be a file per
/// seed, and the determinism check is a property of one run.
fn refuse_recordings(args: &RunArgs) -> Result<(), String> {
    let asked = [
        (args.trace.is_some(), "--trace"),
        (args.history.is_some(), "--history"),
        (args.charts.is_some(), "--charts"),
        (args.check_determinism, "--check-determinism"),
    ];
    match asked.iter().find(|(on, _)| *on) {
        Some((_, flag)) => Err(format!(
            "{flag} records one run, and --seeds runs many: run the seed you want to look at \
             without --seeds (`--seed S`)"
        )),
        None => Ok(()),
    }
}

fn print_bands(report: &BandReport, format: Format) -> Result<(), String> {
    let text = match format {
        Format::Json => report.to_json() + "\n",
        Format::Table => {
            let seeds = &report.seeds;
            let mut text = format!(
                "scenario: {}   seeds: {} to {} ({})   each cell: mean ± 95% interval over the seeds\n\n",
                report.scenario,
                seeds[0],
                seeds[seeds.len() - 1],
                seeds.len()
            );
            text += &render_bands(report);
            text + &format!("reproduce: {}\n", report.reproduce)
        }
    };
    print_stdout(&text)
}

/// One line per required check and variant on stderr: on how many seeds it passed. Whether one
/// failed (or was undecided) on some seed.
fn report_required_checks(report: &BandReport) -> bool {
    let mut failed = false;
    for v in &report.variants {
        let mut names: Vec<&str> = Vec::new();
        for run in &v.runs {
            for c in run.checks.iter().filter(|c| c.required.is_some()) {
                if !names.contains(&c.result.name) {
                    names.push(c.result.name);
                }
            }
        }
        for name in names {
            let verdicts: Vec<(u64, Status)> = v
                .runs
                .iter()
                .filter_map(|r| {
                    let c = r.checks.iter().find(|c| c.result.name == name)?;
                    Some((r.seed, c.required.as_ref()?.verdict))
                })
                .collect();
            let bad: Vec<String> = verdicts
                .iter()
                .filter(|(_, s)| *s != Status::Pass)
                .map(|(seed, _)| seed.to_string())
                .collect();
            let passed = verdicts.len() - bad.len();
            let verdict = if bad.is_empty() { "ok" } else { "FAILED" };
            eprintln!(
                "check {name}: variant `{}`: {verdict} on {passed} of {} seeds{}",
                v.name,
                verdicts.len(),
                if bad.is_empty() {
                    String::new()
                } else {
                    format!(" (not on seeds {})", bad.join(", "))
                }
            );
            failed |= !bad.is_empty();
        }
    }
    failed
}
