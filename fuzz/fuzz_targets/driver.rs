//! The std driver, `WebSocket<S>`, client and server, from its resumable opening handshake
//! (`ClientHandshake`, `ServerHandshake`) on, over an in-memory stream whose every read and
//! write the input decides: short, `WouldBlock`, `Interrupted`, or whole; and, at chosen
//! points, a stream that ends or resets for good. The peer is a script of bytes: its side of
//! the handshake (valid, mutated, truncated, a rejection, a hostile extension answer) and
//! then frames (valid messages, fragmented or compressed, Closes, and `PeerFrame`'s hostile
//! ones). The application's calls (read, write, send, send_fragment, close, flush) come from
//! the input too, made on the `WebSocket` or, once open, on its split halves (`ReadHalf`
//! reads, `WriteHalf` writes, from this one thread).
//!
//! Every input runs twice: once over the chaos stream, once over a plain one (every call
//! moves all it can, nothing breaks) as the reference. An application call that returns
//! `WouldBlock` is repeated until it completes or the stream is starved (all peer bytes so
//! far read); then the next call. Invariants:
//!
//! * no panic, no hang (a bounded number of repeats), no write after our own shutdown;
//! * every error is typed: a read fails only with `Protocol` (close code 1002, 1007 or
//!   1009, and our output's last frame is a Close with that code), `ConnectionClosed`,
//!   `AbnormalClosure`, or IO the stream injected; a handshake only with `Handshake` (a
//!   server's output is exactly that error's HTTP response, or the callback's rejection)
//!   or `Negotiation` (a client that offered permessage-deflate); write/send/close only with
//!   `Send` (or injected IO); nothing after `ConnectionClosed` or a failure but errors;
//! * chaos is invisible: without an injected break, the chaos run's results (messages read,
//!   errors, established handshakes) and its output (the HTTP head byte for byte, then the
//!   frames, masks aside) equal the reference's; with one, they are prefixes of it;
//! * we shut our sending side only after our Close frame left, whole (§7.1.1, §7.1.7);
//! * the agreed permessage-deflate is what our 101 says (server) or what the 101 said
//!   (client);
//! * memory: the live heap held by the driver stays within its budgets (read buffer, one
//!   frame, one message, the head, the output the application queued, zlib's state).
#![no_main]

#[path = "../common/alloc.rs"]
mod alloc;
#[path = "../common/peer.rs"]
mod peer;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{Compressor, DeflateConfig, DeflateParams};
use rfc6455::frame::{FrameDecoder, MAX_HEADER_LEN, OpCode, RawFrame};
use rfc6455::handshake::{
    Accept, ClientRequest, HandshakeError, HttpResponse, Limits, Request, RequestParser,
};
use rfc6455::socket::{
    ClientHandshake, Handshaking, ReadHalf, ServerHandshake, TryClone, WriteHalf,
};
use rfc6455::{CloseCode, Config, Error, Message, Role, Sent, Settings, Transport, WebSocket};

use peer::PeerFrame;

const URL: &str = "ws://fuzz.test/chat";
/// RFC 6455 §1.3's key: both sides of the script know it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// Repeats of one call that returns `WouldBlock` before it counts as a hang.
const MAX_REPEATS: usize = 100_000;
/// The driver's smallest read (src/socket/mod.rs `MIN_READ`).
const MIN_READ: usize = 16 * 1024;
/// Application payloads are cut to this many bytes in all (the write budget is never hit:
/// an owed Pong is then never coalesced, so both runs send the same frames).
const MAX_APP_BYTES: usize = 64 * 1024;

#[derive(Arbitrary, Debug)]
struct Input {
    client: bool,
    head: Head,
    deflate: bool,
    /// `Config::binary_parts_from`: large binary messages come in parts.
    parts: Option<u8>,
    small_head_budget: bool,
    /// Server: the callback rejects the request with a 403.
    reject: bool,
    /// Once open, split into a `ReadHalf` and a `WriteHalf` (used from this one thread).
    split: bool,
    reads: Vec<Step>,
    writes: Vec<Step>,
    ops: Vec<Op>,
}

/// The peer's side of the opening handshake.
#[derive(Arbitrary, Debug)]
enum Head {
    /// Server under test: a request offering a subprotocol and/or permessage-deflate.
    /// Client under test: the 101 for our request, agreeing to deflate and/or a subprotocol.
    Valid {
        a: bool,
        b: bool,
    },
    /// The valid head with one byte replaced.
    Mutated {
        at: u16,
        byte: u8,
    },
    /// The valid head cut short.
    Truncated(u16),
    /// Client under test: this status instead of 101.
    Status(u16),
    /// Client under test: a 101 whose `Sec-WebSocket-Extensions` is this.
    Extension(String),
    Raw(Vec<u8>),
}

/// What the chaos stream makes of one read or write.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Step {
    Full,
    Short(u8),
    WouldBlock,
    Interrupted,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Peer bytes arrive.
    Frame(PeerFrame),
    Raw(Vec<u8>),
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
    PeerClose {
        code: u16,
        reason: String,
    },
    /// The peer closes its side: reads see end of stream once its bytes are read.
    PeerEof,
    /// Chaos run only: from here the stream ends (reads 0) or resets (reads and writes fail).
    Break {
        reset: bool,
    },
    /// Application calls.
    Read,
    Write(App),
    Send(App),
    Fragment {
        kind: u8,
        payload: Vec<u8>,
        fin: bool,
    },
    Close {
        code: u16,
        reason: String,
    },
    Flush,
}

#[derive(Arbitrary, Debug)]
enum App {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

// ---------------------------------------------------------------------------------------
// The stream.

/// Both directions and the schedule, shared by the harness and the stream the driver owns.
#[derive(Default)]
struct Wire {
    /// Peer bytes that arrived and were not read yet.
    inbox: VecDeque<u8>,
    /// Every byte the peer sent.
    sent: Vec<u8>,
    /// The peer closed its side.
    peer_eof: bool,
    /// Everything we wrote.
    outbox: Vec<u8>,
    /// Where our frames begin in `outbox` (the handshake's end).
    frames_from: Option<usize>,
    /// `outbox.len()` when we shut our sending side.
    shut_at: Option<usize>,
    /// Chaos run only.
    chaos: bool,
    reads: Vec<Step>,
    writes: Vec<Step>,
    read_at: usize,
    write_at: usize,
    broken: Option<bool>,
    /// The last call on the stream was a read that found no byte (the peer has sent nothing
    /// more): a `WouldBlock` that repeating the call will not change.
    starved: bool,
}

impl Wire {
    fn step(steps: &[Step], at: &mut usize) -> Step {
        if steps.is_empty() {
            return Step::Full;
        }
        let step = steps[*at % steps.len()];
        *at += 1;
        step
    }

    /// How many bytes this call may move, or the error it fails with.
    fn limit(step: Step) -> io::Result<usize> {
        match step {
            Step::Full => Ok(usize::MAX),
            Step::Short(n) => Ok(usize::from(n).max(1)),
            Step::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
            Step::Interrupted => Err(io::ErrorKind::Interrupted.into()),
        }
    }
}

struct Stream(Rc<RefCell<Wire>>);

impl TryClone for Stream {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(Stream(Rc::clone(&self.0)))
    }
}

/// The open connection: whole, or split into halves.
enum Ws {
    Whole(Box<WebSocket<Stream>>),
    Split(ReadHalf<Stream>, WriteHalf<Stream>),
}

impl Ws {
    fn read(&mut self) -> Result<Message, Error> {
        match self {
            Ws::Whole(ws) => ws.read(),
            Ws::Split(reader, _) => reader.read(),
        }
    }
    fn write(&mut self, message: Message) -> Result<(), Error> {
        match self {
            Ws::Whole(ws) => ws.write(message),
            Ws::Split(_, writer) => writer.write(message),
        }
    }
    fn send(&mut self, message: Message) -> Result<Sent, Error> {
        match self {
            Ws::Whole(ws) => ws.send(message),
            Ws::Split(_, writer) => writer.send(message),
        }
    }
    fn send_fragment(
        &mut self,
        opcode: OpCode,
        payload: Vec<u8>,
        fin: bool,
    ) -> Result<Sent, Error> {
        match self {
            Ws::Whole(ws) => ws.send_fragment(opcode, payload, fin),
            Ws::Split(_, writer) => writer.send_fragment(opcode, payload, fin),
        }
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<Sent, Error> {
        match self {
            Ws::Whole(ws) => ws.close(code, reason),
            Ws::Split(_, writer) => writer.close(code, reason),
        }
    }
    fn flush(&mut self) -> Result<(), Error> {
        match self {
            Ws::Whole(ws) => ws.flush(),
            Ws::Split(_, writer) => writer.flush(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut wire = self.0.borrow_mut();
        wire.starved = false;
        match wire.broken {
            Some(false) => return Ok(0),
            Some(true) => return Err(io::ErrorKind::ConnectionReset.into()),
            None => {}
        }
        let step = if wire.chaos {
            let mut at = wire.read_at;
            let step = Wire::step(&wire.reads, &mut at);
            wire.read_at = at;
            step
        } else {
            Step::Full
        };
        let limit = Wire::limit(step)?;
        if wire.inbox.is_empty() {
            if wire.peer_eof {
                return Ok(0);
            }
            wire.starved = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(limit).min(wire.inbox.len());
        for (slot, byte) in buf.iter_mut().zip(wire.inbox.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut wire = self.0.borrow_mut();
        wire.starved = false;
        assert!(wire.shut_at.is_none(), "a write after our own shutdown");
        if wire.broken == Some(true) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let step = if wire.chaos {
            let mut at = wire.write_at;
            let step = Wire::step(&wire.writes, &mut at);
            wire.write_at = at;
            step
        } else {
            Step::Full
        };
        let mut left = Wire::limit(step)?;
        let mut n = 0;
        for buf in bufs {
            let take = buf.len().min(left);
            wire.outbox.extend_from_slice(&buf[..take]);
            n += take;
            left -= take;
            if left == 0 {
                break;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Stream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        let mut wire = self.0.borrow_mut();
        if wire.shut_at.is_none() {
            wire.shut_at = Some(wire.outbox.len());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The script: the peer's bytes, built once before both runs.

fn settings(input: &Input) -> Settings {
    Settings {
        protocol: Config {
            max_frame_size: 1024,
            max_message_size: 4096,
            max_fragments: 16,
            max_write_buffer: 4 * MAX_APP_BYTES,
            binary_parts_from: input.parts.map(|p| 16 + usize::from(p) * 8),
            // Deadlines that no run reaches: the two runs must not differ by the clock.
            close_timeout: Duration::from_secs(3600),
            ..Config::default()
        },
        handshake_limits: if input.small_head_budget {
            Limits { max_head_bytes: 512, max_headers: 8 }
        } else {
            Limits::default()
        },
        handshake_timeout: Duration::from_secs(3600),
        deflate: input.deflate.then(DeflateConfig::default),
        ..Settings::default()
    }
}

/// The request the client under test sends (deflate offered as `ClientHandshake` does).
fn our_request(settings: &Settings) -> ClientRequest {
    let request = ClientRequest::with_key(URL, KEY).expect("a valid URL and key");
    match settings.deflate {
        Some(config) => request.extension(config.client_offer()),
        None => request,
    }
}

/// The peer's head, and the permessage-deflate parameters the peer believes agreed.
fn peer_head(input: &Input, settings: &Settings) -> (Vec<u8>, Option<DeflateParams>) {
    let (valid, params) = if input.client {
        // The peer is a server answering our request.
        let (agree, subprotocol) = match input.head {
            Head::Valid { a, b } => (a, b),
            _ => (true, false),
        };
        let bytes = our_request(settings).to_bytes();
        let mut buf = BytesMut::from(&bytes[..]);
        let request = RequestParser::new(Limits::default())
            .parse(&mut buf)
            .expect("our own request parses")
            .expect("and is whole");
        let mut accept = Accept::new();
        if subprotocol {
            // Not offered: the client must refuse it.
            accept = accept.subprotocol("chat");
        }
        let mut params = None;
        if agree {
            let offers = request.extensions().iter().map(String::as_str);
            if let Some(agreement) = DeflateConfig::default().negotiate_offers(offers).accepted {
                accept = accept.extension(agreement.response);
                params = Some(agreement.params);
            }
        }
        match &input.head {
            Head::Status(status) => {
                let status = 100 + status % 500;
                return (HttpResponse::new(status, "Not Now").to_bytes(), None);
            }
            Head::Extension(value) => {
                accept = Accept::new().extension(value.clone());
                params = None;
            }
            _ => {}
        }
        let response = match request.accept(&accept) {
            Ok(response) => response.to_bytes(),
            // An extension value the server side refuses to write: write it by hand.
            Err(_) => format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: \
                 Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
                 Sec-WebSocket-Extensions: {}\r\n\r\n",
                match &input.head {
                    Head::Extension(v) => v.as_str(),
                    _ => "",
                }
            )
            .into_bytes(),
        };
        (response, params)
    } else {
        // The peer is a client.
        let (subprotocol, offer) = match input.head {
            Head::Valid { a, b } => (a, b),
            _ => (false, true),
        };
        let mut request = ClientRequest::with_key(URL, KEY).expect("a valid URL and key");
        if subprotocol {
            request = request.subprotocol("chat").subprotocol("superchat");
        }
        let mut params = None;
        if offer {
            let config = DeflateConfig::default();
            request = request.extension(config.client_offer());
            if let Some(ours) = settings.deflate {
                params = ours
                    .negotiate_offers([config.client_offer().as_str()])
                    .accepted
                    .map(|a| a.params);
            }
        }
        (request.to_bytes(), params)
    };
    let bytes = match &input.head {
        Head::Mutated { at, byte } if !valid.is_empty() => {
            let mut bytes = valid;
            let at = usize::from(*at) % bytes.len();
            bytes[at] = *byte;
            bytes
        }
        Head::Truncated(n) => valid[..usize::from(*n).min(valid.len())].to_vec(),
        Head::Raw(raw) => raw.clone(),
        _ => valid,
    };
    (bytes, params)
}

/// One masked (towards a server) or unmasked frame.
fn frame(us: Role, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut frame = RawFrame::new(opcode).fin(fin).payload(payload.to_vec());
    if rsv1 {
        frame = frame.rsv_bits(0b100);
    }
    if us == Role::Server {
        frame = frame.masking_key([0x37, 0xfa, 0x21, 0x3d]);
    }
    frame.to_bytes()
}

/// A message cut into fragments at `cuts` (the first with `rsv1` when compressed).
fn fragments(us: Role, opcode: OpCode, rsv1: bool, data: &[u8], cuts: &[u8]) -> Vec<u8> {
    let mut points: Vec<usize> =
        cuts.iter().take(4).map(|c| usize::from(*c) % (data.len() + 1)).collect();
    points.sort_unstable();
    points.push(data.len());
    let mut out = Vec::new();
    let mut start = 0;
    for (i, end) in points.iter().copied().enumerate() {
        let first = i == 0;
        let opcode = if first { opcode } else { OpCode::Continuation };
        out.extend(frame(us, opcode, i + 1 == points.len(), rsv1 && first, &data[start..end]));
        start = end;
    }
    out
}

/// The bytes each op makes the peer send (empty for the others).
fn peer_bytes(input: &Input, us: Role, params: Option<DeflateParams>) -> Vec<Vec<u8>> {
    // The peer's compressor, as the agreement (the peer's belief) says.
    let mut compressor = params.map(|p| match us {
        Role::Server => {
            Compressor::new(1, p.client_max_window_bits.unwrap_or(15), p.client_no_context_takeover)
        }
        Role::Client => {
            Compressor::new(1, p.server_max_window_bits.unwrap_or(15), p.server_no_context_takeover)
        }
    });
    let opcode = |text: bool| if text { OpCode::Text } else { OpCode::Binary };
    input
        .ops
        .iter()
        .map(|op| match op {
            Op::Frame(f) => f.bytes(us),
            Op::Raw(raw) => raw.clone(),
            Op::Message { text, data, cuts } => {
                let data = if *text { text_of(data) } else { data.clone() };
                fragments(us, opcode(*text), false, &data, cuts)
            }
            Op::Compressed { text, data, cuts } => {
                let data = if *text { text_of(data) } else { data.clone() };
                let mut packed = Vec::new();
                match &mut compressor {
                    Some(c) => c.compress(&data, &mut packed),
                    // Not agreed: RSV1 on bytes that are not DEFLATE at all.
                    None => packed = data,
                }
                fragments(us, opcode(*text), true, &packed, cuts)
            }
            Op::PeerClose { code, reason } => {
                // Mostly a valid code and reason; sometimes any code.
                let code = if code % 4 != 0 { 1000 + code % 4 } else { *code };
                let mut payload = code.to_be_bytes().to_vec();
                let mut reason = reason.clone();
                while reason.len() > 123 {
                    reason.pop();
                }
                payload.extend_from_slice(reason.as_bytes());
                frame(us, OpCode::Close, true, false, &payload)
            }
            _ => Vec::new(),
        })
        .collect()
}

/// Bytes made into valid UTF-8 (each invalid sequence replaced).
fn text_of(data: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(data).into_owned().into_bytes()
}

// ---------------------------------------------------------------------------------------
// One run.

type Callback = fn(&Request) -> Result<Accept, HttpResponse>;

fn accept_first(request: &Request) -> Result<Accept, HttpResponse> {
    Ok(match request.subprotocols().first() {
        Some(p) => Accept::new().subprotocol(p.clone()),
        None => Accept::new(),
    })
}

fn reject(_: &Request) -> Result<Accept, HttpResponse> {
    Err(HttpResponse::new(403, "Forbidden").body("not you\n"))
}

enum Stage {
    Server(ServerHandshake<Stream, Callback>),
    Client(ClientHandshake<Stream>),
    Open(Ws),
    /// The handshake failed, or the connection is done with.
    Gone,
}

/// What one call achieved, as comparable values.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Established(String),
    HandshakeFailed(String),
    /// A message read (binary parts joined into their message).
    Read(Kind, Vec<u8>),
    Failed(String),
    Ok,
    /// Waiting for the peer: every byte it sent so far was read.
    Starved,
    /// No connection to call.
    NoSocket,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

struct Run {
    role: Role,
    wire: Rc<RefCell<Wire>>,
    stage: Stage,
    outcomes: Vec<Outcome>,
    /// The op at which the chaos run broke the stream.
    broken_at: Option<usize>,
    /// Binary parts of a message not yet complete.
    parts: Vec<u8>,
    /// The read side reported the end (closed, aborted, failed): later reads must fail.
    read_ended: bool,
    /// Bytes the application queued, for the memory bound.
    app_bytes: usize,
    /// A failure reported by `read` before we sent a Close: its close code must be our
    /// output's last Close.
    protocol_failure: Option<CloseCode>,
    /// permessage-deflate agreed by the handshake.
    deflate: Option<DeflateParams>,
    /// What the client under test writes as its request.
    request: Vec<u8>,
    /// The application's Close was queued.
    closed: bool,
    /// How many outcomes there were when the chaos run broke the stream.
    outcomes_at_break: usize,
    /// Split into halves once open.
    split: bool,
}

fn describe(e: &Error) -> String {
    match e {
        Error::Io(io) => format!("io {:?}", io.kind()),
        other => format!("{other:?}"),
    }
}

impl Run {
    fn new(input: &Input, settings: Settings, chaos: bool) -> Run {
        let mut reads = input.reads.clone();
        let mut writes = input.writes.clone();
        // Every cycle of the schedule moves bytes at least once: repeating a call progresses.
        reads.truncate(32);
        writes.truncate(32);
        reads.push(Step::Full);
        writes.push(Step::Short(7));
        let wire = Rc::new(RefCell::new(Wire { chaos, reads, writes, ..Wire::default() }));
        let stream = Stream(Rc::clone(&wire));
        let role = if input.client { Role::Client } else { Role::Server };
        let stage = match role {
            Role::Client => {
                Stage::Client(ClientHandshake::new(stream, &our_request_plain(), settings))
            }
            Role::Server => {
                let callback: Callback = if input.reject { reject } else { accept_first };
                Stage::Server(ServerHandshake::new(stream, settings, callback))
            }
        };
        Run {
            role,
            wire,
            stage,
            outcomes: Vec::new(),
            broken_at: None,
            parts: Vec::new(),
            read_ended: false,
            app_bytes: 0,
            protocol_failure: None,
            deflate: None,
            request: our_request(&settings).to_bytes(),
            outcomes_at_break: 0,
            closed: false,
            split: input.split,
        }
    }

    fn starved(&self) -> bool {
        self.wire.borrow().starved
    }

    fn broken(&self) -> bool {
        self.broken_at.is_some()
    }

    /// Drive the handshake until it completes, fails, or starves. True once open.
    fn handshake(&mut self) -> bool {
        for _ in 0..MAX_REPEATS {
            let stage = std::mem::replace(&mut self.stage, Stage::Gone);
            let result = match stage {
                Stage::Open(ws) => {
                    self.stage = Stage::Open(ws);
                    return true;
                }
                Stage::Gone => return false,
                Stage::Server(hs) => hs.resume().map(|ws| (ws, None)).map_err(|h| match h {
                    Handshaking::WouldBlock(hs) => Err(Stage::Server(hs)),
                    Handshaking::Failed(e) => Ok(e),
                }),
                Stage::Client(hs) => {
                    hs.resume().map(|(ws, r)| (ws, Some(r))).map_err(|h| match h {
                        Handshaking::WouldBlock(hs) => Err(Stage::Client(hs)),
                        Handshaking::Failed(e) => Ok(e),
                    })
                }
            };
            match result {
                Ok((ws, response)) => {
                    let deflate = ws.connection().permessage_deflate().copied();
                    let summary = match &response {
                        Some(r) => format!(
                            "{} {:?} {:?} {deflate:?}",
                            r.status(),
                            r.subprotocol(),
                            r.extensions()
                        ),
                        None => format!("{deflate:?}"),
                    };
                    self.deflate = deflate;
                    let written = self.wire.borrow().outbox.len();
                    self.wire.borrow_mut().frames_from = Some(written);
                    self.check_agreement(&ws, response.as_ref());
                    self.outcomes.push(Outcome::Established(summary));
                    self.stage = Stage::Open(if self.split {
                        let (reader, writer) = ws.split().expect("a stream that clones");
                        Ws::Split(reader, writer)
                    } else {
                        Ws::Whole(Box::new(ws))
                    });
                    return true;
                }
                Err(Err(stage)) => {
                    self.stage = stage;
                    if self.starved() {
                        self.outcomes.push(Outcome::Starved);
                        return false;
                    }
                }
                Err(Ok(error)) => {
                    self.check_handshake_error(&error);
                    self.outcomes.push(Outcome::HandshakeFailed(describe(&error)));
                    return false;
                }
            }
        }
        panic!("the handshake never completed nor starved");
    }

    /// The permessage-deflate in force is what the 101 says.
    fn check_agreement(
        &self,
        ws: &WebSocket<Stream>,
        response: Option<&rfc6455::handshake::Response>,
    ) {
        let agreed = ws.connection().permessage_deflate().is_some();
        match response {
            // Client: the 101 we accepted.
            Some(response) => {
                let says =
                    response.extensions().iter().any(|e| e.starts_with("permessage-deflate"));
                assert_eq!(agreed, says, "the 101 says {:?}", response.extensions());
            }
            // Server: the 101 we wrote, read back by a client that sent the request we read.
            None => {
                let wire = self.wire.borrow();
                let mut sent = BytesMut::from(&wire.sent[..]);
                let request = RequestParser::new(Limits::default())
                    .parse(&mut sent)
                    .expect("the request we accepted parses")
                    .expect("and is whole");
                let mut client = ClientRequest::with_key(URL, request.key()).expect("url");
                for p in request.subprotocols() {
                    client = client.subprotocol(p.clone());
                }
                for e in request.extensions() {
                    client = client.extension(e.clone());
                }
                let mut buf = BytesMut::from(&wire.outbox[..]);
                let parsed = client.response_parser(Limits::default()).parse(&mut buf);
                match parsed {
                    Ok(Some(r)) => {
                        let says =
                            r.extensions().iter().any(|e| e.starts_with("permessage-deflate"));
                        assert_eq!(agreed, says, "our 101 says {:?}", r.extensions());
                        assert!(buf.is_empty(), "bytes after our 101 before any frame");
                    }
                    other => panic!("our 101 does not read back: {other:?}"),
                }
            }
        }
    }

    fn check_handshake_error(&self, error: &Error) {
        if self.broken() {
            return;
        }
        let wire = self.wire.borrow();
        match (self.role, error) {
            (Role::Server, Error::Handshake(HandshakeError::Rejected(response))) => {
                assert_eq!(
                    wire.outbox,
                    response.to_bytes(),
                    "the rejection, as the callback made it"
                );
            }
            (Role::Server, Error::Handshake(e)) => {
                let expected = e.response().map(|r| r.to_bytes()).unwrap_or_default();
                assert_eq!(wire.outbox, expected, "{e:?} answered with its own response");
            }
            (Role::Client, Error::Handshake(_) | Error::Negotiation(_)) => {
                // The request went out whole before the answer was judged.
                assert_eq!(wire.outbox, self.request, "the request");
            }
            (role, other) => panic!("{role:?} handshake failed with {other:?}"),
        }
    }

    fn ws(&mut self) -> Option<&mut Ws> {
        match &mut self.stage {
            Stage::Open(ws) => Some(ws),
            _ => None,
        }
    }

    fn op(&mut self, index: usize, op: &Op, bytes: &[u8]) {
        match op {
            Op::Frame(_)
            | Op::Raw(_)
            | Op::Message { .. }
            | Op::Compressed { .. }
            | Op::PeerClose { .. } => {
                let mut wire = self.wire.borrow_mut();
                wire.inbox.extend(bytes);
                wire.sent.extend_from_slice(bytes);
                return;
            }
            Op::PeerEof => {
                self.wire.borrow_mut().peer_eof = true;
                return;
            }
            Op::Break { reset } => {
                let mut wire = self.wire.borrow_mut();
                if wire.chaos && wire.broken.is_none() {
                    wire.broken = Some(*reset);
                    drop(wire);
                    self.broken_at = Some(index);
                    self.outcomes_at_break = self.outcomes.len();
                }
                return;
            }
            _ => {}
        }
        if !self.handshake() {
            self.outcomes.push(Outcome::NoSocket);
            return;
        }
        let outcome = match op {
            Op::Read => self.read(),
            Op::Write(app) => {
                let message = self.app_message(app);
                let ws = self.ws().expect("open");
                match ws.write(message) {
                    Ok(()) => Outcome::Ok,
                    Err(e) => self.sending_error(e),
                }
            }
            Op::Send(app) => {
                let message = self.app_message(app);
                let ws = self.ws().expect("open");
                match ws.send(message) {
                    Ok(_) => Outcome::Ok,
                    Err(e) => self.sending_error(e),
                }
            }
            Op::Fragment { kind, payload, fin } => {
                let opcode = match kind % 3 {
                    0 => OpCode::Continuation,
                    1 => OpCode::Text,
                    _ => OpCode::Binary,
                };
                let payload = self.app_bytes_of(payload);
                let ws = self.ws().expect("open");
                match ws.send_fragment(opcode, payload, *fin) {
                    Ok(_) => Outcome::Ok,
                    Err(e) => self.sending_error(e),
                }
            }
            Op::Close { code, reason } => {
                let ws = self.ws().expect("open");
                match ws.close(CloseCode(*code), reason) {
                    Ok(_) => {
                        self.closed = true;
                        Outcome::Ok
                    }
                    Err(e) => self.sending_error(e),
                }
            }
            Op::Flush => self.flush(),
            _ => unreachable!(),
        };
        self.outcomes.push(outcome);
    }

    fn app_bytes_of(&mut self, bytes: &[u8]) -> Vec<u8> {
        let room = MAX_APP_BYTES.saturating_sub(self.app_bytes);
        let bytes = &bytes[..bytes.len().min(room)];
        self.app_bytes += bytes.len() + MAX_HEADER_LEN;
        bytes.to_vec()
    }

    fn app_message(&mut self, app: &App) -> Message {
        match app {
            App::Text(t) => {
                let mut t = t.clone();
                while t.len() > MAX_APP_BYTES.saturating_sub(self.app_bytes) {
                    t.pop();
                }
                self.app_bytes += t.len() + MAX_HEADER_LEN;
                Message::text(t)
            }
            App::Binary(b) => Message::binary(self.app_bytes_of(b)),
            App::Ping(b) => Message::Ping(self.app_bytes_of(b).into()),
            App::Pong(b) => Message::Pong(self.app_bytes_of(b).into()),
        }
    }

    /// A write, send, fragment or close that failed: only `Send`, or IO once broken.
    fn sending_error(&self, e: Error) -> Outcome {
        match &e {
            Error::Send(_) => {}
            Error::Io(_) if self.broken() => {}
            other => panic!("a send failed with {other:?}"),
        }
        Outcome::Failed(describe(&e))
    }

    fn flush(&mut self) -> Outcome {
        let broken = self.broken();
        let ws = self.ws().expect("open");
        for _ in 0..MAX_REPEATS {
            match ws.flush() {
                Ok(()) => return Outcome::Ok,
                Err(e) if e.is_would_block() => {}
                Err(e @ Error::Io(_)) if broken => return Outcome::Failed(describe(&e)),
                Err(e) => panic!("flush failed with {e:?}"),
            }
        }
        panic!("flush never completed");
    }

    fn read(&mut self) -> Outcome {
        for _ in 0..MAX_REPEATS {
            let broken = self.broken();
            let ws = self.ws().expect("open");
            match ws.read() {
                Ok(Message::BinaryPart { payload, last }) => {
                    assert!(!self.read_ended, "a message after the end");
                    self.parts.extend_from_slice(&payload);
                    if last {
                        return Outcome::Read(Kind::Binary, std::mem::take(&mut self.parts));
                    }
                }
                Ok(message) => {
                    assert!(!self.read_ended, "{message:?} after the end");
                    // §5.4: control frames may come between the fragments (so between the
                    // parts) of a message; another data message may not.
                    assert!(
                        self.parts.is_empty() || !message.is_data(),
                        "{message:?} inside a message in parts"
                    );
                    let (kind, payload) = match &message {
                        Message::Text(t) => (Kind::Text, t.as_str().as_bytes().to_vec()),
                        Message::Binary(b) => (Kind::Binary, b.to_vec()),
                        Message::Ping(b) => (Kind::Ping, b.to_vec()),
                        Message::Pong(b) => (Kind::Pong, b.to_vec()),
                        Message::Close(frame) => (
                            Kind::Close,
                            frame.as_ref().map(|f| f.to_payload().to_vec()).unwrap_or_default(),
                        ),
                        Message::BinaryPart { .. } => unreachable!(),
                    };
                    return Outcome::Read(kind, payload);
                }
                Err(e) if e.is_would_block() => {
                    if self.starved() {
                        return Outcome::Starved;
                    }
                }
                Err(e) => {
                    match &e {
                        Error::Protocol(p) => {
                            let code = p.close_code();
                            assert!(
                                matches!(
                                    code,
                                    CloseCode::PROTOCOL_ERROR
                                        | CloseCode::INVALID_DATA
                                        | CloseCode::TOO_BIG
                                ),
                                "{p:?} has close code {code:?}"
                            );
                            assert!(!self.read_ended, "a failure after the end");
                            // Our Close carries the failure's code, unless ours had left
                            // already (only one Close is sent, §5.5.1).
                            if !self.closed {
                                self.protocol_failure = Some(code);
                            }
                        }
                        Error::ConnectionClosed | Error::AbnormalClosure => {}
                        Error::Io(_) if broken => return Outcome::Failed(describe(&e)),
                        other => panic!("read failed with {other:?}"),
                    }
                    self.read_ended = true;
                    return Outcome::Failed(describe(&e));
                }
            }
        }
        panic!("read never completed nor starved");
    }

    /// The live heap the driver holds stays within its budgets.
    fn check_memory(&self, base: usize, before: usize, settings: &Settings) {
        let wire = self.wire.borrow();
        let harness = wire.inbox.capacity()
            + wire.outbox.capacity()
            + wire.sent.capacity()
            + (wire.reads.capacity() + wire.writes.capacity()) * std::mem::size_of::<Step>()
            + self.parts.capacity()
            + self.outcomes.capacity() * std::mem::size_of::<Outcome>()
            + self
                .outcomes
                .iter()
                .map(|o| match o {
                    Outcome::Read(_, p) => p.capacity(),
                    Outcome::Established(s) | Outcome::HandshakeFailed(s) | Outcome::Failed(s) => {
                        s.capacity()
                    }
                    _ => 0,
                })
                .sum::<usize>();
        let held = alloc::live().saturating_sub(base + harness);
        let config = &settings.protocol;
        let deflate = if settings.deflate.is_some() { 512 * 1024 } else { 0 };
        let bound = 2 * (MIN_READ + config.max_frame_size + MAX_HEADER_LEN)
            + 2 * config.max_message_size
            + 2 * (self.app_bytes + 4 * 1024)
            + 2 * settings.handshake_limits.max_head_bytes
            + deflate
            + 32 * 1024;
        assert!(held <= bound, "the driver holds {held} bytes, bound {bound}");
        // While the call ran: the same, plus the harness's own buffers growing (a Vec
        // holds its old and new allocation while it grows).
        let transient = alloc::peak().saturating_sub(before);
        let slack = 2 * harness;
        assert!(
            transient <= bound + slack,
            "one call allocated {transient} bytes at its peak, bound {bound} + {slack}"
        );
    }

    /// After the ops: write what is still queued.
    fn finish(&mut self) {
        if matches!(self.stage, Stage::Open(_)) {
            let outcome = self.flush();
            self.outcomes.push(outcome);
        }
    }

    /// Our frames (masks dropped), and whether the output ends inside one.
    fn frames(&self) -> (Vec<u8>, Vec<(bool, u8, OpCode, Vec<u8>)>, bool) {
        let wire = self.wire.borrow();
        let from = wire.frames_from.unwrap_or(wire.outbox.len());
        let head = wire.outbox[..from].to_vec();
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::from(&wire.outbox[from..]);
        let mut frames = Vec::new();
        while let Ok(Some(frame)) = decoder.decode(&mut buf) {
            let h = &frame.header;
            assert_eq!(h.is_masked(), self.role == Role::Client, "masking by role (§5.1)");
            let rsv = u8::from(h.rsv1) << 2 | u8::from(h.rsv2) << 1 | u8::from(h.rsv3);
            frames.push((h.fin, rsv, h.opcode, frame.payload.to_vec()));
        }
        (head, frames, !buf.is_empty())
    }

    /// We shut our sending side only after our Close left whole; after a failure reported
    /// by `read`, our last frame is a Close with its code.
    fn check_close_rules(&self, finished: bool) {
        let (_, frames, partial) = self.frames();
        let wire = self.wire.borrow();
        if let (Some(at), Some(from)) = (wire.shut_at, wire.frames_from) {
            let mut decoder = FrameDecoder::new();
            let mut buf = BytesMut::from(&wire.outbox[from..at]);
            let mut sent = Vec::new();
            while let Ok(Some(frame)) = decoder.decode(&mut buf) {
                sent.push(frame.header.opcode);
            }
            assert!(buf.is_empty(), "shut down inside a frame");
            // Only the Pong owed for a Ping that came after it may follow our Close.
            let close = sent.iter().rposition(|&op| op == OpCode::Close);
            let after = close.map(|at| &sent[at + 1..]);
            assert!(
                after.is_some_and(|after| after.iter().all(|&op| op == OpCode::Pong)),
                "shut down before our Close left: {sent:?}"
            );
        }
        // Once the queue was flushed (a nonblocking stream may still hold it before).
        if let (true, Some(code), false, false) =
            (finished, self.protocol_failure, partial, self.broken())
        {
            let last = frames.last().expect("a Close after a failure");
            assert_eq!(last.2, OpCode::Close, "our last frame after a failure");
            assert_eq!(last.3.get(..2), Some(&code.0.to_be_bytes()[..]), "the failure's code");
        }
    }
}

/// The request the client under test sends: `ClientHandshake::new` adds the deflate offer
/// itself, so the plain request is given to it.
fn our_request_plain() -> ClientRequest {
    ClientRequest::with_key(URL, KEY).expect("a valid URL and key")
}

fn run(input: &Input, chaos: bool) -> Run {
    let settings = settings(input);
    let role = if input.client { Role::Client } else { Role::Server };
    let (head, params) = peer_head(input, &settings);
    let bytes = peer_bytes(input, role, params);
    let base = alloc::live();
    let mut run = Run::new(input, settings, chaos);
    run.wire.borrow_mut().inbox.extend(&head);
    run.wire.borrow_mut().sent.extend_from_slice(&head);
    for (index, op) in input.ops.iter().enumerate().take(256) {
        let before = alloc::reset_peak();
        run.op(index, op, &bytes[index]);
        run.check_memory(base, before, &settings);
        run.check_close_rules(false);
    }
    run.finish();
    run.check_close_rules(true);
    run
}

fn is_prefix<T: PartialEq>(short: &[T], long: &[T]) -> bool {
    short.len() <= long.len() && short == &long[..short.len()]
}

type OutFrame = (bool, u8, OpCode, Vec<u8>);

/// Our frames but the Pongs, and the Pongs: when an owed Pong is settled into the output
/// depends on when the driver last looked at it (a flush before a read that would block),
/// and a Ping processed before the previous one's Pong was settled replaces it (§5.5.3), so
/// the schedule may move or merge Pongs, and nothing else.
fn split_pongs(frames: &[OutFrame]) -> (Vec<OutFrame>, Vec<Vec<u8>>) {
    let (pongs, others): (Vec<&OutFrame>, Vec<&OutFrame>) =
        frames.iter().partition(|f| f.2 == OpCode::Pong);
    (others.into_iter().cloned().collect(), pongs.into_iter().map(|f| f.3.clone()).collect())
}

/// Every Pong we sent answers a Ping we read, or is one the application sent.
fn check_pongs(run: &Run, input: &Input, pongs: &[Vec<u8>]) {
    let pings: Vec<&Vec<u8>> = run
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Read(Kind::Ping, p) => Some(p),
            _ => None,
        })
        .collect();
    for pong in pongs {
        let answers = pings.contains(&pong);
        let ours = input.ops.iter().any(|op| {
            matches!(op, Op::Write(App::Pong(p)) | Op::Send(App::Pong(p)) if p.starts_with(pong))
        });
        assert!(answers || ours, "a Pong {pong:?} nobody asked for (Pings {pings:?})");
    }
}

fuzz_target!(|input: Input| {
    let reference = run(&input, false);
    assert!(reference.broken_at.is_none());
    let chaos = run(&input, true);
    let (ref_head, ref_frames, ref_partial) = reference.frames();
    let (head, frames, _) = chaos.frames();
    assert!(!ref_partial, "the reference's output ends inside a frame");
    let (ref_others, ref_pongs) = split_pongs(&ref_frames);
    let (others, pongs) = split_pongs(&frames);
    check_pongs(&reference, &input, &ref_pongs);
    check_pongs(&chaos, &input, &pongs);
    match chaos.broken_at {
        None => {
            assert_eq!(
                chaos.outcomes, reference.outcomes,
                "chaos changed what the application saw"
            );
            assert_eq!(head, ref_head, "chaos changed the HTTP head");
            assert_eq!(others, ref_others, "chaos changed the frames");
            let pinged =
                reference.outcomes.iter().any(|o| matches!(o, Outcome::Read(Kind::Ping, _)));
            if !pinged {
                assert_eq!(pongs, ref_pongs, "chaos changed the Pongs");
            }
        }
        Some(_) => {
            let n = chaos.outcomes_at_break;
            assert_eq!(chaos.outcomes[..n], reference.outcomes[..n], "before the break");
            // What was read is a prefix of what the reference read; the output too.
            let reads = |r: &Run| -> Vec<Outcome> {
                r.outcomes
                    .iter()
                    .filter(|o| {
                        matches!(o, Outcome::Read(..))
                            || matches!(o, Outcome::Failed(s) if s.starts_with("Protocol"))
                    })
                    .cloned()
                    .collect()
            };
            let (ours, theirs) = (reads(&chaos), reads(&reference));
            assert!(is_prefix(&ours, &theirs), "read {ours:?}, the reference {theirs:?}");
            assert!(is_prefix(&head, &ref_head), "the head is no prefix of the reference's");
            assert!(is_prefix(&others, &ref_others), "frames {others:?} vs {ref_others:?}");
        }
    }
});
