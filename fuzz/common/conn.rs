//! The whole-connection harness shared by `connection_server` and `connection_client`.
//!
//! The input is a list of operations: peer frames (built with `RawFrame`, mostly well formed,
//! some with one anomaly), raw peer bytes, deliveries of the pending peer bytes in chunks of
//! a chosen size, application calls (send text/binary/ping/pong, send_fragment, close) and
//! output drains. Invariants checked:
//!
//! * no panic; every `next_event` error is a `ProtocolError` whose close code is 1002, 1007
//!   or 1009, the connection is then `Failed`, keeps returning the same error, and its read
//!   buffer is empty;
//! * memory: after each delivery the read buffer holds less than one frame, the live heap
//!   stays within max_message_size + max_frame_size + one read chunk + the write budget (x2
//!   for buffer growth, plus a constant), and the output queue within max_write_buffer plus
//!   one Pong and one Close;
//! * output: every byte we emit is a frame a conforming peer accepts (fed to a peer
//!   `Connection` of the other role, which must not fail), at most one Close is emitted and
//!   nothing but Pongs after it, and a failed or closed connection has emitted exactly one Close, whose
//!   code is the failure's when the failure sent it;
//! * chunking: the peer bytes delivered whole or in the input's chunks give the same events,
//!   the same final error, state and output frames.

use arbitrary::Arbitrary;
use bytes::BytesMut;
use rfc6455::frame::{FrameDecoder, MAX_HEADER_LEN, OpCode};
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Message, ProtocolError, Role, State};

use super::alloc;
use super::peer::PeerFrame;

/// Budgets small enough for the fuzzer to reach.
pub fn config(strict: bool) -> Config {
    Config {
        max_frame_size: 512,
        max_message_size: 2048,
        max_fragments: 8,
        max_write_buffer: 2048,
        reject_non_minimal_lengths: strict,
        ..Config::default()
    }
}

/// A Pong (at most 125 bytes + header) and a Close may be queued beyond max_write_buffer.
const OUTPUT_SLACK: usize = 2 * (125 + MAX_HEADER_LEN);

#[derive(Arbitrary, Debug)]
pub struct Input {
    pub lenient_lengths: bool,
    pub ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
pub enum Op {
    Frame(PeerFrame),
    Raw(Vec<u8>),
    Deliver(u16),
    App(AppCall),
    TakeOutput,
}

#[derive(Arbitrary, Debug)]
pub enum AppCall {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Fragment { kind: u8, payload: Vec<u8>, fin: bool },
    Close(Option<(u16, String)>),
}

/// The peer's byte stream and the delivery sizes the input chose.
fn peer_stream(input: &Input, us: Role) -> (Vec<u8>, Vec<usize>) {
    let mut stream = Vec::new();
    let mut sizes = Vec::new();
    for op in &input.ops {
        match op {
            Op::Frame(f) => stream.extend_from_slice(&f.bytes(us)),
            Op::Raw(bytes) => stream.extend_from_slice(bytes),
            Op::Deliver(n) => sizes.push(usize::from(*n)),
            _ => {}
        }
    }
    (stream, sizes)
}

/// Drain events; returns them and the error the connection failed with, if any.
fn drain(conn: &mut Connection, keep: bool) -> (Vec<Message>, Option<ProtocolError>) {
    let mut events = Vec::new();
    if let Some(error) = conn.failure().cloned() {
        // Failed earlier: the same error again, and nothing more is read.
        assert_eq!(conn.next_event(), Err(error.clone()), "a failure must be sticky");
        return (events, Some(error));
    }
    loop {
        let before = conn.state();
        match conn.next_event() {
            Ok(Some(message)) => {
                if keep {
                    events.push(message);
                }
            }
            Ok(None) => return (events, None),
            Err(error) => {
                let code = error.close_code();
                assert!(
                    matches!(
                        code,
                        CloseCode::PROTOCOL_ERROR | CloseCode::INVALID_DATA | CloseCode::TOO_BIG
                    ),
                    "{error:?} has close code {code:?}"
                );
                assert!(matches!(before, State::Open | State::CloseSent), "failed from {before:?}");
                assert_eq!(conn.state(), State::Failed);
                assert_eq!(conn.failure(), Some(&error));
                assert_eq!(conn.next_event(), Err(error.clone()), "a failure must be sticky");
                assert!(conn.read_buf().is_empty());
                return (events, Some(error));
            }
        }
    }
}

/// A frame of our output, with the masking key dropped (it is random for a client).
#[derive(Debug, PartialEq)]
struct OutFrame {
    fin: bool,
    opcode: OpCode,
    payload: Vec<u8>,
}

/// Decode our whole output: check masking by role, that at most one Close was sent and
/// nothing after it, and that a conforming peer accepts every frame.
fn check_output(us: Role, output: &[u8]) -> Vec<OutFrame> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(output);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).expect("no budget") {
        assert_eq!(frame.header.is_masked(), us == Role::Client, "masking by role (§5.1)");
        // After our Close nothing but the Pong owed for a Ping that arrived after it
        // (§5.5.2 excuses a Pong only once the peer's Close was received).
        if frames.iter().any(|f: &OutFrame| f.opcode == OpCode::Close) {
            assert_eq!(
                frame.header.opcode,
                OpCode::Pong,
                "a frame after our Close: {frames:?} then {:?}",
                frame.header
            );
        }
        frames.push(OutFrame {
            fin: frame.header.fin,
            opcode: frame.header.opcode,
            payload: frame.payload.to_vec(),
        });
    }
    assert!(buf.is_empty(), "our output ends inside a frame");
    let peer_role = match us {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut peer = Connection::new(peer_role, Config::default());
    peer.receive(output);
    loop {
        match peer.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!("a conforming peer refused our output: {e:?}"),
        }
    }
    frames
}

fn app_call(conn: &mut Connection, call: &AppCall) {
    let sendable_before = matches!(conn.state(), State::Open);
    let result = match call {
        AppCall::Text(s) => conn.send(Message::text(s.clone())),
        AppCall::Binary(b) => conn.send(Message::binary(b.clone())),
        AppCall::Ping(b) => {
            let r = conn.send(Message::Ping(b.clone().into()));
            if b.len() > 125 {
                assert!(r.is_err(), "a {}-byte Ping was queued", b.len());
            }
            r
        }
        AppCall::Pong(b) => conn.send(Message::Pong(b.clone().into())),
        AppCall::Fragment { kind, payload, fin } => {
            let opcode = match kind % 3 {
                0 => OpCode::Continuation,
                1 => OpCode::Text,
                _ => OpCode::Binary,
            };
            conn.send_fragment(opcode, payload.clone(), *fin)
        }
        AppCall::Close(frame) => {
            let frame = frame
                .as_ref()
                .map(|(code, reason)| CloseFrame::new(CloseCode(*code), reason.clone()));
            conn.close(frame)
        }
    };
    if !sendable_before {
        // Once a Close was sent or the connection ended, only `close` (idempotent) succeeds.
        if !matches!(call, AppCall::Close(_)) {
            assert!(result.is_err(), "sent {call:?} in state {:?}", conn.state());
        }
    }
}

pub fn run(role: Role, input: &Input) {
    let config = config(!input.lenient_lengths);
    let (stream, _) = peer_stream(input, role);

    // ---- pass 1: interleaved application calls, budgets, output rules.
    let mut conn = Connection::new(role, config);
    let mut output = Vec::new();
    let mut delivered = 0usize;
    let mut largest_chunk = 0usize;
    let mut failure: Option<(ProtocolError, State)> = None;
    let base = alloc::live();
    for op in &input.ops {
        let state_before = conn.state();
        match op {
            Op::Frame(_) | Op::Raw(_) => {}
            Op::Deliver(n) => {
                let end = (delivered + usize::from(*n)).min(stream.len());
                let chunk = &stream[delivered..end];
                delivered = end;
                largest_chunk = largest_chunk.max(chunk.len());
                let start = alloc::reset_peak();
                conn.receive(chunk);
                let (_, error) = drain(&mut conn, false);
                let transient = alloc::peak() - start;
                let bound = memory_bound(&config, largest_chunk);
                assert!(
                    transient <= bound,
                    "{transient} bytes allocated by one delivery, bound {bound}"
                );
                if let (Some(error), None) = (error, &failure) {
                    failure = Some((error, state_before));
                }
                if !conn.is_terminated() {
                    // Less than one frame is left once the events are drained.
                    let frame_max = config.max_frame_size.max(125) + MAX_HEADER_LEN;
                    assert!(
                        conn.read_buf().len() < frame_max,
                        "{} bytes left",
                        conn.read_buf().len()
                    );
                }
            }
            Op::App(call) => app_call(&mut conn, call),
            Op::TakeOutput => output.extend_from_slice(&conn.take_output()),
        }
        let queued = conn.output_len();
        assert!(
            queued <= config.max_write_buffer + OUTPUT_SLACK,
            "{queued} bytes queued, budget {}",
            config.max_write_buffer
        );
        // Live heap held by the connection (our own `output` copy excluded).
        let held = alloc::live().saturating_sub(base + output.capacity());
        let bound = memory_bound(&config, largest_chunk);
        assert!(held <= bound, "the connection holds {held} bytes, bound {bound}");
    }
    output.extend_from_slice(&conn.take_output());
    let frames = check_output(role, &output);
    let closes: Vec<&OutFrame> = frames.iter().filter(|f| f.opcode == OpCode::Close).collect();
    assert!(closes.len() <= 1);
    if matches!(conn.state(), State::Failed | State::Closed) {
        assert_eq!(
            closes.len(),
            1,
            "state {:?} but {} Close frames sent",
            conn.state(),
            closes.len()
        );
    }
    if let Some((error, State::Open)) = &failure {
        // The failure sent the Close: its code is the error's.
        let body = &closes[0].payload;
        assert!(body.len() >= 2);
        assert_eq!(u16::from_be_bytes([body[0], body[1]]), error.close_code().0);
    }

    // ---- pass 2: the same peer bytes, no application calls, whole vs chunked.
    let (_, sizes) = peer_stream(input, role);
    let whole = receive_all(role, config, &[&stream[..]]);
    let mut chunks = Vec::new();
    let mut at = 0;
    for n in sizes {
        let end = (at + n).min(stream.len());
        chunks.push(&stream[at..end]);
        at = end;
    }
    chunks.push(&stream[at..]);
    let chunked = receive_all(role, config, &chunks);
    assert_eq!(whole, chunked, "chunking changed what the connection saw or said");
}

#[derive(Debug, PartialEq)]
struct Seen {
    events: Vec<Message>,
    error: Option<ProtocolError>,
    state: State,
    output: Vec<OutFrame>,
}

fn receive_all(role: Role, config: Config, chunks: &[&[u8]]) -> Seen {
    let mut conn = Connection::new(role, config);
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        conn.receive(chunk);
        let (mut more, e) = drain(&mut conn, true);
        events.append(&mut more);
        if e.is_some() {
            error = e;
            break;
        }
    }
    let output = conn.take_output();
    Seen { events, error, state: conn.state(), output: check_output(role, &output) }
}

/// What the connection may hold: a read buffer (one frame plus one read chunk), reassembly
/// (one message), the output queue (write budget plus slack), each doubled for buffer
/// growth, plus a constant for the fixed-size state.
fn memory_bound(config: &Config, chunk: usize) -> usize {
    2 * (config.max_frame_size + MAX_HEADER_LEN + chunk)
        + 2 * config.max_message_size
        + 2 * (config.max_write_buffer + OUTPUT_SLACK)
        + 16 * 1024
}
