//! The handshake dissector (§1.3, §4): the RFC's example request and response, and bad
//! requests flagged with the HTTP status a server answers.

use rfc6455::dissect;

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

#[track_caller]
fn has(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

#[test]
fn rfc_request() {
    let text = dissect::handshake(RFC_REQUEST);
    has(
        &text,
        &[
            "request line: GET /chat HTTP/1.1",
            "  Host: server.example.com\n    §4.2.1 item 2",
            "  Upgrade: websocket\n    §4.2.1 item 3",
            "  Connection: Upgrade\n    §4.2.1 item 4",
            "  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n    §4.2.1 item 5",
            "decodes to 16 bytes",
            "= s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "  Origin: http://example.com\n    §4.2.1 item 7",
            "  Sec-WebSocket-Version: 13\n    §4.2.1 item 6",
            "verdict: a valid opening handshake; the server would answer 101 Switching Protocols with Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ],
    );
    assert!(!text.contains('✗'), "{text}");
}

#[test]
fn rfc_response_with_and_without_the_key() {
    let text = dissect::handshake_response(RFC_RESPONSE, Some("dGhlIHNhbXBsZSBub25jZQ=="));
    has(
        &text,
        &[
            "status line: HTTP/1.1 101 Switching Protocols",
            "  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n",
            "expected for key dGhlIHNhbXBsZSBub25jZQ==: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "verdict: a valid 101",
        ],
    );
    assert!(!text.contains('✗'), "{text}");

    let text = dissect::handshake(RFC_RESPONSE);
    has(
        &text,
        &["not checked: the request's Sec-WebSocket-Key is unknown", "verdict: a valid 101"],
    );

    let text = dissect::handshake_response(RFC_RESPONSE, Some("AQIDBAUGBwgJCgsMDQ4PEC=="));
    has(
        &text,
        &[
            "✗ the server's Sec-WebSocket-Accept should be",
            "the client MUST _Fail the WebSocket Connection_",
        ],
    );
}

#[test]
fn request_then_response_then_frames() {
    let mut bytes = RFC_REQUEST.to_vec();
    bytes.extend_from_slice(RFC_RESPONSE);
    bytes.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    let text = dissect::stream(&bytes, None);
    has(
        &text,
        &[
            "HTTP request",
            "HTTP response",
            "expected for key dGhlIHNhbXBsZSBub25jZQ==: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "4 bytes follow the head: frames",
            "server → client",
            "payload: \"hi\"",
        ],
    );
    // A request followed by the client's masked frames.
    let mut bytes = RFC_REQUEST.to_vec();
    bytes.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    let text = dissect::stream(&bytes, None);
    has(&text, &["frame 1 at byte 230", "client → server", "payload: \"Hello\"", "verdict: ok"]);
}

#[test]
fn bad_version_is_426() {
    let request = String::from_utf8_lossy(RFC_REQUEST).replace("Version: 13", "Version: 8");
    let text = dissect::handshake(request.as_bytes());
    has(
        &text,
        &[
            "  Sec-WebSocket-Version: 8\n    §4.2.1 item 6: must be 13, at most once (§11.3.5)\n    ✗ this server speaks WebSocket version 13",
            "verdict: invalid (1 problem); the server would answer 426 Upgrade Required",
        ],
    );
}

#[test]
fn missing_upgrade_is_426() {
    let request = String::from_utf8_lossy(RFC_REQUEST).replace("Upgrade: websocket\r\n", "");
    let text = dissect::handshake(request.as_bytes());
    has(&text, &["(missing) Upgrade", "426 Upgrade Required"]);
}

#[test]
fn every_problem_is_listed_and_the_first_decides_the_status() {
    let request = b"POST /chat HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: keep-alive\r\n\
Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a b\r\n\r\n";
    let text = dissect::handshake(request);
    has(
        &text,
        &[
            "✗ a WebSocket handshake must be a GET request, not \"POST\"",
            "✗ the request has more than one Host header",
            "(missing) Upgrade",
            "✗ the Connection header must list \"Upgrade\"",
            "decodes to 5 bytes",
            "✗ Sec-WebSocket-Key \"c2hvcnQ=\" decodes to 5 bytes",
            "✗ Sec-WebSocket-Protocol element \"a b\" is not an HTTP token",
            "the server would answer 405 Method Not Allowed",
        ],
    );
}

#[test]
fn bad_key_is_400() {
    let request =
        String::from_utf8_lossy(RFC_REQUEST).replace("dGhlIHNhbXBsZSBub25jZQ==", "not base64!");
    let text = dissect::handshake(request.as_bytes());
    has(&text, &["not valid base64", "400 Bad Request"]);
}

#[test]
fn malformed_and_incomplete_heads() {
    let text = dissect::handshake(b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n");
    has(&text, &["✗ not a header field (no colon)", "400 Bad Request"]);
    let text = dissect::handshake(b"GET / HTTP/1.1\r\nHost: a\r\n");
    has(&text, &["incomplete head, 25 bytes and no blank line"]);
}

#[test]
fn refused_upgrade_response() {
    let text = dissect::handshake(
        b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
    );
    has(
        &text,
        &[
            "426: not 101, the upgrade was refused",
            "verdict: the server refused the upgrade with 426",
        ],
    );
}

#[test]
fn never_panics_on_heads() {
    let mut x: u32 = 0x9E37_79B9;
    let alphabet = b"GET HTTP/1.1\r\n: Upgrade websocket Connection Sec-WebSocket-Key 13 \xff\x00";
    for round in 0..2000 {
        let len = round % 120;
        let mut bytes = if round % 2 == 0 { b"GET ".to_vec() } else { b"HTTP/1.1 101 ".to_vec() };
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes.push(alphabet[(x as usize) % alphabet.len()]);
        }
        if round % 3 == 0 {
            bytes.extend_from_slice(b"\r\n\r\n\x81\x00");
        }
        let _ = dissect::handshake(&bytes);
        let _ = dissect::handshake_response(&bytes, Some("dGhlIHNhbXBsZSBub25jZQ=="));
        let _ = dissect::stream(&bytes, None);
    }
}
