//! Charts of a run (`lagsim run FILE --charts DIR`): PNG and SVG files drawn with plotters from
//! the variants' metrics and recorded [`Timeline`]s. Text is rendered in pure Rust with the
//! bundled DejaVu Sans (`assets/fonts/`, Bitstream Vera licence), so no system font library is
//! needed and the same run gives byte-identical SVG files.
//!
//! `sweep` draws a sweep's charts (`lagsim sweep … --charts DIR`): figures against a parameter
//! with confidence bands, and heatmaps over two parameters.
//!
//! Every chart file is listed, with its axes and units, in docs/output-reference.md. Charts
//! consume finished results; they never reach into the model.

mod draw;
mod sweep;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::model::metrics::Metrics;
use crate::model::timeline::Timeline;

pub use sweep::{sweep_chart_stems, write_sweep_charts};

/// The bundled font (DejaVu Sans 2.37, see `assets/fonts/LICENSE-DejaVu.txt`).
pub const FONT_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// The family name charts ask for; the bundled font is registered under it.
const FAMILY: &str = "sans-serif";
/// Text sizes (px) of tick labels and axis descriptions, the same in every chart.
const LABEL_PX: u32 = 13;
const DESC_PX: u32 = 15;

/// A drawing step's outcome; plotters' errors become their message.
type Res = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The lowest and the highest of `values` (infinite for none).
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

/// One variant to chart.
#[derive(Clone, Copy, Debug)]
pub struct ChartVariant<'a> {
    pub name: &'a str,
    /// The variant's position in the scenario file (from 0): it picks the variant's colour, so a
    /// variant keeps its colour in every chart and whichever variants are selected.
    pub colour_index: usize,
    pub metrics: &'a Metrics,
    pub timeline: &'a Timeline,
}

/// The variants of one scenario run, in run order.
#[derive(Clone, Debug)]
pub struct ChartSet<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub variants: Vec<ChartVariant<'a>>,
}

/// A chart could not be drawn or written.
#[derive(Debug)]
pub struct ChartError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write chart {}: {}",
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for ChartError {}

/// The variant palette (Tableau 10, with a darker gold for legibility on white): variant `i` of
/// the scenario file is drawn in `PALETTE[i % 10]` in every chart.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb8, 0x9a, 0x1a),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0x79, 0x70, 0x6e),
];

/// The colour of the variant at `colour_index` in its scenario file.
pub fn variant_colour(colour_index: usize) -> RGBColor {
    PALETTE[colour_index % PALETTE.len()]
}

/// Which chart a file holds.
#[derive(Clone, Copy, Debug)]
enum Kind<'a> {
    Beliefs(&'a ChartVariant<'a>),
    Lag(&'a ChartVariant<'a>),
    Variants,
    LatencyCdf,
    Staleness,
    ReadYourWrites,
    Availability,
    SagaWindows,
}

/// One chart file to draw, without its extension.
struct Planned<'a> {
    stem: String,
    kind: Kind<'a>,
    size: (u32, u32),
}

const WIDE: (u32, u32) = (1100, 620);
const GRID: (u32, u32) = (1200, 840);

/// A file-name-safe form of a variant name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The charts `set` calls for, in file order.
fn plan<'a>(set: &'a ChartSet<'a>) -> Vec<Planned<'a>> {
    let mut out = Vec::new();
    for v in &set.variants {
        out.push(Planned {
            stem: format!("01-beliefs-{}", file_safe(v.name)),
            kind: Kind::Beliefs(v),
            size: WIDE,
        });
    }
    for v in &set.variants {
        out.push(Planned {
            stem: format!("02-lag-{}", file_safe(v.name)),
            kind: Kind::Lag(v),
            size: WIDE,
        });
    }
    out.push(Planned {
        stem: "03-variants".into(),
        kind: Kind::Variants,
        size: GRID,
    });
    out.push(Planned {
        stem: "04-checkout-latency-cdf".into(),
        kind: Kind::LatencyCdf,
        size: WIDE,
    });
    out.push(Planned {
        stem: "05-staleness".into(),
        kind: Kind::Staleness,
        size: WIDE,
    });
    let any = |f: &dyn Fn(&ChartVariant) -> bool| set.variants.iter().any(f);
    if any(&|v| v.metrics.profile_reads > 0) {
        out.push(Planned {
            stem: "06-read-your-writes".into(),
            kind: Kind::ReadYourWrites,
            size: WIDE,
        });
    }
    if any(&|v| v.timeline.faults.iter().any(|f| f.cuts_links)) {
        out.push(Planned {
            stem: "07-availability".into(),
            kind: Kind::Availability,
            size: WIDE,
        });
    }
    if any(&|v| v.timeline.saga_windows_us.is_some()) {
        out.push(Planned {
            stem: "08-saga-inconsistency-windows".into(),
            kind: Kind::SagaWindows,
            size: WIDE,
        });
    }
    out
}

/// The file stems (names without `.svg`/`.png`) that [`write_charts`] writes for `set`, in order.
pub fn chart_stems(set: &ChartSet) -> Vec<String> {
    plan(set).into_iter().map(|p| p.stem).collect()
}

/// What each chart of `set` shows, in words, in the order of [`chart_stems`] (captions for the
/// HTML report).
pub fn chart_titles(set: &ChartSet) -> Vec<String> {
    plan(set)
        .into_iter()
        .map(|p| match p.kind {
            Kind::Beliefs(v) => format!(
                "What each node believed: the stock on the primary, the replicas and the cache \
                 ({})",
                v.name
            ),
            Kind::Lag(v) => format!(
                "Replication lag per replica, with the alert threshold and the traffic ({})",
                v.name
            ),
            Kind::Variants => {
                "Variants side by side: oversold units, failed orders, checkout p99, primary load"
                    .to_string()
            }
            Kind::LatencyCdf => "Checkout latency, cumulative distribution".to_string(),
            Kind::Staleness => {
                "Staleness of the reads served by replicas and the cache".to_string()
            }
            Kind::ReadYourWrites => "Read-your-writes violations over time".to_string(),
            Kind::Availability => "Availability of client requests over time".to_string(),
            Kind::SagaWindows => "How long orders stayed inconsistent, per saga policy".to_string(),
        })
        .collect()
}

/// Registers the bundled font once per process.
fn register() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, FONT_TTF)
            .map_err(|_| "the bundled font could not be read".to_string())
    })
    .clone()
}

fn draw_kind<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    set: &ChartSet,
    kind: Kind,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    match kind {
        Kind::Beliefs(v) => draw::beliefs(root, set, v),
        Kind::Lag(v) => draw::lag(root, set, v),
        Kind::Variants => draw::variants(root, set),
        Kind::LatencyCdf => draw::latency_cdf(root, set),
        Kind::Staleness => draw::staleness(root, set),
        Kind::ReadYourWrites => draw::read_your_writes(root, set),
        Kind::Availability => draw::availability(root, set),
        Kind::SagaWindows => draw::saga_windows(root, set),
    }?;
    root.present().map_err(|e| e.to_string())
}

/// One chart as an SVG document.
fn render_svg(set: &ChartSet, p: &Planned) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, p.size).into_drawing_area();
        draw_kind(&root, set, p.kind)?;
    }
    Ok(svg)
}

/// Writes every chart of `set` under `dir/<scenario>/`, as `NAME.svg` and `NAME.png`, creating
/// the directories if needed. Returns the files written, in order.
pub fn write_charts(set: &ChartSet, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    write_svg_and_png(
        dir,
        set.scenario,
        plan(set).into_iter().map(|p| (p.stem.clone(), p)),
        |p| render_svg(set, p),
        |p, path| {
            draw_kind(
                &BitMapBackend::new(path, p.size).into_drawing_area(),
                set,
                p.kind,
            )
        },
    )
}

/// Writes charts under `dir/<scenario>/` as `STEM.svg` and `STEM.png`, creating the directories
/// if needed: `svg` renders one chart as SVG text, `png` draws it into the PNG file at the path.
/// Shared by the run charts and the sweep charts. Returns the files written, in order.
pub(crate) fn write_svg_and_png<C>(
    dir: &Path,
    scenario: &str,
    charts: impl IntoIterator<Item = (String, C)>,
    svg: impl Fn(&C) -> Result<String, String>,
    png: impl Fn(&C, &Path) -> Result<(), String>,
) -> Result<Vec<PathBuf>, ChartError> {
    let out_dir = dir.join(file_safe(scenario));
    let fail = |path: &Path, message: String| ChartError {
        path: path.to_path_buf(),
        message,
    };
    register().map_err(|m| fail(&out_dir, m))?;
    std::fs::create_dir_all(&out_dir).map_err(|e| fail(&out_dir, e.to_string()))?;
    let mut written = Vec::new();
    for (stem, chart) in charts {
        let svg_path = out_dir.join(format!("{stem}.svg"));
        let text = svg(&chart).map_err(|m| fail(&svg_path, m))?;
        std::fs::write(&svg_path, text).map_err(|e| fail(&svg_path, e.to_string()))?;
        written.push(svg_path);
        let png_path = out_dir.join(format!("{stem}.png"));
        png(&chart, &png_path).map_err(|m| fail(&png_path, m))?;
        written.push(png_path);
    }
    Ok(written)
}

/// Every chart of `set` as SVG text, by file stem (for tests and embedding).
pub fn render_all_svg(set: &ChartSet) -> Result<Vec<(String, String)>, ChartError> {
    register().map_err(|message| ChartError {
        path: PathBuf::new(),
        message,
    })?;
    plan(set)
        .into_iter()
        .map(|p| {
            render_svg(set, &p)
                .map(|svg| (p.stem.clone(), svg))
                .map_err(|message| ChartError {
                    path: PathBuf::from(format!("{}.svg", p.stem)),
                    message,
                })
        })
        .collect()
}
