//! A history: every client-visible operation of a run, each with its invocation and completion.
//!
//! This is the one data type every checker reads. The model records it (through
//! [`HistoryBuilder`]), `lagsim check` reads it from lagsim's JSON-lines format ([`format`](mod@format)) or
//! from a Jepsen/Knossos EDN file ([`edn`]), and nothing in it refers to the model: a history from
//! another system is checked exactly like a simulated one. It sits below both the model and the
//! checkers, so that neither imports the other.
//!
//! Operations act on single keys. A key is a register holding an integer, or nil before its first
//! write. Every operation belongs to one process, which runs its operations one at a time.

use std::collections::BTreeMap;

pub mod edn;
pub mod format;
pub mod stream;

/// The version of lagsim's history format (`"lagsim_history"` in the header line). Bumped on
/// every change that an older reader would misread.
pub const FORMAT_VERSION: u64 = 1;

/// Index of a key in [`History::keys`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

/// Index of a process in [`History::processes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessId(pub u32);

/// Who one of lagsim's client processes is: its name in the history, without a `String` per
/// process (a run has one per shopper, a million of them in the long black-friday run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessName {
    Shopper(u64),
    Session(u64),
}

impl std::fmt::Display for ProcessName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcessName::Shopper(n) => write!(f, "shopper-{n}"),
            ProcessName::Session(n) => write!(f, "session-{n}"),
        }
    }
}

/// What a key holds, which decides the business invariants that apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    /// Units of a product in stock: no oversell, never negative, units conserved.
    Stock,
    /// A user's profile; its value is the profile's version.
    Profile,
    /// A plain register (histories from other tools).
    Register,
}

impl KeyKind {
    pub const ALL: [KeyKind; 3] = [KeyKind::Stock, KeyKind::Profile, KeyKind::Register];

    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Stock => "stock",
            KeyKind::Profile => "profile",
            KeyKind::Register => "register",
        }
    }

    pub fn from_name(s: &str) -> Option<KeyKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub name: String,
    pub kind: KeyKind,
    /// The value before any operation of the history; `None` is nil (never written).
    pub initial: Option<i64>,
    /// The version of `initial`, when the system numbers versions.
    pub initial_version: Option<u64>,
}

/// The function an operation calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// Returns the key's value (in [`Operation::value`]).
    Read,
    /// Sets the key to `value`.
    Write { value: i64 },
    /// Sets the key to `to` if it holds `from`; otherwise fails without effect.
    Cas { from: i64, to: i64 },
    /// Subtracts `qty`. A conditional decrement fails without effect when the key holds less
    /// than `qty`; an unconditional one always applies (and may take the value below zero).
    Decrement { qty: i64, conditional: bool },
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Read => "read",
            Func::Write { .. } => "write",
            Func::Cas { .. } => "cas",
            Func::Decrement {
                conditional: false, ..
            } => "decrement",
            Func::Decrement {
                conditional: true, ..
            } => "conditional-decrement",
        }
    }

    pub fn is_read(self) -> bool {
        matches!(self, Func::Read)
    }
}

/// How an operation ended, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// It took effect, and the client knows its result.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown: the client gave up (a timeout, a crash); it may or may not have taken effect.
    Info,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// One operation, from its invocation to its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    pub process: ProcessId,
    pub key: KeyId,
    pub func: Func,
    pub outcome: Outcome,
    /// When the client invoked it (see [`History::time_unit`]).
    pub invoke: u64,
    /// When the client learnt the outcome. For `Info`, when it gave up; `None` if the history
    /// ends first. An `Info` operation may take effect at any time after its invocation.
    pub complete: Option<u64>,
    /// For an `Ok` read, the value returned (`None`: nil). For an `Ok` write, cas or decrement,
    /// the key's value after it, when the system reports it. `None` otherwise.
    pub value: Option<i64>,
    /// The key's version that `value` belongs to, when the system reports one.
    pub version: Option<u64>,
}

/// The unit of [`Operation::invoke`] and [`Operation::complete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Simulated microseconds (lagsim histories).
    Micros,
    /// Positions in the event list (EDN histories carry no times, only their order).
    Index,
}

/// Where a history came from, for messages and the file header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    pub scenario: Option<String>,
    pub variant: Option<String>,
    pub seed: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    pub source: Source,
    pub time_unit: TimeUnit,
    pub keys: Vec<KeyInfo>,
    pub processes: Vec<String>,
    /// In order of invocation (ties: order of recording).
    pub ops: Vec<Operation>,
}

impl History {
    pub fn new(source: Source, time_unit: TimeUnit) -> Self {
        Self {
            source,
            time_unit,
            keys: Vec::new(),
            processes: Vec::new(),
            ops: Vec::new(),
        }
    }

    pub fn key(&self, k: KeyId) -> &KeyInfo {
        &self.keys[k.0 as usize]
    }

    pub fn process(&self, p: ProcessId) -> &str {
        &self.processes[p.0 as usize]
    }

    /// Indexes into `ops` of each key's operations, in invocation order; indexed by `KeyId`.
    pub fn ops_by_key(&self) -> Vec<Vec<usize>> {
        let mut by_key = vec![Vec::new(); self.keys.len()];
        for (i, op) in self.ops.iter().enumerate() {
            by_key[op.key.0 as usize].push(i);
        }
        by_key
    }

    /// Formats a time of this history for a sentence: `t=41.200 s`, or `#17` for an index.
    pub fn format_time(&self, t: u64) -> String {
        match self.time_unit {
            TimeUnit::Micros => format!("t={:.3} s", t as f64 / 1e6),
            TimeUnit::Index => format!("#{t}"),
        }
    }

    /// Formats a duration of this history: `2.900 s`, or `5 events` (`1 event`).
    pub fn format_duration(&self, d: u64) -> String {
        match self.time_unit {
            TimeUnit::Micros => format!("{:.3} s", d as f64 / 1e6),
            TimeUnit::Index if d == 1 => "1 event".to_string(),
            TimeUnit::Index => format!("{d} events"),
        }
    }

    /// Sorts operations by invocation time (stable, so simultaneous ones keep recording order).
    pub fn sort(&mut self) {
        self.ops.sort_by_key(|op| op.invoke);
    }
}

/// Formats a register value for a sentence: the integer, or `nil`.
pub fn format_value(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

/// Builds a history: interns key and process names as operations arrive.
#[derive(Clone, Debug)]
pub struct HistoryBuilder {
    history: History,
    keys: BTreeMap<String, KeyId>,
    processes: BTreeMap<String, ProcessId>,
}

impl HistoryBuilder {
    pub fn new(source: Source, time_unit: TimeUnit) -> Self {
        Self {
            history: History::new(source, time_unit),
            keys: BTreeMap::new(),
            processes: BTreeMap::new(),
        }
    }

    /// Declares a key (or returns it if already declared with the same name).
    pub fn key(
        &mut self,
        name: &str,
        kind: KeyKind,
        initial: Option<i64>,
        initial_version: Option<u64>,
    ) -> KeyId {
        if let Some(&k) = self.keys.get(name) {
            return k;
        }
        let k = KeyId(self.history.keys.len() as u32);
        self.history.keys.push(KeyInfo {
            name: name.to_string(),
            kind,
            initial,
            initial_version,
        });
        self.keys.insert(name.to_string(), k);
        k
    }

    pub fn key_named(&self, name: &str) -> Option<KeyId> {
        self.keys.get(name).copied()
    }

    pub fn process(&mut self, name: &str) -> ProcessId {
        if let Some(&p) = self.processes.get(name) {
            return p;
        }
        let p = ProcessId(self.history.processes.len() as u32);
        self.history.processes.push(name.to_string());
        self.processes.insert(name.to_string(), p);
        p
    }

    /// A process whose name the caller guarantees is new (no lookup: lagsim has one process per
    /// shopper, hundreds of thousands of them).
    pub fn new_process(&mut self, name: String) -> ProcessId {
        let p = ProcessId(self.history.processes.len() as u32);
        self.history.processes.push(name);
        p
    }

    pub fn push(&mut self, op: Operation) {
        self.history.ops.push(op);
    }

    /// The history so far: every key declared, and the operations pushed (unsorted).
    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn len(&self) -> usize {
        self.history.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.history.ops.is_empty()
    }

    /// The finished history: sorted by invocation, processes numbered in order of their first
    /// operation (so that writing and reading a history gives back the same one).
    pub fn finish(self) -> History {
        let mut h = self.history;
        h.sort();
        let mut renumber = vec![u32::MAX; h.processes.len()];
        let mut names = Vec::with_capacity(h.processes.len());
        for op in &mut h.ops {
            let new = &mut renumber[op.process.0 as usize];
            if *new == u32::MAX {
                *new = names.len() as u32;
                names.push(std::mem::take(&mut h.processes[op.process.0 as usize]));
            }
            op.process = ProcessId(*new);
        }
        h.processes = names;
        h
    }
}
