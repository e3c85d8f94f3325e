//! The event loop's per-connection state machine: `examples/echo_server/clients.rs`, the
//! very code `event_loop.rs` drives over mio, here over fake sockets and a fake clock. Up to
//! four clients connect; each has a script (its opening handshake: valid, mutated, truncated
//! or raw; then frames: valid messages, fragmented, compressed or repeated, Closes, and
//! `PeerFrame`'s hostile ones) and a socket send buffer of its own size. The input decides
//! when each client sends the next bytes of its script, reads what the server wrote, half
//! closes or resets, when the poll delivers the edges the sockets raised (a readable edge when
//! bytes or the FIN arrive; a writable edge when a socket that refused a write has room
//! again, as Linux reports them) or a spurious wakeup, and when time passes. Then the run is
//! settled as a poll would: the edges until none is left (the clients reading all, if the
//! input says so), then time until no timer is left.
//!
//! Invariants:
//! * no panic, no hang; no write after our shutdown; `fire_timers(now)` leaves no timer at
//!   or before `now`;
//! * phases only move forward (Handshake → Answering → Open → Lingering), a rejected client
//!   never opens;
//! * the HTTP answer is exactly what the sans-IO core says for the bytes the client sent: the
//!   101 (first subprotocol, permessage-deflate as `Settings::deflate` negotiates), or the
//!   error's response (its status) followed by nothing but our FIN;
//! * every frame we write is accepted by a conforming client, and the messages in them are
//!   those a `Connection` fed the same bytes answers (echoes, Close echo, failure Close),
//!   exactly when nothing cut the run short (a reset, a deadline, a client that stops
//!   reading), a prefix otherwise; every Pong answers a Ping, keepalive Pings aside;
//! * backpressure: what a client's connection has queued stays within the high-water mark
//!   plus what one read can produce, and once the client reads everything, nothing stays
//!   stalled or paused, and every byte it sent was read;
//! * deadlines: after `fire_timers(now)` no client is in its handshake (reading or
//!   answering) past `handshake_timeout`, lingering past `close_timeout` after our FIN, or
//!   open with a connection deadline in the past; when time runs out, no client is left but
//!   open ones whose connection is still open;
//! * a client is only dropped for a reason: its socket ended or failed, or a deadline passed;
//! * an idle open client holds no read buffer.
#![no_main]

#[path = "../common/peer.rs"]
mod peer;

#[allow(dead_code)]
#[path = "../../examples/echo_server/clients.rs"]
mod clients;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{Compressor, DeflateConfig, DeflateParams};
use rfc6455::frame::{MAX_HEADER_LEN, OpCode, RawFrame};
use rfc6455::handshake::{Accept, ClientRequest, Limits, RequestParser};
use rfc6455::{
    CloseCode, CloseFrame, Config, Connection, Keepalive, Message, Role, SendError, Settings, State,
};

use clients::{Clients, PhaseKind, Socket, Tuning};
use peer::PeerFrame;

const URL: &str = "ws://fuzz.test/chat";
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const MAX_CLIENTS: usize = 4;
/// Rounds of the settling clock before it counts as a hang.
const MAX_ROUNDS: usize = 10_000;
/// Rounds of the settling poll that move nothing before it counts as a hang.
const MAX_IDLE_ROUNDS: usize = 16;

#[derive(Arbitrary, Debug)]
struct Input {
    deflate: bool,
    keepalive: Option<(u8, u8)>,
    handshake_secs: u8,
    close_secs: u8,
    parts: Option<u8>,
    small_budgets: bool,
    small_head_budget: bool,
    high_water: u16,
    read_chunk: u8,
    final_reads: bool,
    scripts: Vec<Script>,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
struct Script {
    head: Head,
    /// The socket's send buffer: how much the server may write before the client reads.
    capacity: u16,
    frames: Vec<ClientFrame>,
}

#[derive(Arbitrary, Debug)]
enum Head {
    Valid { subprotocols: bool, deflate: bool },
    Mutated { at: u16, byte: u8 },
    Truncated(u16),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum ClientFrame {
    Frame(PeerFrame),
    Message {
        text: bool,
        data: Vec<u8>,
        cuts: Vec<u8>,
    },
    Compressed {
        text: bool,
        data: Vec<u8>,
        cuts: Vec<u8>,
    },
    /// The same message `times` times: more bytes than the input holds.
    Repeated {
        times: u8,
        data: Vec<u8>,
    },
    Ping(Vec<u8>),
    Close {
        code: u16,
        reason: String,
    },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Connect,
    /// The client sends the next `n` bytes of its script.
    Send {
        client: u8,
        n: u16,
    },
    SendAll {
        client: u8,
    },
    /// The client reads `n` bytes of what we wrote.
    Read {
        client: u8,
        n: u16,
    },
    Eof {
        client: u8,
    },
    Reset {
        client: u8,
    },
    /// The next call on the client's socket is interrupted (EINTR).
    Interrupt {
        client: u8,
    },
    /// The poll delivers every pending edge.
    Poll,
    /// A wakeup with nothing new (edge-triggered polls may report those).
    Spurious {
        client: u8,
    },
    /// Time passes (tens of milliseconds), then the timers that are due fire.
    Advance(u16),
}

// ---------------------------------------------------------------------------------------
// The fake socket.

#[derive(Default)]
struct Sock {
    /// Client → server bytes arrived and not yet read.
    inbox: VecDeque<u8>,
    client_eof: bool,
    reset: bool,
    interrupt: bool,
    /// Everything the server wrote, and how much of it the client read.
    written: Vec<u8>,
    read_by_client: usize,
    capacity: usize,
    /// A write found the send buffer full: a writable edge is due once there is room.
    nospace: bool,
    /// `written.len()` and the time when the server shut its sending side.
    shut: Option<(usize, Instant)>,
    /// An edge the poll has not delivered yet.
    edge: bool,
    /// A read or write saw the end of the stream or an error.
    saw_end: bool,
    now: Option<Instant>,
}

struct FakeSocket {
    id: usize,
    sock: Rc<RefCell<Sock>>,
}

impl Sock {
    fn interrupted(&mut self) -> bool {
        std::mem::take(&mut self.interrupt)
    }

    fn read_into(
        &mut self,
        max: usize,
        out: &mut dyn FnMut(&mut VecDeque<u8>, usize),
    ) -> io::Result<usize> {
        if self.interrupted() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if self.reset {
            self.saw_end = true;
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        if self.inbox.is_empty() {
            if self.client_eof {
                self.saw_end = true;
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // A socket read returns all it has up to `max`: a short read means it is empty.
        let n = max.min(self.inbox.len());
        out(&mut self.inbox, n);
        Ok(n)
    }
}

impl Read for FakeSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.borrow_mut().read_into(buf.len(), &mut |inbox, n| {
            for (slot, byte) in buf.iter_mut().zip(inbox.drain(..n)) {
                *slot = byte;
            }
        })
    }
}

impl Write for FakeSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut sock = self.sock.borrow_mut();
        assert!(sock.shut.is_none(), "a write after our shutdown");
        if sock.interrupted() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if sock.reset {
            sock.saw_end = true;
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let in_flight = sock.written.len() - sock.read_by_client;
        let mut room = sock.capacity.saturating_sub(in_flight);
        if room == 0 {
            sock.nospace = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for buf in bufs {
            let take = buf.len().min(room);
            sock.written.extend_from_slice(&buf[..take]);
            n += take;
            room -= take;
            if room == 0 {
                break;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Socket for FakeSocket {
    fn read_append(&mut self, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
        self.sock.borrow_mut().read_into(max, &mut |inbox, n| {
            buf.extend(inbox.drain(..n));
        })
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        let mut sock = self.sock.borrow_mut();
        if sock.shut.is_none() {
            let now = sock.now.expect("the time is set");
            sock.shut = Some((sock.written.len(), now));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Scripts.

fn settings(input: &Input) -> Settings {
    let secs = |s: u8| Duration::from_secs(1 + u64::from(s % 60));
    Settings {
        protocol: Config {
            max_frame_size: if input.small_budgets { 256 } else { 1024 },
            max_message_size: if input.small_budgets { 512 } else { 4096 },
            max_fragments: 16,
            max_write_buffer: if input.small_budgets { 1024 } else { 1 << 20 },
            binary_parts_from: input.parts.map(|p| 16 + usize::from(p) * 4),
            close_timeout: secs(input.close_secs),
            keepalive: input
                .keepalive
                .map(|(i, t)| Keepalive { interval: secs(i), timeout: secs(t) }),
            ..Config::default()
        },
        handshake_limits: if input.small_head_budget {
            Limits { max_head_bytes: 256, max_headers: 8 }
        } else {
            Limits::default()
        },
        handshake_timeout: secs(input.handshake_secs),
        deflate: input.deflate.then(DeflateConfig::default),
        ..Settings::default()
    }
}

fn tuning(input: &Input) -> Tuning {
    Tuning {
        read_chunk: 16 + usize::from(input.read_chunk),
        pool_max_capacity: 4096,
        pool_size: 4,
        high_water: 64 + usize::from(input.high_water % 2048),
    }
}

fn masked(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = RawFrame::new(opcode).fin(fin).payload(payload.to_vec());
    if rsv1 {
        frame = frame.rsv_bits(0b100);
    }
    frame.masking_key([0x37, 0xfa, 0x21, 0x3d]).to_bytes()
}

fn fragments(opcode: OpCode, rsv1: bool, data: &[u8], cuts: &[u8]) -> Vec<u8> {
    let mut points: Vec<usize> =
        cuts.iter().take(4).map(|c| usize::from(*c) % (data.len() + 1)).collect();
    points.sort_unstable();
    points.push(data.len());
    let mut out = Vec::new();
    let mut start = 0;
    for (i, end) in points.iter().copied().enumerate() {
        let opcode = if i == 0 { opcode } else { OpCode::Continuation };
        out.extend(masked(opcode, i + 1 == points.len(), rsv1 && i == 0, &data[start..end]));
        start = end;
    }
    out
}

fn text_of(data: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(data).into_owned().into_bytes()
}

/// The client's whole byte stream: its head, then its frames.
fn script_bytes(script: &Script, settings: &Settings) -> Vec<u8> {
    let (subprotocols, offer) = match script.head {
        Head::Valid { subprotocols, deflate } => (subprotocols, deflate),
        _ => (true, true),
    };
    let mut request = ClientRequest::with_key(URL, KEY).expect("a valid URL and key");
    if subprotocols {
        request = request.subprotocol("chat").subprotocol("superchat");
    }
    let client_config = DeflateConfig::default();
    if offer {
        request = request.extension(client_config.client_offer());
    }
    let valid = request.to_bytes();
    let mut out = match &script.head {
        Head::Valid { .. } => valid,
        Head::Mutated { at, byte } => {
            let mut bytes = valid;
            let at = usize::from(*at) % bytes.len();
            bytes[at] = *byte;
            bytes
        }
        Head::Truncated(n) => valid[..usize::from(*n).min(valid.len())].to_vec(),
        Head::Raw(raw) => raw.clone(),
    };
    // The client's compressor, for the agreement the server would make with a valid head.
    let agreed = match (offer, settings.deflate) {
        (true, Some(config)) => config
            .negotiate_offers([client_config.client_offer().as_str()])
            .accepted
            .map(|a| a.params),
        _ => None,
    };
    let mut compressor = agreed.map(|p: DeflateParams| {
        Compressor::new(1, p.client_max_window_bits.unwrap_or(15), p.client_no_context_takeover)
    });
    let opcode = |text: bool| if text { OpCode::Text } else { OpCode::Binary };
    for frame in script.frames.iter().take(64) {
        match frame {
            ClientFrame::Frame(f) => out.extend(f.bytes(Role::Server)),
            ClientFrame::Message { text, data, cuts } => {
                let data = if *text { text_of(data) } else { data.clone() };
                out.extend(fragments(opcode(*text), false, &data, cuts));
            }
            ClientFrame::Compressed { text, data, cuts } => {
                let data = if *text { text_of(data) } else { data.clone() };
                let mut packed = Vec::new();
                match &mut compressor {
                    Some(c) => c.compress(&data, &mut packed),
                    None => packed = data,
                }
                out.extend(fragments(opcode(*text), true, &packed, cuts));
            }
            ClientFrame::Repeated { times, data } => {
                let frame = masked(OpCode::Binary, true, false, data);
                for _ in 0..(times % 32) {
                    out.extend_from_slice(&frame);
                }
            }
            ClientFrame::Ping(p) => {
                out.extend(masked(OpCode::Ping, true, false, &p[..p.len().min(125)]))
            }
            ClientFrame::Close { code, reason } => {
                let code = if code % 4 != 0 { 1000 + code % 4 } else { *code };
                let mut payload = code.to_be_bytes().to_vec();
                let mut reason = reason.clone();
                while reason.len() > 123 {
                    reason.pop();
                }
                payload.extend_from_slice(reason.as_bytes());
                out.extend(masked(OpCode::Close, true, false, &payload));
            }
            ClientFrame::Raw(raw) => out.extend_from_slice(raw),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The reference: what the sans-IO core answers to the bytes a client sent.

struct Expected {
    /// The HTTP answer (empty: none is due, the head is incomplete).
    answer: Vec<u8>,
    /// A 101.
    opens: bool,
    /// The messages a conforming client decodes from the frames after the 101.
    messages: Vec<Message>,
    deflate: Option<DeflateParams>,
}

fn expected(sent: &[u8], eof: bool, settings: &Settings) -> Expected {
    let mut buf = BytesMut::from(sent);
    let request = match RequestParser::new(settings.handshake_limits).parse(&mut buf) {
        Ok(Some(request)) => request,
        Ok(None) => {
            return Expected {
                answer: Vec::new(),
                opens: false,
                messages: Vec::new(),
                deflate: None,
            };
        }
        Err(e) => {
            let answer = e.response().map(|r| r.to_bytes()).unwrap_or_default();
            return Expected { answer, opens: false, messages: Vec::new(), deflate: None };
        }
    };
    // The echo server's policy: the first subprotocol, deflate as its settings negotiate.
    let mut accept =
        Accept { subprotocol: request.subprotocols().first().cloned(), ..Accept::default() };
    let mut conn = Connection::new(Role::Server, settings.protocol);
    let mut deflate = None;
    if let Some(config) = settings.deflate {
        let offers = request.extensions().iter().map(String::as_str);
        if let Some(agreement) = config.negotiate_offers(offers).accepted {
            accept = accept.extension(agreement.response);
            conn.use_permessage_deflate(agreement.params, &config);
            deflate = Some(agreement.params);
        }
    }
    let answer = match request.accept(&accept) {
        Ok(response) => response.to_bytes(),
        Err(e) => {
            let answer = e.response().map(|r| r.to_bytes()).unwrap_or_default();
            return Expected { answer, opens: false, messages: Vec::new(), deflate: None };
        }
    };
    conn.receive(&buf);
    if eof {
        conn.receive_eof();
    }
    let mut output = Vec::new();
    loop {
        match conn.next_event() {
            Ok(Some(m @ (Message::Text(_) | Message::Binary(_) | Message::BinaryPart { .. }))) => {
                let mut message = Some(m);
                while let Some(m) = message.take() {
                    match conn.send(m) {
                        Ok(()) => {}
                        // The echo does not fit even in an empty queue: it never will.
                        Err(SendError::WriteBufferFull(_)) if conn.output_len() == 0 => {
                            let reason = "the echo exceeds the write budget";
                            let _ = conn.close(Some(CloseFrame::new(CloseCode::TOO_BIG, reason)));
                        }
                        Err(SendError::WriteBufferFull(m)) => {
                            output.extend_from_slice(&conn.take_output());
                            message = Some(m);
                        }
                        Err(_) => {}
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
        output.extend_from_slice(&conn.take_output());
    }
    output.extend_from_slice(&conn.take_output());
    let messages = decode(&output, deflate, settings).0;
    Expected { answer, opens: true, messages, deflate }
}

/// The messages a conforming client reads from our frames, and whether it refused them.
fn decode(
    frames: &[u8],
    deflate: Option<DeflateParams>,
    settings: &Settings,
) -> (Vec<Message>, bool) {
    let mut client = Connection::new(Role::Client, Config::default());
    if let (Some(params), Some(config)) = (deflate, settings.deflate) {
        client.use_permessage_deflate(params, &config);
    }
    client.receive(frames);
    let mut messages = Vec::new();
    loop {
        match client.next_event() {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => return (messages, false),
            Err(_) => return (messages, true),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run.

struct Peer {
    index: usize,
    sock: Rc<RefCell<Sock>>,
    script: Vec<u8>,
    sent: usize,
    alive: bool,
    connected_at: Instant,
    /// The phases seen, in order.
    phases: Vec<PhaseKind>,
    /// Something cut this client's run short (a reset, a deadline, a drop).
    cut: bool,
}

struct World {
    clients: Clients<FakeSocket>,
    peers: Vec<Peer>,
    now: Instant,
    start: Instant,
    settings: Settings,
    tuning: Tuning,
    /// Sockets handed back by the last call.
    gone: Rc<RefCell<Vec<usize>>>,
}

impl World {
    fn peer(&mut self, client: u8) -> Option<&mut Peer> {
        let n = self.peers.len();
        if n == 0 {
            return None;
        }
        self.peers.get_mut(usize::from(client) % n)
    }

    fn connect(&mut self, scripts: &[Script]) {
        if self.peers.len() >= MAX_CLIENTS {
            return;
        }
        let id = self.peers.len();
        let (script, capacity) = match scripts.get(id) {
            Some(s) => (script_bytes(s, &self.settings), 1 + usize::from(s.capacity % 4096)),
            None => {
                let default = Script {
                    head: Head::Valid { subprotocols: false, deflate: false },
                    capacity: 4095,
                    frames: Vec::new(),
                };
                (script_bytes(&default, &self.settings), 4096)
            }
        };
        let sock = Rc::new(RefCell::new(Sock {
            capacity,
            edge: true,
            now: Some(self.now),
            ..Sock::default()
        }));
        let index = self.clients.insert(FakeSocket { id, sock: Rc::clone(&sock) }, self.now);
        self.peers.push(Peer {
            index,
            sock,
            script,
            sent: 0,
            alive: true,
            connected_at: self.now,
            phases: vec![PhaseKind::Handshake],
            cut: false,
        });
    }

    fn set_now(&mut self) {
        for peer in &self.peers {
            peer.sock.borrow_mut().now = Some(self.now);
        }
    }

    /// After a call into the loop: record drops and phases, check what holds at any time.
    fn observe(&mut self) {
        let dropped: Vec<usize> = self.gone.borrow_mut().drain(..).collect();
        for id in dropped {
            let now = self.now;
            let settings = self.settings;
            let peer = &mut self.peers[id];
            assert!(peer.alive, "client {id} dropped twice");
            peer.alive = false;
            let sock = peer.sock.borrow();
            // Ending after the client's FIN is a clean end; anything else cuts it short.
            peer.cut |= !(sock.client_eof && !sock.reset);
            let last = *peer.phases.last().expect("a phase");
            let reason = sock.saw_end
                || match last {
                    PhaseKind::Handshake | PhaseKind::Answering => {
                        now >= peer.connected_at + settings.handshake_timeout
                    }
                    PhaseKind::Lingering => {
                        sock.shut.is_some_and(|(_, at)| now >= at + settings.protocol.close_timeout)
                    }
                    // Given up after our Close went unanswered (close_timeout).
                    PhaseKind::Open => now >= peer.connected_at + settings.protocol.close_timeout,
                };
            assert!(reason, "client {id} dropped in {last:?} with no reason");
        }
        for id in 0..self.peers.len() {
            if !self.peers[id].alive {
                continue;
            }
            let index = self.peers[id].index;
            let probe = self.clients.probe(index).expect("a live client is in its slot");
            let peer = &mut self.peers[id];
            let last = *peer.phases.last().expect("a phase");
            assert!(
                probe.phase >= last,
                "client {id} went from {last:?} back to {:?}",
                probe.phase
            );
            if probe.phase != last {
                peer.phases.push(probe.phase);
            }
            if probe.phase == PhaseKind::Open {
                // Backpressure: reading stops above the high-water mark, so what is queued
                // is at most that plus the echoes of one read (a chunk, or the frame in
                // progress, and the message it completes).
                let config = &self.settings.protocol;
                let one_read = self.tuning.read_chunk.max(config.max_frame_size + MAX_HEADER_LEN);
                let bound = self.tuning.high_water
                    + 2 * (one_read + config.max_message_size)
                    + 4 * (125 + MAX_HEADER_LEN);
                assert!(
                    probe.queued <= bound,
                    "client {id}: {} bytes queued, bound {bound}",
                    probe.queued
                );
            }
        }
    }

    /// The deadlines are honoured once the timers due by `now` have fired.
    fn check_deadlines(&mut self) {
        if let Some(next) = self.clients.next_timer() {
            assert!(next > self.now, "a timer at or before now is left after fire_timers");
        }
        for id in 0..self.peers.len() {
            let peer = &self.peers[id];
            if !peer.alive {
                continue;
            }
            let probe = self.clients.probe(peer.index).expect("live");
            let peer = &self.peers[id];
            match probe.phase {
                PhaseKind::Handshake | PhaseKind::Answering => assert!(
                    self.now < peer.connected_at + self.settings.handshake_timeout,
                    "client {id} still in {:?} past its handshake deadline",
                    probe.phase
                ),
                PhaseKind::Lingering => {
                    let (_, at) = peer.sock.borrow().shut.expect("lingering after our FIN");
                    assert!(
                        self.now < at + self.settings.protocol.close_timeout,
                        "client {id} lingering past close_timeout"
                    );
                }
                PhaseKind::Open => {
                    if let Some(deadline) = probe.deadline {
                        assert!(
                            deadline > self.now,
                            "client {id}: its connection's deadline passed unnoticed"
                        );
                    }
                }
            }
        }
    }

    fn handle(&mut self, id: usize) {
        let index = self.peers[id].index;
        let gone = Rc::clone(&self.gone);
        self.peers[id].sock.borrow_mut().edge = false;
        self.clients.handle(index, self.now, &mut |s: FakeSocket| gone.borrow_mut().push(s.id));
        self.observe();
    }

    fn fire(&mut self) {
        let gone = Rc::clone(&self.gone);
        self.clients.fire_timers(self.now, &mut |s: FakeSocket| gone.borrow_mut().push(s.id));
        self.observe();
        self.check_deadlines();
    }

    /// Deliver every pending edge (a round of the poll); true if there was one.
    fn poll(&mut self) -> bool {
        let mut any = false;
        for id in 0..self.peers.len() {
            let pending = self.peers[id].alive && self.peers[id].sock.borrow().edge;
            if pending {
                any = true;
                self.handle(id);
            }
        }
        self.fire();
        any
    }

    fn client_reads(&mut self, id: usize, n: usize) {
        let mut sock = self.peers[id].sock.borrow_mut();
        let unread = sock.written.len() - sock.read_by_client;
        sock.read_by_client += n.min(unread);
        if sock.nospace && sock.read_by_client > sock.written.len().saturating_sub(sock.capacity) {
            sock.nospace = false;
            sock.edge = true;
        }
    }

    /// The client sends the next `n` bytes of its script (none once it closed or reset).
    fn send(&mut self, client: u8, n: usize) {
        let Some(peer) = self.peer(client) else {
            return;
        };
        let end = peer.sent.saturating_add(n).min(peer.script.len());
        let mut sock = peer.sock.borrow_mut();
        if !sock.client_eof && !sock.reset && end > peer.sent {
            sock.inbox.extend(&peer.script[peer.sent..end]);
            sock.edge = true;
            drop(sock);
            peer.sent = end;
        }
    }

    fn op(&mut self, op: &Op, scripts: &[Script]) {
        match *op {
            Op::Connect => self.connect(scripts),
            Op::Send { client, n } => self.send(client, usize::from(n)),
            Op::SendAll { client } => self.send(client, usize::MAX),
            Op::Read { client, n } => {
                let n_peers = self.peers.len();
                if n_peers > 0 {
                    self.client_reads(usize::from(client) % n_peers, usize::from(n));
                }
            }
            Op::Eof { client } => {
                if let Some(peer) = self.peer(client) {
                    let mut sock = peer.sock.borrow_mut();
                    if !sock.client_eof {
                        sock.client_eof = true;
                        sock.edge = true;
                    }
                }
            }
            Op::Reset { client } => {
                if let Some(peer) = self.peer(client) {
                    peer.cut = true;
                    let mut sock = peer.sock.borrow_mut();
                    sock.reset = true;
                    sock.edge = true;
                }
            }
            Op::Interrupt { client } => {
                if let Some(peer) = self.peer(client) {
                    peer.sock.borrow_mut().interrupt = true;
                }
            }
            Op::Poll => {
                self.poll();
            }
            Op::Spurious { client } => {
                let n = self.peers.len();
                if n > 0 && self.peers[usize::from(client) % n].alive {
                    self.handle(usize::from(client) % n);
                    self.fire();
                }
            }
            Op::Advance(ticks) => {
                self.now += Duration::from_millis(10 * u64::from(ticks));
                self.set_now();
                self.fire();
            }
        }
    }

    /// The edges until none is left, the clients reading everything if `reads`.
    fn settle_edges(&mut self, reads: bool) {
        // A round that moves no byte must be the last: each edge is delivered once, so one
        // that comes back without progress is a loop that spins (a 1-byte send buffer moves
        // one byte a round, so the rounds themselves are not bounded).
        let mut idle = 0;
        loop {
            let before = self.progress();
            if reads {
                for id in 0..self.peers.len() {
                    self.client_reads(id, usize::MAX);
                }
            }
            if !self.poll() {
                return;
            }
            if self.progress() == before {
                idle += 1;
                assert!(idle < MAX_IDLE_ROUNDS, "the poll never settled: edges without progress");
            } else {
                idle = 0;
            }
        }
    }

    /// Bytes moved so far, and clients left: what a round of the poll changes.
    fn progress(&self) -> (usize, usize, usize) {
        let mut moved = (0, 0, 0);
        for peer in &self.peers {
            let sock = peer.sock.borrow();
            moved.0 += sock.written.len() + sock.read_by_client;
            moved.1 += peer.sent - sock.inbox.len();
            moved.2 += usize::from(peer.alive);
        }
        moved
    }
}

fuzz_target!(|input: Input| {
    let settings = settings(&input);
    let tuning = tuning(&input);
    let start = Instant::now();
    let mut world = World {
        clients: Clients::new(settings, tuning),
        peers: Vec::new(),
        now: start,
        start,
        settings,
        tuning,
        gone: Rc::new(RefCell::new(Vec::new())),
    };
    world.connect(&input.scripts);
    for op in input.ops.iter().take(512) {
        world.op(op, &input.scripts);
    }

    // Settle without time: every edge, every byte read if the clients read.
    world.settle_edges(input.final_reads);
    let elapsed = world.now - world.start;
    let mut earliest = settings.handshake_timeout.min(settings.protocol.close_timeout);
    if let Some(k) = settings.protocol.keepalive {
        earliest = earliest.min(k.interval);
    }
    let timeless = elapsed < earliest;
    for id in 0..world.peers.len() {
        check_answers(&mut world, id, input.final_reads && timeless);
    }

    // Then time, until no timer is left.
    for round in 0.. {
        assert!(round < MAX_ROUNDS, "the timers never ran out");
        let Some(next) = world.clients.next_timer() else {
            break;
        };
        world.now = world.now.max(next) + Duration::from_millis(1);
        world.set_now();
        world.fire();
        world.settle_edges(input.final_reads);
    }
    for id in 0..world.peers.len() {
        let peer = &world.peers[id];
        if !peer.alive {
            continue;
        }
        let probe = world.clients.probe(peer.index).expect("live");
        assert_eq!(
            probe.phase,
            PhaseKind::Open,
            "client {id} left in {:?} with no timer",
            probe.phase
        );
        let state = probe.state.expect("open");
        assert!(
            state == State::Open,
            "client {id}'s connection is {state:?} and it is never dropped"
        );
        check_answers(&mut world, id, false);
    }
});

/// What we wrote to client `id` is what the core answers to what it sent; `exact` when
/// nothing cut the run short.
fn check_answers(world: &mut World, id: usize, exact: bool) {
    let settings = world.settings;
    let peer = &world.peers[id];
    let sock = peer.sock.borrow();
    let sent = &peer.script[..peer.sent];
    let want = expected(sent, sock.client_eof, &settings);
    let exact = exact && !peer.cut;
    let written = &sock.written;
    // The HTTP answer, byte for byte.
    let head = written.len().min(want.answer.len());
    assert_eq!(&written[..head], &want.answer[..head], "client {id}: the HTTP answer");
    if exact {
        assert_eq!(head, want.answer.len(), "client {id}: the answer is incomplete");
    }
    if !want.opens {
        assert!(!peer.phases.contains(&PhaseKind::Open), "client {id}: opened without a 101");
        assert_eq!(written.len(), head, "client {id}: bytes after a rejection");
        if let (Some((at, _)), true) = (sock.shut, head == want.answer.len()) {
            assert_eq!(at, head, "client {id}: our FIN comes right after the rejection");
        }
        return;
    }
    if head < want.answer.len() {
        return;
    }
    let (got, refused) = decode(&written[head..], want.deflate, &settings);
    assert!(!refused, "client {id}: a conforming client refused our frames");
    let split = |messages: &[Message]| -> (Vec<Message>, Vec<Message>, usize) {
        let mut pongs = Vec::new();
        let mut others = Vec::new();
        let mut pings = 0;
        for m in messages {
            match m {
                Message::Pong(_) => pongs.push(m.clone()),
                Message::Ping(p) => {
                    assert!(p.is_empty(), "a Ping that is not a keepalive");
                    pings += 1;
                }
                _ => others.push(m.clone()),
            }
        }
        (others, pongs, pings)
    };
    let (got_others, got_pongs, keepalive_pings) = split(&got);
    let (want_others, want_pongs, _) = split(&want.messages);
    if keepalive_pings > 0 {
        assert!(settings.protocol.keepalive.is_some(), "a Ping without keepalive");
    }
    // Every Pong answers a Ping (a later Ping's Pong may replace an earlier one's).
    let mut rest = want_pongs.iter();
    for pong in &got_pongs {
        assert!(rest.any(|p| p == pong), "client {id}: Pong {pong:?} out of order or unasked");
    }
    if exact {
        assert_eq!(got_others, want_others, "client {id}: what we answered");
        let probe = world.clients.probe(peer.index);
        if let Some(probe) = probe {
            assert!(
                !probe.stalled && !probe.paused,
                "client {id}: still stalled or paused after it read everything"
            );
            if probe.phase == PhaseKind::Open && probe.buffered == 0 {
                assert_eq!(
                    probe.read_capacity, 0,
                    "client {id}: an idle client holds a read buffer"
                );
            }
        }
        assert!(sock.inbox.is_empty() || !peer.alive, "client {id}: bytes it sent were never read");
    } else {
        // A prefix, but its last message may be the Close a deadline or a failure sent.
        let n = got_others.len();
        let matching = got_others.iter().zip(&want_others).take_while(|(a, b)| a == b).count();
        assert!(
            matching == n || (matching + 1 == n && matches!(got_others[n - 1], Message::Close(_))),
            "client {id}: {got_others:?} is no prefix of {want_others:?}"
        );
    }
}
