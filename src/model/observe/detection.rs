//! How late the lag monitor's alerts were: the time from when a replica's *true* lag first crossed
//! the threshold in a spell to the alert that spell raised.
//!
//! The monitor sees only reported lag, at its samples; this observer also sees every apply, and
//! with it the true lag of each entry, so it knows when the threshold was really crossed. A spell
//! that ends before any alert (unseen) is forgotten.

use crate::engine::{Histogram, SimTime};

pub struct Detection {
    threshold_us: u64,
    alerting: bool,
    /// Per replica: when its true lag went over the threshold in its current spell above it, if
    /// it is in one.
    crossed_at: Vec<Option<SimTime>>,
    pub detect_delay_us: Histogram,
}

impl Detection {
    pub fn new(threshold_us: u64, replicas: usize) -> Self {
        Self {
            threshold_us,
            alerting: false,
            crossed_at: vec![None; replicas],
            detect_delay_us: Histogram::new(),
        }
    }

    /// On `replica`, an entry committed at `committed_at` was applied with a true lag of
    /// `lag_us`.
    pub fn applied(&mut self, replica: usize, committed_at: SimTime, lag_us: u64) {
        if lag_us <= self.threshold_us && !self.alerting {
            // Back under the threshold: a spell nobody alerted on is over.
            self.crossed_at[replica] = None;
        }
        self.sampled(replica, committed_at, lag_us);
    }

    /// An entry committed at `committed_at` is `age_us` old and not applied on `replica` (the
    /// monitor's sample, or an apply).
    pub fn sampled(&mut self, replica: usize, committed_at: SimTime, age_us: u64) {
        if !self.alerting && age_us > self.threshold_us {
            let crossed = committed_at.after(self.threshold_us);
            let c = &mut self.crossed_at[replica];
            *c = Some(c.map_or(crossed, |c| c.min(crossed)));
        }
    }

    /// The monitor raised (or cleared) its alert at `now`.
    pub fn alert(&mut self, now: SimTime, raised: bool) {
        self.alerting = raised;
        if raised {
            let crossed = self.crossed_at.iter().flatten().min().copied();
            self.detect_delay_us
                .record(now.since(crossed.unwrap_or(now)));
        } else {
            self.crossed_at.iter_mut().for_each(|c| *c = None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_runs_from_the_true_crossing_to_the_alert() {
        let s = SimTime::from_secs;
        let mut d = Detection::new(2_000_000, 1);
        // True lag crosses 2 s at t = 11 s (an entry committed at 9 s applied at 11.5 s).
        d.applied(0, s(9), 2_500_000);
        // The 10 s sample reports 1 s; the 15 s sample reports 3 s and raises the alert.
        d.sampled(0, s(9), 1_000_000);
        d.sampled(0, s(12), 3_000_000);
        d.alert(s(15), true);
        assert_eq!(d.detect_delay_us.max(), 4_000_000);
        d.alert(s(20), false);
        // A spell that ends unseen is forgotten: the next alert measures from its own crossing.
        d.applied(0, s(30), 2_500_000);
        d.applied(0, s(33), 100_000);
        d.sampled(0, s(40), 2_100_000);
        d.alert(s(45), true);
        assert_eq!(d.detect_delay_us.count(), 2);
        assert_eq!(d.detect_delay_us.min(), 3_000_000);
    }
}
