//! The thread-per-connection accept loop of the loopback benchmark's blocking reference
//! servers (the raw TCP echo, tungstenite's echo): bind the address given on the command line
//! (or `default_addr`), print the `listening on ws://ADDR` line the benchmark script waits for,
//! then run `echo` on a thread of its own for each connection.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;

/// Serve until the listener fails; `name` prefixes the error messages.
pub fn serve(name: &str, default_addr: &str, echo: fn(TcpStream)) -> ExitCode {
    let addr = std::env::args().nth(1).unwrap_or_else(|| default_addr.to_string());
    let listener = match TcpListener::bind(&addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("{name}: {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("listening on ws://{local}"),
        Err(e) => {
            eprintln!("{name}: {e}");
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
