//! The run loop: pops events in (time, seq) order, hands each to the world, and schedules the
//! effects the world returns. It owns the clock and the queue; the world never touches either.

use std::fmt;

use super::hash::{TraceHasher, TraceSink, Traced};
use super::queue::EventQueue;
use super::time::SimTime;

/// A simulated world: all state, and the rule for handling one event.
pub trait World {
    type Event: Copy + Traced;
    /// Handles `event` at `now`, pushing any follow-up events into `out`.
    fn handle(&mut self, now: SimTime, event: Self::Event, out: &mut Effects<Self::Event>);

    /// Whether `event` has become moot before its time came: a timeout for a request that was
    /// answered, say. A stale event is dropped without being handled, counted or traced, so
    /// timers need no cancellation and leave no trace. By default nothing is stale.
    fn is_stale(&self, _event: &Self::Event) -> bool {
        false
    }

    /// Whether `event` runs before every other event of its instant (see
    /// [`EventQueue::push_first`](super::queue::EventQueue::push_first)): for work the world may
    /// also account for without events, so that both ways order an instant alike. By default
    /// none does, and ties run in the order they were scheduled.
    fn runs_first(&self, _event: &Self::Event) -> bool {
        false
    }

    /// The next instant at which the world has work of its own, done without an event (work it
    /// accounts for as arithmetic, whose effects may schedule events); `SimTime::MAX` if none.
    /// That work runs before every event of its instant, as if pushed first. By default there
    /// is none.
    fn next_own_work(&self) -> SimTime {
        SimTime::MAX
    }

    /// Does the world's own work due at `now` (the instant [`World::next_own_work`] gave),
    /// pushing any follow-up events into `out`. It is neither counted nor traced as an event.
    fn own_work(&mut self, _now: SimTime, _out: &mut Effects<Self::Event>) {}
}

/// The output buffer of one handler call: events to schedule, as data.
pub struct Effects<E> {
    now: SimTime,
    /// In call order, so that sequence numbers follow the order the handler asked.
    pending: Vec<(When, E)>,
}

enum When {
    At(SimTime),
    /// A constant delay from now.
    Fixed(u64),
}

impl<E> Effects<E> {
    fn new() -> Self {
        Self {
            now: SimTime::ZERO,
            pending: Vec::with_capacity(16),
        }
    }
    /// The time of the event being handled.
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Schedules `event` `delay_us` microseconds from now.
    #[inline]
    pub fn after(&mut self, delay_us: u64, event: E) {
        self.pending
            .push((When::At(self.now.after(delay_us)), event));
    }
    /// Schedules a timer `delay_us` from now, where `delay_us` is a configuration constant (a
    /// timeout) rather than a random draw: such timers are queued at O(1) cost.
    #[inline]
    pub fn after_fixed(&mut self, delay_us: u64, event: E) {
        self.pending.push((When::Fixed(delay_us), event));
    }

    /// Schedules `event` at `time`, which must not be in the past.
    #[inline]
    pub fn at(&mut self, time: SimTime, event: E) {
        assert!(
            time >= self.now,
            "an event was scheduled in the past: {time} < {}",
            self.now
        );
        self.pending.push((When::At(time), event));
    }
}

/// Bounds on one run. Every run has both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// No event may be due after this instant.
    pub horizon: SimTime,
    /// No more than this many events may be processed.
    pub max_events: u64,
}

/// Why a run stopped before its world went quiet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// Events were still pending past the horizon: the world did not finish in time.
    HorizonExceeded {
        horizon: SimTime,
        next_at: SimTime,
        pending: usize,
    },
    /// The event cap was reached.
    EventCapReached { max_events: u64, at: SimTime },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::HorizonExceeded {
                horizon,
                next_at,
                pending,
            } => write!(
                f,
                "the run had not finished by its horizon of {horizon}: {pending} events still \
                 pending, the next at {next_at} (raise `horizon_s`, or shorten the faults or the \
                 traffic that keep it busy)"
            ),
            RunError::EventCapReached { max_events, at } => write!(
                f,
                "the run reached its cap of {max_events} events at {at} (raise `max_events` if the \
                 scenario is really this large)"
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// What a finished run reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub events: u64,
    pub end: SimTime,
    pub trace_hash: u64,
}

/// A sink that ignores everything: an untraced run costs only the hash.
pub struct NoTrace;

impl TraceSink for NoTrace {
    #[inline]
    fn begin(&mut self, _: u64, _: u64, _: &'static str) {}
    #[inline]
    fn u64(&mut self, _: &'static str, _: u64) {}
    #[inline]
    fn i64(&mut self, _: &'static str, _: i64) {}
    #[inline]
    fn str(&mut self, _: &'static str, _: &'static str) {}
    #[inline]
    fn end(&mut self) {}
}

/// Feeds one event to two sinks.
struct Both<'a, A, B>(&'a mut A, &'a mut B);

impl<A: TraceSink, B: TraceSink> TraceSink for Both<'_, A, B> {
    #[inline]
    fn begin(&mut self, t: u64, s: u64, k: &'static str) {
        self.0.begin(t, s, k);
        self.1.begin(t, s, k);
    }
    #[inline]
    fn u64(&mut self, n: &'static str, v: u64) {
        self.0.u64(n, v);
        self.1.u64(n, v);
    }
    #[inline]
    fn i64(&mut self, n: &'static str, v: i64) {
        self.0.i64(n, v);
        self.1.i64(n, v);
    }
    #[inline]
    fn str(&mut self, n: &'static str, v: &'static str) {
        self.0.str(n, v);
        self.1.str(n, v);
    }
    #[inline]
    fn end(&mut self) {
        self.0.end();
        self.1.end();
    }
}

/// A world, its pending events and its clock.
pub struct Sim<W: World> {
    world: W,
    queue: EventQueue<W::Event>,
    effects: Effects<W::Event>,
    now: SimTime,
    events: u64,
    hasher: TraceHasher,
    limits: Limits,
}

impl<W: World> Sim<W> {
    pub fn new(world: W, limits: Limits) -> Self {
        Self {
            world,
            queue: EventQueue::with_capacity(1024),
            effects: Effects::new(),
            now: SimTime::ZERO,
            events: 0,
            hasher: TraceHasher::default(),
            limits,
        }
    }

    /// Schedules an initial event (before the run starts, or from outside the world).
    pub fn schedule(&mut self, time: SimTime, event: W::Event) {
        assert!(time >= self.now, "an event was scheduled in the past");
        enqueue(&self.world, &mut self.queue, time, event);
    }

    pub fn world(&self) -> &W {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut W {
        &mut self.world
    }

    pub fn into_world(self) -> W {
        self.world
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn summary(&self) -> RunSummary {
        RunSummary {
            events: self.events,
            end: self.now,
            trace_hash: self.hasher.value(),
        }
    }

    /// Processes the next event, describing it to `trace` as well as to the hash. Returns the
    /// time of the event processed, or `None` when no events remain.
    pub fn step(&mut self, trace: &mut impl TraceSink) -> Result<Option<SimTime>, RunError> {
        let (time, seq, event) = loop {
            let own = self.world.next_own_work();
            let Some((time, seq, event)) = self.queue.pop_before(own) else {
                if own == SimTime::MAX {
                    return Ok(None);
                }
                self.do_own_work(own)?;
                continue;
            };
            if self.world.is_stale(&event) {
                continue;
            }
            self.within_horizon(time)?;
            if self.events >= self.limits.max_events {
                return Err(RunError::EventCapReached {
                    max_events: self.limits.max_events,
                    at: time,
                });
            }
            break (time, seq, event);
        };
        self.now = time;
        self.events += 1;
        event.trace(time.as_micros(), seq, &mut Both(&mut self.hasher, trace));
        self.effects.now = time;
        self.world.handle(time, event, &mut self.effects);
        self.schedule_effects(time);
        Ok(Some(time))
    }

    /// The world's own work at `now`, which no event of that instant has preceded.
    fn do_own_work(&mut self, now: SimTime) -> Result<(), RunError> {
        self.within_horizon(now)?;
        self.now = now;
        self.effects.now = now;
        self.world.own_work(now, &mut self.effects);
        self.schedule_effects(now);
        Ok(())
    }

    /// Work due at `at` (an event, or the world's own) may run only by the horizon; past it, the
    /// run fails with that work and the queue's events pending.
    fn within_horizon(&self, at: SimTime) -> Result<(), RunError> {
        if at > self.limits.horizon {
            return Err(RunError::HorizonExceeded {
                horizon: self.limits.horizon,
                next_at: at,
                pending: self.queue.len() + 1,
            });
        }
        Ok(())
    }

    /// Queues what the handler that ran at `now` scheduled.
    fn schedule_effects(&mut self, now: SimTime) {
        for (when, e) in self.effects.pending.drain(..) {
            match when {
                When::At(t) => enqueue(&self.world, &mut self.queue, t, e),
                When::Fixed(d) => {
                    self.queue.push_fixed(now, d, e);
                }
            };
        }
    }

    /// Runs until no events remain.
    pub fn run(&mut self) -> Result<RunSummary, RunError> {
        self.run_traced(&mut NoTrace)
    }

    /// Runs until no events remain, describing every event to `trace`.
    pub fn run_traced(&mut self, trace: &mut impl TraceSink) -> Result<RunSummary, RunError> {
        while self.step(trace)?.is_some() {}
        Ok(self.summary())
    }
}

/// Queues `event` at `time`, ahead of the rest of its instant if the world says it runs first.
fn enqueue<W: World>(world: &W, queue: &mut EventQueue<W::Event>, time: SimTime, event: W::Event) {
    if world.runs_first(&event) {
        queue.push_first(time, event);
    } else {
        queue.push(time, event);
    }
}

/// Where two runs that should have been identical first parted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The simulated time of the first event at which the traces differ.
    pub at: SimTime,
    /// How many events both runs had processed identically before it.
    pub identical_events: u64,
}

/// Steps two runs in lockstep and reports the first event at which their traces differ, or `None`
/// if they are identical to the end. Memory stays constant however long the runs are.
pub fn first_divergence<W: World>(
    a: &mut Sim<W>,
    b: &mut Sim<W>,
) -> Result<Option<Divergence>, RunError> {
    loop {
        let before = a.events;
        let (ta, tb) = (a.step(&mut NoTrace)?, b.step(&mut NoTrace)?);
        if ta != tb || a.hasher.value() != b.hasher.value() {
            let at = match (ta, tb) {
                (Some(x), Some(y)) => x.min(y),
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => unreachable!("equal None steps compare equal"),
            };
            return Ok(Some(Divergence {
                at,
                identical_events: before,
            }));
        }
        if ta.is_none() {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ping-pong world: each event schedules the next until a count runs out.
    struct Ticker {
        left: u32,
        period_us: u64,
        seen: Vec<SimTime>,
    }

    #[derive(Clone, Copy)]
    struct Tick(u32);

    impl Traced for Tick {
        fn trace(&self, t: u64, seq: u64, sink: &mut impl TraceSink) {
            sink.begin(t, seq, "tick");
            sink.u64("n", u64::from(self.0));
            sink.end();
        }
    }

    impl World for Ticker {
        type Event = Tick;
        fn handle(&mut self, now: SimTime, ev: Tick, out: &mut Effects<Tick>) {
            self.seen.push(now);
            if self.left > 0 {
                self.left -= 1;
                out.after(self.period_us, Tick(ev.0 + 1));
            }
        }
    }

    fn ticker(left: u32, period_us: u64, limits: Limits) -> Sim<Ticker> {
        let mut sim = Sim::new(
            Ticker {
                left,
                period_us,
                seen: vec![],
            },
            limits,
        );
        sim.schedule(SimTime::ZERO, Tick(0));
        sim
    }

    const WIDE: Limits = Limits {
        horizon: SimTime::MAX,
        max_events: u64::MAX,
    };

    #[test]
    fn runs_to_quiescence_and_counts_events() {
        let mut sim = ticker(3, 10, WIDE);
        let s = sim.run().unwrap();
        assert_eq!(s.events, 4);
        assert_eq!(s.end, SimTime(30));
        assert_eq!(
            sim.world().seen,
            vec![SimTime(0), SimTime(10), SimTime(20), SimTime(30)]
        );
    }

    #[test]
    fn horizon_and_event_cap_are_errors() {
        let horizon = Limits {
            horizon: SimTime(15),
            max_events: u64::MAX,
        };
        assert_eq!(
            ticker(3, 10, horizon).run(),
            Err(RunError::HorizonExceeded {
                horizon: SimTime(15),
                next_at: SimTime(20),
                pending: 1
            })
        );
        let cap = Limits {
            horizon: SimTime::MAX,
            max_events: 2,
        };
        assert_eq!(
            ticker(3, 10, cap).run(),
            Err(RunError::EventCapReached {
                max_events: 2,
                at: SimTime(20)
            })
        );
    }

    /// A ticker with work of its own every 15 µs (not events), each of which schedules a tick
    /// with the number 100 at its own instant.
    struct Chores {
        ticks: Ticker,
        next: SimTime,
        done: Vec<SimTime>,
        /// What ran, in order: `t` for a tick, `o` for own work.
        order: String,
    }

    impl World for Chores {
        type Event = Tick;
        fn handle(&mut self, now: SimTime, ev: Tick, out: &mut Effects<Tick>) {
            self.order.push('t');
            if ev.0 < 100 {
                self.ticks.handle(now, ev, out);
            }
        }
        fn next_own_work(&self) -> SimTime {
            self.next
        }
        fn own_work(&mut self, now: SimTime, out: &mut Effects<Tick>) {
            self.order.push('o');
            self.done.push(now);
            out.at(now, Tick(100));
            self.next = if self.done.len() < 3 {
                now.after(15)
            } else {
                SimTime::MAX
            };
        }
    }

    #[test]
    fn own_work_runs_at_its_instant_before_its_events_and_is_not_counted() {
        let world = Chores {
            ticks: Ticker {
                left: 3,
                period_us: 10,
                seen: vec![],
            },
            next: SimTime(0),
            done: vec![],
            order: String::new(),
        };
        let mut sim = Sim::new(world, WIDE);
        sim.schedule(SimTime::ZERO, Tick(0));
        let s = sim.run().unwrap();
        let w = sim.world();
        assert_eq!(w.done, vec![SimTime(0), SimTime(15), SimTime(30)]);
        // At 0 and at 30 the own work comes before the tick already queued for that instant,
        // and the tick it schedules there runs after that one: 0 o t t, 10 t, 15 o t, 20 t,
        // 30 o t t.
        assert_eq!(w.order, "otttottott");
        assert_eq!((s.events, s.end), (7, SimTime(30)));
    }

    /// A world where odd ticks are stale: they vanish from the run.
    struct OddIsStale(Ticker);

    impl World for OddIsStale {
        type Event = Tick;
        fn handle(&mut self, now: SimTime, ev: Tick, out: &mut Effects<Tick>) {
            self.0.handle(now, ev, out);
            out.after(1, Tick(ev.0 * 2 + 1));
        }
        fn is_stale(&self, ev: &Tick) -> bool {
            ev.0 % 2 == 1
        }
    }

    #[test]
    fn stale_events_are_neither_handled_nor_counted() {
        let world = OddIsStale(Ticker {
            left: 0,
            period_us: 10,
            seen: vec![],
        });
        let mut sim = Sim::new(world, WIDE);
        sim.schedule(SimTime(0), Tick(0));
        sim.schedule(SimTime(5), Tick(2));
        let s = sim.run().unwrap();
        assert_eq!(s.events, 2);
        assert_eq!(s.end, SimTime(5));
        assert_eq!(sim.world().0.seen, vec![SimTime(0), SimTime(5)]);
    }

    #[test]
    fn lockstep_finds_the_first_difference() {
        assert_eq!(
            first_divergence(&mut ticker(5, 10, WIDE), &mut ticker(5, 10, WIDE)),
            Ok(None)
        );
        let d = first_divergence(&mut ticker(5, 10, WIDE), &mut ticker(5, 11, WIDE)).unwrap();
        assert_eq!(
            d,
            Some(Divergence {
                at: SimTime(10),
                identical_events: 1
            })
        );
        let d = first_divergence(&mut ticker(5, 10, WIDE), &mut ticker(3, 10, WIDE)).unwrap();
        assert_eq!(
            d,
            Some(Divergence {
                at: SimTime(40),
                identical_events: 4
            })
        );
    }
}
