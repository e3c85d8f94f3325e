//! §7 Closing the Connection (and the Close frame of §5.5.1): the close handshake from both
//! sides, status codes (§7.4), _Fail the WebSocket Connection_ (§7.1.7) and the abnormal
//! closure 1006 (§7.1.5).
//!
//! §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close frame,
//! the endpoint MUST send a Close frame in response. (When sending a Close frame in response,
//! the endpoint typically echos the status code it received.)" "After sending a Close frame,
//! the application MUST NOT send any more data frames." "After both sending and receiving a
//! Close message, an endpoint considers the WebSocket connection closed and MUST close the
//! underlying TCP connection."

mod common;

use bytes::Bytes;
use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Connection, Message, ProtocolError, SendError, State};

fn close_from_client(code: u16, reason: &[u8]) -> Vec<u8> {
    client_frame(true, OpCode::Close, &close_payload(code, reason))
}

#[test]
fn receiving_a_close_yields_it_and_queues_an_echo_with_the_same_code() {
    let mut server = server();
    let messages = feed_ok(&mut server, &close_from_client(1000, b"bye"));
    assert_eq!(messages, vec![Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))]);
    assert_eq!(server.state(), State::Closed);
    assert_eq!(server.close_code(), Some(CloseCode::NORMAL));
    // The echo must be written before the transport is closed.
    assert!(!server.should_close_transport());
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header.opcode, OpCode::Close);
    assert_eq!(closes(&frames)[0].0, Some(1000));
    assert!(server.should_close_transport());
    // The handshake is complete: the end of the stream is clean.
    server.receive_eof();
    assert_eq!(server.state(), State::Closed, "the end of stream after the handshake is clean");
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn a_client_also_echoes_and_then_may_close_its_transport() {
    let mut client = client();
    let messages =
        feed_ok(&mut client, &server_frame(true, OpCode::Close, &close_payload(1001, b"restart")));
    assert_eq!(
        messages,
        vec![Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "restart")))]
    );
    assert_eq!(only_close_code(&mut client), 1001);
    assert_eq!(client.state(), State::Closed);
    assert!(client.should_close_transport());
}

#[test]
fn closing_first_then_receiving_the_peers_close_completes_the_handshake() {
    let mut server = server();
    server.close(Some(CloseFrame::new(CloseCode::NORMAL, "done"))).unwrap();
    assert_eq!(server.state(), State::CloseSent);
    let frames = output_frames(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(closes(&frames), vec![(Some(1000), Bytes::from_static(b"done"))]);
    assert!(!server.should_close_transport(), "waiting for the peer's Close");

    // Messages the peer sent before its Close are still delivered.
    let mut bytes = client_frame(true, OpCode::Text, b"late");
    bytes.extend(close_from_client(1000, b""));
    assert_eq!(
        feed_ok(&mut server, &bytes),
        vec![Message::text("late"), Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
    );
    assert_eq!(server.state(), State::Closed);
    assert_eq!(server.take_output().len(), 0, "no second Close");
    assert!(server.should_close_transport());
    server.receive_eof();
    assert_eq!(server.state(), State::Closed, "the end of stream after the handshake is clean");
}

#[test]
fn close_is_idempotent() {
    let mut client = client();
    client.close(None).unwrap();
    client.close(Some(CloseFrame::new(CloseCode::GOING_AWAY, ""))).unwrap();
    client.send(Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))).unwrap();
    let frames = output_frames(&mut client);
    assert_eq!(closes(&frames), vec![(None, Bytes::new())]);
    assert_eq!(frames.len(), 1);
}

#[test]
fn every_sendable_close_code_is_accepted_and_echoed() {
    let valid = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
    ];
    for code in valid {
        let mut server = server();
        assert_eq!(
            feed_ok(&mut server, &close_from_client(code, b"")),
            vec![Message::Close(Some(CloseFrame::new(CloseCode(code), "")))],
            "{code}"
        );
        assert_eq!(server.close_code(), Some(CloseCode(code)));
        assert_eq!(server.state(), State::Closed);
        assert_eq!(only_close_code(&mut server), code);
    }
}

#[test]
fn a_close_code_that_may_not_be_sent_fails_with_1002() {
    // §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control frame
    // by an endpoint"; 1004 is reserved; §7.4.2: 0-999 "are not used", 1016-2999 are reserved
    // for this protocol and its extensions, and nothing above 4999 is defined.
    let invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
    for code in invalid {
        let mut server = server();
        assert_fails_with(
            &mut server,
            &close_from_client(code, b"reason"),
            ProtocolError::InvalidCloseCode { code },
        );
        assert_eq!(server.close_code(), None, "no Close was accepted");
    }
}

#[test]
fn a_one_byte_close_payload_fails_with_1002() {
    let mut server = server();
    assert_fails_with(
        &mut server,
        &client_frame(true, OpCode::Close, &[0x03]),
        ProtocolError::CloseFrameTooShort,
    );
}

#[test]
fn a_close_reason_that_is_not_utf8_fails_with_1007() {
    // §5.5.1: the reason's "data ... MUST be UTF-8-encoded".
    for reason in [&[0xFF][..], &[b'o', b'k', 0xC0, 0xAF], &[0xE2, 0x82]] {
        let mut server = server();
        assert_fails_with(
            &mut server,
            &close_from_client(1000, reason),
            ProtocolError::InvalidCloseReason,
        );
    }
}

#[test]
fn an_empty_close_has_code_1005_and_is_echoed_empty() {
    // §7.1.5: "If this Close control frame contains no status code, _The WebSocket
    // Connection Close Code_ is considered to be 1005."
    let mut server = server();
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Close, b"")),
        vec![Message::Close(None)]
    );
    assert_eq!(server.close_code(), Some(CloseCode::NO_STATUS));
    assert_eq!(server.state(), State::Closed);
    // 1005 must not go on the wire: the echo has no body at all.
    assert_eq!(&server.take_output()[..], &[0x88, 0x00]);
}

#[test]
fn sending_after_our_close_is_refused() {
    let mut server = server();
    server.close(None).unwrap();
    let _ = server.take_output();
    assert_eq!(server.send(Message::text("too late")), Err(SendError::AfterClose));
    assert_eq!(server.send(Message::binary(Bytes::from_static(b"x"))), Err(SendError::AfterClose));
    assert_eq!(
        server.send_fragment(OpCode::Binary, Bytes::from_static(b"x"), true),
        Err(SendError::AfterClose)
    );
    assert_eq!(server.send(Message::Ping(Bytes::new())), Err(SendError::AfterClose));
    assert_eq!(server.take_output().len(), 0);
}

#[test]
fn sending_after_the_peers_close_is_refused() {
    let mut server = server();
    feed_ok(&mut server, &close_from_client(1000, b""));
    let _ = server.take_output();
    assert_eq!(server.send(Message::text("too late")), Err(SendError::AfterClose));
    assert_eq!(server.take_output().len(), 0);
}

#[test]
fn closing_with_a_code_that_may_not_be_sent_is_refused() {
    let mut server = server();
    for code in [0, 999, 1004, 1005, 1006, 1015, 2000, 5000] {
        assert_eq!(
            server.close(Some(CloseFrame::new(CloseCode(code), ""))),
            Err(SendError::InvalidCloseCode { code })
        );
    }
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.take_output().len(), 0);
}

#[test]
fn no_frame_after_a_received_close_is_processed() {
    let mut server = server();
    let mut bytes = close_from_client(1000, b"");
    bytes.extend(client_frame(true, OpCode::Text, b"after"));
    bytes.extend(client_frame(true, OpCode::Ping, b"after"));
    // Even a frame that would fail the connection is not looked at.
    bytes.extend(server_frame(true, OpCode::Text, b"unmasked"));
    server.receive(&bytes);
    assert_eq!(
        server.next_event(),
        Ok(Some(Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))))
    );
    assert_eq!(server.next_event(), Ok(None));
    // More bytes later change nothing either.
    server.receive(&client_frame(true, OpCode::Ping, b"later"));
    server.receive(&[0xFF; 32]);
    assert_eq!(server.next_event(), Ok(None));
    assert_eq!(server.state(), State::Closed);
    // Only the echo: no Pong, no failure Close.
    assert_eq!(only_close_code(&mut server), 1000);
}

#[test]
fn a_close_in_the_middle_of_a_fragmented_message_discards_the_fragments() {
    let mut server = server();
    let mut bytes = client_frame(false, OpCode::Text, b"unfin");
    bytes.extend(close_from_client(1001, b""));
    bytes.extend(client_frame(true, OpCode::Continuation, b"ished"));
    assert_eq!(
        feed_ok(&mut server, &bytes),
        vec![Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "")))]
    );
    assert_eq!(only_close_code(&mut server), 1001);
}

#[test]
fn end_of_stream_before_any_close_is_an_abnormal_closure_1006() {
    // §7.1.5: "If _The WebSocket Connection is Closed_ and no Close control frame was
    // received by the endpoint ..., _The WebSocket Connection Close Code_ is considered to
    // be 1006."
    let mut server = server();
    feed_ok(&mut server, &client_frame(false, OpCode::Text, b"half"));
    assert_eq!(server.close_code(), None);
    server.receive_eof();
    assert_eq!(server.state(), State::Aborted);
    assert_eq!(server.close_code(), Some(CloseCode::ABNORMAL));
    assert_eq!(server.next_event(), Ok(None));
    assert!(server.should_close_transport());
    assert_eq!(server.take_output().len(), 0, "1006 never goes on the wire");
    // Asking again does not change the verdict.
    server.receive_eof();
    assert_eq!(server.close_code(), Some(CloseCode::ABNORMAL));
}

#[test]
fn end_of_stream_while_waiting_for_the_peers_close_is_abnormal_too() {
    let mut client = client();
    client.close(None).unwrap();
    client.receive_eof();
    assert_eq!(client.state(), State::Aborted);
    assert_eq!(client.close_code(), Some(CloseCode::ABNORMAL));
}

#[test]
fn end_of_stream_after_the_close_handshake_is_clean() {
    let mut client = client();
    client.close(None).unwrap();
    feed_ok(&mut client, &server_frame(true, OpCode::Close, &close_payload(1000, b"")));
    client.receive_eof();
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.close_code(), Some(CloseCode::NORMAL));
}

#[test]
fn a_failed_connection_repeats_its_error_and_queues_exactly_one_close() {
    let mut server = server();
    let mut bytes = client_frame(true, OpCode::Reserved(0x5), b"");
    bytes.extend(client_frame(true, OpCode::Ping, b"after"));
    let expected = ProtocolError::ReservedOpcode { opcode: 5 };
    assert_eq!(feed_err(&mut server, &bytes), expected);
    assert_eq!(server.state(), State::Failed);
    assert!(!server.should_close_transport(), "the Close is not written yet");
    for _ in 0..3 {
        assert_eq!(server.next_event(), Err(expected.clone()));
    }
    server.receive(&client_frame(true, OpCode::Text, b"more"));
    server.receive(&close_from_client(1000, b""));
    assert_eq!(server.next_event(), Err(expected.clone()));
    assert_eq!(server.failure(), Some(&expected));
    // Exactly one Close, carrying the error's code; nothing else (no Pong, no echo).
    assert_eq!(only_close_code(&mut server), 1002);
    assert!(server.should_close_transport());
    // The application cannot send, and closing again adds nothing.
    assert_eq!(server.send(Message::text("x")), Err(SendError::AfterClose));
    server.close(None).unwrap();
    assert_eq!(server.take_output().len(), 0);
    server.receive_eof();
    assert_eq!(server.state(), State::Failed, "after a failure the end of stream is expected");
}

#[test]
fn a_failure_after_our_close_queues_no_second_close() {
    let mut server = server();
    server.close(Some(CloseFrame::new(CloseCode::NORMAL, ""))).unwrap();
    let _ = server.take_output();
    let error = feed_err(&mut server, &client_frame(true, OpCode::Text, &[0xFF]));
    assert_eq!(error, ProtocolError::InvalidUtf8);
    assert_eq!(server.state(), State::Failed);
    assert_eq!(server.take_output().len(), 0);
}

#[test]
fn failure_codes_follow_section_7_4_1() {
    // 1002 protocol error, 1007 inconsistent data, 1009 too big: one of each, on the wire.
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (client_frame(true, OpCode::Continuation, b""), 1002),
        (client_frame(true, OpCode::Text, &[0xC3, 0x28]), 1007),
        (client_frame(true, OpCode::Binary, &vec![0; 2048]), 1009),
    ];
    for (bytes, code) in cases {
        let mut server = Connection::new(
            rfc6455::Role::Server,
            rfc6455::Config { max_frame_size: 1024, ..rfc6455::Config::default() },
        );
        let error = feed_err(&mut server, &bytes);
        assert_eq!(error.close_code(), CloseCode(code));
        assert_eq!(only_close_code(&mut server), code);
    }
}

#[test]
fn a_close_that_arrived_before_the_end_of_stream_still_completes_the_handshake() {
    // §7.1.1: the server closes TCP right after its Close, so a client often gets the Close
    // and the end of stream from the same poll. The Close was received (its bytes are in the
    // read buffer); reporting the end of stream before draining must not turn the clean
    // closure (1000) into an abnormal one (1006), nor lose the messages before it.
    let mut client = client();
    let mut bytes = server_frame(true, OpCode::Text, b"last words");
    bytes.extend(server_frame(true, OpCode::Close, &close_payload(1000, b"")));
    client.receive(&bytes);
    client.receive_eof();
    assert_eq!(
        drain(&mut client),
        Ok(vec![
            Message::text("last words"),
            Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        ])
    );
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.close_code(), Some(CloseCode::NORMAL));
}
