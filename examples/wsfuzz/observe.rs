//! The server's reaction to one case, in words: what it sent back (an echo, a Pong, a Close
//! and its code) and how it ended (TCP closed, or nothing more within the timeout).
//!
//! [`Observer`] is fed the server's bytes as they arrive and says when the reaction is
//! complete; [`observe`] drives it over a socket; [`ours`] feeds a case to rfc6455's own
//! sans-IO core (an echo application on top) and describes what it sends with the same
//! words, so that every case has a reference reaction. Every byte the server sends is also
//! judged by an rfc6455 client core: a rule the server itself breaks (a Pong longer than
//! 125 bytes, a Close with code 1005, invalid UTF-8 in a text echo …) is appended as
//! `!§N`.
//!
//! The words: `echo` (a data message came back, the one sent), `echo (differs)` (a data
//! message, not the one sent), `pong` / `pong (differs)` (likewise), `close N` (a Close with
//! status code N; `close` without one) and then TCP closed by the server; `close N (tcp
//! open)` when TCP stayed open for the timeout after the Close; `drop` (TCP closed, or
//! reset, with no Close); `hang` (nothing, or not all that was owed, within the timeout);
//! `garbage` (bytes that are no frame). Several are joined with ` + ` in the order they
//! came: `pong + echo`, `close 1002 + pong` (a Pong after the Close). The reaction is
//! complete once everything owed came (with nothing owed: the first echo or Pong; with a
//! Close owed: only when TCP ends or the timeout passes); what follows is not described,
//! so that the words never depend on how the server's bytes were cut into reads.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rfc6455::frame::{FrameDecoder, OpCode};
use rfc6455::handshake::{ClientRequest, Limits};
use rfc6455::{Config, Connection, Message, Role};

use crate::cases::Expect;

/// The RFC's own sample key (§1.3), so that the request is the same bytes on every run.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Keep at most this much of what the server sent (for printing).
const KEEP: usize = 1 << 20;

/// How the stream ended when the observation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server closed (or reset) TCP.
    Eof,
    /// Nothing more came within the timeout, or everything owed had come.
    Quiet,
}

/// A reaction being observed.
pub struct Observer<'a> {
    expect: &'a Expect,
    decoder: FrameDecoder,
    buf: BytesMut,
    /// The data message the server is sending, joined from its frames.
    message: Option<Vec<u8>>,
    items: Vec<String>,
    echoed: bool,
    ponged: bool,
    /// Where the first Close is in `items`.
    close_item: Option<usize>,
    garbage: bool,
    /// Everything owed came: the reaction is complete (see [`Observer::complete`]).
    frozen: bool,
    /// An rfc6455 client core judging every byte the server sends.
    judge: Connection,
    broke: Option<&'static str>,
    reply: Vec<u8>,
}

impl<'a> Observer<'a> {
    pub fn new(expect: &'a Expect) -> Self {
        let config = Config {
            max_frame_size: usize::MAX,
            max_message_size: usize::MAX,
            ..Config::default()
        };
        Observer {
            expect,
            decoder: FrameDecoder::new(),
            buf: BytesMut::new(),
            message: None,
            items: Vec::new(),
            echoed: false,
            ponged: false,
            close_item: None,
            garbage: false,
            frozen: false,
            judge: Connection::new(Role::Client, config),
            broke: None,
            reply: Vec::new(),
        }
    }

    /// Feed what the server sent.
    pub fn feed(&mut self, bytes: &[u8]) {
        let keep = bytes.len().min(KEEP.saturating_sub(self.reply.len()));
        self.reply.extend_from_slice(&bytes[..keep]);
        self.judge.receive(bytes);
        while self.broke.is_none() {
            match self.judge.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => self.broke = Some(e.section()),
            }
        }
        if self.frozen || self.garbage {
            return;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let frame = match self.decoder.decode(&mut self.buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(_) => {
                    self.garbage = true;
                    self.items.push("garbage".into());
                    return;
                }
            };
            let payload = &frame.payload[..];
            match frame.header.opcode {
                OpCode::Close => {
                    let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    self.items.push(match code {
                        Some(code) if self.expect.close == Some(code) => "close (same code)".into(),
                        Some(code) => format!("close {code}"),
                        None => "close".into(),
                    });
                    self.close_item.get_or_insert(self.items.len() - 1);
                }
                OpCode::Pong => {
                    let same = self.expect.pong.as_deref().is_none_or(|p| p == payload);
                    self.ponged = true;
                    self.push(if same { "pong" } else { "pong (differs)" });
                }
                OpCode::Ping => {} // a keepalive of the server's: not a reaction
                _ => {
                    let message = self.message.get_or_insert_with(Vec::new);
                    message.extend_from_slice(payload);
                    if frame.header.fin {
                        let message = self.message.take().unwrap_or_default();
                        let same = self.expect.echo.as_ref().is_none_or(|e| *e == message);
                        self.echoed = true;
                        self.push(if same { "echo" } else { "echo (differs)" });
                    }
                }
            }
            // Everything owed came: the reaction is complete, whatever follows (so that it
            // does not depend on how the server's bytes were cut into reads).
            if self.satisfied() && !self.closed() {
                self.frozen = true;
                return;
            }
        }
    }

    fn push(&mut self, item: &str) {
        if self.items.last().map(String::as_str) != Some(item) {
            self.items.push(item.to_owned());
        }
    }

    /// A Close (or bytes that are no frame) came: what else comes until TCP ends is noted
    /// (a Pong or an echo after a Close).
    pub fn closed(&self) -> bool {
        self.close_item.is_some() || self.garbage
    }

    /// Everything the server owes came (nothing owed: any echo or Pong; a Close owed: never,
    /// the Close and the end of TCP are waited for).
    fn satisfied(&self) -> bool {
        let (echo, pong) = (self.expect.echo.is_some(), self.expect.pong.is_some());
        if self.expect.close.is_some() {
            return false;
        }
        if !echo && !pong {
            return self.echoed || self.ponged;
        }
        (!echo || self.echoed) && (!pong || self.ponged)
    }

    /// The reaction is complete (everything owed came); later bytes are only kept.
    pub fn complete(&self) -> bool {
        self.frozen
    }

    /// Something came.
    pub fn reacted(&self) -> bool {
        !self.items.is_empty()
    }

    /// The reaction in words, given how the stream ended.
    pub fn finish(&self, end: End) -> String {
        let mut items = self.items.clone();
        let end = if self.frozen { End::Quiet } else { end };
        match (end, self.close_item) {
            (End::Eof, None) if !self.garbage => items.push("drop".into()),
            (End::Quiet, Some(at)) => items[at].push_str(" (tcp open)"),
            (End::Quiet, None) if !self.frozen && !self.garbage => items.push("hang".into()),
            _ => {}
        }
        let mut words = items.join(" + ");
        if let Some(section) = self.broke {
            words.push_str(" !");
            words.push_str(section);
        }
        words
    }

    /// What the server sent (its first MiB).
    pub fn reply(&self) -> &[u8] {
        &self.reply
    }
}

/// Connect and do the opening handshake; returns the stream and any frame bytes after the 101.
pub fn connect(url: &str, timeout: Duration) -> io::Result<(TcpStream, BytesMut)> {
    let request = ClientRequest::with_key(url, KEY).map_err(io::Error::other)?;
    let target = request.url();
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(&request.to_bytes())?;
    let mut parser = request.response_parser(Limits::default());
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match parser.parse(&mut buf) {
            Ok(Some(_)) => return Ok((stream, buf)),
            Ok(None) => {}
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}

/// The opening handshake request [`connect`] sends.
pub fn request_bytes(url: &str) -> Result<Vec<u8>, String> {
    Ok(ClientRequest::with_key(url, KEY).map_err(|e| e.to_string())?.to_bytes())
}

/// Read the server's bytes (after `leftover`, what came with the 101) until the reaction is
/// complete: everything owed came, TCP ended, or `timeout` passed since `sent` (after a
/// Close, `timeout` more for TCP to end). With `linger`, keep reading until TCP ends or
/// the timeout, to show all the server sent (the reaction's words stay those of the
/// complete reaction). Returns the observer and when the first
/// reaction came.
pub fn observe<'a>(
    stream: &mut TcpStream,
    leftover: &[u8],
    expect: &'a Expect,
    sent: Instant,
    timeout: Duration,
    linger: bool,
) -> (Observer<'a>, End, Option<Duration>) {
    let mut observer = Observer::new(expect);
    let mut first = None;
    let mut deadline = sent + timeout;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut bytes = leftover.to_vec();
    loop {
        if !bytes.is_empty() {
            let was_closed = observer.closed();
            observer.feed(&bytes);
            bytes.clear();
            if first.is_none() && observer.reacted() {
                first = Some(sent.elapsed());
            }
            if observer.closed() && !was_closed {
                deadline = Instant::now() + timeout;
            }
        }
        if observer.complete() && !linger {
            return (observer, End::Quiet, first);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return (observer, End::Quiet, first);
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return (observer, End::Quiet, first);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break, // reset: the server closed TCP with our bytes unread
        }
    }
    if first.is_none() {
        first = Some(sent.elapsed());
    }
    (observer, End::Eof, first)
}

/// rfc6455's own reaction to `bytes` from a client: a server-role core with the default
/// config and an echo application on top, described as [`Observer::finish`] describes a
/// live server (the connection ends when the core says the transport should close).
pub fn ours(bytes: &[u8], expect: &Expect) -> String {
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.receive(bytes);
    let mut observer = Observer::new(expect);
    loop {
        match conn.next_event() {
            Ok(Some(message @ (Message::Text(_) | Message::Binary(_)))) => {
                let _ = conn.send(message);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
        observer.feed(&conn.take_output());
    }
    observer.feed(&conn.take_output());
    observer.finish(if conn.is_terminated() { End::Eof } else { End::Quiet })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfc6455::frame::RawFrame;

    fn server(frames: &[RawFrame]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            f.write_to(&mut out);
        }
        out
    }

    fn words(expect: &Expect, bytes: &[u8], end: End) -> String {
        let mut o = Observer::new(expect);
        // In two pieces, cut inside the first frame: the reaction must not depend on it.
        let (a, b) = bytes.split_at(bytes.len().min(1));
        o.feed(a);
        o.feed(b);
        o.finish(end)
    }

    #[test]
    fn echoes_and_pongs_are_compared_with_what_was_sent() {
        let expect =
            Expect { echo: Some(b"hello".to_vec()), pong: Some(b"mid".to_vec()), close: None };
        let pong = RawFrame::new(OpCode::Pong).payload(&b"mid"[..]);
        let hel = RawFrame::new(OpCode::Text).fin(false).payload(&b"hel"[..]);
        let lo = RawFrame::new(OpCode::Continuation).payload(&b"lo"[..]);
        let bytes = server(&[pong.clone(), hel, lo]);
        assert_eq!(words(&expect, &bytes, End::Quiet), "pong + echo");
        let other = server(&[RawFrame::new(OpCode::Text).payload(&b"help"[..])]);
        assert_eq!(words(&expect, &other, End::Quiet), "echo (differs) + hang");
        let nothing_owed = Expect::default();
        assert_eq!(words(&nothing_owed, &server(&[pong]), End::Quiet), "pong");
        assert_eq!(words(&nothing_owed, &[], End::Quiet), "hang");
        assert_eq!(words(&nothing_owed, &[], End::Eof), "drop");
    }

    #[test]
    fn a_close_gives_its_code_and_whether_tcp_stayed_open() {
        let close = |body: &[u8]| server(&[RawFrame::new(OpCode::Close).payload(body)]);
        let none = Expect::default();
        assert_eq!(words(&none, &close(&[3, 234]), End::Eof), "close 1002");
        assert_eq!(words(&none, &close(&[3, 234]), End::Quiet), "close 1002 (tcp open)");
        assert_eq!(words(&none, &close(&[]), End::Eof), "close");
        // A server that sends 1005 breaks §7.4.1 itself.
        assert_eq!(words(&none, &close(&[3, 237]), End::Eof), "close 1005 !§7.4");
    }

    #[test]
    fn rules_the_server_breaks_are_flagged() {
        let none = Expect::default();
        let long_pong = server(&[RawFrame::new(OpCode::Pong).payload(vec![b'x'; 126])]);
        assert_eq!(words(&none, &long_pong, End::Quiet), "pong !§5.5");
        let bad_text = server(&[RawFrame::new(OpCode::Text).payload(&b"\xff"[..])]);
        assert_eq!(words(&none, &bad_text, End::Quiet), "echo !§8.1");
        let masked = server(&[RawFrame::new(OpCode::Text).masking_key([1, 2, 3, 4])]);
        assert_eq!(words(&none, &masked, End::Quiet), "echo !§5.1");
        // What comes after a Close is noted; what comes after a complete reaction is not.
        let close_pong = server(&[
            RawFrame::new(OpCode::Close).payload(&[3u8, 234][..]),
            RawFrame::new(OpCode::Pong),
        ]);
        assert_eq!(words(&none, &close_pong, End::Eof), "close 1002 + pong");
        let echo_close = server(&[
            RawFrame::new(OpCode::Text).payload(&b"x"[..]),
            RawFrame::new(OpCode::Close).payload(&[3u8, 234][..]),
        ]);
        assert_eq!(words(&none, &echo_close, End::Eof), "echo");
        // With a Close owed, the echo before it does not end the wait.
        let owed = Expect { close: Some(1002), ..Expect::default() };
        assert_eq!(words(&owed, &echo_close, End::Eof), "echo + close (same code)");
        assert_eq!(words(&owed, &echo_close[..3], End::Quiet), "echo + hang");
        // A server's Ping is a keepalive, not a reaction.
        let ping = server(&[RawFrame::new(OpCode::Ping)]);
        assert_eq!(words(&none, &ping, End::Quiet), "hang");
    }

    #[test]
    fn rfc6455s_own_reactions() {
        let key = [9, 8, 7, 6];
        let text = RawFrame::new(OpCode::Text).masking_key(key).payload(&b"hi"[..]).to_bytes();
        let echo = Expect { echo: Some(b"hi".to_vec()), ..Expect::default() };
        assert_eq!(ours(&text, &echo), "echo");
        let unmasked = RawFrame::new(OpCode::Text).payload(&b"hi"[..]).to_bytes();
        assert_eq!(ours(&unmasked, &echo), "close 1002");
        let close = RawFrame::new(OpCode::Close).masking_key(key).payload(&[3u8, 232][..]);
        assert_eq!(ours(&close.to_bytes(), &Expect::default()), "close 1000");
        let same = Expect { close: Some(1000), ..Expect::default() };
        assert_eq!(ours(&close.to_bytes(), &same), "close (same code)");
        assert_eq!(ours(&text[..3], &echo), "hang");
    }
}
