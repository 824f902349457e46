//! `[[expect]]`: what a scenario expects of its variants over the seeds of a `lagsim test` run.
//!
//! An entry names its variants, and either a figure of the run compared with a number
//! (`that = "oversold_units == 0"`) or a checker's verdict (`check = "linearizability"`), and on
//! how many seeds it must hold. The figures it may name are [`FIGURES`] and, for saga variants,
//! [`SAGA_FIGURES`]: the numeric keys of a variant's `--format json` output.

use super::error::{Issue, line_column};
use super::read::{Interval, MAX_TIMEOUT_MS, R, Tab, Val, describe, list_and, list_or, ms_to_us};
use super::types::*;

/// The figures of every variant an expectation may compare: the numeric top-level keys of a
/// variant's `metrics` in `--format json` (docs/output-reference.md), sorted.
pub const FIGURES: &[&str] = &[
    "ack_wait_ms_p99",
    "alert_detect_delay_ms",
    "alert_detect_delay_ms_max",
    "availability",
    "browsed_only",
    "cache_crashes",
    "cache_hit_ratio",
    "cache_invalidations",
    "checkout_latency_ms_max",
    "checkout_latency_ms_p50",
    "checkout_latency_ms_p99",
    "checkout_retries",
    "checkouts",
    "commits_waited_for_acks",
    "converged_after_ms",
    "converged_at_s",
    "db_reads_saved",
    "lag_alert_active_s",
    "lag_alerts",
    "late_replies",
    "left_shown_sold_out",
    "lock_wait_ms_p99",
    "lock_waits",
    "max_staleness_ms",
    "messages_lost",
    "monitor_samples",
    "monotonic_read_violations",
    "orders_at_wrong_price",
    "orders_confirmed",
    "orders_failed",
    "orders_failed_aborted",
    "orders_failed_retries_exhausted",
    "orders_failed_timeout",
    "orders_rejected_out_of_stock",
    "oversold_units",
    "page_failed",
    "price_changes",
    "primary_commits",
    "primary_queries",
    "primary_queue_ms_mean",
    "primary_queue_ms_p99",
    "primary_queue_wait_share",
    "primary_read_share",
    "primary_utilisation",
    "profile_read_ms_p50",
    "profile_read_ms_p99",
    "profile_reads",
    "profile_sessions",
    "profile_sessions_failed",
    "quiescent_at_s",
    "replica_lag_ms_max",
    "replica_lag_ms_mean",
    "replica_lag_ms_p50",
    "replica_lag_ms_p90",
    "replica_lag_ms_p99",
    "replica_lag_ms_p999",
    "replica_queries",
    "request_timeouts",
    "ryw_violations",
    "session_token_fallbacks",
    "shoppers",
    "stale_badge_views",
    "stale_checkout_reads",
    "stale_page_reads",
    "stale_price_views",
    "stale_reads",
    "staleness_ms_p99",
    "stock_final_primary",
    "stock_initial",
    "sync_fallbacks",
    "txn_aborts",
    "units_decremented_unconfirmed",
    "units_sold",
];

/// The figures only a saga variant has, named `saga.KEY` in an expectation (the keys of
/// `metrics.saga` in `--format json`), sorted.
pub const SAGA_FIGURES: &[&str] = &[
    "charged_without_order",
    "checkouts_refused_while_down",
    "compensations_abandoned",
    "compensations_failed",
    "confirmed_but_reported_failed",
    "double_charges",
    "inconsistency_window_ms_max",
    "inconsistency_window_ms_p50",
    "inconsistency_window_ms_p99",
    "inconsistent_at_end",
    "leaked_reservations",
    "leaked_units",
    "lock_hold_ms_max",
    "lock_hold_ms_p50",
    "lock_hold_ms_p99",
    "lock_wait_ms_max",
    "lock_wait_ms_p99",
    "lock_waits",
    "orchestrator_crashes",
    "refunds",
    "replies_lost",
    "sagas_compensated",
    "sagas_completed",
    "sagas_lost_in_crash",
    "sagas_out_of_stock",
    "sagas_started",
    "sagas_stuck",
    "service_requests",
    "step_timeouts",
];

const EXPECT_KEYS: &[&str] = &[
    "variant",
    "variants",
    "that",
    "check",
    "verdict",
    "keys",
    "max_staleness_ms",
    "on_seeds",
    "why",
];

const THAT_FORM: &str = "`METRIC OP NUMBER` such as \"oversold_units == 0\", with OP one of \
                         `==`, `!=`, `<`, `<=`, `>` or `>=`";

/// `[[expect]]`, read against the scenario's variants. `text` is the file (for the entries' lines).
pub(super) fn read_expectations(
    root: &Tab<'_, '_>,
    variants: &[Variant],
    text: &str,
) -> R<Vec<Expectation>> {
    let Some(v) = root.get("expect") else {
        return Ok(Vec::new());
    };
    let items = v.array("an array of tables ([[expect]])")?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let t = item.table("a table ([[expect]])", EXPECT_KEYS)?;
        let line = if item.span.start < text.len() {
            line_column(text, item.span.start).0
        } else {
            0
        };
        let names = expect_variants(&t, variants)?;
        let claim = match (t.get("that"), t.get("check")) {
            (Some(_), Some(c)) => {
                return Err(c.issue(
                    "an expectation has either `that` (a figure) or `check` (a checker), not both: \
                     write two [[expect]] entries",
                ));
            }
            (None, None) => {
                return Err(Issue::new(
                    t.span.clone(),
                    t.path.clone(),
                    "missing key `that` or `check`: an expectation needs one, e.g. \
                     that = \"oversold_units == 0\" or check = \"linearizability\"",
                ));
            }
            (Some(that), None) => {
                for key in ["verdict", "keys", "max_staleness_ms"] {
                    if let Some(k) = t.get(key) {
                        return Err(k.issue(format!(
                            "`{key}` belongs to a `check` expectation, not to `that`"
                        )));
                    }
                }
                figure_claim(&that, &names, variants)?
            }
            (None, Some(check)) => check_claim(&t, &check)?,
        };
        let on_seeds = match t.get("on_seeds") {
            None => SeedShare::All,
            Some(sv) => seed_share(&sv)?,
        };
        let why = match t.get("why") {
            Some(w) => w.string()?.trim().to_string(),
            None => String::new(),
        };
        out.push(Expectation {
            variants: names,
            claim,
            on_seeds,
            why,
            line,
        });
    }
    Ok(out)
}

/// `variant = "a"` or `variants = ["a", "b"]`; neither: every variant.
fn expect_variants(t: &Tab<'_, '_>, variants: &[Variant]) -> R<Vec<String>> {
    let known = |n: &Val<'_, '_>| -> R<String> {
        let name = n.string()?;
        if variants.iter().any(|x| x.name == name) {
            Ok(name.to_string())
        } else {
            let known: Vec<&str> = variants.iter().map(|x| x.name.as_str()).collect();
            Err(n.issue(format!(
                "no variant named `{name}`; this scenario has {}",
                list_and(&known)
            )))
        }
    };
    match (t.get("variant"), t.get("variants")) {
        (Some(_), Some(vv)) => Err(
            vv.issue("write either `variant = \"name\"` or `variants = [\"a\", \"b\"]`, not both")
        ),
        (Some(v), None) => Ok(vec![known(&v)?]),
        (None, Some(vv)) => {
            let items = vv.array("an array of variant names")?;
            if items.is_empty() {
                return Err(vv.issue(
                    "expected at least one variant name; leave `variants` out to mean every variant",
                ));
            }
            let mut names: Vec<String> = Vec::with_capacity(items.len());
            for n in &items {
                let name = known(n)?;
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            Ok(names)
        }
        (None, None) => Ok(variants.iter().map(|v| v.name.clone()).collect()),
    }
}

/// Whether `metric` names a figure of a run (`oversold_units`, `saga.leaked_units`); if not,
/// the message, with the closest names.
pub(super) fn known_figure(metric: &str) -> Result<(), String> {
    let known = match metric.strip_prefix("saga.") {
        Some(key) => SAGA_FIGURES.contains(&key),
        None => FIGURES.contains(&metric),
    };
    if known {
        return Ok(());
    }
    let mut message = format!("unknown figure `{metric}`");
    let close = close_matches(metric);
    if !close.is_empty() {
        message += &format!("; did you mean {}?", list_or(&close));
    }
    message += " The figures are the numeric keys of a variant's metrics in `--format json` \
                (docs/output-reference.md), and `saga.KEY` for the keys of its `saga` figures";
    Err(message)
}

fn figure_claim(that: &Val<'_, '_>, names: &[String], variants: &[Variant]) -> R<Claim> {
    let s = that.string()?;
    let (metric, op, number) = split_that(s).map_err(|m| that.issue(m))?;
    known_figure(metric).map_err(|m| that.issue(m))?;
    if metric.starts_with("saga.") {
        for name in names {
            let v = variants.iter().find(|v| &v.name == name);
            if let Some(v) = v.filter(|v| v.checkout != CheckoutKind::Saga) {
                return Err(that.issue(format!(
                    "`{metric}` is a saga figure, and variant `{}` has checkout `{}`, not `saga`: \
                     name only saga variants with `variants`",
                    v.name,
                    v.checkout.name()
                )));
            }
        }
    }
    let value = match number.parse::<f64>() {
        Ok(x) if x.is_finite() && !number.starts_with(['+', '.']) => x,
        _ => {
            return Err(that.issue(format!(
                "expected a number after `{}`, found `{number}`: write {THAT_FORM}",
                op.name()
            )));
        }
    };
    Ok(Claim::Figure {
        metric: metric.to_string(),
        op,
        value,
    })
}

/// `oversold_units == 0` → (`oversold_units`, `==`, `0`), or what is wrong.
fn split_that(s: &str) -> Result<(&str, CompareOp, &str), String> {
    let Some(at) = s.find(['=', '!', '<', '>']) else {
        return Err(format!(
            "expected {THAT_FORM}, found {:?}: it has no operator",
            s
        ));
    };
    let rest = &s[at..];
    let (op, len) = if rest.starts_with("==") {
        (CompareOp::Eq, 2)
    } else if rest.starts_with("!=") {
        (CompareOp::Ne, 2)
    } else if rest.starts_with("<=") {
        (CompareOp::Le, 2)
    } else if rest.starts_with(">=") {
        (CompareOp::Ge, 2)
    } else if rest.starts_with('<') {
        (CompareOp::Lt, 1)
    } else if rest.starts_with('>') {
        (CompareOp::Gt, 1)
    } else if rest.starts_with('=') {
        return Err(format!(
            "`=` is not a comparison: write `==` (expected {THAT_FORM})"
        ));
    } else {
        return Err(format!("expected {THAT_FORM}, found {s:?}"));
    };
    let metric = s[..at].trim();
    let number = s[at + len..].trim();
    if metric.is_empty() {
        return Err(format!(
            "expected {THAT_FORM}, found {s:?}: the figure is missing before `{}`",
            op.name()
        ));
    }
    if number.is_empty() {
        return Err(format!(
            "expected {THAT_FORM}, found {s:?}: the number is missing after `{}`",
            op.name()
        ));
    }
    Ok((metric, op, number))
}

/// Up to three known figures closest to `name` (by edit distance, or containing it).
fn close_matches(name: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &'static str)> = FIGURES
        .iter()
        .chain(SAGA_NAMES)
        .filter_map(|full| {
            let d = edit_distance(name, full);
            let near = d <= (name.chars().count() / 3).max(2);
            let contains = name.len() >= 4 && (full.contains(name) || name.contains(full));
            (near || contains).then_some((d, *full))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, full)| full).collect()
}

/// `saga.KEY` for every saga figure, in the order of [`SAGA_FIGURES`] (for messages).
const SAGA_NAMES: &[&str] = &[
    "saga.charged_without_order",
    "saga.checkouts_refused_while_down",
    "saga.compensations_abandoned",
    "saga.compensations_failed",
    "saga.confirmed_but_reported_failed",
    "saga.double_charges",
    "saga.inconsistency_window_ms_max",
    "saga.inconsistency_window_ms_p50",
    "saga.inconsistency_window_ms_p99",
    "saga.inconsistent_at_end",
    "saga.leaked_reservations",
    "saga.leaked_units",
    "saga.lock_hold_ms_max",
    "saga.lock_hold_ms_p50",
    "saga.lock_hold_ms_p99",
    "saga.lock_wait_ms_max",
    "saga.lock_wait_ms_p99",
    "saga.lock_waits",
    "saga.orchestrator_crashes",
    "saga.refunds",
    "saga.replies_lost",
    "saga.sagas_compensated",
    "saga.sagas_completed",
    "saga.sagas_lost_in_crash",
    "saga.sagas_out_of_stock",
    "saga.sagas_started",
    "saga.sagas_stuck",
    "saga.service_requests",
    "saga.step_timeouts",
];

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

fn check_claim(t: &Tab<'_, '_>, check: &Val<'_, '_>) -> R<Claim> {
    let name = check.one_of(CheckName::ALL)?;
    let pass = match t.get("verdict") {
        None => true,
        Some(v) => v.one_of(&[("pass", true), ("fail", false)])?,
    };
    let keys = match t.get("keys") {
        None => None,
        Some(k) => Some(k.one_of(KeyKindName::ALL)?),
    };
    Ok(Claim::Check {
        check: name,
        pass,
        keys,
        max_staleness_us: read_max_staleness(t, name)?,
    })
}

/// `max_staleness_ms` of a `[[require]]` or `[[expect]]` entry about `check`, in µs: only
/// `bounded-staleness` takes one.
pub(super) fn read_max_staleness(t: &Tab<'_, '_>, check: CheckName) -> R<Option<u64>> {
    match t.get("max_staleness_ms") {
        None => Ok(None),
        Some(mv) if check != CheckName::BoundedStaleness => Err(mv.issue(format!(
            "`max_staleness_ms` belongs to check = \"bounded-staleness\", not \"{}\"",
            check.name()
        ))),
        Some(mv) => Ok(Some(ms_to_us(
            mv.number(Interval::closed(0.0, MAX_TIMEOUT_MS))?,
        ))),
    }
}

fn seed_share(v: &Val<'_, '_>) -> R<SeedShare> {
    const EXPECTED: &str = "\"all\" or the share of seeds it must hold on, a number greater than 0 \
                            and at most 1 (0.8: on at least 80% of the seeds)";
    if let Ok(s) = v.string() {
        return if s == "all" {
            Ok(SeedShare::All)
        } else {
            Err(v.expected(EXPECTED))
        };
    }
    match v.number_as(Interval::above(0.0, 1.0), EXPECTED) {
        Ok(x) => Ok(SeedShare::AtLeast(x)),
        Err(_) => Err(v.issue(format!("expected {EXPECTED}, found {}", describe(v.v)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn that_splits_into_figure_operator_and_number() {
        assert_eq!(
            split_that("oversold_units == 0"),
            Ok(("oversold_units", CompareOp::Eq, "0"))
        );
        assert_eq!(
            split_that("  lag_alerts>=1 "),
            Ok(("lag_alerts", CompareOp::Ge, "1"))
        );
        assert_eq!(split_that("a<2.5"), Ok(("a", CompareOp::Lt, "2.5")));
        assert_eq!(split_that("a != -1"), Ok(("a", CompareOp::Ne, "-1")));
        assert!(
            split_that("oversold_units = 0")
                .unwrap_err()
                .contains("write `==`")
        );
        assert!(
            split_that("oversold_units 0")
                .unwrap_err()
                .contains("no operator")
        );
        assert!(
            split_that("== 0")
                .unwrap_err()
                .contains("figure is missing")
        );
        assert!(split_that("x >").unwrap_err().contains("number is missing"));
    }

    #[test]
    fn close_matches_suggest_the_figure_meant() {
        assert_eq!(close_matches("oversold"), vec!["oversold_units"]);
        assert_eq!(close_matches("oversold_unit")[0], "oversold_units");
        assert!(close_matches("leaked_units").contains(&"saga.leaked_units"));
        assert!(close_matches("zzzzzzzz").is_empty());
    }

    #[test]
    fn figure_lists_are_sorted_and_saga_names_match() {
        assert!(FIGURES.windows(2).all(|w| w[0] < w[1]));
        assert!(SAGA_FIGURES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(SAGA_FIGURES.len(), SAGA_NAMES.len());
        for (f, n) in SAGA_FIGURES.iter().zip(SAGA_NAMES) {
            assert_eq!(format!("saga.{f}"), *n);
        }
    }

    #[test]
    fn operators_compare() {
        assert!(CompareOp::Eq.holds(0.0, 0.0));
        assert!(CompareOp::Gt.holds(1.0, 0.0));
        assert!(!CompareOp::Lt.holds(1.0, 1.0));
        assert!(CompareOp::Le.holds(1.0, 1.0));
        assert!(CompareOp::Ne.holds(1.0, 2.0));
    }
}
