//! `lagsim explain`: a variant's run told in sentences, for teaching.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::engine::NoTrace;
use crate::model::{Recording, run_variant_observed};
use crate::report::explain::{Run, explain};

use super::progress::Progress;
use super::{load, select};

pub const EXPLAIN_EXAMPLES: &str = "\
Examples:
  # The Black Friday replay, told: spike, lag, the first stale read, the sell-out, the window
  # of wrongness, the first oversold order, the totals and the lesson
  lagsim explain scenarios/black-friday.toml --variant replica-read

  # Every variant, one after the other, with a timeline 120 columns wide
  lagsim explain scenarios/black-friday.toml --width 120

  # The same story with a replica paused for 20 s
  lagsim explain scenarios/lag-monitor.toml --variant replica \\
      --set 'faults=[{kind=\"pause-replica\", replica=\"replica-1\", at_s=20, duration_s=20}]'

Times are simulated seconds from the start of the run. The timeline's rows are sparklines (the
taller the bar, the larger the value within that row), its marks: S spike starts, A lag alert,
X sold out on the primary, ! first oversold order, R the last copy shows the sell-out.";

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The scenario file (TOML).
    file: PathBuf,
    /// Tell only this variant (repeatable; default: all, in file order).
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<String>,
    /// Root seed of every random stream (default: the file's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Override a field: PATH=VALUE (repeatable), as for `lagsim run`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Width of the timeline in columns (default: the terminal's, else 100; at least 40).
    #[arg(long)]
    width: Option<usize>,
}

/// The terminal's width, if standard output is one.
pub fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    term.size_checked().map(|(_, w)| usize::from(w))
}

pub fn explain_command(args: ExplainArgs) -> Result<ExitCode, String> {
    let scenario = load(&args.file, &args.sets)?;
    let seed = args.seed.unwrap_or(scenario.seed);
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
    let variants = select(&scenario, &args.variants)?;
    // Every story is told before any is printed, so the bar never interleaves with them.
    let mut progress = Progress::new(variants.len(), true);
    let mut stories = Vec::with_capacity(variants.len());
    for (i, v) in variants.into_iter().enumerate() {
        let recording = Recording {
            history: false,
            timeline: true,
        };
        progress.start(i, v);
        let run = run_variant_observed(v, seed, &mut NoTrace, recording, &mut |now| {
            progress.observe(now)
        })
        .map_err(|e| format!("scenario `{}`, variant `{}`: {e}", scenario.name, v.name))?;
        let timeline = run.timeline.as_deref().expect("a timeline was asked for");
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
        stories.push((v, story));
    }
    progress.finish();
    for (v, story) in stories {
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

/// Wraps a sentence at `width` columns, continuation lines indented.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if !line.is_empty() && line != indent {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn sentences_wrap_at_the_width_with_an_indent() {
        let w = wrap("one two three four five", 10, "  ");
        assert_eq!(w, "one two\n  three\n  four five");
        assert!(w.lines().all(|l| l.chars().count() <= 10));
    }
}
