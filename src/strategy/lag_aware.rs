//! `lag-aware`: check stock on a replica while the lag monitor is quiet and on the primary while it
//! is alerting, then send a blind decrement to the primary.
//!
//! The article's "route reads to primary temporarily" when lag passes 2 s. It helps only as fast
//! as the monitor notices: lag below the threshold is trusted, and lag that crosses it between two
//! samples is trusted until the next sample. The routing itself is the model's (`ReadSource::
//! LagAware`); this strategy is check-then-act over that source.

use super::{Checkout, CheckoutStrategy, Reply, Step, check_then_decrement};
use crate::scenario::ReadSource;

pub struct LagAware;

impl CheckoutStrategy for LagAware {
    fn begin(&self, co: &mut Checkout) -> Step {
        check_then_decrement(ReadSource::LagAware, co, None)
    }
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        check_then_decrement(ReadSource::LagAware, co, Some(reply))
    }
}
