//! Shared helpers for the `loopback_*` tests: connected TCP pairs on 127.0.0.1, a raw peer
//! that speaks just enough of the protocol by hand, and bounded retry loops for nonblocking
//! calls. Every wait here is bounded.
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rfc6455::frame::{Frame, FrameDecoder, FrameHeader, OpCode, encode_frame};
use rfc6455::{Error, MaybeTlsStream, Settings, WebSocket, accept_with, connect_with};

/// How long any single wait in these tests may take before it counts as a hang.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A connected pair of TCP streams: (client side, server side).
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (client, server)
}

/// A client and a server WebSocket over loopback, both with `settings`.
pub fn ws_pair(settings: Settings) -> (WebSocket<MaybeTlsStream>, WebSocket<MaybeTlsStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        // The server as a `MaybeTlsStream` too (plain): one type for both ends.
        accept_with(MaybeTlsStream::from(stream), settings, |_| Ok(Default::default()))
            .expect("server handshake")
    });
    let request = rfc6455::handshake::ClientRequest::new(&url).expect("url");
    let (client, _) = connect_with(request, settings).expect("client handshake");
    (client, server.join().expect("server thread"))
}

/// The RFC's example request (§1.2), as a raw client sends it.
pub const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// As a raw client: send the request and read the server's head (up to the blank line).
pub fn raw_client_handshake(stream: &mut TcpStream) -> String {
    stream.write_all(REQUEST).expect("request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("ascii head")
}

/// A masked frame, as a client puts it on the wire.
pub fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(
        &FrameHeader::new(fin, opcode, Some([1, 2, 3, 4]), payload.len() as u64),
        payload,
        &mut out,
    );
    out.to_vec()
}

/// Read whole frames from a raw stream until end of stream (or an error), at most `PATIENCE`.
pub fn read_frames_to_eof(stream: &mut TcpStream) -> Vec<Frame> {
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        while let Ok(Some(frame)) = decoder.decode(&mut buf) {
            frames.push(frame);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return frames,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Repeat `op` while it would block (nonblocking streams), at most `PATIENCE`; return what
/// it ends with.
pub fn until_done<T>(mut op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match op() {
            Err(e) if e.is_would_block() && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}
