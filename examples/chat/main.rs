//! A chat room a browser uses: one page, one WebSocket endpoint, every line broadcast to
//! everyone in the room; with `--redis`, several instances share one room.
//!
//! ```text
//! cargo run --release --example chat                          # http://127.0.0.1:8080/
//! cargo run --release --example chat -- 0.0.0.0:8080          # any address
//! cargo run --release --example chat -- 127.0.0.1:8081 --redis redis://127.0.0.1:6379 --instance b
//! ```
//!
//! Open `http://ADDR/` in a browser, pick a name, chat. `GET /` serves the page
//! (`page.html`, one file, no build step, no external assets), `GET /ws?name=NAME` upgrades.
//!
//! - **Broadcast**: every text message a client sends goes to every client in the room, the
//!   sender included, as `{"type":"message","from":…,"text":…,"instance":…}`; the room's names
//!   go out as `{"type":"online","names":[…]}` whenever they change.
//! - **Slow clients**: each client's queue is bounded ([`server::QUEUE_LIMIT`], bytes queued
//!   and not yet written). A broadcast that does not fit closes that client with **1008**
//!   (policy violation, "too slow"); if it does not read even the Close within the close
//!   timeout, its TCP connection is dropped. The room never waits for it, and its memory
//!   never grows past the bound.
//! - **Heartbeats**: a client silent for 20 s is pinged, and dropped (1011) when it stays
//!   silent for 10 s more: a vanished browser leaves the room, and a proxy in between (nginx's
//!   `proxy_read_timeout` is 60 s by default) never sees an idle connection.
//! - **Origin**: a browser's request must come from a page of this server (its `Origin`
//!   names the `Host` it asked for) or from an origin given with `--allow-origin`: any other
//!   site's page gets 403 (cross-site WebSocket hijacking, RFC 6455 §10.2). Behind a proxy,
//!   forward the Host with its port (nginx: `proxy_set_header Host $http_host;`).
//! - **`--redis redis://HOST:PORT`**: instances publish every line to a Redis channel and
//!   broadcast what the channel brings, so clients of different instances talk to each other;
//!   each instance announces its names every 2 s (an instance not heard for 6 s leaves the
//!   room). The page reconnects with backoff when its instance goes away, so behind a load
//!   balancer it lands on another one and the chat goes on.
//! - `--instance NAME`: this instance's name in the messages (default: the process id).

mod backplane;
mod server;

use std::io::Write;
use std::net::TcpListener;

const USAGE: &str = "usage: chat [ADDR] [--redis redis://HOST:PORT] [--instance NAME] [--allow-origin ORIGIN]...   (ADDR: 127.0.0.1:8080)";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
struct Args {
    addr: String,
    redis: Option<String>,
    options: server::Options,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut addr = None;
    let mut redis = None;
    let mut instance = None;
    let mut allowed_origins = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--redis" => redis = Some(args.next().ok_or("--redis needs a redis:// URL")?),
            "--instance" => instance = Some(args.next().ok_or("--instance needs a name")?),
            "--allow-origin" => {
                allowed_origins.push(args.next().ok_or("--allow-origin needs an origin")?);
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}")),
            _ if addr.is_some() => return Err(format!("{arg}: only one address")),
            _ => addr = Some(arg),
        }
    }
    let instance = instance.unwrap_or_else(|| std::process::id().to_string());
    if instance.is_empty() || instance.contains(['\t', '\n']) {
        return Err("--instance: a name without tabs or newlines".to_string());
    }
    Ok(Args {
        addr: addr.unwrap_or_else(|| "127.0.0.1:8080".to_string()),
        redis,
        options: server::Options { instance, allowed_origins },
    })
}

fn main() {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("chat: {problem}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(&args.addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("chat: cannot listen on {}: {e}", args.addr);
            std::process::exit(1);
        }
    };
    let instance = args.options.instance.clone();
    let chat = match server::Chat::new(listener, args.options, args.redis.as_deref()) {
        Ok(chat) => chat,
        Err(e) => {
            eprintln!("chat: {e}");
            std::process::exit(1);
        }
    };
    let addr = chat.local_addr().map_or(args.addr, |a| a.to_string());
    println!("chat listening on http://{addr}/ (instance {instance})");
    let _ = std::io::stdout().flush();
    if let Err(e) = chat.run() {
        eprintln!("chat: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter().map(|s| s.to_string()).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn flags_and_the_address_in_any_order() {
        let a = parse(args(&["--redis", "redis://r:1", "0.0.0.0:1", "--instance", "x"])).unwrap();
        let b = parse(args(&["--instance", "x", "0.0.0.0:1", "--redis", "redis://r:1"])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.addr, "0.0.0.0:1");
        assert_eq!(a.redis.as_deref(), Some("redis://r:1"));
        assert_eq!(a.options.instance, "x");
        let c = parse(args(&["--allow-origin", "https://a", "--allow-origin", "https://b"]));
        assert_eq!(c.unwrap().options.allowed_origins, ["https://a", "https://b"]);
    }

    #[test]
    fn defaults_and_mistakes() {
        let d = parse(args(&[])).unwrap();
        assert_eq!(d.addr, "127.0.0.1:8080");
        assert_eq!(d.redis, None);
        assert_eq!(d.options.instance, std::process::id().to_string());
        for bad in [&["--redis"][..], &["--bogus"], &["a:1", "b:2"], &["--instance", "a\tb"]] {
            assert!(parse(args(bad)).is_err(), "{bad:?}");
        }
    }
}
