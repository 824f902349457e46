//! ASCII timelines of a few operations: one row per process, each operation drawn as the interval
//! from its invocation to its completion, on a shared time axis.
//!
//! This module owns the drawing only; it is what a checker attaches to an explanation (the
//! linearizability witness) so that a reader sees which operations overlapped in time.
//!
//! ```text
//! shopper-12 [dec 1 ->0]
//! shopper-7                                         |------read 3------|
//!            +------------------------+-------------------------+
//!            t=38.000 s           t=39.750 s            t=41.500 s
//! ```
//!
//! An operation whose interval is too short for its label is drawn as `[label]` at its start; an
//! `Info` operation (outcome unknown) is drawn open-ended, `|--write 5 ?....`, since it may take
//! effect at any time after its invocation; a `Fail` operation carries `FAIL` in its label.

use crate::history::{Func, History, Operation, Outcome, ProcessId};

/// Widest process-name column; longer names are cut and end in `~`.
const NAME_COLS_MAX: usize = 24;
/// Narrowest drawing area, whatever `width` asks for, so that every label has some room.
const DRAW_COLS_MIN: usize = 24;

/// Draws `ops` (indexes into `history.ops`) in about `width` columns (callers use 100).
///
/// Processes appear in `ProcessId` order; a process whose drawn operations would touch gets a
/// second line. Deterministic, and total: empty input, zero-length operations and identical times
/// all draw something sensible.
pub fn timeline(history: &History, ops: &[usize], width: usize) -> String {
    if ops.is_empty() {
        return "(no operations)\n".to_string();
    }
    let mut processes: Vec<ProcessId> = ops.iter().map(|&i| history.ops[i].process).collect();
    processes.sort_unstable();
    processes.dedup();
    let names: Vec<String> = processes
        .iter()
        .map(|&p| clip_name(history.process(p)))
        .collect();
    let name_cols = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let cols = width.saturating_sub(name_cols + 1).max(DRAW_COLS_MIN);

    let t_start = ops
        .iter()
        .map(|&i| history.ops[i].invoke)
        .min()
        .unwrap_or(0);
    let t_end = ops
        .iter()
        .map(|&i| {
            let op = &history.ops[i];
            op.complete.unwrap_or(op.invoke).max(op.invoke)
        })
        .max()
        .unwrap_or(t_start);
    let axis = Axis {
        t_start,
        span: t_end - t_start,
        cols,
    };

    let mut sorted: Vec<usize> = ops.to_vec();
    sorted.sort_unstable_by_key(|&i| (history.ops[i].invoke, i));
    sorted.dedup();
    // Lanes of each process, in `processes` order; each lane is one drawn line.
    let mut lanes: Vec<Vec<Vec<u8>>> = vec![Vec::new(); processes.len()];
    for &i in &sorted {
        let op = &history.ops[i];
        let (start, text) = axis.draw(op);
        let row = processes
            .binary_search(&op.process)
            .expect("every op's process was collected");
        place(&mut lanes[row], start, &text, cols);
    }

    let mut out = String::new();
    for (name, process_lanes) in names.iter().zip(&lanes) {
        for (n, lane) in process_lanes.iter().enumerate() {
            let shown = if n == 0 { name.as_str() } else { "" };
            let line = format!("{shown:<name_cols$} {}", String::from_utf8_lossy(lane));
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    let (ticks, labels) = axis.ruler(history);
    out.push_str(&format!("{:name_cols$} {ticks}\n", ""));
    out.push_str(format!("{:name_cols$} {labels}", "").trim_end());
    out.push('\n');
    out
}

fn clip_name(name: &str) -> String {
    if name.chars().count() <= NAME_COLS_MAX {
        return name.to_string();
    }
    let mut s: String = name.chars().take(NAME_COLS_MAX - 1).collect();
    s.push('~');
    s
}

/// The text of an operation inside its interval: `read 3`, `cas 4->3`, `cdec 1 ->0`, ...
fn label(op: &Operation) -> String {
    let text = match op.func {
        Func::Read => match (op.outcome, op.value) {
            (Outcome::Ok, Some(v)) => format!("read {v}"),
            (Outcome::Ok, None) => "read nil".to_string(),
            _ => "read".to_string(),
        },
        Func::Write { value } => format!("write {value}"),
        Func::Cas { from, to } => format!("cas {from}->{to}"),
        Func::Decrement { qty, conditional } => {
            let name = if conditional { "cdec" } else { "dec" };
            match (op.outcome, op.value) {
                (Outcome::Ok, Some(left)) => format!("{name} {qty} ->{left}"),
                _ => format!("{name} {qty}"),
            }
        }
    };
    match op.outcome {
        Outcome::Fail => format!("{text} FAIL"),
        _ => text,
    }
}

struct Axis {
    t_start: u64,
    span: u64,
    cols: usize,
}

impl Axis {
    fn col(&self, t: u64) -> usize {
        if self.span == 0 {
            return 0;
        }
        let offset = u128::from(t.saturating_sub(self.t_start).min(self.span));
        (offset * (self.cols as u128 - 1) / u128::from(self.span)) as usize
    }

    /// Where an operation's drawing starts and its characters.
    fn draw(&self, op: &Operation) -> (usize, Vec<u8>) {
        let label = label(op);
        let from = self.col(op.invoke);
        let open_ended = op.outcome == Outcome::Info || op.complete.is_none();
        let mut text: Vec<u8> = if open_ended {
            // Open to the right edge: it may take effect at any time after its invocation.
            let head = format!("|--{label} ?");
            let from = from.min(self.cols.saturating_sub(head.len() + 3));
            let mut t = head.into_bytes();
            t.resize(t.len().max(self.cols - from), b'.');
            t
        } else {
            let to = self.col(op.complete.unwrap_or(op.invoke).max(op.invoke));
            let inner = (to - from + 1).saturating_sub(2);
            if inner >= label.len() + 2 {
                let left = (inner - label.len()) / 2;
                let right = inner - label.len() - left;
                let mut t = Vec::with_capacity(inner + 2);
                t.push(b'|');
                t.extend(std::iter::repeat_n(b'-', left));
                t.extend_from_slice(label.as_bytes());
                t.extend(std::iter::repeat_n(b'-', right));
                t.push(b'|');
                t
            } else {
                format!("[{label}]").into_bytes()
            }
        };
        text.truncate(self.cols);
        let start = from.min(self.cols - text.len());
        (start, text)
    }

    /// The tick line and the label line under the drawing.
    fn ruler(&self, history: &History) -> (String, String) {
        let cols = self.cols;
        let mut ticks = vec![b'-'; cols];
        ticks[0] = b'+';
        ticks[cols - 1] = b'+';
        let mut labels = vec![b' '; cols];
        let left = history.format_time(self.t_start).into_bytes();
        put(&mut labels, 0, &left);
        if self.span > 0 {
            let right = history.format_time(self.t_start + self.span).into_bytes();
            let right_at = cols.saturating_sub(right.len());
            let mid = history
                .format_time(self.t_start + self.span / 2)
                .into_bytes();
            let mid_at = (cols / 2).saturating_sub(mid.len() / 2);
            if mid_at >= left.len() + 2 && mid_at + mid.len() + 2 <= right_at {
                ticks[cols / 2] = b'+';
                put(&mut labels, mid_at, &mid);
            }
            if right_at >= left.len() + 2 {
                put(&mut labels, right_at, &right);
            }
        }
        (
            String::from_utf8_lossy(&ticks).into_owned(),
            String::from_utf8_lossy(&labels).into_owned(),
        )
    }
}

fn put(line: &mut [u8], at: usize, text: &[u8]) {
    for (cell, &b) in line.iter_mut().skip(at).zip(text) {
        *cell = b;
    }
}

/// Puts `text` at `start` in the first lane where it touches nothing (one blank cell either side,
/// so that neighbouring operations stay apart), opening a new lane if none has room.
fn place(lanes: &mut Vec<Vec<u8>>, start: usize, text: &[u8], cols: usize) {
    let lo = start.saturating_sub(1);
    let hi = (start + text.len() + 1).min(cols);
    let free = |lane: &Vec<u8>| lane[lo..hi].iter().all(|&c| c == b' ');
    let n = match lanes.iter().position(free) {
        Some(n) => n,
        None => {
            lanes.push(vec![b' '; cols]);
            lanes.len() - 1
        }
    };
    put(&mut lanes[n], start, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryBuilder, KeyKind, Source, TimeUnit};

    struct Op {
        process: &'static str,
        func: Func,
        outcome: Outcome,
        invoke: u64,
        complete: Option<u64>,
        value: Option<i64>,
    }

    fn ok(process: &'static str, func: Func, invoke: u64, complete: u64, value: Option<i64>) -> Op {
        Op {
            process,
            func,
            outcome: Outcome::Ok,
            invoke,
            complete: Some(complete),
            value,
        }
    }

    fn history(ops: &[Op]) -> History {
        let mut b = HistoryBuilder::new(Source::default(), TimeUnit::Micros);
        let key = b.key("stock/0", KeyKind::Stock, Some(3), None);
        for op in ops {
            let process = b.process(op.process);
            b.push(Operation {
                process,
                key,
                func: op.func,
                outcome: op.outcome,
                invoke: op.invoke,
                complete: op.complete,
                value: op.value,
                version: None,
            });
        }
        b.finish()
    }

    fn all(h: &History) -> Vec<usize> {
        (0..h.ops.len()).collect()
    }

    #[test]
    fn a_stale_read_after_a_decrement_draws_both_rows_and_the_axis() {
        let h = history(&[
            ok(
                "shopper-12",
                Func::Decrement {
                    qty: 1,
                    conditional: false,
                },
                38_000_000,
                38_300_000,
                Some(0),
            ),
            ok("shopper-7", Func::Read, 40_900_000, 41_500_000, Some(3)),
        ]);
        let t = timeline(&h, &all(&h), 100);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].starts_with("shopper-12 [dec 1 ->0]"), "{t}");
        assert!(lines[1].starts_with("shopper-7 "), "{t}");
        assert!(lines[1].contains("-read 3-"), "{t}");
        assert!(lines[1].trim_end().ends_with('|'), "{t}");
        assert!(lines[2].trim_start().starts_with('+'), "{t}");
        assert!(lines[3].contains("t=38.000 s"), "{t}");
        assert!(lines[3].contains("t=41.500 s"), "{t}");
        assert!(lines.iter().all(|l| l.chars().count() <= 100), "{t}");
    }

    #[test]
    fn a_long_interval_is_drawn_with_bars_and_its_label_inside() {
        let h = history(&[
            ok("a", Func::Write { value: 5 }, 0, 1_000, None),
            ok("b", Func::Read, 900, 1_000, Some(5)),
        ]);
        let t = timeline(&h, &all(&h), 60);
        let first = t.lines().next().expect("a row");
        assert!(first.starts_with("a |"), "{t}");
        assert!(first.contains("write 5"), "{t}");
        assert!(first.trim_end().ends_with('|'), "{t}");
    }

    #[test]
    fn info_ops_are_open_ended_and_fail_ops_are_marked() {
        let h = history(&[
            Op {
                process: "a",
                func: Func::Write { value: 5 },
                outcome: Outcome::Info,
                invoke: 100,
                complete: Some(200),
                value: None,
            },
            Op {
                process: "b",
                func: Func::Cas { from: 1, to: 2 },
                outcome: Outcome::Fail,
                invoke: 0,
                complete: Some(1_000),
                value: None,
            },
        ]);
        let t = timeline(&h, &all(&h), 80);
        let a = t.lines().find(|l| l.starts_with("a ")).expect("row a");
        assert!(a.contains("|--write 5 ?..."), "{t}");
        assert!(a.ends_with('.'), "{t}");
        let b = t.lines().find(|l| l.starts_with("b ")).expect("row b");
        assert!(b.contains("cas 1->2 FAIL"), "{t}");
    }

    #[test]
    fn identical_and_zero_length_times_draw_without_panicking() {
        let h = history(&[
            ok("a", Func::Read, 5, 5, Some(3)),
            ok("b", Func::Read, 5, 5, None),
            Op {
                process: "c",
                func: Func::Write { value: 1 },
                outcome: Outcome::Ok,
                invoke: 5,
                complete: None,
                value: None,
            },
        ]);
        for width in [0, 1, 10, 100] {
            let t = timeline(&h, &all(&h), width);
            assert!(t.contains("[read 3]"), "{t}");
            assert!(t.contains("[read nil]"), "{t}");
            assert!(t.contains("|--write 1 ?"), "{t}");
            assert!(t.contains("t=0.000 s"), "{t}");
        }
    }

    #[test]
    fn one_process_with_touching_ops_gets_a_second_lane() {
        let h = history(&[
            ok("a", Func::Read, 0, 1, Some(3)),
            ok("a", Func::Read, 2, 3, Some(3)),
            ok("b", Func::Read, 0, 1_000, Some(3)),
        ]);
        let t = timeline(&h, &all(&h), 100);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("a [read 3]"), "{t}");
        assert!(lines[1].trim_start().starts_with("[read 3]"), "{t}");
        assert!(lines[2].starts_with("b |"), "{t}");
    }

    #[test]
    fn long_names_are_cut_and_output_is_deterministic() {
        let name = "a-process-with-a-very-long-name-indeed";
        let h = history(&[ok(name, Func::Read, 0, 10, Some(3))]);
        let t = timeline(&h, &all(&h), 100);
        assert!(t.starts_with("a-process-with-a-very-l~ "), "{t}");
        assert_eq!(t, timeline(&h, &all(&h), 100));
        assert_eq!(timeline(&h, &[], 100), "(no operations)\n");
    }

    #[test]
    fn index_histories_label_the_axis_with_positions() {
        let mut h = history(&[
            ok("a", Func::Read, 0, 3, Some(3)),
            ok("b", Func::Write { value: 1 }, 4, 9, None),
        ]);
        h.time_unit = TimeUnit::Index;
        let t = timeline(&h, &all(&h), 100);
        let last = t.lines().last().expect("labels");
        assert!(last.trim_start().starts_with("#0"), "{t}");
        assert!(last.ends_with("#9"), "{t}");
    }
}
