//! A Close is never lost by the driver. §5.5.1: a received Close is the application's to see
//! even when its echo cannot be written yet; §7.1.7: the Close that fails a connection is
//! written before the sending side is shut down, however full the socket was.

mod loopback;

use std::io::{self, Read, Write};
use std::thread;

use bytes::BytesMut;
use loopback::*;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::{CloseCode, CloseFrame, Config, Error, Message, ProtocolError, Role, WebSocket};

/// Reads give the bytes it holds, then end of stream; every write fails.
struct BrokenWriter {
    input: io::Cursor<Vec<u8>>,
}

impl Read for BrokenWriter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for BrokenWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl rfc6455::Transport for BrokenWriter {}

#[test]
fn a_received_close_is_returned_even_when_its_echo_cannot_be_written() {
    let mut close = vec![0x03, 0xe8];
    close.extend_from_slice(b"bye");
    let input = client_frame(true, OpCode::Close, &close);
    let stream = BrokenWriter { input: io::Cursor::new(input) };
    let mut ws = WebSocket::from_raw(stream, Role::Server, Config::default(), BytesMut::new());
    assert_eq!(
        ws.read().expect("the Close, not the write error"),
        Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))
    );
    // The write error shows on the next call.
    assert!(matches!(ws.read(), Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe));
}

#[test]
fn the_failure_close_waits_behind_a_full_socket_instead_of_being_dropped() {
    let (mut raw, stream) = tcp_pair();
    let server = thread::spawn(move || {
        let mut ws =
            rfc6455::accept_tcp(stream, rfc6455::Settings::default(), |_| Ok(Default::default()))
                .expect("handshake");
        ws.get_ref().set_nonblocking(true).expect("nonblocking");
        // 8 MiB the raw client does not read yet: the socket fills, the rest stays queued.
        let sent = ws.send(Message::binary(vec![b'x'; 8 << 20])).expect("queued");
        assert_eq!(sent, rfc6455::Sent::Queued);
        // The client's unmasked frame fails the connection (§5.1). The Close is queued
        // behind the 8 MiB; the error is reported at once all the same.
        let error = until_done(|| ws.read()).expect_err("a protocol error");
        assert!(
            matches!(error, Error::Protocol(ProtocolError::UnmaskedFrameFromClient)),
            "{error}"
        );
        // Keep calling until the Close is written and the connection closed.
        assert!(matches!(until_done(|| ws.read()), Err(Error::ConnectionClosed)));
    });
    raw_client_handshake(&mut raw);
    let mut unmasked = BytesMut::new();
    rfc6455::frame::encode_frame(
        &FrameHeader::new(true, OpCode::Text, None, 2),
        b"hi",
        &mut unmasked,
    );
    // Give the server time to fill the socket before it sees the bad frame.
    thread::sleep(std::time::Duration::from_millis(200));
    raw.write_all(&unmasked).expect("bad frame");
    let frames = read_frames_to_eof(&mut raw);
    drop(raw);
    server.join().expect("server");
    let last = frames.last().expect("frames");
    assert_eq!(frames.len(), 2, "the data, then the Close");
    assert_eq!(frames[0].payload.len(), 8 << 20);
    assert_eq!(last.header.opcode, OpCode::Close);
    assert_eq!(&last.payload[..2], &1002u16.to_be_bytes());
}
