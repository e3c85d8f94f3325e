//! The case table (groups 12 and 13, permessage-deflate, in `cases_deflate.rs`). Groups 1–7, 9 and 10 follow the behaviours (and numbering) of the
//! Autobahn|Testsuite; group B covers what Autobahn does not check; group H the opening
//! handshake. Every case is data: steps to send and the outcomes that are acceptable.

use rfc6455::frame::LengthForm;

use crate::model::*;

/// Protocol errors: §7.4.1 1002.
const PROTO: &[u16] = &[1002];
/// Invalid UTF-8 in a text message: §7.4.1 1007.
const UTF8: &[u16] = &[1007];
/// A close reason that is not UTF-8: 1007 (inconsistent data) or 1002 (malformed Close).
const REASON: &[u16] = &[1007, 1002];

/// ASCII filler for the framing cases.
const STAR: &[u8] = b"*";
/// Binary filler.
const FE: &[u8] = &[0xfe];
/// Text filler with 2- and 3-byte code points: 16 bytes ("κόσμε-abcd"), so that big
/// messages cut into fragments split code points across frames.
pub const KOSME16: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5-abcd";
/// Binary filler with every byte value.
pub const ALL_BYTES: &[u8] = &{
    let mut a = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        a[i] = i as u8;
        i += 1;
    }
    a
};

/// Markus Kuhn's "κόσμε" (with U+1F79, a 3-byte code point): 11 bytes.
const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

fn frame(opcode: u8, payload: impl Into<Payload>) -> FrameSpec {
    FrameSpec::new(opcode, payload)
}
fn text(p: impl Into<Payload>) -> FrameSpec {
    frame(TEXT, p)
}
fn binary(p: impl Into<Payload>) -> FrameSpec {
    frame(BINARY, p)
}
fn cont(p: impl Into<Payload>) -> FrameSpec {
    frame(CONT, p)
}
fn ping(p: impl Into<Payload>) -> FrameSpec {
    frame(PING, p)
}
fn pong(p: impl Into<Payload>) -> FrameSpec {
    frame(PONG, p)
}
fn close(code: u16, reason: &[u8]) -> FrameSpec {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    frame(CLOSE, p)
}
fn repeat(pattern: &'static [u8], len: usize) -> Payload {
    Payload::Repeat { pattern, offset: 0, len }
}
fn msg(opcode: u8, data: impl Into<Payload>) -> Msg {
    Msg { opcode, data: data.into() }
}
fn send(frames: Vec<FrameSpec>) -> Step {
    Step::Send { frames, chop: Chop::Whole }
}
fn send_chop(frames: Vec<FrameSpec>, chop: Chop) -> Step {
    Step::Send { frames, chop }
}
fn octets() -> Chop {
    Chop::Bytes { size: 1, delay_ms: 0 }
}
fn framewise() -> Chop {
    Chop::PerFrame { delay_ms: 0 }
}
fn echo(msgs: Vec<Msg>) -> Expect {
    Expect::Echo { msgs, pongs: vec![], settle_ms: 0, last_pong_suffices: false }
}
fn echo_pongs(msgs: Vec<Msg>, pongs: Vec<Payload>) -> Expect {
    Expect::Echo { msgs, pongs, settle_ms: 0, last_pong_suffices: false }
}
fn silence(pongs: Vec<Payload>) -> Expect {
    Expect::Echo { msgs: vec![], pongs, settle_ms: 500, last_pong_suffices: false }
}
fn fail(codes: &'static [u16]) -> Expect {
    Expect::Fail { codes, before: vec![], pongs_before: vec![], fast: false, tolerated: None }
}
fn fail_after(codes: &'static [u16], before: Vec<Msg>) -> Expect {
    Expect::Fail { codes, before, pongs_before: vec![], fast: false, tolerated: None }
}
fn close_reply(codes: Vec<Option<u16>>, before: Vec<Msg>) -> Expect {
    Expect::CloseReply { codes, before }
}
fn is_utf8(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok()
}

#[derive(Default)]
struct Table {
    cases: Vec<Case>,
}

impl Table {
    fn add(
        &mut self,
        id: impl Into<String>,
        desc: impl Into<String>,
        steps: Vec<Step>,
        expect: Expect,
    ) -> &mut Case {
        self.cases.push(Case {
            id: id.into(),
            desc: desc.into(),
            steps,
            expect,
            only: None,
            tags: 0,
            handshake: None,
            deflate: None,
        });
        self.cases.last_mut().expect("just pushed")
    }
}

/// Every case, in order.
pub fn all() -> Vec<Case> {
    let mut t = Table::default();
    group1(&mut t);
    group2(&mut t);
    group3(&mut t);
    group4(&mut t);
    group5(&mut t);
    group6(&mut t);
    group7(&mut t);
    group9(&mut t);
    group10(&mut t);
    crate::cases_deflate::group12(&mut t.cases);
    crate::cases_deflate::group13(&mut t.cases);
    group_b(&mut t);
    group_h(&mut t);
    t.cases
}

/// The cases a mode runs (`client`: we are the client, the peer is the server under test).
pub fn for_mode(client: bool) -> Vec<Case> {
    let skip = if client { Only::Server } else { Only::Client };
    all().into_iter().filter(|c| c.only != Some(skip)).collect()
}

// ------------------------------------------------------------------ 1 framing

fn group1(t: &mut Table) {
    for (sub, opcode, fill, kind) in [(1, TEXT, STAR, "text"), (2, BINARY, FE, "binary")] {
        for (i, len) in [0usize, 125, 126, 127, 128, 65535, 65536].into_iter().enumerate() {
            t.add(
                format!("1.{sub}.{}", i + 1),
                format!("Send a {kind} message with a payload of {len} bytes"),
                vec![send(vec![frame(opcode, repeat(fill, len))])],
                echo(vec![msg(opcode, repeat(fill, len))]),
            );
        }
        t.add(
            format!("1.{sub}.8"),
            format!("Send a {kind} message of 65535 bytes in chops of 997 octets"),
            vec![send_chop(
                vec![frame(opcode, repeat(fill, 65535))],
                Chop::Bytes { size: 997, delay_ms: 0 },
            )],
            echo(vec![msg(opcode, repeat(fill, 65535))]),
        );
    }
}

// ------------------------------------------------------------------ 2 pings and pongs

fn group2(t: &mut Table) {
    let hello = b"Hello, world!";
    let bin = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    t.add(
        "2.1",
        "Send a Ping without payload",
        vec![send(vec![ping(b"")])],
        echo_pongs(vec![], vec![b"".into()]),
    );
    t.add(
        "2.2",
        "Send a Ping with a small text payload",
        vec![send(vec![ping(hello)])],
        echo_pongs(vec![], vec![hello.into()]),
    );
    t.add(
        "2.3",
        "Send a Ping with a small binary (non UTF-8) payload",
        vec![send(vec![ping(bin)])],
        echo_pongs(vec![], vec![bin.into()]),
    );
    t.add(
        "2.4",
        "Send a Ping with a 125-byte binary payload",
        vec![send(vec![ping(repeat(FE, 125))])],
        echo_pongs(vec![], vec![repeat(FE, 125)]),
    );
    t.add(
        "2.5",
        "Send a Ping with a 126-byte payload (control frames carry at most 125)",
        vec![send(vec![ping(repeat(FE, 126))])],
        fail(PROTO),
    );
    t.add(
        "2.6",
        "Send a Ping with a 125-byte payload in octet-wise chops",
        vec![send_chop(vec![ping(repeat(FE, 125))], Chop::Bytes { size: 1, delay_ms: 1 })],
        echo_pongs(vec![], vec![repeat(FE, 125)]),
    );
    t.add(
        "2.7",
        "Send an unsolicited Pong without payload: nothing comes back",
        vec![send(vec![pong(b"")])],
        silence(vec![]),
    );
    t.add(
        "2.8",
        "Send an unsolicited Pong with payload: nothing comes back",
        vec![send(vec![pong(b"unsolicited pong payload")])],
        silence(vec![]),
    );
    t.add(
        "2.9",
        "Send an unsolicited Pong, then a Ping: only the Ping is answered",
        vec![send(vec![pong(b"unsolicited pong payload"), ping(b"ping payload")])],
        silence(vec![b"ping payload".into()]),
    );
    for (id, chop, how) in [
        ("2.10", Chop::PerFrame { delay_ms: 0 }, ""),
        ("2.11", Chop::Bytes { size: 1, delay_ms: 0 }, " in octet-wise chops"),
    ] {
        let payloads: Vec<Payload> =
            (0..10).map(|i| Payload::from(format!("payload-{i}").as_str())).collect();
        t.add(
            id,
            format!(
                "Send 10 Pings with payload{how}; §5.5.3 allows answering only the most recent"
            ),
            vec![send_chop(payloads.iter().map(|p| ping(p.clone())).collect(), chop)],
            Expect::Echo {
                msgs: vec![],
                pongs: payloads,
                settle_ms: 300,
                last_pong_suffices: true,
            },
        );
    }
}

// ------------------------------------------------------------------ 3 reserved bits

fn group3(t: &mut Table) {
    let hello = b"Hello, world!";
    t.add(
        "3.1",
        "Send a small text message with RSV = 1",
        vec![send(vec![text(hello).rsv(4)])],
        fail(PROTO),
    );
    for (id, rsv, chop, how) in [
        ("3.2", 2, Chop::Whole, ""),
        ("3.3", 3, framewise(), ", frame-wise chops"),
        ("3.4", 4, octets(), ", octet-wise chops"),
    ] {
        t.add(
            id,
            format!("Send a small text message, then again with RSV = {rsv}, then a Ping{how}"),
            vec![send_chop(vec![text(hello), text(hello).rsv(rsv_bits(rsv)), ping(b"")], chop)],
            fail_after(PROTO, vec![msg(TEXT, hello)]),
        );
    }
    t.add(
        "3.5",
        "Send a small binary message with RSV = 5",
        vec![send(vec![binary(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff").rsv(rsv_bits(5))])],
        fail(PROTO),
    );
    t.add(
        "3.6",
        "Send a Ping with RSV = 6",
        vec![send(vec![ping(hello).rsv(rsv_bits(6))])],
        fail(PROTO),
    );
    t.add(
        "3.7",
        "Send a Close with RSV = 7",
        vec![send(vec![close(1000, b"").rsv(rsv_bits(7))])],
        fail(PROTO),
    );
}

/// Autobahn numbers RSV values with RSV1 as the least significant bit; our `rsv` field has
/// RSV1 as the most significant (as on the wire).
fn rsv_bits(n: u8) -> u8 {
    ((n & 1) << 2) | (n & 2) | ((n & 4) >> 2)
}

// ------------------------------------------------------------------ 4 opcodes

fn group4(t: &mut Table) {
    let hello = b"Hello, world!";
    for (sub, base, kind) in [(1, 3u8, "non-control"), (2, 11u8, "control")] {
        t.add(
            format!("4.{sub}.1"),
            format!("Send a frame with reserved {kind} opcode {base}"),
            vec![send(vec![frame(base, b"")])],
            fail(PROTO),
        );
        t.add(
            format!("4.{sub}.2"),
            format!("Send a frame with reserved {kind} opcode {} and a payload", base + 1),
            vec![send(vec![frame(base + 1, b"reserved opcode payload")])],
            fail(PROTO),
        );
        for (i, (chop, how)) in [
            (Chop::Whole, ""),
            (framewise(), ", frame-wise chops"),
            (octets(), ", octet-wise chops"),
        ]
        .into_iter()
        .enumerate()
        {
            let op = base + 2 + i as u8;
            let payload: &[u8] = if i == 0 { b"" } else { b"reserved opcode payload" };
            t.add(
                format!("4.{sub}.{}", 3 + i),
                format!("Send a small text message, then a frame with reserved {kind} opcode {op}, then a Ping{how}"),
                vec![send_chop(vec![text(hello), frame(op, payload), ping(b"")], chop)],
                fail_after(PROTO, vec![msg(TEXT, hello)]),
            );
        }
    }
}

// ------------------------------------------------------------------ 5 fragmentation

fn group5(t: &mut Table) {
    let f1: &[u8] = b"fragment1";
    let f2: &[u8] = b"fragment2";
    let joined = b"fragment1fragment2";
    t.add(
        "5.1",
        "Send a Ping in 2 fragments",
        vec![send(vec![ping(f1).fin(false), cont(f2)])],
        fail(PROTO),
    );
    t.add(
        "5.2",
        "Send a Pong in 2 fragments",
        vec![send(vec![pong(f1).fin(false), cont(f2)])],
        fail(PROTO),
    );
    let chops = [
        (Chop::Whole, ""),
        (octets(), ", octet-wise chops"),
        (Chop::PerFrame { delay_ms: 100 }, ", frame-wise chops 100 ms apart"),
    ];
    for (i, (chop, how)) in chops.iter().cloned().enumerate() {
        t.add(
            format!("5.{}", 3 + i),
            format!("Send a text message in 2 fragments{how}"),
            vec![send_chop(vec![text(f1).fin(false), cont(f2)], chop)],
            echo(vec![msg(TEXT, joined)]),
        );
    }
    for (i, (chop, how)) in chops.iter().cloned().enumerate() {
        t.add(
            format!("5.{}", 6 + i),
            format!("Send a text message in 2 fragments with a Ping between them{how}"),
            vec![send_chop(vec![text(f1).fin(false), ping(b"pongme!"), cont(f2)], chop)],
            echo_pongs(vec![msg(TEXT, joined)], vec![b"pongme!".into()]),
        );
    }
    for (i, (chop, how)) in chops.iter().cloned().enumerate() {
        t.add(
            format!("5.{}", 9 + i),
            format!("Send a continuation frame with FIN = 1 when no message is in progress, then a text message{how}"),
            vec![send_chop(vec![cont(f2), text(b"Hello, world!")], chop)],
            fail(PROTO),
        );
    }
    for (i, (chop, how)) in chops.iter().cloned().enumerate() {
        t.add(
            format!("5.{}", 12 + i),
            format!("Send a continuation frame with FIN = 0 when no message is in progress, then a text message{how}"),
            vec![send_chop(vec![cont(f2).fin(false), text(b"Hello, world!")], chop)],
            fail(PROTO),
        );
    }
    t.add(
        "5.15",
        "Send a text message in 2 fragments, then a continuation with FIN = 0 with nothing to continue, then a text message",
        vec![send(vec![text(f1).fin(false), cont(f2), cont(b"fragment3").fin(false), text(b"fragment4")])],
        fail_after(PROTO, vec![msg(TEXT, joined)]),
    );
    for (id, fin) in [("5.16", false), ("5.17", true)] {
        let mut frames = Vec::new();
        for _ in 0..2 {
            frames.extend([
                cont(b"fragment1").fin(fin),
                text(b"fragment2").fin(false),
                cont(b"fragment3"),
            ]);
        }
        t.add(
            id,
            format!("Twice: a continuation with FIN = {} with nothing to continue, then a text message in 2 fragments", u8::from(fin)),
            vec![send(frames)],
            fail(PROTO),
        );
    }
    t.add(
        "5.18",
        "Send a text message in 2 fragments whose opcodes are both text",
        vec![send(vec![text(f1).fin(false), text(f2)])],
        fail(PROTO),
    );
    for (id, chop, how) in [("5.19", framewise(), ""), ("5.20", octets(), ", octet-wise chops")] {
        let parts: Vec<Vec<u8>> = (1..=5).map(|i| format!("fragment{i}").into_bytes()).collect();
        let whole: Vec<u8> = parts.concat();
        t.add(
            id,
            format!("Send a text message in 5 fragments: 2, a Ping, wait 1 s, 2 more, a Ping, the last{how}"),
            vec![
                send_chop(vec![text(parts[0].clone()).fin(false), cont(parts[1].clone()).fin(false), ping(b"pongme 1!")], chop.clone()),
                Step::Wait(1000),
                send_chop(
                    vec![cont(parts[2].clone()).fin(false), cont(parts[3].clone()).fin(false), ping(b"pongme 2!"), cont(parts[4].clone())],
                    chop,
                ),
            ],
            echo_pongs(vec![msg(TEXT, whole)], vec![b"pongme 1!".into(), b"pongme 2!".into()]),
        );
    }
}

// ------------------------------------------------------------------ 6 UTF-8

/// Markus Kuhn's UTF-8 decoder stress test, grouped as Autobahn does (6.5–6.23): each vector
/// is sent as one text message; whether it must be echoed or refused is decided by
/// `std::str::from_utf8` (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
fn utf8_vectors() -> Vec<(u32, &'static str, Vec<Vec<u8>>)> {
    let v = |items: &[&[u8]]| items.iter().map(|b| b.to_vec()).collect::<Vec<_>>();
    let lonely = |lo: u8, hi: u8| (lo..=hi).flat_map(|b| [b, b' ']).collect::<Vec<u8>>();
    let incomplete: Vec<Vec<u8>> = v(&[
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ]);
    let noncharacters: Vec<Vec<u8>> = [0xFFFEu32, 0xFFFF]
        .into_iter()
        .chain((1..=16u32).flat_map(|plane| [plane * 0x10000 + 0xFFFE, plane * 0x10000 + 0xFFFF]))
        .map(|c| char::from_u32(c).map(|c| c.to_string().into_bytes()).unwrap_or_default())
        .collect();
    vec![
        (
            5,
            "valid UTF-8 (κόσμε and friends)",
            v(&[
                KOSME,
                b"\xf0\x90\x80\x80",
                b"\xce\xba\xe1\xbd\xb9",
                b"\xf4\x8f\xbf\xbf",
                "Hello-µ@ßöäüàá-UTF-8!!".as_bytes(),
            ]),
        ),
        (6, "κόσμε cut after each octet", (1..=KOSME.len()).map(|n| KOSME[..n].to_vec()).collect()),
        (
            7,
            "first possible sequence of each length",
            v(&[b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
        ),
        (
            8,
            "first possible 5- and 6-byte sequences",
            v(&[b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
        ),
        (
            9,
            "last possible sequence of each length",
            v(&[b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
        ),
        (
            10,
            "last possible 4-, 5- and 6-byte sequences",
            v(&[b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
        ),
        (
            11,
            "other boundary conditions",
            v(&[
                b"\xed\x9f\xbf",
                b"\xee\x80\x80",
                b"\xef\xbf\xbd",
                b"\xf4\x8f\xbf\xbf",
                b"\xf4\x90\x80\x80",
            ]),
        ),
        (12, "unexpected continuation bytes", {
            let mut items = v(&[
                b"\x80",
                b"\xbf",
                b"\x80\xbf",
                b"\x80\xbf\x80",
                b"\x80\xbf\x80\xbf",
                b"\x80\xbf\x80\xbf\x80",
                b"\x80\xbf\x80\xbf\x80\xbf",
            ]);
            items.push((0x80..=0xbf).collect());
            items
        }),
        (
            13,
            "lonely start bytes followed by a space",
            vec![
                lonely(0xc0, 0xdf),
                lonely(0xe0, 0xef),
                lonely(0xf0, 0xf7),
                lonely(0xf8, 0xfb),
                lonely(0xfc, 0xfd),
            ],
        ),
        (14, "sequences with the last continuation byte missing", incomplete.clone()),
        (15, "concatenation of incomplete sequences", vec![incomplete.concat()]),
        (16, "impossible bytes", v(&[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"])),
        (
            17,
            "overlong ASCII '/'",
            v(&[
                b"\xc0\xaf",
                b"\xe0\x80\xaf",
                b"\xf0\x80\x80\xaf",
                b"\xf8\x80\x80\x80\xaf",
                b"\xfc\x80\x80\x80\x80\xaf",
            ]),
        ),
        (
            18,
            "maximum overlong sequences",
            v(&[
                b"\xc1\xbf",
                b"\xe0\x9f\xbf",
                b"\xf0\x8f\xbf\xbf",
                b"\xf8\x87\xbf\xbf\xbf",
                b"\xfc\x83\xbf\xbf\xbf\xbf",
            ]),
        ),
        (
            19,
            "overlong NUL",
            v(&[
                b"\xc0\x80",
                b"\xe0\x80\x80",
                b"\xf0\x80\x80\x80",
                b"\xf8\x80\x80\x80\x80",
                b"\xfc\x80\x80\x80\x80\x80",
            ]),
        ),
        (
            20,
            "single UTF-16 surrogates",
            v(&[
                b"\xed\xa0\x80",
                b"\xed\xad\xbf",
                b"\xed\xae\x80",
                b"\xed\xaf\xbf",
                b"\xed\xb0\x80",
                b"\xed\xbe\x80",
                b"\xed\xbf\xbf",
            ]),
        ),
        (
            21,
            "paired UTF-16 surrogates",
            v(&[
                b"\xed\xa0\x80\xed\xb0\x80",
                b"\xed\xa0\x80\xed\xbf\xbf",
                b"\xed\xad\xbf\xed\xb0\x80",
                b"\xed\xad\xbf\xed\xbf\xbf",
                b"\xed\xae\x80\xed\xb0\x80",
                b"\xed\xae\x80\xed\xbf\xbf",
                b"\xed\xaf\xbf\xed\xb0\x80",
                b"\xed\xaf\xbf\xed\xbf\xbf",
            ]),
        ),
        (22, "noncharacters (valid UTF-8)", noncharacters),
        (
            23,
            "specials and the BOM (valid UTF-8)",
            v(&[
                b"\xef\xbf\xb9",
                b"\xef\xbf\xba",
                b"\xef\xbf\xbb",
                b"\xef\xbf\xbc",
                b"\xef\xbf\xbd",
                b"\xef\xbb\xbf",
                b"\xef\xbb\xbfHello",
            ]),
        ),
    ]
}

fn hex(b: &[u8]) -> String {
    if b.len() > 24 {
        return format!("{} bytes starting {}", b.len(), hex(&b[..12]));
    }
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

/// A text message with `payload`: echoed if valid UTF-8, else refused with 1007.
fn utf8_case(
    t: &mut Table,
    id: String,
    desc: String,
    steps: Vec<Step>,
    payload: &[u8],
    fast: bool,
) {
    if is_utf8(payload) {
        t.add(id, desc, steps, echo(vec![msg(TEXT, payload)]));
    } else {
        let expect = Expect::Fail {
            codes: UTF8,
            before: vec![],
            pongs_before: vec![],
            fast,
            tolerated: None,
        };
        t.add(id, desc, steps, expect).tags |= TAG_INVALID_UTF8;
    }
}

fn group6(t: &mut Table) {
    t.add(
        "6.1.1",
        "Send an empty text message",
        vec![send(vec![text(b"")])],
        echo(vec![msg(TEXT, b"")]),
    );
    t.add(
        "6.1.2",
        "Send a text message of 3 empty fragments",
        vec![send(vec![text(b"").fin(false), cont(b"").fin(false), cont(b"")])],
        echo(vec![msg(TEXT, b"")]),
    );
    t.add(
        "6.1.3",
        "Send a text message of 3 fragments, the first and last empty",
        vec![send(vec![text(b"").fin(false), cont(b"middle frame payload").fin(false), cont(b"")])],
        echo(vec![msg(TEXT, b"middle frame payload")]),
    );

    let hello = "Hello-µ@ßöäüàá-UTF-8!!".as_bytes();
    t.add(
        "6.2.1",
        "Send valid UTF-8 text in one fragment",
        vec![send(vec![text(hello)])],
        echo(vec![msg(TEXT, hello)]),
    );
    let (a, b) = hello.split_at(12); // between code points
    t.add(
        "6.2.2",
        "Send valid UTF-8 text in 2 fragments split at a code point boundary",
        vec![send(vec![text(a).fin(false), cont(b)])],
        echo(vec![msg(TEXT, hello)]),
    );
    t.add(
        "6.2.3",
        "Send valid UTF-8 text in fragments of 1 octet (code points split)",
        vec![send(one_octet_fragments(hello))],
        echo(vec![msg(TEXT, hello)]),
    );
    let four = "\u{10348}κόσμε\u{1F600}".as_bytes();
    t.add(
        "6.2.4",
        "Send valid UTF-8 text with 4-byte code points in fragments of 1 octet",
        vec![send(one_octet_fragments(four))],
        echo(vec![msg(TEXT, four)]),
    );

    let bad: Vec<u8> = [KOSME, b"\xed\xa0\x80", b"edited"].concat();
    utf8_case(
        t,
        "6.3.1".into(),
        "Send invalid UTF-8 text (a surrogate) in one fragment".into(),
        vec![send(vec![text(bad.clone())])],
        &bad,
        false,
    );
    utf8_case(
        t,
        "6.3.2".into(),
        "Send invalid UTF-8 text (a surrogate) in fragments of 1 octet".into(),
        vec![send(one_octet_fragments(&bad))],
        &bad,
        false,
    );

    // 6.4: fail fast. The invalid part arrives, we wait 1 s, then send the rest: the peer
    // must fail before the rest is sent (NON-STRICT when only after the whole message).
    let part1 = KOSME;
    let part2_full: &[u8] = b"\xf4\x90\x80\x80";
    let part3: &[u8] = b"\xcf\x83\xce\xbc\xce\xb5";
    let whole: Vec<u8> = [part1, part2_full, part3].concat();
    for (id, invalid_len, how) in [
        ("6.4.1", 4, "the whole invalid code point"),
        ("6.4.2", 2, "only the octets up to the one that makes it invalid"),
    ] {
        let (p2, p3_head) = part2_full.split_at(invalid_len);
        let p3: Vec<u8> = [p3_head, part3].concat();
        utf8_case(
            t,
            id.into(),
            format!(
                "Fail fast: 3 text fragments, the 2nd with {how} (U+110000); 1 s between fragments"
            ),
            vec![
                send(vec![text(part1).fin(false)]),
                Step::Wait(1000),
                send(vec![cont(p2).fin(false)]),
                Step::Wait(1000),
                send(vec![cont(p3)]),
            ],
            &whole,
            true,
        );
    }
    for (id, invalid_len, how) in [
        ("6.4.3", 4, "the whole invalid code point"),
        ("6.4.4", 2, "only the octets up to the one that makes it invalid"),
    ] {
        utf8_case(
            t,
            id.into(),
            format!("Fail fast: one text frame sent in 3 chops 1 s apart, the 2nd with {how}"),
            vec![send_chop(
                vec![text(whole.clone())],
                Chop::Cuts { at: vec![part1.len(), part1.len() + invalid_len], delay_ms: 1000 },
            )],
            &whole,
            true,
        );
    }

    for (sub, what, vectors) in utf8_vectors() {
        for (i, payload) in vectors.iter().enumerate() {
            let valid = if is_utf8(payload) { "valid" } else { "invalid" };
            utf8_case(
                t,
                format!("6.{sub}.{}", i + 1),
                format!("Send {valid} UTF-8 in one text frame ({what}): {}", hex(payload)),
                vec![send(vec![text(payload.clone())])],
                payload,
                false,
            );
        }
    }

    // 6.24–6.26 (beyond Autobahn): where the invalid sequence sits (start, middle, end of a
    // frame; end of a fragment, across fragments, end of the message) and how it arrives.
    let invalid: [(&str, &[u8]); 5] = [
        ("a truncated 2-byte sequence", b"\xce"),
        ("a lone continuation byte", b"\x80"),
        ("an overlong '/'", b"\xc0\xaf"),
        ("a UTF-16 surrogate", b"\xed\xa0\x80"),
        ("a code point above U+10FFFF", b"\xf4\x90\x80\x80"),
    ];
    let prefix = "Hello-µ@ßöäü".as_bytes();
    let suffix: Vec<u8> = "-tail-κόσμε".as_bytes().iter().copied().cycle().take(120).collect();
    let suffix = {
        // Cut on a code point boundary.
        let mut s = suffix;
        while std::str::from_utf8(&s).is_err() {
            s.pop();
        }
        s
    };
    let mut n = 0;
    for (what, seq) in invalid {
        for (place, payload) in [
            ("at the start", [seq, &suffix].concat()),
            ("in the middle", [prefix, seq, &suffix].concat()),
            ("at the end", [prefix, seq].concat()),
        ] {
            n += 1;
            utf8_case(
                t,
                format!("6.24.{n}"),
                format!("Invalid UTF-8 ({what}) {place} of a single-frame text message"),
                vec![send(vec![text(payload.clone())])],
                &payload,
                false,
            );
        }
    }
    n = 0;
    for (what, seq) in invalid {
        for (place, payload, fast) in [
            ("at the start", [seq, &suffix].concat(), true),
            ("in the middle", [prefix, seq, &suffix].concat(), true),
            ("at the end", [prefix, seq].concat(), false),
        ] {
            n += 1;
            let fast_note =
                if fast { "; fail fast: before the rest of the frame is sent" } else { "" };
            utf8_case(
                t,
                format!("6.25.{n}"),
                format!(
                    "Invalid UTF-8 ({what}) {place} of one text frame sent in 1-byte chops 2 ms apart{fast_note}"
                ),
                vec![send_chop(vec![text(payload.clone())], Chop::Bytes { size: 1, delay_ms: 2 })],
                &payload,
                fast,
            );
        }
    }
    n = 0;
    for (what, seq) in invalid {
        let (seq_head, seq_tail) = seq.split_at(1);
        let layouts: [Layout; 4] = [
            (
                "at the end of the 1st fragment",
                [prefix, seq].concat(),
                suffix.clone(),
                b"end".to_vec(),
                true,
            ),
            (
                "split across the 1st and 2nd fragments",
                [prefix, seq_head].concat(),
                [seq_tail, &suffix].concat(),
                b"end".to_vec(),
                true,
            ),
            (
                "in the middle of the 2nd fragment",
                prefix.to_vec(),
                [b"ab", seq, &suffix].concat(),
                b"end".to_vec(),
                true,
            ),
            (
                "at the end of the last fragment",
                prefix.to_vec(),
                suffix.clone(),
                [b"end", seq].concat(),
                false,
            ),
        ];
        for (place, f1, f2, f3, fast) in layouts {
            n += 1;
            let whole = [f1.as_slice(), &f2, &f3].concat();
            let fast_note =
                if fast { "; fail fast: before the 3rd fragment, sent 200 ms later" } else { "" };
            utf8_case(
                t,
                format!("6.26.{n}"),
                format!("Invalid UTF-8 ({what}) {place} of a 3-fragment text message{fast_note}"),
                vec![
                    send(vec![text(f1).fin(false), cont(f2).fin(false)]),
                    Step::Wait(200),
                    send(vec![cont(f3)]),
                ],
                &whole,
                fast,
            );
        }
    }
}

/// Where an invalid sequence sits in a 3-fragment message: description, the three
/// fragments, and whether the failure must come before the third is sent.
type Layout = (&'static str, Vec<u8>, Vec<u8>, Vec<u8>, bool);

fn one_octet_fragments(payload: &[u8]) -> Vec<FrameSpec> {
    let n = payload.len();
    payload
        .iter()
        .enumerate()
        .map(|(i, b)| frame(if i == 0 { TEXT } else { CONT }, vec![*b]).fin(i + 1 == n))
        .collect()
}

// ------------------------------------------------------------------ 7 close handling

fn group7(t: &mut Table) {
    let hello = b"Hello World!";
    let normal = vec![Some(1000)];
    t.add(
        "7.1.1",
        "Send a text message, then a Close",
        vec![send(vec![text(hello), close(1000, b"")])],
        close_reply(normal.clone(), vec![msg(TEXT, hello)]),
    );
    t.add(
        "7.1.2",
        "Send two Close frames: the second is ignored",
        vec![send(vec![close(1000, b""), close(1000, b"")])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.1.3",
        "Send a Ping after a Close: no Pong",
        vec![send(vec![close(1000, b""), ping(b"after close")])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.1.4",
        "Send a text message after a Close: no echo",
        vec![send(vec![close(1000, b""), text(hello)])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.1.5",
        "Send a message fragment, a Close, then the last fragment: no echo",
        vec![send(vec![text(b"fragment1").fin(false), close(1000, b""), cont(b"fragment2")])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.1.6",
        "Send a 256 KiB text message, a Close and a Ping back to back",
        vec![send(vec![text(repeat(b"BAsd7&jh23", 256 << 10)), close(1000, b""), ping(b"after close")])],
        Expect::Informational("Whether the message is echoed before the Close is the peer's choice (the Close may be processed while the echo is still being written)."),
    );
    t.add(
        "7.3.1",
        "Send a Close without payload",
        vec![send(vec![frame(CLOSE, b"")])],
        close_reply(vec![None, Some(1000)], vec![]),
    );
    t.add(
        "7.3.2",
        "Send a Close with a 1-byte payload",
        vec![send(vec![frame(CLOSE, b"\x03")])],
        fail(PROTO),
    );
    t.add(
        "7.3.3",
        "Send a Close with code 1000",
        vec![send(vec![close(1000, b"")])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.3.4",
        "Send a Close with code 1000 and a reason",
        vec![send(vec![close(1000, b"Hello World!")])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.3.5",
        "Send a Close with code 1000 and a 123-byte reason",
        vec![send(vec![close(1000, &[b'*'; 123])])],
        close_reply(normal.clone(), vec![]),
    );
    t.add(
        "7.3.6",
        "Send a Close with code 1000 and a 124-byte reason (126-byte payload)",
        vec![send(vec![close(1000, &[b'*'; 124])])],
        fail(PROTO),
    );
    let bad_reason: Vec<u8> = [KOSME, b"\xed\xa0\x80", b"edited"].concat();
    t.add(
        "7.5.1",
        "Send a Close with a reason that is not UTF-8",
        vec![send(vec![close(1000, &bad_reason)])],
        fail(REASON),
    );
    for (i, code) in
        [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
            .into_iter()
            .enumerate()
    {
        t.add(
            format!("7.7.{}", i + 1),
            format!("Send a Close with valid close code {code}: it is echoed"),
            vec![send(vec![close(code, b"")])],
            close_reply(vec![Some(code)], vec![]),
        );
    }
    for (i, code) in [1012u16, 1013, 1014].into_iter().enumerate() {
        t.add(
            format!("7.8.{}", i + 1),
            format!("Send a Close with code {code} (registered with IANA after RFC 6455)"),
            vec![send(vec![close(code, b"")])],
            Expect::Informational("RFC 6455 reserves 1012–1014; the IANA registry later assigned them: echoing them or failing with 1002 are both defensible."),
        );
    }
    for (i, code) in
        [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999].into_iter().enumerate()
    {
        t.add(
            format!("7.9.{}", i + 1),
            format!("Send a Close with invalid close code {code}"),
            vec![send(vec![close(code, b"")])],
            fail(PROTO),
        );
    }
    for (i, code) in [5000u16, 65535].into_iter().enumerate() {
        t.add(
            format!("7.13.{}", i + 1),
            format!("Send a Close with close code {code} (outside every range of §7.4.2)"),
            vec![send(vec![close(code, b"")])],
            Expect::Informational(
                "§7.4.2 defines no range above 4999: echoing or failing are both seen in practice.",
            ),
        );
    }
}

// ------------------------------------------------------------------ 9 limits and performance

fn group9(t: &mut Table) {
    let sizes = [64usize << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20];
    for (sub, opcode, fill, kind) in [(1, TEXT, KOSME16, "text"), (2, BINARY, ALL_BYTES, "binary")]
    {
        for (i, len) in sizes.into_iter().enumerate() {
            t.add(
                format!("9.{sub}.{}", i + 1),
                format!("Send a {kind} message of {}", size_name(len)),
                vec![send(vec![frame(opcode, repeat(fill, len))])],
                echo(vec![msg(opcode, repeat(fill, len))]),
            );
        }
    }
    let frags = [64usize, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
    for (sub, opcode, fill, kind) in [(3, TEXT, KOSME16, "text"), (4, BINARY, ALL_BYTES, "binary")]
    {
        for (i, frag) in frags.into_iter().enumerate() {
            let total = 4usize << 20;
            let n = total / frag;
            let frames = (0..n)
                .map(|k| {
                    frame(if k == 0 { opcode } else { CONT }, repeat_at(fill, k * frag, frag))
                        .fin(k + 1 == n)
                })
                .collect();
            t.add(
                format!("9.{sub}.{}", i + 1),
                format!("Send a 4 MiB {kind} message in fragments of {}", size_name(frag)),
                vec![send(frames)],
                echo(vec![msg(opcode, repeat(fill, total))]),
            );
        }
    }
    let chops = [64usize, 128, 256, 512, 1024, 2048];
    for (sub, opcode, fill, kind) in [(5, TEXT, KOSME16, "text"), (6, BINARY, ALL_BYTES, "binary")]
    {
        for (i, chop) in chops.into_iter().enumerate() {
            t.add(
                format!("9.{sub}.{}", i + 1),
                format!("Send a 1 MiB {kind} message in chops of {chop} bytes"),
                vec![send_chop(
                    vec![frame(opcode, repeat(fill, 1 << 20))],
                    Chop::Bytes { size: chop, delay_ms: 0 },
                )],
                echo(vec![msg(opcode, repeat(fill, 1 << 20))]),
            );
        }
    }
    let rtt_sizes = [0usize, 16, 64, 256, 1024, 4096];
    for (sub, opcode, fill, kind) in [(7, TEXT, KOSME16, "text"), (8, BINARY, ALL_BYTES, "binary")]
    {
        for (i, size) in rtt_sizes.into_iter().enumerate() {
            t.add(
                format!("9.{sub}.{}", i + 1),
                format!("Send 1000 {kind} messages of {size} bytes one at a time, each after the previous echo"),
                vec![Step::RoundTrips { count: 1000, opcode, size }],
                echo((0..1000).map(|_| msg(opcode, repeat(fill, size))).collect()),
            );
        }
    }
}

/// `pattern` repeated, starting at byte `offset` of the repetition: the payloads of the
/// fragments of one big repeated message.
fn repeat_at(pattern: &'static [u8], offset: usize, len: usize) -> Payload {
    Payload::Repeat { pattern, offset, len }
}

fn size_name(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

// ------------------------------------------------------------------ 10 auto-fragmentation

fn group10(t: &mut Table) {
    let cases: [(&str, u8, &'static [u8], &str); 3] = [
        ("10.1.1", TEXT, STAR, "text"),
        ("10.1.2", BINARY, ALL_BYTES, "binary"),
        ("10.1.3", TEXT, KOSME16, "text with multi-byte code points split across frames"),
    ];
    for (id, opcode, fill, kind) in cases {
        let total = 65536;
        let frag = 1300;
        let mut frames = Vec::new();
        let mut at = 0;
        let data = repeat(fill, total).to_vec();
        while at < total {
            let end = (at + frag).min(total);
            frames.push(
                frame(if at == 0 { opcode } else { CONT }, data[at..end].to_vec())
                    .fin(end == total),
            );
            at = end;
        }
        t.add(
            id,
            format!("Send a 64 KiB {kind} message auto-fragmented into frames of {frag} bytes; the echo may be framed any way"),
            vec![send(frames)],
            echo(vec![msg(opcode, repeat(fill, total))]),
        );
    }
}

// ------------------------------------------------------------------ B beyond Autobahn

fn group_b(t: &mut Table) {
    let hello = b"Hello, world!";
    t.add(
        "B.1.1",
        "Masking by role (§5.1): as client we send an unmasked frame (a server must fail); as server a masked one (a client must fail)",
        vec![send(vec![text(hello).mask(Mask::Flip)])],
        fail(PROTO),
    );
    t.add(
        "B.1.2",
        "A masked frame whose key is all zeros is valid (§5.3)",
        vec![send(vec![text(hello).mask(Mask::Zero)])],
        echo(vec![msg(TEXT, hello)]),
    )
    .only = Some(Only::Client);
    let long: Vec<u8> = repeat(b"x", 200).to_vec();
    let hello_back = || echo(vec![msg(TEXT, hello)]);
    for (i, (f, what, tolerated)) in [
        (
            text(hello).len(Len::Form(LengthForm::Extended16)),
            "a 13-byte text frame with a 16-bit length",
            hello_back(),
        ),
        (
            text(hello).len(Len::Form(LengthForm::Extended64)),
            "a 13-byte text frame with a 64-bit length",
            hello_back(),
        ),
        (
            binary(long).len(Len::Form(LengthForm::Extended64)),
            "a 200-byte binary frame with a 64-bit length",
            echo(vec![msg(BINARY, repeat(b"x", 200))]),
        ),
        (
            ping(hello).len(Len::Form(LengthForm::Extended16)),
            "a Ping with a 16-bit length",
            echo_pongs(vec![], vec![hello.into()]),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        t.add(
            format!("B.2.{}", i + 1),
            format!("Non-minimal length encoding (§5.2: \"the minimal number of bytes MUST be used\"): {what}"),
            vec![send(vec![f])],
            Expect::Fail {
                codes: PROTO,
                before: vec![],
                pongs_before: vec![],
                fast: false,
                tolerated: Some(Box::new(tolerated)),
            },
        )
        .tags |= TAG_NON_MINIMAL;
    }
    t.add(
        "B.3.1",
        "A 64-bit length with the most significant bit set (§5.2: it MUST be 0), 13 payload bytes follow",
        vec![send(vec![text(hello).len(Len::Declared((1 << 63) | 13))])],
        fail(PROTO),
    );
    t.add(
        "B.3.2",
        "A 64-bit length of 2^64-1 and no payload: fail on the header alone",
        vec![send(vec![binary(b"").len(Len::Declared(u64::MAX))])],
        fail(PROTO),
    );
    t.add(
        "B.4.1",
        "A Pong with a 126-byte payload (§5.5)",
        vec![send(vec![pong(repeat(FE, 126))])],
        fail(PROTO),
    );
    t.add(
        "B.4.2",
        "A Ping whose header announces 65536 bytes (64-bit form), the payload 500 ms later: fail fast, on the header",
        vec![send_chop(vec![ping(repeat(FE, 65536))], Chop::Cuts { at: vec![0], delay_ms: 500 })],
        Expect::Fail { codes: PROTO, before: vec![], pongs_before: vec![], fast: true, tolerated: None },
    );
    t.add(
        "B.4.3",
        "A Close with a 1-byte payload sent in octet-wise chops",
        vec![send_chop(vec![frame(CLOSE, b"\x03")], octets())],
        fail(PROTO),
    );
    t.add(
        "B.5.1",
        "Data after the Close: a frame with a reserved opcode and RSV bits follows our Close; it must be ignored, not answered with 1002",
        vec![send(vec![close(1000, b""), frame(5, b"junk").rsv(7)])],
        close_reply(vec![Some(1000)], vec![]),
    );
    t.add(
        "B.5.2",
        "Data after the Close: invalid UTF-8 text follows our Close; it must be ignored",
        vec![send(vec![close(1000, b""), text(&b"\xff\xfe"[..])])],
        close_reply(vec![Some(1000)], vec![]),
    );
    t.add(
        "B.5.3",
        "Data after the Close: a frame with the wrong masking for our role follows our Close; it must be ignored",
        vec![send(vec![close(1000, b""), text(hello).mask(Mask::Flip)])],
        close_reply(vec![Some(1000)], vec![]),
    );
    t.add(
        "B.6.1",
        "RSV1 set on a continuation frame",
        vec![send(vec![text(b"fragment1").fin(false), cont(b"fragment2").rsv(4)])],
        fail(PROTO),
    );
    t.add("B.6.2", "RSV2 set on a Pong", vec![send(vec![pong(b"").rsv(2)])], fail(PROTO));
    let mut frames = vec![text(b"").fin(false)];
    frames.extend((0..10).map(|_| cont(b"").fin(false)));
    frames.push(cont(b"x"));
    t.add(
        "B.7.1",
        "A text message of 11 empty fragments and a 1-byte one",
        vec![send(frames)],
        echo(vec![msg(TEXT, b"x")]),
    );
    let data: Vec<u8> = (0..20u8).collect();
    let mut frames = Vec::new();
    let mut pongs = Vec::new();
    for (i, b) in data.iter().enumerate() {
        frames.push(frame(if i == 0 { BINARY } else { CONT }, vec![*b]).fin(i + 1 == data.len()));
        if i + 1 < data.len() {
            let p = Payload::Repeat { pattern: b"pingpong", offset: i, len: 125 - i };
            frames.push(ping(p.clone()));
            pongs.push(p);
        }
    }
    t.add(
        "B.7.2",
        "A binary message in 1-byte fragments with a Ping (up to 125 bytes) between every two, frame-wise chops",
        vec![send_chop(frames, framewise())],
        Expect::Echo { msgs: vec![msg(BINARY, data)], pongs, settle_ms: 300, last_pong_suffices: true },
    );
    t.add(
        "B.8.1",
        "A binary frame announcing 2^40 bytes (beyond any sane budget), none sent",
        vec![send(vec![binary(b"").len(Len::Declared(1 << 40))])],
        Expect::Informational("Limits are the implementation's (§10.4): failing at once with 1009 is what we recommend; waiting for the payload is allowed."),
    );
}

// ------------------------------------------------------------------ H handshake

fn group_h(t: &mut Table) {
    const STD: &str = "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n";
    let req = |raw: String, chop: usize| Some(Handshake::Request { raw, chop });
    let without = |name: &str| -> String {
        STD.split("\r\n").filter(|l| !l.starts_with(name)).collect::<Vec<_>>().join("\r\n")
    };
    let with = |extra: &str| format!("{STD}{extra}");
    let cases: Vec<(&str, String, usize, Expect)> = vec![
        (
            "Header names in lower and upper case, values in mixed case: accepted",
            "GET / HTTP/1.1\r\nhost: {host}\r\nUPGRADE: WebSocket\r\nconnection: upgrade\r\nsec-websocket-key: {key}\r\nSEC-WEBSOCKET-VERSION: 13\r\n".into(),
            0,
            Expect::Http { ok: &[101], nonstrict: &[] },
        ),
        (
            "`Connection: keep-alive, Upgrade` (a token list): accepted",
            STD.replace("Connection: Upgrade", "Connection: keep-alive, Upgrade"),
            0,
            Expect::Http { ok: &[101], nonstrict: &[] },
        ),
        (
            "`Connection` split over two header lines (keep-alive, Upgrade): accepted (RFC 7230 §3.2.2)",
            STD.replace("Connection: Upgrade", "Connection: keep-alive\r\nConnection: Upgrade"),
            0,
            Expect::Http { ok: &[101], nonstrict: &[400] },
        ),
        ("A valid request sent in 1-byte chops: accepted", STD.into(), 1, Expect::Http { ok: &[101], nonstrict: &[] }),
        ("No Sec-WebSocket-Key: 400", without("Sec-WebSocket-Key"), 0, Expect::Http { ok: &[400], nonstrict: &[] }),
        ("No Upgrade: 400 (426 tolerated)", without("Upgrade"), 0, Expect::Http { ok: &[400, 426], nonstrict: &[] }),
        ("No Connection: 400 (426 tolerated)", without("Connection"), 0, Expect::Http { ok: &[400, 426], nonstrict: &[] }),
        ("No Host: 400", without("Host"), 0, Expect::Http { ok: &[400], nonstrict: &[] }),
        ("Two Sec-WebSocket-Key fields: 400", with("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), 0, Expect::Http { ok: &[400], nonstrict: &[] }),
        (
            "A Sec-WebSocket-Key of 15 bytes (§4.1: it MUST decode to 16): 400",
            STD.replace("{key}", "dGhlIHNhbXBsZSBub25jZQ"),
            0,
            Expect::Http { ok: &[400], nonstrict: &[] },
        ),
        (
            "Sec-WebSocket-Version: 8: 426 with `Sec-WebSocket-Version: 13` (§4.2.2)",
            STD.replace("Version: 13", "Version: 8"),
            0,
            Expect::Http { ok: &[426], nonstrict: &[400] },
        ),
        ("No Sec-WebSocket-Version: 426 or 400", without("Sec-WebSocket-Version"), 0, Expect::Http { ok: &[426, 400], nonstrict: &[] }),
        ("Method POST (§4.1: MUST be GET): 405 or 400", STD.replace("GET", "POST"), 0, Expect::Http { ok: &[405, 400], nonstrict: &[] }),
        ("HTTP/1.0 (§4.1: at least 1.1): 400 or 505", STD.replace("HTTP/1.1", "HTTP/1.0"), 0, Expect::Http { ok: &[400, 505], nonstrict: &[426] }),
        (
            "An oversized head: one 20 KiB header line: 431 (RFC 6585)",
            with(&format!("X-Padding: {}\r\n", "a".repeat(20 << 10))),
            0,
            Expect::Http { ok: &[431], nonstrict: &[400, 413, 494] },
        ),
        (
            "An oversized head: 200 header fields of 100 bytes: 431 (RFC 6585)",
            with(&(0..200).map(|i| format!("X-Pad-{i:03}: {}\r\n", "b".repeat(88))).collect::<String>()),
            0,
            Expect::Http { ok: &[431], nonstrict: &[400, 413, 494] },
        ),
    ];
    for (i, (desc, raw, chop, expect)) in cases.into_iter().enumerate() {
        let case = t.add(format!("H.1.{}", i + 1), desc, vec![], expect);
        case.only = Some(Only::Client);
        case.handshake = req(format!("{raw}\r\n"), chop);
    }
    let responses = [
        (BadResponse::WrongAccept, "a wrong Sec-WebSocket-Accept", Expect::Refuse),
        (BadResponse::NoUpgrade, "no Upgrade field", Expect::Refuse),
        (BadResponse::NoConnection, "no Connection field", Expect::Refuse),
        (BadResponse::Status200, "status 200 instead of 101", Expect::Refuse),
        (
            BadResponse::UnofferedSubprotocol,
            "a subprotocol the client did not offer",
            Expect::Refuse,
        ),
        (BadResponse::UnofferedExtension, "an extension the client did not offer", Expect::Refuse),
        (
            BadResponse::OddButValid,
            "odd-case header names, `Connection: keep-alive, Upgrade`, `Upgrade: WebSocket` (valid)",
            echo(vec![msg(TEXT, hello_msg())]),
        ),
    ];
    for (i, (bad, desc, expect)) in responses.into_iter().enumerate() {
        let refuse = matches!(expect, Expect::Refuse);
        let verb = if refuse { "must refuse" } else { "must accept" };
        let case = t.add(
            format!("H.2.{}", i + 1),
            format!("The server's 101 has {desc}: the client {verb} it"),
            vec![send(vec![text(hello_msg())])],
            expect,
        );
        case.only = Some(Only::Server);
        case.handshake = Some(Handshake::Response(bad));
    }
}

fn hello_msg() -> &'static [u8] {
    b"Hello from the conformance server"
}
