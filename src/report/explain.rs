//! Narration for teaching: one variant's run told in plain sentences, in simulated-time order,
//! and an ASCII timeline sized to a terminal, for projecting in a classroom.
//!
//! It reads only finished results (the variant's metrics and its recorded [`Timeline`]); every
//! number in a sentence is one the model computed. The lesson at the end is chosen by what the
//! run did (did it oversell, did it read a copy, did sagas leak), never written per scenario.

use std::fmt::Write;

use crate::model::metrics::Metrics;
use crate::model::timeline::{ReadFrom, Timeline};

/// One variant's story.
#[derive(Clone, Debug)]
pub struct Story {
    pub variant: String,
    pub sentences: Vec<String>,
    /// The ASCII timeline (several lines), or empty.
    pub timeline: String,
}

/// What a story is told from.
pub struct Run<'a> {
    pub variant: &'a str,
    /// The variant's checkout strategy and where its pages read (as the JSON names them).
    pub checkout: &'a str,
    pub page: &'a str,
    pub metrics: &'a Metrics,
    pub timeline: &'a Timeline,
}

fn secs(us: u64) -> String {
    format!("{:.1} s", us as f64 / 1e6)
}

/// A duration for a sentence: milliseconds below a second.
fn span(us: u64) -> String {
    if us < 10_000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else if us < 1_000_000 {
        format!("{:.0} ms", us as f64 / 1e3)
    } else {
        format!("{:.1} s", us as f64 / 1e6)
    }
}

/// Thousands separated by commas, for counts read aloud.
fn count(n: impl Into<i128>) -> String {
    let n = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn rate(r: f64) -> String {
    if r >= 10.0 || r == r.trunc() {
        format!("{}/s", count(r.round() as i64))
    } else {
        format!("{r:.1}/s")
    }
}

impl Timeline {
    fn node_name(&self, from: ReadFrom) -> String {
        match from {
            ReadFrom::Primary => "the primary".to_string(),
            ReadFrom::Replica(i) => self.replicas[i].clone(),
            ReadFrom::Cache => "the cache".to_string(),
            ReadFrom::Nothing => "no read".to_string(),
        }
    }

    /// The product the story follows: the first to sell out on the primary, else the one
    /// oversold first, else the first.
    fn focus(&self) -> usize {
        super::first_sold_out(self)
            .or_else(|| self.oversold.first().map(|o| o.product))
            .unwrap_or(0)
    }

    /// The first sample at which some replica's true lag reached `at_least_us`: (time, replica).
    fn lag_reached(&self, at_least_us: u64) -> Option<(u64, usize)> {
        (0..self.t_us.len()).find_map(|k| {
            (0..self.replicas.len())
                .find(|&r| self.replica_lag_us[r][k] >= at_least_us)
                .map(|r| (self.t_us[k], r))
        })
    }

    /// The largest true lag of any replica: (lag, time, replica).
    fn peak_lag(&self) -> Option<(u64, u64, usize)> {
        let mut best: Option<(u64, u64, usize)> = None;
        for (r, lags) in self.replica_lag_us.iter().enumerate() {
            for (k, &lag) in lags.iter().enumerate() {
                if lag > 0 && best.is_none_or(|(b, _, _)| lag > b) {
                    best = Some((lag, self.t_us[k], r));
                }
            }
        }
        best
    }

    /// The spike: where the traffic profile climbs the most, as (start, end of climb, rate
    /// before, peak rate); `None` for flat traffic.
    fn spike(&self) -> Option<(u64, u64, f64, f64)> {
        let pts = &self.traffic;
        let peak = pts.iter().map(|p| p.1).fold(0.0_f64, f64::max);
        let (k, _) = pts
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[1].1 > w[0].1)
            .max_by(|(_, a), (_, b)| (a[1].1 - a[0].1).total_cmp(&(b[1].1 - b[0].1)))?;
        let before = pts[k].1;
        // The climb ends where the peak is first reached.
        let top = pts[k..].iter().find(|p| p.1 >= peak)?.0;
        (peak >= 2.0 * before.max(f64::MIN_POSITIVE)).then_some((pts[k].0, top, before, peak))
    }
}

/// Sentences, each at the simulated time (µs) it tells of.
type Sentences = Vec<(u64, String)>;

/// Tells one variant's run.
pub fn explain(run: &Run<'_>, width: usize) -> Story {
    let t = run.timeline;
    let mut s = Sentences::new();
    traffic(t, &mut s);
    lag(t, &mut s);
    first_ryw_violation(t, &mut s);
    first_stale_read(t, &mut s);
    sell_out(t, t.focus(), &mut s);
    first_oversold_order(t, &mut s);
    // Sentences in time order; the order they were made in breaks ties.
    s.sort_by_key(|(when, _)| *when);
    let mut sentences: Vec<String> = s.into_iter().map(|(_, line)| line).collect();
    sentences.push(totals(run.metrics));
    sentences.push(lesson(run));
    Story {
        variant: run.variant.to_string(),
        sentences,
        timeline: ascii_timeline(t, width),
    }
}

/// The shoppers' arrivals (the spike, if there is one), and every fault.
fn traffic(t: &Timeline, s: &mut Sentences) {
    if let Some(&(_, first)) = t
        .traffic
        .first()
        .filter(|_| t.traffic.iter().any(|p| p.1 > 0.0))
    {
        match t.spike() {
            Some((start, top, before, peak)) => s.push((
                start,
                format!(
                    "At {} the spike starts: shoppers arrive at {} and by {} at {} (until the \
                     traffic stops at {}).",
                    secs(start),
                    rate(before),
                    secs(top),
                    rate(peak),
                    secs(t.traffic_end_us)
                ),
            )),
            None => s.push((
                0,
                format!(
                    "Shoppers arrive at about {} until {}.",
                    rate(first),
                    secs(t.traffic_end_us)
                ),
            )),
        }
    }
    for f in &t.faults {
        s.push((
            f.start_us,
            format!(
                "At {} a fault starts: {} (until {}).",
                secs(f.start_us),
                f.label,
                secs(f.end_us)
            ),
        ));
    }
}

/// When the lag first reached each of a few thresholds (and the monitor's), its peak, and the
/// monitor's first alerts.
fn lag(t: &Timeline, s: &mut Sentences) {
    if let Some((peak, at, r)) = t.peak_lag() {
        let mut thresholds = vec![100_000, 1_000_000, 5_000_000];
        if let Some(alert) = t.lag_threshold_us {
            thresholds.push(alert);
        }
        thresholds.sort_unstable();
        thresholds.dedup();
        for th in thresholds.into_iter().filter(|&th| th <= peak) {
            if let Some((when, r)) = t.lag_reached(th) {
                s.push((
                    when,
                    format!(
                        "By {} {} is {} or more behind the primary{}.",
                        secs(when),
                        t.replicas[r],
                        span(th),
                        if Some(th) == t.lag_threshold_us {
                            " (the lag monitor's threshold)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        s.push((
            at,
            format!(
                "Around {} replication lag peaks: {} is {} behind.",
                secs(at),
                t.replicas[r],
                span(peak)
            ),
        ));
    }
    for &(when, raised) in t.alerts.iter().take(4) {
        s.push((
            when,
            format!(
                "At {} the lag monitor {} its alert.",
                secs(when),
                if raised { "raises" } else { "clears" }
            ),
        ));
    }
}

/// The first profile read that missed its user's own write, to the sample.
fn first_ryw_violation(t: &Timeline, s: &mut Sentences) {
    if let Some(k) = t.ryw_violations.iter().position(|&v| v > 0) {
        let from = if k == 0 { 0 } else { t.t_us[k - 1] };
        s.push((
            t.t_us[k],
            format!(
                "Between {} and {} a profile read first missed its user's own write: the user \
                 read a replica that had not applied it yet.",
                secs(from),
                secs(t.t_us[k])
            ),
        ));
    }
}

fn first_stale_read(t: &Timeline, s: &mut Sentences) {
    if let Some(r) = t.first_stale_read {
        s.push((
            r.t_us,
            format!(
                "At {} the first stale read: a {} read {} units of {} from {}, while the primary \
                 had {} ({} stale).",
                secs(r.t_us),
                if r.checkout {
                    "checkout"
                } else {
                    "product page"
                },
                count(r.shown),
                t.products[r.product],
                t.node_name(r.served_by),
                count(r.truth),
                span(r.age_us)
            ),
        ));
    }
}

/// Product `p`'s sell-out on the primary, and when every copy showed it: the window of
/// wrongness.
fn sell_out(t: &Timeline, p: usize, s: &mut Sentences) {
    let Some(sold) = t.sold_out_us.get(p).copied().flatten() else {
        return;
    };
    let product = t.products.get(p).map_or("", String::as_str);
    s.push((
        sold,
        format!("At {} {product} sells out on the primary.", secs(sold)),
    ));
    let mut latest: Option<(u64, String)> = None;
    let mut never = Vec::new();
    let copies = t
        .replica_sold_out_us
        .iter()
        .map(|r| r[p])
        .zip(t.replicas.iter().cloned())
        .chain(std::iter::once((
            t.cache_sold_out_us[p],
            "the cache".to_string(),
        )));
    for (when, who) in copies {
        match when {
            Some(w) => {
                let w = w.max(sold);
                if latest.as_ref().is_none_or(|(l, _)| w > *l) {
                    latest = Some((w, who.clone()));
                }
                if w > sold {
                    s.push((
                        w,
                        format!(
                            "At {} {who} shows {product} sold out, {} after the primary.",
                            secs(w),
                            span(w - sold)
                        ),
                    ));
                }
            }
            // A cache that never served the product after its sell-out says nothing.
            None if who != "the cache" => never.push(who),
            None => {}
        }
    }
    if let Some((w, who)) = latest.filter(|(w, _)| *w > sold) {
        s.push((
            w,
            format!(
                "The window of wrongness: for {} after the sell-out some copy still showed \
                 {product} in stock ({who} was last).",
                span(w - sold)
            ),
        ));
    }
    if !never.is_empty() {
        s.push((
            t.end_us,
            format!(
                "By the end of the run {} never showed {product} sold out.",
                never.join(" and ")
            ),
        ));
    }
}

fn first_oversold_order(t: &Timeline, s: &mut Sentences) {
    let Some(o) = t.oversold.first() else {
        return;
    };
    let read = match (o.read_from, o.stock_read) {
        (ReadFrom::Nothing, _) => "it read no stock before writing".to_string(),
        (from, Some(stock)) => format!(
            "its stock check read {} units on {}{}",
            count(stock),
            t.node_name(from),
            o.replica_lag_us
                .map(|l| format!(", which was {} behind", span(l)))
                .unwrap_or_default()
        ),
        (from, None) => format!("its stock check read {}", t.node_name(from)),
    };
    s.push((
        o.t_us,
        format!(
            "At {} the first oversold order: shopper {} bought {} unit{} of {} that no longer \
             existed; {read}.",
            secs(o.t_us),
            count(o.shopper),
            o.units,
            if o.units == 1 { "" } else { "s" },
            t.products[o.product]
        ),
    ));
}

fn totals(m: &Metrics) -> String {
    let mut parts = Vec::new();
    if m.shoppers > 0 {
        parts.push(format!(
            "{} shoppers, {} checkouts, {} orders confirmed, {} failed; {} units oversold; \
             checkout p99 {:.0} ms",
            count(m.shoppers),
            count(m.checkouts),
            count(m.orders_confirmed),
            count(m.orders_failed),
            count(m.oversold_units),
            m.checkout_latency_ms_p99
        ));
    }
    if m.profile_reads > 0 {
        parts.push(format!(
            "{} profile reads, {} of them on the primary",
            count(m.profile_reads),
            count(libm::round(m.profile_reads as f64 * m.primary_read_share) as i64)
        ));
    }
    let mut line = format!("In all: {}", parts.join("; "));
    if m.stale_reads > 0 {
        let _ = write!(
            line,
            "; {} product reads from replicas and the cache were stale",
            count(m.stale_reads)
        );
    }
    if m.profile_reads > 0 {
        let _ = write!(
            line,
            "; {} profile reads missed the user's own write, {} went back in time (monotonic \
             reads)",
            count(m.ryw_violations),
            count(m.monotonic_read_violations)
        );
    }
    if let Some(sg) = &m.saga {
        let _ = write!(
            line,
            "; {} sagas stuck, {} units leaked, {} customers charged without an order",
            count(sg.sagas_stuck),
            count(sg.leaked_units),
            count(sg.charged_without_order)
        );
    }
    line.push('.');
    line
}

/// The lesson, chosen by what the run did.
fn lesson(run: &Run<'_>) -> String {
    let m = run.metrics;
    let strong = matches!(
        run.checkout,
        "pessimistic-lock" | "optimistic" | "conditional-decrement"
    );
    if let Some(sg) = &m.saga {
        return if sg.sagas_stuck > 0 || sg.double_charges > 0 {
            format!(
                "Lesson: without compensations that are retried until they succeed and steps that \
                 are safe to repeat, a failed saga leaves its effects behind ({} stuck, {} double \
                 charges).",
                count(sg.sagas_stuck),
                count(sg.double_charges)
            )
        } else if sg.lock_waits > 0 {
            format!(
                "Lesson: two-phase commit is atomic, but {} prepares waited for a row lock held \
                 until the slowest participant voted: atomicity is paid in waiting.",
                count(sg.lock_waits)
            )
        } else {
            "Lesson: retried, idempotent compensations leave nothing behind; the inconsistency \
             window is bounded and measured."
                .to_string()
        };
    }
    if m.ryw_violations > 0 {
        return "Lesson: a user who writes and then reads a replica may not see their own write; \
                route their reads to the primary for a while, or to a replica known to have it."
            .to_string();
    }
    if m.profile_reads > 0 && m.checkouts == 0 {
        return format!(
            "Lesson: every user saw their own write, at the price of sending {:.1}% of profile \
             reads to the primary.",
            m.primary_read_share * 100.0
        );
    }
    if m.oversold_units > 0 {
        if run.checkout == "primary-read" {
            return "Lesson: reading the stock on the primary is not enough: between the read and \
                    the write other checkouts sold the same units. The decision must be atomic \
                    (a lock, a version check or a conditional decrement)."
                .to_string();
        }
        return "Lesson: the checkout trusted a copy of the stock that was behind the primary. A \
                stock check on a stale copy is a guess about the past: decide on the primary, \
                atomically (a row lock, a version check or a conditional decrement)."
            .to_string();
    }
    if strong {
        return format!(
            "Lesson: `{}` decides on the primary, atomically: pages may show stale stock, but no \
             unit was sold twice. Its price here: {} failed orders and a checkout p99 of {:.0} ms.",
            run.checkout,
            count(m.orders_failed),
            m.checkout_latency_ms_p99
        );
    }
    "Lesson: nothing was oversold in this run; try more load or more lag before trusting it."
        .to_string()
}

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The ASCII timeline: a sparkline per series over the run, event marks, and a time axis, in
/// `width` columns (at least 40).
pub fn ascii_timeline(t: &Timeline, width: usize) -> String {
    let width = width.max(40);
    let g = Grid::new(t, width);
    let mut out = String::new();
    g.series(&mut out);
    g.row(&mut out, "events", &g.marks(), "");
    g.row(&mut out, "time", &g.axis(), "");
    legend(&mut out, width);
    out
}

/// The columns of an ASCII timeline: a label, the run's time from 0 to `end` in `cols`
/// columns, and a note.
struct Grid<'t> {
    t: &'t Timeline,
    end: u64,
    label: usize,
    note: usize,
    cols: usize,
}

impl<'t> Grid<'t> {
    fn new(t: &'t Timeline, width: usize) -> Self {
        let (label, note) = (16, 12);
        Grid {
            t,
            end: t.end_us.max(1),
            label,
            note,
            cols: width - label - 1 - note,
        }
    }

    fn col_of(&self, us: u64) -> usize {
        ((us as u128 * self.cols as u128 / self.end as u128) as usize).min(self.cols - 1)
    }

    /// A sparkline of one value per sample: per column, the largest value of the samples that
    /// fall in it, scaled to the largest of all (returned too).
    fn spark(&self, values: &[u64]) -> (String, u64) {
        let mut per = vec![0u64; self.cols];
        for (k, &v) in values.iter().enumerate() {
            let c = self.col_of(self.t.t_us[k]);
            per[c] = per[c].max(v);
        }
        let top = per.iter().copied().max().unwrap_or(0);
        let line = per
            .iter()
            .map(|&v| {
                if top == 0 || v == 0 {
                    BARS[0]
                } else {
                    BARS[(1 + (v * 7 / top) as usize).min(8)]
                }
            })
            .collect();
        (line, top)
    }

    fn row(&self, out: &mut String, name: &str, line: &str, note_text: &str) {
        let note = if note_text.is_empty() {
            String::new()
        } else {
            format!(" {:.w$}", note_text, w = self.note - 1)
        };
        let label = self.label;
        let _ = writeln!(out, "{name:<label$.label$} {line}{note}");
    }

    /// The sparklines: arrivals and read-your-writes violations when there are any, each
    /// replica's lag (the first four), the focus product's stock on the primary.
    fn series(&self, out: &mut String) {
        let t = self.t;
        let n = t.t_us.len();
        let (line, top) = self.spark(&increments(&t.shoppers, n));
        if top > 0 {
            self.row(out, "shoppers", &line, "");
        }
        let (line, top) = self.spark(&increments(&t.ryw_violations, n));
        if top > 0 {
            let max = format!("max {}", count(top as i64));
            self.row(out, "RYW violations", &line, &max);
        }
        for (r, name) in t.replicas.iter().enumerate().take(4) {
            let (line, top) = self.spark(&t.replica_lag_us[r]);
            let max = format!("max {}", span(top));
            self.row(out, &format!("lag {name}"), &line, &max);
        }
        let p = t.focus();
        if let Some(stock) = t.primary_stock.get(p).filter(|s| s.iter().any(|&v| v != 0)) {
            let clipped: Vec<u64> = stock.iter().map(|&s| s.max(0) as u64).collect();
            let (line, top) = self.spark(&clipped);
            let max = format!("max {}", count(top as i64));
            self.row(out, &format!("stock {}", t.products[p]), &line, &max);
        }
    }

    /// The events row: later marks in the same column win, in this order of importance.
    fn marks(&self) -> String {
        let t = self.t;
        let mut marks = vec![' '; self.cols];
        if let Some((start, ..)) = t.spike() {
            marks[self.col_of(start)] = 'S';
        }
        for &(when, raised) in &t.alerts {
            if raised {
                marks[self.col_of(when)] = 'A';
            }
        }
        let p = t.focus();
        let sold = t.sold_out_us.get(p).copied().flatten();
        let last_copy = t
            .replica_sold_out_us
            .iter()
            .filter_map(|r| r[p])
            .chain(t.cache_sold_out_us[p])
            .max();
        if let (Some(sold), Some(last)) = (sold, last_copy)
            && last > sold
        {
            marks[self.col_of(last)] = 'R';
        }
        if let Some(o) = t.oversold.first() {
            marks[self.col_of(o.t_us)] = '!';
        }
        if let Some(sold) = sold {
            marks[self.col_of(sold)] = 'X';
        }
        marks.iter().collect()
    }

    /// The time axis: start, middle and end.
    fn axis(&self) -> String {
        let cols = self.cols;
        let mut axis = vec![' '; cols];
        let mut stamp = |at: usize, text: &str| {
            let at = at.min(cols.saturating_sub(text.len()));
            for (i, c) in text.chars().enumerate() {
                if at + i < cols {
                    axis[at + i] = c;
                }
            }
        };
        stamp(0, "0 s");
        let mid = secs(self.end / 2);
        stamp(cols / 2 - mid.len() / 2, &mid);
        stamp(cols, &secs(self.end));
        axis.iter().collect()
    }
}

/// The increase at each of the first `n` samples of a running count.
fn increments(running: &[u64], n: usize) -> Vec<u64> {
    (0..n)
        .map(|k| running[k] - if k == 0 { 0 } else { running[k - 1] })
        .collect()
}

/// The marks' legend, wrapped at `width`.
fn legend(out: &mut String, width: usize) {
    let legend = [
        "S spike starts",
        "A lag alert",
        "X sold out on the primary",
        "! first oversold order",
        "R the last copy shows the sell-out",
    ];
    let mut line = String::new();
    for item in legend {
        if !line.is_empty() && line.chars().count() + 2 + item.chars().count() > width {
            let _ = writeln!(out, "{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(item);
    }
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_durations_read_aloud() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-1000), "-1,000");
        assert_eq!(count(12), "12");
        assert_eq!(span(250_000), "250 ms");
        assert_eq!(span(400), "0.4 ms");
        assert_eq!(span(14_200_000), "14.2 s");
        assert_eq!(rate(1500.0), "1,500/s");
        assert_eq!(rate(2.5), "2.5/s");
    }
}
