//! RFC 7692 §7.2.3's own examples, byte for byte, through a `Connection` with
//! permessage-deflate, in both directions: a client receiving the server frames the RFC
//! shows, and a server (or a client, once unmasked) sending them.

mod common;

use common::*;
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::frame::OpCode;
use rfc6455::{Config, Connection, Message, ProtocolError, Role};

/// Compress every message, however short (the RFC's examples are all "Hello"), at zlib's
/// default level 6, which is what wrote the RFC's bytes (level 1, our default, writes the
/// second "Hello" as `02 13 00 00`: a shorter, equally valid encoding of the same match).
fn every_message() -> DeflateConfig {
    DeflateConfig { min_compress_len: 0, level: 6, ..DeflateConfig::default() }
}

fn with_deflate(role: Role, params: DeflateParams) -> Connection {
    let mut conn = Connection::new(role, Config::default());
    conn.use_permessage_deflate(params, &every_message());
    conn
}

fn text(s: &str) -> Message {
    Message::text(s.to_owned())
}

#[test]
fn hello_in_one_compressed_block() {
    // §7.2.3.1: "0xc1 0x07 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00"; and fragmented, RSV1 on the
    // first frame only: "0x41 0x03 0xf2 0x48 0xcd" "0x80 0x04 0xc9 0xc9 0x07 0x00".
    let mut client = with_deflate(Role::Client, DeflateParams::default());
    let one = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(feed_ok(&mut client, &one), [text("Hello")]);
    let no_takeover = DeflateParams { server_no_context_takeover: true, ..Default::default() };
    let mut client = with_deflate(Role::Client, no_takeover);
    let fragmented = [0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(feed_ok(&mut client, &fragmented), [text("Hello")]);
    assert_eq!(feed_ok(&mut client, &one), [text("Hello")], "a fresh window each message");
}

#[test]
fn the_second_hello_refers_to_the_first() {
    // §7.2.3.2: with context takeover the second "Hello" is "0xc1 0x05 0xf2 0x00 0x11 0x00
    // 0x00", a back-reference into the first message.
    let mut client = with_deflate(Role::Client, DeflateParams::default());
    let first = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
    assert_eq!(feed_ok(&mut client, &first), [text("Hello")]);
    assert_eq!(feed_ok(&mut client, &second), [text("Hello")]);
}

#[test]
fn a_stored_block_an_final_block_and_two_blocks() {
    // §7.2.3.3: "0xc1 0x0b 0x00 0x05 0x00 0xfa 0xff 0x48 0x65 0x6c 0x6c 0x6f 0x00".
    // §7.2.3.4: BFINAL set: "0xc1 0x08 0xf3 0x48 0xcd 0xc9 0xc9 0x07 0x00 0x00".
    // §7.2.3.5: two blocks: "0xc1 0x0d 0xf2 0x48 0x05 0x00 0x00 0x00 0xff 0xff 0xca 0xc9
    // 0xc9 0x07 0x00".
    let examples: [&[u8]; 3] = [
        &[0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00],
        &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        &[0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00],
    ];
    for example in examples {
        let mut client = with_deflate(Role::Client, DeflateParams::default());
        assert_eq!(feed_ok(&mut client, example), [text("Hello")], "{example:02x?}");
        // And the window goes on after each: the §7.2.3.2 back-reference still inflates.
        let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
        assert_eq!(feed_ok(&mut client, &second), [text("Hello")], "after {example:02x?}");
    }
}

#[test]
fn a_server_sends_the_rfc_bytes() {
    let mut server = with_deflate(Role::Server, DeflateParams::default());
    server.send(text("Hello")).unwrap();
    server.send(text("Hello")).unwrap();
    assert_eq!(
        &server.take_output()[..],
        [
            0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00, 0x11,
            0x00, 0x00
        ]
    );
    // Without context takeover, every "Hello" is the first one.
    let no_takeover = DeflateParams { server_no_context_takeover: true, ..Default::default() };
    let mut server = with_deflate(Role::Server, no_takeover);
    server.send(text("Hello")).unwrap();
    server.send(text("Hello")).unwrap();
    let one = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(&server.take_output()[..], [one, one].concat());
}

#[test]
fn a_client_sends_the_rfc_bytes_masked() {
    let mut client = with_deflate(Role::Client, DeflateParams::default());
    client.send(text("Hello")).unwrap();
    client.send(text("Hello")).unwrap();
    let frames = output_frames(&mut client);
    assert_eq!(frames.len(), 2);
    for frame in &frames {
        assert!(frame.header.rsv1 && frame.header.fin && frame.header.is_masked());
        assert_eq!(frame.header.opcode, OpCode::Text);
    }
    assert_eq!(&frames[0].payload[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(&frames[1].payload[..], [0xf2, 0x00, 0x11, 0x00, 0x00]);
}

#[test]
fn rsv1_where_it_must_not_be() {
    // RFC 7692 §6: never on a control frame, never on a fragment after the first.
    let mut client = with_deflate(Role::Client, DeflateParams::default());
    let ping = [0xc9, 0x00];
    assert_eq!(feed_err(&mut client, &ping), ProtocolError::CompressedBitMisplaced { opcode: 0x9 });
    let mut client = with_deflate(Role::Client, DeflateParams::default());
    let second_fragment_compressed =
        [0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(
        feed_err(&mut client, &second_fragment_compressed),
        ProtocolError::CompressedBitMisplaced { opcode: 0x0 }
    );
    assert_eq!(only_close_code(&mut client), 1002);
    // Without the extension RSV1 is a reserved bit (RFC 6455 §5.2).
    let mut plain = client_conn();
    assert_eq!(
        feed_err(&mut plain, &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        ProtocolError::ReservedBitsSet { rsv: 0b100 }
    );
}

#[test]
fn data_that_does_not_inflate_fails_with_1007() {
    let mut client = with_deflate(Role::Client, DeflateParams::default());
    // BTYPE 11 is reserved in DEFLATE (RFC 1951 §3.2.3): not a stream at all.
    assert_eq!(feed_err(&mut client, &[0xc1, 0x01, 0xff]), ProtocolError::InvalidCompressedData);
    assert_eq!(only_close_code(&mut client), 1007);
}

fn client_conn() -> Connection {
    Connection::new(Role::Client, Config::default())
}
