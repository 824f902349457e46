//! Observers: what turns the nodes' observations into the run's measurements.
//!
//! Each observer consumes [`Observation`]s, in the order the nodes made them, and keeps what one
//! measurement needs: the staleness of reads against the primary's truth, when the cache stopped
//! holding stale rows, how late the lag monitor's alerts were, which committed decrements no
//! shopper was told of, the history of what clients saw, the timeline for charts. An observer
//! may also read [`Gauges`] (a read-only view of node state, like a metrics scrape) to sample
//! the state of the world; it never changes a node, and nothing it does can change the run.

mod cache;
mod conservation;
mod detection;
pub mod recorder;
mod staleness;

pub use cache::CacheSpells;
pub use conservation::Conservation;
pub use detection::Detection;
pub use staleness::{StaleCounts, Staleness};

use super::app::Purpose;
use super::message::ReqRef;
use super::node::Observation;
use super::timeline::{OversoldOrder, ReadFrom, Snapshot, Timeline};
use crate::engine::SimTime;
use crate::history::stream::OpSink;
use crate::scenario::{Config, Variant};
use recorder::Recorder;

/// What an observer may read of the nodes' state at an instant.
pub trait Gauges {
    /// Product `product`'s stock on the primary, on replica `replica`, and as the cache would
    /// serve it at `now` (`None`: no live entry).
    fn primary_stock(&self, product: u32) -> i64;
    fn replica_stock(&self, replica: usize, product: u32) -> i64;
    fn cache_stock(&self, product: u32, now: SimTime) -> Option<i64>;
    /// Replica `replica`'s true lag at `now` (µs): the age of the oldest committed entry it has
    /// not applied, in its relay log or held by a cut link; and the lag it reports.
    fn true_lag_us(&self, replica: usize, now: SimTime) -> u64;
    fn reported_lag_us(&self, replica: usize, now: SimTime) -> u64;
    /// The app tier's running totals.
    fn counters(&self) -> Counters;
}

/// Running totals of the app tier, for the timeline.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub shoppers: u64,
    pub orders_confirmed: u64,
    pub orders_failed: u64,
    pub ryw_violations: u64,
    pub requests: u64,
    pub request_timeouts: u64,
}

/// A value per request in flight, keyed like the app tier's own table (slot and generation), so
/// that it stays as small as the number of requests alive.
pub struct ReqTable<T> {
    slots: Vec<Option<(u32, T)>>,
}

impl<T> Default for ReqTable<T> {
    fn default() -> Self {
        Self { slots: Vec::new() }
    }
}

impl<T: Copy> ReqTable<T> {
    pub fn insert(&mut self, req: ReqRef, value: T) {
        let i = req.index as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i] = Some((req.generation, value));
    }

    pub fn get(&self, req: ReqRef) -> Option<T> {
        match self.slots.get(req.index as usize) {
            Some(&Some((g, v))) if g == req.generation => Some(v),
            _ => None,
        }
    }

    pub fn remove(&mut self, req: ReqRef) -> Option<T> {
        let v = self.get(req)?;
        self.slots[req.index as usize] = None;
        Some(v)
    }
}

/// What a run records besides its metrics. Neither changes the run (same trace hash).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// The whole history of every client-visible operation (`--history`): it grows with the
    /// run. The checkers do not need it: they take the operations as a stream
    /// ([`Observers::stream_history`]).
    pub history: bool,
    /// A [`Timeline`] for charts: bounded by its sample cap, whatever the run's length.
    pub timeline: bool,
}

/// Every observer of one run.
pub struct Observers {
    /// The app tier's requests in flight, and why each was sent.
    requests: ReqTable<Purpose>,
    pub staleness: Staleness,
    pub cache: CacheSpells,
    pub detection: Option<Detection>,
    pub conservation: Conservation,
    pub recorder: Option<Recorder>,
    pub timeline: Option<Box<Timeline>>,
    /// Units sold so far per product (for the timeline's oversold marks).
    sold: Vec<i64>,
    initial_stock: Vec<i64>,
}

impl Observers {
    pub fn new(variant: &Variant, seed: u64, recording: Recording) -> Self {
        let config: &Config = &variant.config;
        let source = crate::history::Source {
            scenario: None,
            variant: Some(variant.name.clone()),
            seed: Some(seed),
        };
        Self {
            requests: ReqTable::default(),
            staleness: Staleness::new(config),
            cache: CacheSpells::new(config.products.len()),
            detection: config
                .monitor
                .as_ref()
                .map(|m| Detection::new(m.threshold_us, config.replicas.len())),
            conservation: Conservation::new(config.products.len()),
            recorder: recording
                .history
                .then(|| Recorder::new(config, source, true)),
            timeline: recording.timeline.then(|| Box::new(Timeline::new(config))),
            sold: vec![0; config.products.len()],
            initial_stock: config.products.iter().map(|p| p.stock).collect(),
        }
    }

    /// Hands every client-visible operation to `sink` in history order as the run goes on
    /// (before the run starts), recording the whole history too only if it was asked for.
    pub fn stream_history(&mut self, variant: &Variant, seed: u64, sink: Box<dyn OpSink>) {
        let source = crate::history::Source {
            scenario: None,
            variant: Some(variant.name.clone()),
            seed: Some(seed),
        };
        self.recorder
            .get_or_insert_with(|| Recorder::new(&variant.config, source, false))
            .stream_to(sink);
    }

    /// Before an event at `now`: the timeline's samples due by then, each of the state at its
    /// own instant (after every earlier event; nothing happened between them), so that a sample
    /// does not depend on which event happens to come next.
    #[inline]
    pub fn before(&mut self, now: SimTime, gauges: &impl Gauges) {
        if let Some(t) = &mut self.timeline
            && now >= t.next_at()
        {
            for _ in 0..t.due(now) {
                let at = t.next_at();
                t.record(1, snapshot(t, at, gauges));
            }
        }
    }

    /// The run ended at `end`: the timeline's final sample.
    pub fn end(&mut self, end: SimTime, gauges: &impl Gauges) {
        if let Some(t) = &mut self.timeline {
            t.record_final(end, snapshot(t, end, gauges));
        }
    }

    pub fn observe(&mut self, now: SimTime, o: &Observation, gauges: &impl Gauges) {
        if let Some(r) = &mut self.recorder {
            r.observe(now, o);
        }
        match *o {
            Observation::Committed {
                row,
                view,
                by,
                taken,
            } => {
                self.staleness.committed(now, row, view);
                self.cache.committed(now, row, view.version);
                self.conservation.committed(row, by, taken, &self.requests);
                if let Some(t) = &mut self.timeline {
                    t.observe_stock(now, row, view.stock);
                }
            }
            Observation::Applied {
                replica,
                row,
                stock,
                committed_at,
                lag_us,
            } => {
                if let Some(d) = &mut self.detection {
                    d.applied(replica, committed_at, lag_us);
                }
                if let Some(t) = &mut self.timeline {
                    t.observe_replica_stock(now, replica, row, stock);
                }
            }
            Observation::Served { req, row, view, by } => {
                let purpose = self.requests.get(req);
                let judged = self.staleness.served(now, purpose, row, view, by);
                if let (Some(t), Some((read, stale))) = (&mut self.timeline, judged) {
                    t.observe_read(read, stale);
                }
            }
            Observation::CacheStored {
                row,
                version,
                expires,
            } => self.cache.stored(now, row, version, expires),
            Observation::CacheDropped { row } => self.cache.dropped(now, row),
            Observation::CacheCleared => self.cache.cleared(now),
            Observation::Sent { req, purpose, .. } => self.requests.insert(req, purpose),
            Observation::Closed { req, answer } => {
                self.requests.remove(req);
                self.conservation.closed(req, answer);
            }
            Observation::Unfinished { req } => self.conservation.closed(req, None),
            Observation::Confirmed { .. } => self.confirmed(now, o, gauges),
            Observation::LagSampled {
                replica,
                lag_us,
                oldest,
            } => {
                if let Some(d) = &mut self.detection {
                    d.sampled(replica, oldest, lag_us);
                }
            }
            Observation::Alert { raised } => {
                if let Some(d) = &mut self.detection {
                    d.alert(now, raised);
                }
                if let Some(t) = &mut self.timeline {
                    t.mark_alert(now, raised);
                }
            }
            Observation::ProcessStarted { .. } | Observation::ProcessEnded { .. } => {}
        }
    }

    /// A confirmed checkout: was its price the primary's, and did it sell units the product no
    /// longer had?
    fn confirmed(&mut self, now: SimTime, o: &Observation, gauges: &impl Gauges) {
        let Observation::Confirmed {
            shopper,
            product,
            qty,
            read_from,
            stock_read,
            shown_price,
        } = *o
        else {
            unreachable!("called for confirmations")
        };
        self.staleness.confirmed(product, shown_price);
        let p = product as usize;
        self.sold[p] += qty;
        let beyond = self.sold[p] - self.initial_stock[p];
        let Some(t) = &mut self.timeline else {
            return;
        };
        if beyond > 0 {
            t.mark_oversold(OversoldOrder {
                t_us: now.as_micros(),
                shopper,
                product: p,
                units: beyond.min(qty),
                read_from,
                stock_read,
                replica_lag_us: match read_from {
                    ReadFrom::Replica(i) => Some(gauges.true_lag_us(i, now)),
                    _ => None,
                },
            });
        }
    }
}

/// The state the timeline samples at `now`.
fn snapshot(t: &Timeline, now: SimTime, g: &impl Gauges) -> Snapshot {
    let products = t.products.len() as u32;
    let replicas = t.replicas.len();
    Snapshot {
        primary_stock: (0..products).map(|p| g.primary_stock(p)).collect(),
        replica_stock: (0..replicas)
            .flat_map(|r| (0..products).map(move |p| (r, p)))
            .map(|(r, p)| g.replica_stock(r, p))
            .collect(),
        cache_stock: (0..products).map(|p| g.cache_stock(p, now)).collect(),
        lags_us: (0..replicas)
            .map(|r| (g.true_lag_us(r, now), g.reported_lag_us(r, now)))
            .collect(),
        counters: g.counters(),
    }
}
