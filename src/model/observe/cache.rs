//! When the cache stopped holding stale rows: for every cached product row, the spells during
//! which the cache held (and would serve) a version older than the primary's, from the cache's
//! stores, drops and flushes and the primary's commits. For convergence: after writes stop and
//! faults heal, how long until no cached row is stale.

use crate::engine::SimTime;

#[derive(Clone, Copy, Debug)]
struct Entry {
    version: u64,
    expires: SimTime,
}

/// When a row's cached entry was last stale.
#[derive(Clone, Copy, Debug, Default)]
struct Spell {
    /// The entry has been older than the primary since this instant.
    since: Option<SimTime>,
    /// When its last stale spell ended (a set, an invalidation or the TTL).
    last_end: SimTime,
}

pub struct CacheSpells {
    /// What the cache holds for each product row.
    entries: Vec<Option<Entry>>,
    /// The primary's committed version of each product row.
    primary: Vec<u64>,
    spells: Vec<Spell>,
}

impl CacheSpells {
    pub fn new(products: usize) -> Self {
        Self {
            entries: vec![None; products],
            primary: vec![0; products],
            spells: vec![Spell::default(); products],
        }
    }

    /// Closes a stale spell that its entry's TTL ended before `now`.
    fn settle(&mut self, row: usize, now: SimTime) {
        if let (Some(_), Some(e)) = (self.spells[row].since, self.entries[row])
            && e.expires <= now
        {
            self.spells[row] = Spell {
                since: None,
                last_end: e.expires,
            };
        }
    }

    /// Re-judges `row` after something changed either side.
    fn track(&mut self, row: usize, now: SimTime) {
        self.settle(row, now);
        let stale =
            self.entries[row].is_some_and(|e| now < e.expires && e.version < self.primary[row]);
        let spell = &mut self.spells[row];
        match (spell.since, stale) {
            (None, true) => spell.since = Some(now),
            (Some(_), false) => {
                *spell = Spell {
                    since: None,
                    last_end: now,
                }
            }
            _ => {}
        }
    }

    /// The primary committed `version` of `row`.
    pub fn committed(&mut self, now: SimTime, row: u32, version: u64) {
        let row = row as usize;
        if row < self.primary.len() {
            self.primary[row] = version;
            self.track(row, now);
        }
    }

    pub fn stored(&mut self, now: SimTime, row: u32, version: u64, expires: SimTime) {
        let row = row as usize;
        self.settle(row, now);
        self.entries[row] = Some(Entry { version, expires });
        self.track(row, now);
    }

    pub fn dropped(&mut self, now: SimTime, row: u32) {
        let row = row as usize;
        self.settle(row, now);
        self.entries[row] = None;
        self.track(row, now);
    }

    /// With nothing cached, no row is stale any more: every open stale spell ends now.
    pub fn cleared(&mut self, now: SimTime) {
        for row in 0..self.entries.len() {
            self.settle(row, now);
            self.entries[row] = None;
            if self.spells[row].since.is_some() {
                self.spells[row] = Spell {
                    since: None,
                    last_end: now,
                };
            }
        }
    }

    /// When every cached row had last stopped being stale, given the state at `end`: a row still
    /// stale then converges when its TTL runs out.
    pub fn converged_at(&mut self, end: SimTime) -> SimTime {
        (0..self.entries.len())
            .map(|row| {
                self.settle(row, end);
                match (self.spells[row].since, self.entries[row]) {
                    (Some(_), Some(e)) => e.expires,
                    _ => self.spells[row].last_end,
                }
            })
            .max()
            .unwrap_or(SimTime::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn a_stale_fill_stays_stale_until_its_ttl_or_an_invalidation() {
        let mut c = CacheSpells::new(2);
        c.committed(s(1), 0, 1);
        // A fill of version 0 after version 1 committed: stale from 2 s, expires at 62 s.
        c.stored(s(2), 0, 0, s(62));
        assert_eq!(c.converged_at(s(10)), s(62));
        // An invalidation at 20 s ends the spell there.
        c.dropped(s(20), 0);
        assert_eq!(c.converged_at(s(30)), s(20));
    }

    #[test]
    fn a_commit_makes_a_fresh_entry_stale_and_a_flush_ends_every_spell() {
        let mut c = CacheSpells::new(2);
        c.stored(s(1), 0, 0, s(100));
        c.stored(s(1), 1, 0, s(100));
        assert_eq!(c.converged_at(s(2)), SimTime::ZERO, "both fresh");
        c.committed(s(5), 0, 1);
        c.committed(s(6), 1, 1);
        assert_eq!(c.converged_at(s(7)), s(100), "stale until the TTL");
        c.cleared(s(8));
        assert_eq!(c.converged_at(s(9)), s(8));
        // A spell whose TTL ran out ends at the TTL, not when somebody looks.
        c.stored(s(10), 0, 0, s(12));
        assert_eq!(c.converged_at(s(50)), s(12));
    }
}
