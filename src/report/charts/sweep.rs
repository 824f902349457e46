//! Charts of a sweep (`lagsim sweep … --charts DIR`): with one parameter, each chosen figure
//! against the parameter, one line per variant with its 95% confidence interval as a band; with
//! two, a heatmap per variant and figure, cells labelled with their mean, on a colour scale shared
//! by the variants so that they compare at a glance. Same font, palette and determinism as the
//! run charts; every file is listed in docs/output-reference.md ("Sweeps").

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    ChartError, DESC_PX, FAMILY, LABEL_PX, Res, err, extent, file_safe, variant_colour,
    write_svg_and_png,
};
use crate::sweep::{GridValue, SweepResult, format_summary};

const SIZE: (u32, u32) = (1100, 680);
const TITLE_PX: u32 = 19;
/// At most this many tick labels on an axis of grid values.
const MAX_TICKS: usize = 15;

/// Viridis, in five stops: dark blue (low) to yellow (high), legible in grey and for most
/// colour-blind readers.
const SCALE: [RGBColor; 5] = [
    RGBColor(0x44, 0x01, 0x54),
    RGBColor(0x3b, 0x52, 0x8b),
    RGBColor(0x21, 0x91, 0x8c),
    RGBColor(0x5e, 0xc9, 0x62),
    RGBColor(0xfd, 0xe7, 0x25),
];
const MISSING: RGBColor = RGBColor(0xd0, 0xd0, 0xd0);

/// The colour of `t` in 0..=1 on the scale.
fn scale(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (SCALE.len() - 1) as f64;
    let i = (x.floor() as usize).min(SCALE.len() - 2);
    let f = x - i as f64;
    let (a, b) = (SCALE[i], SCALE[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black or white, whichever reads better on `c`.
fn ink(c: RGBColor) -> RGBColor {
    let luma = 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
    if luma > 140.0 { BLACK } else { WHITE }
}

/// One chart file to draw, without its extension.
enum Planned<'a> {
    Lines { metric: &'a str },
    Heatmap { metric: &'a str, variant: usize },
}

fn plan<'a>(result: &SweepResult, metrics: &'a [String]) -> Vec<(String, Planned<'a>)> {
    let spec = &result.spec;
    let mut out = Vec::new();
    for m in metrics {
        match spec.parameters.len() {
            1 => out.push((
                format!("sweep-{}", file_safe(m)),
                Planned::Lines { metric: m },
            )),
            2 => {
                for (i, v) in spec.variants.iter().enumerate() {
                    out.push((
                        format!("sweep-{}-{}", file_safe(m), file_safe(&v.name)),
                        Planned::Heatmap {
                            metric: m,
                            variant: i,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// The file stems (names without `.svg`/`.png`) [`write_sweep_charts`] writes, in order: none
/// for a sweep without parameters.
pub fn sweep_chart_stems(result: &SweepResult, metrics: &[String]) -> Vec<String> {
    plan(result, metrics).into_iter().map(|p| p.0).collect()
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, result: &SweepResult, p: &Planned) -> Res
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    match *p {
        Planned::Lines { metric } => lines(root, result, metric),
        Planned::Heatmap { metric, variant } => heatmap(root, result, metric, variant),
    }?;
    root.present().map_err(err)
}

/// Writes the sweep's charts for `metrics` under `dir/<scenario>/` as `NAME.svg` and `NAME.png`,
/// creating the directories if needed. Returns the files written, in order.
pub fn write_sweep_charts(
    result: &SweepResult,
    metrics: &[String],
    dir: &Path,
) -> Result<Vec<PathBuf>, ChartError> {
    write_svg_and_png(
        dir,
        &result.spec.scenario,
        plan(result, metrics),
        |p| {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                draw(&root, result, p)?;
            }
            Ok(svg)
        },
        |p, path| {
            draw(
                &BitMapBackend::new(path, SIZE).into_drawing_area(),
                result,
                p,
            )
        },
    )
}

/// Where the grid values of a parameter sit on an axis: at their value if every one is a number,
/// else at their position (0, 1, …).
fn positions(values: &[GridValue]) -> Vec<f64> {
    if values.iter().all(|v| v.number().is_some()) {
        values
            .iter()
            .map(|v| v.number().expect("checked"))
            .collect()
    } else {
        (0..values.len()).map(|i| i as f64).collect()
    }
}

/// Tick labels under the grid values (every k-th when there are many), drawn in pixels below
/// the plotting area.
fn x_ticks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    at: impl Fn(f64) -> (i32, i32),
    xs: &[f64],
    values: &[GridValue],
) -> Res {
    let every = values.len().div_ceil(MAX_TICKS);
    let style =
        TextStyle::from((FAMILY, LABEL_PX).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, (x, v)) in xs.iter().zip(values).enumerate() {
        if i % every != 0 {
            continue;
        }
        let (px, py) = at(*x);
        root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))
            .map_err(err)?;
        root.draw(&Text::new(v.label(), (px, py + 8), style.clone()))
            .map_err(err)?;
    }
    Ok(())
}

fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    if hi <= lo {
        let w = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return lo - w..lo + w;
    }
    let pad = (hi - lo) * 0.06;
    lo - pad..hi + pad
}

/// A figure's points per variant: at each grid point where it was measured, (x, mean − CI,
/// mean + CI).
type Bands = Vec<Vec<Option<(f64, f64, f64)>>>;

/// One figure against the swept parameter: per variant, the mean as a line with points and the
/// 95% confidence interval as a band.
fn lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &SweepResult,
    metric: &str,
) -> Res
where
    DB::ErrorType: 'static,
{
    let spec = &result.spec;
    let param = &spec.parameters[0];
    let xs = positions(&param.values);
    let title = format!(
        "{metric} against {} — {}, mean and 95% CI over {} seeds",
        param.path, spec.scenario, spec.seeds
    );
    let series: Bands = (0..spec.variants.len())
        .map(|v| {
            (0..spec.points())
                .map(|p| {
                    let s = result.cell(v, p).metrics.get(metric)?;
                    Some((xs[p], s.mean - s.ci95, s.mean + s.ci95))
                })
                .collect()
        })
        .collect();
    let lo = extent(series.iter().flatten().flatten().map(|b| b.1)).0;
    let hi = extent(series.iter().flatten().flatten().map(|b| b.2)).1;
    let (x0, x1) = extent(xs.iter().copied());
    let mut chart = ChartBuilder::on(root)
        .caption(&title, (FAMILY, TITLE_PX))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(padded(x0, x1), padded(lo, hi))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(0)
        .disable_x_mesh()
        .x_desc(param.path.as_str())
        .y_desc(metric)
        .label_style((FAMILY, LABEL_PX))
        .axis_desc_style((FAMILY, DESC_PX))
        .draw()
        .map_err(err)?;
    let y_bottom = chart.y_range().start;
    let at = |x: f64| chart.backend_coord(&(x, y_bottom));
    x_ticks(root, at, &xs, &param.values)?;
    for (v, points) in spec.variants.iter().zip(&series) {
        let present: Vec<(f64, f64, f64)> = points.iter().flatten().copied().collect();
        band(
            &mut chart,
            variant_colour(v.colour_index),
            &present,
            &v.name,
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, LABEL_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// One variant's mean line, its points and its confidence band (with whiskers, visible where
/// the band is thin), from its (x, lo, hi) points.
fn band<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    colour: RGBColor,
    present: &[(f64, f64, f64)],
    name: &str,
) -> Res {
    if present.len() >= 2 {
        let mut band: Vec<(f64, f64)> = present.iter().map(|&(x, _, hi)| (x, hi)).collect();
        band.extend(present.iter().rev().map(|&(x, lo, _)| (x, lo)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                colour.mix(0.18).filled(),
            )))
            .map_err(err)?;
    }
    let means: Vec<(f64, f64)> = present
        .iter()
        .map(|&(x, lo, hi)| (x, (lo + hi) / 2.0))
        .collect();
    chart
        .draw_series(LineSeries::new(means.clone(), colour.stroke_width(2)))
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(3)));
    chart
        .draw_series(means.iter().map(|&p| Circle::new(p, 3, colour.filled())))
        .map_err(err)?;
    chart
        .draw_series(present.iter().map(|&(x, lo, hi)| {
            PathElement::new(vec![(x, lo), (x, hi)], colour.mix(0.6).stroke_width(1))
        }))
        .map_err(err)?;
    Ok(())
}

/// One figure of one variant over a two-parameter grid: a cell per grid point, coloured by its
/// mean on a scale shared by every variant of the sweep, and labelled with mean ± CI.
fn heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &SweepResult,
    metric: &str,
    variant: usize,
) -> Res
where
    DB::ErrorType: 'static,
{
    let spec = &result.spec;
    let (px, py) = (&spec.parameters[0], &spec.parameters[1]);
    let (nx, ny) = (px.values.len(), py.values.len());
    let v = &spec.variants[variant];
    // The scale is shared: its ends are the lowest and highest mean of every variant.
    let (lo, hi) = extent(
        result
            .cells
            .iter()
            .filter_map(|c| c.metrics.get(metric).map(|s| s.mean)),
    );
    let title = format!(
        "{metric} — {}: mean over {} seeds ({})",
        v.name, spec.seeds, spec.scenario
    );
    let (w, _) = root.dim_in_pixel();
    let (main, legend) = root.split_horizontally(w as i32 - 130);
    let mut chart = ChartBuilder::on(&main)
        .caption(&title, (FAMILY, TITLE_PX))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(90)
        .build_cartesian_2d(-0.5..nx as f64 - 0.5, -0.5..ny as f64 - 0.5)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(0)
        .y_labels(0)
        .disable_mesh()
        .x_desc(px.path.as_str())
        .y_desc(py.path.as_str())
        .label_style((FAMILY, LABEL_PX))
        .axis_desc_style((FAMILY, DESC_PX))
        .draw()
        .map_err(err)?;
    let cells = Cells {
        result,
        metric,
        variant,
        ny,
        scale: (lo, hi),
    };
    for i in 0..nx {
        for j in 0..ny {
            cells.draw(&mut chart, &main, i, j)?;
        }
    }
    // Axis labels at the cells.
    let bottom = chart.y_range().start;
    let xs: Vec<f64> = (0..nx).map(|i| i as f64).collect();
    x_ticks(
        &main,
        |x| chart.backend_coord(&(x, bottom)),
        &xs,
        &px.values,
    )?;
    y_ticks(&main, &chart, &py.values)?;
    colour_legend(&legend, metric, lo, hi)
}

/// What the cells of a heatmap show: one figure of one variant, on the colour scale from
/// `scale.0` to `scale.1`.
struct Cells<'a> {
    result: &'a SweepResult,
    metric: &'a str,
    variant: usize,
    /// Grid values of the second parameter: point (i, j) is `i * ny + j`.
    ny: usize,
    scale: (f64, f64),
}

impl Cells<'_> {
    /// The cell of grid point (i, j): filled, outlined, and labelled "mean" and "± ci" on two
    /// lines while the cells are large enough.
    fn draw<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        main: &DrawingArea<DB, Shift>,
        i: usize,
        j: usize,
    ) -> Res {
        let (lo, hi) = self.scale;
        let t = |m: f64| if hi > lo { (m - lo) / (hi - lo) } else { 0.5 };
        let summary = self
            .result
            .cell(self.variant, i * self.ny + j)
            .metrics
            .get(self.metric);
        let fill = summary.map_or(MISSING, |s| scale(t(s.mean)));
        let (x, y) = (i as f64, j as f64);
        for style in [fill.filled(), WHITE.stroke_width(1)] {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    style,
                )))
                .map_err(err)?;
        }
        let (cw, ch) = {
            let a = chart.backend_coord(&(0.0, 0.0));
            let b = chart.backend_coord(&(1.0, 1.0));
            ((b.0 - a.0).abs(), (b.1 - a.1).abs())
        };
        let text_px = (ch / 4).clamp(9, 16) as u32;
        if cw < 28 || ch < text_px as i32 + 2 {
            return Ok(());
        }
        let label = summary.map_or("-".to_string(), format_summary);
        let lines: Vec<&str> = match label.split_once(" ± ") {
            Some((m, _)) if cw < 70 || ch < 2 * text_px as i32 + 6 => vec![m],
            Some((m, ci)) if self.result.spec.seeds > 1 => vec![m, ci],
            Some((m, _)) => vec![m],
            None => vec![label.as_str()],
        };
        let (cx, cy) = chart.backend_coord(&(x, y));
        let text_colour = ink(fill);
        let style = TextStyle::from((FAMILY, text_px).into_font())
            .color(&text_colour)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let n = lines.len() as i32;
        for (k, line) in lines.iter().enumerate() {
            let dy = (2 * k as i32 - (n - 1)) * (text_px as i32 + 2) / 2;
            let text = if k == 1 {
                format!("± {line}")
            } else {
                line.to_string()
            };
            main.draw(&Text::new(text, (cx, cy + dy), style.clone()))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Tick labels beside the second parameter's grid values (every k-th when there are many).
fn y_ticks<DB: DrawingBackend>(
    main: &DrawingArea<DB, Shift>,
    chart: &ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    values: &[GridValue],
) -> Res {
    let left = chart.x_range().start;
    let every = values.len().div_ceil(MAX_TICKS);
    let style =
        TextStyle::from((FAMILY, LABEL_PX).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (j, value) in values.iter().enumerate() {
        if j % every != 0 {
            continue;
        }
        let (px, py) = chart.backend_coord(&(left, j as f64));
        main.draw(&PathElement::new(vec![(px - 5, py), (px, py)], BLACK))
            .map_err(err)?;
        main.draw(&Text::new(value.label(), (px - 8, py), style.clone()))
            .map_err(err)?;
    }
    Ok(())
}

/// The colour scale: a vertical bar from the lowest mean (bottom) to the highest (top) of the
/// figure over every variant, with its ends and middle labelled.
fn colour_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: &str,
    lo: f64,
    hi: f64,
) -> Res {
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = (100i32, h as i32 - 90);
    let (x0, x1) = (14i32, 38i32);
    let steps = 100;
    for k in 0..steps {
        let y_hi = top + (bottom - top) * k / steps;
        let y_lo = top + (bottom - top) * (k + 1) / steps;
        let c = scale(1.0 - (k as f64 + 0.5) / steps as f64);
        area.draw(&Rectangle::new([(x0, y_hi), (x1, y_lo)], c.filled()))
            .map_err(err)?;
    }
    area.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    let head =
        TextStyle::from((FAMILY, LABEL_PX).into_font()).pos(Pos::new(HPos::Left, VPos::Bottom));
    area.draw(&Text::new("mean of", (x0, top - 34), head.clone()))
        .map_err(err)?;
    let short: String = metric.chars().take(16).collect();
    area.draw(&Text::new(short, (x0, top - 16), head))
        .map_err(err)?;
    let style =
        TextStyle::from((FAMILY, LABEL_PX).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let ticks: Vec<(f64, i32)> = if hi > lo {
        vec![
            (hi, top),
            ((lo + hi) / 2.0, (top + bottom) / 2),
            (lo, bottom),
        ]
    } else if lo.is_finite() {
        vec![(lo, (top + bottom) / 2)]
    } else {
        Vec::new()
    };
    for (value, y) in ticks {
        area.draw(&PathElement::new(vec![(x1, y), (x1 + 5, y)], BLACK))
            .map_err(err)?;
        let label = format_summary(&crate::sweep::Summary {
            n: 1,
            mean: value,
            sd: 0.0,
            ci95: 0.0,
        });
        let label = label.split(" ± ").next().unwrap_or("").to_string();
        area.draw(&Text::new(label, (x1 + 8, y), style.clone()))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_from_dark_to_light() {
        assert_eq!(scale(0.0), SCALE[0]);
        assert_eq!(scale(1.0), SCALE[4]);
        assert_eq!(scale(0.5), SCALE[2]);
        assert_eq!(scale(f64::NAN), SCALE[0]);
        assert_eq!(ink(SCALE[0]), WHITE);
        assert_eq!(ink(SCALE[4]), BLACK);
    }
}
