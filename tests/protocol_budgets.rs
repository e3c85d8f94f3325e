//! Budgets (§10.4 "implementations will likely want to impose implementation-specific limits
//! on frame size and total message size after reassembly from multiple frames"; §7.4.1:
//! "1009 indicates that an endpoint is terminating the connection because it has received a
//! message that is too big for it to process").
//!
//! A budget is judged on the frame header, before a byte of the offending payload is
//! buffered, and the connection never reserves memory for the length a header merely
//! declares.

mod common;

use common::*;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::{CloseCode, Config, Connection, Message, ProtocolError, Role, State};

const GIB: u64 = 1 << 30;

/// The header of a masked frame declaring `len` bytes (its payload is not included).
fn header_only(fin: bool, opcode: OpCode, len: u64) -> Vec<u8> {
    raw(FrameHeader::new(fin, opcode, Some(KEY), len), b"")
}

fn server_with(config: Config) -> Connection {
    Connection::new(Role::Server, config)
}

#[test]
fn a_header_declaring_one_gib_fails_with_1009_on_the_header_alone() {
    let mut server = server();
    let header = header_only(true, OpCode::Binary, GIB);
    assert_eq!(header.len(), 14);
    let error = feed_err(&mut server, &header);
    assert_eq!(
        error,
        ProtocolError::FrameTooLarge { len: GIB, max: Config::default().max_frame_size }
    );
    assert_eq!(error.close_code(), CloseCode::TOO_BIG);
    assert_eq!(only_close_code(&mut server), 1009);
    // Only the 14 header bytes were ever buffered.
    assert!(server.read_buf().capacity() < 4096);
}

#[test]
fn the_frame_budget_does_not_wait_for_payload_bytes() {
    // The header and a little of the payload arrive together: the verdict is the same, and
    // the payload bytes are dropped with the connection.
    let mut server = server_with(Config { max_frame_size: 1000, ..Config::default() });
    let mut bytes = header_only(true, OpCode::Text, 1001);
    bytes.extend([b'a'; 100]);
    assert_fails_with(&mut server, &bytes, ProtocolError::FrameTooLarge { len: 1001, max: 1000 });
    assert_eq!(server.read_buf().len(), 0);
}

#[test]
fn a_frame_of_exactly_max_frame_size_is_accepted() {
    let mut server = server_with(Config { max_frame_size: 1000, ..Config::default() });
    let payload = filled(1000, 5);
    assert_eq!(
        feed_ok(&mut server, &client_frame(true, OpCode::Binary, &payload)),
        vec![Message::binary(payload)]
    );
}

#[test]
fn a_declared_length_within_budget_is_not_reserved() {
    // A 1 GiB frame is allowed here, but only the bytes that actually arrived are held.
    let mut server = server_with(Config {
        max_frame_size: 2 * GIB as usize,
        max_message_size: 2 * GIB as usize,
        ..Config::default()
    });
    let mut bytes = header_only(true, OpCode::Binary, GIB);
    bytes.extend([0u8; 1000]);
    assert_eq!(feed_ok(&mut server, &bytes), vec![]);
    assert_eq!(server.state(), State::Open);
    assert_eq!(server.read_buf().len(), 1000);
    assert!(server.read_buf().capacity() < 64 * 1024, "capacity {}", server.read_buf().capacity());
    assert_eq!(server.bytes_wanted(), GIB as usize - 1000);
}

#[test]
fn a_single_frame_over_max_message_size_fails_with_1009() {
    let mut server = server_with(Config { max_message_size: 100, ..Config::default() });
    let error = feed_err(&mut server, &header_only(true, OpCode::Binary, 101));
    assert_eq!(error, ProtocolError::MessageTooLarge { len: 101, max: 100 });
    assert_eq!(only_close_code(&mut server), 1009);
}

#[test]
fn max_message_size_across_fragments_fails_on_the_header_that_crosses_it() {
    let mut server = server_with(Config { max_message_size: 1 << 20, ..Config::default() });
    // 512 KiB arrive in a first fragment.
    let first = filled(512 * 1024, 1);
    assert_eq!(feed_ok(&mut server, &client_frame(false, OpCode::Binary, &first)), vec![]);
    // The next fragment declares 1 GiB: over max_frame_size too, which is judged first.
    let error = feed_err(&mut server, &header_only(true, OpCode::Continuation, GIB));
    assert!(matches!(error, ProtocolError::FrameTooLarge { .. }));
    assert_eq!(only_close_code(&mut server), 1009);

    // A fragment within max_frame_size that would take the message over max_message_size.
    let mut server = server_with(Config { max_message_size: 1 << 20, ..Config::default() });
    feed_ok(&mut server, &client_frame(false, OpCode::Binary, &first));
    feed_ok(&mut server, &client_frame(false, OpCode::Continuation, &first[..256 * 1024]));
    let error = feed_err(&mut server, &header_only(true, OpCode::Continuation, 256 * 1024 + 1));
    assert_eq!(error, ProtocolError::MessageTooLarge { len: (1 << 20) + 1, max: 1 << 20 });
    assert_eq!(only_close_code(&mut server), 1009);
    assert_eq!(server.read_buf().len(), 0);
}

#[test]
fn control_frames_do_not_count_towards_the_message_budget() {
    let mut server =
        server_with(Config { max_message_size: 10, max_fragments: 2, ..Config::default() });
    let mut bytes = client_frame(false, OpCode::Text, b"12345");
    for _ in 0..10 {
        bytes.extend(client_frame(true, OpCode::Ping, b"0123456789"));
    }
    bytes.extend(client_frame(true, OpCode::Continuation, b"67890"));
    let messages = feed_ok(&mut server, &bytes);
    assert_eq!(messages.len(), 11);
    assert_eq!(messages.last(), Some(&Message::text("1234567890")));
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let config = Config::default();
    assert_eq!(config.max_frame_size, 16 << 20);
    assert_eq!(config.max_message_size, 64 << 20);
    assert_eq!(config.max_fragments, 1 << 24);
    assert_eq!(config.max_write_buffer, 64 << 20);
    assert_eq!(config.close_timeout, std::time::Duration::from_secs(5));
    assert_eq!(config.keepalive, None);
    assert!(config.reject_non_minimal_lengths);
}

#[test]
fn four_mib_in_64_byte_fragments_fits_the_default_budgets() {
    // As common fragmenters send it: 65 536 data frames, then an empty final continuation.
    let mut server = server();
    let piece = filled(64, 7);
    let mut message = Vec::with_capacity(4 << 20);
    let mut wire = Vec::with_capacity(70 * 65_537);
    for i in 0..65_536 {
        let opcode = if i == 0 { OpCode::Binary } else { OpCode::Continuation };
        wire.extend(client_frame(false, opcode, &piece));
        message.extend_from_slice(&piece);
    }
    wire.extend(client_frame(true, OpCode::Continuation, b""));
    assert_eq!(feed_ok(&mut server, &wire), vec![Message::binary(message)]);
    assert_eq!(server.state(), State::Open);
}
