//! The replica-lag monitor: polls every replica's *reported* lag at a fixed period and raises an
//! alert when the largest exceeds a threshold, clearing it when all are back under.
//!
//! A replica reports the age of the oldest log entry it has received but not applied (like
//! MySQL's `Seconds_Behind_Source`): entries still in flight, or held by a partition, are invisible
//! to it, so a cut-off replica reports no lag at all. The monitor's view is late by up to one
//! period, and the router (the `lag-aware` read source) acts on that view.
//!
//! The monitor is not a node of the simulated network: it reads the replicas' status out of band,
//! as a metrics scraper would, and its word reaches the app tier's router at once (a
//! [`Notice`]). How late its alerts are against the *true* lag is measured by an observer (the
//! detection delay), from the samples and alerts the monitor reports as observations.

use super::node::{Due, Notice, Observation, Out};
use super::replica::Status;
use crate::engine::SimTime;
use crate::scenario::Monitor as MonitorConfig;

/// The monitor's timers.
#[derive(Clone, Copy, Debug)]
pub enum MonitorTimer {
    /// Poll the replicas.
    Sample,
    /// The alert was raised (or cleared) at this instant, with `lag_us` the worst reported lag:
    /// an event of its own in the trace. The router was told at the sample.
    Alert { raised: bool, lag_us: u64 },
}

/// What the monitor counts.
#[derive(Clone, Debug, Default)]
pub struct MonitorStats {
    pub alerts: u64,
    pub samples: u64,
    /// Time spent alerting in finished alert spells.
    pub alerting_us: u64,
}

pub struct Monitor {
    config: MonitorConfig,
    alerting: bool,
    alert_since: SimTime,
    /// It keeps polling while traffic runs or faults last (or the replicas still lag), and never
    /// past the horizon.
    traffic_end: SimTime,
    faults_end: SimTime,
    horizon: SimTime,
    pub stats: MonitorStats,
}

impl Monitor {
    pub fn new(
        config: MonitorConfig,
        traffic_end: SimTime,
        faults_end: SimTime,
        horizon: SimTime,
    ) -> Self {
        Self {
            config,
            alerting: false,
            alert_since: SimTime::ZERO,
            traffic_end,
            faults_end,
            horizon,
            stats: MonitorStats::default(),
        }
    }

    /// The first poll, if it falls within the horizon.
    pub fn first_sample(&self) -> Option<SimTime> {
        let at = SimTime::from_micros(self.config.sample_every_us);
        (at <= self.horizon).then_some(at)
    }

    /// Handles a timer; `replicas` is every replica's status now, in file order.
    pub fn on_timer(
        &mut self,
        now: SimTime,
        timer: MonitorTimer,
        replicas: &[Status],
        out: &mut Out,
    ) {
        match timer {
            MonitorTimer::Sample => self.sample(now, replicas, out),
            // The announcement changes nothing more.
            MonitorTimer::Alert { .. } => {}
        }
    }

    /// A poll: compare the worst reported lag with the threshold, tell the router, and poll again
    /// while anything could still make the replicas lag.
    fn sample(&mut self, now: SimTime, replicas: &[Status], out: &mut Out) {
        self.stats.samples += 1;
        let mut worst = 0;
        for (replica, s) in replicas.iter().enumerate() {
            out.observe(Observation::LagSampled {
                replica,
                lag_us: s.reported_lag_us,
                oldest: s.oldest,
            });
            worst = worst.max(s.reported_lag_us);
        }
        let over = worst > self.config.threshold_us;
        if over != self.alerting {
            self.alerting = over;
            if over {
                self.stats.alerts += 1;
                self.alert_since = now;
            } else {
                self.stats.alerting_us += now.since(self.alert_since);
            }
            out.observe(Observation::Alert { raised: over });
            let alert = MonitorTimer::Alert {
                raised: over,
                lag_us: worst,
            };
            out.monitor_after(Due::After(0), alert);
        }
        out.notify(Notice::LagAlert(self.alerting));
        let busy = now < self.traffic_end
            || now < self.faults_end
            || self.alerting
            || replicas.iter().any(|s| s.backlog);
        // The monitor stops at the horizon: it is an observer, not something the run must drain.
        let every = self.config.sample_every_us;
        if busy && now.after(every) <= self.horizon {
            out.monitor_after(Due::Fixed(every), MonitorTimer::Sample);
        }
    }

    /// Time spent alerting over [0, end].
    pub fn alerting_us(&self, end: SimTime) -> u64 {
        self.stats.alerting_us
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

    fn status(lag_s: u64, now_s: u64) -> Status {
        Status {
            reported_lag_us: lag_s * 1_000_000,
            oldest: SimTime::from_secs(now_s - lag_s),
            backlog: lag_s > 0,
        }
    }

    #[test]
    fn it_raises_above_the_threshold_clears_below_and_polls_while_there_is_work() {
        let s = SimTime::from_secs;
        let config = MonitorConfig {
            sample_every_us: 5_000_000,
            threshold_us: 2_000_000,
        };
        let mut m = Monitor::new(config, s(10), SimTime::ZERO, s(100));
        let mut out = Out::new(crate::scenario::Topology::new(&[], false).app());
        let mut poll = |m: &mut Monitor, now, lags: &[Status]| {
            m.on_timer(s(now), MonitorTimer::Sample, lags, &mut out);
            let next = out.events.drain(..).map(|(due, _)| due).collect::<Vec<_>>();
            let notices = std::mem::take(&mut out.notices);
            out.observations.clear();
            (next, notices)
        };
        let (next, notices) = poll(&mut m, 5, &[status(1, 5)]);
        assert!(matches!(next[..], [Due::Fixed(5_000_000)]));
        assert_eq!(notices, vec![Notice::LagAlert(false)]);
        // 3 s reported: raise (an announcement now, and the next poll).
        let (next, notices) = poll(&mut m, 10, &[status(3, 10)]);
        assert!(matches!(next[..], [Due::After(0), Due::Fixed(5_000_000)]));
        assert_eq!(notices, vec![Notice::LagAlert(true)]);
        // After the traffic, with the replica caught up: clear, and stop polling.
        let (next, notices) = poll(&mut m, 20, &[status(0, 20)]);
        assert!(matches!(next[..], [Due::After(0)]));
        assert_eq!(notices, vec![Notice::LagAlert(false)]);
        assert_eq!((m.stats.samples, m.stats.alerts), (3, 1));
        assert_eq!(
            m.alerting_us(s(30)),
            10_000_000,
            "alerting from 10 s to 20 s"
        );
    }
}
