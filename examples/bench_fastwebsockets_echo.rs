//! A fastwebsockets 0.10 echo server (tokio) for the loopback benchmark.
//!
//! ```text
//! cargo run --release --example bench_fastwebsockets_echo -- 127.0.0.1:0
//! ```
//!
//! One task per connection on tokio's multi-threaded runtime (a worker per core), running
//! the echo loop of fastwebsockets' own `echo_server` example: a `FragmentCollector` (whole
//! messages, UTF-8 checked), `read_frame` then `write_frame` (each frame written at once,
//! header and payload in one vectored write), inside `tokio::task::unconstrained` as that
//! example does. Pongs and the Close echo are sent by the library (`auto_pong`,
//! `auto_close`, both on by default).
//!
//! The opening handshake is answered by hand (`bench_support/upgrade.rs`): fastwebsockets'
//! `upgrade` feature would bring in hyper.

use std::process::ExitCode;

use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket, WebSocketError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// `answer_blocking` is for the blocking servers; this one reads the head with tokio.
#[allow(dead_code)]
#[path = "bench_support/upgrade.rs"]
mod upgrade;

fn main() -> ExitCode {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9004".to_string());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_io().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench_fastwebsockets_echo: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_fastwebsockets_echo: {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    use std::io::Write as _;
    std::io::stdout().flush()?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = tokio::task::unconstrained(connection(stream)).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn connection(mut stream: TcpStream) -> Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    handshake(&mut stream).await?;
    echo(stream).await.map_err(|e| e.to_string())
}

/// Read the request head and answer it; the client sends nothing more before the 101.
async fn handshake(stream: &mut TcpStream) -> Result<(), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the request head ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = upgrade::head_end(&buf) {
            if end != buf.len() {
                return Err("bytes after the request head before the 101".into());
            }
            break;
        }
        if buf.len() > upgrade::MAX_HEAD {
            return Err("request head too long".into());
        }
    }
    let answer = upgrade::response(&buf)?;
    stream.write_all(answer.as_bytes()).await.map_err(|e| e.to_string())
}

async fn echo(stream: TcpStream) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}
