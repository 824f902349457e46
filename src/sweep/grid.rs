//! Grid specs: which `--set` of a sweep is a swept parameter, and the values it takes.
//!
//! A `--set path=VALUE` is swept when its value is
//! - a range `A..B:STEPS`: `STEPS` points evenly spaced from `A` to `B`, both included (`STEPS`
//!   from 2 to [`MAX_STEPS`]);
//! - or a list `a,b,c`: those values, in that order (at least 2, no duplicates, none containing a
//!   comma).
//!
//! Any other value, and any value that is a TOML value on its own (a quoted string with commas,
//! an array, an inline table), is a plain `--set`.

use serde::{Deserialize, Serialize};
use toml::de::DeValue;

use super::SweepError;

/// Most values one parameter may take.
pub const MAX_STEPS: usize = 1_000;

/// One value of a swept parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridValue {
    Int(i64),
    Float(f64),
    /// A list item that is not a number (`true`, `primary`): passed to `--set` as written.
    Text(String),
}

impl GridValue {
    /// The value as a `--set` writes it (a float always with a `.` or an exponent, so that it
    /// stays a TOML float).
    pub fn set_text(&self) -> String {
        match self {
            GridValue::Int(i) => i.to_string(),
            GridValue::Float(f) => format!("{f:?}"),
            GridValue::Text(t) => t.clone(),
        }
    }

    /// The value as tables and charts label it (shortest form: `1.5`, `400`).
    pub fn label(&self) -> String {
        match self {
            GridValue::Int(i) => i.to_string(),
            GridValue::Float(f) => format!("{f}"),
            GridValue::Text(t) => t.clone(),
        }
    }

    /// The value on a numeric axis, if it is a number.
    pub fn number(&self) -> Option<f64> {
        match self {
            GridValue::Int(i) => Some(*i as f64),
            GridValue::Float(f) => Some(*f),
            GridValue::Text(_) => None,
        }
    }

    /// The value as JSON (a number, or a string).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("plain data")
    }
}

/// A swept parameter: its path, the grid as written, and its values in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    pub path: String,
    /// The value of the `--set` as the user wrote it (`1.1..1.3:5`, `4,8,16`).
    pub grid: String,
    pub values: Vec<GridValue>,
}

impl Parameter {
    /// The `--set` string that gives this parameter its `i`-th value.
    pub fn set_for(&self, i: usize) -> String {
        format!("{}={}", self.path, self.values[i].set_text())
    }
}

/// A number as written in a range: integers stay exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn parse(text: &str) -> Option<Num> {
        let t = text.trim();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return t.parse::<i64>().ok().map(Num::Int);
        }
        // Only plain decimal forms: no `inf`, `nan`, hexadecimal or underscores.
        if !t.bytes().any(|b| b.is_ascii_digit())
            || !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        {
            return None;
        }
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float)
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// What a swept `--set` asks for, before the key's type is known.
#[derive(Clone, Debug, PartialEq)]
pub enum GridSpec {
    Range { a: Num, b: Num, steps: usize },
    List(Vec<GridValue>),
}

/// A `--set` of a sweep, classified.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepSet {
    /// An ordinary override, applied to every run before the swept ones.
    Plain(String),
    /// A swept parameter.
    Swept {
        path: String,
        grid: String,
        spec: GridSpec,
    },
}

/// Splits `path=value` at the first `=` outside a quoted key.
fn split_set(set: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in set.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '=' if !quoted => return Some((&set[..i], &set[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Classifies one `--set` of a sweep. A malformed grid is an error; a `--set` without `=` is left
/// to the scenario loader, which explains the path syntax.
pub fn classify(set: &str) -> Result<SweepSet, SweepError> {
    let Some((path, value)) = split_set(set) else {
        return Ok(SweepSet::Plain(set.to_string()));
    };
    let (path, value) = (path.trim(), value.trim());
    if DeValue::parse(value).is_ok() {
        return Ok(SweepSet::Plain(set.to_string()));
    }
    let bad = |message: String| SweepError::Grid {
        set: set.to_string(),
        message,
    };
    let range_syntax = "a range is `A..B:STEPS` (e.g. `1.1..1.3:5`, `4..16:4`): STEPS values from \
                        A to B, both included";
    let range = value
        .split_once("..")
        .and_then(|(a_text, rest)| Num::parse(a_text).map(|a| (a_text, a, rest)));
    if let Some((a_text, a, rest)) = range {
        let Some((b_text, steps_text)) = rest.rsplit_once(':') else {
            return Err(bad(format!("the range has no `:STEPS`; {range_syntax}")));
        };
        let Some(b) = Num::parse(b_text) else {
            return Err(bad(format!(
                "`{}` is not a number; {range_syntax}",
                b_text.trim()
            )));
        };
        let steps = steps_text.trim().parse::<usize>().map_err(|_| {
            bad(format!(
                "STEPS must be a whole number, found `{}`; {range_syntax}",
                steps_text.trim()
            ))
        })?;
        if !(2..=MAX_STEPS).contains(&steps) {
            return Err(bad(format!(
                "STEPS must be from 2 to {MAX_STEPS}, found {steps}"
            )));
        }
        if a.as_f64() == b.as_f64() {
            return Err(bad(format!(
                "the range is a single value ({}): A and B must differ",
                a_text.trim()
            )));
        }
        return Ok(SweepSet::Swept {
            path: path.to_string(),
            grid: value.to_string(),
            spec: GridSpec::Range { a, b, steps },
        });
    }
    if value.contains(',') {
        let items: Vec<&str> = value.split(',').map(str::trim).collect();
        if items.iter().any(|i| i.is_empty()) {
            return Err(bad(
                "a list `a,b,c` has an empty item; a value with a comma must be quoted (then it \
                 is not swept)"
                    .to_string(),
            ));
        }
        if items.len() > MAX_STEPS {
            return Err(bad(format!("a list may have at most {MAX_STEPS} values")));
        }
        let values: Vec<GridValue> = items.iter().map(|i| list_item(i)).collect();
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(bad(format!("the value `{}` is listed twice", v.label())));
            }
        }
        return Ok(SweepSet::Swept {
            path: path.to_string(),
            grid: value.to_string(),
            spec: GridSpec::List(values),
        });
    }
    Ok(SweepSet::Plain(set.to_string()))
}

/// A list item: a TOML integer or float is a number, anything else text.
fn list_item(item: &str) -> GridValue {
    match DeValue::parse(item).map(|v| v.into_inner()) {
        Ok(DeValue::Integer(i)) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(x) => GridValue::Int(x),
            Err(_) => GridValue::Text(item.to_string()),
        },
        Ok(DeValue::Float(f)) => match f.as_str().parse::<f64>() {
            Ok(x) if x.is_finite() => GridValue::Float(x),
            _ => GridValue::Text(item.to_string()),
        },
        _ => GridValue::Text(item.to_string()),
    }
}

impl GridSpec {
    /// Whether the values depend on the key's type: a range of integers whose points are not all
    /// whole (then an integer key rounds them, a float key keeps the fractions).
    pub fn needs_key_type(&self) -> bool {
        match *self {
            GridSpec::Range {
                a: Num::Int(a),
                b: Num::Int(b),
                steps,
            } => (b as i128 - a as i128) % (steps as i128 - 1) != 0,
            _ => false,
        }
    }

    /// The values. `integer_key`: the key takes integers (only consulted when
    /// [`GridSpec::needs_key_type`]); rounding that makes two points equal is an error.
    pub fn values(&self, integer_key: bool) -> Result<Vec<GridValue>, String> {
        match *self {
            GridSpec::List(ref v) => Ok(v.clone()),
            GridSpec::Range {
                a: Num::Int(a),
                b: Num::Int(b),
                steps,
            } if !self.needs_key_type() || integer_key => {
                // Exact: a + (b − a)·i / (steps − 1), rounded half away from zero.
                let (a, b, d) = (a as i128, b as i128, steps as i128 - 1);
                let out: Vec<GridValue> = (0..=d)
                    .map(|i| {
                        let num = a * d + (b - a) * i;
                        let q = (2 * num.abs() + d) / (2 * d);
                        GridValue::Int((if num < 0 { -q } else { q }) as i64)
                    })
                    .collect();
                for w in out.windows(2) {
                    if w[0] == w[1] {
                        return Err(format!(
                            "the key takes integers and {steps} steps from {a} to {b} would \
                             repeat {}: use at most {} steps, or list the values",
                            w[0].label(),
                            (b - a).abs() + 1
                        ));
                    }
                }
                Ok(out)
            }
            GridSpec::Range { a, b, steps } => {
                let (a, b, d) = (a.as_f64(), b.as_f64(), (steps - 1) as f64);
                Ok((0..steps)
                    .map(|i| {
                        let x = if i == steps - 1 {
                            b
                        } else {
                            a + (b - a) * (i as f64) / d
                        };
                        GridValue::Float(tidy(x))
                    })
                    .collect())
            }
        }
    }
}

/// `x` rounded to 12 significant digits, so that `1.1..1.3:3` gives 1.2, not 1.2000000000000002.
fn tidy(x: f64) -> f64 {
    let t: f64 = format!("{x:.11e}")
        .parse()
        .expect("a formatted float parses");
    if t == 0.0 { 0.0 } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swept(set: &str) -> (String, GridSpec) {
        match classify(set).expect("a valid set") {
            SweepSet::Swept { path, spec, .. } => (path, spec),
            SweepSet::Plain(p) => panic!("`{p}` was taken as a plain set"),
        }
    }

    fn labels(v: &[GridValue]) -> Vec<String> {
        v.iter().map(GridValue::label).collect()
    }

    #[test]
    fn plain_sets_stay_plain() {
        for set in [
            "primary.workers=16",
            "name=a quick try",
            "name=\"a, b\"",
            "faults=[{kind=\"crash-replica\", replica=\"replica-1\", at_s=20, duration_s=10}]",
            "replicas[0].apply_time={ dist = \"constant\", ms = 1 }",
            "no-equals-sign",
        ] {
            assert_eq!(
                classify(set).unwrap(),
                SweepSet::Plain(set.to_string()),
                "{set}"
            );
        }
    }

    #[test]
    fn float_range_is_inclusive_and_tidy() {
        let (path, spec) = swept("background.writes_per_shopper=1.1..1.3:3");
        assert_eq!(path, "background.writes_per_shopper");
        let v = spec.values(false).unwrap();
        assert_eq!(labels(&v), ["1.1", "1.2", "1.3"]);
        assert_eq!(v[1], GridValue::Float(1.2));
        assert_eq!(v[1].set_text(), "1.2");
        let (_, spec) = swept("x=0..1:5");
        assert!(spec.needs_key_type());
        assert_eq!(
            labels(&spec.values(false).unwrap()),
            ["0", "0.25", "0.5", "0.75", "1"]
        );
        assert_eq!(spec.values(false).unwrap()[0].set_text(), "0.0");
    }

    #[test]
    fn integer_ranges_stay_integers() {
        let (_, spec) = swept("primary.workers = 4..16:4");
        assert!(!spec.needs_key_type());
        let v = spec.values(false).unwrap();
        assert_eq!(v, [4, 8, 12, 16].map(GridValue::Int));
        // Points that are not whole: an integer key rounds them (half away from zero).
        let (_, spec) = swept("primary.workers=1..4:3");
        assert!(spec.needs_key_type());
        assert_eq!(
            spec.values(true).unwrap(),
            [1, 3, 4].map(GridValue::Int),
            "1, 2.5 → 3, 4"
        );
        assert_eq!(
            labels(&spec.values(false).unwrap()),
            ["1", "2.5", "4"],
            "a float key keeps the fraction"
        );
        // Descending and negative ranges.
        let (_, spec) = swept("x=-2..-8:4");
        assert_eq!(
            spec.values(true).unwrap(),
            [-2, -4, -6, -8].map(GridValue::Int)
        );
        // Too many steps for the integers in the range.
        let (_, spec) = swept("primary.workers=1..3:5");
        let e = spec.values(true).unwrap_err();
        assert!(e.contains("at most 3 steps"), "{e}");
    }

    #[test]
    fn lists_keep_their_order_and_types() {
        let (path, spec) = swept("\"variants\"[0].x=8,2,4.5,primary");
        assert_eq!(path, "\"variants\"[0].x");
        assert_eq!(
            spec.values(false).unwrap(),
            [
                GridValue::Int(8),
                GridValue::Int(2),
                GridValue::Float(4.5),
                GridValue::Text("primary".into())
            ]
        );
    }

    #[test]
    fn bad_grids_are_explained() {
        for (set, needle) in [
            ("x=1..2", "no `:STEPS`"),
            ("x=1..y:3", "`y` is not a number"),
            ("x=1..2:1", "from 2 to 1000"),
            ("x=1..2:1001", "from 2 to 1000"),
            ("x=1..2:three", "whole number"),
            ("x=2..2:3", "single value"),
            ("x=1,,2", "empty item"),
            ("x=1,2,1", "listed twice"),
        ] {
            let e = classify(set).unwrap_err().to_string();
            assert!(e.contains(needle), "{set}: {e}");
            assert!(e.starts_with(&format!("--set {set}: ")), "{e}");
        }
    }
}
