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
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

#[path = "bench_support/upgrade.rs"]
mod upgrade;

/// Bytes read per `read` call: large enough that a 1 MiB message is a few syscalls.
const BUF: usize = 256 * 1024;

fn main() -> ExitCode {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9002".to_string());
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bench_raw_echo: {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("listening on ws://{local}"),
        Err(e) => {
            eprintln!("bench_raw_echo: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || echo(stream));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    ExitCode::SUCCESS
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
