//! The std driver: [`WebSocket`] over any `Read + Write` stream that is a [`Transport`].
//!
//! This layer only moves bytes between a stream and a [`Connection`] and owns the clock;
//! every protocol rule lives in [`crate::protocol`] and [`crate::handshake`]. Its habits,
//! which make a read/write echo loop cost one `read` and one `write` syscall per batch:
//! - [`WebSocket::read`] hands out every complete message already buffered before it touches
//!   the stream again;
//! - [`WebSocket::write`] only queues; [`WebSocket::flush`] writes what is queued;
//!   [`WebSocket::send`] is both; before `read` blocks on the stream it flushes what is
//!   queued (an owed Pong, a Close echo, your replies);
//! - the read buffer is reused, payloads are split off it as `Bytes`, and a server's payload
//!   is written straight from the application's buffer by a vectored write.
//!
//! **The send/flush contract.** `write` queues or fails without queueing. `flush` writes
//! the queue; `WouldBlock` from it means "call `flush` again when the stream is writable",
//! and nothing is ever written twice. `send`, `send_fragment` and `close` queue, then flush:
//! they never report `WouldBlock`; [`Sent::Queued`] says what the stream did not take yet.
//!
//! **Deadlines.** The core reports them ([`Connection::next_deadline`]: the close wait,
//! keepalive); the driver passes the time in and bounds its blocking reads by them through
//! [`Transport`], giving the stream's own read timeout back when done. On a nonblocking
//! stream `read` returns `WouldBlock` (see [`Error::is_would_block`]); call it again when the
//! stream is readable, or when [`WebSocket::next_deadline`] passes.

mod closing;
mod handshake;
mod settings;
mod spare;
mod split;
mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
mod transport;

use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

use bytes::BytesMut;

use crate::error::Error;
use crate::frame::OpCode;
use crate::protocol::{CloseCode, CloseFrame, Connection, Message, Role};
use closing::Ending;
use transport::ReadTimer;

pub use handshake::{
    ClientHandshake, Handshaking, ServerHandshake, accept, accept_tcp, accept_with, connect,
    connect_addrs, connect_with,
};
pub use settings::Settings;
#[cfg(unix)]
pub use spare::read_fd_append;
pub use split::{ReadHalf, TryClone, WriteHalf};
pub use stream::MaybeTlsStream;
pub use transport::Transport;

/// Smallest read: enough for many small frames at once.
const MIN_READ: usize = 16 * 1024;
/// Largest single read, even when a frame in progress wants more.
const MAX_READ: usize = 4 * 1024 * 1024;
/// Slices handed to one vectored write.
const MAX_IOSLICES: usize = 64;

/// What a call that queues and then flushes achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Everything queued, this message included, was written to the stream.
    Flushed,
    /// The message is queued, but the stream would block: call [`WebSocket::flush`] when it
    /// is writable (or just keep calling [`WebSocket::read`], which flushes first). Do not
    /// send the message again: it would go out twice.
    Queued,
}

/// A WebSocket connection over a byte stream. See the module documentation.
#[derive(Debug)]
pub struct WebSocket<S: Transport> {
    stream: S,
    conn: Connection,
    /// The settings it was made with.
    settings: Settings,
    /// The stream reached end of file.
    eof: bool,
    /// A protocol error was already returned once; later reads report the closed state.
    failure_reported: bool,
    /// The read timeout the driver set for a deadline, and the stream's own to give back.
    timer: ReadTimer,
    /// How far closing the transport has gone, once the connection is terminated.
    ending: Ending,
}

/// How a read of the stream ended.
enum Filled {
    /// This many bytes arrived (0: end of stream).
    Bytes(usize),
    /// A deadline passed (or the driver's own timer woke the read): look again.
    Deadline,
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// Wrap a stream whose opening handshake is already done. `leftover` holds bytes read
    /// past the end of the handshake: they are the start of the WebSocket stream.
    pub fn from_raw(
        stream: S,
        role: Role,
        settings: impl Into<Settings>,
        leftover: BytesMut,
    ) -> Self {
        let settings = settings.into();
        let mut conn = Connection::new(role, settings.protocol);
        if !leftover.is_empty() {
            *conn.read_buf() = leftover;
        }
        conn.set_time(Instant::now());
        WebSocket {
            stream,
            conn,
            settings,
            eof: false,
            failure_reported: false,
            timer: ReadTimer::default(),
            ending: Ending::default(),
        }
    }

    /// The next message. Pings are answered by the connection itself and still returned;
    /// a Close is echoed and returned as `Message::Close`, after which `read` completes the
    /// close (the server closes TCP first, §7.1.1) and returns [`Error::ConnectionClosed`].
    ///
    /// Errors: [`Error::Protocol`] when the peer broke the protocol or fell silent past its
    /// keepalive (our Close with the matching code was sent, or stays queued on a
    /// nonblocking stream: keep calling `read` until `ConnectionClosed`),
    /// [`Error::AbnormalClosure`] when the peer dropped the stream without a Close, `Io` with
    /// `TimedOut` when the peer did not answer our Close within `Config::close_timeout`,
    /// `Io` with `WouldBlock` on a nonblocking stream (call again).
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            match self.conn.next_event() {
                Ok(Some(message)) => {
                    if matches!(message, Message::Close(_)) {
                        // Our echo is queued: send it now if the stream takes it. Either way
                        // the Close is what this call returns; a write error shows next time.
                        let _ = self.flush();
                    }
                    return Ok(message);
                }
                Ok(None) => {}
                Err(e) => {
                    if !self.failure_reported {
                        self.failure_reported = true;
                        // §7.1.7: send our Close while the connection is still writable,
                        // then close the transport. On a nonblocking stream that may take
                        // more calls: the error is reported now all the same.
                        let _ = self.finish();
                        return Err(Error::Protocol(e));
                    }
                }
            }
            if self.conn.is_terminated() {
                self.finish()?;
                return Err(self.closed_error());
            }
            // Before blocking on the stream, send what is queued (replies, pongs, echoes).
            self.flush_ignoring_would_block()?;
            let filled = self.fill_until_deadline()?;
            // The time, once per read of the stream (not per message): the core measures
            // silence and acts on the deadlines that passed.
            self.conn.set_time(Instant::now());
            match filled {
                Filled::Deadline => {}
                Filled::Bytes(0) => {
                    self.eof = true;
                    // Frames still buffered are delivered first; then the connection is
                    // either closed cleanly or aborted (1006), which the loop reports.
                    self.conn.receive_eof();
                }
                Filled::Bytes(_) => {}
            }
        }
    }

    /// Queue a message without writing it (see [`WebSocket::flush`]). An error means it was
    /// not queued.
    pub fn write(&mut self, message: Message) -> Result<(), Error> {
        self.conn.send(message)?;
        Ok(())
    }

    /// Queue a message and write everything queued. See [`Sent`].
    pub fn send(&mut self, message: Message) -> Result<Sent, Error> {
        self.write(message)?;
        self.flush_queued()
    }

    /// Queue one fragment of a message (see [`Connection::send_fragment`]) and flush.
    pub fn send_fragment(
        &mut self,
        opcode: OpCode,
        payload: impl Into<bytes::Bytes>,
        fin: bool,
    ) -> Result<Sent, Error> {
        self.conn.send_fragment(opcode, payload, fin)?;
        self.flush_queued()
    }

    /// Start the closing handshake (§7.1.2) and flush; keep calling [`WebSocket::read`]
    /// until it returns [`Error::ConnectionClosed`] to complete it.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<Sent, Error> {
        self.conn.close(Some(CloseFrame::new(code, reason)))?;
        self.conn.set_time(Instant::now());
        self.flush_queued()
    }

    /// Write everything queued, with vectored writes. `WouldBlock`: call again when the
    /// stream is writable; nothing is written twice.
    pub fn flush(&mut self) -> Result<(), Error> {
        loop {
            let written = {
                let mut slots = [IoSlice::new(&[]); MAX_IOSLICES];
                let n = self.conn.output_slices(&mut slots);
                if n == 0 {
                    break;
                }
                match self.stream.write_vectored(&slots[..n]) {
                    Ok(0) => {
                        return Err(io::Error::from(io::ErrorKind::WriteZero).into());
                    }
                    Ok(written) => written,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                    Err(e) => return Err(e.into()),
                }
            };
            self.conn.advance_output(written);
        }
        self.stream.flush()?;
        Ok(())
    }

    /// True while bytes are queued that the stream has not taken yet.
    pub fn has_pending_output(&mut self) -> bool {
        self.conn.output_len() > 0
    }

    /// When the connection next needs a call to [`WebSocket::read`] even if nothing arrives
    /// (keepalive, the close wait). For event loops over nonblocking streams.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conn.next_deadline()
    }

    /// Flush after queueing: `WouldBlock` becomes [`Sent::Queued`].
    fn flush_queued(&mut self) -> Result<Sent, Error> {
        match self.flush() {
            Ok(()) => Ok(Sent::Flushed),
            Err(e) if e.is_would_block() => Ok(Sent::Queued),
            Err(e) => Err(e),
        }
    }

    fn flush_ignoring_would_block(&mut self) -> Result<(), Error> {
        match self.flush() {
            Err(e) if e.is_would_block() => Ok(()),
            other => other,
        }
    }

    /// One read from the stream into the connection's read buffer, bounded by the core's
    /// next deadline when the stream can time its reads.
    fn fill_until_deadline(&mut self) -> Result<Filled, Error> {
        let want = read_size(&mut self.conn);
        let deadline = self.conn.next_deadline();
        read_until(&mut self.stream, &mut self.timer, self.conn.read_buf(), want, deadline)
    }

    /// The settings this connection was made with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The sans-IO connection inside.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The sans-IO connection inside, to use APIs the driver does not wrap.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The stream. While a deadline is pending the driver may have its own read timeout on
    /// it; [`WebSocket::get_mut`] and [`WebSocket::into_inner`] give the stream's own back.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (e.g. to set timeouts), with its own read timeout.
    pub fn get_mut(&mut self) -> &mut S {
        self.timer.restore(&self.stream);
        &mut self.stream
    }

    /// Give up the WebSocket and take the stream back, with its own read timeout.
    pub fn into_inner(mut self) -> S {
        self.timer.restore(&self.stream);
        self.stream
    }
}

/// How much the next read of the stream asks for.
///
/// The read size follows what the frame in progress still needs, but never more than the
/// bytes already buffered (at least [`MIN_READ`]): the buffer grows with bytes that actually
/// arrived, doubling at most per read, never with what a header declares. An empty buffer
/// grown by a large message is let go first.
fn read_size(conn: &mut Connection) -> usize {
    shrink_if_empty(conn.read_buf());
    let ceiling = conn.read_buf().len().clamp(MIN_READ, MAX_READ);
    conn.bytes_wanted().clamp(MIN_READ, ceiling)
}

/// One read of `want` bytes at most into `buf`, bounded by `deadline` on a stream that can
/// time its reads. `Filled::Deadline`: the deadline passed, or the driver's own timer woke
/// the read early: look again. A `WouldBlock` that is neither is returned as it is: a
/// nonblocking stream, or the user's own shorter timeout.
fn read_until<S: Read + Transport>(
    stream: &mut S,
    timer: &mut ReadTimer,
    buf: &mut BytesMut,
    want: usize,
    deadline: Option<Instant>,
) -> Result<Filled, Error> {
    let Some(deadline) = deadline else {
        timer.restore(stream);
        return Ok(Filled::Bytes(spare::read_append(stream, buf, want)?));
    };
    let started = Instant::now();
    if started >= deadline {
        return Ok(Filled::Deadline);
    }
    let armed = timer.arm(stream, deadline - started);
    match spare::read_append(stream, buf, want) {
        Ok(n) => Ok(Filled::Bytes(n)),
        Err(e) if is_timeout(&e) => {
            let now = Instant::now();
            if now >= deadline || armed.is_some_and(|a| a.fired(started, now)) {
                Ok(Filled::Deadline)
            } else {
                Err(e.into())
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Read buffers larger than this are let go once empty (after a large message) instead of
/// being kept for the next read: a big allocation is not held by an idle connection, and
/// the payloads handed out keep their own part of it alive.
const KEEP_READ_CAPACITY: usize = 256 * 1024;

fn shrink_if_empty(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > KEEP_READ_CAPACITY {
        *buf = BytesMut::new();
    }
}

/// A read that ran out of time: `WouldBlock` on Unix, `TimedOut` on Windows.
fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
