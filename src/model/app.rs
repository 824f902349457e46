//! The application tier: shoppers, their requests in flight, the read paths (direct and
//! cache-aside), and the checkout strategy that turns replies into the next statement.
//!
//! Every shopper's choices (product, whether to buy, think time, quantity) are drawn at arrival
//! from a stream of its own, derived from the root seed and its arrival number, so they are the
//! same in every variant (common random numbers). Replica reads go round-robin over the replicas.
//! A request with no reply after `request_timeout` fails for the shopper; a late reply is dropped.

use super::metrics::{AppStats, Phases, Purpose};
use super::{Answer, Ctx, Event, Op, ReqRef};
use crate::engine::{Key, SimRng, SimTime, Slab, StreamId};
use crate::scenario::{CheckoutParams, NodeId, ReadSource, Shoppers};
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
    shopper: ShopperRef,
    pub purpose: Purpose,
    stage: Stage,
    /// The phase it was sent in.
    phase: u8,
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
}

impl App {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        config: Shoppers,
        checkout: CheckoutParams,
        strategy: Strategy,
        page: ReadSource,
        fill_from: ReadSource,
        popularity: Vec<u64>,
        replicas: usize,
        phases: Phases,
    ) -> Self {
        let products = popularity.len();
        Self {
            seed,
            config,
            checkout,
            strategy,
            page,
            fill_from,
            popularity,
            replicas,
            next_replica: 0,
            next_txn: 1,
            shoppers: Slab::default(),
            requests: Slab::default(),
            stats: AppStats::new(products),
            route_to_primary: false,
            phases,
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
        self.request(ctx, s, purpose, stage, to, Op::Read { row });
    }

    fn request(
        &mut self,
        ctx: &mut Ctx,
        s: ShopperRef,
        purpose: Purpose,
        stage: Stage,
        to: NodeId,
        op: Op,
    ) {
        let phase = self.phases.index(ctx.now);
        self.stats.phases[phase].requests += 1;
        let req = self.requests.insert(Request {
            shopper: s,
            purpose,
            stage,
            phase: phase as u8,
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
        let s = request.shopper;
        match (request.stage, answer) {
            (Stage::CacheGet, Answer::Miss) => {
                self.read_for_fill(ctx, s, request.purpose);
            }
            (Stage::Fill, Answer::Row { stock, version }) => {
                let row = self.shoppers.get(s).expect("live shopper").product;
                let set = Op::CacheSet {
                    row,
                    stock,
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

    fn read_for_fill(&mut self, ctx: &mut Ctx, s: ShopperRef, purpose: Purpose) {
        let row = self.shoppers.get(s).expect("live shopper").product;
        let to = match self.fill_from {
            ReadSource::Replica => self.pick_replica(),
            _ => NodeId::PRIMARY,
        };
        self.request(ctx, s, purpose, Stage::Fill, to, Op::Read { row });
    }

    pub fn on_timeout(&mut self, ctx: &mut Ctx, req: ReqRef) {
        if let Some(request) = self.requests.remove(req) {
            self.stats.timeouts += 1;
            self.stats.phases[usize::from(request.phase)].timeouts += 1;
            match request.purpose {
                Purpose::Page => self.leave(request.shopper, |st| st.page_failed += 1),
                Purpose::Checkout => self.step(ctx, request.shopper, Some(Reply::TimedOut)),
            }
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx, s: ShopperRef, purpose: Purpose, answer: Answer) {
        match purpose {
            Purpose::Page => {
                let Answer::Row { stock, .. } = answer else {
                    unreachable!("a page read answers a row, got {answer:?}")
                };
                let shopper = *self.shoppers.get(s).expect("live shopper");
                if stock <= 0 && self.config.leave_if_sold_out {
                    self.leave(s, |st| st.left_sold_out += 1);
                } else if !shopper.adds_to_cart {
                    self.leave(s, |st| st.browsed_only += 1);
                } else {
                    ctx.fx.after(shopper.think_us, Event::ShopperWakes(s));
                }
            }
            Purpose::Checkout => {
                let reply = match answer {
                    Answer::Row { stock, version } => Reply::Row { stock, version },
                    Answer::Updated => Reply::Updated,
                    Answer::NotEnoughStock => Reply::NotEnoughStock,
                    Answer::VersionConflict => Reply::VersionConflict,
                    Answer::Aborted => Reply::Aborted,
                    Answer::Miss => unreachable!("cache misses are filled before delivery"),
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
        self.step(ctx, s, None);
    }

    /// An optimistic retry's backoff is over.
    pub fn retry(&mut self, ctx: &mut Ctx, s: ShopperRef) {
        self.step(ctx, s, None);
    }

    /// The application's work between read and write is done: send the write.
    pub fn work_done(&mut self, ctx: &mut Ctx, s: ShopperRef) {
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        let op = shopper.pending.take().expect("a write was pending");
        self.request(
            ctx,
            s,
            Purpose::Checkout,
            Stage::Direct,
            NodeId::PRIMARY,
            op,
        );
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
                    self.request(
                        ctx,
                        s,
                        Purpose::Checkout,
                        Stage::Direct,
                        NodeId::PRIMARY,
                        op,
                    );
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
        }
    }

    /// The shopper leaves before checking out.
    fn leave(&mut self, s: ShopperRef, count: impl FnOnce(&mut AppStats)) {
        self.shoppers.remove(s).expect("live shopper");
        count(&mut self.stats);
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
