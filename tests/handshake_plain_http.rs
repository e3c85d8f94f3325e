//! A server that serves plain HTTP next to its WebSocket endpoint (a page, a health check):
//! `RequestParser::parse_http` tokenises a head without judging it as an opening handshake,
//! and `HttpRequest::into_handshake` judges it (§4.2.1) exactly as `parse` would.

use bytes::BytesMut;
use rfc6455::handshake::{HandshakeError, Limits, RequestParser};

const UPGRADE: &[u8] = b"GET /ws?name=ann HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\r\n";

#[test]
fn a_plain_get_is_handed_out_with_its_path_and_headers() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(
        &b"GET /index.html?x=1 HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n"[..],
    );
    let head = parser.parse_http(&mut buf).expect("valid HTTP").expect("complete");
    assert_eq!(head.method(), "GET");
    assert_eq!(head.path(), "/index.html");
    assert_eq!(head.query(), Some("x=1"));
    assert_eq!(head.header("accept"), Some(&b"text/html"[..]));
    assert!(!head.is_websocket_upgrade());
    assert!(buf.is_empty(), "the head is consumed");
    // Judged as a handshake, it is what `parse` says of it: no Upgrade, 426 per §4.2.2.
    let err = head.into_handshake().expect_err("not a WebSocket request");
    assert!(matches!(err, HandshakeError::UpgradeNotWebSocket { .. }), "{err:?}");
}

#[test]
fn an_upgrade_judged_later_equals_parse() {
    let mut direct = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(UPGRADE);
    buf.extend_from_slice(b"\x81\x80frame");
    let request = direct.parse(&mut buf).expect("valid").expect("complete");

    let mut split = RequestParser::new(Limits::default());
    let mut buf2 = BytesMut::from(UPGRADE);
    buf2.extend_from_slice(b"\x81\x80frame");
    let head = split.parse_http(&mut buf2).expect("valid HTTP").expect("complete");
    assert!(head.is_websocket_upgrade());
    assert_eq!(head.path(), "/ws");
    let judged = head.into_handshake().expect("a valid handshake");
    assert_eq!(judged.key(), request.key());
    assert_eq!(judged.target(), request.target());
    assert_eq!(judged.origin(), Some("http://example.com"));
    // Bytes after the head (the client's first frames) stay in the buffer either way.
    assert_eq!(&buf[..], &buf2[..]);
    assert_eq!(&buf2[..], b"\x81\x80frame");
}

#[test]
fn head_budgets_and_syntax_still_apply() {
    let limits = Limits { max_head_bytes: 64, ..Limits::default() };
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nX-Long: "[..]);
    buf.extend_from_slice(&[b'a'; 100]);
    let err = parser.parse_http(&mut buf).expect_err("over budget");
    assert_eq!(err.status(), Some(431), "{err:?}");
    // A failure is final, for both entry points.
    assert!(parser.parse_http(&mut buf).is_err());
    assert!(parser.parse(&mut buf).is_err());

    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"[..]);
    let err = parser.parse_http(&mut buf).expect_err("malformed");
    assert_eq!(err.status(), Some(400), "{err:?}");
}

#[test]
fn a_split_head_needs_more_bytes() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    for chunk in UPGRADE.chunks(7) {
        assert!(parser.parse_http(&mut buf).expect("valid so far").is_none());
        buf.extend_from_slice(chunk);
    }
    let head = parser.parse_http(&mut buf).expect("valid").expect("complete");
    assert!(head.into_handshake().is_ok());
}
