//! Dissect WebSocket bytes: an opening handshake, frames, or a handshake followed by frames.
//!
//! ```text
//! cargo run --example dissect -- 81 85 37 fa 21 3d 7f 9f 4d 51 58   # hex, spaces optional
//! cargo run --example dissect -- 0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f
//! cargo run --example dissect -- --role server 8105 48656c6c6f      # who sent the frames
//! cargo run --example dissect -- --file capture.bin                 # raw bytes from a file
//! printf 'GET / HTTP/1.1\r\n...' | cargo run --example dissect      # raw bytes from stdin
//! ```
//!
//! Input starting with `GET ` or `HTTP/` is a handshake head (and the frames after it);
//! anything else is frames. `--role client|server` says who sent the frames (default: the
//! head's sender, or inferred from the first frame's MASK bit: masked frames come from
//! clients). `--hex` reads hex (rather than raw bytes) from the file or stdin.

use std::io::Read;
use std::process::ExitCode;

use rfc6455::Role;
use rfc6455::dissect;

const USAGE: &str = "usage: dissect [--role client|server] [--hex] [--file PATH | HEX...]
  no HEX and no --file: raw bytes from stdin";

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
    Ok(dissect::stream(&bytes, role))
}
