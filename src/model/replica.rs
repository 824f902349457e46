//! A read replica: receives the primary's log stream, applies it in order, and serves reads.
//!
//! Replication lag emerges here. The replica has `workers` execution slots shared by two kinds of
//! work in one FIFO queue: the reads it serves, and its single applier, which applies one log
//! entry at a time (like a single SQL/startup thread) and then queues for a slot again. When reads
//! keep the slots busy, each apply waits behind them; when log entries arrive faster than the
//! applier gets through them, the relay backlog, and with it the lag, grows. When load falls the
//! applier catches up and the lag falls again. A pause stops the applier (reads continue); a
//! slowdown multiplies apply times.

use std::collections::VecDeque;

use super::{Answer, Body, Ctx, Event, LogEntry, ReqRef};
use crate::engine::{Histogram, SimRng, SimTime};
use crate::scenario::{NodeId, Replica as ReplicaConfig};

#[derive(Clone, Copy, Debug)]
pub enum Task {
    /// Serve a read of `row` (`None`: a background read of a row we do not track).
    Read {
        from: NodeId,
        req: Option<ReqRef>,
        row: Option<u32>,
        /// Serve only once this log position is applied, else answer `TooStale` (0: any).
        min_lsn: u64,
    },
    /// Apply the entry at the head of the relay log.
    Apply,
}

/// What a finished task did, for the observers (staleness, the lag monitor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// A tracked read returned `view` of `row`.
    Read {
        row: u32,
        view: RowView,
    },
    /// An entry committed at `committed_at` was applied `lag_us` after its commit.
    Applied {
        committed_at: SimTime,
        lag_us: u64,
    },
    Nothing,
}

/// A row as some node served it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowView {
    pub stock: i64,
    pub price: i64,
    pub version: u64,
}

pub struct Replica {
    pub id: NodeId,
    /// Acknowledge every entry received (synchronous replication).
    acks: bool,
    /// Incremented by each crash: work started in an earlier life never finishes.
    pub epoch: u32,
    /// Crashes in force (overlapping crash faults nest): down while above 0.
    down: u32,
    config: ReplicaConfig,
    rng: SimRng,
    /// The tracked (product) rows as of `applied_lsn`.
    pub rows: Vec<RowView>,
    pub applied_lsn: u64,
    relay: VecDeque<LogEntry>,
    /// The applier has a task queued or running.
    applier_active: bool,
    /// Active pauses (overlapping pause faults nest).
    pauses: u32,
    /// Factors of the active slowdowns; apply times are multiplied by all of them.
    slowdowns: Vec<f64>,
    queue: VecDeque<Task>,
    busy: u32,
    pub reads: u64,
    pub applied: u64,
    /// When the last entry was applied: the replica has matched the primary since.
    pub last_apply: SimTime,
    /// Per log entry: time from commit on the primary to apply here.
    pub lag_us: Histogram,
    pub relay_max: usize,
    pub crashes: u64,
}

impl Replica {
    pub fn new(
        id: NodeId,
        config: ReplicaConfig,
        acks: bool,
        rng: SimRng,
        initial: &[(i64, i64)],
        profile_rows: u32,
    ) -> Self {
        let mut rows: Vec<RowView> = initial
            .iter()
            .map(|&(stock, price)| RowView {
                stock,
                price,
                version: 0,
            })
            .collect();
        rows.resize(rows.len() + profile_rows as usize, RowView::default());
        Self {
            id,
            acks,
            epoch: 0,
            down: 0,
            config,
            rng,
            rows,
            applied_lsn: 0,
            relay: VecDeque::new(),
            applier_active: false,
            pauses: 0,
            slowdowns: Vec::new(),
            queue: VecDeque::new(),
            busy: 0,
            reads: 0,
            applied: 0,
            last_apply: SimTime::ZERO,
            lag_us: Histogram::new(),
            relay_max: 0,
            crashes: 0,
        }
    }

    fn submit(&mut self, ctx: &mut Ctx, task: Task) {
        if self.busy < self.config.workers {
            self.start(ctx, task);
        } else {
            self.queue.push_back(task);
        }
    }

    fn start(&mut self, ctx: &mut Ctx, task: Task) {
        self.busy += 1;
        let service = match task {
            Task::Read { .. } => self.config.read_time.sample(&mut self.rng),
            Task::Apply => {
                let base = self.config.apply_time.sample(&mut self.rng);
                self.slowdowns
                    .iter()
                    .fold(base, |us, f| libm::round(us as f64 * f) as u64)
            }
        };
        ctx.fx.after(
            service,
            Event::ReplicaDone {
                replica: self.id,
                task,
                epoch: self.epoch,
            },
        );
    }

    /// Queues the applier's next step if there is an entry to apply and nothing stops it.
    fn wake_applier(&mut self, ctx: &mut Ctx) {
        if !self.applier_active && self.pauses == 0 && !self.relay.is_empty() {
            self.applier_active = true;
            self.submit(ctx, Task::Apply);
        }
    }

    pub fn receive_entry(&mut self, ctx: &mut Ctx, entry: LogEntry) {
        if self.acks && self.down == 0 {
            // Acknowledge receipt (the relay log is durable), on the replication connection:
            // reliable and in order, like the stream itself.
            ctx.send_stream(self.id, NodeId::PRIMARY, Body::Ack { lsn: entry.lsn });
        }
        self.relay.push_back(entry);
        self.relay_max = self.relay_max.max(self.relay.len());
        self.wake_applier(ctx);
    }

    pub fn receive_read(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        req: Option<ReqRef>,
        row: Option<u32>,
        min_lsn: u64,
    ) {
        self.reads += 1;
        self.submit(
            ctx,
            Task::Read {
                from,
                req,
                row,
                min_lsn,
            },
        );
    }

    /// A slot finished `task`. Returns the row and version a tracked read returned, so the caller
    /// can judge its staleness.
    pub fn done(&mut self, ctx: &mut Ctx, task: Task) -> Done {
        self.busy -= 1;
        let served = match task {
            Task::Read {
                from,
                req,
                row,
                min_lsn,
            } => {
                if self.applied_lsn < min_lsn {
                    // Not caught up with the reader's own write yet: say so, serve nothing.
                    if let Some(req) = req {
                        ctx.reply_to(self.id, from, req, Answer::TooStale);
                    }
                    Done::Nothing
                } else {
                    let served = row.map(|r| (r, self.rows[r as usize]));
                    if let (Some(req), Some((_, view))) = (req, served) {
                        let answer = Answer::Row {
                            stock: view.stock,
                            price: view.price,
                            version: view.version,
                        };
                        ctx.reply_to(self.id, from, req, answer);
                    }
                    match served {
                        Some((row, view)) => Done::Read { row, view },
                        None => Done::Nothing,
                    }
                }
            }
            Task::Apply => {
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
                self.applied += 1;
                self.last_apply = ctx.now;
                let lag_us = ctx.now.since(entry.committed_at);
                self.lag_us.record(lag_us);
                self.applier_active = false;
                Done::Applied {
                    committed_at: entry.committed_at,
                    lag_us,
                }
            }
        };
        if let Some(next) = self.queue.pop_front() {
            self.start(ctx, next);
        }
        if matches!(task, Task::Apply) {
            self.wake_applier(ctx);
        }
        served
    }

    /// A crash: every read queued or running is lost (its client will time out) and so is the
    /// apply in progress; applied rows and the relay log survive (they are on disk). The caller
    /// also pauses the applier until the restart.
    pub fn crash(&mut self) {
        self.down += 1;
        self.epoch += 1;
        self.queue.clear();
        self.busy = 0;
        self.applier_active = false;
        self.crashes += 1;
    }

    /// The end of a crash: the replica is up again (its applier resumes with the pause's end).
    /// It acknowledges what it received while down, so held commits need not wait for the next.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        self.down = self.down.saturating_sub(1);
        if self.down > 0 {
            return;
        }
        let received = self.relay.back().map_or(self.applied_lsn, |e| e.lsn);
        if self.acks && received > 0 {
            ctx.send_stream(self.id, NodeId::PRIMARY, Body::Ack { lsn: received });
        }
    }

    /// Starts (`true`) or ends one pause of the applier.
    pub fn pause(&mut self, ctx: &mut Ctx, starts: bool) {
        if starts {
            self.pauses += 1;
        } else {
            self.pauses = self.pauses.saturating_sub(1);
        }
        self.wake_applier(ctx);
    }

    /// Starts (`true`) or ends one slowdown by `factor`.
    pub fn slow_down(&mut self, factor: f64, starts: bool) {
        if starts {
            self.slowdowns.push(factor);
        } else if let Some(i) = self.slowdowns.iter().position(|&f| f == factor) {
            self.slowdowns.remove(i);
        }
    }

    /// The lag this replica reports at `now`: the age of the oldest entry it has received but not
    /// applied (0 if none), with that entry's commit time.
    pub fn reported_lag(&self, now: SimTime) -> (u64, SimTime) {
        self.relay
            .front()
            .map_or((0, now), |e| (now.since(e.committed_at), e.committed_at))
    }

    /// Whether it has entries received but not applied.
    pub fn has_backlog(&self) -> bool {
        !self.relay.is_empty()
    }
}
