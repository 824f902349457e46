//! Bounded staleness: for every read, how old its value was when it was returned.
//!
//! A read that returned version v is stale if a write that made a newer version had been
//! acknowledged to its client *before the read was invoked*: then no ordering can excuse it.
//! Its age is the time from that acknowledgement (the earliest, if several) to the read's return,
//! and it is behind by the versions between v and the newest acknowledged one. Writes still in
//! flight when the read began do not count: the read may legitimately precede them.
//!
//! The verdict fails when some read was older than the bound (default 0: any stale read). Only
//! reads and writes that report versions are judged.
//!
//! Judged over a whole history ([`check`]) or online ([`Online`]): a read is judged when it
//! comes, since every write acknowledged before it was invoked came before it in history order;
//! per key, only the acknowledgements that raised the newest version are kept.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::online::{Recorded, TopFindings, explained, shell};
use super::{CheckResult, Figure, Findings, Status};
use crate::engine::Histogram;
use crate::history::{History, KeyInfo, Outcome, format_value};

/// Judges every versioned read of `history` against `bound` (in the history's time unit).
pub fn check(history: &History, bound: u64) -> CheckResult {
    let mut t = Tally::default();
    for ops in &history.ops_by_key() {
        let acks = acknowledged_writes(history, ops);
        for &i in ops {
            let op = &history.ops[i];
            let (Outcome::Ok, true, Some(version), Some(returned)) =
                (op.outcome, op.func.is_read(), op.version, op.complete)
            else {
                continue;
            };
            t.reads += 1;
            let Some(stale) = superseded(&acks, op.invoke, version) else {
                continue;
            };
            let age = returned - stale.at;
            t.stale += 1;
            t.ages.record(age);
            t.worst_behind = t.worst_behind.max(stale.behind);
            if age > bound {
                t.findings.add(history, op.key, vec![stale.by, i], || {
                    sentence(history, i, &stale, age)
                });
            }
        }
    }
    t.result(history, bound)
}

/// What the check counts over every key.
#[derive(Default)]
struct Tally {
    ages: Histogram,
    reads: u64,
    stale: u64,
    worst_behind: u64,
    findings: Findings,
}

/// A key's acknowledged writes as (acknowledged at, newest version acknowledged by then, op), in
/// order of acknowledgement. The version is a running maximum, so that a binary search finds
/// the first write that superseded a given version.
fn acknowledged_writes(history: &History, ops: &[usize]) -> Vec<(u64, u64, usize)> {
    let mut acks: Vec<(u64, u64, usize)> = ops
        .iter()
        .filter_map(|&i| {
            let op = &history.ops[i];
            let ok_write = op.outcome == Outcome::Ok && !op.func.is_read();
            Some((op.complete?, op.version.filter(|_| ok_write)?, i))
        })
        .collect();
    acks.sort_by_key(|&(at, version, _)| (at, version));
    let mut newest = 0;
    for a in &mut acks {
        newest = newest.max(a.1);
        a.1 = newest;
    }
    acks
}

/// How a read of `version` invoked at `invoke` was stale.
#[derive(Clone, Copy)]
struct Stale {
    /// When the first write that replaced `version` was acknowledged, and that write.
    at: u64,
    by: usize,
    /// The newest version acknowledged before the read began, minus the read's.
    behind: u64,
}

fn superseded(acks: &[(u64, u64, usize)], invoke: u64, version: u64) -> Option<Stale> {
    // Writes acknowledged strictly before the read began.
    let before = acks.partition_point(|&(at, _, _)| at < invoke);
    let &(_, newest, _) = acks.get(before.checked_sub(1)?)?;
    if newest <= version {
        return None;
    }
    let first = acks[..before].partition_point(|&(_, v, _)| v <= version);
    let (at, _, by) = acks[first];
    Some(Stale {
        at,
        by,
        behind: newest - version,
    })
}

fn sentence(history: &History, read: usize, stale: &Stale, age: u64) -> String {
    let (op, w) = (&history.ops[read], &history.ops[stale.by]);
    format!(
        "{} read {}={} (version {}) at {}, {} after the write that replaced it was acknowledged \
         ({} {} at {}, version {}); {} newer version{} had been acknowledged",
        history.process(op.process),
        history.key(op.key).name,
        format_value(op.value),
        op.version.unwrap_or(0),
        history.format_time(op.complete.unwrap_or(op.invoke)),
        history.format_duration(age),
        history.process(w.process),
        w.func.name(),
        history.format_time(stale.at),
        w.version.unwrap_or(0),
        stale.behind,
        if stale.behind == 1 { "" } else { "s" },
    )
}

/// The check fed one operation at a time, in history order.
pub(crate) struct Online {
    bound: u64,
    tally: Tally,
    top: TopFindings,
    keys: Vec<OnlineKey>,
}

/// A key's acknowledged writes: those acknowledged before the latest invocation seen, as the
/// steps of the newest version acknowledged (the first write to reach each), and the others
/// until then, earliest acknowledgement first (ties as the batch check sorts them).
#[derive(Default)]
struct OnlineKey {
    steps: Vec<(u64, Recorded)>,
    later: BinaryHeap<Reverse<(u64, u64, usize)>>,
    later_ops: std::collections::BTreeMap<usize, Recorded>,
}

impl OnlineKey {
    /// Takes in the acknowledgements before `invoke`, in (acknowledged at, version, index) order.
    fn settle(&mut self, invoke: u64) {
        while let Some(&Reverse((at, version, index))) = self.later.peek() {
            if at >= invoke {
                return;
            }
            self.later.pop();
            let w = self.later_ops.remove(&index).expect("kept with its ack");
            let newest = self.steps.last().map_or(0, |s| s.1.op.version.unwrap_or(0));
            if version > newest {
                self.steps.push((at, w));
            }
        }
    }

    /// As [`superseded`], over the steps (the first write of a newer version is a step).
    fn superseded(&self, version: u64) -> Option<(Stale, &Recorded)> {
        let version_of = |s: &(u64, Recorded)| s.1.op.version.unwrap_or(0);
        let newest = version_of(self.steps.last()?);
        if newest <= version {
            return None;
        }
        let (at, w) = &self.steps[self.steps.partition_point(|s| version_of(s) <= version)];
        let stale = Stale {
            at: *at,
            by: w.index,
            behind: newest - version,
        };
        Some((stale, w))
    }
}

impl Online {
    pub fn new(bound: u64) -> Self {
        Self {
            bound,
            tally: Tally::default(),
            top: TopFindings::default(),
            keys: Vec::new(),
        }
    }

    pub fn op(&mut self, keys: &[KeyInfo], r: &Recorded) {
        let op = &r.op;
        let k = op.key.0 as usize;
        if self.keys.len() <= k {
            self.keys.resize_with(k + 1, OnlineKey::default);
        }
        let key = &mut self.keys[k];
        key.settle(op.invoke);
        if let (Some(at), Some(version), Outcome::Ok, false) =
            (op.complete, op.version, op.outcome, op.func.is_read())
        {
            key.later.push(Reverse((at, version, r.index)));
            key.later_ops.insert(r.index, *r);
        }
        let (Outcome::Ok, true, Some(version), Some(returned)) =
            (op.outcome, op.func.is_read(), op.version, op.complete)
        else {
            return;
        };
        let t = &mut self.tally;
        t.reads += 1;
        let Some((stale, w)) = key.superseded(version) else {
            return;
        };
        let age = returned - stale.at;
        t.stale += 1;
        t.ages.record(age);
        t.worst_behind = t.worst_behind.max(stale.behind);
        if age > self.bound {
            let kind = keys[k].kind;
            self.top.add((k as u64, r.index as u64), kind, || {
                explained(keys, op.key, &[w, r], |h, l| {
                    let stale = Stale { by: l[0], ..stale };
                    sentence(h, l[1], &stale, age)
                })
            });
        }
    }

    pub fn finish(&mut self, keys: &[KeyInfo]) -> CheckResult {
        let mut tally = std::mem::take(&mut self.tally);
        tally.findings = std::mem::take(&mut self.top).findings();
        self.keys.clear();
        tally.result(&shell(keys), self.bound)
    }
}

impl Tally {
    fn result(self, history: &History, bound: u64) -> CheckResult {
        let ms = |us: u64| match history.time_unit {
            crate::history::TimeUnit::Micros => Figure::Ms(us as f64 / 1e3),
            crate::history::TimeUnit::Index => Figure::Count(us),
        };
        let (reads, stale, findings) = (self.reads, self.stale, self.findings);
        let status = if findings.count > 0 {
            Status::Fail
        } else {
            Status::Pass
        };
        let summary = if stale == 0 {
            format!("none of {reads} versioned reads was stale")
        } else {
            format!(
                "{stale} of {reads} versioned reads were stale, the oldest by {} ({} over the \
                 bound of {})",
                history.format_duration(self.ages.max()),
                findings.count,
                history.format_duration(bound)
            )
        };
        CheckResult {
            name: "bounded-staleness",
            status,
            summary,
            figures: vec![
                ("reads", Figure::Count(reads)),
                ("stale_reads", Figure::Count(stale)),
                ("over_bound", Figure::Count(findings.count)),
                ("bound_ms", ms(bound)),
                ("staleness_ms_p50", ms(self.ages.quantile(0.5))),
                ("staleness_ms_p99", ms(self.ages.quantile(0.99))),
                ("staleness_ms_max", ms(self.ages.max())),
                ("versions_behind_max", Figure::Count(self.worst_behind)),
            ],
            findings: findings.shown,
            failed_kinds: findings.failed_kinds,
            unknown_kinds: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Func, HistoryBuilder, KeyKind, Operation, Source, TimeUnit};

    fn op(p: &str, func: Func, invoke: u64, complete: u64, value: i64, version: u64) -> Op {
        (p.to_string(), func, invoke, complete, value, version)
    }
    type Op = (String, Func, u64, u64, i64, u64);

    fn history(ops: &[Op]) -> History {
        let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
        let k = b.key("stock/console", KeyKind::Stock, Some(3), Some(0));
        for (p, func, invoke, complete, value, version) in ops {
            let process = b.process(p);
            b.push(Operation {
                process,
                key: k,
                func: *func,
                outcome: Outcome::Ok,
                invoke: *invoke,
                complete: Some(*complete),
                value: Some(*value),
                version: Some(*version),
            });
        }
        b.finish()
    }

    const DEC: Func = Func::Decrement {
        qty: 3,
        conditional: false,
    };

    #[test]
    fn a_read_after_an_acknowledged_write_is_stale_by_the_gap() {
        let h = history(&[
            op("shopper-12", DEC, 38_000_000, 38_300_000, 0, 1),
            op("shopper-7", Func::Read, 41_100_000, 41_200_000, 3, 0),
        ]);
        let r = check(&h, 0);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.figures[1], ("stale_reads", Figure::Count(1)));
        assert_eq!(r.figures[6], ("staleness_ms_max", Figure::Ms(2_900.0)));
        assert_eq!(
            r.findings[0].sentence,
            "shopper-7 read stock/console=3 (version 0) at t=41.200 s, 2.900 s after the write \
             that replaced it was acknowledged (shopper-12 decrement at t=38.300 s, version 1); \
             1 newer version had been acknowledged"
        );
        // Within a 3 s bound the same read passes, but is still measured.
        let r = check(&h, 3_000_000);
        assert_eq!((r.status, r.figures[1].1), (Status::Pass, Figure::Count(1)));
    }

    #[test]
    fn a_read_concurrent_with_the_write_is_not_stale() {
        let h = history(&[
            op("w", DEC, 10, 50, 0, 1),
            op("r", Func::Read, 40, 60, 3, 0), // invoked before the ack at 50
            op("r", Func::Read, 70, 80, 0, 1), // sees it
        ]);
        let r = check(&h, 0);
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.figures[0].1, Figure::Count(2));
        assert_eq!(r.figures[1].1, Figure::Count(0));
    }

    #[test]
    fn age_counts_from_the_first_newer_write_and_versions_from_the_newest() {
        let one = Func::Decrement {
            qty: 1,
            conditional: false,
        };
        let h = history(&[
            op("a", one, 0, 100, 2, 1),
            op("b", one, 150, 200, 1, 2),
            op("c", one, 250, 300, 0, 3),
            op("r", Func::Read, 400, 500, 3, 0),
        ]);
        let r = check(&h, 0);
        assert_eq!(r.figures[6].1, Figure::Ms(0.4)); // 500 - 100 µs
        assert_eq!(r.figures[7].1, Figure::Count(3));
    }
}
