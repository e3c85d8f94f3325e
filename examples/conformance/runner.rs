//! Runs one case over an open `Wire`: sends its steps (chopped and paced), reacts to the
//! peer, and records what the peer did in `Observed`.
//!
//! A case shared with Autobahn|Testsuite runs as Autobahn runs it (`autobahn.rs`: its
//! timers, its replies, its closing rules) and records Autobahn's view besides; a case of
//! ours stops sending once the peer has failed the connection, reacts as a conforming peer
//! (answers Pings, echoes a Close, closes TCP as the server) and waits in the time windows
//! of the command line (`steps.rs`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::model::{CLOSE, CONT, PING, PONG, TEXT};
use crate::pmce::{Agreed, Pmce};
use crate::wire::{Event, Wire};

mod autobahn;
mod deflate;
mod steps;
#[cfg(test)]
pub use autobahn::{AbState, Got};
pub use autobahn::{AbStatus, describe_rx, same};
pub use deflate::{Negotiation, StreamObs};

/// Time bounds, from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// How long a peer may take to fail the connection (or to say nothing, for silence).
    pub fail: Duration,
    /// How long a close handshake and the TCP close after it may take.
    pub close: Duration,
    /// Base time for echoes (plus 100 ms per MiB sent).
    pub echo: Duration,
}

/// A Close frame received from the peer.
#[derive(Clone, Debug)]
pub struct PeerClose {
    pub code: Option<u16>,
    pub reason: Bytes,
    pub at: Duration,
    /// True when it answered a Close of ours (false: the peer spoke first).
    pub reply: bool,
}

/// What the peer did during one case.
#[derive(Debug, Default)]
pub struct Observed {
    /// Data messages received (reassembled): opcode and payload.
    pub msgs: Vec<(u8, Bytes)>,
    pub pongs: Vec<Bytes>,
    pub pings: usize,
    pub peer_close: Option<PeerClose>,
    /// The TCP connection ended: when, and how ("FIN" or the error).
    pub eof: Option<(Duration, String)>,
    /// Frames of the peer's that break the RFC.
    pub violations: Vec<String>,
    /// When we sent our first Close, and whether it was an echo of the peer's.
    pub our_close: Option<(Duration, bool)>,
    /// The code of our first Close (None: it had no payload).
    pub our_close_code: Option<u16>,
    pub writes_total: usize,
    pub writes_done: usize,
    /// `writes_done` when we first saw the peer's Close or the end of TCP.
    pub failure_at_write: Option<usize>,
    pub write_error: Option<String>,
    /// Round trips (group 9.7/9.8): count, total, max.
    pub rtt: Option<(usize, Duration, Duration)>,
    /// When we closed our side of TCP (FIN), if we did.
    pub we_shut: Option<Duration>,
    pub elapsed: Duration,
    /// Groups 12 and 13: whether permessage-deflate was agreed, and how it went.
    pub negotiation: Option<Negotiation>,
    pub stream: StreamObs,
    /// A case shared with Autobahn: Autobahn's side of the connection.
    pub ab: Option<AbStatus>,
    /// A message in progress: opcode, compressed (RSV1 on its first frame), data so far.
    fragment: Option<(u8, bool, Vec<u8>)>,
}

impl Observed {
    /// The peer failed or closed: its Close arrived or TCP ended.
    pub fn peer_ended(&self) -> bool {
        self.peer_close.is_some() || self.eof.is_some()
    }

    /// The peer dropped TCP on its own (not after we closed our side).
    pub fn peer_dropped(&self) -> bool {
        match (&self.eof, self.we_shut) {
            (Some((at, _)), Some(shut)) => *at < shut,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

pub struct Session {
    pub wire: Wire,
    pub obs: Observed,
    /// Replies (Pong, Close echo) owed while a frame of ours was only partly written (or,
    /// in a case shared with Autobahn, while its send queue is not empty).
    deferred: Vec<(u8, Vec<u8>)>,
    /// A case shared with Autobahn is writing a queued step (`Chop::queued`).
    queued: bool,
    /// A frame of ours was left unfinished: no Close of ours can follow it.
    unfinished: bool,
    start: Instant,
    windows: Windows,
    /// The agreed permessage-deflate (groups 12 and 13), for our role.
    pmce: Option<Pmce>,
}

impl Session {
    pub fn new(wire: Wire, start: Instant, windows: Windows) -> Session {
        Session {
            wire,
            obs: Observed::default(),
            deferred: Vec::new(),
            queued: false,
            unfinished: false,
            start,
            windows,
            pmce: None,
        }
    }

    /// Groups 12 and 13: the outcome of the permessage-deflate negotiation.
    pub fn with_deflate(mut self, agreed: Option<Agreed>, note: String) -> Session {
        self.pmce = agreed.map(|a| Pmce::new(a, self.wire.we_are_client));
        self.obs.negotiation = Some(Negotiation { agreed, note });
        self
    }

    fn since(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.start)
    }

    /// Handle every event already waiting.
    fn drain(&mut self) {
        while let Some((at, ev)) = self.wire.try_event() {
            self.handle(at, ev);
        }
    }

    /// Handle events (and fire Autobahn's timers) until `deadline`, until `stop` holds
    /// (checked after each event), or until the connection is over.
    fn pump_until(&mut self, deadline: Instant, stop: impl Fn(&Observed) -> bool) {
        loop {
            self.drain();
            self.ab_timers();
            if stop(&self.obs) || self.obs.eof.is_some() || !self.ab_alive() {
                break;
            }
            let wake =
                self.ab().and_then(AbStatus::next_timer).map_or(deadline, |t| t.min(deadline));
            match self.wire.next_event(wake) {
                Some((at, ev)) => self.handle(at, ev),
                None => {
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
    }

    fn handle(&mut self, at: Instant, ev: Event) {
        match ev {
            Event::Frame(h, payload) => {
                self.wire.log.push("←", crate::wire::describe(&h, &payload));
                self.on_frame(at, h, payload);
            }
            Event::Eof => {
                self.wire.log.push("←", "TCP FIN (the peer closed its side)".into());
                self.ended(at, "FIN".into());
            }
            Event::Error(e) => {
                self.wire.log.push("←", format!("TCP error: {e}"));
                self.ended(at, e);
            }
            Event::Undecodable(e) => {
                self.wire.log.push("←", format!("undecodable: {e}"));
                self.obs.violations.push(format!("sent bytes we cannot decode: {e}"));
                self.ended(at, "undecodable input".into());
            }
        }
    }

    fn ended(&mut self, at: Instant, how: String) {
        if self.obs.eof.is_none() {
            self.obs.eof = Some((self.since(at), how));
        }
        if self.obs.we_shut.is_none() {
            self.obs.failure_at_write.get_or_insert(self.obs.writes_done);
        }
        self.ab_ended();
    }

    /// Close our side of TCP.
    fn shut(&mut self) {
        if self.obs.we_shut.is_none() {
            self.obs.we_shut = Some(self.start.elapsed());
        }
        self.wire.shutdown_write();
    }

    fn on_frame(&mut self, at: Instant, h: rfc6455::frame::FrameHeader, payload: Bytes) {
        use rfc6455::frame::{LengthForm, OpCode};
        if self.obs.peer_close.is_some() {
            self.obs.violations.push("sent a frame after its Close (§5.5.1)".into());
            return;
        }
        // The judge of the peer's frames is written here, independently of rfc6455's own.
        // Each finding: what the peer did, and whether Autobahn fails the connection on it.
        let mut bad: Vec<(String, bool)> = Vec::new();
        match (self.wire.we_are_client, h.masking_key.is_some()) {
            (true, true) => {
                bad.push(("a server sent a masked frame (§5.1: MUST NOT mask)".into(), true))
            }
            (false, false) => {
                bad.push(("a client sent an unmasked frame (§5.1: MUST mask)".into(), true))
            }
            _ => {}
        }
        let data_frame = matches!(h.opcode, OpCode::Text | OpCode::Binary);
        // RFC 7692 §6: with permessage-deflate, RSV1 ("Per-Message Compressed") is allowed on
        // the first frame of a data message only ("An endpoint MUST NOT set the 'Per-Message
        // Compressed' bit of control frames and non-first fragments of a data message").
        let compressed = self.pmce.is_some() && h.rsv1 && data_frame;
        if h.rsv2 || h.rsv3 || (h.rsv1 && !compressed) {
            if self.pmce.is_some() {
                bad.push((
                    "set RSV1 on a control or continuation frame, or RSV2/RSV3 (RFC 7692 §6)"
                        .into(),
                    true,
                ));
            } else {
                bad.push(("set RSV bits without a negotiated extension (§5.2)".into(), true));
            }
        }
        if h.length_form != LengthForm::minimal_for(h.payload_len) {
            bad.push(("used a non-minimal length encoding (§5.2)".into(), true));
        }
        let op = h.opcode.as_u4();
        let reserved = matches!(h.opcode, OpCode::Reserved(_));
        if let OpCode::Reserved(n) = h.opcode {
            bad.push((format!("sent reserved opcode {n:#x} (§5.2)"), true));
        }
        if !reserved && op >= 8 && (!h.fin || payload.len() > 125) {
            bad.push(("sent a fragmented or oversized control frame (§5.5)".into(), true));
        }
        if !reserved && op == CONT && self.obs.fragment.is_none() {
            bad.push(("sent a continuation frame with no message in progress (§5.4)".into(), true));
        }
        if !reserved && (op == TEXT || op == 2) && self.obs.fragment.is_some() {
            bad.push(("started a new message inside a fragmented one (§5.4)".into(), true));
        }
        for (what, autobahn_fails) in bad {
            if autobahn_fails {
                self.ab_violation(1002, &what);
            }
            self.obs.violations.push(what);
        }
        if reserved {
            return;
        }
        match op {
            PING => {
                self.obs.pings += 1;
                let answer = match self.ab() {
                    Some(a) => a.open(),
                    None => self.obs.our_close.is_none(),
                };
                if answer {
                    self.reply(PONG, payload.to_vec());
                }
            }
            PONG => {
                self.ab_pong(&payload);
                self.obs.pongs.push(payload);
            }
            CLOSE => self.on_close(at, &payload),
            CONT => {
                if let Some((opcode, compressed, mut data)) = self.obs.fragment.take() {
                    data.extend_from_slice(&payload);
                    if h.fin {
                        self.message(opcode, compressed, Bytes::from(data));
                    } else {
                        self.obs.fragment = Some((opcode, compressed, data));
                    }
                }
            }
            _ => {
                if h.fin {
                    self.obs.fragment = None;
                    self.message(op, compressed, payload);
                } else {
                    self.obs.fragment = Some((op, compressed, payload.to_vec()));
                }
            }
        }
    }

    fn message(&mut self, opcode: u8, compressed: bool, data: Bytes) {
        let data = if compressed {
            self.obs.stream.peer_compressed += 1;
            self.obs.stream.peer_wire += data.len() as u64;
            // RFC 7692 §7.2.2: append 00 00 ff ff and inflate.
            match self.pmce.as_mut().map(|p| p.decompress(&data)) {
                Some(Ok(d)) => Bytes::from(d),
                Some(Err(e)) => {
                    self.obs
                        .violations
                        .push(format!("sent a compressed message that {e} (RFC 7692 §7.2.2)"));
                    return;
                }
                None => data,
            }
        } else {
            self.obs.stream.peer_wire += data.len() as u64;
            data
        };
        if opcode == TEXT && std::str::from_utf8(&data).is_err() {
            self.obs.violations.push("sent a text message that is not UTF-8 (§8.1)".into());
            self.ab_violation(1007, "invalid UTF-8 in a text message");
        }
        self.ab_message(opcode, &data);
        if self.obs.stream.active {
            self.check_echo(opcode, &data);
        } else {
            self.obs.msgs.push((opcode, data));
        }
    }

    fn on_close(&mut self, at: Instant, payload: &[u8]) {
        let code = match payload {
            [] => None,
            [_] => {
                self.obs.violations.push("sent a Close with a 1-byte payload (§5.5.1)".into());
                None
            }
            [a, b, reason @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                    self.obs
                        .violations
                        .push(format!("sent close code {code}, which may not be sent (§7.4)"));
                }
                if std::str::from_utf8(reason).is_err() {
                    self.obs
                        .violations
                        .push("sent a close reason that is not UTF-8 (§5.5.1)".into());
                }
                Some(code)
            }
        };
        let reply = self.obs.our_close.is_some();
        let reason = payload.get(2..).unwrap_or(&[]);
        self.obs.peer_close = Some(PeerClose {
            code,
            reason: Bytes::copy_from_slice(reason),
            at: self.since(at),
            reply,
        });
        self.obs.failure_at_write.get_or_insert(self.obs.writes_done);
        if self.ab().is_some() {
            if payload.len() == 1 {
                self.ab_violation(1002, "received close control frame with payload len 1");
            }
            self.ab_on_close(code, reason);
            return;
        }
        if !reply {
            // §5.5.1: answer with a Close, echoing the code.
            let echo: Vec<u8> = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            self.reply(CLOSE, echo);
            self.obs.our_close = Some((self.since(Instant::now()), true));
            self.obs.our_close_code = code;
        }
        if !self.wire.we_are_client && !self.wire.mid_frame() {
            // §7.1.1: the server closes the TCP connection first.
            self.shut();
        }
    }

    /// Send a reply now, or once the frame of ours being written is complete. In a case
    /// shared with Autobahn, as Autobahn's `sendFrame`: after the queued writes of the step
    /// in progress, else at once (even inside an unfinished frame of ours).
    fn reply(&mut self, opcode: u8, payload: Vec<u8>) {
        if self.ab().is_some() {
            if !self.ab_alive() {
                return;
            }
            if self.queued {
                self.deferred.push((opcode, payload));
                return;
            }
            // Autobahn writes at once, even inside an unfinished frame of its own.
            let _ = if self.wire.mid_frame() {
                self.wire.send_frame_inside(opcode, &payload)
            } else {
                self.wire.send_frame(opcode, &payload)
            };
            return;
        }
        if self.unfinished {
            self.wire.log.push("·", "no reply: a frame of ours is unfinished".into());
        } else if self.wire.mid_frame() {
            self.wire
                .log
                .push("·", "reply deferred: a frame of ours is only partly written".into());
            self.deferred.push((opcode, payload));
        } else {
            let _ = self.wire.send_frame(opcode, &payload);
        }
    }

    fn send_deferred(&mut self) {
        if self.wire.mid_frame() || self.queued {
            return;
        }
        for (opcode, payload) in std::mem::take(&mut self.deferred) {
            let _ = self.wire.send_frame(opcode, &payload);
            if opcode == CLOSE && !self.wire.we_are_client {
                self.shut();
            }
        }
    }

    /// The peer ended the connection while we were sending: stop. A frame of ours left
    /// half-written cannot be followed by a Close, so we close TCP instead (not in a case
    /// shared with Autobahn: it does not).
    fn stop_sending(&mut self) {
        self.wire.log.push("·", "stopped sending: the connection is over".into());
        if self.obs.write_error.is_some() {
            self.ab_ended();
        }
        if self.ab().is_some() {
            return;
        }
        if self.wire.mid_frame() {
            self.wire.log_unfinished_output();
            self.unfinished = true;
            if !self.deferred.is_empty() {
                self.wire
                    .log
                    .push("·", "owed replies dropped: a frame of ours is unfinished".into());
                self.deferred.clear();
            }
            self.shut();
        }
    }

    /// Write `bytes`, unless the peer has already ended the connection (a case shared
    /// with Autobahn: unless Autobahn's side is CLOSED; it goes on sending while closing).
    fn write(&mut self, bytes: &[u8]) -> bool {
        self.drain();
        self.ab_timers();
        if self.ab().is_some() {
            if !self.ab_alive() {
                return false;
            }
        } else if self.obs.eof.is_some() || self.obs.peer_close.as_ref().is_some_and(|c| !c.reply) {
            // Stop once the peer has failed or closed the connection on its own (a Close
            // that answers one of ours does not stop us: some cases send data after it).
            return false;
        }
        match self.wire.write(bytes) {
            Ok(()) => {
                self.obs.writes_done += 1;
                self.send_deferred();
                true
            }
            Err(e) => {
                self.wire.log.push("·", format!("write failed: {e}"));
                self.obs.write_error = Some(e.to_string());
                false
            }
        }
    }
}
