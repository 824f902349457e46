//! Records what the clients saw: streamed in history order to an [`OpSink`] (the online
//! checkers), and kept whole as a [`History`] only when asked for (`--history`).
//!
//! From the app tier's observations: a client operation begins when its first request is sent
//! and ends when the client learns the outcome (the answer, or a timeout); a cache miss is not an
//! outcome, and the fill that follows it goes on with the same operation. The recorder knows rows
//! only as keys: a product's stock (`stock/<product>`) and a user's profile (`profile/<n>`). It
//! never influences the run: recording on or off gives the same trace. Streamed, it keeps only
//! what is alive (calls in flight, operations waiting for an earlier call to complete); kept
//! whole, it grows with the run.

use std::collections::BTreeMap;

use super::ReqTable;
use crate::engine::SimTime;
use crate::history::stream::{OpSink, Ordered};
use crate::history::{
    Func, History, HistoryBuilder, KeyId, KeyKind, Operation, Outcome, ProcessId, Source, TimeUnit,
};
use crate::model::message::{Answer, Op};
use crate::model::node::Observation;
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
    /// The keys, always; the processes and operations too when `keep`.
    builder: HistoryBuilder,
    keep: bool,
    /// Where operations go in history order, if anywhere.
    stream: Option<(Ordered, Box<dyn OpSink>)>,
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
    /// A recorder that keeps the whole history if `keep`, and streams nowhere (yet).
    pub fn new(config: &Config, source: Source, keep: bool) -> Self {
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
            keep,
            stream: None,
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
                if self.keep {
                    let id = self.builder.new_process(name.to_string());
                    debug_assert_eq!(
                        id, process,
                        "processes are numbered in the order they start"
                    );
                }
                if let Some((order, _)) = &mut self.stream {
                    order.started(process, name);
                }
            }
            Observation::ProcessEnded { process } => {
                if let Some((order, sink)) = &mut self.stream {
                    order.ended(process, sink.as_mut());
                }
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
                    if let Some(lost) = self.carried.replace(call) {
                        self.abandon(lost);
                    }
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
        if let Some((order, _)) = &mut self.stream {
            order.invoked(process, now.as_micros());
        }
        Some(Call {
            process,
            key: self.key(op.row()),
            func,
            invoked: now,
        })
    }

    /// A call whose fill never came: it is no operation of the history.
    fn abandon(&mut self, call: Call) {
        if let Some((order, sink)) = &mut self.stream {
            let keys = &self.builder.history().keys;
            order.abandoned(call.process, call.invoked.as_micros(), keys, sink.as_mut());
        }
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
        let op = Operation {
            process: call.process,
            key: call.key,
            func: call.func,
            outcome,
            invoke: call.invoked.as_micros(),
            complete: complete.map(SimTime::as_micros),
            value,
            version,
        };
        if let Some((order, sink)) = &mut self.stream {
            order.completed(op, &self.builder.history().keys, sink.as_mut());
        }
        if self.keep {
            self.builder.push(op);
        }
    }

    /// From now on, hands every operation to `sink` in history order (before the first
    /// observation: the stream must see every process start).
    pub fn stream_to(&mut self, sink: Box<dyn OpSink>) {
        self.stream = Some((Ordered::default(), sink));
    }

    /// The history if it was kept, and the sink once it has seen every operation.
    pub fn finish(mut self) -> (Option<History>, Option<Box<dyn OpSink>>) {
        if let Some(lost) = self.carried.take() {
            self.abandon(lost);
        }
        let sink = self.stream.take().map(|(mut order, mut sink)| {
            order.finish(&self.builder.history().keys, sink.as_mut());
            sink
        });
        (self.keep.then(|| self.builder.finish()), sink)
    }
}
