//! Linearizability of a history against a register, key by key, and the explanation of a
//! violation.
//!
//! This module owns one verdict per key: could every operation on the key have taken effect at a
//! single instant between its invocation and its completion, in an order a register allows? When
//! the answer is no, it also owns the explanation ([`Witness`]): a small set of operations that
//! cannot be ordered, a sentence a student understands, and a timeline of them.
//!
//! # The model
//! The key is a register holding an integer or nil, starting at [`KeyInfo::initial`]. An `Ok` read
//! must return the value held; a write sets it; a cas needs `from` and sets `to`; a decrement needs
//! a value (at least `qty` if conditional), leaves `value - qty`, and when the system reported the
//! value left, it must match. `Fail` operations had no effect and are dropped, as are reads whose
//! outcome is unknown. A write, cas or decrement with an unknown outcome (`Info`) may take effect at
//! any single instant after its invocation, or never, and constrains nothing after it (Knossos
//! treats it the same way). Real time orders `a` before `b` only when `a` completed strictly before
//! `b` was invoked: equal times are concurrent.
//!
//! # The search
//! Keys are independent (linearizability is compositional), so each is checked alone. Per key it is
//! the Wing–Gong–Lowe search: linearize, one by one, operations invoked before the earliest
//! completion not yet linearized, remembering every configuration (set of linearized operations,
//! value, timed-out operations applied) already explored. What keeps it fast:
//! - **Segments.** A moment when no definite operation is in flight cuts the key's history: the
//!   search explores one segment exhaustively and carries only the *set* of reachable end
//!   configurations across the cut, so memory is per segment, and a violation is found in the
//!   segment where that set becomes empty.
//! - **Reads first.** A read that may be linearized now and returns the current value is
//!   linearized at once, without branching: any order that places it later can place it now.
//! - **Timed-out operations as a pool.** An `Info` operation never blocks a cut: once it could
//!   have taken effect it stays available, so a configuration counts, per distinct function, how
//!   many it applied, and one that applied fewer (of every kind) dominates. Each segment first
//!   applies them lazily (only one that unblocks an operation at once); a segment that fails that
//!   way is redone completely, together with 1, 3, 7, ... segments before it, from the
//!   configurations saved there, until it passes or the complete search from the initial value
//!   fails too (see `Open`). Whatever is found is real, so a pass proves linearizability, and
//!   only a complete failure is reported.
//! - **Compact configurations.** The linearized set is "everything before `g`, except `U`" (`U` is
//!   small: those still in flight), interned, so a configuration is 24 bytes hashed with a fixed
//!   function; tables are reused across segments and keys, never cleared element by element.
//!
//! Easy histories (a few operations in flight) cost about one configuration per operation: a
//! 100,000-operation history over 10 keys takes tens of milliseconds (`benches/checker.rs`).
//!
//! # Online
//! [`Online`] takes a run's operations as they come and gives the same report: a key's operations
//! are kept until a search of those before some segment decides it, then forgotten (see its
//! doc for why a key that stays linearizable keeps them all).
//!
//! # Budget
//! The search is exponential in the worst case (many overlapping writes, many timed-out
//! operations of different kinds). [`Budget`] caps the configurations generated per key (found
//! again or not: that is the work); past it the key is [`KeyStatus::Unknown`], with the segment
//! that was too hard. The default is about one second of the worst histories measured, and memory
//! stays under about 100 bytes per configuration.
//!
//! # Witness
//! For a violation, the failing operation is the one blocking the configuration that got furthest
//! in time in the failing segment. The witness is a small set that still cannot be ordered, built
//! so that it stays an honest explanation: every step below only *adds* possible orders, so a set
//! that still cannot be ordered proves the history cannot be either.
//! 1. Windows of the key's operations that end when the failing one completed are checked from
//!    an *unknown* value, bisecting on where they start (a window that cannot be ordered stays so
//!    when it starts earlier). What lies outside a window but could take effect inside it
//!    (timed-out operations, writes in flight across either edge) stays in the check as
//!    *optional*: it may take effect at any moment after its invocation, or not at all. Only
//!    when no such window fails is the whole prefix checked from the key's initial value.
//! 2. Reads are dropped, then writes are made optional, while the set still cannot be ordered.
//! 3. The reported operations are the rest; the sentence says how many optional ones "do not
//!    explain it, wherever they took effect".
//!
//! When the smallest set is two reads that disagree, the window is widened to the write before
//! them (reads dropped, writes kept), if that lets the sentence name the acknowledged write a
//! stale read missed.

use std::collections::BTreeMap;

use super::online::{Recorded, snippet};
use super::timeline::timeline;
use crate::engine::rng::splitmix64;
use crate::history::{Func, History, KeyId, KeyInfo, Operation, Outcome, format_value};

/// Configurations explored per key before giving up. Measured (`cargo bench --bench checker --
/// budget`, one core of the CI kind of machine): the two worst histories we know, 24 writes of
/// distinct values in flight together with reads none of them explains, and 40 timed-out
/// decrements of distinct sizes with a read no subset of them explains, take 0.6 and 0.9 s to
/// use it up; easy histories need about one per operation (a 350,000-operation key: about
/// 360,000).
pub const DEFAULT_MAX_STATES_PER_KEY: u64 = 1_500_000;

/// How much searching a check may do, counted in configurations so that the verdict is the same on
/// every machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Configurations (linearized set, value, timed-out operations applied) explored per key;
    /// the witness of a key that is not linearizable gets the same amount again for finding its
    /// operations, and again for its sentence.
    pub max_states_per_key: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_states_per_key: DEFAULT_MAX_STATES_PER_KEY,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Linearizable,
    NotLinearizable(Witness),
    /// The budget ran out; `reason` says where and how to raise it.
    Unknown {
        reason: String,
    },
}

/// Why a key is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// Indexes into `History::ops` of the smallest set found that cannot be ordered, sorted by
    /// invocation.
    pub ops: Vec<usize>,
    /// Index into `History::ops` of the operation that could not be linearized.
    pub failing_op: usize,
    pub sentence: String,
    /// [`timeline`] of `ops` (of the 40 nearest the failing one, if there are more).
    pub timeline: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyResult {
    pub key: KeyId,
    /// The key's operations in the history, whatever their outcome.
    pub ops: usize,
    /// Configurations the verdict explored (the witness search is not counted).
    pub states_explored: u64,
    pub status: KeyStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// One per key, in `KeyId` order.
    pub keys: Vec<KeyResult>,
}

impl Report {
    /// True when every key is linearizable (none unknown).
    pub fn is_linearizable(&self) -> bool {
        self.keys
            .iter()
            .all(|k| k.status == KeyStatus::Linearizable)
    }

    /// The keys that are not linearizable, with their witnesses.
    pub fn violations(&self) -> impl Iterator<Item = (&KeyResult, &Witness)> {
        self.keys.iter().filter_map(|k| match &k.status {
            KeyStatus::NotLinearizable(w) => Some((k, w)),
            _ => None,
        })
    }
}

/// Checks every key of `history`.
pub fn check(history: &History, budget: &Budget) -> Report {
    let mut search = Search::default();
    let keys = history
        .ops_by_key()
        .iter()
        .enumerate()
        .map(|(k, ops)| check_key(history, KeyId(k as u32), ops, budget, &mut search))
        .collect();
    Report { keys }
}

/// The check fed one operation at a time, in history order. A key's considered operations are
/// kept until it is decided: at the start of a segment (once they have doubled since the last
/// try) the operations before it are searched exactly as the whole key's search would search
/// them, and a key found not linearizable (or over budget) there is decided, explained, and
/// forgets its operations. A key that stays linearizable keeps them all, because a violation
/// found later may need any of them: the witness search widens back to the key's first
/// operation when no shorter window explains it, and the lazy search can go back to the first
/// segment. Whether the whole key's search is lazy depends on timed-out operations that may
/// still come, so a key decided without one so far is searched both ways, and the end picks.
#[derive(Default)]
pub(crate) struct Online {
    search: Search,
    keys: Vec<OnlineKey>,
}

#[derive(Default)]
struct OnlineKey {
    /// Operations of the key, whatever their outcome.
    ops: usize,
    /// Its considered operations, in history order, while it is undecided.
    kept: Vec<Recorded>,
    /// Kept operations at which to search the prefix next.
    try_at: usize,
    decided: Option<Decided>,
    /// The first invocation of a considered operation of unknown outcome, and the latest
    /// completion of a definite one: the whole key's search is lazy if the first is not after
    /// the second.
    first_open: Option<u64>,
    last_definite: Option<u64>,
}

enum Decided {
    Final(KeyResult),
    /// Decided before any operation of unknown outcome: the result without one later, and
    /// with.
    Either {
        closed: KeyResult,
        open_later: KeyResult,
    },
}

/// Kept operations before the first search of a key's prefix.
const FIRST_TRY: usize = 64;

impl Online {
    pub fn op(&mut self, keys: &[KeyInfo], r: &Recorded) {
        let k = r.op.key.0 as usize;
        if self.keys.len() <= k {
            self.keys.resize_with(k + 1, OnlineKey::default);
        }
        let key = &mut self.keys[k];
        key.ops += 1;
        let op = &r.op;
        if !considered_op(op) {
            return;
        }
        let starts_segment = key.last_definite.is_some_and(|l| op.invoke > l);
        match op.outcome {
            Outcome::Ok => {
                let c = completion(op);
                key.last_definite = Some(key.last_definite.map_or(c, |l| l.max(c)));
            }
            _ => {
                key.first_open.get_or_insert(op.invoke);
            }
        }
        if key.decided.is_some() {
            return;
        }
        if op.outcome == Outcome::Ok && starts_segment && key.kept.len() >= key.try_at {
            key.try_prefix(&keys[k], KeyId(k as u32), op.invoke, &mut self.search);
            if key.decided.is_some() {
                return;
            }
        }
        key.kept.push(*r);
    }

    pub fn finish(&mut self, keys: &[KeyInfo]) -> super::CheckResult {
        let mut results = Vec::with_capacity(keys.len());
        for (k, info) in keys.iter().enumerate() {
            let key = KeyId(k as u32);
            let mut state =
                std::mem::take(self.keys.get_mut(k).unwrap_or(&mut OnlineKey::default()));
            let lazy = state
                .first_open
                .is_some_and(|f| state.last_definite.is_some_and(|l| f <= l));
            let mut result = match state.decided.take() {
                Some(Decided::Final(r)) => r,
                Some(Decided::Either { closed, open_later }) => {
                    if lazy {
                        open_later
                    } else {
                        closed
                    }
                }
                None => check_kept(info, key, &state.kept, Extent::Whole, &mut self.search),
            };
            result.ops = state.ops;
            results.push(result);
        }
        super::linearizability_report(keys, &Report { keys: results })
    }
}

impl OnlineKey {
    /// Searches the kept operations invoked before `before`, the start of a segment.
    fn try_prefix(&mut self, info: &KeyInfo, key: KeyId, before: u64, search: &mut Search) {
        let n = self.kept.partition_point(|r| r.op.invoke < before);
        let prefix = &self.kept[..n];
        let closed = Extent::Prefix { open_later: false };
        let result = check_kept(info, key, prefix, closed, search);
        if result.status == KeyStatus::Linearizable {
            self.try_at = (2 * self.kept.len()).max(FIRST_TRY);
            return;
        }
        let open_seen = prefix.iter().any(|r| r.op.outcome != Outcome::Ok);
        self.decided = Some(if open_seen {
            Decided::Final(result)
        } else {
            let open_later = Extent::Prefix { open_later: true };
            Decided::Either {
                closed: result,
                open_later: check_kept(info, key, prefix, open_later, search),
            }
        });
        self.kept = Vec::new();
    }
}

/// The result of `kept` (considered operations of `key`, in history order) as `extent`, with
/// the history's indexes.
fn check_kept(
    info: &KeyInfo,
    key: KeyId,
    kept: &[Recorded],
    extent: Extent,
    search: &mut Search,
) -> KeyResult {
    let refs: Vec<&Recorded> = kept.iter().collect();
    let (h, local) = snippet(info, &refs);
    debug_assert!(local.iter().enumerate().all(|(i, &l)| i == l));
    let all: Vec<usize> = (0..h.ops.len()).collect();
    let mut r = check_key_as(&h, KeyId(0), &all, &Budget::default(), search, extent);
    r.key = key;
    if let KeyStatus::NotLinearizable(w) = &mut r.status {
        w.ops.iter_mut().for_each(|i| *i = kept[*i].index);
        w.failing_op = kept[w.failing_op].index;
    }
    r
}

fn check_key(
    history: &History,
    key: KeyId,
    ops: &[usize],
    budget: &Budget,
    search: &mut Search,
) -> KeyResult {
    check_key_as(history, key, ops, budget, search, Extent::Whole)
}

/// How much of a key's operations a check sees.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extent {
    /// All of them.
    Whole,
    /// Those invoked before a definite operation that began after all of them completed (the
    /// start of a segment): each timed-out one may take effect before that operation, so none
    /// is dropped as too late. `open_later`: some operation of unknown outcome comes later,
    /// which makes the whole key's search lazy.
    Prefix { open_later: bool },
}

fn check_key_as(
    history: &History,
    key: KeyId,
    ops: &[usize],
    budget: &Budget,
    search: &mut Search,
    extent: Extent,
) -> KeyResult {
    let mut considered: Vec<usize> = ops
        .iter()
        .copied()
        .filter(|&i| considered_op(&history.ops[i]))
        .collect();
    considered.sort_by_key(|&i| (history.ops[i].invoke, i));
    let info = history.key(key);
    let prepared = Prepared::build(history, &considered, &[], None, extent == Extent::Whole);
    let limit = budget.max_states_per_key;
    let open_later = extent == Extent::Prefix { open_later: true };
    let run = search.run_as(&prepared, Val::of(info.initial), limit, true, open_later);
    let status = match run.outcome {
        RunOutcome::Linearizable => KeyStatus::Linearizable,
        RunOutcome::Exceeded {
            first,
            last,
            ops,
            open,
        } => KeyStatus::Unknown {
            reason: exceeded_reason(history, info, limit, (first, last, ops), open),
        },
        RunOutcome::NotLinearizable {
            failing,
            prefix_end,
        } => {
            let considered: Vec<usize> = considered
                .into_iter()
                .filter(|&i| history.ops[i].invoke < prefix_end)
                .collect();
            KeyStatus::NotLinearizable(explain(history, key, &considered, failing, search, limit))
        }
    };
    KeyResult {
        key,
        ops: ops.len(),
        states_explored: run.states,
        status,
    }
}

/// Whether the search looks at this operation at all: not a failed one (it had no effect), not a
/// read without a result (it says nothing).
fn considered_op(op: &Operation) -> bool {
    match op.outcome {
        Outcome::Ok => true,
        Outcome::Fail => false,
        Outcome::Info => !op.func.is_read(),
    }
}

fn completion(op: &Operation) -> u64 {
    op.complete.map_or(u64::MAX, |c| c.max(op.invoke))
}

/// `(first, last, ops)`: the segment that was too hard; `open`: operations with an unknown
/// outcome that could still take effect in it.
fn exceeded_reason(
    history: &History,
    key: &KeyInfo,
    limit: u64,
    (first, last, ops): (usize, usize, usize),
    open: usize,
) -> String {
    let until = history.ops[last]
        .complete
        .unwrap_or(history.ops[last].invoke);
    let open = if open > 0 {
        format!(
            ", with {open} operation{} of unknown outcome that may take effect anywhere",
            plural(open)
        )
    } else {
        String::new()
    };
    format!(
        "gave up on {} after exploring {limit} configurations (Budget::max_states_per_key) \
         between {} and {}: {ops} operation{} in flight together{open}; raise \
         Budget::max_states_per_key to search further (about 1 s per {} million in the worst \
         case, and at most about 100 bytes of memory each)",
        key.name,
        history.format_time(history.ops[first].invoke),
        history.format_time(until),
        plural(ops),
        DEFAULT_MAX_STATES_PER_KEY as f64 / 1e6,
    )
}

// ---------------------------------------------------------------------------------------------
// The register.

/// A register value, or `Any` before a witness check has learnt it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Val {
    Nil,
    Int(i64),
    Any,
}

impl Val {
    fn of(v: Option<i64>) -> Val {
        v.map_or(Val::Nil, Val::Int)
    }

    fn known(self) -> Option<Option<i64>> {
        match self {
            Val::Nil => Some(None),
            Val::Int(v) => Some(Some(v)),
            Val::Any => None,
        }
    }
}

/// What an operation does to the register, as far as the search cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Read(Option<i64>),
    /// The operation a sentence asks about: legal anywhere, changes nothing, and the search
    /// records the values it was linearized at.
    Probe,
    Write(i64),
    Cas {
        from: i64,
        to: i64,
    },
    Dec {
        qty: i64,
        conditional: bool,
        left: Option<i64>,
    },
}

impl Step {
    /// An operation that completed `Ok`.
    fn definite(op: &Operation) -> Step {
        match op.func {
            Func::Read => Step::Read(op.value),
            Func::Write { value } => Step::Write(value),
            Func::Cas { from, to } => Step::Cas { from, to },
            Func::Decrement { qty, conditional } => Step::Dec {
                qty,
                conditional,
                left: op.value,
            },
        }
    }

    /// An operation whose outcome is unknown: whatever it reported is not to be trusted.
    fn open(op: &Operation) -> Step {
        match Step::definite(op) {
            Step::Dec {
                qty, conditional, ..
            } => Step::Dec {
                qty,
                conditional,
                left: None,
            },
            step => step,
        }
    }

    /// The value after this step, or `None` if it cannot happen on `v`.
    fn apply(self, v: Val) -> Option<Val> {
        match (self, v) {
            (Step::Read(r), Val::Any) => Some(Val::of(r)),
            (Step::Read(r), v) => (v == Val::of(r)).then_some(v),
            (Step::Probe, v) => Some(v),
            (Step::Write(w), _) => Some(Val::Int(w)),
            (Step::Cas { from, to }, Val::Int(x)) if x == from => Some(Val::Int(to)),
            (Step::Cas { to, .. }, Val::Any) => Some(Val::Int(to)),
            (Step::Cas { .. }, _) => None,
            (Step::Dec { .. }, Val::Nil) => None,
            (
                Step::Dec {
                    qty,
                    conditional,
                    left,
                },
                Val::Int(s),
            ) => {
                let rest = s.wrapping_sub(qty);
                let ok = !(conditional && s < qty) && left.is_none_or(|l| l == rest);
                ok.then_some(Val::Int(rest))
            }
            (
                Step::Dec {
                    qty,
                    conditional,
                    left: Some(l),
                },
                Val::Any,
            ) => (!conditional || l.wrapping_add(qty) >= qty).then_some(Val::Int(l)),
            (Step::Dec { left: None, .. }, Val::Any) => Some(Val::Any),
        }
    }

    /// Its result depends on the value beyond its being legal (see `Open::Complete`).
    fn sensitive(self) -> bool {
        matches!(self, Step::Probe | Step::Dec { left: None, .. })
    }

    /// A read that returns `v`: linearized as soon as it may be, without branching.
    fn reads(self, v: Val) -> bool {
        matches!(self, Step::Read(r) if v != Val::Any && Val::of(r) == v)
    }
}

// ---------------------------------------------------------------------------------------------
// The operations of one check.

/// One key's considered operations, as the search sees them.
struct Prepared {
    /// Operations that completed `Ok`, by invocation: they must be linearized.
    inv: Vec<u64>,
    cmp: Vec<u64>,
    step: Vec<Step>,
    hist: Vec<usize>,
    /// Position in the above of the operation replaced by `Step::Probe`.
    probe: Option<usize>,
    /// Operations with an unknown outcome, by invocation, and the class (distinct step) of each.
    open_inv: Vec<u64>,
    open_class: Vec<u32>,
    classes: Vec<Step>,
}

impl Prepared {
    /// `ops`: indexes into `history.ops`, sorted by (invoke, index). `optional` (sorted): `Ok`
    /// operations among them to treat like timed-out ones, which may take effect at any point
    /// after their invocation or not at all (as far as this check is concerned).
    fn new(history: &History, ops: &[usize], optional: &[usize], probe: Option<usize>) -> Prepared {
        Prepared::build(history, ops, optional, probe, true)
    }

    /// As [`Prepared::new`]; `drop_late`: leave out the open operations invoked after every
    /// definite one completed (false when more operations follow `ops`, see [`Extent`]).
    fn build(
        history: &History,
        ops: &[usize],
        optional: &[usize],
        probe: Option<usize>,
        drop_late: bool,
    ) -> Prepared {
        let mut p = Prepared {
            inv: Vec::new(),
            cmp: Vec::new(),
            step: Vec::new(),
            hist: Vec::new(),
            probe: None,
            open_inv: Vec::new(),
            open_class: Vec::new(),
            classes: Vec::new(),
        };
        let mut open = Vec::new();
        for &i in ops {
            let op = &history.ops[i];
            match op.outcome {
                Outcome::Ok if optional.binary_search(&i).is_ok() => open.push(i),
                Outcome::Ok => {
                    if probe == Some(i) {
                        p.probe = Some(p.inv.len());
                    }
                    p.inv.push(op.invoke);
                    p.cmp.push(completion(op));
                    p.step.push(if probe == Some(i) {
                        Step::Probe
                    } else {
                        Step::definite(op)
                    });
                    p.hist.push(i);
                }
                Outcome::Info if !op.func.is_read() => open.push(i),
                _ => {}
            }
        }
        // One invoked after every definite operation completed can only take effect after all
        // of them: it explains nothing.
        let last = p.cmp.iter().copied().max();
        let mut class_of: BTreeMap<Step, u32> = BTreeMap::new();
        for i in open {
            let op = &history.ops[i];
            if drop_late && last.is_none_or(|l| op.invoke > l) {
                continue;
            }
            let step = match op.outcome {
                Outcome::Ok => Step::definite(op),
                _ => Step::open(op),
            };
            let next = class_of.len() as u32;
            let class = *class_of.entry(step).or_insert(next);
            if class == next {
                p.classes.push(step);
            }
            p.open_inv.push(op.invoke);
            p.open_class.push(class);
        }
        p
    }
}

// ---------------------------------------------------------------------------------------------
// Hash tables with a fixed hash: the same probing, hence the same work, on every machine.

fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95)
}

fn hash_words(words: &[u32]) -> u64 {
    splitmix64(
        words
            .iter()
            .fold(words.len() as u64, |h, &w| mix(h, u64::from(w))),
    )
}

/// Open addressing over ids; the owner stores the items and says how to compare and rehash them.
/// Clearing bumps a generation instead of touching every slot.
#[derive(Default)]
struct IdTable {
    /// (generation, id); a slot is empty unless its generation is the current one.
    slots: Vec<(u32, u32)>,
    generation: u32,
    len: usize,
}

impl IdTable {
    fn clear(&mut self) {
        self.len = 0;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.fill((0, 0));
            self.generation = 1;
        }
    }

    /// The id of an item equal to the one `hash`ed (by `same`), or `None` after recording `id`.
    fn find_or_insert(
        &mut self,
        hash: u64,
        id: u32,
        same: impl Fn(u32) -> bool,
        hash_of: impl Fn(u32) -> u64,
    ) -> Option<u32> {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(hash_of);
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let (generation, existing) = self.slots[i];
            if generation != self.generation {
                self.slots[i] = (self.generation, id);
                self.len += 1;
                return None;
            }
            if same(existing) {
                return Some(existing);
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self, hash_of: impl Fn(u32) -> u64) {
        let old = std::mem::take(&mut self.slots);
        let live = self.generation;
        let cap = (old.len() * 2).max(64);
        self.slots = vec![(0, 0); cap];
        self.generation = 1;
        let mask = cap - 1;
        for (generation, id) in old {
            if generation == live && live != 0 {
                let mut i = hash_of(id) as usize & mask;
                while self.slots[i].0 == 1 {
                    i = (i + 1) & mask;
                }
                self.slots[i] = (1, id);
            }
        }
    }
}

/// Small sets (sorted `u32` lists) interned to ids.
#[derive(Default)]
struct Interner {
    words: Vec<u32>,
    spans: Vec<(u32, u32)>,
    table: IdTable,
}

impl Interner {
    fn clear(&mut self) {
        self.words.clear();
        self.spans.clear();
        self.table.clear();
    }

    fn get(&self, id: u32) -> &[u32] {
        span(&self.words, &self.spans, id)
    }

    fn intern(&mut self, s: &[u32]) -> u32 {
        let Interner {
            words,
            spans,
            table,
        } = self;
        let id = spans.len() as u32;
        let found = table.find_or_insert(
            hash_words(s),
            id,
            |other| span(words, spans, other) == s,
            |other| hash_words(span(words, spans, other)),
        );
        found.unwrap_or_else(|| {
            spans.push((words.len() as u32, s.len() as u32));
            words.extend_from_slice(s);
            id
        })
    }
}

fn span<'a>(words: &'a [u32], spans: &[(u32, u32)], id: u32) -> &'a [u32] {
    let (start, len) = spans[id as usize];
    &words[start as usize..(start + len) as usize]
}

/// A search configuration. `g`: every definite operation of the segment before `g` is linearized
/// except the set `u` (interned); `p`: the interned pool counts of timed-out operations applied.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Cfg {
    g: u32,
    u: u32,
    p: u32,
    tag: u32,
    v: i64,
}

impl Cfg {
    fn new(g: u32, u: u32, p: u32, val: Val) -> Cfg {
        let (tag, v) = match val {
            Val::Nil => (0, 0),
            Val::Int(v) => (1, v),
            Val::Any => (2, 0),
        };
        Cfg { g, u, p, tag, v }
    }

    fn val(self) -> Val {
        match self.tag {
            0 => Val::Nil,
            1 => Val::Int(self.v),
            _ => Val::Any,
        }
    }

    /// Everything but the pool.
    fn same_place(self, o: Cfg) -> bool {
        (self.g, self.u, self.tag, self.v) == (o.g, o.u, o.tag, o.v)
    }

    fn place_hash(self) -> u64 {
        let h = [self.g, self.u, self.tag]
            .iter()
            .fold(0, |h, &w| mix(h, u64::from(w)));
        splitmix64(mix(h, self.v as u64))
    }
}

/// The configurations explored in one segment. Those at the same place (position, set in flight,
/// value) are chained in the order found; a configuration is new unless one of the first
/// `DOMINANCE_CHECKS` there applied a subset of its timed-out operations, since that one can do
/// everything it can. The search meets configurations by number applied, so the first found are
/// the likeliest to dominate; looking no further bounds the work per configuration, and one
/// dominated but not recognised is explored again, which costs budget, never correctness.
#[derive(Default)]
struct CfgTable {
    cfgs: Vec<Cfg>,
    /// Per configuration: the next one found at the same place, or `NO_CFG`.
    next_same: Vec<u32>,
    /// Per configuration first found at its place: the last found there.
    last_same: Vec<u32>,
    table: IdTable,
}

const NO_CFG: u32 = u32::MAX;
const DOMINANCE_CHECKS: usize = 8;

impl CfgTable {
    fn clear(&mut self) {
        self.cfgs.clear();
        self.next_same.clear();
        self.last_same.clear();
        self.table.clear();
    }

    /// Its id if it is new and not dominated.
    fn insert(&mut self, c: Cfg, pools: &Interner) -> Option<u32> {
        let CfgTable {
            cfgs,
            next_same,
            last_same,
            table,
        } = self;
        let id = cfgs.len() as u32;
        let first = table.find_or_insert(
            c.place_hash(),
            id,
            |other| cfgs[other as usize].same_place(c),
            |other| cfgs[other as usize].place_hash(),
        );
        if let Some(first) = first {
            let mine = pools.get(c.p);
            let mut at = first;
            for _ in 0..DOMINANCE_CHECKS {
                let other = cfgs[at as usize].p;
                if other == c.p || pool_le(pools.get(other), mine) {
                    return None;
                }
                at = next_same[at as usize];
                if at == NO_CFG {
                    break;
                }
            }
            let last = last_same[first as usize];
            next_same[last as usize] = id;
            last_same[first as usize] = id;
        }
        cfgs.push(c);
        next_same.push(NO_CFG);
        last_same.push(id);
        Some(id)
    }
}

// Pools: the timed-out operations applied so far, as sorted (class, count) pairs, flattened.

fn pool_count(pool: &[u32], class: u32) -> u32 {
    pool.chunks_exact(2)
        .find(|w| w[0] == class)
        .map_or(0, |w| w[1])
}

fn pool_add(pool: &[u32], class: u32, out: &mut Vec<u32>) {
    out.clear();
    let mut placed = false;
    for w in pool.chunks_exact(2) {
        if !placed && w[0] >= class {
            placed = true;
            if w[0] == class {
                out.extend_from_slice(&[class, w[1] + 1]);
                continue;
            }
            out.extend_from_slice(&[class, 1]);
        }
        out.extend_from_slice(w);
    }
    if !placed {
        out.extend_from_slice(&[class, 1]);
    }
}

fn pool_total(pool: &[u32]) -> u32 {
    pool.chunks_exact(2).map(|w| w[1]).sum()
}

/// Every class applied no more often in `a` than in `b`: `a` has at least the options of `b`.
fn pool_le(a: &[u32], b: &[u32]) -> bool {
    let mut rest = b.chunks_exact(2).peekable();
    a.chunks_exact(2).all(|w| {
        while rest.next_if(|v| v[0] < w[0]).is_some() {}
        rest.next_if(|v| v[0] == w[0]).is_some_and(|v| w[1] <= v[1])
    })
}

// ---------------------------------------------------------------------------------------------
// The search.

enum RunOutcome {
    Linearizable,
    /// `failing`: index into `History::ops`; every operation invoked from `prefix_end` on is
    /// after the failing segment.
    NotLinearizable {
        failing: usize,
        prefix_end: u64,
    },
    /// Indexes into `History::ops` of the first and last operation of the segment, its size,
    /// and the operations of unknown outcome that could take effect in it.
    Exceeded {
        first: usize,
        last: usize,
        ops: usize,
        open: usize,
    },
}

struct Run {
    outcome: RunOutcome,
    states: u64,
}

/// When the search applies operations with an unknown outcome (they are optional and have no
/// deadline, so applying them everywhere multiplies the configurations).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Only one that makes a blocked candidate legal at once. Fewer orders than `Complete`, so a
    /// linearization found is real, but a failure proves nothing.
    Lazy,
    /// Whenever some candidate is blocked, or is a decrement that reported no value. Complete:
    /// when every candidate is legal and its result does not depend on the value, open
    /// operations applied before one of them must bring the value back to where it was, so
    /// leaving them open instead does at least as well.
    Complete,
}

enum SegEnd {
    Carried,
    /// No configuration reached the end; `blocking` is local to the segment.
    Dead {
        blocking: usize,
    },
    Exceeded,
}

/// The segments of `p`: (first, end) of its definite operations and (first, end) of the open
/// ones invoked during it. A segment ends before the first operation invoked after every one
/// before it completed.
fn segments(p: &Prepared) -> Vec<(usize, usize, usize, usize)> {
    let n = p.inv.len();
    let mut out = Vec::new();
    let (mut a, mut open_a) = (0, 0);
    while a < n {
        let mut b = a + 1;
        let mut reach = p.cmp[a];
        while b < n && reach >= p.inv[b] {
            reach = reach.max(p.cmp[b]);
            b += 1;
        }
        let open_b = if b == n {
            p.open_inv.len()
        } else {
            p.open_inv.partition_point(|&t| t < p.inv[b])
        };
        out.push((a, b, open_a, open_b));
        (a, open_a) = (b, open_b);
    }
    out
}

/// One segment of definite operations, with the timed-out operations invoked during it.
struct Seg<'a> {
    inv: &'a [u64],
    cmp: &'a [u64],
    step: &'a [Step],
    probe: Option<usize>,
    open_inv: &'a [u64],
    open_class: &'a [u32],
    classes: &'a [Step],
}

/// The search and every buffer it needs, reused across segments, keys and witness checks so that
/// a search step allocates nothing once the buffers have grown.
#[derive(Default)]
struct Search {
    frontier: Frontier,
    pools: Interner,
    cur_u: Vec<u32>,
    next_u: Vec<u32>,
    cur_p: Vec<u32>,
    next_p: Vec<u32>,
    /// Per class: timed-out operations from earlier segments, and those available right now.
    base: Vec<u32>,
    avail: Vec<u32>,
    seen: Vec<u32>,
    active: Vec<u32>,
    ends: Vec<(Val, u32)>,
    carried: Vec<(Val, u32)>,
    /// Candidates that cannot be linearized at the current value.
    stuck: Vec<Step>,
    /// The values the probe was linearized at.
    probe_vals: Vec<Val>,
}

/// The configurations of the segment being searched: every one generated (`memo`, with the sets
/// of operations in flight interned in `usets`), those still to expand, and the work done.
#[derive(Default)]
struct Frontier {
    memo: CfgTable,
    usets: Interner,
    /// Configurations to expand, by the number of timed-out operations they applied: fewest
    /// first, so that dominating configurations are met before those they dominate.
    todo: Vec<Vec<u32>>,
    /// No level of `todo` below this holds a configuration: a move never applies fewer
    /// timed-out operations than the configuration it starts from.
    level: usize,
    /// Earliest completion, and its position, among the segment's operations from `i` on.
    sufmin: Vec<u64>,
    sufarg: Vec<u32>,
    /// Configurations generated in the run so far, and how many the budget allows.
    states: u64,
    limit: u64,
}

/// The budget ran out.
struct OverBudget;

/// The configuration that got furthest in a segment, as the key it is compared by: the latest
/// deadline blocking it, then the most operations linearized, then the earliest blocking
/// operation (the one that is reported).
type Furthest = (u64, u32, std::cmp::Reverse<usize>);

impl Frontier {
    /// Forgets the previous segment's configurations and indexes `seg`'s completions.
    fn start(&mut self, seg: &Seg<'_>, states: u64, limit: u64) {
        let n = seg.inv.len();
        self.memo.clear();
        self.usets.clear();
        self.usets.intern(&[]);
        self.todo.iter_mut().for_each(Vec::clear);
        self.level = 0;
        self.sufmin.clear();
        self.sufmin.resize(n + 1, u64::MAX);
        self.sufarg.clear();
        self.sufarg.resize(n + 1, n as u32);
        for i in (0..n).rev() {
            (self.sufmin[i], self.sufarg[i]) = if seg.cmp[i] <= self.sufmin[i + 1] {
                (seg.cmp[i], i as u32)
            } else {
                (self.sufmin[i + 1], self.sufarg[i + 1])
            };
        }
        (self.states, self.limit) = (states, limit);
    }

    /// The next configuration to expand, among those that applied the fewest timed-out
    /// operations.
    fn pop(&mut self) -> Option<u32> {
        while self.level < self.todo.len() && self.todo[self.level].is_empty() {
            self.level += 1;
        }
        self.todo.get_mut(self.level).and_then(Vec::pop)
    }

    /// Records the configuration (`g`, `u`, `p`, `val`), once the reads that may go next are
    /// linearized (`close`), for expansion if it is new. Every configuration generated counts
    /// against the budget, found before or not: that is the work.
    fn reach(
        &mut self,
        seg: &Seg<'_>,
        mut g: u32,
        u: &mut Vec<u32>,
        p: u32,
        val: Val,
        pools: &Interner,
    ) -> Result<(), OverBudget> {
        close(seg, &self.sufmin, &mut g, u, val);
        let cfg = Cfg::new(g, self.usets.intern(u), p, val);
        self.states += 1;
        if let Some(id) = self.memo.insert(cfg, pools) {
            let applied = pool_total(pools.get(p)) as usize;
            if self.todo.len() <= applied {
                self.todo.resize_with(applied + 1, Vec::new);
            }
            self.todo[applied].push(id);
        }
        if self.states <= self.limit {
            Ok(())
        } else {
            Err(OverBudget)
        }
    }
}

impl Search {
    /// Runs the search over every segment. With `lazy`, each segment first applies open
    /// operations lazily; when a segment then fails, the search goes back and redoes it
    /// completely, then it and the one before, then the three before, ... from the configurations
    /// saved at their start, until it gets past or the complete search from the initial value
    /// fails there too. Failures are local in practice (an open write applied just before a
    /// decrement that reported nothing), so this costs little; and what is found is real either
    /// way, since every configuration is reachable.
    fn run(&mut self, p: &Prepared, initial: Val, limit: u64, lazy: bool) -> Run {
        self.run_as(p, initial, limit, lazy, false)
    }

    /// As [`Search::run`]; `open_later`: operations of unknown outcome come after those of `p`,
    /// so the search is lazy (if asked) even when `p` has none.
    fn run_as(
        &mut self,
        p: &Prepared,
        initial: Val,
        limit: u64,
        lazy: bool,
        open_later: bool,
    ) -> Run {
        self.pools.clear();
        let empty = self.pools.intern(&[]);
        self.avail.clear();
        self.avail.resize(p.classes.len(), 0);
        self.probe_vals.clear();
        self.carried.clear();
        self.carried.push((initial, empty));
        let segments = segments(p);
        let lazy = lazy && (open_later || !p.classes.is_empty());
        // Carried configurations at the start of each segment reached, for going back.
        let mut saved: Vec<Vec<(Val, u32)>> = Vec::new();
        // Segments before this are redone completely; the failure being retried; how far back.
        let (mut complete_until, mut failed_at, mut back) = (0, usize::MAX, 0);
        // Every segment so far was searched completely: a failure is final.
        let mut exact = !lazy;
        let mut states = 0;
        let mut i = 0;
        self.count_open(p, 0);
        while i < segments.len() {
            let (a, b, open_a, open_b) = segments[i];
            if lazy {
                saved.truncate(i);
                saved.push(self.carried.clone());
            }
            let seg = Seg {
                inv: &p.inv[a..b],
                cmp: &p.cmp[a..b],
                step: &p.step[a..b],
                probe: p.probe.filter(|&x| (a..b).contains(&x)).map(|x| x - a),
                open_inv: &p.open_inv[open_a..open_b],
                open_class: &p.open_class[open_a..open_b],
                classes: &p.classes,
            };
            let open = if lazy && i >= complete_until {
                exact = false;
                Open::Lazy
            } else {
                Open::Complete
            };
            match self.segment(&seg, &mut states, limit, open) {
                SegEnd::Carried => {
                    for &c in &p.open_class[open_a..open_b] {
                        if self.base[c as usize] == 0 {
                            self.seen.push(c);
                            self.seen.sort_unstable();
                        }
                        self.base[c as usize] += 1;
                    }
                    i += 1;
                }
                SegEnd::Dead { .. } if !exact => {
                    if i == failed_at {
                        back = back * 2 + 1;
                    } else {
                        (failed_at, back) = (i, 0);
                    }
                    let from = i.saturating_sub(back);
                    complete_until = i + 1;
                    exact = from == 0;
                    self.carried.clone_from(&saved[from]);
                    self.count_open(p, segments[from].2);
                    i = from;
                }
                SegEnd::Dead { blocking } => {
                    let prefix_end = segments.get(i + 1).map_or(u64::MAX, |s| p.inv[s.0]);
                    return Run {
                        outcome: RunOutcome::NotLinearizable {
                            failing: p.hist[a + blocking],
                            prefix_end,
                        },
                        states,
                    };
                }
                SegEnd::Exceeded => {
                    return Run {
                        outcome: RunOutcome::Exceeded {
                            first: p.hist[a],
                            last: p.hist[b - 1],
                            ops: b - a,
                            open: open_b,
                        },
                        states,
                    };
                }
            }
        }
        Run {
            outcome: RunOutcome::Linearizable,
            states,
        }
    }

    /// Sets the per-class counts of open operations to those invoked before segment-start
    /// `open_a`.
    fn count_open(&mut self, p: &Prepared, open_a: usize) {
        self.base.clear();
        self.base.resize(p.classes.len(), 0);
        for &c in &p.open_class[..open_a] {
            self.base[c as usize] += 1;
        }
        self.seen.clear();
        self.seen
            .extend((0..p.classes.len() as u32).filter(|&c| self.base[c as usize] > 0));
    }

    /// Explores one segment from every carried configuration; leaves in `carried` the end
    /// configurations that no other dominates.
    fn segment(&mut self, seg: &Seg<'_>, states: &mut u64, limit: u64, open: Open) -> SegEnd {
        self.frontier.start(seg, *states, limit);
        self.ends.clear();
        self.active.clear();
        self.active.extend_from_slice(&self.seen);
        self.active.extend_from_slice(seg.open_class);
        self.active.sort_unstable();
        self.active.dedup();
        let end = self.explore(seg, open);
        *states = self.frontier.states;
        end
    }

    fn explore(&mut self, seg: &Seg<'_>, open: Open) -> SegEnd {
        for &(val, p) in &self.carried {
            self.next_u.clear();
            let reached = self
                .frontier
                .reach(seg, 0, &mut self.next_u, p, val, &self.pools);
            if reached.is_err() {
                return SegEnd::Exceeded;
            }
        }
        // Every configuration is a candidate for the furthest, not only those without a move:
        // one whose moves all lead to configurations found before (or dominated) is as far as
        // that path goes.
        let mut furthest: Option<Furthest> = None;
        while let Some(id) = self.frontier.pop() {
            if self.expand(seg, id, open, &mut furthest).is_err() {
                return SegEnd::Exceeded;
            }
        }
        settle(&mut self.ends, &self.pools, &mut self.carried, open);
        if self.carried.is_empty() {
            return SegEnd::Dead {
                blocking: furthest.map_or(0, |(_, _, b)| b.0),
            };
        }
        SegEnd::Carried
    }

    /// Generates every move from configuration `id`: linearizing an operation in flight or one
    /// invoked before the earliest pending completion, or applying a timed-out one.
    fn expand(
        &mut self,
        seg: &Seg<'_>,
        id: u32,
        open: Open,
        furthest: &mut Option<Furthest>,
    ) -> Result<(), OverBudget> {
        let cfg = self.frontier.memo.cfgs[id as usize];
        self.cur_u.clear();
        self.cur_u.extend_from_slice(self.frontier.usets.get(cfg.u));
        if cfg.g as usize == seg.inv.len() && self.cur_u.is_empty() {
            // Timed-out operations are not applied here: the next segment may apply them
            // first, which is the same.
            self.ends.push((cfg.val(), cfg.p));
            return Ok(());
        }
        // `m` is also how far in time this configuration got.
        let m = deadline(seg, &self.frontier.sufmin, cfg.g, &self.cur_u);
        let here = (
            m,
            cfg.g - self.cur_u.len() as u32,
            self.blocking(seg, cfg.g),
        );
        if furthest.is_none_or(|f| here > f) {
            *furthest = Some(here);
        }
        self.stuck.clear();
        let mut sensitive = self.linearize_in_flight(seg, cfg)?;
        sensitive |= self.linearize_invoked(seg, cfg, m)?;
        let wanted = match open {
            Open::Lazy => !self.stuck.is_empty(),
            Open::Complete => !self.stuck.is_empty() || sensitive,
        };
        if wanted && !self.active.is_empty() {
            self.apply_open(seg, cfg, m, open)?;
        }
        Ok(())
    }

    /// The operation blocking a configuration: the earliest to complete of those not
    /// linearized (in flight in `cur_u`, or from `g` on).
    fn blocking(&self, seg: &Seg<'_>, g: u32) -> std::cmp::Reverse<usize> {
        let n = seg.inv.len() as u32;
        let b = self
            .cur_u
            .iter()
            .map(|&x| x as usize)
            .chain((g < n).then(|| self.frontier.sufarg[g as usize] as usize))
            .min_by_key(|&x| (seg.cmp[x], x))
            .unwrap_or(0);
        std::cmp::Reverse(b)
    }

    /// Linearizes, one move each, the operations already passed over and still in flight that
    /// the value allows; the others are stuck. Returns whether one depends on the value.
    fn linearize_in_flight(&mut self, seg: &Seg<'_>, cfg: Cfg) -> Result<bool, OverBudget> {
        let val = cfg.val();
        let mut sensitive = false;
        for k in 0..self.cur_u.len() {
            let j = self.cur_u[k] as usize;
            let step = seg.step[j];
            sensitive |= step.sensitive();
            let Some(next) = step.apply(val) else {
                self.stuck.push(step);
                continue;
            };
            if seg.probe == Some(j) {
                note(&mut self.probe_vals, val);
            }
            self.next_u.clear();
            let others = self.cur_u.iter().copied().filter(|&x| x as usize != j);
            self.next_u.extend(others);
            self.frontier
                .reach(seg, cfg.g, &mut self.next_u, cfg.p, next, &self.pools)?;
        }
        Ok(sensitive)
    }

    /// The same for the operations not reached yet, invoked before `m` (the earliest pending
    /// completion): linearizing one passes over those before it, which stay in flight.
    fn linearize_invoked(&mut self, seg: &Seg<'_>, cfg: Cfg, m: u64) -> Result<bool, OverBudget> {
        let val = cfg.val();
        let mut sensitive = false;
        let mut j = cfg.g as usize;
        while j < seg.inv.len() && seg.inv[j] <= m {
            let step = seg.step[j];
            sensitive |= step.sensitive();
            if let Some(next) = step.apply(val) {
                if seg.probe == Some(j) {
                    note(&mut self.probe_vals, val);
                }
                self.next_u.clear();
                self.next_u.extend_from_slice(&self.cur_u);
                self.next_u.extend(cfg.g..j as u32);
                let g = j as u32 + 1;
                self.frontier
                    .reach(seg, g, &mut self.next_u, cfg.p, next, &self.pools)?;
            } else {
                self.stuck.push(step);
            }
            j += 1;
        }
        Ok(sensitive)
    }

    /// Applies, one move each, a timed-out operation of each class invoked before `m` that the
    /// configuration has not applied yet and the value allows; lazily, only one that makes a
    /// stuck candidate legal.
    fn apply_open(
        &mut self,
        seg: &Seg<'_>,
        cfg: Cfg,
        m: u64,
        open: Open,
    ) -> Result<(), OverBudget> {
        let val = cfg.val();
        let invoked = seg.open_inv.partition_point(|&t| t <= m);
        for &c in &self.active {
            self.avail[c as usize] = self.base[c as usize];
        }
        for &c in &seg.open_class[..invoked] {
            self.avail[c as usize] += 1;
        }
        self.cur_p.clear();
        self.cur_p.extend_from_slice(self.pools.get(cfg.p));
        for &c in &self.active {
            if pool_count(&self.cur_p, c) >= self.avail[c as usize] {
                continue;
            }
            let Some(next) = seg.classes[c as usize].apply(val) else {
                continue;
            };
            if open == Open::Lazy && !self.stuck.iter().any(|s| s.apply(next).is_some()) {
                continue;
            }
            pool_add(&self.cur_p, c, &mut self.next_p);
            let p = self.pools.intern(&self.next_p);
            self.next_u.clear();
            self.next_u.extend_from_slice(&self.cur_u);
            self.frontier
                .reach(seg, cfg.g, &mut self.next_u, p, next, &self.pools)?;
        }
        Ok(())
    }
}

/// The earliest completion among the operations not linearized: only operations invoked by then
/// may be linearized next.
fn deadline(seg: &Seg<'_>, sufmin: &[u64], g: u32, u: &[u32]) -> u64 {
    u.iter()
        .map(|&j| seg.cmp[j as usize])
        .min()
        .unwrap_or(u64::MAX)
        .min(sufmin[g as usize])
}

/// Linearizes every read that may go next and returns `v`, until none is left; the new
/// configuration is canonical, so two paths that differ only in where such reads went meet.
fn close(seg: &Seg<'_>, sufmin: &[u64], g: &mut u32, u: &mut Vec<u32>, v: Val) {
    if v == Val::Any {
        // A read from an unknown value decides it: that is a choice, not a free move.
        return;
    }
    let n = seg.inv.len();
    loop {
        let before = (*g, u.len());
        u.retain(|&j| !seg.step[j as usize].reads(v));
        let m = deadline(seg, sufmin, *g, u);
        let mut j = *g as usize;
        while j < n && seg.inv[j] <= m {
            if seg.step[j].reads(v) {
                u.extend(*g..j as u32);
                *g = j as u32 + 1;
            }
            j += 1;
        }
        if (*g, u.len()) == before {
            return;
        }
    }
}

fn note(vals: &mut Vec<Val>, v: Val) {
    if !vals.contains(&v) {
        vals.push(v);
    }
}

/// Keeps one of each end configuration, dropping those another dominates (same value, no more
/// timed-out operations applied of any kind). A lazy search keeps only one per value, the one
/// that applied fewest: it would otherwise carry every way of explaining a value into every
/// later segment, and what it misses, the complete search redoes.
fn settle(ends: &mut [(Val, u32)], pools: &Interner, carried: &mut Vec<(Val, u32)>, open: Open) {
    ends.sort_unstable_by_key(|&(v, p)| (v, pool_total(pools.get(p)), p));
    carried.clear();
    let mut same_value_from = 0;
    for &(v, p) in ends.iter() {
        if carried.last().is_none_or(|&(w, _)| w != v) {
            same_value_from = carried.len();
        } else if open == Open::Lazy {
            continue;
        }
        let dominated = carried[same_value_from..]
            .iter()
            .take(DOMINANCE_CHECKS)
            .any(|&(_, q)| q == p || pool_le(pools.get(q), pools.get(p)));
        if !dominated {
            carried.push((v, p));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The witness.

/// At most this many operations in a witness's timeline, the ones nearest the failing one.
const TIMELINE_OPS_MAX: usize = 40;
const TIMELINE_WIDTH: usize = 100;

/// `considered`: the key's considered operations up to the end of the failing segment, sorted.
fn explain(
    history: &History,
    key: KeyId,
    considered: &[usize],
    failing: usize,
    search: &mut Search,
    limit: u64,
) -> Witness {
    let mut ex = Explainer {
        history,
        search,
        left: limit,
        spare: limit,
    };
    let initial = history.key(key).initial;
    let mut best = None;
    if let Some(window) = ex.smallest_window(considered, failing, initial) {
        let first = ex.finish(key, &window, failing, true);
        // Two reads that disagree are the smallest explanation of a stale read, but the write
        // before them is the one a reader wants named: widen to it if that gives the sentence.
        let widen = !first.stale && history.ops[failing].func.is_read();
        best = Some(first);
        if let Some(wider) = window.wider.filter(|_| widen) {
            let (checked, optional) = window_ops(history, considered, wider, window.until);
            let wider = Window {
                checked,
                optional,
                initial: window.initial,
                until: window.until,
                wider: None,
            };
            let second = ex.finish(key, &wider, failing, false);
            if second.stale {
                best = Some(second);
            }
        }
    }
    let explained = best.unwrap_or_else(|| {
        let ops = concurrent_with(history, considered, failing);
        let (sentence, _) = describe_violation(history, key, &ops, failing, None, None);
        Explained {
            sentence: format!(
                "{sentence}; no smaller set was found within the budget, so the operations \
                 shown are the failing one and those in flight with it"
            ),
            ops,
            stale: false,
        }
    });
    Witness {
        timeline: witness_timeline(history, &explained.ops, failing),
        ops: explained.ops,
        failing_op: failing,
        sentence: explained.sentence,
    }
}

struct Explained {
    ops: Vec<usize>,
    sentence: String,
    /// The sentence names the acknowledged write a read did not see.
    stale: bool,
}

/// The operations of `considered` from position `start` invoked by `until`, plus what else may
/// take effect among them, as optional operations (the second list, sorted): every timed-out
/// operation invoked before one of them completed, every earlier write still in flight when the
/// first of them was invoked, and every later write invoked before one of them completed.
fn window_ops(
    history: &History,
    considered: &[usize],
    start: usize,
    until: u64,
) -> (Vec<usize>, Vec<usize>) {
    let ops = &history.ops;
    let kept = &considered[start..];
    let kept = &kept[..kept.partition_point(|&i| ops[i].invoke <= until)];
    let first = kept
        .iter()
        .find(|&&i| ops[i].outcome == Outcome::Ok)
        .map_or(u64::MAX, |&i| ops[i].invoke);
    let last = kept
        .iter()
        .filter(|&&i| ops[i].outcome == Outcome::Ok)
        .map(|&i| completion(&ops[i]))
        .max()
        .unwrap_or(until)
        .max(until);
    let mut checked = Vec::new();
    let mut optional = Vec::new();
    let mut add = |i: usize, checked: &mut Vec<usize>| {
        let op = &ops[i];
        match op.outcome {
            Outcome::Ok if op.func.is_read() => {}
            Outcome::Ok => {
                checked.push(i);
                optional.push(i);
            }
            _ => checked.push(i),
        }
    };
    for &i in &considered[..start] {
        let op = &ops[i];
        if op.outcome != Outcome::Ok || completion(op) >= first {
            add(i, &mut checked);
        }
    }
    checked.extend_from_slice(kept);
    for &i in &considered[start + kept.len()..] {
        if ops[i].invoke > last {
            break;
        }
        add(i, &mut checked);
    }
    optional.sort_unstable();
    (checked, optional)
}

/// Operations to check, and the optional ones among them (sorted).
type Subset = (Vec<usize>, Vec<usize>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Relax {
    Reads,
    Writes,
}

struct Window {
    /// Operations to check, timed-out ones included, sorted by (invoke, index).
    checked: Vec<usize>,
    /// Writes in `checked` from outside the window that overlap it, sorted: optional.
    optional: Vec<usize>,
    initial: Val,
    /// The window keeps the definite operations invoked by then.
    until: u64,
    /// The latest earlier start that takes in a write, if there is one.
    wider: Option<usize>,
}

struct Explainer<'a> {
    history: &'a History,
    search: &'a mut Search,
    /// Configurations left for finding the set, and for the sentence about it.
    left: u64,
    spare: u64,
}

impl Explainer<'_> {
    /// `Some(true)` if `ops` cannot be ordered from `initial`; `None` once the budget is spent.
    fn refuted(&mut self, (ops, optional): &Subset, initial: Val) -> Option<bool> {
        if self.left == 0 {
            return None;
        }
        let p = Prepared::new(self.history, ops, optional, None);
        let run = self.search.run(&p, initial, self.left, true);
        self.left = self.left.saturating_sub(run.states);
        match run.outcome {
            RunOutcome::Linearizable => Some(false),
            RunOutcome::NotLinearizable { .. } => Some(true),
            RunOutcome::Exceeded { .. } => {
                self.left = 0;
                None
            }
        }
    }

    /// The shortest window of `considered` ending after `failing` that cannot be ordered.
    ///
    /// A window keeps every operation from a start position on, from an unknown value, plus
    /// what before it may still take effect inside it (timed-out operations, and writes in
    /// flight when it starts, both optional). Take any order of the whole history: the writes
    /// dropped from the window come before every kept operation, so they only decide the
    /// starting value; an optional write is either among them or placed inside. So the window is
    /// orderable whenever the history is: a window that is not is a fair explanation, and a
    /// longer one is not orderable either, which is what lets the search below bisect.
    fn smallest_window(
        &mut self,
        considered: &[usize],
        failing: usize,
        initial: Option<i64>,
    ) -> Option<Window> {
        let h = self.history;
        let at = considered.iter().position(|&i| i == failing)?;
        let definite = |i: usize| h.ops[i].outcome == Outcome::Ok;
        let starts: Vec<usize> = (0..=at).filter(|&x| definite(considered[x])).collect();
        // Up to the failing operation's completion first; everything, if what follows it is
        // part of the reason.
        let mut ends = vec![completion(&h.ops[failing])];
        if ends[0] < u64::MAX {
            ends.push(u64::MAX);
        }
        for until in ends {
            let window = |start: usize| window_ops(h, considered, start, until);
            let wider = |start: usize| {
                starts.iter().copied().rev().find(|&x| {
                    x < start
                        && considered[x..start].iter().any(|&i| {
                            let op = &h.ops[i];
                            op.outcome == Outcome::Ok && !op.func.is_read()
                        })
                })
            };
            // Widen exponentially from the failing operation back, then bisect.
            let mut orderable = starts.len();
            let mut refuted = None;
            let mut k = starts.len() - 1;
            let mut stride = 1;
            loop {
                if self.refuted(&window(starts[k]), Val::Any)? {
                    refuted = Some(k);
                    break;
                }
                orderable = k;
                if k == 0 {
                    break;
                }
                k = k.saturating_sub(stride);
                stride *= 2;
            }
            if let Some(mut lo) = refuted {
                let mut hi = orderable;
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if self.refuted(&window(starts[mid]), Val::Any)? {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let (checked, optional) = window(starts[lo]);
                return Some(Window {
                    checked,
                    optional,
                    initial: Val::Any,
                    until,
                    wider: wider(starts[lo]),
                });
            }
            // Only the initial value explains it: the window is the whole prefix.
            let whole = window(starts[0]);
            if self.refuted(&whole, Val::of(initial))? {
                return Some(Window {
                    checked: whole.0,
                    optional: whole.1,
                    initial: Val::of(initial),
                    until,
                    wider: None,
                });
            }
        }
        None
    }

    /// The reported set and its sentence, from a window that cannot be ordered; `writes`: its
    /// writes may be made optional too.
    fn finish(&mut self, key: KeyId, window: &Window, failing: usize, writes: bool) -> Explained {
        let h = self.history;
        let start = (window.checked.clone(), window.optional.clone());
        let reads_dropped = self.relax(&start, window.initial, failing, Relax::Reads);
        let subset = if writes {
            self.relax(&reads_dropped, window.initial, failing, Relax::Writes)
        } else {
            reads_dropped.clone()
        };
        let timed_out = subset
            .0
            .iter()
            .filter(|&&i| h.ops[i].outcome == Outcome::Info)
            .count();
        let relaxed = subset.1.len();
        let ops = self.shown(&subset.0, &subset.1);
        let held = self.held(&subset, failing, window.initial);
        // What the writes left, as far as the window tells, before any of them was relaxed.
        let held_before = if subset == reads_dropped {
            held.clone()
        } else {
            self.held(&reads_dropped, failing, window.initial)
        };
        let (mut sentence, stale) = describe_violation(
            h,
            key,
            &ops,
            failing,
            held.as_deref(),
            held_before.as_deref(),
        );
        if window.initial != Val::Any {
            sentence.push_str(&format!(
                " (starting from the key's initial value {})",
                format_value(h.key(key).initial)
            ));
        }
        let mut unexplained = Vec::new();
        if timed_out > 0 {
            unexplained.push(format!(
                "{timed_out} operation{} with an unknown outcome",
                plural(timed_out)
            ));
        }
        if relaxed > 0 {
            unexplained.push(format!(
                "{relaxed} other write{} around them",
                plural(relaxed)
            ));
        }
        if !unexplained.is_empty() {
            let one = timed_out + relaxed == 1;
            sentence.push_str(&format!(
                "; {} {} not explain it, wherever {} took effect",
                unexplained.join(" and "),
                if one { "does" } else { "do" },
                if one { "it" } else { "they" },
            ));
        }
        Explained {
            ops,
            sentence,
            stale,
        }
    }

    /// Drops reads (`Relax::Reads`) or makes writes optional (`Relax::Writes`) while the set
    /// still cannot be ordered; never the failing operation. Either only adds orders, so what
    /// still cannot be ordered explains the violation. Tries halves of the remaining candidates
    /// first, then smaller and smaller runs.
    fn relax(&mut self, from: &Subset, initial: Val, failing: usize, what: Relax) -> Subset {
        let h = self.history;
        let (ops, optional) = from;
        // Per operation of `ops`: relaxed or not.
        let mut relaxed = vec![false; ops.len()];
        let build = |relaxed: &[bool]| -> Subset {
            let mut subset = (Vec::with_capacity(ops.len()), optional.clone());
            for (&i, &r) in ops.iter().zip(relaxed) {
                match (r, what) {
                    (false, _) => subset.0.push(i),
                    (true, Relax::Reads) => {}
                    (true, Relax::Writes) => {
                        subset.0.push(i);
                        subset.1.push(i);
                    }
                }
            }
            subset.1.sort_unstable();
            subset
        };
        let mut live: Vec<usize> = (0..ops.len())
            .filter(|&x| {
                let op = &h.ops[ops[x]];
                ops[x] != failing
                    && op.outcome == Outcome::Ok
                    && op.func.is_read() == (what == Relax::Reads)
                    && optional.binary_search(&ops[x]).is_err()
            })
            .collect();
        let mut chunk = live.len();
        while chunk > 0 {
            let mut s = 0;
            while s < live.len() {
                let e = (s + chunk).min(live.len());
                for &x in &live[s..e] {
                    relaxed[x] = true;
                }
                match self.refuted(&build(&relaxed), initial) {
                    Some(true) => {
                        live.drain(s..e);
                    }
                    outcome => {
                        for &x in &live[s..e] {
                            relaxed[x] = false;
                        }
                        if outcome.is_none() {
                            return build(&relaxed);
                        }
                        s = e;
                    }
                }
            }
            chunk = if chunk == 1 { 0 } else { chunk.div_ceil(2) };
        }
        build(&relaxed)
    }

    /// What `failing` could have seen: in the operations of `subset` shown (not optional) if
    /// that tells, else with the optional ones too.
    fn held(
        &mut self,
        (ops, optional): &Subset,
        failing: usize,
        initial: Val,
    ) -> Option<Vec<Option<i64>>> {
        let shown = self.shown(ops, optional);
        self.held_at(&shown, &[], failing, initial)
            .or_else(|| self.held_at(ops, optional, failing, initial))
    }

    /// A complete search for the sentence, out of `spare`.
    fn run_spare(&mut self, p: &Prepared, initial: Val) -> RunOutcome {
        let run = self.search.run(p, initial, self.spare, false);
        self.spare = self.spare.saturating_sub(run.states);
        run.outcome
    }

    /// The definite operations of `ops` that are not optional: what a witness reports.
    fn shown(&self, ops: &[usize], optional: &[usize]) -> Vec<usize> {
        ops.iter()
            .copied()
            .filter(|&i| {
                self.history.ops[i].outcome == Outcome::Ok && optional.binary_search(&i).is_err()
            })
            .collect()
    }

    /// The values the key could hold when `failing` took effect, in the orders of `checked` that
    /// respect real time, if `failing` is the only thing wrong with them.
    fn held_at(
        &mut self,
        checked: &[usize],
        optional: &[usize],
        failing: usize,
        initial: Val,
    ) -> Option<Vec<Option<i64>>> {
        let h = self.history;
        let mut p = Prepared::new(h, checked, optional, Some(failing));
        let at = p.probe?;
        if !matches!(self.run_spare(&p, initial), RunOutcome::Linearizable) {
            return None;
        }
        let mut held: Vec<Option<i64>> = Vec::new();
        let mut unknown = false;
        for v in &self.search.probe_vals {
            match v.known() {
                Some(v) => held.push(v),
                None => unknown = true,
            }
        }
        if unknown {
            // Placed before anything fixed the value, it is whatever a later operation implies:
            // a value some operation names, unless a decrement that reported nothing moved it
            // by an amount the search does not track.
            let vague_decrement = checked.iter().any(|&i| {
                let op = &h.ops[i];
                matches!(op.func, Func::Decrement { .. })
                    && (op.outcome != Outcome::Ok || op.value.is_none())
            });
            if vague_decrement {
                return None;
            }
            let mut candidates = held.clone();
            candidates.push(initial.known().flatten());
            for &i in checked.iter().filter(|&&i| i != failing) {
                let op = &h.ops[i];
                let reported = if op.outcome == Outcome::Ok {
                    op.value
                } else {
                    None
                };
                match op.func {
                    Func::Read => candidates.push(reported),
                    Func::Write { value } => candidates.push(Some(value)),
                    Func::Cas { from, to } => candidates.extend([Some(from), Some(to)]),
                    Func::Decrement { qty, .. } => {
                        candidates.extend([reported, reported.map(|v| v.wrapping_add(qty))]);
                    }
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
            if candidates.len() > HELD_CANDIDATES_MAX {
                return None;
            }
            held.clear();
            for c in candidates {
                p.step[at] = Step::Read(c);
                match self.run_spare(&p, initial) {
                    RunOutcome::Linearizable => held.push(c),
                    RunOutcome::NotLinearizable { .. } => {}
                    RunOutcome::Exceeded { .. } => return None,
                }
            }
        }
        held.sort_unstable();
        held.dedup();
        (!held.is_empty()).then_some(held)
    }
}

/// At most this many values are tried as what a misplaced operation could have seen.
const HELD_CANDIDATES_MAX: usize = 64;

/// The failing operation and the definite operations in flight with it.
fn concurrent_with(history: &History, considered: &[usize], failing: usize) -> Vec<usize> {
    let f = &history.ops[failing];
    considered
        .iter()
        .copied()
        .filter(|&i| {
            let op = &history.ops[i];
            op.outcome == Outcome::Ok && op.invoke <= completion(f) && f.invoke <= completion(op)
        })
        .collect()
}

fn witness_timeline(history: &History, ops: &[usize], failing: usize) -> String {
    if ops.len() <= TIMELINE_OPS_MAX {
        return timeline(history, ops, TIMELINE_WIDTH);
    }
    let at = ops.iter().position(|&i| i == failing).unwrap_or(0);
    let from = at
        .saturating_sub(TIMELINE_OPS_MAX / 2)
        .min(ops.len() - TIMELINE_OPS_MAX);
    format!(
        "({} operations nearest the failing one, of {})\n{}",
        TIMELINE_OPS_MAX,
        ops.len(),
        timeline(history, &ops[from..from + TIMELINE_OPS_MAX], TIMELINE_WIDTH)
    )
}

fn show_set(vals: &[Option<i64>]) -> String {
    match vals {
        [v] => format_value(*v),
        _ => format!(
            "one of {}",
            vals.iter()
                .map(|&v| format_value(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "decrement by 1", "write 5", ...: what an operation asked for.
fn asked(op: &Operation) -> String {
    match op.func {
        Func::Read => "read".to_string(),
        Func::Write { value } => format!("write {value}"),
        Func::Cas { from, to } => format!("cas from {from} to {to}"),
        Func::Decrement {
            qty,
            conditional: false,
        } => format!("decrement by {qty}"),
        Func::Decrement {
            qty,
            conditional: true,
        } => format!("conditional decrement by {qty}"),
    }
}

/// Other operations a generic sentence names.
const GENERIC_OTHERS_MAX: usize = 3;

/// "t=0.835 s to t=0.841 s": when an operation was in flight.
fn interval(history: &History, op: &Operation) -> String {
    format!(
        "{} to {}",
        history.format_time(op.invoke),
        op.complete
            .map_or_else(|| "the end".to_string(), |t| history.format_time(t))
    )
}

/// "client-5's decrement by 1, which reported 9 left (t=0.835 s to t=0.835 s)".
fn op_phrase(history: &History, op: &Operation) -> String {
    let what = match op.func {
        Func::Read => format!("read of {}", format_value(op.value)),
        Func::Write { value } => format!("write of {value}"),
        _ => asked(op),
    };
    let reported = match (op.func, op.value) {
        (Func::Decrement { .. }, Some(left)) => format!(", which reported {left} left"),
        _ => String::new(),
    };
    format!(
        "{}'s {what}{reported} ({})",
        history.process(op.process),
        interval(history, op)
    )
}

/// The value a write-like operation certainly left, when it says so itself.
fn left_by(op: &Operation) -> Option<i64> {
    match op.func {
        Func::Read => None,
        Func::Write { value } => Some(value),
        Func::Cas { to, .. } => Some(to),
        Func::Decrement { .. } => op.value,
    }
}

/// The sentence, and whether it is the stale-read one (naming the acknowledged write). `held`:
/// what `failing` could have seen among `ops`; `held_before`: the same before writes were made
/// optional, which tells what a write that reported nothing left.
fn describe_violation(
    history: &History,
    key: KeyId,
    ops: &[usize],
    failing: usize,
    held: Option<&[Option<i64>]>,
    held_before: Option<&[Option<i64>]>,
) -> (String, bool) {
    let f = Failing {
        history,
        op: &history.ops[failing],
        key: &history.key(key).name,
    };
    let sentence = match (f.op.func, held) {
        (Func::Read, Some(held)) => {
            let writes: Vec<&Operation> = ops
                .iter()
                .filter(|&&i| i != failing && !history.ops[i].func.is_read())
                .map(|&i| &history.ops[i])
                .collect();
            if let Some(sentence) = f.missed_write(&writes, held_before) {
                return (sentence, true);
            }
            f.read_elsewhere(held)
        }
        (Func::Cas { from, to }, Some(held)) => f.cas_never_expected(from, to, held),
        (Func::Decrement { qty, conditional }, Some(held)) => f.decrement(qty, conditional, held),
        _ => f.unplaceable(ops, failing),
    };
    (sentence, false)
}

/// The operation a witness explains, and the key it is on, for its sentences.
struct Failing<'a> {
    history: &'a History,
    op: &'a Operation,
    key: &'a str,
}

impl Failing<'_> {
    fn who(&self) -> &str {
        self.history.process(self.op.process)
    }

    /// A stale read: the `writes` shown are over, one after the other, before the read starts,
    /// and the last left a value (by its own account, or `held_before`) other than the one read.
    fn missed_write(
        &self,
        writes: &[&Operation],
        held_before: Option<&[Option<i64>]>,
    ) -> Option<String> {
        let (h, f) = (self.history, self.op);
        let last = writes
            .iter()
            .copied()
            .filter(|w| completion(w) < f.invoke)
            .max_by_key(|w| completion(w))?;
        let left = match (left_by(last), held_before) {
            (Some(l), _) => Some(l),
            (None, Some([x])) => *x,
            _ => return None,
        };
        let sequential = writes.iter().all(|w| {
            completion(w) < f.invoke && (std::ptr::eq(*w, last) || completion(w) < last.invoke)
        });
        if !sequential || left == f.value {
            return None;
        }
        let done = completion(last);
        Some(format!(
            "{} read {}={} at {}, {} after the write that set it to {} was acknowledged ({}, {}, \
             completed at {})",
            self.who(),
            self.key,
            format_value(f.value),
            h.format_time(f.invoke),
            h.format_duration(f.invoke - done),
            format_value(left),
            h.process(last.process),
            asked(last),
            h.format_time(done),
        ))
    }

    fn read_elsewhere(&self, held: &[Option<i64>]) -> String {
        format!(
            "{} read {}={} at {}, but in every order of the operations shown that respects real \
             time the key held {} at that point",
            self.who(),
            self.key,
            format_value(self.op.value),
            self.history.format_time(self.op.invoke),
            show_set(held),
        )
    }

    fn cas_never_expected(&self, from: i64, to: i64, held: &[Option<i64>]) -> String {
        format!(
            "{}'s cas on {} from {from} to {to} succeeded ({}), but while it was in flight the \
             key could only hold {}: the expected value {from} was never there",
            self.who(),
            self.key,
            interval(self.history, self.op),
            show_set(held),
        )
    }

    fn decrement(&self, qty: i64, conditional: bool, held: &[Option<i64>]) -> String {
        let (who, key, f) = (self.who(), self.key, self.op);
        let during = interval(self.history, f);
        if held.iter().all(Option::is_none) {
            format!(
                "{who}'s {} of {key} succeeded ({during}), but the key was nil (never written) \
                 while it was in flight",
                asked(f)
            )
        } else if conditional && held.iter().all(|v| v.is_none_or(|v| v < qty)) {
            format!(
                "{who}'s conditional decrement of {key} by {qty} succeeded ({during}), but while \
                 it was in flight the key held only {}: too few units, so it should have failed",
                show_set(held),
            )
        } else {
            let leaves: Vec<Option<i64>> = held
                .iter()
                .map(|v| v.map(|v| v.wrapping_sub(qty)))
                .collect();
            format!(
                "{who}'s {} of {key} reported {} left ({during}), but while it was in flight the \
                 key held {}, which leaves {}",
                asked(f),
                format_value(f.value),
                show_set(held),
                show_set(&leaves),
            )
        }
    }

    /// No value explains it: the operation and a few of the others shown.
    fn unplaceable(&self, ops: &[usize], failing: usize) -> String {
        let h = self.history;
        let others: Vec<String> = ops
            .iter()
            .filter(|&&i| i != failing)
            .take(GENERIC_OTHERS_MAX)
            .map(|&i| op_phrase(h, &h.ops[i]))
            .collect();
        let more = (ops.len() - 1).saturating_sub(GENERIC_OTHERS_MAX);
        let mut list = others.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        let phrase = op_phrase(h, self.op);
        if others.is_empty() {
            format!(
                "{phrase} on {} cannot be placed in any order that respects both real time and \
                 the register's rules",
                self.key
            )
        } else {
            format!(
                "{phrase} on {} cannot be placed: no order of it and {list} respects both real \
                 time and the register's rules",
                self.key
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Linearizable register histories with known ground truth, for tests and benchmarks.
///
/// Public (rather than test-only) because the benchmark, an integration test or a user comparing
/// checkers all need the same generator, and a `#[cfg(test)]` item is invisible to all of them.
/// Each client runs operations one at a time; each operation takes effect on a real sequential
/// register at a random instant strictly inside its interval, so every history is linearizable
/// by construction. Deterministic for a given [`Shape`](testgen::Shape).
pub mod testgen {
    use crate::engine::{SimRng, StreamId};
    use crate::history::{
        Func, History, HistoryBuilder, KeyKind, Operation, Outcome, Source, TimeUnit,
    };

    #[derive(Clone, Debug, PartialEq)]
    pub struct Shape {
        pub seed: u64,
        pub keys: u32,
        pub clients: u32,
        pub ops: usize,
        /// Mean pause of a client between two operations (µs, exponential).
        pub think_us_mean: f64,
        /// Mean time from invocation to taking effect, and from it to completion (µs, each
        /// exponential).
        pub latency_us_mean: f64,
        /// Probability that a write, cas or decrement ends with an unknown outcome (`Info`); half
        /// of those took effect.
        pub info_probability: f64,
    }

    impl Shape {
        /// Short operations with pauses four times as long: a few in flight per key at a time.
        pub fn new(seed: u64, keys: u32, clients: u32, ops: usize) -> Shape {
            Shape {
                seed,
                keys,
                clients,
                ops,
                think_us_mean: 2_000.0,
                latency_us_mean: 250.0,
                info_probability: 0.0,
            }
        }
    }

    struct Draft {
        client: u32,
        key: u32,
        invoke: u64,
        effect: u64,
        complete: u64,
        roll: f64,
        a: u64,
        b: u64,
        info: bool,
        info_applies: bool,
        info_completes: bool,
    }

    /// The value a key starts at: every fifth key starts nil.
    fn initial(key: u32) -> Option<i64> {
        (key % 5 != 4).then_some(100)
    }

    pub fn register_history(shape: &Shape) -> History {
        let mut builder = HistoryBuilder::new(
            Source {
                scenario: Some("testgen".to_string()),
                variant: None,
                seed: Some(shape.seed),
            },
            TimeUnit::Micros,
        );
        let mut state: Vec<Option<i64>> = Vec::new();
        let keys: Vec<_> = (0..shape.keys.max(1))
            .map(|k| {
                state.push(initial(k));
                builder.key(&format!("k/{k}"), KeyKind::Register, initial(k), None)
            })
            .collect();
        let processes: Vec<_> = (0..shape.clients.max(1))
            .map(|c| builder.process(&format!("client-{c}")))
            .collect();
        // Each operation takes effect on the register in the order of the instants drawn.
        for d in &drafts(shape) {
            let now = &mut state[d.key as usize];
            let (func, after) = d.asks(*now);
            let mut op = Operation {
                process: processes[d.client as usize],
                key: keys[d.key as usize],
                func,
                outcome: Outcome::Ok,
                invoke: d.invoke,
                complete: Some(d.complete),
                value: None,
                version: None,
            };
            d.ends(&mut op, after, now);
            builder.push(op);
        }
        builder.finish()
    }

    /// Every client's operations, with their instants and draws, sorted by when they take effect.
    fn drafts(shape: &Shape) -> Vec<Draft> {
        let mut drafts = Vec::with_capacity(shape.ops);
        let clients = shape.clients.max(1);
        for c in 0..clients {
            let quota = shape.ops / clients as usize
                + usize::from((c as usize) < shape.ops % clients as usize);
            let mut rng = SimRng::stream(shape.seed, StreamId::new("testgen-client", c.into()));
            let pause = |rng: &mut SimRng, mean: f64| libm::round(rng.exponential(mean)) as u64;
            let mut t = pause(&mut rng, shape.think_us_mean);
            for _ in 0..quota {
                let invoke = t;
                let effect = invoke + 1 + pause(&mut rng, shape.latency_us_mean);
                let complete = effect + 1 + pause(&mut rng, shape.latency_us_mean);
                t = complete + 1 + pause(&mut rng, shape.think_us_mean);
                drafts.push(Draft {
                    client: c,
                    key: rng.below(u64::from(shape.keys.max(1))) as u32,
                    invoke,
                    effect,
                    complete,
                    roll: rng.unit_f64(),
                    a: rng.next_u64(),
                    b: rng.next_u64(),
                    info: rng.chance(shape.info_probability),
                    info_applies: rng.chance(0.5),
                    info_completes: rng.chance(0.75),
                });
            }
        }
        drafts.sort_by_key(|d| (d.effect, d.client));
        drafts
    }

    impl Draft {
        /// What the operation asks of a register holding `now`, and the value after it if it
        /// takes effect (`None`: it cannot).
        fn asks(&self, now: Option<i64>) -> (Func, Option<Option<i64>>) {
            let small = |x: u64| (x % 100) as i64;
            if self.roll < 0.55 {
                (Func::Read, Some(now))
            } else if self.roll < 0.65 {
                let value = small(self.a);
                (Func::Write { value }, Some(Some(value)))
            } else if self.roll < 0.75 {
                let from = match now {
                    Some(v) if self.b % 4 != 0 => v,
                    _ => small(self.a),
                };
                let to = small(self.b >> 8);
                (
                    Func::Cas { from, to },
                    (now == Some(from)).then_some(Some(to)),
                )
            } else {
                let qty = 1 + (self.a % 3) as i64;
                let conditional = self.b % 2 == 0;
                let after = match now {
                    Some(s) if !conditional || s >= qty => Some(Some(s - qty)),
                    _ => None,
                };
                (Func::Decrement { qty, conditional }, after)
            }
        }

        /// The outcome and the value returned, and the register's new value if it took effect.
        fn ends(&self, op: &mut Operation, after: Option<Option<i64>>, now: &mut Option<i64>) {
            match (op.func, after) {
                (Func::Read, _) if self.info => {
                    op.outcome = if self.info_applies {
                        Outcome::Fail
                    } else {
                        Outcome::Info
                    };
                }
                (Func::Read, _) => op.value = *now,
                (_, None) => op.outcome = Outcome::Fail,
                (_, Some(after)) if self.info => {
                    op.outcome = Outcome::Info;
                    op.complete = self.info_completes.then_some(self.complete);
                    if self.info_applies {
                        *now = after;
                    }
                }
                (_, Some(after)) => {
                    *now = after;
                    if matches!(op.func, Func::Decrement { .. }) && (self.b >> 1) % 2 == 0 {
                        op.value = after;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testgen::{Shape, register_history};
    use super::*;
    use crate::history::{HistoryBuilder, KeyKind, ProcessId, Source, TimeUnit};

    /// Builds a history on keys `k/0`, `k/1`, ... (initial values given) from terse operations.
    struct H {
        b: HistoryBuilder,
        keys: Vec<KeyId>,
    }

    const S: u64 = 1_000_000;

    impl H {
        fn new(initials: &[Option<i64>]) -> H {
            let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
            let keys = initials
                .iter()
                .enumerate()
                .map(|(k, &v)| b.key(&format!("stock/{k}"), KeyKind::Stock, v, None))
                .collect();
            H { b, keys }
        }

        #[allow(clippy::too_many_arguments)]
        fn op(
            mut self,
            process: &str,
            key: usize,
            func: Func,
            outcome: Outcome,
            invoke: u64,
            complete: Option<u64>,
            value: Option<i64>,
        ) -> H {
            let process = self.b.process(process);
            self.b.push(Operation {
                process,
                key: self.keys[key],
                func,
                outcome,
                invoke,
                complete,
                value,
                version: None,
            });
            self
        }

        fn read(self, p: &str, invoke: u64, complete: u64, value: Option<i64>) -> H {
            self.op(p, 0, Func::Read, Outcome::Ok, invoke, Some(complete), value)
        }

        fn write(self, p: &str, invoke: u64, complete: u64, value: i64) -> H {
            let f = Func::Write { value };
            self.op(p, 0, f, Outcome::Ok, invoke, Some(complete), None)
        }

        fn cas(self, p: &str, invoke: u64, complete: u64, from: i64, to: i64, out: Outcome) -> H {
            let f = Func::Cas { from, to };
            self.op(p, 0, f, out, invoke, Some(complete), None)
        }

        fn dec(self, p: &str, invoke: u64, complete: u64, qty: i64, conditional: bool) -> H {
            let f = Func::Decrement { qty, conditional };
            self.op(p, 0, f, Outcome::Ok, invoke, Some(complete), None)
        }

        fn done(self) -> History {
            self.b.finish()
        }
    }

    fn status(h: &History) -> KeyStatus {
        let report = check(h, &Budget::default());
        assert_eq!(report.keys.len(), h.keys.len());
        report.keys[0].status.clone()
    }

    fn witness(h: &History) -> Witness {
        match status(h) {
            KeyStatus::NotLinearizable(w) => w,
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn a_sequential_register_history_is_linearizable() {
        let h = H::new(&[Some(0)])
            .read("a", 0, 1, Some(0))
            .write("a", 2, 3, 5)
            .read("b", 4, 5, Some(5))
            .cas("b", 6, 7, 5, 6, Outcome::Ok)
            .read("a", 8, 9, Some(6))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
    }

    /// Stock 3, three decrements by 1 one after the other, then a read of 3: the incident.
    fn stale_after_decrements(report_left: bool, read_between: bool) -> History {
        let dec = Func::Decrement {
            qty: 1,
            conditional: true,
        };
        let left = |v| report_left.then_some(v);
        let mut h = H::new(&[Some(3)])
            .read("shopper-4", 30 * S, 30 * S + 100_000, Some(3))
            .op(
                "shopper-2",
                0,
                dec,
                Outcome::Ok,
                32 * S,
                Some(32 * S + 1),
                left(2),
            )
            .op(
                "shopper-3",
                0,
                dec,
                Outcome::Ok,
                35 * S,
                Some(35 * S + 1),
                left(1),
            )
            .op(
                "shopper-12",
                0,
                dec,
                Outcome::Ok,
                38 * S,
                Some(38 * S + 300_000),
                left(0),
            );
        if read_between {
            h = h.read("shopper-9", 39 * S, 39 * S + 1_000, Some(0));
        }
        h.read("shopper-7", 41 * S + 200_000, 41 * S + 400_000, Some(3))
            .done()
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_decrement_is_explained_in_one_sentence() {
        const SENTENCE: &str = "shopper-7 read stock/0=3 at t=41.200 s, 2.900 s after the write \
            that set it to 0 was acknowledged (shopper-12, conditional decrement by 1, completed \
            at t=38.300 s)";
        // The decrement reported what it left: it and the read are enough.
        let h = stale_after_decrements(true, false);
        let w = witness(&h);
        assert_eq!(w.failing_op, 4);
        assert_eq!(w.ops, vec![3, 4]);
        assert_eq!(w.sentence, SENTENCE);
        assert!(w.timeline.contains("shopper-7"), "{}", w.timeline);
        assert!(w.timeline.contains("read 3"), "{}", w.timeline);
        assert!(w.timeline.contains("cdec 1 ->0"), "{}", w.timeline);
        // It did not: the first read fixes the value, and whatever the two decrements between
        // did, the last one left at most 2.
        let h = stale_after_decrements(false, false);
        let w = witness(&h);
        assert_eq!(w.ops, vec![0, 3, 4]);
        assert_eq!(
            w.sentence,
            format!(
                "{SENTENCE}; 2 other writes around them do not explain it, wherever they took \
                 effect"
            )
        );
        // A read of 0 in between would do with the stale one alone, but the decrement is named.
        let h = stale_after_decrements(false, true);
        let w = witness(&h);
        assert_eq!(w.failing_op, 5);
        assert_eq!(w.ops, vec![3, 4, 5]);
        assert_eq!(w.sentence, SENTENCE);
    }

    #[test]
    fn a_stale_read_after_a_write_needs_only_the_write_and_the_read() {
        let h = H::new(&[Some(3)])
            .read("a", 0, 10, Some(3))
            .write("b", 20, 30, 0)
            .read("a", 40, 50, Some(0))
            .read("c", 60, 70, Some(3))
            .done();
        let w = witness(&h);
        assert_eq!(w.ops, vec![1, 3]);
        assert_eq!(w.failing_op, 3);
        assert!(
            w.sentence.starts_with("c read stock/0=3 at t=0.000 s"),
            "{}",
            w.sentence
        );
        assert!(w.sentence.contains("set it to 0"), "{}", w.sentence);
        assert!(
            w.sentence.contains("(b, write 0, completed at"),
            "{}",
            w.sentence
        );
    }

    #[test]
    fn a_read_concurrent_with_a_write_may_see_either_value() {
        for seen in [0, 7] {
            let h = H::new(&[Some(0)])
                .write("a", 10, 50, 7)
                .read("b", 20, 30, Some(seen))
                .read("c", 60, 70, Some(7))
                .done();
            assert_eq!(status(&h), KeyStatus::Linearizable, "read {seen}");
        }
    }

    #[test]
    fn two_reads_that_disagree_with_the_order_of_two_writes_are_not_linearizable() {
        // Both writes are over before either read; the reads see 2 then 1, but 1 was written
        // first.
        let h = H::new(&[None])
            .write("a", 0, 10, 1)
            .write("b", 20, 30, 2)
            .read("c", 40, 50, Some(2))
            .read("d", 60, 70, Some(1))
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 3);
        assert_eq!(w.ops, vec![1, 3]);
        assert!(w.sentence.contains("d read stock/0=1"), "{}", w.sentence);
        assert!(w.sentence.contains("set it to 2"), "{}", w.sentence);

        // Overlapping writes: either order, so either pair of reads is fine ...
        let h = H::new(&[None])
            .write("a", 0, 30, 1)
            .write("b", 5, 35, 2)
            .read("c", 40, 50, Some(2))
            .read("d", 60, 70, Some(2))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
        // ... but not reads that change their mind with no write in between. The two reads alone
        // cannot be ordered; the write of 2 is named, and the write of 1 overlapping it is
        // taken into account without being needed.
        let h = H::new(&[None])
            .write("a", 0, 30, 1)
            .write("b", 5, 35, 2)
            .read("c", 40, 50, Some(2))
            .read("d", 60, 70, Some(1))
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 3);
        assert_eq!(w.ops, vec![1, 2, 3]);
        assert_eq!(
            w.sentence,
            "d read stock/0=1 at t=0.000 s, 0.000 s after the write that set it to 2 was \
             acknowledged (b, write 2, completed at t=0.000 s); 1 other write around them does \
             not explain it, wherever it took effect"
        );
        // Without a write before them, the two reads are the explanation.
        let h = H::new(&[Some(2)])
            .read("c", 40, 50, Some(2))
            .read("d", 60, 70, Some(1))
            .done();
        let w = witness(&h);
        assert_eq!(w.ops, vec![0, 1]);
        assert_eq!(
            w.sentence,
            "d read stock/0=1 at t=0.000 s, but in every order of the operations shown that \
             respects real time the key held 2 at that point"
        );
    }

    #[test]
    fn a_failed_cas_is_ignored() {
        let h = H::new(&[Some(1)])
            .cas("a", 0, 10, 7, 8, Outcome::Fail)
            .read("b", 20, 30, Some(1))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
    }

    #[test]
    fn an_ok_cas_whose_expected_value_never_existed_is_not_linearizable() {
        let h = H::new(&[Some(0)])
            .write("a", 0, 10, 1)
            .cas("b", 20, 30, 5, 6, Outcome::Ok)
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 1);
        assert_eq!(w.ops, vec![0, 1]);
        assert_eq!(
            w.sentence,
            "b's cas on stock/0 from 5 to 6 succeeded (t=0.000 s to t=0.000 s), but while it \
             was in flight the key could only hold 1: the expected value 5 was never there"
        );
    }

    #[test]
    fn a_timed_out_write_may_have_taken_effect_later() {
        let h = H::new(&[Some(0)])
            .op(
                "a",
                0,
                Func::Write { value: 5 },
                Outcome::Info,
                10,
                Some(20),
                None,
            )
            .read("b", 100, 110, Some(0))
            .read("b", 120, 130, Some(5))
            .read("c", 140, 150, Some(5))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
    }

    #[test]
    fn a_timed_out_write_cannot_be_read_before_it_was_invoked() {
        let h = H::new(&[Some(0)])
            .read("b", 0, 5, Some(5))
            .op(
                "a",
                0,
                Func::Write { value: 5 },
                Outcome::Info,
                10,
                None,
                None,
            )
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 0);
        assert_eq!(w.ops, vec![0]);
        assert_eq!(
            w.sentence,
            "b read stock/0=5 at t=0.000 s, but in every order of the operations shown that \
             respects real time the key held 0 at that point (starting from the key's initial \
             value 0)"
        );
    }

    #[test]
    fn a_timed_out_write_is_applied_at_most_once() {
        // 5, then 6, then 5 again needs the timed-out write twice.
        let h = H::new(&[Some(0)])
            .op(
                "a",
                0,
                Func::Write { value: 5 },
                Outcome::Info,
                0,
                None,
                None,
            )
            .read("b", 10, 20, Some(5))
            .write("c", 30, 40, 6)
            .read("b", 50, 60, Some(5))
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 3);
        // From an unknown value the first read needs no timed-out write: only the initial 0
        // shows that it used it up.
        assert_eq!(w.ops, vec![1, 2, 3]);
        assert_eq!(
            w.sentence,
            "b read stock/0=5 at t=0.000 s, 0.000 s after the write that set it to 6 was \
             acknowledged (c, write 6, completed at t=0.000 s) (starting from the key's initial \
             value 0); 1 operation with an unknown outcome does not explain it, wherever it took \
             effect"
        );
    }

    #[test]
    fn timed_out_operations_carry_across_quiet_moments() {
        // The cas is still open when the history goes quiet twice; it takes effect late.
        let h = H::new(&[Some(1)])
            .op(
                "a",
                0,
                Func::Cas { from: 1, to: 9 },
                Outcome::Info,
                0,
                Some(1),
                None,
            )
            .read("b", 10, 20, Some(1))
            .read("b", 30, 40, Some(1))
            .read("c", 50, 60, Some(9))
            .read("c", 70, 80, Some(9))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
        // Two identical timed-out decrements: either, both or none may have applied.
        let dec = Func::Decrement {
            qty: 1,
            conditional: true,
        };
        for (seen, ok) in [(10, true), (9, true), (8, true), (7, false)] {
            let h = H::new(&[Some(10)])
                .op("a", 0, dec, Outcome::Info, 0, None, None)
                .op("b", 0, dec, Outcome::Info, 1, None, None)
                .read("c", 10, 20, Some(10))
                .read("c", 30, 40, Some(seen))
                .done();
            assert_eq!(status(&h) == KeyStatus::Linearizable, ok, "read {seen}");
        }
    }

    #[test]
    fn a_timed_out_write_may_have_applied_before_a_decrement_that_reported_nothing() {
        // 5, then the timed-out write of 10, then the decrement: 9 (or 4, or 10 if the write
        // applied last). Applying open operations only
        // where they unblock something directly misses it; the complete search finds it.
        for (seen, ok) in [(9, true), (4, true), (10, true), (5, false), (8, false)] {
            let h = H::new(&[Some(5)])
                .op(
                    "a",
                    0,
                    Func::Write { value: 10 },
                    Outcome::Info,
                    0,
                    None,
                    None,
                )
                .dec("b", 10, 20, 1, false)
                .read("c", 30, 40, Some(seen))
                .done();
            assert_eq!(status(&h) == KeyStatus::Linearizable, ok, "read {seen}");
        }
    }

    #[test]
    fn decrement_chains_and_oversells() {
        let h = H::new(&[Some(2)])
            .dec("a", 0, 10, 1, true)
            .dec("b", 20, 30, 1, true)
            .read("c", 40, 50, Some(0))
            .dec("a", 60, 70, 1, false)
            .read("c", 80, 90, Some(-1))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);

        // A reported value must match.
        let h = H::new(&[Some(2)])
            .dec("a", 0, 10, 1, true)
            .op(
                "b",
                0,
                Func::Decrement {
                    qty: 1,
                    conditional: true,
                },
                Outcome::Ok,
                20,
                Some(30),
                Some(1),
            )
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 1);
        assert_eq!(
            w.sentence,
            "b's conditional decrement by 1 of stock/0 reported 1 left (t=0.000 s to t=0.000 s), \
             but while it was in flight the key held 1, which leaves 0 (starting from the key's \
             initial value 2)"
        );

        // Three units sold, two in stock, every decrement conditional: the third should have
        // failed, and only the initial value shows it.
        let h = H::new(&[Some(2)])
            .dec("a", 0, 10, 1, true)
            .dec("b", 20, 30, 1, true)
            .dec("c", 40, 50, 1, true)
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 2);
        assert_eq!(w.ops, vec![0, 1, 2]);
        assert_eq!(
            w.sentence,
            "c's conditional decrement of stock/0 by 1 succeeded (t=0.000 s to t=0.000 s), but \
             while it was in flight the key held only 0: too few units, so it should have failed \
             (starting from the key's initial value 2)"
        );
        // The same with unconditional decrements is a legal oversell.
        let h = H::new(&[Some(2)])
            .dec("a", 0, 10, 1, false)
            .dec("b", 20, 30, 1, false)
            .dec("c", 40, 50, 1, false)
            .read("d", 60, 70, Some(-1))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
    }

    #[test]
    fn without_budget_the_witness_is_the_failing_operation_and_those_in_flight_with_it() {
        let h = H::new(&[Some(0)])
            .write("a", 0, 10, 1)
            .read("b", 5, 30, Some(0))
            .read("c", 20, 40, Some(7))
            .read("d", 50, 60, Some(1))
            .done();
        let considered: Vec<usize> = (0..h.ops.len()).collect();
        let mut search = Search::default();
        let w = explain(&h, KeyId(0), &considered, 2, &mut search, 0);
        assert_eq!(w.failing_op, 2);
        assert_eq!(w.ops, vec![1, 2]);
        assert_eq!(
            w.sentence,
            "c's read of 7 (t=0.000 s to t=0.000 s) on stock/0 cannot be placed: no order of it \
             and b's read of 0 (t=0.000 s to t=0.000 s) respects both real time and the \
             register's rules; no smaller set was found within the budget, so the operations \
             shown are the failing one and those in flight with it"
        );
        // With a budget, the read of 7 alone against the write before it.
        let w = explain(&h, KeyId(0), &considered, 2, &mut search, 1_000);
        assert_eq!(w.ops, vec![0, 2]);
    }

    #[test]
    fn a_decrement_of_nil_is_not_linearizable() {
        let h = H::new(&[None]).dec("a", 0, 10, 1, false).done();
        let w = witness(&h);
        assert_eq!(
            w.sentence,
            "a's decrement by 1 of stock/0 succeeded (t=0.000 s to t=0.000 s), but the key was \
             nil (never written) while it was in flight (starting from the key's initial value \
             nil)"
        );
    }

    #[test]
    fn keys_are_independent_and_empty_keys_are_linearizable() {
        let h = H::new(&[Some(0), Some(0), Some(0)])
            .op(
                "a",
                0,
                Func::Write { value: 1 },
                Outcome::Ok,
                0,
                Some(10),
                None,
            )
            .op("a", 1, Func::Read, Outcome::Ok, 20, Some(30), Some(0))
            .op("b", 0, Func::Read, Outcome::Ok, 40, Some(50), Some(0))
            .done();
        let report = check(&h, &Budget::default());
        assert_eq!(report.keys.len(), 3);
        assert_eq!(report.keys[0].key, KeyId(0));
        assert!(matches!(
            report.keys[0].status,
            KeyStatus::NotLinearizable(_)
        ));
        assert_eq!(report.keys[1].status, KeyStatus::Linearizable);
        assert_eq!(report.keys[2].status, KeyStatus::Linearizable);
        assert_eq!(report.keys[2].ops, 0);
        assert_eq!(report.keys[2].states_explored, 0);
        assert!(!report.is_linearizable());
        let violations: Vec<KeyId> = report.violations().map(|(k, _)| k.key).collect();
        assert_eq!(violations, vec![KeyId(0)]);
    }

    #[test]
    fn equal_times_are_concurrent() {
        // The read is invoked at the instant the write completes: it may go first.
        let h = H::new(&[Some(0)])
            .write("a", 0, 10, 1)
            .read("b", 10, 20, Some(0))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
        let h = H::new(&[Some(0)])
            .write("a", 0, 10, 1)
            .read("b", 11, 20, Some(0))
            .done();
        assert!(matches!(status(&h), KeyStatus::NotLinearizable(_)));
    }

    #[test]
    fn an_ok_operation_without_a_completion_has_no_deadline() {
        let write = Func::Write { value: 1 };
        let h = H::new(&[Some(0)])
            .op("a", 0, write, Outcome::Ok, 0, None, None)
            .read("b", 10, 20, Some(0))
            .read("b", 30, 40, Some(1))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
        let h = H::new(&[Some(0)])
            .op("a", 0, write, Outcome::Ok, 0, None, None)
            .read("b", 10, 20, Some(1))
            .read("b", 30, 40, Some(0))
            .done();
        let w = witness(&h);
        assert_eq!(w.failing_op, 2);
        assert_eq!(w.ops, vec![1, 2]);
    }

    /// Many overlapping writes of distinct values and reads of values never written.
    fn tangle(writes: i64) -> History {
        let mut h = H::new(&[Some(0)]);
        for w in 0..writes {
            h = h.write(&format!("w{w}"), w as u64, 1_000, w + 1);
        }
        for r in 0..writes {
            h = h.read(&format!("r{r}"), 10 + r as u64, 2_000, Some(1_000 + r));
        }
        h.done()
    }

    #[test]
    fn an_exhausted_budget_is_unknown_and_says_how_to_raise_it() {
        let h = tangle(12);
        let report = check(
            &h,
            &Budget {
                max_states_per_key: 1_000,
            },
        );
        let k = &report.keys[0];
        assert_eq!(k.states_explored, 1_001);
        let KeyStatus::Unknown { reason } = &k.status else {
            panic!("expected unknown, got {:?}", k.status);
        };
        assert!(reason.contains("1000 configurations"), "{reason}");
        assert!(reason.contains("Budget::max_states_per_key"), "{reason}");
        assert!(
            reason.contains("24 operations in flight together;"),
            "{reason}"
        );
        assert!(!report.is_linearizable());
        // With room, the same history is refuted.
        assert!(matches!(status(&h), KeyStatus::NotLinearizable(_)));
    }

    #[test]
    fn failed_and_unknown_reads_say_nothing() {
        let h = H::new(&[Some(0)])
            .op("a", 0, Func::Read, Outcome::Fail, 0, Some(10), None)
            .op("a", 0, Func::Read, Outcome::Info, 20, None, Some(42))
            .read("b", 30, 40, Some(0))
            .done();
        assert_eq!(status(&h), KeyStatus::Linearizable);
        let report = check(&h, &Budget::default());
        assert_eq!(report.keys[0].ops, 3);
    }

    #[test]
    fn pools_add_and_compare() {
        let mut out = Vec::new();
        pool_add(&[], 3, &mut out);
        assert_eq!(out, vec![3, 1]);
        let one = out.clone();
        pool_add(&one, 1, &mut out);
        assert_eq!(out, vec![1, 1, 3, 1]);
        let two = out.clone();
        pool_add(&two, 3, &mut out);
        assert_eq!(out, vec![1, 1, 3, 2]);
        assert!(pool_le(&one, &two));
        assert!(!pool_le(&two, &one));
        assert!(pool_le(&[], &one));
        assert_eq!(pool_total(&out), 3);
    }

    fn randomized(shape: &Shape) {
        let h = register_history(shape);
        assert_eq!(h.ops.len(), shape.ops);
        let report = check(&h, &Budget::default());
        for k in &report.keys {
            assert_eq!(
                k.status,
                KeyStatus::Linearizable,
                "{shape:?} key {:?}",
                k.key
            );
        }
        // Corrupt one read in the middle to a value nothing ever writes.
        let reads: Vec<usize> = (0..h.ops.len())
            .filter(|&i| h.ops[i].func.is_read() && h.ops[i].outcome == Outcome::Ok)
            .collect();
        let victim = reads[reads.len() / 2];
        let mut bad = h.clone();
        bad.ops[victim].value = Some(1_000_003);
        let report = check(&bad, &Budget::default());
        let key = bad.ops[victim].key;
        for k in &report.keys {
            if k.key != key {
                assert_eq!(k.status, KeyStatus::Linearizable);
                continue;
            }
            let KeyStatus::NotLinearizable(w) = &k.status else {
                panic!(
                    "{shape:?}: corrupted read {victim} not caught: {:?}",
                    k.status
                );
            };
            assert_eq!(w.failing_op, victim, "{shape:?}");
            assert!(w.ops.contains(&victim));
            assert!(w.ops.len() <= 8, "{shape:?}: {} ops", w.ops.len());
            let who = bad.process(bad.ops[victim].process);
            assert!(w.sentence.starts_with(who), "{}", w.sentence);
            assert!(w.sentence.contains("1000003"), "{}", w.sentence);
            assert!(!w.sentence.contains("no smaller set"), "{}", w.sentence);
        }
    }

    #[test]
    fn generated_histories_are_linearizable_until_a_read_is_corrupted() {
        for seed in 1..=6 {
            randomized(&Shape::new(seed, 10, 10, 5_000));
            randomized(&Shape {
                info_probability: 0.05,
                ..Shape::new(seed, 4, 6, 4_000)
            });
            // One key, eight clients that hardly pause: rarely a quiet moment.
            randomized(&Shape {
                think_us_mean: 100.0,
                latency_us_mean: 400.0,
                info_probability: 0.01,
                ..Shape::new(seed, 1, 8, 3_000)
            });
        }
    }

    #[test]
    fn generated_histories_are_deterministic_and_overlap() {
        let shape = Shape::new(9, 2, 6, 2_000);
        let h = register_history(&shape);
        assert_eq!(h, register_history(&shape));
        let overlapping = h
            .ops
            .windows(2)
            .filter(|w| w[0].complete.is_some_and(|c| c >= w[1].invoke))
            .count();
        assert!(overlapping > 100, "{overlapping} overlaps");
        let procs: std::collections::BTreeSet<ProcessId> =
            h.ops.iter().map(|op| op.process).collect();
        assert_eq!(procs.len(), 6);
        let report = check(&h, &Budget::default());
        assert!(report.is_linearizable());
        assert_eq!(report, check(&h, &Budget::default()));
    }
}
