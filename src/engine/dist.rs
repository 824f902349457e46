//! Duration distributions for latencies, service times and think times, sampled in microseconds.
//!
//! Samplers are written here on top of [`SimRng`] and `libm` rather than taken from `rand_distr`,
//! whose float maths is not bit-portable (see shared/CRATES.md): one ulp of difference can reorder
//! two events and change a whole trace.

use super::rng::SimRng;

/// z such that P(Z <= z) = 0.99 for a standard normal Z.
const Z_99: f64 = 2.326_347_874_040_841;

/// A distribution of non-negative durations. All parameters are in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Constant { us: u64 },
    /// Uniform on [min, max].
    Uniform { min_us: u64, max_us: u64 },
    /// Exponential with the given mean (memoryless; the M in M/M/1).
    Exponential { mean_us: f64 },
    /// exp(N(mu, sigma²)) microseconds: a long right tail, typical of real latencies.
    LogNormal { mu: f64, sigma: f64 },
}

impl Dist {
    /// A lognormal with the given median and 99th percentile (p99 >= median > 0).
    pub fn lognormal_from_median_p99(median_us: f64, p99_us: f64) -> Dist {
        let mu = libm::log(median_us);
        let sigma = (libm::log(p99_us) - mu) / Z_99;
        Dist::LogNormal { mu, sigma }
    }

    /// One draw, rounded to the nearest microsecond.
    pub fn sample<G: rand_core::Rng>(&self, rng: &mut SimRng<G>) -> u64 {
        match *self {
            Dist::Constant { us } => us,
            Dist::Uniform { min_us, max_us } => min_us + rng.below(max_us - min_us + 1),
            Dist::Exponential { mean_us } => to_micros(rng.exponential(mean_us)),
            Dist::LogNormal { mu, sigma } => {
                to_micros(libm::exp(mu + sigma * rng.standard_normal()))
            }
        }
    }

    /// The exact mean, in microseconds (for documentation and sanity checks, never for draws).
    pub fn mean_us(&self) -> f64 {
        match *self {
            Dist::Constant { us } => us as f64,
            Dist::Uniform { min_us, max_us } => (min_us + max_us) as f64 / 2.0,
            Dist::Exponential { mean_us } => mean_us,
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
        }
    }
}

/// Rounds a non-negative float duration to whole microseconds, saturating at an hour so that an
/// extreme tail draw cannot overflow simulated time.
fn to_micros(x: f64) -> u64 {
    const CAP_US: f64 = 3_600_000_000.0;
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= CAP_US {
        CAP_US as u64
    } else {
        libm::round(x) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::StreamId;

    fn sample_mean(d: Dist, n: u32) -> f64 {
        let mut rng = SimRng::stream(9, StreamId::new("dist-test", 0));
        (0..n).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / f64::from(n)
    }

    #[test]
    fn sample_means_match_exact_means() {
        for d in [
            Dist::Constant { us: 250 },
            Dist::Uniform {
                min_us: 100,
                max_us: 300,
            },
            Dist::Exponential { mean_us: 1_000.0 },
            Dist::lognormal_from_median_p99(1_000.0, 5_000.0),
        ] {
            let (got, want) = (sample_mean(d, 100_000), d.mean_us());
            assert!(
                (got - want).abs() / want < 0.02,
                "{d:?}: sample mean {got}, exact {want}"
            );
        }
    }

    #[test]
    fn lognormal_quantiles_match_parameters() {
        let d = Dist::lognormal_from_median_p99(2_000.0, 20_000.0);
        let mut rng = SimRng::stream(5, StreamId::new("dist-test", 1));
        let mut xs: Vec<u64> = (0..100_000).map(|_| d.sample(&mut rng)).collect();
        xs.sort_unstable();
        let median = xs[50_000] as f64;
        let p99 = xs[99_000] as f64;
        assert!((median - 2_000.0).abs() < 60.0, "median {median}");
        assert!((p99 - 20_000.0).abs() < 1_200.0, "p99 {p99}");
    }

    #[test]
    fn uniform_covers_both_ends() {
        let d = Dist::Uniform {
            min_us: 3,
            max_us: 5,
        };
        let mut rng = SimRng::stream(1, StreamId::new("dist-test", 2));
        let xs: Vec<u64> = (0..1000).map(|_| d.sample(&mut rng)).collect();
        assert!(xs.contains(&3) && xs.contains(&5) && xs.iter().all(|x| (3..=5).contains(x)));
    }
}
