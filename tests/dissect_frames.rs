//! The frame dissector (§5.2–§5.7): the RFC's §5.7 examples shown field by field, and every
//! rule a frame can break flagged with its section.

use rfc6455::Role;
use rfc6455::dissect::{self, FrameDissector, parse_hex};

fn dissect(hex: &str, sender: Option<Role>) -> String {
    let bytes = parse_hex(hex).expect("test hex is valid");
    dissect::frames(&bytes, sender)
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

// ---- §5.7 examples ----

#[test]
fn unmasked_text_hello() {
    // §5.7: "A single-frame unmasked text message 0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f"
    let text = dissect("81 05 48 65 6c 6c 6f", None);
    has(
        &text,
        &[
            "81 = 1000 0001: FIN=1 RSV=000 opcode=0x1 (text)",
            "05 = 0000 0101: MASK=0 payload len=5",
            "FIN: 1",
            "RSV1: 0",
            "RSV2: 0",
            "RSV3: 0",
            "opcode: 0x1 (text)",
            "MASK: 0",
            "payload length: 5 (7-bit form, minimal)",
            "masking key: none",
            "payload: \"Hello\"",
            "server → client (sender inferred from MASK=0)",
        ],
    );
    ok(&text);
}

#[test]
fn masked_text_hello() {
    // §5.7: "A single-frame masked text message
    //        0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58"
    let text = dissect("81 85 37 fa 21 3d 7f 9f 4d 51 58", None);
    has(
        &text,
        &[
            "header bytes: 81 85 37 fa 21 3d",
            "85 = 1000 0101: MASK=1 payload len=5",
            "37 fa 21 3d = masking key",
            "MASK: 1",
            "masking key: 37 fa 21 3d",
            "masked payload (5 bytes): 7f 9f 4d 51 58",
            "unmasked payload (5 bytes): 48 65 6c 6c 6f",
            "payload: \"Hello\"",
            "client → server (sender inferred from MASK=1)",
            "judged as the server receives it",
        ],
    );
    ok(&text);
}

#[test]
fn fragmented_unmasked_text() {
    // §5.7: "A fragmented unmasked text message 0x01 0x03 0x48 0x65 0x6c (contains "Hel")
    //        0x80 0x02 0x6c 0x6f (contains "lo")"
    let text = dissect("01 03 48 65 6c 80 02 6c 6f", None);
    has(
        &text,
        &[
            "frame 1 at byte 0",
            "FIN: 0 (more fragments follow)",
            "payload: \"Hel\"",
            "frame 2 at byte 5",
            "opcode: 0x0 (continuation, of a text message)",
            "payload: \"lo\"",
            "message complete: text, 2 fragments, 5 bytes",
        ],
    );
    ok(&text);
}

#[test]
fn ping_and_pong() {
    // §5.7: "Unmasked Ping request and masked Ping response": 0x89 0x05 "Hello" and
    // 0x8a 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58.
    let ping = dissect("89 05 48 65 6c 6c 6f", None);
    has(&ping, &["opcode: 0x9 (ping)", "payload: \"Hello\""]);
    ok(&ping);
    let pong = dissect("8a 85 37 fa 21 3d 7f 9f 4d 51 58", None);
    has(&pong, &["opcode: 0xa (pong)", "payload: \"Hello\""]);
    ok(&pong);
}

#[test]
fn binary_256_bytes_uses_the_16_bit_form() {
    // §5.7: "256 bytes binary message in a single unmasked frame 0x82 0x7E 0x0100 [256 bytes]"
    let mut bytes = vec![0x82, 0x7E, 0x01, 0x00];
    bytes.extend((0..=255u8).collect::<Vec<_>>());
    let text = dissect::frames(&bytes, None);
    has(
        &text,
        &[
            "82 = 1000 0010: FIN=1 RSV=000 opcode=0x2 (binary)",
            "7e = 0111 1110: MASK=0 payload len=126 (a 16-bit extended payload length follows)",
            "01 00 = extended payload length 256",
            "payload length: 256 (16-bit extended form, minimal)",
            "(256 bytes; first 64 … last 16 shown)",
            "0000: 00 01 02 03",
            "0030: 30 31",
            "(176 bytes not shown)",
            "00f0: f0 f1 f2",
        ],
    );
    assert!(!text.contains("0040:"), "the middle is abbreviated:\n{text}");
    ok(&text);
}

#[test]
fn binary_64k_uses_the_64_bit_form() {
    // §5.7: "64KiB binary message in a single unmasked frame
    //        0x82 0x7F 0x0000000000010000 [65536 bytes]"
    let mut bytes = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
    bytes.extend(std::iter::repeat_n(0xAB, 65536));
    let text = dissect::frames(&bytes, None);
    has(
        &text,
        &[
            "00 00 00 00 00 01 00 00 = extended payload length 65536",
            "payload length: 65536 (64-bit extended form, minimal)",
            "(65536 bytes; first 64 … last 16 shown)",
            "(65456 bytes not shown)",
        ],
    );
    ok(&text);
}

// ---- every rule, flagged with its section ----

#[test]
fn unmasked_client_frame() {
    let text = dissect("81 05 48 65 6c 6c 6f", Some(Role::Client));
    has(&text, &["✗ breaks §5.1: the client sent an unmasked frame", "close 1002"]);
    let text = dissect("81 85 37 fa 21 3d 7f 9f 4d 51 58", Some(Role::Server));
    has(&text, &["✗ breaks §5.1: the server sent a masked frame"]);
}

#[test]
fn inferred_sender_holds_later_frames_to_it() {
    // First frame masked (a client's), second unmasked: the second breaks §5.1.
    let text = dissect("81 85 37 fa 21 3d 7f 9f 4d 51 58 81 00", None);
    has(&text, &["frame 2 at byte 11", "✗ breaks §5.1: the client sent an unmasked frame"]);
}

#[test]
fn reserved_opcodes() {
    let text = dissect("83 00", Some(Role::Server));
    has(
        &text,
        &["opcode=0x3 (reserved non-control)", "✗ breaks §5.2: the peer used reserved opcode 0x3"],
    );
    let text = dissect("8b 00", Some(Role::Server));
    has(
        &text,
        &["opcode: 0xb (reserved control)", "✗ breaks §5.2: the peer used reserved opcode 0xb"],
    );
}

#[test]
fn rsv_bits() {
    let text = dissect("c1 00", Some(Role::Server));
    has(
        &text,
        &[
            "c1 = 1100 0001: FIN=1 RSV=100",
            "RSV1: 1",
            "✗ breaks §5.2: the peer set reserved bits 100",
        ],
    );
    let text = dissect("b1 00", Some(Role::Server));
    has(&text, &["RSV2: 1", "RSV3: 1", "reserved bits 011"]);
}

#[test]
fn control_frame_over_125() {
    let mut bytes = vec![0x89, 0x7E, 0x00, 0x7E];
    bytes.extend([0u8; 126]);
    let text = dissect::frames(&bytes, Some(Role::Server));
    has(&text, &["✗ breaks §5.5: the peer sent a control frame with 126 payload bytes"]);
}

#[test]
fn fragmented_control_frame() {
    let text = dissect("09 00", Some(Role::Server));
    has(&text, &["FIN: 0", "✗ breaks §5.5: the peer fragmented a control frame"]);
}

#[test]
fn non_minimal_length() {
    let text = dissect("82 7e 00 05 01 02 03 04 05", Some(Role::Server));
    has(
        &text,
        &[
            "payload length: 5 (16-bit extended form, not minimal: the 7-bit form would do)",
            "✗ breaks §5.2: the payload length 5 was not encoded in the minimal number of bytes",
        ],
    );
    let text = dissect("82 7f 00 00 00 00 00 00 01 00", Some(Role::Server));
    has(&text, &["not minimal: the 16-bit form would do"]);
}

#[test]
fn length_with_top_bit_set() {
    let text = dissect("82 7f 80 00 00 00 00 00 00 00", Some(Role::Server));
    has(
        &text,
        &[
            "most significant bit set",
            "✗ breaks §5.2: the 64-bit payload length has its most significant bit set",
            "truncated: the header declares 9223372036854775808 payload bytes, only 0 arrived",
        ],
    );
}

#[test]
fn several_rules_in_one_frame() {
    // Masked by a server, RSV2, reserved control opcode, FIN clear, 16-bit form for 200.
    let mut bytes = vec![0x2C, 0xFE, 0x00, 0xC8, 1, 2, 3, 4];
    bytes.extend([0u8; 200]);
    let text = dissect::frames(&bytes, Some(Role::Server));
    has(
        &text,
        &[
            "breaks §5.1: the server sent a masked frame",
            "breaks §5.2: the peer set reserved bits 010",
            "breaks §5.2: the peer used reserved opcode 0xc",
            "breaks §5.5: the peer fragmented a control frame",
            "breaks §5.5: the peer sent a control frame with 200 payload bytes",
            "verdict: 5 rules broken",
        ],
    );
}

#[test]
fn close_frames() {
    // 1000 "bye", from a server.
    let text = dissect("88 05 03 e8 62 79 65", None);
    has(
        &text,
        &[
            "opcode: 0x8 (close)",
            "close code: 1000 = 03 e8 (normal closure, §7.4.1)",
            "close reason: \"bye\"",
        ],
    );
    ok(&text);
    // An empty body is allowed.
    let text = dissect("88 00", None);
    has(&text, &["close body: empty"]);
    ok(&text);
    // 1005 may not be sent.
    let text = dissect("88 02 03 ed", None);
    has(
        &text,
        &[
            "close code: 1005",
            "✗ breaks §7.4: the peer sent close code 1005, which may not be sent",
        ],
    );
    // 999 is not used; 4000 is private use.
    has(&dissect("88 02 03 e7", None), &["close code: 999", "not used", "✗ breaks §7.4"]);
    let text = dissect("88 02 0f a0", None);
    has(&text, &["close code: 4000", "private use"]);
    ok(&text);
}

#[test]
fn one_byte_close_payload() {
    let text = dissect("88 01 03", None);
    has(
        &text,
        &[
            "close body: 1 byte (03)",
            "✗ breaks §5.5.1: the peer sent a Close frame with a 1-byte payload",
        ],
    );
}

#[test]
fn invalid_utf8() {
    let text = dissect("81 02 c3 28", None);
    has(&text, &["✗ breaks §8.1: the peer sent text that is not valid UTF-8", "close 1007"]);
    // Across fragments: the text is judged as one message. Valid split code point:
    let text = dissect("01 01 c3 80 01 a9", None);
    ok(&text);
    // A message that ends in the middle of a code point:
    let text = dissect("01 01 c3 80 00", None);
    has(&text, &["frame 2", "✗ breaks §8.1"]);
    // Close reasons too.
    has(
        &dissect("88 03 03 e8 ff", None),
        &["close reason: not valid UTF-8: ff", "✗ breaks §5.5.1"],
    );
}

#[test]
fn continuation_without_start_and_interleaving() {
    let text = dissect("80 00", None);
    has(
        &text,
        &[
            "✗ breaks §5.4: the peer sent a continuation frame with no fragmented message in progress",
        ],
    );
    let text = dissect("01 00 81 00", None);
    has(
        &text,
        &[
            "frame 2",
            "✗ breaks §5.4: the peer started a new message before finishing the fragmented one",
        ],
    );
    // A control frame in the middle of a fragmented message is fine (§5.4).
    ok(&dissect("01 01 48 89 00 80 01 69", None));
}

#[test]
fn truncated_input() {
    let text = dissect("81", None);
    has(&text, &["truncated header", "the header needs 2 bytes, only 1 arrived: 1 byte missing"]);
    let text = dissect("81 85 37 fa", None);
    has(
        &text,
        &[
            "the header needs 6 bytes, only 4 arrived: 2 bytes missing",
            "masking key (incomplete: 2 of 4 bytes)",
        ],
    );
    let text = dissect("81 85 37 fa 21 3d 7f 9f", None);
    has(
        &text,
        &["truncated: the header declares 5 payload bytes, only 2 arrived: 3 bytes missing"],
    );
    let text = dissect("82 7e 01 00 00", None);
    has(&text, &["only 1 arrived: 255 bytes missing"]);
    let text = dissect("01 01 41", None);
    has(&text, &["the stream ended inside a fragmented text message"]);
}

#[test]
fn pieces_give_the_same_text_as_the_whole() {
    let bytes = parse_hex("01 03 48 65 6c 89 00 80 82 37 fa 21 3d 5b 95 88 02 03 e8").unwrap();
    let whole = dissect::frames(&bytes, None);
    for size in 1..bytes.len() {
        let mut d = FrameDissector::new(None);
        let mut out = String::new();
        for piece in bytes.chunks(size) {
            d.feed(piece, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out, whole, "pieces of {size}");
    }
}

#[test]
fn never_panics_on_any_bytes() {
    // A deterministic pseudo-random walk through byte patterns, cut at every size.
    let mut x: u32 = 0x1234_5678;
    for round in 0..2000 {
        let len = (round % 40) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for sender in [None, Some(Role::Client), Some(Role::Server)] {
            let _ = dissect::frames(&bytes, sender);
            let _ = dissect::stream(&bytes, sender);
        }
    }
}
