//! The HTML report in a real browser: `lagsim report` for every bundled scenario, each page
//! opened in headless Chromium by `tests/browser/check-report.mjs` (playwright-core), which
//! checks that it loads without a console error or any request beyond the file, that the
//! comparison table and the expected words are there, and that every chart is drawn.
//!
//! Ignored by default (it needs Chromium and Node.js, which the README's test command does not
//! assume); `.ci/run` installs them and runs it:
//! `cargo test --release --test integration browser -- --ignored`.

use std::path::Path;
use std::process::Command;

use crate::support::{lagsim, repo_path};

/// Every scenario file under `scenarios/`, in name order.
fn bundled_scenarios() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["scenarios", "scenarios/validation"] {
        let mut names: Vec<String> = std::fs::read_dir(repo_path(dir))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.ends_with(".toml").then(|| format!("{dir}/{name}"))
            })
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}

#[test]
#[ignore = "needs Chromium and Node.js with tests/browser's packages: .ci/run runs it"]
fn every_bundled_scenarios_report_renders_in_headless_chromium() {
    let dir = std::env::temp_dir().join(format!("lagsim-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut pages = Vec::new();
    for scenario in bundled_scenarios() {
        let stem = Path::new(&scenario)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let page = dir.join(format!("{stem}.html"));
        let out = lagsim(&["report", &scenario, "-o", page.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("<script"),
            "{scenario}: a script in the page"
        );
        // What the browser must show: the scenario's name, the comparison, every variant's story.
        let words = format!("{stem},Comparison,What happened,Lesson");
        pages.push(format!("{}:{words}", page.display()));
    }
    let script = repo_path("tests/browser/check-report.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args(&pages)
        .output()
        .expect("node runs (install Node.js, then `npm ci` in tests/browser)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        pages.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
