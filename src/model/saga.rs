//! The three services a saga checkout spans (inventory, payment, order) and what they hold:
//! reservations, charges, confirmations. docs/design/sagas.md is the specification.
//!
//! This module owns the services' state and the effect of each request on it, including the
//! draws that decide an error, a lost reply, a declined card or a failed compensation. It does
//! not own time, queues or the network: the model delivers a request when it arrives and a
//! worker is free, and sends the reply (unless it is lost). The orchestrator lives in the app.
//!
//! Idempotency: a request that carries the order id as its idempotency key, for a call the
//! service has already performed for that order, answers the first outcome again and changes
//! nothing; without a key a repeated charge charges again (the double charge the design warns of).

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{Histogram, Keyed, SimTime};
pub use crate::scenario::ServiceKind;
use crate::scenario::{Saga as SagaConfig, SagaService};

/// What the orchestrator asks of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Inventory: take `qty` units of `product` for the order.
    Reserve {
        product: u32,
        qty: i64,
    },
    /// Inventory: give the order's reservation back (a compensation).
    Release,
    /// Payment: charge the order's card.
    Charge {
        amount: i64,
    },
    /// Payment: refund everything charged to the order (a compensation).
    Refund,
    /// Order: record the order as confirmed.
    Confirm,
    /// Two-phase commit, inventory: lock the product's row, set the units aside and vote.
    PrepareReserve {
        product: u32,
        qty: i64,
    },
    /// Two-phase commit, payment: authorise the card (money held, not captured) and vote.
    Authorise {
        amount: i64,
    },
    /// Two-phase commit, order: record the order as pending and vote.
    PrepareOrder,
    /// Two-phase commit: the coordinator's decision, delivered to one participant.
    Commit(ServiceKind),
    Abort(ServiceKind),
}

impl Call {
    pub fn service(self) -> ServiceKind {
        match self {
            Call::Reserve { .. } | Call::Release => ServiceKind::Inventory,
            Call::Charge { .. } | Call::Refund => ServiceKind::Payment,
            Call::Confirm | Call::PrepareOrder => ServiceKind::Order,
            Call::PrepareReserve { .. } => ServiceKind::Inventory,
            Call::Authorise { .. } => ServiceKind::Payment,
            Call::Commit(k) | Call::Abort(k) => k,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Call::Reserve { .. } => "reserve",
            Call::Release => "release",
            Call::Charge { .. } => "charge",
            Call::Refund => "refund",
            Call::Confirm => "confirm",
            Call::PrepareReserve { .. } => "prepare-reserve",
            Call::Authorise { .. } => "authorise",
            Call::PrepareOrder => "prepare-order",
            Call::Commit(_) => "commit",
            Call::Abort(_) => "abort",
        }
    }

    pub fn is_compensation(self) -> bool {
        matches!(self, Call::Release | Call::Refund)
    }

    /// The call's kind, for idempotency records (arguments do not matter: one per order).
    pub(crate) fn kind(self) -> u8 {
        match self {
            Call::Reserve { .. } => 0,
            Call::Release => 1,
            Call::Charge { .. } => 2,
            Call::Refund => 3,
            Call::Confirm => 4,
            Call::PrepareReserve { .. } => 5,
            Call::Authorise { .. } => 6,
            Call::PrepareOrder => 7,
            Call::Commit(k) => 8 + k as u8,
            Call::Abort(k) => 11 + k as u8,
        }
    }
}

/// A service's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    /// Inventory: not enough units available (no effect).
    OutOfStock,
    /// Payment: the card was declined (no effect).
    Declined,
    /// The service failed (no effect).
    Error,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Answer::Done => "done",
            Answer::OutOfStock => "out-of-stock",
            Answer::Declined => "declined",
            Answer::Error => "error",
        }
    }
}

/// A request's effect: the answer, and whether the reply is lost on its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effect {
    pub answer: Answer,
    pub reply_lost: bool,
    /// Two-phase commit: the product whose row lock this request released.
    pub released: Option<u32>,
}

/// What the services hold at the end of a run, against what the orders became.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Reservations held for orders that were never confirmed, and their units.
    pub leaked_reservations: u64,
    pub leaked_units: i64,
    /// Orders with money held and no confirmation.
    pub charged_without_order: u64,
    /// Orders charged more than once, net of refunds.
    pub double_charges: u64,
}

pub struct Services {
    config: SagaConfig,
    /// A request's error, failed compensation and lost reply, keyed by the request; a card's
    /// decline, keyed by its order.
    outcomes: Keyed,
    cards: Keyed,
    /// Units available per product.
    available: Vec<i64>,
    /// Per order: (product, units) reserved.
    reservations: BTreeMap<u64, (u32, i64)>,
    /// Per order: charges not refunded (count, total amount).
    charges: BTreeMap<u64, (u32, i64)>,
    confirmed: BTreeSet<u64>,
    /// Idempotency records: (order, call kind) → first answer.
    performed: BTreeMap<(u64, u8), Answer>,
    pub refunds: u64,
    pub compensations_failed: u64,
    /// Two-phase commit: per product, the order whose prepared reservation holds its row lock,
    /// and since when.
    locks: Vec<Option<(u64, SimTime)>>,
    /// How long each row lock was held, prepare to decision.
    pub lock_hold_us: Histogram,
    /// Per order holding stock or money and not yet confirmed: since when.
    first_effect: BTreeMap<u64, SimTime>,
    /// How long each order was inconsistent: from its first effect to its confirmation, or to
    /// the compensation that left it holding nothing.
    pub windows_us: Histogram,
}

impl Services {
    pub fn new(config: &SagaConfig, stock: &[i64], seed: u64) -> Self {
        Self {
            config: config.clone(),
            outcomes: Keyed::new(seed, "saga-service"),
            cards: Keyed::new(seed, "saga-card"),
            available: stock.to_vec(),
            reservations: BTreeMap::new(),
            charges: BTreeMap::new(),
            confirmed: BTreeSet::new(),
            performed: BTreeMap::new(),
            locks: vec![None; stock.len()],
            lock_hold_us: Histogram::new(),
            refunds: 0,
            compensations_failed: 0,
            first_effect: BTreeMap::new(),
            windows_us: Histogram::new(),
        }
    }

    pub fn config(&self, service: ServiceKind) -> &SagaService {
        match service {
            ServiceKind::Inventory => &self.config.inventory,
            ServiceKind::Payment => &self.config.payment,
            ServiceKind::Order => &self.config.order,
        }
    }

    /// Performs `call` for `order` at `now`; `keyed` says whether the request carries the order
    /// id as an idempotency key; `request` identifies the request (its draws are keyed by it).
    pub fn perform(
        &mut self,
        order: u64,
        call: Call,
        keyed: bool,
        request: u64,
        now: SimTime,
    ) -> Effect {
        let service = call.service();
        let s = self.config(service).clone();
        let rng = &mut self.outcomes.of(request);
        // The draws happen in the same order for every request, whatever the outcome.
        let error = rng.chance(s.failure_probability);
        let compensation_fails = rng.chance(self.config.compensation_failure_probability);
        let reply_lost = rng.chance(s.lost_reply_probability);
        let mut released = None;
        let answer = if error || (call.is_compensation() && compensation_fails) {
            if call.is_compensation() {
                self.compensations_failed += 1;
            }
            Answer::Error
        } else if let Some(&first) = self.performed.get(&(order, call.kind())).filter(|_| keyed) {
            first
        } else {
            let answer = self.apply(order, call);
            if keyed {
                self.performed.insert((order, call.kind()), answer);
            }
            if answer == Answer::Done {
                released = self.lock(order, call, now);
                self.track(order, call, now);
            }
            answer
        };
        Effect {
            answer,
            reply_lost,
            released,
        }
    }

    /// Whether `call` must wait for a row lock another order's prepared reservation holds
    /// (two-phase commit). The service parks it until the lock is released.
    pub fn must_wait(&self, order: u64, call: Call) -> bool {
        match call {
            Call::PrepareReserve { product, .. } => {
                matches!(self.locks[product as usize], Some((holder, _)) if holder != order)
            }
            _ => false,
        }
    }

    /// Takes or releases the row lock of a two-phase-commit reservation that took effect;
    /// returns the product whose lock was released.
    fn lock(&mut self, order: u64, call: Call, now: SimTime) -> Option<u32> {
        match call {
            Call::PrepareReserve { product, .. } => {
                self.locks[product as usize] = Some((order, now));
                None
            }
            Call::Commit(ServiceKind::Inventory) | Call::Abort(ServiceKind::Inventory) => {
                let product = self
                    .locks
                    .iter()
                    .position(|l| matches!(l, Some((o, _)) if *o == order))?;
                let (_, since) = self.locks[product].take().expect("held");
                self.lock_hold_us.record(now.since(since));
                Some(product as u32)
            }
            _ => None,
        }
    }

    /// Opens or closes the order's window of inconsistency after `call` took effect.
    fn track(&mut self, order: u64, call: Call, now: SimTime) {
        match call {
            Call::Reserve { .. }
            | Call::Charge { .. }
            | Call::PrepareReserve { .. }
            | Call::Authorise { .. } => {
                if !self.confirmed.contains(&order) {
                    self.first_effect.entry(order).or_insert(now);
                }
                return;
            }
            Call::Confirm | Call::Commit(ServiceKind::Order) => {}
            Call::Release | Call::Refund | Call::Abort(_) => {
                if self.holds_anything(order) {
                    return;
                }
            }
            // Capturing a charge or selling reserved units changes nothing the order holds.
            Call::Commit(_) | Call::PrepareOrder => return,
        }
        if let Some(since) = self.first_effect.remove(&order) {
            self.windows_us.record(now.since(since));
        }
    }

    /// Ends the run: orders still inconsistent count until `end`. Returns how many there were.
    pub fn close_windows(&mut self, end: SimTime) -> u64 {
        let open = std::mem::take(&mut self.first_effect);
        for since in open.values() {
            self.windows_us.record(end.since(*since));
        }
        open.len() as u64
    }

    fn apply(&mut self, order: u64, call: Call) -> Answer {
        match call {
            Call::Reserve { product, qty } => {
                let available = &mut self.available[product as usize];
                if *available < qty {
                    return Answer::OutOfStock;
                }
                *available -= qty;
                let r = self.reservations.entry(order).or_insert((product, 0));
                r.1 += qty;
                Answer::Done
            }
            Call::Release => {
                if let Some((product, qty)) = self.reservations.remove(&order) {
                    self.available[product as usize] += qty;
                }
                Answer::Done
            }
            Call::Charge { amount } => {
                // A card's fate is the order's: retries of a declined card are declined again.
                if self.cards.of(order).chance(self.config.decline_probability) {
                    return Answer::Declined;
                }
                let c = self.charges.entry(order).or_insert((0, 0));
                c.0 += 1;
                c.1 += amount;
                Answer::Done
            }
            Call::Refund => {
                if self.charges.remove(&order).is_some() {
                    self.refunds += 1;
                }
                Answer::Done
            }
            Call::Confirm | Call::Commit(ServiceKind::Order) => {
                self.confirmed.insert(order);
                Answer::Done
            }
            // A prepare that arrives after its transaction's abort (it waited for the lock, or
            // was retried) must not hold anything: the participant remembers the abort.
            Call::PrepareReserve { .. } | Call::Authorise { .. } | Call::PrepareOrder
                if self.aborted(order, call.service()) =>
            {
                Answer::Error
            }
            Call::PrepareReserve { product, qty } => {
                self.apply(order, Call::Reserve { product, qty })
            }
            Call::Authorise { amount } => self.apply(order, Call::Charge { amount }),
            // The order waits as pending; its decision confirms it or forgets it.
            Call::PrepareOrder | Call::Abort(ServiceKind::Order) => Answer::Done,
            // The reserved units are sold and the authorised amount captured: the order keeps
            // what it holds, now for good (its lock is released in `lock`).
            Call::Commit(_) => Answer::Done,
            Call::Abort(ServiceKind::Inventory) => self.apply(order, Call::Release),
            Call::Abort(ServiceKind::Payment) => self.apply(order, Call::Refund),
        }
    }

    fn aborted(&self, order: u64, service: ServiceKind) -> bool {
        self.performed
            .contains_key(&(order, Call::Abort(service).kind()))
    }

    /// Whether the order holds stock or money (for the orchestrator's consistency tracking).
    pub fn holds_anything(&self, order: u64) -> bool {
        self.reservations.contains_key(&order) || self.charges.contains_key(&order)
    }

    /// Orders the order service confirmed.
    pub fn confirmed_orders(&self) -> u64 {
        self.confirmed.len() as u64
    }

    /// Orders never confirmed that still hold stock or money.
    pub fn stuck_orders(&self) -> u64 {
        let mut holding: BTreeSet<u64> = self.reservations.keys().copied().collect();
        holding.extend(self.charges.keys());
        holding.difference(&self.confirmed).count() as u64
    }

    /// What is left behind: held for orders never confirmed, or charged twice.
    pub fn leftovers(&self) -> Leftovers {
        let mut l = Leftovers::default();
        for (order, &(_, qty)) in &self.reservations {
            if !self.confirmed.contains(order) {
                l.leaked_reservations += 1;
                l.leaked_units += qty;
            }
        }
        for (order, &(count, _)) in &self.charges {
            l.charged_without_order += u64::from(!self.confirmed.contains(order));
            l.double_charges += u64::from(count > 1);
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Dist;

    fn config(decline: f64, lost: f64, comp_fail: f64) -> SagaConfig {
        let service = SagaService {
            service_time: Dist::Constant { us: 1000 },
            workers: 1,
            failure_probability: 0.0,
            lost_reply_probability: lost,
        };
        SagaConfig {
            inventory: service.clone(),
            payment: service.clone(),
            order: service,
            step_timeout_us: 1000,
            max_attempts: 3,
            retry_backoff: Dist::Constant { us: 10 },
            compensation_backoff: Dist::Constant { us: 10 },
            backoff_multiplier: 1.0,
            max_backoff_us: 1_000_000,
            compensation_failure_probability: comp_fail,
            decline_probability: decline,
        }
    }

    #[test]
    fn a_completed_order_leaves_nothing_behind_and_stock_is_taken() {
        let mut s = Services::new(&config(0.0, 0.0, 0.0), &[3], 1);
        assert_eq!(
            s.perform(
                7,
                Call::Reserve { product: 0, qty: 2 },
                true,
                0,
                SimTime::ZERO
            )
            .answer,
            Answer::Done
        );
        assert_eq!(
            s.perform(7, Call::Charge { amount: 500 }, true, 0, SimTime::ZERO)
                .answer,
            Answer::Done
        );
        assert_eq!(
            s.perform(7, Call::Confirm, true, 0, SimTime::ZERO).answer,
            Answer::Done
        );
        assert_eq!(s.leftovers(), Leftovers::default());
        // Only one unit is left for the next order.
        let next = s.perform(
            8,
            Call::Reserve { product: 0, qty: 2 },
            true,
            0,
            SimTime::ZERO,
        );
        assert_eq!(next.answer, Answer::OutOfStock);
        assert!(!s.holds_anything(8));
    }

    #[test]
    fn an_abandoned_order_leaks_its_reservation_and_its_charge() {
        let mut s = Services::new(&config(0.0, 0.0, 0.0), &[3], 1);
        s.perform(
            7,
            Call::Reserve { product: 0, qty: 2 },
            false,
            0,
            SimTime::ZERO,
        );
        s.perform(7, Call::Charge { amount: 500 }, false, 0, SimTime::ZERO);
        assert_eq!(
            s.leftovers(),
            Leftovers {
                leaked_reservations: 1,
                leaked_units: 2,
                charged_without_order: 1,
                double_charges: 0,
            }
        );
        // Compensating gives everything back.
        s.perform(7, Call::Refund, false, 0, SimTime::ZERO);
        s.perform(7, Call::Release, false, 0, SimTime::ZERO);
        assert_eq!(s.leftovers(), Leftovers::default());
        assert_eq!(s.refunds, 1);
        assert!(!s.holds_anything(7));
    }

    #[test]
    fn a_retried_charge_charges_twice_without_a_key_and_once_with_one() {
        for (keyed, double) in [(false, 1), (true, 0)] {
            let mut s = Services::new(&config(0.0, 0.0, 0.0), &[3], 1);
            s.perform(7, Call::Charge { amount: 500 }, keyed, 0, SimTime::ZERO);
            s.perform(7, Call::Charge { amount: 500 }, keyed, 0, SimTime::ZERO);
            s.perform(7, Call::Confirm, keyed, 0, SimTime::ZERO);
            assert_eq!(s.leftovers().double_charges, double, "keyed: {keyed}");
        }
    }

    #[test]
    fn a_declined_card_is_declined_on_every_attempt_and_charges_nothing() {
        let mut s = Services::new(&config(1.0, 0.0, 0.0), &[3], 1);
        for _ in 0..3 {
            assert_eq!(
                s.perform(7, Call::Charge { amount: 500 }, false, 0, SimTime::ZERO)
                    .answer,
                Answer::Declined
            );
        }
        assert!(!s.holds_anything(7));
        // With a 30% decline rate, some cards pass and some do not, the same way every run.
        let mut a = Services::new(&config(0.3, 0.0, 0.0), &[0], 9);
        let mut b = Services::new(&config(0.3, 0.0, 0.0), &[0], 9);
        let runs: Vec<Answer> = (0..200)
            .map(|o| {
                a.perform(o, Call::Charge { amount: 1 }, true, 0, SimTime::ZERO)
                    .answer
            })
            .collect();
        let again: Vec<Answer> = (0..200)
            .map(|o| {
                b.perform(o, Call::Charge { amount: 1 }, true, 0, SimTime::ZERO)
                    .answer
            })
            .collect();
        assert_eq!(runs, again);
        let declined = runs.iter().filter(|&&a| a == Answer::Declined).count();
        assert!((40..=80).contains(&declined), "{declined} of 200 declined");
    }

    #[test]
    fn failed_compensations_change_nothing_and_are_counted() {
        let mut s = Services::new(&config(0.0, 0.0, 1.0), &[3], 1);
        s.perform(
            7,
            Call::Reserve { product: 0, qty: 1 },
            true,
            0,
            SimTime::ZERO,
        );
        assert_eq!(
            s.perform(7, Call::Release, true, 0, SimTime::ZERO).answer,
            Answer::Error
        );
        assert_eq!(s.compensations_failed, 1);
        assert_eq!(s.leftovers().leaked_units, 1);
    }

    #[test]
    fn a_lost_reply_still_takes_effect() {
        let mut s = Services::new(&config(0.0, 1.0, 0.0), &[3], 1);
        let e = s.perform(7, Call::Charge { amount: 500 }, false, 0, SimTime::ZERO);
        assert_eq!(
            e,
            Effect {
                answer: Answer::Done,
                reply_lost: true,
                released: None,
            }
        );
        assert_eq!(s.leftovers().charged_without_order, 1);
    }

    #[test]
    fn a_prepared_reservation_holds_the_row_lock_until_the_decision() {
        let mut s = Services::new(&config(0.0, 0.0, 0.0), &[5], 1);
        let prepare = |qty| Call::PrepareReserve { product: 0, qty };
        let t = |ms: u64| SimTime::from_millis(ms);
        assert_eq!(s.perform(7, prepare(2), true, 0, t(0)).answer, Answer::Done);
        assert_eq!(s.leftovers().leaked_units, 2, "set aside, not sold");
        // Another order waits for the lock; the holder itself does not.
        assert!(s.must_wait(8, prepare(1)));
        assert!(!s.must_wait(7, prepare(2)));
        let commit = s.perform(7, Call::Commit(ServiceKind::Inventory), true, 0, t(30));
        assert_eq!(commit.released, Some(0));
        assert!(!s.must_wait(8, prepare(1)));
        assert_eq!(s.lock_hold_us.max(), 30_000);
        // Committed units are sold: the order, once confirmed, leaves nothing behind.
        s.perform(7, Call::Commit(ServiceKind::Order), true, 0, t(31));
        assert_eq!(s.leftovers(), Leftovers::default());
        assert_eq!(
            s.perform(8, prepare(4), true, 0, t(32)).answer,
            Answer::OutOfStock,
            "3 of 5 units left"
        );
        assert!(
            !s.must_wait(9, prepare(1)),
            "a refused prepare takes no lock"
        );
    }

    #[test]
    fn an_abort_gives_everything_back_and_refuses_a_prepare_that_comes_later() {
        let mut s = Services::new(&config(0.0, 0.0, 0.0), &[5], 1);
        s.perform(
            7,
            Call::PrepareReserve { product: 0, qty: 2 },
            true,
            0,
            SimTime::ZERO,
        );
        s.perform(7, Call::Authorise { amount: 500 }, true, 0, SimTime::ZERO);
        assert!(s.holds_anything(7));
        for k in [
            ServiceKind::Inventory,
            ServiceKind::Payment,
            ServiceKind::Order,
        ] {
            assert_eq!(
                s.perform(7, Call::Abort(k), true, 0, SimTime::ZERO).answer,
                Answer::Done
            );
        }
        assert!(!s.holds_anything(7));
        assert_eq!(s.refunds, 1, "the authorisation was voided");
        assert_eq!(s.windows_us.count(), 1, "the order is consistent again");
        // Order 8's prepares were retried and one arrives after its abort: refused, no effect.
        s.perform(
            8,
            Call::Abort(ServiceKind::Inventory),
            true,
            0,
            SimTime::ZERO,
        );
        s.perform(8, Call::Abort(ServiceKind::Payment), true, 0, SimTime::ZERO);
        let late = s.perform(
            8,
            Call::PrepareReserve { product: 0, qty: 5 },
            true,
            0,
            SimTime::ZERO,
        );
        assert_eq!(late.answer, Answer::Error);
        let late = s.perform(8, Call::Authorise { amount: 1 }, true, 0, SimTime::ZERO);
        assert_eq!(late.answer, Answer::Error);
        assert!(!s.holds_anything(8));
        assert!(!s.must_wait(9, Call::PrepareReserve { product: 0, qty: 1 }));
        // A retried prepare of a live transaction answers its first vote again.
        let again = s.perform(
            9,
            Call::PrepareReserve { product: 0, qty: 5 },
            true,
            0,
            SimTime::ZERO,
        );
        let twice = s.perform(
            9,
            Call::PrepareReserve { product: 0, qty: 5 },
            true,
            0,
            SimTime::ZERO,
        );
        assert_eq!((again.answer, twice.answer), (Answer::Done, Answer::Done));
        assert_eq!(s.leftovers().leaked_units, 5, "reserved once");
    }
}
