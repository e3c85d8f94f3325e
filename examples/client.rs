//! A line client: each line read from stdin is sent as a Text message, and the reply is printed.
//!
//! ```text
//! cargo run --example echo_server &
//! cargo run --example client -- ws://127.0.0.1:9001
//! cargo run --example client -- --no-deflate ws://127.0.0.1:9001
//! cargo run --features rustls --example client -- wss://example.com/
//! cargo run --features rustls --example client -- --ca ca.pem wss://localhost:9443/
//! ```
//!
//! `wss://` needs the `rustls` feature; the server is verified against the Mozilla roots,
//! plus the PEM root(s) of `--ca FILE` (a private or test CA).
//!
//! It offers permessage-deflate (RFC 7692) and compresses when the server accepts
//! (`--no-deflate`: no offer); it says on stderr what was agreed.
//!
//! It waits for one reply per line, which suits an echo server. At the end of stdin it starts
//! the close handshake with 1000 "bye" and reads until the server has answered it.

use std::error::Error as StdError;
use std::io::BufRead;

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{ClientRequest, Response};
use rfc6455::{CloseCode, Error, MaybeTlsStream, Message, Settings, WebSocket};

fn main() -> Result<(), Box<dyn StdError>> {
    let mut settings = Settings { deflate: Some(DeflateConfig::default()), ..Settings::default() };
    let mut url = "ws://127.0.0.1:9001".to_string();
    let mut ca = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-deflate" => settings.deflate = None,
            "--ca" => ca = Some(args.next().ok_or("--ca needs a PEM file")?),
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown flag {flag}; usage: client [--no-deflate] [--ca FILE] URL"
                )
                .into());
            }
            _ => url = arg,
        }
    }
    let (mut ws, _response) = open(ClientRequest::new(&url)?, settings, ca)?;
    eprintln!("connected to {url}; type lines, end with Ctrl-D");
    match ws.connection().permessage_deflate() {
        Some(params) => eprintln!("permessage-deflate agreed: {params:?}"),
        None => eprintln!("no compression"),
    }

    for line in std::io::stdin().lock().lines() {
        ws.send(Message::text(line?))?;
        // Read until the reply: Pings on the way are answered by the library.
        loop {
            match ws.read()? {
                Message::Text(text) => {
                    println!("{text}");
                    break;
                }
                Message::Binary(data) => {
                    println!("<{} bytes of binary data>", data.len());
                    break;
                }
                // Parts come only with `Config::binary_parts_from`, which `connect` leaves off.
                Message::Ping(_) | Message::Pong(_) | Message::BinaryPart { .. } => {}
                Message::Close(frame) => {
                    // The server closed first; our echo of its Close is already sent.
                    match frame {
                        Some(f) => eprintln!("server closed: {} {}", f.code.0, f.reason),
                        None => eprintln!("server closed without a status code"),
                    }
                    return finish(&mut ws);
                }
            }
        }
    }

    ws.close(CloseCode::NORMAL, "bye")?;
    finish(&mut ws)
}

/// Connect; for `wss://`, trusting the default roots and `ca`'s.
#[cfg(feature = "rustls")]
fn open(
    request: ClientRequest,
    settings: Settings,
    ca: Option<String>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Box<dyn StdError>> {
    let Some(ca) = ca else {
        return Ok(rfc6455::connect_with(request, settings)?);
    };
    let mut roots = rfc6455::tls::default_roots();
    rfc6455::tls::add_pem_roots(&mut roots, &ca)?;
    let config = rfc6455::tls::client_config(roots)?;
    Ok(rfc6455::tls::connect_tls(request, settings, config)?)
}

/// Connect (`ws://` only: `wss://` needs the `rustls` feature).
#[cfg(not(feature = "rustls"))]
fn open(
    request: ClientRequest,
    settings: Settings,
    ca: Option<String>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Box<dyn StdError>> {
    if ca.is_some() || request.url().secure {
        return Err(
            "wss:// and --ca need TLS: run with `cargo run --features rustls --example client`"
                .into(),
        );
    }
    Ok(rfc6455::connect_with(request, settings)?)
}

/// Read until the close handshake is complete, printing whatever data still arrives.
fn finish(ws: &mut WebSocket<MaybeTlsStream>) -> Result<(), Box<dyn StdError>> {
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => println!("{text}"),
            Ok(Message::Binary(data)) => println!("<{} bytes of binary data>", data.len()),
            Ok(Message::Close(Some(f))) => eprintln!("closed: {} {}", f.code.0, f.reason),
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}
