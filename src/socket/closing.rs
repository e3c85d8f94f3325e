//! Closing the transport once the connection is terminated (§7.1.1, §7.1.7): send what is
//! queued (our Close), then the server (or an endpoint that failed the connection) closes its
//! sending side and drains until the peer's FIN, and a client waits for the server to close
//! first, each bounded by `Config::close_timeout`. Resumable: on a nonblocking stream each
//! step returns `WouldBlock` and picks up where it stopped.

use std::io::{self, Read, Write};
use std::time::Instant;

use super::transport::ReadTimer;
use super::{Transport, WebSocket, is_timeout};
use crate::error::Error;
use crate::protocol::{Connection, Role, State};

/// How far closing the transport has gone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Nothing done yet.
    #[default]
    NotStarted,
    /// Our queue is written (and, if we close first, our sending side shut down); reading
    /// and discarding until the peer's FIN or the deadline.
    Draining {
        /// When we stop waiting.
        deadline: Instant,
    },
    /// The transport is as closed as the driver can make it.
    Done,
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// Move the close of the transport forward. `Ok(())`: done. `WouldBlock` (nonblocking
    /// stream): call again later.
    pub(super) fn finish(&mut self) -> Result<(), Error> {
        if self.conn.state() == State::Aborted {
            // No Close is owed on a connection whose transport ended (or whose close wait
            // ran out): nothing to send, nothing to wait for.
            self.ending = Ending::Done;
        }
        loop {
            match self.ending {
                Ending::Done => {
                    self.timer.restore(&self.stream);
                    return Ok(());
                }
                Ending::NotStarted => {
                    // Never shut the sending side down before our Close left: it would be
                    // lost (a full nonblocking socket returns `WouldBlock` here first).
                    self.flush()?;
                    self.ending = self.start_draining();
                }
                Ending::Draining { deadline } => self.drain(deadline)?,
            }
        }
    }

    /// After our queue is written: decide how to wait for the peer's side of the close.
    fn start_draining(&mut self) -> Ending {
        start_draining(&mut self.stream, &self.conn, self.eof)
    }

    /// Read and discard until end of stream or the deadline.
    fn drain(&mut self, deadline: Instant) -> Result<(), Error> {
        let eof = drain(&mut self.stream, &mut self.timer, deadline)?;
        self.eof |= eof;
        self.ending = Ending::Done;
        finish_after_drain(&mut self.stream, &self.conn, eof);
        Ok(())
    }

    /// What `read` returns once the transport is closed.
    pub(super) fn closed_error(&self) -> Error {
        closed_error(&self.conn)
    }
}

/// After our queue is written: close our sending side if we close first, and say how long
/// to wait for the peer's side of the close.
pub(super) fn start_draining<S: Transport>(stream: &mut S, conn: &Connection, eof: bool) -> Ending {
    if eof {
        return Ending::Done;
    }
    let deadline = Instant::now() + conn.config().close_timeout;
    let we_close_first = conn.role() == Role::Server || conn.state() == State::Failed;
    if we_close_first {
        // §7.1.1: "when a server is instructed to _Close the WebSocket Connection_ it
        // SHOULD initiate a TCP Close immediately"; the clean way is "shutdown() with
        // SHUT_WR on the socket, call recv() until obtaining a return value of 0":
        // closing a socket that still has unread input makes the kernel answer with a
        // reset, which can destroy our Close frame before the peer reads it.
        if stream.shutdown_write().is_err() {
            // A stream that cannot half-close: dropping it is the close.
            return Ending::Done;
        }
    }
    // A client: §7.1.1 "it SHOULD wait for a TCP Close from the server" (and "MAY close
    // the connection at any time after sending and receiving a Close frame", which the
    // deadline does).
    Ending::Draining { deadline }
}

/// Read and discard until end of stream (`Ok(true)`) or the deadline (`Ok(false)`);
/// `WouldBlock` on a nonblocking stream (call again).
pub(super) fn drain<S: Read + Transport>(
    stream: &mut S,
    timer: &mut ReadTimer,
    deadline: Instant,
) -> Result<bool, Error> {
    let mut scratch = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        let armed = timer.arm(stream, deadline - now);
        match stream.read(&mut scratch) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                let later = Instant::now();
                if !armed.is_some_and(|a| a.fired(now, later)) && later < deadline {
                    return Err(e.into());
                }
            }
            // A reset or another failure: the peer is gone, which is what we waited for.
            Err(_) => return Ok(true),
        }
    }
}

/// What `read` returns once the transport is closed: the clean end, the peer's vanishing
/// (1006), or the close wait that ran out.
pub(super) fn closed_error(conn: &Connection) -> Error {
    match conn.state() {
        State::Aborted if conn.close_timed_out() => Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer did not answer our Close frame in time",
        )),
        State::Aborted => Error::AbnormalClosure,
        _ => Error::ConnectionClosed,
    }
}

/// The peer closed its side first (a client hears the server's FIN): close ours too, so the
/// TCP connection ends now rather than when the application drops the stream.
pub(super) fn finish_after_drain<S: Transport>(stream: &mut S, conn: &Connection, eof: bool) {
    let we_closed_first = conn.role() == Role::Server || conn.state() == State::Failed;
    if eof && !we_closed_first {
        let _ = stream.shutdown_write();
    }
}
