//! Shrinking a failing scenario: smaller and smaller versions of its TOML document that still
//! fail, found greedily.
//!
//! The shrinker edits the document (a [`toml::Table`]), never the validated [`Scenario`]: each
//! candidate is written back to TOML and loaded through [`parse_scenario`], so it is exactly a file
//! a user could run, and a candidate the loader rejects is skipped without being run. Whether a
//! candidate still fails is the caller's question (`still_fails`): the shrinker knows nothing of
//! how scenarios run.
//!
//! First, without running anything, the document is cut down to the one failing variant (its
//! `set` table written into the document, so the faults it sets can shrink too), the one failing
//! `[[expect]]` entry, and the failing seed. Then greedy passes try, in order: removing each
//! fault, halving the shopper arrival rate, halving the profile sessions and the background load,
//! halving `duration_s`, halving the time the run may drain after it, halving each fault's
//! duration, and removing each price change. A step that keeps the failure is kept; passes repeat
//! until none does, or until `max_runs` candidates have been run.

use toml::{Table, Value};

use super::set::{Step, parse_path};
use super::{Scenario, parse_scenario};

/// What the shrinker is asked to keep.
#[derive(Clone, Debug)]
pub struct ShrinkTarget<'a> {
    /// The variant that failed.
    pub variant: &'a str,
    /// The seed it failed at: the shrunk scenario's `seed`.
    pub seed: u64,
    /// The index of the failing entry among the file's `[[expect]]` entries.
    pub expectation: usize,
}

/// The smallest failing scenario found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The shrunk scenario as a TOML document (no comments; keys in sorted order).
    pub toml: String,
    /// What was reduced, for people: `traffic ×1/8`, `duration 120 s → 15 s`, …
    pub reductions: Vec<String>,
    /// How many candidates were run.
    pub runs: usize,
    /// Whether the run budget ran out before a pass made no progress.
    pub budget_exhausted: bool,
}

/// Why shrinking could not start.
#[derive(Clone, Debug, PartialEq)]
pub enum ShrinkError {
    /// The document could not be cut down to the failing variant and expectation (the message
    /// says why); nothing was run.
    Prepare(String),
    /// The cut-down scenario no longer fails: the failure depends on what was cut.
    NotReproduced,
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Prepare(m) => write!(f, "cannot shrink: {m}"),
            ShrinkError::NotReproduced => f.write_str(
                "cannot shrink: the scenario cut down to the failing variant and seed does not fail",
            ),
        }
    }
}

/// Counts of what the greedy passes changed, for [`Shrunk::reductions`].
#[derive(Default)]
struct Tally {
    traffic_halvings: u32,
    sessions_halvings: u32,
    background_halvings: u32,
    faults_removed: usize,
    fault_halvings: u32,
    price_changes_removed: usize,
}

/// Shrinks `text` (a valid scenario file whose `target` failed) while `still_fails` says the
/// candidate still fails; at most `max_runs` calls of `still_fails`.
pub fn shrink(
    text: &str,
    target: &ShrinkTarget<'_>,
    max_runs: usize,
    mut still_fails: impl FnMut(&Scenario) -> bool,
) -> Result<Shrunk, ShrinkError> {
    let original: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ShrinkError::Prepare(e.message().to_string()))?;
    let mut doc = cut_down(&original, target).map_err(ShrinkError::Prepare)?;
    let first = load(&doc).map_err(ShrinkError::Prepare)?;
    let mut runs = 1;
    if !still_fails(&first) {
        return Err(ShrinkError::NotReproduced);
    }
    let mut tally = Tally::default();
    let mut budget_exhausted = false;
    'passes: loop {
        let mut progress = false;
        let steps = candidate_steps(&doc);
        for step in steps {
            // A halving is tried again as long as it keeps the failure.
            let mut kept = false;
            while let Some(candidate) = apply_step(&doc, &step) {
                let Ok(scenario) = load(&candidate) else {
                    break;
                };
                if runs >= max_runs {
                    budget_exhausted = true;
                    break 'passes;
                }
                runs += 1;
                if !still_fails(&scenario) {
                    break;
                }
                doc = candidate;
                kept = true;
                tally.count(&step);
                if !step.repeats() {
                    break;
                }
            }
            progress |= kept;
            if kept && !step.repeats() {
                // A removal shifts the indices of the steps after it: start a new pass.
                continue 'passes;
            }
        }
        if !progress {
            break;
        }
    }
    let reductions = describe(&original, &doc, &tally, target);
    let toml = toml::to_string(&doc).map_err(|e| ShrinkError::Prepare(e.to_string()))?;
    Ok(Shrunk {
        toml,
        reductions,
        runs,
        budget_exhausted,
    })
}

fn load(doc: &Table) -> Result<Scenario, String> {
    let text = toml::to_string(doc).map_err(|e| e.to_string())?;
    parse_scenario("shrunk", &text, &[]).map_err(|e| e.to_string())
}

/// The document with only the failing variant (its `set` written in), the failing expectation
/// (about that variant only), the requirements that concern the variant, and the failing seed.
fn cut_down(original: &Table, target: &ShrinkTarget<'_>) -> Result<Table, String> {
    let mut doc = original.clone();
    let variants = doc
        .get("variants")
        .and_then(Value::as_array)
        .ok_or("the document has no [[variants]]")?;
    let mut variant = variants
        .iter()
        .filter_map(Value::as_table)
        .find(|v| v.get("name").and_then(Value::as_str) == Some(target.variant))
        .cloned()
        .ok_or_else(|| format!("no variant named `{}`", target.variant))?;
    if let Some(Value::Table(set)) = variant.remove("set") {
        let mut inlined = doc.clone();
        let mut all = true;
        for (path, value) in &set {
            all &= set_path(&mut inlined, path, value.clone());
        }
        if all {
            doc = inlined;
        } else {
            // Keep the overrides as they were written.
            variant.insert("set".into(), Value::Table(set));
        }
    }
    doc.insert("variants".into(), Value::Array(vec![Value::Table(variant)]));
    let mut expectation = doc
        .get("expect")
        .and_then(Value::as_array)
        .and_then(|e| e.get(target.expectation))
        .and_then(Value::as_table)
        .cloned()
        .ok_or("the failing [[expect]] entry is not in the document")?;
    expectation.remove("variant");
    expectation.insert(
        "variants".into(),
        Value::Array(vec![Value::String(target.variant.to_string())]),
    );
    doc.insert(
        "expect".into(),
        Value::Array(vec![Value::Table(expectation)]),
    );
    if let Some(Value::Array(requires)) = doc.remove("require") {
        let kept: Vec<Value> = requires
            .into_iter()
            .filter_map(|r| {
                let Value::Table(mut t) = r else { return None };
                match t.get("variants").and_then(Value::as_array) {
                    None => Some(Value::Table(t)),
                    Some(names) if names.iter().any(|n| n.as_str() == Some(target.variant)) => {
                        t.insert(
                            "variants".into(),
                            Value::Array(vec![Value::String(target.variant.to_string())]),
                        );
                        Some(Value::Table(t))
                    }
                    Some(_) => None,
                }
            })
            .collect();
        if !kept.is_empty() {
            doc.insert("require".into(), Value::Array(kept));
        }
    }
    let seed = i64::try_from(target.seed).map_err(|_| "the seed does not fit in TOML")?;
    doc.insert("seed".into(), Value::Integer(seed));
    Ok(doc)
}

/// Sets `value` at a `set`-style `path` (`"replicas[0].workers"`), creating missing tables as
/// the loader does; false if the path does not fit the document (which may then be half edited).
fn set_path(doc: &mut Table, path: &str, value: Value) -> bool {
    let Ok((parsed, _)) = parse_path(path, false) else {
        return false;
    };
    let mut root = Value::Table(std::mem::take(doc));
    let ok = set_in(&mut root, &parsed.steps, value);
    if let Value::Table(t) = root {
        *doc = t;
    }
    ok
}

fn set_in(at: &mut Value, steps: &[Step], value: Value) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        *at = value;
        return true;
    };
    match (first, at) {
        (Step::Key(k, _), Value::Table(t)) if rest.is_empty() => {
            t.insert(k.clone(), value);
            true
        }
        (Step::Key(k, _), Value::Table(t)) => {
            let next = t
                .entry(k.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            set_in(next, rest, value)
        }
        (Step::Index(i, _), Value::Array(a)) => match a.get_mut(*i) {
            Some(next) => set_in(next, rest, value),
            None => false,
        },
        _ => false,
    }
}

/// One edit the greedy passes try.
#[derive(Clone, Debug, PartialEq)]
enum Edit {
    RemoveFault(usize),
    HalveTraffic,
    HalveSessions,
    HalveBackground,
    HalveDuration,
    HalveDrain,
    HalveFault(usize),
    RemovePriceChange(usize),
}

impl Edit {
    /// Halvings are tried again after they succeed.
    fn repeats(&self) -> bool {
        !matches!(self, Edit::RemoveFault(_) | Edit::RemovePriceChange(_))
    }
}

impl Tally {
    fn count(&mut self, edit: &Edit) {
        match edit {
            Edit::RemoveFault(_) => self.faults_removed += 1,
            Edit::HalveTraffic => self.traffic_halvings += 1,
            Edit::HalveSessions => self.sessions_halvings += 1,
            Edit::HalveBackground => self.background_halvings += 1,
            Edit::HalveFault(_) => self.fault_halvings += 1,
            Edit::RemovePriceChange(_) => self.price_changes_removed += 1,
            Edit::HalveDuration | Edit::HalveDrain => {}
        }
    }
}

fn array_len(doc: &Table, key: &str) -> usize {
    doc.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

fn candidate_steps(doc: &Table) -> Vec<Edit> {
    let faults = array_len(doc, "faults");
    let prices = array_len(doc, "price_changes");
    let mut steps: Vec<Edit> = (0..faults).rev().map(Edit::RemoveFault).collect();
    steps.extend([
        Edit::HalveTraffic,
        Edit::HalveSessions,
        Edit::HalveBackground,
        Edit::HalveDuration,
        Edit::HalveDrain,
    ]);
    steps.extend((0..faults).map(Edit::HalveFault));
    steps.extend((0..prices).rev().map(Edit::RemovePriceChange));
    steps
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Half of a rate, a whole number when it was one; below 1 it becomes 0 (the load is removed),
/// so halvings end.
fn half(v: &Value) -> Option<Value> {
    match v {
        Value::Integer(i) if *i >= 2 => Some(Value::Integer(i / 2)),
        Value::Integer(1) => Some(Value::Integer(0)),
        Value::Float(f) if *f >= 2.0 => Some(Value::Float(f / 2.0)),
        Value::Float(f) if *f > 0.0 => Some(Value::Integer(0)),
        _ => None,
    }
}

/// Halves the numbers at `keys` of `t`; false if none was above 0.
fn halve_keys(t: &mut Table, keys: &[&str]) -> bool {
    let mut any = false;
    for key in keys {
        if let Some(h) = t.get(*key).and_then(half) {
            t.insert((*key).to_string(), h);
            any = true;
        }
    }
    any
}

/// The document after `edit`, or `None` if it does not apply.
fn apply_step(doc: &Table, edit: &Edit) -> Option<Table> {
    let mut d = doc.clone();
    let changed = match edit {
        Edit::RemoveFault(i) | Edit::RemovePriceChange(i) => {
            let key = if matches!(edit, Edit::RemoveFault(_)) {
                "faults"
            } else {
                "price_changes"
            };
            let Some(Value::Array(a)) = d.get_mut(key) else {
                return None;
            };
            if *i >= a.len() {
                return None;
            }
            a.remove(*i);
            if a.is_empty() {
                d.remove(key);
            }
            true
        }
        Edit::HalveTraffic => {
            let points = d
                .get_mut("traffic")
                .and_then(Value::as_table_mut)
                .and_then(|t| t.get_mut("profile"))
                .and_then(Value::as_array_mut)?;
            let mut any = false;
            for p in points.iter_mut().filter_map(Value::as_table_mut) {
                any |= halve_keys(p, &["shoppers_per_s"]);
            }
            any
        }
        Edit::HalveSessions => {
            let t = d.get_mut("profiles").and_then(Value::as_table_mut)?;
            halve_keys(t, &["sessions_per_s"])
        }
        Edit::HalveBackground => {
            let t = d.get_mut("background").and_then(Value::as_table_mut)?;
            halve_keys(t, &["writes_per_s", "reads_per_s"])
        }
        Edit::HalveDuration => {
            let duration = d.get("duration_s").and_then(number)?;
            if duration <= 1.0 {
                return None;
            }
            let new = if duration >= 2.0 {
                libm::floor(duration / 2.0)
            } else {
                1.0
            };
            // Keep the time the run may drain after the traffic, if the file gives a horizon.
            if let Some(h) = d.get("horizon_s").and_then(number) {
                d.insert("horizon_s".into(), whole(h - (duration - new)));
            }
            d.insert("duration_s".into(), whole(new));
            true
        }
        Edit::HalveDrain => {
            let duration = d.get("duration_s").and_then(number)?;
            let horizon = d
                .get("horizon_s")
                .and_then(number)
                .unwrap_or(duration + 600.0);
            let drain = horizon - duration;
            if drain <= 1.0 {
                return None;
            }
            d.insert(
                "horizon_s".into(),
                whole(duration + libm::ceil(drain / 2.0)),
            );
            true
        }
        Edit::HalveFault(i) => {
            let fault = d
                .get_mut("faults")
                .and_then(Value::as_array_mut)
                .and_then(|a| a.get_mut(*i))
                .and_then(Value::as_table_mut)?;
            match fault.get("duration_s").and_then(number) {
                Some(x) if x > 1.0 => {
                    fault.insert("duration_s".into(), whole(libm::floor(x / 2.0).max(1.0)));
                    true
                }
                _ => false,
            }
        }
    };
    changed.then_some(d)
}

/// A whole number of seconds as a TOML integer, anything else as a float.
fn whole(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::Integer(x as i64)
    } else {
        Value::Float(x)
    }
}

/// What shrinking changed, in words.
fn describe(
    original: &Table,
    shrunk: &Table,
    tally: &Tally,
    target: &ShrinkTarget<'_>,
) -> Vec<String> {
    let mut out = Vec::new();
    describe_load(original, shrunk, tally, &mut out);
    describe_times(original, shrunk, &mut out);
    describe_faults(original, shrunk, tally, &mut out);
    describe_removed(original, tally, target, &mut out);
    out
}

/// The shopper, profile-session and background rates that were halved.
fn describe_load(original: &Table, shrunk: &Table, tally: &Tally, out: &mut Vec<String>) {
    if tally.traffic_halvings > 0 {
        let peak = |t: &Table| {
            t.get("traffic")
                .and_then(|x| x.get("profile"))
                .and_then(Value::as_array)
                .map_or(0.0, |points| {
                    points
                        .iter()
                        .filter_map(|p| p.get("shoppers_per_s").and_then(number))
                        .fold(0.0, f64::max)
                })
        };
        out.push(format!(
            "traffic peak {} → {} shoppers/s",
            peak(original),
            peak(shrunk)
        ));
    }
    if tally.sessions_halvings > 0 {
        let rate = |t: &Table| {
            t.get("profiles")
                .and_then(|p| p.get("sessions_per_s"))
                .and_then(number)
                .unwrap_or(0.0)
        };
        out.push(format!(
            "profile sessions {}/s → {}/s",
            rate(original),
            rate(shrunk)
        ));
    }
    if tally.background_halvings > 0 {
        let rates = |t: &Table| {
            let bg = t.get("background").and_then(Value::as_table);
            let rate = |k: &str| bg.and_then(|b| b.get(k)).and_then(number).unwrap_or(0.0);
            (rate("writes_per_s"), rate("reads_per_s"))
        };
        let (w0, r0) = rates(original);
        let (w1, r1) = rates(shrunk);
        if w0 != w1 {
            out.push(format!("background writes {w0}/s → {w1}/s"));
        }
        if r0 != r1 {
            out.push(format!("background reads {r0}/s → {r1}/s"));
        }
    }
}

/// The traffic's duration and the run's horizon, where they changed.
fn describe_times(original: &Table, shrunk: &Table, out: &mut Vec<String>) {
    let seconds = |t: &Table, key: &str| t.get(key).and_then(number);
    if let (Some(a), Some(b)) = (
        seconds(original, "duration_s"),
        seconds(shrunk, "duration_s"),
    ) {
        if a != b {
            out.push(format!("duration {a} s → {b} s"));
        }
    }
    let horizon =
        |t: &Table| seconds(t, "horizon_s").or_else(|| seconds(t, "duration_s").map(|d| d + 600.0));
    if let (Some(a), Some(b)) = (horizon(original), horizon(shrunk)) {
        if a != b {
            out.push(format!("horizon {a} s → {b} s"));
        }
    }
}

/// The faults removed, and the fault durations halved.
fn describe_faults(original: &Table, shrunk: &Table, tally: &Tally, out: &mut Vec<String>) {
    let faults = array_len(original, "faults");
    if tally.faults_removed > 0 {
        out.push(format!(
            "{} of {faults} faults removed",
            tally.faults_removed
        ));
    }
    if tally.fault_halvings == 0 {
        return;
    }
    let durations = |t: &Table| -> Vec<(String, f64)> {
        t.get("faults")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_table)
                    .map(|f| {
                        let kind = f.get("kind").and_then(Value::as_str).unwrap_or("fault");
                        let d = f.get("duration_s").and_then(number).unwrap_or(0.0);
                        (kind.to_string(), d)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (before, after) = (durations(original), durations(shrunk));
    if tally.faults_removed == 0 && before.len() == after.len() {
        for ((kind, a), (_, b)) in before.iter().zip(&after) {
            if a != b {
                out.push(format!("{kind} fault {a} s → {b} s"));
            }
        }
    } else {
        out.push(format!(
            "fault durations halved {} time{}",
            tally.fault_halvings,
            if tally.fault_halvings == 1 { "" } else { "s" }
        ));
    }
}

/// The price changes removed, and the variants and expectations cut before the passes.
fn describe_removed(
    original: &Table,
    tally: &Tally,
    target: &ShrinkTarget<'_>,
    out: &mut Vec<String>,
) {
    if tally.price_changes_removed > 0 {
        out.push(format!(
            "{} of {} price changes removed",
            tally.price_changes_removed,
            array_len(original, "price_changes")
        ));
    }
    let variants = array_len(original, "variants");
    if variants > 1 {
        out.push(format!(
            "{} of {variants} variants dropped (kept `{}`)",
            variants - 1,
            target.variant
        ));
    }
    let expectations = array_len(original, "expect");
    if expectations > 1 {
        let n = expectations - 1;
        out.push(format!(
            "{n} other expectation{} dropped",
            if n == 1 { "" } else { "s" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"name = "t"
seed = 3
duration_s = 120

[traffic]
profile = [{ at_s = 0, shoppers_per_s = 40 }]

[background]
writes_per_s = 50

[[products]]
name = "console"
stock = 100

[[replicas]]
name = "r1"

[[faults]]
kind = "pause-replica"
replica = "r1"
at_s = 30
duration_s = 40

[[variants]]
name = "a"
checkout = "replica-read"

[[variants]]
name = "b"
checkout = "optimistic"
set = { "faults[0].duration_s" = 20, "primary.workers" = 3 }

[[expect]]
variants = ["a", "b"]
that = "oversold_units == 0"

[[expect]]
variant = "b"
that = "shoppers > 0"
"#;

    fn target(variant: &str, expectation: usize) -> ShrinkTarget<'_> {
        ShrinkTarget {
            variant,
            seed: 9,
            expectation,
        }
    }

    #[test]
    fn cutting_down_keeps_the_variant_with_its_set_written_in() {
        let original: Table = FILE.parse().unwrap();
        let doc = cut_down(&original, &target("b", 1)).unwrap();
        let s = load(&doc).unwrap();
        assert_eq!(s.seed, 9);
        assert_eq!(s.variants.len(), 1);
        assert_eq!(s.variants[0].name, "b");
        assert_eq!(s.variants[0].config.primary.workers, 3);
        let fault = &s.variants[0].config.faults[0];
        assert_eq!(fault.end.as_secs_f64() - fault.start.as_secs_f64(), 20.0);
        assert!(!doc["variants"][0].as_table().unwrap().contains_key("set"));
        assert_eq!(s.expectations.len(), 1);
        assert_eq!(s.expectations[0].variants, vec!["b".to_string()]);
        assert_eq!(s.expectations[0].claim.text(), "shoppers > 0");
    }

    #[test]
    fn greedy_passes_find_the_smallest_document_that_still_fails() {
        // "Fails" while the traffic lasts at least 10 s and the fault is still there: the
        // shrinker must keep the fault, halve the duration 120 → 60 → 30 → 15 (7 would pass),
        // and remove what does not matter.
        let shrunk = shrink(FILE, &target("a", 0), 100, |s| {
            let c = &s.variants[0].config;
            c.traffic_end.as_secs_f64() >= 10.0 && !c.faults.is_empty()
        })
        .unwrap();
        let s = parse_scenario("shrunk", &shrunk.toml, &[]).unwrap();
        let c = &s.variants[0].config;
        assert_eq!(c.traffic_end.as_secs_f64(), 15.0);
        assert_eq!(c.faults.len(), 1);
        assert_eq!(c.background.writes_per_s, 0.0);
        assert_eq!(c.traffic.points[0].1, 0.0);
        assert!(!shrunk.budget_exhausted);
        assert!(
            shrunk
                .reductions
                .contains(&"duration 120 s → 15 s".to_string()),
            "{:?}",
            shrunk.reductions
        );
        assert!(
            shrunk
                .reductions
                .contains(&"1 of 2 variants dropped (kept `a`)".to_string())
        );
    }

    #[test]
    fn the_run_budget_bounds_the_search() {
        let mut calls = 0;
        let shrunk = shrink(FILE, &target("a", 0), 5, |_| {
            calls += 1;
            true
        })
        .unwrap();
        assert_eq!(calls, 5);
        assert_eq!(shrunk.runs, 5);
        assert!(shrunk.budget_exhausted);
    }

    #[test]
    fn a_failure_that_needs_what_was_cut_is_not_reproduced() {
        let e = shrink(FILE, &target("a", 0), 10, |_| false).unwrap_err();
        assert_eq!(e, ShrinkError::NotReproduced);
        let e = shrink(FILE, &target("c", 0), 10, |_| true).unwrap_err();
        assert_eq!(e, ShrinkError::Prepare("no variant named `c`".into()));
    }

    #[test]
    fn halving_ends_at_zero() {
        assert_eq!(half(&Value::Integer(40)), Some(Value::Integer(20)));
        assert_eq!(half(&Value::Integer(1)), Some(Value::Integer(0)));
        assert_eq!(half(&Value::Float(3.0)), Some(Value::Float(1.5)));
        assert_eq!(half(&Value::Float(1.5)), Some(Value::Integer(0)));
        assert_eq!(half(&Value::Integer(0)), None);
    }
}
