//! Checks of finished runs: named observers of a run's history and results, each with its own
//! verdict. What a check reads is a [`History`] (every history checker; a history from another
//! system, `lagsim check`, is judged exactly like a simulated one) and, for convergence and the
//! figures `[[expect]]` compares, the run's [`Metrics`] (`crate::model::metrics`, an output type of
//! the model). Checks never run the model (`crate::run` does) nor read its internals.
//!
//! - [`expect`]: a scenario's `[[expect]]` entries judged over the seeds of `lagsim test`.
//! - [`session`]: read-your-writes, monotonic reads, monotonic writes, writes-follow-reads.
//! - [`staleness`]: how old each read's value was when it was returned.
//! - [`invariants`]: the shop's business invariants on stock keys.
//! - [`convergence`]: replicas and caches match the primary soon enough after quiescence.
//! - [`linearizability`]: every key's operations could have taken effect one at a time, each
//!   within its interval; if not, a small set of operations that cannot be ordered, explained.
//! - [`timeline`]: ASCII timelines of a few operations, for explanations.
//! - [`online`]: every history checker fed one operation at a time as a run streams its history,
//!   with the batch checkers' results ([`check_history`] stays the reference, and what
//!   `lagsim check` runs).

pub mod convergence;
pub mod expect;
pub mod invariants;
pub mod linearizability;
pub mod online;
pub mod session;
pub mod staleness;
pub mod timeline;

use std::collections::BTreeSet;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::history::{History, KeyId, KeyInfo, KeyKind};
use crate::model::metrics::Metrics;
use crate::scenario::{KeyKindName, Requirement, Variant};

/// Every checker of a history, in a fixed order. `staleness_bound` is the oldest a read may be
/// (in the history's time unit) before `bounded-staleness` fails.
pub fn check_history(history: &History, staleness_bound: u64) -> Vec<CheckResult> {
    let mut results = vec![linearizability_result(
        history,
        &linearizability::Budget::default(),
    )];
    results.extend(check_history_without_linearizability(
        history,
        staleness_bound,
    ));
    results
}

/// [`check_history`] without the linearizability search (its costliest check).
pub fn check_history_without_linearizability(
    history: &History,
    staleness_bound: u64,
) -> Vec<CheckResult> {
    let mut results = session::check(history);
    results.push(staleness::check(history, staleness_bound));
    results.extend(invariants::check(history));
    results
}

/// The per-key linearizability search, as one check: it fails if any key is not linearizable,
/// and is unknown if none fails but some key ran out of budget.
pub fn linearizability_result(history: &History, budget: &linearizability::Budget) -> CheckResult {
    linearizability_report(&history.keys, &linearizability::check(history, budget))
}

/// The check's result from its per-key report, on a history with `keys`.
fn linearizability_report(infos: &[KeyInfo], report: &linearizability::Report) -> CheckResult {
    use linearizability::KeyStatus;
    let mut findings = Vec::new();
    let (mut failed_kinds, mut unknown_kinds) = (BTreeSet::new(), BTreeSet::new());
    let (mut bad, mut unknown, mut operations, mut states) = (0u64, 0u64, 0u64, 0u64);
    let mut first_unknown = None;
    for k in &report.keys {
        operations += k.ops as u64;
        states += k.states_explored;
        let kind = infos[k.key.0 as usize].kind;
        match &k.status {
            KeyStatus::Linearizable => {}
            KeyStatus::NotLinearizable(w) => {
                bad += 1;
                failed_kinds.insert(kind);
                if findings.len() < FINDINGS_SHOWN {
                    findings.push(Finding {
                        key: Some(k.key),
                        ops: w.ops.clone(),
                        sentence: w.sentence.clone(),
                        timeline: w.timeline.clone(),
                    });
                }
            }
            KeyStatus::Unknown { reason } => {
                unknown += 1;
                unknown_kinds.insert(kind);
                first_unknown.get_or_insert_with(|| (k.key, reason.clone()));
            }
        }
    }
    let keys = report.keys.len() as u64;
    let status = if bad > 0 {
        Status::Fail
    } else if unknown > 0 {
        Status::Unknown
    } else {
        Status::Pass
    };
    let mut summary = match status {
        Status::Pass => format!("all {keys} keys linearizable ({operations} operations)"),
        _ => format!(
            "{bad} of {keys} keys not linearizable, {unknown} undecided ({operations} operations)"
        ),
    };
    if let Some((key, reason)) = first_unknown {
        summary += &format!("; `{}` undecided: {reason}", infos[key.0 as usize].name);
    }
    CheckResult {
        name: "linearizability",
        status,
        summary,
        figures: vec![
            ("keys", Figure::Count(keys)),
            ("keys_linearizable", Figure::Count(keys - bad - unknown)),
            ("keys_not_linearizable", Figure::Count(bad)),
            ("keys_unknown", Figure::Count(unknown)),
            ("operations", Figure::Count(operations)),
            ("states_explored", Figure::Count(states)),
        ],
        findings,
        failed_kinds,
        unknown_kinds,
    }
}

/// A check's result on one variant, and what the scenario's `[[require]]` made of it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckEntry {
    pub result: CheckResult,
    /// The verdict under the scenario's requirement (narrowed to its keys), if one applies:
    /// anything but `Pass` fails the run.
    pub required: Option<RequiredVerdict>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequiredVerdict {
    /// The kind of key the requirement is narrowed to, or "all".
    pub keys: &'static str,
    pub verdict: Status,
}

impl Serialize for CheckEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.result;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("verdict", &r.status)?;
        match &self.required {
            Some(req) => m.serialize_entry("required", req)?,
            None => m.serialize_entry("required", &false)?,
        }
        m.serialize_entry("summary", &r.summary)?;
        for (name, figure) in &r.figures {
            m.serialize_entry(name, figure)?;
        }
        m.serialize_entry("findings", &r.findings)?;
        m.end()
    }
}

/// Runs every check on one variant's run: those of its results, and those of its history when
/// one was recorded; then applies the scenario's requirements that concern this variant.
pub fn run_checks(
    variant: &Variant,
    requirements: &[Requirement],
    metrics: &Metrics,
    history: Option<&History>,
) -> Vec<CheckEntry> {
    let bound = staleness_bound(variant, requirements);
    let judged = history.map(|h| check_history(h, bound));
    run_checks_judged(variant, requirements, metrics, judged)
}

/// The oldest a read may be before `bounded-staleness` fails on `variant`: the tightest bound
/// its requirements set, or 0.
pub fn staleness_bound(variant: &Variant, requirements: &[Requirement]) -> u64 {
    requirements
        .iter()
        .filter(|r| r.applies_to(&variant.name))
        .filter_map(|r| r.max_staleness_us)
        .min()
        .unwrap_or(0)
}

/// As [`run_checks`], with the history already judged ([`check_history`] or
/// [`online::OnlineChecks`] with [`staleness_bound`]), `None` if none was recorded.
pub fn run_checks_judged(
    variant: &Variant,
    requirements: &[Requirement],
    metrics: &Metrics,
    judged: Option<Vec<CheckResult>>,
) -> Vec<CheckEntry> {
    let mine: Vec<&Requirement> = requirements
        .iter()
        .filter(|r| r.applies_to(&variant.name))
        .collect();
    let recorded = judged.is_some();
    let mut results = check_metrics(variant, metrics);
    results.extend(judged.into_iter().flatten());
    let mut entries: Vec<CheckEntry> = results
        .into_iter()
        .map(|result| CheckEntry {
            // A convergence bound in the scenario is a requirement in itself.
            required: (result.name == "convergence").then_some(RequiredVerdict {
                keys: "all",
                verdict: result.status,
            }),
            result,
        })
        .collect();
    for req in mine {
        let kind = req.keys.map(|k| match k {
            KeyKindName::Stock => KeyKind::Stock,
            KeyKindName::Profile => KeyKind::Profile,
        });
        let keys = req.keys.map_or("all", |k| k.name());
        match entries
            .iter_mut()
            .find(|e| e.result.name == req.check.name())
        {
            Some(e) => {
                let verdict = e.result.status_for(kind);
                if e.required.as_ref().is_none_or(|r| verdict > r.verdict) {
                    e.required = Some(RequiredVerdict { keys, verdict });
                }
            }
            // Required but not run: no history was recorded, or it has no key it applies to.
            None => entries.push(CheckEntry {
                result: CheckResult {
                    name: req.check.name(),
                    status: Status::Unknown,
                    summary: if !recorded {
                        "not run: no history was recorded".to_string()
                    } else {
                        "not run: the history has no key this check judges".to_string()
                    },
                    figures: Vec::new(),
                    findings: Vec::new(),
                    failed_kinds: Default::default(),
                    unknown_kinds: Default::default(),
                },
                required: Some(RequiredVerdict {
                    keys,
                    verdict: Status::Unknown,
                }),
            }),
        }
    }
    entries
}

/// The checks of a run's results rather than its history.
pub fn check_metrics(variant: &Variant, m: &Metrics) -> Vec<CheckResult> {
    convergence::convergence(variant, m).into_iter().collect()
}

/// A checker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// The checker could not decide (a budget ran out, or the history lacks what it needs).
    Unknown,
    Fail,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Unknown => "unknown",
            Status::Fail => "fail",
        }
    }
}

/// A figure a checker reports beside its verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Figure {
    Count(u64),
    Value(i64),
    Ms(f64),
}

impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Figure::Count(n) => s.serialize_u64(n),
            Figure::Value(v) => s.serialize_i64(v),
            // Milliseconds to the microsecond: the history's resolution.
            Figure::Ms(ms) => s.serialize_f64((ms * 1e3).round() / 1e3),
        }
    }
}

/// One violation, explained: the operations involved and the sentence a student would need.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    #[serde(skip)]
    pub key: Option<KeyId>,
    /// Indexes into the history's operations, in invocation order.
    #[serde(skip)]
    pub ops: Vec<usize>,
    pub sentence: String,
    /// The operations drawn as an ASCII timeline, one row per process.
    pub timeline: String,
}

/// How many findings a checker explains in full; its figures count them all.
pub const FINDINGS_SHOWN: usize = 3;

/// One checker's verdict on one history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: Status,
    /// One line: what was checked and what was found.
    pub summary: String,
    pub figures: Vec<(&'static str, Figure)>,
    /// The first few violations, explained.
    pub findings: Vec<Finding>,
    /// The kinds of key on which the checker found a violation, or could not decide.
    pub failed_kinds: BTreeSet<KeyKind>,
    pub unknown_kinds: BTreeSet<KeyKind>,
}

impl CheckResult {
    /// The verdict restricted to keys of one kind (`[[require]] keys = "stock"`).
    pub fn status_for(&self, kind: Option<KeyKind>) -> Status {
        match kind {
            None => self.status,
            Some(k) if self.failed_kinds.contains(&k) => Status::Fail,
            Some(k) if self.unknown_kinds.contains(&k) => Status::Unknown,
            Some(_) => Status::Pass,
        }
    }
}

impl Serialize for CheckResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("verdict", &self.status)?;
        m.serialize_entry("summary", &self.summary)?;
        for (name, figure) in &self.figures {
            m.serialize_entry(name, figure)?;
        }
        m.serialize_entry("findings", &self.findings)?;
        m.end()
    }
}

/// Collects a checker's violations: counts them all, explains the first few.
#[derive(Default)]
pub(crate) struct Findings {
    pub count: u64,
    pub shown: Vec<Finding>,
    pub failed_kinds: BTreeSet<KeyKind>,
}

impl Findings {
    /// Records a violation explained already (the online checkers, which see it as it comes).
    pub fn push(&mut self, kind: KeyKind, finding: Finding) {
        self.count += 1;
        self.failed_kinds.insert(kind);
        if self.shown.len() < FINDINGS_SHOWN {
            self.shown.push(finding);
        }
    }

    /// Records a violation on `key`; `explain` is called only for the first few.
    pub fn add(
        &mut self,
        history: &History,
        key: KeyId,
        ops: Vec<usize>,
        explain: impl FnOnce() -> String,
    ) {
        self.count += 1;
        self.failed_kinds.insert(history.key(key).kind);
        if self.shown.len() < FINDINGS_SHOWN {
            self.shown.push(Finding {
                key: Some(key),
                timeline: timeline(history, &ops),
                ops,
                sentence: explain(),
            });
        }
    }
}

/// Width of the ASCII timelines in findings.
pub const TIMELINE_WIDTH: usize = 100;

fn timeline(history: &History, ops: &[usize]) -> String {
    timeline::timeline(history, ops, TIMELINE_WIDTH)
}
