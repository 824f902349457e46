//! lagsim's integration tests, one binary. The module list is the table of contents.

mod support;

/// Background reads as events and as arithmetic give identical figures.
mod background;
/// The Black Friday replay: strong strategies never oversell, replica reads do, lag emerges.
mod black_friday;
/// The HTML report in headless Chromium (ignored by default; `.ci/run` runs it).
mod browser;
/// Cache invalidation: TTLs, invalidate-on-write, tag flushes, the listing badge.
mod cache_invalidation;
/// Charts: drawn for every bundled scenario, byte-identical for a seed, notes for odd data.
mod charts;
/// Histories and their checkers: session guarantees, staleness, invariants, linearizability.
mod checkers;
/// The command line: help, validate, JSON keys, exit codes.
mod cli;
/// After faults heal and traffic stops, replicas and caches converge, within a bound if asked.
mod convergence;
/// Same seed, same bytes; different seed, different run.
mod determinism;
/// Docs that cannot drift: every pasted output is what its command prints today.
mod docs;
/// Expectations in scenario files and `lagsim test`: per-seed verdicts, reproduce commands,
/// shrunk counterexamples.
mod expectations;
/// Teaching narration: the run's own numbers, in time order.
mod explain;
/// Fair comparisons: common random numbers, the same work for every checkout, bands over seeds.
mod fairness;
/// Partitions, pauses, slowdowns and cache invalidation change outcomes as documented.
mod faults;
/// Malformed input never panics: arbitrary and mutated scenarios and histories.
mod fuzz;
/// Every bundled variant's events, trace hash, metrics and history, pinned (tests/golden/).
mod golden;
/// The lag monitor and lag-aware routing: late, blind to cut links, better than nothing.
mod lag_monitor;
/// The checkers judged online, as the run goes, equal the batch checkers on its whole history.
mod online_checks;
/// CP vs AP: async, sync and semi-sync replication under a partition, phase by phase.
mod partition;
/// Generated seeds and loads: no oversell under strong strategies, units conserved.
mod properties;
/// The stations against queueing theory: M/M/c (Erlang C), and the shared-slot replica against
/// a reference queue.
mod queues;
/// Read-your-writes: replica reads, sticky primary windows, session tokens.
mod read_your_writes;
/// The replica is an M/M/1 queue: mean lag 1/(μ−λ), exponential tail.
mod replica_mm1;
/// Checkout as a saga: what each compensation policy leaves behind.
mod sagas;
/// Bad scenario files are rejected with located, documented errors and exit code 2.
mod scenario_errors;
/// Sweeps: grids × seeds in parallel, the same bytes for any --jobs, shards that merge exactly.
mod sweep;
/// The class-sized table: fits 100 columns, folds equal rows, `--rows all`, `--transpose`.
mod table;
/// The timeline recorded for charts: it never changes the run, and follows what the model did.
mod timeline;
