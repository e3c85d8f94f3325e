//! §4.2.2: the server's answer — the 101, and the application's own refusals.

use bytes::BytesMut;
use rfc6455::handshake::{Accept, HandshakeError, HttpResponse, Limits, Request, RequestParser};

fn request(extra: &str) -> Request {
    let text = format!(
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    let mut buf = BytesMut::from(text.as_bytes());
    RequestParser::new(Limits::default()).parse(&mut buf).unwrap().unwrap()
}

#[test]
fn plain_101() {
    let r = request("").accept(&Accept::default()).unwrap();
    assert_eq!(
        String::from_utf8(r.to_bytes()).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
}

#[test]
fn extra_headers_follow_the_handshake_fields() {
    let r = request("Sec-WebSocket-Protocol: a, b\r\n")
        .accept(&Accept::new().subprotocol("b").header("Set-Cookie", "id=1"))
        .unwrap();
    let text = String::from_utf8(r.to_bytes()).unwrap();
    assert!(text.ends_with("Sec-WebSocket-Protocol: b\r\nSet-Cookie: id=1\r\n\r\n"), "{text}");
    // A 101 has no Content-Length and no Connection: close.
    assert!(!text.contains("Content-Length") && !text.contains("close"), "{text}");
}

#[test]
fn extensions_are_not_echoed_unless_accepted() {
    let req = request("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_eq!(req.extensions(), ["permessage-deflate"]);
    let text = String::from_utf8(req.accept(&Accept::default()).unwrap().to_bytes()).unwrap();
    assert!(!text.contains("Extensions"), "{text}");
    let err = req
        .accept(&Accept::new().header("Sec-WebSocket-Extensions", "permessage-deflate"))
        .unwrap_err();
    assert_eq!(err, HandshakeError::ReservedHeader { name: "Sec-WebSocket-Extensions".into() });
}

#[test]
fn choosing_an_unoffered_subprotocol_is_an_error() {
    let req = request("Sec-WebSocket-Protocol: chat\r\n");
    for chosen in ["superchat", "", "Chat"] {
        let err = req.accept(&Accept::new().subprotocol(chosen)).unwrap_err();
        assert_eq!(err, HandshakeError::SubprotocolNotOffered { chosen: chosen.into() });
        assert_eq!(err.response().unwrap().status, 500);
    }
    assert!(request("").accept(&Accept::new().subprotocol("chat")).is_err());
}

#[test]
fn the_application_rejects_with_its_own_response() {
    let req = request("Origin: http://evil.example\r\n");
    assert_eq!(req.origin(), Some("http://evil.example"));
    let reject = HttpResponse::new(403, "Forbidden")
        .header("X-Reason", "origin")
        .header("Content-Length", "999")
        .body("origin not allowed\n");
    assert_eq!(
        String::from_utf8(reject.to_bytes()).unwrap(),
        "HTTP/1.1 403 Forbidden\r\nX-Reason: origin\r\nConnection: close\r\n\
         Content-Length: 19\r\n\r\norigin not allowed\n"
    );
    // A Connection field of the application's own is kept.
    let keep = HttpResponse::new(401, "Unauthorized").header("Connection", "keep-alive");
    let text = String::from_utf8(keep.to_bytes()).unwrap();
    assert!(text.contains("Connection: keep-alive") && !text.contains("close"), "{text}");
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
}
