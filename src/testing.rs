//! Proptest strategies that generate valid scenarios, for property tests of your own
//! configurations (cargo feature `proptest`).
//!
//! Two entry points:
//! - [`scenarios`] builds whole scenarios from a [`Space`]: traffic shapes, replica capacities,
//!   latency distributions, partitions and crashes, around the checkout strategies you name;
//! - [`variations`] starts from *your* scenario file and varies what you choose of it (traffic,
//!   faults, replica capacities), through the same `--set` overrides the command line takes.
//!
//! Every value generated is valid by construction (inside the ranges docs/scenario-reference.md
//! allows); a generated scenario that the loader rejected would be a bug here, and panics with
//! the loader's message and the text. Each [`Generated`] keeps its TOML text and overrides, so a
//! failing case can be saved and replayed with `lagsim run`.
//!
//! ```
//! use lagsim::run::Job;
//! use lagsim::testing::{Space, scenarios};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//!
//! let space = Space::checkouts(&["conditional-decrement"]);
//! let mut runner = TestRunner::new(Config { cases: 2, ..Config::default() });
//! runner
//!     .run(&(scenarios(space), any::<u64>()), |(g, seed)| {
//!         for v in &g.scenario.variants {
//!             let m = Job::new(&g.scenario, v, seed).run().unwrap().metrics;
//!             prop_assert_eq!(m.oversold_units, 0, "{}", g.toml);
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use std::fmt::Write;
use std::ops::RangeInclusive;

use proptest::prelude::*;

use crate::run::Reproduce;
use crate::scenario::{Scenario, parse_scenario};

/// A generated scenario.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The scenario's TOML text ([`variations`]: the base file's).
    pub toml: String,
    /// The `--set` overrides applied to it (empty for [`scenarios`]).
    pub sets: Vec<String>,
    pub scenario: Scenario,
}

impl Generated {
    /// The command that runs this scenario again, once its text is saved as `file`.
    pub fn command(&self, file: &str, seed: u64) -> String {
        Reproduce {
            command: "run",
            file,
            seed,
            sets: &self.sets,
            ..Reproduce::default()
        }
        .line()
    }
}

/// What [`scenarios`] draws from. Start from [`Space::checkouts`] and change what you need.
#[derive(Clone, Debug)]
pub struct Space {
    /// The variants of every scenario: (name, checkout strategy as the file spells it).
    pub variants: Vec<(String, String)>,
    /// Shoppers per second, at most (the traffic shape peaks somewhere up to this).
    pub max_shoppers_per_s: u32,
    /// Length of the traffic, in seconds.
    pub duration_s: RangeInclusive<u32>,
    pub replicas: RangeInclusive<usize>,
    pub products: RangeInclusive<usize>,
    /// Initial stock per product.
    pub stock: RangeInclusive<u32>,
    /// How many faults (partitions, pauses, slowdowns, crashes of replicas and the cache).
    pub faults: RangeInclusive<usize>,
}

impl Space {
    /// One variant per checkout strategy, named after it; the rest of the defaults are small
    /// enough for hundreds of cases (at most 200 shoppers/s for 10 to 60 s).
    pub fn checkouts(checkouts: &[&str]) -> Self {
        Self {
            variants: checkouts
                .iter()
                .map(|c| (c.to_string(), c.to_string()))
                .collect(),
            max_shoppers_per_s: 200,
            duration_s: 10..=60,
            replicas: 1..=3,
            products: 1..=2,
            stock: 0..=200,
            faults: 0..=3,
        }
    }
}

/// A traffic profile over `duration_s`: flat, a spike (low, high, low) or a ramp, as
/// `(at_s, shoppers_per_s)` points.
pub fn traffic_profile(max_rate: u32, duration_s: u32) -> impl Strategy<Value = Vec<(u32, u32)>> {
    let max_rate = max_rate.max(1);
    let d = duration_s.max(3);
    prop_oneof![
        (1..=max_rate).prop_map(|r| vec![(0, r)]),
        (1..=max_rate, 1..=max_rate, 1..d / 2).prop_map(move |(low, high, at)| vec![
            (0, low.min(high)),
            (at, high),
            (at + d / 3, low.min(high))
        ]),
        (1..=max_rate, 1..=max_rate).prop_map(move |(a, b)| vec![(0, a), (d, b)]),
    ]
}

/// A latency distribution around `scale_ms` (TOML inline table): constant, exponential,
/// lognormal or uniform.
pub fn latency(scale_ms: f64) -> impl Strategy<Value = String> {
    let s = scale_ms.max(0.01);
    prop_oneof![
        (0.1f64..2.0).prop_map(move |k| format!("{{ dist = \"constant\", ms = {:.3} }}", s * k)),
        (0.1f64..2.0)
            .prop_map(move |k| format!("{{ dist = \"exponential\", mean_ms = {:.3} }}", s * k)),
        (0.1f64..2.0, 1.5f64..20.0).prop_map(move |(k, tail)| format!(
            "{{ dist = \"lognormal\", median_ms = {:.3}, p99_ms = {:.3} }}",
            s * k,
            s * k * tail
        )),
        (0.0f64..1.0, 1.0f64..3.0).prop_map(move |(a, b)| format!(
            "{{ dist = \"uniform\", min_ms = {:.3}, max_ms = {:.3} }}",
            s * a,
            s * b
        )),
    ]
}

/// One fault (TOML inline table) among the primary, the app, the cache and `replicas` replicas
/// named `replica-1`…, starting within `duration_s` and lasting up to 30 s.
pub fn fault(replicas: usize, duration_s: u32) -> impl Strategy<Value = String> {
    let replicas = replicas.max(1);
    let nodes: Vec<String> = ["app", "primary", "cache"]
        .into_iter()
        .map(str::to_string)
        .chain((1..=replicas).map(|i| format!("replica-{i}")))
        .collect();
    let n = nodes.len();
    let when = (0..duration_s.max(1), 0.1f64..30.0);
    prop_oneof![
        (when.clone(), 0..n, 1..n, any::<bool>()).prop_map(move |((at, d), a, off, both)| {
            let (x, y) = (&nodes[a], &nodes[(a + off) % n]);
            if both {
                format!("{{ kind = \"partition\", between = [\"{x}\", \"{y}\"], at_s = {at}, duration_s = {d:.3} }}")
            } else {
                format!("{{ kind = \"partition\", from = \"{x}\", to = \"{y}\", at_s = {at}, duration_s = {d:.3} }}")
            }
        }),
        (when.clone(), 1..=replicas, prop_oneof![Just("pause-replica"), Just("crash-replica")])
            .prop_map(|((at, d), r, kind)| format!(
                "{{ kind = \"{kind}\", replica = \"replica-{r}\", at_s = {at}, duration_s = {d:.3} }}"
            )),
        (when.clone(), 1..=replicas, 1.5f64..50.0).prop_map(|((at, d), r, f)| format!(
            "{{ kind = \"slow-replica\", replica = \"replica-{r}\", factor = {f:.3}, at_s = {at}, duration_s = {d:.3} }}"
        )),
        when.prop_map(|(at, d)| format!(
            "{{ kind = \"crash-cache\", at_s = {at}, duration_s = {d:.3} }}"
        )),
    ]
}

fn parse(origin: &str, text: &str, sets: &[String]) -> Scenario {
    parse_scenario(origin, text, sets).unwrap_or_else(|e| {
        panic!("lagsim::testing generated an invalid scenario (a bug): {e}\n{text}\n{sets:?}")
    })
}

/// Whole scenarios drawn from `space`.
pub fn scenarios(space: Space) -> impl Strategy<Value = Generated> {
    let shape = (
        space.duration_s.clone(),
        space.replicas.clone(),
        space.products.clone(),
        any::<u64>(),
    );
    shape.prop_flat_map(move |(duration, replicas, products, seed)| {
        let space = space.clone();
        (
            traffic_profile(space.max_shoppers_per_s, duration),
            prop::collection::vec(space.stock.clone(), products),
            prop::collection::vec((1u32..=16, latency(0.3), latency(1.0)), replicas),
            (4u32..=64, latency(0.5), latency(1.0)),
            prop::collection::vec(fault(replicas, duration), space.faults.clone()),
            (0.02f64..0.5, latency(2000.0), any::<bool>(), 1u64..=600),
        )
            .prop_map(
                move |(traffic, stock, reps, (pw, pread, pwrite), faults, (cart, think, fill, ttl))| {
                    let mut t = String::new();
                    let _ = writeln!(t, "name = \"generated\"\nseed = {seed}");
                    let _ = writeln!(t, "duration_s = {duration}\nhorizon_s = {}", duration + 900);
                    // Top-level keys before the first table header.
                    if !faults.is_empty() {
                        let _ = writeln!(t, "faults = [{}]", faults.join(", "));
                    }
                    let _ = writeln!(
                        t,
                        "[primary]\nworkers = {pw}\nread_time = {pread}\nwrite_time = {pwrite}"
                    );
                    for (i, (w, apply, read)) in reps.iter().enumerate() {
                        let _ = writeln!(
                            t,
                            "[[replicas]]\nname = \"replica-{}\"\nworkers = {w}\napply_time = {apply}\nread_time = {read}",
                            i + 1
                        );
                    }
                    let _ = writeln!(
                        t,
                        "[cache]\nttl_s = {ttl}\nfill_from = \"{}\"",
                        if fill { "primary" } else { "replica" }
                    );
                    let _ = writeln!(
                        t,
                        "[shoppers]\nadd_to_cart_probability = {cart:.3}\nthink_time = {think}"
                    );
                    let points: Vec<String> = traffic
                        .iter()
                        .map(|(at, r)| format!("{{ at_s = {at}, shoppers_per_s = {r} }}"))
                        .collect();
                    let _ = writeln!(t, "[traffic]\nprofile = [{}]", points.join(", "));
                    for (i, s) in stock.iter().enumerate() {
                        let _ = writeln!(t, "[[products]]\nname = \"product-{i}\"\nstock = {s}");
                    }
                    for (name, checkout) in &space.variants {
                        let _ = writeln!(
                            t,
                            "[[variants]]\nname = \"{name}\"\ncheckout = \"{checkout}\""
                        );
                    }
                    let scenario = parse("generated", &t, &[]);
                    Generated {
                        toml: t,
                        sets: Vec::new(),
                        scenario,
                    }
                },
            )
    })
}

/// What [`variations`] changes in a base scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vary {
    /// A new traffic profile, peaking at up to this many shoppers per second.
    pub traffic_up_to: Option<u32>,
    /// Up to this many faults among the base's nodes (replaces the base's faults).
    pub faults_up_to: Option<usize>,
    /// Each replica's `workers` drawn from 1 to this.
    pub replica_workers_up_to: Option<u32>,
    /// The seed too (else the file's).
    pub seed: bool,
}

/// Your scenario (`text`, read from `origin`), varied as `vary` says. The base must be valid;
/// faults name the base's replicas, which must be called `replica-1`, `replica-2`, … for
/// [`Vary::faults_up_to`] (else leave faults alone).
pub fn variations(origin: &str, text: &str, vary: Vary) -> impl Strategy<Value = Generated> {
    let base = parse(origin, text, &[]);
    let duration = (base_duration_s(&base)).max(1);
    let replicas = base.variants[0].config.replicas.len();
    let (origin, text) = (origin.to_string(), text.to_string());
    let traffic = match vary.traffic_up_to {
        Some(r) => traffic_profile(r, duration)
            .prop_map(|p| {
                let points: Vec<String> = p
                    .iter()
                    .map(|(at, r)| format!("{{ at_s = {at}, shoppers_per_s = {r} }}"))
                    .collect();
                Some(format!("traffic.profile=[{}]", points.join(", ")))
            })
            .boxed(),
        None => Just(None).boxed(),
    };
    let faults = match vary.faults_up_to {
        Some(n) if replicas > 0 => prop::collection::vec(fault(replicas, duration), 0..=n)
            .prop_map(|f| Some(format!("faults=[{}]", f.join(", "))))
            .boxed(),
        _ => Just(None).boxed(),
    };
    let workers = match vary.replica_workers_up_to {
        Some(w) => prop::collection::vec(1..=w.max(1), replicas)
            .prop_map(|ws| {
                ws.iter()
                    .enumerate()
                    .map(|(i, w)| format!("replicas[{i}].workers={w}"))
                    .collect::<Vec<_>>()
            })
            .boxed(),
        None => Just(Vec::new()).boxed(),
    };
    let seed = if vary.seed {
        any::<u64>().prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    (traffic, faults, workers, seed).prop_map(move |(traffic, faults, workers, seed)| {
        let mut sets: Vec<String> = traffic.into_iter().chain(faults).collect();
        sets.extend(workers);
        sets.extend(seed.map(|s| format!("seed={s}")));
        let scenario = parse(&origin, &text, &sets);
        Generated {
            toml: text.clone(),
            sets,
            scenario,
        }
    })
}

/// The traffic window of a scenario, in whole seconds.
fn base_duration_s(s: &Scenario) -> u32 {
    (s.variants[0].config.traffic_end.as_micros() / 1_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};

    #[test]
    fn every_generated_scenario_is_valid_and_varied() {
        let mut runner = TestRunner::new(Config {
            cases: 200,
            ..Config::default()
        });
        let space = Space::checkouts(&["replica-read", "pessimistic-lock"]);
        let mut faults = 0;
        let mut replicas = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let g = scenarios(space.clone())
                .new_tree(&mut runner)
                .unwrap()
                .current();
            assert_eq!(g.scenario.variants.len(), 2);
            let c = &g.scenario.variants[0].config;
            faults += c.faults.len();
            replicas.insert(c.replicas.len());
        }
        assert!(faults > 100, "{faults} faults in 200 scenarios");
        assert_eq!(replicas.len(), 3, "1, 2 and 3 replicas all occur");
    }

    #[test]
    fn variations_of_a_bundled_scenario_are_valid() {
        let text = include_str!("../scenarios/lag-monitor.toml");
        let vary = Vary {
            traffic_up_to: Some(100),
            faults_up_to: Some(3),
            replica_workers_up_to: Some(8),
            seed: true,
        };
        let mut runner = TestRunner::new(Config::default());
        let strategy = variations("lag-monitor.toml", text, vary);
        for _ in 0..100 {
            let g = strategy.new_tree(&mut runner).unwrap().current();
            assert!(g.sets.iter().any(|s| s.starts_with("traffic.profile=")));
            assert!(
                g.command("lag-monitor.toml", 1)
                    .starts_with("lagsim run lag-monitor.toml --seed 1 --set 'traffic")
            );
        }
    }
}
