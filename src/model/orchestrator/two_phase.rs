//! Two-phase commit, the contrast to the sagas: the coordinator (the same orchestrator node)
//! asks inventory, payment and order to prepare at once; each votes; all yes commits, any no (or
//! no vote after every attempt) aborts. The decision is final and delivered to every participant
//! until each acknowledges it.
//!
//! Atomic, at a price the model makes visible: a prepared inventory participant holds the
//! product's row lock until the decision reaches it (other checkouts of the product wait, see
//! `services`), and the coordinator's log is the only place the decision lives, so while the
//! coordinator is down its prepared participants can neither commit nor abort.
//!
//! This module owns the transactions' state machines; the orchestrator node (up, down, counters)
//! is the parent's.

use super::{MAX_COMPENSATION_ATTEMPTS, Orchestrator, SagaOutcome, SagaRef};
use crate::model::app::AppTimer;
use crate::model::message::{Body, Tag};
use crate::model::node::Out;
use crate::model::saga::{Answer, Call, ServiceKind};

const PARTICIPANTS: [ServiceKind; 3] = ServiceKind::ALL;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Preparing,
    Committing,
    Aborting,
}

#[derive(Clone, Debug)]
pub(super) struct Txn<S> {
    shopper: S,
    order: u64,
    product: u32,
    qty: i64,
    amount: i64,
    phase: Phase,
    /// Per participant: its vote while preparing, then (reset) whether it acknowledged the
    /// decision.
    answers: [Option<Answer>; 3],
    /// Rounds of requests in the current phase so far.
    attempts: u32,
    /// The current round's ticket: only its timeout counts. Replies of any round count, since
    /// a vote or an acknowledgement is a fact about the participant, whichever request got it.
    ticket: u32,
}

impl<S> Txn<S> {
    fn call(&self, to: ServiceKind) -> Call {
        match (self.phase, to) {
            (Phase::Preparing, ServiceKind::Inventory) => Call::PrepareReserve {
                product: self.product,
                qty: self.qty,
            },
            (Phase::Preparing, ServiceKind::Payment) => Call::Authorise {
                amount: self.amount,
            },
            (Phase::Preparing, ServiceKind::Order) => Call::PrepareOrder,
            (Phase::Committing, k) => Call::Commit(k),
            (Phase::Aborting, k) => Call::Abort(k),
        }
    }
}

impl<S: Copy> Orchestrator<S> {
    pub(super) fn tpc_start(
        &mut self,
        shopper: S,
        order: u64,
        product: u32,
        qty: i64,
        amount: i64,
        out: &mut Out,
    ) {
        let txn = self.txns.insert(Txn {
            shopper,
            order,
            product,
            qty,
            amount,
            phase: Phase::Preparing,
            answers: [None; 3],
            attempts: 0,
            ticket: 0,
        });
        self.tpc_send(txn, out);
    }

    /// Sends the current phase's request to every participant that has not answered it yet,
    /// and arms one timeout for the round.
    fn tpc_send(&mut self, txn: SagaRef, out: &mut Out) {
        let timeout = self.config.step_timeout_us;
        let t = self.txns.get_mut(txn).expect("live transaction");
        t.attempts += 1;
        t.ticket = t.ticket.wrapping_add(1);
        for (i, &to) in PARTICIPANTS.iter().enumerate() {
            if t.answers[i].is_some() {
                continue;
            }
            let call = t.call(to);
            out.send(
                self.services[to as usize],
                Tag::saga(t.order, call.kind(), t.ticket),
                Body::SagaRequest {
                    saga: txn,
                    ticket: t.ticket,
                    order: t.order,
                    call,
                    keyed: true,
                },
            );
        }
        out.after(
            timeout,
            AppTimer::SagaTimeout {
                saga: txn,
                ticket: t.ticket,
            },
        );
    }

    pub(super) fn tpc_on_reply(
        &mut self,
        txn: SagaRef,
        call: Call,
        answer: Answer,
        out: &mut Out,
    ) -> Option<(S, SagaOutcome)> {
        let t = self.txns.get_mut(txn)?;
        let to = call.service();
        if call != t.call(to) {
            return None; // an answer to an earlier phase
        }
        let i = to as usize;
        match t.phase {
            Phase::Preparing => {
                if t.answers[i].is_some() {
                    return None;
                }
                t.answers[i] = Some(answer);
                if answer != Answer::Done {
                    let outcome = if answer == Answer::OutOfStock {
                        SagaOutcome::OutOfStock
                    } else {
                        SagaOutcome::Failed
                    };
                    return Some(self.tpc_decide(txn, Phase::Aborting, outcome, out));
                }
                if t.answers.iter().all(|a| *a == Some(Answer::Done)) {
                    return Some(self.tpc_decide(
                        txn,
                        Phase::Committing,
                        SagaOutcome::Confirmed,
                        out,
                    ));
                }
                None
            }
            // A participant that failed to apply the decision is asked again when the round
            // times out.
            Phase::Committing | Phase::Aborting => {
                if answer == Answer::Done {
                    t.answers[i] = Some(answer);
                    if t.answers.iter().all(Option::is_some) {
                        self.txns.remove(txn);
                    }
                }
                None
            }
        }
    }

    /// The coordinator decides (its log holds the decision from now on) and tells every
    /// participant; the shopper learns the outcome now.
    fn tpc_decide(
        &mut self,
        txn: SagaRef,
        phase: Phase,
        outcome: SagaOutcome,
        out: &mut Out,
    ) -> (S, SagaOutcome) {
        let t = self.txns.get_mut(txn).expect("live transaction");
        t.phase = phase;
        t.attempts = 0;
        // Abort goes to every participant, even one that voted no: a retried prepare may
        // still be on its way, and the participant must know to refuse it.
        t.answers = [None; 3];
        let shopper = t.shopper;
        self.tpc_send(txn, out);
        (shopper, outcome)
    }

    pub(super) fn tpc_on_timeout(
        &mut self,
        txn: SagaRef,
        ticket: u32,
        out: &mut Out,
    ) -> Option<(S, SagaOutcome)> {
        let t = self.txns.get_mut(txn).filter(|t| t.ticket == ticket)?;
        t.ticket = t.ticket.wrapping_add(1);
        self.step_timeouts += 1;
        let (phase, attempts, request) = (t.phase, t.attempts, (t.order, ticket));
        match phase {
            Phase::Preparing if attempts < self.config.max_attempts => {
                let backoff = self.backoff(self.config.retry_backoff, attempts, request);
                out.after(backoff, AppTimer::SagaRetry(txn));
                None
            }
            // No vote from someone after every attempt: presumed no.
            Phase::Preparing => {
                Some(self.tpc_decide(txn, Phase::Aborting, SagaOutcome::Failed, out))
            }
            // A decision must get through, like a reliable compensation, and backs off like one.
            _ if attempts < MAX_COMPENSATION_ATTEMPTS => {
                let backoff = self.backoff(self.config.compensation_backoff, attempts, request);
                out.after(backoff, AppTimer::SagaRetry(txn));
                None
            }
            _ => {
                self.compensations_abandoned += 1;
                self.txns.remove(txn);
                None
            }
        }
    }

    pub(super) fn tpc_on_retry(&mut self, txn: SagaRef, out: &mut Out) {
        if self.txns.get(txn).is_some() {
            self.tpc_send(txn, out);
        }
    }

    /// After a crash: every transaction goes on from its log, asking again whoever has not
    /// answered the current phase.
    pub(super) fn tpc_recover(&mut self, out: &mut Out) {
        let live: Vec<SagaRef> = self.txns.keys().collect();
        for txn in live {
            self.txns.get_mut(txn).expect("live transaction").attempts = 0;
            self.tpc_send(txn, out);
        }
    }
}
