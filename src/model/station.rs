//! A station: `k` identical slots that serve jobs one at a time each, in arrival order.
//!
//! The primary's worker pool, each replica's execution slots (shared by its reads and its
//! applier) and each saga service's workers are stations. The station owns who is served when:
//! the slots, the FIFO queue, how long each job waited, and how busy the slots were. It does not
//! own what a job takes or does: the node draws a started job's service time, schedules its
//! completion, and tells the station when it completes.

use std::collections::VecDeque;

use crate::engine::{Histogram, SimTime};

pub struct Station<J> {
    slots: u32,
    busy: u32,
    /// Jobs waiting for a slot, with the time each arrived.
    queue: VecDeque<(J, SimTime)>,
    /// Slot-time spent busy up to `busy_since` (µs).
    busy_us: u128,
    busy_since: SimTime,
    /// Every started job's wait for a slot (µs; 0 for a job that found one free).
    pub wait_us: Histogram,
}

impl<J> Station<J> {
    pub fn new(slots: u32) -> Self {
        Self {
            slots,
            busy: 0,
            queue: VecDeque::new(),
            busy_us: 0,
            busy_since: SimTime::ZERO,
            wait_us: Histogram::new(),
        }
    }

    /// Slot-time accounting: called before `busy` changes.
    fn account(&mut self, now: SimTime) {
        self.busy_us += u128::from(self.busy) * u128::from(now.since(self.busy_since));
        self.busy_since = now;
    }

    /// `job` arrives at `now`. If a slot is free it starts now and is handed back (the caller
    /// draws its service time and schedules its completion); otherwise it waits its turn.
    pub fn arrive(&mut self, now: SimTime, job: J) -> Option<J> {
        if self.busy < self.slots {
            self.account(now);
            self.busy += 1;
            self.wait_us.record(0);
            Some(job)
        } else {
            self.queue.push_back((job, now));
            None
        }
    }

    /// A job in service completes at `now` and frees its slot; the next waiting job, if any,
    /// takes the slot now and is handed back to be started.
    pub fn complete(&mut self, now: SimTime) -> Option<J> {
        debug_assert!(self.busy > 0, "a completion without a job in service");
        match self.queue.pop_front() {
            Some((job, arrived)) => {
                self.wait_us.record(now.since(arrived));
                Some(job)
            }
            None => {
                self.account(now);
                self.busy -= 1;
                None
            }
        }
    }

    /// Every job waiting or in service is gone (a crash): the slots are free.
    pub fn reset(&mut self, now: SimTime) {
        self.account(now);
        self.queue.clear();
        self.busy = 0;
    }

    /// Jobs in service.
    #[cfg(test)]
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Jobs waiting for a slot.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Share of slot-time spent busy over [0, end].
    pub fn utilisation(&mut self, end: SimTime) -> f64 {
        self.account(end);
        let capacity = u128::from(self.slots) * u128::from(end.as_micros());
        if capacity == 0 {
            0.0
        } else {
            self.busy_us as f64 / capacity as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn jobs_start_while_slots_are_free_then_wait_in_arrival_order() {
        let mut s = Station::new(2);
        assert_eq!(s.arrive(t(0), 'a'), Some('a'));
        assert_eq!(s.arrive(t(1), 'b'), Some('b'));
        assert_eq!(s.arrive(t(2), 'c'), None);
        assert_eq!(s.arrive(t(3), 'd'), None);
        assert_eq!((s.busy(), s.waiting()), (2, 2));
        // Each completion hands its slot to the oldest waiting job.
        assert_eq!(s.complete(t(10)), Some('c'));
        assert_eq!(s.complete(t(11)), Some('d'));
        assert_eq!(s.complete(t(12)), None);
        assert_eq!((s.busy(), s.waiting()), (1, 0));
        // c waited 8 ms, d 8 ms, a and b nothing.
        assert_eq!(s.wait_us.count(), 4);
        assert_eq!(s.wait_us.max(), 8_000);
        assert_eq!(s.wait_us.min(), 0);
    }

    #[test]
    fn utilisation_integrates_busy_slots_over_time() {
        let mut s = Station::new(2);
        s.arrive(t(0), ());
        s.arrive(t(0), ());
        s.complete(t(50));
        s.complete(t(100));
        // 2 slots busy for 50 ms, 1 for 50 ms: 150 of 200 slot-ms in [0, 100 ms].
        assert_eq!(s.utilisation(t(100)), 0.75);
        // Idle since: 150 of 400 slot-ms in [0, 200 ms].
        assert_eq!(s.utilisation(t(200)), 0.375);
    }

    #[test]
    fn a_reset_frees_every_slot_and_forgets_the_queue() {
        let mut s = Station::new(1);
        s.arrive(t(0), 1);
        s.arrive(t(0), 2);
        s.reset(t(5));
        assert_eq!((s.busy(), s.waiting()), (0, 0));
        assert_eq!(s.arrive(t(6), 3), Some(3));
    }
}
