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

use super::{Answer, Ctx, Event, LogEntry, Op, ReqRef};

/// What the primary tells the cache when a product row commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation {
    None,
    /// Delete that row's key.
    Row,
    /// Flush every product key (tag-based flush).
    AllProducts,
}
use crate::engine::{Histogram, SimRng, SimTime};
use crate::scenario::{NodeId, Primary as PrimaryConfig, Replication, ReplicationMode};

#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub from: NodeId,
    pub req: Option<ReqRef>,
    pub op: Op,
    pub queued_at: SimTime,
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

pub struct Primary {
    config: PrimaryConfig,
    replication: Replication,
    /// Highest log position each replica has acknowledged receiving.
    acked: Vec<u64>,
    held: VecDeque<Held>,
    /// Semi-sync has fallen back to async after an acknowledgement timeout.
    degraded: bool,
    pub ack_waits: u64,
    pub ack_wait_us: Histogram,
    pub sync_fallbacks: u64,
    /// Commit time of every version of every product row: `[row][version - 1]`.
    version_times: Vec<Vec<SimTime>>,
    last_commit_at: SimTime,
    /// Price changes that committed (a change can be lost in a partition or a lock timeout).
    pub price_commits: u64,
    rng: SimRng,
    pub rows: Vec<Row>,
    /// The lock state of `rows[..locks.len()]` (products and profiles; background writes never
    /// lock).
    locks: Vec<RowLock>,
    /// Rows that are products (cached and watched); background rows follow them.
    products: usize,
    replicas: usize,
    invalidation: Invalidation,
    queue: VecDeque<Job>,
    busy: u32,
    busy_since: SimTime,
    pub busy_us: u128,
    next_ticket: u64,
    pub lsn: u64,
    pub statements: u64,
    pub commits: u64,
    pub lock_waits: u64,
    pub lock_wait_us: Histogram,
    pub queue_wait_us: Histogram,
    pub aborts: u64,
}

impl Primary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: PrimaryConfig,
        replication: Replication,
        rng: SimRng,
        initial: &[(i64, i64)],
        profile_rows: u32,
        background_rows: u32,
        replicas: usize,
        invalidation: Invalidation,
    ) -> Self {
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
            config,
            replication,
            acked: vec![0; replicas],
            held: VecDeque::new(),
            degraded: false,
            ack_waits: 0,
            ack_wait_us: Histogram::new(),
            sync_fallbacks: 0,
            version_times: vec![Vec::new(); initial.len()],
            locks,
            last_commit_at: SimTime::ZERO,
            price_commits: 0,
            rng,
            rows,
            products: initial.len(),
            replicas,
            invalidation,
            queue: VecDeque::new(),
            busy: 0,
            busy_since: SimTime::ZERO,
            busy_us: 0,
            next_ticket: 0,
            lsn: 0,
            statements: 0,
            commits: 0,
            lock_waits: 0,
            lock_wait_us: Histogram::new(),
            queue_wait_us: Histogram::new(),
            aborts: 0,
        }
    }

    /// Worker-time accounting: call before `busy` changes.
    fn account(&mut self, now: SimTime) {
        self.busy_us += u128::from(self.busy) * u128::from(now.since(self.busy_since));
        self.busy_since = now;
    }

    /// A statement arrives: start it on a free worker or queue it.
    pub fn receive(&mut self, ctx: &mut Ctx, from: NodeId, req: Option<ReqRef>, op: Op) {
        self.statements += 1;
        let job = Job {
            from,
            req,
            op,
            queued_at: ctx.now,
        };
        if self.busy < self.config.workers {
            self.start(ctx, job);
        } else {
            self.queue.push_back(job);
        }
    }

    fn start(&mut self, ctx: &mut Ctx, job: Job) {
        self.account(ctx.now);
        self.busy += 1;
        self.queue_wait_us.record(ctx.now.since(job.queued_at));
        let time = if job.op.is_write() {
            &self.config.write_time
        } else {
            &self.config.read_time
        };
        let service = time.sample(&mut self.rng);
        ctx.fx.after(service, Event::PrimaryDone(job));
    }

    /// A worker finished `job`: the statement takes effect now.
    pub fn done(&mut self, ctx: &mut Ctx, job: Job) {
        self.account(ctx.now);
        self.busy -= 1;
        self.execute(ctx, job);
        if let Some(next) = self.queue.pop_front() {
            self.start(ctx, next);
        }
    }

    fn execute(&mut self, ctx: &mut Ctx, job: Job) {
        match job.op {
            Op::Read { row } | Op::ReadAtLeast { row, .. } => {
                let r = &self.rows[row as usize];
                let answer = Answer::Row {
                    stock: r.stock,
                    price: r.price,
                    version: r.version,
                };
                ctx.reply(NodeId::PRIMARY, job, answer);
            }
            Op::Rollback { row, txn } => self.rollback(ctx, row, txn),
            Op::BackgroundWrite { row } => {
                let stock = self.rows[row as usize].stock;
                self.commit(ctx, row, stock + 1);
            }
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
                    self.wait_for_lock(ctx, row, job);
                } else {
                    self.run_locked(ctx, job);
                }
            }
        }
    }

    /// Runs a statement that needs the row lock, which is free or already ours.
    fn run_locked(&mut self, ctx: &mut Ctx, job: Job) {
        let row = job.op.row();
        let (stock, price, version) = {
            let r = &self.rows[row as usize];
            (r.stock, r.price, r.version)
        };
        let answer = match job.op {
            Op::LockRead { txn, .. } => {
                if self.locks[row as usize].lock.is_none() {
                    let grant = self.next_ticket;
                    self.next_ticket += 1;
                    self.locks[row as usize].lock = Some(Lock { txn, grant });
                    ctx.fx.after_fixed(
                        self.config.txn_idle_timeout_us,
                        Event::TxnIdleTimeout { row, grant },
                    );
                }
                Answer::Row {
                    stock,
                    price,
                    version,
                }
            }
            Op::CommitDecrement { qty, txn, .. } => {
                match self.locks[row as usize].lock {
                    Some(lock) if lock.txn == txn => {
                        self.commit(ctx, row, stock - qty);
                        self.updated(row)
                    }
                    // Our lock was taken away by the idle timeout: the transaction is gone.
                    _ => Answer::Aborted,
                }
            }
            Op::Decrement { qty, .. } => {
                self.commit(ctx, row, stock - qty);
                self.updated(row)
            }
            Op::ConditionalDecrement { qty, .. } => {
                if stock >= qty {
                    self.commit(ctx, row, stock - qty);
                    self.updated(row)
                } else {
                    Answer::NotEnoughStock
                }
            }
            Op::SetPrice {
                price: new_price, ..
            } => {
                self.price_commits += 1;
                self.commit_row(ctx, row, stock, new_price);
                self.updated(row)
            }
            Op::WriteProfile { value, .. } => {
                self.commit(ctx, row, value);
                Answer::Written {
                    lsn: self.lsn,
                    version: version + 1,
                }
            }
            Op::WriteIfVersion {
                expected_version,
                new_stock,
                ..
            } => {
                if version == expected_version {
                    self.commit(ctx, row, new_stock);
                    self.updated(row)
                } else {
                    Answer::VersionConflict
                }
            }
            other => unreachable!("{other:?} does not take a row lock"),
        };
        let committed = matches!(answer, Answer::Updated { .. } | Answer::Written { .. });
        if committed && self.waits_for_acks() {
            self.hold(ctx, job, answer);
        } else {
            ctx.reply(NodeId::PRIMARY, job, answer);
        }
        // A transaction's commit releases its lock only now, after its own reply is answered or
        // held at its own log position: the writes the hand-down runs commit after it.
        if committed && matches!(job.op, Op::CommitDecrement { .. }) {
            self.release(ctx, row);
        }
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
    fn hold(&mut self, ctx: &mut Ctx, job: Job, answer: Answer) {
        if job.req.is_none() {
            return;
        }
        self.ack_waits += 1;
        self.held.push_back(Held {
            lsn: self.lsn,
            job,
            answer,
            since: ctx.now,
        });
        if self.replication.mode == ReplicationMode::SemiSync {
            ctx.fx.after_fixed(
                self.replication.ack_timeout_us,
                Event::AckTimeout { lsn: self.lsn },
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

    fn release_held(&mut self, ctx: &mut Ctx, up_to: u64) {
        while let Some(h) = self.held.front().copied().filter(|h| h.lsn <= up_to) {
            self.held.pop_front();
            self.ack_wait_us.record(ctx.now.since(h.since));
            ctx.reply(NodeId::PRIMARY, h.job, h.answer);
        }
    }

    /// Replica `replica` acknowledges having received the log up to `lsn`.
    pub fn ack(&mut self, ctx: &mut Ctx, replica: usize, lsn: u64) {
        self.acked[replica] = self.acked[replica].max(lsn);
        let quorum = self.quorum_lsn();
        self.release_held(ctx, quorum);
        if self.degraded && quorum >= self.lsn {
            self.degraded = false;
        }
    }

    /// Semi-sync: the commit at `lsn` waited too long for acknowledgements; fall back to async:
    /// answer every held commit now, and stop waiting until the replicas catch up.
    pub fn ack_timeout(&mut self, ctx: &mut Ctx, lsn: u64) {
        if self.held.front().is_some_and(|h| h.lsn <= lsn) {
            if !self.degraded {
                self.degraded = true;
                self.sync_fallbacks += 1;
            }
            self.release_held(ctx, self.lsn);
        }
    }

    /// Whether a commit at `lsn` still waits for acknowledgements.
    pub fn is_held(&self, lsn: u64) -> bool {
        self.held.front().is_some_and(|h| h.lsn <= lsn)
    }

    /// When `version` of product `row` was committed (version 0 is the initial stock, at 0).
    pub fn version_time(&self, row: u32, version: u64) -> SimTime {
        match version {
            0 => SimTime::ZERO,
            v => self.version_times[row as usize][v as usize - 1],
        }
    }

    fn wait_for_lock(&mut self, ctx: &mut Ctx, row: u32, job: Job) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.lock_waits += 1;
        self.locks[row as usize].waiters.push_back(Waiter {
            job,
            ticket,
            since: ctx.now,
        });
        ctx.fx.after_fixed(
            self.config.lock_timeout_us,
            Event::LockWaitTimeout { row, ticket },
        );
    }

    /// Releases `row`'s lock and hands it down the wait queue: autocommit writes run at once
    /// and pass the lock on; a lock request takes it and stops the hand-down.
    fn release(&mut self, ctx: &mut Ctx, row: u32) {
        self.locks[row as usize].lock = None;
        while self.locks[row as usize].lock.is_none() {
            let Some(w) = self.locks[row as usize].waiters.pop_front() else {
                break;
            };
            self.lock_wait_us.record(ctx.now.since(w.since));
            self.run_locked(ctx, w.job);
        }
    }

    fn rollback(&mut self, ctx: &mut Ctx, row: u32, txn: u64) {
        let r = &mut self.locks[row as usize];
        r.waiters.retain(|w| w.job.op.txn() != Some(txn));
        if r.lock.is_some_and(|l| l.txn == txn) {
            self.release(ctx, row);
        }
    }

    /// Whether the lock request with this ticket is still waiting.
    pub fn is_waiting(&self, row: u32, ticket: u64) -> bool {
        self.locks[row as usize]
            .waiters
            .iter()
            .any(|w| w.ticket == ticket)
    }

    /// Whether the lock grant `grant` still holds `row`.
    pub fn holds(&self, row: u32, grant: u64) -> bool {
        self.locks[row as usize]
            .lock
            .is_some_and(|l| l.grant == grant)
    }

    pub fn lock_wait_timeout(&mut self, ctx: &mut Ctx, row: u32, ticket: u64) {
        let r = &mut self.locks[row as usize];
        if let Some(i) = r.waiters.iter().position(|w| w.ticket == ticket) {
            let w = r.waiters.remove(i).expect("position found");
            self.lock_wait_us.record(ctx.now.since(w.since));
            self.aborts += 1;
            ctx.reply(NodeId::PRIMARY, w.job, Answer::Aborted);
        }
    }

    pub fn txn_idle_timeout(&mut self, ctx: &mut Ctx, row: u32, grant: u64) {
        if self.locks[row as usize]
            .lock
            .is_some_and(|l| l.grant == grant)
        {
            self.aborts += 1;
            self.release(ctx, row);
        }
    }

    /// Commits a new stock for `row`, keeping its price.
    fn commit(&mut self, ctx: &mut Ctx, row: u32, stock: i64) {
        let price = self.rows[row as usize].price;
        self.commit_row(ctx, row, stock, price);
    }

    fn commit_row(&mut self, ctx: &mut Ctx, row: u32, stock: i64, price: i64) {
        self.lsn += 1;
        self.last_commit_at = ctx.now;
        self.commits += 1;
        let r = &mut self.rows[row as usize];
        r.stock = stock;
        r.price = price;
        r.version += 1;
        r.lsn = self.lsn;
        if let Some(times) = self.version_times.get_mut(row as usize) {
            times.push(ctx.now);
        }
        let entry = LogEntry {
            lsn: self.lsn,
            row,
            stock,
            price,
            version: r.version,
            committed_at: ctx.now,
        };
        for i in 0..self.replicas {
            ctx.replicate(NodeId::replica(i), entry);
        }
        if (row as usize) < self.products {
            match self.invalidation {
                Invalidation::None => {}
                Invalidation::Row => ctx.invalidate(row),
                Invalidation::AllProducts => ctx.flush_products(),
            }
        }
    }

    /// When the last commit happened (0 if none).
    pub fn last_commit_at(&self) -> SimTime {
        self.last_commit_at
    }

    /// Share of worker-time spent busy over [0, end].
    pub fn utilisation(&mut self, end: SimTime) -> f64 {
        self.account(end);
        let capacity = u128::from(self.config.workers) * u128::from(end.as_micros());
        if capacity == 0 {
            0.0
        } else {
            self.busy_us as f64 / capacity as f64
        }
    }
}
