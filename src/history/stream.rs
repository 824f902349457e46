//! A history as a stream: operations handed on in history order while the run goes on, so that
//! a consumer (the online checkers) can judge them and forget them instead of keeping them all.
//!
//! Owns the order only: [`Ordered`] takes operations as they complete and passes each to an
//! [`OpSink`] once no call invoked before it can still complete, with the index and the process
//! number it has in the finished history ([`HistoryBuilder::finish`](super::HistoryBuilder::finish):
//! by invocation, ties in order of recording; processes numbered by their first operation). It
//! keeps what is alive: the calls in flight, the operations completed but not yet due, the
//! processes that may still act. It must not judge anything, nor know where operations come from.

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use super::{KeyInfo, Operation, ProcessId, ProcessName};

/// What consumes a history in order.
pub trait OpSink: Send {
    /// The operation at `index` of the history, its process renumbered as in the finished
    /// history; `keys` is every key declared so far (a prefix of the final table).
    fn op(&mut self, keys: &[KeyInfo], index: usize, op: &Operation, name: ProcessName);
    /// Process `process` has no operation after those already given.
    fn process_done(&mut self, process: ProcessId);
    /// The history is complete; `keys` is its final key table.
    fn finish(&mut self, keys: &[KeyInfo]);
    /// For the caller that made the sink to take it back.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// Restores history order among completed operations. Processes and calls are named by the
/// recorder's own numbering (the order in which processes started).
#[derive(Default)]
pub struct Ordered {
    /// Calls in flight, grouped by invocation instant (increasing), with how many each holds.
    in_flight: VecDeque<(u64, u32)>,
    /// Completed operations not yet due, smallest (invocation, recording order) first.
    waiting: BinaryHeap<Reverse<Waiting>>,
    recorded: u64,
    next_index: usize,
    next_process: u32,
    processes: BTreeMap<u32, Process>,
}

/// A process that may still act, or whose operations are not all handed on.
struct Process {
    name: ProcessName,
    /// Its number in the finished history, from its first operation handed on.
    id: Option<ProcessId>,
    /// Its calls not handed on yet: in flight or waiting.
    pending: u32,
    ended: bool,
}

struct Waiting {
    invoke: u64,
    recorded: u64,
    op: Operation,
}

impl PartialEq for Waiting {
    fn eq(&self, o: &Self) -> bool {
        (self.invoke, self.recorded) == (o.invoke, o.recorded)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Waiting {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.invoke, self.recorded).cmp(&(o.invoke, o.recorded))
    }
}

impl Ordered {
    /// Process `p` started.
    pub fn started(&mut self, p: ProcessId, name: ProcessName) {
        let process = Process {
            name,
            id: None,
            pending: 0,
            ended: false,
        };
        self.processes.insert(p.0, process);
    }

    /// Process `p` invoked a call at `at`, no earlier than any call before it.
    pub fn invoked(&mut self, p: ProcessId, at: u64) {
        match self.in_flight.back_mut() {
            Some((t, n)) if *t == at => *n += 1,
            back => {
                debug_assert!(
                    back.is_none_or(|&mut (t, _)| t < at),
                    "calls come in time order"
                );
                self.in_flight.push_back((at, 1));
            }
        }
        self.process(p).pending += 1;
    }

    /// The call of `p` invoked at `at` will never complete nor be recorded.
    pub fn abandoned(&mut self, p: ProcessId, at: u64, keys: &[KeyInfo], sink: &mut dyn OpSink) {
        self.leave(at);
        self.process(p).pending -= 1;
        self.forget_if_done(p.0, sink);
        self.release(keys, sink);
    }

    /// A call completed (or the run ended with it in flight): `op`, of the recorder's process.
    pub fn completed(&mut self, op: Operation, keys: &[KeyInfo], sink: &mut dyn OpSink) {
        self.leave(op.invoke);
        self.recorded += 1;
        self.waiting.push(Reverse(Waiting {
            invoke: op.invoke,
            recorded: self.recorded,
            op,
        }));
        self.release(keys, sink);
    }

    /// Process `p` ended: it invokes nothing more.
    pub fn ended(&mut self, p: ProcessId, sink: &mut dyn OpSink) {
        self.process(p).ended = true;
        self.forget_if_done(p.0, sink);
    }

    /// The run is over and every call was completed or abandoned: hands on the rest.
    pub fn finish(&mut self, keys: &[KeyInfo], sink: &mut dyn OpSink) {
        debug_assert!(
            self.in_flight.iter().all(|&(_, n)| n == 0),
            "every call ended"
        );
        self.in_flight.clear();
        self.release(keys, sink);
        sink.finish(keys);
    }

    fn process(&mut self, p: ProcessId) -> &mut Process {
        self.processes
            .get_mut(&p.0)
            .expect("a process acts between its start and its end")
    }

    fn leave(&mut self, at: u64) {
        let i = self
            .in_flight
            .binary_search_by_key(&at, |&(t, _)| t)
            .expect("a call ends after it was invoked");
        self.in_flight[i].1 -= 1;
        while self.in_flight.front().is_some_and(|&(_, n)| n == 0) {
            self.in_flight.pop_front();
        }
    }

    /// Hands on every waiting operation that no call in flight precedes: one invoked at the
    /// same instant as a call in flight was recorded first, so it comes first.
    fn release(&mut self, keys: &[KeyInfo], sink: &mut dyn OpSink) {
        while let Some(Reverse(w)) = self.waiting.peek() {
            if self.in_flight.front().is_some_and(|&(t, _)| t < w.invoke) {
                return;
            }
            let Reverse(Waiting { mut op, .. }) = self.waiting.pop().expect("peeked");
            let raw = op.process.0;
            let process = self.processes.get_mut(&raw).expect("a process with calls");
            let id = *process.id.get_or_insert_with(|| {
                self.next_process += 1;
                ProcessId(self.next_process - 1)
            });
            process.pending -= 1;
            op.process = id;
            sink.op(keys, self.next_index, &op, process.name);
            self.next_index += 1;
            self.forget_if_done(raw, sink);
        }
    }

    fn forget_if_done(&mut self, raw: u32, sink: &mut dyn OpSink) {
        let Some(p) = self.processes.get(&raw) else {
            return;
        };
        if p.ended && p.pending == 0 {
            if let Some(id) = p.id {
                sink.process_done(id);
            }
            self.processes.remove(&raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Func, HistoryBuilder, KeyId, KeyKind, Outcome, Source, TimeUnit};

    /// Collects what the stream hands on.
    #[derive(Default)]
    struct Seen {
        ops: Vec<(usize, Operation, ProcessName)>,
        done: Vec<ProcessId>,
        finished: bool,
    }

    impl OpSink for Seen {
        fn op(&mut self, _: &[KeyInfo], index: usize, op: &Operation, name: ProcessName) {
            self.ops.push((index, *op, name));
        }
        fn process_done(&mut self, process: ProcessId) {
            self.done.push(process);
        }
        fn finish(&mut self, _: &[KeyInfo]) {
            self.finished = true;
        }
        fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
            self
        }
    }

    fn op(process: u32, invoke: u64, complete: Option<u64>) -> Operation {
        Operation {
            process: ProcessId(process),
            key: KeyId(0),
            func: Func::Read,
            outcome: if complete.is_some() {
                Outcome::Ok
            } else {
                Outcome::Info
            },
            invoke,
            complete,
            value: Some(1),
            version: None,
        }
    }

    #[test]
    fn operations_come_in_the_finished_history_order_and_processes_go_when_done() {
        // (process, invoke, complete), in the order they complete; process 2 acts last, process
        // 0 is still in flight at the end, so that nothing is handed on before the end.
        let calls = [
            (1, 10, 30),
            (1, 40, 45),
            (3, 10, 50),
            (2, 42, 44),
            (0, 5, u64::MAX),
        ];
        let (mut order, mut seen) = (Ordered::default(), Seen::default());
        let mut builder = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
        builder.key("k", KeyKind::Register, None, None);
        let keys = builder.history().keys.clone();
        for p in 0..4 {
            order.started(ProcessId(p), ProcessName::Shopper(u64::from(p) * 100));
            builder.new_process(format!("shopper-{}", p * 100));
        }
        let mut by_invoke = calls;
        by_invoke.sort_by_key(|c| c.1);
        for &(p, at, _) in &by_invoke {
            order.invoked(ProcessId(p), at);
        }
        order.ended(ProcessId(1), &mut seen);
        order.ended(ProcessId(2), &mut seen);
        for &(p, at, done) in &calls {
            let o = op(p, at, (done != u64::MAX).then_some(done));
            order.completed(o, &keys, &mut seen);
            builder.push(o);
        }
        order.finish(&keys, &mut seen);
        let h = builder.finish();
        assert!(seen.finished);
        let streamed: Vec<Operation> = seen.ops.iter().map(|s| s.1).collect();
        assert_eq!(streamed, h.ops);
        let indexes: Vec<usize> = seen.ops.iter().map(|s| s.0).collect();
        assert_eq!(indexes, [0, 1, 2, 3, 4]);
        for (_, o, name) in &seen.ops {
            assert_eq!(name.to_string(), h.processes[o.process.0 as usize]);
        }
        // Processes 1 and 2 ended: in the history they are 1 and 3 (3 acted before 2).
        assert_eq!(
            h.processes,
            ["shopper-0", "shopper-100", "shopper-300", "shopper-200"]
        );
        assert_eq!(seen.done, [ProcessId(1), ProcessId(3)]);
    }
}
