//! One event-loop thread: a mio `Poll` over its share of the connections.
//!
//! Edge-triggered: a readable connection is read until `WouldBlock` or a short read (each
//! read is checked at once, with its own timestamp), then written to while it has room in its pipeline; a
//! writable one resumes its partial write. At the end of the window every connection stops
//! starting messages and sends its Close once its last frame is out; the loop ends when
//! every connection is closed (or failed), or at the close deadline.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::conn::{Conn, Stats, Window};
use crate::messages::Messages;

/// Bytes read per `read` call.
const READ_BUF: usize = 256 * 1024;
/// The longest the loop sleeps without looking at the clock.
const TICK: Duration = Duration::from_millis(50);

pub fn run(
    mut conns: Vec<Conn>,
    m: &Messages,
    start_sending: Instant,
    window: Window,
    deadline: Instant,
) -> Stats {
    let mut stats = Stats::new();
    let mut alive = vec![true; conns.len()];
    let mut poll = match Poll::new() {
        Ok(poll) => poll,
        Err(e) => {
            stats.failed = conns.len() as u64;
            stats.first_error = Some(format!("poll: {e}"));
            return stats;
        }
    };
    for (i, c) in conns.iter_mut().enumerate() {
        if let Err(e) = poll.registry().register(
            &mut c.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            fail(&mut stats, &mut alive[i], format!("register: {e}"));
        }
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUF];

    std::thread::sleep(start_sending.saturating_duration_since(Instant::now()));
    for (i, c) in conns.iter_mut().enumerate() {
        if alive[i]
            && let Err(e) = c.try_write(m, Instant::now())
        {
            fail(&mut stats, &mut alive[i], format!("write: {e}"));
        }
    }

    let mut closing = false;
    loop {
        let now = Instant::now();
        if !closing && now >= window.end {
            closing = true;
            for (i, c) in conns.iter_mut().enumerate() {
                c.closing = true;
                if alive[i]
                    && let Err(e) = c.try_write(m, now)
                {
                    fail(&mut stats, &mut alive[i], format!("write: {e}"));
                }
            }
        }
        let open = conns.iter().zip(&alive).filter(|(c, alive)| **alive && !c.done).count();
        if open == 0 {
            break;
        }
        if now >= deadline {
            stats.unclosed = open as u64;
            break;
        }
        let wake = if closing { deadline } else { window.end };
        let timeout = wake.saturating_duration_since(now).min(TICK);
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            stats.first_error.get_or_insert(format!("poll: {e}"));
            stats.failed += open as u64;
            break;
        }
        for event in events.iter() {
            let i = event.token().0;
            let (Some(c), Some(is_alive)) = (conns.get_mut(i), alive.get_mut(i)) else {
                continue;
            };
            if !*is_alive || c.done {
                continue;
            }
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            if let Err(e) = service(c, m, &mut buf, readable, &window, &mut stats) {
                let _ = poll.registry().deregister(&mut c.stream);
                fail(&mut stats, is_alive, e);
            }
        }
    }
    stats
}

fn fail(stats: &mut Stats, alive: &mut bool, reason: String) {
    *alive = false;
    stats.failed += 1;
    stats.first_error.get_or_insert(reason);
}

/// Read (if readable) until `WouldBlock`, checking every byte, then write what fits.
fn service(
    c: &mut Conn,
    m: &Messages,
    buf: &mut [u8],
    readable: bool,
    window: &Window,
    stats: &mut Stats,
) -> Result<(), String> {
    if !readable {
        return c.try_write(m, Instant::now()).map_err(|e| format!("write: {e}"));
    }
    loop {
        match c.stream.read(buf) {
            Ok(0) => {
                c.on_eof()?;
                return Ok(());
            }
            Ok(n) => {
                c.on_bytes(m, &buf[..n], Instant::now(), window, stats)?;
                // A short read emptied the socket's queue: any byte arriving later raises a
                // new edge, so the read that would only say `WouldBlock` is skipped (tokio
                // clears its readiness the same way). Not while closing: a FIN that came
                // with the last bytes raises no new edge, only a read sees it.
                if n < buf.len() && !c.closing {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    c.try_write(m, Instant::now()).map_err(|e| format!("write: {e}"))
}
