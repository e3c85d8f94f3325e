//! The ceiling of the loopback benchmark: TCP alone.
//!
//! ```text
//! cargo run --release --example bench_raw_echo -- 127.0.0.1:0
//! ```
//!
//! It answers the WebSocket upgrade (a 101 with the right `Sec-WebSocket-Accept`) so the
//! load generator can talk to it like to any server, then returns every byte it reads,
//! verbatim: the client's masked frames come back masked, nothing is parsed. The load
//! generator's `--raw` mode compares those bytes with what it sent. One thread per
//! connection, one `read` and one `write_all` per batch of bytes, `TCP_NODELAY` as the
//! WebSocket servers have it: what is left is the cost of the syscalls and of TCP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

#[path = "bench_support/threads.rs"]
mod threads;
#[path = "bench_support/upgrade.rs"]
mod upgrade;

/// Bytes read per `read` call: large enough that a 1 MiB message is a few syscalls.
const BUF: usize = 256 * 1024;

fn main() -> ExitCode {
    threads::serve("bench_raw_echo", "127.0.0.1:9002", echo)
}

fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    if let Err(e) = upgrade::answer_blocking(&mut stream) {
        eprintln!("handshake: {e}");
        return;
    }
    let mut buf = vec![0u8; BUF];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
