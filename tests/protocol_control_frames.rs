//! §5.5 Control Frames (Ping §5.5.2, Pong §5.5.3), and the §5.2 header rules every received
//! frame is judged by before its payload is read (RSV bits, reserved opcodes, the length).
//!
//! §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be
//! fragmented." §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
//! response, unless it already received a Close frame." §5.5.3: "A Pong frame sent in
//! response to a Ping frame must have identical "Application data" as found in the message
//! body of the Ping frame being replied to." "A Pong frame MAY be sent unsolicited."

mod common;

use bytes::Bytes;
use common::*;
use rfc6455::frame::{FrameHeader, LengthForm, OpCode};
use rfc6455::{
    CloseCode, CloseFrame, Config, Connection, Message, ProtocolError, Role, SendError, State,
};

fn masked(fin: bool, opcode: OpCode, len: u64) -> FrameHeader {
    FrameHeader::new(fin, opcode, Some(KEY), len)
}

#[test]
fn a_ping_is_answered_with_a_pong_carrying_the_identical_payload() {
    // §5.7: a Ping "Hello", masked as a client sends it.
    let mut server = server();
    let ping = client_frame(true, OpCode::Ping, b"Hello");
    assert_eq!(feed_ok(&mut server, &ping), vec![Message::Ping(Bytes::from_static(b"Hello"))]);
    // The server's Pong, exactly as on the wire: unmasked, same body.
    assert_eq!(&server.take_output()[..], &[0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn an_empty_ping_gets_an_empty_pong() {
    let mut server = server();
    feed_ok(&mut server, &client_frame(true, OpCode::Ping, b""));
    assert_eq!(&server.take_output()[..], &[0x8a, 0x00]);
}

#[test]
fn a_ping_of_125_bytes_is_answered() {
    let payload = filled(125, 9);
    let mut server = server();
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Ping, &payload)),
        vec![Message::Ping(Bytes::from(payload.clone()))]
    );
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Pong);
    assert_eq!(&frames[0].payload[..], &payload[..]);
}

#[test]
fn a_control_frame_of_126_bytes_fails_with_1002() {
    for opcode in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        let mut server = server();
        let frame = client_frame(true, opcode, &filled(126, 1));
        // Judged on the header (2 + 2 length + 4 key bytes): the payload need not arrive.
        assert_fails_with(
            &mut server,
            &frame[..8],
            ProtocolError::ControlFrameTooLong { len: 126 },
        );
    }
}

#[test]
fn pings_are_answered_each_when_output_is_taken_between_them() {
    let mut server = server();
    for body in [&b"a"[..], b"bb", b"ccc"] {
        feed_ok(&mut server, &client_frame(true, OpCode::Ping, body));
        let frames = output_frames(&mut server);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].header.opcode, OpCode::Pong);
        assert_eq!(&frames[0].payload[..], body);
    }
}

#[test]
fn of_several_pings_at_least_the_most_recent_is_answered() {
    // §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in
    // response to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for
    // only the most recently processed Ping frame."
    let mut server = server();
    let mut bytes = client_frame(true, OpCode::Ping, b"first");
    bytes.extend(client_frame(true, OpCode::Ping, b"second"));
    assert_eq!(feed_ok(&mut server, &bytes).len(), 2);
    let frames = output_frames(&mut server);
    assert!(!frames.is_empty());
    let last = frames.last().unwrap();
    assert_eq!(last.header.opcode, OpCode::Pong);
    assert_eq!(&last.payload[..], b"second");
    for frame in &frames {
        assert_eq!(frame.header.opcode, OpCode::Pong);
    }
}

#[test]
fn every_ping_is_answered_in_order_while_the_write_budget_has_room() {
    let mut server = server();
    let mut bytes = Vec::new();
    for i in 0..10u8 {
        bytes.extend(client_frame(true, OpCode::Ping, &[b'p', b'0' + i]));
    }
    assert_eq!(feed_ok(&mut server, &bytes).len(), 10);
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 10);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.header.opcode, OpCode::Pong);
        assert_eq!(&frame.payload[..], &[b'p', b'0' + i as u8]);
    }
}

#[test]
fn when_the_write_budget_is_full_only_the_latest_ping_waits_for_its_pong() {
    // A peer that floods Pings and never reads: the queue stops at the budget; the Pong for
    // the most recent Ping goes out once there is room (§5.5.3 allows answering only it).
    let config = Config { max_write_buffer: 300, ..Config::default() };
    let mut server = Connection::new(Role::Server, config);
    for i in 0..100u8 {
        feed_ok(&mut server, &client_frame(true, OpCode::Ping, &[i; 100]));
        assert!(server.output_len() <= 300, "{} bytes queued", server.output_len());
    }
    let first = output_frames(&mut server);
    assert_eq!(first.len(), 2, "two 102-byte Pongs fit in 300 bytes");
    assert_eq!(&first[0].payload[..], &[0; 100]);
    // Now that the queue drained, the owed Pong (for Ping 99) is queued.
    let later = output_frames(&mut server);
    assert_eq!(later.len(), 1);
    assert_eq!(&later[0].payload[..], &[99; 100]);
}

#[test]
fn an_unsolicited_pong_is_delivered_and_not_answered() {
    let mut server = server();
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Pong, b"beat")),
        vec![Message::Pong(Bytes::from_static(b"beat"))]
    );
    assert_eq!(server.take_output().len(), 0);
}

#[test]
fn a_ping_received_before_a_close_is_answered_before_the_close_echo() {
    // §5.5.2: the Pong is owed "unless it already received a Close frame": this Ping came
    // first, so its Pong is owed, and it must precede our Close (nothing may follow a Close).
    let mut server = server();
    let mut bytes = client_frame(true, OpCode::Ping, b"before");
    bytes.extend(client_frame(true, OpCode::Close, &close_payload(1000, b"")));
    let messages = feed_ok(&mut server, &bytes);
    assert_eq!(
        messages,
        vec![
            Message::Ping(Bytes::from_static(b"before")),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
        ]
    );
    let frames = output_frames(&mut server);
    let shape: Vec<(OpCode, &[u8])> =
        frames.iter().map(|f| (f.header.opcode, &f.payload[..])).collect();
    assert_eq!(shape, vec![(OpCode::Pong, &b"before"[..]), (OpCode::Close, &[0x03, 0xE8][..])]);
}

#[test]
fn a_ping_received_before_the_application_closes_is_answered_before_its_close() {
    let mut server = server();
    feed_ok(&mut server, &client_frame(true, OpCode::Ping, b"before"));
    server.close(Some(CloseFrame::new(CloseCode::GOING_AWAY, ""))).unwrap();
    let frames = output_frames(&mut server);
    let opcodes: Vec<OpCode> = frames.iter().map(|f| f.header.opcode).collect();
    assert_eq!(opcodes, vec![OpCode::Pong, OpCode::Close]);
    assert_eq!(&frames[0].payload[..], b"before");
}

#[test]
fn a_fragmented_control_frame_fails_with_1002() {
    for opcode in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        let mut server = server();
        assert_fails_with(
            &mut server,
            &client_frame(false, opcode, b"x"),
            ProtocolError::FragmentedControlFrame,
        );
    }
    // Also in the middle of a fragmented message.
    let mut server = server();
    let mut bytes = client_frame(false, OpCode::Text, b"a");
    bytes.extend(client_frame(false, OpCode::Ping, b""));
    assert_fails_with(&mut server, &bytes, ProtocolError::FragmentedControlFrame);
}

#[test]
fn reserved_opcodes_fail_with_1002() {
    // §5.2: "%x3-7 are reserved for further non-control frames", "%xB-F are reserved for
    // further control frames". "If an unknown opcode is received, the receiving endpoint
    // MUST _Fail the WebSocket Connection_."
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        for role in [Role::Server, Role::Client] {
            let mut conn = Connection::new(role, Config::default());
            let frame = peer_frame(role, true, OpCode::Reserved(opcode), b"");
            assert_eq!(frame[0], 0x80 | opcode);
            assert_fails_with(&mut conn, &frame, ProtocolError::ReservedOpcode { opcode });
        }
    }
}

#[test]
fn reserved_opcodes_fail_even_in_the_middle_of_a_fragmented_message() {
    let mut server = server();
    let mut bytes = client_frame(false, OpCode::Binary, b"a");
    bytes.extend(client_frame(false, OpCode::Reserved(0x3), b"b"));
    assert_fails_with(&mut server, &bytes, ProtocolError::ReservedOpcode { opcode: 3 });
}

#[test]
fn rsv_bits_without_an_extension_fail_with_1002() {
    // §5.2: "If a nonzero value is received and none of the negotiated extensions defines the
    // meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket
    // Connection_."
    for rsv in 1u8..8 {
        for opcode in [OpCode::Text, OpCode::Binary, OpCode::Ping, OpCode::Close] {
            let header = FrameHeader {
                rsv1: rsv & 4 != 0,
                rsv2: rsv & 2 != 0,
                rsv3: rsv & 1 != 0,
                ..masked(true, opcode, 0)
            };
            let mut server = server();
            assert_fails_with(
                &mut server,
                &raw(header, b""),
                ProtocolError::ReservedBitsSet { rsv },
            );
        }
    }
}

#[test]
fn a_64_bit_length_with_the_top_bit_set_fails_with_1002() {
    // §5.2: "the most significant bit MUST be 0".
    let mut server = server();
    let bytes = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x10, KEY[0], KEY[1], KEY[2], KEY[3]];
    assert_fails_with(&mut server, &bytes, ProtocolError::LengthTopBitSet);
    let mut client = client();
    let bytes = [0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert_fails_with(&mut client, &bytes, ProtocolError::LengthTopBitSet);
}

#[test]
fn a_non_minimal_length_fails_with_1002() {
    // §5.2: "in all cases, the minimal number of bytes MUST be used to encode the length".
    // The RFC does not say what a receiver does with a sender that breaks this MUST; this
    // crate's choice (Config::reject_non_minimal_lengths, on by default) is to fail the
    // connection with 1002, so every frame has exactly one encoding.
    let cases = [
        // 5 encoded as 126, 0, 5.
        (LengthForm::Extended16, 5u64),
        (LengthForm::Extended16, 125),
        // 5 and 200 in the 64-bit form.
        (LengthForm::Extended64, 5),
        (LengthForm::Extended64, 200),
        (LengthForm::Extended64, 65_535),
    ];
    for (form, len) in cases {
        let header = FrameHeader { length_form: form, ..masked(true, OpCode::Binary, len) };
        let frame = raw(header, &filled(len as usize, 0));
        if (form, len) == (LengthForm::Extended16, 5) {
            assert_eq!(&frame[..4], &[0x82, 0xFE, 0x00, 0x05]);
        }
        let mut server = server();
        assert_fails_with(&mut server, &frame, ProtocolError::NonMinimalLength { len });

        // With the check switched off, the same bytes are a good frame.
        let mut lenient = Connection::new(
            Role::Server,
            Config { reject_non_minimal_lengths: false, ..Config::default() },
        );
        assert_eq!(feed_ok(&mut lenient, &frame), vec![Message::binary(filled(len as usize, 0))]);
    }
}

#[test]
fn a_non_minimal_length_on_a_control_frame_fails_with_1002() {
    let header =
        FrameHeader { length_form: LengthForm::Extended16, ..masked(true, OpCode::Ping, 4) };
    let mut server = server();
    assert_fails_with(
        &mut server,
        &raw(header, b"ping"),
        ProtocolError::NonMinimalLength { len: 4 },
    );
}

#[test]
fn sending_a_control_frame_over_125_bytes_is_a_send_error() {
    let mut server = server();
    for make in [Message::Ping, Message::Pong] {
        assert_eq!(
            server.send(make(Bytes::from(filled(126, 0)))),
            Err(SendError::ControlPayloadTooLong { len: 126 })
        );
        server.send(make(Bytes::from(filled(125, 0)))).unwrap();
    }
    // A Close reason may use 123 bytes (2 go to the code).
    assert_eq!(
        server.close(Some(CloseFrame::new(CloseCode::NORMAL, "r".repeat(124)))),
        Err(SendError::ControlPayloadTooLong { len: 126 })
    );
    assert_eq!(server.state(), State::Open, "a refused close sends nothing");
    server.close(Some(CloseFrame::new(CloseCode::NORMAL, "r".repeat(123)))).unwrap();
    let frames = output_frames(&mut server);
    let lens: Vec<(OpCode, usize)> =
        frames.iter().map(|f| (f.header.opcode, f.payload.len())).collect();
    assert_eq!(lens, vec![(OpCode::Ping, 125), (OpCode::Pong, 125), (OpCode::Close, 125)]);
}

#[test]
fn a_ping_received_after_our_close_but_before_the_peers_is_still_answered() {
    // §5.5.2 excuses a Pong only when the endpoint "already received a Close frame"; having
    // *sent* one is not an excuse, and §5.5.1 forbids only *data* frames after our Close
    // ("the endpoint MUST NOT send any more data frames after sending a Close frame"), so the
    // Pong may, and therefore must, follow our Close.
    let mut server = server();
    server.close(Some(CloseFrame::new(CloseCode::NORMAL, ""))).unwrap();
    let _ = server.take_output();
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Ping, b"still there?")),
        vec![Message::Ping(Bytes::from_static(b"still there?"))]
    );
    let frames = output_frames(&mut server);
    let shape: Vec<(OpCode, &[u8])> =
        frames.iter().map(|f| (f.header.opcode, &f.payload[..])).collect();
    assert_eq!(shape, vec![(OpCode::Pong, &b"still there?"[..])]);
}
