//! `[convergence] must_converge_within_s`: after writes stop and the last fault heals, every
//! replica and every cached row must match the primary within the bound.

use super::Verdict;
use crate::model::metrics::Metrics;
use crate::scenario::Variant;

/// The verdict, or `None` if the scenario sets no bound.
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
