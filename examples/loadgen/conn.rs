//! One connection of the load generator: its send cursor and its echo checker.
//!
//! Sending: up to `depth` messages are in flight; the pre-built frames are handed to one
//! vectored write (no copy), and a frame the kernel took only in part resumes where it
//! stopped. Receiving: bytes are checked as they arrive, without buffering payloads. In
//! WebSocket mode each frame header is parsed (`rfc6455::frame::FrameHeader::parse`) and
//! judged (unmasked, no RSV bit, the opcode sent, fragments allowed), and every payload byte
//! is compared with the payload sent. In raw mode (a raw TCP echo) the bytes must be the
//! very bytes sent, masked frames and all.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::Shutdown;
use std::time::Instant;

use mio::net::TcpStream;
use rfc6455::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};

use crate::histogram::Histogram;
use crate::messages::{Messages, SLOTS};

/// Frames handed to one vectored write at most.
const MAX_IOV: usize = 64;

/// The measured window: messages completed inside it are counted and timed.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

/// What one event loop counted.
pub struct Stats {
    /// Echoes completed (and verified) inside the window.
    pub in_window: u64,
    /// Echoes completed (and verified) in all, warm-up and drain included.
    pub verified: u64,
    /// Round-trip times of the echoes completed inside the window.
    pub latency: Histogram,
    /// Connections that failed, and the first reason.
    pub failed: u64,
    pub first_error: Option<String>,
    /// Connections still open when the close deadline came.
    pub unclosed: u64,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            in_window: 0,
            verified: 0,
            latency: Histogram::new(),
            failed: 0,
            first_error: None,
            unclosed: 0,
        }
    }

    pub fn merge(&mut self, other: Stats) {
        self.in_window += other.in_window;
        self.verified += other.verified;
        self.latency.merge(&other.latency);
        self.failed += other.failed;
        self.unclosed += other.unclosed;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Where the echo checker is in the incoming byte stream.
enum Rx {
    /// Between frames: the first `have` bytes of a header are in `buf`.
    Header { buf: [u8; MAX_HEADER_LEN], have: usize },
    /// Inside a data frame's payload: `remaining` bytes to check.
    Payload { remaining: usize, fin: bool },
    /// Inside the server's Close frame: `remaining` bytes to skip.
    Close { remaining: usize },
    /// Raw mode: `pos` bytes of the current frame's wire bytes already matched.
    Raw { pos: usize },
}

pub struct Conn {
    pub stream: TcpStream,
    raw: bool,
    depth: usize,
    /// Slot of the next message to start sending.
    tx_slot: usize,
    /// A frame partly written: its slot and how many of its bytes left.
    partial: Option<(usize, usize)>,
    /// When each message in flight started to leave, oldest first.
    sent_at: VecDeque<Instant>,
    /// Slot of the message whose echo is expected next.
    rx_slot: usize,
    rx: Rx,
    /// Payload bytes of the expected message already matched (over all its fragments).
    msg_pos: usize,
    /// A fragmented echo is in progress (its first frame was seen, not its last).
    in_message: bool,
    /// Stop starting messages; send our Close (or, raw, shut the write side) when able.
    pub closing: bool,
    /// Bytes of our Close frame written (raw: 1 once the write side is shut).
    close_written: usize,
    pub close_received: bool,
    /// The server closed TCP after the close handshake: nothing more to do.
    pub done: bool,
}

impl Conn {
    pub fn new(stream: TcpStream, index: usize, depth: usize, raw: bool) -> Conn {
        let slot = index % SLOTS;
        Conn {
            stream,
            raw,
            depth,
            tx_slot: slot,
            partial: None,
            sent_at: VecDeque::with_capacity(depth),
            rx_slot: slot,
            rx: if raw {
                Rx::Raw { pos: 0 }
            } else {
                Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 }
            },
            msg_pos: 0,
            in_message: false,
            closing: false,
            close_written: 0,
            close_received: false,
            done: false,
        }
    }

    fn in_flight(&self) -> usize {
        self.sent_at.len()
    }

    /// Write as much as the socket takes: the partial frame, new frames while fewer than
    /// `depth` are in flight, and once closing, our Close. `Ok` on `WouldBlock`.
    pub fn try_write(&mut self, m: &Messages, now: Instant) -> io::Result<()> {
        loop {
            let mut iov: [IoSlice<'_>; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
            let mut n_iov = 0;
            if let Some((slot, off)) = self.partial {
                iov[0] = IoSlice::new(&m.frames[slot][off..]);
                n_iov = 1;
            }
            let mut fresh = 0;
            let mut slot = self.tx_slot;
            while !self.closing && self.in_flight() + fresh < self.depth && n_iov < MAX_IOV {
                iov[n_iov] = IoSlice::new(&m.frames[slot]);
                n_iov += 1;
                fresh += 1;
                slot = (slot + 1) % SLOTS;
            }
            if n_iov == 0 {
                return if self.closing { self.write_close(m) } else { Ok(()) };
            }
            let written = match self.stream.write_vectored(&iov[..n_iov]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.advance(m, written, now);
        }
    }

    /// Account for `n` bytes written: the partial frame first, then fresh frames, each of
    /// which starts its round trip as soon as one of its bytes left.
    fn advance(&mut self, m: &Messages, mut n: usize, now: Instant) {
        if let Some((slot, off)) = self.partial {
            let rest = m.frames[slot].len() - off;
            if n < rest {
                self.partial = Some((slot, off + n));
                return;
            }
            n -= rest;
            self.partial = None;
        }
        while n > 0 {
            let slot = self.tx_slot;
            let len = m.frames[slot].len();
            self.tx_slot = (slot + 1) % SLOTS;
            self.sent_at.push_back(now);
            if n < len {
                self.partial = Some((slot, n));
                return;
            }
            n -= len;
        }
    }

    fn write_close(&mut self, m: &Messages) -> io::Result<()> {
        if self.raw {
            if self.close_written == 0 {
                self.stream.shutdown(Shutdown::Write)?;
                self.close_written = 1;
            }
            return Ok(());
        }
        while self.close_written < m.close.len() {
            match self.stream.write(&m.close[self.close_written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.close_written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The server closed its side.
    pub fn on_eof(&mut self) -> Result<(), String> {
        if !self.closing {
            return Err("the server closed the connection".into());
        }
        if !self.raw && !self.close_received {
            return Err("the server closed TCP without its Close frame".into());
        }
        if self.in_flight() > 0 {
            return Err(format!("closed with {} echoes missing", self.in_flight()));
        }
        self.done = true;
        Ok(())
    }

    /// An echo is complete and matched.
    fn complete(&mut self, now: Instant, window: &Window, stats: &mut Stats) -> Result<(), String> {
        let sent = self.sent_at.pop_front().ok_or("an echo of a message never sent")?;
        self.rx_slot = (self.rx_slot + 1) % SLOTS;
        self.msg_pos = 0;
        self.in_message = false;
        stats.verified += 1;
        if now >= window.start && now < window.end {
            stats.in_window += 1;
            stats.latency.record(now.saturating_duration_since(sent).as_nanos() as u64);
        }
        Ok(())
    }

    /// Check the bytes just read against what must come back.
    pub fn on_bytes(
        &mut self,
        m: &Messages,
        mut data: &[u8],
        now: Instant,
        window: &Window,
        stats: &mut Stats,
    ) -> Result<(), String> {
        while !data.is_empty() {
            match &mut self.rx {
                Rx::Raw { pos } => {
                    let frame = &m.frames[self.rx_slot];
                    let take = (frame.len() - *pos).min(data.len());
                    if data[..take] != frame[*pos..*pos + take] {
                        return Err(format!(
                            "raw echo differs from the bytes sent near byte {pos}"
                        ));
                    }
                    *pos += take;
                    data = &data[take..];
                    if *pos == frame.len() {
                        *pos = 0;
                        self.complete(now, window, stats)?;
                    }
                }
                Rx::Header { buf, have } => {
                    let take = (MAX_HEADER_LEN - *have).min(data.len());
                    buf[*have..*have + take].copy_from_slice(&data[..take]);
                    match FrameHeader::parse(&buf[..*have + take]) {
                        Err(_) => {
                            *have += take;
                            data = &data[take..];
                        }
                        Ok((header, header_len)) => {
                            data = &data[header_len - *have..];
                            self.rx = self.judge(&header, m)?;
                            self.after_header(now, window, stats)?;
                        }
                    }
                }
                Rx::Payload { remaining, fin } => {
                    let take = (*remaining).min(data.len());
                    let expected = &m.payloads[self.rx_slot][self.msg_pos..self.msg_pos + take];
                    if data[..take] != *expected {
                        return Err(format!(
                            "echoed payload differs near byte {} of the message",
                            self.msg_pos
                        ));
                    }
                    self.msg_pos += take;
                    *remaining -= take;
                    data = &data[take..];
                    let (remaining, fin) = (*remaining, *fin);
                    if remaining == 0 {
                        self.end_of_frame(fin, m, now, window, stats)?;
                    }
                }
                Rx::Close { remaining } => {
                    let take = (*remaining).min(data.len());
                    *remaining -= take;
                    data = &data[take..];
                    if *remaining == 0 {
                        self.close_received = true;
                        self.rx = Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 };
                    }
                }
            }
        }
        Ok(())
    }

    /// A frame whose payload is empty ends as soon as its header is read.
    fn after_header(&mut self, now: Instant, w: &Window, stats: &mut Stats) -> Result<(), String> {
        match self.rx {
            Rx::Payload { remaining: 0, fin } => self.end_of_frame_empty(fin, now, w, stats),
            Rx::Close { remaining: 0 } => {
                self.close_received = true;
                self.rx = Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 };
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn end_of_frame_empty(
        &mut self,
        fin: bool,
        now: Instant,
        window: &Window,
        stats: &mut Stats,
    ) -> Result<(), String> {
        self.rx = Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 };
        if fin {
            // `judge` let a final frame through only if it completes the message.
            self.complete(now, window, stats)
        } else {
            self.in_message = true;
            Ok(())
        }
    }

    fn end_of_frame(
        &mut self,
        fin: bool,
        m: &Messages,
        now: Instant,
        window: &Window,
        stats: &mut Stats,
    ) -> Result<(), String> {
        if fin && self.msg_pos != m.size {
            return Err(format!("echo ended after {} of {} bytes", self.msg_pos, m.size));
        }
        self.end_of_frame_empty(fin, now, window, stats)
    }

    /// What a server frame's header is allowed to be, and the state that follows it.
    fn judge(&self, header: &FrameHeader, m: &Messages) -> Result<Rx, String> {
        if header.is_masked() {
            // §5.1: "A server MUST NOT mask any frames that it sends to the client."
            return Err("the server masked a frame".into());
        }
        if header.rsv_bits() != 0 {
            return Err("a frame with RSV bits set (no extension was negotiated)".into());
        }
        let len = usize::try_from(header.payload_len).map_err(|_| "absurd payload length")?;
        if header.opcode == OpCode::Close {
            if !self.closing {
                return Err("a Close from the server before ours".into());
            }
            if self.in_message || self.in_flight() > 0 {
                return Err(format!("a Close with {} echoes missing", self.in_flight()));
            }
            return Ok(Rx::Close { remaining: len });
        }
        let expected = if self.in_message { OpCode::Continuation } else { m.opcode };
        if header.opcode != expected {
            return Err(format!("a {:?} frame where {expected:?} was due", header.opcode));
        }
        if self.in_flight() == 0 {
            return Err("an echo of a message never sent".into());
        }
        if len > m.size - self.msg_pos {
            return Err(format!("an echo longer than the {} bytes sent", m.size));
        }
        if header.fin && self.msg_pos + len != m.size {
            return Err(format!("echo ended after {} of {} bytes", self.msg_pos + len, m.size));
        }
        Ok(Rx::Payload { remaining: len, fin: header.fin })
    }
}
