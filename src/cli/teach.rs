//! `lagsim explain` (a variant's run told in sentences, for teaching) and `lagsim report` (one
//! self-contained HTML page for a design review).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::check::Status;
use crate::report::charts::{chart_titles, render_all_svg};
use crate::report::explain::{Run, explain};
use crate::report::html::{Chart, Page, render_html};
use crate::report::{RunReport, wrap};
use crate::run::{Job, Options, in_parallel};
use crate::scenario::Variant;

use super::args::ScenarioArgs;
use super::progress::Progress;
use super::{Execution, chart_set, execute, jobs};

pub const EXPLAIN_EXAMPLES: &str = "\
Examples:
  # The Black Friday replay, told: spike, lag, the first stale read, the sell-out, the window
  # of wrongness, the first oversold order, the totals and the lesson
  lagsim explain scenarios/black-friday.toml --variant replica-read

  # Every variant, one after the other, with a timeline 120 columns wide
  lagsim explain scenarios/black-friday.toml --width 120

  # The same story with a replica paused for 20 s
  lagsim explain scenarios/lag-monitor.toml --variant replica-read \\
      --set 'faults=[{kind=\"pause-replica\", replica=\"replica-1\", at_s=20, duration_s=20}]'

Times are simulated seconds from the start of the run. The timeline's rows are sparklines (the
taller the bar, the larger the value within that row), its marks: S spike starts, A lag alert,
X sold out on the primary, ! first oversold order, R the last copy shows the sell-out.";

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Width of the timeline in columns (default: the terminal's, else 100; at least 40).
    #[arg(long)]
    width: Option<usize>,
}

pub const REPORT_EXAMPLES: &str = "\
Examples:
  # The Black Friday replay as one HTML page: description, comparison, charts, checks, story
  lagsim report scenarios/black-friday.toml -o black-friday.html

  # Two variants only, another seed
  lagsim report scenarios/black-friday.toml -o bf.html --variant replica-read \\
      --variant pessimistic-lock --seed 7

The page is self-contained (inline SVG and CSS, no script, nothing fetched): attach it, or open it
offline. Exit codes: 0 written, 1 written but a required check failed, 2 bad usage or input.";

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Where to write the page.
    #[arg(short = 'o', long = "output", value_name = "FILE.html")]
    output: PathBuf,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Variants run at once (default: the machine's cores). The page does not depend on it.
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
}

pub fn report_command(args: ReportArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load()?;
    let seed = args.scenario.seed(&scenario);
    let variants = args.scenario.select(&scenario)?;
    // Fail before the runs, not after, if the page cannot be written.
    let mut file = std::fs::File::create(&args.output)
        .map_err(|e| format!("cannot create report {}: {e}", args.output.display()))?;
    let (reports, timelines) = execute(
        &scenario,
        &variants,
        seed,
        &Execution {
            trace: None,
            history: None,
            checks: true,
            timelines: true,
            progress: true,
            jobs: jobs(args.jobs),
        },
    )?;
    let reproduce = args.scenario.reproduce("report", Some(&args.output), seed);
    let mut report = RunReport::new(&scenario.name, seed, reproduce, reports);
    report.view = scenario.report.clone();
    let set = chart_set(&scenario, seed, &report.variants, &timelines);
    let charts: Vec<Chart> = render_all_svg(&set)
        .map_err(|e| e.to_string())?
        .into_iter()
        .zip(chart_titles(&set))
        .map(|((_, svg), title)| Chart { title, svg })
        .collect();
    let stories: Vec<_> = report
        .variants
        .iter()
        .zip(&timelines)
        .map(|(v, t)| {
            explain(
                &Run {
                    variant: &v.name,
                    checkout: v.checkout,
                    page: v.page,
                    metrics: &v.metrics,
                    timeline: t,
                },
                100,
            )
        })
        .collect();
    let html = render_html(&Page {
        title: &scenario.name,
        description: &scenario.description,
        report: &report,
        charts: &charts,
        stories: &stories,
    });
    file.write_all(html.as_bytes())
        .map_err(|e| format!("cannot write report {}: {e}", args.output.display()))?;
    eprintln!(
        "report: {} ({} KB, {} charts, {} variants)",
        args.output.display(),
        html.len().div_ceil(1024),
        charts.len(),
        report.variants.len()
    );
    let failed = report.variants.iter().any(|v| {
        v.checks.iter().any(|c| {
            c.required
                .as_ref()
                .is_some_and(|r| r.verdict != Status::Pass)
        })
    });
    if failed {
        eprintln!("a required check failed: see the page's Checks section");
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The terminal's width, if standard output is one.
pub fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    term.size_checked().map(|(_, w)| usize::from(w))
}

pub fn explain_command(args: ExplainArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load()?;
    let seed = args.scenario.seed(&scenario);
    let width = args.width.or_else(terminal_width).unwrap_or(100).max(40);
    let mut out = std::io::stdout().lock();
    let mut print = |s: &str| {
        out.write_all(s.as_bytes())
            .map_err(|e| format!("cannot write output: {e}"))
    };
    print(&format!(
        "{}: {}\nseed {seed}\n",
        scenario.name, scenario.description
    ))?;
    let variants = args.scenario.select(&scenario)?;
    // Every story is told before any is printed, so the bar never interleaves with them; one
    // variant at a time.
    let progress = Progress::new(&variants, true);
    let mut stories = Vec::with_capacity(variants.len());
    let options = Options {
        timeline: true,
        ..Options::default()
    };
    let tell = |i: usize, v: &&Variant| {
        progress.start(v);
        let observe = |now| progress.observe(i, now);
        let run = Job::new(&scenario, v, seed)
            .options(options)
            .progress(&observe)
            .run()
            .map_err(|e| format!("scenario `{}`, variant `{}`: {e}", scenario.name, v.name))?;
        progress.finished(i);
        let timeline = run.timeline.as_ref().expect("a timeline was asked for");
        let story = explain(
            &Run {
                variant: &v.name,
                checkout: v.checkout.name(),
                page: v.page.name(),
                metrics: &run.metrics,
                timeline,
            },
            width,
        );
        Ok(story)
    };
    in_parallel(&variants, 1, tell, |told| {
        stories.push(told);
        Ok::<_, String>(())
    })?;
    progress.finish();
    for (v, story) in variants.into_iter().zip(stories) {
        print(&format!(
            "\n== {} (checkout {}, pages from {})\n\n",
            v.name,
            v.checkout.name(),
            v.page.name()
        ))?;
        for s in &story.sentences {
            print(&format!("{}\n", wrap(s, width, "  ")))?;
        }
        print("\n")?;
        print(&story.timeline)?;
    }
    Ok(ExitCode::SUCCESS)
}
