//! Records what the clients saw, as a [`History`] for the checkers and `--history`.
//!
//! The application asks the recorder for a [`Call`] when it sends a client-visible operation and
//! hands it back with the answer (or the timeout) when the client learns the outcome. The
//! recorder knows rows only as keys: a product's stock (`stock/<product>`) and a user's profile
//! (`profile/<n>`). It never influences the run: recording on or off gives the same trace.

use std::collections::BTreeMap;

use super::{Answer, Op};
use crate::engine::SimTime;
use crate::history::{
    Func, History, HistoryBuilder, KeyId, KeyKind, Operation, Outcome, ProcessId, Source, TimeUnit,
};
use crate::scenario::Config;

/// An operation in flight: what the client asked, of which key, and since when.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub process: ProcessId,
    pub key: KeyId,
    pub func: Func,
    pub invoked: SimTime,
}

pub struct Recorder {
    builder: HistoryBuilder,
    /// The key of each product row (rows `0..products`).
    stock: Vec<KeyId>,
    first_profile_row: u32,
    profiles: BTreeMap<u32, KeyId>,
}

impl Recorder {
    pub fn new(config: &Config, source: Source) -> Self {
        let mut builder = HistoryBuilder::new(source, TimeUnit::Micros);
        let stock = config
            .products
            .iter()
            .map(|p| {
                builder.key(
                    &format!("stock/{}", p.name),
                    KeyKind::Stock,
                    Some(p.stock),
                    Some(0),
                )
            })
            .collect();
        Self {
            builder,
            stock,
            first_profile_row: config.products.len() as u32,
            profiles: BTreeMap::new(),
        }
    }

    /// A new client process (a shopper or a profile session); names are unique by construction.
    pub fn process(&mut self, name: String) -> ProcessId {
        self.builder.new_process(name)
    }

    fn key(&mut self, row: u32) -> KeyId {
        if let Some(&k) = self.stock.get(row as usize) {
            return k;
        }
        let user = row - self.first_profile_row;
        let builder = &mut self.builder;
        *self.profiles.entry(row).or_insert_with(|| {
            builder.key(
                &format!("profile/{user}"),
                KeyKind::Profile,
                Some(0),
                Some(0),
            )
        })
    }

    /// The call a client makes by sending `op`, or `None` if `op` is not client-visible.
    /// `qty` is the checkout's quantity (it turns a version-checked write into a cas).
    pub fn call(&mut self, process: ProcessId, op: Op, qty: i64, now: SimTime) -> Option<Call> {
        let func = match op {
            Op::Read { .. } | Op::ReadAtLeast { .. } | Op::LockRead { .. } => Func::Read,
            Op::WriteProfile { value, .. } => Func::Write { value },
            Op::CommitDecrement { qty, .. } | Op::Decrement { qty, .. } => Func::Decrement {
                qty,
                conditional: false,
            },
            Op::ConditionalDecrement { qty, .. } => Func::Decrement {
                qty,
                conditional: true,
            },
            // The version check succeeds exactly when the row still holds what was read, and
            // the new stock is that minus the quantity: a compare-and-set of the stock.
            Op::WriteIfVersion { new_stock, .. } => Func::Cas {
                from: new_stock + qty,
                to: new_stock,
            },
            Op::Rollback { .. }
            | Op::BackgroundWrite { .. }
            | Op::BackgroundRead
            | Op::CacheSet { .. }
            | Op::SetPrice { .. } => return None,
        };
        Some(Call {
            process,
            key: self.key(op.row()),
            func,
            invoked: now,
        })
    }

    /// The client learnt the outcome of `call`: `Some(answer)`, or `None` for a timeout.
    pub fn complete(&mut self, call: Call, answer: Option<Answer>, now: SimTime) {
        let (outcome, value, version) = match answer {
            Some(Answer::Row { stock, version, .. }) => (Outcome::Ok, Some(stock), Some(version)),
            Some(Answer::Updated { stock, version }) => (Outcome::Ok, Some(stock), Some(version)),
            Some(Answer::Written { version, .. }) => {
                let Func::Write { value } = call.func else {
                    unreachable!("only profile writes answer `written`")
                };
                (Outcome::Ok, Some(value), Some(version))
            }
            Some(
                Answer::NotEnoughStock
                | Answer::VersionConflict
                | Answer::Aborted
                | Answer::TooStale,
            ) => (Outcome::Fail, None, None),
            Some(Answer::Miss) => unreachable!("a cache miss is not an outcome"),
            None => (Outcome::Info, None, None),
        };
        self.push(call, outcome, Some(now), value, version);
    }

    /// The run ended with `call` still in flight.
    pub fn unfinished(&mut self, call: Call) {
        self.push(call, Outcome::Info, None, None, None);
    }

    fn push(
        &mut self,
        call: Call,
        outcome: Outcome,
        complete: Option<SimTime>,
        value: Option<i64>,
        version: Option<u64>,
    ) {
        self.builder.push(Operation {
            process: call.process,
            key: call.key,
            func: call.func,
            outcome,
            invoke: call.invoked.as_micros(),
            complete: complete.map(SimTime::as_micros),
            value,
            version,
        });
    }

    pub fn finish(self) -> History {
        self.builder.finish()
    }
}
