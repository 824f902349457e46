//! The simulated world: application servers full of shoppers, a primary database, read replicas
//! fed by its log stream, a cache, the services a saga checkout spans (with `[saga]`), the lag
//! monitor, and the network between them, with scheduled faults.
//!
//! The model is nodes on a topology (see docs/model.md, "Architecture"):
//! - every component is a [`Node`](node::Node): it handles a message, a timer of its own, or a
//!   fault, and writes its effects (sends, timers, observations) into an [`Out`] buffer; it never
//!   touches another node, the queue, the clock or the metrics;
//! - the topology (`scenario::Topology`) names the nodes and hands out their ids;
//! - the network (`network.rs`) decides when, and whether, a message arrives;
//! - the workload (`workload.rs`) and the fault injector (`faults.rs`) are the world's inputs;
//! - observers ([`observe`]) turn observations into metrics, the history and the timeline;
//! - [`Model`] is the router between them: the engine's [`World`].
//!
//! The model does no I/O and reads no clock; all randomness comes from streams of the run's seed.

mod app;
mod background;
mod cache;
mod faults;
pub mod message;
pub mod metrics;
mod monitor;
mod network;
pub mod node;
mod nodes;
pub mod observe;
mod orchestrator;
mod primary;
mod replica;
mod run;
mod saga;
mod services;
mod station;
pub mod timeline;
mod trace;
mod traffic;
mod workload;

use crate::engine::{Effects, SimTime, World};
use crate::scenario::{BackgroundMode, NodeId, Topology, Variant};
use background::{LazyReads, LazyWrites};
use faults::Faults;
use message::Message;
use monitor::MonitorTimer;
use network::{Fate, Network};
use node::{Due, Out, Outgoing, Timer};
use nodes::Nodes;
use observe::Observers;
use workload::Workload;

pub use message::RowView;
pub use observe::Recording;
pub use run::{PROGRESS_EVERY, VariantRun, check_determinism, simulate};
pub use workload::Arrival;

/// Everything that can happen: the engine's event, routed by [`Model`].
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A message reaches its destination (unless its link is cut by then).
    Deliver(Message),
    /// One of a node's own timers.
    Timer(NodeId, Timer),
    /// The workload's next arrival.
    Arrival(Arrival),
    /// A scheduled fault starts or ends.
    Fault { index: u16, starts: bool },
    /// One of the lag monitor's timers (it is not a network node).
    Monitor(MonitorTimer),
}

/// What observers may read of the model now: its nodes' gauges (borrowing the fields apart from
/// the observers, which are written meanwhile).
macro_rules! view {
    ($m:ident) => {
        $crate::model::nodes::View {
            nodes: &$m.nodes,
            network: &$m.network,
            topology: &$m.topology,
            shoppers: $m.workload.shoppers_arrived(),
        }
    };
}
use view;

/// The whole simulated system for one variant, and the router between its parts.
pub struct Model {
    config: crate::scenario::Config,
    topology: Topology,
    nodes: Nodes,
    network: Network<Message>,
    workload: Workload,
    faults: Faults,
    observers: Observers,
    /// The effects of the handler running now (reused: no allocation per event).
    out: Out,
    /// Stream messages a healed link releases, with their arrival times.
    healed: Vec<(SimTime, Message)>,
    /// The background reads and writes as arithmetic (`None`: as events; the writes are set
    /// up with the initial events).
    lazy_reads: Option<LazyReads>,
    lazy_writes: Option<LazyWrites>,
}

impl Model {
    pub fn new(variant: &Variant, seed: u64, recording: Recording) -> Self {
        let config = &variant.config;
        let faults = Faults::new(&config.faults);
        let nodes = Nodes::new(variant, seed, faults.end());
        Self {
            config: config.clone(),
            topology: config.topology.clone(),
            network: Network::new(&config.network, config.topology.len(), seed),
            workload: Workload::new(config, seed, nodes.first_background_row()),
            observers: Observers::new(variant, seed, recording),
            out: Out::new(config.topology.app()),
            healed: Vec::new(),
            lazy_reads: (config.background_mode == BackgroundMode::Lazy)
                .then(|| LazyReads::new(config.topology.replica_count())),
            lazy_writes: None,
            nodes,
            faults,
        }
    }

    /// The events that start a run: the first arrival of each process, the monitor's first
    /// poll, and every fault edge.
    fn initial_events(&mut self) -> Vec<(SimTime, Event)> {
        let mut events = self.workload.initial();
        if self.config.background_mode == BackgroundMode::Lazy {
            self.lazy_writes = Some(LazyWrites::new(&self.workload));
        }
        if let Some(at) = self.nodes.monitor.as_ref().and_then(|m| m.first_sample()) {
            events.push((at, Event::Monitor(MonitorTimer::Sample)));
        }
        events.extend(self.faults.initial());
        events
    }

    /// Hands the event to whoever it concerns; their effects go to `self.out`.
    fn dispatch(&mut self, now: SimTime, event: Event) {
        let out = &mut self.out;
        match event {
            Event::Deliver(msg) => {
                // A request or reply is lost if its link is cut when it would arrive.
                if msg.body.is_stream() || !self.network.drops_on_arrival(msg.from, msg.to) {
                    out.act_as(msg.to);
                    self.nodes.deliver(&self.topology, now, msg, out);
                }
            }
            Event::Timer(node, timer) => {
                out.act_as(node);
                self.nodes.timer(&self.topology, now, node, timer, out);
            }
            Event::Arrival(arrival) => {
                out.act_as(self.topology.app());
                self.workload.arrive(now, arrival, &mut self.nodes.app, out);
            }
            Event::Fault { index, starts } => {
                let (network, healed) = (&mut self.network, &mut self.healed);
                let strike = self
                    .faults
                    .edge(now, index, starts, &self.topology, network, healed);
                if let Some((node, fault)) = strike {
                    out.act_as(node);
                    self.nodes
                        .fault(&self.topology, now, node, fault, starts, out);
                }
            }
            Event::Monitor(timer) => self.nodes.monitor_timer(now, timer, out),
        }
        for notice in self.out.notices.drain(..) {
            self.nodes.app.on_notice(notice);
        }
    }

    /// Carries out the effects of the event just handled: its timers first, in the order they
    /// were set, then its observations, then its messages, then what a healed link released.
    fn apply(&mut self, now: SimTime, fx: &mut Effects<Event>) {
        for (due, event) in self.out.events.drain(..) {
            match due {
                Due::After(d) => fx.after(d, event),
                Due::Fixed(d) => fx.after_fixed(d, event),
                Due::At(t) => fx.at(t, event),
            }
        }
        if !self.out.observations.is_empty() {
            let view = view!(self);
            for o in self.out.observations.drain(..) {
                self.observers.observe(now, &o, &view);
            }
        }
        for send in self.out.sends.drain(..) {
            let (fate, msg) = match send {
                Outgoing::Rpc { msg, extra_us } => {
                    let tag = msg.tag.id();
                    (self.network.send(now, msg.from, msg.to, extra_us, tag), msg)
                }
                Outgoing::Stream(msg) => {
                    let (from, to, tag) = (msg.from, msg.to, msg.tag.id());
                    match self.network.send_stream(now, from, to, tag, msg) {
                        (fate, Some(msg)) => (fate, msg),
                        (_, None) => continue,
                    }
                }
            };
            if let Fate::ArrivesAt(at) = fate {
                fx.at(at, Event::Deliver(msg));
            }
        }
        for (at, msg) in self.healed.drain(..) {
            fx.at(at, Event::Deliver(msg));
        }
    }
}

impl World for Model {
    type Event = Event;

    fn is_stale(&self, event: &Event) -> bool {
        match event {
            Event::Timer(node, timer) => self.nodes.is_stale(&self.topology, *node, timer),
            _ => false,
        }
    }

    /// The background requests' events run first at their instant: the arithmetic path (which
    /// has no events for them) accounts for them before the other events of their instant, so
    /// both paths order an instant alike.
    fn runs_first(&self, event: &Event) -> bool {
        match event {
            Event::Arrival(Arrival::BackgroundRead | Arrival::BackgroundWrite) => true,
            Event::Deliver(msg) => msg.tag.is_background_read() || msg.tag.is_background_write(),
            Event::Timer(_, Timer::Replica(t)) => t.is_background(),
            Event::Timer(_, Timer::Primary(t)) => t.is_background(),
            _ => false,
        }
    }

    fn next_own_work(&self) -> SimTime {
        self.lazy_writes
            .as_ref()
            .map_or(SimTime::MAX, LazyWrites::next_due)
    }

    /// The background writes due at `now`, as the event path's events would have done them
    /// (with the timeline's samples due by then taken first, as before any event).
    fn own_work(&mut self, now: SimTime, fx: &mut Effects<Event>) {
        if self.observers.timeline.is_some() {
            self.observers.before(now, &view!(self));
        }
        let writes = self
            .lazy_writes
            .as_mut()
            .expect("own work on the arithmetic path");
        self.out.act_as(self.topology.primary());
        let primary = &mut self.nodes.primary;
        writes.run(
            now,
            &mut self.workload,
            &mut self.network,
            &self.topology,
            primary,
            &mut self.out,
        );
        self.apply(now, fx);
    }

    fn handle(&mut self, now: SimTime, event: Event, fx: &mut Effects<Event>) {
        if let Some(lazy) = &mut self.lazy_reads
            && lazy.due_by(now)
        {
            let replicas = &mut self.nodes.replicas;
            lazy.advance(
                now,
                &mut self.workload,
                &mut self.network,
                &self.topology,
                replicas,
            );
        }
        if self.observers.timeline.is_some() {
            self.observers.before(now, &view!(self));
        }
        self.dispatch(now, event);
        self.apply(now, fx);
    }
}
