//! Deadlines as values: the caller tells the connection the time ([`Connection::set_time`]),
//! and the connection says when it next needs attention ([`Connection::next_deadline`]). It
//! never reads a clock itself, so any driver, event loop or test can own time.
//!
//! Three deadlines exist: the close wait (our Close sent, the peer's not yet received; then
//! the connection is given up with close code 1006, §7.1.5), the next keepalive Ping (the
//! peer has been silent for [`Keepalive::interval`]), and the keepalive timeout (a Ping was
//! sent and nothing at all came back within [`Keepalive::timeout`]: the connection is failed
//! with 1011).

use std::time::Instant;

use bytes::Bytes;

use super::{Connection, State};
use crate::frame::OpCode;
use crate::protocol::config::Keepalive;
use crate::protocol::error::ProtocolError;

/// What the connection knows of time: only what its caller told it.
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// The latest time the caller passed in.
    now: Option<Instant>,
    /// When bytes from the peer last arrived (as far as the times passed in tell).
    heard_at: Option<Instant>,
    /// Read-buffer length after the last decoding pass: more means the peer sent something.
    seen_len: usize,
    /// When our keepalive Ping went out, while nothing has been heard since.
    ping_sent_at: Option<Instant>,
    /// When our Close went out (or, if no time was known then, the first time told after).
    close_sent_at: Option<Instant>,
    /// The close wait ran out.
    close_timed_out: bool,
}

impl Connection {
    /// Tell the connection the time. Deadlines that passed are acted on at once: a keepalive
    /// Ping is queued, a peer silent past its keepalive timeout is failed (1011), a close wait
    /// that ran out gives the connection up ([`State::Aborted`], close code 1006). Deadlines
    /// are measured from the times passed in, so call this whenever bytes arrive (before
    /// [`Connection::next_event`]) and when [`Connection::next_deadline`] passes. A connection
    /// that is never told the time has no deadlines.
    pub fn set_time(&mut self, now: Instant) {
        self.timers.now = Some(now);
        if self.timers.heard_at.is_none() {
            // The first time we are told: silence is measured from here.
            self.timers.heard_at = Some(now);
        }
        self.note_new_bytes();
        if self.close_sent && self.timers.close_sent_at.is_none() {
            self.timers.close_sent_at = Some(now);
        }
        if let Some(deadline) = self.close_deadline()
            && now >= deadline
        {
            self.timers.close_timed_out = true;
            self.abort();
            return;
        }
        let Some(keepalive) = self.config.keepalive else {
            return;
        };
        if self.state != State::Open {
            return;
        }
        match self.keepalive_deadline(&keepalive) {
            Some((deadline, KeepaliveStep::Fail)) if now >= deadline => {
                let error = ProtocolError::KeepaliveTimeout { timeout: keepalive.timeout };
                let _ = self.fail(error);
            }
            Some((deadline, KeepaliveStep::Ping)) if now >= deadline => {
                self.timers.ping_sent_at = Some(now);
                // §5.5.2: "A Ping frame MAY be sent ... as a keepalive or as a means to
                // verify that the remote endpoint is still responsive." Like an owed Pong it
                // is queued only while it fits the write budget; the timeout runs either way.
                if self.output.len() + 2 + 4 <= self.config.max_write_buffer {
                    self.queue_frame(true, OpCode::Ping, &Bytes::new());
                }
            }
            _ => {}
        }
    }

    /// The earliest time the connection wants [`Connection::set_time`] called again: the close
    /// wait's end, the next keepalive Ping, or the keepalive timeout. `None`: no deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        let keepalive = match (self.state, self.config.keepalive) {
            (State::Open, Some(keepalive)) => {
                self.keepalive_deadline(&keepalive).map(|(deadline, _)| deadline)
            }
            _ => None,
        };
        match (self.close_deadline(), keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the wait for the peer's Close ends: our Close was sent
    /// [`crate::protocol::Config::close_timeout`] ago and the peer's has not arrived.
    pub fn close_deadline(&self) -> Option<Instant> {
        if self.state != State::CloseSent {
            return None;
        }
        Some(self.timers.close_sent_at? + self.config.close_timeout)
    }

    /// True when the connection was given up because the peer did not answer our Close
    /// within `close_timeout`.
    pub fn close_timed_out(&self) -> bool {
        self.timers.close_timed_out
    }

    /// The latest time the caller passed to [`Connection::set_time`].
    pub fn now(&self) -> Option<Instant> {
        self.timers.now
    }

    /// The next keepalive step and when it is due.
    fn keepalive_deadline(&self, keepalive: &Keepalive) -> Option<(Instant, KeepaliveStep)> {
        match self.timers.ping_sent_at {
            Some(sent) => Some((sent + keepalive.timeout, KeepaliveStep::Fail)),
            None => Some((self.timers.heard_at? + keepalive.interval, KeepaliveStep::Ping)),
        }
    }

    /// If bytes arrived since the last look, the peer is alive: as of the latest time told,
    /// and any keepalive Ping of ours counts as answered (anything from the peer does).
    pub(super) fn note_new_bytes(&mut self) {
        if self.read_buf.len() > self.timers.seen_len {
            self.timers.seen_len = self.read_buf.len();
            self.timers.ping_sent_at = None;
            if let Some(now) = self.timers.now {
                self.timers.heard_at = Some(now);
            }
        }
    }

    /// Record that the bytes left in the read buffer have been looked at.
    pub(super) fn note_decoded(&mut self) {
        self.timers.seen_len = self.read_buf.len();
    }

    /// Record when our Close went out.
    pub(super) fn note_close_sent(&mut self) {
        self.timers.close_sent_at = self.timers.now;
    }
}

/// What a keepalive deadline does when it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeepaliveStep {
    /// The peer has been silent for the interval: send a Ping.
    Ping,
    /// Our Ping got nothing back within the timeout: fail the connection.
    Fail,
}
