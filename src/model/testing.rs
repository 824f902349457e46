//! Hand-built configurations for the model's own unit tests (no TOML involved).

use crate::engine::{Dist, SimTime};
use crate::scenario::*;

/// One primary with instant service, one replica, no shoppers, no latency: a bare M/M/1 replica
/// fed with Poisson writes at `lambda_per_s`, applied at rate `mu_per_s`.
pub fn mm1(lambda_per_s: f64, mu_per_s: f64, duration_s: u64) -> Variant {
    let zero = Dist::Constant { us: 0 };
    Variant {
        name: "mm1".into(),
        checkout: CheckoutKind::ConditionalDecrement,
        page: ReadSource::Primary,
        config: Config {
            traffic_end: SimTime::from_secs(duration_s),
            horizon: SimTime::from_secs(duration_s + 600),
            max_events: u64::MAX,
            network: Network {
                default_latency: zero,
                links: vec![],
            },
            primary: Primary {
                workers: 1_000,
                read_time: zero,
                write_time: zero,
                lock_timeout_us: 5_000_000,
                txn_idle_timeout_us: 30_000_000,
            },
            replicas: vec![Replica {
                name: "replica-1".into(),
                workers: 1,
                read_time: zero,
                apply_time: Dist::Exponential {
                    mean_us: 1e6 / mu_per_s,
                },
            }],
            cache: Cache {
                ttl_us: 0,
                invalidate_on_write: false,
                op_time: zero,
                fill_from: ReadSource::Replica,
            },
            shoppers: Shoppers {
                request_timeout_us: 3_000_000,
                add_to_cart_probability: 0.0,
                think_time: zero,
                quantity_weights: vec![1],
                leave_if_sold_out: true,
            },
            traffic: Traffic {
                points: vec![(SimTime::ZERO, 0.0)],
            },
            background: Background {
                writes_per_s: lambda_per_s,
                writes_per_shopper: 0.0,
                reads_per_s: 0.0,
                reads_per_shopper: 0.0,
                rows: 100,
            },
            products: vec![Product {
                name: "p".into(),
                stock: 10,
                popularity: 1,
            }],
            checkout: CheckoutParams {
                max_retries: 3,
                retry_backoff: zero,
            },
            faults: vec![],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NoTrace;
    use crate::model::run_variant;

    #[test]
    fn a_bare_replica_is_an_mm1_queue() {
        let run = run_variant(&mm1(800.0, 1000.0, 200), 1, &mut NoTrace).unwrap();
        let m = run.metrics;
        eprintln!("{m:?}");
        assert!(
            (m.replica_lag_ms_mean - 5.0).abs() < 0.5,
            "mean lag {}",
            m.replica_lag_ms_mean
        );
    }
}
