//! The JSON output document: a stable interface (docs/output-reference.md lists every key).

use serde::Serialize;

use serde::ser::{SerializeMap, Serializer};

use crate::check::CheckEntry;
use crate::model::metrics::Metrics;
use crate::scenario::ReportView;

/// Everything one `lagsim run` produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub lagsim_version: &'static str,
    pub scenario: String,
    pub seed: u64,
    /// The command that reproduces this run exactly.
    pub reproduce: String,
    pub variants: Vec<VariantReport>,
    /// The scenario's `[report]`: what the class-sized table shows (not part of the JSON).
    #[serde(skip)]
    pub view: ReportView,
}

#[derive(Clone, Debug, Serialize)]
pub struct VariantReport {
    pub name: String,
    pub checkout: &'static str,
    pub page: &'static str,
    /// 16 hex digits; equal hashes mean identical traces.
    pub trace_hash: String,
    pub events: u64,
    /// Simulated time of the last event, in seconds.
    pub end_s: f64,
    pub metrics: Metrics,
    /// Every check's verdict, by name, in a fixed order.
    #[serde(serialize_with = "checks_by_name")]
    pub checks: Vec<CheckEntry>,
}

fn checks_by_name<S: Serializer>(checks: &[CheckEntry], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(checks.len()))?;
    for c in checks {
        m.serialize_entry(c.result.name, c)?;
    }
    m.end()
}

impl RunReport {
    /// The report of `variants` of scenario `scenario` run at `seed`, by this lagsim.
    pub fn new(scenario: &str, seed: u64, reproduce: String, variants: Vec<VariantReport>) -> Self {
        Self {
            lagsim_version: env!("CARGO_PKG_VERSION"),
            scenario: scenario.to_string(),
            seed,
            reproduce,
            variants,
            view: ReportView::default(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises")
    }
}
