//! The stations against queueing theory: a replica's read slots and the primary's workers are
//! M/M/c queues (Erlang C), and a replica whose slots serve reads and its one applier, which has
//! no closed form, matches an independent implementation of the same queue written here.

use std::collections::BinaryHeap;

use crate::support::{par_map, run, scenario};

/// Erlang C: the share of arrivals that wait, and their mean wait (ms), of an M/M/c queue with
/// arrival rate `lambda` and service rate `mu` per server (both per s).
fn erlang_c(c: u32, lambda: f64, mu: f64) -> (f64, f64) {
    let a = lambda / mu;
    let rho = a / f64::from(c);
    assert!(rho < 1.0, "a stable queue");
    let mut term = 1.0; // a^k / k!
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term / (1.0 - rho);
    let p_wait = top / (below + top);
    (p_wait, p_wait / (f64::from(c) * mu - lambda) * 1e3)
}

/// Each variant's (c, λ): service times are exponential with mean 1 ms (μ = 1000/s).
const CASES: [(&str, u32, f64); 3] = [
    ("c2-rho50", 2, 1000.0),
    ("c4-rho80", 4, 3200.0),
    ("c8-rho70", 8, 5600.0),
];

fn within(what: &str, got: f64, theory: f64, tolerance: f64) {
    let err = (got - theory).abs() / theory;
    assert!(
        err <= tolerance,
        "{what}: {got} against Erlang C's {theory:.4} ({:.2}% off)",
        err * 100.0
    );
}

#[test]
fn replica_reads_on_c_slots_wait_as_erlang_c_says() {
    let s = scenario("scenarios/validation/replica-mmc.toml", &[]);
    let runs = par_map(&CASES, |&(v, ..)| run(&s, v, s.seed));
    for (&(v, c, lambda), m) in CASES.iter().zip(&runs) {
        let (p_wait, wait_ms) = erlang_c(c, lambda, 1000.0);
        let r = &m.replicas[0];
        assert!(r.reads as f64 > lambda * 999.0, "{v}: {} reads", r.reads);
        within(
            &format!("{v} share of reads that wait"),
            r.read_wait_share,
            p_wait,
            0.02,
        );
        within(
            &format!("{v} mean wait (ms)"),
            r.read_wait_ms_mean,
            wait_ms,
            0.02,
        );
        // The time to the answer is the wait plus the 1 ms service.
        within(
            &format!("{v} read latency (ms)"),
            r.read_latency_ms_mean,
            wait_ms + 1.0,
            0.02,
        );
    }
}

#[test]
fn primary_workers_wait_as_erlang_c_says() {
    let s = scenario("scenarios/validation/primary-mmc.toml", &[]);
    let runs = par_map(&CASES, |&(v, ..)| run(&s, v, s.seed));
    for (&(v, c, lambda), m) in CASES.iter().zip(&runs) {
        let (p_wait, wait_ms) = erlang_c(c, lambda, 1000.0);
        assert!(m.primary_commits as f64 > lambda * 999.0);
        within(
            &format!("{v} share of statements that wait"),
            m.primary_queue_wait_share,
            p_wait,
            0.02,
        );
        within(
            &format!("{v} mean wait (ms)"),
            m.primary_queue_ms_mean,
            wait_ms,
            0.02,
        );
    }
}

/// The shared-slot replica: `slots` slots, Poisson reads at `reads_per_s` served in exponential
/// time of mean `read_ms`, Poisson log entries at `writes_per_s` applied one at a time by a
/// single applier in exponential time of mean `apply_ms`; the applier queues for a slot behind
/// the reads (FIFO) and again after each entry. Instant commit and network.
#[derive(Clone, Copy)]
struct SharedSlots {
    slots: u32,
    reads_per_s: f64,
    read_ms: f64,
    writes_per_s: f64,
    apply_ms: f64,
    duration_s: f64,
}

const SHARED: SharedSlots = SharedSlots {
    slots: 2,
    reads_per_s: 1200.0,
    read_ms: 1.0,
    writes_per_s: 400.0,
    apply_ms: 0.8,
    duration_s: 200.0,
};

/// The same queue, simulated here with a binary heap, floats and a generator of the test's own:
/// every entry's lag (commit to apply), in ms.
fn reference_lags(q: SharedSlots, seed: u64) -> Vec<f64> {
    #[derive(PartialEq)]
    struct At(f64, u64, Ev);
    impl Eq for At {}
    impl Ord for At {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            // A max-heap: the earliest event is the greatest, then the first scheduled.
            o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
        }
    }
    impl PartialOrd for At {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    #[derive(PartialEq, Clone, Copy)]
    enum Ev {
        Read,
        Write,
        DoneRead,
        DoneApply,
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Job {
        Read,
        Apply,
    }
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut exp = |mean: f64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let u = ((rng >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        -mean * u.ln()
    };
    let (mut heap, mut seq) = (BinaryHeap::new(), 0u64);
    let mut push = |heap: &mut BinaryHeap<At>, t: f64, e: Ev| {
        seq += 1;
        heap.push(At(t, seq, e));
    };
    let first_read = exp(1e3 / q.reads_per_s);
    let first_write = exp(1e3 / q.writes_per_s);
    push(&mut heap, first_read, Ev::Read);
    push(&mut heap, first_write, Ev::Write);
    let (mut busy, mut queue) = (0u32, std::collections::VecDeque::new());
    let (mut relay, mut applier_active, mut lags) =
        (std::collections::VecDeque::new(), false, vec![]);
    let end_ms = q.duration_s * 1e3;
    while let Some(At(t, _, e)) = heap.pop() {
        match e {
            Ev::Read => {
                queue.push_back(Job::Read);
                let next = t + exp(1e3 / q.reads_per_s);
                if next < end_ms {
                    push(&mut heap, next, Ev::Read);
                }
            }
            Ev::Write => {
                relay.push_back(t);
                if !applier_active {
                    applier_active = true;
                    queue.push_back(Job::Apply);
                }
                let next = t + exp(1e3 / q.writes_per_s);
                if next < end_ms {
                    push(&mut heap, next, Ev::Write);
                }
            }
            Ev::DoneRead => busy -= 1,
            Ev::DoneApply => {
                busy -= 1;
                lags.push(t - relay.pop_front().expect("an entry was applied"));
                applier_active = false;
            }
        }
        // Free slots go to the queue in order; then an applier with more to apply queues again.
        let mut start = |busy: &mut u32,
                         queue: &mut std::collections::VecDeque<Job>,
                         heap: &mut BinaryHeap<At>| {
            while *busy < q.slots {
                let Some(job) = queue.pop_front() else { break };
                *busy += 1;
                match job {
                    Job::Read => {
                        let d = exp(q.read_ms);
                        push(heap, t + d, Ev::DoneRead)
                    }
                    Job::Apply => {
                        let d = exp(q.apply_ms);
                        push(heap, t + d, Ev::DoneApply)
                    }
                }
            }
        };
        start(&mut busy, &mut queue, &mut heap);
        if e == Ev::DoneApply && !relay.is_empty() {
            applier_active = true;
            queue.push_back(Job::Apply);
            start(&mut busy, &mut queue, &mut heap);
        }
    }
    lags
}

/// Mean and p99 of a sample.
fn mean_p99(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (mean, xs[(0.99 * xs.len() as f64) as usize])
}

/// Mean of per-seed figures and its standard error.
fn over_seeds(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn a_replica_sharing_its_slots_between_reads_and_the_applier_matches_a_reference_queue() {
    let q = SHARED;
    let s = scenario(
        "scenarios/validation/replica-mm1.toml",
        &[
            &format!("duration_s={}", q.duration_s),
            &format!("replicas[0].workers={}", q.slots),
            &format!(
                "replicas[0].read_time={{ dist = \"exponential\", mean_ms = {} }}",
                q.read_ms
            ),
            &format!("replicas[0].apply_time.mean_ms={}", q.apply_ms),
            &format!("background.reads_per_s={}", q.reads_per_s),
            &format!("background.writes_per_s={}", q.writes_per_s),
        ],
    );
    let seeds: Vec<u64> = (1..=6).collect();
    let ours = par_map(&seeds, |&seed| {
        let m = run(&s, "mm1", seed);
        (m.replica_lag_ms_mean, m.replica_lag_ms_p99)
    });
    let theirs: Vec<(f64, f64)> = seeds
        .iter()
        .map(|&seed| mean_p99(reference_lags(q, seed)))
        .collect();
    for (what, pick) in [("mean", 0usize), ("p99", 1)] {
        let get = |v: &[(f64, f64)]| -> Vec<f64> {
            v.iter()
                .map(|p| if pick == 0 { p.0 } else { p.1 })
                .collect()
        };
        let (a, sa) = over_seeds(&get(&ours));
        let (b, sb) = over_seeds(&get(&theirs));
        // Two estimates of one figure: they differ by sampling noise only (four standard errors
        // of the difference, or 2% for the histogram's buckets and the µs rounding of draws).
        let allowed = (4.0 * (sa * sa + sb * sb).sqrt()).max(0.02 * b);
        assert!(
            (a - b).abs() <= allowed,
            "lag {what}: lagsim {a:.4} ± {sa:.4} ms, reference {b:.4} ± {sb:.4} ms"
        );
        // And the applier really waits behind the reads: more than M/M/1's lag at the apply load.
        let mm1_mean = q.apply_ms / (1.0 - q.writes_per_s * q.apply_ms / 1e3);
        if pick == 0 {
            assert!(
                a > 1.2 * mm1_mean,
                "lag mean {a:.4} ms, M/M/1 alone {mm1_mean:.4} ms"
            );
        }
    }
}
