//! A server that fails the connection while the peer is still sending must not lose its Close
//! frame to a TCP reset. §7.1.1 describes the clean way: "call shutdown() with SHUT_WR on the
//! socket, call recv() until obtaining a return value of 0 indicating that the peer has also
//! performed an orderly shutdown, and finally call close() on the socket". Closing a socket
//! with unread input instead makes the kernel send RST, which can discard the Close frame
//! before the peer reads it (found by the conformance suite, case 3.4 under load).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use rfc6455::frame::{FrameDecoder, OpCode};
use rfc6455::handshake::Accept;
use rfc6455::{Config, Error, ProtocolError, accept_tcp};

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn the_failing_close_survives_a_peer_that_keeps_sending() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut ws = accept_tcp(stream, Config::default(), |_| Ok(Accept::default())).expect("hs");
        let result = ws.read();
        drop(ws); // closes the socket right away: any unread input would now mean RST
        result
    });

    let mut client = TcpStream::connect(addr).expect("connect");
    client.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    // The handshake, an unmasked (illegal) frame, then 4 MiB more that the server never needs.
    let mut bytes = REQUEST.as_bytes().to_vec();
    bytes.extend_from_slice(&[0x82, 0x03, 1, 2, 3]);
    bytes.extend(std::iter::repeat_n(0x82u8, 4 << 20));
    let mut writer = client.try_clone().expect("clone");
    let sender = thread::spawn(move || {
        // The server stops caring part-way: errors here are expected and irrelevant.
        let _ = writer.write_all(&bytes);
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });

    let mut received = Vec::new();
    let read = client.read_to_end(&mut received);
    sender.join().expect("sender");
    assert!(read.is_ok(), "the server reset the connection: {read:?}");
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").expect("101") + 4;
    let mut frames = BytesMut::from(&received[head_end..]);
    let close = FrameDecoder::new().decode(&mut frames).expect("frame").expect("a Close frame");
    assert_eq!(close.header.opcode, OpCode::Close);
    assert_eq!(close.payload.get(..2), Some(&[0x03, 0xEA][..]), "close code 1002");
    assert!(matches!(
        server.join().expect("server"),
        Err(Error::Protocol(ProtocolError::UnmaskedFrameFromClient))
    ));
}
