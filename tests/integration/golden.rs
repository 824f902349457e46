//! The golden file `tests/golden/trace-hashes.txt`: for every variant of every bundled scenario
//! at its own seed, the events processed, the trace hash, and fingerprints of the metrics (their
//! JSON) and of the history every client saw (its JSON lines).
//!
//! A refactor must leave every line as it is. A change of behaviour regenerates the file
//! (`LAGSIM_UPDATE_GOLDEN=1 cargo test --release --test integration golden`) and says why in
//! the same commit.

use std::io::Write;
use std::path::{Path, PathBuf};

use lagsim::engine::hash_hex;
use lagsim::history::format::write_history;
use lagsim::run::Job;

use crate::support::{HISTORY, par_map, repo_path, scenario};

const GOLDEN: &str = "tests/golden/trace-hashes.txt";

/// FNV-1a over the bytes written: independent of the engine's own trace hash.
struct Fnv(u64);

impl Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write_all(bytes).expect("hashing cannot fail");
    h.0
}

/// Every `.toml` under `scenarios/`, sorted, as paths relative to the repository.
pub fn bundled() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("scenarios/ exists") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    let root = repo_path("");
    let mut files = Vec::new();
    walk(&repo_path("scenarios"), &mut files);
    let mut rel: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .expect("under the repository")
                .display()
                .to_string()
        })
        .collect();
    rel.sort();
    rel
}

/// One line of the golden file for variant `index` of `file`.
fn line(file: &str, index: usize) -> String {
    let s = scenario(file, &[]);
    let v = &s.variants[index];
    let run = Job::new(&s, v, s.seed)
        .options(HISTORY)
        .run()
        .unwrap_or_else(|e| panic!("{file} {} runs: {e}", v.name));
    let metrics = serde_json::to_string(&run.metrics).expect("metrics serialise");
    let mut history = Fnv(0xcbf2_9ce4_8422_2325);
    write_history(run.history.as_ref().expect("recorded"), &mut history)
        .expect("hashing cannot fail");
    format!(
        "{file} {} events={} trace={} metrics={} history={}",
        v.name,
        run.summary.events,
        hash_hex(run.summary.trace_hash),
        hash_hex(fnv(metrics.as_bytes())),
        hash_hex(history.0)
    )
}

fn golden_text() -> String {
    let pairs: Vec<(String, usize)> = bundled()
        .into_iter()
        .flat_map(|file| {
            let n = scenario(&file, &[]).variants.len();
            (0..n).map(move |i| (file.clone(), i))
        })
        .collect();
    let lines = par_map(&pairs, |(file, i)| line(file, *i));
    let mut text = String::from(
        "# scenario variant events trace-hash metrics-json-fnv history-jsonl-fnv, at each file's \
         own seed\n# (tests/integration/golden.rs; LAGSIM_UPDATE_GOLDEN=1 regenerates it)\n",
    );
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    text
}

#[test]
fn every_bundled_variant_matches_the_golden_file() {
    let got = golden_text();
    let path = repo_path(GOLDEN);
    if std::env::var_os("LAGSIM_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("a directory")).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).expect("the golden file exists");
    let (want_lines, got_lines): (Vec<&str>, Vec<&str>) = (
        want.lines().filter(|l| !l.starts_with('#')).collect(),
        got.lines().filter(|l| !l.starts_with('#')).collect(),
    );
    let differ: Vec<String> = want_lines
        .iter()
        .zip(&got_lines)
        .filter(|(w, g)| w != g)
        .map(|(w, g)| format!("  want {w}\n  got  {g}"))
        .collect();
    assert!(
        differ.is_empty() && want_lines.len() == got_lines.len(),
        "{} of {} lines differ from {GOLDEN} ({} lines expected, {} got):\n{}",
        differ.len(),
        want_lines.len(),
        want_lines.len(),
        got_lines.len(),
        differ.join("\n")
    );
}
