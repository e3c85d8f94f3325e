//! Group 7, close handling: Autobahn's cases (`case/case7_*.py`), and 7.8 and 7.9.10 of
//! ours (close codes Autobahn does not try).
//!
//! Autobahn starts every case of group 7 with `killAfter(1)`; from 7.1.2 on, the Close of
//! the case is its own (`suppressClose`). A WRONG CODE `behaviorClose` fails `behavior`
//! too (`onConnectionLost` of each case7 class), except in 7.1.6 and 7.13, which are
//! INFORMATIONAL whatever happens.

use crate::cases::*;
use crate::model::*;

/// Autobahn's `expectedClose` of group 7 with its group rule.
fn ab7(ok: Vec<Rx>, close: ExpectClose) -> Autobahn {
    Autobahn { rule: Rule::WrongCodeFails, suppress_close: true, ..ab(ok, close) }
}

/// `{"closedByMe": True, "closeCode": codes, "requireClean": False}`: Autobahn's Close is
/// invalid, the peer must answer with a protocol error (or drop TCP).
fn refused(codes: &[u16]) -> ExpectClose {
    ExpectClose { require_clean: false, ..closed_by_me(codes) }
}

pub fn group7(t: &mut Table) {
    let hello = b"Hello World!";
    let normal = vec![Some(1000)];
    let kill = || Step::KillAfter(1000);

    // Autobahn: case/case7_1_1.py: a text message; Autobahn closes once it is echoed.
    t.shared(
        "7.1.1",
        "Send a text message; once it is echoed, a Close",
        vec![send(vec![text(hello)]), kill()],
        echo(vec![msg(TEXT, hello)]),
        Autobahn { suppress_close: false, ..ab7(vec![rx_msg(TEXT, hello)], closed_by_me(&[1000])) },
    );
    // Autobahn: case/case7_1_2.py … case7_1_5.py: a Close (1000), then a second Close
    // without payload, a Ping, a text message, or (7.1.5) the end of a message begun
    // before the Close: all must be ignored.
    for (id, desc, frames) in [
        (
            "7.1.2",
            "Send two Close frames (the second without payload): the second is ignored",
            vec![close(1000, b"").closing(), frame(CLOSE, b"")],
        ),
        (
            "7.1.3",
            "Send a Ping after a Close: no Pong",
            vec![close(1000, b"").closing(), ping(b"")],
        ),
        (
            "7.1.4",
            "Send a text message after a Close: no echo",
            vec![close(1000, b"").closing(), text(hello)],
        ),
        (
            "7.1.5",
            "Send a message fragment, a Close, then the last fragment: no echo",
            vec![text(b"fragment1").fin(false), close(1000, b"").closing(), cont(b"fragment2")],
        ),
    ] {
        t.shared(
            id,
            desc,
            vec![send(frames), kill()],
            close_reply(normal.clone(), vec![]),
            ab7(vec![], closed_by_me(&[1000])),
        );
    }
    // Autobahn: case/case7_1_6.py: 256 KiB of "BAsd7&jh23", "Hello World!", a Close and
    // a Ping back to back; INFORMATIONAL (OK = the small message echoed, NON-STRICT = no
    // echo, in its words).
    t.shared(
        "7.1.6",
        "Send a 256 KiB text message, a small one, a Close and a Ping back to back",
        vec![
            send(vec![
                text(repeat(b"BAsd7&jh23", 256 << 10)),
                text(hello),
                close(1000, b"").closing(),
                ping(b""),
            ]),
            kill(),
        ],
        Expect::Informational("Whether the messages are echoed before the Close is the peer's choice (the Close may be processed while the echo is still being written)."),
        Autobahn {
            rule: Rule::Informational,
            ..ab7(vec![rx_msg(TEXT, hello)], closed_by_me(&[1000]))
        }
        .with_non_strict(vec![]),
    );

    // Autobahn: case/case7_3_1.py … case7_3_6.py: the Close's payload length: 0, 1 ("a"),
    // 2 (1000), 1000 with a reason, with a 123-byte reason, with a 124-byte one (126
    // bytes: too long for a control frame).
    t.shared(
        "7.3.1",
        "Send a Close without payload",
        vec![send(vec![frame(CLOSE, b"").closing()]), kill()],
        close_reply(vec![None, Some(1000)], vec![]),
        ab7(vec![], closed_by_me(&[1000])),
    );
    t.shared(
        "7.3.2",
        "Send a Close with a 1-byte payload",
        vec![send(vec![frame(CLOSE, b"a").closing()]), kill()],
        fail(PROTO),
        ab7(vec![], refused(PROTO)),
    );
    for (id, desc, reason) in [
        ("7.3.3", "Send a Close with code 1000", Vec::new()),
        ("7.3.4", "Send a Close with code 1000 and a reason", hello.to_vec()),
        ("7.3.5", "Send a Close with code 1000 and a 123-byte reason", vec![b'*'; 123]),
    ] {
        t.shared(
            id,
            desc,
            vec![send(vec![close(1000, &reason).closing()]), kill()],
            close_reply(normal.clone(), vec![]),
            ab7(vec![], closed_by_me(&[1000])),
        );
    }
    t.shared(
        "7.3.6",
        "Send a Close with code 1000 and a 124-byte reason (126-byte payload)",
        vec![send(vec![close(1000, &[b'*'; 124]).closing()]), kill()],
        fail(PROTO),
        ab7(vec![], refused(PROTO)),
    );
    // Autobahn: case/case7_5_1.py: a reason that is not UTF-8 (κόσμε, a surrogate, "edited").
    let bad_reason: Vec<u8> = [KOSME, b"\xed\xa0\x80", b"edited"].concat();
    t.shared(
        "7.5.1",
        "Send a Close with a reason that is not UTF-8",
        vec![send(vec![close(1000, &bad_reason).closing()]), kill()],
        fail(REASON),
        ab7(vec![], refused(&[1002, 1007])),
    );
    // Autobahn: case/case7_7_X.py: valid codes; the answer may carry 1000 or the code. The
    // strict verdict wants the code echoed (§5.5.1: "typically echos the status code").
    for (i, code) in
        [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
            .into_iter()
            .enumerate()
    {
        t.shared(
            format!("7.7.{}", i + 1),
            format!("Send a Close with valid close code {code}: it is echoed"),
            vec![send(vec![close(code, b"").closing()]), kill()],
            close_reply(vec![Some(code)], vec![]),
            Autobahn { suppress_close: false, ..ab7(vec![], closed_by_me(&[1000, code])) },
        );
    }
    // Ours: the codes registered with IANA after RFC 6455.
    for (i, code) in [1012u16, 1013, 1014].into_iter().enumerate() {
        t.add(
            format!("7.8.{}", i + 1),
            format!("Send a Close with code {code} (registered with IANA after RFC 6455)"),
            vec![send(vec![close(code, b"")])],
            Expect::Informational("RFC 6455 reserves 1012–1014; the IANA registry later assigned them: echoing them or failing with 1002 are both defensible."),
        );
    }
    // Autobahn: case/case7_9_X.py: invalid codes; the answer must be 1002 (or TCP dropped).
    for (i, code) in [0u16, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].into_iter().enumerate() {
        t.shared(
            format!("7.9.{}", i + 1),
            format!("Send a Close with invalid close code {code}"),
            vec![send(vec![close(code, b"").closing()]), kill()],
            fail(PROTO),
            Autobahn { suppress_close: false, ..ab7(vec![], refused(PROTO)) },
        );
    }
    // Ours: 1015 (TLS handshake failure), which may never be sent either.
    t.add(
        "7.9.10",
        "Send a Close with invalid close code 1015",
        vec![send(vec![close(1015, b"")])],
        fail(PROTO),
    );
    // Autobahn: case/case7_13_1.py, case7_13_2.py: codes above every range of §7.4.2;
    // INFORMATIONAL.
    for (i, code) in [5000u16, 65535].into_iter().enumerate() {
        t.shared(
            format!("7.13.{}", i + 1),
            format!("Send a Close with close code {code} (outside every range of §7.4.2)"),
            vec![send(vec![close(code, b"").closing()]), kill()],
            Expect::Informational(
                "§7.4.2 defines no range above 4999: echoing or failing are both seen in practice.",
            ),
            Autobahn { rule: Rule::Informational, ..ab7(vec![], refused(&[1000, code, 1002])) },
        );
    }
}
