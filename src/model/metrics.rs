//! What a run measured: counters and streaming histograms kept while it runs, and the
//! [`Metrics`] summary assembled from them once at the end (the stable output interface: every
//! field is documented in docs/output-reference.md, units in the names).

use serde::Serialize;

use crate::engine::{Histogram, SimTime};

/// Why a read was made, for staleness accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Page,
    Checkout,
    /// A profile session's write or read.
    Profile,
}

/// The application tier's counters.
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
    /// Orders confirmed since the observer last looked: (product row, price the shopper saw).
    pub price_checks: Vec<(u32, i64)>,
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
    pub fn new(products: usize) -> Self {
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
            price_checks: Vec::new(),
        }
    }
}

/// The phases of a run with faults: before the first fault starts, while it lasts, after it
/// ends. A run without faults has one phase, the whole run.
#[derive(Clone, Copy, Debug)]
pub struct Phases {
    pub fault: Option<(SimTime, SimTime)>,
}

impl Phases {
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
    pub stale_reads: u64,
}

/// Reads of product rows served by a replica or the cache, and how many were stale: older than
/// the primary's committed version at the instant they were served.
#[derive(Clone, Debug, Default)]
pub struct StaleCounts {
    pub page_reads: u64,
    pub page_stale: u64,
    pub checkout_reads: u64,
    pub checkout_stale: u64,
    /// For each stale read: how long before it was served the version after the one it returned
    /// had been committed.
    pub staleness_us: Histogram,
    /// Product page views showing a price other than the primary's at that instant.
    pub price_views: u64,
    /// Product page views whose stock badge (in stock / low / out) differs from the primary's.
    pub badge_views: u64,
}

impl StaleCounts {
    pub fn record(&mut self, purpose: Purpose, staleness_us: Option<u64>) {
        let stale = staleness_us.is_some();
        if let Some(us) = staleness_us {
            self.staleness_us.record(us);
        }
        let (reads, stales) = match purpose {
            Purpose::Page => (&mut self.page_reads, &mut self.page_stale),
            Purpose::Checkout => (&mut self.checkout_reads, &mut self.checkout_stale),
            Purpose::Profile => unreachable!("profile reads are judged by their sessions"),
        };
        *reads += 1;
        *stales += u64::from(stale);
    }
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
    pub entries_applied: u64,
    pub lag_ms_mean: f64,
    pub lag_ms_p99: f64,
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
    pub replica_lag_ms_p99: f64,
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
    pub primary_queue_ms_p99: f64,
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

impl super::Model {
    /// The summary of a finished run.
    pub fn metrics(&mut self, end: SimTime) -> Metrics {
        // Quiescence: writes have stopped (the last commit) and every fault has healed.
        // Convergence: every replica has applied every commit and no cached row is older than
        // the primary's.
        let quiescent_at = self.primary.last_commit_at().max(self.faults_end);
        let replicas_converged_at = self
            .replicas
            .iter()
            .map(|r| r.last_apply)
            .max()
            .unwrap_or(SimTime::ZERO);
        let converged_at = replicas_converged_at.max(self.cache.converged_at(end));
        let st = &self.app.stats;
        let stock_initial: i64 = self.config.products.iter().map(|p| p.stock).sum();
        let stock_final: i64 = (0..self.config.products.len())
            .map(|i| self.primary.rows[i].stock)
            .sum();
        let units_sold: i64 = st.units_sold.iter().sum();
        let oversold: i64 = self
            .config
            .products
            .iter()
            .zip(&st.units_sold)
            .map(|(p, &sold)| (sold - p.stock).max(0))
            .sum();
        let mut lag = crate::engine::Histogram::new();
        for r in &self.replicas {
            lag.merge(&r.lag_us);
        }
        let replicas = self
            .replicas
            .iter()
            .zip(&self.config.replicas)
            .map(|(r, c)| ReplicaMetrics {
                name: c.name.clone(),
                reads: r.reads,
                entries_applied: r.applied,
                lag_ms_mean: ms(r.lag_us.mean()),
                lag_ms_p99: ms(r.lag_us.quantile(0.99) as f64),
                lag_ms_max: ms(r.lag_us.max() as f64),
                relay_backlog_max: r.relay_max as u64,
                crashes: r.crashes,
            })
            .collect();
        let lat = &st.checkout_latency_us;
        let bounds = match self.phases.fault {
            Some((start, end)) => vec![
                (SimTime::ZERO, Some(start)),
                (start, Some(end)),
                (end, None),
            ],
            None => vec![(SimTime::ZERO, None)],
        };
        let phases = bounds
            .iter()
            .zip(&st.phases)
            .enumerate()
            .map(|(i, (&(start, end), p))| PhaseMetrics {
                name: if self.phases.fault.is_some() {
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
                stale_reads: p.stale_reads,
            })
            .collect();
        Metrics {
            shoppers: st.shoppers,
            browsed_only: st.browsed_only,
            left_shown_sold_out: st.left_sold_out,
            page_failed: st.page_failed,
            checkouts: st.checkouts,
            orders_confirmed: st.confirmed,
            orders_rejected_out_of_stock: st.rejected_out_of_stock,
            orders_failed: st.failed,
            orders_failed_timeout: st.failed_timeout,
            orders_failed_aborted: st.failed_aborted,
            orders_failed_retries_exhausted: st.failed_retries,
            stock_initial,
            units_sold,
            oversold_units: oversold,
            stock_final_primary: stock_final,
            units_decremented_unconfirmed: stock_initial - stock_final - units_sold,
            stale_reads: self.stale.page_stale + self.stale.checkout_stale,
            stale_page_reads: self.stale.page_stale,
            stale_checkout_reads: self.stale.checkout_stale,
            staleness_ms_p99: ms(self.stale.staleness_us.quantile(0.99) as f64),
            max_staleness_ms: ms(self.stale.staleness_us.max() as f64),
            replica_lag_ms_mean: ms(lag.mean()),
            replica_lag_ms_p99: ms(lag.quantile(0.99) as f64),
            replica_lag_ms_max: ms(lag.max() as f64),
            checkout_latency_ms_p50: ms(lat.quantile(0.5) as f64),
            checkout_latency_ms_p99: ms(lat.quantile(0.99) as f64),
            checkout_latency_ms_max: ms(lat.max() as f64),
            checkout_retries: st.retries,
            lock_waits: self.primary.lock_waits,
            lock_wait_ms_p99: ms(self.primary.lock_wait_us.quantile(0.99) as f64),
            primary_queries: self.primary.statements,
            primary_commits: self.primary.commits,
            primary_utilisation: ratio(self.primary.utilisation(end)),
            primary_queue_ms_p99: ms(self.primary.queue_wait_us.quantile(0.99) as f64),
            replica_queries: self.replicas.iter().map(|r| r.reads).sum(),
            cache_hit_ratio: ratio(self.cache.hit_ratio()),
            db_reads_saved: self.cache.hits,
            stale_price_views: self.stale.price_views,
            stale_badge_views: self.stale.badge_views,
            orders_at_wrong_price: self.wrong_price_orders,
            price_changes: self.primary.price_commits,
            cache_invalidations: self.cache.invalidations,
            cache_crashes: self.cache.crashes,
            request_timeouts: st.timeouts,
            availability: availability(st.phases.iter().map(|p| p.requests).sum(), st.timeouts),
            late_replies: st.late_replies,
            txn_aborts: self.primary.aborts,
            messages_lost: self.network.lost,
            monitor_samples: self.monitor.as_ref().map_or(0, |m| m.samples),
            lag_alerts: self.monitor.as_ref().map_or(0, |m| m.alerts),
            alert_detect_delay_ms: ms(self
                .monitor
                .as_ref()
                .map_or(0.0, |m| m.detect_delay_us.mean())),
            alert_detect_delay_ms_max: ms(self
                .monitor
                .as_ref()
                .map_or(0.0, |m| m.detect_delay_us.max() as f64)),
            quiescent_at_s: quiescent_at.as_secs_f64(),
            converged_at_s: converged_at.as_secs_f64(),
            converged_after_ms: ms(converged_at.since(quiescent_at) as f64),
            lag_alert_active_s: ms(self
                .monitor
                .as_ref()
                .map_or(0.0, |m| m.alerting_us(end) as f64))
                / 1e3,
            profile_sessions: st.profile.sessions,
            profile_sessions_failed: st.profile.sessions_failed,
            profile_reads: st.profile.reads,
            ryw_violations: st.profile.ryw_violations,
            monotonic_read_violations: st.profile.monotonic_read_violations,
            primary_read_share: if st.profile.reads == 0 {
                0.0
            } else {
                ratio(st.profile.reads_at_primary as f64 / st.profile.reads as f64)
            },
            session_token_fallbacks: st.profile.token_fallbacks,
            profile_read_ms_p50: ms(st.profile.read_latency_us.quantile(0.5) as f64),
            profile_read_ms_p99: ms(st.profile.read_latency_us.quantile(0.99) as f64),
            commits_waited_for_acks: self.primary.ack_waits,
            ack_wait_ms_p99: ms(self.primary.ack_wait_us.quantile(0.99) as f64),
            sync_fallbacks: self.primary.sync_fallbacks,
            phases,
            replicas,
            saga: self.saga_metrics(end),
        }
    }

    fn saga_metrics(&mut self, end: SimTime) -> Option<SagaMetrics> {
        let o = self.app.orchestrator.as_ref()?;
        let services = self.services.as_mut()?;
        let open = services.state.close_windows(end);
        let s = &services.state;
        let left = s.leftovers();
        let st = &self.app.stats;
        let stuck = s.stuck_orders() + o.in_flight() as u64;
        // A saga forgotten in a crash may still have confirmed its order: the customer was told
        // it failed, yet the order exists. It is neither compensated nor stuck.
        let unreported = s.confirmed_orders() - st.confirmed;
        let w = &s.windows_us;
        Some(SagaMetrics {
            policy: o.policy().name(),
            sagas_started: o.started,
            sagas_completed: st.confirmed,
            sagas_out_of_stock: st.rejected_out_of_stock,
            confirmed_but_reported_failed: unreported,
            sagas_compensated: (st.failed - o.refused_while_down)
                .saturating_sub(stuck + unreported),
            sagas_stuck: stuck,
            leaked_reservations: left.leaked_reservations,
            leaked_units: left.leaked_units,
            charged_without_order: left.charged_without_order,
            double_charges: left.double_charges,
            refunds: s.refunds,
            compensations_failed: s.compensations_failed,
            compensations_abandoned: o.compensations_abandoned,
            step_timeouts: o.step_timeouts,
            service_requests: services.requests,
            replies_lost: services.replies_lost,
            inconsistency_window_ms_p50: ms(w.quantile(0.5) as f64),
            inconsistency_window_ms_p99: ms(w.quantile(0.99) as f64),
            inconsistency_window_ms_max: ms(w.max() as f64),
            inconsistent_at_end: open,
            orchestrator_crashes: o.crashes,
            sagas_lost_in_crash: o.lost_in_crash,
            checkouts_refused_while_down: o.refused_while_down,
            lock_waits: services.lock_waits,
            lock_wait_ms_p99: ms(services.lock_wait_us.quantile(0.99) as f64),
            lock_wait_ms_max: ms(services.lock_wait_us.max() as f64),
            lock_hold_ms_p50: ms(s.lock_hold_us.quantile(0.5) as f64),
            lock_hold_ms_p99: ms(s.lock_hold_us.quantile(0.99) as f64),
            lock_hold_ms_max: ms(s.lock_hold_us.max() as f64),
        })
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
