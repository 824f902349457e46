//! Running one variant: build the model, run it to completion, and gather what it measured.

use super::metrics::{Metrics, Reports, assemble};
use super::timeline::Timeline;
use super::{Model, Recording, view};
use crate::engine::{Limits, RunError, RunSummary, Sim, SimTime, TraceSink, first_divergence};
use crate::history::History;
use crate::history::stream::OpSink;
use crate::scenario::Variant;

/// The outcome of running one variant.
pub struct VariantRun {
    pub summary: RunSummary,
    pub metrics: Metrics,
    /// What every client saw, if it was asked for ([`Recording::history`]).
    pub history: Option<History>,
    /// The sink the operations were streamed to, once it has seen them all.
    pub sink: Option<Box<dyn OpSink>>,
    /// The sampled timeline, if it was asked for ([`Recording::timeline`]).
    pub timeline: Option<Box<Timeline>>,
    /// Units of stock checkout decrements took on the primary that no shopper was told of,
    /// counted as they happened (a committed decrement whose client had given up, or never got
    /// its reply). Conservation: this plus the units sold is the stock the primary lost.
    pub unconfirmed_units_counted: i64,
}

fn build(
    variant: &Variant,
    seed: u64,
    recording: Recording,
    sink: Option<Box<dyn OpSink>>,
) -> Sim<Model> {
    let limits = Limits {
        horizon: variant.config.horizon,
        max_events: variant.config.max_events,
    };
    let mut model = Model::new(variant, seed, recording);
    if let Some(sink) = sink {
        model.observers.stream_history(variant, seed, sink);
    }
    let initial = model.initial_events();
    let mut sim = Sim::new(model, limits);
    for (t, e) in initial {
        sim.schedule(t, e);
    }
    sim
}

/// How often a run reports its progress: every this many events.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Runs one variant to completion, describing every event to `trace`, recording what
/// `recording` asks for, streaming every client-visible operation to `sink` in history order,
/// and telling `progress` the simulated time reached every [`PROGRESS_EVERY`] events (for a
/// progress bar; it cannot change the run). Neither recording nor streaming changes the run
/// (same trace hash); a whole history grows with it (about 250 bytes per operation at peak, 85
/// MB for a black-friday variant), a stream keeps only what is alive.
pub fn simulate(
    variant: &Variant,
    seed: u64,
    trace: &mut impl TraceSink,
    recording: Recording,
    sink: Option<Box<dyn OpSink>>,
    progress: &mut dyn FnMut(SimTime),
) -> Result<VariantRun, RunError> {
    let mut sim = build(variant, seed, recording, sink);
    let mut events = 0u64;
    while let Some(now) = sim.step(trace)? {
        events += 1;
        if events % PROGRESS_EVERY == 0 {
            progress(now);
        }
    }
    let mut summary = sim.summary();
    let model = sim.world_mut();
    if let Some(last) = model.finish_background(variant.config.horizon)? {
        // The event path's last event would have been a background read's.
        summary.end = summary.end.max(last);
    }
    Ok(model.finish(summary))
}

impl Model {
    /// The arithmetic path's background reads after the last event: all sent, arrived and
    /// ended. Returns the instant of the last (`None` on the event path); past `horizon`, the
    /// event path would have failed, and so does this.
    fn finish_background(&mut self, horizon: SimTime) -> Result<Option<SimTime>, RunError> {
        let Some(lazy) = &mut self.lazy_reads else {
            return Ok(None);
        };
        let replicas = &mut self.nodes.replicas;
        let pending = lazy.in_flight();
        let last = lazy.finish(
            &mut self.workload,
            &mut self.network,
            &self.topology,
            replicas,
        );
        if last > horizon {
            return Err(RunError::HorizonExceeded {
                horizon,
                next_at: last,
                pending: pending.max(1),
            });
        }
        Ok(Some(last))
    }

    /// The run ended with `summary`: its metrics, then what the observers recorded.
    fn finish(&mut self, summary: RunSummary) -> VariantRun {
        let end = summary.end;
        // The samples due by the end: the event path took them before its last event, which
        // may have been a background read's.
        self.observers.before(end, &view!(self));
        let reports = Reports {
            config: &self.config,
            app: &self.nodes.app.stats,
            orchestrator: self.nodes.app.orchestrator(),
            primary: &mut self.nodes.primary,
            replicas: &self.nodes.replicas,
            cache: &self.nodes.cache.stats,
            monitor: self.nodes.monitor.as_ref(),
            services: self.nodes.services.as_mut(),
            messages_lost: self.network.lost,
            observers: &mut self.observers,
            faults_end: self.faults.end(),
        };
        // First the metrics (they close the saga windows still open, which the timeline copies).
        let metrics = assemble(reports, end);
        // Requests still in flight end the history unfinished.
        self.nodes.app.finish(&mut self.out);
        let view = view!(self);
        for o in self.out.observations.drain(..) {
            self.observers.observe(end, &o, &view);
        }
        self.observers.end(end, &view);
        let (history, sink) = match self.observers.recorder.take() {
            Some(r) => r.finish(),
            None => (None, None),
        };
        let timeline = self.observers.timeline.take().map(|mut t| {
            self.fill_timeline(&mut t);
            t
        });
        VariantRun {
            summary,
            metrics,
            history,
            sink,
            timeline,
            unconfirmed_units_counted: self.observers.conservation.unconfirmed_units,
        }
    }

    /// The final distributions the charts draw: the nodes' and observers' own histograms.
    fn fill_timeline(&self, t: &mut Timeline) {
        t.checkout_latency_us = self.nodes.app.stats.checkout_latency_us.clone();
        let stale = &self.observers.staleness.counts;
        t.staleness_us = stale.staleness_us.clone();
        t.fresh_reads =
            (stale.page_reads + stale.checkout_reads) - (stale.page_stale + stale.checkout_stale);
        t.saga_windows_us = match (self.nodes.app.orchestrator(), &self.nodes.services) {
            (Some(_), Some(s)) => Some(s.state.windows_us.clone()),
            _ => None,
        };
    }
}

/// Runs one variant twice in lockstep; `Some` names the first simulated instant at which the two
/// runs differ (which would be a determinism bug).
pub fn check_determinism(
    variant: &Variant,
    seed: u64,
) -> Result<Option<crate::engine::Divergence>, RunError> {
    let recording = Recording::default();
    first_divergence(
        &mut build(variant, seed, recording, None),
        &mut build(variant, seed, recording, None),
    )
}
