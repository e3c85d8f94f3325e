//! RFC 7692 negotiated through the real handshake: a client's `DeflateConfig` offer in the
//! request bytes, the server's choice among the request's offers, the 101's bytes, and the
//! client's check of them.

use bytes::BytesMut;
use rfc6455::deflate::{DeflateConfig, DeflateNegotiationError, DeflateParams};
use rfc6455::handshake::{Accept, ClientRequest, Limits, RequestParser};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Request bytes → server negotiation → 101 bytes → client check: both ends' parameters.
fn negotiate(
    client_cfg: &DeflateConfig,
    server_cfg: &DeflateConfig,
) -> (DeflateParams, DeflateParams, String) {
    let client = ClientRequest::with_key("ws://server.example.com/chat", KEY)
        .unwrap()
        .extension(client_cfg.client_offer());
    let mut wire = BytesMut::from(&client.to_bytes()[..]);
    let request = RequestParser::new(Limits::default()).parse(&mut wire).unwrap().unwrap();

    let outcome = server_cfg.negotiate_offers(request.extensions().iter().map(String::as_str));
    let agreed = outcome.accepted.expect("accepted");
    let answer = request.accept(&Accept::new().extension(agreed.response.clone())).unwrap();
    let bytes = answer.to_bytes();

    let mut wire = BytesMut::from(&bytes[..]);
    let response = client.response_parser(Limits::default()).parse(&mut wire).unwrap().unwrap();
    let client_params = client_cfg
        .check_response_extensions(response.extensions().iter().map(String::as_str))
        .unwrap()
        .expect("permessage-deflate accepted");
    (client_params, agreed.params, String::from_utf8(bytes).unwrap())
}

#[test]
fn defaults_agree_on_full_windows_with_context_takeover() {
    let (client, server, bytes) = negotiate(&DeflateConfig::default(), &DeflateConfig::default());
    assert_eq!(client, DeflateParams::default());
    assert_eq!(server, client);
    assert!(bytes.contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), "{bytes}");
}

#[test]
fn constrained_ends_meet_in_the_middle() {
    let client_cfg = DeflateConfig {
        compress_window_bits: 12,
        decompress_window_bits: 10,
        decompress_context_takeover: false,
        ..DeflateConfig::default()
    };
    let server_cfg = DeflateConfig {
        compress_window_bits: 9,
        decompress_window_bits: 11,
        compress_context_takeover: true,
        decompress_context_takeover: false,
        ..DeflateConfig::default()
    };
    let (client, server, bytes) = negotiate(&client_cfg, &server_cfg);
    assert_eq!(client, server);
    assert_eq!(
        client,
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(9),
            client_max_window_bits: Some(11),
        }
    );
    assert!(
        bytes.contains(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11\r\n"
        ),
        "{bytes}"
    );
}

/// A browser's request, as Chromium sends it, answered by a server that wants small windows.
#[test]
fn chromium_request_bytes() {
    let mut wire = BytesMut::from(
        &b"GET /chat HTTP/1.1\r\nHost: localhost:9001\r\nConnection: Upgrade\r\n\
           Upgrade: websocket\r\nOrigin: http://localhost:8000\r\nSec-WebSocket-Version: 13\r\n\
           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
           Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"[..],
    );
    let request = RequestParser::new(Limits::default()).parse(&mut wire).unwrap().unwrap();
    let server = DeflateConfig {
        compress_window_bits: 10,
        decompress_window_bits: 10,
        ..DeflateConfig::default()
    };
    let agreed = server.negotiate_offers(request.extensions().iter().map(String::as_str));
    let agreed = agreed.accepted.unwrap();
    let answer = request.accept(&Accept::new().extension(agreed.response)).unwrap();
    assert_eq!(
        String::from_utf8(answer.to_bytes()).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; \
         client_max_window_bits=10\r\n\r\n"
    );
}

/// A server that declines every offer simply leaves the field out; the client goes on
/// without compression.
#[test]
fn declined_offers_leave_the_connection_uncompressed() {
    let client_cfg = DeflateConfig::default();
    let client =
        ClientRequest::with_key("ws://h/", KEY).unwrap().extension(client_cfg.client_offer());
    let mut wire = BytesMut::from(
        &b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
           Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7, \
           permessage-deflate; mystery\r\n\r\n"[..],
    );
    let request = RequestParser::new(Limits::default()).parse(&mut wire).unwrap().unwrap();
    let outcome =
        DeflateConfig::default().negotiate_offers(request.extensions().iter().map(String::as_str));
    assert!(outcome.accepted.is_none());
    let reasons: Vec<_> = outcome.declined.iter().map(|d| d.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            DeflateNegotiationError::InvalidValue {
                param: "client_max_window_bits",
                value: Some("7".into())
            },
            DeflateNegotiationError::UnknownParameter("mystery".into()),
        ]
    );
    let bytes = request.accept(&Accept::new()).unwrap().to_bytes();
    let mut wire = BytesMut::from(&bytes[..]);
    let response = client.response_parser(Limits::default()).parse(&mut wire).unwrap().unwrap();
    assert_eq!(
        client_cfg.check_response_extensions(response.extensions().iter().map(String::as_str)),
        Ok(None)
    );
}

/// Bytes from a server that breaks RFC 7692: the handshake passes them (the names were
/// offered), the extension's check fails the connection.
#[test]
fn client_fails_on_bad_101_parameters() {
    let client_cfg = DeflateConfig { decompress_window_bits: 10, ..DeflateConfig::default() };
    let client =
        ClientRequest::with_key("ws://h/", KEY).unwrap().extension(client_cfg.client_offer());
    for (field, expected) in [
        (
            "permessage-deflate; server_max_window_bits=12",
            DeflateNegotiationError::WindowLargerThanOffered {
                param: "server_max_window_bits",
                offered: 10,
                answered: 12,
            },
        ),
        (
            "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=10",
            DeflateNegotiationError::AcceptedTwice,
        ),
        (
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=9",
            DeflateNegotiationError::DuplicateParameter("server_max_window_bits".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=10; compress=yes",
            DeflateNegotiationError::UnknownParameter("compress".into()),
        ),
    ] {
        let bytes = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Extensions: {field}\r\n\r\n"
        );
        let mut wire = BytesMut::from(bytes.as_bytes());
        let response = client.response_parser(Limits::default()).parse(&mut wire).unwrap().unwrap();
        assert_eq!(
            client_cfg.check_response_extensions(response.extensions().iter().map(String::as_str)),
            Err(expected),
            "{field}"
        );
    }
}
