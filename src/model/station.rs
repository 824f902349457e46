//! A station: `k` identical slots that serve jobs one at a time each, in arrival order.
//!
//! The primary's worker pool, each replica's execution slots (shared by its reads and its
//! applier) and each saga service's workers are stations. The station owns who is served when;
//! it does not own what a job takes or does: the node draws a job's service time when it arrives
//! and schedules the job's completion for the instant the station names, and counts the job's
//! wait (its start less its arrival) if it reports one.
//!
//! A first-come-first-served queue in front of `k` slots needs no queue at all, only each slot's
//! next free instant (the Kiefer–Wolfowitz recursion, Lindley's for `k = 1`): a job arriving at
//! `a` with service `s` takes the slot that frees first, starts at `max(a, free)` and holds it
//! until `start + s`. Jobs start in arrival order, exactly as if they had waited in line, so a
//! job's start and end are known the moment it arrives. That is what lets background load run as
//! arithmetic: the same recursion, fed by draws instead of events, gives the same instants.
//! Jobs arriving at the same instant are served in the order they are admitted.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::engine::SimTime;

/// When an admitted job starts and ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visit {
    pub start: SimTime,
    pub end: SimTime,
}

pub struct Station {
    slots: u32,
    /// Slots free by the last admission's instant (alike: which one a job takes changes
    /// nothing).
    idle: u32,
    /// The other slots' next free instants, soonest on top. A mostly idle station (the primary
    /// may have a thousand workers) admits in constant time; a busy one in log(slots).
    busy: BinaryHeap<Reverse<SimTime>>,
    /// Slot-time of every admitted job (µs), including what lies after the last instant asked.
    busy_us: u128,
}

impl Station {
    /// A station of `slots` slots (at least one).
    pub fn new(slots: u32) -> Self {
        assert!(slots > 0, "a station has at least one slot");
        Self {
            slots,
            idle: slots,
            busy: BinaryHeap::new(),
            busy_us: 0,
        }
    }

    /// A job arrives at `now` needing `service_us` of a slot: when it will start and end.
    /// Arrivals come in time order.
    #[inline]
    pub fn admit(&mut self, now: SimTime, service_us: u64) -> Visit {
        while let Some(&Reverse(t)) = self.busy.peek()
            && t <= now
        {
            self.busy.pop();
            self.idle += 1;
        }
        let start = if self.idle > 0 {
            self.idle -= 1;
            now
        } else {
            self.busy.pop().expect("every slot is busy").0
        };
        let end = start.after(service_us);
        if end > now {
            self.busy.push(Reverse(end));
        } else {
            self.idle += 1;
        }
        self.busy_us += u128::from(service_us);
        Visit { start, end }
    }

    /// Every job waiting or in service is gone at `now` (a crash): the slots are free, and the
    /// work they would have done after `now` is not counted as busy.
    pub fn reset(&mut self, now: SimTime) {
        self.busy_us -= self.booked_after(now);
        self.busy.clear();
        self.idle = self.slots;
    }

    /// Slot-time booked after `at`, no earlier than the last admission. A slot free after `at`
    /// is busy without a gap from `at` until then: every job on it arrived by `at`, so each
    /// started as soon as the one before it ended or at its arrival, before `at`.
    fn booked_after(&self, at: SimTime) -> u128 {
        self.busy
            .iter()
            .map(|&Reverse(t)| u128::from(t.since(at.min(t))))
            .sum()
    }

    /// Jobs in service at `now` (admitted before now, ending after it).
    #[cfg(test)]
    pub fn busy(&self, now: SimTime) -> usize {
        self.busy.iter().filter(|t| t.0 > now).count()
    }

    /// Share of slot-time spent busy over [0, end], for a station whose jobs all arrived by
    /// `end`.
    pub fn utilisation(&self, end: SimTime) -> f64 {
        let capacity = u128::from(self.slots) * u128::from(end.as_micros());
        if capacity == 0 {
            0.0
        } else {
            (self.busy_us - self.booked_after(end)) as f64 / capacity as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    fn visit(start: u64, end: u64) -> Visit {
        Visit {
            start: t(start),
            end: t(end),
        }
    }

    #[test]
    fn jobs_start_while_slots_are_free_then_in_arrival_order_as_slots_free() {
        let mut s = Station::new(2);
        let mut waits = Vec::new();
        let mut admit = |s: &mut Station, at: u64, service_us: u64| {
            let v = s.admit(t(at), service_us);
            waits.push(v.start.since(t(at)));
            v
        };
        assert_eq!(admit(&mut s, 0, 10_000), visit(0, 10));
        assert_eq!(admit(&mut s, 1, 10_000), visit(1, 11));
        // Both slots busy: c takes the slot that frees first (at 10), d the next (at 11).
        assert_eq!(admit(&mut s, 2, 5_000), visit(10, 15));
        assert_eq!(admit(&mut s, 3, 1_000), visit(11, 12));
        // e arrives after d's slot freed (12) but before c's (15).
        assert_eq!(admit(&mut s, 13, 1_000), visit(13, 14));
        assert_eq!(s.busy(t(13)), 2);
        // c waited 8 ms, d 8 ms, the others nothing.
        assert_eq!(waits.len(), 5);
        assert_eq!(waits.iter().max(), Some(&8_000));
        assert_eq!(waits.iter().min(), Some(&0));
    }

    /// Against an independent route: jobs waiting in a FIFO line in front of 3 servers, replayed
    /// event by event (arrivals and completions in time order, completions first at a tie).
    #[test]
    fn the_recursion_is_a_fifo_queue_in_front_of_k_slots() {
        let mut arrival = 0;
        let jobs: Vec<(u64, u64)> = (0..300u64)
            .map(|i| {
                arrival += (i * i) % 13; // some arrive together
                (arrival, 3 + (i * 37) % 29)
            })
            .collect();
        let mut s = Station::new(3);
        let starts: Vec<u64> = jobs
            .iter()
            .map(|&(a, x)| s.admit(SimTime(a), x).start.as_micros())
            .collect();
        let reference = replay_fifo(&jobs, 3);
        assert!(
            starts.iter().zip(&jobs).filter(|(s, j)| **s > j.0).count() > 50,
            "the example must queue"
        );
        assert_eq!(starts, reference);
    }

    /// Start times of `jobs` (arrival, service) in a FIFO line in front of `k` servers.
    fn replay_fifo(jobs: &[(u64, u64)], k: usize) -> Vec<u64> {
        use std::cmp::Reverse;
        use std::collections::{BinaryHeap, VecDeque};
        let mut starts = vec![0; jobs.len()];
        let mut ends: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
        let mut line: VecDeque<usize> = VecDeque::new();
        let mut next = 0;
        while next < jobs.len() || !line.is_empty() {
            let arrival = jobs.get(next).map_or(u64::MAX, |j| j.0);
            match ends.peek() {
                Some(&Reverse(end)) if end <= arrival || next == jobs.len() => {
                    ends.pop();
                    if let Some(j) = line.pop_front() {
                        starts[j] = end;
                        ends.push(Reverse(end + jobs[j].1));
                    }
                }
                _ if ends.len() < k && line.is_empty() => {
                    starts[next] = arrival;
                    ends.push(Reverse(arrival + jobs[next].1));
                    next += 1;
                }
                _ => {
                    line.push_back(next);
                    next += 1;
                }
            }
        }
        starts
    }

    #[test]
    fn utilisation_integrates_busy_slots_over_time() {
        let mut s = Station::new(2);
        s.admit(t(0), 50_000);
        s.admit(t(0), 100_000);
        // 2 slots busy for 50 ms, 1 for 50 ms: 150 of 200 slot-ms in [0, 100 ms].
        assert_eq!(s.utilisation(t(100)), 0.75);
        // Idle since: 150 of 400 slot-ms in [0, 200 ms].
        assert_eq!(s.utilisation(t(200)), 0.375);
        // Halfway through the second job: 50 + 50 of 200 slot-ms.
        assert_eq!(s.utilisation(t(50)), 1.0);
    }

    #[test]
    fn a_reset_frees_every_slot_and_forgets_the_work_booked_after_it() {
        let mut s = Station::new(1);
        s.admit(t(0), 10_000);
        s.admit(t(0), 10_000);
        s.reset(t(5));
        assert_eq!(s.busy(t(5)), 0);
        assert_eq!(s.admit(t(6), 1_000), visit(6, 7));
        // Busy 0–5 ms and 6–7 ms: 6 of 10 slot-ms.
        assert_eq!(s.utilisation(t(10)), 0.6);
    }
}
