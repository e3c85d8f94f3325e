//! Client and server halves agree: the bytes of a `ClientRequest` are a request a
//! `RequestParser` accepts, and the 101 from `Request::accept` is one the client accepts.

use bytes::BytesMut;
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, Limits, RequestParser};

#[test]
fn client_request_to_server_and_back() {
    let client = ClientRequest::new("ws://[::1]:9001/chat?room=7")
        .unwrap()
        .origin("http://example.com")
        .subprotocol("v2.chat")
        .subprotocol("v1.chat")
        .header("Cookie", "session=abc");

    // Client → server, with the first frame right behind the head.
    let mut wire = BytesMut::from(&client.to_bytes()[..]);
    wire.extend_from_slice(&[0x89, 0x80, 1, 2, 3, 4]); // masked empty ping
    let request = RequestParser::new(Limits::default()).parse(&mut wire).unwrap().unwrap();
    assert_eq!(&wire[..], &[0x89, 0x80, 1, 2, 3, 4]);
    assert_eq!(request.target(), "/chat?room=7");
    assert_eq!(request.host(), "[::1]:9001");
    assert_eq!(request.key(), client.key());
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.subprotocols(), ["v2.chat", "v1.chat"]);
    assert_eq!(request.header("cookie"), Some(&b"session=abc"[..]));

    // Server → client, with a first frame behind the 101.
    let chosen = request.subprotocols()[1].clone();
    let answer = request.accept(&Accept::new().subprotocol(chosen)).unwrap();
    let mut wire = BytesMut::from(&answer.to_bytes()[..]);
    wire.extend_from_slice(&[0x81, 0x00]);
    let response = client.response_parser(Limits::default()).parse(&mut wire).unwrap().unwrap();
    assert_eq!(response.subprotocol(), Some("v1.chat"));
    assert_eq!(&wire[..], &[0x81, 0x00]);
}

#[test]
fn a_server_refusal_reaches_the_client_whole() {
    let client = ClientRequest::new("ws://example.com/").unwrap();
    let mut bytes = client.to_bytes();
    // Break the version: the server answers 426, the client sees the 426 and its body.
    let text = String::from_utf8(bytes).unwrap().replace("Version: 13", "Version: 8");
    bytes = text.into_bytes();
    let err =
        RequestParser::new(Limits::default()).parse(&mut BytesMut::from(&bytes[..])).unwrap_err();
    let refusal = err.response().unwrap();

    let mut wire = BytesMut::from(&refusal.to_bytes()[..]);
    match client.response_parser(Limits::default()).parse(&mut wire).unwrap_err() {
        HandshakeError::Rejected(r) => {
            assert_eq!(r.status, 426);
            assert_eq!(r.header_value("Sec-WebSocket-Version"), Some("13"));
            assert_eq!(r.body, refusal.body);
        }
        other => panic!("{other:?}"),
    }
    assert!(wire.is_empty());
}

#[test]
fn a_101_for_another_key_is_refused() {
    let a = ClientRequest::new("ws://example.com/").unwrap();
    let b = ClientRequest::new("ws://example.com/").unwrap();
    let request = RequestParser::new(Limits::default())
        .parse(&mut BytesMut::from(&a.to_bytes()[..]))
        .unwrap()
        .unwrap();
    let answer = request.accept(&Accept::default()).unwrap().to_bytes();
    let err = b.response_parser(Limits::default()).parse(&mut BytesMut::from(&answer[..]));
    assert!(matches!(err, Err(HandshakeError::AcceptMismatch { .. })), "{err:?}");
}
