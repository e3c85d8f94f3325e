//! Group 6, UTF-8 handling: Autobahn's cases 6.1–6.23 (`case/case6_*.py`, the vectors of
//! `case/case6_x_x.py`: Markus Kuhn's decoder stress test, grouped as Autobahn groups them),
//! and 6.24–6.26 of ours (where an invalid sequence sits, how it arrives).

use crate::cases::*;
use crate::model::*;

/// Autobahn's `createUtf8TestSequences()` (case6_x_x.py), 6.5–6.23: each vector goes out as
/// one text message; valid or not is decided by `std::str::from_utf8` (RFC 3629: no
/// overlongs, no surrogates, nothing above U+10FFFF), as by Autobahn's validator.
fn utf8_vectors() -> Vec<(u32, &'static str, Vec<Vec<u8>>)> {
    let v = |items: &[&[u8]]| items.iter().map(|b| b.to_vec()).collect::<Vec<_>>();
    // Autobahn's ranges exclude their upper bound (Python's xrange).
    let lonely = |lo: u8, hi: u8| (lo..hi).flat_map(|b| [b, b' ']).collect::<Vec<u8>>();
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
    // U+FFFE, U+FFFF, then planes 1–16: z1 z2 BF z3 for the lead and second bytes that
    // reach a plane's last two code points.
    let mut noncharacters: Vec<Vec<u8>> = v(&[b"\xef\xbf\xbe", b"\xef\xbf\xbf"]);
    for z1 in [0xf0u8, 0xf1, 0xf2, 0xf3, 0xf4] {
        for z2 in [0x8fu8, 0x9f, 0xaf, 0xbf] {
            if z1 == 0xf4 && z2 != 0x8f {
                continue; // above U+10FFFF
            }
            for z3 in [0xbeu8, 0xbf] {
                if z1 == 0xf0 && z2 == 0x8f {
                    continue; // overlong
                }
                noncharacters.push(vec![z1, z2, 0xbf, z3]);
            }
        }
    }
    vec![
        (
            5,
            "some valid UTF-8 sequences",
            v(&[
                b"hello\x24world",
                b"hello\xc2\xa2world",
                b"hello\xe2\x82\xacworld",
                b"hello\xf0\xa4\xad\xa2world",
                KOSME,
            ]),
        ),
        (6, "all prefixes of κόσμε", (1..=KOSME.len()).map(|n| KOSME[..n].to_vec()).collect()),
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
            items.push((0x80..0xbf).collect());
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
            "Unicode specials, the replacement character among them (valid UTF-8)",
            v(&[
                b"\xef\xbf\xb9",
                b"\xef\xbf\xba",
                b"\xef\xbf\xbb",
                b"\xef\xbf\xbc",
                b"\xef\xbf\xbd",
                b"\xef\xbf\xbe",
                b"\xef\xbf\xbf",
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

/// Autobahn's expectation for a text message of `payload`: its echo (then Autobahn closes,
/// 1000, clean), or, when it is not UTF-8, the peer fails the connection with 1007
/// (`closedByWrongEndpointIsFatal`: a peer that did not fail it did not see the bad UTF-8).
fn ab_utf8(payload: &[u8]) -> Autobahn {
    if is_utf8(payload) {
        ab_echo(vec![rx_msg(TEXT, payload)])
    } else {
        let mut close = failed_by_peer(UTF8);
        close.wrong_endpoint_fatal = true;
        ab(vec![], close)
    }
}

/// Ours: the echo if valid UTF-8, else a failure with 1007 (before our last write when
/// `fast`).
fn expect_utf8(payload: &[u8], fast: bool) -> Expect {
    if is_utf8(payload) {
        echo(vec![msg(TEXT, payload)])
    } else {
        Expect::Fail { codes: UTF8, before: vec![], pongs_before: vec![], fast, tolerated: None }
    }
}

fn tag(case: &mut Case, payload: &[u8]) {
    if !is_utf8(payload) {
        case.tags |= TAG_INVALID_UTF8;
    }
}

/// A shared case about a text message of `payload`.
fn utf8_shared(
    t: &mut Table,
    id: String,
    desc: String,
    steps: Vec<Step>,
    payload: &[u8],
    fast: bool,
) {
    let case = t.shared(id, desc, steps, expect_utf8(payload, fast), ab_utf8(payload));
    tag(case, payload);
}

/// A case of ours about a text message of `payload`.
fn utf8_ours(
    t: &mut Table,
    id: String,
    desc: String,
    steps: Vec<Step>,
    payload: &[u8],
    fast: bool,
) {
    let case = t.add(id, desc, steps, expect_utf8(payload, fast));
    tag(case, payload);
}

pub fn group6(t: &mut Table) {
    // Autobahn: case/case6_1_1.py … case6_1_3.py: empty text, 3 empty fragments, 3
    // fragments with only the middle one non-empty. closeAfter(1).
    let middle: &[u8] = b"middle frame payload";
    for (id, desc, frames, data) in [
        ("6.1.1", "Send an empty text message", vec![text(b"")], &b""[..]),
        (
            "6.1.2",
            "Send a text message of 3 empty fragments",
            vec![text(b"").fin(false), cont(b"").fin(false), cont(b"")],
            &b""[..],
        ),
        (
            "6.1.3",
            "Send a text message of 3 fragments, the first and last empty",
            vec![text(b"").fin(false), cont(middle).fin(false), cont(b"")],
            middle,
        ),
    ] {
        utf8_shared(
            t,
            id.into(),
            desc.into(),
            vec![send(frames), Step::CloseAfter(1000)],
            data,
            false,
        );
    }

    // Autobahn: case/case6_2_1.py … case6_2_4.py: valid UTF-8 in one frame, in 2 fragments
    // cut at a code point boundary, and (`sendMessage(fragmentSize = 1)`) in 1-octet
    // fragments, which Autobahn ends with an empty final continuation frame. closeAfter(1).
    let hello = "Hello-µ@ßöäüàá-UTF-8!!".as_bytes();
    let (a, b) = hello.split_at("Hello-µ@ßöä".len());
    for (id, desc, frames, data) in [
        ("6.2.1", "Send valid UTF-8 text in one fragment", vec![text(hello)], hello),
        (
            "6.2.2",
            "Send valid UTF-8 text in 2 fragments split at a code point boundary",
            vec![text(a).fin(false), cont(b)],
            hello,
        ),
        (
            "6.2.3",
            "Send valid UTF-8 text in fragments of 1 octet (code points split), then an empty final fragment",
            fragmented_bytes(TEXT, hello, 1),
            hello,
        ),
        (
            "6.2.4",
            "Send κόσμε in fragments of 1 octet (code points split), then an empty final fragment",
            fragmented_bytes(TEXT, KOSME, 1),
            KOSME,
        ),
    ] {
        utf8_shared(
            t,
            id.into(),
            desc.into(),
            vec![send(frames), Step::CloseAfter(1000)],
            data,
            false,
        );
    }

    // Autobahn: case/case6_3_1.py, case6_3_2.py: κόσμε, a surrogate, "edited", in one frame
    // and in 1-octet fragments. killAfter(1).
    let bad: Vec<u8> = [KOSME, b"\xed\xa0\x80", b"edited"].concat();
    utf8_shared(
        t,
        "6.3.1".into(),
        "Send invalid UTF-8 text (a surrogate) in one fragment".into(),
        vec![send(vec![text(bad.clone())]), Step::KillAfter(1000)],
        &bad,
        false,
    );
    utf8_shared(
        t,
        "6.3.2".into(),
        "Send invalid UTF-8 text (a surrogate) in fragments of 1 octet".into(),
        vec![send(fragmented_bytes(TEXT, &bad, 1)), Step::KillAfter(1000)],
        &bad,
        false,
    );

    // Autobahn: case/case6_4_1.py … case6_4_4.py, fail fast. κόσμε, then U+110000 (f4 90 80
    // 80: invalid at its 2nd octet), then "edited", in 3 parts 1 s apart (`continueLater`):
    // 6.4.1 and 6.4.2 as 3 frames, 6.4.3 and 6.4.4 as 3 chops of one frame with FIN = 0
    // that `endMessage` ends with an empty continuation frame. 6.4.1 and 6.4.3 cut after
    // κόσμε and after the code point, 6.4.2 and 6.4.4 after its first and second octets.
    // ("timeout", A) / ("timeout", B) are recorded when each part goes out while open:
    // OK is [A] (failed on the second part), NON-STRICT [A, B] (failed after the whole
    // message); killAfter(1) after the third part.
    let whole: Vec<u8> = [KOSME, b"\xf4\x90\x80\x80", b"edited"].concat();
    let fast_ab = || {
        let mut close = failed_by_peer(UTF8);
        close.wrong_endpoint_fatal = true;
        ab_or(vec![Rx::Timeout("A")], vec![Rx::Timeout("A"), Rx::Timeout("B")], close)
    };
    let fast_expect = || expect_utf8(&whole, true);
    for (id, cut, how) in [
        ("6.4.1", [11usize, 15], "κόσμε; U+110000 (f4 90 80 80); \"edited\""),
        ("6.4.2", [12, 13], "κόσμε and f4; 90 (the octet that makes it invalid); 80 80 \"edited\""),
    ] {
        let (p1, rest) = whole.split_at(cut[0]);
        let (p2, p3) = rest.split_at(cut[1] - cut[0]);
        t.shared(
            id,
            format!("Fail fast: a text message in 3 fragments 1 s apart: {how}"),
            vec![
                send(vec![text(p1).fin(false)]),
                Step::Wait(1000),
                Step::Mark("A"),
                send(vec![cont(p2).fin(false)]),
                Step::Wait(1000),
                Step::Mark("B"),
                send(vec![cont(p3)]),
                Step::KillAfter(1000),
            ],
            fast_expect(),
            fast_ab(),
        )
        .tags |= TAG_INVALID_UTF8;
    }
    for (id, cut, how) in [
        ("6.4.3", [11usize, 15], "κόσμε; U+110000 (f4 90 80 80); \"edited\""),
        ("6.4.4", [12, 13], "κόσμε and f4; 90 (the octet that makes it invalid); 80 80 \"edited\""),
    ] {
        t.shared(
            id,
            format!("Fail fast: one text frame (FIN = 0) in 3 chops 1 s apart: {how}; then an empty final frame"),
            vec![
                send_chop(
                    vec![text(whole.clone()).fin(false), cont(b"")],
                    Chop::Cuts { at: cut.to_vec(), delay_ms: 1000, marks: vec!["A", "B"] },
                ),
                Step::KillAfter(1000),
            ],
            fast_expect(),
            fast_ab(),
        )
        .tags |= TAG_INVALID_UTF8;
    }

    // Autobahn: case/case6_x_x.py: each vector of `utf8_vectors` as one text frame;
    // killAfter(0.5).
    for (sub, what, vectors) in utf8_vectors() {
        for (i, payload) in vectors.iter().enumerate() {
            let valid = if is_utf8(payload) { "valid" } else { "invalid" };
            utf8_shared(
                t,
                format!("6.{sub}.{}", i + 1),
                format!("Send {valid} UTF-8 in one text frame ({what}): {}", hex(payload)),
                vec![send(vec![text(payload.clone())]), Step::KillAfter(500)],
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
            utf8_ours(
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
            utf8_ours(
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
            utf8_ours(
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
