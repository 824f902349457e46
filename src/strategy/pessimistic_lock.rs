//! `pessimistic-lock`: `SELECT … FOR UPDATE`, check, decrement, commit.
//!
//! The row lock serialises checkouts of one product, so the check and the decrement see the same
//! stock: no oversell. The cost is waiting: every checkout of a hot product queues for its lock,
//! for at least a client round trip per holder, and a waiter can time out.

use super::{Checkout, CheckoutStrategy, FailReason, Outcome, Reply, Statement, Step, unexpected};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PessimisticLock;

impl CheckoutStrategy for PessimisticLock {
    fn begin(&self, _co: &mut Checkout) -> Step {
        Step::Send(Statement::LockRead)
    }

    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        match reply {
            // Too little stock: roll back to release the lock.
            Reply::Row { stock, .. } if stock < co.qty => Step::Finish {
                outcome: Outcome::OutOfStock,
                rollback: true,
            },
            Reply::Row { .. } => Step::Send(Statement::CommitDecrement { qty: co.qty }),
            Reply::Updated => Step::Finish {
                outcome: Outcome::Confirmed,
                rollback: false,
            },
            // The primary already rolled the transaction back: nothing is held.
            Reply::Aborted => Step::Finish {
                outcome: Outcome::Failed(FailReason::Aborted),
                rollback: false,
            },
            // We may hold the lock (or be about to): roll back so the next waiter can go.
            Reply::TimedOut => Step::Finish {
                outcome: Outcome::Failed(FailReason::Timeout),
                rollback: true,
            },
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
    fn locks_checks_and_commits_or_rolls_back() {
        let ok = script(
            CheckoutKind::PessimisticLock,
            1,
            &[
                Reply::Row {
                    stock: 1,
                    version: 4,
                },
                Reply::Updated,
            ],
        );
        assert_eq!(ok[1], Step::Send(Statement::CommitDecrement { qty: 1 }));
        assert_eq!(
            ok[2],
            Step::Finish {
                outcome: Outcome::Confirmed,
                rollback: false
            }
        );

        let sold_out = script(
            CheckoutKind::PessimisticLock,
            2,
            &[Reply::Row {
                stock: 1,
                version: 4,
            }],
        );
        assert_eq!(
            sold_out[1],
            Step::Finish {
                outcome: Outcome::OutOfStock,
                rollback: true
            }
        );

        let timed_out = script(CheckoutKind::PessimisticLock, 1, &[Reply::TimedOut]);
        assert_eq!(
            timed_out[1],
            Step::Finish {
                outcome: Outcome::Failed(FailReason::Timeout),
                rollback: true
            }
        );
    }
}
