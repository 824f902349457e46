//! Malformed input never panics: arbitrary text and mutations of every bundled scenario and of
//! real histories go through the parsers and validators; each ends in a clear error (located
//! inside its input) or in a valid run that ends (or stops at its event cap with a clear error).
//! `LAGSIM_PROPTEST_CASES=N` runs N cases per property. The `cargo fuzz` target for the scenario
//! parser is in `fuzz/` (see docs/testing.md).

use std::sync::OnceLock;

use proptest::prelude::*;

use lagsim::check::{
    check_history_without_linearizability, linearizability, linearizability_result,
};
use lagsim::history::edn::{RegisterModel, parse_edn_history};
use lagsim::history::format::{read_histories, write_history};
use lagsim::run::Job;
use lagsim::scenario::{ErrorInput, parse_scenario};

use crate::support::{HISTORY, outcome, proptest_cases as cases, repo_path, scenario};

/// Every bundled scenario file's text.
fn bundled() -> &'static [(String, String)] {
    static FILES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = Vec::new();
        for dir in ["scenarios", "scenarios/validation"] {
            let mut names: Vec<_> = std::fs::read_dir(repo_path(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            names.sort();
            for p in names {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
        out
    })
}

/// A real history (profile-email, shortened) as lagsim's JSON lines, and the EDN files.
fn histories() -> &'static (String, Vec<String>) {
    static H: OnceLock<(String, Vec<String>)> = OnceLock::new();
    H.get_or_init(|| {
        let s = scenario("scenarios/profile-email.toml", &["duration_s=20"]);
        let run = outcome(&s, &s.variants[0], s.seed, HISTORY);
        let mut jsonl = Vec::new();
        write_history(run.history.as_ref().unwrap(), &mut jsonl).unwrap();
        let edn = ["cas-valid", "failed-write-seen", "malformed", "stale-read"]
            .map(|n| {
                std::fs::read_to_string(repo_path(&format!("tests/data/histories/{n}.edn")))
                    .unwrap()
            })
            .to_vec();
        (String::from_utf8(jsonl).unwrap(), edn)
    })
}

/// One edit of a text: a byte replaced, inserted or removed, a line duplicated or dropped, or a
/// span replaced by a token that parsers find interesting.
#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    DuplicateLine(usize),
    DropLine(usize),
    Token(usize, usize, &'static str),
}

const TOKENS: &[&str] = &[
    "=",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ",",
    ".",
    "0",
    "-1",
    "1e308",
    "nan",
    "inf",
    "-0.0",
    "9223372036854775807",
    "true",
    "[[",
    "]]",
    "\n",
    "#",
    "'",
    "\\u0000",
    "é",
    "💥",
    "null",
    ":process",
    ":type :invoke",
    ":ok",
    "{\"op\":",
    "}\n{",
    "\"f\":\"cas\"",
];

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<prop::sample::Index>();
    prop_oneof![
        (at.clone(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i.index(usize::MAX), b)),
        (at.clone(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i.index(usize::MAX), b)),
        at.clone().prop_map(|i| Edit::Remove(i.index(usize::MAX))),
        at.clone()
            .prop_map(|i| Edit::DuplicateLine(i.index(usize::MAX))),
        at.clone().prop_map(|i| Edit::DropLine(i.index(usize::MAX))),
        (at, 0usize..12, prop::sample::select(TOKENS)).prop_map(|(i, len, t)| Edit::Token(
            i.index(usize::MAX),
            len,
            t
        )),
    ]
}

fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let n = b.len().max(1);
        match *e {
            Edit::Replace(i, x) if !b.is_empty() => b[i % n] = x,
            Edit::Insert(i, x) => b.insert(i % (b.len() + 1), x),
            Edit::Remove(i) if !b.is_empty() => {
                b.remove(i % n);
            }
            Edit::DuplicateLine(i) | Edit::DropLine(i) => {
                let s = String::from_utf8_lossy(&b).into_owned();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let k = i % lines.len();
                if matches!(e, Edit::DuplicateLine(_)) {
                    lines.insert(k, lines[k]);
                } else {
                    lines.remove(k);
                }
                b = lines.join("\n").into_bytes();
            }
            Edit::Token(i, len, t) => {
                let at = i % (b.len() + 1);
                let end = (at + len).min(b.len());
                b.splice(at..end, t.bytes());
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Parses `text`; an error must be located inside it; a valid scenario must run every variant
/// to its end or to a clear error (its event cap lowered so that no case takes long).
fn parse_and_run(origin: &str, text: &str) -> Result<(), TestCaseError> {
    match parse_scenario(origin, text, &[]) {
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(!shown.is_empty());
            if e.input == ErrorInput::File {
                prop_assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{shown}");
            }
        }
        Ok(s) => {
            for v in &s.variants {
                let mut v = v.clone();
                v.config.max_events = v.config.max_events.min(200_000);
                if let Err(e) = Job::new(&s, &v, s.seed).run() {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_never_a_panic(text in ".{0,400}", toml_soup in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        parse_and_run("arbitrary.toml", &text)?;
        parse_and_run("soup.toml", &toml_soup.concat())?;
        let _ = read_histories("arbitrary.jsonl", &text);
        let _ = parse_edn_history("arbitrary.edn", &text, RegisterModel::CasRegister);
    }

    #[test]
    fn mutated_bundled_scenarios_end_in_an_error_or_a_run(
        file in 0usize..64,
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let files = bundled();
        let (name, text) = &files[file % files.len()];
        parse_and_run(name, &mutate(text, &edits))?;
    }

    #[test]
    fn mutated_histories_end_in_an_error_or_a_verdict(
        which in 0usize..5,
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let (jsonl, edn) = histories();
        let small = linearizability::Budget { max_states_per_key: 20_000 };
        let judged = if which == 0 {
            read_histories("h.jsonl", &mutate(jsonl, &edits))
                .map(|hs| hs.into_iter().collect::<Vec<_>>())
                .map_err(|e| e.to_string())
        } else {
            parse_edn_history("h.edn", &mutate(&edn[which - 1], &edits), RegisterModel::CasRegister)
                .map(|h| vec![h])
                .map_err(|e| e.to_string())
        };
        match judged {
            Err(message) => prop_assert!(!message.is_empty()),
            Ok(hs) => {
                for h in &hs {
                    let _ = linearizability_result(h, &small);
                    let _ = check_history_without_linearizability(h, 0);
                }
            }
        }
    }
}
