//! Units of stock that left the primary without a shopper being told: checkout decrements that
//! committed while their client had given up (or never heard back), counted where they happen.
//!
//! A decrement commits for a request; the client then either hears `updated` (a confirmed order,
//! counted by the app tier) or does not (its request timed out, its reply was lost, or the run
//! ended first). With units sold counted by the app tier, the two must account for every unit
//! the primary's stock lost: a conservation law the tests check.

use super::super::app::Purpose;
use super::super::message::{Answer, ReqRef};
use super::ReqTable;

pub struct Conservation {
    products: usize,
    /// Units committed for requests still waiting for their reply.
    pending: ReqTable<i64>,
    /// Units committed that no client was told of.
    pub unconfirmed_units: i64,
}

impl Conservation {
    pub fn new(products: usize) -> Self {
        Self {
            products,
            pending: ReqTable::default(),
            unconfirmed_units: 0,
        }
    }

    /// The primary committed a change of `row` for request `by` that took `taken` units.
    pub fn committed(
        &mut self,
        row: u32,
        by: Option<ReqRef>,
        taken: i64,
        live: &ReqTable<Purpose>,
    ) {
        let Some(req) = by.filter(|_| (row as usize) < self.products && taken != 0) else {
            return;
        };
        if live.get(req).is_some() {
            let before = self.pending.get(req).unwrap_or(0);
            self.pending.insert(req, before + taken);
        } else {
            // Its client had already given up.
            self.unconfirmed_units += taken;
        }
    }

    /// The client of `req` stopped waiting: with `updated` it was told; otherwise it never will be.
    pub fn closed(&mut self, req: ReqRef, answer: Option<Answer>) {
        if let Some(units) = self.pending.remove(req)
            && !matches!(answer, Some(Answer::Updated { .. }))
        {
            self.unconfirmed_units += units;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(i: u32) -> ReqRef {
        ReqRef {
            index: i,
            generation: 0,
        }
    }

    #[test]
    fn only_decrements_nobody_was_told_of_count() {
        let mut live = ReqTable::default();
        let mut c = Conservation::new(1);
        for i in 0..4 {
            live.insert(req(i), Purpose::Checkout);
        }
        let updated = Answer::Updated {
            stock: 0,
            version: 1,
        };
        // 0: committed, then told: a confirmed order.
        c.committed(0, Some(req(0)), 2, &live);
        c.closed(req(0), Some(updated));
        // 1: committed, then the client timed out waiting for the reply.
        c.committed(0, Some(req(1)), 3, &live);
        c.closed(req(1), None);
        // 2: the client timed out first; the statement committed afterwards.
        live.remove(req(2));
        c.closed(req(2), None);
        c.committed(0, Some(req(2)), 5, &live);
        // 3: committed and still waiting when the run ended.
        c.committed(0, Some(req(3)), 7, &live);
        c.closed(req(3), None);
        // Not a checkout's: a background row, a price change, a profile write.
        c.committed(1, Some(req(0)), 1, &live);
        c.committed(0, None, -1, &live);
        assert_eq!(c.unconfirmed_units, 3 + 5 + 7);
    }
}
