//! Checkout strategies: how a checkout decides which statements to send, and what it concludes
//! from the replies.
//!
//! Each strategy is a small state machine behind one narrow trait, [`CheckoutStrategy`]: given the
//! checkout in progress and the reply to its last statement, return the next [`Step`]. A strategy
//! knows nothing of time, queues, networks or replicas; the model carries its statements out and
//! brings back what a real client would see, including timeouts.
//!
//! - [`CheckThenAct`]: read the stock somewhere (a replica, the cache, the primary, or wherever the
//!   lag monitor says), then decrement blindly: `replica-read`, `cache-read`, `primary-read`,
//!   `lag-aware`.
//! - [`PessimisticLock`]: `SELECT … FOR UPDATE`, check, decrement, commit.
//! - [`Optimistic`]: a version-checked write, retried on conflict.
//! - [`ConditionalDecrement`]: one atomic `UPDATE … WHERE stock >= qty`.
//!
//! A saga checkout (`checkout = "saga"`) is not a statement-by-statement conversation with the
//! primary: the app tier's saga orchestrator runs it across three services, and
//! [`Strategy::of`] says so by having none.

mod check_then_act;
mod conditional_decrement;
mod optimistic;
mod pessimistic_lock;

pub use check_then_act::CheckThenAct;
pub use conditional_decrement::ConditionalDecrement;
pub use optimistic::Optimistic;
pub use pessimistic_lock::PessimisticLock;

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

/// The statement strategies, dispatched statically (no boxing in the event loop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    CheckThenAct(CheckThenAct),
    PessimisticLock(PessimisticLock),
    Optimistic(Optimistic),
    ConditionalDecrement(ConditionalDecrement),
}

impl Strategy {
    /// The strategy a checkout kind runs, or `None` for a saga: the saga orchestrator runs those
    /// (docs/design/sagas.md), not a strategy.
    pub fn of(kind: CheckoutKind) -> Option<Strategy> {
        let read = |from| Some(Strategy::CheckThenAct(CheckThenAct { from }));
        match kind {
            CheckoutKind::ReplicaRead => read(ReadSource::Replica),
            CheckoutKind::CacheRead => read(ReadSource::Cache),
            CheckoutKind::PrimaryRead => read(ReadSource::Primary),
            CheckoutKind::LagAware => read(ReadSource::LagAware),
            CheckoutKind::PessimisticLock => Some(Strategy::PessimisticLock(PessimisticLock)),
            CheckoutKind::Optimistic => Some(Strategy::Optimistic(Optimistic)),
            CheckoutKind::ConditionalDecrement => {
                Some(Strategy::ConditionalDecrement(ConditionalDecrement))
            }
            CheckoutKind::Saga => None,
        }
    }

    fn get(&self) -> &dyn CheckoutStrategy {
        match self {
            Strategy::CheckThenAct(s) => s,
            Strategy::PessimisticLock(s) => s,
            Strategy::Optimistic(s) => s,
            Strategy::ConditionalDecrement(s) => s,
        }
    }
}

impl CheckoutStrategy for Strategy {
    fn begin(&self, co: &mut Checkout) -> Step {
        self.get().begin(co)
    }
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        self.get().on_reply(co, reply)
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
        let s = Strategy::of(kind).expect("a statement strategy");
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
    fn every_strategy_fails_on_a_timeout() {
        // A saga is run by the orchestrator, not by a strategy (tests/integration/sagas.rs).
        assert_eq!(Strategy::of(CheckoutKind::Saga), None);
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
