//! The cache in front of the product page: cache-aside with a TTL, and optional invalidation.
//!
//! The cache only stores what it is told. On a miss the application reads the database (the
//! scenario's `cache.fill_from`) and sets the cache with what it read, fire-and-forget. A fill
//! from a lagging replica therefore stores old stock, which is then served for a whole TTL unless
//! an invalidation removes it; an invalidation that arrives before a stale fill is undone by it.
//! Every operation answers after `op_time`; the cache has no capacity limit. Whether what it
//! holds is stale is for the observers to judge: the cache cannot know.

use super::message::{Answer, Body, Message, Op, ReqRef, RowView, Tag};
use super::node::{Node, NodeFault, Observation, Out};
use super::timeline::ReadFrom;
use crate::engine::{Keyed, SimTime};
use crate::scenario::{Cache as CacheConfig, NodeId};

#[derive(Clone, Copy, Debug)]
struct Entry {
    view: RowView,
    expires: SimTime,
}

/// What the cache counts.
#[derive(Clone, Debug, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
    pub crashes: u64,
}

impl CacheStats {
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// The cache has no timers.
#[derive(Clone, Copy, Debug)]
pub enum NoTimer {}

pub struct Cache {
    config: CacheConfig,
    /// Operation times, keyed by the request's tag.
    op_times: Keyed,
    /// One per product row.
    entries: Vec<Option<Entry>>,
    pub stats: CacheStats,
}

impl Cache {
    pub fn new(config: CacheConfig, seed: u64, rows: usize) -> Self {
        Self {
            config,
            op_times: Keyed::new(seed, "cache-op"),
            entries: vec![None; rows],
            stats: CacheStats::default(),
        }
    }

    /// A get: answers the cached row or a miss, after `op_time`.
    fn get(
        &mut self,
        now: SimTime,
        (from, tag): (NodeId, Tag),
        req: ReqRef,
        row: u32,
        out: &mut Out,
    ) {
        let delay = self.config.op_time.sample(&mut self.op_times.of(tag.id()));
        let live = self.entries[row as usize].filter(|e| now < e.expires);
        let answer = match live {
            Some(e) => {
                self.stats.hits += 1;
                out.observe(Observation::Served {
                    req,
                    row,
                    view: e.view,
                    by: ReadFrom::Cache,
                });
                Answer::row(e.view)
            }
            None => {
                self.stats.misses += 1;
                Answer::Miss
            }
        };
        out.send_after(from, tag.reply(), Body::Reply { req, answer }, delay);
    }

    fn set(&mut self, now: SimTime, row: u32, view: RowView, out: &mut Out) {
        if self.config.ttl_us > 0 {
            let expires = now.after(self.config.ttl_us);
            self.entries[row as usize] = Some(Entry { view, expires });
            out.observe(Observation::CacheStored {
                row,
                version: view.version,
                expires,
            });
        }
    }

    /// Drops every entry (a crash, or a tag-based flush of all product keys).
    fn clear(&mut self, out: &mut Out) {
        self.entries.iter_mut().for_each(|e| *e = None);
        out.observe(Observation::CacheCleared);
    }

    fn invalidate(&mut self, row: u32, out: &mut Out) {
        self.stats.invalidations += 1;
        self.entries[row as usize] = None;
        out.observe(Observation::CacheDropped { row });
    }

    /// The stock a get of `row` would serve at `now`, if the cache holds a live entry (for the
    /// timeline; it counts nothing).
    pub fn peek_stock(&self, row: u32, now: SimTime) -> Option<i64> {
        self.entries[row as usize]
            .filter(|e| now < e.expires)
            .map(|e| e.view.stock)
    }
}

impl Node for Cache {
    type Timer = NoTimer;

    fn on_message(&mut self, now: SimTime, msg: Message, out: &mut Out) {
        match msg.body {
            Body::Request {
                req,
                op: Op::Read { row },
            } => {
                let req = req.expect("cache gets expect an answer");
                self.get(now, (msg.from, msg.tag), req, row, out);
            }
            Body::Request {
                op:
                    Op::CacheSet {
                        row,
                        stock,
                        price,
                        version,
                    },
                ..
            } => {
                let view = RowView {
                    stock,
                    price,
                    version,
                };
                self.set(now, row, view, out);
            }
            Body::Invalidate { row } => self.invalidate(row, out),
            Body::FlushProducts => {
                self.clear(out);
                self.stats.invalidations += 1;
            }
            other => unreachable!("the cache does not handle {other:?}"),
        }
    }

    fn on_timer(&mut self, _now: SimTime, timer: NoTimer, _out: &mut Out) {
        match timer {}
    }

    fn on_fault(&mut self, _now: SimTime, fault: NodeFault, starts: bool, out: &mut Out) {
        assert_eq!(fault, NodeFault::Crash, "the cache can only crash");
        // On restart it is empty: it came back cold.
        if starts {
            self.clear(out);
            self.stats.crashes += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Dist, Key};
    use crate::model::node::bench::Bench;
    use crate::scenario::Topology;

    fn ms(x: u64) -> SimTime {
        SimTime::from_millis(x)
    }

    /// A cache of two product rows, answering after 1 ms, entries living 10 ms.
    fn cache(ttl_ms: u64) -> (Bench<Cache>, Topology) {
        let t = Topology::new(&[], false);
        let config = CacheConfig {
            ttl_us: ttl_ms * 1_000,
            invalidate_on_write: false,
            flush_all_on_write: false,
            op_time: Dist::Constant { us: 1_000 },
            fill_from: crate::scenario::ReadSource::Primary,
        };
        let c = Cache::new(config, 1, 2);
        (
            Bench::new(c, t.cache(), |t| panic!("the cache sets no timer: {t:?}")),
            t,
        )
    }

    fn get(b: &mut Bench<Cache>, t: &Topology, row: u32) -> (SimTime, Answer) {
        let req = Key {
            index: 0,
            generation: 0,
        };
        let op = Op::Read { row };
        b.deliver(t.app(), tag(), Body::Request { req: Some(req), op });
        match b.take_sent()[..] {
            [
                (
                    at,
                    Message {
                        body: Body::Reply { answer, .. },
                        ..
                    },
                ),
            ] => (at, answer),
            ref other => panic!("one reply expected, got {other:?}"),
        }
    }

    fn set(b: &mut Bench<Cache>, t: &Topology, row: u32, stock: i64, version: u64) {
        let op = Op::CacheSet {
            row,
            stock,
            price: 1,
            version,
        };
        b.deliver(t.app(), tag(), Body::Request { req: None, op });
    }

    fn tag() -> Tag {
        Tag::request(crate::model::message::Client::Shopper(0), 0)
    }

    #[test]
    fn an_entry_is_served_until_its_ttl_then_missed() {
        let (mut b, t) = cache(10);
        assert_eq!(get(&mut b, &t, 0), (ms(1), Answer::Miss));
        set(&mut b, &t, 0, 7, 3);
        b.advance(ms(9));
        let hit = Answer::Row {
            stock: 7,
            price: 1,
            version: 3,
        };
        assert_eq!(get(&mut b, &t, 0), (ms(10), hit), "answered after op_time");
        b.advance(ms(10));
        assert_eq!(get(&mut b, &t, 0).1, Answer::Miss, "expired at 10 ms");
        assert_eq!((b.node.stats.hits, b.node.stats.misses), (1, 2));
        let served = b
            .seen
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Observation::Served {
                        by: ReadFrom::Cache,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(served, 1, "only a hit is a read the cache served");
    }

    #[test]
    fn invalidations_flushes_and_crashes_empty_it() {
        let (mut b, t) = cache(1_000);
        set(&mut b, &t, 0, 7, 1);
        set(&mut b, &t, 1, 8, 1);
        b.deliver(t.primary(), Tag::log(1), Body::Invalidate { row: 0 });
        assert_eq!(get(&mut b, &t, 0).1, Answer::Miss);
        assert!(matches!(get(&mut b, &t, 1).1, Answer::Row { stock: 8, .. }));
        b.deliver(t.primary(), Tag::log(2), Body::FlushProducts);
        assert_eq!(get(&mut b, &t, 1).1, Answer::Miss);
        set(&mut b, &t, 1, 8, 1);
        b.fault(NodeFault::Crash, true);
        b.fault(NodeFault::Crash, false);
        assert_eq!(get(&mut b, &t, 1).1, Answer::Miss, "it restarts cold");
        let s = &b.node.stats;
        assert_eq!((s.invalidations, s.crashes), (2, 1));
    }

    #[test]
    fn with_no_ttl_nothing_is_stored() {
        let (mut b, t) = cache(0);
        set(&mut b, &t, 0, 7, 1);
        assert_eq!(get(&mut b, &t, 0).1, Answer::Miss);
        assert!(
            !b.seen
                .iter()
                .any(|o| matches!(o, Observation::CacheStored { .. }))
        );
    }
}
