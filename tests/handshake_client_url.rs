//! §3: ws:// URIs, and the request a client builds from one (§4.1).

use rfc6455::handshake::{ClientRequest, HandshakeError, UrlProblem, WsUrl};

#[test]
fn valid_urls() {
    #[rustfmt::skip]
    let table = [
        ("ws://example.com", "example.com", 80, "/", "example.com"),
        ("ws://example.com/", "example.com", 80, "/", "example.com"),
        ("WS://Example.com/chat", "Example.com", 80, "/chat", "Example.com"),
        ("wS://example.com:8080/chat?room=1&x=%23", "example.com", 8080, "/chat?room=1&x=%23", "example.com:8080"),
        ("ws://example.com?q", "example.com", 80, "/?q", "example.com"),
        ("ws://example.com/p?", "example.com", 80, "/p", "example.com"),
        ("ws://example.com:80/", "example.com", 80, "/", "example.com"),
        ("ws://example.com:/", "example.com", 80, "/", "example.com"),
        ("ws://127.0.0.1:9001/a/b", "127.0.0.1", 9001, "/a/b", "127.0.0.1:9001"),
        ("ws://[::1]/", "::1", 80, "/", "[::1]"),
        ("ws://[::1]:9001/x", "::1", 9001, "/x", "[::1]:9001"),
        ("ws://[2001:db8::7]:65535", "2001:db8::7", 65535, "/", "[2001:db8::7]:65535"),
    ];
    for (url, host, port, resource, host_header) in table {
        let parsed = WsUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            parsed,
            WsUrl { secure: false, host: host.into(), port, resource: resource.into() },
            "{url}"
        );
        assert_eq!(parsed.host_header(), host_header, "{url}");
        let request = ClientRequest::new(url).unwrap();
        let text = String::from_utf8(request.to_bytes()).unwrap();
        assert!(text.starts_with(&format!("GET {resource} HTTP/1.1\r\n")), "{text}");
        assert!(text.contains(&format!("\r\nHost: {host_header}\r\n")), "{text}");
    }
}

#[test]
fn invalid_urls() {
    use UrlProblem::*;
    #[rustfmt::skip]
    let table = [
        ("example.com/chat", MissingScheme),
        ("", MissingScheme),
        ("ws:example.com", MissingScheme),
        ("http://example.com/", UnsupportedScheme("http".into())),
        ("ftp://x", UnsupportedScheme("ftp".into())),
        ("ws://example.com/chat#frag", Fragment),
        ("ws://example.com#", Fragment),
        ("ws://", MissingHost),
        ("ws:///chat", MissingHost),
        ("ws://:80/", MissingHost),
        ("ws://user:pw@example.com/", UserInfo),
        ("ws://example.com:0/", InvalidPort),
        ("ws://example.com:65536/", InvalidPort),
        ("ws://example.com:http/", InvalidPort),
        ("ws://example.com:-1/", InvalidPort),
        ("ws://[::1/", InvalidHost),
        ("ws://[::1]x/", InvalidHost),
        ("ws://[example.com]/", InvalidHost),
        ("ws://::1/", MissingHost),
        ("ws://fe80::1/", InvalidPort),
        ("ws://exa<mple.com/", InvalidHost),
        ("ws://example.com/a b", InvalidCharacter),
        (" ws://example.com/", InvalidCharacter),
        ("ws://example.com/\r\nX: y", InvalidCharacter),
        ("ws://bücher.example/", InvalidCharacter),
    ];
    for (url, problem) in table {
        let err = WsUrl::parse(url).expect_err(url);
        assert_eq!(err, HandshakeError::InvalidUrl { url: url.into(), problem }, "{url}");
        assert!(err.response().is_none());
        assert!(ClientRequest::new(url).is_err());
    }
}

#[test]
fn wss_urls_default_to_port_443() {
    // §3: "the default for "wss" is port 443"; the Host header omits the default port.
    #[rustfmt::skip]
    let table = [
        ("wss://example.com/", 443, "example.com", "wss://example.com/"),
        ("WSS://example.com:443/chat", 443, "example.com", "wss://example.com/chat"),
        ("wss://example.com:80/", 80, "example.com:80", "wss://example.com:80/"),
        ("wss://[::1]:9443/x?y", 9443, "[::1]:9443", "wss://[::1]:9443/x?y"),
    ];
    for (url, port, host_header, shown) in table {
        let parsed = WsUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(parsed.secure, "{url}");
        assert_eq!((parsed.port, parsed.scheme()), (port, "wss"), "{url}");
        assert_eq!(parsed.host_header(), host_header, "{url}");
        assert_eq!(parsed.to_string(), shown, "{url}");
        let text = String::from_utf8(ClientRequest::new(url).unwrap().to_bytes()).unwrap();
        assert!(text.contains(&format!("\r\nHost: {host_header}\r\n")), "{text}");
    }
    assert!(!WsUrl::parse("ws://example.com:443/").unwrap().secure);
    assert_eq!(WsUrl::parse("ws://example.com:443/").unwrap().host_header(), "example.com:443");
}

#[test]
fn every_request_has_a_fresh_16_byte_key() {
    use base64::Engine as _;
    let a = ClientRequest::new("ws://example.com/").unwrap();
    let b = ClientRequest::new("ws://example.com/").unwrap();
    assert_ne!(a.key(), b.key());
    for r in [&a, &b] {
        let raw = base64::engine::general_purpose::STANDARD.decode(r.key()).unwrap();
        assert_eq!(raw.len(), 16);
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.contains(&format!("\r\nSec-WebSocket-Key: {}\r\n", r.key())));
    }
}

#[test]
fn request_bytes_with_every_option() {
    let r = ClientRequest::with_key("ws://[::1]:9001/chat?x=1", "AQIDBAUGBwgJCgsMDQ4PEA==")
        .unwrap()
        .origin("http://example.com")
        .subprotocol("chat")
        .subprotocol("superchat")
        .header("Cookie", "a=b")
        .header("Authorization", "Bearer t\r\nInjected: yes");
    assert_eq!(r.url().port, 9001);
    assert_eq!(r.subprotocols(), ["chat", "superchat"]);
    let expected = "GET /chat?x=1 HTTP/1.1\r\n\
Host: [::1]:9001\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Cookie: a=b\r\n\
Authorization: Bearer t  Injected: yes\r\n\
\r\n";
    assert_eq!(String::from_utf8(r.to_bytes()).unwrap(), expected);
}
