//! The saga orchestrator, in the app tier: reserve stock, charge the card, confirm the order,
//! and, when a step fails, what the variant's policy does about it (docs/design/sagas.md).
//!
//! It owns the sagas in flight and their state machines; it sends requests to the services over
//! the network (so they pay its latency and suffer its partitions) and arms a timeout per
//! request. It never touches the services' state: it learns only what their replies say, and a
//! lost reply looks exactly like a slow one.

mod two_phase;

use super::app::AppTimer;
use super::message::{Body, Tag};
use super::node::Out;
use super::saga::{Answer, Call};
use crate::engine::{Dist, Key, Keyed, Slab};
use crate::scenario::{NodeId, Saga as SagaConfig, SagaPolicy, ServiceKind, Topology};

pub type SagaRef = Key;

/// How a saga's forward path ended, for its shopper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SagaOutcome {
    Confirmed,
    /// Nothing to sell: the reservation was refused.
    OutOfStock,
    /// A step failed (declined, an error, or no reply after every attempt).
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Forward(Call),
    Compensating(Call),
}

#[derive(Clone, Debug)]
struct Run<S> {
    shopper: S,
    order: u64,
    amount: i64,
    stage: Stage,
    /// Attempts of the current call so far.
    attempts: u32,
    /// The current request's ticket: replies and timeouts of older requests are ignored.
    ticket: u32,
    reserved: bool,
    charged: bool,
    /// An attempt of the current step went unanswered (a timeout, or a crash that lost its
    /// reply): the step may have happened, whatever a later attempt answers. An error answers
    /// for its own request only; the lost one may still have taken effect.
    uncertain: bool,
    /// Compensations still to run, next last.
    todo: Vec<Call>,
}

/// Compensation attempts before `reliable` gives up on one (the run must end).
const MAX_COMPENSATION_ATTEMPTS: u32 = 1000;

pub struct Orchestrator<S> {
    policy: SagaPolicy,
    config: SagaConfig,
    /// The services' nodes, by [`ServiceKind`].
    services: [NodeId; 3],
    sagas: Slab<Run<S>>,
    /// Under `two-phase-commit`, the transactions instead of sagas.
    txns: Slab<two_phase::Txn<S>>,
    /// Retry backoffs, keyed by the order and the ticket of the request that failed.
    backoffs: Keyed,
    pub started: u64,
    pub step_timeouts: u64,
    pub compensations_abandoned: u64,
    /// The orchestrator is down (`crash-orchestrator`).
    down: bool,
    pub crashes: u64,
    /// Sagas forgotten by a crash (policies without a saga log).
    pub lost_in_crash: u64,
    /// Checkouts refused while the orchestrator was down.
    pub refused_while_down: u64,
}

impl<S: Copy> Orchestrator<S> {
    pub fn new(topology: &Topology, policy: SagaPolicy, config: SagaConfig, seed: u64) -> Self {
        Self {
            policy,
            config,
            services: ServiceKind::ALL.map(|k| topology.service(k)),
            sagas: Slab::default(),
            txns: Slab::default(),
            backoffs: Keyed::new(seed, "saga-backoff"),
            started: 0,
            step_timeouts: 0,
            compensations_abandoned: 0,
            down: false,
            crashes: 0,
            lost_in_crash: 0,
            refused_while_down: 0,
        }
    }

    /// The orchestrator crashes. Without a durable saga log the sagas it was running are
    /// forgotten: their shoppers get an error, and whatever their steps did stays done. The
    /// returned shoppers are those.
    pub fn crash(&mut self) -> Vec<S> {
        self.down = true;
        self.crashes += 1;
        if self.has_log() {
            return Vec::new();
        }
        let forgotten: Vec<Run<S>> = self.sagas.drain().collect();
        self.lost_in_crash += forgotten.len() as u64;
        // Shoppers of sagas still on their forward path learn of a failure; those compensating
        // were told already.
        forgotten
            .into_iter()
            .filter(|r| matches!(r.stage, Stage::Forward(_)))
            .map(|r| r.shopper)
            .collect()
    }

    /// The orchestrator restarts: with a saga log, every saga resumes at its current step (the
    /// request is sent again with the same idempotency key, so a step that did happen is not
    /// repeated).
    pub fn recover(&mut self, out: &mut Out) {
        self.down = false;
        if self.two_phase() {
            return self.tpc_recover(out);
        }
        let live: Vec<SagaRef> = self.sagas.keys().collect();
        for saga in live {
            let run = self.sagas.get_mut(saga).expect("live saga");
            run.attempts = 0;
            // The request in flight at the crash got no answer: it may have been performed.
            run.uncertain = true;
            self.send(saga, out);
        }
    }

    pub fn policy(&self) -> SagaPolicy {
        self.policy
    }

    pub fn is_down(&self) -> bool {
        self.down
    }

    /// A checkout arrived while the orchestrator is down: refused at once.
    pub fn refuse(&mut self) {
        self.refused_while_down += 1;
    }

    /// Requests carry the order id as an idempotency key, and the orchestrator keeps a durable
    /// log (of sagas, or of the coordinator's votes and decisions).
    fn has_log(&self) -> bool {
        matches!(
            self.policy,
            SagaPolicy::Reliable | SagaPolicy::TwoPhaseCommit
        )
    }

    fn two_phase(&self) -> bool {
        self.policy == SagaPolicy::TwoPhaseCommit
    }

    /// Starts the saga of an order.
    pub fn start(
        &mut self,
        shopper: S,
        order: u64,
        product: u32,
        qty: i64,
        amount: i64,
        out: &mut Out,
    ) {
        self.started += 1;
        if self.two_phase() {
            return self.tpc_start(shopper, order, product, qty, amount, out);
        }
        let first = Call::Reserve { product, qty };
        let saga = self.sagas.insert(Run {
            shopper,
            order,
            amount,
            stage: Stage::Forward(first),
            attempts: 0,
            ticket: 0,
            reserved: false,
            charged: false,
            uncertain: false,
            todo: Vec::new(),
        });
        self.send(saga, out);
    }

    /// Sends the saga's current call (again, on a retry).
    fn send(&mut self, saga: SagaRef, out: &mut Out) {
        let keyed = self.has_log();
        let timeout = self.config.step_timeout_us;
        let run = self.sagas.get_mut(saga).expect("live saga");
        run.attempts += 1;
        run.ticket = run.ticket.wrapping_add(1);
        let call = match run.stage {
            Stage::Forward(c) | Stage::Compensating(c) => c,
        };
        let to = self.services[call.service() as usize];
        out.send(
            to,
            Tag::saga(run.order, call.kind(), run.ticket),
            Body::SagaRequest {
                saga,
                ticket: run.ticket,
                order: run.order,
                call,
                keyed,
            },
        );
        out.after(
            timeout,
            AppTimer::SagaTimeout {
                saga,
                ticket: run.ticket,
            },
        );
    }

    /// A service answered; `Some` when the saga's shopper learns the outcome of its order.
    pub fn on_reply(
        &mut self,
        saga: SagaRef,
        ticket: u32,
        call: Call,
        answer: Answer,
        out: &mut Out,
    ) -> Option<(S, SagaOutcome)> {
        if self.down {
            return None; // lost: nobody is listening
        }
        if self.two_phase() {
            return self.tpc_on_reply(saga, call, answer, out);
        }
        let run = self.sagas.get_mut(saga).filter(|r| r.ticket == ticket)?;
        // A later timeout of this request must find a newer ticket.
        run.ticket = run.ticket.wrapping_add(1);
        match (run.stage, answer) {
            (Stage::Forward(Call::Reserve { .. }), Answer::Done) => {
                run.reserved = true;
                let amount = run.amount;
                self.next(saga, Stage::Forward(Call::Charge { amount }), out);
                None
            }
            (Stage::Forward(Call::Reserve { .. }), Answer::OutOfStock) => {
                let shopper = run.shopper;
                self.sagas.remove(saga);
                Some((shopper, SagaOutcome::OutOfStock))
            }
            (Stage::Forward(Call::Charge { .. }), Answer::Done) => {
                run.charged = true;
                self.next(saga, Stage::Forward(Call::Confirm), out);
                None
            }
            (Stage::Forward(Call::Confirm), Answer::Done) => {
                let shopper = run.shopper;
                self.sagas.remove(saga);
                Some((shopper, SagaOutcome::Confirmed))
            }
            (Stage::Forward(Call::Confirm), _) if Self::must_settle_confirm(self.policy, run) => {
                self.retry_confirm(saga, out)
            }
            // Declined, an error: nothing happened at this request, though an earlier,
            // unanswered attempt of the step may have.
            (Stage::Forward(_), _) => {
                let maybe = run.uncertain;
                Some(self.forward_failed(saga, maybe, out))
            }
            (Stage::Compensating(_), Answer::Done) => {
                self.compensate_next(saga, out);
                None
            }
            (Stage::Compensating(_), _) => {
                self.compensation_failed(saga, out);
                None
            }
        }
    }

    /// A request got no reply in time.
    pub fn on_timeout(
        &mut self,
        saga: SagaRef,
        ticket: u32,
        out: &mut Out,
    ) -> Option<(S, SagaOutcome)> {
        if self.down {
            return None; // a dead process's timers do not fire; recovery re-sends
        }
        if self.two_phase() {
            return self.tpc_on_timeout(saga, ticket, out);
        }
        let run = self.sagas.get_mut(saga).filter(|r| r.ticket == ticket)?;
        run.ticket = run.ticket.wrapping_add(1);
        self.step_timeouts += 1;
        let (attempts, order) = (run.attempts, run.order);
        if matches!(run.stage, Stage::Forward(_)) {
            run.uncertain = true;
        }
        match run.stage {
            Stage::Forward(_) if attempts < self.config.max_attempts => {
                let backoff = self.backoff(self.config.retry_backoff, attempts, (order, ticket));
                out.after(backoff, AppTimer::SagaRetry(saga));
                None
            }
            Stage::Forward(Call::Confirm) if Self::must_settle_confirm(self.policy, run) => {
                self.retry_confirm(saga, out)
            }
            // The step may have happened: its reply may be the one that was lost.
            Stage::Forward(_) => Some(self.forward_failed(saga, true, out)),
            Stage::Compensating(_) => {
                self.compensation_failed(saga, out);
                None
            }
        }
    }

    /// A retry's backoff is over: send the current call again.
    pub fn on_retry(&mut self, saga: SagaRef, out: &mut Out) {
        if self.two_phase() {
            if !self.down {
                self.tpc_on_retry(saga, out);
            }
            return;
        }
        if !self.down && self.sagas.get(saga).is_some() {
            self.send(saga, out);
        }
    }

    fn next(&mut self, saga: SagaRef, stage: Stage, out: &mut Out) {
        let run = self.sagas.get_mut(saga).expect("live saga");
        run.stage = stage;
        run.attempts = 0;
        run.uncertain = false;
        self.send(saga, out);
    }

    /// Whether `reliable` must keep asking the order service to confirm rather than give up.
    /// The confirmation is the saga's pivot: it has no compensation, so once an attempt of it
    /// went unanswered, failing the saga could leave a confirmed order whose shopper was told
    /// it failed and whose stock and money were given back. Asked again with the same
    /// idempotency key, the service answers `done` if any earlier attempt took effect.
    fn must_settle_confirm(policy: SagaPolicy, run: &Run<S>) -> bool {
        policy == SagaPolicy::Reliable && run.uncertain && run.attempts < MAX_COMPENSATION_ATTEMPTS
    }

    /// Asks for the confirmation again after a backoff; the shopper keeps waiting.
    fn retry_confirm(&mut self, saga: SagaRef, out: &mut Out) -> Option<(S, SagaOutcome)> {
        let run = self.sagas.get(saga).expect("live saga");
        let request = (run.order, run.ticket);
        let backoff = self.backoff(self.config.retry_backoff, run.attempts, request);
        out.after(backoff, AppTimer::SagaRetry(saga));
        None
    }

    /// The forward path failed at the current step (which may have happened, if `maybe`).
    fn forward_failed(&mut self, saga: SagaRef, maybe: bool, out: &mut Out) -> (S, SagaOutcome) {
        let policy = self.policy;
        let run = self.sagas.get_mut(saga).expect("live saga");
        let shopper = run.shopper;
        let (mut reserved, mut charged) = (run.reserved, run.charged);
        if maybe && policy == SagaPolicy::Reliable {
            // Only the reliable policy knows a timeout is not a "no": its compensations are
            // idempotent, so undoing what may not have happened is safe.
            match run.stage {
                Stage::Forward(Call::Reserve { .. }) => reserved = true,
                Stage::Forward(Call::Charge { .. }) => charged = true,
                _ => {}
            }
        }
        run.todo.clear();
        if policy != SagaPolicy::NoCompensation {
            // Undone in reverse order: refund first, release last (run.todo pops from the end).
            if reserved {
                run.todo.push(Call::Release);
            }
            if charged {
                run.todo.push(Call::Refund);
            }
        }
        self.compensate_next(saga, out);
        (shopper, SagaOutcome::Failed)
    }

    fn compensate_next(&mut self, saga: SagaRef, out: &mut Out) {
        let run = self.sagas.get_mut(saga).expect("live saga");
        match run.todo.pop() {
            Some(call) => self.next(saga, Stage::Compensating(call), out),
            None => {
                self.sagas.remove(saga);
            }
        }
    }

    fn compensation_failed(&mut self, saga: SagaRef, out: &mut Out) {
        let run = self.sagas.get(saga).expect("live saga");
        let retry = self.policy == SagaPolicy::Reliable;
        if retry && run.attempts < MAX_COMPENSATION_ATTEMPTS {
            let request = (run.order, run.ticket);
            let backoff = self.backoff(self.config.compensation_backoff, run.attempts, request);
            out.after(backoff, AppTimer::SagaRetry(saga));
        } else {
            // Best effort: the failure is swallowed and the next compensation tried.
            self.compensations_abandoned += 1;
            let run = self.sagas.get_mut(saga).expect("live saga");
            run.attempts = 0;
            self.compensate_next(saga, out);
        }
    }

    /// The backoff before attempt `attempts + 1` of a request: a draw from `dist`, grown by
    /// `backoff_multiplier` per attempt after the first, at most `max_backoff`. The draw is keyed
    /// by the (order, ticket) of the request that failed.
    fn backoff(&mut self, dist: Dist, attempts: u32, (order, ticket): (u64, u32)) -> u64 {
        let drawn = dist.sample(&mut self.backoffs.of2(order, u64::from(ticket)));
        let growth = libm::pow(
            self.config.backoff_multiplier,
            f64::from(attempts.saturating_sub(1)),
        );
        let grown = libm::round(drawn as f64 * growth);
        // Compared as floats, so that a huge power cannot overflow the cast.
        if grown >= self.config.max_backoff_us as f64 {
            self.config.max_backoff_us
        } else {
            grown as u64
        }
    }

    /// Sagas still running (compensating, or waiting for a reply).
    pub fn in_flight(&self) -> usize {
        self.sagas.len() + self.txns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Dist;
    use crate::model::node::{Due, Timer};
    use crate::model::{Event, message::Message};
    use crate::scenario::SagaService;

    fn config() -> SagaConfig {
        let service = SagaService {
            service_time: Dist::Constant { us: 1_000 },
            workers: 1,
            failure_probability: 0.0,
            lost_reply_probability: 0.0,
        };
        SagaConfig {
            inventory: service.clone(),
            payment: service.clone(),
            order: service,
            step_timeout_us: 100_000,
            max_attempts: 2,
            retry_backoff: Dist::Constant { us: 10_000 },
            compensation_backoff: Dist::Constant { us: 20_000 },
            backoff_multiplier: 2.0,
            max_backoff_us: 1_000_000,
            compensation_failure_probability: 0.0,
            decline_probability: 0.0,
        }
    }

    struct Run {
        o: Orchestrator<u32>,
        out: Out,
        topology: Topology,
    }

    impl Run {
        fn new(policy: SagaPolicy) -> Self {
            let topology = Topology::new(&[], true);
            let o = Orchestrator::new(&topology, policy, config(), 1);
            let out = Out::new(topology.app());
            let mut r = Run { o, out, topology };
            r.o.start(7, 1, 0, 2, 500, &mut r.out);
            r
        }

        /// The requests sent since the last look: (service, call, ticket).
        fn sent(&mut self) -> Vec<(ServiceKind, Call, u32)> {
            self.out
                .sends
                .drain(..)
                .map(|s| match s {
                    crate::model::node::Outgoing::Rpc {
                        msg:
                            Message {
                                to,
                                body: Body::SagaRequest { call, ticket, .. },
                                ..
                            },
                        ..
                    } => {
                        let crate::scenario::Role::Service(k) = self.topology.role(to) else {
                            panic!("sent to {to:?}")
                        };
                        (k, call, ticket)
                    }
                    other => panic!("not a saga request: {other:?}"),
                })
                .collect()
        }

        /// The timers set since the last look: (delay, timer).
        fn timers(&mut self) -> Vec<(u64, AppTimer)> {
            self.out
                .events
                .drain(..)
                .map(|(due, e)| match (due, e) {
                    (Due::After(d), Event::Timer(_, Timer::App(t))) => (d, t),
                    other => panic!("not an app timer: {other:?}"),
                })
                .collect()
        }

        fn reply(&mut self, call: Call, ticket: u32, answer: Answer) -> Option<(u32, SagaOutcome)> {
            self.o.on_reply(saga(), ticket, call, answer, &mut self.out)
        }
    }

    /// The only saga (or transaction) of these tests.
    fn saga() -> Key {
        Key {
            index: 0,
            generation: 0,
        }
    }

    #[test]
    fn a_saga_reserves_charges_and_confirms_in_turn() {
        let mut r = Run::new(SagaPolicy::Reliable);
        let reserve = Call::Reserve { product: 0, qty: 2 };
        assert_eq!(r.sent(), vec![(ServiceKind::Inventory, reserve, 1)]);
        assert!(matches!(
            r.timers()[..],
            [(100_000, AppTimer::SagaTimeout { ticket: 1, .. })]
        ));
        assert_eq!(r.reply(reserve, 1, Answer::Done), None);
        let charge = Call::Charge { amount: 500 };
        assert_eq!(r.sent(), vec![(ServiceKind::Payment, charge, 3)]);
        r.reply(charge, 3, Answer::Done);
        assert_eq!(r.sent(), vec![(ServiceKind::Order, Call::Confirm, 5)]);
        assert_eq!(
            r.reply(Call::Confirm, 5, Answer::Done),
            Some((7, SagaOutcome::Confirmed))
        );
        assert_eq!(r.o.in_flight(), 0);
    }

    #[test]
    fn best_effort_compensates_once_and_swallows_a_failed_compensation() {
        let mut r = Run::new(SagaPolicy::BestEffort);
        r.sent();
        r.reply(Call::Reserve { product: 0, qty: 2 }, 1, Answer::Done);
        r.sent();
        let declined = r.reply(Call::Charge { amount: 500 }, 3, Answer::Declined);
        assert_eq!(declined, Some((7, SagaOutcome::Failed)));
        // Only the reservation happened: release it.
        assert_eq!(r.sent(), vec![(ServiceKind::Inventory, Call::Release, 5)]);
        assert_eq!(r.reply(Call::Release, 5, Answer::Error), None);
        assert!(r.sent().is_empty(), "no second attempt");
        assert_eq!((r.o.compensations_abandoned, r.o.in_flight()), (1, 0));
    }

    #[test]
    fn reliable_retries_a_silent_step_then_undoes_what_may_have_happened() {
        let mut r = Run::new(SagaPolicy::Reliable);
        r.sent();
        r.timers();
        assert_eq!(r.o.on_timeout(saga(), 1, &mut r.out), None);
        assert!(matches!(r.timers()[..], [(10_000, AppTimer::SagaRetry(_))]));
        r.o.on_retry(saga(), &mut r.out);
        let reserve = Call::Reserve { product: 0, qty: 2 };
        assert_eq!(r.sent(), vec![(ServiceKind::Inventory, reserve, 3)]);
        // The second attempt is silent too: the saga fails, and since the reservation may have
        // been made (its reply lost), the reliable policy releases it, idempotently.
        let failed = r.o.on_timeout(saga(), 3, &mut r.out);
        assert_eq!(failed, Some((7, SagaOutcome::Failed)));
        assert_eq!(r.sent(), vec![(ServiceKind::Inventory, Call::Release, 5)]);
        assert_eq!(r.o.step_timeouts, 2);
        // A late reply to an old ticket changes nothing.
        assert_eq!(r.reply(reserve, 1, Answer::Done), None);
        assert!(r.sent().is_empty());
    }

    #[test]
    fn reliable_never_takes_an_error_for_a_no_after_an_unanswered_attempt() {
        // The reservation's first reply is lost; its retry meets a failing service. The first
        // attempt may have reserved: the saga fails and releases, idempotently.
        let mut r = Run::new(SagaPolicy::Reliable);
        let reserve = Call::Reserve { product: 0, qty: 2 };
        r.sent();
        r.o.on_timeout(saga(), 1, &mut r.out);
        r.o.on_retry(saga(), &mut r.out);
        assert_eq!(r.sent(), vec![(ServiceKind::Inventory, reserve, 3)]);
        assert_eq!(
            r.reply(reserve, 3, Answer::Error),
            Some((7, SagaOutcome::Failed))
        );
        assert_eq!(r.sent(), vec![(ServiceKind::Inventory, Call::Release, 5)]);

        // The confirmation is lost in a crash and its retry errors: there is nothing to undo a
        // confirmation with, so the saga asks again until the order service says done.
        let mut r = Run::new(SagaPolicy::Reliable);
        r.sent();
        r.reply(reserve, 1, Answer::Done);
        r.sent();
        r.reply(Call::Charge { amount: 500 }, 3, Answer::Done);
        assert_eq!(r.sent(), vec![(ServiceKind::Order, Call::Confirm, 5)]);
        assert!(r.o.crash().is_empty(), "a saga log forgets nothing");
        r.o.recover(&mut r.out);
        assert_eq!(r.sent(), vec![(ServiceKind::Order, Call::Confirm, 6)]);
        r.timers();
        assert_eq!(r.reply(Call::Confirm, 6, Answer::Error), None);
        assert!(matches!(r.timers()[..], [(10_000, AppTimer::SagaRetry(_))]));
        r.o.on_retry(saga(), &mut r.out);
        assert_eq!(r.sent(), vec![(ServiceKind::Order, Call::Confirm, 8)]);
        assert_eq!(
            r.reply(Call::Confirm, 8, Answer::Done),
            Some((7, SagaOutcome::Confirmed))
        );

        // Without an unanswered attempt an error is a plain no, as before.
        let mut r = Run::new(SagaPolicy::Reliable);
        r.sent();
        assert_eq!(
            r.reply(reserve, 1, Answer::Error),
            Some((7, SagaOutcome::Failed))
        );
        assert!(
            r.sent().is_empty(),
            "nothing was reserved, nothing to release"
        );
    }

    #[test]
    fn two_phase_commit_asks_all_three_and_decides_on_their_votes() {
        let mut r = Run::new(SagaPolicy::TwoPhaseCommit);
        let prepares = r.sent();
        assert_eq!(prepares.len(), 3);
        let vote = |r: &mut Run, i: usize, a| r.reply(prepares[i].1, prepares[i].2, a);
        assert_eq!(vote(&mut r, 0, Answer::Done), None);
        assert_eq!(vote(&mut r, 1, Answer::Done), None);
        assert_eq!(
            vote(&mut r, 2, Answer::Done),
            Some((7, SagaOutcome::Confirmed))
        );
        let commits: Vec<Call> = r.sent().into_iter().map(|s| s.1).collect();
        assert_eq!(commits, ServiceKind::ALL.map(Call::Commit));
        for k in ServiceKind::ALL {
            r.reply(Call::Commit(k), 2, Answer::Done);
        }
        assert_eq!(
            r.o.in_flight(),
            0,
            "every participant acknowledged the decision"
        );

        let mut r = Run::new(SagaPolicy::TwoPhaseCommit);
        let prepares = r.sent();
        let no = r.reply(prepares[1].1, prepares[1].2, Answer::Declined);
        assert_eq!(no, Some((7, SagaOutcome::Failed)));
        let aborts: Vec<Call> = r.sent().into_iter().map(|s| s.1).collect();
        assert_eq!(
            aborts,
            ServiceKind::ALL.map(Call::Abort),
            "even the one that voted no"
        );
    }
}
