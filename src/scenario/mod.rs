//! Scenario files: the TOML schema, its validation, and the typed [`Scenario`] the model runs.
//!
//! Owns everything between the text of a scenario file and a validated configuration: parsing,
//! `--set` overrides, per-variant overrides, defaults, cross-field checks and the errors that point
//! at file:line:column. It does no file I/O (the CLI reads the file) and knows nothing of how the
//! model uses the values.
//!
//! The entry point is [`parse_scenario`]; every failure is a [`ScenarioError`] located in the file or
//! in a `--set` string. Users' reference: `docs/scenario-reference.md`.
//!
//! Code map: `read` is a typed reader over toml's spanned document tree (and the limits and units
//! the readers share), `set` parses override paths and edits the tree, `load` is the schema (keys,
//! defaults, ranges, cross-field checks), `error` turns byte spans into line:column, `expect`
//! reads `[[expect]]` (what `lagsim test` expects of the variants) and the staleness bound of a
//! check claim, and `shrink` cuts a failing scenario's document down. `load` uses `expect`, never
//! the other way round.

mod error;
mod estimate;
mod expect;
mod load;
mod read;
mod set;
mod shrink;
#[cfg(test)]
mod tests;
mod topology;
mod types;

pub use error::{ErrorInput, ScenarioError};
pub use estimate::EventFloor;
pub use expect::{FIGURES, SAGA_FIGURES};
pub use load::parse_scenario;
pub use shrink::{ShrinkError, ShrinkTarget, Shrunk, shrink};
pub use types::*;
