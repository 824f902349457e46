//! The application tier: shoppers and profile sessions, their requests in flight, the read paths
//! (direct and cache-aside), the checkout strategy or saga orchestrator, and the lag-aware router.
//!
//! Every shopper's choices (product, whether to buy, think time, quantity) are drawn at arrival
//! from a stream of its own, derived from the root seed and its arrival number, so they are the
//! same in every variant (common random numbers). Replica reads go round-robin over the replicas.
//! A request with no reply after `request_timeout` fails for the client; a late reply is dropped.
//!
//! This module owns the requests in flight and how their replies are used; `shop` owns shoppers
//! and their checkouts, `profile` the profile sessions. The app reports what clients did and saw
//! as observations (a request sent, closed, a checkout confirmed); it judges nothing itself.

mod profile;
mod shop;

use super::message::{Answer, Body, Message, Op, ReqRef};
use super::metrics::{PhaseCounts, Phases};
use super::node::{Node, NodeFault, Notice, Observation, Out, ProcessName};
use super::orchestrator::{Orchestrator, SagaRef};
use super::saga;
use crate::engine::{Histogram, Key, Keyed, SimTime, Slab};
use crate::history::ProcessId;
use crate::scenario::{
    CheckoutParams, NodeId, ProfileReads, Profiles, ReadSource, Shoppers, Topology, Variant,
};
use crate::strategy::Strategy;
use rand::distr::weighted::WeightedIndex;

pub use profile::SessionRef;
pub use shop::ShopperRef;

/// Why a request was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A product page's stock read.
    Page,
    /// A checkout's statement (its stock read, or its write).
    Checkout,
    /// A profile session's write or read.
    Profile,
}

/// The app tier's timers.
#[derive(Clone, Copy, Debug)]
pub enum AppTimer {
    /// The shopper's think time is over: check out.
    ShopperWakes(ShopperRef),
    /// An optimistic checkout's backoff is over: try again.
    RetryCheckout(ShopperRef),
    /// The application's work between a checkout's read and its write is done.
    CheckoutWorkDone(ShopperRef),
    /// A profile session reads its own profile.
    ProfileRead(SessionRef),
    /// A request has waited `request_timeout` (ignored if it was answered).
    RequestTimeout(ReqRef),
    /// A saga request got no reply in time (ignored if `ticket` is no longer current).
    SagaTimeout { saga: SagaRef, ticket: u32 },
    /// A saga's retry backoff is over.
    SagaRetry(SagaRef),
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
struct Request {
    /// The shopper, or the profile session, that sent it.
    owner: Key,
    purpose: Purpose,
    stage: Stage,
    /// Sent to the primary (profile reads count where they were served).
    at_primary: bool,
    /// The phase it was sent in.
    phase: u8,
}

/// What the app tier counts.
#[derive(Clone, Debug)]
pub struct AppStats {
    pub shoppers: u64,
    pub browsed_only: u64,
    pub left_sold_out: u64,
    pub page_failed: u64,
    pub checkouts: u64,
    pub confirmed: u64,
    pub rejected_out_of_stock: u64,
    pub failed: u64,
    pub failed_timeout: u64,
    pub failed_aborted: u64,
    pub failed_retries: u64,
    pub retries: u64,
    pub timeouts: u64,
    pub late_replies: u64,
    pub units_sold: Vec<i64>,
    pub checkout_latency_us: Histogram,
    pub phases: [PhaseCounts; 3],
    pub profile: ProfileCounts,
}

/// What profile sessions saw.
#[derive(Clone, Debug, Default)]
pub struct ProfileCounts {
    pub sessions: u64,
    pub sessions_failed: u64,
    pub writes: u64,
    pub reads: u64,
    pub reads_at_primary: u64,
    pub ryw_violations: u64,
    pub monotonic_read_violations: u64,
    pub token_fallbacks: u64,
    pub read_latency_us: Histogram,
}

impl AppStats {
    fn new(products: usize) -> Self {
        Self {
            shoppers: 0,
            browsed_only: 0,
            left_sold_out: 0,
            page_failed: 0,
            checkouts: 0,
            confirmed: 0,
            rejected_out_of_stock: 0,
            failed: 0,
            failed_timeout: 0,
            failed_aborted: 0,
            failed_retries: 0,
            retries: 0,
            timeouts: 0,
            late_replies: 0,
            units_sold: vec![0; products],
            checkout_latency_us: Histogram::new(),
            phases: [PhaseCounts::default(); 3],
            profile: ProfileCounts::default(),
        }
    }
}

/// How the variant checks out.
enum Checkouts {
    /// Statement by statement against the primary, as the strategy says.
    Statements(Strategy),
    /// As sagas (or two-phase commit) across the three services.
    Saga(Box<Orchestrator<ShopperRef>>),
}

pub struct App {
    topology: Topology,
    config: Shoppers,
    checkout: CheckoutParams,
    checkouts: Checkouts,
    page: ReadSource,
    fill_from: ReadSource,
    /// The shoppers' choices: which product (by popularity), how many units.
    popularity: WeightedIndex<u64>,
    quantities: WeightedIndex<u64>,
    /// Each shopper's, and each profile session's, own randomness (by arrival number), and each
    /// checkout attempt's work time and retry backoff (by shopper and attempt).
    shopper_draws: Keyed,
    session_draws: Keyed,
    work_draws: Keyed,
    backoff_draws: Keyed,
    next_replica: usize,
    next_txn: u64,
    next_process: u32,
    shoppers: Slab<shop::Shopper>,
    requests: Slab<Request>,
    /// The lag monitor is alerting: `lag-aware` reads go to the primary.
    route_to_primary: bool,
    phases: Phases,
    profiles: Profiles,
    profile_reads: ProfileReads,
    first_profile_row: u32,
    sessions: Slab<profile::Session>,
    prices: Vec<i64>,
    pub stats: AppStats,
}

impl App {
    pub fn new(variant: &Variant, seed: u64, phases: Phases) -> Self {
        let config = &variant.config;
        let topology = config.topology.clone();
        let checkouts = match (Strategy::of(variant.checkout), variant.saga, &config.saga) {
            (Some(strategy), _, _) => Checkouts::Statements(strategy),
            (None, Some(policy), Some(saga)) => Checkouts::Saga(Box::new(Orchestrator::new(
                &topology,
                policy,
                saga.clone(),
                seed,
            ))),
            (None, ..) => unreachable!("the loader gives a saga checkout its policy and [saga]"),
        };
        Self {
            topology,
            config: config.shoppers.clone(),
            checkout: config.checkout.clone(),
            checkouts,
            page: variant.page,
            fill_from: config.cache.fill_from,
            popularity: weights(config.products.iter().map(|p| p.popularity)),
            quantities: weights(config.shoppers.quantity_weights.iter().copied()),
            shopper_draws: Keyed::new(seed, "shopper"),
            session_draws: Keyed::new(seed, "profile-session"),
            work_draws: Keyed::new(seed, "checkout-work"),
            backoff_draws: Keyed::new(seed, "checkout-backoff"),
            next_replica: 0,
            next_txn: 1,
            next_process: 0,
            shoppers: Slab::default(),
            requests: Slab::default(),
            route_to_primary: false,
            phases,
            profiles: config.profiles.clone(),
            profile_reads: variant.profile_reads,
            first_profile_row: config.products.len() as u32,
            sessions: Slab::default(),
            prices: config.products.iter().map(|p| p.price_cents).collect(),
            stats: AppStats::new(config.products.len()),
        }
    }

    /// The saga orchestrator, for a saga variant.
    pub fn orchestrator(&self) -> Option<&Orchestrator<ShopperRef>> {
        match &self.checkouts {
            Checkouts::Saga(o) => Some(o),
            Checkouts::Statements(_) => None,
        }
    }

    fn orchestrator_mut(&mut self) -> &mut Orchestrator<ShopperRef> {
        match &mut self.checkouts {
            Checkouts::Saga(o) => o,
            Checkouts::Statements(_) => unreachable!("a saga variant"),
        }
    }

    /// The run is over: every request still waiting is reported, in slot order.
    pub fn finish(&self, out: &mut Out) {
        for req in self.requests.keys() {
            out.observe(Observation::Unfinished { req });
        }
    }

    /// A new client process, with its name for the history.
    fn new_process(&mut self, name: ProcessName, out: &mut Out) -> ProcessId {
        let process = ProcessId(self.next_process);
        self.next_process += 1;
        out.observe(Observation::ProcessStarted { process, name });
        process
    }

    fn pick_replica(&mut self) -> NodeId {
        let r = self.topology.replica(self.next_replica);
        self.next_replica = (self.next_replica + 1) % self.topology.replica_count().max(1);
        r
    }

    /// Where a read from `source` goes, and how its reply is used.
    fn route(&mut self, source: ReadSource) -> (NodeId, Stage) {
        match source {
            ReadSource::Primary => (self.topology.primary(), Stage::Direct),
            ReadSource::Replica => (self.pick_replica(), Stage::Direct),
            ReadSource::Cache => (self.topology.cache(), Stage::CacheGet),
            ReadSource::LagAware if self.route_to_primary => {
                (self.topology.primary(), Stage::Direct)
            }
            ReadSource::LagAware => (self.pick_replica(), Stage::Direct),
        }
    }

    /// Sends `op` for `owner` (a shopper or a session) to `to`; `continues`: it goes on with the
    /// client operation of the request just closed (a cache miss's fill).
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        now: SimTime,
        owner: Key,
        purpose: Purpose,
        stage: Stage,
        to: NodeId,
        op: Op,
        continues: bool,
        out: &mut Out,
    ) {
        let (process, qty, tag) = if purpose == Purpose::Profile {
            self.session_sends(owner)
        } else {
            self.shopper_sends(owner, purpose, to, op)
        };
        let phase = self.phases.index(now);
        self.stats.phases[phase].requests += 1;
        let req = self.requests.insert(Request {
            owner,
            purpose,
            stage,
            at_primary: to == self.topology.primary(),
            phase: phase as u8,
        });
        out.observe(Observation::Sent {
            req,
            purpose,
            process,
            op,
            qty,
            continues,
        });
        out.after_fixed(
            self.config.request_timeout_us,
            AppTimer::RequestTimeout(req),
        );
        out.send(to, tag, Body::Request { req: Some(req), op });
    }

    fn on_reply(&mut self, now: SimTime, req: ReqRef, answer: Answer, out: &mut Out) {
        let Some(request) = self.requests.remove(req) else {
            self.stats.late_replies += 1;
            return;
        };
        out.observe(Observation::Closed {
            req,
            answer: Some(answer),
        });
        let s = request.owner;
        if request.purpose == Purpose::Profile {
            return self.profile_answer(now, s, request.at_primary, answer, out);
        }
        match (request.stage, answer) {
            (Stage::CacheGet, Answer::Miss) => self.read_for_fill(now, s, request.purpose, out),
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
                let cache = self.topology.cache();
                let tag = self.shopper_tag(s);
                out.send(cache, tag, Body::Request { req: None, op: set });
                self.shopper_answer(now, s, request.purpose, answer, out);
            }
            _ => self.shopper_answer(now, s, request.purpose, answer, out),
        }
    }

    /// A cache miss: read the database (`cache.fill_from`), then fill the cache.
    fn read_for_fill(&mut self, now: SimTime, s: ShopperRef, purpose: Purpose, out: &mut Out) {
        let row = self.shoppers.get(s).expect("live shopper").product;
        let to = match self.fill_from {
            ReadSource::Replica => self.pick_replica(),
            _ => self.topology.primary(),
        };
        let op = Op::Read { row };
        self.request(now, s, purpose, Stage::Fill, to, op, true, out);
    }

    fn on_timeout(&mut self, now: SimTime, req: ReqRef, out: &mut Out) {
        let Some(request) = self.requests.remove(req) else {
            return;
        };
        out.observe(Observation::Closed { req, answer: None });
        self.stats.timeouts += 1;
        self.stats.phases[usize::from(request.phase)].timeouts += 1;
        match request.purpose {
            Purpose::Page => self.leave(request.owner, |st| st.page_failed += 1, out),
            Purpose::Checkout => self.checkout_timed_out(now, request.owner, out),
            Purpose::Profile => {
                let session = self.sessions.remove(request.owner).expect("live session");
                out.observe(Observation::ProcessEnded {
                    process: session.process,
                });
                self.stats.profile.sessions_failed += 1;
            }
        }
    }
}

impl Node for App {
    type Timer = AppTimer;

    fn on_message(&mut self, now: SimTime, msg: Message, out: &mut Out) {
        match msg.body {
            Body::Reply { req, answer } => self.on_reply(now, req, answer, out),
            Body::SagaReply {
                saga,
                ticket,
                call,
                answer,
            } => self.on_saga_reply(now, saga, ticket, call, answer, out),
            other => unreachable!("the app tier does not handle {other:?}"),
        }
    }

    fn on_timer(&mut self, now: SimTime, timer: AppTimer, out: &mut Out) {
        match timer {
            AppTimer::ShopperWakes(s) => self.wake(now, s, out),
            AppTimer::RetryCheckout(s) => self.step(now, s, None, out),
            AppTimer::CheckoutWorkDone(s) => self.work_done(now, s, out),
            AppTimer::ProfileRead(s) => self.profile_read(now, s, out),
            AppTimer::RequestTimeout(req) => self.on_timeout(now, req, out),
            AppTimer::SagaTimeout { saga, ticket } => {
                let o = self.orchestrator_mut();
                if let Some((s, outcome)) = o.on_timeout(saga, ticket, out) {
                    self.saga_finished(now, s, outcome, out);
                }
            }
            AppTimer::SagaRetry(saga) => self.orchestrator_mut().on_retry(saga, out),
        }
    }

    /// The app tier's crash is its saga orchestrator's: the servers that run shoppers are
    /// stateless and many; the orchestrator is the one process whose crash loses state.
    fn on_fault(&mut self, now: SimTime, fault: NodeFault, starts: bool, out: &mut Out) {
        assert_eq!(fault, NodeFault::Crash, "the app tier can only crash");
        self.crash_orchestrator(now, starts, out);
    }

    fn is_stale(&self, timer: &AppTimer) -> bool {
        match *timer {
            AppTimer::RequestTimeout(req) => self.requests.get(req).is_none(),
            _ => false,
        }
    }
}

/// A weighted choice among indices (the loader guarantees a positive total).
fn weights(w: impl Iterator<Item = u64>) -> WeightedIndex<u64> {
    WeightedIndex::new(w).expect("weights with a positive total")
}

impl App {
    /// A word from the lag monitor.
    pub fn on_notice(&mut self, notice: Notice) {
        match notice {
            Notice::LagAlert(alerting) => self.route_to_primary = alerting,
        }
    }

    fn on_saga_reply(
        &mut self,
        now: SimTime,
        saga: SagaRef,
        ticket: u32,
        call: saga::Call,
        answer: saga::Answer,
        out: &mut Out,
    ) {
        let o = self.orchestrator_mut();
        if let Some((s, outcome)) = o.on_reply(saga, ticket, call, answer, out) {
            self.saga_finished(now, s, outcome, out);
        }
    }
}
