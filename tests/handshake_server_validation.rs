//! §4.2.1: every required part of the client's handshake, missing or wrong, gets the right
//! status and a typed reason.

use bytes::BytesMut;
use rfc6455::handshake::{HandshakeError, HttpResponse, Limits, Request, RequestParser};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A valid request line and header lines; tests edit the lines.
fn valid_lines() -> Vec<String> {
    vec![
        "GET /chat?room=1 HTTP/1.1".into(),
        "Host: server.example.com".into(),
        "Upgrade: websocket".into(),
        "Connection: Upgrade".into(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".into(),
    ]
}

fn parse_lines(lines: &[String]) -> Result<Request, HandshakeError> {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n\r\n");
    let mut buf = BytesMut::from(text.as_bytes());
    RequestParser::new(Limits::default()).parse(&mut buf).map(|r| r.expect("complete head"))
}

/// Replace the line starting with `prefix` (case-insensitive) by `line`, or drop it if `None`.
fn edit(prefix: &str, line: Option<&str>) -> Vec<String> {
    let mut lines = valid_lines();
    let i = lines
        .iter()
        .position(|l| l.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase()))
        .expect("line exists");
    match line {
        Some(l) => lines[i] = l.to_owned(),
        None => {
            lines.remove(i);
        }
    }
    lines
}

fn with_extra(extra: &[&str]) -> Vec<String> {
    let mut lines = valid_lines();
    lines.extend(extra.iter().map(|s| s.to_string()));
    lines
}

fn status_of(lines: &[String]) -> u16 {
    let err = parse_lines(lines).expect_err("should be refused");
    let response = err.response().expect("server-side error has a response");
    assert_eq!(Some(response.status), err.status());
    assert!(!response.body.is_empty(), "body explains: {err}");
    response.status
}

#[test]
fn valid_request_is_accepted() {
    let request = parse_lines(&valid_lines()).unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1"));
}

#[test]
fn each_required_part_missing_or_wrong() {
    #[rustfmt::skip]
    let table: Vec<(&str, Vec<String>, u16)> = vec![
        // §4.2.1 item 1: GET, HTTP/1.1 or higher
        ("POST", edit("GET", Some("POST /chat HTTP/1.1")), 405),
        ("lower-case get", edit("GET", Some("get /chat HTTP/1.1")), 405),
        ("HTTP/1.0", edit("GET", Some("GET /chat HTTP/1.0")), 400),
        ("HTTP/2.0", edit("GET", Some("GET /chat HTTP/2.0")), 400),
        ("target *", edit("GET", Some("GET * HTTP/1.1")), 400),
        ("authority target", edit("GET", Some("GET example.com:80 HTTP/1.1")), 400),
        // item 2: Host
        ("no Host", edit("Host", None), 400),
        ("empty Host", edit("Host", Some("Host: ")), 400),
        ("two Hosts", with_extra(&["Host: other.example"]), 400),
        // item 3: Upgrade
        ("no Upgrade", edit("Upgrade", None), 426),
        ("Upgrade h2c", edit("Upgrade", Some("Upgrade: h2c")), 426),
        ("Upgrade websocket2", edit("Upgrade", Some("Upgrade: websocket2")), 426),
        // item 4: Connection
        ("no Connection", edit("Connection", None), 400),
        ("Connection keep-alive", edit("Connection", Some("Connection: keep-alive")), 400),
        ("Connection Upgraded", edit("Connection", Some("Connection: Upgraded")), 400),
        // item 5: Sec-WebSocket-Key
        ("no key", edit("Sec-WebSocket-Key", None), 400),
        ("two keys", with_extra(&["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="]), 400),
        ("key not base64", edit("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: not base64!!")), 400),
        ("key 15 bytes", edit("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P")), 400),
        ("key 17 bytes", edit("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEBE=")), 400),
        ("key unpadded", edit("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ")), 400),
        ("key empty", edit("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: ")), 400),
        // item 6: Sec-WebSocket-Version
        ("no version", edit("Sec-WebSocket-Version", None), 426),
        ("version 8", edit("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 8")), 426),
        ("version 13, 8", edit("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 13, 8")), 426),
        ("two versions", with_extra(&["Sec-WebSocket-Version: 13"]), 400),
        // §4.1 item 10 / §9.1 grammar
        ("subprotocol not token", with_extra(&["Sec-WebSocket-Protocol: chat, sup er"]), 400),
        ("extension bad grammar", with_extra(&["Sec-WebSocket-Extensions: foo; =1"]), 400),
        // HTTP syntax
        ("bad header name", with_extra(&["Bad Name: x"]), 400),
    ];
    for (what, lines, status) in table {
        assert_eq!(status_of(&lines), status, "{what}");
    }
}

#[test]
fn typed_reasons() {
    use HandshakeError::*;
    assert_eq!(parse_lines(&edit("Host", None)).unwrap_err(), MissingHost);
    assert_eq!(parse_lines(&edit("Sec-WebSocket-Key", None)).unwrap_err(), MissingKey);
    assert_eq!(
        parse_lines(&with_extra(&[&format!("Sec-WebSocket-Key: {KEY}")])).unwrap_err(),
        DuplicateHeader { name: "Sec-WebSocket-Key" }
    );
    assert_eq!(
        parse_lines(&edit("Sec-WebSocket-Key", Some("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P")))
            .unwrap_err(),
        InvalidKey { key: "AQIDBAUGBwgJCgsMDQ4P".into(), decoded_len: Some(15) }
    );
    assert_eq!(
        parse_lines(&edit("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 8"))).unwrap_err(),
        UnsupportedVersion { found: Some("8".into()) }
    );
    assert_eq!(
        parse_lines(&edit("GET", Some("PUT /chat HTTP/1.1"))).unwrap_err(),
        MethodNotGet { method: "PUT".into() }
    );
    assert_eq!(
        parse_lines(&edit("Upgrade", Some("Upgrade: h2c"))).unwrap_err(),
        UpgradeNotWebSocket { found: Some("h2c".into()) }
    );
    assert_eq!(
        parse_lines(&edit("Connection", None)).unwrap_err(),
        ConnectionNotUpgrade { found: None }
    );
}

fn response_of(lines: &[String]) -> HttpResponse {
    parse_lines(lines).unwrap_err().response().unwrap()
}

#[test]
fn status_specific_headers() {
    // RFC 7231 §6.5.5: a 405 carries Allow.
    let r = response_of(&edit("GET", Some("POST /chat HTTP/1.1")));
    assert_eq!((r.status, r.reason.as_str()), (405, "Method Not Allowed"));
    assert_eq!(r.header_value("Allow"), Some("GET"));

    // §4.2.2 /version/: a 426 names the version we speak.
    let r = response_of(&edit("Sec-WebSocket-Version", Some("Sec-WebSocket-Version: 7")));
    assert_eq!((r.status, r.reason.as_str()), (426, "Upgrade Required"));
    assert_eq!(r.header_value("Sec-WebSocket-Version"), Some("13"));

    // RFC 7230 §6.7: a 426 carries Upgrade.
    let r = response_of(&edit("Upgrade", None));
    assert_eq!(r.header_value("Upgrade"), Some("websocket"));

    let r = response_of(&edit("Host", None));
    assert_eq!((r.status, r.reason.as_str()), (400, "Bad Request"));
    let text = String::from_utf8(r.to_bytes()).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
    assert!(text.contains(&format!("\r\nContent-Length: {}\r\n", r.body.len())), "{text}");
    assert!(text.ends_with("Host header (§4.1)\n"), "{text}");
}

#[test]
fn connection_lists_and_upgrade_lists() {
    for connection in [
        "Connection: keep-alive, Upgrade",
        "Connection: Upgrade, keep-alive",
        "Connection: upgrade",
        "Connection: UPGRADE",
        "Connection:keep-alive,Upgrade",
        "Connection: keep-alive ,\tUpgrade ",
        "Connection: keep-alive, , Upgrade",
    ] {
        parse_lines(&edit("Connection", Some(connection)))
            .unwrap_or_else(|e| panic!("{connection}: {e}"));
    }
    // Several Connection fields are one list.
    let mut lines = edit("Connection", Some("Connection: keep-alive"));
    lines.push("Connection: Upgrade".into());
    parse_lines(&lines).unwrap();

    for upgrade in ["Upgrade: WebSocket", "Upgrade: h2c, websocket", "Upgrade: websocket "] {
        parse_lines(&edit("Upgrade", Some(upgrade))).unwrap_or_else(|e| panic!("{upgrade}: {e}"));
    }
}

#[test]
fn header_names_in_any_case() {
    let lines: Vec<String> = vec![
        "GET /chat HTTP/1.1".into(),
        "HOST: server.example.com".into(),
        "upgrade: websocket".into(),
        "cOnNeCtIoN: Upgrade".into(),
        format!("sec-websocket-key: {KEY}"),
        "SEC-WEBSOCKET-VERSION: 13".into(),
        "sec-websocket-protocol: chat".into(),
        "ORIGIN: http://example.com".into(),
    ];
    let r = parse_lines(&lines).unwrap();
    assert_eq!(r.host(), "server.example.com");
    assert_eq!(r.origin(), Some("http://example.com"));
    assert_eq!(r.subprotocols(), ["chat"]);
    assert_eq!(r.header("Upgrade"), Some(&b"websocket"[..]));
    assert_eq!(r.header("SEC-WEBSOCKET-KEY"), Some(KEY.as_bytes()));
    assert_eq!(r.headers().iter().count(), 7);
}

#[test]
fn subprotocols_and_extensions_across_fields() {
    let r = parse_lines(&with_extra(&[
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Protocol: v2.json",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, foo",
        "Sec-WebSocket-Extensions: mux; max-channels=4; flow-control, bar; x=\"y\"",
    ]))
    .unwrap();
    assert_eq!(r.subprotocols(), ["chat", "superchat", "v2.json"]);
    assert_eq!(
        r.extensions(),
        [
            "permessage-deflate; client_max_window_bits",
            "foo",
            "mux; max-channels=4; flow-control",
            "bar; x=\"y\""
        ]
    );
}

#[test]
fn absolute_uri_target() {
    let r =
        parse_lines(&edit("GET", Some("GET http://server.example.com/chat?x=1 HTTP/1.1"))).unwrap();
    assert_eq!(r.path(), "/chat");
    assert_eq!(r.query(), Some("x=1"));
}

#[test]
fn every_error_explains_itself() {
    for lines in
        [edit("Host", None), edit("GET", Some("GET /chat HTTP/1.0")), edit("Upgrade", None)]
    {
        let err = parse_lines(&lines).unwrap_err();
        let text = err.to_string();
        assert!(text.len() > 20 && !text.contains("Todo"), "{text}");
    }
}
