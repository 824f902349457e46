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

use super::{CheckResult, Figure, Findings, Status};
use crate::history::{Func, History, KeyId, KeyKind, Operation, Outcome};

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
    let keys = stock_keys.len() as u64;
    let Tally {
        oversell,
        negative,
        conservation: unbalanced,
        totals,
    } = tally;
    vec![
        no_oversell(oversell, &totals),
        stock_never_negative(negative, &totals),
        conservation(unbalanced, &totals, keys),
    ]
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

/// What one stock key's operations add up to.
struct Sales {
    sold: i64,
    in_doubt: i64,
    /// The op whose sale took the stock past zero, for the explanation.
    first_oversale: Option<usize>,
    /// The latest version observed (read or write result): (version, value, op).
    last: Option<(u64, i64, usize)>,
}

impl Tally {
    fn judge_key(&mut self, history: &History, k: usize, ops: &[usize]) {
        let info = &history.keys[k];
        let key = KeyId(k as u32);
        let Some(initial) = info.initial else {
            self.totals.conservation_unknown = true;
            return;
        };
        let sales = self.scan(history, key, ops, initial);
        self.totals.sold += sales.sold;
        self.totals.in_doubt += sales.in_doubt;
        let over = (sales.sold - initial).max(0);
        self.totals.oversold += over;
        if let Some(i) = sales.first_oversale {
            self.oversell.add(history, key, vec![i], || {
                let op = &history.ops[i];
                format!(
                    "{} units of {} were sold against an initial stock of {initial}: {over} \
                     oversold; the first sale past zero was {}'s {} at {}",
                    sales.sold,
                    info.name,
                    history.process(op.process),
                    op.func.name(),
                    history.format_time(op.complete.unwrap_or(op.invoke)),
                )
            });
        }
        match sales.last {
            None => self.totals.conservation_unknown |= !ops.is_empty(),
            Some(last) => self.balance(history, key, initial, &sales, last),
        }
    }

    /// Sums the key's sales in history order, and records every negative stock a client saw.
    fn scan(&mut self, history: &History, key: KeyId, ops: &[usize], initial: i64) -> Sales {
        let mut sales = Sales {
            sold: 0,
            in_doubt: 0,
            first_oversale: None,
            last: None,
        };
        for &i in ops {
            let op = &history.ops[i];
            let units = units_sold(op);
            match op.outcome {
                Outcome::Ok => {
                    sales.sold += units;
                    if sales.sold > initial && sales.first_oversale.is_none() && units > 0 {
                        sales.first_oversale = Some(i);
                    }
                }
                Outcome::Info => sales.in_doubt += units,
                Outcome::Fail => {}
            }
            let (Outcome::Ok, Some(v)) = (op.outcome, op.value) else {
                continue;
            };
            let lowest = &mut self.totals.lowest;
            *lowest = Some(lowest.map_or(v, |l| l.min(v)));
            if v < 0 {
                self.negative.add(history, key, vec![i], || {
                    format!(
                        "{} saw {}={v} at {} ({}): stock below zero",
                        history.process(op.process),
                        history.key(key).name,
                        history.format_time(op.complete.unwrap_or(op.invoke)),
                        op.func.name()
                    )
                });
            }
            if let Some(version) = op.version
                && sales.last.is_none_or(|(lv, _, _)| version > lv)
            {
                sales.last = Some((version, v, i));
            }
        }
        sales
    }

    /// Conservation: what left the stock, by the last observation, is what was sold (plus any
    /// of the writes whose outcome is unknown).
    fn balance(
        &mut self,
        history: &History,
        key: KeyId,
        initial: i64,
        sales: &Sales,
        (version, observed, i): (u64, i64, usize),
    ) {
        let (sold, in_doubt) = (sales.sold, sales.in_doubt);
        let missing = initial - sold - observed;
        if (0..=in_doubt).contains(&missing) {
            return;
        }
        self.conservation.add(history, key, vec![i], || {
            format!(
                "{}: initial stock {initial}, {sold} units sold, but {} observed {observed} \
                 (version {version}) at {}: {} unit{} unaccounted for{}",
                history.key(key).name,
                history.process(history.ops[i].process),
                history.format_time(history.ops[i].invoke),
                missing.abs(),
                if missing.abs() == 1 { "" } else { "s" },
                if missing < 0 {
                    " (more stock than sales allow)"
                } else {
                    " (stock gone without a sale)"
                }
            )
        });
    }
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
