//! Dissect WebSocket bytes: an opening handshake, frames, or a handshake followed by frames.
//!
//! ```text
//! cargo run --example dissect -- 81 85 37 fa 21 3d 7f 9f 4d 51 58   # hex, spaces optional
//! cargo run --example dissect -- 0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f
//! cargo run --example dissect -- --role server 8105 48656c6c6f      # who sent the frames
//! cargo run --example dissect -- --file capture.bin                 # raw bytes from a file
//! cargo run --example dissect -- --deflate c1 07 f2 48 cd c9 c9 07 00  # RFC 7692, inflated
//! cargo run --example dissect -- --deflate=server_no_context_takeover c1 07 f2 48 cd c9 c9 07 00
//! printf 'GET / HTTP/1.1\r\n...' | cargo run --example dissect      # raw bytes from stdin
//! ```
//!
//! Input starting with `GET ` or `HTTP/` is a handshake head (and the frames after it);
//! anything else is frames. `--role client|server` says who sent the frames (default: the
//! head's sender, or inferred from the first frame's MASK bit: masked frames come from
//! clients). `--hex` reads hex (rather than raw bytes) from the file or stdin.
//!
//! `--deflate` says the connection negotiated permessage-deflate (RFC 7692): RSV1 then marks
//! a compressed message (and is judged by RFC 7692 §6), and each compressed message is
//! inflated and shown. `--deflate=PARAMS` gives the agreed parameters, as the server's
//! `Sec-WebSocket-Extensions` response states them, separated by `;` or `,` (a leading
//! `permessage-deflate` is allowed): `server_no_context_takeover`,
//! `client_no_context_takeover`, `server_max_window_bits=N`, `client_max_window_bits=N`
//! (N from 8 to 15). Without them the defaults hold (context takeover, 15-bit windows).
//! `--no-inflate` (with `--deflate`) only judges RSV1 and shows the payloads compressed.
//! Without `--deflate` every RSV bit is reserved (RFC 6455 §5.2).

use std::io::Read;
use std::process::ExitCode;

use rfc6455::Role;
use rfc6455::deflate::DeflateParams;
use rfc6455::dissect::{self, Deflate};

const USAGE: &str =
    "usage: dissect [--role client|server] [--deflate[=PARAMS] [--no-inflate]] [--hex]
               [--file PATH | HEX...]
  no HEX and no --file: raw bytes from stdin
  --deflate: permessage-deflate (RFC 7692) was negotiated; PARAMS as agreed, e.g.
    --deflate='server_no_context_takeover; client_max_window_bits=10'";

fn main() -> ExitCode {
    match run() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("dissect: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let mut role = None;
    let mut file = None;
    let mut hex_input = false;
    let mut deflate = None;
    let mut inflate = true;
    let mut hex_args = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--role" => {
                role = match args.next().as_deref() {
                    Some("client") => Some(Role::Client),
                    Some("server") => Some(Role::Server),
                    other => return Err(format!("--role wants client or server, not {other:?}")),
                }
            }
            "--file" => file = Some(args.next().ok_or("--file wants a path")?),
            "--hex" => hex_input = true,
            "--deflate" => deflate = Some(DeflateParams::default()),
            "--no-inflate" => inflate = false,
            _ if arg.starts_with("--deflate=") => {
                deflate = Some(deflate_params(&arg["--deflate=".len()..])?);
            }
            "-h" | "--help" => return Ok(format!("{USAGE}\n")),
            _ => hex_args.push(arg),
        }
    }
    let bytes = if !hex_args.is_empty() {
        if file.is_some() {
            return Err("give hex arguments or --file, not both".into());
        }
        dissect::parse_hex(&hex_args.join(" "))?
    } else {
        let raw = match &file {
            Some(path) => std::fs::read(path).map_err(|e| format!("{path}: {e}"))?,
            None => {
                let mut raw = Vec::new();
                std::io::stdin().read_to_end(&mut raw).map_err(|e| format!("stdin: {e}"))?;
                raw
            }
        };
        if hex_input {
            let text = String::from_utf8(raw).map_err(|_| "--hex input is not text")?;
            dissect::parse_hex(&text)?
        } else {
            raw
        }
    };
    if bytes.is_empty() {
        return Err("no bytes to dissect".into());
    }
    let deflate = match deflate {
        None if !inflate => return Err("--no-inflate needs --deflate".into()),
        None => Deflate::Off,
        Some(_) if !inflate => Deflate::Negotiated,
        Some(params) => Deflate::Inflate(params),
    };
    Ok(dissect::stream_with(&bytes, role, deflate))
}

/// The agreed permessage-deflate parameters (RFC 7692 §7.1), as a server's response lists
/// them: `server_no_context_takeover; client_max_window_bits=10`.
fn deflate_params(text: &str) -> Result<DeflateParams, String> {
    let mut params = DeflateParams::default();
    let mut seen = Vec::new();
    for item in text.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()) {
        if item == "permessage-deflate" {
            continue;
        }
        let (name, value) = match item.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (item, None),
        };
        if seen.contains(&name) {
            return Err(format!("--deflate: {name} given twice"));
        }
        seen.push(name);
        let bits = || -> Result<Option<u8>, String> {
            match value.map(str::parse::<u8>) {
                Some(Ok(bits @ 8..=15)) => Ok(Some(bits)),
                _ => Err(format!("--deflate: {name} wants a value from 8 to 15")),
            }
        };
        let flag = || match value {
            None => Ok(true),
            Some(_) => Err(format!("--deflate: {name} takes no value")),
        };
        match name {
            "server_no_context_takeover" => params.server_no_context_takeover = flag()?,
            "client_no_context_takeover" => params.client_no_context_takeover = flag()?,
            "server_max_window_bits" => params.server_max_window_bits = bits()?,
            "client_max_window_bits" => params.client_max_window_bits = bits()?,
            other => return Err(format!("--deflate: unknown parameter {other:?}")),
        }
    }
    Ok(params)
}
