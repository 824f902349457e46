//! The linearizability checker (`check::linearizability::check`), on generated histories.
//!
//! - `checker/10keys_10clients`: the speed goal, a 100,000-operation linearizable register
//!   history over 10 keys and 10 clients (`testgen::Shape::new(1, 10, 10, 100_000)`: reads,
//!   writes, cas and decrements a few hundred microseconds long, a few in flight per key).
//!   Goal: well under a second on one core.
//! - `checker/1key_10clients`: the same 100,000 operations on a single key, like a product's
//!   stock that every shopper touches; `checker/1key_350k`: 350,000 of them, the size of a
//!   lagsim run's busiest key.
//! - `checker/10keys_10clients_info`: as the first, with 1% of writes ending with an unknown
//!   outcome (timed out), which stay open for the rest of the history.
//! - `budget/exhausted`: the worst case the budget is there for: 24 writes of distinct values
//!   all in flight together and reads of values none of them wrote, searched until
//!   `Budget::default()` runs out. Its time is what the default budget costs.
//!
//! Run: `cargo bench --bench checker` (add `-- budget` to pick one group).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lagsim::check::linearizability::testgen::{Shape, register_history};
use lagsim::check::linearizability::{Budget, KeyStatus, check};
use lagsim::history::{
    Func, History, HistoryBuilder, KeyKind, Operation, Outcome, Source, TimeUnit,
};

fn checker(c: &mut Criterion) {
    let mut g = c.benchmark_group("checker");
    g.sample_size(20);
    let shapes = [
        ("10keys_10clients", Shape::new(1, 10, 10, 100_000)),
        ("1key_10clients", Shape::new(1, 1, 10, 100_000)),
        ("1key_350k", Shape::new(1, 1, 10, 350_000)),
        (
            "10keys_10clients_info",
            Shape {
                info_probability: 0.01,
                ..Shape::new(1, 10, 10, 100_000)
            },
        ),
    ];
    for (name, shape) in shapes {
        let h = register_history(&shape);
        let report = check(&h, &Budget::default());
        assert!(report.is_linearizable(), "{name}: {report:?}");
        g.throughput(Throughput::Elements(h.ops.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(check(&h, &Budget::default())))
        });
    }
    g.finish();
}

/// `writes` writes of 1, 2, ... all in flight together, and as many reads, in flight with them,
/// of values none of them wrote.
fn tangle(writes: u32) -> History {
    let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
    let key = b.key("k", KeyKind::Register, Some(0), None);
    for w in 0..writes {
        let process = b.process(&format!("w{w}"));
        b.push(Operation {
            process,
            key,
            func: Func::Write {
                value: i64::from(w) + 1,
            },
            outcome: Outcome::Ok,
            invoke: u64::from(w),
            complete: Some(1_000),
            value: None,
            version: None,
        });
    }
    for r in 0..writes {
        let process = b.process(&format!("r{r}"));
        b.push(Operation {
            process,
            key,
            func: Func::Read,
            outcome: Outcome::Ok,
            invoke: 100 + u64::from(r),
            complete: Some(2_000),
            value: Some(1_000 + i64::from(r)),
            version: None,
        });
    }
    b.finish()
}

/// `open` decrements by 1, 2, ... that timed out, and a read of a value none of their sums
/// reaches: every subset of them is a way to reach some value.
fn open_tangle(open: u32) -> History {
    let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
    let key = b.key("k", KeyKind::Stock, Some(1_000_000), None);
    for d in 0..open {
        let process = b.process(&format!("d{d}"));
        b.push(Operation {
            process,
            key,
            func: Func::Decrement {
                qty: i64::from(d) + 1,
                conditional: false,
            },
            outcome: Outcome::Info,
            invoke: u64::from(d),
            complete: None,
            value: None,
            version: None,
        });
    }
    let process = b.process("reader");
    b.push(Operation {
        process,
        key,
        func: Func::Read,
        outcome: Outcome::Ok,
        invoke: 100,
        complete: Some(200),
        value: Some(-1),
        version: None,
    });
    b.finish()
}

fn budget(c: &mut Criterion) {
    let mut g = c.benchmark_group("budget");
    g.sample_size(10);
    g.throughput(Throughput::Elements(Budget::default().max_states_per_key));
    for (name, h) in [
        ("exhausted", tangle(24)),
        ("exhausted_open", open_tangle(40)),
    ] {
        let report = check(&h, &Budget::default());
        assert!(
            matches!(report.keys[0].status, KeyStatus::Unknown { .. }),
            "{report:?}"
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(check(&h, &Budget::default())))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Criterion's plots need system fonts, which this project does not require.
    config = Criterion::default().without_plots();
    targets = checker, budget
}
criterion_main!(benches);
