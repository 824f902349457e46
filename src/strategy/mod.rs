//! Checkout strategies: how a checkout decides which statements to send, and what it concludes
//! from the replies.
//!
//! Each strategy lives in its own file behind one narrow trait, [`CheckoutStrategy`]: given the
//! checkout in progress and the reply to its last statement, return the next [`Step`]. A strategy
//! knows nothing of time, queues, networks or replicas; the model carries its statements out and
//! brings back what a real client would see, including timeouts.

mod cache_read;
mod conditional_decrement;
mod lag_aware;
mod optimistic;
mod pessimistic_lock;
mod primary_read;
mod replica_read;

pub use cache_read::CacheRead;
pub use conditional_decrement::ConditionalDecrement;
pub use lag_aware::LagAware;
pub use optimistic::Optimistic;
pub use pessimistic_lock::PessimisticLock;
pub use primary_read::PrimaryRead;
pub use replica_read::ReplicaRead;

use crate::scenario::{CheckoutKind, ReadSource};

/// What a checkout can ask of the data tier, always about its own product's stock row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statement {
    /// `SELECT stock, version` from the given source (a cache read is cache-aside: a miss is
    /// filled from the scenario's `cache.fill_from`).
    Read { from: ReadSource },
    /// `BEGIN; SELECT stock, version … FOR UPDATE` on the primary: waits for the row lock.
    LockRead,
    /// `UPDATE … SET stock = stock - qty; COMMIT` inside the transaction that holds the lock.
    CommitDecrement { qty: i64 },
    /// `UPDATE … SET stock = stock - qty` with no condition (autocommit).
    Decrement { qty: i64 },
    /// `UPDATE … SET stock = stock - qty WHERE stock >= qty` (autocommit, atomic).
    ConditionalDecrement { qty: i64 },
    /// `UPDATE … SET stock = new_stock, version = version + 1 WHERE version = expected_version`.
    WriteIfVersion {
        expected_version: u64,
        new_stock: i64,
    },
}

/// What came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    Row {
        stock: i64,
        version: u64,
    },
    Updated,
    /// A conditional decrement found too little stock.
    NotEnoughStock,
    /// A versioned write found another version.
    VersionConflict,
    /// The primary aborted the transaction: the lock wait timed out, or the transaction sat idle
    /// holding its lock for too long.
    Aborted,
    /// No answer within the client's request timeout (the statement may still have run).
    TimedOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    Timeout,
    Aborted,
    RetriesExhausted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Confirmed,
    OutOfStock,
    Failed(FailReason),
}

/// The next thing a checkout does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Send(Statement),
    /// Wait a backoff drawn from `checkout.retry_backoff`, then start again from `begin`.
    Retry,
    /// The checkout is over; `rollback` sends a `ROLLBACK` for a transaction that may hold a lock.
    Finish {
        outcome: Outcome,
        rollback: bool,
    },
}

impl Step {
    fn finish(outcome: Outcome) -> Step {
        Step::Finish {
            outcome,
            rollback: false,
        }
    }
}

/// One checkout in progress: what the strategy may remember between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// Units ordered.
    pub qty: i64,
    /// Retries made so far.
    pub retries: u32,
    /// Retries allowed (`checkout.max_retries`).
    pub max_retries: u32,
}

impl Checkout {
    pub fn new(qty: i64, max_retries: u32) -> Self {
        Self {
            qty,
            retries: 0,
            max_retries,
        }
    }
}

/// A checkout strategy: a small state machine over statements and replies.
pub trait CheckoutStrategy {
    fn begin(&self, co: &mut Checkout) -> Step;
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step;
}

/// The strategy for a [`CheckoutKind`], dispatched statically (no boxing in the event loop).
#[derive(Clone, Copy, Debug)]
pub struct Strategy(CheckoutKind);

impl Strategy {
    pub fn new(kind: CheckoutKind) -> Self {
        Strategy(kind)
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.0 {
            CheckoutKind::ReplicaRead => {
                let $s = ReplicaRead;
                $e
            }
            CheckoutKind::CacheRead => {
                let $s = CacheRead;
                $e
            }
            CheckoutKind::PrimaryRead => {
                let $s = PrimaryRead;
                $e
            }
            CheckoutKind::PessimisticLock => {
                let $s = PessimisticLock;
                $e
            }
            CheckoutKind::Optimistic => {
                let $s = Optimistic;
                $e
            }
            CheckoutKind::ConditionalDecrement => {
                let $s = ConditionalDecrement;
                $e
            }
            CheckoutKind::LagAware => {
                let $s = LagAware;
                $e
            }
            // A saga is not a statement-by-statement strategy on the primary: the app hands it
            // to the saga orchestrator (docs/design/sagas.md) and never asks a strategy.
            CheckoutKind::Saga => unreachable!("saga checkouts are run by the saga orchestrator"),
        }
    };
}

impl CheckoutStrategy for Strategy {
    fn begin(&self, co: &mut Checkout) -> Step {
        dispatch!(self, s => s.begin(co))
    }
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        dispatch!(self, s => s.on_reply(co, reply))
    }
}

/// The shared shape of the three check-then-act strategies: read the stock somewhere, then send a
/// blind decrement to the primary if the read said there was enough.
fn check_then_decrement(from: ReadSource, co: &Checkout, reply: Option<Reply>) -> Step {
    match reply {
        None => Step::Send(Statement::Read { from }),
        Some(Reply::Row { stock, .. }) if stock < co.qty => Step::finish(Outcome::OutOfStock),
        Some(Reply::Row { .. }) => Step::Send(Statement::Decrement { qty: co.qty }),
        Some(Reply::Updated) => Step::finish(Outcome::Confirmed),
        Some(other) => unexpected(other),
    }
}

/// Every strategy fails a checkout on a timeout; anything else unexpected is a model bug.
fn unexpected(reply: Reply) -> Step {
    match reply {
        Reply::TimedOut => Step::finish(Outcome::Failed(FailReason::Timeout)),
        other => unreachable!("no statement of this strategy answers {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a strategy against a scripted sequence of replies; returns the steps it took.
    pub(super) fn script(kind: CheckoutKind, qty: i64, replies: &[Reply]) -> Vec<Step> {
        let s = Strategy::new(kind);
        let mut co = Checkout::new(qty, 2);
        let mut steps = vec![s.begin(&mut co)];
        for &r in replies {
            let step = s.on_reply(&mut co, r);
            steps.push(step);
            if step == Step::Retry {
                steps.push(s.begin(&mut co));
            }
        }
        steps
    }

    #[test]
    fn replica_read_trusts_a_stale_row_and_decrements_blindly() {
        let steps = script(
            CheckoutKind::ReplicaRead,
            2,
            &[
                Reply::Row {
                    stock: 5,
                    version: 1,
                },
                Reply::Updated,
            ],
        );
        assert_eq!(
            steps,
            vec![
                Step::Send(Statement::Read {
                    from: ReadSource::Replica
                }),
                Step::Send(Statement::Decrement { qty: 2 }),
                Step::finish(Outcome::Confirmed),
            ]
        );
    }

    #[test]
    fn check_then_act_strategies_reject_when_the_read_shows_too_little() {
        for (kind, from) in [
            (CheckoutKind::ReplicaRead, ReadSource::Replica),
            (CheckoutKind::CacheRead, ReadSource::Cache),
            (CheckoutKind::PrimaryRead, ReadSource::Primary),
        ] {
            let steps = script(
                kind,
                3,
                &[Reply::Row {
                    stock: 2,
                    version: 9,
                }],
            );
            assert_eq!(
                steps,
                vec![
                    Step::Send(Statement::Read { from }),
                    Step::finish(Outcome::OutOfStock)
                ]
            );
        }
    }

    #[test]
    fn every_strategy_fails_on_a_timeout() {
        // A saga is run by the orchestrator, not by a strategy (tests/integration/sagas.rs).
        for &(_, kind) in CheckoutKind::ALL
            .iter()
            .filter(|(_, k)| *k != CheckoutKind::Saga)
        {
            let steps = script(kind, 1, &[Reply::TimedOut]);
            let Step::Finish { outcome, .. } = steps[1] else {
                panic!("{kind:?}: {steps:?}")
            };
            assert_eq!(outcome, Outcome::Failed(FailReason::Timeout), "{kind:?}");
        }
    }
}
