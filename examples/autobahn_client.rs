//! rfc6455's testee client for Autobahn's client protocol (and for our own conformance suite's
//! server mode): ask the server for the number of cases, run each one by echoing every text and
//! binary message, then ask it to write its reports.
//!
//! ```text
//! cargo run --release --example conformance -- server 127.0.0.1:9002 &
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9002 rfc6455
//! ```
//!
//! Each case is one connection: `GET /runCase?case=N&agent=AGENT`. The client only echoes;
//! everything else (Pongs, the Close echo, failing the connection with the right code) is
//! done by the library, which is what the cases judge. A case whose handshake fails (some
//! cases send a broken 101 on purpose) is simply over.

use std::time::Duration;

use rfc6455::{Error, Message, connect};

/// No case waits longer than this for a message; a server gone silent cannot hang us.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let agent = args.next().unwrap_or_else(|| "rfc6455".to_string());
    let base = base.trim_end_matches('/');

    let count = match case_count(base) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autobahn_client: cannot get the case count from {base}: {e}");
            std::process::exit(1);
        }
    };
    println!("autobahn_client: {count} cases on {base} as agent {agent:?}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run_case(&url) {
            // Failing the connection is often what a case asks for: note it and go on.
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = update_reports(&format!("{base}/updateReports?agent={agent}")) {
        eprintln!("autobahn_client: updateReports: {e}");
        std::process::exit(1);
    }
    println!("autobahn_client: done");
}

/// `GET /getCaseCount`: the server sends the count as a text message, then closes.
fn case_count(base: &str) -> Result<usize, Error> {
    let (mut ws, _) = connect(&format!("{base}/getCaseCount"))?;
    ws.get_mut().set_read_timeout(Some(READ_TIMEOUT))?;
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
fn run_case(url: &str) -> Result<(), Error> {
    let (mut ws, _) = connect(url)?;
    ws.get_mut().set_read_timeout(Some(READ_TIMEOUT))?;
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

fn update_reports(url: &str) -> Result<(), Error> {
    let (mut ws, _) = connect(url)?;
    ws.get_mut().set_read_timeout(Some(READ_TIMEOUT))?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
