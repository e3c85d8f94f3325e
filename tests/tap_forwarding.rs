//! The wiretap (`examples/tap/`): it forwards every byte untouched, in both directions, and
//! logs the dissection of both. Loopback only; every socket has a timeout.

#[path = "../examples/tap/proxy.rs"]
mod proxy;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use proxy::{TapOptions, run_tap};
use rfc6455::{CloseCode, Error, Message, accept, connect};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A log the test can read while the tap writes it.
#[derive(Clone, Default)]
struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Wait until the log contains `needle` `times` times.
    fn wait_for(&self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = self.text();
            if text.matches(needle).count() >= times {
                return text;
            }
            assert!(Instant::now() < deadline, "log never showed {needle:?} {times}×:\n{text}");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Start a tap in front of `upstream`; returns its address and its log.
fn start_tap(upstream: SocketAddr) -> (SocketAddr, SharedLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = SharedLog::default();
    let tap_log = log.clone();
    let options = TapOptions { timestamps: false, connect_timeout: TIMEOUT };
    thread::spawn(move || run_tap(listener, upstream, tap_log, options));
    (addr, log)
}

/// An rfc6455 echo server: every data message goes back unchanged.
fn start_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || {
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                let Ok(mut ws) = accept(stream) else { return };
                while let Ok(message) = ws.read() {
                    if message.is_data() && ws.send(message).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A raw TCP echo server: echoes bytes until EOF, then shuts down its side.
fn start_raw_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = stream.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

/// One client session through the tap: messages of every length form, echoed identically.
fn echo_session(tap: SocketAddr, path: &str) {
    let (mut ws, _response) = connect(&format!("ws://{tap}{path}")).expect("handshake via tap");
    ws.get_mut().set_read_timeout(Some(TIMEOUT)).unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let messages = [
        Message::text("hello through the tap"),
        Message::binary(vec![7u8; 200]),
        Message::binary(big),
        Message::text("é ✓ 🦀"),
    ];
    for message in messages {
        ws.send(message.clone()).unwrap();
        let echoed = ws.read().expect("echo");
        assert_eq!(echoed.payload(), message.payload(), "echo differs");
        assert_eq!(echoed.is_data(), message.is_data());
    }
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    loop {
        match ws.read() {
            Ok(_) => continue,
            Err(Error::ConnectionClosed) => break,
            Err(e) => panic!("close handshake failed: {e}"),
        }
    }
}

#[test]
fn websocket_through_the_tap_is_echoed_identically_and_logged() {
    let upstream = start_echo_server();
    let (tap, log) = start_tap(upstream);
    echo_session(tap, "/echo");
    let text = log.wait_for("#1 closed:", 1);

    for wanted in [
        "#1 connected: client 127.0.0.1:",
        "#1 client → server",
        "#1 server → client",
        "GET /echo HTTP/1.1",
        "HTTP/1.1 101 Switching Protocols",
        "verdict: a valid opening handshake",
        "expected for key",
        "verdict: a valid 101",
        "client → server\n  frame 1 at byte",
        "payload: \"hello through the tap\"",
        "payload: \"é ✓ 🦀\"",
        "payload length: 200 (16-bit extended form, minimal)",
        "payload length: 200000 (64-bit extended form, minimal)",
        " of 200000 bytes so far …",
        "(continued): payload complete",
        "close code: 1000",
        "close reason: \"bye\"",
    ] {
        assert!(text.contains(wanted), "log lacks {wanted:?}:\n{text}");
    }
    // Both directions show the echoed text; a conforming pair breaks no rule.
    assert_eq!(text.matches("payload: \"hello through the tap\"").count(), 2, "{text}");
    assert!(text.contains("MASK: 1") && text.contains("MASK: 0"));
    assert!(!text.contains('✗'), "a conforming exchange was flagged:\n{text}");
    assert!(!text.contains("truncated"), "{text}");
}

#[test]
fn several_clients_at_once() {
    let upstream = start_echo_server();
    let (tap, log) = start_tap(upstream);
    let clients: Vec<_> =
        (0..4).map(|i| thread::spawn(move || echo_session(tap, &format!("/c{i}")))).collect();
    for c in clients {
        c.join().expect("client session");
    }
    let text = log.wait_for(" closed: ", 4);
    for i in 1..=4 {
        assert!(text.contains(&format!("#{i} connected")), "{text}");
    }
}

#[test]
fn garbage_is_forwarded_unchanged_and_half_close_propagates() {
    let upstream = start_raw_echo_server();
    let (tap, log) = start_tap(upstream);
    let mut client = TcpStream::connect(tap).unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();

    // Every byte value, an HTTP-looking start, a header declaring an enormous frame, noise.
    let mut sent: Vec<u8> = (0..=255u8).collect();
    sent.extend_from_slice(b"GET nonsense\r\n\r\n");
    sent.extend_from_slice(&[0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    let mut x: u32 = 7;
    sent.extend((0..300_000).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));

    let reader = {
        let mut client = client.try_clone().unwrap();
        thread::spawn(move || {
            let mut got = Vec::new();
            client.read_to_end(&mut got).expect("read until the tap propagates EOF");
            got
        })
    };
    for piece in sent.chunks(7_919) {
        client.write_all(piece).unwrap();
    }
    client.shutdown(Shutdown::Write).unwrap();
    let got = reader.join().unwrap();
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "bytes were altered on the way");

    let text = log.wait_for("#1 closed:", 1);
    for wanted in [
        "client → server: the client closed its sending side (EOF); shutdown(Write) toward the server",
        "server → client: the server closed its sending side (EOF); shutdown(Write) toward the client",
        "✗ breaks",
    ] {
        assert!(text.contains(wanted), "log lacks {wanted:?}:\n{text}");
    }
}

#[test]
fn upstream_down_closes_the_client() {
    // Bind then drop, so nothing listens on this port.
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (tap, log) = start_tap(upstream);
    let mut client = TcpStream::connect(tap).unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = Vec::new();
    let _ = client.read_to_end(&mut buf);
    assert!(buf.is_empty());
    log.wait_for("refused", 1);
}
