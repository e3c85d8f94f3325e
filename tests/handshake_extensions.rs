//! §4.1 step 5, §4.2.2 /extensions/, §9.1: extensions carried through the handshake — the
//! client offers elements, the server reads them and accepts some, the client checks that
//! only offered names come back. No extension is interpreted here.

use bytes::BytesMut;
use rfc6455::handshake::{
    Accept, ClientRequest, HandshakeError, Limits, Request, RequestParser, Response,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn client() -> ClientRequest {
    ClientRequest::with_key("ws://server.example.com/chat", KEY)
        .unwrap()
        .extension("permessage-deflate; client_max_window_bits")
        .extension("x-private; level=\"2\"")
}

fn server_reads(bytes: &[u8]) -> Request {
    let mut buf = BytesMut::from(bytes);
    RequestParser::new(Limits::default()).parse(&mut buf).unwrap().unwrap()
}

fn client_reads(client: &ClientRequest, bytes: &[u8]) -> Result<Response, HandshakeError> {
    let mut buf = BytesMut::from(bytes);
    client.response_parser(Limits::default()).parse(&mut buf).map(|r| r.expect("complete"))
}

fn response_with(extension_lines: &[&str]) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {ACCEPT}\r\n"
    );
    for line in extension_lines {
        text.push_str(&format!("Sec-WebSocket-Extensions: {line}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

#[test]
fn offers_are_one_field_in_order() {
    let client = client();
    assert_eq!(
        client.extensions(),
        ["permessage-deflate; client_max_window_bits", "x-private; level=\"2\""]
    );
    let text = String::from_utf8(client.to_bytes()).unwrap();
    assert!(
        text.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, \
             x-private; level=\"2\"\r\n"
        ),
        "{text}"
    );
    assert_eq!(text.matches("Sec-WebSocket-Extensions").count(), 1);
    // No offer, no field.
    let none = ClientRequest::with_key("ws://h/", KEY).unwrap().to_bytes();
    assert!(!String::from_utf8(none).unwrap().contains("Extensions"));
}

#[test]
fn offered_accepted_and_read_back() {
    let client = client();
    let request = server_reads(&client.to_bytes());
    assert_eq!(request.extensions(), client.extensions());

    let accept = Accept::new().extension("x-private; level=2").extension("permessage-deflate");
    let answer = request.accept(&accept).unwrap();
    let bytes = answer.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    // §11.3.2: one field in the response, the elements in the order they apply.
    assert!(
        text.contains("\r\nSec-WebSocket-Extensions: x-private; level=2, permessage-deflate\r\n"),
        "{text}"
    );
    assert_eq!(text.matches("Sec-WebSocket-Extensions").count(), 1);

    let response = client_reads(&client, &bytes).unwrap();
    assert_eq!(response.extensions(), ["x-private; level=2", "permessage-deflate"]);
}

#[test]
fn offers_across_fields_and_lists_are_one_list() {
    let request = server_reads(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Extensions: foo, permessage-deflate; server_max_window_bits=10\r\n\
          Sec-WebSocket-Extensions:  permessage-deflate \r\n\r\n",
    );
    assert_eq!(
        request.extensions(),
        ["foo", "permessage-deflate; server_max_window_bits=10", "permessage-deflate"]
    );
}

#[test]
fn no_extension_accepted_no_field() {
    let client = client();
    let request = server_reads(&client.to_bytes());
    let bytes = request.accept(&Accept::new()).unwrap().to_bytes();
    assert!(!String::from_utf8(bytes.clone()).unwrap().contains("Extensions"));
    assert!(client_reads(&client, &bytes).unwrap().extensions().is_empty());
}

#[test]
fn server_cannot_accept_what_was_not_offered() {
    let request = server_reads(&client().to_bytes());
    for element in ["mux", "Permessage-Deflate", "x-private-2; level=2"] {
        let err = request.accept(&Accept::new().extension(element)).unwrap_err();
        assert_eq!(err, HandshakeError::ExtensionNotOffered { chosen: element.into() });
        assert_eq!(err.status(), Some(500), "our side's mistake");
    }
    let err = request.accept(&Accept::new().extension("permessage-deflate;")).unwrap_err();
    assert_eq!(
        err,
        HandshakeError::InvalidAcceptedExtension { value: "permessage-deflate;".into() }
    );
    assert_eq!(err.status(), Some(500));
    // The field itself stays reserved to the handshake.
    let err = request
        .accept(&Accept::new().header("Sec-WebSocket-Extensions", "permessage-deflate"))
        .unwrap_err();
    assert_eq!(err, HandshakeError::ReservedHeader { name: "Sec-WebSocket-Extensions".into() });
}

#[test]
fn client_fails_on_an_extension_it_did_not_offer() {
    let client = client();
    for (lines, found) in [
        (&["mux"][..], "mux"),
        (&["permessage-deflate, deflate-frame"][..], "deflate-frame"),
        // Names are compared exactly.
        (&["PERMESSAGE-DEFLATE"][..], "PERMESSAGE-DEFLATE"),
    ] {
        let err = client_reads(&client, &response_with(lines)).unwrap_err();
        assert_eq!(err, HandshakeError::UnofferedExtension { found: found.into() });
        assert_eq!(err.status(), None, "a client never answers");
        assert!(err.to_string().contains(found));
    }
    // Offering nothing: anything is unoffered.
    let bare = ClientRequest::with_key("ws://h/", KEY).unwrap();
    let err = client_reads(&bare, &response_with(&["permessage-deflate"])).unwrap_err();
    assert_eq!(err, HandshakeError::UnofferedExtension { found: "permessage-deflate".into() });
}

#[test]
fn client_fails_on_a_malformed_element() {
    for bad in ["permessage-deflate;", "permessage-deflate; x=\"a b\"", "a b"] {
        let err = client_reads(&client(), &response_with(&[bad])).unwrap_err();
        assert_eq!(err, HandshakeError::ResponseInvalidExtensions { value: bad.into() });
    }
}

/// §4.2.2 step 6 lets a server split its list over several fields (§11.3.2 says it must
/// not; we write one and read either).
#[test]
fn client_reads_a_list_split_over_fields() {
    let response =
        client_reads(&client(), &response_with(&["x-private", "permessage-deflate "])).unwrap();
    assert_eq!(response.extensions(), ["x-private", "permessage-deflate"]);
}

/// The same extension twice is the extension's business (RFC 7692 §5 forbids it for
/// permessage-deflate; see tests/handshake_permessage_deflate.rs), not the handshake's.
#[test]
fn handshake_carries_a_repeated_name() {
    let response = client_reads(&client(), &response_with(&["x-private, x-private"])).unwrap();
    assert_eq!(response.extensions(), ["x-private", "x-private"]);
}
