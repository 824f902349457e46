//! Staleness: each product read a replica or the cache served, judged against the primary's
//! committed truth at the instant it was served; and each confirmed order's price against the
//! primary's.
//!
//! It keeps its own copy of the truth (every product row's latest committed value, and when each
//! version was committed), built from the primary's commits. A read counts only if its client was
//! still waiting for it when it was served: a read nobody sees is not a stale read.

use super::super::app::Purpose;
use super::super::message::RowView;
use super::super::metrics::Phases;
use super::super::timeline::{ReadFrom, StaleRead};
use crate::engine::{Histogram, SimTime};
use crate::scenario::{Config, Shoppers};

/// Reads of product rows served by a replica or the cache, and how many were stale: older than
/// the primary's committed version at the instant they were served.
#[derive(Clone, Debug, Default)]
pub struct StaleCounts {
    pub page_reads: u64,
    pub page_stale: u64,
    pub checkout_reads: u64,
    pub checkout_stale: u64,
    /// For each stale read: how long before it was served the version after the one it returned
    /// had been committed.
    pub staleness_us: Histogram,
    /// Product page views showing a price other than the primary's at that instant.
    pub price_views: u64,
    /// Product page views whose stock badge (in stock / low / out) differs from the primary's.
    pub badge_views: u64,
}

impl StaleCounts {
    fn record(&mut self, purpose: Purpose, staleness_us: Option<u64>) {
        let stale = staleness_us.is_some();
        if let Some(us) = staleness_us {
            self.staleness_us.record(us);
        }
        let (reads, stales) = match purpose {
            Purpose::Page => (&mut self.page_reads, &mut self.page_stale),
            Purpose::Checkout => (&mut self.checkout_reads, &mut self.checkout_stale),
            Purpose::Profile => unreachable!("profile reads are judged by their sessions"),
        };
        *reads += 1;
        *stales += u64::from(stale);
    }
}

pub struct Staleness {
    /// Each product row as last committed on the primary.
    truth: Vec<RowView>,
    /// Commit time of every version of every product row: `[row][version - 1]`.
    version_times: Vec<Vec<SimTime>>,
    shoppers: Shoppers,
    phases: Phases,
    pub counts: StaleCounts,
    /// Stale reads per phase of the run.
    pub phase_stale: [u64; 3],
    /// Orders confirmed at a price other than the primary's at that instant.
    pub wrong_price_orders: u64,
}

impl Staleness {
    pub fn new(config: &Config) -> Self {
        Self {
            truth: config
                .products
                .iter()
                .map(|p| RowView {
                    stock: p.stock,
                    price: p.price_cents,
                    version: 0,
                })
                .collect(),
            version_times: vec![Vec::new(); config.products.len()],
            shoppers: config.shoppers.clone(),
            phases: Phases::of(config),
            counts: StaleCounts::default(),
            phase_stale: [0; 3],
            wrong_price_orders: 0,
        }
    }

    fn is_product(&self, row: u32) -> bool {
        (row as usize) < self.truth.len()
    }

    /// The primary committed `view` of `row` at `now`.
    pub fn committed(&mut self, now: SimTime, row: u32, view: RowView) {
        if self.is_product(row) {
            self.truth[row as usize] = view;
            self.version_times[row as usize].push(now);
        }
    }

    /// When `version` of product `row` was committed (version 0 is the initial stock, at 0).
    fn version_time(&self, row: u32, version: u64) -> SimTime {
        match version {
            0 => SimTime::ZERO,
            v => self.version_times[row as usize][v as usize - 1],
        }
    }

    /// `row` was served as `view` by `by` to a request sent for `purpose` (`None`: its client had
    /// given up). Returns the read as judged, and whether it was stale, for the timeline.
    pub fn served(
        &mut self,
        now: SimTime,
        purpose: Option<Purpose>,
        row: u32,
        view: RowView,
        by: ReadFrom,
    ) -> Option<(StaleRead, bool)> {
        // Profile reads are judged by their sessions.
        if !self.is_product(row) {
            return None;
        }
        let purpose = purpose?;
        let truth = self.truth[row as usize];
        let staleness = (view.version < truth.version)
            .then(|| now.since(self.version_time(row, view.version + 1)));
        self.counts.record(purpose, staleness);
        if staleness.is_some() {
            self.phase_stale[self.phases.index(now)] += 1;
        }
        if purpose == Purpose::Page {
            let badge = |stock| self.shoppers.badge(stock);
            self.counts.price_views += u64::from(view.price != truth.price);
            self.counts.badge_views += u64::from(badge(view.stock) != badge(truth.stock));
        }
        let read = StaleRead {
            t_us: now.as_micros(),
            product: row as usize,
            checkout: purpose == Purpose::Checkout,
            served_by: by,
            shown: view.stock,
            truth: truth.stock,
            age_us: staleness.unwrap_or(0),
        };
        Some((read, staleness.is_some()))
    }

    /// An order of `product` was confirmed to a shopper whose page showed `shown_price`.
    pub fn confirmed(&mut self, product: u32, shown_price: i64) {
        let truth = self.truth[product as usize].price;
        self.wrong_price_orders += u64::from(shown_price != truth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        crate::model::timeline::tests::config(10)
    }

    fn view(stock: i64, version: u64) -> RowView {
        RowView {
            stock,
            price: 100,
            version,
        }
    }

    #[test]
    fn a_read_is_as_stale_as_the_first_version_it_missed_is_old() {
        let mut s = Staleness::new(&config());
        let ms = SimTime::from_millis;
        s.committed(ms(100), 0, view(4, 1));
        s.committed(ms(300), 0, view(3, 2));
        // Served version 0 at 1 s: version 1 was committed 900 ms before.
        let (read, stale) = s
            .served(
                ms(1_000),
                Some(Purpose::Checkout),
                0,
                view(5, 0),
                ReadFrom::Replica(0),
            )
            .unwrap();
        assert!(stale);
        assert_eq!((read.age_us, read.shown, read.truth), (900_000, 5, 3));
        // Version 1 at 1 s: version 2 was committed 700 ms before.
        s.served(
            ms(1_000),
            Some(Purpose::Page),
            0,
            view(4, 1),
            ReadFrom::Cache,
        );
        // The latest version is fresh.
        let (_, stale) = s
            .served(
                ms(1_000),
                Some(Purpose::Page),
                0,
                view(3, 2),
                ReadFrom::Cache,
            )
            .unwrap();
        assert!(!stale);
        let c = &s.counts;
        assert_eq!((c.checkout_reads, c.checkout_stale), (1, 1));
        assert_eq!((c.page_reads, c.page_stale), (2, 1));
        assert_eq!(c.staleness_us.max(), 900_000);
        assert_eq!(c.staleness_us.min(), 700_000);
    }

    #[test]
    fn a_read_nobody_waits_for_is_not_counted() {
        let mut s = Staleness::new(&config());
        s.committed(SimTime::from_millis(1), 0, view(4, 1));
        let judged = s.served(
            SimTime::from_millis(2),
            None,
            0,
            view(5, 0),
            ReadFrom::Replica(0),
        );
        assert!(judged.is_none());
        assert_eq!(s.counts.page_reads + s.counts.checkout_reads, 0);
    }
}
