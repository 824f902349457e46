//! The cache in front of the product page: cache-aside with a TTL, and optional invalidation.
//!
//! The cache only stores what it is told. On a miss the application reads the database (the
//! scenario's `cache.fill_from`) and sets the cache with what it read, fire-and-forget. A fill
//! from a lagging replica therefore stores old stock, which is then served for a whole TTL unless
//! an invalidation removes it; an invalidation that arrives before a stale fill is undone by it.
//! Every operation answers after `op_time`; the cache has no capacity limit.

use super::{Answer, Ctx, ReqRef};
use crate::engine::{SimRng, SimTime};
use crate::scenario::{Cache as CacheConfig, NodeId};

#[derive(Clone, Copy, Debug)]
struct Entry {
    stock: i64,
    version: u64,
    expires: SimTime,
}

pub struct Cache {
    config: CacheConfig,
    rng: SimRng,
    entries: Vec<Option<Entry>>,
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
}

impl Cache {
    pub fn new(config: CacheConfig, rng: SimRng, rows: usize) -> Self {
        Self {
            config,
            rng,
            entries: vec![None; rows],
            hits: 0,
            misses: 0,
            invalidations: 0,
        }
    }

    /// A get: answers the cached row or a miss. Returns the version served on a hit.
    pub fn get(&mut self, ctx: &mut Ctx, from: NodeId, req: ReqRef, row: u32) -> Option<u64> {
        let delay = self.config.op_time.sample(&mut self.rng);
        let live = self.entries[row as usize].filter(|e| ctx.now < e.expires);
        let (answer, served) = match live {
            Some(e) => {
                self.hits += 1;
                (
                    Answer::Row {
                        stock: e.stock,
                        version: e.version,
                    },
                    Some(e.version),
                )
            }
            None => {
                self.misses += 1;
                (Answer::Miss, None)
            }
        };
        ctx.reply_after(NodeId::CACHE, from, req, answer, delay);
        served
    }

    pub fn set(&mut self, now: SimTime, row: u32, stock: i64, version: u64) {
        if self.config.ttl_us > 0 {
            self.entries[row as usize] = Some(Entry {
                stock,
                version,
                expires: now.after(self.config.ttl_us),
            });
        }
    }

    pub fn invalidate(&mut self, row: u32) {
        self.invalidations += 1;
        self.entries[row as usize] = None;
    }

    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}
