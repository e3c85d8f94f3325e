//! The std driver's [`Error`], and the error of every layer beneath it, re-exported.
//!
//! Each layer owns its error type: [`FrameError`] (§5.2, a budget) in [`crate::frame`],
//! [`ProtocolError`] (§5–§8, each knows its close code, §7.4.1) and [`SendError`] in
//! [`crate::protocol`], [`HandshakeError`] (§4, each knows its HTTP response) in
//! [`crate::handshake`]. [`Error`] is what the driver ([`crate::socket`]) returns: one of
//! those, IO, or the lifecycle. It sits at the driver's level: nothing beneath imports it.

use std::fmt;
use std::io;

pub use crate::deflate::DeflateNegotiationError;
pub use crate::frame::FrameError;
pub use crate::handshake::HandshakeError;
pub use crate::protocol::{ProtocolError, SendError};

/// Everything the std driver can return.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The underlying stream failed; `WouldBlock` on a nonblocking stream means "call again".
    Io(io::Error),
    /// The opening handshake failed (a server already sent the matching HTTP response).
    Handshake(HandshakeError),
    /// The server's 101 accepted our permessage-deflate offer on terms RFC 7692 forbids
    /// (§7: the client "MUST _Fail the WebSocket Connection_"); the stream was dropped.
    Negotiation(DeflateNegotiationError),
    /// The peer broke the protocol; the connection was failed with `err.close_code()`.
    Protocol(ProtocolError),
    /// The application asked for something it cannot do now.
    Send(SendError),
    /// The close handshake is complete: there is nothing more to read or send.
    ConnectionClosed,
    /// The peer dropped the connection without a Close frame (close code 1006, §7.1.5).
    AbnormalClosure,
    /// TLS (`wss://`) failed: a certificate refused (ours or the peer's), a PEM file that
    /// cannot be read, a host that cannot be verified.
    #[cfg(feature = "rustls")]
    Tls(TlsError),
}

/// Why TLS failed (the `rustls` feature).
#[cfg(feature = "rustls")]
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused: the handshake failed (`InvalidCertificate(UnknownIssuer)` for a
    /// server whose certificate no trusted root signed, `AlertReceived(..)` when the peer
    /// refused ours), or a configuration was invalid.
    Rustls(rustls::Error),
    /// A PEM file could not be read or parsed.
    Pem {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        error: rustls::pki_types::pem::Error,
    },
    /// A PEM file holds no certificate.
    NoCertificates {
        /// The file.
        path: std::path::PathBuf,
    },
    /// The URL's host is neither a DNS name nor an IP address, so no certificate can be
    /// checked against it.
    InvalidServerName {
        /// The host.
        host: String,
    },
}

#[cfg(feature = "rustls")]
impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Rustls(e) => write!(f, "{e}"),
            TlsError::Pem { path, error } => write!(f, "{}: {error}", path.display()),
            TlsError::NoCertificates { path } => {
                write!(f, "{}: no PEM certificate in the file", path.display())
            }
            TlsError::InvalidServerName { host } => {
                write!(f, "{host:?} is not a DNS name or IP address a certificate can name")
            }
        }
    }
}

#[cfg(feature = "rustls")]
impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Rustls(e) => Some(e),
            TlsError::Pem { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(feature = "rustls")]
impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Error::Tls(e)
    }
}

impl Error {
    /// True for a nonblocking stream's `WouldBlock` (or `Interrupted`): the call can be
    /// repeated later without losing or duplicating a byte.
    pub fn is_would_block(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "IO error: {e}"),
            Error::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            Error::Negotiation(e) => write!(f, "permessage-deflate negotiation failed: {e}"),
            Error::Protocol(e) => write!(f, "connection failed ({}): {e}", e.close_code().0),
            Error::Send(e) => write!(f, "cannot send: {e}"),
            Error::ConnectionClosed => write!(f, "the connection is closed"),
            Error::AbnormalClosure => {
                write!(f, "the peer closed the connection without a Close frame (1006)")
            }
            #[cfg(feature = "rustls")]
            Error::Tls(e) => write!(f, "TLS failed: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Negotiation(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Send(e) => Some(e),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}
impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}
impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}
