//! The validated scenario: plain Rust values in simulation units (µs, counts, probabilities),
//! checked across fields. The model consumes only these; no serde type gets past the loader.

use crate::engine::{Dist, SimTime};

/// A node of the simulated network. The first three are fixed; replicas follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u16);

impl NodeId {
    /// The application servers, where every shopper's requests start.
    pub const APP: NodeId = NodeId(0);
    pub const PRIMARY: NodeId = NodeId(1);
    pub const CACHE: NodeId = NodeId(2);
    /// The `i`-th replica (0-based).
    pub const fn replica(i: usize) -> NodeId {
        NodeId(3 + i as u16)
    }
    /// The replica index of this node, if it is a replica.
    pub fn replica_index(self) -> Option<usize> {
        (self.0 >= 3).then(|| usize::from(self.0 - 3))
    }
}

/// A whole scenario file: shared identity, and one fully resolved configuration per variant.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub variants: Vec<Variant>,
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
    pub config: Config,
}

/// Where a read is served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadSource {
    Primary,
    Replica,
    Cache,
    /// A replica while the lag monitor is quiet, the primary while it is alerting.
    LagAware,
}

impl ReadSource {
    pub const ALL: [(&'static str, ReadSource); 4] = [
        ("primary", ReadSource::Primary),
        ("replica", ReadSource::Replica),
        ("cache", ReadSource::Cache),
        ("lag-aware", ReadSource::LagAware),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .expect("listed")
    }
}

/// How a user's profile reads are routed after the user writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileReads {
    /// Always a replica, round-robin.
    Replica,
    /// The primary for `profiles.sticky_window` after the user's last write, else a replica.
    StickyPrimary,
    /// A replica that has applied the log position of the user's last write; if the replica
    /// has not, the read is retried on the primary.
    SessionToken,
    /// Always the primary.
    Primary,
}

impl ProfileReads {
    pub const ALL: [(&'static str, ProfileReads); 4] = [
        ("replica", ProfileReads::Replica),
        ("sticky-primary", ProfileReads::StickyPrimary),
        ("session-token", ProfileReads::SessionToken),
        ("primary", ProfileReads::Primary),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .expect("listed")
    }
}

/// The checkout strategies; each has its own file under `src/strategy/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckoutKind {
    ReplicaRead,
    CacheRead,
    PrimaryRead,
    PessimisticLock,
    Optimistic,
    ConditionalDecrement,
    LagAware,
}

impl CheckoutKind {
    pub const ALL: [(&'static str, CheckoutKind); 7] = [
        ("replica-read", CheckoutKind::ReplicaRead),
        ("cache-read", CheckoutKind::CacheRead),
        ("primary-read", CheckoutKind::PrimaryRead),
        ("pessimistic-lock", CheckoutKind::PessimisticLock),
        ("optimistic", CheckoutKind::Optimistic),
        ("conditional-decrement", CheckoutKind::ConditionalDecrement),
        ("lag-aware", CheckoutKind::LagAware),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .expect("listed")
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

/// When the primary answers a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicationMode {
    /// At once; replicas catch up later (available, may be stale).
    Async,
    /// Only once `sync_acks` replicas have acknowledged receiving the commit (consistent; a
    /// partition blocks commits).
    Sync,
    /// Like `Sync`, but a commit waiting longer than `ack_timeout` is answered anyway and the
    /// primary falls back to async until enough replicas have caught up (MySQL semi-sync).
    SemiSync,
}

impl ReplicationMode {
    pub const ALL: [(&'static str, ReplicationMode); 3] = [
        ("async", ReplicationMode::Async),
        ("sync", ReplicationMode::Sync),
        ("semi-sync", ReplicationMode::SemiSync),
    ];
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

impl Config {
    /// Every node's name, indexed by `NodeId.0`.
    pub fn node_names(&self) -> Vec<&str> {
        let mut names = vec!["app", "primary", "cache"];
        names.extend(self.replicas.iter().map(|r| r.name.as_str()));
        names
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
}
