//! The cases of ours that Autobahn|Testsuite does not have: group B (framing rules Autobahn
//! does not check) and group H (the opening handshake, both ways). They have the strict
//! verdict only.

use rfc6455::frame::LengthForm;

use crate::cases::*;
use crate::model::*;

// ------------------------------------------------------------------ B beyond Autobahn

pub fn group_b(t: &mut Table) {
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
        vec![send_chop(vec![ping(repeat(FE, 65536))], Chop::Cuts { at: vec![0], delay_ms: 500, marks: vec![] })],
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

pub fn group_h(t: &mut Table) {
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
