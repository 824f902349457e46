//! The pending-event queue, ordered by (time, insertion sequence).
//!
//! Ties at the same instant run in the order they were scheduled (FIFO), which makes the order of
//! same-time events a property of the model's logic, not of the heap's internals. One exception,
//! also by construction: events pushed with [`EventQueue::push_first`] run before every other
//! event of their instant (FIFO among themselves). A world uses it for work it may also account
//! for without events (background load advanced as arithmetic), so that both ways agree on what
//! happened first at an instant: the sequence number's top bit is set for every other event.
//!
//! A simulation never schedules an event before the one it is handling, so the keys popped only
//! grow. That lets the queue be a *radix heap* instead of a comparison heap: an entry lives in the
//! bucket numbered by the highest bit in which its key differs from the last key popped. A push is
//! one XOR, one leading-zero count and a vector push; a pop takes the lowest non-empty bucket
//! (a bit mask says which), finds its smallest key and spreads the rest into lower buckets. An
//! entry moves down at most 128 times in its life and in practice a few, sequentially in memory,
//! with none of the unpredictable branches of sifting through a binary heap (which took a third
//! of a black-friday run's time; see docs/performance.md).
//!
//! The key is the pair (time, sequence) read as one 128-bit number: buckets 1..=64 hold keys that
//! differ from the last only in the sequence number (the same instant), 65..=128 those that differ
//! in time.
//!
//! Timers whose delay is a configuration constant (request timeouts, lock timeouts) are pushed
//! with [`EventQueue::push_fixed`] into a FIFO lane per distinct delay: pushed at a
//! non-decreasing "now" with the same delay, a lane is already sorted, so it costs O(1). A lane's
//! front enters the radix heap only once it falls within the heap's lowest occupied bucket, so a
//! 3-second timeout is not moved down bucket after bucket for 3 seconds (most are moot by then
//! anyway). Popping takes the smallest key among the heap and the lanes' fronts, so the order is
//! exactly what one heap would give.

use std::collections::VecDeque;

use super::time::SimTime;

/// One pending event's key; the event itself waits in `payloads[slot]`, so that spreading a
/// bucket moves 24 bytes per entry rather than the whole event.
#[derive(Clone, Copy)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

/// A priority queue of events keyed by (time, insertion sequence), for keys that never go below
/// the last one popped.
pub struct EventQueue<E> {
    /// `buckets[0]` holds at most the entry equal to the last key; `buckets[b]` entries whose
    /// key first differs from it in bit `b - 1` of the 128-bit key.
    buckets: Box<[Vec<Entry>; BUCKETS]>,
    /// Bit `b - 1` set when `buckets[b]` (b ≥ 1) is non-empty.
    occupied: u128,
    last_time: u64,
    last_seq: u64,
    payloads: Vec<Option<E>>,
    /// Slots of `payloads` free for reuse.
    free: Vec<u32>,
    /// (delay, pending keys in key order) for each fixed delay seen.
    lanes: Vec<(u64, VecDeque<Entry>)>,
    next_seq: u64,
}

/// At most this many fixed-delay lanes; further delays go to the radix heap.
const MAX_LANES: usize = 8;

/// The 128-bit key of (time, sequence).
#[inline]
fn key(time: u64, seq: u64) -> u128 {
    (u128::from(time) << 64) | u128::from(seq)
}

const BUCKETS: usize = 129;

/// Set in the sequence number of every event not pushed with [`EventQueue::push_first`], so
/// that those come first at their instant; cleared again when the event is popped.
const LATER: u64 = 1 << 63;

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self {
            buckets: Box::new(std::array::from_fn(|_| Vec::new())),
            occupied: 0,
            last_time: 0,
            last_seq: 0,
            payloads: Vec::new(),
            free: Vec::new(),
            lanes: Vec::new(),
            next_seq: 0,
        }
    }

    /// A queue that expects about `n` pending events. Buckets grow on demand and keep their
    /// capacity, so this only saves the first few reallocations.
    pub fn with_capacity(n: usize) -> Self {
        let mut q = Self::new();
        q.payloads.reserve(n);
        q.free.reserve(n);
        // Far-off events (timeouts, think times) gather in the high buckets.
        for b in &mut q.buckets[64..] {
            b.reserve(n / 64);
        }
        q
    }

    /// The bucket of a key, relative to the last key popped.
    #[inline]
    fn bucket(&self, time: u64, seq: u64) -> usize {
        let dt = time ^ self.last_time;
        if dt != 0 {
            128 - dt.leading_zeros() as usize
        } else {
            64 - (seq ^ self.last_seq).leading_zeros() as usize
        }
    }

    #[inline]
    fn insert(&mut self, entry: Entry) {
        let b = self.bucket(entry.time, entry.seq);
        if b > 0 {
            self.occupied |= 1 << (b - 1);
        }
        self.buckets[b].push(entry);
    }

    /// Schedules `event` at `time`; returns its sequence number.
    ///
    /// # Panics
    /// If `time` is before the last event popped: the queue only moves forward.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) -> u64 {
        let time = time.as_micros();
        let seq = self.next_seq_at(time) | LATER;
        let slot = self.store(event);
        self.insert(Entry { time, seq, slot });
        seq & !LATER
    }

    /// Schedules `event` at `time` ahead of every event pushed with [`EventQueue::push`] or
    /// [`EventQueue::push_fixed`] at the same instant; returns its sequence number.
    ///
    /// # Panics
    /// If `time` is before the last event popped, or is its instant and that event was not
    /// itself pushed first (its turn has passed).
    #[inline]
    pub fn push_first(&mut self, time: SimTime, event: E) -> u64 {
        let time = time.as_micros();
        assert!(
            time > self.last_time || self.last_seq & LATER == 0,
            "an event to run first at {time} µs was pushed after a later one of that instant ran"
        );
        let seq = self.next_seq_at(time);
        let slot = self.store(event);
        self.insert(Entry { time, seq, slot });
        seq
    }

    /// The sequence number of a key at `time`, which must not be before the last key popped.
    #[inline]
    fn next_seq_at(&mut self, time: u64) -> u64 {
        assert!(
            time >= self.last_time,
            "an event was pushed at {time} µs, before the last one popped ({} µs)",
            self.last_time
        );
        let seq = self.next_seq;
        self.next_seq += 1;
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
        let time = now.after(delay_us).as_micros();
        let seq = self.next_seq_at(time) | LATER;
        let slot = self.store(event);
        let queue = &mut self.lanes[lane].1;
        assert!(
            queue.back().is_none_or(|e| e.time <= time),
            "push_fixed with a delay of {delay_us} µs went back in time"
        );
        queue.push_back(Entry { time, seq, slot });
        seq & !LATER
    }

    /// Parks `event` in a free payload slot.
    #[inline]
    fn store(&mut self, event: E) -> u32 {
        match self.free.pop() {
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
        }
    }

    /// Removes and returns the earliest event if it is due before `limit`; otherwise leaves the
    /// queue as it was (nothing is popped, so later pushes may still come before it).
    #[inline]
    pub fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, u64, E)> {
        let entry = self.pop_entry(key(limit.as_micros(), 0))?;
        Some(self.take(entry))
    }

    /// Removes and returns the earliest event with its time and sequence number.
    pub fn pop(&mut self) -> Option<(SimTime, u64, E)> {
        let entry = self.pop_entry(u128::MAX)?;
        Some(self.take(entry))
    }

    #[inline]
    fn take(&mut self, Entry { time, seq, slot }: Entry) -> (SimTime, u64, E) {
        let event = self.payloads[slot as usize]
            .take()
            .expect("a pending key has a payload");
        self.free.push(slot);
        (SimTime::from_micros(time), seq & !LATER, event)
    }

    /// Removes the earliest key if it is below `limit`, leaving its payload in place.
    #[inline]
    fn pop_entry(&mut self, limit: u128) -> Option<Entry> {
        let Some(lane) = self.earliest_lane() else {
            return self.pop_heap(limit);
        };
        let front = *self.lanes[lane].1.front().expect("the lane has a front");
        let k = key(front.time, front.seq);
        if self.heap_is_empty() || k < self.heap_lower_bound() {
            if k >= limit {
                return None;
            }
            self.lanes[lane].1.pop_front();
            return Some(front);
        }
        // Not clearly first: let the heap order it with its smallest keys. It comes no later
        // than every other lane's front, so the heap's smallest is the smallest of all.
        self.lanes[lane].1.pop_front();
        self.insert(front);
        self.pop_heap(limit)
    }

    /// The lane whose front has the smallest key, if any lane has one.
    #[inline]
    fn earliest_lane(&self) -> Option<usize> {
        let mut best: Option<(usize, u128)> = None;
        for (i, (_, q)) in self.lanes.iter().enumerate() {
            if let Some(e) = q.front() {
                let k = key(e.time, e.seq);
                if best.is_none_or(|(_, b)| k < b) {
                    best = Some((i, k));
                }
            }
        }
        best.map(|(i, _)| i)
    }

    fn heap_is_empty(&self) -> bool {
        self.occupied == 0 && self.buckets[0].is_empty()
    }

    /// A key no greater than any in the heap: bucket 0's key itself, or the smallest key bucket
    /// `b` can hold (the last key's bits above `b - 1`, then bit `b - 1` set, then zeros).
    #[inline]
    fn heap_lower_bound(&self) -> u128 {
        let last = key(self.last_time, self.last_seq);
        if !self.buckets[0].is_empty() {
            return last;
        }
        let bit = self.occupied.trailing_zeros();
        ((last >> bit) | 1) << bit
    }

    /// Removes the heap's smallest key if it is below `limit`: it sits in the lowest occupied
    /// bucket; the rest of that bucket moves to lower buckets, relative to it. A smallest key at
    /// or above `limit` is left where it is, and so is everything else.
    #[inline]
    fn pop_heap(&mut self, limit: u128) -> Option<Entry> {
        // Only the very first key, (0, 0), can equal the last key.
        if let Some(&entry) = self.buckets[0].last() {
            return (key(entry.time, entry.seq) < limit).then(|| self.buckets[0].pop())?;
        }
        if self.occupied == 0 || self.heap_lower_bound() >= limit {
            return None;
        }
        let b = self.occupied.trailing_zeros() as usize + 1;
        let bucket = &mut self.buckets[b];
        let mut best = 0;
        for (i, e) in bucket.iter().enumerate().skip(1) {
            let m = &bucket[best];
            if (e.time, e.seq) < (m.time, m.seq) {
                best = i;
            }
        }
        if key(bucket[best].time, bucket[best].seq) >= limit {
            return None;
        }
        self.occupied &= !(1 << (b - 1));
        let min = bucket.swap_remove(best);
        (self.last_time, self.last_seq) = (min.time, min.seq);
        if !bucket.is_empty() {
            // Every entry shares the bits above `b - 1` with the old last key and with `min`,
            // so each lands in a bucket below `b`.
            let mut rest = std::mem::take(bucket);
            for entry in rest.drain(..) {
                self.insert(entry);
            }
            // Hand the (empty) vector back so that its capacity is reused.
            self.buckets[b] = rest;
        }
        Some(min)
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        let heap = if let Some(e) = self.buckets[0].last() {
            Some(e.time)
        } else if self.occupied == 0 {
            None
        } else {
            let b = self.occupied.trailing_zeros() as usize + 1;
            self.buckets[b].iter().map(|e| e.time).min()
        };
        let lanes = self
            .lanes
            .iter()
            .filter_map(|(_, q)| q.front().map(|e| e.time));
        lanes.chain(heap).min().map(SimTime::from_micros)
    }

    pub fn len(&self) -> usize {
        self.payloads.len() - self.free.len()
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
    fn pop_before_leaves_a_later_event_where_it_was() {
        // Against a queue that is only popped: every interleaving of refused `pop_before`s must
        // give the same sequence, from the heap and from a fixed-delay lane alike.
        let fill = |q: &mut EventQueue<char>| {
            q.push(SimTime(20), 'b');
            q.push_fixed(SimTime(0), 20, 'c');
            q.push(SimTime(10), 'a');
            q.push_fixed(SimTime(5), 20, 'd');
            q.push(SimTime(25), 'e');
        };
        let mut plain = EventQueue::new();
        fill(&mut plain);
        let expected: Vec<(SimTime, u64, char)> = std::iter::from_fn(|| plain.pop()).collect();
        let mut q = EventQueue::new();
        fill(&mut q);
        let mut got = Vec::new();
        for limit in [5, 10, 11, 20, 20, 21, 25, 26, 26] {
            assert!(
                q.pop_before(SimTime(5)).is_none(),
                "nothing is due before 5 µs"
            );
            if let Some(popped) = q.pop_before(SimTime(limit)) {
                assert!(popped.0 < SimTime(limit));
                got.push(popped);
            }
        }
        assert_eq!(got, expected);
        assert!(q.is_empty());
    }

    #[test]
    fn events_pushed_first_run_before_the_rest_of_their_instant_in_fifo_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), 'c');
        q.push_fixed(SimTime(0), 10, 'd');
        q.push_first(SimTime(10), 'a');
        q.push(SimTime(5), 'x');
        q.push_first(SimTime(10), 'b');
        q.push_first(SimTime(11), 'e');
        let (t, _, first) = q.pop().expect("x");
        assert_eq!((t, first), (SimTime(5), 'x'));
        // At 10 µs 'a' pops first, and another first event of that instant may still be pushed.
        assert_eq!(q.pop().map(|(_, s, e)| (s, e)), Some((2, 'a')));
        q.push_first(SimTime(10), 'a');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, vec!['b', 'a', 'c', 'd', 'e']);
    }

    #[test]
    #[should_panic(expected = "pushed after a later one of that instant ran")]
    fn an_event_cannot_be_pushed_first_once_its_instant_has_moved_on() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), 'a');
        q.pop();
        q.push_first(SimTime(10), 'b');
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
    fn far_and_near_keys_interleave_in_time_then_sequence_order() {
        let mut q = EventQueue::new();
        let mut reference = Vec::new();
        // Pushes at a non-decreasing "now", with delays from 0 to ~2^45 µs (a year), many equal.
        for i in 0..3_000u64 {
            let now = SimTime(i * 7);
            let delay = match i % 5 {
                0 => 0,
                1 => 50,
                2 => (i % 17) * 5,
                3 => 1 << (i % 46),
                _ => i.wrapping_mul(0x9e37_79b9) % 1_000_000,
            };
            let t = now.after(delay);
            reference.push((t, q.push(t, i), i));
        }
        reference.sort();
        assert_eq!(q.len(), 3_000);
        let got: Vec<(SimTime, u64, u64)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, reference);
        assert!(q.is_empty());
    }

    #[test]
    #[should_panic(expected = "before the last one popped")]
    fn a_push_into_the_past_panics() {
        let mut q = EventQueue::new();
        q.push(SimTime(10), ());
        q.pop();
        q.push(SimTime(9), ());
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
    fn peek_time_sees_the_earliest_without_popping_it() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_time(), None);
        q.push(SimTime(500), 'b');
        q.push(SimTime(70), 'a');
        q.push(SimTime(1 << 40), 'c');
        assert_eq!(q.peek_time(), Some(SimTime(70)));
        assert_eq!(q.pop().map(|(t, _, e)| (t, e)), Some((SimTime(70), 'a')));
        assert_eq!(q.peek_time(), Some(SimTime(500)));
        q.push(SimTime(70), 'z');
        assert_eq!(q.peek_time(), Some(SimTime(70)));
        let rest: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(rest, vec!['z', 'b', 'c']);
    }
}
