//! `optimistic`: read stock and version on the primary, then write `stock - qty` only if the
//! version is unchanged; on a conflict, back off and start again, a bounded number of times.
//!
//! No locks are held, so nothing waits on a slow client; but under contention for one hot row most
//! attempts conflict, and checkouts that exhaust their retries fail although stock remains.

use super::{Checkout, CheckoutStrategy, FailReason, Outcome, Reply, Statement, Step, unexpected};
use crate::scenario::ReadSource;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Optimistic;

impl CheckoutStrategy for Optimistic {
    fn begin(&self, _co: &mut Checkout) -> Step {
        Step::Send(Statement::Read {
            from: ReadSource::Primary,
        })
    }

    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        match reply {
            Reply::Row { stock, .. } if stock < co.qty => Step::finish(Outcome::OutOfStock),
            Reply::Row { stock, version } => Step::Send(Statement::WriteIfVersion {
                expected_version: version,
                new_stock: stock - co.qty,
            }),
            Reply::Updated => Step::finish(Outcome::Confirmed),
            Reply::VersionConflict if co.retries < co.max_retries => {
                co.retries += 1;
                Step::Retry
            }
            Reply::VersionConflict => Step::finish(Outcome::Failed(FailReason::RetriesExhausted)),
            other => unexpected(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::script;
    use super::*;
    use crate::scenario::CheckoutKind;

    #[test]
    fn retries_conflicts_until_the_budget_is_spent() {
        let row = Reply::Row {
            stock: 10,
            version: 3,
        };
        let steps = script(
            CheckoutKind::Optimistic,
            4,
            &[
                row,
                Reply::VersionConflict,
                row,
                Reply::VersionConflict,
                row,
                Reply::VersionConflict,
            ],
        );
        assert_eq!(
            steps[1],
            Step::Send(Statement::WriteIfVersion {
                expected_version: 3,
                new_stock: 6
            })
        );
        // Two retries allowed by `script`: conflict, retry, conflict, retry, conflict, give up.
        assert_eq!(steps.iter().filter(|s| **s == Step::Retry).count(), 2);
        assert_eq!(
            *steps.last().unwrap(),
            Step::finish(Outcome::Failed(FailReason::RetriesExhausted))
        );
    }
}
