//! Simulated time: an integer count of microseconds since the start of a run.
//!
//! Never a float and never the wall clock, so that two runs of the same scenario order their events
//! identically on every machine.

use std::fmt;

/// A point in simulated time, in microseconds since the run began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// Microseconds in one millisecond.
pub const MICROS_PER_MS: u64 = 1_000;
/// Microseconds in one second.
pub const MICROS_PER_S: u64 = 1_000_000;

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than any event a run may schedule.
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_micros(us: u64) -> Self {
        SimTime(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms * MICROS_PER_MS)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * MICROS_PER_S)
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// For reports only: the model never computes with float time.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_S as f64
    }
    /// For reports only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_MS as f64
    }
    /// `self + d`, saturating at [`SimTime::MAX`] so that a huge delay cannot wrap into the past.
    pub const fn after(self, d_us: u64) -> Self {
        SimTime(self.0.saturating_add(d_us))
    }
    /// Microseconds from `earlier` to `self`, or 0 if `earlier` is later.
    pub const fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    /// Seconds with millisecond precision, e.g. `41.200s`: integer arithmetic, so identical everywhere.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / MICROS_PER_S, (self.0 % MICROS_PER_S) / MICROS_PER_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_seconds_with_millis() {
        assert_eq!(SimTime::from_micros(41_200_999).to_string(), "41.200s");
        assert_eq!(SimTime::ZERO.to_string(), "0.000s");
    }

    #[test]
    fn after_saturates_instead_of_wrapping() {
        assert_eq!(SimTime(u64::MAX - 1).after(10), SimTime::MAX);
        assert_eq!(SimTime(5).since(SimTime(9)), 0);
    }
}
