//! The application tier: shoppers, their requests in flight, the read paths (direct and
//! cache-aside), and the checkout strategy that turns replies into the next statement.
//!
//! Every shopper's choices (product, whether to buy, think time, quantity) are drawn at arrival
//! from a stream of its own, derived from the root seed and its arrival number, so they are the
//! same in every variant (common random numbers). Replica reads go round-robin over the replicas.
//! A request with no reply after `request_timeout` fails for the shopper; a late reply is dropped.

use super::metrics::{AppStats, Phases, Purpose};
use super::orchestrator::{Orchestrator, SagaOutcome, SagaRef};
use super::recorder::{Call, Recorder};
use super::saga;
use super::timeline::{OversoldOrder, ReadFrom};
use super::{Answer, Ctx, Event, Op, ReqRef};
use crate::engine::{Key, SimRng, SimTime, Slab, StreamId};
use crate::history::ProcessId;
use crate::scenario::{
    CheckoutParams, NodeId, ProfileReads, Profiles, ReadSource, Shoppers, Variant,
};
use crate::strategy::{
    Checkout, CheckoutStrategy, FailReason, Outcome, Reply, Statement, Step, Strategy,
};

pub type ShopperRef = Key;

#[derive(Clone, Copy, Debug)]
struct Shopper {
    /// Arrival number: names the shopper's random streams.
    number: u64,
    product: u32,
    adds_to_cart: bool,
    think_us: u64,
    checkout: Checkout,
    txn: u64,
    checkout_started: SimTime,
    /// A write waiting for the application's work between read and write to finish.
    pending: Option<Op>,
    /// The price the product page showed: the price the shopper agreed to.
    shown_price: i64,
    /// The shopper's process in the history (when one is recorded).
    process: ProcessId,
    /// Where the checkout's last stock read was sent, and the stock it showed (for the
    /// timeline's oversold marks).
    read_from: Option<NodeId>,
    stock_read: Option<i64>,
}

/// How a pending request's reply is to be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// A read sent straight to its source, or any write.
    Direct,
    /// A cache-aside get; a miss goes on to `Fill`.
    CacheGet,
    /// The database read that fills a cache miss.
    Fill,
}

#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// The shopper, or the profile session, that sent it.
    owner: Key,
    pub purpose: Purpose,
    stage: Stage,
    /// Sent to the primary (profile reads count where they were served).
    at_primary: bool,
    /// The phase it was sent in.
    phase: u8,
    /// The client-visible operation it is part of (when a history is recorded).
    call: Option<Call>,
}

pub struct App {
    seed: u64,
    config: Shoppers,
    checkout: CheckoutParams,
    strategy: Strategy,
    page: ReadSource,
    fill_from: ReadSource,
    popularity: Vec<u64>,
    replicas: usize,
    next_replica: usize,
    next_txn: u64,
    shoppers: Slab<Shopper>,
    pub requests: Slab<Request>,
    pub stats: AppStats,
    /// The lag monitor is alerting: `lag-aware` reads go to the primary.
    pub route_to_primary: bool,
    phases: Phases,
    profiles: Profiles,
    profile_reads: ProfileReads,
    first_profile_row: u32,
    sessions: Slab<Session>,
    /// Records what clients saw, when a history is asked for.
    pub recorder: Option<Recorder>,
    /// Runs the checkouts of a `saga` variant.
    pub orchestrator: Option<Orchestrator<ShopperRef>>,
    prices: Vec<i64>,
    initial_stock: Vec<i64>,
    /// Oversold orders since the observer last looked, when a timeline is recorded.
    pub oversold_marks: Option<Vec<OversoldOrder>>,
}

/// A user who updates their profile, is redirected, and reads it back a few times.
#[derive(Clone, Debug)]
struct Session {
    row: u32,
    rng: SimRng,
    /// The version and log position of the user's own last acknowledged write.
    written_version: u64,
    written_lsn: u64,
    /// The newest version any of the user's reads has returned.
    seen_version: u64,
    reads_left: u32,
    sticky_until: SimTime,
    read_started: SimTime,
    /// The new email the user writes (a value unique to the session).
    new_value: i64,
    process: ProcessId,
}

pub type SessionRef = Key;

impl App {
    pub fn new(variant: &Variant, seed: u64, phases: Phases) -> Self {
        let config = &variant.config;
        Self {
            seed,
            config: config.shoppers.clone(),
            checkout: config.checkout.clone(),
            strategy: Strategy::new(variant.checkout),
            page: variant.page,
            fill_from: config.cache.fill_from,
            popularity: config.products.iter().map(|p| p.popularity).collect(),
            replicas: config.replicas.len(),
            next_replica: 0,
            next_txn: 1,
            shoppers: Slab::default(),
            requests: Slab::default(),
            stats: AppStats::new(config.products.len()),
            route_to_primary: false,
            phases,
            profiles: config.profiles.clone(),
            profile_reads: variant.profile_reads,
            first_profile_row: config.products.len() as u32,
            sessions: Slab::default(),
            recorder: None,
            orchestrator: match (variant.saga, &config.saga) {
                (Some(policy), Some(saga)) => Some(Orchestrator::new(
                    policy,
                    saga.clone(),
                    config.replicas.len(),
                    seed,
                )),
                _ => None,
            },
            prices: config.products.iter().map(|p| p.price_cents).collect(),
            initial_stock: config.products.iter().map(|p| p.stock).collect(),
            oversold_marks: None,
        }
    }

    /// The history recorded so far, with the requests still in flight as unfinished; `None` if
    /// none was recorded.
    pub fn finish_history(&mut self) -> Option<crate::history::History> {
        let mut recorder = self.recorder.take()?;
        for request in self.requests.drain() {
            if let Some(call) = request.call {
                recorder.unfinished(call);
            }
        }
        Some(recorder.finish())
    }

    fn new_process(&mut self, name: impl FnOnce() -> String) -> ProcessId {
        match &mut self.recorder {
            Some(r) => r.process(name()),
            None => ProcessId(0),
        }
    }

    /// Shopper number `n` arrives: draw its choices and open its product page.
    pub fn arrive(&mut self, ctx: &mut Ctx, n: u64) {
        let mut rng = SimRng::stream(self.seed, StreamId::new("shopper", n));
        let product = rng.weighted_index(&self.popularity) as u32;
        let adds_to_cart = rng.chance(self.config.add_to_cart_probability);
        let think_us = self.config.think_time.sample(&mut rng);
        let qty = rng.weighted_index(&self.config.quantity_weights) as i64 + 1;
        let shopper = Shopper {
            number: n,
            product,
            adds_to_cart,
            think_us,
            checkout: Checkout::new(qty, self.checkout.max_retries),
            txn: 0,
            checkout_started: SimTime::ZERO,
            pending: None,
            shown_price: 0,
            process: self.new_process(|| format!("shopper-{n}")),
            read_from: None,
            stock_read: None,
        };
        self.stats.shoppers += 1;
        let s = self.shoppers.insert(shopper);
        self.read(ctx, s, Purpose::Page, self.page);
    }

    fn pick_replica(&mut self) -> NodeId {
        let r = NodeId::replica(self.next_replica);
        self.next_replica = (self.next_replica + 1) % self.replicas.max(1);
        r
    }

    /// Reads the shopper's product row from `source`.
    fn read(&mut self, ctx: &mut Ctx, s: ShopperRef, purpose: Purpose, source: ReadSource) {
        let row = self.shoppers.get(s).expect("live shopper").product;
        let (to, stage) = match source {
            ReadSource::Primary => (NodeId::PRIMARY, Stage::Direct),
            ReadSource::Replica => (self.pick_replica(), Stage::Direct),
            ReadSource::Cache => (NodeId::CACHE, Stage::CacheGet),
            ReadSource::LagAware if self.route_to_primary => (NodeId::PRIMARY, Stage::Direct),
            ReadSource::LagAware => (self.pick_replica(), Stage::Direct),
        };
        self.request(ctx, s, purpose, stage, to, Op::Read { row }, None);
    }

    /// Sends `op` for owner `s`. `call` continues a client operation already begun (a cache
    /// miss's fill); otherwise `op` begins one.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        ctx: &mut Ctx,
        s: ShopperRef,
        purpose: Purpose,
        stage: Stage,
        to: NodeId,
        op: Op,
        call: Option<Call>,
    ) {
        let call = match (&mut self.recorder, call) {
            (_, Some(call)) => Some(call),
            (None, None) => None,
            (Some(recorder), None) => {
                let (process, qty) = if purpose == Purpose::Profile {
                    (self.sessions.get(s).expect("live session").process, 0)
                } else {
                    let shopper = self.shoppers.get(s).expect("live shopper");
                    (shopper.process, shopper.checkout.qty)
                };
                recorder.call(process, op, qty, ctx.now)
            }
        };
        if purpose == Purpose::Checkout && matches!(op, Op::Read { .. } | Op::LockRead { .. }) {
            let shopper = self.shoppers.get_mut(s).expect("live shopper");
            shopper.read_from = Some(to);
            shopper.stock_read = None;
        }
        let phase = self.phases.index(ctx.now);
        self.stats.phases[phase].requests += 1;
        let req = self.requests.insert(Request {
            owner: s,
            purpose,
            stage,
            at_primary: to == NodeId::PRIMARY,
            phase: phase as u8,
            call,
        });
        ctx.fx
            .after_fixed(self.config.request_timeout_us, Event::RequestTimeout(req));
        ctx.send(NodeId::APP, to, super::Body::Request { req: Some(req), op });
    }

    pub fn on_reply(&mut self, ctx: &mut Ctx, req: ReqRef, answer: Answer) {
        let Some(request) = self.requests.remove(req) else {
            self.stats.late_replies += 1;
            return;
        };
        let s = request.owner;
        if let (Some(recorder), Some(call)) = (&mut self.recorder, request.call)
            && !(request.stage == Stage::CacheGet && answer == Answer::Miss)
        {
            recorder.complete(call, Some(answer), ctx.now);
        }
        if request.purpose == Purpose::Profile {
            return self.profile_answer(ctx, s, request.at_primary, answer);
        }
        match (request.stage, answer) {
            (Stage::CacheGet, Answer::Miss) => {
                self.read_for_fill(ctx, s, request.purpose, request.call);
            }
            (
                Stage::Fill,
                Answer::Row {
                    stock,
                    price,
                    version,
                },
            ) => {
                let row = self.shoppers.get(s).expect("live shopper").product;
                let set = Op::CacheSet {
                    row,
                    stock,
                    price,
                    version,
                };
                ctx.send(
                    NodeId::APP,
                    NodeId::CACHE,
                    super::Body::Request { req: None, op: set },
                );
                self.deliver(ctx, s, request.purpose, answer);
            }
            _ => self.deliver(ctx, s, request.purpose, answer),
        }
    }

    fn read_for_fill(
        &mut self,
        ctx: &mut Ctx,
        s: ShopperRef,
        purpose: Purpose,
        call: Option<Call>,
    ) {
        let row = self.shoppers.get(s).expect("live shopper").product;
        let to = match self.fill_from {
            ReadSource::Replica => self.pick_replica(),
            _ => NodeId::PRIMARY,
        };
        self.request(ctx, s, purpose, Stage::Fill, to, Op::Read { row }, call);
    }

    pub fn on_timeout(&mut self, ctx: &mut Ctx, req: ReqRef) {
        if let Some(request) = self.requests.remove(req) {
            if let (Some(recorder), Some(call)) = (&mut self.recorder, request.call) {
                recorder.complete(call, None, ctx.now);
            }
            self.stats.timeouts += 1;
            self.stats.phases[usize::from(request.phase)].timeouts += 1;
            match request.purpose {
                Purpose::Page => self.leave(request.owner, |st| st.page_failed += 1),
                Purpose::Checkout => self.step(ctx, request.owner, Some(Reply::TimedOut)),
                Purpose::Profile => {
                    self.sessions.remove(request.owner).expect("live session");
                    self.stats.profile.sessions_failed += 1;
                }
            }
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx, s: ShopperRef, purpose: Purpose, answer: Answer) {
        match purpose {
            Purpose::Page => {
                let Answer::Row { stock, price, .. } = answer else {
                    unreachable!("a page read answers a row, got {answer:?}")
                };
                let shopper = self.shoppers.get_mut(s).expect("live shopper");
                shopper.shown_price = price;
                let shopper = *shopper;
                if stock <= 0 && self.config.leave_if_sold_out {
                    self.leave(s, |st| st.left_sold_out += 1);
                } else if !shopper.adds_to_cart {
                    self.leave(s, |st| st.browsed_only += 1);
                } else {
                    ctx.fx.after(shopper.think_us, Event::ShopperWakes(s));
                }
            }
            Purpose::Profile => unreachable!("profile answers are handled by profile_answer"),
            Purpose::Checkout => {
                let reply = match answer {
                    Answer::Row { stock, version, .. } => {
                        self.shoppers.get_mut(s).expect("live shopper").stock_read = Some(stock);
                        Reply::Row { stock, version }
                    }
                    Answer::Updated { .. } => Reply::Updated,
                    Answer::NotEnoughStock => Reply::NotEnoughStock,
                    Answer::VersionConflict => Reply::VersionConflict,
                    Answer::Aborted => Reply::Aborted,
                    other => unreachable!("a checkout statement does not answer {other:?}"),
                };
                self.step(ctx, s, Some(reply));
            }
        }
    }

    /// The shopper's think time is over: check out.
    pub fn wake(&mut self, ctx: &mut Ctx, s: ShopperRef) {
        self.shoppers
            .get_mut(s)
            .expect("live shopper")
            .checkout_started = ctx.now;
        self.stats.checkouts += 1;
        if let Some(o) = &mut self.orchestrator {
            if o.is_down() {
                o.refuse();
                return self.saga_finished(ctx, s, SagaOutcome::Failed);
            }
            let shopper = self.shoppers.get(s).expect("live shopper");
            let (product, qty) = (shopper.product, shopper.checkout.qty);
            let amount = self.prices[product as usize] * qty;
            o.start(ctx, s, shopper.number, product, qty, amount);
            return;
        }
        self.step(ctx, s, None);
    }

    /// A saga service answered the orchestrator.
    pub fn on_saga_reply(
        &mut self,
        ctx: &mut Ctx,
        saga: SagaRef,
        ticket: u32,
        call: saga::Call,
        answer: saga::Answer,
    ) {
        let o = self.orchestrator.as_mut().expect("a saga variant");
        if let Some((s, outcome)) = o.on_reply(ctx, saga, ticket, call, answer) {
            self.saga_finished(ctx, s, outcome);
        }
    }

    pub fn on_saga_timeout(&mut self, ctx: &mut Ctx, saga: SagaRef, ticket: u32) {
        let o = self.orchestrator.as_mut().expect("a saga variant");
        if let Some((s, outcome)) = o.on_timeout(ctx, saga, ticket) {
            self.saga_finished(ctx, s, outcome);
        }
    }

    /// The orchestrator crashes (`starts`) or restarts.
    pub fn crash_orchestrator(&mut self, ctx: &mut Ctx, starts: bool) {
        let Some(o) = self.orchestrator.as_mut() else {
            return; // a variant without sagas has no orchestrator to crash
        };
        if starts {
            for s in o.crash() {
                self.saga_finished(ctx, s, SagaOutcome::Failed);
            }
        } else {
            o.recover(ctx);
        }
    }

    pub fn on_saga_retry(&mut self, ctx: &mut Ctx, saga: SagaRef) {
        let o = self.orchestrator.as_mut().expect("a saga variant");
        o.on_retry(ctx, saga);
    }

    fn saga_finished(&mut self, ctx: &mut Ctx, s: ShopperRef, outcome: SagaOutcome) {
        let outcome = match outcome {
            SagaOutcome::Confirmed => Outcome::Confirmed,
            SagaOutcome::OutOfStock => Outcome::OutOfStock,
            SagaOutcome::Failed => Outcome::Failed(FailReason::Aborted),
        };
        self.finish_checkout(ctx, s, outcome);
    }

    /// An optimistic retry's backoff is over.
    pub fn retry(&mut self, ctx: &mut Ctx, s: ShopperRef) {
        self.step(ctx, s, None);
    }

    /// Sends a checkout statement to the primary.
    fn send_statement(&mut self, ctx: &mut Ctx, s: ShopperRef, op: Op) {
        self.request(
            ctx,
            s,
            Purpose::Checkout,
            Stage::Direct,
            NodeId::PRIMARY,
            op,
            None,
        );
    }

    /// The application's work between read and write is done: send the write.
    pub fn work_done(&mut self, ctx: &mut Ctx, s: ShopperRef) {
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        let op = shopper.pending.take().expect("a write was pending");
        self.send_statement(ctx, s, op);
    }

    /// Feeds the strategy (`None`: start a new attempt) and carries out the step it returns.
    fn step(&mut self, ctx: &mut Ctx, s: ShopperRef, reply: Option<Reply>) {
        let strategy = self.strategy;
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        let step = match reply {
            None => {
                shopper.txn = self.next_txn;
                self.next_txn += 1;
                strategy.begin(&mut shopper.checkout)
            }
            Some(r) => strategy.on_reply(&mut shopper.checkout, r),
        };
        let (row, txn) = (shopper.product, shopper.txn);
        match step {
            Step::Send(Statement::Read { from }) => self.read(ctx, s, Purpose::Checkout, from),
            Step::Send(statement) => {
                let op = match statement {
                    Statement::LockRead => Op::LockRead { row, txn },
                    Statement::CommitDecrement { qty } => Op::CommitDecrement { row, qty, txn },
                    Statement::Decrement { qty } => Op::Decrement { row, qty },
                    Statement::ConditionalDecrement { qty } => {
                        Op::ConditionalDecrement { row, qty }
                    }
                    Statement::WriteIfVersion {
                        expected_version,
                        new_stock,
                    } => Op::WriteIfVersion {
                        row,
                        expected_version,
                        new_stock,
                    },
                    Statement::Read { .. } => unreachable!("handled above"),
                };
                if matches!(
                    statement,
                    Statement::LockRead | Statement::ConditionalDecrement { .. }
                ) {
                    self.send_statement(ctx, s, op);
                } else {
                    // A write after a read: the application works on the order first.
                    shopper.pending = Some(op);
                    let work = self.checkout.work_time.sample(&mut attempt_rng(
                        self.seed,
                        "checkout-work",
                        shopper,
                    ));
                    ctx.fx.after(work, Event::CheckoutWorkDone(s));
                }
            }
            Step::Retry => {
                self.stats.retries += 1;
                let backoff = self.checkout.retry_backoff.sample(&mut attempt_rng(
                    self.seed,
                    "checkout-backoff",
                    shopper,
                ));
                ctx.fx.after(backoff, Event::RetryCheckout(s));
            }
            Step::Finish { outcome, rollback } => {
                if rollback {
                    let op = Op::Rollback { row, txn };
                    ctx.send(
                        NodeId::APP,
                        NodeId::PRIMARY,
                        super::Body::Request { req: None, op },
                    );
                }
                self.finish_checkout(ctx, s, outcome);
            }
        }
    }

    /// The shopper learns how its checkout ended, and leaves.
    fn finish_checkout(&mut self, ctx: &mut Ctx, s: ShopperRef, outcome: Outcome) {
        let shopper = self.shoppers.remove(s).expect("live shopper");
        self.stats
            .checkout_latency_us
            .record(ctx.now.since(shopper.checkout_started));
        let qty = shopper.checkout.qty;
        let product = shopper.product as usize;
        match outcome {
            Outcome::Confirmed => {
                self.stats.confirmed += 1;
                self.stats.phases[self.phases.index(ctx.now)].confirmed += 1;
                self.stats.units_sold[product] += qty;
                let beyond = self.stats.units_sold[product] - self.initial_stock[product];
                if let Some(marks) = &mut self.oversold_marks
                    && beyond > 0
                {
                    marks.push(OversoldOrder {
                        t_us: ctx.now.as_micros(),
                        shopper: shopper.number,
                        product,
                        units: beyond.min(qty),
                        read_from: match shopper.read_from {
                            None => ReadFrom::Nothing,
                            Some(NodeId::PRIMARY) => ReadFrom::Primary,
                            Some(NodeId::CACHE) => ReadFrom::Cache,
                            Some(node) => ReadFrom::Replica(
                                node.replica_index()
                                    .expect("the other readers are replicas"),
                            ),
                        },
                        stock_read: shopper.stock_read,
                        replica_lag_us: None,
                    });
                }
                self.stats
                    .price_checks
                    .push((product as u32, shopper.shown_price));
            }
            Outcome::OutOfStock => self.stats.rejected_out_of_stock += 1,
            Outcome::Failed(reason) => {
                self.stats.failed += 1;
                self.stats.phases[self.phases.index(ctx.now)].failed += 1;
                match reason {
                    FailReason::Timeout => self.stats.failed_timeout += 1,
                    FailReason::Aborted => self.stats.failed_aborted += 1,
                    FailReason::RetriesExhausted => self.stats.failed_retries += 1,
                }
            }
        }
    }

    /// The shopper leaves before checking out.
    fn leave(&mut self, s: ShopperRef, count: impl FnOnce(&mut AppStats)) {
        self.shoppers.remove(s).expect("live shopper");
        count(&mut self.stats);
    }
}

impl App {
    /// Profile session number `n` starts: its user updates their email on the primary.
    pub fn start_session(&mut self, ctx: &mut Ctx, n: u64) {
        let mut rng = SimRng::stream(self.seed, StreamId::new("profile-session", n));
        let row = self.first_profile_row + rng.below(u64::from(self.profiles.users)) as u32;
        let session = Session {
            row,
            rng,
            written_version: 0,
            written_lsn: 0,
            seen_version: 0,
            reads_left: self.profiles.reads_after_write,
            sticky_until: SimTime::ZERO,
            read_started: SimTime::ZERO,
            new_value: n as i64 + 1,
            process: self.new_process(|| format!("session-{n}")),
        };
        let value = session.new_value;
        self.stats.profile.sessions += 1;
        let s = self.sessions.insert(session);
        self.request(
            ctx,
            s,
            Purpose::Profile,
            Stage::Direct,
            NodeId::PRIMARY,
            Op::WriteProfile { row, value },
            None,
        );
    }

    /// Time for the session's next read of its own profile.
    pub fn profile_read(&mut self, ctx: &mut Ctx, s: SessionRef) {
        let session = self.sessions.get_mut(s).expect("live session");
        session.read_started = ctx.now;
        let (row, lsn) = (session.row, session.written_lsn);
        let to_primary = match self.profile_reads {
            ProfileReads::Primary => true,
            ProfileReads::StickyPrimary => ctx.now < session.sticky_until,
            ProfileReads::Replica | ProfileReads::SessionToken => false,
        };
        let (to, op) = if to_primary {
            (NodeId::PRIMARY, Op::Read { row })
        } else if self.profile_reads == ProfileReads::SessionToken {
            (self.pick_replica(), Op::ReadAtLeast { row, lsn })
        } else {
            (self.pick_replica(), Op::Read { row })
        };
        self.request(ctx, s, Purpose::Profile, Stage::Direct, to, op, None);
    }

    fn profile_answer(&mut self, ctx: &mut Ctx, s: SessionRef, at_primary: bool, answer: Answer) {
        let window = self.profiles.sticky_window_us;
        let session = self.sessions.get_mut(s).expect("live session");
        match answer {
            Answer::Written { lsn, version } => {
                self.stats.profile.writes += 1;
                session.written_version = version;
                session.written_lsn = lsn;
                session.sticky_until = ctx.now.after(window);
                let redirect = self.profiles.redirect_time.sample(&mut session.rng);
                ctx.fx.after(redirect, Event::ProfileRead(s));
            }
            Answer::TooStale => {
                // The replica has not applied our write yet: ask the primary instead.
                self.stats.profile.token_fallbacks += 1;
                let row = session.row;
                self.request(
                    ctx,
                    s,
                    Purpose::Profile,
                    Stage::Direct,
                    NodeId::PRIMARY,
                    Op::Read { row },
                    None,
                );
            }
            Answer::Row { version, .. } => {
                let p = &mut self.stats.profile;
                p.reads += 1;
                p.reads_at_primary += u64::from(at_primary);
                p.read_latency_us
                    .record(ctx.now.since(session.read_started));
                p.ryw_violations += u64::from(version < session.written_version);
                p.monotonic_read_violations += u64::from(version < session.seen_version);
                session.seen_version = session.seen_version.max(version);
                session.reads_left -= 1;
                if session.reads_left == 0 {
                    self.sessions.remove(s).expect("live session");
                } else {
                    let gap = self.profiles.read_gap.sample(&mut session.rng);
                    ctx.fx.after(gap, Event::ProfileRead(s));
                }
            }
            other => unreachable!("a profile request does not answer {other:?}"),
        }
    }
}

/// The stream for one draw of a checkout attempt, derived from the shopper's arrival number and
/// its retry count, so that the same shopper draws the same work time and backoff in every
/// variant (common random numbers), whatever other shoppers are doing.
fn attempt_rng(seed: u64, label: &'static str, shopper: &Shopper) -> SimRng {
    // max_retries is at most 1000 < 2^10, so (number, retries) pairs never collide.
    let index = shopper.number << 10 | u64::from(shopper.checkout.retries);
    SimRng::stream(seed, StreamId::new(label, index))
}
