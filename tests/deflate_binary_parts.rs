//! permessage-deflate with `Config::binary_parts_from` (RFC 7692 §6): a compressed binary
//! message is one DEFLATE stream over all its frames, so its parts cannot be handed out as
//! they arrive; it is inflated and handed out whole, however long its compressed frames are.
//! Found by the interop tests (tests/interop_deflate_python.rs): 1 MiB of random bytes
//! compresses to slightly *more* than 1 MiB, over the echo server's 256 KiB threshold, and
//! the compressed bytes went back to websockets as an uncompressed message 321 bytes longer.
//! Uncompressed binary messages (RSV1 clear) still come in parts.

use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::frame::OpCode;
use rfc6455::{Config, Connection, Message, Role};

/// Bytes that do not compress (xorshift64*): their DEFLATE stream is longer than they are.
fn random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn pair(parts_from: usize) -> (Connection, Connection) {
    let params = DeflateParams::default();
    let config = DeflateConfig::default();
    let mut client = Connection::new(Role::Client, Config::default());
    client.use_permessage_deflate(params, &config);
    let server_config = Config { binary_parts_from: Some(parts_from), ..Config::default() };
    let mut server = Connection::new(Role::Server, server_config);
    server.use_permessage_deflate(params, &config);
    (client, server)
}

/// Feed `wire` to `server` in `chunk`-byte reads; everything it hands out.
fn receive(server: &mut Connection, wire: &[u8], chunk: usize) -> Vec<Message> {
    let mut got = Vec::new();
    for piece in wire.chunks(chunk) {
        server.receive(piece);
        while let Some(message) = server.next_event().expect("a valid stream") {
            got.push(message);
        }
    }
    got
}

#[test]
fn a_compressed_binary_message_over_the_threshold_comes_whole_and_inflated() {
    let data = random(64 * 1024);
    for chunk in [usize::MAX, 1500] {
        let (mut client, mut server) = pair(1024);
        client.send(Message::binary(data.clone())).expect("send");
        let wire = client.take_output();
        assert!(wire.len() > data.len(), "random bytes must not compress");
        let got = receive(&mut server, &wire, chunk);
        assert_eq!(got.len(), 1, "one message, whole (chunks of {chunk}): {} items", got.len());
        assert!(got[0] == Message::binary(data.clone()), "chunks of {chunk}: not the message sent");
    }
}

#[test]
fn a_fragmented_compressed_binary_message_comes_whole_and_inflated() {
    // A peer may fragment a compressed message (§6.1): RSV1 on the first frame only. Here the
    // fragments are of the DEFLATE stream of one message, cut by hand.
    let data = random(16 * 1024);
    let (mut client, mut server) = pair(1024);
    client.send(Message::binary(data.clone())).expect("send");
    let whole = common_frame_payload(&client.take_output());
    let (a, b) = whole.split_at(whole.len() / 2);
    // Raw fragments: the first with RSV1 (written by hand, since send_fragment does not
    // compress), then a continuation.
    let wire = [
        raw_frame(false, true, OpCode::Binary, a),
        raw_frame(true, false, OpCode::Continuation, b),
    ]
    .concat();
    let got = receive(&mut server, &wire, 700);
    assert_eq!(got.len(), 1, "one message, whole: {} items", got.len());
    assert!(got[0] == Message::binary(data), "not the message sent");
}

#[test]
fn an_uncompressed_binary_message_still_comes_in_parts() {
    let data = random(8 * 1024);
    let (_, mut server) = pair(1024);
    let wire = raw_frame(true, false, OpCode::Binary, &data);
    let got = receive(&mut server, &wire, 2048);
    assert!(got.len() > 1, "parts expected, got {} items", got.len());
    let mut joined = Vec::new();
    for (i, message) in got.iter().enumerate() {
        match message {
            Message::BinaryPart { payload, last } => {
                assert_eq!(*last, i + 1 == got.len());
                joined.extend_from_slice(payload);
            }
            other => panic!("expected parts, got {other:?}"),
        }
    }
    assert_eq!(joined, data);
}

/// The payload of the single (unmasked after decoding) frame in `wire`.
fn common_frame_payload(wire: &[u8]) -> Vec<u8> {
    let mut buf = bytes::BytesMut::from(wire);
    let frame = rfc6455::frame::FrameDecoder::new()
        .decode(&mut buf)
        .expect("a frame")
        .expect("a whole frame");
    assert!(frame.header.rsv1 && frame.header.fin, "one compressed frame");
    frame.payload.to_vec()
}

/// A masked client frame with the given FIN and RSV1 bits.
fn raw_frame(fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut header =
        rfc6455::frame::FrameHeader::new(fin, opcode, Some([1, 2, 3, 4]), payload.len() as u64);
    header.rsv1 = rsv1;
    let mut out = bytes::BytesMut::new();
    rfc6455::frame::encode_frame(&header, payload, &mut out);
    out.to_vec()
}
