//! Large binary messages handed out in parts as they arrive (`Config::binary_parts_from`),
//! and parts sent as the fragments of one message (§5.4).
//!
//! §5.4: "The primary purpose of fragmentation is to allow sending a message that is of
//! unknown size when the message is started without having to buffer that message." Parts
//! are the receiving side of the same idea: a proxy or an echo passes a message on while it
//! still arrives. The rules do not change: every frame is judged by `check` before its
//! payload is read, the budgets count the bytes handed out, control frames may come between
//! fragments, and the parts of one message never interleave with another message.

mod common;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use rfc6455::frame::OpCode;
use rfc6455::{Config, Connection, Message, ProtocolError, Role, SendError};

const FROM: usize = 1024;

fn parts_server(from: usize) -> Connection {
    Connection::new(Role::Server, Config { binary_parts_from: Some(from), ..Config::default() })
}

/// Feed `wire` in pieces of `step` bytes; collect every event.
fn feed_in_steps(conn: &mut Connection, wire: &[u8], step: usize) -> Vec<Message> {
    let mut events = Vec::new();
    for piece in wire.chunks(step.max(1)) {
        events.extend(feed_ok(conn, piece));
    }
    events
}

/// Join parts into whole messages, as an application that buffers them would.
fn joined(events: Vec<Message>) -> Vec<Message> {
    let mut out = Vec::new();
    let mut pending: Option<Vec<u8>> = None;
    for event in events {
        match event {
            Message::BinaryPart { payload, last } => {
                let buf = pending.get_or_insert_with(Vec::new);
                buf.extend_from_slice(&payload);
                if last {
                    out.push(Message::Binary(Bytes::from(pending.take().unwrap_or_default())));
                }
            }
            other => out.push(other),
        }
    }
    assert!(pending.is_none(), "a message's parts ended without `last`");
    out
}

#[test]
fn a_large_frame_comes_in_parts_as_its_bytes_arrive() {
    let payload = filled(100_000, 7);
    let wire = client_frame(true, OpCode::Binary, &payload);
    let mut conn = parts_server(FROM);
    let events = feed_in_steps(&mut conn, &wire, 30_000);
    // One part per piece that brought payload bytes: the first piece also holds the header.
    assert_eq!(events.len(), 4);
    let mut seen = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let Message::BinaryPart { payload, last } = event else { panic!("{event:?}") };
        assert!(!payload.is_empty());
        assert_eq!(*last, i == events.len() - 1);
        seen.extend_from_slice(payload);
    }
    assert_eq!(seen, payload, "unmasked in order, across pieces cut inside the key cycle");
}

#[test]
fn parts_hold_at_least_the_threshold_but_the_one_that_ends_the_frame() {
    let payload = filled(10_000, 11);
    let wire = client_frame(true, OpCode::Binary, &payload);
    let mut conn = parts_server(FROM);
    // 100-byte reads: a part once 1024 bytes have gathered, then the rest at the end.
    let events = feed_in_steps(&mut conn, &wire, 100);
    let sizes: Vec<usize> = events.iter().map(|e| e.payload().len()).collect();
    let (last, whole) = sizes.split_last().expect("parts");
    assert!(whole.iter().all(|&n| (FROM..FROM + 100).contains(&n)), "{sizes:?}");
    assert!(*last <= FROM + 100, "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), payload.len());
}

#[test]
fn below_the_threshold_and_text_come_whole() {
    let mut conn = parts_server(FROM);
    let small = filled(FROM - 1, 1);
    let text = "é".repeat(FROM);
    let mut wire = client_frame(true, OpCode::Binary, &small);
    wire.extend(client_frame(true, OpCode::Text, text.as_bytes()));
    let events = feed_in_steps(&mut conn, &wire, 100);
    assert_eq!(events, vec![Message::binary(small), Message::text(text)]);
}

#[test]
fn a_fragmented_message_continues_in_parts_with_a_ping_between() {
    let first = filled(FROM, 2);
    let second = filled(5000, 3);
    let mut wire = client_frame(false, OpCode::Binary, &first);
    wire.extend(client_frame(true, OpCode::Ping, b"between"));
    wire.extend(client_frame(false, OpCode::Continuation, &[]));
    wire.extend(client_frame(true, OpCode::Continuation, &second));
    let mut conn = parts_server(FROM);
    let events = feed_in_steps(&mut conn, &wire, 777);
    assert!(matches!(events[0], Message::BinaryPart { last: false, .. }));
    assert!(events.contains(&Message::Ping(Bytes::from_static(b"between"))));
    assert!(matches!(events.last(), Some(Message::BinaryPart { last: true, .. })));
    let mut whole = first.clone();
    whole.extend_from_slice(&second);
    assert_eq!(
        joined(events),
        vec![Message::Ping(Bytes::from_static(b"between")), Message::binary(whole)]
    );
    // The Ping was answered as always.
    let replies = output_frames(&mut conn);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].header.opcode, OpCode::Pong);
}

#[test]
fn an_empty_final_fragment_still_ends_the_message() {
    let mut wire = client_frame(false, OpCode::Binary, &filled(FROM, 4));
    wire.extend(client_frame(true, OpCode::Continuation, &[]));
    let mut conn = parts_server(FROM);
    let events = feed_ok(&mut conn, &wire);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], Message::BinaryPart { payload: Bytes::new(), last: true });
}

#[test]
fn the_message_budget_counts_the_parts_already_handed_out() {
    // §5.4 allows any number of fragments; our budget is max_message_size (1009, §7.4.1).
    let config =
        Config { binary_parts_from: Some(FROM), max_message_size: 3000, ..Config::default() };
    let mut conn = Connection::new(Role::Server, config);
    let mut wire = client_frame(false, OpCode::Binary, &filled(2000, 5));
    assert_eq!(feed_ok(&mut conn, &wire).len(), 1);
    wire = client_frame(true, OpCode::Continuation, &filled(1001, 6));
    assert!(matches!(feed_err(&mut conn, &wire), ProtocolError::MessageTooLarge { .. }));
    assert_eq!(only_close_code(&mut conn), 1009);
}

#[test]
fn a_frame_over_the_frame_budget_is_refused_on_its_header() {
    let config =
        Config { binary_parts_from: Some(FROM), max_frame_size: 4096, ..Config::default() };
    let mut conn = Connection::new(Role::Server, config);
    let wire = client_frame(true, OpCode::Binary, &filled(4097, 8));
    // The header alone (and a few payload bytes) is enough: no part is handed out.
    assert!(matches!(feed_err(&mut conn, &wire[..20]), ProtocolError::FrameTooLarge { .. }));
}

#[test]
fn a_new_message_during_a_message_in_parts_fails_with_1002() {
    // §5.4: the fragments of one message "MUST NOT be interleaved" with another message.
    let mut wire = client_frame(false, OpCode::Binary, &filled(FROM, 9));
    wire.extend(client_frame(true, OpCode::Binary, &filled(FROM, 10)));
    let mut conn = parts_server(FROM);
    let err = feed_err(&mut conn, &wire);
    assert!(matches!(err, ProtocolError::ExpectedContinuation), "{err:?}");
    assert_eq!(only_close_code(&mut conn), 1002);
}

#[test]
fn parts_sent_are_the_fragments_of_one_binary_message() {
    let mut sender = client();
    for (payload, last) in [(&b"ab"[..], false), (b"", false), (b"cde", true)] {
        sender
            .send(Message::BinaryPart { payload: Bytes::copy_from_slice(payload), last })
            .expect("send part");
    }
    let frames = output_frames(&mut sender);
    let shape: Vec<(bool, OpCode)> =
        frames.iter().map(|f| (f.header.fin, f.header.opcode)).collect();
    assert_eq!(
        shape,
        vec![(false, OpCode::Binary), (false, OpCode::Continuation), (true, OpCode::Continuation)]
    );
    // A peer that takes messages whole gets the one message.
    let mut receiver = server();
    let wire: Vec<u8> = frames
        .iter()
        .flat_map(|f| {
            client_frame_with_key(f.header.fin, f.header.opcode, [1, 2, 3, 4], &f.payload)
        })
        .collect();
    assert_eq!(feed_ok(&mut receiver, &wire), vec![Message::binary(&b"abcde"[..])]);
}

#[test]
fn a_part_cannot_continue_a_text_message_nor_a_whole_message_cut_into_parts() {
    let mut conn = client();
    conn.send_fragment(OpCode::Text, Bytes::from_static(b"te"), false).expect("text fragment");
    let part = Message::BinaryPart { payload: Bytes::from_static(b"x"), last: true };
    assert_eq!(conn.send(part), Err(SendError::FragmentOutOfOrder));
    conn.send_fragment(OpCode::Continuation, Bytes::from_static(b"xt"), true).expect("end");
    conn.send(Message::BinaryPart { payload: Bytes::from_static(b"x"), last: false })
        .expect("open a message in parts");
    assert_eq!(conn.send(Message::binary(&b"whole"[..])), Err(SendError::FragmentOutOfOrder));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any messages, any fragmentation, any chunking: with parts on, the parts joined are
    /// exactly the messages a connection without parts hands out whole.
    #[test]
    fn parts_joined_equal_whole_messages(
        messages in prop::collection::vec(
            (0u8..3, 0usize..3000, prop::collection::vec(0usize..3000, 0..3)),
            1..8,
        ),
        step in 1usize..4000,
        from in 0usize..2500,
    ) {
        let mut wire = Vec::new();
        for (i, (kind, len, cuts)) in messages.iter().enumerate() {
            let payload = filled(*len, i as u8);
            match kind {
                0 => wire.extend(client_frame(true, OpCode::Ping, &payload[..(*len).min(125)])),
                1 => wire.extend(client_frame(true, OpCode::Text, "a".repeat(*len).as_bytes())),
                _ => {
                    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
                    bounds.sort_unstable();
                    bounds.insert(0, 0);
                    bounds.push(*len);
                    for (j, pair) in bounds.windows(2).enumerate() {
                        let fin = j + 2 == bounds.len();
                        let op = if j == 0 { OpCode::Binary } else { OpCode::Continuation };
                        wire.extend(client_frame(fin, op, &payload[pair[0]..pair[1]]));
                    }
                }
            }
        }
        let whole = feed_in_steps(&mut server(), &wire, step);
        let in_parts = feed_in_steps(&mut parts_server(from), &wire, step);
        prop_assert_eq!(joined(in_parts), whole);
    }
}
