//! Shoppers: arrival, the product page, think time, and the checkout, statement by statement as
//! the variant's strategy says or as a saga.

use super::{App, AppTimer, Checkouts, Purpose, Stage};
use crate::engine::{Counter, Key, SimRng, SimTime};
use crate::history::ProcessId;
use crate::model::message::{Answer, Body, Client, Op, Tag};
use crate::model::node::{Observation, Out, ProcessName};
use crate::model::orchestrator::SagaOutcome;
use crate::model::timeline::ReadFrom;
use crate::scenario::{NodeId, ReadSource, Role};
use crate::strategy::{Checkout, CheckoutStrategy, FailReason, Outcome, Reply, Statement, Step};

pub type ShopperRef = Key;

/// What a checkout does once the application has worked on the order. Every checkout does the
/// same work, once per attempt; the strategy decides where it falls: before the write that
/// follows a read (check-then-act, optimistic), inside the row lock before the commit
/// (pessimistic), before the one atomic statement (conditional decrement), or before the saga
/// starts.
#[derive(Clone, Copy, Debug)]
enum AfterWork {
    Statement(Op),
    Saga,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Shopper {
    /// Arrival number: names the shopper's random streams.
    number: u64,
    pub(super) product: u32,
    adds_to_cart: bool,
    think_us: u64,
    pub(super) checkout: Checkout,
    txn: u64,
    checkout_started: SimTime,
    /// What waits for the application's work on the order (pricing, promotions, fraud checks)
    /// to finish.
    pending: Option<AfterWork>,
    /// The price the product page showed: the price the shopper agreed to.
    shown_price: i64,
    /// The shopper's process in the history.
    pub(super) process: ProcessId,
    /// Where the checkout's last stock read was sent, and the stock it showed.
    read_from: Option<NodeId>,
    stock_read: Option<i64>,
    /// Messages sent so far: the next one's sequence number in its tag.
    sent: u32,
}

impl App {
    /// Shopper number `n` arrives: draw its choices and open its product page.
    pub fn shopper_arrives(&mut self, now: SimTime, n: u64, out: &mut Out) {
        let mut rng = self.shopper_draws.of(n);
        let product = rng.sample(&self.popularity) as u32;
        let adds_to_cart = rng.chance(self.config.add_to_cart_probability);
        let think_us = self.config.think_time.sample(&mut rng);
        let qty = rng.sample(&self.quantities) as i64 + 1;
        let shopper = Shopper {
            number: n,
            product,
            adds_to_cart,
            think_us,
            checkout: Checkout::new(qty, self.checkout.max_retries),
            txn: 0,
            checkout_started: SimTime::ZERO,
            pending: None,
            shown_price: 0,
            process: self.new_process(ProcessName::Shopper(n), out),
            read_from: None,
            stock_read: None,
            sent: 0,
        };
        self.stats.shoppers += 1;
        let s = self.shoppers.insert(shopper);
        self.read(now, s, Purpose::Page, self.page, out);
    }

    /// Reads the shopper's product row from `source`.
    fn read(
        &mut self,
        now: SimTime,
        s: ShopperRef,
        purpose: Purpose,
        source: ReadSource,
        out: &mut Out,
    ) {
        let row = self.shoppers.get(s).expect("live shopper").product;
        let (to, stage) = self.route(source);
        self.request(now, s, purpose, stage, to, Op::Read { row }, false, out);
    }

    /// Shopper `s` sends `op` to `to`: its process and quantity, for the request's observation,
    /// and the request's tag.
    pub(super) fn shopper_sends(
        &mut self,
        s: ShopperRef,
        purpose: Purpose,
        to: NodeId,
        op: Op,
    ) -> (ProcessId, i64, Tag) {
        let tag = self.shopper_tag(s);
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        if purpose == Purpose::Checkout && matches!(op, Op::Read { .. } | Op::LockRead { .. }) {
            shopper.read_from = Some(to);
            shopper.stock_read = None;
        }
        (shopper.process, shopper.checkout.qty, tag)
    }

    /// The tag of shopper `s`'s next message: its arrival number and how many it sent before.
    pub(super) fn shopper_tag(&mut self, s: ShopperRef) -> Tag {
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        shopper.sent += 1;
        Tag::request(Client::Shopper(shopper.number), shopper.sent - 1)
    }

    /// A page read or a checkout statement was answered.
    pub(super) fn shopper_answer(
        &mut self,
        now: SimTime,
        s: ShopperRef,
        purpose: Purpose,
        answer: Answer,
        out: &mut Out,
    ) {
        match purpose {
            Purpose::Page => {
                let Answer::Row { stock, price, .. } = answer else {
                    unreachable!("a page read answers a row, got {answer:?}")
                };
                let shopper = self.shoppers.get_mut(s).expect("live shopper");
                shopper.shown_price = price;
                let shopper = *shopper;
                if stock <= 0 && self.config.leave_if_sold_out {
                    self.leave(s, |st| st.left_sold_out += 1, out);
                } else if !shopper.adds_to_cart {
                    self.leave(s, |st| st.browsed_only += 1, out);
                } else {
                    out.after(shopper.think_us, AppTimer::ShopperWakes(s));
                }
            }
            Purpose::Profile => unreachable!("profile answers are handled by profile_answer"),
            Purpose::Checkout => {
                let reply = match answer {
                    Answer::Row { stock, version, .. } => {
                        self.shoppers.get_mut(s).expect("live shopper").stock_read = Some(stock);
                        Reply::Row { stock, version }
                    }
                    Answer::Updated { .. } => Reply::Updated,
                    Answer::NotEnoughStock => Reply::NotEnoughStock,
                    Answer::VersionConflict => Reply::VersionConflict,
                    Answer::Aborted => Reply::Aborted,
                    other => unreachable!("a checkout statement does not answer {other:?}"),
                };
                self.step(now, s, Some(reply), out);
            }
        }
    }

    /// A checkout statement got no answer in time.
    pub(super) fn checkout_timed_out(&mut self, now: SimTime, s: ShopperRef, out: &mut Out) {
        self.step(now, s, Some(Reply::TimedOut), out);
    }

    /// The shopper's think time is over: check out.
    pub(super) fn wake(&mut self, now: SimTime, s: ShopperRef, out: &mut Out) {
        self.shoppers
            .get_mut(s)
            .expect("live shopper")
            .checkout_started = now;
        self.stats.checkouts += 1;
        match self.checkouts {
            Checkouts::Saga(_) => self.work_then(s, AfterWork::Saga, out),
            Checkouts::Statements(_) => self.step(now, s, None, out),
        }
    }

    /// The order has been worked on: the saga starts (unless the orchestrator is down).
    fn start_saga(&mut self, now: SimTime, s: ShopperRef, out: &mut Out) {
        let Checkouts::Saga(o) = &mut self.checkouts else {
            unreachable!("a saga variant")
        };
        if o.is_down() {
            o.refuse();
            return self.saga_finished(now, s, SagaOutcome::Failed, out);
        }
        let shopper = self.shoppers.get(s).expect("live shopper");
        let (product, qty) = (shopper.product, shopper.checkout.qty);
        let amount = self.prices[product as usize] * qty;
        o.start(s, shopper.number, product, qty, amount, out);
    }

    /// The application works on shopper `s`'s order (one draw of `checkout.work_time` for this
    /// attempt), then does `next`.
    fn work_then(&mut self, s: ShopperRef, next: AfterWork, out: &mut Out) {
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        shopper.pending = Some(next);
        let mut draw = attempt_draw(&self.work_draws, shopper);
        let work = self.checkout.work_time.sample(&mut draw);
        out.after(work, AppTimer::CheckoutWorkDone(s));
    }

    /// The orchestrator crashes (`starts`) or restarts.
    pub(super) fn crash_orchestrator(&mut self, now: SimTime, starts: bool, out: &mut Out) {
        let Checkouts::Saga(o) = &mut self.checkouts else {
            return; // a variant without sagas has no orchestrator to crash
        };
        if starts {
            for s in o.crash() {
                self.saga_finished(now, s, SagaOutcome::Failed, out);
            }
        } else {
            o.recover(out);
        }
    }

    pub(super) fn saga_finished(
        &mut self,
        now: SimTime,
        s: ShopperRef,
        outcome: SagaOutcome,
        out: &mut Out,
    ) {
        let outcome = match outcome {
            SagaOutcome::Confirmed => Outcome::Confirmed,
            SagaOutcome::OutOfStock => Outcome::OutOfStock,
            SagaOutcome::Failed => Outcome::Failed(FailReason::Aborted),
        };
        self.finish_checkout(now, s, outcome, out);
    }

    /// Sends a checkout statement to the primary.
    fn send_statement(&mut self, now: SimTime, s: ShopperRef, op: Op, out: &mut Out) {
        let primary = self.topology.primary();
        self.request(
            now,
            s,
            Purpose::Checkout,
            Stage::Direct,
            primary,
            op,
            false,
            out,
        );
    }

    /// The application's work on the order is done: what waited for it goes.
    pub(super) fn work_done(&mut self, now: SimTime, s: ShopperRef, out: &mut Out) {
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        match shopper
            .pending
            .take()
            .expect("something waited for the work")
        {
            AfterWork::Statement(op) => self.send_statement(now, s, op, out),
            AfterWork::Saga => self.start_saga(now, s, out),
        }
    }

    /// Feeds the strategy (`None`: start a new attempt) and carries out the step it returns.
    pub(super) fn step(
        &mut self,
        now: SimTime,
        s: ShopperRef,
        reply: Option<Reply>,
        out: &mut Out,
    ) {
        let Checkouts::Statements(strategy) = self.checkouts else {
            unreachable!("a saga checkout takes no statement steps")
        };
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        let step = match reply {
            None => {
                shopper.txn = self.next_txn;
                self.next_txn += 1;
                strategy.begin(&mut shopper.checkout)
            }
            Some(r) => strategy.on_reply(&mut shopper.checkout, r),
        };
        match step {
            Step::Send(Statement::Read { from }) => self.read(now, s, Purpose::Checkout, from, out),
            Step::Send(statement) => self.send_checkout_statement(now, s, statement, out),
            Step::Retry => {
                self.stats.retries += 1;
                let shopper = self.shoppers.get(s).expect("live shopper");
                let mut draw = attempt_draw(&self.backoff_draws, shopper);
                let backoff = self.checkout.retry_backoff.sample(&mut draw);
                out.after(backoff, AppTimer::RetryCheckout(s));
            }
            Step::Finish { outcome, rollback } => {
                if rollback {
                    let shopper = self.shoppers.get(s).expect("live shopper");
                    let op = Op::Rollback {
                        row: shopper.product,
                        txn: shopper.txn,
                    };
                    let tag = self.shopper_tag(s);
                    out.send(
                        self.topology.primary(),
                        tag,
                        Body::Request { req: None, op },
                    );
                }
                self.finish_checkout(now, s, outcome, out);
            }
        }
    }

    /// A statement other than a read: a lock request goes at once (the work is done inside the
    /// lock); every write waits for the application's work on the order.
    fn send_checkout_statement(
        &mut self,
        now: SimTime,
        s: ShopperRef,
        statement: Statement,
        out: &mut Out,
    ) {
        let shopper = self.shoppers.get_mut(s).expect("live shopper");
        let (row, txn) = (shopper.product, shopper.txn);
        let op = match statement {
            Statement::LockRead => Op::LockRead { row, txn },
            Statement::CommitDecrement { qty } => Op::CommitDecrement { row, qty, txn },
            Statement::Decrement { qty } => Op::Decrement { row, qty },
            Statement::ConditionalDecrement { qty } => Op::ConditionalDecrement { row, qty },
            Statement::WriteIfVersion {
                expected_version,
                new_stock,
            } => Op::WriteIfVersion {
                row,
                expected_version,
                new_stock,
            },
            Statement::Read { .. } => unreachable!("reads are sent by `read`"),
        };
        if statement == Statement::LockRead {
            self.send_statement(now, s, op, out);
        } else {
            self.work_then(s, AfterWork::Statement(op), out);
        }
    }

    /// The shopper learns how its checkout ended, and leaves.
    fn finish_checkout(&mut self, now: SimTime, s: ShopperRef, outcome: Outcome, out: &mut Out) {
        let shopper = self.shoppers.remove(s).expect("live shopper");
        out.observe(Observation::ProcessEnded {
            process: shopper.process,
        });
        self.stats
            .checkout_latency_us
            .record(now.since(shopper.checkout_started));
        let phase = self.phases.index(now);
        match outcome {
            Outcome::Confirmed => {
                self.stats.confirmed += 1;
                self.stats.phases[phase].confirmed += 1;
                self.stats.units_sold[shopper.product as usize] += shopper.checkout.qty;
                let read_from = self.read_from(shopper.read_from);
                out.observe(Observation::Confirmed {
                    shopper: shopper.number,
                    product: shopper.product,
                    qty: shopper.checkout.qty,
                    read_from,
                    stock_read: shopper.stock_read,
                    shown_price: shopper.shown_price,
                });
            }
            Outcome::OutOfStock => self.stats.rejected_out_of_stock += 1,
            Outcome::Failed(reason) => {
                self.stats.failed += 1;
                self.stats.phases[phase].failed += 1;
                match reason {
                    FailReason::Timeout => self.stats.failed_timeout += 1,
                    FailReason::Aborted => self.stats.failed_aborted += 1,
                    FailReason::RetriesExhausted => self.stats.failed_retries += 1,
                }
            }
        }
    }

    fn read_from(&self, node: Option<NodeId>) -> ReadFrom {
        match node.map(|n| self.topology.role(n)) {
            None => ReadFrom::Nothing,
            Some(Role::Primary) => ReadFrom::Primary,
            Some(Role::Cache) => ReadFrom::Cache,
            Some(Role::Replica(i)) => ReadFrom::Replica(i),
            Some(other) => unreachable!("a checkout does not read from {other:?}"),
        }
    }

    /// The shopper leaves before checking out.
    pub(super) fn leave(
        &mut self,
        s: ShopperRef,
        count: impl FnOnce(&mut super::AppStats),
        out: &mut Out,
    ) {
        let shopper = self.shoppers.remove(s).expect("live shopper");
        out.observe(Observation::ProcessEnded {
            process: shopper.process,
        });
        count(&mut self.stats);
    }
}

/// The randomness of one draw of a checkout attempt, keyed by the shopper's arrival number and
/// its retry count, so that the same shopper draws the same work time and backoff in every
/// variant (common random numbers), whatever other shoppers are doing.
fn attempt_draw(family: &crate::engine::Keyed, shopper: &Shopper) -> SimRng<Counter> {
    family.of2(shopper.number, u64::from(shopper.checkout.retries))
}
