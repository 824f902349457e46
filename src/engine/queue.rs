//! The pending-event queue, ordered by (time, insertion sequence).
//!
//! Ties at the same instant run in the order they were scheduled (FIFO), which makes the order of
//! same-time events a property of the model's logic, not of the heap's internals.
//!
//! The heap holds only small keys (time, sequence, slot); event payloads sit in a slab indexed by
//! slot, reused as events are popped. Sifting moves 24-byte keys instead of whole events.
//!
//! Timers whose delay is a configuration constant (request timeouts, lock timeouts) are pushed
//! with [`EventQueue::push_fixed`] into a FIFO lane per distinct delay: pushed at a
//! non-decreasing "now" with the same delay, a lane is already sorted, so it costs O(1) and keeps
//! thousands of pending timeouts out of the heap. Popping takes the smallest (time, seq) among the
//! heap's top and the lanes' fronts, so the order is exactly what one heap would give.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::time::SimTime;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest (time, seq) first. Sequence numbers are
    /// unique, so the slot never decides.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A priority queue of events keyed by (time, insertion sequence).
pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    payloads: Vec<Option<E>>,
    free: Vec<u32>,
    /// (delay, pending events in time order) for each fixed delay seen.
    lanes: Vec<(u64, VecDeque<(Key, E)>)>,
    next_seq: u64,
}

/// At most this many fixed-delay lanes; further delays fall back to the heap.
const MAX_LANES: usize = 8;

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(n),
            payloads: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
            lanes: Vec::new(),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`; returns its sequence number.
    pub fn push(&mut self, time: SimTime, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.payloads[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot =
                    u32::try_from(self.payloads.len()).expect("fewer than 2^32 pending events");
                self.payloads.push(Some(event));
                slot
            }
        };
        self.heap.push(Key {
            time: time.as_micros(),
            seq,
            slot,
        });
        seq
    }

    /// Schedules `event` at `now + delay_us`, where every call with this `delay_us` comes at a
    /// `now` no earlier than the previous one (a timer whose delay is a constant). Returns its
    /// sequence number.
    pub fn push_fixed(&mut self, now: SimTime, delay_us: u64, event: E) -> u64 {
        let lane = match self.lanes.iter().position(|(d, _)| *d == delay_us) {
            Some(i) => i,
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push((delay_us, VecDeque::new()));
                self.lanes.len() - 1
            }
            None => return self.push(now.after(delay_us), event),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = Key {
            time: now.after(delay_us).as_micros(),
            seq,
            slot: u32::MAX,
        };
        let queue = &mut self.lanes[lane].1;
        assert!(
            queue.back().is_none_or(|(k, _)| k.time <= key.time),
            "push_fixed with a delay of {delay_us} µs went back in time"
        );
        queue.push_back((key, event));
        seq
    }

    /// The lane whose front comes before every other lane's front and the heap's top, if any.
    fn earliest_lane(&self) -> Option<usize> {
        let mut best: Option<(usize, Key)> = None;
        for (i, (_, q)) in self.lanes.iter().enumerate() {
            if let Some(&(k, _)) = q.front()
                && best.is_none_or(|(_, b)| k > b)
            {
                best = Some((i, k));
            }
        }
        // Keys compare reversed: "greater" is earlier.
        match (best, self.heap.peek()) {
            (Some((i, k)), Some(top)) if k > *top => Some(i),
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// Removes and returns the earliest event with its time and sequence number.
    pub fn pop(&mut self) -> Option<(SimTime, u64, E)> {
        if let Some(lane) = self.earliest_lane() {
            let (key, event) = self.lanes[lane]
                .1
                .pop_front()
                .expect("the lane has a front");
            return Some((SimTime::from_micros(key.time), key.seq, event));
        }
        let key = self.heap.pop()?;
        let event = self.payloads[key.slot as usize]
            .take()
            .expect("a pending key has a payload");
        self.free.push(key.slot);
        Some((SimTime::from_micros(key.time), key.seq, event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        let lanes = self
            .lanes
            .iter()
            .filter_map(|(_, q)| q.front().map(|(k, _)| k.time));
        let heap = self.heap.peek().map(|k| k.time);
        lanes.chain(heap).min().map(SimTime::from_micros)
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|(_, q)| q.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_fifo_within_a_tie() {
        let mut q = EventQueue::new();
        q.push(SimTime(30), 'c');
        q.push(SimTime(10), 'a');
        q.push(SimTime(30), 'd');
        q.push(SimTime(10), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn sequence_numbers_count_every_push() {
        let mut q = EventQueue::new();
        assert_eq!(q.push(SimTime(5), ()), 0);
        assert_eq!(q.push(SimTime(1), ()), 1);
        assert_eq!(q.pop().map(|(t, s, _)| (t, s)), Some((SimTime(1), 1)));
        assert_eq!(q.peek_time(), Some(SimTime(5)));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn fixed_delay_lanes_interleave_with_the_heap_in_time_then_sequence_order() {
        let mut q = EventQueue::new();
        let mut reference = Vec::new();
        // Pushes at a non-decreasing "now": some with fixed delays, some arbitrary.
        for i in 0..300u64 {
            let now = SimTime(i * 7);
            let (t, seq) = match i % 4 {
                0 => (now.after(50), q.push_fixed(now, 50, i)),
                1 => (now.after(13), q.push_fixed(now, 13, i)),
                2 => (now.after(i % 17 * 5), q.push(now.after(i % 17 * 5), i)),
                _ => (now.after(50), q.push(now.after(50), i)),
            };
            reference.push((t, seq, i));
        }
        reference.sort();
        assert_eq!(q.len(), 300);
        let got: Vec<(SimTime, u64, u64)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, reference);
        assert!(q.is_empty());
    }

    #[test]
    fn pops_in_the_same_order_as_a_sorted_reference() {
        use crate::engine::{SimRng, StreamId};
        let mut rng = SimRng::stream(11, StreamId::new("queue-test", 0));
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut now = 0;
        for i in 0..20_000u64 {
            // Mostly pushes, some pops, many equal times (to exercise the FIFO tie-break).
            if rng.below(3) == 0 {
                let got = q.pop().map(|(t, seq, e)| (t.as_micros(), seq, e));
                let want = reference.pop_first();
                assert_eq!(got, want);
                if let Some((t, _, _)) = got {
                    now = t;
                }
            } else {
                let t = now + rng.below(50);
                let seq = q.push(SimTime(t), i);
                reference.insert((t, seq, i));
            }
        }
        while let Some(want) = reference.pop_first() {
            assert_eq!(
                q.pop().map(|(t, seq, e)| (t.as_micros(), seq, e)),
                Some(want)
            );
        }
        assert!(q.is_empty());
    }

    #[test]
    fn slots_are_reused_without_mixing_payloads() {
        let mut q = EventQueue::new();
        for round in 0..100u64 {
            q.push(SimTime(10_000 + round), round * 2 + 1);
            q.push(SimTime(round * 10), round * 2);
            assert_eq!(q.pop().map(|(_, _, e)| e), Some(round * 2));
        }
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(rest, (0..100).map(|r| r * 2 + 1).collect::<Vec<_>>());
        assert!(
            q.payloads.len() <= 101,
            "slots were reused: {}",
            q.payloads.len()
        );
    }
}
