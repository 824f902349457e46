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

use std::collections::BTreeMap;

use super::{CheckResult, Figure, Findings, Status};
use crate::history::{Func, History, KeyId, Operation, Outcome, format_value};

/// The four session checks, in the order of the module doc.
pub fn check(history: &History) -> Vec<CheckResult> {
    // Every op, grouped by process and in invocation order within it (a process runs one at a
    // time): one index vector, not one per process (lagsim has a process per shopper).
    let mut order: Vec<usize> = (0..history.ops.len()).collect();
    order.sort_by_key(|&i| history.ops[i].process);
    let by_process = order.chunk_by(|&a, &b| history.ops[a].process == history.ops[b].process);
    let mut ryw = Findings::default();
    let mut mr = Findings::default();
    let mut mw = Findings::default();
    let mut wfr = Findings::default();
    let (mut reads, mut writes, mut unversioned) = (0u64, 0u64, 0u64);
    for ops in by_process {
        // Per key: (op index, version) of the latest own write, the newest read, the last write.
        let mut own_write: BTreeMap<KeyId, (usize, u64)> = BTreeMap::new();
        let mut newest_read: BTreeMap<KeyId, (usize, u64)> = BTreeMap::new();
        for &i in ops {
            let op = &history.ops[i];
            if op.outcome != Outcome::Ok {
                continue;
            }
            let Some(version) = op.version else {
                unversioned += 1;
                continue;
            };
            if op.func.is_read() {
                reads += 1;
                if let Some(&(w, wv)) = own_write.get(&op.key)
                    && version < wv
                {
                    ryw.add(history, op.key, vec![w, i], || {
                        read_your_writes(history, &history.ops[w], op)
                    });
                }
                match newest_read.get(&op.key) {
                    Some(&(r, rv)) if version < rv => {
                        mr.add(history, op.key, vec![r, i], || {
                            monotonic_reads(history, &history.ops[r], op)
                        });
                    }
                    Some(&(_, rv)) if version == rv => {}
                    _ => {
                        newest_read.insert(op.key, (i, version));
                    }
                }
            } else {
                writes += 1;
                if let Some(&(w, wv)) = own_write.get(&op.key)
                    && version <= wv
                {
                    mw.add(history, op.key, vec![w, i], || {
                        monotonic_writes(history, &history.ops[w], op)
                    });
                }
                if let Some(&(r, rv)) = newest_read.get(&op.key)
                    && version <= rv
                {
                    wfr.add(history, op.key, vec![r, i], || {
                        writes_follow_reads(history, &history.ops[r], op)
                    });
                }
                own_write.insert(op.key, (i, version));
            }
        }
    }
    let judged = reads + writes;
    let make = |name: &'static str, f: Findings, what: &str, of: u64| {
        let status = if f.count > 0 {
            Status::Fail
        } else if judged == 0 && unversioned > 0 {
            Status::Unknown
        } else {
            Status::Pass
        };
        let summary = match status {
            Status::Fail => format!("{} of {of} {what} broke {name}", f.count),
            Status::Unknown => {
                format!("no operation reports a version ({unversioned} ok operations)")
            }
            Status::Pass => format!("all {of} {what} kept {name}"),
        };
        let unknown_kinds = if status == Status::Unknown {
            history.keys.iter().map(|k| k.kind).collect()
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
    };
    vec![
        make("read-your-writes", ryw, "reads", reads),
        make("monotonic-reads", mr, "reads", reads),
        make("monotonic-writes", mw, "writes", writes),
        make("writes-follow-reads", wfr, "writes", writes),
    ]
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

fn monotonic_reads(history: &History, first: &Operation, then: &Operation) -> String {
    format!(
        "{} {}, then {}: its second read went back to an older version",
        history.process(then.process),
        describe(history, first),
        describe(history, then),
    )
}

fn monotonic_writes(history: &History, first: &Operation, then: &Operation) -> String {
    format!(
        "{} {}, then {}: its later write took an older version than its earlier one",
        history.process(then.process),
        describe(history, first),
        describe(history, then),
    )
}

fn writes_follow_reads(history: &History, read: &Operation, write: &Operation) -> String {
    format!(
        "{} {}, then {}: its write was not ordered after the version it had read",
        history.process(write.process),
        describe(history, read),
        describe(history, write),
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
