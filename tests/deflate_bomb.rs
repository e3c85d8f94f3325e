//! Zip bombs (RFC 7692 §8.1's warning about decompression): a compressed message a few KiB
//! long that inflates to far more than `max_message_size` is failed with 1009 while it
//! inflates, having allocated at most the budget plus one step of output (and zlib's own
//! state), measured by a counting allocator. The compressed frame itself still counts
//! against `max_frame_size`.

mod heap_peak;

use rfc6455::deflate::{Compressor, DeflateConfig, DeflateParams, INFLATE_STEP, TAIL};
use rfc6455::frame::{FrameHeader, OpCode, encode_frame};
use rfc6455::{Config, Connection, ProtocolError, Role};

#[global_allocator]
static GLOBAL: heap_peak::Peak = heap_peak::Peak;

/// The compressed bytes of `mib` MiB of zeros, built cheaply: with context takeover every
/// MiB after the first compresses to the same few bytes, so two are compressed and the
/// second is repeated, each piece but the last followed by the sync flush's `00 00 ff ff`
/// (which `compress` removes from a whole message, RFC 7692 §7.2.1).
fn zeros_compressed(mib: usize) -> Vec<u8> {
    let mut c = Compressor::new(9, 15, false);
    let (mut first, mut next) = (Vec::new(), Vec::new());
    c.compress(&vec![0u8; 1 << 20], &mut first);
    c.compress(&vec![0u8; 1 << 20], &mut next);
    let mut third = Vec::new();
    c.compress(&vec![0u8; 1 << 20], &mut third);
    assert_eq!(next, third, "the pieces after the first repeat");
    let mut out = first;
    for _ in 1..mib {
        out.extend_from_slice(&TAIL);
        out.extend_from_slice(&next);
    }
    out
}

/// One masked client frame of `compressed` bytes, RSV1 set (a compressed message's first).
fn compressed_frame(compressed: &[u8], fin: bool) -> Vec<u8> {
    let mut header =
        FrameHeader::new(fin, OpCode::Binary, Some([1, 2, 3, 4]), compressed.len() as u64);
    header.rsv1 = true;
    let mut wire = bytes::BytesMut::new();
    encode_frame(&header, compressed, &mut wire);
    wire.to_vec()
}

fn server(config: Config) -> Connection {
    let mut conn = Connection::new(Role::Server, config);
    conn.use_permessage_deflate(DeflateParams::default(), &DeflateConfig::default());
    conn
}

/// Feed `wire` to a server with a budget of `max`, and return the error and the peak of
/// heap bytes the decoding added.
fn refuse(
    wire: Vec<u8>,
    config: Config,
) -> (Result<Option<rfc6455::Message>, ProtocolError>, usize) {
    let mut conn = server(config);
    conn.receive(&wire);
    drop(wire);
    let before = heap_peak::reset_peak();
    let result = conn.next_event();
    let peak = heap_peak::peak() - before;
    if result.is_err() {
        assert_eq!(conn.failure().map(ProtocolError::close_code).map(|c| c.0), Some(1009));
    }
    (result, peak)
}

#[test]
fn a_gigabyte_bomb_is_refused_within_the_budget() {
    // 1 GiB of zeros in about a MiB (DEFLATE's best ratio is about 1032:1), against a budget
    // of 2 MiB (which the compressed frame fits: `check` counts it against the budget too).
    let max = 2 << 20;
    let compressed = zeros_compressed(1024);
    assert!(compressed.len() < 1100 * 1024, "{} bytes", compressed.len());
    let config = Config { max_message_size: max, max_frame_size: max, ..Config::default() };
    let (result, peak) = refuse(compressed_frame(&compressed, true), config);
    assert_eq!(result, Err(ProtocolError::MessageTooLarge { len: max as u64 + 1, max }));
    // The output (at most max + 1 bytes, in chunks that are never copied) and zlib's inflate
    // state (a 32 KiB window, ~7 KiB of tables): nothing in proportion to the gigabyte.
    let allowed = max + 1 + INFLATE_STEP + 64 * 1024;
    assert!(peak <= allowed, "peak {peak} bytes for a budget of {max} (allowed {allowed})");
}

#[test]
fn a_few_kib_that_inflate_to_megabytes_are_refused() {
    // 4 KiB of DEFLATE is at most about 4 MiB of output: the most "a few KiB" can hold.
    let max = 256 << 10;
    let compressed = zeros_compressed(4);
    assert!(compressed.len() <= 5 * 1024, "{} bytes", compressed.len());
    let (result, peak) = refuse(
        compressed_frame(&compressed, true),
        Config { max_message_size: max, ..Config::default() },
    );
    assert_eq!(result, Err(ProtocolError::MessageTooLarge { len: max as u64 + 1, max }));
    assert!(peak <= max + 1 + INFLATE_STEP + 64 * 1024, "peak {peak}");
}

#[test]
fn a_message_at_the_budget_is_delivered() {
    // Exactly `max` inflated bytes is within the budget (the refusal is for `max + 1`).
    let max = 1 << 20;
    let (result, _) = refuse(
        compressed_frame(&zeros_compressed(1), true),
        Config { max_message_size: max, ..Config::default() },
    );
    match result {
        Ok(Some(rfc6455::Message::Binary(b))) => assert_eq!(b.len(), max),
        other => panic!("expected the message, got {other:?}"),
    }
}

#[test]
fn a_bomb_spread_over_fragments_counts_the_whole_message() {
    // One compressed message of 1.2 MiB of noise-free bytes, cut in two fragments of its
    // compressed bytes (RSV1 on the first only): each half inflates to about 600 KiB, under
    // the budget alone, over it together.
    let max = 1 << 20;
    let mut compressed = Vec::new();
    Compressor::new(9, 15, false).compress(&vec![0u8; 1200 << 10], &mut compressed);
    let (first, second) = compressed.split_at(compressed.len() / 2);
    let mut wire = bytes::BytesMut::new();
    let mut header =
        FrameHeader::new(false, OpCode::Binary, Some([1, 2, 3, 4]), first.len() as u64);
    header.rsv1 = true;
    encode_frame(&header, first, &mut wire);
    let mut conn = server(Config { max_message_size: max, ..Config::default() });
    conn.receive(&wire);
    assert_eq!(conn.next_event(), Ok(None));
    let header =
        FrameHeader::new(true, OpCode::Continuation, Some([5, 6, 7, 8]), second.len() as u64);
    let mut wire = bytes::BytesMut::new();
    encode_frame(&header, second, &mut wire);
    conn.receive(&wire);
    assert_eq!(conn.next_event(), Err(ProtocolError::MessageTooLarge { len: max as u64 + 1, max }));
}

#[test]
fn the_compressed_frame_counts_against_max_frame_size() {
    let compressed = zeros_compressed(4);
    let (wire, compressed_len) = (compressed_frame(&compressed, true), compressed.len());
    let config = Config { max_frame_size: 1024, ..Config::default() };
    let mut conn = server(config);
    conn.receive(&wire);
    assert_eq!(
        conn.next_event(),
        Err(ProtocolError::FrameTooLarge { len: compressed_len as u64, max: 1024 })
    );
}
