//! §1.3 and §4.2.2: the RFC's own handshake example, verbatim, in both directions.

use bytes::BytesMut;
use rfc6455::handshake::{Accept, ClientRequest, GUID, Limits, RequestParser, accept_key};

/// §1.3: "if ... the |Sec-WebSocket-Key| header field had the value
/// "dGhlIHNhbXBsZSBub25jZQ==", ... to give the value "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="".
#[test]
fn accept_key_of_the_rfc_example() {
    assert_eq!(GUID, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // "minus any leading and trailing whitespace"
    assert_eq!(accept_key(b"  dGhlIHNhbXBsZSBub25jZQ== \t"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
\r\n";

#[test]
fn server_reads_the_rfc_request_and_answers_the_rfc_response() {
    let mut buf = BytesMut::from(RFC_REQUEST);
    let request = RequestParser::new(Limits::default()).parse(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    assert_eq!(request.method(), "GET");
    assert_eq!(request.target(), "/chat");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), None);
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(request.version(), 13);
    assert_eq!(request.subprotocols(), ["chat", "superchat"]);
    assert!(request.extensions().is_empty());

    let response = request.accept(&Accept::new().subprotocol("chat")).unwrap();
    assert_eq!(response.to_bytes(), RFC_RESPONSE);
}

#[test]
fn client_writes_the_rfc_request_and_accepts_the_rfc_response() {
    let client =
        ClientRequest::with_key("ws://server.example.com/chat", "dGhlIHNhbXBsZSBub25jZQ==")
            .unwrap()
            .origin("http://example.com")
            .subprotocol("chat")
            .subprotocol("superchat");
    // Same fields, in the order this crate writes them.
    let expected = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
\r\n";
    assert_eq!(String::from_utf8_lossy(&client.to_bytes()), String::from_utf8_lossy(expected));

    let mut buf = BytesMut::from(RFC_RESPONSE);
    let response = client.response_parser(Limits::default()).parse(&mut buf).unwrap().unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(response.subprotocol(), Some("chat"));
    assert!(buf.is_empty());
}

/// §4.1 step 7's example key has non-zero trailing bits (an erratum); it is still 16 bytes of
/// base64, and a server accepts it.
#[test]
fn the_section_4_1_example_key_is_accepted() {
    let request = String::from_utf8_lossy(RFC_REQUEST)
        .replace("dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEC==");
    let mut buf = BytesMut::from(request.as_bytes());
    let request = RequestParser::new(Limits::default()).parse(&mut buf).unwrap().unwrap();
    assert_eq!(request.key(), "AQIDBAUGBwgJCgsMDQ4PEC==");
}
