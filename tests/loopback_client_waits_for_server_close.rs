//! §7.1.1: after the close handshake "the client SHOULD wait for the server to close the
//! connection" (the server "SHOULD initiate a TCP Close immediately"), and "MAY close the
//! connection at any time after sending and receiving a Close frame": our client waits for
//! the server's FIN, bounded by `Config::close_timeout`, then closes its own side.

mod loopback;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use loopback::*;
use rfc6455::{CloseCode, Config, Error, Settings, WebSocket};

#[test]
fn a_server_that_never_closes_tcp_holds_the_client_only_for_close_timeout() {
    let (stream, mut raw_server) = tcp_pair();
    let settings = Settings {
        protocol: Config { close_timeout: Duration::from_millis(400), ..Config::default() },
        ..Settings::default()
    };
    let url = "ws://server.example.com/chat";
    let request = rfc6455::handshake::ClientRequest::with_key(url, "dGhlIHNhbXBsZSBub25jZQ==")
        .expect("request");
    let server = thread::spawn(move || {
        let mut head = [0u8; 4096];
        let _ = std::io::Read::read(&mut raw_server, &mut head).expect("request");
        raw_server
            .write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            )
            .expect("101");
        // Echo a Close (unmasked, as a server sends it), then keep TCP open.
        raw_server.write_all(&[0x88, 0x02, 0x03, 0xe8]).expect("close");
        thread::sleep(Duration::from_secs(3));
        drop(raw_server);
    });
    let (mut ws, _) = WebSocket::client(stream, &request, settings).expect("handshake");
    ws.close(CloseCode::NORMAL, "").expect("close");
    assert!(matches!(ws.read(), Ok(rfc6455::Message::Close(_))));
    let started = Instant::now();
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(3), "the wait was not bounded by close_timeout");
    assert!(waited >= Duration::from_millis(300), "the client did not wait for the server");
    server.join().expect("server");
}
