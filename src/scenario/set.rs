//! Overrides: `--set path=value` on the command line and a variant's `set` table are one mechanism,
//! an edit of the spanned document at `path` before it is read.
//!
//! Path syntax: keys separated by dots, each optionally followed by array indices, e.g.
//! `replicas[0].apply_time.mean_ms` or `traffic.profile[2].shoppers_per_s`. A key is a bare TOML key
//! (`A-Z a-z 0-9 _ -`) or a double-quoted string without escapes (`variants[0].set."primary.workers"`).
//! Missing tables on the way are created; an index must name an existing array entry.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::error::Issue;
use super::read::{R, child_path, describe};

/// One step of a path, with the span of its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String, Range<usize>),
    Index(usize, Range<usize>),
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SetPath {
    pub steps: Vec<Step>,
}

impl SetPath {
    /// The path of the first `n` steps, as shown in messages (`replicas[0].workers`).
    pub fn prefix(&self, n: usize) -> String {
        let mut path = String::new();
        for step in self.steps.iter().take(n) {
            match step {
                Step::Key(k, _) => path = child_path(&path, k),
                Step::Index(i, _) => path = format!("{path}[{i}]"),
            }
        }
        path
    }

    pub fn first_key(&self) -> Option<&str> {
        match self.steps.first() {
            Some(Step::Key(k, _)) => Some(k),
            _ => None,
        }
    }
}

/// Longest path accepted: deeper than any key of the schema, and bounds the edit's recursion.
const MAX_STEPS: usize = 32;

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Parses a path at the start of `text`. With `until_eq`, the path ends at `=` (spaces before it
/// are allowed) and the offset of the `=` is returned; otherwise it must fill `text`. Spans are byte
/// offsets in `text`; a malformed path gives a message and the span of the offending text.
pub(crate) fn parse_path(
    text: &str,
    until_eq: bool,
) -> Result<(SetPath, usize), (String, Range<usize>)> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut steps = Vec::new();
    let char_at = |pos: usize| text[pos..].chars().next();
    let syntax = "a path is keys separated by `.`, each optionally followed by `[N]` indices, \
                  e.g. `replicas[0].workers`";
    loop {
        // A key.
        let start = pos;
        if bytes.get(pos) == Some(&b'"') {
            let Some(len) = text[pos + 1..].find('"') else {
                return Err((
                    "unterminated quoted key in path".to_string(),
                    start..text.len(),
                ));
            };
            steps.push(Step::Key(
                text[pos + 1..pos + 1 + len].to_string(),
                start..pos + len + 2,
            ));
            pos += len + 2;
        } else {
            while let Some(c) = char_at(pos).filter(|c| is_bare(*c)) {
                pos += c.len_utf8();
            }
            if pos == start {
                let found = match char_at(pos) {
                    Some(c) => format!("found `{c}`"),
                    None => "found the end".to_string(),
                };
                return Err((
                    format!("expected a key in the path, {found}; {syntax}"),
                    start..pos + 1,
                ));
            }
            steps.push(Step::Key(text[start..pos].to_string(), start..pos));
        }
        // Indices.
        while bytes.get(pos) == Some(&b'[') {
            let open = pos;
            let digits = text[pos + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let close = pos + 1 + digits;
            if digits == 0 || bytes.get(close) != Some(&b']') {
                return Err((
                    format!("expected `[N]` with N a non-negative integer; {syntax}"),
                    open..close + 1,
                ));
            }
            let Ok(index) = text[pos + 1..close].parse::<usize>() else {
                return Err(("array index too large".to_string(), open..close + 1));
            };
            steps.push(Step::Index(index, open..close + 1));
            pos = close + 1;
        }
        if steps.len() > MAX_STEPS {
            return Err((format!("a path may have at most {MAX_STEPS} steps"), 0..pos));
        }
        // What follows.
        match char_at(pos) {
            Some('.') => pos += 1,
            None if !until_eq => return Ok((SetPath { steps }, pos)),
            None => {
                return Err((
                    "expected `path=value`: there is no `=`".to_string(),
                    pos..pos,
                ));
            }
            Some(c) if until_eq && (c == '=' || c == ' ') => {
                let eq = pos + text[pos..].bytes().take_while(|b| *b == b' ').count();
                if bytes.get(eq) == Some(&b'=') {
                    return Ok((SetPath { steps }, eq));
                }
                return Err((format!("expected `=` after the path; {syntax}"), eq..eq + 1));
            }
            Some(c) => {
                let expected = if until_eq {
                    "`.`, `[` or `=`"
                } else {
                    "`.` or `[`"
                };
                return Err((
                    format!("unexpected `{c}` in the path, expected {expected}; {syntax}"),
                    pos..pos + c.len_utf8(),
                ));
            }
        }
    }
}

/// Moves every span of `v` by `offset` (a value parsed from a `--set` string on its own is spanned
/// from 0; the document places that string at `offset`).
pub(crate) fn shift<'i>(v: Spanned<DeValue<'i>>, offset: usize) -> Spanned<DeValue<'i>> {
    let span = v.span();
    let span = span.start + offset..span.end + offset;
    let value = match v.into_inner() {
        DeValue::Table(t) => DeValue::Table(shift_table(t, offset)),
        DeValue::Array(a) => DeValue::Array(
            a.into_iter()
                .map(|item| shift(item, offset))
                .collect::<DeArray<'i>>(),
        ),
        other => other,
    };
    Spanned::new(span, value)
}

fn shift_table(t: DeTable<'_>, offset: usize) -> DeTable<'_> {
    let mut out = DeTable::new();
    for (k, v) in t {
        let span = k.span();
        out.insert(
            Spanned::new(span.start + offset..span.end + offset, k.into_inner()),
            shift(v, offset),
        );
    }
    out
}

/// The value of a `--set`: `text` parsed as a TOML value, or taken as a string if it is not one.
/// `offset` is the virtual offset of `text`.
pub(crate) fn parse_value(text: &str, offset: usize) -> Spanned<DeValue<'_>> {
    // Whitespace around the value is ignored.
    let trimmed = text.trim();
    let start = offset + (text.len() - text.trim_start().len());
    match DeValue::parse(trimmed) {
        Ok(v) => shift(v, start),
        Err(_) => Spanned::new(
            start..start + trimmed.len(),
            DeValue::String(Cow::Borrowed(trimmed)),
        ),
    }
}

/// Sets `path` in `doc` to `value`, creating missing tables on the way.
pub(crate) fn apply<'i>(
    doc: &mut Spanned<DeTable<'i>>,
    path: &SetPath,
    value: Spanned<DeValue<'i>>,
) -> R<()> {
    set_in_table(doc.get_mut(), path, 0, value)
}

fn set_in_table<'i>(
    t: &mut DeTable<'i>,
    path: &SetPath,
    i: usize,
    value: Spanned<DeValue<'i>>,
) -> R<()> {
    let Some(step) = path.steps.get(i) else {
        return Err(Issue::new(0..0, "", "empty path"));
    };
    let (key, span) = match step {
        Step::Key(key, span) => (key, span),
        Step::Index(_, span) => {
            let what = if i == 0 {
                "the scenario".to_string()
            } else {
                format!("`{}`", path.prefix(i))
            };
            return Err(Issue::new(
                span.clone(),
                path.prefix(i),
                format!("{what} is a table, not an array: it takes a key, not an index"),
            ));
        }
    };
    if i + 1 == path.steps.len() {
        t.insert(Spanned::new(span.clone(), Cow::Owned(key.clone())), value);
        return Ok(());
    }
    if !t.contains_key(key.as_str()) {
        t.insert(
            Spanned::new(span.clone(), Cow::Owned(key.clone())),
            Spanned::new(span.clone(), DeValue::Table(DeTable::new())),
        );
    }
    match t.get_mut(key.as_str()) {
        Some(child) => set_in_value(child.get_mut(), path, i + 1, value),
        None => Err(Issue::new(
            span.clone(),
            path.prefix(i + 1),
            "cannot create this key",
        )),
    }
}

fn set_in_value<'i>(
    here: &mut DeValue<'i>,
    path: &SetPath,
    i: usize,
    value: Spanned<DeValue<'i>>,
) -> R<()> {
    let prefix = path.prefix(i);
    match (path.steps.get(i), here) {
        (Some(Step::Key(..)), DeValue::Table(t)) => set_in_table(t, path, i, value),
        (Some(Step::Index(n, span)), DeValue::Array(items)) => {
            let len = items.len();
            let Some(item) = items.get_mut(*n) else {
                let has = match len {
                    0 => "has no entries".to_string(),
                    1 => "has 1 entry (index 0)".to_string(),
                    _ => format!("has {len} entries (indices 0 to {})", len - 1),
                };
                return Err(Issue::new(
                    span.clone(),
                    prefix.clone(),
                    format!("index {n} is out of range: `{prefix}` {has}"),
                ));
            };
            if i + 1 == path.steps.len() {
                *item = value;
                Ok(())
            } else {
                set_in_value(item.get_mut(), path, i + 1, value)
            }
        }
        (Some(Step::Key(key, span)), other) => Err(Issue::new(
            span.clone(),
            prefix.clone(),
            format!(
                "`{prefix}` is {}, not a table, so it has no key `{key}`",
                describe(other)
            ),
        )),
        (Some(Step::Index(_, span)), other) => Err(Issue::new(
            span.clone(),
            prefix.clone(),
            format!(
                "`{prefix}` is {}, not an array, so it cannot be indexed",
                describe(other)
            ),
        )),
        (None, _) => Err(Issue::new(0..0, prefix, "empty path")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(text: &str, until_eq: bool) -> Vec<Step> {
        match parse_path(text, until_eq) {
            Ok((path, _)) => path.steps,
            Err((message, _)) => panic!("{message}"),
        }
    }

    #[test]
    fn paths_have_keys_indices_and_quoted_keys() {
        assert_eq!(
            steps("traffic.profile[2].shoppers_per_s", false),
            vec![
                Step::Key("traffic".into(), 0..7),
                Step::Key("profile".into(), 8..15),
                Step::Index(2, 15..18),
                Step::Key("shoppers_per_s".into(), 19..33),
            ]
        );
        let quoted = steps(r#"variants[0].set."primary.workers" = 4"#, true);
        assert_eq!(quoted[2], Step::Key("set".into(), 12..15));
        assert_eq!(quoted[3], Step::Key("primary.workers".into(), 16..33));
        let (path, eq) = parse_path("a[1][2]=x", true)
            .map_err(|e| e.0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((path.prefix(3), eq), ("a[1][2]".to_string(), 7));
    }

    #[test]
    fn malformed_paths_point_at_the_fault() {
        for (text, span) in [
            ("a.", 2..3),
            ("a[]", 1..3),
            ("a[1", 1..4),
            ("a b", 1..2),
            ("", 0..1),
        ] {
            match parse_path(text, false) {
                Ok(_) => panic!("{text:?} should not parse"),
                Err((_, got)) => assert_eq!(got, span, "{text:?}"),
            }
        }
        assert!(parse_path("a b=1", true).is_err());
        assert!(parse_path("a =1", true).is_ok());
    }

    #[test]
    fn values_that_are_not_toml_are_strings() {
        let v = parse_value(" hello world ", 10);
        assert_eq!(
            (v.span(), v.get_ref().as_str()),
            (11..22, Some("hello world"))
        );
        let v = parse_value(" [1, 2]", 10);
        assert_eq!(v.span(), 11..17);
        assert_eq!(v.get_ref().as_array().map(|a| a[1].span()), Some(15..16));
    }
}
