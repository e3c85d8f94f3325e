//! Groups 9 (limits and performance) and 10 (auto-fragmentation): Autobahn's cases
//! (`case/case9_*.py`, `case/case10_1_1.py`), and 10.1.2–10.1.3 of ours.
//!
//! Group 9 judges as its case classes do: the first message that comes back is OK when it
//! has the kind and length sent (Autobahn does not compare the content; the strict verdict
//! does), and Autobahn closes (1000) on it; the case's `closeAfter(WAITSECS)` is its time
//! bound. 9.7 and 9.8 send 1000 messages one at a time, each after the previous echo.

use crate::cases::*;
use crate::model::*;

/// 9.1 and 9.5 (text), 9.2 and 9.6 (binary): Autobahn's `sendFrame(payload_len = n)`
/// repeats these to the length.
const ASD: &[u8] = b"BAsd7&jh23";
const BIN5: &[u8] = b"\x00\xfe\x23\xfa\xf0";

fn size_name(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Autobahn's expectation of 9.1–9.6: one message back of this kind and length.
fn ab_echo_len(opcode: u8, len: usize) -> Autobahn {
    Autobahn {
        expected: vec![],
        close: closed_by_me(&[1000]),
        suppress_close: false,
        rule: Rule::EchoLength { binary: opcode != TEXT, len },
    }
}

pub fn group9(t: &mut Table) {
    // Autobahn: case/case9_1_1.py … case9_1_6.py (text "BAsd7&jh23" repeated),
    // case/case9_2_1.py … case9_2_6.py (binary 00 fe 23 fa f0 repeated): one frame of
    // 64 KiB … 16 MiB; closeAfter(10) up to 256 KiB (binary: 4 MiB), else 100.
    let sizes = [64usize << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20];
    for (sub, opcode, fill, kind, waits) in [
        (1, TEXT, ASD, "text", [10u64, 10, 100, 100, 100, 100]),
        (2, BINARY, BIN5, "binary", [10, 10, 10, 10, 100, 100]),
    ] {
        for (i, len) in sizes.into_iter().enumerate() {
            t.shared(
                format!("9.{sub}.{}", i + 1),
                format!("Send a {kind} message of {}", size_name(len)),
                vec![
                    send(vec![frame(opcode, repeat(fill, len))]),
                    Step::CloseAfter(waits[i] * 1000),
                ],
                echo(vec![msg(opcode, repeat(fill, len))]),
                ab_echo_len(opcode, len),
            );
        }
    }
    // Autobahn: case/case9_3_1.py … case9_3_9.py (text "*"), case/case9_4_1.py …
    // case9_4_9.py (binary, 0xfe in 9.4.1, "*" in the others): 4 MiB by `sendMessage(
    // fragmentSize = 64 … 4 MiB)`: since 4 MiB is a multiple of every fragment size, an
    // empty final continuation frame ends the message (9.x.9: a single frame). closeAfter(100).
    let frags = [64usize, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
    let total = 4usize << 20;
    for (sub, opcode, kind) in [(3, TEXT, "text"), (4, BINARY, "binary")] {
        for (i, frag) in frags.into_iter().enumerate() {
            let fill = if sub == 4 && i == 0 { FE } else { STAR };
            let frames = fragmented(opcode, fill, total, frag);
            let tail = if frames.len() > 1 { ", and an empty final one" } else { "" };
            t.shared(
                format!("9.{sub}.{}", i + 1),
                format!("Send a 4 MiB {kind} message in fragments of {}{tail}", size_name(frag)),
                vec![send(frames), Step::CloseAfter(100_000)],
                echo(vec![msg(opcode, repeat(fill, total))]),
                ab_echo_len(opcode, total),
            );
        }
    }
    // Autobahn: case/case9_5_1.py … case9_5_6.py (text "BAsd7&jh23"), case/case9_6_1.py
    // … case9_6_6.py (binary 00 fe 23 fa f0): one 1 MiB frame in chops of 64 … 2048 octets.
    // closeAfter(1000).
    let chops = [64usize, 128, 256, 512, 1024, 2048];
    for (sub, opcode, fill, kind) in [(5, TEXT, ASD, "text"), (6, BINARY, BIN5, "binary")] {
        for (i, chop) in chops.into_iter().enumerate() {
            t.shared(
                format!("9.{sub}.{}", i + 1),
                format!("Send a 1 MiB {kind} message in chops of {chop} bytes"),
                vec![
                    send_chop(
                        vec![frame(opcode, repeat(fill, 1 << 20))],
                        Chop::Bytes { size: chop, delay_ms: 0 },
                    ),
                    Step::CloseAfter(1_000_000),
                ],
                echo(vec![msg(opcode, repeat(fill, 1 << 20))]),
                ab_echo_len(opcode, 1 << 20),
            );
        }
    }
    // Autobahn: case/case9_7_X.py: 1000 messages of "*" (9.7, text) or 0xfe (9.8, binary)
    // of 0 … 4096 bytes, each sent once the previous one is back; closeAfter(60, 60, 60,
    // 120, 240, 480).
    let rtt = [(0usize, 60u64), (16, 60), (64, 60), (256, 120), (1024, 240), (4096, 480)];
    for (sub, opcode, fill, kind) in [(7, TEXT, STAR, "text"), (8, BINARY, FE, "binary")] {
        for (i, (size, wait_secs)) in rtt.into_iter().enumerate() {
            t.shared(
                format!("9.{sub}.{}", i + 1),
                format!("Send 1000 {kind} messages of {size} bytes one at a time, each after the previous echo"),
                vec![
                    Step::CloseAfter(wait_secs * 1000),
                    Step::RoundTrips { count: 1000, opcode, size, fill },
                ],
                echo((0..1000).map(|_| msg(opcode, repeat(fill, size))).collect()),
                Autobahn {
                    expected: vec![],
                    close: closed_by_me(&[1000]),
                    suppress_close: false,
                    rule: Rule::Stream { wait_secs },
                },
            );
        }
    }
}

pub fn group10(t: &mut Table) {
    // Autobahn: case/case10_1_1.py: 64 KiB of "*" sent with autoFragmentSize = 1300 (50
    // frames of 1300 bytes and one of 536; Autobahn also checks that it sent those, which
    // holds by construction here). killAfter(10).
    let (total, frag) = (65536, 1300);
    t.shared(
        "10.1.1",
        format!("Send a 64 KiB text message auto-fragmented into frames of {frag} bytes; the echo may be framed any way"),
        vec![send(fragmented(TEXT, STAR, total, frag)), Step::KillAfter(10_000)],
        echo(vec![msg(TEXT, repeat(STAR, total))]),
        ab_echo(vec![rx_msg(TEXT, repeat(STAR, total))]),
    );
    // Ours: the same in binary with every byte value, and in text with code points split
    // across frames.
    for (id, opcode, fill, kind) in [
        ("10.1.2", BINARY, ALL_BYTES, "binary"),
        ("10.1.3", TEXT, KOSME16, "text with multi-byte code points split across frames"),
    ] {
        t.add(
            id,
            format!("Send a 64 KiB {kind} message auto-fragmented into frames of {frag} bytes; the echo may be framed any way"),
            vec![send(fragmented(opcode, fill, total, frag))],
            echo(vec![msg(opcode, repeat(fill, total))]),
        );
    }
}
