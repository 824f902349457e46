//! The nodes of one run, built from the variant, and dispatch to them by role: the router's
//! switchboard. Also the read-only [`View`] of their state that observers may sample.

use super::app::App;
use super::cache::Cache;
use super::message::{Body, Message, RowView};
use super::metrics::Phases;
use super::monitor::{Monitor, MonitorTimer};
use super::network::Network;
use super::node::{Node, NodeFault, Out, Timer};
use super::observe::{Counters, Gauges};
use super::primary::{Invalidation, Primary, Rows};
use super::replica::{Replica, Status};
use super::services::ServiceNodes;
use crate::engine::{Keyed, SimTime};
use crate::scenario::{
    CheckoutKind, Config, FaultKind, NodeId, ReadSource, ReplicationMode, Role, Topology, Variant,
};

pub struct Nodes {
    pub app: App,
    pub primary: Primary,
    pub cache: Cache,
    pub replicas: Vec<Replica>,
    /// The saga services, in scenarios with `[saga]`.
    pub services: Option<ServiceNodes>,
    /// The lag monitor, in scenarios with `[monitor]`.
    pub monitor: Option<Monitor>,
    /// The replicas' status at the monitor's poll (kept to reuse its allocation).
    statuses: Vec<Status>,
    first_background_row: u32,
}

/// Rows for the users of profile sessions: none without profile traffic.
fn profile_rows(config: &Config) -> u32 {
    if config.profiles.sessions_per_s > 0.0 {
        config.profiles.users
    } else {
        0
    }
}

/// What the primary tells the cache when a product commits: only a variant that reads the cache
/// has one to tell.
fn invalidation(variant: &Variant) -> Invalidation {
    let uses_cache =
        variant.page == ReadSource::Cache || variant.checkout == CheckoutKind::CacheRead;
    let c = &variant.config.cache;
    match uses_cache {
        false => Invalidation::None,
        true if c.flush_all_on_write => Invalidation::AllProducts,
        true if c.invalidate_on_write => Invalidation::Row,
        true => Invalidation::None,
    }
}

impl Nodes {
    pub fn new(variant: &Variant, seed: u64, faults_end: SimTime) -> Self {
        let config = &variant.config;
        let topology = &config.topology;
        let stock: Vec<(i64, i64)> = config
            .products
            .iter()
            .map(|p| (p.stock, p.price_cents))
            .collect();
        let profiles = profile_rows(config);
        let rows = Rows {
            products: &stock,
            profiles,
            background: config.background.rows,
        };
        let primary = Primary::new(
            topology,
            config.primary.clone(),
            config.replication.clone(),
            Keyed::new(seed, "primary-service"),
            rows,
            invalidation(variant),
        );
        // Replicas track product and profile rows; background rows only load them.
        let mut tracked: Vec<RowView> = stock
            .iter()
            .map(|&(stock, price)| RowView {
                stock,
                price,
                version: 0,
            })
            .collect();
        tracked.resize(stock.len() + profiles as usize, RowView::default());
        let acks = config.replication.mode != ReplicationMode::Async;
        let replicas = (0..topology.replica_count())
            .map(|i| {
                let c = config.replicas[i].clone();
                let r = Replica::new(topology, i, c, acks, seed, tracked.clone());
                let crashes = config
                    .faults
                    .iter()
                    .any(|f| matches!(f.kind, FaultKind::CrashReplica { replica } if replica == i));
                if crashes { r } else { r.never_crashes() }
            })
            .collect();
        let units: Vec<i64> = config.products.iter().map(|p| p.stock).collect();
        let monitor = config
            .monitor
            .clone()
            .map(|m| Monitor::new(m, config.traffic_end, faults_end, config.horizon));
        Self {
            app: App::new(variant, seed, Phases::of(config)),
            primary,
            cache: Cache::new(config.cache.clone(), seed, stock.len()),
            replicas,
            services: config
                .saga
                .as_ref()
                .map(|saga| ServiceNodes::new(topology, saga, &units, seed)),
            monitor,
            statuses: Vec::with_capacity(topology.replica_count()),
            first_background_row: stock.len() as u32 + profiles,
        }
    }

    /// The first of the rows the background writes spread over (after products and profiles).
    pub fn first_background_row(&self) -> u32 {
        self.first_background_row
    }

    fn services(&mut self) -> &mut ServiceNodes {
        self.services.as_mut().expect("a scenario with [saga]")
    }

    pub fn deliver(&mut self, topology: &Topology, now: SimTime, msg: Message, out: &mut Out) {
        match topology.role(msg.to) {
            Role::App => self.app.on_message(now, msg, out),
            Role::Primary => self.primary.on_message(now, msg, out),
            Role::Cache => self.cache.on_message(now, msg, out),
            Role::Replica(i) => self.replicas[i].on_message(now, msg, out),
            Role::Service(_) => self.services().on_message(now, msg, out),
        }
    }

    pub fn timer(
        &mut self,
        topology: &Topology,
        now: SimTime,
        node: NodeId,
        timer: Timer,
        out: &mut Out,
    ) {
        match (timer, topology.role(node)) {
            (Timer::App(t), _) => self.app.on_timer(now, t, out),
            (Timer::Primary(t), _) => self.primary.on_timer(now, t, out),
            (Timer::Replica(t), Role::Replica(i)) => self.replicas[i].on_timer(now, t, out),
            (Timer::Service(t), _) => self.services().on_timer(now, t, out),
            (t, role) => unreachable!("{role:?} set no timer {t:?}"),
        }
    }

    pub fn is_stale(&self, topology: &Topology, node: NodeId, timer: &Timer) -> bool {
        match (timer, topology.role(node)) {
            (Timer::App(t), _) => self.app.is_stale(t),
            (Timer::Primary(t), _) => self.primary.is_stale(t),
            (Timer::Replica(t), Role::Replica(i)) => self.replicas[i].is_stale(t),
            (Timer::Service(_), _) => false,
            (t, role) => unreachable!("{role:?} set no timer {t:?}"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn fault(
        &mut self,
        topology: &Topology,
        now: SimTime,
        node: NodeId,
        fault: NodeFault,
        starts: bool,
        out: &mut Out,
    ) {
        match topology.role(node) {
            Role::App => self.app.on_fault(now, fault, starts, out),
            Role::Cache => self.cache.on_fault(now, fault, starts, out),
            Role::Replica(i) => self.replicas[i].on_fault(now, fault, starts, out),
            role => unreachable!("no fault strikes {role:?}"),
        }
    }

    /// The lag monitor's timer: it polls every replica's status.
    pub fn monitor_timer(&mut self, now: SimTime, timer: MonitorTimer, out: &mut Out) {
        let monitor = self.monitor.as_mut().expect("a scenario with [monitor]");
        self.statuses.clear();
        self.statuses
            .extend(self.replicas.iter().map(|r| r.status(now)));
        monitor.on_timer(now, timer, &self.statuses, out);
    }
}

/// What observers may read of the nodes at an instant.
pub struct View<'a> {
    pub nodes: &'a Nodes,
    pub network: &'a Network<Message>,
    pub topology: &'a Topology,
    /// Shoppers arrived so far.
    pub shoppers: u64,
}

impl Gauges for View<'_> {
    fn primary_stock(&self, product: u32) -> i64 {
        self.nodes.primary.row(product).stock
    }

    fn replica_stock(&self, replica: usize, product: u32) -> i64 {
        self.nodes.replicas[replica].row(product).stock
    }

    fn cache_stock(&self, product: u32, now: SimTime) -> Option<i64> {
        self.nodes.cache.peek_stock(product, now)
    }

    fn true_lag_us(&self, replica: usize, now: SimTime) -> u64 {
        let reported = self.reported_lag_us(replica, now);
        let link = (self.topology.primary(), self.topology.replica(replica));
        let held = self
            .network
            .held(link.0, link.1)
            .find_map(|m| match m.body {
                Body::Replicate(e) => Some(now.since(e.committed_at)),
                _ => None,
            })
            .unwrap_or(0);
        reported.max(held)
    }

    fn reported_lag_us(&self, replica: usize, now: SimTime) -> u64 {
        self.nodes.replicas[replica].status(now).reported_lag_us
    }

    fn counters(&self) -> Counters {
        let st = &self.nodes.app.stats;
        Counters {
            shoppers: self.shoppers,
            orders_confirmed: st.confirmed,
            orders_failed: st.failed,
            ryw_violations: st.profile.ryw_violations,
            requests: st.phases.iter().map(|p| p.requests).sum(),
            request_timeouts: st.phases.iter().map(|p| p.timeouts).sum(),
        }
    }
}
