//! Session guarantees, per client process and per key, judged on the versions the system
//! reports (a history without versions cannot be judged: the verdict is `unknown`).
//!
//! - **read-your-writes**: a read returns at least the version of the process's own latest
//!   acknowledged write to that key.
//! - **monotonic reads**: a process never reads an older version than it read before.
//! - **monotonic writes**: a process's acknowledged writes to a key take versions in the order
//!   it made them.
//! - **writes-follow-reads**: a write a process makes after reading version v of a key is
//!   ordered after v (gets a newer version).
//!
//! Versions are per key, so these are the per-key forms of the guarantees; an operation whose
//! outcome the client did not learn (`info`) or that failed is not part of its session.
//!
//! Judged over a whole history ([`check`]) or online ([`Online`]: the same per-process state,
//! dropped when a process is done).

use std::collections::BTreeMap;

use super::online::{Recorded, TopFindings, explained};
use super::{CheckResult, Figure, Findings, Status};
use crate::history::{Func, History, KeyId, KeyInfo, Operation, Outcome, ProcessId, format_value};

/// The four session checks, in the order of the module doc.
pub fn check(history: &History) -> Vec<CheckResult> {
    // Every op, grouped by process and in invocation order within it (a process runs one at a
    // time): one index vector, not one per process (lagsim has a process per shopper).
    let mut order: Vec<usize> = (0..history.ops.len()).collect();
    order.sort_by_key(|&i| history.ops[i].process);
    let mut s = Sessions::default();
    for ops in order.chunk_by(|&a, &b| history.ops[a].process == history.ops[b].process) {
        s.judge_process(history, ops);
    }
    let (reads, writes) = (s.reads, s.writes);
    verdicts(
        &history.keys,
        [s.ryw, s.mr, s.mw, s.wfr],
        (reads, writes, s.unversioned),
    )
}

/// The four results, from the four checks' findings and the (reads, writes, unversioned ok
/// operations) judged.
fn verdicts(
    keys: &[KeyInfo],
    [ryw, mr, mw, wfr]: [Findings; 4],
    (reads, writes, unversioned): (u64, u64, u64),
) -> Vec<CheckResult> {
    // Without a single versioned operation nothing can be judged.
    let unknown = (reads + writes == 0 && unversioned > 0).then_some(unversioned);
    vec![
        verdict(keys, "read-your-writes", ryw, "reads", reads, unknown),
        verdict(keys, "monotonic-reads", mr, "reads", reads, unknown),
        verdict(keys, "monotonic-writes", mw, "writes", writes, unknown),
        verdict(keys, "writes-follow-reads", wfr, "writes", writes, unknown),
    ]
}

/// The four checks' violations, and what they judged.
#[derive(Default)]
struct Sessions {
    ryw: Findings,
    mr: Findings,
    mw: Findings,
    wfr: Findings,
    reads: u64,
    writes: u64,
    /// Ok operations without a version.
    unversioned: u64,
}

/// Per key, (op index, version) of the process's latest own write and of its newest read.
#[derive(Default)]
struct Session {
    own_write: BTreeMap<KeyId, (usize, u64)>,
    newest_read: BTreeMap<KeyId, (usize, u64)>,
}

impl Sessions {
    /// Judges one process's operations, in invocation order.
    fn judge_process(&mut self, history: &History, ops: &[usize]) {
        let mut session = Session::default();
        for &i in ops {
            let op = &history.ops[i];
            if op.outcome != Outcome::Ok {
                continue;
            }
            let Some(version) = op.version else {
                self.unversioned += 1;
                continue;
            };
            if op.func.is_read() {
                self.read(history, &mut session, i, version);
            } else {
                self.write(history, &mut session, i, version);
            }
        }
    }

    fn read(&mut self, history: &History, session: &mut Session, i: usize, version: u64) {
        let op = &history.ops[i];
        self.reads += 1;
        if let Some(&(w, wv)) = session.own_write.get(&op.key)
            && version < wv
        {
            self.ryw.add(history, op.key, vec![w, i], || {
                read_your_writes(history, &history.ops[w], op)
            });
        }
        match session.newest_read.get(&op.key) {
            Some(&(r, rv)) if version < rv => {
                self.mr.add(history, op.key, vec![r, i], || {
                    ordering_broken(history, &history.ops[r], op, MONOTONIC_READS)
                });
            }
            Some(&(_, rv)) if version == rv => {}
            _ => {
                session.newest_read.insert(op.key, (i, version));
            }
        }
    }

    fn write(&mut self, history: &History, session: &mut Session, i: usize, version: u64) {
        let op = &history.ops[i];
        self.writes += 1;
        if let Some(&(w, wv)) = session.own_write.get(&op.key)
            && version <= wv
        {
            self.mw.add(history, op.key, vec![w, i], || {
                ordering_broken(history, &history.ops[w], op, MONOTONIC_WRITES)
            });
        }
        if let Some(&(r, rv)) = session.newest_read.get(&op.key)
            && version <= rv
        {
            self.wfr.add(history, op.key, vec![r, i], || {
                ordering_broken(history, &history.ops[r], op, WRITES_FOLLOW_READS)
            });
        }
        session.own_write.insert(op.key, (i, version));
    }
}

/// One check's result over `of` judged operations (`what`: "reads" or "writes"). `unknown`:
/// the number of ok operations, when none reported a version.
fn verdict(
    keys: &[KeyInfo],
    name: &'static str,
    f: Findings,
    what: &str,
    of: u64,
    unknown: Option<u64>,
) -> CheckResult {
    let (status, summary) = match unknown {
        _ if f.count > 0 => (
            Status::Fail,
            format!("{} of {of} {what} broke {name}", f.count),
        ),
        Some(unversioned) => (
            Status::Unknown,
            format!("no operation reports a version ({unversioned} ok operations)"),
        ),
        None => (Status::Pass, format!("all {of} {what} kept {name}")),
    };
    let unknown_kinds = if status == Status::Unknown {
        keys.iter().map(|k| k.kind).collect()
    } else {
        Default::default()
    };
    CheckResult {
        name,
        status,
        summary,
        figures: vec![
            ("judged", Figure::Count(of)),
            ("violations", Figure::Count(f.count)),
        ],
        findings: f.shown,
        failed_kinds: f.failed_kinds,
        unknown_kinds,
    }
}

/// The four checks fed one operation at a time, in history order: the state of each process
/// that may still act, per key, and the first findings of each check in the batch order
/// (process by process, then operation by operation).
#[derive(Default)]
pub(crate) struct Online {
    ryw: TopFindings,
    mr: TopFindings,
    mw: TopFindings,
    wfr: TopFindings,
    reads: u64,
    writes: u64,
    unversioned: u64,
    sessions: BTreeMap<(ProcessId, KeyId), OnlineSession>,
}

/// A process's latest own write to a key and its newest read of it.
#[derive(Default)]
struct OnlineSession {
    own_write: Option<Recorded>,
    newest_read: Option<Recorded>,
}

impl Online {
    pub fn op(&mut self, keys: &[KeyInfo], r: &Recorded) {
        let op = &r.op;
        if op.outcome != Outcome::Ok {
            return;
        }
        let Some(version) = op.version else {
            self.unversioned += 1;
            return;
        };
        let kind = keys[op.key.0 as usize].kind;
        let order = (u64::from(op.process.0), r.index as u64);
        let s = self.sessions.entry((op.process, op.key)).or_default();
        // `wrong`: what went wrong between two operations, or `None` for read-your-writes.
        let found = |first: &Recorded, wrong: Option<&str>| {
            explained(keys, op.key, &[first, r], |h, l| match wrong {
                None => read_your_writes(h, &h.ops[l[0]], &h.ops[l[1]]),
                Some(wrong) => ordering_broken(h, &h.ops[l[0]], &h.ops[l[1]], wrong),
            })
        };
        let version_of = |x: &Option<Recorded>| x.map(|x| (x, x.op.version.unwrap_or(0)));
        if op.func.is_read() {
            self.reads += 1;
            if let Some((w, wv)) = version_of(&s.own_write)
                && version < wv
            {
                self.ryw.add(order, kind, || found(&w, None));
            }
            match version_of(&s.newest_read) {
                Some((n, rv)) if version < rv => {
                    self.mr
                        .add(order, kind, || found(&n, Some(MONOTONIC_READS)));
                }
                Some((_, rv)) if version == rv => {}
                _ => s.newest_read = Some(*r),
            }
        } else {
            self.writes += 1;
            if let Some((w, wv)) = version_of(&s.own_write)
                && version <= wv
            {
                self.mw
                    .add(order, kind, || found(&w, Some(MONOTONIC_WRITES)));
            }
            if let Some((n, rv)) = version_of(&s.newest_read)
                && version <= rv
            {
                self.wfr
                    .add(order, kind, || found(&n, Some(WRITES_FOLLOW_READS)));
            }
            s.own_write = Some(*r);
        }
    }

    /// `process` acts no more: its sessions go.
    pub fn process_done(&mut self, process: ProcessId) {
        let range = (process, KeyId(0))..=(process, KeyId(u32::MAX));
        while let Some((&k, _)) = self.sessions.range(range.clone()).next() {
            self.sessions.remove(&k);
        }
    }

    pub fn finish(&mut self, keys: &[KeyInfo]) -> Vec<CheckResult> {
        let found = [
            std::mem::take(&mut self.ryw).findings(),
            std::mem::take(&mut self.mr).findings(),
            std::mem::take(&mut self.mw).findings(),
            std::mem::take(&mut self.wfr).findings(),
        ];
        self.sessions.clear();
        verdicts(keys, found, (self.reads, self.writes, self.unversioned))
    }
}

/// `process read key=value (version v) at t`
fn describe(history: &History, op: &Operation) -> String {
    let what = match op.func {
        Func::Read => format!(
            "read {}={}",
            history.key(op.key).name,
            format_value(op.value)
        ),
        Func::Write { value } => format!("wrote {}={value}", history.key(op.key).name),
        Func::Cas { from, to } => format!("set {} from {from} to {to}", history.key(op.key).name),
        Func::Decrement { qty, .. } => format!(
            "decremented {} by {qty} to {}",
            history.key(op.key).name,
            format_value(op.value)
        ),
    };
    format!(
        "{what} (version {}) at {}",
        op.version.map_or("?".into(), |v| v.to_string()),
        history.format_time(op.complete.unwrap_or(op.invoke))
    )
}

fn gap(history: &History, earlier: &Operation, later: &Operation) -> String {
    let from = earlier.complete.unwrap_or(earlier.invoke);
    history.format_duration(later.invoke.saturating_sub(from))
}

fn read_your_writes(history: &History, write: &Operation, read: &Operation) -> String {
    format!(
        "{} {}, {} after its own write was acknowledged: it {}, so it did not see its own write",
        history.process(read.process),
        describe(history, read),
        gap(history, write, read),
        describe(history, write),
    )
}

/// What went wrong between two operations of one process, for the sentence.
const MONOTONIC_READS: &str = "its second read went back to an older version";
const MONOTONIC_WRITES: &str = "its later write took an older version than its earlier one";
const WRITES_FOLLOW_READS: &str = "its write was not ordered after the version it had read";

/// `process did first, then did then: what went wrong`.
fn ordering_broken(history: &History, first: &Operation, then: &Operation, wrong: &str) -> String {
    format!(
        "{} {}, then {}: {wrong}",
        history.process(then.process),
        describe(history, first),
        describe(history, then),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryBuilder, KeyKind, Source, TimeUnit};

    /// (process, func, invoke, complete, value, version) on one key, all `ok`.
    type Op<'a> = (&'a str, Func, u64, u64, i64, Option<u64>);

    fn history(ops: &[Op<'_>]) -> History {
        let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
        let k = b.key("profile/0", KeyKind::Profile, Some(0), Some(0));
        for &(p, func, invoke, complete, value, version) in ops {
            let process = b.process(p);
            b.push(Operation {
                process,
                key: k,
                func,
                outcome: Outcome::Ok,
                invoke,
                complete: Some(complete),
                value: Some(value),
                version,
            });
        }
        b.finish()
    }

    fn verdicts(h: &History) -> Vec<(&'static str, Status, Figure)> {
        check(h)
            .into_iter()
            .map(|c| (c.name, c.status, c.figures[1].1))
            .collect()
    }

    const W: fn(i64) -> Func = |value| Func::Write { value };

    #[test]
    fn a_session_that_sees_its_writes_in_order_passes_all_four() {
        let h = history(&[
            ("a", W(5), 0, 1_000_000, 5, Some(1)),
            ("a", Func::Read, 1_500_000, 1_600_000, 5, Some(1)),
            ("b", Func::Read, 1_500_000, 1_600_000, 0, Some(0)), // another session may lag
            ("a", W(6), 2_000_000, 2_100_000, 6, Some(2)),
            ("a", Func::Read, 3_000_000, 3_100_000, 6, Some(2)),
        ]);
        for (name, status, violations) in verdicts(&h) {
            assert_eq!(
                (status, violations),
                (Status::Pass, Figure::Count(0)),
                "{name}"
            );
        }
    }

    #[test]
    fn a_stale_read_of_ones_own_write_breaks_read_your_writes_and_says_so() {
        let h = history(&[
            ("session-7", W(5), 0, 1_000_000, 5, Some(3)),
            ("session-7", Func::Read, 3_900_000, 4_000_000, 4, Some(2)),
        ]);
        let results = check(&h);
        assert_eq!(results[0].status, Status::Fail);
        assert_eq!(results[0].figures[1].1, Figure::Count(1));
        assert_eq!(
            results[0].findings[0].sentence,
            "session-7 read profile/0=4 (version 2) at t=4.000 s, 2.900 s after its own write \
             was acknowledged: it wrote profile/0=5 (version 3) at t=1.000 s, so it did not see \
             its own write"
        );
        assert_eq!(results[0].findings[0].ops, vec![0, 1]);
        assert_eq!(
            results[1].status,
            Status::Pass,
            "one read cannot go back in time"
        );
    }

    #[test]
    fn reading_an_older_version_breaks_monotonic_reads() {
        let h = history(&[
            ("a", Func::Read, 0, 10, 5, Some(3)),
            ("a", Func::Read, 20, 30, 5, Some(3)),
            ("a", Func::Read, 40, 50, 4, Some(2)),
            ("a", Func::Read, 60, 70, 4, Some(2)),
        ]);
        let v = verdicts(&h);
        // The newest version read stays 3, so both older reads count.
        assert_eq!(v[1], ("monotonic-reads", Status::Fail, Figure::Count(2)));
        assert_eq!(v[0].1, Status::Pass);
    }

    #[test]
    fn writes_out_of_order_break_monotonic_writes_and_writes_follow_reads() {
        let h = history(&[
            ("a", W(1), 0, 10, 1, Some(5)),
            ("a", W(2), 20, 30, 2, Some(4)),
            ("b", Func::Read, 0, 10, 9, Some(8)),
            ("b", W(3), 20, 30, 3, Some(8)),
        ]);
        let v = verdicts(&h);
        assert_eq!(v[2], ("monotonic-writes", Status::Fail, Figure::Count(1)));
        assert_eq!(
            v[3],
            ("writes-follow-reads", Status::Fail, Figure::Count(1))
        );
    }

    #[test]
    fn without_versions_the_verdict_is_unknown() {
        let h = history(&[
            ("a", W(1), 0, 10, 1, None),
            ("a", Func::Read, 20, 30, 0, None),
        ]);
        for (name, status, _) in verdicts(&h) {
            assert_eq!(status, Status::Unknown, "{name}");
        }
    }
}
