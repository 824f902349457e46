//! Teaching narration: every number in the story is one the run computed, in time order, and the
//! timeline fits the width asked for.

use lagsim::model::timeline::ReadFrom;
use lagsim::report::explain::{Run, explain};
use lagsim::run::Outcome;

use crate::support::{TIMELINE, lagsim, outcome, scenario};

const BF: &str = "scenarios/black-friday.toml";

fn story_of(variant: &str, width: usize) -> (lagsim::report::explain::Story, Outcome) {
    let s = scenario(BF, &[]);
    let v = s.variants.iter().find(|v| v.name == variant).unwrap();
    let run = outcome(&s, v, s.seed, TIMELINE);
    let story = explain(
        &Run {
            variant: &v.name,
            checkout: v.checkout.name(),
            page: v.page.name(),
            metrics: &run.metrics,
            timeline: run.timeline.as_ref().unwrap(),
        },
        width,
    );
    (story, run)
}

/// The simulated time a sentence starts with ("At 12.3 s ..."), if it does.
fn time_of(sentence: &str) -> Option<f64> {
    let rest = sentence.strip_prefix("At ")?;
    rest.split(" s ").next()?.parse().ok()
}

#[test]
fn the_replica_read_story_tells_the_incident_with_the_runs_own_numbers() {
    let (story, run) = story_of("replica-read", 100);
    let t = run.timeline.as_ref().unwrap();
    let m = &run.metrics;
    let text = story.sentences.join("\n");
    // In simulated-time order.
    let times: Vec<f64> = story.sentences.iter().filter_map(|s| time_of(s)).collect();
    assert!(times.len() >= 8, "{text}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{text}");
    // The sell-out on the primary, at the instant the timeline marked.
    let sold = t.sold_out_us[0].expect("the sneaker sells out");
    assert!(text.contains(&format!(
        "At {:.1} s limited-edition-sneaker sells out on the primary.",
        sold as f64 / 1e6
    )));
    // Every replica shows it later, by the delay the timeline measured.
    for (r, name) in t.replicas.iter().enumerate() {
        let shown = t.replica_sold_out_us[r][0].expect("each replica catches up");
        assert!(shown > sold);
        assert!(
            text.contains(&format!(
                "{name} shows limited-edition-sneaker sold out, {:.1} s after the primary",
                (shown - sold) as f64 / 1e6
            )),
            "{text}"
        );
    }
    // The first oversold order: its shopper, the replica it read, and that replica's lag.
    let o = t.oversold[0];
    let ReadFrom::Replica(r) = o.read_from else {
        panic!("replica-read reads a replica: {o:?}")
    };
    let sentence = story
        .sentences
        .iter()
        .find(|s| s.contains("the first oversold order"))
        .expect("an oversold order is told");
    assert!(sentence.contains(&t.replicas[r]), "{sentence}");
    assert!(
        sentence.contains(&format!(
            "{:.1} s behind",
            o.replica_lag_us.unwrap() as f64 / 1e6
        )),
        "{sentence}"
    );
    // The totals are the metrics', and the lesson is the one for a stale stock check.
    assert!(m.oversold_units > 0);
    assert!(
        text.contains(&format!("; {} units oversold;", m.oversold_units)),
        "{text}"
    );
    assert!(story.sentences.last().unwrap().contains("stale copy"));
    // The timeline fits the width and marks the sell-out.
    assert!(
        story
            .timeline
            .lines()
            .all(|l| l.chars().count() <= 100 || l.starts_with("S spike"))
    );
    assert!(
        story
            .timeline
            .lines()
            .any(|l| l.starts_with("events") && l.contains('X'))
    );
}

#[test]
fn a_strong_strategy_sells_nothing_twice_and_the_lesson_says_why() {
    let (story, run) = story_of("conditional-decrement", 60);
    assert_eq!(run.metrics.oversold_units, 0);
    assert!(!story.sentences.iter().any(|s| s.contains("oversold order")));
    let lesson = story.sentences.last().unwrap();
    assert!(
        lesson.contains("`conditional-decrement` decides on the primary"),
        "{lesson}"
    );
    assert!(
        story
            .timeline
            .lines()
            .take(6)
            .all(|l| l.chars().count() <= 60),
        "{}",
        story.timeline
    );
}

#[test]
fn explain_runs_from_the_command_line_for_a_saga_scenario() {
    let out = lagsim(&[
        "explain",
        "scenarios/checkout-saga.toml",
        "--variant",
        "no-compensation",
        "--width",
        "80",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("== no-compensation"));
    assert!(text.contains("sagas stuck"), "{text}");
    assert!(text.contains("Lesson: without compensations"), "{text}");
    let bad = lagsim(&[
        "explain",
        "scenarios/checkout-saga.toml",
        "--variant",
        "nope",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}
