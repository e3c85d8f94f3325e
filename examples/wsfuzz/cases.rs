//! The cases: a seeded PRNG, the classes with what RFC 6455 says of each, and the bytes of
//! one case (frames built with [`RawFrame`], which writes any FIN/RSV/opcode/mask/length
//! with no validation).
//!
//! Case `i` of seed `s` is always the same bytes: the generator draws from the PRNG in the
//! same order whatever the server does, so runs against different servers line up case by
//! case.

use rfc6455::frame::{LengthForm, OpCode, RawFrame};

/// xorshift64*: small, fast, seedable; not for cryptography.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn key(&mut self) -> [u8; 4] {
        (self.next() as u32).to_be_bytes()
    }
}

/// A class of cases.
pub struct Class {
    pub name: &'static str,
    /// What a conforming server does, in the report's words (rfc6455's own reaction).
    pub expected: &'static str,
    /// What RFC 6455 requires of the receiver, and which MUST the bytes break.
    pub rfc: &'static str,
}

const fn class(name: &'static str, expected: &'static str, rfc: &'static str) -> Class {
    Class { name, expected, rfc }
}

/// The classes, in report order.
pub const CLASSES: &[Class] = &[
    class("valid-text", "echo", "echo (the application's choice)"),
    class("valid-binary", "echo", "echo (the application's choice)"),
    class("valid-ping", "pong", "Pong with the Ping's data (§5.5.2 MUST, §5.5.3)"),
    class(
        "valid-fragmented",
        "pong + echo",
        "Pong, then the echo: control frames between fragments MUST be handled (§5.4), a Ping MUST be answered (§5.5.2)",
    ),
    class(
        "valid-split-utf8",
        "echo",
        "echo: a code point may be cut between fragments (§5.4: the message is the fragments joined)",
    ),
    class(
        "valid-close",
        "close (same code)",
        "a Close in reply (§5.5.1 MUST; \"typically echos the status code\"), then the server MUST close TCP immediately (§5.5.1)",
    ),
    class(
        "unmasked",
        "close 1002",
        "close the connection (§5.1 MUST); a Close 1002 MAY precede it",
    ),
    class("rsv-bits", "close 1002", "_Fail_ (§5.2 MUST); Close SHOULD precede it (§7.1.7)"),
    class("reserved-opcode", "close 1002", "_Fail_ (§5.2 MUST); Close SHOULD precede it (§7.1.7)"),
    class(
        "fragmented-control",
        "close 1002",
        "the sender broke §5.5 (MUST NOT be fragmented); no rule for the receiver",
    ),
    class(
        "oversized-control",
        "close 1002",
        "the sender broke §5.5 (MUST be ≤ 125 bytes); no rule for the receiver, but a reply of more than 125 bytes breaks §5.5",
    ),
    class(
        "non-minimal-length",
        "close 1002",
        "the sender broke §5.2 (minimal length MUST); no rule for the receiver",
    ),
    class(
        "top-bit-length",
        "close 1002",
        "the sender broke §5.2 (top bit MUST be 0); no rule for the receiver",
    ),
    class(
        "orphan-continuation",
        "close 1002",
        "not a message of §5.4 (the sender broke it); no stated rule for the receiver",
    ),
    class(
        "interleaved-data",
        "close 1002",
        "the sender broke §5.4 (MUST NOT interleave); no rule for the receiver",
    ),
    class("invalid-utf8", "close 1007", "_Fail_ (§8.1 MUST); 1007 is the code for it (§7.4.1)"),
    class(
        "invalid-utf8-fragment",
        "close 1007",
        "_Fail_ once it finds the invalid bytes (§8.1 MUST); they are in a first fragment whose message never ends, so waiting for the end is allowed",
    ),
    class(
        "invalid-utf8-end",
        "close 1007",
        "_Fail_ (§8.1 MUST): the message ends inside a code point (its last fragment cuts it short)",
    ),
    class(
        "after-failure",
        "close 1002",
        "_Fail_ on the first frame (§5.1/§5.2 MUST); the Ping after it MUST NOT be processed (§7.1.7), so a Pong breaks §7.1.7",
    ),
    class(
        "after-invalid-utf8",
        "close 1007",
        "_Fail_ on the text (§8.1 MUST); a Pong means the Ping after it was processed, which §7.1.7 forbids once the endpoint has found the invalid UTF-8",
    ),
    class(
        "data-after-close",
        "close (same code)",
        "the Close is answered (§5.5.1 MUST); the client broke §5.5.1 with the Text after it; an echo after the server's Close breaks §5.5.1 (no data frame after a Close)",
    ),
    class(
        "close-1-byte",
        "close 1002",
        "the sender broke §5.5.1; reply with a Close (§5.5.1 MUST) or _Fail_",
    ),
    class(
        "close-bad-code",
        "close 1002",
        "1005/1006/1015 MUST NOT be sent (§7.4.1), 0–999 are not used (§7.4.2); echoing 1005/1006/1015 back breaks §7.4.1",
    ),
    class(
        "close-bad-reason",
        "close 1007",
        "_Fail_ if it reads the reason as UTF-8 (§8.1 MUST); echoing it sends invalid UTF-8",
    ),
    class("huge-declared", "close 1009", "close 1009 (a budget, §10.4) or wait for the bytes"),
    class("short-payload", "hang", "wait for the rest of the frame"),
    class("random-mutation", "any", "depends on the bytes (the `ours` column of the log)"),
];

/// The class named `name`.
pub fn find(name: &str) -> Option<&'static Class> {
    CLASSES.iter().find(|c| c.name == name)
}

/// One case: its class, the bytes to send after the handshake, and what a server that
/// accepts them answers (the message it echoes, the Ping it answers).
pub struct Case {
    pub class: &'static str,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

/// The answers a server that accepts a case's frames owes: its echo, its Pong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    pub echo: Option<Vec<u8>>,
    pub pong: Option<Vec<u8>>,
    /// The status code of the Close sent, which a reply typically echoes (§5.5.1).
    pub close: Option<u16>,
}

/// Case `index` of `seed` (the first is 0).
pub fn nth(seed: u64, index: u64) -> Case {
    let mut rng = Rng::new(seed);
    for _ in 0..index {
        make_case(&mut rng);
    }
    make_case(&mut rng)
}

/// The next case.
pub fn make_case(rng: &mut Rng) -> Case {
    let class = CLASSES[rng.below(CLASSES.len() as u64) as usize].name;
    let key = rng.key();
    let len = rng.below(40) as usize;
    let text: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
    let masked = |f: RawFrame| f.masking_key(key);
    let mut out = Vec::new();
    let mut expect = Expect::default();
    match class {
        "valid-text" | "unmasked" | "rsv-bits" | "non-minimal-length" => {
            expect.echo = Some(text.clone());
            let frame = RawFrame::new(OpCode::Text).payload(text);
            match class {
                "valid-text" => masked(frame).write_to(&mut out),
                "unmasked" => frame.write_to(&mut out),
                "rsv-bits" => masked(frame.rsv_bits(1 + rng.below(7) as u8)).write_to(&mut out),
                _ => {
                    let form =
                        [LengthForm::Extended16, LengthForm::Extended64][rng.below(2) as usize];
                    masked(frame.length_form(form)).write_to(&mut out)
                }
            }
        }
        "valid-binary" => {
            let n = rng.below(70_000) as usize;
            let data = rng.bytes(n);
            expect.echo = Some(data.clone());
            masked(RawFrame::new(OpCode::Binary).payload(data)).write_to(&mut out)
        }
        "valid-ping" | "fragmented-control" => {
            expect.pong = Some(text.clone());
            let fin = class == "valid-ping";
            masked(RawFrame::new(OpCode::Ping).fin(fin).payload(text)).write_to(&mut out)
        }
        "valid-fragmented" => {
            expect = Expect { echo: Some(text.clone()), pong: Some(b"mid".to_vec()), close: None };
            let (a, b) = text.split_at(len / 2);
            masked(RawFrame::new(OpCode::Text).fin(false).payload(a)).write_to(&mut out);
            masked(RawFrame::new(OpCode::Ping).payload(&b"mid"[..])).write_to(&mut out);
            masked(RawFrame::new(OpCode::Continuation).payload(b)).write_to(&mut out);
        }
        "valid-split-utf8" => {
            // ASCII and 2-, 3- and 4-byte code points, cut into 2–4 fragments anywhere.
            let mut message = Vec::new();
            for _ in 0..1 + len / 4 {
                let pick = ["a", "é", "€", "😀"][rng.below(4) as usize];
                message.extend_from_slice(pick.as_bytes());
            }
            let mut cuts: Vec<usize> = (0..1 + rng.below(3))
                .map(|_| rng.below(message.len() as u64 + 1) as usize)
                .collect();
            cuts.sort();
            let mut from = 0;
            for (i, &cut) in cuts.iter().chain([&message.len()]).enumerate() {
                let op = if i == 0 { OpCode::Text } else { OpCode::Continuation };
                let last = i == cuts.len();
                masked(RawFrame::new(op).fin(last).payload(&message[from..cut])).write_to(&mut out);
                from = cut;
            }
            expect.echo = Some(message);
        }
        "valid-close" => {
            let code: u16 = [1000, 1001, 1003, 1008, 1011, 3000, 4999][rng.below(7) as usize];
            let mut body = code.to_be_bytes().to_vec();
            body.extend_from_slice(&text);
            expect.close = Some(code);
            masked(RawFrame::new(OpCode::Close).payload(body)).write_to(&mut out)
        }
        "invalid-utf8-fragment" => {
            let mut payload = text;
            payload.extend_from_slice(b"\xc3\x28");
            masked(RawFrame::new(OpCode::Text).fin(false).payload(payload)).write_to(&mut out)
        }
        "reserved-opcode" => {
            let op = [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF][rng.below(10) as usize];
            masked(RawFrame::new(OpCode::from_u4(op)).payload(text)).write_to(&mut out)
        }
        "oversized-control" => {
            let op = [OpCode::Ping, OpCode::Pong, OpCode::Close][rng.below(3) as usize];
            let mut body = vec![0x03, 0xE8];
            body.extend(std::iter::repeat_n(b'x', 124 + rng.below(200) as usize));
            if op == OpCode::Ping {
                expect.pong = Some(body.clone());
            }
            masked(RawFrame::new(op).payload(body)).write_to(&mut out)
        }
        "top-bit-length" => masked(RawFrame::new(OpCode::Binary))
            .declared_len(1 << 63 | rng.below(1 << 20))
            .payload(text)
            .write_to(&mut out),
        "orphan-continuation" => {
            masked(RawFrame::new(OpCode::Continuation).payload(text)).write_to(&mut out)
        }
        "interleaved-data" => {
            masked(RawFrame::new(OpCode::Text).fin(false).payload(&b"a"[..])).write_to(&mut out);
            masked(RawFrame::new(OpCode::Binary).payload(&b"b"[..])).write_to(&mut out);
        }
        "invalid-utf8" => {
            let bad: &[&[u8]] = &[b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"];
            let mut payload = text;
            payload.extend_from_slice(bad[rng.below(bad.len() as u64) as usize]);
            expect.echo = Some(payload.clone());
            masked(RawFrame::new(OpCode::Text).payload(payload)).write_to(&mut out)
        }
        "invalid-utf8-end" => {
            // Two or three fragments; the last ends with the first bytes of a code point.
            let cut: &[&[u8]] = &[b"\xce", b"\xe2\x82", b"\xf0\x9f\x98"];
            let mut message = text;
            message.extend_from_slice(cut[rng.below(cut.len() as u64) as usize]);
            let mid = rng.below(message.len() as u64) as usize;
            let (a, b) = message.split_at(mid);
            masked(RawFrame::new(OpCode::Text).fin(false).payload(a)).write_to(&mut out);
            if rng.below(2) == 0 {
                masked(RawFrame::new(OpCode::Continuation).fin(false)).write_to(&mut out);
            }
            masked(RawFrame::new(OpCode::Continuation).payload(b)).write_to(&mut out);
            expect.echo = Some(message);
        }
        "after-failure" => {
            let first = match rng.below(3) {
                0 => RawFrame::new(OpCode::Text).payload(&b"x"[..]),
                1 => masked(RawFrame::new(OpCode::Text).rsv_bits(0b010).payload(&b"x"[..])),
                _ => masked(RawFrame::new(OpCode::from_u4(3)).payload(&b"x"[..])),
            };
            first.write_to(&mut out);
            masked(RawFrame::new(OpCode::Ping).payload(text)).write_to(&mut out);
        }
        "after-invalid-utf8" => {
            let bad: &[&[u8]] = &[b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"];
            let mut payload = text.clone();
            payload.extend_from_slice(bad[rng.below(bad.len() as u64) as usize]);
            masked(RawFrame::new(OpCode::Text).payload(payload)).write_to(&mut out);
            masked(RawFrame::new(OpCode::Ping).payload(text)).write_to(&mut out);
        }
        "data-after-close" => {
            masked(RawFrame::new(OpCode::Close).payload(&[3u8, 232][..])).write_to(&mut out);
            masked(RawFrame::new(OpCode::Text).payload(text)).write_to(&mut out);
            expect.close = Some(1000);
        }
        "close-1-byte" => {
            masked(RawFrame::new(OpCode::Close).payload(&[3u8][..])).write_to(&mut out)
        }
        "close-bad-code" => {
            let code: u16 =
                [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000][rng.below(9) as usize];
            masked(RawFrame::new(OpCode::Close).payload(code.to_be_bytes())).write_to(&mut out)
        }
        "close-bad-reason" => {
            masked(RawFrame::new(OpCode::Close).payload(&b"\x03\xe8\xff\xfe"[..]))
                .write_to(&mut out)
        }
        "huge-declared" => masked(RawFrame::new(OpCode::Binary))
            .declared_len(1 << (32 + rng.below(30)))
            .payload(text)
            .write_to(&mut out),
        "short-payload" => masked(RawFrame::new(OpCode::Binary))
            .declared_len(len as u64 + 1 + rng.below(100))
            .payload(text)
            .write_to(&mut out),
        _ => {
            // A valid frame with 1–4 random bits flipped.
            masked(RawFrame::new(OpCode::Text).payload(text)).write_to(&mut out);
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(out.len() as u64) as usize;
                out[at] ^= 1 << rng.below(8);
            }
        }
    }
    Case { class, bytes: out, expect }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::ours;

    #[test]
    fn a_seed_gives_the_same_cases() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for i in 0..200 {
            let (x, y) = (make_case(&mut a), make_case(&mut b));
            assert_eq!((x.class, &x.bytes), (y.class, &y.bytes), "case {i}");
        }
        let third = nth(7, 3);
        let mut c = Rng::new(7);
        let _ = (make_case(&mut c), make_case(&mut c), make_case(&mut c));
        assert_eq!(make_case(&mut c).bytes, third.bytes);
    }

    #[test]
    fn every_class_comes_up_and_is_named_once() {
        let mut rng = Rng::new(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            seen.insert(make_case(&mut rng).class);
        }
        assert_eq!(seen.len(), CLASSES.len());
        let names: std::collections::BTreeSet<&str> = CLASSES.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CLASSES.len(), "a class named twice");
        assert_eq!(find("valid-close").map(|c| c.expected), Some("close (same code)"));
        assert!(find("nonsense").is_none());
    }

    /// Each class's expected reaction is what rfc6455's own core does with its bytes
    /// (the same reaction an rfc6455 echo server gives).
    #[test]
    fn the_expected_reaction_is_rfc6455s() {
        let mut rng = Rng::new(3);
        for i in 0..3000 {
            let case = make_case(&mut rng);
            let class = find(case.class).unwrap();
            if class.expected != "any" {
                assert_eq!(
                    ours(&case.bytes, &case.expect),
                    class.expected,
                    "case {i}: {}",
                    class.name
                );
            }
        }
    }
}
