//! How the model's events describe themselves to the trace (and so to the trace hash): every
//! event's kind, and every value a message carries. Kept apart from the event definitions so
//! that the model's logic reads without the bookkeeping.

use super::app::AppTimer;
use super::message::{Answer, Body, Message, Op};
use super::monitor::MonitorTimer;
use super::node::Timer;
use super::primary::PrimaryTimer;
use super::replica::{ReplicaTimer, Task};
use super::services::ServiceTimer;
use super::{Arrival, Event};
use crate::engine::{Key, TraceSink, Traced};
use crate::scenario::NodeId;

/// The fields of a row's value, as every message that carries one traces them.
fn trace_row(sink: &mut impl TraceSink, stock: i64, price: i64, version: u64) {
    sink.i64("stock", stock);
    sink.i64("price", price);
    sink.u64("version", version);
}

impl Op {
    /// The values a statement carries, for the trace (the row and kind are traced apart).
    fn trace_values(self, sink: &mut impl TraceSink) {
        match self {
            Op::ReadAtLeast { lsn, .. } => sink.u64("lsn", lsn),
            Op::LockRead { txn, .. } | Op::Rollback { txn, .. } => sink.u64("txn", txn),
            Op::CommitDecrement { qty, txn, .. } => {
                sink.i64("qty", qty);
                sink.u64("txn", txn);
            }
            Op::Decrement { qty, .. } | Op::ConditionalDecrement { qty, .. } => {
                sink.i64("qty", qty)
            }
            Op::WriteIfVersion {
                expected_version,
                new_stock,
                ..
            } => {
                sink.u64("expected_version", expected_version);
                sink.i64("new_stock", new_stock);
            }
            Op::CacheSet {
                stock,
                price,
                version,
                ..
            } => trace_row(sink, stock, price, version),
            Op::SetPrice { price, .. } => sink.i64("price", price),
            Op::WriteProfile { value, .. } => sink.i64("value", value),
            Op::Read { .. } | Op::BackgroundWrite { .. } | Op::BackgroundRead => {}
        }
    }
}

impl Traced for Event {
    fn trace(&self, t: u64, seq: u64, sink: &mut impl TraceSink) {
        match *self {
            Event::Deliver(m) => trace_message(m, t, seq, sink),
            Event::Timer(node, timer) => trace_timer(node, timer, t, seq, sink),
            Event::Arrival(a) => trace_arrival(a, t, seq, sink),
            Event::Fault { index, starts } => {
                sink.begin(t, seq, if starts { "fault-starts" } else { "fault-ends" });
                sink.u64("fault", u64::from(index));
            }
            Event::Monitor(MonitorTimer::Sample) => sink.begin(t, seq, "monitor-sample"),
            Event::Monitor(MonitorTimer::Alert { raised, lag_us }) => {
                let kind = if raised {
                    "lag-alert-raised"
                } else {
                    "lag-alert-cleared"
                };
                sink.begin(t, seq, kind);
                sink.u64("lag_us", lag_us);
            }
        }
        sink.end();
    }
}

fn key(sink: &mut impl TraceSink, name: &'static str, k: Key) {
    sink.u64(name, u64::from(k.index) << 32 | u64::from(k.generation));
}

fn trace_arrival(a: Arrival, t: u64, seq: u64, sink: &mut impl TraceSink) {
    match a {
        Arrival::Shopper => sink.begin(t, seq, "shopper-arrives"),
        Arrival::BackgroundWrite => sink.begin(t, seq, "background-write"),
        Arrival::BackgroundRead => sink.begin(t, seq, "background-read"),
        Arrival::ProfileSession => sink.begin(t, seq, "profile-session-starts"),
        Arrival::PriceChange(i) => {
            sink.begin(t, seq, "price-change");
            sink.u64("change", u64::from(i));
        }
    }
}

fn trace_message(m: Message, t: u64, seq: u64, sink: &mut impl TraceSink) {
    sink.begin(t, seq, "deliver");
    sink.u64("from", m.from.number());
    sink.u64("to", m.to.number());
    match m.body {
        Body::Request { req, op } => {
            sink.str("op", op.name());
            if op != Op::BackgroundRead {
                sink.u64("row", u64::from(op.row()));
            }
            op.trace_values(sink);
            if let Some(req) = req {
                key(sink, "req", req);
            }
        }
        Body::Reply { req, answer } => {
            sink.str("answer", answer.name());
            key(sink, "req", req);
            match answer {
                Answer::Row {
                    stock,
                    price,
                    version,
                } => trace_row(sink, stock, price, version),
                Answer::Written { lsn, version } => {
                    sink.u64("lsn", lsn);
                    sink.u64("version", version);
                }
                _ => {}
            }
        }
        Body::Replicate(e) => {
            sink.str("op", "replicate");
            sink.u64("lsn", e.lsn);
            sink.u64("row", u64::from(e.row));
            trace_row(sink, e.stock, e.price, e.version);
        }
        Body::Invalidate { row } => {
            sink.str("op", "invalidate");
            sink.u64("row", u64::from(row));
        }
        Body::FlushProducts => sink.str("op", "flush-products"),
        Body::Ack { lsn } => {
            sink.str("op", "ack");
            sink.u64("lsn", lsn);
        }
        Body::SagaRequest {
            saga,
            ticket,
            order,
            call,
            keyed,
        } => {
            sink.str("op", call.name());
            key(sink, "saga", saga);
            sink.u64("ticket", u64::from(ticket));
            sink.u64("order", order);
            sink.u64("keyed", u64::from(keyed));
        }
        // The request answered is implied by the ticket (and the sender), so it is left out:
        // saga traces stay as they were.
        Body::SagaReply {
            saga,
            ticket,
            answer,
            ..
        } => {
            sink.str("answer", answer.name());
            key(sink, "saga", saga);
            sink.u64("ticket", u64::from(ticket));
        }
    }
}

fn trace_timer(node: NodeId, timer: Timer, t: u64, seq: u64, sink: &mut impl TraceSink) {
    match timer {
        Timer::App(a) => trace_app_timer(a, t, seq, sink),
        Timer::Primary(p) => trace_primary_timer(p, t, seq, sink),
        Timer::Replica(ReplicaTimer::Done { task, .. }) => {
            sink.begin(t, seq, "replica-done");
            sink.u64("node", node.number());
            let task = if matches!(task, Task::Apply) {
                "apply"
            } else {
                "read"
            };
            sink.str("task", task);
        }
        Timer::Service(ServiceTimer::Done(job)) => {
            sink.begin(t, seq, "service-done");
            key(sink, "job", job);
        }
    }
}

fn trace_app_timer(timer: AppTimer, t: u64, seq: u64, sink: &mut impl TraceSink) {
    let (kind, name, k) = match timer {
        AppTimer::ShopperWakes(s) => ("shopper-wakes", "shopper", s),
        AppTimer::RetryCheckout(s) => ("retry-checkout", "shopper", s),
        AppTimer::CheckoutWorkDone(s) => ("checkout-work-done", "shopper", s),
        AppTimer::ProfileRead(s) => ("profile-read", "session", s),
        AppTimer::RequestTimeout(r) => ("request-timeout", "req", r),
        AppTimer::SagaRetry(saga) => ("saga-retry", "saga", saga),
        AppTimer::SagaTimeout { saga, ticket } => {
            sink.begin(t, seq, "saga-timeout");
            key(sink, "saga", saga);
            sink.u64("ticket", u64::from(ticket));
            return;
        }
    };
    sink.begin(t, seq, kind);
    key(sink, name, k);
}

fn trace_primary_timer(timer: PrimaryTimer, t: u64, seq: u64, sink: &mut impl TraceSink) {
    match timer {
        PrimaryTimer::Done(job) => {
            sink.begin(t, seq, "primary-done");
            sink.str("op", job.op.name());
            sink.u64("row", u64::from(job.op.row()));
        }
        PrimaryTimer::LockWaitTimeout { row, ticket } => {
            sink.begin(t, seq, "lock-wait-timeout");
            sink.u64("row", u64::from(row));
            sink.u64("ticket", ticket);
        }
        PrimaryTimer::TxnIdleTimeout { row, grant } => {
            sink.begin(t, seq, "txn-idle-timeout");
            sink.u64("row", u64::from(row));
            sink.u64("grant", grant);
        }
        PrimaryTimer::AckTimeout { lsn } => {
            sink.begin(t, seq, "ack-timeout");
            sink.u64("lsn", lsn);
        }
    }
}
