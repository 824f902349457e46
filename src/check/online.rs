//! The history checkers judged online: fed each operation in history order as a run goes on
//! ([`OpSink`]), keeping only per-process and per-key state, and giving at the end exactly the
//! results of [`check_history`](super::check_history) on the whole history (a test pins it on every
//! bundled scenario and variant).
//!
//! Owns the sink ([`OnlineChecks`]) and what the online checkers share: the few operations kept
//! for explaining a finding ([`Recorded`]), the first findings in the batch checkers' order
//! ([`TopFindings`]), and drawing a finding from kept operations ([`explained`]). Each checker's
//! online state lives in its own module, beside its batch form, and must not be judged here.

use std::any::Any;
use std::collections::BTreeSet;

use super::{CheckResult, FINDINGS_SHOWN, Finding, Findings};
use super::{invariants, linearizability, session, staleness};
use crate::history::stream::OpSink;
use crate::history::{
    History, KeyId, KeyInfo, KeyKind, Operation, ProcessId, ProcessName, Source, TimeUnit,
};

/// An operation kept to explain a finding: where it is in the history, and its process's name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Recorded {
    pub index: usize,
    pub op: Operation,
    pub name: ProcessName,
}

/// A check's findings while the history streams by: every one counted, and the first
/// [`FINDINGS_SHOWN`] in the order the batch checker meets them, given as an `order` key
/// (a finding is explained only while it is among those first).
#[derive(Default)]
pub(crate) struct TopFindings {
    count: u64,
    shown: Vec<((u64, u64), Finding)>,
    failed_kinds: BTreeSet<KeyKind>,
}

impl TopFindings {
    pub fn add(&mut self, order: (u64, u64), kind: KeyKind, explain: impl FnOnce() -> Finding) {
        self.count += 1;
        self.failed_kinds.insert(kind);
        let full = self.shown.len() >= FINDINGS_SHOWN;
        if full && self.shown.last().is_some_and(|&(last, _)| order > last) {
            return;
        }
        let at = self.shown.partition_point(|&(o, _)| o < order);
        self.shown.insert(at, (order, explain()));
        self.shown.truncate(FINDINGS_SHOWN);
    }

    pub fn findings(self) -> Findings {
        Findings {
            count: self.count,
            shown: self.shown.into_iter().map(|(_, f)| f).collect(),
            failed_kinds: self.failed_kinds,
        }
    }
}

/// A history of `ops` alone (on key `key`, whose info is `info`), numbered as in the whole
/// history, so that the batch checkers' sentences and timelines come out the same: operations
/// in history order, processes in the order of their numbers. Returns it and the position of
/// each of `ops` in it.
pub(crate) fn snippet(info: &KeyInfo, ops: &[&Recorded]) -> (History, Vec<usize>) {
    let mut sorted: Vec<&Recorded> = ops.to_vec();
    sorted.sort_by_key(|r| r.index);
    sorted.dedup_by_key(|r| r.index);
    let mut processes: Vec<(ProcessId, ProcessName)> =
        sorted.iter().map(|r| (r.op.process, r.name)).collect();
    processes.sort_by_key(|&(p, _)| p);
    processes.dedup_by_key(|&mut (p, _)| p);
    let mut h = History::new(Source::default(), TimeUnit::Micros);
    h.keys.push(info.clone());
    h.processes = processes.iter().map(|(_, n)| n.to_string()).collect();
    h.ops = sorted
        .iter()
        .map(|r| {
            let p = processes.partition_point(|&(q, _)| q < r.op.process);
            Operation {
                process: ProcessId(p as u32),
                key: KeyId(0),
                ..r.op
            }
        })
        .collect();
    let local = ops
        .iter()
        .map(|r| sorted.partition_point(|s| s.index < r.index))
        .collect();
    (h, local)
}

/// The finding the batch checker would make of `ops` on `key`: `sentence` is its explanation,
/// given the snippet of `ops` and their positions in it; `Finding::ops` are history indexes.
pub(crate) fn explained(
    keys: &[KeyInfo],
    key: KeyId,
    ops: &[&Recorded],
    sentence: impl FnOnce(&History, &[usize]) -> String,
) -> Finding {
    let (h, local) = snippet(&keys[key.0 as usize], ops);
    Finding {
        key: Some(key),
        timeline: super::timeline(&h, &local),
        sentence: sentence(&h, &local),
        ops: ops.iter().map(|r| r.index).collect(),
    }
}

/// A history with `keys` and nothing else: what the checkers' summaries read (names, units).
pub(crate) fn shell(keys: &[KeyInfo]) -> History {
    let mut h = History::new(Source::default(), TimeUnit::Micros);
    h.keys = keys.to_vec();
    h
}

/// Every history checker, online, for lagsim's own runs (simulated microseconds).
pub struct OnlineChecks {
    linearizability: linearizability::Online,
    session: session::Online,
    staleness: staleness::Online,
    invariants: invariants::Online,
    results: Option<Vec<CheckResult>>,
}

impl OnlineChecks {
    /// `staleness_bound`: as for [`check_history`](super::check_history).
    pub fn new(staleness_bound: u64) -> Self {
        Self {
            linearizability: linearizability::Online::default(),
            session: session::Online::default(),
            staleness: staleness::Online::new(staleness_bound),
            invariants: invariants::Online::default(),
            results: None,
        }
    }

    /// The results, in [`check_history`](super::check_history)'s order, once the history ended.
    pub fn results(self) -> Vec<CheckResult> {
        self.results.expect("the history was finished")
    }
}

impl OpSink for OnlineChecks {
    fn op(&mut self, keys: &[KeyInfo], index: usize, op: &Operation, name: ProcessName) {
        let r = Recorded {
            index,
            op: *op,
            name,
        };
        self.linearizability.op(keys, &r);
        self.session.op(keys, &r);
        self.staleness.op(keys, &r);
        self.invariants.op(keys, &r);
    }

    fn process_done(&mut self, process: ProcessId) {
        self.session.process_done(process);
    }

    fn finish(&mut self, keys: &[KeyInfo]) {
        let mut results = vec![self.linearizability.finish(keys)];
        results.extend(self.session.finish(keys));
        results.push(self.staleness.finish(keys));
        results.extend(self.invariants.finish(keys));
        self.results = Some(results);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check_history;
    use crate::check::linearizability::testgen::{Shape, register_history};
    use crate::history::{Func, Outcome};

    /// `h` with its processes named as lagsim names shoppers, so that the stream can name them.
    fn as_shoppers(mut h: History) -> History {
        h.processes = (0..h.processes.len())
            .map(|p| ProcessName::Shopper(p as u64).to_string())
            .collect();
        h
    }

    /// The online results of `h` streamed in order, each process done after its last op.
    fn online(h: &History) -> Vec<CheckResult> {
        let mut last = vec![0; h.processes.len()];
        for (i, op) in h.ops.iter().enumerate() {
            last[op.process.0 as usize] = i;
        }
        let mut sink = OnlineChecks::new(0);
        for (i, op) in h.ops.iter().enumerate() {
            sink.op(
                &h.keys,
                i,
                op,
                ProcessName::Shopper(u64::from(op.process.0)),
            );
            if last[op.process.0 as usize] == i {
                sink.process_done(op.process);
            }
        }
        sink.finish(&h.keys);
        sink.results()
    }

    /// The `nth` ok read of key 0 returns a value no write made: a violation there.
    fn corrupt(h: &mut History, nth: usize) -> usize {
        let i = (0..h.ops.len())
            .filter(|&i| {
                let op = &h.ops[i];
                op.key.0 == 0 && op.func == Func::Read && op.outcome == Outcome::Ok
            })
            .nth(nth)
            .expect("enough reads");
        h.ops[i].value = Some(-7);
        i
    }

    fn linearizability(results: &[CheckResult]) -> (Status, u64) {
        let l = &results[0];
        let states = l.figures.iter().find(|f| f.0 == "states_explored");
        (
            l.status,
            match states {
                Some((_, crate::check::Figure::Count(n))) => *n,
                _ => panic!("states_explored is a count"),
            },
        )
    }

    use crate::check::Status;

    #[test]
    fn a_linearizable_history_with_timed_out_operations_gets_the_batch_results() {
        let mut shape = Shape::new(3, 4, 12, 6_000);
        shape.info_probability = 0.02;
        let h = as_shoppers(register_history(&shape));
        let batch = check_history(&h, 0);
        assert_eq!(linearizability(&batch).0, Status::Pass);
        assert_eq!(online(&h), batch);
    }

    #[test]
    fn an_early_violation_is_decided_alike_whether_timed_out_operations_follow_or_not() {
        let mut states = Vec::new();
        for open_later in [false, true] {
            let mut h = as_shoppers(register_history(&Shape::new(5, 2, 8, 4_000)));
            let bad = corrupt(&mut h, 3);
            if open_later {
                // A write long after the violation ends with an unknown outcome: the whole key's
                // search is lazy, and goes back to the first segment.
                let late = (bad + 1000..h.ops.len())
                    .find(|&i| h.ops[i].key.0 == 0 && !h.ops[i].func.is_read())
                    .expect("a later write");
                h.ops[late].outcome = Outcome::Info;
                h.ops[late].value = None;
            }
            let batch = check_history(&h, 0);
            assert_eq!(linearizability(&batch).0, Status::Fail);
            assert_eq!(online(&h), batch, "open later: {open_later}");
            states.push(linearizability(&batch).1);
        }
        // Going back costs configurations: the two are told apart only by what came later.
        assert!(states[0] < states[1], "{states:?}");
    }

    #[test]
    fn a_late_violation_after_many_prefix_searches_gets_the_batch_witness() {
        let mut shape = Shape::new(11, 3, 10, 8_000);
        shape.info_probability = 0.005;
        let mut h = as_shoppers(register_history(&shape));
        corrupt(&mut h, 900);
        let batch = check_history(&h, 0);
        assert_eq!(linearizability(&batch).0, Status::Fail);
        assert_eq!(batch[0].findings.len(), 1);
        assert_eq!(online(&h), batch);
    }

    #[test]
    fn top_findings_keep_the_first_in_batch_order_and_explain_only_those() {
        let mut top = TopFindings::default();
        let mut explained = Vec::new();
        for order in [(5, 1), (2, 9), (7, 0), (2, 3), (9, 9), (1, 1)] {
            top.add(order, KeyKind::Stock, || {
                explained.push(order);
                Finding {
                    key: None,
                    ops: vec![order.0 as usize],
                    sentence: format!("{order:?}"),
                    timeline: String::new(),
                }
            });
        }
        let f = top.findings();
        assert_eq!(f.count, 6);
        let shown: Vec<&str> = f.shown.iter().map(|f| f.sentence.as_str()).collect();
        assert_eq!(shown, ["(1, 1)", "(2, 3)", "(2, 9)"]);
        // (9, 9) came when three earlier ones were shown already.
        assert!(!explained.contains(&(9, 9)));
    }
}
