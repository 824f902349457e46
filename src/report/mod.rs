//! Turning results into things people and programs read: the comparison table, the JSON
//! document, the JSON-lines trace, the charts, the narration and the HTML report. Reports
//! consume finished results (and trace events as they stream past); they never reach into the
//! model.

mod bands;
pub mod charts;
pub mod explain;
pub mod html;
mod json;
mod table;
mod trace;

pub use bands::{BandReport, SeedRun, VariantBand, render_bands};
pub use json::{RunReport, VariantReport};
pub use table::{Grid, Layout, comparison, render_table, wrap};
pub use trace::JsonlTrace;

use crate::model::timeline::Timeline;

/// The first product to sell out on the primary (the earliest; the first listed on a tie), if
/// one did: the product the narration and the stock chart follow.
fn first_sold_out(t: &Timeline) -> Option<usize> {
    let first = t
        .sold_out_us
        .iter()
        .enumerate()
        .filter_map(|(p, s)| s.map(|s| (s, p)))
        .min();
    first.map(|(_, p)| p)
}
