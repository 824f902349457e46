//! What crosses the network: the messages nodes send each other, and the values they carry.
//!
//! This is the wire protocol of the simulated system, and nothing else: statements and their
//! answers, the replication stream and its acknowledgements, cache invalidations, and the saga
//! calls (whose payloads the services define in `saga.rs`). A node learns about
//! another only through these.

use super::orchestrator::SagaRef;
use super::saga;
use crate::engine::{Key, SimTime};
use crate::scenario::NodeId;

/// A request in flight, as the application knows it.
pub type ReqRef = Key;

/// What a message, and the work it asks for, belongs to: the identity its random draws are keyed
/// by (see `engine::rng`). The same request draws the same latency on the same link and the same
/// service time at its server in every variant that sends it, whatever else was sent before it
/// (common random numbers); its reply is a message of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tag(u64);

/// Who sends a request, numbered within its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// The shopper that arrived `n`-th.
    Shopper(u64),
    /// The `n`-th profile session.
    Session(u64),
    /// The `m`-th background read or write.
    BackgroundRead(u64),
    BackgroundWrite(u64),
    /// Price change number `i` of the scenario.
    PriceChange(u64),
}

impl Tag {
    /// Bits 60..64: the kind; bit 59: a reply; bits 20..59: a number; bits 0..20: a sequence.
    const REPLY: u64 = 1 << 59;
    const NUMBER_BITS: u32 = 39;
    const SEQ_BITS: u32 = 20;

    fn compose(kind: u64, number: u64, seq: u64) -> Tag {
        debug_assert!(number < 1 << Self::NUMBER_BITS && seq < 1 << Self::SEQ_BITS);
        Tag(kind << 60 | number << Self::SEQ_BITS | seq)
    }

    /// The `seq`-th request (0-based) of `client`.
    pub fn request(client: Client, seq: u32) -> Tag {
        let (kind, n) = match client {
            Client::Shopper(n) => (1, n),
            Client::Session(n) => (2, n),
            Client::BackgroundRead(m) => (3, m),
            Client::BackgroundWrite(m) => (4, m),
            Client::PriceChange(i) => (5, i),
        };
        Tag::compose(kind, n, u64::from(seq))
    }

    /// The commit at log position `lsn`: its replication entry, and its cache invalidation.
    pub fn log(lsn: u64) -> Tag {
        Tag(6 << 60 | (lsn & (Self::REPLY - 1)))
    }

    /// A replica's acknowledgement of the log up to `lsn`.
    pub fn ack(lsn: u64) -> Tag {
        Tag(7 << 60 | (lsn & (Self::REPLY - 1)))
    }

    /// Attempt `attempt` of the saga call of kind `call` for `order`.
    pub fn saga(order: u64, call: u8, attempt: u32) -> Tag {
        let seq = u64::from(call) << 16 | u64::from(attempt & 0xffff);
        Tag::compose(8, order, seq)
    }

    /// The reply to this request.
    pub fn reply(self) -> Tag {
        Tag(self.0 | Self::REPLY)
    }

    /// A background read's request: load nobody looks at, which may run as arithmetic.
    pub fn is_background_read(self) -> bool {
        self.0 >> 60 == 3 && self.0 & Self::REPLY == 0
    }

    /// A background write's request: load nobody waits for, which may run as arithmetic.
    pub fn is_background_write(self) -> bool {
        self.0 >> 60 == 4 && self.0 & Self::REPLY == 0
    }

    /// The identity to key draws by.
    pub fn id(self) -> u64 {
        self.0
    }
}

/// One committed change, as shipped to replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub lsn: u64,
    pub row: u32,
    pub stock: i64,
    pub price: i64,
    pub version: u64,
    pub committed_at: SimTime,
}

/// A row as some node served it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowView {
    pub stock: i64,
    pub price: i64,
    pub version: u64,
}

/// A statement or cache operation, as it reaches a data node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read {
        row: u32,
    },
    /// A read that a replica serves only once it has applied log position `lsn`.
    ReadAtLeast {
        row: u32,
        lsn: u64,
    },
    /// A profile update: the user's row gets a new value (chosen by the user: a new email) and
    /// the next version.
    WriteProfile {
        row: u32,
        value: i64,
    },
    LockRead {
        row: u32,
        txn: u64,
    },
    CommitDecrement {
        row: u32,
        qty: i64,
        txn: u64,
    },
    Decrement {
        row: u32,
        qty: i64,
    },
    ConditionalDecrement {
        row: u32,
        qty: i64,
    },
    WriteIfVersion {
        row: u32,
        expected_version: u64,
        new_stock: i64,
    },
    Rollback {
        row: u32,
        txn: u64,
    },
    BackgroundWrite {
        row: u32,
    },
    BackgroundRead,
    CacheSet {
        row: u32,
        stock: i64,
        price: i64,
        version: u64,
    },
    /// Marketing changes a product's price (cents).
    SetPrice {
        row: u32,
        price: i64,
    },
}

impl Op {
    /// The row the statement is about (`u32::MAX` for a background read, which names none).
    pub fn row(self) -> u32 {
        match self {
            Op::Read { row }
            | Op::ReadAtLeast { row, .. }
            | Op::WriteProfile { row, .. }
            | Op::LockRead { row, .. }
            | Op::CommitDecrement { row, .. }
            | Op::Decrement { row, .. }
            | Op::ConditionalDecrement { row, .. }
            | Op::WriteIfVersion { row, .. }
            | Op::Rollback { row, .. }
            | Op::BackgroundWrite { row }
            | Op::CacheSet { row, .. }
            | Op::SetPrice { row, .. } => row,
            Op::BackgroundRead => u32::MAX,
        }
    }

    /// The transaction a statement belongs to, if it is part of one.
    pub fn txn(self) -> Option<u64> {
        match self {
            Op::LockRead { txn, .. }
            | Op::CommitDecrement { txn, .. }
            | Op::Rollback { txn, .. } => Some(txn),
            _ => None,
        }
    }

    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Op::Read { .. }
                | Op::ReadAtLeast { .. }
                | Op::LockRead { .. }
                | Op::Rollback { .. }
                | Op::BackgroundRead
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Read { .. } => "read",
            Op::ReadAtLeast { .. } => "read-at-least",
            Op::WriteProfile { .. } => "write-profile",
            Op::SetPrice { .. } => "set-price",
            Op::LockRead { .. } => "lock-read",
            Op::CommitDecrement { .. } => "commit-decrement",
            Op::Decrement { .. } => "decrement",
            Op::ConditionalDecrement { .. } => "conditional-decrement",
            Op::WriteIfVersion { .. } => "write-if-version",
            Op::Rollback { .. } => "rollback",
            Op::BackgroundWrite { .. } => "background-write",
            Op::BackgroundRead => "background-read",
            Op::CacheSet { .. } => "cache-set",
        }
    }
}

/// A data node's answer to a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Row {
        stock: i64,
        price: i64,
        version: u64,
    },
    Miss,
    /// A committed stock write, with the row's stock and version after it.
    Updated {
        stock: i64,
        version: u64,
    },
    NotEnoughStock,
    VersionConflict,
    Aborted,
    /// A committed profile write, with its log position and the row's new version.
    Written {
        lsn: u64,
        version: u64,
    },
    /// A replica has not applied the log position a `ReadAtLeast` asked for.
    TooStale,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Answer::Row { .. } => "row",
            Answer::Miss => "miss",
            Answer::Updated { .. } => "updated",
            Answer::NotEnoughStock => "not-enough-stock",
            Answer::VersionConflict => "version-conflict",
            Answer::Aborted => "aborted",
            Answer::Written { .. } => "written",
            Answer::TooStale => "too-stale",
        }
    }

    /// A row's value as an answer.
    pub fn row(view: RowView) -> Answer {
        Answer::Row {
            stock: view.stock,
            price: view.price,
            version: view.version,
        }
    }
}

/// What a message says.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// `req` is `None` for fire-and-forget requests (background load, cache sets, rollbacks).
    Request {
        req: Option<ReqRef>,
        op: Op,
    },
    Reply {
        req: ReqRef,
        answer: Answer,
    },
    Replicate(LogEntry),
    Invalidate {
        row: u32,
    },
    /// Tag-based flush: the cache drops every product key.
    FlushProducts,
    /// A replica has received the log up to `lsn` (synchronous replication).
    Ack {
        lsn: u64,
    },
    /// The saga orchestrator asks a service to perform `call` for `order`; `keyed`: the order id
    /// is the request's idempotency key.
    SagaRequest {
        saga: SagaRef,
        ticket: u32,
        order: u64,
        call: saga::Call,
        keyed: bool,
    },
    SagaReply {
        saga: SagaRef,
        ticket: u32,
        /// The request answered (two-phase commit asks three services at once).
        call: saga::Call,
        answer: saga::Answer,
    },
}

impl Body {
    /// Whether it travels on a replication connection (reliable and ordered, see the network
    /// module) rather than as a request or reply that a cut link loses.
    pub fn is_stream(&self) -> bool {
        matches!(self, Body::Replicate(_) | Body::Ack { .. })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Message {
    pub from: NodeId,
    pub to: NodeId,
    /// What it belongs to (its latency is keyed by this and its link).
    pub tag: Tag,
    pub body: Body,
}
