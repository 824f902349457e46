//! A fixed-size log-linear histogram of non-negative integers (durations in µs, usually).
//!
//! Memory does not grow with the number of samples, so a run of a million shoppers costs no more
//! than a run of a thousand. Values below 256 are exact; above, each power of two is cut into 128
//! buckets, so a quantile is within 0.8% of the true sample quantile. Count, sum, min and max are
//! exact, so the mean is exact too.

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS; // 128 buckets per octave
const EXACT: u64 = 2 * SUB; // values below this have a bucket each
const MAX_BIT: u32 = 44; // values are capped at 2^44 - 1 (about 203 days in µs)
const BUCKETS: usize = (EXACT + (MAX_BIT - 1 - SUB_BITS) as u64 * SUB) as usize;

#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

fn index(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let bit = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let shift = bit - SUB_BITS;
    (EXACT + u64::from(shift - 1) * SUB + ((v >> shift) - SUB)) as usize
}

/// The smallest and largest value that land in bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < EXACT {
        return (i, i);
    }
    let shift = (i - EXACT) / SUB + 1;
    let low = (SUB + (i - EXACT) % SUB) << shift;
    (low, low + (1 << shift) - 1)
}

impl Histogram {
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, v: u64) {
        let v = v.min((1 << MAX_BIT) - 1);
        self.counts[index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact mean, or 0 for an empty histogram.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn min(&self) -> u64 {
        if self.count == 0 { 0 } else { self.min }
    }

    /// The q-quantile (0 < q <= 1): the middle of the bucket holding the ⌈q·n⌉-th smallest
    /// sample, clamped to the exact min and max. 0 for an empty histogram.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bounds(i);
                return (lo + (hi - lo) / 2).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// The non-empty buckets in increasing order: `(lowest value, highest value, count)`. Every
    /// sample in a bucket lies within its two bounds (exact below 256, where each bucket holds one
    /// value); the counts add up to [`Histogram::count`].
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let (lo, hi) = bounds(i);
                (lo, hi, c)
            })
    }

    /// The share of samples strictly greater than `v` (exact when `v` is a bucket's upper
    /// bound, otherwise counted by bucket).
    pub fn share_above(&self, v: u64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let above: u64 = self.counts[index(v.min((1 << MAX_BIT) - 1)) + 1..]
            .iter()
            .sum();
        above as f64 / self.count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        let mut expected_low = 0;
        for i in 0..BUCKETS {
            let (lo, hi) = bounds(i);
            assert_eq!(lo, expected_low, "bucket {i}");
            assert_eq!(index(lo), i);
            assert_eq!(index(hi), i);
            expected_low = hi + 1;
        }
        assert_eq!(expected_low, 1 << MAX_BIT);
    }

    #[test]
    fn quantiles_are_within_one_percent() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 7);
        }
        for (q, exact) in [(0.5, 350_000.0), (0.99, 693_000.0), (1.0, 700_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.01, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.max(), 700_000);
        assert_eq!(h.mean(), 350_003.5);
    }

    #[test]
    fn merge_equals_recording_into_one() {
        let (mut a, mut b, mut both) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 0..1000 {
            if v % 3 == 0 {
                a.record(v * 11)
            } else {
                b.record(v * 11)
            }
            both.record(v * 11);
        }
        a.merge(&b);
        assert_eq!(a, both);
    }

    #[test]
    fn buckets_hold_every_sample_within_their_bounds() {
        let mut h = Histogram::new();
        for v in [3, 3, 255, 256, 1_000, 1_001, 7_000_000] {
            h.record(v);
        }
        let buckets: Vec<_> = h.buckets().collect();
        assert_eq!(buckets.iter().map(|b| b.2).sum::<u64>(), h.count());
        assert_eq!(buckets[0], (3, 3, 2));
        assert_eq!(buckets[1], (255, 255, 1));
        assert!(
            buckets.windows(2).all(|w| w[0].1 < w[1].0),
            "increasing, disjoint"
        );
        for v in [1_000, 1_001, 7_000_000] {
            assert!(buckets.iter().any(|&(lo, hi, _)| lo <= v && v <= hi), "{v}");
        }
        assert_eq!(Histogram::new().buckets().count(), 0);
    }

    #[test]
    fn empty_histogram_reports_zeros() {
        let h = Histogram::new();
        assert_eq!(
            (h.quantile(0.99), h.max(), h.min(), h.mean()),
            (0, 0, 0, 0.0)
        );
    }
}
