//! A tungstenite 0.30 echo server with the library's defaults, for `fuzz/wsfuzz-others.sh`
//! (the loopback benchmark's `bench_tungstenite_echo` tunes its writes; this one does not).
//!
//! ```text
//! cargo run --release --example tungstenite_echo -- 127.0.0.1:0
//! ```
//!
//! One thread per connection; `WebSocket::from_raw_socket(stream, Role::Server, None)`, so
//! `WebSocketConfig::default()` (max frame 16 MiB, max message 64 MiB, unmasked client
//! frames refused); then the loop tungstenite's own echo examples run: `read`, and `send`
//! (write and flush) each Text or Binary message back; Pongs and the Close reply are written
//! by tungstenite inside the next `read`. The connection is dropped on the first error, as
//! those examples do. The opening handshake is answered by hand
//! (`bench_support/upgrade.rs`): the dev-dependency is built without tungstenite's
//! `handshake` feature.

use std::net::TcpStream;
use std::process::ExitCode;

use tungstenite::Message;
use tungstenite::protocol::{Role, WebSocket};

#[path = "bench_support/threads.rs"]
mod threads;
#[path = "bench_support/upgrade.rs"]
mod upgrade;

fn main() -> ExitCode {
    threads::serve("tungstenite_echo", "127.0.0.1:9004", echo)
}

fn echo(mut stream: TcpStream) {
    if let Err(e) = upgrade::answer_blocking(&mut stream) {
        eprintln!("handshake: {e}");
        return;
    }
    let mut ws = WebSocket::from_raw_socket(stream, Role::Server, None);
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if let Err(e) = ws.send(msg) {
                    eprintln!("send: {e}");
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("read: {e}");
                return;
            }
        }
    }
}
