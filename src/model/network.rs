//! Links between nodes: latency per directed pair, partitions, and delivery rules.
//!
//! Two kinds of traffic cross a link, with different rules under a partition:
//! - **Requests and replies** (and cache invalidations) are lost if the link is cut when they are
//!   sent *or* when they would arrive; the caller finds out only by its own timeout.
//! - **The replication stream** is reliable and ordered, like a TCP connection that reconnects and
//!   resumes from the replica's last position: a stream message sent while the link is cut is held
//!   and sent, in order, when the link heals; one already in flight when the cut starts arrives.
//!   Stream messages never overtake each other even when latency draws would reorder them.
//!
//! The network owns no clock and no queue: `send` returns when (and whether) a message arrives,
//! and the caller schedules it. A message's latency is drawn from randomness keyed by its link
//! and its identity (its tag), so the same message takes the same time on the same link in
//! every variant; a stream message held by a cut draws when the link heals, with the same key.

use crate::engine::{Dist, Keyed, SimTime};
use crate::scenario::{Network as NetworkConfig, NodeId};

/// What happens to a message handed to the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It arrives at this time (to be checked again on arrival with [`Network::is_cut`]).
    ArrivesAt(SimTime),
    /// It is gone.
    Lost,
    /// A stream message on a cut link: the network keeps it until the link heals.
    Held,
}

pub struct Network<M> {
    nodes: usize,
    latency: Vec<Dist>,
    draws: Keyed,
    /// Active cuts per directed pair (overlapping partitions nest).
    cuts: Vec<u16>,
    /// Last arrival time scheduled on each directed stream, to keep streams FIFO.
    stream_tail: Vec<SimTime>,
    /// Stream messages sent while their link was cut, with their tags, per directed pair, in
    /// send order.
    held: Vec<Vec<(u64, M)>>,
    pub lost: u64,
}

impl<M> Network<M> {
    pub fn new(config: &NetworkConfig, nodes: usize, seed: u64) -> Self {
        let mut latency = vec![config.default_latency; nodes * nodes];
        for link in &config.links {
            latency[link.from.index() * nodes + link.to.index()] = link.latency;
        }
        Self {
            nodes,
            latency,
            draws: Keyed::new(seed, "link-latency"),
            cuts: vec![0; nodes * nodes],
            stream_tail: vec![SimTime::ZERO; nodes * nodes],
            held: (0..nodes * nodes).map(|_| Vec::new()).collect(),
            lost: 0,
        }
    }

    fn pair(&self, from: NodeId, to: NodeId) -> usize {
        from.index() * self.nodes + to.index()
    }

    /// The stream messages from `from` to `to` held by a cut, oldest first.
    pub fn held(&self, from: NodeId, to: NodeId) -> impl Iterator<Item = &M> {
        self.held[self.pair(from, to)].iter().map(|(_, m)| m)
    }

    /// One latency draw for the message `tag` on pair `p`.
    fn latency(&self, p: usize, tag: u64) -> u64 {
        self.latency[p].sample(&mut self.draws.of2(p as u64, tag))
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cuts[self.pair(from, to)] > 0
    }

    /// A request, reply or invalidation `tag` sent at `now` after `extra_us` of processing.
    pub fn send(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        extra_us: u64,
        tag: u64,
    ) -> Fate {
        let p = self.pair(from, to);
        if self.cuts[p] > 0 {
            self.lost += 1;
            return Fate::Lost;
        }
        let d = self.latency(p, tag);
        Fate::ArrivesAt(now.after(extra_us).after(d))
    }

    /// A replication-stream message `tag`; kept by the network if the link is cut.
    pub fn send_stream(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        tag: u64,
        msg: M,
    ) -> (Fate, Option<M>) {
        let p = self.pair(from, to);
        if self.cuts[p] > 0 {
            self.held[p].push((tag, msg));
            return (Fate::Held, None);
        }
        (Fate::ArrivesAt(self.stream_arrival(p, now, tag)), Some(msg))
    }

    fn stream_arrival(&mut self, p: usize, now: SimTime, tag: u64) -> SimTime {
        let d = self.latency(p, tag);
        let at = now.after(d).max(self.stream_tail[p]);
        self.stream_tail[p] = at;
        at
    }

    /// A message arriving at `to` is dropped if its link is cut now (stream messages never are).
    pub fn drops_on_arrival(&mut self, from: NodeId, to: NodeId) -> bool {
        let cut = self.is_cut(from, to);
        if cut {
            self.lost += 1;
        }
        cut
    }

    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        let p = self.pair(from, to);
        self.cuts[p] += 1;
    }

    /// Heals one cut of `from → to`; if the link is now up, returns the held stream messages with
    /// their arrival times, in order.
    pub fn heal(&mut self, now: SimTime, from: NodeId, to: NodeId, out: &mut Vec<(SimTime, M)>) {
        let p = self.pair(from, to);
        self.cuts[p] = self.cuts[p].saturating_sub(1);
        if self.cuts[p] == 0 {
            let held = std::mem::take(&mut self.held[p]);
            for (tag, msg) in held {
                let at = self.stream_arrival(p, now, tag);
                out.push((at, msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Link, Topology};

    fn topology() -> Topology {
        Topology::new(&["replica-1".to_string()], false)
    }

    fn net() -> Network<u32> {
        let t = topology();
        let config = NetworkConfig {
            default_latency: Dist::Constant { us: 100 },
            links: vec![Link {
                from: t.primary(),
                to: t.replica(0),
                latency: Dist::Uniform {
                    min_us: 10,
                    max_us: 1000,
                },
            }],
        };
        Network::new(&config, 4, 1)
    }

    #[test]
    fn requests_on_a_cut_link_are_lost_and_the_other_direction_still_works() {
        let mut n = net();
        let (app, primary) = (topology().app(), topology().primary());
        n.cut(app, primary);
        assert_eq!(n.send(SimTime(0), app, primary, 0, 1), Fate::Lost);
        assert_eq!(
            n.send(SimTime(0), primary, app, 5, 1),
            Fate::ArrivesAt(SimTime(105))
        );
        assert!(n.drops_on_arrival(app, primary));
        assert_eq!(n.lost, 2);
    }

    #[test]
    fn stream_messages_stay_in_order_and_are_held_across_a_cut() {
        let mut n = net();
        let (p, r) = (topology().primary(), topology().replica(0));
        let mut last = SimTime::ZERO;
        for i in 0..100 {
            let (fate, msg) = n.send_stream(SimTime(i), p, r, i, i as u32);
            let Fate::ArrivesAt(at) = fate else {
                panic!("link is up")
            };
            assert!(at >= last && msg == Some(i as u32));
            last = at;
        }
        n.cut(p, r);
        n.cut(p, r);
        assert_eq!(n.send_stream(SimTime(500), p, r, 7, 7), (Fate::Held, None));
        assert_eq!(n.send_stream(SimTime(600), p, r, 8, 8), (Fate::Held, None));
        let mut out = vec![];
        n.heal(SimTime(5_000), p, r, &mut out);
        assert!(
            out.is_empty(),
            "one of two overlapping cuts is still active"
        );
        n.heal(SimTime(9_000), p, r, &mut out);
        assert_eq!(out.iter().map(|&(_, m)| m).collect::<Vec<_>>(), vec![7, 8]);
        assert!(out[0].0 >= SimTime(9_010) && out[1].0 >= out[0].0);
    }
}
