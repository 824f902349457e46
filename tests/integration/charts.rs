use std::path::{Path, PathBuf};

use lagsim::model::timeline::Timeline;
use lagsim::report::charts::{
    ChartSet, ChartVariant, FONT_TTF, chart_stems, render_all_svg, write_charts,
};
use lagsim::run::{Job, Options, Outcome};
use lagsim::scenario::Scenario;

use crate::support::{lagsim, par_map, repo_path, scenario, stderr};

/// Every bundled scenario file, sorted: a new one is charted without editing this test.
fn bundled() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/validation"] {
        for entry in std::fs::read_dir(repo_path(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".toml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

fn runs(s: &Scenario, seed: u64) -> Vec<(Outcome, Timeline)> {
    let options = Options {
        timeline: true,
        ..Options::default()
    };
    par_map(&s.variants, |v| {
        let mut run = Job::new(s, v, seed)
            .options(options)
            .run()
            .unwrap_or_else(|e| panic!("{} runs: {e}", v.name));
        let t = run.timeline.take().unwrap();
        (run, t)
    })
}

fn chart_set<'a>(s: &'a Scenario, seed: u64, runs: &'a [(Outcome, Timeline)]) -> ChartSet<'a> {
    ChartSet {
        scenario: &s.name,
        seed,
        variants: s
            .variants
            .iter()
            .zip(runs)
            .enumerate()
            .map(|(i, (v, (run, t)))| ChartVariant {
                name: &v.name,
                colour_index: i,
                metrics: &run.metrics,
                timeline: t,
            })
            .collect(),
    }
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lagsim-charts-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn charts_are_drawn_for_every_bundled_scenario() {
    let files = bundled();
    assert!(files.len() >= 7, "{files:?}");
    let out = temp_dir("bundled");
    for file in &files {
        // Short runs keep the test fast; faults and price changes still happen (the run goes on
        // until they are over).
        let s = scenario(file, &["duration_s=20"]);
        let runs = runs(&s, 1);
        let set = chart_set(&s, 1, &runs);
        let stems = chart_stems(&set);
        let written = write_charts(&set, &out).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(written.len(), 2 * stems.len(), "{file}");
        let dir = out.join(&s.name);
        let mut expected: Vec<String> = stems
            .iter()
            .flat_map(|s| [format!("{s}.png"), format!("{s}.svg")])
            .collect();
        expected.sort();
        assert_eq!(files_in(&dir), expected, "{file}");
        for path in &written {
            let bytes = std::fs::read(path).unwrap();
            match path.extension().unwrap().to_str().unwrap() {
                "png" => assert_eq!(&bytes[1..4], b"PNG", "{}", path.display()),
                _ => assert!(bytes.starts_with(b"<svg"), "{}", path.display()),
            }
        }
        // Charts 1 and 2 per variant, 3 to 5 across them, and the scenario's own.
        let n = s.variants.len();
        let own: Vec<&str> = stems[2 * n + 3..].iter().map(String::as_str).collect();
        let wanted: &[&str] = match s.name.as_str() {
            "profile-email" => &["06-read-your-writes"],
            "partition-cp-vs-ap" | "lag-monitor" => &["07-availability"],
            "checkout-saga" => &["08-saga-inconsistency-windows"],
            _ => &[],
        };
        assert_eq!(own, wanted, "{file}");
        assert_eq!(stems[0], format!("01-beliefs-{}", s.variants[0].name));
        assert_eq!(stems[n], format!("02-lag-{}", s.variants[0].name));
        assert_eq!(
            stems[2 * n..2 * n + 3],
            ["03-variants", "04-checkout-latency-cdf", "05-staleness"]
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn same_seed_gives_byte_identical_charts() {
    let s = scenario("scenarios/lag-monitor.toml", &["duration_s=60"]);
    let (a, b) = (runs(&s, 7), runs(&s, 7));
    let (set_a, set_b) = (chart_set(&s, 7, &a), chart_set(&s, 7, &b));
    let (svg_a, svg_b) = (
        render_all_svg(&set_a).unwrap(),
        render_all_svg(&set_b).unwrap(),
    );
    assert_eq!(svg_a.len(), chart_stems(&set_a).len());
    for ((name_a, a), (name_b, b)) in svg_a.iter().zip(&svg_b) {
        assert_eq!(name_a, name_b);
        assert!(a == b, "{name_a} differs between two runs");
    }
    // The files too, PNG included.
    let (da, db) = (temp_dir("det-a"), temp_dir("det-b"));
    let (wa, wb) = (
        write_charts(&set_a, &da).unwrap(),
        write_charts(&set_b, &db).unwrap(),
    );
    for (pa, pb) in wa.iter().zip(&wb) {
        assert_eq!(pa.file_name(), pb.file_name());
        assert!(
            std::fs::read(pa).unwrap() == std::fs::read(pb).unwrap(),
            "{}",
            pa.display()
        );
    }
    // Another seed draws other charts.
    let c = runs(&s, 8);
    let svg_c = render_all_svg(&chart_set(&s, 8, &c)).unwrap();
    assert_ne!(svg_a[0].1, svg_c[0].1);
    std::fs::remove_dir_all(&da).unwrap();
    std::fs::remove_dir_all(&db).unwrap();
}

#[test]
fn odd_data_draws_notes_instead_of_panicking() {
    let s = scenario("scenarios/lag-monitor.toml", &["duration_s=5"]);
    let runs = runs(&s, 1);
    // No variant at all: the cross-variant charts, each with a note.
    let none = ChartSet {
        scenario: "empty",
        seed: 1,
        variants: Vec::new(),
    };
    let svgs = render_all_svg(&none).unwrap();
    let names: Vec<&str> = svgs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["03-variants", "04-checkout-latency-cdf", "05-staleness"]
    );
    assert!(svgs[0].1.contains("no variants were run"));
    assert!(svgs[2].1.contains("no stale read"));
    // A timeline with no sample, and one with a single sample.
    let mut empty = runs[0].1.clone();
    let mut single = runs[0].1.clone();
    for (keep, t) in [(0, &mut empty), (1, &mut single)] {
        t.t_us.truncate(keep);
        for column in t
            .primary_stock
            .iter_mut()
            .chain(t.replica_stock.iter_mut().flatten())
        {
            column.truncate(keep);
        }
        for column in t
            .replica_lag_us
            .iter_mut()
            .chain(t.replica_reported_lag_us.iter_mut())
        {
            column.truncate(keep);
        }
        for column in [
            &mut t.shoppers,
            &mut t.orders_confirmed,
            &mut t.orders_failed,
            &mut t.ryw_violations,
            &mut t.requests,
            &mut t.request_timeouts,
        ] {
            column.truncate(keep);
        }
        for column in &mut t.cache_stock {
            column.truncate(keep);
        }
        t.end_us = 0;
    }
    let mut zero_metrics = runs[0].0.metrics.clone();
    zero_metrics.oversold_units = 0;
    zero_metrics.orders_failed = 0;
    zero_metrics.checkout_latency_ms_p99 = 0.0;
    zero_metrics.primary_queries = 0;
    let set = ChartSet {
        scenario: "odd",
        seed: 1,
        variants: vec![
            ChartVariant {
                name: "no-samples",
                colour_index: 0,
                metrics: &zero_metrics,
                timeline: &empty,
            },
            ChartVariant {
                name: "one sample / odd name",
                colour_index: 13,
                metrics: &zero_metrics,
                timeline: &single,
            },
        ],
    };
    let svgs = render_all_svg(&set).unwrap();
    let find = |name: &str| &svgs.iter().find(|(n, _)| n == name).unwrap().1;
    assert!(find("01-beliefs-no-samples").contains("no samples were recorded"));
    assert!(find("02-lag-no-samples").contains("no samples were recorded"));
    assert!(find("01-beliefs-one_sample___odd_name").contains("the stock never changed"));
    assert!(find("03-variants").contains("0 in every variant"));
}

#[test]
fn the_cli_writes_charts_and_lists_them() {
    let dir = temp_dir("cli");
    let out = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=5",
        "--format",
        "json",
        "--charts",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("charts: 10 files"), "{err}");
    let listed: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(listed.len(), 10);
    assert!(
        listed[0].trim().ends_with("replica-mm1/01-beliefs-mm1.svg"),
        "{err}"
    );
    assert_eq!(files_in(&dir.join("replica-mm1")).len(), 10);
    // The JSON document on stdout is unchanged by the charts.
    let plain = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=5",
        "--format",
        "json",
    ]);
    assert_eq!(out.stdout, plain.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_charts_directory_is_a_usage_error() {
    // A directory cannot be created under a regular file.
    let out = lagsim(&[
        "run",
        "scenarios/validation/replica-mm1.toml",
        "--set",
        "duration_s=1",
        "--charts",
        "Cargo.toml/charts",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: cannot create charts directory Cargo.toml/charts"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "nothing is run");
}

#[test]
fn the_bundled_font_has_a_glyph_for_every_character_the_charts_draw() {
    // Every text the charts draw, from the SVG files: the run charts of every bundled scenario,
    // the notes of charts without data, and the line and heatmap charts of sweeps.
    let mut svgs: Vec<(String, String)> = Vec::new();
    for file in bundled() {
        let s = scenario(&file, &["duration_s=5"]);
        let runs = runs(&s, 1);
        svgs.extend(render_all_svg(&chart_set(&s, 1, &runs)).unwrap());
    }
    let none = ChartSet {
        scenario: "empty",
        seed: 1,
        variants: Vec::new(),
    };
    svgs.extend(render_all_svg(&none).unwrap());
    let dir = temp_dir("font");
    for grid in [
        &["background.writes_per_s=100..900:3"][..],
        &[
            "background.writes_per_s=100..900:3",
            "replicas[0].workers=1,2",
        ],
    ] {
        let mut args = vec!["sweep", "scenarios/validation/replica-mm1.toml"];
        for set in ["duration_s=2"].iter().chain(grid) {
            args.extend(["--set", set]);
        }
        args.extend(["--seeds", "2", "--charts", dir.to_str().unwrap()]);
        let out = lagsim(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for name in files_in(&dir.join("replica-mm1")) {
        if name.ends_with(".svg") {
            let text = std::fs::read_to_string(dir.join("replica-mm1").join(&name)).unwrap();
            svgs.push((name, text));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let mut drawn: std::collections::BTreeMap<char, String> = Default::default();
    for (name, svg) in &svgs {
        for text in svg_texts(svg) {
            for c in text.chars().filter(|c| !c.is_whitespace()) {
                drawn
                    .entry(c)
                    .or_insert_with(|| format!("{name}: {text:?}"));
            }
        }
    }
    // Digits, letters of both cases, punctuation, and the non-ASCII signs of the captions.
    for c in ['0', '9', 'a', 'y', 'S', 'W', '%', '(', '—', '±', '→'] {
        assert!(drawn.contains_key(&c), "no chart drew {c:?}");
    }
    let font = TrueType::parse(FONT_TTF);
    assert!(
        font.glyphs > 1000,
        "{} glyphs in the bundled font",
        font.glyphs
    );
    // The lookup can tell a missing glyph: DejaVu Sans has no CJK ideographs.
    assert_eq!(font.glyph('\u{4e00}'), 0);
    for (c, example) in &drawn {
        let g = font.glyph(*c);
        assert!(
            g != 0 && g < font.glyphs,
            "the bundled font has no glyph for {c:?} (U+{:04X}), drawn in {example}",
            *c as u32
        );
    }
    // Its licence sits beside it and names it.
    let licence = std::fs::read_to_string(repo_path("assets/fonts/LICENSE-DejaVu.txt")).unwrap();
    for phrase in [
        "Bitstream Vera Fonts Copyright",
        "DejaVu changes are in public domain",
        "Arev Fonts Copyright",
        "THE FONT SOFTWARE IS PROVIDED \"AS IS\"",
    ] {
        assert!(licence.contains(phrase), "{phrase}");
    }
}

/// The contents of an SVG file's `<text>` elements, unescaped.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|rest| {
            let body = &rest[rest.find('>')? + 1..rest.find("</text>")?];
            Some(unescape_xml(body.trim_matches('\n')))
        })
        .collect()
}

fn unescape_xml(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = at + rest[at..].find(';').expect("an entity ends with `;`");
        let entity = &rest[at + 1..end];
        out.push(match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => entity.trim_start_matches('#').parse(),
                };
                char::from_u32(code.expect("a numeric entity")).expect("a character")
            }
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Just enough of a TrueType file (Apple's and Microsoft's OpenType specification, tables
/// `head`, `maxp` and `cmap` format 4) to say which glyph a character is drawn with.
struct TrueType<'a> {
    bytes: &'a [u8],
    /// The `cmap` subtable for Unicode's Basic Multilingual Plane.
    cmap: usize,
    glyphs: u16,
}

impl<'a> TrueType<'a> {
    fn parse(bytes: &'a [u8]) -> Self {
        let u16_at = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(u32_at(0), 0x0001_0000, "a TrueType outline font");
        let table = |tag: &[u8]| {
            (0..u16_at(4) as usize)
                .map(|i| 12 + 16 * i)
                .find(|&r| &bytes[r..r + 4] == tag)
                .map(|r| u32_at(r + 8) as usize)
                .unwrap_or_else(|| panic!("no {} table", String::from_utf8_lossy(tag)))
        };
        assert_eq!(
            u32_at(table(b"head") + 12),
            0x5F0F_3CF5,
            "head magic number"
        );
        let glyphs = u16_at(table(b"maxp") + 4);
        let cmap = table(b"cmap");
        // Encoding records: (platform, encoding, offset); Windows (3) Unicode BMP (1).
        let bmp = (0..u16_at(cmap + 2) as usize)
            .map(|i| cmap + 4 + 8 * i)
            .find(|&r| (u16_at(r), u16_at(r + 2)) == (3, 1))
            .expect("a Windows Unicode BMP cmap");
        let sub = cmap + u32_at(bmp + 4) as usize;
        assert_eq!(u16_at(sub), 4, "a format 4 cmap subtable");
        TrueType {
            bytes,
            cmap: sub,
            glyphs,
        }
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.bytes[at], self.bytes[at + 1]])
    }

    /// The glyph `c` is drawn with; 0 (`.notdef`) when the font has none.
    fn glyph(&self, c: char) -> u16 {
        let Ok(c) = u16::try_from(c as u32) else {
            return 0;
        };
        let segments = self.u16_at(self.cmap + 6) as usize / 2;
        let ends = self.cmap + 14;
        let starts = ends + 2 * segments + 2;
        let deltas = starts + 2 * segments;
        let range_offsets = deltas + 2 * segments;
        let Some(i) = (0..segments).find(|&i| self.u16_at(ends + 2 * i) >= c) else {
            return 0;
        };
        let start = self.u16_at(starts + 2 * i);
        if start > c {
            return 0;
        }
        let delta = self.u16_at(deltas + 2 * i);
        let offset_at = range_offsets + 2 * i;
        match self.u16_at(offset_at) {
            0 => c.wrapping_add(delta),
            offset => {
                let at = offset_at + offset as usize + 2 * (c - start) as usize;
                match self.u16_at(at) {
                    0 => 0,
                    g => g.wrapping_add(delta),
                }
            }
        }
    }
}
