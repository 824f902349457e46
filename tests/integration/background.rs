//! The two ways of simulating the background reads give the same figures: as events (the
//! reference, `[engine] background = "events"`) and as arithmetic on the replicas' stations
//! (`"lazy"`, the default). With the keyed draws both paths draw the same values, and both order
//! an instant alike, so the metrics, the history every client saw and the timeline must be
//! identical; only the events processed and the trace hash differ. The history checkers are pure
//! functions of the history, so their verdicts follow.

use proptest::prelude::*;

use lagsim::history::format::write_history;
use lagsim::run::{Checks, Job, Options, Outcome};
use lagsim::scenario::{BackgroundMode, Scenario, Variant, parse_scenario};
use lagsim::testing::{Space, scenarios};

use crate::support::{par_map, proptest_cases as cases, scenario};

const RECORD: Options = Options {
    history: true,
    timeline: true,
    checks: Checks::Results,
};

fn run_as(s: &Scenario, v: &Variant, seed: u64, mode: BackgroundMode) -> Outcome {
    let mut v = v.clone();
    v.config.background_mode = mode;
    Job::new(s, &v, seed)
        .options(RECORD)
        .run()
        .unwrap_or_else(|e| panic!("{} ({mode:?}) runs: {e}", v.name))
}

/// Everything but the events and the trace hash, as text: where the paths part shows in a diff.
fn figures(o: &Outcome) -> Vec<String> {
    let mut history = Vec::new();
    write_history(o.history.as_ref().expect("recorded"), &mut history).expect("in memory");
    vec![
        format!("end {}", o.summary.end),
        serde_json::to_string_pretty(&o.metrics).expect("metrics serialise"),
        String::from_utf8(history).expect("utf-8"),
        format!("{:#?}", o.timeline),
        format!("{:#?}", o.checks),
    ]
}

/// The first line on which the two paths differ on `v` (`None`: they agree), and the events
/// each processed.
fn compare(s: &Scenario, v: &Variant, seed: u64) -> (Option<String>, [u64; 2]) {
    let events = run_as(s, v, seed, BackgroundMode::Events);
    let lazy = run_as(s, v, seed, BackgroundMode::Lazy);
    let counts = [events.summary.events, lazy.summary.events];
    for (a, b) in figures(&events).iter().zip(&figures(&lazy)) {
        if let Some((x, y)) = a.lines().zip(b.lines()).find(|(x, y)| x != y) {
            return (
                Some(format!("{}: events `{x}`, lazy `{y}`", v.name)),
                counts,
            );
        }
        if a != b {
            return (Some(format!("{}: one output is longer", v.name)), counts);
        }
    }
    (None, counts)
}

#[test]
fn both_paths_give_identical_figures_on_every_bundled_scenario() {
    let files = crate::golden::bundled();
    let pairs: Vec<(Scenario, usize)> = files
        .iter()
        .flat_map(|f| {
            let s = scenario(f, &[]);
            (0..s.variants.len()).map(move |i| (s.clone(), i))
        })
        .collect();
    let results = par_map(&pairs, |(s, i)| compare(s, &s.variants[*i], s.seed));
    let differ: Vec<&String> = results.iter().filter_map(|(d, _)| d.as_ref()).collect();
    assert!(pairs.len() >= 30, "{} variants", pairs.len());
    assert!(
        differ.is_empty(),
        "the paths disagree:\n{}",
        differ
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // What the arithmetic saves: black-friday's browsing is most of its events.
    let (events, lazy) = results
        .iter()
        .zip(&pairs)
        .filter(|(_, (s, _))| s.name == "black-friday")
        .fold((0, 0), |(e, l), ((_, [a, b]), _)| (e + a, l + b));
    assert!(
        lazy * 3 < events,
        "black-friday: {lazy} events lazily against {events} as events"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), ..ProptestConfig::default() })]

    /// Generated scenarios (traffic, capacities, latencies, partitions, pauses, slowdowns and
    /// crashes) with background reads and writes heavy enough to queue on the replicas.
    #[test]
    fn both_paths_give_identical_figures_on_generated_scenarios(
        g in scenarios(Space::checkouts(&["replica-read", "conditional-decrement"])),
        reads in 0.0f64..60.0,
        writes in 0.0f64..3.0,
        seed in any::<u64>(),
    ) {
        let toml = format!(
            "{}[background]\nreads_per_shopper = {reads:.3}\nwrites_per_shopper = {writes:.3}\n",
            g.toml
        );
        let s = parse_scenario("generated", &toml, &[]).expect("a valid scenario");
        for v in &s.variants {
            let (differ, [events, lazy]) = compare(&s, v, seed);
            prop_assert!(differ.is_none(), "{}\n{toml}", differ.unwrap_or_default());
            prop_assert!(lazy <= events);
        }
    }
}

/// The events a configuration takes at the least, estimated before the run, never exceed what
/// the run processes (on every bundled variant, from the golden file's counts); on black-friday
/// the estimate is almost all of the run (the checkouts add the rest), so that a refusal is not
/// far off the truth.
#[test]
fn the_event_floor_is_below_every_bundled_run_and_close_on_black_friday() {
    let golden =
        std::fs::read_to_string(crate::support::repo_path("tests/golden/trace-hashes.txt"))
            .expect("the golden file");
    let mut checked = 0;
    for line in golden.lines().filter(|l| !l.starts_with('#')) {
        let mut words = line.split(' ');
        let (file, name) = (words.next().unwrap(), words.next().unwrap());
        let events: f64 = words.next().unwrap()["events=".len()..].parse().unwrap();
        let s = scenario(file, &[]);
        let v = s.variants.iter().find(|v| v.name == name).expect("variant");
        let floor = v.config.event_floor().events;
        assert!(
            floor <= events,
            "{file} {name}: floor {floor} > {events} events"
        );
        if s.name == "black-friday" {
            assert!(
                floor > 0.6 * events,
                "{name}: floor {floor} of {events} events"
            );
        }
        checked += 1;
    }
    assert!(checked >= 30);
}

/// A day at a million shoppers a second is refused at once, with the estimate and the keys
/// that drive it, as bad input (exit 2), instead of running until the cap or out of memory.
#[test]
fn a_run_that_cannot_finish_is_refused_before_it_starts() {
    let out = crate::support::lagsim(&[
        "run",
        "scenarios/black-friday.toml",
        "--set",
        "duration_s=86400",
        "--set",
        "horizon_s=90000",
        "--set",
        "traffic.profile=[{at_s=0,shoppers_per_s=1000000}]",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for part in [
        "--set duration_s=86400",
        // 86,400 s × 10^6 shoppers/s × 3, plus (100 + 1.25 × 10^6) background writes/s ×
        // 86,400 s × 4 (the entry's delivery and apply on each of the two replicas).
        "at least 691234560000 events",
        "more than max_events = 200000000",
        "86400000000 shoppers × 3 (traffic.profile)",
        "background writes × 4",
    ] {
        assert!(stderr.contains(part), "`{part}` missing from: {stderr}");
    }
}
