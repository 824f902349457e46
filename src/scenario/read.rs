//! A typed reader over toml's spanned document tree.
//!
//! The loader reads the document directly rather than through serde structs: every value keeps its
//! span and its path (`replicas[0].workers`), every message has the same shape ("expected …,
//! found …"), and tables that change shape with a tag (`dist`, fault `kind`) are checked key by key
//! against the keys their kind allows.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Issue;

pub(crate) type R<T> = Result<T, Issue>;

/// A value of the document, with its span and its path from the root.
#[derive(Clone)]
pub(crate) struct Val<'a, 'i> {
    pub v: &'a DeValue<'i>,
    pub span: Range<usize>,
    pub path: String,
}

/// A table of the document whose keys have been checked against the keys it allows.
#[derive(Clone)]
pub(crate) struct Tab<'a, 'i> {
    pub t: &'a DeTable<'i>,
    pub span: Range<usize>,
    pub path: String,
}

/// The path of `key` inside the table at `parent`; keys that are not bare TOML keys are quoted.
pub(crate) fn child_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// A short description of a value for "found …" in messages.
pub(crate) fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => {
            let mut shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("the string {shown:?}")
        }
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => format!("the date-time {d}"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// Formats a bound for a message: `86400`, `0.5`, `1e-300`.
pub(crate) fn num(x: f64) -> String {
    format!("{x}")
}

/// `a`, `a` and `b`, `a`, `b` and `c` with each name in backquotes.
pub(crate) fn list_and(names: &[&str]) -> String {
    list(names, "and")
}

/// `a`, `a` or `b`, `a`, `b` or `c` with each name in backquotes.
pub(crate) fn list_or(names: &[&str]) -> String {
    list(names, "or")
}

fn list(names: &[&str], word: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// Longest run the simulator accepts: 30 days.
pub(crate) const MAX_HORIZON_S: f64 = 2_592_000.0;
/// Largest timeout or TTL, in ms: the longest horizon.
pub(crate) const MAX_TIMEOUT_MS: f64 = MAX_HORIZON_S * 1000.0;

/// A duration in ms, in whole µs.
pub(crate) fn ms_to_us(ms: f64) -> u64 {
    // Callers bound `ms` to [0, MAX_TIMEOUT_MS]: the product fits in u64 exactly enough.
    libm::round(ms * 1000.0) as u64
}

/// An interval of allowed numbers, for `Val::number`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Interval {
    pub min: f64,
    /// Whether `min` itself is allowed.
    pub min_inclusive: bool,
    pub max: f64,
}

impl Interval {
    /// [min, max]
    pub const fn closed(min: f64, max: f64) -> Self {
        Interval {
            min,
            min_inclusive: true,
            max,
        }
    }
    /// (min, max]
    pub const fn above(min: f64, max: f64) -> Self {
        Interval {
            min,
            min_inclusive: false,
            max,
        }
    }
    pub fn contains(&self, x: f64) -> bool {
        (if self.min_inclusive {
            x >= self.min
        } else {
            x > self.min
        }) && x <= self.max
    }
    pub fn describe(&self) -> String {
        if self.min_inclusive {
            format!("a number from {} to {}", num(self.min), num(self.max))
        } else {
            format!(
                "a number greater than {} and at most {}",
                num(self.min),
                num(self.max)
            )
        }
    }
}

impl<'a, 'i> Val<'a, 'i> {
    pub fn new(sv: &'a Spanned<DeValue<'i>>, path: String) -> Self {
        Val {
            v: sv.get_ref(),
            span: sv.span(),
            path,
        }
    }

    pub fn issue(&self, message: impl Into<String>) -> Issue {
        Issue::new(self.span.clone(), self.path.clone(), message)
    }

    /// "expected {expected}, found {this value}".
    pub fn expected(&self, expected: &str) -> Issue {
        self.issue(format!("expected {expected}, found {}", describe(self.v)))
    }

    pub fn string(&self) -> R<&'a str> {
        match self.v {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.expected("a string")),
        }
    }

    /// A string that is not empty.
    pub fn name(&self) -> R<&'a str> {
        match self.v {
            DeValue::String(s) if !s.is_empty() => Ok(s.as_ref()),
            _ => Err(self.expected("a non-empty string")),
        }
    }

    pub fn boolean(&self) -> R<bool> {
        match self.v {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.expected("true or false")),
        }
    }

    /// An integer in `min..=max` (`max` None: no upper bound short of the type's).
    pub fn int(&self, min: i128, max: Option<i128>) -> R<i128> {
        let expected = match max {
            Some(max) => format!("an integer from {min} to {max}"),
            None => format!("an integer at least {min}"),
        };
        let DeValue::Integer(i) = self.v else {
            return Err(self.expected(&expected));
        };
        match i128::from_str_radix(i.as_str(), i.radix()) {
            Ok(x) if x >= min && max.is_none_or(|max| x <= max) => Ok(x),
            _ => Err(self.expected(&expected)),
        }
    }

    pub fn u32(&self, min: u32, max: u32) -> R<u32> {
        let x = self.int(min.into(), Some(max.into()))?;
        u32::try_from(x).map_err(|_| self.expected("an integer that fits in 32 bits"))
    }

    pub fn u64(&self, min: u64, max: Option<u64>) -> R<u64> {
        let x = self.int(min.into(), max.map(i128::from))?;
        u64::try_from(x).map_err(|_| self.expected("an integer that fits in 64 bits"))
    }

    /// Any finite number (an integer is taken as a float).
    pub fn finite(&self, expected: &str) -> R<f64> {
        let x = match self.v {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|x| x as f64),
            _ => None,
        };
        match x {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(self.expected(expected)),
        }
    }

    /// A finite number in `range`.
    pub fn number(&self, range: Interval) -> R<f64> {
        self.number_as(range, &range.describe())
    }

    /// A finite number in `range`, described as `expected` in the message.
    pub fn number_as(&self, range: Interval, expected: &str) -> R<f64> {
        let x = self.finite(expected)?;
        if range.contains(x) {
            Ok(x)
        } else {
            Err(self.expected(expected))
        }
    }

    /// One of the names in `options`.
    pub fn one_of<T: Copy>(&self, options: &[(&str, T)]) -> R<T> {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let expected = format!("one of {}", list_or(&names));
        let DeValue::String(s) = self.v else {
            return Err(self.expected(&expected));
        };
        options
            .iter()
            .find(|(n, _)| *n == s.as_ref())
            .map(|(_, t)| *t)
            .ok_or_else(|| self.expected(&expected))
    }

    /// A table whose keys are all in `allowed` (`what` names it in a type error).
    pub fn table(&self, what: &str, allowed: &[&str]) -> R<Tab<'a, 'i>> {
        let tab = self.any_table(what)?;
        tab.only(allowed)?;
        Ok(tab)
    }

    /// A table whose keys the caller checks itself.
    pub fn any_table(&self, what: &str) -> R<Tab<'a, 'i>> {
        match self.v {
            DeValue::Table(t) => Ok(Tab {
                t,
                span: self.span.clone(),
                path: self.path.clone(),
            }),
            _ => Err(self.expected(what)),
        }
    }

    /// The items of an array (`what` names it in a type error).
    pub fn array(&self, what: &str) -> R<Vec<Val<'a, 'i>>> {
        match self.v {
            DeValue::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| Val::new(item, format!("{}[{i}]", self.path)))
                .collect()),
            _ => Err(self.expected(what)),
        }
    }
}

impl<'a, 'i> Tab<'a, 'i> {
    /// The document root.
    pub fn root(doc: &'a Spanned<DeTable<'i>>) -> Self {
        Tab {
            t: doc.get_ref(),
            span: doc.span(),
            path: String::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<Val<'a, 'i>> {
        self.t
            .get(key)
            .map(|v| Val::new(v, child_path(&self.path, key)))
    }

    pub fn has(&self, key: &str) -> bool {
        self.t.contains_key(key)
    }

    /// A key that must be present.
    pub fn req(&self, key: &str) -> R<Val<'a, 'i>> {
        let what = if self.path.is_empty() {
            "the scenario"
        } else {
            "this table"
        };
        self.req_or(key, &format!("missing key `{key}`: {what} needs it"))
    }

    /// A key that must be present, with the message to give when it is not.
    pub fn req_or(&self, key: &str, message: &str) -> R<Val<'a, 'i>> {
        self.get(key)
            .ok_or_else(|| Issue::new(self.span.clone(), child_path(&self.path, key), message))
    }

    /// The key (and its span) that comes first in the text among those not in `allowed`.
    pub fn first_unknown(&self, allowed: &[&str]) -> Option<(&'a str, Range<usize>)> {
        self.t
            .keys()
            .filter(|k| !allowed.contains(&k.get_ref().as_ref()))
            .min_by_key(|k| k.span().start)
            .map(|k| (k.get_ref().as_ref(), k.span()))
    }

    /// The kind of a table tagged by its key `tag` (a distribution's `dist`, a fault's `kind`):
    /// its index in `kinds` (each kind's name and the keys it takes besides the `common` ones),
    /// once the table holds no key that kind does not take. `what` names the table in messages.
    pub fn tagged(
        &self,
        tag: &str,
        what: &str,
        kinds: &[(&str, &[&str])],
        common: &[&str],
    ) -> R<usize> {
        let names: Vec<(&str, usize)> = kinds
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (*n, i))
            .collect();
        let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
        let kind = self
            .req_or(
                tag,
                &format!(
                    "missing key `{tag}`: a {what} needs `{tag}` = {}",
                    list_or(&list)
                ),
            )?
            .one_of(&names)?;
        let (name, own) = kinds[kind];
        let allowed: Vec<&str> = common.iter().chain(own).copied().collect();
        if let Some((key, span)) = self.first_unknown(&allowed) {
            let message = if kinds.iter().any(|(_, k)| k.contains(&key)) {
                format!(
                    "a `{name}` {what} takes {}; `{key}` is not allowed",
                    list_and(own)
                )
            } else {
                format!(
                    "unknown key `{key}`; a `{name}` {what} takes {}",
                    list_and(&allowed)
                )
            };
            return Err(Issue::new(span, child_path(&self.path, key), message));
        }
        Ok(kind)
    }

    /// Fails on the first key not in `allowed`, listing the allowed ones.
    pub fn only(&self, allowed: &[&str]) -> R<()> {
        match self.first_unknown(allowed) {
            None => Ok(()),
            Some((key, span)) => Err(Issue::new(
                span,
                child_path(&self.path, key),
                format!(
                    "unknown key `{key}`; allowed keys here: {}",
                    list_and(allowed)
                ),
            )),
        }
    }

    /// The span of `key` itself (for errors about the key, not its value).
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.t.get_key_value(key).map(|(k, _)| k.span())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_like_prose() {
        assert_eq!(list_and(&["a"]), "`a`");
        assert_eq!(list_and(&["a", "b"]), "`a` and `b`");
        assert_eq!(list_or(&["a", "b", "c"]), "`a`, `b` or `c`");
    }

    #[test]
    fn paths_quote_keys_that_are_not_bare() {
        assert_eq!(child_path("", "name"), "name");
        assert_eq!(
            child_path("variants[0].set", "replicas[0].workers"),
            r#"variants[0].set."replicas[0].workers""#
        );
    }

    #[test]
    fn intervals_describe_themselves() {
        assert_eq!(
            Interval::above(0.0, 86400.0).describe(),
            "a number greater than 0 and at most 86400"
        );
        assert_eq!(
            Interval::closed(0.0, 0.5).describe(),
            "a number from 0 to 0.5"
        );
    }
}
