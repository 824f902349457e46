//! The charts themselves: one function per chart, generic over the drawing backend (SVG or PNG).
//! Odd data (no variant, no sample, an all-zero series) gives an empty chart with a note, never a
//! panic.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartSet, ChartVariant, DESC_PX, FAMILY, LABEL_PX, Res, err, extent, variant_colour};
use crate::engine::Histogram;
use crate::model::timeline::{FaultSpan, Timeline};

/// A variant's curve: its points and its legend label.
type Curve<'a> = (&'a ChartVariant<'a>, Vec<(f64, f64)>, String);

/// One panel of chart 3: title, y-axis description, the figure and its decimals.
struct Figure {
    title: &'static str,
    unit: &'static str,
    value: fn(&ChartVariant) -> f64,
    decimals: usize,
}

const TITLE_PX: u32 = 20;
const LEGEND_PX: u32 = 13;

/// Replicas and the cache in the per-variant charts (nodes, not variants: their own colours).
const REPLICA_COLOURS: [RGBColor; 4] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
];
const CACHE_COLOUR: RGBColor = RGBColor(0x80, 0x80, 0x80);
const MARK_COLOUR: RGBColor = RGBColor(0xc0, 0x00, 0x00);
const SPIKE_FILL: RGBColor = RGBColor(0xff, 0xa5, 0x00);
const FAULT_FILL: RGBColor = RGBColor(0x70, 0x70, 0x70);
const ALERT_FILL: RGBColor = RGBColor(0xe0, 0x30, 0x30);

/// The grid, tick labels and axis descriptions of a chart with plain axes.
fn mesh<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
) -> Res
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FAMILY, LABEL_PX))
        .axis_desc_style((FAMILY, DESC_PX))
        .draw()
        .map_err(err)
}

/// The chart area of every chart with a title and plain axes: its margin and label areas.
fn framed<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, (FAMILY, TITLE_PX))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72);
    builder
}

/// A chart over seconds (or any f64) on both axes.
type Plain<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Time spans (s) shaded from `y0` to `y1` in `fill` at `alpha`, with one legend entry.
fn shade<DB: DrawingBackend>(
    chart: &mut Plain<DB>,
    spans: &[(f64, f64)],
    (y0, y1): (f64, f64),
    (fill, alpha, legend_alpha): (RGBColor, f64, f64),
    label: String,
) -> Res {
    if spans.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(
            spans
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, y0), (b, y1)], fill.mix(alpha).filled())),
        )
        .map_err(err)?
        .label(label)
        .legend(legend_box(fill, legend_alpha));
    Ok(())
}

/// A dashed red line from `from` to `to` (a sell-out, a threshold), with its legend entry.
fn mark_line<DB: DrawingBackend>(
    chart: &mut Plain<DB>,
    from: (f64, f64),
    to: (f64, f64),
    label: String,
) -> Res {
    chart
        .draw_series(DashedLineSeries::new(
            [from, to],
            8,
            5,
            MARK_COLOUR.stroke_width(2),
        ))
        .map_err(err)?
        .label(label)
        .legend(legend_line(MARK_COLOUR, 2));
    Ok(())
}

/// One line per variant, in its colour, with its legend label.
fn variant_lines<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    curves: Vec<Curve>,
) -> Res
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (v, points, label) in curves {
        let c = variant_colour(v.colour_index);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(legend_line(c, 2));
    }
    Ok(())
}

/// The legend box of every chart, at `at`.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Res {
    chart
        .configure_series_labels()
        .position(at)
        .label_font((FAMILY, LEGEND_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}

fn replica_colour(i: usize) -> RGBColor {
    REPLICA_COLOURS[i % REPLICA_COLOURS.len()]
}

/// A drawable range: `lo..hi` padded by 5% of its width above (and below unless `lo` is 0), or a
/// unit range around `lo` when the data has no width.
fn padded(lo: f64, hi: f64) -> Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    if hi <= lo {
        return if lo == 0.0 {
            0.0..1.0
        } else {
            lo - 1.0..lo + 1.0
        };
    }
    let pad = (hi - lo) * 0.05;
    let below = if lo == 0.0 { 0.0 } else { pad };
    lo - below..hi + pad
}

fn caption(set: &ChartSet, what: &str) -> String {
    format!("{what} — {}, seed {}", set.scenario, set.seed)
}

/// A small square in the variant's colour at the top left: per-variant charts name their variant
/// in the title and show its colour here.
fn swatch<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, v: &ChartVariant) -> Res {
    root.draw(&Rectangle::new(
        [(8, 8), (24, 24)],
        variant_colour(v.colour_index).filled(),
    ))
    .map_err(err)
}

/// A grey note in the middle of `area`.
fn note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> Res {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FAMILY, 17).into_font())
        .color(&RGBColor(0x60, 0x60, 0x60))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))
    .map_err(err)
}

/// Axes with their descriptions and no data, and a note saying why.
fn empty<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    why: &str,
) -> Res {
    let mut chart = framed(root, title)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(err)?;
    mesh(&mut chart, x_desc, y_desc)?;
    note(root, why)
}

fn legend_line(colour: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(width))
}

fn legend_box(colour: RGBColor, alpha: f64) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], colour.mix(alpha).filled())
}

/// The traffic profile's rate at `t_us` (shoppers/s): linear between breakpoints, flat after the
/// last, 0 once traffic has ended.
fn traffic_rate(t: &Timeline, t_us: u64) -> f64 {
    if t_us >= t.traffic_end_us {
        return 0.0;
    }
    let i = t.traffic.partition_point(|p| p.0 <= t_us);
    match (i.checked_sub(1).map(|j| t.traffic[j]), t.traffic.get(i)) {
        (Some((t0, r0)), Some(&(t1, r1))) => r0 + (r1 - r0) * (t_us - t0) as f64 / (t1 - t0) as f64,
        (Some((_, r0)), None) => r0,
        (None, Some(&(_, r1))) => r1,
        (None, None) => 0.0,
    }
}

/// The spike: the sample intervals where the traffic profile's rate is above half-way between its
/// lowest and highest rate, when the highest is at least 1.5 times the lowest (else no spike).
fn spike_spans(t: &Timeline) -> Vec<(f64, f64)> {
    let rates = t.traffic.iter().map(|p| p.1);
    let (lo, hi) = rates.fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
        (lo.min(r), hi.max(r))
    });
    if !(hi > 0.0 && hi >= 1.5 * lo) {
        return Vec::new();
    }
    let threshold = (lo + hi) / 2.0;
    let end = t.t_us.last().map_or(0.0, |&last| secs(last));
    on_spans(
        t.t_us.iter().map(|&x| (x, traffic_rate(t, x) > threshold)),
        end,
    )
}

/// The intervals (s) during which a condition held, from its value at successive instants (µs):
/// each opens where it turns true and closes where it turns false, or at `end_s`.
fn on_spans(changes: impl IntoIterator<Item = (u64, bool)>, end_s: f64) -> Vec<(f64, f64)> {
    let mut spans = Vec::new();
    let mut open: Option<u64> = None;
    for (at, on) in changes {
        match (open, on) {
            (None, true) => open = Some(at),
            (Some(start), false) => {
                spans.push((secs(start), secs(at)));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        spans.push((secs(start), end_s));
    }
    spans
}

/// The faults of every variant, each once (variants may set their own).
fn all_faults<'a>(set: &'a ChartSet, only_cuts: bool) -> Vec<&'a FaultSpan> {
    let mut out: Vec<&FaultSpan> = Vec::new();
    for v in &set.variants {
        for f in &v.timeline.faults {
            if (!only_cuts || f.cuts_links) && !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// The product chart 1 follows: the first to sell out on the primary, else the first product.
fn focus_product(t: &Timeline) -> Option<usize> {
    crate::report::first_sold_out(t).or((!t.products.is_empty()).then_some(0))
}

/// Chart 1: the true stock on the primary against what each replica and the cache held.
pub fn beliefs<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    set: &ChartSet,
    v: &ChartVariant,
) -> Res {
    let t = v.timeline;
    let x_desc = "simulated time (s)";
    let y_desc = "stock (units)";
    let Some(p) = focus_product(t) else {
        let title = caption(set, &format!("What each node believed — {}", v.name));
        empty(root, &title, x_desc, y_desc, "no products in this scenario")?;
        return swatch(root, v);
    };
    let title = caption(
        set,
        &format!(
            "What each node believed: {} stock — {}",
            t.products[p], v.name
        ),
    );
    if t.is_empty() {
        empty(root, &title, x_desc, y_desc, "no samples were recorded")?;
        return swatch(root, v);
    }
    let xs: Vec<f64> = t.t_us.iter().map(|&x| secs(x)).collect();
    let x_max = secs(t.end_us).max(1e-3);
    // Each oversold order of the product, at the stock its read showed.
    let marks: Vec<(f64, f64)> = t
        .oversold
        .iter()
        .filter(|o| o.product == p)
        .filter_map(|o| o.stock_read.map(|s| (secs(o.t_us), s as f64)))
        .collect();
    let y_range = stock_range(t, p, &marks);
    let (y0, y1) = (y_range.start, y_range.end);
    let mut chart = framed(root, &title)
        .build_cartesian_2d(0.0..x_max, y_range)
        .map_err(err)?;
    mesh(&mut chart, x_desc, y_desc)?;
    let spike = (SPIKE_FILL, 0.12, 0.3);
    shade(
        &mut chart,
        &spike_spans(t),
        (y0, y1),
        spike,
        "traffic spike".into(),
    )?;
    shade_faults(&mut chart, &t.faults.iter().collect::<Vec<_>>(), y0, y1)?;
    stock_lines(&mut chart, t, p, &xs)?;
    if let Some(s) = t.sold_out_us[p] {
        let x = secs(s);
        let label = format!("sold out on the primary at {x:.1} s");
        mark_line(&mut chart, (x, y0), (x, y1), label)?;
    }
    oversold_marks(&mut chart, t, p, &marks)?;
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    if t.primary_stock[p].windows(2).all(|w| w[0] == w[1]) {
        note(root, "the stock never changed in this run")?;
    }
    swatch(root, v)
}

/// The stock axis of chart 1: every stock drawn, 0 and the initial stock.
fn stock_range(t: &Timeline, p: usize, marks: &[(f64, f64)]) -> Range<f64> {
    let values = t.primary_stock[p]
        .iter()
        .chain(t.replica_stock.iter().flat_map(|r| r[p].iter()))
        .map(|&s| s as f64)
        .chain(t.cache_stock[p].iter().flatten().map(|&s| s as f64))
        .chain(marks.iter().map(|m| m.1))
        .chain([0.0, t.initial_stock[p] as f64]);
    let (lo, hi) = extent(values);
    padded(lo, hi)
}

/// Product `p`'s stock over time: on the primary, on each replica, and in the cache while it
/// held a live entry (a dashed line per run of samples with one).
fn stock_lines<DB: DrawingBackend>(
    chart: &mut Plain<DB>,
    t: &Timeline,
    p: usize,
    xs: &[f64],
) -> Res {
    chart
        .draw_series(LineSeries::new(
            xs.iter()
                .zip(&t.primary_stock[p])
                .map(|(&x, &s)| (x, s as f64)),
            BLACK.stroke_width(3),
        ))
        .map_err(err)?
        .label("primary (the truth)")
        .legend(legend_line(BLACK, 3));
    for (i, name) in t.replicas.iter().enumerate() {
        let c = replica_colour(i);
        chart
            .draw_series(LineSeries::new(
                xs.iter()
                    .zip(&t.replica_stock[i][p])
                    .map(|(&x, &s)| (x, s as f64)),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("{name} (as applied)"))
            .legend(legend_line(c, 2));
    }
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (&x, s) in xs.iter().zip(&t.cache_stock[p]) {
        match s {
            Some(s) => current.push((x, *s as f64)),
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    for (k, run) in runs.into_iter().enumerate() {
        let series = chart
            .draw_series(DashedLineSeries::new(
                run,
                6,
                4,
                CACHE_COLOUR.stroke_width(2),
            ))
            .map_err(err)?;
        if k == 0 {
            series
                .label("cache (while it held a live entry)")
                .legend(legend_line(CACHE_COLOUR, 2));
        }
    }
    Ok(())
}

/// A cross per oversold order of product `p` that recorded its stock read (`marks`).
fn oversold_marks<DB: DrawingBackend>(
    chart: &mut Plain<DB>,
    t: &Timeline,
    p: usize,
    marks: &[(f64, f64)],
) -> Res {
    if marks.is_empty() {
        return Ok(());
    }
    let all = t.oversold.iter().filter(|o| o.product == p).count() as u64 + t.oversold_unmarked;
    let label = if t.oversold_unmarked > 0 {
        format!(
            "oversold order, at the stock its read showed (first {} of {all})",
            marks.len()
        )
    } else {
        format!("oversold order ({all}), at the stock its read showed")
    };
    chart
        .draw_series(
            marks
                .iter()
                .map(|&m| Cross::new(m, 4, MARK_COLOUR.stroke_width(2))),
        )
        .map_err(err)?
        .label(label)
        .legend(|(x, y)| Cross::new((x + 11, y), 4, MARK_COLOUR.stroke_width(2)));
    Ok(())
}

fn shade_faults<DB: DrawingBackend>(
    chart: &mut Plain<DB>,
    faults: &[&FaultSpan],
    y0: f64,
    y1: f64,
) -> Res {
    let spans: Vec<(f64, f64)> = faults
        .iter()
        .map(|f| (secs(f.start_us), secs(f.end_us)))
        .collect();
    let labels: Vec<&str> = faults.iter().map(|f| f.label.as_str()).collect();
    let label = format!("fault: {}", labels.join(", "));
    shade(chart, &spans, (y0, y1), (FAULT_FILL, 0.15, 0.35), label)
}

/// Chart 2: each replica's lag over time, the alert threshold, and the arrival rate.
pub fn lag<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    set: &ChartSet,
    v: &ChartVariant,
) -> Res {
    let t = v.timeline;
    let title = caption(set, &format!("Replication lag per replica — {}", v.name));
    let x_desc = "simulated time (s)";
    let y_desc = "replica lag (s)";
    if t.replicas.is_empty() {
        empty(root, &title, x_desc, y_desc, "no replicas in this scenario")?;
        return swatch(root, v);
    }
    if t.is_empty() {
        empty(root, &title, x_desc, y_desc, "no samples were recorded")?;
        return swatch(root, v);
    }
    let x_max = secs(t.end_us).max(1e-3);
    // The lag axis also shows the alert threshold, with a fifth of it above.
    let lag_max = t
        .replica_lag_us
        .iter()
        .chain(&t.replica_reported_lag_us)
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(t.lag_threshold_us.map_or(0, |x| x + x / 5));
    let y1 = (secs(lag_max) * 1.05).max(1e-3);
    let rates = arrival_rates(t);
    let rate_max = rates.iter().map(|r| r.1).fold(0.0, f64::max);
    let mut chart = framed(root, &title)
        .right_y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, 0.0..y1)
        .map_err(err)?
        .set_secondary_coord(0.0..x_max, padded(0.0, rate_max));
    mesh(&mut chart, x_desc, y_desc)?;
    chart
        .configure_secondary_axes()
        .y_desc("shopper arrivals (shoppers/s)")
        .label_style((FAMILY, LABEL_PX))
        .axis_desc_style((FAMILY, DESC_PX))
        .draw()
        .map_err(err)?;
    // Alert spells: from each raise to the next clear (or the end).
    let spells = on_spans(t.alerts.iter().copied(), x_max);
    let alert = (ALERT_FILL, 0.10, 0.25);
    shade(&mut chart, &spells, (0.0, y1), alert, "lag alert up".into())?;
    shade_faults(&mut chart, &t.faults.iter().collect::<Vec<_>>(), 0.0, y1)?;
    chart
        .draw_secondary_series(LineSeries::new(
            rates.iter().copied(),
            RGBColor(0xa0, 0xa0, 0xa0).stroke_width(1),
        ))
        .map_err(err)?
        .label("shopper arrivals (right axis)")
        .legend(legend_line(RGBColor(0xa0, 0xa0, 0xa0), 1));
    lag_lines(&mut chart, t)?;
    if let Some(th) = t.lag_threshold_us {
        let y = secs(th);
        mark_line(
            &mut chart,
            (0.0, y),
            (x_max, y),
            format!("alert threshold ({y} s)"),
        )?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    if lag_max == 0 {
        note(root, "no replica ever lagged")?;
    }
    swatch(root, v)
}

/// Arrivals per second, over a sliding window of 1% of the samples (at least one step).
fn arrival_rates(t: &Timeline) -> Vec<(f64, f64)> {
    let w = (t.len() / 100).max(1);
    (w..t.len())
        .filter(|&k| t.t_us[k] - t.t_us[k - w] == w as u64 * t.step_us)
        .map(|k| {
            let arrived = t.shoppers[k] - t.shoppers[k - w];
            (secs(t.t_us[k]), arrived as f64 / secs(w as u64 * t.step_us))
        })
        .collect()
}

/// Each replica's true lag (solid) and the lag it reported to the monitor (dashed).
fn lag_lines<DB: DrawingBackend>(chart: &mut Plain<DB>, t: &Timeline) -> Res {
    let xs: Vec<f64> = t.t_us.iter().map(|&x| secs(x)).collect();
    for (i, name) in t.replicas.iter().enumerate() {
        let c = replica_colour(i);
        chart
            .draw_series(LineSeries::new(
                xs.iter()
                    .zip(&t.replica_lag_us[i])
                    .map(|(&x, &l)| (x, secs(l))),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("{name}: true lag"))
            .legend(legend_line(c, 2));
        chart
            .draw_series(DashedLineSeries::new(
                xs.iter()
                    .zip(&t.replica_reported_lag_us[i])
                    .map(|(&x, &l)| (x, secs(l))),
                5,
                4,
                c.mix(0.7).stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("{name}: reported lag"))
            .legend(legend_line(c, 1));
    }
    Ok(())
}

/// Where each variant's swatch goes in the legend strip of a chart `width` pixels wide: one
/// `(x, y)` per variant, left to right, wrapping to a new row of 22 pixels when a row is full.
fn strip_layout(set: &ChartSet, width: i32) -> Vec<(i32, i32)> {
    let (mut x, mut y) = (16i32, 40i32);
    set.variants
        .iter()
        .map(|v| {
            // About 8 pixels per character at 14 px, plus the swatch and a gap.
            let w = 26 + 8 * v.name.chars().count() as i32 + 18;
            if x + w > width - 8 && x > 16 {
                x = 16;
                y += 22;
            }
            let at = (x, y);
            x += w;
            at
        })
        .collect()
}

/// A title and a row (or rows) of variant colour swatches at the top of a chart.
fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    set: &ChartSet,
) -> Res {
    let (w, _) = area.dim_in_pixel();
    let title_style =
        TextStyle::from((FAMILY, TITLE_PX).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 8),
        title_style,
    ))
    .map_err(err)?;
    for (v, (x, y)) in set.variants.iter().zip(strip_layout(set, w as i32)) {
        area.draw(&Rectangle::new(
            [(x, y), (x + 16, y + 14)],
            variant_colour(v.colour_index).filled(),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            v.name.to_string(),
            (x + 22, y),
            (FAMILY, LEGEND_PX + 1).into_font(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Chart 3: oversold units, failed orders, p99 checkout latency and primary load, side by side.
pub fn variants<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, set: &ChartSet) -> Res {
    let title = caption(set, "Variants side by side");
    let (w, _) = root.dim_in_pixel();
    let last_row_y = strip_layout(set, w as i32).last().map_or(40, |p| p.1);
    let (top, body) = root.split_vertically(last_row_y + 30);
    legend_strip(&top, &title, set)?;
    if set.variants.is_empty() {
        return note(&body, "no variants were run");
    }
    let panels = body.split_evenly((2, 2));
    let figures = [
        Figure {
            title: "Oversold units",
            unit: "units sold beyond the stock",
            value: |v| v.metrics.oversold_units as f64,
            decimals: 0,
        },
        Figure {
            title: "Failed orders",
            unit: "checkouts (timeouts, aborts, retries)",
            value: |v| v.metrics.orders_failed as f64,
            decimals: 0,
        },
        Figure {
            title: "Checkout latency p99",
            unit: "latency (ms)",
            value: |v| v.metrics.checkout_latency_ms_p99,
            decimals: 1,
        },
        Figure {
            title: "Primary load",
            unit: "statements run on the primary",
            value: |v| v.metrics.primary_queries as f64,
            decimals: 0,
        },
    ];
    let n = set.variants.len() as f64;
    for (panel, f) in panels.iter().zip(figures) {
        let (name, unit, value, decimals) = (f.title, f.unit, f.value, f.decimals);
        let values: Vec<f64> = set.variants.iter().map(value).collect();
        let top = values.iter().copied().fold(0.0, f64::max);
        let y1 = if top > 0.0 { top * 1.18 } else { 1.0 };
        let mut chart = ChartBuilder::on(panel)
            .caption(name, (FAMILY, 17))
            .margin(10)
            .x_label_area_size(12)
            .y_label_area_size(78)
            .build_cartesian_2d(-0.5..n - 0.5, 0.0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(unit)
            .label_style((FAMILY, LABEL_PX))
            .axis_desc_style((FAMILY, DESC_PX - 1))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                set.variants
                    .iter()
                    .zip(&values)
                    .enumerate()
                    .map(|(i, (v, &y))| {
                        let x = i as f64;
                        Rectangle::new(
                            [(x - 0.36, 0.0), (x + 0.36, y)],
                            variant_colour(v.colour_index).filled(),
                        )
                    }),
            )
            .map_err(err)?;
        let style = TextStyle::from((FAMILY, LABEL_PX).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart
            .draw_series(values.iter().enumerate().map(|(i, &y)| {
                Text::new(
                    format!("{y:.decimals$}"),
                    (i as f64, y + y1 * 0.01),
                    style.clone(),
                )
            }))
            .map_err(err)?;
        if top == 0.0 {
            note(panel, "0 in every variant")?;
        }
    }
    Ok(())
}

/// A CDF from a histogram of µs, in `unit_us` units (1000: ms), thinned to at most about 300
/// points evenly spaced on a log scale. Values below 1 µs are drawn at 1 µs.
fn cdf(h: &Histogram, unit_us: f64) -> Vec<(f64, f64)> {
    let total = h.count();
    if total == 0 {
        return Vec::new();
    }
    let floor = 1.0 / unit_us;
    let ratio = (h.max().max(1) as f64 / h.min().max(1) as f64)
        .powf(1.0 / 300.0)
        .max(1.0);
    let mut points = Vec::new();
    let mut seen = 0u64;
    let mut next = 0.0;
    let mut buckets = h.buckets().peekable();
    while let Some((lo, hi, c)) = buckets.next() {
        if points.is_empty() {
            points.push(((lo as f64 / unit_us).max(floor), 0.0));
        }
        seen += c;
        let x = (hi.min(h.max()) as f64 / unit_us).max(floor);
        if x >= next || buckets.peek().is_none() {
            points.push((x, seen as f64 / total as f64));
            next = x * ratio;
        }
    }
    points
}

/// CDF curves per variant on a log-scaled x axis.
fn cdf_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    set: &ChartSet,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    curves: Vec<Curve>,
    why_empty: &str,
) -> Res {
    let xs = curves.iter().flat_map(|c| c.1.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !(lo.is_finite() && hi > 0.0) {
        return empty(root, title, x_desc, y_desc, why_empty);
    }
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    let mut chart = framed(root, title)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.02)
        .map_err(err)?;
    mesh(&mut chart, x_desc, y_desc)?;
    variant_lines(&mut chart, curves)?;
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    let _ = set;
    Ok(())
}

/// Chart 4: the checkout latency distribution per variant.
pub fn latency_cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, set: &ChartSet) -> Res {
    let curves = set
        .variants
        .iter()
        .map(|v| {
            let h = &v.timeline.checkout_latency_us;
            let label = format!(
                "{} ({} checkouts, p99 {:.1} ms)",
                v.name,
                h.count(),
                v.metrics.checkout_latency_ms_p99
            );
            (v, cdf(h, 1e3), label)
        })
        .collect();
    cdf_chart(
        root,
        set,
        &caption(set, "Checkout latency (CDF)"),
        "checkout latency, from the end of think time to the outcome (ms, log scale)",
        "share of checkouts at most this long",
        curves,
        "no checkout finished in this run",
    )
}

/// Chart 8: how long each saga order stayed inconsistent, per variant.
pub fn saga_windows<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, set: &ChartSet) -> Res {
    let curves = set
        .variants
        .iter()
        .filter_map(|v| {
            let h = v.timeline.saga_windows_us.as_ref()?;
            let label = format!(
                "{} ({} windows, p99 {:.1} ms)",
                v.name,
                h.count(),
                h.quantile(0.99) as f64 / 1e3
            );
            Some((v, cdf(h, 1e3), label))
        })
        .collect();
    cdf_chart(
        root,
        set,
        &caption(set, "Saga inconsistency windows (CDF)"),
        "time an order held stock or money without being consistent (ms, log scale)",
        "share of inconsistent orders at most this long",
        curves,
        "no order was ever inconsistent",
    )
}

/// Chart 5: the staleness of stale reads per variant, in octave bins (a stale read of s µs goes
/// in the bin [2^(k-1), 2^k) µs holding it; 0 µs in the first).
pub fn staleness<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, set: &ChartSet) -> Res {
    let title = caption(set, "Staleness of product reads (histogram)");
    let x_desc = "staleness of a stale read: time since the next version committed (s, log scale)";
    let y_desc = "stale reads";
    let bin = |v: u64| (64 - v.leading_zeros()) as usize; // 0 for 0, k for [2^(k-1), 2^k)
    let binned: Vec<Vec<u64>> = set
        .variants
        .iter()
        .map(|v| {
            let mut bins = vec![0u64; 65];
            for (lo, _, c) in v.timeline.staleness_us.buckets() {
                bins[bin(lo)] += c;
            }
            bins
        })
        .collect();
    let used = |bins: &Vec<u64>| {
        let first = bins.iter().position(|&c| c > 0)?;
        let last = bins.iter().rposition(|&c| c > 0)?;
        Some((first, last))
    };
    let Some((k0, k1)) = binned
        .iter()
        .filter_map(used)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    else {
        return empty(
            root,
            &title,
            x_desc,
            y_desc,
            "no stale read: every product read was fresh or served by the primary",
        );
    };
    // Bin k spans [2^(k-1), 2^k) µs; bin 0 (exactly 0 µs) is drawn from 0.5 µs.
    let edge = |k: usize| {
        if k == 0 {
            0.5e-6
        } else {
            (1u64 << (k - 1)) as f64 / 1e6
        }
    };
    let (x0, x1) = (edge(k0), edge(k1 + 1));
    let y_max = binned.iter().flatten().copied().max().unwrap_or(0) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(&title, (FAMILY, TITLE_PX))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 / 1.2..x1 * 1.2).log_scale(), 0.0..y_max * 1.1)
        .map_err(err)?;
    mesh(&mut chart, x_desc, y_desc)?;
    for (v, bins) in set.variants.iter().zip(&binned) {
        let c = variant_colour(v.colour_index);
        let stale = v.timeline.staleness_us.count();
        let mut points = vec![(edge(k0), 0.0)];
        for (k, &count) in bins.iter().enumerate().take(k1 + 1).skip(k0) {
            points.push((edge(k), count as f64));
            points.push((edge(k + 1), count as f64));
        }
        points.push((edge(k1 + 1), 0.0));
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(err)?
            .label(format!(
                "{}: {stale} stale of {} replica/cache reads (max {:.3} s)",
                v.name,
                stale + v.timeline.fresh_reads,
                v.timeline.staleness_us.max() as f64 / 1e6
            ))
            .legend(legend_line(c, 2));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// A line per variant over time, with faults shaded.
#[allow(clippy::too_many_arguments)]
fn over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    set: &ChartSet,
    title: &str,
    y_desc: &str,
    y_range: Range<f64>,
    lines: Vec<Curve>,
    faults: Vec<&FaultSpan>,
    position: SeriesLabelPosition,
) -> Res {
    let x_max = set
        .variants
        .iter()
        .map(|v| secs(v.timeline.end_us))
        .fold(1e-3, f64::max);
    let (y0, y1) = (y_range.start, y_range.end);
    let mut chart = framed(root, title)
        .build_cartesian_2d(0.0..x_max, y_range)
        .map_err(err)?;
    mesh(&mut chart, "simulated time (s)", y_desc)?;
    shade_faults(&mut chart, &faults, y0, y1)?;
    variant_lines(&mut chart, lines)?;
    legend(&mut chart, position)
}

/// Chart 6: read-your-writes violations so far, per variant.
pub fn read_your_writes<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, set: &ChartSet) -> Res {
    let lines: Vec<_> = set
        .variants
        .iter()
        .map(|v| {
            let t = v.timeline;
            let points = t
                .t_us
                .iter()
                .zip(&t.ryw_violations)
                .map(|(&x, &n)| (secs(x), n as f64))
                .collect();
            let label = format!(
                "{} ({} of {} profile reads)",
                v.name, v.metrics.ryw_violations, v.metrics.profile_reads
            );
            (v, points, label)
        })
        .collect();
    let top = set
        .variants
        .iter()
        .map(|v| v.metrics.ryw_violations)
        .max()
        .unwrap_or(0) as f64;
    over_time(
        root,
        set,
        &caption(set, "Read-your-writes violations over time"),
        "profile reads that missed the user's own write, so far (reads)",
        padded(0.0, top),
        lines,
        all_faults(set, false),
        SeriesLabelPosition::UpperLeft,
    )?;
    if top == 0.0 {
        note(root, "no read-your-writes violation in any variant")?;
    }
    Ok(())
}

/// Chart 7: the share of requests answered in time, per variant, over a sliding window of 1% of
/// the samples (at least one step).
pub fn availability<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, set: &ChartSet) -> Res {
    let lines: Vec<_> = set
        .variants
        .iter()
        .map(|v| {
            let t = v.timeline;
            let w = (t.len() / 100).max(1);
            let points = (w..t.len())
                .filter_map(|k| {
                    let sent = t.requests[k] - t.requests[k - w];
                    let lost = t.request_timeouts[k] - t.request_timeouts[k - w];
                    (sent > 0).then(|| {
                        let share = 1.0 - lost as f64 / sent as f64;
                        (secs(t.t_us[k]), 100.0 * share.clamp(0.0, 1.0))
                    })
                })
                .collect();
            let label = format!(
                "{} (whole run: {:.2}%)",
                v.name,
                100.0 * v.metrics.availability
            );
            (v, points, label)
        })
        .collect();
    over_time(
        root,
        set,
        &caption(set, "Availability during faults"),
        "requests answered in time (%, sliding window)",
        0.0..105.0,
        lines,
        all_faults(set, true),
        SeriesLabelPosition::LowerLeft,
    )
}
