//! A timeline of one run, for charts: what each node held and how far behind it was, sampled at
//! a fixed step of simulated time, plus the instants that matter (sell-outs, oversold orders,
//! faults, lag alerts) and the run's final distributions.
//!
//! Like the history recorder, it is an observer, recorded only when asked for
//! ([`Recording::timeline`](super::Recording)), and never influences the run: no event is added
//! to the queue and no random number is drawn, so the trace hash is the same with and without it.
//! Samples are taken lazily: before the router handles an event whose time has reached the next
//! sample instant, one sample is recorded for each sample instant crossed. A sample at `t` is
//! therefore the state after every event strictly before `t`.
//!
//! Memory is bounded by the number of samples, not the length of the run: at most
//! [`MAX_SAMPLES`] samples (plus the final one), [`MAX_MARKS`] oversold orders and lag-alert
//! changes, and three fixed-size histograms.

use super::observe::Counters;
use crate::engine::{Histogram, SimTime};
use crate::scenario::{Config, FaultKind, Topology};

/// The step is chosen to give about this many samples over the traffic window (or up to the end
/// of the last fault, when that is later).
pub const TARGET_SAMPLES: u64 = 500;
/// Sampling stops after this many samples: a run that drains for more than three times its
/// traffic window is cut there (the final sample is still recorded).
pub const MAX_SAMPLES: usize = 2_000;
/// At most this many oversold orders and this many lag-alert changes are marked; the rest are
/// only counted ([`Timeline::oversold_unmarked`]).
pub const MAX_MARKS: usize = 1_000;
/// The step is never shorter than this (1 ms).
pub const MIN_STEP_US: u64 = 1_000;

/// Where a checkout's stock read was served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    Primary,
    /// Replica `i` (0-based, file order).
    Replica(usize),
    Cache,
    /// The strategy read no stock before writing (`conditional-decrement`, a saga).
    Nothing,
}

/// A confirmed order that sold units the product no longer had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OversoldOrder {
    /// When the order was confirmed (µs).
    pub t_us: u64,
    /// The shopper's arrival number (0 for the first shopper of the run).
    pub shopper: u64,
    /// The product's index (file order).
    pub product: usize,
    /// Units of this order beyond the product's initial stock (1 to the order's quantity).
    pub units: i64,
    /// Where its last stock read was served.
    pub read_from: ReadFrom,
    /// The stock that read showed (units), if it read one.
    pub stock_read: Option<i64>,
    /// For a replica read: that replica's true lag (see [`Timeline::replica_lag_us`]) when the
    /// order was confirmed, in µs.
    pub replica_lag_us: Option<u64>,
}

/// The first product read that showed a stale value, for the narration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleRead {
    /// When it was served (µs).
    pub t_us: u64,
    pub product: usize,
    /// A checkout's stock read (else a product page's).
    pub checkout: bool,
    /// Who served it: a replica or the cache.
    pub served_by: ReadFrom,
    /// The stock it showed, and the primary's at that instant (units).
    pub shown: i64,
    pub truth: i64,
    /// How long before it was served the next version had committed on the primary (µs).
    pub age_us: u64,
}

/// A scheduled fault, as the charts shade it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpan {
    pub start_us: u64,
    pub end_us: u64,
    /// What it does, e.g. `partition primary→replica-1` or `pause replica-1`.
    pub label: String,
    /// Whether requests can be lost in it (a partition or a crash): the availability chart's cue.
    pub cuts_links: bool,
}

/// The recorded timeline of one variant's run. Per-sample series are columns indexed by sample:
/// `t_us[k]` is the instant of sample `k`.
#[derive(Clone, Debug)]
pub struct Timeline {
    /// The sampling step (µs): `t_us[k] = k × step_us` for every sample but the last.
    pub step_us: u64,
    /// Sample instants (µs). The last one is the run's end (the time of its last event), holding
    /// the state after that event, so the last sample of each series equals the final metrics.
    pub t_us: Vec<u64>,
    /// Product names (file order).
    pub products: Vec<String>,
    /// Each product's stock at the start (units).
    pub initial_stock: Vec<i64>,
    /// Replica names (file order).
    pub replicas: Vec<String>,
    /// `[product][sample]`: the product's stock on the primary (units), the truth.
    pub primary_stock: Vec<Vec<i64>>,
    /// `[replica][product][sample]`: the product's stock as the replica has applied it (units).
    pub replica_stock: Vec<Vec<Vec<i64>>>,
    /// `[product][sample]`: the stock the cache would serve (units), `None` when it holds no live
    /// entry (never filled, expired, invalidated or flushed).
    pub cache_stock: Vec<Vec<Option<i64>>>,
    /// `[replica][sample]`: true lag (µs): the age of the oldest committed log entry the replica
    /// has not applied, whether it waits in the replica's relay log or is held by a cut link (an
    /// entry on the wire, a millisecond or so, is not counted); 0 when it has applied everything.
    pub replica_lag_us: Vec<Vec<u64>>,
    /// `[replica][sample]`: the lag the replica reports (µs), what the lag monitor sees: the age
    /// of the oldest entry in its relay log (0 when a cut link holds the entries back).
    pub replica_reported_lag_us: Vec<Vec<u64>>,
    /// `[sample]`: shoppers arrived so far.
    pub shoppers: Vec<u64>,
    /// `[sample]`: checkouts confirmed so far.
    pub orders_confirmed: Vec<u64>,
    /// `[sample]`: checkouts failed so far (timeouts, aborts, retries exhausted).
    pub orders_failed: Vec<u64>,
    /// `[sample]`: profile reads so far that missed the user's own write (read-your-writes).
    pub ryw_violations: Vec<u64>,
    /// `[sample]`: client requests sent so far (pages, checkout statements, profile requests).
    pub requests: Vec<u64>,
    /// `[sample]`: client requests that timed out so far.
    pub request_timeouts: Vec<u64>,
    /// Per product: the first instant (µs) its stock on the primary reached 0 or less, if it did
    /// (a product that starts at 0 never sells out).
    pub sold_out_us: Vec<Option<u64>>,
    /// `[replica][product]`: the first instant (µs) the replica's copy of the product showed it
    /// sold out (stock 0 or less), if it did.
    pub replica_sold_out_us: Vec<Vec<Option<u64>>>,
    /// `[product]`: the first instant (µs) the cache served a sold-out stock for it, if it did.
    pub cache_sold_out_us: Vec<Option<u64>>,
    /// The first stale product read (served by a replica or the cache), if any.
    pub first_stale_read: Option<StaleRead>,
    /// The first [`MAX_MARKS`] oversold orders, in confirmation order.
    pub oversold: Vec<OversoldOrder>,
    /// Oversold orders beyond the first [`MAX_MARKS`], counted only.
    pub oversold_unmarked: u64,
    /// The variant's scheduled faults.
    pub faults: Vec<FaultSpan>,
    /// The traffic profile: (µs, shoppers per second) breakpoints, linear in between, flat after
    /// the last; shoppers arrive until `traffic_end_us`.
    pub traffic: Vec<(u64, f64)>,
    pub traffic_end_us: u64,
    /// The lag monitor's alert threshold (µs), with a `[monitor]`.
    pub lag_threshold_us: Option<u64>,
    /// Lag-alert changes (µs, `true` raised / `false` cleared), the first [`MAX_MARKS`].
    pub alerts: Vec<(u64, bool)>,
    /// The run's end (µs): the time of its last event.
    pub end_us: u64,
    /// Checkout latency of every finished checkout (µs): the model's own histogram.
    pub checkout_latency_us: Histogram,
    /// Staleness of the stale product reads served by a replica or the cache (µs: how long
    /// before the read the next version had committed on the primary): the model's own histogram.
    pub staleness_us: Histogram,
    /// Product reads served by a replica or the cache that were not stale.
    pub fresh_reads: u64,
    /// With `[saga]` and a saga variant: each order's inconsistency window (µs), open windows
    /// closed at the end of the run.
    pub saga_windows_us: Option<Histogram>,
    /// The next sample instant.
    next_at: SimTime,
}

/// The state of the world at one instant, as read for a sample.
pub struct Snapshot {
    /// Per product.
    pub primary_stock: Vec<i64>,
    /// Per replica, then per product.
    pub replica_stock: Vec<i64>,
    /// Per product.
    pub cache_stock: Vec<Option<i64>>,
    /// Per replica: (true lag, reported lag), µs.
    pub lags_us: Vec<(u64, u64)>,
    pub counters: Counters,
}

/// The sampling step for a configuration: the traffic window (or the time up to the last fault's
/// end, when that is later) divided by [`TARGET_SAMPLES`], rounded up to a whole millisecond, so a
/// run has about [`TARGET_SAMPLES`] samples before its drain.
pub fn step_us(config: &Config) -> u64 {
    let span = config
        .faults
        .iter()
        .map(|f| f.end)
        .fold(config.traffic_end, SimTime::max)
        .as_micros();
    span.div_ceil(TARGET_SAMPLES).div_ceil(MIN_STEP_US).max(1) * MIN_STEP_US
}

fn fault_label(kind: &FaultKind, topology: &Topology) -> (String, bool) {
    let name = |n| topology.name(n);
    let replica = |i| topology.name(topology.replica(i));
    match *kind {
        FaultKind::Partition {
            from,
            to,
            both_ways,
        } => {
            let arrow = if both_ways { "↔" } else { "→" };
            (format!("partition {}{arrow}{}", name(from), name(to)), true)
        }
        FaultKind::PauseReplica { replica: r } => (format!("pause {}", replica(r)), false),
        FaultKind::SlowReplica { replica: r, factor } => {
            (format!("slow {} ×{factor}", replica(r)), false)
        }
        FaultKind::CrashReplica { replica: r } => (format!("crash {}", replica(r)), true),
        FaultKind::CrashCache => ("crash cache".to_string(), true),
        FaultKind::CrashOrchestrator => ("crash orchestrator".to_string(), true),
    }
}

impl Timeline {
    pub fn new(config: &Config) -> Self {
        let products = config.products.len();
        let replicas = config.replicas.len();
        let step_us = step_us(config);
        Self {
            step_us,
            t_us: Vec::new(),
            products: config.products.iter().map(|p| p.name.clone()).collect(),
            initial_stock: config.products.iter().map(|p| p.stock).collect(),
            replicas: config.replicas.iter().map(|r| r.name.clone()).collect(),
            primary_stock: vec![Vec::new(); products],
            replica_stock: vec![vec![Vec::new(); products]; replicas],
            cache_stock: vec![Vec::new(); products],
            replica_lag_us: vec![Vec::new(); replicas],
            replica_reported_lag_us: vec![Vec::new(); replicas],
            shoppers: Vec::new(),
            orders_confirmed: Vec::new(),
            orders_failed: Vec::new(),
            ryw_violations: Vec::new(),
            requests: Vec::new(),
            request_timeouts: Vec::new(),
            sold_out_us: vec![None; products],
            replica_sold_out_us: vec![vec![None; products]; replicas],
            cache_sold_out_us: vec![None; products],
            first_stale_read: None,
            oversold: Vec::new(),
            oversold_unmarked: 0,
            faults: config
                .faults
                .iter()
                .map(|f| {
                    let (label, cuts_links) = fault_label(&f.kind, &config.topology);
                    FaultSpan {
                        start_us: f.start.as_micros(),
                        end_us: f.end.as_micros(),
                        label,
                        cuts_links,
                    }
                })
                .collect(),
            traffic: config
                .traffic
                .points
                .iter()
                .map(|&(t, r)| (t.as_micros(), r))
                .collect(),
            traffic_end_us: config.traffic_end.as_micros(),
            lag_threshold_us: config.monitor.as_ref().map(|m| m.threshold_us),
            alerts: Vec::new(),
            end_us: 0,
            checkout_latency_us: Histogram::new(),
            staleness_us: Histogram::new(),
            fresh_reads: 0,
            saga_windows_us: None,
            next_at: SimTime::ZERO,
        }
    }

    /// The next sample instant, or `SimTime::MAX` once sampling has stopped.
    #[inline]
    pub fn next_at(&self) -> SimTime {
        self.next_at
    }

    /// How many sample instants are due at `now` (those at or before it), within the cap.
    pub fn due(&self, now: SimTime) -> usize {
        if now < self.next_at {
            return 0;
        }
        let due = (now.since(self.next_at) / self.step_us + 1) as usize;
        due.min(MAX_SAMPLES.saturating_sub(self.t_us.len()))
    }

    /// Records `snapshot` at the next `copies` sample instants (nothing happened between them).
    pub fn record(&mut self, copies: usize, s: Snapshot) {
        if copies == 0 {
            return;
        }
        let first = self.next_at.as_micros();
        self.t_us
            .extend((0..copies as u64).map(|k| first + k * self.step_us));
        self.next_at = if self.t_us.len() >= MAX_SAMPLES {
            SimTime::MAX
        } else {
            SimTime::from_micros(first + copies as u64 * self.step_us)
        };
        self.push_values(copies, s);
    }

    /// The final sample, at the run's end: the state after its last event. Sampling stops.
    pub fn record_final(&mut self, end: SimTime, s: Snapshot) {
        self.t_us.push(end.as_micros());
        self.push_values(1, s);
        self.next_at = SimTime::MAX;
        self.end_us = end.as_micros();
    }

    fn push_values(&mut self, copies: usize, s: Snapshot) {
        fn rep<T: Clone>(column: &mut Vec<T>, x: T, copies: usize) {
            column.extend(std::iter::repeat_n(x, copies));
        }
        for (column, x) in self.primary_stock.iter_mut().zip(s.primary_stock) {
            rep(column, x, copies);
        }
        for (column, x) in self.replica_stock.iter_mut().flatten().zip(s.replica_stock) {
            rep(column, x, copies);
        }
        for (column, x) in self.cache_stock.iter_mut().zip(s.cache_stock) {
            rep(column, x, copies);
        }
        for ((t, r), (true_lag, reported)) in self
            .replica_lag_us
            .iter_mut()
            .zip(self.replica_reported_lag_us.iter_mut())
            .zip(s.lags_us)
        {
            rep(t, true_lag, copies);
            rep(r, reported, copies);
        }
        let c = s.counters;
        for (column, x) in [
            (&mut self.shoppers, c.shoppers),
            (&mut self.orders_confirmed, c.orders_confirmed),
            (&mut self.orders_failed, c.orders_failed),
            (&mut self.ryw_violations, c.ryw_violations),
            (&mut self.requests, c.requests),
            (&mut self.request_timeouts, c.request_timeouts),
        ] {
            rep(column, x, copies);
        }
    }

    /// Row `row`'s stock on the primary is now `stock`: marks a product's sell-out.
    #[inline]
    pub fn observe_stock(&mut self, now: SimTime, row: u32, stock: i64) {
        let product = row as usize;
        if product < self.products.len()
            && stock <= 0
            && self.sold_out_us[product].is_none()
            && self.initial_stock[product] > 0
        {
            self.sold_out_us[product] = Some(now.as_micros());
        }
    }

    /// Replica `replica`'s copy of row `row` now shows `stock`: marks when it first shows a
    /// product sold out.
    #[inline]
    pub fn observe_replica_stock(&mut self, now: SimTime, replica: usize, row: u32, stock: i64) {
        let product = row as usize;
        if product >= self.products.len() {
            return;
        }
        let mark = &mut self.replica_sold_out_us[replica][product];
        if stock <= 0 && mark.is_none() && self.initial_stock[product] > 0 {
            *mark = Some(now.as_micros());
        }
    }

    /// A product read was served (`stale`: older than the primary's version): marks the cache's
    /// first sold-out answer and the first stale read.
    pub fn observe_read(&mut self, read: StaleRead, stale: bool) {
        let p = read.product;
        if read.served_by == ReadFrom::Cache
            && read.shown <= 0
            && self.cache_sold_out_us[p].is_none()
            && self.initial_stock[p] > 0
        {
            self.cache_sold_out_us[p] = Some(read.t_us);
        }
        if stale && self.first_stale_read.is_none() {
            self.first_stale_read = Some(read);
        }
    }

    pub fn mark_oversold(&mut self, order: OversoldOrder) {
        if self.oversold.len() < MAX_MARKS {
            self.oversold.push(order);
        } else {
            self.oversold_unmarked += 1;
        }
    }

    pub fn mark_alert(&mut self, now: SimTime, raised: bool) {
        if self.alerts.len() < MAX_MARKS {
            self.alerts.push((now.as_micros(), raised));
        }
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.t_us.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t_us.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    /// A small valid configuration: one replica, one product of 5 units, 1 shopper/s.
    pub(crate) fn config(duration_s: u32) -> Config {
        let text = format!(
            r#"
            name = "t"
            duration_s = {duration_s}
            [[replicas]]
            name = "replica-1"
            [traffic]
            profile = [{{ at_s = 0, shoppers_per_s = 1 }}]
            [[products]]
            name = "p"
            stock = 5
            [[variants]]
            name = "v"
            checkout = "conditional-decrement"
        "#
        );
        parse_scenario("t.toml", &text, &[]).unwrap().variants[0]
            .config
            .clone()
    }

    #[test]
    fn the_step_gives_the_target_over_the_traffic_window() {
        for (duration_s, step) in [
            (900, 1_800_000),
            (120, 240_000),
            (7, 14_000),
            (1, MIN_STEP_US * 2),
        ] {
            let c = config(duration_s);
            assert_eq!(step_us(&c), step, "{duration_s} s");
            assert_eq!(c.traffic_end.as_micros() / step, TARGET_SAMPLES);
        }
    }

    /// Records a snapshot where every value derives from `v`: `copies` samples, or the final
    /// one at `end`. Returns how many samples were due.
    fn take(t: &mut Timeline, now: SimTime, v: i64, end: bool) -> usize {
        let s = Snapshot {
            primary_stock: vec![v],
            replica_stock: vec![v + 1],
            cache_stock: vec![Some(v + 2)],
            lags_us: vec![(7, 3)],
            counters: Counters {
                shoppers: v as u64,
                ..Counters::default()
            },
        };
        if end {
            t.record_final(now, s);
            1
        } else {
            let n = t.due(now);
            t.record(n, s);
            n
        }
    }

    #[test]
    fn samples_are_taken_at_each_instant_crossed_and_capped() {
        let mut t = Timeline::new(&config(10));
        let step = t.step_us;
        assert_eq!(take(&mut t, SimTime::ZERO, 5, false), 1);
        assert_eq!(take(&mut t, SimTime::from_micros(step - 1), 4, false), 0);
        assert_eq!(take(&mut t, SimTime::from_micros(3 * step), 3, false), 3);
        assert_eq!(t.t_us, vec![0, step, 2 * step, 3 * step]);
        assert_eq!(t.primary_stock[0], vec![5, 3, 3, 3]);
        assert_eq!(t.replica_stock[0][0], vec![6, 4, 4, 4]);
        assert_eq!(t.cache_stock[0], vec![Some(7), Some(5), Some(5), Some(5)]);
        assert_eq!(t.replica_lag_us[0], vec![7; 4]);
        assert_eq!(t.replica_reported_lag_us[0], vec![3; 4]);
        // A long idle gap fills up to the cap, then sampling stops.
        let far = SimTime::from_micros(step * 10 * MAX_SAMPLES as u64);
        assert_eq!(take(&mut t, far, 2, false) + 4, MAX_SAMPLES);
        assert_eq!(t.next_at(), SimTime::MAX);
        assert_eq!(take(&mut t, far, 1, false), 0);
        take(&mut t, far, 0, true);
        assert_eq!(t.len(), MAX_SAMPLES + 1);
        assert_eq!(*t.t_us.last().unwrap(), far.as_micros());
        assert_eq!(t.end_us, far.as_micros());
        assert_eq!(t.primary_stock[0].len(), MAX_SAMPLES + 1);
        assert_eq!(*t.primary_stock[0].last().unwrap(), 0);
    }
}
