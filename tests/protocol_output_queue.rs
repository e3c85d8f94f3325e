//! The outgoing side of the sans-IO core: what `send`, the automatic replies (§5.5.2 Pong,
//! §5.5.1 Close echo, §7.1.7 failure Close) and `close` queue comes out of
//! `output_slices`/`advance_output` byte for byte as it comes out of `take_output`, in order,
//! across partial writes and across payloads queued by reference; and §5.5.1 "MUST close the
//! underlying TCP connection" is reported only once every queued byte was written.

mod common;

use std::io::IoSlice;

use bytes::Bytes;
use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Message, Role};

/// Queue the same traffic on a connection: small and large (zero-copy) payloads, a Pong owed
/// for a received Ping, and a Close.
fn queue_traffic(conn: &mut Connection) {
    conn.send(Message::text("small")).unwrap();
    conn.send(Message::binary(filled(20_000, 1))).unwrap();
    conn.send(Message::binary(filled(9_000, 2))).unwrap();
    conn.send(Message::text("between")).unwrap();
    conn.send(Message::binary(filled(70_000, 3))).unwrap();
    let ping = peer_frame(conn.role(), true, OpCode::Ping, b"owed");
    feed_ok(conn, &ping);
    conn.close(Some(CloseFrame::new(CloseCode::NORMAL, "end"))).unwrap();
}

/// Write everything through `output_slices`, at most `budget` bytes per "write".
fn write_vectored(conn: &mut Connection, budget: usize) -> Vec<u8> {
    let mut written = Vec::new();
    loop {
        let mut slots = [IoSlice::new(&[]); 4];
        let n = conn.output_slices(&mut slots);
        if n == 0 {
            break;
        }
        let mut left = budget;
        let mut took = 0;
        for slice in &slots[..n] {
            let k = slice.len().min(left);
            written.extend_from_slice(&slice[..k]);
            left -= k;
            took += k;
        }
        assert!(took > 0, "a non-empty slice list was returned");
        conn.advance_output(took);
    }
    written
}

#[test]
fn partial_vectored_writes_equal_take_output() {
    for role in [Role::Server, Role::Client] {
        let mut reference = Connection::new(role, Config::default());
        queue_traffic(&mut reference);
        let expected = reference.take_output();
        let frames = decode_all(&expected);
        let opcodes: Vec<OpCode> = frames.iter().map(|f| f.header.opcode).collect();
        assert_eq!(
            opcodes,
            vec![
                OpCode::Text,
                OpCode::Binary,
                OpCode::Binary,
                OpCode::Text,
                OpCode::Binary,
                OpCode::Pong,
                OpCode::Close
            ]
        );
        assert_eq!(&frames[4].payload[..], &filled(70_000, 3)[..]);
        assert_eq!(&frames[5].payload[..], b"owed");

        for budget in [1, 7, 4096, 100_000, usize::MAX] {
            let mut conn = Connection::new(role, Config::default());
            queue_traffic(&mut conn);
            let total = conn.output_len();
            let written = write_vectored(&mut conn, budget);
            assert_eq!(written.len(), total);
            assert_eq!(conn.output_len(), 0);
            if role == Role::Server {
                // No masking: the bytes are identical.
                assert_eq!(written, &expected[..], "budget {budget}");
            } else {
                // Fresh keys per frame: compare what the frames say.
                let got: Vec<(OpCode, Bytes)> = decode_all(&written)
                    .into_iter()
                    .map(|f| (f.header.opcode, f.payload))
                    .collect();
                let want: Vec<(OpCode, Bytes)> =
                    frames.iter().map(|f| (f.header.opcode, f.payload.clone())).collect();
                assert_eq!(got, want, "budget {budget}");
            }
        }
    }
}

#[test]
fn the_transport_is_closed_only_after_the_last_queued_byte_is_written() {
    let mut server = server();
    server.send(Message::binary(filled(10_000, 4))).unwrap();
    feed_ok(&mut server, &client_frame(true, OpCode::Close, &close_payload(1000, b"")));
    assert_eq!(server.state(), rfc6455::State::Closed);
    let total = server.output_len();
    let mut slots = [IoSlice::new(&[]); 4];
    server.output_slices(&mut slots);
    server.advance_output(total - 1);
    assert!(!server.should_close_transport(), "one byte of the echo is still queued");
    server.advance_output(1);
    assert!(server.should_close_transport());
}

#[test]
fn an_owed_pong_is_visible_through_output_len_and_slices() {
    let mut server = server();
    feed_ok(&mut server, &client_frame(true, OpCode::Ping, b"hi"));
    assert_eq!(server.output_len(), 4);
    assert_eq!(write_vectored(&mut server, usize::MAX), vec![0x8a, 0x02, b'h', b'i']);
    assert_eq!(server.output_len(), 0);
}

#[test]
fn a_message_that_would_overflow_the_write_buffer_is_handed_back_unqueued() {
    let mut server =
        Connection::new(Role::Server, Config { max_write_buffer: 1000, ..Config::default() });
    server.send(Message::binary(filled(900, 0))).unwrap();
    let queued = server.output_len();
    let big = Message::binary(filled(200, 1));
    assert_eq!(server.send(big.clone()), Err(rfc6455::SendError::WriteBufferFull(big)));
    assert_eq!(server.output_len(), queued, "nothing was queued");
    // Once the queue drains, the same message fits.
    let _ = server.take_output();
    server.send(Message::binary(filled(200, 1))).unwrap();
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(&frames[0].payload[..], &filled(200, 1)[..]);
}

#[test]
fn a_refused_fragment_changes_nothing_and_the_same_call_succeeds_later() {
    let mut client =
        Connection::new(Role::Client, Config { max_write_buffer: 100, ..Config::default() });
    // "é" split across two text fragments: the second one completes the code point.
    client.send_fragment(OpCode::Text, Bytes::from_static(b"caf\xc3"), false).unwrap();
    client.send(Message::Ping(Bytes::from(filled(70, 0)))).unwrap();
    let queued = client.output_len();
    let second = Bytes::from_static(b"\xa9 au lait");
    let refused = client.send_fragment(OpCode::Continuation, second.clone(), true);
    // Handed back as the fragment it is (not as a Binary message), and nothing was queued.
    assert_eq!(refused, Err(rfc6455::SendError::FragmentBufferFull(second.clone())));
    assert_eq!(client.output_len(), queued);
    // Once the queue drains, the same call is accepted: the UTF-8 check did not see the
    // bytes twice.
    let _ = client.take_output();
    client.send_fragment(OpCode::Continuation, second, true).unwrap();
    let frames = output_frames(&mut client);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Continuation);
    assert_eq!(&frames[0].payload[..], b"\xa9 au lait");
}
