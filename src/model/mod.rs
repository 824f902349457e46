//! The simulated world: application servers full of shoppers, a primary database, read replicas
//! fed by its log stream, a cache, the services a saga checkout spans (with `[saga]`), and the
//! network between them, with scheduled faults.
//!
//! [`Model`] owns every component and implements the engine's [`World`]: each event is routed to
//! the component it concerns, which updates its own state and returns messages and timers; the
//! model hands messages to the network and timers to the engine. Components never call each other
//! directly, so every interaction crosses the network and pays its latency.
//!
//! The model does no I/O and reads no clock; all randomness comes from streams of the run's seed.

mod app;
mod cache;
pub mod metrics;
mod monitor;
mod network;
mod orchestrator;
mod primary;
mod recorder;
mod replica;
mod saga;
mod services;
pub mod timeline;
mod trace;
mod traffic;

use crate::engine::{
    Effects, Key, Limits, RunError, RunSummary, Sim, SimRng, SimTime, StreamId, TraceSink, World,
    first_divergence,
};
use crate::scenario::{Config, FaultKind, NodeId, ReadSource, ReplicationMode, Variant};

use crate::history::{History, Source};
use app::{App, SessionRef, ShopperRef};
use cache::Cache;
use metrics::{Metrics, Phases, StaleCounts};
use monitor::{AlertChange, Monitor};
use network::{Fate, Network};
use orchestrator::SagaRef;
use primary::{Invalidation, Job, Primary};
use recorder::Recorder;
pub use replica::RowView;
use replica::{Done, Replica, Task};
use services::ServiceNodes;
use timeline::{ReadFrom, Snapshot, StaleRead, Timeline};
use traffic::Arrivals;

pub use metrics::Purpose;

/// A request in flight, as the application knows it.
pub type ReqRef = Key;

/// One committed change, as shipped to replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub lsn: u64,
    pub row: u32,
    pub stock: i64,
    pub price: i64,
    pub version: u64,
    pub committed_at: SimTime,
}

/// A statement or cache operation, as it reaches a data node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read {
        row: u32,
    },
    /// A read that a replica serves only once it has applied log position `lsn`.
    ReadAtLeast {
        row: u32,
        lsn: u64,
    },
    /// A profile update: the user's row gets a new value (chosen by the user: a new email) and
    /// the next version.
    WriteProfile {
        row: u32,
        value: i64,
    },
    LockRead {
        row: u32,
        txn: u64,
    },
    CommitDecrement {
        row: u32,
        qty: i64,
        txn: u64,
    },
    Decrement {
        row: u32,
        qty: i64,
    },
    ConditionalDecrement {
        row: u32,
        qty: i64,
    },
    WriteIfVersion {
        row: u32,
        expected_version: u64,
        new_stock: i64,
    },
    Rollback {
        row: u32,
        txn: u64,
    },
    BackgroundWrite {
        row: u32,
    },
    BackgroundRead,
    CacheSet {
        row: u32,
        stock: i64,
        price: i64,
        version: u64,
    },
    /// Marketing changes a product's price (cents).
    SetPrice {
        row: u32,
        price: i64,
    },
}

impl Op {
    fn row(self) -> u32 {
        match self {
            Op::Read { row }
            | Op::ReadAtLeast { row, .. }
            | Op::WriteProfile { row, .. }
            | Op::LockRead { row, .. }
            | Op::CommitDecrement { row, .. }
            | Op::Decrement { row, .. }
            | Op::ConditionalDecrement { row, .. }
            | Op::WriteIfVersion { row, .. }
            | Op::Rollback { row, .. }
            | Op::BackgroundWrite { row }
            | Op::CacheSet { row, .. }
            | Op::SetPrice { row, .. } => row,
            Op::BackgroundRead => u32::MAX,
        }
    }

    fn txn(self) -> Option<u64> {
        match self {
            Op::LockRead { txn, .. }
            | Op::CommitDecrement { txn, .. }
            | Op::Rollback { txn, .. } => Some(txn),
            _ => None,
        }
    }

    fn is_write(self) -> bool {
        !matches!(
            self,
            Op::Read { .. }
                | Op::ReadAtLeast { .. }
                | Op::LockRead { .. }
                | Op::Rollback { .. }
                | Op::BackgroundRead
        )
    }

    fn name(self) -> &'static str {
        match self {
            Op::Read { .. } => "read",
            Op::ReadAtLeast { .. } => "read-at-least",
            Op::WriteProfile { .. } => "write-profile",
            Op::SetPrice { .. } => "set-price",
            Op::LockRead { .. } => "lock-read",
            Op::CommitDecrement { .. } => "commit-decrement",
            Op::Decrement { .. } => "decrement",
            Op::ConditionalDecrement { .. } => "conditional-decrement",
            Op::WriteIfVersion { .. } => "write-if-version",
            Op::Rollback { .. } => "rollback",
            Op::BackgroundWrite { .. } => "background-write",
            Op::BackgroundRead => "background-read",
            Op::CacheSet { .. } => "cache-set",
        }
    }
}

/// A data node's answer to a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Row {
        stock: i64,
        price: i64,
        version: u64,
    },
    Miss,
    /// A committed stock write, with the row's stock and version after it.
    Updated {
        stock: i64,
        version: u64,
    },
    NotEnoughStock,
    VersionConflict,
    Aborted,
    /// A committed profile write, with its log position and the row's new version.
    Written {
        lsn: u64,
        version: u64,
    },
    /// A replica has not applied the log position a `ReadAtLeast` asked for.
    TooStale,
}

impl Answer {
    fn name(self) -> &'static str {
        match self {
            Answer::Row { .. } => "row",
            Answer::Miss => "miss",
            Answer::Updated { .. } => "updated",
            Answer::NotEnoughStock => "not-enough-stock",
            Answer::VersionConflict => "version-conflict",
            Answer::Aborted => "aborted",
            Answer::Written { .. } => "written",
            Answer::TooStale => "too-stale",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// `req` is `None` for fire-and-forget requests (background load, cache sets, rollbacks).
    Request {
        req: Option<ReqRef>,
        op: Op,
    },
    Reply {
        req: ReqRef,
        answer: Answer,
    },
    Replicate(LogEntry),
    Invalidate {
        row: u32,
    },
    /// Tag-based flush: the cache drops every product key.
    FlushProducts,
    /// A replica has received the log up to `lsn` (synchronous replication).
    Ack {
        lsn: u64,
    },
    /// The saga orchestrator asks a service to perform `call` for `order`; `keyed`: the order id
    /// is the request's idempotency key.
    SagaRequest {
        saga: SagaRef,
        ticket: u32,
        order: u64,
        call: saga::Call,
        keyed: bool,
    },
    SagaReply {
        saga: SagaRef,
        ticket: u32,
        /// The request answered (two-phase commit asks three services at once).
        call: saga::Call,
        answer: saga::Answer,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    pub body: Body,
}

/// Everything that can happen.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    ShopperArrives,
    BackgroundWrite,
    BackgroundRead,
    Deliver(Message),
    PrimaryDone(Job),
    ReplicaDone {
        replica: NodeId,
        task: Task,
        /// The replica's life it was started in; a crash ends a life and its work.
        epoch: u32,
    },
    ShopperWakes(ShopperRef),
    RetryCheckout(ShopperRef),
    CheckoutWorkDone(ShopperRef),
    /// Marketing applies price change number `i` (a write to the primary).
    PriceChange(u16),
    /// A profile session starts (its user writes).
    ProfileSessionStarts,
    /// A profile session reads its own profile.
    ProfileRead(SessionRef),
    RequestTimeout(ReqRef),
    LockWaitTimeout {
        row: u32,
        ticket: u64,
    },
    TxnIdleTimeout {
        row: u32,
        grant: u64,
    },
    FaultStarts(u16),
    FaultEnds(u16),
    /// The lag monitor polls the replicas.
    MonitorSample,
    /// Semi-sync: the commit at `lsn` has waited `replication.ack_timeout` for acknowledgements.
    AckTimeout {
        lsn: u64,
    },
    /// A saga request got no reply in time (ignored if `ticket` is no longer current).
    SagaTimeout {
        saga: SagaRef,
        ticket: u32,
    },
    /// A saga's retry backoff is over.
    SagaRetry(SagaRef),
    /// A saga service finished a request (a job of [`ServiceNodes`]).
    ServiceDone(Key),
    /// The lag monitor raised (or cleared) its alert; `lag_us` is the worst reported lag.
    LagAlert {
        raised: bool,
        lag_us: u64,
    },
}

/// A message a component wants sent.
#[derive(Clone, Copy, Debug)]
pub enum Outgoing {
    /// A request, reply or invalidation, after `extra_us` of processing at the sender.
    Rpc { msg: Message, extra_us: u64 },
    /// A replication-stream message.
    Stream(Message),
}

/// What a component may do while handling an event: schedule timers, queue messages.
pub struct Ctx<'a> {
    pub now: SimTime,
    pub fx: &'a mut Effects<Event>,
    out: &'a mut Vec<Outgoing>,
}

impl Ctx<'_> {
    pub fn send(&mut self, from: NodeId, to: NodeId, body: Body) {
        self.out.push(Outgoing::Rpc {
            msg: Message { from, to, body },
            extra_us: 0,
        });
    }

    pub fn reply(&mut self, node: NodeId, job: Job, answer: Answer) {
        if let Some(req) = job.req {
            self.reply_to(node, job.from, req, answer);
        }
    }

    pub fn reply_to(&mut self, node: NodeId, to: NodeId, req: ReqRef, answer: Answer) {
        self.reply_after(node, to, req, answer, 0);
    }

    pub fn reply_after(
        &mut self,
        node: NodeId,
        to: NodeId,
        req: ReqRef,
        answer: Answer,
        extra_us: u64,
    ) {
        let msg = Message {
            from: node,
            to,
            body: Body::Reply { req, answer },
        };
        self.out.push(Outgoing::Rpc { msg, extra_us });
    }

    /// A message on a replication connection (reliable and ordered; see the network module).
    pub fn send_stream(&mut self, from: NodeId, to: NodeId, body: Body) {
        self.out.push(Outgoing::Stream(Message { from, to, body }));
    }

    pub fn replicate(&mut self, to: NodeId, entry: LogEntry) {
        self.out.push(Outgoing::Stream(Message {
            from: NodeId::PRIMARY,
            to,
            body: Body::Replicate(entry),
        }));
    }

    pub fn invalidate(&mut self, row: u32) {
        self.send(NodeId::PRIMARY, NodeId::CACHE, Body::Invalidate { row });
    }

    pub fn flush_products(&mut self) {
        self.send(NodeId::PRIMARY, NodeId::CACHE, Body::FlushProducts);
    }
}

/// The whole simulated system for one variant.
pub struct Model {
    config: Config,
    app: App,
    primary: Primary,
    replicas: Vec<Replica>,
    cache: Cache,
    network: Network<Message>,
    shopper_arrivals: Arrivals,
    shoppers_arrived: u64,
    session_arrivals: Arrivals,
    sessions_started: u64,
    wrong_price_orders: u64,
    background_writes: Arrivals,
    background_reads: Arrivals,
    background_rng: SimRng,
    next_background_replica: usize,
    stale: StaleCounts,
    phases: Phases,
    monitor: Option<Monitor>,
    /// When the last fault ends (the monitor keeps watching until then).
    faults_end: SimTime,
    outbox: Vec<Outgoing>,
    healed: Vec<(SimTime, Message)>,
    /// The saga services, in scenarios with `[saga]`.
    services: Option<ServiceNodes>,
    /// What the charts need, when a timeline is asked for ([`Recording::timeline`]).
    timeline: Option<Box<Timeline>>,
}

impl Model {
    pub fn new(variant: &Variant, seed: u64) -> Self {
        let config = variant.config.clone();
        let stream = |label, index| SimRng::stream(seed, StreamId::new(label, index));
        let stock: Vec<(i64, i64)> = config
            .products
            .iter()
            .map(|p| (p.stock, p.price_cents))
            .collect();
        let n_replicas = config.replicas.len();
        let uses_cache = variant.page == ReadSource::Cache
            || variant.checkout == crate::scenario::CheckoutKind::CacheRead;
        let primary = Primary::new(
            config.primary.clone(),
            config.replication.clone(),
            stream("primary", 0),
            &stock,
            // Profile rows follow the products; background rows follow them.
            profile_rows(&config),
            config.background.rows,
            n_replicas,
            match (uses_cache, &config.cache) {
                (false, _) => Invalidation::None,
                (true, c) if c.flush_all_on_write => Invalidation::AllProducts,
                (true, c) if c.invalidate_on_write => Invalidation::Row,
                _ => Invalidation::None,
            },
        );
        let replicas = config
            .replicas
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Replica::new(
                    NodeId::replica(i),
                    r.clone(),
                    config.replication.mode != ReplicationMode::Async,
                    stream("replica", i as u64),
                    &stock,
                    profile_rows(&config),
                )
            })
            .collect();
        let cache = Cache::new(config.cache.clone(), stream("cache", 0), stock.len());
        let phases = Phases {
            // Around the earliest fault (the first to start; the first listed among equals).
            fault: config
                .faults
                .iter()
                .min_by_key(|f| f.start)
                .map(|f| (f.start, f.end)),
        };
        let app = App::new(variant, seed, phases);
        let bg = &config.background;
        let end = config.traffic_end;
        Self {
            network: Network::new(
                &config.network,
                3 + n_replicas + if config.saga.is_some() { 3 } else { 0 },
                seed,
            ),
            services: config.saga.as_ref().map(|saga| {
                let units: Vec<i64> = config.products.iter().map(|p| p.stock).collect();
                ServiceNodes::new(saga, &units, n_replicas, seed)
            }),
            shopper_arrivals: Arrivals::new(&config.traffic, 0.0, 1.0, end, stream("arrivals", 0)),
            shoppers_arrived: 0,
            session_arrivals: Arrivals::new(
                &crate::scenario::Traffic {
                    points: vec![(SimTime::ZERO, 0.0)],
                },
                config.profiles.sessions_per_s,
                0.0,
                end,
                stream("profile-session-times", 0),
            ),
            sessions_started: 0,
            wrong_price_orders: 0,
            background_writes: Arrivals::new(
                &config.traffic,
                bg.writes_per_s,
                bg.writes_per_shopper,
                end,
                stream("background-write-times", 0),
            ),
            background_reads: Arrivals::new(
                &config.traffic,
                bg.reads_per_s,
                bg.reads_per_shopper,
                end,
                stream("background-read-times", 0),
            ),
            background_rng: stream("background-rows", 0),
            next_background_replica: 0,
            stale: StaleCounts::default(),
            phases,
            monitor: config
                .monitor
                .clone()
                .map(|m| Monitor::new(m, config.replicas.len())),
            faults_end: config
                .faults
                .iter()
                .map(|f| f.end)
                .max()
                .unwrap_or(SimTime::ZERO),
            outbox: Vec::with_capacity(32),
            healed: Vec::new(),
            timeline: None,
            app,
            primary,
            replicas,
            cache,
            config,
        }
    }

    /// The events that start a run: the first arrival of each process, and every fault edge.
    fn initial_events(&mut self) -> Vec<(SimTime, Event)> {
        let mut events = Vec::new();
        if let Some(t) = self.shopper_arrivals.next() {
            events.push((t, Event::ShopperArrives));
        }
        if let Some(t) = self.background_writes.next() {
            events.push((t, Event::BackgroundWrite));
        }
        if let Some(t) = self.session_arrivals.next() {
            events.push((t, Event::ProfileSessionStarts));
        }
        for (i, change) in self.config.price_changes.iter().enumerate() {
            events.push((change.at, Event::PriceChange(i as u16)));
        }
        if let Some(t) = self.background_reads.next() {
            events.push((t, Event::BackgroundRead));
        }
        if let Some(m) = &self.monitor
            && SimTime::from_micros(m.config.sample_every_us) <= self.config.horizon
        {
            events.push((
                SimTime::from_micros(m.config.sample_every_us),
                Event::MonitorSample,
            ));
        }
        for (i, f) in self.config.faults.iter().enumerate() {
            events.push((f.start, Event::FaultStarts(i as u16)));
            events.push((f.end, Event::FaultEnds(i as u16)));
        }
        events
    }

    fn fault(&mut self, ctx: &mut Ctx, index: u16, starts: bool) {
        match self.config.faults[usize::from(index)].kind {
            FaultKind::Partition {
                from,
                to,
                both_ways,
            } => {
                let pairs = if both_ways {
                    vec![(from, to), (to, from)]
                } else {
                    vec![(from, to)]
                };
                for (a, b) in pairs {
                    if starts {
                        self.network.cut(a, b);
                    } else {
                        self.network.heal(ctx.now, a, b, &mut self.healed);
                    }
                }
            }
            FaultKind::PauseReplica { replica } => self.replicas[replica].pause(ctx, starts),
            FaultKind::CrashReplica { replica } => {
                self.isolate(ctx, NodeId::replica(replica), starts);
                if starts {
                    self.replicas[replica].crash();
                } else {
                    self.replicas[replica].restart(ctx);
                }
                self.replicas[replica].pause(ctx, starts);
            }
            FaultKind::CrashCache => {
                self.isolate(ctx, NodeId::CACHE, starts);
                if starts {
                    self.cache.clear(ctx.now);
                    self.cache.crashes += 1;
                }
            }
            FaultKind::SlowReplica { replica, factor } => {
                self.replicas[replica].slow_down(factor, starts)
            }
            FaultKind::CrashOrchestrator => self.app.crash_orchestrator(ctx, starts),
        }
    }

    /// Cuts (or heals) every link to and from `node`: a crashed node neither hears nor speaks.
    fn isolate(&mut self, ctx: &Ctx, node: NodeId, starts: bool) {
        for other in (0..self.network.nodes() as u16)
            .map(NodeId)
            .filter(|&n| n != node)
        {
            for (a, b) in [(node, other), (other, node)] {
                if starts {
                    self.network.cut(a, b);
                } else {
                    self.network.heal(ctx.now, a, b, &mut self.healed);
                }
            }
        }
    }

    /// The lag monitor's poll: compare the worst reported lag with the threshold, tell the router,
    /// and poll again while anything could still make the replicas lag.
    fn sample_lag(&mut self, ctx: &mut Ctx) {
        let Some(m) = &mut self.monitor else {
            unreachable!("samples are scheduled only with a monitor")
        };
        let now = ctx.now;
        let reported = self.replicas.iter().map(|r| r.reported_lag(now));
        let worst = reported.clone().map(|(lag, _)| lag).max().unwrap_or(0);
        match m.sample(now, reported) {
            AlertChange::Raise => ctx.fx.after(
                0,
                Event::LagAlert {
                    raised: true,
                    lag_us: worst,
                },
            ),
            AlertChange::Clear => ctx.fx.after(
                0,
                Event::LagAlert {
                    raised: false,
                    lag_us: worst,
                },
            ),
            AlertChange::Unchanged => {}
        }
        self.app.route_to_primary = m.alerting;
        let busy = now < self.config.traffic_end
            || now < self.faults_end
            || m.alerting
            || self.replicas.iter().any(Replica::has_backlog);
        // The monitor stops at the horizon: it is an observer, not something the run must drain.
        if busy && now.after(m.config.sample_every_us) <= self.config.horizon {
            ctx.fx
                .after_fixed(m.config.sample_every_us, Event::MonitorSample);
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx, msg: Message) {
        let Message { from, to, body } = msg;
        match (to, body) {
            (NodeId::APP, Body::Reply { req, answer }) => self.app.on_reply(ctx, req, answer),
            (NodeId::PRIMARY, Body::Request { req, op }) => {
                self.primary.receive(ctx, from, req, op)
            }
            (NodeId::PRIMARY, Body::Ack { lsn }) => {
                let replica = from
                    .replica_index()
                    .expect("acknowledgements come from replicas");
                self.primary.ack(ctx, replica, lsn);
            }
            (NodeId::CACHE, Body::Request { req, op }) => match op {
                Op::Read { row } => {
                    let req = req.expect("cache gets expect an answer");
                    if let Some(shown) = self.cache.get(ctx, from, req, row) {
                        self.judge_staleness(ctx.now, req, row, shown, ReadFrom::Cache);
                    }
                }
                Op::CacheSet {
                    row,
                    stock,
                    price,
                    version,
                } => {
                    self.cache.set(ctx.now, row, stock, price, version);
                    self.track_cache(row, ctx.now);
                }
                other => unreachable!("the cache does not run {other:?}"),
            },
            (NodeId::CACHE, Body::Invalidate { row }) => {
                self.cache.invalidate(ctx.now, row);
                self.track_cache(row, ctx.now);
            }
            (
                NodeId::APP,
                Body::SagaReply {
                    saga,
                    ticket,
                    call,
                    answer,
                },
            ) => self.app.on_saga_reply(ctx, saga, ticket, call, answer),
            (
                node,
                Body::SagaRequest {
                    saga,
                    ticket,
                    order,
                    call,
                    keyed,
                },
            ) => {
                let services = self.services.as_mut().expect("a scenario with [saga]");
                debug_assert!(services.owns(node));
                services.receive(ctx, saga, ticket, order, call, keyed);
            }
            (NodeId::CACHE, Body::FlushProducts) => {
                self.cache.clear(ctx.now);
                self.cache.invalidations += 1;
            }
            (node, body) => {
                let r = &mut self.replicas[node.replica_index().expect("the rest are replicas")];
                match body {
                    Body::Replicate(entry) => r.receive_entry(ctx, entry),
                    Body::Request {
                        req,
                        op: Op::Read { row },
                    } => r.receive_read(ctx, from, req, Some(row), 0),
                    Body::Request {
                        req,
                        op: Op::ReadAtLeast { row, lsn },
                    } => r.receive_read(ctx, from, req, Some(row), lsn),
                    Body::Request {
                        req,
                        op: Op::BackgroundRead,
                    } => r.receive_read(ctx, from, req, None, 0),
                    other => unreachable!("a replica does not handle {other:?}"),
                }
            }
        }
    }

    /// Re-judges the cached copy of `row` (if it is a product) against the primary, for
    /// convergence: called after anything that may have changed either.
    fn track_cache(&mut self, row: u32, now: SimTime) {
        if (row as usize) < self.config.products.len() {
            self.cache
                .track(row, self.primary.rows[row as usize].version, now);
        }
    }

    /// Counts a product read served by a replica or the cache, and whether it was stale.
    fn judge_staleness(
        &mut self,
        now: SimTime,
        req: ReqRef,
        row: u32,
        shown: RowView,
        served_by: ReadFrom,
    ) {
        // A request the shopper has already given up on is not counted: nobody saw it.
        // Staleness is judged for product reads; profile reads are judged by their sessions.
        if (row as usize) >= self.config.products.len() {
            return;
        }
        if let Some(request) = self.app.requests.get(req) {
            let truth = &self.primary.rows[row as usize];
            let staleness = (shown.version < truth.version)
                .then(|| now.since(self.primary.version_time(row, shown.version + 1)));
            self.stale.record(request.purpose, staleness);
            if let Some(t) = &mut self.timeline {
                t.observe_read(
                    StaleRead {
                        t_us: now.as_micros(),
                        product: row as usize,
                        checkout: request.purpose == Purpose::Checkout,
                        served_by,
                        shown: shown.stock,
                        truth: truth.stock,
                        age_us: staleness.unwrap_or(0),
                    },
                    staleness.is_some(),
                );
            }
            if staleness.is_some() {
                self.app.stats.phases[self.phases.index(now)].stale_reads += 1;
            }
            if request.purpose == Purpose::Page {
                let badge = |stock| self.config.shoppers.badge(stock);
                self.stale.price_views += u64::from(shown.price != truth.price);
                self.stale.badge_views += u64::from(badge(shown.stock) != badge(truth.stock));
            }
        }
    }

    /// Replica `i`'s true lag at `now` (µs): the age of the oldest committed entry it has not
    /// applied, in its relay log or held by a cut link.
    fn true_lag_us(&self, i: usize, now: SimTime) -> u64 {
        let (reported, _) = self.replicas[i].reported_lag(now);
        let held = self
            .network
            .held(NodeId::PRIMARY, NodeId::replica(i))
            .iter()
            .find_map(|m| match m.body {
                Body::Replicate(e) => Some(now.since(e.committed_at)),
                _ => None,
            })
            .unwrap_or(0);
        reported.max(held)
    }

    /// Records the timeline's samples due at `now` (or, with `end`, its final sample).
    fn sample_timeline_at(&mut self, now: SimTime, end: bool) {
        let Some(mut t) = self.timeline.take() else {
            return;
        };
        let products = self.config.products.len();
        let st = &self.app.stats;
        let snapshot = Snapshot {
            primary_stock: &mut self.primary.rows[..products].iter().map(|r| r.stock),
            replica_stock: &mut self
                .replicas
                .iter()
                .flat_map(|r| r.rows[..products].iter().map(|v| v.stock)),
            cache_stock: &mut (0..products as u32).map(|row| self.cache.peek_stock(row, now)),
            lags_us: &mut (0..self.replicas.len()).map(|i| {
                (
                    self.true_lag_us(i, now),
                    self.replicas[i].reported_lag(now).0,
                )
            }),
            shoppers: self.shoppers_arrived,
            orders_confirmed: st.confirmed,
            orders_failed: st.failed,
            ryw_violations: st.profile.ryw_violations,
            requests: st.phases.iter().map(|p| p.requests).sum(),
            request_timeouts: st.phases.iter().map(|p| p.timeouts).sum(),
        };
        if end {
            t.record_final(now, snapshot);
        } else {
            let due = t.due(now);
            t.record(due, snapshot);
        }
        self.timeline = Some(t);
    }

    fn sample_timeline(&mut self, now: SimTime) {
        self.sample_timeline_at(now, false);
    }

    /// After an event: sell-outs, oversold orders and lag alerts, for the timeline.
    fn observe_for_timeline(&mut self, now: SimTime, event: Event) {
        let Some(mut t) = self.timeline.take() else {
            return;
        };
        for (p, row) in self.primary.rows[..self.config.products.len()]
            .iter()
            .enumerate()
        {
            t.observe_stock(now, p, row.stock);
        }
        for (i, replica) in self.replicas.iter().enumerate() {
            for (p, row) in replica.rows[..self.config.products.len()]
                .iter()
                .enumerate()
            {
                t.observe_replica_stock(now, i, p, row.stock);
            }
        }
        if let Some(mut marks) = self.app.oversold_marks.take() {
            for mut order in marks.drain(..) {
                if let ReadFrom::Replica(i) = order.read_from {
                    order.replica_lag_us = Some(self.true_lag_us(i, now));
                }
                t.mark_oversold(order);
            }
            self.app.oversold_marks = Some(marks);
        }
        if let Event::LagAlert { raised, .. } = event {
            t.mark_alert(now, raised);
        }
        self.timeline = Some(t);
    }

    fn route_outbox(&mut self, fx: &mut Effects<Event>, now: SimTime, outbox: &mut Vec<Outgoing>) {
        for out in outbox.drain(..) {
            let (fate, msg) = match out {
                Outgoing::Rpc { msg, extra_us } => {
                    (self.network.send(now, msg.from, msg.to, extra_us), msg)
                }
                Outgoing::Stream(msg) => match self.network.send_stream(now, msg.from, msg.to, msg)
                {
                    (fate, Some(msg)) => (fate, msg),
                    (_, None) => continue,
                },
            };
            if let Fate::ArrivesAt(at) = fate {
                fx.at(at, Event::Deliver(msg));
            }
        }
        for (at, msg) in self.healed.drain(..) {
            fx.at(at, Event::Deliver(msg));
        }
    }
}

impl World for Model {
    type Event = Event;

    fn is_stale(&self, event: &Event) -> bool {
        match *event {
            Event::RequestTimeout(req) => self.app.requests.get(req).is_none(),
            Event::LockWaitTimeout { row, ticket } => !self.primary.is_waiting(row, ticket),
            Event::TxnIdleTimeout { row, grant } => !self.primary.holds(row, grant),
            Event::AckTimeout { lsn } => !self.primary.is_held(lsn),
            Event::ReplicaDone { replica, epoch, .. } => {
                let i = replica.replica_index().expect("a replica");
                epoch != self.replicas[i].epoch
            }
            _ => false,
        }
    }

    fn handle(&mut self, now: SimTime, event: Event, fx: &mut Effects<Event>) {
        if let Some(t) = &self.timeline
            && now >= t.next_at()
        {
            self.sample_timeline(now);
        }
        let mut outbox = std::mem::take(&mut self.outbox);
        let mut ctx = Ctx {
            now,
            fx,
            out: &mut outbox,
        };
        match event {
            Event::ShopperArrives => {
                let n = self.shoppers_arrived;
                self.shoppers_arrived += 1;
                self.app.arrive(&mut ctx, n);
                if let Some(t) = self.shopper_arrivals.next() {
                    ctx.fx.at(t, Event::ShopperArrives);
                }
            }
            Event::BackgroundWrite => {
                let row = self.config.products.len() as u32
                    + profile_rows(&self.config)
                    + self
                        .background_rng
                        .below(u64::from(self.config.background.rows)) as u32;
                ctx.send(
                    NodeId::APP,
                    NodeId::PRIMARY,
                    Body::Request {
                        req: None,
                        op: Op::BackgroundWrite { row },
                    },
                );
                if let Some(t) = self.background_writes.next() {
                    ctx.fx.at(t, Event::BackgroundWrite);
                }
            }
            Event::BackgroundRead => {
                let to = NodeId::replica(self.next_background_replica);
                self.next_background_replica =
                    (self.next_background_replica + 1) % self.replicas.len().max(1);
                ctx.send(
                    NodeId::APP,
                    to,
                    Body::Request {
                        req: None,
                        op: Op::BackgroundRead,
                    },
                );
                if let Some(t) = self.background_reads.next() {
                    ctx.fx.at(t, Event::BackgroundRead);
                }
            }
            Event::Deliver(msg) => {
                let is_rpc = !matches!(msg.body, Body::Replicate(_) | Body::Ack { .. });
                if !(is_rpc && self.network.drops_on_arrival(msg.from, msg.to)) {
                    self.deliver(&mut ctx, msg);
                }
            }
            Event::PrimaryDone(job) => {
                self.primary.done(&mut ctx, job);
                self.track_cache(job.op.row(), now);
            }
            Event::ReplicaDone { replica, task, .. } => {
                let i = replica.replica_index().expect("a replica");
                match (task, self.replicas[i].done(&mut ctx, task)) {
                    (Task::Read { req: Some(req), .. }, Done::Read { row, view }) => {
                        self.judge_staleness(now, req, row, view, ReadFrom::Replica(i));
                    }
                    (
                        _,
                        Done::Applied {
                            committed_at,
                            lag_us,
                        },
                    ) => {
                        if let Some(m) = &mut self.monitor {
                            m.observe_apply(i, committed_at, lag_us);
                        }
                    }
                    _ => {}
                }
            }
            Event::MonitorSample => self.sample_lag(&mut ctx),
            Event::AckTimeout { lsn } => self.primary.ack_timeout(&mut ctx, lsn),
            Event::SagaTimeout { saga, ticket } => self.app.on_saga_timeout(&mut ctx, saga, ticket),
            Event::SagaRetry(saga) => self.app.on_saga_retry(&mut ctx, saga),
            Event::ServiceDone(job) => self
                .services
                .as_mut()
                .expect("a scenario with [saga]")
                .done(&mut ctx, job),
            Event::LagAlert { .. } => {}
            Event::ShopperWakes(s) => self.app.wake(&mut ctx, s),
            Event::RetryCheckout(s) => self.app.retry(&mut ctx, s),
            Event::CheckoutWorkDone(s) => self.app.work_done(&mut ctx, s),
            Event::ProfileSessionStarts => {
                let n = self.sessions_started;
                self.sessions_started += 1;
                self.app.start_session(&mut ctx, n);
                if let Some(t) = self.session_arrivals.next() {
                    ctx.fx.at(t, Event::ProfileSessionStarts);
                }
            }
            Event::ProfileRead(s) => self.app.profile_read(&mut ctx, s),
            Event::PriceChange(i) => {
                let change = &self.config.price_changes[usize::from(i)];
                let op = Op::SetPrice {
                    row: change.product as u32,
                    price: change.price_cents,
                };
                ctx.send(
                    NodeId::APP,
                    NodeId::PRIMARY,
                    Body::Request { req: None, op },
                );
            }
            Event::RequestTimeout(req) => self.app.on_timeout(&mut ctx, req),
            Event::LockWaitTimeout { row, ticket } => {
                self.primary.lock_wait_timeout(&mut ctx, row, ticket);
                self.track_cache(row, now);
            }
            Event::TxnIdleTimeout { row, grant } => {
                self.primary.txn_idle_timeout(&mut ctx, row, grant);
                self.track_cache(row, now);
            }
            Event::FaultStarts(i) => self.fault(&mut ctx, i, true),
            Event::FaultEnds(i) => self.fault(&mut ctx, i, false),
        }
        for (row, shown) in self.app.stats.price_checks.drain(..) {
            self.wrong_price_orders += u64::from(shown != self.primary.rows[row as usize].price);
        }
        if self.timeline.is_some() {
            self.observe_for_timeline(now, event);
        }
        self.route_outbox(fx, now, &mut outbox);
        self.outbox = outbox;
    }
}

/// Rows for the users of profile sessions: none without profile traffic.
fn profile_rows(config: &Config) -> u32 {
    if config.profiles.sessions_per_s > 0.0 {
        config.profiles.users
    } else {
        0
    }
}

/// The outcome of running one variant.
#[derive(Clone, Debug)]
pub struct VariantRun {
    pub summary: RunSummary,
    pub metrics: Metrics,
    /// What every client saw, if it was asked for ([`run_variant_recorded`]).
    pub history: Option<History>,
    /// The sampled timeline, if it was asked for ([`Recording::timeline`]).
    pub timeline: Option<Box<Timeline>>,
}

/// What a run records besides its metrics. Neither changes the run (same trace hash).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// The history of every client-visible operation, for the checkers: it grows with the run
    /// (see [`run_variant_recorded`]).
    pub history: bool,
    /// A [`Timeline`] for charts: bounded by its sample cap, whatever the run's length.
    pub timeline: bool,
}

fn build(variant: &Variant, seed: u64) -> Sim<Model> {
    let limits = Limits {
        horizon: variant.config.horizon,
        max_events: variant.config.max_events,
    };
    let mut model = Model::new(variant, seed);
    let initial = model.initial_events();
    let mut sim = Sim::new(model, limits);
    for (t, e) in initial {
        sim.schedule(t, e);
    }
    sim
}

/// Runs one variant to completion, describing every event to `trace`.
pub fn run_variant(
    variant: &Variant,
    seed: u64,
    trace: &mut impl TraceSink,
) -> Result<VariantRun, RunError> {
    run(build(variant, seed), trace, &mut |_| {})
}

/// Runs one variant like [`run_variant`], and records the history of every client-visible
/// operation for the checkers. Recording does not change the run (same trace hash), but the
/// history grows with the run: about 250 bytes per operation at peak (96 for the operation, the
/// rest for process names and the vector's growth), 85 MB for a black-friday variant.
pub fn run_variant_recorded(
    variant: &Variant,
    seed: u64,
    trace: &mut impl TraceSink,
) -> Result<VariantRun, RunError> {
    run_variant_with(
        variant,
        seed,
        trace,
        Recording {
            history: true,
            timeline: false,
        },
    )
}

/// Runs one variant, recording what `recording` asks for.
pub fn run_variant_with(
    variant: &Variant,
    seed: u64,
    trace: &mut impl TraceSink,
    recording: Recording,
) -> Result<VariantRun, RunError> {
    run_variant_observed(variant, seed, trace, recording, &mut |_| {})
}

/// How often a run reports its progress: every this many events.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Runs one variant like [`run_variant_with`], telling `progress` the simulated time reached
/// every [`PROGRESS_EVERY`] events (for a progress bar; it cannot change the run).
pub fn run_variant_observed(
    variant: &Variant,
    seed: u64,
    trace: &mut impl TraceSink,
    recording: Recording,
    progress: &mut dyn FnMut(SimTime),
) -> Result<VariantRun, RunError> {
    let mut sim = build(variant, seed);
    let model = sim.world_mut();
    if recording.history {
        let source = Source {
            scenario: None,
            variant: Some(variant.name.clone()),
            seed: Some(seed),
        };
        model.app.recorder = Some(Recorder::new(&variant.config, source));
    }
    if recording.timeline {
        model.timeline = Some(Box::new(Timeline::new(&variant.config)));
        model.app.oversold_marks = Some(Vec::new());
    }
    run(sim, trace, progress)
}

fn run(
    mut sim: Sim<Model>,
    trace: &mut impl TraceSink,
    progress: &mut dyn FnMut(SimTime),
) -> Result<VariantRun, RunError> {
    let mut events = 0u64;
    while let Some(now) = sim.step(trace)? {
        events += 1;
        if events % PROGRESS_EVERY == 0 {
            progress(now);
        }
    }
    let summary = sim.summary();
    let model = sim.world_mut();
    let metrics = model.metrics(summary.end);
    let history = model.app.finish_history();
    let timeline = model.finish_timeline(summary.end);
    Ok(VariantRun {
        summary,
        metrics,
        history,
        timeline,
    })
}

impl Model {
    /// The timeline's final sample and distributions (after [`Model::metrics`], which closes the
    /// saga windows still open).
    fn finish_timeline(&mut self, end: SimTime) -> Option<Box<Timeline>> {
        self.timeline.as_ref()?;
        self.sample_timeline_at(end, true);
        let mut t = self.timeline.take()?;
        t.checkout_latency_us = self.app.stats.checkout_latency_us.clone();
        t.staleness_us = self.stale.staleness_us.clone();
        t.fresh_reads = (self.stale.page_reads + self.stale.checkout_reads)
            - (self.stale.page_stale + self.stale.checkout_stale);
        t.saga_windows_us = match (&self.app.orchestrator, &self.services) {
            (Some(_), Some(s)) => Some(s.state.windows_us.clone()),
            _ => None,
        };
        Some(t)
    }
}

/// Runs one variant twice in lockstep; `Some` names the first simulated instant at which the two
/// runs differ (which would be a determinism bug).
pub fn check_determinism(
    variant: &Variant,
    seed: u64,
) -> Result<Option<crate::engine::Divergence>, RunError> {
    first_divergence(&mut build(variant, seed), &mut build(variant, seed))
}
