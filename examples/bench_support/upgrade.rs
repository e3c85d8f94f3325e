//! The opening handshake of the loopback benchmark's reference servers, by hand.
//!
//! tungstenite is built without its `handshake` feature and fastwebsockets without its
//! `upgrade` feature (they would pull in the `http`/`hyper` stacks), and the raw TCP echo
//! has no WebSocket library at all, so all three answer the upgrade here: read the request
//! head, find `Sec-WebSocket-Key`, answer 101 with its `Sec-WebSocket-Accept`. This is only
//! as strict as a benchmark needs (the load generator is the only client); it is not timed.

/// The longest request head accepted.
pub const MAX_HEAD: usize = 8192;

/// Where the request head ends in `buf` (the index just past `\r\n\r\n`), if it has.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The 101 response to a complete request head, or why it is refused.
pub fn response(head: &[u8]) -> Result<String, String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("incomplete request head".into()),
        Err(e) => return Err(format!("bad request head: {e}")),
    }
    let key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .ok_or("no Sec-WebSocket-Key")?
        .value;
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        rfc6455::handshake::accept_key(key)
    ))
}

/// Read the request head from a blocking stream and answer it. The client sends nothing
/// before it has read the 101, so no byte after the head is read here.
pub fn answer_blocking(stream: &mut (impl std::io::Read + std::io::Write)) -> Result<(), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the request head ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err("request head too long".into());
        }
    };
    if end != buf.len() {
        return Err("bytes after the request head before the 101".into());
    }
    let answer = response(&buf)?;
    stream.write_all(answer.as_bytes()).map_err(|e| e.to_string())
}
