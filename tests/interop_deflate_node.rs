//! permessage-deflate (RFC 7692) with Node.js's `ws` package, an independent implementation,
//! in both directions over loopback TCP, across a set of its `perMessageDeflate` options:
//!
//! - `ws_client_against_our_std_server` / `ws_client_against_our_event_loop`:
//!   `tests/node/ws_peer.mjs client URL OPTIONS` against our server (the std driver as in
//!   `examples/echo_server --threads`, and that example's own event loop) configured with
//!   each cell's [`DeflateConfig`];
//! - `our_client_against_ws_server`: our `connect_with` client, with each cell's
//!   [`DeflateConfig`], against `tests/node/ws_peer.mjs server OPTIONS`.
//!
//! In every cell: the 101's `Sec-WebSocket-Extensions` is the expected response, both ends
//! run with the same parameters (`ws`'s accepted `params`, ours from
//! `Connection::permessage_deflate`), every echo (text and binary of 0 … 1 MiB, compressible
//! and random, fragmented, a burst, a ping) comes back identical, and with compression agreed
//! `ws` inflated messages (counted in its `PerMessageDeflate.decompress`). Where a peer must
//! refuse the other's terms the refusal is checked instead.
//!
//! Needs `node` and `tests/node/node_modules` (`ws`, pinned in `tests/node/package.json`):
//! `bash .ci/test` runs `npm ci` there. The tests fail (never skip) when one is missing.
//! Every wait is bounded; only the node processes spawned here are ever killed.

mod interop_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use interop_support::{
    Peer, agreed_line, event_loop_echo_server, example_settings, our_client_echoes, std_echo_server,
};
use rfc6455::Settings;
use rfc6455::deflate::DeflateConfig;

/// The longest a node peer may run before it is killed (it gives up by itself after 50 s).
const PEER_DEADLINE: Duration = Duration::from_secs(60);

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("node")
}

/// Fail loudly, with the way out, when node or the `ws` package is missing.
fn require_node_ws() {
    const WAY_OUT: &str = "run `bash .ci/test` (it runs `npm ci` in tests/node) or \
                           `cd tests/node && npm ci`";
    match Command::new("node").arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`node --version` failed ({}); {WAY_OUT}", out.status),
        Err(e) => panic!("cannot run `node` ({e}); the ws interop tests need Node.js; {WAY_OUT}"),
    }
    let ws = node_dir().join("node_modules").join("ws").join("package.json");
    assert!(ws.is_file(), "{} is missing; {WAY_OUT}", ws.display());
}

fn node_peer(args: &[&str]) -> Peer {
    let mut command = Command::new("node");
    command.arg(node_dir().join("ws_peer.mjs")).args(args).current_dir(node_dir());
    Peer::spawn(command, format!("node ws_peer.mjs {}", args.join(" ")))
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Accepted with this response element.
    Agreed(&'static str),
    /// The server declines: no `Sec-WebSocket-Extensions`, no compression.
    Declined,
    /// The client refuses the response (RFC 7692 §7); the text is part of its reason.
    ClientFails(&'static str),
    /// The server refuses the handshake with this HTTP status.
    ServerRejects(u16),
}

fn config(f: impl FnOnce(&mut DeflateConfig)) -> DeflateConfig {
    let mut c = DeflateConfig::default();
    f(&mut c);
    c
}

/// `ws` client options; our server's configuration.
fn client_cells() -> Vec<(&'static str, DeflateConfig, Expect)> {
    use Expect::*;
    let default = DeflateConfig::default();
    vec![
        // `perMessageDeflate: true`: `permessage-deflate; client_max_window_bits`.
        ("true", default, Agreed("permessage-deflate")),
        (r#"{"threshold":0}"#, default, Agreed("permessage-deflate")),
        (
            r#"{"serverNoContextTakeover":true,"clientNoContextTakeover":true,"threshold":0}"#,
            default,
            Agreed("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        (
            r#"{"serverMaxWindowBits":9,"clientMaxWindowBits":10,"threshold":0}"#,
            default,
            Agreed("permessage-deflate; server_max_window_bits=9; client_max_window_bits=10"),
        ),
        (
            r#"{"serverMaxWindowBits":8,"clientMaxWindowBits":8,"threshold":0}"#,
            default,
            Agreed("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"),
        ),
        (
            r#"{"threshold":0}"#,
            config(|c| {
                c.compress_context_takeover = false;
                c.compress_window_bits = 9;
            }),
            Agreed("permessage-deflate; server_no_context_takeover; server_max_window_bits=9"),
        ),
        (
            r#"{"threshold":0}"#,
            config(|c| c.decompress_window_bits = 10),
            Agreed("permessage-deflate; client_max_window_bits=10"),
        ),
        (
            r#"{"threshold":0}"#,
            config(|c| c.decompress_context_takeover = false),
            Agreed("permessage-deflate; client_no_context_takeover"),
        ),
        // `clientNoContextTakeover: false` makes ws refuse a response that asks for it.
        (
            r#"{"clientNoContextTakeover":false}"#,
            config(|c| c.decompress_context_takeover = false),
            // ws reports "Unexpected parameter \"client_no_context_takeover\"" as this.
            ClientFails("Invalid Sec-WebSocket-Extensions header"),
        ),
        // `clientMaxWindowBits: false`: no client_max_window_bits in the offer, so our
        // server, decompressing with less than 2^15, must decline (RFC 7692 §7.1.2.2).
        (r#"{"clientMaxWindowBits":false}"#, config(|c| c.decompress_window_bits = 12), Declined),
    ]
}

/// Our client's configuration; `ws` server options.
fn server_cells() -> Vec<(DeflateConfig, &'static str, Expect)> {
    use Expect::*;
    let default = DeflateConfig::default();
    vec![
        (default, "true", Agreed("permessage-deflate")),
        (default, r#"{"threshold":0}"#, Agreed("permessage-deflate")),
        (
            config(|c| {
                c.compress_context_takeover = false;
                c.decompress_context_takeover = false;
            }),
            r#"{"threshold":0}"#,
            Agreed("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        ),
        (
            config(|c| c.decompress_window_bits = 9),
            r#"{"threshold":0}"#,
            Agreed("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            config(|c| c.decompress_window_bits = 8),
            r#"{"threshold":0}"#,
            Agreed("permessage-deflate; server_max_window_bits=8"),
        ),
        (
            config(|c| c.compress_window_bits = 9),
            r#"{"threshold":0}"#,
            Agreed("permessage-deflate; client_max_window_bits=9"),
        ),
        (
            config(|c| c.compress_window_bits = 8),
            r#"{"threshold":0}"#,
            Agreed("permessage-deflate; client_max_window_bits=8"),
        ),
        (
            default,
            r#"{"serverNoContextTakeover":true,"clientNoContextTakeover":true,"serverMaxWindowBits":10,"clientMaxWindowBits":11,"threshold":0}"#,
            // ws writes the parameters in the offer's order, then the ones it adds.
            Agreed(
                "permessage-deflate; client_max_window_bits=11; server_no_context_takeover; \
                 client_no_context_takeover; server_max_window_bits=10",
            ),
        ),
        (
            config(|c| c.decompress_window_bits = 12),
            r#"{"serverMaxWindowBits":9,"threshold":0}"#,
            Agreed("permessage-deflate; server_max_window_bits=9"),
        ),
        // ws will not give up context takeover when told `serverNoContextTakeover: false`:
        // no offer is acceptable, and ws answers the whole handshake with 400.
        (
            config(|c| c.decompress_context_takeover = false),
            r#"{"serverNoContextTakeover":false}"#,
            ServerRejects(400),
        ),
    ]
}

fn run_ws_client(
    port: u16,
    options: &str,
    server: &DeflateConfig,
    expect: Expect,
    served: Option<&std::sync::mpsc::Receiver<interop_support::Served>>,
) -> String {
    let url = format!("ws://127.0.0.1:{port}/");
    let what = format!("ws client {options}, our server with {server:?}");
    let mut peer = node_peer(&["client", &url, options]);
    let deadline = Instant::now() + PEER_DEADLINE;
    if let Expect::ClientFails(reason) = expect {
        let failed = peer.expect_tagged("NEGOTIATION_FAILED", PEER_DEADLINE);
        let (status, report) = peer.finish(deadline);
        assert!(failed.contains(reason), "{what}: refused for another reason: {failed}\n{report}");
        assert_eq!(status.and_then(|s| s.code()), Some(3), "{what}\n{report}");
        return format!("ws client fails: {failed}");
    }
    let extensions = peer.expect_tagged("EXTENSIONS", Duration::from_secs(20));
    let agreed = peer.expect_tagged("AGREED", Duration::from_secs(5));
    let inflated: usize =
        peer.expect_tagged("COMPRESSED_RECEIVED", PEER_DEADLINE).parse().expect("a count");
    let (status, report) = peer.finish(deadline);
    assert!(matches!(status, Some(s) if s.success()), "{what}: the ws client failed\n{report}");
    match expect {
        Expect::Agreed(response) => {
            assert_eq!(extensions, response, "{what}: our response\n{report}");
            assert_ne!(agreed, "none", "{what}\n{report}");
            // Our server compresses every echo of 32 bytes or more: of the 28 sized echoes
            // at least 20, plus the fragmented ones and 100 of the burst.
            assert!(inflated >= 120, "{what}: ws inflated only {inflated} messages\n{report}");
        }
        Expect::Declined => {
            assert_eq!(extensions, "-", "{what}: our server must decline\n{report}");
            assert_eq!(agreed, "none", "{what}\n{report}");
            assert_eq!(inflated, 0, "{what}\n{report}");
        }
        _ => unreachable!(),
    }
    if let Some(served) = served {
        let ours = served
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{what}: our server never finished\n{report}"));
        assert_eq!(ours.result, Ok(()), "{what}: our server: {ours:?}\n{report}");
        assert_eq!(
            agreed_line(ours.params.as_ref()),
            agreed,
            "{what}: the two ends run with different parameters\n{report}"
        );
    }
    format!("{extensions} | ws {agreed} | ws inflated {inflated} messages")
}

#[test]
fn ws_client_against_our_std_server() {
    require_node_ws();
    for (options, server, expect) in client_cells() {
        let (port, served) = std_echo_server(example_settings(Some(server)));
        let result = run_ws_client(port, options, &server, expect, Some(&served));
        println!("ws client {options} -> std server {server:?}: {result}");
    }
}

#[test]
fn ws_client_against_our_event_loop() {
    require_node_ws();
    for (options, server, expect) in client_cells() {
        let port = event_loop_echo_server(example_settings(Some(server)));
        let result = run_ws_client(port, options, &server, expect, None);
        println!("ws client {options} -> event loop {server:?}: {result}");
    }
}

#[test]
fn our_client_against_ws_server() {
    require_node_ws();
    for (client, options, expect) in server_cells() {
        let what = format!("our client with {client:?}, ws server {options}");
        let mut peer = node_peer(&["server", options]);
        let deadline = Instant::now() + PEER_DEADLINE;
        let port: u16 = peer
            .expect_tagged("PORT", Duration::from_secs(30))
            .parse()
            .expect("PORT line holds a number");
        let url = format!("ws://127.0.0.1:{port}/echo");
        let settings = Settings { deflate: Some(client), ..Settings::default() };
        if let Expect::ServerRejects(status) = expect {
            let request = rfc6455::handshake::ClientRequest::new(&url).expect("url");
            let error = match rfc6455::connect_with(request, settings) {
                Ok(_) => panic!("{what}: the handshake succeeded"),
                Err(e) => e.to_string(),
            };
            let (_, report) = peer.finish(deadline);
            assert!(error.contains(&status.to_string()), "{what}: {error}\n{report}");
            println!("our client {client:?} -> ws server {options}: rejected: {error}");
            continue;
        }
        let run = our_client_echoes(&url, settings, &what);
        let extensions = peer.expect_tagged("EXTENSIONS", Duration::from_secs(15));
        let agreed = peer.expect_tagged("AGREED", Duration::from_secs(5));
        let inflated: usize =
            peer.expect_tagged("COMPRESSED_RECEIVED", Duration::from_secs(15)).parse().expect("n");
        let close = peer.expect_tagged("CLOSE", Duration::from_secs(15));
        let (status, report) = peer.finish(deadline);
        assert_eq!(close, "1000 done", "{what}\n{report}");
        assert!(matches!(status, Some(s) if s.success()), "{what}: exit {status:?}\n{report}");
        assert_eq!(
            agreed_line(run.params.as_ref()),
            agreed,
            "{what}: the two ends run with different parameters\n{report}"
        );
        match expect {
            Expect::Agreed(response) => {
                assert_eq!(extensions, response, "{what}: ws's response\n{report}");
                assert_eq!(run.response_extensions, vec![response.to_string()], "{what}");
                assert!(
                    inflated >= run.compressible_sent,
                    "{what}: ws inflated {inflated} messages, expected at least {}\n{report}",
                    run.compressible_sent
                );
            }
            _ => unreachable!("no such cell"),
        }
        println!(
            "our client {client:?} -> ws server {options}: {extensions} | ours {} | ws inflated \
             {inflated} messages",
            agreed_line(run.params.as_ref())
        );
    }
}
