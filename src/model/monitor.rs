//! The replica-lag monitor: polls every replica's *reported* lag at a fixed period and raises an
//! alert when the largest exceeds a threshold, clearing it when all are back under.
//!
//! A replica reports the age of the oldest log entry it has received but not applied (like
//! MySQL's `Seconds_Behind_Source`): entries still in flight, or held by a partition, are invisible
//! to it, so a cut-off replica reports no lag at all. The monitor's view is late by up to one
//! period, and the router (the `lag-aware` read source) acts on that view. To measure how late,
//! the monitor is also told each replica's *true* lag as entries are applied, and records when the
//! true lag first crossed the threshold; the detection delay is the time from then to the alert.

use crate::engine::{Histogram, SimTime};
use crate::scenario::Monitor as MonitorConfig;

pub struct Monitor {
    pub config: MonitorConfig,
    pub alerting: bool,
    /// Per replica: when its true lag went over the threshold in its current spell above it, if
    /// it is in one. A spell that ends before any alert (unseen) is forgotten.
    crossed_at: Vec<Option<SimTime>>,
    pub alerts: u64,
    pub samples: u64,
    pub detect_delay_us: Histogram,
    alert_since: SimTime,
    pub alerting_us: u64,
}

/// What a sample decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertChange {
    Raise,
    Clear,
    Unchanged,
}

impl Monitor {
    pub fn new(config: MonitorConfig, replicas: usize) -> Self {
        Self {
            config,
            alerting: false,
            crossed_at: vec![None; replicas],
            alerts: 0,
            samples: 0,
            detect_delay_us: Histogram::new(),
            alert_since: SimTime::ZERO,
            alerting_us: 0,
        }
    }

    /// On `replica`, an entry committed at `committed_at` was applied with a true lag of
    /// `lag_us`.
    pub fn observe_apply(&mut self, replica: usize, committed_at: SimTime, lag_us: u64) {
        if lag_us <= self.config.threshold_us && !self.alerting {
            // Back under the threshold: a spell nobody alerted on is over.
            self.crossed_at[replica] = None;
        }
        self.observe_age(replica, committed_at, lag_us);
    }

    fn observe_age(&mut self, replica: usize, committed_at: SimTime, age_us: u64) {
        if !self.alerting && age_us > self.config.threshold_us {
            let crossed = committed_at.after(self.config.threshold_us);
            let c = &mut self.crossed_at[replica];
            *c = Some(c.map_or(crossed, |c| c.min(crossed)));
        }
    }

    /// A sample at `now`: `reported` yields, per replica, the reported lag and the commit time of
    /// the oldest unapplied entry.
    pub fn sample(
        &mut self,
        now: SimTime,
        reported: impl Iterator<Item = (u64, SimTime)>,
    ) -> AlertChange {
        self.samples += 1;
        let mut worst = 0;
        for (replica, (lag_us, oldest)) in reported.enumerate() {
            self.observe_age(replica, oldest, lag_us);
            worst = worst.max(lag_us);
        }
        let over = worst > self.config.threshold_us;
        match (self.alerting, over) {
            (false, true) => {
                self.alerting = true;
                self.alerts += 1;
                self.alert_since = now;
                let crossed = self
                    .crossed_at
                    .iter()
                    .flatten()
                    .min()
                    .copied()
                    .unwrap_or(now);
                self.detect_delay_us.record(now.since(crossed));
                AlertChange::Raise
            }
            (true, false) => {
                self.alerting = false;
                self.crossed_at.iter_mut().for_each(|c| *c = None);
                self.alerting_us += now.since(self.alert_since);
                AlertChange::Clear
            }
            _ => AlertChange::Unchanged,
        }
    }

    /// Time spent alerting over [0, end].
    pub fn alerting_us(&self, end: SimTime) -> u64 {
        self.alerting_us
            + if self.alerting {
                end.since(self.alert_since)
            } else {
                0
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor() -> Monitor {
        Monitor::new(
            MonitorConfig {
                sample_every_us: 5_000_000,
                threshold_us: 2_000_000,
            },
            1,
        )
    }

    #[test]
    fn raises_late_by_the_sampling_period_and_clears() {
        let mut m = monitor();
        let s = SimTime::from_secs;
        // True lag crosses 2 s at t = 11 s (an entry committed at 9 s applied at 11.5 s).
        m.observe_apply(0, s(9), 2_500_000);
        assert_eq!(
            m.sample(s(10), [(1_000_000, s(9))].into_iter()),
            AlertChange::Unchanged
        );
        // At 15 s the replica reports 3 s: alert, 4 s after the true crossing at 11 s.
        assert_eq!(
            m.sample(s(15), [(3_000_000, s(12))].into_iter()),
            AlertChange::Raise
        );
        assert_eq!(m.detect_delay_us.max(), 4_000_000);
        assert_eq!(
            m.sample(s(20), [(0, s(20))].into_iter()),
            AlertChange::Clear
        );
        assert_eq!((m.alerts, m.alerting_us(s(30))), (1, 5_000_000));
    }
}
