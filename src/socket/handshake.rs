//! The driver's side of the opening handshake (§4): write or read the HTTP head over the
//! stream and let [`crate::handshake`] judge it; `connect` and the `accept` family.

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::BytesMut;

use super::settings::Settings;
use super::{WebSocket, read_some, shutdown_tcp};
use crate::error::{Error, HandshakeError};
use crate::handshake::{Accept, ClientRequest, HttpResponse, Request, RequestParser, Response};
use crate::protocol::Role;

/// Bytes read at a time while the head is incomplete.
const HEAD_READ: usize = 4096;

impl<S: Read + Write> WebSocket<S> {
    /// Client: send `request` over `stream`, read and validate the server's answer.
    pub fn client(
        mut stream: S,
        request: &ClientRequest,
        settings: impl Into<Settings>,
    ) -> Result<(Self, Response), Error> {
        let settings = settings.into();
        stream.write_all(&request.to_bytes())?;
        stream.flush()?;
        let mut parser = request.response_parser(settings.handshake_limits);
        let mut buf = BytesMut::new();
        let response = loop {
            if let Some(response) = parser.parse(&mut buf)? {
                break response;
            }
            if read_some(&mut stream, &mut buf, HEAD_READ)? == 0 {
                // A non-101 without Content-Length ends with the connection: report it.
                return match parser.parse_eof(&mut buf)? {
                    Some(response) => {
                        Ok((WebSocket::from_raw(stream, Role::Client, settings, buf), response))
                    }
                    None => Err(HandshakeError::ConnectionClosed.into()),
                };
            }
        };
        Ok((WebSocket::from_raw(stream, Role::Client, settings, buf), response))
    }

    /// Server: read the client's opening handshake and accept it with no subprotocol.
    pub fn server(stream: S, settings: impl Into<Settings>) -> Result<Self, Error> {
        Self::server_with(stream, settings, |_| Ok(Accept::default()))
    }

    /// Server: read the client's opening handshake, show it to `callback`, and answer with
    /// the 101 built from its [`Accept`] or with the [`HttpResponse`] it rejects with. An
    /// invalid request is answered with the status its [`HandshakeError`] carries (400, 426,
    /// 431 …) before the error is returned.
    pub fn server_with(
        mut stream: S,
        settings: impl Into<Settings>,
        callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
    ) -> Result<Self, Error> {
        let settings = settings.into();
        let mut parser = RequestParser::new(settings.handshake_limits);
        let mut buf = BytesMut::new();
        let request = loop {
            match parser.parse(&mut buf) {
                Ok(Some(request)) => break request,
                Ok(None) => {}
                Err(e) => return Err(reply_and_fail(&mut stream, e)),
            }
            if read_some(&mut stream, &mut buf, HEAD_READ)? == 0 {
                return Err(HandshakeError::ConnectionClosed.into());
            }
        };
        let response = match callback(&request) {
            Ok(accept) => match request.accept(&accept) {
                Ok(response) => response,
                Err(e) => return Err(reply_and_fail(&mut stream, e)),
            },
            Err(rejection) => {
                stream.write_all(&rejection.to_bytes())?;
                stream.flush()?;
                return Err(HandshakeError::Rejected(rejection).into());
            }
        };
        stream.write_all(&response.to_bytes())?;
        stream.flush()?;
        Ok(WebSocket::from_raw(stream, Role::Server, settings, buf))
    }
}

/// Send the HTTP answer a handshake error carries, then hand the error back.
fn reply_and_fail<S: Write>(stream: &mut S, error: HandshakeError) -> Error {
    if let Some(response) = error.response() {
        let _ = stream.write_all(&response.to_bytes());
        let _ = stream.flush();
    }
    Error::Handshake(error)
}

/// Open a TCP connection to a `ws://` URL and perform the client handshake.
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    connect_with(ClientRequest::new(url)?, Settings::default())
}

/// [`connect`] with a prepared request (origin, subprotocols, headers) and settings (a
/// [`crate::Config`] will do). The handshake is bounded by [`Settings::handshake_timeout`];
/// the returned stream has no timeouts set.
pub fn connect_with(
    request: ClientRequest,
    settings: impl Into<Settings>,
) -> Result<(WebSocket<TcpStream>, Response), Error> {
    let settings = settings.into();
    let url = request.url();
    let stream = TcpStream::connect((url.host.as_str(), url.port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(settings.handshake_timeout))?;
    stream.set_write_timeout(Some(settings.handshake_timeout))?;
    let (mut ws, response) = WebSocket::client(stream, &request, settings)?;
    ws.get_ref().set_read_timeout(None)?;
    ws.get_ref().set_write_timeout(None)?;
    ws.set_read_timeout = Some(TcpStream::set_read_timeout);
    ws.shutdown = Some(shutdown_tcp);
    Ok((ws, response))
}

/// Perform the server handshake on a TCP stream, bounded by [`Settings::handshake_timeout`]
/// (a client that sends its request slowly, or never, gets a timeout error instead of
/// holding the thread). The returned stream has no timeouts set, except that the close
/// handshake is bounded by [`Settings::close_timeout`].
pub fn accept_tcp(
    stream: TcpStream,
    settings: impl Into<Settings>,
    callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
) -> Result<WebSocket<TcpStream>, Error> {
    let settings = settings.into();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(settings.handshake_timeout))?;
    stream.set_write_timeout(Some(settings.handshake_timeout))?;
    let mut ws = WebSocket::server_with(stream, settings, callback)?;
    ws.get_ref().set_read_timeout(None)?;
    ws.get_ref().set_write_timeout(None)?;
    ws.set_read_timeout = Some(TcpStream::set_read_timeout);
    ws.shutdown = Some(shutdown_tcp);
    Ok(ws)
}

/// Perform the server handshake on `stream` with the default configuration, accepting any
/// valid request without a subprotocol.
pub fn accept<S: Read + Write>(stream: S) -> Result<WebSocket<S>, Error> {
    WebSocket::server(stream, Settings::default())
}

/// Perform the server handshake, letting `callback` see the request and accept (choosing a
/// subprotocol, adding headers) or reject it.
pub fn accept_with<S: Read + Write>(
    stream: S,
    settings: impl Into<Settings>,
    callback: impl FnOnce(&Request) -> Result<Accept, HttpResponse>,
) -> Result<WebSocket<S>, Error> {
    WebSocket::server_with(stream, settings, callback)
}
