//! The primary database: rows, a commit log position, row locks with FIFO wait queues, and a
//! finite pool of workers that execute statements one at a time each.
//!
//! A statement waits in FIFO order for a free worker, occupies it for a service time drawn from
//! `read_time` or `write_time`, and takes effect when that time ends. Writes need the row lock: a
//! write to a row locked by another transaction waits in that row's lock queue (without holding a
//! worker) until the lock is released or `lock_timeout` passes. Every commit gets the next log
//! sequence number and is streamed to every replica, and invalidated in the cache when the
//! scenario asks for it.

use std::collections::VecDeque;

use super::message::{Answer, Body, LogEntry, Message, Op, ReqRef, RowView, Tag};
use super::node::{Node, Observation, Out};
use super::station::Station;

/// What the primary tells the cache when a product row commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation {
    None,
    /// Delete that row's key.
    Row,
    /// Flush every product key (tag-based flush).
    AllProducts,
}
use crate::engine::{Histogram, Keyed, SimTime};
use crate::scenario::{
    NodeId, Primary as PrimaryConfig, Replication, ReplicationMode, Role, Topology,
};

/// A statement from `from`, answered to `req` (if it wants an answer); `tag` is what it belongs
/// to, and keys its service time.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub from: NodeId,
    pub req: Option<ReqRef>,
    pub tag: Tag,
    pub op: Op,
}

/// The primary's timers.
#[derive(Clone, Copy, Debug)]
pub enum PrimaryTimer {
    /// A worker finished `job`'s service time: the statement takes effect.
    Done(Job),
    /// A statement waiting for `row`'s lock has waited `lock_timeout` (ignored if it no longer
    /// waits).
    LockWaitTimeout { row: u32, ticket: u64 },
    /// The transaction granted `row`'s lock by `grant` has been idle for `txn_idle_timeout`.
    TxnIdleTimeout { row: u32, grant: u64 },
    /// Semi-sync: the commit at `lsn` has waited `replication.ack_timeout` for acknowledgements.
    AckTimeout { lsn: u64 },
}

#[derive(Clone, Copy, Debug)]
struct Lock {
    txn: u64,
    grant: u64,
}

#[derive(Clone, Copy, Debug)]
struct Waiter {
    job: Job,
    ticket: u64,
    since: SimTime,
}

#[derive(Clone, Debug, Default)]
pub struct Row {
    pub stock: i64,
    /// Price in cents (products only; 0 elsewhere).
    pub price: i64,
    pub version: u64,
    /// Log position of the row's last commit.
    pub lsn: u64,
}

/// A row's lock and its queue. Kept apart from [`Row`] so that the background writes, which
/// touch a random one of many rows and never lock, read 32 bytes per row rather than 90; only
/// product and profile rows have one.
#[derive(Clone, Debug, Default)]
struct RowLock {
    lock: Option<Lock>,
    waiters: VecDeque<Waiter>,
}

/// A commit's reply held until replicas acknowledge it.
#[derive(Clone, Copy, Debug)]
struct Held {
    lsn: u64,
    job: Job,
    answer: Answer,
    since: SimTime,
}

/// What the primary counts.
#[derive(Clone, Debug, Default)]
pub struct PrimaryStats {
    pub statements: u64,
    pub commits: u64,
    /// Price changes that committed (a change can be lost in a partition or a lock timeout).
    pub price_commits: u64,
    pub lock_waits: u64,
    pub lock_wait_us: Histogram,
    pub aborts: u64,
    pub ack_waits: u64,
    pub ack_wait_us: Histogram,
    pub sync_fallbacks: u64,
    /// When the last commit happened (0 if none).
    pub last_commit_at: SimTime,
}

/// The rows the primary holds, as the scenario lays them out: products first, then the profile
/// rows, then the background rows.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    /// Each product's (stock, price in cents).
    pub products: &'a [(i64, i64)],
    pub profiles: u32,
    pub background: u32,
}

pub struct Primary {
    topology: Topology,
    config: PrimaryConfig,
    replication: Replication,
    /// Highest log position each replica has acknowledged receiving.
    acked: Vec<u64>,
    held: VecDeque<Held>,
    /// Semi-sync has fallen back to async after an acknowledgement timeout.
    degraded: bool,
    /// Service times, keyed by the statement's tag.
    service: Keyed,
    rows: Vec<Row>,
    /// The lock state of `rows[..locks.len()]` (products and profiles; background writes never
    /// lock).
    locks: Vec<RowLock>,
    /// Rows that are products (cached and watched); background rows follow them.
    products: usize,
    invalidation: Invalidation,
    workers: Station,
    /// Every statement's wait for a worker (µs; 0 for one that found a worker free).
    queue_wait_us: Histogram,
    next_ticket: u64,
    lsn: u64,
    pub stats: PrimaryStats,
}

impl Primary {
    pub fn new(
        topology: &Topology,
        config: PrimaryConfig,
        replication: Replication,
        service: Keyed,
        initial: Rows<'_>,
        invalidation: Invalidation,
    ) -> Self {
        let Rows {
            products: initial,
            profiles: profile_rows,
            background: background_rows,
        } = initial;
        let mut rows: Vec<Row> = initial
            .iter()
            .map(|&(stock, price)| Row {
                stock,
                price,
                ..Row::default()
            })
            .collect();
        let lockable = initial.len() + profile_rows as usize;
        rows.resize_with(lockable + background_rows as usize, Row::default);
        let locks = vec![RowLock::default(); lockable];
        Self {
            topology: topology.clone(),
            workers: Station::new(config.workers),
            queue_wait_us: Histogram::new(),
            config,
            acked: vec![0; topology.replica_count()],
            replication,
            held: VecDeque::new(),
            degraded: false,
            locks,
            service,
            rows,
            products: initial.len(),
            invalidation,
            next_ticket: 0,
            lsn: 0,
            stats: PrimaryStats::default(),
        }
    }

    /// Row `row` as committed now.
    pub fn row(&self, row: u32) -> RowView {
        let r = &self.rows[row as usize];
        RowView {
            stock: r.stock,
            price: r.price,
            version: r.version,
        }
    }

    /// A statement arrives: it takes the next free worker, now or after those ahead of it.
    fn receive(&mut self, now: SimTime, job: Job, out: &mut Out) {
        let end = self.admit(now, job.op.is_write(), job.tag);
        out.at(end, PrimaryTimer::Done(job));
    }

    /// Statement `tag` queues for a worker at `now`; returns when its service time ends.
    fn admit(&mut self, now: SimTime, write: bool, tag: Tag) -> SimTime {
        self.stats.statements += 1;
        let time = if write {
            &self.config.write_time
        } else {
            &self.config.read_time
        };
        let service = time.sample(&mut self.service.of(tag.id()));
        let visit = self.workers.admit(now, service);
        self.queue_wait_us.record(visit.start.since(now));
        visit.end
    }

    /// For the arithmetic path: background write `tag` reaches the primary at `now`. It takes its
    /// turn at the workers as if it had come as a message; returns when it commits, which
    /// [`Primary::commit_background`] must then be called at.
    pub fn background_write(&mut self, now: SimTime, tag: Tag) -> SimTime {
        self.admit(now, true, tag)
    }

    /// A background write of `row` commits: one more unit, a log position, an entry streamed to
    /// every replica (background rows lock nothing and nobody waits for the answer).
    pub fn commit_background(&mut self, now: SimTime, row: u32, out: &mut Out) {
        let stock = self.rows[row as usize].stock;
        self.commit(now, row, stock + 1, None, out);
    }

    /// A worker finished `job`: the statement takes effect now.
    fn done(&mut self, now: SimTime, job: Job, out: &mut Out) {
        self.execute(now, job, out);
    }

    fn reply(&self, job: Job, answer: Answer, out: &mut Out) {
        if let Some(req) = job.req {
            out.reply(job.from, req, job.tag, answer);
        }
    }

    fn execute(&mut self, now: SimTime, job: Job, out: &mut Out) {
        match job.op {
            Op::Read { row } | Op::ReadAtLeast { row, .. } => {
                self.reply(job, Answer::row(self.row(row)), out);
            }
            Op::Rollback { row, txn } => self.rollback(now, row, txn, out),
            Op::BackgroundWrite { row } => self.commit_background(now, row, out),
            Op::BackgroundRead => unreachable!("background reads go to replicas"),
            op => {
                let row = op.row();
                // A transaction's commit never waits: either it holds the lock, or the idle
                // timeout took it away and the transaction is gone (answered `Aborted`).
                let blocked = match (self.locks[row as usize].lock, op) {
                    (_, Op::CommitDecrement { .. }) | (None, _) => false,
                    (Some(lock), op) => op.txn() != Some(lock.txn),
                };
                if blocked {
                    self.wait_for_lock(now, row, job, out);
                } else {
                    self.run_locked(now, job, out);
                }
            }
        }
    }

    /// Runs a statement that needs the row lock, which is free or already ours.
    fn run_locked(&mut self, now: SimTime, job: Job, out: &mut Out) {
        let row = job.op.row();
        let answer = self.locked_effect(now, job, out);
        let committed = matches!(answer, Answer::Updated { .. } | Answer::Written { .. });
        if committed && self.waits_for_acks() {
            self.hold(now, job, answer, out);
        } else {
            self.reply(job, answer, out);
        }
        // A transaction's commit releases its lock only now, after its own reply is answered or
        // held at its own log position: the writes the hand-down runs commit after it.
        if committed && matches!(job.op, Op::CommitDecrement { .. }) {
            self.release(now, row, out);
        }
    }

    /// What a statement that holds (or takes) the row lock does, and its answer.
    fn locked_effect(&mut self, now: SimTime, job: Job, out: &mut Out) -> Answer {
        let row = job.op.row();
        let RowView {
            stock,
            price,
            version,
        } = self.row(row);
        let by = job.req;
        match job.op {
            Op::LockRead { txn, .. } => {
                if self.locks[row as usize].lock.is_none() {
                    let grant = self.next_ticket;
                    self.next_ticket += 1;
                    self.locks[row as usize].lock = Some(Lock { txn, grant });
                    out.after_fixed(
                        self.config.txn_idle_timeout_us,
                        PrimaryTimer::TxnIdleTimeout { row, grant },
                    );
                }
                Answer::row(RowView {
                    stock,
                    price,
                    version,
                })
            }
            Op::CommitDecrement { qty, txn, .. } => match self.locks[row as usize].lock {
                Some(lock) if lock.txn == txn => self.commit_stock(now, row, stock - qty, by, out),
                // Our lock was taken away by the idle timeout: the transaction is gone.
                _ => Answer::Aborted,
            },
            Op::Decrement { qty, .. } => self.commit_stock(now, row, stock - qty, by, out),
            Op::ConditionalDecrement { qty, .. } if stock >= qty => {
                self.commit_stock(now, row, stock - qty, by, out)
            }
            Op::ConditionalDecrement { .. } => Answer::NotEnoughStock,
            Op::SetPrice {
                price: new_price, ..
            } => {
                self.stats.price_commits += 1;
                self.commit_row(now, row, stock, new_price, by, out);
                self.updated(row)
            }
            Op::WriteProfile { value, .. } => {
                self.commit(now, row, value, by, out);
                Answer::Written {
                    lsn: self.lsn,
                    version: version + 1,
                }
            }
            Op::WriteIfVersion {
                expected_version,
                new_stock,
                ..
            } if version == expected_version => self.commit_stock(now, row, new_stock, by, out),
            Op::WriteIfVersion { .. } => Answer::VersionConflict,
            other => unreachable!("{other:?} does not take a row lock"),
        }
    }

    /// Commits a new stock for `row` and answers it.
    fn commit_stock(
        &mut self,
        now: SimTime,
        row: u32,
        stock: i64,
        by: Option<ReqRef>,
        out: &mut Out,
    ) -> Answer {
        self.commit(now, row, stock, by, out);
        self.updated(row)
    }

    /// The answer to a committed stock write: the row as the commit left it.
    fn updated(&self, row: u32) -> Answer {
        let r = &self.rows[row as usize];
        Answer::Updated {
            stock: r.stock,
            version: r.version,
        }
    }

    fn waits_for_acks(&self) -> bool {
        match self.replication.mode {
            ReplicationMode::Async => false,
            ReplicationMode::Sync => true,
            ReplicationMode::SemiSync => !self.degraded,
        }
    }

    /// Keeps a commit's reply until `sync_acks` replicas have acknowledged its log position.
    fn hold(&mut self, now: SimTime, job: Job, answer: Answer, out: &mut Out) {
        if job.req.is_none() {
            return;
        }
        self.stats.ack_waits += 1;
        self.held.push_back(Held {
            lsn: self.lsn,
            job,
            answer,
            since: now,
        });
        if self.replication.mode == ReplicationMode::SemiSync {
            out.after_fixed(
                self.replication.ack_timeout_us,
                PrimaryTimer::AckTimeout { lsn: self.lsn },
            );
        }
    }

    /// The log position that `sync_acks` replicas have all acknowledged.
    fn quorum_lsn(&self) -> u64 {
        let mut acked = self.acked.clone();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        acked
            .get(self.replication.sync_acks - 1)
            .copied()
            .unwrap_or(0)
    }

    fn release_held(&mut self, now: SimTime, up_to: u64, out: &mut Out) {
        while let Some(h) = self.held.front().copied().filter(|h| h.lsn <= up_to) {
            self.held.pop_front();
            self.stats.ack_wait_us.record(now.since(h.since));
            self.reply(h.job, h.answer, out);
        }
    }

    /// Replica `replica` acknowledges having received the log up to `lsn`.
    fn ack(&mut self, now: SimTime, replica: usize, lsn: u64, out: &mut Out) {
        self.acked[replica] = self.acked[replica].max(lsn);
        let quorum = self.quorum_lsn();
        self.release_held(now, quorum, out);
        if self.degraded && quorum >= self.lsn {
            self.degraded = false;
        }
    }

    /// Semi-sync: the commit at `lsn` waited too long for acknowledgements; fall back to async:
    /// answer every held commit now, and stop waiting until the replicas catch up.
    fn ack_timeout(&mut self, now: SimTime, lsn: u64, out: &mut Out) {
        if self.is_held(lsn) {
            if !self.degraded {
                self.degraded = true;
                self.stats.sync_fallbacks += 1;
            }
            self.release_held(now, self.lsn, out);
        }
    }

    /// Whether a commit at `lsn` still waits for acknowledgements.
    fn is_held(&self, lsn: u64) -> bool {
        self.held.front().is_some_and(|h| h.lsn <= lsn)
    }

    fn wait_for_lock(&mut self, now: SimTime, row: u32, job: Job, out: &mut Out) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.stats.lock_waits += 1;
        self.locks[row as usize].waiters.push_back(Waiter {
            job,
            ticket,
            since: now,
        });
        out.after_fixed(
            self.config.lock_timeout_us,
            PrimaryTimer::LockWaitTimeout { row, ticket },
        );
    }

    /// Releases `row`'s lock and hands it down the wait queue: autocommit writes run at once
    /// and pass the lock on; a lock request takes it and stops the hand-down.
    fn release(&mut self, now: SimTime, row: u32, out: &mut Out) {
        self.locks[row as usize].lock = None;
        while self.locks[row as usize].lock.is_none() {
            let Some(w) = self.locks[row as usize].waiters.pop_front() else {
                break;
            };
            self.stats.lock_wait_us.record(now.since(w.since));
            self.run_locked(now, w.job, out);
        }
    }

    fn rollback(&mut self, now: SimTime, row: u32, txn: u64, out: &mut Out) {
        let r = &mut self.locks[row as usize];
        r.waiters.retain(|w| w.job.op.txn() != Some(txn));
        if r.lock.is_some_and(|l| l.txn == txn) {
            self.release(now, row, out);
        }
    }

    /// Whether the lock request with this ticket is still waiting.
    fn is_waiting(&self, row: u32, ticket: u64) -> bool {
        self.locks[row as usize]
            .waiters
            .iter()
            .any(|w| w.ticket == ticket)
    }

    /// Whether the lock grant `grant` still holds `row`.
    fn holds(&self, row: u32, grant: u64) -> bool {
        self.locks[row as usize]
            .lock
            .is_some_and(|l| l.grant == grant)
    }

    fn lock_wait_timeout(&mut self, now: SimTime, row: u32, ticket: u64, out: &mut Out) {
        let r = &mut self.locks[row as usize];
        if let Some(i) = r.waiters.iter().position(|w| w.ticket == ticket) {
            let w = r.waiters.remove(i).expect("position found");
            self.stats.lock_wait_us.record(now.since(w.since));
            self.stats.aborts += 1;
            self.reply(w.job, Answer::Aborted, out);
        }
    }

    fn txn_idle_timeout(&mut self, now: SimTime, row: u32, grant: u64, out: &mut Out) {
        if self.holds(row, grant) {
            self.stats.aborts += 1;
            self.release(now, row, out);
        }
    }

    /// Commits a new stock for `row`, keeping its price.
    fn commit(&mut self, now: SimTime, row: u32, stock: i64, by: Option<ReqRef>, out: &mut Out) {
        let price = self.rows[row as usize].price;
        self.commit_row(now, row, stock, price, by, out);
    }

    fn commit_row(
        &mut self,
        now: SimTime,
        row: u32,
        stock: i64,
        price: i64,
        by: Option<ReqRef>,
        out: &mut Out,
    ) {
        self.lsn += 1;
        self.stats.last_commit_at = now;
        self.stats.commits += 1;
        let r = &mut self.rows[row as usize];
        let taken = r.stock - stock;
        r.stock = stock;
        r.price = price;
        r.version += 1;
        r.lsn = self.lsn;
        let entry = LogEntry {
            lsn: self.lsn,
            row,
            stock,
            price,
            version: r.version,
            committed_at: now,
        };
        out.observe(Observation::Committed {
            row,
            view: self.row(row),
            by,
            taken,
        });
        let tag = Tag::log(self.lsn);
        for replica in self.topology.replicas() {
            out.stream(replica, tag, Body::Replicate(entry));
        }
        if (row as usize) < self.products {
            let cache = self.topology.cache();
            match self.invalidation {
                Invalidation::None => {}
                Invalidation::Row => out.send(cache, tag, Body::Invalidate { row }),
                Invalidation::AllProducts => out.send(cache, tag, Body::FlushProducts),
            }
        }
    }

    /// Share of worker-time spent busy over [0, end].
    pub fn utilisation(&self, end: SimTime) -> f64 {
        self.workers.utilisation(end)
    }

    /// Every statement's wait for a worker.
    pub fn queue_wait_us(&self) -> &Histogram {
        &self.queue_wait_us
    }
}

impl PrimaryTimer {
    /// The commit of a background write: load, which may also run as arithmetic.
    pub fn is_background(&self) -> bool {
        matches!(self, PrimaryTimer::Done(job) if job.tag.is_background_write())
    }
}

impl Node for Primary {
    type Timer = PrimaryTimer;

    fn on_message(&mut self, now: SimTime, msg: Message, out: &mut Out) {
        let Message { from, tag, .. } = msg;
        match msg.body {
            Body::Request { req, op } => self.receive(now, Job { from, req, tag, op }, out),
            Body::Ack { lsn } => {
                let Role::Replica(replica) = self.topology.role(from) else {
                    unreachable!("acknowledgements come from replicas")
                };
                self.ack(now, replica, lsn, out);
            }
            other => unreachable!("the primary does not handle {other:?}"),
        }
    }

    fn on_timer(&mut self, now: SimTime, timer: PrimaryTimer, out: &mut Out) {
        match timer {
            PrimaryTimer::Done(job) => self.done(now, job, out),
            PrimaryTimer::LockWaitTimeout { row, ticket } => {
                self.lock_wait_timeout(now, row, ticket, out)
            }
            PrimaryTimer::TxnIdleTimeout { row, grant } => {
                self.txn_idle_timeout(now, row, grant, out)
            }
            PrimaryTimer::AckTimeout { lsn } => self.ack_timeout(now, lsn, out),
        }
    }

    fn is_stale(&self, timer: &PrimaryTimer) -> bool {
        match *timer {
            PrimaryTimer::Done(_) => false,
            PrimaryTimer::LockWaitTimeout { row, ticket } => !self.is_waiting(row, ticket),
            PrimaryTimer::TxnIdleTimeout { row, grant } => !self.holds(row, grant),
            PrimaryTimer::AckTimeout { lsn } => !self.is_held(lsn),
        }
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

    /// A primary over one product (10 units at 500 cents) and two replicas: reads take 1 ms,
    /// writes 2 ms, a lock wait times out after 50 ms and an idle transaction after 100 ms.
    fn primary(workers: u32, mode: ReplicationMode) -> (Bench<Primary>, Topology) {
        let t = Topology::new(&["r1".into(), "r2".into()], false);
        let config = PrimaryConfig {
            workers,
            read_time: Dist::Constant { us: 1_000 },
            write_time: Dist::Constant { us: 2_000 },
            lock_timeout_us: 50_000,
            txn_idle_timeout_us: 100_000,
        };
        let replication = Replication {
            mode,
            sync_acks: 1,
            ack_timeout_us: 10_000,
        };
        let rows = Rows {
            products: &[(10, 500)],
            profiles: 0,
            background: 4,
        };
        let service = Keyed::new(1, "test");
        let p = Primary::new(&t, config, replication, service, rows, Invalidation::Row);
        let unwrap = |timer| match timer {
            Timer::Primary(p) => p,
            other => panic!("not a primary timer: {other:?}"),
        };
        (Bench::new(p, t.primary(), unwrap), t)
    }

    fn req(i: u32) -> Key {
        Key {
            index: i,
            generation: 0,
        }
    }

    fn ask(b: &mut Bench<Primary>, t: &Topology, i: u32, op: Op) {
        let tag = Tag::request(Client::Shopper(u64::from(i)), 0);
        let req = Some(req(i));
        b.deliver(t.app(), tag, Body::Request { req, op });
    }

    fn replies(b: &mut Bench<Primary>) -> Vec<(SimTime, u32, Answer)> {
        b.take_replies()
    }

    #[test]
    fn statements_wait_for_a_free_worker_in_arrival_order() {
        let (mut b, t) = primary(1, ReplicationMode::Async);
        for i in 0..3 {
            ask(&mut b, &t, i, Op::Read { row: 0 });
        }
        b.advance(ms(10));
        let row = Answer::Row {
            stock: 10,
            price: 500,
            version: 0,
        };
        assert_eq!(
            replies(&mut b),
            vec![(ms(1), 0, row), (ms(2), 1, row), (ms(3), 2, row)]
        );
        assert_eq!(b.node.queue_wait_us().max(), 2_000);
        assert_eq!(b.node.utilisation(ms(10)), 0.3);
    }

    #[test]
    fn a_locked_row_makes_other_writers_wait_and_hands_the_lock_down() {
        let (mut b, t) = primary(4, ReplicationMode::Async);
        ask(&mut b, &t, 0, Op::LockRead { row: 0, txn: 1 });
        b.advance(ms(1));
        ask(&mut b, &t, 1, Op::Decrement { row: 0, qty: 2 });
        b.advance(ms(5));
        assert_eq!(
            b.node.stats.lock_waits, 1,
            "the blind decrement waits for the lock"
        );
        ask(
            &mut b,
            &t,
            2,
            Op::CommitDecrement {
                row: 0,
                qty: 1,
                txn: 1,
            },
        );
        b.advance(ms(20));
        let sent = b.take_sent();
        let answers: Vec<(SimTime, u32, Answer)> = sent
            .iter()
            .filter_map(|&(at, m)| match m.body {
                Body::Reply { req, answer } => Some((at, req.index, answer)),
                _ => None,
            })
            .collect();
        // The commit at 7 ms answers first, then the hand-down runs the waiting decrement.
        assert_eq!(
            answers[1..],
            [
                (
                    ms(7),
                    2,
                    Answer::Updated {
                        stock: 9,
                        version: 1
                    }
                ),
                (
                    ms(7),
                    1,
                    Answer::Updated {
                        stock: 7,
                        version: 2
                    }
                ),
            ]
        );
        assert_eq!(b.node.row(0).stock, 7);
        assert_eq!(
            b.node.stats.lock_wait_us.max(),
            4_000,
            "waited from 3 ms to 7 ms"
        );
        // Each commit is streamed to both replicas and invalidated in the cache.
        let streamed = sent
            .iter()
            .filter(|(_, m)| matches!(m.body, Body::Replicate(_)))
            .count();
        let invalidated = sent
            .iter()
            .filter(|(_, m)| m.to == t.cache() && matches!(m.body, Body::Invalidate { row: 0 }))
            .count();
        assert_eq!((streamed, invalidated), (4, 2));
        let taken: Vec<(Option<u32>, i64)> = b
            .seen
            .iter()
            .filter_map(|o| match *o {
                Observation::Committed { by, taken, .. } => Some((by.map(|r| r.index), taken)),
                _ => None,
            })
            .collect();
        assert_eq!(taken, vec![(Some(2), 1), (Some(1), 2)]);
    }

    #[test]
    fn a_waiter_gives_up_after_the_lock_timeout_and_an_idle_transaction_loses_its_lock() {
        let (mut b, t) = primary(4, ReplicationMode::Async);
        ask(&mut b, &t, 0, Op::LockRead { row: 0, txn: 1 });
        b.advance(ms(1));
        ask(&mut b, &t, 1, Op::Decrement { row: 0, qty: 1 });
        b.advance(ms(60));
        assert_eq!(replies(&mut b)[1], (ms(53), 1, Answer::Aborted));
        ask(&mut b, &t, 2, Op::Decrement { row: 0, qty: 1 });
        // The transaction took the lock at 1 ms and sends nothing more: at 101 ms it is rolled
        // back, and the waiting decrement goes through.
        b.advance(ms(105));
        assert_eq!(
            replies(&mut b),
            vec![(
                ms(101),
                2,
                Answer::Updated {
                    stock: 9,
                    version: 1
                }
            )]
        );
        ask(
            &mut b,
            &t,
            3,
            Op::CommitDecrement {
                row: 0,
                qty: 1,
                txn: 1,
            },
        );
        b.advance(ms(110));
        assert_eq!(replies(&mut b), vec![(ms(107), 3, Answer::Aborted)]);
        assert_eq!(b.node.stats.aborts, 2);
        assert_eq!(b.node.row(0).stock, 9);
    }

    #[test]
    fn sync_replication_holds_a_commit_until_a_replica_acknowledges() {
        let (mut b, t) = primary(4, ReplicationMode::Sync);
        ask(&mut b, &t, 0, Op::Decrement { row: 0, qty: 1 });
        b.advance(ms(4));
        assert!(replies(&mut b).is_empty(), "committed at 2 ms, held");
        b.deliver(t.replica(1), Tag::ack(1), Body::Ack { lsn: 1 });
        b.advance(ms(5));
        assert_eq!(
            replies(&mut b),
            vec![(
                ms(4),
                0,
                Answer::Updated {
                    stock: 9,
                    version: 1
                }
            )]
        );
        assert_eq!(b.node.stats.ack_waits, 1);
        assert_eq!(b.node.stats.ack_wait_us.max(), 2_000);
    }

    #[test]
    fn semi_sync_falls_back_to_async_after_the_ack_timeout_until_the_replicas_catch_up() {
        let (mut b, t) = primary(4, ReplicationMode::SemiSync);
        ask(&mut b, &t, 0, Op::Decrement { row: 0, qty: 1 });
        b.advance(ms(20));
        // Held from 2 ms; the 10 ms acknowledgement timeout answers it at 12 ms.
        assert_eq!(
            replies(&mut b),
            vec![(
                ms(12),
                0,
                Answer::Updated {
                    stock: 9,
                    version: 1
                }
            )]
        );
        assert_eq!(b.node.stats.sync_fallbacks, 1);
        // Degraded: the next commit is answered at once.
        ask(&mut b, &t, 1, Op::Decrement { row: 0, qty: 1 });
        b.advance(ms(25));
        assert_eq!(replies(&mut b)[0].0, ms(22));
        // A replica has caught up to the last commit: commits wait for acknowledgements again.
        b.deliver(t.replica(0), Tag::ack(2), Body::Ack { lsn: 2 });
        ask(&mut b, &t, 2, Op::Decrement { row: 0, qty: 1 });
        b.advance(ms(30));
        assert!(replies(&mut b).is_empty(), "held again");
        assert_eq!(b.node.stats.ack_waits, 2);
    }
}
