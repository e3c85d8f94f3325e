//! Keepalive (§5.5.2: a Ping "may serve either as a keepalive or as a means to verify that
//! the remote endpoint is still responsive"): a peer that stays silent gets a Ping after the
//! interval, and when even that gets nothing back within the timeout it is failed with a
//! Close 1011 and TCP is closed; a peer that answers is kept.

mod loopback;

use std::thread;
use std::time::{Duration, Instant};

use loopback::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, Config, Error, Keepalive, Message, ProtocolError, Settings};

fn keepalive(ms: u64) -> Settings {
    Settings {
        protocol: Config {
            keepalive: Some(Keepalive::every(Duration::from_millis(ms))),
            close_timeout: Duration::from_millis(500),
            ..Config::default()
        },
        ..Settings::default()
    }
}

#[test]
fn a_silent_peer_is_pinged_then_failed_with_1011_and_disconnected() {
    let (mut raw, stream) = tcp_pair();
    let server = thread::spawn(move || {
        let mut ws = rfc6455::accept_with(stream, keepalive(200), |_| Ok(Default::default()))
            .expect("handshake");
        let started = Instant::now();
        let result = ws.read();
        (result, started.elapsed())
    });
    raw_client_handshake(&mut raw);
    // Say nothing at all, not even to the Ping; read what the server sends until it closes.
    let frames = read_frames_to_eof(&mut raw);
    let (result, waited) = server.join().expect("server");
    assert!(
        matches!(result, Err(Error::Protocol(ProtocolError::KeepaliveTimeout { .. }))),
        "{result:?}"
    );
    assert!(waited < Duration::from_secs(10), "the keepalive never fired");
    let opcodes: Vec<OpCode> = frames.iter().map(|f| f.header.opcode).collect();
    assert_eq!(opcodes, vec![OpCode::Ping, OpCode::Close]);
    assert_eq!(&frames[1].payload[..2], &1011u16.to_be_bytes());
}

#[test]
fn a_peer_that_reads_answers_the_pings_and_is_kept() {
    let (mut client, mut server) = ws_pair(keepalive(100));
    let server = thread::spawn(move || {
        // Ten keepalive intervals with no application data at all.
        let started = Instant::now();
        let mut pongs = 0;
        loop {
            match server.read() {
                Ok(Message::Pong(_)) => pongs += 1,
                // The client's own keepalive may ping too, when its timer ends between two
                // of the server's Pings; the core has already queued the Pong.
                Ok(Message::Ping(_)) => {}
                Ok(Message::Text(t)) if &*t == "still here" => break,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => panic!("server failed the live client: {e}"),
            }
        }
        assert!(started.elapsed() >= Duration::from_millis(900));
        server.send(Message::text("ok")).expect("send");
        assert!(matches!(server.read(), Ok(Message::Close(_))));
        assert!(matches!(server.read(), Err(Error::ConnectionClosed)));
        pongs
    });
    // The client's own keepalive is on too; its reads answer the server's Pings.
    client.get_mut().set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        match client.read() {
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Err(e) if e.is_would_block() => {}
            other => panic!("client: {other:?}"),
        }
    }
    client.send(Message::text("still here")).expect("send");
    loop {
        match client.read() {
            Ok(Message::Text(t)) => {
                assert_eq!(&*t, "ok");
                break;
            }
            Ok(_) => {}
            Err(e) if e.is_would_block() => {}
            Err(e) => panic!("client: {e}"),
        }
    }
    client.close(CloseCode::NORMAL, "bye").expect("close");
    assert!(matches!(until_done(|| client.read()), Ok(Message::Close(_))));
    assert!(matches!(until_done(|| client.read()), Err(Error::ConnectionClosed)));
    assert!(server.join().expect("server") >= 5, "the server kept pinging");
}
