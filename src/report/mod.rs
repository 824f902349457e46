//! Turning results into things people and programs read: the comparison table, the JSON
//! document, the JSON-lines trace and the charts. Reports consume finished results (and trace events as they
//! stream past); they never reach into the model.

pub mod charts;
mod json;
mod table;
mod trace;

pub use json::{RunReport, VariantReport};
pub use table::render_table;
pub use trace::JsonlTrace;
