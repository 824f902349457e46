//! The validated scenario: plain Rust values in simulation units (µs, counts, probabilities),
//! checked across fields. The model consumes only these; no serde type gets past the loader.

use crate::engine::{Dist, SimTime};

pub use super::topology::{NodeId, Role, ServiceKind, Topology};

/// A whole scenario file: shared identity, and one fully resolved configuration per variant.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub variants: Vec<Variant>,
    /// `[[require]]`: checks that must pass, or the run exits 1.
    pub requirements: Vec<Requirement>,
    /// `[[expect]]`: what `lagsim test` expects of some variants over several seeds (`lagsim run`
    /// does not evaluate them).
    pub expectations: Vec<Expectation>,
    /// `[report]`: what the class-sized table shows.
    pub report: ReportView,
}

/// `[report]`: the scenario's lesson in one line, and the figures that answer its question (the
/// rows of the class-sized table; empty for the default choice).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportView {
    pub lesson: String,
    /// Figure keys as in `[[expect]]` (`oversold_units`, `saga.sagas_stuck`), in table order.
    pub rows: Vec<String>,
}

/// One `[[expect]]` entry: a claim about some variants, judged on every seed of a `lagsim test`
/// run.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The variants it is about, in the order the entry names them (every variant, in file
    /// order, when the entry names none). Never empty.
    pub variants: Vec<String>,
    pub claim: Claim,
    /// On how many of the seeds the claim must hold.
    pub on_seeds: SeedShare,
    /// Why the claim should hold: printed with the result (may be empty).
    pub why: String,
    /// The 1-based line of the entry in the file (0 if it came from a `--set`).
    pub line: usize,
}

/// What an expectation claims of one run of one variant.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// `that = "METRIC OP NUMBER"`: a figure of the run's output compared with a number.
    Figure {
        /// A key of the run's figures (`oversold_units`, `saga.leaked_units`).
        metric: String,
        op: CompareOp,
        value: f64,
    },
    /// `check = "NAME"`: a checker's verdict (narrowed to `keys`) is `verdict`.
    Check {
        check: CheckName,
        /// `true`: the check must pass; `false`: it must fail.
        pass: bool,
        keys: Option<KeyKindName>,
        /// For `bounded-staleness`: the oldest a read may be, in µs.
        max_staleness_us: Option<u64>,
    },
}

impl Claim {
    /// The claim as a student would read it: `oversold_units == 0`, `check linearizability
    /// passes`, `check no-oversell on stock keys fails`.
    pub fn text(&self) -> String {
        match self {
            Claim::Figure { metric, op, value } => format!("{metric} {} {value}", op.name()),
            Claim::Check {
                check, pass, keys, ..
            } => format!(
                "check {}{} {}",
                check.name(),
                keys.map(|k| format!(" on {} keys", k.name()))
                    .unwrap_or_default(),
                if *pass { "passes" } else { "fails" }
            ),
        }
    }
}

/// On how many seeds an expectation must hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeedShare {
    /// Every seed (`on_seeds = "all"`, the default).
    All,
    /// At least this share of the seeds, in (0, 1] (`on_seeds = 0.8`).
    AtLeast(f64),
}

/// A check the scenario requires of some variants (`[[require]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    pub check: CheckName,
    /// The variants it applies to; empty means every variant.
    pub variants: Vec<String>,
    /// Only keys of this kind count; `None`: every key.
    pub keys: Option<KeyKindName>,
    /// For `bounded-staleness`: the oldest a read may be, in µs (default 0: never stale).
    pub max_staleness_us: Option<u64>,
}

impl Requirement {
    pub fn applies_to(&self, variant: &str) -> bool {
        self.variants.is_empty() || self.variants.iter().any(|v| v == variant)
    }
}

/// One named variant: a checkout strategy, a product-page source, and the configuration after the
/// variant's own overrides.
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    pub checkout: CheckoutKind,
    pub page: ReadSource,
    /// How profile reads are routed (only matters with `[profiles]`).
    pub profile_reads: ProfileReads,
    /// With `checkout = "saga"`: what the saga does when a step fails.
    pub saga: Option<SagaPolicy>,
    pub config: Config,
}

/// Declares a fieldless enum together with its spellings in scenario files: `ALL` pairs each
/// spelling with its value, in order (the loader's list of what is allowed), and `name` spells a
/// value back.
macro_rules! spelled_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            pub const ALL: &'static [(&'static str, $name)] = &[$( ($text, $name::$variant), )*];

            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }
        }
    };
}

spelled_enum! {
    /// Where a read is served from.
    pub enum ReadSource {
        Primary = "primary",
        Replica = "replica",
        Cache = "cache",
        /// A replica while the lag monitor is quiet, the primary while it is alerting.
        LagAware = "lag-aware",
    }
}

spelled_enum! {
    /// How a user's profile reads are routed after the user writes.
    pub enum ProfileReads {
        /// Always a replica, round-robin.
        Replica = "replica",
        /// The primary for `profiles.sticky_window` after the user's last write, else a replica.
        StickyPrimary = "sticky-primary",
        /// A replica that has applied the log position of the user's last write; if the replica
        /// has not, the read is retried on the primary.
        SessionToken = "session-token",
        /// Always the primary.
        Primary = "primary",
    }
}

spelled_enum! {
    /// The checkout strategies; each has its own file under `src/strategy/`.
    pub enum CheckoutKind {
        ReplicaRead = "replica-read",
        CacheRead = "cache-read",
        PrimaryRead = "primary-read",
        PessimisticLock = "pessimistic-lock",
        Optimistic = "optimistic",
        ConditionalDecrement = "conditional-decrement",
        LagAware = "lag-aware",
        /// Reserve stock, charge the card, confirm the order: three services, one saga
        /// (`[saga]`); the variant's `saga` key chooses the policy.
        Saga = "saga",
    }
}

spelled_enum! {
    /// How a saga checkout handles a step that failed (docs/design/sagas.md).
    pub enum SagaPolicy {
        /// Nothing is undone: what teams ship first.
        NoCompensation = "no-compensation",
        /// Each compensation is tried once; its failure is swallowed (the article's code).
        BestEffort = "best-effort",
        /// Compensations retried until they succeed; every step idempotent by the order id; a
        /// durable saga log, resumed after an orchestrator crash.
        Reliable = "reliable",
        /// Prepare on all three services, then commit or abort: atomic, but prepared
        /// participants hold their locks while the coordinator decides.
        TwoPhaseCommit = "two-phase-commit",
    }
}

spelled_enum! {
    /// The checkers of a history, by the names the output and `[[require]]` use.
    pub enum CheckName {
        Linearizability = "linearizability",
        ReadYourWrites = "read-your-writes",
        MonotonicReads = "monotonic-reads",
        MonotonicWrites = "monotonic-writes",
        WritesFollowReads = "writes-follow-reads",
        BoundedStaleness = "bounded-staleness",
        NoOversell = "no-oversell",
        StockNeverNegative = "stock-never-negative",
        Conservation = "conservation",
    }
}

spelled_enum! {
    /// The kinds of key a requirement can be narrowed to.
    pub enum KeyKindName {
        /// Products' stock.
        Stock = "stock",
        /// Users' profiles.
        Profile = "profile",
    }
}

/// Everything one run needs, in simulation units.
#[derive(Clone, Debug)]
pub struct Config {
    /// Shoppers arrive during [0, traffic_end).
    pub traffic_end: SimTime,
    /// No event may be due after this instant; the run must have drained by then.
    pub horizon: SimTime,
    pub max_events: u64,
    /// `[engine] background`: how background reads and writes are simulated.
    pub background_mode: BackgroundMode,
    /// The nodes: their ids by role, and their names.
    pub topology: Topology,
    pub network: Network,
    pub primary: Primary,
    pub replicas: Vec<Replica>,
    pub cache: Cache,
    pub shoppers: Shoppers,
    pub traffic: Traffic,
    pub background: Background,
    pub products: Vec<Product>,
    pub checkout: CheckoutParams,
    pub faults: Vec<Fault>,
    /// The replica-lag monitor, if the scenario has one.
    pub monitor: Option<Monitor>,
    /// If set, replicas and caches must match the primary within this long after writes stop
    /// and the last fault heals, or the run fails.
    pub converge_within_us: Option<u64>,
    pub replication: Replication,
    pub profiles: Profiles,
    pub price_changes: Vec<PriceChange>,
    /// `[saga]`: the services a saga checkout spans; `None` without the section.
    pub saga: Option<Saga>,
}

/// `[saga]`: checkout as a saga across an inventory, a payment and an order service.
#[derive(Clone, Debug, PartialEq)]
pub struct Saga {
    pub inventory: SagaService,
    pub payment: SagaService,
    pub order: SagaService,
    /// The orchestrator gives up waiting for a step's reply after this long.
    pub step_timeout_us: u64,
    /// Attempts of a forward step before it counts as failed (at least 1).
    pub max_attempts: u32,
    pub retry_backoff: Dist,
    /// Between attempts of a compensation (`reliable`) or of delivering a two-phase-commit
    /// decision.
    pub compensation_backoff: Dist,
    /// Each further attempt of the same request multiplies its drawn backoff by this (1: the
    /// backoff does not grow), up to `max_backoff_us`.
    pub backoff_multiplier: f64,
    pub max_backoff_us: u64,
    /// A compensation attempt (release, refund) fails without effect.
    pub compensation_failure_probability: f64,
    /// An order's card is declined (every attempt of that order).
    pub decline_probability: f64,
}

/// One service of a saga: a pool of workers with a FIFO queue.
#[derive(Clone, Debug, PartialEq)]
pub struct SagaService {
    pub service_time: Dist,
    pub workers: u32,
    /// A request answers an error and has no effect.
    pub failure_probability: f64,
    /// A request takes effect but its reply is lost.
    pub lost_reply_probability: f64,
}

/// Users who update their profile and then read it back (read-your-writes).
#[derive(Clone, Debug)]
pub struct Profiles {
    /// Sessions starting per second during the traffic window (0: no profile traffic).
    pub sessions_per_s: f64,
    /// Accounts a session picks its user from, uniformly.
    pub users: u32,
    /// From the write's acknowledgement to the first read (the redirect).
    pub redirect_time: Dist,
    pub reads_after_write: u32,
    pub read_gap: Dist,
    pub sticky_window_us: u64,
}

spelled_enum! {
    /// When the primary answers a commit.
    pub enum ReplicationMode {
        /// At once; replicas catch up later (available, may be stale).
        Async = "async",
        /// Only once `sync_acks` replicas have acknowledged receiving the commit (consistent; a
        /// partition blocks commits).
        Sync = "sync",
        /// Like `Sync`, but a commit waiting longer than `ack_timeout` is answered anyway and the
        /// primary falls back to async until enough replicas have caught up (MySQL semi-sync).
        SemiSync = "semi-sync",
    }
}

spelled_enum! {
    /// How the background load (reads on the replicas that nobody looks at, writes nobody
    /// waits for) is simulated.
    pub enum BackgroundMode {
        /// One event for each read's arrival, delivery and end, and for each write's arrival,
        /// delivery and commit: the reference path.
        Events = "events",
        /// As arithmetic: reads on the replicas' stations, advanced to each event that could
        /// see them; writes up to their commit as the model's own work at their instants. The
        /// same draws and the same figures, without their events.
        Lazy = "lazy",
    }
}

#[derive(Clone, Debug)]
pub struct Replication {
    pub mode: ReplicationMode,
    /// Replica acknowledgements a commit waits for (1..=replicas).
    pub sync_acks: usize,
    pub ack_timeout_us: u64,
}

/// A monitor that polls every replica's reported lag and raises an alert above a threshold.
#[derive(Clone, Debug)]
pub struct Monitor {
    pub sample_every_us: u64,
    pub threshold_us: u64,
}

impl Shoppers {
    /// The product page's stock badge: 0 out of stock, 1 low stock, 2 in stock.
    pub fn badge(&self, stock: i64) -> u8 {
        if stock <= 0 {
            0
        } else if stock <= self.low_stock_threshold {
            1
        } else {
            2
        }
    }
}

#[derive(Clone, Debug)]
pub struct Network {
    /// Latency of any directed pair without a link of its own.
    pub default_latency: Dist,
    /// Directed links (a symmetric link in the file becomes two).
    pub links: Vec<Link>,
}

#[derive(Clone, Debug)]
pub struct Link {
    pub from: NodeId,
    pub to: NodeId,
    pub latency: Dist,
}

#[derive(Clone, Debug)]
pub struct Primary {
    /// Statements executed at once; the rest wait in FIFO order.
    pub workers: u32,
    pub read_time: Dist,
    pub write_time: Dist,
    /// A statement waiting for a row lock longer than this fails with a lock timeout.
    pub lock_timeout_us: u64,
    /// A transaction holding locks with no statement for longer than this is rolled back.
    pub txn_idle_timeout_us: u64,
}

#[derive(Clone, Debug)]
pub struct Replica {
    pub name: String,
    /// Work items (reads, and the applier's next entry) executed at once.
    pub workers: u32,
    pub read_time: Dist,
    pub apply_time: Dist,
}

#[derive(Clone, Debug)]
pub struct Cache {
    pub ttl_us: u64,
    /// The primary sends an invalidation to the cache on every commit of a cached row.
    pub invalidate_on_write: bool,
    /// The primary flushes every product key from the cache (tag-based) on every product commit.
    pub flush_all_on_write: bool,
    /// Time the cache takes to answer a get or a set.
    pub op_time: Dist,
    /// Where a cache miss is filled from.
    pub fill_from: ReadSource,
}

#[derive(Clone, Debug)]
pub struct Shoppers {
    /// A request with no answer after this long fails.
    pub request_timeout_us: u64,
    pub add_to_cart_probability: f64,
    pub think_time: Dist,
    /// Weight of ordering quantity i+1.
    pub quantity_weights: Vec<u64>,
    /// A shopper whose product page shows 0 in stock leaves without checking out.
    pub leave_if_sold_out: bool,
    /// The page's stock badge says "low stock" at or below this many units ("out" at 0).
    pub low_stock_threshold: i64,
}

/// Piecewise-linear shopper arrival rate: (time, shoppers per second) points, the first at 0,
/// strictly increasing in time; the rate after the last point stays at its value.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub points: Vec<(SimTime, f64)>,
}

#[cfg(test)]
impl Traffic {
    /// A profile from (second, shoppers per second) points, for tests.
    pub fn from_secs(points: &[(u64, f64)]) -> Self {
        Traffic {
            points: points
                .iter()
                .map(|&(s, r)| (SimTime::from_secs(s), r))
                .collect(),
        }
    }
}

/// Load from the rest of the store, not modelled shopper by shopper.
#[derive(Clone, Debug)]
pub struct Background {
    pub writes_per_s: f64,
    /// Extra write rate per unit of shopper arrival rate.
    pub writes_per_shopper: f64,
    pub reads_per_s: f64,
    pub reads_per_shopper: f64,
    /// Rows the background writes spread over (they never touch products).
    pub rows: u32,
}

#[derive(Clone, Debug)]
pub struct Product {
    pub name: String,
    pub stock: i64,
    /// Price in cents.
    pub price_cents: i64,
    pub popularity: u64,
}

/// Marketing changes a product's price at a set time (a write from the app to the primary).
#[derive(Clone, Debug)]
pub struct PriceChange {
    pub at: SimTime,
    pub product: usize,
    pub price_cents: i64,
}

#[derive(Clone, Debug)]
pub struct CheckoutParams {
    /// Optimistic checkout: version conflicts retried at most this many times.
    pub max_retries: u32,
    pub retry_backoff: Dist,
    /// Application work between a checkout's read and its write (pricing, fraud checks): the
    /// race window of check-then-act, and time a pessimistic lock is held.
    pub work_time: Dist,
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub start: SimTime,
    pub end: SimTime,
    pub kind: FaultKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Messages from `from` to `to` are lost (both ways if `both_ways`).
    Partition {
        from: NodeId,
        to: NodeId,
        both_ways: bool,
    },
    /// The replica's applier stops; it still serves reads.
    PauseReplica { replica: usize },
    /// The replica's apply time is multiplied by `factor`.
    SlowReplica { replica: usize, factor: f64 },
    /// The replica is down: messages to and from it are lost, its reads in progress are dropped,
    /// its applier stops; the primary holds its replication stream. On restart it resumes from
    /// its durable relay log and the held stream catches it up.
    CrashReplica { replica: usize },
    /// The cache is down: requests to it are lost; on restart it is empty (cold).
    CrashCache,
    /// The saga orchestrator is down: replies to it are lost, no saga advances and no checkout
    /// starts. On restart, a policy with a durable saga log (`reliable`) resumes every saga from
    /// its current step; the others have lost the sagas they were running.
    CrashOrchestrator,
}

spelled_enum! {
    /// How a figure is compared with the number of an expectation.
    pub enum CompareOp {
        Eq = "==",
        Ne = "!=",
        Le = "<=",
        Ge = ">=",
        Lt = "<",
        Gt = ">",
    }
}

impl CompareOp {
    /// Whether `x OP y` holds.
    pub fn holds(self, x: f64, y: f64) -> bool {
        match self {
            CompareOp::Eq => x == y,
            CompareOp::Ne => x != y,
            CompareOp::Le => x <= y,
            CompareOp::Ge => x >= y,
            CompareOp::Lt => x < y,
            CompareOp::Gt => x > y,
        }
    }
}
