//! The event-loop echo server: one `mio` poll per core, each driving the sans-IO
//! [`Connection`](rfc6455::Connection) of the clients it accepted. This file owns the poll,
//! the listening socket and the clock; each client's state machine, the timers and the
//! buffer pool are in `clients.rs` (generic over the socket, so that a fuzz target drives
//! the same code without one).
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

#[path = "clients.rs"]
mod clients;

use std::io;
use std::net::{Shutdown, TcpListener as StdListener};
use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use clients::{Clients, Socket, Tuning};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rfc6455::Settings;
use rfc6455::socket::read_fd_append;

/// The listening socket's token in every worker's poll.
const LISTENER: Token = Token(usize::MAX);

const TUNING: Tuning = Tuning {
    // Reads go into spare capacity without zeroing it (`read_fd_append`), so a large read
    // costs no more than a small one: 16 messages of 1 KiB arrive in one.
    read_chunk: 64 * 1024,
    pool_max_capacity: 256 * 1024,
    pool_size: 256,
    high_water: 4 << 20,
};

impl Socket for TcpStream {
    fn read_append(&mut self, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
        read_fd_append(self.as_fd(), buf, max)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

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

struct Worker {
    poll: Poll,
    listener: TcpListener,
    clients: Clients<TcpStream>,
}

impl Worker {
    fn new(mut listener: TcpListener, settings: Settings) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Worker { poll, listener, clients: Clients::new(settings, TUNING) })
    }

    fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self
                .clients
                .next_timer()
                .map(|at| at.saturating_duration_since(Instant::now()) + Duration::from_millis(1));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // The time, once per wakeup: every event of this batch is handled as of now.
            let now = Instant::now();
            let registry = self.poll.registry();
            // A client that is done leaves the poll before its socket closes.
            let mut gone = |mut stream: TcpStream| {
                let _ = registry.deregister(&mut stream);
            };
            for event in events.iter() {
                if event.token() == LISTENER {
                    accept_all(&self.listener, &mut self.clients, registry, now);
                } else {
                    self.clients.handle(event.token().0, now, &mut gone);
                }
            }
            self.clients.fire_timers(Instant::now(), &mut gone);
        }
    }
}

fn accept_all(
    listener: &TcpListener,
    clients: &mut Clients<TcpStream>,
    registry: &mio::Registry,
    now: Instant,
) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let index = clients.insert(stream, now);
                let interest = Interest::READABLE | Interest::WRITABLE;
                let registered = clients
                    .stream_mut(index)
                    .map(|stream| registry.register(stream, Token(index), interest));
                if !matches!(registered, Some(Ok(()))) {
                    clients.remove(index);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Another worker won the race, or the client is already gone.
            Err(_) => return,
        }
    }
}
