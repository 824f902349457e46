//! The saga services as network nodes: inventory, payment and order, each a pool of workers (a
//! [`Station`]) in front of the state that [`Services`] owns. A request waits for a worker,
//! takes its service time, then has its effect and sends its reply (unless the reply is lost).
//!
//! One node value serves the three services' addresses: their requests share one job table, so
//! that a job's key (which the trace shows) is the same whichever service holds it.
//!
//! Under two-phase commit a prepare of a product whose row lock another order's prepared
//! reservation holds waits for that lock, in line per product. A waiting request does not keep
//! its worker: a service whose threads blocked on the lock would deadlock as soon as the waiters
//! outnumbered its workers, because the decision that releases the lock could not be served.

use std::collections::VecDeque;

use super::message::{Body, Message, Tag};
use super::node::{Node, Out};
use super::orchestrator::SagaRef;
use super::saga::{Call, Services};
use super::station::Station;
use crate::engine::{Histogram, Key, Keyed, SimTime, Slab};
use crate::scenario::{NodeId, Saga as SagaConfig, ServiceKind, Topology};

/// A request being served or waiting for a worker.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    service: ServiceKind,
    /// What the request is (keys its service time and its outcome's draws).
    tag: Tag,
    saga: SagaRef,
    ticket: u32,
    order: u64,
    call: Call,
    keyed: bool,
    /// Since when it has waited for a row lock, if it has.
    parked_at: Option<SimTime>,
}

/// The services' timers.
#[derive(Clone, Copy, Debug)]
pub enum ServiceTimer {
    /// A worker finished the job with this key.
    Done(Key),
}

/// What the services count, besides what their state holds.
#[derive(Clone, Debug, Default)]
pub struct ServiceStats {
    pub requests: u64,
    pub replies_lost: u64,
    /// Prepares that had to wait for a row lock, and how long they waited.
    pub lock_waits: u64,
    pub lock_wait_us: Histogram,
}

pub struct ServiceNodes {
    app: NodeId,
    ids: [NodeId; 3],
    pub state: Services,
    workers: [Station; 3],
    /// Service times, keyed by the request's tag.
    service_times: Keyed,
    jobs: Slab<Job>,
    /// Per product: prepares waiting for its row lock, first come first served.
    waiting: Vec<VecDeque<Key>>,
    pub stats: ServiceStats,
}

impl ServiceNodes {
    pub fn new(topology: &Topology, config: &SagaConfig, stock: &[i64], seed: u64) -> Self {
        Self {
            app: topology.app(),
            ids: ServiceKind::ALL.map(|k| topology.service(k)),
            state: Services::new(config, stock, seed),
            workers: [
                Station::new(config.inventory.workers),
                Station::new(config.payment.workers),
                Station::new(config.order.workers),
            ],
            service_times: Keyed::new(seed, "saga-service-time"),
            jobs: Slab::default(),
            waiting: vec![VecDeque::new(); stock.len()],
            stats: ServiceStats::default(),
        }
    }

    /// A request arrives at its service: it takes the next free worker, now or after those
    /// ahead of it.
    fn receive(&mut self, now: SimTime, job: Job, out: &mut Out) {
        self.stats.requests += 1;
        let time = self.state.config(job.service).service_time;
        let service_us = time.sample(&mut self.service_times.of(job.tag.id()));
        let visit = self.workers[job.service as usize].admit(now, service_us);
        let key = self.jobs.insert(job);
        out.at(visit.end, ServiceTimer::Done(key));
    }

    /// A worker finished `job`: its effect happens now (or, if it needs a row lock another order
    /// holds, it waits for the lock without its worker).
    fn done(&mut self, now: SimTime, job: Key, out: &mut Out) {
        let j = self.jobs.get_mut(job).expect("live job");
        let (order, call) = (j.order, j.call);
        if self.state.must_wait(order, call) {
            let Call::PrepareReserve { product, .. } = call else {
                unreachable!("only a prepared reservation takes a lock")
            };
            j.parked_at = Some(now);
            self.stats.lock_waits += 1;
            self.waiting[product as usize].push_back(job);
        } else {
            self.finish(now, job, out);
        }
    }

    /// `job` has its effect and answers.
    fn finish(&mut self, now: SimTime, job: Key, out: &mut Out) {
        let j = self.jobs.remove(job).expect("live job");
        // A job finishes while its own service is handling something: a completion, or a
        // decision of the same service releasing the lock it waited for.
        debug_assert_eq!(out.node(), self.ids[j.service as usize]);
        if let Some(since) = j.parked_at {
            self.stats.lock_wait_us.record(now.since(since));
        }
        let effect = self
            .state
            .perform(j.order, j.call, j.keyed, j.tag.id(), now);
        if effect.reply_lost {
            self.stats.replies_lost += 1;
        } else {
            let reply = Body::SagaReply {
                saga: j.saga,
                ticket: j.ticket,
                call: j.call,
                answer: effect.answer,
            };
            out.send(self.app, j.tag.reply(), reply);
        }
        if let Some(product) = effect.released {
            self.wake(now, product, out);
        }
    }

    /// A product's row lock was released: the prepares waiting for it go, in order, until one
    /// takes the lock again.
    fn wake(&mut self, now: SimTime, product: u32, out: &mut Out) {
        while let Some(&job) = self.waiting[product as usize].front() {
            let j = self.jobs.get(job).expect("live job");
            if self.state.must_wait(j.order, j.call) {
                break;
            }
            self.waiting[product as usize].pop_front();
            self.finish(now, job, out);
        }
    }
}

impl Node for ServiceNodes {
    type Timer = ServiceTimer;

    fn on_message(&mut self, now: SimTime, msg: Message, out: &mut Out) {
        let Body::SagaRequest {
            saga,
            ticket,
            order,
            call,
            keyed,
        } = msg.body
        else {
            unreachable!("a saga service does not handle {:?}", msg.body)
        };
        debug_assert_eq!(out.node(), self.ids[call.service() as usize]);
        let job = Job {
            service: call.service(),
            tag: msg.tag,
            saga,
            ticket,
            order,
            call,
            keyed,
            parked_at: None,
        };
        self.receive(now, job, out);
    }

    fn on_timer(&mut self, now: SimTime, timer: ServiceTimer, out: &mut Out) {
        let ServiceTimer::Done(job) = timer;
        self.done(now, job, out);
    }
}
