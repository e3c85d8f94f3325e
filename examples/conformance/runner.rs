//! Runs one case over an open `Wire`: sends its steps (chopped and paced, stopping once the
//! peer has failed the connection), reacts as a conforming peer would (answers Pings,
//! echoes a Close, closes TCP as the server), and records what the peer did in `Observed`.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::corpus::Corpus;
use crate::model::{CLOSE, CONT, Case, Chop, Expect, PING, PONG, Step, TEXT};
use crate::pmce::{Agreed, Pmce};
use crate::wire::{Event, Wire, encode};

mod deflate;
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
    /// Replies (Pong, Close echo) owed while a frame of ours was only partly written.
    deferred: Vec<(u8, Vec<u8>)>,
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

    /// Handle events until `deadline`, or until `stop` holds (checked after each event).
    fn pump_until(&mut self, deadline: Instant, stop: impl Fn(&Observed) -> bool) {
        self.drain();
        while !stop(&self.obs) && self.obs.eof.is_none() {
            match self.wire.next_event(deadline) {
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
        let v = &mut self.obs.violations;
        // The judge of the peer's frames is written here, independently of rfc6455's own.
        match (self.wire.we_are_client, h.masking_key.is_some()) {
            (true, true) => v.push("a server sent a masked frame (§5.1: MUST NOT mask)".into()),
            (false, false) => v.push("a client sent an unmasked frame (§5.1: MUST mask)".into()),
            _ => {}
        }
        let data_frame = matches!(h.opcode, OpCode::Text | OpCode::Binary);
        // RFC 7692 §6: with permessage-deflate, RSV1 ("Per-Message Compressed") is allowed on
        // the first frame of a data message only ("An endpoint MUST NOT set the 'Per-Message
        // Compressed' bit of control frames and non-first fragments of a data message").
        let compressed = self.pmce.is_some() && h.rsv1 && data_frame;
        if h.rsv2 || h.rsv3 || (h.rsv1 && !compressed) {
            if self.pmce.is_some() {
                v.push(
                    "set RSV1 on a control or continuation frame, or RSV2/RSV3 (RFC 7692 §6)"
                        .into(),
                );
            } else {
                v.push("set RSV bits without a negotiated extension (§5.2)".into());
            }
        }
        if h.length_form != LengthForm::minimal_for(h.payload_len) {
            v.push("used a non-minimal length encoding (§5.2)".into());
        }
        let op = h.opcode.as_u4();
        if let OpCode::Reserved(n) = h.opcode {
            v.push(format!("sent reserved opcode {n:#x} (§5.2)"));
            return;
        }
        if op >= 8 && (!h.fin || payload.len() > 125) {
            v.push("sent a fragmented or oversized control frame (§5.5)".into());
        }
        match op {
            PING => {
                self.obs.pings += 1;
                if self.obs.our_close.is_none() {
                    self.reply(PONG, payload.to_vec());
                }
            }
            PONG => self.obs.pongs.push(payload),
            CLOSE => self.on_close(at, &payload),
            CONT => match self.obs.fragment.take() {
                None => {
                    v.push("sent a continuation frame with no message in progress (§5.4)".into())
                }
                Some((opcode, compressed, mut data)) => {
                    data.extend_from_slice(&payload);
                    if h.fin {
                        self.message(opcode, compressed, Bytes::from(data));
                    } else {
                        self.obs.fragment = Some((opcode, compressed, data));
                    }
                }
            },
            _ => {
                if self.obs.fragment.is_some() {
                    v.push("started a new message inside a fragmented one (§5.4)".into());
                }
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
        }
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
        self.obs.peer_close = Some(PeerClose {
            code,
            reason: Bytes::copy_from_slice(payload.get(2..).unwrap_or(&[])),
            at: self.since(at),
            reply,
        });
        self.obs.failure_at_write.get_or_insert(self.obs.writes_done);
        if !reply {
            // §5.5.1: answer with a Close, echoing the code.
            let echo: Vec<u8> = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            self.reply(CLOSE, echo);
            self.obs.our_close = Some((self.since(Instant::now()), true));
        }
        if !self.wire.we_are_client && !self.wire.mid_frame() {
            // §7.1.1: the server closes the TCP connection first.
            self.shut();
        }
    }

    /// Send a reply now, or once the frame of ours being written is complete.
    fn reply(&mut self, opcode: u8, payload: Vec<u8>) {
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
        if self.wire.mid_frame() {
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
    /// half-written cannot be followed by a Close, so we close TCP instead.
    fn stop_sending(&mut self) {
        self.wire.log.push("·", "stopped sending: the peer has ended the connection".into());
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

    /// Write `bytes`, unless the peer has already ended the connection.
    fn write(&mut self, bytes: &[u8], sends_close: bool) -> bool {
        self.drain();
        // Stop once the peer has failed or closed the connection on its own (a Close that
        // answers one of ours does not stop us: some cases send data after their Close).
        if self.obs.eof.is_some() || self.obs.peer_close.as_ref().is_some_and(|c| !c.reply) {
            return false;
        }
        match self.wire.write(bytes) {
            Ok(()) => {
                self.obs.writes_done += 1;
                self.send_deferred();
                if sends_close && self.obs.our_close.is_none() {
                    self.obs.our_close = Some((self.since(Instant::now()), false));
                }
                true
            }
            Err(e) => {
                self.wire.log.push("·", format!("write failed: {e}"));
                self.obs.write_error = Some(e.to_string());
                false
            }
        }
    }

    /// Run the case's steps, then wait for the outcome as its expectation needs, then close.
    pub fn run(&mut self, case: &Case) {
        let wait_secs = match case.expect {
            Expect::DeflateEcho { wait_secs, .. } => wait_secs,
            _ => 60,
        };
        let plan = self.plan(case);
        self.obs.writes_total = plan.iter().map(Planned::writes).sum();
        'steps: for item in plan {
            match item {
                Planned::Send { bytes, cuts, delay_ms, closes } => {
                    if cuts.len() > 1 {
                        let sizes: Vec<usize> = cuts.iter().map(|(a, b)| b - a).collect();
                        let (min, max) = (
                            sizes.iter().min().copied().unwrap_or(0),
                            sizes.iter().max().copied().unwrap_or(0),
                        );
                        self.wire.log.push("·", format!("sending {} bytes in {} writes of {min}–{max} bytes, {delay_ms} ms apart", bytes.len(), cuts.len()));
                    }
                    for (i, (a, b)) in cuts.iter().enumerate() {
                        if i > 0 && delay_ms == 0 && b - a <= 16 {
                            // Tiny writes back to back: let our reader see a Close first.
                            std::thread::yield_now();
                        }
                        if i > 0 && delay_ms > 0 {
                            self.pump_until(
                                Instant::now() + Duration::from_millis(delay_ms),
                                |_| false,
                            );
                        }
                        if cuts.len() > 1 && cuts.len() <= 12 {
                            let note = format!("write {} of {}: bytes {a}..{b}", i + 1, cuts.len());
                            self.wire.log.push("·", note);
                        }
                        if !self.write(&bytes[*a..*b], closes) {
                            self.stop_sending();
                            break 'steps;
                        }
                    }
                }
                Planned::Wait(ms) => {
                    self.wire.log.push("·", format!("waiting {ms} ms"));
                    self.pump_until(
                        Instant::now() + Duration::from_millis(ms),
                        Observed::peer_ended,
                    );
                }
                Planned::DeflateEchoes { corpus, len, count, frag } => {
                    let deadline = self.start + Duration::from_secs(wait_secs);
                    if !self.send_compressed(corpus, len, count, frag, deadline) {
                        break 'steps;
                    }
                }
                Planned::RoundTrips { count, frame } => {
                    let mut total = Duration::ZERO;
                    let mut max = Duration::ZERO;
                    let mut done = 0;
                    for _ in 0..count {
                        let want = self.obs.msgs.len() + 1;
                        let sent = Instant::now();
                        if !self.write(&frame, false) {
                            self.stop_sending();
                            break;
                        }
                        self.pump_until(sent + self.windows.echo, |o| {
                            o.msgs.len() >= want || o.peer_ended()
                        });
                        if self.obs.msgs.len() < want {
                            break;
                        }
                        let rtt = sent.elapsed();
                        total += rtt;
                        max = max.max(rtt);
                        done += 1;
                    }
                    self.obs.rtt = Some((done, total, max));
                }
            }
        }
        if self.wire.mid_frame() {
            // The case leaves a frame unfinished on purpose (its header promised more): no
            // Close of ours can follow it.
            self.wire.log_unfinished_output();
            self.deferred.clear();
            self.unfinished = true;
        }
        self.await_outcome(case);
        self.obs.elapsed = self.start.elapsed();
    }

    fn await_outcome(&mut self, case: &Case) {
        let now = Instant::now();
        match &case.expect {
            Expect::Echo { msgs, pongs, settle_ms, last_pong_suffices } => {
                let mib = (case.bytes_sent() >> 20) as u32;
                let deadline = now + self.windows.echo + Duration::from_millis(100) * mib;
                let settle = now + Duration::from_millis(*settle_ms);
                let want_msgs = msgs.len();
                let want_pongs = pongs.len();
                let last_pong = pongs.last().cloned();
                let done = |o: &Observed| {
                    let pongs_in = o.pongs.len() >= want_pongs
                        || (*last_pong_suffices
                            && last_pong
                                .as_ref()
                                .is_some_and(|p| o.pongs.last().is_some_and(|got| p.matches(got))));
                    o.peer_ended()
                        || o.msgs.len() > want_msgs
                        || (o.msgs.len() == want_msgs && pongs_in)
                };
                self.pump_until(deadline, done);
                if Instant::now() < settle && !self.obs.peer_ended() {
                    self.pump_until(settle, Observed::peer_ended);
                }
            }
            Expect::Fail { before, .. } => {
                let allowed = before.len();
                self.pump_until(now + self.windows.fail, |o| {
                    o.peer_close.is_some() || o.msgs.len() > allowed
                });
            }
            // Groups 12 and 13: the echoes were awaited one by one (none, when the extension
            // was not agreed: then Autobahn closes at once).
            Expect::DeflateEcho { .. } => {}
            Expect::CloseReply { .. } | Expect::Refuse | Expect::Informational(_) => {
                self.pump_until(now + self.windows.fail, |o| o.peer_close.is_some());
            }
            Expect::Http { .. } => {}
        }
        self.close_politely();
    }

    /// End the connection as a conforming peer: our Close (if none was sent), the peer's
    /// answer, and the TCP close (the server's first).
    fn close_politely(&mut self) {
        if self.unfinished {
            // Our last frame is unfinished: a Close would be read as its payload. Close TCP.
            self.shut();
        } else if self.obs.eof.is_none()
            && self.obs.our_close.is_none()
            && self.wire.send_frame(CLOSE, &1000u16.to_be_bytes()).is_ok()
        {
            self.obs.our_close = Some((self.since(Instant::now()), false));
        }
        let deadline = Instant::now() + self.windows.close;
        self.pump_until(deadline, |o| o.peer_close.is_some());
        if !self.wire.we_are_client && self.obs.peer_close.is_some() {
            self.shut();
        }
        self.pump_until(deadline, |_| false);
    }

    /// Materialise the steps into writes.
    fn plan(&mut self, case: &Case) -> Vec<Planned> {
        let client = self.wire.we_are_client;
        let mut out = Vec::new();
        for step in &case.steps {
            match step {
                Step::Wait(ms) => out.push(Planned::Wait(*ms)),
                Step::DeflateEchoes { corpus, len, count, frag } => {
                    out.push(Planned::DeflateEchoes {
                        corpus: *corpus,
                        len: *len,
                        count: *count,
                        frag: *frag,
                    })
                }
                Step::RoundTrips { count, opcode, size } => {
                    let fill: &'static [u8] = if *opcode == TEXT {
                        crate::cases::KOSME16
                    } else {
                        crate::cases::ALL_BYTES
                    };
                    let spec = crate::model::FrameSpec::new(
                        *opcode,
                        crate::model::Payload::Repeat { pattern: fill, offset: 0, len: *size },
                    );
                    let (frame, _) = encode(&spec, client, &mut self.wire.rng);
                    out.push(Planned::RoundTrips { count: *count, frame });
                }
                Step::Send { frames, chop } => {
                    // Only a valid Close of ours opens a close handshake (an invalid one is a
                    // bad frame the peer must fail the connection on).
                    let closes = frames.iter().any(is_valid_close);
                    let mut bytes = Vec::new();
                    let mut bounds = Vec::new();
                    let mut first_header = 0;
                    for (i, f) in frames.iter().enumerate() {
                        let (b, header_len) = encode(f, client, &mut self.wire.rng);
                        if i == 0 {
                            first_header = header_len;
                        }
                        let start = bytes.len();
                        bytes.extend_from_slice(&b);
                        bounds.push((start, bytes.len()));
                    }
                    let (cuts, delay_ms) = match chop {
                        Chop::Whole => (vec![(0, bytes.len())], 0),
                        Chop::PerFrame { delay_ms } => (bounds, *delay_ms),
                        Chop::Bytes { size, delay_ms } => {
                            let size = (*size).max(1);
                            let cuts = (0..bytes.len())
                                .step_by(size)
                                .map(|a| (a, (a + size).min(bytes.len())))
                                .collect();
                            (cuts, *delay_ms)
                        }
                        Chop::Cuts { at, delay_ms } => {
                            let mut points: Vec<usize> = vec![0];
                            points.extend(
                                at.iter().map(|p| first_header + p).filter(|p| *p < bytes.len()),
                            );
                            points.push(bytes.len());
                            (points.windows(2).map(|w| (w[0], w[1])).collect(), *delay_ms)
                        }
                    };
                    out.push(Planned::Send { bytes, cuts, delay_ms, closes });
                }
            }
        }
        out
    }
}

fn is_valid_close(f: &crate::model::FrameSpec) -> bool {
    use crate::model::{Len, Mask, Payload};
    let p = match &f.payload {
        Payload::Bytes(b) => b.as_slice(),
        Payload::Repeat { .. } => return false,
    };
    let code_ok = match p {
        [] => true,
        [a, b, reason @ ..] => {
            matches!(u16::from_be_bytes([*a, *b]), 1000..=1003 | 1007..=1014 | 3000..=4999)
                && std::str::from_utf8(reason).is_ok()
        }
        _ => false,
    };
    f.opcode == CLOSE
        && f.fin
        && f.rsv == 0
        && p.len() <= 125
        && code_ok
        && matches!(f.len, Len::Minimal)
        && matches!(f.mask, Mask::Role)
}

enum Planned {
    Send { bytes: Vec<u8>, cuts: Vec<(usize, usize)>, delay_ms: u64, closes: bool },
    Wait(u64),
    RoundTrips { count: usize, frame: Vec<u8> },
    DeflateEchoes { corpus: Corpus, len: usize, count: usize, frag: usize },
}

impl Planned {
    fn writes(&self) -> usize {
        match self {
            Planned::Send { cuts, .. } => cuts.len(),
            Planned::Wait(_) => 0,
            Planned::RoundTrips { count, .. } => *count,
            Planned::DeflateEchoes { count, .. } => *count,
        }
    }
}
