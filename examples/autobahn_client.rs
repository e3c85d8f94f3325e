//! rfc6455's testee client for Autobahn's client protocol (and for our own conformance suite's
//! server mode): ask the server for the number of cases, run each one by echoing every text and
//! binary message, then ask it to write its reports.
//!
//! ```text
//! cargo run --release --example conformance -- server 127.0.0.1:9002 &
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9002 rfc6455 [--no-deflate]
//! ```
//!
//! Each case's connection offers permessage-deflate (RFC 7692, `DeflateConfig::default()`:
//! `permessage-deflate; client_max_window_bits`), as Autobahn's groups 12 and 13 expect of
//! a client; `--no-deflate` makes no offer.
//!
//! Each case is one connection: `GET /runCase?case=N&agent=AGENT`. The client only echoes;
//! everything else (Pongs, the Close echo, failing the connection with the right code) is
//! done by the library, which is what the cases judge. A case whose handshake fails (some
//! cases send a broken 101 on purpose) is simply over.

use std::time::Duration;

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::ClientRequest;
use rfc6455::{Error, Message, Settings, WebSocket, connect_with};

/// No case waits longer than this for a message; a server gone silent cannot hang us.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn main() {
    let mut settings = Settings { deflate: Some(DeflateConfig::default()), ..Settings::default() };
    let mut args = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-deflate" => settings.deflate = None,
            _ => args.push(arg),
        }
    }
    let mut args = args.into_iter();
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let agent = args.next().unwrap_or_else(|| "rfc6455".to_string());
    let base = base.trim_end_matches('/');

    let count = match case_count(base, settings) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autobahn_client: cannot get the case count from {base}: {e}");
            std::process::exit(1);
        }
    };
    println!("autobahn_client: {count} cases on {base} as agent {agent:?}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url, settings) {
            // Failing the connection is often what a case asks for: note it and go on.
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = update_reports(&format!("{base}/updateReports?agent={agent}"), settings) {
        eprintln!("autobahn_client: updateReports: {e}");
        std::process::exit(1);
    }
    println!("autobahn_client: done");
}

/// `GET /getCaseCount`: the server sends the count as a text message, then closes.
fn case_count(base: &str, settings: Settings) -> Result<usize, Error> {
    let mut ws = open(&format!("{base}/getCaseCount"), settings)?;
    let mut count = None;
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => count = t.trim().parse().ok(),
            Ok(_) => {}
            Err(Error::ConnectionClosed) => break,
            Err(e) => return Err(e),
        }
    }
    count.ok_or(Error::ConnectionClosed)
}

/// Echo every data message until the connection ends.
fn run_case(url: &str, settings: Settings) -> Result<(), Error> {
    let mut ws = open(url, settings)?;
    loop {
        match ws.read() {
            // Queue the echo: `read` flushes everything queued before it waits for more.
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.write(msg)?,
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn update_reports(url: &str, settings: Settings) -> Result<(), Error> {
    let mut ws = open(url, settings)?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Connect (offering permessage-deflate unless `--no-deflate`) with a bounded read timeout.
fn open(url: &str, settings: Settings) -> Result<WebSocket<rfc6455::MaybeTlsStream>, Error> {
    let (ws, _) = connect_with(ClientRequest::new(url)?, settings)?;
    ws.get_ref().set_read_timeout(Some(READ_TIMEOUT))?;
    Ok(ws)
}
