//! Docs that cannot drift: every output pasted in README.md and docs/ under a marker
//!
//! ```text
//! <!-- output of: lagsim run scenarios/lag-monitor.toml -->
//! ```
//!
//! (the fenced block right after it) is what that command prints on stdout today. A marker may end
//! in `| head N` to keep the first N lines. `LAGSIM_UPDATE_DOCS=1 cargo test --release --test
//! integration docs` rewrites the blocks from fresh runs.
//!
//! A marker written `<!-- output of (slow): lagsim … -->` is for a command of minutes (a band
//! over 20 seeds of black-friday): it is checked (and rewritten) only with `LAGSIM_DOCS_SLOW=1`,
//! which `.ci/run` sets in a step of its own.

use std::path::PathBuf;

use crate::support::{lagsim, par_map, repo_path, stderr, stdout};

const MARKER: &str = "<!-- output of: lagsim ";
const SLOW_MARKER: &str = "<!-- output of (slow): lagsim ";

/// The documents that paste outputs.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![repo_path("README.md")];
    for dir in ["docs", "docs/patterns"] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(repo_path(dir))
            .expect("docs exist")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        here.sort();
        files.extend(here);
    }
    files
}

/// One pasted output: the command's arguments, how many lines it keeps, and where its block's
/// body sits in the document (line indices, end exclusive).
struct Pasted {
    args: Vec<String>,
    /// Checked only with `LAGSIM_DOCS_SLOW`.
    slow: bool,
    head: Option<usize>,
    body: std::ops::Range<usize>,
}

/// Splits a command line like a shell would, for the quoting the docs use ('…' and "…").
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

fn pasted(lines: &[&str], file: &str) -> Vec<Pasted> {
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        let (rest, slow) = match (line.strip_prefix(MARKER), line.strip_prefix(SLOW_MARKER)) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => continue,
        };
        let command = rest
            .strip_suffix("-->")
            .expect("a marker ends with -->")
            .trim();
        let (command, head) = match command.split_once(" | head ") {
            Some((c, n)) => (c, Some(n.trim().parse().expect("head N"))),
            None => (command, None),
        };
        let open = i + 1;
        assert!(
            lines.get(open).is_some_and(|l| l.starts_with("```")),
            "{file}:{}: a marker is followed by a fenced block",
            i + 1
        );
        let close = (open + 1..lines.len())
            .find(|&j| lines[j] == "```")
            .unwrap_or_else(|| panic!("{file}:{}: the block is closed", open + 1));
        found.push(Pasted {
            args: words(command),
            slow,
            head,
            body: open + 1..close,
        });
    }
    found
}

/// What the command prints today, cut as the marker says.
fn fresh(p: &Pasted) -> Vec<String> {
    let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
    let o = lagsim(&args);
    let text = stdout(&o);
    let lines = text.lines().map(str::to_string);
    match p.head {
        Some(n) => lines.take(n).collect(),
        None => lines.collect(),
    }
}

#[test]
fn every_pasted_output_is_what_its_command_prints_today() {
    let update = std::env::var_os("LAGSIM_UPDATE_DOCS").is_some();
    let slow = std::env::var_os("LAGSIM_DOCS_SLOW").is_some();
    let mut stale = Vec::new();
    let mut blocks = 0;
    for path in documents() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let file = path.display().to_string();
        let mut found = pasted(&lines, &file);
        found.retain(|p| slow || !p.slow);
        blocks += found.len();
        let outputs = par_map(&found, fresh);
        let mut rewritten: Vec<String> = Vec::new();
        let mut at = 0;
        for (p, now) in found.iter().zip(&outputs) {
            let was: Vec<&str> = lines[p.body.clone()].to_vec();
            if was != now.iter().map(String::as_str).collect::<Vec<_>>() {
                stale.push(format!(
                    "{file}:{}: lagsim {}",
                    p.body.start,
                    p.args.join(" ")
                ));
            }
            rewritten.extend(lines[at..p.body.start].iter().map(|l| l.to_string()));
            rewritten.extend(now.iter().cloned());
            at = p.body.end;
        }
        rewritten.extend(lines[at..].iter().map(|l| l.to_string()));
        if update && !found.is_empty() {
            std::fs::write(&path, rewritten.join("\n") + "\n").unwrap();
        }
    }
    assert!(blocks > 0, "the docs paste outputs under markers");
    assert!(
        update || stale.is_empty(),
        "{} pasted outputs differ from what their commands print now \
         (LAGSIM_UPDATE_DOCS=1 rewrites them):\n{}",
        stale.len(),
        stale.join("\n")
    );
}

#[test]
fn commands_are_split_as_a_shell_would() {
    assert_eq!(
        words(r#"run f.toml --set 'a=[{ x = "y" }]' --set b=1"#),
        [
            "run",
            "f.toml",
            "--set",
            r#"a=[{ x = "y" }]"#,
            "--set",
            "b=1"
        ]
    );
    assert_eq!(
        words("check h.edn --model cas-register"),
        ["check", "h.edn", "--model", "cas-register"]
    );
}

/// The example commands of `lagsim explain --help` (the lines starting `lagsim`, joined across
/// trailing backslashes): each must run, so an example cannot name a variant that is gone.
#[test]
fn every_example_in_explain_help_runs() {
    let help = stdout(&lagsim(&["explain", "--help"]));
    let mut examples: Vec<String> = Vec::new();
    let mut open = false;
    for line in help.lines().map(str::trim) {
        let text = line.trim_end_matches('\\').trim();
        if open {
            let last = examples.last_mut().expect("a continued example");
            last.push(' ');
            last.push_str(text);
        } else if line.starts_with("lagsim ") {
            examples.push(text.to_string());
        } else {
            continue;
        }
        open = line.ends_with('\\');
    }
    assert_eq!(examples.len(), 3, "{help}");
    for example in &examples {
        let args = words(example);
        let args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
        let o = lagsim(&args);
        assert!(o.status.success(), "`{example}`: {}", stderr(&o));
        assert!(stdout(&o).contains("Lesson"), "`{example}` tells no story");
    }
}
