//! `primary-read`: check stock on the primary without a lock, then send a blind decrement.
//!
//! No replication lag, but still check-then-act: between the read and the decrement (a network
//! round trip plus queueing) another checkout can take the last units. Rare races remain, most
//! often when the primary is queueing under load.

use super::{Checkout, CheckoutStrategy, Reply, Step, check_then_decrement};
use crate::scenario::ReadSource;

pub struct PrimaryRead;

impl CheckoutStrategy for PrimaryRead {
    fn begin(&self, co: &mut Checkout) -> Step {
        check_then_decrement(ReadSource::Primary, co, None)
    }
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        check_then_decrement(ReadSource::Primary, co, Some(reply))
    }
}
