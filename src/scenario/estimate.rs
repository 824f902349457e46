//! How many events a run will take at the least, from its configuration alone, so that a run
//! that cannot finish under `max_events` is refused before it starts rather than stopped at the
//! cap minutes (and gigabytes) later.
//!
//! The estimate counts the expected arrivals of each process (the integral of its rate over the
//! traffic window) times the fewest events each arrival costs when nothing is lost on the way:
//! a shopper's arrival, its page read's delivery and its answer's (3); a background write's
//! log entry's delivery to and apply on every replica (2 per replica), plus its arrival,
//! delivery and commit (3) when they run as events; a background read's arrival, delivery and
//! end (3) when they run as events, none when they run as arithmetic; a profile session's start,
//! its write's delivery and its answer's (3). Checkouts, retries, timers and faults only add events, so a run processes
//! at least about this many; a test holds it to that on every bundled scenario.

use super::types::{BackgroundMode, Config, Traffic};
use crate::engine::SimTime;

/// The expected arrivals of each process over the traffic window, and the events they cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventFloor {
    pub shoppers: f64,
    pub background_writes: f64,
    /// Background reads; they cost events only with `[engine] background = "events"`, and so do
    /// the background writes up to their commit.
    pub background_reads: f64,
    pub sessions: f64,
    /// The fewest events all of them take.
    pub events: f64,
}

impl Traffic {
    /// The expected number of arrivals in [0, end) of a process whose rate is `base_per_s`
    /// plus `per_unit` times this profile's: the integral of the rate (linear between points,
    /// flat before the first and after the last).
    pub fn expected_arrivals(&self, base_per_s: f64, per_unit: f64, end: SimTime) -> f64 {
        let end_s = end.as_secs_f64();
        let pts: Vec<(f64, f64)> = self
            .points
            .iter()
            .map(|&(t, r)| (t.as_secs_f64(), base_per_s + per_unit * r))
            .collect();
        let (Some(&(t0, r0)), Some(&(t_last, r_last))) = (pts.first(), pts.last()) else {
            return base_per_s * end_s;
        };
        // Flat before the first point and after the last; each segment cut at `end`.
        let before = t0.min(end_s) * r0;
        let after = (end_s - t_last).max(0.0) * r_last;
        let between: f64 = pts
            .windows(2)
            .filter(|w| w[0].0 < end_s && w[0].0 < w[1].0)
            .map(|w| {
                let ((a, ra), (b, rb)) = (w[0], w[1]);
                let cut = b.min(end_s);
                let r_cut = ra + (rb - ra) * (cut - a) / (b - a);
                (cut - a) * (ra + r_cut) / 2.0
            })
            .sum();
        before + between + after
    }
}

impl Config {
    /// The fewest events this configuration's run takes (see the module's documentation).
    pub fn event_floor(&self) -> EventFloor {
        let (traffic, end, bg) = (&self.traffic, self.traffic_end, &self.background);
        let shoppers = traffic.expected_arrivals(0.0, 1.0, end);
        let background_writes =
            traffic.expected_arrivals(bg.writes_per_s, bg.writes_per_shopper, end);
        let background_reads = traffic.expected_arrivals(bg.reads_per_s, bg.reads_per_shopper, end);
        let sessions = self.profiles.sessions_per_s * end.as_secs_f64();
        let replicas = self.replicas.len() as f64;
        // What the arithmetic path spares of each background request.
        let own = match self.background_mode {
            BackgroundMode::Events => 3.0,
            BackgroundMode::Lazy => 0.0,
        };
        let (read_events, write_events) = (own, own + 2.0 * replicas);
        let events = 3.0 * shoppers
            + write_events * background_writes
            + read_events * background_reads
            + 3.0 * sessions;
        EventFloor {
            shoppers,
            background_writes,
            background_reads,
            sessions,
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_arrivals_integrate_the_profile_piece_by_piece() {
        // 10/s for 60 s, a ramp to 100/s over 60 s, flat to 300 s: 600 + 3300 + 18000.
        let p = Traffic::from_secs(&[(0, 10.0), (60, 10.0), (120, 100.0)]);
        assert_eq!(
            p.expected_arrivals(0.0, 1.0, SimTime::from_secs(300)),
            21_900.0
        );
        // Cut in the middle of the ramp: 600 + (10 + 55) / 2 × 30.
        assert_eq!(
            p.expected_arrivals(0.0, 1.0, SimTime::from_secs(90)),
            1_575.0
        );
        // 2/s of its own plus half the profile, over the first 60 s: 120 + 300.
        assert_eq!(p.expected_arrivals(2.0, 0.5, SimTime::from_secs(60)), 420.0);
        // Before the first point the rate is the first point's.
        let late = Traffic::from_secs(&[(100, 4.0)]);
        assert_eq!(
            late.expected_arrivals(0.0, 1.0, SimTime::from_secs(200)),
            800.0
        );
    }
}
