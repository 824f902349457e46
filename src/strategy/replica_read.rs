//! `replica-read`: check stock on a read replica, then send a blind decrement to the primary.
//!
//! The article's bug. Under replication lag the replica still shows stock that the primary has
//! already sold, every such checkout is confirmed, and the primary's stock goes negative.

use super::{Checkout, CheckoutStrategy, Reply, Step, check_then_decrement};
use crate::scenario::ReadSource;

pub struct ReplicaRead;

impl CheckoutStrategy for ReplicaRead {
    fn begin(&self, co: &mut Checkout) -> Step {
        check_then_decrement(ReadSource::Replica, co, None)
    }
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        check_then_decrement(ReadSource::Replica, co, Some(reply))
    }
}
