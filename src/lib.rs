//! lagsim: a deterministic discrete-event simulator of a replicated e-commerce backend.
//!
//! It replays the Black Friday incident (read replicas seconds behind, checkout trusting their
//! stock, a limited product oversold) and compares consistency strategies on the same shoppers.
//! Outcomes emerge from the simulated mechanics; the same scenario and seed give byte-identical
//! results on any machine.
//!
//! # Code map
//! In layers, bottom to top: `engine`, `history`, `scenario`, `strategy`, `model`, `check`, `run`,
//! `sweep`, `report`, `cli`. A module imports only from the layers below it, never from one
//! above.
//! - [`engine`]: simulated time, the event queue, seeded random streams, samplers, streaming
//!   histograms and the run loop. Knows nothing of shops.
//! - [`history`]: what every client saw, as operations with invocation and completion: the type
//!   the model records and the checkers read, lagsim's JSON-lines format and the EDN reader.
//! - [`scenario`]: the TOML schema, validation, defaults and `--set` overrides.
//!   The [`Topology`](scenario::Topology) names the nodes and hands out their ids by role.
//! - [`strategy`]: the checkout strategies (check-then-act from some source, the pessimistic
//!   lock, optimistic versions, the conditional decrement) behind one trait.
//! - [`model`]: the simulated world as nodes on a topology: the app tier (shoppers, profile
//!   sessions, the saga orchestrator), the primary, the replicas, the cache, the saga services
//!   and the lag monitor, each a [`Node`](model::node::Node) writing its effects into an `Out`
//!   buffer; a small router between them, the network, the workload and the fault injector; and
//!   the observers that turn the nodes' observations into metrics, the history and the timeline.
//! - [`check`]: the checkers of a history (linearizability, session guarantees, staleness,
//!   business invariants), convergence from a run's metrics, `[[require]]` and the judgement of
//!   `[[expect]]`.
//! - [`run`]: the one run path: a variant of a scenario at a seed, with what it records and how
//!   it is judged; many runs on J threads, results in input order; the determinism check; the
//!   runs of `lagsim test`; the reproduce line. The only caller of the model's run entry points.
//! - [`sweep`]: variants over a grid of parameters and many seeds, in parallel: means and 95%
//!   confidence intervals, shards and their merge.
//! - [`report`]: the comparison table, the JSON document, the JSON-lines trace, the charts, the
//!   narration and the HTML report.
//! - [`cli`]: the command line (the `lagsim` binary is a thin wrapper over it).
//! - `testing` (feature `proptest`): proptest strategies that generate valid scenarios, for
//!   property tests of your own configurations (it uses `scenario` and `run`).
//!
//! # Example
//! ```
//! use lagsim::run::Job;
//! use lagsim::scenario::parse_scenario;
//!
//! let text = r#"
//!     name = "tiny"
//!     duration_s = 30
//!     [[replicas]]
//!     name = "replica-1"
//!     [traffic]
//!     profile = [{ at_s = 0, shoppers_per_s = 20 }]
//!     [shoppers]
//!     add_to_cart_probability = 0.5
//!     think_time = { dist = "constant", ms = 1000 }
//!     [[products]]
//!     name = "console"
//!     stock = 50
//!     [[variants]]
//!     name = "locked"
//!     checkout = "pessimistic-lock"
//! "#;
//! let scenario = parse_scenario("tiny.toml", text, &[]).expect("a valid scenario");
//! let run = Job::new(&scenario, &scenario.variants[0], scenario.seed).run().expect("it drains");
//! assert_eq!(run.metrics.units_sold, 50); // it sold out ...
//! assert_eq!(run.metrics.oversold_units, 0); // ... and the lock never oversold.
//! ```

pub mod check;
pub mod cli;
pub mod engine;
pub mod history;
pub mod model;
pub mod report;
pub mod run;
pub mod scenario;
pub mod strategy;
pub mod sweep;
#[cfg(feature = "proptest")]
pub mod testing;
