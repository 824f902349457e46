//! The saga services as network nodes: each a pool of workers over a FIFO queue, in front of the
//! state that [`Services`] owns. A request waits for a worker, takes its service time, then has
//! its effect and sends its reply (unless the reply is lost).

use std::collections::VecDeque;

use super::orchestrator::SagaRef;
use super::saga::{Call, ServiceKind, Services};
use super::{Body, Ctx, Event};
use crate::engine::{Key, SimRng, Slab, StreamId};
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
    replicas: usize,
    pub requests: u64,
    pub replies_lost: u64,
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
            replicas,
            requests: 0,
            replies_lost: 0,
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

    /// A worker finished `job`: its effect happens now, and the next request in line starts.
    pub fn done(&mut self, ctx: &mut Ctx, job: Key) {
        let j = self.jobs.remove(job).expect("live job");
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
                    answer: effect.answer,
                },
            );
        }
        let pool = &mut self.pools[j.service as usize];
        pool.busy -= 1;
        if let Some(next) = pool.queue.pop_front() {
            self.start(ctx, next);
        }
    }
}
