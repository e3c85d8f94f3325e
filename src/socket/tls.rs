//! TLS for `wss://` (RFC 6455 §3, §4.1 step 5: "If /secure/ is true, the client MUST perform
//! a TLS handshake over the connection after opening the connection and before sending the
//! handshake data"), over rustls, with the `rustls` feature.
//!
//! TLS is a stream like any other here: [`TlsStream`] is a rustls connection over a
//! `TcpStream` that is `Read + Write + Transport`, and the WebSocket on top neither knows nor
//! cares. This module only adds what building one takes:
//! - client: [`connect`](super::connect) speaks TLS to `wss://` URLs, trusting the Mozilla
//!   roots compiled in ([`default_roots`], from `webpki-roots`); [`connect_tls`] takes a
//!   [`ClientConfig`] of your own, e.g. [`client_config`] of the default roots plus a private
//!   CA read by [`add_pem_roots`]. The server is verified against the URL's host, which is
//!   also the SNI name sent.
//! - server: [`accept_tls`] runs the TLS handshake, then the WebSocket one, on an accepted
//!   `TcpStream`; [`server_config_from_pem`] reads a certificate chain and its key.
//!
//! Both handshakes are bounded by `Settings::handshake_timeout`, each its own budget.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use super::handshake::open_tcp;
use super::stream::MaybeTlsStream;
use super::{Settings, Transport, WebSocket};
use crate::error::{Error, TlsError};
use crate::handshake::{Accept, ClientRequest, HttpResponse, Request, Response};

/// A rustls connection (`C`: [`ClientConnection`] or [`ServerConnection`]) over a
/// `TcpStream`.
///
/// - Writes only encrypt into rustls's buffer (a vectored write becomes one TLS record run,
///   not one record per slice); [`flush`](Write::flush) hands the records to the socket, so a
///   WebSocket's batch of frames still leaves in one `write` system call.
/// - Reads decrypt; a peer that closes TCP without a TLS close_notify reads as end of
///   stream, not as an error: WebSocket frames carry their own lengths and the close
///   handshake its own end (a stream cut short is still reported as an abnormal closure,
///   1006), so a truncation cannot pass for a clean close.
/// - Timeouts are the socket's; [`Transport::shutdown_write`] sends close_notify, then
///   shuts the socket's sending side; [`Transport::read_fd`] is `None` (the socket holds
///   ciphertext).
/// - A handshake not yet complete is driven by the first read or write, so a nonblocking
///   socket works too (`WouldBlock` until it is done); on a blocking one,
///   [`TlsStream::complete_handshake`] bounds it.
#[derive(Debug)]
pub struct TlsStream<C> {
    conn: C,
    sock: TcpStream,
}

/// A client's TLS stream.
pub type ClientTlsStream = TlsStream<ClientConnection>;
/// A server's TLS stream.
pub type ServerTlsStream = TlsStream<ServerConnection>;

impl<C, D> TlsStream<C>
where
    C: Deref<Target = rustls::ConnectionCommon<D>> + DerefMut,
    D: rustls::SideData,
{
    /// Wrap a rustls connection and its socket. No IO happens yet.
    pub fn new(conn: C, sock: TcpStream) -> Self {
        TlsStream { conn, sock }
    }

    /// The rustls connection (negotiated version, ALPN, the peer's certificates …).
    pub fn tls(&self) -> &C {
        &self.conn
    }

    /// The rustls connection, mutably.
    pub fn tls_mut(&mut self) -> &mut C {
        &mut self.conn
    }

    /// The TCP socket underneath (options, addresses; its bytes are ciphertext).
    pub fn tcp(&self) -> &TcpStream {
        &self.sock
    }

    /// The connection and the socket.
    pub fn into_parts(self) -> (C, TcpStream) {
        (self.conn, self.sock)
    }

    /// Run the TLS handshake to its end on a blocking socket, within `timeout` (the
    /// socket's own read timeout is given back after). A certificate the peer refused, or
    /// that we refused, is [`Error::Tls`] with [`TlsError::Rustls`] inside.
    pub fn complete_handshake(&mut self, timeout: Duration) -> Result<(), Error> {
        let saved = self.sock.read_timeout()?;
        let result = self.handshake_until(Instant::now() + timeout, timeout);
        let restored = self.sock.set_read_timeout(saved);
        result?;
        Ok(restored?)
    }

    fn handshake_until(&mut self, deadline: Instant, timeout: Duration) -> Result<(), Error> {
        while self.conn.is_handshaking() {
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the TLS handshake took longer than {} ms", timeout.as_millis()),
                )));
            }
            // SO_RCVTIMEO of zero means "no timeout": never ask for less than a millisecond.
            self.sock.set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))?;
            match self.conn.complete_io(&mut self.sock) {
                Ok(_) => {}
                Err(e) if is_retry(&e) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(Error::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection during the TLS handshake",
                    )));
                }
                Err(e) => return Err(tls_io_error(e)),
            }
        }
        Ok(())
    }

    /// Drive a handshake still under way (nonblocking sockets: `WouldBlock` until done).
    fn drive_handshake(&mut self) -> io::Result<()> {
        while self.conn.is_handshaking() {
            self.conn.complete_io(&mut self.sock)?;
        }
        Ok(())
    }
}

/// A read or write that ran out of its timeout, or was interrupted: try again.
fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// rustls reports its own failures as `InvalidData` IO errors: take its error out, typed.
fn tls_io_error(e: io::Error) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => Error::Tls(TlsError::Rustls(tls.clone())),
        None => Error::Io(e),
    }
}

impl<C, D> Read for TlsStream<C>
where
    C: Deref<Target = rustls::ConnectionCommon<D>> + DerefMut,
    D: rustls::SideData,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match rustls::Stream::new(&mut self.conn, &mut self.sock).read(buf) {
            // TCP ended without close_notify: see the type's documentation.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

impl<C, D> Write for TlsStream<C>
where
    C: Deref<Target = rustls::ConnectionCommon<D>> + DerefMut,
    D: rustls::SideData,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Encrypt as much as rustls's buffer takes (64 KiB by default); a full buffer is first
    /// handed to the socket (`WouldBlock` on a nonblocking one that is full too).
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.drive_handshake()?;
        loop {
            let n = self.conn.writer().write_vectored(bufs)?;
            if n > 0 || bufs.iter().all(|b| b.is_empty()) || !self.conn.wants_write() {
                return Ok(n);
            }
            self.conn.write_tls(&mut self.sock)?;
        }
    }

    /// Hand every encrypted byte to the socket.
    fn flush(&mut self) -> io::Result<()> {
        self.drive_handshake()?;
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.sock.flush()
    }
}

impl<C, D> Transport for TlsStream<C>
where
    C: Deref<Target = rustls::ConnectionCommon<D>> + DerefMut,
    D: rustls::SideData,
{
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.read_timeout()
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(timeout)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.write_timeout()
    }
    /// RFC 8446 §6.1: close_notify says we send no more; then the TCP FIN.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush()?;
        self.sock.shutdown(Shutdown::Write)
    }
    // `read_fd` stays `None`: reading the socket would hand over ciphertext.
}

/// The crypto provider: the process default if the application installed one, else ring.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// The Mozilla root certificates compiled into `webpki-roots`: what [`connect`](super::connect)
/// trusts for `wss://`.
pub fn default_roots() -> RootCertStore {
    RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
}

/// Add every certificate in the PEM file at `path` to `roots` (a private CA, a test CA).
/// Returns how many were added; a file with none is [`TlsError::NoCertificates`].
pub fn add_pem_roots(roots: &mut RootCertStore, path: impl AsRef<Path>) -> Result<usize, Error> {
    let path = path.as_ref();
    let (added, _ignored) = roots.add_parsable_certificates(read_certs(path)?);
    if added == 0 {
        return Err(TlsError::NoCertificates { path: path.to_owned() }.into());
    }
    Ok(added)
}

/// A client configuration that trusts `roots` (and nothing else), no client certificate.
pub fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// [`client_config`] of [`default_roots`], built once per process.
pub fn default_client_config() -> Result<Arc<ClientConfig>, Error> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = DEFAULT.get() {
        return Ok(config.clone());
    }
    let config = client_config(default_roots())?;
    Ok(DEFAULT.get_or_init(|| config).clone())
}

/// A server configuration from a PEM certificate chain (leaf first) and its PEM private key
/// (PKCS#8, PKCS#1 or SEC1), no client authentication.
pub fn server_config_from_pem(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>, Error> {
    let (cert, key) = (cert.as_ref(), key.as_ref());
    let chain = read_certs(cert)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificates { path: cert.to_owned() }.into());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| TlsError::Pem { path: key.to_owned(), error })?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Rustls)?;
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = |error| TlsError::Pem { path: path.to_owned(), error };
    let certs = CertificateDer::pem_file_iter(path).map_err(pem)?;
    Ok(certs.collect::<Result<Vec<_>, _>>().map_err(pem)?)
}

/// [`connect_with`](super::connect_with) with a TLS configuration of your own for `wss://`
/// URLs (a `ws://` URL is plain TCP, as there).
pub fn connect_tls(
    request: ClientRequest,
    settings: impl Into<Settings>,
    config: Arc<ClientConfig>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    let url = request.url();
    let addrs = (url.host.clone(), url.port);
    connect_addrs_tls(addrs, request, settings, config)
}

/// [`connect_tls`] to addresses of your choosing; the server is still verified against the
/// URL's host.
pub fn connect_addrs_tls(
    addrs: impl ToSocketAddrs,
    request: ClientRequest,
    settings: impl Into<Settings>,
    config: Arc<ClientConfig>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    let settings = settings.into();
    let tcp = open_tcp(addrs, &settings)?;
    let stream = if request.url().secure {
        let tls = client_stream(tcp, &request.url().host, config, settings.handshake_timeout)?;
        MaybeTlsStream::Rustls(Box::new(tls))
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    WebSocket::client(stream, &request, settings)
}

/// TLS over `tcp` to `host` (the name verified and sent as SNI; an IP literal is verified
/// against the certificate's IP addresses and sends no SNI), handshake done within `timeout`.
pub fn client_stream(
    tcp: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<ClientTlsStream, Error> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| TlsError::InvalidServerName { host: host.to_owned() })?;
    let conn = ClientConnection::new(config, name).map_err(TlsError::Rustls)?;
    let mut stream = TlsStream::new(conn, tcp);
    stream.complete_handshake(timeout)?;
    Ok(stream)
}

/// Server: the TLS handshake on an accepted blocking `tcp` stream (with `TCP_NODELAY`),
/// then the WebSocket handshake, letting `callback` see the request (as
/// [`accept_tcp`](super::accept_tcp)); each within `Settings::handshake_timeout`.
pub fn accept_tls(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    settings: impl Into<Settings>,
    callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
) -> Result<WebSocket<ServerTlsStream>, Error> {
    let settings = settings.into();
    tcp.set_nodelay(true)?;
    let conn = ServerConnection::new(config).map_err(TlsError::Rustls)?;
    let mut stream = TlsStream::new(conn, tcp);
    stream.complete_handshake(settings.handshake_timeout)?;
    WebSocket::server_with(stream, settings, callback)
}
