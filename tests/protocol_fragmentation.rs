//! §5.4 Fragmentation: reassembly of received messages, control frames in the middle of a
//! fragmented message, fragment order, fragmented sending, and the fragment budgets.
//!
//! §5.4: "An unfragmented message consists of a single frame with the FIN bit set and an
//! opcode other than 0. A fragmented message consists of a single frame with the FIN bit clear
//! and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the
//! opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0."
//! "Control frames (see Section 5.5) MAY be injected in the middle of a fragmented message."
//! "The fragments of one message MUST NOT be interleaved between the fragments of another
//! message unless an extension has been negotiated that can interpret the interleaving."
//! "An endpoint MUST be capable of handling control frames in the middle of a fragmented
//! message."

mod common;

use bytes::Bytes;
use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, Config, Connection, Message, ProtocolError, Role, SendError, State};

/// The frames of one message split at `cuts` (as a client sends them).
fn fragments(opcode: OpCode, payload: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    let mut out = Vec::new();
    for (i, pair) in bounds.windows(2).enumerate() {
        let fin = i + 2 == bounds.len();
        let op = if i == 0 { opcode } else { OpCode::Continuation };
        out.extend(client_frame(fin, op, &payload[pair[0]..pair[1]]));
    }
    out
}

#[test]
fn rfc_example_fragmented_unmasked_text_message() {
    // §5.7: "0x01 0x03 0x48 0x65 0x6c (contains "Hel")", "0x80 0x02 0x6c 0x6f (contains "lo")".
    let mut client = client();
    assert_eq!(feed_ok(&mut client, &[0x01, 0x03, 0x48, 0x65, 0x6c]), vec![]);
    assert_eq!(feed_ok(&mut client, &[0x80, 0x02, 0x6c, 0x6f]), vec![Message::text("Hello")]);
}

#[test]
fn text_is_reassembled_from_many_fragments_of_every_size() {
    let text = "fragmented text: héllo wörld €𝄞 and then some";
    let bytes = text.as_bytes();
    // One-byte fragments (code points split between fragments), two-byte, and irregular.
    let one: Vec<usize> = (1..bytes.len()).collect();
    let two: Vec<usize> = (2..bytes.len()).step_by(2).collect();
    for cuts in [one, two, vec![3, 4, 20, 21, 22], vec![bytes.len() - 1]] {
        let mut server = server();
        assert_eq!(
            feed_ok(&mut server, &fragments(OpCode::Text, bytes, &cuts)),
            vec![Message::text(text)],
            "cuts {cuts:?}"
        );
    }
}

#[test]
fn binary_is_reassembled_including_empty_fragments() {
    let data = filled(300, 3);
    // Empty first fragment, empty fragments in the middle, empty final fragment.
    let cuts = [0, 0, 1, 1, 150, 150, 299, 300];
    let mut server = server();
    assert_eq!(
        feed_ok(&mut server, &fragments(OpCode::Binary, &data, &cuts)),
        vec![Message::binary(data)]
    );
}

#[test]
fn a_message_of_only_empty_fragments_is_an_empty_message() {
    for opcode in [OpCode::Text, OpCode::Binary] {
        let mut server = server();
        let expected =
            if opcode == OpCode::Text { Message::text("") } else { Message::binary(Bytes::new()) };
        assert_eq!(feed_ok(&mut server, &fragments(opcode, b"", &[0, 0, 0])), vec![expected]);
    }
}

#[test]
fn fragments_fed_one_at_a_time_deliver_only_at_the_final_one() {
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Binary, b"ab")), vec![]);
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Continuation, b"")), vec![]);
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Continuation, b"cd")), vec![]);
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Continuation, b"e")),
        vec![Message::binary(Bytes::from_static(b"abcde"))]
    );
    // The next message starts afresh.
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Binary, b"x")),
        vec![Message::binary(Bytes::from_static(b"x"))]
    );
}

#[test]
fn control_frames_in_the_middle_of_a_fragmented_message_are_answered_and_delivered() {
    let mut server = server();
    let mut bytes = client_frame(false, OpCode::Text, b"Hel");
    bytes.extend(client_frame(true, OpCode::Ping, b"p1"));
    bytes.extend(client_frame(false, OpCode::Continuation, b"l"));
    bytes.extend(client_frame(true, OpCode::Pong, b"unsolicited"));
    bytes.extend(client_frame(true, OpCode::Ping, b""));
    bytes.extend(client_frame(true, OpCode::Continuation, b"o"));
    server.receive(&bytes);

    assert_eq!(server.next_event(), Ok(Some(Message::Ping(Bytes::from_static(b"p1")))));
    // Answered at once, before the message is complete.
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Pong);
    assert_eq!(&frames[0].payload[..], b"p1");

    assert_eq!(server.next_event(), Ok(Some(Message::Pong(Bytes::from_static(b"unsolicited")))));
    assert_eq!(server.next_event(), Ok(Some(Message::Ping(Bytes::new()))));
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Pong);
    assert!(frames[0].payload.is_empty());

    // The message is undisturbed.
    assert_eq!(server.next_event(), Ok(Some(Message::text("Hello"))));
    assert_eq!(server.next_event(), Ok(None));
    assert_eq!(server.state(), State::Open);
}

#[test]
fn continuation_without_a_started_message_fails_with_1002() {
    for fin in [true, false] {
        let mut server = server();
        assert_fails_with(
            &mut server,
            &client_frame(fin, OpCode::Continuation, b"lo"),
            ProtocolError::UnexpectedContinuation,
        );
    }
}

#[test]
fn continuation_after_a_finished_message_fails_with_1002() {
    let mut server = server();
    let mut bytes = client_frame(false, OpCode::Text, b"Hel");
    bytes.extend(client_frame(true, OpCode::Continuation, b"lo"));
    bytes.extend(client_frame(true, OpCode::Continuation, b"!"));
    server.receive(&bytes);
    assert_eq!(server.next_event(), Ok(Some(Message::text("Hello"))));
    assert_eq!(server.next_event(), Err(ProtocolError::UnexpectedContinuation));
    assert_eq!(only_close_code(&mut server), 1002);
}

#[test]
fn a_new_data_frame_inside_a_fragmented_message_fails_with_1002() {
    for first in [OpCode::Text, OpCode::Binary] {
        for second in [OpCode::Text, OpCode::Binary] {
            for fin in [true, false] {
                let mut server = server();
                let mut bytes = client_frame(false, first, b"abc");
                bytes.extend(client_frame(true, OpCode::Ping, b""));
                bytes.extend(client_frame(fin, second, b"def"));
                server.receive(&bytes);
                assert_eq!(server.next_event(), Ok(Some(Message::Ping(Bytes::new()))));
                assert_eq!(server.next_event(), Err(ProtocolError::ExpectedContinuation));
                // Exactly one Close, with 1002 (whether the owed Pong goes out first is
                // not pinned down here).
                let frames = output_frames(&mut server);
                let codes: Vec<Option<u16>> = closes(&frames).into_iter().map(|c| c.0).collect();
                assert_eq!(codes, vec![Some(1002)]);
            }
        }
    }
}

#[test]
fn fragmented_sending_decodes_back_to_the_message() {
    for role in [Role::Server, Role::Client] {
        let mut sender = Connection::new(role, Config::default());
        sender.send_fragment(OpCode::Text, Bytes::from_static(b"Hel"), false).unwrap();
        sender.send(Message::Ping(Bytes::from_static(b"mid"))).unwrap();
        sender.send_fragment(OpCode::Continuation, Bytes::new(), false).unwrap();
        sender.send_fragment(OpCode::Continuation, Bytes::from_static(b"lo"), true).unwrap();
        let out = sender.take_output();
        let frames = decode_all(&out);
        let shape: Vec<(bool, OpCode, &[u8])> =
            frames.iter().map(|f| (f.header.fin, f.header.opcode, &f.payload[..])).collect();
        assert_eq!(
            shape,
            vec![
                (false, OpCode::Text, &b"Hel"[..]),
                (true, OpCode::Ping, &b"mid"[..]),
                (false, OpCode::Continuation, &b""[..]),
                (true, OpCode::Continuation, &b"lo"[..]),
            ]
        );
        // The peer reassembles it.
        let peer_role = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let mut peer = Connection::new(peer_role, Config::default());
        assert_eq!(
            feed_ok(&mut peer, &out),
            vec![Message::Ping(Bytes::from_static(b"mid")), Message::text("Hello")]
        );
    }
}

#[test]
fn fragmented_sending_may_split_a_code_point() {
    let mut server = server();
    let euro = "€".as_bytes();
    server.send_fragment(OpCode::Text, Bytes::copy_from_slice(&euro[..1]), false).unwrap();
    server.send_fragment(OpCode::Continuation, Bytes::copy_from_slice(&euro[1..2]), false).unwrap();
    server.send_fragment(OpCode::Continuation, Bytes::copy_from_slice(&euro[2..]), true).unwrap();
    let mut client = client();
    assert_eq!(feed_ok(&mut client, &server.take_output()), vec![Message::text("€")]);
}

#[test]
fn fragmented_sending_refuses_invalid_utf8() {
    let mut server = server();
    assert_eq!(
        server.send_fragment(OpCode::Text, Bytes::from_static(&[0xC0, 0x80]), false),
        Err(SendError::InvalidUtf8)
    );
    // A text message may not end inside a code point.
    server.send_fragment(OpCode::Text, Bytes::from_static(b"ok"), false).unwrap();
    assert_eq!(
        server.send_fragment(OpCode::Continuation, Bytes::from_static(&[0xE2, 0x82]), true),
        Err(SendError::InvalidUtf8)
    );
    // The refused fragment was not queued; the message can still be finished.
    server.send_fragment(OpCode::Continuation, Bytes::from_static(b"!"), true).unwrap();
    let mut client = client();
    assert_eq!(feed_ok(&mut client, &server.take_output()), vec![Message::text("ok!")]);
}

#[test]
fn send_fragment_out_of_order_is_refused_and_queues_nothing() {
    let mut server = server();
    assert_eq!(
        server.send_fragment(OpCode::Continuation, Bytes::from_static(b"x"), true),
        Err(SendError::FragmentOutOfOrder)
    );
    assert_eq!(server.output_len(), 0);

    server.send_fragment(OpCode::Binary, Bytes::from_static(b"a"), false).unwrap();
    let before = server.output_len();
    for opcode in [OpCode::Text, OpCode::Binary, OpCode::Ping, OpCode::Close] {
        assert_eq!(
            server.send_fragment(opcode, Bytes::from_static(b"x"), true),
            Err(SendError::FragmentOutOfOrder),
            "{opcode:?}"
        );
    }
    assert_eq!(server.send(Message::text("interleaved")), Err(SendError::FragmentOutOfOrder));
    assert_eq!(
        server.send(Message::binary(Bytes::from_static(b"interleaved"))),
        Err(SendError::FragmentOutOfOrder)
    );
    assert_eq!(server.output_len(), before, "nothing was queued");
    // Control frames may still be sent between fragments.
    server.send(Message::Ping(Bytes::new())).unwrap();
    server.send_fragment(OpCode::Continuation, Bytes::from_static(b"b"), true).unwrap();
    // After the final fragment a continuation is out of order again.
    assert_eq!(
        server.send_fragment(OpCode::Continuation, Bytes::from_static(b"x"), true),
        Err(SendError::FragmentOutOfOrder)
    );
    server.send(Message::text("next")).unwrap();
    let mut client = client();
    assert_eq!(
        feed_ok(&mut client, &server.take_output()),
        vec![
            Message::Ping(Bytes::new()),
            Message::binary(Bytes::from_static(b"ab")),
            Message::text("next"),
        ]
    );
}

fn with_max_fragments(max: usize) -> Connection {
    Connection::new(Role::Server, Config { max_fragments: max, ..Config::default() })
}

#[test]
fn a_message_of_exactly_max_fragments_is_accepted() {
    let mut server = with_max_fragments(4);
    assert_eq!(
        feed_ok(&mut server, &fragments(OpCode::Binary, b"abcd", &[1, 2, 3])),
        vec![Message::binary(Bytes::from_static(b"abcd"))]
    );
}

#[test]
fn one_fragment_over_max_fragments_fails_with_1009() {
    let mut server = with_max_fragments(4);
    assert_fails_with(
        &mut server,
        &fragments(OpCode::Binary, b"abcde", &[1, 2, 3, 4]),
        ProtocolError::TooManyFragments { max: 4 },
    );
}

#[test]
fn a_flood_of_one_byte_fragments_is_refused_at_the_fragment_limit() {
    let mut server = with_max_fragments(16);
    feed_ok(&mut server, &client_frame(false, OpCode::Binary, b"x"));
    for _ in 1..16 {
        assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Continuation, b"x")), vec![]);
    }
    // The 17th fragment is refused on its header, before its payload arrives.
    let next = client_frame(false, OpCode::Continuation, b"x");
    assert_fails_with(&mut server, &next[..6], ProtocolError::TooManyFragments { max: 16 });
    // The rest of the flood is ignored.
    server.receive(&next[6..]);
    for _ in 0..100 {
        server.receive(&client_frame(false, OpCode::Continuation, b"x"));
    }
    assert_eq!(server.next_event(), Err(ProtocolError::TooManyFragments { max: 16 }));
    assert_eq!(server.take_output().len(), 0, "no second Close");
}

#[test]
fn the_default_fragment_limit_refuses_a_flood_of_empty_fragments() {
    let limit = Config::default().max_fragments;
    let mut bytes = client_frame(false, OpCode::Text, b"");
    for _ in 1..limit {
        bytes.extend(client_frame(false, OpCode::Continuation, b""));
    }
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &bytes), vec![]);
    assert_fails_with(
        &mut server,
        &client_frame(true, OpCode::Continuation, b""),
        ProtocolError::TooManyFragments { max: limit },
    );
}

#[test]
fn max_message_size_counts_all_fragments_and_gives_1009() {
    let config = Config { max_message_size: 10, ..Config::default() };
    // Exactly 10 bytes in three fragments: accepted.
    let mut server = Connection::new(Role::Server, config);
    assert_eq!(
        feed_ok(&mut server, &fragments(OpCode::Binary, &[7; 10], &[4, 8])),
        vec![Message::binary(vec![7; 10])]
    );
    // 11 bytes: refused on the header of the fragment that would go over, before its payload.
    let mut server = Connection::new(Role::Server, config);
    let mut bytes = client_frame(false, OpCode::Binary, &[1; 4]);
    bytes.extend(client_frame(false, OpCode::Continuation, &[2; 4]));
    feed_ok(&mut server, &bytes);
    let over = client_frame(true, OpCode::Continuation, &[3; 3]);
    let error = feed_err(&mut server, &over[..6]);
    assert!(matches!(error, ProtocolError::MessageTooLarge { len: 11, max: 10 }), "{error:?}");
    assert_eq!(error.close_code(), CloseCode::TOO_BIG);
    assert_eq!(only_close_code(&mut server), 1009);
}
