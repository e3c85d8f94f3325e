//! Mutants: does the suite judge real implementations correctly? An in-process echo server
//! built on rfc6455 with exactly one check switched off must change verdict on exactly the
//! cases that check protects, and nowhere else.
//!
//! - `utf8`: the server's input stream is rewritten so that every Text frame arrives as a
//!   Binary frame (continuations are untouched); the echo goes back as Text. Every other
//!   rule of rfc6455 still applies, only the UTF-8 validation of text messages is gone. It
//!   must get FAILED on exactly the cases tagged `TAG_INVALID_UTF8` (group 6).
//! - `nonminimal`: rfc6455's own `Config::reject_non_minimal_lengths = false`. It must get
//!   NON-STRICT (a non-minimal length tolerated) on exactly the cases tagged
//!   `TAG_NON_MINIMAL` (group B.2).
//!
//! The verdicts checked are the strict ones; on the ids Autobahn shares with us, Autobahn's
//! verdicts must also change on exactly the protected cases (for `utf8`, its group 6 cases
//! with invalid UTF-8; for `nonminimal`, none: group B is ours).

use std::collections::{BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::BytesMut;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::socket::Transport;
use rfc6455::{Config, Error, Message, Role, WebSocket};

use crate::model::{TAG_INVALID_UTF8, TAG_NON_MINIMAL};
use crate::verdict::Verdict;

/// Rewrites the frames read from `inner`: opcode Text becomes Binary; remembers the opcode
/// of each data message in order so the echo can restore it.
struct TextAsBinary<S> {
    inner: S,
    pending: BytesMut,
    out: VecDeque<u8>,
    header: Vec<u8>,
    payload_left: u64,
    opcodes: Arc<Mutex<VecDeque<OpCode>>>,
}

impl<S: Read> TextAsBinary<S> {
    fn process(&mut self) {
        let mut input = std::mem::take(&mut self.pending);
        let mut at = 0;
        while at < input.len() {
            if self.payload_left > 0 {
                let n = (self.payload_left.min((input.len() - at) as u64)) as usize;
                self.out.extend(&input[at..at + n]);
                self.payload_left -= n as u64;
                at += n;
                continue;
            }
            self.header.push(input[at]);
            at += 1;
            if let Ok((h, len)) = FrameHeader::parse(&self.header) {
                debug_assert_eq!(len, self.header.len());
                if h.opcode == OpCode::Text {
                    self.header[0] = (self.header[0] & 0xF0) | OpCode::Binary.as_u4();
                }
                if matches!(h.opcode, OpCode::Text | OpCode::Binary)
                    && let Ok(mut q) = self.opcodes.lock()
                {
                    q.push_back(h.opcode);
                }
                self.out.extend(self.header.drain(..));
                self.payload_left = h.payload_len;
            }
        }
        input.clear();
        self.pending = input;
    }
}

/// The rewriter is the TCP stream it wraps, as far as timeouts and half-close go.
impl<S: Transport> Transport for TextAsBinary<S> {
    fn set_read_timeout(&self, timeout: Option<std::time::Duration>) -> std::io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }
    fn read_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
        self.inner.read_timeout()
    }
    fn shutdown_write(&mut self) -> std::io::Result<()> {
        self.inner.shutdown_write()
    }
}

impl<S: Read> Read for TextAsBinary<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out.is_empty() {
            let mut scratch = [0u8; 16 * 1024];
            let n = self.inner.read(&mut scratch)?;
            if n == 0 {
                return Ok(0);
            }
            self.pending.extend_from_slice(&scratch[..n]);
            self.process();
        }
        let n = buf.len().min(self.out.len());
        for (dst, src) in buf.iter_mut().zip(self.out.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl<S: Write> Write for TextAsBinary<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn serve_utf8_mutant(mut stream: TcpStream) {
    let (request, leftover) =
        match crate::handshake::read_request(&mut stream, std::time::Duration::from_secs(10)) {
            Ok(r) => r,
            Err(_) => return,
        };
    let _ = stream.set_read_timeout(None);
    if stream.write_all(&crate::handshake::response_bytes(&request, None)).is_err() {
        return;
    }
    let opcodes = Arc::new(Mutex::new(VecDeque::new()));
    let mut rewriter = TextAsBinary {
        inner: stream,
        pending: leftover,
        out: VecDeque::new(),
        header: Vec::new(),
        payload_left: 0,
        opcodes: opcodes.clone(),
    };
    rewriter.process();
    let mut ws = WebSocket::from_raw(rewriter, Role::Server, Config::default(), BytesMut::new());
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) => {
                let was = opcodes.lock().ok().and_then(|mut q| q.pop_front());
                let sent = if was == Some(OpCode::Text) {
                    let header = FrameHeader::new(true, OpCode::Text, None, b.len() as u64);
                    ws.connection_mut().send_raw_frame(&header, &b);
                    ws.flush()
                } else {
                    ws.send(Message::Binary(b)).map(drop)
                };
                if sent.is_err() {
                    break;
                }
            }
            Ok(Message::Text(t)) => {
                if ws.send(Message::Text(t)).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(Error::ConnectionClosed) => break,
            Err(_) => break,
        }
    }
    linger(&ws.get_ref().inner);
}

/// A lingering close: FIN first, then read (and drop) what the client still sends until it
/// closes too, so that the kernel does not answer its late bytes with a reset that could
/// destroy our Close frame in its receive queue before it reads it.
fn linger(stream: &TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(100)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut scratch = [0u8; 4096];
    let mut s = stream;
    while std::time::Instant::now() < deadline {
        match s.read(&mut scratch) {
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

fn serve_nonminimal_mutant(stream: TcpStream) {
    let config = Config { reject_non_minimal_lengths: false, ..Config::default() };
    let Ok(mut ws) = rfc6455::accept_with(stream, config, |_| Ok(Default::default())) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(m).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    linger(ws.get_ref());
}

/// A mutant: its connection handler, the tag of the cases it must be caught by, and how.
type Mutant = (fn(TcpStream), u8, Verdict);

fn mutant(kind: &str) -> Result<Mutant, String> {
    match kind {
        "utf8" => Ok((serve_utf8_mutant, TAG_INVALID_UTF8, Verdict::Failed)),
        "nonminimal" => Ok((serve_nonminimal_mutant, TAG_NON_MINIMAL, Verdict::NonStrict)),
        other => Err(format!("unknown mutant {other} (utf8 or nonminimal)")),
    }
}

/// Serve the mutant on `addr` until killed, for another suite to judge (`.ci/autobahn-real`
/// runs the real Autobahn|Testsuite against it: it must give the verdicts ours gives).
pub fn serve_forever(kind: &str, addr: &str) -> Result<ExitCode, String> {
    let (serve, _, _) = mutant(kind)?;
    let listener = TcpListener::bind(addr).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("mutant {kind}: an rfc6455 echo server with one check off, listening on ws://{addr}/");
    for stream in listener.incoming().flatten() {
        thread::spawn(move || serve(stream));
    }
    Ok(ExitCode::SUCCESS)
}

/// Run the whole client-mode suite against the mutant and check which cases changed.
pub fn check(kind: &str, opts: &crate::Options) -> Result<ExitCode, String> {
    let (serve, tag, verdict) = mutant(kind)?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    let url = format!("ws://{addr}/");
    println!("mutant {kind}: an rfc6455 echo server with one check off, on {url}");
    let cases = crate::client_cases(opts);
    let results = crate::run_client(&url, &cases, opts);
    println!("\n{}", crate::report::summary(&results));
    let dir = opts
        .report_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(format!("target/conformance/mutant-{kind}")));
    let info = crate::report::RunInfo { mode: "client".into(), target: format!("mutant {kind}") };
    crate::report::write_reports(&dir, &info, &results).map_err(|e| e.to_string())?;
    let protected: BTreeSet<&str> =
        cases.iter().filter(|c| c.tags & tag != 0).map(|c| c.id.as_str()).collect();
    let changed: BTreeSet<&str> = results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Failed | Verdict::NonStrict))
        .map(|r| r.id.as_str())
        .collect();
    let wrong_verdict: Vec<String> = results
        .iter()
        .filter(|r| protected.contains(r.id.as_str()) && r.verdict != verdict)
        .map(|r| format!("{} {} ({})", r.id, r.verdict.as_str(), r.reason))
        .collect();
    let extra: Vec<&&str> = changed.difference(&protected).collect();
    let missed: Vec<&&str> = protected.difference(&changed).collect();
    println!(
        "{} cases are protected by the check; {} got FAILED or NON-STRICT",
        protected.len(),
        changed.len()
    );
    // Autobahn's verdicts, on the ids it shares with us, must change on exactly the shared
    // protected cases too (a mutant Autobahn would miss is not a finding of the suite's).
    let shared: BTreeSet<&str> =
        cases.iter().filter(|c| c.autobahn.is_some()).map(|c| c.id.as_str()).collect();
    let ab_protected: BTreeSet<&str> = protected.intersection(&shared).copied().collect();
    let ab_changed: BTreeSet<&str> = results
        .iter()
        .filter(|r| {
            r.autobahn.as_ref().is_some_and(|a| {
                matches!(a.behavior, Verdict::Failed | Verdict::NonStrict)
                    || a.close.floor() > Verdict::Ok
            })
        })
        .map(|r| r.id.as_str())
        .collect();
    let ab_wrong: Vec<String> = ab_changed
        .symmetric_difference(&ab_protected)
        .map(|id| {
            let r = results.iter().find(|r| r.id == *id);
            format!("{id}: Autobahn {}", r.map(|r| r.autobahn_str()).unwrap_or_default())
        })
        .collect();
    println!(
        "{} of them are Autobahn's; Autobahn's verdicts changed on {}",
        ab_protected.len(),
        ab_changed.len()
    );
    if extra.is_empty() && missed.is_empty() && wrong_verdict.is_empty() && ab_wrong.is_empty() {
        println!(
            "mutant {kind}: killed exactly by the {} cases that the check protects, each {}",
            protected.len(),
            verdict.as_str()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("mutant {kind}: the suite misjudged it");
        for id in extra {
            println!("  {id}: not protected by the check, yet not OK");
        }
        for id in missed {
            println!("  {id}: protected by the check, yet OK (the mutant survived it)");
        }
        for w in wrong_verdict {
            println!("  expected {}: {w}", verdict.as_str());
        }
        for w in ab_wrong {
            println!("  {w} (Autobahn's verdicts must change on exactly the protected cases)");
        }
        Ok(ExitCode::from(1))
    }
}
