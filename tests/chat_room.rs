//! `examples/chat`'s room, one instance without Redis (compiled in from
//! `examples/chat/server.rs`, run in-process on `127.0.0.1:0`), driven by our own client:
//!
//! - every line goes to everyone, the sender included, after a `welcome` and with `online`
//!   lists that follow joins and leaves;
//! - the slow-client policy: a client that stops reading while the room is busy is closed with
//!   1008 "too slow" once its bounded queue is full, and the room goes on at full speed
//!   (the fast client gets every one of its lines back);
//! - a closed client that never reads what is left is dropped after the close timeout (5 s);
//! - refusals: a binary message (1003), a line over the 4096-byte budget (1009), a missing or
//!   bad name (400), a page of another site (403, RFC 6455 §10.2), other paths (404); and
//!   `GET /` serves the page.
//!
//! The deployment (two instances, Redis, nginx, Chromium) is `tests/chat_deployment.rs`.

#[path = "../examples/chat/backplane.rs"]
#[allow(dead_code)]
mod backplane;
#[path = "../examples/chat/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::handshake::ClientRequest;
use rfc6455::{CloseCode, CloseFrame, Error, MaybeTlsStream, Message, WebSocket};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A chat instance on a free loopback port; its thread serves until the test process ends.
fn chat() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let options = server::Options { instance: "t".into(), allowed_origins: Vec::new() };
    let chat = server::Chat::new(listener, options, None).expect("chat");
    let addr = chat.local_addr().expect("addr").to_string();
    thread::spawn(move || chat.run());
    addr
}

fn join(addr: &str, name: &str) -> WebSocket<MaybeTlsStream> {
    let (ws, _) = rfc6455::connect(&format!("ws://{addr}/ws?name={name}")).expect("join");
    ws.get_ref().set_read_timeout(Some(TIMEOUT)).expect("timeout");
    ws
}

fn text(ws: &mut WebSocket<MaybeTlsStream>) -> String {
    match ws.read() {
        Ok(Message::Text(t)) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Read until a message containing `needle`; the ones before it are returned too.
fn until(ws: &mut WebSocket<MaybeTlsStream>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let t = text(ws);
        let found = t.contains(needle);
        seen.push(t);
        if found {
            return seen;
        }
    }
}

/// The close a refused client ends with (what it read last before the connection closed).
fn close_of(ws: &mut WebSocket<MaybeTlsStream>) -> Option<CloseFrame> {
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => return frame,
            Ok(_) => {}
            Err(e) => panic!("expected a Close, got {e}"),
        }
    }
}

/// One raw HTTP exchange: the status line and the whole answer.
fn http(addr: &str, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0; 8192];
    // Until the server closes (its refusals and the page), or the head of a 101 is there.
    loop {
        match stream.read(&mut chunk).expect("read") {
            0 => break,
            n => answer.extend_from_slice(&chunk[..n]),
        }
        if answer.starts_with(b"HTTP/1.1 101 ") && answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    // (A 101 may come with the first frames: the status line is what counts.)
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    (status, answer)
}

fn upgrade_request(target: &str, origin: Option<&str>) -> String {
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    format!(
        "GET {target} HTTP/1.1\r\nHost: HOST\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
    )
}

#[test]
fn every_line_reaches_everyone_the_sender_included() {
    let addr = chat();
    let mut ann = join(&addr, "ann");
    assert_eq!(text(&mut ann), r#"{"type":"welcome","you":"ann","instance":"t"}"#);
    assert_eq!(text(&mut ann), r#"{"type":"online","names":["ann"]}"#);
    let mut bob = join(&addr, "b%C3%B6b");
    assert_eq!(text(&mut bob), r#"{"type":"welcome","you":"böb","instance":"t"}"#);
    assert_eq!(text(&mut bob), r#"{"type":"online","names":["ann","böb"]}"#);
    assert_eq!(text(&mut ann), r#"{"type":"online","names":["ann","böb"]}"#);

    ann.send(Message::text("hi \"all\" ☃")).expect("send");
    let line = r#"{"type":"message","from":"ann","text":"hi \"all\" ☃","instance":"t"}"#;
    assert_eq!(text(&mut ann), line);
    assert_eq!(text(&mut bob), line);
    bob.send(Message::text("hello")).expect("send");
    let line = r#"{"type":"message","from":"böb","text":"hello","instance":"t"}"#;
    assert_eq!(text(&mut bob), line);
    assert_eq!(text(&mut ann), line);

    // Leaving: a clean close, and the others see the room without the one who left.
    bob.close(CloseCode::NORMAL, "bye").expect("close");
    // §5.5.1: the echo carries the status code received (the reason is ours to choose).
    assert_eq!(close_of(&mut bob).map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(text(&mut ann), r#"{"type":"online","names":["ann"]}"#);
}

#[test]
fn a_client_that_stops_reading_is_closed_with_1008_and_the_room_goes_on() {
    let addr = chat();
    let mut slow = join(&addr, "slow");
    until(&mut slow, r#""names":["slow"]"#);
    let mut fast = join(&addr, "fast");
    until(&mut fast, r#""names":["fast","slow"]"#);

    // 4000 lines of 4000 bytes (16 MB) go out to both. `slow` reads none of them: its
    // queue (256 KiB) and the kernel's socket buffers fill, and the chat closes it. `fast`
    // sends in batches of 50 and reads every batch back before the next one.
    let payload = "x".repeat(4000);
    let started = Instant::now();
    let mut dropped_at = None;
    for batch in 0..80 {
        // A few batches after the drop show the room going on; then `slow` reads, well
        // within the 5 s the chat gives a closed client to read what is left.
        if dropped_at.is_some_and(|at| batch > at + 5) {
            break;
        }
        for _ in 0..50 {
            fast.write(Message::text(payload.clone())).expect("queue");
        }
        fast.flush().expect("flush");
        let mut echoed = 0;
        while echoed < 50 {
            let t = text(&mut fast);
            if t.contains(r#""from":"fast""#) {
                echoed += 1;
            } else if t == r#"{"type":"online","names":["fast"]}"# {
                dropped_at.get_or_insert(batch);
            }
        }
    }
    let elapsed = started.elapsed();
    let dropped_at = dropped_at.expect("the slow client was dropped from the room");

    // `slow` finds, after the lines that fitted, the Close: 1008 "too slow".
    let mut lines = 0;
    let close = loop {
        match slow.read() {
            Ok(Message::Text(t)) if t.as_str().contains(r#""from":"fast""#) => lines += 1,
            Ok(Message::Text(t)) if t.as_str().contains(r#""type":"online""#) => {}
            Ok(Message::Close(frame)) => break frame,
            Ok(other) => panic!("unexpected {other:?}"),
            // The chat gave up waiting for the Close echo (5 s) and dropped the TCP
            // connection: the Close was still read first, above, or this is a failure.
            Err(e) => panic!("no Close before the end: {e} after {lines} lines"),
        }
    };
    assert_eq!(close, Some(CloseFrame::new(CloseCode::POLICY, "too slow")));
    assert!(lines < 4000, "the slow client got everything ({lines}): no bound");
    eprintln!(
        "slow client: dropped during batch {dropped_at}, after {lines} lines; the fast \
         client's {} lines took {elapsed:?}",
        (dropped_at + 6) * 50
    );
}

/// The state of the chat's side of the TCP connection between `server` and `client` (ports),
/// from the kernel's table: `1` established, `4` FIN-WAIT-1 (our FIN queued behind unread
/// bytes) ...; `None` once the socket is gone.
#[cfg(target_os = "linux")]
fn server_socket_state(server: u16, client: u16) -> Option<u8> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port = |addr: &str| addr.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, state) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
        (port(local)? == server && port(remote)? == client)
            .then(|| u8::from_str_radix(state, 16).ok())
            .flatten()
    })
}

#[cfg(target_os = "linux")]
#[test]
fn a_closed_client_that_never_reads_is_dropped_after_the_close_timeout() {
    let addr = chat();
    let server_port: u16 = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let mut slow = join(&addr, "never");
    until(&mut slow, r#""names":["never"]"#);
    let client_port = slow.get_ref().tcp().local_addr().expect("addr").port();
    assert_eq!(server_socket_state(server_port, client_port), Some(1), "established");
    let mut fast = join(&addr, "fast");
    until(&mut fast, r#""names":["fast","never"]"#);
    // Fill `never`'s queue until the chat closes it with 1008 (it leaves the room).
    let payload = "x".repeat(4000);
    'filling: loop {
        for _ in 0..50 {
            fast.write(Message::text(payload.clone())).expect("queue");
        }
        fast.flush().expect("flush");
        let mut echoed = 0;
        while echoed < 50 {
            let t = text(&mut fast);
            if t == r#"{"type":"online","names":["fast"]}"# {
                break 'filling;
            }
            echoed += usize::from(t.contains(r#""from":"fast""#));
        }
    }
    // Its Close waits behind bytes it will never read: 5 s (the close timeout) later the
    // chat drops the connection anyway. Its socket leaves ESTABLISHED (FIN queued, or gone).
    let closed = Instant::now();
    let state = loop {
        let state = server_socket_state(server_port, client_port);
        if state != Some(1) || closed.elapsed() > Duration::from_secs(20) {
            break state;
        }
        thread::sleep(Duration::from_millis(100));
    };
    assert_ne!(state, Some(1), "still established {:?} after the 1008", closed.elapsed());
    eprintln!("dropped {:?} after the 1008, socket state {state:?}", closed.elapsed());
    // The room went on meanwhile.
    fast.send(Message::text("still here")).expect("send");
    until(&mut fast, "still here");
}

#[test]
fn refusals() {
    let addr = chat();
    // Binary: 1003.
    let mut ws = join(&addr, "bin");
    ws.send(Message::binary(vec![1, 2, 3])).expect("send");
    assert_eq!(close_of(&mut ws), Some(CloseFrame::new(CloseCode::UNSUPPORTED_DATA, "text only")));
    // A line over the budget: 1009 (the core's own refusal).
    let mut ws = join(&addr, "big");
    ws.send(Message::text("y".repeat(4097))).expect("send");
    assert_eq!(close_of(&mut ws).map(|f| f.code), Some(CloseCode::TOO_BIG));
    // A line at the budget is a line.
    let mut ws = join(&addr, "edge");
    ws.send(Message::text("z".repeat(4096))).expect("send");
    until(&mut ws, &"z".repeat(4096));

    let (status, _) = http(&addr, &upgrade_request("/ws", None));
    assert_eq!(status, "HTTP/1.1 400 Bad Request", "no name");
    let (status, _) = http(&addr, &upgrade_request("/ws?name=a%09b", None));
    assert_eq!(status, "HTTP/1.1 400 Bad Request", "a tab in the name");
    // §10.2: a page of another site is refused with 403; our own page's origin is not.
    let (status, _) = http(&addr, &upgrade_request("/ws?name=x", Some("http://evil.example")));
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    let (status, _) = http(&addr, &upgrade_request("/ws?name=x", Some("http://HOST")));
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
    let request = ClientRequest::new(&format!("ws://{addr}/ws?name=o")).expect("url");
    let request = request.origin("http://elsewhere.example:8080");
    let refused = rfc6455::connect_with(request, rfc6455::Settings::default());
    assert!(matches!(refused, Err(Error::Handshake(_))), "{:?}", refused.map(|_| ()));

    let (status, _) = http(&addr, "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _) = http(&addr, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    let (status, page) = http(&addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page.contains("Content-Type: text/html; charset=utf-8"), "{page}");
    assert!(page.contains(r#"<ol id="messages">"#) && page.contains("new WebSocket("));
    // The page needs nothing from elsewhere: no external script, style or image.
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
}
