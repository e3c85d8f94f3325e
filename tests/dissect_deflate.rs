//! The frame dissector on a connection that negotiated permessage-deflate (RFC 7692): RSV1
//! read as "compressed" and judged by §6, and compressed messages inflated (§7.2.2) with the
//! sender's window kept across messages; RFC 7692 §7.2.3's examples verbatim.

use rfc6455::Role;
use rfc6455::deflate::{Compressor, DeflateParams};
use rfc6455::dissect::{self, Deflate, FrameDissector, LiveDissector, parse_hex};

const INFLATE: Deflate = Deflate::Inflate(DeflateParams {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: None,
    client_max_window_bits: None,
});

fn show(hex: &str, sender: Option<Role>, deflate: Deflate) -> String {
    dissect::frames_with(&parse_hex(hex).expect("test hex is valid"), sender, deflate)
}

#[track_caller]
fn has(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

#[track_caller]
fn ok(text: &str) {
    has(text, &["verdict: ok"]);
    assert!(!text.contains('✗'), "unexpected violation in:\n{text}");
}

/// A server frame header for a payload of `len` (< 126) bytes.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first, payload.len() as u8];
    bytes.extend_from_slice(payload);
    bytes
}

// ---- RFC 7692 §7.2.3 ----

#[test]
fn hello_in_one_compressed_block() {
    // §7.2.3.1: "The endpoint builds one frame by putting all of the compressed data in the
    // payload data portion of the frame: 0xc1 0x07 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00"
    let text = show("c1 07 f2 48 cd c9 c9 07 00", None, INFLATE);
    let golden = "\
frame 1 at byte 0: 2-byte header + 7-byte payload, server → client (sender inferred from MASK=0)
  header bytes: c1 07
    c1 = 1100 0001: FIN=1 RSV=100 opcode=0x1 (text)
    07 = 0000 0111: MASK=0 payload len=7
  FIN: 1 (final fragment of its message)
  RSV1: 1 (compressed (permessage-deflate), RFC 7692 §6)
  RSV2: 0
  RSV3: 0
  opcode: 0x1 (text)
  MASK: 0 (not masked, as every frame from a server must be: §5.1)
  payload length: 7 (7-bit form, minimal)
  masking key: none
  payload, not masked (7 bytes): f2 48 cd c9 c9 07 00
  inflated payload (5 bytes): 48 65 6c 6c 6f
  inflated payload: \"Hello\"
  compressed message: 7 bytes on the wire, 5 bytes inflated (ratio 0.71)
  verdict: ok, no rule broken (judged as the client receives it)
";
    assert_eq!(text, golden);
}

#[test]
fn hello_in_two_fragments() {
    // §7.2.3.1: "if the fragments are 3 and 4 octets, the first frame is: 0x41 0x03 0xf2
    // 0x48 0xcd and the second frame is: 0x80 0x04 0xc9 0xc9 0x07 0x00". "Note that the
    // RSV1 bit is set only on the first frame."
    let text = show("41 03 f2 48 cd 80 04 c9 c9 07 00", None, INFLATE);
    has(
        &text,
        &[
            "41 = 0100 0001: FIN=0 RSV=100 opcode=0x1 (text)",
            "RSV1: 1 (compressed (permessage-deflate), RFC 7692 §6)",
            "inflated so far: 2 bytes from 3 bytes compressed",
            "frame 2 at byte 5",
            "RSV1: 0 (of a compressed message: RSV1 is set on its first frame only, RFC 7692 §6)",
            "opcode: 0x0 (continuation, of a text message)",
            "payload, not masked (4 bytes): c9 c9 07 00",
            "inflated payload (5 bytes): 48 65 6c 6c 6f",
            "inflated payload: \"Hello\"",
            "compressed message: 7 bytes on the wire, 5 bytes inflated (ratio 0.71)",
            "message complete: text, 2 fragments, 7 bytes",
        ],
    );
    ok(&text);
}

#[test]
fn the_second_hello_refers_back_into_the_shared_window() {
    // §7.2.3.2: without "client_no_context_takeover" "the payload of the second message will
    // be: 0xf2 0x00 0x11 0x00 0x00" (the RFC's sender is a client; here the same payloads
    // come unmasked from a server, whose window works the same way).
    let both = "c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00";
    let text = show(both, None, INFLATE);
    has(
        &text,
        &[
            "frame 2 at byte 9",
            "payload, not masked (5 bytes): f2 00 11 00 00",
            "compressed message: 5 bytes on the wire, 5 bytes inflated (ratio 1.00)",
        ],
    );
    assert_eq!(text.matches("inflated payload: \"Hello\"").count(), 2, "{text}");
    ok(&text);

    // With server_no_context_takeover the server resets after each message, so a second
    // message that refers back is not DEFLATE data the receiver can inflate.
    let reset = DeflateParams { server_no_context_takeover: true, ..DeflateParams::default() };
    let text = show(both, None, Deflate::Inflate(reset));
    has(
        &text,
        &[
            "✗ breaks RFC 7692 §7.2.2: the peer sent a compressed message that does not inflate",
            "close 1007",
        ],
    );
    // ... and the first one alone is fine: its window is not needed afterwards.
    ok(&show(
        "c1 07 f2 48 cd c9 c9 07 00 c1 07 f2 48 cd c9 c9 07 00",
        None,
        Deflate::Inflate(reset),
    ));
}

#[test]
fn a_stored_block_a_final_block_and_two_blocks() {
    // §7.2.3.3: "Hello" in a DEFLATE block with no compression.
    let text = show("c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00", None, INFLATE);
    has(&text, &["inflated payload: \"Hello\"", "11 bytes on the wire, 5 bytes inflated"]);
    ok(&text);
    // §7.2.3.4: a block with BFINAL set, then "Hello" again, which (context takeover) may
    // refer back into the first message.
    let text = show("c1 08 f3 48 cd c9 c9 07 00 00 c1 05 f2 00 11 00 00", None, INFLATE);
    assert_eq!(text.matches("inflated payload: \"Hello\"").count(), 2, "{text}");
    ok(&text);
    // §7.2.3.5: two DEFLATE blocks in one message.
    let text = show("c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00", None, INFLATE);
    has(&text, &["inflated payload: \"Hello\""]);
    ok(&text);
}

#[test]
fn masked_client_frames_are_unmasked_before_inflating() {
    // §7.2.3.1's payload sent by a client, masked with §5.7's key.
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let payload = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut bytes = vec![0xc1, 0x87];
    bytes.extend_from_slice(&key);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let text = dissect::frames_with(&bytes, None, INFLATE);
    has(
        &text,
        &["client → server", "unmasked payload (7 bytes): f2 48 cd c9 c9 07 00", "\"Hello\""],
    );
    ok(&text);
}

// ---- RSV1 judged: RFC 7692 §6 and RFC 6455 §5.2 ----

#[test]
fn rsv1_on_a_ping_breaks_rfc_7692_section_6() {
    // §6: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and
    // non-first fragments of a data message."
    let text = show("c9 00", Some(Role::Server), INFLATE);
    has(
        &text,
        &[
            "c9 = 1100 1001: FIN=1 RSV=100 opcode=0x9 (ping)",
            "RSV1: 1 (the permessage-deflate bit, on a frame that may not carry it)",
            "✗ breaks RFC 7692 §6: the peer set RSV1 (compressed) on a frame with opcode 0x9",
            "verdict: 1 rule broken",
        ],
    );
    assert!(!text.contains("§5.2"), "RSV1 is not reserved here:\n{text}");
}

#[test]
fn rsv1_on_a_continuation_breaks_rfc_7692_section_6() {
    let text = show("41 03 f2 48 cd c0 04 c9 c9 07 00", None, INFLATE);
    has(&text, &["frame 2", "✗ breaks RFC 7692 §6", "opcode 0x0"]);
    // The message is still the first frame's: it inflates as before.
    has(&text, &["inflated payload: \"Hello\""]);
}

#[test]
fn rsv1_without_the_extension_is_a_reserved_bit() {
    let text = show("c1 07 f2 48 cd c9 c9 07 00", None, Deflate::Off);
    has(
        &text,
        &[
            "  RSV1: 1\n",
            "✗ breaks §5.2: the peer set reserved bits 100 without a negotiated extension",
            "close 1002",
        ],
    );
    assert!(!text.contains("inflated"), "nothing is inflated without the extension:\n{text}");
    // `frames` is `frames_with(.., Deflate::Off)`.
    let bytes = parse_hex("c1 07 f2 48 cd c9 c9 07 00").unwrap();
    assert_eq!(dissect::frames(&bytes, None), text);
}

#[test]
fn negotiated_without_parameters_judges_but_does_not_inflate() {
    let text = show("c1 07 f2 48 cd c9 c9 07 00", None, Deflate::Negotiated);
    has(
        &text,
        &[
            "RSV1: 1 (compressed (permessage-deflate), RFC 7692 §6)",
            "not inflated (the dissector was not given the negotiated parameters)",
        ],
    );
    ok(&text);
}

#[test]
fn uncompressed_messages_pass_the_decompressor_by() {
    // RSV1 clear: sent as it is, and not part of the compressed stream; the compressed
    // message after it still inflates against the first one's window.
    let bytes = "c1 07 f2 48 cd c9 c9 07 00 81 02 68 69 c1 05 f2 00 11 00 00";
    let text = show(bytes, None, INFLATE);
    has(
        &text,
        &[
            "RSV1: 0 (not compressed: permessage-deflate lets the sender choose per message)",
            "payload: \"hi\"",
        ],
    );
    assert_eq!(text.matches("inflated payload: \"Hello\"").count(), 2, "{text}");
    ok(&text);
}

// ---- text, budgets, pieces ----

#[test]
fn compressed_text_is_validated_after_inflating() {
    // c3 28 is not UTF-8; compressed, its bytes on the wire say nothing about it.
    let mut compressed = Vec::new();
    Compressor::new(6, 15, false).compress(&[0xc3, 0x28], &mut compressed);
    let text = dissect::frames_with(&frame(0xc1, &compressed), None, INFLATE);
    has(&text, &["✗ breaks §8.1: the peer sent text that is not valid UTF-8", "close 1007"]);
    // The same bytes as a binary message are fine.
    ok(&dissect::frames_with(&frame(0xc2, &compressed), None, INFLATE));
}

#[test]
fn a_bomb_stops_at_the_budget() {
    let mut bomb = Vec::new();
    Compressor::new(9, 15, false).compress(&vec![0u8; 4 << 20], &mut bomb);
    let mut bytes = vec![0xc2, 0x7e];
    bytes.extend_from_slice(&(bomb.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&bomb);
    let mut d = FrameDissector::new(None).with_deflate(INFLATE).with_inflate_budget(1 << 20);
    let mut text = String::new();
    d.feed(&bytes, &mut text);
    d.finish(&mut text);
    has(
        &text,
        &[
            "inflation stopped: the message inflates to more than 1048576 bytes, the dissector's budget",
            &format!("compressed message: {} bytes on the wire", bomb.len()),
        ],
    );
    // Not a rule of the RFC: a budget (§10.4), as the dissector treats every budget.
    ok(&text);
    // Under the default budget (64 MiB) it inflates whole.
    let text = dissect::frames_with(&bytes, None, INFLATE);
    has(&text, &["4194304 bytes inflated", "(4194304 bytes; first 64 … last 16 shown)"]);
}

#[test]
fn pieces_give_the_same_text_as_the_whole() {
    let bytes = parse_hex("41 03 f2 48 cd 89 00 80 04 c9 c9 07 00 c1 05 f2 00 11 00 00").unwrap();
    let whole = dissect::frames_with(&bytes, None, INFLATE);
    ok(&whole);
    for size in 1..bytes.len() {
        let mut d = FrameDissector::new(None).with_deflate(INFLATE);
        let mut out = String::new();
        for piece in bytes.chunks(size) {
            d.feed(piece, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out, whole, "pieces of {size}");
    }
}

#[test]
fn a_live_dissector_per_direction() {
    let mut from_server = LiveDissector::new(Role::Server).with_deflate(INFLATE);
    let mut text = String::new();
    from_server.feed(
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n\xc1\x07\xf2\x48",
        || None,
        &mut text,
    );
    from_server.feed(
        &[0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00, 0x11],
        || None,
        &mut text,
    );
    from_server.feed(&[0x00, 0x00], || None, &mut text);
    from_server.finish(&mut text);
    assert_eq!(text.matches("inflated payload: \"Hello\"").count(), 2, "{text}");
}

#[test]
fn never_panics_on_any_bytes() {
    let mut x: u32 = 0x9e37_79b9;
    for round in 0..2000 {
        let len = (round % 40) as usize;
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        // Often a compressed text or binary frame header, so the inflater sees noise.
        if round % 2 == 0 && len > 2 {
            bytes[0] = if round % 4 == 0 { 0xc1 } else { 0x42 };
            bytes[1] = (len - 2).min(125) as u8;
        }
        for deflate in [INFLATE, Deflate::Negotiated] {
            let _ = dissect::frames_with(&bytes, None, deflate);
            let _ = dissect::stream_with(&bytes, Some(Role::Client), deflate);
        }
    }
}
