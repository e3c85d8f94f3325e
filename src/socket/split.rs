//! Split halves: a [`ReadHalf`] and a [`WriteHalf`] that two threads use at once.
//!
//! Each half has its own handle on the stream ([`TryClone`]: a `TcpStream` or `UnixStream`
//! clone), so the reader blocks in `read` with no lock held. They share the [`Connection`]
//! (locked only for the moment it takes to decode or queue) and a writer slot (locked while
//! bytes are written). Every frame, the writer's own and the ones the reader owes (a Pong,
//! the echo of a Close, a keepalive Ping), is encoded whole into the connection's one output
//! queue, and whoever holds the writer slot writes that queue in order: an owed frame goes
//! out between two of the writer's frames, never inside one.
//!
//! A TLS stream cannot be cloned this way: its reader and writer share one session state,
//! which would have to sit behind a lock of its own (and a TLS read may need to write).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::closing::{Ending, closed_error, drain, finish_after_drain, start_draining};
use super::transport::ReadTimer;
use super::{Filled, MAX_IOSLICES, Sent, Transport, WebSocket, read_size, read_until};
use crate::error::Error;
use crate::frame::OpCode;
use crate::protocol::{CloseCode, CloseFrame, Connection, Message, State};

/// A stream that can hand out a second handle on itself (both read and write the same
/// connection), like [`TcpStream::try_clone`].
pub trait TryClone: Sized {
    /// Another handle on the same stream.
    fn try_clone(&self) -> io::Result<Self>;
}

impl TryClone for TcpStream {
    fn try_clone(&self) -> io::Result<Self> {
        TcpStream::try_clone(self)
    }
}

#[cfg(unix)]
impl TryClone for std::os::unix::net::UnixStream {
    fn try_clone(&self) -> io::Result<Self> {
        std::os::unix::net::UnixStream::try_clone(self)
    }
}

/// What both halves share.
#[derive(Debug)]
struct Shared<S> {
    conn: Mutex<Connection>,
    writer: Mutex<Writer<S>>,
    /// Set by whoever queued bytes and could not take the writer slot: its holder flushes
    /// once more before it lets go.
    flush_wanted: AtomicBool,
}

/// The writing handle and the bytes taken from the queue but not yet written.
#[derive(Debug)]
struct Writer<S> {
    stream: S,
    taken: VecDeque<Bytes>,
}

/// Lock, and carry on if another thread panicked while holding the lock: the connection's
/// state is only changed by whole method calls, so it is never left half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: Write> Shared<S> {
    /// Write everything queued. `wait`: block for the writer slot (the writing half);
    /// otherwise leave the flush to the thread that holds it (the reading half).
    fn flush(&self, wait: bool) -> Result<(), Error> {
        self.flush_wanted.store(true, Ordering::SeqCst);
        loop {
            let mut writer = if wait {
                lock(&self.writer)
            } else {
                match self.writer.try_lock() {
                    Ok(writer) => writer,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    // The holder sees `flush_wanted` before it lets go.
                    Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
                }
            };
            while self.flush_wanted.swap(false, Ordering::SeqCst) {
                if let Err(e) = self.write_queued(&mut writer) {
                    self.flush_wanted.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
            drop(writer);
            // Someone queued bytes after our last look and found the slot taken.
            if !self.flush_wanted.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
    }

    /// Move the queued bytes out of the connection and write them, in order.
    fn write_queued(&self, writer: &mut Writer<S>) -> Result<(), Error> {
        loop {
            if writer.taken.is_empty() {
                let mut conn = lock(&self.conn);
                while let Some(chunk) = conn.pop_output() {
                    writer.taken.push_back(chunk);
                }
            }
            if writer.taken.is_empty() {
                writer.stream.flush()?;
                return Ok(());
            }
            let written = {
                let mut slots = [IoSlice::new(&[]); MAX_IOSLICES];
                let n = writer.taken.len().min(MAX_IOSLICES);
                for (slot, chunk) in slots.iter_mut().zip(&writer.taken) {
                    *slot = IoSlice::new(chunk);
                }
                match writer.stream.write_vectored(&slots[..n]) {
                    Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                    Ok(written) => written,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                    Err(e) => return Err(e.into()),
                }
            };
            let mut left = written;
            while left > 0 {
                let Some(front) = writer.taken.front_mut() else {
                    break;
                };
                if front.len() <= left {
                    left -= front.len();
                    writer.taken.pop_front();
                } else {
                    let _ = front.split_to(left);
                    left = 0;
                }
            }
        }
    }
}

/// The reading half: [`ReadHalf::read`] from one thread while a [`WriteHalf`] writes from
/// another.
#[derive(Debug)]
pub struct ReadHalf<S> {
    stream: S,
    shared: Arc<Shared<S>>,
    eof: bool,
    failure_reported: bool,
    timer: ReadTimer,
    ending: Ending,
}

/// The writing half: queue and send messages while a [`ReadHalf`] reads.
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

impl<S: Read + Write + Transport + TryClone> WebSocket<S> {
    /// Split into a reading and a writing half for two threads. See the module
    /// documentation of `socket::split` for how the reader's owed replies are written.
    pub fn split(self) -> io::Result<(ReadHalf<S>, WriteHalf<S>)> {
        let WebSocket { stream, conn, eof, failure_reported, mut timer, .. } = self;
        timer.restore(&stream);
        let write_stream = stream.try_clone()?;
        let shared = Arc::new(Shared {
            conn: Mutex::new(conn),
            writer: Mutex::new(Writer { stream: write_stream, taken: VecDeque::new() }),
            flush_wanted: AtomicBool::new(false),
        });
        let reader = ReadHalf {
            stream,
            shared: Arc::clone(&shared),
            eof,
            failure_reported,
            timer: ReadTimer::default(),
            ending: Ending::default(),
        };
        Ok((reader, WriteHalf { shared }))
    }
}

/// What one look at the connection found.
enum Look {
    Message(Message),
    Failed(crate::protocol::ProtocolError),
    Terminated,
    NeedBytes { deadline: Option<Instant>, want: usize, buf: BytesMut },
}

impl<S: Read + Write + Transport> ReadHalf<S> {
    /// The next message, as [`WebSocket::read`] returns it: Pings are answered, a Close is
    /// echoed, then the close completes and [`Error::ConnectionClosed`] is returned.
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            match self.look() {
                Look::Message(message) => {
                    if matches!(message, Message::Close(_)) {
                        let _ = self.shared.flush(true);
                    }
                    return Ok(message);
                }
                Look::Failed(e) => {
                    if !self.failure_reported {
                        self.failure_reported = true;
                        let _ = self.finish();
                        return Err(Error::Protocol(e));
                    }
                }
                Look::Terminated => {
                    self.finish()?;
                    return Err(closed_error(&lock(&self.shared.conn)));
                }
                Look::NeedBytes { deadline, want, mut buf } => {
                    // Owed replies go out before we block; the writer's slot is not waited for.
                    let flushed = match self.shared.flush(false) {
                        Err(e) if e.is_would_block() => Ok(()),
                        other => other,
                    };
                    let filled = flushed.and_then(|()| {
                        read_until(&mut self.stream, &mut self.timer, &mut buf, want, deadline)
                    });
                    let mut conn = lock(&self.shared.conn);
                    *conn.read_buf() = buf;
                    // Once per read of the stream: silence is measured, deadlines acted on.
                    conn.set_time(Instant::now());
                    if matches!(filled?, Filled::Bytes(0)) {
                        self.eof = true;
                        conn.receive_eof();
                    }
                }
            }
        }
    }

    /// Decode what is buffered; when more bytes are needed, take the read buffer out of the
    /// connection so that the blocking read holds no lock.
    fn look(&mut self) -> Look {
        let mut conn = lock(&self.shared.conn);
        match conn.next_event() {
            Ok(Some(message)) => return Look::Message(message),
            Ok(None) => {}
            Err(e) if !self.failure_reported => return Look::Failed(e),
            Err(_) => {}
        }
        if conn.is_terminated() {
            return Look::Terminated;
        }
        let want = read_size(&mut conn);
        let deadline = conn.next_deadline();
        Look::NeedBytes { deadline, want, buf: std::mem::take(conn.read_buf()) }
    }

    /// Close the transport once the connection is terminated (see `closing`).
    fn finish(&mut self) -> Result<(), Error> {
        loop {
            match self.ending {
                Ending::Done => {
                    self.timer.restore(&self.stream);
                    return Ok(());
                }
                Ending::NotStarted => {
                    if lock(&self.shared.conn).state() == State::Aborted {
                        self.ending = Ending::Done;
                        continue;
                    }
                    self.shared.flush(true)?;
                    let conn = lock(&self.shared.conn);
                    self.ending = start_draining(&mut self.stream, &conn, self.eof);
                }
                Ending::Draining { deadline } => {
                    let eof = drain(&mut self.stream, &mut self.timer, deadline)?;
                    self.eof |= eof;
                    self.ending = Ending::Done;
                    finish_after_drain(&mut self.stream, &lock(&self.shared.conn), eof);
                }
            }
        }
    }
}

impl<S: Write> WriteHalf<S> {
    /// Queue a message without writing it (see [`WriteHalf::flush`]).
    pub fn write(&self, message: Message) -> Result<(), Error> {
        lock(&self.shared.conn).send(message)?;
        Ok(())
    }

    /// Queue a message and write everything queued. See [`Sent`].
    pub fn send(&self, message: Message) -> Result<Sent, Error> {
        self.write(message)?;
        self.flush_queued()
    }

    /// Queue one fragment of a message (see [`Connection::send_fragment`]) and flush.
    pub fn send_fragment(
        &self,
        opcode: OpCode,
        payload: impl Into<Bytes>,
        fin: bool,
    ) -> Result<Sent, Error> {
        lock(&self.shared.conn).send_fragment(opcode, payload, fin)?;
        self.flush_queued()
    }

    /// Start the closing handshake (§7.1.2) and flush; the [`ReadHalf`] completes it.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<Sent, Error> {
        {
            let mut conn = lock(&self.shared.conn);
            conn.close(Some(CloseFrame::new(code, reason)))?;
            conn.set_time(Instant::now());
        }
        self.flush_queued()
    }

    /// Write everything queued (the reader's owed replies included), waiting for the
    /// writer slot if the reader is writing a reply. `WouldBlock`: call again later.
    pub fn flush(&self) -> Result<(), Error> {
        self.shared.flush(true)
    }

    fn flush_queued(&self) -> Result<Sent, Error> {
        match self.flush() {
            Ok(()) => Ok(Sent::Flushed),
            Err(e) if e.is_would_block() => Ok(Sent::Queued),
            Err(e) => Err(e),
        }
    }
}
