//! The node interface: what every simulated component is given and what it may do.
//!
//! A node (the app tier, the primary, each replica, the cache, the saga services) handles one
//! thing at a time — a message that reached it, one of its own timers, or a fault starting or
//! ending — and answers only by writing effects into an [`Out`] buffer: messages to send,
//! timers to set, [`Observation`]s of what it did. The router carries the effects out. A node
//! never touches another node, the event queue, the clock, the network or the metrics; the
//! observers turn its observations into metrics, timelines and histories.
//!
//! Effects keep the order they were written in, per kind: the router schedules every timer of a
//! handler before it hands that handler's messages to the network (so the engine's sequence
//! numbers, and with them the trace, follow the handler's own order).

use super::app::{AppTimer, Purpose};
use super::message::{Answer, Body, Message, Op, ReqRef, RowView, Tag};
use super::monitor::MonitorTimer;
use super::primary::PrimaryTimer;
use super::replica::ReplicaTimer;
use super::services::ServiceTimer;
use super::timeline::ReadFrom;
use super::{Arrival, Event};
use crate::engine::SimTime;
use crate::history::ProcessId;
use crate::scenario::NodeId;

/// A simulated component, handling one thing at a time.
pub trait Node {
    /// The node's own timers; the router brings each back to the node that set it.
    type Timer: Copy;

    /// `msg` reached the node (it is `msg.to`).
    fn on_message(&mut self, now: SimTime, msg: Message, out: &mut Out);

    fn on_timer(&mut self, now: SimTime, timer: Self::Timer, out: &mut Out);

    /// A fault on this node starts (`starts`) or ends. The loader accepts a fault only for a node
    /// that has it, so a node that has none never gets here.
    fn on_fault(&mut self, _now: SimTime, fault: NodeFault, _starts: bool, _out: &mut Out) {
        unreachable!("this node has no {fault:?} fault")
    }

    /// Whether `timer` has become moot before its time came (a timeout for a request that was
    /// answered): the engine then drops it unhandled and untraced.
    fn is_stale(&self, _timer: &Self::Timer) -> bool {
        false
    }
}

/// A fault as the node it strikes sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NodeFault {
    /// The node is down: what it was doing is lost (its links are cut by the fault injector).
    Crash,
    /// A replica's applier stops.
    Pause,
    /// A replica's apply times are multiplied by the factor.
    SlowDown(f64),
}

/// Every node's timers, one variant per node kind: static dispatch, no boxing.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    App(AppTimer),
    Primary(PrimaryTimer),
    Replica(ReplicaTimer),
    Service(ServiceTimer),
}

macro_rules! timer_from {
    ($($kind:ident($t:ty)),*) => {$(
        impl From<$t> for Timer {
            fn from(t: $t) -> Timer {
                Timer::$kind(t)
            }
        }
    )*};
}
timer_from!(
    App(AppTimer),
    Primary(PrimaryTimer),
    Replica(ReplicaTimer),
    Service(ServiceTimer)
);

pub use crate::history::ProcessName;

/// What a node did that an observer may want to know: the model's measurements, as data.
#[derive(Clone, Copy, Debug)]
pub enum Observation {
    /// The primary committed a change of `row`; `by` the request whose statement it was, which
    /// took `taken` units of stock (negative when it added some).
    Committed {
        row: u32,
        view: RowView,
        by: Option<ReqRef>,
        taken: i64,
    },
    /// Replica `replica` applied an entry that left `row` at `stock`, committed at
    /// `committed_at` and applied `lag_us` after it.
    Applied {
        replica: usize,
        row: u32,
        stock: i64,
        committed_at: SimTime,
        lag_us: u64,
    },
    /// A replica or the cache served `row` as `view` to request `req`.
    Served {
        req: ReqRef,
        row: u32,
        view: RowView,
        by: ReadFrom,
    },
    /// The cache stored `row` at `version` until `expires`.
    CacheStored {
        row: u32,
        version: u64,
        expires: SimTime,
    },
    /// The cache dropped `row` (an invalidation).
    CacheDropped { row: u32 },
    /// The cache dropped everything (a crash, or a tag-based flush).
    CacheCleared,
    /// A client process began (a shopper arrived, a profile session started).
    ProcessStarted {
        process: ProcessId,
        name: ProcessName,
    },
    /// A client process ended (a shopper left, a profile session finished or failed): it sends
    /// nothing more, so what the checkers keep for it may go once its operations are judged.
    ProcessEnded { process: ProcessId },
    /// The app tier sent `op` for `process` as request `req`; `continues`: the request goes on
    /// with the client operation of the request closed just before it (a cache miss's fill).
    Sent {
        req: ReqRef,
        purpose: Purpose,
        process: ProcessId,
        op: Op,
        /// The checkout's quantity (0 for a profile request).
        qty: i64,
        continues: bool,
    },
    /// The app tier stopped waiting for `req`: answered, or timed out (`None`).
    Closed { req: ReqRef, answer: Option<Answer> },
    /// The run ended with `req` still waiting (reported once, at the end, in slot order).
    Unfinished { req: ReqRef },
    /// A checkout was confirmed to its shopper.
    Confirmed {
        shopper: u64,
        product: u32,
        qty: i64,
        /// Where its last stock read was served, and what it showed.
        read_from: ReadFrom,
        stock_read: Option<i64>,
        /// The price the shopper's product page showed.
        shown_price: i64,
    },
    /// The lag monitor read replica `replica`'s reported lag: the age of its oldest unapplied
    /// entry, committed at `oldest`.
    LagSampled {
        replica: usize,
        lag_us: u64,
        oldest: SimTime,
    },
    /// The lag monitor raised (or cleared) its alert.
    Alert { raised: bool },
}

/// A word from the lag monitor to the app tier's router. The monitor is not on the simulated
/// network (it reads the replicas' status out of band, as a metrics scraper would), so its
/// notices arrive at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Route `lag-aware` reads to the primary (`true`) or back to the replicas.
    LagAlert(bool),
}

/// When a scheduled event is due.
#[derive(Clone, Copy, Debug)]
pub(super) enum Due {
    /// A random delay from now.
    After(u64),
    /// A constant delay from now (a configured timeout): the engine queues these at O(1) cost.
    Fixed(u64),
    At(SimTime),
}

/// A message a node wants sent.
#[derive(Clone, Copy, Debug)]
pub(super) enum Outgoing {
    /// A request, reply or invalidation, after `extra_us` of processing at the sender.
    Rpc { msg: Message, extra_us: u64 },
    /// A replication-stream message.
    Stream(Message),
}

/// The effects of one handler call, as data.
pub struct Out {
    /// The node whose handler is running: its messages are from it, its timers come back to it.
    node: NodeId,
    pub(super) events: Vec<(Due, Event)>,
    pub(super) sends: Vec<Outgoing>,
    pub(super) observations: Vec<Observation>,
    pub(super) notices: Vec<Notice>,
}

impl Out {
    pub fn new(node: NodeId) -> Self {
        Self {
            node,
            events: Vec::with_capacity(16),
            sends: Vec::with_capacity(32),
            observations: Vec::with_capacity(16),
            notices: Vec::new(),
        }
    }

    /// The node whose effects these are.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Effects written from now on are `node`'s.
    pub(super) fn act_as(&mut self, node: NodeId) {
        self.node = node;
    }

    /// Sets a timer `delay_us` from now, where the delay is a random draw.
    #[inline]
    pub fn after(&mut self, delay_us: u64, timer: impl Into<Timer>) {
        let e = Event::Timer(self.node, timer.into());
        self.events.push((Due::After(delay_us), e));
    }

    /// Sets a timer for the instant `at`, no earlier than now (a job's end, by its station).
    #[inline]
    pub fn at(&mut self, at: SimTime, timer: impl Into<Timer>) {
        let e = Event::Timer(self.node, timer.into());
        self.events.push((Due::At(at), e));
    }

    /// Sets a timer `delay_us` from now, where the delay is a configuration constant (a timeout).
    #[inline]
    pub fn after_fixed(&mut self, delay_us: u64, timer: impl Into<Timer>) {
        let e = Event::Timer(self.node, timer.into());
        self.events.push((Due::Fixed(delay_us), e));
    }

    /// Sets one of the lag monitor's timers (it is not a network node).
    pub(super) fn monitor_after(&mut self, due: Due, timer: MonitorTimer) {
        self.events.push((due, Event::Monitor(timer)));
    }

    /// Schedules the next arrival of a workload process.
    pub(super) fn arrival_at(&mut self, at: SimTime, arrival: Arrival) {
        self.events.push((Due::At(at), Event::Arrival(arrival)));
    }

    /// Sends a request or an invalidation, which `tag` identifies, to `to`.
    #[inline]
    pub fn send(&mut self, to: NodeId, tag: Tag, body: Body) {
        self.send_after(to, tag, body, 0);
    }

    /// Sends `body` to `to` after `extra_us` of processing here.
    #[inline]
    pub fn send_after(&mut self, to: NodeId, tag: Tag, body: Body, extra_us: u64) {
        let msg = Message {
            from: self.node,
            to,
            tag,
            body,
        };
        self.sends.push(Outgoing::Rpc { msg, extra_us });
    }

    /// Answers request `req` of `to`, which `tag` identifies.
    #[inline]
    pub fn reply(&mut self, to: NodeId, req: ReqRef, tag: Tag, answer: Answer) {
        self.send(to, tag.reply(), Body::Reply { req, answer });
    }

    /// Sends `body` on the replication connection to `to` (reliable and ordered).
    #[inline]
    pub fn stream(&mut self, to: NodeId, tag: Tag, body: Body) {
        let msg = Message {
            from: self.node,
            to,
            tag,
            body,
        };
        self.sends.push(Outgoing::Stream(msg));
    }

    #[inline]
    pub fn observe(&mut self, observation: Observation) {
        self.observations.push(observation);
    }

    pub fn notify(&mut self, notice: Notice) {
        self.notices.push(notice);
    }

    /// The observations written so far (for tests of a node).
    pub fn observations(&self) -> &[Observation] {
        &self.observations
    }
}

/// A test bench for one node: messages and faults in, timers fired in time order (stale ones
/// dropped, as the engine does), and what the node sent and observed, out.
#[cfg(test)]
pub mod bench {
    use super::*;

    pub struct Bench<N: Node> {
        pub node: N,
        pub now: SimTime,
        me: NodeId,
        /// Timers set and not yet fired: (due, order set, timer).
        pending: Vec<(SimTime, u64, N::Timer)>,
        set: u64,
        /// Messages sent, with when they left (after any processing delay).
        pub sent: Vec<(SimTime, Message)>,
        pub seen: Vec<Observation>,
        pub notices: Vec<Notice>,
        unwrap: fn(Timer) -> N::Timer,
        out: Out,
    }

    impl<N: Node> Bench<N> {
        /// A bench for `node` at `me`; `unwrap` takes the node's own timer out of [`Timer`].
        pub fn new(node: N, me: NodeId, unwrap: fn(Timer) -> N::Timer) -> Self {
            Self {
                node,
                now: SimTime::ZERO,
                me,
                pending: Vec::new(),
                set: 0,
                sent: Vec::new(),
                seen: Vec::new(),
                notices: Vec::new(),
                unwrap,
                out: Out::new(me),
            }
        }

        fn collect(&mut self) {
            for (due, e) in self.out.events.drain(..) {
                let at = match due {
                    Due::After(d) | Due::Fixed(d) => self.now.after(d),
                    Due::At(t) => t,
                };
                if let Event::Timer(node, t) = e {
                    assert_eq!(node, self.me, "a node sets only its own timers");
                    self.pending.push((at, self.set, (self.unwrap)(t)));
                    self.set += 1;
                }
            }
            for s in self.out.sends.drain(..) {
                match s {
                    Outgoing::Rpc { msg, extra_us } => {
                        self.sent.push((self.now.after(extra_us), msg))
                    }
                    Outgoing::Stream(msg) => self.sent.push((self.now, msg)),
                }
            }
            self.seen.append(&mut self.out.observations);
            self.notices.append(&mut self.out.notices);
        }

        /// `body`, identified by `tag`, from `from` reaches the node now.
        pub fn deliver(&mut self, from: NodeId, tag: Tag, body: Body) {
            let msg = Message {
                from,
                to: self.me,
                tag,
                body,
            };
            self.node.on_message(self.now, msg, &mut self.out);
            self.collect();
        }

        pub fn fault(&mut self, fault: NodeFault, starts: bool) {
            self.node.on_fault(self.now, fault, starts, &mut self.out);
            self.collect();
        }

        /// Fires, in time order, every timer due by `until`, then moves the clock there.
        pub fn advance(&mut self, until: SimTime) {
            loop {
                let next = self
                    .pending
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.0 <= until)
                    .min_by_key(|(_, p)| (p.0, p.1))
                    .map(|(i, _)| i);
                let Some(i) = next else { break };
                let (at, _, timer) = self.pending.remove(i);
                if self.node.is_stale(&timer) {
                    continue;
                }
                self.now = at;
                self.node.on_timer(at, timer, &mut self.out);
                self.collect();
            }
            self.now = until;
        }

        /// The messages sent since the last call, with when they left.
        pub fn take_sent(&mut self) -> Vec<(SimTime, Message)> {
            std::mem::take(&mut self.sent)
        }

        /// The replies sent since the last look (other messages are dropped): (when they left,
        /// the request's slot, the answer).
        pub fn take_replies(&mut self) -> Vec<(SimTime, u32, Answer)> {
            self.take_sent()
                .into_iter()
                .filter_map(|(at, m)| match m.body {
                    Body::Reply { req, answer } => Some((at, req.index, answer)),
                    _ => None,
                })
                .collect()
        }

        /// Timers still pending.
        pub fn pending(&self) -> usize {
            self.pending.len()
        }
    }
}
