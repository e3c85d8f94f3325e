//! A tungstenite 0.30 echo server for the loopback benchmark.
//!
//! ```text
//! cargo run --release --example bench_tungstenite_echo -- 127.0.0.1:0
//! ```
//!
//! One thread per connection, `read` then `write` (which only queues), and a flush only when
//! nothing more is buffered: the fastest loop tungstenite's blocking API allows. tungstenite
//! cannot say whether its read buffer holds another whole message, but it touches the
//! stream only when it does not, so the flush rides on that read: with
//! `write_buffer_size(0)` every frame goes straight to [`FlushBeforeRead`], which keeps the
//! small ones and writes them in one syscall just before the stream is read again (large
//! ones go straight to the socket, as `BufWriter` does). Without it the choice is a flush
//! per message (a write syscall each) or frames held back until 128 KiB have been queued,
//! which stalls a client that waits for its answers.
//!
//! The opening handshake is answered by hand (`bench_support/upgrade.rs`): the tungstenite
//! dev-dependency is built without its `handshake` feature.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tungstenite::{Error, Message};

#[path = "bench_support/threads.rs"]
mod threads;
#[path = "bench_support/upgrade.rs"]
mod upgrade;

/// Writes at least this long skip the pending buffer (after it has been written).
const DIRECT: usize = 64 * 1024;

/// A stream that buffers writes and writes them out before it reads or flushes.
struct FlushBeforeRead {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl FlushBeforeRead {
    fn write_pending(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.stream.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

impl Read for FlushBeforeRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.write_pending()?;
        self.stream.read(buf)
    }
}

impl Write for FlushBeforeRead {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.len() + buf.len() <= DIRECT {
            self.pending.extend_from_slice(buf);
            return Ok(buf.len());
        }
        self.write_pending()?;
        if buf.len() >= DIRECT {
            return self.stream.write(buf);
        }
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.stream.flush()
    }
}

fn main() -> ExitCode {
    threads::serve("bench_tungstenite_echo", "127.0.0.1:9003", echo)
}

fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    if let Err(e) = upgrade::answer_blocking(&mut stream) {
        eprintln!("handshake: {e}");
        return;
    }
    let stream = FlushBeforeRead { stream, pending: Vec::with_capacity(DIRECT) };
    let config = WebSocketConfig::default().write_buffer_size(0);
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, Some(config));
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.write(msg) {
                    eprintln!("write: {e}");
                    return;
                }
            }
            // Pongs and the Close echo are queued by tungstenite and written by its next read.
            Ok(_) => {}
            Err(Error::ConnectionClosed) => {
                // Whatever is still pending (the Close echo) leaves before TCP closes.
                let _ = ws.get_mut().write_pending();
                return;
            }
            Err(e) => {
                eprintln!("read: {e}");
                return;
            }
        }
    }
}
