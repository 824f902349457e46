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
use crate::history::{Func, History, KeyKind, Operation, Outcome};

pub fn check(history: &History) -> Vec<CheckResult> {
    let by_key = history.ops_by_key();
    let stock_keys: Vec<usize> = (0..history.keys.len())
        .filter(|&k| history.keys[k].kind == KeyKind::Stock)
        .collect();
    if stock_keys.is_empty() {
        return Vec::new();
    }
    let mut oversell = Findings::default();
    let mut negative = Findings::default();
    let mut conservation = Findings::default();
    let (mut sold_total, mut oversold_total, mut in_doubt_total) = (0i64, 0i64, 0i64);
    let mut lowest: Option<i64> = None;
    let mut conservation_unknown = false;
    for &k in &stock_keys {
        let info = &history.keys[k];
        let key = crate::history::KeyId(k as u32);
        let Some(initial) = info.initial else {
            conservation_unknown = true;
            continue;
        };
        let (mut sold, mut in_doubt) = (0i64, 0i64);
        // The op whose sale took the stock past zero, for the explanation.
        let mut first_oversale: Option<usize> = None;
        // The latest version observed (read or write result), with its value.
        let mut last: Option<(u64, i64, usize)> = None;
        for &i in &by_key[k] {
            let op = &history.ops[i];
            let units = units_sold(op);
            match op.outcome {
                Outcome::Ok => {
                    sold += units;
                    if sold > initial && first_oversale.is_none() && units > 0 {
                        first_oversale = Some(i);
                    }
                }
                Outcome::Info => in_doubt += units,
                Outcome::Fail => {}
            }
            if op.outcome != Outcome::Ok {
                continue;
            }
            if let Some(v) = op.value {
                lowest = Some(lowest.map_or(v, |l: i64| l.min(v)));
                if v < 0 {
                    negative.add(history, key, vec![i], || {
                        format!(
                            "{} saw {}={v} at {} ({}): stock below zero",
                            history.process(op.process),
                            info.name,
                            history.format_time(op.complete.unwrap_or(op.invoke)),
                            op.func.name()
                        )
                    });
                }
                if let Some(version) = op.version
                    && last.is_none_or(|(lv, _, _)| version > lv)
                {
                    last = Some((version, v, i));
                }
            }
        }
        sold_total += sold;
        in_doubt_total += in_doubt;
        let over = (sold - initial).max(0);
        oversold_total += over;
        if let Some(i) = first_oversale {
            oversell.add(history, key, vec![i], || {
                let op = &history.ops[i];
                format!(
                    "{} units of {} were sold against an initial stock of {initial}: {over} \
                     oversold; the first sale past zero was {}'s {} at {}",
                    sold,
                    info.name,
                    history.process(op.process),
                    op.func.name(),
                    history.format_time(op.complete.unwrap_or(op.invoke)),
                )
            });
        }
        // Conservation: what left the stock, by the last observation, is what was sold (plus
        // any of the unknown writes).
        match last {
            None => conservation_unknown |= !by_key[k].is_empty(),
            Some((version, observed, i)) => {
                let missing = initial - sold - observed;
                if !(0..=in_doubt).contains(&missing) {
                    conservation.add(history, key, vec![i], || {
                        format!(
                            "{}: initial stock {initial}, {sold} units sold, but {} observed \
                             {observed} (version {version}) at {}: {} unit{} unaccounted for{}",
                            info.name,
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
        }
    }
    let keys = stock_keys.len() as u64;
    vec![
        CheckResult {
            name: "no-oversell",
            status: status(oversell.count > 0, false),
            summary: if oversold_total > 0 {
                format!("{oversold_total} units oversold ({sold_total} sold)")
            } else {
                format!("{sold_total} units sold, none beyond the stock")
            },
            figures: vec![
                ("units_sold", Figure::Value(sold_total)),
                ("oversold_units", Figure::Value(oversold_total)),
                ("units_in_doubt", Figure::Value(in_doubt_total)),
            ],
            findings: oversell.shown,
            failed_kinds: oversell.failed_kinds,
            unknown_kinds: Default::default(),
        },
        CheckResult {
            name: "stock-never-negative",
            status: status(negative.count > 0, false),
            summary: if negative.count > 0 {
                format!(
                    "{} observations of a negative stock (lowest {})",
                    negative.count,
                    lowest.unwrap_or(0)
                )
            } else {
                "no client saw a negative stock".to_string()
            },
            figures: vec![
                ("negative_observations", Figure::Count(negative.count)),
                ("lowest_stock_seen", Figure::Value(lowest.unwrap_or(0))),
            ],
            findings: negative.shown,
            failed_kinds: negative.failed_kinds,
            unknown_kinds: Default::default(),
        },
        CheckResult {
            name: "conservation",
            status: status(conservation.count > 0, conservation_unknown),
            summary: if conservation.count > 0 {
                format!(
                    "units unaccounted for on {} of {keys} keys",
                    conservation.count
                )
            } else if conservation_unknown {
                "some stock key has no initial value or no observed version".to_string()
            } else {
                format!(
                    "every unit accounted for on {keys} stock key{}",
                    if keys == 1 { "" } else { "s" }
                )
            },
            figures: vec![
                ("keys", Figure::Count(keys)),
                ("keys_unbalanced", Figure::Count(conservation.count)),
            ],
            findings: conservation.shown,
            failed_kinds: conservation.failed_kinds,
            unknown_kinds: if conservation_unknown {
                [KeyKind::Stock].into()
            } else {
                Default::default()
            },
        },
    ]
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
