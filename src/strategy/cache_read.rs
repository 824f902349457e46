//! `cache-read`: check stock in the cache (cache-aside, filled from `cache.fill_from`), then send a
//! blind decrement to the primary.
//!
//! Staler than `replica-read`: a cached row stays as it was filled until its TTL ends or an
//! invalidation arrives, and a fill from a lagging replica stores old stock for a whole TTL.

use super::{Checkout, CheckoutStrategy, Reply, Step, check_then_decrement};
use crate::scenario::ReadSource;

pub struct CacheRead;

impl CheckoutStrategy for CacheRead {
    fn begin(&self, co: &mut Checkout) -> Step {
        check_then_decrement(ReadSource::Cache, co, None)
    }
    fn on_reply(&self, co: &mut Checkout, reply: Reply) -> Step {
        check_then_decrement(ReadSource::Cache, co, Some(reply))
    }
}
