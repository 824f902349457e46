//! What a run measured: the [`Metrics`] summary (the stable output interface: every field is
//! documented in docs/output-reference.md, units in the names), assembled once at the end from
//! each node's and observer's own counters ([`Reports`]).

use serde::Serialize;

use super::app::AppStats;
use super::cache::CacheStats;
use super::monitor::Monitor;
use super::observe::Observers;
use super::orchestrator::Orchestrator;
use super::primary::Primary;
use super::replica::Replica;
use super::services::ServiceNodes;
use crate::engine::{Histogram, Key, SimTime};
use crate::scenario::Config;

/// The phases of a run with faults: before the first fault starts, while it lasts, after it
/// ends. A run without faults has one phase, the whole run.
#[derive(Clone, Copy, Debug)]
pub struct Phases {
    pub fault: Option<(SimTime, SimTime)>,
}

impl Phases {
    /// The phases around a configuration's earliest fault (the first listed among equals).
    pub fn of(config: &Config) -> Self {
        Phases {
            fault: config
                .faults
                .iter()
                .min_by_key(|f| f.start)
                .map(|f| (f.start, f.end)),
        }
    }

    pub const NAMES: [&'static str; 3] = ["before", "during", "after"];

    pub fn index(&self, t: SimTime) -> usize {
        match self.fault {
            Some((start, _)) if t < start => 0,
            Some((_, end)) if t < end => 1,
            Some(_) => 2,
            None => 0,
        }
    }
}

/// What happened in one phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseCounts {
    pub requests: u64,
    pub timeouts: u64,
    pub confirmed: u64,
    pub failed: u64,
}

/// Figures for one phase of a run (see [`Phases`]).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PhaseMetrics {
    pub name: &'static str,
    pub start_s: f64,
    /// `null` for the last phase, which lasts to the end of the run.
    pub end_s: Option<f64>,
    pub requests: u64,
    pub request_timeouts: u64,
    pub availability: f64,
    pub orders_confirmed: u64,
    pub orders_failed: u64,
    pub stale_reads: u64,
}

/// Per-replica figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReplicaMetrics {
    pub name: String,
    pub reads: u64,
    pub read_wait_ms_mean: f64,
    pub read_wait_ms_p99: f64,
    pub read_wait_share: f64,
    pub read_latency_ms_mean: f64,
    pub read_latency_ms_p99: f64,
    pub entries_applied: u64,
    pub lag_ms_mean: f64,
    pub lag_ms_p50: f64,
    pub lag_ms_p90: f64,
    pub lag_ms_p99: f64,
    pub lag_ms_p999: f64,
    pub lag_ms_max: f64,
    pub relay_backlog_max: u64,
    pub crashes: u64,
}

/// The summary of one variant's run. Field order is the JSON order. (`Default` is all zeros,
/// for [`Metrics::keys`].)
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Metrics {
    pub shoppers: u64,
    pub browsed_only: u64,
    pub left_shown_sold_out: u64,
    pub page_failed: u64,
    pub checkouts: u64,
    pub orders_confirmed: u64,
    pub orders_rejected_out_of_stock: u64,
    pub orders_failed: u64,
    pub orders_failed_timeout: u64,
    pub orders_failed_aborted: u64,
    pub orders_failed_retries_exhausted: u64,
    pub stock_initial: i64,
    pub units_sold: i64,
    pub oversold_units: i64,
    pub stock_final_primary: i64,
    pub units_decremented_unconfirmed: i64,
    pub stale_reads: u64,
    pub stale_page_reads: u64,
    pub stale_checkout_reads: u64,
    pub staleness_ms_p99: f64,
    pub max_staleness_ms: f64,
    pub replica_lag_ms_mean: f64,
    pub replica_lag_ms_p50: f64,
    pub replica_lag_ms_p90: f64,
    pub replica_lag_ms_p99: f64,
    pub replica_lag_ms_p999: f64,
    pub replica_lag_ms_max: f64,
    pub checkout_latency_ms_p50: f64,
    pub checkout_latency_ms_p99: f64,
    pub checkout_latency_ms_max: f64,
    pub checkout_retries: u64,
    pub lock_waits: u64,
    pub lock_wait_ms_p99: f64,
    pub primary_queries: u64,
    pub primary_commits: u64,
    pub primary_utilisation: f64,
    pub primary_queue_ms_mean: f64,
    pub primary_queue_ms_p99: f64,
    pub primary_queue_wait_share: f64,
    pub replica_queries: u64,
    pub cache_hit_ratio: f64,
    pub db_reads_saved: u64,
    pub stale_price_views: u64,
    pub stale_badge_views: u64,
    pub orders_at_wrong_price: u64,
    pub price_changes: u64,
    pub cache_invalidations: u64,
    pub cache_crashes: u64,
    pub request_timeouts: u64,
    pub availability: f64,
    pub late_replies: u64,
    pub txn_aborts: u64,
    pub messages_lost: u64,
    pub monitor_samples: u64,
    pub lag_alerts: u64,
    pub alert_detect_delay_ms: f64,
    pub alert_detect_delay_ms_max: f64,
    pub lag_alert_active_s: f64,
    pub quiescent_at_s: f64,
    pub converged_at_s: f64,
    pub converged_after_ms: f64,
    pub profile_sessions: u64,
    pub profile_sessions_failed: u64,
    pub profile_reads: u64,
    pub ryw_violations: u64,
    pub monotonic_read_violations: u64,
    pub primary_read_share: f64,
    pub session_token_fallbacks: u64,
    pub profile_read_ms_p50: f64,
    pub profile_read_ms_p99: f64,
    pub commits_waited_for_acks: u64,
    pub ack_wait_ms_p99: f64,
    pub sync_fallbacks: u64,
    pub phases: Vec<PhaseMetrics>,
    pub replicas: Vec<ReplicaMetrics>,
    /// The saga figures, for a variant with `checkout = "saga"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saga: Option<SagaMetrics>,
}

impl Metrics {
    /// Every numeric figure by its JSON key, sorted by key: top-level keys as they are, the saga
    /// figures as `saga.KEY`. Arrays (`phases`, `replicas`) are left out. For sweeps and
    /// expectations, which name a figure by key.
    pub fn numbers(&self) -> Vec<(String, f64)> {
        let value = serde_json::to_value(self).expect("plain data serialises");
        let mut out = Vec::new();
        if let serde_json::Value::Object(top) = value {
            for (key, v) in top {
                match v {
                    serde_json::Value::Number(n) => out.push((key, n.as_f64().unwrap_or(0.0))),
                    serde_json::Value::Object(inner) => {
                        for (k, v) in inner {
                            if let serde_json::Value::Number(n) = v {
                                out.push((format!("{key}.{k}"), n.as_f64().unwrap_or(0.0)));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Every key [`Metrics::numbers`] can give, sorted: the top-level figures and the saga
    /// figures (`saga.KEY`, which only a saga checkout has). For checking a key before a run.
    pub fn keys() -> Vec<String> {
        let all = Metrics {
            saga: Some(SagaMetrics::default()),
            ..Metrics::default()
        };
        all.numbers().into_iter().map(|(k, _)| k).collect()
    }

    /// One numeric figure by the key [`Metrics::numbers`] gives it.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.numbers()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

/// What a saga checkout left behind (docs/design/sagas.md).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct SagaMetrics {
    pub policy: &'static str,
    pub sagas_started: u64,
    /// The order was confirmed.
    pub sagas_completed: u64,
    /// The reservation was refused: nothing was held.
    pub sagas_out_of_stock: u64,
    /// The forward path failed, and at the end the order holds neither stock nor money (checkouts
    /// refused while the orchestrator was down started no saga and are not counted).
    pub sagas_compensated: u64,
    /// At the end, neither confirmed nor holding nothing (or still running).
    pub sagas_stuck: u64,
    pub leaked_reservations: u64,
    pub leaked_units: i64,
    pub charged_without_order: u64,
    pub double_charges: u64,
    pub refunds: u64,
    pub compensations_failed: u64,
    pub compensations_abandoned: u64,
    pub step_timeouts: u64,
    pub service_requests: u64,
    pub replies_lost: u64,
    pub inconsistency_window_ms_p50: f64,
    pub inconsistency_window_ms_p99: f64,
    pub inconsistency_window_ms_max: f64,
    /// Orders still inconsistent at the end of the run (their window runs to the end).
    pub inconsistent_at_end: u64,
    /// Orders the order service confirmed after the orchestrator forgot their saga in a crash:
    /// the customer was told the checkout failed.
    pub confirmed_but_reported_failed: u64,
    pub orchestrator_crashes: u64,
    /// Sagas a crash made the orchestrator forget (no saga log).
    pub sagas_lost_in_crash: u64,
    /// Checkouts refused while the orchestrator was down.
    pub checkouts_refused_while_down: u64,
    /// Two-phase commit (0 under the saga policies): prepares that waited for a product's row
    /// lock, how long they waited, and how long each lock was held from prepare to decision.
    pub lock_waits: u64,
    pub lock_wait_ms_p99: f64,
    pub lock_wait_ms_max: f64,
    pub lock_hold_ms_p50: f64,
    pub lock_hold_ms_p99: f64,
    pub lock_hold_ms_max: f64,
}

/// Microseconds to milliseconds, rounded to 3 decimals so JSON stays short and stable.
pub fn ms(us: f64) -> f64 {
    libm::round(us) / 1_000.0
}

/// A ratio rounded to 6 decimals.
pub fn ratio(x: f64) -> f64 {
    libm::round(x * 1e6) / 1e6
}

/// Everything the metrics are assembled from: each node's and observer's own report.
pub struct Reports<'a> {
    pub config: &'a Config,
    pub app: &'a AppStats,
    pub orchestrator: Option<&'a Orchestrator<Key>>,
    pub primary: &'a mut Primary,
    pub replicas: &'a [Replica],
    pub cache: &'a CacheStats,
    pub monitor: Option<&'a Monitor>,
    pub services: Option<&'a mut ServiceNodes>,
    pub messages_lost: u64,
    pub observers: &'a mut Observers,
    /// When the last fault ends.
    pub faults_end: SimTime,
}

/// The summary of a run that ended at `end`.
pub fn assemble(r: Reports<'_>, end: SimTime) -> Metrics {
    let mut m = Metrics::default();
    orders(&mut m, r.config, r.app, r.primary);
    staleness(&mut m, r.observers, r.replicas);
    data_tier(&mut m, &r);
    monitor(&mut m, &r, end);
    convergence(
        &mut m,
        &mut r.observers.cache,
        r.primary,
        r.replicas,
        r.faults_end,
        end,
    );
    profiles(&mut m, r.app);
    m.phases = phases(r.config, r.app, r.observers);
    m.replicas = replicas(r.config, r.replicas);
    m.saga = match (r.orchestrator, r.services) {
        (Some(o), Some(s)) => Some(saga(o, s, r.app, end)),
        _ => None,
    };
    m
}

/// Shoppers, checkouts and what they sold.
fn orders(m: &mut Metrics, config: &Config, st: &AppStats, primary: &Primary) {
    let stock_initial: i64 = config.products.iter().map(|p| p.stock).sum();
    let stock_final: i64 = (0..config.products.len() as u32)
        .map(|row| primary.row(row).stock)
        .sum();
    let units_sold: i64 = st.units_sold.iter().sum();
    m.shoppers = st.shoppers;
    m.browsed_only = st.browsed_only;
    m.left_shown_sold_out = st.left_sold_out;
    m.page_failed = st.page_failed;
    m.checkouts = st.checkouts;
    m.orders_confirmed = st.confirmed;
    m.orders_rejected_out_of_stock = st.rejected_out_of_stock;
    m.orders_failed = st.failed;
    m.orders_failed_timeout = st.failed_timeout;
    m.orders_failed_aborted = st.failed_aborted;
    m.orders_failed_retries_exhausted = st.failed_retries;
    m.stock_initial = stock_initial;
    m.units_sold = units_sold;
    m.oversold_units = config
        .products
        .iter()
        .zip(&st.units_sold)
        .map(|(p, &sold)| (sold - p.stock).max(0))
        .sum();
    m.stock_final_primary = stock_final;
    m.units_decremented_unconfirmed = stock_initial - stock_final - units_sold;
    let lat = &st.checkout_latency_us;
    m.checkout_latency_ms_p50 = ms(lat.quantile(0.5) as f64);
    m.checkout_latency_ms_p99 = ms(lat.quantile(0.99) as f64);
    m.checkout_latency_ms_max = ms(lat.max() as f64);
    m.checkout_retries = st.retries;
    m.request_timeouts = st.timeouts;
    m.availability = availability(st.phases.iter().map(|p| p.requests).sum(), st.timeouts);
    m.late_replies = st.late_replies;
}

/// Stale reads, and the replicas' lag behind which they hide.
fn staleness(m: &mut Metrics, o: &Observers, replicas: &[Replica]) {
    let stale = &o.staleness.counts;
    m.stale_reads = stale.page_stale + stale.checkout_stale;
    m.stale_page_reads = stale.page_stale;
    m.stale_checkout_reads = stale.checkout_stale;
    m.staleness_ms_p99 = ms(stale.staleness_us.quantile(0.99) as f64);
    m.max_staleness_ms = ms(stale.staleness_us.max() as f64);
    m.stale_price_views = stale.price_views;
    m.stale_badge_views = stale.badge_views;
    m.orders_at_wrong_price = o.staleness.wrong_price_orders;
    let mut lag = Histogram::new();
    for r in replicas {
        lag.merge(&r.stats.lag_us);
    }
    m.replica_lag_ms_mean = ms(lag.mean());
    m.replica_lag_ms_p50 = ms(lag.quantile(0.5) as f64);
    m.replica_lag_ms_p90 = ms(lag.quantile(0.9) as f64);
    m.replica_lag_ms_p99 = ms(lag.quantile(0.99) as f64);
    m.replica_lag_ms_p999 = ms(lag.quantile(0.999) as f64);
    m.replica_lag_ms_max = ms(lag.max() as f64);
}

/// The primary, the replicas' queries, the cache and the network.
fn data_tier(m: &mut Metrics, r: &Reports<'_>) {
    let p = &r.primary.stats;
    m.lock_waits = p.lock_waits;
    m.lock_wait_ms_p99 = ms(p.lock_wait_us.quantile(0.99) as f64);
    m.primary_queries = p.statements;
    m.primary_commits = p.commits;
    let queue = r.primary.queue_wait_us();
    m.primary_queue_ms_mean = ms(queue.mean());
    m.primary_queue_ms_p99 = ms(queue.quantile(0.99) as f64);
    m.primary_queue_wait_share = ratio(queue.share_above(0));
    m.price_changes = p.price_commits;
    m.txn_aborts = p.aborts;
    m.commits_waited_for_acks = p.ack_waits;
    m.ack_wait_ms_p99 = ms(p.ack_wait_us.quantile(0.99) as f64);
    m.sync_fallbacks = p.sync_fallbacks;
    m.replica_queries = r.replicas.iter().map(|r| r.stats.reads).sum();
    m.cache_hit_ratio = ratio(r.cache.hit_ratio());
    m.db_reads_saved = r.cache.hits;
    m.cache_invalidations = r.cache.invalidations;
    m.cache_crashes = r.cache.crashes;
    m.messages_lost = r.messages_lost;
}

/// The lag monitor, and how late its alerts were.
fn monitor(m: &mut Metrics, r: &Reports<'_>, end: SimTime) {
    let Some(mon) = r.monitor else {
        return;
    };
    m.monitor_samples = mon.stats.samples;
    m.lag_alerts = mon.stats.alerts;
    m.lag_alert_active_s = ms(mon.alerting_us(end) as f64) / 1e3;
    if let Some(d) = &r.observers.detection {
        m.alert_detect_delay_ms = ms(d.detect_delay_us.mean());
        m.alert_detect_delay_ms_max = ms(d.detect_delay_us.max() as f64);
    }
}

/// Quiescence (writes have stopped and every fault has healed) and convergence (every replica
/// has applied every commit and no cached row is older than the primary's).
fn convergence(
    m: &mut Metrics,
    cache: &mut super::observe::CacheSpells,
    primary: &mut Primary,
    replicas: &[Replica],
    faults_end: SimTime,
    end: SimTime,
) {
    let quiescent_at = primary.stats.last_commit_at.max(faults_end);
    let replicas_converged_at = replicas
        .iter()
        .map(|r| r.stats.last_apply)
        .max()
        .unwrap_or(SimTime::ZERO);
    let converged_at = replicas_converged_at.max(cache.converged_at(end));
    m.quiescent_at_s = quiescent_at.as_secs_f64();
    m.converged_at_s = converged_at.as_secs_f64();
    m.converged_after_ms = ms(converged_at.since(quiescent_at) as f64);
    m.primary_utilisation = ratio(primary.utilisation(end));
}

/// Profile sessions: read-your-writes and monotonic reads.
fn profiles(m: &mut Metrics, st: &AppStats) {
    let p = &st.profile;
    m.profile_sessions = p.sessions;
    m.profile_sessions_failed = p.sessions_failed;
    m.profile_reads = p.reads;
    m.ryw_violations = p.ryw_violations;
    m.monotonic_read_violations = p.monotonic_read_violations;
    m.primary_read_share = if p.reads == 0 {
        0.0
    } else {
        ratio(p.reads_at_primary as f64 / p.reads as f64)
    };
    m.session_token_fallbacks = p.token_fallbacks;
    m.profile_read_ms_p50 = ms(p.read_latency_us.quantile(0.5) as f64);
    m.profile_read_ms_p99 = ms(p.read_latency_us.quantile(0.99) as f64);
}

/// Before, during and after the earliest fault (or the whole run, without faults).
fn phases(config: &Config, st: &AppStats, o: &Observers) -> Vec<PhaseMetrics> {
    let phases = Phases::of(config);
    let bounds = match phases.fault {
        Some((start, end)) => vec![
            (SimTime::ZERO, Some(start)),
            (start, Some(end)),
            (end, None),
        ],
        None => vec![(SimTime::ZERO, None)],
    };
    bounds
        .iter()
        .zip(&st.phases)
        .enumerate()
        .map(|(i, (&(start, end), p))| PhaseMetrics {
            name: if phases.fault.is_some() {
                Phases::NAMES[i]
            } else {
                "whole-run"
            },
            start_s: start.as_secs_f64(),
            end_s: end.map(SimTime::as_secs_f64),
            requests: p.requests,
            request_timeouts: p.timeouts,
            availability: availability(p.requests, p.timeouts),
            orders_confirmed: p.confirmed,
            orders_failed: p.failed,
            stale_reads: o.staleness.phase_stale[i],
        })
        .collect()
}

fn replicas(config: &Config, replicas: &[Replica]) -> Vec<ReplicaMetrics> {
    replicas
        .iter()
        .zip(&config.replicas)
        .map(|(r, c)| {
            let s = &r.stats;
            let (wait, lag) = (&s.read_wait_us, &s.lag_us);
            ReplicaMetrics {
                name: c.name.clone(),
                reads: s.reads,
                read_wait_ms_mean: ms(wait.mean()),
                read_wait_ms_p99: ms(wait.quantile(0.99) as f64),
                read_wait_share: ratio(wait.share_above(0)),
                read_latency_ms_mean: ms(s.read_latency_us.mean()),
                read_latency_ms_p99: ms(s.read_latency_us.quantile(0.99) as f64),
                entries_applied: s.applied,
                lag_ms_mean: ms(lag.mean()),
                lag_ms_p50: ms(lag.quantile(0.5) as f64),
                lag_ms_p90: ms(lag.quantile(0.9) as f64),
                lag_ms_p99: ms(lag.quantile(0.99) as f64),
                lag_ms_p999: ms(lag.quantile(0.999) as f64),
                lag_ms_max: ms(lag.max() as f64),
                relay_backlog_max: s.relay_max as u64,
                crashes: s.crashes,
            }
        })
        .collect()
}

/// What the saga checkout left behind in the services.
fn saga(
    o: &Orchestrator<Key>,
    services: &mut ServiceNodes,
    st: &AppStats,
    end: SimTime,
) -> SagaMetrics {
    let open = services.state.close_windows(end);
    let s = &services.state;
    let left = s.leftovers();
    let stuck = s.stuck_orders() + o.in_flight() as u64;
    // A saga forgotten in a crash may still have confirmed its order: the customer was told it
    // failed, yet the order exists. It is neither compensated nor stuck.
    let unreported = s.confirmed_orders() - st.confirmed;
    let w = &s.windows_us;
    let svc = &services.stats;
    SagaMetrics {
        policy: o.policy().name(),
        sagas_started: o.started,
        sagas_completed: st.confirmed,
        sagas_out_of_stock: st.rejected_out_of_stock,
        confirmed_but_reported_failed: unreported,
        sagas_compensated: (st.failed - o.refused_while_down).saturating_sub(stuck + unreported),
        sagas_stuck: stuck,
        leaked_reservations: left.leaked_reservations,
        leaked_units: left.leaked_units,
        charged_without_order: left.charged_without_order,
        double_charges: left.double_charges,
        refunds: s.refunds,
        compensations_failed: s.compensations_failed,
        compensations_abandoned: o.compensations_abandoned,
        step_timeouts: o.step_timeouts,
        service_requests: svc.requests,
        replies_lost: svc.replies_lost,
        inconsistency_window_ms_p50: ms(w.quantile(0.5) as f64),
        inconsistency_window_ms_p99: ms(w.quantile(0.99) as f64),
        inconsistency_window_ms_max: ms(w.max() as f64),
        inconsistent_at_end: open,
        orchestrator_crashes: o.crashes,
        sagas_lost_in_crash: o.lost_in_crash,
        checkouts_refused_while_down: o.refused_while_down,
        lock_waits: svc.lock_waits,
        lock_wait_ms_p99: ms(svc.lock_wait_us.quantile(0.99) as f64),
        lock_wait_ms_max: ms(svc.lock_wait_us.max() as f64),
        lock_hold_ms_p50: ms(s.lock_hold_us.quantile(0.5) as f64),
        lock_hold_ms_p99: ms(s.lock_hold_us.quantile(0.99) as f64),
        lock_hold_ms_max: ms(s.lock_hold_us.max() as f64),
    }
}

/// Share of requests answered within their timeout (1 when none were sent).
fn availability(requests: u64, timeouts: u64) -> f64 {
    if requests == 0 {
        1.0
    } else {
        ratio(1.0 - timeouts as f64 / requests as f64)
    }
}
