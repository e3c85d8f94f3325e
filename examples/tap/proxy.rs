//! The wiretap's engine: a TCP proxy that forwards every byte untouched and prints both
//! directions in the dissector's format, live.
//!
//! ```text
//! client ──► tap (listen) ──► upstream server
//!        ◄──               ◄──
//! ```
//!
//! Each accepted client gets its own connection to the upstream and two threads, one per
//! direction. A thread reads, writes exactly the bytes it read to the other side at once, and
//! only then dissects them: the dissector never delays, alters or drops traffic, and if it
//! fails (or the log cannot be written) forwarding goes on. Each direction keeps its own
//! [`LiveDissector`] (handshake head, then frames, which may span reads); the head is buffered
//! up to 16 KiB and a frame's payload only as a bounded window ([`rfc6455::dissect::KEEP`]
//! bytes and the last 16), so a huge frame is shown as its header at once and progress lines
//! as it streams. The server's response is judged against the client's request, handed from
//! one thread to the other.
//!
//! Half-close is propagated (EOF from one side becomes `shutdown(Write)` toward the other); a
//! reset or a failed write tears down both sockets.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rfc6455::Role;
use rfc6455::dissect::{LiveDissector, RequestSummary};

/// Bytes read (and forwarded) at a time.
const READ_SIZE: usize = 16 * 1024;

/// How the tap runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapOptions {
    /// Prefix each block of output with the wall-clock time (UTC). Default: true.
    pub timestamps: bool,
    /// How long to wait for the upstream to accept a connection. Default: 5 s.
    pub connect_timeout: Duration,
}

impl Default for TapOptions {
    fn default() -> Self {
        TapOptions { timestamps: true, connect_timeout: Duration::from_secs(5) }
    }
}

/// Accept clients on `listener` forever; connect each to `upstream`, forward both directions
/// untouched and write the dissection to `log`. Returns only if `listener` fails for good.
pub fn run_tap(
    listener: TcpListener,
    upstream: SocketAddr,
    log: impl Write + Send + 'static,
    options: TapOptions,
) -> io::Result<()> {
    let log = Log { out: Arc::new(Mutex::new(Box::new(log))), timestamps: options.timestamps };
    let ids = AtomicU64::new(0);
    let mut failures = 0u32;
    loop {
        match listener.accept() {
            Ok((client, peer)) => {
                failures = 0;
                let id = ids.fetch_add(1, Ordering::Relaxed) + 1;
                let conn_log = log.clone();
                let spawned = thread::Builder::new()
                    .name(format!("tap-{id}"))
                    .spawn(move || connection(id, client, peer, upstream, conn_log, options));
                if let Err(e) = spawned {
                    log.event(id, &format!("could not start a thread for this client: {e}"));
                }
            }
            Err(e) => {
                log.event(0, &format!("accept failed: {e}"));
                failures += 1;
                if failures > 1000 {
                    return Err(e);
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// The shared log: whole blocks are written under one lock, so directions never interleave
/// inside a block. Write errors are ignored (printing never stops forwarding).
#[derive(Clone)]
struct Log {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    timestamps: bool,
}

impl Log {
    fn block(&self, id: u64, title: &str, body: &str) {
        let mut text = String::with_capacity(body.len() + 64);
        if self.timestamps {
            text.push_str(&timestamp());
            text.push(' ');
        }
        let _ = writeln!(text, "#{id} {title}");
        for line in body.lines() {
            let _ = writeln!(text, "  {line}");
        }
        let mut out = self.out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn event(&self, id: u64, what: &str) {
        self.block(id, what, "");
    }
}

/// `[HH:MM:SS.mmm]`, UTC.
fn timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!(
        "[{:02}:{:02}:{:02}.{:03}]",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}

/// The request's key and offer, handed from the client's direction to the server's.
#[derive(Default)]
struct Handoff {
    request: Mutex<Option<RequestSummary>>,
    ready: Condvar,
}

impl Handoff {
    /// A direction dissected a request head.
    fn publish(&self, request: RequestSummary) {
        let mut slot = self.request.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(request);
        self.ready.notify_all();
    }

    /// A response head is complete: the request it answers. That request may still be on its
    /// way to being dissected by the other thread (the bytes were forwarded before it looked
    /// at them): wait a moment.
    fn request_answered(&self) -> Option<RequestSummary> {
        let slot = self.request.lock().unwrap_or_else(|p| p.into_inner());
        let (slot, _) = self
            .ready
            .wait_timeout_while(slot, Duration::from_millis(200), |r| r.is_none())
            .unwrap_or_else(|p| p.into_inner());
        slot.clone()
    }
}

fn connection(
    id: u64,
    client: TcpStream,
    peer: SocketAddr,
    upstream: SocketAddr,
    log: Log,
    options: TapOptions,
) {
    let server = match TcpStream::connect_timeout(&upstream, options.connect_timeout) {
        Ok(s) => s,
        Err(e) => {
            log.event(id, &format!("client {peer} connected; upstream {upstream} refused: {e}"));
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    log.event(id, &format!("connected: client {peer} ⇄ tap ⇄ upstream {upstream}"));
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let clones = (client.try_clone(), server.try_clone());
    let (Ok(client2), Ok(server2)) = clones else {
        log.event(id, "could not clone the sockets; closing");
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        return;
    };
    let handoff = Arc::new(Handoff::default());
    let up = {
        let (log, handoff) = (log.clone(), handoff.clone());
        thread::Builder::new()
            .name(format!("tap-{id}-up"))
            .spawn(move || pump(id, Direction::ToServer, client, server, &log, &handoff))
    };
    let down = pump(id, Direction::ToClient, server2, client2, &log, &handoff);
    let up = match up {
        Ok(handle) => handle.join().unwrap_or(0),
        Err(e) => {
            log.event(id, &format!("could not start the client → server thread: {e}"));
            0
        }
    };
    log.event(id, &format!("closed: {up} bytes client → server, {down} bytes server → client"));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    fn arrow(self) -> &'static str {
        match self {
            Direction::ToServer => "client → server",
            Direction::ToClient => "server → client",
        }
    }

    fn sender(self) -> Role {
        match self {
            Direction::ToServer => Role::Client,
            Direction::ToClient => Role::Server,
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Direction::ToServer => ("client", "server"),
            Direction::ToClient => ("server", "client"),
        }
    }
}

/// Forward `from` → `to` until EOF or an error; returns the bytes forwarded.
fn pump(
    id: u64,
    dir: Direction,
    mut from: TcpStream,
    mut to: TcpStream,
    log: &Log,
    handoff: &Handoff,
) -> u64 {
    let mut buf = vec![0u8; READ_SIZE];
    // `None` once the dissector has failed: only forwarding goes on.
    let mut view = Some(LiveDissector::new(dir.sender()));
    let mut total = 0u64;
    let (source, sink) = dir.names();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                log.event(
                    id,
                    &format!(
                        "{}: the {source} closed its sending side (EOF); shutdown(Write) toward the {sink}",
                        dir.arrow()
                    ),
                );
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                log.event(
                    id,
                    &format!(
                        "{}: reading from the {source} failed: {e}; closing both sides",
                        dir.arrow()
                    ),
                );
                break;
            }
        };
        let chunk = buf.get(..n).unwrap_or_default();
        // Forward first, exactly what was read.
        if let Err(e) = to.write_all(chunk) {
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
            log.event(
                id,
                &format!("{}: writing to the {sink} failed: {e}; closing both sides", dir.arrow()),
            );
            break;
        }
        total += n as u64;
        // Then dissect; a failure there only turns the dissection off.
        let mut text = String::new();
        if let Some(dissector) = &mut view {
            let fed = catch_unwind(AssertUnwindSafe(|| {
                dissector.feed(chunk, || handoff.request_answered(), &mut text);
                if let Some(request) = dissector.take_request() {
                    handoff.publish(request);
                }
            }));
            if fed.is_err() {
                view = None;
                text.push_str(
                    "(the dissector failed on these bytes; forwarding goes on undissected)\n",
                );
            }
        }
        if !text.is_empty() {
            log.block(id, dir.arrow(), &text);
        }
    }
    let mut text = String::new();
    let finished = match &mut view {
        Some(dissector) => catch_unwind(AssertUnwindSafe(|| dissector.finish(&mut text))).is_ok(),
        None => false,
    };
    if finished && !text.is_empty() {
        log.block(id, &format!("{} (at the end)", dir.arrow()), &text);
    }
    if dir == Direction::ToServer {
        // Never leave the other direction waiting for a request that will not come.
        handoff.ready.notify_all();
    }
    total
}
