//! Turning results into things people and programs read: the comparison table, the JSON
//! document, the JSON-lines trace, the charts, the narration and the HTML report. Reports
//! consume finished results (and trace events as they stream past); they never reach into the
//! model.

pub mod charts;
pub mod explain;
pub mod html;
mod json;
mod table;
mod trace;

pub use json::{RunReport, VariantReport};
pub use table::{Grid, comparison, render_table};
pub use trace::JsonlTrace;
