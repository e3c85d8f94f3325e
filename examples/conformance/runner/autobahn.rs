//! A case shared with Autobahn|Testsuite runs as Autobahn runs it: this is Autobahn's side of
//! the connection, written anew from how autobahn-python 0.10.9 (the version the testsuite
//! pins; `autobahn/websocket/protocol.py`) behaves with the testsuite's options
//! (`failByDrop = False`, `echoCloseCodeReason = False`, `closeHandshakeTimeout = 1`,
//! `serverConnectionDropTimeout = 1`) and from its case framework (`case/case.py`,
//! `fuzzing.py`):
//!
//! - the state OPEN → CLOSING → CLOSED, and what it records for the close verdict:
//!   `closedByMe`, `failedByMe`, `droppedByMe`, `wasClean`, the close codes;
//! - `received`: the messages (not once we failed the connection), Pongs and marks;
//! - the timers: `killAfter` (fail: Close 1001 "Going Away", or drop TCP when closing),
//!   `closeAfter` (a Close without payload), the closing handshake timeout (1 s after our
//!   Close: drop TCP, unclean), and as a client the wait for the server to drop TCP (1 s);
//! - its replies: a Pong while open; to a Close while open, a Close 1000 (it does not echo
//!   the code); as the server it drops TCP once a Close has gone both ways;
//! - a frame of the peer's that breaks the RFC fails the connection (1002; 1007 for text
//!   or a close reason that is not UTF-8), and processing goes on (`failByDrop = False`);
//! - `finishWhenDone`: once `received` equals every `expected` list, Autobahn starts the
//!   closing handshake itself (code `closeCode[0]`), unless the case suppresses it.
//!
//! What the peer did is still recorded in `Observed` for the strict verdict; this only adds
//! Autobahn's view (`Observed::ab`) and makes the runner act as Autobahn acts.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Session;
use crate::model::{Autobahn, CLOSE, Payload, Rule, Rx, Verdict};

/// Autobahn's closing handshake timeout and a client's wait for the server's TCP close.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);
const SERVER_DROP_TIMEOUT: Duration = Duration::from_secs(1);

/// Autobahn's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbState {
    Open,
    Closing,
    Closed,
}

/// One entry of Autobahn's `received`.
#[derive(Debug)]
pub enum Got {
    Message { binary: bool, data: Bytes },
    Pong(Bytes),
    Timeout(&'static str),
}

impl Got {
    fn matches(&self, rx: &Rx) -> bool {
        match (self, rx) {
            (Got::Message { binary, data }, Rx::Message { binary: b, data: d }) => {
                binary == b && d.matches(data)
            }
            (Got::Pong(p), Rx::Pong(q)) => q.matches(p),
            (Got::Timeout(a), Rx::Timeout(b)) => a == b,
            _ => false,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Got::Message { binary, data } => format!(
                "(message, {} bytes {}, binary={binary})",
                data.len(),
                crate::wire::preview(data)
            ),
            Got::Pong(p) => format!("(pong, {})", crate::wire::preview(p)),
            Got::Timeout(t) => format!("(timeout, {t})"),
        }
    }
}

/// `received == expected`, as Autobahn compares them (the whole list, in order).
pub fn same(got: &[Got], expected: &[Rx]) -> bool {
    got.len() == expected.len() && got.iter().zip(expected).all(|(g, e)| g.matches(e))
}

pub fn describe_rx(rx: &[Rx]) -> String {
    let each: Vec<String> = rx
        .iter()
        .map(|r| match r {
            Rx::Message { binary, data } => {
                let d: Vec<u8> = match data {
                    Payload::Bytes(b) => b.clone(),
                    Payload::Repeat { .. } => data.to_vec().into_iter().take(40).collect(),
                };
                format!(
                    "(message, {} bytes {}, binary={binary})",
                    data.len(),
                    crate::wire::preview(&d)
                )
            }
            Rx::Pong(p) => format!("(pong, {})", crate::wire::preview(&p.to_vec())),
            Rx::Timeout(t) => format!("(timeout, {t})"),
        })
        .collect();
    format!("[{}]", each.join(", "))
}

/// Autobahn's side of one case.
#[derive(Debug)]
pub struct AbStatus {
    pub spec: Autobahn,
    pub state: AbState,
    pub closed_by_me: bool,
    pub failed_by_me: bool,
    pub dropped_by_me: bool,
    pub was_clean: bool,
    pub not_clean_reason: Option<String>,
    pub local_close_code: Option<u16>,
    pub remote_close_code: Option<u16>,
    pub received: Vec<Got>,
    /// 9.x, 12, 13: the `behavior` the case's own `onMessage` set, and its `result`.
    pub behavior: Option<(Verdict, String)>,
    /// What the runner did that Autobahn would not have (or could not be mirrored).
    pub notes: Vec<String>,
    kill_at: Option<Instant>,
    close_at: Option<Instant>,
    close_handshake_at: Option<Instant>,
    server_drop_at: Option<Instant>,
}

impl AbStatus {
    pub fn new(spec: Autobahn) -> AbStatus {
        AbStatus {
            spec,
            state: AbState::Open,
            closed_by_me: false,
            failed_by_me: false,
            dropped_by_me: false,
            was_clean: false,
            not_clean_reason: None,
            local_close_code: None,
            remote_close_code: None,
            received: Vec::new(),
            behavior: None,
            notes: Vec::new(),
            kill_at: None,
            close_at: None,
            close_handshake_at: None,
            server_drop_at: None,
        }
    }

    pub fn open(&self) -> bool {
        self.state == AbState::Open
    }

    pub fn closed(&self) -> bool {
        self.state == AbState::Closed
    }

    /// The next timer due, if any is armed.
    pub fn next_timer(&self) -> Option<Instant> {
        [self.kill_at, self.close_at, self.close_handshake_at, self.server_drop_at]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Close codes Autobahn accepts from a peer (`CLOSE_STATUS_CODES_ALLOWED`, 3000–4999): a
/// Close with any other code fails the connection with 1002.
pub fn autobahn_accepts_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

impl Session {
    pub(super) fn ab(&self) -> Option<&AbStatus> {
        self.obs.ab.as_ref()
    }

    fn ab_mut(&mut self) -> Option<&mut AbStatus> {
        self.obs.ab.as_mut()
    }

    /// True while Autobahn's side is not CLOSED (always true for a case of ours).
    pub(super) fn ab_alive(&self) -> bool {
        self.ab().is_none_or(|a| !a.closed())
    }

    /// `killAfter` / `closeAfter`, from now.
    pub(super) fn ab_arm(&mut self, kill: bool, ms: u64) {
        let at = Instant::now() + Duration::from_millis(ms);
        if let Some(a) = self.ab_mut() {
            if kill {
                a.kill_at = Some(at);
            } else {
                a.close_at = Some(at);
            }
        }
    }

    /// Fire the timers that are due.
    pub(super) fn ab_timers(&mut self) {
        let now = Instant::now();
        let due = |t: &mut Option<Instant>| {
            if t.is_some_and(|t| t <= now) {
                *t = None;
                true
            } else {
                false
            }
        };
        let Some(a) = self.obs.ab.as_mut() else { return };
        let (kill, close, handshake, server_drop) = (
            due(&mut a.kill_at),
            due(&mut a.close_at),
            due(&mut a.close_handshake_at),
            due(&mut a.server_drop_at),
        );
        if a.closed() {
            return;
        }
        if handshake {
            self.wire.log.push("·", "Autobahn's closing handshake timeout (1 s) fired".into());
            self.ab_unclean("peer did not respond (in time) in closing handshake");
            self.ab_drop();
        }
        if server_drop {
            self.wire.log.push("·", "the server did not drop TCP within 1 s".into());
            self.ab_unclean("server did not drop TCP connection (in time)");
            self.ab_drop();
        }
        if kill {
            self.wire.log.push("·", "killAfter fired: Autobahn fails the connection".into());
            self.ab_fail(1001, b"Going Away");
        }
        if close && self.ab().is_some_and(AbStatus::open) {
            self.wire
                .log
                .push("·", "closeAfter fired: Autobahn starts the closing handshake".into());
            self.ab_send_close(None, b"", false);
        }
    }

    fn ab_unclean(&mut self, why: &str) {
        if let Some(a) = self.ab_mut() {
            a.was_clean = false;
            a.not_clean_reason = Some(why.to_string());
        }
    }

    /// `dropConnection`: Autobahn closes TCP (we close our side).
    pub(super) fn ab_drop(&mut self) {
        let Some(a) = self.ab_mut() else { return };
        if a.closed() {
            return;
        }
        a.dropped_by_me = true;
        a.state = AbState::Closed;
        self.deferred.clear();
        self.shut();
    }

    /// `failConnection(code, reason)`.
    pub(super) fn ab_fail(&mut self, code: u16, reason: &[u8]) {
        let Some(a) = self.ab_mut() else { return };
        match a.state {
            AbState::Closed => {}
            AbState::Open => {
                a.failed_by_me = true;
                self.ab_send_close(Some(code), reason, false);
            }
            AbState::Closing => {
                a.failed_by_me = true;
                self.ab_drop();
            }
        }
    }

    /// A frame of the peer's breaks a rule Autobahn checks: it fails the connection.
    pub(super) fn ab_violation(&mut self, code: u16, what: &str) {
        if self.ab().is_some_and(|a| !a.closed()) {
            self.wire.log.push("·", format!("Autobahn fails the connection ({code}): {what}"));
            let reason: Vec<u8> = what.bytes().take(123).collect();
            self.ab_fail(code, &reason);
        }
    }

    /// `sendCloseFrame(code, reason, isReply)`: only while open.
    pub(super) fn ab_send_close(&mut self, code: Option<u16>, reason: &[u8], is_reply: bool) {
        if !self.ab().is_some_and(AbStatus::open) {
            return;
        }
        let mut payload = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
        payload.extend_from_slice(reason);
        self.reply(CLOSE, payload);
        if self.obs.our_close.is_none() {
            self.obs.our_close = Some((self.since(Instant::now()), is_reply));
            self.obs.our_close_code = code;
        }
        self.ab_closing(code, is_reply);
    }

    /// Our Close went out (a reply, one of ours, or a case's own): CLOSING.
    pub(super) fn ab_closing(&mut self, code: Option<u16>, is_reply: bool) {
        let Some(a) = self.ab_mut() else { return };
        if !a.open() {
            return;
        }
        a.state = AbState::Closing;
        a.closed_by_me = !is_reply;
        a.local_close_code = code;
        if a.closed_by_me {
            a.close_handshake_at = Some(Instant::now() + CLOSE_HANDSHAKE_TIMEOUT);
        }
    }

    /// `onCloseFrame`: the peer's Close, already checked for a 1-byte payload.
    pub(super) fn ab_on_close(&mut self, code: Option<u16>, reason: &[u8]) {
        if self.ab().is_none_or(AbStatus::closed) {
            return;
        }
        if let Some(a) = self.ab_mut() {
            a.remote_close_code = code;
        }
        if let Some(c) = code
            && !autobahn_accepts_code(c)
        {
            self.ab_violation(1002, &format!("invalid close code {c}"));
        }
        if std::str::from_utf8(reason).is_err() {
            self.ab_violation(1007, "invalid close reason (non-UTF-8 payload)");
        }
        let server = !self.wire.we_are_client;
        let Some(a) = self.ab_mut() else { return };
        match a.state {
            AbState::Closing => {
                a.close_handshake_at = None;
                a.was_clean = true;
                if server {
                    self.ab_drop();
                } else {
                    a.server_drop_at = Some(Instant::now() + SERVER_DROP_TIMEOUT);
                }
            }
            AbState::Open => {
                a.was_clean = true;
                // echoCloseCodeReason = False: the answer is 1000, whatever the peer sent.
                self.ab_send_close(Some(1000), b"", true);
                if server {
                    self.ab_drop();
                }
            }
            AbState::Closed => a.was_clean = false,
        }
    }

    /// The connection ended (the peer closed TCP, or an error): CLOSED.
    pub(super) fn ab_ended(&mut self) {
        if let Some(a) = self.ab_mut()
            && !a.closed()
        {
            a.state = AbState::Closed;
            a.kill_at = None;
            a.close_at = None;
            a.close_handshake_at = None;
            a.server_drop_at = None;
        }
    }

    /// A Pong arrived (`Case.onPong`).
    pub(super) fn ab_pong(&mut self, payload: &Bytes) {
        if let Some(a) = self.ab_mut()
            && !a.closed()
        {
            a.received.push(Got::Pong(payload.clone()));
            self.ab_finish_when_done();
        }
    }

    /// A data message arrived (`onMessage`): recorded unless we failed the connection.
    pub(super) fn ab_message(&mut self, opcode: u8, data: &Bytes) {
        let Some(a) = self.ab_mut() else { return };
        if a.closed() || a.failed_by_me {
            return;
        }
        let binary = opcode != crate::model::TEXT;
        match a.spec.rule {
            Rule::Compare | Rule::WrongCodeFails | Rule::Informational => {
                a.received.push(Got::Message { binary, data: data.clone() });
                self.ab_finish_when_done();
            }
            Rule::EchoLength { binary: b, len } => {
                let kind = |b: bool| if b { "binary" } else { "text" };
                if binary != b {
                    a.behavior.get_or_insert((
                        Verdict::Failed,
                        format!(
                            "Expected {} message with payload, but got {}.",
                            kind(b),
                            kind(binary)
                        ),
                    ));
                } else if data.len() != len {
                    a.behavior.get_or_insert((
                        Verdict::Failed,
                        format!(
                            "Expected {} message with payload of length {len}, but got {}.",
                            kind(b),
                            data.len()
                        ),
                    ));
                } else {
                    a.behavior = Some((
                        Verdict::Ok,
                        format!("Received {} message of length {len}.", kind(b)),
                    ));
                }
                self.ab_send_close(Some(1000), b"", false);
            }
            // The stepping loop checks each echo itself.
            Rule::Stream { .. } => {}
        }
    }

    /// `finishWhenDone`: once `received` equals every `expected` list, close (code
    /// `closeCode[0]`) when Autobahn is to start the closing handshake.
    fn ab_finish_when_done(&mut self) {
        let Some(a) = self.ab() else { return };
        let all = a.spec.expected.iter().all(|(_, rx)| same(&a.received, rx));
        if all && a.spec.close.closed_by_me && !a.spec.suppress_close {
            let code = a.spec.close.codes.first().copied();
            self.ab_send_close(code, b"", false);
        }
    }

    /// Steps `Mark`: true when the case goes on.
    pub(super) fn ab_mark(&mut self, tag: &'static str) -> bool {
        match self.ab_mut() {
            Some(a) if a.open() => {
                a.received.push(Got::Timeout(tag));
                self.wire.log.push("·", format!("(timeout, {tag}): still open, the case goes on"));
                true
            }
            Some(_) => {
                self.wire
                    .log
                    .push("·", format!("no (timeout, {tag}): the connection is no longer open"));
                false
            }
            None => true,
        }
    }

    /// 9.7, 9.8, 12, 13: the stepping loop's outcome (`behavior` and `result`).
    pub(super) fn ab_stream_outcome(&mut self, verdict: Verdict, result: String) {
        if let Some(a) = self.ab_mut() {
            a.behavior = Some((verdict, result));
        }
        self.ab_send_close(Some(1000), b"", false);
    }

    /// After the steps: let Autobahn's timers and the peer end the connection. A peer that
    /// leaves it open with no timer of Autobahn's left would keep Autobahn waiting forever;
    /// we drop TCP after `idle` without traffic, and say so.
    pub(super) fn ab_await_closed(&mut self, idle: Duration) {
        let mut last = Instant::now();
        loop {
            self.drain();
            self.ab_timers();
            let Some(a) = self.ab() else { return };
            if a.closed() {
                break;
            }
            let wake = a.next_timer().unwrap_or(last + idle);
            match self.wire.next_event(wake) {
                Some((at, ev)) => {
                    self.handle(at, ev);
                    last = Instant::now();
                }
                None => {
                    let a = self.ab().expect("checked above");
                    if a.next_timer().is_none() && Instant::now() >= last + idle {
                        let note = format!(
                            "no timer of Autobahn's is left and nothing happened for {} ms: Autobahn would wait forever; we drop TCP",
                            idle.as_millis()
                        );
                        self.wire.log.push("·", note.clone());
                        if let Some(a) = self.ab_mut() {
                            a.notes.push(note);
                        }
                        self.ab_drop();
                    }
                }
            }
        }
    }
}
