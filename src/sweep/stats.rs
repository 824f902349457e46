//! Statistics over the seeds of one grid point: mean, sample standard deviation and the
//! half-width of a 95% confidence interval for the mean (Student's t).
//!
//! The values are summed in the order given (seed order), so the result is the same bits however
//! the runs were scheduled.

use serde::Serialize;

/// t(0.975, df) for df = 1..=30; above 30 degrees of freedom the normal 1.96 is used.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (from the table up to
/// 30, then 1.96). `df` 0 has none: 0.
pub fn t_975(df: u64) -> f64 {
    match df {
        0 => 0.0,
        1..=30 => T_975[df as usize - 1],
        _ => 1.96,
    }
}

/// A figure over the seeds of one grid point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// How many runs gave the figure.
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); 0 when n = 1.
    pub sd: f64,
    /// Half-width of the 95% confidence interval of the mean: t(0.975, n − 1) · sd / √n; 0 when
    /// n = 1 (one seed gives no interval).
    pub ci95: f64,
}

impl Summary {
    /// The summary of `values`, in their order. `None` for no values.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as u64;
        let mut sum = 0.0;
        for &x in values {
            sum += x;
        }
        let mean = sum / n as f64;
        if n == 1 {
            return Some(Summary {
                n,
                mean,
                sd: 0.0,
                ci95: 0.0,
            });
        }
        let mut squares = 0.0;
        for &x in values {
            squares += (x - mean) * (x - mean);
        }
        let sd = libm::sqrt(squares / (n - 1) as f64);
        let ci95 = t_975(n - 1) * sd / libm::sqrt(n as f64);
        Some(Summary { n, mean, sd, ci95 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, s² = 32/7,
        // s = 2.138089935…, t(0.975, 7) = 2.365, CI = 2.365 · s / √8 = 1.787771957…
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert_eq!(s.mean, 5.0);
        assert!((s.sd - 2.138_089_935_299_395).abs() < 1e-12, "{}", s.sd);
        assert!((s.ci95 - 1.787_771_957_3).abs() < 1e-9, "{}", s.ci95);
    }

    #[test]
    fn two_values_use_the_widest_t() {
        // 1 and 3: mean 2, s = √2, CI = 12.706 · √2 / √2 = 12.706.
        let s = Summary::of(&[1.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert!((s.ci95 - 12.706).abs() < 1e-12);
    }

    #[test]
    fn one_value_has_no_interval_and_none_has_no_summary() {
        let s = Summary::of(&[42.0]).unwrap();
        assert_eq!((s.n, s.mean, s.sd, s.ci95), (1, 42.0, 0.0, 0.0));
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn t_falls_to_the_normal_quantile_after_30() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        assert_eq!(t_975(31), 1.96);
        assert_eq!(t_975(49), 1.96);
        assert!(T_975.windows(2).all(|w| w[0] > w[1]), "decreasing");
    }

    #[test]
    fn constant_values_have_zero_spread() {
        let s = Summary::of(&[3.5; 50]).unwrap();
        assert_eq!((s.mean, s.sd, s.ci95), (3.5, 0.0, 0.0));
    }
}
