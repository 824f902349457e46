//! Records what the clients saw, as a [`History`] for the checkers and `--history`.
//!
//! From the app tier's observations: a client operation begins when its first request is sent
//! and ends when the client learns the outcome (the answer, or a timeout); a cache miss is not an
//! outcome, and the fill that follows it goes on with the same operation. The recorder knows rows
//! only as keys: a product's stock (`stock/<product>`) and a user's profile (`profile/<n>`). It
//! never influences the run: recording on or off gives the same trace.

use std::collections::BTreeMap;

use super::ReqTable;
use crate::engine::SimTime;
use crate::history::{
    Func, History, HistoryBuilder, KeyId, KeyKind, Operation, Outcome, ProcessId, Source, TimeUnit,
};
use crate::model::message::{Answer, Op};
use crate::model::node::{Observation, ProcessName};
use crate::scenario::Config;

/// An operation in flight: what the client asked, of which key, and since when.
#[derive(Clone, Copy, Debug)]
struct Call {
    pub process: ProcessId,
    pub key: KeyId,
    pub func: Func,
    pub invoked: SimTime,
}

pub struct Recorder {
    builder: HistoryBuilder,
    /// The operation each request in flight is part of.
    calls: ReqTable<Call>,
    /// The operation of a cache get that missed, until its fill is sent.
    carried: Option<Call>,
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
            calls: ReqTable::default(),
            carried: None,
            stock,
            first_profile_row: config.products.len() as u32,
            profiles: BTreeMap::new(),
        }
    }

    /// Records what one observation says about the clients.
    pub fn observe(&mut self, now: SimTime, o: &Observation) {
        match *o {
            Observation::ProcessStarted { process, name } => {
                let name = match name {
                    ProcessName::Shopper(n) => format!("shopper-{n}"),
                    ProcessName::Session(n) => format!("session-{n}"),
                };
                let id = self.builder.new_process(name);
                debug_assert_eq!(
                    id, process,
                    "processes are numbered in the order they start"
                );
            }
            Observation::Sent {
                req,
                process,
                op,
                qty,
                continues,
                ..
            } => {
                let call = if continues {
                    self.carried.take()
                } else {
                    self.call(process, op, qty, now)
                };
                if let Some(call) = call {
                    self.calls.insert(req, call);
                }
            }
            Observation::Closed { req, answer } => {
                let Some(call) = self.calls.remove(req) else {
                    return;
                };
                if answer == Some(Answer::Miss) {
                    self.carried = Some(call);
                } else {
                    self.complete(call, answer, now);
                }
            }
            Observation::Unfinished { req } => {
                if let Some(call) = self.calls.remove(req) {
                    self.unfinished(call);
                }
            }
            _ => {}
        }
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
    fn call(&mut self, process: ProcessId, op: Op, qty: i64, now: SimTime) -> Option<Call> {
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
    fn complete(&mut self, call: Call, answer: Option<Answer>, now: SimTime) {
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
    fn unfinished(&mut self, call: Call) {
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
