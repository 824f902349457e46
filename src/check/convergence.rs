//! `[convergence] must_converge_within_s`: after writes stop and the last fault heals, every
//! replica and every cached row must match the primary within the bound.

use super::{CheckResult, Figure, Status};
use crate::model::metrics::Metrics;
use crate::scenario::Variant;

/// The verdict, or `None` if the scenario sets no bound.
pub fn convergence(variant: &Variant, m: &Metrics) -> Option<CheckResult> {
    let bound_us = variant.config.converge_within_us?;
    let bound_ms = bound_us as f64 / 1e3;
    let ok = m.converged_after_ms <= bound_ms;
    let summary = format!(
        "converged {:.3} s after quiescence at {:.3} s (bound {:.3} s){}",
        m.converged_after_ms / 1e3,
        m.quiescent_at_s,
        bound_ms / 1e3,
        if ok {
            ""
        } else {
            ": replicas or caches stayed behind the primary for too long"
        }
    );
    Some(CheckResult {
        name: "convergence",
        status: if ok { Status::Pass } else { Status::Fail },
        summary,
        figures: vec![
            ("converged_after_ms", Figure::Ms(m.converged_after_ms)),
            ("bound_ms", Figure::Ms(bound_ms)),
        ],
        findings: Vec::new(),
        failed_kinds: Default::default(),
        unknown_kinds: Default::default(),
    })
}
