//! The one error type of the loader, and the mapping from byte offsets to line:column.
//!
//! Every value the loader reads carries a byte span. The file's text and each `--set` string live in
//! one *virtual* offset space: the file first, then each `--set` string after a one-byte gap, so a
//! single span says both where a value came from and where in it the problem is.

use std::fmt;
use std::ops::Range;

/// Where the text an error points at came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorInput {
    /// The scenario file.
    File,
    /// A `--set path=value` string given on the command line (the whole string).
    Set(String),
}

/// A scenario that cannot be used, with the place to fix it.
///
/// Displays as `origin:line:column: path: message` for the file, or
/// `--set path=value: path: message` for an override from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file name given to [`parse_scenario`](super::parse_scenario).
    pub origin: String,
    /// The file, or the `--set` string, that holds the offending text.
    pub input: ErrorInput,
    /// 1-based line in the file (always 1 for a `--set` string).
    pub line: usize,
    /// 1-based column, counted in characters, in the file or the `--set` string.
    pub column: usize,
    /// The key the error is about, e.g. `replicas[0].workers`; empty for TOML syntax errors.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.input {
            ErrorInput::File => write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?,
            ErrorInput::Set(set) => write!(f, "--set {set}: ")?,
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A problem found while reading, located by a span in the virtual offset space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    pub span: Range<usize>,
    pub path: String,
    pub message: String,
}

impl Issue {
    pub fn new(span: Range<usize>, path: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            span,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The file text and the `--set` strings, placed in one offset space.
pub(crate) struct Sources<'s> {
    origin: &'s str,
    file: &'s str,
    /// Each `--set` string with the virtual offset of its first byte.
    sets: Vec<(usize, &'s str)>,
}

impl<'s> Sources<'s> {
    pub fn new(origin: &'s str, file: &'s str, sets: &'s [String]) -> Self {
        let mut base = file.len() + 1;
        let mut placed = Vec::with_capacity(sets.len());
        for s in sets {
            placed.push((base, s.as_str()));
            base += s.len() + 1;
        }
        Sources {
            origin,
            file,
            sets: placed,
        }
    }

    /// The virtual offset of the first byte of the `i`-th `--set` string.
    pub fn set_base(&self, i: usize) -> usize {
        self.sets.get(i).map_or(0, |(base, _)| *base)
    }

    /// The error for `issue`, located in the file or in the `--set` string its span starts in.
    pub fn error(&self, issue: Issue) -> ScenarioError {
        let at = issue.span.start;
        let (input, line, column) = match self.sets.iter().rev().find(|(base, _)| at >= *base) {
            Some((base, text)) => {
                let (_, column) = line_column(text, at - base);
                (ErrorInput::Set((*text).to_string()), 1, column)
            }
            None => {
                let (line, column) = line_column(self.file, at);
                (ErrorInput::File, line, column)
            }
        };
        ScenarioError {
            origin: self.origin.to_string(),
            input,
            line,
            column,
            path: issue.path,
            message: issue.message,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`; an offset past the end is
/// placed just after the last character.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let text = "ab\né = 1\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        // 'é' is two bytes: the byte after it is column 2.
        assert_eq!(line_column(text, 5), (2, 2));
        // Inside a multi-byte character: the character's own column.
        assert_eq!(line_column(text, 4), (2, 1));
        assert_eq!(line_column(text, 999), (3, 1));
        assert_eq!(line_column("", 0), (1, 1));
    }

    #[test]
    fn spans_past_the_file_belong_to_the_set_strings() {
        let sets = vec!["a=1".to_string(), "bb=2".to_string()];
        let sources = Sources::new("f.toml", "x = 1\n", &sets);
        assert_eq!(sources.set_base(0), 7);
        assert_eq!(sources.set_base(1), 11);
        let e = sources.error(Issue::new(13..14, "bb", "bad"));
        assert_eq!(e.input, ErrorInput::Set("bb=2".into()));
        assert_eq!((e.line, e.column), (1, 3));
        assert_eq!(e.to_string(), "--set bb=2: bb: bad");
        let e = sources.error(Issue::new(4..5, "x", "bad"));
        assert_eq!(e.to_string(), "f.toml:1:5: x: bad");
        let e = sources.error(Issue::new(0..0, "", "broken"));
        assert_eq!(e.to_string(), "f.toml:1:1: broken");
    }
}
