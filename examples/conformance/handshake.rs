//! Opening handshakes: ours as a client (ordinary, and the raw HTTP of the H.1 cases), and
//! ours as a server (ordinary, and the broken answers of the H.2 cases).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rfc6455::handshake::{
    Accept, ClientRequest, Limits, Request, RequestParser, accept_key, random_key,
};

use crate::model::{BadResponse, Expect};
use crate::verdict::Verdict;
use crate::wire::WireLog;

/// Connect a fresh TCP connection to `url`'s host and port.
pub fn tcp_connect(request: &ClientRequest, timeout: Duration) -> std::io::Result<TcpStream> {
    let url = request.url();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in (url.host.as_str(), url.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The client side of an ordinary opening handshake. Returns the stream and the bytes read
/// past the 101.
pub fn client_handshake(
    url: &str,
    timeout: Duration,
    log: &mut WireLog,
) -> Result<(TcpStream, BytesMut), String> {
    let request = ClientRequest::new(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    let mut stream =
        tcp_connect(&request, timeout).map_err(|e| format!("cannot connect to {url}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let bytes = request.to_bytes();
    log.push("→", format!("HTTP {}", first_line(&bytes)));
    stream.write_all(&bytes).map_err(|e| format!("writing the handshake: {e}"))?;
    let mut parser = request.response_parser(Limits::default());
    let mut buf = BytesMut::new();
    let mut scratch = [0u8; 4096];
    loop {
        match parser.parse(&mut buf) {
            Ok(Some(response)) => {
                log.push("←", format!("HTTP {} {}", response.status(), response.reason()));
                if response.status() != 101 {
                    return Err(format!(
                        "the server answered {} {}",
                        response.status(),
                        response.reason()
                    ));
                }
                return Ok((stream, buf));
            }
            Ok(None) => {}
            Err(e) => return Err(format!("the server's handshake answer was refused: {e}")),
        }
        match stream.read(&mut scratch) {
            Ok(0) => return Err("the server closed the connection during the handshake".into()),
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
            Err(e) => return Err(format!("reading the handshake answer: {e}")),
        }
    }
}

/// The client side of an opening handshake that offers extensions (groups 12 and 13):
/// `extensions` goes out as `Sec-WebSocket-Extensions`. The answer is read and checked here,
/// not by rfc6455's response parser (the suite judges the library's negotiation, so it
/// cannot use it): status 101, `Upgrade`, `Connection`, `Sec-WebSocket-Accept` (§4.1).
/// Returns the stream, the bytes read past the 101, and the server's
/// `Sec-WebSocket-Extensions` (all its fields joined), if any.
pub fn client_handshake_offering(
    url: &str,
    extensions: &str,
    timeout: Duration,
    log: &mut WireLog,
) -> Result<(TcpStream, BytesMut, Option<String>), String> {
    let request = ClientRequest::new(url)
        .map_err(|e| format!("bad URL {url}: {e}"))?
        .header("Sec-WebSocket-Extensions", extensions);
    let mut stream =
        tcp_connect(&request, timeout).map_err(|e| format!("cannot connect to {url}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let bytes = request.to_bytes();
    log.push("→", format!("HTTP {}", first_line(&bytes)));
    log.push("→", format!("Sec-WebSocket-Extensions: {extensions}"));
    stream.write_all(&bytes).map_err(|e| format!("writing the handshake: {e}"))?;
    let mut buf = BytesMut::new();
    let mut scratch = [0u8; 4096];
    let head_len = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 64 << 10 {
            return Err("the server's handshake answer is longer than 64 KiB".into());
        }
        match stream.read(&mut scratch) {
            Ok(0) => return Err("the server closed the connection during the handshake".into()),
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
            Err(e) => return Err(format!("reading the handshake answer: {e}")),
        }
    };
    let head = buf.split_to(head_len);
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err("the server's handshake answer is not HTTP".into()),
    }
    let status = response.code.unwrap_or(0);
    log.push("←", format!("HTTP {status} {}", response.reason.unwrap_or("")));
    let values = |name: &str| -> Vec<String> {
        response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
            .collect()
    };
    let has_token = |name: &str, token: &str| {
        values(name).iter().flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if status != 101 {
        return Err(format!("the server answered {status}"));
    }
    if !has_token("Upgrade", "websocket") || !has_token("Connection", "Upgrade") {
        return Err("the 101 lacks Upgrade: websocket or Connection: Upgrade (§4.1)".into());
    }
    let expected = accept_key(request.key().as_bytes());
    if values("Sec-WebSocket-Accept") != [expected.clone()] {
        return Err(format!("the 101 does not carry Sec-WebSocket-Accept: {expected} (§4.1)"));
    }
    let ext = values("Sec-WebSocket-Extensions");
    let ext = (!ext.is_empty()).then(|| ext.join(", "));
    if let Some(e) = &ext {
        log.push("←", format!("Sec-WebSocket-Extensions: {e}"));
    }
    Ok((stream, buf, ext))
}

/// Server mode, groups 12 and 13: the 101, with `extension` as `Sec-WebSocket-Extensions`
/// when the suite accepts an offer.
pub fn response_with_extension(request: &Request, extension: Option<&str>) -> Vec<u8> {
    match (request.accept(&Accept::default()), extension) {
        (Ok(r), Some(e)) => r.header("Sec-WebSocket-Extensions", e).to_bytes(),
        (Ok(r), None) => r.to_bytes(),
        (Err(_), _) => response_bytes(request, None),
    }
}

fn first_line(b: &[u8]) -> String {
    let end = b.windows(2).position(|w| w == b"\r\n").unwrap_or(b.len().min(200));
    String::from_utf8_lossy(&b[..end.min(200)]).into_owned()
}

/// Read a request head from a client (server mode). Returns the request and leftover bytes.
pub fn read_request(
    stream: &mut TcpStream,
    timeout: Duration,
) -> Result<(Request, BytesMut), String> {
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut scratch = [0u8; 4096];
    loop {
        match parser.parse(&mut buf) {
            Ok(Some(request)) => return Ok((request, buf)),
            Ok(None) => {}
            Err(e) => {
                if let Some(resp) = e.response() {
                    let _ = stream.write_all(&resp.to_bytes());
                }
                return Err(format!("bad request: {e}"));
            }
        }
        match stream.read(&mut scratch) {
            Ok(0) => return Err("the client closed the connection before its request ended".into()),
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
            Err(e) => return Err(format!("reading the request: {e}")),
        }
    }
}

/// Our answer to a client's request: the ordinary 101, or a broken one.
pub fn response_bytes(request: &Request, bad: Option<BadResponse>) -> Vec<u8> {
    let accept = accept_key(request.key().as_bytes());
    let head = |lines: &[String]| {
        let mut s = lines.join("\r\n");
        s.push_str("\r\n\r\n");
        s.into_bytes()
    };
    let status = "HTTP/1.1 101 Switching Protocols".to_string();
    let upgrade = "Upgrade: websocket".to_string();
    let connection = "Connection: Upgrade".to_string();
    let accept_line = format!("Sec-WebSocket-Accept: {accept}");
    match bad {
        None => match request.accept(&Accept::default()) {
            Ok(r) => r.to_bytes(),
            Err(_) => head(&[status, upgrade, connection, accept_line]),
        },
        Some(BadResponse::WrongAccept) => head(&[
            status,
            upgrade,
            connection,
            format!("Sec-WebSocket-Accept: {}", accept_key(b"not the key you sent")),
        ]),
        Some(BadResponse::NoUpgrade) => head(&[status, connection, accept_line]),
        Some(BadResponse::NoConnection) => head(&[status, upgrade, accept_line]),
        Some(BadResponse::Status200) => head(&[
            "HTTP/1.1 200 OK".into(),
            upgrade,
            connection,
            accept_line,
            "Content-Length: 0".into(),
        ]),
        Some(BadResponse::UnofferedSubprotocol) => head(&[
            status,
            upgrade,
            connection,
            accept_line,
            "Sec-WebSocket-Protocol: never-offered".into(),
        ]),
        Some(BadResponse::UnofferedExtension) => head(&[
            status,
            upgrade,
            connection,
            accept_line,
            "Sec-WebSocket-Extensions: x-never-offered".into(),
        ]),
        Some(BadResponse::OddButValid) => head(&[
            status,
            "UPGRADE: WebSocket".into(),
            "connection: keep-alive, UPGRADE".into(),
            format!("sec-websocket-accept: {accept}"),
        ]),
    }
}

/// Client mode, H.1: send a raw request and judge the status line.
pub fn run_http_case(
    url: &str,
    raw: &str,
    chop: usize,
    expect: &Expect,
    window: Duration,
    log: &mut WireLog,
) -> (Verdict, String) {
    let Expect::Http { ok, nonstrict } = expect else {
        return (Verdict::Failed, "internal: not an HTTP case".into());
    };
    let request = match ClientRequest::new(url) {
        Ok(r) => r,
        Err(e) => return (Verdict::Failed, format!("bad URL: {e}")),
    };
    let key = random_key().unwrap_or_else(|_| "dGhlIHNhbXBsZSBub25jZQ==".into());
    let raw = raw.replace("{key}", &key).replace("{host}", &request.url().host_header());
    let mut stream = match tcp_connect(&request, window) {
        Ok(s) => s,
        Err(e) => return (Verdict::Failed, format!("cannot connect: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let lines: Vec<&str> = raw.split("\r\n").collect();
    for l in lines.iter().take(12) {
        if !l.is_empty() {
            let shown: String = l.chars().take(120).collect();
            log.push("→", shown);
        }
    }
    if lines.len() > 13 {
        log.push("→", format!("… {} more lines ({} bytes in all)", lines.len() - 13, raw.len()));
    }
    let bytes = raw.as_bytes();
    let step = if chop == 0 { bytes.len() } else { chop };
    if chop > 0 {
        log.push(
            "·",
            format!("request sent in {} writes of {chop} byte(s)", bytes.len().div_ceil(step)),
        );
    }
    for piece in bytes.chunks(step) {
        if let Err(e) = stream.write_all(piece) {
            log.push("·", format!("write failed: {e} (the server may already have answered)"));
            break;
        }
    }
    // Read the answer's head.
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut scratch = [0u8; 4096];
    let mut ended = None;
    while Instant::now() < deadline
        && !got.windows(4).any(|w| w == b"\r\n\r\n")
        && got.len() < 65536
    {
        match stream.read(&mut scratch) {
            Ok(0) => {
                ended = Some("FIN".to_string());
                break;
            }
            Ok(n) => got.extend_from_slice(&scratch[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                ended = Some(e.to_string());
                break;
            }
        }
    }
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let head = String::from_utf8_lossy(&got[..head_end.unwrap_or(got.len())]).into_owned();
    for l in head.split("\r\n").filter(|l| !l.is_empty()) {
        log.push("←", l.to_string());
    }
    if let Some(how) = &ended {
        log.push("←", format!("TCP ended ({how})"));
    }
    let status: Option<u16> =
        head.split(' ').nth(1).and_then(|s| s.parse().ok()).filter(|_| head.starts_with("HTTP/"));
    let header = |name: &str| {
        head.split("\r\n").find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let verdict = match status {
        None => {
            let what = if ended.is_some() { "closed the connection" } else { "did not answer within the time bound" };
            if ok.contains(&101) {
                (Verdict::Failed, format!("the server {what} instead of accepting a valid handshake"))
            } else {
                (Verdict::NonStrict, format!("the server {what} without an HTTP status (expected {ok:?})"))
            }
        }
        Some(101) if ok.contains(&101) => {
            let expected = accept_key(key.as_bytes());
            match header("Sec-WebSocket-Accept") {
                Some(a) if a == expected => (Verdict::Ok, "101 with the right Sec-WebSocket-Accept".into()),
                other => (Verdict::Failed, format!("101 with Sec-WebSocket-Accept {other:?}, expected {expected}")),
            }
        }
        Some(101) => (Verdict::Failed, "the server accepted (101) a handshake it must refuse".into()),
        Some(426) if ok.contains(&426) => match header("Sec-WebSocket-Version") {
            Some(v) if v.split(',').any(|t| t.trim() == "13") => (Verdict::Ok, format!("426 with Sec-WebSocket-Version: {v}")),
            _ if ok.contains(&400) => (Verdict::Ok, "426".into()),
            _ => (Verdict::NonStrict, "426 without `Sec-WebSocket-Version: 13` (§4.2.2: the server sends the versions it understands)".into()),
        },
        Some(s) if ok.contains(&s) => (Verdict::Ok, format!("answered {s} as required")),
        Some(s) if nonstrict.contains(&s) => (Verdict::NonStrict, format!("answered {s}; {ok:?} expected")),
        Some(s) => (Verdict::NonStrict, format!("answered {s}; {ok:?} expected")),
    };
    if status == Some(101) {
        // End the connection politely: a masked Close 1000, then wait for the server's close.
        let close = [0x88u8, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2];
        let _ = stream.write_all(&close);
        log.push("→", "CLOSE FIN=1 RSV=000 MASK=1 key=01020304 len=2 code=1000".into());
        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            match stream.read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
    }
    verdict
}
