//! The discrete-event engine: simulated time, the event queue, seeded random streams, duration
//! distributions, streaming statistics and the run loop.
//!
//! It knows nothing of shops, databases or replicas: a [`World`] supplies the events and the rule
//! for handling them. It does no I/O.

pub mod dist;
pub mod hash;
pub mod histogram;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod slab;
pub mod time;

pub use dist::Dist;
pub use hash::{TraceHasher, TraceSink, Traced, hash_hex};
pub use histogram::Histogram;
pub use queue::EventQueue;
pub use rng::{Counter, Keyed, SimRng, StreamId};
pub use sim::{
    Divergence, Effects, Limits, NoTrace, RunError, RunSummary, Sim, World, first_divergence,
};
pub use slab::{Key, Slab};
pub use time::{MICROS_PER_MS, MICROS_PER_S, SimTime};
