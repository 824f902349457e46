//! The workload: when shoppers arrive, when profile sessions start, the rest of the store's
//! background load, and marketing's scheduled price changes.
//!
//! Each arrival process draws from its own stream (see the traffic module), so shoppers arrive at
//! the same instants whatever the checkout strategy does with them. Shoppers and sessions are
//! handed to the app tier; background writes and price changes are statements the app tier sends
//! the primary, background reads go to the replicas in turn. Nobody waits for a background
//! request's answer: it is load, there to make the replicas lag.

use super::Event;
use super::app::App;
use super::message::{Body, Client, Op, Tag};
use super::node::Out;
use super::traffic::Arrivals;
use crate::engine::{Keyed, SimRng, SimTime, StreamId};
use crate::scenario::{BackgroundMode, Config, PriceChange, Topology, Traffic};

/// An arrival of one of the workload's processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    Shopper,
    BackgroundWrite,
    BackgroundRead,
    ProfileSession,
    /// Marketing applies price change number `i` (a write to the primary).
    PriceChange(u16),
}

pub struct Workload {
    topology: Topology,
    shoppers: Arrivals,
    shoppers_arrived: u64,
    sessions: Arrivals,
    sessions_started: u64,
    background_writes: Arrivals,
    writes_sent: u64,
    background_reads: Arrivals,
    reads_sent: u64,
    /// The arithmetic path's next background read and write, not yet taken (`None`: the event
    /// path, or no more of them).
    pending_background_read: Option<SimTime>,
    pending_background_write: Option<SimTime>,
    background_mode: BackgroundMode,
    /// Which row each background write hits, keyed by the write's number.
    background_rows_draws: Keyed,
    /// Background writes spread over `background_rows` rows after the first `first_background_row`.
    first_background_row: u32,
    background_rows: u32,
    next_background_replica: usize,
    price_changes: Vec<PriceChange>,
}

impl Workload {
    pub fn new(config: &Config, seed: u64, first_background_row: u32) -> Self {
        let stream = |label| SimRng::stream(seed, StreamId::new(label, 0));
        let bg = &config.background;
        let end = config.traffic_end;
        let sessions_profile = Traffic {
            points: vec![(SimTime::ZERO, 0.0)],
        };
        let arrivals = |base, per_shopper, label| {
            Arrivals::new(&config.traffic, base, per_shopper, end, stream(label))
        };
        Self {
            topology: config.topology.clone(),
            shoppers: arrivals(0.0, 1.0, "arrivals"),
            shoppers_arrived: 0,
            sessions: Arrivals::new(
                &sessions_profile,
                config.profiles.sessions_per_s,
                0.0,
                end,
                stream("profile-session-times"),
            ),
            sessions_started: 0,
            background_writes: arrivals(
                bg.writes_per_s,
                bg.writes_per_shopper,
                "background-write-times",
            ),
            background_reads: arrivals(
                bg.reads_per_s,
                bg.reads_per_shopper,
                "background-read-times",
            ),
            writes_sent: 0,
            reads_sent: 0,
            pending_background_read: None,
            pending_background_write: None,
            background_mode: config.background_mode,
            background_rows_draws: Keyed::new(seed, "background-rows"),
            first_background_row,
            background_rows: bg.rows,
            next_background_replica: 0,
            price_changes: config.price_changes.clone(),
        }
    }

    /// The first arrival of each process and every price change, in the order they are queued.
    pub fn initial(&mut self) -> Vec<(SimTime, Event)> {
        let mut events = Vec::new();
        let mut first = |arrivals: &mut Arrivals, kind| {
            if let Some(t) = arrivals.next() {
                events.push((t, Event::Arrival(kind)));
            }
        };
        first(&mut self.shoppers, Arrival::Shopper);
        let first_write = self.background_writes.next();
        first(&mut self.sessions, Arrival::ProfileSession);
        for (i, change) in self.price_changes.iter().enumerate() {
            events.push((change.at, Event::Arrival(Arrival::PriceChange(i as u16))));
        }
        let first_read = self.background_reads.next();
        match self.background_mode {
            BackgroundMode::Events => {
                let firsts = [
                    (first_write, Arrival::BackgroundWrite),
                    (first_read, Arrival::BackgroundRead),
                ];
                for (t, arrival) in firsts {
                    if let Some(t) = t {
                        events.push((t, Event::Arrival(arrival)));
                    }
                }
            }
            BackgroundMode::Lazy => {
                self.pending_background_write = first_write;
                self.pending_background_read = first_read;
            }
        }
        events
    }

    /// For the arithmetic path: the next background write sent by `until`, if any, with the
    /// instant it is sent, its number and the row it writes.
    pub fn background_write_by(&mut self, until: SimTime) -> Option<(SimTime, u64, u32)> {
        let at = self.pending_background_write.filter(|&t| t <= until)?;
        self.pending_background_write = self.background_writes.next();
        let (m, row) = self.take_background_write();
        Some((at, m, row))
    }

    /// For the arithmetic path: when the next background write is sent, if any is left.
    pub fn next_background_write(&self) -> Option<SimTime> {
        self.pending_background_write
    }

    /// The next background write's number and the row it writes (keyed by the number).
    fn take_background_write(&mut self) -> (u64, u32) {
        let m = self.writes_sent;
        self.writes_sent += 1;
        let mut draw = self.background_rows_draws.of(m);
        let pick = draw.below(u64::from(self.background_rows)) as u32;
        (m, self.first_background_row + pick)
    }

    /// For the arithmetic path: the next background read sent by `until`, if any, with the
    /// instant it is sent, the replica it goes to and its number.
    pub fn background_read_by(&mut self, until: SimTime) -> Option<(SimTime, usize, u64)> {
        let at = self.pending_background_read.filter(|&t| t <= until)?;
        self.pending_background_read = self.background_reads.next();
        let (replica, m) = self.take_background_read();
        Some((at, replica, m))
    }

    /// For the arithmetic path: when the next background read is sent, if any is left.
    pub fn next_background_read(&self) -> Option<SimTime> {
        self.pending_background_read
    }

    /// The next background read's replica (the replicas in turn) and number.
    fn take_background_read(&mut self) -> (usize, u64) {
        let m = self.reads_sent;
        self.reads_sent += 1;
        let replica = self.next_background_replica;
        let replicas = self.topology.replica_count();
        self.next_background_replica = (self.next_background_replica + 1) % replicas;
        (replica, m)
    }

    /// Shoppers arrived so far.
    pub fn shoppers_arrived(&self) -> u64 {
        self.shoppers_arrived
    }

    /// An arrival at `now`: what it sends (as the app tier, `out` acting for it) and when the
    /// process's next arrival is due.
    pub fn arrive(&mut self, now: SimTime, arrival: Arrival, app: &mut App, out: &mut Out) {
        let (primary, app_node) = (self.topology.primary(), self.topology.app());
        debug_assert_eq!(out.node(), app_node);
        let next = match arrival {
            Arrival::Shopper => {
                let n = self.shoppers_arrived;
                self.shoppers_arrived += 1;
                app.shopper_arrives(now, n, out);
                self.shoppers.next()
            }
            Arrival::BackgroundWrite => {
                let (m, row) = self.take_background_write();
                let op = Op::BackgroundWrite { row };
                let tag = Tag::request(Client::BackgroundWrite(m), 0);
                out.send(primary, tag, Body::Request { req: None, op });
                self.background_writes.next()
            }
            Arrival::BackgroundRead => {
                let (replica, m) = self.take_background_read();
                let tag = Tag::request(Client::BackgroundRead(m), 0);
                let body = Body::Request {
                    req: None,
                    op: Op::BackgroundRead,
                };
                out.send(self.topology.replica(replica), tag, body);
                self.background_reads.next()
            }
            Arrival::ProfileSession => {
                let n = self.sessions_started;
                self.sessions_started += 1;
                app.start_session(now, n, out);
                self.sessions.next()
            }
            Arrival::PriceChange(i) => {
                let change = &self.price_changes[usize::from(i)];
                let op = Op::SetPrice {
                    row: change.product as u32,
                    price: change.price_cents,
                };
                let tag = Tag::request(Client::PriceChange(u64::from(i)), 0);
                out.send(primary, tag, Body::Request { req: None, op });
                None
            }
        };
        if let Some(t) = next {
            out.arrival_at(t, arrival);
        }
    }
}
