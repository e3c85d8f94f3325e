//! Opening handshakes on nonblocking streams (§4): `WouldBlock` hands back the handshake in
//! progress (stream, parser, bytes so far), and resuming it continues where it stopped. Here
//! both ends run in one thread, each step interleaved with the other's.

mod loopback;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use loopback::*;
use rfc6455::handshake::{Accept, ClientRequest};
use rfc6455::socket::{ClientHandshake, Handshaking, ServerHandshake};
use rfc6455::{Message, Settings};

#[test]
fn client_and_server_handshakes_resume_across_would_block() {
    let (client_stream, server_stream) = tcp_pair();
    client_stream.set_nonblocking(true).expect("nonblocking");
    server_stream.set_nonblocking(true).expect("nonblocking");
    let request = ClientRequest::new("ws://127.0.0.1/chat").expect("url").subprotocol("chat");
    let mut client = Some(ClientHandshake::new(client_stream, &request, Settings::default()));
    let mut server = Some(ServerHandshake::new(server_stream, Settings::default(), |req| {
        assert_eq!(req.path(), "/chat");
        Ok(Accept::new().subprotocol("chat"))
    }));
    let (mut client_ws, mut server_ws) = (None, None);
    let (mut client_blocks, mut server_blocks) = (0, 0);
    let deadline = Instant::now() + PATIENCE;
    while client_ws.is_none() || server_ws.is_none() {
        assert!(Instant::now() < deadline, "the handshakes never finished");
        if let Some(hs) = server.take() {
            match hs.resume() {
                Ok(ws) => server_ws = Some(ws),
                Err(Handshaking::WouldBlock(hs)) => {
                    server_blocks += 1;
                    server = Some(hs);
                }
                Err(Handshaking::Failed(e)) => panic!("server: {e}"),
            }
        }
        if let Some(hs) = client.take() {
            match hs.resume() {
                Ok((ws, response)) => {
                    assert_eq!(response.subprotocol(), Some("chat"));
                    client_ws = Some(ws);
                }
                Err(Handshaking::WouldBlock(hs)) => {
                    client_blocks += 1;
                    client = Some(hs);
                }
                Err(Handshaking::Failed(e)) => panic!("client: {e}"),
            }
        }
    }
    // The server resumed at least once (its first look found no request yet), and so did
    // the client (the server had not answered when it first looked).
    assert!(server_blocks >= 1 && client_blocks >= 1, "{server_blocks} {client_blocks}");
    let (mut client_ws, mut server_ws) = (client_ws.expect("client"), server_ws.expect("server"));
    client_ws.send(Message::text("after the handshake")).expect("send");
    assert_eq!(
        until_done(|| server_ws.read()).expect("read"),
        Message::text("after the handshake")
    );
}

#[test]
fn a_request_dribbled_in_pieces_is_read_whole_across_resumes() {
    let (mut raw, server_stream) = tcp_pair();
    server_stream.set_nonblocking(true).expect("nonblocking");
    let writer = thread::spawn(move || {
        for piece in REQUEST.chunks(7) {
            raw.write_all(piece).expect("piece");
            thread::sleep(Duration::from_millis(2));
        }
        raw
    });
    let mut hs = ServerHandshake::new(server_stream, Settings::default(), |_| Ok(Accept::new()));
    let deadline = Instant::now() + PATIENCE;
    let mut ws = loop {
        match hs.resume() {
            Ok(ws) => break ws,
            Err(Handshaking::WouldBlock(again)) => {
                assert!(Instant::now() < deadline, "never finished");
                hs = again;
                thread::sleep(Duration::from_millis(1));
            }
            Err(Handshaking::Failed(e)) => panic!("server: {e}"),
        }
    };
    let mut raw = writer.join().expect("writer");
    let head = {
        raw.set_nonblocking(false).expect("blocking");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            std::io::Read::read_exact(&mut raw, &mut byte).expect("head");
            head.push(byte[0]);
        }
        String::from_utf8(head).expect("ascii")
    };
    // §1.3's accept value for the RFC's example key.
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    raw.write_all(&client_frame(true, rfc6455::frame::OpCode::Text, b"hi")).expect("frame");
    assert_eq!(until_done(|| ws.read()).expect("read"), Message::text("hi"));
}
