use std::path::{Path, PathBuf};

use lagsim::model::timeline::Timeline;
use lagsim::report::charts::{
    ChartSet, ChartVariant, FONT_TTF, chart_stems, render_all_svg, write_charts,
};
use lagsim::run::{Job, Options, Outcome};
use lagsim::scenario::Scenario;

use crate::support::{lagsim, par_map, repo_path, scenario, stderr};

/// Every bundled scenario file, sorted: a new one is charted without editing this test.
fn bundled() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/validation"] {
        for entry in std::fs::read_dir(repo_path(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".toml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

fn runs(s: &Scenario, seed: u64) -> Vec<(Outcome, Timeline)> {
    let options = Options {
        timeline: true,
        ..Options::default()
    };
    par_map(&s.variants, |v| {
        let mut run = Job::new(s, v, seed)
            .options(options)
            .run()
            .unwrap_or_else(|e| panic!("{} runs: {e}", v.name));
        let t = run.timeline.take().unwrap();
        (run, t)
    })
}

fn chart_set<'a>(s: &'a Scenario, seed: u64, runs: &'a [(Outcome, Timeline)]) -> ChartSet<'a> {
    ChartSet {
        scenario: &s.name,
        seed,
        variants: s
            .variants
            .iter()
            .zip(runs)
            .enumerate()
            .map(|(i, (v, (run, t)))| ChartVariant {
                name: &v.name,
                colour_index: i,
                metrics: &run.metrics,
                timeline: t,
            })
            .collect(),
    }
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lagsim-charts-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn charts_are_drawn_for_every_bundled_scenario() {
    let files = bundled();
    assert!(files.len() >= 7, "{files:?}");
    let out = temp_dir("bundled");
    for file in &files {
        // Short runs keep the test fast; faults and price changes still happen (the run goes on
        // until they are over).
        let s = scenario(file, &["duration_s=20"]);
        let runs = runs(&s, 1);
        let set = chart_set(&s, 1, &runs);
        let stems = chart_stems(&set);
        let written = write_charts(&set, &out).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(written.len(), 2 * stems.len(), "{file}");
        let dir = out.join(&s.name);
        let mut expected: Vec<String> = stems
            .iter()
            .flat_map(|s| [format!("{s}.png"), format!("{s}.svg")])
            .collect();
        expected.sort();
        assert_eq!(files_in(&dir), expected, "{file}");
        for path in &written {
            let bytes = std::fs::read(path).unwrap();
            match path.extension().unwrap().to_str().unwrap() {
                "png" => assert_eq!(&bytes[1..4], b"PNG", "{}", path.display()),
                _ => assert!(bytes.starts_with(b"<svg"), "{}", path.display()),
            }
        }
        // Charts 1 and 2 per variant, 3 to 5 across them, and the scenario's own.
        let n = s.variants.len();
        let own: Vec<&str> = stems[2 * n + 3..].iter().map(String::as_str).collect();
        let wanted: &[&str] = match s.name.as_str() {
            "profile-email" => &["06-read-your-writes"],
            "partition-cp-vs-ap" | "lag-monitor" => &["07-availability"],
            "checkout-saga" => &["08-saga-inconsistency-windows"],
            _ => &[],
        };
        assert_eq!(own, wanted, "{file}");
        assert_eq!(stems[0], format!("01-beliefs-{}", s.variants[0].name));
        assert_eq!(stems[n], format!("02-lag-{}", s.variants[0].name));
        assert_eq!(
            stems[2 * n..2 * n + 3],
            ["03-variants", "04-checkout-latency-cdf", "05-staleness"]
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn same_seed_gives_byte_identical_charts() {
    let s = scenario("scenarios/lag-monitor.toml", &["duration_s=60"]);
    let (a, b) = (runs(&s, 7), runs(&s, 7));
    let (set_a, set_b) = (chart_set(&s, 7, &a), chart_set(&s, 7, &b));
    let (svg_a, svg_b) = (
        render_all_svg(&set_a).unwrap(),
        render_all_svg(&set_b).unwrap(),
    );
    assert_eq!(svg_a.len(), chart_stems(&set_a).len());
    for ((name_a, a), (name_b, b)) in svg_a.iter().zip(&svg_b) {
        assert_eq!(name_a, name_b);
        assert!(a == b, "{name_a} differs between two runs");
    }
    // The files too, PNG included.
    let (da, db) = (temp_dir("det-a"), temp_dir("det-b"));
    let (wa, wb) = (
        write_charts(&set_a, &da).unwrap(),
        write_charts(&set_b, &db).unwrap(),
    );
    for (pa, pb) in wa.iter().zip(&wb) {
        assert_eq!(pa.file_name(), pb.file_name());
        assert!(
            std::fs::read(pa).unwrap() == std::fs::read(pb).unwrap(),
            "{}",
            pa.display()
        );
    }
    // Another seed draws other charts.
    let c = runs(&s, 8);
    let svg_c = render_all_svg(&chart_set(&s, 8, &c)).unwrap();
    assert_ne!(svg_a[0].1, svg_c[0].1);
    std::fs::remove_dir_all(&da).unwrap();
    std::fs::remove_dir_all(&db).unwrap();
}

#[test]
fn odd_data_draws_notes_instead_of_panicking() {
    let s = scenario("scenarios/lag-monitor.toml", &["duration_s=5"]);
    let runs = runs(&s, 1);
    // No variant at all: the cross-variant charts, each with a note.
    let none = ChartSet {
        scenario: "empty",
        seed: 1,
        variants: Vec::new(),
    };
    let svgs = render_all_svg(&none).unwrap();
    let names: Vec<&str> = svgs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["03-variants", "04-checkout-latency-cdf", "05-staleness"]
    );
    assert!(svgs[0].1.contains("no variants were run"));
    assert!(svgs[2].1.contains("no stale read"));
    // A timeline with no sample, and one with a single sample.
    let mut empty = runs[0].1.clone();
    let mut single = runs[0].1.clone();
    for (keep, t) in [(0, &mut empty), (1, &mut single)] {
        t.t_us.truncate(keep);
        for column in t
            .primary_stock
            .iter_mut()
            .chain(t.replica_stock.iter_mut().flatten())
        {
            column.truncate(keep);
        }
        for column in t
            .replica_lag_us
            .iter_mut()
            .chain(t.replica_reported_lag_us.iter_mut())
        {
            column.truncate(keep);
        }
        for column in [
            &mut t.shoppers,
            &mut t.orders_confirmed,
            &mut t.orders_failed,
            &mut t.ryw_violations,
            &mut t.requests,
            &mut t.request_timeouts,
        ] {
            column.truncate(keep);
        }
        for column in &mut t.cache_stock {
            column.truncate(keep);
        }
        t.end_us = 0;
    }
    let mut zero_metrics = runs[0].0.metrics.clone();
    zero_metrics.oversold_units = 0;
    zero_metrics.orders_failed = 0;
    zero_metrics.checkout_latency_ms_p99 = 0.0;
    zero_metrics.primary_queries = 0;
    let set = ChartSet {
        scenario: "odd",
        seed: 1,
        variants: vec![
            ChartVariant {
                name: "no-samples",
                colour_index: 0,
                metrics: &zero_metrics,
                timeline: &empty,
            },
            ChartVariant {
                name: "one sample / odd name",
                colour_index: 13,
                metrics: &zero_metrics,
                timeline: &single,
            },
        ],
    };
    let svgs = render_all_svg(&set).unwrap();
    let find = |name: &str| &svgs.iter().find(|(n, _)| n == name).unwrap().1;
    assert!(find("01-beliefs-no-samples").contains("no samples were recorded"));
    assert!(find("02-lag-no-samples").contains("no samples were recorded"));
    assert!(find("01-beliefs-one_sample___odd_name").contains("the stock never changed"));
    assert!(find("03-variants").contains("0 in every variant"));
}

#[test]
fn the_cli_writes_charts_and_lists_them() {
    let dir = temp_dir("cli");
    let out = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=5",
        "--format",
        "json",
        "--charts",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("charts: 10 files"), "{err}");
    let listed: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(listed.len(), 10);
    assert!(
        listed[0].trim().ends_with("replica-mm1/01-beliefs-mm1.svg"),
        "{err}"
    );
    assert_eq!(files_in(&dir.join("replica-mm1")).len(), 10);
    // The JSON document on stdout is unchanged by the charts.
    let plain = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=5",
        "--format",
        "json",
    ]);
    assert_eq!(out.stdout, plain.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_charts_directory_is_a_usage_error() {
    // A directory cannot be created under a regular file.
    let out = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=1",
        "--charts",
        "Cargo.toml/charts",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: cannot create charts directory Cargo.toml/charts"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "nothing is run");
}

#[test]
fn the_bundled_font_ships_with_its_licence() {
    let font = std::fs::read(repo_path("assets/fonts/DejaVuSans.ttf")).unwrap();
    assert!(
        font == FONT_TTF,
        "the embedded font is the file in assets/fonts"
    );
    let licence = std::fs::read_to_string(repo_path("assets/fonts/LICENSE-DejaVu.txt")).unwrap();
    for phrase in [
        "Bitstream Vera Fonts Copyright",
        "DejaVu changes are in public domain",
        "Arev Fonts Copyright",
        "THE FONT SOFTWARE IS PROVIDED \"AS IS\"",
    ] {
        assert!(licence.contains(phrase), "{phrase}");
    }
}
