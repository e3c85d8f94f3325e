//! §5.6 Data Frames and §8.1 Handling Errors in UTF-8-Encoded Data, as the connection applies
//! them to text messages: whole-message validity, code points split between fragments, and
//! failing fast.
//!
//! §5.6: "The "Payload data" is text data encoded as UTF-8. Note that a particular text frame
//! might include a partial UTF-8 sequence; however, the whole message MUST contain valid
//! UTF-8." §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
//! byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." §7.4.1: "1007 indicates that an endpoint is terminating the connection
//! because it has received data within a message that was not consistent with the type of
//! the message (e.g., non-UTF-8 [RFC3629] data within a text message)."

mod common;

use bytes::Bytes;
use common::*;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::{Message, ProtocolError, State};

/// "κόσμε" (Autobahn's favourite), a 3-byte and a 4-byte code point.
const TEXT: &str = "κόσμε€𝄞";

#[test]
fn a_code_point_split_between_two_fragments_is_accepted() {
    let bytes = TEXT.as_bytes();
    for cut in 0..=bytes.len() {
        let mut frames = client_frame(false, OpCode::Text, &bytes[..cut]);
        frames.extend(client_frame(true, OpCode::Continuation, &bytes[cut..]));
        let mut server = server();
        assert_eq!(feed_ok(&mut server, &frames), vec![Message::text(TEXT)], "cut at {cut}");
    }
}

#[test]
fn a_code_point_split_across_three_fragments_is_accepted() {
    // The 4-byte 𝄞 spread over three frames: F0 | 9D 84 | 9E.
    let clef = "𝄞".as_bytes();
    let mut frames = client_frame(false, OpCode::Text, &clef[..1]);
    frames.extend(client_frame(false, OpCode::Continuation, &clef[1..3]));
    frames.extend(client_frame(true, OpCode::Continuation, &clef[3..]));
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &frames), vec![Message::text("𝄞")]);
}

#[test]
fn valid_text_arriving_one_byte_at_a_time_is_accepted() {
    let mut server = server();
    let frame = client_frame(true, OpCode::Text, TEXT.as_bytes());
    let (last, rest) = frame.split_last().unwrap();
    for byte in rest {
        assert_eq!(feed_ok(&mut server, &[*byte]), vec![]);
    }
    assert_eq!(feed_ok(&mut server, &[*last]), vec![Message::text(TEXT)]);
}

#[test]
fn invalid_utf8_in_a_text_frame_fails_with_1007() {
    let cases: [&[u8]; 8] = [
        // A lone continuation byte.
        &[0x80],
        // Overlong encodings of '/'.
        &[0xC0, 0xAF],
        &[0xE0, 0x80, 0xAF],
        // A UTF-16 surrogate (U+D800), after valid text (Autobahn 6.3.1-like).
        &[
            0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80,
            0x65, 0x64, 0x69, 0x74, 0x65, 0x64,
        ],
        // Beyond U+10FFFF.
        &[0xF4, 0x90, 0x80, 0x80],
        // Bytes that never appear in UTF-8.
        &[b'a', 0xFE],
        &[0xFF],
        // A lead byte followed by ASCII.
        &[0xE2, 0x82, b'a'],
    ];
    for bad in cases {
        let mut server = server();
        assert_fails_with(
            &mut server,
            &client_frame(true, OpCode::Text, bad),
            ProtocolError::InvalidUtf8,
        );
    }
}

#[test]
fn invalid_utf8_in_a_middle_fragment_fails_with_1007() {
    let mut server = server();
    let mut frames = client_frame(false, OpCode::Text, b"good ");
    frames.extend(client_frame(false, OpCode::Continuation, &[0xED, 0xA0, 0x80]));
    frames.extend(client_frame(true, OpCode::Continuation, b" end"));
    assert_fails_with(&mut server, &frames, ProtocolError::InvalidUtf8);
}

#[test]
fn invalid_utf8_in_a_binary_message_is_just_data() {
    let mut server = server();
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Binary, &[0xFF, 0xC0])),
        vec![Message::binary(Bytes::from_static(&[0xFF, 0xC0]))]
    );
}

#[test]
fn fail_fast_a_large_text_frame_fails_on_its_first_invalid_bytes() {
    // The header declares 100 000 bytes; only the header and the first two (invalid) bytes
    // arrive. The connection must fail now, not after buffering the rest.
    let mut payload = vec![0xC0, 0xAF];
    payload.resize(100_000, b'a');
    let frame = client_frame(true, OpCode::Text, &payload);
    let header_len = 2 + 8 + 4;
    let mut server = server();
    assert_fails_with(&mut server, &frame[..header_len + 2], ProtocolError::InvalidUtf8);
    // The rest of the frame changes nothing.
    server.receive(&frame[header_len + 2..]);
    assert_eq!(server.next_event(), Err(ProtocolError::InvalidUtf8));
    assert_eq!(server.take_output().len(), 0, "one Close only");
}

#[test]
fn fail_fast_on_the_byte_that_makes_a_code_point_impossible() {
    // F4 alone may still become U+10xxxx; F4 90 cannot (it is beyond U+10FFFF).
    let mut payload = "κόσμε".as_bytes().to_vec();
    let before = payload.len();
    payload.extend([0xF4, 0x90, 0x80, 0x80]);
    payload.resize(10_000, b'a');
    let frame = client_frame(true, OpCode::Text, &payload);
    let header_len = 2 + 2 + 4;
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &frame[..header_len + before + 1]), vec![]);
    assert_eq!(server.state(), State::Open);
    assert_fails_with(
        &mut server,
        &frame[header_len + before + 1..header_len + before + 2],
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn fail_fast_in_the_middle_of_a_fragmented_message() {
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Text, "κόσ".as_bytes())), vec![]);
    // A second fragment declaring 50 000 bytes, of which only the first (invalid) arrive.
    let mut payload = vec![b'm', 0xFF];
    payload.resize(50_000, b'a');
    let frame = client_frame(false, OpCode::Continuation, &payload);
    let header_len = 2 + 2 + 4;
    assert_fails_with(&mut server, &frame[..header_len + 2], ProtocolError::InvalidUtf8);
}

#[test]
fn fail_fast_across_a_fragment_boundary() {
    // The first fragment ends with F4 (a valid prefix); the next fragment's first byte 90
    // makes it impossible. The failure comes with that byte, before the rest of the fragment.
    let mut server = server();
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Text, &[b'a', 0xF4])), vec![]);
    let mut payload = vec![0x90, 0x80, 0x80];
    payload.resize(1_000, b'a');
    let frame = client_frame(true, OpCode::Continuation, &payload);
    let header_len = 2 + 2 + 4;
    assert_fails_with(&mut server, &frame[..header_len + 1], ProtocolError::InvalidUtf8);
}

#[test]
fn a_control_frame_between_text_fragments_does_not_disturb_a_split_code_point() {
    // A Ping between fragments is not text and does not disturb the carried code point.
    let mut server = server();
    let euro = "€".as_bytes();
    let mut frames = client_frame(false, OpCode::Text, &euro[..1]);
    frames.extend(client_frame(true, OpCode::Ping, &[0xFF]));
    frames.extend(client_frame(true, OpCode::Continuation, &euro[1..]));
    assert_eq!(
        feed_ok(&mut server, &frames),
        vec![Message::Ping(Bytes::from_static(&[0xFF])), Message::text("€")]
    );
}

#[test]
fn a_text_frame_ending_inside_a_code_point_fails_with_1007() {
    let mut server = server();
    assert_fails_with(
        &mut server,
        &client_frame(true, OpCode::Text, &[b'a', 0xE2, 0x82]),
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn a_fragmented_text_message_ending_inside_a_code_point_fails_at_its_final_frame() {
    let mut server = server();
    // Every non-final fragment is fine: the code point may still be completed.
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Text, b"ok")), vec![]);
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Continuation, &[0xF0])), vec![]);
    assert_eq!(
        feed_ok(&mut server, &client_frame(false, OpCode::Continuation, &[0x9D, 0x84])),
        vec![]
    );
    assert_eq!(server.state(), State::Open);
    // The final fragment adds nothing: the message ends inside 𝄞.
    assert_fails_with(
        &mut server,
        &client_frame(true, OpCode::Continuation, b""),
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn each_text_message_is_validated_from_its_own_start() {
    // A message is judged alone: valid messages in a row, then one starting with a
    // continuation byte fails even though the previous message ended cleanly.
    let mut server = server();
    let mut frames = Vec::new();
    for _ in 0..3 {
        frames.extend(client_frame(true, OpCode::Text, TEXT.as_bytes()));
    }
    frames.extend(client_frame(true, OpCode::Text, &[0x9E]));
    server.receive(&frames);
    for _ in 0..3 {
        assert_eq!(server.next_event(), Ok(Some(Message::text(TEXT))));
    }
    assert_eq!(server.next_event(), Err(ProtocolError::InvalidUtf8));
    assert_eq!(only_close_code(&mut server), 1007);
}

#[test]
fn a_text_header_with_rsv_bits_is_refused_before_its_text_is_looked_at() {
    // Ordering: the §5.2 header rule (1002) is judged before the payload's UTF-8 (1007).
    let header = FrameHeader { rsv1: true, ..FrameHeader::new(true, OpCode::Text, Some(KEY), 1) };
    let mut server = server();
    assert_fails_with(
        &mut server,
        &raw(header, &[0xFF]),
        ProtocolError::ReservedBitsSet { rsv: 4 },
    );
}
