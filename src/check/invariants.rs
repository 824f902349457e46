//! The shop's business invariants, judged on the stock keys of a history.
//!
//! - **no-oversell**: the units sold (acknowledged decrements and compare-and-sets) never exceed
//!   the initial stock.
//! - **stock-never-negative**: no client ever saw a negative stock, in a read or as the result of
//!   a write.
//! - **conservation**: every unit that left the stock was sold: the initial stock minus the units
//!   sold equals the last stock observed, up to the writes whose outcome is unknown (`info`, each
//!   of which may or may not have applied).
//!
//! A history without stock keys has nothing to judge: these checks are then left out.
//!
//! Judged over a whole history ([`check`]) or online ([`Online`]: per stock key, its sums and
//! the operations a finding would name).

use super::online::{Recorded, TopFindings, explained};
use super::{CheckResult, Figure, Findings, Status};
use crate::history::{Func, History, KeyId, KeyInfo, KeyKind, Operation, Outcome};

pub fn check(history: &History) -> Vec<CheckResult> {
    let by_key = history.ops_by_key();
    let stock_keys: Vec<usize> = (0..history.keys.len())
        .filter(|&k| history.keys[k].kind == KeyKind::Stock)
        .collect();
    if stock_keys.is_empty() {
        return Vec::new();
    }
    let mut tally = Tally::default();
    for &k in &stock_keys {
        tally.judge_key(history, k, &by_key[k]);
    }
    tally.results(stock_keys.len())
}

impl Tally {
    /// The three results over `stock_keys` keys; none if there are none.
    fn results(self, stock_keys: usize) -> Vec<CheckResult> {
        if stock_keys == 0 {
            return Vec::new();
        }
        let Tally {
            oversell,
            negative,
            conservation: unbalanced,
            totals,
        } = self;
        vec![
            no_oversell(oversell, &totals),
            stock_never_negative(negative, &totals),
            conservation(unbalanced, &totals, stock_keys as u64),
        ]
    }
}

/// The three checks' findings, and their figures summed over the stock keys.
#[derive(Default)]
struct Tally {
    oversell: Findings,
    negative: Findings,
    conservation: Findings,
    totals: Totals,
}

#[derive(Default)]
struct Totals {
    sold: i64,
    oversold: i64,
    in_doubt: i64,
    /// The lowest stock any client saw.
    lowest: Option<i64>,
    /// Some stock key has no initial value, or operations but no observed version.
    conservation_unknown: bool,
}

impl Totals {
    /// Adds a key's sales; `has_ops`: the key has operations, of any outcome.
    fn add<R>(&mut self, sales: &Sales<R>, initial: i64, has_ops: bool) {
        self.sold += sales.sold;
        self.in_doubt += sales.in_doubt;
        self.oversold += (sales.sold - initial).max(0);
        self.conservation_unknown |= sales.last.is_none() && has_ops;
    }

    fn saw(&mut self, v: i64) {
        self.lowest = Some(self.lowest.map_or(v, |l| l.min(v)));
    }
}

/// What one stock key's operations add up to; `R` names an operation (an index into the
/// history, or the operation itself when judged online).
struct Sales<R> {
    sold: i64,
    in_doubt: i64,
    /// The op whose sale took the stock past zero, for the explanation.
    first_oversale: Option<R>,
    /// The latest version observed (read or write result): (version, value, op).
    last: Option<(u64, i64, R)>,
}

impl<R: Copy> Sales<R> {
    fn new() -> Self {
        Sales {
            sold: 0,
            in_doubt: 0,
            first_oversale: None,
            last: None,
        }
    }

    /// Adds the key's next operation in history order, `op` named `r`; returns the stock it
    /// showed its client, if it showed one.
    fn add(&mut self, op: &Operation, r: R, initial: i64) -> Option<i64> {
        let units = units_sold(op);
        match op.outcome {
            Outcome::Ok => {
                self.sold += units;
                if self.sold > initial && self.first_oversale.is_none() && units > 0 {
                    self.first_oversale = Some(r);
                }
            }
            Outcome::Info => self.in_doubt += units,
            Outcome::Fail => {}
        }
        let (Outcome::Ok, Some(v)) = (op.outcome, op.value) else {
            return None;
        };
        if let Some(version) = op.version
            && self.last.is_none_or(|(lv, _, _)| version > lv)
        {
            self.last = Some((version, v, r));
        }
        Some(v)
    }

    /// Conservation: what left the stock, by the last observation, is what was sold (plus any
    /// of the writes whose outcome is unknown). The last observation, if it says otherwise.
    fn unbalanced(&self, initial: i64) -> Option<(u64, i64, R)> {
        let (_, observed, _) = self.last?;
        let missing = initial - self.sold - observed;
        (!(0..=self.in_doubt).contains(&missing)).then_some(self.last?)
    }
}

impl Tally {
    fn judge_key(&mut self, history: &History, k: usize, ops: &[usize]) {
        let key = KeyId(k as u32);
        let Some(initial) = history.keys[k].initial else {
            self.totals.conservation_unknown = true;
            return;
        };
        let mut sales = Sales::new();
        for &i in ops {
            let op = &history.ops[i];
            let Some(v) = sales.add(op, i, initial) else {
                continue;
            };
            self.totals.saw(v);
            if v < 0 {
                self.negative
                    .add(history, key, vec![i], || negative(history, op, v));
            }
        }
        self.totals.add(&sales, initial, !ops.is_empty());
        if let Some(i) = sales.first_oversale {
            self.oversell.add(history, key, vec![i], || {
                oversold(history, &history.ops[i], initial, sales.sold)
            });
        }
        if let Some((version, observed, i)) = sales.unbalanced(initial) {
            self.conservation.add(history, key, vec![i], || {
                unaccounted(
                    history,
                    &history.ops[i],
                    initial,
                    sales.sold,
                    (version, observed),
                )
            });
        }
    }
}

/// The three checks fed one operation at a time, in history order: per stock key its sales so
/// far, with the operations its findings would name.
#[derive(Default)]
pub(crate) struct Online {
    keys: Vec<Option<(Sales<Recorded>, bool)>>,
    negative: TopFindings,
    lowest: Totals,
}

impl Online {
    pub fn op(&mut self, keys: &[KeyInfo], r: &Recorded) {
        let (op, k) = (&r.op, r.op.key.0 as usize);
        let info = &keys[k];
        let Some(initial) = info.initial.filter(|_| info.kind == KeyKind::Stock) else {
            return;
        };
        if self.keys.len() <= k {
            self.keys.resize_with(k + 1, || None);
        }
        let (sales, has_ops) = self.keys[k].get_or_insert_with(|| (Sales::new(), false));
        *has_ops = true;
        let Some(v) = sales.add(op, *r, initial) else {
            return;
        };
        self.lowest.saw(v);
        if v < 0 {
            self.negative
                .add((k as u64, r.index as u64), info.kind, || {
                    explained(keys, op.key, &[r], |h, l| negative(h, &h.ops[l[0]], v))
                });
        }
    }

    pub fn finish(&mut self, keys: &[KeyInfo]) -> Vec<CheckResult> {
        let mut t = Tally {
            totals: Totals {
                lowest: self.lowest.lowest,
                ..Totals::default()
            },
            ..Tally::default()
        };
        let stock = (0..keys.len()).filter(|&k| keys[k].kind == KeyKind::Stock);
        for k in stock {
            let key = KeyId(k as u32);
            let Some(initial) = keys[k].initial else {
                t.totals.conservation_unknown = true;
                continue;
            };
            let (sales, has_ops) = match self.keys.get_mut(k).and_then(Option::take) {
                Some(s) => s,
                None => (Sales::new(), false),
            };
            t.totals.add(&sales, initial, has_ops);
            let sold = sales.sold;
            if let Some(r) = sales.first_oversale {
                let f = explained(keys, key, &[&r], |h, l| {
                    oversold(h, &h.ops[l[0]], initial, sold)
                });
                t.oversell.push(keys[k].kind, f);
            }
            if let Some((version, observed, r)) = sales.unbalanced(initial) {
                let f = explained(keys, key, &[&r], |h, l| {
                    unaccounted(h, &h.ops[l[0]], initial, sold, (version, observed))
                });
                t.conservation.push(keys[k].kind, f);
            }
        }
        t.negative = std::mem::take(&mut self.negative).findings();
        t.results(keys.iter().filter(|k| k.kind == KeyKind::Stock).count())
    }
}

/// The explanation of an oversell: `op`, the first sale past zero, and the units `sold` in all.
fn oversold(history: &History, op: &Operation, initial: i64, sold: i64) -> String {
    format!(
        "{sold} units of {} were sold against an initial stock of {initial}: {} oversold; the \
         first sale past zero was {}'s {} at {}",
        history.key(op.key).name,
        (sold - initial).max(0),
        history.process(op.process),
        op.func.name(),
        history.format_time(op.complete.unwrap_or(op.invoke)),
    )
}

/// `op` showed its client the stock `v`, below zero.
fn negative(history: &History, op: &Operation, v: i64) -> String {
    format!(
        "{} saw {}={v} at {} ({}): stock below zero",
        history.process(op.process),
        history.key(op.key).name,
        history.format_time(op.complete.unwrap_or(op.invoke)),
        op.func.name()
    )
}

/// `op`, the last observation (`version`, `observed`), does not balance the units sold.
fn unaccounted(
    history: &History,
    op: &Operation,
    initial: i64,
    sold: i64,
    (version, observed): (u64, i64),
) -> String {
    let missing = initial - sold - observed;
    format!(
        "{}: initial stock {initial}, {sold} units sold, but {} observed {observed} (version \
         {version}) at {}: {} unit{} unaccounted for{}",
        history.key(op.key).name,
        history.process(op.process),
        history.format_time(op.invoke),
        missing.abs(),
        if missing.abs() == 1 { "" } else { "s" },
        if missing < 0 {
            " (more stock than sales allow)"
        } else {
            " (stock gone without a sale)"
        }
    )
}

fn no_oversell(findings: Findings, t: &Totals) -> CheckResult {
    let summary = if t.oversold > 0 {
        format!("{} units oversold ({} sold)", t.oversold, t.sold)
    } else {
        format!("{} units sold, none beyond the stock", t.sold)
    };
    let figures = vec![
        ("units_sold", Figure::Value(t.sold)),
        ("oversold_units", Figure::Value(t.oversold)),
        ("units_in_doubt", Figure::Value(t.in_doubt)),
    ];
    result("no-oversell", findings, false, summary, figures)
}

fn stock_never_negative(findings: Findings, t: &Totals) -> CheckResult {
    let (count, lowest) = (findings.count, t.lowest.unwrap_or(0));
    let summary = if count > 0 {
        format!("{count} observations of a negative stock (lowest {lowest})")
    } else {
        "no client saw a negative stock".to_string()
    };
    let figures = vec![
        ("negative_observations", Figure::Count(count)),
        ("lowest_stock_seen", Figure::Value(lowest)),
    ];
    result("stock-never-negative", findings, false, summary, figures)
}

fn conservation(findings: Findings, t: &Totals, keys: u64) -> CheckResult {
    let (count, unknown) = (findings.count, t.conservation_unknown);
    let summary = if count > 0 {
        format!("units unaccounted for on {count} of {keys} keys")
    } else if unknown {
        "some stock key has no initial value or no observed version".to_string()
    } else {
        format!(
            "every unit accounted for on {keys} stock key{}",
            if keys == 1 { "" } else { "s" }
        )
    };
    let figures = vec![
        ("keys", Figure::Count(keys)),
        ("keys_unbalanced", Figure::Count(count)),
    ];
    result("conservation", findings, unknown, summary, figures)
}

/// A check's result from its findings: failed if there are any, else unknown (on stock keys)
/// or passed.
fn result(
    name: &'static str,
    findings: Findings,
    unknown: bool,
    summary: String,
    figures: Vec<(&'static str, Figure)>,
) -> CheckResult {
    CheckResult {
        name,
        status: status(findings.count > 0, unknown),
        summary,
        figures,
        findings: findings.shown,
        failed_kinds: findings.failed_kinds,
        unknown_kinds: if unknown {
            [KeyKind::Stock].into()
        } else {
            Default::default()
        },
    }
}

fn status(failed: bool, unknown: bool) -> Status {
    if failed {
        Status::Fail
    } else if unknown {
        Status::Unknown
    } else {
        Status::Pass
    }
}

/// The units an operation takes out of stock if it applies.
fn units_sold(op: &Operation) -> i64 {
    match op.func {
        Func::Decrement { qty, .. } => qty,
        Func::Cas { from, to } => from - to,
        Func::Read | Func::Write { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryBuilder, Source, TimeUnit};

    fn history(initial: i64, ops: &[(Func, Outcome, Option<i64>, Option<u64>)]) -> History {
        let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
        let k = b.key("stock/console", KeyKind::Stock, Some(initial), Some(0));
        for (n, &(func, outcome, value, version)) in ops.iter().enumerate() {
            let process = b.process(&format!("shopper-{n}"));
            let t = n as u64 * 1_000_000;
            b.push(Operation {
                process,
                key: k,
                func,
                outcome,
                invoke: t,
                complete: Some(t + 1000),
                value,
                version,
            });
        }
        b.finish()
    }

    fn dec(qty: i64) -> Func {
        Func::Decrement {
            qty,
            conditional: false,
        }
    }

    fn verdicts(h: &History) -> Vec<Status> {
        check(h).into_iter().map(|c| c.status).collect()
    }

    #[test]
    fn selling_out_exactly_keeps_every_invariant() {
        let h = history(
            3,
            &[
                (dec(2), Outcome::Ok, Some(1), Some(1)),
                (Func::Cas { from: 1, to: 0 }, Outcome::Ok, Some(0), Some(2)),
                (dec(1), Outcome::Fail, None, None),
                (Func::Read, Outcome::Ok, Some(0), Some(2)),
            ],
        );
        assert_eq!(verdicts(&h), vec![Status::Pass; 3]);
        assert_eq!(check(&h)[0].figures[0].1, Figure::Value(3));
    }

    #[test]
    fn blind_decrements_past_zero_oversell_and_go_negative() {
        let h = history(
            2,
            &[
                (dec(1), Outcome::Ok, Some(1), Some(1)),
                (dec(2), Outcome::Ok, Some(-1), Some(2)),
                (dec(1), Outcome::Ok, Some(-2), Some(3)),
            ],
        );
        let r = check(&h);
        assert_eq!(
            r.iter().map(|c| c.status).collect::<Vec<_>>(),
            vec![Status::Fail, Status::Fail, Status::Pass]
        );
        assert_eq!(r[0].figures[1].1, Figure::Value(2));
        assert_eq!(
            r[0].findings[0].sentence,
            "4 units of stock/console were sold against an initial stock of 2: 2 oversold; \
             the first sale past zero was shopper-1's decrement at t=1.001 s"
        );
        assert_eq!(
            r[1].figures,
            vec![
                ("negative_observations", Figure::Count(2)),
                ("lowest_stock_seen", Figure::Value(-2)),
            ]
        );
    }

    #[test]
    fn units_that_vanish_break_conservation_unless_an_unknown_write_explains_them() {
        let vanished = history(
            5,
            &[
                (dec(1), Outcome::Ok, Some(4), Some(1)),
                (Func::Read, Outcome::Ok, Some(2), Some(2)),
            ],
        );
        let r = check(&vanished);
        assert_eq!(r[2].status, Status::Fail);
        assert!(
            r[2].findings[0]
                .sentence
                .contains("2 units unaccounted for (stock gone without a sale)")
        );
        let explained = history(
            5,
            &[
                (dec(1), Outcome::Ok, Some(4), Some(1)),
                (dec(2), Outcome::Info, None, None),
                (Func::Read, Outcome::Ok, Some(2), Some(2)),
            ],
        );
        assert_eq!(verdicts(&explained), vec![Status::Pass; 3]);
        assert_eq!(check(&explained)[0].figures[2].1, Figure::Value(2));
    }
}
