//! Profile sessions: a user updates their profile (a new email), is redirected, and reads it back
//! a few times, with reads routed as the variant's `profile_reads` says (read-your-writes).

use super::{App, AppTimer, Purpose, Stage};
use crate::engine::{Counter, Key, SimRng, SimTime};
use crate::history::ProcessId;
use crate::model::message::{Answer, Client, Op, Tag};
use crate::model::node::{Observation, Out, ProcessName};
use crate::scenario::{NodeId, ProfileReads};

pub type SessionRef = Key;

/// A user who updates their profile, is redirected, and reads it back a few times.
#[derive(Clone, Debug)]
pub(super) struct Session {
    row: u32,
    /// The session's number, and the messages it sent so far (for their tags).
    number: u64,
    sent: u32,
    rng: SimRng<Counter>,
    /// The version and log position of the user's own last acknowledged write.
    written_version: u64,
    written_lsn: u64,
    /// The newest version any of the user's reads has returned.
    seen_version: u64,
    reads_left: u32,
    sticky_until: SimTime,
    read_started: SimTime,
    pub(super) process: ProcessId,
}

impl App {
    /// Profile session number `n` starts: its user updates their email on the primary.
    pub fn start_session(&mut self, now: SimTime, n: u64, out: &mut Out) {
        let mut rng = self.session_draws.of(n);
        let row = self.first_profile_row + rng.below(u64::from(self.profiles.users)) as u32;
        let session = Session {
            row,
            number: n,
            sent: 0,
            rng,
            written_version: 0,
            written_lsn: 0,
            seen_version: 0,
            reads_left: self.profiles.reads_after_write,
            sticky_until: SimTime::ZERO,
            read_started: SimTime::ZERO,
            process: self.new_process(ProcessName::Session(n), out),
        };
        // The new email: a value unique to the session.
        let value = n as i64 + 1;
        self.stats.profile.sessions += 1;
        let s = self.sessions.insert(session);
        let primary = self.topology.primary();
        self.profile_request(now, s, primary, Op::WriteProfile { row, value }, out);
    }

    /// Session `s` sends a request: its process, quantity (none) and the request's tag.
    pub(super) fn session_sends(&mut self, s: SessionRef) -> (ProcessId, i64, Tag) {
        let session = self.sessions.get_mut(s).expect("live session");
        session.sent += 1;
        let tag = Tag::request(Client::Session(session.number), session.sent - 1);
        (session.process, 0, tag)
    }

    /// Sends a profile session's write or read to `to`.
    fn profile_request(&mut self, now: SimTime, s: SessionRef, to: NodeId, op: Op, out: &mut Out) {
        self.request(now, s, Purpose::Profile, Stage::Direct, to, op, false, out);
    }

    /// Time for the session's next read of its own profile.
    pub(super) fn profile_read(&mut self, now: SimTime, s: SessionRef, out: &mut Out) {
        let session = self.sessions.get_mut(s).expect("live session");
        session.read_started = now;
        let (row, lsn) = (session.row, session.written_lsn);
        let to_primary = match self.profile_reads {
            ProfileReads::Primary => true,
            ProfileReads::StickyPrimary => now < session.sticky_until,
            ProfileReads::Replica | ProfileReads::SessionToken => false,
        };
        let (to, op) = if to_primary {
            (self.topology.primary(), Op::Read { row })
        } else if self.profile_reads == ProfileReads::SessionToken {
            (self.pick_replica(), Op::ReadAtLeast { row, lsn })
        } else {
            (self.pick_replica(), Op::Read { row })
        };
        self.profile_request(now, s, to, op, out);
    }

    pub(super) fn profile_answer(
        &mut self,
        now: SimTime,
        s: SessionRef,
        at_primary: bool,
        answer: Answer,
        out: &mut Out,
    ) {
        let window = self.profiles.sticky_window_us;
        let session = self.sessions.get_mut(s).expect("live session");
        match answer {
            Answer::Written { lsn, version } => {
                self.stats.profile.writes += 1;
                session.written_version = version;
                session.written_lsn = lsn;
                session.sticky_until = now.after(window);
                let redirect = self.profiles.redirect_time.sample(&mut session.rng);
                out.after(redirect, AppTimer::ProfileRead(s));
            }
            Answer::TooStale => {
                // The replica has not applied our write yet: ask the primary instead.
                self.stats.profile.token_fallbacks += 1;
                let op = Op::Read { row: session.row };
                let primary = self.topology.primary();
                self.profile_request(now, s, primary, op, out);
            }
            Answer::Row { version, .. } => {
                let p = &mut self.stats.profile;
                p.reads += 1;
                p.reads_at_primary += u64::from(at_primary);
                p.read_latency_us.record(now.since(session.read_started));
                p.ryw_violations += u64::from(version < session.written_version);
                p.monotonic_read_violations += u64::from(version < session.seen_version);
                session.seen_version = session.seen_version.max(version);
                session.reads_left -= 1;
                if session.reads_left == 0 {
                    let process = session.process;
                    self.sessions.remove(s).expect("live session");
                    out.observe(Observation::ProcessEnded { process });
                } else {
                    let gap = self.profiles.read_gap.sample(&mut session.rng);
                    out.after(gap, AppTimer::ProfileRead(s));
                }
            }
            other => unreachable!("a profile request does not answer {other:?}"),
        }
    }
}
