//! The background load as arithmetic: the rest of the store's browsing and writing, which exists
//! only to load the replicas and the primary, simulated without an event per request
//! (`[engine] background = "lazy"`).
//!
//! **Reads.** Nobody waits for a background read or looks at what it returns; what matters is
//! when it holds a replica's slot. Because a station fixes a job's start and end when it arrives
//! (see the station module) and every draw is keyed by the read's number, the reads can be taken
//! in arrival order between two events: before the model handles any event at `now`, this module
//! sends every read due by `now` over the network, admits every read that has reached its replica
//! by `now` to the replica's slots, and counts every read that has ended by `now` (at once, on a
//! replica that never crashes: it is sure to end).
//!
//! **Writes.** A background write's commit is seen: it takes a log position among the shoppers'
//! writes and streams an entry to every replica, whose arrival is an event. So a write's sending,
//! its arrival at the primary and its commit are done at their exact instants, as the world's own
//! work (`World::own_work`): neither queued nor traced, but before every event of the instant.
//!
//! The event path marks the events these replace to run first at their instant, so both paths
//! order an instant alike and give the same figures (tested on every bundled scenario and on
//! generated ones). Between two events nothing else changes (links are cut and healed, replicas
//! crash, only at events), which is what makes taking a whole stretch of reads at once exact.
//! This module owns the background requests on the wire; it must not touch anything but the
//! network's loss counts and the replicas' and the primary's background entry points.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::message::{Client, Message, Tag};
use super::network::{Fate, Network};
use super::node::Out;
use super::primary::Primary;
use super::replica::Replica;
use super::workload::Workload;
use crate::engine::SimTime;
use crate::scenario::Topology;

pub struct LazyReads {
    /// Per replica: the reads on the wire, by (arrival, read number); ties in send order, as
    /// the event path would deliver them.
    in_flight: Vec<BinaryHeap<Reverse<(SimTime, u64)>>>,
    /// The latest instant at which the event path would have had an event for a background
    /// read (its sending, its arrival, its end).
    last: SimTime,
    /// Nothing is due before this instant: most events pass by without looking further.
    next_due: SimTime,
}

impl LazyReads {
    pub fn new(replicas: usize) -> Self {
        Self {
            in_flight: (0..replicas).map(|_| BinaryHeap::new()).collect(),
            last: SimTime::ZERO,
            next_due: SimTime::ZERO,
        }
    }

    /// Whether anything of a background read is due by `now` (most events find nothing).
    #[inline]
    pub fn due_by(&self, now: SimTime) -> bool {
        self.next_due <= now
    }

    /// Brings the background reads up to `now` (inclusive), before the event at `now` is handled.
    pub fn advance(
        &mut self,
        now: SimTime,
        workload: &mut Workload,
        network: &mut Network<Message>,
        topology: &Topology,
        replicas: &mut [Replica],
    ) {
        let app = topology.app();
        while let Some((at, replica, m)) = workload.background_read_by(now) {
            self.last = self.last.max(at);
            let to = topology.replica(replica);
            if let Fate::ArrivesAt(arrives) = network.send(at, app, to, 0, tag(m).id()) {
                self.in_flight[replica].push(Reverse((arrives, m)));
            }
        }
        for (i, replica) in replicas.iter_mut().enumerate() {
            let to = topology.replica(i);
            while let Some(&Reverse((arrives, m))) = self.in_flight[i].peek()
                && arrives <= now
            {
                self.in_flight[i].pop();
                self.last = self.last.max(arrives);
                if !network.drops_on_arrival(app, to)
                    && let Some(end) = replica.background_read(arrives, tag(m))
                {
                    self.last = self.last.max(end);
                }
            }
            if let Some(end) = replica.end_background_reads(now) {
                self.last = self.last.max(end);
            }
        }
        self.next_due = self.next_due_after(workload, replicas);
    }

    /// The first instant at which something of a background read is due: a read to send, one
    /// to arrive, or one to end on a replica that may crash.
    fn next_due_after(&self, workload: &Workload, replicas: &[Replica]) -> SimTime {
        let arrivals = self
            .in_flight
            .iter()
            .filter_map(|h| h.peek().map(|r| r.0.0));
        let ends = replicas.iter().filter_map(Replica::next_background_end);
        arrivals
            .chain(ends)
            .chain(workload.next_background_read())
            .min()
            .unwrap_or(SimTime::MAX)
    }

    /// After the last event: every read still to come is sent, arrives and ends (no fault can
    /// intervene any more). Returns the instant of the last, which is when the run ends if it is
    /// after the last event.
    pub fn finish(
        &mut self,
        workload: &mut Workload,
        network: &mut Network<Message>,
        topology: &Topology,
        replicas: &mut [Replica],
    ) -> SimTime {
        self.advance(SimTime::MAX, workload, network, topology, replicas);
        self.last
    }

    /// Reads on the wire.
    pub fn in_flight(&self) -> usize {
        self.in_flight.iter().map(BinaryHeap::len).sum()
    }
}

/// Background read `m`'s tag, as the workload gives it in the event path.
fn tag(m: u64) -> Tag {
    Tag::request(Client::BackgroundRead(m), 0)
}

/// The background writes, up to their commit, as the world's own work.
pub struct LazyWrites {
    /// On the wire to the primary, by (arrival, write number, row): ties in send order, as the
    /// event path would deliver them.
    in_flight: BinaryHeap<Reverse<(SimTime, u64, u32)>>,
    /// At the primary's workers, by (commit instant, admission number, row): ties in admission
    /// order, as the event path's timers would run.
    commits: BinaryHeap<Reverse<(SimTime, u64, u32)>>,
    admitted: u64,
    /// The earliest instant anything of a background write is due (kept up to date by `run`).
    next_due: SimTime,
}

impl LazyWrites {
    /// Background writes as arithmetic, the first of which the workload has ready.
    pub fn new(workload: &Workload) -> Self {
        Self {
            in_flight: BinaryHeap::new(),
            commits: BinaryHeap::new(),
            admitted: 0,
            next_due: workload.next_background_write().unwrap_or(SimTime::MAX),
        }
    }

    /// When something of a background write is next due (`SimTime::MAX`: nothing more).
    #[inline]
    pub fn next_due(&self) -> SimTime {
        self.next_due
    }

    /// Does everything of the background writes due at `now`, the instant [`LazyWrites::next_due`]
    /// gave: sends, arrivals at the primary, commits (their effects go to `out`, acting as the
    /// primary). What one step starts may be due at `now` too (a zero latency or service time),
    /// so it loops until nothing is; steps of one instant touch different state or commute.
    pub fn run(
        &mut self,
        now: SimTime,
        workload: &mut Workload,
        network: &mut Network<Message>,
        topology: &Topology,
        primary: &mut Primary,
        out: &mut Out,
    ) {
        let (app, to) = (topology.app(), topology.primary());
        let mut busy = true;
        while busy {
            busy = false;
            while let Some((at, m, row)) = workload.background_write_by(now) {
                busy = true;
                if let Fate::ArrivesAt(arrives) = network.send(at, app, to, 0, write_tag(m).id()) {
                    self.in_flight.push(Reverse((arrives, m, row)));
                }
            }
            while let Some(&Reverse((arrives, m, row))) = self.in_flight.peek()
                && arrives <= now
            {
                self.in_flight.pop();
                busy = true;
                if !network.drops_on_arrival(app, to) {
                    let end = primary.background_write(arrives, write_tag(m));
                    self.commits.push(Reverse((end, self.admitted, row)));
                    self.admitted += 1;
                }
            }
            while let Some(&Reverse((end, _, row))) = self.commits.peek()
                && end <= now
            {
                self.commits.pop();
                busy = true;
                primary.commit_background(end, row, out);
            }
        }
        self.next_due = [
            workload.next_background_write(),
            self.in_flight.peek().map(|r| r.0.0),
            self.commits.peek().map(|r| r.0.0),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(SimTime::MAX);
    }
}

/// Background write `m`'s tag, as the workload gives it in the event path.
fn write_tag(m: u64) -> Tag {
    Tag::request(Client::BackgroundWrite(m), 0)
}
