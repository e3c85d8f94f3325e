//! An echo server: every Text or Binary message goes back to its sender unchanged.
//!
//! ```text
//! cargo run --release --example echo_server                 # ws://127.0.0.1:9001
//! cargo run --release --example echo_server -- 0.0.0.0:9001 # any address
//! cargo run --release --example echo_server -- --keepalive 30 127.0.0.1:9001
//! ```
//!
//! `--keepalive SECS`: Ping a client that has been silent for SECS seconds, and drop it (with
//! a Close 1011) when it stays silent for SECS more. `--workers N`: event loops (default: one
//! per core). `--threads`: a thread per connection instead of event loops. `--whole`: echo
//! large binary messages only once they have all arrived (by default a binary message of
//! 256 KiB or more is echoed in parts of 256 KiB as it arrives, `Config::binary_parts_from`,
//! so its echo starts before its end and the server never holds it whole). `--no-deflate`:
//! decline permessage-deflate (RFC 7692; by default the server accepts a client's offer,
//! as every browser makes one, and compresses its echoes of 32 bytes or more; compressed
//! messages are echoed whole). The address and the flags may come in any order.
//!
//! Then, in a browser's devtools console:
//!
//! ```text
//! ws = new WebSocket("ws://127.0.0.1:9001");
//! ws.onmessage = e => console.log(e.data);
//! ws.send("hi")
//! ```
//!
//! By default, one `mio` event loop per core drives the sans-IO `Connection` of each client
//! (`event_loop.rs`): the fastest configuration, and an idle connection holds no buffer.
//! With `--threads`, one thread per connection runs the std driver (`echo` below): the
//! model of the driver's corking API, `write` per message and one flush before each read
//! blocks. Either way Pings are answered and a Close is echoed by the library itself, and
//! once the close handshake is over the server closes TCP first, as it must (§7.1.1).

mod event_loop;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{Accept, Request};
use rfc6455::{Config, Error, Keepalive, Message, Settings};

const USAGE: &str = "usage: echo_server [ADDR] [--keepalive SECS] [--workers N | --threads] [--whole] [--no-deflate]   (ADDR: 127.0.0.1:9001)";

/// Binary messages from this size on are echoed in parts as they arrive (unless `--whole`).
const PARTS_FROM: usize = 256 * 1024;

/// What the command line asks for.
struct Options {
    addr: String,
    settings: Settings,
    /// Event loops to run; `None`: a thread per connection.
    workers: Option<usize>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut addr = None;
    let mut settings = Settings::default();
    settings.protocol.binary_parts_from = Some(PARTS_FROM);
    settings.deflate = Some(DeflateConfig::default());
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut workers = Some(cores);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keepalive" => {
                let value = args.next().ok_or("--keepalive needs a number of seconds")?;
                let secs: u64 = value
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("--keepalive {value}: not a number of seconds"))?;
                settings.protocol = Config {
                    keepalive: Some(Keepalive::every(Duration::from_secs(secs))),
                    ..settings.protocol
                };
            }
            "--workers" => {
                let value = args.next().ok_or("--workers needs a number")?;
                let n: usize = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--workers {value}: not a positive number"))?;
                workers = Some(n);
            }
            "--threads" => workers = None,
            "--whole" => settings.protocol.binary_parts_from = None,
            "--no-deflate" => settings.deflate = None,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            _ if addr.is_some() => return Err(format!("a second address: {arg}")),
            _ => addr = Some(arg),
        }
    }
    Ok(Options { addr: addr.unwrap_or_else(|| "127.0.0.1:9001".to_string()), settings, workers })
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("echo_server: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(options: Options) -> std::io::Result<()> {
    let settings = options.settings;
    let listener = TcpListener::bind(&options.addr)?;
    // Tests and scripts read this line to learn the port: print it whole and flush it.
    println!("listening on ws://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    if let Some(workers) = options.workers {
        return event_loop::serve(listener, settings, workers);
    }

    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || echo(stream, settings));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// Run the opening handshake on `stream`, then echo until the connection is closed.
fn echo(stream: TcpStream, settings: Settings) {
    let peer = match stream.peer_addr() {
        Ok(addr) => addr.to_string(),
        Err(_) => "unknown peer".to_string(),
    };
    // The handshake is bounded by `Settings::handshake_timeout` (a client that never sends
    // its request cannot hold the thread), the close handshake by `Config::close_timeout`,
    // and a silent client by the keepalive, if one was asked for.
    // An echo has no protocol of its own, so it agrees to whichever subprotocol the client
    // prefers (a browser that offers some fails the connection if none is chosen).
    let choose = |request: &Request| {
        Ok(Accept { subprotocol: request.subprotocols().first().cloned(), ..Accept::default() })
    };
    let mut ws = match rfc6455::accept_tcp(stream, settings, choose) {
        Ok(ws) => ws,
        Err(e) => {
            // The library has already answered with the matching HTTP error status.
            eprintln!("{peer}: {e}");
            return;
        }
    };
    loop {
        match ws.read() {
            // Queue the echo: `read` writes everything queued before it waits for more, so a
            // batch of messages costs one write.
            // A part of a large binary message goes back as a fragment of the echo.
            Ok(msg @ (Message::Text(_) | Message::Binary(_) | Message::BinaryPart { .. })) => {
                if let Err(e) = ws.write(msg) {
                    eprintln!("{peer}: {e}");
                    break;
                }
            }
            // Already answered (a Pong for each Ping) by the library.
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            // The peer's Close: our echo is already sent; the next read reports the end.
            Ok(Message::Close(_)) => {}
            // The close handshake is complete: dropping `ws` closes TCP.
            Err(Error::ConnectionClosed) => break,
            Err(e) => {
                eprintln!("{peer}: {e}");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter().map(|s| s.to_string()).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn the_address_and_the_flags_come_in_any_order() {
        let every = |secs| Some(Keepalive::every(Duration::from_secs(secs)));
        for list in [&["--keepalive", "5", "0.0.0.0:9"][..], &["0.0.0.0:9", "--keepalive", "5"]] {
            let options = parse(args(list)).expect("valid");
            assert_eq!(options.addr, "0.0.0.0:9");
            assert_eq!(options.settings.protocol.keepalive, every(5));
        }
        let options = parse(args(&[])).expect("valid");
        assert_eq!(options.addr, "127.0.0.1:9001");
        assert_eq!(options.settings.protocol.keepalive, None);
        assert_eq!(options.settings.protocol.binary_parts_from, Some(PARTS_FROM));
        let whole = parse(args(&["--whole"])).expect("valid");
        assert_eq!(whole.settings.protocol.binary_parts_from, None);
        assert!(options.workers.is_some(), "event loops by default");
        assert_eq!(parse(args(&["--threads", "a:1"])).expect("valid").workers, None);
        assert_eq!(parse(args(&["--workers", "3"])).expect("valid").workers, Some(3));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for list in [
            &["--keepalive"][..],
            &["--keepalive", "soon"],
            &["--keepalive", "0"],
            &["--verbose"],
            &["a:1", "b:2"],
            &["--workers", "0"],
        ] {
            assert!(parse(args(list)).is_err(), "{list:?}");
        }
    }
}
