//! The HTML report: one self-contained file (inline CSS and SVG, no script, no external asset)
//! that a design review can attach and a teacher can project. It owns the page's layout and the
//! escaping of every string that reaches it; the figures, charts and sentences are made
//! elsewhere and handed in finished.
//!
//! Every string from a scenario (names, descriptions, findings) goes through [`escape`]. Charts
//! arrive as SVG documents; their XML prologue is dropped so they can sit inline.

use std::fmt::Write;

use super::explain::Story;
use super::json::RunReport;
use super::table::{Grid, Layout, comparison};
use crate::check::Status;

/// A chart to show, as SVG text.
pub struct Chart {
    pub title: String,
    pub svg: String,
}

/// What the page shows.
pub struct Page<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub report: &'a RunReport,
    pub charts: &'a [Chart],
    pub stories: &'a [Story],
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An SVG document made fit to sit inline: without its XML prologue or doctype.
fn inline_svg(svg: &str) -> &str {
    let mut s = svg.trim_start();
    while s.starts_with("<?") || s.starts_with("<!") {
        match s.find('>') {
            Some(end) => s = s[end + 1..].trim_start(),
            None => return "",
        }
    }
    s
}

/// An id for an anchor, from a title: lowercase letters and digits, dashes between.
fn anchor(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1b1b1b; background: #fff; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-bottom: 0.3rem; }
.meta { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #999; }
tr.checks td { background: #fafafa; }
td.fail { color: #b00020; font-weight: bold; }
td.unknown { color: #8a6d00; }
figure { margin: 1.2rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #444; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
.verdict-pass { color: #1b6e20; } .verdict-fail { color: #b00020; } .verdict-unknown { color: #8a6d00; }
nav a { margin-right: 1rem; }
";

/// Renders the page.
pub fn render_html(page: &Page<'_>) -> String {
    let r = page.report;
    let mut h = String::new();
    let title = escape(page.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>lagsim: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    let _ = write!(
        h,
        "<h1>{title}</h1>\n<p class=\"description\">{}</p>\n<p class=\"meta\">seed {} · \
         lagsim {} · reproduce: <code>{}</code></p>\n",
        escape(page.description),
        r.seed,
        escape(r.lagsim_version),
        escape(&r.reproduce)
    );
    h.push_str(
        "<nav><a href=\"#comparison\">Comparison</a><a href=\"#charts\">Charts</a>\
         <a href=\"#checks\">Checks</a><a href=\"#story\">What happened</a></nav>\n",
    );
    comparison_table(&mut h, r);
    h.push_str("<h2 id=\"charts\">Charts</h2>\n");
    if page.charts.is_empty() {
        h.push_str("<p>No charts for this scenario.</p>\n");
    }
    for c in page.charts {
        let _ = write!(
            h,
            "<figure id=\"chart-{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            anchor(&c.title),
            inline_svg(&c.svg),
            escape(&c.title)
        );
    }
    checks(&mut h, r);
    h.push_str("<h2 id=\"story\">What happened</h2>\n");
    if page.stories.is_empty() {
        h.push_str("<p>No narration for this scenario.</p>\n");
    }
    for s in page.stories {
        let _ = write!(h, "<h3>{}</h3>\n<ol>\n", escape(&s.variant));
        for line in &s.sentences {
            let _ = writeln!(h, "<li>{}</li>", escape(line));
        }
        h.push_str("</ol>\n");
        if !s.timeline.is_empty() {
            let _ = writeln!(h, "<pre class=\"timeline\">{}</pre>", escape(&s.timeline));
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn comparison_table(h: &mut String, r: &RunReport) {
    let class = comparison(r, Layout::Class);
    h.push_str("<h2 id=\"comparison\">Comparison</h2>\n");
    if !class.lesson.is_empty() {
        let _ = writeln!(h, "<p class=\"lesson\">{}</p>", escape(&class.lesson));
    }
    grid_table(h, &class);
    if !class.same.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"meta\">Same in every variant: {}</p>",
            escape(&class.same.join(", "))
        );
    }
    for line in &class.same_checks {
        let _ = writeln!(h, "<p class=\"meta\">Checks {}</p>", escape(line));
    }
    for note in class.footnotes.iter().filter(|n| n.starts_with("(*")) {
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", escape(note));
    }
    let full = comparison(r, Layout::Full);
    h.push_str("<details><summary>Every figure</summary>\n");
    grid_table(h, &full);
    for note in &full.footnotes {
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", escape(note));
    }
    h.push_str("</details>\n");
}

/// One grid as an HTML table: a cell is coloured only where it is bad (a failed check, or a
/// figure that should be zero and is not).
fn grid_table(h: &mut String, grid: &Grid) {
    h.push_str("<table class=\"comparison\">\n<thead><tr>");
    let _ = write!(h, "<th>{}</th>", escape(&grid.labels[0]));
    for col in &grid.columns {
        let _ = write!(h, "<th>{}</th>", escape(&col[0]));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, label) in grid.labels.iter().enumerate().skip(1) {
        let class = if i >= grid.header_rows + grid.metric_rows {
            " class=\"checks\""
        } else {
            ""
        };
        let _ = write!(h, "<tr{class}><td>{}</td>", escape(label));
        for col in &grid.columns {
            let cell = &col[i];
            let alarming = grid.bad[i] && cell.parse::<f64>().is_ok_and(|v| v != 0.0);
            let class = if cell.starts_with("FAIL") || alarming {
                " class=\"fail\""
            } else if cell.starts_with("unknown") {
                " class=\"unknown\""
            } else {
                ""
            };
            let _ = write!(h, "<td{class}>{}</td>", escape(cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

fn checks(h: &mut String, r: &RunReport) {
    h.push_str("<h2 id=\"checks\">Checks</h2>\n");
    for v in &r.variants {
        if v.checks.is_empty() {
            continue;
        }
        let _ = write!(h, "<h3>{}</h3>\n<ul>\n", escape(&v.name));
        for c in &v.checks {
            let (word, class) = match c.result.status {
                Status::Pass => ("pass", "verdict-pass"),
                Status::Fail => ("FAIL", "verdict-fail"),
                Status::Unknown => ("unknown", "verdict-unknown"),
            };
            let required = if c.required.is_some() {
                " (required)"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<li><b>{}</b>{required}: <span class=\"{class}\">{word}</span>: {}",
                escape(c.result.name),
                escape(&c.result.summary)
            );
            if let Some(f) = c.result.findings.first() {
                let _ = write!(
                    h,
                    "<br>{}\n<pre>{}</pre>",
                    escape(&f.sentence),
                    escape(&f.timeline)
                );
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_strings_is_escaped() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn an_svg_document_loses_its_prologue_to_sit_inline() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE svg>\n<svg width=\"1\"/>";
        assert_eq!(inline_svg(doc), "<svg width=\"1\"/>");
        assert_eq!(inline_svg("<svg/>"), "<svg/>");
        assert_eq!(inline_svg("<?xml unterminated"), "");
    }

    #[test]
    fn anchors_are_plain() {
        assert_eq!(
            anchor("Replication lag (s) per replica"),
            "replication-lag-s-per-replica"
        );
        assert_eq!(anchor("<b>"), "b");
    }
}
