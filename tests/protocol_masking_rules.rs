//! §5.1 Overview / §5.3 Client-to-Server Masking, as the connection enforces and practises
//! them.
//!
//! §5.1: "a client MUST mask all frames that it sends to the server ... The server MUST close
//! the connection upon receiving a frame that is not masked. In this case, a server MAY send
//! a Close frame with a status code of 1002 (protocol error) ... A server MUST NOT mask any
//! frames that it sends to the client. A client MUST close a connection if it detects a
//! masked frame. In this case, it MAY use the status code 1002 (protocol error)".
//! §5.3: "The masking key is a 32-bit value chosen at random by the client. When preparing a
//! masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit
//! values."

mod common;

use std::collections::HashSet;

use bytes::Bytes;
use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Connection, Message, ProtocolError, State};

/// §5.7 "A single-frame unmasked text message".
const RFC_UNMASKED_HELLO: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// §5.7 "A single-frame masked text message".
const RFC_MASKED_HELLO: [u8; 11] =
    [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

#[test]
fn server_accepts_the_rfc_masked_text_frame() {
    let mut server = server();
    let messages = feed_ok(&mut server, &RFC_MASKED_HELLO);
    assert_eq!(messages, vec![Message::text("Hello")]);
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.take_output().len(), 0, "nothing to answer");
}

#[test]
fn client_accepts_the_rfc_unmasked_text_frame() {
    let mut client = client();
    let messages = feed_ok(&mut client, &RFC_UNMASKED_HELLO);
    assert_eq!(messages, vec![Message::text("Hello")]);
    assert_eq!(client.state(), State::Open);
}

#[test]
fn server_fails_the_connection_on_an_unmasked_frame_with_1002() {
    let mut server = server();
    let error = feed_err(&mut server, &RFC_UNMASKED_HELLO);
    assert_eq!(error, ProtocolError::UnmaskedFrameFromClient);
    assert_eq!(error.close_code(), CloseCode::PROTOCOL_ERROR);
    assert_eq!(server.state(), State::Failed);
    // The Close the server queues is itself unmasked (§5.1: a server MUST NOT mask).
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Close);
    assert_eq!(frames[0].header.masking_key, None);
    assert_eq!(closes(&frames)[0].0, Some(1002));
}

#[test]
fn server_refuses_an_unmasked_frame_on_its_header_alone() {
    // The 2-byte header of the unmasked frame is enough to judge it: the payload need not
    // arrive.
    let mut server = server();
    assert_fails_with(
        &mut server,
        &RFC_UNMASKED_HELLO[..2],
        ProtocolError::UnmaskedFrameFromClient,
    );
}

#[test]
fn server_refuses_unmasked_control_frames_too() {
    for opcode in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        let mut server = server();
        assert_fails_with(
            &mut server,
            &server_frame(true, opcode, b""),
            ProtocolError::UnmaskedFrameFromClient,
        );
    }
}

#[test]
fn server_delivers_masked_frames_before_an_unmasked_one_then_fails() {
    let mut server = server();
    let mut bytes = client_frame(true, OpCode::Binary, b"one");
    bytes.extend(client_frame(true, OpCode::Text, b"two"));
    bytes.extend(server_frame(true, OpCode::Text, b"three"));
    bytes.extend(client_frame(true, OpCode::Text, b"four"));
    server.receive(&bytes);
    assert_eq!(server.next_event(), Ok(Some(Message::binary(Bytes::from_static(b"one")))));
    assert_eq!(server.next_event(), Ok(Some(Message::text("two"))));
    assert_eq!(server.next_event(), Err(ProtocolError::UnmaskedFrameFromClient));
    // "four" is never delivered.
    assert_eq!(server.next_event(), Err(ProtocolError::UnmaskedFrameFromClient));
    assert_eq!(only_close_code(&mut server), 1002);
}

#[test]
fn client_fails_the_connection_on_a_masked_frame_with_1002() {
    let mut client = client();
    let error = feed_err(&mut client, &RFC_MASKED_HELLO);
    assert_eq!(error, ProtocolError::MaskedFrameFromServer);
    assert_eq!(client.state(), State::Failed);
    // The client's own Close is masked, as every client frame must be.
    let frames = output_frames(&mut client);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Close);
    assert!(frames[0].header.masking_key.is_some());
    assert_eq!(closes(&frames)[0].0, Some(1002));
}

#[test]
fn client_refuses_a_masked_frame_with_an_all_zero_key() {
    // A zero key leaves the payload unchanged, but the MASK bit is what §5.1 is about.
    let mut client = client();
    assert_fails_with(
        &mut client,
        &client_frame_with_key(true, OpCode::Text, [0; 4], b"Hello"),
        ProtocolError::MaskedFrameFromServer,
    );
}

/// Everything a connection can send: data, fragments, control frames, and a Close.
fn send_one_of_everything(conn: &mut Connection) -> Vec<(OpCode, Vec<u8>)> {
    let big = filled(1000, 7);
    conn.send(Message::text("hello")).unwrap();
    conn.send(Message::binary(big.clone())).unwrap();
    conn.send(Message::binary(Bytes::new())).unwrap();
    conn.send(Message::Ping(Bytes::from_static(b"ping"))).unwrap();
    conn.send(Message::Pong(Bytes::from_static(b"pong"))).unwrap();
    conn.send_fragment(OpCode::Text, Bytes::from_static(b"fra"), false).unwrap();
    conn.send_fragment(OpCode::Continuation, Bytes::from_static(b"g"), false).unwrap();
    conn.send_fragment(OpCode::Continuation, Bytes::from_static(b"ment"), true).unwrap();
    for i in 0..50u8 {
        conn.send(Message::binary(vec![i; i as usize])).unwrap();
    }
    conn.close(Some(CloseFrame::new(CloseCode::NORMAL, "bye"))).unwrap();
    let mut expected = vec![
        (OpCode::Text, b"hello".to_vec()),
        (OpCode::Binary, big),
        (OpCode::Binary, vec![]),
        (OpCode::Ping, b"ping".to_vec()),
        (OpCode::Pong, b"pong".to_vec()),
        (OpCode::Text, b"fra".to_vec()),
        (OpCode::Continuation, b"g".to_vec()),
        (OpCode::Continuation, b"ment".to_vec()),
    ];
    for i in 0..50u8 {
        expected.push((OpCode::Binary, vec![i; i as usize]));
    }
    expected.push((OpCode::Close, close_payload(1000, b"bye")));
    expected
}

#[test]
fn client_masks_every_frame_it_sends_with_a_fresh_key() {
    let mut client = client();
    let expected = send_one_of_everything(&mut client);
    let frames = output_frames(&mut client);
    let sent: Vec<(OpCode, Vec<u8>)> =
        frames.iter().map(|f| (f.header.opcode, f.payload.to_vec())).collect();
    assert_eq!(sent, expected, "payloads unmask to what was sent");
    let keys: Vec<[u8; 4]> = frames
        .iter()
        .map(|f| f.header.masking_key.expect("§5.1: every client frame is masked"))
        .collect();
    let distinct: HashSet<[u8; 4]> = keys.iter().copied().collect();
    // 58 random 32-bit keys collide with probability below 1e-6.
    assert_eq!(distinct.len(), keys.len(), "§5.3: a fresh key per frame");
}

#[test]
fn server_never_masks_a_frame_it_sends() {
    let mut server = server();
    let expected = send_one_of_everything(&mut server);
    let out = server.take_output();
    let frames = decode_all(&out);
    let sent: Vec<(OpCode, Vec<u8>)> =
        frames.iter().map(|f| (f.header.opcode, f.payload.to_vec())).collect();
    assert_eq!(sent, expected);
    for frame in &frames {
        assert_eq!(frame.header.masking_key, None, "§5.1: a server MUST NOT mask");
    }
    // And the first frame is byte for byte the unmasked form.
    assert_eq!(&out[..7], &[0x81, 0x05, b'h', b'e', b'l', b'l', b'o']);
}

#[test]
fn client_masks_its_automatic_replies() {
    // §5.7 "Unmasked Ping request and masked Ping response": the server's unmasked Ping is
    // answered with a masked Pong carrying the same body.
    let mut client = client();
    let messages = feed_ok(&mut client, &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(messages, vec![Message::Ping(Bytes::from_static(b"Hello"))]);
    let frames = output_frames(&mut client);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Pong);
    assert!(frames[0].header.masking_key.is_some());
    assert_eq!(&frames[0].payload[..], b"Hello");

    // The Close echo too.
    let messages =
        feed_ok(&mut client, &server_frame(true, OpCode::Close, &close_payload(1001, b"")));
    assert_eq!(messages, vec![Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "")))]);
    let frames = output_frames(&mut client);
    assert_eq!(frames.len(), 1);
    assert!(frames[0].header.masking_key.is_some());
    assert_eq!(closes(&frames)[0].0, Some(1001));
}

#[test]
fn rfc_masked_pong_example_is_what_a_client_with_that_key_would_send() {
    // §5.7: 0x8a 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58 is a Pong "Hello" masked
    // with 37 fa 21 3d; a server accepts it as such.
    let rfc_pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(client_frame_with_key(true, OpCode::Pong, KEY, b"Hello"), rfc_pong);
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &rfc_pong), vec![Message::Pong(Bytes::from_static(b"Hello"))]);
    assert_eq!(server.take_output().len(), 0, "a Pong is not answered");
}
