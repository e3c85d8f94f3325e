//! Shared helpers for the `protocol_*` integration tests: build frames as a peer would put
//! them on the wire (with [`encode_frame`]), and read back what a [`Connection`] queued for
//! its peer (with [`FrameDecoder`]).
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use rfc6455::frame::{Frame, FrameDecoder, FrameHeader, OpCode, encode_frame};
use rfc6455::{CloseCode, Config, Connection, Message, ProtocolError, Role};

/// The masking key of the RFC's §5.7 examples.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Any header, any payload, exactly as given (masked with the header's key, if any).
pub fn raw(header: FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&header, payload, &mut out);
    out.to_vec()
}

/// A frame as a client sends it: masked with `key`.
pub fn client_frame_with_key(fin: bool, opcode: OpCode, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    raw(FrameHeader::new(fin, opcode, Some(key), payload.len() as u64), payload)
}

/// A frame as a client sends it, masked with [`KEY`].
pub fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    client_frame_with_key(fin, opcode, KEY, payload)
}

/// A frame as a server sends it: unmasked.
pub fn server_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    raw(FrameHeader::new(fin, opcode, None, payload.len() as u64), payload)
}

/// A frame as the peer of `role` sends it (masked when the peer is a client).
pub fn peer_frame(role: Role, fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    match role {
        Role::Server => client_frame(fin, opcode, payload),
        Role::Client => server_frame(fin, opcode, payload),
    }
}

/// A Close payload: the code in network byte order, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

pub fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

pub fn client() -> Connection {
    Connection::new(Role::Client, Config::default())
}

/// Call `next_event` until it needs more bytes (`Ok(None)`) or fails.
pub fn drain(conn: &mut Connection) -> Result<Vec<Message>, ProtocolError> {
    let mut messages = Vec::new();
    while let Some(message) = conn.next_event()? {
        messages.push(message);
    }
    Ok(messages)
}

/// Feed `bytes` and collect the events, panicking on a protocol error.
pub fn feed_ok(conn: &mut Connection, bytes: &[u8]) -> Vec<Message> {
    conn.receive(bytes);
    match drain(conn) {
        Ok(messages) => messages,
        Err(e) => panic!("unexpected protocol error: {e:?}"),
    }
}

/// Feed `bytes` and return the error the connection fails with (panics if it does not).
pub fn feed_err(conn: &mut Connection, bytes: &[u8]) -> ProtocolError {
    conn.receive(bytes);
    match drain(conn) {
        Ok(messages) => panic!("expected a protocol error, got {messages:?}"),
        Err(e) => e,
    }
}

/// Decode a byte string into whole frames; panics if bytes are left over.
pub fn decode_all(bytes: &[u8]) -> Vec<Frame> {
    let mut buf = BytesMut::from(bytes);
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).expect("no decoder budget") {
        frames.push(frame);
    }
    assert!(
        buf.is_empty() && decoder.in_progress().is_none(),
        "output ends with a partial frame ({} bytes left)",
        buf.len()
    );
    frames
}

/// Take everything the connection queued and decode it into frames.
pub fn output_frames(conn: &mut Connection) -> Vec<Frame> {
    let out = conn.take_output();
    decode_all(&out)
}

/// The Close frames among `frames`, as (code, reason); `None` code for an empty body.
pub fn closes(frames: &[Frame]) -> Vec<(Option<u16>, Bytes)> {
    frames
        .iter()
        .filter(|f| f.header.opcode == OpCode::Close)
        .map(|f| match &f.payload[..] {
            [] => (None, Bytes::new()),
            [hi, lo, ..] => (Some(u16::from_be_bytes([*hi, *lo])), f.payload.slice(2..)),
            [_] => panic!("queued a 1-byte Close payload"),
        })
        .collect()
}

/// Asserts the connection's output holds exactly one frame, a Close, and returns its code.
/// Also checks the masking that §5.1 requires of the connection's role.
pub fn only_close_code(conn: &mut Connection) -> u16 {
    let role = conn.role();
    let frames = output_frames(conn);
    assert_eq!(frames.len(), 1, "expected exactly one frame, got {frames:?}");
    let frame = &frames[0];
    assert_eq!(frame.header.opcode, OpCode::Close);
    assert!(frame.header.fin);
    assert_eq!(frame.header.is_masked(), role == Role::Client);
    let (code, reason) = closes(&frames).remove(0);
    assert!(std::str::from_utf8(&reason).is_ok(), "the close reason we send must be UTF-8");
    code.expect("a failure Close carries a status code")
}

/// Feed `bytes`, expect a failure with `expected`, and check that exactly one Close carrying
/// `expected.close_code()` was queued.
pub fn assert_fails_with(conn: &mut Connection, bytes: &[u8], expected: ProtocolError) {
    let error = feed_err(conn, bytes);
    assert_eq!(error, expected);
    assert_eq!(conn.state(), rfc6455::State::Failed);
    let code = only_close_code(conn);
    assert_eq!(CloseCode(code), expected.close_code(), "close code on the wire");
}

/// Deterministic filler bytes.
pub fn filled(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Cut `bytes` at the given points (sorted; duplicates give empty chunks): how a proptest
/// picks the reads a byte stream arrives in.
pub fn chunks<'a>(bytes: &'a [u8], cuts: &[proptest::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(&bytes[start..p]);
        start = p;
    }
    out.push(&bytes[start..]);
    out
}
