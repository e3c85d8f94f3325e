//! [`Transport`]: the little the driver needs from a stream beyond `Read + Write`, to time a
//! read (deadlines: the opening handshake, the close wait, keepalive) and to close the
//! sending side (the clean TCP close of §7.1.1).

use std::io;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// What the driver asks of a stream besides `Read + Write`. Every method has a default that
/// says "not supported": a stream that cannot time its reads still works, but its deadlines
/// are only acted on when the application calls again (a nonblocking stream does anyway).
///
/// Implemented for [`TcpStream`], (on Unix) `UnixStream`, and with the `rustls` feature for
/// `socket::tls::TlsStream`. A wrapper forwards to the stream it wraps; for a TLS stream that
/// is the TCP socket underneath (its `shutdown_write` sends its close_notify first, which is
/// why that method takes `&mut self`), **except [`read_fd`]**, which a wrapper that
/// transforms the bytes (TLS decrypts them) must leave at its default. A stream of your own
/// that has nothing to offer: `impl rfc6455::socket::Transport for MyStream {}`.
///
/// [`read_fd`]: Transport::read_fd
pub trait Transport {
    /// Bound each later blocking read to `timeout` (`None`: no bound), like
    /// [`TcpStream::set_read_timeout`]. A read that runs out fails with `WouldBlock` or
    /// `TimedOut`.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The read timeout in force, so that the driver can give it back after using its own.
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Bound each later blocking write to `timeout` (`None`: no bound).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The write timeout in force.
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Close the sending side (TCP: `shutdown(SHUT_WR)`, a FIN; TLS: a close_notify alert,
    /// then the FIN), keeping the receiving side open to read what the peer still sends.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The descriptor to read from when reading this stream is exactly `read(2)` on it (a
    /// socket, a pipe), so that the driver can read into a buffer's spare capacity without
    /// zeroing it first (see [`read_fd_append`](super::read_fd_append)). `None` (the
    /// default): the driver zeroes, then calls `Read::read`. A TLS stream must answer
    /// `None`: its reads decrypt, reading its socket would hand over ciphertext.
    #[cfg(unix)]
    fn read_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        TcpStream::read_timeout(self)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        TcpStream::write_timeout(self)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
    #[cfg(unix)]
    fn read_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(std::os::fd::AsFd::as_fd(self))
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::read_timeout(self)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::write_timeout(self)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
    #[cfg(unix)]
    fn read_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(std::os::fd::AsFd::as_fd(self))
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).read_timeout()
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).write_timeout()
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
    #[cfg(unix)]
    fn read_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        (**self).read_fd()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).read_timeout()
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        (**self).write_timeout()
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
    #[cfg(unix)]
    fn read_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        (**self).read_fd()
    }
}

/// A read timeout the driver set, and the one it found, to give back.
#[derive(Debug, Default)]
pub(crate) struct ReadTimer {
    /// The timeout the driver set on the stream, if it set one.
    armed: Option<Duration>,
    /// The stream's own timeout before the driver touched it (`Some` once saved).
    saved: Option<Option<Duration>>,
    /// The stream cannot time its reads.
    unsupported: bool,
}

impl ReadTimer {
    /// Make the next blocking read end by about `remaining` from now. Returns the bound in
    /// force: the driver's, or the user's own when that is shorter. Avoids a system call when
    /// the bound already set is close enough (it may wake a little early, never much late).
    pub(crate) fn arm<S: Transport + ?Sized>(
        &mut self,
        stream: &S,
        remaining: Duration,
    ) -> Option<Armed> {
        if self.unsupported {
            return None;
        }
        let user = match self.saved {
            Some(user) => user,
            None => match stream.read_timeout() {
                Ok(user) => {
                    self.saved = Some(user);
                    user
                }
                Err(_) => {
                    self.unsupported = true;
                    return None;
                }
            },
        };
        if let Some(user) = user
            && user <= remaining
        {
            // The user's own bound ends the read first: theirs is what a timeout means.
            if self.armed.is_some() {
                if stream.set_read_timeout(Some(user)).is_err() {
                    self.unsupported = true;
                    return None;
                }
                self.armed = None;
            }
            return Some(Armed { bound: user, ours: false });
        }
        // SO_RCVTIMEO of zero means "no timeout": never ask for less than a millisecond.
        let want = remaining.max(Duration::from_millis(1));
        let slack = want / 8 + Duration::from_millis(1);
        match self.armed {
            Some(armed) if armed <= want + slack && armed + slack * 4 >= want => {}
            _ => {
                if stream.set_read_timeout(Some(want)).is_err() {
                    self.unsupported = true;
                    return None;
                }
                self.armed = Some(want);
            }
        }
        self.armed.map(|bound| Armed { bound, ours: true })
    }

    /// Give the stream its own read timeout back, if the driver changed it.
    pub(crate) fn restore<S: Transport + ?Sized>(&mut self, stream: &S) {
        if self.armed.take().is_some()
            && let Some(user) = self.saved
        {
            let _ = stream.set_read_timeout(user);
        }
    }
}

/// The bound in force on one read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Armed {
    /// How long the read may block.
    pub(crate) bound: Duration,
    /// The driver set it (not the user).
    pub(crate) ours: bool,
}

impl Armed {
    /// A read begun at `started` that timed out at `now` was ended by the driver's own timer
    /// (not by a nonblocking stream, nor the user's timeout): it waited about its bound.
    pub(crate) fn fired(&self, started: Instant, now: Instant) -> bool {
        self.ours && now.duration_since(started) >= self.bound * 7 / 8
    }
}
