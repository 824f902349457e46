//! The saga services as network nodes: each a pool of workers over a FIFO queue, in front of the
//! state that [`Services`] owns. A request waits for a worker, takes its service time, then has
//! its effect and sends its reply (unless the reply is lost).
//!
//! Under two-phase commit a prepare of a product whose row lock another order's prepared
//! reservation holds waits for that lock, in line per product. A waiting request does not keep
//! its worker: a service whose threads blocked on the lock would deadlock as soon as the waiters
//! outnumbered its workers, because the decision that releases the lock could not be served.

use std::collections::VecDeque;

use super::orchestrator::SagaRef;
use super::saga::{Call, ServiceKind, Services};
use super::{Body, Ctx, Event};
use crate::engine::{Histogram, Key, SimRng, SimTime, Slab, StreamId};
use crate::scenario::{NodeId, Saga as SagaConfig};

/// A request being served or waiting for a worker.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    service: ServiceKind,
    saga: SagaRef,
    ticket: u32,
    order: u64,
    call: Call,
    keyed: bool,
    /// Since when it has waited for a row lock, if it has.
    parked_at: Option<SimTime>,
}

struct Pool {
    workers: u32,
    busy: u32,
    queue: VecDeque<Key>,
    rng: SimRng,
}

pub struct ServiceNodes {
    pub state: Services,
    pools: [Pool; 3],
    jobs: Slab<Job>,
    /// Per product: prepares waiting for its row lock, first come first served.
    waiting: Vec<VecDeque<Key>>,
    replicas: usize,
    pub requests: u64,
    pub replies_lost: u64,
    /// Prepares that had to wait for a row lock, and how long they waited.
    pub lock_waits: u64,
    pub lock_wait_us: Histogram,
}

impl ServiceNodes {
    pub fn new(config: &SagaConfig, stock: &[i64], replicas: usize, seed: u64) -> Self {
        let pool = |workers, i| Pool {
            workers,
            busy: 0,
            queue: VecDeque::new(),
            rng: SimRng::stream(seed, StreamId::new("saga-service-time", i)),
        };
        Self {
            state: Services::new(config, stock, seed),
            pools: [
                pool(config.inventory.workers, 0),
                pool(config.payment.workers, 1),
                pool(config.order.workers, 2),
            ],
            jobs: Slab::default(),
            waiting: vec![VecDeque::new(); stock.len()],
            replicas,
            requests: 0,
            replies_lost: 0,
            lock_waits: 0,
            lock_wait_us: Histogram::new(),
        }
    }

    /// Whether `node` is one of the services.
    pub fn owns(&self, node: NodeId) -> bool {
        (0..3).any(|k| NodeId::service(self.replicas, k) == node)
    }

    /// A request arrives at its service.
    pub fn receive(
        &mut self,
        ctx: &mut Ctx,
        saga: SagaRef,
        ticket: u32,
        order: u64,
        call: Call,
        keyed: bool,
    ) {
        self.requests += 1;
        let service = call.service();
        let job = self.jobs.insert(Job {
            service,
            saga,
            ticket,
            order,
            call,
            keyed,
            parked_at: None,
        });
        let pool = &mut self.pools[service as usize];
        if pool.busy < pool.workers {
            self.start(ctx, job);
        } else {
            pool.queue.push_back(job);
        }
    }

    fn start(&mut self, ctx: &mut Ctx, job: Key) {
        let service = self.jobs.get(job).expect("live job").service;
        let time = self.state.config(service).service_time;
        let pool = &mut self.pools[service as usize];
        pool.busy += 1;
        ctx.fx
            .after(time.sample(&mut pool.rng), Event::ServiceDone(job));
    }

    /// A worker finished `job`: its effect happens now (or, if it needs a row lock another order
    /// holds, it waits for the lock without its worker), and the next request in line starts.
    pub fn done(&mut self, ctx: &mut Ctx, job: Key) {
        let j = self.jobs.get_mut(job).expect("live job");
        let (service, order, call) = (j.service, j.order, j.call);
        if self.state.must_wait(order, call) {
            let Call::PrepareReserve { product, .. } = call else {
                unreachable!("only a prepared reservation takes a lock")
            };
            j.parked_at = Some(ctx.now);
            self.lock_waits += 1;
            self.waiting[product as usize].push_back(job);
        } else {
            self.finish(ctx, job);
        }
        let pool = &mut self.pools[service as usize];
        pool.busy -= 1;
        if let Some(next) = pool.queue.pop_front() {
            self.start(ctx, next);
        }
    }

    /// `job` has its effect and answers.
    fn finish(&mut self, ctx: &mut Ctx, job: Key) {
        let j = self.jobs.remove(job).expect("live job");
        if let Some(since) = j.parked_at {
            self.lock_wait_us.record(ctx.now.since(since));
        }
        let effect = self.state.perform(j.order, j.call, j.keyed, ctx.now);
        let node = NodeId::service(self.replicas, j.service as usize);
        if effect.reply_lost {
            self.replies_lost += 1;
        } else {
            ctx.send(
                node,
                NodeId::APP,
                Body::SagaReply {
                    saga: j.saga,
                    ticket: j.ticket,
                    call: j.call,
                    answer: effect.answer,
                },
            );
        }
        if let Some(product) = effect.released {
            self.wake(ctx, product);
        }
    }

    /// A product's row lock was released: the prepares waiting for it go, in order, until one
    /// takes the lock again.
    fn wake(&mut self, ctx: &mut Ctx, product: u32) {
        while let Some(&job) = self.waiting[product as usize].front() {
            let j = self.jobs.get(job).expect("live job");
            if self.state.must_wait(j.order, j.call) {
                break;
            }
            self.waiting[product as usize].pop_front();
            self.finish(ctx, job);
        }
    }
}
