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
