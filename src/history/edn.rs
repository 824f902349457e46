//! Jepsen/Knossos EDN histories of registers and cas-registers, read into a [`History`].
//!
//! This module owns two things: a small EDN reader (every value with the line and column it
//! starts at, so each error points at the text to fix), and the translation of Jepsen's event
//! list (`:invoke`, then `:ok`/`:fail`/`:info` of the same process) into operations.
//!
//! The file is either a sequence of operation maps or one vector (or list) holding them. A map
//! may also be a tagged record such as `#jepsen.history.Op{…}`, as newer Jepsen prints them.
//! Each map's `:process`, `:type`, `:f`, `:value` and optional `:key` are read; every other key
//! (`:time`, `:index`, `:error`, …) is ignored. Operations of a keyword process (`:nemesis`) are
//! the fault injector, not clients, and are skipped. EDN histories carry no clock, so times are
//! positions in the event list ([`TimeUnit::Index`]), nemesis events included.
//!
//! Without `:key`, every operation is on one key named `register`. A Jepsen "independent" tuple
//! (`:value [k v]`) cannot be told apart from a cas `[from to]`, so it is not read as a key.

use std::collections::BTreeMap;
use std::fmt;

use crate::history::{
    Func, History, HistoryBuilder, KeyId, KeyKind, Operation, Outcome, ProcessId, Source, TimeUnit,
};

/// Which functions a history may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterModel {
    /// `:read` and `:write`.
    Register,
    /// `:read`, `:write` and `:cas`.
    CasRegister,
}

impl RegisterModel {
    pub const ALL: [RegisterModel; 2] = [RegisterModel::Register, RegisterModel::CasRegister];

    pub fn name(self) -> &'static str {
        match self {
            RegisterModel::Register => "register",
            RegisterModel::CasRegister => "cas-register",
        }
    }

    pub fn from_name(s: &str) -> Option<RegisterModel> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// An EDN history that cannot be read, with the place to fix it.
///
/// Displays as `origin:line:column: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnError {
    /// The file name given to [`parse_edn_history`].
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.origin, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for EdnError {}

impl EdnError {
    fn new(origin: &str, at: Pos, message: impl Into<String>) -> Self {
        EdnError {
            origin: origin.to_string(),
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }
}

/// Reads the Jepsen/Knossos history in `text` (from the file `origin`, named in errors).
///
/// Operations are paired per process: an `:invoke` opens one, the process's next `:ok`, `:fail`
/// or `:info` completes it. An invocation still open at the end of the file is `Info` with no
/// completion time. Keys are registers that start as nil; processes are named `process N`.
pub fn parse_edn_history(
    origin: &str,
    text: &str,
    model: RegisterModel,
) -> Result<History, EdnError> {
    let mut reader = Reader::new(origin, text);
    let mut events = Events::new(origin, model);
    let Some(first) = reader.next_top()? else {
        return Ok(events.finish());
    };
    match first.kind {
        Kind::Vector(items) | Kind::List(items) => {
            for item in &items {
                events.event(item)?;
            }
            if let Some(extra) = reader.next_top()? {
                return Err(reader.error(
                    extra.at,
                    format!(
                        "the file is one collection of operations (opened at {}), so nothing may \
                         follow it; found {}",
                        first.at,
                        describe(&extra)
                    ),
                ));
            }
        }
        _ => {
            events.event(&first)?;
            while let Some(v) = reader.next_top()? {
                events.event(&v)?;
            }
        }
    }
    Ok(events.finish())
}

// ---------------------------------------------------------------------------------------------
// EDN values and their reader.

/// Where a value starts: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Value {
    at: Pos,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Char(char),
    /// The name without its leading `:`.
    Keyword(String),
    Symbol(String),
    List(Vec<Value>),
    Vector(Vec<Value>),
    Set(Vec<Value>),
    /// Entries in the order written.
    Map(Vec<(Value, Value)>),
    /// `#tag value`; the tag without its `#`.
    Tagged(String, Box<Value>),
}

/// A short description of a value for "found …" in messages.
fn describe(v: &Value) -> String {
    fn count(n: usize) -> String {
        match n {
            0 => "empty".to_string(),
            1 => "of 1 value".to_string(),
            n => format!("of {n} values"),
        }
    }
    match &v.kind {
        Kind::Nil => "nil".to_string(),
        Kind::Bool(b) => format!("`{b}`"),
        Kind::Int(i) => format!("the integer {i}"),
        Kind::Float(x) => format!("the float {x}"),
        Kind::Str(s) => {
            let mut shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("the string {shown:?}")
        }
        Kind::Char(c) => format!("the character `\\{c}`"),
        Kind::Keyword(k) => format!("the keyword `:{k}`"),
        Kind::Symbol(s) => format!("the symbol `{s}`"),
        Kind::List(items) if items.is_empty() => "an empty list".to_string(),
        Kind::List(items) => format!("a list {}", count(items.len())),
        Kind::Vector(items) if items.is_empty() => "an empty vector".to_string(),
        Kind::Vector(items) => format!("a vector {}", count(items.len())),
        Kind::Set(items) => format!("a set {}", count(items.len())),
        Kind::Map(entries) => match entries.len() {
            0 => "an empty map".to_string(),
            1 => "a map of 1 entry".to_string(),
            n => format!("a map of {n} entries"),
        },
        Kind::Tagged(tag, _) => format!("the tagged literal `#{tag}`"),
    }
}

/// Collections, tags and discards nest no deeper than this, so that no input can exhaust the
/// stack; a history needs three levels.
const MAX_DEPTH: usize = 200;

const ALLOWED_VALUES: &str = "an EDN value (a map `{}`, vector `[]`, list `()`, set `#{}`, \
     string, number, keyword, symbol, character, nil, true or false)";

/// What the reader finds next, once whitespace, comments and discarded values are skipped.
enum Item {
    Value(Value),
    /// A closing `)`, `]` or `}`.
    Close(char, Pos),
    Eof,
}

struct Reader<'t> {
    origin: &'t str,
    text: &'t str,
    /// Byte offset of the next character; always on a character boundary.
    pos: usize,
    line: usize,
    column: usize,
}

fn is_whitespace(c: char) -> bool {
    // Commas are whitespace in EDN; a byte-order mark is tolerated like a space.
    c.is_whitespace() || c == ',' || c == '\u{feff}'
}

/// Ends a symbol, keyword, number or tag.
fn is_delimiter(c: char) -> bool {
    is_whitespace(c) || matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';')
}

fn is_symbol_char(c: char) -> bool {
    c.is_alphanumeric() || ".*+!-_?$%&=<>/:#'".contains(c)
}

fn is_symbol_start(c: char) -> bool {
    c.is_alphabetic() || ".*+!-_?$%&=<>/".contains(c)
}

impl<'t> Reader<'t> {
    fn new(origin: &'t str, text: &'t str) -> Self {
        Reader {
            origin,
            text,
            pos: 0,
            line: 1,
            column: 1,
        }
    }

    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn error(&self, at: Pos, message: impl Into<String>) -> EdnError {
        EdnError::new(self.origin, at, message)
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.text[self.pos..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if is_whitespace(c) {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// Consumes characters up to the next delimiter.
    fn token(&mut self) -> &'t str {
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_delimiter(c)) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    /// The next top-level value; `None` at the end of the text.
    fn next_top(&mut self) -> Result<Option<Value>, EdnError> {
        match self.item(0)? {
            Item::Value(v) => Ok(Some(v)),
            Item::Eof => Ok(None),
            Item::Close(c, at) => Err(self.error(
                at,
                format!("unexpected `{c}`: no {} is open here", opener_name(c)),
            )),
        }
    }

    /// The next value, closing delimiter or end of the text, skipping blanks and discarded
    /// values; `depth` is how deep in collections, tags and discards it is.
    fn item(&mut self, depth: usize) -> Result<Item, EdnError> {
        loop {
            self.skip_blank();
            let at = self.here();
            if depth > MAX_DEPTH {
                return Err(self.error(
                    at,
                    format!("values nest more than {MAX_DEPTH} levels deep here"),
                ));
            }
            let Some(c) = self.peek() else {
                return Ok(Item::Eof);
            };
            let kind = match c {
                ')' | ']' | '}' => {
                    self.bump();
                    return Ok(Item::Close(c, at));
                }
                '(' | '[' | '{' => {
                    self.bump();
                    self.collection(c, at, depth + 1)?
                }
                '"' => Kind::Str(self.string(at)?),
                '\\' => Kind::Char(self.character(at)?),
                ':' => self.keyword(at)?,
                '#' => match self.dispatch(at, depth)? {
                    Some(kind) => kind,
                    // A discarded value: read on.
                    None => continue,
                },
                c if c.is_ascii_digit() => self.number(at)?,
                '+' | '-' if self.peek2().is_some_and(|d| d.is_ascii_digit()) => self.number(at)?,
                c if is_symbol_start(c) => self.symbol(at)?,
                other => {
                    return Err(self.error(
                        at,
                        format!("unexpected character `{other}`: expected {ALLOWED_VALUES}"),
                    ));
                }
            };
            return Ok(Item::Value(Value { at, kind }));
        }
    }

    /// A keyword whose `:` is at `at` (not yet consumed).
    fn keyword(&mut self, at: Pos) -> Result<Kind, EdnError> {
        self.bump();
        let name = self.token();
        if name.is_empty() {
            return Err(self.error(
                at,
                "`:` must be followed by a keyword name, as in `:ok` or `:jepsen/op`",
            ));
        }
        self.check_symbol(at, name, "keyword")?;
        Ok(Kind::Keyword(name.to_string()))
    }

    /// A symbol, or `nil`, `true` or `false`.
    fn symbol(&mut self, at: Pos) -> Result<Kind, EdnError> {
        let name = self.token();
        self.check_symbol(at, name, "symbol")?;
        Ok(match name {
            "nil" => Kind::Nil,
            "true" => Kind::Bool(true),
            "false" => Kind::Bool(false),
            _ => Kind::Symbol(name.to_string()),
        })
    }

    /// What a `#` at `at` (not yet consumed) starts: a set, a symbolic value or a tagged value;
    /// `None` for a discard `#_`, whose value is read and dropped.
    fn dispatch(&mut self, at: Pos, depth: usize) -> Result<Option<Kind>, EdnError> {
        match self.peek2() {
            Some('{') => {
                self.bump();
                self.bump();
                self.collection('#', at, depth + 1).map(Some)
            }
            Some('_') => {
                self.bump();
                self.bump();
                self.discard(at, depth).map(|()| None)
            }
            Some('#') => {
                self.bump();
                self.bump();
                self.symbolic(at).map(Some)
            }
            Some(c) if c.is_alphabetic() => {
                self.bump();
                self.tagged(at, depth).map(Some)
            }
            _ => Err(self.error(
                at,
                "`#` must start a set `#{…}`, a discard `#_`, a symbolic value such as `##Inf`, \
                 or a tagged literal such as `#inst \"…\"`",
            )),
        }
    }

    /// The value after a `#_` at `at`, dropped.
    fn discard(&mut self, at: Pos, depth: usize) -> Result<(), EdnError> {
        match self.item(depth + 1)? {
            Item::Value(_) => Ok(()),
            Item::Close(c, _) => Err(self.error(
                at,
                format!("`#_` must be followed by a value to discard, found `{c}`"),
            )),
            Item::Eof => Err(self.error(
                at,
                "`#_` must be followed by a value to discard, found the end of the file",
            )),
        }
    }

    /// `##Inf`, `##-Inf` or `##NaN`, its `##` consumed.
    fn symbolic(&mut self, at: Pos) -> Result<Kind, EdnError> {
        match self.token() {
            "Inf" => Ok(Kind::Float(f64::INFINITY)),
            "-Inf" => Ok(Kind::Float(f64::NEG_INFINITY)),
            "NaN" => Ok(Kind::Float(f64::NAN)),
            other => Err(self.error(
                at,
                format!(
                    "unknown symbolic value `##{other}`: allowed are `##Inf`, `##-Inf` and `##NaN`"
                ),
            )),
        }
    }

    /// `#tag value`, its `#` consumed.
    fn tagged(&mut self, at: Pos, depth: usize) -> Result<Kind, EdnError> {
        let tag = self.token();
        self.check_symbol(at, tag, "tag")?;
        match self.item(depth + 1)? {
            Item::Value(v) => Ok(Kind::Tagged(tag.to_string(), Box::new(v))),
            _ => Err(self.error(
                at,
                format!(
                    "the tag `#{tag}` must be followed by the value it tags, as in `#inst \
                     \"2024-01-01T00:00:00Z\"`"
                ),
            )),
        }
    }

    fn check_symbol(&self, at: Pos, name: &str, what: &str) -> Result<(), EdnError> {
        match name.chars().find(|&c| !is_symbol_char(c)) {
            None => Ok(()),
            Some(bad) => Err(self.error(
                at,
                format!(
                    "`{bad}` cannot appear in a {what}: symbols, keywords and tags are made of \
                     letters, digits and `.*+!-_?$%&=<>/:#'`"
                ),
            )),
        }
    }

    /// The elements of a collection whose opening character (`#` for a set) is consumed.
    fn collection(&mut self, open: char, at: Pos, depth: usize) -> Result<Kind, EdnError> {
        let (close, name, opener) = match open {
            '(' => (')', "list", "("),
            '[' => (']', "vector", "["),
            '{' => ('}', "map", "{"),
            _ => ('}', "set", "#{"),
        };
        let mut items = Vec::new();
        loop {
            match self.item(depth)? {
                Item::Value(v) => items.push(v),
                Item::Close(c, _) if c == close => break,
                Item::Close(c, end) => {
                    return Err(self.error(
                        end,
                        format!(
                            "expected `{close}` to close the {name} opened at {at}, found `{c}`"
                        ),
                    ));
                }
                Item::Eof => {
                    return Err(self.error(
                        at,
                        format!(
                            "unterminated {name}: this `{opener}` has no closing `{close}` before \
                             the end of the file"
                        ),
                    ));
                }
            }
        }
        Ok(match open {
            '(' => Kind::List(items),
            '[' => Kind::Vector(items),
            '#' => Kind::Set(items),
            _ => {
                if items.len() % 2 == 1
                    && let Some(key) = items.last()
                {
                    return Err(self.error(
                        key.at,
                        format!(
                            "the map opened at {at} has a key without a value: {} needs a value \
                             after it",
                            describe(key)
                        ),
                    ));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Kind::Map(entries)
            }
        })
    }

    /// A string whose opening `"` is at `at` (not yet consumed).
    fn string(&mut self, at: Pos) -> Result<String, EdnError> {
        let unterminated = |r: &Self| {
            r.error(
                at,
                "unterminated string: this `\"` has no closing `\"` before the end of the file",
            )
        };
        self.bump();
        let mut s = String::new();
        loop {
            let esc_at = self.here();
            match self.bump() {
                None => return Err(unterminated(self)),
                Some('"') => return Ok(s),
                Some('\\') => {
                    let c = match self.bump() {
                        None => return Err(unterminated(self)),
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('n') => '\n',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('u') => self.unicode_escape(esc_at)?,
                        _ => {
                            return Err(self.error(
                                esc_at,
                                "unknown escape in a string: allowed are `\\t`, `\\r`, `\\n`, \
                                 `\\b`, `\\f`, `\\\"`, `\\\\` and `\\uXXXX`",
                            ));
                        }
                    };
                    s.push(c);
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// The character of a `\uXXXX` escape whose `\u` is consumed; Clojure writes characters
    /// outside the Basic Multilingual Plane as a UTF-16 surrogate pair of two escapes.
    fn unicode_escape(&mut self, at: Pos) -> Result<char, EdnError> {
        let high = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&high)
            && self.peek() == Some('\\')
            && self.peek2() == Some('u')
        {
            let low_at = self.here();
            self.bump();
            self.bump();
            let low = self.hex4(low_at)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error(
                    low_at,
                    format!("`\\u{low:04x}` cannot follow the high surrogate `\\u{high:04x}`"),
                ));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| {
            self.error(
                at,
                format!("`\\u{code:04x}` is half of a surrogate pair, not a character"),
            )
        })
    }

    fn hex4(&mut self, at: Pos) -> Result<u32, EdnError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                return Err(self.error(
                    at,
                    "`\\u` must be followed by four hexadecimal digits, as in `\\u00e9`",
                ));
            };
            self.bump();
            code = code * 16 + d;
        }
        Ok(code)
    }

    /// A character literal such as `\a`, `\newline` or `\u00e9`; the `\` is at `at`.
    fn character(&mut self, at: Pos) -> Result<char, EdnError> {
        self.bump();
        let start = self.pos;
        match self.bump() {
            Some(c) if !is_whitespace(c) => {}
            _ => {
                return Err(self.error(
                    at,
                    "a `\\` character literal needs a character after it, as in `\\a`",
                ));
            }
        }
        self.token();
        let name = &self.text[start..self.pos];
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(c);
        }
        let named = match name {
            "newline" => Some('\n'),
            "space" => Some(' '),
            "tab" => Some('\t'),
            "return" => Some('\r'),
            "formfeed" => Some('\u{c}'),
            "backspace" => Some('\u{8}'),
            _ => name
                .strip_prefix('u')
                .filter(|hex| hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
        };
        named.ok_or_else(|| {
            self.error(
                at,
                format!(
                    "unknown character literal `\\{name}`: allowed are a single character, \
                     `\\newline`, `\\space`, `\\tab`, `\\return`, `\\formfeed`, `\\backspace` \
                     and `\\uXXXX`"
                ),
            )
        })
    }

    /// An integer (`-3`, `7N`), a float (`1.5`, `2e3`, `1.5M`) or a ratio (`1/3`, read as a
    /// float): whatever Clojure prints for numbers in a history.
    fn number(&mut self, at: Pos) -> Result<Kind, EdnError> {
        let token = self.token();
        let malformed = || {
            self.error(
                at,
                format!(
                    "malformed number `{token}`: allowed are integers (`42`, `-7`, `42N`), \
                     floats (`1.5`, `-2e3`, `1.5M`) and ratios (`1/3`)"
                ),
            )
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let sign_len = usize::from(token.starts_with(['+', '-']));
        let int_end = sign_len
            + token[sign_len..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
        let (integer, rest) = token.split_at(int_end);

        if rest.is_empty() || rest == "N" {
            if integer[sign_len..].len() > 1 && integer[sign_len..].starts_with('0') {
                return Err(self.error(
                    at,
                    format!(
                        "`{token}`: an EDN integer has no leading zeros (Clojure would read it \
                         as octal)"
                    ),
                ));
            }
            return integer.parse::<i64>().map(Kind::Int).map_err(|_| {
                self.error(
                    at,
                    format!(
                        "the integer {integer} is outside the 64-bit range ({} to {})",
                        i64::MIN,
                        i64::MAX
                    ),
                )
            });
        }
        if let Some(denominator) = rest.strip_prefix('/') {
            if !all_digits(denominator) {
                return Err(malformed());
            }
            let n: f64 = integer.parse().map_err(|_| malformed())?;
            let d: f64 = denominator.parse().map_err(|_| malformed())?;
            return Ok(Kind::Float(n / d));
        }
        // rest is `.digits`, an exponent, or both, then an optional `M` (BigDecimal).
        let body = rest.strip_suffix('M').unwrap_or(rest);
        let exponent = match body.strip_prefix('.') {
            Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => body,
        };
        let exponent_ok = match exponent.strip_prefix(['e', 'E']) {
            Some(e) => all_digits(e.strip_prefix(['+', '-']).unwrap_or(e)),
            None => exponent.is_empty(),
        };
        if body.is_empty() || !exponent_ok {
            return Err(malformed());
        }
        token[..int_end + body.len()]
            .parse::<f64>()
            .map(Kind::Float)
            .map_err(|_| malformed())
    }
}

fn opener_name(close: char) -> &'static str {
    match close {
        ')' => "list",
        ']' => "vector",
        _ => "map or set",
    }
}

// ---------------------------------------------------------------------------------------------
// From events to operations.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl EventType {
    fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }
}

/// The function an event names, before its value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FName {
    Read,
    Write,
    Cas,
}

impl FName {
    fn name(self) -> &'static str {
        match self {
            FName::Read => "read",
            FName::Write => "write",
            FName::Cas => "cas",
        }
    }
}

/// A client's event, its fields checked one by one but not yet against its process's state.
struct Event<'v> {
    /// Where its map starts.
    at: Pos,
    process: i64,
    ty: EventType,
    f: FName,
    /// The `:f` value, for errors about it.
    f_value: &'v Value,
    value: &'v Value,
    /// The key's name and the `:key` value, when given.
    key: Option<(String, &'v Value)>,
}

/// An invocation waiting for its process's completion.
struct Pending {
    at: Pos,
    index: u64,
    f: FName,
    func: Func,
    process: ProcessId,
    key: KeyId,
    key_name: String,
}

const TYPES: &str = "`:invoke`, `:ok`, `:fail` or `:info`";

/// An operation map's entries, looked up by keyword.
struct Fields<'o, 'v> {
    origin: &'o str,
    /// Where the map starts.
    at: Pos,
    entries: &'v [(Value, Value)],
}

impl<'v> Fields<'_, 'v> {
    /// The value of `:name`, if the map has it (once).
    fn field(&self, name: &str) -> Result<Option<&'v Value>, EdnError> {
        let mut found: Option<&'v (Value, Value)> = None;
        for entry in self.entries {
            if !matches!(&entry.0.kind, Kind::Keyword(k) if k == name) {
                continue;
            }
            if let Some(first) = found {
                return Err(EdnError::new(
                    self.origin,
                    entry.0.at,
                    format!(
                        "`:{name}` appears twice in this operation (first at {}): an EDN map has \
                         distinct keys",
                        first.0.at
                    ),
                ));
            }
            found = Some(entry);
        }
        Ok(found.map(|(_, value)| value))
    }

    /// The value of `:name`, which every operation has (`allowed`: what it may be).
    fn required(&self, name: &str, allowed: &str) -> Result<&'v Value, EdnError> {
        self.field(name)?.ok_or_else(|| {
            EdnError::new(
                self.origin,
                self.at,
                format!("this operation has no `:{name}`: every operation needs one ({allowed})"),
            )
        })
    }
}

const DEFAULT_KEY: &str = "register";

struct Events<'o> {
    origin: &'o str,
    model: RegisterModel,
    builder: HistoryBuilder,
    /// By client process number; at most one open invocation each.
    pending: BTreeMap<i64, Pending>,
    /// Position of the next event in the file, counting every op map.
    index: u64,
}

impl<'o> Events<'o> {
    fn new(origin: &'o str, model: RegisterModel) -> Self {
        Events {
            origin,
            model,
            builder: HistoryBuilder::new(Source::default(), TimeUnit::Index),
            pending: BTreeMap::new(),
            index: 0,
        }
    }

    fn error(&self, at: Pos, message: impl Into<String>) -> EdnError {
        EdnError::new(self.origin, at, message)
    }

    /// Takes one element of the event list.
    fn event(&mut self, v: &Value) -> Result<(), EdnError> {
        let index = self.index;
        self.index += 1;
        let Some(event) = self.read_event(v)? else {
            return Ok(());
        };
        match event.ty {
            EventType::Invoke => self.invoke(index, &event),
            _ => self.complete(index, &event),
        }
    }

    /// The client event `v` holds, or `None` for an event of the nemesis.
    fn read_event<'v>(&self, v: &'v Value) -> Result<Option<Event<'v>>, EdnError> {
        // A tagged map is a Clojure record such as `#jepsen.history.Op{…}`.
        let map = match &v.kind {
            Kind::Tagged(_, inner) => inner.as_ref(),
            _ => v,
        };
        let Kind::Map(entries) = &map.kind else {
            return Err(self.error(
                v.at,
                format!(
                    "expected an operation map such as `{{:process 0, :type :invoke, :f :read, \
                     :value nil}}`, found {}",
                    describe(v)
                ),
            ));
        };
        let fields = Fields {
            origin: self.origin,
            at: v.at,
            entries,
        };
        let process = fields.required(
            "process",
            "an integer for a client, or a keyword such as `:nemesis`",
        )?;
        let Some(process) = self.process(process)? else {
            return Ok(None);
        };
        let ty = self.event_type(fields.required("type", TYPES)?)?;
        let allowed_f = match self.model {
            RegisterModel::Register => "`:read` or `:write`",
            RegisterModel::CasRegister => "`:read`, `:write` or `:cas`",
        };
        let f_value = fields.required("f", &format!("{allowed_f} for this model"))?;
        let f = self.function(f_value, allowed_f)?;
        let value = fields.required(
            "value",
            "an integer or nil for `:read` and `:write`, `[from to]` for `:cas`",
        )?;
        let key = match fields.field("key")? {
            None => None,
            Some(k) => Some((self.key_name(k)?, k)),
        };
        Ok(Some(Event {
            at: v.at,
            process,
            ty,
            f,
            f_value,
            value,
            key,
        }))
    }

    /// A client's number, or `None` for a keyword process: the fault injector's events say
    /// nothing about the register.
    fn process(&self, process: &Value) -> Result<Option<i64>, EdnError> {
        match process.kind {
            Kind::Int(p) => Ok(Some(p)),
            Kind::Keyword(_) => Ok(None),
            _ => Err(self.error(
                process.at,
                format!(
                    "`:process` must be an integer (a client) or a keyword such as `:nemesis`, \
                     found {}",
                    describe(process)
                ),
            )),
        }
    }

    fn event_type(&self, ty: &Value) -> Result<EventType, EdnError> {
        match &ty.kind {
            Kind::Keyword(k) if k == "invoke" => Ok(EventType::Invoke),
            Kind::Keyword(k) if k == "ok" => Ok(EventType::Ok),
            Kind::Keyword(k) if k == "fail" => Ok(EventType::Fail),
            Kind::Keyword(k) if k == "info" => Ok(EventType::Info),
            _ => Err(self.error(
                ty.at,
                format!("`:type` must be {TYPES}, found {}", describe(ty)),
            )),
        }
    }

    /// The function `:f` names, if the model has it (`allowed`: the model's functions).
    fn function(&self, f: &Value, allowed: &str) -> Result<FName, EdnError> {
        match &f.kind {
            Kind::Keyword(k) if k == "read" => Ok(FName::Read),
            Kind::Keyword(k) if k == "write" => Ok(FName::Write),
            Kind::Keyword(k) if k == "cas" && self.model == RegisterModel::CasRegister => {
                Ok(FName::Cas)
            }
            Kind::Keyword(k) if k == "cas" => Err(self.error(
                f.at,
                "`:f :cas` is a compare-and-set, which a plain register does not have \
                 (allowed: `:read`, `:write`): use --model cas-register",
            )),
            _ => Err(self.error(
                f.at,
                format!(
                    "`:f` must be {allowed} for the {} model, found {}",
                    self.model.name(),
                    describe(f)
                ),
            )),
        }
    }

    /// The name of the key `:key` gives, as written.
    fn key_name(&self, k: &Value) -> Result<String, EdnError> {
        match &k.kind {
            Kind::Int(i) => Ok(i.to_string()),
            Kind::Keyword(s) | Kind::Str(s) => Ok(s.clone()),
            _ => Err(self.error(
                k.at,
                format!(
                    "`:key` must be an integer, a keyword or a string, found {}",
                    describe(k)
                ),
            )),
        }
    }

    fn invoke(&mut self, index: u64, e: &Event<'_>) -> Result<(), EdnError> {
        if let Some(open) = self.pending.get(&e.process) {
            return Err(self.error(
                e.at,
                format!(
                    "process {} invokes again while its `:{}` invoked at {} is still pending: a \
                     process completes each operation (`:ok`, `:fail` or `:info`) before \
                     invoking the next",
                    e.process,
                    open.f.name(),
                    open.at
                ),
            ));
        }
        let func = match e.f {
            FName::Read => {
                self.int_or_nil(e.value, "a `:read`")?;
                Func::Read
            }
            FName::Write => match e.value.kind {
                Kind::Int(value) => Func::Write { value },
                _ => {
                    return Err(self.error(
                        e.value.at,
                        format!(
                            "a `:write` invocation needs an integer `:value`, found {}",
                            describe(e.value)
                        ),
                    ));
                }
            },
            FName::Cas => {
                let (from, to) = self.cas_pair(e.value)?;
                Func::Cas { from, to }
            }
        };
        let key_name = e
            .key
            .as_ref()
            .map_or(DEFAULT_KEY, |(name, _)| name.as_str())
            .to_string();
        let key = self.builder.key(&key_name, KeyKind::Register, None, None);
        // Named as Jepsen users say it, so explanations read "process 2 read ...".
        let process = self.builder.process(&format!("process {}", e.process));
        self.pending.insert(
            e.process,
            Pending {
                at: e.at,
                index,
                f: e.f,
                func,
                process,
                key,
                key_name,
            },
        );
        Ok(())
    }

    fn complete(&mut self, index: u64, e: &Event<'_>) -> Result<(), EdnError> {
        let Some(open) = self.pending.remove(&e.process) else {
            return Err(self.error(
                e.at,
                format!(
                    "a `:{}` completion of process {}, which has no pending invocation: each \
                     completion follows an `:invoke` of the same process",
                    e.ty.name(),
                    e.process
                ),
            ));
        };
        if open.f != e.f {
            return Err(self.error(
                e.f_value.at,
                format!(
                    "`:f :{}` differs from the `:f :{}` of the invocation at {}: a completion \
                     repeats its invocation's function",
                    e.f.name(),
                    open.f.name(),
                    open.at
                ),
            ));
        }
        if let Some((name, k)) = &e.key
            && *name != open.key_name
        {
            return Err(self.error(
                k.at,
                format!(
                    "`:key` {name:?} differs from the key {:?} of the invocation at {}",
                    open.key_name, open.at
                ),
            ));
        }
        let result = match open.func {
            Func::Read => self.int_or_nil(e.value, "a `:read`")?,
            Func::Write { value } => {
                self.repeats(e.value, open.at, |k| *k == Kind::Int(value))?;
                Some(value)
            }
            Func::Cas { from, to } => {
                self.repeats(e.value, open.at, |k| match k {
                    Kind::Vector(items) | Kind::List(items) => {
                        matches!(items.as_slice(), [a, b]
                            if a.kind == Kind::Int(from) && b.kind == Kind::Int(to))
                    }
                    _ => false,
                })?;
                Some(to)
            }
            // `invoke` makes only the three functions above.
            Func::Decrement { .. } => None,
        };
        let (outcome, value) = match e.ty {
            EventType::Ok => (Outcome::Ok, result),
            EventType::Fail => (Outcome::Fail, None),
            _ => (Outcome::Info, None),
        };
        self.builder.push(Operation {
            process: open.process,
            key: open.key,
            func: open.func,
            outcome,
            invoke: open.index,
            complete: Some(index),
            value,
            version: None,
        });
        Ok(())
    }

    fn int_or_nil(&self, value: &Value, what: &str) -> Result<Option<i64>, EdnError> {
        match value.kind {
            Kind::Int(i) => Ok(Some(i)),
            Kind::Nil => Ok(None),
            _ => Err(self.error(
                value.at,
                format!(
                    "the `:value` of {what} must be an integer or nil, found {}",
                    describe(value)
                ),
            )),
        }
    }

    /// `[from to]`, both integers.
    fn cas_pair(&self, value: &Value) -> Result<(i64, i64), EdnError> {
        if let Kind::Vector(items) | Kind::List(items) = &value.kind
            && let [a, b] = items.as_slice()
            && let (Kind::Int(from), Kind::Int(to)) = (&a.kind, &b.kind)
        {
            return Ok((*from, *to));
        }
        Err(self.error(
            value.at,
            format!(
                "a `:cas` needs `:value [from to]` with two integers, found {}",
                describe(value)
            ),
        ))
    }

    /// A completion's `:value` is nil (not reported) or repeats the invocation's.
    fn repeats(
        &self,
        value: &Value,
        invoked_at: Pos,
        same: impl Fn(&Kind) -> bool,
    ) -> Result<(), EdnError> {
        if value.kind == Kind::Nil || same(&value.kind) {
            return Ok(());
        }
        Err(self.error(
            value.at,
            format!(
                "this completion's `:value` ({}) differs from its invocation's at {}: a \
                 completion repeats the value written, or gives nil",
                describe(value),
                invoked_at
            ),
        ))
    }

    fn finish(mut self) -> History {
        // An invocation never completed may have taken effect at any time after it.
        for open in std::mem::take(&mut self.pending).into_values() {
            self.builder.push(Operation {
                process: open.process,
                key: open.key,
                func: open.func,
                outcome: Outcome::Info,
                invoke: open.index,
                complete: None,
                value: None,
                version: None,
            });
        }
        self.builder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
{:process 0, :type :invoke, :f :write, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :write, :value 3}
{:process 1, :type :ok, :f :read, :value 3}
{:process 2, :type :invoke, :f :cas, :value [3 4]}
{:process 2, :type :fail, :f :cas, :value [3 4]}
{:process 0, :type :invoke, :f :write, :value 5}
{:process 0, :type :info, :f :write, :value 5}
";

    fn cas(text: &str) -> Result<History, EdnError> {
        parse_edn_history("h.edn", text, RegisterModel::CasRegister)
    }

    fn op(
        process: u32,
        func: Func,
        outcome: Outcome,
        invoke: u64,
        complete: Option<u64>,
        value: Option<i64>,
    ) -> Operation {
        Operation {
            process: ProcessId(process),
            key: KeyId(0),
            func,
            outcome,
            invoke,
            complete,
            value,
            version: None,
        }
    }

    /// The message of the error `text` gives, which must start with `h.edn:line:col: `.
    fn error_at(text: &str, model: RegisterModel, line: usize, column: usize) -> String {
        let e = parse_edn_history("h.edn", text, model).expect_err(text);
        let shown = e.to_string();
        let prefix = format!("h.edn:{line}:{column}: ");
        assert!(
            shown.starts_with(&prefix),
            "{shown:?} should start with {prefix:?}"
        );
        assert_eq!((e.line, e.column), (line, column));
        e.message
    }

    fn assert_contains(message: &str, words: &[&str]) {
        for w in words {
            assert!(message.contains(w), "{message:?} should contain {w:?}");
        }
    }

    #[test]
    fn model_names_round_trip() {
        for m in RegisterModel::ALL {
            assert_eq!(RegisterModel::from_name(m.name()), Some(m));
        }
        assert_eq!(RegisterModel::Register.name(), "register");
        assert_eq!(RegisterModel::CasRegister.name(), "cas-register");
        assert_eq!(RegisterModel::from_name("cas"), None);
    }

    #[test]
    fn the_example_reads_into_exact_operations() {
        let h = cas(EXAMPLE).unwrap();
        assert_eq!(h.time_unit, TimeUnit::Index);
        assert_eq!(h.source, Source::default());
        assert_eq!(h.processes, vec!["process 0", "process 1", "process 2"]);
        assert_eq!(h.keys.len(), 1);
        assert_eq!(h.keys[0].name, "register");
        assert_eq!(h.keys[0].kind, KeyKind::Register);
        assert_eq!(h.keys[0].initial, None);
        assert_eq!(h.keys[0].initial_version, None);
        assert_eq!(
            h.ops,
            vec![
                op(
                    0,
                    Func::Write { value: 3 },
                    Outcome::Ok,
                    0,
                    Some(2),
                    Some(3)
                ),
                op(1, Func::Read, Outcome::Ok, 1, Some(3), Some(3)),
                op(
                    2,
                    Func::Cas { from: 3, to: 4 },
                    Outcome::Fail,
                    4,
                    Some(5),
                    None
                ),
                op(0, Func::Write { value: 5 }, Outcome::Info, 6, Some(7), None),
            ]
        );
        assert_eq!(h.format_time(6), "#6");
    }

    #[test]
    fn ok_reads_of_nil_and_ok_cas_carry_their_values() {
        let h = cas("{:process 0 :type :invoke :f :read :value nil}
             {:process 0 :type :ok :f :read :value nil}
             {:process 0 :type :invoke :f :cas :value [0 1]}
             {:process 0 :type :ok :f :cas :value [0 1]}
             {:process 0 :type :invoke :f :write :value -7}
             {:process 0 :type :ok :f :write :value nil}")
        .unwrap();
        assert_eq!(
            h.ops,
            vec![
                op(0, Func::Read, Outcome::Ok, 0, Some(1), None),
                op(
                    0,
                    Func::Cas { from: 0, to: 1 },
                    Outcome::Ok,
                    2,
                    Some(3),
                    Some(1)
                ),
                op(
                    0,
                    Func::Write { value: -7 },
                    Outcome::Ok,
                    4,
                    Some(5),
                    Some(-7)
                ),
            ]
        );
    }

    #[test]
    fn a_vector_or_list_of_maps_reads_like_the_sequence() {
        let expected = cas(EXAMPLE).unwrap();
        assert_eq!(cas(&format!("[{EXAMPLE}]")).unwrap(), expected);
        assert_eq!(cas(&format!("(\n{EXAMPLE})\n; done\n")).unwrap(), expected);
        assert_eq!(cas("[]").unwrap().ops, vec![]);
    }

    #[test]
    fn comments_commas_discards_and_ignored_keys_are_skipped() {
        let text = "; a Jepsen history
            ,,{:index 0, :time 12.5, :process 0, :type :invoke, :f :read, :value nil},,
            #_{:process 9, :type :ok, :f :read, :value 1} ; never happened
            {:index 1 :time 1/3 :process 0 :type :ok :f :read :value 4
             :error [:timeout \"took \\\"long\\\"\"] :at #inst \"2024-01-01T00:00:00Z\"
             :tags #{:a :b} :who \\a :nodes (\"n1\" \"n2\") :big 12345678901234N :d 2.5e-3M
             :inf ##Inf #_ :gone}";
        let h = parse_edn_history("h.edn", text, RegisterModel::Register).unwrap();
        assert_eq!(
            h.ops,
            vec![op(0, Func::Read, Outcome::Ok, 0, Some(1), Some(4))]
        );
    }

    #[test]
    fn jepsen_records_are_read_as_maps() {
        let h = cas(
            "#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 3, :f :write, :value 1}
             #jepsen.history.Op{:index 1, :time 9, :type :ok, :process 3, :f :write, :value 1}",
        )
        .unwrap();
        assert_eq!(h.processes, vec!["process 3"]);
        assert_eq!(
            h.ops,
            vec![op(
                0,
                Func::Write { value: 1 },
                Outcome::Ok,
                0,
                Some(1),
                Some(1)
            )]
        );
    }

    #[test]
    fn nemesis_events_are_skipped_but_keep_their_positions() {
        let h = cas("{:process :nemesis, :type :info, :f :start, :value nil}
             {:process 0, :type :invoke, :f :write, :value 1}
             {:process :nemesis, :type :info, :f :start, :value [:isolated {\"n1\" #{\"n2\"}}]}
             {:process 0, :type :ok, :f :write, :value 1}
             {:process :nemesis, :type :info, :f :stop}")
        .unwrap();
        assert_eq!(h.processes, vec!["process 0"]);
        assert_eq!(
            h.ops,
            vec![op(
                0,
                Func::Write { value: 1 },
                Outcome::Ok,
                1,
                Some(3),
                Some(1)
            )]
        );
    }

    #[test]
    fn key_splits_operations_by_the_name_as_written() {
        let h = cas("{:process 0, :type :invoke, :f :write, :key 1, :value 10}
             {:process 1, :type :invoke, :f :read, :key :x, :value nil}
             {:process 2, :type :invoke, :f :read, :key \"x\", :value nil}
             {:process 3, :type :invoke, :f :read, :value nil}
             {:process 0, :type :ok, :f :write, :key 1, :value 10}
             {:process 1, :type :ok, :f :read, :value 10}
             {:process 2, :type :fail, :f :read, :key \"x\", :value nil}
             {:process 3, :type :ok, :f :read, :value nil}")
        .unwrap();
        let names: Vec<&str> = h.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, vec!["1", "x", "register"]);
        assert!(
            h.keys
                .iter()
                .all(|k| k.kind == KeyKind::Register && k.initial.is_none())
        );
        let keys: Vec<u32> = h.ops.iter().map(|o| o.key.0).collect();
        assert_eq!(keys, vec![0, 1, 1, 2]);
        assert_eq!(h.ops_by_key(), vec![vec![0], vec![1, 2], vec![3]]);
        assert_eq!(h.ops[1].value, Some(10));
        assert_eq!(h.ops[2].outcome, Outcome::Fail);
    }

    #[test]
    fn invocations_pending_at_the_end_are_info_without_completion() {
        let h = cas("{:process 5, :type :invoke, :f :cas, :value [1 2]}
             {:process 4, :type :invoke, :f :read, :value nil}
             {:process 4, :type :ok, :f :read, :value 1}
             {:process 4, :type :invoke, :f :write, :value 9}")
        .unwrap();
        assert_eq!(h.processes, vec!["process 5", "process 4"]);
        assert_eq!(
            h.ops,
            vec![
                op(
                    0,
                    Func::Cas { from: 1, to: 2 },
                    Outcome::Info,
                    0,
                    None,
                    None
                ),
                op(1, Func::Read, Outcome::Ok, 1, Some(2), Some(1)),
                op(1, Func::Write { value: 9 }, Outcome::Info, 3, None, None),
            ]
        );
    }

    #[test]
    fn empty_histories_have_no_operations() {
        for text in [
            "",
            "  \n",
            "; only a comment\n",
            ",,,",
            "[]",
            "()",
            "#_ {:a 1}",
            "\u{feff}",
        ] {
            let h = cas(text).unwrap();
            assert!(h.ops.is_empty() && h.keys.is_empty() && h.processes.is_empty());
        }
    }

    #[test]
    fn malformed_edn_names_the_place_and_what_is_allowed() {
        let m = RegisterModel::CasRegister;
        let msg = error_at(
            "{:process :nemesis}\n\n  {:process 0, :type :invoke",
            m,
            3,
            3,
        );
        assert_contains(&msg, &["unterminated map", "`}`", "end of the file"]);
        let msg = error_at("[{:process 0}", m, 1, 1);
        assert_contains(&msg, &["unterminated vector", "`]`"]);
        let msg = error_at("{:process 0, :value [1 2}", m, 1, 25);
        assert_contains(
            &msg,
            &["expected `]`", "vector opened at 1:21", "found `}`"],
        );
        let msg = error_at("{:process :nemesis, :type :info}\n  }", m, 2, 3);
        assert_contains(&msg, &["unexpected `}`", "no map or set is open"]);
        let msg = error_at("{:process 0 :note \"abc\n def", m, 1, 19);
        assert_contains(&msg, &["unterminated string"]);
        let msg = error_at("{:note \"a\\qb\"}", m, 1, 10);
        assert_contains(&msg, &["unknown escape", "`\\n`", "`\\uXXXX`"]);
        let msg = error_at("{:time 9223372036854775808}", m, 1, 8);
        assert_contains(&msg, &["9223372036854775808", "outside the 64-bit range"]);
        let msg = error_at("{:time -9223372036854775809}", m, 1, 8);
        assert_contains(&msg, &["outside the 64-bit range", "-9223372036854775808"]);
        let msg = error_at("\n {:time 1.2.3}", m, 2, 9);
        assert_contains(&msg, &["malformed number `1.2.3`", "floats"]);
        let msg = error_at("{:time 007}", m, 1, 8);
        assert_contains(&msg, &["leading zeros"]);
        let msg = error_at("{:process 0 :type}", m, 1, 13);
        assert_contains(&msg, &["key without a value", "the keyword `:type`"]);
        let msg = error_at("{:a @x}", m, 1, 5);
        assert_contains(&msg, &["unexpected character `@`", "map `{}`"]);
        let msg = error_at("{:a #_}", m, 1, 5);
        assert_contains(&msg, &["`#_` must be followed by a value", "`}`"]);
        let msg = error_at("{:a #inst}", m, 1, 5);
        assert_contains(&msg, &["tag `#inst` must be followed by the value"]);
        let msg = error_at("{:a #!x}", m, 1, 5);
        assert_contains(&msg, &["`#` must start a set"]);
        let msg = error_at("{: 1}", m, 1, 2);
        assert_contains(&msg, &["keyword name"]);
        let msg = error_at("{:a \\bell}", m, 1, 5);
        assert_contains(&msg, &["unknown character literal `\\bell`", "`\\newline`"]);
        let msg = error_at("{:a ##Foo}", m, 1, 5);
        assert_contains(&msg, &["`##Foo`", "`##Inf`"]);
        let msg = error_at("{:a \"\\u12\"}", m, 1, 6);
        assert_contains(&msg, &["four hexadecimal digits"]);
        let msg = error_at("{:a \"x\\udc00\"}", m, 1, 7);
        assert_contains(&msg, &["`\\udc00` is half of a surrogate pair"]);
        let msg = error_at("{:a \"\\ud83d\\u0041\"}", m, 1, 12);
        assert_contains(
            &msg,
            &["`\\u0041` cannot follow the high surrogate `\\ud83d`"],
        );
        let msg = error_at("{:a b@c}", m, 1, 5);
        assert_contains(&msg, &["`@` cannot appear in a symbol"]);
        let deep = "[".repeat(MAX_DEPTH + 5);
        let msg = error_at(&deep, m, 1, MAX_DEPTH + 2);
        assert_contains(&msg, &["nest more than 200 levels"]);
    }

    #[test]
    fn invalid_operations_name_the_place_and_what_is_allowed() {
        let (r, c) = (RegisterModel::Register, RegisterModel::CasRegister);
        let msg = error_at(
            "{:process 0, :type :invoke, :f :read, :value nil}\n  42",
            c,
            2,
            3,
        );
        assert_contains(&msg, &["expected an operation map", "found the integer 42"]);
        let msg = error_at(
            "[{:process 0, :type :invoke, :f :read, :value nil} [1]]",
            c,
            1,
            52,
        );
        assert_contains(&msg, &["expected an operation map", "a vector of 1 value"]);
        let msg = error_at("[]\n{:process 0}", c, 2, 1);
        assert_contains(
            &msg,
            &["nothing may follow", "opened at 1:1", "a map of 1 entry"],
        );
        let msg = error_at("{:type :invoke, :f :read, :value nil}", c, 1, 1);
        assert_contains(&msg, &["no `:process`", ":nemesis"]);
        let msg = error_at("{:process \"a\", :type :invoke}", c, 1, 11);
        assert_contains(
            &msg,
            &["`:process` must be an integer", "found the string \"a\""],
        );
        let msg = error_at("{:process 0, :f :read, :value nil}", c, 1, 1);
        assert_contains(
            &msg,
            &["no `:type`", "`:invoke`, `:ok`, `:fail` or `:info`"],
        );
        let msg = error_at("{:process 0, :type :start, :f :read}", c, 1, 20);
        assert_contains(&msg, &["`:type` must be", "found the keyword `:start`"]);
        let msg = error_at("{:process 0, :type :invoke, :value nil}", r, 1, 1);
        assert_contains(&msg, &["no `:f`", "`:read` or `:write`"]);
        let msg = error_at("{:process 0, :type :invoke, :f :add, :value 1}", c, 1, 32);
        assert_contains(
            &msg,
            &[
                "`:f` must be `:read`, `:write` or `:cas`",
                "cas-register model",
            ],
        );
        let msg = error_at(EXAMPLE, r, 5, 32);
        assert_contains(
            &msg,
            &["`:f :cas`", "use --model cas-register", "`:read`, `:write`"],
        );
        let msg = error_at("{:process 0, :type :invoke, :f :read}", c, 1, 1);
        assert_contains(&msg, &["no `:value`", "`[from to]`"]);
        let msg = error_at(
            "{:process 0, :type :invoke, :f :write, :value nil}",
            c,
            1,
            47,
        );
        assert_contains(
            &msg,
            &["`:write` invocation needs an integer `:value`", "found nil"],
        );
        let msg = error_at(
            "{:process 0, :type :invoke, :f :read, :value 1.5}",
            c,
            1,
            46,
        );
        assert_contains(&msg, &["integer or nil", "the float 1.5"]);
        let msg = error_at(
            "{:process 0, :type :invoke, :f :read, :key [1], :value nil}",
            c,
            1,
            44,
        );
        assert_contains(&msg, &["`:key` must be an integer, a keyword or a string"]);
        let msg = error_at("{:process 0, :process 1, :type :invoke}", c, 1, 14);
        assert_contains(&msg, &["`:process` appears twice", "first at 1:2"]);
    }

    #[test]
    fn cas_values_must_be_two_integers() {
        let c = RegisterModel::CasRegister;
        for (value, found) in [
            ("[1]", "a vector of 1 value"),
            ("[1 2 3]", "a vector of 3 values"),
            ("[1 :a]", "a vector of 2 values"),
            ("nil", "nil"),
            ("7", "the integer 7"),
            ("#{1 2}", "a set of 2 values"),
        ] {
            let text = format!("{{:process 0, :type :invoke, :f :cas, :value {value}}}");
            let msg = error_at(&text, c, 1, 45);
            assert_contains(&msg, &["`:value [from to]` with two integers", found]);
        }
    }

    #[test]
    fn completions_must_match_a_pending_invocation() {
        let c = RegisterModel::CasRegister;
        let msg = error_at("{:process 0, :type :ok, :f :read, :value 1}", c, 1, 1);
        assert_contains(
            &msg,
            &["`:ok` completion of process 0", "no pending invocation"],
        );
        let text = "{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value nil}
  {:process 0, :type :info, :f :read, :value nil}";
        let msg = error_at(text, c, 3, 3);
        assert_contains(&msg, &["`:info` completion of process 0", "`:invoke`"]);
        let text = "{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :invoke, :f :write, :value 2}";
        let msg = error_at(text, c, 2, 1);
        assert_contains(&msg, &["process 1 invokes again", "`:read` invoked at 1:1"]);
        let text = "{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :write, :value 2}";
        let msg = error_at(text, c, 2, 28);
        assert_contains(&msg, &["`:f :write` differs from the `:f :read`", "at 1:1"]);
        let text = "{:process 1, :type :invoke, :f :write, :value 2}
{:process 1, :type :ok, :f :write, :value 3}";
        let msg = error_at(text, c, 2, 43);
        assert_contains(
            &msg,
            &["(the integer 3) differs from its invocation's at 1:1"],
        );
        let text = "{:process 1, :type :invoke, :f :cas, :value [1 2]}
{:process 1, :type :fail, :f :cas, :value [2 1]}";
        let msg = error_at(text, c, 2, 43);
        assert_contains(&msg, &["differs from its invocation's", "or gives nil"]);
        let text = "{:process 1, :type :invoke, :f :read, :key 1, :value nil}
{:process 1, :type :ok, :f :read, :key 2, :value 3}";
        let msg = error_at(text, c, 2, 40);
        assert_contains(&msg, &["`:key` \"2\" differs from the key \"1\""]);
    }

    #[test]
    fn lexer_reads_every_edn_form() {
        let mut r = Reader::new(
            "v.edn",
            "nil true false -3 +4 42N 1.5 -2e3 1.5M 1/4 ##-Inf \"a\\tb\\u00e9\\\\\" \\a \\newline \
             \\u0041 \\( :jepsen.foo/bar sym/x (1) [2] #{3} {4 5} #uuid \"x\" é \
             \"\\ud83d\\ude00\"",
        );
        let mut kinds = Vec::new();
        while let Some(v) = r.next_top().unwrap() {
            kinds.push(v.kind);
        }
        // Positions are checked elsewhere; compare the shapes here.
        let strip = |k: &Kind| match k {
            Kind::List(v) | Kind::Vector(v) | Kind::Set(v) => {
                v.iter().map(|x| x.kind.clone()).collect()
            }
            Kind::Map(e) => e
                .iter()
                .flat_map(|(a, b)| [a.kind.clone(), b.kind.clone()])
                .collect(),
            _ => vec![],
        };
        assert_eq!(
            kinds[..10],
            [
                Kind::Nil,
                Kind::Bool(true),
                Kind::Bool(false),
                Kind::Int(-3),
                Kind::Int(4),
                Kind::Int(42),
                Kind::Float(1.5),
                Kind::Float(-2000.0),
                Kind::Float(1.5),
                Kind::Float(0.25),
            ]
        );
        assert_eq!(kinds[10], Kind::Float(f64::NEG_INFINITY));
        assert_eq!(kinds[11], Kind::Str("a\tbé\\".to_string()));
        assert_eq!(
            kinds[12..16],
            [
                Kind::Char('a'),
                Kind::Char('\n'),
                Kind::Char('A'),
                Kind::Char('(')
            ]
        );
        assert_eq!(kinds[16], Kind::Keyword("jepsen.foo/bar".to_string()));
        assert_eq!(kinds[17], Kind::Symbol("sym/x".to_string()));
        assert_eq!(strip(&kinds[18]), vec![Kind::Int(1)]);
        assert!(matches!(kinds[18], Kind::List(_)));
        assert_eq!(strip(&kinds[19]), vec![Kind::Int(2)]);
        assert!(matches!(kinds[19], Kind::Vector(_)));
        assert_eq!(strip(&kinds[20]), vec![Kind::Int(3)]);
        assert!(matches!(kinds[20], Kind::Set(_)));
        assert_eq!(strip(&kinds[21]), vec![Kind::Int(4), Kind::Int(5)]);
        assert!(matches!(&kinds[22], Kind::Tagged(t, v)
                if t == "uuid" && v.kind == Kind::Str("x".into())));
        assert_eq!(kinds[23], Kind::Symbol("é".to_string()));
        assert_eq!(kinds[24], Kind::Str("\u{1f600}".to_string()));
        assert_eq!(kinds.len(), 25);
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let mut r = Reader::new("v.edn", "é 1\n\t  [2\n  3]");
        let a = r.next_top().unwrap().unwrap();
        let b = r.next_top().unwrap().unwrap();
        let c = r.next_top().unwrap().unwrap();
        assert_eq!(
            (a.at, b.at),
            (Pos { line: 1, column: 1 }, Pos { line: 1, column: 3 })
        );
        assert_eq!(c.at, Pos { line: 2, column: 4 });
        let Kind::Vector(items) = c.kind else {
            panic!("a vector")
        };
        assert_eq!(items[1].at, Pos { line: 3, column: 3 });
        assert_eq!(r.next_top().unwrap(), None);
    }

    /// Every truncation and many single-character edits of a valid history either read or give
    /// an error with a place inside the text; none panics or overflows the stack.
    #[test]
    fn no_input_panics() {
        let base = format!(
            "; history\n[{EXAMPLE}{{:process :nemesis, :type :info, :f :start, :value \
             #{{\"n1\" \\a}}, :time 1.5e3M, :t #inst \"2024\", :r 1/2, :s ##NaN}}\n\
             #_ {{:x (1 2)}} {{:process 3, :key \"é\\u00e9\", :type :invoke, :f :read, \
             :value -0}}]\n"
        );
        assert!(cas(&base).is_ok(), "{:?}", cas(&base));
        let edits = [
            "",
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            "\"",
            "\\",
            "#",
            "#_",
            "##",
            ":",
            ";",
            ",",
            " ",
            "\n",
            "0",
            "9",
            "-",
            "+",
            ".",
            "e",
            "N",
            "M",
            "/",
            "@",
            "^",
            "x",
            "é",
            "\u{feff}",
            "99999999999999999999",
            ":invoke",
            ":ok",
            ":cas",
            "nil",
            "[1 2]",
        ];
        let check = |text: &str| {
            if let Err(e) = cas(text) {
                // The place is in the text: on one of its lines, at most just after its end.
                let line = text.split('\n').nth(e.line.wrapping_sub(1));
                let width = line.map(|l| l.chars().count());
                assert!(
                    width.is_some_and(|w| e.column >= 1 && e.column <= w + 1),
                    "{e}"
                );
                assert!(!e.message.is_empty());
            }
        };
        let mut tried = 0;
        for (i, _) in base.char_indices().chain([(base.len(), ' ')]) {
            check(&base[..i]);
            tried += 1;
            let after = base[i..].chars().next().map_or(i, |c| i + c.len_utf8());
            for edit in edits {
                check(&format!("{}{edit}{}", &base[..i], &base[after..]));
                check(&format!("{}{edit}{}", &base[..i], &base[i..]));
                tried += 2;
            }
        }
        assert!(tried > 20_000, "{tried}");
        for nested in ["[", "{:a ", "#{", "(", "#_ ", "#t "] {
            assert!(cas(&nested.repeat(100_000)).is_err());
        }
    }
}
