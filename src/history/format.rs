//! lagsim's history format: JSON lines, versioned, documented in docs/history-format.md.
//!
//! A file holds one or more histories (one per variant of a run). Each starts with a header line
//! naming the format version, its source and its keys; every following line is one operation,
//! with both its invocation and its completion. Writing then reading gives back the same
//! [`History`].
//!
//! This module owns encoding and decoding only; it writes to any `io::Write` and reads from a
//! string, and never opens files itself.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

use serde::Deserialize;

use crate::history::{
    FORMAT_VERSION, Func, History, HistoryBuilder, KeyKind, Operation, Outcome, Source, TimeUnit,
};

/// Writes `history` as a header line and one line per operation.
pub fn write_history(history: &History, out: &mut impl Write) -> io::Result<()> {
    let json = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let mut header = format!("{{\"lagsim_history\":{FORMAT_VERSION}");
    let src = &history.source;
    if let Some(s) = &src.scenario {
        header += &format!(",\"scenario\":{}", json(s));
    }
    if let Some(v) = &src.variant {
        header += &format!(",\"variant\":{}", json(v));
    }
    if let Some(seed) = src.seed {
        header += &format!(",\"seed\":{seed}");
    }
    let unit = match history.time_unit {
        TimeUnit::Micros => "us",
        TimeUnit::Index => "index",
    };
    header += &format!(",\"time_unit\":\"{unit}\",\"keys\":[");
    for (i, k) in history.keys.iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        header += &format!(
            "{{\"key\":{},\"kind\":\"{}\",\"initial\":{},\"initial_version\":{}}}",
            json(&k.name),
            k.kind.name(),
            opt(k.initial),
            opt(k.initial_version)
        );
    }
    header += "]}\n";
    out.write_all(header.as_bytes())?;

    // Names are escaped once, not once per operation.
    let keys: Vec<String> = history.keys.iter().map(|k| json(&k.name)).collect();
    let processes: Vec<String> = history.processes.iter().map(|p| json(p)).collect();
    for op in &history.ops {
        write!(
            out,
            "{{\"process\":{},\"key\":{},\"f\":\"{}\"",
            processes[op.process.0 as usize],
            keys[op.key.0 as usize],
            op.func.name()
        )?;
        match op.func {
            Func::Read => {}
            Func::Write { value } => write!(out, ",\"write_value\":{value}")?,
            Func::Cas { from, to } => write!(out, ",\"from\":{from},\"to\":{to}")?,
            Func::Decrement { qty, .. } => write!(out, ",\"qty\":{qty}")?,
        }
        write!(
            out,
            ",\"type\":\"{}\",\"invoke\":{},\"complete\":{}",
            op.outcome.name(),
            op.invoke,
            opt(op.complete)
        )?;
        if op.outcome == Outcome::Ok {
            write!(out, ",\"value\":{}", opt(op.value))?;
        }
        if let Some(v) = op.version {
            write!(out, ",\"version\":{v}")?;
        }
        out.write_all(b"}\n")?;
    }
    Ok(())
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// A line of a history file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.origin, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for FormatError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderLine {
    lagsim_history: u64,
    scenario: Option<String>,
    variant: Option<String>,
    seed: Option<u64>,
    time_unit: String,
    keys: Vec<KeyLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyLine {
    key: String,
    kind: String,
    initial: Option<i64>,
    initial_version: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpLine {
    process: String,
    key: String,
    f: String,
    #[serde(rename = "type")]
    outcome: String,
    invoke: u64,
    complete: Option<u64>,
    #[serde(default)]
    value: Option<i64>,
    version: Option<u64>,
    write_value: Option<i64>,
    from: Option<i64>,
    to: Option<i64>,
    qty: Option<i64>,
}

/// One history being read, with where each process's last operation ended.
struct Reading {
    builder: HistoryBuilder,
    /// Per process: the line and completion of its latest finished operation.
    last: BTreeMap<String, (usize, u64)>,
}

/// Reads every history in `text` (lagsim's JSON-lines format), in file order.
pub fn read_histories(origin: &str, text: &str) -> Result<Vec<History>, FormatError> {
    let mut done = Vec::new();
    let mut current: Option<Reading> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |column: usize, message: String| FormatError {
            origin: origin.to_string(),
            line: n,
            column,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| err(e.column(), e.to_string()))?;
        let is_header = value.get("lagsim_history").is_some();
        if is_header {
            let h: HeaderLine =
                serde_json::from_value(value).map_err(|e| err(1, format!("header: {e}")))?;
            if let Some(r) = current.take() {
                done.push(r.builder.finish());
            }
            current = Some(header(h).map_err(|m| err(1, m))?);
            continue;
        }
        let Some(reading) = current.as_mut() else {
            return Err(err(
                1,
                "the first line must be a header ({\"lagsim_history\": 1, ...}); \
                 see docs/history-format.md"
                    .into(),
            ));
        };
        let op: OpLine =
            serde_json::from_value(value).map_err(|e| err(1, format!("operation: {e}")))?;
        operation(reading, op, n).map_err(|m| err(1, m))?;
    }
    if let Some(r) = current {
        done.push(r.builder.finish());
    }
    Ok(done)
}

fn header(h: HeaderLine) -> Result<Reading, String> {
    if h.lagsim_history != FORMAT_VERSION {
        return Err(format!(
            "history format version {} is not supported; this lagsim reads version \
             {FORMAT_VERSION}",
            h.lagsim_history
        ));
    }
    let time_unit = match h.time_unit.as_str() {
        "us" => TimeUnit::Micros,
        "index" => TimeUnit::Index,
        other => {
            return Err(format!(
                "`time_unit` is \"{other}\"; allowed: \"us\" (microseconds), \"index\""
            ));
        }
    };
    let source = Source {
        scenario: h.scenario,
        variant: h.variant,
        seed: h.seed,
    };
    let mut builder = HistoryBuilder::new(source, time_unit);
    for k in h.keys {
        let kind = KeyKind::from_name(&k.kind).ok_or_else(|| {
            format!(
                "key `{}` has kind \"{}\"; allowed: {}",
                k.key,
                k.kind,
                names(KeyKind::ALL.map(KeyKind::name))
            )
        })?;
        if builder.key_named(&k.key).is_some() {
            return Err(format!("key `{}` is declared twice", k.key));
        }
        builder.key(&k.key, kind, k.initial, k.initial_version);
    }
    Ok(Reading {
        builder,
        last: BTreeMap::new(),
    })
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.map(|n| format!("\"{n}\"")).join(", ")
}

fn operation(r: &mut Reading, op: OpLine, line: usize) -> Result<(), String> {
    let key = r
        .builder
        .key_named(&op.key)
        .ok_or_else(|| format!("key `{}` is not declared in the header's `keys`", op.key))?;
    let need = |v: Option<i64>, field: &str| {
        v.ok_or_else(|| format!("a `{}` operation needs `{field}`", op.f))
    };
    let func = match op.f.as_str() {
        "read" => Func::Read,
        "write" => Func::Write {
            value: need(op.write_value, "write_value")?,
        },
        "cas" => Func::Cas {
            from: need(op.from, "from")?,
            to: need(op.to, "to")?,
        },
        "decrement" | "conditional-decrement" => Func::Decrement {
            qty: need(op.qty, "qty")?,
            conditional: op.f == "conditional-decrement",
        },
        other => {
            return Err(format!(
                "`f` is \"{other}\"; allowed: {}",
                names(["read", "write", "cas", "decrement", "conditional-decrement"])
            ));
        }
    };
    let outcome = match op.outcome.as_str() {
        "ok" => Outcome::Ok,
        "fail" => Outcome::Fail,
        "info" => Outcome::Info,
        other => {
            return Err(format!(
                "`type` is \"{other}\"; allowed: \"ok\", \"fail\", \"info\" (unknown outcome)"
            ));
        }
    };
    match (outcome, op.complete) {
        (Outcome::Ok | Outcome::Fail, None) => {
            return Err(format!(
                "an operation of type \"{}\" needs `complete` (only \"info\" may lack it)",
                op.outcome
            ));
        }
        (_, Some(c)) if c < op.invoke => {
            return Err(format!(
                "`complete` ({c}) is before `invoke` ({})",
                op.invoke
            ));
        }
        _ => {}
    }
    if outcome != Outcome::Ok && op.value.is_some() {
        return Err(format!(
            "`value` is the result of an \"ok\" operation; this one is \"{}\"",
            op.outcome
        ));
    }
    // A process runs one operation at a time; one it gave up on (info) no longer counts.
    if let Some(&(prev_line, prev_end)) = r.last.get(&op.process)
        && op.invoke < prev_end
    {
        return Err(format!(
            "process `{}` invokes at {} before its operation on line {prev_line} completed \
             (at {prev_end}); a process runs one operation at a time",
            op.process, op.invoke
        ));
    }
    if outcome != Outcome::Info
        && let Some(c) = op.complete
    {
        r.last.insert(op.process.clone(), (line, c));
    }
    let process = r.builder.process(&op.process);
    r.builder.push(Operation {
        process,
        key,
        func,
        outcome,
        invoke: op.invoke,
        complete: op.complete,
        value: op.value,
        version: op.version,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{KeyId, ProcessId};

    fn sample() -> History {
        let mut b = HistoryBuilder::new(
            Source {
                scenario: Some("demo \"quoted\"".into()),
                variant: Some("replica-read".into()),
                seed: Some(7),
            },
            TimeUnit::Micros,
        );
        let k = b.key("stock/console", KeyKind::Stock, Some(3), Some(0));
        let p = b.key("profile/0", KeyKind::Profile, Some(0), Some(0));
        let a = b.process("shopper-0");
        let c = b.process("session-0");
        let ops = [
            (
                a,
                k,
                Func::Read,
                Outcome::Ok,
                10,
                Some(20),
                Some(3),
                Some(0),
            ),
            (
                a,
                k,
                Func::Decrement {
                    qty: 2,
                    conditional: true,
                },
                Outcome::Fail,
                30,
                Some(40),
                None,
                None,
            ),
            (
                a,
                k,
                Func::Cas { from: 3, to: 1 },
                Outcome::Ok,
                50,
                Some(60),
                Some(1),
                Some(1),
            ),
            (
                c,
                p,
                Func::Write { value: 9 },
                Outcome::Info,
                15,
                None,
                None,
                None,
            ),
            (
                a,
                k,
                Func::Decrement {
                    qty: 1,
                    conditional: false,
                },
                Outcome::Info,
                70,
                Some(90),
                None,
                None,
            ),
        ];
        for (process, key, func, outcome, invoke, complete, value, version) in ops {
            b.push(Operation {
                process,
                key,
                func,
                outcome,
                invoke,
                complete,
                value,
                version,
            });
        }
        b.finish()
    }

    fn written(h: &History) -> String {
        let mut out = Vec::new();
        write_history(h, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn round_trip_gives_back_the_same_history() {
        let h = sample();
        let text = written(&h);
        assert_eq!(text.lines().count(), 6);
        let back = read_histories("h.jsonl", &text).unwrap();
        assert_eq!(back, vec![h.clone()]);
        // Two histories in one file (two variants), read in order.
        let two = format!("{text}{text}");
        assert_eq!(read_histories("h.jsonl", &two).unwrap(), vec![h.clone(), h]);
    }

    #[test]
    fn operations_are_one_line_each_with_their_arguments() {
        let text = written(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"lagsim_history":1,"scenario":"demo \"quoted\"","variant":"replica-read","seed":7,"time_unit":"us","keys":[{"key":"stock/console","kind":"stock","initial":3,"initial_version":0},{"key":"profile/0","kind":"profile","initial":0,"initial_version":0}]}"#
        );
        assert_eq!(
            lines[1],
            r#"{"process":"shopper-0","key":"stock/console","f":"read","type":"ok","invoke":10,"complete":20,"value":3,"version":0}"#
        );
        assert_eq!(
            lines[2],
            r#"{"process":"session-0","key":"profile/0","f":"write","write_value":9,"type":"info","invoke":15,"complete":null}"#
        );
        assert!(lines[3].contains(r#""f":"conditional-decrement","qty":2,"type":"fail""#));
        assert!(lines[4].contains(r#""f":"cas","from":3,"to":1,"type":"ok""#));
    }

    fn error(text: &str) -> String {
        read_histories("h.jsonl", text).unwrap_err().to_string()
    }

    const HEADER: &str = r#"{"lagsim_history":1,"time_unit":"us","keys":[{"key":"x","kind":"register","initial":null,"initial_version":null}]}"#;

    #[test]
    fn bad_lines_name_their_line_and_what_is_allowed() {
        let op = |s: &str| format!("{HEADER}\n{s}\n");
        let cases = [
            (
                r#"{"process":"p","key":"x","f":"read","type":"ok","invoke":1,"complete":2,"value":1}"#
                    .to_string(),
                "h.jsonl:1:1: the first line must be a header",
            ),
            (
                op(r#"{"process":"p","key":"y","f":"read","type":"ok","invoke":1,"complete":2}"#),
                "h.jsonl:2:1: key `y` is not declared",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"add","type":"ok","invoke":1,"complete":2}"#),
                "`f` is \"add\"; allowed: \"read\", \"write\"",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"write","type":"ok","invoke":1,"complete":2}"#),
                "a `write` operation needs `write_value`",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"read","type":"done","invoke":1,"complete":2}"#),
                "`type` is \"done\"; allowed: \"ok\", \"fail\", \"info\"",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"read","type":"ok","invoke":3,"complete":2}"#),
                "`complete` (2) is before `invoke` (3)",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"read","type":"ok","invoke":3,"complete":null}"#),
                "needs `complete`",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"read","type":"ok","invoke":1,"complete":2,"colour":1}"#),
                "h.jsonl:2:1: operation: unknown field `colour`",
            ),
            (
                op(r#"{"process":"p","key":"x","f":"read","type":"ok","invoke":1,"#),
                "h.jsonl:2:",
            ),
            (
                HEADER.replace(":1,", ":2,"),
                "history format version 2 is not supported",
            ),
            (
                HEADER.replace("register", "queue"),
                "kind \"queue\"; allowed: \"stock\", \"profile\", \"register\"",
            ),
            (
                op(
                    "{\"process\":\"p\",\"key\":\"x\",\"f\":\"read\",\"type\":\"ok\",\"invoke\":1,\"complete\":5}\n\
                     {\"process\":\"p\",\"key\":\"x\",\"f\":\"read\",\"type\":\"ok\",\"invoke\":4,\"complete\":6}",
                ),
                "process `p` invokes at 4 before its operation on line 2 completed (at 5)",
            ),
        ];
        for (text, expected) in cases {
            let e = error(&text);
            assert!(e.contains(expected), "{e:?} should contain {expected:?}");
        }
    }

    #[test]
    fn an_unfinished_info_operation_does_not_block_its_process() {
        let text = format!(
            "{HEADER}\n\
             {{\"process\":\"p\",\"key\":\"x\",\"f\":\"write\",\"write_value\":1,\"type\":\"info\",\"invoke\":1,\"complete\":null}}\n\
             {{\"process\":\"p\",\"key\":\"x\",\"f\":\"read\",\"type\":\"ok\",\"invoke\":4,\"complete\":6,\"value\":null}}\n"
        );
        let h = &read_histories("h.jsonl", &text).unwrap()[0];
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[1].value, None);
        assert_eq!((h.ops[0].process, h.ops[0].key), (ProcessId(0), KeyId(0)));
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// Every truncation and a set of single-character edits of a valid file: each read ends in
    /// histories or an error that names a line inside the text, never a panic.
    #[test]
    fn no_mutation_of_a_valid_file_panics() {
        let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
        let k = b.key("stock/x", KeyKind::Stock, Some(2), Some(0));
        let p = b.process("shopper-0");
        let q = b.process("shopper-1");
        for (process, func, invoke, complete, outcome) in [
            (p, Func::Read, 1, Some(5), Outcome::Ok),
            (q, Func::Cas { from: 2, to: 1 }, 2, Some(6), Outcome::Fail),
            (p, Func::Write { value: 9 }, 7, None, Outcome::Info),
        ] {
            b.push(Operation {
                process,
                key: k,
                func,
                outcome,
                invoke,
                complete,
                value: (outcome == Outcome::Ok).then_some(2),
                version: Some(0),
            });
        }
        let mut bytes = Vec::new();
        write_history(&b.finish(), &mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let lines = text.lines().count();
        let mut texts: Vec<String> = (0..text.len())
            .filter(|&i| text.is_char_boundary(i))
            .map(|i| text[..i].to_string())
            .collect();
        for (i, _) in text.char_indices() {
            for edit in [
                "",
                "0",
                "-",
                "\"",
                "}",
                "{",
                "\n",
                "9999999999999999999999",
                "null",
            ] {
                texts.push(format!("{}{edit}{}", &text[..i], &text[i + 1..]));
            }
        }
        for t in &texts {
            if let Err(e) = read_histories("h.jsonl", t) {
                assert!(e.line >= 1 && e.line <= lines + 2, "{e} for {t:?}");
            }
        }
        assert!(texts.len() >= text.len() * 10);
    }
}
