//! A wiretap between WebSocket clients and a server: forwards every byte untouched and prints
//! both directions live, dissected (handshake, then frames with every rule they break).
//!
//! ```text
//! cargo run --example echo_server                                   # ws://127.0.0.1:9001
//! cargo run --example tap -- --listen 127.0.0.1:9002 --upstream 127.0.0.1:9001
//! # then point any client at ws://127.0.0.1:9002 instead
//! ```
//!
//! `--no-timestamps` leaves out the wall-clock time in front of each block. The engine is
//! `proxy.rs` (threads and sockets) over [`rfc6455::dissect::LiveDissector`] (the bytes);
//! this file only reads the command line.

mod proxy;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::process::ExitCode;

use proxy::{TapOptions, run_tap};

const USAGE: &str = "usage: tap --listen ADDR --upstream ADDR [--no-timestamps]
  e.g. tap --listen 127.0.0.1:9002 --upstream 127.0.0.1:9001";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tap: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut listen = "127.0.0.1:9002".to_owned();
    let mut upstream = None;
    let mut options = TapOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen wants an address")?,
            "--upstream" => upstream = Some(args.next().ok_or("--upstream wants an address")?),
            "--no-timestamps" => options.timestamps = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let upstream = upstream.ok_or("--upstream is required")?;
    let upstream: SocketAddr = upstream
        .to_socket_addrs()
        .map_err(|e| format!("{upstream}: {e}"))?
        .next()
        .ok_or_else(|| format!("{upstream}: no address"))?;
    let listener = TcpListener::bind(&listen).map_err(|e| format!("{listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("tap: listening on {local}, forwarding to {upstream}");
    run_tap(listener, upstream, std::io::stdout(), options).map_err(|e| e.to_string())
}
