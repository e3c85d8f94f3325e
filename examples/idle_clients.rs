//! What an idle WebSocket connection costs a server, measured by its resident memory: open N
//! connections (each completes the opening handshake and one echo, then goes quiet), wait,
//! and read the server's `VmRSS` from `/proc` before and after.
//!
//! ```text
//! cargo run --release --example echo_server -- 127.0.0.1:9001 &
//! cargo run --release --example idle_clients -- --url ws://127.0.0.1:9001/ \
//!     --connections 10000 --server-pid $!
//! ```
//!
//! Loopback only; each socket has a timeout; the connections close when it exits. Raise
//! `ulimit -n` above N on both sides first. Kernel socket buffers are not in the server's
//! RSS; what is measured is the server's own memory per connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use rfc6455::frame::{FrameDecoder, FrameHeader, OpCode, encode_frame};
use rfc6455::handshake::WsUrl;

const USAGE: &str = "usage: idle_clients --url ws://HOST:PORT/ --connections N --server-pid PID";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("idle_clients: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The server's resident set, in bytes.
fn rss(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmRSS line")?;
    Ok(kib * 1024)
}

/// Open one connection: handshake, one masked text frame, read its echo.
fn open(url: &WsUrl) -> Result<TcpStream, String> {
    let mut stream =
        TcpStream::connect((url.host.as_str(), url.port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        url.resource, url.host, url.port
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut frame = BytesMut::new();
    encode_frame(
        &FrameHeader::new(true, OpCode::Text, Some([1, 2, 3, 4]), 5),
        b"hello",
        &mut frame,
    );
    stream.write_all(&frame).map_err(|e| e.to_string())?;
    // Read the 101 head, then the echo.
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        let n = stream.read(&mut chunk).map_err(|e| format!("response: {e}"))?;
        if n == 0 {
            return Err("the server closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        return Err("the server did not answer 101".into());
    }
    let _ = buf.split_to(head_end);
    let mut decoder = FrameDecoder::new();
    loop {
        if let Some(frame) = decoder.decode(&mut buf).map_err(|e| e.to_string())? {
            if &frame.payload[..] != b"hello" {
                return Err("a wrong echo".into());
            }
            return Ok(stream);
        }
        let n = stream.read(&mut chunk).map_err(|e| format!("echo: {e}"))?;
        if n == 0 {
            return Err("the server closed before the echo".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn run() -> Result<(), String> {
    let mut url = None;
    let mut connections = 1000usize;
    let mut pid = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => url = Some(value()?),
            "--connections" => connections = value()?.parse().map_err(|e| format!("{e}"))?,
            "--server-pid" => pid = Some(value()?.parse::<u32>().map_err(|e| format!("{e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let pid = pid.ok_or("--server-pid is required")?;
    let url = WsUrl::parse(&url).map_err(|e| e.to_string())?;
    if url.secure {
        return Err("wss:// is not measured here: give a ws:// URL".into());
    }
    let before = rss(pid)?;
    let mut open_streams = Vec::with_capacity(connections);
    for i in 0..connections {
        open_streams.push(open(&url).map_err(|e| format!("connection {i}: {e}"))?);
    }
    // Let the server settle (return buffers, run its timers), then measure.
    thread::sleep(Duration::from_secs(2));
    let after = rss(pid)?;
    let per = after.saturating_sub(before) as f64 / connections as f64;
    println!(
        "RESULT connections={connections} rss_before={before} rss_after={after} bytes_per_connection={per:.0}"
    );
    println!(
        "{connections} idle connections: server RSS {:.1} MiB -> {:.1} MiB, {:.0} bytes ({:.2} KiB) each",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        per,
        per / 1024.0
    );
    drop(open_streams);
    Ok(())
}
