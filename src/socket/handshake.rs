//! The driver's side of the opening handshake (§4): write or read the HTTP head over the
//! stream and let [`crate::handshake`] judge it, resumably, under one deadline.
//!
//! [`ServerHandshake`] and [`ClientHandshake`] hold the stream, the parser and the bytes so
//! far; on a nonblocking stream [`ServerHandshake::resume`] returns
//! [`Handshaking::WouldBlock`] with the handshake inside, to be resumed when the stream is
//! ready, no byte lost. The whole handshake is bounded by `Settings::handshake_timeout`,
//! measured from its start (not per read). `connect` and the `accept` family run one to the
//! end on a blocking stream.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use bytes::BytesMut;

use super::settings::Settings;
use super::spare::read_append;
use super::stream::MaybeTlsStream;
use super::transport::ReadTimer;
use super::{Transport, WebSocket, is_timeout};
use crate::deflate::{DeflateParams, is_permessage_deflate};
use crate::error::{Error, HandshakeError};
use crate::handshake::{
    Accept, ClientRequest, HttpResponse, Request, RequestParser, Response, ResponseParser,
};
use crate::protocol::Role;

/// Bytes read at a time while the head is incomplete.
const HEAD_READ: usize = 4096;

/// Where a handshake in progress stopped.
pub enum Handshaking<H> {
    /// The stream would block: resume the handshake inside when it is ready.
    WouldBlock(H),
    /// The handshake failed for good (a server already sent the matching HTTP answer).
    Failed(Error),
}

impl<H> fmt::Debug for Handshaking<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handshaking::WouldBlock(_) => write!(f, "WouldBlock(..)"),
            Handshaking::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl<H> From<Handshaking<H>> for Error {
    /// The error alone: a `WouldBlock` becomes `Error::Io(WouldBlock)` and the handshake in
    /// progress is dropped (use `resume` to keep it).
    fn from(h: Handshaking<H>) -> Self {
        match h {
            Handshaking::WouldBlock(_) => Error::Io(io::ErrorKind::WouldBlock.into()),
            Handshaking::Failed(e) => e,
        }
    }
}

/// Bytes on their way out, and how many left already.
#[derive(Debug, Default)]
struct Outgoing {
    bytes: Vec<u8>,
    written: usize,
}

impl Outgoing {
    /// Write the rest; `Ok(false)`: the stream would block.
    fn write_to<S: Write>(&mut self, stream: &mut S) -> io::Result<bool> {
        while let Some(rest) = self.bytes.get(self.written..).filter(|r| !r.is_empty()) {
            match stream.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        match stream.flush() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The stream, its deadline and what has been read: the part both sides share.
struct Reading<S: Transport> {
    stream: S,
    settings: Settings,
    buf: BytesMut,
    deadline: Instant,
    timer: ReadTimer,
}

/// How one bounded read of the head ended.
enum HeadRead {
    /// Bytes arrived (0: end of stream).
    Bytes(usize),
    /// The stream would block (nonblocking, or the user's own timeout).
    WouldBlock,
}

impl<S: Read + Write + Transport> Reading<S> {
    fn new(stream: S, settings: Settings) -> Self {
        Reading {
            stream,
            settings,
            buf: BytesMut::new(),
            deadline: Instant::now() + settings.handshake_timeout,
            timer: ReadTimer::default(),
        }
    }

    /// The handshake's one deadline passed.
    fn timed_out(&self) -> Error {
        Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the opening handshake took longer than {} ms",
                self.settings.handshake_timeout.as_millis()
            ),
        ))
    }

    /// One read of the head, bounded by what is left of the deadline.
    fn read(&mut self) -> Result<HeadRead, Error> {
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Err(self.timed_out());
            }
            let armed = self.timer.arm(&self.stream, self.deadline - now);
            match read_append(&mut self.stream, &mut self.buf, HEAD_READ) {
                Ok(n) => return Ok(HeadRead::Bytes(n)),
                Err(e) if is_timeout(&e) => {
                    let later = Instant::now();
                    if !armed.is_some_and(|a| a.fired(now, later)) && later < self.deadline {
                        return Ok(HeadRead::WouldBlock);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The handshake succeeded: the stream, with its own read timeout back, becomes a
    /// WebSocket; bytes read past the head are its first.
    fn into_websocket(mut self, role: Role) -> WebSocket<S> {
        self.timer.restore(&self.stream);
        WebSocket::from_raw(self.stream, role, self.settings, self.buf)
    }
}

/// What the server is doing.
enum ServerPhase {
    /// Reading the client's request.
    Reading,
    /// Writing our answer; then the handshake succeeds (`None`) or fails with the error.
    Answering { answer: Outgoing, failure: Option<Error> },
}

/// A server's opening handshake in progress: the stream, the parser and the bytes so far.
pub struct ServerHandshake<S: Transport, F> {
    io: Reading<S>,
    parser: RequestParser,
    callback: Option<F>,
    phase: ServerPhase,
    /// permessage-deflate as accepted in our 101, to switch on once it is written.
    deflate: Option<DeflateParams>,
}

impl<S: Transport, F> fmt::Debug for ServerHandshake<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            ServerPhase::Reading => "reading the request",
            ServerPhase::Answering { .. } => "writing the answer",
        };
        f.debug_struct("ServerHandshake").field("phase", &phase).finish_non_exhaustive()
    }
}

impl<S, F> ServerHandshake<S, F>
where
    S: Read + Write + Transport,
    F: FnOnce(&Request) -> Result<Accept, HttpResponse>,
{
    /// Start a server handshake on `stream`. Nothing is read until [`ServerHandshake::resume`];
    /// the deadline (`Settings::handshake_timeout`) runs from now.
    pub fn new(stream: S, settings: impl Into<Settings>, callback: F) -> Self {
        let settings = settings.into();
        ServerHandshake {
            parser: RequestParser::new(settings.handshake_limits),
            io: Reading::new(stream, settings),
            callback: Some(callback),
            phase: ServerPhase::Reading,
            deflate: None,
        }
    }

    /// Read the request, show it to the callback, write the answer. On a nonblocking stream
    /// this returns [`Handshaking::WouldBlock`] with the handshake, to resume when the
    /// stream is ready. An invalid request is answered with the status its
    /// [`HandshakeError`] carries (400, 426, 431 …) before the error is returned.
    // The handshake moves by value through each step (once per connection, as big as the
    // WebSocket it becomes): boxing it would only add an allocation.
    #[allow(clippy::result_large_err)]
    pub fn resume(mut self) -> Result<WebSocket<S>, Handshaking<Self>> {
        loop {
            match &mut self.phase {
                ServerPhase::Reading => match self.parser.parse(&mut self.io.buf) {
                    Ok(Some(request)) => self.phase = self.answer(&request),
                    Ok(None) => match self.io.read() {
                        Ok(HeadRead::Bytes(0)) => {
                            return Err(Handshaking::Failed(
                                HandshakeError::ConnectionClosed.into(),
                            ));
                        }
                        Ok(HeadRead::Bytes(_)) => {}
                        Ok(HeadRead::WouldBlock) => return Err(Handshaking::WouldBlock(self)),
                        Err(e) => return Err(Handshaking::Failed(e)),
                    },
                    Err(e) => {
                        let answer = e.response().map(|r| r.to_bytes()).unwrap_or_default();
                        self.phase = ServerPhase::Answering {
                            answer: Outgoing { bytes: answer, written: 0 },
                            failure: Some(Error::Handshake(e)),
                        };
                    }
                },
                ServerPhase::Answering { answer, failure } => {
                    match answer.write_to(&mut self.io.stream) {
                        Ok(true) => {}
                        Ok(false) if Instant::now() < self.io.deadline => {
                            return Err(Handshaking::WouldBlock(self));
                        }
                        Ok(false) => return Err(Handshaking::Failed(self.io.timed_out())),
                        // A failure's answer is a courtesy: the failure is what we report.
                        Err(e) => {
                            return Err(Handshaking::Failed(failure.take().unwrap_or(e.into())));
                        }
                    }
                    return match failure.take() {
                        Some(error) => Err(Handshaking::Failed(error)),
                        None => {
                            let settings = self.io.settings;
                            let mut ws = self.io.into_websocket(Role::Server);
                            if let (Some(params), Some(config)) = (self.deflate, settings.deflate) {
                                ws.connection_mut().use_permessage_deflate(params, &config);
                            }
                            Ok(ws)
                        }
                    };
                }
            }
        }
    }

    /// With `Settings::deflate`, answer the first acceptable permessage-deflate offer (RFC
    /// 7692 §7) in the 101, unless the callback already accepted one itself. Declined offers
    /// are not an error: the connection goes on uncompressed.
    fn negotiate_deflate(&mut self, request: &Request, accept: &mut Accept) {
        let Some(config) = self.io.settings.deflate else {
            return;
        };
        if accept.extensions.iter().any(|e| is_permessage_deflate(e)) {
            return;
        }
        let negotiation = config.negotiate_offers(request.extensions().iter().map(String::as_str));
        if let Some(agreement) = negotiation.accepted {
            accept.extensions.push(agreement.response);
            self.deflate = Some(agreement.params);
        }
    }

    /// The answer to a complete request: the 101 the callback's [`Accept`] builds, or its
    /// rejection.
    fn answer(&mut self, request: &Request) -> ServerPhase {
        let decision = match self.callback.take() {
            Some(callback) => callback(request),
            None => Ok(Accept::default()),
        };
        let (bytes, failure) = match decision {
            Ok(mut accept) => {
                self.negotiate_deflate(request, &mut accept);
                match request.accept(&accept) {
                    Ok(response) => (response.to_bytes(), None),
                    Err(e) => {
                        let bytes = e.response().map(|r| r.to_bytes()).unwrap_or_default();
                        (bytes, Some(Error::Handshake(e)))
                    }
                }
            }
            Err(rejection) => {
                (rejection.to_bytes(), Some(Error::Handshake(HandshakeError::Rejected(rejection))))
            }
        };
        ServerPhase::Answering { answer: Outgoing { bytes, written: 0 }, failure }
    }
}

/// A client's opening handshake in progress: the stream, the request still to write, the
/// parser for the server's answer and the bytes so far.
pub struct ClientHandshake<S: Transport> {
    io: Reading<S>,
    request: Outgoing,
    parser: ResponseParser,
}

impl<S: Transport> fmt::Debug for ClientHandshake<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = if self.request.written < self.request.bytes.len() {
            "writing the request"
        } else {
            "reading the response"
        };
        f.debug_struct("ClientHandshake").field("phase", &phase).finish_non_exhaustive()
    }
}

impl<S: Read + Write + Transport> ClientHandshake<S> {
    /// Start a client handshake for `request` on `stream`. Nothing is written until
    /// [`ClientHandshake::resume`]; the deadline (`Settings::handshake_timeout`) runs from now.
    ///
    /// With `Settings::deflate` the request also offers permessage-deflate (RFC 7692 §5),
    /// after any extension `request` already offers.
    pub fn new(stream: S, request: &ClientRequest, settings: impl Into<Settings>) -> Self {
        let settings = settings.into();
        let offered;
        let request = match settings.deflate {
            Some(config) => {
                offered = request.clone().extension(config.client_offer());
                &offered
            }
            None => request,
        };
        ClientHandshake {
            parser: request.response_parser(settings.handshake_limits),
            request: Outgoing { bytes: request.to_bytes(), written: 0 },
            io: Reading::new(stream, settings),
        }
    }

    /// The 101 was valid: judge its permessage-deflate answer, if we offered one (RFC 7692
    /// §7: a client "MUST _Fail the WebSocket Connection_" on a response that breaks the
    /// offer; the connection is not established, so the stream is dropped), and become a
    /// WebSocket.
    #[allow(clippy::result_large_err)]
    fn established(
        self,
        response: Response,
    ) -> Result<(WebSocket<S>, Response), Handshaking<Self>> {
        let settings = self.io.settings;
        let params = match settings.deflate {
            Some(config) => {
                let elements = response.extensions().iter().map(String::as_str);
                match config.check_response_extensions(elements) {
                    Ok(params) => params.map(|p| (p, config)),
                    Err(e) => return Err(Handshaking::Failed(Error::Negotiation(e))),
                }
            }
            None => None,
        };
        let mut ws = self.io.into_websocket(Role::Client);
        if let Some((params, config)) = params {
            ws.connection_mut().use_permessage_deflate(params, &config);
        }
        Ok((ws, response))
    }

    /// Write the request, read and judge the server's answer. On a nonblocking stream this
    /// returns [`Handshaking::WouldBlock`] with the handshake, to resume when the stream is
    /// ready.
    // See `ServerHandshake::resume`: by value on purpose.
    #[allow(clippy::result_large_err)]
    pub fn resume(mut self) -> Result<(WebSocket<S>, Response), Handshaking<Self>> {
        match self.request.write_to(&mut self.io.stream) {
            Ok(true) => {}
            Ok(false) if Instant::now() < self.io.deadline => {
                return Err(Handshaking::WouldBlock(self));
            }
            Ok(false) => return Err(Handshaking::Failed(self.io.timed_out())),
            Err(e) => return Err(Handshaking::Failed(e.into())),
        }
        loop {
            match self.parser.parse(&mut self.io.buf) {
                Ok(Some(response)) => return self.established(response),
                Ok(None) => {}
                Err(e) => return Err(Handshaking::Failed(e.into())),
            }
            match self.io.read() {
                Ok(HeadRead::Bytes(0)) => {
                    // A non-101 without Content-Length ends with the connection: report it.
                    return match self.parser.parse_eof(&mut self.io.buf) {
                        Ok(Some(response)) => self.established(response),
                        Ok(None) => {
                            Err(Handshaking::Failed(HandshakeError::ConnectionClosed.into()))
                        }
                        Err(e) => Err(Handshaking::Failed(e.into())),
                    };
                }
                Ok(HeadRead::Bytes(_)) => {}
                Ok(HeadRead::WouldBlock) => return Err(Handshaking::WouldBlock(self)),
                Err(e) => return Err(Handshaking::Failed(e)),
            }
        }
    }
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// Client: send `request` over a blocking `stream`, read and validate the server's
    /// answer, all within `Settings::handshake_timeout`. (Nonblocking: [`ClientHandshake`].)
    pub fn client(
        stream: S,
        request: &ClientRequest,
        settings: impl Into<Settings>,
    ) -> Result<(Self, Response), Error> {
        Ok(ClientHandshake::new(stream, request, settings).resume()?)
    }

    /// Server: read the client's opening handshake and accept it with no subprotocol.
    pub fn server(stream: S, settings: impl Into<Settings>) -> Result<Self, Error> {
        Self::server_with(stream, settings, |_| Ok(Accept::default()))
    }

    /// Server: read the client's opening handshake from a blocking `stream`, show it to
    /// `callback`, and answer with the 101 built from its [`Accept`] or with the
    /// [`HttpResponse`] it rejects with, all within `Settings::handshake_timeout`. An
    /// invalid request is answered with the status its [`HandshakeError`] carries (400, 426,
    /// 431 …) before the error is returned. (Nonblocking: [`ServerHandshake`].)
    pub fn server_with(
        stream: S,
        settings: impl Into<Settings>,
        callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
    ) -> Result<Self, Error> {
        Ok(ServerHandshake::new(stream, settings, callback).resume()?)
    }
}

/// Open a connection to a `ws://` URL (TCP) or a `wss://` URL (TLS over TCP, port 443 by
/// default, the server verified against the Mozilla roots: the `rustls` feature; without it
/// `wss://` is [`HandshakeError::TlsNotSupported`]), and perform the client handshake.
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    connect_with(ClientRequest::new(url)?, Settings::default())
}

/// [`connect`] with a prepared request (origin, subprotocols, headers) and settings (a
/// [`crate::Config`] will do). Every address the host resolves to is tried in turn, each
/// within [`Settings::connect_timeout`]; the handshake (and TLS's, for `wss://`) is bounded
/// by [`Settings::handshake_timeout`]. Roots of your own for `wss://`:
/// `socket::tls::connect_tls` (the `rustls` feature).
pub fn connect_with(
    request: ClientRequest,
    settings: impl Into<Settings>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    let url = request.url();
    let addrs = (url.host.clone(), url.port);
    connect_addrs(addrs, request, settings)
}

/// [`connect_with`] to addresses of your choosing (your own resolver, a proxy, a fixed IP)
/// while `request` keeps the URL's host for the `Host` header (and, for `wss://`, the
/// certificate check and SNI). Each address is tried in turn, each within
/// [`Settings::connect_timeout`]; the first that answers is used.
pub fn connect_addrs(
    addrs: impl ToSocketAddrs,
    request: ClientRequest,
    settings: impl Into<Settings>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    if request.url().secure {
        #[cfg(feature = "rustls")]
        return super::tls::connect_addrs_tls(
            addrs,
            request,
            settings,
            super::tls::default_client_config()?,
        );
        #[cfg(not(feature = "rustls"))]
        return Err(HandshakeError::TlsNotSupported.into());
    }
    let settings = settings.into();
    let stream = open_tcp(addrs, &settings)?;
    WebSocket::client(MaybeTlsStream::Plain(stream), &request, settings)
}

/// The first of `addrs` that accepts a TCP connection within `Settings::connect_timeout`,
/// with `TCP_NODELAY` set.
pub(super) fn open_tcp(addrs: impl ToSocketAddrs, settings: &Settings) -> Result<TcpStream, Error> {
    let mut last_error = None;
    for addr in addrs.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, settings.connect_timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address"))
        .into())
}

/// Perform the server handshake on a TCP stream (with `TCP_NODELAY` set, so that small
/// replies are not held back).
pub fn accept_tcp(
    stream: TcpStream,
    settings: impl Into<Settings>,
    callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
) -> Result<WebSocket<TcpStream>, Error> {
    stream.set_nodelay(true)?;
    WebSocket::server_with(stream, settings, callback)
}

/// Perform the server handshake on a blocking `stream` with the default settings,
/// accepting any valid request without a subprotocol.
pub fn accept<S: Read + Write + Transport>(stream: S) -> Result<WebSocket<S>, Error> {
    WebSocket::server(stream, Settings::default())
}

/// Perform the server handshake on a blocking `stream`, letting `callback` see the request
/// and accept (choosing a subprotocol, adding headers) or reject it.
pub fn accept_with<S: Read + Write + Transport>(
    stream: S,
    settings: impl Into<Settings>,
    callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
) -> Result<WebSocket<S>, Error> {
    WebSocket::server_with(stream, settings, callback)
}
