//! A slow or vanishing peer never hangs the driver: the opening handshake is bounded by
//! `Settings::handshake_timeout` and the closing handshake by `Settings::close_timeout` (§7.1.1:
//! a client "MAY close the connection ... if it has not received a TCP Close from the server
//! in a reasonable time period").

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::handshake::{Accept, ClientRequest};
use rfc6455::{CloseCode, Config, Error, Settings, accept_tcp, connect_with};

fn quick() -> Settings {
    Settings {
        handshake_timeout: Duration::from_millis(300),
        protocol: Config { close_timeout: Duration::from_millis(300), ..Config::default() },
        ..Settings::default()
    }
}

#[test]
fn a_client_that_never_sends_its_request_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let silent = TcpStream::connect(addr).expect("connect");
    let (stream, _) = listener.accept().expect("accept");
    let started = Instant::now();
    let result = accept_tcp(stream, quick(), |_| Ok(Accept::default()));
    assert!(matches!(result, Err(Error::Io(_))), "expected a timeout, got {result:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "the handshake wait was not bounded");
    drop(silent);
}

#[test]
fn a_server_that_never_answers_our_close_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // A server that completes the opening handshake, then reads and ignores everything.
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("request");
            head.push(byte[0]);
        }
        let text = String::from_utf8(head).expect("ascii");
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("key")
            .trim()
            .to_owned();
        let accept = rfc6455::handshake::accept_key(key.as_bytes());
        write!(
            stream,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .expect("101");
        // Hold the connection open, silent, until the client has given up.
        let _ = done_rx.recv_timeout(Duration::from_secs(20));
    });
    let request = ClientRequest::new(&url).expect("url");
    let (mut ws, _) = connect_with(request, quick()).expect("connect");
    ws.close(CloseCode::NORMAL, "anyone there?").expect("close");
    let started = Instant::now();
    match ws.read() {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
        other => panic!("expected a close timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the close wait was not bounded");
    done_tx.send(()).ok();
    server.join().expect("server");
}

#[test]
fn the_users_own_read_timeout_is_given_back_after_the_close_wait() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut ws = accept_tcp(stream, quick(), |_| Ok(Accept::default())).expect("hs");
        assert!(matches!(ws.read(), Ok(rfc6455::Message::Close(_))));
        assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    });
    let request = ClientRequest::new(&url).expect("url");
    let (mut ws, _) = connect_with(request, Settings::default()).expect("connect");
    let own = Some(Duration::from_secs(7));
    ws.get_mut().set_read_timeout(own).expect("timeout");
    ws.close(CloseCode::NORMAL, "bye").expect("close");
    // The driver bounds these reads by `close_timeout` (5 s, shorter than 7 s) ...
    assert!(matches!(ws.read(), Ok(rfc6455::Message::Close(_))));
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    // ... and then hands the stream back with the timeout its owner set.
    assert_eq!(ws.get_mut().read_timeout().expect("read timeout"), own);
    server.join().expect("server");
}
