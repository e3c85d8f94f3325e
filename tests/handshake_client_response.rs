//! §4.1: how a client validates the server's answer.

use bytes::BytesMut;
use rfc6455::handshake::{ClientRequest, HandshakeError, Limits, Response, ResponseParser};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn client() -> ClientRequest {
    ClientRequest::with_key("ws://server.example.com/chat", KEY)
        .unwrap()
        .subprotocol("chat")
        .subprotocol("superchat")
}

fn good_lines() -> Vec<String> {
    vec![
        "HTTP/1.1 101 Switching Protocols".into(),
        "Upgrade: websocket".into(),
        "Connection: Upgrade".into(),
        format!("Sec-WebSocket-Accept: {ACCEPT}"),
    ]
}

fn head(lines: &[String]) -> Vec<u8> {
    format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes()
}

fn parse(lines: &[String]) -> Result<Response, HandshakeError> {
    let mut buf = BytesMut::from(&head(lines)[..]);
    client().response_parser(Limits::default()).parse(&mut buf).map(|r| r.expect("complete"))
}

fn without(prefix: &str) -> Vec<String> {
    good_lines().into_iter().filter(|l| !l.starts_with(prefix)).collect()
}

fn plus(extra: &[&str]) -> Vec<String> {
    let mut lines = good_lines();
    lines.extend(extra.iter().map(|s| s.to_string()));
    lines
}

#[test]
fn a_good_101_is_accepted_and_frames_after_it_stay() {
    let mut buf = BytesMut::from(&head(&plus(&["Sec-WebSocket-Protocol: superchat"]))[..]);
    buf.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    let response = client().response_parser(Limits::default()).parse(&mut buf).unwrap().unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(response.reason(), "Switching Protocols");
    assert_eq!(response.subprotocol(), Some("superchat"));
    assert_eq!(response.header("sec-websocket-accept"), Some(ACCEPT.as_bytes()));
    assert_eq!(&buf[..], &[0x81, 0x02, b'h', b'i']);
}

#[test]
fn tolerated_variations() {
    for lines in [
        plus(&[]),
        vec![
            "HTTP/1.1 101 Whatever".into(),
            "UPGRADE: WebSocket".into(),
            "connection: keep-alive, upgrade".into(),
            format!("sec-websocket-accept:   {ACCEPT}  "),
        ],
    ] {
        let r = parse(&lines).unwrap_or_else(|e| panic!("{lines:?}: {e}"));
        assert_eq!(r.subprotocol(), None);
    }
}

#[test]
fn invalid_101s() {
    use HandshakeError::*;
    #[rustfmt::skip]
    let table: Vec<(&str, Vec<String>, HandshakeError)> = vec![
        ("missing Upgrade", without("Upgrade"), ResponseUpgradeNotWebSocket { found: None }),
        ("Upgrade h2c", { let mut l = without("Upgrade"); l.push("Upgrade: h2c".into()); l },
            ResponseUpgradeNotWebSocket { found: Some("h2c".into()) }),
        ("Upgrade websocket, h2c", { let mut l = without("Upgrade"); l.push("Upgrade: websocket, h2c".into()); l },
            ResponseUpgradeNotWebSocket { found: Some("websocket, h2c".into()) }),
        ("missing Connection", without("Connection"), ResponseConnectionNotUpgrade { found: None }),
        ("missing Accept", without("Sec-WebSocket-Accept"),
            AcceptMismatch { expected: ACCEPT.into(), found: None }),
        ("wrong Accept", { let mut l = without("Sec-WebSocket-Accept"); l.push("Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()); l },
            AcceptMismatch { expected: ACCEPT.into(), found: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()) }),
        ("Accept of the raw key", { let mut l = without("Sec-WebSocket-Accept"); l.push(format!("Sec-WebSocket-Accept: {KEY}")); l },
            AcceptMismatch { expected: ACCEPT.into(), found: Some(KEY.into()) }),
        ("two Accepts", plus(&[&format!("Sec-WebSocket-Accept: {ACCEPT}")]),
            ResponseDuplicateHeader { name: "Sec-WebSocket-Accept" }),
        ("unoffered subprotocol", plus(&["Sec-WebSocket-Protocol: mqtt"]),
            UnofferedSubprotocol { found: "mqtt".into() }),
        ("subprotocol list", plus(&["Sec-WebSocket-Protocol: chat, superchat"]),
            UnofferedSubprotocol { found: "chat, superchat".into() }),
        ("two subprotocols", plus(&["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"]),
            ResponseDuplicateHeader { name: "Sec-WebSocket-Protocol" }),
        ("subprotocol case", plus(&["Sec-WebSocket-Protocol: CHAT"]),
            UnofferedSubprotocol { found: "CHAT".into() }),
        ("extension", plus(&["Sec-WebSocket-Extensions: permessage-deflate"]),
            UnofferedExtension { found: "permessage-deflate".into() }),
        ("malformed extension", plus(&["Sec-WebSocket-Extensions: permessage-deflate;"]),
            ResponseInvalidExtensions { value: "permessage-deflate;".into() }),
    ];
    for (what, lines, expected) in table {
        let err = parse(&lines).expect_err(what);
        assert_eq!(err, expected, "{what}");
        assert!(err.response().is_none(), "{what}: a client never answers");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn a_subprotocol_when_none_was_offered() {
    let client = ClientRequest::with_key("ws://h/", KEY).unwrap();
    let mut buf = BytesMut::from(&head(&plus(&["Sec-WebSocket-Protocol: chat"]))[..]);
    assert_eq!(
        client.response_parser(Limits::default()).parse(&mut buf).unwrap_err(),
        HandshakeError::UnofferedSubprotocol { found: "chat".into() }
    );
}

fn rejected(err: HandshakeError) -> rfc6455::handshake::HttpResponse {
    match err {
        HandshakeError::Rejected(r) => r,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[test]
fn non_101_with_content_length_waits_for_the_body() {
    let answer = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nnot allowed\n";
    let mut parser = client().response_parser(Limits::default());
    let mut buf = BytesMut::new();
    let mut result = Ok(None);
    for &b in answer.iter() {
        buf.extend_from_slice(&[b]);
        result = parser.parse(&mut buf);
        if !matches!(result, Ok(None)) {
            break;
        }
    }
    let r = rejected(result.unwrap_err());
    assert_eq!((r.status, r.reason.as_str()), (403, "Forbidden"));
    assert_eq!(r.header_value("content-type"), Some("text/plain"));
    assert_eq!(r.body, b"not allowed\n");
    assert!(buf.is_empty());
}

#[test]
fn non_101_without_content_length_takes_what_is_buffered() {
    let mut buf = BytesMut::from(&b"HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\nno such path"[..]);
    let r = rejected(client().response_parser(Limits::default()).parse(&mut buf).unwrap_err());
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"no such path");
}

#[test]
fn non_101_body_is_bounded_by_the_budget() {
    let limits = Limits { max_head_bytes: 256, max_headers: 8 };
    let mut buf = BytesMut::from(&b"HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n"[..]);
    let mut parser = client().response_parser(limits);
    assert!(parser.parse(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&[b'x'; 300]);
    let r = rejected(parser.parse(&mut buf).unwrap_err());
    assert_eq!(r.body.len(), 256);
}

#[test]
fn connection_closed_mid_body_or_mid_head() {
    let mut parser = client().response_parser(Limits::default());
    let mut buf =
        BytesMut::from(&b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 50\r\n\r\nlogin"[..]);
    assert!(parser.parse(&mut buf).unwrap().is_none());
    let r = rejected(parser.parse_eof(&mut buf).unwrap_err());
    assert_eq!((r.status, r.body.as_slice()), (401, &b"login"[..]));

    let mut parser = client().response_parser(Limits::default());
    let mut buf = BytesMut::from(&b"HTTP/1.1 101 Switching"[..]);
    assert!(parser.parse(&mut buf).unwrap().is_none());
    assert_eq!(parser.parse_eof(&mut buf).unwrap_err(), HandshakeError::ConnectionClosed);
}

#[test]
fn response_budgets() {
    let limits = Limits { max_head_bytes: 64, max_headers: 2 };
    let mut buf = BytesMut::from(&[b'H'; 64][..]);
    assert_eq!(
        client().response_parser(limits).parse(&mut buf).unwrap_err(),
        HandshakeError::HeadTooLarge { max: 64 }
    );
    let mut buf = BytesMut::from(&b"HTTP/1.1 101 S\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"[..]);
    assert_eq!(
        client().response_parser(limits).parse(&mut buf).unwrap_err(),
        HandshakeError::TooManyHeaders { max: 2 }
    );
}

#[test]
fn parser_is_cloneable_and_reusable_type() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
    assert_traits::<ResponseParser>();
    assert_traits::<HandshakeError>();
}
