//! Reading a head that arrives in pieces: budgets checked as bytes arrive (431), and bytes
//! after the head left for the WebSocket stream. The tests that count scanned bytes (linear
//! cost, CVE-2023-43669 class) need the parser's test-only counter and live beside it, in
//! `src/handshake/request.rs` (`tests::incremental`).

use bytes::BytesMut;
use rfc6455::handshake::{HandshakeError, Limits, RequestParser};

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// A masked text frame "Hi" the client may send right behind its handshake.
const FRAME: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2];

#[test]
fn bytes_after_the_head_are_preserved_when_they_arrive_together() {
    let mut buf = BytesMut::from(REQUEST);
    buf.extend_from_slice(FRAME);
    let request = RequestParser::new(Limits::default()).parse(&mut buf).unwrap();
    assert!(request.is_some());
    assert_eq!(&buf[..], FRAME);
}

#[test]
fn a_head_of_exactly_the_budget_is_accepted_one_more_byte_is_not() {
    let limits = Limits { max_head_bytes: REQUEST.len(), max_headers: 64 };
    let mut buf = BytesMut::from(REQUEST);
    assert!(RequestParser::new(limits).parse(&mut buf).unwrap().is_some());

    let limits = Limits { max_head_bytes: REQUEST.len() - 1, max_headers: 64 };
    let mut buf = BytesMut::from(REQUEST);
    assert_eq!(
        RequestParser::new(limits).parse(&mut buf).unwrap_err(),
        HandshakeError::HeadTooLarge { max: REQUEST.len() - 1 }
    );
}

#[test]
fn too_many_headers_is_431() {
    let limits = Limits::default();
    let mut head = REQUEST[..REQUEST.len() - 2].to_vec();
    for i in 0..limits.max_headers {
        head.extend_from_slice(format!("X-Extra-{i}: 1\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut buf = BytesMut::from(&head[..]);
    let err = RequestParser::new(limits).parse(&mut buf).unwrap_err();
    assert_eq!(err, HandshakeError::TooManyHeaders { max: 64 });
    assert_eq!(err.response().unwrap().status, 431);

    // Exactly the budget is fine.
    let limits = Limits { max_headers: 5, ..Limits::default() };
    let mut buf = BytesMut::from(REQUEST);
    assert!(RequestParser::new(limits).parse(&mut buf).unwrap().is_some());
    let limits = Limits { max_headers: 4, ..Limits::default() };
    let mut buf = BytesMut::from(REQUEST);
    assert_eq!(RequestParser::new(limits).parse(&mut buf).unwrap_err().status(), Some(431));
}

#[test]
fn nothing_is_consumed_until_the_head_is_complete() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&REQUEST[..REQUEST.len() - 1]);
    assert!(parser.parse(&mut buf).unwrap().is_none());
    assert_eq!(buf.len(), REQUEST.len() - 1);
    buf.extend_from_slice(b"\n");
    assert!(parser.parse(&mut buf).unwrap().is_some());
    assert!(buf.is_empty());
}

#[test]
fn end_of_head_split_across_calls_at_every_point() {
    for split in 0..=REQUEST.len() {
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(&REQUEST[..split]);
        let first = parser.parse(&mut buf).unwrap();
        if split < REQUEST.len() {
            assert!(first.is_none(), "split {split}");
            buf.extend_from_slice(&REQUEST[split..]);
            assert!(parser.parse(&mut buf).unwrap().is_some(), "split {split}");
        } else {
            assert!(first.is_some());
        }
    }
}

#[test]
fn a_huge_header_budget_allocates_only_for_the_bytes_that_came() {
    let limits = Limits { max_head_bytes: usize::MAX, max_headers: usize::MAX };
    let mut buf = BytesMut::from(REQUEST);
    assert!(RequestParser::new(limits).parse(&mut buf).unwrap().is_some());
}
