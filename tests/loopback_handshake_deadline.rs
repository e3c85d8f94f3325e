//! The opening handshake has one deadline, measured from its start, on every constructor:
//! a client that dribbles its request a byte at a time cannot hold a server thread past
//! `Settings::handshake_timeout` by keeping each single read short.

mod loopback;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use loopback::*;
use rfc6455::{Error, Settings, WebSocket, accept_tcp, accept_with};

fn quick() -> Settings {
    Settings { handshake_timeout: Duration::from_millis(600), ..Settings::default() }
}

/// A client that sends one byte of the request every 100 ms (each read is quick; the whole
/// request would take about 17 s).
fn dribble(mut stream: std::net::TcpStream) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for byte in REQUEST {
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    })
}

fn assert_timed_out(result: Result<WebSocket<std::net::TcpStream>, Error>, started: Instant) {
    match result {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}"),
        other => panic!("expected the handshake deadline, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the deadline did not hold");
}

#[test]
fn accept_tcp_bounds_the_whole_handshake_not_each_read() {
    let (client, server) = tcp_pair();
    let dribbler = dribble(client);
    let started = Instant::now();
    assert_timed_out(accept_tcp(server, quick(), |_| Ok(Default::default())), started);
    dribbler.join().expect("dribbler");
}

#[test]
fn a_plain_stream_accept_gets_the_same_deadline() {
    let (client, server) = tcp_pair();
    let dribbler = dribble(client);
    let started = Instant::now();
    assert_timed_out(accept_with(server, quick(), |_| Ok(Default::default())), started);
    dribbler.join().expect("dribbler");
}

#[test]
fn the_users_own_read_timeout_is_given_back_after_the_handshake() {
    let (mut client, server) = tcp_pair();
    server.set_read_timeout(Some(Duration::from_secs(7))).expect("timeout");
    let hs = thread::spawn(move || {
        let mut ws = accept_with(server, quick(), |_| Ok(Default::default())).expect("hs");
        ws.get_mut().read_timeout().expect("read timeout")
    });
    raw_client_handshake(&mut client);
    assert_eq!(hs.join().expect("server"), Some(Duration::from_secs(7)));
}

#[cfg(unix)]
#[test]
fn a_unix_stream_gets_the_deadline_too() {
    let (silent, server) = std::os::unix::net::UnixStream::pair().expect("pair");
    let started = Instant::now();
    match accept_with(server, quick(), |_| Ok(Default::default())) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}"),
        other => panic!("expected the handshake deadline, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the deadline did not hold");
    drop(silent);
}
