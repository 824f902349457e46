//! Speed goals (issue: performance), measured as ratios within one run, since absolute times on a
//! shared machine are noise:
//! - `mm1_baseline`: a minimal hand-written M/M/1 loop (binary heap of (time, seq), ChaCha8,
//!   exponential draws): "as fast as this hardware goes" for one event loop.
//! - `replica_mm1`: lagsim itself on scenarios/validation/replica-mm1.toml, the same M/M/1 queue
//!   with the whole model around it (its writes' path to the commit as arithmetic, the default);
//!   `replica_mm1_events`: the same with `engine.background = "events"`, every step an event.
//!   Goal for the latter: within 3x the baseline's time per write.
//! - `queue`: the engine's event queue in a hold pattern (pop one, push one) with 1,000 and
//!   1,000,000 pending events.
//! - `black_friday`: the black-friday scenario scaled to 1,000,000 shoppers (its traffic profile
//!   stretched 3x in time, the tail to 2,810 s), one benchmark per variant on one core, and
//!   `black_friday_all/jobs2`: all variants on two threads. LAGSIM_BENCH_STRETCH=0.3 runs the
//!   ~100,000-shopper version instead (quicker; the memory comparison uses both).
//!
//! Run: `cargo bench --bench engine` (add `-- replica_mm1` to pick one group). Plots are off:
//! criterion's plotting needs system fonts, which this project does not require.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lagsim::engine::{EventQueue, SimRng, SimTime, StreamId};
use lagsim::run::{Job, in_parallel};
use lagsim::scenario::{Scenario, parse_scenario};

/// Writes per M/M/1 iteration.
const WRITES: u64 = 100_000;

/// The reference: arrivals at λ = 800/s, one server at μ = 1000/s, mean sojourn accumulated.
fn mm1_baseline(writes: u64) -> f64 {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        Arrival,
        Departure,
    }
    let mut rng = SimRng::stream(1, StreamId::new("bench", 0));
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let (mut seq, mut arrived, mut queue) = (0u64, 0u64, std::collections::VecDeque::new());
    let mut busy = false;
    let mut sojourn_sum = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, t: u64, e: Ev| {
        seq += 1;
        heap.push(Reverse((t, seq, e)));
    };
    push(&mut heap, 0, Ev::Arrival);
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        match ev {
            Ev::Arrival => {
                arrived += 1;
                if arrived < writes {
                    let gap = libm::round(rng.exponential(1250.0)) as u64;
                    push(&mut heap, now + gap, Ev::Arrival);
                }
                queue.push_back(now);
                if !busy {
                    busy = true;
                    let service = libm::round(rng.exponential(1000.0)) as u64;
                    push(&mut heap, now + service, Ev::Departure);
                }
            }
            Ev::Departure => {
                let since = queue.pop_front().expect("a departure has a customer");
                sojourn_sum += now - since;
                if queue.is_empty() {
                    busy = false;
                } else {
                    let service = libm::round(rng.exponential(1000.0)) as u64;
                    push(&mut heap, now + service, Ev::Departure);
                }
            }
        }
    }
    sojourn_sum as f64 / writes as f64
}

fn scenario(rel: &str, sets: &[String]) -> Scenario {
    let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("bundled scenario");
    parse_scenario(rel, &text, sets).expect("valid scenario")
}

fn mm1(c: &mut Criterion) {
    let mut g = c.benchmark_group("mm1");
    g.throughput(Throughput::Elements(WRITES));
    g.bench_function("mm1_baseline", |b| {
        b.iter(|| black_box(mm1_baseline(WRITES)))
    });
    // 125 s at 800 writes/s is 100,000 writes, like the baseline.
    let s = scenario(
        "scenarios/validation/replica-mm1.toml",
        &["duration_s=125".to_string()],
    );
    let v = &s.variants[0];
    g.bench_function("replica_mm1", |b| {
        b.iter(|| black_box(Job::new(&s, v, 1).run().expect("drains").summary.events))
    });
    // The goal is for the engine itself: every write's arrival, delivery and commit an
    // event (the default runs them as the model's own work, without events).
    let events = scenario(
        "scenarios/validation/replica-mm1.toml",
        &[
            "duration_s=125".to_string(),
            "engine.background=\"events\"".to_string(),
        ],
    );
    let v = &events.variants[0];
    g.bench_function("replica_mm1_events", |b| {
        b.iter(|| {
            black_box(
                Job::new(&events, v, 1)
                    .run()
                    .expect("drains")
                    .summary
                    .events,
            )
        })
    });
    g.finish();
}

fn queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue");
    const OPS: u64 = 100_000;
    g.throughput(Throughput::Elements(OPS));
    for pending in [1_000u64, 1_000_000] {
        let mut q: EventQueue<u64> = EventQueue::with_capacity(pending as usize);
        let mut rng = SimRng::stream(7, StreamId::new("bench-queue", pending));
        for i in 0..pending {
            q.push(SimTime(rng.below(1_000_000)), i);
        }
        g.bench_with_input(BenchmarkId::new("hold", pending), &pending, |b, _| {
            b.iter(|| {
                for _ in 0..OPS {
                    let (t, _, e) = q.pop().expect("the queue stays full");
                    q.push(t.after(rng.below(1_000_000)), e);
                }
            })
        });
    }
    g.finish();
}

/// The `--set` arguments that stretch black-friday's traffic profile `k` times in time (same
/// rates, longer phases; the 80/s tail runs to 2,810·k/3 s): k = 3 gives 1,000,008 shoppers at
/// seed 2024, k = 0.3 gives 100,653.
fn black_friday_stretched(k: f64) -> Vec<String> {
    let at = |s: f64| (s * k).round() as u64;
    vec![
        format!(
            "traffic.profile=[{{at_s=0,shoppers_per_s=60}},{{at_s={},shoppers_per_s=60}},\
             {{at_s={},shoppers_per_s=700}},{{at_s={},shoppers_per_s=700}},\
             {{at_s={},shoppers_per_s=80}}]",
            at(60.0),
            at(120.0),
            at(420.0),
            at(600.0)
        ),
        format!("duration_s={}", at(2810.0 / 3.0)),
        format!("horizon_s={}", at(1800.0).max(1800)),
    ]
}

fn black_friday(c: &mut Criterion) {
    let stretch: f64 = std::env::var("LAGSIM_BENCH_STRETCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let s = scenario(
        "scenarios/black-friday.toml",
        &black_friday_stretched(stretch),
    );
    let mut g = c.benchmark_group("black_friday");
    g.sample_size(10);
    for v in &s.variants {
        g.bench_function(&v.name, |b| {
            b.iter(|| {
                black_box(
                    Job::new(&s, v, s.seed)
                        .run()
                        .expect("drains")
                        .summary
                        .events,
                )
            })
        });
    }
    g.finish();

    // The same runs, all variants at once on two threads (the CLI's `lagsim run --jobs 2`).
    let mut g = c.benchmark_group("black_friday_all");
    g.sample_size(10);
    g.bench_function("jobs2", |b| {
        b.iter(|| {
            let mut events = 0;
            in_parallel(
                &s.variants,
                2,
                |_, v| Job::new(&s, v, s.seed).run().map(|r| r.summary.events),
                |e| {
                    events += e;
                    Ok(())
                },
            )
            .expect("drains");
            events
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = mm1, queue, black_friday
}
criterion_main!(benches);
