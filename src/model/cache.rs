//! The cache in front of the product page: cache-aside with a TTL, and optional invalidation.
//!
//! The cache only stores what it is told. On a miss the application reads the database (the
//! scenario's `cache.fill_from`) and sets the cache with what it read, fire-and-forget. A fill
//! from a lagging replica therefore stores old stock, which is then served for a whole TTL unless
//! an invalidation removes it; an invalidation that arrives before a stale fill is undone by it.
//! Every operation answers after `op_time`; the cache has no capacity limit.

use super::{Answer, Ctx, ReqRef, RowView};
use crate::engine::{SimRng, SimTime};
use crate::scenario::{Cache as CacheConfig, NodeId};

#[derive(Clone, Copy, Debug)]
struct Entry {
    stock: i64,
    price: i64,
    version: u64,
    expires: SimTime,
}

/// When a row's cached entry was last stale, for convergence.
#[derive(Clone, Copy, Debug, Default)]
struct Staleness {
    /// The entry has been older than the primary since this instant.
    since: Option<SimTime>,
    /// When its last stale spell ended (a set, an invalidation or the TTL).
    last_end: SimTime,
}

pub struct Cache {
    config: CacheConfig,
    rng: SimRng,
    entries: Vec<Option<Entry>>,
    staleness: Vec<Staleness>,
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
    pub crashes: u64,
}

impl Cache {
    pub fn new(config: CacheConfig, rng: SimRng, rows: usize) -> Self {
        Self {
            config,
            rng,
            entries: vec![None; rows],
            staleness: vec![Staleness::default(); rows],
            hits: 0,
            misses: 0,
            invalidations: 0,
            crashes: 0,
        }
    }

    /// A get: answers the cached row or a miss. Returns the version served on a hit.
    pub fn get(&mut self, ctx: &mut Ctx, from: NodeId, req: ReqRef, row: u32) -> Option<RowView> {
        let delay = self.config.op_time.sample(&mut self.rng);
        let live = self.entries[row as usize].filter(|e| ctx.now < e.expires);
        let (answer, served) = match live {
            Some(e) => {
                self.hits += 1;
                (
                    Answer::Row {
                        stock: e.stock,
                        price: e.price,
                        version: e.version,
                    },
                    Some(RowView {
                        stock: e.stock,
                        price: e.price,
                        version: e.version,
                    }),
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

    /// Closes a stale spell that its entry's TTL ended before `now`.
    fn settle(&mut self, row: u32, now: SimTime) {
        let track = &mut self.staleness[row as usize];
        if let (Some(_), Some(e)) = (track.since, self.entries[row as usize])
            && e.expires <= now
        {
            *track = Staleness {
                since: None,
                last_end: e.expires,
            };
        }
    }

    /// Re-judges `row` against the primary's committed version, after anything that may have
    /// changed either side.
    pub fn track(&mut self, row: u32, primary_version: u64, now: SimTime) {
        self.settle(row, now);
        let stale = self.entries[row as usize]
            .is_some_and(|e| now < e.expires && e.version < primary_version);
        let track = &mut self.staleness[row as usize];
        match (track.since, stale) {
            (None, true) => track.since = Some(now),
            (Some(_), false) => {
                *track = Staleness {
                    since: None,
                    last_end: now,
                }
            }
            _ => {}
        }
    }

    /// When every cached row had last stopped being stale, given the state at `end`: a row still
    /// stale then converges when its TTL runs out.
    pub fn converged_at(&mut self, end: SimTime) -> SimTime {
        (0..self.entries.len() as u32)
            .map(|row| {
                self.settle(row, end);
                match (
                    self.staleness[row as usize].since,
                    self.entries[row as usize],
                ) {
                    (Some(_), Some(e)) => e.expires,
                    _ => self.staleness[row as usize].last_end,
                }
            })
            .max()
            .unwrap_or(SimTime::ZERO)
    }

    pub fn set(&mut self, now: SimTime, row: u32, stock: i64, price: i64, version: u64) {
        self.settle(row, now);
        if self.config.ttl_us > 0 {
            self.entries[row as usize] = Some(Entry {
                stock,
                price,
                version,
                expires: now.after(self.config.ttl_us),
            });
        }
    }

    /// Drops every entry (a crash, or a tag-based flush of all product keys). With nothing
    /// cached, no row is stale any more: every open stale spell ends now.
    pub fn clear(&mut self, now: SimTime) {
        for row in 0..self.entries.len() as u32 {
            self.settle(row, now);
            self.entries[row as usize] = None;
            let track = &mut self.staleness[row as usize];
            if track.since.is_some() {
                *track = Staleness {
                    since: None,
                    last_end: now,
                };
            }
        }
    }

    pub fn invalidate(&mut self, now: SimTime, row: u32) {
        self.settle(row, now);
        self.invalidations += 1;
        self.entries[row as usize] = None;
    }

    /// The stock a get of `row` would serve at `now`, if the cache holds a live entry (for the
    /// timeline; it counts nothing).
    pub fn peek_stock(&self, row: u32, now: SimTime) -> Option<i64> {
        self.entries[row as usize]
            .filter(|e| now < e.expires)
            .map(|e| e.stock)
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
