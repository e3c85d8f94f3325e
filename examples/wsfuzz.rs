//! wsfuzz: send malformed and edge-case frames to a live WebSocket server and report how it
//! reacts, per class of case. The frames are built with [`RawFrame`], which writes any
//! FIN/RSV/opcode/mask/length with no validation.
//!
//! ```text
//! cargo run --release --example echo_server &                  # a target to attack
//! cargo run --release --example wsfuzz -- ws://127.0.0.1:9001/ --seed 1 --count 2000 --duration 60
//! ```
//!
//! Options: `--seed N` (the PRNG seed; a run is reproducible), `--count N` (cases, default
//! 500), `--duration S` (stop after S seconds, default 60), `--timeout MS` (how long to wait
//! for a reaction, default 500), `--batch N` (cases per connection, default 1: a fresh
//! connection per case, so that one case's verdict is not another's; with a larger batch a
//! connection is reused only after a valid case was answered).
//!
//! For each case the opening handshake is done with [`ClientRequest`] over a `TcpStream`,
//! then the raw frames are written and the server's reaction is read: a Close frame (its
//! code), an echo (a data frame back), a pong, the TCP connection dropped without a Close,
//! or nothing within the timeout (a hang; correct for a frame that declares more bytes than
//! were sent). The report gives, per class, the reactions seen, what RFC 6455 expects, and
//! the reaction time percentiles.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rfc6455::frame::{FrameDecoder, LengthForm, OpCode, RawFrame};
use rfc6455::handshake::{ClientRequest, Limits};

/// xorshift64*: small, fast, seedable; not for cryptography.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn key(&mut self) -> [u8; 4] {
        (self.next() as u32).to_be_bytes()
    }
}

/// The classes of cases, each with what a conforming server does.
const CLASSES: &[(&str, &str)] = &[
    ("valid-text", "echo"),
    ("valid-binary", "echo"),
    ("valid-ping", "pong"),
    ("valid-fragmented", "echo"),
    ("unmasked", "close 1002"),
    ("rsv-bits", "close 1002"),
    ("reserved-opcode", "close 1002"),
    ("fragmented-control", "close 1002"),
    ("oversized-control", "close 1002"),
    ("non-minimal-length", "close 1002"),
    ("top-bit-length", "close 1002"),
    ("orphan-continuation", "close 1002"),
    ("interleaved-data", "close 1002"),
    ("invalid-utf8", "close 1007"),
    ("close-1-byte", "close 1002"),
    ("close-bad-code", "close 1002"),
    ("close-bad-reason", "close 1007"),
    ("huge-declared", "close 1009 or hang"),
    ("short-payload", "hang"),
    ("random-mutation", "any"),
];

/// One case: its class and the bytes to send after the handshake.
fn make_case(rng: &mut Rng) -> (&'static str, Vec<u8>) {
    let class = CLASSES[rng.below(CLASSES.len() as u64) as usize].0;
    let key = rng.key();
    let len = rng.below(40) as usize;
    let text: Vec<u8> = (0..len).map(|_| b'a' + rng.below(26) as u8).collect();
    let masked = |f: RawFrame| f.masking_key(key);
    let mut out = Vec::new();
    match class {
        "valid-text" => masked(RawFrame::new(OpCode::Text).payload(text)).write_to(&mut out),
        "valid-binary" => {
            let n = rng.below(70_000) as usize;
            let data = rng.bytes(n);
            masked(RawFrame::new(OpCode::Binary).payload(data)).write_to(&mut out)
        }
        "valid-ping" => masked(RawFrame::new(OpCode::Ping).payload(text)).write_to(&mut out),
        "valid-fragmented" => {
            let (a, b) = text.split_at(len / 2);
            masked(RawFrame::new(OpCode::Text).fin(false).payload(a)).write_to(&mut out);
            masked(RawFrame::new(OpCode::Ping).payload(&b"mid"[..])).write_to(&mut out);
            masked(RawFrame::new(OpCode::Continuation).payload(b)).write_to(&mut out);
        }
        "unmasked" => RawFrame::new(OpCode::Text).payload(text).write_to(&mut out),
        "rsv-bits" => masked(RawFrame::new(OpCode::Text).rsv_bits(1 + rng.below(7) as u8))
            .payload(text)
            .write_to(&mut out),
        "reserved-opcode" => {
            let op = [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF][rng.below(10) as usize];
            masked(RawFrame::new(OpCode::from_u4(op)).payload(text)).write_to(&mut out)
        }
        "fragmented-control" => {
            masked(RawFrame::new(OpCode::Ping).fin(false).payload(text)).write_to(&mut out)
        }
        "oversized-control" => {
            let op = [OpCode::Ping, OpCode::Pong, OpCode::Close][rng.below(3) as usize];
            let mut body = vec![0x03, 0xE8];
            body.extend(std::iter::repeat_n(b'x', 124 + rng.below(200) as usize));
            masked(RawFrame::new(op).payload(body)).write_to(&mut out)
        }
        "non-minimal-length" => {
            let form = [LengthForm::Extended16, LengthForm::Extended64][rng.below(2) as usize];
            masked(RawFrame::new(OpCode::Text).length_form(form).payload(text)).write_to(&mut out)
        }
        "top-bit-length" => masked(RawFrame::new(OpCode::Binary))
            .declared_len(1 << 63 | rng.below(1 << 20))
            .payload(text)
            .write_to(&mut out),
        "orphan-continuation" => {
            masked(RawFrame::new(OpCode::Continuation).payload(text)).write_to(&mut out)
        }
        "interleaved-data" => {
            masked(RawFrame::new(OpCode::Text).fin(false).payload(&b"a"[..])).write_to(&mut out);
            masked(RawFrame::new(OpCode::Binary).payload(&b"b"[..])).write_to(&mut out);
        }
        "invalid-utf8" => {
            let bad: &[&[u8]] = &[b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"];
            let mut payload = text;
            payload.extend_from_slice(bad[rng.below(bad.len() as u64) as usize]);
            masked(RawFrame::new(OpCode::Text).payload(payload)).write_to(&mut out)
        }
        "close-1-byte" => {
            masked(RawFrame::new(OpCode::Close).payload(&[3u8][..])).write_to(&mut out)
        }
        "close-bad-code" => {
            let code: u16 =
                [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000][rng.below(9) as usize];
            masked(RawFrame::new(OpCode::Close).payload(code.to_be_bytes())).write_to(&mut out)
        }
        "close-bad-reason" => {
            masked(RawFrame::new(OpCode::Close).payload(&b"\x03\xe8\xff\xfe"[..]))
                .write_to(&mut out)
        }
        "huge-declared" => masked(RawFrame::new(OpCode::Binary))
            .declared_len(1 << (32 + rng.below(30)))
            .payload(text)
            .write_to(&mut out),
        "short-payload" => masked(RawFrame::new(OpCode::Binary))
            .declared_len(len as u64 + 1 + rng.below(100))
            .payload(text)
            .write_to(&mut out),
        _ => {
            // A valid frame with 1–4 random bytes flipped.
            masked(RawFrame::new(OpCode::Text).payload(text)).write_to(&mut out);
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(out.len() as u64) as usize;
                out[at] ^= 1 << rng.below(8);
            }
        }
    }
    (class, out)
}

/// How the server reacted to one case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Reaction {
    Close(Option<u16>),
    Echo,
    Pong,
    Dropped,
    Hang,
    HandshakeFailed,
}

impl std::fmt::Display for Reaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reaction::Close(Some(code)) => write!(f, "close {code}"),
            Reaction::Close(None) => write!(f, "close (no code)"),
            Reaction::Echo => write!(f, "echo"),
            Reaction::Pong => write!(f, "pong"),
            Reaction::Dropped => write!(f, "tcp drop"),
            Reaction::Hang => write!(f, "hang"),
            Reaction::HandshakeFailed => write!(f, "handshake failed"),
        }
    }
}

/// Connect and do the opening handshake; returns the stream and any frame bytes after the 101.
fn connect(url: &str, timeout: Duration) -> io::Result<(TcpStream, BytesMut)> {
    let request = ClientRequest::new(url).map_err(io::Error::other)?;
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

/// Read the server's frames until the first reaction (a Pong does not end the wait when the
/// case also expects an echo: a fragmented message with a Ping between its fragments).
fn react(
    stream: &mut TcpStream,
    mut buf: BytesMut,
    deadline: Instant,
    wants_echo: bool,
) -> Reaction {
    let mut decoder = FrameDecoder::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        while let Ok(Some(frame)) = decoder.decode(&mut buf) {
            match frame.header.opcode {
                OpCode::Close => {
                    let code = frame.payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    return Reaction::Close(code);
                }
                OpCode::Pong if wants_echo => {}
                OpCode::Pong => return Reaction::Pong,
                _ => return Reaction::Echo,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Reaction::Hang;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Reaction::Dropped,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Reaction::Hang;
            }
            Err(_) => return Reaction::Dropped,
        }
    }
}

struct Args {
    url: String,
    seed: u64,
    count: u64,
    duration: Duration,
    timeout: Duration,
    batch: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        seed: 1,
        count: 500,
        duration: Duration::from_secs(60),
        timeout: Duration::from_millis(500),
        batch: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--seed" => args.seed = value("--seed")?,
            "--count" => args.count = value("--count")?,
            "--duration" => args.duration = Duration::from_secs(value("--duration")?),
            "--timeout" => args.timeout = Duration::from_millis(value("--timeout")?),
            "--batch" => args.batch = value("--batch")?.max(1),
            url if !url.starts_with("--") && args.url.is_empty() => args.url = url.to_owned(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.url.is_empty() {
        return Err("usage: wsfuzz ws://host:port/path [--seed N] [--count N] [--duration S] \
                    [--timeout MS] [--batch N]"
            .into());
    }
    Ok(args)
}

fn percentile(sorted: &[Duration], p: usize) -> String {
    match sorted.get((sorted.len().saturating_sub(1)) * p / 100) {
        Some(d) => format!("{:.2}", d.as_secs_f64() * 1000.0),
        None => "-".into(),
    }
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut rng = Rng::new(args.seed);
    let start = Instant::now();
    // class -> (reaction -> count, reaction times of cases that got a reaction)
    let mut report: BTreeMap<&str, (BTreeMap<Reaction, u64>, Vec<Duration>)> = BTreeMap::new();
    let mut done = 0;
    'outer: while done < args.count && start.elapsed() < args.duration {
        let connection = connect(&args.url, args.timeout);
        let (mut stream, mut leftover) = match connection {
            Ok(c) => c,
            Err(e) => {
                eprintln!("case {done}: handshake failed: {e}");
                let (class, _) = make_case(&mut rng);
                *report
                    .entry(class)
                    .or_default()
                    .0
                    .entry(Reaction::HandshakeFailed)
                    .or_insert(0) += 1;
                done += 1;
                continue;
            }
        };
        for _ in 0..args.batch {
            if done >= args.count || start.elapsed() >= args.duration {
                break 'outer;
            }
            let (class, bytes) = make_case(&mut rng);
            done += 1;
            let sent = Instant::now();
            let reaction = match stream.write_all(&bytes) {
                Ok(()) => {
                    let wants_echo = class == "valid-fragmented";
                    let buf = std::mem::take(&mut leftover);
                    react(&mut stream, buf, sent + args.timeout, wants_echo)
                }
                Err(_) => Reaction::Dropped,
            };
            let entry = report.entry(class).or_default();
            *entry.0.entry(reaction.clone()).or_insert(0) += 1;
            if reaction != Reaction::Hang {
                entry.1.push(sent.elapsed());
            }
            // Only a valid case answered with an echo or pong leaves the connection usable (a
            // random mutation may have left the server inside a frame or a message).
            if !matches!(reaction, Reaction::Echo | Reaction::Pong) || class == "random-mutation" {
                break;
            }
        }
    }

    println!(
        "wsfuzz {} seed={} cases={} in {:.1}s (timeout {} ms, batch {})",
        args.url,
        args.seed,
        done,
        start.elapsed().as_secs_f64(),
        args.timeout.as_millis(),
        args.batch
    );
    println!(
        "{:<20} {:>5}  {:<20} {:<40} {:>8} {:>8} {:>8}",
        "class", "cases", "expected", "reactions", "p50 ms", "p90 ms", "p99 ms"
    );
    for (class, expected) in CLASSES {
        let Some((reactions, mut times)) = report.remove(class) else {
            continue;
        };
        times.sort();
        let cases: u64 = reactions.values().sum();
        let seen: Vec<String> = reactions.iter().map(|(r, n)| format!("{r} x{n}")).collect();
        println!(
            "{:<20} {:>5}  {:<20} {:<40} {:>8} {:>8} {:>8}",
            class,
            cases,
            expected,
            seen.join(", "),
            percentile(&times, 50),
            percentile(&times, 90),
            percentile(&times, 99)
        );
    }
}
