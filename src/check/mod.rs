//! Checks of finished runs: named observers of a run's history and results, each with its own
//! verdict. Checks never reach into the model; a history from another system (`lagsim check`) is
//! judged exactly like a simulated one.
//!
//! - [`history`]: the data every checker reads (operations with invocation and completion).
//! - [`convergence`]: replicas and caches match the primary soon enough after quiescence.
//! - [`linearizability`]: every key's operations could have taken effect one at a time, each
//!   within its interval; if not, a small set of operations that cannot be ordered, explained.
//! - [`timeline`]: ASCII timelines of a few operations, for explanations.

pub mod convergence;
pub mod format;
pub mod history;
pub mod linearizability;
pub mod timeline;

use serde::Serialize;

use crate::model::metrics::Metrics;
use crate::scenario::Variant;

/// One check's verdict on one variant's run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub name: &'static str,
    pub ok: bool,
    pub message: String,
}

/// Every check the scenario asks of this variant, in a fixed order.
pub fn checks(variant: &Variant, m: &Metrics) -> Vec<Verdict> {
    convergence::convergence(variant, m).into_iter().collect()
}
