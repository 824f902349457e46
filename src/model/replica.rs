//! A read replica: receives the primary's log stream, applies it in order, and serves reads.
//!
//! Replication lag emerges here. The replica has `workers` execution slots (a [`Station`])
//! shared by two kinds of work in one FIFO queue: the reads it serves, and its single applier,
//! which applies one log entry at a time (like a single SQL/startup thread) and then queues for a
//! slot again. When reads keep the slots busy, each apply waits behind them; when log entries
//! arrive faster than the applier gets through them, the relay backlog, and with it the lag,
//! grows. When load falls the applier catches up and the lag falls again. A pause stops the
//! applier (reads continue); a slowdown multiplies the apply times of the entries queued while it
//! lasts (a job's service time is drawn when it joins the line); a crash loses the work in hand.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::message::{Answer, Body, LogEntry, Message, Op, ReqRef, RowView, Tag};
use super::node::{Node, NodeFault, Observation, Out};
use super::station::Station;
use super::timeline::ReadFrom;
use crate::engine::{Histogram, Keyed, SimTime};
use crate::scenario::{NodeId, Replica as ReplicaConfig, Topology};

/// What a slot works on.
#[derive(Clone, Copy, Debug)]
pub enum Task {
    /// Serve a read of `row` (`None`: a background read of a row we do not track).
    Read {
        from: NodeId,
        req: Option<ReqRef>,
        /// What the read belongs to: keys its service time.
        tag: Tag,
        /// When it reached the replica, and when it got a slot.
        since: SimTime,
        start: SimTime,
        row: Option<u32>,
        /// Serve only once this log position is applied, else answer `TooStale` (0: any).
        min_lsn: u64,
    },
    /// Apply the entry at the head of the relay log.
    Apply,
}

/// The replica's timers.
#[derive(Clone, Copy, Debug)]
pub enum ReplicaTimer {
    /// A slot finished `task`, started in the replica's life `epoch` (a crash ends a life and
    /// the work started in it).
    Done { task: Task, epoch: u32 },
}

impl ReplicaTimer {
    /// The end of a background read: load, which may also run as arithmetic.
    pub fn is_background(&self) -> bool {
        let ReplicaTimer::Done { task, .. } = self;
        matches!(task, Task::Read { tag, .. } if tag.is_background_read())
    }
}

/// What a replica reports about itself at an instant (for the lag monitor and the timeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// The age of the oldest entry received but not applied (0 if none), and its commit time.
    pub reported_lag_us: u64,
    pub oldest: SimTime,
    /// It has entries received but not applied.
    pub backlog: bool,
}

/// What a replica counts.
#[derive(Clone, Debug, Default)]
pub struct ReplicaStats {
    pub reads: u64,
    /// Per read (tracked or background): its wait for a slot, and its time from arrival to
    /// answer.
    pub read_wait_us: Histogram,
    pub read_latency_us: Histogram,
    pub applied: u64,
    /// When the last entry was applied: the replica has matched the primary since.
    pub last_apply: SimTime,
    /// Per log entry: time from commit on the primary to apply here.
    pub lag_us: Histogram,
    pub relay_max: usize,
    pub crashes: u64,
}

pub struct Replica {
    /// Its index among the replicas (file order).
    index: usize,
    primary: NodeId,
    /// Acknowledge every entry received (synchronous replication).
    acks: bool,
    /// Incremented by each crash: work started in an earlier life never finishes.
    epoch: u32,
    /// Crashes in force (overlapping crash faults nest): down while above 0.
    down: u32,
    config: ReplicaConfig,
    /// Read service times, keyed by the read's tag; apply times, by (replica, log position).
    reads: Keyed,
    applies: Keyed,
    /// The tracked (product and profile) rows as of `applied_lsn`.
    rows: Vec<RowView>,
    applied_lsn: u64,
    relay: VecDeque<LogEntry>,
    /// The applier has a task queued or running.
    applier_active: bool,
    /// Active pauses (overlapping pause faults nest).
    pauses: u32,
    /// Factors of the active slowdowns; apply times are multiplied by all of them.
    slowdowns: Vec<f64>,
    slots: Station,
    /// Background reads the arithmetic path admitted that have not ended: (end, arrival, start).
    /// Only a replica that may crash keeps them (a crash forgets them); one that never does
    /// counts each read when it is admitted, since it is sure to end.
    background: BinaryHeap<Reverse<(SimTime, SimTime, SimTime)>>,
    may_crash: bool,
    pub stats: ReplicaStats,
}

impl Replica {
    /// Replica `index` of `topology`, holding `tracked` rows (their initial values) of the many
    /// the primary has; `acks`: it acknowledges what it receives (sync and semi-sync).
    pub fn new(
        topology: &Topology,
        index: usize,
        config: ReplicaConfig,
        acks: bool,
        seed: u64,
        tracked: Vec<RowView>,
    ) -> Self {
        Self {
            index,
            primary: topology.primary(),
            acks,
            epoch: 0,
            down: 0,
            slots: Station::new(config.workers),
            config,
            reads: Keyed::new(seed, "replica-read"),
            applies: Keyed::new(seed, "replica-apply"),
            rows: tracked,
            applied_lsn: 0,
            relay: VecDeque::new(),
            applier_active: false,
            pauses: 0,
            slowdowns: Vec::new(),
            background: BinaryHeap::new(),
            may_crash: true,
            stats: ReplicaStats::default(),
        }
    }

    /// `task` arrives at the slots: its service time is drawn now (an apply's with the slowdowns
    /// in force now), and it ends when the station says.
    fn submit(&mut self, now: SimTime, mut task: Task, out: &mut Out) {
        let service = match task {
            Task::Read { tag, .. } => self.read_time(tag),
            Task::Apply => {
                let lsn = self.relay.front().expect("an entry to apply").lsn;
                let mut draw = self.applies.of2(self.index as u64, lsn);
                let base = self.config.apply_time.sample(&mut draw);
                self.slowdowns
                    .iter()
                    .fold(base, |us, f| libm::round(us as f64 * f) as u64)
            }
        };
        let visit = self.slots.admit(now, service);
        if let Task::Read { start, .. } = &mut task {
            *start = visit.start;
        }
        let epoch = self.epoch;
        out.at(visit.end, ReplicaTimer::Done { task, epoch });
    }

    fn read_time(&self, tag: Tag) -> u64 {
        self.config.read_time.sample(&mut self.reads.of(tag.id()))
    }

    /// For the arithmetic path: background read `tag` arrives at `now`. It is counted and takes
    /// its turn at the slots as if it had come as a message; its wait and latency are counted
    /// when it ends (see [`Replica::end_background_reads`]), or at once on a replica that never
    /// crashes, which returns its end.
    pub fn background_read(&mut self, now: SimTime, tag: Tag) -> Option<SimTime> {
        self.stats.reads += 1;
        let visit = self.slots.admit(now, self.read_time(tag));
        if self.may_crash {
            self.background.push(Reverse((visit.end, now, visit.start)));
            None
        } else {
            self.stats.read_wait_us.record(visit.start.since(now));
            self.stats.read_latency_us.record(visit.end.since(now));
            Some(visit.end)
        }
    }

    /// When the next background read admitted by the arithmetic path ends, if one is pending.
    pub fn next_background_end(&self) -> Option<SimTime> {
        self.background.peek().map(|r| r.0.0)
    }

    /// This replica never crashes in the run (no `crash-replica` names it).
    pub fn never_crashes(mut self) -> Self {
        self.may_crash = false;
        self
    }

    /// For the arithmetic path: the background reads that have ended by `now` are counted, as
    /// the event path counts them at their end. Returns the last of their ends.
    pub fn end_background_reads(&mut self, now: SimTime) -> Option<SimTime> {
        let mut last = None;
        while let Some(&Reverse((end, since, start))) = self.background.peek()
            && end <= now
        {
            self.background.pop();
            self.stats.read_wait_us.record(start.since(since));
            self.stats.read_latency_us.record(end.since(since));
            last = Some(end);
        }
        last
    }

    /// Queues the applier's next step if there is an entry to apply and nothing stops it.
    fn wake_applier(&mut self, now: SimTime, out: &mut Out) {
        if !self.applier_active && self.pauses == 0 && !self.relay.is_empty() {
            self.applier_active = true;
            self.submit(now, Task::Apply, out);
        }
    }

    fn receive_entry(&mut self, now: SimTime, entry: LogEntry, out: &mut Out) {
        if self.acks && self.down == 0 {
            // Acknowledge receipt (the relay log is durable), on the replication connection:
            // reliable and in order, like the stream itself.
            out.stream(
                self.primary,
                Tag::ack(entry.lsn),
                Body::Ack { lsn: entry.lsn },
            );
        }
        self.relay.push_back(entry);
        self.stats.relay_max = self.stats.relay_max.max(self.relay.len());
        self.wake_applier(now, out);
    }

    fn receive_read(&mut self, now: SimTime, task: Task, out: &mut Out) {
        self.stats.reads += 1;
        self.submit(now, task, out);
    }

    /// A slot finished `task`.
    fn done(&mut self, now: SimTime, task: Task, out: &mut Out) {
        match task {
            Task::Read {
                from,
                req,
                tag,
                since,
                start,
                row,
                min_lsn,
            } => {
                self.stats.read_wait_us.record(start.since(since));
                self.stats.read_latency_us.record(now.since(since));
                self.serve(from, (req, tag), row, min_lsn, out)
            }
            Task::Apply => {
                self.apply(now, out);
                self.wake_applier(now, out);
            }
        }
    }

    fn serve(
        &mut self,
        from: NodeId,
        (req, tag): (Option<ReqRef>, Tag),
        row: Option<u32>,
        min_lsn: u64,
        out: &mut Out,
    ) {
        if self.applied_lsn < min_lsn {
            // Not caught up with the reader's own write yet: say so, serve nothing.
            if let Some(req) = req {
                out.reply(from, req, tag, Answer::TooStale);
            }
            return;
        }
        let (Some(row), Some(req)) = (row, req) else {
            return; // a background read: load, nothing anybody looks at
        };
        let view = self.rows[row as usize];
        out.reply(from, req, tag, Answer::row(view));
        out.observe(Observation::Served {
            req,
            row,
            view,
            by: ReadFrom::Replica(self.index),
        });
    }

    fn apply(&mut self, now: SimTime, out: &mut Out) {
        let entry = self
            .relay
            .pop_front()
            .expect("the applier runs only with a backlog");
        if let Some(view) = self.rows.get_mut(entry.row as usize) {
            *view = RowView {
                stock: entry.stock,
                price: entry.price,
                version: entry.version,
            };
        }
        self.applied_lsn = entry.lsn;
        let lag_us = now.since(entry.committed_at);
        let s = &mut self.stats;
        s.applied += 1;
        s.last_apply = now;
        s.lag_us.record(lag_us);
        self.applier_active = false;
        out.observe(Observation::Applied {
            replica: self.index,
            row: entry.row,
            stock: entry.stock,
            committed_at: entry.committed_at,
            lag_us,
        });
    }

    /// A crash: every read queued or running is lost (its client will time out) and so is the
    /// apply in progress; applied rows and the relay log survive (they are on disk).
    fn crash(&mut self, now: SimTime) {
        self.down += 1;
        self.epoch += 1;
        self.slots.reset(now);
        self.background.clear();
        self.applier_active = false;
        self.stats.crashes += 1;
    }

    /// The end of a crash: the replica is up again (its applier resumes with the pause's end).
    /// It acknowledges what it received while down, so held commits need not wait for the next.
    fn restart(&mut self, out: &mut Out) {
        self.down = self.down.saturating_sub(1);
        if self.down > 0 {
            return;
        }
        let received = self.relay.back().map_or(self.applied_lsn, |e| e.lsn);
        if self.acks && received > 0 {
            out.stream(
                self.primary,
                Tag::ack(received),
                Body::Ack { lsn: received },
            );
        }
    }

    /// Starts (`true`) or ends one pause of the applier.
    fn pause(&mut self, now: SimTime, starts: bool, out: &mut Out) {
        if starts {
            self.pauses += 1;
        } else {
            self.pauses = self.pauses.saturating_sub(1);
        }
        self.wake_applier(now, out);
    }

    /// Starts (`true`) or ends one slowdown by `factor`.
    fn slow_down(&mut self, factor: f64, starts: bool) {
        if starts {
            self.slowdowns.push(factor);
        } else if let Some(i) = self.slowdowns.iter().position(|&f| f == factor) {
            self.slowdowns.remove(i);
        }
    }

    /// The replica's own account of itself at `now` (like MySQL's `Seconds_Behind_Source`: it
    /// cannot see entries still on the wire or held by a cut link).
    pub fn status(&self, now: SimTime) -> Status {
        let (reported_lag_us, oldest) = self
            .relay
            .front()
            .map_or((0, now), |e| (now.since(e.committed_at), e.committed_at));
        Status {
            reported_lag_us,
            oldest,
            backlog: !self.relay.is_empty(),
        }
    }

    /// Tracked row `row` as applied here.
    pub fn row(&self, row: u32) -> RowView {
        self.rows[row as usize]
    }
}

impl Node for Replica {
    type Timer = ReplicaTimer;

    fn on_message(&mut self, now: SimTime, msg: Message, out: &mut Out) {
        let Message { from, tag, .. } = msg;
        let read = |req, row, min_lsn| Task::Read {
            from,
            req,
            tag,
            since: now,
            start: now,
            row,
            min_lsn,
        };
        match msg.body {
            Body::Replicate(entry) => self.receive_entry(now, entry, out),
            Body::Request { req, op } => {
                let task = match op {
                    Op::Read { row } => read(req, Some(row), 0),
                    Op::ReadAtLeast { row, lsn } => read(req, Some(row), lsn),
                    Op::BackgroundRead => read(req, None, 0),
                    other => unreachable!("a replica does not run {other:?}"),
                };
                self.receive_read(now, task, out);
            }
            other => unreachable!("a replica does not handle {other:?}"),
        }
    }

    fn on_timer(&mut self, now: SimTime, timer: ReplicaTimer, out: &mut Out) {
        let ReplicaTimer::Done { task, .. } = timer;
        self.done(now, task, out);
    }

    fn on_fault(&mut self, now: SimTime, fault: NodeFault, starts: bool, out: &mut Out) {
        match fault {
            NodeFault::Crash => {
                if starts {
                    self.crash(now);
                } else {
                    self.restart(out);
                }
                // A crashed replica's applier is stopped until it restarts.
                self.pause(now, starts, out);
            }
            NodeFault::Pause => self.pause(now, starts, out),
            NodeFault::SlowDown(factor) => self.slow_down(factor, starts),
        }
    }

    fn is_stale(&self, timer: &ReplicaTimer) -> bool {
        let ReplicaTimer::Done { epoch, .. } = *timer;
        epoch != self.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Dist, Key};
    use crate::model::message::Client;
    use crate::model::node::Timer;
    use crate::model::node::bench::Bench;

    fn ms(x: u64) -> SimTime {
        SimTime::from_millis(x)
    }

    /// A replica with one slot (reads 1 ms, applies 2 ms) tracking one product of 10 units.
    fn replica(acks: bool) -> (Bench<Replica>, Topology) {
        let t = Topology::new(&["r1".into()], false);
        let config = ReplicaConfig {
            name: "r1".into(),
            workers: 1,
            read_time: Dist::Constant { us: 1_000 },
            apply_time: Dist::Constant { us: 2_000 },
        };

        let row = RowView {
            stock: 10,
            price: 500,
            version: 0,
        };
        let r = Replica::new(&t, 0, config, acks, 1, vec![row]);
        let unwrap = |timer| match timer {
            Timer::Replica(r) => r,
            other => panic!("not a replica timer: {other:?}"),
        };
        (Bench::new(r, t.replica(0), unwrap), t)
    }

    fn entry(lsn: u64, stock: i64, committed_ms: u64) -> Body {
        Body::Replicate(LogEntry {
            lsn,
            row: 0,
            stock,
            price: 500,
            version: lsn,
            committed_at: ms(committed_ms),
        })
    }

    fn read(b: &mut Bench<Replica>, t: &Topology, i: u32, op: Op) {
        let req = Key {
            index: i,
            generation: 0,
        };
        let tag = Tag::request(Client::Shopper(u64::from(i)), 0);
        b.deliver(t.app(), tag, Body::Request { req: Some(req), op });
    }

    fn answers(b: &mut Bench<Replica>) -> Vec<(SimTime, u32, Answer)> {
        b.take_replies()
    }

    #[test]
    fn reads_and_the_applier_share_the_slots_in_arrival_order() {
        let (mut b, t) = replica(false);
        read(&mut b, &t, 0, Op::Read { row: 0 });
        b.deliver(t.primary(), Tag::log(1), entry(1, 9, 0));
        read(&mut b, &t, 1, Op::Read { row: 0 });
        b.advance(ms(10));
        // The first read finishes at 1 ms, the apply waits for the slot and ends at 3 ms, and the
        // second read, queued behind it, sees the new stock at 4 ms.
        let row = |stock, version| Answer::Row {
            stock,
            price: 500,
            version,
        };
        assert_eq!(
            answers(&mut b),
            vec![(ms(1), 0, row(10, 0)), (ms(4), 1, row(9, 1))]
        );
        assert_eq!(
            b.node.stats.lag_us.max(),
            3_000,
            "committed at 0, applied at 3 ms"
        );
        assert_eq!((b.node.stats.reads, b.node.stats.applied), (2, 1));
    }

    #[test]
    fn a_read_at_a_position_not_yet_applied_is_refused() {
        let (mut b, t) = replica(false);
        // The reader's own write is entry 1; its read takes the slot before the entry arrives.
        read(&mut b, &t, 0, Op::ReadAtLeast { row: 0, lsn: 1 });
        b.deliver(t.primary(), Tag::log(1), entry(1, 9, 0));
        b.advance(ms(3));
        read(&mut b, &t, 1, Op::ReadAtLeast { row: 0, lsn: 1 });
        b.advance(ms(10));
        let got: Vec<(SimTime, Answer)> = answers(&mut b).into_iter().map(|a| (a.0, a.2)).collect();
        assert_eq!(got[0], (ms(1), Answer::TooStale));
        assert!(
            matches!(got[1], (_, Answer::Row { version: 1, .. })),
            "{got:?}"
        );
    }

    #[test]
    fn a_paused_applier_keeps_its_backlog_and_reports_its_age() {
        let (mut b, t) = replica(false);
        b.fault(NodeFault::Pause, true);
        b.deliver(t.primary(), Tag::log(1), entry(1, 9, 0));
        b.advance(ms(500));
        let s = b.node.status(ms(500));
        assert_eq!((s.reported_lag_us, s.backlog), (500_000, true));
        assert_eq!(b.node.stats.applied, 0);
        b.fault(NodeFault::Pause, false);
        b.advance(ms(510));
        assert_eq!(b.node.stats.lag_us.max(), 502_000);
        assert!(!b.node.status(ms(510)).backlog);
    }

    #[test]
    fn a_slowdown_multiplies_apply_times() {
        let (mut b, t) = replica(false);
        b.fault(NodeFault::SlowDown(5.0), true);
        b.deliver(t.primary(), Tag::log(1), entry(1, 9, 0));
        b.advance(ms(100));
        assert_eq!(b.node.stats.last_apply, ms(10), "2 ms × 5");
    }

    #[test]
    fn a_crash_loses_the_work_in_hand_and_a_restart_acknowledges_what_arrived() {
        let (mut b, t) = replica(true);
        b.deliver(t.primary(), Tag::log(1), entry(1, 9, 0));
        read(&mut b, &t, 0, Op::Read { row: 0 });
        b.take_sent(); // the acknowledgement of entry 1
        b.fault(NodeFault::Crash, true);
        b.deliver(t.primary(), Tag::log(2), entry(2, 8, 1));
        b.advance(ms(50));
        assert!(
            b.take_sent().is_empty(),
            "no reply, no apply, no acknowledgement while down"
        );
        assert_eq!(b.node.stats.applied, 0);
        b.fault(NodeFault::Crash, false);
        let acks: Vec<Body> = b.take_sent().into_iter().map(|(_, m)| m.body).collect();
        assert!(matches!(acks[..], [Body::Ack { lsn: 2 }]), "{acks:?}");
        b.advance(ms(60));
        assert_eq!((b.node.stats.applied, b.node.row(0).stock), (2, 8));
        assert_eq!(b.node.stats.crashes, 1);
    }
}
