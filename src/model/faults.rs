//! The fault injector: the scenario's scheduled faults as edges in time, and what each edge does
//! to the network and to the node it strikes.
//!
//! A partition cuts links. A crash cuts every link to and from its node (a crashed node neither
//! hears nor speaks) and tells the node, which loses what it was doing; a pause or a slowdown is
//! the node's alone. Links are cut or healed first, then the node is told, so that a restarted
//! node's first messages find its links up.

use super::Event;
use super::message::Message;
use super::network::Network;
use super::node::NodeFault;
use crate::engine::SimTime;
use crate::scenario::{Fault, FaultKind, NodeId, Topology};

/// What an edge of a fault does beyond the links: which node it strikes, and how.
pub type Strike = Option<(NodeId, NodeFault)>;

pub struct Faults {
    faults: Vec<Fault>,
}

impl Faults {
    pub fn new(faults: &[Fault]) -> Self {
        Self {
            faults: faults.to_vec(),
        }
    }

    /// Both edges of every fault, in file order.
    pub fn initial(&self) -> Vec<(SimTime, Event)> {
        let mut events = Vec::with_capacity(2 * self.faults.len());
        for (i, f) in self.faults.iter().enumerate() {
            let index = i as u16;
            events.push((
                f.start,
                Event::Fault {
                    index,
                    starts: true,
                },
            ));
            events.push((
                f.end,
                Event::Fault {
                    index,
                    starts: false,
                },
            ));
        }
        events
    }

    /// When the last fault ends (zero without faults).
    pub fn end(&self) -> SimTime {
        self.faults
            .iter()
            .map(|f| f.end)
            .max()
            .unwrap_or(SimTime::ZERO)
    }

    /// Fault `index` starts (or ends) at `now`: its links are cut (or healed, the stream
    /// messages a cut held going into `healed`), and the node it strikes is returned.
    pub fn edge(
        &self,
        now: SimTime,
        index: u16,
        starts: bool,
        topology: &Topology,
        network: &mut Network<Message>,
        healed: &mut Vec<(SimTime, Message)>,
    ) -> Strike {
        let mut link = |a, b| {
            if starts {
                network.cut(a, b);
            } else {
                network.heal(now, a, b, healed);
            }
        };
        match self.faults[usize::from(index)].kind {
            FaultKind::Partition {
                from,
                to,
                both_ways,
            } => {
                link(from, to);
                if both_ways {
                    link(to, from);
                }
                None
            }
            FaultKind::PauseReplica { replica } => {
                Some((topology.replica(replica), NodeFault::Pause))
            }
            FaultKind::SlowReplica { replica, factor } => {
                Some((topology.replica(replica), NodeFault::SlowDown(factor)))
            }
            FaultKind::CrashReplica { replica } => {
                let node = topology.replica(replica);
                isolate(node, topology, &mut link);
                Some((node, NodeFault::Crash))
            }
            FaultKind::CrashCache => {
                isolate(topology.cache(), topology, &mut link);
                Some((topology.cache(), NodeFault::Crash))
            }
            // The orchestrator runs in the app tier; its crash cuts no link (the app servers that
            // serve shoppers stay up), it only stops listening.
            FaultKind::CrashOrchestrator => Some((topology.app(), NodeFault::Crash)),
        }
    }
}

/// Cuts (or heals) every link to and from `node`.
fn isolate(node: NodeId, topology: &Topology, link: &mut impl FnMut(NodeId, NodeId)) {
    for other in topology.nodes().filter(|&n| n != node) {
        link(node, other);
        link(other, node);
    }
}
