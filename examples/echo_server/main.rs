//! An echo server: every Text or Binary message goes back to its sender unchanged.
//!
//! ```text
//! cargo run --release --example echo_server                 # ws://127.0.0.1:9001
//! cargo run --release --example echo_server -- 0.0.0.0:9001 # any address
//! cargo run --release --example echo_server -- --keepalive 30 127.0.0.1:9001
//! cargo run --release --features rustls --example echo_server -- \
//!     --tls-cert cert.pem --tls-key key.pem 127.0.0.1:9443    # wss://127.0.0.1:9443
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
//! messages are echoed whole). `--tls-cert FILE --tls-key FILE` (PEM; the `rustls`
//! feature): serve `wss://`, with a thread per connection (it implies `--threads`: the event
//! loops drive plain TCP only). The address and the flags may come in any order.
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

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{Accept, Request};
use rfc6455::{Config, Error, Keepalive, Message, Settings, Transport, WebSocket};

const USAGE: &str = "usage: echo_server [ADDR] [--keepalive SECS] [--workers N | --threads] [--whole] [--no-deflate] [--tls-cert FILE --tls-key FILE]   (ADDR: 127.0.0.1:9001; TLS needs the rustls feature and implies --threads)";

/// Binary messages from this size on are echoed in parts as they arrive (unless `--whole`).
const PARTS_FROM: usize = 256 * 1024;

/// What the command line asks for.
struct Options {
    addr: String,
    settings: Settings,
    /// Event loops to run; `None`: a thread per connection.
    workers: Option<usize>,
    /// `--tls-cert` and `--tls-key`: serve wss:// with this PEM certificate chain and key.
    tls: Option<(String, String)>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut addr = None;
    let mut settings = Settings::default();
    settings.protocol.binary_parts_from = Some(PARTS_FROM);
    settings.deflate = Some(DeflateConfig::default());
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut workers = Some(cores);
    let (mut cert, mut key) = (None, None);
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
            "--tls-cert" => cert = Some(args.next().ok_or("--tls-cert needs a PEM file")?),
            "--tls-key" => key = Some(args.next().ok_or("--tls-key needs a PEM file")?),
            "--whole" => settings.protocol.binary_parts_from = None,
            "--no-deflate" => settings.deflate = None,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            _ if addr.is_some() => return Err(format!("a second address: {arg}")),
            _ => addr = Some(arg),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".to_string()),
    };
    if tls.is_some() {
        // The event loops drive plain TCP only: TLS runs in the thread mode.
        workers = None;
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:9001".to_string());
    Ok(Options { addr, settings, workers, tls })
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

fn serve(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let settings = options.settings;
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls_config(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(&options.addr)?;
    // Tests and scripts read this line to learn the port: print it whole and flush it.
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    println!("listening on {scheme}://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    if let Some(workers) = options.workers {
        return Ok(event_loop::serve(listener, settings, workers)?);
    }

    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let tls = tls.clone();
                thread::spawn(move || accept_and_echo(stream, settings, tls));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// The server's TLS configuration, from PEM files.
#[cfg(feature = "rustls")]
type TlsConfig = std::sync::Arc<rfc6455::tls::rustls::ServerConfig>;
/// Without the `rustls` feature there is no TLS configuration to have.
#[cfg(not(feature = "rustls"))]
#[derive(Clone)]
enum TlsConfig {}

#[cfg(feature = "rustls")]
fn tls_config(cert: &str, key: &str) -> Result<TlsConfig, rfc6455::Error> {
    rfc6455::tls::server_config_from_pem(cert, key)
}

#[cfg(not(feature = "rustls"))]
fn tls_config(_cert: &str, _key: &str) -> Result<TlsConfig, String> {
    Err("--tls-cert needs TLS: run with `cargo run --features rustls --example echo_server`"
        .to_string())
}

/// Run the opening handshake (TLS's first, with `tls`), then echo until the connection is
/// closed.
fn accept_and_echo(stream: TcpStream, settings: Settings, tls: Option<TlsConfig>) {
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
    // The library has already answered a bad request with the matching HTTP error status.
    let failed = |e: Error| eprintln!("{peer}: {e}");
    match tls {
        #[cfg(feature = "rustls")]
        Some(config) => match rfc6455::tls::accept_tls(stream, config, settings, choose) {
            Ok(ws) => echo(ws, &peer),
            Err(e) => failed(e),
        },
        #[cfg(not(feature = "rustls"))]
        Some(never) => match never {},
        None => match rfc6455::accept_tcp(stream, settings, choose) {
            Ok(ws) => echo(ws, &peer),
            Err(e) => failed(e),
        },
    }
}

/// Echo until the connection is closed.
fn echo<S: Read + Write + Transport>(mut ws: WebSocket<S>, peer: &str) {
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
        // TLS implies the thread mode, flags and address in any order.
        let tls = parse(args(&["--tls-key", "k.pem", "a:1", "--tls-cert", "c.pem"])).expect("tls");
        assert_eq!(tls.tls, Some(("c.pem".to_string(), "k.pem".to_string())));
        assert_eq!((tls.addr.as_str(), tls.workers), ("a:1", None));
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
            &["--tls-cert", "c.pem"],
            &["--tls-key", "k.pem"],
            &["--tls-cert"],
        ] {
            assert!(parse(args(list)).is_err(), "{list:?}");
        }
    }
}
