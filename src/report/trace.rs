//! The `--trace` file: one JSON object per processed event, one per line, in processing order.
//! Its fields are exactly those the trace hash covers, plus the queue sequence number.

use std::io::{self, Write};

use crate::engine::TraceSink;

pub struct JsonlTrace<W: Write> {
    out: W,
    line: String,
    error: Option<io::Error>,
}

impl<W: Write> JsonlTrace<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            line: String::with_capacity(256),
            error: None,
        }
    }

    /// Writes a line that marks the start of a variant's events.
    pub fn variant(&mut self, name: &str) {
        let line = format!("{{\"variant\":{}}}\n", serde_json::Value::from(name));
        self.write(line.as_bytes());
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    /// Flushes and reports the first write error, if any.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl<W: Write> TraceSink for JsonlTrace<W> {
    fn begin(&mut self, time_us: u64, seq: u64, kind: &'static str) {
        use std::fmt::Write as _;
        self.line.clear();
        let _ = write!(
            self.line,
            "{{\"t_us\":{time_us},\"seq\":{seq},\"kind\":\"{kind}\""
        );
    }
    fn u64(&mut self, name: &'static str, value: u64) {
        use std::fmt::Write as _;
        let _ = write!(self.line, ",\"{name}\":{value}");
    }
    fn i64(&mut self, name: &'static str, value: i64) {
        use std::fmt::Write as _;
        let _ = write!(self.line, ",\"{name}\":{value}");
    }
    fn str(&mut self, name: &'static str, value: &'static str) {
        use std::fmt::Write as _;
        // Names and values here are internal identifiers: no characters that need escaping.
        let _ = write!(self.line, ",\"{name}\":\"{value}\"");
    }
    fn end(&mut self) {
        self.line.push_str("}\n");
        let line = std::mem::take(&mut self.line);
        self.write(line.as_bytes());
        self.line = line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_json_object_per_event() {
        let mut buf = Vec::new();
        let mut t = JsonlTrace::new(&mut buf);
        t.variant("replica-read");
        t.begin(1_500, 7, "deliver");
        t.u64("to", 3);
        t.i64("stock", -2);
        t.str("op", "read");
        t.end();
        t.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["variant"], "replica-read");
        assert_eq!(lines[1]["t_us"], 1_500);
        assert_eq!(lines[1]["stock"], -2);
        assert_eq!(lines[1]["op"], "read");
    }
}
