//! The event-loop echo server: one `mio` poll per core, each driving the sans-IO
//! [`Connection`] of the clients it accepted. Nothing here judges the protocol: the
//! handshake parser and the connection do; this file moves bytes, keeps time and pools
//! buffers.
//!
//! - Every worker accepts from the same listening socket, so connections spread over them.
//! - Each readable event reads until the socket is drained (`WouldBlock`, or a short read:
//!   the poll is edge-triggered); what one read brought is answered (echoes, Pongs, Close
//!   echoes) by one vectored write before the next read, so that a large binary message
//!   echoed in parts goes back while it still arrives, and the payloads written by
//!   reference release their read buffer early.
//! - Deadlines (the handshake's, the core's close wait and keepalive, the lingering close)
//!   sit in a timer heap; the poll sleeps until the earliest.
//! - Backpressure: a client whose replies pile up (it stopped reading) is not read from
//!   until they drain, so nothing is buffered without bound.
//! - Lean idle connections: read and output buffers come from the worker's pool when bytes
//!   arrive and go back when the connection has nothing in flight.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpListener as StdListener};
use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rfc6455::handshake::{Accept, HandshakeError, Request, RequestParser};
use rfc6455::socket::read_fd_append;
use rfc6455::{Connection, Message, Role, SendError, Settings};

/// The listening socket's token in every worker's poll.
const LISTENER: Token = Token(usize::MAX);
/// Bytes read at a time (and the size of pooled read buffers). Reads go into spare
/// capacity without zeroing it (`read_fd_append`), so a large read costs no more than a
/// small one: 16 messages of 1 KiB arrive in one.
const READ_CHUNK: usize = 64 * 1024;
/// A read buffer that grew past this (a large message) is dropped, not pooled.
const POOL_MAX_CAPACITY: usize = 256 * 1024;
/// Buffers a worker keeps for reuse.
const POOL_SIZE: usize = 256;
/// Stop reading from a client once this much output waits for it.
const HIGH_WATER: usize = 4 << 20;
/// Slices handed to one vectored write.
const MAX_IOSLICES: usize = 64;

/// Run `workers` event loops on `listener` until one fails.
pub fn serve(listener: StdListener, settings: Settings, workers: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let listener = TcpListener::from_std(listener.try_clone()?);
        handles.push(thread::spawn(move || Worker::new(listener, settings)?.run()));
    }
    for handle in handles {
        handle.join().map_err(|_| io::Error::other("a worker panicked"))??;
    }
    Ok(())
}

/// Where a client is in its life.
enum Phase {
    /// Reading the opening handshake, within its deadline.
    Handshake { parser: RequestParser, buf: BytesMut, deadline: Instant },
    /// Writing our HTTP answer; then open (`Some`) or close (`None`: a rejection).
    Answering { answer: Vec<u8>, written: usize, then: Option<(Box<Connection>, BytesMut)> },
    /// Messages flow.
    Open(Box<Connection>),
    /// Our sending side is shut: read and discard until the client's FIN or the deadline
    /// (§7.1.1: a clean close, so that our last bytes are not destroyed by a reset).
    Lingering { deadline: Instant },
}

struct Client {
    stream: TcpStream,
    phase: Phase,
    /// Reading is paused until our output drains (backpressure).
    paused: bool,
    /// A message the output budget refused, to queue once there is room.
    stalled: Option<Message>,
    /// The deadline this client has in the timer heap, so that each is pushed once.
    timer_at: Option<Instant>,
}

struct Worker {
    poll: Poll,
    listener: TcpListener,
    settings: Settings,
    clients: Vec<Option<Client>>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    pool: Vec<BytesMut>,
}

/// What handling an event did to the client.
enum After {
    Keep,
    Drop,
}

impl Worker {
    fn new(mut listener: TcpListener, settings: Settings) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Worker {
            poll,
            listener,
            settings,
            clients: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            pool: Vec::new(),
        })
    }

    fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.timers.peek().map(|Reverse((at, _))| {
                at.saturating_duration_since(Instant::now()) + Duration::from_millis(1)
            });
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.token() == LISTENER {
                    self.accept_all();
                } else {
                    self.handle(event.token().0);
                }
            }
            self.fire_timers();
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let index = self.free.pop().unwrap_or_else(|| {
                        self.clients.push(None);
                        self.clients.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self.poll.registry().register(&mut stream, Token(index), interest).is_err() {
                        self.free.push(index);
                        continue;
                    }
                    let deadline = Instant::now() + self.settings.handshake_timeout;
                    let parser = RequestParser::new(self.settings.handshake_limits);
                    self.timers.push(Reverse((deadline, index)));
                    self.clients[index] = Some(Client {
                        stream,
                        phase: Phase::Handshake { parser, buf: BytesMut::new(), deadline },
                        paused: false,
                        stalled: None,
                        timer_at: Some(deadline),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Another worker won the race, or the client is already gone.
                Err(_) => return,
            }
        }
    }

    /// Readable or writable: move everything that can move.
    fn handle(&mut self, index: usize) {
        let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
            return;
        };
        let after = self.step(&mut client);
        self.settle(client, index, after);
    }

    /// Put the client back (with its next deadline in the heap), or drop it.
    fn settle(&mut self, mut client: Client, index: usize, after: After) {
        match after {
            After::Drop => {
                let _ = self.poll.registry().deregister(&mut client.stream);
                if let Phase::Open(conn) = &mut client.phase {
                    self.recycle(conn);
                }
                self.free.push(index);
            }
            After::Keep => {
                let deadline = match &client.phase {
                    Phase::Handshake { deadline, .. } | Phase::Lingering { deadline } => {
                        Some(*deadline)
                    }
                    Phase::Open(conn) => conn.next_deadline(),
                    Phase::Answering { .. } => None,
                };
                // One heap entry per client and deadline: push only an earlier one (a later
                // one is pushed when the earlier entry fires and finds nothing to do).
                if let Some(deadline) = deadline
                    && client.timer_at.is_none_or(|at| deadline < at)
                {
                    client.timer_at = Some(deadline);
                    self.timers.push(Reverse((deadline, index)));
                }
                self.clients[index] = Some(client);
            }
        }
    }

    /// Deadlines that passed: tell the client's connection the time (or end its phase).
    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, index))) = self.timers.peek().copied() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
                continue;
            };
            if client.timer_at == Some(at) {
                client.timer_at = None;
            }
            let after = match &mut client.phase {
                // Stale entries (the deadline moved) are harmless: each phase checks the time.
                Phase::Handshake { deadline, .. } | Phase::Lingering { deadline }
                    if *deadline <= now =>
                {
                    After::Drop
                }
                Phase::Open(conn) => {
                    conn.set_time(now);
                    self.step(&mut client)
                }
                _ => After::Keep,
            };
            self.settle(client, index, after);
        }
    }

    /// One round for a client in any phase.
    fn step(&mut self, client: &mut Client) -> After {
        loop {
            let next = match &mut client.phase {
                Phase::Handshake { parser, buf, deadline } => {
                    if Instant::now() >= *deadline {
                        return After::Drop;
                    }
                    match read_head(&mut client.stream, parser, buf) {
                        HeadStep::NeedMore => return After::Keep,
                        HeadStep::Gone => return After::Drop,
                        HeadStep::Request(request) => {
                            let leftover = std::mem::take(buf);
                            answer(&request, leftover, self.settings)
                        }
                        HeadStep::Invalid(error) => Phase::Answering {
                            answer: error.response().map(|r| r.to_bytes()).unwrap_or_default(),
                            written: 0,
                            then: None,
                        },
                    }
                }
                Phase::Answering { answer, written, then } => {
                    match write_some(&mut client.stream, answer, written) {
                        Ok(true) => {}
                        Ok(false) => return After::Keep,
                        Err(_) => return After::Drop,
                    }
                    match then.take() {
                        Some((mut conn, leftover)) => {
                            if !leftover.is_empty() {
                                *conn.read_buf() = leftover;
                            }
                            conn.set_time(Instant::now());
                            Phase::Open(conn)
                        }
                        None => linger(&client.stream, self.settings),
                    }
                }
                Phase::Open(_) => return self.step_open(client),
                Phase::Lingering { .. } => {
                    return match discard(&mut client.stream) {
                        Ok(true) => After::Keep,
                        _ => After::Drop,
                    };
                }
            };
            client.phase = next;
        }
    }

    /// An open connection: read what arrived, answer it, write what is queued.
    fn step_open(&mut self, client: &mut Client) -> After {
        let Phase::Open(conn) = &mut client.phase else {
            return After::Keep;
        };
        let mut eof = false;
        loop {
            // Replies first: a message the budget refused earlier, then what is queued.
            if let Some(message) = client.stalled.take() {
                match conn.send(message) {
                    Ok(()) => {}
                    Err(SendError::WriteBufferFull(message)) => client.stalled = Some(message),
                    Err(_) => {}
                }
            }
            match flush(&mut client.stream, conn) {
                Ok(()) => {}
                Err(_) => return After::Drop,
            }
            client.paused = conn.output_len() > HIGH_WATER || client.stalled.is_some();
            if client.paused || eof || conn.is_terminated() {
                break;
            }
            // Read one chunk into the connection's read buffer (from the pool if empty).
            if conn.read_buf().capacity() == 0 {
                *conn.read_buf() = self.pool.pop().unwrap_or_default();
            }
            let mut drained = false;
            match read_chunk(&client.stream, conn) {
                Ok((0, _)) => {
                    eof = true;
                    conn.receive_eof();
                }
                Ok((n, asked)) => {
                    conn.set_time(Instant::now());
                    // A short read emptied the socket: the poll is edge-triggered and says
                    // when more arrives, so no read is spent to hear `WouldBlock`.
                    drained = n < asked;
                }
                // Nothing more to read: what came is answered below, and written.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return After::Drop,
            }
            if drained {
                break;
            }
            drain_events(conn, &mut client.stalled);
        }
        drain_events(conn, &mut client.stalled);
        if flush(&mut client.stream, conn).is_err() {
            return After::Drop;
        }
        client.paused = conn.output_len() > HIGH_WATER || client.stalled.is_some();
        if conn.should_close_transport() {
            // §7.1.1: the server "SHOULD initiate a TCP Close immediately" once the close
            // handshake is over (or after failing the connection, §7.1.7), every queued byte
            // written first.
            let aborted = conn.state() == rfc6455::State::Aborted;
            let close_timeout = conn.config().close_timeout;
            self.recycle(conn);
            if aborted || eof {
                return After::Drop;
            }
            let _ = client.stream.shutdown(Shutdown::Write);
            client.phase = Phase::Lingering { deadline: Instant::now() + close_timeout };
            return match discard(&mut client.stream) {
                Ok(true) => After::Keep,
                _ => After::Drop,
            };
        }
        if eof && conn.output_len() == 0 {
            return After::Drop;
        }
        self.recycle_if_idle(conn);
        After::Keep
    }

    /// Give the connection's buffers back to the pool if it holds no bytes in flight.
    fn recycle_if_idle(&mut self, conn: &mut Connection) {
        if conn.read_buf().is_empty() && conn.read_buf().capacity() > 0 {
            let buf = std::mem::take(conn.read_buf());
            self.pool_put(buf);
        }
        if let Some(buf) = conn.take_idle_output_buffer() {
            self.pool_put(buf);
        }
    }

    fn recycle(&mut self, conn: &mut Connection) {
        let buf = std::mem::take(conn.read_buf());
        self.pool_put(buf);
        if let Some(buf) = conn.take_idle_output_buffer() {
            self.pool_put(buf);
        }
    }

    fn pool_put(&mut self, mut buf: BytesMut) {
        buf.clear();
        // A buffer still shared with payloads handed out, or grown by a large message, is
        // not worth keeping: reusing it would allocate anyway, or hold too much.
        if self.pool.len() < POOL_SIZE
            && buf.capacity() >= READ_CHUNK
            && buf.capacity() <= POOL_MAX_CAPACITY
        {
            self.pool.push(buf);
        }
    }
}

/// Answer every complete message: echo data, let the core answer Pings and Closes.
fn drain_events(conn: &mut Connection, stalled: &mut Option<Message>) {
    while stalled.is_none() {
        match conn.next_event() {
            // A part of a large binary message goes back as a fragment of the echo.
            Ok(Some(
                message @ (Message::Text(_) | Message::Binary(_) | Message::BinaryPart { .. }),
            )) => {
                match conn.send(message) {
                    Ok(()) => {}
                    Err(SendError::WriteBufferFull(message)) => *stalled = Some(message),
                    // After our Close (or a failure) nothing more is sent.
                    Err(_) => {}
                }
            }
            Ok(Some(_)) => {}
            // Failed: the core queued the Close with the error's code.
            Ok(None) | Err(_) => return,
        }
    }
}

/// Write what the connection queued, by vectored writes, until done or `WouldBlock`.
fn flush(stream: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    loop {
        let mut slots = [IoSlice::new(&[]); MAX_IOSLICES];
        let n = conn.output_slices(&mut slots);
        if n == 0 {
            return Ok(());
        }
        match stream.write_vectored(&slots[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => conn.advance_output(written),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One read into the connection's read buffer, sized by what the frame in progress needs
/// (but growing at most twice what is buffered: never by a declared length). Returns the
/// count read and the count asked for.
fn read_chunk(stream: &TcpStream, conn: &mut Connection) -> io::Result<(usize, usize)> {
    let have = conn.read_buf().len();
    let want = conn.bytes_wanted().clamp(READ_CHUNK, have.clamp(READ_CHUNK, 4 << 20));
    let n = read_fd_append(stream.as_fd(), conn.read_buf(), want)?;
    Ok((n, want))
}

/// How reading the handshake went.
enum HeadStep {
    NeedMore,
    Gone,
    Request(Request),
    Invalid(HandshakeError),
}

fn read_head(stream: &mut TcpStream, parser: &mut RequestParser, buf: &mut BytesMut) -> HeadStep {
    loop {
        match parser.parse(buf) {
            Ok(Some(request)) => return HeadStep::Request(request),
            Ok(None) => {}
            Err(e) => return HeadStep::Invalid(e),
        }
        match read_fd_append(stream.as_fd(), buf, 4096) {
            Ok(0) => return HeadStep::Gone,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return HeadStep::NeedMore,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return HeadStep::Gone,
        }
    }
}

/// The answer to a valid request: agree to the client's first subprotocol (a browser that
/// offers some fails the connection if none is chosen), accept its first acceptable
/// permessage-deflate offer when `settings.deflate` allows it (RFC 7692 §7), and open.
fn answer(request: &Request, leftover: BytesMut, settings: Settings) -> Phase {
    let mut accept =
        Accept { subprotocol: request.subprotocols().first().cloned(), ..Accept::default() };
    let mut conn = Box::new(Connection::new(Role::Server, settings.protocol));
    if let Some(config) = settings.deflate {
        let offers = request.extensions().iter().map(String::as_str);
        if let Some(agreement) = config.negotiate_offers(offers).accepted {
            accept = accept.extension(agreement.response);
            conn.use_permessage_deflate(agreement.params, &config);
        }
    }
    match request.accept(&accept) {
        Ok(response) => Phase::Answering {
            answer: response.to_bytes(),
            written: 0,
            then: Some((conn, leftover)),
        },
        Err(error) => Phase::Answering {
            answer: error.response().map(|r| r.to_bytes()).unwrap_or_default(),
            written: 0,
            then: None,
        },
    }
}

/// Write the rest of `bytes`; `Ok(false)`: the socket is full.
fn write_some(stream: &mut TcpStream, bytes: &[u8], written: &mut usize) -> io::Result<bool> {
    while let Some(rest) = bytes.get(*written..).filter(|r| !r.is_empty()) {
        match stream.write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// After a rejected handshake: shut our side, linger for the client's FIN.
fn linger(stream: &TcpStream, settings: Settings) -> Phase {
    let _ = stream.shutdown(Shutdown::Write);
    Phase::Lingering { deadline: Instant::now() + settings.protocol.close_timeout }
}

/// Read and discard; `Ok(true)`: keep waiting, `Ok(false)`: the client's FIN arrived.
fn discard(stream: &mut TcpStream) -> io::Result<bool> {
    let mut scratch = [0u8; 4096];
    loop {
        match stream.read(&mut scratch) {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
