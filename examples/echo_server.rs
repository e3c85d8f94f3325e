//! An echo server: every Text or Binary message goes back to its sender unchanged.
//!
//! ```text
//! cargo run --release --example echo_server                 # ws://127.0.0.1:9001
//! cargo run --release --example echo_server -- 0.0.0.0:9001 # any address
//! ```
//!
//! Then, in a browser's devtools console:
//!
//! ```text
//! ws = new WebSocket("ws://127.0.0.1:9001");
//! ws.onmessage = e => console.log(e.data);
//! ws.send("hi")
//! ```
//!
//! One thread per connection. Pings are answered by the library itself, and a Close from the
//! peer is echoed by it too: this loop only echoes data and reads until the close handshake
//! is over. Once it is, dropping the stream closes TCP, as the server must (§7.1.1).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;

use rfc6455::handshake::{Accept, Request};
use rfc6455::{Config, Error, Message};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let listener = TcpListener::bind(&addr)?;
    // Tests and scripts read this line to learn the port: print it whole and flush it.
    println!("listening on ws://{}", listener.local_addr()?);
    std::io::stdout().flush()?;

    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || echo(stream));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// Run the opening handshake on `stream`, then echo until the connection is closed.
fn echo(stream: TcpStream) {
    let peer = match stream.peer_addr() {
        Ok(addr) => addr.to_string(),
        Err(_) => "unknown peer".to_string(),
    };
    // `accept_tcp` bounds the handshake by `Settings::handshake_timeout` (a client that never
    // sends its request cannot hold the thread) and the close handshake by `close_timeout`.
    // An echo has no protocol of its own, so it agrees to whichever subprotocol the client
    // prefers (a browser that offers some fails the connection if none is chosen).
    let choose = |request: &Request| {
        Ok(Accept { subprotocol: request.subprotocols().first().cloned(), ..Accept::default() })
    };
    let mut ws = match rfc6455::accept_tcp(stream, Config::default(), choose) {
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
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
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
