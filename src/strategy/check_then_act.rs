//! Check-then-act: read the stock somewhere, then send a blind decrement to the primary if the
//! read said there was enough. One strategy, four places to read from, four lessons:
//!
//! - `replica-read` (a read replica): the article's bug. Under replication lag the replica still
//!   shows stock that the primary has already sold, every such checkout is confirmed, and the
//!   primary's stock goes negative.
//! - `cache-read` (the cache, cache-aside, filled from `cache.fill_from`): staler still. A cached
//!   row stays as it was filled until its TTL ends or an invalidation arrives, and a fill from a
//!   lagging replica stores old stock for a whole TTL.
//! - `primary-read` (the primary, without a lock): no replication lag, but still check-then-act:
//!   between the read and the decrement (a network round trip plus queueing) another checkout can
//!   take the last units. Rare races remain, most often when the primary is queueing under load.
//! - `lag-aware` (a replica while the lag monitor is quiet, the primary while it alerts): the
//!   article's "route reads to primary temporarily" when lag passes 2 s. It helps only as fast as
//!   the monitor notices: lag below the threshold is trusted, and lag that crosses it between two
//!   samples is trusted until the next sample. The routing itself is the app tier's.

use super::{Checkout, CheckoutStrategy, Outcome, Reply, Statement, Step, unexpected};
use crate::scenario::ReadSource;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckThenAct {
    /// Where the stock is read.
    pub from: ReadSource,
}

impl CheckoutStrategy for CheckThenAct {
    fn begin(&self, _co: &mut Checkout) -> Step {
        Step::Send(Statement::Read { from: self.from })
    }

    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        match reply {
            Reply::Row { stock, .. } if stock < co.qty => Step::finish(Outcome::OutOfStock),
            Reply::Row { .. } => Step::Send(Statement::Decrement { qty: co.qty }),
            Reply::Updated => Step::finish(Outcome::Confirmed),
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
    fn a_stale_row_is_trusted_and_decremented_blindly() {
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
    fn each_kind_reads_from_its_source_and_rejects_when_the_read_shows_too_little() {
        for (kind, from) in [
            (CheckoutKind::ReplicaRead, ReadSource::Replica),
            (CheckoutKind::CacheRead, ReadSource::Cache),
            (CheckoutKind::PrimaryRead, ReadSource::Primary),
            (CheckoutKind::LagAware, ReadSource::LagAware),
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
                ],
                "{kind:?}"
            );
        }
    }
}
