//! `conditional-decrement`: one atomic statement, `UPDATE … SET stock = stock - qty WHERE stock >=
//! qty`. The check and the write happen together on the primary, so there is nothing to race and
//! nothing to hold: one round trip, no lock held across the network, no retries.

use super::{Checkout, CheckoutStrategy, Outcome, Reply, Statement, Step, unexpected};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionalDecrement;

impl CheckoutStrategy for ConditionalDecrement {
    fn begin(&self, co: &mut Checkout) -> Step {
        Step::Send(Statement::ConditionalDecrement { qty: co.qty })
    }

    fn on_reply(&self, _co: &mut Checkout, reply: Reply) -> Step {
        match reply {
            Reply::Updated => Step::finish(Outcome::Confirmed),
            Reply::NotEnoughStock => Step::finish(Outcome::OutOfStock),
            other => unexpected(other),
        }
    }
}
