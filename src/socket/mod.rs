//! The std driver: [`WebSocket`] over any `Read + Write` stream.
//!
//! This layer only moves bytes between a stream and a [`Connection`]; every protocol rule
//! lives in [`crate::protocol`] and [`crate::handshake`]. Its habits, which make a read/write
//! echo loop cost one `read` and one `write` syscall per batch of messages:
//! - [`WebSocket::read`] hands out every complete message already buffered before it touches
//!   the stream again;
//! - [`WebSocket::write`] only queues; [`WebSocket::send`] queues and flushes; before
//!   `read` blocks on the stream it flushes what is queued (an owed Pong, a Close echo, your
//!   replies);
//! - the read buffer is reused, payloads are split off it as `Bytes`, and a server's payload
//!   is written straight from the application's buffer by a vectored write.
//!
//! On a nonblocking stream, `WouldBlock` surfaces as `Error::Io` (see
//! [`Error::is_would_block`]) and the same call can be repeated later: no byte is lost or
//! sent twice, because bytes are only consumed from the queues once the stream took them.

mod handshake;
mod settings;

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::error::Error;
use crate::protocol::{CloseCode, CloseFrame, Connection, Message, Role, State};

pub use handshake::{accept, accept_tcp, accept_with, connect, connect_with};
pub use settings::Settings;

/// Smallest read: enough for many small frames at once.
const MIN_READ: usize = 16 * 1024;
/// Largest single read, even when a frame in progress wants more.
const MAX_READ: usize = 4 * 1024 * 1024;
/// Slices handed to one vectored write.
const MAX_IOSLICES: usize = 64;

/// How the driver bounds a blocking read on a stream of type `S` (`TcpStream::set_read_timeout`).
type SetReadTimeout<S> = fn(&S, Option<Duration>) -> io::Result<()>;
/// How the driver closes the sending side of a stream of type `S`.
type Shutdown<S> = fn(&S) -> io::Result<()>;

fn shutdown_tcp(stream: &TcpStream) -> io::Result<()> {
    stream.shutdown(std::net::Shutdown::Write)
}

/// A WebSocket connection over a byte stream. See the module documentation.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// The timeouts (and the budgets the handshake used).
    settings: Settings,
    /// The stream reached end of file.
    eof: bool,
    /// A protocol error was already returned once; later reads report the closed state.
    failure_reported: bool,
    /// How to bound a blocking read on this stream, when the driver knows (streams made by
    /// [`connect_with`] and [`accept_tcp`]): used to time the close handshake with
    /// `Settings::close_timeout` instead of waiting forever for a vanished peer.
    set_read_timeout: Option<SetReadTimeout<S>>,
    /// The close timeout is armed on the stream.
    close_timer_armed: bool,
    /// How to close the stream's sending side, when the driver knows (TCP streams made by
    /// [`accept_tcp`] and [`connect_with`]): a server closes TCP as soon as the close
    /// handshake is over, without waiting for the application to drop the socket.
    shutdown: Option<Shutdown<S>>,
}

impl<S: Read + Write> WebSocket<S> {
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
        WebSocket {
            stream,
            conn,
            settings,
            eof: false,
            failure_reported: false,
            set_read_timeout: None,
            close_timer_armed: false,
            shutdown: None,
        }
    }

    /// The next message. Pings are answered by the connection itself and still returned;
    /// a Close is echoed (the echo is flushed) and returned as `Message::Close`, after which
    /// `read` returns [`Error::ConnectionClosed`].
    ///
    /// Errors: [`Error::Protocol`] when the peer broke the protocol (our Close with the
    /// matching code was sent), [`Error::AbnormalClosure`] when the peer dropped the stream
    /// without a Close, [`Error::Io`] (`WouldBlock` on a nonblocking stream: call again).
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            match self.conn.next_event() {
                Ok(Some(message)) => {
                    if matches!(message, Message::Close(_)) {
                        self.flush_ignoring_would_block()?;
                    }
                    return Ok(message);
                }
                Ok(None) => {}
                Err(e) => {
                    if !self.failure_reported {
                        self.failure_reported = true;
                        // §7.1.7: send our Close while the connection is still writable.
                        let _ = self.flush_ignoring_would_block();
                        self.linger();
                        return Err(Error::Protocol(e));
                    }
                }
            }
            if self.conn.is_terminated() {
                return self.finish_closed();
            }
            // Before blocking on the stream, send what is queued (replies, pongs, echoes).
            self.flush_ignoring_would_block()?;
            if self.conn.state() == State::CloseSent {
                self.arm_close_timer()?;
            }
            let filled = match self.fill_read_buf() {
                Err(e) if e.is_would_block() && self.close_timer_armed => {
                    // The peer did not answer our Close within `close_timeout`.
                    return Err(Error::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer did not answer our Close frame in time",
                    )));
                }
                other => other?,
            };
            if filled == 0 {
                self.eof = true;
                // Frames still buffered are delivered first; then the connection is either
                // closed cleanly or aborted (1006), which the loop reports.
                self.conn.receive_eof();
            }
        }
    }

    /// After the close handshake (or a failure): flush, then for a client wait for the
    /// server to close the stream (§7.1.1), discarding anything it still sends.
    fn finish_closed(&mut self) -> Result<Message, Error> {
        if self.conn.state() == State::Aborted {
            return Err(Error::AbnormalClosure);
        }
        self.flush()?;
        self.arm_close_timer()?;
        if self.conn.role() == Role::Server {
            // §7.1.1: "when a server is instructed to _Close the WebSocket Connection_ it
            // SHOULD initiate a TCP Close immediately". (Without a hook, dropping the
            // WebSocket does it.)
            self.linger();
        }
        if self.conn.role() == Role::Client && !self.eof {
            // §7.1.1: "when a client is instructed to [close], it SHOULD wait for a TCP Close
            // from the server." Bounded by the stream's own read timeout, if it has one.
            let mut scratch = [0u8; 4096];
            loop {
                match self.stream.read(&mut scratch) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // With the close timer armed, a timeout ends the wait (the client "MAY
                    // close the connection at any time after sending and receiving a Close").
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.close_timer_armed => {
                        return Err(e.into());
                    }
                    Err(_) => break,
                }
            }
            self.eof = true;
        }
        Err(Error::ConnectionClosed)
    }

    /// Close our sending side and wait (at most `Settings::close_timeout`) for the peer to
    /// close its own, discarding what it still sends: §7.1.1's clean close ("call shutdown()
    /// with SHUT_WR on the socket, call recv() until obtaining a return value of 0"). Closing
    /// a socket that still has unread input makes the kernel answer with a reset, which can
    /// destroy our Close frame in the peer's receive queue before the peer reads it. Only on
    /// streams whose shutdown and timeouts the driver knows (TCP from `accept_tcp` and
    /// `connect_with`); once.
    fn linger(&mut self) {
        let (Some(shutdown), Some(set_timeout)) = (self.shutdown.take(), self.set_read_timeout)
        else {
            return;
        };
        if shutdown(&self.stream).is_err() || self.eof {
            return;
        }
        let deadline = Instant::now() + self.settings.close_timeout;
        let mut scratch = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || set_timeout(&self.stream, Some(left)).is_err() {
                break;
            }
            self.close_timer_armed = true;
            match self.stream.read(&mut scratch) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    /// Bound the blocking reads of the closing handshake by `Settings::close_timeout`, on
    /// streams whose timeout the driver can set. A read that then times out ends the wait.
    fn arm_close_timer(&mut self) -> Result<(), Error> {
        if let (Some(set), false) = (self.set_read_timeout, self.close_timer_armed) {
            set(&self.stream, Some(self.settings.close_timeout))?;
            self.close_timer_armed = true;
        }
        Ok(())
    }

    /// Queue a message without writing it (see [`WebSocket::flush`]).
    pub fn write(&mut self, message: Message) -> Result<(), Error> {
        self.conn.send(message)?;
        Ok(())
    }

    /// Queue a message and write everything queued.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Queue one fragment of a message (see [`Connection::send_fragment`]) and flush.
    pub fn send_fragment(
        &mut self,
        opcode: crate::frame::OpCode,
        payload: impl Into<bytes::Bytes>,
        fin: bool,
    ) -> Result<(), Error> {
        self.conn.send_fragment(opcode, payload, fin)?;
        self.flush()
    }

    /// Start the closing handshake (§7.1.2) and flush; keep calling [`WebSocket::read`]
    /// until it returns [`Error::ConnectionClosed`] to complete it.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(Some(CloseFrame::new(code, reason)))?;
        self.flush()
    }

    /// Write everything queued, with vectored writes.
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

    fn flush_ignoring_would_block(&mut self) -> Result<(), Error> {
        match self.flush() {
            Err(e) if e.is_would_block() => Ok(()),
            other => other,
        }
    }

    /// One read from the stream into the connection's read buffer.
    ///
    /// The read size follows what the frame in progress still needs, but never more than
    /// the bytes already buffered (at least [`MIN_READ`]): the buffer grows with bytes that
    /// actually arrived, doubling at most per read, never with what a header declares.
    fn fill_read_buf(&mut self) -> Result<usize, Error> {
        let ceiling = self.conn.read_buf().len().clamp(MIN_READ, MAX_READ);
        let want = self.conn.bytes_wanted().clamp(MIN_READ, ceiling);
        Ok(read_some(&mut self.stream, self.conn.read_buf(), want)?)
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

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (e.g. to set timeouts).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Give up the WebSocket and take the stream back.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

/// Read at most `max` bytes appended to `buf`; retries `Interrupted`.
fn read_some<S: Read>(stream: &mut S, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
    let start = buf.len();
    // Make room without reserving more than we will read (never the declared frame length).
    buf.resize(start + max, 0);
    let result = loop {
        match stream.read(&mut buf[start..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    let n = *result.as_ref().unwrap_or(&0);
    buf.truncate(start + n);
    result
}
