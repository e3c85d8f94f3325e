//! Any bytes, cut anywhere: the parsers never panic, and the verdict does not depend on where
//! the reads happened to split the stream.

use bytes::BytesMut;
use proptest::prelude::*;
use rfc6455::handshake::{ClientRequest, HandshakeError, Limits, RequestParser};

const VALID: &[u8] =
    b"GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: foo; a=\"b\"\r\n\
Sec-WebSocket-Version: 13\r\n\r\n\x81\x80abcd";

/// Lines a request might hold, valid and not.
const DICTIONARY: &[&str] = &[
    "GET / HTTP/1.1",
    "GET /a?b HTTP/1.0",
    "POST / HTTP/1.1",
    "Host: h",
    "Host:",
    "Upgrade: websocket",
    "Upgrade: WebSocket, h2c",
    "Connection: Upgrade",
    "Connection: keep-alive",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Key: AAAA",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Version: 8",
    "Sec-WebSocket-Protocol: a, b",
    "Sec-WebSocket-Protocol: a b",
    "Sec-WebSocket-Extensions: x; y=1",
    "Sec-WebSocket-Extensions: ;",
    "X-Bad Name: 1",
    "",
    "\n",
];

fn request_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        // The valid request with a few bytes overwritten.
        proptest::collection::vec((0..VALID.len(), any::<u8>()), 0..4).prop_map(|edits| {
            let mut v = VALID.to_vec();
            for (i, b) in edits {
                v[i] = b;
            }
            v
        }),
        // Dictionary lines in any order.
        (
            proptest::collection::vec(0..DICTIONARY.len(), 0..14),
            proptest::collection::vec(any::<u8>(), 0..8)
        )
            .prop_map(|(lines, tail)| {
                let mut v = Vec::new();
                for i in lines {
                    v.extend_from_slice(DICTIONARY[i].as_bytes());
                    v.extend_from_slice(b"\r\n");
                }
                v.extend_from_slice(b"\r\n");
                v.extend_from_slice(&tail);
                v
            }),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0usize..500, 0usize..12).prop_map(|(b, h)| Limits { max_head_bytes: b, max_headers: h }),
    ]
}

/// Cut `input` into pieces of the given sizes (the last piece takes the rest).
fn chunks<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = input;
    for &s in sizes {
        let (a, b) = rest.split_at(s.min(rest.len()));
        out.push(a);
        rest = b;
    }
    out.push(rest);
    out
}

/// What a server makes of the stream: the verdict, and the bytes left for the frame layer.
#[derive(Debug, PartialEq)]
enum Verdict {
    Accepted { summary: String, rest: Vec<u8> },
    Refused(HandshakeError),
    Incomplete,
}

fn serve(pieces: &[&[u8]], limits: Limits) -> Verdict {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    for (i, piece) in pieces.iter().enumerate() {
        buf.extend_from_slice(piece);
        match parser.parse(&mut buf) {
            Ok(None) => {}
            Ok(Some(r)) => {
                let mut rest = buf.to_vec();
                for later in &pieces[i + 1..] {
                    rest.extend_from_slice(later);
                }
                let summary = format!(
                    "{} {} {:?} {} {:?} {:?} {:?}",
                    r.method(),
                    r.target(),
                    r.host(),
                    r.key(),
                    r.subprotocols(),
                    r.extensions(),
                    r.headers()
                );
                let _ = r.accept(&Default::default()).map(|a| a.to_bytes());
                return Verdict::Accepted { summary, rest };
            }
            Err(e) => {
                // Every refusal has an answer that can be written.
                let answer = e.response().expect("server-side errors have a response");
                let _ = answer.to_bytes();
                let _ = e.to_string();
                return Verdict::Refused(e);
            }
        }
    }
    Verdict::Incomplete
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn request_parsing_is_independent_of_chunking(
        input in request_bytes(),
        sizes in proptest::collection::vec(0usize..40, 0..30),
        limits in limits(),
    ) {
        let whole = serve(&[&input], limits);
        let pieces = chunks(&input, &sizes);
        prop_assert_eq!(serve(&pieces, limits), whole);
        let bytewise: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(serve(&bytewise, limits), serve(&[&input], limits));
    }

    #[test]
    fn response_parsing_never_panics_and_agrees_across_chunkings(
        input in proptest::collection::vec(any::<u8>(), 0..300),
        prefix in prop_oneof![
            Just(&b""[..]),
            Just(&b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"[..]),
            Just(&b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n"[..]),
        ],
        sizes in proptest::collection::vec(0usize..40, 0..30),
        limits in limits(),
    ) {
        let client = ClientRequest::new("ws://example.com/").unwrap().subprotocol("chat");
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&input);
        let run = |pieces: &[&[u8]]| {
            let mut parser = client.response_parser(limits);
            let mut buf = BytesMut::new();
            for piece in pieces {
                buf.extend_from_slice(piece);
                match parser.parse(&mut buf) {
                    Ok(None) => {}
                    Ok(Some(r)) => return format!("ok {:?}", r.subprotocol()),
                    // Without Content-Length a refusal's body is "what has arrived", which does
                    // depend on chunking; compare the status only.
                    Err(HandshakeError::Rejected(r)) => return format!("rejected {}", r.status),
                    Err(e) => return format!("{e:?}"),
                }
            }
            let _ = parser.parse_eof(&mut buf);
            "incomplete".to_owned()
        };
        let whole = run(&[&bytes]);
        prop_assert_eq!(run(&chunks(&bytes, &sizes)), whole);
    }

    #[test]
    fn url_parsing_never_panics(url in "\\PC{0,40}", tail in "[a-z:/\\[\\]?#@%0-9.]{0,20}") {
        let _ = ClientRequest::new(&url);
        if let Ok(r) = ClientRequest::new(&format!("ws://{tail}")) {
            // A URL that parses yields a request a server can read the target of.
            let mut buf = BytesMut::from(&r.to_bytes()[..]);
            let parsed = RequestParser::new(Limits::default()).parse(&mut buf);
            prop_assert!(parsed.is_ok(), "{:?} -> {:?}", tail, parsed);
        }
    }
}
