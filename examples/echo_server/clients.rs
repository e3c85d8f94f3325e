//! The event loop's clients: each one's state machine (phases Handshake → Answering → Open →
//! Lingering), the timer heap keyed by their deadlines, and the pool of buffers they borrow.
//! `event_loop.rs` drives it over mio sockets; it is generic over [`Socket`] and told the time
//! (it never reads a clock), so that `fuzz/fuzz_targets/event_loop.rs` runs the very same code
//! over a fake socket and a fake clock. Nothing here judges the protocol: the handshake parser
//! and the connection do; this file moves bytes, keeps time and pools buffers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

use bytes::BytesMut;
use rfc6455::handshake::{Accept, HandshakeError, Request, RequestParser};
use rfc6455::{CloseCode, CloseFrame, Connection, Message, Role, SendError, Settings, State};

/// What a client's socket must do besides `Read + Write` (a nonblocking, edge-triggered
/// socket: `WouldBlock` when empty or full).
pub trait Socket: Read + Write {
    /// One read of at most `max` bytes onto the end of `buf` (a socket reads into its spare
    /// capacity, no zero-fill: `rfc6455::socket::read_fd_append`); `0` at end of stream.
    fn read_append(&mut self, buf: &mut BytesMut, max: usize) -> io::Result<usize>;
    /// Close our sending side (a FIN), keeping the receiving side open.
    fn shutdown_write(&mut self) -> io::Result<()>;
}

/// The sizes the loop works with.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Bytes read at a time (and the size of pooled read buffers).
    pub read_chunk: usize,
    /// A read buffer that grew past this (a large message) is dropped, not pooled.
    pub pool_max_capacity: usize,
    /// Buffers kept for reuse.
    pub pool_size: usize,
    /// Stop reading from a client once this much output waits for it.
    pub high_water: usize,
}

/// Bytes read at a time while the opening handshake is incomplete.
const HEAD_READ: usize = 4096;
/// Slices handed to one vectored write.
const MAX_IOSLICES: usize = 64;

/// Where a client is in its life.
enum Phase {
    /// Reading the opening handshake, within its deadline.
    Handshake { parser: RequestParser, buf: BytesMut, deadline: Instant },
    /// Writing our HTTP answer, within the handshake's deadline still; then open (`Some`)
    /// or close (`None`: a rejection).
    Answering {
        answer: Vec<u8>,
        written: usize,
        then: Option<(Box<Connection>, BytesMut)>,
        deadline: Instant,
    },
    /// Messages flow.
    Open(Box<Connection>),
    /// Our sending side is shut: read and discard until the client's FIN or the deadline
    /// (§7.1.1: a clean close, so that our last bytes are not destroyed by a reset).
    Lingering { deadline: Instant },
}

/// A client's phase, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PhaseKind {
    Handshake,
    Answering,
    Open,
    Lingering,
}

/// A client seen from outside (for the fuzz target).
#[allow(dead_code)]
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub phase: PhaseKind,
    /// When it next needs attention even if its socket stays quiet.
    pub deadline: Option<Instant>,
    /// Open: the connection's state, bytes queued for the client, bytes read and not yet
    /// decoded, and the read buffer's capacity.
    pub state: Option<State>,
    pub queued: usize,
    pub buffered: usize,
    pub read_capacity: usize,
    pub paused: bool,
    pub stalled: bool,
}

struct Client<S> {
    stream: S,
    phase: Phase,
    /// Reading is paused until our output drains (backpressure).
    paused: bool,
    /// A message the output budget refused, to queue once there is room.
    stalled: Option<Message>,
    /// The deadline this client has in the timer heap, so that each is pushed once.
    timer_at: Option<Instant>,
    /// When its connection ended (closed, failed or aborted) with bytes still queued: the
    /// client gets `close_timeout` from then to read them.
    ended_at: Option<Instant>,
}

/// Every client of one worker, their timers and the buffer pool.
pub struct Clients<S> {
    settings: Settings,
    tuning: Tuning,
    slots: Vec<Option<Client<S>>>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    pool: Vec<BytesMut>,
}

/// What handling an event did to the client.
enum After {
    Keep,
    Drop,
}

impl<S: Socket> Clients<S> {
    pub fn new(settings: Settings, tuning: Tuning) -> Self {
        Clients {
            settings,
            tuning,
            slots: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            pool: Vec::new(),
        }
    }

    /// A new client, reading its opening handshake from `now` on; returns its index.
    pub fn insert(&mut self, stream: S, now: Instant) -> usize {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let deadline = now + self.settings.handshake_timeout;
        let parser = RequestParser::new(self.settings.handshake_limits);
        self.timers.push(Reverse((deadline, index)));
        self.slots[index] = Some(Client {
            stream,
            phase: Phase::Handshake { parser, buf: BytesMut::new(), deadline },
            paused: false,
            stalled: None,
            timer_at: Some(deadline),
            ended_at: None,
        });
        index
    }

    /// The client's socket (to register it with a poll).
    pub fn stream_mut(&mut self, index: usize) -> Option<&mut S> {
        self.slots.get_mut(index)?.as_mut().map(|client| &mut client.stream)
    }

    /// Forget a client just inserted (its socket could not be registered).
    pub fn remove(&mut self, index: usize) -> Option<S> {
        let client = self.slots.get_mut(index)?.take()?;
        self.free.push(index);
        Some(client.stream)
    }

    /// The earliest deadline in the timer heap: when the poll must wake at the latest.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// The client's socket is readable or writable: move everything that can move. A client
    /// that is done is handed to `gone` with its socket (to deregister it).
    pub fn handle(&mut self, index: usize, now: Instant, gone: &mut impl FnMut(S)) {
        let Some(mut client) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        let after = self.step(&mut client, now);
        self.settle(client, index, after, gone);
    }

    /// Deadlines that passed by `now`: tell the client's connection the time (or end its
    /// phase).
    pub fn fire_timers(&mut self, now: Instant, gone: &mut impl FnMut(S)) {
        while let Some(Reverse((at, index))) = self.timers.peek().copied() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(mut client) = self.slots.get_mut(index).and_then(Option::take) else {
                continue;
            };
            if client.timer_at == Some(at) {
                client.timer_at = None;
            }
            let after = match &mut client.phase {
                // Stale entries (the deadline moved) are harmless: each phase checks the time.
                Phase::Handshake { deadline, .. }
                | Phase::Answering { deadline, .. }
                | Phase::Lingering { deadline }
                    if *deadline <= now =>
                {
                    After::Drop
                }
                Phase::Open(conn) => {
                    conn.set_time(now);
                    self.step(&mut client, now)
                }
                _ => After::Keep,
            };
            self.settle(client, index, after, gone);
        }
    }

    /// What a client looks like from outside (`None`: no client there).
    #[allow(dead_code)] // for the fuzz target
    pub fn probe(&mut self, index: usize) -> Option<Probe> {
        let client = self.slots.get_mut(index)?.as_mut()?;
        let deadline = deadline(client);
        let (phase, open) = match &mut client.phase {
            Phase::Handshake { .. } => (PhaseKind::Handshake, None),
            Phase::Answering { .. } => (PhaseKind::Answering, None),
            Phase::Open(conn) => (
                PhaseKind::Open,
                Some((
                    conn.state(),
                    conn.output_len(),
                    conn.read_buf().len(),
                    conn.read_buf().capacity(),
                )),
            ),
            Phase::Lingering { .. } => (PhaseKind::Lingering, None),
        };
        Some(Probe {
            phase,
            deadline,
            state: open.map(|o| o.0),
            queued: open.map_or(0, |o| o.1),
            buffered: open.map_or(0, |o| o.2),
            read_capacity: open.map_or(0, |o| o.3),
            paused: client.paused,
            stalled: client.stalled.is_some(),
        })
    }

    /// Buffers in the pool.
    #[allow(dead_code)] // for the fuzz target
    pub fn pooled(&self) -> usize {
        self.pool.len()
    }

    /// Put the client back (with its next deadline in the heap), or drop it.
    fn settle(
        &mut self,
        mut client: Client<S>,
        index: usize,
        after: After,
        gone: &mut impl FnMut(S),
    ) {
        match after {
            After::Drop => {
                if let Phase::Open(conn) = &mut client.phase {
                    self.recycle(conn);
                }
                self.free.push(index);
                gone(client.stream);
            }
            After::Keep => {
                // One heap entry per client and deadline: push only an earlier one (a later
                // one is pushed when the earlier entry fires and finds nothing to do).
                if let Some(deadline) = deadline(&client)
                    && client.timer_at.is_none_or(|at| deadline < at)
                {
                    client.timer_at = Some(deadline);
                    self.timers.push(Reverse((deadline, index)));
                }
                self.slots[index] = Some(client);
            }
        }
    }

    /// One round for a client in any phase.
    fn step(&mut self, client: &mut Client<S>, now: Instant) -> After {
        loop {
            let next = match &mut client.phase {
                Phase::Handshake { parser, buf, deadline } => {
                    if now >= *deadline {
                        return After::Drop;
                    }
                    match read_head(&mut client.stream, parser, buf) {
                        HeadStep::NeedMore => return After::Keep,
                        HeadStep::Gone => return After::Drop,
                        HeadStep::Request(request) => {
                            let leftover = std::mem::take(buf);
                            answer(&request, leftover, self.settings, *deadline)
                        }
                        HeadStep::Invalid(error) => Phase::Answering {
                            answer: error.response().map(|r| r.to_bytes()).unwrap_or_default(),
                            written: 0,
                            then: None,
                            deadline: *deadline,
                        },
                    }
                }
                Phase::Answering { answer, written, then, deadline } => {
                    match write_some(&mut client.stream, answer, written) {
                        Ok(true) => {}
                        // The handshake's deadline covers the answer too: a client that
                        // does not read it does not keep its slot.
                        Ok(false) if now >= *deadline => return After::Drop,
                        Ok(false) => return After::Keep,
                        Err(_) => return After::Drop,
                    }
                    match then.take() {
                        Some((mut conn, leftover)) => {
                            if !leftover.is_empty() {
                                *conn.read_buf() = leftover;
                            }
                            conn.set_time(now);
                            Phase::Open(conn)
                        }
                        None => linger(&mut client.stream, self.settings, now),
                    }
                }
                Phase::Open(_) => return self.step_open(client, now),
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
    fn step_open(&mut self, client: &mut Client<S>, now: Instant) -> After {
        let Phase::Open(conn) = &mut client.phase else {
            return After::Keep;
        };
        let high_water = self.tuning.high_water;
        let mut eof = false;
        // Until no message waits for room that has already come (the socket took all we
        // wrote, so no writable edge will come to retry it).
        loop {
            loop {
                // Replies first: what is queued, then a message the budget refused earlier.
                match flush(&mut client.stream, conn) {
                    Ok(()) => {}
                    Err(_) => return After::Drop,
                }
                if let Some(message) = client.stalled.take() {
                    retry(conn, &mut client.stalled, message);
                    // What the retry queued is written before the pause is judged: paused
                    // with a socket that still takes bytes, the client would wait for a
                    // writable edge that never comes (no write failed).
                    if flush(&mut client.stream, conn).is_err() {
                        return After::Drop;
                    }
                }
                client.paused = conn.output_len() > high_water || client.stalled.is_some();
                if client.paused || eof || conn.is_terminated() {
                    break;
                }
                // Read one chunk into the connection's read buffer (from the pool if empty).
                if conn.read_buf().capacity() == 0 {
                    *conn.read_buf() = self.pool.pop().unwrap_or_default();
                }
                let mut drained = false;
                match read_chunk(&mut client.stream, conn, self.tuning.read_chunk) {
                    Ok((0, _)) => {
                        eof = true;
                        conn.receive_eof();
                    }
                    Ok((n, asked)) => {
                        conn.set_time(now);
                        // A short read emptied the socket: the poll is edge-triggered and
                        // says when more arrives, so no read is spent to hear `WouldBlock`.
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
            if client.stalled.is_none() || conn.output_len() > 0 {
                break;
            }
        }
        client.paused = conn.output_len() > high_water || client.stalled.is_some();
        if conn.should_close_transport() {
            // §7.1.1: the server "SHOULD initiate a TCP Close immediately" once the close
            // handshake is over (or after failing the connection, §7.1.7), every queued byte
            // written first.
            let aborted = conn.state() == State::Aborted;
            let close_timeout = conn.config().close_timeout;
            self.recycle(conn);
            if aborted || eof {
                return After::Drop;
            }
            let _ = client.stream.shutdown_write();
            client.phase = Phase::Lingering { deadline: now + close_timeout };
            return match discard(&mut client.stream) {
                Ok(true) => After::Keep,
                _ => After::Drop,
            };
        }
        if eof && conn.output_len() == 0 {
            return After::Drop;
        }
        if conn.is_terminated() {
            // Ended, but the client does not read what is left (our Close, its echo): it
            // gets `close_timeout` to, then it is dropped (§7.1.1: the server closes the TCP
            // connection; a client that stopped reading must not keep it open for ever).
            let ended_at = *client.ended_at.get_or_insert(now);
            if now >= ended_at + conn.config().close_timeout {
                return After::Drop;
            }
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
        if self.pool.len() < self.tuning.pool_size
            && buf.capacity() >= self.tuning.read_chunk
            && buf.capacity() <= self.tuning.pool_max_capacity
        {
            self.pool.push(buf);
        }
    }
}

/// When a client next needs attention even if its socket stays quiet.
fn deadline<S>(client: &Client<S>) -> Option<Instant> {
    match &client.phase {
        Phase::Open(conn) if client.ended_at.is_some() => {
            client.ended_at.map(|at| at + conn.config().close_timeout)
        }
        Phase::Handshake { deadline, .. }
        | Phase::Answering { deadline, .. }
        | Phase::Lingering { deadline } => Some(*deadline),
        Phase::Open(conn) => conn.next_deadline(),
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

/// Queue `message`, which the write budget refused before. Refused again, it waits for the
/// queue to drain; refused by an empty queue, it never fits (`Config::max_write_buffer` is
/// smaller than the echo): the connection is closed with 1009 (§7.4.1: "a message that is
/// too big for it to process") rather than left waiting for ever.
fn retry(conn: &mut Connection, stalled: &mut Option<Message>, message: Message) {
    match conn.send(message) {
        Ok(()) => {}
        Err(SendError::WriteBufferFull(message)) if conn.output_len() > 0 => {
            *stalled = Some(message);
        }
        Err(SendError::WriteBufferFull(_)) => {
            let close = CloseFrame::new(CloseCode::TOO_BIG, "the echo exceeds the write budget");
            let _ = conn.close(Some(close));
        }
        Err(_) => {}
    }
}

/// Write what the connection queued, by vectored writes, until done or `WouldBlock`.
fn flush<S: Write>(stream: &mut S, conn: &mut Connection) -> io::Result<()> {
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
fn read_chunk<S: Socket>(
    stream: &mut S,
    conn: &mut Connection,
    read_chunk: usize,
) -> io::Result<(usize, usize)> {
    let have = conn.read_buf().len();
    let want = conn.bytes_wanted().clamp(read_chunk, have.clamp(read_chunk, 4 << 20));
    let n = stream.read_append(conn.read_buf(), want)?;
    Ok((n, want))
}

/// How reading the handshake went.
enum HeadStep {
    NeedMore,
    Gone,
    Request(Request),
    Invalid(HandshakeError),
}

fn read_head<S: Socket>(
    stream: &mut S,
    parser: &mut RequestParser,
    buf: &mut BytesMut,
) -> HeadStep {
    loop {
        match parser.parse(buf) {
            Ok(Some(request)) => return HeadStep::Request(request),
            Ok(None) => {}
            Err(e) => return HeadStep::Invalid(e),
        }
        match stream.read_append(buf, HEAD_READ) {
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
fn answer(request: &Request, leftover: BytesMut, settings: Settings, deadline: Instant) -> Phase {
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
            deadline,
        },
        Err(error) => Phase::Answering {
            answer: error.response().map(|r| r.to_bytes()).unwrap_or_default(),
            written: 0,
            then: None,
            deadline,
        },
    }
}

/// Write the rest of `bytes`; `Ok(false)`: the socket is full.
fn write_some<S: Write>(stream: &mut S, bytes: &[u8], written: &mut usize) -> io::Result<bool> {
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
fn linger<S: Socket>(stream: &mut S, settings: Settings, now: Instant) -> Phase {
    let _ = stream.shutdown_write();
    Phase::Lingering { deadline: now + settings.protocol.close_timeout }
}

/// Read and discard; `Ok(true)`: keep waiting, `Ok(false)`: the client's FIN arrived.
fn discard<S: Read>(stream: &mut S) -> io::Result<bool> {
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
