//! A loopback load generator for WebSocket echo servers.
//!
//! ```text
//! cargo run --release --example loadgen -- --url ws://127.0.0.1:9001/ \
//!     --connections 64 --depth 16 --size 1024 --kind mixed --seconds 3 --server-pid PID
//! ```
//!
//! It opens N connections (its own minimal client: the upgrade request, then a check of the
//! 101 and of its `Sec-WebSocket-Accept`), keeps D messages in flight on each (pipeline
//! depth), checks every byte of every echo, and prints one `RESULT key=value …` line for
//! scripts, then one line for people: messages per second, p50/p99 round-trip time and,
//! with `--server-pid`, the server's CPU time per message (user + system from
//! `/proc/PID/stat`, sampled at both ends of the measured window).
//!
//! Frames are built once (16 distinct messages, each with its own masking key) and sent
//! from there with vectored writes; echoes are checked as they arrive, never buffered. One
//! mio event loop (or two, `--threads 2`) drives all the connections, so a thousand of
//! them cost no thousand threads on the cores the server needs.
//!
//! `--raw` is for a raw TCP echo (`bench_raw_echo`), which returns the masked frames as
//! they were sent: the bytes that come back must then be exactly the bytes sent.
//!
//! Only loopback addresses are accepted. Every phase is bounded: 10 s to connect, the
//! warm-up and the window, then 5 s for the close handshakes.

mod conn;
mod cpu;
mod event_loop;
mod histogram;
mod messages;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use conn::{Conn, Stats, Window};
use messages::{Kind, Messages};

const USAGE: &str = "usage: loadgen --url ws://127.0.0.1:PORT/ [--connections N] [--depth D] \
[--size BYTES] [--kind binary|text|mixed] [--seconds S] [--warmup S] [--server-pid PID] \
[--raw] [--threads 1|2] [--name LABEL]";

/// How long all the handshakes may take, together.
const CONNECT_BUDGET: Duration = Duration::from_secs(10);
/// How long the close handshakes (and the drain of the messages in flight) may take.
const CLOSE_BUDGET: Duration = Duration::from_secs(5);

struct Options {
    url: String,
    connections: usize,
    depth: usize,
    size: usize,
    kind: Kind,
    seconds: f64,
    warmup: f64,
    server_pid: Option<u32>,
    raw: bool,
    threads: usize,
    name: String,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        url: String::new(),
        connections: 1,
        depth: 1,
        size: 16,
        kind: Kind::Binary,
        seconds: 3.0,
        warmup: 0.5,
        server_pid: None,
        raw: false,
        threads: 1,
        name: "server".into(),
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "--raw" {
            o.raw = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag} {value}: not a valid value");
        match flag.as_str() {
            "--url" => o.url = value.clone(),
            "--connections" => o.connections = value.parse().map_err(|_| bad())?,
            "--depth" => o.depth = value.parse().map_err(|_| bad())?,
            "--size" => o.size = value.parse().map_err(|_| bad())?,
            "--kind" => o.kind = Kind::parse(&value).ok_or_else(bad)?,
            "--seconds" => o.seconds = value.parse().map_err(|_| bad())?,
            "--warmup" => o.warmup = value.parse().map_err(|_| bad())?,
            "--server-pid" => o.server_pid = Some(value.parse().map_err(|_| bad())?),
            "--threads" => o.threads = value.parse().map_err(|_| bad())?,
            "--name" => o.name = value.clone(),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if o.url.is_empty() {
        return Err("--url is required".into());
    }
    if o.connections == 0 || o.depth == 0 {
        return Err("--connections and --depth must be at least 1".into());
    }
    let seconds_ok = o.seconds > 0.0 && o.seconds <= 600.0;
    if !seconds_ok || !(0.0..=60.0).contains(&o.warmup) {
        return Err("--seconds must be in (0, 600], --warmup in [0, 60]".into());
    }
    if !(1..=2).contains(&o.threads) {
        return Err("--threads is 1 or 2".into());
    }
    if o.size > 64 << 20 {
        return Err("--size is at most 64 MiB".into());
    }
    Ok(o)
}

/// `ws://HOST:PORT/PATH` → the loopback address, the Host header and the path.
fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url.strip_prefix("ws://").ok_or("only ws:// URLs")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr}: this load generator only talks to loopback addresses"));
    }
    Ok((addr, authority.to_string(), path.to_string()))
}

/// Open one connection and run the client's opening handshake (§4.1) on it.
fn handshake(
    addr: SocketAddr,
    host: &str,
    path: &str,
    deadline: Instant,
) -> Result<TcpStream, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("out of time for the handshakes".into());
    }
    let mut stream =
        TcpStream::connect_timeout(&addr, left).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(left)).map_err(|e| e.to_string())?;
    let key = rfc6455::handshake::random_key().map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(|e| format!("request: {e}"))?;

    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    let end = loop {
        let n = stream.read(&mut chunk).map_err(|e| format!("response: {e}"))?;
        if n == 0 {
            return Err("closed during the handshake".into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 8192 {
            return Err("response head too long".into());
        }
    };
    if end != head.len() {
        return Err("frames before the first message was sent".into());
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    response.parse(&head).map_err(|e| format!("bad response head: {e}"))?;
    if response.code != Some(101) {
        return Err(format!("status {:?}, not 101", response.code));
    }
    let header = |name: &str| {
        response.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    };
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case(b"websocket")) {
        return Err("no Upgrade: websocket in the 101".into());
    }
    let expected = rfc6455::handshake::accept_key(key.as_bytes());
    // §4.1: "If the |Sec-WebSocket-Accept| contains a value other than the base64-encoded
    // SHA-1 of the concatenation of the |Sec-WebSocket-Key| ... the client MUST _Fail the
    // WebSocket Connection_."
    if header("sec-websocket-accept").map(|v| v.trim_ascii()) != Some(expected.as_bytes()) {
        return Err("wrong or missing Sec-WebSocket-Accept".into());
    }
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    stream.set_write_timeout(None).map_err(|e| e.to_string())?;
    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

fn main() -> ExitCode {
    let o = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("loadgen: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(verified) if verified => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("loadgen: {e}");
            print_failure(&o, &e);
            ExitCode::FAILURE
        }
    }
}

/// The RESULT line of a run that could not start.
fn print_failure(o: &Options, reason: &str) {
    println!(
        "RESULT server={} kind={} size={} conns={} depth={} msgs=0 msgs_per_s=0 verified=false \
         error=\"{}\"",
        o.name,
        o.kind.name(),
        o.size,
        o.connections,
        o.depth,
        reason.replace('"', "'")
    );
}

/// Run the benchmark; `Ok(true)` when every echo was verified.
fn run(o: &Options) -> Result<bool, String> {
    let (addr, host, path) = parse_url(&o.url)?;
    let messages = Messages::new(o.kind, o.size);
    let ticks = cpu::ticks_per_second();
    let server_pid = o.server_pid.map(|pid| pid.to_string());
    if let Some(pid) = &server_pid {
        cpu::cpu_time(pid, ticks)?;
    }

    let connect_deadline = Instant::now() + CONNECT_BUDGET;
    let mut shares: Vec<Vec<Conn>> = (0..o.threads).map(|_| Vec::new()).collect();
    for i in 0..o.connections {
        let stream = handshake(addr, &host, &path, connect_deadline)
            .map_err(|e| format!("connection {}: {e}", i + 1))?;
        let conn = Conn::new(mio::net::TcpStream::from_std(stream), i, o.depth, o.raw);
        shares[i % o.threads].push(conn);
    }

    let start_sending = Instant::now() + Duration::from_millis(10);
    let start = start_sending + Duration::from_secs_f64(o.warmup);
    let window = Window { start, end: start + Duration::from_secs_f64(o.seconds) };
    let deadline = window.end + CLOSE_BUDGET;

    let mut stats = Stats::new();
    let mut cpu_server = None;
    let mut cpu_client = None;
    std::thread::scope(|scope| {
        let messages = &messages;
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || {
                    event_loop::run(share, messages, start_sending, window, deadline)
                })
            })
            .collect();
        // The CPU clocks are read at both ends of the window, by this otherwise idle thread.
        std::thread::sleep(window.start.saturating_duration_since(Instant::now()));
        let server_before = server_pid.as_ref().map(|pid| cpu::cpu_time(pid, ticks));
        let client_before = cpu::cpu_time("self", ticks);
        std::thread::sleep(window.end.saturating_duration_since(Instant::now()));
        let server_after = server_pid.as_ref().map(|pid| cpu::cpu_time(pid, ticks));
        let client_after = cpu::cpu_time("self", ticks);
        if let (Some(Ok(b)), Some(Ok(a))) = (server_before, server_after) {
            cpu_server = Some(a.saturating_sub(b));
        }
        if let (Ok(b), Ok(a)) = (client_before, client_after) {
            cpu_client = Some(a.saturating_sub(b));
        }
        for handle in handles {
            match handle.join() {
                Ok(s) => stats.merge(s),
                Err(_) => {
                    stats.failed += 1;
                    stats.first_error.get_or_insert("an event loop panicked".into());
                }
            }
        }
    });

    let secs = o.seconds;
    let msgs = stats.in_window;
    let rate = msgs as f64 / secs;
    let mib_s = rate * o.size as f64 / (1 << 20) as f64;
    let per_msg = |cpu: Option<Duration>| match cpu {
        Some(cpu) if msgs > 0 => format!("{:.3}", cpu.as_secs_f64() * 1e6 / msgs as f64),
        _ => "NA".to_string(),
    };
    let quantile = |q| match stats.latency.quantile_us(q) {
        Some(us) => format!("{us:.1}"),
        None => "NA".to_string(),
    };
    let (p50, p99) = (quantile(0.5), quantile(0.99));
    let server_cpu = per_msg(cpu_server);
    let client_cpu = per_msg(cpu_client);
    if msgs == 0 && stats.first_error.is_none() {
        stats.first_error = Some("no echo completed inside the window".into());
    }
    let verified = stats.failed == 0 && msgs > 0;
    let error = stats.first_error.as_deref().unwrap_or("").replace('"', "'");
    println!(
        "RESULT server={} kind={} size={} conns={} depth={} threads={} seconds={secs} \
         msgs={msgs} msgs_per_s={rate:.0} mib_per_s={mib_s:.1} p50_us={p50} p99_us={p99} \
         cpu_us_per_msg={server_cpu} client_cpu_us_per_msg={client_cpu} \
         verified_msgs={} failed_conns={} unclosed={} verified={verified} error=\"{error}\"",
        o.name,
        o.kind.name(),
        o.size,
        o.connections,
        o.depth,
        o.threads,
        stats.verified,
        stats.failed,
        stats.unclosed,
    );
    let check = if verified {
        "every echoed byte verified".to_string()
    } else {
        format!("FAILED: {} connection(s): {error}", stats.failed)
    };
    println!(
        "{}: {rate:.0} msgs/s ({mib_s:.1} MiB/s each way), round trip p50 {p50} µs p99 {p99} µs, \
         server CPU {server_cpu} µs/msg (loadgen {client_cpu}), {} conns x depth {}, {} B {}: {check}",
        o.name,
        o.connections,
        o.depth,
        o.size,
        o.kind.name(),
    );
    Ok(verified)
}
