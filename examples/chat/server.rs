//! The chat's event loop: one thread, one `mio` poll, every client a sans-IO [`Connection`].
//!
//! A client goes through four phases: its HTTP request is read (the page, or an upgrade at
//! `/ws`), our answer is written, messages flow, and after the close handshake our side is
//! shut and we wait briefly for its FIN (§7.1.1). Chat lines are broadcast by queueing one
//! shared message (a `Bytes`, not copied per client) on every member's connection; the
//! members whose queues got bytes are written to once per turn of the loop, however many
//! lines the turn brought.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use rfc6455::handshake::{Accept, HttpRequest, HttpResponse, RequestParser};
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Keepalive, Message, Role, SendError};

use crate::backplane::{self, Backplane, Delivery};

/// The most bytes queued for one client and not yet written: a broadcast that does not fit
/// closes the client with 1008. 256 KiB is a thousand lines of 256 bytes: a browser tab
/// that is merely busy for a second never gets near it.
pub const QUEUE_LIMIT: usize = 256 * 1024;
/// The longest chat line a client may send (larger: the core closes it with 1009).
const MAX_LINE: usize = 4096;
/// The longest name, in characters.
const MAX_NAME: usize = 32;
/// Ping after 20 s of silence, drop after 10 s more (under nginx's 60 s idle timeout).
const KEEPALIVE: Keepalive =
    Keepalive { interval: Duration::from_secs(20), timeout: Duration::from_secs(10) };
/// The room's names go out at most this often: a burst of joins (a server restart brings
/// every page back at once) sends one list, not one per join to everyone (N joins would
/// cost N² names on the wire, and as many lists held in memory until written).
const ONLINE_EVERY: Duration = Duration::from_millis(250);
/// How long a client may take to send its HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The page, one file.
const PAGE: &str = include_str!("page.html");

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// What the chat needs besides its socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// This instance's name, in every line its clients send.
    pub instance: String,
    /// Origins allowed besides this server's own (`https://chat.example`).
    pub allowed_origins: Vec<String>,
}

/// A member of the room: a named client past its upgrade.
struct Member {
    conn: Box<Connection>,
    name: String,
    /// Still counted in the room (false from the moment its close handshake starts).
    present: bool,
    /// When its connection ended (closed, failed, given up) with bytes still queued: the
    /// client gets the close timeout from then to read them, then it is dropped.
    ended_at: Option<Instant>,
}

impl Member {
    /// When this member next needs attention even if its socket stays quiet.
    fn deadline(&self) -> Option<Instant> {
        match self.ended_at {
            Some(at) => Some(at + self.conn.config().close_timeout),
            None => self.conn.next_deadline(),
        }
    }
}

enum Phase {
    /// Reading the HTTP request.
    Request { parser: RequestParser, buf: BytesMut, deadline: Instant },
    /// Writing our answer; then messages flow (`Some`) or we close (`None`).
    Answer { bytes: Vec<u8>, written: usize, member: Option<Member> },
    /// Messages flow.
    Open(Member),
    /// Our side is shut: wait for the client's FIN, or the deadline.
    Linger { deadline: Instant },
}

struct Client {
    stream: TcpStream,
    phase: Phase,
    /// The deadline this client has in the timer heap.
    timer_at: Option<Instant>,
}

impl Client {
    fn member(&mut self) -> Option<&mut Member> {
        match &mut self.phase {
            Phase::Open(member) | Phase::Answer { member: Some(member), .. } => Some(member),
            _ => None,
        }
    }
}

/// What a step did to a client.
enum After {
    Keep,
    Drop,
}

/// The chat server: the room, its clients, and the backplane if there is one.
pub struct Chat {
    poll: Poll,
    listener: TcpListener,
    options: Options,
    config: Config,
    clients: Vec<Option<Client>>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    backplane: Option<Backplane>,
    /// Other instances' names, and when each was last heard.
    remote: HashMap<String, (Vec<String>, Instant)>,
    next_presence: Instant,
    /// Someone joined or left: send the room's names again, at `next_online`.
    room_changed: bool,
    next_online: Instant,
    /// Our own names changed: tell the other instances now, not at `next_presence`.
    presence_due: bool,
    /// Lines this turn's clients sent: `(name, text)`.
    lines: Vec<(String, String)>,
    /// Clients with bytes queued by a broadcast, to write once at the end of the turn.
    dirty: Vec<usize>,
    scratch: Box<[u8]>,
}

impl Chat {
    /// The chat on `listener`, joined to Redis at `redis` if given (connected before this
    /// returns, so that a wrong URL fails at start).
    pub fn new(listener: StdListener, options: Options, redis: Option<&str>) -> io::Result<Chat> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let backplane = match redis {
            Some(url) => Some(
                Backplane::start(url, waker)
                    .map_err(|e| io::Error::other(format!("redis at {url}: {e}")))?,
            ),
            None => None,
        };
        let config = Config {
            max_frame_size: MAX_LINE,
            max_message_size: MAX_LINE,
            max_write_buffer: QUEUE_LIMIT,
            keepalive: Some(KEEPALIVE),
            ..Config::default()
        };
        Ok(Chat {
            poll,
            listener,
            options,
            config,
            clients: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            backplane,
            remote: HashMap::new(),
            next_presence: Instant::now(),
            room_changed: false,
            next_online: Instant::now(),
            presence_due: false,
            lines: Vec::new(),
            dirty: Vec::new(),
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        })
    }

    /// The address the chat listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until the poll fails.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let mut next = self.timers.peek().map(|Reverse((at, _))| *at);
            if self.backplane.is_some() {
                next = Some(next.map_or(self.next_presence, |at| at.min(self.next_presence)));
            }
            if self.room_changed {
                next = Some(next.map_or(self.next_online, |at| at.min(self.next_online)));
            }
            let timeout = next
                .map(|at| at.saturating_duration_since(Instant::now()) + Duration::from_millis(1));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    // The backplane delivered: read below.
                    WAKER => {}
                    Token(index) => self.handle(index),
                }
            }
            self.fire_timers();
            self.take_deliveries();
            self.announce_presence();
            self.send_lines();
            if self.room_changed && Instant::now() >= self.next_online {
                self.room_changed = false;
                self.next_online = Instant::now() + ONLINE_EVERY;
                self.send_online();
            }
            self.write_dirty();
        }
    }

    fn accept_all(&mut self) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: all taken; anything else: the client is already gone.
                Err(_) => return,
            };
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
            let deadline = Instant::now() + REQUEST_TIMEOUT;
            let parser = RequestParser::new(Default::default());
            self.clients[index] = Some(Client {
                stream,
                phase: Phase::Request { parser, buf: BytesMut::new(), deadline },
                timer_at: None,
            });
            self.settle(index, After::Keep);
        }
    }

    /// A readiness event: move everything that can move.
    fn handle(&mut self, index: usize) {
        let after = match self.clients.get_mut(index).and_then(Option::take) {
            Some(mut client) => {
                let after = self.step(&mut client);
                self.clients[index] = Some(client);
                after
            }
            None => return,
        };
        self.settle(index, after);
    }

    /// Drop the client at `index`, or give its next deadline to the timer heap.
    fn settle(&mut self, index: usize, after: After) {
        let Some(client) = self.clients.get_mut(index).and_then(Option::as_mut) else { return };
        match after {
            After::Drop => {
                if client.member().is_some_and(|m| m.present) {
                    self.room_changed = true;
                    self.presence_due = true;
                }
                let _ = self.poll.registry().deregister(&mut client.stream);
                self.clients[index] = None;
                self.free.push(index);
            }
            After::Keep => {
                let deadline = match &client.phase {
                    Phase::Request { deadline, .. } | Phase::Linger { deadline } => Some(*deadline),
                    Phase::Open(member) => member.deadline(),
                    Phase::Answer { .. } => None,
                };
                // One heap entry per client and deadline: push only an earlier one (a later
                // one is pushed when the earlier entry fires and finds nothing to do).
                if let Some(deadline) = deadline
                    && client.timer_at.is_none_or(|at| deadline < at)
                {
                    client.timer_at = Some(deadline);
                    self.timers.push(Reverse((deadline, index)));
                }
            }
        }
    }

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
            // Stale entries (the deadline moved, or the slot was reused) are harmless: each
            // phase checks the time itself.
            let after = match &mut client.phase {
                Phase::Request { deadline, .. } | Phase::Linger { deadline }
                    if *deadline <= now =>
                {
                    After::Drop
                }
                Phase::Open(member) => {
                    // The core queues its keepalive Ping, or fails a silent peer (1011), or
                    // gives up waiting for the Close echo.
                    member.conn.set_time(now);
                    self.step(&mut client)
                }
                _ => After::Keep,
            };
            self.clients[index] = Some(client);
            self.settle(index, after);
        }
    }

    /// One round for a client in any phase.
    fn step(&mut self, client: &mut Client) -> After {
        loop {
            let next = match &mut client.phase {
                Phase::Request { parser, buf, deadline } => {
                    if Instant::now() >= *deadline {
                        return After::Drop;
                    }
                    match read_request(&mut client.stream, parser, buf) {
                        Ok(Some(head)) => {
                            let leftover = std::mem::take(buf);
                            self.answer(head, leftover)
                        }
                        Ok(None) => return After::Keep,
                        Err(Some(refusal)) => refuse(refusal),
                        Err(None) => return After::Drop,
                    }
                }
                Phase::Answer { bytes, written, member } => {
                    match write_rest(&mut client.stream, bytes, written) {
                        Ok(true) => {}
                        Ok(false) => return After::Keep,
                        Err(_) => return After::Drop,
                    }
                    match member.take() {
                        Some(member) => Phase::Open(member),
                        None => linger(&client.stream),
                    }
                }
                Phase::Open(_) => return self.step_open(client),
                Phase::Linger { .. } => {
                    return match discard(&mut client.stream) {
                        Ok(true) => After::Keep,
                        _ => After::Drop,
                    };
                }
            };
            client.phase = next;
        }
    }

    /// Messages flow: read what arrived, take the lines, write what is queued.
    fn step_open(&mut self, client: &mut Client) -> After {
        let Phase::Open(member) = &mut client.phase else { return After::Keep };
        let mut eof = false;
        // Frames that came with the request, or stayed while reading was paused.
        take_lines(member, &mut self.lines);
        // A client whose own queue is full is not read from until it drains (it would only
        // queue more for itself): its bytes wait in the kernel, and TCP slows it down.
        while member.conn.output_len() < QUEUE_LIMIT && !member.conn.is_terminated() {
            match client.stream.read(&mut self.scratch) {
                Ok(0) => {
                    member.conn.receive_eof();
                    eof = true;
                }
                Ok(n) => {
                    member.conn.receive(self.scratch.get(..n).unwrap_or_default());
                    member.conn.set_time(Instant::now());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return After::Drop,
            }
            take_lines(member, &mut self.lines);
            if eof {
                break;
            }
        }
        if member.present && member.conn.state() != rfc6455::State::Open {
            member.present = false;
            self.room_changed = true;
            self.presence_due = true;
        }
        self.write_open(client, eof)
    }

    /// Write what the client's connection queued; close the transport when the core says so.
    fn write_open(&mut self, client: &mut Client, eof: bool) -> After {
        let Phase::Open(member) = &mut client.phase else { return After::Keep };
        if flush(&mut client.stream, &mut member.conn).is_err() {
            return After::Drop;
        }
        // An idle member keeps no buffer: the staging buffer a room's list of names grew (the
        // core copies payloads under 8 KiB into it) goes back to the allocator once written.
        drop(member.conn.take_idle_output_buffer());
        if member.conn.should_close_transport() {
            // §7.1.1: the server "SHOULD initiate a TCP Close immediately" once the close
            // handshake is over (or after failing the connection, §7.1.7).
            if eof || member.conn.state() == rfc6455::State::Aborted {
                return After::Drop;
            }
            if member.present {
                self.room_changed = true;
                self.presence_due = true;
            }
            client.phase = linger(&client.stream);
            return self.step(client);
        }
        if eof && member.conn.output_len() == 0 {
            return After::Drop;
        }
        if member.conn.is_terminated() {
            // Ended, but the client does not read what is left (our Close, say): it gets the
            // close timeout to, then it is dropped (§7.1.1: the server closes the TCP
            // connection; one that stopped reading must not hold it for ever). Given up
            // (Aborted: our Close was never answered) is already past that wait.
            let now = Instant::now();
            let ended_at = *member.ended_at.get_or_insert(now);
            if member.conn.state() == rfc6455::State::Aborted
                || now >= ended_at + member.conn.config().close_timeout
            {
                return After::Drop;
            }
        }
        After::Keep
    }

    /// The answer to a complete HTTP request.
    fn answer(&mut self, head: HttpRequest, leftover: BytesMut) -> Phase {
        match head.path() {
            "/" if head.is_websocket_upgrade() => refuse(not_found()),
            "/" if head.method() == "GET" || head.method() == "HEAD" => {
                let page = HttpResponse::new(200, "OK")
                    .header("Content-Type", "text/html; charset=utf-8")
                    .header("Cache-Control", "no-store");
                let page = if head.method() == "GET" { page.body(PAGE) } else { page };
                refuse(page)
            }
            "/" => refuse(HttpResponse::new(405, "Method Not Allowed").header("Allow", "GET")),
            "/ws" => match self.upgrade(head, leftover) {
                Ok(phase) => phase,
                Err(refusal) => refuse(refusal),
            },
            _ => refuse(not_found()),
        }
    }

    /// Judge an upgrade at `/ws`: a valid handshake (§4.2.1), an allowed Origin, a name.
    fn upgrade(&mut self, head: HttpRequest, leftover: BytesMut) -> Result<Phase, HttpResponse> {
        let request = head.into_handshake().map_err(|e| e.response().unwrap_or_else(bad))?;
        // §10.2: "Servers that are not intended to process input from any web page but only
        // for certain sites SHOULD verify the |Origin| field is an origin they expect. If
        // the origin indicated is unacceptable to the server, then it SHOULD respond to the
        // WebSocket handshake with a reply containing HTTP 403 Forbidden status code."
        if !origin_allowed(request.origin(), request.host(), &self.options.allowed_origins) {
            return Err(HttpResponse::new(403, "Forbidden").body("origin not allowed\n"));
        }
        let name = request.query().and_then(name_from_query).ok_or_else(|| {
            bad()
                .body(format!("?name= must be 1 to {MAX_NAME} characters, no control characters\n"))
        })?;
        let response = request.accept(&Accept::default()).map_err(|_| bad())?;
        let mut conn = Box::new(Connection::new(Role::Server, self.config));
        if !leftover.is_empty() {
            *conn.read_buf() = leftover;
        }
        conn.set_time(Instant::now());
        let mut welcome = String::from(r#"{"type":"welcome","you":"#);
        json_string(&mut welcome, &name);
        welcome.push_str(r#","instance":"#);
        json_string(&mut welcome, &self.options.instance);
        welcome.push('}');
        let _ = conn.send(Message::text(welcome));
        self.room_changed = true;
        self.presence_due = true;
        let member = Member { conn, name, present: true, ended_at: None };
        Ok(Phase::Answer { bytes: response.to_bytes(), written: 0, member: Some(member) })
    }

    /// What Redis delivered: lines to broadcast, other instances' names.
    fn take_deliveries(&mut self) {
        let Some(backplane) = &self.backplane else { return };
        let mut lines = Vec::new();
        while let Some(delivery) = backplane.try_next() {
            match delivery {
                Delivery::Message(json) => lines.push(json),
                Delivery::Presence(instance, _) if instance == self.options.instance => {}
                Delivery::Presence(instance, names) => {
                    let now = Instant::now();
                    match self.remote.insert(instance, (names.clone(), now)) {
                        Some((before, _)) if before == names => {}
                        _ => self.room_changed = true,
                    }
                }
            }
        }
        for json in lines {
            self.broadcast(json);
        }
    }

    /// Every [`backplane::PRESENCE_EVERY`], and on every change: our names to the others;
    /// forget instances not heard for [`backplane::PRESENCE_EXPIRES`].
    fn announce_presence(&mut self) {
        if self.backplane.is_none() {
            return;
        }
        let now = Instant::now();
        if now < self.next_presence && !self.presence_due {
            return;
        }
        self.presence_due = false;
        self.next_presence = now + backplane::PRESENCE_EVERY;
        let before = self.remote.len();
        self.remote
            .retain(|_, (_, heard)| now.duration_since(*heard) < backplane::PRESENCE_EXPIRES);
        if self.remote.len() != before {
            self.room_changed = true;
        }
        let mut payload = self.options.instance.clone();
        for name in self.local_names() {
            payload.push('\t');
            payload.push_str(&name);
        }
        if let Some(backplane) = &self.backplane {
            backplane.publish(backplane::PRESENCE, payload);
        }
    }

    /// The lines this turn's clients sent: to Redis, or straight to the room.
    fn send_lines(&mut self) {
        for (name, text) in std::mem::take(&mut self.lines) {
            let mut json = String::from(r#"{"type":"message","from":"#);
            json_string(&mut json, &name);
            json.push_str(r#","text":"#);
            json_string(&mut json, &text);
            json.push_str(r#","instance":"#);
            json_string(&mut json, &self.options.instance);
            json.push('}');
            match &self.backplane {
                Some(backplane) => backplane.publish(backplane::MESSAGES, json),
                None => self.broadcast(json),
            }
        }
    }

    /// The room's names, to everyone.
    fn send_online(&mut self) {
        let mut names = self.local_names();
        names.extend(self.remote.values().flat_map(|(names, _)| names.iter().cloned()));
        names.sort();
        let mut json = String::from(r#"{"type":"online","names":["#);
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json_string(&mut json, name);
        }
        json.push_str("]}");
        self.broadcast(json);
    }

    fn local_names(&mut self) -> Vec<String> {
        let members = self.clients.iter_mut().flatten().filter_map(Client::member);
        members.filter(|m| m.present).map(|m| m.name.clone()).collect()
    }

    /// Queue `json` for every member: one shared buffer, not a copy per client. A member
    /// whose queue cannot take it is too slow: it gets a Close (1008) instead, and leaves.
    fn broadcast(&mut self, json: String) {
        let message = Message::text(json);
        for (index, client) in self.clients.iter_mut().enumerate() {
            let Some(member) = client.as_mut().and_then(Client::member) else { continue };
            if !member.present {
                continue;
            }
            match member.conn.send(message.clone()) {
                Ok(()) => {}
                Err(SendError::WriteBufferFull(_)) => {
                    eprintln!(
                        "chat: {} is too slow ({QUEUE_LIMIT} bytes queued): closing it with 1008",
                        member.name
                    );
                    let _ = member.conn.close(Some(CloseFrame::new(CloseCode::POLICY, "too slow")));
                    member.present = false;
                    self.room_changed = true;
                    self.presence_due = true;
                }
                Err(_) => continue,
            }
            self.dirty.push(index);
        }
    }

    /// Write to every client a broadcast queued bytes for, once per turn.
    fn write_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for index in dirty.drain(..) {
            let Some(mut client) = self.clients.get_mut(index).and_then(Option::take) else {
                continue;
            };
            let after = match client.phase {
                Phase::Open(_) => self.write_open(&mut client, false),
                // Still writing its 101: the queued lines follow it.
                _ => After::Keep,
            };
            self.clients[index] = Some(client);
            self.settle(index, after);
        }
        self.dirty = dirty;
    }
}

/// Hand every complete message to the room: text is a line; binary is refused (1003).
fn take_lines(member: &mut Member, lines: &mut Vec<(String, String)>) {
    loop {
        match member.conn.next_event() {
            Ok(Some(Message::Text(text))) => {
                lines.push((member.name.clone(), text.as_str().to_owned()));
            }
            Ok(Some(Message::Binary(_) | Message::BinaryPart { .. })) => {
                let refusal = CloseFrame::new(CloseCode::UNSUPPORTED_DATA, "text only");
                let _ = member.conn.close(Some(refusal));
            }
            // Pings, Pongs and Closes: the core has answered them.
            Ok(Some(_)) => {}
            // Nothing more, or failed (the core queued the Close with the error's code).
            Ok(None) | Err(_) => return,
        }
    }
}

fn bad() -> HttpResponse {
    HttpResponse::new(400, "Bad Request")
}

fn not_found() -> HttpResponse {
    HttpResponse::new(404, "Not Found").body("not found: the page is at /, the WebSocket at /ws\n")
}

/// Write `response`, then close.
fn refuse(response: HttpResponse) -> Phase {
    Phase::Answer {
        bytes: response.header("Connection", "close").to_bytes(),
        written: 0,
        member: None,
    }
}

/// `Ok(Some)`: a complete request. `Ok(None)`: more to come. `Err(Some)`: answer this and
/// close. `Err(None)`: the client is gone.
fn read_request(
    stream: &mut TcpStream,
    parser: &mut RequestParser,
    buf: &mut BytesMut,
) -> Result<Option<HttpRequest>, Option<HttpResponse>> {
    let mut chunk = [0u8; 4096];
    loop {
        match parser.parse_http(buf) {
            Ok(Some(head)) => return Ok(Some(head)),
            Ok(None) => {}
            Err(e) => return Err(Some(e.response().unwrap_or_else(bad))),
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(None),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(None),
        }
    }
}

/// Write what the connection queued, by vectored writes, until done or `WouldBlock`.
fn flush(stream: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    loop {
        let mut slots = [IoSlice::new(&[]); 64];
        let n = conn.output_slices(&mut slots);
        if n == 0 {
            return Ok(());
        }
        match stream.write_vectored(slots.get(..n).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => conn.advance_output(written),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Write the rest of `bytes`; `Ok(false)`: the socket is full.
fn write_rest(stream: &mut TcpStream, bytes: &[u8], written: &mut usize) -> io::Result<bool> {
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

/// Shut our sending side; wait up to 5 s for the client's FIN (so that our last bytes are
/// not destroyed by a reset, §7.1.1).
fn linger(stream: &TcpStream) -> Phase {
    let _ = stream.shutdown(Shutdown::Write);
    Phase::Linger { deadline: Instant::now() + Duration::from_secs(5) }
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

/// Whether a browser page at `origin` may talk to us: it names the `host` it asked for
/// (scheme-default ports aside), or it is one of `allowed`. No `Origin` at all is a
/// non-browser client (§4.1: browsers always send one): allowed, since the check protects
/// users' browsers, and any other client could send whatever Origin it likes anyway.
fn origin_allowed(origin: Option<&str>, host: &str, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    // "null" (a sandboxed page, a file) and anything without a scheme are refused.
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let strip = |a: &str| -> String {
        let a = a.to_ascii_lowercase();
        a.strip_suffix(default_port).map_or(a.clone(), str::to_owned)
    };
    strip(authority) == strip(host)
}

/// The `name` parameter of a query string, percent-decoded: 1 to [`MAX_NAME`] characters,
/// no control characters (it goes into other people's pages and the presence lines).
fn name_from_query(query: &str) -> Option<String> {
    let raw = query.split('&').find_map(|pair| pair.strip_prefix("name="))?;
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(rest.get(..2)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = rest.get(2..)?;
            }
            _ => bytes.push(b),
        }
    }
    let name = String::from_utf8(bytes).ok()?;
    let name = name.trim();
    let count = name.chars().count();
    let valid = (1..=MAX_NAME).contains(&count) && !name.chars().any(char::is_control);
    valid.then(|| name.to_owned())
}

/// Append `s` as a JSON string (RFC 8259 §7: quote, backslash and control characters
/// escaped).
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let none: &[String] = &[];
        assert!(origin_allowed(None, "h:1", none), "no Origin: not a browser");
        assert!(origin_allowed(Some("http://h:1"), "h:1", none));
        assert!(origin_allowed(Some("HTTP://H:1"), "h:1", none));
        assert!(origin_allowed(Some("http://h"), "h:80", none));
        assert!(origin_allowed(Some("https://h:443"), "h", none));
        assert!(!origin_allowed(Some("http://h:2"), "h:1", none), "another port");
        assert!(!origin_allowed(Some("http://evil.example"), "h:1", none));
        assert!(!origin_allowed(Some("http://h:1.evil.example"), "h:1", none));
        assert!(!origin_allowed(Some("null"), "h:1", none));
        assert!(!origin_allowed(Some("https://h:80"), "h", none), "https's port is 443");
        let allowed = ["https://app.example".to_string()];
        assert!(origin_allowed(Some("https://app.example"), "h:1", &allowed));
    }

    #[test]
    fn names() {
        assert_eq!(name_from_query("name=ann").as_deref(), Some("ann"));
        assert_eq!(name_from_query("x=1&name=J%C3%BCrgen+K").as_deref(), Some("Jürgen K"));
        assert_eq!(name_from_query("name=%20bo%20").as_deref(), Some("bo"));
        assert_eq!(name_from_query("name=").as_deref(), None);
        assert_eq!(name_from_query("name=a%0Ab").as_deref(), None, "control character");
        assert_eq!(name_from_query("name=a%09b").as_deref(), None, "tab (the presence separator)");
        assert_eq!(name_from_query("name=%FF").as_deref(), None, "not UTF-8");
        assert_eq!(name_from_query("name=%4").as_deref(), None, "cut escape");
        assert_eq!(name_from_query(&format!("name={}", "x".repeat(33))), None);
        assert_eq!(name_from_query(&format!("name={}", "é".repeat(32))).map(|n| n.len()), Some(64));
        assert_eq!(name_from_query("nam=ann"), None);
    }

    #[test]
    fn json_strings() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}é☃");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é☃""#);
    }
}
