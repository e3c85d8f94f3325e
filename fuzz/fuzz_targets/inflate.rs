//! The inflate path of permessage-deflate (RFC 7692): a server `Connection` with the
//! extension negotiated (any parameters) and small budgets receives compressed messages —
//! real DEFLATE of arbitrary text or bytes (so the fuzzer reaches deep into the inflater),
//! arbitrary bytes claiming to be DEFLATE, or the bytes of a bomb — cut into fragments, with
//! uncompressed messages and Pings between, delivered in arbitrary chunks.
//!
//! Invariants: no panic; an error is a `ProtocolError` with close code 1002, 1007 or 1009;
//! the live heap stays within max_message_size + max_frame_size + zlib's inflate state (a
//! 32 KiB window and its tables) + one output chunk + the read chunk, whatever the input
//! inflates to; and the events and the error are the same whether the bytes arrive whole or
//! in the input's chunks.
#![no_main]

#[path = "../common/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{Compressor, DeflateConfig, DeflateParams, INFLATE_STEP};
use rfc6455::frame::{FrameHeader, OpCode, encode_frame};
use rfc6455::{CloseCode, Config, Connection, Message, ProtocolError, Role};

#[derive(Arbitrary, Debug)]
struct Input {
    no_context_takeover: bool,
    window_bits: u8,
    level: u8,
    messages: Vec<Msg>,
    chunks: Vec<u16>,
}

#[derive(Arbitrary, Debug)]
enum Body {
    /// Real DEFLATE of this text / these bytes (with the sender's window and level).
    Text(String),
    Binary(Vec<u8>),
    /// `n` KiB of one repeated byte: a small bomb.
    Repeated {
        byte: u8,
        kib: u8,
    },
    /// Any bytes, RSV1 set: not necessarily DEFLATE at all.
    Raw(Vec<u8>),
    /// An uncompressed message between the compressed ones.
    Plain(Vec<u8>),
    Ping(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Msg {
    body: Body,
    /// Where the compressed bytes are cut into fragments.
    cuts: Vec<u16>,
}

/// Budgets small enough for the fuzzer to reach.
fn config() -> Config {
    Config {
        max_frame_size: 4096,
        max_message_size: 16 * 1024,
        max_fragments: 16,
        ..Config::default()
    }
}

fn frame(out: &mut BytesMut, fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8]) {
    let mut header =
        FrameHeader::new(fin, opcode, Some([0x37, 0xfa, 0x21, 0x3d]), payload.len() as u64);
    header.rsv1 = rsv1;
    encode_frame(&header, payload, out);
}

/// The client's byte stream for `input`.
fn stream(input: &Input, params: &DeflateParams) -> Vec<u8> {
    let bits = params.client_max_window_bits.unwrap_or(15);
    let mut compressor = Compressor::new(input.level % 10, bits, params.client_no_context_takeover);
    let mut out = BytesMut::new();
    for msg in input.messages.iter().take(16) {
        let (opcode, compressed) = match &msg.body {
            Body::Text(t) => (OpCode::Text, compress(&mut compressor, t.as_bytes())),
            Body::Binary(b) => (OpCode::Binary, compress(&mut compressor, b)),
            Body::Repeated { byte, kib } => {
                let plain = vec![*byte; usize::from(*kib % 64) * 1024];
                (OpCode::Binary, compress(&mut compressor, &plain))
            }
            Body::Raw(raw) => (OpCode::Binary, raw.clone()),
            Body::Plain(p) => {
                frame(&mut out, true, false, OpCode::Binary, p);
                continue;
            }
            Body::Ping(p) => {
                frame(&mut out, true, false, OpCode::Ping, &p[..p.len().min(125)]);
                continue;
            }
        };
        let mut points: Vec<usize> =
            msg.cuts.iter().take(8).map(|c| usize::from(*c) % (compressed.len() + 1)).collect();
        points.sort_unstable();
        points.push(compressed.len());
        let mut start = 0;
        for (i, end) in points.iter().copied().enumerate() {
            let last = i + 1 == points.len();
            let opcode = if i == 0 { opcode } else { OpCode::Continuation };
            frame(&mut out, last, i == 0, opcode, &compressed[start..end]);
            start = end;
        }
    }
    out.to_vec()
}

fn compress(compressor: &mut Compressor, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    compressor.compress(plain, &mut out);
    out
}

/// Feed `pieces` one by one; the events and the error.
fn run(params: &DeflateParams, pieces: &[&[u8]]) -> (Vec<Message>, Option<ProtocolError>) {
    let config = config();
    let mut conn = Connection::new(Role::Server, config);
    conn.use_permessage_deflate(*params, &DeflateConfig::default());
    let mut events = Vec::new();
    let base = alloc::reset_peak();
    for piece in pieces {
        conn.receive(piece);
        loop {
            match conn.next_event() {
                Ok(Some(message)) => events.push(message),
                Ok(None) => break,
                Err(error) => {
                    let code = error.close_code();
                    assert!(
                        matches!(
                            code,
                            CloseCode::PROTOCOL_ERROR
                                | CloseCode::INVALID_DATA
                                | CloseCode::TOO_BIG
                        ),
                        "{error:?} has close code {code:?}"
                    );
                    return (events, Some(error));
                }
            }
            let _ = conn.take_output();
        }
        let budget = config.max_message_size
            + config.max_frame_size
            + 64 * 1024 // zlib's inflate window and tables
            + INFLATE_STEP
            + piece.len();
        let grown = alloc::peak().saturating_sub(base);
        // Events kept by the harness are not the connection's: count them out generously.
        let kept: usize = events.iter().map(|m| m.payload().len() + 64).sum();
        assert!(
            grown <= 2 * budget + kept,
            "heap grew {grown} bytes (budget {budget}, kept {kept})"
        );
    }
    (events, None)
}

fuzz_target!(|input: Input| {
    let bits = 8 + input.window_bits % 8;
    let params = DeflateParams {
        server_no_context_takeover: input.no_context_takeover,
        client_no_context_takeover: input.no_context_takeover,
        server_max_window_bits: Some(bits),
        client_max_window_bits: Some(bits),
    };
    let wire = stream(&input, &params);
    let whole = run(&params, &[&wire]);
    let mut pieces = Vec::new();
    let mut start = 0;
    for size in input.chunks.iter().take(64) {
        let end = (start + usize::from(*size) % 4096).min(wire.len());
        pieces.push(&wire[start..end]);
        start = end;
    }
    pieces.push(&wire[start..]);
    let chunked = run(&params, &pieces);
    assert_eq!(whole, chunked, "the chunking changed what was received");
});
