//! The wire: a TCP connection after the opening handshake, a reader thread that decodes the
//! peer's frames with rfc6455's `FrameDecoder`, our writes (chopped and paced), and the wire
//! log, which records the frames in both directions (ours decoded by a second decoder from
//! the very bytes we wrote).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rfc6455::frame::{FrameDecoder, FrameHeader, LengthForm, OpCode, encode_frame};

use crate::model::{FrameSpec, Len, Mask};

/// Largest frame the reader accepts from a peer (the biggest echo is 16 MiB).
const MAX_PEER_FRAME: u64 = 64 << 20;
/// Log entries kept from the start of a case, and from its end.
const LOG_HEAD: usize = 80;
const LOG_TAIL: usize = 20;

/// Something the reader thread saw.
#[derive(Debug)]
pub enum Event {
    Frame(FrameHeader, Bytes),
    /// The peer closed its side (FIN).
    Eof,
    /// A read error (usually a reset).
    Error(String),
    /// Bytes that cannot be a frame we accept (a header beyond our budget).
    Undecodable(String),
}

/// A tiny xorshift generator for masking keys: a test tool needs varied keys, not secret ones.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Rng(t | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn key(&mut self) -> [u8; 4] {
        let k = (self.next() as u32).to_be_bytes();
        // Never all zeros by accident: that one is a case of its own.
        if k == [0; 4] { [1, 2, 3, 4] } else { k }
    }
}

/// Encode a frame spec for our role. Returns the bytes and the header length.
pub fn encode(spec: &FrameSpec, we_are_client: bool, rng: &mut Rng) -> (Vec<u8>, usize) {
    let payload = spec.payload.to_vec();
    let masked = match spec.mask {
        Mask::Role => we_are_client,
        Mask::Zero => true,
        Mask::Flip => !we_are_client,
    };
    let key = match spec.mask {
        Mask::Zero => Some([0; 4]),
        _ if masked => Some(rng.key()),
        _ => None,
    };
    let mut header =
        FrameHeader::new(spec.fin, OpCode::from_u4(spec.opcode), key, payload.len() as u64);
    header.rsv1 = spec.rsv & 4 != 0;
    header.rsv2 = spec.rsv & 2 != 0;
    header.rsv3 = spec.rsv & 1 != 0;
    match spec.len {
        Len::Minimal => {}
        Len::Form(form) => header.length_form = form,
        Len::Declared(n) => {
            header.payload_len = n;
            header.length_form = LengthForm::Extended64;
        }
    }
    let mut out = BytesMut::with_capacity(payload.len() + 14);
    encode_frame(&header, &payload, &mut out);
    (out.to_vec(), header.encoded_len())
}

/// One line of the wire log.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub at: Duration,
    /// "→" (we sent), "←" (we received), "·" (a note).
    pub dir: &'static str,
    pub text: String,
}

/// The wire log of one case: the first entries, the last ones, and a count of those between.
pub struct WireLog {
    start: Instant,
    head: Vec<LogEntry>,
    tail: VecDeque<LogEntry>,
    elided: usize,
}

impl WireLog {
    pub fn new(start: Instant) -> WireLog {
        WireLog { start, head: Vec::new(), tail: VecDeque::new(), elided: 0 }
    }

    pub fn push(&mut self, dir: &'static str, text: String) {
        let entry = LogEntry { at: self.start.elapsed(), dir, text };
        if self.head.len() < LOG_HEAD {
            self.head.push(entry);
            return;
        }
        self.tail.push_back(entry);
        if self.tail.len() > LOG_TAIL {
            self.tail.pop_front();
            self.elided += 1;
        }
    }

    pub fn lines(&self) -> Vec<String> {
        let fmt =
            |e: &LogEntry| format!("{:>9.3} ms {} {}", e.at.as_secs_f64() * 1000.0, e.dir, e.text);
        let mut out: Vec<String> = self.head.iter().map(fmt).collect();
        if self.elided > 0 {
            out.push(format!("             … {} entries elided …", self.elided));
        }
        out.extend(self.tail.iter().map(fmt));
        out
    }
}

fn opcode_name(op: OpCode) -> String {
    match op {
        OpCode::Continuation => "CONT".into(),
        OpCode::Text => "TEXT".into(),
        OpCode::Binary => "BINARY".into(),
        OpCode::Close => "CLOSE".into(),
        OpCode::Ping => "PING".into(),
        OpCode::Pong => "PONG".into(),
        OpCode::Reserved(n) => format!("RESERVED({n:#x})"),
    }
}

/// Up to 40 bytes of a payload: as text when it is UTF-8, else hex.
pub fn preview(p: &[u8]) -> String {
    let cut = &p[..p.len().min(40)];
    let more = if p.len() > cut.len() { "…" } else { "" };
    match std::str::from_utf8(cut) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}{more}"),
        _ => format!("0x{}{more}", cut.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

/// A frame in the RFC's field names.
pub fn describe(h: &FrameHeader, payload: &[u8]) -> String {
    let form = match h.length_form {
        LengthForm::Short => "",
        LengthForm::Extended16 => " (16-bit length)",
        LengthForm::Extended64 => " (64-bit length)",
    };
    let mask = match h.masking_key {
        Some(k) => format!("MASK=1 key={:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]),
        None => "MASK=0".into(),
    };
    let mut s = format!(
        "{} FIN={} RSV={}{}{} {} len={}{}",
        opcode_name(h.opcode),
        u8::from(h.fin),
        u8::from(h.rsv1),
        u8::from(h.rsv2),
        u8::from(h.rsv3),
        mask,
        h.payload_len,
        form
    );
    if h.opcode == OpCode::Close && payload.len() >= 2 {
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        s.push_str(&format!(" code={code} reason={}", preview(&payload[2..])));
    } else if !payload.is_empty() {
        s.push_str(&format!(" payload={}", preview(payload)));
    }
    s
}

/// An open WebSocket transport (the handshake is done).
pub struct Wire {
    stream: TcpStream,
    pub we_are_client: bool,
    events: Receiver<(Instant, Event)>,
    reader: Option<JoinHandle<()>>,
    pub log: WireLog,
    out_decoder: FrameDecoder,
    out_buf: BytesMut,
    pub rng: Rng,
    write_shut: bool,
}

impl Wire {
    /// Start reading `stream` (whose handshake is done; `leftover` holds bytes read past it).
    pub fn new(
        stream: TcpStream,
        we_are_client: bool,
        leftover: BytesMut,
        start: Instant,
    ) -> std::io::Result<Wire> {
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_secs(15)))?;
        stream.set_read_timeout(None)?;
        let reader_stream = stream.try_clone()?;
        let (tx, rx) = mpsc::channel();
        let reader = thread::spawn(move || read_frames(reader_stream, leftover, tx));
        Ok(Wire {
            stream,
            we_are_client,
            events: rx,
            reader: Some(reader),
            log: WireLog::new(start),
            out_decoder: FrameDecoder::new(),
            out_buf: BytesMut::new(),
            rng: Rng::new(),
            write_shut: false,
        })
    }

    /// Write bytes; log the frames they complete. Errors are returned (the peer may be gone).
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.write_shut {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "we closed our side"));
        }
        self.stream.write_all(bytes)?;
        self.out_buf.extend_from_slice(bytes);
        loop {
            match self.out_decoder.decode(&mut self.out_buf) {
                Ok(Some(frame)) => {
                    let text = describe(&frame.header, &frame.payload);
                    self.log.push("→", text);
                }
                Ok(None) => break,
                Err(e) => {
                    self.log.push("→", format!("(undecodable: {e})"));
                    self.out_buf.clear();
                    self.out_decoder = FrameDecoder::new();
                    break;
                }
            }
        }
        Ok(())
    }

    /// Note a frame of ours that was only partly written (its header promised more).
    pub fn log_unfinished_output(&mut self) {
        if let Some(h) = self.out_decoder.in_progress().copied() {
            let got = self.out_buf.len();
            self.log.push(
                "→",
                format!(
                    "{} (only {got} of {} payload bytes sent)",
                    describe(&h, &[]),
                    h.payload_len
                ),
            );
            self.out_decoder = FrameDecoder::new();
            self.out_buf.clear();
        }
    }

    /// True while a frame of ours is only partly written: nothing else may be sent now.
    pub fn mid_frame(&self) -> bool {
        !self.out_buf.is_empty() || self.out_decoder.in_progress().is_some()
    }

    /// A frame built by us (masked per our role), written at once.
    pub fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let spec = FrameSpec::new(opcode, payload);
        let (bytes, _) = encode(&spec, self.we_are_client, &mut self.rng);
        self.write(&bytes)
    }

    /// A frame built by us, written inside a frame of ours still in progress (as Autobahn
    /// writes a reply): logged as sent, not fed to the decoder of our own bytes, which
    /// still waits for the rest of the unfinished frame. The peer reads it as payload.
    pub fn send_frame_inside(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let spec = FrameSpec::new(opcode, payload);
        let (bytes, header_len) = encode(&spec, self.we_are_client, &mut self.rng);
        self.stream.write_all(&bytes)?;
        if let Ok((h, _)) = FrameHeader::parse(&bytes[..header_len]) {
            let text = describe(&h, payload);
            self.log.push(
                "→",
                format!("{text} (inside our unfinished frame: the peer reads it as payload)"),
            );
        }
        Ok(())
    }

    /// The next event, waiting at most until `deadline`.
    pub fn next_event(&mut self, deadline: Instant) -> Option<(Instant, Event)> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.events.recv_timeout(wait) {
            Ok(ev) => Some(ev),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                // The reader has ended and everything it sent was taken: sleep out the wait.
                thread::sleep(wait.min(Duration::from_millis(20)));
                None
            }
        }
    }

    /// An event already waiting, if any.
    pub fn try_event(&mut self) -> Option<(Instant, Event)> {
        self.events.try_recv().ok()
    }

    /// Close our sending side (TCP FIN).
    pub fn shutdown_write(&mut self) {
        if !self.write_shut {
            self.write_shut = true;
            let _ = self.stream.shutdown(Shutdown::Write);
            self.log.push("→", "TCP FIN (we close our side)".into());
        }
    }

    /// Drop the connection and stop the reader.
    pub fn finish(mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn read_frames(mut stream: TcpStream, mut buf: BytesMut, tx: mpsc::Sender<(Instant, Event)>) {
    let mut decoder = FrameDecoder::with_max_payload_len(MAX_PEER_FRAME);
    let mut scratch = vec![0u8; 256 * 1024];
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if tx.send((Instant::now(), Event::Frame(frame.header, frame.payload))).is_err()
                    {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send((Instant::now(), Event::Undecodable(e.to_string())));
                    return;
                }
            }
        }
        match stream.read(&mut scratch) {
            Ok(0) => {
                let _ = tx.send((Instant::now(), Event::Eof));
                return;
            }
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send((Instant::now(), Event::Error(e.to_string())));
                return;
            }
        }
    }
}
