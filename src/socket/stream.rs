//! [`MaybeTlsStream`]: the stream [`connect`](super::connect) opens, plain TCP for `ws://` and
//! (with the `rustls` feature) TLS over TCP for `wss://`, so that one function serves both
//! schemes with one return type whatever features are on.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Transport, TryClone};

/// A client's stream: TCP, or TLS over TCP. Each call goes to the stream inside; a plain one
/// keeps every fast path of a `TcpStream` (its descriptor is read straight into spare
/// capacity, see [`Transport::read_fd`]).
///
/// Non-exhaustive: the TLS variant exists only with the `rustls` feature.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: the TCP stream itself.
    Plain(TcpStream),
    /// `wss://`: TLS (rustls) over TCP, boxed since a TLS connection is a few KiB.
    #[cfg(feature = "rustls")]
    Rustls(Box<super::tls::ClientTlsStream>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (to set options such as nonblocking mode; reading or
    /// writing it directly would bypass TLS).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(s) => s.tcp(),
        }
    }

    /// Bound each blocking read (see [`TcpStream::set_read_timeout`]).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    /// The read timeout in force.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.tcp().read_timeout()
    }

    /// Bound each blocking write (see [`TcpStream::set_write_timeout`]).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }

    /// Nonblocking mode (see [`TcpStream::set_nonblocking`]); a TLS stream then returns
    /// `WouldBlock` like the socket.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.tcp().set_nonblocking(nonblocking)
    }

    /// True for a TLS stream.
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }
}

/// Forward one expression to whichever stream is inside.
macro_rules! inner {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            MaybeTlsStream::Plain($s) => $e,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls($s) => $e,
        }
    };
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        inner!(self, s => s.read(buf))
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        inner!(self, s => s.write(buf))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        inner!(self, s => s.write_vectored(bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        inner!(self, s => s.flush())
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.tcp().read_timeout()
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.tcp().write_timeout()
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        inner!(self, s => s.shutdown_write())
    }
    #[cfg(unix)]
    fn read_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        // A TLS stream answers `None` itself: its bytes are decrypted, not read(2).
        inner!(self, s => s.read_fd())
    }
}

impl TryClone for MaybeTlsStream {
    /// A plain stream clones its socket; a TLS stream cannot be split (one TLS session has
    /// one state, which two halves would have to share): `Unsupported`.
    fn try_clone(&self) -> io::Result<Self> {
        match self {
            MaybeTlsStream::Plain(s) => s.try_clone().map(MaybeTlsStream::Plain),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a TLS stream cannot be split into halves",
            )),
        }
    }
}

impl From<TcpStream> for MaybeTlsStream {
    fn from(stream: TcpStream) -> Self {
        MaybeTlsStream::Plain(stream)
    }
}
