//! Checks of finished runs against what their scenario demands. Each check is a named verdict
//! computed from the run's results alone; checks never reach into the model.

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
    convergence(variant, m).into_iter().collect()
}

/// `[convergence] must_converge_within_s`: after writes stop and the last fault heals, every
/// replica and every cached row must match the primary within the bound.
pub fn convergence(variant: &Variant, m: &Metrics) -> Option<Verdict> {
    let bound_us = variant.config.converge_within_us?;
    let bound_ms = bound_us as f64 / 1e3;
    let ok = m.converged_after_ms <= bound_ms;
    let message = format!(
        "variant `{}` converged {:.3} s after quiescence at {:.3} s (bound {:.3} s){}",
        variant.name,
        m.converged_after_ms / 1e3,
        m.quiescent_at_s,
        bound_ms / 1e3,
        if ok {
            ""
        } else {
            ": replicas or caches stayed behind the primary for too long"
        }
    );
    Some(Verdict {
        name: "convergence",
        ok,
        message,
    })
}
