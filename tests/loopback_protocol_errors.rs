//! Failing the connection over real TCP (§7.1.7): the peer that breaks a rule receives a
//! Close with the matching code, then the server closes TCP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use rfc6455::frame::{FrameDecoder, FrameHeader, OpCode, encode_frame};
use rfc6455::{CloseCode, Error, Message, ProtocolError, accept};

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A hand-made client: the handshake and then `frames`, all in one write.
fn raw_client(addr: std::net::SocketAddr, frames: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut bytes = REQUEST.as_bytes().to_vec();
    bytes.extend_from_slice(frames);
    stream.write_all(&bytes).expect("write");
    let mut received = Vec::new();
    stream.read_to_end(&mut received).expect("read until the server closes");
    received
}

fn split_head(received: &[u8]) -> (&str, &[u8]) {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    (std::str::from_utf8(&received[..end]).expect("ascii head"), &received[end..])
}

fn server_once() -> (std::net::SocketAddr, thread::JoinHandle<Vec<Result<Message, String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut ws = accept(stream).expect("handshake");
        let mut results = Vec::new();
        loop {
            match ws.read() {
                Ok(message) => results.push(Ok(message)),
                Err(Error::ConnectionClosed) => break,
                Err(e) => {
                    results.push(Err(e.to_string()));
                    if !matches!(e, Error::Protocol(_)) {
                        break;
                    }
                }
            }
        }
        results
    });
    (addr, handle)
}

fn masked(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let header =
        FrameHeader::new(fin, opcode, Some([0x37, 0xfa, 0x21, 0x3d]), payload.len() as u64);
    let mut out = BytesMut::new();
    encode_frame(&header, payload, &mut out);
    out.to_vec()
}

fn close_code_of(frames: &[u8]) -> Option<u16> {
    let mut buf = BytesMut::from(frames);
    let frame = FrameDecoder::new().decode(&mut buf).ok()??;
    assert_eq!(frame.header.opcode, OpCode::Close);
    assert!(!frame.header.is_masked(), "a server never masks (§5.1)");
    Some(u16::from_be_bytes([*frame.payload.first()?, *frame.payload.get(1)?]))
}

#[test]
fn bytes_after_the_handshake_are_not_lost_and_unmasked_frame_fails_with_1002() {
    let (addr, server) = server_once();
    // §5.7's masked "Hello", sent in the same write as the handshake, then an unmasked frame.
    let mut frames = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    frames.extend_from_slice(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    let received = raw_client(addr, &frames);
    let (head, rest) = split_head(&received);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    assert_eq!(close_code_of(rest), Some(1002));
    let results = server.join().expect("server");
    assert_eq!(results[0], Ok(Message::text("Hello")));
    assert_eq!(
        results[1],
        Err(Error::Protocol(ProtocolError::UnmaskedFrameFromClient).to_string())
    );
}

#[test]
fn invalid_utf8_fails_with_1007() {
    let (addr, server) = server_once();
    let received = raw_client(addr, &masked(true, OpCode::Text, b"caf\xC3("));
    let (_, rest) = split_head(&received);
    assert_eq!(close_code_of(rest), Some(CloseCode::INVALID_DATA.0));
    let results = server.join().expect("server");
    assert_eq!(results, vec![Err(Error::Protocol(ProtocolError::InvalidUtf8).to_string())]);
}

#[test]
fn oversized_frame_fails_with_1009_before_its_payload_arrives() {
    let (addr, server) = server_once();
    // A header that declares 1 GiB, and no payload at all: the server must not wait for it.
    let header = FrameHeader::new(true, OpCode::Binary, Some([1, 2, 3, 4]), 1 << 30);
    let mut head = [0u8; 14];
    let n = header.encode(&mut head);
    let received = raw_client(addr, &head[..n]);
    let (_, rest) = split_head(&received);
    assert_eq!(close_code_of(rest), Some(CloseCode::TOO_BIG.0));
    server.join().expect("server");
}
